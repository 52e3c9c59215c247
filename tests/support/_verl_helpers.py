"""Helpers for the veRL tests: a tiny local tokenizer, the recipe's config, trainer-like batches.

Import only after ``pytest.importorskip("verl")``: this imports torch, transformers and veRL.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# pytest imports this file too (--doctest-modules): skip it cleanly where veRL is absent.
pytest.importorskip("verl")

import torch
from _tiny_models import build_tokenizer as build_tiny_tokenizer
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict
from transformers import PreTrainedTokenizerFast

from verl import DataProto

RECIPE_DIR = Path(__file__).resolve().parents[2] / "integrations" / "verl" / "config"


def build_tokenizer(path: Path) -> PreTrainedTokenizerFast:
    """The tiny Qwen-style tokenizer of the TRL tests (tests/_tiny_models.py), saved to and
    loaded from ``path`` as veRL loads it."""
    build_tiny_tokenizer().save_pretrained(path)
    loaded = PreTrainedTokenizerFast.from_pretrained(path)
    assert isinstance(loaded, PreTrainedTokenizerFast)
    return loaded


def recipe_config(name: str, overrides: Sequence[str] = ()) -> DictConfig:
    """Compose the recipe ``name`` (on veRL's real ppo_trainer.yaml) with Hydra overrides."""
    with initialize_config_dir(config_dir=str(RECIPE_DIR), version_base=None):
        cfg = compose(
            config_name=name,
            overrides=[
                "data.train_files=unused.parquet",
                "data.val_files=unused.parquet",
                *overrides,
            ],
        )
    return cfg


def with_tokenizer(cfg: DictConfig, tokenizer_dir: Path, **reward: Any) -> DictConfig:
    """Point the config at the local tokenizer and set ``reward.*`` keys."""
    with open_dict(cfg):
        cfg.actor_rollout_ref.model.path = str(tokenizer_dir)
        for key, value in reward.items():
            cfg.reward[key] = value
    return cfg


def trainer_batch(
    tokenizer: PreTrainedTokenizerFast,
    rows: Sequence[dict[str, Any]],
    responses: Sequence[str],
    n: int = 1,
    prompt_length: int = 48,
    response_length: int | None = None,
) -> DataProto:
    """A batch shaped as veRL's agent loop hands it to ``compute_rm_score``.

    ``rows`` are dataset rows (``data_source``, ``reward_model``, ``extra_info``, ``prompt``),
    each repeated ``n`` times (rollouts), so ``len(responses) == n * len(rows)``. Prompts are
    left-padded to ``prompt_length``, responses (text + EOS) right-padded to
    ``response_length`` (default: the longest plus 3); ``attention_mask`` covers both;
    ``position_ids`` count valid tokens.
    """
    repeated = [row for row in rows for _ in range(n)]
    assert len(repeated) == len(responses)
    encoded = [
        [*tokenizer.encode(t, add_special_tokens=False), tokenizer.eos_token_id] for t in responses
    ]
    if response_length is None:
        response_length = max(len(e) for e in encoded) + 3
    pad = tokenizer.pad_token_id
    prompts = torch.full((len(responses), prompt_length), pad, dtype=torch.long)
    resp = torch.full((len(responses), response_length), pad, dtype=torch.long)
    mask = torch.zeros((len(responses), prompt_length + response_length), dtype=torch.long)
    for i, (row, r_ids) in enumerate(zip(repeated, encoded, strict=True)):
        p_ids = tokenizer.apply_chat_template(
            row["prompt"], add_generation_prompt=True, tokenize=True
        )
        if isinstance(p_ids, dict) or hasattr(p_ids, "input_ids"):
            p_ids = p_ids["input_ids"]
        p_ids = list(p_ids)[-prompt_length:]
        assert len(r_ids) <= response_length, "response too long for the test batch"
        prompts[i, prompt_length - len(p_ids) :] = torch.tensor(p_ids)
        resp[i, : len(r_ids)] = torch.tensor(r_ids)
        mask[i, prompt_length - len(p_ids) : prompt_length] = 1
        mask[i, prompt_length : prompt_length + len(r_ids)] = 1
    input_ids = torch.cat([prompts, resp], dim=1)
    position_ids = torch.clamp(torch.cumsum(mask, dim=1) - 1, min=0)
    response_mask = mask[:, prompt_length:]

    def column(key: str) -> np.ndarray:
        return np.array([row[key] for row in repeated] + [None], dtype=object)[:-1]

    non_tensor = {
        "data_source": column("data_source"),
        "reward_model": column("reward_model"),
        "extra_info": column("extra_info"),
        "raw_prompt": column("prompt"),
        "uid": np.array([f"u{i // n}" for i in range(len(responses))], dtype=object),
        "__num_turns__": np.full(len(responses), 2, dtype=np.int32),
    }
    return DataProto.from_dict(
        tensors={
            "prompts": prompts,
            "responses": resp,
            "response_mask": response_mask,
            "input_ids": input_ids,
            "attention_mask": mask,
            "position_ids": position_ids,
        },
        non_tensors=non_tensor,
    )
