"""Counts: reading a number from an answer, and scoring it against the true count (DESIGN §4.6).

Pure functions, no reward logic. :func:`parse_count` is lenient on model text and never raises;
:func:`count_scores` is vectorised over a batch.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

__all__ = ["NUMBER_WORDS", "count_scores", "parse_count"]

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
_TOKEN_RE = re.compile(r"[-+]?[0-9]+(?:\.[0-9]+)?|[a-z]+", re.ASCII)
_MAX_CHARS = 1024
_MAX_DIGITS = 9


def _number_token(token: str) -> int | None:
    """Value of a digit token, or -1 for a number that is not a count (negative, fraction)."""
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
    a number). All numbers in the answer must agree (``"3 (three)"`` is 3); an answer with two
    different numbers (``"3 or 4"``), a negative or fractional number, no number at all, or
    more than 1024 characters gives None.

    >>> parse_count("3"), parse_count("There are twenty-one birds."), parse_count("None")
    (3, 21, 0)
    >>> parse_count("3 or 4"), parse_count("-2"), parse_count("2.5"), parse_count("many")
    (None, None, None, None)
    """
    if answer is None or len(answer) > _MAX_CHARS:
        return None
    tokens = _TOKEN_RE.findall(answer.lower())
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


def count_scores(
    predicted: npt.ArrayLike,
    truth: npt.ArrayLike,
    tolerance: float = 0.0,
    relative_tolerance: float = 0.0,
) -> npt.NDArray[np.float64]:
    """Score predicted counts ``(B,)`` against true counts ``(B,)``; NaN predictions score 0.

    An exact count scores 1. With a tolerance ``t = max(tolerance, relative_tolerance * truth)``
    an error ``e`` with ``0 < e <= t`` scores ``1 - e / (t + 1)``; larger errors score 0.
    Without a tolerance (the default) only the exact count scores.

    >>> count_scores([3, 4, 6, np.nan], [3, 3, 3, 3], tolerance=2)
    array([1.        , 0.66666667, 0.        , 0.        ])
    """
    pred = np.asarray(predicted, dtype=np.float64).reshape(-1)
    gt = np.asarray(truth, dtype=np.float64).reshape(-1)
    if pred.shape != gt.shape:
        raise ValueError(
            f"predicted and truth must have the same shape, got {pred.shape} and {gt.shape}"
        )
    err = np.abs(pred - gt)
    tol = np.maximum(float(tolerance), float(relative_tolerance) * gt)
    with np.errstate(invalid="ignore"):
        shaped = np.where(err <= tol, 1.0 - err / (tol + 1.0), 0.0)
    out: npt.NDArray[np.float64] = np.where(np.isnan(err), 0.0, shaped)
    return out
