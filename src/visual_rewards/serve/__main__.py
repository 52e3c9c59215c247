"""``python -m visual_rewards.serve [options]``: the same as ``visual-rewards serve [options]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from visual_rewards.cli.errors import UsageError
from visual_rewards.serve.cli import add_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` as ``visual-rewards serve`` does and run; the exit code."""
    parser = argparse.ArgumentParser(prog="python -m visual_rewards")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["serve", *(sys.argv[1:] if argv is None else argv)])
    try:
        code: int = args.func(args)
    except UsageError as exc:
        print(f"visual-rewards serve: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
