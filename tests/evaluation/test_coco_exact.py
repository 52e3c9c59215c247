"""COCO evaluation equals pycocotools' COCOeval (the judge) array for array, boxes and masks."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from detection_sets import coco_set
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visual_rewards.evaluation import coco_evaluate
from visual_rewards.evaluation.lvis import box_evaluate

pytest.importorskip("pycocotools")
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


def judge(
    gt: dict[str, Any],
    dts: list[dict[str, Any]],
    iou_type: str = "bbox",
    cat_ids: list[int] | None = None,
    img_ids: list[int] | None = None,
) -> COCOeval:
    """pycocotools' COCOeval on copies (it writes into both inputs)."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(copy.deepcopy(dts)), iou_type)
        if cat_ids is not None:
            ev.params.catIds = cat_ids
        if img_ids is not None:
            ev.params.imgIds = img_ids
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def assert_same(
    gt: dict[str, Any], dts: list[dict[str, Any]], iou_type: str = "bbox", **subset: Any
) -> None:
    theirs = judge(gt, dts, iou_type, **subset)
    ours = box_evaluate(gt, dts, federated=False, iou_type=iou_type, **subset)
    assert np.array_equal(ours.precision, theirs.eval["precision"])
    assert np.array_equal(ours.recall, theirs.eval["recall"])
    stats = coco_evaluate(gt, dts, iou_type, **subset).stats
    assert list(stats.values()) == [float(v) for v in theirs.stats]


def mask_results(gt: dict[str, Any], dts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The detections as compressed-RLE masks (an ellipse-like octagon inside each box)."""
    sizes = {img["id"]: (img["height"], img["width"]) for img in gt["images"]}
    out = []
    for d in dts:
        x, y, w, h = d["bbox"]
        poly = [x + w / 3, y, x + w, y + h / 3, x + 2 * w / 3, y + h, x, y + 2 * h / 3]
        rle = mask_utils.merge(mask_utils.frPyObjects([poly], *sizes[d["image_id"]]))
        rle["counts"] = rle["counts"].decode("ascii")
        out.append({**{k: d[k] for k in ("image_id", "category_id", "score")}, "segmentation": rle})
    return out


def test_synthetic_boxes_equal_pycocotools() -> None:
    gt, dts = coco_set(250, seed=1)
    assert any(a["iscrowd"] for a in gt["annotations"])
    pairs = np.unique([(d["image_id"], d["category_id"]) for d in dts], axis=0, return_counts=True)
    assert pairs[1].max() > 100  # COCOeval's 100 per image and category applies
    assert_same(gt, dts)
    assert 0.01 < coco_evaluate(gt, dts).stats["AP"] < 0.9


def test_masks_equal_pycocotools_for_box_and_mask_results() -> None:
    gt, dts = coco_set(60, seed=2)
    assert_same(gt, dts, "segm")  # box results: their rectangles are the masks
    assert_same(gt, mask_results(gt, dts), "segm")


def test_ignore_flag_id_zero_and_unknown_ids() -> None:
    gt, dts = coco_set(80, seed=3)
    anns = gt["annotations"]
    for a in anns[::7]:
        a["ignore"] = 1  # pycocotools: iscrowd decides, ``ignore`` is overwritten
    for a in anns[2::11]:
        a["iscrowd"] = 1
    anns[4]["id"] = 0  # a match to ground truth id 0 reads as no match
    assert_same(gt, dts)
    extra = [{"image_id": 10_000, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5}]
    extra.append({"image_id": 1, "category_id": 999, "bbox": [0, 0, 5, 5], "score": 0.5})
    ours = coco_evaluate(gt, dts + extra)
    assert ours.n_dropped == 2
    assert list(ours.stats.values()) == [float(v) for v in judge(gt, dts).stats]


def test_category_and_image_subsets_equal_pycocotools() -> None:
    gt, dts = coco_set(90, seed=4)
    cats = [c["id"] for c in gt["categories"]][::4]
    imgs = list(range(1, 91, 3))
    assert_same(gt, dts, cat_ids=cats, img_ids=imgs)
    assert_same(gt, dts, "segm", cat_ids=cats, img_ids=imgs)


def test_reference_set_boxes_and_masks(shared_data: Path) -> None:
    gt = json.loads((shared_data / "coco_tiny" / "gt_dataset.json").read_text())
    dts = json.loads((shared_data / "coco_tiny" / "dt_dataset.json").read_text())
    assert_same(gt, dts)
    assert_same(gt, dts, "segm")


def test_inputs_are_not_modified() -> None:
    gt, dts = coco_set(20, seed=6)
    masks = mask_results(gt, dts)
    before = json.dumps([gt, dts, masks])
    coco_evaluate(gt, dts)
    coco_evaluate(gt, masks, "segm")
    assert json.dumps([gt, dts, masks]) == before


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_images=st.integers(1, 10), per_image=st.integers(0, 30))
def test_random_small_sets_equal_pycocotools(seed: int, n_images: int, per_image: int) -> None:
    gt, dts = coco_set(n_images, seed=seed, dets_per_image=per_image)
    if dts:  # pycocotools cannot take an empty result list
        assert_same(gt, dts)


def test_matching_in_small_steps_gives_the_same_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    from visual_rewards.evaluation import lvis as engine

    gt, dts = coco_set(40, seed=8)
    monkeypatch.setattr(engine, "_STEP_CELLS", 1)  # one pair per matching step
    assert_same(gt, dts)


def test_a_missing_field_is_named() -> None:
    gt, dts = coco_set(5, seed=9)
    del gt["annotations"][0]["area"]
    with pytest.raises(ValueError, match="every annotation needs the 'area' field"):
        coco_evaluate(gt, dts)
    gt, dts = coco_set(5, seed=9)
    del dts[3]["score"]
    with pytest.raises(ValueError, match="every detection needs the 'score' field"):
        coco_evaluate(gt, dts)
