"""The authors' released reward code, as the ``visual_rft`` presets' answer reader.

The ``visual_rft`` presets score exactly what the reward functions in the authors' released
training scripts (Visual-RFT, ``src/virft/src/open_r1/grpo*.py``) return, on every input --
truncated answers, out-of-range and flipped boxes, and every way their reader fails -- with two
documented exceptions (``docs/reproducing-the-paper.md``): the math-verify shortcut is left out,
and a confidence reward that the released code would return as NaN is 0 here. (The grounding
reward pays 0 where the released one leaves its range ``[0, 2]``, which only flipped boxes do.)

This module is a reimplementation from a reading of that code, not a copy. Its functions are
pure, never raise on model text and run in linear time (no backtracking regular expression;
``json.loads``, never ``eval``):

* :func:`~visual_rewards.parsing.completion.visual_rft_answer` / :func:`first_answer_dotall`: the released answer extraction,
  ``re.search(r"<answer>(.*?)</answer>", text[, re.DOTALL]).group(1)`` (the classification
  reward's ``visual_rft`` rule uses the first).
* :func:`released_boxes_text` and :func:`read_released_list`: the released detection reader
  (wrap the answer, patch brackets and a truncated tail, swap quotes, read JSON).
* :func:`released_detection_scores`: the released IoU and confidence rewards of one answer;
  :func:`released_detection`: a batch of them, as ``DetectionReward`` uses it.
* :func:`released_grounding_score`: the released LISA reward (``GIoU + 1``);
  :func:`released_grounding`: a batch of them, as ``GroundingReward`` uses it.

Where the released code raised an exception (and so paid 0), these functions return ``None``
(or 0 for grounding). Numbers keep their Python types (``int`` or ``float``, as JSON wrote
them) and the arithmetic is done in the released order, so the values agree to the last bit.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from visual_rewards.parsing.completion import visual_rft_answer
from visual_rewards.targets import BoundedCache

__all__ = [
    "check_released_options",
    "finite_or_zero",
    "first_answer_dotall",
    "read_released_list",
    "released_boxes_text",
    "released_detection",
    "released_detection_scores",
    "released_grounding",
    "released_grounding_score",
    "released_gt_positions",
]

_OPEN = "<answer>"
_CLOSE = "</answer>"
#: The released IoU threshold (a match needs IoU strictly above it).
IOU_THRESHOLD = 0.5

Number = int | float
Position = Sequence[Number]


#: Per task, the options that the released code fixes, and their released values: with
#: ``answer_reader="released"`` they cannot be changed (``answer_reader="lenient"`` can).
RELEASED_OPTIONS: dict[str, dict[str, object]] = {
    "detection": {
        "matching": "greedy",
        "iou_threshold": IOU_THRESHOLD,
        "confidence_rule": "linear",
        "unmatched_confidence": "complement",
        "confidence_denominator": "predictions",
        "iou_denominator": "max",
        "validate_confidence": False,
        "empty_reward": False,
        "max_boxes": None,
        "class_aware": False,
        "duplicates": "drop",
        "iou_space": "as_written",
    },
    "grounding": {
        "metric": "giou_plus_one",
        "multiple": "first",
        "coords": "norm1000",
        "gt_coords": None,
    },
}


def check_released_options(task: str, config: object) -> None:
    """Raise ``ValueError`` naming an option that ``answer_reader="released"`` cannot honour.

    >>> from visual_rewards import DetectionReward
    >>> DetectionReward("visual_rft", matching="hungarian")
    Traceback (most recent call last):
    ...
    ValueError: matching='hungarian' needs answer_reader='lenient' (the released code uses 'greedy')
    """
    for name, value in RELEASED_OPTIONS[task].items():
        given = getattr(config, name)
        if given != value:
            raise ValueError(
                f"{name}={given!r} needs answer_reader='lenient' (the released code uses {value!r})"
            )


# ---------------------------------------------------------------------------------------------
# Answer extraction
# ---------------------------------------------------------------------------------------------


def first_answer_dotall(text: str) -> str | None:
    """``re.search(r"<answer>(.*?)</answer>", text, re.DOTALL).group(1)``, or None.

    >>> first_answer_dotall("<answer>a\\nb</answer></answer>")
    'a\\nb'
    """
    start = text.find(_OPEN)
    if start < 0:
        return None
    end = text.find(_CLOSE, start + len(_OPEN))
    return None if end < 0 else text[start + len(_OPEN) : end]


# ---------------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------------


def released_boxes_text(completion: str) -> str:
    """The string the released detection reward hands to its list reader.

    The answer (the whole completion when :func:`~visual_rewards.parsing.completion.visual_rft_answer` finds none) is stripped and
    wrapped in ``<answer>…</answer>``; then ``[[`` becomes ``[``, ``]]`` becomes ``]`` and
    line breaks are deleted, in that order.

    >>> released_boxes_text("<think>x</think><answer> [[1, 2]] </answer>")
    '<answer>[1, 2]</answer>'
    """
    found = visual_rft_answer(completion)
    body = found.strip() if found is not None else completion.strip()
    wrapped = _OPEN + body + _CLOSE
    return wrapped.replace("[[", "[").replace("]]", "]").replace("\n", "")


def read_released_list(text: str, *, raise_unreadable: bool = False) -> object | None:
    """The released list reader: the JSON value it reads from ``text``, or None.

    Nothing without ``<answer>``. The payload runs from the first ``<answer>`` to the first
    ``</answer>`` (to the end when there is none). A payload not ending in ``]`` is cut after
    its last ``},`` and closed with ``}]`` (the whole payload is kept when it has no ``},``).
    Single quotes become double quotes, and the result is read as JSON (``NaN`` and
    ``Infinity`` included); anything unreadable -- nesting too deep, integers too long --
    gives None, or -- with ``raise_unreadable`` -- raises (``ValueError``/``RecursionError``)
    where the released reader fails other than by a JSON decode error (the released evaluation
    loop treats those rows as errors).

    >>> read_released_list("<answer>[{'Position': [1, 2, 3, 4]}, {'Posi</answer>")
    [{'Position': [1, 2, 3, 4]}]
    >>> read_released_list("<answer>No Objects</answer>") is None
    True
    """
    start = text.find(_OPEN)
    if start < 0:
        return None
    start += len(_OPEN)
    end = text.find(_CLOSE)
    if end < 0:
        end = len(text)
    payload = text[start:end]  # empty when the first </answer> comes before <answer>
    if not payload.endswith("]"):
        cut = payload.rfind("},")
        payload = (payload if cut < 0 else payload[:cut]) + "}]"
    try:
        value: object = json.loads(payload.replace("'", '"'))
    except json.JSONDecodeError:
        return None
    except (ValueError, RecursionError):  # int digit limit, deep nesting
        if raise_unreadable:
            raise
        return None
    return value


def _is_number(value: object) -> bool:
    return type(value) in (int, float, bool)


def _four_numbers(value: object) -> bool:
    return type(value) is list and len(value) == 4 and all(_is_number(v) for v in value)


def _position_key(position: object) -> tuple[object, ...] | None:
    """The released de-duplication key, ``tuple(position)``, or None where that fails
    (not iterable, or holding unhashable lists or objects)."""
    if type(position) is list:
        if any(type(v) in (list, dict) for v in position):
            return None
        return tuple(position)
    if type(position) in (str, dict):
        return tuple(position)  # type: ignore[arg-type]
    return None


def _deduplicated(answer: object) -> list[dict[str, object]] | None:
    """The answer's items, first occurrence of each position kept; None where the released
    code fails before matching (not a list starting with an object, an item without a usable
    ``Position``, a kept item without a numeric ``Confidence``)."""
    if not (type(answer) is list and answer and type(answer[0]) is dict):
        return None
    seen: set[tuple[object, ...]] = set()
    kept: list[dict[str, object]] = []
    for item in answer:
        if type(item) is not dict or "Position" not in item:
            return None
        key = _position_key(item["Position"])
        if key is None:
            return None
        if key not in seen:  # (1 == 1.0 == True, as in the released set)
            seen.add(key)
            kept.append(item)
    # Every kept confidence is sorted on and then used in arithmetic: only numbers survive.
    if not all(_is_number(item.get("Confidence")) for item in kept):
        return None
    return kept


def _released_iou(gt: Position, pred: Position) -> Number:
    """IoU of two ``[x1, y1, x2, y2]`` boxes with the released arithmetic and its order
    (0 when the intersection is empty; flipped boxes are not repaired)."""
    gx1, gy1, gx2, gy2 = gt
    px1, py1, px2, py2 = pred
    left, top = max(gx1, px1), max(gy1, py1)
    right, bottom = min(gx2, px2), min(gy2, py2)
    if right <= left or bottom <= top:
        return 0.0
    inter = (right - left) * (bottom - top)
    union = (gx2 - gx1) * (gy2 - gy1) + (px2 - px1) * (py2 - py1) - inter
    return inter / union


def _greedy_matches(
    items: Sequence[dict[str, object]], gt: Sequence[Position]
) -> list[tuple[Number, Number]] | None:
    """``(IoU, confidence)`` per item, in descending confidence (stable): each item takes the
    free ground-truth box of highest IoU (first among equals), kept when above 0.5, else
    ``(0, confidence)``; None where the released code fails (a box that is not 4 numbers is
    compared while a ground-truth box is free, or the arithmetic overflows)."""
    ordered = sorted(items, key=lambda item: item["Confidence"], reverse=True)  # type: ignore[arg-type,return-value]
    taken: set[int] = set()
    out: list[tuple[Number, Number]] = []
    for item in ordered:
        conf: Number = item["Confidence"]  # type: ignore[assignment]
        best: Number = 0
        best_index = -1
        if len(taken) < len(gt):
            pos = item["Position"]
            if not _four_numbers(pos):
                return None
            for i, box in enumerate(gt):
                if i in taken:
                    continue
                try:
                    iou = _released_iou(box, pos)  # type: ignore[arg-type]
                except (OverflowError, ZeroDivisionError):
                    return None
                if iou > best:
                    best, best_index = iou, i
        if best > IOU_THRESHOLD:
            taken.add(best_index)
            out.append((best, conf))
        else:
            out.append((0, conf))
    return out


def released_detection_scores(answer: object, gt: Sequence[Position]) -> tuple[float, float] | None:
    """The released ``(IoU reward, confidence reward)`` of one read answer, or None where the
    released code fails (it then pays 0 and 0).

    Args:
        answer: what :func:`read_released_list` returned for the completion.
        gt: ``G`` ground-truth boxes ``[x1, y1, x2, y2]`` as written (x along the width).

    Returns:
        ``Σ IoU / max(G, P)`` capped at 1, and the mean over the ``P`` de-duplicated boxes of
        ``c`` (matched) or ``1 - c`` (unmatched) clipped to ``[0, 1]`` -- NaN when a confidence
        is NaN or the sum is ``inf - inf`` (the caller decides what NaN pays).

    >>> released_detection_scores([{"Position": [0, 0, 10, 10], "Confidence": 0.8},
    ...                            {"Position": [1000, 141, 1111, 180], "Confidence": 0.4}],
    ...                           [[0, 0, 10, 10]])
    (0.5, 0.7)
    """
    items = _deduplicated(answer)
    if items is None:
        return None
    pairs = _greedy_matches(items, gt)
    if pairs is None:
        return None
    iou_sum = 0.0
    conf_sum = 0.0
    try:
        for iou, conf in pairs:
            iou_sum += iou
            conf_sum += conf if iou else 1 - conf
    except OverflowError:  # an integer confidence too large for a float
        return None
    n = len(pairs)
    iou_reward = iou_sum / (len(gt) if len(gt) >= n else n)
    conf_reward = conf_sum / n
    if conf_reward > 1:
        conf_reward = 1.0
    if conf_reward < 0:
        conf_reward = 0.0
    if iou_reward > 1:
        iou_reward = 1.0
    return iou_reward, conf_reward


def released_detection(
    texts: Sequence[str],
    solutions: Sequence[object] | None,
    gt_rows: Sequence[npt.NDArray[np.float64] | None],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """The released IoU and confidence rewards of ``B`` completions, and where they failed.

    Args:
        texts: ``B`` completion texts.
        solutions: ``B`` ground truths, or None; a string one that :func:`released_gt_positions`
            reads is scored as the released code reads it (integers stay integers).
        gt_rows: per row, the ground-truth boxes ``(G, 4)`` (xyxy, in the predictions'
            coordinates as written) from the library's reader -- used for the other rows --
            or None where the ground truth is malformed (that row is NaN).

    Returns:
        ``iou`` and ``confidence`` ``(B,)`` (a NaN confidence reward pays 0:
        :func:`finite_or_zero`), and ``failed`` ``(B,)``, True where the released code fails
        (it pays 0 and 0).
    """
    n = len(texts)
    iou = np.zeros(n)
    conf = np.zeros(n)
    failed = np.zeros(n, dtype=bool)
    for b, text in enumerate(texts):
        answer = read_released_list(released_boxes_text(text))
        rows = gt_rows[b]
        if rows is None:
            iou[b] = conf[b] = math.nan
            failed[b] = _deduplicated(answer) is None
            continue
        gt: list[list[Number]] | None = None
        sol = None if solutions is None else solutions[b]
        if isinstance(sol, str):
            gt = _cached_gt_positions(sol)
        scores = released_detection_scores(answer, rows.tolist() if gt is None else gt)
        if scores is None:
            failed[b] = True
        else:
            iou[b] = finite_or_zero(scores[0])
            conf[b] = finite_or_zero(scores[1])
    return iou, conf, failed


class _PositionsCache(BoundedCache[str, tuple[list[list[Number]] | None]]):
    """Solution strings already read by :func:`released_gt_positions` (its result, in a
    1-tuple: None is a result too); the positions are only read, never changed."""

    def chars_of(self, key: str, value: tuple[list[list[Number]] | None]) -> tuple[int, int]:
        return len(key), 64 + 32 * len(value[0] or ())  # the record, 4 numbers per box


_POSITIONS_CACHE = _PositionsCache(max_entries=1 << 16, max_chars=1 << 24)


def _cached_gt_positions(solution: str) -> list[list[Number]] | None:
    """:func:`released_gt_positions` of ``solution``, from the bounded cache or read (and
    cached): the same value either way."""
    hit = _POSITIONS_CACHE.get(solution)
    if hit is None:
        hit = (released_gt_positions(solution),)
        _POSITIONS_CACHE.put(solution, hit)
    return hit[0]


def released_gt_positions(solution: str) -> list[list[Number]] | None:
    """Ground-truth boxes read from a solution string the released way (``solution.strip()``
    through :func:`read_released_list`), or None unless that gives objects whose
    ``Position`` is 4 numbers.

    >>> released_gt_positions("<answer>[{'Position': [1, 2, 3, 4], 'Confidence': 1}]</answer>")
    [[1, 2, 3, 4]]
    """
    value = read_released_list(solution.strip())
    if type(value) is not list:
        return None
    out: list[list[Number]] = []
    for item in value:
        if type(item) is not dict or not _four_numbers(item.get("Position")):
            return None
        out.append(item["Position"])
    return out


# ---------------------------------------------------------------------------------------------
# Grounding (the LISA script)
# ---------------------------------------------------------------------------------------------


#: The released LISA box pattern, ``\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*,\s*\(…\)``. Each ``\d+``
#: and ``\s*`` is followed by a character it cannot match, so giving characters back never
#: helps: the possessive form (Python >= 3.11) has the same matches and never backtracks, and
#: an attempt spans at most two ``(`` -- linear time. (Python 3.10 lacks possessive
#: quantifiers; there the plain pattern backtracks at most over the run it just read, still
#: linear.) The tests compare the matches with the released pattern's.
_LISA_BOX = r"\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*,\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)"
try:
    _LISA_BOX_RE = re.compile(_LISA_BOX.replace("*", "*+").replace("+)", "++)"))
except re.error:  # pragma: no cover - Python 3.10
    _LISA_BOX_RE = re.compile(_LISA_BOX)
#: A run of more than 308 digits: no shorter integer fails ``int(…) / 1000`` (``10**308 / 1000``
#: is a float). The look-behind starts a match only at the start of a run: linear time.
_LONG_NUMBER_RE = re.compile(r"(?<!\d)\d{309}")


def _lisa_points(text: str) -> list[tuple[float, float]]:
    """The first two points of the released point list, or fewer.

    The released list holds the ``(x1, y1)`` of every ``(x1,y1),(x2,y2)`` (non-overlapping,
    left to right), then every ``(x2, y2)``, each coordinate ``int(…) / 1000``; only its first
    two points are used. Raises ``ValueError``/``OverflowError`` where the released ``int()``
    or division did on any number written (only numbers of more than 308 digits can).
    """
    if ")" not in text or "," not in text:  # every box has both (a fast C search)
        return []
    boxes = [m.groups() for m in itertools.islice(_LISA_BOX_RE.finditer(text), 2)]
    if not boxes:  # nothing converted, nothing can fail
        return []
    if _LONG_NUMBER_RE.search(text) is not None:  # some number may fail: convert them all
        boxes = _LISA_BOX_RE.findall(text)
        for number in itertools.chain.from_iterable(boxes):
            int(number) / 1000  # the released conversion of every number: raise where it did
    first = boxes[0]
    corner = (first[2], first[3]) if len(boxes) == 1 else (boxes[1][0], boxes[1][1])
    return [
        (int(first[0]) / 1000, int(first[1]) / 1000),
        (int(corner[0]) / 1000, int(corner[1]) / 1000),
    ]


def _giou_plus_one(gt: Sequence[tuple[float, float]], pred: Sequence[tuple[float, float]]) -> float:
    """The released GIoU + 1 of the boxes ``(gt[0], gt[1])`` and ``(pred[0], pred[1])``."""
    (gx1, gy1), (gx2, gy2) = gt[0], gt[1]
    (px1, py1), (px2, py2) = pred[0], pred[1]
    inter = max(0, min(gx2, px2) - max(gx1, px1)) * max(0, min(gy2, py2) - max(gy1, py1))
    union = (gx2 - gx1) * (gy2 - gy1) + (px2 - px1) * (py2 - py1) - inter
    iou = inter / union if union > 0 else 0
    hull = (max(gx2, px2) - min(gx1, px1)) * (max(gy2, py2) - min(gy1, py1))
    giou = iou - (hull - union) / hull if hull > 0 else iou
    return float(giou + 1)


def released_grounding_score(completion: str, solution: str) -> float:
    """The released LISA reward of one completion: ``GIoU + 1``, in ``[0, 2]`` unless a box is
    flipped (then anything; :func:`released_grounding` pays 0 there). Never NaN: the
    coordinates are non-negative integers.

    The answer is the first ``<answer>…</answer>`` (line breaks allowed; the whole completion
    without one), stripped; the solution's the same without line breaks. Each side's boxes are
    read with :func:`_lisa_points`; the reward is ``GIoU + 1`` of the boxes made of the first
    two points (with two boxes written, their two top-left corners), 0 where a side has no
    box, and 2 when the stripped answer equals the stripped solution.

    >>> released_grounding_score("<answer>(100,100),(300,300)</answer>",
    ...                          "<answer> (100,100),(300,300) </answer>")
    2.0
    """
    found = first_answer_dotall(completion)
    answer = found.strip() if found is not None else completion.strip()
    found = visual_rft_answer(solution)
    truth = found.strip() if found is not None else solution.strip()
    if answer == truth:
        return 2.0
    try:
        gt, pred = _lisa_points(truth), _lisa_points(answer)
        if len(gt) < 2 or len(pred) < 2:
            return 0.0
        return _giou_plus_one(gt, pred)
    except (ValueError, OverflowError, ZeroDivisionError):
        return 0.0


def released_grounding(
    texts: Sequence[str], solutions: Sequence[object]
) -> npt.NDArray[np.float64]:
    """:func:`released_grounding_score` of ``B`` completion texts ``(B,)``, with a value
    outside ``[0, 2]`` replaced by 0: with a flipped box the released formula leaves its range
    (``(1000,1000),(0,0)`` against ``(100,100),(300,300)`` earns 26 there), and a flipped box
    must not out-earn the right one. This is the one departure from the released grounding
    reward.

    A solution that is not a string (a box ``[x1, y1, x2, y2]`` or a list of boxes, as
    written in thousandths) is read as the string ``"(x1,y1),(x2,y2)"`` of its first box would
    be, without the exact-string bonus; one without a box scores 0 (callers mark it NaN).
    """
    out = np.zeros(len(texts))
    for b, (text, sol) in enumerate(zip(texts, solutions, strict=True)):
        if isinstance(sol, str):
            out[b] = released_grounding_score(text, sol)
            continue
        box = _first_box(sol)
        if box is None:
            continue
        found = first_answer_dotall(text)
        answer = found.strip() if found is not None else text.strip()
        try:
            pred = _lisa_points(answer)
            gt = [(box[0] / 1000, box[1] / 1000), (box[2] / 1000, box[3] / 1000)]
            out[b] = _giou_plus_one(gt, pred) if len(pred) >= 2 else 0.0
        except (ValueError, OverflowError, ZeroDivisionError):
            out[b] = 0.0
    out[(out < 0.0) | (out > 2.0)] = 0.0
    return out


def _first_box(solution: object) -> list[float] | None:
    """The first ``[x1, y1, x2, y2]`` of a non-string ground truth, or None."""
    value = solution
    if isinstance(value, dict):
        value = value.get("boxes", value.get("box"))
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)):
        value = value[0]
    if not (isinstance(value, (list, tuple)) and len(value) == 4):
        return None
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return [float(v) for v in value]
    return None


def finite_or_zero(value: float) -> float:
    """The documented exception: a NaN reward (a NaN confidence) pays 0 here.

    >>> finite_or_zero(float("nan")), finite_or_zero(0.25)
    (0.0, 0.25)
    """
    return 0.0 if math.isnan(value) else value
