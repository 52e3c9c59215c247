"""Pure numpy box geometry: IoU and GIoU, single and batched.

Every box is ``xyxy`` -- ``(x1, y1, x2, y2)`` with ``x`` along the image width -- in any one
coordinate space (IoU and GIoU are ratios of areas, so they do not change when both boxes are
scaled along an axis). Nothing here raises on degenerate boxes: a box with ``x2 <= x1`` or
``y2 <= y1`` has zero area, its IoU with anything is 0, and no division by zero happens.

The arithmetic of :func:`box_iou` follows the Visual-RFT released code term by term
(intersection = product of the clamped overlaps; union = area_a + area_b - intersection), so
that the ``visual_rft`` detection preset reproduces it bit for bit.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "batched_box_giou",
    "batched_box_iou",
    "box_area",
    "box_giou",
    "box_iou",
    "masked_batched_box_iou",
    "pad_boxes",
    "pad_flat",
    "valid_boxes",
]

FloatArray = npt.NDArray[np.float64]


def _as_boxes(boxes: npt.ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(*arr.shape[:-1], 4) if arr.ndim >= 2 else arr.reshape(0, 4)
    if arr.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (..., 4) xyxy, got shape {arr.shape}")
    return arr


def box_area(boxes: npt.ArrayLike) -> FloatArray:
    """Area of boxes ``(..., 4)`` xyxy -> ``(...)``; 0 for flipped or zero-area boxes.

    >>> box_area([[0, 0, 2, 3], [5, 5, 4, 6]])
    array([6., 0.])
    """
    b = _as_boxes(boxes, "boxes")
    w = np.maximum(b[..., 2] - b[..., 0], 0.0)
    h = np.maximum(b[..., 3] - b[..., 1], 0.0)
    out: FloatArray = w * h
    return out


def valid_boxes(boxes: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """``(..., 4)`` xyxy -> ``(...)`` bool: finite coordinates with ``x2 > x1`` and ``y2 > y1``.

    >>> valid_boxes([[0, 0, 1, 1], [1, 0, 0, 1], [0, 0, np.nan, 1]])
    array([ True, False, False])
    """
    b = _as_boxes(boxes, "boxes")
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(b).all(axis=-1) & (b[..., 2] > b[..., 0]) & (b[..., 3] > b[..., 1])
    out: npt.NDArray[np.bool_] = ok
    return out


def _iou_parts(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Intersection and union of ``a (..., P, 1, 4)`` and ``b (..., 1, G, 4)`` -> ``(..., P, G)``.

    Degenerate boxes have area 0 and an intersection of 0 with anything.
    """
    ix1 = np.maximum(a[..., 0], b[..., 0])
    iy1 = np.maximum(a[..., 1], b[..., 1])
    ix2 = np.minimum(a[..., 2], b[..., 2])
    iy2 = np.minimum(a[..., 3], b[..., 3])
    overlap = (ix2 > ix1) & (iy2 > iy1)
    inter = np.where(overlap, (ix2 - ix1) * (iy2 - iy1), 0.0)
    # Areas of degenerate boxes are 0 (a flipped box must not have a positive "area").
    area_a = np.where(
        (a[..., 2] > a[..., 0]) & (a[..., 3] > a[..., 1]),
        (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]),
        0.0,
    )
    area_b = np.where(
        (b[..., 2] > b[..., 0]) & (b[..., 3] > b[..., 1]),
        (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]),
        0.0,
    )
    # Same order of operations as the released Visual-RFT code: (area_gt + area_pred) - inter.
    union = (area_b + area_a) - inter
    inter = np.where((area_a > 0) & (area_b > 0), inter, 0.0)
    return inter, union


def _ratio(inter: FloatArray, union: FloatArray) -> FloatArray:
    """IoU from :func:`_iou_parts`: ``inter / union``, 0 where the boxes do not overlap."""
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=inter > 0)
    return out


def _iou(a: FloatArray, b: FloatArray) -> FloatArray:
    return _ratio(*_iou_parts(a[..., :, None, :], b[..., None, :, :]))


def _giou(a: FloatArray, b: FloatArray) -> FloatArray:
    a4 = a[..., :, None, :]
    b4 = b[..., None, :, :]
    inter, union = _iou_parts(a4, b4)
    iou = _ratio(inter, union)
    ex1 = np.minimum(a4[..., 0], b4[..., 0])
    ey1 = np.minimum(a4[..., 1], b4[..., 1])
    ex2 = np.maximum(a4[..., 2], b4[..., 2])
    ey2 = np.maximum(a4[..., 3], b4[..., 3])
    enclose = np.maximum(ex2 - ex1, 0.0) * np.maximum(ey2 - ey1, 0.0)
    penalty = np.zeros_like(inter)
    np.divide(enclose - union, enclose, out=penalty, where=enclose > 0)
    giou = iou - penalty
    # A degenerate box on either side has no meaningful overlap: GIoU -1 (the minimum).
    ok = valid_boxes(a)[..., :, None] & valid_boxes(b)[..., None, :]
    out: FloatArray = np.where(ok, np.clip(giou, -1.0, 1.0), -1.0)
    return out


def box_iou(pred: npt.ArrayLike, gt: npt.ArrayLike) -> FloatArray:
    """IoU of every predicted box with every ground-truth box.

    Args:
        pred: ``(N_pred, 4)`` xyxy.
        gt: ``(N_gt, 4)`` xyxy, in the same coordinate space as ``pred``.

    Returns:
        ``(N_pred, N_gt)`` float64 in ``[0, 1]``; 0 wherever either box is degenerate
        (flipped or zero-area) or the boxes do not overlap. Empty inputs give right-shaped
        empty outputs.

    >>> box_iou([[0, 0, 2, 2], [1, 1, 3, 3]], [[0, 0, 2, 2]])
    array([[1.        ],
           [0.14285714]])
    >>> box_iou(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape
    (0, 1)
    """
    a = _as_boxes(pred, "pred").reshape(-1, 4)
    b = _as_boxes(gt, "gt").reshape(-1, 4)
    return _iou(a, b)


def box_giou(pred: npt.ArrayLike, gt: npt.ArrayLike) -> FloatArray:
    """Generalised IoU (Rezatofighi et al., 2019) of every predicted with every ground-truth box.

    ``GIoU = IoU - (C - U) / C`` with ``C`` the area of the smallest enclosing box and ``U``
    the union. A degenerate (flipped or zero-area) box scores -1, the minimum, so a flipped
    box can never earn more than a correct one.

    Args:
        pred: ``(N_pred, 4)`` xyxy.
        gt: ``(N_gt, 4)`` xyxy, in the same coordinate space.

    Returns:
        ``(N_pred, N_gt)`` float64 in ``[-1, 1]``.

    >>> box_giou([[0, 0, 1, 1], [2, 0, 3, 1]], [[0, 0, 1, 1]])
    array([[ 1.        ],
           [-0.33333333]])
    >>> box_giou([[1000, 1000, 0, 0]], [[0, 0, 1000, 1000]])
    array([[-1.]])
    """
    a = _as_boxes(pred, "pred").reshape(-1, 4)
    b = _as_boxes(gt, "gt").reshape(-1, 4)
    return _giou(a, b)


def _as_batch(boxes: npt.ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (B, N, 4) xyxy, got shape {arr.shape}")
    return arr


def batched_box_iou(pred: npt.ArrayLike, gt: npt.ArrayLike) -> FloatArray:
    """:func:`box_iou` over a padded batch.

    Args:
        pred: ``(B, P, 4)`` xyxy; padding rows should be degenerate (e.g. all zeros).
        gt: ``(B, G, 4)`` xyxy; padding likewise.

    Returns:
        ``(B, P, G)`` float64 in ``[0, 1]``; padding rows/columns are 0.

    >>> batched_box_iou(np.array([[[0, 0, 2, 2]], [[0, 0, 1, 1]]]),
    ...                 np.array([[[1, 1, 3, 3]], [[0, 0, 1, 1]]]))
    array([[[0.14285714]],
    <BLANKLINE>
           [[1.        ]]])
    """
    a = _as_batch(pred, "pred")
    b = _as_batch(gt, "gt")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"batch sizes differ: pred has {a.shape[0]}, gt has {b.shape[0]}")
    return _iou(a, b)


def masked_batched_box_iou(
    pred: FloatArray,
    pred_valid: npt.NDArray[np.bool_],
    gt: FloatArray,
    gt_valid: npt.NDArray[np.bool_],
) -> FloatArray:
    """:func:`batched_box_iou` of the real pairs only, 0 where either side is padding.

    Args:
        pred: ``(B, P, 4)`` xyxy, with ``pred_valid`` ``(B, P)`` marking the real boxes.
        gt: ``(B, G, 4)`` xyxy, with ``gt_valid`` ``(B, G)`` marking the real boxes.

    Returns:
        ``(B, P, G)``: each real pair's IoU, computed by the same operations as
        :func:`batched_box_iou` (the same value to the last bit), and 0 elsewhere -- what
        :func:`batched_box_iou` gives for zero-padding, at the cost of the real pairs alone
        (padded batches of ragged rows are mostly padding).

    >>> pred, gt = np.array([[[0, 0, 2, 2], [0, 0, 0, 0]]]), np.array([[[1, 1, 3, 3]]])
    >>> masked_batched_box_iou(pred, np.array([[True, False]]), gt, np.array([[True]])).tolist()
    [[[0.14285714285714285], [0.0]]]
    """
    real = pred_valid[:, :, None] & gt_valid[:, None, :]
    b, p, g = np.nonzero(real)
    out = np.zeros(real.shape)
    out[b, p, g] = _ratio(*_iou_parts(pred[b, p], gt[b, g]))
    return out


def batched_box_giou(pred: npt.ArrayLike, gt: npt.ArrayLike) -> FloatArray:
    """:func:`box_giou` over a padded batch: ``(B, P, 4)`` x ``(B, G, 4)`` -> ``(B, P, G)``.

    Padding (degenerate) rows/columns are -1.

    >>> batched_box_giou(np.array([[[0, 0, 1, 1]]]), np.array([[[0, 0, 1, 1]]]))
    array([[[1.]]])
    """
    a = _as_batch(pred, "pred")
    b = _as_batch(gt, "gt")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"batch sizes differ: pred has {a.shape[0]}, gt has {b.shape[0]}")
    return _giou(a, b)


def pad_flat(
    boxes: FloatArray, counts: npt.NDArray[np.intp], width: int | None = None
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Lay out flat boxes ``(N, 4)`` -- row ``b`` owning the next ``counts[b]`` -- as
    ``(B, W, 4)`` (zeros as padding) with a ``(B, W)`` mask; ``W`` defaults to ``max(counts)``.

    >>> out, mask = pad_flat(np.arange(12.0).reshape(3, 4), np.array([1, 2]))
    >>> out.shape, mask.tolist()
    ((2, 2, 4), [[True, False], [True, True]])
    """
    w = int(counts.max(initial=0)) if width is None else width
    out = np.zeros((counts.shape[0], w, 4))
    mask = np.arange(w)[None, :] < counts[:, None]
    out[mask] = boxes
    return out, mask


def pad_boxes(
    rows: list[FloatArray], width: int | None = None
) -> tuple[FloatArray, npt.NDArray[np.bool_], npt.NDArray[np.intp]]:
    """Stack ``B`` arrays ``(N_b, 4)`` into ``(B, N, 4)`` (zeros as padding), a ``(B, N)`` mask
    and the ``(B,)`` counts.

    >>> out, mask, counts = pad_boxes([np.zeros((2, 4)), np.zeros((0, 4))])
    >>> out.shape, counts.tolist()
    ((2, 2, 4), [2, 0])
    """
    counts = np.fromiter((r.shape[0] for r in rows), dtype=np.intp, count=len(rows))
    flat = np.concatenate(rows) if counts.sum() else np.zeros((0, 4))
    out, mask = pad_flat(flat, counts, width)
    return out, mask, counts
