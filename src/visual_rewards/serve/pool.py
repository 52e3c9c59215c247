"""Scoring worker processes behind the event loop, replaced when one dies.

A :class:`ScoringPool` owns a ``ProcessPoolExecutor`` of ``workers`` processes, each
holding the server config (and its cached rewards). When a worker process dies (killed, out of
memory), Python marks the whole executor broken and fails every chunk in flight on it; the pool
then starts a new executor and scores those chunks again. Scoring is a pure function of its
input, so a retry gives the same scores: no request is lost or answered twice differently.

One death Python does not notice: a worker killed while it writes a result leaves half a message
in the result pipe, and the executor waits for the rest forever. So a chunk in flight watches its
executor's workers; when one has been dead for :data:`BREAK_AFTER_S` and the chunk is still
pending, the pool breaks that executor itself (:func:`_break`), and the chunk fails and is retried
like any other.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from visual_rewards.serve.batch import ItemScore, ItemSpec, score_batch
from visual_rewards.serve.config import ServeConfig

__all__ = ["ScoringPool"]

#: How often one chunk is retried on a fresh executor before the request fails (500).
MAX_ATTEMPTS = 3

#: Seconds a pending chunk waits, once a worker of its executor is dead, for Python to fail it
#: before the pool breaks the executor itself. Python reports a death within milliseconds.
BREAK_AFTER_S = 2.0

#: How often a pending chunk checks its executor's workers, in seconds.
WATCH_EVERY_S = 0.25

_CONFIG: ServeConfig | None = None


def _init_worker(config: ServeConfig) -> None:
    global _CONFIG
    _CONFIG = config


def _score_in_worker(items: Sequence[ItemSpec]) -> list[ItemScore]:
    assert _CONFIG is not None, "worker not initialised"
    return score_batch(_CONFIG, items)


def _has_dead_worker(executor: ProcessPoolExecutor) -> bool:
    """Whether a worker process of ``executor`` has exited (False once it is shut down)."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    return any(p.exitcode is not None for p in processes)


def _break(executor: ProcessPoolExecutor) -> None:
    """Fail every chunk on ``executor`` with :class:`BrokenProcessPool`: kill its workers, and
    close this process's end of the result pipe so that Python's reader, blocked on a message a
    dead worker never finished, gets end-of-file and marks the executor broken. Reaches into
    ``concurrent.futures`` internals (CPython 3.11 to 3.13), as nothing public can unblock it."""
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        process.kill()
    results = getattr(executor, "_result_queue", None)
    if results is not None:
        results._writer.close()


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

    #: What a worker runs on one chunk (a module-level function, so workers can import it).
    task: Callable[[Sequence[ItemSpec]], list[ItemScore]] = staticmethod(_score_in_worker)

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
        processes = list((getattr(self._executor, "_processes", None) or {}).values())
        return sorted(p.pid for p in processes if p.pid is not None and p.is_alive())

    async def score(self, items: Sequence[ItemSpec]) -> list[ItemScore]:
        """Score ``items`` in chunks of ``chunk_items`` spread over the workers, in order."""
        size = self.config.chunk_items
        chunks = [list(items[i : i + size]) for i in range(0, len(items), size)]
        parts = await asyncio.gather(*(self._score_chunk(c) for c in chunks))
        return [score for part in parts for score in part]

    async def _score_chunk(self, chunk: list[ItemSpec]) -> list[ItemScore]:
        for attempt in range(MAX_ATTEMPTS):
            generation, executor = self._generation, self._executor
            try:
                return await self._watched(executor, chunk)
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

    async def _watched(
        self, executor: ProcessPoolExecutor, chunk: list[ItemSpec]
    ) -> list[ItemScore]:
        """``chunk``'s scores from ``executor``, which is broken (:func:`_break`) when a worker of
        it has been dead for :data:`BREAK_AFTER_S` while the chunk is still pending."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(executor, self.task, chunk)
        dead_since: float | None = None
        try:
            while not (await asyncio.wait({future}, timeout=WATCH_EVERY_S))[0]:
                if not _has_dead_worker(executor):
                    dead_since = None
                elif dead_since is None:
                    dead_since = loop.time()
                elif loop.time() - dead_since >= BREAK_AFTER_S:
                    await asyncio.to_thread(_break, executor)  # the chunk fails at once
        except asyncio.CancelledError:
            future.cancel()
            raise
        return future.result()

    def warm_up(self) -> None:
        """Start every worker now (so the first request does not pay for spawning them)."""
        futures = [self._executor.submit(_score_in_worker, []) for _ in range(self.config.workers)]
        for future in futures:
            future.result()

    def close(self) -> None:
        """Stop the workers (chunks in flight are cancelled)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
