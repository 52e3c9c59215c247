"""Reward objects: thin layers that parse, call the array functions, and shape the result.

One module per task on a shared base (:mod:`~visual_rewards.rewards.base`: presets, weights,
the format component, malformed ground truth, the calling convention); the registry
(:mod:`~visual_rewards.rewards.registry`) maps task names and their aliases to the rewards.
"""

from visual_rewards.rewards.base import Reward, RewardResult
from visual_rewards.rewards.classification import ClassificationConfig, ClassificationReward
from visual_rewards.rewards.counting import CountingConfig, CountingReward
from visual_rewards.rewards.detection import DetectionConfig, DetectionReward
from visual_rewards.rewards.format import FormatConfig, FormatReward
from visual_rewards.rewards.grounding import GroundingConfig, GroundingReward
from visual_rewards.rewards.pointing import (
    PointConfig,
    PointingConfig,
    PointingReward,
    PointReward,
)
from visual_rewards.rewards.registry import (
    PRESET_ALIASES,
    REWARDS,
    TASK_ALIASES,
    TASKS,
    get_reward,
    resolve_preset,
    resolve_task,
)

__all__ = [
    "PRESET_ALIASES",
    "REWARDS",
    "TASKS",
    "TASK_ALIASES",
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
    "PointingConfig",
    "PointingReward",
    "Reward",
    "RewardResult",
    "get_reward",
    "resolve_preset",
    "resolve_task",
]
