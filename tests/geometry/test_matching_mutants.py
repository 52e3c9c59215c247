"""Matching: the default thresholds (never passed here), their edges, the batched fast paths
against the single-row functions, and the arguments each function validates.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visual_rewards.geometry.matching import (
    TIE_BREAK,
    batched_greedy_match,
    batched_hungarian_match,
    greedy_match,
    hungarian_match,
)


def test_default_threshold_of_hungarian_is_half_inclusive() -> None:
    assert hungarian_match([[0.5]]).tolist() == [0]
    assert hungarian_match([[0.4999]]).tolist() == [-1]
    assert hungarian_match([[0.5, 0.7], [0.49, 0.0]]).tolist() == [1, -1]


def test_default_threshold_of_greedy_is_half_strict() -> None:
    assert greedy_match([[0.5]], [0.9])[1].tolist() == [-1]
    assert greedy_match([[0.5001]], [0.9])[1].tolist() == [0]
    order, match = batched_greedy_match(
        np.array([[[0.5], [0.51]]]),
        np.array([[0.9, 0.1]]),
        np.ones((1, 2), bool),
        np.ones((1, 1), bool),
    )
    assert match.tolist() == [[-1, 0]] and order.tolist() == [[0, 1]]


@pytest.mark.parametrize("threshold", [1.0, 1e-9, 0.5])
def test_hungarian_threshold_edges(threshold: float) -> None:
    # IoU equal to the threshold matches; just below it does not
    assert hungarian_match([[threshold]], threshold).tolist() == [0]
    assert hungarian_match([[threshold * (1 - 1e-6)]], threshold).tolist() == [-1]
    assert hungarian_match([[0.0, threshold]], threshold).tolist() == [1]


@pytest.mark.parametrize("threshold", [0.0, 0.99, 0.5])
def test_greedy_threshold_edges(threshold: float) -> None:
    # IoU must be strictly above the threshold, and above 0 even at threshold 0
    assert greedy_match([[threshold]], [1.0], threshold)[1].tolist() == [-1]
    assert greedy_match([[min(threshold + 0.005, 1.0)]], [1.0], threshold)[1].tolist() == [0]


@pytest.mark.parametrize(
    ("threshold", "rng"), [(0.0, r"\(0, 1\]"), (1.5, r"\(0, 1\]"), (-0.1, r"\(0, 1\]")]
)
def test_hungarian_threshold_errors(threshold: float, rng: str) -> None:
    with pytest.raises(ValueError, match=rf"threshold must be in {rng}, got {threshold!r}"):
        hungarian_match([[0.9]], threshold)


@pytest.mark.parametrize("threshold", [1.0, -0.1, 2.0])
def test_greedy_threshold_errors(threshold: float) -> None:
    with pytest.raises(ValueError, match=rf"threshold must be in \[0, 1\), got {threshold!r}"):
        greedy_match([[0.9]], [1.0], threshold)


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match=r"iou must have shape \(P, G\), got \(3,\)"):
        hungarian_match([0.9, 0.8, 0.7])
    with pytest.raises(ValueError, match=r"iou must have shape \(P, G\), got \(1, 1, 1\)"):
        greedy_match([[[0.9]]], [1.0])


def test_hungarian_allowed_and_priority() -> None:
    m = [[0.9, 0.8], [0.85, 0.0]]
    assert hungarian_match(m).tolist() == [1, 0]
    assert hungarian_match(m, allowed=[[True, False], [True, True]]).tolist() == [0, -1]
    assert hungarian_match(m, allowed=[True, True, False, True]).tolist() == [0, -1]  # reshaped
    assert hungarian_match(m, allowed=np.zeros((2, 2), bool)).tolist() == [-1, -1]
    # equal totals: priority decides, whatever the written order
    tie = [[0.6, 0.6], [0.6, 0.6], [0.6, 0.0]]
    assert hungarian_match(tie, priority=[-1.0, 1.0, 0.5]).tolist() == [-1, 1, 0]
    assert hungarian_match(tie, priority=[1.0, -1.0, 0.5]).tolist() == [1, -1, 0]
    # the tie-break never outweighs a real difference in IoU
    assert hungarian_match([[0.6], [0.6 + 10 * TIE_BREAK]], priority=[1.0, -1.0]).tolist() == [
        -1,
        0,
    ]
    assert hungarian_match(np.zeros((0, 3))).shape == (0,)
    assert hungarian_match(np.zeros((2, 0))).tolist() == [-1, -1]
    assert hungarian_match([[0.0, 0.0]]).tolist() == [-1]
    assert hungarian_match([[0.9]]).dtype == np.intp


def test_greedy_visits_by_confidence_and_takes_the_best_free_truth() -> None:
    m = [[0.6, 0.9], [0.7, 0.95], [0.8, 0.55]]
    order, match = greedy_match(m, [0.5, 0.9, 0.7])
    assert order.tolist() == [1, 2, 0]
    assert match.tolist() == [-1, 1, 0]  # 1 takes gt 1; 2 takes gt 0; 0 finds nothing free
    # equal IoUs: the first ground truth; equal scores: written order
    order, match = greedy_match([[0.7, 0.7], [0.7, 0.7]], [0.5, 0.5])
    assert order.tolist() == [0, 1] and match.tolist() == [0, 1]
    order, match = greedy_match([[0.9], [0.9], [0.9]], [np.nan, 0.2, np.nan])
    assert order.tolist() == [1, 0, 2] and match.tolist() == [-1, 0, -1]
    order, match = greedy_match(np.zeros((0, 2)), [])
    assert order.shape == (0,) and match.shape == (0,)
    order, match = greedy_match(np.zeros((2, 0)), [0.3, 0.9])
    assert order.tolist() == [1, 0] and match.tolist() == [-1, -1]


def test_batched_greedy_padding_and_invalid_rows() -> None:
    iou = np.array([[[0.9, 0.8], [0.7, 0.6]], [[0.9, 0.9], [0.9, 0.9]]])
    scores = np.array([[0.1, 0.9], [0.5, 0.6]])
    pred_valid = np.array([[True, True], [False, False]])
    gt_valid = np.array([[False, True], [True, True]])
    order, match = batched_greedy_match(iou, scores, pred_valid, gt_valid)
    # row 0: gt 0 is padding, so prediction 1 (visited first) takes gt 1, prediction 0 nothing
    assert order[0].tolist() == [1, 0] and match[0].tolist() == [-1, 1]
    # row 1: no valid prediction matches anything
    assert match[1].tolist() == [-1, -1]
    # a valid row after rows that ran out of predictions is still matched
    iou = np.array([[[0.9], [0.0], [0.0]], [[0.2], [0.3], [0.9]]])
    scores = np.array([[0.9, np.nan, np.nan], [0.9, 0.8, 0.7]])
    pred_valid = np.array([[True, False, False], [True, True, True]])
    order, match = batched_greedy_match(iou, scores, pred_valid, np.ones((2, 1), bool))
    assert match.tolist() == [[0, -1, -1], [-1, -1, 0]]
    assert order.tolist() == [[0, 1, 2], [0, 1, 2]]


iou_values = st.sampled_from([0.0, 0.3, 0.5, 0.6, 0.6, 0.8, 0.95])


@st.composite
def padded_batches(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b, p, g = draw(st.integers(1, 4)), draw(st.integers(0, 5)), draw(st.integers(0, 5))
    iou = np.array(draw(st.lists(iou_values, min_size=b * p * g, max_size=b * p * g))).reshape(
        b, p, g
    )
    n_p = draw(st.lists(st.integers(0, p), min_size=b, max_size=b))
    n_g = draw(st.lists(st.integers(0, g), min_size=b, max_size=b))
    pv = np.arange(p)[None, :] < np.array(n_p)[:, None]
    gv = np.arange(g)[None, :] < np.array(n_g)[:, None]
    return iou, pv, gv


@settings(max_examples=200, deadline=None)
@given(padded_batches(), st.data())
def test_batched_hungarian_equals_single_rows_with_priority(
    batch: tuple[np.ndarray, np.ndarray, np.ndarray], data: st.DataObject
) -> None:
    iou, pv, gv = batch
    b, p, _ = iou.shape
    prio = np.array(
        data.draw(st.lists(st.sampled_from([-1.0, 0.0, 0.5, 1.0]), min_size=b * p, max_size=b * p))
    ).reshape(b, p)
    cand = (iou >= 0.5) & (iou > 0) & pv[:, :, None] & gv[:, None, :]
    got = batched_hungarian_match(iou, cand, prio)
    plain = batched_hungarian_match(iou, cand)

    def objective(k: int, match: np.ndarray) -> float:
        return sum(iou[k, i, j] + TIE_BREAK * prio[k, i] for i, j in enumerate(match) if j >= 0)

    for k in range(b):
        single = (
            hungarian_match(iou[k], 0.5, allowed=cand[k], priority=prio[k]) if p else np.zeros(0)
        )
        # the same optimum (a prediction with two equally good truths may take either)
        assert objective(k, got[k]) == pytest.approx(objective(k, single), abs=1e-12)
        total = sum(iou[k, i, j] for i, j in enumerate(plain[k]) if j >= 0)
        best = sum(iou[k, i, j] for i, j in enumerate(single) if j >= 0)
        assert total == pytest.approx(best, abs=1e-12)
        assert all(cand[k, i, j] for i, j in enumerate(got[k]) if j >= 0)
        matched = [j for j in got[k] if j >= 0]
        assert len(matched) == len(set(matched))


@settings(max_examples=200, deadline=None)
@given(padded_batches(), st.data())
def test_batched_greedy_equals_single_rows(
    batch: tuple[np.ndarray, np.ndarray, np.ndarray], data: st.DataObject
) -> None:
    iou, pv, gv = batch
    b, p, _ = iou.shape
    scores = np.array(
        data.draw(
            st.lists(st.sampled_from([0.1, 0.5, 0.9, float("nan")]), min_size=b * p, max_size=b * p)
        )
    ).reshape(b, p)
    order, match = batched_greedy_match(iou, scores, pv, gv)
    for k in range(b):
        n_p, n_g = int(pv[k].sum()), int(gv[k].sum())
        o, m = greedy_match(iou[k, :n_p, :n_g], scores[k, :n_p])
        assert match[k, :n_p].tolist() == m.tolist()
        assert (match[k, n_p:] == -1).all()
        assert order[k, :n_p].tolist() == o.tolist()
        assert sorted(order[k].tolist()) == list(range(p))


def test_batched_hungarian_star_rows() -> None:
    # row 0: each prediction has one candidate (stars at the ground truth)
    # row 1: each ground truth has one candidate (stars at the prediction)
    # row 2: conflicts both ways (scipy)
    iou = np.array(
        [
            [[0.9, 0.0, 0.0], [0.7, 0.0, 0.0], [0.0, 0.0, 0.6]],
            [[0.9, 0.6, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.7]],
            [[0.9, 0.8, 0.0], [0.85, 0.0, 0.0], [0.0, 0.0, 0.0]],
        ]
    )
    cand = iou >= 0.5
    assert batched_hungarian_match(iou, cand).tolist() == [[0, -1, 2], [0, -1, 2], [1, 0, -1]]
    prio = np.array([[-1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    tie = np.array([[[0.7], [0.7], [0.0]]] * 3)
    assert batched_hungarian_match(tie, tie >= 0.5, prio)[0].tolist() == [-1, 0, -1]
    assert batched_hungarian_match(tie, tie >= 0.5, -prio)[0].tolist() == [0, -1, -1]
    assert batched_hungarian_match(np.zeros((2, 0, 3)), np.zeros((2, 0, 3), bool)).shape == (2, 0)
    assert (
        batched_hungarian_match(np.zeros((2, 3, 0)), np.zeros((2, 3, 0), bool)).tolist()
        == [[-1] * 3] * 2
    )


def test_array_like_arguments_are_normalised() -> None:
    m = [[0.9, 0.8], [0.85, 0.0]]
    # allowed as 0/1 integers, priority and scores as columns: read as (P, G) bool and (P,)
    assert hungarian_match(m, allowed=[[1, 0], [1, 1]]).tolist() == [0, -1]
    tie = [[0.8], [0.8]]
    assert hungarian_match(tie, priority=[[0.2], [0.9]]).tolist() == [-1, 0]
    assert hungarian_match(tie, priority=np.array([[0.9], [0.2]])).tolist() == [0, -1]
    order, match = greedy_match([[0.9], [0.9]], [[0.1], [0.7]])
    assert order.tolist() == [1, 0] and match.tolist() == [-1, 0]
    order, match = greedy_match(np.array([[0.9], [0.9]], dtype=np.float32), np.array([0.1, 0.7]))
    assert match.tolist() == [-1, 0]


def test_batched_hungarian_runs_scipy_only_on_rows_with_both_conflicts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the documented cost: rows whose candidates form stars (around a ground truth or around a
    # prediction) are assigned without scipy; only row 2 has conflicts both ways
    import visual_rewards.geometry.matching as matching

    calls: list[np.ndarray] = []
    real = matching.linear_sum_assignment

    def counting(weights: np.ndarray, **kwargs: object) -> tuple[np.ndarray, np.ndarray]:
        calls.append(weights)
        return real(weights, **kwargs)

    monkeypatch.setattr(matching, "linear_sum_assignment", counting)
    iou = np.array(
        [
            [[0.9, 0.0, 0.0], [0.7, 0.0, 0.0], [0.0, 0.0, 0.6]],  # a ground truth, two candidates
            [[0.9, 0.6, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.7]],  # a prediction, two candidates
            [[0.9, 0.8, 0.0], [0.85, 0.0, 0.0], [0.0, 0.0, 0.0]],  # both
            [[0.9, 0.0, 0.0], [0.0, 0.8, 0.0], [0.0, 0.0, 0.0]],  # isolated pairs
        ]
    )
    got = batched_hungarian_match(iou, iou >= 0.5)
    assert got.tolist() == [[0, -1, 2], [0, -1, 2], [1, 0, -1], [0, 1, -1]]
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], np.where(iou[2] >= 0.5, iou[2], 0.0))


def test_line_counts_are_integer_sums_and_rows_of_all_rows_is_no_copy() -> None:
    from visual_rewards.geometry.matching import _line_counts, _rows_of

    cand = np.array([[[True, False, True], [True, True, False]]])
    for axis in (1, 2):
        got = _line_counts(cand, axis)  # the short-axis loop
        assert got.dtype == np.intp
        np.testing.assert_array_equal(got, cand.sum(axis=axis))
    values = np.arange(6.0).reshape(3, 2)
    assert _rows_of(values, np.arange(3)) is values
    np.testing.assert_array_equal(_rows_of(values, np.array([2, 0])), values[[2, 0]])
