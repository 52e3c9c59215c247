"""Renderers of the grounding dialects: normalised boxes and points -> a dialect's text.

The inverse of :mod:`~visual_rewards.parsing.dialect_readers`, with each family's own
quantisation (the rounding its processor or post-processor uses), so that reading a rendered
answer gives back the boxes within :func:`quantum`. The dataset builders write ground-truth
answers with these functions, and the round-trip tests use them.

>>> render_boxes("paligemma", [[0.25, 0.5, 0.75, 1.0]], ["cat"])
'<loc0512><loc0256><loc1023><loc0767> cat'
>>> render_boxes("florence2", [[0.25, 0.5, 0.75, 1.0]], ["cat"])
'cat<loc_250><loc_500><loc_750><loc_999>'
>>> render_points("gemini", [[0.25, 0.5]], ["cup"])
'[{"point": [500, 250], "label": "cup"}]'
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from visual_rewards.geometry.coords import CoordConfig
from visual_rewards.parsing.dialect_readers import KOSMOS2_GRID
from visual_rewards.parsing.dialects import Dialect, get_dialect

__all__ = ["quantum", "render_boxes", "render_points"]


def _scale_of(
    dialect: Dialect, image_size: tuple[int, int] | None, **bounds: int | None
) -> tuple[float, float]:
    assert dialect.coords is not None
    return CoordConfig.from_options(
        dialect.coords, image_size, bounds.get("min_pixels"), bounds.get("max_pixels")
    ).scale()


def quantum(
    dialect: str,
    image_size: tuple[int, int] | None = None,
    *,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
) -> float:
    """The largest error (in normalised units) that rendering then reading adds to a value.

    >>> quantum("kosmos2"), quantum("paligemma") == 0.5 / 1023
    (0.03125, True)
    """
    d = get_dialect(dialect)
    if d.scale == "patch_grid":
        return 1.0 / KOSMOS2_GRID  # corners move to cell centres or edges
    if d.scale == "bins1024":
        return 0.5 / 1023
    if d.scale == "bins1000":
        return 0.5 / 1000  # floor into a bin, read back its centre
    if d.scale == "percent":
        return 0.05 / 100  # one decimal
    if d.scale == "norm999":
        return 0.5 / 999
    if d.name == "glm4v":
        return 1.0 / 1000  # 0-999: a value at the far edge is written as 999
    if d.coords is not None:
        sx, sy = _scale_of(d, image_size, min_pixels=min_pixels, max_pixels=max_pixels)
        return 0.5 / min(sx, sy)
    return 0.5 / 1000


def _ints(values: npt.NDArray[np.float64], factor: float, top: int) -> list[int]:
    return [min(max(round(float(v) * factor), 0), top) for v in values]


def _label_of(labels: Sequence[str | None] | None, k: int) -> str | None:
    return None if labels is None else labels[k]


def _json_items(key: str, rows: list[list[int]], labels: Sequence[str | None] | None) -> str:
    items: list[dict[str, object]] = []
    for k, row in enumerate(rows):
        item: dict[str, object] = {key: row}
        label = _label_of(labels, k)
        if label is not None:
            item["label"] = label
        items.append(item)
    return json.dumps(items, ensure_ascii=False)


def _kosmos2_indices(box: npt.NDArray[np.float64]) -> tuple[int, int]:
    """transformers ``coordinate_to_patch_index``: floor of the top-left corner, ceil - 1 of
    the bottom-right one (models/kosmos2/processing_kosmos2.py), kept on the grid."""
    g = KOSMOS2_GRID
    x1, y1, x2, y2 = (float(v) for v in box)
    ul_x, ul_y = min(max(math.floor(x1 * g), 0), g - 1), min(max(math.floor(y1 * g), 0), g - 1)
    lr_x, lr_y = (
        min(max(math.ceil(x2 * g - 1), 0), g - 1),
        min(max(math.ceil(y2 * g - 1), 0), g - 1),
    )
    return ul_y * g + ul_x, lr_y * g + lr_x


def _box_text(
    d: Dialect,
    box: npt.NDArray[np.float64],
    label: str | None,
    score: float | None,
    scale: tuple[float, float],
) -> str:
    """One box in dialect ``d`` (a dialect of the token readers or of the general reader)."""
    tag = "" if label is None else label
    if d.name == "paligemma":  # big_vision: round(box * 1023), y first
        x1, y1, x2, y2 = _ints(box, 1023, 1023)
        return f"<loc{y1:04d}><loc{x1:04d}><loc{y2:04d}><loc{x2:04d}> {tag}".rstrip()
    if d.name == "florence2":  # Florence2PostProcessor.quantize: floor, clamp to 999
        q = [min(max(math.floor(float(v) * 1000), 0), 999) for v in box]
        return f"{tag}" + "".join(f"<loc_{v}>" for v in q)
    if d.name == "kosmos2":
        ul, lr = _kosmos2_indices(box)
        phrase = "" if label is None else f"<phrase>{label}</phrase>"
        return f"{phrase}<object><patch_index_{ul:04d}><patch_index_{lr:04d}></object>"
    if d.name == "molmo":
        p1, q1, p2, q2 = (round(float(v) * 100, 1) for v in box)  # percent, one decimal
        return f'<points x1="{p1:.1f}" y1="{q1:.1f}" x2="{p2:.1f}" y2="{q2:.1f}" alt="{tag}">{tag}</points>'
    if d.name == "deepseek_vl2":
        x1, y1, x2, y2 = _ints(box, 999, 999)
        return f"<|ref|>{tag}<|/ref|><|det|>[[{x1}, {y1}, {x2}, {y2}]]<|/det|>"
    if d.name == "glm4v":
        x1, y1, x2, y2 = _ints(box, 1000, 999)
        return f"<|begin_of_box|>[[{x1}, {y1}, {x2}, {y2}]]<|end_of_box|>"
    if d.coords is None:  # InternVL, MiniCPM-V: 0-1000 of the image side
        scale = (1000.0, 1000.0)
    x1, y1, x2, y2 = _ints(box * np.array([scale[0], scale[1]] * 2), 1.0, 1 << 30)
    if d.name == "internvl":
        ref = "" if label is None else f"<ref>{label}</ref>"
        return f"{ref}<box>[[{x1}, {y1}, {x2}, {y2}]]</box>"
    if d.name == "minicpmv":
        ref = "" if label is None else f"<ref>{label}</ref>"
        return f"{ref}<box>{x1} {y1} {x2} {y2}</box>"
    if d.name == "qwen2vl":
        ref = "" if label is None else f"<|object_ref_start|>{label}<|object_ref_end|>"
        return f"{ref}<|box_start|>({x1},{y1}),({x2},{y2})<|box_end|>"
    # visual_rft
    conf = "" if score is None else f", 'Confidence': {score:.2f}"
    return f"{{'Position': [{x1}, {y1}, {x2}, {y2}]{conf}}}"


def render_boxes(
    dialect: str,
    boxes: npt.ArrayLike,
    labels: Sequence[str | None] | None = None,
    scores: Sequence[float] | None = None,
    *,
    image_size: tuple[int, int] | None = None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
) -> str:
    """Write boxes ``(N, 4)`` (normalised xyxy, ``x`` along the width) as ``dialect`` does.

    Args:
        dialect: a name of :data:`~visual_rewards.parsing.dialects.DIALECTS`.
        boxes: ``(N, 4)`` normalised xyxy in ``[0, 1]``.
        labels: ``N`` labels (or None); dialects that attach no labels ignore them.
        scores: ``N`` confidences, written by ``visual_rft`` only (two decimals).
        image_size, min_pixels, max_pixels: ``(width, height)`` and processor bounds, for the
            dialects in pixels (``qwen25vl``).

    Raises:
        ValueError: the dialect writes no boxes, or needs an image size that is missing.

    >>> render_boxes("visual_rft", [[0.1, 0.2, 0.3, 0.4]], scores=[0.9])
    "[{'Position': [100, 200, 300, 400], 'Confidence': 0.90}]"
    >>> render_boxes("gemini", [[0.1, 0.2, 0.3, 0.4]], ["cat"])
    '[{"box_2d": [200, 100, 400, 300], "label": "cat"}]'
    """
    d = get_dialect(dialect)
    if not d.reads_boxes:
        raise ValueError(f"dialect {dialect!r} writes no boxes")
    arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scale = (
        _scale_of(d, image_size, min_pixels=min_pixels, max_pixels=max_pixels)
        if d.coords
        else (1.0, 1.0)
    )
    if d.name in ("qwen25vl", "qwen3vl", "gemini"):
        rows = [_ints(b * np.array([scale[0], scale[1]] * 2), 1.0, 1 << 30) for b in arr]
        if d.name == "gemini":
            rows = [[r[1], r[0], r[3], r[2]] for r in rows]
        return _json_items("box_2d" if d.name == "gemini" else "bbox_2d", rows, labels)
    parts = [
        _box_text(d, box, _label_of(labels, k), None if scores is None else scores[k], scale)
        for k, box in enumerate(arr)
    ]
    if d.name == "visual_rft":
        return "[" + ", ".join(parts) + "]"
    if d.name == "paligemma":
        return " ; ".join(parts)
    return "".join(parts) if d.name != "glm4v" else "\n".join(parts)


def render_points(
    dialect: str,
    points: npt.ArrayLike,
    labels: Sequence[str | None] | None = None,
    *,
    image_size: tuple[int, int] | None = None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
) -> str:
    """Write points ``(N, 2)`` (normalised ``(x, y)``) as ``dialect`` does.

    Raises:
        ValueError: the dialect writes no points, or needs an image size that is missing.

    >>> render_points("molmo", [[0.615, 0.406]], ["cup"])
    '<point x="61.5" y="40.6" alt="cup">cup</point>'
    """
    d = get_dialect(dialect)
    if not d.reads_points:
        raise ValueError(f"dialect {dialect!r} writes no points")
    arr = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if d.name == "molmo":
        out = []
        for k, (x, y) in enumerate(arr):
            tag = _label_of(labels, k) or ""
            out.append(
                f'<point x="{round(x * 100, 1):.1f}" y="{round(y * 100, 1):.1f}" alt="{tag}">{tag}</point>'
            )
        return "".join(out)
    if d.name == "glm4v":
        return "\n".join(
            f"<|begin_of_box|>[{x}, {y}]<|end_of_box|>"
            for x, y in (_ints(p, 1000, 999) for p in arr)
        )
    sx, sy = _scale_of(d, image_size, min_pixels=min_pixels, max_pixels=max_pixels)
    rows = [_ints(p * np.array([sx, sy]), 1.0, 1 << 30) for p in arr]
    if d.name == "gemini":
        return _json_items("point", [[r[1], r[0]] for r in rows], labels)
    return _json_items("point_2d", rows, labels)
