"""The TRL integration's script and recipes, as the tests load them (imports trl lazily).

``integrations/trl/train_grpo.py`` is a script, not a package module: :func:`load_script`
imports it by path; :func:`parse_recipe` reads a recipe through TRL's own parser.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TRL_DIR = ROOT / "integrations" / "trl"
RECIPES = sorted((TRL_DIR / "configs").glob("*.yaml"))
ACCELERATE = sorted((TRL_DIR / "accelerate").glob("*.yaml"))
DEEPSPEED = sorted((TRL_DIR / "deepspeed").glob("*.json"))


def load_script() -> ModuleType:
    """Import integrations/trl/train_grpo.py as a module (once per process)."""
    name = "visual_rewards_train_grpo"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, TRL_DIR / "train_grpo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def parse_recipe(path: Path, *extra: str) -> tuple[Any, Any, Any]:
    """``(VisualRFTArguments, GRPOConfig, ModelConfig)`` of a recipe, through ``TrlParser``.

    ``--use_cpu true`` is added (bf16 needs a GPU otherwise); ``extra`` arguments follow it.
    """
    from trl import GRPOConfig, ModelConfig, TrlParser

    script = load_script()
    parser = TrlParser((script.VisualRFTArguments, GRPOConfig, ModelConfig))
    args = ["--config", str(path), "--use_cpu", "true", *extra]
    return parser.parse_args_and_config(args)  # type: ignore[no-any-return]
