"""Detection: config validation, the default thresholds, class-aware matching per preset, item
limits, and the format rule of every preset -- the paths no detection test reached.

Expected components come from the plain-Python reference (``tests/support/reference_rewards.py``)
wherever a number is asserted, so these tests follow the reward's documented semantics.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import reference_rewards as ref
import released_visual_rft as released

from visual_rewards import DetectionReward
from visual_rewards.rewards import small_batch

THINK = "<think>two boxes, one dog</think>"


@pytest.fixture(autouse=True, params=["small batch", "array path"])
def _both_paths(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs twice: calls of up to ``SMALL_BATCH_MAX`` rows take the plain-Python
    path of ``small_batch``, so the array path of this module, which larger calls take, is
    checked by a second run with the small path off."""
    if request.param == "array path":
        monkeypatch.setattr(small_batch, "SMALL_BATCH_MAX", 0)


def item(box: list[Any], conf: Any = 0.9, label: str | None = None) -> str:
    tail = "" if label is None else f", 'label': '{label}'"
    return f"{{'Position': [{', '.join(str(v) for v in box)}], 'Confidence': {conf}{tail}}}"


def completion(*items: str, think: str = THINK) -> str:
    return f"{think}<answer>[{', '.join(items)}]</answer>"


def gt(*boxes: list[int]) -> str:
    return "<answer>[" + ", ".join(item(b, 1) for b in boxes) + "]</answer>"


def comps(reward: DetectionReward, texts: list[str], sols: list[Any]) -> dict[str, list[float]]:
    res = reward.score(texts, sols)
    return {k: v.tolist() for k, v in res.components.items()}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"matching": "best"}, "matching must be"),
        ({"iou_threshold": 0.0}, r"iou_threshold must be in \(0, 1\] for hungarian"),
        ({"iou_threshold": 1.01}, r"iou_threshold must be in \(0, 1\] for hungarian"),
        ({"iou_threshold": -0.1}, "for hungarian"),
        ({"matching": "greedy", "iou_threshold": 1.0}, r"in \[0, 1\) for greedy"),
        ({"matching": "greedy", "iou_threshold": -0.01}, r"in \[0, 1\) for greedy"),
        ({"confidence_rule": "log"}, "confidence_rule must be 'linear' or 'brier', got 'log'"),
        ({"confidence_denominator": "all"}, r"confidence_denominator must be one of \("),
        ({"iou_space": "pixels"}, "iou_space must be 'normalized' or 'as_written'"),
        ({"unmatched_confidence": "free"}, r"unmatched_confidence must be one of \("),
        ({"iou_denominator": "predictions"}, r"iou_denominator must be one of \("),
        ({"duplicates": "merge"}, r"duplicates must be one of \("),
        ({"max_boxes": 0}, "max_boxes must be a positive int or None, got 0"),
        ({"max_boxes": -3}, "max_boxes must be a positive int"),
        ({"max_boxes": 2.5}, "max_boxes must be a positive int"),
        ({"format_rule": "loose"}, "format_rule must be one of"),
        ({"coords": "pixels"}, "coords must be one of"),
        ({"gt_coords": "norm100"}, "gt_coords must be one of"),
        ({"iou_weight": -1.0}, "iou_weight must be a finite number >= 0"),
        ({"confidence_weight": float("nan")}, "confidence_weight must be a finite number"),
        (
            {"answer_reader": "strict"},
            r"^answer_reader must be 'lenient' or 'released', got 'strict'$",
        ),
        # the released reader honours only the released code's own options
        (
            {"answer_reader": "released", "matching": "hungarian"},
            "matching='hungarian' needs answer_reader='lenient'",
        ),
        ({"answer_reader": "released", "iou_threshold": 0.3}, "needs answer_reader='lenient'"),
    ],
)
def test_invalid_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DetectionReward(**options)


@pytest.mark.parametrize(
    "options",
    [
        {"iou_threshold": 1.0},
        {"iou_threshold": 1e-9},
        {"matching": "greedy", "iou_threshold": 0.0},
        {"matching": "greedy", "iou_threshold": 0.999},
        {"max_boxes": 1},
        {"max_boxes": None},
        {"confidence_rule": "brier", "confidence_denominator": "predictions"},
        {"confidence_denominator": "max", "iou_denominator": "max"},
        {"unmatched_confidence": "complement", "duplicates": "keep"},
        {"iou_space": "as_written", "gt_coords": "normalized"},
        {"iou_weight": 0, "confidence_weight": 0.0, "format_weight": 2},
    ],
)
def test_valid_options_at_the_edges_are_accepted(options: dict[str, Any]) -> None:
    reward = DetectionReward(**options)
    assert all(getattr(reward.config, k) == v for k, v in options.items())


@pytest.mark.parametrize(
    ("pred", "iou"),
    [
        ([0, 0, 100, 110], 0.55),  # above 0.5: both presets match
        ([0, 0, 100, 100], 0.5),  # exactly 0.5: default (>=) matches, visual_rft (>) does not
        ([0, 0, 100, 90], 0.45),  # below: neither
    ],
)
def test_default_thresholds(pred: list[int], iou: float) -> None:
    solution = gt([0, 0, 100, 200])
    text = completion(item(pred, 1))
    default = DetectionReward().score([text], [solution]).components["iou"][0]
    paper = DetectionReward("visual_rft").score([text], [solution]).components["iou"][0]
    assert default == pytest.approx(iou if iou >= 0.5 else 0.0)
    assert paper == pytest.approx(iou if iou > 0.5 else 0.0)
    assert default == pytest.approx(ref.default(text, solution)["iou"], abs=1e-12)
    assert paper == ref.visual_rft(text, solution)["iou"]
    greedy = DetectionReward(matching="greedy").score([text], [solution]).components["iou"][0]
    assert greedy == pytest.approx(iou if iou > 0.5 else 0.0)


def test_class_aware_per_preset() -> None:
    solution = {"boxes": [[100, 100, 400, 400]], "labels": ["dog"]}
    right = completion(item([100, 100, 400, 400], 0.9, "dog"))
    wrong = completion(item([100, 100, 400, 400], 0.9, "cat"))
    unlabeled = completion(item([100, 100, 400, 400], 0.9))
    default = DetectionReward()
    assert default.config.class_aware
    assert comps(default, [right, wrong, unlabeled], [solution] * 3)["iou"] == [1.0, 0.0, 1.0]
    blind = DetectionReward(class_aware=False)
    assert comps(blind, [right, wrong, unlabeled], [solution] * 3)["iou"] == [1.0, 1.0, 1.0]
    # the paper's code never looks at labels; turning class_aware on changes that
    paper = DetectionReward("visual_rft")
    assert not paper.config.class_aware
    assert comps(paper, [right, wrong], [solution] * 2)["iou"] == [1.0, 1.0]
    # ground truth without labels: every label matches
    plain = gt([100, 100, 400, 400])
    assert comps(default, [wrong], [plain])["iou"] == [1.0]


def test_class_aware_with_greedy_matching() -> None:
    solution = {"boxes": [[100, 100, 400, 400]], "labels": ["dog"]}
    wrong = completion(item([100, 100, 400, 400], 0.9, "cat"))
    for reward in (
        DetectionReward("visual_rft", class_aware=True, answer_reader="lenient"),
        DetectionReward(matching="greedy"),
    ):
        assert comps(reward, [wrong], [solution])["iou"] == [0.0]


def test_several_labelled_rows_in_one_batch() -> None:
    solutions = [
        {"boxes": [[100, 100, 400, 400], [500, 500, 900, 900]], "labels": ["dog", "cat"]},
        gt([100, 100, 400, 400]),
        {"boxes": [[100, 100, 400, 400]], "labels": ["cat"]},
    ]
    texts = [
        completion(item([500, 500, 900, 900], 0.9, "cat"), item([100, 100, 400, 400], 0.8, "dog")),
        completion(item([100, 100, 400, 400], 0.9, "cat")),
        completion(item([100, 100, 400, 400], 0.9, "dog"), item([100, 100, 400, 400], 0.8, "cat")),
    ]
    res = DetectionReward().score(texts, solutions)
    for k, (t, s) in enumerate(zip(texts, solutions, strict=True)):
        want = ref.default(t, s)
        for key in ("iou", "confidence"):
            assert res.components[key][k] == pytest.approx(want[key], abs=1e-12), (k, key)
    assert res.components["iou"][0] == 1.0 and res.components["iou"][1] == 1.0


def test_an_out_of_image_box_followed_by_a_valid_one() -> None:
    solution = gt([100, 200, 300, 400])
    text = completion(item([1100, 1100, 1200, 1300], 0.9), item([100, 200, 300, 400], 0.95))
    res = DetectionReward().score([text], [solution])
    want = ref.default(text, solution)
    assert res.components["iou"][0] > 0.0  # the valid box after it is read
    for key in ("iou", "confidence", "format"):
        assert res.components[key][0] == pytest.approx(want[key], abs=1e-12), key
    # the paper's code scores the box outside the image as an unmatched prediction (1 - c)
    paper = DetectionReward("visual_rft").score([text], [solution])
    iou, conf = released.released_detection(text, solution)
    assert (paper.components["iou"][0], paper.components["confidence"][0]) == (iou, conf)
    assert paper.components["iou"][0] > 0.0


@pytest.mark.parametrize("max_boxes", [1, 3])
def test_exactly_max_boxes_and_one_more(max_boxes: int) -> None:
    boxes = [[100 * k, 0, 100 * k + 50, 50] for k in range(max_boxes + 1)]
    solution = gt(*boxes)
    at_limit = completion(*(item(b, 0.9) for b in boxes[:max_boxes]))
    over = completion(*(item(b, 0.9) for b in boxes))
    res = DetectionReward(max_boxes=max_boxes).score([at_limit, over], [solution] * 2)
    assert res.components["iou"].tolist() == [pytest.approx(max_boxes / (max_boxes + 1)), 0.0]
    assert res.components["confidence"][0] > 0.0 and res.components["confidence"][1] == 0.0
    # an invalid item counts against the limit too
    junk = completion(*(item(b, 0.9) for b in boxes[:max_boxes]), item([5, 5, 1, 1], 0.9))
    assert (
        DetectionReward(max_boxes=max_boxes).score([junk], [solution]).components["iou"][0] == 0.0
    )
    # no limit but the parser's
    free = DetectionReward(max_boxes=None).score([over], [solution]).components["iou"][0]
    assert free == pytest.approx(1.0)


def test_empty_reward_and_failed_answers() -> None:
    empty_gt = "<answer>No Objects</answer>"
    no_objects = f"{THINK}<answer>No Objects</answer>"
    fp = completion(item([1, 1, 50, 50], 0.2))
    res = DetectionReward().score(
        [no_objects, fp, no_objects], [empty_gt, empty_gt, gt([1, 1, 9, 9])]
    )
    assert res.components["iou"].tolist() == [1.0, 0.0, 0.0]
    assert res.components["confidence"].tolist()[0] == 1.0
    off = DetectionReward(empty_reward=False).score([no_objects], [empty_gt])
    assert off.components["iou"][0] == 0.0 and off.components["confidence"][0] == 0.0
    failed = f"{THINK}<answer>I cannot tell</answer>"
    res = DetectionReward().score(
        [failed, completion(item([1, 1, 9, 9], 1))], [gt([1, 1, 9, 9])] * 2
    )
    assert res.parse_failed.tolist() == [True, False]
    assert res.components["iou"].tolist() == [0.0, 1.0]


def test_format_rule_per_preset() -> None:
    solution = gt([100, 200, 300, 400])
    body = "[" + item([100, 200, 300, 400], 0.9) + "]"
    texts = [
        f"<think>a dog</think><answer>{body}</answer>",  # both rules
        f"<think></think><answer>{body}</answer>",  # the paper's regex only (empty think)
        f"<think>a</think><answer>{body}</answer><answer>No Objects</answer>",  # paper only
        f"Sure! <think>a</think><answer>{body}</answer>",  # neither
    ]
    strict, paper = [1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0]
    for preset in ("default", "visual_rft"):
        for rule, want in (("strict", strict), ("visual_rft", paper)):
            reward = DetectionReward(preset, format_rule=rule)
            assert reward.score(texts, [solution] * 4).components["format"].tolist() == want
    assert DetectionReward("visual_rft").config.format_rule == "visual_rft"
    assert DetectionReward().config.format_rule == "strict"


def test_weights_and_total() -> None:
    solution = gt([100, 200, 300, 400])
    text = completion(item([100, 200, 300, 400], 0.75))
    res = DetectionReward(iou_weight=2.0, confidence_weight=0.5, format_weight=0.0).score(
        [text], [solution]
    )
    iou, conf = res.components["iou"][0], res.components["confidence"][0]
    assert (iou, conf, res.components["format"][0]) == (1.0, 0.75, 1.0)
    assert res.total[0] == pytest.approx(2.0 + 0.375)


def test_brier_rule_and_prediction_denominator() -> None:
    solution = gt([100, 200, 300, 400], [500, 500, 900, 900])
    text = completion(item([100, 200, 300, 400], 0.75), item([0, 0, 50, 50], 0.25))
    for rule in ("linear", "brier"):
        res = DetectionReward(confidence_rule=rule).score([text], [solution])
        want = ref.default(text, solution, rule=rule)
        assert res.components["confidence"][0] == pytest.approx(want["confidence"], abs=1e-12)
    linear = DetectionReward().score([text], [solution]).components["confidence"][0]
    brier = (
        DetectionReward(confidence_rule="brier")
        .score([text], [solution])
        .components["confidence"][0]
    )
    assert linear != brier


def test_duplicate_rules() -> None:
    solution = gt([100, 200, 300, 400])
    dup = completion(item([100, 200, 300, 400], 0.9), item([100, 200, 300, 400], 0.9))
    one = completion(item([100, 200, 300, 400], 0.9))

    def iou(text: str, **options: Any) -> float:
        return float(DetectionReward(**options).score([text], [solution]).components["iou"][0])

    assert DetectionReward().config.duplicates == "invalid"
    assert DetectionReward("visual_rft").config.duplicates == "drop"
    assert iou(dup) == 0.0  # every copy is unusable
    assert iou(dup) == pytest.approx(ref.default(dup, solution)["iou"], abs=1e-12)
    assert iou(dup, duplicates="drop") == iou(one) == 1.0  # the later copy is removed
    assert iou(dup, duplicates="keep") == pytest.approx(0.5)  # one matched, one false positive
    assert iou(dup, dedupe=True) == 1.0 and iou(dup, dedupe=False) == pytest.approx(0.5)
    # the same position with another label is no duplicate
    labelled = {"boxes": [[100, 200, 300, 400]], "labels": ["dog"]}
    two = completion(item([100, 200, 300, 400], 0.9, "dog"), item([100, 200, 300, 400], 0.9, "cat"))
    res = DetectionReward().score([two], [labelled])
    assert res.components["iou"][0] == pytest.approx(0.5)


def test_out_of_range_confidences() -> None:
    solution = gt([100, 200, 300, 400])
    texts = [completion(item([100, 200, 300, 400], c)) for c in (1.5, -0.5, 1.0, 0.0)]
    res = DetectionReward().score(texts, [solution] * 4)
    for k, t in enumerate(texts):
        want = ref.default(t, solution)
        assert res.components["iou"][k] == pytest.approx(want["iou"], abs=1e-12)
        assert res.components["confidence"][k] == pytest.approx(want["confidence"], abs=1e-12)
    assert res.components["iou"].tolist()[:2] == [0.0, 0.0]  # an invalid item never matches
    assert res.components["iou"].tolist()[2:] == [1.0, 1.0]
    lax = DetectionReward(validate_confidence=False).score(texts[:1], [solution])
    assert lax.components["iou"][0] == 1.0


def test_pixel_and_as_written_spaces() -> None:
    text = completion(item([64, 48, 320, 240], 0.9))
    solution = {"boxes": [[0.1, 0.1, 0.5, 0.5]], "coords": "normalized"}
    for space in ("normalized", "as_written"):
        reward = DetectionReward(coords="pixel", iou_space=space)
        res = reward.score([text], [solution], image_size=[(640, 480)])
        assert res.components["iou"][0] == pytest.approx(1.0)
    res = DetectionReward(coords="pixel").score([text], [solution], image_size=[(1280, 960)])
    assert res.components["iou"][0] == 0.0  # a quarter of the box: IoU 0.25 < 0.5
    np.testing.assert_allclose(
        DetectionReward(coords="pixel")
        .score([text], [solution], image_size=[(640, 480)], details=True)
        .details["boxes"][0],
        [[0.1, 0.1, 0.5, 0.5]],
    )


def test_allowed_pairs() -> None:
    from visual_rewards.rewards.detection import allowed_pairs

    out = allowed_pairs(["cat", None], None, 2, 3)  # ground truth without labels
    assert out.dtype == np.bool_ and out.tolist() == [[True] * 3] * 2
    out = allowed_pairs(["Hot_Dog", None, "cat"], ["hot dog", None], 3, 2)
    assert out.dtype == np.bool_
    # one class named: an unlabeled prediction may match it; an unlabeled truth matches anything
    assert out.tolist() == [[True, True], [True, True], [False, True]]
    out = allowed_pairs([None, "dog"], ["cat", "dog", None], 2, 3)
    assert out.tolist() == [[False, False, True], [False, True, True]]
    assert allowed_pairs([], ["cat"], 0, 1).shape == (0, 1)


def test_details_are_rounded_to_four_decimals() -> None:
    # a 7 x 3 pixel image: coordinates in sevenths and thirds
    text = completion(item([1, 1, 2, 2], 0.9), item([3, 0, 7, 3], 0.8))
    solution = {"boxes": [[1, 1, 3, 2]], "coords": "pixel"}
    res = DetectionReward(coords="pixel").score(
        [text], [solution], image_size=[(7, 3)], details=True
    )
    assert res.details["boxes"] == [[[0.1429, 0.3333, 0.2857, 0.6667], [0.4286, 0.0, 1.0, 1.0]]]
    assert res.details["ious"] == [[0.5, 0.0]]
    res = DetectionReward(coords="pixel", iou_threshold=0.1).score(
        [completion(item([0, 0, 3, 3], 0.9))],
        [{"boxes": [[0, 0, 7, 1]], "coords": "pixel"}],
        image_size=[(7, 3)],
        details=True,
    )
    assert res.details["ious"] == [[round(3 / 13, 4)]]


def test_paper_preset_with_ground_truth_in_another_space() -> None:
    text = completion(item([100, 200, 300, 400], 0.9))
    solution = "<answer>[{'Position': [0.1, 0.2, 0.3, 0.4], 'Confidence': 1}]</answer>"
    res = DetectionReward("visual_rft", gt_coords="normalized").score([text], [solution])
    assert res.components["iou"][0] == pytest.approx(1.0)
    # read as written (the released code's way) the same string is far from the box
    assert DetectionReward("visual_rft").score([text], [solution]).components["iou"][0] == 0.0


def test_paper_preset_with_a_malformed_row() -> None:
    text = completion(item([100, 200, 300, 400], 0.9))
    with pytest.warns(UserWarning, match="row 1: malformed ground truth"):
        res = DetectionReward("visual_rft").score(
            [text, text, text], [gt([100, 200, 300, 400]), "no boxes", gt([100, 200, 300, 400])]
        )
    assert res.parse_failed.tolist() == [False, False, False]
    assert res.components["iou"][0] == res.components["iou"][2] == 1.0
    assert np.isnan(res.total[1]) and np.isnan(res.components["iou"][1])
    assert res.components["format"].tolist() == [1.0, 1.0, 1.0]


def test_greedy_matching_uses_the_configured_threshold() -> None:
    solution = gt([0, 0, 100, 200])
    text = completion(item([0, 0, 100, 90], 0.9))  # IoU 0.45
    for threshold, want in ((0.3, 0.45), (0.44, 0.45), (0.45, 0.0), (0.5, 0.0)):
        reward = DetectionReward(matching="greedy", iou_threshold=threshold)
        assert reward.score([text], [solution]).components["iou"][0] == pytest.approx(want)
    lenient = DetectionReward("visual_rft", answer_reader="lenient", iou_threshold=0.3)
    assert lenient.score([text], [solution]).components["iou"][0] == pytest.approx(0.45)


def test_equal_ious_go_to_the_box_written_first() -> None:
    # two boxes with the same IoU (200 x 220 around a 200 x 200 truth), opposite confidences
    solution = gt([100, 100, 300, 300])
    low, high = item([100, 100, 300, 320], 0.2), item([100, 80, 300, 300], 0.9)
    for first, second in ((low, high), (high, low)):
        text = completion(first, second)
        res = DetectionReward().score([text], [solution])
        want = ref.default(text, solution)
        for key in ("iou", "confidence"):
            assert res.components[key][0] == pytest.approx(want[key], abs=1e-12), key
    a = DetectionReward().score([completion(low, high)], [solution]).components["confidence"][0]
    b = DetectionReward().score([completion(high, low)], [solution]).components["confidence"][0]
    assert a != b  # the first box is the matched one


def test_a_better_iou_beats_the_written_order_however_small() -> None:
    # the second box is closer by 5e-8 in IoU: it is matched, whatever the order
    solution = gt([0, 0, 1000, 1000])
    first, second = item([0, 0, 1000, 999.9999], 0.1), item([0, 0, 1000, 999.99995], 0.9)
    res = DetectionReward().score([completion(first, second)], [solution])
    iou = res.components["iou"][0]
    assert iou == pytest.approx(0.99999995 / 2, abs=1e-15)


def test_max_boxes_counts_the_items_as_written() -> None:
    # three items, two of them copies: dropping the copy leaves two, but three were written
    solution = gt([100, 200, 300, 400], [500, 500, 900, 900])
    a, b = item([100, 200, 300, 400], 0.9), item([500, 500, 900, 900], 0.9)
    reward = DetectionReward(duplicates="drop", max_boxes=2)
    res = reward.score([completion(a, a, b), completion(a, b)], [solution] * 2)
    assert res.components["iou"].tolist() == [0.0, 1.0]


def test_a_dialect_reaches_the_reader_and_needs_the_lenient_reader() -> None:
    gemini = '[{"box_2d": [200, 100, 600, 300], "label": "cat"}]'  # y first
    text = f"{THINK}<answer>{gemini}</answer>"
    res = DetectionReward(dialect="gemini").score([text], ["[[100, 200, 300, 600]]"])
    assert res.components["iou"][0] == pytest.approx(1.0)
    message = (
        "answer_reader='released' reads the paper's answer format only; a dialect needs "
        "answer_reader='lenient' (e.g. the default preset)"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        DetectionReward(answer_reader="released", dialect="gemini")


def test_shared_x1_marks_rows_where_two_valid_items_share_x1() -> None:
    from visual_rewards.rewards import detection as det

    raw = np.array(
        [
            [[1.0, 5.0, 3.0, 7.0], [1.0, 6.0, 4.0, 8.0]],  # same x1
            [[1.0, 5.0, 3.0, 7.0], [2.0, 5.0, 4.0, 7.0]],  # same y1 only
            [[1.0, 5.0, 3.0, 7.0], [1.0, 5.0, 3.0, 7.0]],  # same x1, the second not valid
        ]
    )
    valid = np.array([[True, True], [True, True], [True, False]])
    assert det._shared_x1(raw, valid).tolist() == [True, False, False]


def test_class_aware_matching_with_a_malformed_row() -> None:
    text = completion(item([100, 200, 300, 400], 0.9, "dog"))
    sols = [gt([100, 200, 300, 400]), "no boxes"]
    with pytest.warns(UserWarning, match="row 1: malformed ground truth"):
        res = DetectionReward(class_aware=True).score([text, text], sols)
    assert res.components["iou"][0] == 1.0
    assert np.isnan(res.total[1])


def test_greedy_class_aware_matching_pairs_only_the_same_class() -> None:
    truth = "<answer>[" + item([100, 200, 300, 400], 1, "dog") + "]</answer>"
    reward = DetectionReward(matching="greedy", class_aware=True)
    same = reward.score([completion(item([100, 200, 300, 400], 0.9, "dog"))], [truth])
    other = reward.score([completion(item([100, 200, 300, 400], 0.9, "cat"))], [truth])
    assert same.components["iou"][0] == 1.0
    assert other.components["iou"][0] == 0.0


def test_equal_total_ious_go_to_the_boxes_written_first_when_scipy_decides() -> None:
    # b0 overlaps both truths equally; b1 only the first, b2 only the second, equally: two
    # matchings of the same total IoU, {b0, b1} and {b0, b2}; the box written first wins
    boxes = [[50, 0, 150, 100], [0, 52, 100, 152], [100, 52, 200, 152]]
    text = completion(*(item(b, 0.9) for b in boxes))
    res = DetectionReward(iou_threshold=0.3).score(
        [text], [gt([0, 0, 100, 100], [100, 0, 200, 100])], details=True
    )
    ious = res.details["ious"][0]
    assert ious[0] > 0 and ious[1] > 0 and ious[2] == 0.0


def test_paper_preset_reads_the_answer_of_a_row_with_a_malformed_truth() -> None:
    # a confidence too large for a float fails the released code only when it is added up
    # (against no ground truth, every box unmatched); a malformed truth adds nothing up
    huge = "1" + "0" * 400
    text = completion(item([100, 200, 300, 400], huge))
    with pytest.warns(UserWarning, match="row 0: malformed ground truth"):
        res = DetectionReward("visual_rft").score([text], ["no boxes"])
    assert res.parse_failed.tolist() == [False]
    assert np.isnan(res.total[0])
    assert DetectionReward("visual_rft").score([text], [gt()]).parse_failed.tolist() == [True]
