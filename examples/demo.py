"""The README's main command: parse and score the bundled example completions, print a table.

Run through ``scripts/demo.sh`` (which sets up the environment), or directly with
``python examples/demo.py [path/to/completions.jsonl]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import visual_rewards as vr

HERE = Path(__file__).resolve().parent
DEFAULT_INPUT = HERE / "completions" / "parse_demo.jsonl"


def parse_table(path: Path) -> str:
    """One row per completion: format (strict and paper), boxes read, invalid items, first reason."""
    rows = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    completions = [row["completion"] for row in rows]
    strict = vr.FormatReward().score(completions).total
    paper = vr.FormatReward("visual_rft").score(completions).total
    header = f"{'id':<16} {'task':<10} {'format':>6} {'paper':>6} {'boxes':>5} {'invalid':>7}  note"
    lines = [header, "-" * len(header)]
    for row, s, p in zip(rows, strict, paper, strict=True):
        parsed = vr.parse_completion(row["completion"])
        d = vr.parse_detections(parsed.answer, coords="norm1000")
        note = "truncated; " if parsed.truncated else ""
        note += "No Objects" if d.empty else (d.errors[0] if d.errors else "")
        lines.append(
            f"{row['id']:<16} {row['task']:<10} {s:>6.0f} {p:>6.0f} {len(d):>5} {d.n_invalid:>7}  {note}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DEFAULT_INPUT
    print(
        f"visual-rewards {vr.__version__}: parsing {path.relative_to(HERE.parent) if path.is_relative_to(HERE.parent) else path}\n"
    )
    print(parse_table(path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
