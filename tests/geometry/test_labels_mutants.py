"""``match_label`` with real label sets, margins, cutoffs and edit limits; ``LabelSet`` lookups.

Written against the mutants that survived the classification tests: those call the reward,
which takes its own fast path for exact answers, and never called ``match_label`` with a label
set (so deleting ``truth_index = found`` went unnoticed: the ground truth then competes with
itself and every near match fails). Each verdict here is also checked against the slow
reference rule of ``tests/support/reference_classification.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_classification import ref_match

from visual_rewards.geometry.labels import (
    LabelSet,
    compact_label,
    label_similarity,
    match_label,
    match_normalized,
    normalize_label,
)

# Real class names (Oxford pets and flowers, Stanford cars), with near neighbours on purpose.
NAMES = [
    "Abyssinian",
    "Bengal",
    "Birman",
    "Bombay",
    "British Shorthair",
    "Egyptian Mau",
    "Maine Coon",
    "Persian",
    "Ragdoll",
    "Russian Blue",
    "Siamese",
    "Sphynx",
    "american bulldog",
    "american pit bull terrier",
    "basset hound",
    "beagle",
    "boxer",
    "chihuahua",
    "english cocker spaniel",
    "english setter",
    "german shorthaired",
    "great pyrenees",
    "pug",
    "pink primrose",
    "sweet pea",
    "rose",
    "desert-rose",
    "camellia",
    "canna lily",
    "daffodil",
    "2012 BMW M3 Coupe",
    "2012 BMW 1 Series Coupe",
    "2012 Audi R8 Coupe",
    "2012 Audi S5 Coupe",
]


def _labels() -> LabelSet:
    """A fresh label set: one built at import time would be built before a mutant is active."""
    return LabelSet(NAMES)


def _edit(text: str, ops: list[tuple[int, int, str]]) -> str:
    """Apply edits ``(kind, position, char)``: 0 substitute, 1 insert, 2 delete, 3 swap."""
    s = list(text)
    for kind, pos, ch in ops:
        if not s:
            break
        i = pos % len(s)
        if kind == 0:
            s[i] = ch
        elif kind == 1:
            s.insert(i, ch)
        elif kind == 2 and len(s) > 1:
            del s[i]
        elif kind == 3 and i + 1 < len(s):
            s[i], s[i + 1] = s[i + 1], s[i]
    return "".join(s)


edits = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 60), st.sampled_from("aeiourstnx ")),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(
    truth=st.sampled_from(NAMES),
    ops=edits,
    cutoff=st.sampled_from([0.85, 0.8, 0.9, 0.5]),
    margin=st.sampled_from([0.01, 0.0, 0.05, 0.15]),
    max_edits=st.sampled_from([2, 1, 3]),
)
def test_match_label_equals_the_reference_rule(
    truth: str, ops: list[tuple[int, int, str]], cutoff: float, margin: float, max_edits: int
) -> None:
    answer = _edit(truth, ops)
    got = match_label(answer, truth, _labels(), cutoff=cutoff, margin=margin, max_edits=max_edits)
    want = ref_match(answer, [truth], NAMES, cutoff=cutoff, margin=margin, max_edits=max_edits)
    assert got == want


@pytest.mark.parametrize(
    ("answer", "truth"),
    [
        ("camelia", "camellia"),  # one deletion
        ("camlelia", "camellia"),  # one swap
        ("Abysinian", "Abyssinian"),
        ("Egyptain Mau", "Egyptian Mau"),
        ("Russain Blue", "Russian Blue"),
        ("2012 BMW M3 Coupr", "2012 BMW M3 Coupe"),
        ("englsh setter", "english setter"),  # "setter" is no class: not refused for it
        ("desert rse", "desert-rose"),  # "rose" is part of the truth's own name
    ],
)
def test_near_matches_with_a_label_set(answer: str, truth: str) -> None:
    assert match_label(answer, truth, _labels())
    assert not match_label(answer, truth, _labels(), fuzzy=False)
    assert not match_label(answer, truth)  # no label set: exact only


@pytest.mark.parametrize(
    ("answer", "truth"),
    [
        ("Bengal", "Birman"),  # exactly another class
        ("Birman", "Bombay"),
        ("pug", "boxer"),
        ("2012 Audi S5 Coupe", "2012 Audi R8 Coupe"),
        ("2012 Audi R8 Coupe pug", "2012 Audi R8 Coupe"),  # names a second class
        ("pink primrose rose", "pink primrose"),
        ("2012 Audi R5 Coupe", "2012 Audi R8 Coupe"),  # as near to S5 as to R8: ties lose
        ("sweet pee", "rose"),  # far from the truth
    ],
)
def test_refusals_with_a_label_set(answer: str, truth: str) -> None:
    assert not match_label(answer, truth, _labels())


def test_margin_cutoff_and_edit_limit() -> None:
    # "2012 Audi R8 Coup" is 1 edit from R8 (17/18 = 0.944) and 3 from S5 (15/18 = 0.833):
    # the truth leads by 2/18 = 0.111 in similarity
    ans = "2012 Audi R8 Coup"
    assert match_label(ans, "2012 Audi R8 Coupe", _labels())
    assert match_label(ans, "2012 Audi R8 Coupe", _labels(), margin=0.1)
    assert not match_label(ans, "2012 Audi R8 Coupe", _labels(), margin=0.12)
    assert match_label(ans, "2012 Audi R8 Coupe", _labels(), margin=2 / 18)  # "at least" margin
    assert match_label(ans, "2012 Audi R8 Coupe", _labels(), margin=0.0)
    # two edits of "english setter" (14 characters): 12/14 = 0.857
    two = "englsh settr"
    assert label_similarity(normalize_label(two), "english setter") == pytest.approx(12 / 14)
    assert match_label(two, "english setter", _labels())
    assert match_label(two, "english setter", _labels(), cutoff=12 / 14)  # the cutoff is inclusive
    assert not match_label(two, "english setter", _labels(), cutoff=0.86)
    assert not match_label(two, "english setter", _labels(), max_edits=1)
    three = "englsh settr spaniel"  # far more than two edits
    assert not match_label(three, "english setter", _labels(), cutoff=0.1, max_edits=2)


def test_aliases_and_truths_written_differently() -> None:
    assert match_label("Carlin", ["pug", "carlin"], _labels())  # an alias, exactly
    assert match_label("carlin dgo", ["pug", "carlin dog"], _labels())  # near the alias
    assert match_label("DesertRose", "desert-rose", _labels())  # compact form of the truth
    assert match_label("desert rose", "DesertRose", _labels())  # truth written compact
    assert not match_label("", "pug", _labels())
    assert not match_label("  --  ", "pug", _labels())
    with pytest.raises(ValueError, match="non-empty"):
        match_label("pug", [], _labels())
    with pytest.raises(ValueError, match="non-empty"):
        match_label("pug", ["pug", ""], _labels())
    with pytest.raises(ValueError, match="not in the label set"):
        match_label("pug", "poodle", _labels())


def test_match_normalized_on_keys() -> None:
    gt = _labels().index_of("camellia")
    assert gt is not None
    assert match_normalized("camelia", ("camellia",), gt, _labels())
    assert not match_normalized("camelia", ("camellia",), -1, _labels())  # competes with itself
    assert match_normalized("camellia", ("camellia",), gt, None)
    assert match_normalized("canna lily", ("cannalily",), -1, None)  # compact forms meet
    assert not match_normalized("canna", ("canna lily",), -1, None)


def test_label_set_lookups() -> None:
    assert len(_labels()) == len(NAMES)
    assert _labels().labels == tuple(NAMES) and _labels().keys[0] == "abyssinian"
    assert _labels().index_of("british_shorthair") == NAMES.index("British Shorthair")
    assert _labels().index_of("BritishShorthair") == NAMES.index("British Shorthair")
    assert _labels().lookup("desertrose") == NAMES.index("desert-rose")
    assert _labels().lookup("desert rose") == NAMES.index("desert-rose")
    assert _labels().lookup("poodle") is None
    assert repr(_labels()) == f"LabelSet(['Abyssinian', 'Bengal', 'Birman', ...], n={len(NAMES)})"
    assert repr(LabelSet(["a", "b"])) == "LabelSet(['a', 'b'], n=2)"
    assert repr(LabelSet(["a", "b", "c"])) == "LabelSet(['a', 'b', 'c'], n=3)"
    assert _labels().mentions("a pug and a boxer") == [
        (1, 2, NAMES.index("pug")),
        (4, 5, NAMES.index("boxer")),
    ]
    assert _labels().mentions("pink primrose") == [(0, 2, NAMES.index("pink primrose"))]
    assert _labels().mentions("pink") == []


def test_best_other() -> None:
    rose = NAMES.index("rose")
    key = "rse"
    # "rose" is excluded: the best other class within reach, or -1.0
    assert _labels().best_other(key, rose, 0.5) == -1.0
    assert _labels().best_other("rose", -1, 0.9) == 1.0
    assert _labels().best_other("rose", rose, 0.0) == pytest.approx(
        max(label_similarity("rose", k) for i, k in enumerate(_labels().keys) if i != rose)
    )
    bengal = NAMES.index("Bengal")
    # Bengal (6 letters) is reachable from "bangal" only through the length slice
    assert _labels().best_other("bangal", -1, 0.8) == pytest.approx(5 / 6)
    assert _labels().best_other("bangal", bengal, 0.8) == -1.0


def test_label_set_construction_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'Sweet pea' \(index 0\) and 'sweet_pea' \(index 1\)"):
        LabelSet(["Sweet pea", "sweet_pea"])
    with pytest.raises(ValueError, match=r"'--' \(index 1\) is empty"):
        LabelSet(["rose", "--"])
    with pytest.raises(TypeError, match="int: 3"):
        LabelSet(["rose", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="from_file"):
        LabelSet(Path("names.txt"))  # type: ignore[arg-type]
    path = tmp_path / "names.txt"
    path.write_text("Rosé\n\n  Canna lily \n", encoding="utf-8")
    assert LabelSet.from_file(path).labels == ("Rosé", "Canna lily")
    assert LabelSet.from_file(str(path)).keys == ("rose", "canna lily")


def test_compact_forms_of_several_classes() -> None:
    ls = LabelSet(["ab c", "a bc", "x y", "xy z"])
    assert ls.lookup("abc") is None  # two classes share it: neither
    assert ls.lookup("xy") == 2  # one class has it
    assert ls.lookup("xyz") == 3


def test_normalize_label_non_ascii_and_apostrophes() -> None:
    assert normalize_label("Colt\u2019s foot") == "colts foot"
    assert normalize_label("Colt\u02bcs foot") == "colts foot"
    assert normalize_label("Colt`s Fóot") == "colts foot"
    assert normalize_label("Crème_Brûlée") == "creme brulee"
    assert normalize_label("STRAẞE") == "strasse"  # case folding, not lower()
    assert normalize_label("Ǆ") == "dz"  # NFKD compatibility decomposition
    assert normalize_label("  É—x  ") == "e x"
    assert compact_label("a b  c") == "abc"


def test_tolerance_of_the_cutoff_and_the_margin() -> None:
    labels = _labels()
    # "camelia" is 7/8 = 0.875 similar to "camellia": the cutoff is met within 1e-9
    assert match_label("camelia", "camellia", labels, cutoff=0.875 + 1e-9)
    assert not match_label("camelia", "camellia", labels, cutoff=0.875 + 1e-8)
    # "2012 Audi R8 Coup": R8 at 17/18, S5 at 15/18; a margin of exactly the gap (+1e-9) passes
    ans, truth = "2012 Audi R8 Coup", "2012 Audi R8 Coupe"
    gap = 17 / 18 - 15 / 18
    assert match_label(ans, truth, labels, margin=gap + 1e-9)
    assert not match_label(ans, truth, labels, margin=gap + 1e-8)


def test_ties_lose_even_without_a_margin() -> None:
    labels = _labels()
    # "2012 Audi R5 Coupe" is one substitution from R8 and one from S5: a tie, which loses
    for margin in (0.0, 0.01):
        assert not match_label("2012 Audi R5 Coupe", "2012 Audi R8 Coupe", labels, margin=margin)
        assert not match_label("2012 Audi R5 Coupe", "2012 Audi S5 Coupe", labels, margin=margin)
    two = LabelSet(["abcdefgh", "abcdefgx"])
    assert not match_label("abcdefgz", "abcdefgh", two, margin=0.0)
    assert match_label("abcdefgz", "abcdefgh", LabelSet(["abcdefgh", "zzzz"]), margin=0.0)


def test_lookups_through_the_compact_form_of_the_query() -> None:
    ls = LabelSet(["DesertRose", "pug"])
    assert ls.keys == ("desertrose", "pug")
    assert ls.lookup("desert rose") == 0  # the query's compact form is the class
    assert ls.index_of("Desert Rose") == 0
    assert match_label("desert rose", "DesertRose", ls)


def test_best_other_at_the_ends_of_the_length_slice() -> None:
    labels = _labels()
    pug = NAMES.index("pug")  # the shortest name
    assert labels.best_other("pug", -1, 0.0) == 1.0
    assert labels.best_other("pug", -1, -0.5) == 1.0
    assert labels.best_other("pug", pug, 0.0) < 1.0
    # no name has a length within reach of the cutoff: -1.0 exactly
    assert labels.best_other("a" * 60, -1, 0.9) == -1.0
    assert labels.best_other("ab", -1, 0.99) == -1.0


def test_messages_and_repr_at_four_labels(tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    with pytest.raises(
        ValueError, match="^" + re.escape(f"cannot read class-names file {str(missing)!r}: ")
    ):
        LabelSet.from_file(missing)
    with pytest.raises(TypeError, match=r"^LabelSet\(labels\) takes a sequence of class names; "):
        LabelSet("names.txt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^a label set needs at least one class name, got none$"):
        LabelSet([])
    assert repr(LabelSet(["a", "b", "c", "d"])) == "LabelSet(['a', 'b', 'c', ...], n=4)"


def test_ascii_names_keep_every_letter() -> None:
    assert normalize_label("Xbox X") == "xbox x"
    assert normalize_label("`Quoted' XX") == "quoted xx"


def test_class_names_files_are_utf8_whatever_the_locale(tmp_path: Path) -> None:
    import locale

    path = tmp_path / "names.txt"
    path.write_text("Rosé\nCrème brûlée\n", encoding="utf-8")
    old = locale.setlocale(locale.LC_CTYPE)
    try:
        locale.setlocale(locale.LC_CTYPE, "C")  # an ASCII locale
        ls = LabelSet.from_file(path)
    finally:
        locale.setlocale(locale.LC_CTYPE, old)
    assert ls.labels == ("Rosé", "Crème brûlée")
