"""Offline scoring on Ray (``visual-rewards score --engine ray``): the same rewards, more machines.

:func:`score_file_ray` is :func:`~visual_rewards.scoring.score_file` with Ray doing the work:
Ray Data reads the input (a JSONL or parquet file, local or at any URL Ray's filesystems
resolve: ``s3://``, ``gs://``, ``abfss://``…, or through an fsspec ``filesystem``), cuts it
into the very chunks a local run makes, and ``map_batches`` scores each chunk with
:func:`~visual_rewards.scoring.score_lines`, the function a local run calls. The driver
writes the chunks back in input order, so the output and the errors file are byte-identical
to a local run: same rows, same order, bad lines reported with the same line numbers and
messages.

Ray is optional (``pip install 'visual-rewards[ray]'``) and imported only here; nothing else
in the package imports this module. On an existing cluster, pass its address (or set
``RAY_ADDRESS``) and make the package importable on the workers, e.g.::

    visual-rewards score rollouts.jsonl scored.jsonl --task detection \\
        --engine ray --ray-address auto

or, from Python, ``score_file_ray(..., address="ray://head:10001",
runtime_env={"pip": ["visual-rewards"]})``.
"""

from __future__ import annotations

import io
import logging
import pickle
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# the local scorer's own reader, chunker, writer and scorer (one rule, one place)
from visual_rewards.io.files import ResumableOutput
from visual_rewards.io.rows import iter_parquet_lines, iter_raw_lines
from visual_rewards.scoring import (
    ChunkResult,
    ScoreOptions,
    ScoreSummary,
    _chunks,
    build_reward,
    encode_chunk,
    score_lines,
)

__all__ = ["score_file_ray"]

#: Ray Data block size while cutting the file: small, so scoring starts on the first chunks.
_BLOCK_BYTES = 8 << 20


def _require_ray() -> Any:
    try:
        import ray
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("the Ray engine needs Ray: pip install 'visual-rewards[ray]'") from None
    return ray


def _input_format(path: str, input_format: str) -> str:
    if input_format not in ("auto", "jsonl", "parquet"):
        raise ValueError(f"input_format must be 'auto', 'jsonl' or 'parquet', got {input_format!r}")
    if input_format != "auto":
        return input_format
    return "parquet" if path.lower().endswith((".parquet", ".pq")) else "jsonl"


def _split(
    row: dict[str, Any], opts: ScoreOptions, fmt: str, per_task: int
) -> Iterator[dict[str, Any]]:
    """One file's bytes -> the local run's chunks, ``per_task`` of them to a row."""
    data = io.BytesIO(row["bytes"])
    raw = (
        iter_raw_lines(data, opts.max_line_bytes)
        if fmt == "jsonl"
        else iter_parquet_lines(data, opts.chunk_size)
    )
    group: list[tuple[int, list[bytes | int]]] = []
    for first, chunk in _chunks(raw, opts.chunk_size):
        group.append((first, chunk))
        if len(group) == per_task:
            yield {"first_line": group[0][0], "chunks": pickle.dumps(group)}
            group = []
    if group:
        yield {"first_line": group[0][0], "chunks": pickle.dumps(group)}


#: What a worker sends back for one chunk: the bytes it adds to the output and to the errors
#: file (:func:`~visual_rewards.scoring.encode_chunk`, as a local run writes them), its rows
#: and error records counted, and the chunk's result without them (for the summary).
_Scored = tuple[bytes, bytes, int, int, ChunkResult]


def _scored(result: ChunkResult) -> _Scored:
    out, err = encode_chunk(result)
    n_rows, n_errors = len(result.lines), len(result.errors)
    result.lines, result.errors = [], []
    return out, err, n_rows, n_errors, result


def _score(batch: dict[str, Any], opts: ScoreOptions) -> dict[str, list[Any]]:
    """``score_lines`` on each chunk of each row of a batch (runs on a Ray worker)."""
    results = [
        pickle.dumps(
            [_scored(score_lines(opts, first, chunk)) for first, chunk in pickle.loads(group)]
        )
        for group in batch["chunks"]
    ]
    return {"first_line": [int(f) for f in batch["first_line"]], "result": results}


def _write(
    results: Iterator[_Scored], output_path: Path, err_path: Path, identity: dict[str, Any]
) -> ScoreSummary:
    """Write chunk results in order through the local run's output files (errors file only
    if there are errors, a stale one removed)."""
    summary = ScoreSummary()
    files = ResumableOutput([output_path, err_path], identity)
    files.open(resume=False)
    fout, ferr = files.files
    try:
        for out, err, n_rows, n_errors, result in results:
            fout.write(out)
            ferr.write(err)
            summary.add(result)
            summary.rows_scored += n_rows
            summary.errors += n_errors
    except BaseException:
        files.abort(keep=False)
        raise
    files.finish(drop_empty=(False, True))
    return summary


def score_file_ray(
    input_path: str | Path,
    output_path: str | Path,
    opts: ScoreOptions,
    *,
    errors_path: str | Path | None = None,
    input_format: str = "auto",
    address: str | None = None,
    num_cpus: int | None = None,
    filesystem: Any = None,
    runtime_env: dict[str, Any] | None = None,
    chunks_per_task: int = 8,
) -> ScoreSummary:
    """Score a whole file on Ray; the output equals :func:`~visual_rewards.scoring.score_file`'s.

    Args:
        input_path: a JSONL or parquet file: a local path or a URL Ray Data can read.
        output_path: the scored JSONL (local to the driver), written atomically.
        opts: reading and scoring options (as for ``score_file``).
        errors_path: where bad lines are reported; default ``<output>.errors.jsonl``.
        input_format: ``"jsonl"``, ``"parquet"`` or ``"auto"`` (by the suffix).
        address: the Ray cluster to join (``"auto"``, ``"ray://host:10001"``); None starts a
            local Ray unless one is running (then that one is used).
        num_cpus: CPUs of a local Ray started here (default: all).
        filesystem: a ``pyarrow.fs.FileSystem`` (or ``PyFileSystem(FSSpecHandler(fs))`` for an
            fsspec one) to read ``input_path`` with; default: inferred from the URL.
        runtime_env: Ray's runtime environment for a Ray started here (e.g. the pip
            packages the workers need).
        chunks_per_task: chunks (of ``opts.chunk_size`` lines) a worker scores in one go (one
            row of the Ray dataset); the output does not depend on it.

    Raises:
        ValueError: for bad options (unknown task or preset, bad reward option).
        ImportError: when Ray is not installed.
    """
    if opts.task is not None:
        build_reward(opts, opts.task)  # fail early on a bad task, preset or option
    if chunks_per_task < 1:
        raise ValueError(f"chunks_per_task must be >= 1, got {chunks_per_task}")
    fmt = _input_format(str(input_path), input_format)
    output_path = Path(output_path)
    err_path = (
        Path(errors_path)
        if errors_path is not None
        else output_path.with_name(output_path.name + ".errors.jsonl")
    )
    ray = _require_ray()
    started = not ray.is_initialized()
    if started:
        ray.init(
            address=address,
            num_cpus=num_cpus,
            runtime_env=runtime_env,
            include_dashboard=False,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
    try:
        start = time.perf_counter()
        summary = _write(
            _run(ray, str(input_path), opts, fmt, filesystem, chunks_per_task),
            output_path,
            err_path,
            {"input": str(input_path), "format": fmt, "engine": "ray"},
        )
        summary.seconds = time.perf_counter() - start
    finally:
        if started:
            ray.shutdown()
    return summary


def _run(
    ray: Any, path: str, opts: ScoreOptions, fmt: str, filesystem: Any, per_task: int
) -> Iterator[_Scored]:
    """The Ray Data pipeline: read, cut into chunks, score chunks in parallel, in order."""
    ctx = ray.data.DataContext.get_current()
    saved = (
        ctx.execution_options.preserve_order,
        ctx.enable_progress_bars,
        ctx.target_max_block_size,
    )
    ctx.execution_options.preserve_order = True  # results come back in input order
    ctx.enable_progress_bars = False
    ctx.target_max_block_size = _BLOCK_BYTES  # chunks reach the scorers while the file is cut
    try:
        ds = (
            ray.data.read_binary_files(path, filesystem=filesystem)
            .flat_map(_split, fn_kwargs={"opts": opts, "fmt": fmt, "per_task": per_task})
            .map_batches(_score, fn_kwargs={"opts": opts}, batch_size=1, batch_format="numpy")
        )
        last = 0
        for row in ds.iter_rows():
            first = int(row["first_line"])
            if first <= last:  # several files (a folder), or Ray broke its order guarantee
                raise ValueError(f"{path}: the input must be one file")
            last = first
            yield from pickle.loads(row["result"])
    finally:
        (
            ctx.execution_options.preserve_order,
            ctx.enable_progress_bars,
            ctx.target_max_block_size,
        ) = saved
