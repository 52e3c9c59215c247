"""The general answer reader (parsing/answers.py): hand-written cases, real outputs, properties,
adversaries."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from model_logs import load_log_completions
from near_miss import STYLES, boxes_1000, render_answer
from timing import cpu_seconds

import visual_rewards as vr
from visual_rewards.parsing import (
    DEFAULT_MAX_ANSWER_CHARS,
    parse_completion,
    parse_detections,
    parse_points,
)

# --------------------------------------------------------------------------------------------
# parse_detections: every payload shape, each with the expected boxes (raw) or error
# --------------------------------------------------------------------------------------------

B1 = [10.0, 20.0, 300.0, 400.0]
B2 = [500.0, 600.0, 700.0, 800.0]

BOX_CASES: list[tuple[str, str, list[list[float]], list[float | None], list[str | None], int]] = [
    # (name, answer, raw boxes, scores (None = NaN), labels, n_invalid)
    (
        "vrft single quotes",
        "[{'Position': [10, 20, 300, 400], 'Confidence': 0.9}]",
        [B1],
        [0.9],
        [None],
        0,
    ),
    (
        "vrft double quotes",
        '[{"Position": [10, 20, 300, 400], "Confidence": 0.9}, {"Position": [500, 600, 700, 800], "Confidence": 0.3}]',
        [B1, B2],
        [0.9, 0.3],
        [None, None],
        0,
    ),
    (
        "vrft newlines + trailing comma",
        "[\n  {'Position': [10, 20, 300, 400],\n   'Confidence': 0.9},\n  {'Position': [500, 600, 700, 800], 'Confidence': 0.3},\n]",
        [B1, B2],
        [0.9, 0.3],
        [None, None],
        0,
    ),
    (
        "vrft truncated last item",
        "[{'Position': [10, 20, 300, 400], 'Confidence': 0.9}, {'Position': [500, 600, 7",
        [B1],
        [0.9],
        [None],
        1,
    ),
    (
        "vrft apostrophe in label",
        "[{'Position': [10, 20, 300, 400], 'Confidence': 0.9, 'label': 'person's hat'}]",
        [B1],
        [0.9],
        ["person's hat"],
        0,
    ),
    (
        "vrft confidence as string",
        "[{'Position': [10, 20, 300, 400], 'Confidence': '0.75'}]",
        [B1],
        [0.75],
        [None],
        0,
    ),
    ("vrft NaN confidence", "[{'Position': [10, 20, 300, 400], 'Confidence': NaN}]", [], [], [], 1),
    ("vrft no confidence", "[{'Position': [10, 20, 300, 400]}]", [B1], [None], [None], 0),
    (
        "qwen25 bbox_2d json",
        '[{"bbox_2d": [10, 20, 300, 400], "label": "cat"}, {"bbox_2d": [500, 600, 700, 800], "label": "dog"}]',
        [B1, B2],
        [None, None],
        ["cat", "dog"],
        0,
    ),
    (
        "qwen25 fenced json",
        '```json\n[\n\t{"bbox_2d": [10, 20, 300, 400], "label": "a \\"quoted\\" cat"}\n]\n```',
        [B1],
        [None],
        ['a "quoted" cat'],
        0,
    ),
    (
        "qwen25 single object",
        '{"bbox_2d": [10, 20, 300, 400], "label": "woman"}',
        [B1],
        [None],
        ["woman"],
        0,
    ),
    ("qwen2 plain", "(10,20),(300,400)", [B1], [None], [None], 0),
    ("qwen2 spaces", "( 10 , 20 ) , ( 300 , 400 )", [B1], [None], [None], 0),
    (
        "qwen2 tokens",
        "<|object_ref_start|>the cat<|object_ref_end|><|box_start|>(10,20),(300,400)<|box_end|>"
        "<|object_ref_start|>dog<|object_ref_end|><|box_start|>(500,600),(700,800)<|box_end|>",
        [B1, B2],
        [None, None],
        ["the cat", "dog"],
        0,
    ),
    ("bare list", "[10, 20, 300, 400]", [B1], [None], [None], 0),
    (
        "bare nested lists",
        "[[10, 20, 300, 400], [500, 600, 700, 800]]",
        [B1, B2],
        [None, None],
        [None, None],
        0,
    ),
    ("bare sequence", "10,20,300,400", [B1], [None], [None], 0),
    ("bare list in prose", "The box is [10, 20, 300, 400].", [B1], [None], [None], 0),
    ("quoted numbers", '["10, 20, 300, 400"]', [B1], [None], [None], 0),
    ("trailing label", "[[10, 20, 300, 400, 'purple']]", [B1], [None], ["purple"], 0),
    ("other key", '{"answer": [10, 20, 300, 400]}', [B1], [None], [None], 0),
    ("flipped", "[300, 400, 10, 20]", [], [], [], 1),
    ("zero area", "[10, 20, 10, 400]", [], [], [], 1),
    ("three numbers", "[10, 20, 300]", [], [], [], 1),
    ("boolean", "[true, 20, 300, 400]", [], [], [], 1),
    ("infinity", "[10, 20, Infinity, 400]", [], [], [], 1),
    ("unicode digits", "[١٠, 20, 300, 400]", [], [], [], 1),
]


@pytest.mark.parametrize(
    ("name", "answer", "raw", "scores", "labels", "n_invalid"),
    BOX_CASES,
    ids=[c[0] for c in BOX_CASES],
)
def test_parse_detections_payloads(
    name: str,
    answer: str,
    raw: list[list[float]],
    scores: list[float | None],
    labels: list[str | None],
    n_invalid: int,
) -> None:
    d = parse_detections(answer, coords="norm1000")
    np.testing.assert_array_equal(d.raw_boxes, np.asarray(raw, dtype=np.float64).reshape(-1, 4))
    np.testing.assert_array_equal(d.boxes, d.raw_boxes / 1000.0)
    np.testing.assert_array_equal(
        d.scores, np.array([np.nan if s is None else s for s in scores], dtype=np.float64)
    )
    assert d.labels == labels
    assert d.n_invalid == n_invalid
    assert len(d.errors) == n_invalid
    assert not d.failed and not d.empty


@pytest.mark.parametrize(
    "answer",
    ["No Objects", "no objects.", "['No Objects']", '["No Objects"]', "[]", "None", " NO OBJECTS "],
)
def test_explicit_empty(answer: str) -> None:
    d = parse_detections(answer)
    assert d.empty and not d.failed and len(d) == 0 and d.boxes.shape == (0, 4)


@pytest.mark.parametrize("answer", [None, "", "   ", "a cat", "'", "```json\n```"])
def test_failed(answer: str | None) -> None:
    d = parse_detections(answer)
    assert d.failed and not d.empty and d.boxes.shape == (0, 4) and d.errors


def test_coordinate_spaces() -> None:
    answer = "[64, 48, 320, 240]"
    np.testing.assert_allclose(
        parse_detections(answer, "pixel", (640, 480)).boxes, [[0.1, 0.1, 0.5, 0.5]]
    )
    np.testing.assert_allclose(
        parse_detections("[0.1, 0.1, 0.5, 0.5]", "normalized").boxes, [[0.1, 0.1, 0.5, 0.5]]
    )
    # Qwen2.5-VL: a 640x480 image is seen as 644x476
    d = parse_detections("[64.4, 47.6, 322, 238]", "qwen25vl", (640, 480))
    np.testing.assert_allclose(d.boxes, [[0.1, 0.1, 0.5, 0.5]])
    with pytest.raises(ValueError, match="image_size"):
        parse_detections(answer, "pixel")


def test_clipping_and_outside() -> None:
    d = parse_detections("[[-50, 900, 500, 1100], [1200, 1200, 1500, 1500]]")
    np.testing.assert_allclose(d.boxes, [[0.0, 0.9, 0.5, 1.0]])
    assert d.n_invalid == 1 and d.errors == ["box outside the image"]


def test_points() -> None:
    p = parse_points('[{"point_2d": [250, 500], "label": "cup"}, {"point_2d": [750, 100]}]')
    np.testing.assert_allclose(p.points, [[0.25, 0.5], [0.75, 0.1]])
    assert p.labels == ["cup", None]
    np.testing.assert_allclose(parse_points("[100, 200]").points, [[0.1, 0.2]])
    np.testing.assert_allclose(parse_points("(100, 200)").points, [[0.1, 0.2]])
    p = parse_points("[[100, 200], [2000, 10]]")
    assert len(p) == 1 and p.n_invalid == 1
    assert parse_points("no idea").failed
    assert parse_points("[NaN, 1]").n_invalid == 1


def test_max_items_overflow() -> None:
    answer = "[" + ",".join("[1, 2, 3, 4]" for _ in range(30)) + "]"
    d = parse_detections(answer, max_items=10)
    assert d.overflow and len(d) == 10
    assert not parse_detections(answer, max_items=30).overflow


# --------------------------------------------------------------------------------------------
# Real model outputs (a Qwen2.5-VL-3B GRPO log): golden rows and aggregate recovery
# --------------------------------------------------------------------------------------------

_NAIVE_BOX = re.compile(
    r"\[\s*\"?(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\"?\s*[\],]"
)
_NAIVE_SEQ = re.compile(r"^\s*(\d+),(\d+),(\d+),(\d+)\s*$")
#: Wide enough that every pixel or 0-1 box lies inside: the golden test compares raw values.
_ANY_SIZE = (100_000, 100_000)


def naive_box(answer: str) -> list[float] | None:
    m = _NAIVE_BOX.search(answer) or _NAIVE_SEQ.match(answer)
    return [float(g) for g in m.groups()] if m else None


GOLDEN_ROWS: list[tuple[str, list[float] | None, str | None]] = [
    # (a fragment that identifies the row's answer, expected first raw box, expected first error)
    ("[0.2, 0.19, 0.44, 0.61] ", [0.2, 0.19, 0.44, 0.61], None),
    ('{"bbox_2d": [0, 244, 189, 520], "label": "woman"}', [0, 244, 189, 520], None),
    ("1,203,475,606", [1, 203, 475, 606], None),
    ('["0.36, 0.2, 0.93, 0.78"]', [0.36, 0.2, 0.93, 0.78], None),
    ("[[0.2, 0.39, 0.43, 0.7, 'purple']]", [0.2, 0.39, 0.43, 0.7], None),
    ('"coordinate": [0, 0],', None, "expected 4 numbers, got 2"),
    ("\n[0.05, 0.5, 0.59, 0.27]\n", None, "flipped or zero-area box"),
    ('{"rectified_bbox_2d": [81, 168, 359, 397]', [81, 168, 359, 397], None),
    (
        '\t{"bbox_2d": [0, 181, 53, 475], "label": "a person wearing a blue shirt',
        [0, 181, 53, 475],
        None,
    ),
    (' "baby" ', None, "no boxes found"),
]


@pytest.mark.parametrize(
    ("fragment", "box", "error"), GOLDEN_ROWS, ids=[g[0][:30] for g in GOLDEN_ROWS]
)
def test_golden_real_outputs(
    shared_data: Path, fragment: str, box: list[float] | None, error: str | None
) -> None:
    answers = [
        c.answer
        for c in map(parse_completion, load_log_completions(shared_data))
        if c.answer is not None
    ]
    rows = [a for a in answers if fragment in a]
    assert rows, f"fragment not found in the log: {fragment!r}"
    for answer in rows:
        d = parse_detections(answer, coords="pixel", image_size=_ANY_SIZE)
        if box is None:
            assert len(d) == 0 and d.errors[0] == error
        else:
            assert d.raw_boxes[0].tolist() == box and d.errors == []


def test_real_log_recovery(shared_data: Path) -> None:
    completions = load_log_completions(shared_data)
    assert len(completions) == 390
    with_box = exact = 0
    for text in completions:
        c = parse_completion(text)
        if c.answer is None:
            continue
        expected = naive_box(c.answer)
        d = parse_detections(c.answer, coords="pixel", image_size=_ANY_SIZE)
        if expected is None:
            continue
        with_box += 1
        valid = expected[2] > expected[0] and expected[3] > expected[1]
        if valid and len(d) and d.raw_boxes[0].tolist() == expected:
            exact += 1
        elif not valid:
            assert d.n_invalid >= 1 and len(d) == 0
            exact += 1  # correctly rejected
    assert with_box >= 200
    assert exact == with_box


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(boxes_1000(max_n=8), st.sampled_from(STYLES), st.data())
def test_render_parse_roundtrip(boxes: list[list[int]], style: str, data: Any) -> None:
    scores = data.draw(st.lists(st.floats(0, 1), min_size=len(boxes), max_size=len(boxes)))
    d = parse_detections(render_answer(boxes, style, scores))
    assert d.raw_boxes.tolist() == [[float(v) for v in b] for b in boxes]
    np.testing.assert_allclose(d.boxes, np.asarray(boxes) / 1000.0)
    if style == "vrft":
        # as rendered: Python's "%.2f" (decimal rounding of the binary value), not np.round
        np.testing.assert_allclose(d.scores, [float(f"{s:.2f}") for s in scores])
    assert d.n_invalid == 0 and not d.failed


@settings(max_examples=200, deadline=None)
@given(boxes_1000(max_n=8), st.sampled_from(["vrft", "qwen25", "bare"]), st.data())
def test_truncation_recovers_complete_items(boxes: list[list[int]], style: str, data: Any) -> None:
    text = render_answer(boxes, style, [0.5] * len(boxes))
    cut = data.draw(st.integers(0, len(text)))
    d = parse_detections(text[:cut])
    # every item whose text is complete within the cut is recovered, in order
    full = parse_detections(text)
    recovered = d.raw_boxes.tolist()
    assert recovered == full.raw_boxes.tolist()[: len(recovered)]
    # ... and exactly those: an item is complete once its closing brace (or bracket) is in
    closer = r"\]" if style == "bare" else r"\}"
    complete = min(len(boxes), sum(1 for m in re.finditer(closer, text) if m.end() <= cut))
    assert len(recovered) == complete


json_like = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_on_text(text: str) -> None:
    for coords in ("norm1000", "normalized"):
        d = parse_detections(text, coords)
        assert np.all((d.boxes >= 0) & (d.boxes <= 1))
        assert np.all(d.boxes[:, 2] > d.boxes[:, 0]) and np.all(d.boxes[:, 3] > d.boxes[:, 1])
        assert d.scores.shape == (len(d),) and len(d.labels) == len(d)
        p = parse_points(text, coords)
        assert np.all((p.points >= 0) & (p.points <= 1))
    parse_completion(text)


@settings(max_examples=300, deadline=None)
@given(json_like)
def test_never_raises_on_json_like(value: Any) -> None:
    for text in (json.dumps(value), repr(value), str(value)[:-1]):
        d = parse_detections(text)
        assert d.boxes.shape == (len(d), 4)
        parse_points(text)
        parse_completion(f"<think>x</think><answer>{text}</answer>")


# --------------------------------------------------------------------------------------------
# Adversarial inputs: bounded and never raising
# --------------------------------------------------------------------------------------------

MIB = 1 << 20


@pytest.mark.parametrize(
    "answer",
    [
        "[" * MIB,
        "{" * MIB,
        "(" * MIB,
        "'" * MIB,
        "[{'Position': [" * (MIB // 16),
        "<answer>" * (MIB // 8),
    ],
    ids=["brackets", "braces", "parens", "quotes", "open items", "tags"],
)
def test_adversarial_mib_inputs(answer: str) -> None:
    # over the answer cap: refused at once
    d, seconds = cpu_seconds(parse_detections, answer)
    assert d.failed and seconds < 1.0
    # just under the cap: still parsed in bounded time
    d, seconds = cpu_seconds(parse_detections, answer[:DEFAULT_MAX_ANSWER_CHARS])
    assert seconds < 2.0 and d.boxes.shape[1] == 4
    c, seconds = cpu_seconds(parse_completion, "<think>x</think><answer>" + answer)
    assert seconds < 2.0 and c.truncated


def test_adversarial_many_boxes() -> None:
    answer = "[" + ", ".join("[1, 2, 3, 4]" for _ in range(100_000)) + "]"
    d, seconds = cpu_seconds(parse_detections, answer, max_chars=len(answer))
    assert d.overflow and len(d) == 1000 and seconds < 2.0
    assert parse_detections(answer).failed  # over the default length cap


def test_adversarial_huge_number() -> None:
    d = parse_detections("[" + "9" * 100_000 + ", 2, 3, 4]", max_chars=200_000)
    assert len(d) == 0 and d.n_invalid == 1 and d.errors == ["item too long"]
    d = parse_detections("[" + "9" * 1000 + ", 2, 3, 4]")
    assert len(d) == 0 and d.n_invalid == 1 and "not a finite number" in d.errors[0]
    d = parse_detections("[1, 2, 1e308, 1e309]")
    assert len(d) == 0 and d.n_invalid == 1


@pytest.mark.parametrize(
    "bad", ["NaN", "nan", "Infinity", "-Infinity", "true", "false", "null", "None"]
)
def test_adversarial_special_values(bad: str) -> None:
    for answer in (f"[{bad}, 2, 3, 4]", f"[{{'Position': [1, 2, 3, 4], 'Confidence': {bad}}}]"):
        d = parse_detections(answer)
        assert len(d) == 0 and d.n_invalid == 1


def test_adversarial_nested_tags() -> None:
    text = "<think><think>a</think></think><answer><answer>[1, 2, 3, 4]</answer></answer>"
    c = parse_completion(text)
    assert not c.format_ok
    assert parse_detections(c.answer).raw_boxes.tolist() == [[1, 2, 3, 4]]
    text = "<think>a</think><answer>" + "<think>" * 10_000 + "</answer>"
    assert not parse_completion(text).format_ok


def test_public_api() -> None:
    for name in vr.__all__:
        assert hasattr(vr, name), name


@pytest.mark.parametrize("n", [1000, 1001, 1002, 3000])
def test_points_past_the_cap_set_overflow(n: int) -> None:
    answer = ", ".join(f"({k % 1000}, 5)" for k in range(n))
    got = parse_points(answer)
    assert got.overflow == (n > 1000)
    assert len(got) == min(n, 1000)
    boxes = "[" + ", ".join(f"[0, 0, {k % 999 + 1}, 5]" for k in range(n)) + "]"
    assert parse_detections(boxes).overflow == (n > 1000)  # the same rule as boxes
