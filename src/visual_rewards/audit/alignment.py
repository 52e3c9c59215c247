"""Reward-metric alignment: does the reward order answers the way the true metric does?

For every ground truth, ``n`` perturbed answers are drawn (random chains of one to three
mutations of the correct answer, :mod:`visual_rewards.audit.mutations`), scored by the reward
(total and each component) and by the task's metric (:mod:`visual_rewards.audit.metrics`).
Per ground truth and per score:

* Kendall's tau-b between score and metric (``scipy.stats.kendalltau``; undefined -- and
  left out of the mean -- when either is constant);
* discordant pairs: among the pairs the metric orders strictly, the fraction the score
  orders strictly the other way (pairs the score ties are not counted as wrong).

The table reports the mean tau over ground truths and the pooled discordant fraction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from visual_rewards.audit.metrics import MetricContext
from visual_rewards.audit.mutations import apply_ops, ops_for, random_op, render

__all__ = ["AlignmentRow", "AlignmentTable", "alignment", "discordant_pairs"]


@dataclass(frozen=True)
class AlignmentRow:
    """One score (``total`` or a component) against the metric.

    Attributes:
        score: ``"total"`` or the component's name.
        kendall_tau: mean tau-b over ground truths (NaN when undefined everywhere).
        discordant: discordant pairs / pairs the metric orders strictly (pooled).
        pairs: pairs the metric orders strictly, over all ground truths.
    """

    score: str
    kendall_tau: float
    discordant: float
    pairs: int


@dataclass(frozen=True)
class AlignmentTable:
    """Alignment of one reward with its task's metric."""

    reward: str
    task: str
    n_ground_truths: int
    n_per_ground_truth: int
    seed: int
    rows: tuple[AlignmentRow, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN as None)."""
        return {
            "reward": self.reward,
            "task": self.task,
            "n_ground_truths": self.n_ground_truths,
            "n_per_ground_truth": self.n_per_ground_truth,
            "seed": self.seed,
            "rows": [
                {
                    "score": r.score,
                    "kendall_tau": None if math.isnan(r.kendall_tau) else r.kendall_tau,
                    "discordant": None if math.isnan(r.discordant) else r.discordant,
                    "pairs": r.pairs,
                }
                for r in self.rows
            ],
        }

    def to_markdown(self) -> str:
        """A markdown table: score, Kendall tau, discordant pairs, pairs."""
        from visual_rewards.audit.report import alignment_markdown

        return alignment_markdown([self])


def discordant_pairs(score: npt.ArrayLike, metric: npt.ArrayLike) -> tuple[int, int]:
    """``(discordant, ordered)``: pairs the metric orders strictly, and those the score orders
    strictly the other way. NaN entries are left out.

    >>> discordant_pairs([1, 2, 3], [3, 2, 1])
    (3, 3)
    >>> discordant_pairs([1, 1, 3], [1, 2, 3])
    (0, 3)
    """
    s = np.asarray(score, dtype=np.float64)
    m = np.asarray(metric, dtype=np.float64)
    keep = ~(np.isnan(s) | np.isnan(m))
    s, m = s[keep], m[keep]
    ds = np.sign(s[:, None] - s[None, :])
    dm = np.sign(m[:, None] - m[None, :])
    upper = np.triu(np.ones(ds.shape, dtype=bool), k=1)
    ordered = upper & (dm != 0)
    return int((ordered & (ds * dm < 0)).sum()), int(ordered.sum())


def _kendall(score: npt.NDArray[np.float64], metric: npt.NDArray[np.float64]) -> float:
    from scipy.stats import kendalltau

    keep = ~(np.isnan(score) | np.isnan(metric))
    s, m = score[keep], metric[keep]
    if s.size < 2 or np.ptp(s) == 0 or np.ptp(m) == 0:
        return math.nan
    return float(kendalltau(s, m).statistic)


def alignment(
    reward: Any,
    ground_truths: Sequence[Any],
    *,
    n: int = 64,
    seed: int = 0,
    max_ops: int = 3,
    image_size: tuple[int, int] = (1000, 1000),
    labels: Sequence[str] | None = None,
    task: str | None = None,
) -> AlignmentTable:
    """Kendall tau and discordant pairs of the reward's total and components vs the metric.

    Args:
        reward: the reward to measure.
        ground_truths: a sample of ground truths in the reward's solution format.
        n: perturbed answers per ground truth (the correct answer is one of them).
        seed: random seed (the same arguments give the same table).
        max_ops: each perturbation is a chain of 1..``max_ops`` mutations.
        image_size, labels, task: as in :func:`~visual_rewards.audit.audit`.

    >>> from visual_rewards import GroundingReward
    >>> t = alignment(GroundingReward(), [[100, 100, 400, 400]], n=32)
    >>> [row.score for row in t.rows], t.rows[1].kendall_tau > 0.5
    (['total', 'iou', 'format'], True)
    """
    from visual_rewards.audit.search import _correct, _label_pool, _Scorer

    task = task or str(getattr(reward, "task", ""))
    mctx = MetricContext.for_reward(task, reward, image_size)
    rng = np.random.default_rng(seed)
    pool = _label_pool(task, ground_truths, labels, mctx)
    names = ops_for(task)
    texts: list[str] = []
    sols: list[Any] = []
    for gt in ground_truths:
        draft, ctx = _correct(task, gt, mctx, pool)
        texts.append(render(draft, mctx.pred))
        for _ in range(n - 1):
            ops = [random_op(names, rng) for _ in range(1 + int(rng.integers(max_ops)))]
            texts.append(render(apply_ops(draft, ops, ctx), mctx.pred))
        sols.extend([gt] * n)
    total, comps, metric, _ = _Scorer(reward, mctx, image_size).score(texts, sols)
    scores = {"total": total, **comps}
    rows = []
    for name, values in scores.items():
        taus, disc, ordered = [], 0, 0
        for g in range(len(ground_truths)):
            s, m = values[g * n : (g + 1) * n], metric[g * n : (g + 1) * n]
            taus.append(_kendall(s, m))
            d, o = discordant_pairs(s, m)
            disc, ordered = disc + d, ordered + o
        valid = [t for t in taus if not math.isnan(t)]
        rows.append(
            AlignmentRow(
                score=name,
                kendall_tau=float(np.mean(valid)) if valid else math.nan,
                discordant=disc / ordered if ordered else math.nan,
                pairs=ordered,
            )
        )
    return AlignmentTable(
        reward=str(getattr(reward, "__name__", type(reward).__name__)),
        task=task,
        n_ground_truths=len(ground_truths),
        n_per_ground_truth=n,
        seed=seed,
        rows=tuple(rows),
    )
