"""Judge for the ``visual_rft`` presets: the authors' released reward functions, re-expressed.

Source read: Visual-RFT (github.com/Liuziyu77/Visual-RFT), ``src/virft/src/open_r1/grpo.py``
(detection: ``accuracy_iou``, ``accuracy_confidence``, ``format``),
``grpo_classification.py`` (``accuracy``, ``format``) and ``grpo_lisa.py`` (LISA grounding:
``accuracy``, ``format``). This is a transcription of their *behaviour* in our own words and
structure, written to be checked by eye against that code, one step per released step. It is a
test judge: slow, plain Python, using the released regular expressions on generated text.

Left out, as in the library: the math-verify shortcut that every released accuracy reward
tries first (``verify(parse(completion), parse(solution))``, 1.0 on success). Everything else
is kept, NaN included: the judge returns what the released code returns, and the parity test
applies the library's documented policy for NaN on top.

Every released accuracy reward runs its steps inside ``try: … except Exception: reward = 0``,
so *any* exception means 0. The judge keeps that shape: it runs the steps literally and turns
an exception into 0 (:func:`_zero_on_error`).

No ``eval`` anywhere: the released detection reader uses ``json.loads`` (after swapping quotes),
and so does this judge.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

__all__ = [
    "ANSWER_LINE_RE",
    "released_classification",
    "released_detection",
    "released_format",
    "released_lisa",
]

#: The answer extraction of the accuracy rewards (``.`` without DOTALL: no line breaks).
ANSWER_LINE_RE = re.compile(r"<answer>(.*?)</answer>")
#: The LISA script's extraction of the completion's answer (with DOTALL).
ANSWER_ANY_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
#: The format check of all three scripts, applied with ``fullmatch`` and DOTALL.
FORMAT_RE = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.DOTALL)
#: The LISA script's box pattern: ``(x1,y1),(x2,y2)`` with optional whitespace.
LISA_BOX_RE = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*,\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)")


def _zero_on_error(steps: Callable[[], Any], zero: Any) -> Any:
    """Run ``steps``; where it raises (anything), return ``zero`` -- the released pattern."""
    try:
        return steps()
    except Exception:
        return zero


# ---------------------------------------------------------------------------------------------
# format (identical in the three scripts)
# ---------------------------------------------------------------------------------------------


def released_format(content: str) -> float:
    """1.0 when the whole completion matches ``<think>.*?</think>\\s*<answer>.*?</answer>``
    (DOTALL), else 0.0."""
    return 1.0 if FORMAT_RE.fullmatch(content) else 0.0


# ---------------------------------------------------------------------------------------------
# detection (grpo.py)
# ---------------------------------------------------------------------------------------------


def _bbox_list(text: str) -> Any:
    """The released box-list reader (``extract_bbox``), step by step.

    1. Without ``<answer>`` anywhere: None.
    2. The payload starts after the first ``<answer>`` and stops at the first ``</answer>`` of
       the whole string (searched from the start, not from the opening tag), or at the end of
       the string when there is none.
    3. If the payload does not end with ``]``, it is treated as cut off: everything from its
       last ``},`` on is dropped (the whole payload stays when there is no ``},``) and ``}]``
       is appended.
    4. Every ``'`` becomes ``"``.
    5. ``json.loads``; a ``JSONDecodeError`` gives None. (Other errors -- nesting too deep,
       integers too long -- escape, and the caller's catch-all turns them into a 0 reward.)
    """
    if "<answer>" not in text:
        return None
    begin = text.find("<answer>") + len("<answer>")
    stop = text.find("</answer>")
    if stop == -1:
        stop = len(text)
    payload = text[begin:stop]
    if not payload.endswith("]"):
        payload = payload.rsplit("},", 1)[0] + "}]"
    try:
        return json.loads(payload.replace("'", '"'))
    except json.JSONDecodeError:
        return None


def _student_text(content: str) -> str:
    """What the released detection rewards give :func:`_bbox_list` for a completion.

    The first one-line ``<answer>…</answer>`` (the whole completion when there is none),
    stripped and re-wrapped in answer tags; then ``[[`` -> ``[``, ``]]`` -> ``]`` and every
    ``\\n`` deleted, in that order.
    """
    m = ANSWER_LINE_RE.search(content)
    inner = m.group(1).strip() if m else content.strip()
    text = "<answer>" + inner + "</answer>"
    text = text.replace("[[", "[")
    text = text.replace("]]", "]")
    return text.replace("\n", "")


def _box_iou(a: Any, b: Any) -> Any:
    """The released IoU of ``a`` (ground truth) and ``b`` (prediction), ``[x1, y1, x2, y2]``.

    Unpack both (a length other than 4 raises); intersection corners by max/min; an empty or
    inverted intersection (``<=`` on either axis) is 0.0; else intersection area over
    ``area(a) + area(b) - intersection``, areas taken as written (a flipped box has a
    negative area).
    """
    ax1, ay1, ax2, ay2 = a
    bx1, by1, bx2, by2 = b
    ix1 = max(ax1, bx1)
    iy1 = max(ay1, by1)
    ix2 = min(ax2, bx2)
    iy2 = min(ay2, by2)
    if ix2 <= ix1 or iy2 <= iy1:
        return 0.0
    inter = (ix2 - ix1) * (iy2 - iy1)
    area_a = (ax2 - ax1) * (ay2 - ay1)
    area_b = (bx2 - bx1) * (by2 - by1)
    return inter / (area_a + area_b - inter)


def _unique_by_position(items: list[Any]) -> list[Any]:
    """Keep the first item of each ``tuple(item['Position'])`` (a set of tuples, so ``1``,
    ``1.0`` and ``True`` are the same number)."""
    seen: set[Any] = set()
    out = []
    for item in items:
        key = tuple(item["Position"])
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _match(gt_items: list[Any], pred_items: list[Any]) -> list[tuple[Any, Any]]:
    """The released greedy matching (``sort_and_calculate_iou``, threshold 0.5).

    Predictions in descending ``Confidence`` (Python's stable ``sorted(..., reverse=True)``).
    Each scans the ground-truth items not yet taken, in order, keeping the first one whose IoU
    beats the best so far (starting from 0). If that best IoU is strictly above 0.5 the pair
    is ``(best IoU, confidence)`` and the ground truth is taken; otherwise ``(0, confidence)``.
    """
    order = sorted(pred_items, key=lambda item: item["Confidence"], reverse=True)
    taken: set[int] = set()
    pairs = []
    for pred in order:
        best, best_i = 0, -1
        for i, gt in enumerate(gt_items):
            if i in taken:
                continue
            value = _box_iou(gt["Position"], pred["Position"])
            if value > best:
                best, best_i = value, i
        if best > 0.5:
            pairs.append((best, pred["Confidence"]))
            taken.add(best_i)
        else:
            pairs.append((0, pred["Confidence"]))
    return pairs


def _sums(pairs: list[tuple[Any, Any]]) -> tuple[Any, Any]:
    """Both released sums, accumulated from 0.0 in the matching order: IoU, and confidence
    (``c`` for a matched pair, ``(1 - 0) * (1 - c)`` for an unmatched one). Both released
    rewards compute both sums, so a confidence that is not a number breaks both."""
    iou_total = 0.0
    conf_total = 0.0
    for iou, conf in pairs:
        iou_total += iou
        conf_total += (1 - iou) * (1 - conf) if iou == 0 else conf
    return iou_total, conf_total


def released_detection(content: str, solution: str) -> tuple[float, float]:
    """The released ``(accuracy_iou, accuracy_confidence)`` rewards of one completion.

    Steps (both rewards): ground truth = reader(``solution.strip()``); prediction =
    reader(:func:`_student_text`). A prediction that is None, or whose first element is not a
    ``dict`` (an empty list or a dict raises), pays 0. Otherwise de-duplicate, match, sum, and

    * IoU reward: ``Σ IoU / G`` when ``G >= P`` else ``Σ IoU / P``, then capped at 1.0;
    * confidence reward: ``Σ conf / P``, then capped at 1.0 and floored at 0.0 (a NaN stays).

    Any exception on the way pays 0 (both rewards run the same steps before their formula,
    so they fail together).
    """

    def steps() -> tuple[float, float]:
        truth = _bbox_list(solution.strip())
        pred = _bbox_list(_student_text(content))
        if pred is None or type(pred[0]) is not dict:
            return 0.0, 0.0
        pred = _unique_by_position(pred)
        pairs = _match(truth, pred)
        iou_total, conf_total = _sums(pairs)
        n_gt, n_pred = len(truth), len(pairs)
        iou_reward = iou_total / n_gt if n_gt >= n_pred else iou_total / n_pred
        if iou_reward > 1:
            iou_reward = 1.0
        conf_reward = conf_total / n_pred
        if conf_reward > 1:
            conf_reward = 1.0
        if conf_reward < 0:
            conf_reward = 0.0
        return iou_reward, conf_reward

    return _zero_on_error(steps, (0.0, 0.0))  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# classification (grpo_classification.py)
# ---------------------------------------------------------------------------------------------


def released_classification(content: str, solution: str) -> float:
    """The released classification accuracy: 1.0 or 0.0.

    Both sides: the first one-line ``<answer>…</answer>`` (else the whole text), stripped;
    then every space and ``_`` deleted and ``str.lower()``. Right when either string is a
    substring of the other (so an empty answer is always right).
    """

    def key(text: str) -> str:
        m = ANSWER_LINE_RE.search(text)
        inner = m.group(1).strip() if m else text.strip()
        return inner.replace(" ", "").replace("_", "").lower()

    truth, student = key(solution), key(content)
    return 1.0 if (truth in student or student in truth) else 0.0


# ---------------------------------------------------------------------------------------------
# LISA grounding (grpo_lisa.py)
# ---------------------------------------------------------------------------------------------


def _lisa_points(text: str) -> list[tuple[float, float]]:
    """Every ``(x1,y1),(x2,y2)`` found by ``findall``: first all ``(x1/1000, y1/1000)``, then
    all ``(x2/1000, y2/1000)`` (``int()`` of each digit string, then true division)."""
    found = LISA_BOX_RE.findall(text)
    tops = [(int(x1) / 1000, int(y1) / 1000) for x1, y1, _, _ in found]
    bottoms = [(int(x2) / 1000, int(y2) / 1000) for _, _, x2, y2 in found]
    return tops + bottoms


def _giou_plus_one(gt: list[tuple[float, float]], st: list[tuple[float, float]]) -> float:
    """The released ``compute_giou``: boxes made of points ``[0]`` and ``[1]`` of each list.

    Intersection sides floored at 0; union = both areas (as written) minus the intersection;
    IoU = inter / union when union > 0, else 0; enclosing area C from the outer corners;
    GIoU = IoU - (C - union) / C when C > 0, else IoU; the reward is GIoU + 1.
    """
    (gx1, gy1), (gx2, gy2) = gt[0], gt[1]
    (sx1, sy1), (sx2, sy2) = st[0], st[1]
    width = max(0, min(gx2, sx2) - max(gx1, sx1))
    height = max(0, min(gy2, sy2) - max(gy1, sy1))
    inter = width * height
    union = (gx2 - gx1) * (gy2 - gy1) + (sx2 - sx1) * (sy2 - sy1) - inter
    iou = inter / union if union > 0 else 0
    c_area = (max(gx2, sx2) - min(gx1, sx1)) * (max(gy2, sy2) - min(gy1, sy1))
    giou = iou - (c_area - union) / c_area if c_area > 0 else iou
    return giou + 1  # type: ignore[no-any-return]


def released_lisa(content: str, solution: str) -> float:
    """The released LISA accuracy reward.

    Ground truth: first one-line ``<answer>…</answer>`` of the solution (else all of it),
    stripped. Answer: first ``<answer>…</answer>`` of the completion, line breaks allowed
    (else all of it), stripped. Reward = :func:`_giou_plus_one` of the two point lists (any
    exception -- e.g. fewer than two points -- gives 0.0), then overridden with 2.0 when the
    two stripped strings are equal.
    """
    m = ANSWER_LINE_RE.search(solution)
    truth = m.group(1).strip() if m else solution.strip()
    m = ANSWER_ANY_RE.search(content)
    student = m.group(1).strip() if m else content.strip()
    reward = _zero_on_error(lambda: _giou_plus_one(_lisa_points(truth), _lisa_points(student)), 0.0)
    if student == truth:
        reward = 2.0
    return float(reward)
