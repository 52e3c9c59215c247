"""The grounding reward (LISA-style reasoning grounding, RefCOCO): one box against one box.

Semantics: DESIGN §4.4 and ``docs/rewards/grounding.md``. The batch is scored at once: the
predicted boxes are padded to ``(B, P, 4)``, the ground truth to ``(B, G, 4)``, and IoU or GIoU
is computed for the whole batch in one call.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from visual_rewards.geometry.boxes import batched_box_giou, batched_box_iou
from visual_rewards.geometry.coords import CoordConfig, CoordSpace
from visual_rewards.parsing import completion_text, parse_detections_batch
from visual_rewards.rewards import paper
from visual_rewards.rewards.base import Reward, RewardResult, check_lengths
from visual_rewards.rewards.detection import (
    pad_boxes,
    pad_flat,
    read_targets,
    row_coords,
    split_completions,
)

__all__ = ["GroundingConfig", "GroundingReward"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GroundingConfig:
    """Options of :class:`GroundingReward`.

    Attributes:
        metric: ``"iou"`` (in ``[0, 1]``), ``"giou"`` (``(GIoU + 1) / 2`` in ``[0, 1]``) or
            ``"giou_plus_one"`` (``GIoU + 1`` in ``[0, 2]``, the paper's LISA code).
        multiple: what to score when several boxes are predicted: ``"first"`` (the first valid
            box), ``"best"`` (the best valid box) or ``"penalize"`` (the first valid box,
            divided by the number of boxes written, invalid ones included).
        format_rule: ``"strict"`` or ``"visual_rft"`` (the paper's format regex).
        coords, gt_coords, min_pixels, max_pixels: coordinate spaces, as in ``DetectionConfig``.
        iou_weight, format_weight: weights of the components in ``total``.
        strict: raise ``ValueError`` on a malformed ground truth instead of warning.
    """

    metric: Literal["iou", "giou", "giou_plus_one"] = "iou"
    multiple: Literal["first", "best", "penalize"] = "first"
    format_rule: Literal["strict", "visual_rft"] = "strict"
    coords: CoordSpace = "norm1000"
    gt_coords: CoordSpace | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    iou_weight: float = 1.0
    format_weight: float = 1.0
    strict: bool = False
    #: ``"released"``: the authors' released LISA reward (``rewards/paper.py``), which reads
    #: ``(x1,y1),(x2,y2)`` as thousandths and ignores ``metric``, ``multiple`` and the
    #: coordinate options; ``"lenient"``: this library's reader with the options above.
    answer_reader: Literal["lenient", "released"] = "lenient"


class GroundingReward(Reward):
    """Grounding reward: components ``iou`` and ``format``.

    The predicted box (see ``multiple``) is scored against the ground-truth box; with several
    ground-truth boxes, against the one it overlaps best. No valid box (nothing parsed, an
    explicit empty answer, only flipped or zero-area boxes) scores 0 -- the minimum, so a
    flipped box can never earn more than a correct one.

    Presets: ``"default"`` -- IoU in ``[0, 1]``, strict format; ``"visual_rft"`` -- the paper's
    LISA code, reader and formula (``GIoU + 1`` in ``[0, 2]``; ``answer_reader="released"``,
    :mod:`visual_rewards.rewards.paper`), the paper's format regex.

    >>> gt = [[100, 100, 300, 300]]
    >>> good = "<think>the mug</think><answer>(100,100),(300,300)</answer>"
    >>> flipped = "<think>?</think><answer>(1000,1000),(0,0)</answer>"
    >>> GroundingReward().score([good, flipped], [gt, gt]).components["iou"]
    array([1., 0.])
    >>> GroundingReward("visual_rft").score([good, flipped], [gt, gt]).total
    array([3., 1.])
    """

    task: ClassVar[str] = "grounding"
    presets: ClassVar[dict[str, GroundingConfig]] = {
        "default": GroundingConfig(),
        "visual_rft": GroundingConfig(
            metric="giou_plus_one", format_rule="visual_rft", answer_reader="released"
        ),
    }
    extra_columns: ClassVar[tuple[str, ...]] = ("image_size", "image", "images")

    config: GroundingConfig

    def _check_config(self) -> None:
        c = self.config
        if c.metric not in ("iou", "giou", "giou_plus_one"):
            raise ValueError(f"metric must be 'iou', 'giou' or 'giou_plus_one', got {c.metric!r}")
        if c.multiple not in ("first", "best", "penalize"):
            raise ValueError(f"multiple must be 'first', 'best' or 'penalize', got {c.multiple!r}")
        if c.format_rule not in ("strict", "visual_rft"):
            raise ValueError(f"format_rule must be 'strict' or 'visual_rft', got {c.format_rule!r}")
        if c.answer_reader not in ("lenient", "released"):
            raise ValueError(
                f"answer_reader must be 'lenient' or 'released', got {c.answer_reader!r}"
            )
        if c.answer_reader == "released":
            paper.check_released_options("grounding", c)
        for w in ("iou_weight", "format_weight"):
            v = getattr(c, w)
            if not (isinstance(v, (int, float)) and np.isfinite(v)):
                raise ValueError(f"{w} must be a finite number, got {v!r}")
        CoordConfig(c.coords, (1, 1))
        if c.gt_coords is not None:
            CoordConfig(c.gt_coords, (1, 1))

    def component_range(self, name: str) -> tuple[float, float]:
        """``(0, 2)`` for ``iou`` under ``metric="giou_plus_one"``, else ``(0, 1)``.

        >>> GroundingReward("visual_rft").component_range("iou")
        (0.0, 2.0)
        """
        if name == "iou" and self.config.metric == "giou_plus_one":
            return 0.0, 2.0
        return 0.0, 1.0

    def score(
        self, completions: Sequence[Any], solutions: Sequence[Any] | None = None, **columns: Any
    ) -> RewardResult:
        """Score ``B`` completions against ``B`` ground-truth boxes.

        Args:
            completions: ``B`` completions.
            solutions: ``B`` ground truths (a box ``[x1, y1, x2, y2]``, a list of boxes, the
                paper's string or a dict; DESIGN §4.7); a ground truth without boxes is malformed.
            **columns: optional ``image_size`` / ``image`` (for pixel coordinates).

        Returns:
            ``components`` ``iou`` (range per ``metric``) and ``format`` ``(B,)``; ``iou`` and
            ``total`` are NaN where the ground truth is malformed.
        """
        n = check_lengths(completions, solutions)
        assert solutions is not None
        c = self.config
        pred_cfgs, gt_cfgs = row_coords(
            n, c.coords, c.gt_coords, c.min_pixels, c.max_pixels, columns
        )
        targets = read_targets(solutions, gt_cfgs, c.strict, self.__name__)
        for i, t in enumerate(targets):
            if t is not None and len(t) == 0:
                msg = f"{self.__name__}: row {i}: malformed ground truth (no box to ground)"
                if c.strict:
                    raise ValueError(msg)
                warnings.warn(f"{msg}; its reward is None", stacklevel=2)
                targets[i] = None
        fmt, answers = split_completions(completions, c.format_rule)
        if c.answer_reader == "released":  # the authors' LISA reward: rewards/paper.py
            value = paper.released_grounding([completion_text(x) for x in completions], solutions)
            value[[t is None for t in targets]] = np.nan
            total = c.iou_weight * value + c.format_weight * fmt
            failed = np.zeros(n, dtype=bool)
            return RewardResult(
                total, components={"iou": value, "format": fmt}, parse_failed=failed
            )
        batch = parse_detections_batch(answers, pred_cfgs)
        counts = batch.counts
        pred, valid = pad_flat(batch.boxes, counts)
        gt, gt_valid, _ = pad_boxes(
            [t.boxes if t is not None else np.zeros((0, 4)) for t in targets]
        )
        if c.metric == "iou":
            m = batched_box_iou(pred, gt)
        else:
            m = batched_box_giou(pred, gt)
            m = (m + 1.0) / 2.0 if c.metric == "giou" else m + 1.0
        floor = 0.0  # no valid box: the minimum of every metric's range
        pair_ok = valid[:, :, None] & gt_valid[:, None, :]
        per_pred = np.where(pair_ok, m, -np.inf).max(axis=2, initial=-np.inf)  # (B, P)
        per_pred = np.where(valid, per_pred, floor)
        if c.multiple == "best":
            value = per_pred.max(axis=1, initial=floor)
        else:
            value = per_pred[:, 0] if per_pred.shape[1] else np.zeros(n)
            value = np.where(counts > 0, value, floor)
            if c.multiple == "penalize":
                written = (counts + batch.n_invalid).astype(np.float64)
                value = np.divide(value, written, out=np.zeros(n), where=written > 0)
        value = np.clip(value, floor, self.component_range("iou")[1])
        bad = np.fromiter((t is None for t in targets), dtype=bool, count=n)
        value[bad] = np.nan
        total = c.iou_weight * value + c.format_weight * fmt
        return RewardResult(
            total=total, components={"iou": value, "format": fmt}, parse_failed=batch.failed.copy()
        )
