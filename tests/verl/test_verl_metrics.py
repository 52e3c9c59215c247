"""Reward components in veRL 0.9.1's training-step metrics, through veRL's own trainer code.

The recipe names :class:`~visual_rewards.verl.sampler.ComponentMetricsReplayBuffer` as the
v1 trainer's custom sampler. Here the real ``PPOTrainerSync`` is built from the composed recipe
(so veRL itself loads the sampler from the config), trajectories are put into a real
TransferQueue on a local Ray as veRL's agent loop stores them (``extra_fields`` holding each
one's ``reward_extra_info``, here the rows our reward manager returns), and the real
``PPOTrainer.step`` runs: its ``_step_once`` samples the batch and its ``MetricsAggregator``
combines the mini-batches of the step. Only the model work of a step (log-probs, advantages,
the actor update) is left out: it neither reads nor writes metrics of ours.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

pytest.importorskip("verl")
pytest.importorskip("ray")
pytest.importorskip("transfer_queue")

import ray
import torch
import transfer_queue as tq
from _verl_helpers import recipe_config
from omegaconf import OmegaConf
from verl.trainer.ppo.v1 import PPOTrainerSync
from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer, ReplayBufferAsync
from verl.utils.tensordict_utils import list_of_dict_to_tensordict

from visual_rewards.verl import ScoreItem, score_items
from visual_rewards.verl.metrics import step_metrics
from visual_rewards.verl.sampler import (
    ComponentMetricsReplayBuffer,
    ComponentMetricsReplayBufferAsync,
)

GT = "<answer>[{'Position': [100, 100, 400, 400], 'Confidence': 1}]</answer>"
RESPONSES = [
    "<think>a</think><answer>[{'Position': [100, 100, 400, 400], 'Confidence': 0.9}]</answer>",
    "<think>a</think><answer>[{'Position': [150, 120, 420, 380], 'Confidence': 0.6}]</answer>",
    "<think>a</think><answer>[]</answer>",
    "no tags at all",
    "<think>a</think><answer>[{'Position': [0, 0, 1000, 1000], 'Confidence': 1.0}]</answer>",
    "<think>a</think><answer>[{'Position': [90, 110, 390, 410], 'Confidence': 0.8}]</answer>",
    "<think>a</think><answer>[{'Position': [500, 500, 600, 600], 'Confidence': 0.1}]</answer>",
    "<think>a</think><answer>[{'Position': [100, 100, 400, 400], 'Confidence': 0.3}]</answer>",
]
#: Two prompts with different numbers of finished rollouts (3 and 5): a step-wide mean must
#: weigh the two mini-batches by their sizes, which an unweighted mean of means would not.
GROUPS = {"p0": RESPONSES[:3], "p1": RESPONSES[3:]}


class StepOnly(PPOTrainerSync):  # type: ignore[misc]
    """The real sync trainer without the model work of a step (and without a dataloader)."""

    def prepare_step(self) -> dict[str, Any]:
        return {}  # the prompts are already in TransferQueue

    def on_sample_end(self) -> None:
        return None  # no rollout replicas to put to sleep

    def _balance_batch(self, batch: Any, metrics: Any, **_: Any) -> Any:
        return batch

    def _compute_old_log_prob(self, batch: Any, metrics: Any) -> Any:
        return batch

    def _compute_ref_log_prob(self, batch: Any, metrics: Any) -> Any:
        return batch

    def _compute_advantage(self, batch: Any, metrics: Any) -> Any:
        return batch

    def _update_actor(self, batch: Any, metrics: Any) -> Any:
        return batch


@pytest.fixture(scope="module")
def transfer_queue() -> Iterator[Any]:
    # TransferQueue's controller and storage are Ray actors of one CPU each
    ray.init(num_cpus=4, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    tq.init(OmegaConf.create({"backend": {"SimpleStorage": {"num_data_storage_units": 1}}}))
    yield tq
    tq.close()
    ray.shutdown()


def _rows() -> dict[str, list[dict[str, float]]]:
    """The reward_extra_info of every rollout, as our manager returns it (one row each)."""
    out = {}
    for uid, responses in GROUPS.items():
        items = [ScoreItem("visual_rewards/detection", r, GT) for r in responses]
        out[uid] = score_items(items).rows
    return out


def _put_finished_groups(rows: dict[str, list[dict[str, float]]], partition: str) -> None:
    """Store the groups as veRL's trainer and agent loop do: prompt tags, then trajectories."""
    prompt_tag = {"is_prompt": True, "status": "pending", "global_steps": 1}
    tq.kv_batch_put(keys=list(rows), partition_id=partition, tags=[prompt_tag] * len(rows))
    keys, fields, tags = [], [], []
    for uid, group in rows.items():
        for session, info in enumerate(group):
            keys.append(f"{uid}_{session}_0")
            extra = {"reward_extra_info": dict(info), "min_global_steps": 1, "max_global_steps": 1}
            fields.append({"responses": torch.tensor([1, 2]), "extra_fields": extra})
            steps = {"global_steps": 1, "min_global_steps": 1, "max_global_steps": 1}
            tags.append({"status": "success", **steps})
    tq.kv_batch_put(
        keys=keys, fields=list_of_dict_to_tensordict(fields), tags=tags, partition_id=partition
    )
    for uid in rows:
        tq.kv_put(key=uid, partition_id=partition, tag={"status": "finished"})


def test_step_metrics_are_means_of_the_numeric_keys() -> None:
    infos = [{"iou": 1.0, "note": "x", "flag": True}, {"iou": 0.0}, {"iou": None}]
    assert step_metrics(infos) == {"reward/iou/mean": 0.5}
    assert step_metrics([]) == {}
    assert step_metrics([{"score": np.float32(0.25)}]) == {"reward/score/mean": 0.25}


def test_the_buffers_are_veRLs_own() -> None:
    assert issubclass(ComponentMetricsReplayBuffer, ReplayBuffer)
    assert issubclass(ComponentMetricsReplayBufferAsync, ReplayBufferAsync)


@pytest.mark.slow
def test_training_step_metrics_include_the_components(transfer_queue: Any) -> None:
    # two local updates per step, one prompt each: the step aggregates two mini-batches
    cfg = recipe_config(
        "visual_rft_grpo_2b", ["data.train_batch_size=2", "+trainer.v1.sync.parameter_sync_step=2"]
    )
    trainer = StepOnly(cfg)
    assert type(trainer.replay_buffer) is ComponentMetricsReplayBuffer  # loaded from the recipe
    trainer.reward_loop_manager = types.SimpleNamespace(reward_loop_worker_handles=["streaming"])
    trainer.global_steps = 1
    rows = _rows()
    _put_finished_groups(rows, "train")

    metrics: dict[str, Any] = {}
    batch = trainer.step(metrics, {})

    assert len(batch.keys) == len(RESPONSES)
    every = [row for group in rows.values() for row in group]
    components = {"score", "applicable", "parse_failed", "iou", "confidence", "format"}
    assert set(every[0]) == components
    for key in components:
        expected = float(np.mean([row[key] for row in every]))
        assert metrics[f"reward/{key}/mean"] == pytest.approx(expected), key
    # the sample-weighted mean of the step, not the mean of the two mini-batch means
    per_group = [np.mean([row["iou"] for row in group]) for group in rows.values()]
    assert metrics["reward/iou/mean"] != pytest.approx(float(np.mean(per_group)))
    # veRL's own names are untouched
    assert not any(k.startswith("reward/") for k in metrics if "/mean" not in k)


@pytest.mark.slow
def test_validation_batches_get_no_step_metrics(transfer_queue: Any) -> None:
    cfg = recipe_config("visual_rft_grpo_2b")
    trainer = StepOnly(cfg)
    rows = {f"v{uid}": group for uid, group in _rows().items()}
    _put_finished_groups(rows, "val")
    batch, metrics = trainer.replay_buffer.sample(1, "val", len(rows))
    assert len(batch.keys) == len(RESPONSES)
    assert not any(key.startswith("reward/") for key in metrics)
