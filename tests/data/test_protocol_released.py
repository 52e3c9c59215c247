"""Reading the authors' released datasets (as downloaded) and exist maps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from visual_rewards.data.released import (
    load_exist_map,
    load_released_dataset,
    save_released_dataset,
)

datasets = pytest.importorskip("datasets")

SOLUTION = "<answer>[{'Position': [10, 20, 300, 400], 'Confidence': 1}]</answer>"


def _released(n: int) -> object:
    images = [Image.new("RGBA", (32, 24), (i, 0, 0, 255)) for i in range(n)]
    return datasets.Dataset.from_dict(
        {"image": images, "problem": [f"p{i}" for i in range(n)], "solution": [SOLUTION] * n}
    )


def test_hub_download_becomes_what_grpo_py_loads(tmp_path: Path) -> None:
    hub = tmp_path / "ViRFT_COCO_8_cate_4_shot"
    (hub / "data").mkdir(parents=True)
    _released(3).to_parquet(str(hub / "data" / "train-00000-of-00001.parquet"))
    with pytest.raises(FileNotFoundError):  # the authors' loader on the Hub layout
        datasets.DatasetDict.load_from_disk(str(hub))
    data = load_released_dataset(hub)
    assert list(data) == ["train"] and data["train"]["problem"] == ["p0", "p1", "p2"]
    assert save_released_dataset(hub, tmp_path / "disk") == 3
    train = datasets.DatasetDict.load_from_disk(str(tmp_path / "disk"))["train"]
    assert train["solution"] == [SOLUTION] * 3 and train[0]["image"].size == (32, 24)


def test_save_to_disk_folders_load_as_they_are(tmp_path: Path) -> None:
    _released(2).save_to_disk(str(tmp_path / "ds"))
    datasets.DatasetDict({"train": _released(1)}).save_to_disk(str(tmp_path / "dd"))
    assert len(load_released_dataset(tmp_path / "ds")["train"]) == 2
    assert len(load_released_dataset(tmp_path / "dd")["train"]) == 1


def test_unreadable_released_folders_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a folder"):
        load_released_dataset(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"train-\*\.parquet"):
        load_released_dataset(tmp_path)
    datasets.Dataset.from_dict({"image": ["a.jpg"], "problem": ["p"]}).save_to_disk(
        str(tmp_path / "x")
    )
    with pytest.raises(ValueError, match=r"missing column\(s\) \['solution'\]"):
        load_released_dataset(tmp_path / "x")


def test_exist_map(tmp_path: Path) -> None:
    good = tmp_path / "exist_map.json"
    good.write_text(json.dumps({"397133": ["person", "dining table"], "87038": []}))
    assert load_exist_map(good) == {"397133": ("person", "dining table"), "87038": ()}
    for text, msg in [("[1]", "top level"), ('{"1": "cat"}', "must list"), ("{", "not valid JSON")]:
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(ValueError, match=msg):
            load_exist_map(bad)
    with pytest.raises(ValueError, match="not a file"):
        load_exist_map(tmp_path)


def test_cli_released(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from visual_rewards.cli import main

    hub = tmp_path / "hub"
    (hub / "data").mkdir(parents=True)
    _released(2).to_parquet(str(hub / "data" / "train-00000-of-00001.parquet"))
    out = tmp_path / "out"
    assert main(["build-dataset", "released", "--source", str(hub), "--hf", str(out)]) == 0
    assert len(datasets.DatasetDict.load_from_disk(str(out))["train"]) == 2
    assert "2 training rows" in capsys.readouterr().err
    assert (
        main(["build-dataset", "released", "--source", str(tmp_path / "no"), "--hf", str(out)]) == 2
    )
