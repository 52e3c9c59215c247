"""`visual-rewards build-dataset` on malformed input: one line on stderr, exit 1 (items
skipped and counted) or 2 (nothing usable), never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from visual_rewards.cli import main

GOOD: dict[str, Any] = {
    "images": [{"id": 1, "width": 40, "height": 30, "file_name": "a.png"}],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10], "iscrowd": 0}
    ],
    "categories": [{"id": 1, "name": "cat"}],
}


def _with(**changes: Any) -> dict[str, Any]:
    return {**json.loads(json.dumps(GOOD)), **changes}


def _ann(**changes: Any) -> dict[str, Any]:
    return _with(annotations=[{**GOOD["annotations"][0], **changes}])


#: (case, annotation file content, expected exit code)
DETECTION: list[tuple[str, Any, int]] = [
    ("bad JSON", "{oops", 2),
    ("empty file", "", 2),
    ("binary", b"\x00\xff\x89PNG", 2),
    ("deeply nested", "[" * 100_000, 2),
    ("top-level list", [GOOD], 2),
    ("images not a list", _with(images={"id": 1}), 2),
    ("no categories", {k: v for k, v in GOOD.items() if k != "categories"}, 2),
    ("category without name", _with(categories=[{"id": 1}]), 2),
    ("image without size", _with(images=[{"id": 1, "file_name": "a.png"}]), 2),
    ("image string id", _with(images=[{**GOOD["images"][0], "id": "1"}]), 2),
    ("bbox a string", _ann(bbox="1,1,10,10"), 2),
    ("bbox NaN", _ann(bbox=[1, float("nan"), 10, 10]), 2),
    ("bbox negative", _ann(bbox=[1, 1, -10, 10]), 2),
    ("bbox outside", _ann(bbox=[35, 1, 100, 10]), 2),
    ("annotation unknown image", _ann(image_id=5), 2),
    ("annotation list category", _ann(category_id=[1]), 2),
]


@pytest.mark.parametrize(("case", "content", "code"), DETECTION, ids=[d[0] for d in DETECTION])
def test_malformed_annotation_files(
    case: str, content: Any, code: int, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    ann = tmp_path / "ann.json"
    if isinstance(content, bytes):
        ann.write_bytes(content)
    elif isinstance(content, str):
        ann.write_text(content)
    else:
        ann.write_text(json.dumps(content))
    (tmp_path / "img").mkdir()
    out = tmp_path / "o.jsonl"
    argv = ["build-dataset", "detection-eval", "--annotations", str(ann), "--image-root",
            str(tmp_path / "img"), "--categories", "cat", "--jsonl", str(out)]  # fmt: skip
    assert main(argv) == code, case
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("visual-rewards build-dataset: error:"), err


CSV: list[tuple[str, str, int]] = [
    ("one column", "a.png\n", 2),
    ("binary", "\x00\x01,\x02\n", 1),
    ("path outside the root", "../../etc/passwd,cat\n", 1),
    ("absolute path", "/etc/passwd,cat\n", 1),
    ("unknown label index", "a.png,7\n", 1),
]


@pytest.mark.parametrize(("case", "text", "code"), CSV, ids=[c[0] for c in CSV])
def test_malformed_label_csvs(
    case: str, text: str, code: int, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    root = tmp_path / "root"
    root.mkdir()
    Image.new("RGB", (8, 8)).save(root / "ok.png")
    csv = root / "labels.csv"
    csv.write_text("ok.png,cat\n" + text)
    argv = ["build-dataset", "classification", "--csv", str(csv), "-k", "4",
            "--hf", str(tmp_path / "hf")]  # fmt: skip
    assert main(argv) == code, case
    err = capfd.readouterr().err
    assert "Traceback" not in err


def test_missing_folders_are_usage_errors(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = ["--jsonl", str(tmp_path / "o.jsonl")]
    assert main(["build-dataset", "grounding", "--reasonseg", str(tmp_path / "nope"), *out]) == 2
    assert main(["build-dataset", "classification", "--image-folder", str(tmp_path / "no"), "-k", "1", *out]) == 2  # fmt: skip
    err = capfd.readouterr().err
    assert "Traceback" not in err and err.count("error:") == 2
