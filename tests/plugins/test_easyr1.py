"""The EasyR1 plug-in, loaded the way EasyR1 loads a reward function.

EasyR1 is not on PyPI and its package is named ``verl``, so it cannot be installed beside
veRL. Two tests:

* always: EasyR1's loading and calling steps, restated from ``verl/workers/reward/function.py``
  (commit b44b311: ``AutoRewardManager.__init__`` and ``compute_reward_batch``) and
  ``verl/trainer/metrics.py`` (``reduce_metrics``), with the same argument types;
* with ``EASYR1_SRC=/path/to/EasyR1`` set: EasyR1's own ``AutoRewardManager`` and
  ``DataProto``, in a subprocess whose ``verl`` is EasyR1's (CPU only).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

import visual_rewards.plugins.easyr1 as plugin
from visual_rewards.rewards import get_reward

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
SRC = Path(__file__).resolve().parents[2] / "src"
GOOD = "<think>a cat</think><answer>[{'Position': [10, 10, 100, 100], 'Confidence': 0.9}]</answer>"
RESPONSES = [GOOD, "<think>?</think><answer>[]</answer>", "no answer", GOOD]
TRUTHS = [[[10, 10, 100, 100]], [[10, 10, 100, 100]], [[1, 2, 3, 4]], "not boxes"]


def test_loaded_and_called_as_easyr1_does() -> None:
    # AutoRewardManager.__init__: load the file under the name EasyR1 uses, read its metadata
    spec = importlib.util.spec_from_file_location("custom_reward_fn", plugin.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert getattr(module, "REWARD_TYPE", "batch") == "batch"
    reward_fn = partial(module.compute_score, **{"task": "detection", "not_applicable_score": -1.0})
    # compute_reward_batch: one dict per sample, ground truth from a numpy object array
    ground_truth = np.empty(len(TRUTHS), dtype=object)
    ground_truth[:] = TRUTHS
    inputs = [
        {"response": r, "response_length": len(r), "ground_truth": ground_truth[i]}
        for i, r in enumerate(RESPONSES)
    ]
    scores = reward_fn(inputs)
    want = get_reward("detection").score(RESPONSES, TRUTHS)
    assert [s["overall"] for s in scores] == [*want.total[:3].tolist(), -1.0]
    assert [s["applicable"] for s in scores] == [1.0, 1.0, 1.0, 0.0]
    assert {frozenset(s) for s in scores} == {
        frozenset({"overall", "applicable", "parse_failed", *want.components})
    }
    # reduce_metrics: np.mean of every key must be a finite float
    metrics = {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}
    assert all(np.isfinite(v) for v in metrics.values())


def test_json_ground_truth_and_bad_options() -> None:
    inputs = [{"response": GOOD, "response_length": 1, "ground_truth": json.dumps(TRUTHS[0])}]
    assert (
        plugin.compute_score(inputs, ground_truth_format="json", task="detection")[0]["overall"] > 2
    )
    with pytest.raises(ValueError, match="ground_truth_format"):
        plugin.compute_score(inputs, ground_truth_format="yaml", task="detection")
    with pytest.raises(TypeError, match="unknown reward_kwargs key"):
        plugin.compute_score(inputs, task="detection", colour=1)
    with pytest.raises(ValueError, match="cannot tell the task"):
        plugin.compute_score(inputs)


_REAL = """
import json, sys
import numpy as np, torch
from verl.protocol import DataProto
from verl.trainer.metrics import reduce_metrics
from verl.workers.reward.config import RewardConfig
from verl.workers.reward.function import AutoRewardManager

class ByteTokenizer:  # token ids are UTF-8 bytes
    def decode(self, ids, skip_special_tokens=True):
        return bytes(int(i) for i in ids).decode()

responses, truths = json.loads(sys.argv[2]), json.loads(sys.argv[3])
config = RewardConfig(reward_function=sys.argv[1] + ":compute_score",
                      reward_function_kwargs={"task": "detection"})
config.post_init()
manager = AutoRewardManager(config, ByteTokenizer())
ids = [list(r.encode()) for r in responses]
width = max(map(len, ids))
tensor = torch.tensor([i + [0] * (width - len(i)) for i in ids])
mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i in ids])
gt = np.empty(len(truths), dtype=object); gt[:] = truths
data = DataProto.from_dict(tensors={"responses": tensor, "response_mask": mask},
                           non_tensors={"ground_truth": gt})
reward_tensor, metrics = manager.compute_reward(data)
last = [float(reward_tensor[k, len(i) - 1]) for k, i in enumerate(ids)]
print(json.dumps({"rewards": last, "metrics": {k: float(v) for k, v in reduce_metrics(metrics).items()}}))
"""


@pytest.mark.skipif(not os.environ.get("EASYR1_SRC"), reason="set EASYR1_SRC to an EasyR1 checkout")
def test_easyr1s_own_reward_manager() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.environ["EASYR1_SRC"], str(SRC)])}
    out = subprocess.run(
        [sys.executable, "-c", _REAL, plugin.__file__, json.dumps(RESPONSES), json.dumps(TRUTHS)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=300,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    want = get_reward("detection").score(RESPONSES, TRUTHS)
    assert got["rewards"] == pytest.approx([*want.total[:3].tolist(), 0.0], abs=1e-6)
    assert got["metrics"]["applicable"] == 0.75
    assert set(got["metrics"]) == {"overall", "applicable", "parse_failed", *want.components}
