"""Reward components in veRL's training-step metrics: a replay buffer that reports them.

veRL 0.9.1 logs ``reward_extra_info`` (the components: ``iou``, ``confidence``, ``format``,
…) only in validation metrics. Its v1 trainer (the default, ``trainer.use_v1=true``) takes a
custom replay buffer from ``trainer.v1.sampler.custom_sampler``, and merges the metrics that
the buffer's ``sample`` returns into the step's metrics (``PPOTrainer._step_once``, then the
step's ``MetricsAggregator``). These buffers are veRL's own, plus that report: after sampling a
training batch they read each trajectory's ``reward_extra_info`` from TransferQueue and add
:func:`~visual_rewards.verl.metrics.step_metrics` (``reward/<key>/mean``)::

    trainer:
      v1:
        sampler:
          custom_sampler:
            path: pkg://visual_rewards.verl.sampler
            name: ComponentMetricsReplayBuffer       # trainer.v1.trainer_mode=sync (default)
            # name: ComponentMetricsReplayBufferAsync  # colocate_async / separate_async

The recipe in ``integrations/verl/config`` sets it. Like any custom sampler, veRL does not
hand it the DAPO group filter (``algorithm.filter_groups``), which the Visual-RFT recipe does
not use. Imports veRL and TransferQueue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import transfer_queue as tq
from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer, ReplayBufferAsync

from visual_rewards.verl.metrics import step_metrics

__all__ = ["ComponentMetricsReplayBuffer", "ComponentMetricsReplayBufferAsync", "batch_metrics"]

#: TransferQueue partition of training trajectories (validation uses "val").
TRAIN_PARTITION = "train"


def batch_metrics(batch: Any) -> dict[str, float]:
    """:func:`~visual_rewards.verl.metrics.step_metrics` of a sampled batch (a ``KVBatchMeta``).

    Reads the ``extra_fields`` of the batch's trajectories (padding left out) from
    TransferQueue, where veRL's agent loop stores each one's ``reward_extra_info``.
    """
    keys = [
        key
        for key, tag in zip(batch.keys, batch.tags, strict=True)
        if not (isinstance(tag, Mapping) and tag.get("is_padding", False))
    ]
    if not keys:
        return {}
    data = tq.kv_batch_get(
        keys=keys, partition_id=batch.partition_id, select_fields=["extra_fields"]
    )
    infos = []
    for value in list(data["extra_fields"]):
        fields = getattr(value, "data", value)
        info = fields.get("reward_extra_info") if isinstance(fields, Mapping) else None
        if isinstance(info, Mapping):
            infos.append(info)
    return step_metrics(infos)


class _ReportsComponents:
    """Adds :func:`batch_metrics` to the metrics of every training batch sampled."""

    def sample(self, global_steps: int, partition_id: str, batch_size: int) -> tuple[Any, dict]:  # type: ignore[type-arg]
        batch, metrics = super().sample(global_steps, partition_id, batch_size)  # type: ignore[misc]
        if partition_id == TRAIN_PARTITION:
            metrics = {**metrics, **batch_metrics(batch)}
        return batch, metrics


class ComponentMetricsReplayBuffer(_ReportsComponents, ReplayBuffer):  # type: ignore[misc]
    """veRL's synchronous replay buffer, reporting the reward components of each step."""


class ComponentMetricsReplayBufferAsync(_ReportsComponents, ReplayBufferAsync):  # type: ignore[misc]
    """veRL's asynchronous replay buffer, reporting the reward components of each step."""
