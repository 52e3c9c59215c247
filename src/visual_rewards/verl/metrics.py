"""Training-step metrics from the reward's per-sample extra info (no veRL import).

veRL 0.9.1 keeps what a reward returns besides its score (``reward_extra_info``: here
``applicable``, ``parse_failed`` and every component, e.g. ``iou``, ``confidence``,
``format``) with each trajectory, but logs it only in validation metrics. The replay buffer
of :mod:`visual_rewards.verl.sampler` turns each training batch's extra info into
:func:`step_metrics` — ``reward/<key>/mean`` — which veRL's trainer merges into the step's
metrics (the replay buffer's ``sample`` returns metrics, and the trainer logs them with the
rest of the step).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["METRIC_PREFIX", "step_metrics"]

#: Prefix of the step metrics: ``reward/<key>/mean``.
METRIC_PREFIX = "reward"


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None (strings, lists, None, NaN, bools are left out)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        item = getattr(value, "item", None)  # numpy / torch scalars
        if not callable(item) or getattr(value, "ndim", 0) != 0:
            return None
        value = item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
    number = float(value)
    return number if math.isfinite(number) else None


def step_metrics(infos: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """``{"reward/<key>/mean": …}`` over the samples' extra info, one entry per numeric key.

    ``infos`` holds one mapping per trajectory (its ``reward_extra_info``). A key's mean is
    taken over the samples where it is a finite number; a key that is never one is left out.
    The names end in ``/mean`` and contain neither ``max``, ``min``, ``sum`` nor ``total``
    unless a key does, so veRL's ``MetricsAggregator`` combines the mini-batches of one step
    as a sample-weighted average, which is the mean over the whole step.

    >>> step_metrics([{"score": 1.0, "iou": 0.5}, {"score": 0.0, "iou": float("nan")}])
    {'reward/iou/mean': 0.5, 'reward/score/mean': 0.5}
    """
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for info in infos:
        for key, value in info.items():
            number = _number(value)
            if number is not None:
                sums[str(key)] = sums.get(str(key), 0.0) + number
                counts[str(key)] = counts.get(str(key), 0) + 1
    return {f"{METRIC_PREFIX}/{key}/mean": sums[key] / counts[key] for key in sorted(sums)}
