#!/usr/bin/env bash
# The whole test suite, from scratch: venv + install, lint, types, docs, tests; then the tests
# once more from a fresh copy of the repository with nothing beside it (no ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
# verl: the veRL integration tests run against veRL 0.9.1 itself (CPU, no vllm/sglang).
# trl-test: the TRL integration tests train tiny models with trl 1.16 on CPU (transformers 5.10).
scripts/setup-venv.sh dev,verl,trl-test
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff";   ruff check src tests benchmarks examples fuzz integrations/trl docs/_ext conftest.py
echo "== ruff format"; ruff format --check src tests benchmarks examples fuzz integrations/trl docs/_ext conftest.py
echo "== mypy";   mypy
echo "== mkdocs"; mkdocs build --strict --quiet --site-dir "$(mktemp -d)"
echo "== pytest"; python -m pytest -q "$@"
echo "== pytest, fresh clone (nothing beside it: tests that need ../shared skip)"
fresh="$(scripts/fresh-copy.sh)"
trap 'rm -rf "$(dirname "$fresh")"' EXIT
(cd "$fresh" && PYTHONPATH="$fresh/src" python -m pytest -q -p no:cacheprovider "$@")
