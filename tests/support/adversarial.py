"""Adversarial completions up to 1 MiB, for the resource-bound tests and benchmark.

Each is wrapped in well-formed think/answer tags so that it reaches the answer parsers.
"""

from __future__ import annotations

MIB = 1 << 20


def _wrap(answer: str) -> str:
    return "<think>x</think><answer>" + answer + "</answer>"


def adversarial_completions(size: int = MIB) -> dict[str, str]:
    """Name -> completion of about ``size`` characters."""
    box_item = "{'Position': [1, 2, 30, 40], 'Confidence': 0.5}, "
    json_item = '{"bbox_2d": [1, 2, 30, 40], "label": "x"}, '
    return {
        "deep brackets": _wrap("[" * size),
        "deep braces": _wrap("{" * size),
        "deep parens": _wrap("(" * size),
        "open quotes": _wrap("'" * size),
        "many Visual-RFT items": _wrap("[" + box_item * (size // len(box_item)) + "]"),
        "many bbox_2d items": _wrap("[" + json_item * (size // len(json_item)) + "]"),
        "many bare boxes (1e5)": _wrap("[" + "[1,2,3,4]," * min(100_000, size // 10) + "]"),
        "huge digit string": _wrap("[" + "9" * size + ", 1, 2, 3]"),
        "many tags (1e4+)": "<think>" * (size // 7),
        "alternating tags": "<think>x</think><answer>y</answer>" * (size // 33),
        "unclosed answer": "<think>x</think><answer>" + "[1, 2, 3, 4], " * (size // 14),
        "qwen2 tokens": _wrap("<|object_ref_start|>" * (size // 20)),
        "qwen2 boxes": _wrap("(1,2),(3,4)" * (size // 11)),
        "label apostrophes": _wrap(
            "[{'Position': [1, 2, 3, 4], 'label': '" + "'s" * (size // 2) + "}]"
        ),
        "nested no objects": _wrap("['No Objects'" * (size // 13)),
        "whitespace": _wrap(" " * size),
        "unicode digits": _wrap("[" + "٣" * size + "]"),
        # issue 13: the paper's format regex and answer extraction were quadratic on these
        "think then answer opens": "<think>" + "</think><answer>" * (size // 16) + "x",
        "answer opens": "<answer>" * (size // 8),
        "answer per line": "<think>x</think>" + "<answer>x\n" * (size // 10) + "</answer>",
        "invisible content": "<think>"
        + "\u200b" * (size // 2)
        + "</think><answer>"
        + "\u00ad\u0301" * (size // 4)
        + "</answer>",
        "digits in keys": _wrap(
            "[" + "{'Position1': [1, 2, 3, 4], 'Confidence': }, " * (size // 45) + "]"
        ),
        "hedged counts": _wrap("not 3 or about 4 to 5, " * (size // 23)),
    }
