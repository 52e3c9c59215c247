"""Seeded synthetic COCO and LVIS detection sets, shaped like COCO val2017 and LVIS val.

Used by the exactness tests (with pycocotools and lvis-api as judges) and by
``benchmarks/bench_evaluate.py``. Every set holds the cases the evaluators treat specially:
crowd and ``ignore`` ground truth, empty images, tied scores, more detections than the
per-image limits, zero-area and negative-size detections, LVIS's negative and not-exhaustive
category lists and r/c/f frequencies.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Dataset = dict[str, Any]
Results = list[dict[str, Any]]


def _boxes(rng: np.random.Generator, n: int, w: float, h: float) -> np.ndarray:
    """``(n, 4)`` ``[x, y, w, h]`` boxes inside a ``w`` x ``h`` image, sizes spread over
    COCO's small / medium / large ranges."""
    side = np.exp(rng.uniform(np.log(4), np.log(min(w, h) * 0.9), size=(n, 2)))
    side[:, 0] = np.minimum(side[:, 0], w - 1)
    side[:, 1] = np.minimum(side[:, 1], h - 1)
    x = rng.uniform(0, w - side[:, 0])
    y = rng.uniform(0, h - side[:, 1])
    return np.stack([x, y, side[:, 0], side[:, 1]], axis=1)


def _detections(
    rng: np.random.Generator,
    gt_boxes: np.ndarray,
    gt_cats: np.ndarray,
    n_dets: int,
    cat_pool: np.ndarray,
    size: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to two detections per ground truth jitter its box (same category), the rest are
    random boxes of categories drawn from ``cat_pool``; scores are rounded to 2 decimals so
    that ties are common."""
    n_near = min(n_dets, 2 * len(gt_boxes)) if len(gt_boxes) else 0
    src = rng.integers(0, max(len(gt_boxes), 1), size=n_near)
    near = gt_boxes[src] if n_near else np.zeros((0, 4))
    jitter = rng.normal(0, 0.12, size=(n_near, 4)) * np.repeat(near[:, 2:], 2, axis=1)
    near = near + jitter
    near[:, 2:] = np.maximum(near[:, 2:], 1.0)
    far = _boxes(rng, n_dets - n_near, *size)
    boxes = np.concatenate([near, far])
    cats = np.concatenate([gt_cats[src] if n_near else [], rng.choice(cat_pool, n_dets - n_near)])
    # a detector ranks its hits higher than its misses, most of the time
    scores = np.round(
        rng.random(n_dets) * 0.7 + np.r_[np.full(n_near, 0.3), np.zeros(n_dets - n_near)], 2
    )
    return boxes, cats.astype(np.int64), scores


def _result(img: int, cat: int, box: np.ndarray, score: float) -> dict[str, Any]:
    return {"image_id": img, "category_id": cat, "bbox": box.tolist(), "score": score}


def coco_set(n_images: int, seed: int = 0, dets_per_image: int = 21) -> tuple[Dataset, Results]:
    """A COCO-like set: 80 categories, ~7 objects an image, ~``dets_per_image`` detections."""
    rng = np.random.default_rng(seed)
    cats = [{"id": c, "name": f"cat{c}"} for c in range(1, 91) if c % 9 != 0][:80]
    cat_ids = np.array([c["id"] for c in cats])
    images: list[dict[str, Any]] = []
    anns: list[dict[str, Any]] = []
    dts: Results = []
    for img_id in range(1, n_images + 1):
        w, h = float(rng.integers(320, 641)), float(rng.integers(240, 481))
        images.append(
            {"id": img_id, "width": int(w), "height": int(h), "file_name": f"{img_id}.jpg"}
        )
        n = 0 if img_id % 11 == 0 else int(rng.integers(1, 14))
        boxes = _boxes(rng, n, w, h)
        gcats = rng.choice(cat_ids[: int(rng.integers(3, 80))], n)
        for box, cat in zip(boxes, gcats, strict=True):
            crowd = int(rng.random() < 0.01)
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": img_id,
                    "category_id": int(cat),
                    "bbox": box.tolist(),
                    "area": float(box[2] * box[3] * rng.uniform(0.5, 1.0)),
                    "iscrowd": crowd,
                    "segmentation": _polygon(box),
                }
            )
        n_dets = int(rng.poisson(dets_per_image))
        if img_id % 97 == 0:
            n_dets += 150  # more than 100 in some pairs
        boxes, dcats, scores = _detections(rng, boxes, gcats, n_dets, cat_ids, (w, h))
        if img_id % 97 == 0:
            dcats[-150:] = dcats[0] if len(dcats) > 150 else cat_ids[0]
        dts.extend(
            _result(img_id, int(c), b, float(s))
            for b, c, s in zip(boxes, dcats, scores, strict=True)
        )
    return {"images": images, "annotations": anns, "categories": cats}, dts


def _polygon(box: np.ndarray) -> list[list[float]]:
    """A hexagon inside the box (so segm IoU differs from box IoU)."""
    x, y, w, h = box.tolist()
    return [
        [
            x + w / 4,
            y,
            x + 3 * w / 4,
            y,
            x + w,
            y + h / 2,
            x + 3 * w / 4,
            y + h,
            x + w / 4,
            y + h,
            x,
            y + h / 2,
        ]
    ]


def lvis_set(
    n_images: int, seed: int = 0, dets_per_image: int = 150, n_cats: int = 1203
) -> tuple[Dataset, Results]:
    """An LVIS-like set: ``n_cats`` categories (r/c/f), ~12 objects of ~3 categories an image,
    negative and not-exhaustive lists, ~``dets_per_image`` detections (some images > 300)."""
    rng = np.random.default_rng(seed)
    freq = rng.choice(["r", "c", "f"], n_cats, p=[0.28, 0.38, 0.34])
    cats = [{"id": i + 1, "name": f"c{i + 1}", "frequency": str(f)} for i, f in enumerate(freq)]
    weights = np.where(freq == "f", 20.0, np.where(freq == "c", 4.0, 1.0))
    weights /= weights.sum()
    cat_ids = np.arange(1, n_cats + 1)
    images: list[dict[str, Any]] = []
    anns: list[dict[str, Any]] = []
    dts: Results = []
    for img_id in range(1, n_images + 1):
        w, h = float(rng.integers(320, 641)), float(rng.integers(240, 481))
        present = rng.choice(cat_ids, int(rng.integers(0, 6)), replace=False, p=weights)
        absent = np.setdiff1d(rng.choice(cat_ids, 8, replace=False, p=weights), present)
        counts = rng.integers(1, 7, size=present.size)
        gcats = np.repeat(present, counts)
        boxes = _boxes(rng, gcats.size, w, h)
        images.append(
            {
                "id": img_id,
                "width": int(w),
                "height": int(h),
                "neg_category_ids": [int(c) for c in absent],
                "not_exhaustive_category_ids": [int(c) for c in present if rng.random() < 0.15],
            }
        )
        for box, cat in zip(boxes, gcats, strict=True):
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": img_id,
                    "category_id": int(cat),
                    "bbox": box.tolist(),
                    "area": float(box[2] * box[3] * rng.uniform(0.5, 1.0)),
                    "iscrowd": int(rng.random() < 0.02),  # lvis-api ignores it
                }
            )
        n_dets = int(rng.poisson(dets_per_image)) + (250 if img_id % 13 == 0 else 0)
        pool = np.concatenate([present, absent, rng.choice(cat_ids, 4)])
        boxes, dcats, scores = _detections(rng, boxes, gcats, n_dets, pool, (w, h))
        if n_dets > 3 and img_id % 7 == 0:
            boxes[0, 2] = 0.0  # zero area: lvis-api drops it
            boxes[1, 3] = -2.0  # negative area: dropped too
        dts.extend(
            _result(img_id, int(c), b, float(s))
            for b, c, s in zip(boxes, dcats, scores, strict=True)
        )
    return {"images": images, "annotations": anns, "categories": cats}, dts
