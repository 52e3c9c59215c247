"""``visual-rewards evaluate … --protocol visual_rft`` end to end (default unchanged)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from test_protocol_ap import _coco_gt, _judge_detections, _outputs

from visual_rewards.cli import main

pytest.importorskip("pycocotools")


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_detection_protocols_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gt = _coco_gt(3)
    ann = tmp_path / "gt.json"
    ann.write_text(json.dumps(gt))
    rows = _outputs(gt, seed=8)
    preds = _write(tmp_path / "p.jsonl", rows)
    exist = {str(i["id"]): ["c1", "c5"] for i in gt["images"]}
    (tmp_path / "exist.json").write_text(json.dumps(exist))
    common = ["evaluate", "detection", "--annotations", str(ann), "--predictions", str(preds)]
    assert main([*common, "-o", str(tmp_path / "d.json")]) == 0
    code = main(
        [*common, "--protocol", "visual_rft", "--exist-map", str(tmp_path / "exist.json"),
         "--categories", "c1,c2", "--save-detections", str(tmp_path / "dets.json"),
         "-o", str(tmp_path / "v.json")]
    )  # fmt: skip
    assert code == 0
    default = json.loads((tmp_path / "d.json").read_text())
    rft = json.loads((tmp_path / "v.json").read_text())
    assert "visual_rft" not in default
    section = rft["visual_rft"]
    assert list(section["per_category"]) == ["c1", "c2"]
    # c2 is never asked (not in the exist map): no detections, AP 0
    assert section["per_category"]["c2"] == 0.0
    asked = [r for r in rows if r["category_id"] == 1]
    want = _judge_detections(asked, gt)
    assert json.loads((tmp_path / "dets.json").read_text()) == want
    conv = rft["conversion"]
    assert conv["not_queried"] == len(rows) - len(asked)
    assert conv["converted"] == len(asked) and conv["boxes"] == len(want)
    assert "visual_rft protocol (COCO): mAP over 2 categories" in capsys.readouterr().out


def test_usage_errors(tmp_path: Path) -> None:
    ann = tmp_path / "gt.json"
    ann.write_text(json.dumps(_coco_gt(1)))
    preds = _write(tmp_path / "p.jsonl", [{"image_id": 1, "category_id": 1, "completion": ""}])
    base = ["evaluate", "detection", "--annotations", str(ann), "--predictions", str(preds)]
    (tmp_path / "bad.json").write_text('{"1": "cat"}')
    assert main([*base, "--exist-map", str(tmp_path / "bad.json")]) == 2
    assert main([*base, "--protocol", "visual_rft", "--exist-map", str(tmp_path / "bad.json")]) == 2
    assert main([*base, "--protocol", "visual_rft", "--coords", "pixel"]) == 2


def test_classification_protocol(tmp_path: Path) -> None:
    rows = [
        {"completion": "<answer>Rose</answer>", "solution": "<answer>rose</answer>"},
        {"completion": "<answer>rose\n</answer>", "solution": "<answer>rose</answer>"},
        {"completion": "<answer></answer>", "solution": "<answer>tulip</answer>"},
    ]
    preds = _write(tmp_path / "c.jsonl", rows)
    out = tmp_path / "c.json"
    base = ["evaluate", "classification", "--predictions", str(preds), "-o", str(out)]
    assert main([*base, "--protocol", "visual_rft"]) == 0
    result = json.loads(out.read_text())
    assert result["accuracy"] == pytest.approx(2 / 3) and result["no_answer"] == 1


def _protocol_choices(parser: argparse.ArgumentParser) -> list[tuple[str, ...]]:
    found = []
    for action in parser._actions:
        if "--protocol" in action.option_strings:
            found.append(tuple(action.choices or ()))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.extend(_protocol_choices(sub))
    return found


def test_every_protocol_flag_offers_the_protocols() -> None:
    from visual_rewards.cli import build_parser
    from visual_rewards.evaluation.protocols import PROTOCOLS

    found = _protocol_choices(build_parser())
    assert len(found) == 8  # evaluate's three tasks; five build-dataset kinds
    assert set(found) == {PROTOCOLS}


def test_categories_accept_the_paper_presets(shared_data: Path, tmp_path: Path) -> None:
    ann = shared_data / "lvis_tiny" / "lvis_val_100.json"
    preds = _write(tmp_path / "p.jsonl", [{"image_id": 1, "category_id": 1, "completion": ""}])
    out = tmp_path / "m.json"
    code = main(["evaluate", "detection", "--annotations", str(ann), "--predictions", str(preds),
                 "--protocol", "visual_rft", "--categories", "paper-lvis-13", "-o", str(out)])  # fmt: skip
    assert code == 0
    section = json.loads(out.read_text())["visual_rft"]
    assert section["categories"] == 13 and "egg_roll" in section["per_category"]


def test_grounding_protocol(tmp_path: Path) -> None:
    rows = [
        {"completion": "<answer>(100,200),(300,400)</answer>", "solution": "<answer>(100,200),(300,400)</answer>",
         "metadata": json.dumps({"box_xyxy_pixel": [64.0, 96.0, 192.0, 192.0], "image_size": [640, 480]})},
        {"completion": "<answer>[100, 200, 300, 400]</answer>", "solution": "<answer>(100,200),(300,400)</answer>"},
    ]  # fmt: skip
    out = tmp_path / "g.json"
    base = ["evaluate", "grounding", "--predictions", str(_write(tmp_path / "g.jsonl", rows))]
    assert main([*base, "--protocol", "visual_rft", "-o", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["no_prediction"] == 1 and result["box"]["mIoU"] == pytest.approx(0.5, abs=1e-4)


def test_build_then_evaluate_perfect_answers_on_coco_tiny(
    shared_data: Path, tmp_path: Path
) -> None:
    tiny = shared_data / "coco_tiny"
    gt = json.loads((tiny / "gt_dataset.json").read_text())
    # an exist map asking every category in every image (absent ones expect "No Objects")
    exist = {str(i["id"]): [c["name"] for c in gt["categories"]] for i in gt["images"]}
    (tmp_path / "exist.json").write_text(json.dumps(exist))
    common = ["--protocol", "visual_rft", "--exist-map", str(tmp_path / "exist.json")]
    eval_set = tmp_path / "eval.jsonl"
    assert main(["build-dataset", "detection-eval", "--annotations", str(tiny / "gt_dataset.json"),
                 "--image-root", str(tiny), "--categories", "cloud,heart,arrow,star",
                 "--image-prefix", "--jsonl", str(eval_set), *common]) == 0  # fmt: skip
    rows = [json.loads(x) for x in eval_set.read_text().splitlines()]
    assert len(rows) == 12 and sum("No Objects" in r["solution"] for r in rows) == 3
    for r in rows:  # a perfect model: the solution, with thinking
        r["completion"] = "<think>seen</think> " + r.pop("solution")
    out = tmp_path / "m.json"
    assert main(["evaluate", "detection", "--annotations", str(tiny / "gt_dataset.json"),
                 "--predictions", str(_write(tmp_path / "p.jsonl", rows)), "-o", str(out),
                 *common]) == 0  # fmt: skip
    section = json.loads(out.read_text())["visual_rft"]
    assert section["mAP"] == 1.0 and section["categories"] == 4
