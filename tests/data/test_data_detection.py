"""Detection dataset builders on the shared COCO/LVIS files and on generated ones."""

from __future__ import annotations

import hashlib
import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import visual_rewards as vr
from visual_rewards.data import (
    PAPER_COCO_BASE,
    PAPER_COCO_NOVEL,
    DetectionOptions,
    build_detection_eval,
    build_fewshot_detection,
    build_open_vocab_train,
    load_detection_source,
    save_jsonl,
    validate_record,
    validate_records,
)
from visual_rewards.data.detection import prompt_for
from visual_rewards.data.prompts import DETECTION_PROMPT
from visual_rewards.geometry.coords import CoordConfig

COORDS = ("norm1000", "normalized", "pixel", "qwen25vl")


# ---------------------------------------------------------------------------------------------
# Generated annotation files
# ---------------------------------------------------------------------------------------------


def make_coco(seed: int = 0, n_images: int = 40, lvis: bool = False) -> dict[str, Any]:
    """A random COCO (or LVIS-flavoured) file with a few deliberately bad annotations."""
    rng = random.Random(seed)
    names = ["cat", "dog", "bus", "stop sign", "kitchen_table"]
    cats: list[dict[str, Any]] = [{"id": i + 1, "name": n} for i, n in enumerate(names)]
    if lvis:
        for c in cats:
            c["frequency"] = "r" if c["id"] % 2 else "c"
    images, anns = [], []
    aid = 1
    for iid in range(1, n_images + 1):
        w, h = rng.choice([(640, 480), (500, 375), (333, 500), (1024, 683)])
        img: dict[str, Any] = {"id": iid * 7, "width": w, "height": h}
        img["file_name"] = f"{iid * 7:06d}.jpg"
        present = rng.sample([c["id"] for c in cats], rng.randint(1, 3))
        if lvis:
            absent = [c["id"] for c in cats if c["id"] not in present]
            img["neg_category_ids"] = absent[:1]
            img["not_exhaustive_category_ids"] = present[:1] if iid % 5 == 0 else []
        images.append(img)
        for cid in present:
            for _ in range(rng.randint(1, 3)):
                bw, bh = rng.uniform(4, w / 2), rng.uniform(4, h / 2)
                x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
                ann = {
                    "id": aid,
                    "image_id": iid * 7,
                    "category_id": cid,
                    "bbox": [round(x, 2), round(y, 2), round(bw, 2), round(bh, 2)],
                }
                if not lvis:
                    ann["iscrowd"] = 1 if aid % 17 == 0 else 0
                anns.append(ann)
                aid += 1
    # deliberately bad annotations
    anns.append({"id": 9001, "image_id": 7, "category_id": 1, "bbox": [10, 10, -5, 20]})
    anns.append({"id": 9002, "image_id": 14, "category_id": 2, "bbox": [600, 10, 500, 20]})
    anns.append({"id": 9003, "image_id": 21, "category_id": 3, "bbox": "oops"})
    anns.append({"id": 9004, "image_id": 99999, "category_id": 1, "bbox": [1, 1, 5, 5]})
    anns.append({"id": 9005, "image_id": 28, "category_id": 77, "bbox": [1, 1, 5, 5]})
    return {"images": images, "annotations": anns, "categories": cats}


def _load(kind: str, shared: Path | None) -> tuple[dict[str, Any], Any]:
    if kind == "coco_tiny":
        assert shared is not None
        path = shared / "coco_tiny" / "gt_dataset.json"
        raw = json.loads(path.read_text())
        return raw, load_detection_source(path, shared / "coco_tiny")
    if kind == "lvis_tiny":
        assert shared is not None
        path = shared / "lvis_tiny" / "lvis_val_100.json"
        raw = json.loads(path.read_text())
        return raw, load_detection_source(path, "/images")
    raw = make_coco(lvis=kind == "gen_lvis")
    return raw, load_detection_source(raw, "/images")


@pytest.fixture(params=["coco_tiny", "lvis_tiny", "gen_coco", "gen_lvis"])
def source(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any], Any]:
    shared = None
    if request.param in ("coco_tiny", "lvis_tiny"):
        shared = request.getfixturevalue("shared_data")
    raw, src = _load(request.param, shared)
    return request.param, raw, src


def _categories(raw: dict[str, Any], n: int = 4) -> list[str]:
    """The ``n`` categories with the most annotated images (so sampling has a choice)."""
    counts: dict[int, set[int]] = {}
    for a in raw["annotations"]:
        counts.setdefault(a["category_id"], set()).add(a["image_id"])
    names = {c["id"]: c["name"] for c in raw["categories"]}
    top = sorted((cid for cid in counts if cid in names), key=lambda c: (-len(counts[c]), c))
    return [names[c] for c in top[:n]]


def _reference_candidates(raw: dict[str, Any], name: str) -> set[int]:
    """The slow, obvious rule: images with a valid non-crowd box of ``name`` and no
    crowd / bad / not-exhaustive annotation of it."""
    cid = next(c["id"] for c in raw["categories"] if c["name"] == name)
    images = {im["id"]: im for im in raw["images"]}
    good: set[int] = set()
    bad: set[int] = set()
    for a in raw["annotations"]:
        if a["category_id"] != cid or a["image_id"] not in images:
            continue
        im = images[a["image_id"]]
        if a.get("iscrowd", 0) or cid in im.get("not_exhaustive_category_ids", []):
            bad.add(im["id"])
            continue
        b = a["bbox"]
        ok = (
            isinstance(b, list)
            and len(b) == 4
            and b[2] > 0
            and b[3] > 0
            and b[0] >= -1
            and b[1] >= -1
            and b[0] + b[2] <= im["width"] + 1
            and b[1] + b[3] <= im["height"] + 1
        )
        (good if ok else bad).add(im["id"])
    return good - bad


# ---------------------------------------------------------------------------------------------
# Determinism and counts
# ---------------------------------------------------------------------------------------------


def _jsonl_bytes(report: Any, tmp_path: Path, name: str) -> bytes:
    path = tmp_path / name
    save_jsonl(report.records, path)
    return path.read_bytes()


def test_same_seed_gives_identical_bytes(
    source: Any, tmp_path: Path, shared_data_or_none: Path | None
) -> None:
    kind, raw, src = source
    cats = _categories(raw)
    opts = DetectionOptions(negatives=1)
    a = build_fewshot_detection(src, cats, 2, seed=3, options=opts)
    # a freshly loaded source, to rule out shared state
    b = build_fewshot_detection(_load(kind, shared_data_or_none)[1], cats, 2, seed=3, options=opts)
    assert a.records, "nothing built"
    assert _jsonl_bytes(a, tmp_path, "a.jsonl") == _jsonl_bytes(b, tmp_path, "b.jsonl")


def test_different_seeds_differ(source: Any) -> None:
    _, raw, src = source
    cats = _categories(raw)
    picks = {
        tuple(r.metadata["image_id"] for r in build_fewshot_detection(src, cats, 1, seed=s).records)
        for s in range(10)
    }
    assert len(picks) > 1


@pytest.mark.parametrize("k", [1, 2, 4, 8, 16])
def test_k_shot_counts_are_exact(source: Any, k: int) -> None:
    _, raw, src = source
    cats = _categories(raw, 5)
    report = build_fewshot_detection(src, cats, k, seed=0)
    for name in cats:
        got = [r for r in report.records if r.metadata["category"] == name]
        available = _reference_candidates(raw, name)
        assert len(got) == min(k, len(available)), name
        ids = [r.metadata["image_id"] for r in got]
        assert len(set(ids)) == len(ids)
        assert set(ids) <= available
        if len(available) < k:
            assert report.shortfalls[name] == (k, len(available))
        else:
            assert name not in report.shortfalls


def test_strict_k_raises_on_shortfall(source: Any) -> None:
    _, raw, src = source
    with pytest.raises(ValueError, match="usable images"):
        build_fewshot_detection(src, _categories(raw, 1), 10**6, strict=True)


def test_no_crowd_boxes(source: Any) -> None:
    _, raw, src = source
    crowd = {a["id"] for a in raw["annotations"] if a.get("iscrowd", 0)}
    crowd_pairs = {
        (a["image_id"], a["category_id"]) for a in raw["annotations"] if a["id"] in crowd
    }
    report = build_fewshot_detection(src, _categories(raw, 5), 16, seed=1)
    for r in report.records:
        assert not crowd & set(r.metadata["annotation_ids"])
        assert (r.metadata["image_id"], r.metadata["category_id"]) not in crowd_pairs


def test_generated_file_has_crowd_boxes() -> None:
    raw = make_coco()
    assert any(a.get("iscrowd") for a in raw["annotations"])  # the test above is not vacuous


# ---------------------------------------------------------------------------------------------
# Coordinates and rewards
# ---------------------------------------------------------------------------------------------


def _tolerance(coords: str, size: tuple[int, int]) -> tuple[float, float]:
    """Half a unit of the output precision, in pixels of the original image."""
    w, h = size
    if coords == "norm1000":
        return 0.5 * w / 1000 + 1e-6, 0.5 * h / 1000 + 1e-6
    if coords == "normalized":
        return 0.0005 * w + 1e-6, 0.0005 * h + 1e-6
    if coords == "pixel":
        return 0.5 + 1e-6, 0.5 + 1e-6
    sx, sy = CoordConfig("qwen25vl", image_size=size).scale()
    return 0.5 * w / sx + 1e-6, 0.5 * h / sy + 1e-6


@pytest.mark.parametrize("coords", COORDS)
@pytest.mark.parametrize("style", ["visual_rft", "bbox_2d"])
def test_coordinates_round_trip(source: Any, coords: str, style: str) -> None:
    _, raw, src = source
    opts = DetectionOptions(coords=coords, style=style)  # type: ignore[arg-type]
    report = build_fewshot_detection(src, _categories(raw, 5), 4, seed=0, options=opts)
    anns = {a["id"]: a for a in raw["annotations"]}
    assert report.records
    for r in report.records:
        size = tuple(r.metadata["image_size"])
        answer = vr.parse_completion("<think>x</think>" + r.solution).answer
        det = vr.parse_detections(answer, CoordConfig(coords, image_size=size))  # type: ignore[arg-type]
        assert not det.errors
        back = det.boxes * np.array([size[0], size[1], size[0], size[1]])
        src_boxes = []
        for aid in r.metadata["annotation_ids"]:
            x, y, w, h = anns[aid]["bbox"]
            src_boxes.append([max(x, 0), max(y, 0), min(x + w, size[0]), min(y + h, size[1])])
        tx, ty = _tolerance(coords, size)  # type: ignore[arg-type]
        assert np.all(np.abs(back - np.array(src_boxes)) <= np.array([tx, ty, tx, ty]))
        if style == "bbox_2d":
            assert set(det.labels) == {r.metadata["category"]}


def test_every_record_validates(source: Any) -> None:
    _, raw, src = source
    for coords in COORDS:
        opts = DetectionOptions(coords=coords, negatives=2)  # type: ignore[arg-type]
        report = build_fewshot_detection(src, _categories(raw, 5), 8, seed=0, options=opts)
        n = len(report.records)
        validate_records(report)
        assert len(report.records) == n
        for r in report.records:
            validate_record(r)


@pytest.mark.parametrize("coords", COORDS)
def test_detection_reward_scores_ground_truth_at_one(source: Any, coords: str) -> None:
    """Every component of the reward is 1 on the ground-truth answer of every record.

    ``default`` preset: positives and ``No Objects`` negatives. ``visual_rft`` preset (the
    released code, which pays nothing for an empty answer): positives. ``bbox_2d`` answers
    carry no confidence, so only their IoU and format components are checked.
    """
    from visual_rewards.rewards import REWARDS, get_reward

    if "detection" not in REWARDS:
        pytest.skip("DetectionReward not registered yet")
    _, raw, src = source
    cats = _categories(raw, 5)

    def check(preset: str, style: str, negatives: int, components: tuple[str, ...]) -> None:
        opts = DetectionOptions(coords=coords, style=style, negatives=negatives)  # type: ignore[arg-type]
        records = build_fewshot_detection(src, cats, 4, seed=0, options=opts).records
        assert records
        if negatives:
            assert any(r.metadata["negative"] for r in records) or len(cats) < 2
        comps = ["<think>the boxes</think>" + r.solution for r in records]
        sizes = [tuple(r.metadata["image_size"]) for r in records]
        reward = get_reward("detection", preset, coords=coords)
        res = reward.score(comps, [r.solution for r in records], image_size=sizes)
        for name in components:
            np.testing.assert_allclose(res.components[name], 1.0, err_msg=f"{preset}/{name}")

    check("default", "visual_rft", 1, ("iou", "confidence", "format"))
    check("visual_rft", "visual_rft", 0, ("iou", "confidence", "format"))
    check("default", "bbox_2d", 1, ("iou", "format"))


# ---------------------------------------------------------------------------------------------
# Bad input, LVIS specifics, negatives
# ---------------------------------------------------------------------------------------------


def test_bad_annotations_are_reported_and_their_pairs_skipped() -> None:
    raw = make_coco()
    src = load_detection_source(raw, "/images")
    reported = {s.item for s in src.skipped}
    for aid in (9001, 9002, 9003, 9004, 9005):
        assert f"annotation {aid}" in reported
    report = build_fewshot_detection(src, ["cat", "dog", "bus"], 40, seed=0)
    pairs = {(r.metadata["image_id"], r.metadata["category_id"]) for r in report.records}
    assert (7, 1) not in pairs and (14, 2) not in pairs and (21, 3) not in pairs
    assert {s.item for s in report.skipped} >= {f"annotation {a}" for a in (9001, 9002, 9003)}


def test_box_outside_image_by_a_pixel_is_clipped_and_counted() -> None:
    raw = {
        "images": [{"id": 1, "width": 100, "height": 50, "file_name": "a.jpg"}],
        "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [-0.5, 0, 100.7, 50]}],
        "categories": [{"id": 1, "name": "cat"}],
    }
    src = load_detection_source(raw, "/r")
    assert src.clipped == 1
    report = build_fewshot_detection(src, ["cat"], 1)
    assert (
        report.records[0].solution
        == "<answer>[{'Position': [0, 0, 1000, 1000], 'Confidence': 1}]</answer>"
    )
    assert any("clipped" in n for n in report.notes)


def test_box_vanishing_when_rounded_is_reported() -> None:
    raw = {
        "images": [{"id": 1, "width": 4000, "height": 4000, "file_name": "a.jpg"}],
        "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [11, 10, 1.0, 30]}],
        "categories": [{"id": 1, "name": "cat"}],
    }
    report = build_fewshot_detection(load_detection_source(raw, "/r"), ["cat"], 1)
    assert not report.records
    assert [s.item for s in report.skipped] == ["annotation 5"]
    # in pixels the same box is fine
    pix = DetectionOptions(coords="pixel")
    assert build_fewshot_detection(
        load_detection_source(raw, "/r"), ["cat"], 1, options=pix
    ).records


def test_lvis_not_exhaustive_pairs_and_verified_negatives() -> None:
    raw = make_coco(lvis=True)
    src = load_detection_source(raw, "/images")
    assert src.flavor == "lvis"
    images = {im["id"]: im for im in raw["images"]}
    report = build_fewshot_detection(
        src, ["cat", "dog", "bus", "stop sign"], 16, seed=0, options=DetectionOptions(negatives=2)
    )
    negs = [r for r in report.records if r.metadata["negative"]]
    assert negs
    for r in report.records:
        im = images[r.metadata["image_id"]]
        assert r.metadata["category_id"] not in im["not_exhaustive_category_ids"]
        if r.metadata["negative"]:
            assert r.metadata["category_id"] in im["neg_category_ids"]
            assert r.solution == "<answer>No Objects</answer>"


def test_coco_negatives_are_absent_categories() -> None:
    raw = make_coco()
    src = load_detection_source(raw, "/images")
    present: dict[int, set[int]] = {}
    for a in raw["annotations"]:
        present.setdefault(a["image_id"], set()).add(a["category_id"])
    report = build_fewshot_detection(
        src,
        ["cat", "dog", "bus"],
        4,
        seed=0,
        options=DetectionOptions(negatives=1, style="bbox_2d"),
    )
    negs = [r for r in report.records if r.metadata["negative"]]
    assert negs
    for r in negs:
        assert r.metadata["category_id"] not in present[r.metadata["image_id"]]
        assert r.solution == "<answer>[]</answer>"
    keys = [(r.metadata["image_id"], r.metadata["category_id"]) for r in report.records]
    assert len(keys) == len(set(keys))


def test_lvis_tiny_paper_categories_are_known(shared_data: Path) -> None:
    from visual_rewards.data import PAPER_LVIS_FEWSHOT, PAPER_LVIS_OV_RARE

    src = load_detection_source(shared_data / "lvis_tiny" / "lvis_val_100.json", "/images")
    for name in PAPER_LVIS_FEWSHOT + PAPER_LVIS_OV_RARE:
        src.category_id(name)
    # none of them has an image among these 100: the build reports a shortfall, not an error
    report = build_fewshot_detection(src, "paper-lvis-6", 10)
    assert not report.records and len(report.shortfalls) == 6


def test_unknown_category_is_a_caller_error(source: Any) -> None:
    _, _, src = source
    with pytest.raises(ValueError, match="unknown category"):
        build_fewshot_detection(src, ["no such thing"], 1)


# ---------------------------------------------------------------------------------------------
# Open vocabulary and evaluation sets
# ---------------------------------------------------------------------------------------------


def _coco80(seed: int = 0) -> dict[str, Any]:
    """A generated file with all 80 COCO category names."""
    rng = random.Random(seed)
    from visual_rewards.data import COCO_CATEGORIES

    cats = [{"id": i + 1, "name": n} for i, n in enumerate(COCO_CATEGORIES)]
    images, anns = [], []
    for iid in range(1, 61):
        images.append({"id": iid, "width": 640, "height": 480, "file_name": f"{iid}.jpg"})
        for cid in rng.sample(range(1, 81), 6):
            anns.append({"id": len(anns) + 1, "image_id": iid, "category_id": cid,
                         "bbox": [10.0, 20.0, 100.0, 50.0], "iscrowd": 0})  # fmt: skip
    return {"images": images, "annotations": anns, "categories": cats}


def test_open_vocab_train_samples_base_pairs_only() -> None:
    src = load_detection_source(_coco80(), "/images")
    report = build_open_vocab_train(src, "paper-coco-base-65", 100, seed=0)
    assert len(report.records) == 100
    keys = [(r.metadata["image_id"], r.metadata["category"]) for r in report.records]
    assert len(set(keys)) == 100
    assert {r.metadata["category"] for r in report.records} <= set(PAPER_COCO_BASE)
    again = build_open_vocab_train(src, "paper-coco-base-65", 100, seed=0)
    assert [r.to_row() for r in again.records] == [r.to_row() for r in report.records]
    other = build_open_vocab_train(src, "paper-coco-base-65", 100, seed=1)
    assert [r.to_row() for r in other.records] != [r.to_row() for r in report.records]
    big = build_open_vocab_train(src, "paper-coco-base-65", 10**5)
    assert big.shortfalls["base pairs"][1] == len(big.records)


def test_detection_eval_covers_every_novel_pair() -> None:
    raw = _coco80()
    src = load_detection_source(raw, "/images")
    report = build_detection_eval(src, "paper-coco-novel-15")
    names = {c["id"]: c["name"] for c in raw["categories"]}
    want = {(a["image_id"], names[a["category_id"]]) for a in raw["annotations"]
            if names[a["category_id"]] in PAPER_COCO_NOVEL}  # fmt: skip
    got = [(r.metadata["image_id"], r.metadata["category"]) for r in report.records]
    assert sorted(got) == sorted(want)
    assert len(got) == len(set(got))
    ids = [i for i, _ in got]
    assert ids == sorted(ids)
    first = build_detection_eval(src, "paper-coco-novel-15", max_images=3)
    assert len({r.metadata["image_id"] for r in first.records}) == 3


# ---------------------------------------------------------------------------------------------
# Prompts
# ---------------------------------------------------------------------------------------------


def test_prompt_is_the_papers_for_norm1000() -> None:
    rec = build_fewshot_detection(load_detection_source(_coco80(), "/i"), ["stop sign"], 1)
    assert rec.records[0].problem == DETECTION_PROMPT.format(category="stop sign")
    assert rec.records[0].problem.count("'stop sign'") == 2


def test_prompt_names_other_coordinate_spaces() -> None:
    p = prompt_for("kitchen_table", DetectionOptions(coords="pixel", category_text="spaces"))
    assert "'kitchen table'" in p and "in pixels of the image" in p and "1000" not in p


# ---------------------------------------------------------------------------------------------
# Writers and the command line
# ---------------------------------------------------------------------------------------------


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "state.json"
    }


def test_cli_fewshot_detection_all_outputs(shared_data: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    pq = pytest.importorskip("pyarrow.parquet")
    from visual_rewards.cli import main

    def run(out: Path, seed: int) -> int:
        return main([
            "build-dataset", "fewshot-detection",
            "--annotations", str(shared_data / "coco_tiny" / "gt_dataset.json"),
            "--image-root", str(shared_data / "coco_tiny"),
            "--categories", "cloud,heart", "-k", "2", "--seed", str(seed),
            "--hf", str(out / "hf"), "--parquet", str(out / "t.parquet"),
            "--jsonl", str(out / "t.jsonl"), "--report", str(out / "report.json"),
        ])  # fmt: skip

    assert run(tmp_path / "a", 0) == 0
    assert run(tmp_path / "b", 0) == 0
    a, b = tmp_path / "a", tmp_path / "b"
    assert (a / "t.jsonl").read_bytes() == (b / "t.jsonl").read_bytes()
    assert (a / "t.parquet").read_bytes() == (b / "t.parquet").read_bytes()
    assert _digest(a / "hf") == _digest(b / "hf")
    ds = datasets.load_from_disk(str(a / "hf"))
    assert ds.column_names == ["image", "problem", "solution", "task", "metadata"]
    assert len(ds) == 4 and ds[0]["image"].size == (256, 256)
    assert set(ds["task"]) == {"detection"}
    table = pq.read_table(a / "t.parquet").to_pylist()
    assert table[0]["reward_model"]["ground_truth"] == ds[0]["solution"]
    assert table[0]["extra_info"]["task"] == "detection"
    assert table[0]["prompt"][0]["content"].startswith("<image>Detect all objects")
    assert json.loads((a / "report.json").read_text())["records"] == 4


def test_cli_reports_skipped_items_with_exit_code_one(tmp_path: Path) -> None:
    from visual_rewards.cli import main

    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(make_coco()))
    code = main([
        "build-dataset", "open-vocab", "--annotations", str(ann), "--image-root", "/images",
        "--categories", "cat,dog", "--num-samples", "5", "--jsonl", str(tmp_path / "o.jsonl"),
    ])  # fmt: skip
    assert code == 1
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 5


def test_cli_needs_an_output(tmp_path: Path) -> None:
    from visual_rewards.cli import main

    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(make_coco()))
    args = ["build-dataset", "open-vocab", "--annotations", str(ann), "--image-root", "/i"]
    assert main(args) == 2
    assert main([*args[:3], "--annotations", str(tmp_path / "missing.json"), "--image-root",
                 "/i", "--jsonl", str(tmp_path / "x")]) == 2  # fmt: skip


def test_finite_everywhere(source: Any) -> None:
    _, raw, src = source
    report = build_fewshot_detection(src, _categories(raw, 5), 16)
    for r in report.records:
        for box in r.metadata["boxes_xyxy_pixel"]:
            assert all(math.isfinite(v) for v in box)


def test_cli_skips_records_whose_image_is_missing(tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    from visual_rewards.cli import main

    raw = _coco80()
    (tmp_path / "img").mkdir()
    from PIL import Image

    for im in raw["images"][:10]:
        Image.new("RGB", (64, 48)).save(tmp_path / "img" / im["file_name"], format="PNG")
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(raw))
    report = tmp_path / "report.json"
    code = main([
        "build-dataset", "detection-eval", "--annotations", str(ann),
        "--image-root", str(tmp_path / "img"), "--categories", "coco-80",
        "--hf", str(tmp_path / "hf"), "--report", str(report),
    ])  # fmt: skip
    assert code == 1
    payload = json.loads(report.read_text())
    assert payload["records"] == 60
    reasons = {s["reason"] for s in payload["skipped"]}
    assert all(r.startswith("image refused:") and "cannot open" in r for r in reasons)
    assert len(payload["skipped"]) == 300


def test_validation_moves_a_broken_record_to_skipped() -> None:
    import dataclasses

    report = build_fewshot_detection(load_detection_source(_coco80(), "/i"), ["cat", "dog"], 2)
    good = report.records[0]
    report.records[1] = dataclasses.replace(
        report.records[1],
        solution="<answer>[{'Position': [900, 10, 100, 50], 'Confidence': 1}]</answer>",
    )
    validate_records(report)
    assert report.records == [good, *report.records[1:]] and len(report.records) == 3
    assert "fails validation" in report.skipped[-1].reason
    assert "annotations [" in report.skipped[-1].item


def test_hf_dataset_with_image_paths(shared_data: Path) -> None:
    pytest.importorskip("datasets")
    from visual_rewards.data import to_hf_dataset

    src = load_detection_source(
        shared_data / "coco_tiny" / "gt_dataset.json", shared_data / "coco_tiny"
    )
    records = build_fewshot_detection(src, ["star"], 2).records
    ds = to_hf_dataset(records, embed_images=False)
    assert ds[0]["image"].size == (256, 256)
    with pytest.raises(FileNotFoundError):
        to_hf_dataset([dataclasses_replace_image(records[0], "/no/such/file.jpg")])


def dataclasses_replace_image(record: Any, image: str) -> Any:
    import dataclasses

    return dataclasses.replace(record, image=image)


# ---------------------------------------------------------------------------------------------
# The image-root rule (issue 14): a record whose image breaks it is skipped and counted
# ---------------------------------------------------------------------------------------------


def _root_case(tmp_path: Path) -> tuple[Path, dict[str, Any], bytes]:
    from PIL import Image

    root = tmp_path / "root"
    root.mkdir()
    secret = tmp_path / "secret.png"
    Image.new("RGB", (40, 30), (1, 2, 3)).save(secret, format="PNG")
    Image.new("RGB", (40, 30), (9, 9, 9)).save(root / "good.png", format="PNG")
    (root / "link.png").symlink_to(secret)
    (root / "text.png").write_text("API_KEY=hunter2")
    names = [
        "good.png", "../secret.png", str(secret), "link.png", "/proc/self/environ",
        "/dev/zero", "text.png", "sub/../../secret.png",
    ]  # fmt: skip
    images = [{"id": i + 1, "width": 40, "height": 30, "file_name": n} for i, n in enumerate(names)]
    images.append({"id": 99, "width": 40, "height": 30, "coco_url": "http://x/../secret.png"})
    anns = [
        {"id": i + 1, "image_id": im["id"], "category_id": 1, "bbox": [1, 1, 10, 10], "iscrowd": 0}
        for i, im in enumerate(images)
    ]
    raw = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "cat"}]}
    return root, raw, secret.read_bytes()


@pytest.mark.parametrize("output", ["--parquet", "--hf"])
def test_cli_image_root_rule(tmp_path: Path, output: str) -> None:
    pytest.importorskip("pyarrow")
    pytest.importorskip("datasets")
    from visual_rewards.cli import main

    root, raw, secret = _root_case(tmp_path)
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(raw))
    out = tmp_path / ("o.parquet" if output == "--parquet" else "hf")
    report = tmp_path / "report.json"
    code = main([
        "build-dataset", "detection-eval", "--annotations", str(ann), "--image-root", str(root),
        "--categories", "cat", output, str(out), "--report", str(report),
    ])  # fmt: skip
    assert code == 1
    payload = json.loads(report.read_text())
    assert payload["records"] == 1 and len(payload["skipped"]) == 8
    reasons = " ".join(s["reason"] for s in payload["skipped"])
    assert reasons.count("outside the image root") == 7 and "not a readable image" in reasons
    written = b"".join(
        p.read_bytes() for p in ([out] if out.is_file() else out.rglob("*")) if p.is_file()
    )
    assert secret not in written and b"hunter2" not in written


def test_cli_image_root_rule_for_paths_only(tmp_path: Path) -> None:
    """JSON lines hold paths: nothing is read, but a path outside the root is still refused."""
    from visual_rewards.cli import main

    root, raw, _ = _root_case(tmp_path)
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(raw))
    out = tmp_path / "o.jsonl"
    code = main([
        "build-dataset", "detection-eval", "--annotations", str(ann), "--image-root", str(root),
        "--categories", "cat", "--jsonl", str(out),
    ])  # fmt: skip
    assert code == 1
    images = [json.loads(line)["image"] for line in out.read_text().splitlines()]
    assert sorted(Path(i).name for i in images) == ["good.png", "text.png"]
