"""Judges for the ``visual_rft`` evaluation protocol: the released evaluation, transcribed.

Written from a reading of the authors' released Visual-RFT evaluation code (the COCO/LVIS
inference scripts' output handling, the COCO evaluation notebook, the LVIS evaluation
notebook, the classification inference script); reimplemented here, not copied. It keeps
the released control flow on purpose -- regular expressions, exceptions caught wholesale,
Python objects passed through untouched -- so that the library's linear, typed version in
``visual_rewards.evaluation.protocols`` is checked against the released behaviour, not
against a second copy of itself. Test inputs are small, so the regular expressions are safe
here.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from released_visual_rft import _bbox_list as bbox_list  # the released extract_bbox


def _unique(items: Any) -> list[Any]:
    """The released de-duplication on ``tuple(item['Position'])``."""
    seen: set[Any] = set()
    out = []
    for item in items:
        key = tuple(item["Position"])
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _to_coco(height: int, width: int, position: Any) -> list[Any]:
    x1, y1, x2, y2 = position
    x1 /= 1000.0
    y1 /= 1000.0
    x2 /= 1000.0
    y2 /= 1000.0
    x1 = x1 * width
    y1 = y1 * height
    x2 = x2 * width
    y2 = y2 * height
    return [x1, y1, x2 - x1, y2 - y1]


def released_row(
    response: str, image_id: Any, category_id: Any, width: int, height: int
) -> tuple[list[dict[str, Any]], int]:
    """One (image, category) query of the released COCO/LVIS inference loop.

    Returns the predictions it appends (scores exactly as the model wrote them, strings
    included) and its error count (0 or 1).
    """
    preds: list[dict[str, Any]] = []
    errors = 0
    response = response.replace("[[", "[")
    response = response.replace("]]", "]")
    response = response.replace("\n", "")
    response = response.replace(", ...", "")
    found = re.search(r"<answer>(.*?)</answer>", response)
    response = found.group(1).strip() if found else response.strip()
    response = "<answer>" + response + "</answer>"
    try:
        boxes = bbox_list(response)
        if boxes is None or type(boxes[0]) is str:
            pass
        else:
            for item in _unique(boxes):
                bbox = _to_coco(height, width, item["Position"])
                score = item["Confidence"]
                preds.append(
                    {"image_id": image_id, "category_id": category_id, "bbox": bbox, "score": score}
                )
    except Exception:
        errors += 1
    return preds, errors


def coco_notebook_class_ap(precision: np.ndarray, names: list[str]) -> dict[str, float]:
    """The COCO notebook's per-class AP x 100 from COCOeval's ``eval['precision']``
    ``(T, R, K, A, M)``: area index 0, the last max-dets."""
    out = {}
    for idx, name in enumerate(names):
        p = precision[:, :, idx, 0, -1]
        p = p[p > -1]
        ap = np.mean(p) if p.size else float("nan")
        out[name] = float(ap * 100)
    return out


def lvis_notebook_class_ap(ann_path: str, results: list[dict[str, Any]]) -> dict[str, float]:
    """The LVIS notebook: lvis-api's evaluation, then per-class AP x 100 over every area range.

    Category names are taken in the file's order and paired with the precision columns, as the
    notebook does (the same pairing as by id when the file lists categories by id).
    """
    from lvis import LVIS, LVISEval, LVISResults

    gt = LVIS(ann_path)
    dt = LVISResults(gt, results, max_dets=300)
    ev = LVISEval(gt, dt, "bbox")
    ev.run()
    precision = ev.eval["precision"]
    names = [c["name"] for c in gt.load_cats(gt.get_cat_ids())]
    out = {}
    for idx, name in enumerate(names):
        p = precision[:, :, idx, :]
        p = p[p > -1]
        ap = np.mean(p) if p.size else float("nan")
        out[name] = float(ap * 100)
    return out


def released_class_right(response: str, class_name: str) -> bool:
    """The classification inference script's judgement; an exception counts as wrong."""
    try:
        found = re.search(r"<answer>(.*?)</answer>", response)
        answer = found.group(1)  # type: ignore[union-attr]
        truth = class_name.replace(" ", "").replace("_", "").lower()
        answer = answer.replace(" ", "").replace("_", "").lower()
        return truth in answer or answer in truth
    except Exception:
        return False


LISA_PATTERN = r"\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*,\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)"


def lisa_iou(a: list[float], b: list[float]) -> float:
    """The LISA evaluation's IoU (``1e-6`` added to the union)."""
    xa, ya = max(a[0], b[0]), max(a[1], b[1])
    xb, yb = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, xb - xa) * max(0, yb - ya)
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    return inter / float(area_a + area_b - inter + 1e-6)


def lisa_row_iou(response: str, box_pixel: list[float], size: tuple[int, int]) -> float:
    """One item of the LISA evaluation loop: the first box pattern, or 0 on any failure."""
    w, h = size
    truth = [box_pixel[0] / w, box_pixel[1] / h, box_pixel[2] / w, box_pixel[3] / h]
    try:
        matches = re.findall(LISA_PATTERN, response)
        x1, y1, x2, y2 = map(int, matches[0])
        pred = [int(x1) / 1000, int(y1) / 1000, int(x2) / 1000, int(y2) / 1000]
        return lisa_iou(pred, truth)
    except Exception:
        return 0
