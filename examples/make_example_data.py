"""Regenerate the bundled example data in ``examples/data`` (deterministic, numpy + zlib only).

Writes tiny PNG images of coloured shapes, a COCO annotation file for them, COCO-format
detections, and JSONL files of model outputs with their ground truth for detection,
classification and grounding -- the inputs of ``visual-rewards score``, ``evaluate`` and
``report`` in the docs and the README demo. Run: ``python examples/make_example_data.py``.
"""

from __future__ import annotations

import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "data"
W, H = 96, 64
CATEGORIES = [
    {"id": 1, "name": "circle"},
    {"id": 2, "name": "square"},
    {"id": 3, "name": "triangle"},
]
COLOURS = {1: (220, 60, 60), 2: (60, 120, 220), 3: (60, 170, 80)}


def write_png(path: Path, rgb: np.ndarray) -> None:
    """Write an ``(H, W, 3)`` uint8 array as an 8-bit RGB PNG."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def draw(shapes: list[tuple[int, list[int]]]) -> np.ndarray:
    """Draw ``(category_id, [x, y, w, h])`` shapes on a light background."""
    img = np.full((H, W, 3), 245, dtype=np.uint8)
    yy, xx = np.mgrid[0:H, 0:W]
    for cat, (x, y, w, h) in shapes:
        inside = (xx >= x) & (xx < x + w) & (yy >= y) & (yy < y + h)
        if cat == 1:
            cx, cy = x + w / 2, y + h / 2
            inside &= ((xx + 0.5 - cx) / (w / 2)) ** 2 + ((yy + 0.5 - cy) / (h / 2)) ** 2 <= 1
        elif cat == 3:
            inside &= np.abs(xx + 0.5 - (x + w / 2)) <= (yy + 0.5 - y) * w / (2 * h)
        img[inside] = COLOURS[cat]
    return img


def n1000(box: list[int]) -> list[int]:
    """Pixel ``[x, y, w, h]`` -> Qwen2-VL ``[x1, y1, x2, y2]`` in 0..1000."""
    x, y, w, h = box
    return [
        round(x * 1000 / W),
        round(y * 1000 / H),
        round((x + w) * 1000 / W),
        round((y + h) * 1000 / H),
    ]


def main(out: Path = OUT) -> None:
    """Write every example file under ``out`` (default ``examples/data``)."""
    rng = np.random.default_rng(7)
    (out / "images").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    scenes: dict[int, list[tuple[int, list[int]]]] = {}
    for image_id in range(1, 9):
        shapes: list[tuple[int, list[int]]] = []
        n = 0 if image_id == 8 else int(rng.integers(1, 4))
        for _ in range(n):
            cat = int(rng.integers(1, 4))
            w, h = int(rng.integers(14, 34)), int(rng.integers(14, 30))
            x, y = int(rng.integers(0, W - w)), int(rng.integers(0, H - h))
            shapes.append((cat, [x, y, w, h]))
        scenes[image_id] = shapes
        name = f"img_{image_id}.png"
        write_png(out / "images" / name, draw(shapes))
        images.append({"id": image_id, "file_name": name, "width": W, "height": H})
        for cat, box in shapes:
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": cat,
                    "bbox": box,
                    "area": box[2] * box[3],
                    "iscrowd": 0,
                }
            )
    coco = {"images": images, "annotations": annotations, "categories": CATEGORIES}
    (out / "coco_annotations.json").write_text(json.dumps(coco, indent=1) + "\n")

    # Model outputs: one prompt per (image, category), as the paper evaluates detection.
    styles = ["vrft", "vrft", "vrft", "qwen25", "miss", "extra", "truncated", "flipped"]
    rows, coco_dets = [], []
    for image_id, shapes in scenes.items():
        for cat in CATEGORIES:
            truth = [n1000(b) for c, b in shapes if c == cat["id"]]
            gt_text = (
                "<answer>"
                + (
                    "[" + ", ".join(f"{{'Position': {b}, 'Confidence': 1}}" for b in truth) + "]"
                    if truth
                    else "No Objects"
                )
                + "</answer>"
            )
            style = styles[(image_id * 3 + cat["id"]) % len(styles)] if truth else "empty"
            preds = []
            for b in truth:
                jit = rng.integers(-25, 26, size=4)
                p = [int(np.clip(v + d, 0, 1000)) for v, d in zip(b, jit, strict=True)]
                if p[2] <= p[0] or p[3] <= p[1]:
                    p = b
                preds.append((p, round(float(rng.uniform(0.55, 0.98)), 2)))
            think = f"I look for every {cat['name']} in the image and estimate its box."
            if style == "miss" and preds:
                preds = preds[1:]
            if style == "extra":
                preds.append(([600, 600, 900, 950], 0.3))
            if style == "empty":
                answer = (
                    "No Objects"
                    if rng.random() < 0.7
                    else "[{'Position': [100, 100, 300, 400], 'Confidence': 0.4}]"
                )
                if "Position" in answer:
                    preds = [([100, 100, 300, 400], 0.4)]
            elif style == "qwen25":
                answer = json.dumps([{"bbox_2d": p, "label": cat["name"]} for p, _ in preds])
            elif style == "flipped":
                answer = (
                    "["
                    + ", ".join(
                        f"{{'Position': [{p[2]}, {p[3]}, {p[0]}, {p[1]}], 'Confidence': {c}}}"
                        for p, c in preds
                    )
                    + "]"
                )
                preds = []
            else:
                answer = (
                    "["
                    + ", ".join(f"{{'Position': {p}, 'Confidence': {c}}}" for p, c in preds)
                    + "]"
                )
            completion = f"<think>{think}</think>\n<answer>{answer}</answer>"
            if style == "truncated":
                completion = f"<think>{think}</think>\n<answer>{answer[: max(len(answer) - 12, 1)]}"
            rows.append(
                {
                    "id": f"det-{image_id}-{cat['name']}",
                    "task": "detection",
                    "image": f"images/img_{image_id}.png",
                    "image_id": image_id,
                    "image_size": [W, H],
                    "category": cat["name"],
                    "completion": completion,
                    "solution": gt_text,
                }
            )
            for p, c in preds:
                x1, y1, x2, y2 = p[0] * W / 1000, p[1] * H / 1000, p[2] * W / 1000, p[3] * H / 1000
                coco_dets.append(
                    {
                        "image_id": image_id,
                        "category_id": cat["id"],
                        "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
                        "score": c,
                    }
                )
    with open(out / "detection_outputs.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    (out / "coco_detections.json").write_text(json.dumps(coco_dets, indent=1) + "\n")

    # Classification: two fine-grained datasets, a few right, wrong, hacked and empty answers.
    cls_rows = []
    cases = [
        ("flowers", "rose", "rose"),
        ("flowers", "sunflower", "sunflower"),
        ("flowers", "tulip", "rose"),
        ("flowers", "daisy", ""),
        ("flowers", "lotus", "lotus"),
        ("flowers", "rose", "rose, tulip, daisy"),
        ("pets", "pug", "pug"),
        ("pets", "beagle", "Beagle"),
        ("pets", "sphynx", "persian"),
        ("pets", "pug", "pug"),
    ]
    for i, (dataset, truth, said) in enumerate(cases):
        cls_rows.append(
            {
                "id": f"cls-{i}",
                "task": "classification",
                "dataset": dataset,
                "completion": f"<think>The fur, shape and colour suggest the class.</think><answer>{said}</answer>",
                "solution": f"<answer>{truth}</answer>",
            }
        )
    with open(out / "classification_outputs.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in cls_rows)

    # Grounding: one box per row, ground truth in pixels of the original image.
    gr_rows = []
    for image_id, shapes in scenes.items():
        if not shapes:
            continue
        cat, (x, y, w, h) = shapes[0]
        truth = [x, y, x + w, y + h]
        shift = int(rng.integers(-6, 7))
        pred = [max(x + shift, 0), y, min(x + w + shift, W), y + h]
        answer = json.dumps([{"bbox_2d": pred, "label": CATEGORIES[cat - 1]["name"]}])
        if image_id == 4:
            answer = "the shape on the left"
        gr_rows.append(
            {
                "id": f"ground-{image_id}",
                "task": "grounding",
                "image": f"images/img_{image_id}.png",
                "image_size": [W, H],
                "question": f"Where is the {CATEGORIES[cat - 1]['name']}?",
                "completion": f"<think>It is the {CATEGORIES[cat - 1]['name']}.</think><answer>{answer}</answer>",
                "solution": {"boxes": [truth], "coords": "pixel"},
            }
        )
    with open(out / "grounding_outputs.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in gr_rows)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
