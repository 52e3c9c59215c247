"""LVIS evaluation equals lvis-api (the judge) array for array: precision, recall, 13 stats.

lvis-api is used unchanged; under numpy 2 it needs ``np.float``, patched here only.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from detection_sets import lvis_set
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visual_rewards.evaluation import lvis_evaluate
from visual_rewards.evaluation.lvis import box_evaluate

lvis_api = pytest.importorskip("lvis")
pytestmark = pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated:DeprecationWarning")


@pytest.fixture(autouse=True)
def _np_float(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(np, "float", float, raising=False)  # lvis-api predates numpy 2
    logging.getLogger("lvis").setLevel(logging.ERROR)


def judge(
    gt: dict[str, Any],
    dts: list[dict[str, Any]],
    cat_ids: list[int] | None = None,
    img_ids: list[int] | None = None,
) -> Any:
    """lvis-api's LVISEval on copies (it writes into both inputs)."""
    lvis_gt = lvis_api.LVIS.__new__(lvis_api.LVIS)
    lvis_gt.logger = logging.getLogger("lvis")
    lvis_gt.dataset = copy.deepcopy(gt)
    lvis_gt._create_index()
    ev = lvis_api.LVISEval(lvis_gt, copy.deepcopy(dts), "bbox")
    if cat_ids is not None:
        ev.params.cat_ids = cat_ids
    if img_ids is not None:
        ev.params.img_ids = img_ids
    ev.run()
    return ev


def assert_same(gt: dict[str, Any], dts: list[dict[str, Any]], **subset: Any) -> None:
    theirs = judge(gt, dts, **subset)
    ours = box_evaluate(gt, dts, federated=True, max_dets=(300,), **subset)
    assert np.array_equal(ours.precision[..., 0], theirs.eval["precision"])
    assert np.array_equal(ours.recall[..., 0], theirs.eval["recall"])
    stats = lvis_evaluate(gt, dts, **subset).stats
    assert stats == {k: float(v) for k, v in theirs.results.items()}


def test_synthetic_set_equals_lvis_api() -> None:
    gt, dts = lvis_set(120, seed=11, n_cats=150)
    per_image = np.bincount([d["image_id"] for d in dts])
    assert per_image.max() > 300  # the per-image limit applies
    assert any(d["bbox"][2] * d["bbox"][3] <= 0 for d in dts)  # dropped through area > 0
    assert any(a["iscrowd"] for a in gt["annotations"])  # ignored by lvis-api
    assert len({d["score"] for d in dts}) < len(dts) / 10  # many ties
    assert_same(gt, dts)
    stats = lvis_evaluate(gt, dts).stats
    assert 0.01 < stats["AP"] < 0.9 and stats["APr"] > -1 and stats["APf"] > -1


def test_ignore_flags_zero_area_ground_truth_and_id_zero() -> None:
    gt, dts = lvis_set(60, seed=4, n_cats=60)
    anns = gt["annotations"]
    for a in anns[::9]:
        a["ignore"] = 1
    for a in anns[5::17]:
        a["area"] = 0.0  # left out by lvis-api (0 < area), and so not "present"
    anns[3]["id"] = 0  # a match to ground truth id 0 reads as no match
    assert_same(gt, dts)


def test_category_and_image_subsets_equal_lvis_api() -> None:
    gt, dts = lvis_set(80, seed=5, n_cats=80)
    cats = sorted({a["category_id"] for a in gt["annotations"]})[::3]
    imgs = list(range(1, 81, 2))
    assert_same(gt, dts, cat_ids=cats, img_ids=imgs)


def test_reference_set_with_noisy_detections(shared_data: Path) -> None:
    gt = json.loads((shared_data / "lvis_tiny" / "lvis_val_100.json").read_text())
    rng = np.random.default_rng(0)
    dts = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "bbox": [v + float(rng.normal(0, 4)) for v in a["bbox"]],
            "score": round(float(rng.random()), 1),
        }
        for a in gt["annotations"]
        for _ in range(2)
    ]
    assert_same(gt, dts)


def test_inputs_are_not_modified() -> None:
    gt, dts = lvis_set(20, seed=6, n_cats=30)
    before = json.dumps([gt, dts])
    lvis_evaluate(gt, dts)
    assert json.dumps([gt, dts]) == before


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_images=st.integers(1, 12))
def test_random_small_sets_equal_lvis_api(seed: int, n_images: int) -> None:
    gt, dts = lvis_set(n_images, seed=seed, dets_per_image=40, n_cats=12)
    if dts:  # lvis-api cannot take an empty result list
        assert_same(gt, dts)
