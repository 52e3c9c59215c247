"""The dialect reaches every entry point: the score CLI, veRL's reward_kwargs, TRL rewards and
the dataset builders (prompt and ground-truth answer written in the dialect)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from visual_rewards.cli import main
from visual_rewards.cli.score import dialect_options
from visual_rewards.data.detection import DetectionOptions, prompt_for
from visual_rewards.data.prompts import dialect_prompt
from visual_rewards.data.records import format_dialect_answer
from visual_rewards.parsing import parse_detections
from visual_rewards.parsing.dialect_render import quantum, render_boxes
from visual_rewards.parsing.dialects import DIALECT_NAMES, DIALECTS
from visual_rewards.rewards.detection import DetectionReward
from visual_rewards.verl.compute import compute_score

THINK = "<think>x</think>"
GT = "[[100, 200, 500, 600]]"
PALIGEMMA = render_boxes("paligemma", [[0.1, 0.2, 0.5, 0.6]], ["cat"])


def test_cli_dialect(tmp_path: Path) -> None:
    rows = [
        {"task": "detection", "completion": f"{THINK}<answer>{PALIGEMMA}</answer>", "solution": GT},
        {"task": "classification", "completion": f"{THINK}<answer>cat</answer>", "solution": "cat"},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src), "-o", str(out), "--dialect", "paligemma"]) == 0
    scored = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert scored[0]["scores"]["components"]["iou"] > 0.99  # read y first on 1024 bins
    assert scored[1]["scores"]["components"]["accuracy"] == 1.0  # other tasks are left alone
    out2 = tmp_path / "out2.jsonl"
    assert main(["score", str(src), "-o", str(out2)]) == 0
    plain = [json.loads(line) for line in out2.read_text(encoding="utf-8").splitlines()]
    assert (
        plain[0]["scores"]["components"]["iou"] == 0.0
    )  # today's reader finds no boxes in <loc> tokens


def test_cli_rejects_unknown_dialect(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "x.jsonl", "--dialect", "qwen4"]) == 2
    assert "unknown dialect 'qwen4'" in capsys.readouterr().err


def test_dialect_options_leave_pointing_alone_without_points() -> None:
    assert [k for k, _ in dialect_options("kosmos2")] == ["detection.dialect", "grounding.dialect"]


def test_verl_reward_kwargs_pass_the_dialect() -> None:
    answer = f"{THINK}<answer>{PALIGEMMA}</answer>"
    out = compute_score("visual_rewards/detection", answer, GT, detection={"dialect": "paligemma"})
    assert out["iou"] > 0.99
    assert compute_score("visual_rewards/detection", answer, GT)["iou"] == 0.0


def test_trl_reward_takes_the_dialect() -> None:
    completions = [[{"role": "assistant", "content": f"{THINK}<answer>{PALIGEMMA}</answer>"}]]
    named = DetectionReward(dialect="paligemma")(
        prompts=["p"], completions=completions, solution=[GT]
    )
    plain = DetectionReward()(prompts=["p"], completions=completions, solution=[GT])
    assert named[0] is not None and plain[0] is not None
    assert named[0] > 1.99 and plain[0] == 1.0  # IoU ~1 + format, against format alone


@pytest.mark.parametrize("dialect", [n for n in DIALECT_NAMES if DIALECTS[n].reads_boxes])
def test_builders_write_prompt_and_ground_truth_in_the_dialect(dialect: str) -> None:
    options = DetectionOptions(dialect=dialect)
    prompt = prompt_for("stop_sign", options)
    assert prompt.startswith(DIALECTS[dialect].box_prompt.format("stop_sign")[:20])
    assert "<answer>" in prompt  # the paper's think/answer format follows
    size = (640, 480)
    pixel_boxes = [[64.0, 48.0, 320.0, 240.0], [330.0, 250.0, 600.0, 470.0]]
    text = format_dialect_answer(pixel_boxes, dialect, image_size=size, label="stop sign")
    d = parse_detections(text, dialect=dialect, image_size=size)
    expected = np.array(pixel_boxes) / np.array([640, 480, 640, 480])
    np.testing.assert_allclose(d.boxes, expected, atol=quantum(dialect, size) + 1e-9)
    assert format_dialect_answer([], dialect, image_size=size) == "No Objects"
    assert parse_detections("No Objects", dialect=dialect, image_size=size).empty


def test_builder_rejects_unknown_dialect() -> None:
    with pytest.raises(ValueError, match="unknown dialect"):
        DetectionOptions(dialect="qwen4")
    with pytest.raises(ValueError, match="writes no points"):
        dialect_prompt("paligemma", "cup", kind="point")
