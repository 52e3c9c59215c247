"""LVIS federated box evaluation in numpy (no ``lvis`` package needed).

LVIS annotates each image exhaustively only for some categories, so its evaluation
(Gupta et al., 2019, and the reference ``lvis-api``) is *federated*:

* per image, only the categories that are present (have ground truth) or listed in the
  image's ``neg_category_ids`` are evaluated; detections of any other category are dropped;
* an unmatched detection of a category listed in the image's ``not_exhaustive_category_ids``
  is ignored (not counted as a false positive);
* at most ``max_dets`` (300) detections per image, the highest-scoring ones, across categories;
* AP is also reported per frequency group: rare (APr), common (APc), frequent (APf).

Matching, interpolation and averaging follow COCOeval (10 IoU thresholds 0.50:0.95, 101
recall points, area ranges all/small/medium/large on the ground truth's ``area``). With
``federated=False`` the same code is COCO's evaluation (crowd boxes included, ``max_dets``
per image and category); the tests check it reproduces pycocotools' COCOeval exactly, which
is how this implementation is validated. Box IoU only (no masks).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from visual_rewards.evaluation.coco import (
    DetectionMetrics,
    _known,
    load_json,
    per_category_table,
)

__all__ = ["BoxEval", "box_evaluate", "coco_box_iou", "lvis_evaluate"]

IOU_THRS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
REC_THRS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
AREA_RNGS = ((0.0, 1e5**2), (0.0, 32.0**2), (32.0**2, 96.0**2), (96.0**2, 1e5**2))
AREA_NAMES = ("all", "small", "medium", "large")


def coco_box_iou(
    dt: npt.NDArray[np.float64], gt: npt.NDArray[np.float64], crowd: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """IoU of ``(D, 4)`` against ``(G, 4)`` boxes in ``[x, y, w, h]``, as pycocotools computes it.

    The arithmetic is in pycocotools' order, so results are bit-identical; for a crowd
    ground truth the union is the detection's area.

    >>> coco_box_iou(np.array([[0.0, 0, 2, 2]]), np.array([[1.0, 0, 2, 2]]), np.array([False]))
    array([[0.33333333]])
    """
    d, g = dt.shape[0], gt.shape[0]
    if d == 0 or g == 0:
        return np.zeros((d, g))
    da = (dt[:, 2] * dt[:, 3])[:, None]
    ga = (gt[:, 2] * gt[:, 3])[None, :]
    w = np.minimum((dt[:, 2] + dt[:, 0])[:, None], (gt[:, 2] + gt[:, 0])[None, :]) - np.maximum(
        dt[:, 0][:, None], gt[:, 0][None, :]
    )
    h = np.minimum((dt[:, 3] + dt[:, 1])[:, None], (gt[:, 3] + gt[:, 1])[None, :]) - np.maximum(
        dt[:, 1][:, None], gt[:, 1][None, :]
    )
    inter = w * h
    union = np.where(crowd[None, :], da, da + ga - inter)
    ok = (w > 0) & (h > 0)
    out = np.zeros((d, g))
    np.divide(inter, union, out=out, where=ok)
    return out


@dataclass(frozen=True)
class BoxEval:
    """Accumulated evaluation.

    Attributes:
        precision: ``(T, R, K, A, M)`` interpolated precision, ``-1`` where undefined
            (T IoU thresholds, R recall points, K categories, A area ranges, M max-dets).
        recall: ``(T, K, A, M)``.
        cat_ids: the K category ids (sorted).
        max_dets: the M max-detections settings.
    """

    precision: npt.NDArray[np.float64]
    recall: npt.NDArray[np.float64]
    cat_ids: list[Any]
    max_dets: tuple[int, ...]

    def coco_stats(self) -> list[float]:
        """COCOeval's 12 stats (needs ``max_dets == (1, 10, 100)``)."""
        ap = [
            self.summarize(True),
            self.summarize(True, iou=0.5),
            self.summarize(True, iou=0.75),
            *[self.summarize(True, area=a) for a in AREA_NAMES[1:]],
        ]
        ar = [self.summarize(False, max_det=m) for m in self.max_dets]
        ar += [self.summarize(False, area=a) for a in AREA_NAMES[1:]]
        return ap + ar

    def summarize(
        self,
        ap: bool,
        iou: float | None = None,
        area: str = "all",
        max_det: int | None = None,
        cat_index: Sequence[int] | None = None,
    ) -> float:
        """Mean of the entries > -1 of one slice, as COCOeval/LVISEval summarize."""
        a = AREA_NAMES.index(area)
        m = self.max_dets.index(max_det if max_det is not None else self.max_dets[-1])
        s = self.precision if ap else self.recall
        if iou is not None:
            s = s[np.where(iou == IOU_THRS)[0]]
        s = s[:, :, :, a, m] if ap else s[:, :, a, m]
        if cat_index is not None:
            s = s[:, :, list(cat_index)] if ap else s[:, list(cat_index)]
        valid = s[s > -1]
        return -1.0 if valid.size == 0 else float(np.mean(valid))


def _group(anns: Sequence[Mapping[str, Any]]) -> dict[tuple[Any, Any], list[Mapping[str, Any]]]:
    out: dict[tuple[Any, Any], list[Mapping[str, Any]]] = defaultdict(list)
    for a in anns:
        out[a["image_id"], a["category_id"]].append(a)
    return out


def _evaluate_img(
    gts: Sequence[Mapping[str, Any]],
    dts: Sequence[Mapping[str, Any]],
    area_rng: tuple[float, float],
    max_det: int | None,
    not_exhaustive: bool,
) -> dict[str, Any] | None:
    if not gts and not dts:
        return None
    order = np.argsort([-float(d["score"]) for d in dts], kind="mergesort")
    dts = [dts[i] for i in order]
    if max_det is not None:
        dts = dts[:max_det]
    g_ig = np.array(
        [
            1 if (g["_ignore"] or g["area"] < area_rng[0] or g["area"] > area_rng[1]) else 0
            for g in gts
        ],
        dtype=np.int64,
    )
    g_order = np.argsort(g_ig, kind="mergesort")
    gts = [gts[i] for i in g_order]
    g_ig = g_ig[g_order]
    crowd = np.array([bool(g.get("iscrowd", 0)) for g in gts], dtype=bool)
    dbox = np.array([d["bbox"] for d in dts], dtype=np.float64).reshape(-1, 4)
    gbox = np.array([g["bbox"] for g in gts], dtype=np.float64).reshape(-1, 4)
    ious = coco_box_iou(dbox, gbox, crowd)
    t_n, d_n, g_n = len(IOU_THRS), len(dts), len(gts)
    gtm = np.zeros((t_n, g_n))
    dtm = np.zeros((t_n, d_n))
    dt_ig = np.zeros((t_n, d_n), dtype=bool)
    gt_ids = [g["id"] for g in gts]
    if d_n and g_n:
        for ti, t in enumerate(IOU_THRS):
            for di in range(d_n):
                best = min(t, 1 - 1e-10)
                m = -1
                for gi in range(g_n):
                    if gtm[ti, gi] > 0 and not crowd[gi]:
                        continue
                    if m > -1 and g_ig[m] == 0 and g_ig[gi] == 1:
                        break
                    if ious[di, gi] < best:
                        continue
                    best = ious[di, gi]
                    m = gi
                if m == -1:
                    continue
                dt_ig[ti, di] = bool(g_ig[m])
                dtm[ti, di] = gt_ids[m]
                gtm[ti, m] = dts[di]["_id"]
    out_of_range = np.array(
        [not_exhaustive or d["area"] < area_rng[0] or d["area"] > area_rng[1] for d in dts],
        dtype=bool,
    ).reshape(1, d_n)
    dt_ig = dt_ig | ((dtm == 0) & out_of_range)
    return {
        "scores": np.array([float(d["score"]) for d in dts], dtype=np.float64),
        "matched": dtm,
        "dt_ignore": dt_ig,
        "gt_ignore": g_ig,
    }


def _prepare_detections(
    detections: Sequence[Mapping[str, Any]],
    images: Mapping[Any, Mapping[str, Any]],
    gts: Sequence[Mapping[str, Any]],
    federated: bool,
    top: int,
) -> list[dict[str, Any]]:
    """Copies of the detections to evaluate, with ``area`` and a 1-based ``_id``.

    Drops detections on unknown images; federated: keeps the ``top`` highest-scoring per
    image, then only the categories present in the image or listed as negative there.
    """
    dts = []
    for d in detections:
        if d["image_id"] not in images:
            continue
        x = dict(d)
        x["bbox"] = [float(v) for v in d["bbox"]]
        x["area"] = x["bbox"][2] * x["bbox"][3]
        dts.append(x)
    if federated:  # LVIS keeps the top detections per image, across categories
        per_img: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for x in dts:
            per_img[x["image_id"]].append(x)
        dts = []
        for anns in per_img.values():
            if len(anns) > top:
                anns = sorted(anns, key=lambda a: a["score"], reverse=True)[:top]
            dts.extend(anns)
    for i, x in enumerate(dts):
        x["_id"] = i + 1
    if federated:
        present: dict[Any, set[Any]] = defaultdict(set)
        for g in gts:
            present[g["image_id"]].add(g["category_id"])
        neg = {i: set(img.get("neg_category_ids", ())) for i, img in images.items()}
        dts = [
            x
            for x in dts
            if x["category_id"] in present[x["image_id"]] or x["category_id"] in neg[x["image_id"]]
        ]
    return dts


def _precision_recall(
    evals: Sequence[Mapping[str, Any]], max_det: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    """COCOeval's accumulate for one (category, area, max-dets) cell.

    Returns ``(precision (T, R), recall (T,))``, or None when there is no positive.
    """
    t_n, r_n = len(IOU_THRS), len(REC_THRS)
    scores = np.concatenate([e["scores"][:max_det] for e in evals])
    order = np.argsort(-scores, kind="mergesort")
    matched = np.concatenate([e["matched"][:, :max_det] for e in evals], axis=1)[:, order]
    ignored = np.concatenate([e["dt_ignore"][:, :max_det] for e in evals], axis=1)[:, order]
    gt_ig = np.concatenate([e["gt_ignore"] for e in evals])
    n_pos = int(np.count_nonzero(gt_ig == 0))
    if n_pos == 0:
        return None
    tps = np.logical_and(matched, ~ignored)
    fps = np.logical_and(~matched.astype(bool), ~ignored)
    tp_sum = np.cumsum(tps, axis=1).astype(np.float64)
    fp_sum = np.cumsum(fps, axis=1).astype(np.float64)
    precision = np.zeros((t_n, r_n))
    recall = np.zeros(t_n)
    for t in range(t_n):
        tp, fp = tp_sum[t], fp_sum[t]
        nd = tp.shape[0]
        rc = tp / n_pos
        pr = tp / (fp + tp + np.spacing(1))
        recall[t] = rc[-1] if nd else 0.0
        pr = np.maximum.accumulate(pr[::-1])[::-1] if nd else pr
        inds = np.searchsorted(rc, REC_THRS, side="left")
        q = np.zeros(r_n)
        valid = inds < nd
        q[valid] = pr[inds[valid]]
        # COCOeval stops at the first recall point past the end
        first_bad = int(np.argmin(valid)) if not valid.all() else r_n
        q[first_bad:] = 0.0
        precision[t] = q
    return precision, recall


def box_evaluate(
    ground_truth: Mapping[str, Any],
    detections: Sequence[Mapping[str, Any]],
    *,
    federated: bool,
    max_dets: tuple[int, ...] = (1, 10, 100),
    cat_ids: Sequence[Any] | None = None,
    img_ids: Sequence[Any] | None = None,
) -> BoxEval:
    """Evaluate COCO-format box detections; see the module docstring for the rules.

    Args:
        ground_truth: a COCO/LVIS dataset dict (``images``, ``annotations`` with ``bbox``
            ``[x, y, w, h]`` in pixels and ``area``, ``categories``).
        detections: ``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}`` dicts;
            those on unknown images are dropped.
        federated: apply LVIS's federated rules (and limit to ``max_dets[-1]`` detections per
            image) instead of COCO's (``max_dets[-1]`` per image and category).
        max_dets: max-detections settings reported (COCO: ``(1, 10, 100)``; LVIS: ``(300,)``).
        cat_ids, img_ids: evaluate only these categories / images (default all), as
            COCOeval's ``params.catIds`` / ``params.imgIds``.
    """
    images = {img["id"]: img for img in ground_truth["images"]}
    img_list = sorted(images) if img_ids is None else sorted(set(img_ids) & set(images))
    wanted = None if cat_ids is None else set(cat_ids)
    cat_list = sorted(
        c["id"] for c in ground_truth["categories"] if wanted is None or c["id"] in wanted
    )
    gts = []
    for ann in ground_truth["annotations"]:
        g = dict(ann)
        g["_ignore"] = bool(g.get("ignore", 0)) or bool(g.get("iscrowd", 0))
        gts.append(g)
    top = max_dets[-1]
    gt_by = _group(gts)
    dt_by = _group(_prepare_detections(detections, images, gts, federated, top))
    keys = set(gt_by) | set(dt_by)
    t_n, r_n, k_n, a_n, m_n = (
        len(IOU_THRS), len(REC_THRS), len(cat_list), len(AREA_RNGS), len(max_dets)
    )  # fmt: skip
    precision = -np.ones((t_n, r_n, k_n, a_n, m_n))
    recall = -np.ones((t_n, k_n, a_n, m_n))
    for k, cat in enumerate(cat_list):
        for a, rng in enumerate(AREA_RNGS):
            evals = []
            for img in img_list:
                if (img, cat) not in keys:
                    continue
                nel = federated and cat in images[img].get("not_exhaustive_category_ids", ())
                e = _evaluate_img(
                    gt_by.get((img, cat), []),
                    dt_by.get((img, cat), []),
                    rng,
                    None if federated else top,
                    bool(nel),
                )
                if e is not None:
                    evals.append(e)
            for m, max_det in enumerate(max_dets):
                cell = _precision_recall(evals, max_det) if evals else None
                if cell is not None:
                    precision[:, :, k, a, m], recall[:, k, a, m] = cell
    return BoxEval(precision=precision, recall=recall, cat_ids=cat_list, max_dets=max_dets)


def lvis_evaluate(
    ground_truth: Path | str | Mapping[str, Any],
    detections: Path | str | Sequence[Mapping[str, Any]],
    max_dets: int = 300,
    *,
    cat_ids: Sequence[Any] | None = None,
    img_ids: Sequence[Any] | None = None,
) -> DetectionMetrics:
    """LVIS federated box evaluation: AP, AP50, AP75, APs/m/l, APr/c/f, AR@300 (+ per area).

    Args:
        ground_truth: LVIS annotations (path or dict) with per-image ``neg_category_ids`` and
            ``not_exhaustive_category_ids`` and per-category ``frequency`` (r/c/f).
        detections: COCO-style results, ``bbox`` ``[x, y, w, h]`` in pixels.
        max_dets: detections kept per image (highest scores), LVIS's 300 by default.
        cat_ids, img_ids: evaluate only these categories / images (default all).

    >>> gt = {"images": [{"id": 1, "neg_category_ids": [2], "not_exhaustive_category_ids": []}],
    ...       "categories": [{"id": 1, "name": "a", "frequency": "r"},
    ...                      {"id": 2, "name": "b", "frequency": "f"}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
    ...                        "bbox": [0, 0, 10, 10], "area": 100}]}
    >>> dt = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9}]
    >>> m = lvis_evaluate(gt, dt)
    >>> round(m.stats["AP"], 6), round(m.stats["APr"], 6), m.stats["APf"]
    (1.0, 1.0, -1.0)
    """
    gt = load_json(ground_truth)
    dts = load_json(detections)
    images = {img["id"] for img in gt["images"]}
    kept = [d for d in dts if d.get("image_id") in images]
    if cat_ids is not None:
        _known(cat_ids, {c["id"] for c in gt["categories"]}, "category")
    if img_ids is not None:
        _known(img_ids, images, "image")
    ev = box_evaluate(
        gt, kept, federated=True, max_dets=(max_dets,), cat_ids=cat_ids, img_ids=img_ids
    )
    freq = {c["id"]: c.get("frequency") for c in gt["categories"]}
    groups = {g: [i for i, c in enumerate(ev.cat_ids) if freq[c] == g] for g in ("r", "c", "f")}
    stats = {
        "AP": ev.summarize(True),
        "AP50": ev.summarize(True, iou=0.5),
        "AP75": ev.summarize(True, iou=0.75),
        "APs": ev.summarize(True, area="small"),
        "APm": ev.summarize(True, area="medium"),
        "APl": ev.summarize(True, area="large"),
        "APr": ev.summarize(True, cat_index=groups["r"]),
        "APc": ev.summarize(True, cat_index=groups["c"]),
        "APf": ev.summarize(True, cat_index=groups["f"]),
        f"AR@{max_dets}": ev.summarize(False),
        f"ARs@{max_dets}": ev.summarize(False, area="small"),
        f"ARm@{max_dets}": ev.summarize(False, area="medium"),
        f"ARl@{max_dets}": ev.summarize(False, area="large"),
    }
    evaluated = set(img_ids) if img_ids is not None else images
    per_category = per_category_table(
        gt, ev.precision, ev.cat_ids, evaluated, count_crowd=True, only_evaluated=True
    )
    return DetectionMetrics(
        stats=stats,
        per_category=per_category,
        kind="lvis",
        n_detections=len(kept),
        n_dropped=len(dts) - len(kept),
        notes=["LVIS federated evaluation (numpy, visual_rewards.evaluation.lvis), boxes only"],
    )


def is_lvis(ground_truth: Mapping[str, Any]) -> bool:
    """True when a dataset dict looks like LVIS (federated fields present)."""
    imgs = ground_truth.get("images") or [{}]
    cats = ground_truth.get("categories") or [{}]
    return "neg_category_ids" in imgs[0] or "frequency" in cats[0]
