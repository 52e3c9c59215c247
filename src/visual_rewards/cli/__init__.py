"""The ``visual-rewards`` command line: the only place that parses arguments.

One module per subcommand (:mod:`~visual_rewards.cli.score`,
:mod:`~visual_rewards.cli.evaluate`, :mod:`~visual_rewards.cli.report`,
:mod:`~visual_rewards.cli.build_dataset`), each with ``add_parser(subparsers)`` that adds its
parser and sets ``func`` (``args -> exit code``). The subcommand modules import only
argparse-level code at module level; the libraries they call (:mod:`visual_rewards.scoring`,
:mod:`visual_rewards.evaluation`, :mod:`visual_rewards.report`, :mod:`visual_rewards.data`)
are imported when the command runs, so ``--help`` stays fast.

Exit codes: ``0`` success, ``1`` the command ran but some input failed (e.g. malformed lines),
``2`` wrong usage (argparse's convention, also for a missing or unreadable input file and any
:class:`~visual_rewards.cli.errors.UsageError`), ``130`` interrupted (Ctrl-C), ``143``
terminated (SIGTERM).

>>> main(["score", "--no-such-option"])  # usage errors go to stderr
2
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from visual_rewards.cli.errors import Terminated, UsageError

__all__ = ["SUBCOMMANDS", "UsageError", "build_parser", "main"]

#: ``"module:function"`` registering each subcommand, in the order ``--help`` lists them.
SUBCOMMANDS: tuple[str, ...] = (
    "visual_rewards.cli.score:add_parser",
    "visual_rewards.cli.evaluate:add_parser",
    "visual_rewards.cli.report:add_parser",
    "visual_rewards.cli.build_dataset:add_parser",
    "visual_rewards.cli.audit:add_parser",
    "visual_rewards.cli.serve:add_parser",
)


def _load(spec: str) -> Callable[[Any], None]:
    module_name, _, func_name = spec.partition(":")
    func: Callable[[Any], None] = getattr(importlib.import_module(module_name), func_name)
    return func


class _VersionAction(argparse.Action):
    """``--version``, read from the installed package's metadata only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("visual-rewards")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            text = "unknown"
        parser.exit(message=f"{parser.prog} {text}\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="visual-rewards",
        description="Score, evaluate and inspect vision-language model outputs offline.",
    )
    parser.add_argument("--version", action=_VersionAction)
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for spec in SUBCOMMANDS:
        _load(spec)(subparsers)
    return parser


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and return the exit code.

    Never calls ``sys.exit`` itself, so it can be called in-process (e.g. by a demo);
    argparse's own ``--help``/``--version``/usage errors are turned into their exit codes.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    import signal
    import threading

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return func(args)
    except UsageError as exc:
        print(f"visual-rewards {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("visual-rewards: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("visual-rewards: terminated", file=sys.stderr)
        return 143
    except BrokenPipeError:  # e.g. `visual-rewards evaluate … | head`: files are written
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # keep Python from failing again at exit
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
