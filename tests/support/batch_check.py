"""Differential checks of the parsers' fast paths against the general reader (zero tolerance).

The general reader is ``parse_detections`` with its fast path turned off
(:func:`general_detections`); the fast paths are ``fast_values`` inside ``parse_detections``
and the batch reader ``parse_detections_batch``. Every field must be equal, NaN included.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import numpy as np

from visual_rewards.parsing import answers, parse_detections, parse_detections_batch


def general_detections(answer: str | None, **kwargs: Any) -> answers.Detections:
    """What the general reader alone reads (the fast path declines every answer)."""
    with mock.patch.object(answers, "fast_values", return_value=None):
        return parse_detections(answer, **kwargs)


def same_detections(got: Any, want: answers.Detections, where: object) -> None:
    assert np.array_equal(got.boxes, want.boxes), where
    assert np.array_equal(got.raw_boxes, want.raw_boxes), where
    assert np.array_equal(got.scores, want.scores, equal_nan=True), where
    assert list(got.labels) == list(want.labels), where


def check_batch(answers_: list[str | None]) -> None:
    """The batch reader and ``parse_detections`` equal the general reader, row for row."""
    batch = parse_detections_batch(answers_)
    off = batch.offsets
    for k, a in enumerate(answers_):
        want = general_detections(a)
        same_detections(parse_detections(a), want, a)
        flags = (want.n_invalid, want.empty, want.failed, want.overflow)
        single = parse_detections(a)
        assert (single.n_invalid, single.empty, single.failed, single.overflow) == flags, a
        sl = slice(off[k], off[k + 1])

        class _Row:
            boxes, raw_boxes = batch.boxes[sl], batch.raw_boxes[sl]
            scores, labels = batch.scores[sl], batch.labels[sl]

        same_detections(_Row, want, a)
        assert (batch.n_invalid[k], batch.empty[k], batch.failed[k], batch.overflow[k]) == flags, a
