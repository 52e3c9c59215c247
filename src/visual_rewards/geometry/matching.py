"""Matching predicted boxes to ground truth: optimal (Hungarian) and the paper's greedy rule.

Both work on an IoU matrix ``(P, G)`` (predictions x ground truth, e.g. from
:func:`visual_rewards.geometry.boxes.box_iou`) and return, for every prediction, the index of the
ground-truth box it is matched to, or ``-1``.

- :func:`hungarian_match` -- a one-to-one matching that maximises the total IoU over pairs
  with ``IoU >= threshold`` (``scipy.optimize.linear_sum_assignment``). Ties between matchings
  of equal total IoU are broken by an optional per-prediction ``priority`` (a higher priority is
  matched first), so that the result does not depend on the order the predictions were written in.
- :func:`greedy_match` -- the Visual-RFT released rule: predictions in descending confidence
  (stable for equal confidences), each takes its best still-unmatched ground truth (the first
  one among equal IoUs), accepted only if ``IoU > threshold`` (strictly).

The ``batched_*`` variants take padded ``(B, P, G)`` arrays and masks and loop over the
prediction axis (greedy) or only over the rows whose assignment is not trivial (Hungarian).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

__all__ = [
    "TIE_BREAK",
    "batched_greedy_match",
    "batched_hungarian_match",
    "greedy_match",
    "hungarian_match",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

#: Weight of the tie-breaking priority (in ``[-1, 1]``) next to the IoU in the Hungarian objective.
TIE_BREAK = 1e-9


def _check_threshold(threshold: float, low_inclusive: bool) -> None:
    ok = (0.0 <= threshold < 1.0) if low_inclusive else (0.0 < threshold <= 1.0)
    if not ok:
        rng = "[0, 1)" if low_inclusive else "(0, 1]"
        raise ValueError(f"threshold must be in {rng}, got {threshold!r}")


def _candidates(iou: FloatArray, threshold: float, allowed: BoolArray | None) -> BoolArray:
    cand: BoolArray = (iou >= threshold) & (iou > 0.0)
    if allowed is not None:
        cand &= allowed
    return cand


def _assign(weights: FloatArray, cand: BoolArray) -> IntArray:
    """One row: maximum-weight matching restricted to ``cand`` -> ``(P,)`` gt index or -1."""
    n_pred = weights.shape[0]
    match = np.full(n_pred, -1, dtype=np.intp)
    if not cand.any():
        return match
    rows, cols = linear_sum_assignment(np.where(cand, weights, 0.0), maximize=True)
    keep = cand[rows, cols]
    match[rows[keep]] = cols[keep]
    return match


def hungarian_match(
    iou: npt.ArrayLike,
    threshold: float = 0.5,
    *,
    allowed: npt.ArrayLike | None = None,
    priority: npt.ArrayLike | None = None,
) -> IntArray:
    """Optimal one-to-one matching on ``IoU >= threshold`` (and ``IoU > 0``).

    Maximises ``Σ (IoU + TIE_BREAK * priority)`` over matched pairs, where only pairs with
    ``IoU >= threshold`` (and ``allowed``, when given) may be matched.

    Args:
        iou: ``(P, G)`` IoU of predictions with ground truth, in ``[0, 1]``.
        threshold: the match threshold ``τ`` in ``(0, 1]``.
        allowed: optional ``(P, G)`` bool, e.g. "same label" for class-aware matching.
        priority: optional ``(P,)`` in ``[-1, 1]``; among matchings of equal total IoU the one
            matching higher-priority predictions wins (order-independent tie-breaking).

    Returns:
        ``(P,)`` intp: the ground-truth index matched to each prediction, or -1.

    >>> hungarian_match([[0.9, 0.6], [0.8, 0.0]])
    array([1, 0])
    >>> hungarian_match([[0.9, 0.6], [0.8, 0.0]], threshold=0.7)
    array([ 0, -1])
    """
    _check_threshold(threshold, low_inclusive=False)
    m = np.asarray(iou, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"iou must have shape (P, G), got {m.shape}")
    alw = None if allowed is None else np.asarray(allowed, dtype=bool).reshape(m.shape)
    cand = _candidates(m, threshold, alw)
    weights = m
    if priority is not None:
        pr = np.asarray(priority, dtype=np.float64).reshape(m.shape[0])
        weights = m + TIE_BREAK * pr[:, None]
    return _assign(weights, cand)


def greedy_match(
    iou: npt.ArrayLike, scores: npt.ArrayLike, threshold: float = 0.5
) -> tuple[IntArray, IntArray]:
    """The Visual-RFT released matching: greedy in descending confidence, strict ``IoU > τ``.

    Predictions are visited in descending ``scores`` (a stable sort: equal scores keep their
    written order; NaN scores go last). Each takes the still-unmatched ground truth with the
    highest IoU (the first among equal IoUs) and keeps it only if that IoU is ``> threshold``.

    Args:
        iou: ``(P, G)`` IoU of predictions with ground truth.
        scores: ``(P,)`` confidences (NaN = none given).
        threshold: ``τ`` in ``[0, 1)``; the paper uses 0.5.

    Returns:
        ``(order, match)``: ``order`` ``(P,)`` the visiting order (prediction indices);
        ``match`` ``(P,)`` the matched ground-truth index per prediction (original order), or -1.

    >>> order, match = greedy_match([[0.6, 0.0], [0.7, 0.55]], [0.5, 0.9])
    >>> order.tolist(), match.tolist()
    ([1, 0], [-1, 0])
    """
    m = np.asarray(iou, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"iou must have shape (P, G), got {m.shape}")
    s = np.asarray(scores, dtype=np.float64).reshape(m.shape[0])
    order, match = batched_greedy_match(
        m[None],
        s[None],
        np.ones((1, m.shape[0]), dtype=bool),
        np.ones((1, m.shape[1]), dtype=bool),
        threshold,
    )
    return order[0], match[0]


def batched_greedy_match(
    iou: FloatArray,
    scores: FloatArray,
    pred_valid: BoolArray,
    gt_valid: BoolArray,
    threshold: float = 0.5,
) -> tuple[IntArray, IntArray]:
    """:func:`greedy_match` over a padded batch.

    Args:
        iou: ``(B, P, G)``.
        scores: ``(B, P)``; NaN (no confidence) sorts after every number.
        pred_valid: ``(B, P)`` bool, False for padding and dropped predictions (they never
            match and are visited last).
        gt_valid: ``(B, G)`` bool, False for padding.
        threshold: ``τ`` in ``[0, 1)``.

    Returns:
        ``(order, match)``, both ``(B, P)`` intp: visiting order and matched gt index (or -1)
        per prediction in its original position.
    """
    _check_threshold(threshold, low_inclusive=True)
    n_batch, n_pred, _ = iou.shape
    # Valid before invalid, then scored before NaN, then descending score; ties keep their order.
    missing = np.isnan(scores)
    neg = np.where(missing, 0.0, -scores)
    order: IntArray = np.lexsort((neg, missing, ~pred_valid), axis=1).astype(np.intp)
    match: IntArray = np.full((n_batch, n_pred), -1, dtype=np.intp)
    if n_pred == 0 or iou.shape[2] == 0:
        return order, match
    rows = np.arange(n_batch)
    available = gt_valid.copy()
    for j in range(n_pred):
        idx = order[:, j]
        live = pred_valid[rows, idx]
        if not live.any():
            break
        masked = np.where(available, iou[rows, idx, :], -1.0)
        best_g = np.argmax(masked, axis=1)
        best = masked[rows, best_g]
        accept = live & (best > threshold)
        r = rows[accept]
        available[r, best_g[accept]] = False
        match[r, idx[accept]] = best_g[accept]
    return order, match


#: Counting candidates along an axis at most this long adds its slices one by one (a sum of
#: booleans over a short trailing axis costs numpy a cast per element).
_SHORT_AXIS = 64


def _line_counts(candidates: BoolArray, axis: int) -> IntArray:
    """The number of candidates along ``axis`` of ``(B, P, G)``: per prediction (``axis=2``)
    or per ground truth (``axis=1``), as ``candidates.sum(axis)``."""
    n = candidates.shape[axis]
    if n > _SHORT_AXIS or n == 0:
        counts: IntArray = candidates.sum(axis=axis)
        return counts
    lines = np.moveaxis(candidates, axis, 0)
    out: IntArray = lines[0].astype(np.intp)
    for line in lines[1:]:
        out += line
    return out


def _rows_of(values: npt.NDArray[Any], rows: IntArray) -> npt.NDArray[Any]:
    """``values[rows]``, without the copy when ``rows`` are all rows in order."""
    return values if rows.size == values.shape[0] else values[rows]


def batched_hungarian_match(
    iou: FloatArray,
    candidates: BoolArray,
    priority: FloatArray | None = None,
) -> IntArray:
    """Optimal matchings over a padded batch; scipy runs only on rows that need it.

    When no prediction of a row has two candidate ground truths, the candidate pairs form
    stars around ground-truth boxes and the optimum gives each ground truth its best
    candidate; symmetrically when no ground truth has two candidates. Only rows with both
    kinds of conflict go to ``scipy.optimize.linear_sum_assignment``.

    Args:
        iou: ``(B, P, G)`` IoU.
        candidates: ``(B, P, G)`` bool, the pairs that may be matched (``IoU >= τ``, labels
            agree, neither side is padding).
        priority: optional ``(B, P)`` tie-break in ``[-1, 1]`` (see :func:`hungarian_match`).

    Returns:
        ``(B, P)`` intp: matched gt index per prediction, or -1.

    >>> iou = np.array([[[0.9, 0.6], [0.8, 0.0]], [[0.7, 0.0], [0.0, 0.2]]])
    >>> batched_hungarian_match(iou, iou >= 0.5).tolist()
    [[1, 0], [0, -1]]
    """
    n_batch, n_pred, n_gt = iou.shape
    match: IntArray = np.full((n_batch, n_pred), -1, dtype=np.intp)
    if n_pred == 0 or n_gt == 0:
        return match
    weights = iou if priority is None else iou + TIE_BREAK * priority[:, :, None]
    masked = np.where(candidates, weights, -np.inf)
    per_pred = _line_counts(candidates, 2)  # (B, P)
    per_gt = _line_counts(candidates, 1)  # (B, G)
    stars_at_gt = (per_pred <= 1).all(axis=1)  # no prediction has two candidates
    stars_at_pred = (per_gt <= 1).all(axis=1) & ~stars_at_gt
    # Every prediction has at most one candidate: each ground truth takes its best candidate.
    rows = np.flatnonzero(stars_at_gt)
    if rows.size:
        best_pred = np.argmax(_rows_of(masked, rows), axis=1)  # (R, G)
        r, g = np.nonzero(_rows_of(per_gt, rows))
        match[rows[r], best_pred[r, g]] = g
    # Every ground truth has at most one candidate: each prediction takes its best candidate.
    rows = np.flatnonzero(stars_at_pred)
    if rows.size:
        best_gt = np.argmax(_rows_of(masked, rows), axis=2)  # (R, P)
        r, p = np.nonzero(_rows_of(per_pred, rows))
        match[rows[r], p] = best_gt[r, p]
    for b in np.flatnonzero(~(stars_at_gt | stars_at_pred)):
        match[b] = _assign(weights[b], candidates[b])
    return match
