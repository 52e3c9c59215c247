"""Coverage-guided fuzz target (atheris) for the completion and answer parsers.

Run for a time budget: ``scripts/fuzz.sh 600`` (all targets) or
``python fuzz/fuzz_parsers.py -max_total_time=600``. A crash or a broken invariant aborts with
the input that caused it (saved by libFuzzer as ``crash-*``).
"""

from __future__ import annotations

import sys

import atheris
import numpy as np

with atheris.instrument_imports(include=["visual_rewards"]):
    from visual_rewards import parse_completion, parse_detections, parse_points

SIZES = [(640, 480), (1920, 1080), (28, 28)]
COORDS = ["norm1000", "normalized", "pixel", "qwen25vl"]


def check_boxes(boxes: np.ndarray, n: int) -> None:
    assert boxes.shape == (n, 4), boxes.shape
    assert np.isfinite(boxes).all()
    assert ((boxes >= 0.0) & (boxes <= 1.0)).all()
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    coords = COORDS[fdp.ConsumeIntInRange(0, len(COORDS) - 1)]
    size = SIZES[fdp.ConsumeIntInRange(0, len(SIZES) - 1)]
    text = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    completion = parse_completion(text)
    if completion.format_ok:
        assert completion.think is not None and completion.think.strip()
        assert completion.answer is not None and completion.answer.strip()
    for answer in (text, completion.answer):
        d = parse_detections(answer, coords, size)  # type: ignore[arg-type]
        check_boxes(d.boxes, len(d))
        assert d.scores.shape == (len(d),) and len(d.labels) == len(d)
        assert d.n_invalid >= 0 and not (d.empty and d.failed)
        p = parse_points(answer, coords, size)  # type: ignore[arg-type]
        assert p.points.shape == (len(p), 2)
        assert ((p.points >= 0.0) & (p.points <= 1.0)).all()


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
