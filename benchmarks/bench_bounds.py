"""Worst-case time and memory per completion, for every reward, on 1 MiB adversarial inputs.

Target (docs/guarantees.md): under 50 ms and 50 MB per completion. Memory is the
peak of Python allocations (tracemalloc) while scoring one completion, input excluded.

Run: ``.venv/bin/python benchmarks/bench_bounds.py`` (pins itself to one core).
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

from adversarial import adversarial_completions
from reward_cases import CASES

from _common import pin_one_core
from visual_rewards.rewards import REWARDS

LIMIT_MS, LIMIT_MB = 50.0, 50.0


def measure(task: str, preset: str, text: str) -> tuple[float, float]:
    """(best-of-3 milliseconds, peak MiB) to score one completion."""
    case = CASES[task]
    reward = REWARDS[task](preset, **(case.options if preset == "default" else {}))
    solutions = None if case.solution is None else [case.solution]
    reward.score([case.correct], solutions)  # warm caches (label sets, regexes)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        reward.score([text], solutions)
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    reward.score([text], solutions)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best * 1e3, peak / 2**20


def main() -> int:
    pin_one_core()
    # 1 MiB inputs hit the answer-length cap; inputs just under it (60 KB) are parsed in full.
    inputs = {
        f"{name} ({size // 1000} KB)": text
        for size in (1 << 20, 60_000)
        for name, text in adversarial_completions(size).items()
    }
    print(f"{'reward':<26} {'worst input':<36} {'ms':>8} {'MiB':>8}")
    failed = False
    for task in CASES:
        if task not in REWARDS:
            continue
        for preset in REWARDS[task].presets:
            rows = [(name, *measure(task, preset, text)) for name, text in inputs.items()]
            name_t, ms, _ = max(rows, key=lambda r: r[1])
            name_m, _, mib = max(rows, key=lambda r: r[2])
            label = f"{task}/{preset}"
            print(f"{label:<26} {name_t:<36} {ms:>8.2f} {'':>8}")
            print(f"{'':<26} {name_m:<36} {'':>8} {mib:>8.2f}")
            failed |= ms > LIMIT_MS or mib > LIMIT_MB
    print(
        f"\ntargets: < {LIMIT_MS:.0f} ms and < {LIMIT_MB:.0f} MB per completion: {'MISSED' if failed else 'met'}"
    )
    return int(failed)


if __name__ == "__main__":
    raise SystemExit(main())
