"""The classification reward: pay only a correct, single class (DESIGN §4.5).

Two presets:

``"default"``
    The answer (the ``<answer>`` block, see :func:`~visual_rewards.parse_completion`) is
    normalised (:func:`~visual_rewards.geometry.labels.normalize_label`) and must equal the ground truth
    or one of its aliases; with a closed label set (``labels=[...]`` or a class-names file) a
    near match counts too, when it is unambiguous -- see :mod:`visual_rewards.geometry.labels` for the
    exact rule. Empty answers, answers naming another class or several classes, truncated
    answers and answers longer than ``max_answer_chars`` earn 0.
``"visual_rft"``
    The paper's released rule, reproduced exactly: take the first ``<answer>(.*?)</answer>``
    of the completion (no DOTALL; the whole text when there is none) and of the solution,
    strip, delete spaces and ``_``, lower-case, and pay 1 when either string contains the
    other. It is exploitable by design: an empty answer is contained in every class name, and
    an answer listing every class contains the right one. (The released code first tried a
    math-verify comparison; like the detection preset, this one leaves that shortcut out.)

Components: ``"accuracy"`` (0 or 1) and ``"format"`` (the strict format of DESIGN §4.1 for
``default``, the paper's regex for ``visual_rft``); ``total = accuracy_weight * accuracy +
format_weight * format``. A malformed ground truth makes the row not applicable (NaN, ``None``
for TRL) with a warning naming the row, or raises with ``strict=True``.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from visual_rewards.geometry.labels import (
    DEFAULT_FUZZY_CUTOFF,
    DEFAULT_FUZZY_MARGIN,
    DEFAULT_FUZZY_MAX_EDITS,
    LabelSet,
    compact_label,
    match_normalized,
    normalize_label,
)
from visual_rewards.parsing import completion_text, parse_completion
from visual_rewards.rewards.base import Reward, RewardResult, check_lengths
from visual_rewards.rewards.format import visual_rft_format_ok
from visual_rewards.rewards.paper import first_answer
from visual_rewards.targets_misc import ClassTarget, class_target

__all__ = ["ClassificationConfig", "ClassificationReward", "as_label_set"]


@dataclass(frozen=True)
class ClassificationConfig:
    """Options of :class:`ClassificationReward`.

    Attributes:
        rule: ``"strict"`` (the ``default`` preset's single-class rule) or ``"visual_rft"``
            (the paper's substring rule).
        labels: the closed label set (``strict`` only); the ground truth must belong to it.
            Pass a list of names, a class-names file path, or a :class:`LabelSet`.
        fuzzy: with a label set, accept unambiguous near matches (typos).
        fuzzy_cutoff: minimum similarity of a near match, in ``(0, 1]`` (see
            :func:`~visual_rewards.geometry.labels.label_similarity`).
        fuzzy_margin: how much more similar than any other class the ground truth must be.
        fuzzy_max_edits: a near match is at most this many edits from the ground truth.
        max_answer_chars: longer answers (after stripping) earn 0.
        format_rule: ``"strict"`` or ``"visual_rft"`` (see :class:`~visual_rewards.FormatReward`).
        accuracy_weight, format_weight: weights of the components in ``total``.
        strict: raise ``ValueError`` on a malformed ground truth instead of warning.
    """

    rule: Literal["strict", "visual_rft"] = "strict"
    labels: LabelSet | None = None
    fuzzy: bool = True
    fuzzy_cutoff: float = DEFAULT_FUZZY_CUTOFF
    fuzzy_margin: float = DEFAULT_FUZZY_MARGIN
    fuzzy_max_edits: int = DEFAULT_FUZZY_MAX_EDITS
    max_answer_chars: int = 128
    format_rule: Literal["strict", "visual_rft"] = "strict"
    accuracy_weight: float = 1.0
    format_weight: float = 1.0
    strict: bool = False


def as_label_set(labels: LabelSet | str | os.PathLike[str] | Iterable[str]) -> LabelSet:
    """A :class:`LabelSet` from a label set, a class-names file path, or a sequence of names.

    >>> as_label_set(["rose", "tulip"])
    LabelSet(['rose', 'tulip'], n=2)
    """
    if isinstance(labels, LabelSet):
        return labels
    if isinstance(labels, (str, os.PathLike)):
        return LabelSet.from_file(labels)
    return LabelSet(labels)


@dataclass(frozen=True, slots=True)
class _Truth:
    keys: tuple[str, ...]  # normalised ground truth, then aliases (strict rule)
    index: int  # position in the label set, -1 without one
    compacts: frozenset[str] = frozenset()  # the keys without spaces (strict rule)


class ClassificationReward(Reward):
    """Reward for naming the right class, and only it.

    Presets ``"default"`` and ``"visual_rft"`` (module docstring). Options are the fields of
    :class:`ClassificationConfig`; ``labels`` may be a list of names or a class-names file.

    >>> r = ClassificationReward(labels=["Abyssinian", "Bengal", "Persian", "Siamese cat"])
    >>> res = r.score(["<think>ticked coat</think><answer>abyssinian</answer>",
    ...                "<think>?</think><answer>Abyssinian or Bengal</answer>",
    ...                "<think>?</think><answer>Siamese kat</answer>",
    ...                "<think>?</think><answer></answer>"],
    ...               ["Abyssinian", "Abyssinian", "<answer>Siamese cat</answer>", "Bengal"])
    >>> res.components["accuracy"], res.components["format"]
    (array([1., 0., 1., 0.]), array([1., 1., 1., 0.]))
    >>> ClassificationReward("visual_rft").score(["<think>x</think><answer></answer>"],
    ...                                          ["Bengal"]).total
    array([2.])
    """

    task: ClassVar[str] = "classification"
    presets: ClassVar[dict[str, ClassificationConfig]] = {
        "default": ClassificationConfig(),
        "visual_rft": ClassificationConfig(rule="visual_rft", format_rule="visual_rft"),
    }

    config: ClassificationConfig

    def __init__(
        self,
        preset: str = "default",
        *,
        solution_column: str = "solution",
        name: str | None = None,
        **overrides: Any,
    ) -> None:
        if overrides.get("labels") is not None:
            overrides["labels"] = as_label_set(overrides["labels"])
        super().__init__(preset, solution_column=solution_column, name=name, **overrides)

    def _check_config(self) -> None:
        cfg = self.config
        if cfg.rule not in ("strict", "visual_rft"):
            raise ValueError(f"rule must be 'strict' or 'visual_rft', got {cfg.rule!r}")
        if cfg.format_rule not in ("strict", "visual_rft"):
            raise ValueError(
                f"format_rule must be 'strict' or 'visual_rft', got {cfg.format_rule!r}"
            )
        if cfg.rule == "visual_rft" and cfg.labels is not None:
            raise ValueError("labels are not used by rule='visual_rft' (the paper's rule)")
        if not 0.0 < cfg.fuzzy_cutoff <= 1.0:
            raise ValueError(f"fuzzy_cutoff must be in (0, 1], got {cfg.fuzzy_cutoff!r}")
        if not 0.0 <= cfg.fuzzy_margin < 1.0:
            raise ValueError(f"fuzzy_margin must be in [0, 1), got {cfg.fuzzy_margin!r}")
        if not (isinstance(cfg.fuzzy_max_edits, int) and cfg.fuzzy_max_edits >= 1):
            raise ValueError(f"fuzzy_max_edits must be an int >= 1, got {cfg.fuzzy_max_edits!r}")
        if not (isinstance(cfg.max_answer_chars, int) and cfg.max_answer_chars >= 1):
            raise ValueError(
                f"max_answer_chars must be a positive int, got {cfg.max_answer_chars!r}"
            )
        for key in ("accuracy_weight", "format_weight"):
            value = getattr(cfg, key)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{key} must be a finite number >= 0, got {value!r}")

    # -- ground truth -------------------------------------------------------------------------

    def _malformed(self, row: int, reason: str) -> None:
        message = f"{self.__name__}: row {row}: malformed ground truth ({reason})"
        if self.config.strict:
            raise ValueError(message)
        warnings.warn(f"{message}; the row scores None (not applicable)", stacklevel=3)

    def _truth(self, raw: Any) -> _Truth:
        """Validate and normalise one ground truth; ``ValueError`` says what is wrong."""
        if self.config.rule == "visual_rft":
            if isinstance(raw, str):  # the paper's own extraction, byte for byte
                paper_names: tuple[str, ...] = (_paper_solution(raw),)
            else:
                given = class_target(raw)
                paper_names = (given.label, *given.aliases)
            keys = tuple(_paper_key(n) for n in paper_names)
            if not all(keys):
                raise ValueError("empty class name")
            return _Truth(keys, -1)
        target: ClassTarget = class_target(raw)
        names = (target.label, *target.aliases)
        keys = tuple(normalize_label(n) for n in names)
        if not all(keys):
            bad = names[keys.index("")]
            raise ValueError(f"class name {bad!r} is empty after normalisation")
        index = -1
        labels = self.config.labels
        if labels is not None:
            found = labels.lookup(keys[0])
            if found is None:
                raise ValueError(f"class {target.label!r} is not in the label set")
            index = found
            if keys[0] != labels.keys[index]:  # e.g. written compact: match the canonical form
                keys = (labels.keys[index], *keys)
        return _Truth(keys, index, frozenset(compact_label(k) for k in keys))

    def _truths(self, solutions: Sequence[Any]) -> list[_Truth | None]:
        out: list[_Truth | None] = []
        memo: dict[str, _Truth] = {}
        for row, raw in enumerate(solutions):
            if isinstance(raw, str) and raw in memo:
                out.append(memo[raw])
                continue
            try:
                truth = self._truth(raw)
            except ValueError as exc:
                self._malformed(row, str(exc))
                out.append(None)
                continue
            if isinstance(raw, str):
                memo[raw] = truth
            out.append(truth)
        return out

    # -- scoring ------------------------------------------------------------------------------

    def score(
        self, completions: Sequence[Any], solutions: Sequence[Any] | None = None, **columns: Any
    ) -> RewardResult:
        """Score ``B`` completions against ``B`` ground-truth classes.

        Returns ``components["accuracy"]`` and ``components["format"]``, each ``(B,)`` in
        ``{0, 1}`` (NaN on rows with a malformed ground truth).
        """
        n = check_lengths(completions, solutions)
        assert solutions is not None
        truths = self._truths(solutions)
        cfg = self.config
        if cfg.rule == "visual_rft":
            acc, fmt, failed = self._accuracy_paper(completions, truths)
        else:
            acc, fmt, failed = self._accuracy_strict(completions, truths)
        if cfg.format_rule == "visual_rft":
            fmt = [1.0 if visual_rft_format_ok(completion_text(c)) else 0.0 for c in completions]
        elif fmt is None:
            fmt = [1.0 if parse_completion(c).format_ok else 0.0 for c in completions]
        accuracy = np.asarray(acc, dtype=np.float64).reshape(n)
        fmt_arr = np.asarray(fmt, dtype=np.float64).reshape(n)
        missing = np.fromiter((t is None for t in truths), dtype=bool, count=n)
        fmt_arr[missing] = np.nan
        total = cfg.accuracy_weight * accuracy + cfg.format_weight * fmt_arr
        return RewardResult(
            total=total,
            components={"accuracy": accuracy, "format": fmt_arr},
            parse_failed=np.asarray(failed, dtype=bool).reshape(n),
        )

    def _accuracy_strict(
        self, completions: Sequence[Any], truths: list[_Truth | None]
    ) -> tuple[list[float], list[float] | None, list[bool]]:
        cfg = self.config
        labels = cfg.labels
        max_chars = cfg.max_answer_chars
        fuzzy = cfg.fuzzy
        acc: list[float] = []
        fmt: list[float] = []
        failed: list[bool] = []
        # Per-call memos: answers and (answer, truth) pairs repeat within a GRPO batch.
        keys: dict[str, str] = {}
        verdicts: dict[tuple[str, int], float] = {}
        for completion, truth in zip(completions, truths, strict=True):
            parsed = parse_completion(completion)
            fmt.append(1.0 if parsed.format_ok else 0.0)
            answer = parsed.answer
            failed.append(answer is None)
            if truth is None:
                acc.append(math.nan)
                continue
            if answer is None or parsed.truncated:
                acc.append(0.0)
                continue
            key = keys.get(answer)
            if key is None:
                fits = len(answer) <= max_chars or len(answer.strip()) <= max_chars
                key = keys[answer] = normalize_label(answer) if fits else ""
            # the steps of labels.match_normalized, cheapest first; only a near-match search
            # goes through it (and is memoised)
            if not key:
                acc.append(0.0)
            elif key in truth.keys or compact_label(key) in truth.compacts:
                acc.append(1.0)
            elif labels is None or not fuzzy or labels.lookup(key) is not None:
                acc.append(0.0)  # no near matching, or exactly another class
            else:
                pair = (key, id(truth))
                verdict = verdicts.get(pair)
                if verdict is None:
                    hit = match_normalized(
                        key,
                        truth.keys,
                        truth.index,
                        labels,
                        fuzzy=True,
                        cutoff=cfg.fuzzy_cutoff,
                        margin=cfg.fuzzy_margin,
                        max_edits=cfg.fuzzy_max_edits,
                    )
                    verdict = verdicts[pair] = 1.0 if hit else 0.0
                acc.append(verdict)
        return acc, fmt, failed

    def _accuracy_paper(
        self, completions: Sequence[Any], truths: list[_Truth | None]
    ) -> tuple[list[float], list[float] | None, list[bool]]:
        acc: list[float] = []
        failed: list[bool] = []
        for completion, truth in zip(completions, truths, strict=True):
            text = completion_text(completion)
            found = first_answer(text)  # the released extraction, in linear time
            failed.append(found is None)
            if truth is None:
                acc.append(math.nan)
                continue
            student = _paper_key(found.strip() if found is not None else text.strip())
            hit = any(gt in student or student in gt for gt in truth.keys)
            acc.append(1.0 if hit else 0.0)
        return acc, None, failed


def _paper_solution(solution: str) -> str:
    """The paper's extraction of the ground truth: first ``<answer>(.*?)</answer>``, stripped."""
    found = first_answer(solution)
    return found.strip() if found is not None else solution.strip()


def _paper_key(text: str) -> str:
    """The paper's normalisation: delete spaces and underscores, lower-case."""
    return text.replace(" ", "").replace("_", "").lower()
