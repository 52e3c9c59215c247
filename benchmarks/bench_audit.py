"""Reward audit: speed of the search, every reward x preset audited and aligned, and the GRPO
diagnostics of the shared real training log. Prints the markdown pasted into docs/audit.md.

* search speed: ``audit(DetectionReward(), 8 generated ground truths, budget=10_000)`` (the
  issue's target: budgets of about 10^4 evaluations run in seconds);
* every registered reward x preset: hacks found with the tests' budget (3,000 answers, seed 0)
  and the alignment table (64 perturbations per ground truth) on the worked example of
  ``tests/support/reward_cases.py`` plus 7 generated ground truths;
* diagnostics of ``../shared/data/model_outputs`` (skipped when absent): the log's own logged
  reward, and the log re-scored by ``GroundingReward`` (``coords="pixel"``, ground truth in
  pixels; the log has no image sizes, so a 4096 x 4096 canvas is used -- IoU does not depend
  on it as long as no box is clipped).

Run: ``.venv/bin/python benchmarks/bench_audit.py [--budget 3000] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

from reward_cases import CASES

from visual_rewards import DetectionReward, GroundingReward
from visual_rewards.audit import alignment, audit, grpo_diagnostics, read_debug_log
from visual_rewards.audit.metrics import METRIC_TASKS
from visual_rewards.audit.report import alignment_markdown
from visual_rewards.audit.samples import generated_ground_truths
from visual_rewards.rewards import REWARDS

SHARED_LOG = (
    Path(__file__).resolve().parents[2]
    / "shared/data/model_outputs/vlmr1_rec_qwen2.5vl3b_grpo_debug.txt"
)
CANVAS = (4096, 4096)


def ground_truths(task: str) -> list[Any]:
    case = CASES[task]
    labels = [str(x) for x in case.options.get("labels", [])] or None
    return [case.solution, *generated_ground_truths(task, 7, seed=1, labels=labels)]


def search_speed() -> dict[str, Any]:
    gts = generated_ground_truths("detection", 8, seed=0)
    t0, c0 = time.perf_counter(), time.process_time()
    rep = audit(DetectionReward(), gts, budget=10_000, seed=0)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "evaluations": rep.evaluations,
        "minimise": rep.minimize_evaluations,
        "seconds": seconds,
        "cpu_seconds": cpu,
    }


def every_reward(budget: int) -> tuple[list[dict[str, Any]], list[Any]]:
    rows, tables = [], []
    for task in METRIC_TASKS:
        if task not in REWARDS:
            continue
        cls = REWARDS[task]
        for preset in cls.presets:
            options = CASES[task].options if preset == "default" else {}
            reward = cls(preset, **options)
            gts = ground_truths(task)
            rep = audit(reward, gts, budget=budget, seed=0)
            kinds = sorted({h.kind for h in rep.hacks})
            first = rep.hacks[0] if rep.hacks else None
            rows.append(
                {
                    "reward": reward.__name__,
                    "hacks": len(rep.hacks),
                    "kinds": kinds,
                    "example": None if first is None else ", ".join(first.ops),
                    "found_after": None if first is None else min(h.found_after for h in rep.hacks),
                    "seconds": rep.seconds,
                }
            )
            tables.append(alignment(reward, gts, n=64, seed=0))
    return rows, tables


def _score_log(rows: list[dict[str, Any]], preset: str) -> list[dict[str, Any]]:
    # the released reader reads thousandths only: pixel answers need the paper's formulas on
    # the library's reader
    options = {"answer_reader": "lenient"} if preset == "visual_rft" else {}
    reward = GroundingReward(preset, coords="pixel", **options)
    res = reward.score(
        [r["completion"] for r in rows],
        [r["solution"] for r in rows],
        image_size=[CANVAS] * len(rows),
    )
    out = []
    for k, r in enumerate(rows):
        comps = {name: float(v[k]) for name, v in res.components.items()}
        out.append(
            {
                **r,
                "image_size": list(CANVAS),
                "scores": {"total": float(res.total[k]), "components": comps},
            }
        )
    return out


def shared_log() -> dict[str, Any] | None:
    if not SHARED_LOG.is_file():
        return None
    rows = read_debug_log(SHARED_LOG)
    out: dict[str, Any] = {}
    logged = [
        {
            **r,
            "image_size": list(CANVAS),
            "scores": {"total": r["logged_reward"], "components": {"accuracy": r["logged_reward"]}},
        }
        for r in rows
    ]
    out["logged reward (VLM-R1)"] = grpo_diagnostics(logged, task="grounding", coords="pixel")
    for preset in GroundingReward.presets:
        d = grpo_diagnostics(_score_log(rows, preset), task="grounding", coords="pixel")
        out[f"grounding_{preset}"] = d
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=int, default=3000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    speed = search_speed()
    print(
        f"search speed: {speed['evaluations']:,} answers + {speed['minimise']:,} to minimise "
        f"in {speed['seconds']:.2f} s wall, {speed['cpu_seconds']:.2f} s CPU "
        f"({speed['evaluations'] / speed['cpu_seconds']:,.0f} answers per CPU second)\n"
    )
    rows, tables = every_reward(args.budget)
    print(
        f"| reward x preset | hacks (budget {args.budget:,}, seed 0) | kinds | first example | earliest found after | s |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['reward']} | {r['hacks']} | {', '.join(r['kinds']) or '–'} | {r['example'] or '–'} "
            f"| {r['found_after'] if r['found_after'] is not None else '–'} | {r['seconds']:.2f} |"
        )
    print()
    print(alignment_markdown(tables))
    diags = shared_log()
    if diags is None:
        print("shared log absent: diagnostics skipped")
    else:
        for name, d in diags.items():
            print(f"**{name}**\n\n{d.to_markdown()}")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "speed": speed,
                    "rewards": rows,
                    "alignment": [t.to_dict() for t in tables],
                    "diagnostics": None
                    if diags is None
                    else {k: v.to_dict() for k, v in diags.items()},
                },
                indent=2,
                default=str,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
