"""veRL 0.9.1's reward loop with the ``visual_rewards`` manager, for real (CPU, no GPU).

What runs here is veRL's own code: Hydra composes the recipe on veRL's ``ppo_trainer.yaml``,
``load_reward_manager`` resolves the manager, ``RewardLoopWorker`` scores a batch shaped like
the trainer's, and ``RewardLoopManager`` does it again inside Ray actors.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("verl")
pytest.importorskip("ray")

import torch
from _verl_helpers import (
    build_tokenizer,
    recipe_config,
    trainer_batch,
    with_tokenizer,
)
from verl.experimental.reward_loop import RewardLoopManager, RewardLoopWorker
from verl.experimental.reward_loop.reward_manager import registry
from verl.trainer.main_ppo import need_critic, need_reference_policy
from verl.trainer.ppo.reward import load_reward_manager
from verl.utils.config import validate_config

from visual_rewards.rewards import REWARDS, get_reward
from visual_rewards.verl import compute_score
from visual_rewards.verl.manager import VisualRewardsManager, register_manager

IMPORTLIB = [
    "reward.reward_manager.source=importlib",
    "reward.reward_manager.module.path=pkg://visual_rewards.verl.manager",
    "reward.reward_manager.name=VisualRewardsManager",
]


def _samples() -> dict[str, tuple[str, list[str]]]:
    """task -> (ground truth, responses) for every task registered now."""
    out: dict[str, tuple[str, list[str]]] = {}
    if "classification" in REWARDS:
        out["classification"] = (
            "<answer>rose</answer>",
            [
                "<think>red petals</think><answer>rose</answer>",
                "<think>yellow</think><answer>tulip</answer>",
                "rose",
                "<think>hmm</think><answer></answer>",
                "<think>two</think><answer>rose, tulip</answer>",
                "<think>unclosed</think><answer>rose",
            ],
        )
    if "detection" in REWARDS:
        out["detection"] = (
            "<answer>[{'Position': [100, 100, 500, 500], 'Confidence': 1}]</answer>",
            [
                "<think>a box</think><answer>[{'Position': [100, 100, 500, 500], 'Confidence': 0.9}]</answer>",
                "<think>off</think><answer>[{'Position': [150, 120, 520, 560], 'Confidence': 0.6}]</answer>",
                "<think>none</think><answer>No Objects</answer>",
                "<think>junk</think><answer>[{'Position': [9, 9, 1, 1], 'Confidence': 2}]</answer>",
                "[100, 100, 500, 500]",
                "<think>two</think><answer>[{'Position': [100, 100, 500, 500], 'Confidence': 0.8}, "
                "{'Position': [600, 600, 900, 900], 'Confidence': 0.3}]</answer>",
            ],
        )
    out["format"] = (
        "",
        ["<think>a</think><answer>b</answer>", "b", "<think></think><answer>x</answer>"],
    )
    return out


SAMPLES = _samples()


def _rows(task: str, gt: str, n_prompts: int) -> list[dict[str, Any]]:
    return [
        {
            "data_source": f"visual_rewards/{task}",
            "prompt": [{"role": "user", "content": f"What is in image {i}?"}],
            "reward_model": {"style": "rule", "ground_truth": gt},
            "extra_info": {"task": task, "index": i, "split": "train"},
        }
        for i in range(n_prompts)
    ]


def _batch(
    tokenizer: Any, task: str, rollouts: int = 2, n_prompts: int | None = None
) -> tuple[Any, list[str], list[str]]:
    """A trainer-like batch of ``n_prompts * rollouts`` responses of ``task`` (cycled)."""
    gt, responses = SAMPLES[task]
    n_prompts = n_prompts or -(-len(responses) // rollouts)
    texts = (responses * (n_prompts * rollouts))[: n_prompts * rollouts]
    rows = _rows(task, gt, n_prompts)
    data = trainer_batch(tokenizer, rows, texts, n=rollouts)
    return data, texts, [gt] * len(texts)


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny_tokenizer")
    build_tokenizer(path)
    return path


@pytest.fixture(scope="module")
def tokenizer(tokenizer_dir: Path) -> Any:
    from verl.utils import hf_tokenizer

    return hf_tokenizer(str(tokenizer_dir))


def _expected(task: str, preset: str, texts: list[str], gts: list[str]) -> Any:
    reward = get_reward(task, preset if preset in REWARDS[task].presets else "default")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return reward.score(texts, gts if reward.needs_solution else None)


# --- registration and resolution ----------------------------------------------------------


def test_entry_point_registers_in_a_fresh_interpreter() -> None:
    code = (
        "import verl\n"
        "from importlib.metadata import entry_points\n"
        "from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls\n"
        "assert 'visual_rewards' in [e.name for e in entry_points(group='verl.plugins')]\n"
        "print(get_reward_manager_cls('visual_rewards').__qualname__)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "VERL_USE_EXTERNAL_PLUGINS"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "VisualRewardsManager"


def test_registration_is_idempotent() -> None:
    assert register_manager() is VisualRewardsManager
    assert register_manager() is VisualRewardsManager
    assert registry.get_reward_manager_cls("visual_rewards") is VisualRewardsManager


@pytest.mark.parametrize("size", ["2b", "7b"])
def test_recipe_composes_on_ppo_trainer_with_paper_settings(size: str) -> None:
    cfg = recipe_config(f"visual_rft_grpo_{size}")
    validate_config(
        config=cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg)
    )
    assert cfg.reward.reward_manager.source == "register"
    assert cfg.reward.reward_manager.name == "visual_rewards"
    assert cfg.reward.custom_reward_function.path is None
    assert cfg.reward.reward_kwargs.preset == "visual_rft"
    assert cfg.algorithm.adv_estimator == "grpo"
    assert cfg.actor_rollout_ref.rollout.n == 8
    actor = cfg.actor_rollout_ref.actor
    assert (actor.use_kl_loss, actor.kl_loss_coef, actor.optim.lr) == (True, 0.04, 1e-6)
    assert (cfg.data.max_prompt_length, cfg.data.max_response_length) == (1024, 256)
    assert f"Qwen2-VL-{size.upper()}" in cfg.actor_rollout_ref.model.path
    # the rest of veRL's tree is there (composed, not copied)
    assert "rollout_correction" in cfg.algorithm


def test_load_reward_manager_by_registry_name(tokenizer: Any, tokenizer_dir: Path) -> None:
    cfg = with_tokenizer(recipe_config("visual_rft_grpo_2b"), tokenizer_dir)
    manager = load_reward_manager(cfg, tokenizer)
    assert type(manager) is VisualRewardsManager
    assert manager.options.preset == "visual_rft"
    assert manager._coalescer.max_wait_s == pytest.approx(0.02)


def test_load_reward_manager_by_importlib(
    tokenizer: Any, tokenizer_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # even where the registry does not know the name, importlib finds the class
    monkeypatch.delitem(registry.REWARD_MANAGER, "visual_rewards")
    cfg = with_tokenizer(recipe_config("visual_rft_grpo_2b", IMPORTLIB), tokenizer_dir)
    manager = load_reward_manager(cfg, tokenizer)
    assert type(manager).__name__ == "VisualRewardsManager"


def test_manager_rejects_a_custom_reward_function(tokenizer: Any, tokenizer_dir: Path) -> None:
    cfg = recipe_config(
        "visual_rft_grpo_2b",
        [
            "reward.custom_reward_function.path=pkg://visual_rewards.verl",
            "reward.custom_reward_function.name=compute_score",
        ],
    )
    with pytest.raises(ValueError, match="custom_reward_function"):
        load_reward_manager(with_tokenizer(cfg, tokenizer_dir), tokenizer)


def test_bad_manager_options_are_caller_errors(tokenizer: Any, tokenizer_dir: Path) -> None:
    cfg = recipe_config("visual_rft_grpo_2b", ["reward.reward_kwargs.max_wait_ms=-1"])
    with pytest.raises(ValueError, match="max_wait_ms"):
        load_reward_manager(with_tokenizer(cfg, tokenizer_dir), tokenizer)
    cfg = recipe_config("visual_rft_grpo_2b", ["+reward.reward_kwargs.bogus=1"])
    with pytest.raises(TypeError, match="bogus"):
        load_reward_manager(with_tokenizer(cfg, tokenizer_dir), tokenizer)
    # a reward option that does not exist fails when the manager is built, not mid-run
    cfg = recipe_config("visual_rft_grpo_2b", ["+reward.reward_kwargs.format.bogus=1"])
    with pytest.raises(TypeError, match="unknown option"):
        load_reward_manager(with_tokenizer(cfg, tokenizer_dir), tokenizer)


@pytest.mark.skipif("detection" not in REWARDS, reason="DetectionReward not registered yet")
def test_task_options_from_the_config_reach_the_reward(tokenizer: Any, tokenizer_dir: Path) -> None:
    cfg = recipe_config(
        "visual_rft_grpo_2b",
        [
            "+reward.reward_kwargs.detection.confidence_rule=brier",
            "+reward.reward_kwargs.detection.preset=default",
        ],
    )
    manager = load_reward_manager(with_tokenizer(cfg, tokenizer_dir), tokenizer)
    reward = manager.options.reward("detection")
    assert reward == get_reward("detection", "default", confidence_rule="brier")


# --- scoring through veRL's reward loop ---------------------------------------------------


def _check_outputs(
    task: str, preset: str, outputs: list[dict[str, Any]], texts: list[str], gts: list[str]
) -> None:
    want = _expected(task, preset, texts, gts)
    got = np.array([o["reward_score"] for o in outputs])
    np.testing.assert_array_equal(got, np.nan_to_num(want.total, nan=0.0))
    keys = {tuple(o["reward_extra_info"]) for o in outputs}
    assert len(keys) == 1, "veRL needs the same extra-info keys for every sample"
    for name, values in want.components.items():
        np.testing.assert_array_equal(
            [o["reward_extra_info"][name] for o in outputs], np.nan_to_num(values, nan=0.0)
        )
    np.testing.assert_array_equal(
        [o["reward_extra_info"]["parse_failed"] for o in outputs], want.parse_failed.astype(float)
    )


@pytest.mark.parametrize("task", sorted(SAMPLES))
def test_reward_loop_worker_in_process(task: str, tokenizer_dir: Path) -> None:
    cfg = with_tokenizer(recipe_config("visual_rft_grpo_2b"), tokenizer_dir)
    worker = RewardLoopWorker(cfg)
    assert type(worker.reward_manager) is VisualRewardsManager
    data, texts, gts = _batch(worker.input_tokenizer, task)
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(data))
    _check_outputs(task, "visual_rft", outputs, texts, gts)
    # the worker's concurrent run_single calls became one vectorised reward call
    stats = worker.reward_manager.stats
    assert (stats.samples, stats.flushes, stats.reward_calls) == (len(texts), 1, 1)
    # and veRL places each score at the last valid response token
    scores = [o["reward_score"] for o in outputs]
    rm = VisualRewardsManager.assemble_rm_scores(data, scores)
    valid = data.batch["attention_mask"][:, data.batch["prompts"].shape[1] :].sum(dim=1)
    for i, length in enumerate(valid.tolist()):
        assert rm[i, length - 1].item() == pytest.approx(scores[i])
        assert torch.count_nonzero(rm[i, : length - 1]) == 0
        assert torch.count_nonzero(rm[i, length:]) == 0


def test_naive_manager_with_our_compute_score(tokenizer_dir: Path) -> None:
    task = "classification" if "classification" in SAMPLES else "format"
    cfg = recipe_config(
        "visual_rft_grpo_2b",
        [
            "reward.reward_manager.name=naive",
            "reward.custom_reward_function.path=pkg://visual_rewards.verl",
            "reward.custom_reward_function.name=compute_score",
            "+reward.custom_reward_function.reward_kwargs.preset=visual_rft",
        ],
    )
    worker = RewardLoopWorker(with_tokenizer(cfg, tokenizer_dir))
    data, texts, gts = _batch(worker.input_tokenizer, task)
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(data))
    _check_outputs(task, "visual_rft", outputs, texts, gts)


@pytest.fixture(scope="module")
def local_ray() -> Any:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_reward_loop_manager_on_local_ray(
    local_ray: Any, tokenizer: Any, tokenizer_dir: Path
) -> None:
    task = "detection" if "detection" in SAMPLES else sorted(SAMPLES)[0]
    cfg = with_tokenizer(recipe_config("visual_rft_grpo_2b"), tokenizer_dir, num_workers=2)
    manager = RewardLoopManager(cfg)
    data, texts, gts = _batch(tokenizer, task)
    out = manager.compute_rm_score(data)
    want = _expected(task, "visual_rft", texts, gts)
    rm = out.batch["rm_scores"]
    valid = data.batch["attention_mask"][:, data.batch["prompts"].shape[1] :].sum(dim=1)
    got = rm[torch.arange(len(texts)), valid - 1].numpy()
    np.testing.assert_allclose(got, np.nan_to_num(want.total, nan=0.0), rtol=0, atol=1e-6)
    assert float(rm.sum()) == pytest.approx(float(got.sum()), abs=1e-5)
    keys = out.meta_info["reward_extra_keys"]
    assert set(want.components) <= set(keys)
    for name, values in want.components.items():
        np.testing.assert_array_equal(out.non_tensor_batch[name], np.nan_to_num(values, nan=0.0))


# --- coalescing -------------------------------------------------------------------------


def _manager(tokenizer: Any, tokenizer_dir: Path, *overrides: str) -> VisualRewardsManager:
    cfg = with_tokenizer(recipe_config("visual_rft_grpo_2b", list(overrides)), tokenizer_dir)
    manager = load_reward_manager(cfg, tokenizer)
    assert isinstance(manager, VisualRewardsManager)
    return manager


def _unbatched(manager: VisualRewardsManager, data: Any) -> list[dict[str, float]]:
    """Each sample alone, through the plain compute_score (no manager, no batching)."""
    out = []
    for i in range(len(data)):
        item = manager.decode(data[i : i + 1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.append(
                compute_score(
                    item.data_source,
                    item.completion,
                    item.ground_truth,
                    item.extra_info,
                    preset="visual_rft",
                )
            )
    return out


@pytest.mark.parametrize("task", sorted(SAMPLES))
def test_concurrent_run_single_calls_make_one_vectorised_call(
    task: str, tokenizer: Any, tokenizer_dir: Path
) -> None:
    manager = _manager(tokenizer, tokenizer_dir)
    data, _, _ = _batch(tokenizer, task, rollouts=4)

    async def run_all() -> list[Any]:
        return await asyncio.gather(
            *(manager.run_single(data[i : i + 1]) for i in range(len(data)))
        )

    results = manager.loop.run_until_complete(run_all())
    assert manager.stats.reward_calls == 1
    assert manager.stats.flushes == 1
    assert manager.stats.samples == len(data)
    assert [r["reward_extra_info"] for r in results] == _unbatched(manager, data)
    assert [r["reward_score"] for r in results] == [r["score"] for r in _unbatched(manager, data)]


def test_batch_size_bound_splits_the_queue(tokenizer: Any, tokenizer_dir: Path) -> None:
    manager = _manager(tokenizer, tokenizer_dir, "reward.reward_kwargs.max_batch_size=4")
    data, _, _ = _batch(tokenizer, "format", rollouts=4, n_prompts=3)
    assert len(data) == 12

    async def run_all() -> list[Any]:
        return await asyncio.gather(
            *(manager.run_single(data[i : i + 1]) for i in range(len(data)))
        )

    results = manager.loop.run_until_complete(run_all())
    assert manager.stats.flushes == 3
    assert manager.stats.reward_calls == 3
    assert [r["reward_extra_info"] for r in results] == _unbatched(manager, data)


def test_wait_bound_scores_a_lone_sample(tokenizer: Any, tokenizer_dir: Path) -> None:
    manager = _manager(tokenizer, tokenizer_dir, "reward.reward_kwargs.max_wait_ms=1")
    data, _, _ = _batch(tokenizer, "format")

    async def one_by_one() -> list[Any]:
        return [await manager.run_single(data[i : i + 1]) for i in range(3)]

    results = manager.loop.run_until_complete(one_by_one())
    assert manager.stats.flushes == 3  # nothing waited for a full batch
    assert [r["reward_extra_info"] for r in results] == _unbatched(manager, data)[:3]


def test_a_caller_error_reaches_every_waiter(tokenizer: Any, tokenizer_dir: Path) -> None:
    manager = _manager(tokenizer, tokenizer_dir)
    rows = [
        {
            "data_source": "gsm8k",
            "prompt": [{"role": "user", "content": "2+2?"}],
            "reward_model": {"style": "rule", "ground_truth": "4"},
            "extra_info": {"index": 0},
        }
    ]
    data = trainer_batch(tokenizer, rows, ["4", "5"], n=2)

    async def run_all() -> list[Any]:
        return await asyncio.gather(
            *(manager.run_single(data[i : i + 1]) for i in range(2)), return_exceptions=True
        )

    results = manager.loop.run_until_complete(run_all())
    assert all(isinstance(r, ValueError) and "cannot tell the task" in str(r) for r in results)


@pytest.mark.slow
def test_launch_script_composes_the_run(tmp_path: Path) -> None:
    """``run_grpo.sh`` really starts veRL's ``main_ppo`` (Hydra's ``--cfg job`` prints the
    composed config and stops before any GPU is needed)."""
    script = Path(__file__).resolve().parents[2] / "integrations" / "verl" / "run_grpo.sh"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "TRAIN": str(tmp_path / "train.parquet"),
        "VAL": str(tmp_path / "val.parquet"),
        "MODEL_SIZE": "7b",
        "NNODES": "2",
        "PRESET": "default",
    }
    out = subprocess.run(
        ["bash", str(script), "trainer.total_training_steps=500", "--cfg", "job"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    import yaml

    cfg = yaml.safe_load(out.stdout[out.stdout.index("actor_rollout_ref:") :])
    assert cfg["data"]["train_files"] == env["TRAIN"]
    assert cfg["trainer"]["nnodes"] == 2
    assert cfg["trainer"]["total_training_steps"] == 500
    assert cfg["actor_rollout_ref"]["model"]["path"] == "Qwen/Qwen2-VL-7B-Instruct"
    assert cfg["actor_rollout_ref"]["rollout"]["n"] == 8
    assert cfg["reward"]["reward_manager"]["name"] == "visual_rewards"
    assert cfg["reward"]["reward_kwargs"]["preset"] == "default"
