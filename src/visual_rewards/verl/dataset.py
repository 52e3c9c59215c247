"""Training sets in veRL's parquet layout, from the paper's ``image`` / ``problem`` / ``solution``.

veRL's ``RLHFDataset`` reads one row per prompt::

    data_source   "visual_rewards/<task>"   (routes the reward; see compute.task_of)
    prompt        [{"role": "user", "content": "<image>" + problem}]   (chat messages)
    images        [{"bytes": <PNG/JPEG bytes>, "path": <name>}]      (one per <image>)
    ability       "<task>"
    reward_model  {"style": "rule", "ground_truth": <solution>}
    extra_info    {"task", "split", "index", "ground_truth_format", "metadata", <reward columns>}

The input rows are the paper's format (the Visual-RFT datasets and
:class:`visual_rewards.data.records.Record`): ``image`` (a path, bytes, a PIL image, or a
``{"bytes"|"path"}`` dict), ``problem`` (the prompt text) and ``solution`` (the ground
truth, usually ``<answer>…</answer>``), optionally ``task`` and ``metadata`` (a dict or its
JSON). A solution that is not a string (a list of boxes, a dict) is stored as JSON and
flagged ``ground_truth_format="json"``, because parquet cannot hold ragged nested values;
:func:`visual_rewards.verl.compute_score` decodes it. Values named by the reward's
``extra_columns`` (e.g. an image size) are copied from the row or its metadata into
``extra_info``, where the reward manager finds them; an ``image_size`` found in neither is
read from the image itself. The images are not copied there (they are in ``images``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visual_rewards.rewards import REWARDS
from visual_rewards.rewards.registry import resolve_task
from visual_rewards.verl.compute import plain_value

__all__ = ["IMAGE_PLACEHOLDER", "verl_rows", "write_verl_parquet"]

#: veRL replaces this marker in a prompt message with the next image of the row.
IMAGE_PLACEHOLDER = "<image>"

#: Reward columns that are the images themselves: never copied into ``extra_info``.
IMAGE_COLUMNS = frozenset({"image", "images"})


def _as_mapping(row: Any) -> Mapping[str, Any]:
    if isinstance(row, Mapping):
        return row
    to_row = getattr(row, "to_row", None)
    if callable(to_row):
        out = to_row()
        if isinstance(out, Mapping):
            return out
    raise TypeError(
        f"each row must be a mapping (image, problem, solution) or have .to_row(), got {type(row).__name__}"
    )


def _image_entry(image: Any, image_root: Path | None, embed: bool, where: str) -> Any:
    """One image as veRL reads it: ``{"bytes", "path"}`` (embedded) or a path string."""
    path: str | None = None
    data: bytes | None = None
    if isinstance(image, (str, Path)):
        path = str(image)
    elif isinstance(image, (bytes, bytearray)):
        data = bytes(image)
    elif isinstance(image, Mapping) and (image.get("bytes") or image.get("path")):
        data = bytes(image["bytes"]) if image.get("bytes") else None
        path = str(image["path"]) if image.get("path") else None
    elif hasattr(image, "save") and hasattr(image, "mode"):  # a PIL image
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        data = buf.getvalue()
    else:
        raise TypeError(
            f"{where}: image must be a path, bytes, a PIL image or a {{'bytes'|'path'}} dict, "
            f"got {type(image).__name__}"
        )
    if path is not None and image_root is not None and not Path(path).is_absolute():
        path = str(image_root / path)
    if not embed:
        if path is None:
            raise ValueError(f"{where}: embed_images=False needs image paths, got image data")
        return path
    if data is None:
        assert path is not None
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise FileNotFoundError(f"{where}: cannot read image {path!r}: {exc}") from None
    return {"bytes": data, "path": Path(path).name if path else ""}


def _image_size(entry: Any) -> list[int] | None:
    """``[width, height]`` of an image entry (embedded bytes or a path), or None if unreadable."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with veRL
        return None
    source: Any = io.BytesIO(entry["bytes"]) if isinstance(entry, Mapping) else entry
    try:
        with Image.open(source) as image:
            width, height = image.size
    except (OSError, ValueError):
        return None
    return [int(width), int(height)]


def _metadata(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: metadata is not valid JSON: {exc}") from None
    if not isinstance(raw, Mapping):
        raise TypeError(f"{where}: metadata must be a dict or its JSON, got {type(raw).__name__}")
    return {str(k): plain_value(v) for k, v in raw.items()}


def _pixel_budget(
    max_pixels: int | None, min_pixels: int | None, embed_images: bool
) -> dict[str, int]:
    """The ``max_pixels``/``min_pixels`` stored with each embedded image (validated)."""
    sizing: dict[str, int] = {}
    for key, value in (("max_pixels", max_pixels), ("min_pixels", min_pixels)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{key} must be a positive integer, got {value!r}")
            sizing[key] = value
    if sizing and not embed_images:
        raise ValueError("max_pixels/min_pixels need embed_images=True (they are stored per image)")
    return sizing


def _row_task(row: Mapping[str, Any], default: str | None, where: str) -> str:
    missing = [k for k in ("image", "problem", "solution") if k not in row]
    if missing:
        raise KeyError(f"{where}: missing field(s) {missing}; got {sorted(row)}")
    name = row.get("task") or default
    try:
        return resolve_task(str(name))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}; pass task=... or give the row a 'task' field") from None


def _messages(
    problem: Any, n_images: int, system_prompt: str | None, where: str
) -> list[dict[str, str]]:
    """The chat messages: an optional system turn, then the user turn with one
    :data:`IMAGE_PLACEHOLDER` per image (put in front unless the problem places them)."""
    if not isinstance(problem, str):
        raise TypeError(f"{where}: problem must be a string, got {type(problem).__name__}")
    placeholders = problem.count(IMAGE_PLACEHOLDER)
    if placeholders == 0:
        content = IMAGE_PLACEHOLDER * n_images + problem
    elif placeholders == n_images:
        content = problem
    else:
        raise ValueError(
            f"{where}: the problem has {placeholders} {IMAGE_PLACEHOLDER} markers "
            f"but the row has {n_images} images"
        )
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*messages, {"role": "user", "content": content}]


def _reward_columns(
    task: str, row: Mapping[str, Any], meta: Mapping[str, Any], entries: list[Any]
) -> dict[str, Any]:
    """The reward's ``extra_columns`` from the row, else its metadata; ``image_size`` from
    the first image when neither has it. The images themselves are never copied."""
    out: dict[str, Any] = {}
    for column in REWARDS[task].extra_columns:
        if column in IMAGE_COLUMNS:
            continue  # the images travel in `images`; a reward gets their size instead
        if column in row:
            out[column] = plain_value(row[column])
        elif column in meta:
            out[column] = meta[column]
        elif column == "image_size" and entries:
            size = _image_size(entries[0])
            if size is not None:
                out[column] = size
    return out


@dataclass(frozen=True)
class _Layout:
    """The options of :func:`verl_rows` that shape every row."""

    task: str | None
    split: str
    data_source: str | None
    image_root: Path | None
    embed_images: bool
    system_prompt: str | None
    sizing: Mapping[str, int]


def _verl_row(raw: Any, index: int, layout: _Layout) -> dict[str, Any]:
    where = f"row {index}"
    row = _as_mapping(raw)
    task = _row_task(row, layout.task, where)
    images = row["image"]
    image_list = list(images) if isinstance(images, (list, tuple)) else [images]
    entries = [_image_entry(im, layout.image_root, layout.embed_images, where) for im in image_list]
    entries = [{**entry, **layout.sizing} for entry in entries] if layout.sizing else entries
    solution = plain_value(row["solution"])
    if isinstance(solution, str):
        gt, gt_format = solution, "text"
    else:  # parquet cannot hold ragged nested values: store JSON, compute_score decodes it
        gt, gt_format = json.dumps(solution, ensure_ascii=False), "json"
    meta = _metadata(row.get("metadata"), where)
    extra: dict[str, Any] = {
        "task": task,
        "split": layout.split,
        "index": index,
        "ground_truth_format": gt_format,
        "metadata": json.dumps(meta, sort_keys=True, ensure_ascii=False),
        **_reward_columns(task, row, meta, entries),
    }
    return {
        "data_source": layout.data_source or f"visual_rewards/{task}",
        "prompt": _messages(row["problem"], len(entries), layout.system_prompt, where),
        "images": entries,
        "ability": task,
        "reward_model": {"style": "rule", "ground_truth": gt},
        "extra_info": extra,
    }


def verl_rows(
    rows: Iterable[Any],
    *,
    task: str | None = None,
    split: str = "train",
    data_source: str | None = None,
    image_root: str | Path | None = None,
    embed_images: bool = True,
    system_prompt: str | None = None,
    max_pixels: int | None = None,
    min_pixels: int | None = None,
) -> list[dict[str, Any]]:
    """Turn rows of the paper's format into veRL rows (see the module docstring).

    Args:
        rows: mappings with ``image``, ``problem``, ``solution`` (and optionally ``task``,
            ``metadata``), or objects with ``to_row()`` such as
            :class:`~visual_rewards.data.records.Record`.
        task: task of rows that name none (``"detection"``, ``"grounding"``, ...).
        split: stored in ``extra_info["split"]``.
        data_source: ``data_source`` of every row (default ``"visual_rewards/<task>"``).
        image_root: folder that relative image paths are relative to.
        embed_images: store image bytes in the file (default; needed on a multi-node
            cluster) or only the paths (which every Ray node must then be able to read).
        system_prompt: an optional system message put before the user turn.
        max_pixels, min_pixels: stored with each embedded image; veRL's vision loader
            (``qwen_vl_utils.fetch_image``) resizes the image into this pixel budget (the
            paper's scripts use ``max_pixels=401408``).

    Returns:
        one dict per row, ready for :func:`write_verl_parquet` or ``datasets``.

    >>> row = verl_rows([{"image": b"\\x89PNG", "problem": "Which flower?",
    ...                   "solution": "<answer>rose</answer>"}], task="format")[0]
    >>> row["prompt"], row["data_source"], row["reward_model"]
    ([{'role': 'user', 'content': '<image>Which flower?'}], 'visual_rewards/format', {'style': 'rule', 'ground_truth': '<answer>rose</answer>'})
    """
    layout = _Layout(
        task=task,
        split=split,
        data_source=data_source,
        image_root=Path(image_root) if image_root is not None else None,
        embed_images=embed_images,
        system_prompt=system_prompt,
        sizing=_pixel_budget(max_pixels, min_pixels, embed_images),
    )
    return [_verl_row(raw, index, layout) for index, raw in enumerate(rows)]


def write_verl_parquet(
    rows: Iterable[Any],
    path: str | Path,
    **options: Any,
) -> Path:
    """Write :func:`verl_rows` ``(rows, **options)`` to a parquet file veRL's dataset reads.

    Needs ``pyarrow`` (installed with ``pip install visual-rewards[verl]``). Returns the path.
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "writing veRL parquet files needs pyarrow: pip install visual-rewards[verl]"
        ) from exc
    records = verl_rows(rows, **options)
    if not records:
        raise ValueError("no rows to write")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(records), out)
    return out
