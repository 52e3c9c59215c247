#!/usr/bin/env bash
# Copy the repository's files (tracked, and untracked ones git does not ignore: what a clone
# plus your edits holds) into a new temporary folder with nothing beside it, and print the
# copy's path. Usage: scripts/fresh-copy.sh [PARENT]  (default: a new folder from mktemp -d)
set -euo pipefail
cd "$(dirname "$0")/.."
parent="${1:-$(mktemp -d)}"
if [ -e "$parent/shared" ]; then
  echo "fresh-copy: $parent/shared exists; the copy must have nothing beside it" >&2
  exit 2
fi
mkdir -p "$parent/repo"
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf - | tar -xf - -C "$parent/repo"
echo "$parent/repo"
