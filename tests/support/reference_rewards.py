"""Plain-Python reference implementations of the detection and grounding rewards (the judge).

Written from the paper (§3.2.1) and docs/rewards/*.md with loops only -- no
numpy, no project code. Answers are read the way the released Visual-RFT code reads them
(the text between the tags, single quotes turned into double quotes, ``json.loads``) and then
validated by the rules of docs/parsing.md, so they agree with the project's parser on the Visual-RFT
payloads the tests generate (not on every payload the project's parser accepts).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from typing import Any

from reference_classification import ref_normalize

PAPER_FORMAT_RE = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.DOTALL)
EMPTY_WORDS = {"", "no objects", "no object", "noobjects", "none", "no objects found"}
TIE_BREAK = 1e-9

Box = tuple[float, float, float, float]


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def split_answer(text: str) -> str | None:
    """Content of the first ``<answer>`` block (to the end of the text when never closed)."""
    a0 = text.find("<answer>")
    if a0 < 0:
        return None
    a1 = text.find("</answer>", a0 + 8)
    return text[a0 + 8 :] if a1 < 0 else text[a0 + 8 : a1]


def visible(text: str) -> bool:
    """A character that shows: not whitespace, not a control, format character, mark or separator."""
    return any(
        not c.isspace()
        and unicodedata.category(c)[0] not in "MZ"
        and unicodedata.category(c) not in ("Cc", "Cf")
        for c in text
    )


def strict_format(text: str) -> float:
    """The strict format: exactly one think then one answer, both with visible content, nothing
    visible outside them."""
    tags = re.findall(r"</?(?:think|answer)>", text)
    if tags != ["<think>", "</think>", "<answer>", "</answer>"]:
        return 0.0
    m = re.fullmatch(r"(.*)<think>(.*)</think>(.*)<answer>(.*)</answer>(.*)", text, re.DOTALL)
    if m is None:
        return 0.0
    outside = m.group(1) + m.group(3) + m.group(5)
    return float(not visible(outside) and visible(m.group(2)) and visible(m.group(4)))


def paper_format(text: str) -> float:
    return 1.0 if PAPER_FORMAT_RE.fullmatch(text) else 0.0


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


class Read:
    """One answer read: status 'ok' | 'empty' | 'failed', items and the count of invalid ones."""

    def __init__(self, status: str, items: list[dict[str, Any]] | None = None, invalid: int = 0):
        self.status = status
        self.items = (
            items or []
        )  # dicts: raw (4 floats), box (normalised), conf (float|None), label
        self.invalid = invalid


def read_answer(answer: str | None, scale: float = 1000.0) -> Read:
    """Read a Visual-RFT list answer; invalid items are dropped and counted (docs/parsing.md)."""
    if answer is None:
        return Read("failed")
    text = answer.strip()
    if not text:
        return Read("failed")
    bare = text.strip(" \t\r\n[]'\"`.")
    if " ".join(bare.lower().split()) in EMPTY_WORDS and (bare or "[" in text):
        return Read("empty")
    try:
        data = json.loads(text.replace("'", '"'))
    except ValueError:
        return Read("failed")
    if not isinstance(data, list) or not data or not all(isinstance(d, dict) for d in data):
        return Read("failed")
    items: list[dict[str, Any]] = []
    invalid = 0
    for d in data:
        pos = d.get("Position")
        if not isinstance(pos, list) or len(pos) != 4:
            invalid += 1
            continue
        nums = [_number(v) for v in pos]
        conf: float | None = None
        if "Confidence" in d:
            conf = _number(d["Confidence"])
            if conf is None:
                invalid += 1
                continue
        if any(v is None for v in nums):
            invalid += 1
            continue
        x1, y1, x2, y2 = (float(v) for v in nums)  # type: ignore[arg-type]
        if not (x2 > x1 and y2 > y1):
            invalid += 1
            continue
        box = tuple(min(max(v / scale, 0.0), 1.0) for v in (x1, y1, x2, y2))
        if not (box[2] > box[0] and box[3] > box[1]):
            invalid += 1
            continue
        label = d.get("label")
        items.append({"raw": (x1, y1, x2, y2), "box": box, "conf": conf, "label": label})
    return Read("ok", items, invalid)


def read_solution(solution: Any) -> tuple[list[Box], list[Box], list[str | None] | None]:
    """(raw boxes, normalised boxes, labels) of a ground truth: paper string or dict."""
    if isinstance(solution, str):
        r = read_answer(split_answer(solution) if "<answer>" in solution else solution)
        if r.status == "empty":
            return [], [], None
        assert r.status == "ok" and r.invalid == 0, solution
        return [it["raw"] for it in r.items], [it["box"] for it in r.items], None
    raw = [tuple(float(v) for v in b) for b in solution["boxes"]]
    norm = [tuple(min(max(v / 1000.0, 0.0), 1.0) for v in b) for b in raw]
    return raw, norm, solution.get("labels")  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------------------------


def iou(a: Box, b: Box) -> float:
    """IoU as the released code computes it (``b`` = ground truth)."""
    xi1, yi1 = max(b[0], a[0]), max(b[1], a[1])
    xi2, yi2 = min(b[2], a[2]), min(b[3], a[3])
    if xi2 <= xi1 or yi2 <= yi1:
        return 0.0
    inter = (xi2 - xi1) * (yi2 - yi1)
    area_gt = (b[2] - b[0]) * (b[3] - b[1])
    area_pred = (a[2] - a[0]) * (a[3] - a[1])
    return inter / (area_gt + area_pred - inter)


def giou(a: Box, b: Box) -> float:
    i = iou(a, b)
    inter_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    inter_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter_w * inter_h
    c = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    return i - (c - union) / c


# ---------------------------------------------------------------------------------------------
# Detection, visual_rft preset
# ---------------------------------------------------------------------------------------------


def _visual_rft_matches(
    completion: str, solution: Any
) -> tuple[list[tuple[float, float | None]], int, int, str]:
    """[(matched IoU or 0, confidence)] in visiting order, G, P, status."""
    r = read_answer(split_answer(completion))
    gt_raw, _, _ = read_solution(solution)
    if r.status != "ok":
        return [], len(gt_raw), 0, r.status
    unique: list[dict[str, Any]] = []
    seen: set[Box] = set()
    for it in r.items:  # exact-duplicate positions removed, first kept
        if it["raw"] not in seen:
            seen.add(it["raw"])
            unique.append(it)
    # descending confidence, stable; items without a confidence after all others
    ranked = sorted(unique, key=lambda it: -it["conf"] if it["conf"] is not None else math.inf)
    taken: set[int] = set()
    results: list[tuple[float, float | None]] = []
    for it in ranked:
        best, best_j = 0.0, -1
        for j, g in enumerate(gt_raw):
            if j not in taken:
                v = iou(it["raw"], g)
                if v > best:
                    best, best_j = v, j
        if best > 0.5:
            taken.add(best_j)
            results.append((best, it["conf"]))
        else:
            results.append((0.0, it["conf"]))
    return results, len(gt_raw), len(unique) + r.invalid, r.status


def visual_rft_iou(completion: str, solution: Any) -> float:
    """IoU reward: Σ matched IoU / max(G, P), clipped to [0, 1]; 0 without boxes."""
    results, g, p, status = _visual_rft_matches(completion, solution)
    if status != "ok" or max(g, p) == 0:
        return 0.0
    total = 0.0
    for v, _ in results:
        total += v
    return min(max(total / max(g, p), 0.0), 1.0)


def visual_rft_confidence(completion: str, solution: Any) -> float:
    """Mean over predictions of c if matched else 1 - c (0 without a confidence), clipped."""
    results, _, p, status = _visual_rft_matches(completion, solution)
    if status != "ok" or p == 0:
        return 0.0
    total = 0.0
    for v, c in results:
        if c is None:
            total += 0.0
        elif v != 0:
            total += c
        else:
            total += 1 - c
    return min(max(total / p, 0.0), 1.0)


def visual_rft(completion: str, solution: Any) -> dict[str, float]:
    return {
        "iou": visual_rft_iou(completion, solution),
        "confidence": visual_rft_confidence(completion, solution),
        "format": paper_format(completion),
    }


# ---------------------------------------------------------------------------------------------
# Detection, default preset
# ---------------------------------------------------------------------------------------------


def _norm_label(x: Any) -> str | None:
    """Labels compare after the label rule of the docs (see reference_classification)."""
    return None if x is None else ref_normalize(str(x))


def _allowed(pred_label: Any, gt_label: Any, gt_labels: list[Any] | None) -> bool:
    if gt_labels is None or gt_label is None:
        return True
    if pred_label is None:
        return len({_norm_label(x) for x in gt_labels if x is not None}) <= 1
    return _norm_label(pred_label) == _norm_label(gt_label)


def best_matching(weights: list[list[float | None]], n_gt: int) -> list[int]:
    """Maximum-weight one-to-one matching by dynamic programming over sets of used GT.

    ``weights[i][j]`` is None where pair (i, j) may not match. Returns the gt index per prediction, or -1.
    """
    states: dict[int, tuple[float, tuple[tuple[int, int], ...]]] = {0: (0.0, ())}
    for i, row in enumerate(weights):
        new = dict(states)
        for mask, (val, pairs) in states.items():
            for j in range(n_gt):
                w = row[j]
                if w is None or mask >> j & 1:
                    continue
                key, cand = mask | 1 << j, val + w
                if key not in new or cand > new[key][0]:
                    new[key] = (cand, (*pairs, (i, j)))
        states = new
    _, pairs = max(states.values(), key=lambda s: s[0])
    out = [-1] * len(weights)
    for i, j in pairs:
        out[i] = j
    return out


def default(
    completion: str,
    solution: Any,
    *,
    threshold: float = 0.5,
    rule: str = "linear",
    max_boxes: int = 100,
) -> dict[str, float]:
    """The default preset, from docs/rewards/detection.md: Hungarian matching (ties to the box
    written first), unusable items (unreadable, confidence out of range, every copy of a
    duplicate) cost as confident false positives, both components over G + U."""
    fmt = strict_format(completion)
    _, gt, gt_labels = read_solution(solution)
    r = read_answer(split_answer(completion))
    if r.status == "failed":
        return {"iou": 0.0, "confidence": 0.0, "format": fmt}
    if r.status == "empty":
        full = 1.0 if not gt else 0.0
        return {"iou": full, "confidence": full, "format": fmt}
    unusable = r.invalid
    preds = []  # (position among the readable items, item)
    for k, it in enumerate(r.items):
        c = it["conf"]
        copies = [
            o
            for o in r.items
            if o["raw"] == it["raw"] and _norm_label(o["label"]) == _norm_label(it["label"])
        ]
        if len(copies) > 1 or (c is not None and not 0.0 <= c <= 1.0):
            unusable += 1
        else:
            preds.append((k, it))
    p = len(preds) + unusable
    if p > max_boxes:
        return {"iou": 0.0, "confidence": 0.0, "format": fmt}
    weights: list[list[float | None]] = []
    for k, it in preds:
        row: list[float | None] = []
        for j, g in enumerate(gt):
            v = iou(it["box"], g)
            ok = (
                v >= threshold
                and v > 0
                and _allowed(it["label"], gt_labels[j] if gt_labels else None, gt_labels)
            )
            row.append(v + TIE_BREAK * (1.0 - 2.0 * k / 1000) if ok else None)
        weights.append(row)
    match = best_matching(weights, len(gt))
    iou_sum = 0.0
    conf_sum = -float(unusable)  # each costs as a box at confidence 1
    for (_, it), j in zip(preds, match, strict=True):
        c = 0.0 if it["conf"] is None else it["conf"]
        if j >= 0:
            iou_sum += iou(it["box"], gt[j])
            conf_sum += c if rule == "linear" else 1.0 - (1.0 - c) ** 2
        else:
            conf_sum -= c if rule == "linear" else c**2
    den = len(gt) + p - sum(1 for j in match if j >= 0)
    if den == 0:
        return {"iou": 0.0, "confidence": 0.0, "format": fmt}
    return {
        "iou": min(max(iou_sum / den, 0.0), 1.0),
        "confidence": min(max(conf_sum / den, 0.0), 1.0),
        "format": fmt,
    }


# ---------------------------------------------------------------------------------------------
# Grounding
# ---------------------------------------------------------------------------------------------


def grounding(completion: str, gt_box: Box, preset: str = "default") -> dict[str, float]:
    """docs/rewards/grounding.md: the worst box written (default; an invalid one scores 0) or
    the first valid box (visual_rft) against the ground-truth box."""
    r = read_answer(split_answer(completion))
    gt = tuple(min(max(v / 1000.0, 0.0), 1.0) for v in gt_box)
    if r.status != "ok" or not r.items:
        value = 0.0
    elif preset == "default":
        value = 0.0 if r.invalid else min(iou(it["box"], gt) for it in r.items)
    else:
        value = giou(r.items[0]["box"], gt) + 1.0
    fmt = strict_format(completion) if preset == "default" else paper_format(completion)
    return {"iou": value, "format": fmt}
