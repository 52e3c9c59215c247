"""visual-rewards: verifiable rewards for reinforcement fine-tuning of vision-language models.

>>> import visual_rewards as vr
>>> vr.FormatReward().score(["<think>a</think><answer>b</answer>"]).total
array([1.])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers see; the same names as _EXPORTS (a test checks it)
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


#: Public name -> the module that defines it. Imported on first use (PEP 562), so that
#: ``import visual_rewards`` -- and ``visual-rewards --help`` -- costs no more than numpy.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(["alignment", "audit", "grpo_diagnostics"], "visual_rewards.audit"),
    **dict.fromkeys(
        ["batched_box_giou", "batched_box_iou", "box_giou", "box_iou"],
        "visual_rewards.geometry.boxes",
    ),
    **dict.fromkeys(
        ["CoordConfig", "denormalize_xyxy", "normalize_xyxy", "smart_resize"],
        "visual_rewards.geometry.coords",
    ),
    **dict.fromkeys(["LabelSet", "normalize_label"], "visual_rewards.geometry.labels"),
    **dict.fromkeys(["greedy_match", "hungarian_match"], "visual_rewards.geometry.matching"),
    **dict.fromkeys(
        [
            "Detections",
            "ParsedCompletion",
            "Points",
            "completion_text",
            "parse_completion",
            "parse_detections",
            "parse_points",
        ],
        "visual_rewards.parsing",
    ),
    **dict.fromkeys(
        [
            "ClassificationReward",
            "CountingReward",
            "DetectionConfig",
            "DetectionReward",
            "FormatConfig",
            "FormatReward",
            "GroundingConfig",
            "GroundingReward",
            "PointingReward",
            "PointReward",
            "Reward",
            "RewardResult",
        ],
        "visual_rewards.rewards",
    ),
}

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


def _version() -> str:
    # The one version source is pyproject.toml, read back from the installed metadata
    # ("0+unknown" for sources on sys.path without an install).
    import importlib.metadata

    try:
        return importlib.metadata.version("visual-rewards")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
