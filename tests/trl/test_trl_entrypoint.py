"""The TRL training entry point (integrations/trl/train_grpo.py) end to end on CPU.

A shipped recipe, overridden on the command line for a tiny model and a tiny data set built
from ``../shared/data/coco_tiny`` (generated images when it is absent), trains for 2 GRPO steps
and saves a model that loads back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("trl")
pytest.importorskip("PIL")
pytest.importorskip("visual_rewards.rewards.detection")

import _tiny_models as tm
from test_trl_configs import TRL_DIR, load_script

from visual_rewards.trl import pixel_bounds

# PIL images meet numpy 2 inside transformers' processor: a third-party warning, not ours
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.mark.parametrize(
    "command",
    [["integrations/trl/train_grpo.py"], ["-m", "integrations.trl.train_grpo"]],
    ids=["script", "module"],
)
def test_entry_point_starts_as_script_and_as_module(command: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, *command, "--help"],
        cwd=TRL_DIR.parents[1],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for option in ("--task", "--reward_preset", "--num_generations", "--model_name_or_path"):
        assert option in out.stdout


def test_build_rewards_per_task() -> None:
    script = load_script()
    args = script.VisualRFTArguments(dataset_name="x", task="open_vocabulary_detection")
    det, fmt = script.build_rewards(args)
    assert det.__name__ == "detection_visual_rft" and fmt.__name__ == "format_visual_rft"
    assert det.config.format_weight == 0.0  # format is scored once, by its own function
    args = script.VisualRFTArguments(
        dataset_name="x",
        reward_preset="default",
        reward_options='{"coords": "qwen25vl"}',
        separate_format_reward=False,
    )

    processor = SimpleNamespace(
        image_processor=SimpleNamespace(size={"shortest_edge": 3136, "longest_edge": 12544})
    )
    (det,) = script.build_rewards(args, processor)
    assert (det.config.coords, det.config.min_pixels, det.config.max_pixels) == (
        "qwen25vl",
        3136,
        12544,
    )
    with pytest.raises(ValueError, match="task must be one of"):
        script.build_rewards(script.VisualRFTArguments(dataset_name="x", task="segmentation"))


def test_entry_point_trains_two_steps_from_a_shipped_recipe(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, shared_data_or_none: Path | None
) -> None:
    with tm.one_torch_thread():
        model_dir, rows = tm.shared_tiny_model(
            tmp_path_factory.getbasetemp(), "qwen2vl", shared_data_or_none
        )
    data = tm.write_jsonl(rows, tmp_path / "train.jsonl")
    first = json.loads(data.read_text().splitlines()[0])
    assert Path(first["image"]).exists()
    out = tmp_path / "out"
    script = load_script()
    args = [
        "--config",
        str(TRL_DIR / "configs" / "qwen2vl-2b_detection.yaml"),
        "--model_name_or_path",
        str(model_dir),
        "--dataset_name",
        str(data),
        "--output_dir",
        str(out),
        "--max_steps",
        "2",
        "--per_device_train_batch_size",
        "4",
        "--num_generations",
        "4",
        "--gradient_accumulation_steps",
        "1",
        "--max_completion_length",
        "64",
        "--learning_rate",
        "1e-3",
        "--min_pixels",
        str(tm.TINY_MIN_PIXELS),
        "--max_pixels",
        str(tm.TINY_MAX_PIXELS),
        "--use_cpu",
        "true",
        "--bf16",
        "false",
        "--dtype",
        "float32",
        "--attn_implementation",
        "sdpa",
        "--gradient_checkpointing",
        "false",
        "--log_completions",
        "false",
    ]
    # the tiny model's image-only processor (no torchvision here); one thread (see _tiny_models)
    with tm.tiny_processors(), tm.one_torch_thread():
        trainer = script.main(args)
    assert trainer.state.global_step == 2
    steps = [h for h in trainer.state.log_history if "loss" in h]
    assert len(steps) == 2
    for key in (
        "rewards/detection_visual_rft/mean",
        "rewards/format_visual_rft/mean",
        "rewards/detection_visual_rft/iou/mean",
        "rewards/detection_visual_rft/parse_failure_rate",
    ):
        assert all(key in h for h in steps), key
    assert pixel_bounds(trainer.processing_class) == {
        "min_pixels": tm.TINY_MIN_PIXELS,
        "max_pixels": tm.TINY_MAX_PIXELS,
    }
    # the trained model was saved and loads back
    from transformers import AutoModelForImageTextToText

    assert (out / "config.json").exists()
    reloaded = AutoModelForImageTextToText.from_pretrained(out)
    assert type(reloaded).__name__ == "Qwen2VLForConditionalGeneration"


def test_reads_what_build_dataset_writes(tmp_path: Path, shared_data: Path) -> None:
    """``visual-rewards build-dataset … --jsonl/--hf`` output is what the script trains on."""
    coco = shared_data / "coco_tiny"
    from visual_rewards.cli import main as cli

    code = cli(
        [
            "build-dataset",
            "fewshot-detection",
            "--annotations",
            str(coco / "gt_dataset.json"),
            "--image-root",
            str(coco),
            "--categories",
            "cloud,star",
            "-k",
            "1",
            "--jsonl",
            str(tmp_path / "train.jsonl"),
            "--hf",
            str(tmp_path / "hf"),
        ]
    )
    assert code == 0
    script = load_script()
    for source in (tmp_path / "train.jsonl", tmp_path / "hf"):
        ds = script.load_rows(script.VisualRFTArguments(dataset_name=str(source)))
        assert len(ds) == 2
        row = ds[0]
        assert row["image"].size == (256, 256)
        assert row["prompt"] == [{"role": "user", "content": row["problem"]}]
        assert row["solution"].startswith("<answer>")
    with pytest.raises(ValueError, match="lacks column"):
        script.load_rows(
            script.VisualRFTArguments(dataset_name=str(tmp_path / "hf"), solution_column="answer")
        )
