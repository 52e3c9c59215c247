"""Metrics as Markdown tables: what ``visual-rewards evaluate`` prints for a result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["markdown_table", "render_metrics"]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table; floats with 4 decimals, ``None`` as ``-``.

    >>> print(markdown_table(["a", "b"], [["x", 0.5], ["y", None]]))
    | a | b |
    |---|---:|
    | x | 0.5000 |
    | y | - |
    """
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render_metrics(result: Mapping[str, Any]) -> str:
    """The Markdown shown on screen for a result of any task."""
    task = result["task"]
    parts: list[str] = []
    if task == "detection":
        stats = result["stats"]
        parts.append(f"{result['kind'].upper()} detection metrics")
        parts.append(markdown_table(list(stats), [list(stats.values())]))
        per_cat = result["per_category"]
        if per_cat:
            parts.append("Per category")
            rows = [[name, v["AP"], v["AP50"], v["n_gt"]] for name, v in per_cat.items()]
            parts.append(markdown_table(["category", "AP", "AP50", "gt boxes"], rows))
    elif task == "classification":
        parts.append(f"Classification accuracy ({result['reward']})")
        parts.append(
            markdown_table(
                ["rows", "n/a", "accuracy"],
                [[result["rows"], result["not_applicable"], result["accuracy"]]],
            )
        )
        parts.append("Per dataset")
        parts.append(
            markdown_table(
                ["dataset", "accuracy", "n"],
                [[k, v["accuracy"], v["n"]] for k, v in result["per_dataset"].items()],
            )
        )
        parts.append("Per class")
        parts.append(
            markdown_table(
                ["class", "accuracy", "n"],
                [[k, v["accuracy"], v["n"]] for k, v in result["per_class"].items()],
            )
        )
    elif task == "grounding":
        parts.append("Grounding metrics (boxes)")
        box = result["box"]
        parts.append(
            markdown_table(
                ["rows", "no prediction", "bad ground truth", *box],
                [
                    [
                        result["rows"],
                        result["no_prediction"],
                        result["bad_ground_truth"],
                        *box.values(),
                    ]
                ],
            )
        )
        if "mask" in result:
            parts.append("Grounding metrics (masks)")
            mask = result["mask"]
            parts.append(markdown_table(list(mask), [list(mask.values())]))
    if result.get("input_errors"):
        parts.append(f"{len(result['input_errors'])} input line(s) could not be read")
    return "\n\n".join(parts)
