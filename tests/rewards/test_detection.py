"""DetectionReward: equality with the plain-Python reference, properties, and known holes."""

from __future__ import annotations

import math
import pickle
import random
import warnings
from typing import Any

import numpy as np
import pytest
import reference_rewards as ref
from hypothesis import given, settings
from hypothesis import strategies as st

from visual_rewards import DetectionReward
from visual_rewards.rewards import get_reward

THINK = "<think>The image shows a dog near the left edge and another one by the tree.</think>"


def vrft_item(box: list[Any], conf: Any = None, label: str | None = None, q: str = "'") -> str:
    parts = [f"{q}Position{q}: [{', '.join(str(v) for v in box)}]"]
    if conf is not None:
        parts.append(f"{q}Confidence{q}: {conf}")
    if label is not None:
        parts.append(f"{q}label{q}: {q}{label}{q}")
    return "{" + ", ".join(parts) + "}"


def vrft_answer(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def paper_gt(boxes: list[list[int]]) -> str:
    if not boxes:
        return "<answer>No Objects</answer>"
    return "<answer>" + vrft_answer([vrft_item(b, 1) for b in boxes]) + "</answer>"


def rand_box(rng: random.Random) -> list[int]:
    x1, y1 = rng.randint(0, 900), rng.randint(0, 900)
    return [x1, y1, x1 + rng.randint(5, 300), y1 + rng.randint(5, 300)]


def jitter(rng: random.Random, box: list[int], amount: int) -> list[int]:
    return [v + rng.randint(-amount, amount) for v in box]


def make_case(rng: random.Random, labels: bool = False) -> tuple[str, Any]:
    """One generated (completion, solution) pair: mostly well-formed, some deliberately not."""
    n_gt = rng.choice([0, 1, 1, 2, 2, 3, 4, 5]) if rng.random() < 0.9 else 0
    gt = [rand_box(rng) for _ in range(n_gt)]
    classes = ["dog", "cat", "red car"]
    gt_labels = [rng.choice(classes) for _ in gt]
    items: list[str] = []
    for _ in range(rng.randint(0, 10)):
        roll = rng.random()
        if gt and roll < 0.55:
            box = jitter(rng, rng.choice(gt), rng.choice([0, 3, 10, 30, 60]))
        elif roll < 0.6 and items:
            items.append(rng.choice(items))  # exact duplicate
            continue
        elif roll < 0.63:
            b = rand_box(rng)
            box = [b[2], b[1], b[0], b[3]]  # flipped
        elif roll < 0.65:
            box = [1100, 1100, 1200, 1300]  # outside the image
        else:
            box = rand_box(rng)
        r = rng.random()
        if r < 0.08:
            conf: Any = None
        elif r < 0.11:
            conf = rng.choice([1.5, -0.25, 2, "NaN"])
        else:
            conf = round(rng.random(), 2)
        label = None
        if labels and rng.random() < 0.8:
            label = rng.choice(classes + gt_labels)
        items.append(vrft_item(box, conf, label, q=rng.choice("'\"")))
    r = rng.random()
    if not items:
        answer = rng.choice(["No Objects", "[]", "['No Objects']", "There is nothing."])
    elif r < 0.02:
        answer = "I think there are " + str(len(items)) + " dogs"
    else:
        answer = vrft_answer(items)
    r = rng.random()
    if r < 0.05:
        completion = "<answer>" + answer + "</answer>"  # no think
    elif r < 0.08:
        completion = THINK + "<answer>" + answer  # truncated (never closed)
    elif r < 0.10:
        completion = "Sure! " + THINK + "<answer>" + answer + "</answer>"
    elif r < 0.12:
        completion = answer
    else:
        completion = THINK + rng.choice(["", " ", "\n"]) + "<answer>" + answer + "</answer>"
    if labels and gt and rng.random() < 0.7:
        return completion, {"boxes": gt, "labels": gt_labels}
    return completion, paper_gt(gt)


@pytest.fixture(scope="module")
def cases() -> list[tuple[str, Any]]:
    rng = random.Random(20250301)
    return [make_case(rng) for _ in range(12_000)]


@pytest.fixture(scope="module")
def labelled_cases() -> list[tuple[str, Any]]:
    rng = random.Random(7)
    return [make_case(rng, labels=True) for _ in range(3_000)]


# ---------------------------------------------------------------------------------------------
# Equality with the reference
# ---------------------------------------------------------------------------------------------


def test_visual_rft_equals_reference_exactly(cases: list[tuple[str, Any]]) -> None:
    comps = [c for c, _ in cases]
    sols = [s for _, s in cases]
    # the lenient reader with the paper's formulas (the released reader: test_visual_rft_parity)
    res = DetectionReward("visual_rft", answer_reader="lenient").score(comps, sols)
    for k, (c, s) in enumerate(cases):
        want = ref.visual_rft(c, s)
        got = {key: float(res.components[key][k]) for key in ("iou", "confidence", "format")}
        assert got == want, (k, c, s)
    assert np.array_equal(
        res.total, res.components["iou"] + res.components["confidence"] + res.components["format"]
    )


def test_default_equals_reference(cases: list[tuple[str, Any]]) -> None:
    comps = [c for c, _ in cases]
    sols = [s for _, s in cases]
    res = DetectionReward().score(comps, sols)
    for k, (c, s) in enumerate(cases):
        want = ref.default(c, s)
        for key in ("iou", "confidence", "format"):
            assert abs(res.components[key][k] - want[key]) <= 1e-12, (k, key, c, s)


def test_default_class_aware_and_brier_equal_reference(
    labelled_cases: list[tuple[str, Any]],
) -> None:
    comps = [c for c, _ in labelled_cases]
    sols = [s for _, s in labelled_cases]
    for rule in ("linear", "brier"):
        res = DetectionReward(confidence_rule=rule).score(comps, sols)
        for k, (c, s) in enumerate(labelled_cases):
            want = ref.default(c, s, rule=rule)
            for key in ("iou", "confidence"):
                assert abs(res.components[key][k] - want[key]) <= 1e-12, (rule, k, key, c, s)


def test_released_algorithm_on_a_worked_example() -> None:
    # Two GT boxes; three predictions, one an exact duplicate, one a false positive.
    gt = paper_gt([[100, 100, 200, 200], [300, 300, 400, 400]])
    ans = vrft_answer(
        [
            vrft_item([100, 100, 200, 210], 0.9),
            vrft_item([100, 100, 200, 210], 0.8),  # duplicate: removed
            vrft_item([600, 600, 700, 700], 0.3),  # false positive
        ]
    )
    res = DetectionReward("visual_rft").score([THINK + "<answer>" + ans + "</answer>"], [gt])
    iou = 100 * 100 / (100 * 110)
    assert res.components["iou"][0] == iou / 2  # Σ IoU / max(G=2, P=2)
    assert res.components["confidence"][0] == (0.9 + (1 - 0.3)) / 2
    assert res.components["format"][0] == 1.0


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


@pytest.mark.parametrize("preset", ["default", "visual_rft"])
def test_batch_equals_loop_of_single_calls(preset: str, cases: list[tuple[str, Any]]) -> None:
    sub = cases[:600]
    r = DetectionReward(preset)
    batch = r.score([c for c, _ in sub], [s for _, s in sub])
    for k, (c, s) in enumerate(sub):
        one = r.score([c], [s])
        for key in ("iou", "confidence", "format"):
            assert _same(one.components[key], batch.components[key][k : k + 1]), (k, key)
        assert one.parse_failed[0] == batch.parse_failed[k]


@pytest.mark.parametrize("preset", ["default", "visual_rft"])
def test_batch_with_many_large_rows_equals_single_calls(preset: str) -> None:
    rng = random.Random(9)
    comps, sols = [], []
    for k in range(80):
        gt = [rand_box(rng) for _ in range(rng.randint(1, 5))]
        n = rng.choice([3, 40, 90, 33, 70]) if k % 3 else rng.randint(33, 120)
        items = [
            vrft_item(
                jitter(rng, rng.choice(gt), 20) if rng.random() < 0.3 else rand_box(rng),
                round(rng.random(), 2),
            )
            for _ in range(n)
        ]
        comps.append(THINK + "<answer>" + vrft_answer(items) + "</answer>")
        sols.append(paper_gt(gt))
    r = DetectionReward(preset, max_boxes=None if preset == "visual_rft" else 200)
    batch = r.score(comps, sols)
    for k in range(len(comps)):
        one = r.score(comps[k : k + 1], sols[k : k + 1])
        assert _same(one.total, batch.total[k : k + 1]), k
        if preset == "visual_rft":
            want = ref.visual_rft(comps[k], sols[k])
            assert float(batch.components["iou"][k]) == want["iou"]


def test_prediction_order_does_not_change_the_default_reward(
    cases: list[tuple[str, Any]],
) -> None:
    rng = random.Random(3)
    r = DetectionReward()
    originals, shuffled, sols = [], [], []
    for c, s in cases[:3000]:
        ans = ref.split_answer(c)
        if ans is None or not ans.startswith("[{"):
            continue
        items = ans[1:-1].split("}, {")
        if len(items) < 2:
            continue
        items = [
            ("" if it.startswith("{") else "{") + it + ("" if it.endswith("}") else "}")
            for it in items
        ]
        rng.shuffle(items)
        originals.append(c)
        shuffled.append(c.replace(ans, "[" + ", ".join(items) + "]"))
        sols.append(s)
    assert len(originals) > 500
    a = r.score(originals, sols)
    b = r.score(shuffled, sols)
    for key in ("iou", "confidence"):
        np.testing.assert_allclose(a.components[key], b.components[key], rtol=0, atol=1e-12)


numbers = st.one_of(
    st.integers(-50, 1100),
    st.floats(-10, 1100),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.sampled_from(["NaN", "1e999", "true", "'7'", ""]),
)
item = st.builds(
    lambda box, conf: (
        "{'Position': [" + ", ".join(map(str, box)) + "], 'Confidence': " + str(conf) + "}"
    ),
    st.lists(numbers, min_size=3, max_size=5),
    numbers,
)
answer = st.one_of(
    st.lists(item, max_size=6).map(lambda xs: "[" + ", ".join(xs) + "]"),
    st.text(max_size=60),
    st.sampled_from(["No Objects", "[]", "(1,2),(3,4)", "[1, 2, 3, 4]", "[[0,0,1000,1000]]"]),
)
completion = st.builds(
    lambda pre, ans, post: pre + "<answer>" + ans + post,
    st.sampled_from(["", THINK, "<think></think>", "x"]),
    answer,
    st.sampled_from(["</answer>", "", "</answer> trailing"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(completion, min_size=1, max_size=6), st.integers(0, 4), st.integers(0, 99))
def test_every_component_finite_and_in_range(comps: list[str], n_gt: int, seed: int) -> None:
    rng = random.Random(seed)
    gt = paper_gt([rand_box(rng) for _ in range(n_gt)])
    for preset in ("default", "visual_rft"):
        for rule in ("linear", "brier"):
            # (brier is not the released formula: visual_rft then needs the lenient reader)
            reader = (
                {"answer_reader": "lenient"} if (preset, rule) == ("visual_rft", "brier") else {}
            )
            res = DetectionReward(preset, confidence_rule=rule, **reader).score(
                comps, [gt] * len(comps)
            )
            for key, v in res.components.items():
                assert np.isfinite(v).all(), (preset, key)
                assert ((v >= 0) & (v <= 1)).all(), (preset, key)
            assert np.isfinite(res.total).all()


# ---------------------------------------------------------------------------------------------
# Every known hole that concerns boxes, as a regression test
# ---------------------------------------------------------------------------------------------

GT = paper_gt([[100, 200, 300, 400]])
CORRECT = THINK + "<answer>" + vrft_answer([vrft_item([100, 200, 300, 400], 0.95)]) + "</answer>"


def _total(completion: str, solution: Any = GT, preset: str = "default") -> float:
    return float(DetectionReward(preset).score([completion], [solution]).total[0])


def test_hole_math_verify_shortcut_shared_number() -> None:
    # The released code paid 1.0 when any number of the answer equalled one of the ground truth.
    for adversarial in (
        THINK + "<answer>100</answer>",
        THINK + "<answer>" + vrft_answer([vrft_item([100, 0, 120, 20], 1)]) + "</answer>",
    ):
        r = DetectionReward().score([adversarial], [GT])
        assert r.components["iou"][0] == 0.0
        assert _total(adversarial) < _total(CORRECT)


def test_hole_wrong_box_with_confidence_zero() -> None:
    adversarial = (
        THINK + "<answer>" + vrft_answer([vrft_item([700, 700, 800, 800], 0)]) + "</answer>"
    )
    assert _total(adversarial) < _total(CORRECT)
    # ... and with a missed ground truth the confidence reward itself is not full.
    two = paper_gt([[100, 200, 300, 400], [500, 500, 600, 600]])
    r = DetectionReward().score([adversarial], [two])
    assert r.components["confidence"][0] == 0.0  # a wrong box earns no confidence credit


def test_hole_nan_confidence() -> None:
    for conf in ("NaN", None):
        adversarial = (
            THINK + "<answer>" + vrft_answer([vrft_item([100, 200, 300, 400], conf)]) + "</answer>"
        )
        for preset in ("default", "visual_rft"):
            r = DetectionReward(preset).score([adversarial], [GT])
            assert np.isfinite(r.total).all() and np.isfinite(r.components["confidence"]).all()
        assert _total(adversarial) < _total(CORRECT)


def test_hole_apostrophe_and_newline_parse() -> None:
    gt = {"boxes": [[100, 200, 300, 400]], "labels": ["person's hat"]}
    good = (
        THINK
        + "<answer>[\n  {'Position': [100, 200, 300, 400], 'Confidence': 0.95, 'label': 'person's hat'},\n]</answer>"
    )
    r = DetectionReward().score([good], [gt])
    assert r.components["iou"][0] == 1.0
    wrong = (
        THINK
        + "<answer>[{'Position': [100, 200, 300, 400], 'Confidence': 0.95, 'label': 'cat'}]</answer>"
    )
    assert _total(wrong, gt) < _total(good, gt)


def test_hole_junk_boxes_after_the_right_ones() -> None:
    junk = [vrft_item([10 * k, 900, 10 * k + 5, 905], 0.01) for k in range(60)]
    adversarial = (
        THINK
        + "<answer>"
        + vrft_answer([vrft_item([100, 200, 300, 400], 0.95), *junk])
        + "</answer>"
    )
    assert _total(adversarial) < _total(CORRECT)
    assert _total(adversarial, preset="visual_rft") < _total(CORRECT, preset="visual_rft")


def test_hole_box_without_label_does_not_crash() -> None:
    gt = {"boxes": [[100, 200, 300, 400], [500, 500, 600, 600]], "labels": ["dog", "cat"]}
    unlabeled = THINK + "<answer>[{'Position': [100, 200, 300, 400], 'Confidence': 0.9}]</answer>"
    labelled = (
        THINK
        + "<answer>[{'Position': [100, 200, 300, 400], 'Confidence': 0.9, 'label': 'dog'}, "
        + "{'Position': [500, 500, 600, 600], 'Confidence': 0.9, 'label': 'cat'}]</answer>"
    )
    r = DetectionReward().score([unlabeled, labelled], [gt, gt])
    assert np.isfinite(r.total).all()
    assert r.total[0] < r.total[1]


def test_more_than_max_boxes_earns_zero() -> None:
    many = [vrft_item([100, 200, 300, 400], 0.9)] + [vrft_item([1, 1, 2, 2], 0.0)] * 100
    text = THINK + "<answer>" + vrft_answer(many) + "</answer>"
    r = DetectionReward().score([text], [GT])
    assert r.components["iou"][0] == 0.0 and r.components["confidence"][0] == 0.0
    assert DetectionReward(max_boxes=200).score([text], [GT]).components["iou"][0] > 0


def test_duplicates_are_false_positives_in_default() -> None:
    dup = (
        THINK + "<answer>" + vrft_answer([vrft_item([100, 200, 300, 400], 0.95)] * 2) + "</answer>"
    )
    assert _total(dup) < _total(CORRECT)
    assert _total(dup, preset="visual_rft") == _total(CORRECT, preset="visual_rft")


# ---------------------------------------------------------------------------------------------
# Empty answers, ground truth, options
# ---------------------------------------------------------------------------------------------


def test_no_objects() -> None:
    empty_gt = paper_gt([])
    for ans in ("No Objects", "[]", "['No Objects']"):
        text = THINK + f"<answer>{ans}</answer>"
        r = DetectionReward().score([text, text], [empty_gt, GT])
        assert r.components["iou"].tolist() == [1.0, 0.0]
        assert r.components["confidence"].tolist() == [1.0, 0.0]
        v = DetectionReward("visual_rft").score([text], [empty_gt])
        assert v.components["iou"][0] == 0.0  # the released code pays nothing here
    fp = THINK + "<answer>" + vrft_answer([vrft_item([1, 1, 50, 50], 0.2)]) + "</answer>"
    assert _total(fp, empty_gt) < _total(THINK + "<answer>No Objects</answer>", empty_gt)


def test_malformed_ground_truth_gives_none_and_a_warning() -> None:
    r = DetectionReward()
    sols = [GT, "<answer>[{'Position': [300, 200, 100, 400]}]</answer>", 42, {"boxes": [[1, 2, 3]]}]
    with pytest.warns(UserWarning, match="malformed ground truth") as rec:
        res = r.score([CORRECT] * 4, sols)
    messages = [str(w.message) for w in rec]
    for row in (1, 2, 3):
        assert any(f"row {row}: malformed ground truth" in m for m in messages), messages
    assert not any("row 0" in m for m in messages)
    assert np.isfinite(res.total[0]) and np.isnan(res.total[1:]).all()
    assert np.isnan(res.components["iou"][1:]).all()
    with pytest.warns(UserWarning, match="row 1"):
        assert r(prompts=[""] * 2, completions=[CORRECT] * 2, solution=[GT, 42])[1] is None
    with pytest.raises(ValueError, match="row 1"):
        DetectionReward(strict=True).score([CORRECT] * 2, [GT, 42])


def test_ground_truth_forms_agree() -> None:
    forms = [
        GT,
        "[{'Position': [100, 200, 300, 400], 'Confidence': 1}]",
        [[100, 200, 300, 400]],
        [100, 200, 300, 400],
        {"boxes": [[100, 200, 300, 400]]},
        {"boxes": [[0.1, 0.2, 0.3, 0.4]], "coords": "normalized"},
        {"boxes": [[64, 96, 192, 192]], "coords": "pixel", "image_size": (640, 480)},
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = DetectionReward().score([CORRECT] * len(forms), forms)
    np.testing.assert_allclose(res.components["iou"], 1.0, atol=1e-12)


class FakeImage:
    def __init__(self, w: int, h: int) -> None:
        self.size = (w, h)


def test_pixel_coordinates_from_image_size_or_image_column() -> None:
    text = THINK + "<answer>[{'bbox_2d': [64, 96, 192, 192], 'Confidence': 0.9}]</answer>"
    gt = {"boxes": [[100, 200, 300, 400]], "coords": "norm1000"}
    r = DetectionReward(coords="pixel")
    a = r.score([text], [gt], image_size=[(640, 480)])
    b = r.score([text], [gt], image=[FakeImage(640, 480)])
    assert a.components["iou"][0] == pytest.approx(1.0) and _same(a.total, b.total)
    with pytest.raises(ValueError, match="image sizes"):
        r.score([text], [gt])


def test_as_written_iou_when_spaces_differ() -> None:
    # visual_rft computes IoU on the numbers as written; ground truth in another space is converted.
    r = DetectionReward("visual_rft")
    gt = {"boxes": [[0.1, 0.2, 0.3, 0.4]], "coords": "normalized"}
    res = r.score([CORRECT], [gt])
    assert res.components["iou"][0] == pytest.approx(1.0, abs=1e-12)


def test_options_are_validated_and_reward_pickles() -> None:
    with pytest.raises(ValueError, match="matching"):
        DetectionReward(matching="best")
    with pytest.raises(ValueError, match="iou_threshold"):
        DetectionReward(iou_threshold=0.0)
    with pytest.raises(TypeError, match="unknown option"):
        DetectionReward(thresh=0.5)
    r = DetectionReward("visual_rft", format_weight=0.5)
    assert pickle.loads(pickle.dumps(r)) == r
    assert r.__name__ == "detection_visual_rft"
    assert get_reward("detection", "visual_rft") == DetectionReward("visual_rft")
    assert DetectionReward(format_weight=0).score([CORRECT], [GT]).total[0] == pytest.approx(1.95)


def test_conversational_completions() -> None:
    conv = [{"role": "assistant", "content": CORRECT}]
    assert DetectionReward()(prompts=[""], completions=[conv], solution=[GT]) == [
        pytest.approx(2.95)
    ]


def test_threshold_is_inclusive_for_default_and_strict_for_visual_rft() -> None:
    # IoU exactly 0.5: [0,0,100,100] vs [0,0,100,200] (norm1000, area 1e4 / 2e4).
    gt = paper_gt([[0, 0, 100, 200]])
    text = THINK + "<answer>" + vrft_answer([vrft_item([0, 0, 100, 100], 1)]) + "</answer>"
    assert DetectionReward().score([text], [gt]).components["iou"][0] == 0.5
    assert DetectionReward("visual_rft").score([text], [gt]).components["iou"][0] == 0.0
    assert math.isclose(DetectionReward().score([text], [gt]).components["confidence"][0], 1.0)


def test_parse_detections_batch_on_generated_completions(cases: list[tuple[str, Any]]) -> None:
    from batch_check import check_batch

    check_batch([ref.split_answer(c) for c, _ in cases[:3000]])


def test_details_give_parsed_boxes_and_matched_ious() -> None:
    reward = DetectionReward()
    completions = [
        "<think>x</think><answer>[{'Position': [100, 100, 400, 400], 'Confidence': 0.9},"
        " {'Position': [0, 0, 50, 50], 'Confidence': 0.2}]</answer>",
        "<think>x</think><answer>No Objects</answer>",
    ]
    solutions = [[[100, 100, 400, 400]]] * 2
    plain = reward.score(completions, solutions)
    res = reward.score(completions, solutions, details=True)
    assert plain.details == {}
    np.testing.assert_array_equal(res.total, plain.total)
    assert res.details["boxes"] == [[[0.1, 0.1, 0.4, 0.4], [0.0, 0.0, 0.05, 0.05]], []]
    assert res.details["ious"] == [[1.0, 0.0], []]


def test_trl_call_logs_boxes_and_ious_to_the_completions_table() -> None:
    table: dict[str, list[object]] = {}
    out = DetectionReward()(
        prompts=["p", "p"],
        completions=["<think>x</think><answer>[100, 100, 400, 400]</answer>", "nothing"],
        solution=[[[100, 100, 400, 400]]] * 2,
        log_extra=table.__setitem__,
        log_metric=lambda name, value: None,
    )
    assert len(out) == 2
    assert table["detection_default/boxes"] == [[[0.1, 0.1, 0.4, 0.4]], []]
    assert table["detection_default/ious"] == [[1.0], []]


# --------------------------------------------------------------------------------------------
# One label rule: class-aware matching compares labels with geometry.labels.normalize_label
# --------------------------------------------------------------------------------------------

_HOT_DOG_GT = {"boxes": [[100, 100, 300, 300], [500, 500, 700, 700]], "labels": ["hot-dog", "cat"]}


def _labelled(label: str) -> str:
    return (
        THINK
        + "<answer>"
        + vrft_answer([vrft_item([100, 100, 300, 300], 1.0, label)])
        + "</answer>"
    )


def test_hot_dog_label_matches_hot_dog_ground_truth() -> None:
    # "hot-dog" and "hot dog" are one class under normalize_label: IoU 1 on the one box.
    res = DetectionReward().score([_labelled("hot dog"), _labelled("Hot_Dog")], [_HOT_DOG_GT] * 2)
    # one of two ground-truth boxes found exactly: IoU sum 1 over max(G, P) = 2
    assert res.components["iou"].tolist() == [0.5, 0.5]
    single = {"boxes": [[100, 100, 300, 300]], "labels": ["hot-dog"]}
    assert DetectionReward().score([_labelled("hot dog")], [single]).components["iou"][0] == 1.0


def test_class_aware_detection_follows_normalize_label(monkeypatch: pytest.MonkeyPatch) -> None:
    from visual_rewards.geometry import labels

    single = {"boxes": [[100, 100, 300, 300]], "labels": ["cat"]}
    reward = DetectionReward()
    assert reward.score([_labelled("dog")], [single]).components["iou"][0] == 0.0
    monkeypatch.setattr(labels, "normalize_label", lambda text: "same")  # every label one class
    assert reward.score([_labelled("dog")], [single]).components["iou"][0] == 1.0


_LABEL_TEXT = st.text(alphabet="aAbB -_.'é\u00e9\u0301", min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(_LABEL_TEXT, _LABEL_TEXT)
def test_class_aware_match_iff_normalized_labels_agree(pred: str, truth: str) -> None:
    from visual_rewards.geometry.labels import normalize_label

    gt = {"boxes": [[100, 100, 300, 300]], "labels": [truth]}
    iou = DetectionReward().score([_labelled(pred.replace("'", ""))], [gt]).components["iou"][0]
    assert iou == float(normalize_label(pred.replace("'", "")) == normalize_label(truth))


def test_payment_table_in_the_docs_is_current() -> None:
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "benchmarks"))
    try:
        from bench_detection import payment_table
    finally:
        sys.path.remove(str(root / "benchmarks"))
    assert payment_table() in (root / "docs/rewards/detection.md").read_text(encoding="utf-8")
