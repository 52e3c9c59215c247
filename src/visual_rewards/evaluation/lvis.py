"""Box detection evaluation in numpy: LVIS's federated rules, or COCO's (no ``lvis`` package).

LVIS annotates each image exhaustively only for some categories, so its evaluation
(Gupta et al., 2019, and the reference ``lvis-api``) is *federated*:

* per image, only the categories that are present (have ground truth) or listed in the
  image's ``neg_category_ids`` are evaluated; detections of any other category are dropped;
* an unmatched detection of a category listed in the image's ``not_exhaustive_category_ids``
  is ignored (not counted as a false positive);
* at most ``max_dets`` (300) detections per image, the highest-scoring ones, across categories
  (ties keep the input order), counted before any other filter;
* ground truth and detections whose area is not ``> 0`` are left out (lvis-api selects
  annotations with ``0 < area < inf``; a detection's area is ``w * h``), and ``iscrowd`` plays
  no part (only an annotation's own ``ignore`` flag does);
* AP is also reported per frequency group: rare (APr), common (APc), frequent (APf).

Matching, interpolation and averaging follow COCOeval (10 IoU thresholds 0.50:0.95, 101
recall points, area ranges all/small/medium/large on the ground truth's ``area``). With
``federated=False`` the same code is COCO's evaluation (``iscrowd`` boxes are ignored and
matched by intersection over the detection's area, ``max_dets`` per image and category); the
tests check it against pycocotools' COCOeval, and the federated mode against lvis-api, array
for array. Box IoU only (no masks).

How it stays fast (the numbers are lvis-api's, the work is not):

* the inputs are read once into flat arrays (no copies of the records);
* each image–category pair is matched once for all 10 thresholds and 4 area ranges: a
  detection is matched against the pair's ground truth with the area range as a mask over
  the same IoU row, and all pairs take their r-th detection in the same numpy step;
  detections below IoU 0.5 with every ground truth of their pair match nothing and skip it;
* accumulation sorts all detections once, by category then score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from visual_rewards.evaluation.coco import DetectionMetrics, _known, load_json, per_category_table

__all__ = ["BoxEval", "box_evaluate", "coco_box_iou", "is_lvis", "lvis_evaluate"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

IOU_THRS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
REC_THRS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
AREA_RNGS = ((0.0, 1e5**2), (0.0, 32.0**2), (32.0**2, 96.0**2), (96.0**2, 1e5**2))
AREA_NAMES = ("all", "small", "medium", "large")
#: Cells (pair x area range x threshold x ground truth) in one matching step at most: bounds
#: the work arrays (a float64 one of this many cells is 32 MiB) whatever the input.
_STEP_CELLS = 1 << 22
#: A detection matches a ground truth at threshold t when IoU >= min(t, 1 - 1e-10).
_MATCH_THRS = np.minimum(IOU_THRS, 1 - 1e-10)


def _iou_pairs(dt: F64, gt: F64, crowd: Bools) -> F64:
    """IoU of ``dt[i]`` with ``gt[i]`` (both ``(N, 4)`` ``[x, y, w, h]``), pycocotools' arithmetic."""
    w = np.minimum(dt[:, 2] + dt[:, 0], gt[:, 2] + gt[:, 0]) - np.maximum(dt[:, 0], gt[:, 0])
    h = np.minimum(dt[:, 3] + dt[:, 1], gt[:, 3] + gt[:, 1]) - np.maximum(dt[:, 1], gt[:, 1])
    inter = w * h
    da = dt[:, 2] * dt[:, 3]
    union = np.where(crowd, da, da + gt[:, 2] * gt[:, 3] - inter)
    out = np.zeros(dt.shape[0])
    np.divide(inter, union, out=out, where=(w > 0) & (h > 0))
    return out


def coco_box_iou(dt: F64, gt: F64, crowd: Bools) -> F64:
    """IoU of ``(D, 4)`` against ``(G, 4)`` boxes in ``[x, y, w, h]``, as pycocotools computes it.

    The arithmetic is in pycocotools' order, so results are bit-identical; for a crowd
    ground truth the union is the detection's area. Returns ``(D, G)``.

    >>> coco_box_iou(np.array([[0.0, 0, 2, 2]]), np.array([[1.0, 0, 2, 2]]), np.array([False]))
    array([[0.33333333]])
    """
    d, g = dt.shape[0], gt.shape[0]
    di, gi = np.repeat(np.arange(d), g), np.tile(np.arange(g), d)
    return _iou_pairs(dt[di], gt[gi], crowd[gi]).reshape(d, g)


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

    precision: F64
    recall: F64
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


# ---------------------------------------------------------------------------------------------
# Reading the records into arrays
# ---------------------------------------------------------------------------------------------


def _boxes(values: list[Any], what: str) -> F64:
    """``(N, 4)`` float boxes from ``N`` ``[x, y, w, h]`` lists."""
    try:
        out = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        out = np.zeros(0)
    if len(values) == 0:
        return np.zeros((0, 4))
    if out.shape != (len(values), 4):
        raise ValueError(f"every {what} 'bbox' must be 4 numbers [x, y, w, h]")
    return out


def _index(values: Iterable[Any], index: Mapping[Any, int], n: int) -> I64:
    """Positions of ``values`` in ``index`` (-1 for values not in it)."""
    return np.fromiter((index.get(v, -1) for v in values), dtype=np.int64, count=n)


@dataclass(frozen=True)
class _Gts:
    """Ground truth of the evaluated images and categories, sorted by (image, category)."""

    key: I64  # image position * K + category position
    box: F64  # (G, 4)
    area: F64
    ignore: Bools  # before area ranges
    crowd: Bools
    id_set: Bools  # id != 0 (pycocotools records a match by the ground truth's id)
    src: I64  # position in ``ground_truth["annotations"]``


def _read_gts(
    anns: Sequence[Mapping[str, Any]],
    img_pos: Mapping[Any, int],
    cat_pos: Mapping[Any, int],
    federated: bool,
) -> _Gts:
    n = len(anns)
    img = _index((a["image_id"] for a in anns), img_pos, n)
    cat = _index((a["category_id"] for a in anns), cat_pos, n)
    area = np.fromiter((a["area"] for a in anns), dtype=np.float64, count=n)
    if federated:  # lvis-api: ``ignore`` only, and annotations with 0 < area < inf
        ignore = np.fromiter((bool(a.get("ignore", 0)) for a in anns), dtype=bool, count=n)
        crowd = np.zeros(n, dtype=bool)
        keep = (img >= 0) & (cat >= 0) & (area > 0) & (area < np.inf)
    else:  # pycocotools: ``iscrowd`` overrides ``ignore``
        crowd = np.fromiter((bool(a.get("iscrowd", 0)) for a in anns), dtype=bool, count=n)
        ignore = crowd
        keep = (img >= 0) & (cat >= 0)
    id_set = np.fromiter((a.get("id") != 0 for a in anns), dtype=bool, count=n)
    sel = np.flatnonzero(keep)
    box = _boxes([anns[i]["bbox"] for i in sel.tolist()], "annotation")
    key = img[sel] * len(cat_pos) + cat[sel]
    order = np.argsort(key, kind="stable")
    sel = sel[order]
    return _Gts(key[order], box[order], area[sel], ignore[sel], crowd[sel], id_set[sel], sel)


@dataclass(frozen=True)
class _Dts:
    """Detections, sorted by (image, category), then score (highest first), then input order."""

    key: I64
    box: F64  # (D, 4)
    score: F64
    area: F64
    rank: I64  # position within its image-category pair
    not_exhaustive: Bools
    src: I64  # position in the detections given


def _det_boxes(dets: Sequence[Mapping[str, Any]]) -> tuple[F64, F64]:
    """Boxes ``(D, 4)`` and areas ``w * h`` (pycocotools' and lvis-api's detection area)."""
    box = _boxes([d["bbox"] for d in dets], "detection")
    return box, box[:, 2] * box[:, 3]


def _top_per_image(img: I64, score: F64, top: int) -> Bools:
    """LVIS's limit: the ``top`` highest-scoring detections of each image (ties: input order)."""
    order = np.lexsort((-score, img))
    sorted_img = img[order]
    rank = np.arange(img.size) - np.searchsorted(sorted_img, sorted_img, side="left")
    keep = np.zeros(img.size, dtype=bool)
    keep[order] = rank < top
    return keep


def _pair_keys(
    ground_truth: Mapping[str, Any],
    field: str,
    img_pos: Mapping[Any, int],
    cat_pos: Mapping[Any, int],
) -> I64:
    """Keys of the (image, category) pairs an image lists in ``field`` (LVIS's category lists)."""
    keys = [
        img_pos[img["id"]] * len(cat_pos) + cat_pos[c]
        for img in ground_truth.get("images", [])
        if img["id"] in img_pos
        for c in img.get(field, ())
        if c in cat_pos
    ]
    return np.unique(np.array(keys, dtype=np.int64))


def _select_dts(
    ground_truth: Mapping[str, Any],
    dets: Sequence[Mapping[str, Any]],
    gt_keys: I64,
    img_pos: Mapping[Any, int],
    cat_pos: Mapping[Any, int],
    federated: bool,
    top: int,
    segm: bool = False,
) -> _Dts:
    """The detections evaluated, in pair order; see the module docstring for the rules."""
    n = len(dets)
    all_pos = {img["id"]: i for i, img in enumerate(ground_truth.get("images", []))}
    img_all = _index((d["image_id"] for d in dets), all_pos, n)
    score = np.fromiter((d["score"] for d in dets), dtype=np.float64, count=n)
    box, area = _segm_areas(dets) if segm else _det_boxes(dets)
    remap = np.array([img_pos.get(i, -1) for i in all_pos] + [-1], dtype=np.int64)
    img = remap[img_all]  # unknown images (-1) read the trailing -1
    cat = _index((d["category_id"] for d in dets), cat_pos, n)
    key = img * len(cat_pos) + cat
    keep = (img >= 0) & (cat >= 0)
    not_exhaustive = np.zeros(n, dtype=bool)
    if federated:
        keep &= _top_per_image(img_all, score, top) & (area > 0) & (area < np.inf)
        verified = np.union1d(
            gt_keys, _pair_keys(ground_truth, "neg_category_ids", img_pos, cat_pos)
        )
        keep &= np.isin(key, verified)
        nel = _pair_keys(ground_truth, "not_exhaustive_category_ids", img_pos, cat_pos)
        not_exhaustive = np.isin(key, nel)
    sel = np.flatnonzero(keep)
    sel = sel[np.lexsort((-score[sel], key[sel]))]
    k = key[sel]
    rank = np.arange(k.size) - np.searchsorted(k, k, side="left")
    if not federated:  # COCOeval keeps the best ``top`` of each image-category pair
        sel, k, rank = sel[rank < top], k[rank < top], rank[rank < top]
    return _Dts(k, box[sel], score[sel], area[sel], rank, not_exhaustive[sel], sel)


# ---------------------------------------------------------------------------------------------
# Matching: every image-category pair once, for all thresholds and area ranges
# ---------------------------------------------------------------------------------------------


def _area_ignore(ignore: Bools, area: F64) -> Bools:
    """``(A, N)``: ignored, or outside each area range (COCOeval's ``_ignore``)."""
    lo = np.array([r[0] for r in AREA_RNGS])[:, None]
    hi = np.array([r[1] for r in AREA_RNGS])[:, None]
    return ignore[None, :] | (area[None, :] < lo) | (area[None, :] > hi)


@dataclass(frozen=True)
class _Flat:
    """Each detection against each ground truth of its pair, flat: ``iou[start[d] + j]``."""

    iou: F64
    start: I64  # (D,) where detection d's IoU row starts
    first_gt: I64  # (D,) the pair's first ground truth (index into _Gts)
    n_gt: I64  # (D,) ground truth in the pair


def _flat_ious(gts: _Gts, dts: _Dts) -> _Flat:
    first = np.searchsorted(gts.key, dts.key, side="left")
    n_gt = np.searchsorted(gts.key, dts.key, side="right") - first
    start = np.cumsum(n_gt) - n_gt
    det = np.repeat(np.arange(dts.key.size), n_gt)
    gt = first[det] + (np.arange(det.size) - start[det])
    return _Flat(_iou_pairs(dts.box[det], gts.box[gt], gts.crowd[gt]), start, first, n_gt)


def _best(mask: Bools, iou: F64) -> tuple[I64, Bools]:
    """Per leading index, the last position of the highest ``iou`` where ``mask`` holds.

    COCOeval's loop keeps a later ground truth whose IoU equals the best so far.
    """
    v = np.where(mask, iou, -1.0)
    last = v.shape[-1] - 1 - np.argmax(v[..., ::-1], axis=-1)
    return last, np.take_along_axis(v, last[..., None], axis=-1)[..., 0] > -1.0


def _match_bucket(flat: _Flat, gig: Bools, crowd: Bools, dets: I64, n_act: I64, width: int) -> I64:
    """Greedy matching of some pairs, all with at most ``width`` ground truths.

    Args:
        dets: the pairs' active detections (index into _Dts), each pair's consecutive and
            best score first, pairs in decreasing order of ``n_act``.
        n_act: ``(P,)`` active detections per pair.

    Returns:
        ``(A, T, dets.size)`` matched ground truth (index into _Gts) or -1.
    """
    p_n, a_n, t_n = n_act.size, len(AREA_RNGS), IOU_THRS.size
    pstart = np.cumsum(n_act) - n_act
    cols = np.arange(width)
    first, n_gt = flat.first_gt[dets[pstart]], flat.n_gt[dets[pstart]]
    real = cols[None, :] < n_gt[:, None]  # (P, W)
    gt = np.where(real, first[:, None] + cols[None, :], 0)
    ign = gig[:, gt].transpose(1, 0, 2)[:, :, None, :]  # (P, A, 1, W)
    crowd_w = crowd[gt]  # (P, W): a crowd ground truth can match many detections
    free = np.broadcast_to(real[:, None, None, :], (p_n, a_n, t_n, width)).copy()
    out = np.full((a_n, t_n, dets.size), -1, dtype=np.int64)
    for r in range(int(n_act.max(initial=0))):
        p = int(np.count_nonzero(n_act > r))
        d = dets[pstart[:p] + r]
        at = np.where(real[:p], flat.start[d][:, None] + cols, 0)
        iou = np.where(real[:p], flat.iou[at], -1.0)[:, None, None, :]
        cand = free[:p] & (iou >= _MATCH_THRS[None, None, :, None])
        m, hit = _best(cand & ~ign[:p], iou)
        m_ig, hit_ig = _best(cand & ign[:p], iou)
        m = np.where(hit, m, m_ig)
        hit |= hit_ig
        pi, ai, ti = np.nonzero(hit)
        gi = m[pi, ai, ti]
        used = ~crowd_w[pi, gi]
        free[pi[used], ai[used], ti[used], gi[used]] = False
        out[:, :, pstart[:p] + r] = np.where(hit, first[:p, None, None] + m, -1).transpose(1, 2, 0)
    return out


def _match(gts: _Gts, dts: _Dts, flat: _Flat, gig: Bools) -> tuple[Bools, Bools]:
    """``(A, T, D)`` matches: to a ground truth with a non-zero id, and to an ignored one.

    COCOeval records a match by the ground truth's id, so a match to id 0 reads as none.
    """
    shape = (len(AREA_RNGS), IOU_THRS.size, dts.key.size)
    by_id, ignored = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
    out = (by_id, ignored)
    has_gt = np.flatnonzero(flat.n_gt > 0)
    if has_gt.size == 0:
        return by_id, ignored
    best = np.maximum.reduceat(flat.iou, flat.start[has_gt])
    act = has_gt[best >= _MATCH_THRS[0]]  # below the lowest threshold: matches nothing
    if act.size == 0:
        return by_id, ignored
    pair_first = np.flatnonzero(np.r_[True, dts.key[act[1:]] != dts.key[act[:-1]]])
    n_act = np.diff(np.r_[pair_first, act.size])
    width = 1 << np.ceil(np.log2(flat.n_gt[act[pair_first]])).astype(np.int64)
    for w in np.unique(width).tolist():
        same_width = np.flatnonzero(width == w)
        same_width = same_width[np.argsort(-n_act[same_width], kind="stable")]
        # bounded work arrays: at most _STEP_CELLS (pair, area, threshold, gt) cells a step
        per_step = max(1, _STEP_CELLS // (len(AREA_RNGS) * IOU_THRS.size * w))
        for lo in range(0, same_width.size, per_step):
            pairs = same_width[lo : lo + per_step]
            _match_pairs(flat, gts, gig, act, pair_first[pairs], n_act[pairs], w, out)
    return by_id, ignored


def _match_pairs(
    flat: _Flat,
    gts: _Gts,
    gig: Bools,
    act: I64,
    starts: I64,
    n_act: I64,
    width: int,
    out: tuple[Bools, Bools],
) -> None:
    """Match some pairs into ``out``; pair p's active detections are
    ``act[starts[p] : starts[p] + n_act[p]]`` (pairs in decreasing order of ``n_act``)."""
    shift = np.repeat(starts - (np.cumsum(n_act) - n_act), n_act)
    dets = act[shift + np.arange(shift.size)]
    m = _match_bucket(flat, gig, gts.crowd, dets, n_act, width)
    hit, gt = m >= 0, np.maximum(m, 0)
    areas = np.arange(len(AREA_RNGS))[:, None, None]
    by_id, ignored = out
    by_id[:, :, dets] = hit & gts.id_set[gt]
    ignored[:, :, dets] = hit & gig[areas, gt]


# ---------------------------------------------------------------------------------------------
# Masks (COCO ``segm``): pycocotools' mask IoU in the same layout
# ---------------------------------------------------------------------------------------------


def _mask_api() -> Any:
    try:
        from pycocotools import mask
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "mask evaluation needs pycocotools: pip install 'visual-rewards[coco]'"
        ) from None
    return mask


def _segm_results(dets: Sequence[Mapping[str, Any]]) -> bool:
    """pycocotools' ``loadRes`` reads all results as masks when the first has no box."""
    return bool(dets) and not ("bbox" in dets[0] and dets[0]["bbox"] != [])


def _segm_areas(dets: Sequence[Mapping[str, Any]]) -> tuple[F64, F64]:
    """Areas as ``loadRes`` sets them: the mask's for mask results, else ``w * h``."""
    if not _segm_results(dets):
        return _det_boxes(dets)
    mask = _mask_api()
    area = np.fromiter((mask.area(d["segmentation"]) for d in dets), np.float64, len(dets))
    return np.zeros((len(dets), 4)), area


def _rle(segm: Any, size: tuple[int, int], mask: Any) -> Any:
    """pycocotools' ``annToRLE``: polygons and uncompressed RLE to compressed RLE."""
    if isinstance(segm, list):
        return mask.merge(mask.frPyObjects(segm, *size))
    if isinstance(segm.get("counts"), list):
        return mask.frPyObjects(segm, *size)
    return segm


def _dt_segm(det: Mapping[str, Any], boxes: bool) -> Any:
    """A box result's mask is its rectangle, as ``loadRes`` writes it."""
    if "segmentation" in det or not boxes:
        return det["segmentation"]
    x, y, w, h = det["bbox"]
    return [[x, y, x, y + h, x + w, y + h, x + w, y]]


def _segm_ious(
    ground_truth: Mapping[str, Any],
    dets: Sequence[Mapping[str, Any]],
    gts: _Gts,
    dts: _Dts,
    flat: _Flat,
) -> None:
    """Replace ``flat.iou`` by mask IoUs, one ``pycocotools.mask.iou`` call per pair."""
    mask = _mask_api()
    sizes = {img["id"]: (img["height"], img["width"]) for img in ground_truth.get("images", [])}
    anns = ground_truth.get("annotations", [])
    boxes = not _segm_results(dets)
    has = np.flatnonzero(flat.n_gt > 0)
    if has.size == 0:
        return
    bounds = np.flatnonzero(np.r_[True, dts.key[has[1:]] != dts.key[has[:-1]], True])
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        d0, d1 = int(has[lo]), int(has[hi - 1]) + 1  # a pair's detections are consecutive
        g0, g1 = int(flat.first_gt[d0]), int(flat.first_gt[d0] + flat.n_gt[d0])
        g = [anns[i] for i in gts.src[g0:g1].tolist()]
        d = [dets[i] for i in dts.src[d0:d1].tolist()]
        iou = mask.iou(
            [_rle(_dt_segm(x, boxes), sizes[x["image_id"]], mask) for x in d],
            [_rle(x["segmentation"], sizes[x["image_id"]], mask) for x in g],
            gts.crowd[g0:g1].astype(np.uint8).tolist(),
        )
        start = int(flat.start[d0])
        flat.iou[start : start + (d1 - d0) * (g1 - g0)] = np.asarray(iou).reshape(-1)


# ---------------------------------------------------------------------------------------------
# Accumulation
# ---------------------------------------------------------------------------------------------


def _curve(tps: Bools, fps: Bools, n_pos: int) -> tuple[F64, F64]:
    """``(T, R)`` interpolated precision and ``(T,)`` recall of one category, as COCOeval."""
    tp = np.cumsum(tps, axis=1).astype(np.float64)
    fp = np.cumsum(fps, axis=1).astype(np.float64)
    nd = tp.shape[1]
    rc = tp / n_pos
    pr = tp / (fp + tp + np.spacing(1))
    recall = rc[:, -1] if nd else np.zeros(tp.shape[0])
    pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
    q = np.zeros((tp.shape[0], REC_THRS.size))
    for t in range(tp.shape[0]):
        inds = np.searchsorted(rc[t], REC_THRS, side="left")
        valid = inds < nd  # a prefix: COCOeval stops at the first recall point past the end
        q[t, valid] = pr[t, inds[valid]]
    return q, recall


def _outcomes(dts: _Dts, by_id: Bools, ignored: Bools, federated: bool) -> tuple[Bools, Bools]:
    """``(A, T, D)`` true and false positives (neither where the detection is ignored)."""
    out_of_range = _area_ignore(np.zeros(dts.area.size, dtype=bool), dts.area)
    if federated:  # unmatched detections of a not exhaustively annotated category
        out_of_range |= dts.not_exhaustive[None, :]
    ignored = ignored | (~by_id & out_of_range[:, None, :])
    return by_id & ~ignored, ~by_id & ~ignored


def _accumulate(
    gts: _Gts,
    dts: _Dts,
    outcomes: tuple[Bools, Bools],
    gig: Bools,
    k_n: int,
    max_dets: tuple[int, ...],
) -> tuple[F64, F64]:
    """COCOeval's ``accumulate``: ``(T, R, K, A, M)`` precision and ``(T, K, A, M)`` recall."""
    a_n, t_n = len(AREA_RNGS), IOU_THRS.size
    precision = -np.ones((t_n, REC_THRS.size, k_n, a_n, len(max_dets)))
    recall = -np.ones((t_n, k_n, a_n, len(max_dets)))
    gt_cat = gts.key % max(k_n, 1)
    n_pos = np.stack([np.bincount(gt_cat[~gig[a]], minlength=k_n) for a in range(a_n)], axis=1)
    cat = dts.key % max(k_n, 1)
    # one order for every category: score (highest first), then image, then rank in the pair
    order = np.lexsort((dts.rank, dts.key // max(k_n, 1), -dts.score, cat))
    tps, fps = outcomes
    for m, max_det in enumerate(max_dets):
        sel = order[dts.rank[order] < max_det]
        bounds = np.searchsorted(cat[sel], np.arange(k_n + 1))
        for a in range(a_n):
            tp_a, fp_a = tps[a][:, sel], fps[a][:, sel]
            for k in np.flatnonzero(n_pos[:, a]).tolist():
                s, e = bounds[k], bounds[k + 1]
                q, rc = _curve(tp_a[:, s:e], fp_a[:, s:e], int(n_pos[k, a]))
                precision[:, :, k, a, m] = q
                recall[:, k, a, m] = rc
    return precision, recall


def box_evaluate(
    ground_truth: Mapping[str, Any],
    detections: Sequence[Mapping[str, Any]],
    *,
    federated: bool,
    max_dets: tuple[int, ...] = (1, 10, 100),
    cat_ids: Sequence[Any] | None = None,
    img_ids: Sequence[Any] | None = None,
    iou_type: str = "bbox",
) -> BoxEval:
    """Evaluate COCO-format detections; see the module docstring for the rules.

    Args:
        ground_truth: a COCO/LVIS dataset dict (``images``, ``annotations`` with ``bbox``
            ``[x, y, w, h]`` in pixels and ``area``, ``categories``). Not modified.
        detections: ``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}`` dicts;
            those on unknown images or categories are dropped. Not modified.
        federated: apply LVIS's federated rules (and limit to ``max_dets[-1]`` detections per
            image) instead of COCO's (``max_dets[-1]`` per image and category).
        max_dets: max-detections settings reported (COCO: ``(1, 10, 100)``; LVIS: ``(300,)``).
        cat_ids, img_ids: evaluate only these categories / images (default all), as
            COCOeval's ``params.catIds`` / ``params.imgIds``.
        iou_type: ``"bbox"``, or ``"segm"`` (COCO rules only; masks in the ground truth's
            and the results' ``segmentation``, IoU from ``pycocotools.mask``).
    """
    if iou_type not in ("bbox", "segm") or (federated and iou_type != "bbox"):
        raise ValueError(f"iou_type must be 'bbox' (or 'segm' for COCO), got {iou_type!r}")
    all_imgs = [img["id"] for img in ground_truth.get("images", [])]
    img_list = sorted(set(all_imgs) if img_ids is None else set(img_ids) & set(all_imgs))
    wanted = None if cat_ids is None else set(cat_ids)
    cat_list = sorted(
        {c["id"] for c in ground_truth.get("categories", []) if wanted is None or c["id"] in wanted}
    )
    img_pos = {i: n for n, i in enumerate(img_list)}
    cat_pos = {c: n for n, c in enumerate(cat_list)}
    try:
        gts = _read_gts(ground_truth.get("annotations", []), img_pos, cat_pos, federated)
    except KeyError as exc:
        raise ValueError(f"every annotation needs the {exc.args[0]!r} field") from None
    segm = iou_type == "segm"
    try:
        dts = _select_dts(
            ground_truth, detections, gts.key, img_pos, cat_pos, federated, max_dets[-1], segm
        )
    except KeyError as exc:
        raise ValueError(f"every detection needs the {exc.args[0]!r} field") from None
    flat = _flat_ious(gts, dts)
    if segm:
        _segm_ious(ground_truth, detections, gts, dts, flat)
    gig = _area_ignore(gts.ignore, gts.area)
    by_id, ignored = _match(gts, dts, flat, gig)
    outcomes = _outcomes(dts, by_id, ignored, federated)
    precision, recall = _accumulate(gts, dts, outcomes, gig, len(cat_list), max_dets)
    return BoxEval(precision=precision, recall=recall, cat_ids=cat_list, max_dets=max_dets)


def _lvis_stats(ev: BoxEval, freq: Mapping[Any, Any], max_dets: int) -> dict[str, float]:
    """LVISEval's 13 summary numbers, in its order."""
    groups = {g: [i for i, c in enumerate(ev.cat_ids) if freq[c] == g] for g in ("r", "c", "f")}
    return {
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
    evaluated = set(img_ids) if img_ids is not None else images
    per_category = per_category_table(
        gt, ev.precision, ev.cat_ids, evaluated, count_crowd=True, only_evaluated=True
    )
    stats = _lvis_stats(ev, {c["id"]: c.get("frequency") for c in gt["categories"]}, max_dets)
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
