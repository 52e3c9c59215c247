"""The README's main command runs on the bundled data."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_the_offline_workflow(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "argv", ["demo.py", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(ROOT / "examples" / "demo.py"), run_name="__main__")
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "vrft-truncated" in out and "flipped or zero-area box" in out
    assert "detection_default" in out and "AP50" in out
    for name in ("scored.jsonl", "metrics.json", "report.html"):
        assert (tmp_path / name).stat().st_size > 0
