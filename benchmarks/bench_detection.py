"""Detection reward throughput: the plain-Python reference against ``DetectionReward.score``.

20,000 Visual-RFT-style completions (0-10 predicted boxes, about half of them near a
ground-truth box; 1-5 ground-truth boxes; realistic think text), in GRPO groups of 8
completions per prompt (the ground truth of a group is the same string, as in training).

Targets (issue 3), on one core: >= 50,000 completions/s for ``DetectionReward.score`` (all
components), >= 2.5x the reference in the same run, a batch of 512 in <= 15 ms.

Run: ``.venv/bin/python benchmarks/bench_detection.py [--group-size 8]`` (pins itself to one core).
``--table`` prints instead the table of what each component pays on standard cases
(``docs/rewards/detection.md``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

import reference_rewards as ref

from _common import THINK_SENTENCES, best_of, pin_one_core, random_box
from visual_rewards import DetectionReward, targets

N = 20_000


def make_group(rng: random.Random, size: int) -> tuple[str, list[str]]:
    """One prompt's ground truth (the paper's string) and ``size`` sampled completions."""
    gt = [random_box(rng) for _ in range(rng.randint(1, 5))]
    solution = (
        "<answer>[" + ", ".join(f"{{'Position': {b}, 'Confidence': 1}}" for b in gt) + "]</answer>"
    )
    completions = []
    for _ in range(size):
        think = " ".join(rng.choice(THINK_SENTENCES) for _ in range(rng.randint(2, 5)))
        items = []
        for _ in range(rng.randint(0, 10)):
            if rng.random() < 0.5:
                box = [max(0, min(1000, v + rng.randint(-25, 25))) for v in rng.choice(gt)]
                if not (box[2] > box[0] and box[3] > box[1]):
                    box = random_box(rng)
            else:
                box = random_box(rng)
            items.append(f"{{'Position': {box}, 'Confidence': {rng.random():.2f}}}")
        answer = "[" + ", ".join(items) + "]" if items else "No Objects"
        completions.append(f"<think>{think}</think>\n<answer>{answer}</answer>")
    return solution, completions


def reference_all(completions: list[str], solutions: list[str]) -> float:
    """The released code's shape: each component parses the completion again."""
    total = 0.0
    for c, s in zip(completions, solutions, strict=True):
        total += ref.visual_rft_iou(c, s) + ref.visual_rft_confidence(c, s) + ref.paper_format(c)
    return total


def _answer(items: list[tuple[tuple[int, int, int, int], float]]) -> str:
    body = ", ".join(f"{{'Position': {list(b)}, 'Confidence': {c}}}" for b, c in items)
    return f"<think>{THINK_SENTENCES[0]}</think><answer>[{body}]</answer>"


def payment_table() -> str:
    """``iou / confidence`` of each preset on the standard cases, as a Markdown table."""
    a, b, junk = (100, 100, 300, 300), (500, 500, 700, 700), (800, 50, 900, 150)
    one, two, empty = {"boxes": [a]}, {"boxes": [a, b]}, {"boxes": []}
    spam = [(a, 1.0)] + [((10 + i, 800, 20 + i, 810), 0.0) for i in range(98)]
    nothing = f"<think>{THINK_SENTENCES[0]}</think><answer>No Objects</answer>"
    cases = [
        ("exact answer, c = 1", _answer([(a, 1.0)]), one),
        ("exact answer, c = 0.5", _answer([(a, 0.5)]), one),
        ("a miss (1 of 2 found, c = 1)", _answer([(a, 1.0)]), two),
        ("+ false positive at c = 0", _answer([(a, 1.0), (junk, 0.0)]), one),
        ("+ false positive at c = 1", _answer([(a, 1.0), (junk, 1.0)]), one),
        ("+ exact duplicate at c = 1", _answer([(a, 1.0), (a, 1.0)]), one),
        ("spam: + 98 junk boxes at c = 0", _answer(spam), one),
        ("only a wrong box at c = 0", _answer([(junk, 0.0)]), one),
        ("`No Objects`, no ground truth", nothing, empty),
        ("`No Objects`, one ground-truth box", nothing, one),
    ]
    rewards = [
        DetectionReward(),
        DetectionReward(confidence_rule="brier"),
        DetectionReward("visual_rft"),
    ]
    lines = [
        "| answer (ground truth: one box unless stated) | `default` iou / confidence "
        '| `default`, `confidence_rule="brier"` | `visual_rft` |',
        "|---|---|---|---|",
    ]
    for name, completion, truth in cases:
        cells = []
        for reward in rewards:
            res = reward.score([completion], [truth])
            cells.append(f"{res.components['iou'][0]:.3g} / {res.components['confidence'][0]:.3g}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--group-size", type=int, default=8, help="completions per prompt")
    parser.add_argument("--table", action="store_true", help="print the payment table only")
    args = parser.parse_args()
    if args.table:
        print(payment_table())
        return
    pin_one_core()
    rng = random.Random(0)
    completions: list[str] = []
    solutions: list[str] = []
    while len(completions) < N:
        sol, comps = make_group(rng, args.group_size)
        completions += comps
        solutions += [sol] * len(comps)
    completions, solutions = completions[:N], solutions[:N]

    def run_ref() -> float:
        return reference_all(completions, solutions)

    t_ref, c_ref = best_of(run_ref, repeat=2), best_of(run_ref, repeat=2, clock=time.process_time)
    print(
        f"{N:,} completions, GRPO groups of {args.group_size}; wall time (CPU time of this process)"
    )
    print(
        f"reference (plain Python, visual_rft, 3 components): "
        f"{N / t_ref:>9,.0f} ({N / c_ref:,.0f}) completions/s"
    )
    for preset in ("visual_rft", "default"):
        reward = DetectionReward(preset)
        reward.score(completions[:64], solutions[:64])  # warm-up

        def run(reward: DetectionReward = reward) -> object:
            return reward.score(completions, solutions)

        t, c = best_of(run, repeat=3), best_of(run, repeat=3, clock=time.process_time)
        print(
            f"DetectionReward({preset!r}).score, all components: {N / t:>9,.0f} ({N / c:,.0f})"
            f" completions/s, {t_ref / t:.1f}x ({c_ref / c:.1f}x) the reference"
        )

        def run_cold(reward: DetectionReward = reward) -> object:
            targets._STRING_CACHE.clear()  # every ground-truth string read again
            return reward.score(completions, solutions)

        t = best_of(run_cold, repeat=2)
        print(f"  ... with a cold ground-truth cache: {N / t:>9,.0f} completions/s")
        walls, cpus = [], []
        for k in range(0, N - 512, 512 * 3):
            t0, c0 = time.perf_counter(), time.process_time()
            reward.score(completions[k : k + 512], solutions[k : k + 512])
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        print(
            f"  batch of 512: median {1e3 * statistics.median(walls):.1f} ms "
            f"({1e3 * statistics.median(cpus):.1f} ms CPU) over {len(walls)} batches"
        )


if __name__ == "__main__":
    main()
