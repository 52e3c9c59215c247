"""``visual-rewards evaluate detection | classification | grounding``.

Prints the metrics as Markdown tables and writes them as JSON: ``-o/--output``, by default
``<input stem>.metrics.json`` in the current directory (never beside the input, whose
folder may be shared or read-only). Exit code 1 when some input lines could not be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from visual_rewards.cli.errors import UsageError
from visual_rewards.geometry.coords import COORD_SPACES

__all__ = ["add_parser", "run_classification", "run_detection", "run_grounding"]


def _common(p: argparse.ArgumentParser, predictions_required: bool = True) -> None:
    p.add_argument(
        "--predictions",
        type=Path,
        required=predictions_required,
        help="JSONL of model outputs (one completion per row)",
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="metrics JSON (default: ./INPUT_STEM.metrics.json in the current directory)",
    )
    p.add_argument("--completion-field", default="completion")


def _protocol(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--protocol",
        choices=("default", "visual_rft"),
        default="default",
        help="default: this library's rules; visual_rft: the released evaluation of the paper "
        "(its output conversion, exist maps, per-class AP, accuracy and LISA IoU rules; "
        "--categories also takes the presets paper-coco-8, paper-coco-novel-15, paper-lvis-6, "
        "paper-lvis-13)",
    )


def add_parser(subparsers: Any) -> None:
    """Register ``visual-rewards evaluate`` and its three tasks."""
    p = subparsers.add_parser(
        "evaluate",
        help="the paper's metrics (mAP, accuracy, IoU) from model outputs",
        description="Compute detection mAP (COCO via pycocotools, LVIS federated), "
        "classification accuracy or grounding mIoU/gIoU/cIoU from model outputs.",
    )
    tasks = p.add_subparsers(title="tasks", dest="task", metavar="TASK", required=True)

    d = tasks.add_parser("detection", help="COCO / LVIS mAP, AP50 and per-category AP")
    _common(d, predictions_required=False)
    d.add_argument("--annotations", type=Path, required=True, help="COCO or LVIS annotation JSON")
    d.add_argument(
        "--detections",
        type=Path,
        help="COCO results JSON instead of --predictions (bbox in pixels)",
    )
    d.add_argument("--kind", choices=["auto", "coco", "lvis"], default="auto")
    d.add_argument("--iou-type", choices=["bbox", "segm"], default="bbox")
    d.add_argument(
        "--coords",
        choices=COORD_SPACES,
        default="norm1000",
        help="coordinate space of the model's boxes",
    )
    d.add_argument("--image-field", default="image_id")
    d.add_argument("--category-field", default="category", help="category id or name per row")
    d.add_argument("--save-detections", type=Path, help="write the COCO results made from outputs")
    d.add_argument(
        "--categories",
        help="evaluate only these categories: comma-separated names or ids (e.g. novel classes)",
    )
    _protocol(d)
    d.add_argument(
        "--exist-map",
        type=Path,
        help="visual_rft protocol: the released exist_map_*.json; only the (image, category) "
        "pairs it lists are evaluated, as in the paper",
    )
    d.add_argument(
        "--unknown-images",
        choices=["count", "error"],
        default="count",
        help="detections (or output rows) on images the annotations do not have: leave them "
        "out and report the count (default), or stop with exit code 2",
    )
    d.add_argument(
        "--only-predicted-images",
        action="store_true",
        help="evaluate only the images that have at least one output row / detection",
    )
    d.set_defaults(func=run_detection)

    c = tasks.add_parser("classification", help="accuracy overall, per dataset and per class")
    _common(c)
    c.add_argument("--solution-field", default="solution")
    c.add_argument("--dataset-field", default="dataset")
    c.add_argument("--preset", default="default")
    c.add_argument("--labels", type=Path, help="class-names file (one per line), closed label set")
    _protocol(c)
    c.set_defaults(func=run_classification)

    g = tasks.add_parser("grounding", help="box (and mask) mIoU, gIoU, cIoU")
    _common(g)
    g.add_argument("--solution-field", default="solution")
    g.add_argument("--coords", choices=COORD_SPACES, default="norm1000")
    _protocol(g)
    g.set_defaults(func=run_grounding)


def _output(args: argparse.Namespace, source: Path) -> Path:
    """``--output``, else ``<source stem>.metrics.json`` in the current directory."""
    out: Path = args.output or Path(source.stem + ".metrics.json")
    if not out.parent.resolve().is_dir():
        raise UsageError(f"output {out}: folder {out.parent} does not exist")
    return out


def _finish(result: dict[str, Any], output: Path) -> int:
    from visual_rewards.evaluation.render import render_metrics
    from visual_rewards.io.files import atomic_writer

    with atomic_writer(output) as f:  # on disk first, whatever happens to stdout
        json.dump(result, f, indent=2, allow_nan=False)
        f.write("\n")
    print(render_metrics(result))
    if "visual_rft" in result:
        from visual_rewards.evaluation.protocols import render_visual_rft

        print("\n" + render_visual_rft(result["visual_rft"]))
    print(f"\nwrote {output}")
    return 1 if result.get("input_errors") else 0


def _rows(
    path: Path, errors: list[dict[str, Any]], lines: list[int] | None = None
) -> list[dict[str, Any]]:
    """The rows of a JSONL file (bad lines go to ``errors``; line numbers to ``lines``)."""
    from visual_rewards.io.rows import iter_rows

    if not path.is_file():
        raise UsageError(f"predictions file not found: {path}")
    out: list[dict[str, Any]] = []
    try:
        for line_no, row in iter_rows(path, errors):
            out.append(row)
            if lines is not None:
                lines.append(line_no)
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    return out


def _load_json(path: Path, what: str) -> Any:
    from visual_rewards.evaluation.coco import load_json

    if not path.is_file():
        raise UsageError(f"{what} file not found: {path}")
    try:
        return load_json(path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, RecursionError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise UsageError(f"{path}: not valid JSON ({reason})") from None


def _lvis(gt: Any, kind: str) -> bool:
    """Whether the annotations are evaluated as LVIS (``--kind``, or what the file looks like)."""
    from visual_rewards.evaluation.lvis import is_lvis

    if kind != "auto":
        return kind == "lvis"
    try:
        return is_lvis(gt)
    except (AttributeError, TypeError, KeyError, IndexError):
        return False  # malformed: check_ground_truth says why


def _detections(args: argparse.Namespace, gt: Any) -> tuple[list[Any], dict[str, Any], set[Any]]:
    """The detections to evaluate (from --predictions or --detections), what was left out, and
    the known images the input names (an output row names its image even without a box)."""
    from visual_rewards.evaluation.detection import detections_from_outputs
    from visual_rewards.evaluation.inputs import check_detections
    from visual_rewards.io.files import atomic_writer
    from visual_rewards.io.rows import row_value

    info: dict[str, Any] = {}
    known = {img["id"] for img in gt["images"]}
    named: set[Any] = set()
    if args.predictions is not None:
        errors: list[dict[str, Any]] = []
        rows = _rows(args.predictions, errors)
        info["input_errors"] = errors
        named = {row_value(r, args.image_field) for r in rows}
        dets, conv = detections_from_outputs(
            rows,
            gt,
            coords=args.coords,
            completion_field=args.completion_field,
            image_field=args.image_field,
            category_field=args.category_field,
        )
        info["conversion"] = {k: v for k, v in vars(conv).items() if k != "notes"}
        if args.unknown_images == "error" and conv.unknown_image:
            raise UsageError(
                f"{args.predictions}: {conv.unknown_image} row(s) name an image that is not in "
                f"{args.annotations} (field {args.image_field!r})"
            )
        if args.save_detections is not None:
            with atomic_writer(args.save_detections) as f:
                json.dump(dets, f)
        source = str(args.predictions)
    else:
        dets = _load_json(args.detections, "detections")
        source = str(args.detections)
    kept, check = check_detections(dets, source, gt, unknown=args.unknown_images)
    info["detections"] = check.to_dict()
    named |= {d["image_id"] for d in kept}
    return kept, info, {i for i in named if i in known}


def _warn_left_out(info: dict[str, Any]) -> None:
    check = info["detections"]
    conv = info.get("conversion", {})
    unknown = check["unknown_image"] + conv.get("unknown_image", 0)
    if unknown:
        print(
            f"warning: {unknown:,} detection(s)/row(s) on unknown images left out", file=sys.stderr
        )
    for reason, n in check["rejected"].items():
        print(f"warning: {n:,} detection(s) rejected: {reason}", file=sys.stderr)
    if check["unknown_category"]:
        n = check["unknown_category"]
        print(f"warning: {n:,} detection(s) on unknown categories left out", file=sys.stderr)
    if check["given"] and not check["kept"]:
        print("warning: no detection is left to evaluate", file=sys.stderr)


def run_detection(args: argparse.Namespace) -> int:
    """``evaluate detection``."""
    from visual_rewards.evaluation.detection import category_ids, evaluate_detection
    from visual_rewards.evaluation.inputs import check_ground_truth

    if args.protocol == "visual_rft":
        return _run_detection_visual_rft(args)
    if args.exist_map is not None:
        raise UsageError("--exist-map belongs to --protocol visual_rft")
    if (args.predictions is None) == (args.detections is None):
        raise UsageError("give exactly one of --predictions (model outputs) or --detections")
    source = args.predictions if args.predictions is not None else args.detections
    output = _output(args, source)
    gt = _load_json(args.annotations, "annotation")
    try:
        lvis = _lvis(gt, args.kind)
        check_ground_truth(gt, str(args.annotations), lvis=lvis)
        dets, info, named = _detections(args, gt)
        cat_ids = category_ids(args.categories, gt) if args.categories else None
        img_ids = None
        if args.only_predicted_images:
            img_ids = sorted(named, key=str)
            if not img_ids:
                raise UsageError("--only-predicted-images: the input names no known image")
        metrics = evaluate_detection(
            gt, dets, kind="lvis" if lvis else "coco", iou_type=args.iou_type,
            cat_ids=cat_ids, img_ids=img_ids,
        )  # fmt: skip
    except (ValueError, ImportError) as exc:
        raise UsageError(str(exc)) from None
    _warn_left_out(info)
    result = {"task": "detection", **metrics.to_dict(), **info}
    result.setdefault("input_errors", [])
    return _finish(result, output)


def _preset_names(text: str) -> str:
    """A category preset of the dataset builders (``paper-lvis-13``, …) as its names."""
    from visual_rewards.data.categories import CATEGORY_PRESETS

    return ",".join(CATEGORY_PRESETS[text]) if text in CATEGORY_PRESETS else text


def _run_detection_visual_rft(args: argparse.Namespace) -> int:
    """``evaluate detection --protocol visual_rft``: the released conversion (with an exist
    map, only its pairs), the evaluator's usual metrics on those detections, and the
    ``visual_rft`` section (per-class AP and mAP by the authors' notebooks)."""
    from visual_rewards.data.released import load_exist_map
    from visual_rewards.evaluation.detection import category_ids, evaluate_detection
    from visual_rewards.evaluation.protocols import visual_rft_detection
    from visual_rewards.io.files import atomic_writer
    from visual_rewards.io.rows import row_value

    if (args.predictions is None) == (args.detections is None):
        raise UsageError("give exactly one of --predictions (model outputs) or --detections")
    if args.coords != "norm1000":
        raise UsageError("--protocol visual_rft reads boxes in norm1000 (the released code's)")
    source = args.predictions if args.predictions is not None else args.detections
    output = _output(args, source)
    gt = _load_json(args.annotations, "annotation")
    errors: list[dict[str, Any]] = []
    seen: set[Any] = set()
    try:
        exist = load_exist_map(args.exist_map) if args.exist_map is not None else None
        cats = category_ids(_preset_names(args.categories), gt) if args.categories else None
        if args.predictions is not None:
            rows = _rows(args.predictions, errors)
            seen = {row_value(r, args.image_field) for r in rows}
            rft, dets = visual_rft_detection(
                gt, rows=rows, exist_map=exist, cat_ids=cats, kind=args.kind,
                completion_field=args.completion_field, image_field=args.image_field,
                category_field=args.category_field,
            )  # fmt: skip
        else:
            dets = _load_json(args.detections, "detections")
            rft, dets = visual_rft_detection(gt, detections=dets, cat_ids=cats, kind=args.kind)
        if args.save_detections is not None:
            with atomic_writer(args.save_detections) as f:
                json.dump(dets, f)
        img_ids = None
        if args.only_predicted_images:
            known = {img["id"] for img in gt.get("images", [])}
            img_ids = sorted((seen or {d["image_id"] for d in dets}) & known, key=str)
        metrics = evaluate_detection(
            gt, dets, kind=args.kind, iou_type=args.iou_type, cat_ids=cats, img_ids=img_ids
        )
    except (ValueError, ImportError) as exc:
        raise UsageError(str(exc)) from None
    conversion = rft.pop("conversion", None)
    result = {"task": "detection", **metrics.to_dict()}
    if conversion is not None:
        result["conversion"] = conversion
    result["visual_rft"] = rft
    result["input_errors"] = errors
    return _finish(result, output)


def _run_rows(args: argparse.Namespace, task: str, compute: Callable[..., Any]) -> int:
    """Read ``--predictions``, compute the task's metrics on its rows, print and write them.

    ``compute(rows, skipped)`` may report rows it left out in ``skipped`` as
    ``{"row": index, "error": reason}``; they become input errors with their line numbers.
    """
    output = _output(args, args.predictions)
    errors: list[dict[str, Any]] = []
    lines: list[int] = []
    rows = _rows(args.predictions, errors, lines)
    skipped: list[dict[str, Any]] = []
    try:
        result = compute(rows, skipped)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    for item in skipped:
        errors.append({"line": lines[item["row"]], "error": item["error"], "text": None})
        print(
            f"warning: {args.predictions}:{lines[item['row']]}: row skipped: {item['error']}",
            file=sys.stderr,
        )
    errors.sort(key=lambda e: int(e["line"]))
    return _finish({"task": task, **result, "input_errors": errors}, output)


def run_classification(args: argparse.Namespace) -> int:
    """``evaluate classification``."""
    from visual_rewards.evaluation.classification import classification_accuracy

    options = {"labels": str(args.labels)} if args.labels is not None else {}
    if args.protocol == "visual_rft":
        from visual_rewards.evaluation.protocols import released_classification_accuracy

        if args.labels is not None or args.preset != "default":
            raise UsageError("--protocol visual_rft has its own rule: drop --labels and --preset")
        return _run_rows(
            args,
            "classification",
            lambda rows, skipped: released_classification_accuracy(
                rows,
                completion_field=args.completion_field,
                solution_field=args.solution_field,
                dataset_field=args.dataset_field,
            ),
        )
    return _run_rows(
        args,
        "classification",
        lambda rows, skipped: classification_accuracy(
            rows,
            preset=args.preset,
            completion_field=args.completion_field,
            solution_field=args.solution_field,
            dataset_field=args.dataset_field,
            options=options,
        ),
    )


def run_grounding(args: argparse.Namespace) -> int:
    """``evaluate grounding``."""
    from visual_rewards.evaluation.grounding import grounding_metrics

    if args.protocol == "visual_rft":
        from visual_rewards.evaluation.protocols import released_grounding_metrics

        if args.coords != "norm1000":
            raise UsageError("--protocol visual_rft reads boxes in norm1000 (the released code's)")
        return _run_rows(
            args,
            "grounding",
            lambda rows, skipped: released_grounding_metrics(
                rows, completion_field=args.completion_field, solution_field=args.solution_field
            ),
        )

    return _run_rows(
        args,
        "grounding",
        lambda rows, skipped: grounding_metrics(
            rows,
            coords=args.coords,
            completion_field=args.completion_field,
            solution_field=args.solution_field,
            skipped=skipped,
        ),
    )
