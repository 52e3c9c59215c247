#!/usr/bin/env bash
# The main job on bundled example data: score example completions and print a table.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh dev >&2
exec .venv/bin/python examples/demo.py "$@"
