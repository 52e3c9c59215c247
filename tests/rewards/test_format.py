"""FormatReward and the behaviour every reward inherits from the base class."""

from __future__ import annotations

import pickle
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visual_rewards import FormatReward, RewardResult
from visual_rewards.rewards import REWARDS, get_reward

PAPER_RE = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.DOTALL)


def reference_strict(text: str) -> float:
    """Obviously-correct strict rule: exactly the four tags, in order, non-empty, nothing outside."""
    tags = re.findall(r"</?(?:think|answer)>", text)
    if tags != ["<think>", "</think>", "<answer>", "</answer>"]:
        return 0.0
    m = re.fullmatch(r"\s*<think>(.*)</think>\s*<answer>(.*)</answer>\s*", text, re.DOTALL)
    return float(m is not None and bool(m.group(1).strip()) and bool(m.group(2).strip()))


tag_soup = st.lists(
    st.sampled_from(
        ["<think>", "</think>", "<answer>", "</answer>", " ", "\n", "x", "cat", "[1, 2, 3, 4]", ""]
    ),
    max_size=10,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(tag_soup)
def test_strict_matches_reference(text: str) -> None:
    assert FormatReward().score([text]).total[0] == reference_strict(text)


@settings(max_examples=3000, deadline=None)
@given(tag_soup)
def test_visual_rft_is_the_papers_regex(text: str) -> None:
    expected = float(PAPER_RE.fullmatch(text) is not None)
    assert FormatReward("visual_rft").score([text]).total[0] == expected


@pytest.mark.parametrize(
    ("text", "strict", "paper"),
    [
        ("<think>a</think><answer>b</answer>", 1.0, 1.0),
        ("<think></think><answer></answer>", 0.0, 1.0),  # the paper's regex pays empty blocks
        ("<think>a</think><answer>b</answer><answer>c</answer>", 0.0, 1.0),  # and repeated tags
        ("<think>a</think><answer>b", 0.0, 0.0),  # truncated
        ("b", 0.0, 0.0),
    ],
)
def test_format_cases(text: str, strict: float, paper: float) -> None:
    assert FormatReward().score([text]).total.tolist() == [strict]
    assert FormatReward("visual_rft").score([text]).total.tolist() == [paper]


def test_trl_convention() -> None:
    r = FormatReward()
    completions: list[Any] = [
        [{"role": "assistant", "content": "<think>a</think><answer>b</answer>"}],
        [{"role": "assistant", "content": "<answer>b</answer>", "reasoning_content": "a"}],
        [{"role": "assistant", "content": "b"}],
    ]
    assert r(prompts=["p"] * 3, completions=completions, completion_ids=[[1]] * 3) == [
        1.0,
        1.0,
        0.0,
    ]
    assert r.__name__ == "format_default"
    assert FormatReward("visual_rft").__name__ == "format_visual_rft"
    assert FormatReward(name="fmt").__name__ == "fmt"
    with pytest.raises(TypeError, match="completions"):
        r(prompts=["p"])


def test_result_shape_and_components() -> None:
    res = FormatReward().score(["<think>a</think><answer>b</answer>", "x"])
    assert isinstance(res, RewardResult)
    assert res.total.dtype == np.float64 and res.total.shape == (2,)
    assert set(res.components) == {"format"}
    assert res.parse_failed.tolist() == [False, True]
    assert len(res) == 2 and res.to_list() == [1.0, 0.0]
    empty = FormatReward().score([])
    assert empty.total.shape == (0,)


def test_caller_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="has no preset"):
        FormatReward("nope")
    with pytest.raises(TypeError, match="unknown option"):
        FormatReward(bogus=1)
    with pytest.raises(TypeError, match="not a single string"):
        FormatReward().score("<think>a</think>")  # type: ignore[arg-type]


def test_immutable_picklable_comparable() -> None:
    r = FormatReward("visual_rft")
    with pytest.raises(AttributeError):
        r.preset = "default"  # type: ignore[misc]
    clone = pickle.loads(pickle.dumps(r))
    assert clone == r and hash(clone) == hash(r) and clone.__name__ == r.__name__
    assert clone.score(["<think></think><answer></answer>"]).total.tolist() == [1.0]
    assert repr(FormatReward()) == "FormatReward(preset='default')"


def test_registry() -> None:
    assert REWARDS["format"] is FormatReward
    assert get_reward("format", "visual_rft") == FormatReward("visual_rft")
    with pytest.raises(ValueError, match="unknown task"):
        get_reward("nope")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=50), max_size=20))
def test_batch_equals_loop(texts: list[str]) -> None:
    for preset in ("default", "visual_rft"):
        r = FormatReward(preset)
        batch = r.score(texts).total.tolist()
        assert batch == [r.score([t]).total[0] for t in texts]
