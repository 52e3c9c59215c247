"""Answers to boxes and points: the general reader (:func:`parse_detections`, :func:`parse_points`).

Lenient on model text and strict on caller arguments: every pattern is linear in the input,
the input length and the number of items are capped, numbers must be finite reals written in
ASCII digits (:func:`~visual_rewards.parsing.numbers.parse_number`), and every dropped item
leaves a short reason. Boxes and points come out in normalised coordinates (see
:mod:`visual_rewards.geometry.coords`).

The two commonest well-formed payloads (Visual-RFT's ``Position``/``Confidence`` list and
Qwen's ``bbox_2d`` JSON) go through :func:`fast_values`, a fast path that accepts an answer
only when it reads it whole, item for item as the general reader would; the batch reader
(:mod:`visual_rewards.parsing.batch`) uses the same function.
"""

from __future__ import annotations

import itertools
import math
import operator
import re
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from visual_rewards.geometry.coords import CoordConfig, CoordSpace
from visual_rewards.parsing.numbers import MAX_NUMBER_CHARS, parse_number

__all__ = [
    "DEFAULT_MAX_ANSWER_CHARS",
    "DEFAULT_MAX_ITEMS",
    "Detections",
    "Points",
    "fast_values",
    "parse_detections",
    "parse_points",
    "prepare_answer",
]

#: Answers longer than this are not parsed (the result has ``failed=True``).
DEFAULT_MAX_ANSWER_CHARS = 1 << 16
#: At most this many items are read from one answer; more sets ``overflow=True``.
DEFAULT_MAX_ITEMS = 1000
_MAX_ITEM_CHARS = 4096
_MAX_LABEL_CHARS = 256


@dataclass(frozen=True, slots=True, kw_only=True)
class _ReadStatus:
    """What every reader reports besides its items (see :class:`Detections`)."""

    errors: list[str] = field(default_factory=list)
    n_invalid: int = 0
    empty: bool = False
    failed: bool = False
    overflow: bool = False
    dialect: str | None = None


@dataclass(frozen=True, slots=True)
class Detections(_ReadStatus):
    """Boxes read from one answer.

    Attributes:
        boxes: ``(N, 4)`` float64, normalised xyxy (``x`` along width), each inside ``[0, 1]``
            with ``x2 > x1`` and ``y2 > y1``.
        raw_boxes: ``(N, 4)`` float64, the same boxes as written, before normalising/clipping.
        scores: ``(N,)`` float64 confidences as written, NaN where none was given.
        labels: ``N`` labels (``None`` where none was given).
        errors: one short reason per item that was dropped (invalid box, bad confidence, …)
            and per problem with the answer as a whole (keyword-only, like the fields below).
        n_invalid: how many items were dropped; they still count against the model.
        empty: the answer explicitly says there is nothing (``No Objects``, ``[]``).
        failed: nothing could be read (no answer, no recognisable payload, or too long).
        overflow: more than ``max_items`` items were present; reading stopped there.
        dialect: the grounding dialect the answer was read in (``None``: the general reader;
            with ``dialect="auto"``, the family identified, or ``None`` when none was).
    """

    boxes: npt.NDArray[np.float64]
    raw_boxes: npt.NDArray[np.float64]
    scores: npt.NDArray[np.float64]
    labels: list[str | None]

    def __len__(self) -> int:
        return int(self.boxes.shape[0])


@dataclass(frozen=True, slots=True)
class Points(_ReadStatus):
    """Points read from one answer.

    Attributes:
        points: ``(N, 2)`` float64, normalised ``(x, y)``, inside ``[0, 1]``.
        labels: ``N`` labels (``None`` where none was given).
        errors, n_invalid, empty, failed, overflow, dialect: as in :class:`Detections`
            (keyword-only).
    """

    points: npt.NDArray[np.float64]
    labels: list[str | None]

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
        # a closed item ends in "}", which the list cannot cross: its "]" is there
        values, error = _values(kv.group(2), want)
        score = math.nan
        label_match = _LABEL_RE.search(chunk)
        conf = _confidence_key(chunk, label_match)
        if error is None and conf is not None:
            parsed = parse_number(conf.group(1).strip("'\""))
            if parsed is None:
                error = f"confidence is not a finite number: {conf.group(1)[:20]!r}"
            else:
                score = parsed
        label = None
        if label_match is not None:
            raw = label_match.group(1) if label_match.group(1) is not None else label_match.group(2)
            label = _unescape_label(raw or "") or None  # a blank label is no label
        items.append(_Item(values, score, label, error))
    return items, False


def _confidence_key(chunk: str, label: re.Match[str] | None) -> re.Match[str] | None:
    """The first confidence key of a dict item outside its label (``"label": "score: 5"``
    holds no confidence), as the fast paths read it.

    >>> chunk = '{"label": "score: 5", "score": 0.5}'
    >>> _confidence_key(chunk, _LABEL_RE.search(chunk)).group(1)
    '0.5'
    >>> _confidence_key('{"label": "score: 5"}', _LABEL_RE.search('{"label": "score: 5"}'))
    """
    if label is None:
        return _CONF_RE.search(chunk)
    return _CONF_RE.search(chunk, 0, label.start()) or _CONF_RE.search(chunk, label.end())


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
    r"""(?:,\s*"label"\s*:\s*"([^"\\{}]{0,256})"\s*)?\}"""  # a brace in a label: general
)


_VRFT_FIELDS = operator.itemgetter(1, 2, 3, 4, 6)  # x1, y1, x2, y2, confidence of _FAST_VRFT_RE
_NUMERIC = b"0123456789.-"
_NUMERIC_ONLY = bytes(c if c in _NUMERIC else 32 for c in range(256))  # the rest -> space
_TEMPLATES: dict[tuple[int, bytes], bytes] = {}
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
    style, these spaces) with nothing but a number in each slot, and every number must be one
    that :func:`parse_number` reads (so the general reader gives the same result). The numbers
    are cut out with one byte translation, and the answer is rebuilt from them and compared
    byte for byte, so a digit anywhere else (``'Position1'``) or an empty slot sends the answer
    to the general reader.
    """
    quote = data[2:3]
    key = (n_items, quote)
    template = _TEMPLATES.get(key)
    if template is None:
        if quote not in (b"'", b'"') or n_items > 64:
            return None
        q = quote.decode()
        item = f"{{{q}Position{q}: [%s, %s, %s, %s], {q}Confidence{q}: %s}}"
        template = _TEMPLATES[key] = ("[" + ", ".join([item] * n_items) + "]").encode()
    tokens = data.translate(_NUMERIC_ONLY).split()
    if len(tokens) != 5 * n_items or template % tuple(tokens) != data:
        return None
    try:  # float(t) of the usual tokens, precomputed
        return list(map(_COMMON_NUMBERS.__getitem__, tokens))
    except KeyError:  # some other number: read below
        pass
    if max(map(len, tokens)) > MAX_NUMBER_CHARS:
        return None
    try:  # float() on [0-9.-]+ accepts exactly the numbers parse_number accepts
        return list(map(float, tokens))
    except ValueError:
        return None


def fast_values(text: str, max_items: int) -> tuple[list[float], list[str | None]] | None:
    """The fast path: ``(values, labels)`` of a well-formed box answer, or None.

    ``values`` holds ``x1, y1, x2, y2, confidence`` of every item, flat (``5 * N`` floats,
    NaN where no confidence is written); ``labels`` one entry per item. None means "read it
    with the general reader": the answer is taken only when every ``{`` in it starts an item
    that a fast pattern matched whole, so the result is the general reader's.

    >>> fast_values("[{'Position': [1, 2, 3, 4], 'Confidence': 0.5}]", 10)
    ([1.0, 2.0, 3.0, 4.0, 0.5], [None])
    >>> fast_values('[{"bbox_2d": [1, 2, 3, 4], "label": "cat"}, {"bbox_2d": [5]}]', 10) is None
    True
    """
    n_open = text.count("{")
    if n_open == 0 or n_open > max_items:
        return None
    if text.startswith("[{") and text.isascii():
        fast = _canonical_values(text.encode(), n_open)
        if fast is not None:
            return fast, [None] * n_open
    if "Position" in text:
        found = _FAST_VRFT_RE.findall(text)
        if len(found) != n_open:
            return None
        values = list(map(float, itertools.chain.from_iterable(map(_VRFT_FIELDS, found))))
        return values, [None] * n_open
    if "bbox_2d" in text:
        found = _FAST_BBOX_RE.findall(text)
        if len(found) != n_open:
            return None
        nan = math.nan
        values = []
        for g in found:
            values += (float(g[0]), float(g[1]), float(g[2]), float(g[3]), nan)
        return values, [g[4].strip() or None for g in found]
    return None


def _fast_items(answer: str, max_items: int) -> list[_Item] | None:
    fast = fast_values(answer, max_items)
    if fast is None:
        return None
    values, labels = fast
    return [
        _Item(values[5 * k : 5 * k + 4], values[5 * k + 4], label, None)
        for k, label in enumerate(labels)
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
        if items and all(it.error == "truncated item" for it in items):
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


def prepare_answer(answer: str | None, max_chars: int) -> tuple[str | None, str | None, bool]:
    """``(text, failure reason, explicit empty)`` of an answer before its items are read.

    ``text`` is the answer without code fences, stripped, or None (with the reason) when there
    is nothing to read; ``explicit empty`` is True for ``No Objects``, ``['No Objects']``, ``[]``.

    >>> prepare_answer("```json\\n[]\\n```", 100), prepare_answer(None, 100)
    (('[]', None, True), (None, 'no answer', False))
    """
    if answer is None:
        return None, "no answer", False
    if len(answer) > max_chars:
        return None, f"answer longer than {max_chars} characters", False
    text = (_FENCE_RE.sub(" ", answer) if "```" in answer else answer).strip()  # a fence has ```
    if not text:
        return None, "empty answer", False
    if len(text) <= 64 and " ".join(text.strip(_EMPTY_STRIP).lower().split()) in _EMPTY_WORDS:
        bare = text.strip(_EMPTY_STRIP)
        if bare or "[" in text:  # "No Objects", "['No Objects']", "[]" -- but not a lone quote
            return text, None, True
    return text, None, False


def parse_detections(
    answer: str | None,
    coords: CoordSpace | CoordConfig = "norm1000",
    image_size: tuple[int, int] | None = None,
    *,
    dialect: str | None = None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    max_chars: int = DEFAULT_MAX_ANSWER_CHARS,
    max_items: int = DEFAULT_MAX_ITEMS,
) -> Detections:
    """Read boxes from an answer.

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
        dialect: read the answer in a model family's grounding dialect instead (a name of
            :data:`~visual_rewards.parsing.dialects.DIALECTS`, or ``"auto"`` to identify the
            family from its special tokens); the dialect fixes the coordinate space, so
            ``coords`` must then be left at its default or name the dialect's own space.
        min_pixels, max_pixels: the Qwen2.5-VL processor's bounds for ``"qwen25vl"``.
        max_chars: longer answers are not parsed (``failed=True``).
        max_items: at most this many items are read; more sets ``overflow=True``.

    Raises:
        ValueError: for a bad ``coords``/``image_size``/``dialect`` (caller error), never for
            model text.

    >>> d = parse_detections("[{'Position': [100, 200, 300, 400], 'Confidence': 0.9}]")
    >>> d.boxes, d.scores
    (array([[0.1, 0.2, 0.3, 0.4]]), array([0.9]))
    >>> parse_detections('```json\\n[{"bbox_2d": [10, 20, 40, 60], "label": "cat"}]\\n```',
    ...                  coords="pixel", image_size=(100, 100)).labels
    ['cat']
    >>> parse_detections("No Objects").empty
    True
    """
    if dialect is not None:  # the dialect readers build on this module: imported on use
        from visual_rewards.parsing.dialect_readers import detections_in_dialect

        return detections_in_dialect(
            answer, dialect, coords, image_size, (min_pixels, max_pixels), max_chars, max_items
        )
    cfg = CoordConfig.from_options(coords, image_size, min_pixels, max_pixels)
    text, reason, empty = prepare_answer(answer, max_chars)
    if text is None:
        return _empty_detections(errors=[reason or "no answer"], failed=True)
    if empty:
        return _empty_detections(empty=True)
    items, overflow, recognised = _read_items(text, "box", max_items)
    if not recognised:
        return _empty_detections(errors=["no boxes found"], failed=True)
    overflow = overflow or len(items) > max_items  # exactly max_items + 1 items read
    return _valid_boxes(items[:max_items], cfg, overflow, max_items)


def _valid_boxes(
    items: list[_Item], cfg: CoordConfig, overflow: bool, max_items: int
) -> Detections:
    """The boxes of read items: invalid ones (unreadable, flipped, zero-area, outside the image
    once normalised and clipped) dropped and counted, each with its reason."""
    errors: list[str] = [f"more than {max_items} items" for _ in range(int(overflow))]
    raw: list[list[float]] = []
    norm: list[tuple[float, float, float, float]] = []
    scores: list[float] = []
    labels: list[str | None] = []
    n_invalid = 0
    sx, sy = cfg.scale()
    for item in items:
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
    dialect: str | None = None,
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
    if dialect is not None:  # the dialect readers build on this module: imported on use
        from visual_rewards.parsing.dialect_readers import points_in_dialect

        return points_in_dialect(
            answer, dialect, coords, image_size, (min_pixels, max_pixels), max_chars, max_items
        )
    cfg = CoordConfig.from_options(coords, image_size, min_pixels, max_pixels)
    text, reason, empty = prepare_answer(answer, max_chars)
    if text is None:
        return Points(np.zeros((0, 2)), [], errors=[reason or "no answer"], failed=True)
    if empty:
        return Points(np.zeros((0, 2)), [], empty=True)
    items, overflow, recognised = _read_items(text, "point", max_items)
    if not recognised:
        return Points(np.zeros((0, 2)), [], errors=["no points found"], failed=True)
    overflow = overflow or len(items) > max_items  # exactly max_items + 1 items read
    return _valid_points(items[:max_items], cfg, overflow, max_items)


def _valid_points(items: list[_Item], cfg: CoordConfig, overflow: bool, max_items: int) -> Points:
    """The points of read items: unreadable ones and those outside the image once normalised
    dropped and counted, each with its reason."""
    errors: list[str] = [f"more than {max_items} items" for _ in range(int(overflow))]
    raw: list[list[float]] = []
    labels: list[str | None] = []
    n_invalid = 0
    for item in items:
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
    return Points(pts, labels, errors=errors, n_invalid=n_invalid, overflow=overflow)
