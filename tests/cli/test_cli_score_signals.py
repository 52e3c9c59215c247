"""`visual-rewards score` under interruption: SIGTERM and SIGINT leave no file and no
traceback (workers stay quiet), SIGKILL leaves a checkpoint that `--resume` continues to a
byte-identical result, and a scoring process that dies or fails is one line, exit 2."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from visual_rewards import scoring
from visual_rewards.cli import main

ROOT = Path(__file__).resolve().parents[2]
BOX = "<think>a</think><answer>[{'Position': [10, 20, 300, 400], 'Confidence': 0.8}]</answer>"
SOLUTION = "<answer>[{'Position': [12, 18, 310, 390], 'Confidence': 1}]</answer>"


def _input(path: Path, n: int = 30_000) -> Path:
    lines = []
    for i in range(n):
        if i % 997 == 5:
            lines.append('{"broken": ')
        else:
            lines.append(json.dumps({"id": i, "completion": BOX, "solution": SOLUTION}))
    path.write_text("\n".join(lines) + "\n")
    return path


def _start(args: list[str], tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "visual_rewards.cli", "score", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a shell job would be
    )


def _wait_for_checkpoint(proc: subprocess.Popen[bytes], journal: Path, chunks: int = 2) -> None:
    """Until the run has committed ``chunks`` checkpoints (it is mid-run, workers busy)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if journal.is_file():
            try:
                state = json.loads(journal.read_text())["state"]
            except (ValueError, KeyError):
                state = None  # replaced while reading
            if state and state["next_line"] > chunks * 500:
                return
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it could be interrupted: {proc.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.005)
    pytest.fail("no checkpoint within 120 s")


def _args(src: Path, out: Path, *extra: str) -> list[str]:
    return [str(src), "--task", "detection", "-o", str(out), "--chunk-size", "500", *extra]


@pytest.mark.parametrize(
    ("sig", "workers", "code"),
    [(signal.SIGTERM, "1", 143), (signal.SIGTERM, "2", 143), (signal.SIGINT, "2", 130)],
)
def test_interrupt_leaves_nothing_and_no_traceback(
    tmp_path: Path, sig: signal.Signals, workers: str, code: int
) -> None:
    src = _input(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    proc = _start(_args(src, out, "--workers", workers), tmp_path)
    _wait_for_checkpoint(proc, tmp_path / ".out.jsonl.partial.json")
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)  # Ctrl-C reaches the whole process group, workers too
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert b"Traceback" not in err and len(err) < 300, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def _reference(src: Path, tmp_path: Path) -> tuple[bytes, bytes]:
    ref = tmp_path / "ref" / "out.jsonl"
    ref.parent.mkdir()
    assert main(["score", *_args(src, ref)]) == 1  # some lines are broken on purpose
    return ref.read_bytes(), (ref.parent / "out.jsonl.errors.jsonl").read_bytes()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_resume_after_a_kill_is_byte_identical(tmp_path: Path, sig: signal.Signals) -> None:
    src = _input(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    journal = tmp_path / ".out.jsonl.partial.json"
    proc = _start(_args(src, out, "--resume"), tmp_path)
    _wait_for_checkpoint(proc, journal)
    proc.send_signal(sig)
    proc.communicate(timeout=120)
    assert journal.is_file() and (tmp_path / ".out.jsonl.partial").is_file()
    assert not out.exists()
    done = json.loads(journal.read_text())["state"]["next_line"]
    assert 1 < done < 30_000
    assert main(["score", *_args(src, out, "--resume")]) == 1
    expected, expected_errors = _reference(src, tmp_path)
    assert out.read_bytes() == expected
    assert (tmp_path / "out.jsonl.errors.jsonl").read_bytes() == expected_errors
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_run_without_resume_cleans_up_after_a_killed_one(tmp_path: Path) -> None:
    src = _input(tmp_path / "in.jsonl", n=8_000)
    out = tmp_path / "out.jsonl"
    proc = _start(_args(src, out), tmp_path)
    _wait_for_checkpoint(proc, tmp_path / ".out.jsonl.partial.json", chunks=1)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=120)
    assert (tmp_path / ".out.jsonl.partial").exists()  # SIGKILL cannot be handled
    assert main(["score", *_args(src, out)]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "in.jsonl",
        "out.jsonl",
        "out.jsonl.errors.jsonl",
    ]


def test_resume_refuses_another_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _input(tmp_path / "in.jsonl", n=3_000)
    out = tmp_path / "out.jsonl"
    proc = _start(_args(src, out, "--resume"), tmp_path)
    _wait_for_checkpoint(proc, tmp_path / ".out.jsonl.partial.json", chunks=1)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=120)
    with src.open("a") as f:
        f.write(json.dumps({"id": -1, "completion": BOX, "solution": SOLUTION}) + "\n")
    assert main(["score", *_args(src, out, "--resume")]) == 2
    assert "another input or other options" in capsys.readouterr().err
    assert main(["score", *_args(src, out)]) == 1  # starting again is always possible


def test_resume_without_a_checkpoint_starts_from_the_beginning(tmp_path: Path) -> None:
    src = _input(tmp_path / "in.jsonl", n=1_200)
    out = tmp_path / "out.jsonl"
    assert main(["score", *_args(src, out, "--resume")]) == 1
    expected, _ = _reference(src, tmp_path)
    assert out.read_bytes() == expected


def _fail_on_line(line: int, how: str) -> Callable[[Any], Any]:
    """``scoring._run_chunk`` that dies (SIGKILL) or raises on the chunk from ``line``; the
    worker processes are forked, so they run it."""
    real = scoring._run_chunk

    def run(task: Any) -> Any:
        if task[1] == line:
            if how == "dies":
                os.kill(os.getpid(), signal.SIGKILL)
            raise MemoryError("cannot allocate")
        return real(task)

    return run


@pytest.mark.parametrize(
    ("how", "says"), [("dies", "killed by SIGKILL: out of memory?"), ("raises", "MemoryError")]
)
def test_a_failed_scoring_process_is_one_line_and_resume_finishes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    how: str,
    says: str,
) -> None:
    if multiprocessing.get_start_method() != "fork":
        pytest.skip("the failing chunk reaches the workers by fork")
    src = _input(tmp_path / "in.jsonl", n=3_000)
    out = tmp_path / "out.jsonl"
    monkeypatch.setattr(scoring, "_run_chunk", _fail_on_line(1_001, how))
    assert main(["score", *_args(src, out, "--workers", "2", "--resume")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert says in err and "chunk from line 1001" in err, err
    assert "run the same command again to continue" in err, err
    assert not out.exists()
    monkeypatch.undo()
    assert main(["score", *_args(src, out, "--workers", "2", "--resume")]) == 1
    expected, _ = _reference(src, tmp_path)
    assert out.read_bytes() == expected


@pytest.mark.parametrize(
    ("exitcode", "says"),
    [(-9, "killed by SIGKILL: out of memory?"), (-15, "killed by SIGTERM)"),
     (-35, "killed by signal 35)"), (3, "exit code 3)")],
)  # fmt: skip
def test_a_dead_scoring_process_is_named_for_any_exit(exitcode: int, says: str) -> None:
    class Dead:
        pid = 4242

        def join(self, timeout: float) -> None:
            pass

    dead = Dead()
    dead.exitcode = exitcode  # type: ignore[attr-defined]
    message = str(scoring._died(dead, 1001))
    assert says in message and "pid 4242" in message and "from line 1001" in message
