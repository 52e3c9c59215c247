"""The classification reward: pay only a correct, single class.

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
    of the completion (no DOTALL; the whole text when there is none; see
    :func:`~visual_rewards.parsing.visual_rft_answer`) and of the solution,
    strip, delete spaces and ``_``, lower-case, and pay 1 when either string contains the
    other. It is exploitable by design: an empty answer is contained in every class name, and
    an answer listing every class contains the right one. (The released code first tried a
    math-verify comparison; like the detection preset, this one leaves that shortcut out.)

Components: ``"accuracy"`` (0 or 1) and ``"format"`` (the shared format component: the strict
rule for ``default``, the paper's regex for ``visual_rft``); ``total = accuracy_weight *
accuracy + format_weight * format``. A malformed ground truth follows the shared policy of
:mod:`visual_rewards.rewards.base`.
"""

from __future__ import annotations

import math
import os
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
from visual_rewards.parsing.completion import ParsedCompletion, visual_rft_answer
from visual_rewards.rewards.base import Reward, RewardResult, SharedOptions, check_lengths
from visual_rewards.targets import BoundedCache, ClassTarget, class_target

__all__ = ["ClassificationConfig", "ClassificationReward", "as_label_set"]


@dataclass(frozen=True)
class ClassificationConfig(SharedOptions):
    """Options of :class:`ClassificationReward`, besides the shared ones
    (:class:`~visual_rewards.rewards.base.SharedOptions`).

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
        accuracy_weight, format_weight: weights of the components in ``total``.
    """

    rule: Literal["strict", "visual_rft"] = "strict"
    labels: LabelSet | None = None
    fuzzy: bool = True
    fuzzy_cutoff: float = DEFAULT_FUZZY_CUTOFF
    fuzzy_margin: float = DEFAULT_FUZZY_MARGIN
    fuzzy_max_edits: int = DEFAULT_FUZZY_MAX_EDITS
    max_answer_chars: int = 128
    accuracy_weight: float = 1.0


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


class _TruthCache(BoundedCache[str, _Truth]):
    """A reward's ground-truth strings already read: only what ``_truth`` returns for them."""

    def chars_of(self, key: str, value: _Truth) -> tuple[int, int]:
        return len(key), 2 * sum(len(k) for k in value.keys) + 64  # keys, compacts, the record


def _truth_cache() -> _TruthCache:
    return _TruthCache(max_entries=1 << 14, max_chars=1 << 22)


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
    #: Ground-truth strings read before (validated and normalised), bounded in entries and
    #: characters; not pickled. A pure function of the string and the config, so a hit gives
    #: what reading the string again would.
    _truth_cache: _TruthCache

    def __init__(self, preset: str = "default", **kwargs: Any) -> None:
        super().__init__(preset, **kwargs)
        object.__setattr__(self, "_truth_cache", _truth_cache())

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_truth_cache"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _truth_cache=_truth_cache())

    @classmethod
    def _prepare_options(cls, overrides: dict[str, Any]) -> dict[str, Any]:
        if overrides.get("labels") is not None:
            overrides["labels"] = as_label_set(overrides["labels"])
        return overrides

    def _check_options(self) -> None:
        cfg = self.config
        if cfg.rule not in ("strict", "visual_rft"):
            raise ValueError(f"rule must be 'strict' or 'visual_rft', got {cfg.rule!r}")
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

    # -- ground truth -------------------------------------------------------------------------

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
        """Every row's ground truth (None where malformed, reported): strings from the
        bounded cache, or read and then cached; other values read every time."""
        out: list[_Truth | None] = []
        cache = self._truth_cache
        for row, raw in enumerate(solutions):
            is_str = isinstance(raw, str)
            truth = cache.get(raw) if is_str else None
            if truth is None:
                try:
                    truth = self._truth(raw)
                except ValueError as exc:
                    self.malformed(row, str(exc))
                    out.append(None)
                    continue
                if is_str:
                    cache.put(raw, truth)
            out.append(truth)
        return out

    # -- scoring ------------------------------------------------------------------------------

    def score(
        self, completions: Sequence[Any], solutions: Sequence[Any] | None = None, **columns: Any
    ) -> RewardResult:
        """Score ``B`` completions against ``B`` ground-truth classes.

        Returns ``components["accuracy"]`` and ``components["format"]``, each ``(B,)`` in
        ``{0, 1}`` (``accuracy`` and ``total`` NaN on rows with a malformed ground truth).
        """
        n = check_lengths(completions, solutions)
        assert solutions is not None
        truths = self._truths(solutions)
        if self.config.rule == "visual_rft":
            texts, fmt = self.read_texts(completions)
            acc, failed = self._accuracy_paper(texts, truths)
        else:
            parsed, fmt = self.read_completions(completions)
            acc, failed = self._accuracy_strict(parsed, truths)
        missing = np.fromiter((t is None for t in truths), dtype=bool, count=n)
        return self.result(
            {"accuracy": np.asarray(acc, dtype=np.float64).reshape(n), "format": fmt},
            np.asarray(failed, dtype=bool).reshape(n),
            missing,
        )

    def _accuracy_strict(
        self, parsed: Sequence[ParsedCompletion], truths: list[_Truth | None]
    ) -> tuple[list[float], list[bool]]:
        cfg = self.config
        labels = cfg.labels
        max_chars = cfg.max_answer_chars
        fuzzy = cfg.fuzzy
        acc: list[float] = []
        failed: list[bool] = []
        # Per-call memos: answers and (answer, truth) pairs repeat within a GRPO batch.
        keys: dict[str, str] = {}
        verdicts: dict[tuple[str, int], float] = {}
        for pc, truth in zip(parsed, truths, strict=True):
            answer = pc.answer
            failed.append(answer is None)
            if truth is None:
                acc.append(math.nan)
                continue
            if answer is None or pc.truncated:
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
        return acc, failed

    def _accuracy_paper(
        self, texts: Sequence[str], truths: list[_Truth | None]
    ) -> tuple[list[float], list[bool]]:
        acc: list[float] = []
        failed: list[bool] = []
        for text, truth in zip(texts, truths, strict=True):
            answer = visual_rft_answer(text)
            failed.append(answer is None)
            if truth is None:
                acc.append(math.nan)
                continue
            student = _paper_key((text if answer is None else answer).strip())
            hit = any(gt in student or student in gt for gt in truth.keys)
            acc.append(1.0 if hit else 0.0)
        return acc, failed


def _paper_solution(solution: str) -> str:
    """The paper's extraction of the ground truth: first ``<answer>(.*?)</answer>``, stripped."""
    answer = visual_rft_answer(solution)
    return (solution if answer is None else answer).strip()


def _paper_key(text: str) -> str:
    """The paper's normalisation: delete spaces and underscores, lower-case."""
    return text.replace(" ", "").replace("_", "").lower()
