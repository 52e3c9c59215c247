"""The streaming scorer: bad lines never stop a run, order and bytes do not depend on workers."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from visual_rewards import scoring
from visual_rewards.rewards import REWARDS, Reward, RewardResult
from visual_rewards.scoring import ScoreOptions, format_summary, score_file, score_lines

GOOD = "<think>look</think><answer>[{'Position': [10, 20, 300, 400], 'Confidence': 0.9}]</answer>"
BAD_FORMAT = "no tags at all"


def _good_row(i: int) -> dict[str, Any]:
    return {"id": i, "task": "format", "completion": GOOD if i % 3 else BAD_FORMAT, "solution": "x"}


def write_mixed_file(
    path: Path, n_good: int = 60, huge_bytes: int = 5000
) -> tuple[list[int], dict[int, str]]:
    """A JSONL file of good rows with every kind of broken line in between.

    Returns the ids of the good rows in order and {line number: expected error prefix}.
    """
    bad: list[tuple[bytes, str]] = [
        (b'{"id": "broken", "completion": ', "invalid JSON"),
        (b"[1, 2, 3]", "expected a JSON object, got list"),
        (b'{"id": "nocompletion", "task": "format"}', "missing field 'completion'"),
        (b'{"id": "int", "task": "format", "completion": 42}', "field 'completion' must be"),
        (b'{"id": "notask", "completion": "a"}', "missing field 'task'"),
        (b'{"id": "tasktype", "task": 3, "completion": "a"}', "field 'task' must be a string"),
        (b'{"id": "unknown", "task": "no-such-task", "completion": "a"}', "unknown task"),
        (b'{"id": "nan", "task": "format", "completion": NaN}', "invalid JSON"),
        (b'{"id": "latin1", "task": "format", "completion": "caf\xe9"}', "not UTF-8"),
        (
            b'{"id": "huge", "task": "format", "completion": "' + b"x" * huge_bytes + b'"}',
            "line too long",
        ),
        (b'"just a string"', "expected a JSON object, got str"),
        (b"null", "expected a JSON object, got null"),
    ]
    lines: list[bytes] = []
    good_ids: list[int] = []
    expected: dict[int, str] = {}
    k = 0
    for i in range(n_good):
        lines.append(json.dumps(_good_row(i)).encode())
        good_ids.append(i)
        if i % 5 == 2 and k < len(bad):
            raw, err = bad[k]
            lines.append(raw)
            expected[len(lines)] = err
            k += 1
        if i == 10:
            lines.append(b"   ")  # blank lines are not records and not errors
    assert k == len(bad)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return good_ids, expected


def test_bad_lines_reported_good_lines_kept_in_order(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    good_ids, expected = write_mixed_file(src)
    out = tmp_path / "out.jsonl"
    opts = ScoreOptions(chunk_size=7, max_line_bytes=2000)
    summary = score_file(src, out, opts)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == good_ids
    for r in rows:
        want = 1.0 if r["completion"] == GOOD else 0.0
        assert r["scores"]["total"] == want
        assert r["scores"]["components"] == {"format": want}
        assert r["scores"]["format_ok"] is (want == 1.0)
        assert r["solution"] == "x"  # every input field kept
    errors = [
        json.loads(line) for line in (tmp_path / "out.jsonl.errors.jsonl").read_text().splitlines()
    ]
    assert [e["line"] for e in errors] == sorted(expected)
    for e in errors:
        assert e["error"].startswith(expected[e["line"]]), e
    assert summary.errors == len(expected)
    assert summary.rows_scored == len(good_ids)
    assert summary.lines_read == len(good_ids) + len(expected)


def test_input_text_is_kept_verbatim(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    line = '{"completion": "<think>a</think><answer>b</answer>",   "x": 1.50, "u": "\\u00e9"}'
    src.write_text(line + "\n")
    out = tmp_path / "out.jsonl"
    score_file(src, out, ScoreOptions(task="format"))
    text = out.read_text()
    assert text.startswith(line[:-1])
    row = json.loads(text)
    assert row["scores"]["total"] == 1.0 and row["u"] == "é"


def test_existing_result_field_is_replaced(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"completion": "x", "scores": {"old": 1}}) + "\n")
    out = tmp_path / "out.jsonl"
    score_file(src, out, ScoreOptions(task="format"))
    row = json.loads(out.read_text())
    assert "old" not in row["scores"] and row["scores"]["total"] == 0.0


def test_workers_two_identical_to_one(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    write_mixed_file(src, n_good=200)
    outs = []
    for workers in (1, 2):
        out = tmp_path / f"out{workers}.jsonl"
        err = tmp_path / f"err{workers}.jsonl"
        s = score_file(
            src,
            out,
            ScoreOptions(chunk_size=16, max_line_bytes=2000),
            errors_path=err,
            workers=workers,
        )
        outs.append((out.read_bytes(), err.read_bytes(), format_summary(s)))
    assert outs[0] == outs[1]
    assert len(outs[0][0].splitlines()) == 200


def test_interrupted_run_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "in.jsonl"
    write_mixed_file(src)
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    calls = {"n": 0}
    real = scoring.score_lines

    def flaky(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(scoring, "score_lines", flaky)
    with pytest.raises(KeyboardInterrupt):
        score_file(src, out, ScoreOptions(chunk_size=5, max_line_bytes=2000))
    assert out.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_stale_errors_file_removed_on_clean_run(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"completion": "x"}) + "\n")
    out = tmp_path / "out.jsonl"
    stale = tmp_path / "out.jsonl.errors.jsonl"
    stale.write_text("old\n")
    s = score_file(src, out, ScoreOptions(task="format"))
    assert s.errors == 0 and not stale.exists()


def test_summary_table_golden(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    rows = [
        {"completion": "<think>a</think><answer>b</answer>"},
        {"completion": "<think>a</think><answer>b</answer>"},
        {"completion": "<think>a</think>"},
        {"completion": "nothing"},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{bad\n")
    s = score_file(src, tmp_path / "o.jsonl", ScoreOptions(task="format"))
    assert format_summary(s) == (
        "| reward | rows | parse failed | format ok | n/a | total | format |\n"
        "|---|---:|---:|---:|---:|---:|---:|\n"
        "| format_default | 4 | 50.0% | 50.0% | 0 | 0.5000 | 0.5000 |\n"
        "\n"
        "5 lines read, 4 scored, 1 failed"
    )
    assert s.to_dict()["rewards"]["format_default"]["parse_failure_rate"] == 0.5


@dataclass(frozen=True)
class _Cfg:
    pass


class _PickyReward(Reward):
    """Raises (a caller error) when a solution is the string "boom"; NaN for "n/a"."""

    task: ClassVar[str] = "picky"
    presets: ClassVar[dict[str, _Cfg]] = {"default": _Cfg()}
    calls: ClassVar[list[int]] = []

    def score(
        self, completions: Sequence[Any], solutions: Sequence[Any] | None = None, **columns: Any
    ) -> RewardResult:
        assert solutions is not None
        _PickyReward.calls.append(len(completions))
        if "boom" in solutions:
            raise ValueError("boom solution")
        total = np.array([np.nan if s == "n/a" else 0.5 for s in solutions])
        return RewardResult(total, {"part": total.copy()}, np.zeros(len(total), bool))


def test_reward_raising_on_one_row_loses_only_that_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(REWARDS, "picky", _PickyReward)
    _PickyReward.calls.clear()
    sols = ["a", "boom", "n/a", "b", "c"]
    lines = [json.dumps({"completion": "x", "solution": s}).encode() for s in sols]
    res = score_lines(ScoreOptions(task="picky", chunk_size=8), 1, lines)
    assert [e["line"] for e in res.errors] == [2]
    assert "boom solution" in res.errors[0]["error"]
    rows = [json.loads(x) for x in res.lines]
    assert [r["solution"] for r in rows] == ["a", "n/a", "b", "c"]
    assert rows[1]["scores"]["total"] is None  # not applicable
    stats = res.stats["picky_default"]
    assert stats.rows == 4 and stats.not_applicable == 1 and stats.total_sum == 1.5
    assert _PickyReward.calls[0] == 5  # one batch call first, never row by row unless it fails
    for line, row in zip(res.lines, rows, strict=True):  # the result is exactly json.dumps'
        assert line.endswith(', "scores": ' + json.dumps(row["scores"]) + "}")


def test_batch_calls_are_chunked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REWARDS, "picky", _PickyReward)
    _PickyReward.calls.clear()
    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(json.dumps({"completion": "x", "solution": "s"}) + "\n" for _ in range(2500))
    )
    score_file(src, tmp_path / "o.jsonl", ScoreOptions(task="picky"))
    assert _PickyReward.calls == [1024, 1024, 452]


def test_options_scoped_per_task() -> None:
    opts = ScoreOptions(options=(("rule", '"visual_rft"'), ("detection.iou_threshold", "0.7")))
    assert scoring._options_for("format", opts.options) == {"rule": "visual_rft"}
    assert scoring._options_for("detection", opts.options) == {
        "rule": "visual_rft",
        "iou_threshold": 0.7,
    }
    with pytest.raises(ValueError, match="not JSON"):
        ScoreOptions(options=(("a", "{"),))


def test_unknown_option_is_a_caller_error(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"completion": "x"}\n')
    with pytest.raises(TypeError, match="unknown option"):
        score_file(src, tmp_path / "o.jsonl", ScoreOptions(task="format", options=(("nope", "1"),)))


def test_memory_does_not_grow_with_input(tmp_path: Path) -> None:
    peaks = []
    for n in (1_000, 10_000):
        src = tmp_path / f"in{n}.jsonl"
        src.write_text("".join(json.dumps(_good_row(i)) + "\n" for i in range(n)))
        tracemalloc.start()
        score_file(src, tmp_path / "o.jsonl", ScoreOptions(chunk_size=256))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 2 * peaks[0]


@pytest.mark.skipif("detection" not in REWARDS, reason="detection reward not registered yet")
def test_detection_rows_with_parse_diagnostics(tmp_path: Path) -> None:
    rows = [
        {
            "completion": GOOD,
            "solution": "<answer>[{'Position': [10, 20, 300, 400], 'Confidence': 1}]</answer>",
        },
        {
            "completion": "<think>t</think><answer>I cannot tell</answer>",
            "solution": "<answer>No Objects</answer>",
        },
        {"completion": "<think>t</think>", "solution": "<answer>No Objects</answer>"},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    s = score_file(src, out, ScoreOptions(task="detection"))
    got = [json.loads(x)["scores"] for x in out.read_text().splitlines()]
    assert s.errors == 0
    assert got[0]["parse_failed"] is False and got[0]["components"]["iou"] == pytest.approx(1.0)
    assert got[1]["parse_failed"] is True and got[1]["parse_errors"] == ["no boxes found"]
    assert got[2]["parse_errors"] == ["no answer"]
    for line in out.read_text().splitlines():
        assert line.endswith(', "scores": ' + json.dumps(json.loads(line)["scores"]) + "}")


def test_parquet_input(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"completion": ["<think>a</think><answer>b</answer>", "x"], "n": [1, 2]})
    src = tmp_path / "in.parquet"
    pq.write_table(table, src)
    out = tmp_path / "o.jsonl"
    s = score_file(src, out, ScoreOptions(task="format"))
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["n"] for r in rows] == [1, 2] and s.errors == 0
    assert [r["scores"]["total"] for r in rows] == [1.0, 0.0]


def test_progress_bar_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(_good_row(i)) + "\n" for i in range(50)))
    score_file(src, tmp_path / "o.jsonl", ScoreOptions(chunk_size=10), progress=True)
    assert capsys.readouterr().err == ""  # a job shorter than a second draws nothing
    monkeypatch.setattr(scoring._Progress, "delay", 0.0)
    score_file(src, tmp_path / "o.jsonl", ScoreOptions(chunk_size=10), progress=True)
    err = capsys.readouterr().err
    size = src.stat().st_size
    assert "scoring" in err and "100%" in err and err.endswith("\n")
    assert f"{size / 1000:.2f}k/{size / 1000:.2f}k" in err
