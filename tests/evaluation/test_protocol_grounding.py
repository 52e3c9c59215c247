"""visual_rft grounding mIoU equals the released LISA evaluation (tests/support/released_eval.py)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from released_eval import lisa_row_iou
from timing import cpu_seconds

from visual_rewards.evaluation.protocols import (
    released_grounding_box,
    released_grounding_metrics,
)

SIZE = (640, 427)
BOX = [100.5, 40.0, 333.25, 400.0]


def _completion(rng: random.Random) -> str:
    def num() -> str:
        r = rng.random()
        if r < 0.85:
            return str(rng.randint(0, 1000))
        return rng.choice(["1200", "-5", "x1", "0.5", "٣", "9" * 5000, ""])

    def sp() -> str:
        return rng.choice(["", "", " ", "  ", "\n", "\t", "\u00a0", "\x1c"])

    pair = lambda: f"({sp()}{num()}{sp()},{sp()}{num()}{sp()})"  # noqa: E731
    box = f"{pair()}{sp()},{sp()}{pair()}"
    true = [round(v / s * 1000) + rng.randint(-40, 40) for v, s in zip(BOX, SIZE * 2, strict=True)]
    near = "({},{}),({},{})".format(*true)
    body = rng.choice(
        [box, near, near, f"[{num()}, {num()}, {num()}, {num()}]", pair(), f"{pair()} and {box}"]
    )
    text = rng.choice(
        ["<think>look</think>\n<answer>{}</answer>", "{}", "(a) then {}", "{} (1,2),(3,4)"]
    )
    out = text.format(body)
    return out[: rng.randint(0, len(out))] if rng.random() < 0.1 else out


def test_generated_outputs_score_as_released() -> None:
    rng = random.Random(4)
    rows, want = [], []
    for _ in range(3000):
        text = _completion(rng)
        rows.append({"completion": text, "box_xyxy_pixel": BOX, "image_size": list(SIZE)})
        want.append(lisa_row_iou(text, BOX, SIZE))
    got = released_grounding_metrics(rows)
    assert got["box"]["mIoU"] == sum(want) / len(want)
    assert 200 < got["no_prediction"] < 2800 and got["bad_ground_truth"] == 0
    assert sum(w > 0.5 for w in want) > 100


def test_truth_from_the_solution_when_no_pixel_box() -> None:
    rows = [{"completion": "<answer>(100,200),(300,400)</answer>", "solution": "<answer> (100,200),(300,400) </answer>"},
            {"completion": "", "solution": "No box"}]  # fmt: skip
    got = released_grounding_metrics(rows)
    assert got["box"]["mIoU"] > 0.9999 and got["bad_ground_truth"] == 1 and got["rows"] == 2


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("(),0123456789 \n\t\u00a0\x1cx٣")), max_size=80))
def test_reader_equals_the_released_pattern(text: str) -> None:
    pred = released_grounding_box(text)
    want = lisa_row_iou(text, [0, 0, 640, 427], (640, 427))
    got = (
        0.0
        if pred is None
        else lisa_row_iou(
            "({},{}),({},{})".format(*(round(v * 1000) for v in pred)), [0, 0, 640, 427], (640, 427)
        )
    )
    assert got == want


def test_hostile_text_is_linear() -> None:
    for text in ["(" * 200_000, "( 1 , 2 ) x " * 50_000, "(1," + " " * 200_000]:
        box, seconds = cpu_seconds(released_grounding_box, text)
        assert box is None
        assert seconds < 2.0
