"""veRL glue: ``compute_score``, the ``visual_rewards`` reward manager, the parquet builder.

Nothing here imports veRL (or torch, or Ray) until the reward manager is asked for, so
``import visual_rewards.verl`` is as light as the rest of the package:

* :func:`compute_score` -- for ``reward.custom_reward_function`` (path
  ``pkg://visual_rewards.verl``, name ``compute_score``); options from its ``reward_kwargs``.
* :class:`VisualRewardsManager` (in :mod:`visual_rewards.verl.manager`, imports veRL) -- the
  reward manager registered as ``visual_rewards``; scores concurrent samples in vectorised
  batches; options from ``reward.reward_kwargs``.
* :func:`verl_rows` / :func:`write_verl_parquet` -- training sets in veRL's parquet layout.
* :class:`ComponentMetricsReplayBuffer` (in :mod:`visual_rewards.verl.sampler`, imports veRL)
  -- veRL's replay buffer, plus the reward components as training-step metrics
  (:func:`step_metrics`, ``reward/<key>/mean``); set as ``trainer.v1.sampler.custom_sampler``.

>>> from visual_rewards.verl import compute_score
>>> compute_score("visual_rewards/format", "<think>a</think><answer>b</answer>", None)["score"]
1.0
"""

from __future__ import annotations

import importlib
from typing import Any

from visual_rewards.verl.compute import (
    RewardOptions,
    Scored,
    ScoreItem,
    compute_score,
    score_items,
    task_of,
)
from visual_rewards.verl.dataset import IMAGE_PLACEHOLDER, verl_rows, write_verl_parquet
from visual_rewards.verl.metrics import step_metrics

__all__ = [
    "IMAGE_PLACEHOLDER",
    "MANAGER_NAME",
    "ComponentMetricsReplayBuffer",
    "ComponentMetricsReplayBufferAsync",
    "RewardOptions",
    "ScoreItem",
    "Scored",
    "VisualRewardsManager",
    "compute_score",
    "score_items",
    "step_metrics",
    "task_of",
    "verl_rows",
    "write_verl_parquet",
]

#: The name of the reward manager in veRL's registry (``reward.reward_manager.name``).
MANAGER_NAME = "visual_rewards"


#: Names whose modules import veRL: loaded when first asked for.
_VERL_NAMES = {
    "VisualRewardsManager": "visual_rewards.verl.manager",
    "ComponentMetricsReplayBuffer": "visual_rewards.verl.sampler",
    "ComponentMetricsReplayBufferAsync": "visual_rewards.verl.sampler",
}


def __getattr__(name: str) -> Any:
    """Import the veRL-dependent manager and replay buffers only when they are asked for."""
    module = _VERL_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise ImportError(f"{name} needs veRL: pip install visual-rewards[verl]") from exc
