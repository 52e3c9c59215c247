"""Loopback load test: a real server (``python -m visual_rewards.serve``, 2 scoring workers) in a
subprocess on 127.0.0.1, 600 requests of 8 items from 8 threads, one worker killed mid-run.

Bounded: at most 600 requests, nothing sent after 60 s. Every answer is compared with the same
items scored in this process (``get_reward(task).score``, one item at a time); the figures are
printed (``pytest -s``) and ``benchmarks/bench_serve.py`` prints the same with more requests.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from visual_rewards.serve.loadtest import (
    check,
    expected_results,
    make_requests,
    percentile,
    run_load,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_no_request_lost_or_scored_wrong_while_a_worker_is_killed(
    server: str, get: Callable[[str], Any]
) -> None:
    bodies = make_requests(600, items=8, seed=11)
    expected = expected_results(bodies)
    before = get(server + "/health")
    killed: list[int] = []

    def kill_one_worker(answered: int) -> None:
        if answered == 200 and not killed:
            pid = get(server + "/health")["worker_pids"][0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    result = run_load(
        server + "/score", bodies, concurrency=8, deadline_s=60, on_answer=kill_one_worker
    )
    lost, wrong = check(result, expected)
    after = get(server + "/health")
    print(
        f"\nserve load test: {result.summary()}; wrong={wrong}; killed worker {killed}; "
        f"pool restarts {after['pool_restarts']}"
    )
    assert killed, "the worker was never killed"
    assert lost == 0 and wrong == 0, result.statuses
    assert result.statuses == {200: len(bodies)}
    assert after["pool_restarts"] == before["pool_restarts"] + 1
    assert killed[0] not in after["worker_pids"] and len(after["worker_pids"]) == 2
    assert percentile(result.latencies, 99) < 10.0
    metrics = get(server + "/metrics")
    served = re.search(
        r'visual_rewards_requests_total\{path="/score",status="200"\} (\d+)', metrics
    )
    assert served and int(served.group(1)) == len(bodies)
    assert f'visual_rewards_items_total{{path="/score"}} {8 * len(bodies)}' in metrics


def test_a_request_in_flight_when_its_worker_dies_is_answered(
    server: str, get: Callable[[str], Any]
) -> None:
    """Kill a worker while it holds the only request: the answer still comes, and is right."""
    bodies = make_requests(1, items=2000, seed=5)  # one request of ~0.3 s of scoring
    expected = expected_results(bodies)
    before = get(server + "/health")
    pids = before["worker_pids"]

    def killer() -> None:
        time.sleep(0.05)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)

    t = threading.Thread(target=killer)
    t.start()
    result = run_load(server + "/score", bodies, concurrency=1)
    t.join()
    assert check(result, expected) == (0, 0), (result.summary(), result.statuses)
    assert get(server + "/health")["pool_restarts"] == before["pool_restarts"] + 1
