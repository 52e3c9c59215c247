"""The batch reader (parsing/batch.py) reads exactly what the general reader reads."""

from __future__ import annotations

import math

from batch_check import check_batch
from hypothesis import given, settings
from hypothesis import strategies as st

numbers = st.one_of(
    st.integers(-50, 1100),
    st.floats(-10, 1100),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.sampled_from(["NaN", "1e999", "true", "'7'", ""]),
)
item = st.builds(
    lambda box, conf: (
        "{'Position': [" + ", ".join(map(str, box)) + "], 'Confidence': " + str(conf) + "}"
    ),
    st.lists(numbers, min_size=3, max_size=5),
    numbers,
)
answer = st.one_of(
    st.lists(item, max_size=6).map(lambda xs: "[" + ", ".join(xs) + "]"),
    st.text(max_size=60),
    st.sampled_from(["No Objects", "[]", "(1,2),(3,4)", "[1, 2, 3, 4]", "[[0,0,1000,1000]]"]),
)

# ---------------------------------------------------------------------------------------------
# The batch parser behind score() reads exactly what parse_detections reads
# ---------------------------------------------------------------------------------------------

odd_numbers = st.sampled_from(
    [
        "1",
        "-5",
        "0.5",
        "1.",
        ".5",
        "-.5",
        "1.2.3",
        "5-3",
        "--1",
        "-",
        ".",
        "",
        "1e3",
        "NaN",
        "1" * 33,
        "123456789012",
        "1000",
        "999.99",
        " 7",
        "+3",
    ]
)
canonicalish = st.builds(
    lambda nums, q, sep: (
        "["
        + sep.join(
            "{" + f"{q}Position{q}: [{nums[k]}, {nums[k + 1]}, {nums[k + 2]}, {nums[k + 3]}], "
            f"{q}Confidence{q}: {nums[k + 4]}" + "}"
            for k in range(0, len(nums) - 4, 5)
        )
        + "]"
    ),
    st.lists(odd_numbers, min_size=5, max_size=25),
    st.sampled_from(["'", '"', "`"]),
    st.sampled_from([", ", ",", ",\n "]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(canonicalish, answer, st.none()), min_size=1, max_size=8))
def test_parse_detections_batch_equals_parse_detections(answers: list[str | None]) -> None:
    check_batch(answers)
