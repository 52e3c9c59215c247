"""Hungarian against brute force; greedy against the released loop."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visual_rewards import greedy_match, hungarian_match
from visual_rewards.geometry.matching import batched_greedy_match, batched_hungarian_match

iou_values = st.sampled_from([0.0, 0.2, 0.49, 0.5, 0.51, 0.6, 0.6, 0.75, 0.9, 1.0])


@st.composite
def matrices(draw: st.DrawFn) -> np.ndarray:
    p = draw(st.integers(0, 6))
    g = draw(st.integers(0, 6))
    return np.array(draw(st.lists(iou_values, min_size=p * g, max_size=p * g))).reshape(p, g)


def brute_force_best(m: np.ndarray, threshold: float) -> float:
    """Best total IoU over every one-to-one assignment of predictions to GT (or to nothing)."""
    p, g = m.shape
    best = 0.0
    for targets in itertools.product(range(-1, g), repeat=p):
        used = [t for t in targets if t >= 0]
        if len(used) != len(set(used)):
            continue
        if any(
            t >= 0 and not (m[i, t] >= threshold and m[i, t] > 0) for i, t in enumerate(targets)
        ):
            continue
        best = max(best, sum(m[i, t] for i, t in enumerate(targets) if t >= 0))
    return best


@settings(max_examples=300, deadline=None)
@given(matrices(), st.sampled_from([0.5, 0.3, 0.75]))
def test_hungarian_equals_brute_force(m: np.ndarray, threshold: float) -> None:
    match = hungarian_match(m, threshold)
    assert match.shape == (m.shape[0],)
    used = match[match >= 0]
    assert len(set(used.tolist())) == used.size
    for i, j in enumerate(match):
        if j >= 0:
            assert m[i, j] >= threshold
    total = sum(m[i, j] for i, j in enumerate(match) if j >= 0)
    assert total == pytest.approx(brute_force_best(m, threshold), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.lists(matrices(), min_size=1, max_size=4))
def test_batched_hungarian_equals_single(ms: list[np.ndarray]) -> None:
    wp = max(m.shape[0] for m in ms)
    wg = max(m.shape[1] for m in ms)
    batch = np.zeros((len(ms), wp, wg))
    for k, m in enumerate(ms):
        batch[k, : m.shape[0], : m.shape[1]] = m
    got = batched_hungarian_match(batch, (batch >= 0.5) & (batch > 0))
    for k, m in enumerate(ms):
        single = hungarian_match(m, 0.5)
        total_single = sum(m[i, j] for i, j in enumerate(single) if j >= 0)
        total_batch = sum(m[i, j] for i, j in enumerate(got[k, : m.shape[0]]) if j >= 0)
        assert total_batch == pytest.approx(total_single, abs=1e-12)
        assert (got[k, m.shape[0] :] == -1).all()


def test_priority_breaks_ties_whatever_the_order() -> None:
    m = np.array([[0.8], [0.8]])
    assert hungarian_match(m, priority=[0.2, 0.9]).tolist() == [-1, 0]
    assert hungarian_match(m[::-1], priority=[0.9, 0.2]).tolist() == [0, -1]


def released_greedy(m: np.ndarray, scores: list[float], threshold: float = 0.5) -> list[int]:
    """The released loop, transcribed: visiting order by descending confidence (stable)."""
    order = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)
    taken: set[int] = set()
    out = [-1] * len(scores)
    for i in order:
        best, best_j = 0.0, -1
        for j in range(m.shape[1]):
            if j not in taken and m[i, j] > best:
                best, best_j = m[i, j], j
        if best > threshold:
            taken.add(best_j)
            out[i] = best_j
    return out


@settings(max_examples=300, deadline=None)
@given(matrices(), st.data())
def test_greedy_equals_released_loop(m: np.ndarray, data: st.DataObject) -> None:
    scores = data.draw(
        st.lists(
            st.sampled_from([0.1, 0.5, 0.5, 0.9, 1.0]), min_size=m.shape[0], max_size=m.shape[0]
        )
    )
    order, match = greedy_match(m, scores)
    assert match.tolist() == released_greedy(m, scores)
    assert sorted(order.tolist()) == list(range(m.shape[0]))


def test_greedy_is_strict_and_nan_goes_last() -> None:
    assert greedy_match([[0.5]], [1.0])[1].tolist() == [-1]
    order, match = greedy_match([[0.9], [0.9]], [np.nan, 0.1])
    assert order.tolist() == [1, 0] and match.tolist() == [-1, 0]
    with pytest.raises(ValueError, match="threshold"):
        greedy_match([[0.9]], [1.0], threshold=1.0)
    with pytest.raises(ValueError, match="threshold"):
        hungarian_match([[0.9]], threshold=0.0)


def test_batched_greedy_skips_invalid_predictions() -> None:
    iou = np.array([[[0.9], [0.8], [0.7]]])
    scores = np.array([[0.9, 0.8, np.nan]])
    valid = np.array([[False, True, True]])
    order, match = batched_greedy_match(iou, scores, valid, np.ones((1, 1), bool))
    assert match.tolist() == [[-1, 0, -1]]
    assert order.tolist() == [[1, 2, 0]]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 3), st.sampled_from([0, 1, 5, 64, 65, 80]), st.integers(0, 6), st.data())
def test_line_counts_are_sums(n_batch: int, n_pred: int, n_gt: int, data: st.DataObject) -> None:
    from visual_rewards.geometry.matching import _line_counts

    size = n_batch * n_pred * n_gt
    flags = data.draw(st.lists(st.booleans(), min_size=size, max_size=size))
    cand = np.array(flags, dtype=bool).reshape(n_batch, n_pred, n_gt)
    for axis in (1, 2):
        got = _line_counts(cand, axis)
        assert got.shape == cand.sum(axis=axis).shape
        assert np.array_equal(got, cand.sum(axis=axis))
