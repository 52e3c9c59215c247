"""The task's true metric, per answer: what a reward is audited against.

Every metric reads an answer the way the project's evaluation code reads it
(:func:`~visual_rewards.parse_completion`, then the task's parser) and is independent of any
reward preset:

* ``detection`` -- per-image COCO AP over IoU 0.5:0.95 (101 recall points, at most 100
  detections, area "all"), by :func:`image_ap`, which equals pycocotools' ``COCOeval`` on one
  image (``stats[0]``; a differential test holds it to that). A box without a confidence gets
  score 1.0, as in :func:`~visual_rewards.evaluation.detections_from_outputs`. With labelled
  ground truth AP is averaged over the ground truth's classes (COCO's per-category mean). An
  image without ground truth, where COCO's AP is undefined, scores 1.0 for an answer without
  boxes and 0.0 otherwise. Ties in confidence are broken by box position (``x1, y1, x2, y2``),
  not by the order the boxes were written in, so reordering boxes never changes the metric.
* ``grounding`` -- IoU of the first valid predicted box with the first ground-truth box (the
  reading of :func:`~visual_rewards.evaluation.grounding_metrics`).
* ``classification`` -- 1.0 when the answer names the ground-truth class and only it
  (:func:`~visual_rewards.geometry.labels.match_label`, with the closed label set when one
  is given), 0.0 otherwise; a truncated answer (no ``</answer>``) is 0.0.
* ``counting`` -- 1.0 when the answer states exactly one whole number, equal to the count,
  with no hedge (``not``, ``or``, ``about``, a range, ...); 0.0 otherwise.
* ``pointing`` -- the fraction of written points inside the target box (unreadable or
  off-image points count as misses; no point scores 0.0), RoboPoint's accuracy.

Coordinates are normalised xyxy ``(x along the width, y along the height)`` throughout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from visual_rewards.geometry.boxes import box_iou
from visual_rewards.geometry.coords import CoordConfig, CoordSpace, normalize_xyxy
from visual_rewards.geometry.labels import LabelSet, match_label, normalize_label
from visual_rewards.parsing import parse_completion, parse_detections, parse_points
from visual_rewards.targets import class_target, count_target, parse_box_target, point_target

__all__ = [
    "METRIC_TASKS",
    "MetricContext",
    "image_ap",
    "image_ap_profile",
    "stated_count",
    "task_metric",
    "task_metric_profile",
]

FloatArray = npt.NDArray[np.float64]

#: Tasks that have a true metric (``format`` has none).
METRIC_TASKS = ("detection", "grounding", "classification", "counting", "pointing")

_IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
_RECALL_POINTS = np.linspace(0.0, 1.0, 101)
_MAX_DETS = 100


@dataclass(frozen=True)
class MetricContext:
    """How to read answers and ground truth for the metric.

    Attributes:
        task: one of :data:`METRIC_TASKS`.
        pred: the coordinate space answers are written in.
        gt: the coordinate space of the ground truth.
        labels: the closed label set for classification (None: exact names only).
    """

    task: str
    pred: CoordConfig
    gt: CoordConfig
    labels: LabelSet | None = None

    @classmethod
    def for_reward(
        cls, task: str, reward: Any, image_size: tuple[int, int] = (1000, 1000)
    ) -> MetricContext:
        """The context matching a reward's options (``coords``, ``gt_coords``, ``labels``)."""
        if task not in METRIC_TASKS:
            raise ValueError(f"no true metric for task {task!r}; metric tasks: {METRIC_TASKS}")
        config = getattr(reward, "config", None)
        coords: CoordSpace = getattr(config, "coords", "norm1000")
        gt_coords: CoordSpace = getattr(config, "gt_coords", None) or coords
        labels = getattr(config, "labels", None)
        pred = CoordConfig(coords, image_size)
        gt = CoordConfig(gt_coords, image_size)
        return cls(task, pred, gt, labels if isinstance(labels, LabelSet) else None)


# ---------------------------------------------------------------------------------------------
# Detection: per-image COCO AP
# ---------------------------------------------------------------------------------------------


def _category_ap(pred: FloatArray, scores: FloatArray, gt: FloatArray) -> FloatArray:
    """COCO AP of one category on one image at each IoU threshold ``(10,)``:
    ``pred (D, 4)``, ``scores (D,)``, ``gt (G, 4)``.

    COCOeval's matching, for all thresholds at once: detections in descending score (stable),
    each takes the unmatched ground truth of highest IoU ``>= t`` (the last one on ties).
    """
    n_thr = _IOU_THRESHOLDS.size
    if pred.shape[0] == 0:
        return np.zeros(n_thr)
    order = np.argsort(-scores, kind="mergesort")[:_MAX_DETS]
    iou = box_iou(pred[order], gt)  # (D, G)
    n_det, n_gt = iou.shape
    thr = np.minimum(_IOU_THRESHOLDS, 1 - 1e-10)[:, None]  # (T, 1)
    taken = np.zeros((n_thr, n_gt), dtype=bool)
    tp = np.zeros((n_thr, n_det), dtype=bool)
    rows = np.arange(n_thr)
    for d in range(n_det):
        eligible = ~taken & (iou[d][None, :] >= thr)
        masked = np.where(eligible, iou[d][None, :], -1.0)[:, ::-1]
        g = n_gt - 1 - np.argmax(masked, axis=1)  # the last best on ties
        hit = eligible.any(axis=1)
        taken[rows[hit], g[hit]] = True
        tp[:, d] = hit
    tps = np.cumsum(tp, axis=1)
    fps = np.cumsum(~tp, axis=1)
    recall = tps / n_gt
    precision = tps / (tps + fps + np.spacing(1))
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    # searchsorted(recall[t], points, "left") for every t: how many recalls are below each point
    idx = (recall[:, None, :] < _RECALL_POINTS[None, :, None]).sum(axis=2)  # (T, 101)
    q = np.take_along_axis(envelope, np.minimum(idx, n_det - 1), axis=1)
    aps: FloatArray = np.where(idx < n_det, q, 0.0).mean(axis=1)
    return aps


def image_ap(
    pred: npt.ArrayLike,
    scores: npt.ArrayLike,
    gt: npt.ArrayLike,
    pred_classes: Sequence[Any] | None = None,
    gt_classes: Sequence[Any] | None = None,
) -> float:
    """COCO AP over IoU 0.5:0.95 of one image's detections (pycocotools' ``stats[0]``).

    Args:
        pred: ``(D, 4)`` xyxy boxes; ``scores``: ``(D,)`` confidences.
        gt: ``(G, 4)`` xyxy ground truth, in the same space as ``pred``.
        pred_classes, gt_classes: per-box classes (``None``: one class for all). AP is the
            mean over the ground truth's classes; detections of other classes do not count.

    Returns:
        AP in ``[0, 1]``; for ``G = 0`` (undefined in COCO) 1.0 without detections, else 0.0.

    >>> round(image_ap([[0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.8], [[0, 0, 10, 10]]), 6)
    1.0
    >>> round(image_ap([[50, 50, 60, 60], [0, 0, 10, 10]], [0.9, 0.8], [[0, 0, 10, 10]]), 6)
    0.5
    """
    return float(image_ap_profile(pred, scores, gt, pred_classes, gt_classes).mean())


def image_ap_profile(
    pred: npt.ArrayLike,
    scores: npt.ArrayLike,
    gt: npt.ArrayLike,
    pred_classes: Sequence[Any] | None = None,
    gt_classes: Sequence[Any] | None = None,
) -> FloatArray:
    """The AP of :func:`image_ap` at each IoU threshold 0.5, 0.55, ..., 0.95: ``(10,)``."""
    p = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    g = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    if g.shape[0] == 0:
        return np.full(_IOU_THRESHOLDS.size, 1.0 if p.shape[0] == 0 else 0.0)
    if gt_classes is None:
        return _category_ap(p, s, g)
    pc = [None] * p.shape[0] if pred_classes is None else list(pred_classes)
    gc = list(gt_classes)
    aps = []
    for cls in dict.fromkeys(gc):
        pm = np.fromiter((c == cls for c in pc), dtype=bool, count=len(pc))
        gm = np.fromiter((c == cls for c in gc), dtype=bool, count=len(gc))
        aps.append(_category_ap(p[pm], s[pm], g[gm]))
    out: FloatArray = np.mean(aps, axis=0)
    return out


def _detection_metric(answer: str | None, target: Any, ctx: MetricContext) -> FloatArray:
    det = parse_detections(answer, ctx.pred)
    scores = np.where(np.isnan(det.scores), 1.0, det.scores)
    # ties in confidence are broken by position, not by the order the boxes were written in
    order = np.lexsort((*det.boxes.T[::-1], -scores)) if len(det) else np.zeros(0, dtype=np.intp)
    det_boxes, scores = det.boxes[order], scores[order]
    det_labels = [det.labels[k] for k in order.tolist()]
    if target.labels is None or any(lab is None for lab in target.labels):
        return image_ap_profile(det_boxes, scores, target.boxes)
    gt_classes = [normalize_label(str(lab)) for lab in target.labels]
    single = gt_classes[0] if len(set(gt_classes)) == 1 else None
    pred_classes = [normalize_label(lab) if lab else single for lab in det_labels]
    return image_ap_profile(det_boxes, scores, target.boxes, pred_classes, gt_classes)


# ---------------------------------------------------------------------------------------------
# The other tasks
# ---------------------------------------------------------------------------------------------


def _grounding_metric(answer: str | None, target: Any, ctx: MetricContext) -> float:
    det = parse_detections(answer, ctx.pred)
    if len(det) == 0 or len(target) == 0:
        return 0.0
    return float(box_iou(det.boxes[:1], target.boxes[:1])[0, 0])


def _classification_metric(answer: str | None, target: Any, ctx: MetricContext) -> float:
    if answer is None:
        return 0.0
    names = [target.label, *target.aliases]
    return 1.0 if match_label(answer, names, ctx.labels) else 0.0


_UNITS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
}
_TENS = {
    w: 10 * i
    for i, w in enumerate(
        ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    )
    if i >= 2
}
_HEDGES = frozenset(
    [
        "not",
        "no",
        "never",
        "or",
        "nor",
        "to",
        "between",
        "about",
        "around",
        "approximately",
        "roughly",
        "nearly",
        "almost",
        "over",
        "under",
        "than",
        "least",
        "most",
        "maybe",
        "perhaps",
        "possibly",
        "probably",
        "likely",
        "either",
        "more",
        "less",
        "few",
        "several",
        "many",
        "some",
    ]
)


def stated_count(answer: str | None) -> int | None:
    """The one whole number an answer states, or None (none, several, hedged, fractional).

    >>> [stated_count(a) for a in ["3", "There are three dogs.", "twenty-one", "none", "no dogs"]]
    [3, 3, 21, 0, 0]
    >>> [stated_count(a) for a in ["not 3", "3 or 4", "about 3", "2-3", "3.5", ""]]
    [None, None, None, None, None, None]
    """
    if answer is None:
        return None
    if _has_range(answer):
        return None
    words = normalize_label(answer).split()
    if words[:1] in (["none"], ["no"]) and not any(
        w.isdigit() or w in _UNITS or w in _TENS for w in words
    ):
        return 0 if not _HEDGES.intersection(words[1:]) else None  # "none", "no dogs"
    values: list[int] = []
    for word in words:
        if word in _HEDGES:
            return None
        if word.isdigit():
            values.append(int(word))
        elif word in _UNITS:
            if values and values[-1] >= 20 and values[-1] % 10 == 0 and _UNITS[word] < 10:
                values[-1] += _UNITS[word]  # "twenty one"
            else:
                values.append(_UNITS[word])
        elif word in _TENS:
            values.append(_TENS[word])
    return values[0] if values and len(set(values)) == 1 else None  # "3 3" agrees


def _has_range(text: str) -> bool:
    """True for ``2-3`` / ``2 - 3`` (digits on both sides of a hyphen)."""
    for i, ch in enumerate(text):
        if ch == "-":
            left = text[:i].rstrip()
            right = text[i + 1 :].lstrip()
            if left[-1:].isdigit() and right[:1].isdigit():
                return True
    return False


def _counting_metric(answer: str | None, target: Any, ctx: MetricContext) -> float:
    truth = target.count
    stated = stated_count(answer)
    return 1.0 if stated is not None and stated == truth else 0.0


def _pointing_metric(answer: str | None, target: Any, ctx: MetricContext) -> float:
    if target.box is None:
        raise ValueError("the pointing metric needs a box target (polygons are not audited)")
    gt_cfg = ctx.gt if target.coords is None else CoordConfig(target.coords, ctx.gt.image_size)
    box = normalize_xyxy([target.box], gt_cfg)[0]
    pts = parse_points(answer, ctx.pred)
    n = len(pts.points) + pts.n_invalid
    if n == 0:
        return 0.0
    p = pts.points
    inside = (p[:, 0] >= box[0]) & (p[:, 0] <= box[2]) & (p[:, 1] >= box[1]) & (p[:, 1] <= box[3])
    return float(inside.sum()) / n


_READERS: dict[str, Any] = {
    "detection": lambda sol, ctx: parse_box_target(sol, ctx.gt),
    "grounding": lambda sol, ctx: parse_box_target(sol, ctx.gt),
    "classification": lambda sol, ctx: class_target(sol),
    "counting": lambda sol, ctx: count_target(sol),
    "pointing": lambda sol, ctx: point_target(sol),
}

_METRICS: dict[str, Any] = {
    "detection": _detection_metric,
    "grounding": _grounding_metric,
    "classification": _classification_metric,
    "counting": _counting_metric,
    "pointing": _pointing_metric,
}


def task_metric(
    completions: Sequence[Any], solutions: Sequence[Any], ctx: MetricContext
) -> FloatArray:
    """The true metric ``(B,)`` of ``B`` completions against their ground truths (module doc).

    A malformed ground truth gives NaN for its row.

    >>> ctx = MetricContext.for_reward("counting", None)
    >>> task_metric(["<think>x</think><answer>3</answer>", "<answer>not 3</answer>"], [3, 3], ctx)
    array([1., 0.])
    """
    out: FloatArray = task_metric_profile(completions, solutions, ctx).mean(axis=1)
    return out


def task_metric_profile(
    completions: Sequence[Any], solutions: Sequence[Any], ctx: MetricContext
) -> FloatArray:
    """The metric's parts ``(B, K)``, whose mean is :func:`task_metric`: detection's AP at
    each of the ``K = 10`` IoU thresholds, ``K = 1`` for the other tasks.

    An answer is *unambiguously* worse than another when no part is higher and one is lower.
    """
    fn, read = _METRICS[ctx.task], _READERS[ctx.task]
    k = _IOU_THRESHOLDS.size if ctx.task == "detection" else 1
    out = np.empty((len(completions), k))
    truncates = ctx.task in ("classification", "counting")
    targets: dict[int, Any] = {}  # ground truths repeat within a batch: read each once
    for i, (completion, solution) in enumerate(zip(completions, solutions, strict=True)):
        parsed = parse_completion(completion)
        answer = None if truncates and parsed.truncated else parsed.answer
        try:
            key = id(solution)
            if key not in targets:
                targets[key] = read(solution, ctx)
            out[i] = fn(answer, targets[key], ctx)
        except ValueError:
            out[i] = math.nan
    return out
