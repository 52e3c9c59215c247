"""Throughput and p99 latency of ``visual-rewards serve`` on loopback (bounded).

Starts the server (``python -m visual_rewards.serve``, 2 scoring workers, 127.0.0.1, a free
port) in a subprocess, then POSTs seeded ``/score`` batches of mixed tasks from 8 client
threads twice: a steady run, and a run during which one scoring worker is killed (SIGKILL)
after a third of the answers. Prints requests/s, items/s, p50/p99 latency, retries, and how
many answers were lost or differ from the same items scored in-process (both must be 0).
At most ``--requests`` requests per run (default 2000, 8 items each), nothing sent after 30 s.

Usage: ``python benchmarks/bench_serve.py [--requests 2000] [--items 8] [--concurrency 8]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
import urllib.request
from typing import Any

from visual_rewards.serve.loadtest import check, expected_results, make_requests, run_load


def _health(url: str) -> Any:
    with urllib.request.urlopen(url + "/health", timeout=10) as response:
        return json.loads(response.read())


def start_server(workers: int) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "visual_rewards.serve", "--port", "0", "--workers", str(workers)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    match = re.search(r"http://127\.0\.0\.1:\d+", proc.stderr.readline())
    if not match:
        proc.kill()
        raise SystemExit("server did not start")
    url = match.group(0)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if len(_health(url)["worker_pids"]) == workers:
                return proc, url
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("server not healthy within 60 s")


def run(url: str, bodies: list[dict[str, Any]], concurrency: int, kill: bool) -> str:
    expected = expected_results(bodies)
    killed: list[int] = []

    def on_answer(n: int) -> None:
        if kill and not killed and n == len(bodies) // 3:
            pid = _health(url)["worker_pids"][0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    result = run_load(url + "/score", bodies, concurrency, deadline_s=30, on_answer=on_answer)
    lost, wrong = check(result, expected)
    items = sum(len(b["items"]) for b in bodies) - sum(
        len(b["items"]) for b, a in zip(bodies, result.answers, strict=True) if a is None
    )
    label = f"one worker killed (pid {killed[0]})" if killed else "steady"
    return f"{label:32s} {result.summary()}; {items / result.seconds:.0f} items/s; lost={lost} wrong={wrong}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    n = min(args.requests, 2000)
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, {args.workers} scoring workers, "
        f"{args.concurrency} client threads, {args.items} items/request"
    )
    proc, url = start_server(args.workers)
    try:
        print(run(url, make_requests(n, args.items, seed=1), args.concurrency, kill=False))
        print(run(url, make_requests(n, args.items, seed=2), args.concurrency, kill=True))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


if __name__ == "__main__":
    main()
