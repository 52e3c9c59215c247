"""Slow, obviously correct references for the classification reward (the judges of the fast path).

- :func:`paper_accuracy` / :func:`paper_format`: the Visual-RFT paper's released classification
  rule, restated step by step (first ``<answer>(.*?)</answer>`` without DOTALL, else the whole
  text; strip; delete spaces and underscores; lower-case; 1 when either contains the other).
  The released code's math-verify shortcut is left out, as in the ``visual_rft`` preset.
- :func:`ref_normalize`, :func:`ref_distance`, :func:`ref_match`: the ``default`` rule
  written directly from its definition in ``visual_rewards.geometry.labels``, with a plain dynamic
  programming edit distance and linear scans instead of rapidfuzz and lookup tables.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

PAPER_ANSWER = re.compile(r"<answer>(.*?)</answer>")
PAPER_FORMAT = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.DOTALL)


def _paper_extract(text: str) -> str:
    found = PAPER_ANSWER.search(text)
    if found is None:
        return text.strip()
    return found.group(1).strip()


def _paper_squash(text: str) -> str:
    return text.replace(" ", "").replace("_", "").lower()


def paper_accuracy(content: str, solution: str) -> float:
    """The paper's classification accuracy reward for one completion."""
    truth = _paper_squash(_paper_extract(solution))
    student = _paper_squash(_paper_extract(content))
    return 1.0 if (truth in student or student in truth) else 0.0


def paper_format(content: str) -> float:
    """The paper's format reward for one completion."""
    return 1.0 if PAPER_FORMAT.fullmatch(content) else 0.0


def ref_normalize(text: str) -> str:
    """Normalisation from its definition: NFKD, drop combining marks, casefold, delete
    apostrophes, every non-alphanumeric character a space, collapse spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    kept = []
    for c in folded:
        if c in "'\u2019\u02bc`":
            continue
        kept.append(c if c.isalnum() else " ")
    return " ".join("".join(kept).split())


def ref_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance (insert, delete, substitute, swap two adjacent
    characters; each costs 1; no substring is edited twice), by dynamic programming."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def ref_similarity(a: str, b: str) -> float:
    """``1 - distance / max(len)`` (1.0 for two empty strings)."""
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - ref_distance(a, b) / longest


def _similarity_bound(a: str, b: str) -> float:
    """An upper bound of :func:`ref_similarity`. Each edit changes the multiset of characters
    by at most one character on each side, so the distance is at least the bag distance."""
    longest = max(len(a), len(b))
    if longest == 0:
        return 1.0
    ca, cb = Counter(a), Counter(b)
    bag = max(sum((ca - cb).values()), sum((cb - ca).values()))
    return 1.0 - bag / longest


def _compact(text: str) -> str:
    return text.replace(" ", "")


@functools.lru_cache(maxsize=16)
def _label_keys(labels: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(ref_normalize(lab) for lab in labels)


def ref_lookup(key: str, label_keys: Sequence[str]) -> int | None:
    """Which class a normalised text names exactly: its normalised form, or its compact form
    when that is some class's normalised form or exactly one class's compact form."""
    if key in label_keys:
        return label_keys.index(key)
    compact = _compact(key)
    if compact in label_keys:
        return label_keys.index(compact)
    hits = [i for i, k in enumerate(label_keys) if _compact(k) == compact]
    return hits[0] if len(hits) == 1 else None


def _mention(span: str, label_keys: Sequence[str]) -> int | None:
    if span in label_keys:
        return label_keys.index(span)
    if " " in span:
        return None
    hits = [i for i, k in enumerate(label_keys) if _compact(k) == span]
    return hits[0] if len(hits) == 1 else None


def ref_match(
    answer: str,
    truth: Sequence[str],
    labels: Sequence[str] | None,
    cutoff: float = 0.85,
    margin: float = 0.01,
    fuzzy: bool = True,
    max_edits: int = 2,
) -> bool:
    """The ``default`` rule, from its definition (see ``visual_rewards.geometry.labels``)."""
    key = ref_normalize(answer)
    if not key:
        return False
    truth_keys = [ref_normalize(t) for t in truth]
    if key in truth_keys or _compact(key) in [_compact(k) for k in truth_keys]:
        return True
    if labels is None:
        return False
    label_keys = _label_keys(tuple(labels))
    gt = label_keys.index(truth_keys[0])
    if ref_lookup(key, label_keys) is not None:
        return False
    if not fuzzy:
        return False
    near = [k for k in truth_keys if ref_distance(key, k) <= max_edits]
    gt_score = max((ref_similarity(key, k) for k in near), default=-1.0)
    if gt_score < cutoff - 1e-9:
        return False
    # classes whose length alone keeps them below gt_score - margin cannot matter
    floor = gt_score - margin - 1e-9
    others = [
        ref_similarity(key, k)
        for i, k in enumerate(label_keys)
        if i != gt and _similarity_bound(key, k) >= floor
    ]
    best_other = max(others, default=-1.0)
    if best_other >= gt_score or best_other > gt_score - margin + 1e-9:
        return False
    words = key.split(" ")
    for i in range(len(words)):
        for j in range(i + 1, len(words) + 1):
            idx = _mention(" ".join(words[i:j]), label_keys)
            if idx is None or idx == gt:
                continue
            if not any(f" {label_keys[idx]} " in f" {k} " for k in truth_keys):
                return False
    return True
