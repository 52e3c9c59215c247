"""Helpers shared by the benchmarks: timing on one core and realistic generated completions."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import Any

THINK_SENTENCES = [
    "The image shows several objects on a wooden table near a window.",
    "I can see the category clearly in the left half of the picture.",
    "There is a partially occluded instance behind the chair.",
    "The lighting is dim, so the edges of the object are hard to see.",
    "Counting carefully, the instances do not overlap much.",
    "The object's outline is sharp against the background.",
]


def pin_one_core() -> None:
    """Run on one core, as the targets are stated (no-op where affinity is not supported)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def best_of(
    fn: Callable[[], Any], repeat: int = 3, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Best time of ``repeat`` calls, in seconds: wall time by default, or this process's CPU
    time with ``clock=time.process_time`` (robust to a shared machine)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = clock()
        fn()
        best = min(best, clock() - t0)
    return best


def random_box(rng: random.Random) -> list[int]:
    x1, y1 = rng.randint(0, 900), rng.randint(0, 900)
    return [x1, y1, rng.randint(x1 + 5, 1000), rng.randint(y1 + 5, 1000)]


def visual_rft_completion(rng: random.Random, n_boxes: int) -> str:
    """A realistic Visual-RFT detection completion with ``n_boxes`` predicted boxes."""
    think = " ".join(rng.choice(THINK_SENTENCES) for _ in range(rng.randint(2, 5)))
    if n_boxes == 0:
        answer = "No Objects"
    else:
        items = [
            f"{{'Position': {random_box(rng)}, 'Confidence': {rng.random():.2f}}}"
            for _ in range(n_boxes)
        ]
        answer = "[" + ", ".join(items) + "]"
    return f"<think>{think}</think>\n<answer>{answer}</answer>"
