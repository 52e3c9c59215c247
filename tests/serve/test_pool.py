"""The scoring pool without the server: a worker that dies in the middle of writing its result
(which Python's executor never notices) costs a retry, not a request."""

from __future__ import annotations

import asyncio
import functools
import time
from pathlib import Path

import pytest
from serve_faults import die_writing_result_once

from visual_rewards.serve.batch import ItemSpec, score_batch
from visual_rewards.serve.config import ServeConfig
from visual_rewards.serve.pool import BREAK_AFTER_S, ScoringPool

ITEMS = [
    ItemSpec("<think>a</think><answer>b</answer>", task="format"),
    ItemSpec("no tags", task="format"),
    ItemSpec("<think>x</think><answer>[1, 2, 3, 4]</answer>", "[1, 2, 3, 4]", "grounding"),
]


@pytest.mark.timeout(60)  # without the pool's watchdog, the executor waits forever
def test_a_worker_killed_while_writing_its_result_is_retried(tmp_path: Path) -> None:
    config = ServeConfig(workers=2, chunk_items=1)
    pool = ScoringPool(config)
    pool.task = functools.partial(die_writing_result_once, str(tmp_path / "died"))
    try:
        start = time.monotonic()
        scores = asyncio.run(asyncio.wait_for(pool.score(ITEMS), timeout=30))
        seconds = time.monotonic() - start
    finally:
        pool.close()
    assert (tmp_path / "died").exists(), "no worker died: the test tested nothing"
    assert scores == score_batch(config, ITEMS)
    assert pool.restarts == 1
    assert seconds < BREAK_AFTER_S + 10


def test_a_healthy_pool_is_never_broken() -> None:
    config = ServeConfig(workers=2, chunk_items=1)
    pool = ScoringPool(config)
    try:
        assert asyncio.run(pool.score(ITEMS)) == score_batch(config, ITEMS)
        assert pool.restarts == 0
    finally:
        pool.close()
