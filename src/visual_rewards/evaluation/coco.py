"""COCO detection metrics, exactly pycocotools' ``COCOeval`` numbers, computed in numpy.

:func:`coco_evaluate` runs the evaluator of :mod:`visual_rewards.evaluation.lvis` with COCO's
rules (the same one LVIS uses with the federated rules). Its 12 stats and its precision and
recall arrays equal pycocotools' bit for bit, boxes and masks (the tests hold pycocotools as
the judge), at a fraction of the time: every image–category pair is matched once for all
thresholds and area ranges, in numpy (figures in docs/performance.md). Masks (``segm``) take
their IoUs from ``pycocotools.mask`` (the ``coco`` extra); boxes need no extra.
It adds per-category AP / AP50 read from the same precision array (the per-category tables
of the paper's Tables 3, 7 and 8).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "COCO_STAT_NAMES",
    "DetectionMetrics",
    "coco_evaluate",
    "load_json",
    "per_category_table",
]

#: Names of COCOeval's 12 ``stats``, in order.
COCO_STAT_NAMES = (
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "AR1",
    "AR10",
    "AR100",
    "ARs",
    "ARm",
    "ARl",
)


@dataclass(frozen=True)
class DetectionMetrics:
    """Detection results.

    Attributes:
        stats: metric name -> value (``-1.0`` where undefined, as pycocotools reports it).
        per_category: category name -> ``{"AP": …, "AP50": …, "n_gt": …}``
            (AP is ``-1.0`` for a category without ground truth).
        kind: ``"coco"`` or ``"lvis"``.
        n_detections: detections evaluated; ``n_dropped``: detections on unknown images or
            categories, left out.
    """

    stats: dict[str, float]
    per_category: dict[str, dict[str, float]]
    kind: str
    n_detections: int = 0
    n_dropped: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "stats": self.stats,
            "per_category": self.per_category,
            "n_detections": self.n_detections,
            "n_dropped": self.n_dropped,
            "notes": self.notes,
        }


def load_json(source: Path | str | Mapping[str, Any] | Sequence[Any]) -> Any:
    """A JSON document from a path, or the object itself (not copied: the evaluators here
    never modify their inputs)."""
    if isinstance(source, (str, Path)):
        with open(source, encoding="utf-8") as f:
            return json.load(f)
    return source


def per_category_ap(
    precision: npt.NDArray[np.float64], cat_axis: int = 2
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """AP and AP50 per category from a ``(T, R, K, A[, M])`` precision array.

    Uses area "all" (index 0) and the last max-detections setting, averaging entries > -1
    (``-1.0`` where a category has none), as COCOeval's summary does.
    """
    p = precision[..., 0, -1] if precision.ndim == 5 else precision[..., 0]
    k = p.shape[cat_axis]
    ap = np.full(k, -1.0)
    ap50 = np.full(k, -1.0)
    for i in range(k):
        s = p[:, :, i]
        if (s > -1).any():
            ap[i] = float(np.mean(s[s > -1]))
        s50 = p[0, :, i]
        if (s50 > -1).any():
            ap50[i] = float(np.mean(s50[s50 > -1]))
    return ap, ap50


def per_category_table(
    ground_truth: Mapping[str, Any],
    precision: npt.NDArray[np.float64],
    cat_ids: Sequence[Any],
    evaluated: set[Any],
    *,
    count_crowd: bool,
    only_evaluated: bool = False,
) -> dict[str, dict[str, float]]:
    """Category name -> ``{"AP", "AP50", "n_gt"}`` from an accumulated precision array.

    ``n_gt`` counts the annotations on the ``evaluated`` images (crowd ones only when
    ``count_crowd``); ``only_evaluated`` leaves out categories with neither ground truth
    nor an AP (LVIS lists only those it evaluated).
    """
    ap, ap50 = per_category_ap(precision)
    n_gt: dict[Any, int] = {}
    for ann in ground_truth.get("annotations", []):
        if (count_crowd or not ann.get("iscrowd", 0)) and ann["image_id"] in evaluated:
            n_gt[ann["category_id"]] = n_gt.get(ann["category_id"], 0) + 1
    names = {c["id"]: str(c.get("name", c["id"])) for c in ground_truth.get("categories", [])}
    return {
        names[cid]: {"AP": float(ap[i]), "AP50": float(ap50[i]), "n_gt": n_gt.get(cid, 0)}
        for i, cid in enumerate(cat_ids)
        if not only_evaluated or n_gt.get(cid, 0) > 0 or ap[i] > -1
    }


def _known(ids: Sequence[Any], known: set[Any], what: str) -> set[Any]:
    unknown = sorted(set(ids) - known, key=str)
    if unknown:
        raise ValueError(f"unknown {what} id(s) {unknown[:10]} (not in the annotation file)")
    if not ids:
        raise ValueError(f"no {what} ids to evaluate")
    return set(ids)


def coco_evaluate(
    ground_truth: Path | str | Mapping[str, Any],
    detections: Path | str | Sequence[Mapping[str, Any]],
    iou_type: str = "bbox",
    *,
    cat_ids: Sequence[int] | None = None,
    img_ids: Sequence[int] | None = None,
) -> DetectionMetrics:
    """Evaluate detections against a COCO annotation file: pycocotools' ``COCOeval`` numbers.

    Args:
        ground_truth: a COCO annotation file or its parsed dict (not modified).
        detections: COCO results (a list of ``{"image_id", "category_id", "bbox": [x, y, w, h]
            in pixels, "score"}``, with ``"segmentation"`` for masks) or a path to one.
            Detections on images or categories that are not in the ground truth are dropped
            (pycocotools would refuse them) and counted.
        iou_type: ``"bbox"`` or ``"segm"``.
        cat_ids, img_ids: evaluate only these categories / images (COCOeval's
            ``params.catIds`` / ``params.imgIds``), e.g. the paper's novel categories or the
            images a partial run has outputs for. Default: all.

    Returns:
        :class:`DetectionMetrics` whose ``stats`` are COCOeval's 12 stats exactly.

    >>> gt = {"images": [{"id": 1}], "categories": [{"id": 1, "name": "cat"}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
    ...                        "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0}]}
    >>> m = coco_evaluate(gt, [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 9],
    ...                         "score": 0.9}])
    >>> [round(m.stats[k], 6) for k in ("AP50", "AP75", "AP")]  # IoU 0.9: 9 of 10 thresholds
    [1.0, 1.0, 0.9]
    """
    from visual_rewards.evaluation.lvis import box_evaluate  # the engine; it imports this module

    if iou_type not in ("bbox", "segm"):
        raise ValueError(f"iou_type must be 'bbox' or 'segm', got {iou_type!r}")
    gt_data = load_json(ground_truth)
    dts = load_json(detections)
    if not isinstance(dts, list):
        raise ValueError(f"detections must be a list of COCO results, got {type(dts).__name__}")
    img_ids_all = {img["id"] for img in gt_data.get("images", [])}
    cat_ids_all = {c["id"] for c in gt_data.get("categories", [])}
    kept = [
        d for d in dts if d.get("image_id") in img_ids_all and d.get("category_id") in cat_ids_all
    ]
    cats = None if cat_ids is None else sorted(_known(cat_ids, cat_ids_all, "category"))
    imgs = None if img_ids is None else sorted(_known(img_ids, img_ids_all, "image"))
    ev = box_evaluate(gt_data, kept, federated=False, cat_ids=cats, img_ids=imgs, iou_type=iou_type)
    stats = dict(zip(COCO_STAT_NAMES, ev.coco_stats(), strict=True))
    evaluated = img_ids_all if imgs is None else set(imgs)
    per_category = per_category_table(
        gt_data, ev.precision, ev.cat_ids, evaluated, count_crowd=False
    )
    return DetectionMetrics(
        stats=stats,
        per_category=per_category,
        kind="coco",
        n_detections=len(kept),
        n_dropped=len(dts) - len(kept),
    )
