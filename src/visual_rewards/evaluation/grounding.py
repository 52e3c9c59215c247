"""Grounding metrics (LISA, RefCOCO): mIoU, gIoU and cIoU for boxes, and for masks if given.

For each row, the predicted box is the first valid box of the completion (read with the
training parser, as the grounding reward reads it) and the target is the first box of the ground truth (read with
:func:`~visual_rewards.targets.parse_box_target`). A row without a readable prediction scores
IoU 0 (intersection 0, union = the target's area).

* ``mIoU`` -- mean per-row IoU (the paper's Table 5 box metric);
* ``gIoU`` -- LISA's "generalised IoU": the mean of per-row IoUs, which for one box per row is
  the same number as mIoU (kept under both names so tables can be compared);
* ``cIoU`` -- cumulative intersection over cumulative union over all rows (in pixels when the
  row gives ``image_size``, else in normalised units);
* ``Acc@0.5`` -- the fraction of rows with IoU > 0.5 (RefCOCO's accuracy).

Masks: when a row has ``pred_mask`` and ``gt_mask`` (a 2-D 0/1 list, or COCO RLE
``{"size": [h, w], "counts": …}``, compressed or not; decoded here, no pycocotools needed), the same gIoU and cIoU are
computed on the masks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from visual_rewards.geometry.coords import CoordConfig, CoordSpace
from visual_rewards.io.images import image_sizes
from visual_rewards.io.rows import row_value
from visual_rewards.parsing import parse_completion, parse_detections
from visual_rewards.targets import parse_box_target

__all__ = ["decode_mask", "grounding_metrics"]


def _rle_counts(counts: str | bytes) -> list[int]:
    """COCO's compressed RLE string -> run lengths (pycocotools' ``rleFrString``)."""
    data = counts.encode("ascii") if isinstance(counts, str) else counts
    out: list[int] = []
    p = 0
    while p < len(data):
        x, k, more = 0, 0, True
        while more:
            c = data[p] - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(out) > 2:
            x += out[-2]
        out.append(x)
    return out


def decode_mask(mask: Any) -> npt.NDArray[np.bool_]:
    """A boolean ``(H, W)`` mask from a 0/1 nested list or a COCO RLE dict.

    RLE: ``{"size": [H, W], "counts": [runs…] or "compressed string"}``, runs alternate
    0s and 1s (starting with 0s) in column-major order, as COCO writes them.

    >>> decode_mask({"size": [2, 3], "counts": [1, 2, 3]}).astype(int)
    array([[0, 1, 0],
           [1, 0, 0]])
    >>> decode_mask([[0, 1], [1, 1]]).sum()
    np.int64(3)
    """
    if isinstance(mask, Mapping):
        h, w = (int(v) for v in mask["size"])
        counts = mask["counts"]
        runs = _rle_counts(counts) if isinstance(counts, (str, bytes)) else [int(c) for c in counts]
        if sum(runs) != h * w or any(r < 0 for r in runs):
            raise ValueError(f"RLE runs sum to {sum(runs)}, expected {h} * {w}")
        values = np.arange(len(runs)) % 2 == 1
        flat: npt.NDArray[np.bool_] = np.repeat(values, runs)
        out: npt.NDArray[np.bool_] = flat.reshape(w, h).T.copy()
        return out
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"a mask must be 2-D (H, W), got shape {arr.shape}")
    return arr.astype(bool)


def _first_box(
    row: Mapping[str, Any], cfg: CoordConfig, field: str
) -> npt.NDArray[np.float64] | None:
    completion = row.get(field, "")
    if not isinstance(completion, (str, list)):
        got = type(completion).__name__
        raise TypeError(f"field {field!r} must be a string or a list of messages, got {got}")
    det = parse_detections(parse_completion(completion).answer, cfg)
    return det.boxes[0] if len(det) else None


def _box_row(
    row: Mapping[str, Any], coords: CoordSpace, completion_field: str, solution_field: str
) -> tuple[float, float, bool] | None:
    """``(intersection, union, no prediction)`` of one row's first boxes, or None when its
    ground truth gives no box (raises ``ValueError``/``TypeError`` on a malformed row)."""
    size = row_value(row, "image_size")  # checked by check_grounding_row
    sizes = image_sizes({"image_size": [size]}, 1) if size is not None else None
    image_size = sizes[0] if sizes else None
    if image_size is None and coords in ("pixel", "qwen25vl"):
        return None  # cannot map pixels without the image size
    cfg = CoordConfig(coords, image_size)
    try:
        target = parse_box_target(row.get(solution_field), cfg)
    except ValueError:
        return None
    if len(target) == 0:
        return None
    gt = target.boxes[0]
    pred = _first_box(row, cfg, completion_field)
    sx, sy = (float(image_size[0]), float(image_size[1])) if image_size else (1.0, 1.0)
    g_area = float((gt[2] - gt[0]) * sx * (gt[3] - gt[1]) * sy)
    if pred is None:
        return 0.0, g_area, True
    w = max(0.0, min(pred[2], gt[2]) - max(pred[0], gt[0])) * sx
    h = max(0.0, min(pred[3], gt[3]) - max(pred[1], gt[1])) * sy
    inter = float(w * h)
    p_area = float((pred[2] - pred[0]) * sx * (pred[3] - pred[1]) * sy)
    return inter, p_area + g_area - inter, False


def _mask_row(row: Mapping[str, Any]) -> tuple[int, int] | None:
    """``(intersection, union)`` of the row's masks in pixels, or None without masks."""
    if "pred_mask" not in row or "gt_mask" not in row:
        return None
    pm, gm = decode_mask(row["pred_mask"]), decode_mask(row["gt_mask"])
    if pm.shape != gm.shape:
        raise ValueError(f"pred_mask {pm.shape} and gt_mask {gm.shape} differ in shape")
    return int(np.logical_and(pm, gm).sum()), int(np.logical_or(pm, gm).sum())


def grounding_metrics(
    rows: Iterable[Mapping[str, Any]],
    *,
    coords: CoordSpace = "norm1000",
    completion_field: str = "completion",
    solution_field: str = "solution",
    skipped: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """mIoU / gIoU / cIoU / Acc@0.5 over rows (see the module docstring).

    A malformed row (a mistyped ``image_size``, an undecodable mask, ...) is left out and
    reported in ``skipped`` as ``{"row": index, "error": reason}``, never fatal; its count
    is ``skipped_rows`` in the result.

    >>> rows = [{"completion": "<answer>[0, 0, 500, 500]</answer>", "solution": [0, 0, 500, 500]},
    ...         {"completion": "<answer>[0, 0, 500, 1000]</answer>", "solution": [0, 0, 1000, 1000]}]
    >>> m = grounding_metrics(rows)
    >>> m["box"]["mIoU"], m["box"]["cIoU"], m["box"]["Acc@0.5"]
    (0.75, 0.6, 0.5)
    """
    from visual_rewards.evaluation.inputs import check_grounding_row

    boxes: list[tuple[float, float, bool]] = []
    masks: list[tuple[int, int]] = []
    n_bad_gt = n_skipped = 0
    for index, row in enumerate(rows):
        try:
            problem = check_grounding_row(row)
            if problem is not None:
                raise ValueError(problem)
            box = _box_row(row, coords, completion_field, solution_field)
            mask = _mask_row(row) if box is not None else None
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            n_skipped += 1
            if skipped is not None:
                skipped.append({"row": index, "error": str(exc)[:300]})
            continue
        if box is None:
            n_bad_gt += 1
            continue
        boxes.append(box)
        if mask is not None:
            masks.append(mask)
    return _summarize(boxes, masks, n_bad_gt, n_skipped)


def _summarize(
    boxes: list[tuple[float, float, bool]],
    masks: list[tuple[int, int]],
    n_bad_gt: int,
    n_skipped: int,
) -> dict[str, Any]:
    ious = np.asarray([i / u if u > 0 else 0.0 for i, u, _ in boxes])
    inter_sum = sum(i for i, _, _ in boxes)
    union_sum = sum(u for _, u, _ in boxes)
    out: dict[str, Any] = {
        "rows": len(boxes) + n_bad_gt,
        "bad_ground_truth": n_bad_gt,
        "no_prediction": sum(1 for *_, none in boxes if none),
        "skipped_rows": n_skipped,
        "box": {
            "mIoU": float(ious.mean()) if ious.size else None,
            "gIoU": float(ious.mean()) if ious.size else None,
            "cIoU": float(inter_sum / union_sum) if union_sum > 0 else None,
            "Acc@0.5": float((ious > 0.5).mean()) if ious.size else None,
        },
    }
    if masks:
        m_inter = sum(i for i, _ in masks)
        m_union = sum(u for _, u in masks)
        out["mask"] = {
            "gIoU": float(np.mean([i / u if u else 1.0 for i, u in masks])),
            "cIoU": m_inter / m_union if m_union else None,
            "n": len(masks),
        }
    return out
