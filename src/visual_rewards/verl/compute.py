"""veRL's ``compute_score`` and the batch scoring behind the reward manager (no veRL import).

veRL hands a rule-based reward one sample at a time: ``data_source`` (a string from the
dataset), ``solution_str`` (the decoded response), ``ground_truth`` (the dataset's
``reward_model.ground_truth``) and ``extra_info`` (the dataset's ``extra_info`` dict), plus
the ``reward_kwargs`` of the config as keyword arguments. This module routes each sample to
the reward of its task (task names and their aliases: the reward registry,
:func:`visual_rewards.rewards.registry.resolve_task`) and shapes the result the way
veRL wants it: a dict with ``"score"`` and, for every sample of a task, the same other keys
(veRL stacks them into ``reward_extra_info`` and fails on ragged keys).

Reward options (``reward_kwargs``)::

    preset: visual_rft            # preset of every task (default: "default"); a task that
                                  # lacks it is an error, never a silent fallback
    counting:                     # options of one task, passed to its reward
      preset: default             #   (a task picks its own preset: counting has no visual_rft)
      confidence_rule: brier
    task: detection               # task of samples that name none (see task_of)
    not_applicable_score: 0.0     # score where the reward does not apply (bad ground truth)
    components: true              # false: only score/applicable/parse_failed in the extra
                                  # info (needed when one batch mixes tasks, whose component
                                  # keys differ and veRL wants the same keys for every sample)

A sample whose reward does not apply (a malformed ground truth: the reward returns NaN and
warns) gets ``not_applicable_score`` and ``applicable = 0.0`` in its extra info, so it is
never a silent 0: veRL has no "not applicable" reward, and NaN would poison the advantages.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from visual_rewards.rewards import REWARDS, Reward, get_reward
from visual_rewards.rewards.registry import resolve_task
from visual_rewards.scoring import score_rows

__all__ = [
    "VERL_INTERNAL_KWARGS",
    "RewardOptions",
    "ScoreItem",
    "Scored",
    "compute_score",
    "plain_value",
    "score_items",
    "task_of",
]

#: Keyword arguments that veRL itself adds to a ``compute_score`` call (ignored here).
VERL_INTERNAL_KWARGS: frozenset[str] = frozenset(
    {"reward_router_address", "reward_model_tokenizer"}
)

#: Keys of the extra info every sample carries besides the reward's components.
ROW_KEYS: tuple[str, ...] = ("score", "applicable", "parse_failed")


def _task_name(name: object) -> str:
    """:func:`~visual_rewards.rewards.registry.resolve_task` for any value a dataset holds."""
    if not isinstance(name, str):
        raise ValueError(
            f"a task name must be a string, got {name!r}; known tasks: {sorted(REWARDS)}"
        )
    return resolve_task(name)


def _is_task(name: object) -> bool:
    try:
        _task_name(name)
    except ValueError:
        return False
    return True


def plain_value(value: Any) -> Any:
    """Containers from parquet / OmegaConf as plain Python: numpy arrays and sequences to
    lists, mappings to dicts, numpy scalars to Python scalars.

    >>> plain_value({"boxes": np.array([np.array([1, 2, 3, 4])]), "n": np.int64(3)})
    {'boxes': [[1, 2, 3, 4]], 'n': 3}
    """
    if isinstance(value, np.ndarray):
        if not value.ndim:
            return plain_value(value.item())
        return [plain_value(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or (
        isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))
    ):
        return [plain_value(v) for v in value]
    return value


def _option_value(value: Any) -> Any:
    """An option value as a reward config wants it: sequences become tuples (hashable)."""
    value = plain_value(value)
    if isinstance(value, list):
        return tuple(_option_value(v) for v in value)
    if isinstance(value, dict):
        return {k: _option_value(v) for k, v in value.items()}
    return value


def _preset(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"reward_kwargs.preset must be a string, got {value!r}")
    return value


def _task(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return _task_name(value)
    except ValueError as exc:
        raise ValueError(f"reward_kwargs.task: {exc}") from None


def _not_applicable(value: Any) -> float:
    score = float(value)
    if not math.isfinite(score):
        raise ValueError(f"reward_kwargs.not_applicable_score must be finite, got {value!r}")
    return score


def _components(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"reward_kwargs.components must be true or false, got {value!r}")
    return value


#: The run-wide keys of ``reward_kwargs`` and how each is read.
_RUN_OPTIONS: Mapping[str, Callable[[Any], Any]] = {
    "preset": _preset,
    "task": _task,
    "not_applicable_score": _not_applicable,
    "components": _components,
}


@dataclass(frozen=True)
class RewardOptions:
    """How samples are routed and scored; built from veRL's ``reward_kwargs``.

    Attributes:
        preset: preset of every task unless the task's options name another. A task that
            lacks it is an error when its first sample is scored (never a silent fallback):
            name a preset per task (``reward_kwargs.<task>.preset``) for such tasks.
        task_options: task -> reward options (may hold ``"preset"``).
        task: task of samples whose ``extra_info`` and ``data_source`` name none.
        not_applicable_score: score given where the reward does not apply (NaN total).
        components: put the reward's components in each row (else only :data:`ROW_KEYS`).
    """

    preset: str = "default"
    task_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    task: str | None = None
    not_applicable_score: float = 0.0
    components: bool = True

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> RewardOptions:
        """Parse ``reward_kwargs`` (a dict or an OmegaConf ``DictConfig``).

        >>> RewardOptions.from_kwargs({"preset": "visual_rft", "format": {"rule": "strict"}})
        RewardOptions(preset='visual_rft', task_options={'format': {'rule': 'strict'}}, task=None, not_applicable_score=0.0, components=True)
        """
        run: dict[str, Any] = {}
        task_options: dict[str, dict[str, Any]] = {}
        for key, value in kwargs.items():
            if key in VERL_INTERNAL_KWARGS:
                continue
            if key in _RUN_OPTIONS:
                run[key] = _RUN_OPTIONS[key](value)
            elif _is_task(key):
                if not isinstance(value, Mapping):
                    raise TypeError(
                        f"reward_kwargs.{key} must be a mapping of reward options, got {value!r}"
                    )
                task_options[_task_name(key)] = {str(k): _option_value(v) for k, v in value.items()}
            else:
                raise TypeError(
                    f"unknown reward_kwargs key {key!r}; expected one of {sorted(_RUN_OPTIONS)} "
                    f"or a task name with its options ({sorted(REWARDS)})"
                )
        options = cls(task_options=task_options, **run)
        for name in task_options:  # bad options are caller errors: raise now, not mid-run
            options.reward(name)
        return options

    def reward(self, task: str) -> Reward:
        """The (cached) reward of ``task`` under these options.

        The task's own ``preset`` option wins over the run-wide ``preset``; either must be a
        preset the task's reward has (counting and pointing have no ``visual_rft``: they are
        beyond the paper), else ``ValueError`` says which and how to fix it. There is no
        fallback to ``"default"``: the CLI's ``score --preset`` refuses the same way.
        """
        opts = dict(self.task_options.get(task, {}))
        own = "preset" in opts
        preset = str(opts.pop("preset", self.preset))
        try:
            return _cached_reward(task, preset, json.dumps(opts, sort_keys=True, default=list))
        except ValueError as exc:
            where = f"reward_kwargs.{task}" if own or opts else "reward_kwargs"
            hint = "" if own else f"; a task without it needs its own reward_kwargs.{task}.preset"
            raise ValueError(f"{where} (task {task!r}, preset {preset!r}): {exc}{hint}") from None


@lru_cache(maxsize=128)
def _cached_reward(task: str, preset: str, options_json: str) -> Reward:
    options = {k: _option_value(v) for k, v in json.loads(options_json).items()}
    return get_reward(task, preset, **options)


def task_of(
    data_source: Any, extra_info: Mapping[str, Any] | None, default: str | None = None
) -> str:
    """The task of one sample: ``extra_info["task"]``, else ``data_source`` (exactly, or its
    last ``/``-separated part, e.g. ``"visual_rewards/detection"``), else ``default``.

    >>> task_of("visual_rewards/format", None)
    'format'
    >>> task_of("coco", {"task": "format"})
    'format'
    """
    if extra_info is not None:
        named = extra_info.get("task")
        if isinstance(named, str) and named:
            try:
                return _task_name(named)
            except ValueError as exc:
                raise ValueError(f"extra_info['task']: {exc}") from None
    if isinstance(data_source, str) and data_source:
        for candidate in (data_source, data_source.rsplit("/", 1)[-1]):
            if _is_task(candidate):
                return _task_name(candidate)
    if default is not None:
        return default
    raise ValueError(
        f"cannot tell the task of a sample with data_source={data_source!r}: set "
        f"extra_info['task'] (or data_source) to one of {sorted(REWARDS)}, or "
        "reward_kwargs.task for the whole run"
    )


@dataclass(frozen=True)
class ScoreItem:
    """One sample: its decoded response, its ground truth and where it came from."""

    data_source: Any
    completion: str
    ground_truth: Any
    extra_info: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Scored:
    """Result of :func:`score_items`.

    Attributes:
        rows: one dict per item, in input order: ``score``, ``applicable``, ``parse_failed``
            and every component of the item's reward, all Python floats.
        reward_calls: how many vectorised ``Reward.score`` calls were made (one per task
            and set of extra columns present).
    """

    rows: list[dict[str, float]]
    reward_calls: int


def _ground_truth(item: ScoreItem) -> Any:
    gt = plain_value(item.ground_truth)
    info = item.extra_info or {}
    if info.get("ground_truth_format") == "json" and isinstance(gt, str):
        try:
            return json.loads(gt)
        except json.JSONDecodeError:
            return gt  # the reward reports it as malformed
    return gt


def _score_group(
    reward: Reward, members: Sequence[ScoreItem], options: RewardOptions
) -> list[dict[str, float]]:
    """One vectorised call over ``members`` (one task, through the one batch-scoring rule,
    :func:`visual_rewards.scoring.score_rows`) -> one row of veRL's extra info each."""
    rows = [
        {
            **plain_value(m.extra_info or {}),
            "completion": m.completion,
            "solution": _ground_truth(m),
        }
        for m in members
    ]
    result = score_rows(reward, rows)
    applicable = ~np.isnan(result.total)
    score = np.where(applicable, result.total, options.not_applicable_score)
    out = [
        {"score": float(s), "applicable": float(a), "parse_failed": float(f)}
        for s, a, f in zip(score, applicable, result.parse_failed, strict=True)
    ]
    if options.components:
        for key, column in result.components.items():
            for row, value in zip(out, column.tolist(), strict=True):
                row[key] = value if math.isfinite(value) else 0.0
    return out


def score_items(items: Sequence[ScoreItem], options: RewardOptions | None = None) -> Scored:
    """Score a batch of samples with one vectorised reward call per task.

    Extra columns a reward asks for (``Reward.extra_columns``, e.g. an image size) are read
    from ``extra_info`` (``None`` where a sample lacks one); ground truths that the dataset
    builder stored as JSON (``extra_info["ground_truth_format"] == "json"``) are decoded.
    A component that is NaN for a sample (its reward does not apply) is 0.0 in its row:
    ``applicable`` says which rows those are.

    >>> items = [ScoreItem("format", "<think>a</think><answer>b</answer>", None),
    ...          ScoreItem("format", "b", None)]
    >>> res = score_items(items)
    >>> res.rows[1], res.reward_calls
    ({'score': 0.0, 'applicable': 1.0, 'parse_failed': 1.0, 'format': 0.0}, 1)
    """
    options = options or RewardOptions()
    groups: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault(task_of(item.data_source, item.extra_info, options.task), []).append(i)
    rows: list[dict[str, float]] = [{} for _ in items]
    for task, index in groups.items():
        scored = _score_group(options.reward(task), [items[i] for i in index], options)
        for i, row in zip(index, scored, strict=True):
            rows[i] = row
    return Scored(rows=rows, reward_calls=len(groups))


def compute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, float]:
    """veRL's ``reward.custom_reward_function`` entry: score one response.

    Args:
        data_source: the dataset's ``data_source`` (names the task unless ``extra_info``
            does, e.g. ``"visual_rewards/detection"``).
        solution_str: the decoded response.
        ground_truth: the dataset's ``reward_model.ground_truth``.
        extra_info: the dataset's ``extra_info`` (``task``, extra reward columns).
        **kwargs: ``reward_kwargs`` of the config (see :class:`RewardOptions`); the keys
            veRL itself adds (``reward_router_address``, ...) are ignored.

    Returns:
        ``{"score": float, "applicable": 0.0 | 1.0, "parse_failed": 0.0 | 1.0,
        <component>: float, ...}``, the same keys for every sample of a task.

    >>> compute_score("visual_rewards/format", "<think>a</think><answer>b</answer>", None)
    {'score': 1.0, 'applicable': 1.0, 'parse_failed': 0.0, 'format': 1.0}
    """
    options = RewardOptions.from_kwargs(kwargs)
    item = ScoreItem(data_source, solution_str, ground_truth, extra_info)
    return score_items([item], options).rows[0]
