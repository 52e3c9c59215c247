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
* a bad line (not UTF-8, not strict JSON -- ``NaN``, ``Infinity`` and ``1e400`` are refused,
  so every output line is valid JSON --, not an object, missing or mistyped fields, unknown
  task, too long, or a reward that raises on it) is written to the errors file with its line
  number and never stops the run; if a reward raises on a chunk, the chunk is re-scored row
  by row so only the offending rows are lost;
* the output and errors files are written through checkpointed partial files
  (:class:`~visual_rewards.io.files.ResumableOutput`) renamed at the end: an interrupted run
  leaves no half-written file, and ``resume=True`` continues a killed run byte-identically.

The command line (``visual_rewards.cli.score``) checks the options with
:func:`check_options` before any input is read; this module has no argparse.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import multiprocessing
import signal
import sys
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from visual_rewards.io.files import ResumableOutput
from visual_rewards.io.rows import (
    error_record,
    iter_parquet_lines,
    iter_raw_lines,
    parse_line,
    row_value,
    type_name,
)
from visual_rewards.parsing import (
    DEFAULT_MAX_COMPLETION_CHARS,
    completion_text,
    parse_completion,
    parse_detections,
    parse_points,
)
from visual_rewards.rewards import (
    PRESET_ALIASES,
    REWARDS,
    Reward,
    get_reward,
    resolve_preset,
    resolve_task,
)

__all__ = [
    "BOX_TASKS",
    "BatchScores",
    "ChunkResult",
    "RewardStats",
    "ScoreOptions",
    "ScoreSummary",
    "ScoringWorkerError",
    "encode_chunk",
    "format_summary",
    "known_task",
    "score_file",
    "score_lines",
    "score_rows",
]

#: Tasks whose answers are boxes (a parse failure is explained by the box reader; the report
#: draws boxes only for these).
BOX_TASKS = frozenset({"detection", "grounding"})
#: Tasks whose answers are points.
POINT_TASKS = frozenset({"pointing"})
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
    n_raw: int = 0


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

    def to_state(self) -> dict[str, Any]:
        """Every sum as JSON (floats round-trip exactly), for a checkpoint."""
        return {
            "lines_read": self.lines_read,
            "rows_scored": self.rows_scored,
            "errors": self.errors,
            "stats": {name: dataclasses.asdict(s) for name, s in self.stats.items()},
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ScoreSummary:
        """The summary :meth:`to_state` recorded.

        >>> s = ScoreSummary(lines_read=2, stats={"r": RewardStats(rows=2, total_sum=0.1)})
        >>> ScoreSummary.from_state(s.to_state()) == s
        True
        """
        stats = {name: RewardStats(**v) for name, v in state["stats"].items()}
        return cls(
            lines_read=state["lines_read"],
            rows_scored=state["rows_scored"],
            errors=state["errors"],
            stats=stats,
            warnings=list(state["warnings"]),
        )

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


def known_task(name: str) -> str | None:
    """The canonical task ``name`` stands for (aliases such as ``"point"`` included), or None.

    The names are the registry's (:func:`visual_rewards.rewards.resolve_task`), so the CLI
    accepts exactly what veRL and the dataset builders accept.

    >>> known_task("detection"), known_task("point"), known_task("nope")
    ('detection', 'pointing', None)
    """
    try:
        return resolve_task(name)
    except ValueError:
        return None


def _unknown_task(name: str) -> str:
    """The registry's message for an unknown task name."""
    try:
        resolve_task(name)
    except ValueError as exc:
        return str(exc)
    return f"task {name!r} is known"  # pragma: no cover - only called for unknown names


def _options_for(task: str, options: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in options:
        scope, dot, name = key.rpartition(".")
        if not dot:
            out[key] = json.loads(value)
        elif known_task(scope) == task:
            out[name] = json.loads(value)
    return out


def preset_for(task: str, preset: str, options: tuple[tuple[str, str], ...] = ()) -> str:
    """The preset of ``task``: a ``TASK.preset`` option, else the run-wide ``preset``.

    The policy (the same in veRL, :func:`visual_rewards.rewards.resolve_preset`): a preset
    the task's reward lacks is a usage error, never a silent fall-back to ``default``.
    Raises ``ValueError`` naming the task's presets and how to name one for that task.

    >>> preset_for("counting", "visual_rft", (("counting.preset", '"default"'),))
    'default'
    >>> preset_for("counting", "visual_rft")
    Traceback (most recent call last):
    ...
    ValueError: CountingReward (task 'counting') has no preset 'visual_rft'; valid presets: ['default'] (name one for this task with --option counting.preset=NAME)
    """
    for key, value in options:
        scope, dot, name = key.rpartition(".")
        if dot and name == "preset" and known_task(scope) == task:
            preset = str(json.loads(value))
    try:
        return resolve_preset(task, preset)
    except ValueError as exc:
        raise ValueError(
            f"{exc} (name one for this task with --option {task}.preset=NAME)"
        ) from None


def check_options(opts: ScoreOptions) -> None:
    """Check the task, preset and reward options before any input is read.

    With ``opts.task`` its reward is built (unknown preset or option: ``ValueError`` or
    ``TypeError``). Without it, the run-wide preset must belong to at least one task and
    every ``TASK.KEY`` option must name a known task (each row's reward is built per task).
    """
    if opts.task is not None:
        if known_task(opts.task) is None:
            raise ValueError(_unknown_task(opts.task))
        build_reward(opts, str(known_task(opts.task)))
        return
    tasks = [
        t for t in REWARDS if PRESET_ALIASES.get(opts.preset, opts.preset) in REWARDS[t].presets
    ]
    if not tasks:
        every = sorted({p for cls in REWARDS.values() for p in cls.presets})
        raise ValueError(f"unknown preset {opts.preset!r}; presets: {every}")
    for key, _ in opts.options:
        scope, dot, _name = key.rpartition(".")
        if dot and known_task(scope) is None:
            raise ValueError(f"option {key}: {_unknown_task(scope)}")
    for key, value in opts.options:
        if "." in key:
            continue
        problems = []  # a plain option applies to every task: some task must accept it
        for task in tasks:
            try:
                get_reward(task, opts.preset, **{key: json.loads(value)})
                break
            except (ValueError, TypeError) as exc:
                problems.append(f"{task}: {exc}")
        else:
            raise ValueError(f"option {key}={value} is accepted by no task ({'; '.join(problems)})")


@lru_cache(maxsize=64)
def _reward(task: str, preset: str, options: tuple[tuple[str, str], ...]) -> Reward:
    opts = _options_for(task, options)
    opts.pop("preset", None)
    return get_reward(task, preset_for(task, preset, options), **opts)


def build_reward(opts: ScoreOptions, task: str) -> Reward:
    """The (cached) reward for ``task`` under ``opts``; raises ValueError/TypeError if unknown."""
    return _reward(task, opts.preset, opts.options)


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


@dataclass(frozen=True)
class BatchScores:
    """One reward's scores of a batch of ``n`` rows (see :func:`score_rows`).

    Attributes:
        total: ``(n,)`` float64, NaN where the reward does not apply.
        components: name -> ``(n,)`` float64.
        parse_failed: ``(n,)`` bool.
        warnings: the reward's warnings, when recorded (``record_warnings=True``).
    """

    total: np.ndarray
    components: dict[str, np.ndarray]
    parse_failed: np.ndarray
    warnings: tuple[str, ...] = ()


def score_rows(
    reward: Reward,
    rows: Sequence[Mapping[str, Any]],
    *,
    completion_field: str = "completion",
    solution_field: str = "solution",
    record_warnings: bool = False,
) -> BatchScores:
    """Score a batch of rows with one vectorised call of ``reward.score``: the one rule.

    Each row gives the completion (``completion_field``), the ground truth
    (``solution_field``, read only when the reward needs one) and the reward's extra columns
    (``reward.extra_columns``, e.g. ``image_size``, found in the row or its ``metadata`` by
    :func:`~visual_rewards.io.rows.row_value`; a column no row has is not passed, and image
    columns are never forwarded: rows hold image paths, sizes come from ``image_size``).
    With ``record_warnings`` the reward's warnings are returned instead of emitted.

    >>> from visual_rewards.rewards import get_reward
    >>> res = score_rows(get_reward("format"), [{"completion": "<think>a</think><answer>b</answer>"}])
    >>> res.total, res.parse_failed
    (array([1.]), array([False]))
    """
    completions = [row.get(completion_field) for row in rows]
    solutions = [row.get(solution_field) for row in rows] if reward.needs_solution else None
    columns: dict[str, list[Any]] = {}
    for name in reward.extra_columns:
        if name in _IMAGE_COLUMNS:
            continue
        values = [row_value(row, name) for row in rows]
        if any(v is not None for v in values):
            columns[name] = values
    caught: tuple[str, ...] = ()
    if record_warnings:
        with warnings.catch_warnings(record=True) as recorded:
            warnings.simplefilter("always")
            res = reward.score(completions, solutions, **columns)
        caught = tuple(str(w.message) for w in recorded)
    else:
        res = reward.score(completions, solutions, **columns)
    n = len(rows)
    return BatchScores(
        total=np.asarray(res.total, dtype=np.float64).reshape(n),
        components={
            k: np.asarray(v, dtype=np.float64).reshape(n) for k, v in res.components.items()
        },
        parse_failed=np.asarray(res.parse_failed, dtype=bool).reshape(n),
        warnings=caught,
    )


def _score_group(
    reward: Reward,
    rows: Sequence[dict[str, Any]],
    opts: ScoreOptions,
    caught: list[str],
    where: str,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """:func:`score_rows`, with warnings recorded with ``where`` (the batch's input lines)."""
    res = score_rows(
        reward,
        rows,
        completion_field=opts.completion_field,
        solution_field=opts.solution_field,
        record_warnings=True,
    )
    caught.extend(f"{reward.__name__} ({where}): {message}" for message in res.warnings)
    return res.total, res.components, res.parse_failed


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
    errors: dict[int, dict[str, Any]] = {}
    good = _decode_lines(opts, first_line, lines, out, errors)
    results: dict[int, str] = {}  # line number -> the result as JSON text
    by_task: dict[str, list[_Good]] = {}
    for item in good:  # one batch call per task present in the chunk
        by_task.setdefault(item[3], []).append(item)
    for task, items in by_task.items():
        try:
            reward = build_reward(opts, task)
        except (ValueError, TypeError) as exc:
            for line_no, text, _, _ in items:
                errors[line_no] = error_record(line_no, f"cannot build reward: {exc}", text)
            continue
        _score_task(reward, task, items, opts, out, errors, results)
    key = json.dumps(opts.result_field)
    for line_no, text, row, _ in good:  # emit in input order
        payload = results.get(line_no)
        if payload is None:
            continue
        if opts.result_field in row or not text.endswith("}"):
            row = dict(row)
            row[opts.result_field] = json.loads(payload)
            out.lines.append(json.dumps(row, allow_nan=False))
        else:  # keep the input text exactly as written and append one field
            out.lines.append(f"{text[:-1]}, {key}: {payload}}}")
    out.errors = [errors[k] for k in sorted(errors)]
    return out


#: A line that can be scored: (line number, its text, the row, its task).
_Good = tuple[int, str, dict[str, Any], str]


def _decode_lines(
    opts: ScoreOptions,
    first_line: int,
    lines: Sequence[bytes | int],
    out: ChunkResult,
    errors: dict[int, dict[str, Any]],
) -> list[_Good]:
    """Decode and check every line; bad ones go to ``errors``, byte and line counts to ``out``."""
    good: list[_Good] = []
    for offset, raw in enumerate(lines):
        line_no = first_line + offset
        out.n_bytes += raw if isinstance(raw, int) else len(raw)
        line = parse_line(raw, opts.max_line_bytes)
        if line.row is None:
            if line.error is None:
                out.n_lines -= 1  # a blank line is not a record
            else:
                snippet = line.text or (None if isinstance(raw, int) else raw)
                errors[line_no] = error_record(line_no, line.error, snippet)
            continue
        task, message = _check_row(line.row, opts)
        if message is not None:
            errors[line_no] = error_record(line_no, message, line.text)
            continue
        good.append((line_no, line.text, line.row, task))
    return good


def _check_row(row: dict[str, Any], opts: ScoreOptions) -> tuple[str, str | None]:
    """``(task, None)`` for a row that can be scored, else ``("", reason)``."""
    named = opts.task if opts.task is not None else row.get(opts.task_field)
    if named is None:
        return "", f"missing field {opts.task_field!r} (the task of the row)"
    if not isinstance(named, str):
        return "", f"field {opts.task_field!r} must be a string, got {type_name(named)}"
    task = known_task(named)
    if task is None:
        return "", _unknown_task(named)
    if opts.completion_field not in row:
        return "", f"missing field {opts.completion_field!r}"
    if not _valid_completion(row[opts.completion_field]):
        got = type_name(row[opts.completion_field])
        return (
            "",
            f"field {opts.completion_field!r} must be a string or a list of messages, got {got}",
        )
    if REWARDS[task].needs_solution and row.get(opts.solution_field) is None:
        return "", f"missing field {opts.solution_field!r} (the ground truth)"
    return task, None


def _score_batch(
    reward: Reward, items: list[_Good], opts: ScoreOptions, out: ChunkResult,
    errors: dict[int, dict[str, Any]],
) -> tuple[list[int], np.ndarray, dict[str, np.ndarray], np.ndarray]:  # fmt: skip
    """Score ``items`` in one call; if the reward raises, row by row so only bad rows are lost.

    Returns the indices of the scored items and their total, components and parse_failed.
    """
    rows = [it[2] for it in items]
    try:
        where = f"batch of {len(items)} rows from line {items[0][0]}"
        total, comps, failed = _score_group(reward, rows, opts, out.warnings, where)
        return list(range(len(items))), total, comps, failed
    except Exception:  # a caller-side error on some row: find it, keep the others
        pass
    ok: list[int] = []
    parts_t, parts_c, parts_f = [], [], []
    for i, (line_no, text, row, _) in enumerate(items):
        try:
            t, c, f = _score_group(reward, [row], opts, out.warnings, f"line {line_no}")
        except Exception as exc:
            message = f"reward raised {type(exc).__name__}: {exc}"
            errors[line_no] = error_record(line_no, message, text)
            continue
        ok.append(i)
        parts_t.append(t)
        parts_c.append(c)
        parts_f.append(f)
    if not ok:
        return ok, np.zeros(0), {}, np.zeros(0, dtype=bool)
    comps = {k: np.concatenate([c[k] for c in parts_c]) for k in parts_c[0]}
    return ok, np.concatenate(parts_t), comps, np.concatenate(parts_f)


def _add_stats(
    stats: RewardStats, total: np.ndarray, comps: dict[str, np.ndarray], failed: np.ndarray
) -> None:
    stats.rows += len(total)
    valid = ~np.isnan(total)
    stats.not_applicable += int((~valid).sum())
    stats.total_sum += float(total[valid].sum())
    stats.parse_failed += int(failed.sum())
    for key, values in comps.items():
        finite = ~np.isnan(values)
        stats.component_sum[key] = stats.component_sum.get(key, 0.0) + float(values[finite].sum())
        stats.component_n[key] = stats.component_n.get(key, 0) + int(finite.sum())


def _score_task(
    reward: Reward,
    task: str,
    items: list[_Good],
    opts: ScoreOptions,
    out: ChunkResult,
    errors: dict[int, dict[str, Any]],
    results: dict[int, str],
) -> None:
    """Score one task's rows of a chunk and write each row's result JSON into ``results``."""
    ok, total, comps, failed = _score_batch(reward, items, opts, out, errors)
    if not ok:
        return
    name = reward.__name__
    stats = out.stats.setdefault(name, RewardStats())
    _add_stats(stats, total, comps, failed)
    total_l = total.tolist()
    failed_l = failed.tolist()
    fmt_l = comps["format"].tolist() if "format" in comps else None
    head = f'{{"reward": {json.dumps(name)}, "total": '
    comp_keys = [(json.dumps(k), v.tolist()) for k, v in comps.items()]
    for j, i in enumerate(ok):
        line_no, _, row, _ = items[i]
        completion = row[opts.completion_field]
        text = completion if isinstance(completion, str) else completion_text(completion)
        if len(text) > DEFAULT_MAX_COMPLETION_CHARS:
            text = text[:DEFAULT_MAX_COMPLETION_CHARS]
        # cheap diagnostics: the reward's own format component when it has one (so the
        # preset's rule applies), the paper's strict format check otherwise
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


def _chunks(
    lines: Iterator[bytes | int], size: int, first: int = 1
) -> Iterator[tuple[int, list[bytes | int]]]:
    line_no = first
    chunk: list[bytes | int] = []
    for raw in lines:
        chunk.append(raw)
        if len(chunk) >= size:
            yield line_no, chunk
            line_no += len(chunk)
            chunk = []
    if chunk:
        yield line_no, chunk


class _Progress:
    """A progress bar on stderr (tqdm), shown only when a job takes more than a second."""

    #: Seconds before the bar appears (a job shorter than this draws nothing).
    delay = 1.0

    def __init__(self, total: int | None, unit: str, enabled: bool, done: int = 0) -> None:
        self.bar: Any = None
        if not enabled:
            return
        try:
            tqdm = importlib.import_module("tqdm").tqdm
        except ImportError:  # pragma: no cover - tqdm comes with the core install
            return
        scale = unit == "B"
        self.bar = tqdm(total=total, initial=done, unit=unit, unit_scale=scale, delay=self.delay,
                        file=sys.stderr, desc="scoring", dynamic_ncols=True)  # fmt: skip

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _quiet_worker() -> None:
    """Pool initializer: Ctrl-C is the parent's to handle; SIGTERM ends a worker silently."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run_chunk(args: tuple[ScoreOptions, int, list[bytes | int]]) -> ChunkResult:
    result = score_lines(*args)
    result.n_raw = len(args[2])
    return result


def _input_format(path: Path, input_format: str) -> str:
    if input_format == "auto":
        return "parquet" if path.suffix.lower() in {".parquet", ".pq"} else "jsonl"
    if input_format not in ("jsonl", "parquet"):
        raise ValueError(f"input_format must be 'auto', 'jsonl' or 'parquet', got {input_format!r}")
    return input_format


def _identity(input_path: Path, opts: ScoreOptions, fmt: str) -> dict[str, Any]:
    """What a resumed run must share with the interrupted one."""
    info = input_path.stat()
    return {
        "input": str(input_path.resolve()),
        "size": info.st_size,
        "mtime_ns": info.st_mtime_ns,
        "format": fmt,
        "options": repr(opts),
    }


def _raw_lines(
    input_path: Path, fmt: str, opts: ScoreOptions, offset: int, skip_rows: int
) -> Iterator[bytes | int]:
    """The input's raw lines from byte ``offset`` (JSONL) or after ``skip_rows`` (parquet)."""
    if fmt == "parquet":
        yield from iter_parquet_lines(input_path, opts.chunk_size, skip_rows=skip_rows)
        return
    with open(input_path, "rb") as fin:
        fin.seek(offset)
        yield from iter_raw_lines(fin, opts.max_line_bytes)


def score_file(
    input_path: Path | str,
    output_path: Path | str,
    opts: ScoreOptions,
    *,
    errors_path: Path | str | None = None,
    workers: int = 1,
    progress: bool = False,
    input_format: str = "auto",
    resume: bool = False,
) -> ScoreSummary:
    """Score a whole file; see the module docstring. Returns the run's summary.

    Args:
        input_path: JSONL (``.jsonl``/``.json``/``.gz`` not supported) or parquet file.
        output_path: the scored JSONL.
        opts: reading and scoring options.
        errors_path: where bad lines are reported as JSONL (``{"line", "error", "text"}``);
            default ``<output>.errors.jsonl``. Written only when there are errors (a stale
            one from an earlier run is removed otherwise).
        workers: processes scoring chunks; the output does not depend on it.
        progress: draw a progress bar on stderr (after a second).
        input_format: ``"jsonl"``, ``"parquet"`` or ``"auto"`` (by the file suffix).
        resume: continue an interrupted run of the same input and options from its last
            checkpoint (the output is byte-identical to an uninterrupted run), and keep the
            checkpoint if this run is interrupted too. Without it an interrupted run leaves
            no file behind.

    Both files are written through hidden partial files
    (:class:`~visual_rewards.io.files.ResumableOutput`), checkpointed after every chunk and
    renamed into place at the end.

    Raises:
        ValueError: for bad options (unknown task or preset, bad reward option, workers < 1)
            or a checkpoint of another input.
        OSError: when the input cannot be read or another run writes the same output.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    err_path = (
        Path(errors_path)
        if errors_path is not None
        else output_path.with_name(output_path.name + ".errors.jsonl")
    )
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    check_options(opts)  # fail early on a bad task, preset or option
    fmt = _input_format(input_path, input_format)
    files = ResumableOutput([output_path, err_path], _identity(input_path, opts, fmt))
    state = files.open(resume)
    try:
        summary = _score_into(files, state, input_path, fmt, opts, workers, progress)
    except BaseException:
        files.abort(keep=resume)
        raise
    files.finish(drop_empty=(False, True))
    return summary


def _score_into(
    files: ResumableOutput,
    state: dict[str, Any] | None,
    input_path: Path,
    fmt: str,
    opts: ScoreOptions,
    workers: int,
    progress: bool,
) -> ScoreSummary:
    """Score from the checkpoint ``state`` (or the start) into ``files``, checkpointing."""
    start = time.perf_counter()
    summary = ScoreSummary.from_state(state["summary"]) if state else ScoreSummary()
    next_line, offset, rows = (state["next_line"], state["offset"], state["rows"]) if state else (1, 0, 0)  # fmt: skip
    total = input_path.stat().st_size if fmt == "jsonl" else None
    bar = _Progress(total, "B" if fmt == "jsonl" else "rows", progress, offset if total else rows)
    fout, ferr = files.files
    raw = _raw_lines(input_path, fmt, opts, offset, rows)
    tasks = ((opts, first, chunk) for first, chunk in _chunks(raw, opts.chunk_size, next_line))
    try:
        for result in _map_ordered(tasks, workers):
            out, err = encode_chunk(result)
            fout.write(out)
            ferr.write(err)
            summary.add(result)
            next_line += result.n_raw
            offset += result.n_bytes
            rows += result.n_raw
            state = {"summary": summary.to_state(), "next_line": next_line, "offset": offset, "rows": rows}  # fmt: skip
            files.commit(state)
            bar.update(result.n_bytes if total else result.n_raw)
    finally:
        bar.close()
    summary.seconds = time.perf_counter() - start
    return summary


def encode_chunk(result: ChunkResult) -> tuple[bytes, bytes]:
    """The bytes one chunk adds to the output and to the errors file (UTF-8 JSONL): the one
    encoding of every engine (local processes, Ray workers).

    >>> encode_chunk(ChunkResult(lines=['{"a": 1}'], errors=[{"line": 2, "error": "é"}]))
    (b'{"a": 1}\\n', b'{"line": 2, "error": "\\xc3\\xa9"}\\n')
    """
    out = ("\n".join(result.lines) + "\n").encode("utf-8") if result.lines else b""
    err = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in result.errors)
    return out, err.encode("utf-8")


def _worker_main(conn: Any) -> None:
    """A scoring process: score each chunk received on ``conn``, send the result back."""
    _quiet_worker()
    while True:
        task = conn.recv()
        if task is None:
            return
        try:
            conn.send(_run_chunk(task))
        except Exception as exc:
            where = f"the chunk from line {task[1]}"
            conn.send(ScoringWorkerError(f"{where}: {type(exc).__name__}: {exc}"))


class ScoringWorkerError(RuntimeError):
    """A scoring process failed or died (killed, out of memory) before returning a chunk."""


def _died(proc: Any, first_line: int) -> ScoringWorkerError:
    """The error for ``proc``, found dead while it held the chunk from ``first_line``."""
    proc.join(timeout=5)
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:  # a real-time signal has a number, not a name
            name = f"signal {-code}"
        how = f"killed by {name}" + (": out of memory?" if -code == signal.SIGKILL else "")
    else:
        how = f"exit code {code}"
    return ScoringWorkerError(
        f"a scoring process (pid {proc.pid}) died ({how}) while scoring the chunk from line "
        f"{first_line}"
    )


def _receive(conn: Any, proc: Any, first_line: int) -> ChunkResult:
    """The result of the chunk from ``first_line`` that ``proc`` scores, read from ``conn``."""
    try:
        result = conn.recv()
    except (EOFError, OSError):  # the process died: its end of the pipe closed
        raise _died(proc, first_line) from None
    if isinstance(result, BaseException):
        raise result
    return result  # type: ignore[no-any-return]


def _map_ordered(
    tasks: Iterator[tuple[ScoreOptions, int, list[bytes | int]]], workers: int
) -> Iterator[ChunkResult]:
    """``map(_run_chunk, tasks)`` in order, in ``workers`` processes.

    Each worker has its own pipe and one chunk in flight: chunk ``i`` goes to worker
    ``i % workers``, results are read back in order, and the worker gets its next chunk as
    soon as its result is read. Workers share no lock, so an interrupt can always end them:
    they ignore SIGINT (Ctrl-C reaches the parent, which handles it) and die silently on
    the SIGTERM the parent sends on its way out.
    """
    if workers == 1:
        for task in tasks:
            yield _run_chunk(task)
        return
    ctx = multiprocessing.get_context()
    procs: list[Any] = []
    conns: list[Any] = []
    try:
        for _ in range(workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(child,), daemon=True)
            proc.start()
            child.close()
            procs.append(proc)
            conns.append(parent)
        held = [0] * workers  # the first line of the chunk each worker holds
        busy = 0
        for i, conn in enumerate(conns):  # prime every worker with one chunk
            first = next(tasks, None)
            if first is None:
                break
            conn.send(first)
            held[i] = first[1]
            busy += 1
        index = 0
        while busy:
            i = index % workers
            result = _receive(conns[i], procs[i], held[i])
            following = next(tasks, None)
            if following is None:
                busy -= 1
            else:
                conns[i].send(following)
                held[i] = following[1]
            yield result
            index += 1
        for conn in conns:
            conn.send(None)
        for proc in procs:
            proc.join()
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(timeout=5)
        for conn in conns:
            conn.close()


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
