"""The batch reader against the general reader, field for field, with zero tolerance.

``parse_detections_batch`` is the path the box rewards use; before these tests no parser test
called it, so every mutant in it (and in the fast path ``_canonical_values``) survived. Answers
here are real payload shapes, mutated the way models break them, in every coordinate space,
with one config for the batch or one per row.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visual_rewards.geometry.coords import CoordConfig
from visual_rewards.parsing import (
    DetectionsBatch,
    parse_detections,
    parse_detections_batch,
)
from visual_rewards.parsing.answers import fast_values

NUMBERS = st.sampled_from(
    [
        "0",
        "5",
        "100",
        "999",
        "1000",
        "1001",
        "1500",
        "1999",
        "-7",
        "0.5",
        "0.25",
        "0.123",
        "12.5",
        "1e2",
        "007",
    ]
)
CONFS = st.sampled_from(["0.9", "0.95", "1", "0", "0.123", "1.5", "-0.2", "0.50", "1.0", "nan"])
LABELS = st.sampled_from(["cat", "dog", "hot dog", ""])


@st.composite
def answers(draw: st.DrawFn) -> str | None:
    kind = draw(st.sampled_from(["vrft", "vrft_dq", "bbox", "bare", "qwen2", "empty", "none"]))
    n = draw(st.integers(0, 4))
    boxes = [[draw(NUMBERS) for _ in range(4)] for _ in range(n)]
    if kind == "none":
        return None
    if kind == "empty":
        return draw(st.sampled_from(["No Objects", "[]", "['No Objects']", "", "none", "'"]))
    if kind in ("vrft", "vrft_dq"):
        q = "'" if kind == "vrft" else '"'
        sep = draw(st.sampled_from([", ", ","]))
        items = [
            f"{{{q}Position{q}: [{sep.join(b)}], {q}Confidence{q}: {draw(CONFS)}}}" for b in boxes
        ]
        text = "[" + ", ".join(items) + "]"
    elif kind == "bbox":
        items = []
        for b in boxes:
            label = draw(LABELS)
            tail = f', "label": "{label}"' if label else ""
            items.append(f'{{"bbox_2d": [{", ".join(b)}]{tail}}}')
        text = "```json\n[" + ", ".join(items) + "]\n```"
    elif kind == "bare":
        text = "[" + ", ".join("[" + ", ".join(b) + "]" for b in boxes) + "]"
    else:
        text = " ".join(f"({b[0]},{b[1]}),({b[2]},{b[3]})" for b in boxes)
    # break it the way models do: a character deleted, inserted or the text cut
    for _ in range(draw(st.integers(0, 2))):
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        op = draw(st.sampled_from(["del", "ins", "cut"]))
        if op == "del":
            text = text[:i] + text[i + 1 :]
        elif op == "ins":
            text = text[:i] + draw(st.sampled_from(list("{}[],:'\" 1.-x"))) + text[i:]
        else:
            text = text[:i]
    return text


CONFIGS = [
    CoordConfig("norm1000"),
    CoordConfig("normalized"),
    CoordConfig("pixel", image_size=(640, 480)),
    CoordConfig("pixel", image_size=(100, 50)),
    CoordConfig("qwen25vl", image_size=(640, 480)),
    CoordConfig("pixel", image_size=(2000, 1500)),  # pixel numbers beyond 1000 are inside
]


def assert_rows_equal(batch: DetectionsBatch, singles: list, n: int) -> None:  # type: ignore[type-arg]
    assert len(batch) == n
    offsets = batch.offsets
    assert offsets.tolist() == [0, *np.cumsum([len(d) for d in singles]).tolist()]
    for i, d in enumerate(singles):
        a, b = offsets[i], offsets[i + 1]
        np.testing.assert_array_equal(batch.boxes[a:b], d.boxes.reshape(-1, 4))
        np.testing.assert_array_equal(batch.raw_boxes[a:b], d.raw_boxes.reshape(-1, 4))
        np.testing.assert_array_equal(batch.scores[a:b], d.scores)  # NaN equals NaN here
        assert batch.labels[a:b] == d.labels
        assert int(batch.counts[i]) == len(d)
        assert int(batch.n_invalid[i]) == d.n_invalid
        assert bool(batch.empty[i]) == d.empty
        assert bool(batch.failed[i]) == d.failed
        assert bool(batch.overflow[i]) == d.overflow
    assert batch.boxes.shape == (offsets[-1], 4) and batch.raw_boxes.shape == (offsets[-1], 4)
    assert batch.scores.shape == (offsets[-1],) and len(batch.labels) == offsets[-1]
    assert batch.counts.dtype == np.intp and batch.n_invalid.dtype == np.intp
    assert batch.empty.dtype == batch.failed.dtype == batch.overflow.dtype == np.bool_
    assert batch.boxes.dtype == batch.raw_boxes.dtype == batch.scores.dtype == np.float64


@settings(max_examples=300, deadline=None)
@given(st.lists(answers(), max_size=6), st.sampled_from(range(len(CONFIGS))), st.data())
def test_batch_equals_general_reader(
    texts: list[str | None], which: int, data: st.DataObject
) -> None:
    max_items = data.draw(st.sampled_from([1000, 3, 1]))
    # one config for the whole batch
    cfg = CONFIGS[which]
    batch = parse_detections_batch(texts, cfg, max_items=max_items)
    singles = [parse_detections(t, cfg, max_items=max_items) for t in texts]
    assert_rows_equal(batch, singles, len(texts))
    # one config per row (equal configs built separately, so not the same object)
    idx = data.draw(
        st.lists(st.sampled_from(range(len(CONFIGS))), min_size=len(texts), max_size=len(texts))
    )
    cfgs = [CoordConfig(CONFIGS[k].coords, CONFIGS[k].image_size) for k in idx]
    batch = parse_detections_batch(texts, cfgs, max_items=max_items)
    singles = [
        parse_detections(t, c, max_items=max_items) for t, c in zip(texts, cfgs, strict=True)
    ]
    assert_rows_equal(batch, singles, len(texts))


def test_per_row_spaces_are_each_rows_own() -> None:
    texts = ["[10, 20, 30, 40]", "[10, 20, 30, 40]", "[10, 20, 30, 40]", "[100, 200, 300, 400]"]
    cfgs = [
        CoordConfig("pixel", image_size=(100, 50)),
        CoordConfig("pixel", image_size=(40, 80)),
        CoordConfig("pixel", image_size=(100, 50)),
        CoordConfig("norm1000"),
    ]
    b = parse_detections_batch(texts, cfgs)
    np.testing.assert_allclose(
        b.boxes,
        [[0.1, 0.4, 0.3, 0.8], [0.25, 0.25, 0.75, 0.5], [0.1, 0.4, 0.3, 0.8], [0.1, 0.2, 0.3, 0.4]],
    )
    # the same object for every row: the shared-config branch, same numbers
    one = CoordConfig("pixel", image_size=(40, 80))
    b = parse_detections_batch(texts[:2], [one, one])
    np.testing.assert_allclose(b.boxes, [[0.25, 0.25, 0.75, 0.5]] * 2)
    b = parse_detections_batch(texts[:2], one)
    np.testing.assert_allclose(b.boxes, [[0.25, 0.25, 0.75, 0.5]] * 2)


def test_default_space_and_config_count() -> None:
    b = parse_detections_batch(["[100, 200, 300, 400]"])
    np.testing.assert_allclose(b.boxes, [[0.1, 0.2, 0.3, 0.4]])
    b = parse_detections_batch(["[100, 200, 300, 400]"], None)
    np.testing.assert_allclose(b.boxes, [[0.1, 0.2, 0.3, 0.4]])
    with pytest.raises(ValueError, match="expected 2 coordinate configs"):
        parse_detections_batch(["a", "b"], [CoordConfig()])
    empty = parse_detections_batch([])
    assert len(empty) == 0 and empty.boxes.shape == (0, 4) and empty.offsets.tolist() == [0]


def test_flipped_and_outside_boxes_are_dropped_per_row() -> None:
    texts = [
        "[{'Position': [1100, 100, 1200, 300], 'Confidence': 0.9}, "
        "{'Position': [100, 100, 300, 300], 'Confidence': 0.8}]",  # outside, then valid
        "[{'Position': [300, 100, 100, 300], 'Confidence': 0.9}]",  # flipped
        "[{'Position': [100, 300, 300, 300], 'Confidence': 0.7}]",  # zero height
        "[{'Position': [100, 100, 300, 300], 'Confidence': 0.6}]",
    ]
    b = parse_detections_batch(texts)
    assert b.counts.tolist() == [1, 0, 0, 1]
    assert b.n_invalid.tolist() == [1, 1, 1, 0]
    np.testing.assert_array_equal(b.scores, [0.8, 0.6])
    np.testing.assert_allclose(b.boxes, [[0.1, 0.1, 0.3, 0.3]] * 2)
    assert b.labels == [None, None]
    labelled = (
        '[{"bbox_2d": [10, 10, 5, 5], "label": "a"}, {"bbox_2d": [1, 1, 5, 5], "label": "b"}]'
    )
    b = parse_detections_batch([labelled, labelled])
    assert b.labels == ["b", "b"] and b.counts.tolist() == [1, 1]
    # clipped into the image, not dropped: raw kept as written
    b = parse_detections_batch(["[-50, 900, 200, 1200]"])
    np.testing.assert_allclose(b.boxes, [[0.0, 0.9, 0.2, 1.0]])
    np.testing.assert_array_equal(b.raw_boxes, [[-50, 900, 200, 1200]])


def test_overflow_and_failures_per_row() -> None:
    many = (
        "["
        + ", ".join(f"{{'Position': [{k}, 0, {k + 1}, 1], 'Confidence': 0.5}}" for k in range(4))
        + "]"
    )
    b = parse_detections_batch(
        [many, "[1, 2, 3, 4]", None, "no boxes here", "No Objects"], max_items=3
    )
    assert b.overflow.tolist() == [True, False, False, False, False]
    assert b.counts.tolist() == [3, 1, 0, 0, 0]
    assert b.failed.tolist() == [False, False, True, True, False]
    assert b.empty.tolist() == [False, False, False, False, True]
    exactly = "[" + ", ".join(f"[{k}, 0, {k + 1}, 1]" for k in range(4)) + "]"
    b = parse_detections_batch([exactly], max_items=3)  # exactly max_items + 1 items
    assert b.overflow.tolist() == [True] and b.counts.tolist() == [3]
    b = parse_detections_batch([exactly], max_items=4)
    assert b.overflow.tolist() == [False] and b.counts.tolist() == [4]
    long = "[1, 2, 3, 4]" + " " * 100
    b = parse_detections_batch([long], max_chars=50)
    assert b.failed.tolist() == [True] and b.counts.tolist() == [0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[{'Position': [1, 2, 3, 4], 'Confidence': 0.5}]", [1.0, 2.0, 3.0, 4.0, 0.5]),
        ('[{"Position": [1, 2, 3, 4], "Confidence": 0.5}]', [1.0, 2.0, 3.0, 4.0, 0.5]),
        # numbers outside the precomputed table: 1001, three decimals, negative
        (
            "[{'Position': [5, -2, 1001.5, 4], 'Confidence': 0.125}]",
            [5.0, -2.0, 1001.5, 4.0, 0.125],
        ),
        # not the canonical spacing: the regex fast path
        ("[{'Position':[1,2,3,4],'Confidence':0.5}]", [1.0, 2.0, 3.0, 4.0, 0.5]),
        ('[{"bbox_2d": [1, 2, 3, 4], "label": "cat"}]', [1.0, 2.0, 3.0, 4.0, float("nan")]),
    ],
)
def test_fast_values_reads_what_is_written(text: str, expected: list[float]) -> None:
    got = fast_values(text, 10)
    assert got is not None
    np.testing.assert_array_equal(got[0], expected)
    assert parse_detections(text).raw_boxes.tolist() == [expected[:4]]


@pytest.mark.parametrize(
    "text",
    [
        "[{'Position': [1, 2, 3, 4], 'Confidence': 1.2.3}]",  # not a number
        "[{'Position': [1, 2, 3, 4], 'Confidence': -}]",
        "[{'Position': [1, 2, 3], 'Confidence': 0.5}]",  # three numbers
        "[{'Position1': [1, 2, 3, 4], 'Confidence': 0.5}]",  # digits in the key
        "[{'Position': [1, 2, 3, 4], 'Confidence': 0.5}, {'Position': [5]}]",
        "[{'Position': [1, 2, 3, 4], 'Confidence': " + "1" * 40 + "}]",  # too long a number
        "[{`Position`: [1, 2, 3, 4], `Confidence`: 0.5}]",  # not a quote
        "{'Position': [1, 2, 3, 4], 'Confidence': 0.5}",  # no list
        "[1, 2, 3, 4]",  # no item
    ],
)
def test_fast_values_declines_what_it_cannot_read_whole(text: str) -> None:
    got = fast_values(text, 10)
    if got is not None:  # taken only when the general reader agrees
        d = parse_detections(text)
        assert d.raw_boxes.tolist() == [got[0][:4]]
    b = parse_detections_batch([text])
    assert_rows_equal(b, [parse_detections(text)], 1)


def test_fast_values_item_limits() -> None:
    item = "{'Position': [1, 2, 3, 4], 'Confidence': 0.5}"
    for n in (1, 2, 64, 65, 70):
        text = "[" + ", ".join([item] * n) + "]"
        got = fast_values(text, 1000)
        assert got is not None and len(got[1]) == n and got[0] == [1.0, 2.0, 3.0, 4.0, 0.5] * n
        assert fast_values(text, n - 1) is None  # more items than max_items: general reader
        assert fast_values(text, n) is not None
    assert fast_values("no braces", 10) is None


def test_rows_read_by_the_general_reader_use_their_own_space() -> None:
    # bare lists take the general reader; in a 2000x1500 image, x = 1500 is inside
    big = CoordConfig("pixel", image_size=(2000, 1500))
    texts = ["[1500, 0, 1800, 100]", "[[1500, 0, 1800, 100], [10, 10, 20, 20]]"]
    for coords in (big, [big, CoordConfig("pixel", image_size=(2000, 1500))]):
        b = parse_detections_batch(texts, coords)
        assert b.counts.tolist() == [1, 2] and b.n_invalid.tolist() == [0, 0]
        np.testing.assert_allclose(b.boxes[0], [0.75, 0.0, 0.9, 100 / 1500])
    # in norm1000 the same numbers are outside the image
    b = parse_detections_batch(texts)
    assert b.counts.tolist() == [0, 1] and b.n_invalid.tolist() == [1, 1]
