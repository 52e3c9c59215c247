"""The registry: one canonical name per task, its aliases, and :func:`get_reward`.

Every caller that turns a task name into a reward -- the CLI, the veRL adapter, the dataset
builders -- goes through :func:`resolve_task` / :func:`get_reward`, so a name accepted in one
place is accepted everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping

from visual_rewards.rewards.base import PRESET_ALIASES, Reward
from visual_rewards.rewards.classification import ClassificationReward
from visual_rewards.rewards.counting import CountingReward
from visual_rewards.rewards.detection import DetectionReward
from visual_rewards.rewards.format import FormatReward
from visual_rewards.rewards.grounding import GroundingReward
from visual_rewards.rewards.pointing import PointReward

__all__ = [
    "PRESET_ALIASES",
    "REWARDS",
    "TASKS",
    "TASK_ALIASES",
    "get_reward",
    "resolve_preset",
    "resolve_task",
]

#: Canonical task name -> reward class (one name per task, used by every caller).
REWARDS: dict[str, type[Reward]] = {
    cls.task: cls
    for cls in (
        FormatReward,
        DetectionReward,
        GroundingReward,
        ClassificationReward,
        CountingReward,
        PointReward,
    )
}
#: The canonical task names, in the order the docs list them.
TASKS: tuple[str, ...] = tuple(REWARDS)
#: Other spellings of task names (dataset ``data_source`` values, short forms) -> canonical.
TASK_ALIASES: Mapping[str, str] = {
    "point": "pointing",
    "points": "pointing",
    "count": "counting",
    "cls": "classification",
    "rec": "grounding",
    "det": "detection",
    "ovd": "detection",
    "open_vocabulary_detection": "detection",
}


def resolve_task(name: str) -> str:
    """The canonical task ``name`` stands for; ``ValueError`` listing the valid names.

    >>> resolve_task("point"), resolve_task("detection")
    ('pointing', 'detection')
    """
    canonical = TASK_ALIASES.get(name, name)
    if canonical not in REWARDS:
        raise ValueError(
            f"unknown task {name!r}; known tasks: {sorted(REWARDS)} "
            f"(aliases: {dict(sorted(TASK_ALIASES.items()))})"
        )
    return canonical


def resolve_preset(task: str, preset: str) -> str:
    """The canonical preset ``preset`` stands for under ``task``; ``ValueError`` when that
    task's reward has no such preset (never a silent fallback).

    >>> resolve_preset("detection", "visual-rft")
    'visual_rft'
    >>> resolve_preset("counting", "visual_rft")
    Traceback (most recent call last):
    ...
    ValueError: CountingReward (task 'counting') has no preset 'visual_rft'; valid presets: ['default']
    """
    cls = REWARDS[resolve_task(task)]
    canonical = PRESET_ALIASES.get(preset, preset)
    if canonical not in cls.presets:
        raise ValueError(cls.unknown_preset(preset))
    return canonical


def get_reward(task: str, preset: str = "default", **options: object) -> Reward:
    """Build the reward for ``task`` (a canonical name or an alias) with a preset and options.

    >>> get_reward("format", "visual_rft").__name__
    'format_visual_rft'
    >>> get_reward("point").task
    'pointing'
    """
    cls = REWARDS[resolve_task(task)]
    return cls(resolve_preset(task, preset), **options)  # type: ignore[arg-type]
