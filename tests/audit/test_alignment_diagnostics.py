"""Alignment tables, GRPO diagnostics (on hand-made groups and on the shared real log), the
report fragments and the ``audit`` command."""

from __future__ import annotations

import argparse
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visual_rewards import CountingReward, GroundingReward
from visual_rewards.audit import (
    alignment,
    alignment_svg,
    audit_html_fragment,
    grpo_diagnostics,
    read_debug_log,
)
from visual_rewards.audit.alignment import AlignmentRow, AlignmentTable, discordant_pairs
from visual_rewards.cli.audit import add_parser as add_audit_parser
from visual_rewards.cli.errors import UsageError

SHARED_LOG = (
    Path(__file__).resolve().parents[2].parent
    / "shared/data/model_outputs/vlmr1_rec_qwen2.5vl3b_grpo_debug.txt"
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=0, max_size=12))
def test_discordant_pairs_equals_brute_force(pairs: list[tuple[int, int]]) -> None:
    s = [p[0] for p in pairs]
    m = [p[1] for p in pairs]
    disc = ordered = 0
    for i, j in itertools.combinations(range(len(pairs)), 2):
        if m[i] != m[j]:
            ordered += 1
            disc += (s[i] - s[j]) * (m[i] - m[j]) < 0
    assert discordant_pairs(s, m) == (disc, ordered)


def test_alignment_of_a_reward_that_is_its_metric() -> None:
    table = alignment(GroundingReward(), [[100, 100, 400, 400], [0, 0, 500, 900]], n=48, seed=1)
    rows = {r.score: r for r in table.rows}
    assert set(rows) == {"total", "iou", "format"}
    assert rows["iou"].kendall_tau == pytest.approx(1.0) and rows["iou"].discordant == 0.0
    assert rows["total"].pairs > 0 and 0.0 <= rows["total"].discordant <= 1.0
    assert json.loads(json.dumps(table.to_dict()))["rows"][0]["score"] == "total"


def test_svg_and_html_escape_and_have_no_script() -> None:
    t = AlignmentTable(
        "<img src=x onerror=alert(1)>",
        "grounding",
        1,
        8,
        0,
        (AlignmentRow("total", -0.4, 0.6, 10), AlignmentRow("iou", math.nan, math.nan, 0)),
    )
    svg = alignment_svg([t])
    html = audit_html_fragment([t])
    for text in (svg, html):
        assert "<img" not in text and "<script" not in text.lower() and "&lt;img" in text
    assert "n/a" in svg


def _row(prompt: str, total: float, acc: float, answer: str) -> dict:
    return {
        "prompt": prompt,
        "completion": f"<think>x</think><answer>{answer}</answer>",
        "solution": 3,
        "scores": {"total": total, "components": {"accuracy": acc, "format": total - acc}},
    }


def test_diagnostics_on_hand_made_groups() -> None:
    rows = [
        _row("a", 2.0, 1.0, "3"),
        _row("a", 1.0, 0.0, "4"),  # accuracy carries the signal
        _row("b", 1.0, 1.0, "3"),
        _row("b", 1.0, 0.0, "5"),  # equal totals: no signal
        _row("c", 1.0, 0.0, "4"),
        _row("c", 0.0, 0.0, "3"),  # format pays the wrong answer
        _row("d", 2.0, 1.0, "3"),  # a group of one: left out
        {"prompt": "e", "scores": {"total": None, "components": {}}},  # not applicable
    ]
    d = grpo_diagnostics(rows, task="counting")
    assert (d.rows, d.groups, d.zero_variance_groups) == (7, 3, 1)
    assert d.weights == {"accuracy": 1.0, "format": 1.0}
    assert sum(d.component_share.values()) == pytest.approx(1.0)
    assert d.component_share["accuracy"] == pytest.approx(0.5)
    assert (d.metric_spread_groups, d.top_mismatch_groups) == (3, 1)
    assert [e["group"] for e in d.examples] == ["c"]
    assert "zero-variance groups: 1" in d.to_markdown()


@pytest.mark.skipif(not SHARED_LOG.is_file(), reason="../shared/data is absent")
def test_diagnostics_on_the_shared_real_training_log() -> None:
    rows = read_debug_log(SHARED_LOG)
    assert len(rows) == 240
    reward = GroundingReward(coords="pixel")
    res = reward.score(
        [r["completion"] for r in rows],
        [r["solution"] for r in rows],
        image_size=[(4096, 4096)] * len(rows),
    )
    for r, total, iou, fmt in zip(
        rows, res.total, res.components["iou"], res.components["format"], strict=True
    ):
        r["scores"] = {
            "total": float(total),
            "components": {"iou": float(iou), "format": float(fmt)},
        }
        r["image_size"] = [4096, 4096]
    d = grpo_diagnostics(rows, task="grounding", coords="pixel")
    assert d.groups > 50 and 0.0 < d.zero_variance_fraction < 1.0
    assert sum(d.component_share.values()) == pytest.approx(1.0)
    logged = grpo_diagnostics(
        [
            {
                **r,
                "scores": {
                    "total": r["logged_reward"],
                    "components": {"accuracy": r["logged_reward"]},
                },
            }
            for r in rows
        ],
        task="grounding",
        coords="pixel",
    )
    assert logged.zero_variance_fraction >= d.zero_variance_fraction


def _cli(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    add_audit_parser(p.add_subparsers())
    args = p.parse_args(["audit", *argv])
    return int(args.func(args))


def test_cli_audit_exit_codes_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "a.json"
    svg = tmp_path / "a.svg"
    assert (
        _cli(
            [
                "--task",
                "grounding",
                "--budget",
                "300",
                "--n",
                "2",
                "--alignment",
                "8",
                "--json",
                str(out),
                "--svg",
                str(svg),
            ]
        )
        == 0
    )
    data = json.loads(out.read_text())
    assert data["audit"]["clean"] and data["alignment"]["rows"]
    assert svg.read_text().startswith("<svg")
    assert (
        _cli(
            [
                "--task",
                "classification",
                "--preset",
                "visual_rft",
                "--budget",
                "300",
                "--alignment",
                "0",
            ]
        )
        == 1
    )
    assert "empty_answer" in capsys.readouterr().out


def test_cli_reads_ground_truths_and_scored_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gts = tmp_path / "gt.jsonl"
    gts.write_text(
        "\n".join(json.dumps({"solution": [100 * i, 100, 100 * i + 200, 300]}) for i in range(3))
        + "\n"
    )
    assert (
        _cli(
            [
                "--task",
                "grounding",
                "--ground-truths",
                str(gts),
                "--budget",
                "200",
                "--alignment",
                "0",
            ]
        )
        == 0
    )
    scored = tmp_path / "scored.jsonl"
    scored.write_text(
        "\n".join(
            json.dumps(_row(p, t, a, ans))
            for p, t, a, ans in [("a", 2.0, 1.0, "3"), ("a", 1.0, 0.0, "4")]
        )
        + "\n"
    )
    assert _cli(["--task", "counting", "--diagnose", str(scored)]) == 0
    assert "zero-variance groups: 0" in capsys.readouterr().out


def test_cli_refuses_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    with pytest.raises(UsageError, match=r"bad.jsonl: line 1: invalid JSON"):
        _cli(["--task", "grounding", "--ground-truths", str(bad)])
    with pytest.raises(UsageError, match="not found"):
        _cli(["--task", "grounding", "--ground-truths", str(tmp_path / "missing.jsonl")])
    with pytest.raises(UsageError, match="unknown task"):
        _cli(["--task", "nope"])


def test_counting_reward_diagnostics_constant_rewards_have_no_share() -> None:
    rows = [_row("a", 1.0, 0.0, "4"), _row("a", 1.0, 0.0, "5")]
    d = grpo_diagnostics(rows, task="counting")
    assert d.zero_variance_groups == 1 and all(math.isnan(v) for v in d.component_share.values())
    assert CountingReward().task == "counting" and np.isfinite(d.fit_residual)
