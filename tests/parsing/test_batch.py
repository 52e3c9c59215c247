"""The batch reader (parsing/batch.py) reads exactly what the general reader reads."""

from __future__ import annotations

import math
from typing import Any

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


# --------------------------------------------------------------------------------------------
# One parser truth: mutated real answers, zero tolerance
# --------------------------------------------------------------------------------------------

REAL = [
    "[{'Position': [100, 200, 300, 400], 'Confidence': 0.9}, {'Position': [5, 5, 50, 60], "
    "'Confidence': 0.35}]",
    '[{"Position": [10, 20, 30, 40], "Confidence": 1}]',
    '[{"bbox_2d": [10, 20, 300, 400], "label": "cat"}, {"bbox_2d": [1, 2, 3, 4], "label": "dog"}]',
    '```json\n[\n  {"bbox_2d": [12, 34, 56, 78], "label": "hot dog"}\n]\n```',
    "[{'Position': [254, 10, 999, 1000], 'Confidence': 0.97, 'label': 'person'}]",
    "(10,20),(30,40)",
    "[100, 200, 300, 400]",
    "No Objects",
]
ISSUE_CASES = [
    "[{'Position1': [100, 100, 300, 300], 'Confidence': }]",
    "[{'Position': [100, 100, 300, 300], 'Confidence': }.9}]",
    "[{'Position': [100, 100, 300, 300], 'Confidence': }]",
    "[{'Position': [100, 100, 300, 300], 'Confidence': 0.9}, {'Position': [1, 2, 3, 4], 'Confi",
    '[{"bbox_2d": [10, 20, 30, 40], "label": ""}]',
    '[{"bbox_2d": [10, 20, 30, 40], "label": "  "}]',
    "[{'Position': [1e2, 2, 3, 4], 'Confidence': 0.5}]",
    "[{'Position': [100, 100, 300, 300], 'Confidence': 0.9}}]",
    "[{'Position': [-0, 100, 300, 300], 'Confidence': .5}]",
    # found by fuzz/fuzz_differential.py: a brace inside a label ends the general reader's item
    '[("bb_"}, {"bbox_2d": [1, 2, 3, 4], "label": "},g"}: [100]',
    '[{"bbox_2d": [1, 2, 3, 4], "label": "a{b"}]',
]
PIECES = ["[", "]", "{", "}", ",", ":", "'", '"', " ", "\n", "1", "0.", "-", ".", "e", "}.9", ""]


@st.composite
def mutated(draw: Any) -> str:
    """A real answer with mutations: a digit in a key, an emptied value, stray brackets and
    punctuation, a truncation."""
    text = draw(st.sampled_from(REAL + ISSUE_CASES))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["insert", "delete", "truncate", "key_digit", "empty"]))
        at = draw(st.integers(0, len(text)))
        if kind == "insert":
            text = text[:at] + draw(st.sampled_from(PIECES)) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 6)) :]
        elif kind == "truncate":
            text = text[:at]
        elif kind == "key_digit":
            for key in ("Position", "Confidence", "bbox_2d", "label"):
                text = text.replace(key, key + draw(st.sampled_from(["1", "0", ""])), 1)
        else:
            for key in ("'Confidence': ", '"label": '):
                start = text.find(key)
                if start >= 0:
                    end = start + len(key)
                    stop = min(
                        (i for i in (text.find(c, end) for c in ",}") if i >= 0), default=end
                    )
                    text = text[:end] + text[stop:]
    return text


def test_issue_cases_read_the_same_everywhere() -> None:
    check_batch(ISSUE_CASES)


@settings(max_examples=3000, deadline=None)
@given(st.lists(mutated(), min_size=1, max_size=4))
def test_fast_paths_equal_the_general_reader_on_mutated_answers(answers: list[str]) -> None:
    check_batch(answers)
