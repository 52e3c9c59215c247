"""Tests of the classification reward, label normalisation and label sets.

Assertions are on the ``accuracy`` component: ``total`` adds the ``format`` component
(``total = accuracy + format`` with the default weights; with ``format_weight=0`` it is the
accuracy itself, checked once below).
"""

from __future__ import annotations

import math
import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA
from reference_classification import (
    paper_accuracy,
    paper_format,
    ref_distance,
    ref_match,
    ref_normalize,
    ref_similarity,
)

import visual_rewards as vr
from visual_rewards.geometry.labels import LabelSet, compact_label, match_label, normalize_label
from visual_rewards.rewards import REWARDS, get_reward
from visual_rewards.rewards.classification import ClassificationReward

CLASS_LISTS = ("fgvc_aircraft.txt", "oxford_flowers.txt", "pets.txt", "stanford_cars.txt")


def wrap(answer: str) -> str:
    return f"<think>looking at the image</think><answer>{answer}</answer>"


def accuracy(reward: ClassificationReward, answers: list[str], truths: list[object]) -> np.ndarray:
    res = reward.score([wrap(a) for a in answers], truths)
    acc = res.components["accuracy"]
    assert acc.shape == (len(answers),)
    return acc


@pytest.fixture(scope="module", params=CLASS_LISTS)
def class_list(request: pytest.FixtureRequest, shared_data: Path) -> tuple[Path, list[str]]:
    path = shared_data / "classnames" / request.param
    if not path.is_file():
        pytest.skip(f"{path} not found")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return path, names


# ---------------------------------------------------------------------------------------------
# normalisation and label sets
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("American_Pit-Bull  Terrier", "american pit bull terrier"),
        ("  ROSE. ", "rose"),
        ("Crème brûlée", "creme brulee"),
        ("colt's foot", "colts foot"),
        ("colt\u2019s foot", "colts foot"),
        ("F/A-18", "f a 18"),
        ("2009 Bugatti Veyron 16.4 Coupe", "2009 bugatti veyron 16 4 coupe"),
        ("", ""),
        ("!!!", ""),
        ("\u00c5ngstr\u00f6m_\u00df", "angstrom ss"),
    ],
)
def test_normalize_label(text: str, expected: str) -> None:
    assert normalize_label(text) == expected
    assert ref_normalize(text) == expected


@given(st.text(max_size=60))
def test_normalize_label_matches_reference(text: str) -> None:
    assert normalize_label(text) == ref_normalize(text)


def test_label_set_rejects_duplicates_and_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="same after normalisation"):
        LabelSet(["Sweet pea", "sweet_pea"])
    with pytest.raises(ValueError, match="empty after normalisation"):
        LabelSet(["rose", "--"])
    with pytest.raises(ValueError, match="at least one"):
        LabelSet([])
    with pytest.raises(TypeError, match="from_file"):
        LabelSet("classnames.txt")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="strings"):
        LabelSet(["rose", 3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="cannot read"):
        LabelSet.from_file(tmp_path / "missing.txt")


def test_label_set_from_file_equality_pickle(tmp_path: Path) -> None:
    path = tmp_path / "names.txt"
    path.write_text("rose\n\n desert rose \ntulip\n", encoding="utf-8")
    ls = LabelSet.from_file(path)
    assert ls.labels == ("rose", "desert rose", "tulip")
    assert ls == LabelSet(["rose", "desert rose", "tulip"])
    assert hash(ls) == hash(LabelSet(["rose", "desert rose", "tulip"]))
    again = pickle.loads(pickle.dumps(ls))
    assert again == ls and again.index_of("DesertRose") == 1
    assert ls.mentions("desert rose and tulip") == [(0, 2, 1), (1, 2, 0), (3, 4, 2)]


def test_compact_collisions_stay_distinct() -> None:
    ls = LabelSet(["ab c", "a bc", "abc d"])
    assert ls.index_of("ab c") == 0 and ls.index_of("a bc") == 1
    assert ls.index_of("abc") is None  # ambiguous compact form
    assert ls.index_of("abcd") == 2


def test_match_label_checks_truth() -> None:
    with pytest.raises(ValueError, match="not in the label set"):
        match_label("rose", "lily", LabelSet(["rose"]))
    with pytest.raises(ValueError, match="non-empty"):
        match_label("rose", "  ")
    assert match_label("Carlin", ["pug", "carlin"])
    assert not match_label("pug dog", "pug")


# ---------------------------------------------------------------------------------------------
# the four class lists of the paper (Table 2)
# ---------------------------------------------------------------------------------------------


def variants(name: str) -> list[str]:
    spaced = normalize_label(name)
    return [
        name,
        name.upper(),
        name.lower(),
        name.title(),
        f"  {name}\n",
        name.replace(" ", "_"),
        name.replace("_", " "),
        name.replace(" ", "  "),
        spaced,
        spaced.replace(" ", "_"),
        spaced.replace(" ", "-"),
        compact_label(spaced),
        f"{name}.",
        f'"{name}"',
    ]


def test_every_class_and_its_variants_score_one(class_list: tuple[Path, list[str]]) -> None:
    path, names = class_list
    for reward in (ClassificationReward(labels=path), ClassificationReward()):
        answers = [v for n in names for v in variants(n)]
        truths = [n for n in names for _ in variants(n)]
        assert accuracy(reward, answers, truths).tolist() == [1.0] * len(answers)


def test_every_other_class_scores_zero(class_list: tuple[Path, list[str]]) -> None:
    """An answer that is exactly another class of the list scores 0, including where one
    name is part of another (Flowers: "rose" / "desert-rose", "marigold" / "english marigold")."""
    path, names = class_list
    answers = [a for t in names for a in names if a != t]
    truths = [t for t in names for a in names if a != t]
    for reward in (ClassificationReward(labels=path), ClassificationReward()):
        acc = accuracy(reward, answers, truths)
        assert not acc.any(), [(a, t) for a, t, v in zip(answers, truths, acc, strict=True) if v]


@pytest.mark.parametrize("sep", [" ", ", ", " or ", " and ", "/", ""])
def test_two_class_names_score_zero(class_list: tuple[Path, list[str]], sep: str) -> None:
    path, names = class_list
    if len(names) > 120:  # Stanford Cars: every 7th partner keeps the test quick
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i % 7 :: 7] if a != b]
    else:
        pairs = [(a, b) for a in names for b in names if a != b]
    answers = [f"{a}{sep}{b}" for a, b in pairs] * 2
    truths = [a for a, _ in pairs] + [b for _, b in pairs]
    reward = ClassificationReward(labels=path)
    acc = accuracy(reward, answers, truths)
    bad = [(a, t) for a, t, v in zip(answers, truths, acc, strict=True) if v]
    assert not bad, bad[:5]
    assert not accuracy(ClassificationReward(), answers, truths).any()


def test_empty_and_missing_answers_score_zero(class_list: tuple[Path, list[str]]) -> None:
    path, names = class_list
    reward = ClassificationReward(labels=path)
    completions = [
        "<think>x</think><answer></answer>",
        "<think>x</think><answer>   </answer>",
        "<think>x</think><answer>._-</answer>",
        "<think>x</think>",
        "",
        f"<think>x</think><answer>{names[0]}",  # truncated
    ]
    res = reward.score(completions, [names[0]] * len(completions))
    assert res.components["accuracy"].tolist() == [0.0] * len(completions)
    assert res.parse_failed.tolist() == [False, False, False, True, True, False]


def _typos(key: str, index: int, positions: int) -> list[str]:
    """One-character typos of ``key`` at ``positions`` places that depend on ``index``: a
    substitution (next letter/digit), a deletion, an insertion and a swap of two neighbours."""
    out = set()
    n = len(key)
    for k, i in enumerate(sorted({(index * 7 + m * 5) % n for m in range(positions)})):
        c = key[i]
        if c.isdigit():
            sub = str((int(c) + 1) % 10)
        elif c.isalpha():
            sub = "a" if c == "z" else chr(ord(c) + 1)
        else:
            sub = "x"
        out.add(key[:i] + sub + key[i + 1 :])
        out.add(key[:i] + key[i + 1 :])
        out.add(key[:i] + "eo"[k % 2] + key[i:])
        if i + 1 < n:
            out.add(key[:i] + key[i + 1] + key[i] + key[i + 2 :])
    out.discard(key)
    return sorted(out)


def test_one_character_typos(class_list: tuple[Path, list[str]]) -> None:
    """A one-character typo in a name of >= 8 characters scores 1 when it is unambiguous
    (the ground truth is the nearest class by at least ``fuzzy_margin``, and no other class is
    named in the answer) and 0 when it is as close or closer to another class (including a
    typo that *is* another class). Judged by the slow reference on every typo."""
    path, names = class_list
    reward = ClassificationReward(labels=path)
    keys = [normalize_label(n) for n in names]
    answers: list[str] = []
    truths: list[str] = []
    expected: list[float] = []
    n_unambiguous = n_other = 0
    for index, (name, key) in enumerate(zip(names, keys, strict=True)):
        if len(key) < 8:
            continue
        others = [k for k in keys if k != key]
        typos = _typos(key, index, 3 if len(names) <= 120 else 1)  # a few, to keep it quick
        for other in others:  # and one step toward every class within two edits
            if len(other) == len(key) and OSA.distance(key, other) <= 2:
                i = next(i for i, (a, b) in enumerate(zip(key, other, strict=True)) if a != b)
                typos.append(key[:i] + other[i] + key[i + 1 :])
        for typo in typos:
            t = normalize_label(typo)
            if ref_distance(t, key) != 1 or compact_label(t) == compact_label(key):
                continue  # e.g. deleting a one-letter word leaves two spaces, normalised to one
            gt_sim = ref_similarity(t, key)
            assert gt_sim >= reward.config.fuzzy_cutoff  # any one typo passes the cut-off
            # (rapidfuzz only sorts the cases here; the verdict comes from ref_match)
            other_sim = max(OSA.normalized_similarity(t, k) for k in others)
            names_other = any(f" {k} " in f" {t} " and f" {k} " not in f" {key} " for k in others)
            want = ref_match(typo, [name], names)
            if other_sim >= gt_sim:
                assert not want  # as close or closer to another class
                n_other += 1
            elif gt_sim - other_sim >= reward.config.fuzzy_margin - 1e-9 and not names_other:
                assert want  # unambiguous
                n_unambiguous += 1
            answers.append(typo)
            truths.append(name)
            expected.append(1.0 if want else 0.0)
    assert n_unambiguous > 0
    got = accuracy(reward, answers, truths)
    wrong = [(a, t, e) for a, t, e, g in zip(answers, truths, expected, got, strict=True) if e != g]
    assert not wrong, wrong[:5]
    if path.name == "stanford_cars.txt":  # near pairs such as "2012 Audi S4/S5/A5 ..."
        assert n_other > 0


def test_typo_toward_a_near_class_scores_zero(shared_data: Path) -> None:
    path = shared_data / "classnames" / "stanford_cars.txt"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    reward = ClassificationReward(labels=path)
    cases = [
        ("2012 Audi S4 Sedan", "2012 Audi S4 Sedam"),  # unambiguous
        ("2012 Audi S4 Sedan", "2002 Audi S4 Sedan"),  # one edit from 2012 and from 2007: a tie
        ("2012 Audi S5 Coupe", "2012 Audi A5 Coupe"),  # is another class
        ("2012 Acura TL Sedan", "2012 Acura RL Sedan"),  # is another class
        ("2012 Audi S5 Coupe", "2012 Audi Z5 Coupe"),  # one edit from both S5 and A5: a tie
        ("2012 Audi S5 Coupe", "2012 Audi S5 Coupr"),  # unambiguous
    ]
    acc = accuracy(reward, [a for _, a in cases], [t for t, _ in cases])
    assert acc.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    names = path.read_text().splitlines()
    assert [ref_match(a, [t], names) for t, a in cases] == [True, False, False, False, False, True]


# ---------------------------------------------------------------------------------------------
# rule details
# ---------------------------------------------------------------------------------------------


def test_fuzzy_needs_a_label_set_and_can_be_turned_off() -> None:
    labels = ["Abyssinian", "Bengal", "Siamese"]
    assert accuracy(ClassificationReward(), ["Abyssinain"], ["Abyssinian"]).tolist() == [0.0]
    fuzzy = ClassificationReward(labels=labels)
    answers = ["Abyssinain", "abysinian", "Abysinain"]  # 1, 1 and 2 edits in 10 characters
    assert accuracy(fuzzy, answers, ["Abyssinian"] * 3).tolist() == [1, 1, 0]  # 0.8 < cutoff
    exact = ClassificationReward(labels=labels, fuzzy=False)
    assert accuracy(exact, ["Abyssinain", "abyssinian"], ["Abyssinian"] * 2).tolist() == [0, 1]


def test_another_class_inside_the_answer() -> None:
    labels = ["american pit bull terrier", "pug", "english setter", "setter"]
    answers = [
        "american pit bull terrier pug",  # close to the truth, but names pug too
        "american pit bull terrier dog",  # 4 edits: a near match only with max_edits >= 4
        "american pit bull terrierpug",  # another class glued on: 3 edits
        "englsh setter",  # "setter" is part of the truth's own name
        "english setter",
        "setter",
    ]
    truths = [labels[0], labels[0], labels[0], "english setter", "setter", "english setter"]
    for max_edits, expected in [(2, [0, 0, 0, 1, 0, 0]), (4, [0, 1, 1, 1, 0, 0])]:
        reward = ClassificationReward(labels=labels, fuzzy_max_edits=max_edits)
        assert accuracy(reward, answers, truths).tolist() == expected
        assert [
            ref_match(a, [t], labels, max_edits=max_edits)
            for a, t in zip(answers, truths, strict=True)
        ] == [bool(e) for e in expected]


def test_aliases_and_answer_wrapped_truths() -> None:
    reward = ClassificationReward(labels=["Pug", "Beagle"])
    truths = [
        {"label": "Pug", "aliases": ["carlin", "mops"]},
        {"label": "Pug", "aliases": ["carlin"]},
        "<answer>Pug</answer>",
        "<answer> beagle </answer>",
    ]
    acc = accuracy(reward, ["Mops", "carlinn", "PUG", "Beagle"], truths)
    assert acc.tolist() == [1.0, 1.0, 1.0, 1.0]


def test_truth_written_differently_from_the_label_set() -> None:
    reward = ClassificationReward(labels=["desert rose", "rose", "tree mallow"])
    answers = ["Desert Rose", "desrt rose", "treemallow", "rose"]
    truths = ["DesertRose", "desert_rose", "Tree-Mallow", "desertrose"]
    assert accuracy(reward, answers, truths).tolist() == [1.0, 1.0, 1.0, 0.0]


def test_long_answers_score_zero() -> None:
    reward = ClassificationReward(max_answer_chars=10)
    assert accuracy(reward, ["rose", "rose" + " " * 20, "r o s e x"], ["rose"] * 3).tolist() == [
        1.0,
        1.0,
        0.0,
    ]
    assert accuracy(ClassificationReward(), ["x" * 129], ["x" * 129]).tolist() == [0.0]


def test_total_is_weighted_sum_and_format_component() -> None:
    reward = ClassificationReward()
    comps = [wrap("rose"), "<answer>rose</answer>", wrap("lily"), "no tags at all"]
    res = reward.score(comps, ["rose"] * 4)
    assert res.components["accuracy"].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert res.components["format"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert res.total.tolist() == [2.0, 1.0, 1.0, 0.0]
    acc_only = ClassificationReward(format_weight=0.0).score(comps, ["rose"] * 4)
    assert acc_only.total.tolist() == [1.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize("bad", [None, 3, "", "<answer> </answer>", {"labels": "x"}, ["rose"]])
def test_malformed_truth_is_not_applicable(bad: object) -> None:
    reward = ClassificationReward()
    with pytest.warns(UserWarning, match=r"row 1: malformed ground truth"):
        res = reward.score([wrap("rose"), wrap("rose")], ["rose", bad])
    assert res.total[0] == 2.0 and math.isnan(res.total[1])
    assert math.isnan(res.components["accuracy"][1])
    assert res.components["format"][1] == res.components["format"][0]  # kept: the completion's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert reward(completions=[wrap("rose")] * 2, solution=["rose", bad]) == [2.0, None]
    with pytest.raises(ValueError, match="row 1"):
        ClassificationReward(strict=True).score([wrap("rose")] * 2, ["rose", bad])


def test_truth_outside_label_set_is_not_applicable() -> None:
    reward = ClassificationReward(labels=["rose", "tulip"])
    with pytest.warns(UserWarning, match="row 0.*not in the label set"):
        res = reward.score([wrap("lily")], ["lily"])
    assert math.isnan(res.total[0])


def test_caller_errors() -> None:
    with pytest.raises(ValueError, match="preset"):
        ClassificationReward("paper")
    with pytest.raises(TypeError, match="unknown option"):
        ClassificationReward(cutoff=0.9)
    with pytest.raises(ValueError, match="fuzzy_cutoff"):
        ClassificationReward(fuzzy_cutoff=0.0)
    with pytest.raises(ValueError, match="labels are not used"):
        ClassificationReward("visual_rft", labels=["a"])
    with pytest.raises(ValueError, match="expected 2 solutions"):
        ClassificationReward().score(["a", "b"], ["a"])


def test_registry_trl_pickle_and_names(tmp_path: Path) -> None:
    assert REWARDS["classification"] is ClassificationReward
    assert vr.ClassificationReward is ClassificationReward
    path = tmp_path / "names.txt"
    path.write_text("rose\ntulip\n")
    reward = get_reward("classification", labels=path)
    assert isinstance(reward, ClassificationReward)
    assert reward.__name__ == "classification_default"
    assert get_reward("classification", "visual_rft").__name__ == "classification_visual_rft"
    assert reward == ClassificationReward(labels=["rose", "tulip"])
    assert "LabelSet(['rose', 'tulip'], n=2)" in repr(reward)
    again = pickle.loads(pickle.dumps(reward))
    assert again == reward and hash(again) == hash(reward)
    conversational = [[{"role": "assistant", "content": wrap("Tulip")}]]
    assert reward(prompts=["p"], completions=conversational, solution=["tulip"]) == [2.0]


# ---------------------------------------------------------------------------------------------
# the visual_rft preset: the paper's rule, exactly
# ---------------------------------------------------------------------------------------------

_PIECES = [
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    " ",
    "\n",
    "_",
    "Rose",
    "rose",
    "desert rose",
    "Desert_Rose",
    "lily",
    "LILY",
    "x",
    "",
]


@st.composite
def paper_rows(draw: st.DrawFn) -> tuple[str, str]:
    content = "".join(draw(st.lists(st.sampled_from(_PIECES), max_size=10)))
    if draw(st.booleans()):
        content = draw(st.text(max_size=30)) + content
    truth = draw(st.sampled_from(["rose", "Desert Rose", "lily_of_the_valley", "LILY", "a b"]))
    form = draw(st.integers(0, 3))
    if form == 1:
        truth = f"<answer>{truth}</answer>"
    elif form == 2:
        truth = f"  <answer> {truth} </answer>\n"
    elif form == 3:
        truth = f"{truth}\n<answer>{draw(st.sampled_from(['rose', 'tulip']))}</answer>"
    return content, truth


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(paper_rows(), min_size=1, max_size=8))
def test_visual_rft_preset_reproduces_the_paper(rows: list[tuple[str, str]]) -> None:
    reward = ClassificationReward("visual_rft")
    contents = [c for c, _ in rows]
    truths = [t for _, t in rows]
    res = reward.score(contents, truths)
    assert res.components["accuracy"].tolist() == [paper_accuracy(c, t) for c, t in rows]
    assert res.components["format"].tolist() == [paper_format(c) for c in contents]
    assert res.total.tolist() == [paper_accuracy(c, t) + paper_format(c) for c, t in rows]


def test_visual_rft_preset_is_exploitable_as_documented() -> None:
    reward = ClassificationReward("visual_rft")
    hacks = [
        "<think>x</think><answer></answer>",  # empty: contained in every class name
        "<think>x</think><answer>rose, tulip, lily, daisy</answer>",  # lists every class
        "<think>x</think><answer>r</answer>",  # one letter of the name
    ]
    assert reward.score(hacks, ["rose"] * 3).components["accuracy"].tolist() == [1.0] * 3
    assert (
        ClassificationReward(labels=["rose", "tulip", "lily", "daisy"])
        .score(hacks, ["rose"] * 3)
        .components["accuracy"]
        .tolist()
        == [0.0] * 3
    )


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------

_LABELS = ["Abyssinian", "american_bulldog", "Bengal", "english setter", "setter", "pug"]
_ANSWERS = st.one_of(
    st.text(max_size=80),
    st.sampled_from(_LABELS).map(lambda s: s.upper()),
    st.builds(lambda a, b: f"{a} {b}", st.sampled_from(_LABELS), st.text(max_size=5)),
)
_COMPLETIONS = st.one_of(
    st.text(max_size=200),
    _ANSWERS.map(wrap),
    st.builds(lambda a: f"<think>t</think><answer>{a}", _ANSWERS),
    _ANSWERS.map(lambda a: [{"role": "assistant", "content": wrap(a)}]),
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(_COMPLETIONS, st.sampled_from(_LABELS)), min_size=1, max_size=6),
    st.sampled_from(["default", "fuzzy", "visual_rft"]),
)
def test_properties_range_batch_equals_loop(rows: list[tuple[object, str]], kind: str) -> None:
    reward = ClassificationReward(labels=_LABELS) if kind == "fuzzy" else ClassificationReward(kind)
    comps = [c for c, _ in rows]
    truths = [t for _, t in rows]
    res = reward.score(comps, truths)
    for values in res.components.values():
        assert ((values >= 0) & (values <= 1)).all()
    assert ((res.total >= 0) & (res.total <= 2)).all()
    for i, (c, t) in enumerate(rows):
        one = reward.score([c], [t])
        assert one.total[0] == res.total[i]
        for key, values in res.components.items():
            assert one.components[key][0] == values[i]
    if kind == "fuzzy":  # the fast path agrees with the slow reference
        for (c, t), got in zip(rows, res.components["accuracy"], strict=True):
            answer = vr.parse_completion(c)
            if answer.answer is None or answer.truncated or len(answer.answer.strip()) > 128:
                assert got == 0.0
            else:
                assert got == float(ref_match(answer.answer, [t], _LABELS))


@given(st.text(max_size=300), st.text(max_size=40))
def test_never_raises_on_model_text(text: str, truth: str) -> None:
    for reward in (ClassificationReward(), ClassificationReward(labels=_LABELS)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = reward.score([text], [truth if truth.strip() else "pug"])
        assert res.total.shape == (1,)


def test_huge_and_adversarial_answers_are_fast() -> None:
    reward = ClassificationReward(labels=_LABELS)
    comps = [
        wrap("a" * 1_000_000),
        wrap(" ".join(["setter"] * 60)),
        "<answer>" * 10_000,
        wrap("pug " * 30),
    ]
    res = reward.score(comps, ["pug"] * len(comps))
    assert res.components["accuracy"].tolist() == [0.0] * len(comps)
    assert re.fullmatch(r"classification_default", reward.__name__)


# --------------------------------------------------------------------------------------------
# The ground-truth cache: the same scores and warnings cold and warm, bounded, not pickled
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["default", "visual_rft"])
def test_truth_cache_gives_the_same_scores_and_warnings_cold_and_warm(preset: str) -> None:
    sols = [
        "<answer>Bengal</answer>",
        "",
        "<answer> </answer>",
        "Persian",
        "<answer>Bengal</answer>",
    ]
    comps = [f"<think>x</think><answer>{a}</answer>" for a in ("Bengal", "x", "", "persian", "b")]

    def run(reward: ClassificationReward) -> tuple[list[str], list[str]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            total = reward.score(comps, sols).total.tolist()
        return [repr(t) for t in total], [str(w.message) for w in caught]

    fresh = ClassificationReward(preset)
    cold = run(fresh)
    assert fresh._truth_cache.entries  # the valid strings are held now
    assert run(fresh) == cold  # warm
    again = pickle.loads(pickle.dumps(fresh))
    assert not again._truth_cache.entries and again == fresh
    assert run(again) == cold


def test_truth_cache_is_bounded_in_characters() -> None:
    reward = ClassificationReward()
    junk = " " * (1 << 20)
    for k in range(50):  # ground truths with 1 MiB of trailing text are never held
        reward.score(["<think>x</think><answer>a</answer>"], [f"<answer>c{k}</answer>{junk}"])
    assert reward._truth_cache.chars == 0 and not reward._truth_cache.entries
    for k in range(40_000):
        reward._truths([f"class {k}" * 20])
        cache = reward._truth_cache
        assert cache.chars <= cache.max_chars and len(cache.entries) <= cache.max_entries
