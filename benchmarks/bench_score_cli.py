"""End-to-end throughput of ``visual-rewards score`` on a 200,000-line detection file.

Generates realistic detection rows (Visual-RFT and Qwen2.5-VL answers with 1-6 boxes,
ground truth in the paper's string format, some malformed completions), then runs the same
code path as the command line (:func:`visual_rewards.scoring.score_file`: read, parse JSON,
batch-score, write JSONL atomically) with one worker and with two, and prints lines/s.
Target: >= 30,000 lines/s with one worker. Besides wall-clock lines/s it prints lines per
CPU second (user + system time of the process and its workers), which is what one idle core
would do: on a shared, loaded machine the wall-clock figure understates it.

Usage: ``python benchmarks/bench_score_cli.py [--lines 200000] [--workers 1 2]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path

from visual_rewards.rewards import REWARDS
from visual_rewards.scoring import ScoreOptions, format_summary, score_file


def make_rows(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        g = rng.randint(1, 4)
        gt = []
        for _ in range(g):
            x1, y1 = rng.randint(0, 700), rng.randint(0, 700)
            gt.append([x1, y1, x1 + rng.randint(20, 300), y1 + rng.randint(20, 300)])
        preds = [[v + rng.randint(-30, 30) for v in b] for b in gt[: rng.randint(0, g)]]
        preds += [[100, 100, 200, 250]] * rng.randint(0, 2)
        kind = i % 10
        if kind < 6:
            answer = (
                "["
                + ", ".join(f"{{'Position': {p}, 'Confidence': {rng.random():.2f}}}" for p in preds)
                + "]"
            )
        elif kind < 9:
            answer = json.dumps([{"bbox_2d": p, "label": "object"} for p in preds])
        else:
            answer = "I think there is something there"
        completion = f"<think>Looking at the image, I find {len(preds)} objects.</think><answer>{answer}</answer>"
        solution = (
            "<answer>["
            + ", ".join(f"{{'Position': {b}, 'Confidence': 1}}" for b in gt)
            + "]</answer>"
        )
        row = {
            "id": i,
            "image": f"coco/{i:012d}.jpg",
            "completion": completion,
            "solution": solution,
        }
        lines.append(json.dumps(row))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--task", default="detection")
    args = parser.parse_args()
    if args.task not in REWARDS:
        raise SystemExit(f"task {args.task!r} is not registered; known: {sorted(REWARDS)}")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "outputs.jsonl"
        t0 = time.perf_counter()
        src.write_text("\n".join(make_rows(args.lines)) + "\n")
        print(
            f"generated {args.lines:,} lines ({src.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s"
        )
        print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, task {args.task}")
        outputs = {}
        for workers in args.workers:
            out = Path(tmp) / f"scored_{workers}.jsonl"
            c0, t0 = os.times(), time.perf_counter()
            summary = score_file(src, out, ScoreOptions(task=args.task), workers=workers)
            c1, dt = os.times(), time.perf_counter() - t0
            cpu = sum(c1[:4]) - sum(c0[:4])  # user+sys of this process and its workers
            outputs[workers] = out.read_bytes()
            n = summary.lines_read
            print(
                f"workers={workers}: {n:,} lines in {dt:.2f} s wall = {n / dt:,.0f} lines/s; "
                f"{cpu:.2f} CPU s = {n / cpu:,.0f} lines per CPU second"
            )
        print(format_summary(summary))
        if len(set(outputs.values())) > 1:
            raise SystemExit("outputs differ between worker counts")
        print("outputs identical across worker counts")


if __name__ == "__main__":
    main()
