"""visual-rewards: verifiable rewards for reinforcement fine-tuning of vision-language models.

>>> import visual_rewards as vr
>>> vr.FormatReward().score(["<think>a</think><answer>b</answer>"]).total
array([1.])
"""

import importlib.metadata

from visual_rewards.audit import alignment, audit, grpo_diagnostics
from visual_rewards.geometry.boxes import batched_box_giou, batched_box_iou, box_giou, box_iou
from visual_rewards.geometry.coords import (
    CoordConfig,
    denormalize_xyxy,
    normalize_xyxy,
    smart_resize,
)
from visual_rewards.geometry.labels import LabelSet, normalize_label
from visual_rewards.geometry.matching import greedy_match, hungarian_match
from visual_rewards.parsing import (
    Detections,
    ParsedCompletion,
    Points,
    completion_text,
    parse_completion,
    parse_detections,
    parse_points,
)
from visual_rewards.rewards import (
    ClassificationReward,
    CountingReward,
    DetectionConfig,
    DetectionReward,
    FormatConfig,
    FormatReward,
    GroundingConfig,
    GroundingReward,
    PointingReward,
    PointReward,
    Reward,
    RewardResult,
)

# The one version source is pyproject.toml, read back from the installed metadata ("0+unknown"
# for sources on sys.path without an install).
try:
    __version__ = importlib.metadata.version("visual-rewards")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover
    __version__ = "0+unknown"

__all__ = [
    "ClassificationReward",
    "CoordConfig",
    "CountingReward",
    "DetectionConfig",
    "DetectionReward",
    "Detections",
    "FormatConfig",
    "FormatReward",
    "GroundingConfig",
    "GroundingReward",
    "LabelSet",
    "ParsedCompletion",
    "PointReward",
    "PointingReward",
    "Points",
    "Reward",
    "RewardResult",
    "__version__",
    "alignment",
    "audit",
    "batched_box_giou",
    "batched_box_iou",
    "box_giou",
    "box_iou",
    "completion_text",
    "denormalize_xyxy",
    "greedy_match",
    "grpo_diagnostics",
    "hungarian_match",
    "normalize_label",
    "normalize_xyxy",
    "parse_completion",
    "parse_detections",
    "parse_points",
    "smart_resize",
]
