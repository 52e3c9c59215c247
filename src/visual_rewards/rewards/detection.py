"""The detection reward of the paper (§3.2.1): IoU reward + confidence reward + format reward.

One pass per completion -- parse once, match once, every component from that match -- and the
batch is scored at once: predictions and ground truth are padded to ``(B, P, 4)`` and
``(B, G, 4)``, IoU is computed for the whole batch in one call, greedy matching loops over the
prediction axis for all rows together, and the Hungarian assignment runs only on rows where
some box has more than one candidate. Semantics: DESIGN §4.3 and ``docs/rewards/detection.md``.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from visual_rewards.geometry.boxes import batched_box_iou
from visual_rewards.geometry.coords import CoordConfig, CoordSpace
from visual_rewards.geometry.matching import batched_greedy_match, batched_hungarian_match
from visual_rewards.parsing import (
    DEFAULT_MAX_ITEMS,
    DetectionsBatch,
    completion_text,
    parse_completion,
    parse_detections_batch,
)
from visual_rewards.rewards import paper
from visual_rewards.rewards.base import Reward, RewardResult, check_lengths
from visual_rewards.rewards.format import visual_rft_format_ok
from visual_rewards.targets import BoxTarget, TargetError, parse_box_targets

__all__ = ["DetectionConfig", "DetectionReward"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: The paper's released format check (DESIGN §4.1).
#: Rows with more predictions than this are scored in their own (unpadded) sub-batch.
_PAD_LIMIT = 32
_CHUNK = 1024
_LARGE_CHUNK = 32
_EMPTY4 = np.zeros((0, 4))


@dataclass(frozen=True)
class DetectionConfig:
    """Options of :class:`DetectionReward` (see the presets for the two standard settings).

    Attributes:
        matching: ``"hungarian"`` (optimal one-to-one on ``IoU >= iou_threshold``) or
            ``"greedy"`` (the paper's: descending confidence, strict ``IoU > iou_threshold``).
        iou_threshold: the match threshold ``τ``.
        confidence_rule: ``"linear"`` (the paper's: ``c`` if matched else ``1 - c``) or
            ``"brier"`` (``1 - (c - y)²``, ``y`` = matched).
        confidence_denominator: ``"max"`` -- divide the confidence sum by ``max(G, P)`` so
            misses cost; ``"predictions"`` -- the paper's mean over the ``P`` predictions.
        validate_confidence: a confidence outside ``[0, 1]`` makes its item invalid.
        empty_reward: an explicit empty answer (``No Objects``, ``[]``) on an image without
            ground truth earns full IoU and confidence rewards (else 0).
        max_boxes: more predicted items than this earns 0 IoU and confidence reward
            (``None``: only the parser's cap of 1000 items).
        class_aware: when the ground truth has labels, a prediction only matches ground
            truth of its own label (see the docs for unlabeled predictions).
        dedupe: drop exact-duplicate positions (as written) before matching (the paper's code).
        iou_space: ``"normalized"`` or ``"as_written"`` (IoU on the numbers as written when
            ground truth and predictions share a coordinate space, as the paper's code does).
        format_rule: ``"strict"`` or ``"visual_rft"`` (the paper's regex), see ``FormatReward``.
        coords: the coordinate space the model writes boxes in.
        gt_coords: the space of the ground truth's coordinates (``None``: same as ``coords``).
        min_pixels, max_pixels: Qwen2.5-VL processor bounds for ``coords="qwen25vl"``.
        iou_weight, confidence_weight, format_weight: weights of the components in ``total``.
        strict: raise ``ValueError`` on a malformed ground truth instead of warning.
    """

    matching: Literal["hungarian", "greedy"] = "hungarian"
    iou_threshold: float = 0.5
    confidence_rule: Literal["linear", "brier"] = "linear"
    confidence_denominator: Literal["max", "predictions"] = "max"
    validate_confidence: bool = True
    empty_reward: bool = True
    max_boxes: int | None = 100
    class_aware: bool = True
    dedupe: bool = False
    iou_space: Literal["normalized", "as_written"] = "normalized"
    format_rule: Literal["strict", "visual_rft"] = "strict"
    coords: CoordSpace = "norm1000"
    gt_coords: CoordSpace | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    iou_weight: float = 1.0
    confidence_weight: float = 1.0
    format_weight: float = 1.0
    strict: bool = False
    #: ``"released"``: the authors' released reader and formulas (``rewards/paper.py``); the
    #: options above then only choose the coordinates and weights. ``"lenient"``: this
    #: library's reader with the options above.
    answer_reader: Literal["lenient", "released"] = "lenient"


# ---------------------------------------------------------------------------------------------
# Helpers shared with the grounding reward
# ---------------------------------------------------------------------------------------------


def _image_sizes(n: int, columns: dict[str, Any]) -> list[tuple[int, int]] | None:
    """Per-row ``(width, height)`` from an ``image_size`` or ``image`` column, or None."""
    sizes = columns.get("image_size")
    if sizes is not None:
        if len(sizes) != n:
            raise ValueError(f"expected {n} image sizes (one per completion), got {len(sizes)}")
        out = []
        for s in sizes:
            w, h = s
            out.append((int(w), int(h)))
        return out
    images = columns.get("image")
    if images is None:
        images = columns.get("images")
    if images is not None:
        if len(images) != n:
            raise ValueError(f"expected {n} images (one per completion), got {len(images)}")
        out = []
        for img in images:
            if isinstance(img, (list, tuple)) and img:
                img = img[0]  # several images per row: the first one
            size = getattr(img, "size", None)
            if not (isinstance(size, tuple) and len(size) == 2):
                raise ValueError(
                    f"the image column must hold images with a .size (width, height), "
                    f"got {type(img).__name__}"
                )
            out.append((int(size[0]), int(size[1])))
        return out
    return None


def row_coords(
    n: int,
    coords: CoordSpace,
    gt_coords: CoordSpace | None,
    min_pixels: int | None,
    max_pixels: int | None,
    columns: dict[str, Any],
) -> tuple[list[CoordConfig], list[CoordConfig]]:
    """Coordinate configs of predictions and ground truth for each of ``n`` rows."""
    kw: dict[str, int] = {}
    if min_pixels is not None:
        kw["min_pixels"] = min_pixels
    if max_pixels is not None:
        kw["max_pixels"] = max_pixels
    need = coords in ("pixel", "qwen25vl") or gt_coords in ("pixel", "qwen25vl")
    # Only pixel spaces read the image size (TRL passes the image column to every reward).
    sizes = _image_sizes(n, columns) if need else None
    if sizes is None:
        if need:
            raise ValueError(
                f"coords={coords!r}/gt_coords={gt_coords!r} need image sizes: pass an "
                "image_size=[(w, h), ...] or image=[PIL images] column"
            )
        pred = CoordConfig(coords, **kw)  # type: ignore[arg-type]
        gt = pred if gt_coords is None else CoordConfig(gt_coords, **kw)  # type: ignore[arg-type]
        return [pred] * n, [gt] * n
    cache: dict[tuple[int, int], tuple[CoordConfig, CoordConfig]] = {}
    preds, gts = [], []
    for size in sizes:
        pair = cache.get(size)
        if pair is None:
            p = CoordConfig(coords, size, **kw)
            g = p if gt_coords is None else CoordConfig(gt_coords, size, **kw)
            pair = cache[size] = (p, g)
        preds.append(pair[0])
        gts.append(pair[1])
    return preds, gts


def read_targets(
    solutions: Sequence[Any], gt_cfgs: Sequence[CoordConfig], strict: bool, who: str
) -> list[BoxTarget | None]:
    """Validate every row's ground truth; None (plus a warning naming the row) where malformed."""
    out: list[BoxTarget | None] = []
    for i, t in enumerate(parse_box_targets(solutions, gt_cfgs)):
        if isinstance(t, TargetError):
            if strict:
                raise ValueError(f"{who}: row {i}: malformed ground truth: {t}")
            warnings.warn(
                f"{who}: row {i}: malformed ground truth ({t}); its reward is None",
                stacklevel=3,
            )
            out.append(None)
        else:
            out.append(t)
    return out


def pad_flat(
    boxes: FloatArray, counts: npt.NDArray[np.intp], width: int | None = None
) -> tuple[FloatArray, BoolArray]:
    """Lay out flat boxes ``(N, 4)`` -- row ``b`` owning the next ``counts[b]`` -- as
    ``(B, W, 4)`` (zeros as padding) with a ``(B, W)`` mask; ``W`` defaults to ``max(counts)``."""
    w = int(counts.max(initial=0)) if width is None else width
    out = np.zeros((counts.shape[0], w, 4))
    mask = np.arange(w)[None, :] < counts[:, None]
    out[mask] = boxes
    return out, mask


def pad_boxes(
    rows: Sequence[FloatArray], width: int | None = None
) -> tuple[FloatArray, BoolArray, npt.NDArray[np.intp]]:
    """Stack ``B`` arrays ``(N_b, 4)`` into ``(B, N, 4)`` (zeros as padding) and a ``(B, N)`` mask."""
    counts = np.fromiter((r.shape[0] for r in rows), dtype=np.intp, count=len(rows))
    flat = np.concatenate(rows) if counts.sum() else np.zeros((0, 4))
    out, mask = pad_flat(flat, counts, width)
    return out, mask, counts


def split_completions(
    completions: Sequence[Any], format_rule: str
) -> tuple[FloatArray, list[str | None]]:
    """Parse every completion once: ``(format (B,), answers)``."""
    fmt = np.empty(len(completions))
    answers: list[str | None] = []
    for i, comp in enumerate(completions):
        pc = parse_completion(comp)
        if format_rule == "visual_rft":
            fmt[i] = visual_rft_format_ok(pc.text)
        else:
            fmt[i] = pc.format_ok
        answers.append(pc.answer)
    return fmt, answers


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


def _norm_label(label: str | None) -> str | None:
    if label is None:
        return None
    return " ".join(label.replace("_", " ").casefold().split())


def allowed_pairs(
    pred_labels: Sequence[str | None], gt_labels: Sequence[str | None] | None, n_p: int, n_g: int
) -> BoolArray:
    """``(P, G)`` bool: which predictions may match which ground truth (class-aware).

    A labelled prediction matches ground truth of the same label (case, ``_`` and whitespace
    normalised) or without a label; an unlabeled prediction matches any ground truth when the
    ground truth names a single class, and nothing when it names several.
    """
    if gt_labels is None:
        return np.ones((n_p, n_g), dtype=bool)
    g = [_norm_label(x) for x in gt_labels]
    classes = {x for x in g if x is not None}
    out = np.zeros((n_p, n_g), dtype=bool)
    for i, lab in enumerate(pred_labels[:n_p]):
        p = _norm_label(lab)
        for j, gl in enumerate(g):
            out[i, j] = gl is None or (gl == p if p is not None else len(classes) <= 1)
    return out


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
        Hungarian matching on ``IoU >= 0.5``; misses and false positives (duplicates and
        invalid items included) cost in both components (``/ max(G, P)``); confidence must be
        in ``[0, 1]``; a correct ``No Objects`` earns full reward; more than 100 boxes earns
        0; class-aware matching when labels are present.

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
            confidence_denominator="predictions",
            validate_confidence=False,
            empty_reward=False,
            max_boxes=None,
            class_aware=False,
            dedupe=True,
            iou_space="as_written",
            format_rule="visual_rft",
            answer_reader="released",
        ),
    }
    extra_columns: ClassVar[tuple[str, ...]] = ("image_size", "image", "images")
    supports_details: ClassVar[bool] = True

    config: DetectionConfig

    def _check_config(self) -> None:
        c = self.config
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
        if c.confidence_denominator not in ("max", "predictions"):
            raise ValueError(
                f"confidence_denominator must be 'max' or 'predictions', got {c.confidence_denominator!r}"
            )
        if c.iou_space not in ("normalized", "as_written"):
            raise ValueError(f"iou_space must be 'normalized' or 'as_written', got {c.iou_space!r}")
        if c.format_rule not in ("strict", "visual_rft"):
            raise ValueError(f"format_rule must be 'strict' or 'visual_rft', got {c.format_rule!r}")
        if c.answer_reader not in ("lenient", "released"):
            raise ValueError(
                f"answer_reader must be 'lenient' or 'released', got {c.answer_reader!r}"
            )
        if c.answer_reader == "released":
            paper.check_released_options("detection", c)
        if c.max_boxes is not None and not (isinstance(c.max_boxes, int) and c.max_boxes >= 1):
            raise ValueError(f"max_boxes must be a positive int or None, got {c.max_boxes!r}")
        for w in ("iou_weight", "confidence_weight", "format_weight"):
            v = getattr(c, w)
            if not (isinstance(v, (int, float)) and np.isfinite(v)):
                raise ValueError(f"{w} must be a finite number, got {v!r}")
        CoordConfig(c.coords, (1, 1))  # validates the names
        if c.gt_coords is not None:
            CoordConfig(c.gt_coords, (1, 1))

    # -- scoring -----------------------------------------------------------------------------

    def score(
        self, completions: Sequence[Any], solutions: Sequence[Any] | None = None, **columns: Any
    ) -> RewardResult:
        """Score ``B`` completions against ``B`` ground truths.

        Args:
            completions: ``B`` completions (strings or conversational messages).
            solutions: ``B`` ground truths (the paper's string, boxes, or dicts; DESIGN §4.7).
            **columns: optional ``image_size=[(w, h), …]`` or ``image=[PIL images]`` (needed
                for ``coords="pixel"``/``"qwen25vl"``); ``details=True`` also returns, per row,
                the parsed ``boxes`` (normalised xyxy, rounded to 4 decimals) and each box's
                matched ``ious`` (0 when unmatched) in :attr:`RewardResult.details`.

        Returns:
            ``components`` ``iou``, ``confidence``, ``format`` ``(B,)`` in ``[0, 1]`` (NaN for
            ``iou``/``confidence``/``total`` where the ground truth is malformed).
        """
        want_details = bool(columns.pop("details", False))
        n = check_lengths(completions, solutions)
        assert solutions is not None
        c = self.config
        pred_cfgs, gt_cfgs = row_coords(
            n, c.coords, c.gt_coords, c.min_pixels, c.max_pixels, columns
        )
        targets = read_targets(solutions, gt_cfgs, c.strict, self.__name__)
        max_items = (
            DEFAULT_MAX_ITEMS if c.max_boxes is None else min(c.max_boxes, DEFAULT_MAX_ITEMS)
        )
        fmt, answers = split_completions(completions, c.format_rule)
        if c.answer_reader == "released":  # the authors' reader and formulas: rewards/paper.py
            rows = [
                None if t is None else gt_boxes(t, p, True)
                for t, p in zip(targets, pred_cfgs, strict=True)
            ]
            texts = [completion_text(x) for x in completions]
            sols = solutions if c.gt_coords is None else None  # strings read as released
            iou_r, conf_r, failed = paper.released_detection(texts, sols, rows)
            total = c.iou_weight * iou_r + c.confidence_weight * conf_r + c.format_weight * fmt
            comps = {"iou": iou_r, "confidence": conf_r, "format": fmt}
            return RewardResult(total=total, components=comps, parse_failed=failed)
        batch = parse_detections_batch(answers, pred_cfgs, max_items=max_items)
        item_iou = np.zeros(batch.boxes.shape[0])
        iou_c, conf_c = self._score_batch(batch, targets, pred_cfgs, item_iou)
        comps = {"iou": iou_c, "confidence": conf_c, "format": fmt}
        total = c.iou_weight * iou_c + c.confidence_weight * conf_c + c.format_weight * fmt
        details: dict[str, list[Any]] = {}
        if want_details:
            bounds = batch.offsets.tolist()
            boxes = np.round(batch.boxes, 4).tolist()
            ious = np.round(item_iou, 4).tolist()
            details["boxes"] = [boxes[a:b] for a, b in itertools.pairwise(bounds)]
            details["ious"] = [ious[a:b] for a, b in itertools.pairwise(bounds)]
        return RewardResult(
            total=total, components=comps, parse_failed=batch.failed.copy(), details=details
        )

    def _score_batch(
        self,
        batch: DetectionsBatch,
        targets: Sequence[BoxTarget | None],
        pred_cfgs: Sequence[CoordConfig],
        item_iou: FloatArray,
    ) -> tuple[FloatArray, FloatArray]:
        """IoU and confidence components ``(B,)`` of parsed rows; fills ``item_iou`` ``(N,)``
        with each parsed box's matched IoU (0 when unmatched)."""
        c = self.config
        n = len(batch)
        as_written = c.iou_space == "as_written"
        bad_gt = np.fromiter((t is None for t in targets), dtype=bool, count=n)
        gt_rows = [gt_boxes(t, cfg, as_written) for t, cfg in zip(targets, pred_cfgs, strict=True)]
        g_counts = np.fromiter((r.shape[0] for r in gt_rows), dtype=np.intp, count=n)
        labelled = [
            i
            for i, t in enumerate(targets)
            if c.class_aware and t is not None and t.labels is not None
        ]
        counts = batch.counts
        iou_sum = np.zeros(n)
        conf_sum = np.zeros(n)
        n_pred = batch.n_invalid.copy()
        item_row = np.repeat(np.arange(n), counts)
        # Rows with few predictions share padded batches; larger ones are padded among rows of
        # similar size.
        # (Chunks of _CHUNK rows keep the temporaries of the array code in cache.)
        small = np.flatnonzero(counts <= _PAD_LIMIT)
        groups = [small[k : k + _CHUNK] for k in range(0, small.size, _CHUNK)]
        large = np.flatnonzero(counts > _PAD_LIMIT)
        large = large[np.argsort(counts[large], kind="stable")]  # similar sizes pad together
        # (each group in row order: items are laid out row by row)
        groups += [np.sort(large[k : k + _LARGE_CHUNK]) for k in range(0, large.size, _LARGE_CHUNK)]
        for idx in groups:
            if idx.size:
                self._score_group(
                    idx,
                    batch,
                    item_row,
                    gt_rows,
                    targets,
                    labelled,
                    iou_sum,
                    conf_sum,
                    n_pred,
                    item_iou,
                )

        too_many = batch.overflow.copy()
        if c.max_boxes is not None:
            too_many |= n_pred > c.max_boxes
        denom = np.maximum(g_counts, n_pred).astype(np.float64)
        iou_c = np.zeros(n)
        np.divide(iou_sum, denom, out=iou_c, where=denom > 0)
        conf_den = denom if c.confidence_denominator == "max" else n_pred.astype(np.float64)
        conf_c = np.zeros(n)
        np.divide(conf_sum, conf_den, out=conf_c, where=conf_den > 0)
        iou_c = np.clip(iou_c, 0.0, 1.0)
        conf_c = np.clip(conf_c, 0.0, 1.0)
        if c.empty_reward:  # an explicit empty answer on an image without ground truth
            full = batch.empty & (g_counts == 0) & (n_pred == 0)
            iou_c[full] = 1.0
            conf_c[full] = 1.0
        zero = too_many | batch.failed
        iou_c[zero] = 0.0
        conf_c[zero] = 0.0
        iou_c[bad_gt] = np.nan
        conf_c[bad_gt] = np.nan
        return iou_c, conf_c

    def _score_group(
        self,
        idx: npt.NDArray[np.intp],
        batch: DetectionsBatch,
        item_row: npt.NDArray[np.intp],
        gt_rows: Sequence[FloatArray],
        targets: Sequence[BoxTarget | None],
        labelled: Sequence[int],
        iou_sum: FloatArray,
        conf_sum: FloatArray,
        n_pred: npt.NDArray[np.intp],
        item_iou: FloatArray,
    ) -> None:
        """Score the rows ``idx`` as one padded batch; adds into the per-row accumulators
        and writes each box's matched IoU into ``item_iou``."""
        c = self.config
        counts = batch.counts[idx]
        width = int(counts.max(initial=0))
        valid = np.arange(width)[None, :] < counts[:, None]
        in_group = np.zeros(len(batch), dtype=bool)
        in_group[idx] = True
        items = in_group[item_row]
        src = batch.raw_boxes if c.iou_space == "as_written" else batch.boxes
        pred = np.zeros((idx.size, width, 4))
        pred[valid] = src[items]
        placed = valid  # where each parsed box of the group sits in the padded array
        scores = np.full(valid.shape, np.nan)
        scores[valid] = batch.scores[items]
        gt, gt_valid, _ = pad_boxes([gt_rows[i] for i in idx])
        if c.dedupe and width > 1:
            raw = pred
            if c.iou_space != "as_written":
                raw = np.zeros_like(pred)
                raw[valid] = batch.raw_boxes[items]
            same = valid[:, :, None] & valid[:, None, :]
            for k in range(4):
                same &= raw[:, :, None, k] == raw[:, None, :, k]
            earlier = np.tril(np.ones((width, width), dtype=bool), k=-1)  # j < i
            valid = valid & ~(same & earlier).any(axis=2)
        if c.validate_confidence:
            with np.errstate(invalid="ignore"):
                bad = valid & ((scores < 0.0) | (scores > 1.0))
            if bad.any():
                valid = valid & ~bad
                n_pred[idx] += bad.sum(axis=1)
        n_pred[idx] += valid.sum(axis=1)

        iou = batched_box_iou(pred, gt)
        if c.matching == "greedy":
            order, match = batched_greedy_match(iou, scores, valid, gt_valid, c.iou_threshold)
        else:
            cand = (iou >= c.iou_threshold) & (iou > 0.0)
            cand &= valid[:, :, None] & gt_valid[:, None, :]
            if labelled:
                pos = {int(b): k for k, b in enumerate(idx)}
                offsets = batch.offsets
                for b in labelled:
                    t = targets[b]
                    if b not in pos or t is None:
                        continue
                    k = pos[b]
                    p_b, g_b = int(counts[k]), len(t)
                    labs = batch.labels[offsets[b] : offsets[b + 1]]
                    cand[k, :p_b, :g_b] &= allowed_pairs(labs, t.labels, p_b, g_b)
            priority = np.where(np.isnan(scores), 0.0, 2.0 * np.nan_to_num(scores) - 1.0)
            match = batched_hungarian_match(iou, cand, priority)
            order = np.broadcast_to(np.arange(width), match.shape)

        matched = match >= 0
        rows = np.arange(idx.size)[:, None]
        cols = np.arange(width)[None, :]
        if iou.shape[2]:
            matched_iou = np.where(matched, iou[rows, cols, np.maximum(match, 0)], 0.0)
        else:
            matched_iou = np.zeros(matched.shape)
        item_iou[items] = matched_iou[placed]
        has_score = ~np.isnan(scores)
        s = np.where(has_score, scores, 0.0)
        if c.confidence_rule == "linear":
            per = np.where(matched, s, 1.0 - s)
        else:
            per = 1.0 - (s - matched) ** 2
        per = np.where(valid & has_score, per, 0.0)
        # Sum left to right in the visiting order (the paper's code accumulates this way).
        if width:
            iou_sum[idx] = np.add.accumulate(np.take_along_axis(matched_iou, order, 1), axis=1)[
                :, -1
            ]
            conf_sum[idx] = np.add.accumulate(np.take_along_axis(per, order, 1), axis=1)[:, -1]
