"""From what a model wrote to structured, validated predictions.

Two steps, each lenient on model text and strict on caller arguments:

1. :func:`parse_completion` splits a completion into its ``<think>`` and ``<answer>`` parts
   and decides whether the format is right (DESIGN §4.1).
2. :func:`parse_detections` / :func:`parse_points` turn an answer into boxes or points in
   normalised coordinates (DESIGN §4.2), keeping a short reason for every item it drops.

Nothing here evaluates model text, and nothing raises on it: every pattern is linear in the
input, the input length and the number of items are capped, and numbers must be finite reals
written in ASCII digits.
"""

from __future__ import annotations

import itertools
import math
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from visual_rewards.geometry.coords import CoordConfig, CoordSpace

__all__ = [
    "DEFAULT_MAX_ANSWER_CHARS",
    "DEFAULT_MAX_COMPLETION_CHARS",
    "DEFAULT_MAX_ITEMS",
    "Detections",
    "DetectionsBatch",
    "ParsedCompletion",
    "Points",
    "completion_text",
    "parse_completion",
    "parse_detections",
    "parse_detections_batch",
    "parse_number",
    "parse_points",
]

#: Completions longer than this are cut to this many characters before splitting.
DEFAULT_MAX_COMPLETION_CHARS = 1 << 20
#: Answers longer than this are not parsed (the result has ``failed=True``).
DEFAULT_MAX_ANSWER_CHARS = 1 << 16
#: At most this many items are read from one answer; more sets ``overflow=True``.
DEFAULT_MAX_ITEMS = 1000
_MAX_ITEM_CHARS = 4096
_MAX_NUMBER_CHARS = 32
_MAX_LABEL_CHARS = 256


# ---------------------------------------------------------------------------------------------
# Completions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParsedCompletion:
    """A completion split into its parts.

    Attributes:
        text: the completion as one string (after joining messages and capping its length).
        think: content of the first ``<think>…</think>`` block, or None.
        answer: content of the first ``<answer>…</answer>`` block; for an ``<answer>`` that is
            never closed, everything after it (``truncated`` is then True); None without one.
        format_ok: exactly one non-empty think block followed by exactly one non-empty answer
            block, with only whitespace outside them.
        truncated: the answer block was opened but never closed.
    """

    text: str
    think: str | None
    answer: str | None
    format_ok: bool
    truncated: bool


def _message_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # multimodal content parts: [{"type": "text", "text": ...}]
        content = "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type") == "text"
        )
    text = content if isinstance(content, str) else ""
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning and "<think>" not in text:
        text = f"<think>{reasoning}</think>{text}"
    return text


def completion_text(completion: Any) -> str:
    """Return the text of a completion in any of the shapes trainers pass.

    Accepts a string; TRL's conversational completion ``[{"role": "assistant", "content": …}]``
    (the assistant messages are joined); or one message dict. A ``reasoning_content`` field
    (transformers response schemas move the thinking there) is put back as a ``<think>``
    block in front of the content. Anything else gives ``""``.

    >>> completion_text([{"role": "assistant", "content": "<answer>cat</answer>",
    ...                   "reasoning_content": "fur"}])
    '<think>fur</think><answer>cat</answer>'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return _message_text(completion)
    if isinstance(completion, Sequence) and not isinstance(completion, (bytes, bytearray)):
        parts = [
            _message_text(m)
            for m in completion
            if isinstance(m, Mapping) and m.get("role", "assistant") == "assistant"
        ]
        return "".join(parts)
    return ""


def parse_completion(
    completion: Any, max_chars: int = DEFAULT_MAX_COMPLETION_CHARS
) -> ParsedCompletion:
    """Split a completion into think and answer and check its format (DESIGN §4.1).

    Args:
        completion: a string, a conversational completion, or a message (see :func:`completion_text`).
        max_chars: the text is cut to this many characters first.

    >>> c = parse_completion("<think>a dog</think> <answer>[1, 2, 3, 4]</answer>")
    >>> c.think, c.answer, c.format_ok, c.truncated
    ('a dog', '[1, 2, 3, 4]', True, False)
    >>> c = parse_completion("<think>x</think><answer>[{'Position': [1, 2")
    >>> c.answer, c.format_ok, c.truncated
    ("[{'Position': [1, 2", False, True)
    """
    text = completion_text(completion)[:max_chars]

    think: str | None = None
    t0 = text.find("<think>")
    if t0 >= 0:
        t1 = text.find("</think>", t0 + 7)
        if t1 >= 0:
            think = text[t0 + 7 : t1]

    answer: str | None = None
    truncated = False
    a0 = text.find("<answer>")
    if a0 >= 0:
        a1 = text.find("</answer>", a0 + 8)
        if a1 >= 0:
            answer = text[a0 + 8 : a1]
        else:
            answer = text[a0 + 8 :]
            truncated = True

    format_ok = False
    if think is not None and answer is not None and not truncated:
        t1 = t0 + 7 + len(think)
        a1 = a0 + 8 + len(answer)
        # each tag exactly once (str.count is linear and builds no list of tags), in order
        if (
            t1 < a0
            and text.count("<think>") == 1
            and text.count("</think>") == 1
            and text.count("<answer>") == 1
            and text.count("</answer>") == 1
        ):
            outside = text[:t0] + text[t1 + 8 : a0] + text[a1 + 9 :]
            format_ok = not outside.strip() and bool(think.strip()) and bool(answer.strip())
    return ParsedCompletion(
        text=text, think=think, answer=answer, format_ok=format_ok, truncated=truncated
    )


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?", re.ASCII)


def parse_number(token: str) -> float | None:
    """Return the finite float a token spells in ASCII, or None.

    Rejects NaN/Infinity, booleans, unicode digits and strings longer than 32 characters
    (so a 10^5-digit number costs nothing).

    >>> parse_number(" 12.5 "), parse_number("NaN"), parse_number("1e999"), parse_number("true")
    (12.5, None, None, None)
    """
    token = token.strip()
    if not token or len(token) > _MAX_NUMBER_CHARS or _NUMBER_RE.fullmatch(token) is None:
        return None
    value = float(token)
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Detections:
    """Boxes read from one answer.

    Attributes:
        boxes: ``(N, 4)`` float64, normalised xyxy (``x`` along width), each inside ``[0, 1]``
            with ``x2 > x1`` and ``y2 > y1``.
        raw_boxes: ``(N, 4)`` float64, the same boxes as written, before normalising/clipping.
        scores: ``(N,)`` float64 confidences as written, NaN where none was given.
        labels: ``N`` labels (``None`` where none was given).
        errors: one short reason per item that was dropped (invalid box, bad confidence, …)
            and per problem with the answer as a whole.
        n_invalid: how many items were dropped; they still count against the model.
        empty: the answer explicitly says there is nothing (``No Objects``, ``[]``).
        failed: nothing could be read (no answer, no recognisable payload, or too long).
        overflow: more than ``max_items`` items were present; reading stopped there.
    """

    boxes: npt.NDArray[np.float64]
    raw_boxes: npt.NDArray[np.float64]
    scores: npt.NDArray[np.float64]
    labels: list[str | None]
    errors: list[str] = field(default_factory=list)
    n_invalid: int = 0
    empty: bool = False
    failed: bool = False
    overflow: bool = False

    def __len__(self) -> int:
        return int(self.boxes.shape[0])


@dataclass(frozen=True, slots=True)
class Points:
    """Points read from one answer.

    Attributes:
        points: ``(N, 2)`` float64, normalised ``(x, y)``, inside ``[0, 1]``.
        labels: ``N`` labels (``None`` where none was given).
        errors, n_invalid, empty, failed, overflow: as in :class:`Detections`.
    """

    points: npt.NDArray[np.float64]
    labels: list[str | None]
    errors: list[str] = field(default_factory=list)
    n_invalid: int = 0
    empty: bool = False
    failed: bool = False
    overflow: bool = False

    def __len__(self) -> int:
        return int(self.points.shape[0])


_EMPTY_WORDS = frozenset({"", "no objects", "no object", "noobjects", "none", "no objects found"})
_EMPTY_STRIP = " \t\r\n[]'\"`."
_FENCE_RE = re.compile(r"```[a-zA-Z]*")
_DICT_ITEM_RE = re.compile(r"\{[^{}]*(?:\}|$)")
_BOX_KEYS = "position|bbox_2d|bbox|box|box_2d"
_POINT_KEYS = "point_2d|point|position_2d"
_LIST_RE = r"\[([^\[\]{}]*)(\]|$)"
_BOX_KEY_RE = re.compile(rf"""["']?\b({_BOX_KEYS})\b["']?\s*:\s*{_LIST_RE}""", re.IGNORECASE)
_POINT_KEY_RE = re.compile(rf"""["']?\b({_POINT_KEYS})\b["']?\s*:\s*{_LIST_RE}""", re.IGNORECASE)
_CONF_RE = re.compile(
    r"""["']?\b(?:confidence|score|conf)\b["']?\s*:\s*([^,}\]\s]*)""", re.IGNORECASE
)
_LABEL_RE = re.compile(
    r"""["']?\b(?:label|category|class|name)\b["']?\s*:\s*(?:"((?:[^"\\]|\\.)*)"|'(.*?)'(?=\s*[,}\]]|\s*$))""",
    re.IGNORECASE | re.DOTALL,
)
_NUM = r"\s*([-+0-9.eE]{1,40})\s*"
_QWEN2VL_RE = re.compile(
    r"(?:<\|object_ref_start\|>([^<]{0,256})<\|object_ref_end\|>\s*)?(?:<\|box_start\|>)?"
    rf"\({_NUM},{_NUM}\)\s*,?\s*\({_NUM},{_NUM}\)"
)
_QWEN2VL_POINT_RE = re.compile(rf"\({_NUM},{_NUM}\)")
_BARE_LIST_RE = re.compile(_LIST_RE)
_BARE_SEQ_RE = re.compile(r"\(?\s*([-+0-9.eE]+(?:\s*,\s*[-+0-9.eE]+)+)\s*\)?")


_QUOTES = "'\" \t\r\n"


def _values(inner: str, want: int) -> tuple[list[float] | None, str | None]:
    """Split ``"a, b, c"`` into exactly ``want`` finite floats, or give a reason.

    Numbers may be quoted (``"0.36, 0.2, …"`` or ``"0.36", "0.2"``).
    """
    parts = inner.split(",", want + 1)
    if parts and not parts[-1].strip():  # trailing comma
        parts = parts[:-1]
    if len(parts) != want:
        return None, f"expected {want} numbers, got {'more' if len(parts) > want else len(parts)}"
    values: list[float] = []
    for part in parts:
        value = parse_number(part.strip(_QUOTES))
        if value is None:
            return None, f"not a finite number: {part.strip()[:20]!r}"
        values.append(value)
    return values, None


def _values_and_label(inner: str, want: int) -> tuple[list[float] | None, str | None, str | None]:
    """Like :func:`_values`, also accepting one quoted label last: ``[x1, y1, x2, y2, 'cat']``."""
    values, error = _values(inner, want)
    if error is not None and inner.rstrip().endswith(("'", '"')):
        head, sep, tail = inner.rpartition(",")
        label = tail.strip(_QUOTES)
        if sep and label and not any(c.isdigit() for c in label):
            head_values, head_error = _values(head, want)
            if head_error is None:
                return head_values, _unescape_label(label), None
    return values, None, error


def _unescape_label(raw: str) -> str:
    return raw.replace('\\"', '"').replace("\\'", "'").strip()[:_MAX_LABEL_CHARS]


@dataclass
class _Item:
    values: list[float] | None
    score: float
    label: str | None
    error: str | None


def _dict_items(
    answer: str, key_re: re.Pattern[str], want: int, max_items: int
) -> tuple[list[_Item], bool]:
    items: list[_Item] = []
    for match in _DICT_ITEM_RE.finditer(answer):
        if len(items) > max_items:
            return items, True
        chunk = match.group(0)
        if len(chunk) > _MAX_ITEM_CHARS:
            items.append(_Item(None, math.nan, None, "item too long"))
            continue
        closed = chunk.endswith("}")
        kv = key_re.search(chunk)
        if kv is None:
            if closed:
                items.append(_Item(None, math.nan, None, "item without coordinates"))
            else:
                items.append(_Item(None, math.nan, None, "truncated item"))
            continue
        if not closed:
            items.append(_Item(None, math.nan, None, "truncated item"))
            continue
        if not kv.group(3):
            items.append(_Item(None, math.nan, None, "unclosed coordinate list"))
            continue
        values, error = _values(kv.group(2), want)
        score = math.nan
        conf = _CONF_RE.search(chunk)
        if error is None and conf is not None:
            parsed = parse_number(conf.group(1).strip("'\""))
            if parsed is None:
                error = f"confidence is not a finite number: {conf.group(1)[:20]!r}"
            else:
                score = parsed
        label_match = _LABEL_RE.search(chunk)
        label = None
        if label_match is not None:
            raw = label_match.group(1) if label_match.group(1) is not None else label_match.group(2)
            label = _unescape_label(raw or "")
        items.append(_Item(values, score, label, error))
    return items, False


def _qwen2vl_items(answer: str, max_items: int) -> tuple[list[_Item], bool]:
    items: list[_Item] = []
    for match in _QWEN2VL_RE.finditer(answer):
        if len(items) > max_items:
            return items, True
        nums = [parse_number(match.group(i)) for i in range(2, 6)]
        label = _unescape_label(match.group(1)) if match.group(1) is not None else None
        if any(n is None for n in nums):
            items.append(_Item(None, math.nan, label, "not a finite number"))
        else:
            items.append(_Item([n for n in nums if n is not None], math.nan, label, None))
    return items, False


def _bare_items(answer: str, want: int, max_items: int) -> tuple[list[_Item], bool]:
    items: list[_Item] = []
    for match in _BARE_LIST_RE.finditer(answer):
        if len(items) > max_items:
            return items, True
        inner = match.group(1)
        if not inner.strip():
            continue
        if not match.group(2):
            items.append(_Item(None, math.nan, None, "truncated item"))
            continue
        if len(inner) > _MAX_ITEM_CHARS:
            items.append(_Item(None, math.nan, None, "item too long"))
            continue
        if not any(c.isdigit() for c in inner) and "," not in inner:
            continue  # e.g. ['No Objects'] inside a larger text
        values, label, error = _values_and_label(inner, want)
        items.append(_Item(values, math.nan, label, error))
    if not items:
        seq = _BARE_SEQ_RE.fullmatch(answer) if len(answer) <= _MAX_ITEM_CHARS else None
        if seq is not None:
            values, error = _values(seq.group(1), want)
            items.append(_Item(values, math.nan, None, error))
    return items, False


# Fast paths for the two commonest well-formed payloads. Each number is at most 9+9 digits, so
# float() on it is always finite; an answer is taken by a fast path only when every "{" in it
# starts an item the fast pattern matched whole, otherwise the general reader runs.
_FAST_NUM = r"\s*(-?[0-9]{1,9}(?:\.[0-9]{1,9})?)\s*"
_FAST_VRFT_RE = re.compile(
    rf"""\{{\s*(['"])Position\1\s*:\s*\[{_FAST_NUM},{_FAST_NUM},{_FAST_NUM},{_FAST_NUM}\]\s*,"""
    rf"""\s*(['"])Confidence\6\s*:{_FAST_NUM}\}}"""
)
_FAST_BBOX_RE = re.compile(
    rf"""\{{\s*"bbox_2d"\s*:\s*\[{_FAST_NUM},{_FAST_NUM},{_FAST_NUM},{_FAST_NUM}\]\s*"""
    r"""(?:,\s*"label"\s*:\s*"([^"\\]{0,256})"\s*)?\}"""
)


def _fast_raw(
    answer: str, max_items: int
) -> tuple[list[float], list[float], list[str | None]] | None:
    """Fast path: ``(4 values per item, flat; scores; labels)`` or None to use the general reader."""
    n_open = answer.count("{")
    if n_open == 0 or n_open > max_items:
        return None
    if "Position" in answer:
        found = _FAST_VRFT_RE.findall(answer)
        if len(found) != n_open:
            return None
        values = [float(v) for g in found for v in g[1:5]]
        return values, [float(g[6]) for g in found], [None] * n_open
    if "bbox_2d" in answer:
        found = _FAST_BBOX_RE.findall(answer)
        if len(found) != n_open:
            return None
        values = [float(v) for g in found for v in g[0:4]]
        return values, [math.nan] * n_open, [g[4].strip() or None for g in found]
    return None


def _fast_items(answer: str, max_items: int) -> list[_Item] | None:
    fast = _fast_raw(answer, max_items)
    if fast is None:
        return None
    values, scores, labels = fast
    return [
        _Item(values[4 * k : 4 * k + 4], score, label, None)
        for k, (score, label) in enumerate(zip(scores, labels, strict=True))
    ]


def _read_items(answer: str, kind: str, max_items: int) -> tuple[list[_Item], bool, bool]:
    """Return (items, overflow, recognised) for ``kind`` in {"box", "point"}."""
    want = 4 if kind == "box" else 2
    key_re = _BOX_KEY_RE if kind == "box" else _POINT_KEY_RE
    if kind == "box":
        fast = _fast_items(answer, max_items)
        if fast is not None:
            return fast, False, True
    if "{" in answer:
        items, overflow = _dict_items(answer, key_re, want, max_items)
        if any(it.values is not None for it in items) or overflow:
            return items, overflow, True
        if items and all(
            it.error == "truncated item" or it.error == "unclosed coordinate list" for it in items
        ):
            return items, overflow, True
    if "(" in answer:
        if kind == "box":
            items, overflow = _qwen2vl_items(answer, max_items)
        else:
            items = []
            overflow = False
            for match in _QWEN2VL_POINT_RE.finditer(answer):
                if len(items) > max_items:
                    overflow = True
                    break
                nums = [parse_number(match.group(1)), parse_number(match.group(2))]
                if any(n is None for n in nums):
                    items.append(_Item(None, math.nan, None, "not a finite number"))
                else:
                    items.append(_Item([n for n in nums if n is not None], math.nan, None, None))
        if items:
            return items, overflow, True
    items, overflow = _bare_items(answer, want, max_items)
    return items, overflow, bool(items)


def _prepare_answer(answer: str | None, max_chars: int) -> tuple[str | None, str | None, bool]:
    """Return (text, failure reason, explicit empty)."""
    if answer is None:
        return None, "no answer", False
    if len(answer) > max_chars:
        return None, f"answer longer than {max_chars} characters", False
    text = _FENCE_RE.sub(" ", answer).strip()
    if not text:
        return None, "empty answer", False
    if len(text) <= 64 and " ".join(text.strip(_EMPTY_STRIP).lower().split()) in _EMPTY_WORDS:
        bare = text.strip(_EMPTY_STRIP)
        if bare or "[" in text:  # "No Objects", "['No Objects']", "[]" -- but not a lone quote
            return text, None, True
    return text, None, False


def _coord_config(
    coords: CoordSpace | CoordConfig,
    image_size: tuple[int, int] | None,
    min_pixels: int | None,
    max_pixels: int | None,
) -> CoordConfig:
    if isinstance(coords, CoordConfig):
        return coords
    kwargs: dict[str, Any] = {}
    if min_pixels is not None:
        kwargs["min_pixels"] = min_pixels
    if max_pixels is not None:
        kwargs["max_pixels"] = max_pixels
    return CoordConfig(coords, image_size, **kwargs)


def parse_detections(
    answer: str | None,
    coords: CoordSpace | CoordConfig = "norm1000",
    image_size: tuple[int, int] | None = None,
    *,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    max_chars: int = DEFAULT_MAX_ANSWER_CHARS,
    max_items: int = DEFAULT_MAX_ITEMS,
) -> Detections:
    """Read boxes from an answer (DESIGN §4.2).

    Recognised payloads, tried in this order: a list of dicts with a ``Position`` /
    ``bbox_2d`` / ``bbox`` key (optional ``Confidence``/``score`` and ``label``; any quoting,
    apostrophes in labels, newlines, trailing commas, a truncated last item, an optional
    ```` ```json ```` fence); Qwen2-VL's ``(x1,y1),(x2,y2)`` with or without its special tokens;
    bare lists ``[x1, y1, x2, y2]`` / ``[[…], […]]`` / ``x1,y1,x2,y2``. ``No Objects``,
    ``['No Objects']`` and ``[]`` mean an explicit empty answer.

    A box must have four finite numbers with ``x2 > x1`` and ``y2 > y1`` in the space it was
    written in; it is then normalised with ``coords``/``image_size`` and clipped to the image.
    A box that is flipped, zero-area, or entirely outside the image is dropped and counted
    in ``n_invalid`` with its reason in ``errors``.

    Args:
        answer: the answer text (usually :attr:`ParsedCompletion.answer`); None gives a failed result.
        coords: the coordinate space the model wrote in (see :mod:`visual_rewards.geometry.coords`).
        image_size: ``(width, height)`` of the original image, for ``"pixel"`` and ``"qwen25vl"``.
        min_pixels, max_pixels: the Qwen2.5-VL processor's bounds for ``"qwen25vl"``.
        max_chars: longer answers are not parsed (``failed=True``).
        max_items: at most this many items are read; more sets ``overflow=True``.

    Raises:
        ValueError: for a bad ``coords``/``image_size`` (caller error), never for model text.

    >>> d = parse_detections("[{'Position': [100, 200, 300, 400], 'Confidence': 0.9}]")
    >>> d.boxes, d.scores
    (array([[0.1, 0.2, 0.3, 0.4]]), array([0.9]))
    >>> parse_detections('```json\\n[{"bbox_2d": [10, 20, 40, 60], "label": "cat"}]\\n```',
    ...                  coords="pixel", image_size=(100, 100)).labels
    ['cat']
    >>> parse_detections("No Objects").empty
    True
    """
    cfg = _coord_config(coords, image_size, min_pixels, max_pixels)
    text, reason, empty = _prepare_answer(answer, max_chars)
    if text is None:
        return _empty_detections(errors=[reason or "no answer"], failed=True)
    if empty:
        return _empty_detections(empty=True)
    items, overflow, recognised = _read_items(text, "box", max_items)
    if not recognised:
        return _empty_detections(errors=["no boxes found"], failed=True)
    overflow = overflow or len(items) > max_items  # exactly max_items + 1 items read

    errors: list[str] = [f"more than {max_items} items" for _ in range(int(overflow))]
    raw: list[list[float]] = []
    norm: list[tuple[float, float, float, float]] = []
    scores: list[float] = []
    labels: list[str | None] = []
    n_invalid = 0
    sx, sy = cfg.scale()
    for item in items[:max_items]:
        values = item.values
        if item.error is not None or values is None:
            n_invalid += 1
            errors.append(item.error or "invalid item")
            continue
        x1, y1, x2, y2 = values
        if not (x2 > x1 and y2 > y1):
            n_invalid += 1
            errors.append("flipped or zero-area box")
            continue
        # normalise and clip to the image, in plain floats (same IEEE results as numpy)
        nx1, nx2 = min(max(x1 / sx, 0.0), 1.0), min(max(x2 / sx, 0.0), 1.0)
        ny1, ny2 = min(max(y1 / sy, 0.0), 1.0), min(max(y2 / sy, 0.0), 1.0)
        if not (nx2 > nx1 and ny2 > ny1):
            n_invalid += 1
            errors.append("box outside the image")
            continue
        raw.append(values)
        norm.append((nx1, ny1, nx2, ny2))
        scores.append(item.score)
        labels.append(item.label)
    return Detections(
        boxes=np.array(norm, dtype=np.float64).reshape(-1, 4),
        raw_boxes=np.array(raw, dtype=np.float64).reshape(-1, 4),
        scores=np.array(scores, dtype=np.float64),
        labels=labels,
        errors=errors,
        n_invalid=n_invalid,
        overflow=overflow,
    )


def _empty_detections(
    errors: list[str] | None = None, *, empty: bool = False, failed: bool = False
) -> Detections:
    return Detections(
        boxes=np.zeros((0, 4)),
        raw_boxes=np.zeros((0, 4)),
        scores=np.zeros(0),
        labels=[],
        errors=errors or [],
        empty=empty,
        failed=failed,
    )


def parse_points(
    answer: str | None,
    coords: CoordSpace | CoordConfig = "norm1000",
    image_size: tuple[int, int] | None = None,
    *,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    max_chars: int = DEFAULT_MAX_ANSWER_CHARS,
    max_items: int = DEFAULT_MAX_ITEMS,
) -> Points:
    """Read points from an answer: ``{"point_2d": [x, y]}`` JSON, ``(x, y)`` or ``[x, y]``.

    Points are normalised with ``coords``/``image_size``; a point outside the image is dropped
    and counted in ``n_invalid``. Arguments as in :func:`parse_detections`.

    >>> parse_points('[{"point_2d": [250, 500], "label": "cup"}]').points
    array([[0.25, 0.5 ]])
    >>> parse_points("(10, 20)", coords="pixel", image_size=(100, 40)).points
    array([[0.1, 0.5]])
    """
    cfg = _coord_config(coords, image_size, min_pixels, max_pixels)
    text, reason, empty = _prepare_answer(answer, max_chars)
    if text is None:
        return Points(np.zeros((0, 2)), [], [reason or "no answer"], failed=True)
    if empty:
        return Points(np.zeros((0, 2)), [], empty=True)
    items, overflow, recognised = _read_items(text, "point", max_items)
    if not recognised:
        return Points(np.zeros((0, 2)), [], ["no points found"], failed=True)
    errors: list[str] = [f"more than {max_items} items" for _ in range(int(overflow))]
    raw: list[list[float]] = []
    labels: list[str | None] = []
    n_invalid = 0
    for item in items[:max_items]:
        if item.error is not None or item.values is None:
            n_invalid += 1
            errors.append(item.error or "invalid item")
            continue
        raw.append(item.values)
        labels.append(item.label)
    sx, sy = cfg.scale()
    pts = np.asarray(raw, dtype=np.float64).reshape(-1, 2) / np.array([sx, sy])
    inside = ((pts >= 0.0) & (pts <= 1.0)).all(axis=1)
    if not inside.all():
        n_out = int((~inside).sum())
        n_invalid += n_out
        errors.extend(["point outside the image"] * n_out)
        pts = pts[inside]
        labels = [lab for lab, keep in zip(labels, inside, strict=True) if keep]
    return Points(pts, labels, errors, n_invalid=n_invalid, overflow=overflow)


# ---------------------------------------------------------------------------------------------
# Many answers at once (the batch path of the box rewards)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DetectionsBatch:
    """Boxes read from ``B`` answers, flattened: row ``b`` owns items ``offsets[b]:offsets[b+1]``.

    Item for item equal to ``[parse_detections(a, cfg) for a in answers]`` (only ``errors``
    are not kept).

    Attributes:
        boxes: ``(N, 4)`` float64, normalised xyxy in ``[0, 1]`` (see :class:`Detections`).
        raw_boxes: ``(N, 4)`` float64, as written.
        scores: ``(N,)`` float64, NaN where no confidence was given.
        labels: ``N`` labels (None where none was given).
        counts: ``(B,)`` intp, valid boxes per answer.
        n_invalid, empty, failed, overflow: ``(B,)``, as in :class:`Detections`.
    """

    boxes: npt.NDArray[np.float64]
    raw_boxes: npt.NDArray[np.float64]
    scores: npt.NDArray[np.float64]
    labels: list[str | None]
    counts: npt.NDArray[np.intp]
    n_invalid: npt.NDArray[np.intp]
    empty: npt.NDArray[np.bool_]
    failed: npt.NDArray[np.bool_]
    overflow: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.counts.shape[0])

    @property
    def offsets(self) -> npt.NDArray[np.intp]:
        """``(B + 1,)`` start of each row's items, then ``N``."""
        out: npt.NDArray[np.intp] = np.concatenate(([0], np.cumsum(self.counts))).astype(np.intp)
        return out


_NORM1000 = CoordConfig("norm1000")
_VRFT_FIELDS = operator.itemgetter(1, 2, 3, 4, 6)  # x1, y1, x2, y2, confidence of _FAST_VRFT_RE
_NUMERIC = b"0123456789.-"
_NUMERIC_ONLY = bytes(c if c in _NUMERIC else 32 for c in range(256))  # the rest -> space
_SKELETONS: dict[tuple[int, bytes], bytes] = {}
#: ``float(token)`` for the tokens Visual-RFT answers are made of: integers 0-1000 and
#: confidences with one or two decimals (a dict lookup is several times cheaper than float()).
_COMMON_NUMBERS: dict[bytes, float] = {
    t: float(t)
    for t in [str(k).encode() for k in range(1001)]
    + [f"{k / 100:.2f}".encode() for k in range(101)]
    + [f"{k / 10:.1f}".encode() for k in range(11)]
}


def _canonical_values(data: bytes, n_items: int) -> list[float] | None:
    """Values of an answer written exactly as Python prints a Visual-RFT list, or None.

    The answer must be ``[{'Position': [x1, y1, x2, y2], 'Confidence': c}, …]`` (one quote
    style, these spaces) once its digits, ``.`` and ``-`` are deleted, and every number must
    be one that :func:`parse_number` reads (so the general reader would give the same result).
    Two byte translations and a comparison replace the regex scan.
    """
    skeleton = data.translate(None, _NUMERIC)
    quote = skeleton[2:3]
    key = (n_items, quote)
    want = _SKELETONS.get(key)
    if want is None:
        if quote not in (b"'", b'"') or n_items > 64:
            return None
        q = quote.decode()
        item = f"{{{q}Position{q}: [, , , ], {q}Confidence{q}: }}"
        want = _SKELETONS[key] = ("[" + ", ".join([item] * n_items) + "]").encode()
    if skeleton != want:
        return None
    tokens = data.translate(_NUMERIC_ONLY).split()
    if len(tokens) != 5 * n_items:
        return None
    values = list(map(_COMMON_NUMBERS.get, tokens))  # float(t) of the usual tokens, precomputed
    if None not in values:
        return values  # type: ignore[return-value]
    if max(map(len, tokens)) > _MAX_NUMBER_CHARS:
        return None
    try:  # float() on [0-9.-]+ accepts exactly the numbers parse_number accepts
        return list(map(float, tokens))
    except ValueError:
        return None


def parse_detections_batch(
    answers: Sequence[str | None],
    coords: CoordConfig | Sequence[CoordConfig] | None = None,
    *,
    max_chars: int = DEFAULT_MAX_ANSWER_CHARS,
    max_items: int = DEFAULT_MAX_ITEMS,
) -> DetectionsBatch:
    """:func:`parse_detections` for many answers, with the normalising done once for all.

    Well-formed Visual-RFT / ``bbox_2d`` answers take the same fast path as
    :func:`parse_detections` (one regex scan, no per-item objects); every other answer is read
    by :func:`parse_detections` itself. Normalising, clipping and the flipped/outside checks
    then run as array operations over all items of the batch.

    Args:
        answers: ``B`` answer texts (None = no answer).
        coords: one :class:`~visual_rewards.geometry.coords.CoordConfig` for all, or one per answer
            (default ``norm1000``).
        max_chars, max_items: as in :func:`parse_detections`.

    >>> b = parse_detections_batch(["[{'Position': [100, 200, 300, 400], 'Confidence': 0.9}]",
    ...                             "No Objects", "[5, 5, 1, 1]"])
    >>> b.boxes, b.counts.tolist(), b.empty.tolist(), b.n_invalid.tolist()
    (array([[0.1, 0.2, 0.3, 0.4]]), [1, 0, 0], [False, True, False], [0, 0, 1])
    """
    n = len(answers)
    if coords is None:
        coords = _NORM1000
    cfgs: Sequence[CoordConfig] = [coords] * n if isinstance(coords, CoordConfig) else coords
    if len(cfgs) != n:
        raise ValueError(f"expected {n} coordinate configs (one per answer), got {len(cfgs)}")
    values: list[float] = []  # x1, y1, x2, y2, score of every item, flat
    labels: list[str | None] = []
    counts = [0] * n
    n_invalid = np.zeros(n, dtype=np.intp)
    empty = np.zeros(n, dtype=bool)
    failed = np.zeros(n, dtype=bool)
    overflow = np.zeros(n, dtype=bool)
    nan = math.nan
    vrft_findall = _FAST_VRFT_RE.findall
    bbox_findall = _FAST_BBOX_RE.findall
    for i, answer in enumerate(answers):
        text, _, is_empty = _prepare_answer(answer, max_chars)
        if text is None:
            failed[i] = True
            continue
        if is_empty:
            empty[i] = True
            continue
        n_open = text.count("{")
        if 0 < n_open <= max_items:  # the fast paths of _fast_raw, without per-item objects
            if (
                text.startswith("[{")
                and text.isascii()
                and (fast := _canonical_values(text.encode(), n_open)) is not None
            ):
                values += fast
                labels += [None] * n_open
                counts[i] = n_open
                continue
            if "Position" in text:
                found = vrft_findall(text)
                if len(found) == n_open:
                    values += map(float, itertools.chain.from_iterable(map(_VRFT_FIELDS, found)))
                    labels += [None] * n_open
                    counts[i] = n_open
                    continue
            elif "bbox_2d" in text:
                found = bbox_findall(text)
                if len(found) == n_open:
                    for g in found:
                        values += (float(g[0]), float(g[1]), float(g[2]), float(g[3]), nan)
                    labels += [g[4].strip() or None for g in found]
                    counts[i] = n_open
                    continue
        det = parse_detections(answer, cfgs[i], max_chars=max_chars, max_items=max_items)
        for box, score in zip(det.raw_boxes.tolist(), det.scores.tolist(), strict=True):
            values += (*box, score)
        labels += det.labels
        counts[i] = len(det)
        n_invalid[i] = det.n_invalid
        failed[i] = det.failed
        empty[i] = det.empty
        overflow[i] = det.overflow
    count_arr = np.array(counts, dtype=np.intp)
    flat = np.array(values, dtype=np.float64).reshape(-1, 5)
    raw = flat[:, :4]
    scores = flat[:, 4]
    row = np.repeat(np.arange(n), count_arr)
    if n and all(cfg is cfgs[0] for cfg in cfgs):  # one coordinate space for the whole batch
        sx, sy = cfgs[0].scale()
        boxes = np.clip(raw / np.array([sx, sy, sx, sy]), 0.0, 1.0)
    else:
        scale_of: dict[CoordConfig, tuple[float, float]] = {}
        per_row = np.empty((n, 4))
        for i, cfg in enumerate(cfgs):
            sc = scale_of.get(cfg)
            if sc is None:
                sc = scale_of[cfg] = cfg.scale()
            per_row[i] = (sc[0], sc[1], sc[0], sc[1])
        boxes = np.clip(raw / per_row[row], 0.0, 1.0)
    keep = (
        (raw[:, 2] > raw[:, 0])
        & (raw[:, 3] > raw[:, 1])
        & (boxes[:, 2] > boxes[:, 0])
        & (boxes[:, 3] > boxes[:, 1])
    )
    score_arr = scores
    if not keep.all():
        dropped = np.bincount(row[~keep], minlength=n)
        n_invalid += dropped
        count_arr -= dropped
        raw, boxes, score_arr = raw[keep], boxes[keep], score_arr[keep]
        labels = [lab for lab, k in zip(labels, keep.tolist(), strict=True) if k]
    return DetectionsBatch(
        boxes=boxes,
        raw_boxes=raw,
        scores=score_arr,
        labels=labels,
        counts=count_arr,
        n_invalid=n_invalid,
        empty=empty,
        failed=failed,
        overflow=overflow,
    )
