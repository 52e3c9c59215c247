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
    det = parse_detections(parse_completion(row.get(field, "")).answer, cfg)
    return det.boxes[0] if len(det) else None


def grounding_metrics(
    rows: Iterable[Mapping[str, Any]],
    *,
    coords: CoordSpace = "norm1000",
    completion_field: str = "completion",
    solution_field: str = "solution",
) -> dict[str, Any]:
    """mIoU / gIoU / cIoU / Acc@0.5 over rows (see the module docstring).

    >>> rows = [{"completion": "<answer>[0, 0, 500, 500]</answer>", "solution": [0, 0, 500, 500]},
    ...         {"completion": "<answer>[0, 0, 500, 1000]</answer>", "solution": [0, 0, 1000, 1000]}]
    >>> m = grounding_metrics(rows)
    >>> m["box"]["mIoU"], m["box"]["cIoU"], m["box"]["Acc@0.5"]
    (0.75, 0.6, 0.5)
    """
    ious: list[float] = []
    inter_sum = 0.0
    union_sum = 0.0
    n_bad_gt = 0
    n_no_pred = 0
    m_ious: list[float] = []
    m_inter = 0
    m_union = 0
    for row in rows:
        size = row_value(row, "image_size")
        image_size = (int(size[0]), int(size[1])) if size is not None else None
        if image_size is None and coords in ("pixel", "qwen25vl"):
            n_bad_gt += 1  # cannot map pixels without the image size
            continue
        cfg = CoordConfig(coords, image_size)
        try:
            target = parse_box_target(row.get(solution_field), cfg)
        except ValueError:
            n_bad_gt += 1
            continue
        if len(target) == 0:
            n_bad_gt += 1
            continue
        gt = target.boxes[0]
        pred = _first_box(row, cfg, completion_field)
        sx, sy = (float(image_size[0]), float(image_size[1])) if image_size else (1.0, 1.0)
        g_area = (gt[2] - gt[0]) * sx * (gt[3] - gt[1]) * sy
        if pred is None:
            n_no_pred += 1
            inter, union = 0.0, g_area
        else:
            w = max(0.0, min(pred[2], gt[2]) - max(pred[0], gt[0])) * sx
            h = max(0.0, min(pred[3], gt[3]) - max(pred[1], gt[1])) * sy
            inter = w * h
            p_area = (pred[2] - pred[0]) * sx * (pred[3] - pred[1]) * sy
            union = p_area + g_area - inter
        ious.append(float(inter / union) if union > 0 else 0.0)
        inter_sum += float(inter)
        union_sum += float(union)
        if "pred_mask" in row and "gt_mask" in row:
            pm, gm = decode_mask(row["pred_mask"]), decode_mask(row["gt_mask"])
            if pm.shape != gm.shape:
                raise ValueError(f"pred_mask {pm.shape} and gt_mask {gm.shape} differ in shape")
            i = int(np.logical_and(pm, gm).sum())
            u = int(np.logical_or(pm, gm).sum())
            m_ious.append(i / u if u else 1.0)
            m_inter += i
            m_union += u
    arr = np.asarray(ious)
    out: dict[str, Any] = {
        "rows": len(ious) + n_bad_gt,
        "bad_ground_truth": n_bad_gt,
        "no_prediction": n_no_pred,
        "box": {
            "mIoU": float(arr.mean()) if arr.size else None,
            "gIoU": float(arr.mean()) if arr.size else None,
            "cIoU": float(inter_sum / union_sum) if union_sum > 0 else None,
            "Acc@0.5": float((arr > 0.5).mean()) if arr.size else None,
        },
    }
    if m_ious:
        out["mask"] = {
            "gIoU": float(np.mean(m_ious)),
            "cIoU": m_inter / m_union if m_union else None,
            "n": len(m_ious),
        }
    return out
