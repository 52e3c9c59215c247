"""The format reward: did the model think, then answer, in the tags it was asked for?"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from visual_rewards.parsing import completion_text, parse_completion
from visual_rewards.rewards.base import Reward, RewardResult, check_lengths

__all__ = ["FormatConfig", "FormatReward"]

#: The paper's released check (DESIGN §4.1). Backtracking makes it quadratic on adversarial
#: text, so :func:`visual_rft_format_ok` decides the same language in linear time; the tests
#: compare the two.
VISUAL_RFT_FORMAT_RE = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.DOTALL)


_THINK_THEN_ANSWER_RE = re.compile(r"</think>\s*<answer>")


def visual_rft_format_ok(text: str) -> bool:
    """``VISUAL_RFT_FORMAT_RE.fullmatch(text) is not None``, in linear time.

    The pattern matches exactly when the text starts with ``<think>``, ends with
    ``</answer>``, and some ``</think>``-whitespace-``<answer>`` lies between them; the leftmost
    such occurrence leaves the most room, so one search decides.

    >>> visual_rft_format_ok("<think></think> <answer></answer>")
    True
    >>> visual_rft_format_ok("<think>a</think>b<answer>c</answer>")
    False
    """
    if not (text.startswith("<think>") and text.endswith("</answer>")):
        return False
    m = _THINK_THEN_ANSWER_RE.search(text, len("<think>"))
    return m is not None and m.end() <= len(text) - len("</answer>")


@dataclass(frozen=True)
class FormatConfig:
    """Options of :class:`FormatReward`.

    Attributes:
        rule: ``"strict"`` -- exactly one non-empty ``<think>`` block followed by exactly one
            non-empty ``<answer>`` block and only whitespace outside them; ``"visual_rft"`` --
            ``re.fullmatch(r"<think>.*?</think>\\s*<answer>.*?</answer>", text, re.DOTALL)``.
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

    def score(
        self, completions: Sequence[Any], solutions: Sequence[Any] | None = None, **columns: Any
    ) -> RewardResult:
        """Score a batch of ``B`` completions -> ``components["format"]`` ``(B,)``."""
        n = check_lengths(completions, solutions, needs_solution=False)
        if self.config.rule == "visual_rft":
            ok = [visual_rft_format_ok(completion_text(c)) for c in completions]  # linear
            failed = np.zeros(n, dtype=bool)
        else:
            parsed = [parse_completion(c) for c in completions]
            ok = [p.format_ok for p in parsed]
            failed = np.array([p.answer is None for p in parsed], dtype=bool)
        fmt = np.asarray(ok, dtype=np.float64).reshape(n)
        return RewardResult(total=fmt.copy(), components={"format": fmt}, parse_failed=failed)
