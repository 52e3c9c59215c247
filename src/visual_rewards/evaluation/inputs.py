"""Validated inputs of ``evaluate``: COCO/LVIS ground truth, COCO results, grounding rows.

Annotation and result files come from elsewhere; they are checked with pydantic models
before any metric is computed, so that a malformed file is one line that names the file,
the record and the field (:class:`InputError`, a ``ValueError``), never a traceback or a
silently different AP:

* ground truth (:func:`check_ground_truth`): ``images`` (non-empty; integer ``id``, positive
  integer ``width``/``height``), ``categories`` (non-empty; integer ``id``, string ``name``)
  and ``annotations`` (integer ``id``/``image_id``/``category_id`` naming a known image and
  category, ``bbox`` of four finite numbers with non-negative size, finite ``area`` >= 0, and
  ``iscrowd`` 0/1 -- required for COCO, optional for LVIS), ids unique;
* detections (:func:`check_detections`): a list of objects with integer ``image_id`` and
  ``category_id``, a ``bbox`` of four numbers and a numeric ``score``. A detection whose box
  or score is NaN or infinite, or whose box has a negative size, is *rejected and counted*
  (not fatal); one on an image or category the ground truth does not have is counted too
  (``unknown="error"`` makes unknown images an :class:`InputError`);
* grounding rows (:func:`check_grounding_row`): a row with a mistyped ``image_size`` or
  completion is reported and skipped by the caller.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "DetectionCheck",
    "InputError",
    "check_detections",
    "check_ground_truth",
    "check_grounding_row",
]


class InputError(ValueError):
    """A malformed input file: the message is one line naming the file, record and field."""


_STRICT = ConfigDict(strict=True, extra="allow")
_Finite = Annotated[float, Field(allow_inf_nan=False)]
_Positive = Annotated[int, Field(gt=0)]
_FiniteBox = Annotated[list[_Finite], Field(min_length=4, max_length=4)]
_Box = Annotated[list[float], Field(min_length=4, max_length=4)]


class _Image(BaseModel):
    model_config = _STRICT
    id: int
    width: _Positive
    height: _Positive
    neg_category_ids: list[int] = []
    not_exhaustive_category_ids: list[int] = []


class _Category(BaseModel):
    model_config = _STRICT
    id: int
    name: str
    frequency: Literal["r", "c", "f"] | None = None


class _Annotation(BaseModel):
    model_config = _STRICT
    id: int
    image_id: int
    category_id: int
    bbox: _FiniteBox
    area: Annotated[float, Field(allow_inf_nan=False, ge=0)]
    iscrowd: Literal[0, 1] | None = None


class _GroundTruth(BaseModel):
    model_config = _STRICT
    images: Annotated[list[dict[str, Any]], Field(min_length=1)]
    categories: Annotated[list[dict[str, Any]], Field(min_length=1)]
    annotations: list[dict[str, Any]]


class _Detection(BaseModel):
    model_config = _STRICT
    image_id: int
    category_id: int
    bbox: _Box
    score: float


def _where(source: str, loc: Sequence[Any], data: Any) -> str:
    """``file: annotations[3] (id 17) field 'bbox'`` from a pydantic error location.

    >>> _where("gt.json", ["annotations", 0, "bbox", 1], {"annotations": [{"id": 17}]})
    "gt.json: annotations[0] (id 17) field 'bbox[1]'"
    >>> _where("gt.json", ["images"], {})
    "gt.json: top level field 'images'"
    """
    parts: list[str] = []
    record: str | None = None
    record_id: Any = None
    node = data
    for key in loc:
        if isinstance(key, int):
            if record is None:
                record = f"{'.'.join(parts) or ''}[{key}]"
                parts = []
            else:
                parts[-1:] = [f"{parts[-1] if parts else ''}[{key}]"]
            node = node[key] if isinstance(node, list) and 0 <= key < len(node) else None
            if record is not None and not parts and isinstance(node, Mapping) and "id" in node:
                record_id = node["id"]
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, Mapping) else None
    shown = f" (id {record_id!r:.40})" if record_id is not None else ""
    fields = ".".join(parts)
    return f"{source}: {record or 'top level'}{shown}" + (f" field {fields!r}" if fields else "")


def _raise(source: str, exc: ValidationError, data: Any, prefix: Sequence[Any] = ()) -> None:
    err = exc.errors()[0]
    loc = [*prefix, *err["loc"]]
    got = err.get("input")
    shown = err["type"] != "missing" and "input" in err
    got_text = f" (got {type(got).__name__}: {got!r:.40})" if shown else ""
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    raise InputError(f"{_where(source, loc, data)}: {err['msg']}{got_text}{more}") from None


def _records(source: str, items: list[Any], model: type[BaseModel], key: str, data: Any) -> None:
    for index, item in enumerate(items):
        try:
            model.model_validate(item)
        except ValidationError as exc:
            _raise(source, exc, data, (key, index))


def _unique(source: str, items: list[dict[str, Any]], key: str) -> set[Any]:
    seen: set[Any] = set()
    for index, item in enumerate(items):
        if item["id"] in seen:
            raise InputError(f"{source}: {key}[{index}] (id {item['id']!r}): duplicate id")
        seen.add(item["id"])
    return seen


def check_ground_truth(data: Any, source: str, *, lvis: bool) -> None:
    """Validate a COCO (``lvis=False``) or LVIS annotation dict; :class:`InputError` if not.

    >>> check_ground_truth({"images": [{"id": 1, "width": 0, "height": 5}],
    ...     "categories": [{"id": 1, "name": "cat"}], "annotations": []}, "gt.json", lvis=False)
    Traceback (most recent call last):
    ...
    visual_rewards.evaluation.inputs.InputError: gt.json: images[0] (id 1) field 'width': Input should be greater than 0 (got int: 0)
    """
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: top level: expected a JSON object, got {type(data).__name__}")
    try:
        _GroundTruth.model_validate(data)
    except ValidationError as exc:
        _raise(source, exc, data)
    _records(source, data["images"], _Image, "images", data)
    _records(source, data["categories"], _Category, "categories", data)
    _records(source, data["annotations"], _Annotation, "annotations", data)
    images = _unique(source, data["images"], "images")
    categories = _unique(source, data["categories"], "categories")
    _unique(source, data["annotations"], "annotations")
    for index, ann in enumerate(data["annotations"]):
        where = f"{source}: annotations[{index}] (id {ann['id']!r})"
        if ann["image_id"] not in images:
            raise InputError(f"{where} field 'image_id': unknown image {ann['image_id']!r}")
        if ann["category_id"] not in categories:
            raise InputError(
                f"{where} field 'category_id': unknown category {ann['category_id']!r}"
            )
        if ann["bbox"][2] < 0 or ann["bbox"][3] < 0:
            raise InputError(f"{where} field 'bbox': negative width or height {ann['bbox']}")
        if not lvis and "iscrowd" not in ann:
            raise InputError(f"{where} field 'iscrowd': missing (COCO requires 0 or 1)")


@dataclass
class DetectionCheck:
    """What :func:`check_detections` kept and rejected.

    Attributes:
        given: detections in the input; ``kept``: those evaluated.
        rejected: reason -> count (non-finite box or score, negative box size).
        unknown_image / unknown_category: detections on images / categories the ground
            truth does not have (left out).
    """

    given: int = 0
    kept: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    unknown_image: int = 0
    unknown_category: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "given": self.given,
            "kept": self.kept,
            "rejected": dict(sorted(self.rejected.items())),
            "unknown_image": self.unknown_image,
            "unknown_category": self.unknown_category,
        }


def _reject_reason(det: Mapping[str, Any]) -> str | None:
    box = det["bbox"]
    if not all(math.isfinite(v) for v in box):
        return "non-finite bbox"
    if box[2] < 0 or box[3] < 0:
        return "negative bbox size"
    if not math.isfinite(det["score"]):
        return "non-finite score"
    return None


def check_detections(
    dets: Any, source: str, ground_truth: Mapping[str, Any], *, unknown: str = "count"
) -> tuple[list[dict[str, Any]], DetectionCheck]:
    """Validate COCO results; return the detections to evaluate and the counts.

    ``unknown``: ``"count"`` (default) leaves detections on unknown images out and counts
    them; ``"error"`` raises :class:`InputError` on the first one.

    >>> gt = {"images": [{"id": 1}], "categories": [{"id": 2}]}
    >>> kept, check = check_detections([{"image_id": 1, "category_id": 2,
    ...     "bbox": [0, 0, float("nan"), 1], "score": 0.5}], "d.json", gt)
    >>> kept, check.rejected
    ([], Counter({'non-finite bbox': 1}))
    """
    if not isinstance(dets, list):
        raise InputError(
            f"{source}: top level: expected a list of COCO results, got {type(dets).__name__}"
        )
    images = {img["id"] for img in ground_truth["images"]}
    categories = {c["id"] for c in ground_truth["categories"]}
    check = DetectionCheck(given=len(dets))
    kept: list[dict[str, Any]] = []
    for index, det in enumerate(dets):
        try:
            _Detection.model_validate(det)
        except ValidationError as exc:
            _raise(source, exc, dets, (index,))
        reason = _reject_reason(det)
        if reason is not None:
            check.rejected[reason] += 1
        elif det["image_id"] not in images:
            if unknown == "error":
                raise InputError(
                    f"{source}: [{index}] field 'image_id': unknown image {det['image_id']!r}"
                )
            check.unknown_image += 1
        elif det["category_id"] not in categories:
            check.unknown_category += 1
        else:
            kept.append(det)
    check.kept = len(kept)
    return kept, check


def check_grounding_row(row: Mapping[str, Any]) -> str | None:
    """Why a grounding row cannot be evaluated (one line naming the field), or None.

    ``image_size``, when present, must be ``[width, height]`` of positive integers: the
    rewards' rule (:func:`visual_rewards.io.images.image_sizes`).

    >>> check_grounding_row({"image_size": ["a", 2]})
    "field 'image_size': expected [width, height] of positive integers, got list: ['a', 2]"
    """
    from visual_rewards.io.images import image_sizes
    from visual_rewards.io.rows import row_value

    value = row_value(row, "image_size")
    if value is not None and (image_sizes({"image_size": [value]}, 1) or [None])[0] is None:
        return (
            "field 'image_size': expected [width, height] of positive integers, "
            f"got {type(value).__name__}: {value!r:.40}"
        )
    return None
