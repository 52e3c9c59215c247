"""Few-shot classification builder on a generated image folder and CSV."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from visual_rewards.data import (
    build_fewshot_classification,
    classification_prompt,
    load_class_names,
    read_label_csv,
    save_jsonl,
    scan_image_folder,
    validate_records,
)
from visual_rewards.data.prompts import CLASSIFICATION_NOUNS

CLASSES = ["pink primrose", "hard-leaved pocket orchid", "canterbury bells", "sweet pea"]
PER_CLASS = [9, 5, 2, 7]


def _write_image(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        from PIL import Image
    except ImportError:
        path.write_bytes(b"not really an image " + bytes([value]))
        return
    Image.new("RGB", (8, 6), (value, value, value)).save(path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "flowers"
    for ci, (name, n) in enumerate(zip(CLASSES, PER_CLASS, strict=True)):
        for j in range(n):
            _write_image(root / name.replace(" ", "_") / f"img_{ci}_{j}.jpg", ci * 10 + j)
    (root / "sweet_pea" / "notes.txt").write_text("not an image")
    (tmp_path / "names.txt").write_text("\n".join(CLASSES) + "\n\n")
    return root


def test_k_per_class_exact(folder: Path) -> None:
    items = scan_image_folder(folder)
    names = load_class_names(folder.parent / "names.txt")
    assert len(items) == sum(PER_CLASS)
    for k in (1, 2, 4, 8, 16):
        report = build_fewshot_classification(
            items, k, class_names=names, seed=0, dataset="flowers"
        )
        assert not report.skipped
        for name, n in zip(CLASSES, PER_CLASS, strict=True):
            got = [r for r in report.records if r.metadata["label"] == name]
            assert len(got) == min(k, n)
            assert len({r.image for r in got}) == len(got)
            assert all(f"/{name.replace(' ', '_')}/" in r.image for r in got)
            assert all(r.solution == f"<answer>{name}</answer>" for r in got)
            assert (name in report.shortfalls) == (n < k)


def test_seed_determinism(folder: Path, tmp_path: Path) -> None:
    items = scan_image_folder(folder)
    names = load_class_names(folder.parent / "names.txt")
    a = build_fewshot_classification(items, 2, class_names=names, seed=5)
    b = build_fewshot_classification(list(reversed(items)), 2, class_names=names, seed=5)
    save_jsonl(a.records, tmp_path / "a.jsonl")
    save_jsonl(b.records, tmp_path / "b.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    picks = {
        tuple(
            r.image
            for r in build_fewshot_classification(items, 2, class_names=names, seed=s).records
        )
        for s in range(6)
    }
    assert len(picks) > 1


def test_prompt_follows_dataset_noun(folder: Path) -> None:
    items = scan_image_folder(folder)
    rec = build_fewshot_classification(items, 1, dataset="flowers").records[0]
    assert rec.problem.startswith(
        "This is an image containing a plant. Please identify the species"
    )
    assert rec.task == "classification"
    assert classification_prompt("aircraft").startswith(
        "This is an image containing an aircraft. Please identify the model of the aircraft"
    )
    assert set(CLASSIFICATION_NOUNS) == {"flowers", "pets", "aircraft", "cars"}
    custom = build_fewshot_classification(items, 1, noun="bird", attribute="species").records[0]
    assert custom.problem.startswith(
        "This is an image containing a bird. Please identify the species of the bird"
    )


def test_csv_labels_by_name_and_index(folder: Path, tmp_path: Path) -> None:
    items = scan_image_folder(folder)
    names = load_class_names(folder.parent / "names.txt")
    csv_path = tmp_path / "labels.csv"
    lines = ["path,label"]
    for path, label in items:
        idx = CLASSES.index(label.replace("_", " "))
        rel = Path(path).relative_to(folder)
        lines.append(f"{rel},{idx + 1 if idx % 2 else label}")
    lines.append("missing.jpg,sweet pea")
    lines.append(f"{Path(items[0][0]).relative_to(folder)},no such class")
    csv_path.write_text("\n".join(lines) + "\n")
    rows = read_label_csv(csv_path, folder)
    report = build_fewshot_classification(rows, 3, class_names=names, label_offset=1, seed=1)
    reasons = {s.reason for s in report.skipped}
    assert "image file not found" in reasons
    assert any("listed twice" in r for r in reasons)
    counts = {n: sum(r.metadata["label"] == n for r in report.records) for n in CLASSES}
    assert counts == {n: min(3, k) for n, k in zip(CLASSES, PER_CLASS, strict=True)}


def test_unknown_label_reported(tmp_path: Path) -> None:
    img = tmp_path / "x.jpg"
    _write_image(img, 1)
    report = build_fewshot_classification([(str(img), "dahlia")], 1, class_names=["rose"])
    assert not report.records
    assert report.skipped[0].item == str(img)
    assert "not a class name" in report.skipped[0].reason
    bad_index = build_fewshot_classification([(str(img), "7")], 1, class_names=["rose"])
    assert "outside" in bad_index.skipped[0].reason


def test_records_validate(folder: Path) -> None:
    report = build_fewshot_classification(scan_image_folder(folder), 4, seed=0)
    n = len(report.records)
    assert len(validate_records(report).records) == n


def test_class_names_file_errors(tmp_path: Path) -> None:
    p = tmp_path / "n.txt"
    p.write_text("a\n\nb\n")
    with pytest.raises(ValueError, match="blank line 2"):
        load_class_names(p)
    p.write_text("a\na\n")
    with pytest.raises(ValueError, match="duplicate"):
        load_class_names(p)


@pytest.mark.parametrize(
    ("name", "count"),
    [("fgvc_aircraft", 100), ("oxford_flowers", 102), ("pets", 37), ("stanford_cars", 196)],
)
def test_shared_class_name_lists_load_as_is(shared_data: Path, name: str, count: int) -> None:
    names = load_class_names(shared_data / "classnames" / f"{name}.txt")
    assert len(names) == count


def test_cli_classification(folder: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    pytest.importorskip("PIL")
    from visual_rewards.cli import main

    out = tmp_path / "out"
    code = main([
        "build-dataset", "classification", "--image-folder", str(folder),
        "--class-names", str(folder.parent / "names.txt"), "-k", "4", "--dataset", "flowers",
        "--hf", str(out / "hf"), "--jsonl", str(out / "c.jsonl"),
    ])  # fmt: skip
    assert code == 0
    ds = datasets.load_from_disk(str(out / "hf"))
    assert len(ds) == 4 + 4 + 2 + 4
    meta = json.loads(ds[0]["metadata"])
    assert meta["label"] == CLASSES[0] and meta["num_classes"] == 4


def test_classification_reward_scores_ground_truth_at_one(folder: Path) -> None:
    from visual_rewards.rewards import REWARDS, get_reward

    if "classification" not in REWARDS:
        pytest.skip("ClassificationReward not registered yet")
    report = build_fewshot_classification(scan_image_folder(folder), 4, seed=0)
    comps = ["<think>t</think>" + r.solution for r in report.records]
    sols = [r.solution for r in report.records]
    for preset in ("default", "visual_rft"):
        res = get_reward("classification", preset).score(comps, sols)
        for name, values in res.components.items():
            np.testing.assert_allclose(values, 1.0, err_msg=f"{preset}/{name}")


def test_labels_resolve_with_the_rewards_normalisation(tmp_path: Path) -> None:
    """A CSV label "Hot-Dog" names the class "hot dog" (geometry.labels.normalize_label)."""
    items = []
    for i, label in enumerate(["Hot-Dog", "hot_dog", "HOT DOG."]):
        path = tmp_path / f"{i}.png"
        _write_image(path, i)
        items.append((str(path), label))
    report = build_fewshot_classification(items, 3, class_names=["hot dog"])
    assert not report.skipped and len(report.records) == 3
    assert {r.metadata["label"] for r in report.records} == {"hot dog"}
