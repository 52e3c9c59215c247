"""`visual-rewards --help` imports nothing heavier than numpy (figures: benchmarks/bench_startup.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("scipy", "pydantic", "rapidfuzz", "PIL", "pycocotools", "pyarrow", "tqdm",
         "matplotlib", "datasets", "torch", "visual_rewards.rewards", "visual_rewards.parsing",
         "visual_rewards.scoring", "visual_rewards.evaluation", "visual_rewards.data",
         "visual_rewards.report")  # fmt: skip


def _imported(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint('MODULES=' + ' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    ).stdout
    names = set(out.rsplit("MODULES=", 1)[1].split())  # not the help text printed before
    return {h for h in HEAVY if any(n == h or n.startswith(h + ".") for n in names)}


def _help(sub: str) -> str:
    args = [sub, "--help"] if sub else ["--help"]
    return f"from visual_rewards.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass"


#: What ``import visual_rewards`` alone pulls in (its __init__ is the lead's; see the report).
PACKAGE = _imported("import visual_rewards")


@pytest.mark.parametrize("sub", ["", "score", "evaluate", "report", "build-dataset", "audit"])
def test_help_adds_no_heavy_import_to_the_package(sub: str) -> None:
    """The CLI itself imports its libraries only when a command runs."""
    assert _imported(_help(sub)) - PACKAGE == set()


@pytest.mark.xfail(
    bool(PACKAGE),
    reason=f"visual_rewards/__init__.py imports {sorted(PACKAGE)} eagerly; a lazy (PEP 562) "
    "__init__ makes this pass",
    strict=True,
)
@pytest.mark.parametrize("sub", ["", "score", "evaluate", "report", "build-dataset", "audit"])
def test_help_imports_nothing_heavier_than_numpy(sub: str) -> None:
    assert _imported(_help(sub)) == set()
