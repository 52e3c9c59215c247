"""A short smoke run of every atheris fuzz target (the long runs are ``scripts/fuzz.sh``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGETS = sorted((ROOT / "fuzz").glob("fuzz_*.py"))


@pytest.mark.parametrize("target", TARGETS, ids=[t.stem for t in TARGETS])
def test_fuzz_target_smoke(target: Path, tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    proc = subprocess.run(
        [
            sys.executable,
            str(target),
            "-runs=3000",
            "-seed=1",
            f"-dict={ROOT / 'fuzz' / 'tokens.dict'}",
            f"-artifact_prefix={tmp_path}/",
            str(tmp_path),
            str(ROOT / "fuzz" / "corpus"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Done 3000 runs" in proc.stderr
