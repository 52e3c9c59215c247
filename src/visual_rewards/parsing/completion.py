"""Completions: their text, their ``<think>``/``<answer>`` parts, and the two format checks.

Every function here is linear in the length of the text: tags are found with ``str.find`` and
``str.count``, never with a backtracking regular expression.

- :func:`completion_text` -- the text of a completion in any shape a trainer passes;
- :func:`parse_completion` -- think, answer, truncation and the **strict** format rule;
- :func:`unwrap_answer` -- the one ``<answer>`` unwrapper (ground truth, class names, counts);
- :func:`visual_rft_format_ok` / :func:`visual_rft_answer` -- the paper's released format
  check and answer extraction, decided in linear time.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_MAX_COMPLETION_CHARS",
    "ParsedCompletion",
    "capped_text",
    "completion_text",
    "has_visible_text",
    "parse_completion",
    "unwrap_answer",
    "visual_rft_answer",
    "visual_rft_format_ok",
]

#: Completions longer than this are cut to this many characters before splitting.
DEFAULT_MAX_COMPLETION_CHARS = 1 << 20

_THINK, _END_THINK = "<think>", "</think>"
_ANSWER, _END_ANSWER = "<answer>", "</answer>"
_SPACES_RE = re.compile(r"\s*")  # one greedy class, anchored: linear, nothing to backtrack


@dataclass(frozen=True, slots=True)
class ParsedCompletion:
    """A completion split into its parts.

    Attributes:
        text: the completion as one string (after joining messages and capping its length).
        think: content of the first ``<think>…</think>`` block, or None.
        answer: content of the first ``<answer>…</answer>`` block; for an ``<answer>`` that is
            never closed, everything after it (``truncated`` is then True); None without one.
        format_ok: exactly one think block followed by exactly one answer block, both with
            visible content, and nothing visible outside them (see :func:`has_visible_text`:
            whitespace, zero-width and format characters and lone combining marks are empty).
        truncated: the answer block was opened but never closed.
    """

    text: str
    think: str | None
    answer: str | None
    format_ok: bool
    truncated: bool


#: Unicode categories that show nothing by themselves: controls and format characters
#: (zero-width space, soft hyphen, bidi marks), combining marks without a base, separators.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Mn", "Mc", "Me", "Zs", "Zl", "Zp"})
#: Where characters of those categories are assigned (the rest of the code space has none).
_SCANNED = (range(0, 0x30000), range(0xE0000, 0xE1000))


#: The code-point ranges of those categories and of whitespace, for the Unicode version below
#: (``tests/parsing/test_completion.py`` recomputes them from ``unicodedata``).
_INVISIBLE_UNICODE_VERSION = "14.0.0"
_INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0, 0x20), (0x7F, 0xA0), (0xAD, 0xAD), (0x300, 0x36F), (0x483, 0x489), (0x591, 0x5BD),
    (0x5BF, 0x5BF), (0x5C1, 0x5C2), (0x5C4, 0x5C5), (0x5C7, 0x5C7), (0x600, 0x605),
    (0x610, 0x61A), (0x61C, 0x61C), (0x64B, 0x65F), (0x670, 0x670), (0x6D6, 0x6DD),
    (0x6DF, 0x6E4), (0x6E7, 0x6E8), (0x6EA, 0x6ED), (0x70F, 0x70F), (0x711, 0x711),
    (0x730, 0x74A), (0x7A6, 0x7B0), (0x7EB, 0x7F3), (0x7FD, 0x7FD), (0x816, 0x819),
    (0x81B, 0x823), (0x825, 0x827), (0x829, 0x82D), (0x859, 0x85B), (0x890, 0x891),
    (0x898, 0x89F), (0x8CA, 0x903), (0x93A, 0x93C), (0x93E, 0x94F), (0x951, 0x957),
    (0x962, 0x963), (0x981, 0x983), (0x9BC, 0x9BC), (0x9BE, 0x9C4), (0x9C7, 0x9C8),
    (0x9CB, 0x9CD), (0x9D7, 0x9D7), (0x9E2, 0x9E3), (0x9FE, 0x9FE), (0xA01, 0xA03),
    (0xA3C, 0xA3C), (0xA3E, 0xA42), (0xA47, 0xA48), (0xA4B, 0xA4D), (0xA51, 0xA51),
    (0xA70, 0xA71), (0xA75, 0xA75), (0xA81, 0xA83), (0xABC, 0xABC), (0xABE, 0xAC5),
    (0xAC7, 0xAC9), (0xACB, 0xACD), (0xAE2, 0xAE3), (0xAFA, 0xAFF), (0xB01, 0xB03),
    (0xB3C, 0xB3C), (0xB3E, 0xB44), (0xB47, 0xB48), (0xB4B, 0xB4D), (0xB55, 0xB57),
    (0xB62, 0xB63), (0xB82, 0xB82), (0xBBE, 0xBC2), (0xBC6, 0xBC8), (0xBCA, 0xBCD),
    (0xBD7, 0xBD7), (0xC00, 0xC04), (0xC3C, 0xC3C), (0xC3E, 0xC44), (0xC46, 0xC48),
    (0xC4A, 0xC4D), (0xC55, 0xC56), (0xC62, 0xC63), (0xC81, 0xC83), (0xCBC, 0xCBC),
    (0xCBE, 0xCC4), (0xCC6, 0xCC8), (0xCCA, 0xCCD), (0xCD5, 0xCD6), (0xCE2, 0xCE3),
    (0xD00, 0xD03), (0xD3B, 0xD3C), (0xD3E, 0xD44), (0xD46, 0xD48), (0xD4A, 0xD4D),
    (0xD57, 0xD57), (0xD62, 0xD63), (0xD81, 0xD83), (0xDCA, 0xDCA), (0xDCF, 0xDD4),
    (0xDD6, 0xDD6), (0xDD8, 0xDDF), (0xDF2, 0xDF3), (0xE31, 0xE31), (0xE34, 0xE3A),
    (0xE47, 0xE4E), (0xEB1, 0xEB1), (0xEB4, 0xEBC), (0xEC8, 0xECD), (0xF18, 0xF19),
    (0xF35, 0xF35), (0xF37, 0xF37), (0xF39, 0xF39), (0xF3E, 0xF3F), (0xF71, 0xF84),
    (0xF86, 0xF87), (0xF8D, 0xF97), (0xF99, 0xFBC), (0xFC6, 0xFC6), (0x102B, 0x103E),
    (0x1056, 0x1059), (0x105E, 0x1060), (0x1062, 0x1064), (0x1067, 0x106D), (0x1071, 0x1074),
    (0x1082, 0x108D), (0x108F, 0x108F), (0x109A, 0x109D), (0x135D, 0x135F), (0x1680, 0x1680),
    (0x1712, 0x1715), (0x1732, 0x1734), (0x1752, 0x1753), (0x1772, 0x1773), (0x17B4, 0x17D3),
    (0x17DD, 0x17DD), (0x180B, 0x180F), (0x1885, 0x1886), (0x18A9, 0x18A9), (0x1920, 0x192B),
    (0x1930, 0x193B), (0x1A17, 0x1A1B), (0x1A55, 0x1A5E), (0x1A60, 0x1A7C), (0x1A7F, 0x1A7F),
    (0x1AB0, 0x1ACE), (0x1B00, 0x1B04), (0x1B34, 0x1B44), (0x1B6B, 0x1B73), (0x1B80, 0x1B82),
    (0x1BA1, 0x1BAD), (0x1BE6, 0x1BF3), (0x1C24, 0x1C37), (0x1CD0, 0x1CD2), (0x1CD4, 0x1CE8),
    (0x1CED, 0x1CED), (0x1CF4, 0x1CF4), (0x1CF7, 0x1CF9), (0x1DC0, 0x1DFF), (0x2000, 0x200F),
    (0x2028, 0x202F), (0x205F, 0x2064), (0x2066, 0x206F), (0x20D0, 0x20F0), (0x2CEF, 0x2CF1),
    (0x2D7F, 0x2D7F), (0x2DE0, 0x2DFF), (0x3000, 0x3000), (0x302A, 0x302F), (0x3099, 0x309A),
    (0xA66F, 0xA672), (0xA674, 0xA67D), (0xA69E, 0xA69F), (0xA6F0, 0xA6F1), (0xA802, 0xA802),
    (0xA806, 0xA806), (0xA80B, 0xA80B), (0xA823, 0xA827), (0xA82C, 0xA82C), (0xA880, 0xA881),
    (0xA8B4, 0xA8C5), (0xA8E0, 0xA8F1), (0xA8FF, 0xA8FF), (0xA926, 0xA92D), (0xA947, 0xA953),
    (0xA980, 0xA983), (0xA9B3, 0xA9C0), (0xA9E5, 0xA9E5), (0xAA29, 0xAA36), (0xAA43, 0xAA43),
    (0xAA4C, 0xAA4D), (0xAA7B, 0xAA7D), (0xAAB0, 0xAAB0), (0xAAB2, 0xAAB4), (0xAAB7, 0xAAB8),
    (0xAABE, 0xAABF), (0xAAC1, 0xAAC1), (0xAAEB, 0xAAEF), (0xAAF5, 0xAAF6), (0xABE3, 0xABEA),
    (0xABEC, 0xABED), (0xFB1E, 0xFB1E), (0xFE00, 0xFE0F), (0xFE20, 0xFE2F), (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB), (0x101FD, 0x101FD), (0x102E0, 0x102E0), (0x10376, 0x1037A),
    (0x10A01, 0x10A03), (0x10A05, 0x10A06), (0x10A0C, 0x10A0F), (0x10A38, 0x10A3A),
    (0x10A3F, 0x10A3F), (0x10AE5, 0x10AE6), (0x10D24, 0x10D27), (0x10EAB, 0x10EAC),
    (0x10F46, 0x10F50), (0x10F82, 0x10F85), (0x11000, 0x11002), (0x11038, 0x11046),
    (0x11070, 0x11070), (0x11073, 0x11074), (0x1107F, 0x11082), (0x110B0, 0x110BA),
    (0x110BD, 0x110BD), (0x110C2, 0x110C2), (0x110CD, 0x110CD), (0x11100, 0x11102),
    (0x11127, 0x11134), (0x11145, 0x11146), (0x11173, 0x11173), (0x11180, 0x11182),
    (0x111B3, 0x111C0), (0x111C9, 0x111CC), (0x111CE, 0x111CF), (0x1122C, 0x11237),
    (0x1123E, 0x1123E), (0x112DF, 0x112EA), (0x11300, 0x11303), (0x1133B, 0x1133C),
    (0x1133E, 0x11344), (0x11347, 0x11348), (0x1134B, 0x1134D), (0x11357, 0x11357),
    (0x11362, 0x11363), (0x11366, 0x1136C), (0x11370, 0x11374), (0x11435, 0x11446),
    (0x1145E, 0x1145E), (0x114B0, 0x114C3), (0x115AF, 0x115B5), (0x115B8, 0x115C0),
    (0x115DC, 0x115DD), (0x11630, 0x11640), (0x116AB, 0x116B7), (0x1171D, 0x1172B),
    (0x1182C, 0x1183A), (0x11930, 0x11935), (0x11937, 0x11938), (0x1193B, 0x1193E),
    (0x11940, 0x11940), (0x11942, 0x11943), (0x119D1, 0x119D7), (0x119DA, 0x119E0),
    (0x119E4, 0x119E4), (0x11A01, 0x11A0A), (0x11A33, 0x11A39), (0x11A3B, 0x11A3E),
    (0x11A47, 0x11A47), (0x11A51, 0x11A5B), (0x11A8A, 0x11A99), (0x11C2F, 0x11C36),
    (0x11C38, 0x11C3F), (0x11C92, 0x11CA7), (0x11CA9, 0x11CB6), (0x11D31, 0x11D36),
    (0x11D3A, 0x11D3A), (0x11D3C, 0x11D3D), (0x11D3F, 0x11D45), (0x11D47, 0x11D47),
    (0x11D8A, 0x11D8E), (0x11D90, 0x11D91), (0x11D93, 0x11D97), (0x11EF3, 0x11EF6),
    (0x13430, 0x13438), (0x16AF0, 0x16AF4), (0x16B30, 0x16B36), (0x16F4F, 0x16F4F),
    (0x16F51, 0x16F87), (0x16F8F, 0x16F92), (0x16FE4, 0x16FE4), (0x16FF0, 0x16FF1),
    (0x1BC9D, 0x1BC9E), (0x1BCA0, 0x1BCA3), (0x1CF00, 0x1CF2D), (0x1CF30, 0x1CF46),
    (0x1D165, 0x1D169), (0x1D16D, 0x1D182), (0x1D185, 0x1D18B), (0x1D1AA, 0x1D1AD),
    (0x1D242, 0x1D244), (0x1DA00, 0x1DA36), (0x1DA3B, 0x1DA6C), (0x1DA75, 0x1DA75),
    (0x1DA84, 0x1DA84), (0x1DA9B, 0x1DA9F), (0x1DAA1, 0x1DAAF), (0x1E000, 0x1E006),
    (0x1E008, 0x1E018), (0x1E01B, 0x1E021), (0x1E023, 0x1E024), (0x1E026, 0x1E02A),
    (0x1E130, 0x1E136), (0x1E2AE, 0x1E2AE), (0x1E2EC, 0x1E2EF), (0x1E8D0, 0x1E8D6),
    (0x1E944, 0x1E94A), (0xE0001, 0xE0001), (0xE0020, 0xE007F), (0xE0100, 0xE01EF),
)  # fmt: skip


def invisible_ranges() -> tuple[tuple[int, int], ...]:
    """``(first, last)`` code points of every run of invisible characters, computed from
    ``unicodedata`` (the stored table when its Unicode version is the running one)."""
    if unicodedata.unidata_version == _INVISIBLE_UNICODE_VERSION:
        return _INVISIBLE_RANGES
    return _computed_ranges()


@functools.cache
def _computed_ranges() -> tuple[tuple[int, int], ...]:
    ranges: list[tuple[int, int]] = []
    for block in _SCANNED:
        for cp in block:
            ch = chr(cp)
            if unicodedata.category(ch) in INVISIBLE_CATEGORIES or ch.isspace():
                if ranges and ranges[-1][1] == cp - 1:
                    ranges[-1] = (ranges[-1][0], cp)
                else:
                    ranges.append((cp, cp))
    return tuple(ranges)


@functools.cache
def _visible_re() -> re.Pattern[str]:
    """One negated character class, ``[^invisible]``: a search is a single linear scan."""
    body = "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in invisible_ranges()
    )
    return re.compile(f"[^{body}]")


#: The ASCII characters that show nothing (controls and the space): the ASCII part of the
#: rule of :data:`INVISIBLE_CATEGORIES` and whitespace, for ``str.lstrip``. ASCII categories do
#: not change between Unicode versions; the tests compare this with the stored table.
_ASCII_INVISIBLE = "".join(
    chr(c)
    for c in range(0x80)
    if unicodedata.category(chr(c)) in INVISIBLE_CATEGORIES or chr(c).isspace()
)


def has_visible_text(text: str) -> bool:
    """Whether ``text`` holds a character that shows: not whitespace, and not of a category in
    :data:`INVISIBLE_CATEGORIES` (zero-width spaces, soft hyphens, lone combining marks, …).

    ASCII text (``str.isascii`` reads a flag: constant time) is decided by stripping the ASCII
    characters of the same table (one linear pass in C); other text by one search for a
    character outside the table.

    >>> has_visible_text(" a "), has_visible_text("\u200b \u00ad\u0301"), has_visible_text("")
    (True, False, False)
    """
    if text.isascii():
        return bool(text.lstrip(_ASCII_INVISIBLE))
    return _visible_re().search(text) is not None


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


def capped_text(completion: Any, max_chars: int = DEFAULT_MAX_COMPLETION_CHARS) -> str:
    """The text of a completion (:func:`completion_text`) cut to ``max_chars`` characters: the
    ``text`` :func:`parse_completion` splits (for rules that need the text alone).

    >>> capped_text([{"role": "assistant", "content": "<answer>cat</answer>"}], 9)
    '<answer>c'
    """
    text = completion if type(completion) is str else completion_text(completion)
    return text[:max_chars]


def parse_completion(
    completion: Any, max_chars: int = DEFAULT_MAX_COMPLETION_CHARS
) -> ParsedCompletion:
    """Split a completion into think and answer and check its format (the strict rule).

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
    text = capped_text(completion, max_chars)

    think: str | None = None
    t0 = text.find(_THINK)
    t1 = -1
    if t0 >= 0:
        t1 = text.find(_END_THINK, t0 + 7)
        if t1 >= 0:
            think = text[t0 + 7 : t1]

    answer: str | None = None
    truncated = False
    a0 = text.find(_ANSWER)
    a1 = -1
    if a0 >= 0:
        a1 = text.find(_END_ANSWER, a0 + 8)
        if a1 >= 0:
            answer = text[a0 + 8 : a1]
        else:
            answer = text[a0 + 8 :]
            truncated = True

    format_ok = (
        think is not None
        and answer is not None
        and not truncated
        and _strict_format(text, t0, t1, a0, a1, think, answer)
    )
    return _new_parsed(text, think, answer, format_ok, truncated)


def _strict_format(text: str, t0: int, t1: int, a0: int, a1: int, think: str, answer: str) -> bool:
    """The strict rule, given the first ``<think>`` at ``t0`` closed at ``t1`` and the first
    ``<answer>`` at ``a0`` closed at ``a1``: each tag exactly once (``str.count`` is linear and
    builds no list of tags), in order, and visible content inside, none outside."""
    if not (
        t1 < a0
        and text.count(_THINK) == 1
        and text.count(_END_THINK) == 1
        and text.count(_ANSWER) == 1
        and text.count(_END_ANSWER) == 1
    ):
        return False
    outside = text[:t0] + text[t1 + 8 : a0] + text[a1 + 9 :]
    return not has_visible_text(outside) and has_visible_text(think) and has_visible_text(answer)


_SET_TEXT, _SET_THINK, _SET_ANSWER, _SET_FORMAT_OK, _SET_TRUNCATED = (
    getattr(ParsedCompletion, f).__set__ for f in ParsedCompletion.__slots__
)


def _new_parsed(
    text: str, think: str | None, answer: str | None, format_ok: bool, truncated: bool
) -> ParsedCompletion:
    """``ParsedCompletion(text, think, answer, format_ok, truncated)``, built by setting the
    slots directly (what the frozen dataclass's ``__init__`` does, in half the time)."""
    out = object.__new__(ParsedCompletion)
    _SET_TEXT(out, text)
    _SET_THINK(out, think)
    _SET_ANSWER(out, answer)
    _SET_FORMAT_OK(out, format_ok)
    _SET_TRUNCATED(out, truncated)
    return out


def unwrap_answer(text: str) -> str:
    """The content of the first ``<answer>…</answer>`` block, stripped; else ``text`` stripped.

    The one unwrapper of ``<answer>`` tags for ground truth (boxes, class names, counts): a
    block that is opened but never closed is not unwrapped (the text is then malformed for the
    caller to reject, never silently shortened).

    >>> unwrap_answer("<answer> Abyssinian </answer>"), unwrap_answer(" 3 ")
    ('Abyssinian', '3')
    >>> unwrap_answer("<answer>a\\nb</answer><answer>c</answer>"), unwrap_answer("<answer>3")
    ('a\\nb', '<answer>3')
    """
    start = text.find(_ANSWER)
    if start >= 0:
        end = text.find(_END_ANSWER, start + len(_ANSWER))
        if end >= 0:
            return text[start + len(_ANSWER) : end].strip()
    return text.strip()


def visual_rft_answer(text: str) -> str | None:
    """The paper's answer extraction, ``re.search(r"<answer>(.*?)</answer>", text).group(1)``.

    The first ``<answer>`` that is closed by a ``</answer>`` on the same line (the released
    pattern has no DOTALL), or None. Decided with ``str.find`` in linear time (the regex is
    quadratic on ``"<answer>" * n``): each candidate start looks up the first ``</answer>``
    and the first newline after it, and both only move forward.

    >>> visual_rft_answer("<answer>a\\nb</answer> <answer>cat</answer>")
    'cat'
    >>> visual_rft_answer("<answer>cat"), visual_rft_answer("<answer><answer>x</answer>")
    (None, '<answer>x')
    """
    close = newline = -1
    start = text.find(_ANSWER)
    while start >= 0:
        body = start + len(_ANSWER)
        if close < body:
            close = text.find(_END_ANSWER, body)
            if close < 0:
                return None  # no later start has a close either
        if newline < body:
            newline = text.find("\n", body)
            if newline < 0:
                newline = len(text)
        if close < newline:
            return text[body:close]
        start = text.find(_ANSWER, newline)  # every start before the newline fails the same way
    return None


def visual_rft_format_ok(text: str) -> bool:
    """The paper's format check, ``re.fullmatch(r"<think>.*?</think>\\s*<answer>.*?</answer>",
    text, re.DOTALL) is not None``, in linear time.

    The pattern matches exactly when the text starts with ``<think>``, ends with
    ``</answer>``, and some ``</think>``, whitespace (``str.isspace``, as ``\\s``), ``<answer>``
    lies between them. Each ``</think>`` is tried once and the whitespace after it is skipped
    once (runs after different ``</think>`` tags do not overlap), so the cost is linear.

    >>> visual_rft_format_ok("<think></think> <answer></answer>")
    True
    >>> visual_rft_format_ok("<think>a</think>b<answer>c</answer>")
    False
    """
    if not (text.startswith(_THINK) and text.endswith(_END_ANSWER)):
        return False
    last_start = len(text) - len(_END_ANSWER) - len(_ANSWER)  # the latest <answer> that fits
    pos = text.find(_END_THINK, len(_THINK))
    while pos >= 0:
        after = _SPACES_RE.match(text, pos + len(_END_THINK)).end()  # type: ignore[union-attr]
        if after > last_start:
            return False  # later </think> tags start later still
        if text.startswith(_ANSWER, after):
            return True
        pos = text.find(_END_THINK, pos + 1)
    return False
