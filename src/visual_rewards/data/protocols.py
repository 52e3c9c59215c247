"""The ``visual_rft`` build protocol: datasets the authors' released pipeline reads unchanged.

The default builders make the cleaner choices (boxes rounded to the nearest integer, the union
of every ``target`` polygon, one grounding prompt for all uses). ``protocol="visual_rft"``
follows the released code instead:

* **Boxes are truncated**: ``int(v / size * 1000)`` per coordinate (the released LISA
  conversion; the detection datasets were published without their build code), where the
  default rounds half to even.
* **LISA** (:func:`build_grounding_visual_rft`): the box of the *first* shape, whatever its
  label (``gen_box_ann.py``), in the image's own size; training sets get the released
  training prompt (``…instruction: {query} Output…``, one record per instruction, solution
  ``<answer> (x1,y1),(x2,y2) </answer>``), evaluation sets the released evaluation prompt
  (``…instruction: {query}. Output…``) for the *first* instruction of each image, and the
  system prompt of the released evaluation in the record's metadata (``system_prompt``).
* **Detection evaluation sets** can ask exactly the (image, category) pairs of a released
  exist map (:func:`build_detection_eval_exist_map`), not the pairs present in the ground truth.
* **Evaluation prompts** may start with ``<image>\\n`` (:data:`IMAGE_PREFIX`), as the released
  COCO, LVIS and classification inference scripts write them (``image_prefix=True``).
* **Saved as a** ``DatasetDict`` **with a** ``train`` **split** (:func:`save_visual_rft_dataset`),
  what the authors' ``grpo.py`` loads with ``DatasetDict.load_from_disk``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from visual_rewards.data.records import (
    BuildReport,
    Record,
    Skipped,
    answer,
    check_image_size,
)

__all__ = [
    "IMAGE_PREFIX",
    "LISA_SYSTEM_PROMPT",
    "ROLES",
    "apply_visual_rft",
    "build_detection_eval_exist_map",
    "build_grounding_visual_rft",
    "lisa_evaluation_prompt",
    "lisa_training_prompt",
    "save_visual_rft_dataset",
    "truncate_norm1000",
]

#: What the released inference scripts put before the question (COCO, LVIS, classification).
IMAGE_PREFIX = "<image>\n"
#: A training set or an evaluation set (LISA prompts differ between the two).
ROLES = ("train", "eval")

_LISA_ASK = "Output the bounding box in the image corresponding to the instruction: "
_LISA_FORMAT = (
    "Output the thinking process in <think> </think> and your grouding box. "
    'Following "<think> thinking process </think>\n<answer>(x1,y1),(x2,y2)</answer>)" format.'
)
#: The system prompt of the released LISA evaluation (and of its demo).
LISA_SYSTEM_PROMPT = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant "
    "solves it. The assistant first thinks about the reasoning process in the mind and then "
    "provides the user with the answer. The reasoning process and answer are enclosed within "
    "<think> </think> and <answer> </answer> tags, respectively, i.e., "
    "<think> reasoning process here </think><answer> answer here </answer>"
)
#: A ReasonSeg annotation file is read whole; the real ones are a few kilobytes.
MAX_LISA_JSON_BYTES = 16 << 20


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {list(ROLES)}, got {role!r}")


def truncate_norm1000(box_xyxy_pixel: Sequence[float], image_size: tuple[int, int]) -> list[int]:
    """A pixel ``[x1, y1, x2, y2]`` box of an image ``(width, height)`` in the released
    ``norm1000`` integers: ``int(v / size * 1000)`` (truncation toward zero, in this order of
    operations: ``78.6 / 100 * 1000`` is ``785.99…``, so 785).

    >>> truncate_norm1000([15.9, 23.0, 78.6, 117.4], (100, 1000))
    [159, 23, 785, 117]
    """
    w, h = image_size
    x1, y1, x2, y2 = box_xyxy_pixel
    return [int(x1 / w * 1000), int(y1 / h * 1000), int(x2 / w * 1000), int(y2 / h * 1000)]


def lisa_training_prompt(query: str) -> str:
    """The released LISA training prompt (``instruction: {query} Output…``, no ``.`` added).

    >>> lisa_training_prompt("the animal that can fly ").split(": ")[1][:30]
    'the animal that can fly Output'
    """
    return (_LISA_ASK + query).strip() + " " + _LISA_FORMAT


def lisa_evaluation_prompt(query: str) -> str:
    """The released LISA evaluation prompt (``instruction: {query}. Output…``).

    >>> lisa_evaluation_prompt("the animal that can fly").split(": ")[1][:31]
    'the animal that can fly. Output'
    """
    return _LISA_ASK + query + ". " + _LISA_FORMAT


def _detection_solution(boxes: Sequence[Sequence[float]], size: tuple[int, int]) -> str:
    """``<answer>[{'Position': [...], 'Confidence': 1}, ...]</answer>`` with truncated boxes."""
    if not boxes:
        return answer("No Objects")
    items = []
    for box in boxes:
        pos = truncate_norm1000(box, size)
        if pos[2] <= pos[0] or pos[3] <= pos[1]:
            raise ValueError(f"box {list(box)} vanishes when truncated to norm1000")
        items.append(f"{{'Position': {pos}, 'Confidence': 1}}")
    return answer("[" + ", ".join(items) + "]")


def _retruncated(rec: Record) -> Record:
    """A detection record whose solution is rewritten with the truncation rule."""
    meta = rec.metadata
    if meta.get("coords") != "norm1000" or meta.get("answer_style") != "visual_rft":
        raise ValueError("the visual_rft protocol writes norm1000 boxes in the visual_rft style")
    size = (int(meta["image_size"][0]), int(meta["image_size"][1]))
    solution = _detection_solution(meta["boxes_xyxy_pixel"], size)
    new_meta = {**meta, "protocol": "visual_rft", "box_rule": "int"}
    return Record(rec.image, rec.problem, solution, rec.task, new_meta)


def apply_visual_rft(report: BuildReport, *, image_prefix: bool = False) -> BuildReport:
    """Rewrite a default build's records under the ``visual_rft`` rules (in place; returned).

    Detection solutions are re-written with :func:`truncate_norm1000` (a record whose box
    vanishes is moved to ``skipped``); ``image_prefix`` puts :data:`IMAGE_PREFIX` before every
    prompt. Classification records need no other change; grounding sets are built by
    :func:`build_grounding_visual_rft` (a different box rule).

    Raises:
        ValueError: a detection record not written in ``norm1000`` with the ``visual_rft`` style.
    """
    kept: list[Record] = []
    for rec in report.records:
        if rec.task == "detection":
            try:
                rec = _retruncated(rec)
            except KeyError as exc:
                raise ValueError(f"detection record lacks metadata {exc}") from None
            except ValueError as exc:
                if "vanishes" not in str(exc):
                    raise
                item = f"image {rec.metadata.get('image_id')} category {rec.metadata.get('category')!r}"
                report.skipped.append(Skipped(item, str(exc)))
                continue
        elif rec.task != "classification" and "protocol" not in rec.metadata:
            raise ValueError(f"{rec.task} records are built by their own visual_rft builder")
        if image_prefix:
            rec = Record(
                rec.image, IMAGE_PREFIX + rec.problem, rec.solution, rec.task,
                {**rec.metadata, "image_prefix": True},
            )  # fmt: skip
        kept.append(rec)
    report.records = kept
    return report


def build_detection_eval_exist_map(
    source: Any,
    categories: Iterable[int],
    exist_map: Mapping[str, Sequence[str]],
) -> BuildReport:
    """Evaluation prompts for the (image, category) pairs a released exist map lists.

    ``source`` is a :class:`~visual_rewards.data.detection.DetectionSource`; images come in
    the annotation file's order and categories in the exist map's order, restricted to
    ``categories`` (ids), as the released evaluation asks them. A pair without ground truth
    expects ``No Objects``; a pair whose ground truth cannot be used (crowd, not exhaustively
    annotated, bad annotation) is reported in ``skipped``. Solutions use the truncation rule.
    """
    from visual_rewards.data.detection import DetectionOptions, prompt_for

    wanted = set(categories)
    report = BuildReport(skipped=list(source.skipped))
    for iid, img in source.images.items():
        for name in exist_map.get(str(iid), ()):
            cid = source.category_ids.get(name)
            if cid is None or cid not in wanted:
                continue
            if (iid, cid) in source.unusable:
                reason = f"in the exist map, but {source.unusable[(iid, cid)]}"
                report.skipped.append(Skipped(f"image {iid} category {name!r}", reason))
                continue
            ids, boxes = source.boxes.get((iid, cid), ([], []))
            pixel = [[float(v) for v in row] for row in boxes]
            try:
                solution = _detection_solution(pixel, img.size)
            except ValueError as exc:
                report.skipped.append(Skipped(f"image {iid} category {name!r}", str(exc)))
                continue
            meta = {
                "source": source.flavor, "split": "eval", "image_id": iid, "category_id": cid,
                "category": name, "annotation_ids": list(ids), "boxes_xyxy_pixel": pixel,
                "image_size": list(img.size), "coords": "norm1000", "answer_style": "visual_rft",
                "negative": not ids, "protocol": "visual_rft", "box_rule": "int",
                "queried_by": "exist_map",
            }  # fmt: skip
            problem = prompt_for(name, DetectionOptions())
            report.records.append(Record(img.path, problem, solution, "detection", meta))
    return report


def _is_point(p: Any) -> bool:
    return (
        isinstance(p, list)
        and len(p) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p)
        and all(math.isfinite(v) for v in p)
    )


def _read_lisa(json_path: str, image_path: str) -> tuple[list[str], list[list[float]]]:
    """``(instructions, first shape's points)`` of one ReasonSeg file, or ``ValueError``."""
    if not image_path:
        raise ValueError("no image with the same name beside it")
    if os.path.getsize(json_path) > MAX_LISA_JSON_BYTES:
        raise ValueError(f"larger than {MAX_LISA_JSON_BYTES} bytes")
    try:
        data = json.loads(Path(json_path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"not valid JSON ({type(exc).__name__})") from None
    texts = data.get("text") if isinstance(data, dict) else None
    texts = [texts] if isinstance(texts, str) else texts
    if not (isinstance(texts, list) and texts and all(isinstance(t, str) for t in texts)):
        raise ValueError("'text' must be a non-empty list of strings")
    shapes = data.get("shapes")
    if not (isinstance(shapes, list) and shapes and isinstance(shapes[0], dict)):
        raise ValueError("no shape (the released rule takes the first)")
    points = shapes[0].get("points")
    if not (isinstance(points, list) and points and all(_is_point(p) for p in points)):
        raise ValueError("the first shape needs finite [x, y] points")
    return texts, points


def _lisa_records(json_path: str, image_path: str, role: str) -> list[Record]:
    """The records of one ReasonSeg file under the released rules (``ValueError`` if unusable)."""
    from visual_rewards.io.files import image_file_size

    texts, points = _read_lisa(json_path, image_path)
    size = check_image_size(image_file_size(image_path), image_path)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    box = [float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys))]
    pos = truncate_norm1000(box, size)
    if pos[2] <= pos[0] or pos[3] <= pos[1]:
        raise ValueError(f"the first shape's box {box} vanishes when truncated to norm1000")
    text = f"({pos[0]},{pos[1]}),({pos[2]},{pos[3]})"
    queries = texts if role == "train" else texts[:1]
    out = []
    for qi, query in enumerate(queries):
        meta: dict[str, Any] = {
            "source": "reasonseg", "json": json_path, "query": query, "query_index": qi,
            "box_xyxy_pixel": box, "polygons": [points], "image_size": list(size),
            "coords": "norm1000", "protocol": "visual_rft", "box_rule": "first_shape_int",
            "role": role,
        }  # fmt: skip
        if role == "train":
            problem, solution = lisa_training_prompt(query), "<answer> " + text + " </answer>"
        else:
            problem, solution = lisa_evaluation_prompt(query), answer(text)
            meta["system_prompt"] = LISA_SYSTEM_PROMPT
        out.append(Record(image_path, problem, solution, "grounding", meta))
    return out


def build_grounding_visual_rft(
    files: Sequence[tuple[str, str]], *, role: str = "train"
) -> BuildReport:
    """ReasonSeg records under the released rules (module docstring), files in the given order.

    ``files`` are ``(json path, image path)`` pairs
    (:func:`~visual_rewards.data.grounding.find_reasonseg_files`); an unusable file is
    reported in ``skipped`` with its path and reason.
    """
    _check_role(role)
    report = BuildReport()
    for json_path, image_path in files:
        try:
            report.records.extend(_lisa_records(json_path, image_path, role))
        except (OSError, ValueError) as exc:
            report.skipped.append(Skipped(json_path, str(exc)))
    return report


def save_visual_rft_dataset(
    records: Sequence[Record], path: str | os.PathLike[str], *, embed_images: bool = True
) -> None:
    """Save ``records`` as a ``DatasetDict`` with one ``train`` split (columns of
    :func:`~visual_rewards.data.export.to_hf_dataset`), the layout the authors' ``grpo.py``
    reads with ``DatasetDict.load_from_disk``; our TRL recipe reads it too."""
    import datasets

    from visual_rewards.data.export import to_hf_dataset

    ds = to_hf_dataset(records, embed_images=embed_images)
    datasets.DatasetDict({"train": ds}).save_to_disk(str(path))
