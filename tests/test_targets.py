"""Ground-truth validation."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visual_rewards.geometry.coords import CoordConfig
from visual_rewards.targets import BoxTarget, TargetError, parse_box_target


def test_paper_string_and_no_objects() -> None:
    t = parse_box_target(
        "<answer>[{'Position': [100, 200, 300, 400], 'Confidence': 1}, "
        "{'Position': [0, 0, 1000, 1000], 'Confidence': 1}]</answer>"
    )
    np.testing.assert_array_equal(t.boxes, [[0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1]])
    np.testing.assert_array_equal(t.raw_boxes, [[100, 200, 300, 400], [0, 0, 1000, 1000]])
    assert t.labels is None and t.coord == CoordConfig("norm1000")
    for empty in ("<answer>No Objects</answer>", "No Objects", "[]", []):
        assert len(parse_box_target(empty)) == 0


def test_lists_and_dicts() -> None:
    a = parse_box_target([[100, 200, 300, 400]])
    b = parse_box_target([100, 200, 300, 400])
    c = parse_box_target(np.array([[100, 200, 300, 400]]))
    d = parse_box_target([{"bbox_2d": [100, 200, 300, 400], "label": "cat"}])
    e = parse_box_target(
        {"boxes": [[0.1, 0.2, 0.3, 0.4]], "coords": "normalized", "labels": ["cat"]}
    )
    for t in (a, b, c, d, e):
        np.testing.assert_allclose(t.boxes, [[0.1, 0.2, 0.3, 0.4]])
    assert d.labels == ("cat",) and e.labels == ("cat",)
    assert parse_box_target(a) is a and isinstance(a, BoxTarget)


def test_pixel_coordinates_need_an_image_size() -> None:
    t = parse_box_target(
        {"boxes": [[64, 48, 320, 240]], "coords": "pixel", "image_size": (640, 480)}
    )
    np.testing.assert_allclose(t.boxes, [[0.1, 0.1, 0.5, 0.5]])
    t2 = parse_box_target([[64, 48, 320, 240]], CoordConfig("pixel", (640, 480)))
    np.testing.assert_allclose(t2.boxes, t.boxes)
    with pytest.raises(TargetError, match="image_size"):
        parse_box_target({"boxes": [[64, 48, 320, 240]], "coords": "pixel"})


@pytest.mark.parametrize(
    ("solution", "why"),
    [
        ("<answer>[{'Position': [300, 200, 100, 400]}]</answer>", "invalid ground-truth box"),
        ("<answer>a dog</answer>", "cannot read boxes"),
        ("", "cannot read"),
        ([[1, 2, 3]], "4 numbers"),
        ([[0, 0, float("nan"), 1]], "finite"),
        ([[10, 10, 5, 20]], "x2 > x1"),
        ({"boxes": [[0, 0, 1, 1]], "labels": ["a", "b"]}, "one entry per box"),
        ({"boxes": [[0, 0, 1, 1]], "colour": "red"}, "colour"),
        ({"boxes": [[0, 0, 1, 1]], "coords": "inches"}, "coords"),
        ({"boxes": [[1100, 1100, 1200, 1200]]}, "outside the image"),
        ([{"name": "cat"}], "no box key"),
        (42, "got int"),
        (None, "got NoneType"),
    ],
)
def test_malformed_ground_truth_raises_target_error(solution: object, why: str) -> None:
    with pytest.raises(TargetError, match=why):
        parse_box_target(solution)


def test_target_error_is_a_value_error() -> None:
    assert issubclass(TargetError, ValueError)


def test_batch_reading_equals_one_by_one() -> None:
    from visual_rewards import targets

    gt = "<answer>[{'Position': [100, 200, 300, 400], 'Confidence': 1}]</answer>"
    bad = "<answer>[{'Position': [300, 200, 100, 400]}]</answer>"
    sols: list[object] = [
        gt,
        gt,
        bad,
        bad,
        [[1, 2, 3, 4]],
        "No Objects",
        42,
        gt + " ",
        {"boxes": []},
    ]
    shared = [[5, 5, 50, 50]]
    sols += [shared, shared, "[{'bbox_2d': [1, 2, 30, 40], 'label': 'cat'}]"]
    coords = [CoordConfig()] * len(sols)
    for _ in range(2):  # cold, then warm cache
        targets._STRING_CACHE.clear()
        got = targets.parse_box_targets(sols, coords)
        assert len(got) == len(sols)
        for sol, t in zip(sols, got, strict=True):
            if isinstance(t, TargetError):
                with pytest.raises(TargetError, match=re.escape(str(t))):
                    parse_box_target(sol)
                continue
            want = parse_box_target(sol)
            np.testing.assert_array_equal(t.boxes, want.boxes)
            np.testing.assert_array_equal(t.raw_boxes, want.raw_boxes)
            assert t.labels == want.labels and t.coord == want.coord


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(
        st.sampled_from(["<answer>", "</answer>", "<think>", "a", " ", "[1, 2, 3, 4]"]), max_size=8
    ).map("".join)
)
def test_unwrap_answer_is_the_first_closed_answer_block(text: str) -> None:
    import re

    from visual_rewards.parsing import unwrap_answer

    match = re.search(r"<answer>(.*?)</answer>", text, re.DOTALL)  # the reference, tests only
    assert unwrap_answer(text) == (match.group(1) if match else text).strip()
