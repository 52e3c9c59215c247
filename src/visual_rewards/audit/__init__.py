"""Reward audit: find the hacks before the GPU does, and measure how well a reward tracks the
task's true metric.

* :func:`audit` -- search for answers a reward pays at least as well as better ones;
* :func:`alignment` -- Kendall τ and discordant pairs of reward (and components) vs metric;
* :func:`grpo_diagnostics` -- learning-signal diagnostics of a scored training log;
* :mod:`visual_rewards.audit.report` -- markdown tables and an inline-SVG plot.

The command line is ``visual-rewards audit`` (:mod:`visual_rewards.cli.audit`).
"""

from visual_rewards.audit.alignment import AlignmentRow, AlignmentTable, alignment
from visual_rewards.audit.diagnostics import Diagnostics, grpo_diagnostics, read_debug_log
from visual_rewards.audit.metrics import MetricContext, image_ap, task_metric
from visual_rewards.audit.report import alignment_svg, audit_html_fragment
from visual_rewards.audit.search import AuditReport, Hack, audit

__all__ = [
    "AlignmentRow",
    "AlignmentTable",
    "AuditReport",
    "Diagnostics",
    "Hack",
    "MetricContext",
    "alignment",
    "alignment_svg",
    "audit",
    "audit_html_fragment",
    "grpo_diagnostics",
    "image_ap",
    "read_debug_log",
    "task_metric",
]
