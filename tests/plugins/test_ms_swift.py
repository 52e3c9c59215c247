"""The ms-swift plug-in, registered and called the way ms-swift's GRPO does.

ms-swift 4.6 installs on CPU but needs ``trl<1.0``, which the TRL integration's test
environment cannot share. Two tests:

* always: ms-swift's steps restated from its source (commit 3602360): ``ORM`` of
  ``swift/rewards/orm.py`` (``__init__(self, args=None, **kwargs)``), the plug-in import of
  ``swift/utils/utils.py`` (``import_external_file``: the file's folder on ``sys.path``, the
  file imported by name; the 4.6.0 wheel loads it from its path under a hashed name), ``orms[name](args=args)`` and ``compute_rewards_per_func`` of
  ``swift/rl_core/grpo_algorithm.py`` (``reward(completions, **columns)``, None -> NaN);
* where ms-swift is installed: its own ``import_external_file``, ``orms``, ``GRPOSample`` and
  ``compute_rewards_per_func``.
"""

from __future__ import annotations

import importlib.util
import math
from typing import Any

import pytest

import visual_rewards.plugins.ms_swift as plugin
from visual_rewards.rewards import REWARDS, get_reward

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
GOOD = "<think>a cat</think><answer>[{'Position': [10, 10, 100, 100], 'Confidence': 0.9}]</answer>"
COMPLETIONS = [GOOD, "no answer", GOOD]
SOLUTIONS = [[[10, 10, 100, 100]], [[10, 10, 100, 100]], "not boxes"]


class ORM:
    """ms-swift's ``swift.rewards.orm.ORM``, restated (its constructor is all a plug-in uses)."""

    def __init__(self, args: Any = None, **kwargs: Any) -> None:
        self.args = args

    def __call__(self, **kwargs: Any) -> list[float]:
        raise NotImplementedError


def test_registered_names_cover_every_task_and_preset() -> None:
    orms: dict[str, Any] = {"format": object}
    names = plugin.register(orms, ORM)
    assert "format" in orms  # ms-swift's own entries stay
    want = {
        f"visual_rewards_{t}" + ("" if p == "default" else f"_{p}")
        for t, c in REWARDS.items()
        for p in c.presets
    }
    assert set(names) == want
    assert all(issubclass(orms[n], ORM) for n in names)


def test_called_as_grpo_calls_it() -> None:
    orms: dict[str, Any] = {}
    plugin.register(orms, ORM)
    reward_func = orms["visual_rewards_detection"](args=object())
    columns = {"solution": SOLUTIONS, "images": [[], [], []], "trainer_state": object()}
    output = reward_func(COMPLETIONS, **columns)
    output = [r if r is not None else math.nan for r in output]  # compute_rewards_per_func
    want = get_reward("detection").score(COMPLETIONS, SOLUTIONS).total
    assert output[:2] == want[:2].tolist() and math.isnan(output[2])
    assert type(reward_func).__name__ == "detection_default"


def test_custom_reward_class() -> None:
    reward = get_reward("counting", tolerance=1)
    cls = plugin.orm_class(reward, ORM)
    completions = ["<think>x</think><answer>4</answer>", "<think>x</think><answer>9</answer>"]
    assert cls()(completions, solution=[3, 3]) == reward.score(completions, [3, 3]).total.tolist()


def _swift() -> Any:
    if importlib.util.find_spec("swift") is None:
        return None
    try:
        import swift.rewards
    except ImportError:  # another package named swift
        return None
    return swift


@pytest.mark.skipif(_swift() is None, reason="ms-swift is not installed")
def test_ms_swifts_own_loader_and_grpo_scoring() -> None:
    import torch
    from swift.rewards import ORM as SwiftORM
    from swift.rewards import orms
    from swift.rl_core.data import GRPOSample
    from swift.rl_core.grpo_algorithm import compute_rewards_per_func
    from swift.utils.utils import import_external_file

    module = import_external_file(plugin.__file__)
    assert module is not plugin and module.__file__ == plugin.__file__  # run from its file
    assert issubclass(orms["visual_rewards_detection_visual_rft"], SwiftORM)
    funcs = [orms["visual_rewards_detection"](args=None), orms["visual_rewards_format"](args=None)]
    samples = [
        GRPOSample(
            messages=[{"role": "user", "content": "find"}, {"role": "assistant", "content": c}],
            extra={"solution": s},
        )
        for c, s in zip(COMPLETIONS, SOLUTIONS, strict=True)
    ]
    rewards = compute_rewards_per_func(samples, funcs, [None, None], device=torch.device("cpu"))
    want = get_reward("detection").score(COMPLETIONS, SOLUTIONS).total
    assert rewards[:2, 0].tolist() == pytest.approx(want[:2].tolist())
    assert math.isnan(float(rewards[2, 0]))
    assert rewards[:, 1].tolist() == [1.0, 0.0, 1.0]
