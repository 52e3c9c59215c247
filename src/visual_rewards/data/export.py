"""Writing records: JSON lines and a Hugging Face ``datasets.Dataset`` on disk.

veRL's parquet layout is written by the veRL adapter,
:func:`visual_rewards.verl.write_verl_parquet`, which takes these records as they are (the
adapter may import this package; this package never imports the adapter).

Columns (the TRL recipe's): ``image`` (an image; the file's bytes are embedded unless
``embed_images=False``), ``problem``, ``solution``, ``task`` and ``metadata`` (a JSON string
with sorted keys). Every writer is deterministic: the same records give the same bytes.

``datasets``/``pyarrow`` are imported inside the functions that need them
(``pip install visual-rewards[data]``); :func:`validate_records` and :func:`save_jsonl`
need neither.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

from visual_rewards.data.records import BuildReport, Record, Skipped

__all__ = [
    "check_images",
    "save_hf_dataset",
    "save_jsonl",
    "to_hf_dataset",
    "validate_record",
    "validate_records",
]

_HINT = "pip install visual-rewards[data]"


def validate_record(record: Record) -> None:
    """Check a record's solution with the ground-truth models the rewards use.

    Detection and grounding solutions are read with
    :func:`visual_rewards.targets.parse_box_target` in the record's coordinate space and must
    give as many boxes as the metadata lists; classification solutions with
    :func:`visual_rewards.targets.class_target` and must name the label.

    Raises:
        ValueError: (``TargetError`` included) naming what is wrong.
    """
    meta = record.metadata
    if record.task in ("detection", "grounding"):
        from visual_rewards.geometry.coords import CoordConfig
        from visual_rewards.targets import parse_box_target

        coords = meta["coords"]
        size = tuple(meta["image_size"])
        coord = CoordConfig(coords, image_size=size if coords in ("pixel", "qwen25vl") else None)
        target = parse_box_target(record.solution, coord)
        want = len(meta["boxes_xyxy_pixel"]) if record.task == "detection" else 1
        if len(target) != want:
            raise ValueError(f"solution has {len(target)} boxes, the source {want}")
    elif record.task == "classification":
        from visual_rewards.targets import class_target

        target_cls = class_target(record.solution)
        if target_cls.label != meta["label"]:
            raise ValueError(f"solution names {target_cls.label!r}, the source {meta['label']!r}")
    else:
        raise ValueError(f"unknown task {record.task!r}")


def validate_records(report: BuildReport) -> BuildReport:
    """Validate every record of ``report``; failures move to ``skipped`` (with the item id).

    Returns the same report, for chaining.
    """
    kept: list[Record] = []
    for rec in report.records:
        try:
            validate_record(rec)
        except ValueError as exc:
            item = _record_id(rec)
            report.skipped.append(Skipped(item, f"solution fails validation: {exc}"))
            continue
        kept.append(rec)
    report.records = kept
    return report


def check_images(
    report: BuildReport, image_root: str | os.PathLike[str], *, decode: bool = True
) -> BuildReport:
    """Keep only records whose image is a safe image file inside ``image_root``.

    The rule of every offline tool (:mod:`visual_rewards.io.files`): the image's real path
    (symlinks resolved; relative paths are relative to the current directory, as records
    hold them) must lie inside ``image_root``; with ``decode`` (before its bytes are
    embedded) it must also be a regular file within the byte limit that decodes with
    Pillow. Without ``decode`` (paths only: JSON lines, ``--no-embed-images``) nothing is
    read. A record that breaks the rule moves to ``skipped`` with the reason (and is
    counted there). Returns the same report.

    Raises ``ImportError`` when ``decode`` and Pillow is missing.
    """
    from visual_rewards.io.files import ImageFileError, read_image_file, resolve_in_root

    kept: list[Record] = []
    for rec in report.records:
        path = os.path.abspath(rec.image) if "\x00" not in rec.image else rec.image
        try:
            if decode:
                read_image_file(path, root=image_root)
            else:
                resolve_in_root(path, image_root)
        except ImageFileError as exc:
            report.skipped.append(Skipped(_record_id(rec), f"image refused: {exc}"))
            continue
        kept.append(rec)
    report.records = kept
    return report


def _record_id(rec: Record) -> str:
    m = rec.metadata
    if "annotation_ids" in m:
        ids = m["annotation_ids"]
        return f"image {m.get('image_id')} category {m.get('category')!r} annotations {ids}"
    if "json" in m:
        return str(m["json"])
    return rec.image


def save_jsonl(records: Iterable[Record], path: str | os.PathLike[str]) -> int:
    """Write one JSON object per record (``image`` as a path); return the number written."""
    n = 0
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for rec in records:
            fh.write(json.dumps(rec.to_row(), ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
    return n


def _image_value(path: str, embed: bool) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"image file not found: {path}")
    if embed:  # bounded, regular file, decodes (check_images has checked the root)
        from visual_rewards.io.files import read_image_file

        return {"bytes": read_image_file(path).data, "path": os.path.basename(path)}
    return {"bytes": None, "path": path}


def to_hf_dataset(records: Sequence[Record], *, embed_images: bool = True) -> Any:
    """A ``datasets.Dataset`` with columns image, problem, solution, task, metadata.

    ``embed_images=True`` stores each image's bytes (a self-contained dataset, what
    ``save_to_disk`` and the Hub want); ``False`` stores the path only.
    """
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"writing a Hugging Face dataset needs `datasets`: {_HINT}") from exc
    features = datasets.Features(
        {
            "image": datasets.Image(),
            "problem": datasets.Value("string"),
            "solution": datasets.Value("string"),
            "task": datasets.Value("string"),
            "metadata": datasets.Value("string"),
        }
    )
    rows = [rec.to_row() for rec in records]
    columns: dict[str, list[Any]] = {name: [] for name in features}
    for row in rows:
        for name in features:
            columns[name].append(
                _image_value(row["image"], embed_images) if name == "image" else row[name]
            )
    return datasets.Dataset.from_dict(columns, features=features)


def save_hf_dataset(
    records: Sequence[Record], path: str | os.PathLike[str], *, embed_images: bool = True
) -> None:
    """``to_hf_dataset(records).save_to_disk(path)``; load it with ``datasets.load_from_disk``."""
    to_hf_dataset(records, embed_images=embed_images).save_to_disk(str(path))
