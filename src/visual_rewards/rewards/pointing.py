"""The pointing reward: a point inside the target region earns 1 (beyond the paper).

The ``<answer>`` block is read with :func:`~visual_rewards.parse_points` (``point_2d`` JSON,
``(x, y)``, ``[x, y]``) in any coordinate space of the parser; the target is a box or, with
the ``geometry`` extra (shapely), a polygon (:class:`~visual_rewards.targets.PointTarget`).
Both are compared in normalised image coordinates (``x`` along the width, ``y`` along the
height, each in ``[0, 1]``); points on the region's edge count as inside.

Components:

``"accuracy"``
    Whether the written points are inside the target, set by ``multi_point``: ``"all"`` (the
    default: 1 when every written point is inside, invalid ones -- unreadable or outside the
    image -- counting as outside, so an extra point never raises the reward), ``"mean"`` (the
    fraction of written points inside), ``"first"`` (only the first valid point is scored, later
    ones are ignored), or ``"single"`` (1 when exactly one point is written and it is inside;
    more than one point earns 0).
``"distance"`` (only with ``distance_scale``)
    ``max(0, 1 - d / distance_scale)`` where ``d`` is the Euclidean distance, in normalised
    units, from the scored point to the target (0 inside); combined like ``accuracy`` (the
    worst point under ``"all"``, the mean under ``"mean"``).
``"format"``
    the shared format component (``format_rule``, see :mod:`visual_rewards.rewards.base`).

A truncated answer is still read (complete points are recovered), but its format is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from visual_rewards.geometry.coords import CoordConfig
from visual_rewards.geometry.points import (
    check_polygon,
    point_box_distance,
    points_in_box,
    points_in_polygon,
)
from visual_rewards.io.images import image_sizes
from visual_rewards.parsing.answers import DEFAULT_MAX_ITEMS, Points, parse_points
from visual_rewards.rewards.base import CoordOptions, Reward, RewardResult, check_lengths
from visual_rewards.targets import PointTarget, point_target

__all__ = ["PointConfig", "PointReward", "PointingConfig", "PointingReward"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PointingConfig(CoordOptions):
    """Options of :class:`PointingReward`, besides the shared ones
    (:class:`~visual_rewards.rewards.base.CoordOptions`; ``gt_coords`` is used when the ground
    truth does not name its space).

    Attributes:
        image_size: ``(width, height)`` used when neither the ground truth nor an
            ``image_size`` column gives one (needed by ``"pixel"``/``"qwen25vl"``).
        multi_point: ``"all"``, ``"mean"``, ``"first"`` or ``"single"`` (module docstring).
        distance_scale: adds the ``"distance"`` component, in normalised units; None = off.
        accuracy_weight, distance_weight, format_weight: weights of the components in ``total``.
        max_points: at most this many points are read; more sets ``overflow`` and earns 0.
    """

    image_size: tuple[int, int] | None = None
    multi_point: Literal["all", "first", "mean", "single"] = "all"
    distance_scale: float | None = None
    accuracy_weight: float = 1.0
    distance_weight: float = 1.0
    max_points: int = DEFAULT_MAX_ITEMS


@dataclass(frozen=True)
class _Region:
    box: FloatArray | None  # (4,) normalised xyxy
    polygon: FloatArray | None  # (V, 2) normalised
    answer_space: CoordConfig


class PointingReward(Reward):
    """Reward for pointing inside the target box or polygon.

    The ground truth (``solution``) is a box ``[x1, y1, x2, y2]`` or a dict with ``box`` or
    ``polygon`` and optionally ``coords`` and ``image_size``; an ``image_size`` dataset column
    (``(width, height)`` per row) is used when the ground truth has none.

    >>> r = PointingReward()
    >>> r.score(['<think>the cup</think><answer>{"point_2d": [250, 500]}</answer>',
    ...          "<think>the cup</think><answer>(900, 900)</answer>"],
    ...         [[200, 400, 300, 600], [200, 400, 300, 600]]).components["accuracy"]
    array([1., 0.])
    >>> PointingReward(coords="pixel", distance_scale=0.5).score(
    ...     ["<think>t</think><answer>[10, 50]</answer>"],
    ...     [{"box": [0.2, 0.4, 0.3, 0.6], "coords": "normalized", "image_size": [100, 100]}],
    ... ).components["distance"]
    array([0.8])
    """

    task: ClassVar[str] = "pointing"
    presets: ClassVar[dict[str, PointingConfig]] = {"default": PointingConfig()}
    extra_columns: ClassVar[tuple[str, ...]] = ("image_size", "image", "images")

    config: PointingConfig

    def _check_options(self) -> None:
        cfg = self.config
        if cfg.multi_point not in ("all", "first", "mean", "single"):
            raise ValueError(
                f"multi_point must be 'all', 'first', 'mean' or 'single', got {cfg.multi_point!r}"
            )
        if cfg.distance_scale is not None and not (
            isinstance(cfg.distance_scale, (int, float))
            and np.isfinite(cfg.distance_scale)
            and cfg.distance_scale > 0
        ):
            raise ValueError(
                f"distance_scale must be a positive number, got {cfg.distance_scale!r}"
            )
        if not (isinstance(cfg.max_points, int) and 1 <= cfg.max_points <= DEFAULT_MAX_ITEMS):
            raise ValueError(
                f"max_points must be an int in [1, {DEFAULT_MAX_ITEMS}], got {cfg.max_points!r}"
            )

    def _region(self, raw: Any, column_size: tuple[int, int] | None) -> _Region:
        """Validate one ground truth and normalise it; ``ValueError`` says what is wrong."""
        cfg = self.config
        target: PointTarget = point_target(raw)
        size = target.image_size or column_size or cfg.image_size
        options = (size, cfg.min_pixels, cfg.max_pixels)
        gt_space = CoordConfig.from_options(target.coords or cfg.gt_coords or cfg.coords, *options)
        answer_space = CoordConfig.from_options(cfg.coords, *options)
        sx, sy = gt_space.scale()
        if target.box is not None:
            box = np.asarray(target.box, dtype=np.float64) / np.array([sx, sy, sx, sy])
            return _Region(box, None, answer_space)
        assert target.polygon is not None
        polygon = np.asarray(target.polygon, dtype=np.float64).reshape(-1, 2) / np.array([sx, sy])
        check_polygon(polygon)
        return _Region(None, polygon, answer_space)

    def _row(self, pts: Points, region: _Region) -> tuple[float, float]:
        """``(accuracy, distance)`` of one row's points against its region."""
        cfg = self.config
        mode = cfg.multi_point
        n_written = len(pts) + pts.n_invalid
        if len(pts) == 0 or pts.overflow or (mode == "single" and n_written > 1):
            return 0.0, 0.0
        if mode == "all" and pts.n_invalid:
            return 0.0, 0.0  # an unreadable point is a point outside
        points = pts.points[:1] if mode in ("first", "single") else pts.points
        if region.box is not None:
            inside = points_in_box(points, region.box)
            dist = point_box_distance(points, region.box)
        else:
            assert region.polygon is not None
            inside, dist = points_in_polygon(points, region.polygon)
        shaped = np.clip(1.0 - dist / (cfg.distance_scale or 1.0), 0.0, 1.0)
        if mode == "all":  # the worst point counts: an extra point never raises the reward
            return float(inside.min()), float(shaped.min())
        denom = n_written if mode == "mean" else 1
        return float(inside.sum()) / denom, float(shaped.sum()) / denom

    def score(
        self, completions: Sequence[Any], solutions: Sequence[Any] | None = None, **columns: Any
    ) -> RewardResult:
        """Score ``B`` completions against ``B`` target regions.

        Args:
            completions: ``B`` completions.
            solutions: ``B`` ground truths (see the class docstring).
            image_size: optional ``B`` ``(width, height)`` pairs (a dataset column), or the
                ``image``/``images`` column to read them from.

        Returns ``components["accuracy"]``, ``components["format"]`` and, with
        ``distance_scale``, ``components["distance"]``, each ``(B,)`` in ``[0, 1]``.
        """
        n = check_lengths(completions, solutions)
        assert solutions is not None
        sizes = image_sizes(columns, n) or [None] * n
        parsed, fmt = self.read_completions(completions)
        accuracy, distance = np.zeros(n), np.zeros(n)
        failed = np.zeros(n, dtype=bool)
        missing = np.zeros(n, dtype=bool)
        for row, raw in enumerate(solutions):
            try:
                region = self._region(raw, sizes[row])
            except ValueError as exc:
                self.malformed(row, str(exc))
                missing[row] = True
                continue
            pts = parse_points(
                parsed[row].answer, region.answer_space, max_items=self.config.max_points
            )
            failed[row] = pts.failed
            accuracy[row], distance[row] = self._row(pts, region)
        components = {"accuracy": accuracy, "format": fmt}
        if self.config.distance_scale is not None:
            components = {"accuracy": accuracy, "distance": distance, "format": fmt}
        return self.result(components, failed, missing)


#: The names before the task was called ``pointing`` everywhere (kept for one release).
PointReward = PointingReward
PointConfig = PointingConfig
