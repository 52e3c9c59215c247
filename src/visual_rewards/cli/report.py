"""``visual-rewards report``: the arguments of :mod:`visual_rewards.report`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from visual_rewards.cli.errors import UsageError
from visual_rewards.geometry.coords import COORD_SPACES

__all__ = ["ROW_FILTERS", "add_parser", "run"]

#: ``--only`` filters (the same tuple as :data:`visual_rewards.report.ROW_FILTERS`, which a
#: test checks; repeated here so that ``--help`` does not import the report library).
ROW_FILTERS = ("all", "parse_failed", "format_failed", "truncated", "not_applicable")


def add_parser(subparsers: Any) -> None:
    """Register ``visual-rewards report``."""
    p = subparsers.add_parser(
        "report",
        help="a self-contained HTML page of sampled scored completions",
        description="Draw a sample of scored completions (image, boxes, think text, reward "
        "breakdown) and reward histograms into one HTML file with no script.",
    )
    p.add_argument("input", type=Path, help="scored JSONL (from `visual-rewards score`)")
    p.add_argument("-o", "--output", type=Path, help="HTML file (default INPUT.report.html)")
    p.add_argument("--sample", type=int, default=24, help="rows shown (default 24)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--only",
        choices=ROW_FILTERS,
        default="all",
        help="sample only rows that failed to parse / failed the format / were truncated / "
        "were not applicable (histograms always use every row)",
    )
    p.add_argument(
        "--coords",
        choices=COORD_SPACES,
        default="norm1000",
        help="coordinate space of the boxes (pixel needs image_size or a readable image)",
    )
    p.add_argument("--image-field", default="image", help="row field with the image path")
    p.add_argument(
        "--image-root",
        type=Path,
        help="the only folder images are read from (default: the input file's folder)",
    )
    p.add_argument("--completion-field", default="completion")
    p.add_argument("--solution-field", default="solution")
    p.add_argument("--result-field", default="scores")
    p.add_argument(
        "--metrics",
        type=Path,
        help="an `evaluate` output (metrics JSON) shown in its own section of the page",
    )
    p.add_argument("--png-dir", type=Path, help="also write PNG histograms here (matplotlib)")
    p.set_defaults(func=run)


def _metrics(path: Path) -> dict[str, Any]:
    """The ``evaluate`` output at ``path`` (a JSON object, at most 64 MiB)."""
    from visual_rewards.io.rows import decode_row

    try:
        if path.stat().st_size > 64 << 20:
            raise UsageError(f"--metrics {path}: larger than 64 MiB")
        value = decode_row(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--metrics {path}: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"--metrics {path}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise UsageError(f"--metrics {path}: expected a JSON object (an `evaluate` output)")
    return value


def run(args: argparse.Namespace) -> int:
    """Run ``visual-rewards report``; exit code 1 when some lines could not be read."""
    from visual_rewards.io.files import atomic_writer
    from visual_rewards.report import collect, render_html, write_pngs

    if not args.input.is_file():
        raise UsageError(f"input file not found: {args.input}")
    if args.sample < 0:
        raise UsageError(f"--sample must be >= 0, got {args.sample}")
    root = args.image_root if args.image_root is not None else args.input.resolve().parent
    if not root.is_dir():
        raise UsageError(f"--image-root {root}: not a folder")
    output = args.output or args.input.with_name(args.input.stem + ".report.html")
    if not output.parent.resolve().is_dir():
        raise UsageError(f"output {output}: folder {output.parent} does not exist")
    metrics = _metrics(args.metrics) if args.metrics is not None else None
    data = collect(
        args.input,
        sample_size=args.sample,
        seed=args.seed,
        result_field=args.result_field,
        only=args.only,
    )
    notes: list[str] = []
    if args.png_dir is not None:
        try:
            written = write_pngs(data, args.png_dir)
            notes.append(f"PNG histograms written to {args.png_dir} ({len(written)} files)")
        except ImportError:
            notes.append(
                "PNG plots skipped: matplotlib is not installed "
                "(pip install 'visual-rewards[report]')"
            )
    page = render_html(
        data,
        title=f"visual-rewards report: {args.input.name}",
        result_field=args.result_field,
        completion_field=args.completion_field,
        solution_field=args.solution_field,
        image_field=args.image_field,
        root=root,
        coords=args.coords,
        notes=notes,
        metrics=metrics,
    )
    with atomic_writer(output) as f:
        f.write(page)
    print(f"wrote {output} ({data.n_rows:,} rows, {len(data.sample)} sampled)")
    for note in notes:
        print(note, file=sys.stderr)
    return 1 if data.errors else 0
