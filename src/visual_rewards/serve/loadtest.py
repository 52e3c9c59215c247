"""A loopback load test of a running reward server (used by the tests and the benchmark).

:func:`make_requests` builds seeded batches of mixed tasks (detection, grounding, counting,
classification, format; right, wrong, malformed answers and ground truths, some with image
sizes); :func:`expected_results` scores them in this process with ``Reward.score``;
:func:`run_load` POSTs them from ``concurrency`` threads over keep-alive connections (standard
library only), retrying a request whose connection fails (a request is scored by a pure
function, so retrying is safe) and recording each latency; :func:`check` compares every
answer with the in-process scores.

Usage: ``python -m visual_rewards.serve.loadtest http://127.0.0.1:8000 [--requests 1000]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import random
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from visual_rewards.rewards import get_reward

__all__ = ["LoadResult", "check", "expected_results", "make_requests", "percentile", "run_load"]

_THINK = "The objects are near the window; edges are clear."
_LABELS = ("cat", "dog", "Persian", "Siamese cat", "tulip")


def _box(rng: random.Random) -> list[int]:
    x, y = rng.randint(0, 800), rng.randint(0, 800)
    return [x, y, x + rng.randint(10, 199), y + rng.randint(10, 199)]


def _item(rng: random.Random) -> dict[str, Any]:
    """One item of a random task, with a right, near, wrong or malformed answer."""
    task = rng.choice(
        ("detection", "detection", "grounding", "counting", "classification", "format")
    )
    kind = rng.random()
    if task in ("detection", "grounding"):
        gt = [_box(rng) for _ in range(1 if task == "grounding" else rng.randint(1, 3))]
        pred = [[v + rng.randint(-20, 20) for v in b] for b in gt] if kind < 0.7 else [_box(rng)]
        answer = (
            json.dumps(pred[0])
            if task == "grounding"
            else "["
            + ", ".join(f"{{'Position': {b}, 'Confidence': {rng.random():.2f}}}" for b in pred)
            + "]"
        )
        solution: Any = gt[0] if task == "grounding" else gt
        if kind > 0.95:
            solution = "not boxes"  # malformed ground truth: not applicable
    elif task == "counting":
        solution = rng.randint(0, 9)
        answer = str(solution if kind < 0.6 else solution + 1)
    elif task == "classification":
        solution = rng.choice(_LABELS)
        answer = solution if kind < 0.6 else rng.choice(_LABELS)
    else:
        solution, answer = None, "x"
    completion = f"<think>{_THINK}</think><answer>{answer}</answer>"
    if kind > 0.9:
        completion = completion[: rng.randint(0, len(completion))]  # truncated output
    item: dict[str, Any] = {"completion": completion, "solution": solution, "task": task}
    if task == "detection" and rng.random() < 0.3:
        item["image_size"] = [rng.randint(200, 2000), rng.randint(200, 2000)]
    return item


def make_requests(n: int, items: int = 8, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` ``/score`` request bodies of ``items`` items each (seeded, deterministic)."""
    rng = random.Random(seed)
    return [{"items": [_item(rng) for _ in range(items)]} for _ in range(n)]


def expected_results(bodies: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Each body's results as the server should answer them (default preset, no options),
    scored in this process one item at a time with ``get_reward(task).score`` -- batched
    differently from the server on purpose."""
    out = []
    for body in bodies:
        results = []
        for it in body["items"]:
            reward = get_reward(it["task"], it.get("preset") or "default")
            columns = {"image_size": [tuple(it["image_size"])]} if it.get("image_size") else {}
            solutions = [it.get("solution")] if reward.needs_solution else None
            res = reward.score([it["completion"]], solutions, **columns)
            total = float(res.total[0])
            results.append(
                {
                    "reward": reward.__name__,
                    "total": total if math.isfinite(total) else None,
                    "components": {
                        k: float(v[0]) if math.isfinite(v[0]) else None
                        for k, v in res.components.items()
                    },
                    "parse_failed": bool(res.parse_failed[0]),
                }
            )
        out.append(results)
    return out


@dataclass
class LoadResult:
    """What :func:`run_load` saw: one answer (or None if never answered) and latency per body."""

    answers: list[Any]
    latencies: list[float]
    seconds: float
    retries: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return sum(a is None for a in self.answers)

    def summary(self) -> str:
        ok = len(self.answers) - self.lost
        return (
            f"{len(self.answers)} requests in {self.seconds:.2f} s: {ok / self.seconds:.0f} req/s, "
            f"p50 {percentile(self.latencies, 50) * 1e3:.1f} ms, p99 "
            f"{percentile(self.latencies, 99) * 1e3:.1f} ms, {self.retries} retried, {self.lost} lost"
        )


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``; NaN when empty.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile(range(1, 101), 99)
    (2.0, 99)
    """
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _post(conn: http.client.HTTPConnection, path: str, body: bytes) -> tuple[int, Any]:
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def run_load(
    url: str,
    bodies: Sequence[dict[str, Any]],
    concurrency: int = 8,
    max_retries: int = 5,
    deadline_s: float = 60.0,
    on_answer: Callable[[int], None] | None = None,
) -> LoadResult:
    """POST every body to ``url`` (``.../score``) from ``concurrency`` threads.

    A request whose connection fails is retried on a new connection (at most ``max_retries``
    times); a non-200 answer is kept as ``{"status": code, "body": ...}``. Nothing is sent after
    ``deadline_s`` (bodies not sent by then stay ``None``: lost). ``on_answer(n)`` is called
    with the number of answers so far after each one.
    """
    parts = urllib.parse.urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/score"
    answers: list[Any] = [None] * len(bodies)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock, cursor, done, retries = threading.Lock(), [0], [0], [0]
    start = time.perf_counter()

    def worker() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        while True:
            with lock:
                i = cursor[0]
                cursor[0] += 1
            if i >= len(bodies) or time.perf_counter() - start > deadline_s:
                break
            payload = json.dumps(bodies[i]).encode()
            for _attempt in range(max_retries + 1):
                t0 = time.perf_counter()
                try:
                    status, answer = _post(conn, path, payload)
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection(host, port, timeout=30)
                    with lock:
                        retries[0] += 1
                    time.sleep(0.05)
                    continue
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    statuses[status] = statuses.get(status, 0) + 1
                    answers[i] = answer if status == 200 else {"status": status, "body": answer}
                    done[0] += 1
                    n = done[0]
                if on_answer is not None:
                    on_answer(n)
                break
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return LoadResult(answers, latencies, time.perf_counter() - start, retries[0], statuses)


def check(result: LoadResult, expected: Sequence[list[dict[str, Any]]]) -> tuple[int, int]:
    """``(lost, wrong)``: requests never answered, and answers that differ from ``expected``
    (a non-200 answer counts as wrong). Floats are compared exactly: the server runs the very
    same code, and JSON carries a float's shortest round-trip repr."""
    wrong = sum(
        a is not None and a.get("results") != e
        for a, e in zip(result.answers, expected, strict=True)
    )
    return result.lost, wrong


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - manual tool
    parser = argparse.ArgumentParser(prog="python -m visual_rewards.serve.loadtest")
    parser.add_argument("url", help="the server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    bodies = make_requests(args.requests, args.items)
    result = run_load(args.url.rstrip("/") + "/score", bodies, args.concurrency)
    lost, wrong = check(result, expected_results(bodies))
    print(f"{result.summary()}; {wrong} wrong")
    return 0 if lost == wrong == 0 else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
