"""Ground truth of the classification, counting and pointing rewards (DESIGN §4.7).

Each ``*_target`` function turns one entry of the ``solution`` column into a validated,
frozen pydantic model, or raises ``ValueError`` saying what is wrong; the rewards turn that
into ``None`` ("not applicable") plus a warning naming the row, or re-raise in strict mode.

Accepted forms:

- classification: ``"Abyssinian"``, the paper's ``"<answer>Abyssinian</answer>"``,
  ``{"label": "Abyssinian", "aliases": ["abyssinian cat"]}``, or a :class:`ClassTarget`;
- counting: ``3``, ``"3"``, ``"<answer>3</answer>"``, ``{"count": 3}``, or a :class:`CountTarget`;
- pointing: ``[x1, y1, x2, y2]`` (a box), ``{"box": [...], "coords": ..., "image_size": ...}``,
  ``{"polygon": [[x, y], ...], ...}``, or a :class:`PointTarget`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from visual_rewards.geometry.coords import CoordSpace

__all__ = [
    "ClassTarget",
    "CountTarget",
    "PointTarget",
    "class_target",
    "count_target",
    "point_target",
]

_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_MAX_COUNT = 10**9


def _unwrap(text: str) -> str:
    """The content of the first ``<answer>…</answer>`` block if there is one, stripped."""
    match = _ANSWER_RE.search(text)
    return (match.group(1) if match else text).strip()


_Model = TypeVar("_Model", bound=BaseModel)


def _validate(model: type[_Model], raw: Mapping[str, Any]) -> _Model:
    """``model`` validated from ``raw``, or ``ValueError`` listing what is wrong, field by field."""
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        errors = (f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())
        raise ValueError("; ".join(errors)) from None


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
        label = _unwrap(raw)
        if not label:
            raise ValueError("empty class name")
        return ClassTarget(label=label)
    if isinstance(raw, Mapping):
        return _validate(ClassTarget, raw)
    raise ValueError(f"expected a class name or a dict with 'label', got {type(raw).__name__}")


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
        raise ValueError("a count must be an integer, got a bool")
    if isinstance(raw, float) and math.isfinite(raw) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str):
        text = _unwrap(raw)
        if not (text.isascii() and text.isdigit() and len(text) <= 10):
            raise ValueError(f"a count must be a non-negative integer, got {text[:30]!r}")
        raw = int(text)
    if isinstance(raw, int):
        raw = {"count": raw}
    if isinstance(raw, Mapping):
        return _validate(CountTarget, raw)
    raise ValueError(f"expected an integer count, got {type(raw).__name__}")


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
            raise ValueError("box coordinates must be numbers, got a bool")
        return _validate(PointTarget, raw)
    raise ValueError(
        f"expected a box [x1, y1, x2, y2] or a dict with 'box'/'polygon', got {type(raw).__name__}"
    )
