"""Coverage-guided differential fuzz target (atheris): the parsers' fast paths against the
general reader, with zero tolerance.

For every input, ``parse_detections`` (fast path on), the general reader alone (fast path off)
and ``parse_detections_batch`` must read exactly the same boxes, confidences, labels and flags.
Run: ``python fuzz/fuzz_differential.py -runs=1000000 -dict=fuzz/tokens.dict fuzz/corpus``.
"""

from __future__ import annotations

import sys

import atheris
import numpy as np

with atheris.instrument_imports(include=["visual_rewards"]):
    from visual_rewards.parsing import answers, parse_detections, parse_detections_batch

_FAST = answers.fast_values


def _general(text: str) -> answers.Detections:
    answers.fast_values = lambda text, max_items: None  # the general reader alone
    try:
        return parse_detections(text)
    finally:
        answers.fast_values = _FAST


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


def test_one_input(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    want = _general(text)
    flags = (want.n_invalid, want.empty, want.failed, want.overflow)
    got = parse_detections(text)
    assert _same(got.raw_boxes, want.raw_boxes) and _same(got.scores, want.scores), text
    assert got.labels == want.labels, text
    assert (got.n_invalid, got.empty, got.failed, got.overflow) == flags, text
    batch = parse_detections_batch([text])
    assert _same(batch.raw_boxes, want.raw_boxes) and _same(batch.boxes, want.boxes), text
    assert _same(batch.scores, want.scores) and batch.labels == want.labels, text
    row = (batch.n_invalid[0], batch.empty[0], batch.failed[0], batch.overflow[0])
    assert row == flags, text


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
