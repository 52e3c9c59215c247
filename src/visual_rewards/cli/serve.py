"""``visual-rewards serve``: argument parsing only; FastAPI and uvicorn load when it runs.

Registered in :data:`visual_rewards.cli.SUBCOMMANDS`
(``--option`` is read by the score command's :func:`~visual_rewards.cli.score.parse_option`).

>>> import argparse
>>> sub = argparse.ArgumentParser().add_subparsers()
>>> add_parser(sub)
>>> args = sub.choices["serve"].parse_args(["--task", "detection", "--option", "iou_threshold=0.7"])
>>> config_from_args(args).options
(('iou_threshold', '0.7'),)
"""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any

from visual_rewards.cli.errors import UsageError
from visual_rewards.cli.score import parse_option
from visual_rewards.serve.config import ServeConfig

__all__ = ["add_parser", "config_from_args", "run"]


def add_parser(subparsers: Any) -> None:
    """Register ``visual-rewards serve``."""
    d = ServeConfig()
    p = subparsers.add_parser(
        "serve",
        help="serve the rewards over HTTP (JSON; OpenRLHF's remote reward model protocol)",
        description="Score batches over HTTP with the training rewards: POST /score (this "
        "library's JSON) and POST /openrlhf (OpenRLHF's --reward.remote_url protocol); GET "
        "/health and /metrics. Binds 127.0.0.1 unless told otherwise: there is no "
        "authentication. Needs the 'serve' extra (pip install 'visual-rewards[serve]').",
    )
    p.add_argument("--task", help="task of items that name none (e.g. detection)")
    p.add_argument(
        "--preset",
        default=d.preset,
        help="preset of items that name none; a task without it is a usage error unless "
        "--option TASK.preset=NAME names its own",
    )
    p.add_argument(
        "--option",
        action="append",
        type=parse_option,
        default=[],
        metavar="KEY=VALUE",
        help="reward option (JSON value; TASK.KEY for one task only), repeatable",
    )
    p.add_argument("--host", default=d.host, help=f"interface to bind (default {d.host})")
    p.add_argument("--port", type=int, default=d.port, help=f"TCP port (default {d.port})")
    p.add_argument("--workers", type=int, default=d.workers, help="scoring processes")
    p.add_argument("--max-body-bytes", type=int, default=d.max_body_bytes)
    p.add_argument("--max-items", type=int, default=d.max_items, help="items per request")
    p.add_argument("--max-concurrency", type=int, default=d.max_concurrency)
    p.add_argument(
        "--not-applicable-score",
        type=float,
        default=d.not_applicable_score,
        help="OpenRLHF reward where the reward does not apply (malformed ground truth)",
    )
    p.add_argument(
        "--no-components",
        action="store_true",
        help="leave the components out of OpenRLHF's extra_logs (runs that mix tasks)",
    )
    p.add_argument(
        "--log-level", default=d.log_level, choices=["debug", "info", "warning", "error"]
    )
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> ServeConfig:
    """The :class:`ServeConfig` of parsed arguments (ValueError where a value is out of range)."""
    return ServeConfig(
        task=args.task,
        preset=args.preset,
        options=tuple(args.option),
        host=args.host,
        port=args.port,
        workers=args.workers,
        max_body_bytes=args.max_body_bytes,
        max_items=args.max_items,
        max_concurrency=args.max_concurrency,
        not_applicable_score=args.not_applicable_score,
        components=not args.no_components,
        log_level=args.log_level,
    )


def _one_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def run(args: argparse.Namespace) -> int:
    """Run ``visual-rewards serve`` until interrupted; 0 on a clean stop.

    Settings are checked first (they need no web stack), then FastAPI and uvicorn are looked
    for, then the port is bound: each failure is a :class:`UsageError` (exit code 2).
    """
    from visual_rewards.serve.batch import check_config

    try:
        config = config_from_args(args)
        check_config(config)
    except (ValueError, TypeError) as exc:
        raise UsageError(_one_line(exc)) from None
    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(f"needs {' and '.join(missing)}: pip install 'visual-rewards[serve]'")
    from visual_rewards.serve.server import prepare, serve

    try:
        sock = prepare(config)
    except (ValueError, TypeError, OSError) as exc:
        raise UsageError(_one_line(exc)) from None
    serve(config, sock)
    return 0
