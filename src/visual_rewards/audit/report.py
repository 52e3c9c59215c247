"""Markdown tables and an inline-SVG plot of audit results (for docs and the HTML report).

Everything a model wrote is escaped (markdown: backticks and pipes; HTML/SVG:
:func:`html.escape`) and shortened; the SVG has no script, no external reference and no event
attribute, so an HTML report can include it as is.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from visual_rewards.audit.alignment import AlignmentTable
    from visual_rewards.audit.diagnostics import Diagnostics
    from visual_rewards.audit.search import AuditReport

__all__ = [
    "alignment_markdown",
    "alignment_svg",
    "audit_html_fragment",
    "audit_markdown",
    "diagnostics_markdown",
]


def _short(text: str, max_chars: int) -> str:
    """Escaped for a markdown code span; long answers keep their start and their end."""

    def esc(part: str) -> str:
        return part.encode("unicode_escape").decode("ascii").replace("`", "'").replace("|", "\\|")

    if len(text) > max_chars:
        head = max_chars // 3
        return esc(text[:head]) + " … " + esc(text[-(max_chars - head - 3) :])
    return esc(text)


def _num(value: float, digits: int = 3) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def audit_markdown(report: AuditReport, max_chars: int = 160) -> str:
    """Markdown of an :class:`~visual_rewards.audit.AuditReport` (answers escaped, shortened)."""
    lines = [
        f"**{report.reward}** ({report.task}): "
        + ("clean" if report.clean else f"{len(report.hacks)} hack(s)")
        + f" -- {report.evaluations:,} evaluations (budget {report.budget:,}, seed {report.seed})"
        + f" + {report.minimize_evaluations:,} to minimise, {report.seconds:.2f} s,"
        + f" {report.n_ground_truths} ground truth(s)",
    ]
    if report.clean:
        return lines[0] + "\n"
    lines += [
        "",
        "| kind | mutations | families | reward (vs) | metric (vs) | correct: reward / metric | found after | answer |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for h in report.hacks:
        lines.append(
            f"| {h.kind} | {', '.join(h.ops)} | {', '.join(h.families)} "
            f"| {_num(h.reward)} ({_num(h.reference_reward)}) | {_num(h.metric)} ({_num(h.reference_metric)}) "
            f"| {_num(h.correct_reward)} / {_num(h.correct_metric)} | {h.found_after:,} "
            f"| `{_short(h.completion, max_chars)}` |"
        )
    return "\n".join(lines) + "\n"


def alignment_markdown(tables: Sequence[AlignmentTable]) -> str:
    """One markdown table for several rewards: reward, score, tau, discordant pairs."""
    lines = [
        "| reward | score | Kendall τ | discordant pairs | pairs |",
        "|---|---|---|---|---|",
    ]
    for t in tables:
        for r in t.rows:
            lines.append(
                f"| {t.reward} | {r.score} | {_num(r.kendall_tau)} | {_num(r.discordant)} | {r.pairs:,} |"
            )
    return "\n".join(lines) + "\n"


def diagnostics_markdown(d: Diagnostics) -> str:
    """Markdown summary of GRPO diagnostics."""
    shares = ", ".join(f"{k} {_num(v)}" for k, v in d.component_share.items())
    return (
        f"- rows: {d.rows:,}; groups (≥ 2 completions): {d.groups:,}\n"
        f"- zero-variance groups: {d.zero_variance_groups:,} ({_num(d.zero_variance_fraction)})\n"
        f"- share of the advantage variance: {shares}\n"
        f"- fitted weights: {d.weights} (largest residual {_num(d.fit_residual, 6)})\n"
        f"- groups whose top-reward completion is not the top-metric one: "
        f"{d.top_mismatch_groups:,} of {d.metric_spread_groups:,} with a metric spread\n"
    )


_W, _ROW, _LEFT, _BAR = 560, 18, 230, 300


def alignment_svg(tables: Sequence[AlignmentTable]) -> str:
    """A horizontal bar chart of Kendall τ (−1..1) per reward and score, as inline SVG.

    >>> from visual_rewards.audit.alignment import AlignmentRow, AlignmentTable
    >>> t = AlignmentTable("r<1>", "grounding", 1, 8, 0, (AlignmentRow("total", 0.5, 0.1, 20),))
    >>> svg = alignment_svg([t])
    >>> svg.startswith("<svg") and "r&lt;1&gt;" in svg and "<script" not in svg
    True
    """
    rows = [(t.reward, r.score, r.kendall_tau) for t in tables for r in t.rows]
    height = _ROW * (len(rows) + 2)
    mid = _LEFT + _BAR / 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" '
        f'viewBox="0 0 {_W} {height}" role="img" aria-label="Kendall tau of reward vs metric" '
        'font-family="sans-serif" font-size="11">',
        f'<line x1="{mid}" y1="0" x2="{mid}" y2="{height - _ROW}" stroke="#999"/>',
        f'<text x="{_LEFT}" y="{height - 4}">-1</text>'
        f'<text x="{mid - 3}" y="{height - 4}">0</text>'
        f'<text x="{_LEFT + _BAR - 8}" y="{height - 4}">1</text>',
    ]
    for i, (reward, score, tau) in enumerate(rows):
        y = _ROW * (i + 0.5)
        label = html.escape(f"{reward} · {score}", quote=True)
        parts.append(f'<text x="4" y="{y + 12:.1f}">{label}</text>')
        if math.isnan(tau):
            parts.append(f'<text x="{mid + 4}" y="{y + 12:.1f}" fill="#999">n/a</text>')
            continue
        width = abs(tau) * _BAR / 2
        x = mid if tau >= 0 else mid - width
        colour = "#2b7" if tau >= 0.5 else "#e92" if tau >= 0 else "#d33"
        parts.append(
            f'<rect x="{x:.1f}" y="{y + 2:.1f}" width="{width:.1f}" height="{_ROW - 4}" fill="{colour}">'
            f"<title>{label}: τ = {tau:.3f}</title></rect>"
        )
        parts.append(f'<text x="{_LEFT + _BAR + 6}" y="{y + 12:.1f}">{tau:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def audit_html_fragment(
    tables: Sequence[AlignmentTable] = (), reports: Sequence[AuditReport] = ()
) -> str:
    """An HTML ``<section>`` with the alignment plot and table and the audits' hacks, every
    model-written string escaped -- for the HTML report to include."""
    out = ['<section class="vr-audit"><h2>Reward audit</h2>']
    if tables:
        out.append("<h3>Reward–metric alignment (Kendall τ)</h3>")
        out.append(alignment_svg(tables))
        out.append("<table><tr><th>reward</th><th>score</th><th>τ</th><th>discordant</th></tr>")
        for t in tables:
            for r in t.rows:
                out.append(
                    f"<tr><td>{html.escape(t.reward)}</td><td>{html.escape(r.score)}</td>"
                    f"<td>{_num(r.kendall_tau)}</td><td>{_num(r.discordant)}</td></tr>"
                )
        out.append("</table>")
    for rep in reports:
        status = "clean" if rep.clean else f"{len(rep.hacks)} hack(s)"
        out.append(f"<h3>{html.escape(rep.reward)}: {status}</h3>")
        if rep.hacks:
            out.append(
                "<table><tr><th>kind</th><th>mutations</th><th>reward</th><th>metric</th><th>answer</th></tr>"
            )
            for h in rep.hacks:
                out.append(
                    f"<tr><td>{h.kind}</td><td>{html.escape(', '.join(h.ops))}</td>"
                    f"<td>{_num(h.reward)} ({_num(h.reference_reward)})</td>"
                    f"<td>{_num(h.metric)} ({_num(h.reference_metric)})</td>"
                    f"<td><code>{html.escape(h.completion[:300])}</code></td></tr>"
                )
            out.append("</table>")
    out.append("</section>")
    return "".join(out)
