"""The format reward: did the model think, then answer, in the tags it was asked for?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from visual_rewards.parsing.completion import visual_rft_format_ok
from visual_rewards.rewards.base import Reward, RewardResult, check_lengths

__all__ = ["FormatConfig", "FormatReward", "visual_rft_format_ok"]


@dataclass(frozen=True)
class FormatConfig:
    """Options of :class:`FormatReward`.

    Attributes:
        rule: ``"strict"`` -- exactly one non-empty ``<think>`` block followed by exactly one
            non-empty ``<answer>`` block and only whitespace outside them
            (:func:`~visual_rewards.parsing.parse_completion`); ``"visual_rft"`` -- the paper's
            regex (:func:`~visual_rewards.parsing.visual_rft_format_ok`, decided in linear time).
    """

    rule: Literal["strict", "visual_rft"] = "strict"


class FormatReward(Reward):
    """1.0 when the completion has the think/answer format, else 0.0.

    Presets: ``"default"`` (the strict rule) and ``"visual_rft"`` (the paper's regex, which
    also accepts empty blocks and repeated tags).

    >>> r = FormatReward()
    >>> r.score(["<think>red petals</think><answer>rose</answer>", "rose"]).total
    array([1., 0.])
    >>> FormatReward("visual_rft")(completions=["<think></think><answer></answer>"])
    [1.0]
    """

    task: ClassVar[str] = "format"
    presets: ClassVar[dict[str, FormatConfig]] = {
        "default": FormatConfig(rule="strict"),
        "visual_rft": FormatConfig(rule="visual_rft"),
    }
    needs_solution: ClassVar[bool] = False

    config: FormatConfig
    format_field: ClassVar[str] = "rule"

    def score(
        self, completions: Sequence[Any], solutions: Sequence[Any] | None = None, **columns: Any
    ) -> RewardResult:
        """Score a batch of ``B`` completions -> ``components["format"]`` ``(B,)``."""
        check_lengths(completions, solutions, needs_solution=False)
        parsed, fmt = self.read_completions(completions)
        failed = np.array([p.answer is None for p in parsed], dtype=bool)
        return self.result({"format": fmt}, failed)
