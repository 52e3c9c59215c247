"""The small-call path of the detection reward: the same sums, in plain Python.

Trainers call a reward with one device's batch (TRL: 8 to 16 completions) or one sample at a
time (veRL). At those sizes the padded array path of :mod:`visual_rewards.rewards.detection`
spends most of its time setting up numpy temporaries, not computing. :func:`detection_sums`
computes the same per-row sums -- matched IoU, confidence terms, counts and each item's
matched IoU -- row by row with Python floats, for calls of at most :data:`SMALL_BATCH_MAX`
completions, looking at a pair only when its IoU makes it a candidate for matching.

Its results are identical to the array path's, bit for bit: the same IEEE operations in the
same order (IoU as ``geometry.boxes._iou_parts`` computes it, squares as
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

#: Calls of at most this many completions take the plain-Python path. Chosen by measurement
#: (``DetectionReward().score`` on the completions of ``benchmarks/bench_call_sizes.py``, CPU
#: time, one core, 2026-12-01): calls of 16 took 426 µs here and 459 µs on the array path,
#: calls of 18 469 / 474 µs, calls of 20 517 / 503 µs, calls of 24 597 / 545 µs.
SMALL_BATCH_MAX = 18

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
_INF = float("inf")


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
            position = tuple(box)
            if position in seen:
                counted[i] = usable[i] = False
            seen.add(position)
    elif config.duplicates == "invalid" and k > 1 and len(set(map(tuple, raw))) < k:
        norm = label_rules.normalize_label
        keys = [(None if x is None else norm(x), *box) for x, box in zip(labels, raw, strict=True)]
        times: dict[tuple[Any, ...], int] = {}
        for key in keys:
            times[key] = times.get(key, 0) + 1
        usable = [times[key] == 1 for key in keys]
    if config.validate_confidence:
        usable = [u and not (s < 0.0 or s > 1.0) for u, s in zip(usable, scores, strict=True)]
    return counted, usable


#: A row's candidate pairs: item (within the row) -> [(ground truth, IoU), ...] in gt order.
Candidates = dict[int, list[tuple[int, float]]]


def _greedy(
    cands: Candidates, scores: list[float], usable: list[bool]
) -> tuple[list[int], list[int]]:
    """``(order, match)`` of one row, as ``batched_greedy_match``: usable items first, then
    those with a confidence, in descending confidence (stable); each takes its available
    ground truth of highest IoU above the threshold (the first among equals). Only pairs
    above the threshold (``cands``) can be taken, so only they are looked at."""
    k = len(scores)
    order = sorted(
        range(k),
        key=lambda p: (
            not usable[p],
            scores[p] != scores[p],
            -scores[p] if scores[p] == scores[p] else 0.0,
        ),
    )
    match = [-1] * k
    if not cands:
        return order, match
    taken: set[int] = set()
    for p in order:
        if not usable[p]:
            break
        best, best_g = -_INF, -1
        for g, v in cands.get(p, ()):
            if v > best and g not in taken:
                best, best_g = v, g
        if best_g >= 0:
            taken.add(best_g)
            match[p] = best_g
    return order, match


def _hungarian(cands: Candidates, k: int, shape: tuple[int, int]) -> list[int]:
    """The match of one row, as ``batched_hungarian_match`` on the padded group of ``shape``
    (``cands``: the candidate pairs, usable and allowed): stars resolved directly, anything
    else by scipy on the same matrix. Weights: IoU plus the tie-break priority of the
    prediction's position (:func:`_weighted`)."""
    match = [-1] * k
    if not cands:
        return match
    if all(len(row) <= 1 for row in cands.values()):  # each gt takes its best candidate
        best: dict[int, tuple[float, int]] = {}
        for p in sorted(cands):
            for g, w in _weighted(p, cands[p]):
                if g not in best or w > best[g][0]:
                    best[g] = (w, p)
        for g, (_, p) in best.items():
            match[p] = g
        return match
    weighted = {p: _weighted(p, row) for p, row in cands.items()}
    per_gt: dict[int, int] = {}
    for row in cands.values():
        for g, _ in row:
            per_gt[g] = per_gt.get(g, 0) + 1
    if max(per_gt.values()) <= 1:  # each prediction takes its best candidate
        for p, wrow in weighted.items():
            top, top_g = -_INF, -1
            for g, w in wrow:
                if w > top:
                    top, top_g = w, g
            match[p] = top_g
    else:  # the array path's scipy call, on the same padded matrix
        w_mat = np.zeros(shape)
        c_mat = np.zeros(shape, dtype=bool)
        for p, wrow in weighted.items():
            for g, w in wrow:
                w_mat[p, g] = w
                c_mat[p, g] = True
        match = _assign(w_mat, c_mat)[:k].tolist()
    return match


def _weighted(p: int, row: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Prediction ``p``'s candidates with their weights, ``IoU + TIE_BREAK * priority``, the
    priority falling from 1 by ``2 / DEFAULT_MAX_ITEMS`` per position (as the array path)."""
    bonus = TIE_BREAK * (1.0 - 2.0 * p / DEFAULT_MAX_ITEMS)
    return [(g, v + bonus) for g, v in row]


def _terms(
    config: Any, scores: list[float], matched: list[bool], usable: list[bool]
) -> list[float]:
    """Each item's confidence term, as ``_confidence_terms``."""
    brier = config.confidence_rule != "linear"
    cost = config.unmatched_confidence == "cost"
    out = []
    for s, hit, ok in zip(scores, matched, usable, strict=True):
        if ok and s != s and cost:  # no confidence: the worst one for the outcome
            s = 0.0 if hit else 1.0
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


def _iou(a: list[float], b: list[float]) -> float:
    """IoU of prediction ``a`` and ground truth ``b`` (xyxy) in Python floats: the operations
    of ``geometry.boxes._iou_parts`` in its order, so the same value to the last bit (without
    an overlap that function's result is 0 too: returned early)."""
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


def _row_candidates(
    config: Any, pred: list[list[float]], gt_rows: Sequence[FloatArray], counts: list[int]
) -> list[Candidates]:
    """Per row, the pairs that may be matched on IoU alone: ``IoU >= τ`` (and ``> 0``) for the
    Hungarian matching, ``IoU > τ`` for the greedy one. (In Python: at these sizes numpy's
    setup costs more than the IoUs -- one array operation over all pairs measured 51 µs for
    a call of 8 where this takes 31 µs.)"""
    greedy = config.matching == "greedy"
    tau = config.iou_threshold
    out: list[Candidates] = []
    start = 0
    for k, gt in zip(counts, gt_rows, strict=True):
        row: Candidates = {}
        gts = gt.tolist() if k else []
        for p in range(k):
            box = pred[start + p]
            for g, other in enumerate(gts):
                v = _iou(box, other)
                if (v > tau) if greedy else (v >= tau and v > 0.0):
                    row.setdefault(p, []).append((g, v))
        out.append(row)
        start += k
    return out


def _row_sums(
    reward: Any,
    raw: list[list[float]],
    scores: list[float],
    labels: list[str | None],
    row_cands: Candidates,
    target: Any,
    shape: tuple[int, int],
) -> tuple[float, float, int, int, int, list[float]]:
    """One row with ``k >= 1`` items: matched IoU sum, confidence sum, items counted, unusable
    items, matched boxes, and each item's matched IoU (before the row's unreadable items)."""
    c = reward.config
    k = len(raw)
    counted, usable = _usable(c, raw, scores, labels)
    cands = {p: row for p, row in row_cands.items() if usable[p]}
    if cands and c.class_aware and target is not None and target.labels is not None:
        from visual_rewards.rewards.detection import allowed_pairs

        ok = allowed_pairs(labels, target.labels, k, len(target)).tolist()
        cands = {p: [(g, v) for g, v in row if ok[p][g]] for p, row in cands.items()}
        cands = {p: row for p, row in cands.items() if row}
    if c.matching == "greedy":
        order, match = _greedy(cands, scores, usable)
    else:
        match = _hungarian(cands, k, shape) if cands else [-1] * k
        order = list(range(k))
    matched_iou = [0.0] * k
    for p, m in enumerate(match):
        if m >= 0:
            matched_iou[p] = dict(cands[p])[m]
    terms = _terms(c, scores, [m >= 0 for m in match], usable)
    padded = k < shape[0]
    n_counted = sum(counted)
    return (
        _ordered_sum(matched_iou, order, padded),
        _ordered_sum(terms, order, padded),
        n_counted,
        n_counted - sum(usable),  # counted, not usable (every usable item is counted)
        k - match.count(-1),
        matched_iou,
    )


def detection_sums(
    reward: Any,
    batch: DetectionsBatch,
    gt_rows: Sequence[FloatArray],
    targets: Sequence[Any],
) -> tuple[FloatArray, FloatArray, IntArray, IntArray, IntArray, FloatArray] | None:
    """The six per-row arrays of ``DetectionReward._sums`` (matched IoU sum, confidence sum,
    predictions counted, unusable items, matched boxes ``(B,)``; each item's matched IoU
    ``(N,)``), computed row by row; None where the array path must run (more than
    :data:`SMALL_BATCH_MAX` rows, or a row with more predictions than the padding limit).

    ``gt_rows``: per row the ground-truth boxes ``(G, 4)`` in the space IoU is taken in.
    """
    from visual_rewards.rewards.detection import _PAD_LIMIT

    n = len(batch)
    counts = batch.counts.tolist()
    if n > SMALL_BATCH_MAX or max(counts, default=0) > _PAD_LIMIT:
        return None
    c = reward.config
    raw = batch.raw_boxes.tolist()
    scores = batch.scores.tolist()
    n_invalid = batch.n_invalid.tolist()
    pred = batch.raw_boxes if c.iou_space == "as_written" else batch.boxes
    row_cands = _row_candidates(c, pred.tolist(), gt_rows, counts)
    shape = (max(counts, default=0), max((g.shape[0] for g in gt_rows), default=0))
    out: list[list[float]] = [[], [], [], [], []]
    item_iou: list[float] = []
    start = 0
    for b, k in enumerate(counts):
        end = start + k
        if k:
            row = _row_sums(
                reward, raw[start:end], scores[start:end], batch.labels[start:end],
                row_cands[b], targets[b], shape,
            )  # fmt: skip
        else:
            row = (0.0, 0.0, 0, 0, 0, [])
        for column, value in zip(out, row[:5], strict=False):
            column.append(value)
        out[2][-1] += n_invalid[b]
        out[3][-1] += n_invalid[b]
        item_iou += row[5]
        start = end
    return (
        np.array(out[0], dtype=np.float64),
        np.array(out[1], dtype=np.float64),
        np.array(out[2], dtype=np.intp),
        np.array(out[3], dtype=np.intp),
        np.array(out[4], dtype=np.intp),
        np.array(item_iou, dtype=np.float64),
    )
