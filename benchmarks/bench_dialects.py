"""Parse throughput per grounding dialect, against the Visual-RFT path.

The same boxes (0-10 per answer) are written in every dialect (:func:`render_boxes`) and read
back with ``parse_detections(answer, dialect=...)``; the reference is today's default reader on
the Visual-RFT list (``parse_detections(answer)``). The documented bound: no dialect below half
the speed of the Visual-RFT path (``--check`` exits 1 when one is).

Run: ``.venv/bin/python benchmarks/bench_dialects.py [--check]`` (pins itself to one core;
CPU time of this process, best of three).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _common import best_of, pin_one_core
from visual_rewards.geometry.coords import CoordConfig
from visual_rewards.parsing import parse_detections, parse_detections_batch, parse_points
from visual_rewards.parsing.dialect_readers import dialect_config
from visual_rewards.parsing.dialect_render import render_boxes, render_points
from visual_rewards.parsing.dialects import DIALECT_NAMES, DIALECTS

N = 5_000
SIZE = (640, 480)
#: The bound stated in docs/dialects.md.
MIN_RATIO = 0.5


def _boxes(rng: random.Random) -> np.ndarray:
    k = rng.randint(0, 10)
    out = []
    for _ in range(k):
        x, y = rng.uniform(0, 0.7), rng.uniform(0, 0.7)
        out.append([x, y, x + rng.uniform(0.05, 0.3), y + rng.uniform(0.05, 0.3)])
    return np.array(out).reshape(-1, 4)


def _answers(dialect: str, sets: list[np.ndarray], points: bool = False) -> list[str]:
    out = []
    for boxes in sets:
        labels = ["thing"] * len(boxes)
        if len(boxes) == 0:
            out.append("No Objects")
        elif points:
            out.append(render_points(dialect, boxes[:, :2], labels, image_size=SIZE))
        else:
            scores = [0.9] * len(boxes)
            out.append(render_boxes(dialect, boxes, labels, scores=scores, image_size=SIZE))
    return out


def _rate(fn: Callable[[], object], n: int) -> float:
    return n / best_of(fn, clock=time.process_time)


def _dialect_rates(name: str, sets: list[np.ndarray]) -> tuple[float, float, float | None]:
    """Answers/s of ``parse_detections``, of ``parse_detections_batch`` and of ``parse_points``
    (None without points) for one dialect."""
    d = DIALECTS[name]
    size = SIZE if d.needs_image_size else None
    answers = _answers(name, sets)
    rate = _rate(lambda: [parse_detections(a, dialect=name, image_size=size) for a in answers], N)
    cfg = dialect_config(d, "norm1000", size) if d.coords else CoordConfig()
    batch = _rate(lambda: parse_detections_batch(answers, cfg, dialect=name), N)
    if not d.reads_points:
        return rate, batch, None
    point_answers = _answers(name, sets, points=True)
    points = _rate(
        lambda: [parse_points(a, dialect=name, image_size=size) for a in point_answers], N
    )
    return rate, batch, points


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help=f"exit 1 below {MIN_RATIO} x Visual-RFT")
    args = ap.parse_args()
    pin_one_core()
    rng = random.Random(0)
    sets = [_boxes(rng) for _ in range(N)]
    reference_answers = _answers("visual_rft", sets)
    reference = _rate(lambda: [parse_detections(a) for a in reference_answers], N)
    print(f"Visual-RFT path, parse_detections(answer): {reference:,.0f} answers/s (0-10 boxes)\n")
    print("| dialect | answers/s | x Visual-RFT | batch answers/s | points/s |")
    print("|---|---:|---:|---:|---:|")
    slow = []
    for name in DIALECT_NAMES:
        rate, batch, points = _dialect_rates(name, sets)
        ratio = rate / reference
        if ratio < MIN_RATIO:
            slow.append(name)
        pts = "" if points is None else f"{points:,.0f}"
        print(f"| `{name}` | {rate:,.0f} | {ratio:.2f} | {batch:,.0f} | {pts} |")
    print(f"\nslowest allowed: {MIN_RATIO} x the Visual-RFT path; below it: {slow or 'none'}")
    return 1 if (args.check and slow) else 0


if __name__ == "__main__":
    raise SystemExit(main())
