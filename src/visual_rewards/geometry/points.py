"""Point geometry: points against boxes and polygons, in one coordinate space.

Pure array functions. Points are ``(N, 2)`` ``(x, y)`` (``x`` along the width); boxes are
xyxy ``(4,)``; polygons are ``(V, 2)`` vertices. Polygon functions need shapely (the
``geometry`` extra) and import it on first use.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["check_polygon", "point_box_distance", "points_in_box", "points_in_polygon"]

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


def points_in_polygon(
    points: npt.NDArray[np.float64], polygon: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """``(inside (N,), distance (N,))`` of points ``(N, 2)`` ``(x, y)`` to a polygon ``(V, 2)``
    (edges count as inside; distance 0 inside). Needs shapely (the ``geometry`` extra).

    >>> inside, dist = points_in_polygon(np.array([[0.1, 0.1], [2.0, 0.0]]),
    ...                                  np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    >>> inside.tolist(), dist.tolist()
    ([True, False], [0.0, 1.0])
    """
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


def check_polygon(polygon: npt.NDArray[np.float64]) -> None:
    """Raise ``ValueError`` unless the polygon ``(V, 2)`` is valid with a positive area."""
    try:
        import shapely
    except ImportError:
        raise ImportError(_GEOMETRY_HINT) from None
    poly = shapely.Polygon(polygon)
    if not poly.is_valid or poly.area <= 0:
        raise ValueError("polygon is not valid (self-intersecting or zero area)")
