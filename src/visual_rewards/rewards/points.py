"""The pointing reward: a point inside the target region earns 1 (DESIGN §4.6, beyond the paper).

The ``<answer>`` block is read with :func:`~visual_rewards.parse_points` (``point_2d`` JSON,
``(x, y)``, ``[x, y]``) in any coordinate space of the parser; the target is a box or, with
the ``geometry`` extra (shapely), a polygon (:class:`~visual_rewards.targets_misc.PointTarget`).
Both are compared in normalised image coordinates (``x`` along the width, ``y`` along the
height, each in ``[0, 1]``); points on the region's edge count as inside.

Components:

``"accuracy"``
    The fraction of the written points that are inside the target, set by ``multi_point``:
    ``"mean"`` (the default: every written point counts, invalid ones -- unreadable or outside
    the image -- as misses, so spraying points does not pay), ``"first"`` (only the first valid
    point is scored, later ones are ignored), or ``"single"`` (1 when exactly one point is
    written and it is inside; more than one point earns 0).
``"distance"`` (only with ``distance_scale``)
    ``max(0, 1 - d / distance_scale)`` where ``d`` is the Euclidean distance, in normalised
    units, from the scored point to the target (0 inside); averaged like ``accuracy``.
``"format"``
    the strict format of DESIGN §4.1, or the paper's regex with ``format_rule="visual_rft"``.

A truncated answer is still read (complete points are recovered), but its format is 0.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from visual_rewards.geometry.coords import CoordConfig, CoordSpace
from visual_rewards.parsing import completion_text, parse_completion, parse_points
from visual_rewards.rewards.base import Reward, RewardResult, check_lengths
from visual_rewards.rewards.format import visual_rft_format_ok
from visual_rewards.targets_misc import PointTarget, point_target

__all__ = ["PointConfig", "PointReward", "point_box_distance", "points_in_box"]

_GEOMETRY_HINT = "polygon targets need shapely: pip install visual-rewards[geometry]"


def points_in_box(points: npt.ArrayLike, box: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Which points ``(N, 2)`` ``(x, y)`` lie in the box ``(4,)`` xyxy (edges included) -> ``(N,)``.

    >>> points_in_box([[0.5, 0.5], [0.1, 0.5], [0.2, 0.2]], [0.2, 0.2, 0.6, 0.6])
    array([ True, False,  True])
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x1, y1, x2, y2 = np.asarray(box, dtype=np.float64).reshape(4)
    inside: npt.NDArray[np.bool_] = (
        (p[:, 0] >= x1) & (p[:, 0] <= x2) & (p[:, 1] >= y1) & (p[:, 1] <= y2)
    )
    return inside


def point_box_distance(points: npt.ArrayLike, box: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Euclidean distance of points ``(N, 2)`` to the box ``(4,)`` xyxy (0 inside) -> ``(N,)``.

    >>> point_box_distance([[0.5, 0.5], [0.0, 0.5], [0.9, -0.2]], [0.2, 0.2, 0.6, 0.6])
    array([0. , 0.2, 0.5])
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x1, y1, x2, y2 = np.asarray(box, dtype=np.float64).reshape(4)
    dx = np.maximum(np.maximum(x1 - p[:, 0], p[:, 0] - x2), 0.0)
    dy = np.maximum(np.maximum(y1 - p[:, 1], p[:, 1] - y2), 0.0)
    out: npt.NDArray[np.float64] = np.hypot(dx, dy)
    return out


def _polygon_inside_distance(
    points: npt.NDArray[np.float64], polygon: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """(inside, distance) of points ``(N, 2)`` to a polygon ``(V, 2)``, both normalised."""
    try:
        import shapely
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(_GEOMETRY_HINT) from None
    poly = shapely.Polygon(polygon)
    if points.shape[0] == 0:
        return np.zeros(0, dtype=bool), np.zeros(0)
    inside = np.asarray(shapely.intersects_xy(poly, points[:, 0], points[:, 1]), dtype=bool)
    dist = np.asarray(shapely.distance(poly, shapely.points(points)), dtype=np.float64)
    return inside, np.where(inside, 0.0, dist)


def _check_polygon(polygon: npt.NDArray[np.float64]) -> None:
    try:
        import shapely
    except ImportError:
        raise ImportError(_GEOMETRY_HINT) from None
    poly = shapely.Polygon(polygon)
    if not poly.is_valid or poly.area <= 0:
        raise ValueError("polygon is not valid (self-intersecting or zero area)")


@dataclass(frozen=True)
class PointConfig:
    """Options of :class:`PointReward`.

    Attributes:
        coords: the space the model writes points in (``"norm1000"``, ``"normalized"``,
            ``"pixel"``, ``"qwen25vl"``).
        gt_coords: the space of the ground truth when it does not say; None = ``coords``.
        image_size: ``(width, height)`` used when neither the ground truth nor an
            ``image_size`` column gives one (needed by ``"pixel"``/``"qwen25vl"``).
        min_pixels, max_pixels: the Qwen2.5-VL processor's bounds (``"qwen25vl"``); None =
            the processor's defaults.
        multi_point: ``"mean"``, ``"first"`` or ``"single"`` (module docstring).
        distance_scale: adds the ``"distance"`` component, in normalised units; None = off.
        format_rule: ``"strict"`` or ``"visual_rft"``.
        accuracy_weight, distance_weight, format_weight: weights of the components in ``total``.
        strict: raise ``ValueError`` on a malformed ground truth instead of warning.
    """

    coords: CoordSpace = "norm1000"
    gt_coords: CoordSpace | None = None
    image_size: tuple[int, int] | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    multi_point: Literal["first", "mean", "single"] = "mean"
    distance_scale: float | None = None
    format_rule: Literal["strict", "visual_rft"] = "strict"
    accuracy_weight: float = 1.0
    distance_weight: float = 1.0
    format_weight: float = 1.0
    strict: bool = False


@dataclass(frozen=True)
class _Region:
    box: npt.NDArray[np.float64] | None  # (4,) normalised xyxy
    polygon: npt.NDArray[np.float64] | None  # (V, 2) normalised
    answer_space: CoordConfig


class PointReward(Reward):
    """Reward for pointing inside the target box or polygon.

    The ground truth (``solution``) is a box ``[x1, y1, x2, y2]`` or a dict with ``box`` or
    ``polygon`` and optionally ``coords`` and ``image_size``; an ``image_size`` dataset column
    (``(width, height)`` per row) is used when the ground truth has none.

    >>> r = PointReward()
    >>> r.score(['<think>the cup</think><answer>{"point_2d": [250, 500]}</answer>',
    ...          "<think>the cup</think><answer>(900, 900)</answer>"],
    ...         [[200, 400, 300, 600], [200, 400, 300, 600]]).components["accuracy"]
    array([1., 0.])
    >>> PointReward(coords="pixel", distance_scale=0.5).score(
    ...     ["<think>t</think><answer>[10, 50]</answer>"],
    ...     [{"box": [0.2, 0.4, 0.3, 0.6], "coords": "normalized", "image_size": [100, 100]}],
    ... ).components["distance"]
    array([0.8])
    """

    task: ClassVar[str] = "pointing"
    presets: ClassVar[dict[str, PointConfig]] = {"default": PointConfig()}
    extra_columns: ClassVar[tuple[str, ...]] = ("image_size",)

    config: PointConfig

    def _check_config(self) -> None:
        cfg = self.config
        CoordConfig(cfg.coords, cfg.image_size or (1, 1))  # validates the space name
        if cfg.gt_coords is not None:
            CoordConfig(cfg.gt_coords, cfg.image_size or (1, 1))
        if cfg.multi_point not in ("first", "mean", "single"):
            raise ValueError(
                f"multi_point must be 'first', 'mean' or 'single', got {cfg.multi_point!r}"
            )
        if cfg.distance_scale is not None and not (
            isinstance(cfg.distance_scale, (int, float))
            and math.isfinite(cfg.distance_scale)
            and cfg.distance_scale > 0
        ):
            raise ValueError(
                f"distance_scale must be a positive number, got {cfg.distance_scale!r}"
            )
        if cfg.format_rule not in ("strict", "visual_rft"):
            raise ValueError(
                f"format_rule must be 'strict' or 'visual_rft', got {cfg.format_rule!r}"
            )
        for key in ("accuracy_weight", "distance_weight", "format_weight"):
            value = getattr(cfg, key)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{key} must be a finite number >= 0, got {value!r}")

    def _space(self, space: CoordSpace, image_size: tuple[int, int] | None) -> CoordConfig:
        cfg = self.config
        kwargs: dict[str, Any] = {}
        if cfg.min_pixels is not None:
            kwargs["min_pixels"] = cfg.min_pixels
        if cfg.max_pixels is not None:
            kwargs["max_pixels"] = cfg.max_pixels
        return CoordConfig(space, image_size, **kwargs)

    def _region(self, raw: Any, column_size: Any) -> _Region:
        """Validate one ground truth and normalise it; ``ValueError`` says what is wrong."""
        cfg = self.config
        target: PointTarget = point_target(raw)
        size = target.image_size
        if size is None and column_size is not None:
            try:
                w, h = column_size
                size = (int(w), int(h))
            except (TypeError, ValueError):
                raise ValueError(f"bad image_size column value {column_size!r}") from None
        size = size or cfg.image_size
        gt_space = self._space(target.coords or cfg.gt_coords or cfg.coords, size)
        answer_space = self._space(cfg.coords, size)
        sx, sy = gt_space.scale()
        if target.box is not None:
            box = np.asarray(target.box, dtype=np.float64) / np.array([sx, sy, sx, sy])
            return _Region(box, None, answer_space)
        assert target.polygon is not None
        polygon = np.asarray(target.polygon, dtype=np.float64).reshape(-1, 2) / np.array([sx, sy])
        _check_polygon(polygon)
        return _Region(None, polygon, answer_space)

    def score(
        self, completions: Sequence[Any], solutions: Sequence[Any] | None = None, **columns: Any
    ) -> RewardResult:
        """Score ``B`` completions against ``B`` target regions.

        Args:
            completions: ``B`` completions.
            solutions: ``B`` ground truths (see the class docstring).
            image_size: optional ``B`` ``(width, height)`` pairs (a dataset column).

        Returns ``components["accuracy"]``, ``components["format"]`` and, with
        ``distance_scale``, ``components["distance"]``, each ``(B,)`` in ``[0, 1]``.
        """
        n = check_lengths(completions, solutions)
        assert solutions is not None
        cfg = self.config
        sizes = columns.get("image_size")
        if sizes is None:
            sizes = [None] * n
        elif len(sizes) != n:
            raise ValueError(f"expected {n} image sizes (one per completion), got {len(sizes)}")
        accuracy = np.zeros(n)
        distance = np.zeros(n)
        fmt = np.zeros(n)
        failed = np.zeros(n, dtype=bool)
        missing = np.zeros(n, dtype=bool)
        for row, (completion, raw, size) in enumerate(
            zip(completions, solutions, sizes, strict=True)
        ):
            parsed = parse_completion(completion)
            if cfg.format_rule == "visual_rft":
                fmt[row] = visual_rft_format_ok(completion_text(completion))
            else:
                fmt[row] = parsed.format_ok
            try:
                region = self._region(raw, size)
            except ValueError as exc:
                message = f"{self.__name__}: row {row}: malformed ground truth ({exc})"
                if cfg.strict:
                    raise ValueError(message) from None
                warnings.warn(f"{message}; the row scores None (not applicable)", stacklevel=2)
                missing[row] = True
                continue
            pts = parse_points(parsed.answer, region.answer_space)
            failed[row] = pts.failed
            n_written = len(pts) + pts.n_invalid
            if len(pts) == 0 or (cfg.multi_point == "single" and n_written > 1):
                continue
            points = pts.points[:1] if cfg.multi_point != "mean" else pts.points
            if region.box is not None:
                inside = points_in_box(points, region.box)
                dist = point_box_distance(points, region.box)
            else:
                assert region.polygon is not None
                inside, dist = _polygon_inside_distance(points, region.polygon)
            denom = n_written if cfg.multi_point == "mean" else 1
            accuracy[row] = float(inside.sum()) / denom
            if cfg.distance_scale is not None:
                shaped = np.clip(1.0 - dist / cfg.distance_scale, 0.0, 1.0)
                distance[row] = float(shaped.sum()) / denom
        components = {"accuracy": accuracy}
        total = cfg.accuracy_weight * accuracy + cfg.format_weight * fmt
        if cfg.distance_scale is not None:
            components["distance"] = distance
            total = total + cfg.distance_weight * distance
        components["format"] = fmt
        for values in (*components.values(), total):
            values[missing] = np.nan
        return RewardResult(total=total, components=components, parse_failed=failed)
