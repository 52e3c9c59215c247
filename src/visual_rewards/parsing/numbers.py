"""Numbers in model text: one finite real (:func:`parse_number`) and one count (:func:`parse_count`).

Lenient on model text, never raising on it: numbers must be finite reals written in ASCII
digits, tokens are capped in length, and every pattern is a single linear scan.
"""

from __future__ import annotations

import math
import re

__all__ = ["HEDGE_WORDS", "MAX_NUMBER_CHARS", "NUMBER_WORDS", "parse_count", "parse_number"]

#: Longer tokens are not numbers (a 10^5-digit "number" costs nothing).
MAX_NUMBER_CHARS = 32

_NUMBER_RE = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?", re.ASCII)


def parse_number(token: str) -> float | None:
    """Return the finite float a token spells in ASCII, or None.

    Rejects NaN/Infinity, booleans, unicode digits and strings longer than 32 characters
    (so a 10^5-digit number costs nothing).

    >>> parse_number(" 12.5 "), parse_number("NaN"), parse_number("1e999"), parse_number("true")
    (12.5, None, None, None)
    """
    token = token.strip()
    if not token or len(token) > MAX_NUMBER_CHARS or _NUMBER_RE.fullmatch(token) is None:
        return None
    value = float(token)
    return value if math.isfinite(value) else None


_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
#: Number words and their values: ``zero``–``nineteen``, the tens ``twenty``–``ninety``
#: (compounds such as ``twenty-one``/``twenty one`` are read too) and ``hundred``.
NUMBER_WORDS: dict[str, int] = {w: i for i, w in enumerate(_UNITS)}
NUMBER_WORDS.update({w: 20 + 10 * i for i, w in enumerate(_TENS)})
NUMBER_WORDS["hundred"] = 100
_NONE_WORDS = frozenset({"no", "none"})
#: Words that make a stated number a hedge rather than a count: negation (``not 3``,
#: ``isn't``), alternatives and ranges (``3 or 4``, ``3 to 5``, ``between``), bounds
#: (``at least``, ``more than``, ``up to``, ``over``) and estimates (``about``, ``maybe``).
HEDGE_WORDS: frozenset[str] = frozenset(
    {
        "not", "t", "never", "or", "nor", "either", "to", "between", "through", "thru",
        "about", "around", "approximately", "approx", "roughly", "nearly", "almost", "circa",
        "maybe", "perhaps", "probably", "possibly", "likely", "unlikely", "estimate",
        "estimated", "guess", "least", "most", "more", "less", "fewer", "over", "under",
        "above", "below", "than", "plus", "minus", "some", "several", "few", "many",
        "half", "quarter", "dozen", "dozens", "hundreds", "except", "excluding", "range",
    }
)  # fmt: skip
#: Characters that hedge a number: ``~3``, ``≈3``, ``>3``, ``3?``, ``±1`` (a ``+`` right after
#: a number, ``3+``, is read by the token pattern).
_HEDGE_CHARS = frozenset("~≈<>≤≥±?")
_TOKEN_RE = re.compile(r"[-+]?[0-9]+(?:\.[0-9]+)?\+?|[a-z]+|\+", re.ASCII)  # a lone + hedges
_MAX_CHARS = 1024
_MAX_DIGITS = 9


def _number_token(token: str) -> int | None:
    """Value of a digit token, or -1 for a number that is not a count (negative, fraction,
    ``3+``)."""
    if token.endswith("+"):
        return -1
    if token[0] in "+-":
        return -1 if token[0] == "-" else _number_token(token[1:])
    whole, _, frac = token.partition(".")
    if frac.strip("0"):
        return -1
    whole = whole.lstrip("0") or "0"
    if len(whole) > _MAX_DIGITS:
        return -1
    return int(whole)


def parse_count(answer: str | None) -> int | None:
    """Read a count from an answer, or None when it does not state exactly one count.

    Reads ASCII integers (``"3"``, ``"3.0"``), number words (``"three"``, ``"twenty-one"``,
    ``"one hundred"``) and ``"no"``/``"none"`` (0, used only when nothing else in the answer is
    a number). All numbers in the answer must agree (``"3 (three)"`` is 3). A hedged answer
    is not a count: two different numbers (``"3 or 4"``), a range (``"3-4"``, ``"3 to 5"``), a
    negation (``"not 3"``), a bound or an estimate (``"at least 3"``, ``"about 3"``, ``"3+"``,
    ``"~3"``; see :data:`HEDGE_WORDS`) gives None, as do a negative or fractional number, no
    number at all, and more than 1024 characters.

    >>> parse_count("3"), parse_count("There are twenty-one birds."), parse_count("None")
    (3, 21, 0)
    >>> parse_count("3 or 4"), parse_count("-2"), parse_count("2.5"), parse_count("many")
    (None, None, None, None)
    >>> parse_count("not 3"), parse_count("at least three"), parse_count("3+")
    (None, None, None)
    """
    if answer is None or len(answer) > _MAX_CHARS or not _HEDGE_CHARS.isdisjoint(answer):
        return None
    tokens = _TOKEN_RE.findall(answer.lower())
    if "+" in tokens or not HEDGE_WORDS.isdisjoint(tokens):
        return None
    values: list[int] = []
    saw_none = False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token[0].isdigit() or token[0] in "+-":
            value = _number_token(token)
            if value is None or value < 0:
                return None
            values.append(value)
        elif token in NUMBER_WORDS:
            value = NUMBER_WORDS[token]
            nxt = tokens[i] if i < len(tokens) else ""
            if 20 <= value <= 90 and nxt in NUMBER_WORDS and 1 <= NUMBER_WORDS[nxt] <= 9:
                value += NUMBER_WORDS[nxt]  # twenty one
                i += 1
            elif 1 <= value <= 9 and nxt == "hundred":
                value *= 100  # one hundred
                i += 1
            values.append(value)
        elif token in _NONE_WORDS:
            saw_none = True
    if not values:
        return 0 if saw_none else None
    return values[0] if all(v == values[0] for v in values) else None
