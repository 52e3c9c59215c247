"""TRL glue that needs no ``trl`` import: image sizes from the ``image`` column, and logging.

``GRPOTrainer`` calls every reward function as
``f(prompts=, completions=, completion_ids=, **columns)``, where the keyword arguments hold every
dataset column of the batch (the ``image`` column as PIL images), plus ``trainer_state``,
``log_metric(name, value)`` (a scalar averaged per logging step) and ``log_extra(column, values)``
(a column of the completions table). :meth:`visual_rewards.Reward.__call__` hands its keyword
arguments to the two functions here:

- :func:`reward_columns` picks the columns a reward's :meth:`~visual_rewards.Reward.score`
  takes (its ``extra_columns``), and fills an ``image_size`` column, ``(width, height)`` per row,
  from the ``image``/``images`` column when the reward wants one and the dataset has none. That
  is how the ``"qwen25vl"`` and ``"pixel"`` coordinate spaces learn each image's size during
  training, without reading any file.
- :func:`log_result` reports a :class:`~visual_rewards.RewardResult`: per component the batch
  mean (``rewards/<name>/<component>/mean``) and the parse-failure rate
  (``rewards/<name>/parse_failure_rate``) through ``log_metric``, and per completion each
  component (``<name>/<component>``) and any per-row details the result carries, such as parsed
  boxes and IoUs (``<name>/<detail>``), through ``log_extra``.

Both are no-ops outside TRL (no ``log_metric``/``log_extra`` given, no image column).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "IMAGE_COLUMNS",
    "IMAGE_SIZE_COLUMN",
    "image_size",
    "image_sizes",
    "log_result",
    "pixel_bounds",
    "reward_columns",
]

#: Dataset columns holding images, in the order they are looked for: TRL's ``image`` (one image
#: per row) and ``images`` (a list per row; the first image counts).
IMAGE_COLUMNS: tuple[str, ...] = ("image", "images")
#: The column of ``(width, height)`` sizes that rewards declare in ``extra_columns``.
IMAGE_SIZE_COLUMN = "image_size"


class _Result(Protocol):
    """What :func:`log_result` reads from a :class:`~visual_rewards.RewardResult`."""

    @property
    def components(self) -> Mapping[str, npt.NDArray[np.float64]]: ...

    @property
    def parse_failed(self) -> npt.NDArray[np.bool_]: ...


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


def _pair(width: Any, height: Any) -> tuple[int, int] | None:
    w, h = _count(width), _count(height)
    return None if w is None or h is None else (w, h)


def image_sizes(columns: Mapping[str, Any]) -> list[tuple[int, int] | None] | None:
    """``(width, height)`` per row from the first image column present, or None without one.

    >>> from types import SimpleNamespace
    >>> image_sizes({"image": [SimpleNamespace(size=(8, 4)), None]})
    [(8, 4), None]
    >>> image_sizes({"solution": ["x"]}) is None
    True
    """
    for name in IMAGE_COLUMNS:
        values = columns.get(name)
        if values is not None and not isinstance(values, (str, bytes)):
            return [image_size(v) for v in values]
    return None


def reward_columns(extra_columns: Sequence[str], columns: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword columns to pass to ``score``: those of ``extra_columns`` found in ``columns``.

    An ``image_size`` column that the reward wants but the dataset lacks is derived from the
    ``image``/``images`` column (see :func:`image_sizes`) when every row's size can be told;
    otherwise it is left out and the reward decides (it may read the image column itself).

    >>> from types import SimpleNamespace
    >>> reward_columns(("image_size",), {"image": [SimpleNamespace(size=(640, 480))]})
    {'image_size': [(640, 480)]}
    >>> reward_columns(("image_size",), {"image_size": [(2, 2)], "image": [None]})
    {'image_size': [(2, 2)]}
    >>> reward_columns((), {"image": [None]})
    {}
    """
    out = {name: columns[name] for name in extra_columns if name in columns}
    if IMAGE_SIZE_COLUMN in extra_columns and IMAGE_SIZE_COLUMN not in out:
        sizes = image_sizes(columns)
        if sizes is not None and all(size is not None for size in sizes):
            out[IMAGE_SIZE_COLUMN] = sizes
    return out


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
        pair = (_count(size.get("shortest_edge")), _count(size.get("longest_edge")))
    else:
        pair = (
            _count(getattr(size, "shortest_edge", None)),
            _count(getattr(size, "longest_edge", None)),
        )
    if None in pair:
        pair = (
            _count(getattr(image_processor, "min_pixels", None)),
            _count(getattr(image_processor, "max_pixels", None)),
        )
    low, high = pair
    if low is None or high is None:
        return {}
    return {"min_pixels": low, "max_pixels": high}


def _count(value: Any) -> int | None:
    """``value`` as a positive int, or None."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0:
        return int(value)
    return None


def _nanmean(values: npt.NDArray[np.float64]) -> float | None:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else None


def _cell(value: float) -> float | None:
    return None if math.isnan(value) else value


def _plain(value: Any) -> Any:
    """A table-friendly copy: arrays become (nested) lists, NaN becomes None."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, float):
        return _cell(value)
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def log_result(name: str, result: _Result, columns: Mapping[str, Any]) -> None:
    """Report a batch result through TRL's ``log_metric``/``log_extra`` when they are given.

    Metrics (one scalar per batch; TRL averages them per logging step):
    ``rewards/<name>/<component>/mean`` (NaN rows left out; no value when all are NaN) and
    ``rewards/<name>/parse_failure_rate``. Completions-table columns (one value per completion):
    ``<name>/<component>`` and, when the result has a ``details`` mapping of per-row lists
    (e.g. ``{"boxes": …, "ious": …}``), ``<name>/<detail>``.

    >>> from visual_rewards import FormatReward
    >>> res = FormatReward().score(["<think>a</think><answer>b</answer>", "b"])
    >>> metrics, table = {}, {}
    >>> log_result("format_default", res, {"log_metric": metrics.__setitem__,
    ...                                    "log_extra": table.__setitem__})
    >>> metrics
    {'rewards/format_default/format/mean': 0.5, 'rewards/format_default/parse_failure_rate': 0.5}
    >>> table
    {'format_default/format': [1.0, 0.0]}
    """
    log_metric = columns.get("log_metric")
    log_extra = columns.get("log_extra")
    if callable(log_metric):
        _log_metrics(log_metric, name, result)
    if callable(log_extra):
        for key, values in result.components.items():
            log_extra(f"{name}/{key}", [_cell(v) for v in np.asarray(values, float).tolist()])
        details = getattr(result, "details", None)
        if isinstance(details, Mapping):
            n = int(np.asarray(result.parse_failed).shape[0])
            for key, values in details.items():
                if isinstance(values, (Sequence, np.ndarray)) and len(values) == n:
                    log_extra(f"{name}/{key}", [_plain(v) for v in values])


def _log_metrics(log_metric: Callable[[str, float], Any], name: str, result: _Result) -> None:
    for key, values in result.components.items():
        mean = _nanmean(np.asarray(values, dtype=np.float64))
        if mean is not None:
            log_metric(f"rewards/{name}/{key}/mean", mean)
    failed = np.asarray(result.parse_failed, dtype=bool)
    if failed.size:
        log_metric(f"rewards/{name}/parse_failure_rate", float(failed.mean()))
