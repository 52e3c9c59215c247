"""Inputs of the box rewards (detection, grounding): coordinate spaces per row, ground truth.

Both rewards read the same columns and the same ground truth in the same way; the shared
malformed-ground-truth policy is :meth:`~visual_rewards.rewards.base.Reward.malformed`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from visual_rewards.geometry.coords import PIXEL_SPACES, CoordConfig, CoordSpace
from visual_rewards.io.images import image_sizes
from visual_rewards.parsing.dialect_readers import dialect_config
from visual_rewards.parsing.dialects import AUTO, get_dialect
from visual_rewards.rewards.base import CoordOptions, Reward, check_lengths
from visual_rewards.targets import BoxTarget, TargetError, parse_box_targets

__all__ = ["BoxRows", "dialect_cfgs", "read_box_rows", "read_box_targets", "row_coords"]


@dataclass(frozen=True)
class BoxRows:
    """One batch as the box rewards read it.

    Attributes:
        pred_cfgs: ``B`` coordinate configs of the predictions.
        targets: ``B`` ground truths, None where malformed (already reported).
        texts: ``B`` completion texts (capped as :func:`~visual_rewards.parse_completion` caps).
        answers: ``B`` answer texts (None without an ``<answer>``); empty for a reward with
            ``answer_reader="released"``, which reads ``texts`` itself.
        fmt: ``(B,)`` the shared format component.
    """

    pred_cfgs: list[CoordConfig]
    targets: list[BoxTarget | None]
    texts: list[str]
    answers: list[str | None]
    fmt: npt.NDArray[np.float64]

    @property
    def missing(self) -> npt.NDArray[np.bool_]:
        """``(B,)`` rows whose ground truth is malformed."""
        return np.fromiter((t is None for t in self.targets), dtype=bool, count=len(self.targets))


def read_box_rows(
    reward: Reward,
    completions: Sequence[Any],
    solutions: Sequence[Any] | None,
    columns: Mapping[str, Any],
    *,
    texts_only: bool = False,
) -> BoxRows:
    """Check the batch, then read its coordinate spaces, ground truth and completions
    (``texts_only``: the texts and the format component alone, for a reward that reads the
    texts itself; ``answers`` is then empty)."""
    n = check_lengths(completions, solutions)
    assert solutions is not None
    options: CoordOptions = reward.config
    pred_cfgs, gt_cfgs = row_coords(
        n, options.coords, options.gt_coords, options.min_pixels, options.max_pixels, columns
    )
    if options.dialect is not None:
        pred_cfgs = dialect_cfgs(
            options.dialect, n, options.min_pixels, options.max_pixels, columns
        )
    targets = read_box_targets(reward, solutions, gt_cfgs)
    if texts_only:
        texts, fmt = reward.read_texts(completions)
        return BoxRows(pred_cfgs, targets, texts, [], fmt)
    parsed, fmt = reward.read_completions(completions)
    return BoxRows(pred_cfgs, targets, [p.text for p in parsed], [p.answer for p in parsed], fmt)


def row_coords(
    n: int,
    coords: CoordSpace,
    gt_coords: CoordSpace | None,
    min_pixels: int | None,
    max_pixels: int | None,
    columns: Mapping[str, Any],
) -> tuple[list[CoordConfig], list[CoordConfig]]:
    """Coordinate configs of the predictions and of the ground truth for each of ``n`` rows.

    Only the pixel spaces read image sizes (TRL passes the image column to every reward), from
    the ``image_size`` column or the ``image``/``images`` column
    (:func:`~visual_rewards.io.images.image_sizes`).

    Raises:
        ValueError: a pixel space without a size for every row (a caller error).

    >>> preds, gts = row_coords(2, "pixel", "norm1000", None, None, {"image_size": [(8, 4)] * 2})
    >>> preds[0].scale(), gts[1].scale()
    ((8.0, 4.0), (1000.0, 1000.0))
    """
    gt_space = coords if gt_coords is None else gt_coords
    if coords not in PIXEL_SPACES and gt_space not in PIXEL_SPACES:
        pred = CoordConfig.from_options(coords, None, min_pixels, max_pixels)
        gt = (
            pred
            if gt_coords is None
            else CoordConfig.from_options(gt_space, None, min_pixels, max_pixels)
        )
        return [pred] * n, [gt] * n
    sizes = image_sizes(columns, n)
    if sizes is None or None in sizes:
        row = 0 if sizes is None else sizes.index(None)
        raise ValueError(
            f"coords={coords!r}/gt_coords={gt_coords!r} need image sizes (row {row} has none): "
            "pass an image_size=[(w, h), ...] or image=[PIL images] column"
        )
    cache: dict[tuple[int, int] | None, tuple[CoordConfig, CoordConfig]] = {}
    preds, gts = [], []
    for size in sizes:
        pair = cache.get(size)
        if pair is None:
            p = CoordConfig.from_options(coords, size, min_pixels, max_pixels)
            g = (
                p
                if gt_coords is None
                else CoordConfig.from_options(gt_space, size, min_pixels, max_pixels)
            )
            pair = cache[size] = (p, g)
        preds.append(pair[0])
        gts.append(pair[1])
    return preds, gts


def read_box_targets(
    reward: Reward, solutions: Sequence[Any], gt_cfgs: Sequence[CoordConfig]
) -> list[BoxTarget | None]:
    """Every row's box ground truth; None where malformed (reported by ``reward.malformed``)."""
    out: list[BoxTarget | None] = []
    for row, target in enumerate(parse_box_targets(solutions, gt_cfgs)):
        if isinstance(target, TargetError):
            reward.malformed(row, str(target))
            out.append(None)
        else:
            out.append(target)
    return out


def dialect_cfgs(
    dialect: str,
    n: int,
    min_pixels: int | None,
    max_pixels: int | None,
    columns: Mapping[str, Any],
) -> list[CoordConfig]:
    """Coordinate configs of ``n`` rows of predictions written in ``dialect``; ``"auto"`` keeps
    the default and lets each answer name its family. Only a dialect in pixels (``qwen25vl``)
    reads the image sizes (:func:`~visual_rewards.io.images.image_sizes`).

    Raises:
        ValueError: the dialect needs image sizes and a row has none (a caller error).

    >>> dialect_cfgs("paligemma", 2, None, None, {})[0].coords
    'normalized'
    """
    if dialect == AUTO:
        return [CoordConfig()] * n
    found = get_dialect(dialect)
    bounds = (min_pixels, max_pixels)
    if not found.needs_image_size:
        return [dialect_config(found, "norm1000", None, bounds)] * n
    sizes = image_sizes(columns, n)
    if sizes is None or None in sizes:
        row = 0 if sizes is None else sizes.index(None)
        raise ValueError(
            f"dialect={dialect!r} needs image sizes (row {row} has none): "
            "pass an image_size=[(w, h), ...] or image=[PIL images] column"
        )
    cache: dict[tuple[int, int] | None, CoordConfig] = {}
    out = []
    for size in sizes:
        if size not in cache:
            cache[size] = dialect_config(found, "norm1000", size, bounds)
        out.append(cache[size])
    return out
