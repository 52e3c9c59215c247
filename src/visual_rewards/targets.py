"""Ground truth (the dataset's ``solution`` column), validated once (DESIGN §4.7).

Box ground truth may be given as

- the paper's string ``"<answer>[{'Position': [x1, y1, x2, y2], 'Confidence': 1}]</answer>"``
  (read with the very parser used for completions; ``No Objects`` / ``[]`` = no boxes);
- a list of boxes ``[[x1, y1, x2, y2], …]``, a single box ``[x1, y1, x2, y2]``, or a list of
  dicts with a ``Position`` / ``bbox_2d`` / ``bbox`` / ``box`` key and an optional ``label``;
- a dict ``{"boxes": …, "labels": …, "coords": …, "image_size": (w, h)}`` (validated with
  pydantic; ``coords``/``image_size`` default to the reward's settings and the row's image).

Coordinates are in the reward's coordinate space unless the dict says otherwise. A ground truth
that cannot be read raises :class:`TargetError`; rewards turn that into ``None`` for the row
plus a warning naming the row (or re-raise in strict mode), never into a silent 0 or 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from visual_rewards.geometry.coords import CoordConfig, CoordSpace
from visual_rewards.parsing import parse_completion, parse_detections, parse_detections_batch

__all__ = [
    "BoxTarget",
    "BoxTargetModel",
    "TargetError",
    "parse_box_target",
    "parse_box_targets",
]


class TargetError(ValueError):
    """A ground truth (``solution``) that cannot be read; the message says why."""


@dataclass(frozen=True, eq=False)
class BoxTarget:
    """Validated box ground truth of one row.

    Attributes:
        boxes: ``(G, 4)`` float64, normalised xyxy in ``[0, 1]`` (x along width).
        raw_boxes: ``(G, 4)`` float64, the boxes as written, in ``coord.coords``.
        labels: ``G`` labels (``None`` where none was given), or ``None`` without labels.
        coord: the coordinate space ``raw_boxes`` are written in.
    """

    boxes: npt.NDArray[np.float64]
    raw_boxes: npt.NDArray[np.float64]
    labels: tuple[str | None, ...] | None
    coord: CoordConfig

    def __len__(self) -> int:
        return int(self.boxes.shape[0])


def _finite_box(values: Sequence[float]) -> tuple[float, float, float, float]:
    if len(values) != 4:
        raise ValueError(f"a box needs 4 numbers (x1, y1, x2, y2), got {len(values)}")
    x1, y1, x2, y2 = (float(v) for v in values)
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise ValueError(f"box coordinates must be finite, got {list(values)}")
    if not (x2 > x1 and y2 > y1):
        raise ValueError(f"a box needs x2 > x1 and y2 > y1, got {list(values)}")
    return x1, y1, x2, y2


class BoxTargetModel(BaseModel):
    """The dict form of box ground truth, validated with pydantic.

    >>> BoxTargetModel(boxes=[[0, 0, 10, 10]], labels=["cat"]).labels
    ['cat']
    >>> BoxTargetModel(boxes=[[10, 0, 0, 10]])
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for BoxTargetModel
    ...
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)

    boxes: list[list[float]]
    labels: list[str | None] | None = None
    coords: CoordSpace | None = None
    image_size: tuple[int, int] | None = None

    @field_validator("boxes", mode="before")
    @classmethod
    def _boxes_shape(cls, value: Any) -> Any:
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if (
            isinstance(value, (list, tuple))
            and len(value) == 4
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        ):
            value = [value]  # a single flat box
        return value

    @field_validator("boxes")
    @classmethod
    def _boxes_valid(cls, value: list[list[float]]) -> list[list[float]]:
        return [list(_finite_box(b)) for b in value]

    @field_validator("image_size")
    @classmethod
    def _size_positive(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and not (value[0] > 0 and value[1] > 0):
            raise ValueError(f"image_size must be positive (width, height), got {value}")
        return value

    @model_validator(mode="after")
    def _labels_match(self) -> BoxTargetModel:
        if self.labels is not None and len(self.labels) != len(self.boxes):
            raise ValueError(
                f"labels must have one entry per box: {len(self.boxes)} boxes, "
                f"{len(self.labels)} labels"
            )
        return self


_BOX_KEYS = ("Position", "position", "bbox_2d", "bbox", "box", "box_2d")
_LABEL_KEYS = ("label", "Label", "category", "class", "name")


def _from_dict_list(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    boxes: list[Any] = []
    labels: list[str | None] = []
    for i, item in enumerate(items):
        key = next((k for k in _BOX_KEYS if k in item), None)
        if key is None:
            raise TargetError(f"ground-truth item {i} has no box key (one of {_BOX_KEYS})")
        boxes.append(item[key])
        lab = next((item[k] for k in _LABEL_KEYS if k in item), None)
        labels.append(None if lab is None else str(lab))
    out: dict[str, Any] = {"boxes": boxes}
    if any(lab is not None for lab in labels):
        out["labels"] = labels
    return out


def _normalise(
    raw: npt.NDArray[np.float64],
    labels: Sequence[str | None] | None,
    coord: CoordConfig,
) -> BoxTarget:
    sx, sy = coord.scale()
    boxes = np.clip(raw / np.array([sx, sy, sx, sy]), 0.0, 1.0)
    if not ((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])).all():
        raise TargetError("a ground-truth box lies outside the image")
    labs = None if labels is None else tuple(labels)
    return BoxTarget(boxes=boxes, raw_boxes=raw, labels=labs, coord=coord)


#: Ground-truth strings already read, per coordinate space (GRPO repeats them every step).
_STRING_CACHE: dict[tuple[str, CoordConfig], BoxTarget] = {}
_STRING_CACHE_SIZE = 1 << 16


def _remember(key: tuple[str, CoordConfig], target: BoxTarget) -> BoxTarget:
    if len(_STRING_CACHE) >= _STRING_CACHE_SIZE:
        _STRING_CACHE.clear()
    _STRING_CACHE[key] = target
    return target


def _answer_of(text: str) -> str | None:
    if (
        text.startswith("<answer>")
        and text.endswith("</answer>")
        and text.count("<answer>") == 1
        and text.count("</answer>") == 1
    ):
        return text[8:-9]  # the paper's form: no need to split a whole completion
    return parse_completion(text).answer if "<answer>" in text else text


def _from_string(text: str, coord: CoordConfig) -> BoxTarget:
    hit = _STRING_CACHE.get((text, coord))
    if hit is not None:
        return hit
    det = parse_detections(_answer_of(text), coord)
    if det.failed:
        raise TargetError(f"cannot read boxes from the ground truth ({'; '.join(det.errors)})")
    if det.n_invalid or det.overflow:
        raise TargetError(f"invalid ground-truth box(es): {'; '.join(det.errors[:3])}")
    labels = tuple(det.labels) if any(lab is not None for lab in det.labels) else None
    target = BoxTarget(boxes=det.boxes, raw_boxes=det.raw_boxes, labels=labels, coord=coord)
    return _remember((text, coord), target)


def parse_box_target(solution: Any, coord: CoordConfig | None = None) -> BoxTarget:
    """Validate one row's box ground truth and normalise it.

    Args:
        solution: the paper's string, a list of boxes / box dicts, a dict (see the module
            docstring), or a :class:`BoxTarget` (returned as is).
        coord: the coordinate space (and image size) to read coordinates in unless the
            solution says otherwise; default ``norm1000``.

    Returns:
        A :class:`BoxTarget` (possibly with zero boxes: "No Objects").

    Raises:
        TargetError: the ground truth is malformed (the message says why).

    >>> t = parse_box_target("<answer>[{'Position': [100, 200, 300, 400], 'Confidence': 1}]</answer>")
    >>> t.boxes
    array([[0.1, 0.2, 0.3, 0.4]])
    >>> len(parse_box_target("<answer>No Objects</answer>"))
    0
    >>> parse_box_target({"boxes": [[10, 20, 30, 40]], "coords": "pixel", "image_size": (100, 100)}).boxes
    array([[0.1, 0.2, 0.3, 0.4]])
    """
    coord = coord if coord is not None else CoordConfig("norm1000")
    if isinstance(solution, BoxTarget):
        return solution
    if isinstance(solution, str):
        return _from_string(solution, coord)
    if isinstance(solution, np.ndarray):
        solution = solution.tolist()
    data: Mapping[str, Any]
    if isinstance(solution, Mapping):
        data = solution
    elif isinstance(solution, (list, tuple)):
        if solution and all(isinstance(it, Mapping) for it in solution):
            data = _from_dict_list(solution)
        else:
            data = {"boxes": list(solution)}
    else:
        raise TargetError(
            f"ground truth must be a string, a list of boxes or a dict, got {type(solution).__name__}"
        )
    try:
        model = BoxTargetModel.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise TargetError(
            f"invalid ground truth at {where or 'top level'}: {first['msg']}"
        ) from None
    if model.coords is not None or model.image_size is not None:
        try:
            coord = CoordConfig(
                model.coords or coord.coords,
                model.image_size or coord.image_size,
                min_pixels=coord.min_pixels,
                max_pixels=coord.max_pixels,
            )
        except ValueError as exc:
            raise TargetError(str(exc)) from None
    raw = np.asarray(model.boxes, dtype=np.float64).reshape(-1, 4)
    labels = model.labels if model.labels and any(lab is not None for lab in model.labels) else None
    return _normalise(raw, labels, coord)


def parse_box_targets(
    solutions: Sequence[Any], coords: Sequence[CoordConfig]
) -> list[BoxTarget | TargetError]:
    """:func:`parse_box_target` for a batch; a malformed row gives its ``TargetError``.

    Consecutive rows holding the same object (a GRPO group) are read once, strings already
    seen come from a cache, and the other strings are read together with
    :func:`~visual_rewards.parsing.parse_detections_batch`.

    >>> out = parse_box_targets(["[100, 200, 300, 400]", 7], [CoordConfig()] * 2)
    >>> out[0].boxes, type(out[1]).__name__
    (array([[0.1, 0.2, 0.3, 0.4]]), 'TargetError')
    """
    n = len(solutions)
    if len(coords) != n:
        raise ValueError(f"expected {n} coordinate configs (one per solution), got {len(coords)}")
    out: list[BoxTarget | TargetError | None] = [None] * n
    source = list(range(n))  # the row whose result row i shares
    pending: list[int] = []
    for i, (sol, cfg) in enumerate(zip(solutions, coords, strict=True)):
        if i and sol is solutions[i - 1] and cfg is coords[i - 1]:
            source[i] = source[i - 1]
            continue
        if isinstance(sol, str):
            hit = _STRING_CACHE.get((sol, cfg))
            if hit is not None:
                out[i] = hit
            else:
                pending.append(i)
            continue
        try:
            out[i] = parse_box_target(sol, cfg)
        except TargetError as exc:
            out[i] = exc
    if pending:
        texts = [solutions[i] for i in pending]
        batch = parse_detections_batch([_answer_of(t) for t in texts], [coords[i] for i in pending])
        off = batch.offsets
        for k, i in enumerate(pending):
            key = (texts[k], coords[i])
            seen = _STRING_CACHE.get(key)  # an earlier row of this batch had the same string
            if seen is not None:
                out[i] = seen
                continue
            if batch.failed[k] or batch.n_invalid[k] or batch.overflow[k]:
                try:  # read it alone, for the reason
                    out[i] = _from_string(*key)
                except TargetError as exc:
                    out[i] = exc
                continue
            sl = slice(int(off[k]), int(off[k + 1]))
            labs = batch.labels[sl]
            out[i] = _remember(
                key,
                BoxTarget(
                    boxes=batch.boxes[sl].copy(),
                    raw_boxes=batch.raw_boxes[sl].copy(),
                    labels=tuple(labs) if any(lab is not None for lab in labs) else None,
                    coord=coords[i],
                ),
            )
    result: list[BoxTarget | TargetError] = []
    for i in range(n):
        item = out[source[i]]
        assert item is not None
        result.append(item)
    return result


# --- other tasks ---
