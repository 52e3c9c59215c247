"""Offline evaluation: the paper's metrics from model outputs.

* detection: COCO mAP through pycocotools (:func:`coco_evaluate`, exactly COCOeval's stats)
  and LVIS federated mAP in numpy (:func:`lvis_evaluate`), per-category AP, from COCO results
  or from model outputs (:func:`detections_from_outputs`);
* classification: accuracy overall, per dataset and per class (:func:`classification_accuracy`);
* grounding: box and mask mIoU / gIoU / cIoU (:func:`grounding_metrics`);
* input validation of annotation and result files (:mod:`visual_rewards.evaluation.inputs`).

The command line is ``visual-rewards evaluate …`` (:mod:`visual_rewards.cli.evaluate`).
The names below are imported on first use (PEP 562), so evaluating detections does not
load the rewards, and pycocotools is imported only inside the functions that need it.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> the submodule that defines it.
_EXPORTS: dict[str, str] = {
    "COCO_STAT_NAMES": "coco",
    "DetectionMetrics": "coco",
    "coco_evaluate": "coco",
    "box_evaluate": "lvis",
    "lvis_evaluate": "lvis",
    "classification_accuracy": "classification",
    "detections_from_outputs": "detection",
    "evaluate_detection": "detection",
    "grounding_metrics": "grounding",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
