"""build-dataset --protocol visual_rft: what the authors' pipeline reads, by the released rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from released_data import box_annotation, evaluation_row, training_rows

from visual_rewards.cli import main
from visual_rewards.data import find_reasonseg_files, load_detection_source, validate_records
from visual_rewards.data.protocols import (
    IMAGE_PREFIX,
    LISA_SYSTEM_PROMPT,
    build_detection_eval_exist_map,
    build_grounding_visual_rft,
    truncate_norm1000,
)
from visual_rewards.data.records import round_boxes
from visual_rewards.rewards import get_reward

datasets = pytest.importorskip("datasets")


def _perfect(solution: str) -> str:
    inner = solution[len("<answer>") : -len("</answer>")].strip()
    return f"<think>it is there</think> <answer>{inner}</answer>"


def test_coco_tiny_loads_in_grpo_py_and_scores_one(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny = shared_data / "coco_tiny"
    base = ["build-dataset", "fewshot-detection", "--annotations", str(tiny / "gt_dataset.json"),
            "--image-root", str(tiny), "--categories", "cloud,heart,arrow,star", "-k", "2"]  # fmt: skip
    assert main([*base, "--hf", str(tmp_path / "default")]) == 0
    assert main([*base, "--protocol", "visual_rft", "--hf", str(tmp_path / "rft")]) == 0
    # the authors' grpo.py: DatasetDict.load_from_disk(dataset_name)["train"]
    with pytest.raises(FileNotFoundError):
        datasets.DatasetDict.load_from_disk(str(tmp_path / "default"))
    train = datasets.DatasetDict.load_from_disk(str(tmp_path / "rft"))["train"]
    assert len(train) == 7 and {"image", "problem", "solution"} <= set(train.column_names)
    assert train[0]["image"].size == (256, 256)
    reward = get_reward("detection", "visual_rft")
    res = reward.score([_perfect(s) for s in train["solution"]], train["solution"])
    for name in ("iou", "confidence", "format"):
        assert res.components[name].tolist() == [1.0] * len(train), name


def test_truncation_is_the_released_rule_and_differs_from_rounding(
    shared_data_or_none: Path | None,
) -> None:
    assert truncate_norm1000([0.9999, 1.5, 99.99, 100.0], (100, 100)) == [9, 15, 999, 1000]
    rng = np.random.default_rng(0)
    size = (640, 427)
    if shared_data_or_none is not None:
        src = load_detection_source(shared_data_or_none / "lvis_tiny" / "lvis_val_100.json", "/")
        pairs = [(b, src.images[i].size) for (i, _), (_, bs) in src.boxes.items() for b in bs]
    else:
        boxes = rng.uniform(0, 1, (500, 4)) * [320, 200, 320, 200] + [0, 0, 320, 220]
        pairs = [(b, size) for b in boxes]
    trunc = np.array([truncate_norm1000(list(b), s) for b, s in pairs])
    rounded = np.concatenate([round_boxes([b], "norm1000", s) for b, s in pairs])
    diff = np.abs(trunc - rounded)
    assert diff.max() == 1 and 0.3 < float(np.mean(diff == 1)) < 0.7
    if shared_data_or_none is not None:  # the figure docs/paper-protocol.md quotes
        assert round(100 * float(np.mean(diff == 1))) == 46


def _image(path: Path, size: tuple[int, int]) -> None:
    Image.new("RGB", size, (90, 120, 30)).save(path)


def _lisa(tmp_path: Path) -> Path:
    root = tmp_path / "ReasonSeg"
    root.mkdir()
    first_ignore = {
        "text": ["the animal that can fly", "what keeps the rain off? "],
        "shapes": [
            {"label": "ignore", "points": [[15.2, 23.9], [78.8, 117.3], [40, 60]]},
            {"label": "target", "points": [[157, 281], [627, 609], [300, 300]]},
        ],
    }
    (root / "a.json").write_text(json.dumps(first_ignore))
    _image(root / "a.jpg", (1000, 1000))
    one = {"text": ["the red cup."], "shapes": [{"label": "target", "points": [[3, 4], [77, 50]]}]}
    (root / "b.json").write_text(json.dumps(one))
    _image(root / "b.jpg", (100, 60))
    (root / "c.json").write_text(json.dumps({"text": ["x"], "shapes": []}))
    _image(root / "c.jpg", (10, 10))
    return root


def test_lisa_records_equal_the_released_preparation(tmp_path: Path) -> None:
    files = find_reasonseg_files(_lisa(tmp_path))
    train = build_grounding_visual_rft(files, role="train")
    evals = build_grounding_visual_rft(files, role="eval")
    assert [s.item for s in train.skipped] == [files[2][0]]
    want_train = [r for js, im in files[:2] for r in training_rows(box_annotation(js, im))]
    got = [{"problem": r.problem, "solution": r.solution} for r in train.records]
    assert got == want_train and len(got) == 3
    assert "(15,23),(78,117)" in got[0]["solution"]  # the first shape, though it is 'ignore'
    for rec, (js, im) in zip(evals.records, files[:2], strict=True):
        want = evaluation_row(box_annotation(js, im))
        assert (
            rec.problem == want["problem"] and rec.metadata["system_prompt"] == LISA_SYSTEM_PROMPT
        )
        w, h = rec.metadata["image_size"]
        x1, y1, x2, y2 = rec.metadata["box_xyxy_pixel"]
        assert [x1 / w, y1 / h, x2 / w, y2 / h] == want["box"]
    assert len(evals.records) == 2  # the first instruction per image
    assert validate_records(train).skipped == train.skipped
    reward = get_reward("grounding", "visual_rft")
    sols = [r.solution for r in train.records]
    assert reward.score([_perfect(s) for s in sols], sols).components["iou"].tolist() == [2.0] * 3


def test_cli_grounding_roles_and_image_prefix(tmp_path: Path) -> None:
    root = _lisa(tmp_path)
    base = ["build-dataset", "grounding", "--reasonseg", str(root), "--protocol", "visual_rft"]
    assert main([*base, "--jsonl", str(tmp_path / "t.jsonl")]) == 1  # c.json is reported
    assert (
        main([*base, "--role", "eval", "--image-prefix", "--jsonl", str(tmp_path / "e.jsonl")]) == 1
    )
    rows = [json.loads(x) for x in (tmp_path / "e.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["problem"].startswith(IMAGE_PREFIX + "Output") for r in rows)
    assert main(["build-dataset", "grounding", "--reasonseg", str(root), "--role", "eval",
                 "--jsonl", str(tmp_path / "x.jsonl")]) == 2  # fmt: skip


def _coco(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    gt = {
        "images": [{"id": 5, "width": 300, "height": 200, "file_name": "a.jpg"},
                   {"id": 2, "width": 300, "height": 200, "file_name": "b.jpg"}],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "hot dog"}],
        "annotations": [
            {"id": 1, "image_id": 5, "category_id": 1, "bbox": [10.7, 20.2, 100, 50], "area": 5000, "iscrowd": 0},
            {"id": 2, "image_id": 2, "category_id": 2, "bbox": [0, 0, 30, 30], "area": 900, "iscrowd": 1},
        ],
    }  # fmt: skip
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    for name in ("a.jpg", "b.jpg"):
        _image(tmp_path / name, (300, 200))
    return path, gt


def test_detection_eval_asks_the_exist_map_pairs(tmp_path: Path) -> None:
    path, _ = _coco(tmp_path)
    src = load_detection_source(path, tmp_path)
    exist = {"5": ["hot dog", "cat", "unicorn"], "2": ["hot dog"]}
    report = build_detection_eval_exist_map(src, [1, 2], exist)
    got = [(r.metadata["image_id"], r.metadata["category"], r.solution) for r in report.records]
    assert got == [
        (5, "hot dog", "<answer>No Objects</answer>"),
        (5, "cat", "<answer>[{'Position': [35, 100, 369, 351], 'Confidence': 1}]</answer>"),
    ]
    assert [s.item for s in report.skipped] == ["image 2 category 'hot dog'"]  # a crowd pair
    (tmp_path / "exist.json").write_text(json.dumps(exist))
    out = tmp_path / "e.jsonl"
    code = main(["build-dataset", "detection-eval", "--annotations", str(path), "--image-root",
                 str(tmp_path), "--categories", "cat,hot dog", "--protocol", "visual_rft",
                 "--exist-map", str(tmp_path / "exist.json"), "--image-prefix",
                 "--jsonl", str(out)])  # fmt: skip
    assert code == 1
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["solution"] for r in rows] == [s for *_, s in got]
    assert all(r["problem"].startswith("<image>\nDetect all objects") for r in rows)


def test_classification_under_the_protocol(tmp_path: Path) -> None:
    for cls in ("rose", "tulip"):
        (tmp_path / "img" / cls).mkdir(parents=True)
        for i in range(2):
            _image(tmp_path / "img" / cls / f"{i}.jpg", (20, 20))
    out = tmp_path / "cls"
    code = main(["build-dataset", "classification", "--image-folder", str(tmp_path / "img"),
                 "-k", "2", "--dataset", "flowers", "--protocol", "visual_rft", "--image-prefix",
                 "--hf", str(out)])  # fmt: skip
    assert code == 0
    train = datasets.DatasetDict.load_from_disk(str(out))["train"]
    assert len(train) == 4
    assert all(
        p.startswith(IMAGE_PREFIX + "This is an image containing a plant.")
        for p in train["problem"]
    )
    reward = get_reward("classification", "visual_rft")
    res = reward.score([_perfect(s) for s in train["solution"]], train["solution"])
    assert res.components["accuracy"].tolist() == [1.0] * 4
