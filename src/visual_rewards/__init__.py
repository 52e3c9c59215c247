"""visual-rewards: verifiable rewards for reinforcement fine-tuning of vision-language models.

>>> import visual_rewards as vr
>>> vr.FormatReward().score(["<think>a</think><answer>b</answer>"]).total
array([1.])
"""

from visual_rewards.coords import CoordConfig, denormalize_xyxy, normalize_xyxy, smart_resize
from visual_rewards.parsing import (
    Detections,
    ParsedCompletion,
    Points,
    completion_text,
    parse_completion,
    parse_detections,
    parse_points,
)
from visual_rewards.rewards import FormatConfig, FormatReward, Reward, RewardResult

__version__ = "0.1.0.dev0"

__all__ = [
    "CoordConfig",
    "Detections",
    "FormatConfig",
    "FormatReward",
    "ParsedCompletion",
    "Points",
    "Reward",
    "RewardResult",
    "__version__",
    "completion_text",
    "denormalize_xyxy",
    "normalize_xyxy",
    "parse_completion",
    "parse_detections",
    "parse_points",
    "smart_resize",
]
