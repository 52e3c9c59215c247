"""``python -m visual_rewards.serve [options]``: the same as ``visual-rewards serve [options]``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from visual_rewards.cli import main as cli_main


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``visual-rewards serve`` with ``argv`` (default ``sys.argv[1:]``); the exit code."""
    return cli_main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
