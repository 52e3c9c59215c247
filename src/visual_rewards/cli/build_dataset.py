"""``visual-rewards build-dataset``: build the paper's training and evaluation sets.

Sub-commands (``visual-rewards build-dataset <kind> --help`` lists every option):

``fewshot-detection``   k images per category from a COCO or LVIS file (paper §4.3)
``open-vocab``          N (image, base category) prompts for open-vocabulary training (§4.5)
``detection-eval``      every (image, category) pair of chosen categories (novel / rare tests)
``classification``      k images per class from an image folder or a CSV (§4.2)
``grounding``           LISA ReasonSeg queries with their target box (§4.4)
``released``            a downloaded released dataset, saved for ``DatasetDict.load_from_disk``

At least one output is required: ``--hf DIR`` (``datasets.Dataset.save_to_disk``, for TRL),
``--parquet FILE`` (veRL layout) or ``--jsonl FILE`` (image paths, no extra dependency).
Every skipped input item is printed to stderr with its id and reason; the exit code is 1
when anything was skipped (the outputs are still written), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visual_rewards.cli.errors import UsageError
from visual_rewards.geometry.coords import COORD_SPACES

if TYPE_CHECKING:
    from visual_rewards.data.records import BuildReport

__all__ = ["add_parser", "run"]

_COORDS = COORD_SPACES
#: The answer styles of :data:`visual_rewards.data.records.ANSWER_STYLES` (a test checks they
#: agree; repeated so that ``--help`` does not import the dataset builders).
_ANSWER_STYLES = ("visual_rft", "bbox_2d")


def _outputs(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("outputs (at least one)")
    g.add_argument("--hf", metavar="DIR", help="save a Hugging Face dataset here (for TRL)")
    g.add_argument("--parquet", metavar="FILE", help="write a veRL parquet file")
    g.add_argument("--jsonl", metavar="FILE", help="write JSON lines (image paths)")
    g.add_argument("--report", metavar="FILE", help="write the skipped items as JSON")
    g.add_argument(
        "--no-embed-images",
        dest="embed_images",
        action="store_false",
        help="store image paths instead of image bytes in --hf/--parquet",
    )
    g.add_argument(
        "--data-source", default=None, help="veRL data_source (default visual_rewards/<task>)"
    )
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    _protocol_args(p)


def _protocol_args(p: argparse.ArgumentParser) -> None:
    """``--protocol`` and its options (the rules live in visual_rewards.data.protocols)."""
    g = p.add_argument_group("protocol")
    g.add_argument(
        "--protocol",
        choices=("default", "visual_rft"),
        default="default",
        help="default: this library's rules; visual_rft: the released pipeline's (int() "
        "boxes, LISA first-shape rule and prompts, --hf saved as a DatasetDict with a "
        "'train' split for the authors' grpo.py)",
    )
    g.add_argument(
        "--image-prefix",
        action="store_true",
        help="visual_rft: start every prompt with '<image>\\n', as the released COCO, LVIS and "
        "classification inference scripts do (evaluation sets)",
    )


def _detection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--annotations", required=True, help="COCO or LVIS annotation JSON")
    p.add_argument("--image-root", required=True, help="folder the image file names are under")
    p.add_argument("--coords", choices=_COORDS, default="norm1000")
    p.add_argument("--style", choices=_ANSWER_STYLES, default="visual_rft")
    p.add_argument("--negatives", type=int, default=0, help="negative prompts per record")
    p.add_argument(
        "--category-text",
        choices=("as_is", "spaces"),
        default="as_is",
        help="write category names as in the file (paper) or with '_' as spaces",
    )
    p.add_argument(
        "--keep-crowd-pairs",
        action="store_true",
        help="use (image, category) pairs that have crowd boxes (crowd boxes stay excluded)",
    )


def add_parser(subparsers: Any) -> None:
    """Register ``build-dataset`` and its five kinds on ``subparsers``."""
    parser = subparsers.add_parser(
        "build-dataset",
        help="build the paper's few-shot / open-vocabulary / grounding datasets",
        description="Build the paper's training and evaluation sets in its prompt format. "
        "Every skipped input item is printed with its id and reason (exit code 1).",
    )
    kinds = parser.add_subparsers(title="kinds", dest="kind", metavar="KIND", required=True)

    p = kinds.add_parser("fewshot-detection", help="k images per category (COCO / LVIS)")
    _detection_args(p)
    p.add_argument(
        "--categories",
        required=True,
        help="preset (paper-coco-8, paper-lvis-6, ...) or comma-separated names",
    )
    p.add_argument("-k", "--shots", type=int, required=True, help="images per category")
    p.add_argument("--strict", action="store_true", help="fail if a category has < k images")
    _outputs(p)

    p = kinds.add_parser("open-vocab", help="N (image, base category) prompts")
    _detection_args(p)
    p.add_argument("--categories", default="paper-coco-base-65", help="base categories")
    p.add_argument("--num-samples", type=int, default=6000, help="prompts to draw (paper: 6000)")
    _outputs(p)

    p = kinds.add_parser("detection-eval", help="every pair of chosen categories")
    _detection_args(p)
    p.add_argument(
        "--categories",
        required=True,
        help="preset (paper-coco-novel-15, paper-lvis-13, ...) or comma-separated names",
    )
    p.add_argument("--max-images", type=int, default=None)
    p.add_argument(
        "--exist-map",
        help="visual_rft: ask exactly the (image, category) pairs of this released "
        "exist_map_*.json (the paper's evaluation), not those present in the annotations",
    )
    _outputs(p)

    p = kinds.add_parser("classification", help="k images per class")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--image-folder", help="folder with one sub-folder per class")
    src.add_argument("--csv", help="CSV of path,label rows")
    p.add_argument("--image-root", help="folder relative CSV paths are under")
    p.add_argument("--class-names", help="class names, one per line, in label-index order")
    p.add_argument("--label-offset", type=int, default=0, help="1 if numeric labels are 1-based")
    p.add_argument("-k", "--shots", type=int, required=True, help="images per class")
    p.add_argument(
        "--dataset",
        choices=("flowers", "pets", "aircraft", "cars"),
        help="the prompt's noun as in the paper's four datasets",
    )
    p.add_argument("--noun", help="the prompt's noun (e.g. bird)")
    p.add_argument("--attribute", help="what to identify (e.g. species, model)")
    _outputs(p)

    p = kinds.add_parser("grounding", help="LISA ReasonSeg queries")
    p.add_argument("--reasonseg", required=True, help="folder of ReasonSeg image + json pairs")
    p.add_argument("--coords", choices=_COORDS, default="norm1000")
    p.add_argument("--texts", choices=("all", "first"), default="all")
    p.add_argument("--num-samples", type=int, default=None)
    p.add_argument(
        "--role",
        choices=("train", "eval"),
        default="train",
        help="visual_rft: training prompt, every instruction (train) or evaluation prompt, "
        "first instruction per image (eval)",
    )
    _outputs(p)

    p = kinds.add_parser(
        "released",
        help="save a downloaded released dataset where the authors' grpo.py reads it",
        description="Read a released Visual-RFT dataset as downloaded from the Hub (a folder "
        "of data/train-*.parquet) or a save_to_disk folder, and save it as a DatasetDict with "
        "a 'train' split (DatasetDict.load_from_disk). The authors' few-shot picks exist only "
        "in these datasets: they published no seeds or image ids.",
    )
    p.add_argument("--source", required=True, help="the downloaded dataset's folder")
    p.add_argument("--hf", required=True, metavar="DIR", help="write the DatasetDict here")

    parser.set_defaults(func=run)


def _build_visual_rft(args: argparse.Namespace) -> BuildReport:
    """``--protocol visual_rft``: the released pipeline's rules (visual_rewards.data.protocols)."""
    from visual_rewards import data
    from visual_rewards.data import protocols

    if getattr(args, "coords", "norm1000") != "norm1000" or getattr(args, "style", None) not in (
        None,
        "visual_rft",
    ):
        raise ValueError("--protocol visual_rft writes norm1000 boxes in the visual_rft style")
    if args.kind == "grounding":
        if args.texts != "all" or args.num_samples is not None:
            raise ValueError("--protocol visual_rft: use --role instead of --texts/--num-samples")
        files = data.find_reasonseg_files(args.reasonseg)
        report = protocols.build_grounding_visual_rft(files, role=args.role)
    elif args.kind == "detection-eval" and args.exist_map:
        from visual_rewards.data.released import load_exist_map

        source = data.load_detection_source(
            args.annotations, args.image_root, skip_crowd_pairs=not args.keep_crowd_pairs
        )
        cats = [source.category_id(n) for n in data.resolve_categories(args.categories)]
        report = protocols.build_detection_eval_exist_map(
            source, cats, load_exist_map(args.exist_map)
        )
    else:
        report = _build(args)
    return protocols.apply_visual_rft(report, image_prefix=args.image_prefix)


def _build(args: argparse.Namespace) -> BuildReport:
    from visual_rewards import data

    if args.kind in ("fewshot-detection", "open-vocab", "detection-eval"):
        source = data.load_detection_source(
            args.annotations, args.image_root, skip_crowd_pairs=not args.keep_crowd_pairs
        )
        options = data.DetectionOptions(
            coords=args.coords,
            style=args.style,
            negatives=args.negatives,
            category_text=args.category_text,
        )
        if args.kind == "fewshot-detection":
            return data.build_fewshot_detection(
                source, args.categories, args.shots, seed=args.seed, options=options,
                strict=args.strict,
            )  # fmt: skip
        if args.kind == "open-vocab":
            return data.build_open_vocab_train(
                source, args.categories, args.num_samples, seed=args.seed, options=options
            )
        return data.build_detection_eval(
            source, args.categories, options=options, seed=args.seed, max_images=args.max_images
        )
    if args.kind == "classification":
        if args.image_folder:
            items = data.scan_image_folder(args.image_folder)
        else:
            items = data.read_label_csv(args.csv, args.image_root)
        names = data.load_class_names(args.class_names) if args.class_names else None
        return data.build_fewshot_classification(
            items, args.shots, class_names=names, seed=args.seed, dataset=args.dataset,
            noun=args.noun, attribute=args.attribute, label_offset=args.label_offset,
        )  # fmt: skip
    files = data.find_reasonseg_files(args.reasonseg)
    return data.build_grounding(
        files, coords=args.coords, texts=args.texts, num_samples=args.num_samples, seed=args.seed
    )


def _image_root(args: argparse.Namespace) -> str:
    """The folder every image of this build must lie in."""
    if args.kind == "classification":
        if args.image_folder:
            return str(args.image_folder)
        return str(args.image_root or Path(args.csv).parent)
    if args.kind == "grounding":
        return str(args.reasonseg)
    return str(args.image_root)


def _run_released(args: argparse.Namespace) -> int:
    """``build-dataset released``: visual_rewards.data.released.save_released_dataset."""
    from visual_rewards.data.released import save_released_dataset

    try:
        n = save_released_dataset(args.source, args.hf)
    except (OSError, ValueError, ImportError) as exc:
        raise UsageError(str(exc)) from None
    print(f"build-dataset released: {n} training rows written to {args.hf}", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    """Build, validate and write; return the exit code (1 when input items were skipped)."""
    from visual_rewards.data import export

    if args.kind == "released":
        return _run_released(args)
    if not (args.hf or args.parquet or args.jsonl):
        raise UsageError("give at least one output: --hf DIR, --parquet FILE or --jsonl FILE")
    if args.protocol != "visual_rft" and (
        args.image_prefix
        or getattr(args, "exist_map", None)
        or getattr(args, "role", "train") != "train"
    ):
        raise UsageError("--image-prefix, --exist-map and --role belong to --protocol visual_rft")
    build = _build_visual_rft if args.protocol == "visual_rft" else _build
    try:
        report = export.validate_records(build(args))
    except OSError as exc:
        raise UsageError(f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc)) from None
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    try:  # decode fully when the bytes are embedded; check the header otherwise
        embed = bool(args.hf or args.parquet) and args.embed_images
        export.check_images(report, _image_root(args), decode=embed)
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    if not report.records:
        for item in report.skipped:
            print(f"skipped {item}", file=sys.stderr)
        raise UsageError("no records were built; nothing written")
    try:
        for out in (args.jsonl, args.parquet, args.report):
            if out:
                Path(out).parent.mkdir(parents=True, exist_ok=True)
        if args.jsonl:
            export.save_jsonl(report.records, args.jsonl)
        if args.hf and args.protocol == "visual_rft":
            from visual_rewards.data.protocols import save_visual_rft_dataset

            save_visual_rft_dataset(report.records, args.hf, embed_images=args.embed_images)
        elif args.hf:
            export.save_hf_dataset(report.records, args.hf, embed_images=args.embed_images)
        if args.parquet:
            from visual_rewards.verl.dataset import write_verl_parquet

            write_verl_parquet(
                report.records, args.parquet, data_source=args.data_source,
                embed_images=args.embed_images,
            )  # fmt: skip
    except (OSError, ImportError) as exc:
        raise UsageError(str(exc)) from None
    if args.report:
        payload = {
            "records": len(report.records),
            "skipped": [{"item": s.item, "reason": s.reason} for s in report.skipped],
            "shortfalls": {k: list(v) for k, v in report.shortfalls.items()},
            "notes": report.notes,
        }
        Path(args.report).write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    for item in report.skipped:
        print(f"skipped {item}", file=sys.stderr)
    print(f"build-dataset {args.kind}: {report.summary()}", file=sys.stderr)
    return 1 if report.skipped else 0
