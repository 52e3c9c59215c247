"""`visual-rewards score` through the command line (in-process and as a console script)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from visual_rewards.cli import SUBCOMMANDS, build_parser, main
from visual_rewards.rewards import REWARDS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("score", "evaluate", "report"):
        assert name in out
    assert main(["--version"]) == 0
    assert main([]) == 2
    assert main(["score"]) == 2  # missing INPUT: argparse usage error
    assert main(["no-such-command"]) == 2


def test_subcommands_registered_by_one_line() -> None:
    assert all(":add_" in spec and spec.endswith("_parser") for spec in SUBCOMMANDS)
    parser = build_parser()
    args = parser.parse_args(["score", "x.jsonl", "--task", "format"])
    assert callable(args.func)


def test_score_clean_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"completion": "<think>a</think><answer>b</answer>"})
        + "\n"
        + json.dumps({"completion": "b"})
        + "\n"
    )
    out = tmp_path / "scored.jsonl"
    summary = tmp_path / "summary.json"
    code = main(
        ["score", str(src), "--task", "format", "-o", str(out), "--summary-json", str(summary)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "| format_default | 2 | 50.0% | 50.0% | 0 | 0.5000 | 0.5000 |" in printed
    assert [json.loads(x)["scores"]["total"] for x in out.read_text().splitlines()] == [1.0, 0.0]
    assert json.loads(summary.read_text())["rewards"]["format_default"]["rows"] == 2


def test_score_exit_code_one_on_bad_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"completion": "x"}\n{oops\n{"completion": "y"}\n')
    code = main(["score", str(src), "--task", "format", "--workers", "2", "--chunk-size", "1"])
    assert code == 1
    assert "1 line(s) failed" in capsys.readouterr().err
    default_out = tmp_path / "in.scored.jsonl"
    assert len(default_out.read_text().splitlines()) == 2
    errors = (tmp_path / "in.scored.jsonl.errors.jsonl").read_text().splitlines()
    assert json.loads(errors[0])["line"] == 2


def test_score_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"completion": "x"}\n')
    assert main(["score", str(tmp_path / "missing.jsonl"), "--task", "format"]) == 2
    assert main(["score", str(src), "--task", "no-such-task"]) == 2
    assert main(["score", str(src), "--task", "format", "--preset", "nope"]) == 2
    assert main(["score", str(src), "--task", "format", "--option", "nope=1"]) == 2
    assert main(["score", str(src), "--task", "format", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert "unknown task 'no-such-task'" in err and "has no preset 'nope'" in err


def test_score_option_and_preset(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"completion": "<think></think><answer></answer>"}) + "\n")
    out = tmp_path / "o.jsonl"
    assert main(["score", str(src), "--task", "format", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["scores"]["total"] == 0.0
    assert (
        main(["score", str(src), "--task", "format", "--option", "rule=visual_rft", "-o", str(out)])
        == 0
    )
    assert json.loads(out.read_text())["scores"]["total"] == 1.0
    assert (
        main(["score", str(src), "--task", "format", "--preset", "visual_rft", "-o", str(out)]) == 0
    )
    assert json.loads(out.read_text())["scores"]["reward"] == "format_visual_rft"


def test_score_bundled_examples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cls.jsonl"
    if "classification" in REWARDS:
        code = main(["score", str(EXAMPLES / "classification_outputs.jsonl"), "-o", str(out)])
        assert code == 0
        assert "classification_default" in capsys.readouterr().out
    if "detection" in REWARDS:
        out = tmp_path / "det.jsonl"
        code = main(["score", str(EXAMPLES / "detection_outputs.jsonl"), "-o", str(out)])
        assert code == 0
        rows = [json.loads(x) for x in out.read_text().splitlines()]
        assert len(rows) == 24 and all("iou" in r["scores"]["components"] for r in rows)


def test_console_script_runs(tmp_path: Path) -> None:
    exe = shutil.which("visual-rewards", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("console script not installed")
    src = tmp_path / "in.jsonl"
    src.write_text('{"completion": "x"}\n')
    proc = subprocess.run(
        [exe, "score", str(src), "--task", "format"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 lines read, 1 scored, 0 failed" in proc.stdout


def test_bundled_examples_match_their_generator(tmp_path: Path) -> None:
    import runpy

    gen = runpy.run_path(str(EXAMPLES.parent / "make_example_data.py"))
    gen["main"](tmp_path)
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert made == sorted(p.relative_to(EXAMPLES) for p in EXAMPLES.rglob("*") if p.is_file())
    for rel in made:
        new, old = (tmp_path / rel).read_bytes(), (EXAMPLES / rel).read_bytes()
        if rel.suffix == ".png":  # compressed bytes depend on the zlib build: compare pixels
            new, old = _png_pixels(new), _png_pixels(old)
        assert new == old, rel


def _png_pixels(data: bytes) -> bytes:
    """IHDR plus the decompressed IDAT stream of a PNG written by the example generator."""
    import struct
    import zlib

    pos, header, idat = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if tag == b"IHDR":
            header = body
        elif tag == b"IDAT":
            idat += body
        pos += 12 + length
    return header + zlib.decompress(idat)


def test_preset_a_task_lacks_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One rule (as in veRL): a preset the task's reward lacks is never a silent fall-back."""
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"completion": "<answer>3</answer>", "solution": 3}) + "\n")
    out = tmp_path / "out.jsonl"
    assert (
        main(["score", str(src), "--task", "counting", "--preset", "visual_rft", "-o", str(out)])
        == 2
    )
    assert "has no preset 'visual_rft'" in capsys.readouterr().err and not out.exists()
    code = main(
        ["score", str(src), "--task", "counting", "--preset", "visual_rft",
         "--option", "counting.preset=default", "-o", str(out)]
    )  # fmt: skip
    assert code == 0 and json.loads(out.read_text())["scores"]["reward"] == "counting_default"


def test_mixed_tasks_preset_row_error_names_the_fix(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    rows = [
        {"task": "format", "completion": "<think>a</think><answer>b</answer>"},
        {"task": "counting", "completion": "<answer>3</answer>", "solution": 3},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src), "--preset", "visual_rft", "-o", str(out)]) == 1
    errors = (tmp_path / "out.jsonl.errors.jsonl").read_text()
    assert "--option counting.preset=NAME" in errors
    assert main(["score", str(src), "--preset", "nope", "-o", str(out)]) == 2
    assert main(["score", str(src), "--option", "nope=1", "-o", str(out)]) == 2
    assert main(["score", str(src), "--option", "nosuchtask.rule=1", "-o", str(out)]) == 2


def test_usage_errors_before_any_input_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2 and one line, never a traceback, never an empty output file."""
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"completion": "x"}) + "\n")
    missing = tmp_path / "no" / "such"
    cases = [
        ["-o", str(missing / "o.jsonl")],
        ["--errors", str(missing / "e.jsonl")],
        ["--summary-json", str(missing / "s.json")],
        ["--preset", "nope"],
        ["--option", "nope=1"],
        ["--workers", "0"],
        ["--chunk-size", "0"],
    ]
    for extra in cases:
        assert main(["score", str(src), *extra]) == 2, extra
        err = capsys.readouterr().err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, (extra, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_non_finite_numbers_in_the_input_are_reported_never_written(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"task": "format", "completion": "x", "scores": {"old": 1e400}}\n'
        '{"task": "format", "completion": "x", "scores": {"old": NaN}}\n'
        '{"task": "format", "completion": "<think>a</think><answer>b</answer>", "scores": {"old": 1}}\n'
    )
    out = tmp_path / "o.jsonl"
    assert main(["score", str(src), "-o", str(out)]) == 1
    lines = out.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["scores"]["total"] == 1.0
    errors = [json.loads(x) for x in (tmp_path / "o.jsonl.errors.jsonl").read_text().splitlines()]
    assert [e["line"] for e in errors] == [1, 2]
    assert "out of range" in errors[0]["error"] and "NaN" in errors[1]["error"]
    from visual_rewards.io.rows import decode_row

    for path in (out, tmp_path / "o.jsonl.errors.jsonl"):
        for line in path.read_text().splitlines():
            decode_row(line)  # strict JSON: raises on NaN / Infinity / 1e400


@pytest.mark.parametrize("alias", ["point", "points"])
def test_score_accepts_the_task_names_verl_accepts(alias: str, tmp_path: Path) -> None:
    """Task names go through the registry (resolve_task), as in veRL: aliases work."""
    from visual_rewards.rewards import resolve_task
    from visual_rewards.verl import task_of

    assert resolve_task(alias) == task_of(alias, None) == "pointing"
    src = tmp_path / "in.jsonl"
    row = {"task": alias, "completion": "<answer>[(10, 10)]</answer>", "solution": "[(12, 9)]"}
    src.write_text(json.dumps(row) + "\n")
    for extra in ([], ["--task", alias]):
        out = tmp_path / "o.jsonl"
        assert main(["score", str(src), "-o", str(out), *extra]) == 0, extra
        assert json.loads(out.read_text())["scores"]["reward"].startswith("pointing_")
