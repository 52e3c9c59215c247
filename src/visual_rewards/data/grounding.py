"""Reasoning-grounding sets (paper §4.4) from LISA ReasonSeg annotations.

ReasonSeg stores, beside each image ``name.jpg``, a labelme-style ``name.json``:
``{"text": [query, ...], "is_sentence": bool, "shapes": [{"label": "target" | "ignore",
"points": [[x, y], ...], ...}, ...]}`` (pixel coordinates of the original image; labelme's
``imageWidth``/``imageHeight`` are used when present, else the image header is read).

Each query becomes one record: the released grounding prompt, and as ground truth the box
spanning every ``target`` polygon (``ignore`` regions are not part of the object), written in
the requested coordinate space as ``(x1,y1),(x2,y2)``. The polygons are kept in the metadata
(pixel coordinates) for mask metrics. A file with no target polygon, a polygon with fewer than
three points or non-finite coordinates, or points outside the image by more than one pixel is
reported with its path and skipped.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from visual_rewards.data.prompts import dialect_prompt, grounding_prompt
from visual_rewards.data.records import (
    BuildReport,
    Record,
    Skipped,
    answer,
    check_image_size,
    check_positive_int,
    coord_precision,
    derived_rng,
    format_dialect_answer,
    round_boxes,
)
from visual_rewards.geometry.coords import CoordSpace
from visual_rewards.io.files import image_file_size
from visual_rewards.parsing.dialects import get_dialect

__all__ = ["build_grounding", "find_reasonseg_files", "format_grounding_answer"]

_TOL = 1.0
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG")


def find_reasonseg_files(root: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """``(json path, image path)`` pairs of a ReasonSeg folder, sorted by json path.

    A json file without an image of the same stem is returned with an empty image path and
    reported by :func:`build_grounding`.
    """
    base = Path(root)
    if not base.is_dir():
        raise ValueError(f"ReasonSeg folder {root} does not exist or is not a folder")
    out = []
    for js in sorted(base.glob("*.json")):
        image = ""
        for suffix in _IMAGE_SUFFIXES:
            cand = js.with_suffix(suffix)
            if cand.is_file():
                image = str(cand)
                break
        out.append((str(js), image))
    return out


def format_grounding_answer(
    box_xyxy_pixel: Sequence[float], coords: CoordSpace, image_size: tuple[int, int]
) -> str:
    """The answer text ``(x1,y1),(x2,y2)`` for one pixel xyxy box in ``coords``.

    >>> format_grounding_answer([64, 48, 320, 480], "norm1000", (640, 480))
    '(100,100),(500,1000)'
    """
    row = round_boxes([list(box_xyxy_pixel)], coords, image_size)[0]
    if row[2] <= row[0] or row[3] <= row[1]:
        raise ValueError(f"the box has zero width or height after rounding to {coords}")
    dec = coord_precision(coords)
    v = [int(x) if dec == 0 else round(float(x), dec) for x in row]
    return f"({v[0]},{v[1]}),({v[2]},{v[3]})"


def _polygon(points: Any) -> list[list[float]] | None:
    if not isinstance(points, list) or len(points) < 3:
        return None
    out = []
    for p in points:
        if not (isinstance(p, list) and len(p) == 2):
            return None
        if not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in p
        ):
            return None
        out.append([float(p[0]), float(p[1])])
    return out


def _parse_file(
    json_path: str, image_path: str
) -> tuple[dict[str, Any], list[list[list[float]]], list[list[list[float]]], tuple[int, int]]:
    """Read one ReasonSeg json; raise ``ValueError`` with the reason when it is unusable."""
    if not image_path:
        raise ValueError("no image with the same name beside it")
    with open(json_path, encoding="utf-8") as fh:
        try:
            data = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("top level is not an object")
    texts = data.get("text")
    if isinstance(texts, str):
        texts = [texts]
    if not (isinstance(texts, list) and texts and all(isinstance(t, str) for t in texts)):
        raise ValueError("'text' must be a non-empty list of strings")
    if not any(t.strip() for t in texts):
        raise ValueError("every query text is blank")
    shapes = data.get("shapes")
    if not isinstance(shapes, list):
        raise ValueError("'shapes' must be a list")
    targets: list[list[list[float]]] = []
    ignores: list[list[list[float]]] = []
    for i, shape in enumerate(shapes):
        if not isinstance(shape, dict) or shape.get("label") not in ("target", "ignore"):
            raise ValueError(f"shape {i} has no 'target'/'ignore' label")
        poly = _polygon(shape.get("points"))
        if poly is None:
            raise ValueError(f"shape {i} needs >= 3 finite [x, y] points")
        (targets if shape["label"] == "target" else ignores).append(poly)
    if not targets:
        raise ValueError("no 'target' polygon")
    if isinstance(data.get("imageWidth"), int) and isinstance(data.get("imageHeight"), int):
        size = check_image_size((data["imageWidth"], data["imageHeight"]), json_path)
    else:
        size = image_file_size(image_path)
    w, h = size
    for poly in targets + ignores:
        for x, y in poly:
            if x < -_TOL or y < -_TOL or x > w + _TOL or y > h + _TOL:
                raise ValueError(f"point ({x}, {y}) lies outside the {w}x{h} image")
    return data, targets, ignores, size


def build_grounding(
    files: Sequence[tuple[str, str]],
    *,
    coords: CoordSpace = "norm1000",
    texts: str = "all",
    num_samples: int | None = None,
    seed: int = 0,
    dialect: str | None = None,
) -> BuildReport:
    """Records from ReasonSeg ``(json path, image path)`` pairs (see :func:`find_reasonseg_files`).

    With a grounding ``dialect`` the prompt is the family's own instruction and
    ``metadata["dialect_answer"]`` the ground-truth box written in it (the ``solution`` stays
    in ``coords``).

    ``texts="all"`` makes one record per query text, ``"first"`` only from the first.
    ``num_samples`` keeps a seeded sample of that many records (in input order).
    """
    if texts not in ("all", "first"):
        raise ValueError(f"texts must be 'all' or 'first', got {texts!r}")
    if dialect is not None:
        get_dialect(dialect)  # unknown names are a caller error
    report = BuildReport()
    records: list[Record] = []
    for json_path, image_path in files:
        try:
            data, targets, ignores, size = _parse_file(json_path, image_path)
            xs = [p[0] for poly in targets for p in poly]
            ys = [p[1] for poly in targets for p in poly]
            w, h = size
            box = [max(min(xs), 0.0), max(min(ys), 0.0), min(max(xs), w), min(max(ys), h)]
            text = format_grounding_answer(box, coords, size)
        except ValueError as exc:
            report.skipped.append(Skipped(json_path, str(exc)))
            continue
        queries = [
            t.strip() for t in (data["text"] if isinstance(data["text"], list) else [data["text"]])
        ]
        queries = [q for q in queries if q]
        if texts == "first":
            queries = queries[:1]
        for qi, query in enumerate(queries):
            problem = grounding_prompt(query)
            if dialect is not None:
                problem = dialect_prompt(dialect, query)
            elif coords != "norm1000":
                problem = problem.replace(
                    " format.", f" format. x1,y1,x2,y2 are {_RANGES[coords]}.", 1
                )
            meta = {
                "source": "reasonseg",
                "json": json_path,
                "query": query,
                "query_index": qi,
                "is_sentence": bool(data.get("is_sentence", False)),
                "box_xyxy_pixel": box,
                "polygons": targets,
                "ignore_polygons": ignores,
                "image_size": list(size),
                "coords": coords,
                "seed": seed,
            }
            if dialect is not None:
                meta["dialect"] = dialect
                meta["dialect_answer"] = answer(
                    format_dialect_answer([box], dialect, image_size=size, label=query)
                )
            records.append(Record(image_path, problem, answer(text), "grounding", meta))
    if num_samples is not None:
        check_positive_int("num_samples", num_samples)
        if len(records) < num_samples:
            report.shortfalls["records"] = (num_samples, len(records))
        keep = sorted(
            derived_rng(seed, "grounding").sample(
                range(len(records)), min(num_samples, len(records))
            )
        )
        records = [records[i] for i in keep]
    report.records = records
    return report


_RANGES = {
    "normalized": "between 0 and 1, relative to the image size",
    "pixel": "in pixels of the image, integer",
    "qwen25vl": "in pixels of the image, integer",
}
