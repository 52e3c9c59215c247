"""The documentation cites only what a user has: files of this repository, no outside document."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What a user reads: the docs site, the READMEs, and the docstrings the API page renders.
DOCS = sorted(
    [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "integrations").rglob("*.md")]
)
SOURCES = sorted((ROOT / "src").rglob("*.py"))
#: A repository path in backticks: `tests/…`, `benchmarks/…`, `scripts/…`, … (globs allowed).
REPO_PATH = re.compile(
    r"`((?:tests|benchmarks|scripts|fuzz|examples|integrations|docs|src/visual_rewards)/[\w./*{},-]*)`"
)


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", DOCS + SOURCES, ids=_rel)
def test_no_document_outside_the_repository_is_cited(path: Path) -> None:
    # the design notes beside the checkout are not shipped: users cannot follow "DESIGN §4.3"
    lines = [
        f"{_rel(path)}:{i}: {line.strip()}"
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bDESIGN\b", line)
    ]
    assert lines == []


def _exists(cited: str) -> bool:
    """A cited path exists; ``{a,b}`` alternatives and ``*`` globs must each match a file."""
    alternatives = re.fullmatch(r"(.*)\{([^}]*)\}(.*)", cited)
    if alternatives:
        head, options, tail = alternatives.groups()
        return all(_exists(head + option + tail) for option in options.split(","))
    if "*" in cited:
        return any(ROOT.glob(cited))
    return (ROOT / cited).exists()


@pytest.mark.parametrize("path", DOCS, ids=_rel)
def test_every_repository_path_the_docs_cite_exists(path: Path) -> None:
    cited = REPO_PATH.findall(path.read_text(encoding="utf-8"))
    missing = [c for c in cited if not _exists(c.rstrip(".,"))]
    assert missing == [], f"{_rel(path)} cites paths that do not exist: {missing}"
