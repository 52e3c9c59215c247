"""The visual_rft conversion of model outputs equals the released one (tests/support/released_eval.py).

Every case of issue 19's table is written out once by hand, then a seeded generator mixes
them (and more malformed shapes) into thousands of completions; the library must produce the
released detections on each, bit for bit, and report the rows the released code fails on.
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from released_eval import released_row
from timing import cpu_seconds

from visual_rewards.evaluation.protocols import (
    queried_pairs,
    released_answer,
    released_detections,
)

W, H = 640, 480
GT: dict[str, Any] = {
    "images": [{"id": 1, "width": W, "height": H}, {"id": 2, "width": 300, "height": 200}],
    "categories": [{"id": 3, "name": "hot dog"}, {"id": 5, "name": "cat"}],
    "annotations": [],
}


def _ours(completion: str, image_id: int = 1, cat: int = 3) -> tuple[list[dict[str, Any]], int]:
    dets, stats = released_detections(
        [{"image_id": image_id, "category_id": cat, "completion": completion}], GT
    )
    return dets, stats.error_rows


def _numeric(score: Any) -> bool:
    return isinstance(score, (int, float))


def _expected(completion: str, image_id: int = 1, cat: int = 3) -> tuple[list[dict[str, Any]], int]:
    """The released result, with the one documented change: a non-numeric confidence (which
    the released evaluator would crash on) ends the row, and the row counts as an error."""
    img = next(i for i in GT["images"] if i["id"] == image_id)
    preds, errors = released_row(completion, image_id, cat, img["width"], img["height"])
    for i, p in enumerate(preds):
        if not _numeric(p["score"]):
            return preds[:i], 1
    return preds, errors


def _same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """Equal detections; NaN equals NaN (json reads every NaN as the same object)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        vx = [*x["bbox"], x["score"]]
        vy = [*y["bbox"], y["score"]]
        if (x["image_id"], x["category_id"]) != (y["image_id"], y["category_id"]):
            return False
        for u, v in zip(vx, vy, strict=True):
            if not (u == v or (isinstance(u, float) and math.isnan(u) and math.isnan(v))):
                return False
            if type(u) is not type(v):
                return False
    return True


THINK = "<think>I see it.</think> "
TABLE = {
    "exact duplicate boxes": (
        THINK + "<answer>[{'Position': [100, 100, 500, 500], 'Confidence': 0.9}, "
        "{'Position': [100, 100, 500, 500], 'Confidence': 0.8}]</answer>",
        1,
    ),
    "coordinates beyond 1000": (
        THINK + "<answer>[{'Position': [900, 100, 1200, 1100], 'Confidence': 0.9}]</answer>",
        1,
    ),
    "flipped box": (
        THINK + "<answer>[{'Position': [500, 500, 100, 100], 'Confidence': 0.9}]</answer>",
        1,
    ),
    "no Confidence": (
        THINK + "<answer>[{'Position': [1, 2, 300, 400], 'Confidence': 0.7}, "
        "{'Position': [100, 100, 500, 500]}, {'Position': [5, 5, 50, 50], 'Confidence': 0.3}]"
        "</answer>",
        1,
    ),
    "truncated answer": (
        THINK + "<answer>[{'Position': [100, 100, 500, 500], 'Confidence': 0.9}, {'Posi",
        0,
    ),
    "no answer tags": ("[{'Position': [100, 100, 500, 500], 'Confidence': 0.9}]", 1),
    "bbox_2d answer": ('<answer>[{"bbox_2d": [100, 100, 500, 500], "label": "cat"}]</answer>', 0),
    "string confidence": (
        THINK + "<answer>[{'Position': [10, 10, 90, 90], 'Confidence': 0.6}, "
        "{'Position': [100, 100, 500, 500], 'Confidence': '0.9'}]</answer>",
        1,
    ),
}


def test_table_cases_behave_as_released() -> None:
    out = {name: _ours(text) for name, (text, _) in TABLE.items()}
    for name, (text, n_boxes) in TABLE.items():
        dets, errors = out[name]
        assert len(dets) == n_boxes, name
        assert _same(dets, _expected(text)[0]), name
        assert errors == _expected(text)[1], name
    assert out["coordinates beyond 1000"][0][0]["bbox"] == [576.0, 48.0, 192.0, 480.0]
    assert out["flipped box"][0][0]["bbox"] == [320.0, 240.0, -256.0, -192.0]
    assert out["no Confidence"][1] == 1  # the row is an error; the box before it is kept
    assert out["bbox_2d answer"][1] == 1
    assert out["string confidence"][1] == 1
    assert out["string confidence"][0][0]["score"] == 0.6
    # the released code itself keeps the string, which its evaluator then crashes on
    assert released_row(TABLE["string confidence"][0], 1, 3, W, H)[0][1]["score"] == "0.9"
    assert out["truncated answer"] == ([], 0) and out["exact duplicate boxes"][1] == 0


# ---------------------------------------------------------------------------------------------
# generated completions
# ---------------------------------------------------------------------------------------------


def _coord(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.7:
        return str(rng.randint(0, 1000))
    if r < 0.8:
        return str(rng.randint(1001, 1400))  # beyond 1000
    if r < 0.85:
        return str(-rng.randint(1, 50))
    if r < 0.92:
        return f"{rng.uniform(0, 1000):.1f}"
    return rng.choice(["true", "'12'", "null", "[1, 2]", "1e400", "NaN", "9" * 400])


def _position(rng: random.Random, prev: list[str] | None) -> list[str]:
    if prev is not None and rng.random() < 0.2:
        return list(prev)  # exact duplicate
    pos = [_coord(rng) for _ in range(4)]
    if rng.random() < 0.1:
        pos = [pos[2], pos[3], pos[0], pos[1]]  # flipped
    if rng.random() < 0.05:
        pos = pos[: rng.randint(0, 3)] if rng.random() < 0.5 else [*pos, "7"]
    return pos


def _confidence(rng: random.Random) -> str | None:
    r = rng.random()
    if r < 0.75:
        return f"{rng.random():.2f}"
    if r < 0.8:
        return None  # no Confidence
    return rng.choice(["1", "0", "'0.9'", "null", "[0.5]", "true", "Infinity", "{}"])


def _item(rng: random.Random, prev: list[str] | None) -> tuple[str, list[str]]:
    pos = _position(rng, prev)
    key = "bbox_2d" if rng.random() < 0.04 else "Position"
    parts = [f"'{key}': [{', '.join(pos)}]"]
    conf = _confidence(rng)
    if conf is not None:
        parts.append(f"'Confidence': {conf}")
    if rng.random() < 0.5:
        rng.shuffle(parts)
    return "{" + ", ".join(parts) + "}", pos


def _answer(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.06:
        return rng.choice(["No Objects", "[]", "['No Objects']", "{}", '"x"', "[1, 2, 3, 4]"])
    items: list[str] = []
    prev: list[str] | None = None
    for _ in range(rng.randint(1, 5)):
        text, prev = _item(rng, prev)
        items.append(text)
    if rng.random() < 0.05:
        items.append("[" + items.pop() + "]")  # nested: [[ ... ]]
    sep = ",\n" if rng.random() < 0.1 else ", "
    body = "[" + sep.join(items) + (", ..." if rng.random() < 0.05 else "") + "]"
    return body.replace("'", '"') if rng.random() < 0.1 else body


def _completion(rng: random.Random) -> str:
    answer = _answer(rng)
    r = rng.random()
    if r < 0.1:
        text = answer  # no answer tags
    elif r < 0.15:
        text = THINK + answer  # thinking but no answer tags
    else:
        text = THINK + "<answer>" + answer + "</answer>"
    if rng.random() < 0.1:
        text = text[: rng.randint(0, len(text))]  # truncated anywhere
    if rng.random() < 0.03:
        text = text + " <answer>[]</answer>"
    return text


def test_generated_outputs_equal_the_released_conversion() -> None:
    rng = random.Random(19)
    texts = [_completion(rng) for _ in range(3000)]
    seen = {"boxes": 0, "errors": 0, "empty": 0}
    for i, text in enumerate(texts):
        image_id, cat = (1, 3) if i % 2 else (2, 5)
        ours, errors = _ours(text, image_id, cat)
        want, want_errors = _expected(text, image_id, cat)
        assert _same(ours, want), text
        assert errors == want_errors, text
        seen["boxes"] += len(ours)
        seen["errors"] += errors
        seen["empty"] += not ours
    # the generator exercises every outcome, often
    assert min(seen.values()) > 200, seen


def test_rows_are_converted_together_with_their_stats() -> None:
    rows = [
        {"image_id": 1, "category": "hot dog", "completion": TABLE["flipped box"][0]},
        {"image_id": 1, "category": "hot dog", "completion": TABLE["flipped box"][0]},
        {"image_id": 9, "category": "cat", "completion": ""},
        {"image_id": 1, "category": "unicorn", "completion": ""},
        {
            "image_id": 2,
            "metadata": '{"category": "cat"}',
            "completion": TABLE["bbox_2d answer"][0],
        },
    ]
    dets, stats = released_detections(rows, GT)
    assert [d["image_id"] for d in dets] == [1]
    s = stats.to_dict()
    assert (s["rows"], s["converted"], s["duplicate_pairs"]) == (5, 2, 1)
    assert (s["unknown_image"], s["unknown_category"], s["error_rows"]) == (1, 1, 1)
    assert s["errors"] == [{"row": 4, "reason": "item 0 has no 'Position'"}]


def test_exist_map_decides_which_pairs_are_converted() -> None:
    exist = {"1": ["cat"], "2": ["cat", "hot dog", "unicorn"]}
    assert queried_pairs(exist, GT) == {(1, 5), (2, 5), (2, 3)}
    assert queried_pairs(exist, GT, cat_ids=[3]) == {(2, 3)}
    box = "<answer>[{'Position': [0, 0, 500, 500], 'Confidence': 0.5}]</answer>"
    rows = [
        {"image_id": 1, "category_id": 3, "completion": box},  # not in the exist map
        {"image_id": 1, "category_id": 5, "completion": box},
        {"image_id": 2, "category_id": 3, "completion": box},
    ]
    dets, stats = released_detections(rows, GT, exist_map=exist, cat_ids=[5])
    assert [(d["image_id"], d["category_id"]) for d in dets] == [(1, 5)]
    assert (stats.not_queried, stats.missing_pairs) == (2, 1)  # (2, cat) is never answered
    dets, stats = released_detections(rows, GT, cat_ids=[3])
    assert len(dets) == 2 and stats.not_queried == 1


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("<>/answer[]{},:'\" 0123456789.-\nPositionConfidence")),
        max_size=120,
    )
)
def test_never_raises_and_agrees_with_the_released_code(text: str) -> None:
    answer = released_answer(text)
    assert len(answer.boxes) == len(answer.scores)
    ours, errors = _ours(text)
    want, want_errors = _expected(text)
    assert _same(ours, want) and errors == want_errors


ADVERSARIAL = {
    "many openings": "<answer>" * 200_000,
    "openings on lines": "<answer>\n" * 100_000,
    "unclosed objects": "<answer>" + "[{" * 100_000,
    "deep nesting": "<answer>[" + "[ " * 50_000 + "]</answer>",
    "long integer": "<answer>[{'Position': ["
    + "9" * 5000
    + ", 1, 2, 3], 'Confidence': 1}]</answer>",
    "many boxes": "<answer>["
    + ", ".join(["{'Position': [1, 2, 3, 4], 'Confidence': 1}"] * 50_000)
    + "]</answer>",
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_hostile_outputs_take_linear_time_and_never_raise(name: str) -> None:
    from visual_rewards.evaluation.protocols import released_class_hit

    text = ADVERSARIAL[name]
    answer, seconds = cpu_seconds(released_answer, text)
    seconds += cpu_seconds(released_class_hit, text, "cat")[1]
    assert seconds < 2.0, name
    if name.startswith("many openings") or name.startswith("openings"):
        # the released regular expression is quadratic here: compare with the known outcome
        assert answer == released_answer("") and not answer.boxes
    else:
        ours, errors = _ours(text)
        want, want_errors = _expected(text)
        assert _same(ours, want) and errors == want_errors
    if name in ("deep nesting", "long integer"):
        assert answer.error is not None and answer.error.startswith("answer could not be read")
