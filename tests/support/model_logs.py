"""Real model outputs from ``../shared/data`` for tests and benchmarks (no pytest import).

The benchmarks run in the core + test environment without pytest, so what they share with the
tests lives here rather than in a test module.
"""

from __future__ import annotations

import re
from pathlib import Path

#: A VLM-R1 GRPO debug log of Qwen2.5-VL-3B (referring expressions), relative to the data root.
LOG = "model_outputs/vlmr1_rec_qwen2.5vl3b_grpo_debug.txt"
_HEADER = re.compile(r"^-{13} \S+ (?:Accuracy|Length) reward: \S+ -{13}\n", re.MULTILINE)
_SOLUTION = re.compile(r"\nSolution: [^\n]*\n?$")


def load_log_completions(root: Path) -> list[str]:
    """The completions of the shared GRPO log, in order (one per ``Content:`` block).

    ``root`` is the shared data folder (the one holding ``model_outputs/``).
    """
    text = (root / LOG).read_text(encoding="utf-8")
    out = []
    for block in _HEADER.split(text)[1:]:
        if not block.startswith("Content: "):
            raise ValueError(f"{root / LOG}: a block does not start with 'Content: '")
        out.append(_SOLUTION.sub("", block[len("Content: ") :].rstrip("\n")))
    return out
