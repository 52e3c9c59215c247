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


def _url(log: Path, proc: subprocess.Popen[str], deadline: float) -> str:
    """The address the server prints to ``log`` when it starts."""
    while True:
        match = re.search(r"http://127\.0\.0\.1:\d+", log.read_text())
        if match:
            return match.group(0)
        assert proc.poll() is None, f"server exited: {log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, f"server did not start: {log.read_text()[-2000:]}"
        time.sleep(0.05)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server's base URL, once every worker is up (at most 60 s). Its stderr (and its
    workers') goes to a file: a pipe nobody reads would block them once full."""
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "visual_rewards.serve", "--host", "127.0.0.1", "--port", "0"]
    log = tmp_path_factory.mktemp("server") / "stderr.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [*cmd, "--workers", "2"],
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONPATH": path},
        )
    try:
        deadline = time.monotonic() + 60
        url = _url(log, proc, deadline)
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
