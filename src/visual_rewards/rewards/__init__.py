"""Reward objects: thin layers that parse, call the array functions, and shape the result."""

from visual_rewards.rewards.base import Reward, RewardResult
from visual_rewards.rewards.classification import ClassificationConfig, ClassificationReward
from visual_rewards.rewards.counting import CountingConfig, CountingReward
from visual_rewards.rewards.detection import DetectionConfig, DetectionReward
from visual_rewards.rewards.format import FormatConfig, FormatReward
from visual_rewards.rewards.grounding import GroundingConfig, GroundingReward
from visual_rewards.rewards.points import PointConfig, PointReward

__all__ = [
    "REWARDS",
    "ClassificationConfig",
    "ClassificationReward",
    "CountingConfig",
    "CountingReward",
    "DetectionConfig",
    "DetectionReward",
    "FormatConfig",
    "FormatReward",
    "GroundingConfig",
    "GroundingReward",
    "PointConfig",
    "PointReward",
    "Reward",
    "RewardResult",
    "get_reward",
]

#: Task name -> reward class. Every reward registers itself here (one line per reward) so that
#: the CLI, veRL's compute_score and the dataset builders can find it by task name.
REWARDS: dict[str, type[Reward]] = {
    "format": FormatReward,
    "classification": ClassificationReward,
    "counting": CountingReward,
    "pointing": PointReward,
    "detection": DetectionReward,
    "grounding": GroundingReward,
}


def get_reward(task: str, preset: str = "default", **options: object) -> Reward:
    """Build the reward for ``task`` (e.g. ``"detection"``) with a preset and options.

    >>> get_reward("format", "visual_rft").__name__
    'format_visual_rft'
    """
    try:
        cls = REWARDS[task]
    except KeyError:
        raise ValueError(f"unknown task {task!r}; known tasks: {sorted(REWARDS)}") from None
    return cls(preset, **options)  # type: ignore[arg-type]
