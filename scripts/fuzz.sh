#!/usr/bin/env bash
# Coverage-guided fuzzing of every target in fuzz/ for a time budget (seconds per target).
# Usage: scripts/fuzz.sh [SECONDS=60]. Not part of the test run (a short smoke run of each is).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh dev
seconds="${1:-60}"
work="$(mktemp -d)"
for target in fuzz/fuzz_*.py; do
  name="$(basename "$target" .py)"
  mkdir -p "$work/$name"
  echo "== $name for ${seconds}s (corpus in $work/$name)"
  .venv/bin/python "$target" -max_total_time="$seconds" -dict=fuzz/tokens.dict \
    -artifact_prefix="$work/$name/" -print_final_stats=1 "$work/$name" fuzz/corpus 2>&1 \
    | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==|.*(ERROR|Error|crash))" || true
done
