"""Timing for the tests' time bounds: the CPU a call does, not how long the machine took.

A wall-clock bound fails when another process has the CPU, and any bound can fail when Python's
cyclic garbage collector runs inside the timed call: late in a long pytest session a full
collection walks every object the session made. Neither says anything about the code under
test, so :func:`cpu_seconds` measures CPU time (``time.process_time``) with the collector
paused for the call.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def cpu_seconds(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """``(fn(*args, **kwargs), CPU seconds it took)``, with garbage collection paused.

    >>> out, seconds = cpu_seconds(sum, range(10))
    >>> out, 0 <= seconds < 1
    (45, True)
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.process_time()
        out = fn(*args, **kwargs)
        return out, time.process_time() - t0
    finally:
        if enabled:
            gc.enable()
