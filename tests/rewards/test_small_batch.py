"""The small-call path of the detection reward equals the array path, bit for bit.

``visual_rewards.rewards.small_batch`` scores calls of at most ``SMALL_BATCH_MAX`` completions
in plain Python; the array path (``DetectionReward._sums`` over padded groups) scores the
rest. Here both score the same inputs -- generated answers full of ties, duplicates,
conflicting matches and bad confidences -- under every preset and option that changes the
sums, and every value must agree exactly (bytes, not a tolerance). The slow references of
``tests/rewards/test_detection.py`` then judge the small path as they judge the array path.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
import reference_rewards as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from test_detection import make_case

from visual_rewards import DetectionReward
from visual_rewards.rewards import small_batch

#: Every preset, and the options that change what the per-row sums compute.
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("default", {}),
    ("default", {"confidence_rule": "brier"}),
    ("default", {"duplicates": "drop"}),
    ("default", {"duplicates": "keep", "validate_confidence": False}),
    ("default", {"class_aware": False, "iou_space": "as_written"}),
    ("default", {"iou_threshold": 0.3, "unmatched_confidence": "complement"}),
    ("default", {"matching": "greedy", "iou_threshold": 0.0}),
    ("visual_rft", {}),
    ("visual_rft", {"answer_reader": "lenient"}),
    ("visual_rft", {"answer_reader": "lenient", "confidence_rule": "brier"}),
    ("visual_rft", {"answer_reader": "lenient", "class_aware": True}),
]


def _array_path(
    monkeypatch: pytest.MonkeyPatch, reward: DetectionReward, comps: list[str], sols: list[Any]
) -> Any:
    with monkeypatch.context() as m:
        m.setattr(small_batch, "SMALL_BATCH_MAX", 0)
        return reward.score(comps, sols, details=True)


def _assert_identical(a: Any, b: Any) -> None:
    assert a.components.keys() == b.components.keys()
    for key in a.components:
        assert a.components[key].tobytes() == b.components[key].tobytes(), key
    assert a.total.tobytes() == b.total.tobytes()
    assert np.array_equal(a.parse_failed, b.parse_failed)
    assert a.details == b.details


coordinate = st.sampled_from([0, 100, 150, 200, 250, 300, 500, 1000])
confidence = st.sampled_from(["0", "0.5", "1", "0.3", "0.30", "1.5", "-0.2", "-0.0", None])
label = st.sampled_from([None, "cat", "Cat", "dog", "hot dog"])


@st.composite
def _item(draw: st.DrawFn) -> str:
    box = [draw(coordinate) for _ in range(4)]
    conf, lab = draw(confidence), draw(label)
    parts = [f"'Position': {box}"]
    if conf is not None:
        parts.append(f"'Confidence': {conf}")
    if lab is not None:
        parts.append(f"'label': '{lab}'")
    return "{" + ", ".join(parts) + "}"


_answer = st.one_of(
    st.lists(_item(), max_size=7).map(lambda xs: "[" + ", ".join(xs) + "]"),
    st.sampled_from(["No Objects", "[]", "nothing", "[{'Position': [1, 2"]),
)
_completion = _answer.map(lambda a: f"<think>look</think><answer>{a}</answer>")


@st.composite
def _truth(draw: st.DrawFn) -> Any:
    boxes = []
    for _ in range(draw(st.integers(0, 4))):
        x1, y1 = draw(st.sampled_from([0, 100, 150, 200])), draw(st.sampled_from([0, 100, 200]))
        boxes.append([x1, y1, x1 + draw(st.sampled_from([50, 100, 150])), y1 + 100])
    if draw(st.booleans()) and boxes:
        return {"boxes": boxes, "labels": [draw(label) for _ in boxes]}
    if not boxes:
        return "<answer>No Objects</answer>"
    items = ", ".join(f"{{'Position': {b}, 'Confidence': 1}}" for b in boxes)
    return f"<answer>[{items}]</answer>"


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(_completion, _truth()), min_size=1, max_size=12))
def test_small_path_equals_array_path_on_generated_answers(rows: list[tuple[str, Any]]) -> None:
    comps = [c for c, _ in rows]
    sols = [s for _, s in rows]
    patch = pytest.MonkeyPatch()
    try:
        for preset, options in VARIANTS:
            reward = DetectionReward(preset, **options)
            _assert_identical(
                reward.score(comps, sols, details=True), _array_path(patch, reward, comps, sols)
            )
    finally:
        patch.undo()


@pytest.fixture(scope="module")
def cases() -> list[tuple[str, Any]]:
    rng = random.Random(20250301)
    return [make_case(rng) for _ in range(2_000)] + [
        make_case(rng, labels=True) for _ in range(1_000)
    ]


@pytest.mark.parametrize(("preset", "options"), VARIANTS)
def test_small_path_equals_array_path_on_training_like_calls(
    preset: str,
    options: dict[str, Any],
    cases: list[tuple[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reward = DetectionReward(preset, **options)
    for k in range(0, len(cases), 8):
        comps = [c for c, _ in cases[k : k + 8]]
        sols = [s for _, s in cases[k : k + 8]]
        _assert_identical(
            reward.score(comps, sols, details=True), _array_path(monkeypatch, reward, comps, sols)
        )


def test_the_scipy_branch_is_taken_and_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    # two predictions both overlapping two ground-truth boxes: a real assignment problem
    gt = {"boxes": [[0, 0, 100, 100], [0, 0, 120, 100]]}
    answer = "[{'Position': [0, 0, 110, 100], 'Confidence': 0.9}, {'Position': [0, 0, 100, 100], 'Confidence': 0.8}]"
    comps = [f"<think>x</think><answer>{answer}</answer>"] * 3
    calls: list[int] = []
    real = small_batch._assign

    def counting(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(small_batch, "_assign", counting)
    reward = DetectionReward()
    small = reward.score(comps, [gt] * 3, details=True)
    assert calls
    _assert_identical(small, _array_path(monkeypatch, reward, comps, [gt] * 3))


def test_reference_judges_the_small_path(cases: list[tuple[str, Any]]) -> None:
    """The slow references of test_detection.py, on calls of 8 (the small path)."""
    default = DetectionReward()
    brier = DetectionReward(confidence_rule="brier")
    lenient = DetectionReward("visual_rft", answer_reader="lenient")
    for k in range(0, len(cases), 8):
        chunk = cases[k : k + 8]
        comps = [c for c, _ in chunk]
        sols = [s for _, s in chunk]
        got_default, got_brier = default.score(comps, sols), brier.score(comps, sols)
        got_lenient = lenient.score(comps, sols)
        for j, (c, s) in enumerate(chunk):
            for res, want in (
                (got_default, ref.default(c, s)),
                (got_brier, ref.default(c, s, rule="brier")),
            ):
                for key in ("iou", "confidence", "format"):
                    assert abs(res.components[key][j] - want[key]) <= 1e-12, (k + j, key, c, s)
            if isinstance(s, str):  # the visual_rft reference reads the paper's string
                want = ref.visual_rft(c, s)
                got = {key: float(got_lenient.components[key][j]) for key in want}
                assert got == want, (k + j, c, s)


# The array path looks for duplicates only in rows where two items share x1 (detection._shared_x1)
_grid = st.sampled_from([0.0, -0.0, 1.0, 2.0, 5.0])


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda w: st.tuples(
            st.lists(st.lists(st.tuples(_grid, _grid, _grid, _grid), min_size=w, max_size=w)),
            st.lists(st.lists(st.booleans(), min_size=w, max_size=w)),
            st.lists(st.lists(st.integers(-1, 2), min_size=w, max_size=w)),
        )
    ),
    st.booleans(),
    st.booleans(),
)
def test_duplicates_on_rows_sharing_x1_equal_duplicates_on_every_row(
    data: Any, every_copy: bool, with_labels: bool
) -> None:
    from visual_rewards.rewards import detection as det

    boxes, valid, labels = data
    k = min(len(boxes), len(valid), len(labels))
    if not k:
        return
    raw = np.array(boxes[:k], dtype=np.float64)
    mask = np.array(valid[:k], dtype=bool)
    ids = np.array(labels[:k], dtype=np.intp) if with_labels else None
    want = det._duplicates(raw, mask, ids, every_copy)
    got = det._duplicates_in(det._shared_x1(raw, mask), raw, mask, ids, every_copy)
    assert np.array_equal(got, want)
