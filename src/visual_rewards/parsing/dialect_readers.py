"""Readers of the grounding dialects: a dialect's text -> items in normalised ``xy`` order.

Each reader turns an answer written in one dialect (:mod:`~visual_rewards.parsing.dialects`)
into items (``_Item``: values, score, label, error), which the general validation of
:mod:`~visual_rewards.parsing.answers` then checks, normalises and clips like any other
answer. The values of an item are already in ``x``-first order:

- the dialects whose text the general reader reads (``visual_rft``, ``qwen2vl``,
  ``qwen25vl``, ``qwen3vl``, ``gemini``) keep their numbers in the dialect's coordinate space
  (:attr:`~visual_rewards.parsing.dialects.Dialect.coords`), with Gemini's ``y``-first
  values swapped;
- the token dialects decode their numbers to normalised ``[0, 1]`` units with the rule of the
  model's own post-processor (see each ``_decode_*`` function), so their space is
  ``"normalized"`` (:func:`dialect_space`).

Every scan is linear in the answer: tags are found with ``str.find`` through cursors that never
move backwards (:class:`_Cursor`), numbers are read by
:func:`~visual_rewards.parsing.numbers.parse_number`, and no regular expression is used.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from visual_rewards.geometry.coords import CoordSpace
from visual_rewards.parsing.answers import _Item, _read_items
from visual_rewards.parsing.dialects import Dialect
from visual_rewards.parsing.numbers import parse_number

__all__ = ["dialect_space", "read_dialect_items"]

_MAX_ITEM_CHARS = 4096
_MAX_LABEL_CHARS = 256
#: Kosmos-2's grid: ``num_patches_per_side`` of ``Kosmos2Processor`` (transformers).
KOSMOS2_GRID = 32
_BRACKETS = str.maketrans(dict.fromkeys("[](){}<>", "|"))


class _Cursor:
    """The next occurrence of ``needle`` at or after a position that only grows: each
    character of the text is scanned at most once per cursor."""

    __slots__ = ("at", "needle", "text")

    def __init__(self, text: str, needle: str) -> None:
        self.text, self.needle = text, needle
        self.at = text.find(needle)

    def after(self, pos: int) -> int:
        if 0 <= self.at < pos:
            self.at = self.text.find(self.needle, pos)
        return self.at


def _label(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = raw.strip()[:_MAX_LABEL_CHARS].strip()
    return text or None


def _bad(error: str, label: str | None = None) -> _Item:
    return _Item(None, math.nan, label, error)


def _numbers(group: str, want: int) -> tuple[list[float] | None, str | None]:
    """``want`` finite numbers separated by commas and/or spaces, or a reason."""
    tokens = group.replace(",", " ").split()
    if len(tokens) != want:
        return None, f"expected {want} numbers, got {len(tokens)}"
    values = [parse_number(t.strip("'\"")) for t in tokens]
    if any(v is None for v in values):
        return None, "not a finite number"
    return [v for v in values if v is not None], None


def _groups(content: str, want: int) -> list[tuple[list[float] | None, str | None]]:
    """The innermost bracketed lists of ``content`` (any of ``[]``, ``()``, ``{}``, ``<>``),
    or the whole content when it has no brackets; each read as ``want`` numbers."""
    pieces = [p for p in content.translate(_BRACKETS).split("|") if p.strip(" ,;\t\r\n")]
    return [_numbers(p, want) for p in pieces]


def _scan_tags(
    text: str, tags: tuple[str, str], label_tags: tuple[str, str] | None, max_items: int
) -> list[tuple[str | None, str | None]]:
    """``(label, content)`` of every ``open…close`` of ``tags``; content None when unclosed or
    too long. The label is the last ``label_tags`` phrase after the previous tag, if any."""
    opening, closing = tags
    out: list[tuple[str | None, str | None]] = []
    label_open = _Cursor(text, label_tags[0]) if label_tags else None
    label_close = _Cursor(text, label_tags[1]) if label_tags else None
    close = _Cursor(text, closing)
    pos = 0
    while len(out) <= max_items:
        start = text.find(opening, pos)
        if start < 0:
            break
        label = None
        if label_open is not None and label_close is not None and label_tags is not None:
            lab = label_open.after(pos)
            while 0 <= lab < start:
                end = label_close.after(lab + len(label_tags[0]))
                if end < 0 or end > start:
                    break
                label = text[lab + len(label_tags[0]) : end]
                lab = label_open.after(end + len(label_tags[1]))
        body = start + len(opening)
        end = close.after(body)
        if end < 0 or end - body > _MAX_ITEM_CHARS:
            out.append((label, None))
            break
        out.append((label, text[body:end]))
        pos = end + len(closing)
    return out


def _tagged_items(
    text: str,
    tags: tuple[str, str],
    label_tags: tuple[str, str] | None,
    want: int,
    decode: Callable[[list[float]], list[float]],
    max_items: int,
) -> list[_Item]:
    items: list[_Item] = []
    for raw_label, content in _scan_tags(text, tags, label_tags, max_items):
        label = _label(raw_label)
        if content is None:
            items.append(_bad("truncated or overlong item", label))
            continue
        for values, error in _groups(content, want) or [(None, "empty coordinates")]:
            if values is None:
                items.append(_bad(error or "invalid item", label))
            else:
                items.append(_Item(decode(values), math.nan, label, None))
            if len(items) > max_items:
                return items
    return items


def _per(divisor: float) -> Callable[[list[float]], list[float]]:
    return lambda values: [v / divisor for v in values]


def _strip_tags(segment: str) -> str:
    """``segment`` without its ``<…>`` tags (``</s>``, ``<s>``, ``<pad>``, ``<seg012>``)."""
    out: list[str] = []
    pos = 0
    while True:
        lt = segment.find("<", pos)
        if lt < 0:
            out.append(segment[pos:])
            return "".join(out)
        out.append(segment[pos:lt])
        gt = segment.find(">", lt)
        if gt < 0:
            return "".join(out)
        pos = gt + 1


def _token_runs(text: str, prefix: str, max_digits: int) -> list[tuple[int, int, list[int]]]:
    """``(start, end, values)`` of every run of consecutive ``<{prefix}N>`` tokens."""
    runs: list[tuple[int, int, list[int]]] = []
    start = text.find(prefix)
    while start >= 0:
        end, values = start, []
        while text.startswith(prefix, end):
            body = end + len(prefix)
            gt = text.find(">", body, body + max_digits + 1)
            digits = text[body:gt] if gt > body else ""
            if not (digits.isascii() and digits.isdigit()):
                break
            values.append(int(digits))
            end = gt + 1
        if values:
            runs.append((start, end, values))
        start = text.find(prefix, max(end, start + len(prefix)))
    return runs


def _paligemma_items(text: str, kind: str, max_items: int) -> list[_Item]:
    """``<locY1><locX1><locY2><locX2> label ; …``: big_vision decodes ``tokens / 1023``
    (big_vision/evaluators/proj/paligemma/transfers/segmentation.py, "Back to [0.0 ... 1.0]")
    after encoding ``round(box * 1023)`` (big_vision/pp/proj/paligemma/segmentation.py)."""
    items: list[_Item] = []
    semicolon = _Cursor(text, ";")
    runs = _token_runs(text, "<loc", 4)
    for k, (_, end, values) in enumerate(runs):
        stop = runs[k + 1][0] if k + 1 < len(runs) else len(text)
        semi = semicolon.after(end)
        if 0 <= semi < stop:
            stop = semi
        label = _label(_strip_tags(text[end : min(stop, end + _MAX_ITEM_CHARS)]))
        if len(values) != 4 or max(values) > 1023:
            items.append(_bad("expected 4 location tokens <loc0000>-<loc1023>", label))
        else:
            y1, x1, y2, x2 = (v / 1023 for v in values)
            items.append(_Item([x1, y1, x2, y2], math.nan, label, None))
        if len(items) > max_items:
            break
    return items


def _florence2_items(text: str, kind: str, max_items: int) -> list[_Item]:
    """``label<loc_x1><loc_y1><loc_x2><loc_y2>``, several boxes per label allowed: transformers'
    ``Florence2PostProcessor.dequantize`` maps bin ``b`` to ``(b + 0.5) / 1000`` of the side
    (models/florence2/processing_florence2.py)."""
    items: list[_Item] = []
    previous = 0
    for start, end, values in _token_runs(text, "<loc_", 4):
        label = _label(_strip_tags(text[max(previous, start - _MAX_ITEM_CHARS) : start]))
        previous = end
        for k in range(0, len(values) - 3, 4):
            box = values[k : k + 4]
            if max(box) > 999:
                items.append(_bad("location token outside <loc_0>-<loc_999>", label))
            else:
                items.append(_Item([(v + 0.5) / 1000 for v in box], math.nan, label, None))
        if len(values) % 4:
            items.append(_bad(f"{len(values) % 4} location tokens left over", label))
        if len(items) > max_items:
            break
    return items


def _kosmos2_box(ul: int, lr: int, grid: int = KOSMOS2_GRID) -> list[float]:
    """transformers ``patch_index_to_coordinate`` (models/kosmos2/processing_kosmos2.py):
    cell centres, or the outer cell edges when both corners share a row or a column."""
    cell = 1.0 / grid
    ul_x, ul_y, lr_x, lr_y = ul % grid, ul // grid, lr % grid, lr // grid
    if ul == lr or ul_x == lr_x or ul_y == lr_y:
        return [ul_x * cell, ul_y * cell, lr_x * cell + cell, lr_y * cell + cell]
    half = cell / 2
    return [ul_x * cell + half, ul_y * cell + half, lr_x * cell + half, lr_y * cell + half]


def _kosmos2_items(text: str, kind: str, max_items: int) -> list[_Item]:
    """``<phrase>label</phrase><object><patch_index_A><patch_index_B>…</object>``, boxes of one
    object separated by ``</delimiter_of_multi_objects/>``."""
    items: list[_Item] = []
    tags = ("<object>", "</object>")
    for raw_label, content in _scan_tags(text, tags, ("<phrase>", "</phrase>"), max_items):
        label = _label(raw_label)
        if content is None:
            items.append(_bad("truncated or overlong item", label))
            continue
        for pair in content.split("</delimiter_of_multi_objects/>"):
            runs = _token_runs(pair, "<patch_index_", 4)
            values = runs[0][2] if len(runs) == 1 else []
            if len(values) != 2 or _strip_tags(pair).strip():
                items.append(_bad("expected two <patch_index_NNNN> tokens", label))
            elif max(values) >= KOSMOS2_GRID * KOSMOS2_GRID:
                items.append(_bad("patch index outside the 32x32 grid", label))
            else:
                items.append(_Item(_kosmos2_box(values[0], values[1]), math.nan, label, None))
            if len(items) > max_items:
                return items
    return items


def _attributes(tag: str) -> dict[str, str]:
    """``key="value"`` pairs of one tag (quotes ``"`` or ``'``, or a bare value)."""
    out: dict[str, str] = {}
    pos = 0
    while True:
        eq = tag.find("=", pos)
        if eq < 0:
            return out
        words = tag[pos:eq].split()
        at = eq + 1
        while at < len(tag) and tag[at] == " ":
            at += 1
        quote = tag[at : at + 1]
        if quote in ('"', "'"):
            end = tag.find(quote, at + 1)
            end = len(tag) if end < 0 else end
            value, pos = tag[at + 1 : end], end + 1
        else:
            end = tag.find(" ", at)
            end = len(tag) if end < 0 else end
            value, pos = tag[at:end], end
        if words:
            out[words[-1].lower()] = value


def _molmo_points(text: str, max_items: int) -> list[_Item]:
    """Every point of ``<point x=".." y=".." alt="..">label</point>`` and ``<points x1=..
    y1=.. x2=.. …>``, in percent of the side (allenai/molmo olmo/util.py extract_points)."""
    items: list[_Item] = []
    gt, closer = _Cursor(text, ">"), _Cursor(text, "</point")
    start = text.find("<point")
    while start >= 0 and len(items) <= max_items:
        end = gt.after(start)
        if end < 0 or end - start > _MAX_ITEM_CHARS:
            items.append(_bad("truncated or overlong item"))
            break
        attrs = _attributes(text[start + len("<point") : end].lstrip("s"))
        close = closer.after(end)
        inner = text[end + 1 : close] if 0 <= close - end <= _MAX_ITEM_CHARS else None
        label = _label(inner) or _label(attrs.get("alt"))
        keys = (
            [("x", "y")] if "x" in attrs else [(f"x{i}", f"y{i}") for i in range(1, 1 + len(attrs))]
        )
        found = False
        for kx, ky in keys:
            if kx not in attrs:
                break
            found = True
            values, error = _numbers(f"{attrs[kx]} {attrs.get(ky, '')}", 2)
            items.append(
                _bad(error or "", label)
                if values is None
                else _Item([v / 100 for v in values], math.nan, label, None)
            )
        if not found:
            items.append(_bad("point without coordinates", label))
        start = text.find("<point", end)
    return items


def _molmo_items(text: str, kind: str, max_items: int) -> list[_Item]:
    """Points as they are; boxes as consecutive point pairs, top-left then bottom-right
    (allenai/molmo olmo/util.py extract_bboxes)."""
    points = _molmo_points(text, 2 * max_items + 1 if kind == "box" else max_items)
    if kind == "point":
        return points
    items: list[_Item] = []
    for k in range(0, len(points), 2):
        first, second = points[k], points[k + 1] if k + 1 < len(points) else None
        if second is None:
            items.append(_bad("a corner without its pair", first.label))
        elif first.values is None or second.values is None:
            items.append(_bad(first.error or second.error or "invalid corner", first.label))
        else:
            items.append(_Item(first.values + second.values, math.nan, first.label, None))
    return items


def _yx_to_xy(items: list[_Item]) -> list[_Item]:
    out = []
    for it in items:
        v = it.values
        if v is not None:
            v = [v[1], v[0], v[3], v[2]] if len(v) == 4 else [v[1], v[0]]
        out.append(_Item(v, it.score, it.label, it.error))
    return out


_Reader = Callable[[str, str, int], list[_Item]]


def _tagged_reader(
    tags: tuple[str, str], label_tags: tuple[str, str] | None, divisor: float
) -> _Reader:
    def read(text: str, kind: str, max_items: int) -> list[_Item]:
        want = 4 if kind == "box" else 2
        return _tagged_items(text, tags, label_tags, want, _per(divisor), max_items)

    return read


_READERS: dict[str, _Reader] = {
    # InternVL: internvl_chat/eval/refcoco/evaluate_grounding.py divides by 1000.
    "internvl": _tagged_reader(("<box>", "</box>"), ("<ref>", "</ref>"), 1000.0),
    # MiniCPM-V: the same tags, numbers separated by spaces, normalised to 1000.
    "minicpmv": _tagged_reader(("<box>", "</box>"), ("<ref>", "</ref>"), 1000.0),
    # DeepSeek-VL2: deepseek_vl2/serve/app_modules/utils.py parse_ref_bbox divides by 999.
    "deepseek_vl2": _tagged_reader(("<|det|>", "<|/det|>"), ("<|ref|>", "<|/ref|>"), 999.0),
    # GLM-4.xV: README "normalized ... and scaled by 1000" (values 0-999, a per-mille ratio).
    "glm4v": _tagged_reader(("<|begin_of_box|>", "<|end_of_box|>"), None, 1000.0),
    "paligemma": _paligemma_items,
    "florence2": _florence2_items,
    "kosmos2": _kosmos2_items,
    "molmo": _molmo_items,
}


def dialect_space(dialect: Dialect) -> CoordSpace:
    """The coordinate space of the items :func:`read_dialect_items` gives for ``dialect``."""
    return dialect.coords if dialect.coords is not None else "normalized"


def read_dialect_items(
    text: str, dialect: Dialect, kind: str, max_items: int
) -> tuple[list[_Item], bool, bool]:
    """``(items, overflow, recognised)`` of an answer in ``dialect``; ``kind`` is ``"box"`` or
    ``"point"``. Item values are ``x``-first, in :func:`dialect_space` of the dialect.

    Raises:
        ValueError: the dialect writes no items of this kind (a caller error).
    """
    if (kind == "box" and not dialect.reads_boxes) or (
        kind == "point" and not dialect.reads_points
    ):
        raise ValueError(
            f"dialect {dialect.name!r} writes no {kind}es"
            if kind == "box"
            else f"dialect {dialect.name!r} writes no points"
        )
    reader = _READERS.get(dialect.name)
    if reader is None:  # a dialect of the general reader
        items, overflow, recognised = _read_items(text, kind, max_items)
        if dialect.axis_order == "yx":
            items = _yx_to_xy(items)
        return items, overflow, recognised
    items = reader(text, kind, max_items)
    overflow = len(items) > max_items
    return items, overflow, bool(items)
