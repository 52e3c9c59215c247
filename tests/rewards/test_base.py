"""The shared policies of every reward (rewards/base.py): weights, the format component,
malformed ground truth, presets; and the registry's names and aliases."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest

from visual_rewards.parsing import parse_completion, visual_rft_format_ok
from visual_rewards.rewards import (
    REWARDS,
    TASK_ALIASES,
    TASKS,
    FormatReward,
    get_reward,
    resolve_preset,
    resolve_task,
)

_THINK = "<think>I looked at the image.</think>"

#: Per task: (a completion, a good ground truth, a malformed ground truth).
CASES: dict[str, tuple[str, Any, Any]] = {
    "detection": (
        _THINK + "<answer>[{'Position': [100, 100, 300, 300], 'Confidence': 0.9}]</answer>",
        [[100, 100, 300, 300]],
        "<answer>[{'Position': [300, 300, 100, 100]}]</answer>",
    ),
    "grounding": (_THINK + "<answer>[100, 100, 300, 300]</answer>", [100, 100, 300, 300], []),
    "classification": (_THINK + "<answer>rose</answer>", "rose", ""),
    "counting": (_THINK + "<answer>3</answer>", 3, -1),
    "pointing": (_THINK + "<answer>(200, 200)</answer>", [100, 100, 300, 300], [3, 3, 1, 1]),
}
WITH_TRUTH = [t for t in TASKS if REWARDS[t].needs_solution]


def test_every_task_with_ground_truth_has_a_case() -> None:
    assert sorted(CASES) == sorted(WITH_TRUTH)


@pytest.mark.parametrize("task", WITH_TRUTH)
@pytest.mark.parametrize("preset", ["default", "visual_rft"])
def test_malformed_ground_truth_policy(task: str, preset: str) -> None:
    if preset not in REWARDS[task].presets:
        pytest.skip(f"{task} has no {preset} preset")
    completion, good, bad = CASES[task]
    reward = get_reward(task, preset)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = reward.score([completion, completion], [good, bad])
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "row 1: malformed ground truth" in messages[0]
    assert math.isfinite(res.total[0]) and math.isnan(res.total[1])
    for key, values in res.components.items():
        if key == "format":  # kept: a property of the completion alone
            rule = getattr(reward.config, "format_rule", "strict")
            fmt = FormatReward(rule=rule).score([completion]).components["format"][0]
            assert values[1] == values[0] == fmt
        else:
            assert math.isfinite(values[0]) and math.isnan(values[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert reward(completions=[completion, completion], solution=[good, bad])[1] is None
    strict = get_reward(task, preset, strict=True)
    with pytest.raises(ValueError, match="row 1: malformed ground truth"):
        strict.score([completion, completion], [good, bad])


def _weights(task: str) -> list[str]:
    import dataclasses

    cfg = REWARDS[task].presets["default"]
    return [f.name for f in dataclasses.fields(cfg) if f.name.endswith("_weight")]


@pytest.mark.parametrize("task", WITH_TRUTH)
@pytest.mark.parametrize("value", [-0.5, math.nan, math.inf, -math.inf, "1", True])
def test_every_weight_must_be_finite_and_non_negative(task: str, value: object) -> None:
    names = _weights(task)
    assert names, task
    for name in names:
        with pytest.raises(ValueError, match=name):
            get_reward(task, **{name: value})
        get_reward(task, **{name: 0.0})  # zero is allowed: turns a component off


@pytest.mark.parametrize("task", WITH_TRUTH)
def test_total_is_the_weighted_sum(task: str) -> None:
    completion, good, _ = CASES[task]
    weights = {name: 0.25 * (k + 1) for k, name in enumerate(_weights(task))}
    res = get_reward(task, **weights).score([completion], [good])
    expected = sum(weights.get(f"{k}_weight", 1.0) * float(v[0]) for k, v in res.components.items())
    assert res.total[0] == pytest.approx(expected)


@pytest.mark.parametrize("task", WITH_TRUTH)
@pytest.mark.parametrize("rule", ["strict", "visual_rft"])
def test_format_component_is_the_one_format_check(task: str, rule: str) -> None:
    texts = [
        "<think>a</think><answer>b</answer>",
        "<think></think><answer>x</answer>",
        "<think>a</think> <answer>b</answer><answer>c</answer>",
        "no tags",
        "<think>a</think><answer>b",
    ]
    _, good, _ = CASES[task]
    fmt = get_reward(task, format_rule=rule).score(texts, [good] * len(texts)).components["format"]
    if rule == "strict":
        expected = [float(parse_completion(t).format_ok) for t in texts]
    else:
        expected = [float(visual_rft_format_ok(t)) for t in texts]
    assert fmt.tolist() == expected


@pytest.mark.parametrize("task", WITH_TRUTH)
def test_format_rule_and_coordinate_spaces_are_checked_in_one_place(task: str) -> None:
    with pytest.raises(ValueError, match="format_rule"):
        get_reward(task, format_rule="loose")
    if "coords" in {f for f in REWARDS[task].presets["default"].__dataclass_fields__}:
        with pytest.raises(ValueError, match="coords"):
            get_reward(task, coords="inches")


def test_registry_one_name_per_task_with_aliases() -> None:
    assert TASKS == ("format", "detection", "grounding", "classification", "counting", "pointing")
    for task in TASKS:
        assert REWARDS[task].task == task and resolve_task(task) == task
    for alias, task in TASK_ALIASES.items():
        assert resolve_task(alias) == task
        assert type(get_reward(alias)) is REWARDS[task]
    assert resolve_task("point") == resolve_task("points") == "pointing"
    with pytest.raises(ValueError, match="known tasks"):
        get_reward("segmentation")


def test_presets_resolve_aliases_and_never_fall_back() -> None:
    assert resolve_preset("detection", "visual-rft") == "visual_rft"
    assert get_reward("detection", "visual-rft").preset == "visual_rft"
    with pytest.raises(ValueError, match="valid presets: \\['default'\\]"):
        get_reward("counting", "visual_rft")
    with pytest.raises(ValueError, match="has no preset"):
        REWARDS["pointing"]("visual_rft")


def test_base_imports_no_adapter() -> None:
    import subprocess
    import sys

    code = (
        "import sys, visual_rewards.rewards.base; "
        "print(sorted(m for m in sys.modules if m.startswith(('visual_rewards.trl', "
        "'visual_rewards.verl'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_result_keeps_shapes() -> None:
    completion, good, _ = CASES["counting"]
    res = get_reward("counting").score([completion] * 3, [good] * 3)
    assert res.total.shape == (3,) and all(v.shape == (3,) for v in res.components.values())
    assert np.array_equal(res.total, np.full(3, 2.0))
