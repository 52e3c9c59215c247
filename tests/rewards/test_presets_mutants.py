"""Every reward x preset x format rule: the format component is the named rule's check.

The format component is one shared policy (``rewards/base.py``); a preset that forgot to pass its
``format_rule`` on, or a reward that read another field, would change a number here.
"""

from __future__ import annotations

import warnings

import pytest
from reference_rewards import paper_format, strict_format
from reward_cases import CASES

from visual_rewards.rewards import REWARDS
from visual_rewards.rewards.base import FORMAT_RULES

# completions on which the two rules disagree, and ones on which they agree
COMPLETIONS = [
    "<think>looked</think><answer>x</answer>",
    "<think></think><answer>x</answer>",
    "<think>a</think><answer>x</answer><answer>y</answer>",
    "<think>a</think> <answer>x</answer>",
    "Sure. <think>a</think><answer>x</answer>",
    "<think>a</think><answer>x",
    "<answer>x</answer>",
]
RULES = {"strict": strict_format, "visual_rft": paper_format}


@pytest.mark.parametrize(
    ("task", "preset"),
    [(task, preset) for task, cls in REWARDS.items() for preset in cls.presets],
)
@pytest.mark.parametrize("rule", FORMAT_RULES)
def test_format_component_follows_the_format_rule(task: str, preset: str, rule: str) -> None:
    cls = REWARDS[task]
    case = CASES[task]
    options = dict(case.options)
    if task == "classification" and preset == "visual_rft":
        options.pop("labels")  # the paper's rule takes no label set
    reward = cls(preset, **{**options, cls.format_field: rule})
    assert getattr(reward.config, cls.format_field) == rule
    solutions = None if case.solution is None else [case.solution] * len(COMPLETIONS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the worked example's ground truth is well-formed
        res = reward.score(COMPLETIONS, solutions)
    assert res.components["format"].tolist() == [RULES[rule](c) for c in COMPLETIONS]


@pytest.mark.parametrize(("task", "cls"), list(REWARDS.items()))
def test_presets_name_their_own_format_rule(task: str, cls: type) -> None:
    field = cls.format_field
    assert getattr(cls.presets["default"], field) == "strict", task
    if "visual_rft" in cls.presets:
        assert getattr(cls.presets["visual_rft"], field) == "visual_rft", task
