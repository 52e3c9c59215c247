"""LISA ReasonSeg grounding builder on generated labelme JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import visual_rewards as vr
from visual_rewards.data import build_grounding, find_reasonseg_files, save_jsonl, validate_records
from visual_rewards.data.prompts import grounding_prompt
from visual_rewards.geometry.coords import CoordConfig

W, H = 640, 480


def _sample(root: Path, name: str, payload: Any, with_image: bool = True) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{name}.json").write_text(json.dumps(payload))
    if with_image:
        (root / f"{name}.jpg").write_bytes(b"jpeg bytes are not read when the json has the size")


def _shape(label: str, pts: list[list[float]]) -> dict[str, Any]:
    return {"label": label, "points": pts, "shape_type": "polygon", "group_id": None}


@pytest.fixture
def reasonseg(tmp_path: Path) -> Path:
    root = tmp_path / "ReasonSeg" / "train"
    size = {"imageWidth": W, "imageHeight": H}
    _sample(root, "a", {
        "text": ["the animal that can fly", "what keeps the rain off?"], "is_sentence": True,
        "shapes": [
            _shape("target", [[100, 50], [200, 60], [150, 120]]),
            _shape("target", [[300, 200], [320, 260], [280, 240]]),
            _shape("ignore", [[0, 0], [600, 0], [600, 470]]),
        ], **size,
    })  # fmt: skip
    _sample(root, "b", {
        "text": ["the red cup"], "is_sentence": False,
        "shapes": [_shape("target", [[10.5, 20.25], [630, 20.25], [630, 470.75], [10.5, 470.75]])],
        **size,
    })  # fmt: skip
    _sample(
        root,
        "c_no_target",
        {"text": ["x"], "shapes": [_shape("ignore", [[0, 0], [1, 0], [1, 1]])], **size},
    )
    _sample(
        root,
        "d_outside",
        {"text": ["x"], "shapes": [_shape("target", [[0, 0], [900, 0], [5, 5]])], **size},
    )
    _sample(
        root,
        "e_two_points",
        {"text": ["x"], "shapes": [_shape("target", [[0, 0], [9, 9]])], **size},
    )
    _sample(root, "f_no_image", {"text": ["x"], "shapes": [_shape("target", [[0, 0], [9, 0], [9, 9]])], **size},
            with_image=False)  # fmt: skip
    (root / "g_broken.json").write_text("{not json")
    (root / "g_broken.jpg").write_bytes(b"")
    return root


def test_boxes_polygons_and_skips(reasonseg: Path) -> None:
    files = find_reasonseg_files(reasonseg)
    report = build_grounding(files)
    assert len(report.records) == 3  # two queries of a, one of b
    skipped = {Path(s.item).stem: s.reason for s in report.skipped}
    assert set(skipped) == {"c_no_target", "d_outside", "e_two_points", "f_no_image", "g_broken"}
    assert "no 'target' polygon" in skipped["c_no_target"]
    assert "outside" in skipped["d_outside"]
    a0, a1, b = report.records
    assert a0.metadata["box_xyxy_pixel"] == [100.0, 50.0, 320.0, 260.0]  # ignore region left out
    assert len(a0.metadata["polygons"]) == 2 and len(a0.metadata["ignore_polygons"]) == 1
    assert a0.solution == "<answer>(156,104),(500,542)</answer>"
    assert a0.problem == grounding_prompt("the animal that can fly")
    assert a1.metadata["query"] == "what keeps the rain off?" and a1.metadata["query_index"] == 1
    assert b.task == "grounding" and b.metadata["is_sentence"] is False


@pytest.mark.parametrize("coords", ["norm1000", "normalized", "pixel", "qwen25vl"])
def test_round_trip_and_validation(reasonseg: Path, coords: str) -> None:
    report = build_grounding(find_reasonseg_files(reasonseg), coords=coords)  # type: ignore[arg-type]
    n = len(report.records)
    assert len(validate_records(report).records) == n
    for r in report.records:
        cfg = CoordConfig(coords, image_size=(W, H))  # type: ignore[arg-type]
        det = vr.parse_detections(vr.parse_completion("<think>t</think>" + r.solution).answer, cfg)
        assert det.boxes.shape == (1, 4) and not det.errors
        back = det.boxes[0] * [W, H, W, H]
        sx, sy = cfg.scale()
        tol = np.array([W / sx, H / sy, W / sx, H / sy]) * (
            0.0005 if coords == "normalized" else 0.5
        )
        assert np.all(np.abs(back - r.metadata["box_xyxy_pixel"]) <= tol + 1e-6)
        if coords != "norm1000":
            assert "x1,y1,x2,y2 are" in r.problem


def test_first_text_and_sampling(reasonseg: Path, tmp_path: Path) -> None:
    files = find_reasonseg_files(reasonseg)
    assert len(build_grounding(files, texts="first").records) == 2
    a = build_grounding(files, num_samples=2, seed=3)
    b = build_grounding(files, num_samples=2, seed=3)
    assert len(a.records) == 2
    save_jsonl(a.records, tmp_path / "a.jsonl")
    save_jsonl(b.records, tmp_path / "b.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    draws = {tuple(r.metadata["query"] for r in build_grounding(files, num_samples=2, seed=s).records)
             for s in range(8)}  # fmt: skip
    assert len(draws) > 1
    assert build_grounding(files, num_samples=50).shortfalls["records"] == (50, 3)


def test_grounding_reward_scores_ground_truth_at_one(reasonseg: Path) -> None:
    from visual_rewards.rewards import REWARDS, get_reward

    if "grounding" not in REWARDS:
        pytest.skip("GroundingReward not registered yet")
    report = build_grounding(find_reasonseg_files(reasonseg))
    comps = ["<think>t</think>" + r.solution for r in report.records]
    res = get_reward("grounding").score(comps, [r.solution for r in report.records])
    for name, values in res.components.items():
        np.testing.assert_allclose(values, 1.0, err_msg=name)


def test_image_size_from_the_image_header(tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    root = tmp_path / "rs"
    _sample(root, "x", {"text": ["q"], "shapes": [_shape("target", [[0, 0], [50, 0], [50, 25]])]},
            with_image=False)  # fmt: skip
    pil.new("RGB", (100, 50)).save(root / "x.jpg")
    rec = build_grounding(find_reasonseg_files(root)).records[0]
    assert rec.metadata["image_size"] == [100, 50]
    assert rec.solution == "<answer>(0,0),(500,500)</answer>"


def test_cli_grounding(reasonseg: Path, tmp_path: Path) -> None:
    from visual_rewards.cli import main

    out = tmp_path / "g.jsonl"
    code = main(["build-dataset", "grounding", "--reasonseg", str(reasonseg), "--jsonl", str(out)])
    assert code == 1  # bad files were skipped (and reported)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3 and {r["task"] for r in rows} == {"grounding"}
