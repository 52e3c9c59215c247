"""Streaming offline scorer: ``visual-rewards score``.

Reads JSONL (or parquet) rows of model outputs with their ground truth, scores them with the
same rewards training uses (found by task name in :data:`visual_rewards.rewards.REWARDS`),
and writes every input row back with one extra field (``scores`` by default)::

    {"reward": "detection_default", "total": 1.83, "components": {"iou": 0.9, ...},
     "parse_failed": false, "format_ok": true, "truncated": false}

(``parse_errors``, the parser's reasons, is added where ``parse_failed`` is true; ``total`` and
components are ``null`` where the reward does not apply, e.g. a malformed ground truth).

Design:

* constant memory: the input is read line by line (a line longer than ``max_line_bytes`` is
  skipped without being held in memory) and scored in chunks of ``chunk_size`` rows, each
  chunk with one call of the reward's batch :meth:`~visual_rewards.rewards.Reward.score`
  per task;
* ``workers > 1`` scores chunks in worker processes, at most ``2 * workers`` chunks in
  flight, and writes them in input order, so the output is byte-identical to one worker;
* a bad line (not UTF-8, bad JSON, not an object, missing or mistyped fields, unknown task,
  too long, or a reward that raises on it) is written to the errors file with its line
  number and never stops the run; if a reward raises on a chunk, the chunk is re-scored row
  by row so only the offending rows are lost;
* the output and errors files are written to a temporary file and renamed at the end, so an
  interrupted run leaves no half-written file.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import sys
import time
import warnings
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import numpy as np

from visual_rewards.parsing import (
    DEFAULT_MAX_COMPLETION_CHARS,
    completion_text,
    parse_completion,
    parse_detections,
    parse_points,
)
from visual_rewards.rewards import REWARDS, Reward, get_reward

__all__ = [
    "ChunkResult",
    "RewardStats",
    "ScoreOptions",
    "ScoreSummary",
    "add_score_parser",
    "atomic_writer",
    "format_summary",
    "iter_rows",
    "row_value",
    "score_file",
    "score_lines",
]

#: Tasks whose answers are boxes / points (used only to explain a parse failure).
BOX_TASKS = frozenset({"detection", "grounding", "open_vocabulary_detection", "ovd"})
POINT_TASKS = frozenset({"point", "points", "pointing"})
_MAX_ERROR_SNIPPET = 200
#: Trainer columns holding decoded images (TRL's ``image``); never forwarded from JSONL rows.
_IMAGE_COLUMNS = frozenset({"image", "images"})


# ---------------------------------------------------------------------------------------------
# Options and results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreOptions:
    """How to read rows and which reward to apply.

    Attributes:
        task: the task of every row (e.g. ``"detection"``); None to read it from ``task_field``.
        task_field: the row field naming the task when ``task`` is None.
        preset: the reward preset (``"default"`` or ``"visual_rft"``).
        options: reward options as ``(key, JSON value)`` pairs; a key ``"task.name"`` applies
            only to that task, a plain ``"name"`` to every task.
        completion_field: the row field holding the completion (a string or a list of messages).
        solution_field: the row field holding the ground truth.
        result_field: the field added to every output row.
        chunk_size: rows per call of the reward's batch ``score()``.
        max_line_bytes: longer lines are reported as errors without being parsed.
    """

    task: str | None = None
    task_field: str = "task"
    preset: str = "default"
    options: tuple[tuple[str, str], ...] = ()
    completion_field: str = "completion"
    solution_field: str = "solution"
    result_field: str = "scores"
    chunk_size: int = 1024
    max_line_bytes: int = 1 << 24

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {self.chunk_size}")
        if self.max_line_bytes < 2:
            raise ValueError(f"max_line_bytes must be >= 2, got {self.max_line_bytes}")
        for key, value in self.options:
            try:
                json.loads(value)
            except ValueError:
                raise ValueError(f"option {key}: value is not JSON: {value!r}") from None


@dataclass
class RewardStats:
    """Running sums for one reward (mergeable across chunks, in order)."""

    rows: int = 0
    not_applicable: int = 0
    parse_failed: int = 0
    format_ok: int = 0
    total_sum: float = 0.0
    component_sum: dict[str, float] = field(default_factory=dict)
    component_n: dict[str, int] = field(default_factory=dict)

    def merge(self, other: RewardStats) -> None:
        """Add ``other``'s sums to these."""
        self.rows += other.rows
        self.not_applicable += other.not_applicable
        self.parse_failed += other.parse_failed
        self.format_ok += other.format_ok
        self.total_sum += other.total_sum
        for key, value in other.component_sum.items():
            self.component_sum[key] = self.component_sum.get(key, 0.0) + value
            self.component_n[key] = self.component_n.get(key, 0) + other.component_n[key]


@dataclass
class ChunkResult:
    """What scoring one chunk of lines produced: output lines, error records and sums."""

    lines: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, RewardStats] = field(default_factory=dict)
    n_lines: int = 0
    n_bytes: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class ScoreSummary:
    """The outcome of a whole run."""

    lines_read: int = 0
    rows_scored: int = 0
    errors: int = 0
    stats: dict[str, RewardStats] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, chunk: ChunkResult) -> None:
        """Merge one chunk's results (call in input order for reproducible sums)."""
        self.lines_read += chunk.n_lines
        self.rows_scored += len(chunk.lines)
        self.errors += len(chunk.errors)
        for name, stats in chunk.stats.items():
            self.stats.setdefault(name, RewardStats()).merge(stats)
        if len(self.warnings) < 20:
            self.warnings.extend(chunk.warnings[: 20 - len(self.warnings)])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: counts, rates and mean per component for each reward."""
        rewards: dict[str, Any] = {}
        for name, s in sorted(self.stats.items()):
            applicable = s.rows - s.not_applicable
            rewards[name] = {
                "rows": s.rows,
                "not_applicable": s.not_applicable,
                "parse_failure_rate": s.parse_failed / s.rows if s.rows else None,
                "format_rate": s.format_ok / s.rows if s.rows else None,
                "mean_total": s.total_sum / applicable if applicable else None,
                "mean_components": {
                    k: (s.component_sum[k] / s.component_n[k] if s.component_n[k] else None)
                    for k in sorted(s.component_sum)
                },
            }
        return {
            "lines_read": self.lines_read,
            "rows_scored": self.rows_scored,
            "errors": self.errors,
            "rewards": rewards,
        }


# ---------------------------------------------------------------------------------------------
# Scoring one chunk (pure: runs in the main process or in a worker)
# ---------------------------------------------------------------------------------------------


def row_value(row: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """``row[name]``, else the same key inside the row's ``metadata`` (a dict or JSON text).

    Rows written by ``visual-rewards build-dataset`` keep ``image_id``, ``category`` and
    ``image_size`` in a ``metadata`` JSON string; this finds them there.

    >>> row_value({"metadata": '{"image_size": [640, 480]}'}, "image_size")
    [640, 480]
    >>> row_value({"image_size": [1, 2], "metadata": "{}"}, "image_size")
    [1, 2]
    """
    if name in row:
        return row[name]
    meta = row.get("metadata")
    if isinstance(meta, str) and meta.startswith("{"):
        try:
            meta = json.loads(meta)
        except ValueError:
            return default
    if isinstance(meta, Mapping):
        return meta.get(name, default)
    return default


def _options_for(task: str, options: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in options:
        scope, dot, name = key.rpartition(".")
        if not dot:
            out[key] = json.loads(value)
        elif scope == task:
            out[name] = json.loads(value)
    return out


@lru_cache(maxsize=64)
def _reward(task: str, preset: str, options: tuple[tuple[str, str], ...]) -> Reward:
    return get_reward(task, preset, **_options_for(task, options))


def build_reward(opts: ScoreOptions, task: str) -> Reward:
    """The (cached) reward for ``task`` under ``opts``; raises ValueError/TypeError if unknown."""
    return _reward(task, opts.preset, opts.options)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


#: Strict JSON: NaN/Infinity are refused so that every output line is valid JSON.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _error(line_no: int, message: str, raw: bytes | str | None) -> dict[str, Any]:
    snippet: str | None
    if raw is None:
        snippet = None
    else:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        snippet = text.rstrip("\r\n")[:_MAX_ERROR_SNIPPET]
    return {"line": line_no, "error": message, "text": snippet}


def _valid_completion(value: Any) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, Mapping):
        return True
    return isinstance(value, list) and all(isinstance(m, Mapping) for m in value)


def _parse_errors(task: str, answer: str | None) -> list[str]:
    """Why nothing could be read from an answer (called only where parse_failed)."""
    if answer is None:
        return ["no answer"]
    if task in BOX_TASKS:
        return parse_detections(answer, coords="norm1000").errors or ["no boxes found"]
    if task in POINT_TASKS:
        return parse_points(answer, coords="norm1000").errors or ["no points found"]
    return ["answer not understood"]


_JSON_BOOL = {True: "true", False: "false"}


def _json_num(value: float) -> str:
    """``json.dumps`` of a float, with ``null`` for NaN/inf (not applicable)."""
    return repr(value) if math.isfinite(value) else "null"


def _score_group(
    reward: Reward,
    rows: Sequence[dict[str, Any]],
    opts: ScoreOptions,
    caught: list[str],
    where: str,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """One batch call; warnings are recorded with ``where`` (the batch's input lines)."""
    completions = [row[opts.completion_field] for row in rows]
    solutions = [row.get(opts.solution_field) for row in rows] if reward.needs_solution else None
    columns: dict[str, list[Any]] = {}
    for name in reward.extra_columns:
        if name in _IMAGE_COLUMNS:
            continue  # offline rows hold image paths, not images: sizes come from image_size
        values = [row_value(row, name) for row in rows]
        if any(v is not None for v in values):
            columns[name] = values
    with warnings.catch_warnings(record=True) as recorded:
        warnings.simplefilter("always")
        res = reward.score(completions, solutions, **columns)
    caught.extend(f"{reward.__name__} ({where}): {w.message}" for w in recorded)
    n = len(rows)
    total = np.asarray(res.total, dtype=np.float64).reshape(n)
    comps = {k: np.asarray(v, dtype=np.float64).reshape(n) for k, v in res.components.items()}
    failed = np.asarray(res.parse_failed, dtype=bool).reshape(n)
    return total, comps, failed


def score_lines(opts: ScoreOptions, first_line: int, lines: Sequence[bytes | int]) -> ChunkResult:
    """Score one chunk of raw input lines; pure, deterministic, never raises on row data.

    Args:
        opts: what to read and how to score.
        first_line: the 1-based line number of ``lines[0]``.
        lines: the raw lines (bytes, with or without the newline); an ``int`` stands for a
            line that was too long to read (its length in bytes).

    >>> opts = ScoreOptions(task="format")
    >>> res = score_lines(opts, 1, [b'{"completion": "<think>a</think><answer>b</answer>"}',
    ...                             b'{"completion": 3}', b'not json'])
    >>> res.lines[0]
    '{"completion": "<think>a</think><answer>b</answer>", "scores": {"reward": "format_default", "total": 1.0, "components": {"format": 1.0}, "parse_failed": false, "format_ok": true, "truncated": false}}'
    >>> [(e["line"], e["error"]) for e in res.errors]
    [(2, "field 'completion' must be a string or a list of messages, got int"), (3, 'invalid JSON: Expecting value at column 1')]
    """
    out = ChunkResult(n_lines=len(lines))
    # 1. Decode and validate every line.
    good: list[tuple[int, str, dict[str, Any], str]] = []  # (line_no, text, row, task)
    errors: dict[int, dict[str, Any]] = {}
    for offset, raw in enumerate(lines):
        line_no = first_line + offset
        if isinstance(raw, int):
            out.n_bytes += raw
            errors[line_no] = _error(
                line_no, f"line too long ({raw} bytes > {opts.max_line_bytes})", None
            )
            continue
        out.n_bytes += len(raw)
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            errors[line_no] = _error(line_no, f"not UTF-8: {exc.reason} at byte {exc.start}", raw)
            continue
        if not text:
            out.n_lines -= 1  # a blank line is not a record
            continue
        try:
            row = _DECODER.decode(text)
        except ValueError as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            where = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            errors[line_no] = _error(line_no, f"invalid JSON: {msg}{where}", text)
            continue
        except RecursionError:
            errors[line_no] = _error(line_no, "invalid JSON: nested too deeply", text)
            continue
        if not isinstance(row, dict):
            errors[line_no] = _error(
                line_no, f"expected a JSON object, got {_type_name(row)}", text
            )
            continue
        message = _check_row(row, opts)
        if message is not None:
            errors[line_no] = _error(line_no, message, text)
            continue
        task = opts.task if opts.task is not None else row[opts.task_field]
        good.append((line_no, text, row, task))

    # 2. Score: one batch call per task present in the chunk.
    results: dict[int, str] = {}  # line number -> the result as JSON text
    by_task: dict[str, list[int]] = {}
    for i, (_, _, _, task) in enumerate(good):
        by_task.setdefault(task, []).append(i)
    for task, idx in by_task.items():
        try:
            reward = build_reward(opts, task)
        except (ValueError, TypeError) as exc:
            for i in idx:
                errors[good[i][0]] = _error(good[i][0], f"cannot build reward: {exc}", good[i][1])
            continue
        _score_task(reward, task, [good[i] for i in idx], opts, out, errors, results)

    # 3. Emit in input order.
    key = json.dumps(opts.result_field)
    for line_no, text, row, _ in good:
        payload = results.get(line_no)
        if payload is None:
            continue
        if opts.result_field in row or not text.endswith("}"):
            row = dict(row)
            row[opts.result_field] = json.loads(payload)
            out.lines.append(json.dumps(row))
        else:  # keep the input text exactly as written and append one field
            out.lines.append(f"{text[:-1]}, {key}: {payload}}}")
    out.errors = [errors[k] for k in sorted(errors)]
    return out


def _check_row(row: dict[str, Any], opts: ScoreOptions) -> str | None:
    if opts.task is None:
        task = row.get(opts.task_field)
        if task is None:
            return f"missing field {opts.task_field!r} (the task of the row)"
        if not isinstance(task, str):
            return f"field {opts.task_field!r} must be a string, got {_type_name(task)}"
        if task not in REWARDS:
            return f"unknown task {task!r}; known tasks: {sorted(REWARDS)}"
        needs_solution = REWARDS[task].needs_solution
    else:
        needs_solution = REWARDS[opts.task].needs_solution if opts.task in REWARDS else True
    if opts.completion_field not in row:
        return f"missing field {opts.completion_field!r}"
    if not _valid_completion(row[opts.completion_field]):
        got = _type_name(row[opts.completion_field])
        return f"field {opts.completion_field!r} must be a string or a list of messages, got {got}"
    if needs_solution and row.get(opts.solution_field) is None:
        return f"missing field {opts.solution_field!r} (the ground truth)"
    return None


def _score_task(
    reward: Reward,
    task: str,
    items: list[tuple[int, str, dict[str, Any], str]],
    opts: ScoreOptions,
    out: ChunkResult,
    errors: dict[int, dict[str, Any]],
    results: dict[int, str],
) -> None:
    rows = [it[2] for it in items]
    try:
        where = f"batch of {len(items)} rows from line {items[0][0]}"
        total, comps, failed = _score_group(reward, rows, opts, out.warnings, where)
        ok = list(range(len(items)))
    except Exception:  # a caller-side error on some row: find it, keep the others
        ok = []
        parts_t, parts_c, parts_f = [], [], []
        for i, it in enumerate(items):
            try:
                t, c, f = _score_group(reward, [it[2]], opts, out.warnings, f"line {it[0]}")
            except Exception as exc:
                errors[it[0]] = _error(it[0], f"reward raised {type(exc).__name__}: {exc}", it[1])
                continue
            ok.append(i)
            parts_t.append(t)
            parts_c.append(c)
            parts_f.append(f)
        if not ok:
            return
        total = np.concatenate(parts_t)
        keys = list(parts_c[0])
        comps = {k: np.concatenate([c[k] for c in parts_c]) for k in keys}
        failed = np.concatenate(parts_f)

    name = reward.__name__
    stats = out.stats.setdefault(name, RewardStats())
    stats.rows += len(ok)
    valid = ~np.isnan(total)
    stats.not_applicable += int((~valid).sum())
    stats.total_sum += float(total[valid].sum())
    stats.parse_failed += int(failed.sum())
    for key, values in comps.items():
        finite = ~np.isnan(values)
        stats.component_sum[key] = stats.component_sum.get(key, 0.0) + float(values[finite].sum())
        stats.component_n[key] = stats.component_n.get(key, 0) + int(finite.sum())

    total_l = total.tolist()
    comps_l = {k: v.tolist() for k, v in comps.items()}
    failed_l = failed.tolist()
    fmt_l = comps_l.get("format")
    head = f'{{"reward": {json.dumps(name)}, "total": '
    comp_keys = [(json.dumps(k), v) for k, v in comps_l.items()]
    for j, i in enumerate(ok):
        line_no, _, row, _ = items[i]
        completion = row[opts.completion_field]
        text = completion if isinstance(completion, str) else completion_text(completion)
        if len(text) > DEFAULT_MAX_COMPLETION_CHARS:
            text = text[:DEFAULT_MAX_COMPLETION_CHARS]
        # cheap diagnostics: the reward's own format component when it has one (so the
        # preset's rule applies), the strict rule of DESIGN 4.1 otherwise
        a0 = text.find("<answer>")
        truncated = a0 >= 0 and text.find("</answer>", a0 + 8) < 0
        format_ok = fmt_l[j] == 1.0 if fmt_l is not None else parse_completion(text).format_ok
        stats.format_ok += format_ok
        # the JSON of the result, written directly (what json.dumps would give, faster)
        comps_json = ", ".join([f"{k}: {_json_num(v[j])}" for k, v in comp_keys])
        result = (
            f'{head}{_json_num(total_l[j])}, "components": {{{comps_json}}}, '
            f'"parse_failed": {_JSON_BOOL[failed_l[j]]}, "format_ok": {_JSON_BOOL[format_ok]}, '
            f'"truncated": {_JSON_BOOL[truncated]}'
        )
        if failed_l[j]:
            reasons = _parse_errors(task, parse_completion(text).answer)
            result += f', "parse_errors": {json.dumps(reasons)}'
        results[line_no] = result + "}"


# ---------------------------------------------------------------------------------------------
# Reading, writing, running
# ---------------------------------------------------------------------------------------------


def _iter_jsonl(f: IO[bytes], max_bytes: int) -> Iterator[bytes | int]:
    """Yield raw lines; a line longer than ``max_bytes`` is drained and yielded as its length."""
    while True:
        line = f.readline(max_bytes + 1)
        if not line:
            return
        if len(line) > max_bytes and not line.endswith(b"\n"):
            size = len(line)
            while True:
                more = f.readline(1 << 20)
                size += len(more)
                if not more or more.endswith(b"\n"):
                    break
            yield size
        else:
            yield line


def _iter_parquet(path: Path, batch_rows: int) -> Iterator[bytes | int]:
    """Yield parquet rows as JSON lines (bytes values become base64 strings)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - depends on the environment
        from visual_rewards.cli import UsageError

        raise UsageError(
            "reading parquet needs pyarrow: pip install 'visual-rewards[parquet]'"
        ) from None
    import base64

    def default(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray)):
            return base64.b64encode(value).decode("ascii")
        return str(value)

    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
        for row in batch.to_pylist():
            yield json.dumps(row, default=default, ensure_ascii=False).encode("utf-8")


def iter_rows(
    path: Path | str, errors: list[dict[str, Any]] | None = None, max_line_bytes: int = 1 << 24
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, row)`` for every JSON-object line of a JSONL file.

    Bad lines are skipped and, when ``errors`` is given, appended to it as
    ``{"line", "error", "text"}`` (blank lines are skipped silently).
    """
    with open(path, "rb") as f:
        for line_no, raw in enumerate(_iter_jsonl(f, max_line_bytes), start=1):
            if isinstance(raw, int):
                if errors is not None:
                    errors.append(_error(line_no, f"line too long ({raw} bytes)", None))
                continue
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except ValueError as exc:  # includes UnicodeDecodeError
                if errors is not None:
                    errors.append(_error(line_no, f"invalid JSON: {exc}", raw))
                continue
            if not isinstance(row, dict):
                if errors is not None:
                    errors.append(
                        _error(line_no, f"expected a JSON object, got {_type_name(row)}", raw)
                    )
                continue
            yield line_no, row


def _chunks(lines: Iterator[bytes | int], size: int) -> Iterator[tuple[int, list[bytes | int]]]:
    line_no = 1
    chunk: list[bytes | int] = []
    for raw in lines:
        chunk.append(raw)
        if len(chunk) >= size:
            yield line_no, chunk
            line_no += len(chunk)
            chunk = []
    if chunk:
        yield line_no, chunk


class atomic_writer:
    """Write a text file through a temporary sibling, renamed into place on success only.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_writer(p) as f:
    ...     _ = f.write("done")
    >>> p.read_text()
    'done'
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._file: IO[str] | None = None

    def __enter__(self) -> IO[str]:
        self._file = open(self.tmp, "w", encoding="utf-8", newline="\n")
        return self._file

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self._file is not None
        try:
            if exc_type is None:
                self._file.flush()
                os.fsync(self._file.fileno())
            self._file.close()
            if exc_type is None:
                os.replace(self.tmp, self.path)
        finally:
            if self.tmp.exists():
                self.tmp.unlink()


class _Progress:
    """A one-line progress bar on stderr, redrawn at most five times a second."""

    def __init__(self, total_bytes: int | None, enabled: bool) -> None:
        self.total = total_bytes
        self.enabled = enabled
        self.start = time.perf_counter()
        self.last = 0.0

    def update(self, n_bytes: int, n_lines: int, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not final and now - self.last < 0.2:
            return
        self.last = now
        rate = n_lines / max(now - self.start, 1e-9)
        if self.total:
            frac = min(n_bytes / self.total, 1.0)
            bar = "#" * int(frac * 30)
            head = f"[{bar:<30}] {frac:6.1%}"
        else:
            head = "[scoring]"
        sys.stderr.write(f"\r{head} {n_lines:,} lines {rate:,.0f} lines/s")
        if final:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _run_chunk(args: tuple[ScoreOptions, int, list[bytes | int]]) -> ChunkResult:
    return score_lines(*args)


def score_file(
    input_path: Path | str,
    output_path: Path | str,
    opts: ScoreOptions,
    *,
    errors_path: Path | str | None = None,
    workers: int = 1,
    progress: bool = False,
    input_format: str = "auto",
) -> ScoreSummary:
    """Score a whole file; see the module docstring. Returns the run's summary.

    Args:
        input_path: JSONL (``.jsonl``/``.json``/``.gz`` not supported) or parquet file.
        output_path: the scored JSONL, written atomically.
        opts: reading and scoring options.
        errors_path: where bad lines are reported as JSONL (``{"line", "error", "text"}``);
            default ``<output>.errors.jsonl``. Written only when there are errors (a stale
            one from an earlier run is removed otherwise).
        workers: processes scoring chunks; the output does not depend on it.
        progress: draw a progress bar on stderr.
        input_format: ``"jsonl"``, ``"parquet"`` or ``"auto"`` (by the file suffix).

    Raises:
        ValueError: for bad options (unknown task or preset, bad reward option, workers < 1).
    """
    input_path = Path(input_path)
    output_path = Path(output_path)
    err_path = (
        Path(errors_path)
        if errors_path is not None
        else output_path.with_name(output_path.name + ".errors.jsonl")
    )
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if opts.task is not None:
        build_reward(opts, opts.task)  # fail early on a bad task, preset or option
    fmt = input_format
    if fmt == "auto":
        fmt = "parquet" if input_path.suffix.lower() in {".parquet", ".pq"} else "jsonl"

    summary = ScoreSummary()
    start = time.perf_counter()
    size = input_path.stat().st_size
    bar = _Progress(size if fmt == "jsonl" else None, progress)
    n_bytes = 0
    with open(input_path, "rb") as fin, atomic_writer(output_path) as fout:
        raw_lines = (
            _iter_jsonl(fin, opts.max_line_bytes)
            if fmt == "jsonl"
            else _iter_parquet(input_path, opts.chunk_size)
        )
        tasks = ((opts, first, chunk) for first, chunk in _chunks(raw_lines, opts.chunk_size))
        err_file: IO[str] | None = None
        err_writer: atomic_writer | None = None
        try:
            for result in _map_ordered(tasks, workers):
                if result.lines:
                    fout.write("\n".join(result.lines))
                    fout.write("\n")
                if result.errors:
                    if err_writer is None:
                        err_writer = atomic_writer(err_path)
                        err_file = err_writer.__enter__()
                    assert err_file is not None
                    for record in result.errors:
                        err_file.write(json.dumps(record, ensure_ascii=False) + "\n")
                summary.add(result)
                n_bytes += result.n_bytes
                bar.update(n_bytes, summary.lines_read)
        except BaseException as exc:
            if err_writer is not None:
                err_writer.__exit__(type(exc), exc, None)
            raise
        if err_writer is not None:
            err_writer.__exit__(None, None, None)
        elif err_path.exists():
            err_path.unlink()
    summary.seconds = time.perf_counter() - start
    bar.update(n_bytes, summary.lines_read, final=True)
    return summary


def _map_ordered(
    tasks: Iterator[tuple[ScoreOptions, int, list[bytes | int]]], workers: int
) -> Iterator[ChunkResult]:
    """``map(_run_chunk, tasks)`` in order, in ``workers`` processes, bounded in flight."""
    if workers == 1:
        for task in tasks:
            yield _run_chunk(task)
        return
    with multiprocessing.get_context().Pool(workers) as pool:
        pending: deque[Any] = deque()
        for task in tasks:
            pending.append(pool.apply_async(_run_chunk, (task,)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


# ---------------------------------------------------------------------------------------------
# Summary table
# ---------------------------------------------------------------------------------------------


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}%" if pct else f"{value:.4f}"


def format_summary(summary: ScoreSummary) -> str:
    """The Markdown summary table printed by ``visual-rewards score``.

    One row per reward: rows scored, parse-failure and format rates, rows where the reward
    does not apply, the mean total and the mean of every component (NaN rows left out).

    >>> s = ScoreSummary(lines_read=3, rows_scored=2, errors=1)
    >>> s.stats["format_default"] = RewardStats(rows=2, format_ok=1, total_sum=1.0,
    ...     component_sum={"format": 1.0}, component_n={"format": 2})
    >>> print(format_summary(s))
    | reward | rows | parse failed | format ok | n/a | total | format |
    |---|---:|---:|---:|---:|---:|---:|
    | format_default | 2 | 0.0% | 50.0% | 0 | 0.5000 | 0.5000 |
    <BLANKLINE>
    3 lines read, 2 scored, 1 failed
    """
    data = summary.to_dict()
    comp_names: list[str] = []
    for info in data["rewards"].values():
        for key in info["mean_components"]:
            if key not in comp_names:
                comp_names.append(key)
    head = ["reward", "rows", "parse failed", "format ok", "n/a", "total", *comp_names]
    lines = [
        "| " + " | ".join(head) + " |",
        "|---|" + "---:|" * (len(head) - 1),
    ]
    for name, info in data["rewards"].items():
        cells = [
            name,
            f"{info['rows']:,}",
            _fmt(info["parse_failure_rate"], pct=True),
            _fmt(info["format_rate"], pct=True),
            f"{info['not_applicable']:,}",
            _fmt(info["mean_total"]),
            *[_fmt(info["mean_components"].get(k)) for k in comp_names],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"{data['lines_read']:,} lines read, {data['rows_scored']:,} scored, "
        f"{data['errors']:,} failed"
    )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _parse_option(text: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not eq or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        json.loads(value)
    except ValueError:
        value = json.dumps(value)  # a bare word is a string
    return key, value


def add_score_parser(subparsers: Any) -> None:
    """Register ``visual-rewards score``."""
    p = subparsers.add_parser(
        "score",
        help="score model outputs (JSONL/parquet) with a reward",
        description="Score model outputs with the training rewards; writes JSONL with every "
        "input field plus the scores, and prints a summary table. Exit code 1 when any line "
        "failed (see the errors file).",
    )
    p.add_argument("input", type=Path, help="JSONL (or .parquet) of model outputs")
    p.add_argument("-o", "--output", type=Path, help="output JSONL (default INPUT.scored.jsonl)")
    p.add_argument("--errors", type=Path, help="errors JSONL (default OUTPUT.errors.jsonl)")
    p.add_argument("--task", help="task of every row (default: read the --task-field column)")
    p.add_argument("--task-field", default="task", help="row field naming the task")
    p.add_argument("--preset", default="default", help="reward preset (default, visual_rft)")
    p.add_argument(
        "--option",
        action="append",
        type=_parse_option,
        default=[],
        metavar="KEY=VALUE",
        help="reward option (JSON value; TASK.KEY for one task only), repeatable",
    )
    p.add_argument("--completion-field", default="completion")
    p.add_argument("--solution-field", default="solution")
    p.add_argument("--result-field", default="scores", help="field added to every row")
    p.add_argument("--workers", type=int, default=1, help="scoring processes (default 1)")
    p.add_argument("--chunk-size", type=int, default=1024, help="rows per batch call")
    p.add_argument("--max-line-bytes", type=int, default=1 << 24)
    p.add_argument("--format", choices=["auto", "jsonl", "parquet"], default="auto")
    p.add_argument("--summary-json", type=Path, help="also write the summary as JSON")
    p.add_argument(
        "--progress",
        choices=["auto", "always", "never"],
        default="auto",
        help="progress bar on stderr (auto: on a terminal and inputs over 10 MB)",
    )
    p.set_defaults(func=run_score)


def run_score(args: argparse.Namespace) -> int:
    """Run ``visual-rewards score``; 0 if every line was scored, 1 otherwise."""
    from visual_rewards.cli import UsageError

    if not args.input.is_file():
        raise UsageError(f"input file not found: {args.input}")
    if args.task is not None and args.task not in REWARDS:
        raise UsageError(f"unknown task {args.task!r}; known tasks: {sorted(REWARDS)}")
    output = args.output or args.input.with_name(args.input.stem + ".scored.jsonl")
    try:
        opts = ScoreOptions(
            task=args.task,
            task_field=args.task_field,
            preset=args.preset,
            options=tuple(args.option),
            completion_field=args.completion_field,
            solution_field=args.solution_field,
            result_field=args.result_field,
            chunk_size=args.chunk_size,
            max_line_bytes=args.max_line_bytes,
        )
        if args.progress == "auto":
            show = sys.stderr.isatty() and args.input.stat().st_size > 10_000_000
        else:
            show = args.progress == "always"
        summary = score_file(
            args.input,
            output,
            opts,
            errors_path=args.errors,
            workers=args.workers,
            progress=show,
            input_format=args.format,
        )
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    print(format_summary(summary))
    rate = summary.lines_read / summary.seconds if summary.seconds > 0 else 0.0
    print(f"wrote {output} ({summary.seconds:.2f} s, {rate:,.0f} lines/s)")
    if summary.errors:
        err = args.errors or output.with_name(output.name + ".errors.jsonl")
        print(f"{summary.errors:,} line(s) failed; see {err}", file=sys.stderr)
    for message in summary.warnings[:5]:
        print(f"warning: {message}", file=sys.stderr)
    if args.summary_json is not None:
        with atomic_writer(args.summary_json) as f:
            json.dump(summary.to_dict(), f, indent=2)
            f.write("\n")
    return 1 if summary.errors else 0
