"""``visual-rewards score``: the arguments of :func:`visual_rewards.scoring.score_file`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from visual_rewards.cli.errors import Terminated, UsageError
from visual_rewards.cli.types import dialect_name

__all__ = ["add_parser", "dialect_options", "parse_option", "run"]


def parse_option(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` as ``(key, JSON text)``; a value that is not JSON is a string.

    >>> parse_option("iou_threshold=0.75"), parse_option("coords=pixel")
    (('iou_threshold', '0.75'), ('coords', '"pixel"'))
    """
    key, eq, value = text.partition("=")
    if not eq or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        json.loads(value)
    except ValueError:
        value = json.dumps(value)  # a bare word is a string
    return key, value


def add_parser(subparsers: Any) -> None:
    """Register ``visual-rewards score``."""
    p = subparsers.add_parser(
        "score",
        help="score model outputs (JSONL/parquet) with a reward",
        description="Score model outputs with the training rewards; writes JSONL with every "
        "input field plus the scores, and prints a summary table. Exit code 1 when any line "
        "failed (see the errors file), 2 on a usage error (checked before any input is read).",
    )
    p.add_argument(
        "input",
        help="JSONL (or .parquet) of model outputs; with --engine ray also a URL that Ray reads",
    )
    p.add_argument("-o", "--output", type=Path, help="output JSONL (default INPUT.scored.jsonl)")
    p.add_argument("--errors", type=Path, help="errors JSONL (default OUTPUT.errors.jsonl)")
    p.add_argument("--task", help="task of every row (default: read the --task-field column)")
    p.add_argument("--task-field", default="task", help="row field naming the task")
    p.add_argument(
        "--preset",
        default="default",
        help="reward preset (default, visual_rft); a task without it is a usage error "
        "unless --option TASK.preset=NAME names its own",
    )
    p.add_argument(
        "--option",
        action="append",
        type=parse_option,
        default=[],
        metavar="KEY=VALUE",
        help="reward option (JSON value; TASK.KEY for one task only), repeatable",
    )
    p.add_argument(
        "--dialect",
        type=dialect_name,
        metavar="NAME",
        help="grounding dialect of the answers of the box and point tasks (docs/dialects.md; "
        "'auto' picks only families it can tell apart); "
        "same as --option TASK.dialect=NAME for detection, grounding and pointing",
    )
    p.add_argument("--completion-field", default="completion")
    p.add_argument("--solution-field", default="solution")
    p.add_argument("--result-field", default="scores", help="field added to every row")
    p.add_argument("--workers", type=int, default=1, help="scoring processes (default 1)")
    p.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local processes (default), or Ray tasks on a local or existing Ray cluster "
        "(pip install 'visual-rewards[ray]'); the output is the same bytes",
    )
    p.add_argument("--ray-address", help="--engine ray: an existing cluster (default: local)")
    p.add_argument("--chunk-size", type=int, default=1024, help="rows per batch call")
    p.add_argument("--max-line-bytes", type=int, default=1 << 24)
    p.add_argument("--format", choices=["auto", "jsonl", "parquet"], default="auto")
    p.add_argument("--summary-json", type=Path, help="also write the summary as JSON")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run of the same input and options from its last "
        "checkpoint (byte-identical result); keep the checkpoint if interrupted again",
    )
    p.add_argument(
        "--progress",
        choices=["auto", "always", "never"],
        default="auto",
        help="progress bar on stderr, shown after a second (auto: when stderr is a terminal)",
    )
    p.set_defaults(func=run)


def dialect_options(dialect: str | None) -> tuple[tuple[str, str], ...]:
    """``--dialect NAME`` as task options of the box and point tasks (a dialect without points
    leaves pointing alone).

    >>> dialect_options("paligemma")
    (('detection.dialect', '"paligemma"'), ('grounding.dialect', '"paligemma"'))
    >>> len(dialect_options("molmo")), dialect_options(None)
    (3, ())
    """
    from visual_rewards.parsing.dialects import AUTO, DIALECTS

    if dialect is None:
        return ()
    tasks = ["detection", "grounding"]
    if dialect == AUTO or DIALECTS[dialect].reads_points:
        tasks.append("pointing")
    return tuple((f"{task}.dialect", json.dumps(dialect)) for task in tasks)


def _check_folder(path: Path | None, what: str) -> None:
    if path is not None and not path.parent.resolve().is_dir():
        raise UsageError(f"{what} {path}: folder {path.parent} does not exist")


def _check_source(args: argparse.Namespace) -> Path | str:
    """The input: a local file, or (with ``--engine ray``) a URL; usage errors up front."""
    if "://" in args.input:
        if args.engine != "ray":
            raise UsageError(f"{args.input}: a URL input needs --engine ray")
        if args.output is None:
            raise UsageError(f"{args.input}: a URL input needs -o OUTPUT")
        source: Path | str = args.input
    else:
        source = Path(args.input)
        if not source.is_file():
            raise UsageError(f"input file not found: {args.input}")
    if args.engine == "ray" and (args.workers != 1 or args.resume):
        raise UsageError("--engine ray schedules its own workers: drop --workers and --resume")
    return source


def run(args: argparse.Namespace) -> int:
    """Run ``visual-rewards score``; 0 if every line was scored, 1 otherwise."""
    from visual_rewards.io.files import atomic_writer
    from visual_rewards.scoring import (
        ScoreOptions,
        ScoringWorkerError,
        check_options,
        format_summary,
        score_file,
    )

    source = _check_source(args)
    output = args.output or Path(source).with_name(Path(source).stem + ".scored.jsonl")
    for path, what in ((output, "output"), (args.errors, "--errors"), (args.summary_json, "--summary-json")):  # fmt: skip
        _check_folder(path, what)
    if args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    try:
        opts = ScoreOptions(
            task=args.task,
            task_field=args.task_field,
            preset=args.preset,
            options=tuple(args.option) + dialect_options(args.dialect),
            completion_field=args.completion_field,
            solution_field=args.solution_field,
            result_field=args.result_field,
            chunk_size=args.chunk_size,
            max_line_bytes=args.max_line_bytes,
        )
        check_options(opts)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    show = sys.stderr.isatty() if args.progress == "auto" else args.progress == "always"
    try:
        if args.engine == "ray":
            from visual_rewards.scoring_ray import score_file_ray

            summary = score_file_ray(
                source, output, opts, errors_path=args.errors, input_format=args.format,
                address=args.ray_address,
            )  # fmt: skip
        else:
            summary = score_file(
                source,
                output,
                opts,
                errors_path=args.errors,
                workers=args.workers,
                progress=show,
                input_format=args.format,
                resume=args.resume,
            )
    except (ValueError, TypeError, ImportError) as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        where = exc.filename or args.input
        raise UsageError(f"{where}: {exc.strerror or exc}" if exc.filename else str(exc)) from None
    except ScoringWorkerError as exc:
        kept = (
            "; the checkpoint is kept: run the same command again to continue"
            if args.resume
            else ""
        )
        raise UsageError(f"{exc}{kept}") from None
    except (KeyboardInterrupt, Terminated):
        if args.resume:
            print("checkpoint kept: run the same command again to continue", file=sys.stderr)
        raise
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
            json.dump(summary.to_dict(), f, indent=2, allow_nan=False)
            f.write("\n")
    return 1 if summary.errors else 0
