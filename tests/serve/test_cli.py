"""``visual-rewards serve``'s parser: light to import, checked before it binds, exit code 2."""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from visual_rewards import cli
from visual_rewards.cli.serve import add_parser, config_from_args
from visual_rewards.serve.__main__ import main
from visual_rewards.serve.config import ServeConfig

SRC = Path(__file__).resolve().parents[2] / "src"


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    return parser.parse_args(["serve", *argv])


def test_help_imports_no_web_stack() -> None:
    code = (
        "import sys, argparse, contextlib, io\n"
        "from visual_rewards.cli.serve import add_parser\n"
        "p = argparse.ArgumentParser(); add_parser(p.add_subparsers())\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    p.parse_args(['serve', '--help'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'fastapi', 'uvicorn', 'starlette'}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]"


def test_arguments_make_the_config() -> None:
    args = _parse(
        "--task",
        "detection",
        "--preset",
        "visual_rft",
        "--option",
        "detection.iou_threshold=0.7",
        "--option",
        "rule=strict",
        "--port",
        "0",
        "--workers",
        "3",
        "--no-components",
    )
    assert config_from_args(args) == ServeConfig(
        task="detection",
        preset="visual_rft",
        options=(("detection.iou_threshold", "0.7"), ("rule", '"strict"')),
        port=0,
        workers=3,
        components=False,
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--task", "segmentation"], "unknown task 'segmentation'"),
        (["--task", "detection", "--option", "colour=1"], "unknown option"),
        (["--workers", "0"], "workers must be >= 1"),
        (["--preset", "paper"], "unknown preset 'paper'"),
        (["--task", "counting", "--preset", "visual_rft"], "has no preset 'visual_rft'"),
    ],
)
def test_bad_settings_exit_2_before_binding(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_a_taken_port_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("uvicorn")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["--port", str(port)]) == 2
    assert "error" in capsys.readouterr().err


def test_registered_in_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The one registration line the command line needs, through its own ``main``."""
    assert cli.main(["serve", "--task", "segmentation", "--port", "0"]) == 2
    assert "visual-rewards serve: error: unknown task 'segmentation'" in capsys.readouterr().err
    assert cli.main(["serve", "--help"]) == 0


def test_without_the_web_stack_it_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a)
    )
    assert main(["--task", "detection", "--port", "0"]) == 2
    assert "needs uvicorn: pip install 'visual-rewards[serve]'" in capsys.readouterr().err
