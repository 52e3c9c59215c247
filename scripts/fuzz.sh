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
  # atheris' instrumentation itself grows the process by ~1-4 KB per executed input (the same
  # calls uninstrumented stay flat; docs/guarantees.md), so long runs need a higher RSS limit.
  .venv/bin/python "$target" -max_total_time="$seconds" -dict=fuzz/tokens.dict -rss_limit_mb=8192 \
    -artifact_prefix="$work/$name/" -print_final_stats=1 "$work/$name" fuzz/corpus 2>&1 \
    | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==|.*(ERROR|Error|crash))" || true
done
