"""``visual-rewards report``: one self-contained HTML page to look at scored completions.

Input: the JSONL written by ``visual-rewards score`` (rows with their ``scores`` field).
The page shows

* histograms of the total reward, of every component and of the IoU component (inline SVG,
  so the page needs no files and no JavaScript);
* a random sample of rows (reservoir sampling: one pass, constant memory, reproducible with
  ``--seed``), each with its image (embedded as a data URI) and the ground-truth (green) and
  predicted (red, dashed) boxes drawn over it, the think text, the answer, and the reward
  breakdown with the parser's diagnostics.

PNG copies of the histograms are written with matplotlib when it is installed
(``pip install 'visual-rewards[report]'``) and ``--png-dir`` is given; without matplotlib the
page says so and the SVG histograms are all there is.
"""

from __future__ import annotations

import base64
import binascii
import html
import importlib
import io
import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from visual_rewards.geometry.coords import CoordConfig, CoordSpace
from visual_rewards.io.files import (
    EMBEDDABLE,
    ImageFileError,
    decode_image_bytes,
    read_image_file,
)
from visual_rewards.io.rows import iter_rows, row_value
from visual_rewards.parsing import parse_completion, parse_detections
from visual_rewards.rewards import REWARDS
from visual_rewards.scoring import BOX_TASKS, known_task

__all__ = [
    "ROW_FILTERS",
    "ReportData",
    "collect",
    "render_html",
    "svg_histogram",
    "write_pngs",
]

_MAX_TEXT = 4000


@dataclass
class ReportData:
    """What one pass over the scored file collects."""

    n_rows: int = 0
    totals: list[float] = field(default_factory=list)
    components: dict[str, list[float]] = field(default_factory=dict)
    sample: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    unscored: int = 0


#: ``--only`` filters: which rows may be sampled (histograms always use every row).
ROW_FILTERS = ("all", "parse_failed", "format_failed", "truncated", "not_applicable")


def _matches(res: Mapping[str, Any], only: str) -> bool:
    if only == "all":
        return True
    if only == "parse_failed":
        return res.get("parse_failed") is True
    if only == "format_failed":
        return res.get("format_ok") is False
    if only == "truncated":
        return res.get("truncated") is True
    if only == "not_applicable":
        return res.get("total") is None
    raise ValueError(f"only must be one of {ROW_FILTERS}, got {only!r}")


def collect(
    path: Path | str,
    *,
    sample_size: int = 24,
    seed: int = 0,
    result_field: str = "scores",
    only: str = "all",
) -> ReportData:
    """Read a scored JSONL once: all totals/components, and a reservoir sample of rows.

    ``only`` restricts the sample to rows that failed to parse, failed the format, were
    truncated or were not applicable (see :data:`ROW_FILTERS`); histograms use every row.
    """
    if only not in ROW_FILTERS:
        raise ValueError(f"only must be one of {ROW_FILTERS}, got {only!r}")
    data = ReportData()
    rng = random.Random(seed)
    candidates = 0
    for line_no, row in iter_rows(path, data.errors):
        res = row.get(result_field)
        if not isinstance(res, Mapping):
            data.unscored += 1
            continue
        data.n_rows += 1
        total = res.get("total")
        if isinstance(total, (int, float)):
            data.totals.append(float(total))
        comps = res.get("components")
        if isinstance(comps, Mapping):
            for key, value in comps.items():
                if isinstance(value, (int, float)):
                    data.components.setdefault(str(key), []).append(float(value))
        if not _matches(res, only):
            continue
        candidates += 1
        if len(data.sample) < sample_size:
            data.sample.append((line_no, row))
        else:
            j = rng.randrange(candidates)
            if j < sample_size:
                data.sample[j] = (line_no, row)
    data.sample.sort(key=lambda item: item[0])
    return data


# ---------------------------------------------------------------------------------------------
# SVG pieces
# ---------------------------------------------------------------------------------------------


def svg_histogram(values: Sequence[float], title: str, bins: int = 20) -> str:
    """An inline SVG bar histogram of ``values`` (empty input gives a 'no data' box)."""
    w, h, pad = 360, 160, 28
    esc = html.escape(title)
    if not values:
        return (
            f'<svg class="hist" width="{w}" height="{h}" role="img" aria-label="{esc}">'
            f'<text x="10" y="20">{esc}: no data</text></svg>'
        )
    arr = np.asarray(values, dtype=np.float64)
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        hi = lo + 1.0
    counts, edges = np.histogram(arr, bins=bins, range=(lo, hi))
    top = max(int(counts.max()), 1)
    bw = (w - 2 * pad) / bins
    parts = [
        f'<svg class="hist" width="{w}" height="{h}" role="img" aria-label="{esc}">',
        f'<text x="{pad}" y="14" font-size="12">{esc} (n={arr.size:,}, mean={arr.mean():.3f})</text>',
    ]
    for i, c in enumerate(counts.tolist()):
        bh = (h - 2 * pad) * c / top
        x = pad + i * bw
        y = h - pad - bh
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bw - 1, 1):.1f}" height="{bh:.1f}" '
            f'fill="#4c78a8"><title>[{edges[i]:.3f}, {edges[i + 1]:.3f}): {c}</title></rect>'
        )
    parts.append(
        f'<text x="{pad}" y="{h - 8}" font-size="11">{lo:.3g}</text>'
        f'<text x="{w - pad}" y="{h - 8}" font-size="11" text-anchor="end">{hi:.3g}</text>'
        "</svg>"
    )
    return "".join(parts)


#: Largest ``data:`` URI accepted from a row (characters).
MAX_DATA_URI = 16 << 20


def _png_data_uri(data: bytes) -> str:
    """Re-encode decoded image bytes as a PNG data URI (only pixels survive)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        buf = io.BytesIO()
        im.convert("RGBA" if "A" in im.getbands() else "RGB").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _image_uri(
    row: Mapping[str, Any], image_field: str, root: Path
) -> tuple[str | None, tuple[int, int] | None, str]:
    """``(data URI, (width, height), note)`` of a row's image, or ``(None, None, why not)``.

    A path must resolve inside ``root`` to a regular image file
    (:func:`~visual_rewards.io.files.read_image_file`); a ``data:`` URI is decoded and
    re-encoded from its pixels. Nothing else reaches the page.
    """
    value = row.get(image_field)
    if not isinstance(value, str) or not value:
        return None, None, "no image"
    try:
        if value.startswith("data:"):
            if len(value) > MAX_DATA_URI:
                return None, None, "image not shown: data URI too large"
            _, _, b64 = value.partition(",")
            try:
                raw = base64.b64decode(b64, validate=True)
            except (binascii.Error, ValueError):
                return None, None, "image not shown: bad data URI"
            image = decode_image_bytes(raw, "data URI")
            return _png_data_uri(image.data), image.size, "inline image (re-encoded)"
        image = read_image_file(value, root=root)
    except ImageFileError as exc:
        return None, None, f"image not shown: {exc}"
    except ImportError:
        return None, None, "image not shown: Pillow is not installed"
    mime = EMBEDDABLE.get(image.format)
    uri = (
        f"data:{mime};base64,{base64.b64encode(image.data).decode('ascii')}"
        if mime is not None
        else _png_data_uri(image.data)
    )
    return uri, image.size, value


def _size_of(value: Any) -> tuple[int, int] | None:
    """A row's ``image_size`` as ``(width, height)`` of positive integers, else None.

    >>> _size_of([640, 480]), _size_of([0, 0]), _size_of(["a", "b"]), _size_of([float("nan"), 1])
    ((640, 480), None, None, None)
    """
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return None
    if not all(math.isfinite(v) and v >= 1 for v in value):
        return None
    return int(value[0]), int(value[1])


def _task_of(row: Mapping[str, Any], res: Mapping[str, Any], task_field: str = "task") -> str:
    """The row's task: its ``task`` field, else the prefix of the reward's name.

    >>> _task_of({}, {"reward": "detection_visual_rft"}), _task_of({"task": "counting"}, {})
    ('detection', 'counting')
    """
    named = row.get(task_field)
    if isinstance(named, str) and known_task(named) is not None:
        return str(known_task(named))
    reward = res.get("reward")
    if isinstance(reward, str):
        for task in sorted(REWARDS, key=len, reverse=True):
            if reward == task or reward.startswith(task + "_"):
                return task
    return ""


def _gt_boxes(solution: Any, cfg: CoordConfig) -> np.ndarray:
    from visual_rewards.targets import parse_box_target

    try:
        return parse_box_target(solution, cfg).boxes
    except (ValueError, TypeError):
        return np.zeros((0, 4))


def _row_svg(
    uri: str | None, size: tuple[int, int], gt: np.ndarray, pred: np.ndarray, label: str
) -> str:
    iw, ih = size
    scale = 320 / max(iw, ih)
    w, h = iw * scale, ih * scale
    parts = [
        f'<svg width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.1f} {h:.1f}" role="img" aria-label="{html.escape(label)}">'
    ]
    if uri is not None:
        parts.append(f'<image href="{uri}" x="0" y="0" width="{w:.1f}" height="{h:.1f}"/>')
    else:
        parts.append(f'<rect width="{w:.1f}" height="{h:.1f}" fill="#ddd"/>')
    for boxes, style in (
        (gt, 'stroke="#1a9850" stroke-width="2"'),
        (pred, 'stroke="#d73027" stroke-width="2" stroke-dasharray="5,3"'),
    ):
        for x1, y1, x2, y2 in boxes.tolist():
            parts.append(
                f'<rect x="{x1 * w:.1f}" y="{y1 * h:.1f}" width="{(x2 - x1) * w:.1f}" '
                f'height="{(y2 - y1) * h:.1f}" fill="none" {style}/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _clip(text: str | None) -> str:
    if text is None:
        return "<em>none</em>"
    more = f"… ({len(text):,} characters)" if len(text) > _MAX_TEXT else ""
    return html.escape(text[:_MAX_TEXT]) + more


def _row_html(
    line_no: int,
    row: Mapping[str, Any],
    *,
    result_field: str,
    completion_field: str,
    solution_field: str,
    image_field: str,
    root: Path,
    coords: str,
) -> str:
    res = row.get(result_field) or {}
    parsed = parse_completion(row.get(completion_field, ""))
    uri, image_size, image_note = _image_uri(row, image_field, root)
    size = _size_of(row_value(row, "image_size")) or image_size
    task = _task_of(row, res)
    pred = parse_detections(None, CoordConfig("norm1000"))
    gt = np.zeros((0, 4))
    if task in BOX_TASKS:  # only box tasks have boxes to draw
        space = cast(CoordSpace, coords)
        try:
            cfg = CoordConfig(space, size) if size is not None else CoordConfig(space)
        except ValueError:  # pixel coordinates without a known image size
            cfg = CoordConfig("norm1000")
        pred = parse_detections(parsed.answer, cfg)
        gt = _gt_boxes(row.get(solution_field), cfg)
    picture = _row_svg(uri, size or (1000, 1000), gt, pred.boxes, f"line {line_no}")
    comps = res.get("components") or {}
    cells = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{_fmt(v)}</td></tr>" for k, v in comps.items()
    )
    diag = {
        "parse_failed": res.get("parse_failed"),
        "format_ok": res.get("format_ok"),
        "truncated": res.get("truncated"),
        "boxes read": len(pred),
        "items dropped": pred.n_invalid,
    }
    diag_cells = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in diag.items()
    )
    errors = list(res.get("parse_errors") or []) + list(pred.errors)
    err_html = (
        "<p class='err'>" + html.escape("; ".join(dict.fromkeys(errors))[:500]) + "</p>"
        if errors
        else ""
    )
    return f"""<section class="row" id="line-{line_no}" data-line="{line_no}">
<h3>line {line_no} &middot; {html.escape(str(res.get("reward", "?")))} &middot; total {_fmt(res.get("total"))}</h3>
<div class="cols"><div class="pic">{picture}<p class="note">{html.escape(image_note)} &middot; <span class="gt">ground truth</span> / <span class="pred">prediction</span></p></div>
<div class="txt"><h4>think</h4><pre>{_clip(parsed.think)}</pre><h4>answer</h4><pre>{_clip(parsed.answer)}</pre>
<h4>ground truth</h4><pre>{_clip(json.dumps(row.get(solution_field), ensure_ascii=False))}</pre></div>
<div class="scores"><table><tr><th>component</th><th>value</th></tr><tr><td><b>total</b></td><td><b>{_fmt(res.get("total"))}</b></td></tr>{cells}</table>
<table>{diag_cells}</table>{err_html}</div></div></section>"""


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return html.escape(str(value))
    if isinstance(value, (int, float)):
        return "NaN" if isinstance(value, float) and math.isnan(value) else f"{value:.4f}"
    return html.escape(str(value))


_CSS = """body{font-family:sans-serif;margin:1.5em;color:#222}
.hists{display:flex;flex-wrap:wrap;gap:1em}.row{border-top:1px solid #ccc;padding:.5em 0}
.cols{display:flex;gap:1.5em;align-items:flex-start}.txt{flex:1;min-width:0}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f6f6;padding:.4em;max-height:16em;overflow:auto}
table{border-collapse:collapse;margin-bottom:.5em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
.gt{color:#1a9850}.pred{color:#d73027}.err{color:#b00}.note{font-size:small;color:#555}"""


def render_html(
    data: ReportData,
    *,
    title: str,
    result_field: str = "scores",
    completion_field: str = "completion",
    solution_field: str = "solution",
    image_field: str = "image",
    root: Path = Path("."),
    coords: str = "norm1000",
    notes: Sequence[str] = (),
) -> str:
    """The whole page as a string (self-contained: inline CSS, SVG and data-URI images)."""
    hists = [svg_histogram(data.totals, "total reward")]
    for key, values in sorted(data.components.items()):
        hists.append(svg_histogram(values, f"component: {key}"))
    if "iou" in data.components:
        hists.append(svg_histogram(data.components["iou"], "IoU", bins=10))
    rows = [
        _row_html(
            line_no,
            row,
            result_field=result_field,
            completion_field=completion_field,
            solution_field=solution_field,
            image_field=image_field,
            root=root,
            coords=coords,
        )
        for line_no, row in data.sample
    ]
    note_html = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in notes)
    summary = (
        f"{data.n_rows:,} scored rows; {len(data.sample)} sampled; "
        f"{len(data.errors)} unreadable lines; {data.unscored} rows without {result_field!r}"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{html.escape(title)}</h1><p>{html.escape(summary)}</p>{note_html}
<h2>Distributions</h2><div class="hists">{"".join(hists)}</div>
<h2>Sampled completions</h2>
{"".join(rows)}
</body></html>
"""


def write_pngs(data: ReportData, out_dir: Path) -> list[Path]:
    matplotlib = importlib.import_module("matplotlib")  # optional: the `report` extra
    matplotlib.use("Agg")
    plt = importlib.import_module("matplotlib.pyplot")

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    series = {"total": data.totals, **data.components}
    for name, values in series.items():
        if not values:
            continue
        fig, ax = plt.subplots(figsize=(4, 2.5))
        ax.hist(values, bins=20)
        ax.set_title(name)
        path = out_dir / f"hist_{name}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written
