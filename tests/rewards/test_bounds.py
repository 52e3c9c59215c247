"""Resource bounds: every reward scores 1 MiB adversarial completions in bounded time and memory.

The limits here are generous (CI machines vary); the figures themselves come from
``benchmarks/bench_bounds.py`` (target: 50 ms and 50 MB per completion).
"""

from __future__ import annotations

import math
import tracemalloc

import pytest
from adversarial import adversarial_completions
from reward_cases import CASES
from timing import cpu_seconds

from visual_rewards.rewards import REWARDS

# 1 MiB inputs hit the answer-length cap; inputs just under it are parsed in full.
INPUTS = {
    f"{name} ({size // 1000} KB)": text
    for size in (1 << 20, 60_000)
    for name, text in adversarial_completions(size).items()
}
TASKS = [t for t in CASES if t in REWARDS]


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("name", list(INPUTS))
def test_adversarial_input_is_bounded(task: str, name: str) -> None:
    case = CASES[task]
    solutions = None if case.solution is None else [case.solution]
    for preset in REWARDS[task].presets:
        reward = REWARDS[task](preset, **(case.options if preset == "default" else {}))
        reward.score([case.correct], solutions)  # warm-up
        # CPU time (other processes on a shared machine do not count), without tracemalloc
        # (it slows allocation-heavy code several times); memory on a second call
        res, seconds = cpu_seconds(reward.score, [INPUTS[name]], solutions)
        tracemalloc.start()
        reward.score([INPUTS[name]], solutions)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert seconds < 1.0, f"{task}/{preset} took {seconds:.3f} s of CPU on {name!r}"
        assert peak < 200 * 2**20, f"{task}/{preset} peaked at {peak / 2**20:.0f} MiB on {name!r}"
        total = res.total[0]
        assert math.isfinite(total)
        if preset == "default" and task != "format":  # the paper's rules are exploitable by design
            assert total < reward.score([case.correct], solutions).total[0]
