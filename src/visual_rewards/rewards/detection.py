"""The detection reward of the paper (§3.2.1): IoU reward + confidence reward + format reward.

One pass per completion -- parse once, match once, every component from that match -- and the
batch is scored at once: predictions and ground truth are padded to ``(B, P, 4)`` and
``(B, G, 4)``, IoU is computed for the whole batch in one call, greedy matching loops over the
prediction axis for all rows together, and the Hungarian assignment runs only on rows where
some box has more than one candidate. Semantics: ``docs/rewards/detection.md``.

The scoring is a chain of small pure functions over one padded group of rows: lay the items
out (:func:`_pad_items`), drop duplicates and bad confidences, match (:meth:`DetectionReward._match`),
then sum the matched IoUs and the confidence terms in the visiting order (:func:`_ordered_sum`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from visual_rewards.geometry import labels as label_rules
from visual_rewards.geometry.boxes import masked_batched_box_iou, pad_boxes
from visual_rewards.geometry.coords import CoordConfig
from visual_rewards.geometry.matching import batched_greedy_match, batched_hungarian_match
from visual_rewards.parsing.answers import DEFAULT_MAX_ITEMS
from visual_rewards.parsing.batch import DetectionsBatch, parse_detections_batch
from visual_rewards.rewards import paper, small_batch
from visual_rewards.rewards.base import CoordOptions, Reward, RewardResult
from visual_rewards.rewards.box_inputs import BoxRows, read_box_rows
from visual_rewards.targets import BoxTarget

__all__ = ["DetectionConfig", "DetectionReward", "allowed_pairs"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

#: Rows with more predictions than this are padded among rows of similar size.
_PAD_LIMIT = 32
_CHUNK = 1024
_LARGE_CHUNK = 32
_EMPTY4 = np.zeros((0, 4))
#: Tie-break priorities of the Hungarian matching fall from 1 (the first box written) by
#: ``2 / _PRIORITY_SPAN`` per position: fixed per position, so adding a box never reorders others.
_PRIORITY_SPAN = DEFAULT_MAX_ITEMS


@dataclass(frozen=True)
class DetectionConfig(CoordOptions):
    """Options of :class:`DetectionReward` (see the presets for the two standard settings), besides
    the shared ones (:class:`~visual_rewards.rewards.base.CoordOptions`).

    Attributes:
        matching: ``"hungarian"`` (optimal one-to-one on ``IoU >= iou_threshold``) or
            ``"greedy"`` (the paper's: descending confidence, strict ``IoU > iou_threshold``).
        iou_threshold: the match threshold ``τ``.
        confidence_rule: the term of a matched box with confidence ``c``: ``"linear"`` ``c``,
            ``"brier"`` ``1 - (1 - c)²``.
        unmatched_confidence: the term of an unmatched box: ``"cost"`` -- minus what it would
            earn if matched, shifted to 0 at ``c = 0`` (``-c`` linear, ``-c²`` Brier; an
            unusable item costs as ``c = 1``); ``"complement"`` -- the paper's ``1 - c``
            (``1 - c²`` Brier), which pays doubt about a wrong box.
        confidence_denominator: ``"union"`` -- ``G + U`` (ground truths plus unmatched
            predictions, unusable items included); ``"max"`` -- ``max(G, P)``;
            ``"predictions"`` -- the paper's mean over the ``P`` predictions.
        iou_denominator: ``"union"`` (``G + U``) or ``"max"`` (the paper's ``max(G, P)``).
        validate_confidence: a confidence outside ``[0, 1]`` makes its item invalid.
        empty_reward: an explicit empty answer (``No Objects``, ``[]``) on an image without
            ground truth earns full IoU and confidence rewards (else 0).
        max_boxes: more predicted items than this earns 0 IoU and confidence reward
            (``None``: only the parser's cap of 1000 items).
        class_aware: when the ground truth has labels, a prediction only matches ground
            truth of its own label (see the docs for unlabeled predictions).
        duplicates: boxes at the same position as written (and with the same label):
            ``"invalid"`` -- every copy is an unusable item; ``"drop"`` -- later copies are
            removed before matching and not counted (the paper's code); ``"keep"`` -- no rule.
            (The former option ``dedupe=True``/``False`` means ``"drop"``/``"keep"``.)
        iou_space: ``"normalized"`` or ``"as_written"`` (IoU on the numbers as written when
            ground truth and predictions share a coordinate space, as the paper's code does).
        iou_weight, confidence_weight, format_weight: weights of the components in ``total``.
    """

    matching: Literal["hungarian", "greedy"] = "hungarian"
    iou_threshold: float = 0.5
    confidence_rule: Literal["linear", "brier"] = "linear"
    unmatched_confidence: Literal["cost", "complement"] = "cost"
    confidence_denominator: Literal["union", "max", "predictions"] = "union"
    iou_denominator: Literal["union", "max"] = "union"
    validate_confidence: bool = True
    empty_reward: bool = True
    max_boxes: int | None = 100
    class_aware: bool = True
    duplicates: Literal["invalid", "drop", "keep"] = "invalid"
    iou_space: Literal["normalized", "as_written"] = "normalized"
    iou_weight: float = 1.0
    confidence_weight: float = 1.0
    #: ``"released"``: the authors' released reader and formulas (``rewards/paper.py``); the
    #: options above then only choose the coordinates and weights. ``"lenient"``: this
    #: library's reader with the options above.
    answer_reader: Literal["lenient", "released"] = "lenient"


# ---------------------------------------------------------------------------------------------
# Pure functions over one padded group of rows
# ---------------------------------------------------------------------------------------------


def gt_boxes(target: BoxTarget | None, cfg: CoordConfig, as_written: bool) -> FloatArray:
    """Ground-truth boxes ``(G, 4)`` of a row, normalised or in the predictions' written space."""
    if target is None:
        return _EMPTY4
    if not as_written:
        return target.boxes
    if target.coord == cfg:
        return target.raw_boxes
    sx, sy = cfg.scale()
    out: FloatArray = target.boxes * np.array([sx, sy, sx, sy])
    return out


def allowed_pairs(
    pred_labels: Sequence[str | None], gt_labels: Sequence[str | None] | None, n_p: int, n_g: int
) -> BoolArray:
    """``(P, G)`` bool: which predictions may match which ground truth (class-aware).

    Labels are compared after :func:`~visual_rewards.geometry.labels.normalize_label` (the one
    label rule). A labelled prediction matches ground truth of the same label or without a
    label; an unlabeled prediction matches any ground truth when the ground truth names a
    single class, and nothing when it names several.

    >>> allowed_pairs(["Hot dog", None], ["hot-dog", "cat"], 2, 2).tolist()
    [[True, False], [False, False]]
    """
    if gt_labels is None:
        return np.ones((n_p, n_g), dtype=bool)
    norm = label_rules.normalize_label
    g = [None if x is None else norm(x) for x in gt_labels]
    classes = {x for x in g if x is not None}
    out = np.zeros((n_p, n_g), dtype=bool)
    for i, lab in enumerate(pred_labels[:n_p]):
        p = None if lab is None else norm(lab)
        for j, gl in enumerate(g):
            out[i, j] = gl is None or (gl == p if p is not None else len(classes) <= 1)
    return out


def _pad_items(
    batch: DetectionsBatch, idx: IntArray, items: BoolArray
) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray]:
    """The items of rows ``idx`` padded: ``(boxes (k, W, 4), raw boxes (k, W, 4), scores
    (k, W) NaN-padded, placed (k, W))`` where ``placed`` marks the real items."""
    counts = batch.counts[idx]
    width = int(counts.max(initial=0))
    placed = np.arange(width)[None, :] < counts[:, None]
    boxes = np.zeros((idx.size, width, 4))
    boxes[placed] = batch.boxes[items]
    raw = np.zeros((idx.size, width, 4))
    raw[placed] = batch.raw_boxes[items]
    scores = np.full(placed.shape, np.nan)
    scores[placed] = batch.scores[items]
    return boxes, raw, scores, placed


def _shared_x1(raw: FloatArray, valid: BoolArray) -> BoolArray:
    """``(k,)``: rows where two valid items have the same ``x1`` as written -- the only rows
    where :func:`_duplicates` can find anything (one sort of ``(k, W)``, not ``(k, W, W, 4)``
    comparisons; invalid items become NaN, which equals nothing)."""
    x1 = np.where(valid, raw[:, :, 0], np.nan)
    x1.sort(axis=1)
    out: BoolArray = (x1[:, 1:] == x1[:, :-1]).any(axis=1)
    return out


def _duplicates(
    raw: FloatArray, valid: BoolArray, label_ids: IntArray | None, every_copy: bool
) -> BoolArray:
    """``(k, W)``: valid items whose position as written (and label id, when given) equals
    another valid item's -- every copy (``every_copy``) or only the later ones."""
    width = valid.shape[1]
    same: BoolArray = valid[:, :, None] & valid[:, None, :]
    for k in range(4):
        same = same & np.equal(raw[:, :, None, k], raw[:, None, :, k])
    if label_ids is not None:
        same = same & np.equal(label_ids[:, :, None], label_ids[:, None, :])
    keep = ~np.eye(width, dtype=bool) if every_copy else np.tril(np.ones((width, width), bool), -1)
    out: BoolArray = np.asarray((same & keep).any(axis=2), dtype=bool)
    return out


def _duplicates_in(
    rows: BoolArray,
    raw: FloatArray,
    valid: BoolArray,
    label_ids: IntArray | None,
    every_copy: bool,
) -> BoolArray:
    """:func:`_duplicates` computed on rows ``rows`` only (``(k,)`` bool, e.g. from
    :func:`_shared_x1`), False elsewhere: each row is compared within itself."""
    out = np.zeros(valid.shape, dtype=bool)
    ids = None if label_ids is None else label_ids[rows]
    out[rows] = _duplicates(raw[rows], valid[rows], ids, every_copy)
    return out


def _out_of_range(scores: FloatArray, valid: BoolArray) -> BoolArray:
    """``(k, W)``: valid items whose confidence lies outside ``[0, 1]`` (NaN is no confidence)."""
    with np.errstate(invalid="ignore"):
        out: BoolArray = valid & ((scores < 0.0) | (scores > 1.0))
    return out


def _matched_values(iou: FloatArray, match: IntArray) -> FloatArray:
    """``(k, W)``: each prediction's IoU with its matched ground truth, 0 when unmatched."""
    if not iou.shape[2]:
        return np.zeros(match.shape)
    rows = np.arange(match.shape[0])[:, None]
    cols = np.arange(match.shape[1])[None, :]
    out: FloatArray = np.where(match >= 0, iou[rows, cols, np.maximum(match, 0)], 0.0)
    return out


def _confidence_terms(
    scores: FloatArray, matched: BoolArray, valid: BoolArray, rule: str, unmatched: str
) -> FloatArray:
    """``(k, W)``: each valid prediction's confidence term.

    Matched: ``c`` (linear) or ``1 - (1 - c)²`` (Brier). Unmatched, ``"complement"`` (the
    paper's): ``1 - c`` or ``1 - c²``; ``"cost"``: the same minus 1, ``-c`` or ``-c²`` (a
    shift by a function of the outcome alone, so the Brier rule stays proper). A box without a
    confidence adds 0 under ``"complement"``; under ``"cost"`` it counts as the worst
    confidence for its outcome (0 when matched, 1 when not), so leaving a confidence out never
    pays more than writing one.
    """
    has_score = ~np.isnan(scores)
    if unmatched == "cost":
        scores = np.where(has_score, scores, np.where(matched, 0.0, 1.0))
        has_score = np.ones_like(has_score)
    s = np.where(has_score, scores, 0.0)
    if rule == "linear":
        hit, miss = s, 1.0 - s
    else:
        hit, miss = 1.0 - (1.0 - s) ** 2, 1.0 - s**2
    if unmatched == "cost":
        miss = miss - 1.0
    out: FloatArray = np.where(valid & has_score, np.where(matched, hit, miss), 0.0)
    return out


def _ordered_sum(values: FloatArray, order: IntArray | None) -> FloatArray:
    """``(k,)``: row sums of ``values (k, W)`` added left to right in ``order`` (None: in
    position order) -- the paper's code accumulates in its visiting order, and float addition
    is not associative."""
    if not values.shape[1]:
        return np.zeros(values.shape[0])
    ordered = values if order is None else np.take_along_axis(values, order, 1)
    out: FloatArray = np.add.accumulate(ordered, axis=1)[:, -1]
    return out


def _groups(counts: IntArray) -> list[IntArray]:
    """Rows split into padded groups: rows with few predictions share groups of ``_CHUNK``
    rows (the temporaries stay in cache); larger ones are padded among rows of similar size.
    Each group lists its rows in order (items are laid out row by row)."""
    small = np.flatnonzero(counts <= _PAD_LIMIT)
    groups = [small[k : k + _CHUNK] for k in range(0, small.size, _CHUNK)]
    large = np.flatnonzero(counts > _PAD_LIMIT)
    large = large[np.argsort(counts[large], kind="stable")]
    groups += [np.sort(large[k : k + _LARGE_CHUNK]) for k in range(0, large.size, _LARGE_CHUNK)]
    return [g for g in groups if g.size]


@dataclass(frozen=True)
class _Sums:
    """Per-row counts and sums of a batch (or a group): matched IoU and confidence terms;
    predictions counted (``P``, unusable items included), unusable items (unreadable,
    confidence out of range, duplicates under ``duplicates="invalid"``) and matched boxes;
    and each parsed item's matched IoU ``(N,)``."""

    iou: FloatArray
    confidence: FloatArray
    n_pred: IntArray
    n_unusable: IntArray
    n_matched: IntArray
    item_iou: FloatArray


# ---------------------------------------------------------------------------------------------
# The reward
# ---------------------------------------------------------------------------------------------


class DetectionReward(Reward):
    """Detection reward: components ``iou``, ``confidence`` and ``format``, each in ``[0, 1]``.

    Presets:

    ``"visual_rft"``
        The authors' released reward code on every input (``answer_reader="released"``,
        :mod:`visual_rewards.rewards.paper`): their answer reader (a truncated or unreadable
        answer earns 0; a box out of range is an unmatched box); exact-duplicate positions
        removed; greedy matching in descending confidence with strict ``IoU > 0.5``;
        ``iou = Σ matched IoU / max(G, P)``; ``confidence`` = mean over predictions of ``c`` if
        matched else ``1 - c``, clipped to ``[0, 1]``; the paper's format regex. Without the
        math-verify shortcut, and a NaN confidence reward pays 0 (see "Reproducing the paper"
        in the docs). ``answer_reader="lenient"`` applies the same formulas to what this
        library's reader recovers (an absent confidence then scores 0 for its box).
    ``"default"``
        Hungarian matching on ``IoU >= 0.5`` (ties to the box written first); confidence
        credited only on matched boxes (``+c``), unmatched boxes cost theirs (``-c``) and
        unusable items (unreadable, confidence outside ``[0, 1]``, every copy of a duplicate)
        cost 1; both components over ``G + U`` (ground truths plus unmatched predictions); a
        correct ``No Objects`` earns full reward; more than 100 boxes earns 0; class-aware
        matching when labels are present. No answer can be gamed (see the axioms in
        ``docs/guarantees.md``).

    >>> gt = "<answer>[{'Position': [100, 100, 300, 300], 'Confidence': 1}]</answer>"
    >>> good = "<think>one dog</think><answer>[{'Position': [100, 100, 300, 300], 'Confidence': 0.9}]</answer>"
    >>> r = DetectionReward()
    >>> res = r.score([good, "<think>?</think><answer>No Objects</answer>"], [gt, gt])
    >>> res.components["iou"], res.components["confidence"], res.total
    (array([1., 0.]), array([0.9, 0. ]), array([2.9, 1. ]))
    >>> DetectionReward("visual_rft")(completions=[good], solution=[gt])
    [2.9]
    """

    task: ClassVar[str] = "detection"
    presets: ClassVar[dict[str, DetectionConfig]] = {
        "default": DetectionConfig(),
        "visual_rft": DetectionConfig(
            matching="greedy",
            unmatched_confidence="complement",
            confidence_denominator="predictions",
            iou_denominator="max",
            validate_confidence=False,
            empty_reward=False,
            max_boxes=None,
            class_aware=False,
            duplicates="drop",
            iou_space="as_written",
            format_rule="visual_rft",
            answer_reader="released",
        ),
    }
    extra_columns: ClassVar[tuple[str, ...]] = ("image_size", "image", "images")
    supports_details: ClassVar[bool] = True

    config: DetectionConfig

    @classmethod
    def _prepare_options(cls, overrides: dict[str, Any]) -> dict[str, Any]:
        if "dedupe" in overrides:  # the former option, kept for one release
            overrides["duplicates"] = "drop" if overrides.pop("dedupe") else "keep"
        return overrides

    def _check_options(self) -> None:
        c = self.config
        if c.answer_reader == "released" and c.dialect is not None:
            raise ValueError(
                "answer_reader='released' reads the paper's answer format only; a dialect needs "
                "answer_reader='lenient' (e.g. the default preset)"
            )
        if c.matching not in ("hungarian", "greedy"):
            raise ValueError(f"matching must be 'hungarian' or 'greedy', got {c.matching!r}")
        if c.matching == "hungarian" and not 0.0 < c.iou_threshold <= 1.0:
            raise ValueError(
                f"iou_threshold must be in (0, 1] for hungarian, got {c.iou_threshold!r}"
            )
        if c.matching == "greedy" and not 0.0 <= c.iou_threshold < 1.0:
            raise ValueError(f"iou_threshold must be in [0, 1) for greedy, got {c.iou_threshold!r}")
        if c.confidence_rule not in ("linear", "brier"):
            raise ValueError(
                f"confidence_rule must be 'linear' or 'brier', got {c.confidence_rule!r}"
            )
        choices = {
            "unmatched_confidence": ("cost", "complement"),
            "confidence_denominator": ("union", "max", "predictions"),
            "iou_denominator": ("union", "max"),
            "duplicates": ("invalid", "drop", "keep"),
        }
        for key, allowed in choices.items():
            if getattr(c, key) not in allowed:
                raise ValueError(f"{key} must be one of {allowed}, got {getattr(c, key)!r}")
        if c.iou_space not in ("normalized", "as_written"):
            raise ValueError(f"iou_space must be 'normalized' or 'as_written', got {c.iou_space!r}")
        if c.answer_reader not in ("lenient", "released"):
            raise ValueError(
                f"answer_reader must be 'lenient' or 'released', got {c.answer_reader!r}"
            )
        if c.answer_reader == "released":
            paper.check_released_options("detection", c)
        if c.max_boxes is not None and not (isinstance(c.max_boxes, int) and c.max_boxes >= 1):
            raise ValueError(f"max_boxes must be a positive int or None, got {c.max_boxes!r}")

    # -- scoring -----------------------------------------------------------------------------

    def score(
        self, completions: Sequence[Any], solutions: Sequence[Any] | None = None, **columns: Any
    ) -> RewardResult:
        """Score ``B`` completions against ``B`` ground truths.

        Args:
            completions: ``B`` completions (strings or conversational messages).
            solutions: ``B`` ground truths (the paper's string, boxes, or dicts; see
                :mod:`visual_rewards.targets`).
            **columns: optional ``image_size=[(w, h), …]`` or ``image=[PIL images]`` (needed
                for ``coords="pixel"``/``"qwen25vl"``); ``details=True`` also returns, per row,
                the parsed ``boxes`` (normalised xyxy, rounded to 4 decimals) and each box's
                matched ``ious`` (0 when unmatched) in :attr:`RewardResult.details`.

        Returns:
            ``components`` ``iou``, ``confidence``, ``format`` ``(B,)`` in ``[0, 1]`` (NaN for
            ``iou``/``confidence``/``total`` where the ground truth is malformed).
        """
        want_details = bool(columns.pop("details", False))
        rows = read_box_rows(
            self,
            completions,
            solutions,
            columns,
            texts_only=self.config.answer_reader == "released",
        )
        c = self.config
        max_items = (
            DEFAULT_MAX_ITEMS if c.max_boxes is None else min(c.max_boxes, DEFAULT_MAX_ITEMS)
        )
        if c.answer_reader == "released":
            return self._score_released(rows, solutions)
        batch = parse_detections_batch(
            rows.answers, rows.pred_cfgs, dialect=c.dialect, max_items=max_items
        )
        as_written = c.iou_space == "as_written"
        gt_rows = [
            gt_boxes(t, cfg, as_written)
            for t, cfg in zip(rows.targets, rows.pred_cfgs, strict=True)
        ]
        sums = self._sums(batch, gt_rows, rows.targets)
        iou_c, conf_c = self._components(batch, sums, gt_rows)
        details = _details(batch, sums.item_iou) if want_details else None
        comps = {"iou": iou_c, "confidence": conf_c, "format": rows.fmt}
        return self.result(comps, batch.failed.copy(), rows.missing, details)

    def _score_released(self, rows: BoxRows, solutions: Sequence[Any] | None) -> RewardResult:
        """The authors' released reader and formulas (:mod:`visual_rewards.rewards.paper`)."""
        gt_rows = [
            None if t is None else gt_boxes(t, cfg, True)
            for t, cfg in zip(rows.targets, rows.pred_cfgs, strict=True)
        ]
        sols = solutions if self.config.gt_coords is None else None  # strings read as released
        iou, conf, failed = paper.released_detection(rows.texts, sols, gt_rows)
        return self.result(
            {"iou": iou, "confidence": conf, "format": rows.fmt}, failed, rows.missing
        )

    def _sums(
        self,
        batch: DetectionsBatch,
        gt_rows: Sequence[FloatArray],
        targets: Sequence[BoxTarget | None],
    ) -> _Sums:
        """The per-row sums of the whole batch, group by group (see :func:`_groups`); small
        calls take the identical plain-Python path (:mod:`visual_rewards.rewards.small_batch`)."""
        small = small_batch.detection_sums(self, batch, gt_rows, targets)
        if small is not None:
            return _Sums(*small)
        n = len(batch)
        iou_sum, conf_sum = np.zeros(n), np.zeros(n)
        n_pred, n_unusable = batch.n_invalid.copy(), batch.n_invalid.copy()
        n_matched = np.zeros(n, dtype=np.intp)
        item_iou = np.zeros(batch.boxes.shape[0])
        item_row = np.repeat(np.arange(n), batch.counts)
        for idx in _groups(batch.counts):
            in_group = np.zeros(n, dtype=bool)
            in_group[idx] = True
            items = in_group[item_row]
            group = self._score_group(idx, items, batch, gt_rows, targets)
            iou_sum[idx], conf_sum[idx] = group.iou, group.confidence
            n_pred[idx] += group.n_pred
            n_unusable[idx] += group.n_unusable
            n_matched[idx] = group.n_matched
            item_iou[items] = group.item_iou
        return _Sums(iou_sum, conf_sum, n_pred, n_unusable, n_matched, item_iou)

    def _usable(
        self, raw: FloatArray, scores: FloatArray, placed: BoolArray, labels: list[str | None]
    ) -> tuple[BoolArray, BoolArray]:
        """``(counted, usable)``, both ``(k, W)``: the items that count as predictions (all but
        dropped duplicates) and those that may be matched (confidence in range, no duplicate
        under ``duplicates="invalid"``). ``labels`` are the group's items' labels, flat."""
        c = self.config
        counted = placed
        usable = placed
        rule = c.duplicates if placed.shape[1] > 1 else "keep"
        rows = _shared_x1(raw, placed) if rule != "keep" else None
        if rows is None or not rows.any():
            return self._in_range(counted, usable, scores)
        if rule == "drop":
            counted = usable = placed & ~_duplicates_in(rows, raw, placed, None, every_copy=False)
        else:  # "invalid"
            label_ids = None  # no label written: the positions alone decide
            if labels.count(None) < len(labels):  # some label written
                ids: dict[str | None, int] = {}
                norm = label_rules.normalize_label
                codes = [ids.setdefault(None if x is None else norm(x), len(ids)) for x in labels]
                label_ids = np.full(placed.shape, -1, dtype=np.intp)
                label_ids[placed] = codes
            usable = placed & ~_duplicates_in(rows, raw, placed, label_ids, every_copy=True)
        return self._in_range(counted, usable, scores)

    def _in_range(
        self, counted: BoolArray, usable: BoolArray, scores: FloatArray
    ) -> tuple[BoolArray, BoolArray]:
        """``(counted, usable)`` with items of a confidence outside ``[0, 1]`` made unusable
        (under ``validate_confidence``)."""
        if self.config.validate_confidence:
            usable = usable & ~_out_of_range(scores, usable)
        return counted, usable

    def _score_group(
        self,
        idx: IntArray,
        items: BoolArray,
        batch: DetectionsBatch,
        gt_rows: Sequence[FloatArray],
        targets: Sequence[BoxTarget | None],
    ) -> _Sums:
        """The sums of rows ``idx`` (their items: the mask ``items`` over the batch's items),
        scored as one padded group."""
        c = self.config
        boxes, raw, scores, placed = _pad_items(batch, idx, items)
        labels = list(itertools.compress(batch.labels, items.tolist()))
        counted, usable = self._usable(raw, scores, placed, labels)
        gt, gt_valid, _ = pad_boxes([gt_rows[i] for i in idx.tolist()])
        iou = masked_batched_box_iou(
            raw if c.iou_space == "as_written" else boxes, placed, gt, gt_valid
        )
        order, match = self._match(
            iou, scores, usable, gt_valid, self._allowed(idx, batch, targets, iou.shape)
        )
        matched_iou = _matched_values(iou, match)
        per = _confidence_terms(
            scores, match >= 0, usable, c.confidence_rule, c.unmatched_confidence
        )
        return _Sums(
            _ordered_sum(matched_iou, order),
            _ordered_sum(per, order),
            counted.sum(axis=1).astype(np.intp),
            (counted & ~usable).sum(axis=1).astype(np.intp),
            (match >= 0).sum(axis=1).astype(np.intp),
            matched_iou[placed],
        )

    def _allowed(
        self,
        idx: IntArray,
        batch: DetectionsBatch,
        targets: Sequence[BoxTarget | None],
        shape: tuple[int, ...],
    ) -> BoolArray | None:
        """``(k, W, G)`` class-aware pairs of rows ``idx`` (None: every pair allowed)."""
        if not self.config.class_aware:
            return None
        offsets = batch.offsets
        out: BoolArray | None = None
        for k, b in enumerate(idx.tolist()):
            t = targets[b]
            if t is None or t.labels is None:
                continue
            if out is None:
                out = np.ones(shape, dtype=bool)
            p_b, g_b = int(batch.counts[b]), len(t)
            labs = batch.labels[offsets[b] : offsets[b + 1]]
            out[k, :p_b, :g_b] = allowed_pairs(labs, t.labels, p_b, g_b)
        return out

    def _match(
        self,
        iou: FloatArray,
        scores: FloatArray,
        valid: BoolArray,
        gt_valid: BoolArray,
        allowed: BoolArray | None,
    ) -> tuple[IntArray | None, IntArray]:
        """``(order, match)``, both ``(k, W)``: the visiting order (None: position order, the
        Hungarian matching's) and each prediction's matched ground-truth index (or -1), by the
        configured matching."""
        c = self.config
        if c.matching == "greedy":
            # a pair of different classes has IoU 0 to the matching (never > τ >= 0)
            seen = iou if allowed is None else np.where(allowed, iou, 0.0)
            return batched_greedy_match(seen, scores, valid, gt_valid, c.iou_threshold)
        cand = (iou >= c.iou_threshold) & (iou > 0.0)
        cand &= valid[:, :, None] & gt_valid[:, None, :]
        if allowed is not None:
            cand &= allowed
        # ties in IoU go to the box written first: the matching never depends on confidence,
        # so raising a confidence changes only that box's own term
        ranks = np.arange(iou.shape[1])
        priority = np.broadcast_to(1.0 - 2.0 * ranks / _PRIORITY_SPAN, iou.shape[:2])
        return None, batched_hungarian_match(iou, cand, priority)

    def _components(
        self, batch: DetectionsBatch, sums: _Sums, gt_rows: Sequence[FloatArray]
    ) -> tuple[FloatArray, FloatArray]:
        """The ``iou`` and ``confidence`` components ``(B,)`` from the per-row sums."""
        c = self.config
        n = len(batch)
        g_counts = np.fromiter((r.shape[0] for r in gt_rows), dtype=np.intp, count=n)
        dens = {
            "union": (g_counts + sums.n_pred - sums.n_matched).astype(np.float64),
            "max": np.maximum(g_counts, sums.n_pred).astype(np.float64),
            "predictions": sums.n_pred.astype(np.float64),
        }
        conf_sum = sums.confidence
        if c.unmatched_confidence == "cost":  # an unusable item costs as a box at c = 1
            conf_sum = conf_sum - sums.n_unusable
        iou_c, conf_c = (
            _ratio(sums.iou, dens[c.iou_denominator]),
            _ratio(conf_sum, dens[c.confidence_denominator]),
        )
        if c.empty_reward:  # an explicit empty answer on an image without ground truth
            full = batch.empty & (g_counts == 0) & (sums.n_pred == 0)
            iou_c[full] = 1.0
            conf_c[full] = 1.0
        zero = batch.overflow | batch.failed
        if c.max_boxes is not None:
            zero = zero | (sums.n_pred > c.max_boxes)
        iou_c[zero] = 0.0
        conf_c[zero] = 0.0
        return iou_c, conf_c


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """``num / den`` clipped to ``[0, 1]``, 0 where ``den`` is 0."""
    out = np.zeros(num.shape)
    np.divide(num, den, out=out, where=den > 0)
    clipped: FloatArray = np.clip(out, 0.0, 1.0)
    return clipped


def _details(batch: DetectionsBatch, item_iou: FloatArray) -> dict[str, list[Any]]:
    """Per-row parsed ``boxes`` (normalised xyxy) and matched ``ious``, rounded to 4 decimals."""
    bounds = batch.offsets.tolist()
    boxes = np.round(batch.boxes, 4).tolist()
    ious = np.round(item_iou, 4).tolist()
    return {
        "boxes": [boxes[a:b] for a, b in itertools.pairwise(bounds)],
        "ious": [ious[a:b] for a, b in itertools.pairwise(bounds)],
    }
