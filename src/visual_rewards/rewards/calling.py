"""The calling convention of rewards: which columns ``score`` takes, and how results are reported.

``GRPOTrainer`` (TRL) calls every reward function as
``f(prompts=, completions=, completion_ids=, **columns)``, where the keyword arguments hold every
dataset column of the batch (the ``image`` column as PIL images), plus ``trainer_state``,
``log_metric(name, value)`` (a scalar averaged per logging step) and ``log_extra(column, values)``
(a column of the completions table). :meth:`visual_rewards.Reward.__call__` hands its keyword
arguments to the two functions here:

- :func:`reward_columns` picks the columns a reward's :meth:`~visual_rewards.Reward.score`
  takes (its ``extra_columns``), and fills an ``image_size`` column, ``(width, height)`` per row,
  from the ``image``/``images`` column when the reward wants one and the dataset has none.
- :func:`log_result` reports a :class:`~visual_rewards.RewardResult`: per component the batch
  mean (``rewards/<name>/<component>/mean``) and the parse-failure rate
  (``rewards/<name>/parse_failure_rate``) through ``log_metric``, and per completion each
  component (``<name>/<component>``) and any per-row details the result carries, such as parsed
  boxes and IoUs (``<name>/<detail>``), through ``log_extra``.

Both are no-ops outside TRL (no ``log_metric``/``log_extra`` given, no image column).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from visual_rewards.io.images import IMAGE_COLUMNS, IMAGE_SIZE_COLUMN, image_sizes

__all__ = ["log_result", "reward_columns"]


class _Result(Protocol):
    """What :func:`log_result` reads from a :class:`~visual_rewards.RewardResult`."""

    @property
    def components(self) -> Mapping[str, npt.NDArray[np.float64]]: ...

    @property
    def parse_failed(self) -> npt.NDArray[np.bool_]: ...


def reward_columns(extra_columns: Sequence[str], columns: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword columns to pass to ``score``: those of ``extra_columns`` found in ``columns``.

    An ``image_size`` column that the reward wants but the dataset lacks is derived from the
    ``image``/``images`` column (see :func:`image_sizes`) when every row's size can be told;
    otherwise it is left out and the reward decides (it may read the image column itself).

    >>> from types import SimpleNamespace
    >>> reward_columns(("image_size",), {"image": [SimpleNamespace(size=(640, 480))]})
    {'image_size': [(640, 480)]}
    >>> reward_columns(("image_size",), {"image_size": [(2, 2)], "image": [None]})
    {'image_size': [(2, 2)]}
    >>> reward_columns((), {"image": [None]})
    {}
    """
    out = {name: columns[name] for name in extra_columns if name in columns}
    if IMAGE_SIZE_COLUMN in extra_columns and IMAGE_SIZE_COLUMN not in out:
        sizes = image_sizes({k: columns.get(k) for k in IMAGE_COLUMNS})
        if sizes is not None and all(size is not None for size in sizes):
            out[IMAGE_SIZE_COLUMN] = sizes
    return out


def _nanmean(values: npt.NDArray[np.float64]) -> float | None:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else None


def _cell(value: float) -> float | None:
    return None if math.isnan(value) else value


def _plain(value: Any) -> Any:
    """A table-friendly copy: arrays become (nested) lists, NaN becomes None."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, float):
        return _cell(value)
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def log_result(name: str, result: _Result, columns: Mapping[str, Any]) -> None:
    """Report a batch result through TRL's ``log_metric``/``log_extra`` when they are given.

    Metrics (one scalar per batch; TRL averages them per logging step):
    ``rewards/<name>/<component>/mean`` (NaN rows left out; no value when all are NaN) and
    ``rewards/<name>/parse_failure_rate``. Completions-table columns (one value per completion):
    ``<name>/<component>`` and, when the result has a ``details`` mapping of per-row lists
    (e.g. ``{"boxes": …, "ious": …}``), ``<name>/<detail>``.

    >>> from visual_rewards import FormatReward
    >>> res = FormatReward().score(["<think>a</think><answer>b</answer>", "b"])
    >>> metrics, table = {}, {}
    >>> log_result("format_default", res, {"log_metric": metrics.__setitem__,
    ...                                    "log_extra": table.__setitem__})
    >>> metrics
    {'rewards/format_default/format/mean': 0.5, 'rewards/format_default/parse_failure_rate': 0.5}
    >>> table
    {'format_default/format': [1.0, 0.0]}
    """
    log_metric = columns.get("log_metric")
    log_extra = columns.get("log_extra")
    if callable(log_metric):
        _log_metrics(log_metric, name, result)
    if callable(log_extra):
        for key, values in result.components.items():
            log_extra(f"{name}/{key}", [_cell(v) for v in np.asarray(values, float).tolist()])
        details = getattr(result, "details", None)
        if isinstance(details, Mapping):
            n = int(np.asarray(result.parse_failed).shape[0])
            for key, values in details.items():
                if isinstance(values, (Sequence, np.ndarray)) and len(values) == n:
                    log_extra(f"{name}/{key}", [_plain(v) for v in values])


def _log_metrics(log_metric: Callable[[str, float], Any], name: str, result: _Result) -> None:
    for key, values in result.components.items():
        mean = _nanmean(np.asarray(values, dtype=np.float64))
        if mean is not None:
            log_metric(f"rewards/{name}/{key}/mean", mean)
    failed = np.asarray(result.parse_failed, dtype=bool)
    if failed.size:
        log_metric(f"rewards/{name}/parse_failure_rate", float(failed.mean()))
