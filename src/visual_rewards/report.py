"""``visual-rewards report``: one self-contained HTML page to look at scored completions.

Input: the JSONL written by ``visual-rewards score`` (rows with their ``scores`` field), and
optionally an ``evaluate`` output (its metrics are shown in their own section). The page shows

* a summary table: mean, std, min and max of the total and of every component, parse-failure,
  format and truncation rates, and the most frequent parse-error reasons;
* one histogram per series (the total and each component), inline SVG with counts on the
  y-axis and values on the x-axis;
* a random sample of rows (reservoir sampling: one pass, constant memory, reproducible with
  ``seed``), each with its image and the ground-truth (green) and predicted (red, dashed)
  boxes of box tasks drawn over it, the think text, the answer, the ground truth and the
  reward breakdown; pre-rendered orderings of the sample (by total, by each component) and
  groupings (by task, by parse error) link to the rows, so nothing needs script.

The inputs are untrusted (see ``docs/guarantees.md``):

* every string that reaches the page goes through :func:`esc`;
* images are read only through :func:`visual_rewards.io.files.read_image_file` inside the
  image root (real path, symlinks included; regular files; byte limit; must decode), and a
  ``data:`` URI is decoded and re-encoded from its pixels, or refused;
* the page carries a Content-Security-Policy that allows no script, no network and no
  frames: only inline ``data:`` images and the page's own stylesheet (by its hash);
* a row that cannot be rendered becomes an error card; it never stops the page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import importlib
import io
import json
import math
import random
from collections import Counter
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
from visual_rewards.io.images import image_sizes
from visual_rewards.io.rows import iter_rows, row_value
from visual_rewards.parsing import parse_completion, parse_detections, unwrap_answer
from visual_rewards.rewards import REWARDS
from visual_rewards.scoring import BOX_TASKS, known_task

__all__ = [
    "CSP",
    "ROW_FILTERS",
    "ReportData",
    "collect",
    "esc",
    "render_html",
    "svg_histogram",
    "write_pngs",
]

_MAX_TEXT = 4000
#: Largest ``data:`` URI accepted from a row (characters).
MAX_DATA_URI = 16 << 20
#: ``--only`` filters: which rows may be sampled (histograms always use every row).
ROW_FILTERS = ("all", "parse_failed", "format_failed", "truncated", "not_applicable")


def esc(value: Any) -> str:
    """The one HTML escaping function: ``str(value)`` with ``& < > " '`` escaped.

    Every string that reaches the page (text or attribute) passes through here.

    >>> esc('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return html.escape(str(value), quote=True)


# ---------------------------------------------------------------------------------------------
# One pass over the file
# ---------------------------------------------------------------------------------------------


@dataclass
class ReportData:
    """What one pass over the scored file collects.

    Attributes:
        n_rows: rows with a result; ``unscored`` rows without one; ``errors`` unreadable lines.
        totals / components: every finite value, per series (for histograms and the summary).
        sample: ``(line number, row)`` of the sampled rows, in file order.
        parse_failed / format_failed / truncated / not_applicable: row counts.
        error_reasons: parse-error reason -> rows.
        tasks: task -> rows.
    """

    n_rows: int = 0
    totals: list[float] = field(default_factory=list)
    components: dict[str, list[float]] = field(default_factory=dict)
    sample: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    unscored: int = 0
    parse_failed: int = 0
    format_failed: int = 0
    truncated: int = 0
    not_applicable: int = 0
    error_reasons: Counter[str] = field(default_factory=Counter)
    tasks: Counter[str] = field(default_factory=Counter)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


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


def _reasons(res: Mapping[str, Any]) -> list[str]:
    reasons = res.get("parse_errors")
    if isinstance(reasons, str):
        return [reasons]
    if isinstance(reasons, list):
        return [str(r) for r in reasons]
    return []


def _count(data: ReportData, row: Mapping[str, Any], res: Mapping[str, Any]) -> None:
    """Add one scored row to the series and counters."""
    data.n_rows += 1
    total = _finite(res.get("total"))
    if total is not None:
        data.totals.append(total)
    else:
        data.not_applicable += 1
    comps = res.get("components")
    if isinstance(comps, Mapping):
        for key, value in comps.items():
            number = _finite(value)
            if number is not None:
                data.components.setdefault(str(key), []).append(number)
    data.parse_failed += res.get("parse_failed") is True
    data.format_failed += res.get("format_ok") is False
    data.truncated += res.get("truncated") is True
    data.error_reasons.update(dict.fromkeys(_reasons(res), 1))
    data.tasks[_task_of(row, res) or "?"] += 1


def collect(
    path: Path | str,
    *,
    sample_size: int = 24,
    seed: int = 0,
    result_field: str = "scores",
    only: str = "all",
) -> ReportData:
    """Read a scored JSONL once: all totals/components, counters, and a reservoir sample.

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
        _count(data, row, res)
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
    """An inline SVG histogram of ``values`` with a y-axis of counts and an x-axis of values.

    Each bar carries a ``<title>`` with its interval and count; empty input gives 'no data'.
    """
    w, h, left, right, top_pad, bottom = 380, 190, 44, 12, 26, 34
    label = esc(title)
    if not values:
        return (
            f'<svg class="hist" width="{w}" height="{h}" role="img" aria-label="{label}">'
            f'<text x="10" y="20">{label}: no data</text></svg>'
        )
    arr = np.asarray(values, dtype=np.float64)
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        hi = lo + 1.0
    counts, edges = np.histogram(arr, bins=bins, range=(lo, hi))
    peak = max(int(counts.max()), 1)
    plot_w, plot_h = w - left - right, h - top_pad - bottom
    bw = plot_w / bins
    parts = [
        f'<svg class="hist" width="{w}" height="{h}" role="img" aria-label="{label}">',
        f'<text x="{left}" y="14" font-size="12">{label} (n={arr.size:,}, '
        f"mean={arr.mean():.3f})</text>",
    ]
    for i, c in enumerate(counts.tolist()):
        bh = plot_h * c / peak
        parts.append(
            f'<rect class="bar" x="{left + i * bw:.1f}" y="{top_pad + plot_h - bh:.1f}" '
            f'width="{max(bw - 1, 1):.1f}" height="{bh:.1f}" fill="#4c78a8">'
            f"<title>[{edges[i]:.3f}, {edges[i + 1]:.3f}): {c}</title></rect>"
        )
    x0, y0 = left, top_pad + plot_h
    parts.append(
        f'<line x1="{x0}" y1="{top_pad}" x2="{x0}" y2="{y0}" stroke="#333"/>'
        f'<line x1="{x0}" y1="{y0}" x2="{w - right}" y2="{y0}" stroke="#333"/>'
        f'<text x="{x0 - 4}" y="{top_pad + 4}" font-size="10" text-anchor="end">{peak:,}</text>'
        f'<text x="{x0 - 4}" y="{y0}" font-size="10" text-anchor="end">0</text>'
        f'<text x="10" y="{top_pad + plot_h / 2:.0f}" font-size="10" '
        f'transform="rotate(-90 10 {top_pad + plot_h / 2:.0f})" text-anchor="middle">rows</text>'
        f'<text x="{x0}" y="{y0 + 14}" font-size="10">{lo:.3g}</text>'
        f'<text x="{w - right}" y="{y0 + 14}" font-size="10" text-anchor="end">{hi:.3g}</text>'
        f'<text x="{x0 + plot_w / 2:.0f}" y="{h - 4}" font-size="10" '
        f'text-anchor="middle">{label}</text></svg>'
    )
    return "".join(parts)


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
    """A row's ``image_size`` as ``(width, height)`` of positive integers, else None: the
    rewards' rule (:func:`visual_rewards.io.images.image_sizes`), capped at 10^6 pixels a side.

    >>> _size_of([640, 480]), _size_of([0, 0]), _size_of(["a", "b"]), _size_of([float("nan"), 1])
    ((640, 480), None, None, None)
    """
    sizes = image_sizes({"image_size": [value]}, 1)
    size = sizes[0] if sizes else None
    return size if size is not None and max(size) <= 1_000_000 else None


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
        f'<svg width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.1f} {h:.1f}" role="img" '
        f'aria-label="{esc(label)}">'
    ]
    if uri is not None:  # a data URI built here from decoded pixels: base64 only
        parts.append(f'<image href="{esc(uri)}" x="0" y="0" width="{w:.1f}" height="{h:.1f}"/>')
    else:
        parts.append(f'<rect width="{w:.1f}" height="{h:.1f}" fill="#ddd"/>')
    for boxes, style in (
        (gt, 'class="gtbox" stroke="#1a9850" stroke-width="2"'),
        (pred, 'class="predbox" stroke="#d73027" stroke-width="2" stroke-dasharray="5,3"'),
    ):
        for x1, y1, x2, y2 in np.nan_to_num(boxes).tolist():
            parts.append(
                f'<rect x="{x1 * w:.1f}" y="{y1 * h:.1f}" width="{(x2 - x1) * w:.1f}" '
                f'height="{(y2 - y1) * h:.1f}" fill="none" {style}/>'
            )
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# HTML pieces
# ---------------------------------------------------------------------------------------------


def _clip(text: Any) -> str:
    if text is None:
        return "<em>none</em>"
    text = str(text)
    more = f"… ({len(text):,} characters)" if len(text) > _MAX_TEXT else ""
    return esc(text[:_MAX_TEXT]) + more


def _fmt(value: Any) -> str:
    """A cell: numbers with 4 decimals (``NaN``/``inf`` spelled out), anything else escaped."""
    if isinstance(value, bool) or value is None:
        return esc(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else esc(value)
    return esc(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An HTML table; every cell through :func:`_fmt`."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _solution_text(solution: Any) -> str:
    """The ground truth as a person reads it: the text inside ``<answer>``, or its JSON."""
    if isinstance(solution, str):
        return unwrap_answer(solution)
    return json.dumps(solution, ensure_ascii=False)


@dataclass(frozen=True)
class _Fields:
    result: str = "scores"
    completion: str = "completion"
    solution: str = "solution"
    image: str = "image"


def _boxes(
    row: Mapping[str, Any], task: str, answer: str | None, size: Any, coords: str, f: _Fields
) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """``(ground-truth boxes, predicted boxes, parser errors, items dropped)`` of a box task."""
    if task not in BOX_TASKS:  # only box tasks have boxes to draw
        return np.zeros((0, 4)), np.zeros((0, 4)), [], 0
    space = cast(CoordSpace, coords)
    try:
        cfg = CoordConfig(space, size) if size is not None else CoordConfig(space)
    except ValueError:  # pixel coordinates without a known image size
        cfg = CoordConfig("norm1000")
    pred = parse_detections(answer, cfg)
    return _gt_boxes(row.get(f.solution), cfg), pred.boxes, list(pred.errors), pred.n_invalid


def _row_html(line_no: int, row: Mapping[str, Any], root: Path, coords: str, f: _Fields) -> str:
    """One sampled row as a card (raises on a malformed row: see :func:`_card`)."""
    res = row.get(f.result)
    if not isinstance(res, Mapping):
        raise ValueError(f"field {f.result!r} is not an object")
    completion = row.get(f.completion, "")
    parsed = parse_completion(completion if isinstance(completion, (str, list)) else "")
    uri, image_size, image_note = _image_uri(row, f.image, root)
    size = _size_of(row_value(row, "image_size")) or image_size
    task = _task_of(row, res)
    gt, pred, pred_errors, dropped = _boxes(row, task, parsed.answer, size, coords, f)
    picture = _row_svg(uri, size or (1000, 1000), gt, pred, f"line {line_no}")
    comps = res.get("components")
    comp_rows: list[list[Any]] = [["total", res.get("total")]]
    comp_rows += [[k, v] for k, v in comps.items()] if isinstance(comps, Mapping) else []
    diag: list[list[Any]] = [
        ["task", task or "?"],
        ["parse_failed", res.get("parse_failed")],
        ["format_ok", res.get("format_ok")],
        ["truncated", res.get("truncated")],
    ]
    if task in BOX_TASKS:
        diag += [["boxes read", len(pred)], ["items dropped", dropped]]
    errors = list(dict.fromkeys(_reasons(res) + pred_errors))
    err_html = f"<p class='err'>{esc('; '.join(errors)[:500])}</p>" if errors else ""
    return (
        f'<section class="row" id="line-{line_no}">'
        f"<h3>line {line_no} &middot; {esc(res.get('reward', '?'))} &middot; "
        f"total {_fmt(res.get('total'))}</h3>"
        f'<div class="cols"><div class="pic">{picture}<p class="note">{esc(image_note)}'
        f' &middot; <span class="gt">ground truth</span> / <span class="pred">prediction</span>'
        f'</p></div><div class="txt"><h4>think</h4><pre>{_clip(parsed.think)}</pre>'
        f"<h4>answer</h4><pre>{_clip(parsed.answer)}</pre><h4>ground truth</h4>"
        f"<pre>{_clip(_solution_text(row.get(f.solution)))}</pre></div>"
        f'<div class="scores">{_table(["component", "value"], comp_rows)}'
        f"{_table(['diagnostic', 'value'], diag)}{err_html}</div></div></section>"
    )


def _card(line_no: int, row: Mapping[str, Any], root: Path, coords: str, f: _Fields) -> str:
    """:func:`_row_html`, or an error card when the row is malformed (never raises)."""
    try:
        return _row_html(line_no, row, root, coords, f)
    except Exception as exc:  # a malformed row must not stop the page
        return (
            f'<section class="row errcard" id="line-{line_no}"><h3>line {line_no}: '
            f"row not shown</h3><p class='err'>{esc(type(exc).__name__)}: "
            f"{esc(str(exc)[:300])}</p></section>"
        )


def _summary_html(data: ReportData) -> str:
    series = [("total", data.totals), *sorted(data.components.items())]
    stats = [
        [name, len(v), np.mean(v), np.std(v), min(v), max(v)] if v else [name, 0, *["-"] * 4]
        for name, v in series
    ]
    n = max(data.n_rows, 1)
    rates = [
        ["parse failed", data.parse_failed, data.parse_failed / n],
        ["format failed", data.format_failed, data.format_failed / n],
        ["truncated", data.truncated, data.truncated / n],
        ["not applicable", data.not_applicable, data.not_applicable / n],
    ]
    reasons = [[r, c] for r, c in data.error_reasons.most_common(10)]
    return (
        _table(["series", "n", "mean", "std", "min", "max"], stats)
        + _table(["rows that", "count", "rate"], rates)
        + (_table(["parse error", "rows"], reasons) if reasons else "")
        + _table(["task", "rows"], sorted(data.tasks.items()))
    )


def _link(line_no: int, text: str) -> str:
    return f'<a href="#line-{line_no}">{esc(text)}</a>'


def _result(row: Mapping[str, Any], f: _Fields) -> Mapping[str, Any]:
    res = row.get(f.result)
    return res if isinstance(res, Mapping) else {}


def _series_of(res: Mapping[str, Any]) -> dict[str, float]:
    """The finite total and components of one result."""
    out: dict[str, float] = {}
    total = _finite(res.get("total"))
    if total is not None:
        out["total"] = total
    comps = res.get("components")
    for key, value in comps.items() if isinstance(comps, Mapping) else ():
        number = _finite(value)
        if number is not None:
            out[str(key)] = number
    return out


def _orderings_html(data: ReportData, f: _Fields) -> str:
    """Pre-rendered orderings (by total, by each component) and groupings (by task, by parse
    error) of the sampled rows, as lists of links to their cards: sorting without script."""
    values = {line_no: _series_of(_result(row, f)) for line_no, row in data.sample}
    names = sorted({name for v in values.values() for name in v}, key=lambda n: (n != "total", n))
    parts: list[str] = []
    for name in names:
        ranked = sorted(
            ((ln, v[name]) for ln, v in values.items() if name in v), key=lambda t: (-t[1], t[0])
        )
        links = " ".join(_link(ln, f"{ln} ({value:.3f})") for ln, value in ranked)
        parts.append(
            f"<details><summary>by {esc(name)}, highest first</summary><p>{links}</p></details>"
        )
    groups: dict[str, list[int]] = {}
    for line_no, row in data.sample:
        res = _result(row, f)
        groups.setdefault(f"task: {_task_of(row, res) or '?'}", []).append(line_no)
        for reason in dict.fromkeys(_reasons(res)):
            groups.setdefault(f"parse error: {reason}", []).append(line_no)
    for name, lines in sorted(groups.items()):
        links = " ".join(_link(ln, str(ln)) for ln in lines)
        parts.append(
            f"<details><summary>{esc(name)} ({len(lines)})</summary><p>{links}</p></details>"
        )
    return "".join(parts)


def _metrics_html(metrics: Mapping[str, Any] | None) -> str:
    """The ``evaluate`` output: its scalar metrics flattened into one table."""
    if metrics is None:
        return ""
    rows: list[list[Any]] = []

    def walk(prefix: str, value: Any, depth: int) -> None:
        if isinstance(value, Mapping) and depth < 3:
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub, depth + 1)
        elif isinstance(value, (int, float, str, bool)) or value is None:
            rows.append([prefix, value])

    walk("", {k: v for k, v in metrics.items() if k not in ("input_errors", "notes")}, 0)
    return "<h2>Evaluation metrics</h2>" + _table(["metric", "value"], rows[:500])


_CSS = """body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1400px}
.hists{display:flex;flex-wrap:wrap;gap:1em}.row{border-top:1px solid #ccc;padding:.5em 0}
.cols{display:flex;gap:1.5em;align-items:flex-start}.pic{flex:0 0 330px}
.txt{flex:1 1 0;min-width:0}.scores{flex:0 0 260px;min-width:0;overflow-wrap:anywhere}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f6f6;padding:.4em;max-height:16em;overflow:auto}
table{border-collapse:collapse;margin-bottom:.5em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
.gt{color:#1a9850}.pred{color:#d73027}.err{color:#b00;overflow-wrap:anywhere}
.note{font-size:small;color:#555;overflow-wrap:anywhere}.errcard{background:#fff4f4}
details p{line-height:1.8}"""

#: The page's Content-Security-Policy: no script at all, no network, no frames or forms;
#: images only from ``data:`` URIs, styles only the page's own stylesheet (by hash).
CSP = (
    "default-src 'none'; script-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'; img-src data:; "
    "style-src 'sha256-"
    + base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode("ascii")
    + "'"
)


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
    metrics: Mapping[str, Any] | None = None,
) -> str:
    """The whole page as a string (self-contained: inline CSS, SVG and data-URI images).

    ``root`` is the image root: the only folder images are read from.
    """
    f = _Fields(result_field, completion_field, solution_field, image_field)
    hists = [svg_histogram(data.totals, "total reward")]
    hists += [svg_histogram(values, key) for key, values in sorted(data.components.items())]
    cards = "".join(_card(line_no, row, root, coords, f) for line_no, row in data.sample)
    note_html = "".join(f"<p class='note'>{esc(n)}</p>" for n in notes)
    summary = (
        f"{data.n_rows:,} scored rows; {len(data.sample)} sampled; "
        f"{len(data.errors)} unreadable lines; {data.unscored} rows without {result_field!r}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">'
        f'<meta name="referrer" content="no-referrer"><title>{esc(title)}</title>'
        f"<style>{_CSS}</style></head><body>\n<h1>{esc(title)}</h1><p>{esc(summary)}</p>"
        f"{note_html}\n<h2>Summary</h2>{_summary_html(data)}{_metrics_html(metrics)}"
        f'\n<h2>Distributions</h2><div class="hists">{"".join(hists)}</div>'
        f"\n<h2>Sampled completions</h2>{_orderings_html(data, f)}\n{cards}\n</body></html>\n"
    )


def write_pngs(data: ReportData, out_dir: Path) -> list[Path]:
    """PNG histograms of the total and each component (needs matplotlib)."""
    matplotlib = importlib.import_module("matplotlib")  # optional: the `report` extra
    matplotlib.use("Agg")
    plt = importlib.import_module("matplotlib.pyplot")

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    series = {"total": data.totals, **data.components}
    for index, (name, values) in enumerate(series.items()):
        if not values:
            continue
        fig, ax = plt.subplots(figsize=(4, 2.5))
        ax.hist(values, bins=20)
        ax.set_title(name)
        ax.set_ylabel("rows")
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60]
        path = out_dir / f"hist_{index:02d}_{safe}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written
