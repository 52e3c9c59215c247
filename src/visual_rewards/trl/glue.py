"""TRL glue that needs no ``trl`` import.

- :func:`pixel_bounds` -- a Qwen2-VL/Qwen2.5-VL processor's pixel bounds, for ``"qwen25vl"``;
- :func:`reward_columns`, :func:`log_result` -- the calling convention of rewards (defined in
  :mod:`visual_rewards.rewards.calling`, re-exported here);
- :func:`image_size`, :func:`image_sizes` -- image sizes from objects and dataset columns
  (defined in :mod:`visual_rewards.io.images`, re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from visual_rewards.io.images import (
    IMAGE_COLUMNS,
    IMAGE_SIZE_COLUMN,
    image_size,
    image_sizes,
    positive_int,
)
from visual_rewards.rewards.calling import log_result, reward_columns

__all__ = [
    "IMAGE_COLUMNS",
    "IMAGE_SIZE_COLUMN",
    "image_size",
    "image_sizes",
    "log_result",
    "pixel_bounds",
    "reward_columns",
]


def pixel_bounds(processor: Any) -> dict[str, int]:
    """``{"min_pixels": …, "max_pixels": …}`` of a Qwen2-VL/Qwen2.5-VL processor, or ``{}``.

    The ``"qwen25vl"`` coordinate space is the image after the processor's smart-resize, so a
    reward must use the processor's own pixel bounds. Pass the result to the reward::

        DetectionReward(coords="qwen25vl", **pixel_bounds(processor))

    Reads ``image_processor.size`` (``shortest_edge``/``longest_edge``, transformers 5) or the
    ``min_pixels``/``max_pixels`` attributes (transformers 4); accepts the processor or its
    image processor. Imports nothing.

    >>> from types import SimpleNamespace
    >>> pixel_bounds(SimpleNamespace(image_processor=SimpleNamespace(
    ...     size={"shortest_edge": 3136, "longest_edge": 401408})))
    {'min_pixels': 3136, 'max_pixels': 401408}
    >>> pixel_bounds(SimpleNamespace(min_pixels=3136, max_pixels=12544))
    {'min_pixels': 3136, 'max_pixels': 12544}
    >>> pixel_bounds(None)
    {}
    """
    image_processor = getattr(processor, "image_processor", processor)
    if image_processor is None:
        return {}
    size = getattr(image_processor, "size", None)
    if isinstance(size, Mapping):
        pair = (positive_int(size.get("shortest_edge")), positive_int(size.get("longest_edge")))
    else:
        pair = (
            positive_int(getattr(size, "shortest_edge", None)),
            positive_int(getattr(size, "longest_edge", None)),
        )
    if None in pair:
        pair = (
            positive_int(getattr(image_processor, "min_pixels", None)),
            positive_int(getattr(image_processor, "max_pixels", None)),
        )
    low, high = pair
    if low is None or high is None:
        return {}
    return {"min_pixels": low, "max_pixels": high}
