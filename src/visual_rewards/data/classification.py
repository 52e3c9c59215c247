"""Few-shot fine-grained classification sets (paper §4.2) from an image folder or a CSV.

Input: labelled images, either a folder with one sub-folder per class or a CSV of
``(path, label)`` rows, and optionally a class-names file (one name per line, in label-index
order, like the four lists of the paper's datasets). A label is resolved to a class name by,
in order: the exact name; the name after :func:`~visual_rewards.geometry.labels.normalize_label`
(the rewards' rule: case, accents, apostrophes, ``_``/``-``/punctuation and runs of spaces);
an integer index into the class-names file (``label_offset=1`` for 1-based labels). An item
whose label resolves to nothing is reported with its path and skipped.

Output: ``k`` images per class, sampled with a generator derived from ``(seed, class)``, one
record each, with the paper's classification prompt and ``<answer>class name</answer>``.

>>> from visual_rewards.geometry.labels import normalize_label
>>> normalize_label("Hard-leaved_pocket  Orchid")
'hard leaved pocket orchid'
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from visual_rewards.data.prompts import classification_prompt
from visual_rewards.data.records import (
    BuildReport,
    Record,
    Skipped,
    answer,
    check_positive_int,
    derived_rng,
)
from visual_rewards.geometry.labels import normalize_label

__all__ = [
    "IMAGE_EXTENSIONS",
    "build_fewshot_classification",
    "load_class_names",
    "read_label_csv",
    "scan_image_folder",
]

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
)


def load_class_names(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """Class names, one per line, in label-index order; trailing blank lines are ignored.

    Raises ``ValueError`` for a blank line inside the list (it would shift every index after
    it) or for duplicate names.
    """
    with open(path, encoding="utf-8") as fh:
        lines = [line.strip() for line in fh.read().splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise ValueError(f"{path}: no class names")
    for i, line in enumerate(lines):
        if not line:
            raise ValueError(f"{path}: blank line {i + 1} inside the class list")
    if len(set(lines)) != len(lines):
        dupes = sorted({n for n in lines if lines.count(n) > 1})
        raise ValueError(f"{path}: duplicate class names {dupes[:5]}")
    return tuple(lines)


def scan_image_folder(root: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """``(image path, sub-folder name)`` for every image under ``root/<class>/``, sorted.

    Files with other extensions are ignored; nested folders are searched too (the label is
    the top-level sub-folder).
    """
    base = Path(root)
    if not base.is_dir():
        raise ValueError(f"image folder {root} does not exist or is not a folder")
    items: list[tuple[str, str]] = []
    for sub in sorted(p for p in base.iterdir() if p.is_dir()):
        for dirpath, dirnames, filenames in os.walk(sub):
            dirnames.sort()
            for fn in sorted(filenames):
                if Path(fn).suffix.lower() in IMAGE_EXTENSIONS:
                    items.append((str(Path(dirpath) / fn), sub.name))
    return sorted(items)


def read_label_csv(
    path: str | os.PathLike[str], image_root: str | os.PathLike[str] | None = None
) -> list[tuple[str, str]]:
    """``(image path, label)`` rows of a CSV; a header row ``path,label`` is optional.

    Relative paths are joined to ``image_root`` (default: the CSV's folder). Rows must have
    at least two columns; the first two are used.
    """
    root = Path(image_root) if image_root is not None else Path(path).parent
    rows: list[tuple[str, str]] = []
    with open(path, encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.reader(fh)):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) < 2:
                raise ValueError(
                    f"{path}: row {i + 1} has {len(row)} column(s), expected path,label"
                )
            p, label = row[0].strip(), row[1].strip()
            if i == 0 and p.lower() in ("path", "image", "file", "filename", "image_path"):
                continue
            rows.append((str(root / p), label))
    return rows


def _resolver(class_names: Sequence[str], label_offset: int) -> dict[str, int]:
    table: dict[str, int] = {}
    for i, name in enumerate(class_names):
        table.setdefault(normalize_label(name), i)
    return table


def _resolve(
    label: str, class_names: Sequence[str], table: dict[str, int], label_offset: int
) -> int | str:
    """Index of ``label`` in ``class_names``, or the reason it has none."""
    if label in class_names:
        return class_names.index(label)
    norm = normalize_label(label)
    if norm in table:
        return table[norm]
    if re.fullmatch(r"\d+", label.strip()):
        idx = int(label) - label_offset
        if 0 <= idx < len(class_names):
            return idx
        return (
            f"label index {label} outside 0..{len(class_names) - 1} (label_offset={label_offset})"
        )
    return f"label {label!r} is not a class name"


def build_fewshot_classification(
    items: Iterable[tuple[str, str]],
    k: int,
    *,
    class_names: Sequence[str] | None = None,
    seed: int = 0,
    dataset: str | None = None,
    noun: str | None = None,
    attribute: str | None = None,
    label_offset: int = 0,
    check_files: bool = True,
) -> BuildReport:
    """``k`` images per class from ``(image path, label)`` items (paper: k in {1, 2, 4, 8, 16}).

    ``class_names`` defaults to the sorted distinct labels. ``dataset`` picks the prompt's
    noun (``flowers``, ``pets``, ``aircraft``, ``cars``); ``noun``/``attribute`` override it.
    A class with fewer than ``k`` images gives all of them and is listed in ``shortfalls``.
    Records come class by class in label-index order.
    """
    check_positive_int("k", k)
    prompt = classification_prompt(dataset, noun=noun, attribute=attribute)
    items = list(items)
    if class_names is None:
        class_names = sorted({label for _, label in items})
    class_names = list(class_names)
    table = _resolver(class_names, label_offset)
    report = BuildReport()
    by_class: dict[int, list[str]] = {i: [] for i in range(len(class_names))}
    seen: set[str] = set()
    for path, label in items:
        if path in seen:
            report.skipped.append(Skipped(path, "listed twice"))
            continue
        seen.add(path)
        if check_files and not os.path.isfile(path):
            report.skipped.append(Skipped(path, "image file not found"))
            continue
        idx = _resolve(label, class_names, table, label_offset)
        if isinstance(idx, str):
            report.skipped.append(Skipped(path, idx))
            continue
        by_class[idx].append(path)
    for idx, name in enumerate(class_names):
        cands = sorted(by_class[idx])
        if len(cands) < k:
            report.shortfalls[name] = (k, len(cands))
        for path in derived_rng(seed, "classification", name).sample(cands, min(k, len(cands))):
            meta = {
                "label": name,
                "label_index": idx,
                "num_classes": len(class_names),
                "split": "fewshot",
                "seed": seed,
                "k": k,
            }
            report.records.append(Record(path, prompt, answer(name), "classification", meta))
    return report
