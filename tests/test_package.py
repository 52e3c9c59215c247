"""Packaging promises: a light import, typed, one version, a wheel without tests."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest

import visual_rewards as vr

ROOT = Path(__file__).resolve().parents[1]


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


def test_every_public_name_is_exported_lazily_and_typed() -> None:
    """``__all__``, the lazy export table and the names type checkers see are one list."""
    import ast

    tree = ast.parse((ROOT / "src" / "visual_rewards" / "__init__.py").read_text("utf-8"))
    checked = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for stmt in node.body
        if isinstance(stmt, ast.ImportFrom)
        for alias in stmt.names
    }
    assert checked == set(vr._EXPORTS)
    assert set(vr.__all__) == {*vr._EXPORTS, "__version__"}
    for name in vr.__all__:
        assert getattr(vr, name) is not None


def test_typed_and_versioned() -> None:
    assert resources.files("visual_rewards").joinpath("py.typed").is_file()
    assert sorted(vr.__all__) == sorted(set(vr.__all__))


def test_one_version_source() -> None:
    # the version lives in pyproject.toml only; the package reads it from the installed metadata
    assert vr.__version__ == importlib.metadata.version("visual-rewards")
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'version = "{vr.__version__}"' in pyproject
    for path in (ROOT / "src").rglob("*.py"):
        assert not re.search(r'__version__ = "\d+\.\d+', path.read_text()), path


def _build_wheel(tmp_path: Path) -> Path:
    """Build the wheel offline from a copy of what the sdist needs (the tree stays clean)."""
    pytest.importorskip("setuptools")
    src = tmp_path / "src-tree"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    out = tmp_path / "dist"
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    cmd += ["--no-index", "--quiet", "--wheel-dir", str(out), str(src)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    (wheel,) = out.glob("visual_rewards-*.whl")
    return wheel


def test_the_wheel_holds_the_package_and_no_test_file(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    files = [n for n in names if ".dist-info/" not in n]
    assert "visual_rewards/py.typed" in files
    assert "visual_rewards/verl/manager.py" in files  # the verl.plugins entry point's target
    assert all(n.startswith("visual_rewards/") for n in files), files
    leaked = [n for n in files if Path(n).name == "conftest.py" or Path(n).name.startswith("test_")]
    assert leaked == [], f"test files in the wheel: {leaked}"
    assert not any("/tests/" in n or n.startswith("tests/") for n in files)
    # the license travels in the metadata, as do the project URLs
    assert any(n.endswith("/licenses/LICENSE") or n.endswith("/LICENSE") for n in names)
    meta = (
        zipfile.ZipFile(wheel)
        .read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        .decode()
    )
    assert "Project-URL: Repository, https://github.com/" in meta
    assert "Classifier: Development Status :: " in meta


def _extra(name: str) -> list[str]:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["optional-dependencies"][name])


@pytest.mark.parametrize("package", ["trl", "transformers"])
def test_the_trl_extra_pins_what_the_suite_tests(package: str) -> None:
    # `pip install visual-rewards[trl]` must resolve to the versions this suite runs against
    from packaging.requirements import Requirement

    pytest.importorskip(package)
    (req,) = [Requirement(r) for r in _extra("trl") if Requirement(r).name == package]
    installed = importlib.metadata.version(package)
    assert req.specifier.contains(installed), f"{package} {installed} not in [trl]: {req}"
    assert req.specifier.contains(f"{installed.split('.')[0]}.999") is False  # a minor-range pin


def test_the_readme_states_the_tested_transformers_range() -> None:
    from packaging.requirements import Requirement

    (req,) = [r for r in _extra("trl") if Requirement(r).name == "transformers"]
    spec = str(Requirement(req).specifier)  # e.g. "<5.11,>=5.10"
    low = next(s[2:] for s in spec.split(",") if s.startswith(">="))
    high = next(s[1:] for s in spec.split(",") if s.startswith("<"))
    assert f"transformers>={low},<{high}" in (ROOT / "README.md").read_text()


def _local_imports(path: Path, seen: set[Path]) -> set[str]:
    """Top-level modules ``path`` imports, following imports of benchmarks/ and tests/support/."""
    import ast

    seen.add(path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            found.add(top)
            for folder in (ROOT / "benchmarks", ROOT / "tests" / "support"):
                local = folder / f"{top}.py"
                if local.is_file() and local not in seen:
                    found |= _local_imports(local, seen)
    return found


@pytest.mark.parametrize(
    "bench", sorted((ROOT / "benchmarks").glob("bench_*.py")), ids=lambda p: p.stem
)
def test_benchmarks_run_without_the_test_tools(bench: Path) -> None:
    # benchmarks run in the core + test environment, not under pytest: no test module import
    imported = _local_imports(bench, set())
    assert not imported & {"pytest", "hypothesis", "_pytest"}, sorted(imported)
    assert not any(name.startswith("test_") for name in imported), sorted(imported)
