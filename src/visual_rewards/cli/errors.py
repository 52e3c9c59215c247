"""The command line's one error type: a caller error found after argument parsing."""

from __future__ import annotations

__all__ = ["Terminated", "UsageError"]


class UsageError(Exception):
    """A caller error found after argument parsing (bad file, bad option): exit code 2.

    The message is one line that names the file, the record and the field where it can;
    :func:`visual_rewards.cli.main` prints it after ``visual-rewards <command>: error:``.
    """


class Terminated(BaseException):
    """Raised in the main process on SIGTERM, so that ``with`` blocks and ``finally`` clean up
    on the way out (a ``BaseException``, like ``KeyboardInterrupt``: nothing catches it by
    accident); :func:`visual_rewards.cli.main` turns it into exit code 143."""
