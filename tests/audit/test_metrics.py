"""The audit's metrics: per-image AP equals pycocotools' COCOeval; the other readers."""

from __future__ import annotations

import numpy as np
import pytest

from visual_rewards.audit.metrics import MetricContext, image_ap, stated_count, task_metric


def _coco_ap(pred, scores, gt, pred_cls, gt_cls) -> float:
    from visual_rewards.evaluation import coco_evaluate

    cats = sorted(set(gt_cls) | set(pred_cls))
    cid = {c: i + 1 for i, c in enumerate(cats)}
    data = {
        "images": [{"id": 1, "width": 1000, "height": 1000}],
        "categories": [{"id": cid[c], "name": c} for c in cats],
        "annotations": [
            {
                "id": k + 1,
                "image_id": 1,
                "category_id": cid[c],
                "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
                "area": (b[2] - b[0]) * (b[3] - b[1]),
                "iscrowd": 0,
            }
            for k, (b, c) in enumerate(zip(gt, gt_cls, strict=True))
        ],
    }
    dets = [
        {
            "image_id": 1,
            "category_id": cid[c],
            "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
            "score": s,
        }
        for b, s, c in zip(pred, scores, pred_cls, strict=True)
    ]
    return coco_evaluate(data, dets).stats["AP"]


def _random_case(rng: np.random.Generator) -> tuple:
    n_gt = int(rng.integers(1, 5))
    gt = []
    for _ in range(n_gt):
        x, y = rng.uniform(0, 700, 2)
        w, h = rng.uniform(30, 300, 2)
        gt.append([x, y, x + w, y + h])
    pred = []
    for _ in range(int(rng.integers(0, 8))):
        if gt and rng.random() < 0.6:  # near a ground-truth box
            b = np.array(gt[int(rng.integers(len(gt)))])
            pred.append((b + rng.normal(0, rng.choice([2.0, 10.0, 30.0]), 4)).tolist())
        else:
            x, y = rng.uniform(0, 800, 2)
            pred.append([x, y, x + rng.uniform(10, 200), y + rng.uniform(10, 200)])
    pred = [[min(b[0], b[2] - 1), min(b[1], b[3] - 1), b[2], b[3]] for b in pred]
    # ties in confidence, as models write them (one decimal)
    scores = np.round(rng.uniform(0, 1, len(pred)), 1).tolist()
    classes = ["cat", "dog"] if rng.random() < 0.5 else ["cat"]
    gt_cls = [str(rng.choice(classes)) for _ in gt]
    pred_cls = [str(rng.choice(classes)) for _ in pred]
    return pred, scores, gt, pred_cls, gt_cls


def test_image_ap_equals_cocoeval_on_per_image_cases() -> None:
    pytest.importorskip("pycocotools")
    rng = np.random.default_rng(0)
    for _ in range(300):
        pred, scores, gt, pred_cls, gt_cls = _random_case(rng)
        ours = image_ap(np.array(pred).reshape(-1, 4), scores, gt, pred_cls, gt_cls)
        assert ours == pytest.approx(_coco_ap(pred, scores, gt, pred_cls, gt_cls), abs=1e-12)


def test_image_ap_ranks_false_positives() -> None:
    gt = [[0, 0, 100, 100], [200, 200, 300, 300]]
    one = image_ap([[0, 0, 100, 100]], [0.5], gt)
    trailing_junk = image_ap([[0, 0, 100, 100], [500, 500, 510, 510]], [0.5, 0.0], gt)
    leading_junk = image_ap([[0, 0, 100, 100], [500, 500, 510, 510]], [0.5, 0.6], gt)
    assert one == trailing_junk == pytest.approx(0.5, abs=0.01)
    assert leading_junk < one
    assert image_ap(np.zeros((0, 4)), [], np.zeros((0, 4))) == 1.0
    assert image_ap([[0, 0, 1, 1]], [1.0], np.zeros((0, 4))) == 0.0


@pytest.mark.parametrize(
    ("answer", "count"),
    [("3", 3), ("Three.", 3), ("there are 3 dogs", 3), ("twenty-one", 21), ("none", 0), ("３", 3)],
)
def test_stated_count_reads_plain_answers(answer: str, count: int) -> None:
    assert stated_count(answer) == count


@pytest.mark.parametrize(
    "answer", ["not 3", "3 or 4", "about 3", "2-3", "2 3 4", "3.5", "", "many"]
)
def test_stated_count_refuses_hedges(answer: str) -> None:
    assert stated_count(answer) is None


def test_task_metric_per_task() -> None:
    c = lambda a: f"<think>x</think><answer>{a}</answer>"  # noqa: E731
    det = MetricContext.for_reward("detection", None)
    sol = "<answer>[{'Position': [100, 100, 400, 400], 'Confidence': 1}]</answer>"
    got = task_metric(
        [c("[{'Position': [100, 100, 400, 400], 'Confidence': 0.2}]"), c("No Objects")],
        [sol, sol],
        det,
    )
    assert got.tolist() == pytest.approx([1.0, 0.0])
    grd = MetricContext.for_reward("grounding", None)
    got = task_metric(
        [c("[100, 100, 400, 400]"), c("[[0, 0, 50, 50], [100, 100, 400, 400]]")],
        [[100, 100, 400, 400]] * 2,
        grd,
    )
    assert got.tolist() == [1.0, 0.0]
    cls = MetricContext.for_reward("classification", None)
    got = task_metric(
        [c("Boeing 737-800"), c(""), "<answer>Boeing 737-800"], ["Boeing 737-800"] * 3, cls
    )
    assert got.tolist() == [1.0, 0.0, 0.0]
    pts = MetricContext.for_reward("pointing", None)
    got = task_metric(
        [c("(250, 250)"), c("[[250, 250], [700, 700]]"), c("")], [[100, 100, 400, 400]] * 3, pts
    )
    assert got.tolist() == [1.0, 0.5, 0.0]
    assert np.isnan(
        task_metric([c("3")], ["not a count"], MetricContext.for_reward("counting", None))[0]
    )
