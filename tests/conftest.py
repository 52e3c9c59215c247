"""Shared test fixtures: where the third-party reference data lives.

The suite passes on a fresh clone without ``../shared`` (``scripts/test.sh`` proves it on every
run): a test that needs the data takes :func:`shared_data` and skips without it; a test that
runs either way takes :func:`shared_data_or_none` and generates its inputs without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: ``../shared/data`` beside the checkout (never copied into the repo).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared reference data folder; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared reference data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_data_or_none() -> Path | None:
    """The shared reference data folder, or None where it is absent (the test runs either way)."""
    return SHARED_DATA if SHARED_DATA.is_dir() else None
