"""Tests of count parsing and the counting reward."""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import visual_rewards as vr
from visual_rewards.parsing import NUMBER_WORDS, parse_count
from visual_rewards.rewards import REWARDS, get_reward
from visual_rewards.rewards.counting import CountingReward, count_scores


def wrap(answer: str) -> str:
    return f"<think>counting</think><answer>{answer}</answer>"


def test_count_scores() -> None:
    got = count_scores([3, 2, 5, 6, np.nan], [3, 3, 3, 3, 3])
    assert got.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    shaped = count_scores([3, 2, 5, 6, np.nan], [3, 3, 3, 3, 3], tolerance=2)
    np.testing.assert_allclose(shaped, [1.0, 1 - 1 / 3, 1 - 2 / 3, 0.0, 0.0])
    rel = count_scores([90, 110, 80], [100, 100, 100], relative_tolerance=0.1)
    np.testing.assert_allclose(rel, [1 - 10 / 11, 1 - 10 / 11, 0.0])
    assert count_scores([], []).shape == (0,)
    with pytest.raises(ValueError, match="same shape"):
        count_scores([1, 2], [1])


def test_counting_reward_components() -> None:
    reward = CountingReward()
    comps = [wrap("3"), wrap("three"), wrap("4"), "<answer>3</answer>", wrap("3 or 4"), "3"]
    res = reward.score(comps, [3] * len(comps))
    assert res.components["accuracy"].tolist() == [1, 1, 0, 1, 0, 0]
    assert res.components["format"].tolist() == [1, 1, 1, 0, 1, 0]
    assert res.total.tolist() == [2, 2, 1, 1, 1, 0]
    assert res.parse_failed.tolist() == [False, False, False, False, True, True]


def test_truncated_answer_scores_zero() -> None:
    res = CountingReward().score(["<think>x</think><answer>3"], [3])
    assert res.components["accuracy"].tolist() == [0.0]


def test_ground_truth_forms() -> None:
    reward = CountingReward()
    truths = [3, "3", "<answer>3</answer>", {"count": 3}, 3.0]
    assert reward.score([wrap("3")] * 5, truths).total.tolist() == [2.0] * 5


@pytest.mark.parametrize("bad", [None, -1, "three", "3.5", 2.5, True, {"count": "3"}, [3], ""])
def test_malformed_truth(bad: object) -> None:
    reward = CountingReward()
    with pytest.warns(UserWarning, match="row 1: malformed ground truth"):
        res = reward.score([wrap("3"), wrap("3")], [3, bad])
    assert res.total[0] == 2.0 and math.isnan(res.total[1])
    assert math.isnan(res.components["accuracy"][1])
    assert res.components["format"][1] == res.components["format"][0]  # kept: the completion's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert reward(completions=[wrap("3")] * 2, solution=[3, bad]) == [2.0, None]
    with pytest.raises(ValueError, match="row 1"):
        CountingReward(strict=True).score([wrap("3")] * 2, [3, bad])


def test_tolerance_and_options() -> None:
    reward = CountingReward(tolerance=1, format_weight=0.0)
    assert reward.score([wrap("4"), wrap("5")], [3, 3]).total.tolist() == [0.5, 0.0]
    paper_format = CountingReward(format_rule="visual_rft")
    assert paper_format.score(["<think></think><answer>3</answer>"], [3]).total.tolist() == [2.0]
    with pytest.raises(ValueError, match="tolerance"):
        CountingReward(tolerance=-1)
    with pytest.raises(TypeError, match="unknown option"):
        CountingReward(exact=False)


def test_registry_pickle_trl() -> None:
    assert REWARDS["counting"] is CountingReward and vr.CountingReward is CountingReward
    reward = get_reward("counting", tolerance=2)
    assert reward.__name__ == "counting_default"
    assert pickle.loads(pickle.dumps(reward)) == reward
    conversational = [[{"role": "assistant", "content": wrap("2")}]]
    assert reward(prompts=["p"], completions=conversational, solution=[2]) == [2.0]


_TEXT = st.one_of(
    st.text(max_size=120),
    st.sampled_from([*NUMBER_WORDS, "none", "no", "-3", "3.5", "twenty one"]).map(wrap),
    st.integers(-5, 50).map(lambda i: wrap(str(i))),
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(_TEXT, st.integers(0, 30)), min_size=1, max_size=6),
    st.sampled_from([0.0, 2.0]),
)
def test_properties(rows: list[tuple[str, int]], tolerance: float) -> None:
    reward = CountingReward(tolerance=tolerance)
    comps = [c for c, _ in rows]
    truths = [t for _, t in rows]
    res = reward.score(comps, truths)
    for values in res.components.values():
        assert ((values >= 0) & (values <= 1)).all()
    for i, (c, t) in enumerate(rows):
        one = reward.score([c], [t])
        assert one.total[0] == res.total[i]


@given(st.text(max_size=400))
def test_never_raises(text: str) -> None:
    res = CountingReward().score([text, wrap(text)], [1, 2])
    assert np.isfinite(res.total).all()
    value = parse_count(text)
    assert value is None or (isinstance(value, int) and value >= 0)
