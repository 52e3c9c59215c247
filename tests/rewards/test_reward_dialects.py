"""The box and point rewards in every grounding dialect: the same boxes earn the same reward,
whatever family writes them, and a look-alike dialect is never guessed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visual_rewards.parsing.dialect_render import render_boxes, render_points
from visual_rewards.parsing.dialects import DIALECT_NAMES, DIALECTS
from visual_rewards.rewards.detection import DetectionReward
from visual_rewards.rewards.grounding import GroundingReward
from visual_rewards.rewards.pointing import PointingReward

BOX_DIALECTS = [n for n in DIALECT_NAMES if DIALECTS[n].reads_boxes]
POINT_DIALECTS = [n for n in DIALECT_NAMES if DIALECTS[n].reads_points]
THINK = "<think>looking</think>"
SIZE = (640, 480)


def _completion(answer: str) -> str:
    return f"{THINK}<answer>{answer}</answer>"


def _gt(boxes: np.ndarray) -> str:
    """Ground truth in the library's own form (norm1000 lists)."""
    return str([[round(v * 1000) for v in b] for b in boxes.tolist()])


_box = st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(20, 55), st.integers(20, 55))


@pytest.mark.parametrize("dialect", BOX_DIALECTS)
@settings(max_examples=25, deadline=None)
@given(raw=st.lists(_box, min_size=1, max_size=4, unique=True))
def test_ground_truth_written_in_a_dialect_earns_full_iou(
    dialect: str, raw: list[tuple[int, int, int, int]]
) -> None:
    boxes = np.array([[x / 100, y / 100, (x + w) / 100, (y + h) / 100] for x, y, w, h in raw])
    answer = render_boxes(
        dialect, boxes, ["thing"] * len(boxes), scores=[1.0] * len(boxes), image_size=SIZE
    )
    columns = {"image_size": [SIZE]}
    det = DetectionReward(dialect=dialect).score([_completion(answer)], [_gt(boxes)], **columns)
    # every box is matched (IoU well over 0.5 within the dialect's quantisation)
    assert det.components["iou"][0] > 0.75, (dialect, answer)
    grounding = GroundingReward(dialect=dialect).score(
        [_completion(render_boxes(dialect, boxes[:1], ["thing"], image_size=SIZE))],
        [_gt(boxes[:1])],
        **columns,
    )
    assert grounding.components["iou"][0] > 0.75


@pytest.mark.parametrize("dialect", BOX_DIALECTS)
def test_same_boxes_same_reward_in_every_dialect(dialect: str) -> None:
    boxes = np.array([[0.1, 0.2, 0.5, 0.6], [0.55, 0.1, 0.9, 0.45]])
    gt = _gt(boxes)
    answer = render_boxes(dialect, boxes, ["thing", "thing"], scores=[1.0, 1.0], image_size=SIZE)
    ours = DetectionReward(dialect=dialect).score([_completion(answer)], [gt], image_size=[SIZE])
    baseline = DetectionReward().score(
        [_completion(render_boxes("visual_rft", boxes, scores=[1.0, 1.0]))], [gt]
    )
    # within the dialect's quantisation: Kosmos-2's 32x32 grid moves corners by up to a cell
    atol = 0.1 if DIALECTS[dialect].scale == "patch_grid" else 0.02
    np.testing.assert_allclose(ours.components["iou"], baseline.components["iou"], atol=atol)


def test_gemini_boxes_are_read_y_first() -> None:
    gt = "[[100, 200, 300, 600]]"  # x1, y1, x2, y2 on 0-1000
    gemini = '[{"box_2d": [200, 100, 600, 300], "label": "cat"}]'
    right = DetectionReward(dialect="gemini").score([_completion(gemini)], [gt])
    wrong = DetectionReward().score([_completion(gemini)], [gt])  # today's x-first reading
    assert right.components["iou"][0] == pytest.approx(1.0)
    assert wrong.components["iou"][0] < 0.5


def test_auto_never_guesses_in_a_reward() -> None:
    gt = "[[100, 200, 300, 600]]"
    auto = DetectionReward(dialect="auto")
    named = auto.score([_completion("<|det|>[[100, 200, 300, 600]]<|/det|>")], [gt])
    assert named.components["iou"][0] > 0.99  # DeepSeek-VL2's <|det|> is its own
    lookalike = auto.score([_completion('[{"bbox_2d": [100, 200, 300, 600]}]')], [gt])
    assert lookalike.parse_failed[0] and lookalike.components["iou"][0] == 0.0


@pytest.mark.parametrize("dialect", POINT_DIALECTS)
def test_points_inside_the_box_in_every_dialect(dialect: str) -> None:
    solution = {"box": [100, 100, 500, 500]}  # norm1000
    answer = render_points(dialect, [[0.3, 0.3]], ["cup"], image_size=SIZE)
    res = PointingReward(dialect=dialect).score(
        [_completion(answer)], [solution], image_size=[SIZE]
    )
    assert res.components["accuracy"][0] == 1.0, answer


def test_bad_dialect_options_are_caller_errors() -> None:
    with pytest.raises(ValueError, match="dialect must be one of"):
        DetectionReward(dialect="qwen4")
    with pytest.raises(ValueError, match="writes no points"):
        PointingReward(dialect="paligemma")
    with pytest.raises(ValueError, match="needs image sizes"):
        DetectionReward(dialect="qwen25vl").score([_completion("[]")], ["[[1, 2, 3, 4]]"])


def test_released_reader_takes_no_dialect() -> None:
    with pytest.raises(ValueError, match="answer_reader='released'"):
        DetectionReward("visual_rft", dialect="paligemma")
    with pytest.raises(ValueError, match="answer_reader='released'"):
        GroundingReward("visual_rft", dialect="internvl")
