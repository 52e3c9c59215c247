"""`visual-rewards evaluate` on malformed input: one line naming file/record/field, exit 2,
never a traceback; invalid detections rejected and counted; bad grounding rows skipped."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from visual_rewards.cli import main

pytest.importorskip("pycocotools")

GT: dict[str, Any] = {
    "images": [{"id": 1, "width": 100, "height": 80}, {"id": 2, "width": 50, "height": 50}],
    "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 30, 20], "area": 600, "iscrowd": 0},
        {"id": 2, "image_id": 2, "category_id": 2, "bbox": [5, 5, 10, 10], "area": 100, "iscrowd": 0},
    ],
}  # fmt: skip
DT: list[dict[str, Any]] = [
    {"image_id": 1, "category_id": 1, "bbox": [10, 10, 30, 20], "score": 0.9},
    {"image_id": 2, "category_id": 2, "bbox": [6, 5, 10, 10], "score": 0.8},
]


def _gt(edit: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    data = copy.deepcopy(GT)
    edit(data)
    return data


def _dt(edit: Callable[[list[dict[str, Any]]], Any]) -> list[dict[str, Any]]:
    data = copy.deepcopy(DT)
    edit(data)
    return data


def _set(target: str, index: int, key: str, value: Any) -> Callable[[Any], None]:
    def edit(data: Any) -> None:
        item = data[target][index] if target else data[index]
        if value is _DELETE:
            del item[key]
        else:
            item[key] = value

    return edit


_DELETE = object()

#: (case, ground truth text or object, detections text or object, expected words in the error)
MALFORMED: list[tuple[str, Any, Any, str]] = [
    ("gt bad JSON", "{not json", DT, "not valid JSON"),
    ("gt empty file", "", DT, "not valid JSON"),
    ("gt binary", b"\x00\xff\xfe\x89PNG", DT, "not valid JSON"),
    ("gt top-level list", [1, 2], DT, "top level"),
    ("gt deeply nested", "[" * 100000, DT, "not valid JSON"),
    ("gt missing images", _gt(lambda d: d.pop("images")), DT, "'images'"),
    ("gt empty images", _gt(lambda d: d.update(images=[])), DT, "images"),
    ("gt missing categories", _gt(lambda d: d.pop("categories")), DT, "categories"),
    ("gt missing annotations", _gt(lambda d: d.pop("annotations")), DT, "annotations"),
    ("gt images not a list", _gt(lambda d: d.update(images={"id": 1})), DT, "images"),
    ("gt image missing id", _gt(_set("images", 0, "id", _DELETE)), DT, "images[0] field 'id'"),
    ("gt image string id", _gt(_set("images", 0, "id", "1")), DT, "images[0] (id '1') field 'id'"),
    (
        "gt image missing width",
        _gt(_set("images", 1, "width", _DELETE)),
        DT,
        "images[1] (id 2) field 'width'",
    ),
    ("gt image zero width", _gt(_set("images", 0, "width", 0)), DT, "field 'width'"),
    ("gt image float height", _gt(_set("images", 0, "height", 80.5)), DT, "field 'height'"),
    ("gt duplicate image id", _gt(_set("images", 1, "id", 1)), DT, "duplicate id"),
    ("gt category string id", _gt(_set("categories", 0, "id", "1")), DT, "categories[0]"),
    ("gt category missing name", _gt(_set("categories", 1, "name", _DELETE)), DT, "field 'name'"),
    ("gt category null name", _gt(_set("categories", 1, "name", None)), DT, "field 'name'"),
    (
        "gt annotation missing id",
        _gt(_set("annotations", 0, "id", _DELETE)),
        DT,
        "annotations[0] field 'id'",
    ),
    (
        "gt annotation missing area",
        _gt(_set("annotations", 0, "area", _DELETE)),
        DT,
        "field 'area'",
    ),
    (
        "gt annotation missing iscrowd",
        _gt(_set("annotations", 1, "iscrowd", _DELETE)),
        DT,
        "field 'iscrowd'",
    ),
    ("gt annotation bad iscrowd", _gt(_set("annotations", 1, "iscrowd", 2)), DT, "field 'iscrowd'"),
    (
        "gt annotation missing bbox",
        _gt(_set("annotations", 0, "bbox", _DELETE)),
        DT,
        "field 'bbox'",
    ),
    ("gt annotation bbox of 3", _gt(_set("annotations", 0, "bbox", [1, 2, 3])), DT, "field 'bbox'"),
    (
        "gt annotation string bbox",
        _gt(_set("annotations", 0, "bbox", "1,2,3,4")),
        DT,
        "field 'bbox'",
    ),
    (
        "gt annotation NaN bbox",
        _gt(_set("annotations", 0, "bbox", [1, float("nan"), 3, 4])),
        DT,
        "field 'bbox",
    ),
    (
        "gt annotation inf area",
        _gt(_set("annotations", 0, "area", float("inf"))),
        DT,
        "field 'area'",
    ),
    (
        "gt annotation negative width",
        _gt(_set("annotations", 0, "bbox", [1, 1, -3, 4])),
        DT,
        "negative",
    ),
    ("gt annotation negative area", _gt(_set("annotations", 0, "area", -1)), DT, "field 'area'"),
    (
        "gt annotation unknown image",
        _gt(_set("annotations", 0, "image_id", 9)),
        DT,
        "unknown image",
    ),
    (
        "gt annotation unknown category",
        _gt(_set("annotations", 0, "category_id", 9)),
        DT,
        "unknown category",
    ),
    (
        "gt annotation list image_id",
        _gt(_set("annotations", 0, "image_id", [1])),
        DT,
        "field 'image_id'",
    ),
    ("dt bad JSON", GT, "[{", "not valid JSON"),
    ("dt empty file", GT, "", "not valid JSON"),
    ("dt object not list", GT, {"image_id": 1}, "expected a list"),
    ("dt string score", GT, _dt(_set("", 0, "score", "0.9")), "[0] field 'score'"),
    ("dt missing score", GT, _dt(_set("", 1, "score", _DELETE)), "[1] field 'score'"),
    ("dt list image_id", GT, _dt(_set("", 0, "image_id", [1])), "field 'image_id'"),
    ("dt string category_id", GT, _dt(_set("", 0, "category_id", "cat")), "field 'category_id'"),
    ("dt bool category_id", GT, _dt(_set("", 0, "category_id", True)), "field 'category_id'"),
    ("dt missing bbox", GT, _dt(_set("", 0, "bbox", _DELETE)), "field 'bbox'"),
    ("dt bbox of 5", GT, _dt(_set("", 0, "bbox", [1, 2, 3, 4, 5])), "field 'bbox'"),
    ("dt bbox null", GT, _dt(_set("", 0, "bbox", None)), "field 'bbox'"),
    ("dt item not an object", GT, [1, 2], "[0]"),
]


def _write(path: Path, value: Any) -> Path:
    if isinstance(value, bytes):
        path.write_bytes(value)
    elif isinstance(value, str):
        path.write_text(value)
    else:
        path.write_text(json.dumps(value))
    return path


@pytest.mark.parametrize(("case", "gt", "dt", "words"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_coco_input_is_one_line_and_exit_2(
    case: str, gt: Any, dt: Any, words: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    gt_path = _write(tmp_path / "gt.json", gt)
    dt_path = _write(tmp_path / "dt.json", dt)
    out = tmp_path / "m.json"
    args = ["evaluate", "detection", "--annotations", str(gt_path), "--detections", str(dt_path)]
    assert main([*args, "-o", str(out)]) == 2, case
    err = capfd.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert words in err, err
    named = gt_path.name if case.startswith("gt") else dt_path.name
    assert named in err and not out.exists()


#: (case, detections, what must be counted) -- accepted, with the bad detections left out.
COUNTED: list[tuple[str, Any, dict[str, Any]]] = [
    ("NaN score", _dt(_set("", 0, "score", float("nan"))), {"rejected": {"non-finite score": 1}}),
    ("inf score", _dt(_set("", 0, "score", float("inf"))), {"rejected": {"non-finite score": 1}}),
    ("1e400 score", "1e400", {"rejected": {"non-finite score": 1}}),
    (
        "NaN bbox",
        _dt(_set("", 1, "bbox", [1, float("nan"), 2, 2])),
        {"rejected": {"non-finite bbox": 1}},
    ),
    (
        "negative width",
        _dt(_set("", 1, "bbox", [1, 1, -2, 2])),
        {"rejected": {"negative bbox size": 1}},
    ),
    ("unknown image", _dt(_set("", 1, "image_id", 77)), {"unknown_image": 1}),
    ("unknown category", _dt(_set("", 1, "category_id", 77)), {"unknown_category": 1}),
]


@pytest.mark.parametrize(("case", "dt", "counted"), COUNTED, ids=[c[0] for c in COUNTED])
def test_invalid_detections_are_rejected_and_counted(
    case: str, dt: Any, counted: dict[str, Any], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    gt_path = _write(tmp_path / "gt.json", GT)
    if dt == "1e400":
        text = json.dumps(DT).replace("0.9", "1e400", 1)
        dt_path = _write(tmp_path / "dt.json", text)
    else:
        dt_path = _write(tmp_path / "dt.json", dt)
    out = tmp_path / "m.json"
    args = ["evaluate", "detection", "--annotations", str(gt_path), "--detections", str(dt_path)]
    assert main([*args, "-o", str(out)]) == 0, case
    result = json.loads(out.read_text())
    check = result["detections"]
    assert check["given"] == 2 and check["kept"] == 1
    for key, value in counted.items():
        assert check[key] == value
    assert "warning:" in capfd.readouterr().err


def test_all_detections_on_unknown_images_warn_and_can_be_an_error(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    gt_path = _write(tmp_path / "gt.json", GT)
    dt_path = _write(tmp_path / "dt.json", [{**d, "image_id": 99} for d in DT])
    out = tmp_path / "m.json"
    args = ["evaluate", "detection", "--annotations", str(gt_path), "--detections", str(dt_path)]
    assert main([*args, "-o", str(out)]) == 0
    err = capfd.readouterr().err
    assert "2 detection(s)/row(s) on unknown images" in err and "no detection is left" in err
    assert json.loads(out.read_text())["detections"]["unknown_image"] == 2
    assert main([*args, "-o", str(out), "--unknown-images", "error"]) == 2
    err = capfd.readouterr().err
    assert "dt.json: [0] field 'image_id': unknown image 99" in err and "Traceback" not in err


def test_lvis_annotations_need_no_iscrowd(tmp_path: Path) -> None:
    gt = _gt(lambda d: [a.pop("iscrowd") for a in d["annotations"]])
    for img in gt["images"]:
        img["neg_category_ids"] = []
        img["not_exhaustive_category_ids"] = []
    gt_path = _write(tmp_path / "gt.json", gt)
    dt_path = _write(tmp_path / "dt.json", DT)
    out = tmp_path / "m.json"
    args = ["evaluate", "detection", "--annotations", str(gt_path), "--detections", str(dt_path)]
    assert main([*args, "-o", str(out)]) == 0
    assert json.loads(out.read_text())["kind"] == "lvis"


GROUNDING_BAD: list[tuple[str, dict[str, Any]]] = [
    ("image_size strings", {"image_size": ["a", "b"]}),
    ("image_size zero", {"image_size": [0, 0]}),
    ("image_size of 3", {"image_size": [1, 2, 3]}),
    ("image_size number", {"image_size": 5}),
    ("mask shapes differ", {"pred_mask": [[1, 0]], "gt_mask": [[1], [0]]}),
    ("mask bad RLE", {"pred_mask": {"size": [2, 2], "counts": [9]}, "gt_mask": [[1, 1], [1, 1]]}),
    ("mask not 2-D", {"pred_mask": [1, 0], "gt_mask": [1, 0]}),
    ("completion a number", {"completion": 5}),
]


@pytest.mark.parametrize(("case", "bad"), GROUNDING_BAD, ids=[g[0] for g in GROUNDING_BAD])
def test_a_bad_grounding_row_is_skipped_and_reported(
    case: str, bad: dict[str, Any], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    good = {"completion": "<answer>[0, 0, 500, 500]</answer>", "solution": [0, 0, 500, 500]}
    rows = [good, {**good, **bad}, good]
    src = tmp_path / "g.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "m.json"
    assert main(["evaluate", "grounding", "--predictions", str(src), "-o", str(out)]) == 1, case
    result = json.loads(out.read_text())
    assert result["rows"] == 2 and result["skipped_rows"] == 1 and result["box"]["mIoU"] == 1.0
    assert [e["line"] for e in result["input_errors"]] == [2]
    err = capfd.readouterr().err
    assert "g.jsonl:2: row skipped" in err and "Traceback" not in err
