"""The authors' released data, as a user has downloaded it: training sets and exist maps.

The authors published no seeds and no image ids for their few-shot and open-vocabulary
picks, so their own datasets are the only way to train on exactly their images:

* :func:`load_released_dataset` reads a released Hugging Face dataset (``ViRFT_COCO_base65``,
  ``ViRFT_COCO_8_cate_4_shot``, ``ViRFT_LVIS_few_shot``, ``ViRFT_CLS_*``; columns ``image``,
  ``problem``, ``solution``) from a local folder: a ``save_to_disk`` folder, or the Hub's
  download (``data/train-*.parquet``, which the authors' ``grpo.py`` cannot read), and returns
  a ``DatasetDict`` with a ``train`` split; :func:`save_released_dataset` writes it back as a
  folder that ``DatasetDict.load_from_disk`` -- the authors' ``grpo.py`` -- and the TRL recipe
  read unchanged.
* :func:`load_exist_map` reads an ``exist_map_*.json`` file of the released evaluation:
  ``{"<image id>": ["category name", ...], ...}``, the categories the baseline model judged
  present in each image; the released evaluation asks only about those pairs.

``datasets`` is imported inside the functions that need it (``pip install visual-rewards[data]``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_EXIST_MAP_BYTES",
    "RELEASED_COLUMNS",
    "load_exist_map",
    "load_released_dataset",
    "save_released_dataset",
]

#: The columns every released training set has (and the authors' ``grpo.py`` reads).
RELEASED_COLUMNS = ("image", "problem", "solution")
#: Exist maps are read whole; the released ones are under 1 MB.
MAX_EXIST_MAP_BYTES = 64 << 20


def load_exist_map(path: str | os.PathLike[str]) -> dict[str, tuple[str, ...]]:
    """An exist map: ``str(image id)`` -> the category names asked about in that image.

    Raises:
        ValueError: one line naming the file and what is wrong (not a JSON object of lists
            of strings, too large).
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"exist map {p}: not a file")
    if p.stat().st_size > MAX_EXIST_MAP_BYTES:
        raise ValueError(f"exist map {p}: larger than {MAX_EXIST_MAP_BYTES} bytes")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"exist map {p}: not valid JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ValueError(f"exist map {p}: the top level must be an object of image ids")
    out: dict[str, tuple[str, ...]] = {}
    for key, names in data.items():
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise ValueError(f"exist map {p}: image {key[:40]!r} must list category names")
        out[key] = tuple(names)
    return out


def _require_datasets() -> Any:
    try:
        import datasets
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "reading the released datasets needs `datasets`: pip install visual-rewards[data]"
        ) from None
    return datasets


def load_released_dataset(path: str | os.PathLike[str]) -> Any:
    """A released training set from a local folder, as a ``DatasetDict`` with a ``train`` split.

    ``path`` is a ``save_to_disk`` folder (a ``DatasetDict`` or a ``Dataset``), or a folder of
    parquet files (the Hub download: ``data/train-*.parquet`` or ``train-*.parquet``).

    Raises:
        ValueError: the folder holds neither, or lacks a column of :data:`RELEASED_COLUMNS`.
    """
    datasets = _require_datasets()
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"released dataset {root}: not a folder")
    if (root / "dataset_dict.json").is_file() or (root / "state.json").is_file():
        loaded = datasets.load_from_disk(str(root))
        data = (
            loaded
            if isinstance(loaded, datasets.DatasetDict)
            else datasets.DatasetDict({"train": loaded})
        )
    else:
        files = sorted(root.glob("data/train-*.parquet")) or sorted(root.glob("train-*.parquet"))
        if not files:
            raise ValueError(
                f"released dataset {root}: no dataset_dict.json, state.json or train-*.parquet"
            )
        data = datasets.load_dataset(
            "parquet", data_files={"train": [str(f) for f in files]}, split=None
        )
    if "train" not in data:
        raise ValueError(f"released dataset {root}: no 'train' split (has {list(data)})")
    missing = [c for c in RELEASED_COLUMNS if c not in data["train"].column_names]
    if missing:
        raise ValueError(f"released dataset {root}: missing column(s) {missing}")
    return data


def save_released_dataset(path: str | os.PathLike[str], output: str | os.PathLike[str]) -> int:
    """Read a released dataset (:func:`load_released_dataset`) and save it where the authors'
    ``DatasetDict.load_from_disk`` reads it; return the number of training rows."""
    data = load_released_dataset(path)
    data.save_to_disk(str(output))
    return len(data["train"])
