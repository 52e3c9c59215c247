"""The grounding reward (LISA-style reasoning grounding, RefCOCO): one box against one box.

Semantics: ``docs/rewards/grounding.md``. The batch is scored at once: the
predicted boxes are padded to ``(B, P, 4)``, the ground truth to ``(B, G, 4)``, and IoU or GIoU
is computed for the whole batch in one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from visual_rewards.geometry.boxes import batched_box_giou, batched_box_iou, pad_boxes, pad_flat
from visual_rewards.geometry.coords import CoordSpace
from visual_rewards.parsing.batch import DetectionsBatch, parse_detections_batch
from visual_rewards.rewards.base import Reward, RewardResult, check_lengths
from visual_rewards.rewards.box_inputs import read_box_targets, row_coords
from visual_rewards.targets import BoxTarget

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


class GroundingReward(Reward):
    """Grounding reward: components ``iou`` and ``format``.

    The predicted box (see ``multiple``) is scored against the ground-truth box; with several
    ground-truth boxes, against the one it overlaps best. No valid box (nothing parsed, an
    explicit empty answer, only flipped or zero-area boxes) scores 0 -- the minimum, so a
    flipped box can never earn more than a correct one.

    Presets: ``"default"`` -- IoU in ``[0, 1]``, strict format; ``"visual_rft"`` -- ``GIoU + 1``
    in ``[0, 2]`` as the paper's LISA code, the paper's format regex.

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
        "visual_rft": GroundingConfig(metric="giou_plus_one", format_rule="visual_rft"),
    }
    extra_columns: ClassVar[tuple[str, ...]] = ("image_size", "image", "images")

    config: GroundingConfig

    def _check_options(self) -> None:
        c = self.config
        if c.metric not in ("iou", "giou", "giou_plus_one"):
            raise ValueError(f"metric must be 'iou', 'giou' or 'giou_plus_one', got {c.metric!r}")
        if c.multiple not in ("first", "best", "penalize"):
            raise ValueError(f"multiple must be 'first', 'best' or 'penalize', got {c.multiple!r}")

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
                paper's string or a dict; see :mod:`visual_rewards.targets`); a ground truth
                without boxes is malformed.
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
        targets = read_box_targets(self, solutions, gt_cfgs)
        for row, t in enumerate(targets):
            if t is not None and len(t) == 0:
                self.malformed(row, "no box to ground")
                targets[row] = None
        parsed, fmt = self.read_completions(completions)
        batch = parse_detections_batch([p.answer for p in parsed], pred_cfgs)
        value = self._values(batch, targets)
        missing = np.fromiter((t is None for t in targets), dtype=bool, count=n)
        return self.result({"iou": value, "format": fmt}, batch.failed.copy(), missing)

    def _values(self, batch: DetectionsBatch, targets: Sequence[BoxTarget | None]) -> FloatArray:
        """The ``iou`` component ``(B,)``: the scored box's metric against its best ground truth."""
        c = self.config
        n = len(batch)
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
        out: FloatArray = np.clip(value, floor, self.component_range("iou")[1])
        return out
