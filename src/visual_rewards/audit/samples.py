"""Generated ground truths, for auditing a reward without a dataset at hand.

Deterministic for a seed. Boxes are ``[x1, y1, x2, y2]`` in ``norm1000`` (x along the width).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["generated_ground_truths"]

_CLASSES = ("Abyssinian", "Bengal", "Persian", "Siamese", "Sphynx", "Birman")


def _box(rng: np.random.Generator) -> list[int]:
    x, y = (int(v) for v in rng.integers(0, 700, 2))
    w, h = (int(v) for v in rng.integers(60, 300, 2))
    return [x, y, min(x + w, 1000), min(y + h, 1000)]


def generated_ground_truths(
    task: str, n: int = 8, seed: int = 0, labels: Sequence[str] | None = None
) -> list[Any]:
    """``n`` ground truths for ``task``, in the rewards' plain formats.

    >>> generated_ground_truths("counting", 3, seed=1)
    [5, 5, 8]
    >>> len(generated_ground_truths("detection", 2)[0]["boxes"]) >= 1
    True
    """
    rng = np.random.default_rng(seed)
    names = tuple(labels) if labels else _CLASSES
    out: list[Any] = []
    for _ in range(n):
        if task == "detection":
            boxes: list[list[int]] = []
            while len(boxes) < 1 + int(rng.integers(3)):
                b = _box(rng)
                if all(b[2] <= o[0] or o[2] <= b[0] or b[3] <= o[1] or o[3] <= b[1] for o in boxes):
                    boxes.append(b)
            out.append({"boxes": boxes})
        elif task in ("grounding", "pointing"):
            out.append(_box(rng))
        elif task == "classification":
            out.append(names[int(rng.integers(len(names)))])
        elif task == "counting":
            out.append(int(rng.integers(0, 11)))
        else:
            raise ValueError(f"no generated ground truths for task {task!r}")
    return out
