"""Class labels: normalisation, label sets, and the single-class matching rule.

Pure functions and immutable objects, no reward logic. The rule a classification answer must
pass under the ``default`` preset of :class:`~visual_rewards.ClassificationReward`:

1. **Normalise** both sides with :func:`normalize_label` (case, diacritics, ``_``/``-``,
   punctuation, whitespace). The *compact* key additionally drops every space, so
   ``"AmericanPitBull_Terrier"`` and ``"american pit bull terrier"`` meet.
2. **Exact**: the normalised (or compact) answer equals the ground truth or one of its aliases.
3. **Closed label set** (optional, a :class:`LabelSet`): an answer that is exactly *another*
   class earns nothing. Otherwise, with fuzzy matching on, the answer must be within
   ``max_edits`` edits of the ground truth, its similarity to it must reach ``cutoff``, every
   other class must score at least ``margin`` lower (ties lose), and the answer must not
   contain, as whole words, the exact name of another class that is not part of the ground
   truth's own name (so ``"american pit bull terrier pug"`` names two classes and earns
   nothing, while ``"englsh setter"`` is not refused merely because ``"setter"`` is a class).

Edits are counted by the optimal-string-alignment distance (rapidfuzz's ``OSA``: insert,
delete, substitute, or swap two adjacent characters, each 1), and similarity is
``1 - distance / max(len(a), len(b))``: one typo in an 8-character name gives 0.875.

Label sets are preprocessed once (normalised keys, lookup tables) and are frozen, hashable and
picklable, so a reward can hold one and score millions of answers against it.
"""

from __future__ import annotations

import bisect
import math
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

__all__ = [
    "DEFAULT_FUZZY_CUTOFF",
    "DEFAULT_FUZZY_MARGIN",
    "DEFAULT_FUZZY_MAX_EDITS",
    "LabelSet",
    "compact_label",
    "label_similarity",
    "match_label",
    "normalize_label",
]

#: Minimum similarity of a fuzzy match (see :func:`label_similarity`): one typo in an
#: 8-character name scores 0.875.
DEFAULT_FUZZY_CUTOFF = 0.85
#: The ground truth must beat every other class by this much similarity: for names of up to
#: 100 characters, one edit closer is enough.
DEFAULT_FUZZY_MARGIN = 0.01
#: A near match is at most this many edits from the ground truth: one or two typos (a swap of
#: two adjacent letters is one), but not another class name glued on (``"orchidrose"``: 4).
DEFAULT_FUZZY_MAX_EDITS = 2

_NON_WORD_RE = re.compile(r"[\W_]+")
#: ASCII fast path of the same rule: letters lower-cased, digits kept, everything else a space.
_ASCII_TABLE = bytes(
    c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122) else 32 for c in range(256)
)
_APOSTROPHES = ("'", "\u2019", "\u02bc", "`")
_EPS = 1e-9


def normalize_label(text: str) -> str:
    """Return the canonical form of a class name or an answer.

    Lower-cases (Unicode case folding), strips diacritics, deletes apostrophes
    (``"colt's"`` -> ``"colts"``), turns every other run of non-alphanumeric characters
    (``_``, ``-``, ``/``, ``.``, punctuation, whitespace) into one space, and trims.

    >>> normalize_label("  American_Pit-Bull  TERRIER. ")
    'american pit bull terrier'
    >>> normalize_label("Café Crème"), normalize_label("F/A-18"), normalize_label("Colt's foot")
    ('cafe creme', 'f a 18', 'colts foot')
    """
    if text.isascii():
        return b" ".join(text.encode("ascii").translate(_ASCII_TABLE, b"'`").split()).decode(
            "ascii"
        )
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    for apostrophe in _APOSTROPHES:
        if apostrophe in text:
            text = text.replace(apostrophe, "")
    return _NON_WORD_RE.sub(" ", text).strip()


def compact_label(normalized: str) -> str:
    """Drop the spaces of a normalised label: ``"pink primrose"`` -> ``"pinkprimrose"``.

    >>> compact_label(normalize_label("Boeing 737-200"))
    'boeing737200'
    """
    return normalized.replace(" ", "")


def label_similarity(a: str, b: str) -> float:
    """Similarity ``1 - distance / max(len(a), len(b))`` in ``[0, 1]``, with the
    optimal-string-alignment distance (a swap of two adjacent characters is one edit).

    Both arguments should already be normalised (:func:`normalize_label`).

    >>> label_similarity("camellia", "camelia"), label_similarity("camellia", "camlelia")
    (0.875, 0.875)
    """
    return float(OSA.normalized_similarity(a, b))


def _read_labels(source: str | os.PathLike[str] | Iterable[str]) -> tuple[str, ...]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read class-names file {str(path)!r}: {exc}") from None
        return tuple(line.strip() for line in text.splitlines() if line.strip())
    labels = tuple(source)
    bad = [lab for lab in labels if not isinstance(lab, str)]
    if bad:
        raise TypeError(f"labels must be strings, got {type(bad[0]).__name__}: {bad[0]!r}")
    return labels


@dataclass(frozen=True, eq=True)
class LabelSet:
    """A closed set of class names, preprocessed once for exact and fuzzy lookups.

    Build it from a sequence of names, or with :meth:`from_file` from a class-names file (one
    name per line, blank lines ignored). Two names with the same normalised form are a caller
    error (``ValueError``): no answer could tell them apart. Two names whose *compact* forms
    collide (``"ab c"`` / ``"a bc"``) stay distinct; only their spaced forms identify them.

    Attributes:
        labels: the names as given, in index order.
        keys: their normalised forms (:func:`normalize_label`), same order.

    >>> ls = LabelSet(["Pink primrose", "sweet_pea", "rose", "desert-rose"])
    >>> len(ls), ls.index_of("Sweet Pea"), ls.index_of("DesertRose"), ls.index_of("tulip")
    (4, 1, 3, None)
    """

    labels: tuple[str, ...]
    keys: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _exact: dict[str, int] = field(init=False, repr=False, compare=False)
    _prefixes: frozenset[str] = field(init=False, repr=False, compare=False)
    _by_length: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _by_length_index: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _lengths: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __init__(self, labels: Iterable[str]) -> None:
        if isinstance(labels, (str, os.PathLike)):
            raise TypeError(
                "LabelSet(labels) takes a sequence of class names; "
                f"use LabelSet.from_file(path) to read a class-names file, got {labels!r}"
            )
        names = _read_labels(labels)
        if not names:
            raise ValueError("a label set needs at least one class name, got none")
        keys = tuple(normalize_label(name) for name in names)
        exact: dict[str, int] = {}
        for i, key in enumerate(keys):
            if not key:
                raise ValueError(
                    f"class name {names[i]!r} (index {i}) is empty after normalisation"
                )
            if key in exact:
                j = exact[key]
                raise ValueError(
                    f"class names {names[j]!r} (index {j}) and {names[i]!r} (index {i}) "
                    f"are the same after normalisation ({key!r})"
                )
            exact[key] = i
        compact: dict[str, int] = {}
        for i, key in enumerate(keys):
            ck = compact_label(key)
            if ck not in exact:
                compact[ck] = -1 if ck in compact else i
        for ck, i in compact.items():
            if i >= 0:
                exact[ck] = i
        object.__setattr__(self, "labels", names)
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "_exact", exact)
        prefixes: set[str] = set()
        for key in exact:
            words = key.split(" ")
            prefixes.update(" ".join(words[:j]) for j in range(1, len(words) + 1))
        order = sorted(range(len(keys)), key=lambda i: (len(keys[i]), i))
        object.__setattr__(self, "_prefixes", frozenset(prefixes))
        object.__setattr__(self, "_by_length", tuple(keys[i] for i in order))
        object.__setattr__(self, "_by_length_index", tuple(order))
        object.__setattr__(self, "_lengths", tuple(len(keys[i]) for i in order))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> LabelSet:
        """Read a class-names file: one name per line (UTF-8), blank lines skipped."""
        return cls(_read_labels(path))

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        head = ", ".join(repr(lab) for lab in self.labels[:3])
        more = ", ..." if len(self.labels) > 3 else ""
        return f"LabelSet([{head}{more}], n={len(self.labels)})"

    def __reduce__(self) -> tuple[type[LabelSet], tuple[tuple[str, ...]]]:
        return (type(self), (self.labels,))

    def lookup(self, key: str) -> int | None:
        """Index of the class whose normalised or compact form is ``key`` (already normalised)."""
        i = self._exact.get(key)
        if i is None:
            i = self._exact.get(compact_label(key))
        return i

    def index_of(self, name: str) -> int | None:
        """Index of the class ``name`` names exactly (after normalisation), or None."""
        return self.lookup(normalize_label(name))

    def mentions(self, key: str) -> list[tuple[int, int, int]]:
        """Whole-word occurrences of class names (normalised or compact) in a normalised text.

        Returns ``(first_word, end_word, class_index)`` triples (word positions, end exclusive),
        in order of their first word.

        >>> LabelSet(["rose", "desert rose", "pug"]).mentions("desert rose or pug")
        [(0, 2, 1), (1, 2, 0), (3, 4, 2)]
        """
        words = key.split(" ")
        found: list[tuple[int, int, int]] = []
        exact = self._exact
        prefixes = self._prefixes
        for i in range(len(words)):
            span = words[i]
            j = i + 1
            while span in prefixes:
                idx = exact.get(span)
                if idx is not None:
                    found.append((i, j, idx))
                if j == len(words):
                    break
                span = f"{span} {words[j]}"
                j += 1
        return found

    def best_other(self, key: str, exclude: int, score_cutoff: float) -> float:
        """Highest similarity of ``key`` to a class other than ``exclude`` that reaches
        ``score_cutoff`` (``-1.0`` when none does)."""
        # sim >= c needs c * len(key) <= len(label) <= len(key) / c: search that slice only.
        lo, hi = 0, len(self._lengths)
        if score_cutoff > 0.0:
            n = len(key)
            lo = bisect.bisect_left(self._lengths, math.floor(score_cutoff * n))
            hi = bisect.bisect_right(self._lengths, math.ceil(n / score_cutoff))
        if lo >= hi:
            return -1.0
        hits = process.extract(
            key,
            self._by_length[lo:hi],
            scorer=OSA.normalized_similarity,
            limit=2,
            score_cutoff=max(score_cutoff, 0.0),
        )
        for _, score, pos in hits:
            if self._by_length_index[lo + pos] != exclude:
                return float(score)
        return -1.0


def _in_words(part: str, whole: str) -> bool:
    """True when ``part`` occurs in ``whole`` as a run of whole words (both normalised)."""
    return f" {part} " in f" {whole} "


def match_normalized(
    answer: str,
    truth_keys: Sequence[str],
    truth_index: int,
    label_set: LabelSet | None,
    *,
    fuzzy: bool = True,
    cutoff: float = DEFAULT_FUZZY_CUTOFF,
    margin: float = DEFAULT_FUZZY_MARGIN,
    max_edits: int = DEFAULT_FUZZY_MAX_EDITS,
) -> bool:
    """The matching rule on pre-normalised strings (the fast path of :func:`match_label`).

    Args:
        answer: the normalised answer (non-empty).
        truth_keys: normalised ground truth, then its normalised aliases (non-empty strings).
        truth_index: the ground truth's index in ``label_set`` (ignored without a label set).
        label_set: the closed label set, or None for exact matching only.
    """
    if answer in truth_keys:
        return True
    compact = compact_label(answer)
    for key in truth_keys:
        if compact == compact_label(key):
            return True
    if label_set is None:
        return False
    if label_set.lookup(answer) is not None:
        return False  # exactly another class (the ground truth's own names returned above)
    if not fuzzy:
        return False
    gt_score = -1.0
    for key in truth_keys:
        edits = OSA.distance(answer, key, score_cutoff=max_edits)
        if edits <= max_edits:
            gt_score = max(gt_score, 1.0 - edits / max(len(answer), len(key)))
    if gt_score < cutoff - _EPS:
        return False
    other = label_set.best_other(answer, truth_index, gt_score - margin - _EPS)
    if other >= gt_score or other > gt_score - margin + _EPS:
        return False
    for _, _, idx in label_set.mentions(answer):
        if idx != truth_index and not any(_in_words(label_set.keys[idx], k) for k in truth_keys):
            return False
    return True


def match_label(
    answer: str,
    truth: str | Sequence[str],
    label_set: LabelSet | None = None,
    *,
    fuzzy: bool = True,
    cutoff: float = DEFAULT_FUZZY_CUTOFF,
    margin: float = DEFAULT_FUZZY_MARGIN,
    max_edits: int = DEFAULT_FUZZY_MAX_EDITS,
) -> bool:
    """Does ``answer`` name the class ``truth`` (and only it)? See the module docstring.

    Args:
        answer: what the model wrote, as text.
        truth: the ground-truth class name, or a sequence ``[name, alias, ...]``.
        label_set: the closed set of classes; enables "another class" refusals and, with
            ``fuzzy``, typo-tolerant matching. The ground truth must belong to it.
        fuzzy: allow near matches (only with a label set).
        cutoff: minimum similarity of a near match, in ``[0, 1]``.
        margin: how much closer than any other class the ground truth must be.
        max_edits: at most this many edits from the ground truth for a near match.

    Raises:
        ValueError: the ground truth is empty or (with a label set) not in the label set.

    >>> cars = LabelSet(["2012 BMW M3 Coupe", "2012 BMW 1 Series Coupe", "2012 Audi R8 Coupe"])
    >>> match_label("2012 bmw m3 coupe", "2012 BMW M3 Coupe"), match_label("", "rose")
    (True, False)
    >>> match_label("2012 BMW M3 Coupr", "2012 BMW M3 Coupe", cars)
    True
    >>> match_label("2012 BMW M3 Coupe or 2012 Audi R8 Coupe", "2012 BMW M3 Coupe", cars)
    False
    """
    names = [truth] if isinstance(truth, str) else list(truth)
    keys = [normalize_label(n) for n in names]
    if not keys or not keys[0] or not all(keys):
        raise ValueError(f"the ground truth must be non-empty class names, got {truth!r}")
    truth_index = -1
    if label_set is not None:
        found = label_set.lookup(keys[0])
        if found is None:
            raise ValueError(f"ground truth {names[0]!r} is not in the label set {label_set!r}")
        truth_index = found
    key = normalize_label(answer)
    if not key:
        return False
    return match_normalized(
        key,
        keys,
        truth_index,
        label_set,
        fuzzy=fuzzy,
        cutoff=cutoff,
        margin=margin,
        max_edits=max_edits,
    )
