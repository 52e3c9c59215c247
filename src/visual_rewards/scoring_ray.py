"""Offline scoring on Ray (``visual-rewards score --engine ray``): the same rewards, more machines.

:func:`score_file_ray` is :func:`~visual_rewards.scoring.score_file` with Ray doing the work.
The input is a JSONL or parquet file, local or at any URL pyarrow's filesystems resolve
(``s3://``, ``gs://``, ``abfs://``, ``hdfs://``…), or read through a given filesystem (an
fsspec one wrapped in ``pyarrow.fs.PyFileSystem(pyarrow.fs.FSSpecHandler(fs))``). The file
is cut into parts -- byte ranges of a JSONL file, row ranges of a parquet file's row groups --
and Ray tasks, each reading its own part from the file, score the very chunks a local run
makes (``chunk_size`` lines from line 1) with :func:`~visual_rewards.scoring.score_lines`,
the function a local run calls. The input never passes through the driver or Ray's object
store; the tasks send back the encoded output, which the driver writes in input order. So
the output and the errors file are byte-identical to a local run: same rows, same order,
bad lines reported with the same line numbers and messages.

A JSONL file takes two passes: Ray tasks count the lines starting in each byte range, which
gives every range its first line number and so where the local run's chunks start; then each
scoring task reads the chunks that start in its range (the last one running past its end).

Ray is optional (``pip install 'visual-rewards[ray]'``) and imported only here; nothing else
in the package imports this module. On an existing cluster, pass its address (or set
``RAY_ADDRESS``) and make the package importable on the workers, e.g.::

    visual-rewards score rollouts.jsonl scored.jsonl --task detection \\
        --engine ray --ray-address auto

or, from Python, ``score_file_ray(..., address="ray://head:10001",
runtime_env={"pip": ["visual-rewards"]})``.
"""

from __future__ import annotations

import collections
import io
import itertools
import logging
import os
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# the local scorer's own reader, chunker, writer and scorer (one rule, one place)
from visual_rewards.io.files import ResumableOutput
from visual_rewards.io.rows import iter_parquet_lines, iter_raw_lines
from visual_rewards.scoring import (
    ChunkResult,
    ScoreOptions,
    ScoreSummary,
    ScoringWorkerError,
    _chunks,
    _input_format,
    build_reward,
    encode_chunk,
    score_lines,
)

__all__ = ["score_file_ray"]

#: Parts per CPU of the cluster (more parts even out their sizes' differences), the smallest
#: and the largest JSONL part in bytes, and the largest parquet part in rows (a task holds its
#: part's output until it returns).
_PARTS_PER_CPU = 32
_MIN_PART_BYTES = 1 << 20
_MAX_PART_BYTES = 64 << 20
_MAX_PART_ROWS = 1 << 16
#: Bytes a line-counting task reads at once.
_READ_BYTES = 8 << 20


def _require_ray() -> Any:
    try:
        import ray
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("the Ray engine needs Ray: pip install 'visual-rewards[ray]'") from None
    return ray


@dataclass(frozen=True)
class _Source:
    """The input file: its filesystem, its path there and its format."""

    fs: Any
    path: str
    fmt: str

    def lines(self, where: int, skip: int, opts: ScoreOptions) -> Iterator[bytes | int]:
        """Raw lines as a local run reads them, from the first line starting at or after byte
        ``where`` (JSONL) or from row group ``where`` (parquet), ``skip`` lines passed over
        (parquet rows are decoded, not converted)."""
        with self.fs.open_input_file(self.path) as f:
            if self.fmt == "parquet":
                yield from iter_parquet_lines(f, opts.chunk_size, first_group=where, skip_rows=skip)
                return
            f.seek(max(where - 1, 0))
            lines = iter_raw_lines(io.BufferedReader(f, 1 << 16), opts.max_line_bytes)
            if where > 0:
                next(lines, None)  # the line holding byte where - 1 began before the range
            yield from itertools.islice(lines, skip, None)


def _source(path: str, fmt: str, filesystem: Any) -> _Source:
    """The input as a :class:`_Source`; raises for a missing file or a folder."""
    import pyarrow.fs as pafs

    if filesystem is not None:
        fs, inner = filesystem, path
    elif "://" in path:
        fs, inner = pafs.FileSystem.from_uri(path)
    else:
        fs, inner = pafs.LocalFileSystem(), os.path.abspath(path)
    info = fs.get_file_info(inner)
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"{path}: no such file")
    if info.type != pafs.FileType.File:  # a folder of shards
        raise ValueError(f"{path}: the input must be one file")
    return _Source(fs, inner, fmt)


def _count_line_starts(source: _Source, start: int, end: int) -> int:
    """How many lines start in bytes ``[start, end)``: one at byte 0, one after each newline
    but a last byte's (runs on a Ray worker)."""
    count = int(start == 0)
    pos, stop = max(start - 1, 0), end - 1
    with source.fs.open_input_file(source.path) as f:
        while pos < stop:
            data = f.read_at(min(_READ_BYTES, stop - pos), pos)
            count += data.count(b"\n")
            pos += len(data)
    return count


@dataclass(frozen=True)
class _Part:
    """One scoring task: from ``where`` (a byte offset or a row group), pass over ``skip``
    lines, then score ``n_lines`` lines (fewer at the end of the file), the first of them
    line ``first_line``, in the local run's chunks."""

    where: int
    skip: int
    first_line: int
    n_lines: int


def _parts(units: list[tuple[int, int, int]], chunk_size: int) -> list[_Part]:
    """The scoring tasks of the file's units ``(where, lines passed over, lines)`` in file
    order: each scores the chunks that start in its unit.

    >>> _parts([(0, 0, 5), (100, 0, 0), (200, 0, 4)], chunk_size=3)
    [_Part(where=0, skip=0, first_line=1, n_lines=6), _Part(where=200, skip=1, first_line=7, n_lines=3)]
    """
    parts = []
    line = 1  # the number of the unit's first line
    for where, passed, count in units:
        skip = -(line - 1) % chunk_size  # lines before the next chunk starts
        if skip < count:
            n_chunks = -(-(count - skip) // chunk_size)
            parts.append(_Part(where, passed + skip, line + skip, n_chunks * chunk_size))
        line += count
    return parts


def _part_size(total: int, wanted: int, smallest: int, largest: int) -> int:
    """The size of a part (bytes or rows) that cuts ``total`` into about ``wanted`` parts,
    kept within ``[smallest, largest]``.

    >>> _part_size(1000, 8, 1, 500), _part_size(1000, 8, 200, 400), _part_size(10**6, 8, 1, 100)
    (125, 200, 100)
    """
    return min(max(-(-total // wanted), smallest), largest)


def _units(ray: Any, source: _Source, cpus: int) -> list[tuple[int, int, int]]:
    """The file cut into about ``_PARTS_PER_CPU * cpus`` units ``(where, lines passed over,
    lines)``, more where a unit would exceed the largest part: byte ranges of a JSONL file
    (their lines counted by Ray tasks), row ranges of a parquet file's row groups (counted
    from its metadata)."""
    wanted = _PARTS_PER_CPU * max(cpus, 1)
    if source.fmt == "parquet":
        import pyarrow.parquet as pq

        with source.fs.open_input_file(source.path) as f:
            meta = pq.ParquetFile(f).metadata
        rows = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
        step = _part_size(sum(rows), wanted, 1, _MAX_PART_ROWS)
        return [(g, a, min(step, n - a)) for g, n in enumerate(rows) for a in range(0, n, step)]
    size = source.fs.get_file_info(source.path).size
    step = _part_size(size, wanted, _MIN_PART_BYTES, _MAX_PART_BYTES)
    edges = [*range(0, size, step), size]
    count = ray.remote(_count_line_starts)
    starts = edges[:-1]
    pending = [count.remote(source, a, b) for a, b in itertools.pairwise(edges)]
    counts = [
        _get(ray, ref, f"counting lines from byte {a}")
        for ref, a in zip(pending, starts, strict=True)
    ]
    return [(a, 0, n) for a, n in zip(starts, counts, strict=True)]


#: What a task sends back for one chunk: the bytes it adds to the output and to the errors
#: file (:func:`~visual_rewards.scoring.encode_chunk`, as a local run writes them), its rows
#: and error records counted, and the chunk's result without them (for the summary).
_Scored = tuple[bytes, bytes, int, int, ChunkResult]


def _scored(result: ChunkResult) -> _Scored:
    out, err = encode_chunk(result)
    n_rows, n_errors = len(result.lines), len(result.errors)
    result.lines, result.errors = [], []
    return out, err, n_rows, n_errors, result


def _score_part(source: _Source, part: _Part, opts: ScoreOptions) -> list[_Scored]:
    """``score_lines`` on each chunk of one part, read from the file (runs on a Ray worker)."""
    lines = itertools.islice(source.lines(part.where, part.skip, opts), part.n_lines)
    chunks = _chunks(lines, opts.chunk_size, part.first_line)
    return [_scored(score_lines(opts, first, chunk)) for first, chunk in chunks]


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
) -> ScoreSummary:
    """Score a whole file on Ray; the output equals :func:`~visual_rewards.scoring.score_file`'s.

    Args:
        input_path: a JSONL or parquet file: a local path (readable by every Ray worker) or
            a URL.
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

    Raises:
        ValueError: for bad options (unknown task or preset, bad reward option), or a
            folder as the input.
        FileNotFoundError: when the input does not exist.
        ImportError: when Ray is not installed.
    """
    if opts.task is not None:
        build_reward(opts, opts.task)  # fail early on a bad task, preset or option
    fmt = _input_format(Path(str(input_path)), input_format)
    source = _source(str(input_path), fmt, filesystem)
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
            _run(ray, source, opts),
            output_path,
            err_path,
            {"input": str(input_path), "format": fmt, "engine": "ray"},
        )
        summary.seconds = time.perf_counter() - start
    except BaseException as exc:
        # the frames of a failed run hold object refs: free them while Ray still runs
        traceback.clear_frames(exc.__traceback__)
        raise
    finally:
        if started:
            ray.shutdown()
    return summary


def _get(ray: Any, ref: Any, doing: str) -> Any:
    """A task's result; a failed task (its exception, or its worker lost for good after
    Ray's retries) as one :class:`~visual_rewards.scoring.ScoringWorkerError` line, raised
    without Ray's exception attached (it would keep object refs alive in its frames)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:
        why, cause = type(exc).__name__, getattr(exc, "cause", None)
        if cause is not None:
            why = f"{type(cause).__name__}: {(str(cause).splitlines() or [''])[0]}"
    raise ScoringWorkerError(f"a Ray task failed while {doing}: {why}")


def _run(ray: Any, source: _Source, opts: ScoreOptions) -> Iterator[_Scored]:
    """Score the parts in parallel, at most a few per CPU ahead of the writer, in order."""
    cpus = int(ray.cluster_resources().get("CPU", 1))
    parts = _parts(_units(ray, source, cpus), opts.chunk_size)
    score = ray.remote(_score_part)
    ahead = 4 * max(cpus, 1)
    pending = collections.deque(score.remote(source, part, opts) for part in parts[:ahead])
    for i, part in enumerate(parts):
        if i + ahead < len(parts):
            pending.append(score.remote(source, parts[i + ahead], opts))
        yield from _get(ray, pending.popleft(), f"scoring from line {part.first_line}")
