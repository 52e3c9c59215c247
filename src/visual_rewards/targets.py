"""Ground truth (the dataset's ``solution`` column), validated once, for every task.

Each reader turns one entry of the ``solution`` column into a validated, frozen model, or
raises :class:`TargetError` (a ``ValueError``) saying what is wrong; the rewards turn that into
``None`` ("not applicable") for the row plus a warning naming the row, or re-raise in strict
mode -- never into a silent 0 or 1. ``<answer>`` tags are removed by the one unwrapper,
:func:`~visual_rewards.parsing.completion.unwrap_answer`.

Boxes (detection, grounding; :func:`parse_box_target`) may be given as

- the paper's string ``"<answer>[{'Position': [x1, y1, x2, y2], 'Confidence': 1}]</answer>"``
  (read with the very parser used for completions; ``No Objects`` / ``[]`` = no boxes);
- a list of boxes ``[[x1, y1, x2, y2], …]``, a single box ``[x1, y1, x2, y2]``, or a list of
  dicts with a ``Position`` / ``bbox_2d`` / ``bbox`` / ``box`` key and an optional ``label``;
- a dict ``{"boxes": …, "labels": …, "coords": …, "image_size": (w, h)}`` (validated with
  pydantic; ``coords``/``image_size`` default to the reward's settings and the row's image).

Coordinates are in the reward's coordinate space unless the dict says otherwise.

The other tasks:

- classification (:func:`class_target`): ``"Abyssinian"``, the paper's
  ``"<answer>Abyssinian</answer>"``, ``{"label": "Abyssinian", "aliases": ["abyssinian cat"]}``,
  or a :class:`ClassTarget`;
- counting (:func:`count_target`): ``3``, ``"3"``, ``"<answer>3</answer>"``, ``{"count": 3}``,
  or a :class:`CountTarget`;
- pointing (:func:`point_target`): ``[x1, y1, x2, y2]`` (a box), ``{"box": [...], "coords":
  ..., "image_size": ...}``, ``{"polygon": [[x, y], ...], ...}``, or a :class:`PointTarget`.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from visual_rewards.geometry.coords import CoordConfig, CoordSpace
from visual_rewards.parsing.answers import parse_detections
from visual_rewards.parsing.completion import unwrap_answer

__all__ = [
    "MAX_CACHED_CHARS",
    "BoundedCache",
    "BoxTarget",
    "BoxTargetModel",
    "ClassTarget",
    "CountTarget",
    "PointTarget",
    "TargetError",
    "class_target",
    "count_target",
    "parse_box_target",
    "parse_box_targets",
    "point_target",
]

_MAX_COUNT = 10**9


class TargetError(ValueError):
    """A ground truth (``solution``) that cannot be read; the message says why."""


_Model = TypeVar("_Model", bound=BaseModel)
_Key = TypeVar("_Key")
_Value = TypeVar("_Value")


def _validate(model: type[_Model], raw: Mapping[str, Any]) -> _Model:
    """``model`` validated from ``raw``, or :class:`TargetError` listing what is wrong, field
    by field (the one validation helper of every ground-truth model)."""
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        errors = (f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())
        raise TargetError("invalid ground truth: " + "; ".join(errors)) from None


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


class BoundedCache(abc.ABC, Generic[_Key, _Value]):
    """Ground truth already read (GRPO repeats it every step), bounded twice: in entries and in
    characters (of the key's text plus the value's size, as :meth:`chars_of` counts them). A key
    whose text is longer than :data:`MAX_CACHED_CHARS` is never held, so ground truth with
    megabytes of trailing text cannot grow it past the bound; when a bound would be passed,
    the cache is emptied. Callers store only what their general reader returns for the key,
    so a hit and a miss give the same value.
    """

    def __init__(self, max_entries: int, max_chars: int) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        self.chars = 0
        self.entries: dict[_Key, _Value] = {}

    def get(self, key: _Key) -> _Value | None:
        return self.entries.get(key)

    @abc.abstractmethod
    def chars_of(self, key: _Key, value: _Value) -> tuple[int, int]:
        """``(characters of the key's text, size of the value in characters)``."""

    def put(self, key: _Key, value: _Value) -> None:
        """Hold ``value`` under ``key`` (unless the key's text is too long to hold)."""
        key_chars, value_chars = self.chars_of(key, value)
        if key_chars > MAX_CACHED_CHARS:
            return
        size = key_chars + value_chars
        if len(self.entries) >= self.max_entries or self.chars + size > self.max_chars:
            self.clear()
        self.entries[key] = value
        self.chars += size

    def clear(self) -> None:
        self.entries.clear()
        self.chars = 0


class _TargetCache(BoundedCache[tuple[str, CoordConfig], BoxTarget]):
    """Box ground-truth strings already read, per coordinate space: only what
    :func:`parse_box_target` itself returns for the string (no other path writes here)."""

    def chars_of(self, key: tuple[str, CoordConfig], value: BoxTarget) -> tuple[int, int]:
        return len(key[0]), 8 * value.boxes.size  # the key's characters, the boxes' floats


#: Ground-truth strings longer than this are read every time (never cached).
MAX_CACHED_CHARS = 1 << 14
_STRING_CACHE = _TargetCache(max_entries=1 << 16, max_chars=1 << 25)


def _from_string(text: str, coord: CoordConfig) -> BoxTarget:
    """The box target of a ground-truth string: from the cache, else read by the general
    reader (:func:`~visual_rewards.parsing.answers.parse_detections`) and cached."""
    hit = _STRING_CACHE.get((text, coord))
    if hit is not None:
        return hit
    det = parse_detections(unwrap_answer(text), coord)
    if det.failed:
        raise TargetError(f"cannot read boxes from the ground truth ({'; '.join(det.errors)})")
    if det.n_invalid or det.overflow:
        raise TargetError(f"invalid ground-truth box(es): {'; '.join(det.errors[:3])}")
    labels = tuple(det.labels) if any(lab is not None for lab in det.labels) else None
    target = BoxTarget(boxes=det.boxes, raw_boxes=det.raw_boxes, labels=labels, coord=coord)
    _STRING_CACHE.put((text, coord), target)
    return target


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
    model = _validate(BoxTargetModel, data)
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

    Consecutive rows holding the same object with the same coordinate space (a GRPO group)
    are read once; strings come from the bounded cache or are read by the general reader.

    >>> out = parse_box_targets(["[100, 200, 300, 400]", 7], [CoordConfig()] * 2)
    >>> out[0].boxes, type(out[1]).__name__
    (array([[0.1, 0.2, 0.3, 0.4]]), 'TargetError')
    """
    n = len(solutions)
    if len(coords) != n:
        raise ValueError(f"expected {n} coordinate configs (one per solution), got {len(coords)}")
    out: list[BoxTarget | TargetError] = []
    for i, (sol, cfg) in enumerate(zip(solutions, coords, strict=True)):
        if i and sol is solutions[i - 1] and cfg is coords[i - 1]:
            out.append(out[-1])
            continue
        try:
            out.append(parse_box_target(sol, cfg))
        except TargetError as exc:
            out.append(exc)
    return out


class ClassTarget(BaseModel):
    """One class name with optional aliases that count as the same class.

    >>> ClassTarget(label="Abyssinian", aliases=["abyssinian cat"]).aliases
    ('abyssinian cat',)
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    label: str = Field(min_length=1, max_length=1024)
    aliases: tuple[str, ...] = ()

    @field_validator("label")
    @classmethod
    def _label_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("label is blank")
        return value.strip()

    @field_validator("aliases", mode="before")
    @classmethod
    def _aliases_list(cls, value: Any) -> Any:
        if isinstance(value, list):
            value = tuple(value)
        if isinstance(value, tuple) and not all(isinstance(v, str) and v.strip() for v in value):
            raise ValueError("aliases must be non-blank strings")
        return value


def class_target(raw: Any) -> ClassTarget:
    """Validate a classification ground truth.

    >>> class_target("<answer> Abyssinian </answer>").label
    'Abyssinian'
    >>> class_target({"label": "pug", "aliases": ["carlin"]}).aliases
    ('carlin',)
    """
    if isinstance(raw, ClassTarget):
        return raw
    if isinstance(raw, str):
        label = unwrap_answer(raw)
        if not label:
            raise TargetError("empty class name")
        return ClassTarget(label=label)
    if isinstance(raw, Mapping):
        return _validate(ClassTarget, raw)
    raise TargetError(f"expected a class name or a dict with 'label', got {type(raw).__name__}")


class CountTarget(BaseModel):
    """A non-negative integer count.

    >>> CountTarget(count=3).count
    3
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    count: int = Field(ge=0, le=_MAX_COUNT)


def count_target(raw: Any) -> CountTarget:
    """Validate a counting ground truth.

    >>> count_target("<answer>12</answer>").count, count_target({"count": 0}).count
    (12, 0)
    """
    if isinstance(raw, CountTarget):
        return raw
    if isinstance(raw, bool):
        raise TargetError("a count must be an integer, got a bool")
    if isinstance(raw, float) and math.isfinite(raw) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str):
        text = unwrap_answer(raw)
        if not (text.isascii() and text.isdigit() and len(text) <= 10):
            raise TargetError(f"a count must be a non-negative integer, got {text[:30]!r}")
        raw = int(text)
    if isinstance(raw, int):
        raw = {"count": raw}
    if isinstance(raw, Mapping):
        return _validate(CountTarget, raw)
    raise TargetError(f"expected an integer count, got {type(raw).__name__}")


class PointTarget(BaseModel):
    """The region a point must land in: a box or a polygon, in a coordinate space.

    Attributes:
        box: ``(x1, y1, x2, y2)`` with ``x2 > x1`` and ``y2 > y1``, in ``coords``.
        polygon: ``[(x, y), ...]``, at least 3 vertices, in ``coords`` (needs the
            ``geometry`` extra to score).
        coords: the space of ``box``/``polygon``; None means the reward's ``gt_coords``.
        image_size: ``(width, height)`` of the original image, for ``"pixel"``/``"qwen25vl"``
            (used for both the ground truth and the answer).

    >>> PointTarget(box=(10, 20, 30, 40), coords="pixel", image_size=(100, 100)).box
    (10.0, 20.0, 30.0, 40.0)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    box: tuple[float, float, float, float] | None = None
    polygon: tuple[tuple[float, float], ...] | None = None
    coords: CoordSpace | None = None
    image_size: tuple[int, int] | None = None

    @model_validator(mode="after")
    def _check(self) -> PointTarget:
        if (self.box is None) == (self.polygon is None):
            raise ValueError("give exactly one of 'box' and 'polygon'")
        values = list(self.box or ()) + [v for xy in self.polygon or () for v in xy]
        if not all(math.isfinite(v) for v in values):
            raise ValueError("coordinates must be finite numbers")
        if self.box is not None:
            x1, y1, x2, y2 = self.box
            if not (x2 > x1 and y2 > y1):
                raise ValueError(f"box needs x2 > x1 and y2 > y1, got {list(self.box)}")
        if self.polygon is not None and len(self.polygon) < 3:
            raise ValueError(f"a polygon needs at least 3 vertices, got {len(self.polygon)}")
        if self.image_size is not None and not (self.image_size[0] > 0 and self.image_size[1] > 0):
            raise ValueError(f"image_size must be positive (width, height), got {self.image_size}")
        return self


def point_target(raw: Any) -> PointTarget:
    """Validate a pointing ground truth.

    >>> point_target([100, 200, 300, 400]).box
    (100.0, 200.0, 300.0, 400.0)
    >>> point_target({"polygon": [[0, 0], [10, 0], [0, 10]], "coords": "normalized"}).coords
    'normalized'
    """
    if isinstance(raw, PointTarget):
        return raw
    if isinstance(raw, (list, tuple)):
        raw = {"box": raw}
    if isinstance(raw, Mapping):
        box = raw.get("box")
        if isinstance(box, (list, tuple)) and any(isinstance(v, bool) for v in box):
            raise TargetError("box coordinates must be numbers, got a bool")
        return _validate(PointTarget, raw)
    raise TargetError(
        f"expected a box [x1, y1, x2, y2] or a dict with 'box'/'polygon', got {type(raw).__name__}"
    )
