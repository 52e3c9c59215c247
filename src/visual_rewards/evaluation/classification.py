"""Classification accuracy from model outputs, with the training reward's own rule.

Correctness is the ``accuracy`` component of
:class:`~visual_rewards.rewards.classification.ClassificationReward` (so evaluation and
training agree), scored in batches; accuracy is reported overall, per dataset and per class.
Rows with a malformed ground truth (NaN accuracy) are counted and left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from visual_rewards.parsing import unwrap_answer
from visual_rewards.rewards import get_reward
from visual_rewards.scoring import score_rows

__all__ = ["classification_accuracy"]


def _class_name(solution: Any) -> str:
    """The class a ground truth names: its ``label``, or the text inside ``<answer>``
    (:func:`~visual_rewards.parsing.unwrap_answer`, the one unwrapper of ground truth).

    >>> _class_name("<answer> rose </answer>"), _class_name({"label": "tulip"}), _class_name("daisy")
    ('rose', 'tulip', 'daisy')
    """
    if isinstance(solution, Mapping):
        return str(solution.get("label", "?"))
    return unwrap_answer(str(solution))


def classification_accuracy(
    rows: Iterable[Mapping[str, Any]],
    *,
    preset: str = "default",
    completion_field: str = "completion",
    solution_field: str = "solution",
    dataset_field: str = "dataset",
    options: Mapping[str, Any] | None = None,
    chunk_size: int = 1024,
) -> dict[str, Any]:
    """Accuracy overall, per dataset (``dataset_field``, if present) and per class.

    Needs the ``classification`` reward registered in :data:`visual_rewards.rewards.REWARDS`;
    ``options`` are its options (e.g. ``labels``). Returns a JSON-ready dict with
    ``accuracy``, ``per_dataset`` and ``per_class`` (each ``{"accuracy", "n"}``).
    """
    reward = get_reward("classification", preset, **dict(options or {}))
    correct: dict[str, list[float]] = {}
    per_class: dict[str, list[float]] = {}
    n_na = 0
    all_acc: list[float] = []
    buf: list[Mapping[str, Any]] = []

    def flush() -> None:
        nonlocal n_na
        if not buf:
            return
        res = score_rows(
            reward, buf, completion_field=completion_field, solution_field=solution_field
        )
        acc = res.components["accuracy"]
        for r, a in zip(buf, acc.tolist(), strict=True):
            if math.isnan(a):
                n_na += 1
                continue
            all_acc.append(a)
            correct.setdefault(str(r.get(dataset_field, "all")), []).append(a)
            per_class.setdefault(_class_name(r.get(solution_field)), []).append(a)
        buf.clear()

    for row in rows:
        buf.append(row)
        if len(buf) >= chunk_size:
            flush()
    flush()

    def mean(v: list[float]) -> float | None:
        return float(np.mean(v)) if v else None

    return {
        "reward": reward.__name__,
        "rows": len(all_acc) + n_na,
        "not_applicable": n_na,
        "accuracy": mean(all_acc),
        "per_dataset": {k: {"accuracy": mean(v), "n": len(v)} for k, v in sorted(correct.items())},
        "per_class": {k: {"accuracy": mean(v), "n": len(v)} for k, v in sorted(per_class.items())},
    }
