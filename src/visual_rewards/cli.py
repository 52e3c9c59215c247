"""The ``visual-rewards`` command line: one subcommand per module.

A subcommand lives in its own module as a function ``add_<name>_parser(subparsers)`` that
adds a parser to ``subparsers`` and sets ``func`` (``args -> exit code``) on it with
``parser.set_defaults(func=...)``. Registering it here takes one line in :data:`SUBCOMMANDS`
(``"module:function"``; the module is imported only when the CLI starts).

Exit codes: ``0`` success, ``1`` the command ran but some input failed (e.g. malformed lines),
``2`` wrong usage (argparse's convention, also for a missing or unreadable input file).

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

__all__ = ["SUBCOMMANDS", "UsageError", "build_parser", "main"]

#: ``"module:add_<name>_parser"`` for every subcommand, in the order ``--help`` lists them.
SUBCOMMANDS: tuple[str, ...] = (
    "visual_rewards.scoring:add_score_parser",
    "visual_rewards.evaluation.cli:add_evaluate_parser",
    "visual_rewards.report:add_report_parser",
    "visual_rewards.cli_build_dataset:add_build_dataset_parser",
)


class UsageError(Exception):
    """A caller error found after argument parsing (bad file, bad option); exit code 2."""


def _load(spec: str) -> Callable[[Any], None]:
    module_name, _, func_name = spec.partition(":")
    func: Callable[[Any], None] = getattr(importlib.import_module(module_name), func_name)
    return func


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    from visual_rewards import __version__

    parser = argparse.ArgumentParser(
        prog="visual-rewards",
        description="Score, evaluate and inspect vision-language model outputs offline.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for spec in SUBCOMMANDS:
        _load(spec)(subparsers)
    return parser


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
    try:
        return func(args)
    except UsageError as exc:
        print(f"visual-rewards {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("visual-rewards: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `visual-rewards evaluate … | head`: files are written
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # keep Python from failing again at exit
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
