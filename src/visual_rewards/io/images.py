"""Image sizes, ``(width, height)`` in pixels, from in-memory objects and dataset columns.

The ``"pixel"`` and ``"qwen25vl"`` coordinate spaces need each image's size. Trainers pass
images as dataset columns (TRL's ``image``, one image per row, or ``images``, a list per row),
and datasets may carry an ``image_size`` column instead. Nothing here opens a file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "IMAGE_COLUMNS",
    "IMAGE_SIZE_COLUMN",
    "image_size",
    "image_sizes",
    "positive_int",
]

#: Dataset columns holding images, in the order they are looked for: TRL's ``image`` (one image
#: per row) and ``images`` (a list per row; the first image counts).
IMAGE_COLUMNS: tuple[str, ...] = ("image", "images")
#: The column of ``(width, height)`` sizes that rewards declare in ``extra_columns``.
IMAGE_SIZE_COLUMN = "image_size"


def positive_int(value: Any) -> int | None:
    """``value`` as a positive int (an int, a numpy integer, or an integral float), or None.

    >>> positive_int(3), positive_int(np.int64(3)), positive_int(3.0), positive_int(True)
    (3, 3, 3, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (int, np.integer)) and value > 0:
        return int(value)
    return None


def _pair(width: Any, height: Any) -> tuple[int, int] | None:
    w, h = positive_int(width), positive_int(height)
    return None if w is None or h is None else (w, h)


def image_size(image: Any) -> tuple[int, int] | None:
    """Return ``(width, height)`` of an image object, or None when it cannot be told.

    Accepts a PIL image (``.size``), anything with integer ``.width``/``.height``, an array of
    shape ``(H, W)`` or ``(H, W, C)``, a dict with ``"width"``/``"height"``, or a list of these
    (TRL's ``images`` column: the first one counts). Never opens a file: a path gives None.

    >>> from types import SimpleNamespace
    >>> image_size(SimpleNamespace(size=(640, 480)))
    (640, 480)
    >>> image_size(np.zeros((480, 640, 3)))
    (640, 480)
    >>> image_size([{"width": 64, "height": 32}]), image_size("cat.jpg"), image_size(None)
    ((64, 32), None, None)
    """
    if image is None or isinstance(image, (str, bytes)):
        return None
    if isinstance(image, Mapping):
        return _pair(image.get("width"), image.get("height"))
    if isinstance(image, np.ndarray):
        return _pair(image.shape[1], image.shape[0]) if image.ndim in (2, 3) else None
    size = getattr(image, "size", None)
    if isinstance(size, tuple) and len(size) == 2:
        return _pair(*size)
    if hasattr(image, "width") and hasattr(image, "height"):
        return _pair(image.width, image.height)
    if isinstance(image, Sequence):
        return image_size(image[0]) if len(image) > 0 else None
    return None


def _size_value(value: Any) -> tuple[int, int] | None:
    """One cell of an ``image_size`` column: a ``(width, height)`` pair, or None."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and len(value) == 2:
        return _pair(value[0], value[1])
    return None


def image_sizes(
    columns: Mapping[str, Any], n: int | None = None
) -> list[tuple[int, int] | None] | None:
    """``(width, height)`` per row, or None when the columns hold no sizes at all.

    Read from the ``image_size`` column (pairs) when present, else from the first image column
    present (:data:`IMAGE_COLUMNS`, see :func:`image_size`). A row whose size cannot be told
    gives None in its place.

    Raises:
        ValueError: ``n`` is given and the column does not have ``n`` rows (a caller error).

    >>> from types import SimpleNamespace
    >>> image_sizes({"image": [SimpleNamespace(size=(8, 4)), None]})
    [(8, 4), None]
    >>> image_sizes({"image_size": [(640, 480), "?"]}, 2)
    [(640, 480), None]
    >>> image_sizes({"solution": ["x"]}) is None
    True
    """
    for name in (IMAGE_SIZE_COLUMN, *IMAGE_COLUMNS):
        values = columns.get(name)
        if values is None or isinstance(values, (str, bytes)):
            continue
        if n is not None and len(values) != n:
            raise ValueError(
                f"expected {n} rows in the {name!r} column (one per completion), got {len(values)}"
            )
        read = _size_value if name == IMAGE_SIZE_COLUMN else image_size
        return [read(v) for v in values]
    return None
