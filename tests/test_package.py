"""Packaging promises: a light import, typed, versioned."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources

import visual_rewards as vr


def test_import_is_light() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import visual_rewards; "
        "dt = time.perf_counter() - t; "
        "heavy = sorted(m for m in ('torch', 'trl', 'verl', 'transformers', 'ray', 'shapely', 'pycocotools', 'datasets') "
        "if m in sys.modules); print(heavy, dt)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    heavy, seconds = out.rsplit(" ", 1)
    assert heavy == "[]", f"importing visual_rewards pulled in {heavy}"
    assert float(seconds) < 3.0


def test_typed_and_versioned() -> None:
    assert resources.files("visual_rewards").joinpath("py.typed").is_file()
    assert vr.__version__
    assert sorted(vr.__all__) == sorted(set(vr.__all__))
