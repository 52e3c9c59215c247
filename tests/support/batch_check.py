"""The differential check of the batch reader against the general reader (zero tolerance)."""

from __future__ import annotations

import numpy as np


def check_batch(answers: list[str | None]) -> None:
    from visual_rewards import parse_detections
    from visual_rewards.parsing import parse_detections_batch

    batch = parse_detections_batch(answers)
    off = batch.offsets
    for k, a in enumerate(answers):
        d = parse_detections(a)
        sl = slice(off[k], off[k + 1])
        assert np.array_equal(batch.boxes[sl], d.boxes), a
        assert np.array_equal(batch.raw_boxes[sl], d.raw_boxes), a
        assert np.array_equal(batch.scores[sl], d.scores, equal_nan=True), a
        assert batch.labels[sl] == d.labels, a
        assert (batch.n_invalid[k], batch.empty[k], batch.failed[k], batch.overflow[k]) == (
            d.n_invalid,
            d.empty,
            d.failed,
            d.overflow,
        ), a
