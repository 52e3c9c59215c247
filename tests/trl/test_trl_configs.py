"""Every shipped TRL recipe file parses into its real config object.

- ``integrations/trl/configs/*.yaml`` -> ``VisualRFTArguments``, ``GRPOConfig``, ``ModelConfig``
  through TRL's own ``TrlParser`` (unknown keys are an error there);
- ``integrations/trl/accelerate/*.yaml`` -> accelerate's ``ClusterConfig``;
- ``integrations/trl/deepspeed/*.json`` -> accelerate's ``DeepSpeedPlugin``.
"""

from __future__ import annotations

import enum
from pathlib import Path

import pytest

pytest.importorskip("trl")
yaml = pytest.importorskip("yaml")

from _trl_script import ACCELERATE, DEEPSPEED, RECIPES, ROOT, TRL_DIR, parse_recipe  # noqa: E402

from trl import GRPOConfig, ModelConfig  # noqa: E402


def test_the_recipes_are_all_there() -> None:
    names = {p.stem for p in RECIPES}
    for size in ("2b", "7b"):
        for task in ("detection", "ovd", "lisa", "classification"):
            assert f"qwen2vl-{size}_{task}" in names
    assert {p.name for p in ACCELERATE} >= {"1node-8gpu-zero3.yaml", "multinode-zero3.yaml"}
    assert {p.name for p in DEEPSPEED} == {"zero2.json", "zero3.json"}


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_recipe_parses_into_grpo_config(path: Path) -> None:
    raw = yaml.safe_load(path.read_text())
    script_args, grpo, model = parse_recipe(path)
    assert isinstance(grpo, GRPOConfig)
    assert isinstance(model, ModelConfig)
    # every value in the file arrived, with its type (YAML's 1e-6 would be a string)
    for key, value in raw.items():
        target = next(o for o in (script_args, grpo, model) if hasattr(o, key))
        got = getattr(target, key)
        if isinstance(got, enum.Enum):  # e.g. lr_scheduler_type -> SchedulerType
            got = got.value
        if key == "report_to":
            assert got == ([] if value == "none" else value)
        elif key == "output_dir":
            assert Path(got) == Path(value)
        else:
            assert got == value, key
            assert type(got) is type(value), key
    # what every recipe shares (the values against the authors' scripts: test_trl_recipes.py)
    assert grpo.beta == pytest.approx(0.04)
    assert grpo.learning_rate == pytest.approx(1e-6)
    assert grpo.per_device_train_batch_size % grpo.num_generations == 0
    assert model.model_name_or_path.startswith("Qwen/Qwen2")
    size = "7B" if "7b" in path.stem else "2B"
    assert size in model.model_name_or_path
    task = path.stem.split("_", 1)[1].removesuffix("_vllm")
    expected = {"ovd": "open_vocabulary_detection", "lisa": "grounding"}.get(task, task)
    assert script_args.task == expected
    if "_vllm" in path.stem:
        assert grpo.use_vllm and grpo.vllm_mode == "colocate"


def test_command_line_overrides_the_recipe() -> None:
    _, grpo, model = parse_recipe(
        TRL_DIR / "configs" / "qwen2vl-2b_detection.yaml",
        "--max_steps",
        "7",
        "--use_vllm",
        "true",
        "--model_name_or_path",
        "/models/mine",
    )
    assert grpo.max_steps == 7 and grpo.use_vllm and model.model_name_or_path == "/models/mine"


def test_unknown_recipe_keys_are_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_name_or_path: x\nnum_generation: 8\n")
    with pytest.raises(ValueError, match="num_generation"):
        parse_recipe(bad)


@pytest.mark.parametrize("path", ACCELERATE, ids=lambda p: p.stem)
def test_accelerate_config_parses(path: Path) -> None:
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file

    config = load_config_from_file(str(path))
    assert isinstance(config, ClusterConfig)
    assert str(config.distributed_type) in ("DEEPSPEED", "DistributedType.DEEPSPEED")
    assert config.num_processes == 8 * config.num_machines
    ds_file = ROOT / config.deepspeed_config["deepspeed_config_file"]
    assert ds_file.exists(), ds_file
    stage = 3 if "zero3" in path.stem else 2
    assert f"zero{stage}" in ds_file.name
    assert config.deepspeed_config["zero3_init_flag"] is (stage == 3)
    if "multinode" in path.stem:
        assert config.num_machines > 1 and config.main_process_ip


@pytest.mark.parametrize("path", DEEPSPEED, ids=lambda p: p.stem)
def test_deepspeed_config_parses(path: Path) -> None:
    from accelerate.utils import DeepSpeedPlugin

    plugin = DeepSpeedPlugin(hf_ds_config=str(path))
    assert plugin.zero_stage == int(path.stem[-1])
    assert plugin.deepspeed_config["gradient_accumulation_steps"] == "auto"
