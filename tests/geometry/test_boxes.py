"""box_iou / box_giou and their batched variants against plain loops."""

from __future__ import annotations

import numpy as np
import pytest
import reference_rewards as ref
from hypothesis import given, settings
from hypothesis import strategies as st

from visual_rewards import batched_box_giou, batched_box_iou, box_giou, box_iou
from visual_rewards.geometry.boxes import box_area, valid_boxes

coord = st.integers(-20, 120).map(float)
box = st.tuples(coord, coord, coord, coord)
boxes = st.lists(box, max_size=6)


def _ref_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ok = a[2] > a[0] and a[3] > a[1] and b[2] > b[0] and b[3] > b[1]
    return ref.iou(a, b) if ok else 0.0  # type: ignore[arg-type]


def _ref_giou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ok = a[2] > a[0] and a[3] > a[1] and b[2] > b[0] and b[3] > b[1]
    return ref.giou(a, b) if ok else -1.0  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(boxes, boxes)
def test_iou_and_giou_match_loops(p: list[tuple[float, ...]], g: list[tuple[float, ...]]) -> None:
    with np.errstate(all="raise"):
        m = box_iou(np.array(p).reshape(-1, 4), np.array(g).reshape(-1, 4))
        gm = box_giou(np.array(p).reshape(-1, 4), np.array(g).reshape(-1, 4))
    assert m.shape == gm.shape == (len(p), len(g))
    for i, a in enumerate(p):
        for j, b in enumerate(g):
            assert m[i, j] == _ref_iou(a, b)
            assert gm[i, j] == pytest.approx(_ref_giou(a, b), abs=1e-12)
    assert ((m >= 0) & (m <= 1)).all() and ((gm >= -1) & (gm <= 1)).all()
    assert (gm <= m + 1e-12).all()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(boxes, boxes), min_size=1, max_size=5))
def test_batched_equals_per_row(
    rows: list[tuple[list[tuple[float, ...]], list[tuple[float, ...]]]],
) -> None:
    width_p = max(len(p) for p, _ in rows)
    width_g = max(len(g) for _, g in rows)
    pb = np.zeros((len(rows), width_p, 4))
    gb = np.zeros((len(rows), width_g, 4))
    for k, (p, g) in enumerate(rows):
        pb[k, : len(p)] = np.array(p).reshape(-1, 4)
        gb[k, : len(g)] = np.array(g).reshape(-1, 4)
    bi, bg = batched_box_iou(pb, gb), batched_box_giou(pb, gb)
    assert bi.shape == bg.shape == (len(rows), width_p, width_g)
    for k, (p, g) in enumerate(rows):
        np.testing.assert_array_equal(
            bi[k, : len(p), : len(g)],
            box_iou(np.array(p).reshape(-1, 4), np.array(g).reshape(-1, 4)),
        )
        np.testing.assert_array_equal(
            bg[k, : len(p), : len(g)],
            box_giou(np.array(p).reshape(-1, 4), np.array(g).reshape(-1, 4)),
        )
        assert (bi[k, len(p) :] == 0).all() and (bi[k, :, len(g) :] == 0).all()


def test_known_values_and_empties() -> None:
    assert box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3]])[0, 0] == pytest.approx(1 / 7)
    assert box_iou([[0, 0, 1, 1]], [[1, 0, 2, 1]])[0, 0] == 0.0  # touching
    assert box_giou([[0, 0, 1, 1]], [[2, 0, 3, 1]])[0, 0] == pytest.approx(-1 / 3)
    assert box_iou(np.zeros((0, 4)), np.zeros((3, 4))).shape == (0, 3)
    assert box_giou(np.zeros((2, 4)), np.zeros((0, 4))).shape == (2, 0)
    assert box_iou([], []).shape == (0, 0)
    assert batched_box_iou(np.zeros((2, 0, 4)), np.zeros((2, 3, 4))).shape == (2, 0, 3)


def test_degenerate_boxes_never_score() -> None:
    flipped = [[1000, 1000, 0, 0]]
    gt = [[0, 0, 1000, 1000]]
    assert box_iou(flipped, gt)[0, 0] == 0.0
    assert box_giou(flipped, gt)[0, 0] == -1.0
    assert box_giou([[0, 0, 0, 10]], gt)[0, 0] == -1.0  # zero width
    assert box_area([[0, 0, 2, 3], [3, 3, 1, 1]]).tolist() == [6.0, 0.0]
    assert valid_boxes([[0, 0, 1, 1], [0, 0, np.inf, 1], [1, 1, 1, 2]]).tolist() == [
        True,
        False,
        False,
    ]


def test_shape_errors_are_caller_errors() -> None:
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        box_iou([[0, 0, 1]], [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match="batch sizes"):
        batched_box_iou(np.zeros((2, 1, 4)), np.zeros((3, 1, 4)))
    with pytest.raises(ValueError, match=r"\(B, N, 4\)"):
        batched_box_giou(np.zeros((1, 4)), np.zeros((1, 1, 4)))


_coord = st.sampled_from([0.0, -0.0, 0.25, 0.5, 1.0, 2.0, 1e-300, 3.0])


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(0, 4),
    st.integers(0, 3),
    st.data(),
)
def test_masked_batched_iou_equals_batched_iou_on_zero_padding(
    k: int, width: int, n_gt: int, data: st.DataObject
) -> None:
    """The real pairs' IoUs are computed alone and bit for bit as batched_box_iou's; padding
    (zeros, as pad_boxes and the detection reward lay it out) gives 0 there too."""
    from visual_rewards.geometry.boxes import masked_batched_box_iou

    def padded(w: int) -> tuple[np.ndarray, np.ndarray]:
        counts = data.draw(st.lists(st.integers(0, w), min_size=k, max_size=k))
        mask = np.arange(w)[None, :] < np.array(counts)[:, None]
        boxes = np.array(
            data.draw(st.lists(_coord, min_size=k * w * 4, max_size=k * w * 4)), dtype=np.float64
        ).reshape(k, w, 4)
        boxes[~mask] = 0.0
        return boxes, mask

    pred, pred_valid = padded(width)
    gt, gt_valid = padded(n_gt)
    want = batched_box_iou(pred, gt)
    got = masked_batched_box_iou(pred, pred_valid, gt, gt_valid)
    assert got.shape == want.shape and got.tobytes() == want.tobytes()
