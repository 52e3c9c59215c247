"""Fixture rewards with known holes, for the audit's rediscovery tests.

They are built only from the project's public readers (``parse_completion``,
``parse_detections``, the ground-truth readers, ``hungarian_match``), so they keep their
holes whatever the shipped presets become.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from visual_rewards import GroundingReward
from visual_rewards.geometry.boxes import box_iou
from visual_rewards.geometry.matching import hungarian_match
from visual_rewards.parsing import parse_completion, parse_detections
from visual_rewards.rewards.base import Reward, RewardResult, check_lengths
from visual_rewards.targets import parse_box_target


@dataclass(frozen=True)
class _NoOptions:
    pass


class OldConfidenceRule(Reward):
    """The first round's ``default`` detection reward, with its confidence rule:

    ``iou = Σ matched IoU / max(G, P)``; ``confidence = Σ (c if matched else 1 - c) / max(G, P)``
    (the spam hole: an unmatched box at ``c = 0`` adds 1); Hungarian matching on IoU >= 0.5;
    strict format; ``No Objects`` on an empty image earns full marks.
    """

    task: ClassVar[str] = "detection"
    presets: ClassVar[dict[str, _NoOptions]] = {"default": _NoOptions()}

    def score(
        self, completions: Sequence[Any], solutions: Sequence[Any] | None = None, **columns: Any
    ) -> RewardResult:
        n = check_lengths(completions, solutions)
        assert solutions is not None
        iou_c, conf_c, fmt = np.zeros(n), np.zeros(n), np.zeros(n)
        failed = np.zeros(n, dtype=bool)
        for i, (completion, solution) in enumerate(zip(completions, solutions, strict=True)):
            parsed = parse_completion(completion)
            fmt[i] = parsed.format_ok
            det = parse_detections(parsed.answer)
            target = parse_box_target(solution)
            failed[i] = det.failed
            ok = (det.scores >= 0) & (det.scores <= 1) | np.isnan(det.scores)
            boxes, scores = det.boxes[ok], det.scores[ok]
            g, p = len(target), len(det) + det.n_invalid
            if det.empty and g == 0 and p == 0:
                iou_c[i] = conf_c[i] = 1.0
                continue
            if det.failed or max(g, p) == 0:
                continue
            iou = box_iou(boxes, target.boxes)
            match = hungarian_match(iou, 0.5) if g and len(boxes) else np.full(len(boxes), -1)
            matched = match >= 0
            s = np.nan_to_num(scores, nan=0.0)
            iou_c[i] = (
                float(iou[matched, match[matched]].sum()) / max(g, p) if matched.any() else 0.0
            )
            per = np.where(matched, s, 1.0 - s)
            per[np.isnan(scores)] = 0.0
            conf_c[i] = float(per.sum()) / max(g, p)
        comps = {"iou": iou_c, "confidence": conf_c, "format": fmt}
        return RewardResult(total=iou_c + conf_c + fmt, components=comps, parse_failed=failed)


def _numbers(text: str | None) -> set[float]:
    out: set[float] = set()
    token = ""
    for ch in (text or "") + " ":
        if ch.isdigit() or (ch == "." and token):
            token += ch
        else:
            if token:
                with contextlib.suppress(ValueError):
                    out.add(float(token))
            token = ""
    return out


class SharedNumberShortcut(Reward):
    """Grounding with a math-verify-like shortcut: an answer sharing any number with the
    ground truth earns full IoU (the released Visual-RFT reward's whole-image hole)."""

    task: ClassVar[str] = "grounding"
    presets: ClassVar[dict[str, _NoOptions]] = {"default": _NoOptions()}

    def score(
        self, completions: Sequence[Any], solutions: Sequence[Any] | None = None, **columns: Any
    ) -> RewardResult:
        check_lengths(completions, solutions)
        assert solutions is not None
        base = GroundingReward().score(completions, solutions)
        iou = base.components["iou"].copy()
        for i, (completion, solution) in enumerate(zip(completions, solutions, strict=True)):
            truth = _numbers(
                " ".join(str(v) for v in np.ravel(parse_box_target(solution).raw_boxes))
            )
            if _numbers(parse_completion(completion).answer) & truth:
                iou[i] = 1.0
        comps = {"iou": iou, "format": base.components["format"]}
        return RewardResult(
            total=iou + comps["format"], components=comps, parse_failed=base.parse_failed
        )
