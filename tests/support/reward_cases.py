"""One worked example per task: a ground truth, the correct completion, and adversarial answers.

Shared by the concurrency, resource-bound and reward-hacking tests, the bounds benchmark and
the reward fuzz target, so that every registered reward is exercised the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def complete(answer: str, think: str = "I looked at the image carefully.") -> str:
    """A well-formed completion around ``answer``."""
    return f"<think>{think}</think>\n<answer>{answer}</answer>"


@dataclass(frozen=True)
class Case:
    """A task's worked example.

    Attributes:
        solution: one valid ground truth (the ``solution`` column), None for format.
        correct: the completion that deserves the full reward.
        hacks: strategy name -> completion that must earn strictly less than ``correct``
            under the default preset.
        options: keyword options for the reward (e.g. a label set).
    """

    solution: Any
    correct: str
    hacks: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


GT_BOXES = [[100, 100, 400, 400], [500, 500, 900, 900]]
DET_SOLUTION = "<answer>[{'Position': [100, 100, 400, 400], 'Confidence': 1}, {'Position': [500, 500, 900, 900], 'Confidence': 1}]</answer>"


def _vrft(boxes: list[list[int]], conf: float | list[float] = 0.95) -> str:
    confs = conf if isinstance(conf, list) else [conf] * len(boxes)
    return (
        "["
        + ", ".join(
            f"{{'Position': {b}, 'Confidence': {c}}}" for b, c in zip(boxes, confs, strict=True)
        )
        + "]"
    )


CASES: dict[str, Case] = {
    "format": Case(
        solution=None,
        correct=complete("anything"),
        hacks={
            "empty blocks": "<think></think><answer></answer>",
            "repeated answer": complete("a") + "<answer>b</answer>",
            "no think": "<answer>a</answer>",
            "text outside": "Sure! " + complete("a"),
        },
    ),
    "detection": Case(
        solution=DET_SOLUTION,
        correct=complete(_vrft(GT_BOXES, 1.0)),
        hacks={
            "empty answer": complete(""),
            "no objects": complete("No Objects"),
            "whole image box": complete(_vrft([[0, 0, 1000, 1000]], 1.0)),
            "one right box only": complete(_vrft(GT_BOXES[:1], 1.0)),
            "duplicates of the right boxes": complete(_vrft(GT_BOXES * 3, 1.0)),
            "junk boxes after the right ones": complete(
                _vrft(
                    GT_BOXES + [[10 * i, 10 * i, 10 * i + 5, 10 * i + 5] for i in range(60)],
                    [1.0, 1.0] + [0.0] * 60,
                )
            ),
            "wrong box with confidence 0": complete(_vrft([[700, 100, 900, 300]], 0.0)),
            "NaN confidence": complete(
                "[{'Position': [100, 100, 400, 400], 'Confidence': NaN}, {'Position': [500, 500, 900, 900], 'Confidence': NaN}]"
            ),
            "confidence above 1": complete(_vrft(GT_BOXES, 5.0)),
            "shares a number with the GT": complete(_vrft([[100, 0, 101, 1]], 1.0)),
            "flipped boxes": complete(_vrft([[400, 400, 100, 100], [900, 900, 500, 500]], 1.0)),
            "huge boxes": complete(_vrft([[-5000, -5000, 5000, 5000]] * 2, 1.0)),
            "format trick: two answers": complete(_vrft(GT_BOXES, 1.0))
            + "<answer>No Objects</answer>",
            "truncated": "<think>x</think><answer>" + _vrft(GT_BOXES, 1.0)[:-30],
        },
    ),
    "grounding": Case(
        solution=[100, 100, 400, 400],
        correct=complete("[100, 100, 400, 400]"),
        hacks={
            "empty answer": complete(""),
            "whole image box": complete("[0, 0, 1000, 1000]"),
            "flipped box": complete("(1000,1000),(0,0)"),
            "many boxes": complete(
                "[[0, 0, 500, 500], [100, 100, 400, 400], [500, 500, 1000, 1000]]"
            ),
            "half the box": complete("[100, 100, 250, 400]"),
            "no tags": "[100, 100, 400, 400]",
        },
    ),
    "classification": Case(
        solution="Boeing 737-800",
        correct=complete("Boeing 737-800"),
        options={
            "labels": [
                "Boeing 737-800",
                "Boeing 737-900",
                "Airbus A320",
                "Airbus A321",
                "Cessna 172",
            ]
        },
        hacks={
            "empty answer": complete(""),
            "every class": complete(
                "Boeing 737-800, Boeing 737-900, Airbus A320, Airbus A321, Cessna 172"
            ),
            "two classes": complete("Boeing 737-800 or Airbus A320"),
            "the neighbour class": complete("Boeing 737-900"),
            "prefix only": complete("Boeing"),
            "very long answer": complete("Boeing 737-800 " * 200),
            "no tags": "Boeing 737-800",
        },
    ),
    "counting": Case(
        solution=3,
        correct=complete("3"),
        hacks={
            "empty answer": complete(""),
            "several numbers": complete("2 3 4"),
            "off by one": complete("4"),
            "none": complete("none"),
            "no tags": "3",
        },
    ),
    "pointing": Case(
        solution=[100, 100, 400, 400],
        correct=complete('[{"point_2d": [250, 250]}]'),
        hacks={
            "empty answer": complete(""),
            "point outside": complete("(600, 600)"),
            "many points": complete("[[250, 250], [700, 700], [900, 100], [50, 950]]"),
            "no tags": "(250, 250)",
        },
    ),
}
