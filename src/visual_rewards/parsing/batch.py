"""Many answers at once: the batch reader of the box rewards (:func:`parse_detections_batch`).

Row for row equal to :func:`~visual_rewards.parsing.answers.parse_detections`: each answer
goes through the same fast path (:func:`~visual_rewards.parsing.answers.fast_values`) or,
when that declines, through ``parse_detections`` itself; only the normalising, clipping and
the flipped/outside checks are done here, once for the whole batch, as array operations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from visual_rewards.geometry.coords import CoordConfig
from visual_rewards.parsing.answers import (
    DEFAULT_MAX_ANSWER_CHARS,
    DEFAULT_MAX_ITEMS,
    Detections,
    fast_values,
    parse_detections,
    prepare_answer,
)
from visual_rewards.parsing.dialect_readers import dialect_config
from visual_rewards.parsing.dialects import AUTO, get_dialect

__all__ = ["DetectionsBatch", "parse_detections_batch"]

_NORM1000 = CoordConfig("norm1000")


@dataclass(frozen=True, slots=True)
class DetectionsBatch:
    """Boxes read from ``B`` answers, flattened: row ``b`` owns items ``offsets[b]:offsets[b+1]``.

    Item for item equal to ``[parse_detections(a, cfg) for a in answers]`` (only ``errors``
    are not kept).

    Attributes:
        boxes: ``(N, 4)`` float64, normalised xyxy in ``[0, 1]`` (see :class:`~visual_rewards.parsing.answers.Detections`).
        raw_boxes: ``(N, 4)`` float64, as written.
        scores: ``(N,)`` float64, NaN where no confidence was given.
        labels: ``N`` labels (None where none was given).
        counts: ``(B,)`` intp, valid boxes per answer.
        n_invalid, empty, failed, overflow: ``(B,)``, as in :class:`~visual_rewards.parsing.answers.Detections`.
    """

    boxes: npt.NDArray[np.float64]
    raw_boxes: npt.NDArray[np.float64]
    scores: npt.NDArray[np.float64]
    labels: list[str | None]
    counts: npt.NDArray[np.intp]
    n_invalid: npt.NDArray[np.intp]
    empty: npt.NDArray[np.bool_]
    failed: npt.NDArray[np.bool_]
    overflow: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.counts.shape[0])

    @property
    def offsets(self) -> npt.NDArray[np.intp]:
        """``(B + 1,)`` start of each row's items, then ``N``."""
        out: npt.NDArray[np.intp] = np.concatenate(([0], np.cumsum(self.counts))).astype(np.intp)
        return out


@dataclass
class _Rows:
    """What :func:`_read_rows` collects: items flat (5 floats each), and per-row flags."""

    values: list[float]  # x1, y1, x2, y2, score of every item, flat
    labels: list[str | None]
    counts: list[int]
    n_invalid: npt.NDArray[np.intp]
    empty: npt.NDArray[np.bool_]
    failed: npt.NDArray[np.bool_]
    overflow: npt.NDArray[np.bool_]


def _read_rows(
    answers: Sequence[str | None], cfgs: Sequence[CoordConfig], max_chars: int, max_items: int
) -> _Rows:
    """Read every answer's items as written: the fast path, else the general reader."""
    n = len(answers)
    rows = _Rows(
        [],
        [],
        [0] * n,
        np.zeros(n, dtype=np.intp),
        np.zeros(n, dtype=bool),
        np.zeros(n, dtype=bool),
        np.zeros(n, dtype=bool),
    )
    for i, answer in enumerate(answers):
        text, _, is_empty = prepare_answer(answer, max_chars)
        if text is None or is_empty:
            rows.failed[i] = text is None
            rows.empty[i] = is_empty
            continue
        fast = fast_values(text, max_items)
        if fast is not None:
            rows.values += fast[0]
            rows.labels += fast[1]
            rows.counts[i] = len(fast[1])
            continue
        det = parse_detections(answer, cfgs[i], max_chars=max_chars, max_items=max_items)
        for box, score in zip(det.raw_boxes.tolist(), det.scores.tolist(), strict=True):
            rows.values += (*box, score)
        rows.labels += det.labels
        rows.counts[i] = len(det)
        rows.n_invalid[i] = det.n_invalid
        rows.failed[i] = det.failed
        rows.overflow[i] = det.overflow
    return rows


def _normalise(
    raw: npt.NDArray[np.float64], cfgs: Sequence[CoordConfig], row: npt.NDArray[np.intp]
) -> npt.NDArray[np.float64]:
    """Boxes ``(N, 4)`` as written -> normalised and clipped to ``[0, 1]``; item ``k`` is in
    the space of ``cfgs[row[k]]``."""
    if cfgs and all(cfg is cfgs[0] for cfg in cfgs):  # one coordinate space for the whole batch
        sx, sy = cfgs[0].scale()
        one: npt.NDArray[np.float64] = np.clip(raw / np.array([sx, sy, sx, sy]), 0.0, 1.0)
        return one
    scale_of: dict[CoordConfig, tuple[float, float]] = {}
    per_row = np.empty((len(cfgs), 4))
    for i, cfg in enumerate(cfgs):
        sc = scale_of.get(cfg)
        if sc is None:
            sc = scale_of[cfg] = cfg.scale()
        per_row[i] = (sc[0], sc[1], sc[0], sc[1])
    out: npt.NDArray[np.float64] = np.clip(raw / per_row[row], 0.0, 1.0)
    return out


def parse_detections_batch(
    answers: Sequence[str | None],
    coords: CoordConfig | Sequence[CoordConfig] | None = None,
    *,
    dialect: str | None = None,
    max_chars: int = DEFAULT_MAX_ANSWER_CHARS,
    max_items: int = DEFAULT_MAX_ITEMS,
) -> DetectionsBatch:
    """:func:`~visual_rewards.parsing.answers.parse_detections` for many answers.

    Every answer is read by the same fast path or the general reader; normalising, clipping
    and the flipped/outside checks then run as array operations over all items of the batch.

    Args:
        answers: ``B`` answer texts (None = no answer).
        coords: one :class:`~visual_rewards.geometry.coords.CoordConfig` for all, or one per answer
            (default ``norm1000``).
        dialect: as in :func:`~visual_rewards.parsing.answers.parse_detections`. The dialects
            the general reader reads x-first (``visual_rft``, ``qwen2vl``, ``qwen25vl``,
            ``qwen3vl``) take the fast path, in their own coordinate space; every other dialect
            (and ``"auto"``) is read answer by answer by ``parse_detections`` itself.
        max_chars, max_items: as in :func:`~visual_rewards.parsing.answers.parse_detections`.

    >>> b = parse_detections_batch(["[{'Position': [100, 200, 300, 400], 'Confidence': 0.9}]",
    ...                             "No Objects", "[5, 5, 1, 1]"])
    >>> b.boxes, b.counts.tolist(), b.empty.tolist(), b.n_invalid.tolist()
    (array([[0.1, 0.2, 0.3, 0.4]]), [1, 0, 0], [False, True, False], [0, 0, 1])
    """
    n = len(answers)
    if coords is None:
        coords = _NORM1000
    cfgs: Sequence[CoordConfig] = [coords] * n if isinstance(coords, CoordConfig) else coords
    if len(cfgs) != n:
        raise ValueError(f"expected {n} coordinate configs (one per answer), got {len(cfgs)}")
    if dialect is not None:
        found = None if dialect == AUTO else get_dialect(dialect)
        if found is None or found.coords is None or found.axis_order != "xy":
            return _one_by_one(answers, cfgs, dialect, max_chars, max_items)
        own: dict[CoordConfig, CoordConfig] = {}
        for cfg in cfgs:  # the dialect's own space, once per distinct config
            if cfg not in own:
                own[cfg] = dialect_config(found, cfg, cfg.image_size, _bounds(cfg))
        cfgs = [own[cfg] for cfg in cfgs]
    rows = _read_rows(answers, cfgs, max_chars, max_items)
    counts = np.array(rows.counts, dtype=np.intp)
    flat = np.array(rows.values, dtype=np.float64).reshape(-1, 5)
    raw, scores = flat[:, :4], flat[:, 4]
    row = np.repeat(np.arange(n), counts)
    boxes = _normalise(raw, cfgs, row)
    keep = (
        (raw[:, 2] > raw[:, 0])
        & (raw[:, 3] > raw[:, 1])
        & (boxes[:, 2] > boxes[:, 0])
        & (boxes[:, 3] > boxes[:, 1])
    )
    labels = rows.labels
    if not keep.all():
        dropped = np.bincount(row[~keep], minlength=n)
        rows.n_invalid += dropped
        counts -= dropped
        raw, boxes, scores = raw[keep], boxes[keep], scores[keep]
        labels = [lab for lab, k in zip(labels, keep.tolist(), strict=True) if k]
    return DetectionsBatch(
        boxes=boxes,
        raw_boxes=raw,
        scores=scores,
        labels=labels,
        counts=counts,
        n_invalid=rows.n_invalid,
        empty=rows.empty,
        failed=rows.failed,
        overflow=rows.overflow,
    )


def _bounds(cfg: CoordConfig) -> tuple[int | None, int | None]:
    return cfg.min_pixels, cfg.max_pixels


def _one_by_one(
    answers: Sequence[str | None],
    cfgs: Sequence[CoordConfig],
    dialect: str,
    max_chars: int,
    max_items: int,
) -> DetectionsBatch:
    """The batch of a dialect the fast path does not read: ``parse_detections`` per answer."""
    dets: list[Detections] = [
        parse_detections(
            answer, cfg, cfg.image_size, dialect=dialect, max_chars=max_chars, max_items=max_items
        )
        for answer, cfg in zip(answers, cfgs, strict=True)
    ]
    labels: list[str | None] = []
    for det in dets:
        labels += det.labels
    return DetectionsBatch(
        boxes=np.concatenate([np.zeros((0, 4))] + [d.boxes for d in dets]),
        raw_boxes=np.concatenate([np.zeros((0, 4))] + [d.raw_boxes for d in dets]),
        scores=np.concatenate([np.zeros(0)] + [d.scores for d in dets]),
        labels=labels,
        counts=np.array([len(d) for d in dets], dtype=np.intp),
        n_invalid=np.array([d.n_invalid for d in dets], dtype=np.intp),
        empty=np.array([d.empty for d in dets], dtype=bool),
        failed=np.array([d.failed for d in dets], dtype=bool),
        overflow=np.array([d.overflow for d in dets], dtype=bool),
    )
