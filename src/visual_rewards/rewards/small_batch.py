"""The small-call path of the detection reward: the same sums, in plain Python.

Trainers call a reward with one device's batch (TRL: 8 to 16 completions) or one sample at a
time (veRL). At those sizes the padded array path of :mod:`visual_rewards.rewards.detection`
spends most of its time setting up numpy temporaries, not computing. :func:`detection_sums`
computes the same per-row sums -- matched IoU, confidence terms, counts and each item's
matched IoU -- row by row with Python floats, for calls of at most :data:`SMALL_BATCH_MAX`
completions.

Its results are identical to the array path's, bit for bit: the same IEEE operations in the
same order (IoU as in :func:`~visual_rewards.geometry.boxes.batched_box_iou`, squares as
products as numpy computes ``x ** 2``, sums left to right in the visiting order as
``np.add.accumulate``), first-of-equals wherever the array path takes an ``argmax``, and
``scipy.optimize.linear_sum_assignment`` on the very matrix the array path would pass it when
a row's assignment is not trivial. ``tests/rewards/test_small_batch.py`` checks this with a
differential property test at zero tolerance for every preset, and runs the slow reference
tests on both paths. Where a row has more than the padding limit of predictions the array
path groups rows differently, and this path declines (returns None).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from visual_rewards.geometry import labels as label_rules
from visual_rewards.geometry.matching import TIE_BREAK, _assign
from visual_rewards.parsing.answers import DEFAULT_MAX_ITEMS

if TYPE_CHECKING:
    from visual_rewards.parsing.batch import DetectionsBatch

__all__ = ["SMALL_BATCH_MAX", "detection_sums"]

#: Calls of at most this many completions take the plain-Python path (chosen by measurement:
#: ``benchmarks/bench_call_sizes.py``; above it the array path is faster per completion).
SMALL_BATCH_MAX = 32

FloatArray = npt.NDArray[np.float64]
Box = Sequence[float]

_INF = float("inf")


def _iou(a: Box, b: Box) -> float:
    """IoU of prediction ``a`` and ground truth ``b`` (xyxy), as ``batched_box_iou`` (without
    an overlap the array path's result is 0 as well: returned early)."""
    a0, a1, a2, a3 = a
    b0, b1, b2, b3 = b
    ix1 = a0 if a0 >= b0 else b0
    ix2 = a2 if a2 <= b2 else b2
    if not ix2 > ix1:
        return 0.0
    iy1 = a1 if a1 >= b1 else b1
    iy2 = a3 if a3 <= b3 else b3
    if not iy2 > iy1:
        return 0.0
    inter = (ix2 - ix1) * (iy2 - iy1)
    area_a = (a2 - a0) * (a3 - a1) if (a2 > a0 and a3 > a1) else 0.0
    area_b = (b2 - b0) * (b3 - b1) if (b2 > b0 and b3 > b1) else 0.0
    union = (area_b + area_a) - inter
    if not (area_a > 0 and area_b > 0):
        return 0.0
    return inter / union if inter > 0 else 0.0


def _usable(
    config: Any, raw: list[list[float]], scores: list[float], labels: list[str | None]
) -> tuple[list[bool], list[bool]]:
    """``(counted, usable)`` of one row's items, as ``DetectionReward._usable``."""
    k = len(raw)
    counted = [True] * k
    usable = [True] * k
    if config.duplicates == "drop" and k > 1:
        seen: set[tuple[float, ...]] = set()
        for i, box in enumerate(raw):
            key = tuple(box)
            if key in seen:
                counted[i] = usable[i] = False
            seen.add(key)
    elif config.duplicates == "invalid" and k > 1:
        norm = label_rules.normalize_label
        keys = [(None if x is None else norm(x), *box) for x, box in zip(labels, raw, strict=True)]
        times: dict[tuple[Any, ...], int] = {}
        for key in keys:
            times[key] = times.get(key, 0) + 1
        if len(times) < k:
            usable = [times[key] == 1 for key in keys]
    if config.validate_confidence:
        usable = [u and not (s < 0.0 or s > 1.0) for u, s in zip(usable, scores, strict=True)]
    return counted, usable


def _greedy(
    iou: list[list[float]], scores: list[float], usable: list[bool], threshold: float
) -> tuple[list[int], list[int]]:
    """``(order, match)`` of one row, as ``batched_greedy_match``: usable items first, then
    those with a confidence, in descending confidence (stable)."""
    k = len(scores)
    order = sorted(
        range(k),
        key=lambda p: (not usable[p], scores[p] != scores[p], -scores[p] if scores[p] == scores[p] else 0.0),
    )
    match = [-1] * k
    n_gt = len(iou[0]) if k else 0
    if not n_gt:
        return order, match
    available = [True] * n_gt
    for p in order:
        if not usable[p]:
            break
        row = iou[p]
        best, best_g = -_INF, 0
        for g in range(n_gt):
            v = row[g] if available[g] else -1.0
            if v > best:
                best, best_g = v, g
        if best > threshold:
            available[best_g] = False
            match[p] = best_g
    return order, match


def _hungarian(
    iou: list[list[float]],
    usable: list[bool],
    allowed: list[list[bool]] | None,
    threshold: float,
    shape: tuple[int, int],
) -> list[int]:
    """The match of one row, as ``batched_hungarian_match`` on the padded group of ``shape``:
    stars resolved directly, anything else by scipy on the same matrix."""
    k = len(iou)
    match = [-1] * k
    # candidates per prediction: (gt index, weight = IoU + tie-break priority)
    cands: list[list[tuple[int, float]]] = []
    per_gt: dict[int, int] = {}
    for p in range(k):
        row: list[tuple[int, float]] = []
        if usable[p]:
            bonus = TIE_BREAK * (1.0 - 2.0 * p / DEFAULT_MAX_ITEMS)
            for g, v in enumerate(iou[p]):
                if v >= threshold and v > 0.0 and (allowed is None or allowed[p][g]):
                    row.append((g, v + bonus))
                    per_gt[g] = per_gt.get(g, 0) + 1
        cands.append(row)
    if not per_gt:
        return match
    if all(len(row) <= 1 for row in cands):  # each ground truth takes its best candidate
        best: dict[int, tuple[float, int]] = {}
        for p, row in enumerate(cands):
            for g, w in row:
                if g not in best or w > best[g][0]:
                    best[g] = (w, p)
        for g, (_, p) in best.items():
            match[p] = g
    elif max(per_gt.values()) <= 1:  # each prediction takes its best candidate
        for p, row in enumerate(cands):
            top, top_g = -_INF, -1
            for g, w in row:
                if w > top:
                    top, top_g = w, g
            match[p] = top_g
    else:  # the array path's scipy call, on the same padded matrix
        w_mat = np.zeros(shape)
        c_mat = np.zeros(shape, dtype=bool)
        for p, row in enumerate(cands):
            for g, w in row:
                w_mat[p, g] = w
                c_mat[p, g] = True
        match = _assign(w_mat, c_mat)[:k].tolist()
    return match


def _terms(
    config: Any, scores: list[float], matched: list[bool], usable: list[bool]
) -> list[float]:
    """Each item's confidence term, as ``_confidence_terms``."""
    brier = config.confidence_rule != "linear"
    cost = config.unmatched_confidence == "cost"
    out = []
    for s, hit, ok in zip(scores, matched, usable, strict=True):
        if not ok or s != s:
            out.append(0.0)
            continue
        if hit:
            out.append(1.0 - (1.0 - s) * (1.0 - s) if brier else s)
        else:
            miss = 1.0 - s * s if brier else 1.0 - s
            out.append(miss - 1.0 if cost else miss)
    return out


def _ordered_sum(values: list[float], order: Sequence[int], padded: bool) -> float:
    """Left-to-right sum in ``order`` (as ``np.add.accumulate``); 0.0 when empty. ``padded``:
    the array path adds its padding (``+0.0``) last, which turns a ``-0.0`` sum into ``0.0``."""
    if not order:
        return 0.0
    total = values[order[0]]
    for p in order[1:]:
        total += values[p]
    return total + 0.0 if padded else total


def detection_sums(
    reward: Any,
    batch: DetectionsBatch,
    gt_rows: Sequence[FloatArray],
    targets: Sequence[Any],
) -> tuple[FloatArray, ...] | None:
    """The six per-row arrays of ``DetectionReward._sums`` (matched IoU sum, confidence sum,
    predictions counted, unusable items, matched boxes ``(B,)``; each item's matched IoU
    ``(N,)``), computed row by row; None where the array path must run (more than
    :data:`SMALL_BATCH_MAX` rows, or a row with more predictions than the padding limit).

    ``gt_rows``: per row the ground-truth boxes ``(G, 4)`` in the space IoU is taken in.
    """
    from visual_rewards.rewards.detection import _PAD_LIMIT, allowed_pairs

    n = len(batch)
    counts = batch.counts.tolist()
    if n > SMALL_BATCH_MAX or max(counts, default=0) > _PAD_LIMIT:
        return None
    c = reward.config
    as_written = c.iou_space == "as_written"
    boxes = (batch.raw_boxes if as_written else batch.boxes).tolist()
    raw = batch.raw_boxes.tolist()
    scores = batch.scores.tolist()
    gts = [g.tolist() for g in gt_rows]
    shape = (max(counts, default=0), max((len(g) for g in gts), default=0))
    out: list[list[float]] = [[], [], [], [], []]
    item_iou: list[float] = []
    start = 0
    for b in range(n):
        k = counts[b]
        end = start + k
        row_raw, row_scores = raw[start:end], scores[start:end]
        counted, usable = _usable(c, row_raw, row_scores, batch.labels[start:end])
        iou = [[_iou(p, g) for g in gts[b]] for p in boxes[start:end]]
        if c.matching == "greedy":
            order, match = _greedy(iou, row_scores, usable, c.iou_threshold)
        else:
            allowed = None
            t = targets[b]
            if c.class_aware and t is not None and t.labels is not None:
                allowed = allowed_pairs(batch.labels[start:end], t.labels, k, len(t)).tolist()
            match = _hungarian(iou, usable, allowed, c.iou_threshold, shape)
            order = list(range(k))
        matched_iou = [iou[p][m] if m >= 0 else 0.0 for p, m in enumerate(match)]
        terms = _terms(c, row_scores, [m >= 0 for m in match], usable)
        out[0].append(_ordered_sum(matched_iou, order, k < shape[0]))
        out[1].append(_ordered_sum(terms, order, k < shape[0]))
        out[2].append(int(batch.n_invalid[b]) + sum(counted))
        out[3].append(int(batch.n_invalid[b]) + sum(a and not u for a, u in zip(counted, usable)))
        out[4].append(sum(m >= 0 for m in match))
        item_iou += matched_iou
        start = end
    return (
        np.array(out[0], dtype=np.float64),
        np.array(out[1], dtype=np.float64),
        np.array(out[2], dtype=np.intp),
        np.array(out[3], dtype=np.intp),
        np.array(out[4], dtype=np.intp),
        np.array(item_iou, dtype=np.float64),
    )
