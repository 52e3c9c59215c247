"""Evaluation: COCO equals pycocotools exactly, LVIS federated rules, accuracy, grounding IoUs."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from visual_rewards.evaluation import (
    classification_accuracy,
    coco_evaluate,
    detections_from_outputs,
    grounding_metrics,
    lvis_evaluate,
)
from visual_rewards.evaluation.lvis import box_evaluate, coco_box_iou
from visual_rewards.rewards import REWARDS

pytest.importorskip("pycocotools")
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

KNOWN_TINY = [
    0.694719,
    0.694719,
    0.694719,
    -1.0,
    0.792079,
    0.0,
    0.666667,
    0.75,
    0.75,
    -1.0,
    0.791667,
    0.0,
]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"


def pycocotools_eval(
    gt: dict[str, Any], dts: list[dict[str, Any]], iou_type: str = "bbox"
) -> COCOeval:
    """pycocotools used directly, the judge."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        res = coco.loadRes(copy.deepcopy(dts))
        ev = COCOeval(coco, res, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def synthetic_coco(
    n_images: int = 300, seed: int = 0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Several hundred images of mixed sizes, crowd boxes, empty images, noisy detections."""
    rng = np.random.default_rng(seed)
    images, anns, dts = [], [], []
    cats = [{"id": c, "name": f"cat{c}"} for c in (1, 2, 3, 5, 8)]
    for img_id in range(1, n_images + 1):
        w, h = int(rng.integers(200, 640)), int(rng.integers(200, 480))
        images.append({"id": img_id, "width": w, "height": h})
        n = 0 if img_id % 7 == 0 else int(rng.integers(1, 8))  # every 7th image empty
        for _ in range(n):
            bw, bh = float(rng.uniform(4, w / 2)), float(rng.uniform(4, h / 2))
            x, y = float(rng.uniform(0, w - bw)), float(rng.uniform(0, h - bh))
            crowd = int(rng.random() < 0.08)
            cat = int(rng.choice([c["id"] for c in cats]))
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": img_id,
                    "category_id": cat,
                    "bbox": [x, y, bw, bh],
                    "area": bw * bh * float(rng.uniform(0.6, 1.0)),
                    "iscrowd": crowd,
                }
            )
            for _ in range(int(rng.integers(0, 3))):  # 0-2 noisy detections per object
                jitter = rng.normal(0, 0.15, size=4) * [bw, bh, bw, bh]
                box = [
                    x + jitter[0],
                    y + jitter[1],
                    max(bw + jitter[2], 1.0),
                    max(bh + jitter[3], 1.0),
                ]
                dts.append(
                    {
                        "image_id": img_id,
                        "category_id": cat,
                        "bbox": box,
                        "score": float(rng.random()),
                    }
                )
        for _ in range(int(rng.integers(0, 4))):  # false positives, also on empty images
            bw, bh = float(rng.uniform(2, 150)), float(rng.uniform(2, 150))
            dts.append(
                {
                    "image_id": img_id,
                    "category_id": int(rng.choice([c["id"] for c in cats])),
                    "bbox": [float(rng.uniform(0, w - 2)), float(rng.uniform(0, h - 2)), bw, bh],
                    "score": round(float(rng.random()), 2),  # ties in score
                }
            )
    return {"images": images, "annotations": anns, "categories": cats}, dts


# ------------------------------------------------------------------------------------------
# COCO
# ------------------------------------------------------------------------------------------


def test_coco_tiny_equals_pycocotools(shared_data: Path) -> None:
    gt_path = shared_data / "coco_tiny" / "gt_dataset.json"
    dt_path = shared_data / "coco_tiny" / "dt_dataset.json"
    ours = coco_evaluate(gt_path, dt_path)
    judge = pycocotools_eval(json.loads(gt_path.read_text()), json.loads(dt_path.read_text()))
    assert list(ours.stats.values()) == [float(v) for v in judge.stats]
    assert [round(v, 6) for v in ours.stats.values()] == KNOWN_TINY
    segm = coco_evaluate(gt_path, dt_path, iou_type="segm")
    assert [round(v, 6) for v in segm.stats.values()] == KNOWN_TINY
    # the numpy evaluator (LVIS machinery, COCO rules) agrees bit for bit on boxes
    ev = box_evaluate(
        json.loads(gt_path.read_text()), json.loads(dt_path.read_text()), federated=False
    )
    assert ev.coco_stats() == [float(v) for v in judge.stats]


def test_coco_generated_equals_pycocotools() -> None:
    gt, dts = synthetic_coco()
    assert len(gt["images"]) >= 300 and any(a["iscrowd"] for a in gt["annotations"])
    judge = pycocotools_eval(gt, dts)
    ours = coco_evaluate(gt, dts)
    assert list(ours.stats.values()) == [float(v) for v in judge.stats]
    assert 0.05 < ours.stats["AP"] < 0.95  # a non-trivial case
    # per-category AP from the same precision array
    p = judge.eval["precision"][:, :, :, 0, -1]
    for k, cat in enumerate(gt["categories"]):
        s = p[:, :, k]
        assert ours.per_category[cat["name"]]["AP"] == float(np.mean(s[s > -1]))
    # the numpy evaluator reproduces COCOeval's arrays exactly, crowd boxes included
    ev = box_evaluate(gt, dts, federated=False)
    assert np.array_equal(ev.precision, judge.eval["precision"])
    assert np.array_equal(ev.recall, judge.eval["recall"])
    assert ev.coco_stats() == [float(v) for v in judge.stats]


def test_coco_category_and_image_subsets_equal_pycocotools() -> None:
    gt, dts = synthetic_coco(n_images=120, seed=7)
    cats, imgs = [2, 5], list(range(1, 120, 3))
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(copy.deepcopy(dts)), "bbox")
        ev.params.catIds, ev.params.imgIds = cats, imgs
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    ours = coco_evaluate(gt, dts, cat_ids=cats, img_ids=imgs)
    assert list(ours.stats.values()) == [float(v) for v in ev.stats]
    assert set(ours.per_category) == {"cat2", "cat5"}
    assert box_evaluate(gt, dts, federated=False, cat_ids=cats, img_ids=imgs).coco_stats() == [
        float(v) for v in ev.stats
    ]
    with pytest.raises(ValueError, match="unknown category"):
        coco_evaluate(gt, dts, cat_ids=[99])


def test_coco_unknown_images_dropped_and_empty_detections() -> None:
    gt, dts = synthetic_coco(n_images=20, seed=3)
    extra = [{"image_id": 10_000, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5}]
    ours = coco_evaluate(gt, dts + extra)
    assert ours.n_dropped == 1
    assert list(ours.stats.values()) == [float(v) for v in pycocotools_eval(gt, dts).stats]
    empty = coco_evaluate(gt, [])
    assert empty.stats["AP"] == 0.0 and empty.stats["AR100"] == 0.0


def test_coco_box_iou_matches_pycocotools_mask_iou() -> None:
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(1)
    dt = rng.uniform(0, 50, size=(30, 4))
    gt = rng.uniform(0, 50, size=(20, 4))
    crowd = rng.random(20) < 0.3
    ours = coco_box_iou(dt, gt, crowd)
    theirs = mask_utils.iou(dt.tolist(), gt.tolist(), crowd.astype(np.uint8).tolist())
    assert np.array_equal(ours, np.asarray(theirs))
    assert coco_box_iou(np.zeros((0, 4)), gt, crowd).shape == (0, 20)


# ------------------------------------------------------------------------------------------
# LVIS
# ------------------------------------------------------------------------------------------


def test_lvis_without_federated_holes_equals_coco() -> None:
    gt, dts = synthetic_coco(n_images=60, seed=5)
    for a in gt["annotations"]:
        a["iscrowd"] = 0
    all_cats = [c["id"] for c in gt["categories"]]
    lvis_gt = copy.deepcopy(gt)
    for img in lvis_gt["images"]:
        img["neg_category_ids"] = all_cats  # every category verified: nothing is dropped
        img["not_exhaustive_category_ids"] = []
    for c in lvis_gt["categories"]:
        c["frequency"] = "f"
    judge = pycocotools_eval(gt, dts)  # <= 100 detections per image: same limits
    ours = lvis_evaluate(lvis_gt, dts)
    assert ours.stats["AP"] == float(judge.stats[0])
    assert ours.stats["AP50"] == float(judge.stats[1])
    assert ours.stats["APs"] == float(judge.stats[3])
    assert ours.stats["AR@300"] == float(judge.stats[8])
    assert ours.stats["APf"] == ours.stats["AP"] and ours.stats["APr"] == -1.0


def _lvis_one_category() -> tuple[dict[str, Any], int, int, int]:
    """Image 1 has a box of category 1; image 2 says 1 is absent (neg); image 3 says nothing."""
    gt = {
        "images": [
            {"id": 1, "neg_category_ids": [], "not_exhaustive_category_ids": []},
            {"id": 2, "neg_category_ids": [1], "not_exhaustive_category_ids": []},
            {"id": 3, "neg_category_ids": [], "not_exhaustive_category_ids": []},
        ],
        "categories": [
            {"id": 1, "name": "a", "frequency": "r"},
            {"id": 2, "name": "b", "frequency": "c"},
        ],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 50], "area": 2500},
            {"id": 2, "image_id": 3, "category_id": 2, "bbox": [10, 10, 50, 50], "area": 2500},
        ],
    }
    return gt, 1, 2, 3


def test_lvis_federated_rules(shared_data: Path) -> None:
    gt, pos_img, neg_img, other_img = _lvis_one_category()
    hit = {"image_id": pos_img, "category_id": 1, "bbox": [10, 10, 50, 50], "score": 0.5}
    base = lvis_evaluate(gt, [hit]).stats["APr"]
    assert base == pytest.approx(1.0)
    fp = {"bbox": [100, 100, 20, 20], "score": 0.9, "category_id": 1}
    # a false positive where the category was verified absent counts
    assert lvis_evaluate(gt, [hit, {**fp, "image_id": neg_img}]).stats["APr"] < base
    # ... but not on an image that says nothing about the category (dropped)
    assert lvis_evaluate(gt, [hit, {**fp, "image_id": other_img}]).stats["APr"] == base
    # ... nor where the category is not exhaustively annotated (ignored when unmatched)
    gt2 = copy.deepcopy(gt)
    gt2["images"][0]["not_exhaustive_category_ids"] = [1]
    assert lvis_evaluate(gt2, [hit, {**fp, "image_id": pos_img}]).stats["APr"] == base
    assert lvis_evaluate(gt, [hit, {**fp, "image_id": pos_img}]).stats["APr"] < base
    # at most 300 detections per image, the best ones: 300 better-scored junk boxes push the hit out
    junk = [{"image_id": pos_img, "category_id": 2, "bbox": [0, 0, 3, 3], "score": 0.6}] * 300
    assert lvis_evaluate(gt, [hit, *junk]).stats["APr"] == 0.0
    assert lvis_evaluate(gt, [hit, *junk[:299]]).stats["APr"] == base


def test_lvis_tiny_perfect_and_noisy(shared_data: Path) -> None:
    gt = json.loads((shared_data / "lvis_tiny" / "lvis_val_100.json").read_text())
    perfect = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "bbox": a["bbox"],
            "score": 1.0,
        }
        for a in gt["annotations"]
    ]
    m = lvis_evaluate(gt, perfect)
    assert m.stats["AP"] == pytest.approx(1.0) and m.stats["AR@300"] == pytest.approx(1.0)
    assert set(m.stats) >= {"APr", "APc", "APf", "AP50", "AP75"}
    assert all(v["n_gt"] > 0 for v in m.per_category.values())
    rng = np.random.default_rng(0)
    noisy = [
        {
            **d,
            "bbox": [v + float(rng.normal(0, 3)) for v in d["bbox"]],
            "score": float(rng.random()),
        }
        for d in perfect
    ]
    m2 = lvis_evaluate(gt, noisy)
    assert 0.0 < m2.stats["AP"] < m.stats["AP"]


# ------------------------------------------------------------------------------------------
# From model outputs
# ------------------------------------------------------------------------------------------


def test_detections_from_outputs_coordinates_and_categories() -> None:
    gt = {
        "images": [{"id": 1, "width": 200, "height": 100}],
        "categories": [{"id": 4, "name": "traffic light"}, {"id": 5, "name": "dog"}],
        "annotations": [],
    }
    rows = [
        {
            "image_id": 1,
            "category": "traffic_light",
            "completion": "<answer>[{'Position': [0, 0, 500, 500]}]</answer>",
        },
        {
            "image_id": 1,
            "completion": '<answer>[{"bbox_2d": [500, 500, 1000, 1000], "label": "Dog"}, {"bbox_2d": [0, 0, 10, 10], "label": "cat"}]</answer>',
        },
        {"image_id": 2, "category": "dog", "completion": "<answer>[0, 0, 10, 10]</answer>"},
        {"image_id": 1, "category_id": 5, "completion": "<answer>I see nothing</answer>"},
    ]
    dets, stats = detections_from_outputs(rows, gt)
    assert dets == [
        {"image_id": 1, "category_id": 4, "bbox": [0.0, 0.0, 100.0, 50.0], "score": 1.0},
        {"image_id": 1, "category_id": 5, "bbox": [100.0, 50.0, 100.0, 50.0], "score": 1.0},
    ]
    assert stats.unknown_image == 1 and stats.unknown_category == 1 and stats.parse_failed == 1
    # rows as `visual-rewards build-dataset` writes them: ids inside a metadata JSON string
    meta_row = {
        "completion": rows[0]["completion"],
        "metadata": json.dumps({"image_id": 1, "category": "traffic light"}),
    }
    assert detections_from_outputs([meta_row], gt)[0] == dets[:1]
    pixel, _ = detections_from_outputs(rows[:1], gt, coords="pixel")
    assert pixel[0]["bbox"] == [0.0, 0.0, 200.0, 100.0]  # clipped to the image


def test_classification_accuracy_per_dataset_and_class() -> None:
    if "classification" not in REWARDS:
        pytest.skip("classification reward not registered")
    rows = [
        {
            "completion": "<think>x</think><answer>rose</answer>",
            "solution": "rose",
            "dataset": "flowers",
        },
        {
            "completion": "<think>x</think><answer>tulip</answer>",
            "solution": "rose",
            "dataset": "flowers",
        },
        {
            "completion": "<think>x</think><answer></answer>",
            "solution": "tulip",
            "dataset": "flowers",
        },
        {
            "completion": "<think>x</think><answer>pug</answer>",
            "solution": "<answer>pug</answer>",
            "dataset": "pets",
        },
    ]
    res = classification_accuracy(rows)
    assert res["accuracy"] == 0.5
    assert res["per_dataset"] == {
        "flowers": {"accuracy": 1 / 3, "n": 3},
        "pets": {"accuracy": 1.0, "n": 1},
    }
    assert res["per_class"]["rose"] == {"accuracy": 0.5, "n": 2}
    assert res["per_class"]["pug"] == {"accuracy": 1.0, "n": 1}


def test_grounding_box_metrics_by_hand() -> None:
    rows = [
        # IoU 1, areas 100 px
        {
            "completion": "<answer>[0, 0, 10, 10]</answer>",
            "solution": {"boxes": [[0, 0, 10, 10]], "coords": "pixel"},
            "image_size": [100, 100],
        },
        # IoU 50/150, first valid box used (the flipped one is skipped)
        {
            "completion": "<answer>[[9, 9, 1, 1], [5, 0, 15, 10]]</answer>",
            "solution": {"boxes": [[0, 0, 10, 10]], "coords": "pixel"},
            "image_size": [100, 100],
        },
        # no prediction: IoU 0, union = target area 400
        {
            "completion": "no answer",
            "solution": {"boxes": [[0, 0, 20, 20]], "coords": "pixel"},
            "image_size": [100, 100],
        },
        {
            "completion": "<answer>[0, 0, 1, 1]</answer>",
            "solution": "garbage",
            "image_size": [100, 100],
        },
    ]
    m = grounding_metrics(rows, coords="pixel")
    assert m["rows"] == 4 and m["bad_ground_truth"] == 1 and m["no_prediction"] == 1
    assert m["box"]["mIoU"] == pytest.approx((1 + 50 / 150 + 0) / 3)
    assert m["box"]["gIoU"] == m["box"]["mIoU"]
    assert m["box"]["cIoU"] == pytest.approx((100 + 50) / (100 + 150 + 400))
    assert m["box"]["Acc@0.5"] == pytest.approx(1 / 3)


def test_decode_mask_matches_pycocotools() -> None:
    from pycocotools import mask as mask_utils

    from visual_rewards.evaluation.grounding import decode_mask

    rng = np.random.default_rng(0)
    for h, w in [(1, 1), (5, 7), (40, 33)]:
        m = (rng.random((h, w)) < 0.4).astype(np.uint8)
        rle = mask_utils.encode(np.asfortranarray(m))
        assert np.array_equal(
            decode_mask({"size": rle["size"], "counts": rle["counts"].decode()}), m.astype(bool)
        )
    with pytest.raises(ValueError, match="RLE runs"):
        decode_mask({"size": [2, 2], "counts": [1, 1]})


def test_grounding_mask_metrics() -> None:
    from pycocotools import mask as mask_utils

    a = np.zeros((4, 4), dtype=np.uint8)
    a[:2, :2] = 1
    b = np.zeros((4, 4), dtype=np.uint8)
    b[:2, :] = 1
    rle = mask_utils.encode(np.asfortranarray(b))
    rle["counts"] = rle["counts"].decode("ascii")
    rows = [
        {
            "completion": "<answer>[0, 0, 500, 500]</answer>",
            "solution": [0, 0, 500, 500],
            "pred_mask": a.tolist(),
            "gt_mask": rle,
        },
        {
            "completion": "<answer>[0, 0, 500, 500]</answer>",
            "solution": [0, 0, 500, 500],
            "pred_mask": b.tolist(),
            "gt_mask": b.tolist(),
        },
    ]
    m = grounding_metrics(rows)
    assert m["mask"]["gIoU"] == pytest.approx((4 / 8 + 1) / 2)
    assert m["mask"]["cIoU"] == pytest.approx((4 + 8) / (8 + 8))
    assert m["box"]["mIoU"] == 1.0


@pytest.mark.parametrize("label", ["hot-dog", "hot_dog", "Hot Dog", "HOT-DOG."])
def test_box_label_picks_the_category_by_the_rewards_normalisation(label: str) -> None:
    """Category names are matched with geometry.labels.normalize_label, as the rewards do."""
    from visual_rewards.geometry.labels import normalize_label

    gt = {
        "images": [{"id": 1, "width": 100, "height": 100}],
        "categories": [{"id": 7, "name": "hot dog"}],
        "annotations": [],
    }
    completion = f"<answer>[{{'Position': [0, 0, 500, 500], 'Label': '{label}'}}]</answer>"
    dets, stats = detections_from_outputs([{"image_id": 1, "completion": completion}], gt)
    assert normalize_label(label) == normalize_label("hot dog")
    assert [d["category_id"] for d in dets] == [7] and stats.unknown_category == 0


def test_classification_accuracy_is_the_rewards_accuracy() -> None:
    """Evaluation scores rows through scoring.score_rows: the same numbers as the reward."""
    from visual_rewards.rewards import get_reward

    rows = [
        {
            "completion": "<think>a</think><answer>Hot-Dog</answer>",
            "solution": "<answer>hot dog</answer>",
        },
        {"completion": "<answer>rose</answer>", "solution": "<answer>tulip</answer>"},
        {"completion": "no tags", "solution": "<answer>tulip</answer>"},
    ]
    result = classification_accuracy(rows)
    reward = get_reward("classification")
    acc = reward.score([r["completion"] for r in rows], [r["solution"] for r in rows])
    assert result["accuracy"] == pytest.approx(float(np.mean(acc.components["accuracy"])))
    assert set(result["per_class"]) == {"hot dog", "tulip"}
