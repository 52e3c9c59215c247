"""The reward axioms of docs/guarantees.md, as hypothesis properties over every reward under
the ``default`` preset: no answer can be gamed into a higher reward.

Each property runs ``VR_AXIOM_EXAMPLES`` examples (2,000 in CI; set it higher for a long run,
e.g. ``VR_AXIOM_EXAMPLES=100000 pytest tests/rewards/test_axioms.py``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from visual_rewards import (
    ClassificationReward,
    CountingReward,
    DetectionReward,
    FormatReward,
    GroundingReward,
    PointingReward,
)
from visual_rewards.geometry.boxes import box_iou
from visual_rewards.parsing.completion import INVISIBLE_CATEGORIES

EXAMPLES = int(os.environ.get("VR_AXIOM_EXAMPLES", "2000"))
AXIOM = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
THINK = "<think>I looked at every object in the image.</think>"
EPS = 1e-12

# --------------------------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------------------------

DETECTION = DetectionReward()
LABELS = ["cat", "dog", "hot dog"]
LABEL_SPELLINGS = {"cat": ["cat", "Cat"], "dog": ["dog", "DOG"], "hot dog": ["hot-dog", "Hot_Dog"]}


class _Digits:
    """Reads small numbers off one big integer: one hypothesis draw per box or item (many
    small draws make hypothesis, not the reward, the cost of a property)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def take(self, n: int) -> int:
        self.seed, value = divmod(self.seed, n)
        return value


SEEDS = st.integers(0, 2**128)


def _box(d: _Digits) -> list[int]:
    x1, y1 = d.take(901), d.take(901)
    return [x1, y1, x1 + 10 + d.take(991 - x1), y1 + 10 + d.take(991 - y1)]


def boxes(min_n: int = 0, max_n: int = 4) -> st.SearchStrategy[list[list[int]]]:
    """Distinct boxes ``[x1, y1, x2, y2]`` in norm1000, each at least 10 wide and high."""

    def build(seeds: list[int]) -> list[list[int]]:
        out: list[list[int]] = []
        for seed in seeds:
            box = _box(_Digits(seed))
            if box not in out:
                out.append(box)
        return out

    return (
        st.lists(SEEDS, min_size=min_n, max_size=max_n).map(build).filter(lambda b: len(b) >= min_n)
    )


_CONFS = [None, 0.0, 0.1, 0.3, 0.5, 0.9, 1.0]
confidences = st.one_of(st.sampled_from(_CONFS), st.floats(0.0, 1.0))
any_confidence = st.one_of(confidences, st.sampled_from([1.5, -0.25, 7.0]))


def _item(seed: int, gt: list[list[int]], labelled: bool) -> dict[str, Any]:
    d = _Digits(seed)
    if gt and d.take(2):
        g = gt[d.take(len(gt))]
        x1, y1 = max(0, g[0] + d.take(61) - 30), max(0, g[1] + d.take(61) - 30)
        x2, y2 = min(1000, g[2] + d.take(61) - 30), min(1000, g[3] + d.take(61) - 30)
        box = [x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)]
    else:
        box = _box(d)
    k = d.take(len(_CONFS) + 1)
    conf = _CONFS[k] if k < len(_CONFS) else d.take(1001) / 1000
    label = None
    if labelled and d.take(2):
        label = LABEL_SPELLINGS[LABELS[d.take(3)]][d.take(2)]
    return {"box": box, "conf": conf, "label": label}


def _scene(
    args: tuple[list[list[int]], int, list[int]],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    gt, label_seed, seeds = args
    truth: dict[str, Any] = {"boxes": gt}
    labelled = bool(gt) and label_seed % 2 == 1
    if labelled:
        d = _Digits(label_seed // 2)
        truth["labels"] = [LABELS[d.take(3)] for _ in gt]
    return truth, [_item(seed, gt, labelled) for seed in seeds]


#: A ground truth (dict) and predicted items, some near the ground truth, some not.
scenes = st.tuples(boxes(), SEEDS, st.lists(SEEDS, max_size=6)).map(_scene)


def render(items: list[dict[str, Any]]) -> str:
    parts = []
    for it in items:
        fields = [f"'Position': {it['box']}"]
        if it["conf"] is not None:
            fields.append(f"'Confidence': {it['conf']!r}")
        if it["label"] is not None:
            fields.append(f"'label': '{it['label']}'")
        parts.append("{" + ", ".join(fields) + "}")
    return THINK + "<answer>[" + ", ".join(parts) + "]</answer>"


def detection_pair(
    truth: dict[str, Any], before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> tuple[float, float, list[float]]:
    """Totals of two answers to one ground truth, and the matched IoU of each box before."""
    res = DETECTION.score([render(before), render(after)], [truth, truth], details=True)
    return float(res.total[0]), float(res.total[1]), res.details["ious"][0]


def unmatchable(box: list[int], truth: dict[str, Any]) -> bool:
    gt = np.asarray(truth["boxes"], dtype=float).reshape(-1, 4) / 1000
    return bool((box_iou(np.asarray([box], dtype=float) / 1000, gt) < 0.5).all())


@AXIOM
@given(scenes, boxes(1, 1), any_confidence, st.sampled_from([None, *LABELS]), st.data())
def test_detection_a_box_no_ground_truth_can_take_never_pays(
    scene: Any, new: list[list[int]], conf: Any, label: Any, data: Any
) -> None:
    truth, items = scene
    assume(unmatchable(new[0], truth))
    at = data.draw(st.integers(0, len(items)))
    after = [*items[:at], {"box": new[0], "conf": conf, "label": label}, *items[at:]]
    before, later, _ = detection_pair(truth, items, after)
    assert later <= before + EPS


def _isolated(k: int, items: list[dict[str, Any]], truth: dict[str, Any]) -> bool:
    """Box k overlaps (IoU >= 0.5) exactly one ground-truth box, which no other box overlaps."""
    gt = np.asarray(truth["boxes"], dtype=float).reshape(-1, 4) / 1000
    ious = box_iou(np.asarray([it["box"] for it in items], dtype=float) / 1000, gt) >= 0.5
    hits = np.flatnonzero(ious[k])
    return hits.size == 1 and int(ious[:, hits[0]].sum()) == 1


@AXIOM
@given(scenes, st.data(), confidences)
def test_detection_removing_a_matched_box_never_pays(scene: Any, data: Any, conf: Any) -> None:
    truth, items = scene
    assume(truth["boxes"])
    g = data.draw(st.integers(0, len(truth["boxes"]) - 1))
    box = [v + data.draw(st.integers(-3, 3)) for v in truth["boxes"][g]]
    labels = truth.get("labels")
    found = {"box": box, "conf": conf, "label": labels[g] if labels else None}
    k = data.draw(st.integers(0, len(items)))
    before_items = [*items[:k], found, *items[k:]]
    assume(box[2] > box[0] and box[3] > box[1] and _isolated(k, before_items, truth))
    before, later, ious = detection_pair(truth, before_items, items)
    assume(ious[k] > 0)  # matched (a box at the image border may be clipped below 0.5)
    assert later <= before + EPS


@AXIOM
@given(scenes, st.data(), st.floats(0.0, 1.0))
def test_detection_confidence_is_monotone(scene: Any, data: Any, raise_to: float) -> None:
    truth, items = scene
    assume(items)
    k = data.draw(st.integers(0, len(items) - 1))
    old = items[k]["conf"]
    assume(old is None or old <= raise_to)
    raised = [dict(it) for it in items]
    raised[k]["conf"] = raise_to
    before, later, ious = detection_pair(truth, items, raised)
    if ious[k] > 0:  # matched: raising its confidence never lowers the total
        assert later >= before - EPS
    else:  # unmatched: raising its confidence never raises the total
        assert later <= before + EPS


@AXIOM
@given(scenes, st.data(), any_confidence)
def test_detection_duplicates_never_pay(scene: Any, data: Any, conf: Any) -> None:
    truth, items = scene
    assume(items)
    k = data.draw(st.integers(0, len(items) - 1))
    at = data.draw(st.integers(0, len(items)))
    copy = {**items[k], "conf": conf}
    before, later, _ = detection_pair(truth, items, [*items[:at], copy, *items[at:]])
    assert later <= before + EPS


@AXIOM
@given(boxes(0, 6), st.booleans())
def test_detection_the_exact_answer_earns_the_maximum(gt: list[list[int]], labelled: bool) -> None:
    truth: dict[str, Any] = {"boxes": gt}
    labels = [LABELS[k % 3] for k in range(len(gt))]
    if labelled and gt:
        truth["labels"] = labels
    items = [
        {"box": b, "conf": 1.0, "label": labels[k] if labelled else None} for k, b in enumerate(gt)
    ]
    answer = render(items) if gt else THINK + "<answer>No Objects</answer>"
    assert DETECTION.score([answer], [truth]).total[0] == 3.0


# --------------------------------------------------------------------------------------------
# Grounding, pointing: an extra box or point never raises the reward
# --------------------------------------------------------------------------------------------


@AXIOM
@given(boxes(1, 2), boxes(1, 4), boxes(1, 1), st.data())
def test_grounding_extra_boxes_never_pay(
    gt: list[list[int]], written: list[list[int]], extra: list[list[int]], data: Any
) -> None:
    at = data.draw(st.integers(0, len(written)))
    more = [*written[:at], extra[0], *written[at:]]
    answers = [THINK + f"<answer>{w}</answer>" for w in (written, more)]
    total = GroundingReward().score(answers, [gt, gt]).total
    assert total[1] <= total[0] + EPS


points = st.lists(st.tuples(st.integers(-50, 1050), st.integers(-50, 1050)), min_size=1, max_size=5)


@AXIOM
@given(boxes(1, 1), points, points, st.data(), st.sampled_from([None, 0.3]))
def test_pointing_extra_points_never_pay(
    gt: list[list[int]], written: Any, extra: Any, data: Any, scale: float | None
) -> None:
    at = data.draw(st.integers(0, len(written)))
    more = [*written[:at], *extra, *written[at:]]
    answers = [THINK + "<answer>" + ", ".join(map(str, p)) + "</answer>" for p in (written, more)]
    total = PointingReward(distance_scale=scale).score(answers, [gt[0], gt[0]]).total
    assert total[1] <= total[0] + EPS


# --------------------------------------------------------------------------------------------
# Classification: naming more classes never pays; counting: hedges never earn the count
# --------------------------------------------------------------------------------------------

CLASSES = ["rose", "tulip", "sunflower", "daisy", "hot dog", "pug", "english setter", "setter"]
JOINERS = [", ", " or ", " and ", " / ", " ", "\n", "; "]


@AXIOM
@given(
    st.sampled_from(CLASSES),
    st.text(alphabet="rosetulip dg-_', ", max_size=12),
    st.lists(st.sampled_from(CLASSES), min_size=1, max_size=3),
    st.sampled_from(JOINERS),
    st.booleans(),
    st.booleans(),
)
def test_classification_naming_more_classes_never_pays(
    truth: str, answer: str, others: list[str], joiner: str, closed: bool, before_first: bool
) -> None:
    reward = ClassificationReward(labels=CLASSES) if closed else ClassificationReward()
    named = [o for o in others if o != truth]
    assume(named)
    parts = [*named, answer] if before_first else [answer, *named]
    more = joiner.join(parts)
    res = reward.score([THINK + f"<answer>{a}</answer>" for a in (answer, more)], [truth] * 2)
    assert res.components["accuracy"][1] <= res.components["accuracy"][0]


HEDGES = [
    "not {n}",
    "{n} or {m}",
    "{n}-{m}",
    "{n} to {m}",
    "between {n} and {m}",
    "at least {n}",
    "at most {n}",
    "more than {n}",
    "fewer than {n}",
    "up to {n}",
    "about {n}",
    "around {n}",
    "approximately {n}",
    "maybe {n}",
    "probably {n}",
    "{n}+",
    "~{n}",
    ">{n}",
    "{n}?",
    "{n} or more",
    "there are not {n}",
    "it isn't {n}",
]
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


@AXIOM
@given(
    st.integers(0, 10),
    st.integers(0, 12),
    st.sampled_from(HEDGES),
    st.booleans(),
    st.sampled_from([str.lower, str.upper, str.title]),
)
def test_counting_hedges_never_earn_the_count(
    n: int, m: int, template: str, words: bool, case: Any
) -> None:
    assume(m != n)  # "3 or 3" states one count
    spell = (lambda v: WORDS[v] if v < len(WORDS) else str(v)) if words else str
    answer = case(template.format(n=spell(n), m=spell(m)))
    res = CountingReward(tolerance=1.0).score([THINK + f"<answer>{answer}</answer>"], [n])
    assert res.components["accuracy"][0] == 0.0, answer


# --------------------------------------------------------------------------------------------
# Format: invisible content counts as empty
# --------------------------------------------------------------------------------------------

invisible = st.text(
    alphabet=st.one_of(
        st.characters(categories=sorted(INVISIBLE_CATEGORIES)),  # type: ignore[arg-type]
        st.sampled_from(" \t\n\r\x0b\x0c\u0085"),
    ),
    max_size=8,
)


@AXIOM
@given(invisible, invisible, st.text(min_size=1, max_size=8), st.booleans(), invisible)
def test_format_invisible_content_is_empty(
    blank: str, other_blank: str, text: str, blank_think: bool, outside: str
) -> None:
    think, answer = (blank, text) if blank_think else (text, blank)
    completion = f"{outside}<think>{think}</think>{other_blank}<answer>{answer}</answer>"
    assert FormatReward().score([completion]).total[0] == 0.0
