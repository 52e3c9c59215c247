#!/usr/bin/env bash
# The whole test suite, from scratch: venv + install, lint, types, docs, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh dev
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff";   ruff check src tests benchmarks examples fuzz
echo "== ruff format"; ruff format --check src tests benchmarks examples fuzz
echo "== mypy";   mypy
echo "== mkdocs"; mkdocs build --strict --quiet --site-dir "$(mktemp -d)"
echo "== pytest"; python -m pytest -q "$@"
