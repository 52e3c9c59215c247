"""``score_file_ray`` (the ``--engine ray`` path) writes what ``score_file`` writes, byte for byte.

One local Ray with 2 CPUs for the module; small files cut into many chunks.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from visual_rewards.scoring import ScoreOptions, score_file

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        yield
    finally:
        ray.shutdown()


def _rows(n: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(n):
        box = [0.1 + (i % 5) / 10, 0.1, 0.5 + (i % 4) / 10, 0.7]
        answer = json.dumps([{"Position": [int(1000 * v) for v in box], "Confidence": 0.5}])
        if i % 6 == 0:
            answer = "no boxes"  # a parse failure
        rows.append(
            {
                "id": i,
                "task": ["detection", "counting", "format"][i % 3],
                "completion": f"<think>look</think><answer>{answer}</answer>",
                "solution": [box] if i % 3 == 0 else (2 if i % 3 == 1 else None),
            }
        )
    return rows


def _bad_lines() -> list[bytes]:
    return [
        b"not json",
        b"[1, 2]",
        b'{"task": "detection", "solution": [[0, 0, 1, 1]]}',
        b'{"task": "nope", "completion": "x", "solution": 1}',
        b"\xff\xfe not utf-8",
        b"",
        b'{"task": "format", "completion": "' + b"x" * 400 + b'"}',  # longer than the limit
    ]


def _write_jsonl(path: Path, n: int) -> None:
    lines = [json.dumps(r).encode() for r in _rows(n)]
    for i, bad in enumerate(_bad_lines()):
        lines.insert(5 + 9 * i, bad)
    path.write_bytes(b"\n".join(lines) + b"\n")


def _same_as_local(tmp_path: Path, src: Path, opts: ScoreOptions) -> None:
    from visual_rewards.scoring_ray import score_file_ray

    local = score_file(src, tmp_path / "local.jsonl", opts)
    on_ray = score_file_ray(src, tmp_path / "ray.jsonl", opts)
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    local_err = tmp_path / "local.jsonl.errors.jsonl"
    ray_err = tmp_path / "ray.jsonl.errors.jsonl"
    assert local_err.exists() == ray_err.exists()
    if local_err.exists():
        assert ray_err.read_bytes() == local_err.read_bytes()
    assert on_ray.to_dict() == local.to_dict()


def test_jsonl_with_bad_lines_equals_local_run(local_ray: None, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    _write_jsonl(src, 150)
    opts = ScoreOptions(chunk_size=16, max_line_bytes=300)
    _same_as_local(tmp_path, src, opts)
    errors = (tmp_path / "ray.jsonl.errors.jsonl").read_text().splitlines()
    assert len(errors) == 6  # every bad line but the blank one, with its line number
    assert json.loads(errors[0])["line"] == 6
    assert sum(1 for _ in (tmp_path / "ray.jsonl").open()) == 150


def test_parquet_equals_local_run(local_ray: None, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    rows = _rows(90)
    for r in rows:
        r["solution"] = json.dumps(r["solution"])  # one column type
    src = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), src, row_group_size=20)
    _same_as_local(tmp_path, src, ScoreOptions(chunk_size=8))


def test_many_small_parts_equal_local_run(
    local_ray: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts of 97 bytes: cuts inside lines, a long line over several parts, blank lines,
    no final newline, chunks running over several parts."""
    import visual_rewards.scoring_ray as engine

    monkeypatch.setattr(engine, "_MIN_PART_BYTES", 97)
    monkeypatch.setattr(engine, "_PARTS_PER_CPU", 1000)
    src = tmp_path / "in.jsonl"
    _write_jsonl(src, 60)
    src.write_bytes(src.read_bytes() + b"\n\n" + json.dumps(_rows(1)[0]).encode())
    _same_as_local(tmp_path, src, ScoreOptions(chunk_size=7, max_line_bytes=300))


def test_parquet_row_group_slices_equal_local_run(
    local_ray: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    import visual_rewards.scoring_ray as engine

    monkeypatch.setattr(engine, "_PARTS_PER_CPU", 20)  # 3-row slices of 20-row groups
    rows = _rows(110)
    for r in rows:
        r["solution"] = json.dumps(r["solution"])
    src = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), src, row_group_size=20)
    _same_as_local(tmp_path, src, ScoreOptions(chunk_size=8))


def test_a_failed_task_is_one_line(local_ray: None, tmp_path: Path) -> None:
    """A file the driver sees and the workers cannot read (fsspec's in-memory filesystem
    lives in the driver's process): one line naming the work and the cause, no output, and
    no object ref left behind for the garbage collector to free at some later time (after
    ``ray.shutdown()``, or in the next Ray session, it calls into a core worker that is
    gone)."""
    fsspec = pytest.importorskip("fsspec")
    pafs = pytest.importorskip("pyarrow.fs")
    from visual_rewards.scoring import ScoringWorkerError
    from visual_rewards.scoring_ray import score_file_ray

    memory = fsspec.filesystem("memory")
    memory.pipe("/in.jsonl", b'{"completion": "x"}\n')
    fs = pafs.PyFileSystem(pafs.FSSpecHandler(memory))
    gc.collect()
    gc.disable()  # what only a collection would free stays visible
    try:
        with pytest.raises(ScoringWorkerError) as failed:
            score_file_ray("/in.jsonl", tmp_path / "out.jsonl", ScoreOptions(), filesystem=fs)
        message = str(failed.value)
        del failed
        left = [o for o in gc.get_objects() if isinstance(o, ray.ObjectRef)]
    finally:
        gc.enable()
    assert message.startswith("a Ray task failed while counting lines from byte 0: ")
    assert "FileNotFoundError" in message and "\n" not in message
    assert left == []
    assert not (tmp_path / "out.jsonl").exists()


def test_a_missing_input_is_named(tmp_path: Path) -> None:
    from visual_rewards.scoring_ray import score_file_ray

    with pytest.raises(FileNotFoundError, match=r"no-such\.jsonl"):
        score_file_ray(tmp_path / "no-such.jsonl", tmp_path / "out.jsonl", ScoreOptions())


def test_an_empty_input_writes_an_empty_output(local_ray: None, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"")
    _same_as_local(tmp_path, src, ScoreOptions())


def test_bad_options_fail_before_ray_starts(tmp_path: Path) -> None:
    from visual_rewards.scoring_ray import score_file_ray

    src = tmp_path / "in.jsonl"
    _write_jsonl(src, 3)
    with pytest.raises(ValueError, match="unknown task"):
        score_file_ray(src, tmp_path / "out.jsonl", ScoreOptions(task="no-such-task"))
    with pytest.raises(ValueError, match="input_format"):
        score_file_ray(src, tmp_path / "out.jsonl", ScoreOptions(), input_format="csv")


def test_the_core_never_imports_ray() -> None:
    code = (
        "import sys, visual_rewards, visual_rewards.scoring, visual_rewards.evaluation, "
        "visual_rewards.cli; sys.exit('ray' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_folder_of_several_files_is_refused(local_ray: None, tmp_path: Path) -> None:
    from visual_rewards.scoring_ray import score_file_ray

    folder = tmp_path / "shards"
    folder.mkdir()
    _write_jsonl(folder / "a.jsonl", 20)
    _write_jsonl(folder / "b.jsonl", 20)
    with pytest.raises(ValueError, match="must be one file"):
        score_file_ray(folder, tmp_path / "out.jsonl", ScoreOptions(chunk_size=4))
    assert not (tmp_path / "out.jsonl").exists()  # nothing half-written


def test_the_cli_engine_flag_writes_the_local_bytes(local_ray: None, tmp_path: Path) -> None:
    from visual_rewards.cli import main

    src = tmp_path / "in.jsonl"
    _write_jsonl(src, 40)
    assert main(["score", str(src), "-o", str(tmp_path / "local.jsonl")]) == 1  # bad lines
    assert main(["score", str(src), "-o", str(tmp_path / "ray.jsonl"), "--engine", "ray"]) == 1
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["s3://bucket/in.jsonl", "-o", "out.jsonl"], "needs --engine ray"),
        (["s3://bucket/in.jsonl", "--engine", "ray"], "needs -o OUTPUT"),
        (["IN", "--engine", "ray", "--workers", "2"], "drop --workers and --resume"),
        (["IN", "--engine", "ray", "--resume"], "drop --workers and --resume"),
    ],
)
def test_the_cli_engine_flag_usage_errors(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from visual_rewards.cli import main

    src = tmp_path / "in.jsonl"
    _write_jsonl(src, 3)
    argv = [str(src) if a == "IN" else a for a in argv]
    assert main(["score", *argv]) == 2
    assert message in capsys.readouterr().err
