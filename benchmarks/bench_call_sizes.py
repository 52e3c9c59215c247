"""Rewards at the call sizes trainers use, next to the released Visual-RFT reward code.

TRL calls each reward with one device's batch (8 to 16 completions), veRL once per sample;
evaluation scores a whole split at once. This prints completions/s for calls of 1, 8, 16,
64, 512 and 20,000 completions:

- for detection (``default`` and ``visual_rft``), grounding and classification (both presets);
- with a warm ground-truth cache (every ground-truth string read before) and a cold one
  (emptied before every call);
- for GRPO groups of 8 completions sharing one ground truth, and for distinct ground truths;
- next to the transcription of the released Visual-RFT reward functions with the math-verify
  call removed (``tests/support/released_visual_rft.py``: the detection trio IoU, confidence
  and format, each parsing the completion again as released; classification and LISA
  grounding with format), timed in the same process, with the ratio.

Then the latency of one GRPO batch of 512 and the per-sample latency of the veRL reward
manager's coalescing queue (``visual_rewards.verl.manager``) with 8 concurrent samples.

Each figure is the best of 5 runs on one pinned core; ``ours`` is what ``reward(completions=…,
solution=…)`` (TRL's calling convention) costs. Figures are CPU time of this process
(``time.process_time``), robust on a shared machine; ``--wall`` prints wall time instead.

Run: ``python benchmarks/bench_call_sizes.py`` (about 3 minutes; ``--task``, ``--sizes``
and ``--repeat`` narrow it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

import released_visual_rft as released

from _common import THINK_SENTENCES, pin_one_core, random_box
from bench_detection import make_group
from visual_rewards import ClassificationReward, DetectionReward, GroundingReward, targets
from visual_rewards.rewards import paper
from visual_rewards.rewards.base import Reward

SIZES = (1, 8, 16, 64, 512, 20_000)
N = 20_000
#: Calls smaller than this score a pool of this many completions (in calls of the size).
SMALL_POOL = 512
GROUP = 8
CLASSES = [
    "Abyssinian", "Bengal", "Birman", "Bombay", "British Shorthair", "Egyptian Mau",
    "Maine Coon", "Persian", "Ragdoll", "Russian Blue", "Siamese", "Sphynx", "beagle",
    "boxer", "chihuahua", "english setter", "german shorthaired", "great pyrenees",
    "havanese", "japanese chin", "keeshond", "leonberger", "miniature pinscher",
    "newfoundland", "pomeranian", "pug", "saint bernard", "samoyed", "scottish terrier",
    "shiba inu", "staffordshire bull terrier", "wheaten terrier", "yorkshire terrier",
    "american bulldog", "american pit bull terrier", "basset hound", "english cocker spaniel",
]  # fmt: skip


@dataclass(frozen=True)
class Task:
    """One benchmark task: its data (shared / distinct ground truths), rewards and baseline."""

    name: str
    rewards: dict[str, Reward]
    baseline: Callable[[str, str], float]
    data: dict[str, tuple[list[str], list[str]]]


def _think(rng: random.Random) -> str:
    return " ".join(rng.choice(THINK_SENTENCES) for _ in range(rng.randint(2, 5)))


def _classification_group(rng: random.Random, size: int) -> tuple[str, list[str]]:
    label = rng.choice(CLASSES)
    out = []
    for _ in range(size):
        roll = rng.random()
        answer = label if roll < 0.5 else rng.choice(CLASSES) if roll < 0.9 else ""
        out.append(f"<think>{_think(rng)}</think>\n<answer>{answer}</answer>")
    return f"<answer>{label}</answer>", out


def _lisa(box: Sequence[int]) -> str:
    return f"({box[0]},{box[1]}),({box[2]},{box[3]})"


def _grounding_group(rng: random.Random, size: int) -> tuple[str, list[str]]:
    gt = random_box(rng)
    out = []
    for _ in range(size):
        box = [max(0, min(1000, v + rng.randint(-40, 40))) for v in gt]
        if not (box[2] > box[0] and box[3] > box[1]):
            box = random_box(rng)
        out.append(f"<think>{_think(rng)}</think>\n<answer>{_lisa(box)}</answer>")
    return f"<answer>{_lisa(gt)}</answer>", out


def _data(
    make: Callable[[random.Random, int], tuple[str, list[str]]], seed: int
) -> dict[str, tuple[list[str], list[str]]]:
    """``N`` completions with their ground truths, in groups of 8 (``shared``) or each with
    its own ground truth (``distinct``)."""
    out = {}
    for mode, size in (("shared", GROUP), ("distinct", 1)):
        rng = random.Random(seed)
        comps: list[str] = []
        sols: list[str] = []
        while len(comps) < N:
            sol, group = make(rng, size)
            comps += group
            sols += [sol] * len(group)
        out[mode] = (comps[:N], sols[:N])
    return out


def _released_detection(c: str, s: str) -> float:
    iou = released.released_detection(c, s)[0]  # accuracy_reward_iou
    conf = released.released_detection(c, s)[1]  # accuracy_reward_confidence
    return iou + conf + released.released_format(c)


def _released_classification(c: str, s: str) -> float:
    return released.released_classification(c, s) + released.released_format(c)


def _released_lisa(c: str, s: str) -> float:
    return released.released_lisa(c, s) + released.released_format(c)


def tasks() -> dict[str, Task]:
    return {
        "detection": Task(
            "detection",
            {p: DetectionReward(p) for p in ("default", "visual_rft")},
            _released_detection,
            _data(make_group, 0),
        ),
        "grounding": Task(
            "grounding",
            {p: GroundingReward(p) for p in ("default", "visual_rft")},
            _released_lisa,
            _data(_grounding_group, 1),
        ),
        "classification": Task(
            "classification",
            {p: ClassificationReward(p) for p in ("default", "visual_rft")},
            _released_classification,
            _data(_classification_group, 2),
        ),
    }


def clear_caches(reward: Reward) -> None:
    """Forget every ground truth read before (the cold case): the box targets' string cache,
    the released reader's, and a classification reward's own."""
    targets._STRING_CACHE.clear()
    paper._POSITIONS_CACHE.clear()
    if isinstance(reward, ClassificationReward):
        reward._truth_cache.clear()


class Timer:
    """Best of ``repeat`` runs, in CPU seconds of this process (or wall seconds)."""

    def __init__(self, repeat: int, wall: bool) -> None:
        self.repeat = repeat
        self.clock = time.perf_counter if wall else time.process_time

    def best(self, fn: Callable[[], object]) -> float:
        best = float("inf")
        for _ in range(self.repeat):
            t0 = self.clock()
            fn()
            best = min(best, self.clock() - t0)
        return best


def _calls(
    reward: Reward, comps: list[str], sols: list[str], size: int, cold: bool
) -> Callable[[], object]:
    chunks = [(comps[k : k + size], sols[k : k + size]) for k in range(0, len(comps), size)]

    def run() -> object:
        out = None
        for c, s in chunks:
            if cold:
                clear_caches(reward)
            out = reward(completions=c, solution=s)
        return out

    return run


def _baseline(
    fn: Callable[[str, str], float], comps: list[str], sols: list[str]
) -> Callable[[], object]:
    def run() -> object:
        return [fn(c, s) for c, s in zip(comps, sols, strict=True)]

    return run


def bench_task(task: Task, sizes: Sequence[int], timer: Timer) -> dict[tuple[str, ...], float]:
    """Print one table per task; return completions/s by (preset, mode, cache, size)."""
    rates: dict[tuple[str, ...], float] = {}
    print(f"\n## {task.name} (completions/s; ratio = ours / released without math-verify)")
    head = "| preset | ground truth | cache | " + " | ".join(f"{s:,}" for s in sizes) + " |"
    print(head)
    print("|" + "---|" * (3 + len(sizes)))
    for mode, (comps, sols) in task.data.items():
        base: dict[int, float] = {}
        for size in sizes:
            pool = N if size > SMALL_POOL else SMALL_POOL
            if pool not in base:
                base[pool] = pool / timer.best(_baseline(task.baseline, comps[:pool], sols[:pool]))
        cells = [f"{base[N if s > SMALL_POOL else SMALL_POOL]:,.0f}" for s in sizes]
        print(f"| released | {mode} | none | " + " | ".join(cells) + " |")
        for preset, reward in task.rewards.items():
            for cache in ("warm", "cold"):
                cells = []
                for size in sizes:
                    pool = N if size > SMALL_POOL else SMALL_POOL
                    run = _calls(reward, comps[:pool], sols[:pool], size, cache == "cold")
                    run()  # warm the cache and the code paths
                    rate = pool / timer.best(run)
                    rates[(preset, mode, cache, str(size))] = rate
                    cells.append(f"{rate:,.0f} ({rate / base[pool]:.1f}x)")
                print(f"| {preset} | {mode} | {cache} | " + " | ".join(cells) + " |")
        for size in sizes:
            rates[("released", mode, "none", str(size))] = base[
                N if size > SMALL_POOL else SMALL_POOL
            ]
    return rates


def grpo_latency(task: Task, timer: Timer) -> dict[str, float]:
    """Latency of one call of 512 (a GRPO batch: 64 prompts x 8 completions), in ms by
    ``"<preset> <cache>"``."""
    comps, sols = task.data["shared"]
    out = {}
    for preset, reward in task.rewards.items():
        for cache in ("warm", "cold"):
            run = _calls(reward, comps[:512], sols[:512], 512, cache == "cold")
            run()
            out[f"{preset} {cache}"] = ms = 1e3 * timer.best(run)
            print(f"{task.name} {preset}: one GRPO batch of 512, {cache} cache: {ms:.2f} ms")
    return out


def verl_latency(task: Task, timer: Timer, concurrent: int = 8) -> dict[str, float]:
    """Per-sample latency of the veRL manager's coalescing queue with ``concurrent`` samples
    in flight: each round submits ``concurrent`` samples at once (as the reward loop's
    ``run_single`` tasks do) to the manager's own queue with ``max_batch_size=concurrent``,
    and waits for all of them; the latency of a sample is the round's time."""
    try:
        from visual_rewards.verl.compute import RewardOptions, ScoreItem
        from visual_rewards.verl.manager import _Coalescer
    except ImportError as exc:  # veRL not installed
        print(f"veRL manager: skipped ({exc})")
        return {}
    comps, sols = task.data["shared"]
    out = {}
    for preset in task.rewards:
        options = RewardOptions.from_kwargs({"preset": preset, "task": task.name})
        rounds = [
            [
                ScoreItem(task.name, c, s)
                for c, s in zip(comps[k : k + concurrent], sols[k : k + concurrent], strict=True)
            ]
            for k in range(0, 64 * concurrent, concurrent)
        ]

        async def main(coalescer: _Coalescer, items: list[ScoreItem]) -> None:
            await asyncio.gather(*(coalescer.submit(item) for item in items))

        def run(options: RewardOptions = options, rounds: list[list[ScoreItem]] = rounds) -> None:
            loop = asyncio.new_event_loop()
            try:
                coalescer = _Coalescer(options, concurrent, 0.02)
                for items in rounds:
                    loop.run_until_complete(main(coalescer, items))
            finally:
                loop.close()

        run()
        wall = Timer(timer.repeat, wall=True).best(run) / len(rounds)
        cpu = Timer(timer.repeat, wall=False).best(run) / len(rounds)
        print(
            f"veRL manager, {task.name} {preset}, {concurrent} concurrent samples: per-sample "
            f"latency {1e3 * wall:.2f} ms wall ({1e3 * cpu:.2f} ms CPU), "
            f"{concurrent / wall:,.0f} samples/s"
        )
        out[preset] = 1e3 * wall
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--task", action="append", choices=["detection", "grounding", "classification"]
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeat", type=int, default=5, help="best of this many runs")
    parser.add_argument("--wall", action="store_true", help="wall time instead of CPU time")
    parser.add_argument("--no-verl", action="store_true", help="skip the veRL manager")
    args = parser.parse_args()
    pin_one_core()
    timer = Timer(args.repeat, args.wall)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(
        f"python {sys.version.split()[0]}, cores {os.cpu_count()}, load {load}, "
        f"{'wall' if args.wall else 'CPU'} time, best of {args.repeat}"
    )
    all_tasks = tasks()
    chosen = args.task or list(all_tasks)
    rates = {name: bench_task(all_tasks[name], args.sizes, timer) for name in chosen}
    print()
    grpo: dict[str, float] = {}
    verl: dict[str, float] = {}
    if "detection" in chosen:
        grpo = grpo_latency(all_tasks["detection"], timer)
        if not args.no_verl:
            verl = verl_latency(all_tasks["detection"], timer)
    print_targets(rates, grpo, verl)


def _check(name: str, value: float, target: float, unit: str, op: str = ">=") -> None:
    met = {">=": value >= target, "<=": value <= target, "<": value < target}[op]
    print(
        f"{name}: {value:,.2f}{unit} (target {op} {target:,}{unit}) {'met' if met else 'NOT met'}"
    )


def print_targets(
    rates: dict[str, dict[tuple[str, ...], float]], grpo: dict[str, float], verl: dict[str, float]
) -> None:
    """The targets of issue 16, each with the measured value (shared ground truths, warm
    cache unless stated)."""
    print("\n## targets (issue 16)")
    for task, low in (("detection", 3.0), ("classification", 1.5)):
        r = rates.get(task, {})
        base = r.get(("released", "shared", "none", "8"))
        for preset in ("default", "visual_rft"):
            ours = r.get((preset, "shared", "warm", "8"))
            if base and ours:
                _check(f"{task} {preset}, calls of 8 / released", ours / base, low, "x")
    r = rates.get("detection", {})
    for mode in ("shared", "distinct"):
        cold = r.get(("default", mode, "cold", str(N)))
        base = r.get(("released", mode, "none", str(N)))
        if cold and base:
            _check(f"detection default, one cold call of {N:,} ({mode})", cold, 100_000, "/s")
            _check(f"  ... over the released loop ({mode})", cold / base, 4.0, "x")
    if "default warm" in grpo:
        _check(
            "detection default, GRPO batch of 512 (warm)", grpo["default warm"], 5.0, " ms", "<="
        )
    for preset, ms in verl.items():
        _check(f"veRL manager per-sample latency, 8 concurrent ({preset})", ms, 1.0, " ms", "<")


if __name__ == "__main__":
    main()
