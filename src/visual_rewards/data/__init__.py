"""Dataset builders: the Visual-RFT paper's training and evaluation sets in its prompt format.

- few-shot detection from COCO / LVIS (:func:`build_fewshot_detection`),
- the open-vocabulary split (:func:`build_open_vocab_train`, :func:`build_detection_eval`),
- few-shot classification from an image folder or CSV (:func:`build_fewshot_classification`),
- reasoning grounding from LISA ReasonSeg (:func:`build_grounding`),

each returning a :class:`BuildReport` (records plus what was skipped and why), written with
:func:`save_hf_dataset` (TRL) or :func:`save_jsonl`; veRL's parquet layout is written by the veRL
adapter, :func:`visual_rewards.verl.write_verl_parquet` (records go in as they are).
Importing this package needs only the core dependencies; writing datasets needs
``pip install visual-rewards[data]``.

>>> from visual_rewards.data import PAPER_COCO_FEWSHOT
>>> len(PAPER_COCO_FEWSHOT)
8
"""

from visual_rewards.data.categories import (
    CATEGORY_PRESETS,
    COCO_CATEGORIES,
    PAPER_COCO_BASE,
    PAPER_COCO_FEWSHOT,
    PAPER_COCO_NOVEL,
    PAPER_LVIS_FEWSHOT,
    PAPER_LVIS_OV_RARE,
    resolve_categories,
)
from visual_rewards.data.classification import (
    build_fewshot_classification,
    load_class_names,
    read_label_csv,
    scan_image_folder,
)
from visual_rewards.data.detection import (
    DetectionOptions,
    DetectionSource,
    build_detection_eval,
    build_fewshot_detection,
    build_open_vocab_train,
    load_detection_source,
)
from visual_rewards.data.export import (
    save_hf_dataset,
    save_jsonl,
    to_hf_dataset,
    validate_record,
    validate_records,
)
from visual_rewards.data.grounding import build_grounding, find_reasonseg_files
from visual_rewards.data.prompts import (
    CLASSIFICATION_NOUNS,
    classification_prompt,
    detection_prompt,
    grounding_prompt,
)
from visual_rewards.data.records import BuildReport, Record, Skipped

__all__ = [
    "CATEGORY_PRESETS",
    "CLASSIFICATION_NOUNS",
    "COCO_CATEGORIES",
    "PAPER_COCO_BASE",
    "PAPER_COCO_FEWSHOT",
    "PAPER_COCO_NOVEL",
    "PAPER_LVIS_FEWSHOT",
    "PAPER_LVIS_OV_RARE",
    "BuildReport",
    "DetectionOptions",
    "DetectionSource",
    "Record",
    "Skipped",
    "build_detection_eval",
    "build_fewshot_classification",
    "build_fewshot_detection",
    "build_grounding",
    "build_open_vocab_train",
    "classification_prompt",
    "detection_prompt",
    "find_reasonseg_files",
    "grounding_prompt",
    "load_class_names",
    "load_detection_source",
    "read_label_csv",
    "resolve_categories",
    "save_hf_dataset",
    "save_jsonl",
    "scan_image_folder",
    "to_hf_dataset",
    "validate_record",
    "validate_records",
]
