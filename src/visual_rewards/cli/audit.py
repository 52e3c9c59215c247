"""``visual-rewards audit``: audit a reward configuration, or diagnose a scored training log.

Everything heavy is imported inside :func:`run`, so ``--help`` stays light.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from visual_rewards.cli.errors import UsageError

__all__ = ["add_parser", "run"]

_MAX_ROWS = 10_000


def _option(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value  # a bare word is a string


def add_parser(subparsers: Any) -> None:
    """Register ``visual-rewards audit``."""
    p = subparsers.add_parser(
        "audit",
        help="search a reward for hacks, measure reward-metric alignment, diagnose a scored log",
        description="Search a reward configuration for answers it pays at least as well as "
        "better ones (by the task's true metric), and measure how well it ranks answers. With "
        "--diagnose, report GRPO learning-signal diagnostics of a `score` output instead. "
        "Exit code 1 when a hack is found.",
    )
    p.add_argument("--task", required=True, help="task (detection, grounding, classification, ...)")
    p.add_argument("--preset", default="default", help="reward preset (default, visual_rft)")
    p.add_argument(
        "--option",
        action="append",
        type=_option,
        default=[],
        metavar="KEY=VALUE",
        help="reward option (JSON value), repeatable",
    )
    p.add_argument(
        "--ground-truths",
        type=Path,
        metavar="JSONL",
        help="ground truths: JSONL rows with a --solution-field (default: generated)",
    )
    p.add_argument("--solution-field", default="solution")
    p.add_argument("--n", type=int, default=8, help="ground truths to use (default 8)")
    p.add_argument("--budget", type=int, default=2000, help="answers the search may score")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--alignment",
        type=int,
        default=64,
        metavar="N",
        help="perturbations per ground truth for the alignment table (0: skip)",
    )
    p.add_argument(
        "--diagnose",
        type=Path,
        metavar="SCORED_JSONL",
        help="diagnose this `visual-rewards score` output instead of auditing",
    )
    p.add_argument("--group-field", default="prompt", help="row field grouping completions")
    p.add_argument("--result-field", default="scores")
    p.add_argument("--json", type=Path, help="also write the results as JSON")
    p.add_argument("--svg", type=Path, help="also write the alignment plot (SVG)")
    p.set_defaults(func=run)


def _read_jsonl(path: Path, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` rows of a JSONL file; a bad line is a usage error naming it."""
    from visual_rewards.io.rows import iter_rows

    if not path.is_file():
        raise UsageError(f"input file not found: {path}")
    errors: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for _, row in iter_rows(path, errors):
        if errors:
            break
        rows.append(row)
        if len(rows) >= limit:
            break
    if errors:
        raise UsageError(f"{path}: line {errors[0]['line']}: {errors[0]['error']}")
    return rows


def run(args: argparse.Namespace) -> int:
    """Run ``visual-rewards audit``; 0 when clean, 1 when a hack is found."""
    from visual_rewards.audit import alignment, audit, grpo_diagnostics
    from visual_rewards.audit.report import alignment_markdown, alignment_svg
    from visual_rewards.audit.samples import generated_ground_truths
    from visual_rewards.rewards import get_reward

    if args.budget < 1 or args.n < 1:
        raise UsageError("--budget and --n must be >= 1")
    out: dict[str, Any] = {}
    if args.diagnose is not None:
        rows = _read_jsonl(args.diagnose, 10 * _MAX_ROWS)
        opts = dict(args.option)
        d = grpo_diagnostics(
            rows,
            task=args.task,
            group_field=args.group_field,
            result_field=args.result_field,
            coords=opts.get("coords", "norm1000"),
        )
        print(d.to_markdown(), end="")
        out["diagnostics"] = d.to_dict()
        code = 0
    else:
        try:
            reward = get_reward(args.task, args.preset, **dict(args.option))
        except (ValueError, TypeError) as exc:
            raise UsageError(str(exc)) from None
        if args.ground_truths is not None:
            rows = _read_jsonl(args.ground_truths, args.n)
            missing = [i + 1 for i, r in enumerate(rows) if args.solution_field not in r]
            if missing:
                raise UsageError(
                    f"{args.ground_truths}: line {missing[0]}: no field {args.solution_field!r}"
                )
            gts = [r[args.solution_field] for r in rows]
        else:
            gts = generated_ground_truths(args.task, args.n, args.seed)
        try:
            report = audit(reward, gts, budget=args.budget, seed=args.seed)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        print(report.to_markdown(), end="")
        out["audit"] = report.to_dict()
        code = 0 if report.clean else 1
        if args.alignment > 0:
            table = alignment(reward, gts, n=args.alignment, seed=args.seed)
            print("\n" + alignment_markdown([table]), end="")
            out["alignment"] = table.to_dict()
            if args.svg is not None:
                args.svg.write_text(alignment_svg([table]), encoding="utf-8")
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    sys.stdout.flush()
    return code
