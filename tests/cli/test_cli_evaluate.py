"""`visual-rewards evaluate` through the command line."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from visual_rewards.cli import main
from visual_rewards.rewards import REWARDS

pytest.importorskip("pycocotools")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"


def _judge(gt_path: Path, dt_path: Path) -> list[float]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        ev = COCOeval(gt, gt.loadRes(str(dt_path)), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float(v) for v in ev.stats]


def test_evaluate_coco_tiny_detections(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gt = shared_data / "coco_tiny" / "gt_dataset.json"
    dt = shared_data / "coco_tiny" / "dt_dataset.json"
    out = tmp_path / "m.json"
    assert (
        main(
            [
                "evaluate",
                "detection",
                "--annotations",
                str(gt),
                "--detections",
                str(dt),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    assert list(result["stats"].values()) == _judge(gt, dt)
    printed = capsys.readouterr().out
    assert "| 0.6947 | 0.6947 | 0.6947 | -1.0000 | 0.7921 |" in printed
    assert "| star | 1.0000 | 1.0000 | 2 |" in printed


def test_evaluate_bundled_outputs_equal_pycocotools(tmp_path: Path) -> None:
    ann = EXAMPLES / "coco_annotations.json"
    saved = tmp_path / "dets.json"
    out = tmp_path / "m.json"
    code = main(
        [
            "evaluate",
            "detection",
            "--annotations",
            str(ann),
            "--predictions",
            str(EXAMPLES / "detection_outputs.jsonl"),
            "--save-detections",
            str(saved),
            "-o",
            str(out),
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    assert list(result["stats"].values()) == _judge(ann, saved)
    assert result["conversion"]["rows"] == 24 and result["conversion"]["boxes"] > 10
    assert set(result["per_category"]) == {"circle", "square", "triangle"}
    # the bundled COCO results file evaluates too
    assert (
        main(
            [
                "evaluate",
                "detection",
                "--annotations",
                str(ann),
                "--detections",
                str(EXAMPLES / "coco_detections.json"),
                "-o",
                str(out),
            ]
        )
        == 0
    )


def test_evaluate_lvis_kind_detected(shared_data: Path, tmp_path: Path) -> None:
    gt = shared_data / "lvis_tiny" / "lvis_val_100.json"
    data = json.loads(gt.read_text())
    dets = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "bbox": a["bbox"],
            "score": 0.9,
        }
        for a in data["annotations"][:300]
    ]
    dt = tmp_path / "dt.json"
    dt.write_text(json.dumps(dets))
    out = tmp_path / "m.json"
    assert (
        main(
            [
                "evaluate",
                "detection",
                "--annotations",
                str(gt),
                "--detections",
                str(dt),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    assert result["kind"] == "lvis" and {"APr", "APc", "APf", "AR@300"} <= set(result["stats"])


def test_evaluate_classification_and_grounding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "g.json"
    code = main(
        [
            "evaluate",
            "grounding",
            "--predictions",
            str(EXAMPLES / "grounding_outputs.jsonl"),
            "--coords",
            "pixel",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    g = json.loads(out.read_text())
    assert g["rows"] == 7 and g["no_prediction"] == 1 and 0.5 < g["box"]["mIoU"] < 1.0
    if "classification" in REWARDS:
        out = tmp_path / "c.json"
        code = main(
            [
                "evaluate",
                "classification",
                "--predictions",
                str(EXAMPLES / "classification_outputs.jsonl"),
                "-o",
                str(out),
            ]
        )
        assert code == 0
        c = json.loads(out.read_text())
        assert c["accuracy"] == pytest.approx(0.6)
        assert set(c["per_dataset"]) == {"flowers", "pets"}
        assert "| flowers | 0.5000 | 6 |" in capsys.readouterr().out


def test_evaluate_usage_errors(tmp_path: Path) -> None:
    ann = EXAMPLES / "coco_annotations.json"
    assert main(["evaluate", "detection", "--annotations", str(ann)]) == 2  # neither input
    assert (
        main(
            [
                "evaluate",
                "detection",
                "--annotations",
                str(tmp_path / "x.json"),
                "--detections",
                str(ann),
            ]
        )
        == 2
    )
    assert main(["evaluate", "grounding", "--predictions", str(tmp_path / "missing.jsonl")]) == 2
    assert main(["evaluate"]) == 2


def test_evaluate_bad_lines_exit_one(tmp_path: Path) -> None:
    src = tmp_path / "p.jsonl"
    src.write_text(
        '{"completion": "<answer>[0,0,10,10]</answer>", "solution": [0,0,10,10]}\nnot json\n'
    )
    assert (
        main(["evaluate", "grounding", "--predictions", str(src), "-o", str(tmp_path / "o.json")])
        == 1
    )


def test_grounding_evaluation_agrees_with_training_reward(tmp_path: Path) -> None:
    """mIoU from `evaluate grounding` equals the mean IoU the grounding reward pays."""
    if "grounding" not in REWARDS:
        pytest.skip("grounding reward not registered")
    src = EXAMPLES / "grounding_outputs.jsonl"
    scored = tmp_path / "s.jsonl"
    assert main(["score", str(src), "--option", "coords=pixel", "-o", str(scored)]) == 0
    ious = [json.loads(x)["scores"]["components"]["iou"] for x in scored.read_text().splitlines()]
    out = tmp_path / "g.json"
    assert (
        main(
            [
                "evaluate",
                "grounding",
                "--predictions",
                str(src),
                "--coords",
                "pixel",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["box"]["mIoU"] == pytest.approx(sum(ious) / len(ious))


def test_evaluate_category_subset_and_predicted_images(tmp_path: Path) -> None:
    ann = EXAMPLES / "coco_annotations.json"
    preds = tmp_path / "p.jsonl"
    rows = [json.loads(x) for x in (EXAMPLES / "detection_outputs.jsonl").read_text().splitlines()]
    preds.write_text("".join(json.dumps(r) + "\n" for r in rows if r["image_id"] <= 3))
    out = tmp_path / "m.json"
    args = ["evaluate", "detection", "--annotations", str(ann), "--predictions", str(preds)]
    assert (
        main([*args, "--categories", "triangle,1", "--only-predicted-images", "-o", str(out)]) == 0
    )
    result = json.loads(out.read_text())
    assert set(result["per_category"]) == {"circle", "triangle"}
    gt = json.loads(ann.read_text())
    n_tri = sum(1 for a in gt["annotations"] if a["category_id"] == 3 and a["image_id"] <= 3)
    assert result["per_category"]["triangle"]["n_gt"] == n_tri
    assert main([*args, "--categories", "unicorn"]) == 2


def test_evaluate_lvis_from_model_outputs(shared_data: Path, tmp_path: Path) -> None:
    """LVIS ground truth, one output row per (image, category name) with norm1000 boxes."""
    gt_path = shared_data / "lvis_tiny" / "lvis_val_100.json"
    gt = json.loads(gt_path.read_text())
    images = {img["id"]: img for img in gt["images"]}
    names = {c["id"]: c["name"] for c in gt["categories"]}
    groups: dict[tuple[int, int], list[list[int]]] = {}
    for a in gt["annotations"]:
        img = images[a["image_id"]]
        x, y, w, h = a["bbox"]
        box = [
            round(x * 1000 / img["width"]),
            round(y * 1000 / img["height"]),
            round((x + w) * 1000 / img["width"]),
            round((y + h) * 1000 / img["height"]),
        ]
        groups.setdefault((a["image_id"], a["category_id"]), []).append(box)
    rows = []
    for (image_id, cat), boxes in groups.items():
        answer = ", ".join(f"{{'Position': {b}, 'Confidence': 0.9}}" for b in boxes)
        rows.append(
            {
                "image_id": image_id,
                "category": names[cat].replace("_", " "),
                "completion": f"<think>t</think><answer>[{answer}]</answer>",
            }
        )
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "m.json"
    args = ["evaluate", "detection", "--annotations", str(gt_path), "--predictions", str(preds)]
    assert main([*args, "-o", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["kind"] == "lvis"
    assert result["conversion"]["unknown_category"] == 0
    assert result["stats"]["AP50"] > 0.97  # norm1000 rounding costs a little at high IoU only
    assert 0.5 < result["stats"]["AP"] <= result["stats"]["AP50"]


def test_evaluate_without_output_writes_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never beside the input (its folder may be shared or read-only)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    src = EXAMPLES / "classification_outputs.jsonl"
    assert main(["evaluate", "classification", "--predictions", str(src)]) == 0
    assert (work / "classification_outputs.metrics.json").is_file()
    assert not (EXAMPLES / "classification_outputs.metrics.json").exists()
