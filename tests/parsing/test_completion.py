"""Completions (parsing/completion.py): parts, the strict format, the one answer unwrapper, and the
paper's format check and answer extraction in linear time."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_rewards import PAPER_FORMAT_RE

from visual_rewards.parsing import (
    parse_completion,
    unwrap_answer,
    visual_rft_answer,
    visual_rft_format_ok,
)

# --------------------------------------------------------------------------------------------
# parse_completion
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "think", "answer", "format_ok", "truncated"),
    [
        ("<think>a</think><answer>b</answer>", "a", "b", True, False),
        ("  <think>a</think>\n\n<answer>b</answer>\n", "a", "b", True, False),
        ("<think></think><answer>b</answer>", "", "b", False, False),  # empty think
        ("<think>a</think><answer> </answer>", "a", " ", False, False),  # empty answer
        ("hi <think>a</think><answer>b</answer>", "a", "b", False, False),  # text outside
        ("<think>a</think>x<answer>b</answer>", "a", "b", False, False),
        ("<think>a</think><answer>b</answer><answer>c</answer>", "a", "b", False, False),
        ("<think>a<think>b</think></think><answer>c</answer>", "a<think>b", "c", False, False),
        ("<answer>b</answer><think>a</think>", "a", "b", False, False),  # wrong order
        ("<think>a</think><answer>[1, 2", "a", "[1, 2", False, True),  # truncated
        ("<think>a", None, None, False, False),
        ("just text", None, None, False, False),
        ("", None, None, False, False),
    ],
)
def test_parse_completion_cases(
    text: str, think: str | None, answer: str | None, format_ok: bool, truncated: bool
) -> None:
    c = parse_completion(text)
    assert (c.think, c.answer, c.format_ok, c.truncated) == (think, answer, format_ok, truncated)


def test_parse_completion_conversational_and_reasoning_content() -> None:
    msgs = [{"role": "assistant", "content": "<think>t</think><answer>a</answer>"}]
    assert parse_completion(msgs).format_ok
    moved = [{"role": "assistant", "content": "<answer>a</answer>", "reasoning_content": "t"}]
    c = parse_completion(moved)
    assert (c.think, c.answer, c.format_ok) == ("t", "a", True)
    parts = {
        "role": "assistant",
        "content": [{"type": "text", "text": "<think>t</think><answer>a</answer>"}],
    }
    assert parse_completion(parts).answer == "a"
    assert parse_completion(None).answer is None
    assert parse_completion(12345).text == ""


def test_parse_completion_caps_length() -> None:
    text = "<think>" + "x" * 100 + "</think><answer>a</answer>"
    assert parse_completion(text, max_chars=50).answer is None


# --------------------------------------------------------------------------------------------
# The paper's format check and answer extraction: the released regexes (tests only) as judges
# --------------------------------------------------------------------------------------------

tag_soup = st.lists(
    st.sampled_from(
        ["<think>", "</think>", "<answer>", "</answer>", " ", "\n", "x", "<", ">", "/", "think"]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=2000, deadline=None)
@given(tag_soup)
def test_visual_rft_format_check_is_the_papers_regex(text: str) -> None:
    assert visual_rft_format_ok(text) == (PAPER_FORMAT_RE.fullmatch(text) is not None)


@settings(max_examples=2000, deadline=None)
@given(tag_soup)
def test_visual_rft_answer_is_the_papers_search(text: str) -> None:
    match = re.search(r"<answer>(.*?)</answer>", text)
    assert visual_rft_answer(text) == (match.group(1) if match else None)


@settings(max_examples=2000, deadline=None)
@given(tag_soup)
def test_unwrap_answer_is_the_first_closed_block(text: str) -> None:
    match = re.search(r"<answer>(.*?)</answer>", text, re.DOTALL)
    assert unwrap_answer(text) == (match.group(1) if match else text).strip()


def test_whitespace_of_the_papers_regex_is_str_isspace() -> None:
    # visual_rft_format_ok skips whitespace after </think> as \s does: every code point agrees
    import sys

    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        text = "<think>a</think>" + ch + "<answer>b</answer>"
        assert visual_rft_format_ok(text) == (PAPER_FORMAT_RE.fullmatch(text) is not None), cp


# --------------------------------------------------------------------------------------------
# Invisible content counts as empty in the strict format
# --------------------------------------------------------------------------------------------

INVISIBLE = ["\u200b", "\u00ad", "\u0301", "\u2060", "\ufeff", "\u200e", "\u3000", "\x00", "\u2028"]


@pytest.mark.parametrize("blank", INVISIBLE)
def test_invisible_content_is_empty(blank: str) -> None:
    assert not parse_completion(f"<think>{blank}</think><answer>{blank}</answer>").format_ok
    assert not parse_completion(f"<think>a</think><answer>{blank * 3}</answer>").format_ok
    assert not parse_completion(f"<think>{blank} </think><answer>b</answer>").format_ok
    assert parse_completion(f"{blank}<think>a</think>{blank}<answer>b</answer>{blank}").format_ok
    assert parse_completion(f"<think>a{blank}</think><answer>b{blank}</answer>").format_ok


def test_stored_invisible_table_is_unicodedata() -> None:
    import unicodedata

    from visual_rewards.parsing import completion

    if unicodedata.unidata_version != completion._INVISIBLE_UNICODE_VERSION:
        pytest.skip("the stored table is for another Unicode version (computed at run time)")
    assert completion._computed_ranges() == completion._INVISIBLE_RANGES


def test_ascii_invisible_characters_are_the_tables() -> None:
    from visual_rewards.parsing import completion

    table = [c for a, b in completion.invisible_ranges() for c in range(a, min(b, 0x7F) + 1)]
    assert "".join(map(chr, table)) == completion._ASCII_INVISIBLE


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=6))
def test_visible_text_is_the_documented_rule(text: str) -> None:
    import unicodedata

    from visual_rewards.parsing.completion import INVISIBLE_CATEGORIES, has_visible_text

    want = any(
        not c.isspace() and unicodedata.category(c) not in INVISIBLE_CATEGORIES for c in text
    )
    assert has_visible_text(text) == want
