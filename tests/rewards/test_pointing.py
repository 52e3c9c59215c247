"""Tests of the pointing reward and its geometry helpers."""

from __future__ import annotations

import math
import pickle
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import visual_rewards as vr
from visual_rewards.geometry.coords import smart_resize
from visual_rewards.rewards import REWARDS, get_reward
from visual_rewards.rewards.pointing import PointReward

BOX = [200, 400, 300, 600]  # norm1000 xyxy


def wrap(answer: str) -> str:
    return f"<think>the cup</think><answer>{answer}</answer>"


def acc(
    reward: PointReward, answers: list[str], truths: list[object], **cols: object
) -> list[float]:
    values: list[float] = (
        reward.score([wrap(a) for a in answers], truths, **cols).components["accuracy"].tolist()
    )
    return values


def test_answer_payloads() -> None:
    reward = PointReward()
    answers = [
        '{"point_2d": [250, 500]}',
        '```json\n[{"point_2d": [250, 500], "label": "cup"}]\n```',
        "(250, 500)",
        "[250, 500]",
        "(200, 400)",  # on the corner: edges count as inside
        "(199, 500)",
        "[900, 900]",
        "",
        "a cup",
        "[250, 500, 260, 510]",  # a box is not a point
    ]
    assert acc(reward, answers, [BOX] * len(answers)) == [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]


def test_coordinate_spaces() -> None:
    truth = {"box": [0.2, 0.4, 0.3, 0.6], "coords": "normalized"}
    size = (640, 480)
    rw, rh = smart_resize(480, 640)[1], smart_resize(480, 640)[0]
    cases = [
        ("norm1000", "(250, 500)"),
        ("normalized", "(0.25, 0.5)"),
        ("pixel", f"({0.25 * 640}, {0.5 * 480})"),
        ("qwen25vl", f"({0.25 * rw}, {0.5 * rh})"),
    ]
    for coords, answer in cases:
        reward = PointReward(coords=coords)  # type: ignore[arg-type]
        assert acc(reward, [answer], [dict(truth, image_size=size)]) == [1.0], coords
        # the same point read in another space misses
        assert acc(PointReward(coords="normalized"), [answer], [dict(truth, image_size=size)]) == [
            1.0 if coords == "normalized" else 0.0
        ]


def test_image_size_column_and_config() -> None:
    truth = {"box": [100, 100, 200, 200], "coords": "pixel"}
    reward = PointReward(coords="pixel")
    assert acc(
        reward, ["(150, 150)", "(150, 150)"], [truth, truth], image_size=[(400, 400), (300, 300)]
    ) == [1, 1]
    fixed = PointReward(coords="pixel", image_size=(400, 400))
    assert acc(fixed, ["(150, 150)"], [truth]) == [1.0]
    with pytest.warns(UserWarning, match="row 0: malformed ground truth"):
        assert math.isnan(acc(reward, ["(150, 150)"], [truth])[0])  # no image size anywhere
    with pytest.raises(ValueError, match="expected 1 rows in the 'image_size' column"):
        reward.score([wrap("(1, 1)")], [truth], image_size=[(1, 1), (2, 2)])


def test_trl_image_column_gives_the_image_size() -> None:
    reward = PointReward(coords="pixel")
    truth = {"box": [40, 40, 60, 60], "coords": "pixel"}
    images = [SimpleNamespace(size=(100, 100)), SimpleNamespace(size=(1000, 1000))]
    got = reward(
        prompts=["p", "p"],
        completions=[wrap("(50, 50)"), wrap("(0.5, 0.5)")],
        solution=[truth] * 2,
        image=images,
    )
    assert got == [2.0, 1.0]


def test_multi_point_modes() -> None:
    answers = ["(250, 500), (900, 900)", "(900, 900), (250, 500)", "(250, 500)"]
    truths = [BOX] * 3
    assert acc(PointReward(multi_point="first"), answers, truths) == [1.0, 0.0, 1.0]
    assert acc(PointReward(multi_point="mean"), answers, truths) == [0.5, 0.5, 1.0]
    assert acc(PointReward(), answers, truths) == [0.0, 0.0, 1.0]  # "all" is the default
    assert acc(PointReward(), ["(250, 500), (260, 510)"], [BOX]) == [1.0]
    assert acc(PointReward(multi_point="single"), answers, truths) == [0.0, 0.0, 1.0]
    # a point outside the image is invalid: dropped, but it still counts in "mean"/"single"
    assert acc(PointReward(multi_point="mean"), ["(250, 500), (5000, 5000)"], [BOX]) == [0.5]
    assert acc(PointReward(multi_point="first"), ["(5000, 5000), (250, 500)"], [BOX]) == [1.0]
    spray = "[[250, 500], [700, 700], [900, 100], [50, 950]]"
    assert acc(PointReward(multi_point="mean"), [spray], [BOX]) == [0.25]
    assert acc(PointReward(), [spray], [BOX]) == [0.0]


def test_distance_shaping() -> None:
    reward = PointReward(distance_scale=0.2)
    res = reward.score(
        [wrap("(250, 500)"), wrap("(100, 500)"), wrap("(0, 500)"), wrap("x")], [BOX] * 4
    )
    np.testing.assert_allclose(res.components["distance"], [1.0, 0.5, 0.0, 0.0])
    assert res.components["accuracy"].tolist() == [1, 0, 0, 0]
    np.testing.assert_allclose(res.total, [3.0, 1.5, 1.0, 1.0])
    assert "distance" not in PointReward().score([wrap("(1, 1)")], [BOX]).components


def test_polygon_targets() -> None:
    pytest.importorskip("shapely")
    triangle = {"polygon": [[0, 0], [1000, 0], [0, 1000]]}
    reward = PointReward(distance_scale=1.0)
    res = reward.score([wrap("(100, 100)"), wrap("(600, 600)"), wrap("(500, 500)")], [triangle] * 3)
    assert res.components["accuracy"].tolist() == [1.0, 1.0 - 1.0, 1.0]  # the edge is inside
    np.testing.assert_allclose(res.components["distance"], [1.0, 1 - math.hypot(0.1, 0.1), 1.0])
    bowtie = {"polygon": [[0, 0], [10, 10], [10, 0], [0, 10]]}
    with pytest.warns(UserWarning, match="not valid"):
        assert math.isnan(reward.score([wrap("(1, 1)")], [bowtie]).total[0])


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "box",
        [1, 2, 3],
        [300, 400, 200, 600],  # flipped
        [0, 0, float("nan"), 1],
        {"box": [1, 2, 3, 4], "polygon": [[0, 0], [1, 0], [0, 1]]},
        {"polygon": [[0, 0], [1, 1]]},
        {"box": [True, 0, 1, 1]},
        {"box": [0, 0, 1, 1], "coords": "inches"},
        {"box": [0, 0, 1, 1], "extra": 1},
    ],
)
def test_malformed_truth(bad: object) -> None:
    reward = PointReward()
    with pytest.warns(UserWarning, match="row 1: malformed ground truth"):
        res = reward.score([wrap("(250, 500)")] * 2, [BOX, bad])
    assert res.total[0] == 2.0 and math.isnan(res.total[1])
    assert all(math.isnan(v[1]) for k, v in res.components.items() if k != "format")
    assert res.components["format"][1] == 1.0  # a property of the completion: kept
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert reward(completions=[wrap("(250, 500)")] * 2, solution=[BOX, bad]) == [2.0, None]
    with pytest.raises(ValueError, match="row 1"):
        PointReward(strict=True).score([wrap("(250, 500)")] * 2, [BOX, bad])


def test_caller_errors_registry_pickle() -> None:
    with pytest.raises(ValueError, match="coords"):
        PointReward(coords="inches")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="distance_scale"):
        PointReward(distance_scale=0)
    with pytest.raises(ValueError, match="multi_point"):
        PointReward(multi_point="best")  # type: ignore[arg-type]
    assert REWARDS["pointing"] is PointReward and vr.PointReward is PointReward
    reward = get_reward("pointing", distance_scale=0.1)
    assert reward.__name__ == "pointing_default"
    assert pickle.loads(pickle.dumps(reward)) == reward
    conversational = [[{"role": "assistant", "content": wrap("(250, 500)")}]]
    assert reward(prompts=["p"], completions=conversational, solution=[BOX]) == [3.0]


_ANSWER = st.one_of(
    st.text(max_size=80),
    st.tuples(st.integers(-100, 1100), st.integers(-100, 1100)).map(lambda p: f"({p[0]}, {p[1]})"),
    st.tuples(st.floats(allow_nan=True), st.floats()).map(
        lambda p: f'{{"point_2d": [{p[0]}, {p[1]}]}}'
    ),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(_ANSWER, st.booleans()), min_size=1, max_size=5),
    st.sampled_from(["all", "first", "mean", "single"]),
)
def test_properties(rows: list[tuple[str, bool]], mode: str) -> None:
    reward = PointReward(multi_point=mode, distance_scale=0.3)  # type: ignore[arg-type]
    comps = [wrap(a) if tagged else a for a, tagged in rows]
    res = reward.score(comps, [BOX] * len(comps))
    for values in res.components.values():
        assert ((values >= 0) & (values <= 1)).all()
    assert np.isfinite(res.total).all()
    for i, c in enumerate(comps):
        one = reward.score([c], [BOX])
        assert one.total[0] == res.total[i]


@given(st.text(max_size=300))
def test_never_raises(text: str) -> None:
    res = PointReward().score([text, wrap(text)], [BOX, BOX])
    assert np.isfinite(res.total).all()


def test_points_past_the_cap_earn_nothing() -> None:
    many = ", ".join(["(250, 500)"] * 1001)
    assert acc(PointReward(multi_point="mean"), [many], [BOX]) == [0.0]
    assert acc(PointReward(multi_point="mean"), [", ".join(["(250, 500)"] * 1000)], [BOX]) == [1.0]
    assert acc(PointReward(max_points=2), ["(250, 500), (250, 500), (250, 500)"], [BOX]) == [0.0]
