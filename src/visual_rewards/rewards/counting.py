"""The counting reward: the answer states the right number (DESIGN §4.6, beyond the paper).

The ``<answer>`` block is read with :func:`~visual_rewards.counting.parse_count` (integers,
number words up to ``ninety-nine`` and ``hundred``, ``no``/``none`` as 0; all numbers in
the answer must agree). The ``accuracy`` component is 1 for the exact count and 0 otherwise;
``tolerance``/``relative_tolerance`` turn on linear partial credit for near misses (see
:func:`~visual_rewards.counting.count_scores`). The ``format`` component is the strict format
of DESIGN §4.1 (or the paper's regex with ``format_rule="visual_rft"``). A truncated answer
(no ``</answer>``) scores 0. One preset, ``"default"``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from visual_rewards.counting import count_scores, parse_count
from visual_rewards.parsing import completion_text, parse_completion
from visual_rewards.rewards.base import Reward, RewardResult, check_lengths
from visual_rewards.rewards.format import visual_rft_format_ok
from visual_rewards.targets_misc import count_target

__all__ = ["CountingConfig", "CountingReward"]


@dataclass(frozen=True)
class CountingConfig:
    """Options of :class:`CountingReward`.

    Attributes:
        tolerance: absolute error that still earns partial credit (0 = exact only).
        relative_tolerance: the same as a fraction of the true count; the larger applies.
        format_rule: ``"strict"`` or ``"visual_rft"`` (see :class:`~visual_rewards.FormatReward`).
        accuracy_weight, format_weight: weights of the components in ``total``.
        strict: raise ``ValueError`` on a malformed ground truth instead of warning.
    """

    tolerance: float = 0.0
    relative_tolerance: float = 0.0
    format_rule: Literal["strict", "visual_rft"] = "strict"
    accuracy_weight: float = 1.0
    format_weight: float = 1.0
    strict: bool = False


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

    def _check_config(self) -> None:
        cfg = self.config
        for key in ("tolerance", "relative_tolerance", "accuracy_weight", "format_weight"):
            value = getattr(cfg, key)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{key} must be a finite number >= 0, got {value!r}")
        if cfg.format_rule not in ("strict", "visual_rft"):
            raise ValueError(
                f"format_rule must be 'strict' or 'visual_rft', got {cfg.format_rule!r}"
            )

    def score(
        self, completions: Sequence[Any], solutions: Sequence[Any] | None = None, **columns: Any
    ) -> RewardResult:
        """Score ``B`` completions against ``B`` true counts.

        Returns ``components["accuracy"]`` and ``components["format"]``, each ``(B,)`` in
        ``[0, 1]`` (NaN on rows with a malformed ground truth).
        """
        n = check_lengths(completions, solutions)
        assert solutions is not None
        cfg = self.config
        truth = np.full(n, np.nan)
        for row, raw in enumerate(solutions):
            try:
                truth[row] = count_target(raw).count
            except ValueError as exc:
                message = f"{self.__name__}: row {row}: malformed ground truth ({exc})"
                if cfg.strict:
                    raise ValueError(message) from None
                warnings.warn(f"{message}; the row scores None (not applicable)", stacklevel=2)
        predicted = np.full(n, np.nan)
        fmt = np.zeros(n)
        failed = np.zeros(n, dtype=bool)
        for row, completion in enumerate(completions):
            parsed = parse_completion(completion)
            if cfg.format_rule == "visual_rft":
                fmt[row] = visual_rft_format_ok(completion_text(completion))
            else:
                fmt[row] = parsed.format_ok
            value = None if parsed.truncated else parse_count(parsed.answer)
            failed[row] = value is None
            if value is not None:
                predicted[row] = value
        accuracy = count_scores(predicted, truth, cfg.tolerance, cfg.relative_tolerance)
        missing = np.isnan(truth)
        accuracy[missing] = np.nan
        fmt[missing] = np.nan
        total = cfg.accuracy_weight * accuracy + cfg.format_weight * fmt
        return RewardResult(
            total=total, components={"accuracy": accuracy, "format": fmt}, parse_failed=failed
        )
