"""veRL's ``compute_score`` and the batch scoring behind the reward manager (no veRL import).

veRL hands a rule-based reward one sample at a time: ``data_source`` (a string from the
dataset), ``solution_str`` (the decoded response), ``ground_truth`` (the dataset's
``reward_model.ground_truth``) and ``extra_info`` (the dataset's ``extra_info`` dict), plus
the ``reward_kwargs`` of the config as keyword arguments. This module routes each sample to
the reward of its task (:data:`visual_rewards.rewards.REWARDS`) and shapes the result the way
veRL wants it: a dict with ``"score"`` and, for every sample of a task, the same other keys
(veRL stacks them into ``reward_extra_info`` and fails on ragged keys).

Reward options (``reward_kwargs``)::

    preset: visual_rft            # preset of every task that has it (default: "default")
    detection:                    # options of one task, passed to its reward
      preset: default             #   (a task may pick its own preset)
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from visual_rewards.rewards import REWARDS, Reward, get_reward

__all__ = [
    "VERL_INTERNAL_KWARGS",
    "RewardOptions",
    "ScoreItem",
    "Scored",
    "compute_score",
    "score_items",
    "task_of",
]

#: Keyword arguments that veRL itself adds to a ``compute_score`` call (ignored here).
VERL_INTERNAL_KWARGS: frozenset[str] = frozenset(
    {"reward_router_address", "reward_model_tokenizer"}
)

#: Other spellings of task names in ``data_source`` / ``extra_info["task"]``.
TASK_ALIASES: Mapping[str, tuple[str, ...]] = {
    "pointing": ("points", "point"),
    "points": ("pointing", "point"),
    "point": ("points", "pointing"),
    "count": ("counting",),
    "counting": ("count",),
    "cls": ("classification",),
    "rec": ("grounding",),
    "det": ("detection",),
}

#: Keys of the extra info every sample carries besides the reward's components.
ROW_KEYS: tuple[str, ...] = ("score", "applicable", "parse_failed")


def _plain(value: Any) -> Any:
    """Containers from parquet / OmegaConf as plain Python: numpy arrays and sequences to
    lists, mappings to dicts, numpy scalars to Python scalars.

    >>> _plain({"boxes": np.array([np.array([1, 2, 3, 4])]), "n": np.int64(3)})
    {'boxes': [[1, 2, 3, 4]], 'n': 3}
    """
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.ndim else _plain(value.item())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or (
        isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))
    ):
        return [_plain(v) for v in value]
    return value


def _option_value(value: Any) -> Any:
    """An option value as a reward config wants it: sequences become tuples (hashable)."""
    value = _plain(value)
    if isinstance(value, list):
        return tuple(_option_value(v) for v in value)
    if isinstance(value, dict):
        return {k: _option_value(v) for k, v in value.items()}
    return value


def _known_task(name: str) -> str | None:
    """The registered task ``name`` stands for, or None."""
    if name in REWARDS:
        return name
    for alias in TASK_ALIASES.get(name, ()):
        if alias in REWARDS:
            return alias
    return None


@dataclass(frozen=True)
class RewardOptions:
    """How samples are routed and scored; built from veRL's ``reward_kwargs``.

    Attributes:
        preset: preset of every task unless the task's options name another.
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
        preset = "default"
        task: str | None = None
        not_applicable = 0.0
        components = True
        task_options: dict[str, dict[str, Any]] = {}
        for key, value in kwargs.items():
            if key in VERL_INTERNAL_KWARGS:
                continue
            if key == "preset":
                if not isinstance(value, str):
                    raise TypeError(f"reward_kwargs.preset must be a string, got {value!r}")
                preset = value
            elif key == "task":
                if value is not None:
                    known = _known_task(str(value))
                    if known is None:
                        raise ValueError(
                            f"reward_kwargs.task={value!r} is not a known task; "
                            f"known tasks: {sorted(REWARDS)}"
                        )
                    task = known
            elif key == "not_applicable_score":
                not_applicable = float(value)
                if not math.isfinite(not_applicable):
                    raise ValueError(
                        f"reward_kwargs.not_applicable_score must be finite, got {value!r}"
                    )
            elif key == "components":
                if not isinstance(value, bool):
                    raise TypeError(
                        f"reward_kwargs.components must be true or false, got {value!r}"
                    )
                components = value
            elif _known_task(str(key)) is not None:
                if not isinstance(value, Mapping):
                    raise TypeError(
                        f"reward_kwargs.{key} must be a mapping of reward options, got {value!r}"
                    )
                name = _known_task(str(key))
                assert name is not None
                task_options[name] = {str(k): _option_value(v) for k, v in value.items()}
            else:
                raise TypeError(
                    f"unknown reward_kwargs key {key!r}; expected 'preset', 'task', "
                    f"'not_applicable_score', 'components' or a task name with its options ({sorted(REWARDS)})"
                )
        options = cls(preset, task_options, task, not_applicable, components)
        for name in task_options:  # bad options are caller errors: raise now, not mid-run
            options.reward(name)
        return options

    def reward(self, task: str) -> Reward:
        """The (cached) reward of ``task`` under these options.

        The run-wide ``preset`` applies where the task's reward has it (counting and
        pointing have no ``visual_rft`` preset: they are beyond the paper) and ``"default"``
        elsewhere; a preset named in the task's own options must exist.
        """
        opts = dict(self.task_options.get(task, {}))
        if "preset" in opts:
            preset = str(opts.pop("preset"))
        else:
            preset = self.preset if self.preset in REWARDS[task].presets else "default"
        return _cached_reward(task, preset, json.dumps(opts, sort_keys=True, default=list))


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
            known = _known_task(named)
            if known is None:
                raise ValueError(
                    f"extra_info['task']={named!r} is not a known task; known tasks: {sorted(REWARDS)}"
                )
            return known
    if isinstance(data_source, str) and data_source:
        for candidate in (data_source, data_source.rsplit("/", 1)[-1]):
            known = _known_task(candidate)
            if known is not None:
                return known
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
    gt = _plain(item.ground_truth)
    info = item.extra_info or {}
    if info.get("ground_truth_format") == "json" and isinstance(gt, str):
        try:
            return json.loads(gt)
        except json.JSONDecodeError:
            return gt  # the reward reports it as malformed
    return gt


def score_items(items: Sequence[ScoreItem], options: RewardOptions | None = None) -> Scored:
    """Score a batch of samples with one vectorised reward call per task.

    Extra columns a reward asks for (``Reward.extra_columns``, e.g. an image size) are read
    from ``extra_info`` (``None`` where a sample lacks one); ground truths that the dataset
    builder stored as JSON (``extra_info["ground_truth_format"] == "json"``) are decoded.

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
        reward = options.reward(task)
        members = [items[i] for i in index]
        completions = [m.completion for m in members]
        solutions = [_ground_truth(m) for m in members] if reward.needs_solution else None
        columns: dict[str, list[Any]] = {}
        for name in reward.extra_columns:
            if any(m.extra_info is not None and name in m.extra_info for m in members):
                columns[name] = [_plain((m.extra_info or {}).get(name)) for m in members]
        result = reward.score(completions, solutions, **columns)
        n = len(members)
        total = np.asarray(result.total, dtype=np.float64).reshape(n)
        failed = np.asarray(result.parse_failed, dtype=bool).reshape(n)
        comps = {
            k: np.asarray(v, dtype=np.float64).reshape(n) for k, v in result.components.items()
        }
        applicable = ~np.isnan(total)
        score = np.where(applicable, total, options.not_applicable_score)
        for j, i in enumerate(index):
            row = {
                "score": float(score[j]),
                "applicable": float(applicable[j]),
                "parse_failed": float(failed[j]),
            }
            for key, values in comps.items() if options.components else ():
                value = float(values[j])
                row[key] = value if math.isfinite(value) else 0.0
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
