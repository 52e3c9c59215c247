"""visual_rft classification accuracy equals the released inference script's judgement."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from released_eval import released_class_right

from visual_rewards.evaluation.protocols import (
    released_class_hit,
    released_classification_accuracy,
)

NAMES = ["Boeing 737-800", "A320", "pink primrose", "Abyssinian", "hard-leaved pocket orchid"]


def _completion(rng: random.Random, truth: str) -> str:
    answer = rng.choice(
        [truth, truth.upper(), truth.replace(" ", "_"), truth[: len(truth) // 2], "", " ",
         rng.choice(NAMES), f"It is a {truth}.", truth + "\n", "\t" + truth]
    )  # fmt: skip
    r = rng.random()
    if r < 0.7:
        text = f"<think>hm</think> <answer>{answer}</answer>"
    elif r < 0.8:
        text = f"<think>hm</think> <answer>{answer}"  # truncated
    elif r < 0.9:
        text = f"<answer>a\nb</answer> <answer>{answer}</answer>"  # first answer spans a line
    else:
        text = answer  # no tags
    return text


def test_generated_outputs_score_as_the_released_script() -> None:
    rng = random.Random(2)
    rows = []
    for i in range(2000):
        truth = NAMES[i % len(NAMES)]
        text = _completion(rng, truth)
        assert released_class_hit(text, truth) == released_class_right(text, truth), text
        rows.append({"completion": text, "solution": f"<answer>{truth}</answer>", "dataset": "x"})
    result = released_classification_accuracy(rows)
    right = sum(released_class_right(r["completion"], r["solution"][8:-9]) for r in rows)
    assert result["accuracy"] == right / len(rows)
    assert 0.3 < result["accuracy"] < 0.9 and result["no_answer"] > 100
    assert sum(v["n"] for v in result["per_class"].values()) == len(rows)


def test_empty_answer_is_a_hit_as_released() -> None:
    # the released rule's quirk: "" is contained in every class name
    assert released_class_hit("<answer></answer>", "rose")
    assert not released_class_hit("rose", "rose")  # no answer tags: a miss


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/answer \n_Rrose")), max_size=60))
def test_never_raises_and_agrees(text: str) -> None:
    assert released_class_hit(text, "rose") == released_class_right(text, "rose")
