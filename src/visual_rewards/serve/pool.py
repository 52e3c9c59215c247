"""Scoring worker processes behind the event loop, replaced when one dies.

A :class:`ScoringPool` owns a ``ProcessPoolExecutor`` of ``workers`` processes, each
holding the server config (and its cached rewards). When a worker process dies (killed, out of
memory), Python marks the whole executor broken and fails every chunk in flight on it; the pool
then starts a new executor and scores those chunks again. Scoring is a pure function of its
input, so a retry gives the same scores: no request is lost or answered twice differently.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from visual_rewards.serve.batch import ItemScore, ItemSpec, score_batch
from visual_rewards.serve.config import ServeConfig

__all__ = ["ScoringPool"]

#: How often one chunk is retried on a fresh executor before the request fails (500).
MAX_ATTEMPTS = 3

_CONFIG: ServeConfig | None = None


def _init_worker(config: ServeConfig) -> None:
    global _CONFIG
    _CONFIG = config


def _score_in_worker(items: Sequence[ItemSpec]) -> list[ItemScore]:
    assert _CONFIG is not None, "worker not initialised"
    return score_batch(_CONFIG, items)


def _context() -> multiprocessing.context.BaseContext:
    """``forkserver`` with the scoring code preloaded where there is one (a replacement worker
    then starts in milliseconds, and no worker is forked from the threaded event-loop process);
    ``spawn`` elsewhere."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


class ScoringPool:
    """``workers`` scoring processes; :meth:`score` is safe to await from many requests."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.restarts = 0
        self._lock = threading.Lock()
        self._generation = 0
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.config.workers,
            mp_context=_context(),
            initializer=_init_worker,
            initargs=(self.config,),
        )

    def _replace(self, generation: int) -> None:
        """Start a new executor unless another request already replaced ``generation``'s."""
        with self._lock:
            if generation != self._generation:
                return
            old, self._executor = self._executor, self._new_executor()
            self._generation += 1
            self.restarts += 1
        old.shutdown(wait=False)  # broken: nothing left to run on it

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (started lazily: empty before the first chunk)."""
        processes = getattr(self._executor, "_processes", None) or {}
        return sorted(p.pid for p in processes.values() if p.pid is not None and p.is_alive())

    async def score(self, items: Sequence[ItemSpec]) -> list[ItemScore]:
        """Score ``items`` in chunks of ``chunk_items`` spread over the workers, in order."""
        size = self.config.chunk_items
        chunks = [list(items[i : i + size]) for i in range(0, len(items), size)]
        parts = await asyncio.gather(*(self._score_chunk(c) for c in chunks))
        return [score for part in parts for score in part]

    async def _score_chunk(self, chunk: list[ItemSpec]) -> list[ItemScore]:
        loop = asyncio.get_running_loop()
        for attempt in range(MAX_ATTEMPTS):
            generation, executor = self._generation, self._executor
            try:
                return await loop.run_in_executor(executor, _score_in_worker, chunk)
            except (BrokenProcessPool, RuntimeError) as exc:
                replaced = generation != self._generation
                # RuntimeError: submitted to an executor that another request just shut down
                if attempt == MAX_ATTEMPTS - 1 or not (
                    isinstance(exc, BrokenProcessPool) or replaced
                ):
                    raise
                if not replaced:
                    await asyncio.to_thread(self._replace, generation)
        raise AssertionError("unreachable")  # pragma: no cover

    def warm_up(self) -> None:
        """Start every worker now (so the first request does not pay for spawning them)."""
        futures = [self._executor.submit(_score_in_worker, []) for _ in range(self.config.workers)]
        for future in futures:
            future.result()

    def close(self) -> None:
        """Stop the workers (chunks in flight are cancelled)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
