"""COCO detection metrics through pycocotools (the ``coco`` extra).

:func:`coco_evaluate` runs pycocotools' own ``COCOeval`` unchanged, so its 12 stats are
pycocotools' numbers exactly; it adds per-category AP / AP50 read from the same
``eval["precision"]`` array (the per-category tables of the paper's Tables 3, 7 and 8).
"""

from __future__ import annotations

import contextlib
import copy
import io
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
    """A JSON document from a path, or the object itself (deep-copied: evaluators mutate)."""
    if isinstance(source, (str, Path)):
        with open(source, encoding="utf-8") as f:
            return json.load(f)
    return copy.deepcopy(source)


def _require_pycocotools() -> Any:
    try:
        from pycocotools.coco import COCO
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "COCO evaluation needs pycocotools: pip install 'visual-rewards[coco]'"
        ) from None
    return COCO


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
    """Evaluate detections against a COCO annotation file with pycocotools' ``COCOeval``.

    Args:
        ground_truth: a COCO annotation file or its parsed dict.
        detections: COCO results (a list of ``{"image_id", "category_id", "bbox": [x, y, w, h]
            in pixels, "score"}``) or a path to one. Detections on images or categories that
            are not in the ground truth are dropped (pycocotools would refuse them) and counted.
        iou_type: ``"bbox"`` or ``"segm"``.
        cat_ids, img_ids: evaluate only these categories / images (COCOeval's
            ``params.catIds`` / ``params.imgIds``), e.g. the paper's novel categories or the
            images a partial run has outputs for. Default: all.

    Returns:
        :class:`DetectionMetrics` whose ``stats`` are COCOeval's 12 stats exactly.
    """
    coco_cls = _require_pycocotools()
    from pycocotools.cocoeval import COCOeval

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
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        gt = coco_cls()
        gt.dataset = gt_data
        gt.createIndex()
        if kept:
            dt = gt.loadRes(kept)
        else:  # loadRes cannot take an empty list
            dt = coco_cls()
            dt.dataset = {
                "images": gt_data.get("images", []),
                "categories": gt_data.get("categories", []),
                "annotations": [],
            }
            dt.createIndex()
        ev = COCOeval(gt, dt, iou_type)
        if cat_ids is not None:
            ev.params.catIds = sorted(_known(cat_ids, cat_ids_all, "category"))
        if img_ids is not None:
            ev.params.imgIds = sorted(_known(img_ids, img_ids_all, "image"))
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = {name: float(v) for name, v in zip(COCO_STAT_NAMES, ev.stats, strict=True)}
    precision = np.asarray(ev.eval["precision"])
    per_category = per_category_table(
        gt_data, precision, ev.params.catIds, set(ev.params.imgIds), count_crowd=False
    )
    return DetectionMetrics(
        stats=stats,
        per_category=per_category,
        kind="coco",
        n_detections=len(kept),
        n_dropped=len(dts) - len(kept),
    )
