"""What the server computes, without the server: batches of items in, scores out.

Runs in the scoring worker processes (and in-process in tests); imports no web stack. The
rewards are the library's own (:func:`visual_rewards.scoring.build_reward`, the same
``--option`` semantics as ``visual-rewards score``), called once per group of items that
share a task, a preset and the presence of an ``image_size``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from visual_rewards.rewards import Reward
from visual_rewards.rewards.registry import resolve_task
from visual_rewards.scoring import ScoreOptions, build_reward, check_options, score_rows
from visual_rewards.serve.config import ServeConfig

__all__ = [
    "ItemScore",
    "ItemSpec",
    "QueryError",
    "check_config",
    "openrlhf_completion",
    "openrlhf_label",
    "reward_for",
    "score_batch",
]


class QueryError(ValueError):
    """An OpenRLHF query whose completion cannot be told apart from its prompt."""


@dataclass(frozen=True)
class ItemSpec:
    """One item to score, as plain data (it is pickled to a worker).

    Attributes:
        completion: the model's output (a string or a list of chat messages).
        solution: the ground truth (None for rewards that need none).
        task: the task, or None for the server's.
        preset: the preset, or None for the server's.
        image_size: ``(width, height)`` of the item's image in pixels, or None.
    """

    completion: Any
    solution: Any = None
    task: str | None = None
    preset: str | None = None
    image_size: tuple[int, int] | None = None


@dataclass(frozen=True)
class ItemScore:
    """The score of one item: ``total`` and ``components`` are NaN where not applicable."""

    reward: str
    total: float
    components: Mapping[str, float]
    parse_failed: bool


def _scope(key: str) -> str | None:
    """The task a ``TASK.KEY`` option is scoped to (None for a plain key or an unknown task)."""
    scope, dot, _ = key.rpartition(".")
    try:
        return resolve_task(scope) if dot else None
    except ValueError:
        return None


def reward_for(config: ServeConfig, task: str | None, preset: str | None) -> Reward:
    """The (cached) reward of an item naming ``task``/``preset`` (None: the server's).

    Built as ``visual-rewards score`` builds it (:func:`visual_rewards.scoring.build_reward`:
    the same options, a ``TASK.preset`` option choosing one task's preset, and a preset the
    task lacks being an error); a preset the item names wins over the options' preset.
    Raises ValueError/TypeError (a caller error) for an unknown task, preset or option.

    >>> reward_for(ServeConfig(task="detection", preset="visual_rft"), None, None).__name__
    'detection_visual_rft'
    >>> reward_for(ServeConfig(), "counting", None).__name__
    'counting_default'
    """
    name = task or config.task
    if name is None:
        raise ValueError("the item names no task and the server has no default task")
    canonical = resolve_task(name)
    options = config.options
    if preset is not None:  # the item's own preset: drop the options' one for this task
        options = tuple(
            (k, v) for k, v in options if not (k.endswith(".preset") and _scope(k) == canonical)
        )
    return build_reward(ScoreOptions(preset=preset or config.preset, options=options), canonical)


def check_config(config: ServeConfig) -> None:
    """Fail now on a wrong setting, as ``visual-rewards score`` does before reading input
    (:func:`visual_rewards.scoring.check_options`). ValueError/TypeError naming it.

    >>> check_config(ServeConfig(preset="paper"))
    Traceback (most recent call last):
    ...
    ValueError: unknown preset 'paper'; presets: ['default', 'visual_rft']
    """
    task = resolve_task(config.task) if config.task is not None else None
    check_options(ScoreOptions(task=task, preset=config.preset, options=config.options))


def score_batch(config: ServeConfig, items: Sequence[ItemSpec]) -> list[ItemScore]:
    """Score ``items`` in input order: one :func:`visual_rewards.scoring.score_rows` call
    (one vectorised ``Reward.score``) per task and preset.

    >>> cfg = ServeConfig(task="format")
    >>> [s.total for s in score_batch(cfg, [ItemSpec("<think>a</think><answer>b</answer>"),
    ...                                      ItemSpec("b")])]
    [1.0, 0.0]
    """
    groups: dict[tuple[str | None, str | None], list[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault((item.task, item.preset), []).append(i)
    out: list[ItemScore | None] = [None] * len(items)
    for (task, preset), index in groups.items():
        reward = reward_for(config, task, preset)
        rows = [
            {
                "completion": items[i].completion,
                "solution": items[i].solution,
                "image_size": items[i].image_size,
            }
            for i in index
        ]
        res = score_rows(reward, rows)
        for j, i in enumerate(index):
            out[i] = ItemScore(
                reward=reward.__name__,
                total=float(res.total[j]),
                components={k: float(v[j]) for k, v in res.components.items()},
                parse_failed=bool(res.parse_failed[j]),
            )
    return [s for s in out if s is not None]


def openrlhf_completion(query: str, prompt: str | None, config: ServeConfig) -> str:
    """The completion inside an OpenRLHF ``query`` (the decoded prompt + response tokens).

    The prompt's text after its last image placeholder (all of it without one) is verbatim in
    the query, where a processor may have expanded the placeholders; the completion is what
    follows its first occurrence, less trailing end-of-turn tokens. Linear in the lengths.

    >>> cfg = ServeConfig()
    >>> openrlhf_completion("<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n"
    ...     "<answer>1</answer><|im_end|>", "<|im_start|>user\\nHi<|im_end|>\\n"
    ...     "<|im_start|>assistant\\n", cfg)
    '<answer>1</answer>'
    >>> openrlhf_completion("<image><image><image>How many?A: 3</s>", "<image>How many?A:", cfg)
    ' 3'
    """
    text = query
    if prompt:
        start = max(
            (prompt.rfind(t) + len(t) for t in config.image_tokens if t in prompt), default=0
        )
        anchor = prompt[start:]
        at = query.find(anchor, start) if anchor else start
        if at < 0:
            raise QueryError("the query does not contain its prompt's text")
        text = query[at + len(anchor) :]
    stripped = True
    while stripped:
        stripped = False
        body = text.rstrip()
        for token in config.eos_tokens:
            if body.endswith(token):
                text, stripped = body[: -len(token)], True
                break
    return text


def openrlhf_label(label: Any) -> tuple[Any, str | None, str | None, tuple[int, int] | None]:
    """``(solution, task, preset, image_size)`` from an OpenRLHF label.

    A label that is an object with a ``"solution"`` key (or a JSON string of one) carries the
    item's ``task``, ``preset`` and ``image_size`` beside the solution; any other label is
    the solution itself.

    >>> openrlhf_label('{"solution": [[1, 2, 3, 4]], "image_size": [640, 480]}')
    ([[1, 2, 3, 4]], None, None, (640, 480))
    >>> openrlhf_label("<answer>3</answer>")
    ('<answer>3</answer>', None, None, None)
    """
    envelope = label
    if isinstance(label, str) and label.lstrip().startswith("{"):
        try:
            envelope = json.loads(label)
        except ValueError:
            return label, None, None, None
    if not (isinstance(envelope, Mapping) and "solution" in envelope):
        return label, None, None, None
    unknown = sorted(set(envelope) - {"solution", "task", "preset", "image_size"})
    if unknown:
        raise ValueError(
            f"unknown label field(s) {unknown}; expected solution, task, preset, image_size"
        )
    task, preset, size = envelope.get("task"), envelope.get("preset"), envelope.get("image_size")
    for name, value in (("task", task), ("preset", preset)):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"label field {name!r} must be a string, got {value!r}")
    return envelope["solution"], task, preset, _image_size(size)


def _image_size(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    ok = isinstance(value, (list, tuple)) and len(value) == 2
    if not ok or not all(type(v) is int and v > 0 for v in value):
        raise ValueError(f"image_size must be [width, height] in positive pixels, got {value!r}")
    return int(value[0]), int(value[1])
