"""A real server for the loopback tests: ``python -m visual_rewards.serve`` on 127.0.0.1, a free
port, 2 scoring workers, in a subprocess (stopped with SIGTERM at the end)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def _get(url: str) -> Any:
    """GET ``url``: JSON for ``/health``, text otherwise."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read()) if url.endswith("/health") else response.read().decode()


@pytest.fixture(scope="session")
def get() -> Callable[[str], Any]:
    return _get


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """The server's base URL, once every worker is up (at most 60 s)."""
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "visual_rewards.serve", "--host", "127.0.0.1", "--port", "0"]
    proc = subprocess.Popen(
        [*cmd, "--workers", "2"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, f"server did not start: {line!r}"
        url = match.group(0)
        deadline = time.monotonic() + 60
        while True:
            try:
                if len(_get(url + "/health")["worker_pids"]) == 2:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "server not healthy within 60 s"
            time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()
