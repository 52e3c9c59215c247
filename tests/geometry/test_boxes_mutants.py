"""Boxes in normalised ``[0, 1]`` space, where every area is below 1, and the padding helpers.

Written against the mutants that survived ``tests/geometry/test_boxes.py``, whose boxes all have
integer coordinates (so every area is at least 1 and ``area_a > 0`` -> ``area_a > 1`` went
unnoticed; in normalised space that mutant zeroes every IoU).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import reference_rewards as ref
from hypothesis import given, settings
from hypothesis import strategies as st

from visual_rewards.geometry.boxes import (
    batched_box_giou,
    batched_box_iou,
    box_area,
    box_giou,
    box_iou,
    masked_batched_box_iou,
    pad_boxes,
    pad_flat,
    valid_boxes,
)

unit = st.integers(0, 1000).map(lambda k: k / 1000)
box = st.tuples(unit, unit, unit, unit)


def _ok(a: tuple[float, ...]) -> bool:
    return a[2] > a[0] and a[3] > a[1]


@settings(max_examples=200, deadline=None)
@given(st.lists(box, max_size=5), st.lists(box, max_size=5))
def test_normalised_boxes_match_the_reference(
    p: list[tuple[float, ...]], g: list[tuple[float, ...]]
) -> None:
    pa, ga = np.array(p).reshape(-1, 4), np.array(g).reshape(-1, 4)
    m, gm = box_iou(pa, ga), box_giou(pa, ga)
    bm, bgm = batched_box_iou(pa[None], ga[None]), batched_box_giou(pa[None], ga[None])
    for i, a in enumerate(p):
        for j, b in enumerate(g):
            ok = _ok(a) and _ok(b)
            assert m[i, j] == pytest.approx(ref.iou(a, b) if ok else 0.0, abs=1e-12)  # type: ignore[arg-type]
            assert gm[i, j] == pytest.approx(ref.giou(a, b) if ok else -1.0, abs=1e-12)  # type: ignore[arg-type]
    np.testing.assert_array_equal(bm[0], m)
    np.testing.assert_array_equal(bgm[0], gm)


def test_known_values_in_normalised_space() -> None:
    a = [[0.1, 0.1, 0.3, 0.3]]
    b = [[0.2, 0.2, 0.4, 0.4]]
    # intersection 0.01, areas 0.04 each: IoU = 0.01 / 0.07
    assert box_iou(a, b)[0, 0] == pytest.approx(1 / 7)
    assert box_iou(b, a)[0, 0] == pytest.approx(1 / 7)
    assert box_iou(a, a)[0, 0] == 1.0
    # enclosing box 0.09: GIoU = 1/7 - (0.09 - 0.07) / 0.09
    assert box_giou(a, b)[0, 0] == pytest.approx(1 / 7 - 0.02 / 0.09)
    assert batched_box_iou(np.array([a]), np.array([b]))[0, 0, 0] == pytest.approx(1 / 7)
    assert batched_box_giou(np.array([a]), np.array([b]))[0, 0, 0] == pytest.approx(
        1 / 7 - 0.02 / 0.09
    )
    # a tiny box inside a larger one: IoU is the ratio of areas
    assert box_iou([[0.5, 0.5, 0.51, 0.52]], [[0.5, 0.5, 0.52, 0.52]])[0, 0] == pytest.approx(0.5)
    assert box_area([[0.1, 0.2, 0.4, 0.4]])[0] == pytest.approx(0.06)


@pytest.mark.parametrize(
    ("a", "b", "iou", "giou"),
    [
        # a flipped or zero-area box on either side scores 0 IoU and -1 GIoU
        ([0.3, 0.3, 0.1, 0.1], [0.0, 0.0, 0.5, 0.5], 0.0, -1.0),
        ([0.0, 0.0, 0.5, 0.5], [0.3, 0.3, 0.1, 0.1], 0.0, -1.0),
        ([0.1, 0.1, 0.1, 0.4], [0.0, 0.0, 0.5, 0.5], 0.0, -1.0),  # zero width
        ([0.0, 0.0, 0.5, 0.5], [0.1, 0.2, 0.4, 0.2], 0.0, -1.0),  # zero height
        ([0.1, 0.4, 0.3, 0.1], [0.0, 0.0, 0.5, 0.5], 0.0, -1.0),  # flipped in y only
        ([0.0, 0.0, 0.5, 0.5], [0.4, 0.1, 0.1, 0.3], 0.0, -1.0),  # flipped in x only
        # disjoint boxes: IoU 0, GIoU below 0 but above -1
        ([0.0, 0.0, 0.1, 0.1], [0.2, 0.0, 0.3, 0.1], 0.0, -(0.03 - 0.02) / 0.03),
        ([0.0, 0.0, 0.1, 0.1], [0.0, 0.2, 0.1, 0.3], 0.0, -(0.03 - 0.02) / 0.03),
    ],
)
def test_degenerate_and_disjoint_normalised_boxes(
    a: list[float], b: list[float], iou: float, giou: float
) -> None:
    assert box_iou([a], [b])[0, 0] == pytest.approx(iou)
    assert box_giou([a], [b])[0, 0] == pytest.approx(giou)


def test_a_flipped_box_overlapping_a_valid_one_has_no_area() -> None:
    # the flipped box [0.4, 0.4, 0.2, 0.2] "overlaps" nothing; a valid box beside it keeps its IoU
    iou = box_iou([[0.4, 0.4, 0.2, 0.2], [0.2, 0.2, 0.4, 0.4]], [[0.2, 0.2, 0.4, 0.4]])
    np.testing.assert_allclose(iou, [[0.0], [1.0]])
    # a flipped ground truth does not inflate the union of a valid pair either
    iou = box_iou([[0.0, 0.0, 0.2, 0.2]], [[0.1, 0.1, 0.3, 0.3], [0.3, 0.3, 0.1, 0.1]])
    np.testing.assert_allclose(iou, [[0.01 / 0.07, 0.0]])


def test_valid_boxes_in_normalised_space() -> None:
    out = valid_boxes([[0.1, 0.1, 0.2, 0.2], [0.1, 0.1, 0.1, 0.2], [0.1, 0.2, 0.2, 0.2]])
    assert out.tolist() == [True, False, False]
    assert valid_boxes(np.zeros((0, 4))).shape == (0,)
    assert valid_boxes(np.zeros((2, 0, 4))).shape == (2, 0)
    assert box_area(np.zeros((0, 4))).shape == (0,)


def test_empty_inputs_keep_their_leading_shape() -> None:
    assert box_iou(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0, 0)
    assert box_iou(np.zeros(0), np.zeros((2, 4))).shape == (0, 2)
    assert box_giou(np.zeros((3, 4)), np.zeros(0)).shape == (3, 0)
    assert batched_box_giou(np.zeros((2, 3, 4)), np.zeros((2, 0, 4))).shape == (2, 3, 0)
    with pytest.raises(ValueError, match=r"pred must have shape \(B, N, 4\)"):
        batched_box_iou(np.zeros((1, 4)), np.zeros((1, 1, 4)))
    with pytest.raises(ValueError, match=r"gt must have shape \(B, N, 4\)"):
        batched_box_iou(np.zeros((1, 1, 4)), np.zeros((1, 1, 3)))
    with pytest.raises(ValueError, match=r"gt must have shape \(\.\.\., 4\)"):
        box_giou([[0, 0, 1, 1]], [[0, 0, 1]])
    with pytest.raises(ValueError, match="pred has 2, gt has 3"):
        batched_box_giou(np.zeros((2, 1, 4)), np.zeros((3, 1, 4)))


def test_batched_padding_scores_zero_and_minus_one() -> None:
    pred = np.array([[[0.1, 0.1, 0.3, 0.3], [0.0, 0.0, 0.0, 0.0]]])
    gt = np.array([[[0.1, 0.1, 0.3, 0.3], [0.0, 0.0, 0.0, 0.0]]])
    np.testing.assert_array_equal(batched_box_iou(pred, gt), [[[1.0, 0.0], [0.0, 0.0]]])
    np.testing.assert_array_equal(batched_box_giou(pred, gt), [[[1.0, -1.0], [-1.0, -1.0]]])


def test_pad_flat_and_pad_boxes() -> None:
    flat = np.arange(12.0).reshape(3, 4) / 20
    out, mask = pad_flat(flat, np.array([2, 0, 1]))
    assert out.shape == (3, 2, 4) and mask.tolist() == [[True, True], [False, False], [True, False]]
    np.testing.assert_array_equal(out[0], flat[:2])
    np.testing.assert_array_equal(out[2, 0], flat[2])
    assert (out[1] == 0).all() and (out[2, 1] == 0).all()
    out, mask = pad_flat(flat, np.array([2, 1]), width=4)
    assert out.shape == (2, 4, 4) and mask.sum() == 3
    out, mask = pad_flat(np.zeros((0, 4)), np.zeros(0, dtype=np.intp))
    assert out.shape == (0, 0, 4) and mask.shape == (0, 0)
    rows = [flat[:1], np.zeros((0, 4)), flat[1:]]
    out, mask, counts = pad_boxes(rows)
    assert counts.tolist() == [1, 0, 2] and counts.dtype == np.intp
    assert out.shape == (3, 2, 4)
    np.testing.assert_array_equal(out[2], flat[1:])
    np.testing.assert_array_equal(out[0, 0], flat[0])
    out, mask, counts = pad_boxes([np.zeros((0, 4)), np.zeros((0, 4))], width=3)
    assert out.shape == (2, 3, 4) and not mask.any() and counts.tolist() == [0, 0]
    out, mask, counts = pad_boxes([])
    assert out.shape == (0, 0, 4) and counts.shape == (0,)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: box_area([[0, 0, 1]]), "boxes"),
        (lambda: valid_boxes([[0, 0, 1]]), "boxes"),
        (lambda: box_iou([[0, 0, 1]], [[0, 0, 1, 1]]), "pred"),
        (lambda: box_iou([[0, 0, 1, 1]], [[0, 0, 1]]), "gt"),
        (lambda: box_giou([[0, 0, 1]], [[0, 0, 1, 1]]), "pred"),
        (lambda: box_giou([[0, 0, 1, 1]], [[0, 0, 1]]), "gt"),
    ],
)
def test_shape_errors_name_the_argument(call: Any, name: str) -> None:
    with pytest.raises(
        ValueError, match=rf"^{name} must have shape \(\.\.\., 4\) xyxy, got shape \(1, 3\)$"
    ):
        call()


@pytest.mark.parametrize("fn", [batched_box_iou, batched_box_giou])
def test_batched_errors_name_the_argument(fn: Any) -> None:
    with pytest.raises(
        ValueError, match=r"^pred must have shape \(B, N, 4\) xyxy, got shape \(1, 4\)$"
    ):
        fn(np.zeros((1, 4)), np.zeros((1, 1, 4)))
    with pytest.raises(
        ValueError, match=r"^gt must have shape \(B, N, 4\) xyxy, got shape \(1, 1, 3\)$"
    ):
        fn(np.zeros((1, 1, 4)), np.zeros((1, 1, 3)))
    with pytest.raises(ValueError, match=r"^batch sizes differ: pred has 2, gt has 3$"):
        fn(np.zeros((2, 5, 4)), np.zeros((3, 1, 4)))


@pytest.mark.parametrize("fn", [batched_box_iou, batched_box_giou, box_iou, box_giou])
def test_single_precision_input_is_computed_in_double(fn: Any) -> None:
    # float32 boxes are widened first: the result is the float64 computation on the same values
    a = np.array([[[0.1, 0.1, 0.3, 0.3], [0.15, 0.12, 0.33, 0.4]]], dtype=np.float32)
    b = np.array([[[0.2, 0.2, 0.4, 0.4]]], dtype=np.float32)
    if fn in (box_iou, box_giou):
        a, b = a[0], b[0]
    got = fn(a, b)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, fn(a.astype(np.float64), b.astype(np.float64)))


def test_empty_inputs_of_every_rank() -> None:
    assert box_area(np.zeros(0)).shape == (0,)
    assert valid_boxes(np.zeros(0)).shape == (0,)
    assert box_area([]).shape == (0,)
    assert box_area(np.zeros((3, 0, 4))).shape == (3, 0)
    # a (2, 0) array is two empty rows, not boxes
    for fn in (box_area, valid_boxes):
        with pytest.raises(ValueError, match="cannot reshape array of size 0"):
            fn(np.zeros((2, 0)))


def test_masked_iou_ignores_padding_that_holds_a_box() -> None:
    # a padded slot is 0 whatever it holds, also when only one side of the pair is padding
    pred = np.array([[[0.1, 0.1, 0.3, 0.3], [0.1, 0.1, 0.3, 0.3]]])
    gt = np.array([[[0.1, 0.1, 0.3, 0.3], [0.1, 0.1, 0.3, 0.3]]])
    got = masked_batched_box_iou(pred, np.array([[True, False]]), gt, np.array([[True, False]]))
    np.testing.assert_array_equal(got, [[[1.0, 0.0], [0.0, 0.0]]])
