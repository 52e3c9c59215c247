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
  model's own post-processor (cited at each reader), so their space is
  ``"normalized"`` (:func:`dialect_space`).

Every scan is linear in the answer: tags are found with ``str.split``/``str.partition`` and
``str.find`` (through cursors that never move backwards, :class:`_Cursor`), numbers are read by
:func:`~visual_rewards.parsing.numbers.parse_number`, and no regular expression is used.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from visual_rewards.geometry.coords import CoordConfig, CoordSpace
from visual_rewards.parsing.answers import (
    Detections,
    Points,
    _empty_detections,
    _Item,
    _read_items,
    _valid_boxes,
    _valid_points,
    fast_values,
    prepare_answer,
)
from visual_rewards.parsing.dialects import AUTO, Dialect, detect_dialect, get_dialect
from visual_rewards.parsing.numbers import parse_number

__all__ = [
    "detections_in_dialect",
    "dialect_config",
    "dialect_space",
    "points_in_dialect",
    "read_dialect_items",
]

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


#: ``float(token)`` of the numbers the dialects write most (integers 0-1023, one-decimal
#: percentages): a dict lookup is several times cheaper than :func:`parse_number`, and gives
#: the same value for these tokens.
_SMALL_INTS: dict[str, float] = {str(k): float(k) for k in range(1024)} | {
    f"{k / 10:.1f}": k / 10
    for k in range(1001)  # Molmo's percentages, one decimal
}


def _number(token: str) -> float | None:
    value = _SMALL_INTS.get(token)
    return value if value is not None else parse_number(token.strip("'\""))


def _numbers(group: str, want: int) -> tuple[list[float] | None, str | None]:
    """``want`` finite numbers separated by commas and/or spaces, or a reason."""
    tokens = group.replace(",", " ").split()
    if len(tokens) != want:
        return None, f"expected {want} numbers, got {len(tokens)}"
    values = list(map(_SMALL_INTS.get, tokens))
    if None in values:
        values = [_number(t) for t in tokens]
        if None in values:
            return None, "not a finite number"
    return values, None  # type: ignore[return-value]


def _groups(content: str, want: int) -> list[tuple[list[float] | None, str | None]]:
    """The innermost bracketed lists of ``content`` (any of ``[]``, ``()``, ``{}``, ``<>``),
    or the whole content when it has no brackets; each read as ``want`` numbers."""
    pieces = [p for p in content.translate(_BRACKETS).split("|") if p.strip(" ,;\t\r\n")]
    return [_numbers(p, want) for p in pieces]


def _last_label(between: str, label_tags: tuple[str, str]) -> str | None:
    """The last complete ``open…close`` phrase of ``between`` (reading stops at an unclosed
    one, whose earlier phrase then counts)."""
    opening, closing = label_tags
    label = None
    for part in between.split(opening)[1:]:
        phrase, sep, _ = part.partition(closing)
        if not sep:
            break
        label = phrase
    return label


def _scan_tags(
    text: str, tags: tuple[str, str], label_tags: tuple[str, str] | None, max_items: int
) -> list[tuple[str | None, str, bool]]:
    """``(label, content, closed)`` of every ``open…close`` of ``tags``.

    An item whose closing tag never comes -- the answer ends, or the opening tag comes again
    first (the model restarted) -- has ``closed=False`` and the content up to there (at most
    ``_MAX_ITEM_CHARS``, and not past the next label phrase). The label is the last complete
    ``label_tags`` phrase between the previous item and this one, if any. ``str.split`` and
    ``str.partition`` only: linear in the text.
    """
    opening, closing = tags
    segments = text.split(opening)
    out: list[tuple[str | None, str, bool]] = []
    between = segments[0]
    for segment in segments[1:]:
        if len(out) > max_items:
            break
        label = _last_label(between, label_tags) if label_tags else None
        content, sep, after = segment.partition(closing)
        if sep:
            closed = len(content) <= _MAX_ITEM_CHARS
            out.append((label, content[:_MAX_ITEM_CHARS], closed))
            between = after
            continue
        cut = segment.find(label_tags[0]) if label_tags else -1
        content, between = (segment[:cut], segment[cut:]) if cut >= 0 else (segment, "")
        out.append((label, content[:_MAX_ITEM_CHARS], False))
    return out


def _tagged_items(
    text: str,
    tags: tuple[str, str],
    label_tags: tuple[str, str] | None,
    want: int,
    divisor: float,
    max_items: int,
) -> list[_Item]:
    """Items of every tag, their numbers divided by ``divisor``; in a tag that is never closed, the groups before its last one are
    still read (the last one is cut) -- as the general reader keeps a truncated answer's
    complete items."""
    items: list[_Item] = []
    for raw_label, content, closed in _scan_tags(text, tags, label_tags, max_items):
        label = _label(raw_label)
        groups = _groups(content, want)
        if not closed:
            groups = [*groups[:-1], (None, "truncated item")]
        nan = math.nan
        for values, error in groups or [(None, "empty coordinates")]:
            if values is None:
                items.append(_Item(None, nan, label, error or "invalid item"))
            else:
                items.append(_Item([v / divisor for v in values], nan, label, None))
        if len(items) > max_items:
            return items[: max_items + 1]
    return items


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


_PATCH = "<patch_index_"


def _patch_pair(pair: str) -> list[int]:
    """The two indices of ``<patch_index_AAAA><patch_index_BBBB>`` (the common, exact form is
    sliced; anything else goes through the token scanner), or ``[]``."""
    if (
        len(pair) == 36
        and pair.startswith(_PATCH)
        and pair.startswith(_PATCH, 18)
        and pair[17] == ">"
        and pair[35] == ">"
    ):
        a, b = pair[13:17], pair[31:35]
        if a.isascii() and a.isdigit() and b.isascii() and b.isdigit():
            return [int(a), int(b)]
    runs = _token_runs(pair, _PATCH, 4)
    if len(runs) != 1 or _strip_tags(pair).strip():
        return []
    return runs[0][2]


def _kosmos2_items(text: str, kind: str, max_items: int) -> list[_Item]:
    """``<phrase>label</phrase><object><patch_index_A><patch_index_B>…</object>``, boxes of one
    object separated by ``</delimiter_of_multi_objects/>``."""
    items: list[_Item] = []
    tags = ("<object>", "</object>")
    for raw_label, content, closed in _scan_tags(text, tags, ("<phrase>", "</phrase>"), max_items):
        label = _label(raw_label)
        if not closed:
            items.append(_bad("truncated item", label))
            continue
        for pair in content.split("</delimiter_of_multi_objects/>"):
            values = _patch_pair(pair)
            if len(values) != 2:
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
    parts = tag.split('"')
    if len(parts) % 2:  # Molmo's own form: every value double-quoted after ` key=`
        keys = [_MOLMO_HEADS.get(head) for head in parts[0:-1:2]]
        if None not in keys:
            return dict(zip(keys, parts[1::2], strict=True))  # type: ignore[arg-type]
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


_Point = tuple[float, float] | str  # (x, y) normalised, or why the point is unusable


def _molmo_points(text: str, max_points: int) -> list[tuple[_Point, str | None]]:
    """``(point or reason, label)`` of every point of ``<point x=".." y=".." alt="..">label
    </point>`` and ``<points x1=.. y1=.. x2=.. …>``, in percent of the side (allenai/molmo
    olmo/util.py extract_points). The label is the tag's text when it is closed before the
    next ``<point``, else its ``alt``."""
    out: list[tuple[_Point, str | None]] = []
    for segment in text.split("<point")[1:]:
        if len(out) > max_points:
            break
        head, sep, rest = segment.partition(">")
        if not sep or len(head) > _MAX_ITEM_CHARS:
            out.append(("truncated or overlong item", None))
            continue
        attrs = _attributes(head[1:] if head.startswith("s") else head)
        inner, closed, _ = rest.partition("</point")
        label = (_label(inner) if closed and len(inner) <= _MAX_ITEM_CHARS else None) or _label(
            attrs.get("alt")
        )
        found = False
        for kx, ky in _MOLMO_KEYS:
            x = attrs.get(kx)
            if x is None:
                if found or kx != "x":
                    break
                continue  # no single "x": numbered points x1, y1, x2, ...
            found = True
            fx, fy = _SMALL_INTS.get(x), _SMALL_INTS.get(attrs.get(ky, ""))
            if fx is not None and fy is not None:
                out.append(((fx / 100, fy / 100), label))
                continue
            values, error = _numbers(f"{x} {attrs.get(ky, '')}", 2)
            point: _Point = (values[0] / 100, values[1] / 100) if values else (error or "")
            out.append((point, label))
            if kx == "x":
                break
        if not found:
            out.append(("point without coordinates", label))
    return out


#: Attribute names of Molmo's points: ``x``/``y`` for one point, else ``x1``/``y1``, ``x2``...
_MOLMO_KEYS = [("x", "y")] + [(f"x{k}", f"y{k}") for k in range(1, 1001)]
#: `` key=`` (the text before a quoted value, as Molmo writes it) -> the attribute name.
_MOLMO_HEADS: dict[str, str] = {
    f"{space}{key}=": key
    for key in ("alt", *(k for pair in _MOLMO_KEYS for k in pair))
    for space in ("", " ")
}


def _molmo_items(text: str, kind: str, max_items: int) -> list[_Item]:
    """Points as they are; boxes as consecutive point pairs, top-left then bottom-right
    (allenai/molmo olmo/util.py extract_bboxes)."""
    nan = math.nan
    points = _molmo_points(text, 2 * max_items + 1 if kind == "box" else max_items)
    if kind == "point":
        return [
            _Item(None, nan, label, p) if isinstance(p, str) else _Item(list(p), nan, label, None)
            for p, label in points
        ]
    items: list[_Item] = []
    for k in range(0, len(points), 2):
        (first, label), second = points[k], points[k + 1][0] if k + 1 < len(points) else None
        if second is None:
            items.append(_Item(None, nan, label, "a corner without its pair"))
        elif isinstance(first, str) or isinstance(second, str):
            reason = first if isinstance(first, str) else second
            items.append(_Item(None, nan, label, str(reason) or "invalid corner"))
        else:
            items.append(_Item([*first, *second], nan, label, None))
    return items


def _gemini_fast(text: str, max_items: int) -> list[_Item] | None:
    """Gemini's well-formed ``[{"box_2d": [...], "label": "..."}]`` through the general reader's
    fast path (:func:`~visual_rewards.parsing.answers.fast_values`), y first -> x first; None
    sends the answer to the general reader. The general reader reads ``box_2d`` and ``bbox_2d``
    alike, and the fast path takes an answer only when every ``{`` starts an item it matched
    whole (labels without quotes), so renaming the key changes nothing it reads."""
    if '"box_2d"' not in text or '"bbox_2d"' in text:
        return None
    fast = fast_values(text.replace('"box_2d"', '"bbox_2d"'), max_items)
    if fast is None:
        return None
    values, labels = fast
    return [
        _Item(
            [values[5 * k + 1], values[5 * k], values[5 * k + 3], values[5 * k + 2]],
            math.nan,
            label,
            None,
        )
        for k, label in enumerate(labels)
    ]


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
        return _tagged_items(text, tags, label_tags, want, divisor, max_items)

    return read


def _bare_list_items(text: str, want: int, divisor: float, max_items: int) -> list[_Item]:
    """Items of every ``label[[x1, y1, x2, y2], …]``: the box tags' text once they are decoded
    away. The label is the text before ``[[`` on its line (tags removed); a run whose ``]]``
    never comes is cut, its earlier groups still read. ``str.split``/``partition`` only."""
    items: list[_Item] = []
    segments = text.split("[[")
    before = segments[0]
    nan = math.nan
    for segment in segments[1:]:
        line = before[-_MAX_ITEM_CHARS:].rpartition("\n")[2]
        label = _label(_strip_tags(line))
        content, sep, after = segment.partition("]]")
        closed = bool(sep) and len(content) <= _MAX_ITEM_CHARS
        groups = _groups(content[:_MAX_ITEM_CHARS], want)
        if not closed:
            groups = [*groups[:-1], (None, "truncated item")]
        for values, error in groups or [(None, "empty coordinates")]:
            if values is None:
                items.append(_Item(None, nan, label, error or "invalid item"))
            else:
                items.append(_Item([v / divisor for v in values], nan, label, None))
        if len(items) > max_items:
            return items[: max_items + 1]
        before = after if sep else ""
    return items


def _internvl_items(text: str, kind: str, max_items: int) -> list[_Item]:
    """``<ref>label</ref><box>[[x1, y1, x2, y2], …]</box>``, values / 1000
    (internvl_chat/eval/refcoco/evaluate_grounding.py). ``<ref>``, ``</ref>``, ``<box>`` and
    ``</box>`` are special tokens of InternVL's tokenizer, and its ``chat()`` decodes with
    ``skip_special_tokens=True`` (as servers do by default), which leaves
    ``car[[75, 658, 250, 871], [286, 558, 444, 711]]``: an answer without ``<box>`` is read
    in that form (OpenGVLab/InternVL issue #953)."""
    want = 4 if kind == "box" else 2
    if "<box>" in text:
        return _tagged_items(
            text, ("<box>", "</box>"), ("<ref>", "</ref>"), want, 1000.0, max_items
        )
    return _bare_list_items(text, want, 1000.0, max_items)


_READERS: dict[str, _Reader] = {
    # InternVL: internvl_chat/eval/refcoco/evaluate_grounding.py divides by 1000.
    "internvl": _internvl_items,
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
    if not (dialect.reads_boxes if kind == "box" else dialect.reads_points):
        raise ValueError(
            f"dialect {dialect.name!r} writes no {'boxes' if kind == 'box' else 'points'}"
        )
    reader = _READERS.get(dialect.name)
    if reader is None:  # a dialect of the general reader
        fast = _gemini_fast(text, max_items) if dialect.name == "gemini" and kind == "box" else None
        if fast is not None:
            return fast, False, True
        items, overflow, recognised = _read_items(text, kind, max_items)
        if dialect.axis_order == "yx":
            items = _yx_to_xy(items)
        return items, overflow, recognised
    items = reader(text, kind, max_items)
    overflow = len(items) > max_items
    return items, overflow, bool(items)


_R = TypeVar("_R", Detections, Points)


def _named(result: _R, name: str) -> _R:
    """``result`` with its ``dialect`` set: the object was just built here and is not shared
    yet, so the field is set in place (``dataclasses.replace`` would cost as much as the read)."""
    object.__setattr__(result, "dialect", name)
    return result


@functools.lru_cache(maxsize=1024)
def dialect_config(
    dialect: Dialect,
    coords: CoordSpace | CoordConfig,
    image_size: tuple[int, int] | None,
    bounds: tuple[int | None, int | None] = (None, None),
) -> CoordConfig:
    """The coordinate config that normalises ``dialect``'s items (:func:`dialect_space`).

    ``coords`` must be the default ``"norm1000"`` or the dialect's own space (a
    :class:`CoordConfig` in that space is used as it is, image size and bounds included).

    Raises:
        ValueError: ``coords`` names another space, or the dialect needs a missing image size.
    """
    own = dialect_space(dialect)
    given = coords.coords if isinstance(coords, CoordConfig) else coords
    if given not in ("norm1000", own):
        raise ValueError(
            f"coords={given!r} conflicts with dialect={dialect.name!r}, which writes in "
            f"{dialect.scale!r}: the dialect fixes the coordinate space, pass one of them"
        )
    if isinstance(coords, CoordConfig) and coords.coords == own:
        return coords
    return CoordConfig.from_options(own, image_size, *bounds)


#: The plural of each kind of item, for messages.
_PLURAL = {"box": "boxes", "point": "points"}


def _writes(found: Dialect, kind: str) -> bool:
    """Whether ``found`` writes items of ``kind`` (``"box"`` or ``"point"``)."""
    return found.reads_boxes if kind == "box" else found.reads_points


def _checked(dialect: str, kind: str) -> Dialect:
    """The named ``dialect``; ``ValueError`` (a caller error) when it writes no ``kind``."""
    found = get_dialect(dialect)
    if not _writes(found, kind):
        raise ValueError(f"dialect {dialect!r} writes no {_PLURAL[kind]}")
    return found


def _resolve(text: str, dialect: str, kind: str) -> tuple[Dialect | None, str | None]:
    """The dialect to read ``text`` in, or a failure reason (``auto`` found no family, or the
    family it found writes no items of this kind)."""
    if dialect != AUTO:
        return _checked(dialect, kind), None
    name = detect_dialect(text)
    if name is None:
        return None, (
            "dialect not identified: no special token of exactly one family; name the dialect"
        )
    found = get_dialect(name)
    if not _writes(found, kind):
        return None, f"dialect {name!r} identified, but it writes no {_PLURAL[kind]}"
    return found, None


def _empty_points(
    errors: list[str] | None = None, *, empty: bool = False, failed: bool = False
) -> Points:
    return Points(np.zeros((0, 2)), [], errors=errors or [], empty=empty, failed=failed)


def _in_dialect(
    kind: str,
    empty_result: Callable[..., _R],
    valid: Callable[[list[_Item], CoordConfig, bool, int], _R],
    answer: str | None,
    dialect: str,
    coords: CoordSpace | CoordConfig,
    image_size: tuple[int, int] | None,
    bounds: tuple[int | None, int | None],
    max_chars: int,
    max_items: int,
) -> _R:
    """Read the ``kind`` items (``"box"`` or ``"point"``) of ``answer`` in ``dialect``.

    ``empty_result(errors=…, empty=…, failed=…)`` builds a result without items, ``valid``
    checks and normalises the items read. A named dialect's coordinate config is built (and
    checked) before the answer is looked at, so a caller error raises whatever the answer."""
    image_size = None if image_size is None else (int(image_size[0]), int(image_size[1]))
    cfg = None  # auto: the family found decides the space
    if dialect != AUTO:
        cfg = dialect_config(_checked(dialect, kind), coords, image_size, bounds)
    text, reason, empty = prepare_answer(answer, max_chars)
    if text is None:
        return empty_result(errors=[reason or "no answer"], failed=True)
    if empty:
        return empty_result(empty=True)
    found, failure = _resolve(text, dialect, kind)
    if found is None:
        return empty_result(errors=[failure or "no dialect"], failed=True)
    items, overflow, recognised = read_dialect_items(text, found, kind, max_items)
    if not recognised:
        return _named(empty_result(errors=[f"no {_PLURAL[kind]} found"], failed=True), found.name)
    if cfg is None:
        cfg = dialect_config(found, coords, image_size, bounds)
    out = valid(items[:max_items], cfg, overflow or len(items) > max_items, max_items)
    return _named(out, found.name)


def detections_in_dialect(
    answer: str | None,
    dialect: str,
    coords: CoordSpace | CoordConfig,
    image_size: tuple[int, int] | None,
    bounds: tuple[int | None, int | None],
    max_chars: int,
    max_items: int,
) -> Detections:
    """:func:`~visual_rewards.parsing.answers.parse_detections` with ``dialect=`` (see there)."""
    return _in_dialect(
        "box", _empty_detections, _valid_boxes,
        answer, dialect, coords, image_size, bounds, max_chars, max_items,
    )  # fmt: skip


def points_in_dialect(
    answer: str | None,
    dialect: str,
    coords: CoordSpace | CoordConfig,
    image_size: tuple[int, int] | None,
    bounds: tuple[int | None, int | None],
    max_chars: int,
    max_items: int,
) -> Points:
    """:func:`~visual_rewards.parsing.answers.parse_points` with ``dialect=`` (see there)."""
    return _in_dialect(
        "point", _empty_points, _valid_points,
        answer, dialect, coords, image_size, bounds, max_chars, max_items,
    )  # fmt: skip
