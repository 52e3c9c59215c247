"""Judges for the ``visual_rft`` build protocol: the released LISA data preparation, transcribed.

Written from a reading of the authors' ``lisa_evaluation/gen_box_ann.py`` (box of the first
shape), ``gen_sft.py`` (the ``int(v / size * 1000)`` answer and the user turn) and
``grpo_lisa.py`` (how the training script turns that user turn into the prompt and the
solution), and of their LISA inference script (the evaluation prompt, first instruction);
reimplemented here, not copied, keeping the released steps one by one.
"""

from __future__ import annotations

import json
from typing import Any

from PIL import Image

TEMPLATE = (
    "{Question} Output the thinking process in <think> </think> and your grouding box. "
    'Following "<think> thinking process </think>\n<answer>(x1,y1),(x2,y2)</answer>)" format.'
)


def box_annotation(json_path: str, image_path: str) -> dict[str, Any]:
    """``gen_box_ann.py`` for one file: instructions and the boxes of ``shapes[:1]``."""
    with open(json_path) as f:
        item = json.load(f)
    boxes = []
    for shape in item["shapes"][:1]:
        xs = [p[0] for p in shape["points"]]
        ys = [p[1] for p in shape["points"]]
        boxes.append((min(xs), min(ys), max(xs), max(ys)))
    return {"image_path": image_path, "instruction": item["text"], "boxes": boxes}


def training_rows(ann: dict[str, Any]) -> list[dict[str, str]]:
    """``gen_sft.py`` then ``grpo_lisa.py``'s conversion: ``{"problem", "solution"}`` per
    instruction."""
    out = []
    for instruct in ann["instruction"]:
        w, h = Image.open(ann["image_path"]).size
        b = ann["boxes"][0]
        user = (
            f"<img>{ann['image_path']}</img>\n Output the bounding box in the image "
            f"corresponding to the instruction: {instruct}"
        )
        value = (
            f"({int(b[0] / w * 1000)},{int(b[1] / h * 1000)}),"
            f"({int(b[2] / w * 1000)},{int(b[3] / h * 1000)})"
        )
        path = user.split("<img>")[1].split("</img>")[0].strip()
        text = user.replace(f"<img>{path}</img>", "").strip()
        out.append(
            {"problem": TEMPLATE.format(Question=text), "solution": f"<answer> {value} </answer>"}
        )
    return out


def evaluation_row(ann: dict[str, Any]) -> dict[str, Any]:
    """The LISA inference script: first instruction, its prompt, the normalised float box."""
    w, h = Image.open(ann["image_path"]).size
    instruction = ann["instruction"][0]
    b = ann["boxes"][0]
    return {
        "problem": (
            "Output the bounding box in the image corresponding to the instruction: "
            f"{instruction}. Output the thinking process in <think> </think> and your "
            'grouding box. Following "<think> thinking process </think>\n'
            '<answer>(x1,y1),(x2,y2)</answer>)" format.'
        ),
        "box": [b[0] / w, b[1] / h, b[2] / w, b[3] / h],
    }
