#!/usr/bin/env bash
# Mutation testing of the core, one module at a time, each against its own tests.
#
#   scripts/mutation.sh                      # every core module (about 25 min on 2 cores)
#   scripts/mutation.sh coords boxes         # some of them
#   scripts/mutation.sh --list               # the modules and the tests each one runs
#   scripts/mutation.sh --report [module...] # the table again, from the last runs
#   scripts/mutation.sh --survivors [module...]  # the last runs' survivors again, current tests
#   MUTATION_JOBS=4 scripts/mutation.sh      # mutants run in parallel (default: 2)
#
# Needs mutmut (`pip install -e '.[mutation]'`). Each module is mutated in a scratch copy of the
# tree, build/mutation/<module>/, whose pyproject.toml narrows [tool.mutmut] to that module and
# its tests; the work tree itself is never modified. Prints, per module, killed/total/score,
# where mutants listed in mutation/equivalent.md count as killed, and the surviving mutants
# (`cd build/mutation/<module> && mutmut show <name>` prints one's diff). Exits 1 when a module
# scores under the target (90%), 2 on a usage error. Not part of scripts/test.sh: it is slow.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
work="${MUTATION_DIR:-$root/build/mutation}"
jobs="${MUTATION_JOBS:-2}"
target="${MUTATION_TARGET:-90}"

# module name -> "source file|its own tests (space-separated)". One place for the scope.
declare -A MODULES=(
  [coords]="geometry/coords.py|tests/geometry/test_coords.py tests/geometry/test_coords_mutants.py"
  [boxes]="geometry/boxes.py|tests/geometry/test_boxes.py tests/geometry/test_boxes_mutants.py"
  [matching]="geometry/matching.py|tests/geometry/test_matching.py tests/geometry/test_matching_mutants.py"
  [labels]="geometry/labels.py|tests/geometry/test_labels_mutants.py tests/rewards/test_classification.py"
  [completion]="parsing/completion.py|tests/parsing/test_completion.py tests/parsing/test_completion_mutants.py"
  [numbers]="parsing/numbers.py|tests/parsing/test_numbers.py tests/parsing/test_numbers_mutants.py"
  [answers]="parsing/answers.py|tests/parsing/test_answers.py tests/parsing/test_answers_mutants.py tests/parsing/test_batch.py tests/parsing/test_batch_mutants.py tests/parsing/test_near_miss.py"
  [batch]="parsing/batch.py|tests/parsing/test_batch.py tests/parsing/test_batch_mutants.py"
  [detection]="rewards/detection.py|tests/rewards/test_detection.py tests/rewards/test_detection_mutants.py"
  [classification]="rewards/classification.py|tests/rewards/test_classification.py tests/rewards/test_classification_mutants.py"
)
ORDER=(coords boxes matching labels completion numbers answers batch detection classification)

report_only=0
retest=0
if [[ "${1:-}" == "--report" ]]; then
  report_only=1
  shift
elif [[ "${1:-}" == "--survivors" ]]; then
  retest=1
  shift
fi
if [[ "${1:-}" == "--list" ]]; then
  for m in "${ORDER[@]}"; do
    printf '%-15s src/visual_rewards/%-26s %s\n' "$m" "${MODULES[$m]%%|*}" "${MODULES[$m]#*|}"
  done
  exit 0
fi
selected=("$@")
[[ ${#selected[@]} -eq 0 ]] && selected=("${ORDER[@]}")
for m in "${selected[@]}"; do
  if [[ -z "${MODULES[$m]:-}" ]]; then
    echo "mutation.sh: unknown module '$m'; known: ${ORDER[*]}" >&2
    exit 2
  fi
done
[[ $report_only -eq 1 ]] || command -v mutmut >/dev/null || { echo "mutation.sh: mutmut not found (pip install -e '.[mutation]')" >&2; exit 2; }

# the tree as the tests see it (no PYTHONPATH pointing at another checkout), plus the pytest
# plugin of the runs (mutation/pytest_mutation.py: hypothesis without shrinking, fixed seed)
export PYTHONPATH="$root/mutation"
start_all=$(date +%s)
for m in "${selected[@]}"; do
  [[ $report_only -eq 1 ]] && break
  if [[ $retest -eq 1 ]]; then
    # run only the last run's survivors again, with the tests as they are now (the module's
    # source must be unchanged: mutant names number the mutations of the source as it was)
    dir="$work/$m"
    src="src/visual_rewards/${MODULES[$m]%%|*}"
    cmp -s "$src" "$dir/$src" || { echo "mutation.sh: $src changed since the last run of $m; run it again" >&2; continue; }
    rm -rf "$dir/tests" && cp -r tests "$dir/"
    read -r -a tests <<<"${MODULES[$m]#*|}"
    # a new test file changes mutmut's test selection, which resets every verdict: run again
    grep -qF "pytest_add_cli_args_test_selection = $(python -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${tests[@]}")" "$dir/pyproject.toml" \
      || { echo "mutation.sh: the test files of $m changed since its last run; run it again" >&2; continue; }
    mapfile -t names < <(grep -v -E ": (killed|timeout|caught by type check|segfault)$" "$dir/results.txt" | sed 's/^ *//; s/: [a-z ]*$//')
    echo "== $m: ${#names[@]} survivors again"
    if [[ ${#names[@]} -gt 0 ]]; then
      (cd "$dir" && mutmut run --max-children "$jobs" "${names[@]}" >"$dir/retest.log" 2>&1) || echo "mutation.sh: mutmut failed for $m; see $dir/retest.log" >&2
      (cd "$dir" && mutmut results --all true >"$dir/results.txt")
    fi
    continue
  fi
  src="src/visual_rewards/${MODULES[$m]%%|*}"
  read -r -a tests <<<"${MODULES[$m]#*|}"
  dir="$work/$m"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp -r src tests benchmarks docs pyproject.toml "$dir/"
  find "$dir" -name __pycache__ -prune -exec rm -rf {} +
  python - "$dir/pyproject.toml" "$src" "${tests[@]}" <<'EOF'
import json, re, sys
path, src, tests = sys.argv[1], sys.argv[2], sys.argv[3:]
text = open(path, encoding="utf-8").read()
for key, value in (("only_mutate", [src]), ("pytest_add_cli_args_test_selection", tests)):
    text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {json.dumps(value)}", text)
    assert n == 1, f"[tool.mutmut] {key} not found once in pyproject.toml"
open(path, "w", encoding="utf-8").write(text)
EOF
  echo "== $m: $src against ${tests[*]}"
  t0=$(date +%s)
  if ! (cd "$dir" && mutmut run --max-children "$jobs" >"$dir/run.log" 2>&1); then
    # e.g. the module's tests fail without any mutant: nothing to score
    echo "mutation.sh: mutmut failed for $m; see $dir/run.log" >&2
    tail -c 2000 "$dir/run.log" >&2
    rm -f "$dir/results.txt"
    continue
  fi
  (cd "$dir" && mutmut results --all true >"$dir/results.txt")
  echo "$(( $(date +%s) - t0 ))" >"$dir/seconds"
  echo "   $(cat "$dir/seconds") s"
done

python - "$work" "$target" "$(( $(date +%s) - start_all ))" "${selected[@]}" <<'EOF'
import pathlib, re, sys
work, target, seconds, modules = pathlib.Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4:]
# mutation/equivalent.md: one "- `mutant name` -- reason" bullet per equivalent mutant
equivalent = set(re.findall(r"(?m)^- `([\w.]+__mutmut_\d+)`", pathlib.Path("mutation/equivalent.md").read_text()))
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
rows, failing, stale = [], [], []
for m in modules:
    if not (work / m / "results.txt").exists():
        rows.append((m, 0, 0, 0, 0.0, [("(mutmut failed: see run.log)", "")], "?"))
        failing.append(m)
        continue
    statuses = dict(
        line.strip().rsplit(": ", 1) for line in (work / m / "results.txt").read_text().splitlines() if ": " in line
    )
    killed = sum(s in KILLED for s in statuses.values())
    equiv = [k for k, s in statuses.items() if s not in KILLED and k in equivalent]
    stale += [k for k, s in statuses.items() if s in KILLED and k in equivalent]
    survivors = sorted((k, s) for k, s in statuses.items() if s not in KILLED and k not in equivalent)
    total = len(statuses)
    score = 100.0 * (killed + len(equiv)) / total if total else 100.0
    took = work / m / "seconds"
    rows.append((m, killed, len(equiv), total, score, survivors, took.read_text().strip() if took.exists() else "?"))
    if score < target:
        failing.append(m)
print(f"\n{'module':<15} {'killed':>7} {'equiv':>6} {'total':>6} {'score':>7} {'time (s)':>9}")
for m, killed, equiv, total, score, _, took in rows:
    print(f"{m:<15} {killed:>7} {equiv:>6} {total:>6} {score:>6.1f}% {took:>9}")
k, e, n = (sum(r[i] for r in rows) for i in (1, 2, 3))
print(f"{'all':<15} {k:>7} {e:>6} {n:>6} {100.0 * (k + e) / max(n, 1):>6.1f}%")
print(f"(score = (killed + listed equivalent) / total; {seconds} s)")
for m, *_, survivors, _took in rows:
    for name, status in survivors:
        print(f"  {m}: {name}: {status}")
for name in stale:
    print(f"  note: {name} is listed as equivalent but was killed; drop it from mutation/equivalent.md")
if failing:
    print(f"under {target:.0f}%: {', '.join(failing)}")
    sys.exit(1)
EOF
