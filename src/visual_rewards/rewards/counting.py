"""The counting reward: the answer states the right number (beyond the paper).

The ``<answer>`` block is read with :func:`~visual_rewards.parsing.numbers.parse_count` (integers,
number words up to ``ninety-nine`` and ``hundred``, ``no``/``none`` as 0; all numbers in
the answer must agree). The ``accuracy`` component is 1 for the exact count and 0 otherwise;
``tolerance``/``relative_tolerance`` turn on linear partial credit for near misses (see
:func:`count_scores`). The ``format`` component is the shared one (``format_rule``, see
:mod:`visual_rewards.rewards.base`). A truncated answer (no ``</answer>``) scores 0. One preset,
``"default"``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from visual_rewards.parsing.numbers import parse_count
from visual_rewards.rewards.base import Reward, RewardResult, SharedOptions, check_lengths
from visual_rewards.targets import count_target

__all__ = ["CountingConfig", "CountingReward", "count_scores"]


@dataclass(frozen=True)
class CountingConfig(SharedOptions):
    """Options of :class:`CountingReward`, besides the shared ones
    (:class:`~visual_rewards.rewards.base.SharedOptions`).

    Attributes:
        tolerance: absolute error that still earns partial credit (0 = exact only).
        relative_tolerance: the same as a fraction of the true count; the larger applies.
        accuracy_weight, format_weight: weights of the components in ``total``.
    """

    tolerance: float = 0.0
    relative_tolerance: float = 0.0
    accuracy_weight: float = 1.0


class CountingReward(Reward):
    """Reward for stating the right count.

    >>> r = CountingReward()
    >>> r.score(["<think>one, two, three</think><answer>3</answer>",
    ...          "<think>hm</think><answer>Three.</answer>",
    ...          "<think>hm</think><answer>3 or 4</answer>",
    ...          "<think>hm</think><answer>none</answer>"], [3, "3", 3, {"count": 0}]).total
    array([2., 2., 1., 2.])
    >>> CountingReward(tolerance=2).score(["<think>x</think><answer>4</answer>"], [3]).components
    {'accuracy': array([0.66666667]), 'format': array([1.])}
    """

    task: ClassVar[str] = "counting"
    presets: ClassVar[dict[str, CountingConfig]] = {"default": CountingConfig()}

    config: CountingConfig

    def _check_options(self) -> None:
        cfg = self.config
        for key in ("tolerance", "relative_tolerance"):
            value = getattr(cfg, key)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{key} must be a finite number >= 0, got {value!r}")

    def score(
        self, completions: Sequence[Any], solutions: Sequence[Any] | None = None, **columns: Any
    ) -> RewardResult:
        """Score ``B`` completions against ``B`` true counts.

        Returns ``components["accuracy"]`` and ``components["format"]``, each ``(B,)`` in
        ``[0, 1]`` (``accuracy`` and ``total`` NaN on rows with a malformed ground truth).
        """
        n = check_lengths(completions, solutions)
        assert solutions is not None
        cfg = self.config
        truth = np.full(n, np.nan)
        for row, raw in enumerate(solutions):
            try:
                truth[row] = count_target(raw).count
            except ValueError as exc:  # TargetError
                self.malformed(row, str(exc))
        parsed, fmt = self.read_completions(completions)
        predicted = np.full(n, np.nan)
        for row, pc in enumerate(parsed):
            value = None if pc.truncated else parse_count(pc.answer)
            if value is not None:
                predicted[row] = value
        accuracy = count_scores(predicted, truth, cfg.tolerance, cfg.relative_tolerance)
        return self.result(
            {"accuracy": accuracy, "format": fmt}, np.isnan(predicted), np.isnan(truth)
        )


def count_scores(
    predicted: npt.ArrayLike,
    truth: npt.ArrayLike,
    tolerance: float = 0.0,
    relative_tolerance: float = 0.0,
) -> npt.NDArray[np.float64]:
    """Score predicted counts ``(B,)`` against true counts ``(B,)``; NaN predictions score 0.

    An exact count scores 1. With a tolerance ``t = max(tolerance, relative_tolerance * truth)``
    an error ``e`` with ``0 < e <= t`` scores ``1 - e / (t + 1)``; larger errors score 0.
    Without a tolerance (the default) only the exact count scores.

    >>> count_scores([3, 4, 6, np.nan], [3, 3, 3, 3], tolerance=2)
    array([1.        , 0.66666667, 0.        , 0.        ])
    """
    pred = np.asarray(predicted, dtype=np.float64).reshape(-1)
    gt = np.asarray(truth, dtype=np.float64).reshape(-1)
    if pred.shape != gt.shape:
        raise ValueError(
            f"predicted and truth must have the same shape, got {pred.shape} and {gt.shape}"
        )
    err = np.abs(pred - gt)
    tol = np.maximum(float(tolerance), float(relative_tolerance) * gt)
    with np.errstate(invalid="ignore"):
        shaped = np.where(err <= tol, 1.0 - err / (tol + 1.0), 0.0)
    out: npt.NDArray[np.float64] = np.where(np.isnan(err), 0.0, shaped)
    return out
