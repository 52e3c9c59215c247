"""Which reward manager ``main_ppo`` actually runs with the recipe, and the legacy keys it ignores.

The recipe is composed on veRL's own ``ppo_trainer.yaml`` (the config ``main_ppo`` is decorated
with); the manager and reward function are resolved by the functions veRL's reward loop calls
(``resolve_reward_manager_cls``, ``get_custom_reward_fn``) after the checks ``main_ppo`` runs
(``validate_config``). veRL 0.9.1 migrates the legacy keys of its own docs
(``reward_model.reward_manager``, top-level ``custom_reward_function``) only in
``fully_async_main``: under ``main_ppo`` they are ignored without a word, which
docs/training-verl.md warns about ("Troubleshooting").
"""

from __future__ import annotations

import copy
import importlib
import inspect
from typing import Any

import pytest

pytest.importorskip("verl")

from _verl_helpers import recipe_config
from hydra import compose, initialize_config_module
from omegaconf import DictConfig
from verl.experimental.reward_loop import migrate_legacy_reward_impl
from verl.trainer.main_ppo import need_critic, need_reference_policy
from verl.trainer.ppo.reward import get_custom_reward_fn, resolve_reward_manager_cls
from verl.utils.config import validate_config

from visual_rewards.verl.manager import VisualRewardsManager

LEGACY_MANAGER = ["reward_model.reward_manager=naive"]
LEGACY_FUNCTION = [
    "custom_reward_function.path=pkg://visual_rewards.verl",
    "custom_reward_function.name=compute_score",
]


def _in_effect(cfg: DictConfig, validate: bool = True) -> tuple[type, Any]:
    """The manager class and custom reward function ``main_ppo``'s reward loop would use.

    ``validate``: run ``main_ppo``'s config checks first (they load the model's tokenizer, so
    the bare config, whose model path is a placeholder, skips them).
    """
    if validate:
        validate_config(
            config=cfg,
            use_reference_policy=need_reference_policy(cfg),
            use_critic=need_critic(cfg),
        )
    return resolve_reward_manager_cls(cfg), get_custom_reward_fn(cfg)


def _bare(overrides: list[str]) -> DictConfig:
    """veRL's own ppo_trainer.yaml (what ``python -m verl.trainer.main_ppo`` composes)."""
    with initialize_config_module(config_module="verl.trainer.config", version_base=None):
        return compose(config_name="ppo_trainer", overrides=overrides)


def test_the_recipe_runs_the_visual_rewards_manager() -> None:
    manager, function = _in_effect(recipe_config("visual_rft_grpo_2b"))
    assert manager is VisualRewardsManager
    assert function is None  # the manager scores with visual-rewards itself


def test_legacy_manager_key_is_ignored_by_main_ppo() -> None:
    # `reward_model.reward_manager=naive` from veRL's older docs changes nothing under main_ppo ...
    cfg = recipe_config("visual_rft_grpo_2b", LEGACY_MANAGER)
    manager, _ = _in_effect(cfg)
    assert manager is VisualRewardsManager
    # ... while fully_async_main, which migrates the legacy keys, would run veRL's naive manager
    migrated = migrate_legacy_reward_impl(copy.deepcopy(cfg))
    assert resolve_reward_manager_cls(migrated).__name__ == "NaiveRewardManager"


def test_legacy_custom_reward_function_is_ignored_by_main_ppo() -> None:
    # on veRL's bare config, the top-level `custom_reward_function` is not read: no function ...
    cfg = _bare(LEGACY_FUNCTION)
    manager, function = _in_effect(cfg, validate=False)
    assert manager.__name__ == "NaiveRewardManager" and function is None
    # ... the current key is: reward.custom_reward_function
    current = _bare([f"reward.{o}" for o in LEGACY_FUNCTION])
    _, function = _in_effect(current, validate=False)
    assert function is not None
    assert function.args[0].__module__ == "visual_rewards.verl.compute"
    # fully_async_main would have migrated the legacy one
    migrated = migrate_legacy_reward_impl(copy.deepcopy(cfg))
    assert get_custom_reward_fn(migrated) is not None


@pytest.mark.parametrize("module", ["verl.trainer.main_ppo", "verl.trainer.ppo.v1.trainer_base"])
def test_main_ppo_does_not_migrate_legacy_keys(module: str) -> None:
    # the fact the troubleshooting section rests on; a veRL that migrates them fails here
    source = inspect.getsource(importlib.import_module(module))
    assert "migrate_legacy_reward_impl" not in source
    fully_async = importlib.import_module("verl.experimental.fully_async_policy.fully_async_main")
    assert "migrate_legacy_reward_impl" in inspect.getsource(fully_async)


def test_the_recipe_reports_components_in_training_steps() -> None:
    cfg = recipe_config("visual_rft_grpo_2b")
    assert cfg.trainer.use_v1 and cfg.trainer.v1.trainer_mode == "sync"
    sampler = cfg.trainer.v1.sampler.custom_sampler
    assert (sampler.path, sampler.name) == (
        "pkg://visual_rewards.verl.sampler",
        "ComponentMetricsReplayBuffer",
    )
