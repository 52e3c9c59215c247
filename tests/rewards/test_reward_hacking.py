"""Reward hacking: every adversarial strategy earns strictly less than the correct answer.

The strategies (tests/reward_cases.py) are the ones RL finds first: empty answers, everything
at once, duplicates, huge or whole-image boxes, confidence games, label spam, format tricks.
"""

from __future__ import annotations

import math

import pytest
from reward_cases import CASES

from visual_rewards.rewards import REWARDS

HACKS = [(task, name) for task, case in CASES.items() for name in case.hacks]


def _total(task: str, completion: str, preset: str = "default") -> float:
    case = CASES[task]
    reward = REWARDS[task](preset, **case.options)
    solutions = None if case.solution is None else [case.solution]
    value = reward.score([completion], solutions).total[0]
    assert not math.isnan(value)
    return float(value)


@pytest.mark.parametrize(("task", "name"), HACKS, ids=[f"{t}: {n}" for t, n in HACKS])
def test_hack_earns_less_than_correct(task: str, name: str) -> None:
    if task not in REWARDS:
        pytest.skip(f"no {task} reward registered")
    case = CASES[task]
    correct = _total(task, case.correct)
    hacked = _total(task, case.hacks[name])
    assert hacked < correct, f"{task}: {name!r} earns {hacked} >= correct {correct}"


@pytest.mark.parametrize("task", list(CASES))
def test_correct_answer_earns_the_maximum(task: str) -> None:
    if task not in REWARDS:
        pytest.skip(f"no {task} reward registered")
    reward = REWARDS[task]("default", **CASES[task].options)
    res = reward.score(
        [CASES[task].correct], None if CASES[task].solution is None else [CASES[task].solution]
    )
    for name, values in res.components.items():
        assert values[0] == 1.0, f"{task}: component {name} = {values[0]} for the correct answer"
