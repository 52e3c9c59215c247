"""Detection evaluation from model outputs: completions -> COCO results -> COCO/LVIS metrics.

Each output row names its image (``image_id``) and, optionally, the category it was asked
about (``category_id`` or a category name; the paper asks for one category per prompt). Its
completion is read with the very parser training uses
(:func:`~visual_rewards.parse_completion` then :func:`~visual_rewards.parse_detections`),
boxes are mapped from the model's coordinate space to the image's pixels (``width``/``height``
of the annotation file's image), and each box becomes a COCO result ``[x, y, w, h]`` with its
confidence as the score (1.0 when the model gave none). Without a row category, a box's own
label picks the category by name (compared after
:func:`~visual_rewards.geometry.labels.normalize_label`, the rewards' rule, so ``"hot-dog"``,
``"hot_dog"`` and ``"Hot Dog"`` name the same category); boxes whose category cannot be found
are dropped and counted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from visual_rewards.evaluation.coco import DetectionMetrics, coco_evaluate
from visual_rewards.evaluation.lvis import is_lvis, lvis_evaluate
from visual_rewards.geometry.coords import CoordConfig, CoordSpace
from visual_rewards.geometry.labels import normalize_label
from visual_rewards.io.rows import row_value

__all__ = ["ConversionStats", "category_ids", "detections_from_outputs", "evaluate_detection"]


@dataclass
class ConversionStats:
    """What happened while turning outputs into detections."""

    rows: int = 0
    boxes: int = 0
    parse_failed: int = 0
    invalid_items: int = 0
    unknown_image: int = 0
    unknown_category: int = 0
    notes: list[str] = field(default_factory=list)


def category_ids(text: str, ground_truth: Mapping[str, Any]) -> list[Any]:
    """The category ids named by ``text``: comma-separated names (any case) or ids.

    Raises ``ValueError`` naming a part that is neither a name nor an id of the file.

    >>> gt = {"categories": [{"id": 3, "name": "Hot Dog"}, {"id": 5, "name": "cat"}]}
    >>> category_ids("hot dog, 5", gt)
    [3, 5]
    """
    cats = [c for c in ground_truth.get("categories", []) if isinstance(c, Mapping)]
    by_name = {normalize_label(str(c.get("name", ""))): c["id"] for c in cats}
    ids = {c["id"] for c in cats}
    out: list[Any] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if normalize_label(part) in by_name:
            out.append(by_name[normalize_label(part)])
        elif part.isdigit() and int(part) in ids:
            out.append(int(part))
        else:
            raise ValueError(f"unknown category {part!r} (not a name or id in the annotations)")
    return out


def detections_from_outputs(
    rows: Iterable[Mapping[str, Any]],
    ground_truth: Mapping[str, Any],
    *,
    coords: CoordSpace = "norm1000",
    completion_field: str = "completion",
    image_field: str = "image_id",
    category_field: str = "category",
    default_score: float = 1.0,
) -> tuple[list[dict[str, Any]], ConversionStats]:
    """Turn model output rows into COCO results (``bbox`` ``[x, y, w, h]`` in pixels).

    Args:
        rows: dicts with ``image_field``, ``completion_field`` and optionally
            ``category_field`` (a category id, or a name) or ``category_id``; these may also
            sit in the row's ``metadata`` (as ``visual-rewards build-dataset`` writes them).
        ground_truth: the COCO/LVIS dataset dict (images with ``width``/``height``, categories).
        coords: the coordinate space the model wrote boxes in.
        default_score: score of a box written without a confidence.

    >>> gt = {"images": [{"id": 7, "width": 200, "height": 100}],
    ...       "categories": [{"id": 3, "name": "cat"}], "annotations": []}
    >>> rows = [{"image_id": 7, "category": "cat",
    ...          "completion": "<answer>[{'Position': [100, 100, 500, 600], 'Confidence': 0.8}]</answer>"}]
    >>> dets, stats = detections_from_outputs(rows, gt)
    >>> dets
    [{'image_id': 7, 'category_id': 3, 'bbox': [20.0, 10.0, 80.0, 50.0], 'score': 0.8}]
    """
    from visual_rewards.parsing import parse_completion, parse_detections

    images = {img["id"]: img for img in ground_truth.get("images", [])}
    cats = ground_truth.get("categories", [])
    cat_ids = {c["id"] for c in cats}
    by_name = _names(cats)
    stats = ConversionStats()
    out: list[dict[str, Any]] = []
    for row in rows:
        stats.rows += 1
        img = images.get(row_value(row, image_field))
        if img is None:
            stats.unknown_image += 1
            continue
        row_cat: Any = row_value(row, "category_id")
        if row_cat is None:
            row_cat = row_value(row, category_field)
        if isinstance(row_cat, str):
            row_cat = by_name.get(normalize_label(row_cat), row_cat)
        if row_cat is not None and row_cat not in cat_ids:
            stats.unknown_category += 1
            continue
        completion = row.get(completion_field, "")
        if not isinstance(completion, (str, list)):
            completion = ""  # not text: nothing can be read (counted as a parse failure)
        cfg = CoordConfig(coords, (int(img["width"]), int(img["height"])))
        det = parse_detections(parse_completion(completion).answer, cfg)
        stats.parse_failed += det.failed
        stats.invalid_items += det.n_invalid
        for box, score, label in zip(
            det.boxes.tolist(), det.scores.tolist(), det.labels, strict=True
        ):
            cat = row_cat if row_cat is not None else by_name.get(normalize_label(label or ""))
            if cat is None:
                stats.unknown_category += 1
                continue
            out.append(_result(img, cat, box, default_score if math.isnan(score) else score))
            stats.boxes += 1
    return out, stats


def _names(categories: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Normalised category name (and LVIS synonym) -> category id; the first one wins."""
    by_name: dict[str, Any] = {}
    for c in categories:
        by_name.setdefault(normalize_label(str(c.get("name", ""))), c["id"])
        for syn in c.get("synonyms", []) or []:
            by_name.setdefault(normalize_label(str(syn)), c["id"])
    return by_name


def _result(img: Mapping[str, Any], cat: Any, box: list[float], score: float) -> dict[str, Any]:
    """A COCO result: ``box`` (normalised xyxy) in the image's pixels as ``[x, y, w, h]``."""
    w, h = float(img["width"]), float(img["height"])
    x1, y1, x2, y2 = box[0] * w, box[1] * h, box[2] * w, box[3] * h
    return {
        "image_id": img["id"],
        "category_id": cat,
        "bbox": [x1, y1, x2 - x1, y2 - y1],
        "score": score,
    }


def evaluate_detection(
    ground_truth: Mapping[str, Any],
    detections: list[dict[str, Any]],
    *,
    kind: str = "auto",
    iou_type: str = "bbox",
    cat_ids: Sequence[Any] | None = None,
    img_ids: Sequence[Any] | None = None,
) -> DetectionMetrics:
    """COCO (pycocotools) or LVIS (federated, numpy) metrics; ``kind`` ``"auto"`` looks at the data.

    ``cat_ids`` / ``img_ids`` restrict the evaluation to those categories / images; the
    inputs are neither copied nor modified.
    """
    if kind == "auto":
        kind = "lvis" if is_lvis(ground_truth) else "coco"
    if kind == "lvis":
        if iou_type != "bbox":
            raise ValueError("LVIS evaluation here is for boxes only (iou_type='bbox')")
        return lvis_evaluate(ground_truth, detections, cat_ids=cat_ids, img_ids=img_ids)
    if kind == "coco":
        return coco_evaluate(
            ground_truth, detections, iou_type=iou_type, cat_ids=cat_ids, img_ids=img_ids
        )
    raise ValueError(f"kind must be 'auto', 'coco' or 'lvis', got {kind!r}")
