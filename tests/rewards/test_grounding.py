"""GroundingReward: reference equality, the flipped-box hole, options."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
import reference_rewards as ref
from hypothesis import given, settings
from hypothesis import strategies as st

from visual_rewards import GroundingReward
from visual_rewards.rewards import get_reward

THINK = "<think>The mug left of the laptop is the one to pick up.</think>"
GT = [100, 200, 300, 400]


def make_case(rng: random.Random) -> tuple[str, list[int]]:
    x1, y1 = rng.randint(0, 700), rng.randint(0, 700)
    gt = [x1, y1, x1 + rng.randint(10, 300), y1 + rng.randint(10, 300)]
    items = []
    for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
        if rng.random() < 0.6:
            box = [v + rng.randint(-40, 40) for v in gt]
        else:
            a, b = rng.randint(0, 900), rng.randint(0, 900)
            box = [a, b, a + rng.randint(-50, 200), b + rng.randint(-50, 200)]
        items.append("{'Position': [" + ", ".join(map(str, box)) + "], 'Confidence': 0.9}")
    answer = "[" + ", ".join(items) + "]" if items else rng.choice(["No Objects", "nothing here"])
    r = rng.random()
    completion = THINK + "<answer>" + answer + "</answer>" if r > 0.1 else "<answer>" + answer
    return completion, gt


@pytest.mark.parametrize("preset", ["default", "visual_rft"])
def test_equals_reference(preset: str) -> None:
    rng = random.Random(11)
    cases = [make_case(rng) for _ in range(10_000)]
    # the lenient reader (the released reader is judged in test_visual_rft_parity)
    reader = {"answer_reader": "lenient"} if preset == "visual_rft" else {}
    res = GroundingReward(preset, **reader).score([c for c, _ in cases], [g for _, g in cases])
    for k, (c, g) in enumerate(cases):
        want = ref.grounding(c, tuple(g), preset)  # type: ignore[arg-type]
        assert res.components["iou"][k] == pytest.approx(want["iou"], abs=1e-12), (k, c, g)
        assert res.components["format"][k] == want["format"]


def test_hole_flipped_box_earns_nothing() -> None:
    flipped = THINK + "<answer>(1000,1000),(0,0)</answer>"
    correct = THINK + "<answer>(100,200),(300,400)</answer>"
    for preset, perfect in (("default", 2.0), ("visual_rft", 3.0)):
        res = GroundingReward(preset).score([flipped, correct], [GT, GT])
        assert res.components["iou"][0] == 0.0
        assert res.total[1] == pytest.approx(perfect)
        assert res.total[0] < res.total[1]


def test_ranges() -> None:
    far = THINK + "<answer>[900, 900, 1000, 1000]</answer>"
    near = THINK + "<answer>[100, 200, 300, 420]</answer>"
    iou = GroundingReward().score([far, near], [GT, GT]).components["iou"]
    giou = GroundingReward(metric="giou").score([far, near], [GT, GT]).components["iou"]
    paper_lenient = GroundingReward("visual_rft", answer_reader="lenient")
    g1 = paper_lenient.score([far, near], [GT, GT]).components["iou"]
    assert iou[0] == 0 and 0 < giou[0] < 0.5 and 0 < g1[0] < 1
    assert giou[1] == pytest.approx((g1[1]) / 2) and iou[1] == pytest.approx(
        200 * 200 / (200 * 220)
    )


def test_multiple_boxes() -> None:
    text = THINK + "<answer>[[700, 700, 800, 800], [100, 200, 300, 400], [0, 0, 10, 10]]</answer>"
    assert GroundingReward().score([text], [GT]).components["iou"][0] == 0.0  # the worst
    assert GroundingReward(multiple="first").score([text], [GT]).components["iou"][0] == 0.0
    both = THINK + "<answer>[[100, 200, 300, 400], [100, 200, 300, 400]]</answer>"
    assert GroundingReward().score([both], [GT]).components["iou"][0] == 1.0
    assert GroundingReward(multiple="best").score([text], [GT]).components["iou"][0] == 1.0
    first_good = THINK + "<answer>[[100, 200, 300, 400], [5, 5, 1, 1]]</answer>"
    pen = GroundingReward(multiple="penalize").score([first_good], [GT]).components["iou"][0]
    assert pen == 0.5  # two boxes written (one invalid)
    # several ground-truth boxes: scored against the best-overlapping one
    two = [[700, 700, 800, 800], [100, 200, 300, 400]]
    assert (
        GroundingReward().score([THINK + "<answer>[100, 200, 300, 400]</answer>"], [two]).total[0]
        == 2.0
    )


def test_malformed_ground_truth() -> None:
    text = THINK + "<answer>[100, 200, 300, 400]</answer>"
    with pytest.warns(UserWarning, match="row 1"):
        res = GroundingReward().score([text, text, text], [GT, "No Objects", GT])
    assert np.isnan(res.total[1]) and np.isfinite(res.total[[0, 2]]).all()
    with pytest.raises(ValueError, match="row 0"):
        GroundingReward(strict=True).score([text], [[5, 5, 1, 1]])


def test_pixel_ground_truth_with_qwen25vl_predictions() -> None:
    # Qwen2.5-VL writes pixels of the resized image; the dataset's box is in original pixels.
    w, h = 640, 480  # smart_resize -> (476, 644): width 644, height 476
    text = (
        THINK
        + '<answer>```json\n[{"bbox_2d": [64.4, 47.6, 322, 238], "label": "mug"}]\n```</answer>'
    )
    r = GroundingReward(coords="qwen25vl", gt_coords="pixel")
    res = r.score([text], [[64, 48, 320, 240]], image_size=[(w, h)])
    assert res.components["iou"][0] == pytest.approx(1.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=1, max_size=5))
def test_never_raises_and_stays_in_range(comps: list[str]) -> None:
    for preset, hi in (("default", 1.0), ("visual_rft", 2.0)):
        res = GroundingReward(preset).score(comps, [GT] * len(comps))
        v = res.components["iou"]
        assert np.isfinite(v).all() and ((v >= 0) & (v <= hi)).all()


def test_registry_and_trl_call() -> None:
    r = get_reward("grounding", "visual_rft")
    assert r.__name__ == "grounding_visual_rft"
    out = r(
        prompts=["p"],
        completions=[
            [{"role": "assistant", "content": THINK + "<answer>(100,200),(300,400)</answer>"}]
        ],
        solution=[GT],
    )
    assert out == [pytest.approx(3.0)]


def test_real_grpo_log_agrees_with_its_logged_iou(shared_data: Path) -> None:
    """A real Qwen2.5-VL GRPO log (VLM-R1 REC): wherever the logged IoU reward is positive,
    the default preset scoring the first box as that trainer did (IoU in the log's pixel
    space) gives the same number."""
    text = (shared_data / "model_outputs/vlmr1_rec_qwen2.5vl3b_grpo_debug.txt").read_text("utf-8")
    parts = re.split(r"^-{13} \S+ ((?:Accuracy|Length) reward: \S+) -{13}\n", text, flags=re.M)
    logged, comps, sols = [], [], []
    for head, body in zip(parts[1::2], parts[2::2], strict=True):
        m = re.search(r"\nSolution: ([^\n]*)\n?$", body)
        if not head.startswith("Accuracy") or m is None:
            continue
        logged.append(float(head.split(": ")[1]))
        comps.append(body[len("Content: ") : m.start()])
        sols.append(json.loads(m.group(1)))
    assert len(comps) > 200
    res = GroundingReward(coords="pixel", multiple="first").score(
        comps, sols, image_size=[(10**5, 10**5)] * len(comps)
    )
    iou = res.components["iou"]
    assert np.isfinite(iou).all()
    positive = np.array(logged) > 0
    assert positive.sum() >= 50
    np.testing.assert_allclose(iou[positive], np.array(logged)[positive], rtol=0, atol=1e-9)
