"""The shapes a completion arrives in (strings, messages, multimodal parts, moved reasoning),
each with the exact text it gives, and the edges of the format checks."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visual_rewards.parsing import (
    completion_text,
    parse_completion,
    visual_rft_answer,
    visual_rft_format_ok,
)


@pytest.mark.parametrize(
    ("completion", "text"),
    [
        ("<answer>a</answer>", "<answer>a</answer>"),
        ({"role": "assistant", "content": "abc"}, "abc"),
        ({"role": "assistant", "content": None}, ""),
        ({"role": "assistant", "content": 12}, ""),
        ({"role": "assistant"}, ""),
        # multimodal parts: the text parts, joined without a separator; others ignored
        (
            {
                "content": [
                    {"type": "text", "text": "<think>a"},
                    {"type": "image", "image": "x.png"},
                    {"type": "text", "text": "</think>"},
                    "a bare string part",
                    {"type": "text"},
                    {"type": "image_url", "text": "not text"},
                    {"type": "text", "text": 3},
                ]
            },
            "<think>a</think>3",
        ),
        # reasoning moved out of the content is put back in front, once
        (
            {"content": "<answer>a</answer>", "reasoning_content": "r"},
            "<think>r</think><answer>a</answer>",
        ),
        ({"content": "<answer>a</answer>", "reasoning_content": ""}, "<answer>a</answer>"),
        ({"content": "<answer>a</answer>", "reasoning_content": None}, "<answer>a</answer>"),
        ({"content": "<answer>a</answer>", "reasoning_content": 5}, "<answer>a</answer>"),
        (
            {"content": "<think>t</think><answer>a</answer>", "reasoning_content": "r"},
            "<think>t</think><answer>a</answer>",
        ),
        ({"content": None, "reasoning_content": "r"}, "<think>r</think>"),
        # conversations: the assistant messages, joined; a message without a role counts
        (
            [
                {"role": "user", "content": "question"},
                {"role": "assistant", "content": "<think>a</think>"},
                {"content": "<answer>b</answer>"},
                "not a message",
            ],
            "<think>a</think><answer>b</answer>",
        ),
        ([], ""),
        (b"<answer>a</answer>", ""),
        (bytearray(b"x"), ""),
        (None, ""),
        (3.5, ""),
    ],
)
def test_completion_text(completion: Any, text: str) -> None:
    assert completion_text(completion) == text


def test_moved_reasoning_makes_the_format() -> None:
    c = parse_completion(
        [{"role": "assistant", "content": "<answer>cat</answer>", "reasoning_content": "fur"}]
    )
    assert (c.think, c.answer, c.format_ok) == ("fur", "cat", True)
    c = parse_completion(
        [{"role": "assistant", "content": "<answer>cat</answer>", "reasoning_content": ""}]
    )
    assert (c.think, c.format_ok) == (None, False)


@pytest.mark.parametrize(
    ("text", "think", "answer", "format_ok", "truncated"),
    [
        ("<think>a</think><answer>b</answer>", "a", "b", True, False),
        ("<think>a</think></think><answer>b</answer>", "a", "b", False, False),
        ("<think>a</think><answer>b</answer></answer>", "a", "b", False, False),
        ("<think><think>a</think><answer>b</answer>", "<think>a", "b", False, False),
        ("<think>a</think><answer><answer>b</answer>", "a", "<answer>b", False, False),
        ("<think>a</think>\n<answer>b</answer>\n\n", "a", "b", True, False),
        ("<think>a</think><answer>b</answer>x", "a", "b", False, False),
        ("x<think>a</think><answer>b</answer>", "a", "b", False, False),
        ("<think>a</think>", "a", None, False, False),
        ("<answer>b</answer>", None, "b", False, False),
        ("<answer>", None, "", False, True),
        ("<think></think>", "", None, False, False),
        ("</think><think>a</think><answer>b</answer>", "a", "b", False, False),
        ("</answer><think>a</think><answer>b</answer>", "a", "b", False, False),
        ("<think>a</think><answer></answer>", "a", "", False, False),  # closed, empty
        ("<think>a</think><answer>x</answer>", "a", "x", True, False),
    ],
)
def test_parse_completion_edges(
    text: str, think: str | None, answer: str | None, format_ok: bool, truncated: bool
) -> None:
    c = parse_completion(text)
    assert (c.think, c.answer, c.format_ok, c.truncated) == (think, answer, format_ok, truncated)
    assert c.text == text


def test_max_chars_cuts_the_text_first() -> None:
    text = "<think>a</think><answer>b</answer>"
    assert parse_completion(text, max_chars=len(text)).format_ok
    c = parse_completion(text, max_chars=len(text) - 1)
    assert (c.answer, c.truncated, c.format_ok, c.text) == ("b</answer", True, False, text[:-1])


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("I looked.\n<answer>cat</answer>", "cat"),  # a newline before the block
        ("a\nb\n<answer>x\ny</answer>\n<answer>dog</answer>", "dog"),
        ("<answer></answer>", ""),
        ("</answer><answer>cat</answer>", "cat"),
        ("<answer>cat</answer\n>", None),
    ],
)
def test_visual_rft_answer_edges(text: str, answer: str | None) -> None:
    assert visual_rft_answer(text) == answer


PAPER_FORMAT = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.DOTALL)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("<think>a</think><answer></answer>", True),  # the <answer> at the last place it fits
        ("<think></think> <answer></answer>", True),
        ("<think>a</think></answer>", False),  # no <answer> after </think>
        ("<think>a</think>x</answer>", False),
        ("<think>a</think><answer>b</think></answer>", True),  # a later </think> that fails
        ("<think>a</think>x</think><answer>b</answer>", True),  # an earlier </think> that fails
        ("<think>a</think>x</think>\n <answer>b</think>c</answer>", True),
        ("<think>a</think>x</think>y</think><answer>b</answer>", True),
        ("<think>a</think>x</think>y</think>z<answer>b</answer>", False),
        ("<think>a</think> x <answer>b</answer>", False),
        ("<think></think><answer>", False),
        ("<think></answer>", False),
        ("<think>", False),
    ],
)
def test_visual_rft_format_ok_edges(text: str, ok: bool) -> None:
    assert visual_rft_format_ok(text) is ok
    assert (PAPER_FORMAT.fullmatch(text) is not None) is ok


framed = st.lists(
    st.sampled_from(["</think>", "<answer>", "</answer>", "<think>", " ", "\n", "x"]), max_size=8
).map(lambda parts: "<think>" + "".join(parts) + "</answer>")


@settings(max_examples=500, deadline=None)
@given(framed)
def test_visual_rft_format_ok_on_framed_text(text: str) -> None:
    # every text here starts with <think> and ends with </answer>: only the middle decides
    assert visual_rft_format_ok(text) == (PAPER_FORMAT.fullmatch(text) is not None)
