"""Hypothesis strategies for *near-miss* model outputs: a valid output with one thing wrong.

RL finds the corners of a reward, and the corners are almost-valid outputs: a bracket too
many, mixed quotes, a cut at any position, tags nested or repeated, numbers at float limits,
unicode look-alikes of digits and tags. These strategies build a well-formed completion in one
of the supported payload formats and then apply exactly one such mutation.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

#: Unicode look-alikes: fullwidth and Arabic-Indic digits, fullwidth brackets, a lookalike "<".
LOOKALIKES = {
    "0": ["０", "٠", "𝟎"],
    "1": ["１", "١", "l"],
    "5": ["５", "٥"],
    "[": ["［", "⟦"],
    "]": ["］", "⟧"],
    "<": ["＜", "‹", "〈"],
    ">": ["＞", "›", "〉"],
    ",": ["，", "‚"],
    "'": ["’", "‘"],
    '"': ["“", "”"],
}
FLOAT_LIMITS = [
    "1e308",
    "1.7976931348623157e308",
    "1e309",
    "-1e309",
    "5e-324",
    "-0",
    "-0.0",
    "1e-400",
    "9" * 40,
    "0x10",
    "1_000",
    "NaN",
    "Infinity",
    "true",
    "null",
]
TAGS = ["<think>", "</think>", "<answer>", "</answer>"]


@st.composite
def boxes_1000(draw: Any, min_n: int = 1, max_n: int = 6) -> list[list[int]]:
    """Valid boxes in 0–1000 coordinates, ``x2 > x1`` and ``y2 > y1``."""
    out = []
    for _ in range(draw(st.integers(min_n, max_n))):
        x1 = draw(st.integers(0, 990))
        y1 = draw(st.integers(0, 990))
        out.append([x1, y1, draw(st.integers(x1 + 1, 1000)), draw(st.integers(y1 + 1, 1000))])
    return out


def render_answer(boxes: list[list[int]], style: str, scores: list[float] | None = None) -> str:
    """Render boxes in one of the payload styles of docs/parsing.md."""
    scores = scores or [0.9] * len(boxes)
    if style == "vrft":
        items = [
            f"{{'Position': {b}, 'Confidence': {s:.2f}}}"
            for b, s in zip(boxes, scores, strict=True)
        ]
        return "[" + ", ".join(items) + "]"
    if style == "qwen25":
        return (
            "```json\n"
            + json.dumps([{"bbox_2d": b, "label": "object's part"} for b in boxes])
            + "\n```"
        )
    if style == "qwen2":
        return "".join(
            f"<|object_ref_start|>obj<|object_ref_end|><|box_start|>({b[0]},{b[1]}),({b[2]},{b[3]})<|box_end|>"
            for b in boxes
        )
    return json.dumps(boxes)


STYLES = ["vrft", "qwen25", "qwen2", "bare"]


@st.composite
def valid_completions(draw: Any) -> tuple[str, list[list[int]], str]:
    """``(completion, boxes, style)``: a well-formed think/answer completion."""
    boxes = draw(boxes_1000())
    style = draw(st.sampled_from(STYLES))
    think = draw(
        st.sampled_from(["I see it.", "The object's edge is clear.", "Two of them.\nLeft one."])
    )
    return f"<think>{think}</think>\n<answer>{render_answer(boxes, style)}</answer>", boxes, style


def _mutate(text: str, kind: str, draw: Any) -> str:
    n = len(text)
    pos = draw(st.integers(0, max(0, n - 1)))
    if kind == "truncate":
        return text[:pos]
    if kind == "delete_char":
        return text[:pos] + text[pos + 1 :]
    if kind == "extra_bracket":
        return text[:pos] + draw(st.sampled_from(list("[]{}()"))) + text[pos:]
    if kind == "swap_quotes":
        return text.replace("'", '"') if draw(st.booleans()) else text.replace('"', "'", 1)
    if kind == "nest_tag":
        tag = draw(st.sampled_from(TAGS))
        return text[:pos] + tag + text[pos:]
    if kind == "repeat_tags":
        return text + text[text.find("<answer>") :] if "<answer>" in text else text + text
    if kind == "float_limit":
        digits = [i for i, c in enumerate(text) if c.isdigit()]
        if not digits:
            return text
        i = draw(st.sampled_from(digits))
        return text[:i] + draw(st.sampled_from(FLOAT_LIMITS)) + text[i + 1 :]
    if kind == "lookalike":
        spots = [i for i, c in enumerate(text) if c in LOOKALIKES]
        if not spots:
            return text
        i = draw(st.sampled_from(spots))
        return text[:i] + draw(st.sampled_from(LOOKALIKES[text[i]])) + text[i + 1 :]
    if kind == "duplicate_span":
        j = draw(st.integers(pos, n))
        return text[:j] + text[pos:j] + text[j:]
    raise ValueError(kind)


MUTATIONS = [
    "truncate",
    "delete_char",
    "extra_bracket",
    "swap_quotes",
    "nest_tag",
    "repeat_tags",
    "float_limit",
    "lookalike",
    "duplicate_span",
]


@st.composite
def near_miss_completions(draw: Any) -> tuple[str, str, list[list[int]]]:
    """``(completion, mutation, boxes written)``: a valid completion with one mutation applied."""
    text, boxes, _ = draw(valid_completions())
    kind = draw(st.sampled_from(MUTATIONS))
    return _mutate(text, kind, draw), kind, boxes
