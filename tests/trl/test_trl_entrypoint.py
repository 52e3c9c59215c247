"""The TRL training entry point (integrations/trl/train_grpo.py) end to end on CPU.

The README's CPU smoke command (a shipped recipe overridden on the command line for CPU),
pointed at a tiny model and a tiny data set built from ``../shared/data/coco_tiny`` (generated
images when it is absent), trains for 2 GRPO steps and saves a model that loads back.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("trl")
pytest.importorskip("PIL")
pytest.importorskip("visual_rewards.rewards.detection")

import _tiny_models as tm
from _trl_script import TRL_DIR, load_script

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


def readme_smoke_arguments() -> list[str]:
    """The arguments of the CPU smoke command in integrations/trl/README.md, as written."""
    text = (TRL_DIR / "README.md").read_text()
    block = text[text.index("<!-- cpu-smoke") :]
    block = block[block.index("```bash\n") + len("```bash\n") :]
    command = block[: block.index("```")].replace("\\\n", " ")
    words = shlex.split(command)
    assert words[:2] == ["python", "integrations/trl/train_grpo.py"], words[:2]
    return words[2:]


def test_the_readme_cpu_smoke_command_trains(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, shared_data_or_none: Path | None
) -> None:
    """The README's CPU smoke command, argument for argument, on a tiny model and data set.

    Only what the README takes from the Hub and from §2 is swapped: the model, the data set, and
    the output folder; every other argument is the README's (and the recipe's it names).
    """
    with tm.one_torch_thread():
        model_dir, rows = tm.shared_tiny_model(
            tmp_path_factory.getbasetemp(), "qwen2vl", shared_data_or_none
        )
    data = tm.write_jsonl(rows, tmp_path / "train.jsonl")
    first = json.loads(data.read_text().splitlines()[0])
    assert Path(first["image"]).exists()
    out = tmp_path / "out"
    script = load_script()
    args = readme_smoke_arguments()
    config = args.index("--config") + 1
    args[config] = str(TRL_DIR.parents[1] / args[config])  # the README runs from the root
    args[args.index("--output_dir") + 1] = str(out)
    args += ["--model_name_or_path", str(model_dir), "--dataset_name", str(data)]
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
    # the recipe's pixel bounds reached the processor (and through it the reward)
    assert pixel_bounds(trainer.processing_class) == {"min_pixels": 3136, "max_pixels": 401408}
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
