"""Report building blocks: image headers, histograms, reservoir sampling, escaping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from visual_rewards.report import ReportData, collect, render_html, svg_histogram

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "data"


def test_svg_histogram() -> None:
    svg = svg_histogram([0.0, 0.5, 0.5, 1.0], "total", bins=4)
    assert svg.count("<rect") == 4 and "n=4" in svg and "mean=0.500" in svg
    assert "no data" in svg_histogram([], "empty")
    assert svg_histogram([2.0, 2.0], "flat").count("<rect") == 20


def test_collect_reservoir(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    rows = [{"i": i, "scores": {"total": i / 100, "components": {"iou": 0.5}}} for i in range(100)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"i": -1}\nbroken\n')
    data = collect(path, sample_size=10, seed=0)
    assert data.n_rows == 100 and data.unscored == 1 and len(data.errors) == 1
    assert len(data.sample) == 10 and len({ln for ln, _ in data.sample}) == 10
    assert [ln for ln, _ in data.sample] == sorted(ln for ln, _ in data.sample)
    assert len(data.totals) == 100 and data.components["iou"] == [0.5] * 100
    assert collect(path, sample_size=10, seed=0).sample == data.sample
    assert collect(path, sample_size=10, seed=1).sample != data.sample


def test_render_escapes_model_text() -> None:
    row = {
        "completion": "<think><script>alert(1)</script></think><answer>[0, 0, 10, 10]</answer>",
        "solution": [0, 0, 10, 10],
        "scores": {"reward": "x", "total": 1.0, "components": {"iou": 1.0}},
    }
    page = render_html(ReportData(n_rows=1, totals=[1.0], sample=[(1, row)]), title="t <b>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "t &lt;b&gt;" in page
    assert "no image" in page


def test_collect_only_filter(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    rows = [
        {"i": i, "scores": {"total": None if i % 10 == 0 else 1.0, "parse_failed": i % 4 == 0}}
        for i in range(100)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    failed = collect(path, sample_size=100, only="parse_failed")
    assert [row["i"] for _, row in failed.sample] == list(range(0, 100, 4))
    na = collect(path, sample_size=3, only="not_applicable", seed=2)
    assert len(na.sample) == 3 and all(row["i"] % 10 == 0 for _, row in na.sample)
    assert len(na.totals) == 90  # histograms keep every applicable row
    with pytest.raises(ValueError, match="only must be one of"):
        collect(path, only="nope")
