"""Point geometry (geometry/points.py): points against boxes and polygons."""

from __future__ import annotations

import math

import numpy as np
import pytest

from visual_rewards.geometry.points import (
    check_polygon,
    point_box_distance,
    points_in_box,
    points_in_polygon,
)


def test_points_in_box_and_distance() -> None:
    pts = np.array([[0.25, 0.5], [0.2, 0.4], [0.3, 0.6], [0.1, 0.5], [0.31, 0.61]])
    box = np.array([0.2, 0.4, 0.3, 0.6])
    assert points_in_box(pts, box).tolist() == [True, True, True, False, False]
    np.testing.assert_allclose(point_box_distance(pts, box), [0, 0, 0, 0.1, math.hypot(0.01, 0.01)])
    assert points_in_box(np.zeros((0, 2)), box).shape == (0,)
    assert point_box_distance(np.zeros((0, 2)), box).shape == (0,)


def test_points_in_polygon_and_validity() -> None:
    pytest.importorskip("shapely")
    triangle = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    inside, dist = points_in_polygon(np.array([[0.1, 0.1], [1.0, 1.0], [0.5, 0.0]]), triangle)
    assert inside.tolist() == [True, False, True]  # the edge counts as inside
    assert dist[0] == 0.0 and dist[1] == pytest.approx(math.sqrt(0.5))
    check_polygon(triangle)
    with pytest.raises(ValueError, match="not valid"):
        check_polygon(np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]))  # a bow tie
