"""Classification: config validation, every rule x format-rule combination, and the reward's
fast path against ``match_label`` (the one rule) on batches with repeated answers and truths.
"""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_classification import paper_accuracy

from visual_rewards.geometry.labels import LabelSet, match_label
from visual_rewards.rewards.classification import ClassificationReward, as_label_set

NAMES = [
    "Abyssinian",
    "Bengal",
    "Birman",
    "Bombay",
    "British Shorthair",
    "Egyptian Mau",
    "Russian Blue",
    "Siamese",
    "american pit bull terrier",
    "english setter",
    "pug",
    "pink primrose",
    "rose",
    "desert-rose",
    "camellia",
    "2012 Audi R8 Coupe",
    "2012 Audi S5 Coupe",
]


def wrap(answer: str) -> str:
    return f"<think>looking at the fur</think><answer>{answer}</answer>"


def accuracy(reward: ClassificationReward, answers: list[str], truths: list[Any]) -> list[float]:
    return reward.score([wrap(a) for a in answers], truths).components["accuracy"].tolist()


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"rule": "fuzzy"}, ValueError, "rule must be 'strict' or 'visual_rft', got 'fuzzy'"),
        (
            {"rule": "visual_rft", "labels": ["a"]},
            ValueError,
            r"^labels are not used by rule='visual_rft' \(the paper's rule\)$",
        ),
        ({"fuzzy_cutoff": 0.0}, ValueError, r"fuzzy_cutoff must be in \(0, 1\], got 0.0"),
        ({"fuzzy_cutoff": 1.01}, ValueError, "fuzzy_cutoff must be in"),
        ({"fuzzy_margin": -0.01}, ValueError, r"fuzzy_margin must be in \[0, 1\), got -0.01"),
        ({"fuzzy_margin": 1.0}, ValueError, "fuzzy_margin must be in"),
        ({"fuzzy_max_edits": 0}, ValueError, "fuzzy_max_edits must be an int >= 1, got 0"),
        ({"fuzzy_max_edits": 1.5}, ValueError, "fuzzy_max_edits must be an int"),
        ({"max_answer_chars": 0}, ValueError, "max_answer_chars must be a positive int, got 0"),
        ({"max_answer_chars": 2.5}, ValueError, "max_answer_chars must be a positive int"),
        ({"format_rule": "paper"}, ValueError, "format_rule must be one of"),
        ({"accuracy_weight": -1}, ValueError, "accuracy_weight must be a finite number >= 0"),
        ({"threshold": 1}, TypeError, "unknown option"),
    ],
)
def test_invalid_options_are_refused(options: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        ClassificationReward(**options)


@pytest.mark.parametrize(
    "options",
    [
        {"fuzzy_cutoff": 1.0},
        {"fuzzy_cutoff": 1e-6},
        {"fuzzy_margin": 0.0},
        {"fuzzy_margin": 0.999},
        {"fuzzy_max_edits": 1},
        {"max_answer_chars": 1},
        {"rule": "visual_rft", "format_rule": "strict"},
        {"labels": None},
    ],
)
def test_valid_options_at_the_edges_are_accepted(options: dict[str, Any]) -> None:
    reward = ClassificationReward(**options)
    assert all(getattr(reward.config, k) == v for k, v in options.items())


def test_labels_from_a_list_a_file_or_a_label_set(tmp_path: Any) -> None:
    path = tmp_path / "names.txt"
    path.write_text("rose\ntulip\n", encoding="utf-8")
    ls = LabelSet(["rose", "tulip"])
    assert as_label_set(ls) is ls
    assert as_label_set(path) == ls and as_label_set(str(path)) == ls
    for given_labels in (["rose", "tulip"], path, ls):
        reward = ClassificationReward(labels=given_labels)
        assert reward.config.labels == ls
        assert accuracy(reward, ["tulp", "tulip"], ["tulip", "rose"]) == [0.0, 0.0]
        assert accuracy(reward, ["Tulip"], ["tulip"]) == [1.0]


@pytest.mark.parametrize("rule", ["strict", "visual_rft"])
@pytest.mark.parametrize("format_rule", ["strict", "visual_rft"])
def test_every_rule_with_every_format_rule(rule: str, format_rule: str) -> None:
    reward = ClassificationReward(rule=rule, format_rule=format_rule)
    texts = [
        "<think>striped</think><answer>Bengal</answer>",  # both format rules
        "<think></think><answer>Bengal</answer>",  # the paper's regex only
        "Bengal",  # neither; the paper's rule reads the whole text
        "<think>x</think><answer>Bengal and Birman</answer>",  # two classes: the paper pays
        "<think>x</think><answer></answer>",  # empty: contained in every name (paper)
    ]
    res = reward.score(texts, ["Bengal"] * len(texts))
    fmt = {"strict": [1.0, 0.0, 0.0, 1.0, 0.0], "visual_rft": [1.0, 1.0, 0.0, 1.0, 1.0]}
    assert res.components["format"].tolist() == fmt[format_rule]
    acc = {"strict": [1.0, 1.0, 0.0, 0.0, 0.0], "visual_rft": [1.0, 1.0, 1.0, 1.0, 1.0]}
    assert res.components["accuracy"].tolist() == acc[rule]
    if rule == "visual_rft":
        assert acc[rule] == [paper_accuracy(t, "Bengal") for t in texts]
    assert res.parse_failed.tolist() == [False, False, True, False, False]
    assert res.total.tolist() == [a + f for a, f in zip(acc[rule], fmt[format_rule], strict=True)]


def test_presets_pair_their_rules() -> None:
    assert ClassificationReward().config.rule == "strict"
    assert ClassificationReward().config.format_rule == "strict"
    assert ClassificationReward("visual_rft").config.rule == "visual_rft"
    assert ClassificationReward("visual_rft").config.format_rule == "visual_rft"


answers_near = st.sampled_from(NAMES).flatmap(
    lambda name: st.tuples(
        st.just(name),
        st.lists(
            st.tuples(st.integers(0, 2), st.integers(0, 40), st.sampled_from("aeinrst ")),
            max_size=2,
        ),
    )
)


def _edit(name: str, ops: list[tuple[int, int, str]]) -> str:
    s = list(name)
    for kind, pos, ch in ops:
        i = pos % len(s)
        if kind == 0:
            s[i] = ch
        elif kind == 1:
            s.insert(i, ch)
        elif len(s) > 1:
            del s[i]
    return "".join(s)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(answers_near, st.sampled_from(NAMES)), min_size=1, max_size=8),
    st.sampled_from(
        [(0.85, 0.01, 2, True), (0.8, 0.05, 3, True), (0.9, 0.0, 1, True), (0.85, 0.01, 2, False)]
    ),
)
def test_strict_accuracy_equals_match_label(
    rows: list[tuple[tuple[str, list[tuple[int, int, str]]], str]],
    opts: tuple[float, float, int, bool],
) -> None:
    cutoff, margin, max_edits, fuzzy = opts
    # the same answers against several truths in one batch (the reward memoises both)
    answers = [_edit(name, ops) for (name, ops), _ in rows]
    truths = [truth if k % 2 else name for k, ((name, _), truth) in enumerate(rows)]
    answers, truths = answers + answers, truths + truths[::-1]
    reward = ClassificationReward(
        labels=NAMES,
        fuzzy_cutoff=cutoff,
        fuzzy_margin=margin,
        fuzzy_max_edits=max_edits,
        fuzzy=fuzzy,
    )
    labels = LabelSet(NAMES)
    want = [
        1.0
        if match_label(a, t, labels, fuzzy=fuzzy, cutoff=cutoff, margin=margin, max_edits=max_edits)
        else 0.0
        for a, t in zip(answers, truths, strict=True)
    ]
    assert accuracy(reward, answers, truths) == want


def test_near_matches_need_a_label_set_and_fuzzy() -> None:
    assert accuracy(
        ClassificationReward(labels=NAMES),
        ["camelia", "Egyptain Mau"],
        ["camellia", "Egyptian Mau"],
    ) == [
        1.0,
        1.0,
    ]
    assert accuracy(ClassificationReward(labels=NAMES, fuzzy=False), ["camelia"], ["camellia"]) == [
        0.0
    ]
    assert accuracy(ClassificationReward(), ["camelia", "camellia"], ["camellia"] * 2) == [0.0, 1.0]
    # exactly another class, and a near match of another class
    assert accuracy(ClassificationReward(labels=NAMES), ["Bombay", "Bombai"], ["Birman"] * 2) == [
        0.0,
        0.0,
    ]


def test_answer_length_limit_is_on_the_stripped_answer() -> None:
    reward = ClassificationReward(max_answer_chars=4)
    assert accuracy(reward, ["rose", "  rose  ", "roses", "rose rose"], ["rose"] * 4) == [
        1.0,
        1.0,
        0.0,
        0.0,
    ]
    assert accuracy(ClassificationReward(), ["pug " * 40], ["pug"]) == [0.0]
    assert accuracy(ClassificationReward(max_answer_chars=200), ["pug " * 40], ["pug"]) == [0.0]


def test_truncated_and_missing_answers() -> None:
    reward = ClassificationReward(labels=NAMES)
    res = reward.score(
        ["<think>x</think><answer>Bengal", "Bengal", "<think>x</think><answer>Bengal</answer>"],
        ["Bengal"] * 3,
    )
    assert res.components["accuracy"].tolist() == [0.0, 0.0, 1.0]
    assert res.parse_failed.tolist() == [False, True, False]


def test_truths_aliases_and_malformed_rows() -> None:
    reward = ClassificationReward(labels=NAMES)
    truths: list[Any] = [
        {"label": "pug", "aliases": ["carlin"]},
        "<answer>DesertRose</answer>",  # compact: matched to the canonical form
        "poodle",  # not in the label set
        "  ",
        "pug",
    ]
    with pytest.warns(UserWarning, match="malformed ground truth") as record:
        res = reward.score(
            [wrap(a) for a in ["Carlin", "desert rose", "poodle", "x", "pug"]], truths
        )
    rows = [str(w.message).split(":")[1].strip() for w in record]
    assert rows == ["row 2", "row 3"]
    acc = res.components["accuracy"].tolist()
    assert acc[:2] == [1.0, 1.0] and acc[4] == 1.0
    assert math.isnan(acc[2]) and math.isnan(acc[3])
    assert accuracy(reward, ["desertrose", "desert-rse"], ["desert rose", "DesertRose"]) == [
        1.0,
        1.0,
    ]
    strict = ClassificationReward(labels=NAMES, strict=True)
    with pytest.raises(ValueError, match=r"row 0.*not in the label set"):
        strict.score([wrap("poodle")], ["poodle"])
    with pytest.raises(ValueError, match=r"class name '--' is empty after normalisation"):
        ClassificationReward(strict=True).score([wrap("x")], ["--"])
    with pytest.raises(ValueError, match=r"class name '--' is empty after normalisation"):
        ClassificationReward(strict=True).score([wrap("x")], [{"label": "pug", "aliases": ["--"]}])


def test_paper_rule_truths() -> None:
    reward = ClassificationReward("visual_rft")
    truths: list[Any] = [
        "<answer> Desert Rose </answer>",
        {"label": "Desert_Rose", "aliases": ["sand rose"]},
        "<answer>a\nb</answer> rose",  # no answer block on one line: the whole text
        "pug",
    ]
    texts = [
        wrap("desertrose"),
        wrap("Sand Rose"),
        wrap("<answer>a\nb</answer> rose"),
        "no tags pug",
    ]
    res = reward.score(texts, truths)
    assert res.components["accuracy"].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert res.parse_failed.tolist() == [False, False, True, True]
    with pytest.warns(UserWarning, match=r"\(empty class name\)"):
        res = reward.score([wrap("x"), wrap("pug")], [{"label": " _ "}, "pug"])
    assert math.isnan(res.components["accuracy"][0])
    assert res.components["accuracy"][1] == 1.0  # the row after a malformed one is scored
    # repeated string truths are read once and give the same verdicts
    res = reward.score([wrap("rose"), wrap("tulip"), wrap("rose")], ["rose", "rose", "rose"])
    assert res.components["accuracy"].tolist() == [1.0, 0.0, 1.0]


def test_paper_rule_lower_cases_as_released() -> None:
    # str.lower, not str.upper: "ß" stays "ß" (upper() would make "SS" of it)
    reward = ClassificationReward("visual_rft")
    texts = [wrap("STRASSE"), wrap("strasse"), wrap("Straße")]
    acc = reward.score(texts, ["Straße"] * 3).components["accuracy"].tolist()
    assert acc == [paper_accuracy(t, "Straße") for t in texts] == [0.0, 0.0, 1.0]


def test_the_configured_margin_reaches_the_rule() -> None:
    # "2012 Audi R8 Coup": R8 at 17/18, S5 at 15/18, a lead of 0.111
    answer, truth = "2012 Audi R8 Coup", "2012 Audi R8 Coupe"
    for margin, want in ((0.01, 1.0), (0.1, 1.0), (0.12, 0.0), (0.5, 0.0)):
        reward = ClassificationReward(labels=NAMES, fuzzy_margin=margin)
        assert accuracy(reward, [answer, answer], [truth, truth]) == [want, want], margin
    for cutoff, want in ((0.9, 1.0), (0.95, 0.0)):
        reward = ClassificationReward(labels=NAMES, fuzzy_cutoff=cutoff)
        assert accuracy(reward, [answer], [truth]) == [want], cutoff
    for edits, want in ((1, 1.0), (2, 1.0)):
        reward = ClassificationReward(labels=NAMES, fuzzy_max_edits=edits)
        assert accuracy(reward, [answer, "2012 Audi R8 Cou"], [truth, truth]) == [
            want,
            float(edits >= 2),
        ]


@pytest.mark.parametrize("preset", ["default", "visual_rft"])
def test_an_empty_batch(preset: str) -> None:
    res = ClassificationReward(preset).score([], [])
    assert res.total.shape == res.components["accuracy"].shape == res.parse_failed.shape == (0,)
    assert res.parse_failed.dtype == np.bool_ and res.components["accuracy"].dtype == np.float64


def test_the_truth_cache_stays_out_of_the_pickle() -> None:
    # a reward shipped to workers carries its config, not the ground truth it has read
    reward = ClassificationReward()
    reward.score(["<think>x</think><answer>zanzibar lynx</answer>"], ["zanzibar lynx"])
    assert reward._truth_cache.entries
    assert "_truth_cache" not in reward.__getstate__()
    assert b"zanzibar" not in pickle.dumps(reward)
