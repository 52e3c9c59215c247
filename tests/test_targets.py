"""Ground-truth validation."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visual_rewards.geometry.coords import CoordConfig
from visual_rewards.targets import BoxTarget, TargetError, parse_box_target


def test_paper_string_and_no_objects() -> None:
    t = parse_box_target(
        "<answer>[{'Position': [100, 200, 300, 400], 'Confidence': 1}, "
        "{'Position': [0, 0, 1000, 1000], 'Confidence': 1}]</answer>"
    )
    np.testing.assert_array_equal(t.boxes, [[0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1]])
    np.testing.assert_array_equal(t.raw_boxes, [[100, 200, 300, 400], [0, 0, 1000, 1000]])
    assert t.labels is None and t.coord == CoordConfig("norm1000")
    for empty in ("<answer>No Objects</answer>", "No Objects", "[]", []):
        assert len(parse_box_target(empty)) == 0


def test_lists_and_dicts() -> None:
    a = parse_box_target([[100, 200, 300, 400]])
    b = parse_box_target([100, 200, 300, 400])
    c = parse_box_target(np.array([[100, 200, 300, 400]]))
    d = parse_box_target([{"bbox_2d": [100, 200, 300, 400], "label": "cat"}])
    e = parse_box_target(
        {"boxes": [[0.1, 0.2, 0.3, 0.4]], "coords": "normalized", "labels": ["cat"]}
    )
    for t in (a, b, c, d, e):
        np.testing.assert_allclose(t.boxes, [[0.1, 0.2, 0.3, 0.4]])
    assert d.labels == ("cat",) and e.labels == ("cat",)
    assert parse_box_target(a) is a and isinstance(a, BoxTarget)


def test_pixel_coordinates_need_an_image_size() -> None:
    t = parse_box_target(
        {"boxes": [[64, 48, 320, 240]], "coords": "pixel", "image_size": (640, 480)}
    )
    np.testing.assert_allclose(t.boxes, [[0.1, 0.1, 0.5, 0.5]])
    t2 = parse_box_target([[64, 48, 320, 240]], CoordConfig("pixel", (640, 480)))
    np.testing.assert_allclose(t2.boxes, t.boxes)
    with pytest.raises(TargetError, match="image_size"):
        parse_box_target({"boxes": [[64, 48, 320, 240]], "coords": "pixel"})


@pytest.mark.parametrize(
    ("solution", "why"),
    [
        ("<answer>[{'Position': [300, 200, 100, 400]}]</answer>", "invalid ground-truth box"),
        ("<answer>a dog</answer>", "cannot read boxes"),
        ("", "cannot read"),
        ([[1, 2, 3]], "4 numbers"),
        ([[0, 0, float("nan"), 1]], "finite"),
        ([[10, 10, 5, 20]], "x2 > x1"),
        ({"boxes": [[0, 0, 1, 1]], "labels": ["a", "b"]}, "one entry per box"),
        ({"boxes": [[0, 0, 1, 1]], "colour": "red"}, "colour"),
        ({"boxes": [[0, 0, 1, 1]], "coords": "inches"}, "coords"),
        ({"boxes": [[1100, 1100, 1200, 1200]]}, "outside the image"),
        ([{"name": "cat"}], "no box key"),
        (42, "got int"),
        (None, "got NoneType"),
    ],
)
def test_malformed_ground_truth_raises_target_error(solution: object, why: str) -> None:
    with pytest.raises(TargetError, match=why):
        parse_box_target(solution)


def test_target_error_is_a_value_error() -> None:
    assert issubclass(TargetError, ValueError)


def test_batch_reading_equals_one_by_one() -> None:
    from visual_rewards import targets

    gt = "<answer>[{'Position': [100, 200, 300, 400], 'Confidence': 1}]</answer>"
    bad = "<answer>[{'Position': [300, 200, 100, 400]}]</answer>"
    sols: list[object] = [
        gt,
        gt,
        bad,
        bad,
        [[1, 2, 3, 4]],
        "No Objects",
        42,
        gt + " ",
        {"boxes": []},
    ]
    shared = [[5, 5, 50, 50]]
    sols += [shared, shared, "[{'bbox_2d': [1, 2, 30, 40], 'label': 'cat'}]"]
    coords = [CoordConfig()] * len(sols)
    for _ in range(2):  # cold, then warm cache
        targets._STRING_CACHE.clear()
        got = targets.parse_box_targets(sols, coords)
        assert len(got) == len(sols)
        for sol, t in zip(sols, got, strict=True):
            if isinstance(t, TargetError):
                with pytest.raises(TargetError, match=re.escape(str(t))):
                    parse_box_target(sol)
                continue
            want = parse_box_target(sol)
            np.testing.assert_array_equal(t.boxes, want.boxes)
            np.testing.assert_array_equal(t.raw_boxes, want.raw_boxes)
            assert t.labels == want.labels and t.coord == want.coord


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(
        st.sampled_from(["<answer>", "</answer>", "<think>", "a", " ", "[1, 2, 3, 4]"]), max_size=8
    ).map("".join)
)
def test_unwrap_answer_is_the_first_closed_answer_block(text: str) -> None:
    import re

    from visual_rewards.parsing import unwrap_answer

    match = re.search(r"<answer>(.*?)</answer>", text, re.DOTALL)  # the reference, tests only
    assert unwrap_answer(text) == (match.group(1) if match else text).strip()


# --------------------------------------------------------------------------------------------
# The ground-truth cache: only the general reader's result, bounded in entries and characters
# --------------------------------------------------------------------------------------------


def test_cache_holds_only_what_the_general_reader_reads() -> None:
    from batch_check import general_detections

    from visual_rewards import DetectionReward, targets
    from visual_rewards.parsing import unwrap_answer

    targets._STRING_CACHE.clear()
    sols = [
        "<answer>[{'Position1': [100, 100, 300, 300], 'Confidence': }]</answer>",
        "<answer>[{'Position': [100, 100, 300, 300], 'Confidence': 1}]</answer>",
        '[{"bbox_2d": [10, 20, 30, 40], "label": ""}]',
        "<answer>[{'Position': [1, 2, 30, 40], 'Confidence': 1}, {'Position': [5, 5, 9, 9]}]</answer>",
    ]
    DetectionReward().score(["x"] * len(sols), sols)
    assert len(targets._STRING_CACHE.entries) == len(sols)
    for (text, cfg), target in targets._STRING_CACHE.entries.items():
        want = general_detections(unwrap_answer(text), coords=cfg)
        np.testing.assert_array_equal(target.raw_boxes, want.raw_boxes)
        np.testing.assert_array_equal(target.boxes, want.boxes)


def test_cache_is_bounded_in_characters() -> None:
    from visual_rewards import targets

    targets._STRING_CACHE.clear()
    junk = " " * (1 << 20)
    for k in range(300):  # 300 ground truths with 1 MiB of trailing text each
        parse_box_target(f"<answer>[{k}, 0, {k + 10}, 10]</answer>{junk}")
    assert targets._STRING_CACHE.chars == 0 and not targets._STRING_CACHE.entries
    cache = targets._TargetCache(max_entries=1000, max_chars=10_000)
    box = parse_box_target([1, 2, 3, 4])
    for k in range(5000):
        cache.put((f"{k:04d}" * 50, CoordConfig()), box)
        assert cache.chars <= cache.max_chars and len(cache.entries) <= cache.max_entries


_ORDER_SCRIPT = """
import json, sys
from visual_rewards import DetectionReward, GroundingReward
from visual_rewards.targets import parse_box_target
pairs = json.loads(sys.stdin.read())
order = json.loads(sys.argv[1])
if sys.argv[2] == "single-first":  # read every ground truth alone before scoring
    for _, sol in pairs:
        try:
            parse_box_target(sol)
        except ValueError:
            pass
out = {}
for preset in ("default", "visual_rft"):
    r = DetectionReward(preset)
    res = r.score([pairs[i][0] for i in order], [pairs[i][1] for i in order])
    for i, t in zip(order, res.total.tolist()):
        out[f"{preset}/{i}"] = repr(t)
print(json.dumps(out, sort_keys=True))
"""


def test_same_pairs_score_the_same_in_fresh_processes_in_any_order() -> None:
    import json
    import random
    import subprocess
    import sys
    import warnings

    think = "<think>looked</think>"
    sols = [
        "<answer>[{'Position1': [100, 100, 300, 300], 'Confidence': }]</answer>",
        "<answer>[{'Position': [100, 100, 300, 300], 'Confidence': }.9}]</answer>",
        "<answer>[{'Position': [100, 100, 300, 300], 'Confidence': 1}]</answer>",
        '[{"bbox_2d": [100, 100, 300, 300], "label": "cat"}]',
    ]
    comps = [
        think + "<answer>[{'Position': [100, 100, 300, 300], 'Confidence': 0.9}]</answer>",
        think + "<answer>[{'Position1': [100, 100, 300, 300], 'Confidence': }]</answer>",
        think + "<answer>[{'Position': [100, 100, 300, 300], 'Confidence': }.9}]</answer>",
    ]
    pairs = [[c, s] for c in comps for s in sols]
    rng = random.Random(0)
    runs = []
    for mode in ("batch-first", "single-first", "batch-first"):
        order = list(range(len(pairs)))
        rng.shuffle(order)
        proc = subprocess.run(
            [sys.executable, "-c", _ORDER_SCRIPT, json.dumps(order), mode],
            input=json.dumps(pairs),
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(proc.stdout)
    assert runs[0] == runs[1] == runs[2]
    from visual_rewards import DetectionReward

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        totals = DetectionReward().score([c for c, _ in pairs], [s for _, s in pairs]).total
    here = {f"default/{i}": repr(t) for i, t in enumerate(totals.tolist())}
    got = json.loads(runs[0])
    assert {k: v for k, v in got.items() if k.startswith("default/")} == here
