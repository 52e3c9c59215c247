"""Answers as editable drafts, and the library of mutations the audit searches with.

A candidate answer is the correct answer plus a list of :class:`Op` s. An op is a named edit
with its random parameters drawn once (six numbers in ``[0, 1)``), so replaying the same ops
gives the same text, and dropping some of them (delta debugging) still gives a valid answer:
indices are drawn as fractions of whatever list the op finds.

Coordinates in drafts are in ``norm1000`` (x along the width, y along the height); they are
written in the reward's own coordinate space by :func:`render`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from visual_rewards.geometry.coords import CoordConfig

__all__ = [
    "FAMILIES",
    "OPS",
    "Draft",
    "Op",
    "apply_ops",
    "ops_for",
    "random_op",
    "render",
]

_THINK = "I looked at the image carefully."


@dataclass
class Draft:
    """An answer under construction.

    Attributes:
        task: the task (decides the payload and the ops that apply).
        boxes: ``[x1, y1, x2, y2]`` (norm1000) per box or ``[x, y]`` per point.
        confs: one confidence (or None) per box.
        labels: one label (or None) per box.
        text: the answer text of classification and counting.
        dialect: how boxes/points are written.
        post: text edits applied to the rendered completion, in order.
    """

    task: str
    boxes: list[list[float]] = field(default_factory=list)
    confs: list[float | None] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    text: str = ""
    dialect: str = "visual_rft"
    post: list[tuple[str, tuple[float, ...]]] = field(default_factory=list)


@dataclass(frozen=True)
class Op:
    """One mutation: ``name`` (see :data:`OPS`) and its parameters ``u`` in ``[0, 1)``."""

    name: str
    u: tuple[float, ...]

    @property
    def family(self) -> str:
        return OPS[self.name][0]

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class OpContext:
    """What ops may use: the label pool, the true count, the target region (norm1000)."""

    labels: tuple[str, ...] = ()
    count: int | None = None
    region: tuple[float, float, float, float] | None = None


def _pick(n: int, u: float) -> int:
    return min(int(u * n), n - 1)


def _num(v: float) -> str:
    r = round(v, 1)
    return str(int(r)) if r == int(r) else str(r)


# ---------------------------------------------------------------------------------------------
# Box and point edits
# ---------------------------------------------------------------------------------------------


def _add_box(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    x, y = u[0] * 900, u[1] * 900
    w, h = 10 + u[2] * 490, 10 + u[3] * 490
    d.boxes.append([x, y, min(x + w, 1000.0), min(y + h, 1000.0)])
    d.confs.append(None if u[4] < 0.1 else round(u[4], 2))
    d.labels.append(
        ctx.labels[_pick(len(ctx.labels), u[5])]
        if ctx.labels and d.labels and any(d.labels)
        else None
    )


def _remove_box(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if d.boxes:
        i = _pick(len(d.boxes), u[0])
        del d.boxes[i], d.confs[i], d.labels[i]


def _duplicate_box(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if d.boxes:
        i = _pick(len(d.boxes), u[0])
        d.boxes.append(list(d.boxes[i]))
        d.confs.append(d.confs[i] if u[1] < 0.5 else round(u[2], 2))
        d.labels.append(d.labels[i])


def _jitter_box(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if d.boxes:
        b = d.boxes[_pick(len(d.boxes), u[0])]
        scale = 5.0 if u[1] < 0.5 else 60.0
        for k in range(4):
            b[k] = float(np.clip(b[k] + (u[2 + k] - 0.5) * 2 * scale, 0.0, 1000.0))


def _whole_image_box(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    box = [0.0, 0.0, 1000.0, 1000.0]
    if d.boxes and u[0] < 0.5:
        d.boxes[_pick(len(d.boxes), u[1])] = box
    else:
        d.boxes.append(box)
        d.confs.append(round(u[2], 2))
        d.labels.append(d.labels[0] if d.labels else None)


def _grow_box(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if d.boxes:
        b = d.boxes[_pick(len(d.boxes), u[0])]
        f = 0.5 + u[1] * 1.5
        cx, cy, w, h = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, (b[2] - b[0]) * f, (b[3] - b[1]) * f
        b[:] = [
            max(cx - w / 2, 0.0),
            max(cy - h / 2, 0.0),
            min(cx + w / 2, 1e3),
            min(cy + h / 2, 1e3),
        ]


def _flip_box(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if d.boxes:
        b = d.boxes[_pick(len(d.boxes), u[0])]
        b[:] = [b[2], b[3], b[0], b[1]]


def _reorder(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if len(d.boxes) > 1:
        i, j = _pick(len(d.boxes), u[0]), _pick(len(d.boxes), u[1])
        d.boxes[i], d.boxes[j] = d.boxes[j], d.boxes[i]
        d.confs[i], d.confs[j] = d.confs[j], d.confs[i]
        d.labels[i], d.labels[j] = d.labels[j], d.labels[i]


def _set_confidence(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if d.boxes:
        i = _pick(len(d.boxes), u[0])
        d.confs[i] = 0.0 if u[1] < 0.2 else 1.0 if u[1] > 0.8 else round(u[2], 2)


def _set_all_confidence(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    d.confs = [round(u[0], 2)] * len(d.boxes)


def _drop_confidence(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if d.boxes:
        d.confs[_pick(len(d.boxes), u[0])] = None


def _bad_confidence(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if d.boxes:
        d.confs[_pick(len(d.boxes), u[0])] = (1.5, -0.5, 100.0, 2.0)[_pick(4, u[1])]


def _change_label(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if d.boxes:
        pool = ctx.labels or ("object",)
        d.labels[_pick(len(d.boxes), u[0])] = pool[_pick(len(pool), u[1])]


def _drop_label(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if d.boxes:
        d.labels[_pick(len(d.boxes), u[0])] = None


_BOX_DIALECTS = ("visual_rft", "bbox_2d", "bare", "qwen")
_POINT_DIALECTS = ("point_2d", "tuple", "list")


def _dialect(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    options = _POINT_DIALECTS if d.task == "pointing" else _BOX_DIALECTS
    d.dialect = options[_pick(len(options), u[0])]


def _add_point(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    d.boxes.append([u[0] * 1000, u[1] * 1000])


def _outside_point(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    x1, _, x2, _ = ctx.region or (0.0, 0.0, 0.0, 0.0)
    x = x2 + u[0] * (1000 - x2) if u[1] < 0.5 else u[0] * x1
    d.boxes.append([x, u[2] * 1000])


def _jitter_point(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if d.boxes:
        p = d.boxes[_pick(len(d.boxes), u[0])]
        scale = 10.0 if u[1] < 0.5 else 150.0
        p[0] = float(np.clip(p[0] + (u[2] - 0.5) * 2 * scale, 0, 1000))
        p[1] = float(np.clip(p[1] + (u[3] - 0.5) * 2 * scale, 0, 1000))


def _remove_point(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if d.boxes:
        del d.boxes[_pick(len(d.boxes), u[0])]


def _duplicate_point(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if d.boxes:
        d.boxes.append(list(d.boxes[_pick(len(d.boxes), u[0])]))


# ---------------------------------------------------------------------------------------------
# Text answers (classification, counting)
# ---------------------------------------------------------------------------------------------


def _other_label(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if ctx.labels:
        d.text = ctx.labels[_pick(len(ctx.labels), u[0])]


def _add_label(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if ctx.labels:
        other = ctx.labels[_pick(len(ctx.labels), u[0])]
        joiner = (", ", " or ", " and ", "/")[_pick(4, u[1])]
        d.text = f"{d.text}{joiner}{other}" if u[2] < 0.5 else f"{other}{joiner}{d.text}"


def _every_label(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if ctx.labels:
        d.text = ", ".join(ctx.labels)


_PREFIXES = ("It is a ", "The answer is ", "Probably ", "Not ", "Maybe ", "A photo of a ")
_SUFFIXES = (".", " (I think)", "?", " probably", " or something else", "s")


def _prefix_words(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    d.text = _PREFIXES[_pick(len(_PREFIXES), u[0])] + d.text


def _suffix_words(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    choices = _SUFFIXES if d.task == "classification" else _SUFFIXES[:-1]  # no plural "3s"
    d.text = d.text + choices[_pick(len(choices), u[0])]


def _case(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    d.text = (d.text.upper(), d.text.lower(), d.text.title())[_pick(3, u[0])]


def _typo(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    if d.text:
        i = _pick(len(d.text), u[0])
        kind = _pick(3, u[1])
        if kind == 0:
            d.text = d.text[:i] + d.text[i + 1 :]
        elif kind == 1:
            d.text = d.text[:i] + chr(ord("a") + _pick(26, u[2])) + d.text[i + 1 :]
        else:
            d.text = d.text[:i] + d.text[i : i + 2][::-1] + d.text[i + 2 :]


def _count_value(ctx: OpContext) -> int:
    return ctx.count if ctx.count is not None else 0


def _off_by(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    delta = (-3, -2, -1, 1, 2, 3)[_pick(6, u[0])]
    d.text = str(max(_count_value(ctx) + delta, 0))


def _hedge(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    n = _count_value(ctx)
    forms = (
        f"not {n}",
        f"{n} or {n + 1}",
        f"about {n}",
        f"{n}-{n + 1}",
        f"at least {n}",
        f"{n}?",
        f"maybe {n}",
        f"between {max(n - 1, 0)} and {n + 1}",
        f"{n}, {n + 1}",
    )
    d.text = forms[_pick(len(forms), u[0])]


_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def _number_word(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    n = _count_value(ctx)
    d.text = _WORDS[n] if n < len(_WORDS) else str(n)


def _several_numbers(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    n = _count_value(ctx)
    d.text = " ".join(str(max(n + k, 0)) for k in (-1, 0, 1)[: 2 + _pick(2, u[0])])


def _sentence(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    d.text = (f"There are {d.text}.", f"{d.text} objects", f"Count: {d.text}")[_pick(3, u[0])]


def _none_answer(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    d.text = ("none", "no", "0", "No Objects")[_pick(4, u[0])]


def _empty_answer(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
    d.text = ("", " ", "\n")[_pick(3, u[0])]
    d.boxes, d.confs, d.labels = [], [], []
    d.dialect = "empty"


# ---------------------------------------------------------------------------------------------
# Text edits applied after rendering (syntax and Unicode)
# ---------------------------------------------------------------------------------------------


def _post(name: str) -> Callable[[Draft, tuple[float, ...], OpContext], None]:
    def add(d: Draft, u: tuple[float, ...], ctx: OpContext) -> None:
        d.post.append((name, u))

    return add


_HOMOGLYPHS = {
    "a": "\u0430",
    "e": "\u0435",
    "o": "\u043e",
    "p": "\u0440",
    "c": "\u0441",
    "x": "\u0445",
    "1": "l",
    "0": "O",
    "3": "\u0417",
    "B": "\u0412",
}


def _answer_span(text: str) -> tuple[int, int]:
    a = text.find("<answer>")
    if a < 0:
        return 0, len(text)
    b = text.find("</answer>", a)
    return a + 8, len(text) if b < 0 else b


def _insert(text: str, u: float, piece: str) -> str:
    a, b = _answer_span(text)
    i = a + _pick(b - a + 1, u)
    return text[:i] + piece + text[i:]


def _apply_post(text: str, name: str, u: tuple[float, ...]) -> str:
    a, b = _answer_span(text)
    if name == "drop_think":
        s, e = text.find("<think>"), text.find("</think>")
        return text[:s] + text[e + 8 :].lstrip() if 0 <= s < e else text
    if name == "empty_think":
        s, e = text.find("<think>"), text.find("</think>")
        return text[: s + 7] + text[e:] if 0 <= s < e else text
    if name == "swap_blocks":
        s, e = text.find("<think>"), text.find("</think>")
        if 0 <= s < e < a:
            return text[a - 8 : b + 9] + "\n" + text[s : e + 8]
        return text
    if name == "duplicate_answer":
        extra = (text[a:b], "No Objects", "", "0")[_pick(4, u[0])]
        return text + f"\n<answer>{extra}</answer>"
    if name == "text_outside":
        return "Sure! " + text if u[0] < 0.5 else text + " Hope this helps."
    if name == "drop_close":
        return text.replace("</answer>", "", 1)
    if name == "truncate":
        return text[: int(len(text) * (0.5 + u[0] / 2))]
    if name == "uppercase_tags":
        return text.replace("<answer>", "<ANSWER>").replace("</answer>", "</ANSWER>")
    if name == "code_fence":
        return text[:a] + "```json\n" + text[a:b] + "\n```" + text[b:]
    if name == "zero_width":
        return _insert(text, u[0], ("\u200b", "\u200d", "\ufeff", "\u00ad")[_pick(4, u[1])])
    if name == "combining_mark":
        return _insert(text, u[0], "\u0301")
    if name == "homoglyph":
        spots = [i for i in range(a, b) if text[i] in _HOMOGLYPHS]
        if not spots:
            return text
        i = spots[_pick(len(spots), u[0])]
        return text[:i] + _HOMOGLYPHS[text[i]] + text[i + 1 :]
    if name == "fullwidth":
        body = "".join(chr(ord(c) + 0xFEE0) if "0" <= c <= "9" else c for c in text[a:b])
        return text[:a] + body + text[b:]
    if name == "nbsp":
        return text[:a] + text[a:b].replace(" ", "\u00a0") + text[b:]
    raise KeyError(name)


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------

_BOX = frozenset({"detection", "grounding"})
_TEXT = frozenset({"classification", "counting"})
_ALL = frozenset({"detection", "grounding", "classification", "counting", "pointing"})

#: name -> (family, tasks, edit). Families name what a hack exploits in the report.
OPS: dict[
    str, tuple[str, frozenset[str], Callable[[Draft, tuple[float, ...], OpContext], None]]
] = {
    "add_box": ("boxes", _BOX, _add_box),
    "remove_box": ("boxes", _BOX, _remove_box),
    "duplicate_box": ("boxes", _BOX, _duplicate_box),
    "whole_image_box": ("boxes", _BOX, _whole_image_box),
    "grow_box": ("boxes", _BOX, _grow_box),
    "flip_box": ("boxes", _BOX, _flip_box),
    "reorder_boxes": ("boxes", _BOX, _reorder),
    "jitter_box": ("jitter", _BOX, _jitter_box),
    "set_confidence": ("confidence", frozenset({"detection"}), _set_confidence),
    "set_all_confidence": ("confidence", frozenset({"detection"}), _set_all_confidence),
    "drop_confidence": ("confidence", frozenset({"detection"}), _drop_confidence),
    "bad_confidence": ("confidence", frozenset({"detection"}), _bad_confidence),
    "change_label": ("labels", frozenset({"detection"}), _change_label),
    "drop_label": ("labels", frozenset({"detection"}), _drop_label),
    "dialect": ("dialect", _BOX | {"pointing"}, _dialect),
    "add_point": ("points", frozenset({"pointing"}), _add_point),
    "outside_point": ("points", frozenset({"pointing"}), _outside_point),
    "remove_point": ("points", frozenset({"pointing"}), _remove_point),
    "duplicate_point": ("points", frozenset({"pointing"}), _duplicate_point),
    "jitter_point": ("jitter", frozenset({"pointing"}), _jitter_point),
    "other_label": ("labels", frozenset({"classification"}), _other_label),
    "add_label": ("labels", frozenset({"classification"}), _add_label),
    "every_label": ("labels", frozenset({"classification"}), _every_label),
    "prefix_words": ("wording", _TEXT, _prefix_words),
    "suffix_words": ("wording", _TEXT, _suffix_words),
    "case": ("wording", frozenset({"classification"}), _case),
    "typo": ("wording", frozenset({"classification"}), _typo),
    "off_by": ("numbers", frozenset({"counting"}), _off_by),
    "hedge": ("numbers", frozenset({"counting"}), _hedge),
    "number_word": ("numbers", frozenset({"counting"}), _number_word),
    "several_numbers": ("numbers", frozenset({"counting"}), _several_numbers),
    "sentence": ("wording", frozenset({"counting"}), _sentence),
    "none_answer": ("numbers", frozenset({"counting"}), _none_answer),
    "empty_answer": ("empty", _ALL, _empty_answer),
    "drop_think": ("syntax", _ALL, _post("drop_think")),
    "empty_think": ("syntax", _ALL, _post("empty_think")),
    "swap_blocks": ("syntax", _ALL, _post("swap_blocks")),
    "duplicate_answer": ("tags", _ALL, _post("duplicate_answer")),
    "text_outside": ("syntax", _ALL, _post("text_outside")),
    "drop_close": ("truncation", _ALL, _post("drop_close")),
    "truncate": ("truncation", _ALL, _post("truncate")),
    "uppercase_tags": ("tags", _ALL, _post("uppercase_tags")),
    "code_fence": ("syntax", _ALL, _post("code_fence")),
    "zero_width": ("unicode", _ALL, _post("zero_width")),
    "combining_mark": ("unicode", _ALL, _post("combining_mark")),
    "homoglyph": ("unicode", _ALL, _post("homoglyph")),
    "fullwidth": ("unicode", _ALL, _post("fullwidth")),
    "nbsp": ("unicode", _ALL, _post("nbsp")),
}

#: Every mutation family, sorted.
FAMILIES: tuple[str, ...] = tuple(sorted({family for family, _, _ in OPS.values()}))


def ops_for(task: str) -> tuple[str, ...]:
    """Names of the ops that apply to ``task``.

    >>> "hedge" in ops_for("counting"), "hedge" in ops_for("detection")
    (True, False)
    """
    return tuple(name for name, (_, tasks, _) in OPS.items() if task in tasks)


def random_op(names: Sequence[str], rng: np.random.Generator) -> Op:
    """A random op among ``names`` with freshly drawn parameters."""
    name = names[int(rng.integers(len(names)))]
    return Op(name, tuple(float(v) for v in rng.random(6)))


def apply_ops(start: Draft, ops: Sequence[Op], ctx: OpContext) -> Draft:
    """A copy of ``start`` with ``ops`` applied in order."""
    d = Draft(
        start.task,
        [list(b) for b in start.boxes],
        list(start.confs),
        list(start.labels),
        start.text,
        start.dialect,
        list(start.post),
    )
    for op in ops:
        OPS[op.name][2](d, op.u, ctx)
    return d


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def _box_payload(d: Draft, cfg: CoordConfig) -> str:
    if not d.boxes:
        return "No Objects"
    sx, sy = cfg.scale()
    scaled = [[b[0] * sx / 1e3, b[1] * sy / 1e3, b[2] * sx / 1e3, b[3] * sy / 1e3] for b in d.boxes]
    nums = [[_num(v) for v in b] for b in scaled]
    if d.dialect == "bare":
        if d.task == "grounding" and len(nums) == 1:
            return "[" + ", ".join(nums[0]) + "]"
        return "[" + ", ".join("[" + ", ".join(b) + "]" for b in nums) + "]"
    if d.dialect == "qwen":
        return " ".join(f"<|box_start|>({b[0]},{b[1]}),({b[2]},{b[3]})<|box_end|>" for b in nums)
    items = []
    for b, c, lab in zip(nums, d.confs, d.labels, strict=True):
        if d.dialect == "bbox_2d":
            parts = [f'"bbox_2d": [{", ".join(b)}]']
            if lab is not None:
                parts.append(f'"label": "{lab}"')
            if c is not None:
                parts.append(f'"score": {_num_c(c)}')
        else:
            parts = [f"'Position': [{', '.join(b)}]"]
            if c is not None:
                parts.append(f"'Confidence': {_num_c(c)}")
            if lab is not None:
                parts.append(f"'label': '{lab}'")
        items.append("{" + ", ".join(parts) + "}")
    return "[" + ", ".join(items) + "]"


def _num_c(c: float) -> str:
    return str(int(c)) if c == int(c) else str(c)


def _point_payload(d: Draft, cfg: CoordConfig) -> str:
    if not d.boxes:
        return "No points"
    sx, sy = cfg.scale()
    pts = [(_num(p[0] * sx / 1e3), _num(p[1] * sy / 1e3)) for p in d.boxes]
    if d.dialect == "tuple":
        return ", ".join(f"({x}, {y})" for x, y in pts)
    if d.dialect == "list":
        return "[" + ", ".join(f"[{x}, {y}]" for x, y in pts) + "]"
    return "[" + ", ".join(f'{{"point_2d": [{x}, {y}]}}' for x, y in pts) + "]"


def render(d: Draft, cfg: CoordConfig) -> str:
    """The completion text of a draft (boxes and points written in ``cfg``'s space).

    >>> d = Draft("grounding", boxes=[[100.0, 100.0, 400.0, 400.0]], confs=[None], labels=[None],
    ...           dialect="bare")
    >>> render(d, CoordConfig("norm1000"))
    '<think>I looked at the image carefully.</think>\\n<answer>[100, 100, 400, 400]</answer>'
    """
    if d.dialect == "empty" and (d.task in _TEXT or not d.boxes):
        answer = d.text
    elif d.task in _BOX:
        answer = _box_payload(d, cfg)
    elif d.task == "pointing":
        answer = _point_payload(d, cfg)
    else:
        answer = d.text
    text = f"<think>{_THINK}</think>\n<answer>{answer}</answer>"
    for name, u in d.post:
        text = _apply_post(text, name, u)
    return text
