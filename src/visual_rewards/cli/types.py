"""Argument types shared by several subcommands; each imports its library only when the
argument is given, so that ``--help`` stays light."""

from __future__ import annotations

import argparse

__all__ = ["dialect_name"]


def dialect_name(text: str, *, allow_auto: bool = True) -> str:
    """A ``--dialect`` value: a registered dialect name (or ``auto``), else a usage error.

    >>> dialect_name("paligemma")
    'paligemma'
    >>> dialect_name("klingon")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: unknown dialect 'klingon'; see docs/dialects.md for the names
    """
    from visual_rewards.parsing.dialects import AUTO, DIALECT_NAMES

    if text in DIALECT_NAMES or (allow_auto and text == AUTO):
        return text
    raise argparse.ArgumentTypeError(
        f"unknown dialect {text!r}; see docs/dialects.md for the names"
    )


def dialect_name_no_auto(text: str) -> str:
    """:func:`dialect_name` without ``auto`` (a builder must write one named dialect)."""
    return dialect_name(text, allow_auto=False)
