"""Numbers in model text (parsing/numbers.py): parse_number and parse_count."""

from __future__ import annotations

import pytest

from visual_rewards.parsing import (
    NUMBER_WORDS,
    parse_count,
    parse_number,
)

# --------------------------------------------------------------------------------------------
# parse_number
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "value"),
    [("1", 1.0), ("-2.5", -2.5), ("1e3", 1000.0), (".5", 0.5), ("7.", 7.0), ("+3", 3.0)],
)
def test_parse_number_accepts(token: str, value: float) -> None:
    assert parse_number(token) == value


@pytest.mark.parametrize(
    "token",
    [
        "NaN",
        "nan",
        "Infinity",
        "-inf",
        "1e999",
        "true",
        "True",
        "",
        "1,0",
        "٣",
        "１２",
        "0x10",
        "1" * 33,
        "--1",
    ],
)
def test_parse_number_rejects(token: str) -> None:
    assert parse_number(token) is None


WORDS = [
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
    "twenty",
]


@pytest.mark.parametrize("value", range(21))
def test_number_words_up_to_twenty(value: int) -> None:
    word = WORDS[value]
    for text in (word, word.upper(), word.title(), f" {word}. ", f"There are {word} birds."):
        assert parse_count(text) == value, text
    assert parse_count(str(value)) == value
    assert parse_count(f"{value} ({word})") == value  # numbers that agree


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("twenty-one", 21),
        ("Twenty one", 21),
        ("ninety-nine", 99),
        ("one hundred", 100),
        ("hundred", 100),
        ("forty", 40),
        ("3.0", 3),
        ("+4", 4),
        ("007", 7),
        ("123456789", 123456789),
        ("no", 0),
        ("None", 0),
        ("No birds.", 0),
        ("zero", 0),
        ("no, there are 3", 3),  # "no" counts only when nothing else is a number
        ("3 or 4", None),
        ("3-4", None),
        ("3, 4", None),
        ("-2", None),
        ("2.5", None),
        ("1234567890", None),  # more than 9 digits
        ("9" * 5000, None),  # never int() a huge digit string
        ("many", None),
        ("", None),
        (None, None),
        ("\u0663", None),  # Arabic-Indic three: ASCII digits only
        ("x" * 2000 + " 3", None),  # too long
    ],
)
def test_parse_count(text: str | None, expected: int | None) -> None:
    assert parse_count(text) == expected


def test_number_words_table() -> None:
    assert NUMBER_WORDS["twenty"] == 20 and NUMBER_WORDS["nineteen"] == 19
    assert len(NUMBER_WORDS) == 20 + 8 + 1


@pytest.mark.parametrize(
    "text",
    [
        "not 3",
        "Not three.",
        "there aren't 3",
        "3 or 4",
        "3 or three",
        "3-4",
        "3 to 5",
        "between 3 and 5",
        "at least 3",
        "at most 3",
        "more than 3",
        "fewer than 4",
        "up to 3",
        "over 3",
        "about 3",
        "around three",
        "approximately 3",
        "maybe 3",
        "probably 3",
        "3+",
        "~3",
        "≈3",
        ">3",
        "3?",
        "3 ± 1",
        "three or more",
    ],
)
def test_hedged_answers_are_not_counts(text: str) -> None:
    assert parse_count(text) is None
    assert parse_count(text.upper()) is None
