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
from visual_rewards.parsing.batch import DetectionsBatch, parse_detections_batch
from visual_rewards.rewards import paper
from visual_rewards.rewards.base import CoordOptions, Reward, RewardResult
from visual_rewards.rewards.box_inputs import read_box_rows
from visual_rewards.targets import BoxTarget

__all__ = ["GroundingConfig", "GroundingReward"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GroundingConfig(CoordOptions):
    """Options of :class:`GroundingReward`, besides the shared ones
    (:class:`~visual_rewards.rewards.base.CoordOptions`).

    Attributes:
        metric: ``"iou"`` (in ``[0, 1]``), ``"giou"`` (``(GIoU + 1) / 2`` in ``[0, 1]``) or
            ``"giou_plus_one"`` (``GIoU + 1`` in ``[0, 2]``, the paper's LISA code).
        multiple: what to score when several boxes are written: ``"worst"`` (the worst box
            written, an invalid one scoring 0: an extra box never raises the reward),
            ``"first"`` (the first valid box), ``"best"`` (the best valid box) or
            ``"penalize"`` (the first valid box, divided by the number of boxes written,
            invalid ones included).
        iou_weight, format_weight: weights of the components in ``total``.
    """

    metric: Literal["iou", "giou", "giou_plus_one"] = "iou"
    multiple: Literal["worst", "first", "best", "penalize"] = "worst"
    iou_weight: float = 1.0
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
            metric="giou_plus_one",
            multiple="first",
            format_rule="visual_rft",
            answer_reader="released",
        ),
    }
    extra_columns: ClassVar[tuple[str, ...]] = ("image_size", "image", "images")

    config: GroundingConfig

    def _check_options(self) -> None:
        c = self.config
        if c.answer_reader == "released" and c.dialect is not None:
            raise ValueError(
                "answer_reader='released' reads the paper's answer format only; a dialect needs "
                "answer_reader='lenient' (e.g. the default preset)"
            )
        if c.metric not in ("iou", "giou", "giou_plus_one"):
            raise ValueError(f"metric must be 'iou', 'giou' or 'giou_plus_one', got {c.metric!r}")
        if c.multiple not in ("worst", "first", "best", "penalize"):
            raise ValueError(
                f"multiple must be 'worst', 'first', 'best' or 'penalize', got {c.multiple!r}"
            )
        if c.answer_reader not in ("lenient", "released"):
            raise ValueError(
                f"answer_reader must be 'lenient' or 'released', got {c.answer_reader!r}"
            )
        if c.answer_reader == "released":
            paper.check_released_options("grounding", c)

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
        rows = read_box_rows(
            self,
            completions,
            solutions,
            columns,
            texts_only=self.config.answer_reader == "released",
        )
        targets = rows.targets
        for row, t in enumerate(targets):
            if t is not None and len(t) == 0:
                self.malformed(row, "no box to ground")
                targets[row] = None
        if self.config.answer_reader == "released":  # the authors' LISA reward
            assert solutions is not None
            value = paper.released_grounding(rows.texts, solutions)
            value[[t is None for t in targets]] = np.nan
            failed = np.zeros(len(targets), dtype=bool)
            return self.result({"iou": value, "format": rows.fmt}, failed, rows.missing)
        batch = parse_detections_batch(rows.answers, rows.pred_cfgs, dialect=self.config.dialect)
        value = self._values(batch, targets)
        return self.result({"iou": value, "format": rows.fmt}, batch.failed.copy(), rows.missing)

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
        elif c.multiple == "worst":
            worst = np.where(valid, per_pred, np.inf).min(axis=1, initial=np.inf)
            value = np.where((counts > 0) & (batch.n_invalid == 0), worst, floor)
        else:
            value = per_pred[:, 0] if per_pred.shape[1] else np.zeros(n)
            value = np.where(counts > 0, value, floor)
            if c.multiple == "penalize":
                written = (counts + batch.n_invalid).astype(np.float64)
                value = np.divide(value, written, out=np.zeros(n), where=written > 0)
        out: FloatArray = np.clip(value, floor, self.component_range("iou")[1])
        return out
