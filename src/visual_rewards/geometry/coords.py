"""Coordinate spaces that vision-language models write boxes and points in.

Every parser and reward works in one internal space: **normalised xyxy**, floats in
``[0, 1]`` with ``x`` along the image width and ``y`` along its height. The spaces a model
may write in are:

``"norm1000"``
    Integers 0–1000 relative to the image (Qwen2-VL, Qwen3-VL, the Visual-RFT prompt).
``"normalized"``
    Floats 0–1 relative to the image.
``"pixel"``
    Absolute pixels of the original image; needs ``image_size=(width, height)``.
``"qwen25vl"``
    Absolute pixels of the image *after* Qwen2.5-VL's smart-resize (see :func:`smart_resize`);
    needs the original ``image_size=(width, height)`` and the processor's pixel bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

__all__ = [
    "COORD_SPACES",
    "PIXEL_SPACES",
    "QWEN25VL_FACTOR",
    "QWEN25VL_MAX_PIXELS",
    "QWEN25VL_MIN_PIXELS",
    "CoordConfig",
    "CoordSpace",
    "denormalize_xyxy",
    "normalize_xyxy",
    "smart_resize",
]

CoordSpace = Literal["norm1000", "normalized", "pixel", "qwen25vl"]
#: The one list of coordinate-space names (for argparse ``choices``, validation, docs).
COORD_SPACES: tuple[str, ...] = get_args(CoordSpace)
#: The spaces that need the image's ``(width, height)``.
PIXEL_SPACES: tuple[str, ...] = ("pixel", "qwen25vl")

#: Qwen2.5-VL's vision patch size and spatial merge size: images are resized to multiples of 28.
QWEN25VL_FACTOR = 28
#: Defaults of ``Qwen2VLImageProcessor`` (transformers): 56*56 and 28*28*1280 pixels.
QWEN25VL_MIN_PIXELS = 56 * 56
QWEN25VL_MAX_PIXELS = 28 * 28 * 1280
_MAX_ASPECT_RATIO = 200


def _round_by_factor(value: float, factor: int) -> int:
    return round(value / factor) * factor


def _floor_by_factor(value: float, factor: int) -> int:
    return math.floor(value / factor) * factor


def _ceil_by_factor(value: float, factor: int) -> int:
    return math.ceil(value / factor) * factor


def smart_resize(
    height: int,
    width: int,
    factor: int = QWEN25VL_FACTOR,
    min_pixels: int = QWEN25VL_MIN_PIXELS,
    max_pixels: int = QWEN25VL_MAX_PIXELS,
) -> tuple[int, int]:
    """Return ``(resized_height, resized_width)`` as Qwen2-VL/Qwen2.5-VL's processor resizes.

    Both sides become multiples of ``factor`` (patch size 14 x merge size 2 = 28), the area is
    kept within ``[min_pixels, max_pixels]`` and the aspect ratio is preserved as closely as
    the rounding allows. Note the argument order: **height first**, as in the published rule.

    >>> smart_resize(480, 640)
    (476, 644)
    >>> smart_resize(1080, 1920)
    (728, 1316)
    >>> smart_resize(10, 10)
    (56, 56)

    Raises:
        ValueError: for non-positive sizes or an aspect ratio above 200.
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got height={height}, width={width}")
    if max(height, width) / min(height, width) > _MAX_ASPECT_RATIO:
        raise ValueError(
            f"absolute aspect ratio must be at most {_MAX_ASPECT_RATIO}, "
            f"got {max(height, width) / min(height, width):.1f}"
        )
    h_bar = max(factor, _round_by_factor(height, factor))
    w_bar = max(factor, _round_by_factor(width, factor))
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, _floor_by_factor(height / beta, factor))
        w_bar = max(factor, _floor_by_factor(width / beta, factor))
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = _ceil_by_factor(height * beta, factor)
        w_bar = _ceil_by_factor(width * beta, factor)
    return h_bar, w_bar


@dataclass(frozen=True)
class CoordConfig:
    """How to read coordinates a model wrote.

    Attributes:
        coords: one of ``"norm1000"``, ``"normalized"``, ``"pixel"``, ``"qwen25vl"``.
        image_size: ``(width, height)`` of the original image, in pixels; required by
            ``"pixel"`` and ``"qwen25vl"``, ignored otherwise.
        min_pixels, max_pixels: the Qwen2.5-VL processor's bounds (``"qwen25vl"`` only).
    """

    coords: CoordSpace = "norm1000"
    image_size: tuple[int, int] | None = None
    min_pixels: int = QWEN25VL_MIN_PIXELS
    max_pixels: int = QWEN25VL_MAX_PIXELS

    def __post_init__(self) -> None:
        # configs key caches on hot paths: hash once, not on every lookup
        object.__setattr__(
            self, "_hash", hash((self.coords, self.image_size, self.min_pixels, self.max_pixels))
        )
        if self.coords not in COORD_SPACES:
            raise ValueError(f"coords must be one of {COORD_SPACES}, got {self.coords!r}")
        if self.coords in PIXEL_SPACES:
            if self.image_size is None:
                raise ValueError(f"coords={self.coords!r} needs image_size=(width, height)")
            w, h = self.image_size
            if not (w > 0 and h > 0):
                raise ValueError(
                    f"image_size must be positive (width, height), got {self.image_size}"
                )

    @classmethod
    def from_options(
        cls,
        coords: CoordSpace | CoordConfig = "norm1000",
        image_size: tuple[int, int] | None = None,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
    ) -> CoordConfig:
        """The one builder from loose keyword arguments (``None`` = the processor's default).

        A :class:`CoordConfig` passed as ``coords`` is returned unchanged.

        >>> CoordConfig.from_options("qwen25vl", (640, 480), max_pixels=None).max_pixels
        1003520
        >>> CoordConfig.from_options("pixel", (64, 32)).scale()
        (64.0, 32.0)
        """
        if isinstance(coords, CoordConfig):
            return coords
        return cls(
            coords,
            image_size,
            min_pixels=QWEN25VL_MIN_PIXELS if min_pixels is None else min_pixels,
            max_pixels=QWEN25VL_MAX_PIXELS if max_pixels is None else max_pixels,
        )

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined,no-any-return]

    def __reduce__(self) -> tuple[type[CoordConfig], tuple[Any, ...]]:
        # rebuilt through the constructor: string hashes differ between processes
        return type(self), (self.coords, self.image_size, self.min_pixels, self.max_pixels)

    def scale(self) -> tuple[float, float]:
        """Return ``(sx, sy)``: the extent of the image in this space (divide by it to normalise).

        >>> CoordConfig("norm1000").scale()
        (1000.0, 1000.0)
        >>> CoordConfig("qwen25vl", image_size=(640, 480)).scale()
        (644.0, 476.0)
        """
        if self.coords == "norm1000":
            return 1000.0, 1000.0
        if self.coords == "normalized":
            return 1.0, 1.0
        assert self.image_size is not None
        w, h = self.image_size
        if self.coords == "pixel":
            return float(w), float(h)
        rh, rw = smart_resize(h, w, min_pixels=self.min_pixels, max_pixels=self.max_pixels)
        return float(rw), float(rh)


def normalize_xyxy(
    boxes: npt.ArrayLike,
    coords: CoordSpace | CoordConfig = "norm1000",
    image_size: tuple[int, int] | None = None,
) -> npt.NDArray[np.float64]:
    """Convert boxes ``(N, 4)`` xyxy from ``coords`` to normalised xyxy ``(N, 4)`` float64.

    No clipping is done here.

    >>> normalize_xyxy([[100, 200, 500, 1000]])
    array([[0.1, 0.2, 0.5, 1. ]])
    """
    cfg = coords if isinstance(coords, CoordConfig) else CoordConfig(coords, image_size)
    sx, sy = cfg.scale()
    arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    out: npt.NDArray[np.float64] = arr / np.array([sx, sy, sx, sy])
    return out


def denormalize_xyxy(
    boxes: npt.ArrayLike,
    coords: CoordSpace | CoordConfig = "norm1000",
    image_size: tuple[int, int] | None = None,
) -> npt.NDArray[np.float64]:
    """Convert normalised xyxy boxes ``(N, 4)`` into ``coords`` (inverse of :func:`normalize_xyxy`).

    >>> denormalize_xyxy([[0.1, 0.2, 0.5, 1.0]], "pixel", image_size=(640, 480))
    array([[ 64.,  96., 320., 480.]])
    """
    cfg = coords if isinstance(coords, CoordConfig) else CoordConfig(coords, image_size)
    sx, sy = cfg.scale()
    arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    out: npt.NDArray[np.float64] = arr * np.array([sx, sy, sx, sy])
    return out
