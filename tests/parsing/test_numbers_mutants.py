"""Counts and numbers at their edges: token and answer length limits, leading zeros, compound
number words, and what follows them."""

from __future__ import annotations

import pytest

from visual_rewards.parsing import parse_count, parse_number


@pytest.mark.parametrize(
    ("answer", "count"),
    [
        ("0000000003", 3),  # leading zeros do not count toward the 9-digit limit
        ("000000000000000", 0),
        ("1234567890", None),  # ten digits: not a count
        ("123456789", 123456789),
        ("3" + " " * 1023, 3),  # 1024 characters: read
        ("3" + " " * 1024, None),  # 1025: not read
        ("twenty ten", None),  # "ten" is no unit of "twenty"
        ("twenty one", 21),
        ("ninety nine", 99),
        ("twenty one, 22", None),  # the number after a compound is read too
        ("twenty one 21", 21),
        ("one hundred", 100),
        ("two hundred", 200),
        ("nine hundred", 900),
        ("ten hundred", None),
        ("two hundred 5", None),
        ("two hundred 200", 200),
        ("3 +", None),  # a lone "+" hedges
        ("+ 3", None),
        ("3.000", 3),
        ("3.010", None),
        ("none of them", 0),
        ("none, 2", 2),
    ],
)
def test_parse_count_edges(answer: str, count: int | None) -> None:
    assert parse_count(answer) == count


def test_parse_number_length_limit() -> None:
    assert parse_number("1" * 32) == float("1" * 32)  # 32 characters: read
    assert parse_number("1" * 33) is None
    assert parse_number(" " + "2" * 32 + " ") == float("2" * 32)  # after stripping
