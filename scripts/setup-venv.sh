#!/usr/bin/env bash
# Create (or reuse) .venv and install visual-rewards with the extras given as arguments.
# Re-installs only when pyproject.toml or the extras change. Usage: scripts/setup-venv.sh dev
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=".venv/.visual-rewards-$(echo "$extras" | tr ',' '-')"
want="$(cat pyproject.toml scripts/setup-venv.sh | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  case ",${extras}," in
    *,trl,*|*,trl-test,*|*,verl,*)
      # torch first, pinned: 2.13.0 is a local CPU wheel here; a bare `torch` requirement
      # (pulled in by trl, and by veRL's dependencies) would fetch a multi-GB CUDA build.
      .venv/bin/python -m pip install --quiet "torch==2.13.0" ;;
  esac
  .venv/bin/python -m pip install --quiet -e ".[${extras}]"
  echo "$want" > "$stamp"
fi
