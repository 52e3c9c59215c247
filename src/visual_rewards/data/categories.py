"""Category lists of the paper's experiments (facts, with where each comes from).

- :data:`COCO_CATEGORIES`: the 80 COCO 2017 detection categories, in category-id order.
- :data:`PAPER_COCO_FEWSHOT`: the 8 COCO categories of the few-shot experiment (paper Table 3;
  the released COCO evaluation script selects the same 8).
- :data:`PAPER_LVIS_FEWSHOT`: the 6 LVIS rare categories of the few-shot experiment (paper
  Table 4; LVIS spelling with underscores, as the released LVIS evaluation script uses them).
- :data:`PAPER_COCO_NOVEL` / :data:`PAPER_COCO_BASE`: the paper's open-vocabulary split of the
  80 COCO categories into 15 new and 65 base categories (§4.5; the 15 are the "open
  vocabulary experiment: 15 new classes" of the released COCO evaluation script).
- :data:`PAPER_LVIS_OV_RARE`: the 13 LVIS rare categories of the open-vocabulary test
  (paper Table 8, released LVIS evaluation script).

Note: the paper's 65/15 split is *not* the OVR-CNN / ViLD COCO split (48 base / 17 novel out
of 65 categories); pass your own lists to use that one.

>>> len(COCO_CATEGORIES), len(PAPER_COCO_BASE), len(PAPER_COCO_NOVEL)
(80, 65, 15)
>>> sorted(set(PAPER_COCO_BASE) & set(PAPER_COCO_NOVEL))
[]
"""

from __future__ import annotations

__all__ = [
    "CATEGORY_PRESETS",
    "COCO_CATEGORIES",
    "PAPER_COCO_BASE",
    "PAPER_COCO_FEWSHOT",
    "PAPER_COCO_NOVEL",
    "PAPER_LVIS_FEWSHOT",
    "PAPER_LVIS_OV_RARE",
    "resolve_categories",
]

COCO_CATEGORIES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
    "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
    "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip

PAPER_COCO_FEWSHOT: tuple[str, ...] = (
    "bus", "train", "fire hydrant", "stop sign", "cat", "dog", "bed", "toilet",
)  # fmt: skip

PAPER_LVIS_FEWSHOT: tuple[str, ...] = (
    "horse_buggy", "die", "kitchen_table", "omelet", "papaya", "stepladder",
)  # fmt: skip

PAPER_COCO_NOVEL: tuple[str, ...] = (
    "mouse", "fork", "hot dog", "cat", "airplane", "suitcase", "parking meter", "sandwich",
    "train", "hair drier", "toilet", "toaster", "snowboard", "frisbee", "bear",
)  # fmt: skip

PAPER_COCO_BASE: tuple[str, ...] = tuple(c for c in COCO_CATEGORIES if c not in PAPER_COCO_NOVEL)

PAPER_LVIS_OV_RARE: tuple[str, ...] = (
    "casserole", "die", "egg_roll", "futon", "garbage", "handsaw", "hippopotamus",
    "kitchen_table", "mallet", "omelet", "shot_glass", "stepladder", "sugar_bowl",
)  # fmt: skip

#: Preset name -> category names; usable wherever a category list is expected.
CATEGORY_PRESETS: dict[str, tuple[str, ...]] = {
    "paper-coco-8": PAPER_COCO_FEWSHOT,
    "paper-lvis-6": PAPER_LVIS_FEWSHOT,
    "paper-coco-base-65": PAPER_COCO_BASE,
    "paper-coco-novel-15": PAPER_COCO_NOVEL,
    "paper-lvis-13": PAPER_LVIS_OV_RARE,
    "coco-80": COCO_CATEGORIES,
}


def resolve_categories(spec: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Turn a preset name, a comma-separated string or a list into a tuple of category names.

    >>> resolve_categories("paper-coco-8")[:3]
    ('bus', 'train', 'fire hydrant')
    >>> resolve_categories("cat, dog")
    ('cat', 'dog')
    """
    if isinstance(spec, str):
        if spec in CATEGORY_PRESETS:
            return CATEGORY_PRESETS[spec]
        names = [s.strip() for s in spec.split(",")]
    else:
        names = [str(s).strip() for s in spec]
    names = [n for n in names if n]
    if not names:
        raise ValueError(
            f"no categories given; pass names or a preset ({', '.join(sorted(CATEGORY_PRESETS))})"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"categories must be distinct, got {names}")
    return tuple(names)
