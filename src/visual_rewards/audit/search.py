"""The hack search: hill-climb on reward minus metric, then delta-debug what it found.

Two kinds of hack are reported, both judged by the task's true metric
(:mod:`visual_rewards.audit.metrics`):

* ``beats_correct`` -- an answer that earns at least as much as the correct answer while its
  metric is lower;
* ``pays_for_worse`` -- one mutation that makes an answer unambiguously worse and strictly
  raises its reward (junk boxes that pay, a duplicate that pays, ...). Unambiguously: for
  detection, AP is higher at no IoU threshold of 0.5:0.95 and lower even at the most lenient
  one, 0.5 (raising the confidence of a loose box that matches at 0.5 but not at 0.75 only
  changes AP at the strict thresholds: a trade-off the reward may make, not a hack).

A single mutation changes one thing, so the second kind does not flag a reward that
legitimately trades one imperfection for another (a confident loose box against a timid
exact one); the first kind needs no such care because nothing may beat the correct answer.
Mutations that lower the metric at an unchanged reward (the reward ignores a box it already
counts as invalid, say) are blind spots, not hacks: nothing pushes a policy towards them.

Search: for every ground truth a pool of candidates (the correct answer and a few typical
outputs: random short mutation chains) is kept; each round, pool members get children with
one more random mutation (:mod:`visual_rewards.audit.mutations`); all children of all ground
truths are scored in one batch call of the reward and the pool keeps the best by
``reward - lam * span * metric`` (``span``: the correct answer's reward, at least 1). Every
answer scored counts against ``budget``; the same text is never scored twice. Each hack is
then reduced to a 1-minimal list of mutations (no single mutation can be dropped and leave a
hack of the same kind; for ``pays_for_worse`` the last, offending mutation is kept), with
its own evaluation count.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from visual_rewards.audit.metrics import MetricContext, task_metric_profile
from visual_rewards.audit.mutations import (
    Draft,
    Op,
    OpContext,
    apply_ops,
    ops_for,
    random_op,
    render,
)
from visual_rewards.geometry.coords import normalize_xyxy
from visual_rewards.targets import class_target, count_target, parse_box_target, point_target

__all__ = ["AuditReport", "Hack", "audit"]

_METRIC_EPS = 1e-6
_REWARD_EPS = 1e-9
_MAX_OPS = 10
_RESTART = 0.25
#: Typical model outputs, per task: mutation chains applied to the correct answer.
_TYPICAL: dict[str, tuple[tuple[str, ...], ...]] = {
    "detection": (
        ("set_all_confidence",),
        ("remove_box", "set_all_confidence"),
        ("jitter_box", "set_all_confidence"),
        ("add_box",),
        ("jitter_box",),
        ("dialect",),
    ),
    "grounding": (("jitter_box",), ("grow_box",), ("dialect",), ("jitter_box", "jitter_box")),
    "classification": (("other_label",), ("typo",), ("case",)),
    "counting": (("off_by",), ("sentence",), ("number_word",)),
    "pointing": (("jitter_point",), ("add_point",), ("dialect",)),
}
KINDS = ("beats_correct", "pays_for_worse")


@dataclass(frozen=True)
class Hack:
    """One hack, reduced to the fewest mutations.

    Attributes:
        kind: ``"beats_correct"`` or ``"pays_for_worse"`` (module docstring).
        ground_truth: index of the ground truth in the audited sample.
        completion: the minimal hacked answer.
        ops: its mutations of the correct answer, in order; ``families``: theirs.
        reward, metric, components: what it earns and what it is worth.
        reference: ``"correct answer"`` or ``"before <last op>"``; ``reference_completion``,
            ``reference_reward``, ``reference_metric``: that answer's text and numbers.
        correct_reward, correct_metric: the correct answer's.
        found_after: evaluations spent when the search first hit this hack.
        occurrences: raw hacks that reduced to the same mutations.
    """

    kind: str
    ground_truth: int
    completion: str
    ops: tuple[str, ...]
    families: tuple[str, ...]
    reward: float
    metric: float
    components: dict[str, float]
    reference: str
    reference_completion: str
    reference_reward: float
    reference_metric: float
    correct_reward: float
    correct_metric: float
    found_after: int
    occurrences: int = 1
    #: the ops' parameters, so that ``Op(name, u)`` replays the answer exactly
    op_params: tuple[tuple[float, ...], ...] = ()

    @property
    def signature(self) -> tuple[str, ...]:
        """What makes two hacks the same: kind, the offending op, the sorted others."""
        if self.kind == "pays_for_worse":
            return (self.kind, self.ops[-1], *sorted(self.ops[:-1]))
        return (self.kind, *sorted(self.ops))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class AuditReport:
    """What an audit found, and what it cost.

    ``hacks`` has one entry per distinct minimal mutation list: ``beats_correct`` first, then
    by metric lost.
    """

    reward: str
    task: str
    budget: int
    seed: int
    evaluations: int
    minimize_evaluations: int
    seconds: float
    n_ground_truths: int
    hacks: tuple[Hack, ...] = ()

    @property
    def clean(self) -> bool:
        """True when no hack was found within the budget."""
        return not self.hacks

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = {k: v for k, v in self.__dict__.items() if k != "hacks"}
        out["clean"] = self.clean
        out["hacks"] = [h.to_dict() for h in self.hacks]
        return out

    def to_markdown(self, max_chars: int = 160) -> str:
        """A markdown report (answers escaped and shortened to ``max_chars``)."""
        from visual_rewards.audit.report import audit_markdown

        return audit_markdown(self, max_chars)


@dataclass
class _Cand:
    ops: tuple[Op, ...]
    text: str
    reward: float
    metric: float
    fitness: float = math.nan
    parent: _Cand | None = None
    profile: npt.NDArray[np.float64] | None = None


@dataclass
class _Truth:
    """One ground truth under audit: its correct draft, op context, correct answer and pool."""

    index: int
    solution: Any
    draft: Draft
    ctx: OpContext
    correct: _Cand | None = None
    starts: list[_Cand] = field(default_factory=list)
    pool: list[_Cand] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    span: float = 1.0


# ---------------------------------------------------------------------------------------------
# Correct answers
# ---------------------------------------------------------------------------------------------


def _correct(
    task: str, solution: Any, mctx: MetricContext, pool: tuple[str, ...]
) -> tuple[Draft, OpContext]:
    """The correct answer's draft (coordinates in norm1000) and the ops' context."""
    if task in ("detection", "grounding"):
        target = parse_box_target(solution, mctx.gt)
        boxes = (target.boxes * 1000.0).tolist()
        if task == "grounding":
            boxes = boxes[:1]
            draft = Draft(task, boxes, [None] * len(boxes), [None] * len(boxes), dialect="bare")
            return draft, OpContext(pool)
        labels: list[str | None] = (
            list(target.labels) if target.labels is not None else [None] * len(boxes)
        )
        return Draft(task, boxes, [1.0] * len(boxes), labels), OpContext(pool)
    if task == "classification":
        return Draft(task, text=class_target(solution).label), OpContext(pool)
    if task == "counting":
        n = count_target(solution).count
        return Draft(task, text=str(n)), OpContext(pool, count=n)
    target_p = point_target(solution)
    if target_p.box is None:
        raise ValueError("the audit needs box targets for pointing (polygons are not supported)")
    box = normalize_xyxy([target_p.box], mctx.gt)[0] * 1000.0
    centre = [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]
    region = (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
    return Draft(task, [centre], [None], [None], dialect="point_2d"), OpContext(pool, region=region)


# ---------------------------------------------------------------------------------------------
# Scoring and judging
# ---------------------------------------------------------------------------------------------


#: ``total (B,)``, ``components``, ``metric (B,)`` and the metric's parts ``(B, K)``.
Scores = tuple[
    npt.NDArray[np.float64],
    dict[str, npt.NDArray[np.float64]],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
]


class _Scorer:
    """Scores answers in one batch call of the reward and counts evaluations."""

    def __init__(self, reward: Any, mctx: MetricContext, image_size: tuple[int, int]) -> None:
        self.reward = reward
        self.mctx = mctx
        self.image_size = image_size
        self.count = 0

    def text(self, truth: _Truth, ops: tuple[Op, ...]) -> str:
        return render(apply_ops(truth.draft, ops, truth.ctx), self.mctx.pred)

    def score(self, texts: Sequence[str], solutions: Sequence[Any]) -> Scores:
        if not texts:
            return np.zeros(0), {}, np.zeros(0), np.zeros((0, 1))
        columns: dict[str, Any] = {}
        if "image_size" in getattr(self.reward, "extra_columns", ()):
            columns["image_size"] = [self.image_size] * len(texts)
        res = self.reward.score(list(texts), list(solutions), **columns)
        self.count += len(texts)
        profile = task_metric_profile(texts, solutions, self.mctx)
        comps = {k: np.asarray(v, dtype=np.float64) for k, v in res.components.items()}
        return np.asarray(res.total, dtype=np.float64), comps, profile.mean(axis=1), profile


def _beats(cand: _Cand, ref: _Cand) -> bool:
    """Worth less than the reference by the metric, and paid at least as much."""
    values = (cand.reward, cand.metric, ref.reward, ref.metric)
    if any(math.isnan(v) for v in values):
        return False
    return ref.metric - cand.metric > _METRIC_EPS and cand.reward >= ref.reward - _REWARD_EPS


def _pays_for_worse(cand: _Cand) -> bool:
    """Unambiguously worse than its parent (no metric part higher, the first -- detection's
    AP at IoU 0.5 -- lower), and paid strictly more."""
    p = cand.parent
    if p is None or cand.profile is None or p.profile is None:
        return False
    values = (cand.reward, cand.metric, p.reward, p.metric)
    if any(math.isnan(v) for v in values):
        return False
    if cand.reward <= p.reward + _REWARD_EPS or p.metric - cand.metric <= _METRIC_EPS:
        return False
    lenient_worse = p.profile[0] - cand.profile[0] > _METRIC_EPS
    return lenient_worse and bool(np.all(cand.profile <= p.profile + _METRIC_EPS))


def _kind(truth: _Truth, cand: _Cand) -> str | None:
    """The kind of hack ``cand`` is (against the correct answer first), or None."""
    assert truth.correct is not None
    if _beats(cand, truth.correct):
        return "beats_correct"
    if _pays_for_worse(cand):
        return "pays_for_worse"
    return None


# ---------------------------------------------------------------------------------------------
# The audit
# ---------------------------------------------------------------------------------------------


def audit(
    reward: Any,
    ground_truths: Sequence[Any],
    *,
    budget: int = 2000,
    seed: int = 0,
    lam: float = 1.0,
    pool_size: int = 8,
    children: int = 4,
    n_typical: int = 6,
    labels: Sequence[str] | None = None,
    image_size: tuple[int, int] = (1000, 1000),
    max_hacks: int = 20,
    minimize_budget: int | None = None,
    task: str | None = None,
) -> AuditReport:
    """Search for answers a reward pays at least as well as better ones (module docstring).

    Args:
        reward: a reward object (``score(completions, solutions, **columns)`` and ``task``).
        ground_truths: a sample of ground truths in the reward's solution format.
        budget: answers the search may score (every distinct answer once).
        seed: the random seed; the same arguments give the same report.
        lam: weight of the metric in the hill-climb's objective ``reward - lam*span*metric``.
        pool_size, children: candidates kept per ground truth; children per candidate and round.
        n_typical: random short mutation chains seeding each pool, besides the task's
            typical outputs (missed boxes, lower confidences, loose boxes, another class, ...).
        labels: class names the label mutations draw from (default: the reward's label set,
            else the labels of the ground truths).
        image_size: ``(width, height)`` passed for pixel coordinate spaces.
        max_hacks: distinct hacks to reduce and report.
        minimize_budget: evaluations for delta debugging (default: ``budget // 2``).
        task: the task (default: ``reward.task``).

    Returns:
        An :class:`AuditReport`; ``report.clean`` is True when nothing was found.

    >>> from visual_rewards import ClassificationReward
    >>> rep = audit(ClassificationReward("visual_rft"), ["Bengal", "Persian"], budget=300)
    >>> rep.clean, ("empty_answer",) in [h.ops for h in rep.hacks]
    (False, True)
    """
    t0 = time.perf_counter()
    task = task or str(getattr(reward, "task", ""))
    mctx = MetricContext.for_reward(task, reward, image_size)
    if budget < 1:
        raise ValueError(f"budget must be >= 1, got {budget}")
    if not ground_truths:
        raise ValueError("the audit needs at least one ground truth")
    rng = np.random.default_rng(seed)
    scorer = _Scorer(reward, mctx, image_size)
    pool_labels = _label_pool(task, ground_truths, labels, mctx)
    truths = _prepare(task, ground_truths, mctx, pool_labels, scorer, rng, n_typical, lam)
    raw: dict[tuple[int, str], tuple[_Cand, str, int]] = {}
    stale = 0
    while scorer.count < budget and stale < 3:
        batch = _children(truths, scorer, rng, ops_for(task), pool_size * children)
        batch = batch[: budget - scorer.count]
        stale = stale + 1 if not batch else 0
        total, _, metric, prof = scorer.score(
            [c.text for _, c in batch], [t.solution for t, _ in batch]
        )
        fresh: dict[int, list[_Cand]] = {}
        for k, ((truth, cand), r, m) in enumerate(
            zip(batch, total.tolist(), metric.tolist(), strict=True)
        ):
            cand.reward, cand.metric, cand.profile = r, m, prof[k]
            cand.fitness = _fitness(r, m, lam, truth.span)
            fresh.setdefault(truth.index, []).append(cand)
            kind = _kind(truth, cand)
            if kind is not None:
                raw.setdefault((truth.index, cand.text), (cand, kind, scorer.count))
        for truth in truths:
            truth.pool = _select(truth.pool + fresh.get(truth.index, []), pool_size)
    search_evals = scorer.count
    limit = search_evals + (budget // 2 if minimize_budget is None else minimize_budget)
    hacks = _minimise_all(raw, truths, scorer, limit, max_hacks)
    return AuditReport(
        reward=str(getattr(reward, "__name__", type(reward).__name__)),
        task=task,
        budget=budget,
        seed=seed,
        evaluations=search_evals,
        minimize_evaluations=scorer.count - search_evals,
        seconds=round(time.perf_counter() - t0, 3),
        n_ground_truths=len(truths),
        hacks=tuple(hacks),
    )


def _children(
    truths: Sequence[_Truth],
    scorer: _Scorer,
    rng: np.random.Generator,
    names: Sequence[str],
    per_truth: int,
) -> list[tuple[_Truth, _Cand]]:
    """One round's new answers: a pool member (a start, one time in four, or when the member
    has too many ops) plus one random op; texts already scored are skipped."""
    batch: list[tuple[_Truth, _Cand]] = []
    for truth in truths:
        for _ in range(per_truth):
            parent = truth.pool[int(rng.integers(len(truth.pool)))]
            if len(parent.ops) >= _MAX_OPS or rng.random() < _RESTART:
                parent = truth.starts[int(rng.integers(len(truth.starts)))]
            ops = (*parent.ops, random_op(names, rng))
            text = scorer.text(truth, ops)
            if text in truth.seen:
                continue
            truth.seen.add(text)
            batch.append((truth, _Cand(ops, text, math.nan, math.nan, parent=parent)))
    return batch


def _select(cands: list[_Cand], size: int) -> list[_Cand]:
    """Half the pool by fitness, half by the last step's gain (reward up, metric down)."""

    def key_fit(c: _Cand) -> float:
        return math.inf if math.isnan(c.fitness) else -c.fitness

    def key_step(c: _Cand) -> float:
        p = c.parent
        if p is None or math.isnan(c.fitness) or math.isnan(p.fitness):
            return math.inf
        return -(c.fitness - p.fitness)

    by_fit = sorted(cands, key=key_fit)
    chosen = by_fit[: (size + 1) // 2]
    ids = {id(c) for c in chosen}
    for c in sorted(cands, key=key_step):
        if len(chosen) >= size:
            break
        if id(c) not in ids:
            chosen.append(c)
            ids.add(id(c))
    return chosen


def _fitness(reward: float, metric: float, lam: float, span: float) -> float:
    if math.isnan(reward) or math.isnan(metric):
        return math.nan
    return reward - lam * span * metric


def _label_pool(
    task: str, ground_truths: Sequence[Any], labels: Sequence[str] | None, mctx: MetricContext
) -> tuple[str, ...]:
    if labels is not None:
        return tuple(labels)
    if mctx.labels is not None:
        return tuple(mctx.labels.labels)
    names: dict[str, None] = {}
    for gt in ground_truths:
        try:
            if task == "classification":
                names[class_target(gt).label] = None
            elif task == "detection":
                for lab in parse_box_target(gt, mctx.gt).labels or ():
                    if lab is not None:
                        names[lab] = None
        except ValueError:
            continue
    return tuple(names) or ("object", "thing")


def _prepare(
    task: str,
    ground_truths: Sequence[Any],
    mctx: MetricContext,
    pool_labels: tuple[str, ...],
    scorer: _Scorer,
    rng: np.random.Generator,
    n_typical: int,
    lam: float,
) -> list[_Truth]:
    """Every ground truth's correct answer and typical outputs, scored in one batch."""
    structural = [n for n in ops_for(task) if OPS_POST.isdisjoint({n})]
    truths: list[_Truth] = []
    starts: list[tuple[_Truth, _Cand]] = []
    for i, gt in enumerate(ground_truths):
        try:
            draft, ctx = _correct(task, gt, mctx, pool_labels)
        except ValueError as exc:
            raise ValueError(f"ground truth {i}: {exc}") from None
        truth = _Truth(i, gt, draft, ctx)
        truths.append(truth)
        chains: list[tuple[Op, ...]] = [()]
        for names in _TYPICAL.get(task, ()):
            chains.append(tuple(Op(n, tuple(float(v) for v in rng.random(6))) for n in names))
        for _ in range(n_typical):
            chains.append(
                tuple(random_op(structural, rng) for _ in range(1 + int(rng.integers(2))))
            )
        for ops in chains:
            text = scorer.text(truth, ops)
            if text not in truth.seen:
                truth.seen.add(text)
                starts.append((truth, _Cand(ops, text, math.nan, math.nan)))
    total, _, metric, prof = scorer.score(
        [c.text for _, c in starts], [t.solution for t, _ in starts]
    )
    for k, ((truth, cand), r, m) in enumerate(
        zip(starts, total.tolist(), metric.tolist(), strict=True)
    ):
        cand.reward, cand.metric, cand.profile = r, m, prof[k]
        if truth.correct is None:
            truth.correct = cand
            if math.isnan(r):
                raise ValueError(f"ground truth {truth.index}: the reward does not apply (NaN)")
            truth.span = max(abs(r), 1.0)
        cand.fitness = _fitness(r, m, lam, truth.span)
        truth.pool.append(cand)
        truth.starts.append(cand)
    return truths


#: Ops that edit the rendered text (syntax, tags, truncation, Unicode).
OPS_POST = frozenset(
    [
        "drop_think",
        "empty_think",
        "swap_blocks",
        "duplicate_answer",
        "text_outside",
        "drop_close",
        "truncate",
        "uppercase_tags",
        "code_fence",
        "zero_width",
        "combining_mark",
        "homoglyph",
        "fullwidth",
        "nbsp",
    ]
)


# ---------------------------------------------------------------------------------------------
# Delta debugging
# ---------------------------------------------------------------------------------------------


def _minimise_all(
    raw: dict[tuple[int, str], tuple[_Cand, str, int]],
    truths: list[_Truth],
    scorer: _Scorer,
    limit: int,
    max_hacks: int,
) -> list[Hack]:
    """Reduce raw hacks (fewest ops first) to distinct minimal hacks, within ``limit`` evals."""
    by_index = {t.index: t for t in truths}
    order = sorted(raw.items(), key=lambda kv: (KINDS.index(kv[1][1]), len(kv[1][0].ops), kv[1][2]))
    found: dict[tuple[str, ...], Hack] = {}
    tried: set[tuple[int, str, tuple[str, ...]]] = set()
    for (gi, _), (cand, kind, when) in order:
        if scorer.count >= limit:
            break
        key = (gi, kind, tuple(sorted(op.name for op in cand.ops)))
        if key in tried:
            continue
        tried.add(key)
        hack = _minimise(by_index[gi], cand, kind, scorer, limit, when)
        old = found.get(hack.signature)
        if old is None:
            if len(found) < max_hacks:
                found[hack.signature] = hack
            continue
        keep = (
            hack if hack.reference_metric - hack.metric > old.reference_metric - old.metric else old
        )
        found[hack.signature] = _replace(
            keep,
            found_after=min(old.found_after, hack.found_after),
            occurrences=old.occurrences + 1,
        )
    hacks = list(found.values())
    hacks.sort(key=lambda h: (KINDS.index(h.kind), h.metric - h.reference_metric, len(h.ops)))
    return hacks


def _replace(h: Hack, **changes: Any) -> Hack:
    data = dict(h.__dict__)
    data.update(changes)
    return Hack(**data)


def _still(truth: _Truth, kind: str, ops: tuple[Op, ...], scorer: _Scorer) -> list[_Cand]:
    """Score ``ops`` (and, for ``pays_for_worse``, ``ops[:-1]`` as its parent)."""
    texts = [scorer.text(truth, ops)]
    if kind == "pays_for_worse":
        texts.append(scorer.text(truth, ops[:-1]))
    total, _, metric, prof = scorer.score(texts, [truth.solution] * len(texts))
    cands = [_Cand(ops, texts[0], float(total[0]), float(metric[0]), profile=prof[0])]
    if kind == "pays_for_worse":
        parent = _Cand(ops[:-1], texts[1], float(total[1]), float(metric[1]), profile=prof[1])
        cands[0].parent = parent
        cands.append(parent)
    return cands


def _holds(truth: _Truth, kind: str, cand: _Cand) -> bool:
    assert truth.correct is not None
    if kind == "beats_correct":
        return _beats(cand, truth.correct)
    return _pays_for_worse(cand)


def _minimise(
    truth: _Truth, cand: _Cand, kind: str, scorer: _Scorer, limit: int, when: int
) -> Hack:
    """1-minimal reduction: drop single ops while the answer stays a hack of the same kind."""
    current = cand
    fixed_tail = 1 if kind == "pays_for_worse" else 0
    progress = True
    while progress and scorer.count < limit:
        progress = False
        n_free = len(current.ops) - fixed_tail
        for k in range(n_free):
            if scorer.count >= limit:
                break
            trial_ops = current.ops[:k] + current.ops[k + 1 :]
            trial = _still(truth, kind, trial_ops, scorer)[0]
            if _holds(truth, kind, trial):
                current, progress = trial, True
                break
    return _hack(truth, current, kind, scorer, when)


def _hack(truth: _Truth, cand: _Cand, kind: str, scorer: _Scorer, when: int) -> Hack:
    _, parts, _, _ = scorer.score([cand.text], [truth.solution])
    correct = truth.correct
    assert correct is not None
    ref = correct if kind == "beats_correct" else cand.parent
    assert ref is not None
    name = "correct answer" if kind == "beats_correct" else f"before {cand.ops[-1].name}"
    return Hack(
        kind=kind,
        ground_truth=truth.index,
        completion=cand.text,
        ops=tuple(op.name for op in cand.ops),
        families=tuple(dict.fromkeys(op.family for op in cand.ops)),
        reward=cand.reward,
        metric=cand.metric,
        components={k: float(v[0]) for k, v in parts.items()},
        reference=name,
        reference_completion=ref.text,
        reference_reward=ref.reward,
        reference_metric=ref.metric,
        correct_reward=correct.reward,
        correct_metric=correct.metric,
        found_after=when,
        op_params=tuple(op.u for op in cand.ops),
    )
