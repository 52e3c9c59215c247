"""One training example, the ground-truth answers, and the report of what a build skipped.

A :class:`Record` is one prompt: an image path, the prompt text (``problem``), the ground
truth as the model should write it (``solution``, e.g.
``<answer>[{'Position': [64, 0, 950, 411], 'Confidence': 1}]</answer>``), the task name the
reward registry knows (``detection``, ``classification``, ``grounding``) and a metadata dict
(ids, the source boxes, the coordinate space, the image size, …).

Boxes enter as **pixel xyxy** of the original image, ``(N, 4)`` float, ``x`` along the width;
they leave in the requested coordinate space (:data:`visual_rewards.geometry.coords.COORD_SPACES`),
rounded to the precision a model writes: integers for ``norm1000``, ``pixel`` and
``qwen25vl``, three decimals for ``normalized``.

>>> format_boxes_answer([[64.0, 48.0, 320.0, 480.0]], coords="norm1000", image_size=(640, 480))
"[{'Position': [100, 100, 500, 1000], 'Confidence': 1}]"
>>> format_boxes_answer([], coords="norm1000", image_size=(640, 480))
'No Objects'
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from visual_rewards.data.prompts import NO_OBJECTS
from visual_rewards.geometry.coords import COORD_SPACES, CoordConfig, CoordSpace, denormalize_xyxy
from visual_rewards.parsing.dialect_render import render_boxes

__all__ = [
    "ANSWER_STYLES",
    "AnswerStyle",
    "BuildReport",
    "Record",
    "Skipped",
    "check_positive_int",
    "coord_precision",
    "derived_rng",
    "format_boxes_answer",
    "format_dialect_answer",
    "round_boxes",
]

AnswerStyle = Literal["visual_rft", "bbox_2d"]
ANSWER_STYLES: tuple[str, ...] = ("visual_rft", "bbox_2d")


@dataclass(frozen=True)
class Record:
    """One prompt of a training or evaluation set.

    Attributes:
        image: path of the image file, as built from the image root given by the caller.
        problem: the prompt text.
        solution: the ground-truth answer, ``<answer>…</answer>``.
        task: reward task name: ``"detection"``, ``"classification"`` or ``"grounding"``.
        metadata: JSON-serialisable details (ids, source boxes, coordinate space, image size).
    """

    image: str
    problem: str
    solution: str
    task: str
    metadata: dict[str, Any]

    def to_row(self) -> dict[str, Any]:
        """The record as a flat row: ``metadata`` becomes a JSON string with sorted keys.

        >>> Record("a.jpg", "p", "<answer>x</answer>", "classification", {"b": 1}).to_row()
        {'image': 'a.jpg', 'problem': 'p', 'solution': '<answer>x</answer>', 'task': 'classification', 'metadata': '{"b": 1}'}
        """
        return {
            "image": self.image,
            "problem": self.problem,
            "solution": self.solution,
            "task": self.task,
            "metadata": json.dumps(self.metadata, sort_keys=True, ensure_ascii=False),
        }


@dataclass(frozen=True)
class Skipped:
    """An input item left out of a build, and why (an annotation id, a file, a row)."""

    item: str
    reason: str

    def __str__(self) -> str:
        return f"{self.item}: {self.reason}"


@dataclass
class BuildReport:
    """What a build produced and what it left out.

    Attributes:
        records: the records built, in output order.
        skipped: every bad input item, with its id and the reason; never silently dropped.
        shortfalls: ``name -> (wanted, got)`` where fewer than ``k`` examples existed.
        notes: other facts worth telling the user (e.g. boxes clipped to the image border).
    """

    records: list[Record] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    shortfalls: dict[str, tuple[int, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One paragraph for a terminal.

        >>> BuildReport().summary()
        '0 records; 0 input items skipped'
        """
        parts = [f"{len(self.records)} records; {len(self.skipped)} input items skipped"]
        for name, (wanted, got) in self.shortfalls.items():
            parts.append(f"{name}: only {got} of {wanted} available")
        parts.extend(self.notes)
        return "; ".join(parts)


def derived_rng(seed: int, *parts: object) -> random.Random:
    """A ``random.Random`` seeded from ``seed`` and a purpose, independent of call order.

    Each category (or class) gets its own stream, so adding a category to a build does not
    change the examples drawn for the others.

    >>> derived_rng(0, "cat").random() == derived_rng(0, "cat").random()
    True
    >>> derived_rng(0, "cat").random() == derived_rng(1, "cat").random()
    False
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    key = json.dumps([seed, *[str(p) for p in parts]]).encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def check_positive_int(name: str, value: object, *, optional: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is an int >= 1 (or None when ``optional``).

    >>> check_positive_int("k", 4)
    >>> check_positive_int("k", True)
    Traceback (most recent call last):
    ...
    ValueError: k must be a positive int, got True
    """
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        more = " or None" if optional else ""
        raise ValueError(f"{name} must be a positive int{more}, got {value!r}")


def coord_precision(coords: CoordSpace) -> int:
    """Decimals a model writes in ``coords``: 0 for integer spaces, 3 for ``normalized``."""
    if coords not in COORD_SPACES:
        raise ValueError(f"coords must be one of {COORD_SPACES}, got {coords!r}")
    return 3 if coords == "normalized" else 0


def round_boxes(
    boxes_xyxy_pixel: npt.ArrayLike,
    coords: CoordSpace,
    image_size: tuple[int, int],
) -> npt.NDArray[np.float64]:
    """Pixel xyxy boxes ``(N, 4)`` of an image ``(width, height)`` -> ``(N, 4)`` in ``coords``.

    Values are rounded half to even to :func:`coord_precision` decimals.

    >>> round_boxes([[10, 20, 30, 40]], "normalized", (100, 100)).tolist()
    [[0.1, 0.2, 0.3, 0.4]]
    """
    w, h = image_size
    arr = np.asarray(boxes_xyxy_pixel, dtype=np.float64).reshape(-1, 4)
    norm = arr / np.array([w, h, w, h], dtype=np.float64)
    out = denormalize_xyxy(norm, CoordConfig(coords, image_size=image_size))
    rounded: npt.NDArray[np.float64] = np.round(out, coord_precision(coords))
    return rounded


def _number(v: float, decimals: int) -> int | float:
    return int(v) if decimals == 0 else round(float(v), decimals)


def format_boxes_answer(
    boxes_xyxy_pixel: npt.ArrayLike,
    *,
    coords: CoordSpace = "norm1000",
    image_size: tuple[int, int],
    style: AnswerStyle = "visual_rft",
    label: str | None = None,
) -> str:
    """The ground-truth answer text (without tags) for pixel xyxy boxes ``(N, 4)``.

    ``style="visual_rft"``: ``[{'Position': [x1, y1, x2, y2], 'Confidence': 1}, …]`` (the
    released datasets' solution format), ``No Objects`` when empty.
    ``style="bbox_2d"``: Qwen2.5-VL's JSON ``[{"bbox_2d": [x1, y1, x2, y2], "label": …}]``,
    ``[]`` when empty.

    >>> format_boxes_answer([[0, 0, 50, 50]], image_size=(100, 100), style="bbox_2d",
    ...                     coords="pixel", label="cat")
    '[{"bbox_2d": [0, 0, 50, 50], "label": "cat"}]'

    Raises:
        ValueError: for an unknown style, or a box that is empty after rounding.
    """
    if style not in ANSWER_STYLES:
        raise ValueError(f"style must be one of {ANSWER_STYLES}, got {style!r}")
    rounded = round_boxes(boxes_xyxy_pixel, coords, image_size)
    if rounded.shape[0] == 0:
        return NO_OBJECTS if style == "visual_rft" else "[]"
    if np.any(rounded[:, 2] <= rounded[:, 0]) or np.any(rounded[:, 3] <= rounded[:, 1]):
        raise ValueError(f"a box has zero width or height after rounding to {coords}")
    decimals = coord_precision(coords)
    items = []
    for row in rounded:
        pos = [_number(v, decimals) for v in row]
        if style == "visual_rft":
            items.append(f"{{'Position': {pos}, 'Confidence': 1}}")
        else:
            item: dict[str, Any] = {"bbox_2d": pos}
            if label is not None:
                item["label"] = label
            items.append(json.dumps(item, ensure_ascii=False))
    return "[" + ", ".join(items) + "]"


def format_dialect_answer(
    boxes_xyxy_pixel: npt.ArrayLike,
    dialect: str,
    *,
    image_size: tuple[int, int],
    label: str | None = None,
) -> str:
    """The ground-truth answer (without tags) for pixel xyxy boxes ``(N, 4)`` written as the
    model family ``dialect`` writes it (:func:`~visual_rewards.parsing.dialect_render.render_boxes`,
    with the family's own quantisation); ``No Objects`` when empty.

    >>> format_dialect_answer([[0, 0, 50, 100]], "paligemma", image_size=(100, 100), label="cat")
    '<loc0000><loc0000><loc1023><loc0512> cat'
    """
    w, h = image_size
    boxes = np.asarray(boxes_xyxy_pixel, dtype=np.float64).reshape(-1, 4)
    if boxes.shape[0] == 0:
        return NO_OBJECTS
    norm = np.clip(boxes / np.array([w, h, w, h]), 0.0, 1.0)
    labels = [label] * len(norm)
    return render_boxes(dialect, norm, labels, scores=[1.0] * len(norm), image_size=image_size)


def answer(text: str) -> str:
    """Wrap ``text`` in answer tags.

    >>> answer("No Objects")
    '<answer>No Objects</answer>'
    """
    return f"<answer>{text}</answer>"


def check_image_size(size: Sequence[Any], what: str) -> tuple[int, int]:
    """Return ``(width, height)`` as positive ints, or raise ``ValueError`` naming ``what``."""
    try:
        w, h = size
    except (TypeError, ValueError):
        raise ValueError(f"{what}: image size must be (width, height), got {size!r}") from None
    if (
        isinstance(w, bool)
        or isinstance(h, bool)
        or not (isinstance(w, (int, float)) and isinstance(h, (int, float)))
    ):
        raise ValueError(f"{what}: image size must be numbers, got {size!r}")
    if not (w > 0 and h > 0) or int(w) != w or int(h) != h:
        raise ValueError(f"{what}: image size must be positive integers, got {size!r}")
    return int(w), int(h)
