"""Rewards are safe to share: threads, processes and Ray actors give bit-identical results.

Nothing in a reward uses signals, global mutable state or I/O, so the same batch scored
concurrently must give exactly the bytes of a serial run.
"""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from adversarial import adversarial_completions
from near_miss import MUTATIONS
from reward_cases import CASES

from visual_rewards.rewards import REWARDS

TASKS = [t for t in CASES if t in REWARDS]


def batch_for(task: str) -> tuple[list[str], list[Any] | None]:
    """~100 completions: the correct one, every hack, near-misses and 64 KiB adversaries."""
    case = CASES[task]
    completions = [case.correct, *case.hacks.values()]
    for i, mutation in enumerate(MUTATIONS):
        text = case.correct
        cut = (i * 7919) % max(1, len(text))
        completions.append(text[:cut] if mutation == "truncate" else text[:cut] + "[" + text[cut:])
    completions += list(adversarial_completions(1 << 16).values())
    completions = (completions * 3)[:100]
    solutions = None if case.solution is None else [case.solution] * len(completions)
    return completions, solutions


def fingerprint(task: str, completions: list[str], solutions: list[Any] | None) -> bytes:
    reward = REWARDS[task]("default", **CASES[task].options)
    res = reward.score(completions, solutions)
    parts = [res.total.tobytes()] + [res.components[k].tobytes() for k in sorted(res.components)]
    return b"".join(parts)


def _score_in_worker(args: tuple[str, list[str], list[Any] | None]) -> bytes:
    return fingerprint(*args)


@pytest.mark.parametrize("task", TASKS)
def test_threads_bit_identical(task: str) -> None:
    completions, solutions = batch_for(task)
    serial = fingerprint(task, completions, solutions)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: fingerprint(task, completions, solutions), range(16)))
    assert all(r == serial for r in results)


@pytest.mark.parametrize("task", TASKS)
def test_shared_instance_across_threads(task: str) -> None:
    reward = REWARDS[task]("default", **CASES[task].options)
    completions, solutions = batch_for(task)
    serial = reward.score(completions, solutions).total
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: reward.score(completions, solutions).total, range(16)))
    for r in results:
        np.testing.assert_array_equal(r, serial)


def test_process_pool_bit_identical() -> None:
    jobs = [(task, *batch_for(task)) for task in TASKS]
    serial = [fingerprint(*job) for job in jobs]
    ctx = multiprocessing.get_context("spawn")  # nothing inherited: rewards must pickle and rebuild
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        parallel = list(pool.map(_score_in_worker, jobs))
    assert parallel == serial


@pytest.mark.parametrize("task", TASKS)
def test_rewards_pickle(task: str) -> None:
    reward = REWARDS[task]("default", **CASES[task].options)
    clone = pickle.loads(pickle.dumps(reward))
    assert clone == reward and clone.__name__ == reward.__name__
    completions, solutions = batch_for(task)
    np.testing.assert_array_equal(
        clone.score(completions, solutions).total, reward.score(completions, solutions).total
    )


def test_ray_actors_bit_identical() -> None:
    ray = pytest.importorskip("ray")
    jobs = [(task, *batch_for(task)) for task in TASKS]
    serial = [fingerprint(*job) for job in jobs]
    rewards = [REWARDS[task]("default", **CASES[task].options) for task, _, _ in jobs]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        # Defined here so that Ray ships it by value: the workers import only visual_rewards.
        @ray.remote
        class Scorer:
            def score(
                self, reward: Any, completions: list[str], solutions: list[Any] | None
            ) -> bytes:
                res = reward.score(completions, solutions)
                parts = [res.total.tobytes()] + [
                    res.components[k].tobytes() for k in sorted(res.components)
                ]
                return b"".join(parts)

        actors = [Scorer.remote() for _ in range(2)]
        futures = [
            actors[i % 2].score.remote(reward, completions, solutions)
            for i, (reward, (_, completions, solutions)) in enumerate(
                zip(rewards, jobs, strict=True)
            )
        ]
        parallel = ray.get(futures)
    finally:
        ray.shutdown()
    assert parallel == serial
