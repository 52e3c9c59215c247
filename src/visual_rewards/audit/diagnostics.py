"""GRPO signal diagnostics of a scored training log (``visual-rewards score`` output).

GRPO learns from the spread of rewards within a group of completions of the same prompt:
``advantage_i = (R_i - mean_g) / std_g``. On a scored log grouped by prompt this reports

* the fraction of groups whose reward has zero variance (no learning signal at all);
* each component's share of the advantage variance: with ``R = Σ_k w_k C_k``,
  ``share_k = Σ_g Σ_i w_k (C_ik - C̄_gk)(R_i - R̄_g) / σ_g² / Σ_g Σ_i (R_i - R̄_g)² / σ_g²``
  over groups with ``σ_g > 0`` (the shares sum to 1; the weights ``w_k`` are fitted to the
  log by least squares, so they need not be known);
* the groups whose highest-reward completion (the first, on ties) is not one with the highest
  metric (:mod:`visual_rewards.audit.metrics`) -- where GRPO pushes towards a worse answer.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from visual_rewards.audit.metrics import MetricContext, task_metric
from visual_rewards.geometry.coords import CoordConfig, CoordSpace

__all__ = ["Diagnostics", "grpo_diagnostics", "read_debug_log"]

_STD_EPS = 1e-12
MAX_LOG_BYTES = 256 << 20


@dataclass(frozen=True)
class Diagnostics:
    """GRPO signal diagnostics of one scored log.

    Attributes:
        rows, groups: rows read (with a reward) and groups of at least two rows.
        zero_variance_groups: groups whose rewards are all equal.
        component_share: component -> share of the advantage variance.
        weights: the fitted ``w_k``; ``fit_residual``: the largest ``|R - Σ w_k C_k|``.
        top_mismatch_groups: groups (with some metric spread) whose top-reward completion
            does not have the top metric; ``metric_spread_groups``: groups with spread.
        examples: up to 10 such groups: key, the top-reward completion's reward and metric,
            and the best metric in the group.
    """

    rows: int
    groups: int
    zero_variance_groups: int
    component_share: dict[str, float]
    weights: dict[str, float]
    fit_residual: float
    metric_spread_groups: int
    top_mismatch_groups: int
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def zero_variance_fraction(self) -> float:
        return self.zero_variance_groups / self.groups if self.groups else math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = dict(self.__dict__)
        out["zero_variance_fraction"] = self.zero_variance_fraction
        return out

    def to_markdown(self) -> str:
        """A short markdown summary."""
        from visual_rewards.audit.report import diagnostics_markdown

        return diagnostics_markdown(self)


def _result(row: Mapping[str, Any], result_field: str) -> tuple[float, dict[str, float]] | None:
    res = row.get(result_field)
    if not isinstance(res, Mapping):
        return None
    total = res.get("total")
    comps = res.get("components")
    if not isinstance(total, (int, float)) or not isinstance(comps, Mapping):
        return None
    values = {str(k): float(v) for k, v in comps.items() if isinstance(v, (int, float))}
    if math.isnan(float(total)) or any(math.isnan(v) for v in values.values()):
        return None
    return float(total), values


def grpo_diagnostics(
    rows: Iterable[Mapping[str, Any]],
    *,
    task: str,
    group_field: str = "prompt",
    result_field: str = "scores",
    completion_field: str = "completion",
    solution_field: str = "solution",
    coords: CoordSpace = "norm1000",
    image_size: tuple[int, int] = (1000, 1000),
) -> Diagnostics:
    """Diagnose a scored log (module docstring). Rows without a group key or a reward
    (``null`` total, e.g. a malformed ground truth) are left out; a row's own ``image_size``
    ``[w, h]`` is used for pixel coordinate spaces.

    >>> rows = [{"prompt": p, "completion": f"<think>x</think><answer>{a}</answer>",
    ...          "solution": 3, "scores": {"total": t, "components": {"accuracy": t - 1, "format": 1.0}}}
    ...         for p, a, t in [("a", "3", 2.0), ("a", "4", 1.0), ("b", "3", 2.0), ("b", "3", 2.0)]]
    >>> d = grpo_diagnostics(rows, task="counting")
    >>> d.groups, d.zero_variance_groups, d.component_share
    (2, 1, {'accuracy': 1.0, 'format': 0.0})
    """
    groups: dict[str, list[tuple[float, dict[str, float], Any, Any, Any]]] = {}
    for row in rows:
        key = row.get(group_field)
        got = _result(row, result_field)
        if key is None or got is None:
            continue
        size = row.get("image_size")
        groups.setdefault(str(key), []).append(
            (got[0], got[1], row.get(completion_field, ""), row.get(solution_field), size)
        )
    names = sorted({k for g in groups.values() for _, comps, *_ in g for k in comps})
    kept = {k: g for k, g in groups.items() if len(g) >= 2}
    weights, residual = _fit_weights(kept, names)
    share, zero = _shares(kept, names, weights)
    spread, mismatch, examples = _mismatch(kept, task, coords, image_size)
    return Diagnostics(
        rows=sum(len(g) for g in groups.values()),
        groups=len(kept),
        zero_variance_groups=zero,
        component_share=share,
        weights=weights,
        fit_residual=residual,
        metric_spread_groups=spread,
        top_mismatch_groups=mismatch,
        examples=examples,
    )


Group = list[tuple[float, dict[str, float], Any, Any, Any]]


def _fit_weights(
    groups: Mapping[str, Group], names: Sequence[str]
) -> tuple[dict[str, float], float]:
    rows = [(r, c) for g in groups.values() for r, c, *_ in g]
    if not rows or not names:
        return {}, math.nan
    a = np.array([[c.get(k, 0.0) for k in names] for _, c in rows])
    b = np.array([r for r, _ in rows])
    w, *_ = np.linalg.lstsq(a, b, rcond=None)
    return {k: round(float(v), 6) for k, v in zip(names, w, strict=True)}, float(
        np.abs(a @ w - b).max()
    )


def _shares(
    groups: Mapping[str, Group], names: Sequence[str], weights: Mapping[str, float]
) -> tuple[dict[str, float], int]:
    num = dict.fromkeys(names, 0.0)
    den = 0.0
    zero = 0
    for g in groups.values():
        r = np.array([x[0] for x in g])
        dr = r - r.mean()
        var = float((dr**2).mean())
        if var <= _STD_EPS**2 or np.ptp(r) == 0:
            zero += 1
            continue
        den += float((dr**2).sum()) / var
        for k in names:
            c = np.array([x[1].get(k, 0.0) for x in g])
            num[k] += weights.get(k, 0.0) * float(((c - c.mean()) * dr).sum()) / var
    share = {k: (round(v / den, 6) if den else math.nan) for k, v in num.items()}
    return share, zero


def _mismatch(
    groups: Mapping[str, Group], task: str, coords: CoordSpace, image_size: tuple[int, int]
) -> tuple[int, int, list[dict[str, Any]]]:
    spread = mismatch = 0
    examples: list[dict[str, Any]] = []
    contexts: dict[tuple[int, int], MetricContext] = {}
    for key, g in groups.items():
        metric = np.empty(len(g))
        for i, (_, _, completion, solution, size) in enumerate(g):
            wh = (int(size[0]), int(size[1])) if isinstance(size, (list, tuple)) else image_size
            ctx = contexts.get(wh)
            if ctx is None:
                cfg = CoordConfig(coords, wh)
                ctx = contexts[wh] = MetricContext(task, cfg, cfg)
            metric[i] = task_metric([completion], [solution], ctx)[0]
        if np.isnan(metric).any() or np.ptp(metric) == 0:
            continue
        spread += 1
        top = int(np.argmax([x[0] for x in g]))
        if metric[top] < metric.max() - 1e-9:
            mismatch += 1
            if len(examples) < 10:
                examples.append(
                    {
                        "group": key,
                        "top_reward": g[top][0],
                        "top_reward_metric": float(metric[top]),
                        "best_metric": float(metric.max()),
                        "size": len(g),
                    }
                )
    return spread, mismatch, examples


def read_debug_log(path: str | Path, max_bytes: int = MAX_LOG_BYTES) -> list[dict[str, Any]]:
    """Rows from an open-r1-multimodal / VLM-R1 GRPO debug log.

    The log is a sequence of blocks ``------------- <time> Accuracy reward: R -------------``,
    ``Content: <completion, possibly several lines>``, ``Solution: <ground truth>``. Each block
    becomes ``{"prompt", "completion", "solution", "logged_reward", "time"}``; the group key
    ``prompt`` is the block's time to the second plus its solution (completions of one prompt
    are logged together). ``solution`` is parsed as a JSON list when it is one.

    Raises:
        ValueError: the file is larger than ``max_bytes`` or has no block.
    """
    import json

    p = Path(path)
    if p.stat().st_size > max_bytes:
        raise ValueError(f"{p}: larger than {max_bytes} bytes")
    rows: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    content: list[str] = []
    with p.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            text = line.rstrip("\n")
            if text.startswith("-------------") and "Accuracy reward:" in text:
                head = text.strip("- ")
                stamp, _, value = head.partition(" Accuracy reward: ")
                current = {"time": stamp.strip(), "logged_reward": _float(value)}
                content = []
            elif current is not None and text.startswith("Solution: "):
                solution: Any = text[len("Solution: ") :].strip()
                with contextlib.suppress(ValueError):
                    solution = json.loads(solution)
                completion = "\n".join(content)
                completion = (
                    completion[len("Content: ") :]
                    if completion.startswith("Content: ")
                    else completion
                )
                second = current["time"].rsplit("-", 1)[0]
                rows.append(
                    {
                        "prompt": f"{second} {json.dumps(solution)}",
                        "completion": completion,
                        "solution": solution,
                        "logged_reward": current["logged_reward"],
                        "time": current["time"],
                    }
                )
                current = None
            elif current is not None:
                content.append(text)
    if not rows:
        raise ValueError(f"{p}: no 'Accuracy reward' / 'Content' / 'Solution' block found")
    return rows


def _float(text: str) -> float:
    try:
        return float(text.strip().split()[0])
    except (ValueError, IndexError):
        return math.nan
