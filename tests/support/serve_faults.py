"""Worker faults for the scoring pool's tests, importable by its worker processes."""

from __future__ import annotations

import gc
import os
import signal
import struct
from collections.abc import Sequence
from multiprocessing.queues import SimpleQueue
from pathlib import Path

from visual_rewards.serve.batch import ItemScore, ItemSpec
from visual_rewards.serve.pool import _score_in_worker


def die_writing_result_once(marker: str, items: Sequence[ItemSpec]) -> list[ItemScore]:
    """The first call to create the file ``marker`` (across processes) writes half a result
    message into the executor's result pipe, holding its write lock, and then kills its own
    process, as an out-of-memory kill in the middle of ``send_bytes`` would; every other call
    scores ``items``. Bind ``marker`` with ``functools.partial`` to get a pool task."""
    try:
        Path(marker).touch(exist_ok=False)
    except FileExistsError:
        return _score_in_worker(items)
    results = next(o for o in gc.get_objects() if isinstance(o, SimpleQueue))
    with results._wlock:
        os.write(results._writer.fileno(), struct.pack("!i", 1 << 20) + b"partial")
        os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")
