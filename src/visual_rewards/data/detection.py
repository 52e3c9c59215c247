"""Detection training and evaluation sets from COCO or LVIS annotation files (paper §4.3, §4.5).

Every record is one (image, category) prompt with the paper's detection prompt; its solution
lists *all* boxes of that category in the image. Three builders:

- :func:`build_fewshot_detection`: ``k`` images per chosen category, seeded.
- :func:`build_open_vocab_train`: ``num_samples`` (image, base category) prompts, seeded
  (the paper samples 6K on COCO's 65 base categories).
- :func:`build_detection_eval`: every (image, category) pair of the chosen categories that the
  image contains. (The paper's evaluation asked instead about the pairs listed in its
  released "exist maps", the baseline model's own judgments of which categories an image
  shows: ``protocol="visual_rft"``,
  :func:`visual_rewards.data.protocols.build_detection_eval_exist_map`.)

What is left out, and why (each reported in :class:`~visual_rewards.data.records.BuildReport`):

- crowd annotations (``iscrowd=1``) never become ground truth, and by default an (image,
  category) pair that has one is not used at all (its objects would be unlabelled);
- LVIS pairs listed in the image's ``not_exhaustive_category_ids`` (incomplete labels);
- a malformed annotation (box not four finite numbers, zero or negative size, outside the
  image by more than one pixel, unknown image or category, a box that vanishes when
  rounded to the output coordinates) is reported with its id, and its (image, category)
  pair is skipped. Boxes outside the image by at most one pixel are clipped to it and counted.

Negative prompts (``negatives > 0``) ask about a chosen category that is verifiably absent
(COCO: not annotated in the image; LVIS: listed in ``neg_category_ids``) and expect
``No Objects``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from visual_rewards.data.categories import resolve_categories
from visual_rewards.data.prompts import detection_prompt
from visual_rewards.data.records import (
    ANSWER_STYLES,
    AnswerStyle,
    BuildReport,
    Record,
    Skipped,
    answer,
    check_image_size,
    check_positive_int,
    coord_precision,
    derived_rng,
    format_boxes_answer,
)
from visual_rewards.geometry.coords import COORD_SPACES, CoordConfig, CoordSpace

__all__ = [
    "DetectionOptions",
    "DetectionSource",
    "build_detection_eval",
    "build_fewshot_detection",
    "build_open_vocab_train",
    "load_detection_source",
]

#: Boxes may stick out of the image by this many pixels (rounding in the source); clipped.
BORDER_TOLERANCE_PX = 1.0


@dataclass(frozen=True)
class _Image:
    id: int
    path: str
    size: tuple[int, int]
    neg_category_ids: frozenset[int]
    not_exhaustive_category_ids: frozenset[int]


@dataclass
class DetectionSource:
    """A parsed, validated COCO or LVIS annotation file.

    Attributes:
        flavor: ``"coco"`` or ``"lvis"`` (LVIS files carry ``neg_category_ids``/``frequency``).
        images: image id -> image (path under the image root, ``(width, height)``).
        category_ids: category name -> id; ``category_names`` the inverse.
        frequency: category id -> LVIS frequency (``r``/``c``/``f``); empty for COCO.
        boxes: (image id, category id) -> (annotation ids, pixel xyxy boxes ``(N, 4)``) of the
            usable pairs only.
        present: image id -> ids of every category annotated in it (including crowd and
            unusable pairs), to pick negatives safely.
        unusable: (image id, category id) pairs that must not be used, with the reason.
        skipped: bad annotations, by id.
        clipped: number of boxes clipped to the image border.
    """

    flavor: str
    images: dict[int, _Image]
    category_ids: dict[str, int]
    category_names: dict[int, str]
    frequency: dict[int, str]
    boxes: dict[tuple[int, int], tuple[list[int], np.ndarray]]
    present: dict[int, set[int]]
    unusable: dict[tuple[int, int], str]
    skipped: list[Skipped] = field(default_factory=list)
    clipped: int = 0

    def category_id(self, name: str) -> int:
        """The id of a category name; ``ValueError`` listing close names when unknown."""
        if name in self.category_ids:
            return self.category_ids[name]
        alt = name.replace(" ", "_")
        if alt in self.category_ids:
            return self.category_ids[alt]
        close = sorted(n for n in self.category_ids if name.split()[0].lower() in n.lower())[:10]
        raise ValueError(f"unknown category {name!r} in this {self.flavor} file; similar: {close}")

    def pairs(self, category_id: int) -> list[int]:
        """Sorted image ids whose (image, category) pair is usable."""
        return sorted(i for (i, c) in self.boxes if c == category_id)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _image_path(img: Mapping[str, Any], image_root: str | Path) -> str:
    if isinstance(img.get("file_name"), str) and img["file_name"]:
        rel = img["file_name"]
    elif isinstance(img.get("coco_url"), str) and img["coco_url"]:
        # LVIS v1 images have no file_name: <split>/<name> from the COCO url, as the
        # released evaluation code does.
        rel = "/".join(img["coco_url"].split("/")[-2:])
    else:
        raise ValueError("image has neither file_name nor coco_url")
    return str(Path(image_root) / rel)


def _read_categories(
    cats: list[Any], skipped: list[Skipped]
) -> tuple[dict[int, str], dict[int, str]]:
    """``(id -> name, id -> LVIS frequency)`` of the valid categories; others go to ``skipped``."""
    names: dict[int, str] = {}
    frequency: dict[int, str] = {}
    for cat in cats:
        if not (isinstance(cat, Mapping) and isinstance(cat.get("id"), int)):
            skipped.append(Skipped(f"category {cat!r:.60}", "no integer id"))
            continue
        if not isinstance(cat.get("name"), str) or not cat["name"].strip():
            skipped.append(Skipped(f"category {cat['id']}", "no name"))
            continue
        names[cat["id"]] = cat["name"]
        if isinstance(cat.get("frequency"), str):
            frequency[cat["id"]] = cat["frequency"]
    return names, frequency


def _read_images(
    imgs: list[Any], image_root: str | Path, skipped: list[Skipped]
) -> dict[int, _Image]:
    """Image id -> :class:`_Image` of the valid images; others go to ``skipped``."""
    images: dict[int, _Image] = {}
    for img in imgs:
        if not (isinstance(img, Mapping) and isinstance(img.get("id"), int)):
            skipped.append(Skipped(f"image {img!r:.60}", "no integer id"))
            continue
        try:
            size = check_image_size((img.get("width"), img.get("height")), f"image {img['id']}")
            path = _image_path(img, image_root)
        except ValueError as exc:
            skipped.append(Skipped(f"image {img['id']}", str(exc)))
            continue
        images[img["id"]] = _Image(
            id=img["id"],
            path=path,
            size=size,
            neg_category_ids=frozenset(img.get("neg_category_ids") or ()),
            not_exhaustive_category_ids=frozenset(img.get("not_exhaustive_category_ids") or ()),
        )
    return images


def _bbox_problem(bbox: Any, size: tuple[int, int]) -> str | None:
    """Why a COCO ``[x, y, w, h]`` box cannot be used in an image of ``size``, or None."""
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_is_number(v) for v in bbox)):
        return f"bbox must be 4 finite numbers [x, y, w, h], got {bbox!r:.80}"
    x, y, w, h = (float(v) for v in bbox)
    w_img, h_img = size
    tol = BORDER_TOLERANCE_PX
    if not (w > 0 and h > 0):
        return f"bbox has zero or negative size {bbox}"
    if x < -tol or y < -tol or x + w > w_img + tol or y + h > h_img + tol:
        return f"bbox {bbox} lies outside the {w_img}x{h_img} image"
    return None


@dataclass
class _Annotations:
    """What :func:`_read_annotations` collects."""

    grouped: dict[tuple[int, int], tuple[list[int], list[list[float]]]] = field(
        default_factory=dict
    )
    present: dict[int, set[int]] = field(default_factory=dict)
    unusable: dict[tuple[int, int], str] = field(default_factory=dict)
    clipped: int = 0


def _read_annotations(
    anns: list[Any],
    images: dict[int, _Image],
    category_names: dict[int, str],
    skip_crowd_pairs: bool,
    skipped: list[Skipped],
) -> _Annotations:
    """Group the usable boxes by (image, category), clipped to the image; report the rest."""
    out = _Annotations()
    for ann in anns:
        if not isinstance(ann, Mapping) or not isinstance(ann.get("id"), int):
            skipped.append(Skipped(f"annotation {ann!r:.60}", "no integer id"))
            continue
        aid, iid, cid = ann["id"], ann.get("image_id"), ann.get("category_id")
        if not isinstance(iid, int) or iid not in images:
            skipped.append(Skipped(f"annotation {aid}", f"unknown or invalid image_id {iid!r}"))
            continue
        if not isinstance(cid, int) or cid not in category_names:
            skipped.append(Skipped(f"annotation {aid}", f"unknown category_id {cid!r}"))
            continue
        out.present.setdefault(iid, set()).add(cid)
        pair = (iid, cid)
        if ann.get("iscrowd", 0):
            if skip_crowd_pairs:
                out.unusable.setdefault(pair, f"crowd annotation {aid}")
            continue
        if cid in images[iid].not_exhaustive_category_ids:
            out.unusable.setdefault(pair, "category not exhaustively annotated in this image")
            continue
        reason = _bbox_problem(ann.get("bbox"), images[iid].size)
        if reason is not None:
            skipped.append(Skipped(f"annotation {aid}", reason))
            out.unusable[pair] = f"bad annotation {aid}"
            continue
        x, y, w, h = (float(v) for v in ann["bbox"])
        w_img, h_img = images[iid].size
        box = [max(x, 0.0), max(y, 0.0), min(x + w, float(w_img)), min(y + h, float(h_img))]
        if box != [x, y, x + w, y + h]:
            out.clipped += 1
        ids, boxes = out.grouped.setdefault(pair, ([], []))
        ids.append(aid)
        boxes.append(box)
    return out


def load_detection_source(
    annotations: str | Path | Mapping[str, Any],
    image_root: str | Path,
    *,
    skip_crowd_pairs: bool = True,
) -> DetectionSource:
    """Read and validate a COCO/LVIS annotation file (path or already-loaded dict).

    Raises ``ValueError`` when the file is not a detection annotation file at all (no
    ``images``/``annotations``/``categories`` lists); individual bad items are reported in
    ``skipped`` instead.
    """
    if isinstance(annotations, Mapping):
        data: Mapping[str, Any] = annotations
    else:
        try:
            with open(annotations, encoding="utf-8") as fh:
                data = json.load(fh)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            reason = str(exc).splitlines()[0][:200] if str(exc) else "nested too deeply"
            raise ValueError(f"{annotations}: not valid JSON ({reason})") from None
    name = "annotations" if isinstance(annotations, Mapping) else str(annotations)
    if not isinstance(data, Mapping):
        raise ValueError(f"{name}: not a COCO/LVIS detection file: the top level must be an object")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise ValueError(f"{name}: not a COCO/LVIS detection file: {key!r} must be a list")
    lvis = any("frequency" in c for c in data["categories"] if isinstance(c, Mapping)) or any(
        "neg_category_ids" in im for im in data["images"] if isinstance(im, Mapping)
    )
    skipped: list[Skipped] = []
    category_names, frequency = _read_categories(data["categories"], skipped)
    images = _read_images(data["images"], image_root, skipped)
    anns = _read_annotations(data["annotations"], images, category_names, skip_crowd_pairs, skipped)
    usable = {
        pair: (ids, np.asarray(boxes, dtype=np.float64).reshape(-1, 4))
        for pair, (ids, boxes) in anns.grouped.items()
        if pair not in anns.unusable
    }
    return DetectionSource(
        flavor="lvis" if lvis else "coco",
        images=images,
        category_ids={name: cid for cid, name in category_names.items()},
        category_names=category_names,
        frequency=frequency,
        boxes=usable,
        present=anns.present,
        unusable=anns.unusable,
        skipped=skipped,
        clipped=anns.clipped,
    )


@dataclass(frozen=True)
class DetectionOptions:
    """How records are written.

    Attributes:
        coords: coordinate space of the solution (and of the prompt's wording).
        style: ``"visual_rft"`` (``Position``/``Confidence``) or ``"bbox_2d"`` (Qwen2.5-VL).
        negatives: negative prompts per positive record (0 = none).
        category_text: ``"as_is"`` writes the file's category name into the prompt (the
            released code does this, LVIS underscores included); ``"spaces"`` replaces ``_``
            with spaces.
    """

    coords: CoordSpace = "norm1000"
    style: AnswerStyle = "visual_rft"
    negatives: int = 0
    category_text: str = "as_is"

    def __post_init__(self) -> None:
        if self.coords not in COORD_SPACES:
            raise ValueError(f"coords must be one of {COORD_SPACES}, got {self.coords!r}")
        if self.style not in ANSWER_STYLES:
            raise ValueError(f"style must be one of {ANSWER_STYLES}, got {self.style!r}")
        if isinstance(self.negatives, bool) or not isinstance(self.negatives, int):
            raise TypeError(f"negatives must be an int, got {self.negatives!r}")
        if self.negatives < 0:
            raise ValueError(f"negatives must be >= 0, got {self.negatives}")
        if self.category_text not in ("as_is", "spaces"):
            raise ValueError(
                f"category_text must be 'as_is' or 'spaces', got {self.category_text!r}"
            )


def prompt_for(category: str, options: DetectionOptions) -> str:
    """The detection prompt for ``category`` in ``options.coords`` / ``options.style``.

    ``norm1000`` + ``visual_rft`` is the paper's prompt verbatim; other spaces change only
    the coordinate range wording, and ``bbox_2d`` only the answer example.

    >>> "(between 0 and 1000, integer)" in prompt_for("cat", DetectionOptions())
    True
    >>> "bbox_2d" in prompt_for("cat", DetectionOptions(coords="qwen25vl", style="bbox_2d"))
    True
    """
    text = category.replace("_", " ") if options.category_text == "spaces" else category
    prompt = detection_prompt(text)
    ranges = {
        "norm1000": "(between 0 and 1000, integer)",
        "normalized": "(between 0 and 1, relative to the image size, with three decimal places)",
        "pixel": "(in pixels of the image, integer)",
        "qwen25vl": "(in pixels of the image, integer)",
    }
    prompt = prompt.replace(ranges["norm1000"], ranges[options.coords])
    if options.style == "bbox_2d":
        prompt = prompt.replace("return 'No Objects'", "return []").replace(
            "[{'Position': [x1, y1, x2, y2], 'Confidence': number}, ...]",
            '[{"bbox_2d": [x1, y1, x2, y2], "label": "' + text + '"}, ...]',
        )
    return prompt


def _record(
    src: DetectionSource,
    image_id: int,
    category_id: int,
    options: DetectionOptions,
    split: str,
    extra: Mapping[str, Any],
) -> Record:
    """The record of one (image, category) pair; empty boxes make a negative."""
    img = src.images[image_id]
    name = src.category_names[category_id]
    ids, boxes = src.boxes.get((image_id, category_id), ([], np.zeros((0, 4))))
    label = name.replace("_", " ") if options.category_text == "spaces" else name
    text = format_boxes_answer(
        boxes, coords=options.coords, image_size=img.size, style=options.style, label=label
    )
    meta: dict[str, Any] = {
        "source": src.flavor,
        "split": split,
        "image_id": image_id,
        "category_id": category_id,
        "category": name,
        "annotation_ids": list(ids),
        "boxes_xyxy_pixel": [[float(v) for v in row] for row in boxes],
        "image_size": list(img.size),
        "coords": options.coords,
        "answer_style": options.style,
        "negative": len(ids) == 0,
        **extra,
    }
    return Record(img.path, prompt_for(name, options), answer(text), "detection", meta)


def _emit(
    src: DetectionSource,
    report: BuildReport,
    image_id: int,
    category_id: int,
    options: DetectionOptions,
    split: str,
    extra: Mapping[str, Any],
) -> None:
    report.records.append(_record(src, image_id, category_id, options, split, extra))


def _usable_pairs(
    src: DetectionSource, cat_ids: Sequence[int], options: DetectionOptions, report: BuildReport
) -> dict[int, list[int]]:
    """Category id -> sorted image ids of the usable pairs whose boxes survive rounding.

    A pair with a box that becomes empty in ``options.coords`` is reported and left out.
    (Vectorised over all boxes; the same arithmetic as :func:`round_boxes`.)
    """
    out: dict[int, list[int]] = {c: [] for c in cat_ids}
    pairs = sorted(p for p in src.boxes if p[1] in out)
    if not pairs:
        return out
    counts = np.array([src.boxes[p][1].shape[0] for p in pairs])
    boxes = np.concatenate([src.boxes[p][1] for p in pairs])
    sizes = np.array([src.images[iid].size for iid, _ in pairs], dtype=np.float64)
    scales: dict[tuple[int, int], tuple[float, float]] = {}
    for iid, _ in pairs:
        size = src.images[iid].size
        if size not in scales:
            scales[size] = CoordConfig(options.coords, image_size=size).scale()
    scale = np.array([scales[src.images[iid].size] for iid, _ in pairs], dtype=np.float64)
    wh = np.repeat(np.hstack([sizes, sizes]), counts, axis=0)
    sxy = np.repeat(np.hstack([scale, scale]), counts, axis=0)
    rounded = np.round(boxes / wh * sxy, coord_precision(options.coords))
    bad = (rounded[:, 2] <= rounded[:, 0]) | (rounded[:, 3] <= rounded[:, 1])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    bad_per_pair = np.add.reduceat(bad.astype(np.int64), starts)
    for (iid, cid), n_bad, start in zip(pairs, bad_per_pair, starts, strict=True):
        if n_bad:
            ids = src.boxes[(iid, cid)][0]
            first = int(np.flatnonzero(bad[start : start + len(ids)])[0])
            report.skipped.append(
                Skipped(
                    f"annotation {ids[first]}", f"box vanishes when rounded to {options.coords}"
                )
            )
            continue
        out[cid].append(iid)
    return out


def _negative_candidates(src: DetectionSource, image_id: int, pool: Sequence[int]) -> list[int]:
    img = src.images[image_id]
    if src.flavor == "lvis":
        return [c for c in pool if c in img.neg_category_ids]
    present = src.present.get(image_id, set())
    return [c for c in pool if c not in present]


def _add_negatives(
    src: DetectionSource,
    report: BuildReport,
    image_id: int,
    pool: Sequence[int],
    options: DetectionOptions,
    seed: int,
    split: str,
    extra: Mapping[str, Any],
    taken: set[tuple[int, int]],
) -> None:
    if options.negatives == 0:
        return
    cands = [c for c in _negative_candidates(src, image_id, pool) if (image_id, c) not in taken]
    rng = derived_rng(seed, "negatives", split, image_id)
    for c in rng.sample(cands, min(options.negatives, len(cands))):
        taken.add((image_id, c))
        _emit(src, report, image_id, c, options, split, extra)


def _start(src: DetectionSource) -> BuildReport:
    report = BuildReport(skipped=list(src.skipped))
    if src.clipped:
        report.notes.append(f"{src.clipped} boxes outside the image by <= 1 px clipped to it")
    return report


def _resolve_ids(src: DetectionSource, categories: str | Iterable[str]) -> list[int]:
    names = resolve_categories(categories if isinstance(categories, str) else list(categories))
    return [src.category_id(n) for n in names]


def build_fewshot_detection(
    source: DetectionSource,
    categories: str | Iterable[str],
    k: int,
    *,
    seed: int = 0,
    options: DetectionOptions | None = None,
    strict: bool = False,
) -> BuildReport:
    """``k`` images per category (paper §4.3: k in {1, 2, 4, 8, 16}), one prompt each.

    For each category, the usable images (sorted by id) are sampled without replacement with
    a generator derived from ``(seed, category)``; a category with fewer than ``k`` usable
    images gives all of them and is listed in ``shortfalls`` (``strict=True`` raises instead;
    the paper's LVIS rare categories have 1-10 images and are used as "10-shot").
    Records come category by category, in the order given; negatives follow.
    """
    options = options or DetectionOptions()
    check_positive_int("k", k)
    report = _start(source)
    cat_ids = _resolve_ids(source, categories)
    usable = _usable_pairs(source, cat_ids, options, report)
    taken: set[tuple[int, int]] = set()
    extra = {"seed": seed, "k": k}
    for cid in cat_ids:
        name = source.category_names[cid]
        cands = usable[cid]
        if len(cands) < k:
            if strict:
                raise ValueError(f"category {name!r} has {len(cands)} usable images, k={k}")
            report.shortfalls[name] = (k, len(cands))
        chosen = derived_rng(seed, "fewshot", name).sample(cands, min(k, len(cands)))
        for iid in chosen:
            taken.add((iid, cid))
            _emit(source, report, iid, cid, options, "fewshot", extra)
    for iid in [r.metadata["image_id"] for r in report.records]:
        _add_negatives(source, report, iid, cat_ids, options, seed, "fewshot", extra, taken)
    return report


def build_open_vocab_train(
    source: DetectionSource,
    base_categories: str | Iterable[str] = "paper-coco-base-65",
    num_samples: int = 6000,
    *,
    seed: int = 0,
    options: DetectionOptions | None = None,
) -> BuildReport:
    """``num_samples`` (image, base category) prompts drawn uniformly without replacement.

    The paper (§4.5) trains on 6K samples of COCO's 65 base categories; the released
    dataset has 6K entries, one prompt per (image, category) with all its boxes.
    """
    options = options or DetectionOptions()
    check_positive_int("num_samples", num_samples)
    report = _start(source)
    cat_ids = _resolve_ids(source, base_categories)
    usable = _usable_pairs(source, cat_ids, options, report)
    pairs = sorted((iid, cid) for cid, iids in usable.items() for iid in iids)
    if len(pairs) < num_samples:
        report.shortfalls["base pairs"] = (num_samples, len(pairs))
    chosen = derived_rng(seed, "open_vocab").sample(pairs, min(num_samples, len(pairs)))
    extra = {"seed": seed, "num_samples": num_samples}
    taken = set(chosen)
    for iid, cid in chosen:
        _emit(source, report, iid, cid, options, "open_vocab_train", extra)
    for iid, _ in chosen:
        _add_negatives(source, report, iid, cat_ids, options, seed, "ov", extra, taken)
    return report


def build_detection_eval(
    source: DetectionSource,
    categories: str | Iterable[str],
    *,
    options: DetectionOptions | None = None,
    seed: int = 0,
    max_images: int | None = None,
) -> BuildReport:
    """Every usable (image, category) pair of ``categories``, images in id order.

    For the paper's novel COCO categories use ``"paper-coco-novel-15"``; for the LVIS rare
    test ``"paper-lvis-13"``. ``max_images`` keeps the first images (by id) that have a pair.
    """
    options = options or DetectionOptions()
    check_positive_int("max_images", max_images, optional=True)
    report = _start(source)
    cat_ids = _resolve_ids(source, categories)
    usable = _usable_pairs(source, cat_ids, options, report)
    by_image: dict[int, list[int]] = {}
    for cid in cat_ids:
        for iid in usable[cid]:
            by_image.setdefault(iid, []).append(cid)
    image_ids = sorted(by_image)
    if max_images is not None:
        image_ids = image_ids[:max_images]
    taken = {(i, c) for i in image_ids for c in by_image[i]}
    extra = {"seed": seed}
    for iid in image_ids:
        for cid in by_image[iid]:
            _emit(source, report, iid, cid, options, "eval", extra)
        _add_negatives(source, report, iid, cat_ids, options, seed, "eval", extra, taken)
    return report
