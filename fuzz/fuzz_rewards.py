"""Coverage-guided fuzz target (atheris) for every registered reward, both presets.

Each input picks a task and a preset and becomes one completion scored against that task's
worked-example ground truth (tests/support/reward_cases.py). Invariants: no exception, a finite total,
every component finite and in its declared range (``Reward.component_range``).

Run: ``scripts/fuzz.sh 600`` or ``python fuzz/fuzz_rewards.py -max_total_time=600``.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import atheris
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

with atheris.instrument_imports(include=["visual_rewards"]):
    from visual_rewards.rewards import REWARDS

from reward_cases import CASES

REWARD_LIST = [
    (
        REWARDS[task](preset, **(CASES[task].options if preset == "default" else {})),
        CASES[task].solution,
    )
    for task in CASES
    if task in REWARDS
    for preset in REWARDS[task].presets
]


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    reward, solution = REWARD_LIST[fdp.ConsumeIntInRange(0, len(REWARD_LIST) - 1)]
    text = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    res = reward.score([text], None if solution is None else [solution])
    assert math.isfinite(res.total[0]), (reward, text)
    for name, values in res.components.items():
        low, high = reward.component_range(name)
        assert np.isfinite(values).all() and low <= values[0] <= high, (reward, name, values)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
