"""From what a model wrote to structured, validated predictions.

Two steps, each lenient on model text and strict on caller arguments:

1. :mod:`~visual_rewards.parsing.completion` splits a completion into its ``<think>`` and
   ``<answer>`` parts and decides whether the format is right (:func:`parse_completion`).
2. :mod:`~visual_rewards.parsing.answers` turns an answer into boxes or points in normalised
   coordinates (:func:`parse_detections`, :func:`parse_points`), keeping a short reason for
   every item it drops; :mod:`~visual_rewards.parsing.batch` does the same for a batch of
   answers (:func:`parse_detections_batch`, row for row equal to the general reader);
   :mod:`~visual_rewards.parsing.numbers` reads numbers and counts.

Nothing here evaluates model text, and nothing raises on it: every scan is linear in the
input, the input length and the number of items are capped, and numbers must be finite reals
written in ASCII digits.
"""

from visual_rewards.parsing.answers import (
    DEFAULT_MAX_ANSWER_CHARS,
    DEFAULT_MAX_ITEMS,
    Detections,
    Points,
    parse_detections,
    parse_points,
)
from visual_rewards.parsing.batch import DetectionsBatch, parse_detections_batch
from visual_rewards.parsing.completion import (
    DEFAULT_MAX_COMPLETION_CHARS,
    ParsedCompletion,
    completion_text,
    parse_completion,
    unwrap_answer,
    visual_rft_answer,
    visual_rft_format_ok,
)
from visual_rewards.parsing.dialect_render import render_boxes, render_points
from visual_rewards.parsing.dialects import (
    DIALECT_NAMES,
    DIALECTS,
    Dialect,
    detect_dialect,
    get_dialect,
)
from visual_rewards.parsing.numbers import NUMBER_WORDS, parse_count, parse_number

__all__ = [
    "DEFAULT_MAX_ANSWER_CHARS",
    "DEFAULT_MAX_COMPLETION_CHARS",
    "DEFAULT_MAX_ITEMS",
    "DIALECTS",
    "DIALECT_NAMES",
    "NUMBER_WORDS",
    "Detections",
    "DetectionsBatch",
    "Dialect",
    "ParsedCompletion",
    "Points",
    "completion_text",
    "detect_dialect",
    "get_dialect",
    "parse_completion",
    "parse_count",
    "parse_detections",
    "parse_detections_batch",
    "parse_number",
    "parse_points",
    "render_boxes",
    "render_points",
    "unwrap_answer",
    "visual_rft_answer",
    "visual_rft_format_ok",
]
