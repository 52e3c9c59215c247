"""``visual-rewards evaluate detection | classification | grounding``.

Prints the metrics as Markdown tables and writes them as JSON (``--output``, default
``<predictions>.metrics.json``). Exit code 1 when some input lines could not be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from visual_rewards.evaluation.coco import load_json
from visual_rewards.scoring import atomic_writer, iter_rows, row_value

__all__ = ["add_evaluate_parser", "markdown_table", "render_metrics"]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table; floats with 4 decimals, ``None`` as ``-``.

    >>> print(markdown_table(["a", "b"], [["x", 0.5], ["y", None]]))
    | a | b |
    |---|---:|
    | x | 0.5000 |
    | y | - |
    """
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render_metrics(result: Mapping[str, Any]) -> str:
    """The Markdown shown on screen for a result of any task."""
    task = result["task"]
    parts: list[str] = []
    if task == "detection":
        stats = result["stats"]
        parts.append(f"{result['kind'].upper()} detection metrics")
        parts.append(markdown_table(list(stats), [list(stats.values())]))
        per_cat = result["per_category"]
        if per_cat:
            parts.append("Per category")
            rows = [[name, v["AP"], v["AP50"], v["n_gt"]] for name, v in per_cat.items()]
            parts.append(markdown_table(["category", "AP", "AP50", "gt boxes"], rows))
    elif task == "classification":
        parts.append(f"Classification accuracy ({result['reward']})")
        parts.append(
            markdown_table(
                ["rows", "n/a", "accuracy"],
                [[result["rows"], result["not_applicable"], result["accuracy"]]],
            )
        )
        parts.append("Per dataset")
        parts.append(
            markdown_table(
                ["dataset", "accuracy", "n"],
                [[k, v["accuracy"], v["n"]] for k, v in result["per_dataset"].items()],
            )
        )
        parts.append("Per class")
        parts.append(
            markdown_table(
                ["class", "accuracy", "n"],
                [[k, v["accuracy"], v["n"]] for k, v in result["per_class"].items()],
            )
        )
    elif task == "grounding":
        parts.append("Grounding metrics (boxes)")
        box = result["box"]
        parts.append(
            markdown_table(
                ["rows", "no prediction", "bad ground truth", *box],
                [
                    [
                        result["rows"],
                        result["no_prediction"],
                        result["bad_ground_truth"],
                        *box.values(),
                    ]
                ],
            )
        )
        if "mask" in result:
            parts.append("Grounding metrics (masks)")
            mask = result["mask"]
            parts.append(markdown_table(list(mask), [list(mask.values())]))
    if result.get("input_errors"):
        parts.append(f"{len(result['input_errors'])} input line(s) could not be read")
    return "\n\n".join(parts)


def _common(p: argparse.ArgumentParser, predictions_required: bool = True) -> None:
    p.add_argument(
        "--predictions",
        type=Path,
        required=predictions_required,
        help="JSONL of model outputs (one completion per row)",
    )
    p.add_argument(
        "-o", "--output", type=Path, help="metrics JSON (default PREDICTIONS.metrics.json)"
    )
    p.add_argument("--completion-field", default="completion")


def add_evaluate_parser(subparsers: Any) -> None:
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
        choices=["norm1000", "normalized", "pixel", "qwen25vl"],
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
    c.set_defaults(func=run_classification)

    g = tasks.add_parser("grounding", help="box (and mask) mIoU, gIoU, cIoU")
    _common(g)
    g.add_argument("--solution-field", default="solution")
    g.add_argument(
        "--coords", choices=["norm1000", "normalized", "pixel", "qwen25vl"], default="norm1000"
    )
    g.set_defaults(func=run_grounding)


def _finish(result: dict[str, Any], output: Path) -> int:
    with atomic_writer(output) as f:  # on disk first, whatever happens to stdout
        json.dump(result, f, indent=2)
        f.write("\n")
    print(render_metrics(result))
    print(f"\nwrote {output}")
    return 1 if result.get("input_errors") else 0


def _rows(path: Path, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from visual_rewards.cli import UsageError

    if not path.is_file():
        raise UsageError(f"predictions file not found: {path}")
    return [row for _, row in iter_rows(path, errors)]


def _default_output(args: argparse.Namespace, source: Path) -> Path:
    out: Path = args.output or source.with_name(source.stem + ".metrics.json")
    return out


def _category_ids(text: str, gt: Mapping[str, Any]) -> list[Any]:
    from visual_rewards.cli import UsageError

    by_name = {str(c.get("name", "")).lower(): c["id"] for c in gt.get("categories", [])}
    ids = {c["id"] for c in gt.get("categories", [])}
    out: list[Any] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part.lower() in by_name:
            out.append(by_name[part.lower()])
        elif part.isdigit() and int(part) in ids:
            out.append(int(part))
        else:
            raise UsageError(f"unknown category {part!r} (not a name or id in the annotations)")
    return out


def run_detection(args: argparse.Namespace) -> int:
    """``evaluate detection``."""
    from visual_rewards.cli import UsageError
    from visual_rewards.evaluation.detection import detections_from_outputs, evaluate_detection

    if (args.predictions is None) == (args.detections is None):
        raise UsageError("give exactly one of --predictions (model outputs) or --detections")
    if not args.annotations.is_file():
        raise UsageError(f"annotation file not found: {args.annotations}")
    gt = load_json(args.annotations)
    errors: list[dict[str, Any]] = []
    conversion: dict[str, Any] | None = None
    seen_images: set[Any] = set()
    if args.predictions is not None:
        rows = _rows(args.predictions, errors)
        known = {img["id"] for img in gt.get("images", [])}
        seen_images = {row_value(r, args.image_field) for r in rows} & known
        try:
            dets, conv = detections_from_outputs(
                rows,
                gt,
                coords=args.coords,
                completion_field=args.completion_field,
                image_field=args.image_field,
                category_field=args.category_field,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        conversion = {k: v for k, v in vars(conv).items() if k != "notes"}
        if args.save_detections is not None:
            with atomic_writer(args.save_detections) as f:
                json.dump(dets, f)
        source = args.predictions
    else:
        if not args.detections.is_file():
            raise UsageError(f"detections file not found: {args.detections}")
        dets = load_json(args.detections)
        source = args.detections
    cat_ids = _category_ids(args.categories, gt) if args.categories else None
    img_ids = None
    if args.only_predicted_images:
        img_ids = sorted(seen_images or {d["image_id"] for d in dets}, key=str)
    try:
        metrics = evaluate_detection(
            gt, dets, kind=args.kind, iou_type=args.iou_type, cat_ids=cat_ids, img_ids=img_ids
        )
    except (ValueError, ImportError) as exc:
        raise UsageError(str(exc)) from None
    result = {"task": "detection", **metrics.to_dict()}
    if conversion is not None:
        result["conversion"] = conversion
    result["input_errors"] = errors
    return _finish(result, _default_output(args, source))


def run_classification(args: argparse.Namespace) -> int:
    """``evaluate classification``."""
    from visual_rewards.cli import UsageError
    from visual_rewards.evaluation.classification import classification_accuracy

    errors: list[dict[str, Any]] = []
    rows = _rows(args.predictions, errors)
    options: dict[str, Any] = {}
    if args.labels is not None:
        options["labels"] = str(args.labels)
    try:
        result = classification_accuracy(
            rows,
            preset=args.preset,
            completion_field=args.completion_field,
            solution_field=args.solution_field,
            dataset_field=args.dataset_field,
            options=options,
        )
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    result = {"task": "classification", **result, "input_errors": errors}
    return _finish(result, _default_output(args, args.predictions))


def run_grounding(args: argparse.Namespace) -> int:
    """``evaluate grounding``."""
    from visual_rewards.cli import UsageError
    from visual_rewards.evaluation.grounding import grounding_metrics

    errors: list[dict[str, Any]] = []
    rows = _rows(args.predictions, errors)
    try:
        result = grounding_metrics(
            rows,
            coords=args.coords,
            completion_field=args.completion_field,
            solution_field=args.solution_field,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    result = {"task": "grounding", **result, "input_errors": errors}
    return _finish(result, _default_output(args, args.predictions))


if __name__ == "__main__":  # pragma: no cover
    from visual_rewards.cli import main

    sys.exit(main(["evaluate", *sys.argv[1:]]))
