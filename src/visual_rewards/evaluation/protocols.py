"""The ``visual_rft`` evaluation protocol: the paper's numbers, computed the way its authors did.

The default protocol (:mod:`visual_rewards.evaluation.detection`) reads model outputs with the
training parser and asks about the categories the ground truth contains. The released
Visual-RFT evaluation code does four things differently, and its tables were computed with
them; ``protocol="visual_rft"`` reproduces each (``docs/paper-protocol.md`` shows both side by
side):

* **Output to detections** (:func:`released_answer`, :func:`released_xywh`). ``[[``/``]]``
  become ``[``/``]``, line breaks and ``", ..."`` are deleted; the first
  ``<answer>…</answer>`` is taken (the whole text when there is none, so an answer without
  tags is read, while a truncated one is not); a payload not ending in ``]`` is cut after its
  last ``},``; quotes are swapped and the payload read as JSON. Exact duplicate positions are
  removed; boxes are **not** clipped (coordinates beyond 1000 are kept) and **not** repaired
  (a flipped box keeps its negative width/height); a box without ``Confidence`` ends the row
  (the boxes before it are kept); an item without ``Position`` (``bbox_2d``) fails the row.
  A non-numeric confidence, which the released code passes on until its evaluator crashes,
  ends the row the same way and is reported: the row is an error and evaluation goes on.
* **Which pairs are asked** (:func:`queried_pairs`): the (image, category) pairs listed in the
  authors' "exist maps" (``exist_map_*.json``: the baseline model's own yes/no judgments),
  restricted to the evaluated categories, instead of the pairs present in the ground truth.
* **LVIS per-class AP** (:func:`released_class_ap`): precision averaged over all four area
  ranges (the authors' LVIS notebook), not area "all" only; COCO keeps area "all" and 100
  detections per image, as COCOeval and the authors' COCO notebook do. The mAP of a set of
  categories is the mean of their per-class APs.
* **Classification** (:func:`released_class_hit`): the first ``<answer>…</answer>`` on one
  line, not stripped; spaces and ``_`` removed and lower-cased on both sides; a hit when either
  contains the other; no answer is a miss.
* **Grounding** (:func:`released_grounding_metrics`): the first ``(x1,y1),(x2,y2)`` of digits
  anywhere in the output, over 1000, against the unrounded true box; no box scores 0; mIoU.

Model text is untrusted: every function here is linear in its input, uses no regular
expression and never raises on model text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from visual_rewards.geometry.labels import normalize_label
from visual_rewards.io.rows import row_value
from visual_rewards.parsing.completion import visual_rft_answer
from visual_rewards.rewards.paper import read_released_list

__all__ = [
    "PROTOCOLS",
    "ReleasedAnswer",
    "ReleasedStats",
    "check_protocol",
    "queried_pairs",
    "released_answer",
    "released_box_iou",
    "released_class_ap",
    "released_class_hit",
    "released_classification_accuracy",
    "released_detection_metrics",
    "released_detections",
    "released_grounding_box",
    "released_grounding_metrics",
    "released_xywh",
    "render_visual_rft",
    "visual_rft_detection",
]

#: The evaluation (and dataset-building) protocols: today's cleaner rules, or the authors'.
PROTOCOLS: tuple[str, ...] = ("default", "visual_rft")

_OPEN = "<answer>"
_CLOSE = "</answer>"
#: At most this many per-row error messages are kept in :class:`ReleasedStats` (all are counted).
MAX_ERROR_MESSAGES = 100

Number = int | float
Scaled = tuple[float, float, float, float]


def check_protocol(protocol: str) -> str:
    """Return ``protocol`` if it is one of :data:`PROTOCOLS`, else raise ``ValueError``.

    >>> check_protocol("visual_rft")
    'visual_rft'
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {list(PROTOCOLS)}, got {protocol!r}")
    return protocol


class _Failed(Exception):
    """Where the released conversion would raise (or its evaluator crash); carries why."""


@dataclass(frozen=True)
class ReleasedAnswer:
    """The boxes the released conversion reads from one completion.

    Attributes:
        boxes: ``(x1, y1, x2, y2)`` per kept box, as written divided by 1000 (``0..1`` for
            in-range boxes; never clipped or reordered), in answer order.
        scores: the confidence of each box, as written (``int``/``float``/``bool``).
        error: None, or why the released code fails on this row; ``boxes`` then holds the
            boxes it had already produced.
    """

    boxes: tuple[Scaled, ...] = ()
    scores: tuple[Number, ...] = ()
    error: str | None = None


def _released_text(completion: str) -> str:
    """The answer text the released script hands to its list reader (wrapped in tags)."""
    text = completion.replace("[[", "[").replace("]]", "]").replace("\n", "")
    text = text.replace(", ...", "")
    start = text.find(_OPEN)
    end = text.find(_CLOSE, start + len(_OPEN)) if start >= 0 else -1
    body = text[start + len(_OPEN) : end] if end >= 0 else text
    return _OPEN + body.strip() + _CLOSE


def _read_list(text: str) -> Any:
    """The released list reader on wrapped text: a JSON value, or None when unreadable.

    Raises :class:`_Failed` where the reader raises something other than a decode error
    (an integer too long to read, nesting too deep).
    """
    try:
        return read_released_list(text, raise_unreadable=True)
    except (ValueError, RecursionError) as exc:
        raise _Failed(f"answer could not be read ({type(exc).__name__})") from None


def _first_items(value: Any) -> list[Any]:
    """The list the released loop walks; ``[]`` where it skips the row; :class:`_Failed`."""
    if value is None:
        return []
    if isinstance(value, str) and value:
        return []  # ``type(value[0]) == str``: skipped
    if not isinstance(value, list) or not value:
        raise _Failed(f"answer is {'an empty list' if value == [] else type(value).__name__}")
    return [] if isinstance(value[0], str) else value


def _deduplicated(items: list[Any]) -> list[dict[str, Any]]:
    """First occurrence of each ``tuple(Position)`` (``1 == 1.0 == True``, as a set sees it)."""
    seen: set[tuple[Any, ...]] = set()
    kept: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "Position" not in item:
            raise _Failed(f"item {i} has no 'Position'")
        pos = item["Position"]
        if not isinstance(pos, (list, str, dict)):
            raise _Failed(f"item {i}: 'Position' is a {type(pos).__name__}")
        key = tuple(pos)
        try:
            new = key not in seen
        except TypeError:
            raise _Failed(f"item {i}: 'Position' holds a list or an object") from None
        if new:
            seen.add(key)
            kept.append(item)
    return kept


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float))  # bool included, as in the released arithmetic


def _scaled(pos: Any, i: int) -> Scaled:
    """``Position / 1000`` in the released arithmetic, or :class:`_Failed`."""
    if not (isinstance(pos, list) and len(pos) == 4 and all(_is_number(v) for v in pos)):
        raise _Failed(f"item {i}: 'Position' is not four numbers")
    try:
        x1, y1, x2, y2 = (v / 1000.0 for v in pos)
    except OverflowError:
        raise _Failed(f"item {i}: a coordinate is too large for a float") from None
    return x1, y1, x2, y2


def released_answer(completion: str) -> ReleasedAnswer:
    """Read one completion the way the released evaluation script does (module docstring).

    >>> a = released_answer("<think>x</think> <answer>[{'Position': [100, 200, 300, 400], "
    ...                     "'Confidence': 0.9}, {'Position': [100, 200, 300, 400], "
    ...                     "'Confidence': 0.5}]</answer>")
    >>> a.boxes, a.scores, a.error
    (((0.1, 0.2, 0.3, 0.4),), (0.9,), None)
    >>> released_answer("<answer>[{'bbox_2d': [1, 2, 3, 4]}]</answer>").error
    "item 0 has no 'Position'"
    >>> released_answer("<answer>[{'Position': [1, 2, 3, 4], 'Confidence': 0.9}, {'Posi").boxes
    ()
    """
    boxes: list[Scaled] = []
    scores: list[Number] = []
    try:
        items = _first_items(_read_list(_released_text(completion)))
        for i, item in enumerate(_deduplicated(items) if items else []):
            box = _scaled(item["Position"], i)
            if "Confidence" not in item:
                raise _Failed(f"item {i} has no 'Confidence'")
            score = item["Confidence"]
            if not _is_number(score):
                raise _Failed(f"item {i}: 'Confidence' is a {type(score).__name__}, not a number")
            boxes.append(box)
            scores.append(score)
    except _Failed as failed:
        return ReleasedAnswer(tuple(boxes), tuple(scores), str(failed))
    return ReleasedAnswer(tuple(boxes), tuple(scores))


def released_xywh(box: Scaled, width: int, height: int) -> list[float]:
    """A scaled ``(x1, y1, x2, y2)`` box -> COCO ``[x, y, w, h]`` in pixels of a ``width`` x
    ``height`` image, in the released arithmetic (a flipped box keeps a negative size).

    >>> released_xywh((0.1, 0.2, 0.05, 0.4), 200, 100)
    [20.0, 20.0, -10.0, 20.0]
    """
    x1, y1, x2, y2 = box[0] * width, box[1] * height, box[2] * width, box[3] * height
    return [x1, y1, x2 - x1, y2 - y1]


@dataclass
class ReleasedStats:
    """What the released conversion did with the output rows.

    Attributes:
        rows: output rows read; ``converted``: rows converted (queried, known image and category).
        boxes: detections produced; ``rows_without_boxes``: converted rows that gave none.
        error_rows: rows where the released code fails (or its evaluator would crash);
            ``errors``: the first :data:`MAX_ERROR_MESSAGES` of them, ``{"row", "reason"}``.
        not_queried: rows whose (image, category) pair the exist map does not list (left out).
        duplicate_pairs: rows repeating a pair already converted (left out: one answer a pair).
        missing_pairs: queried pairs that no row answers.
        unknown_image, unknown_category: rows naming an image / category not in the annotations.
    """

    rows: int = 0
    converted: int = 0
    boxes: int = 0
    rows_without_boxes: int = 0
    error_rows: int = 0
    not_queried: int = 0
    duplicate_pairs: int = 0
    missing_pairs: int = 0
    unknown_image: int = 0
    unknown_category: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(vars(self))


def queried_pairs(
    exist_map: Mapping[str, Sequence[str]],
    ground_truth: Mapping[str, Any],
    cat_ids: Iterable[Any] | None = None,
) -> set[tuple[Any, Any]]:
    """The (image id, category id) pairs the released evaluation asks about.

    For every image of the annotations, the category names its exist-map entry lists (keys are
    ``str(image_id)``; names as in the annotation file), kept when they name a category of
    ``cat_ids`` (default: every category). Names the file does not know are ignored.

    >>> gt = {"images": [{"id": 7}], "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]}
    >>> sorted(queried_pairs({"7": ["dog", "cat", "unicorn"]}, gt, cat_ids=[2]))
    [(7, 2)]
    """
    by_name = {c["name"]: c["id"] for c in ground_truth.get("categories", [])}
    wanted = None if cat_ids is None else set(cat_ids)
    out: set[tuple[Any, Any]] = set()
    for img in ground_truth.get("images", []):
        for name in exist_map.get(str(img["id"]), ()):
            cid = by_name.get(name)
            if cid is not None and (wanted is None or cid in wanted):
                out.add((img["id"], cid))
    return out


def _category_lookup(ground_truth: Mapping[str, Any]) -> tuple[set[Any], dict[str, Any]]:
    """Category ids, and name -> id (exact names first, then :func:`normalize_label` forms)."""
    cats = ground_truth.get("categories", [])
    by_name: dict[str, Any] = {str(c.get("name", "")): c["id"] for c in cats}
    for c in cats:
        by_name.setdefault(normalize_label(str(c.get("name", ""))), c["id"])
    return {c["id"] for c in cats}, by_name


def _row_category(row: Mapping[str, Any], field_name: str, by_name: Mapping[str, Any]) -> Any:
    cat = row_value(row, "category_id")
    if cat is None:
        cat = row_value(row, field_name)
    if isinstance(cat, str):
        cat = by_name.get(cat, by_name.get(normalize_label(cat), cat))
    return cat


def released_detections(
    rows: Iterable[Mapping[str, Any]],
    ground_truth: Mapping[str, Any],
    *,
    exist_map: Mapping[str, Sequence[str]] | None = None,
    cat_ids: Iterable[Any] | None = None,
    completion_field: str = "completion",
    image_field: str = "image_id",
    category_field: str = "category",
) -> tuple[list[dict[str, Any]], ReleasedStats]:
    """COCO results from output rows by the released conversion (:func:`released_answer`).

    Each row names its image (``image_field``) and the category it asked about
    (``category_id``, or ``category_field`` as an id or a name; also looked up in the row's
    ``metadata``). With ``exist_map``, only the pairs of :func:`queried_pairs` are converted;
    without it, every row with a known image and category is (restricted to ``cat_ids``).

    Returns:
        ``({"image_id", "category_id", "bbox": [x, y, w, h] pixels, "score"}, …)`` in row
        order, and the :class:`ReleasedStats`.
    """
    images = {img["id"]: img for img in ground_truth.get("images", [])}
    known_cats, by_name = _category_lookup(ground_truth)
    wanted = None if cat_ids is None else set(cat_ids)
    asked = None if exist_map is None else queried_pairs(exist_map, ground_truth, wanted)
    stats = ReleasedStats()
    done: set[tuple[Any, Any]] = set()
    out: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        stats.rows += 1
        img = images.get(row_value(row, image_field))
        cat = _row_category(row, category_field, by_name)
        if img is None:
            stats.unknown_image += 1
            continue
        if cat not in known_cats:
            stats.unknown_category += 1
            continue
        pair = (img["id"], cat)
        if (asked is not None and pair not in asked) or (wanted is not None and cat not in wanted):
            stats.not_queried += 1
            continue
        if pair in done:
            stats.duplicate_pairs += 1
            continue
        done.add(pair)
        stats.converted += 1
        answer = released_answer(_text(row.get(completion_field)))
        if answer.error is not None:
            stats.error_rows += 1
            if len(stats.errors) < MAX_ERROR_MESSAGES:
                stats.errors.append({"row": index, "reason": answer.error})
        if not answer.boxes:
            stats.rows_without_boxes += 1
        for box, score in zip(answer.boxes, answer.scores, strict=True):
            bbox = released_xywh(box, img["width"], img["height"])
            out.append({"image_id": img["id"], "category_id": cat, "bbox": bbox, "score": score})
        stats.boxes += len(answer.boxes)
    if asked is not None:
        stats.missing_pairs = len(asked - done)
    return out, stats


def _text(value: Any) -> str:
    """A completion as text: a string as is, a chat message list joined, else empty."""
    from visual_rewards.parsing import completion_text

    return completion_text(value) if value is not None else ""


def released_class_ap(precision: npt.NDArray[np.float64], kind: str) -> npt.NDArray[np.float64]:
    """Per-category AP ``(K,)`` from a ``(T, R, K, A, M)`` precision array, NaN where undefined.

    ``kind="lvis"``: the mean of the entries > -1 over every IoU threshold, recall point and
    **all four area ranges** (the authors' LVIS notebook); ``kind="coco"``: area "all" and the
    last max-detections setting (COCOeval's, and the authors' COCO notebook's, rule).

    >>> p = -np.ones((1, 1, 1, 4, 1)); p[0, 0, 0, :, 0] = [0.5, -1, 1.0, 0.0]
    >>> released_class_ap(p, "lvis").tolist(), released_class_ap(p, "coco").tolist()
    ([0.5], [0.5])
    """
    if kind not in ("coco", "lvis"):
        raise ValueError(f"kind must be 'coco' or 'lvis', got {kind!r}")
    cells = precision[:, :, :, :, -1] if kind == "lvis" else precision[:, :, :, :1, -1]
    out = np.full(precision.shape[2], np.nan)
    for k in range(precision.shape[2]):
        s = cells[:, :, k]
        if (s > -1).any():
            out[k] = float(np.mean(s[s > -1]))
    return out


def released_detection_metrics(
    ground_truth: Mapping[str, Any],
    detections: Sequence[Mapping[str, Any]],
    *,
    kind: str,
    cat_ids: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Per-category AP and their mean over ``cat_ids`` (default: every category), released rule.

    Returns ``{"per_category": {name: AP or None}, "mAP": mean or None, "categories": n}``;
    APs are fractions (the notebooks print them x 100). With ``cat_ids`` (the notebooks'
    ``selected_cate``), ``mAP`` is None when one of them has no AP (the notebooks' mean is
    NaN then); without, the categories that have no AP are left out of both. LVIS uses the federated rules and 300 detections
    per image, COCO 100 per image and category.
    """
    from visual_rewards.evaluation.lvis import box_evaluate

    lvis = kind == "lvis"
    ev = box_evaluate(
        ground_truth,
        list(detections),
        federated=lvis,
        max_dets=(300,) if lvis else (1, 10, 100),
        cat_ids=cat_ids,
    )
    ap = released_class_ap(ev.precision, kind)
    names = {c["id"]: str(c.get("name", c["id"])) for c in ground_truth.get("categories", [])}
    per_category = {
        names[c]: (None if math.isnan(v) else float(v))
        for c, v in zip(ev.cat_ids, ap.tolist(), strict=True)
    }
    if cat_ids is None:  # no list chosen: the categories that have an AP, as COCOeval averages
        per_category = {k: v for k, v in per_category.items() if v is not None}
    values = list(per_category.values())
    defined = [v for v in values if v is not None]
    mean = float(np.mean(defined)) if defined and len(defined) == len(values) else None
    return {"per_category": per_category, "mAP": mean, "categories": len(values)}


def _class_key(text: str) -> str:
    return text.replace(" ", "").replace("_", "").lower()


def released_class_hit(completion: str, class_name: str) -> bool:
    """The released classification rule for one output and its true class name.

    >>> released_class_hit("<think>x</think><answer>Boeing 737-800</answer>", "737-800")
    True
    >>> released_class_hit("<answer>rose\\n</answer>", "rose")
    False
    """
    found = visual_rft_answer(completion)
    if found is None:
        return False
    answer, truth = _class_key(found), _class_key(class_name)
    return truth in answer or answer in truth


def released_classification_accuracy(
    rows: Iterable[Mapping[str, Any]],
    *,
    completion_field: str = "completion",
    solution_field: str = "solution",
    dataset_field: str = "dataset",
) -> dict[str, Any]:
    """Accuracy by :func:`released_class_hit`: overall, per dataset and per class.

    The class name is the solution's ``<answer>`` content (or its ``label``), stripped; a row
    without an answer the released rule can find counts as wrong (``no_answer``), as the
    released script counts it.
    """
    from visual_rewards.parsing import unwrap_answer

    per_dataset: dict[str, list[bool]] = {}
    per_class: dict[str, list[bool]] = {}
    hits: list[bool] = []
    no_answer = 0
    for row in rows:
        sol = row.get(solution_field)
        name = str(sol.get("label", "")) if isinstance(sol, Mapping) else unwrap_answer(str(sol))
        text = _text(row.get(completion_field))
        no_answer += visual_rft_answer(text) is None
        hit = released_class_hit(text, name)
        hits.append(hit)
        per_dataset.setdefault(str(row.get(dataset_field, "all")), []).append(hit)
        per_class.setdefault(name, []).append(hit)

    def mean(v: list[bool]) -> float | None:
        return sum(v) / len(v) if v else None

    return {
        "protocol": "visual_rft",
        "reward": "visual_rft protocol: the released rule",
        "rows": len(hits),
        "not_applicable": 0,
        "no_answer": no_answer,
        "accuracy": mean(hits),
        "per_dataset": {
            k: {"accuracy": mean(v), "n": len(v)} for k, v in sorted(per_dataset.items())
        },
        "per_class": {k: {"accuracy": mean(v), "n": len(v)} for k, v in sorted(per_class.items())},
    }


def visual_rft_detection(
    ground_truth: Mapping[str, Any],
    *,
    rows: Iterable[Mapping[str, Any]] | None = None,
    detections: Sequence[Mapping[str, Any]] | None = None,
    exist_map: Mapping[str, Sequence[str]] | None = None,
    cat_ids: Sequence[Any] | None = None,
    kind: str = "auto",
    completion_field: str = "completion",
    image_field: str = "image_id",
    category_field: str = "category",
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The paper's detection numbers from output ``rows`` (or ready COCO ``detections``).

    ``rows`` go through :func:`released_detections` (with ``exist_map``, only the queried
    pairs); the per-category AP and their mean over ``cat_ids`` follow
    :func:`released_detection_metrics`. Returns ``(section, detections)``: the section is
    ``{"protocol", "kind", "per_category", "mAP", "categories"}`` plus ``conversion`` (the
    :class:`ReleasedStats`) when rows were given, and with an exist map ``queried_pairs`` and
    ``images_not_in_exist_map`` (images of the annotations the map does not list).
    """
    from visual_rewards.evaluation.lvis import is_lvis

    if (rows is None) == (detections is None):
        raise ValueError("give exactly one of rows (model outputs) or detections")
    if kind == "auto":
        kind = "lvis" if is_lvis(ground_truth) else "coco"
    extra: dict[str, Any] = {}
    if rows is not None:
        dets, stats = released_detections(
            rows, ground_truth, exist_map=exist_map, cat_ids=cat_ids,
            completion_field=completion_field, image_field=image_field,
            category_field=category_field,
        )  # fmt: skip
        extra["conversion"] = stats.to_dict()
        if exist_map is not None:
            extra["queried_pairs"] = len(queried_pairs(exist_map, ground_truth, cat_ids))
            images = [str(i["id"]) for i in ground_truth.get("images", [])]
            # the released script stops at the first such image (KeyError); here none is asked
            extra["images_not_in_exist_map"] = sum(i not in exist_map for i in images)
    else:
        if exist_map is not None:
            raise ValueError("an exist map selects model outputs; it needs rows, not detections")
        dets = [dict(d) for d in detections or ()]
    metrics = released_detection_metrics(ground_truth, dets, kind=kind, cat_ids=cat_ids)
    return {"protocol": "visual_rft", "kind": kind, **metrics, **extra}, dets


def render_visual_rft(section: Mapping[str, Any]) -> str:
    """The Markdown printed for a ``visual_rft`` detection section (APs x 100, as in the paper).

    >>> print(render_visual_rft({"kind": "lvis", "mAP": 0.5, "categories": 1,
    ...                          "per_category": {"egg_roll": 0.5}}))
    visual_rft protocol (LVIS): mAP over 1 categories = 50.0
    <BLANKLINE>
    | category | AP |
    |---|---:|
    | egg_roll | 50.0 |
    """
    from visual_rewards.evaluation.render import markdown_table

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.1f}"

    head = (
        f"visual_rft protocol ({str(section['kind']).upper()}): mAP over "
        f"{section['categories']} categories = {pct(section['mAP'])}"
    )
    rows = [[name, pct(ap)] for name, ap in section["per_category"].items()]
    return head + "\n\n" + markdown_table(["category", "AP"], rows)


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _digits(text: str, i: int) -> int:
    """End of the run of decimal digits at ``i`` (``i`` when there is none)."""
    while i < len(text) and text[i].isdecimal():
        i += 1
    return i


def _pair_at(text: str, i: int, values: list[str]) -> int:
    """Match ``(\\s*\\d+\\s*,\\s*\\d+\\s*)`` at ``i`` (``text[i] == "("``); append the
    two digit strings and return the end, or return -1."""
    for sep in (",", ")"):
        i = _skip_space(text, i + 1)
        end = _digits(text, i)
        if end == i:
            return -1
        values.append(text[i:end])
        i = _skip_space(text, end)
        if i >= len(text) or text[i] != sep:
            return -1
    return i + 1


def _first_box_digits(text: str) -> list[str] | None:
    """The four digit strings of the first ``(x1,y1),(x2,y2)`` match, or None."""
    start = text.find("(")
    while start >= 0:
        values: list[str] = []
        end = _pair_at(text, start, values)
        if end >= 0:
            mid = _skip_space(text, end)
            if mid < len(text) and text[mid] == ",":
                second = _skip_space(text, mid + 1)
                is_open = second < len(text) and text[second] == "("
                if is_open and _pair_at(text, second, values) >= 0:
                    return values
        start = text.find("(", start + 1)
    return None


def released_grounding_box(text: str) -> Scaled | None:
    """The first ``(x1,y1),(x2,y2)`` of decimal digits anywhere in ``text`` (spaces allowed
    around every number, comma and parenthesis), divided by 1000; None when there is none
    (or when its first match holds a number too long to read, which the released code
    scores 0 too).

    Equal to the released LISA evaluation's ``re.findall`` of that pattern, first match; one
    pass over the text (each character is looked at by at most two match attempts).

    >>> released_grounding_box("<answer>( 12, 30 ),(400,500)</answer>")
    (0.012, 0.03, 0.4, 0.5)
    >>> released_grounding_box("(x1,y1),(1,2)") is None
    True
    """
    found = _first_box_digits(text)
    if found is None:
        return None
    try:
        x1, y1, x2, y2 = (int(v) for v in found)
    except ValueError:  # more digits than int() reads
        return None
    return x1 / 1000, y1 / 1000, x2 / 1000, y2 / 1000


def released_box_iou(pred: Sequence[float], truth: Sequence[float]) -> float:
    """The released LISA evaluation's IoU of two ``(x1, y1, x2, y2)`` boxes (``1e-6`` added to
    the union; a flipped box is not repaired).

    >>> round(released_box_iou((0, 0, 0.5, 0.5), (0, 0, 0.5, 1.0)), 6)
    0.499999
    """
    ix = max(0.0, min(pred[2], truth[2]) - max(pred[0], truth[0]))
    iy = max(0.0, min(pred[3], truth[3]) - max(pred[1], truth[1]))
    inter = ix * iy
    area_p = (pred[2] - pred[0]) * (pred[3] - pred[1])
    area_t = (truth[2] - truth[0]) * (truth[3] - truth[1])
    union = float(area_p + area_t - inter + 1e-6)
    return 0.0 if union == 0.0 else inter / union


def _truth_box(row: Mapping[str, Any], solution_field: str) -> Scaled | None:
    """The row's true box in ``0..1``: exact from ``box_xyxy_pixel`` and ``image_size`` (as the
    released evaluation divides the pixel box), else read from the ``norm1000`` solution."""
    box, size = row_value(row, "box_xyxy_pixel"), row_value(row, "image_size")
    if (
        isinstance(box, list) and len(box) == 4 and all(_is_number(v) for v in box)
        and isinstance(size, list) and len(size) == 2 and all(_is_number(v) and v > 0 for v in size)
    ):  # fmt: skip
        w, h = size
        return box[0] / w, box[1] / h, box[2] / w, box[3] / h
    sol = row.get(solution_field)
    return released_grounding_box(sol) if isinstance(sol, str) else None


def released_grounding_metrics(
    rows: Iterable[Mapping[str, Any]],
    *,
    completion_field: str = "completion",
    solution_field: str = "solution",
) -> dict[str, Any]:
    """The released LISA evaluation: mean IoU, a row without a readable box scoring 0.

    The prediction is :func:`released_grounding_box` of the completion; the truth is the
    row's pixel box over its image size (``metadata`` written by ``build-dataset grounding``)
    or the solution's box. A row without a readable true box is counted in
    ``bad_ground_truth`` and left out.
    """
    ious: list[float] = []
    no_prediction = bad_truth = 0
    for row in rows:
        truth = _truth_box(row, solution_field)
        if truth is None:
            bad_truth += 1
            continue
        pred = released_grounding_box(_text(row.get(completion_field)))
        no_prediction += pred is None
        ious.append(0.0 if pred is None else released_box_iou(pred, truth))
    return {
        "protocol": "visual_rft",
        "rows": len(ious) + bad_truth,
        "no_prediction": no_prediction,
        "bad_ground_truth": bad_truth,
        "box": {"mIoU": sum(ious) / len(ious) if ious else None},
    }
