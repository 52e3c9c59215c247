"""Shared test fixtures: where the third-party reference data lives."""

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
