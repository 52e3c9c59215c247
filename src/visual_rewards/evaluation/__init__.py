"""Offline evaluation: the paper's metrics from model outputs.

* detection: COCO mAP through pycocotools (:func:`coco_evaluate`, exactly COCOeval's stats)
  and LVIS federated mAP in numpy (:func:`lvis_evaluate`), per-category AP, from COCO results
  or from model outputs (:func:`detections_from_outputs`);
* classification: accuracy overall, per dataset and per class (:func:`classification_accuracy`);
* grounding: box and mask mIoU / gIoU / cIoU (:func:`grounding_metrics`).

The command line is ``visual-rewards evaluate …`` (:mod:`visual_rewards.cli.evaluate`).
pycocotools is imported only inside the functions that need it.
"""

from visual_rewards.evaluation.classification import classification_accuracy
from visual_rewards.evaluation.coco import COCO_STAT_NAMES, DetectionMetrics, coco_evaluate
from visual_rewards.evaluation.detection import detections_from_outputs, evaluate_detection
from visual_rewards.evaluation.grounding import grounding_metrics
from visual_rewards.evaluation.lvis import box_evaluate, lvis_evaluate

__all__ = [
    "COCO_STAT_NAMES",
    "DetectionMetrics",
    "box_evaluate",
    "classification_accuracy",
    "coco_evaluate",
    "detections_from_outputs",
    "evaluate_detection",
    "grounding_metrics",
    "lvis_evaluate",
]
