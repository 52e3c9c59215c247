"""EasyR1 reward function: ``worker.reward.reward_function=<this file>:compute_score``.

EasyR1 (github.com/hiyouga/EasyR1, ``verl/workers/reward/function.py``, read at commit
b44b311) loads the file given as ``reward_function`` (``path:function``) with
``importlib.util.spec_from_file_location``, reads the module's ``REWARD_TYPE`` (``"batch"``:
the function gets the whole batch) and calls ``function(reward_inputs,
**reward_function_kwargs)``, where each reward input is a dict ``{"response": str,
"response_length": int, "ground_truth": ...}`` (the response decoded with
``skip_special_tokens``, the ground truth from the dataset's answer column). It wants one dict
of floats per input with an ``"overall"`` key (the reward), and averages every key into the
``reward/<key>`` training metrics.

Scoring and routing are the veRL integration's (:func:`visual_rewards.verl.score_items`;
EasyR1 is a veRL fork), and so are the options, given as ``reward_function_kwargs``::

    worker:
      reward:
        reward_function: /path/to/visual_rewards/plugins/easyr1.py:compute_score
        reward_function_kwargs:
          task: detection          # EasyR1 passes no data source: name the task here
          preset: visual_rft
          detection: {iou_threshold: 0.5}
          not_applicable_score: 0.0
          ground_truth_format: json  # optional: the answer column holds JSON strings

Each result has ``overall`` (the reward; ``not_applicable_score`` where a malformed ground
truth makes the reward not apply), ``applicable``, ``parse_failed`` and the reward's
components (``iou``, ``confidence``, ``format``, ...), all floats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from visual_rewards.verl import RewardOptions, ScoreItem, score_items

__all__ = ["REWARD_NAME", "REWARD_TYPE", "compute_score"]

#: Read by EasyR1's loader (printed in its log).
REWARD_NAME = "visual_rewards"
#: Read by EasyR1's loader: the function takes the whole batch of reward inputs.
REWARD_TYPE = "batch"


def compute_score(
    reward_inputs: Sequence[Mapping[str, Any]],
    ground_truth_format: str | None = None,
    **options: Any,
) -> list[dict[str, float]]:
    """Score EasyR1's batch of reward inputs; one dict with ``"overall"`` per input.

    >>> compute_score([{"response": "<think>a</think><answer>b</answer>",
    ...                 "response_length": 9, "ground_truth": ""}], task="format")
    [{'overall': 1.0, 'applicable': 1.0, 'parse_failed': 0.0, 'format': 1.0}]
    """
    if ground_truth_format not in (None, "json"):
        raise ValueError(
            f"ground_truth_format must be 'json' or unset, got {ground_truth_format!r}"
        )
    info = {"ground_truth_format": ground_truth_format} if ground_truth_format else None
    items = [
        ScoreItem(None, str(inp["response"]), inp.get("ground_truth"), info)
        for inp in reward_inputs
    ]
    rows = score_items(items, RewardOptions.from_kwargs(options)).rows
    return [{"overall": row.pop("score"), **row} for row in rows]
