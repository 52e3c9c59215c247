"""The README's main command: the whole offline workflow on bundled example data.

1. parse every kind of answer payload and score its format (a table);
2. ``visual-rewards score``: detection rewards for each model output, with a summary table;
3. ``visual-rewards evaluate``: COCO mAP of the same outputs through pycocotools;
4. ``visual-rewards report``: an HTML page of completions, boxes and reward breakdowns.

Run through ``scripts/demo.sh`` (which sets up the environment), or directly with
``python examples/demo.py [OUTPUT_DIR]`` (default: ``demo-output/``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import visual_rewards as vr
from visual_rewards.cli import main as cli

HERE = Path(__file__).resolve().parent
DEFAULT_INPUT = HERE / "completions" / "parse_demo.jsonl"
DATA = HERE / "data"


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
    out = Path(args[0]) if args else HERE.parent / "demo-output"
    out.mkdir(parents=True, exist_ok=True)

    print(f"== 1. visual-rewards {vr.__version__}: parsing {DEFAULT_INPUT.name}\n")
    print(parse_table(DEFAULT_INPUT))

    steps = [
        (
            "2. score",
            ["score", str(DATA / "detection_outputs.jsonl"), "-o", str(out / "scored.jsonl")],
        ),
        (
            "3. evaluate",
            [
                "evaluate",
                "detection",
                "--annotations",
                str(DATA / "coco_annotations.json"),
                "--predictions",
                str(DATA / "detection_outputs.jsonl"),
                "-o",
                str(out / "metrics.json"),
            ],
        ),
        (
            "4. report",
            [
                "report",
                str(out / "scored.jsonl"),
                "-o",
                str(out / "report.html"),
                "--image-root",
                str(DATA),
            ],
        ),
    ]
    for title, command in steps:
        print(f"\n== {title}: visual-rewards {' '.join(command[:2])} …\n", flush=True)
        code = cli(command)
        if code != 0:
            print(f"{title} failed with exit code {code}", file=sys.stderr)
            return code
    print(f"\nOpen {out / 'report.html'} in a browser to look at the sampled completions.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
