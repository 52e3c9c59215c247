"""TRL adapter: what ``GRPOTrainer`` needs from visual-rewards, without importing ``trl``.

Every reward is already a TRL reward function (:meth:`visual_rewards.Reward.__call__` takes
TRL's calling convention), so ``GRPOTrainer(reward_funcs=[DetectionReward(), FormatReward()])``
needs nothing from here. This package holds the glue around that call:

* :func:`pixel_bounds` -- a Qwen2-VL/Qwen2.5-VL processor's ``min_pixels``/``max_pixels``,
  to hand to a reward in the ``"qwen25vl"`` coordinate space;
* :func:`reward_columns` -- the dataset columns a reward's ``score`` takes, with an
  ``image_size`` column derived from TRL's ``image``/``images`` column;
* :func:`log_result` -- component means and per-completion columns through TRL's
  ``log_metric``/``log_extra``;
* :func:`image_size`, :func:`image_sizes` -- ``(width, height)`` of image objects.

The training script and recipes are in ``integrations/trl/`` (not part of the package).

>>> from visual_rewards.trl import pixel_bounds
>>> pixel_bounds(None)
{}
"""

from __future__ import annotations

from visual_rewards.trl.glue import (
    IMAGE_COLUMNS,
    IMAGE_SIZE_COLUMN,
    image_size,
    image_sizes,
    log_result,
    pixel_bounds,
    reward_columns,
)

__all__ = [
    "IMAGE_COLUMNS",
    "IMAGE_SIZE_COLUMN",
    "image_size",
    "image_sizes",
    "log_result",
    "pixel_bounds",
    "reward_columns",
]
