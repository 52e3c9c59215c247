"""Completions: their text, their ``<think>``/``<answer>`` parts, and the two format checks.

Every function here is linear in the length of the text: tags are found with ``str.find`` and
``str.count``, never with a backtracking regular expression.

- :func:`completion_text` -- the text of a completion in any shape a trainer passes;
- :func:`parse_completion` -- think, answer, truncation and the **strict** format rule;
- :func:`unwrap_answer` -- the one ``<answer>`` unwrapper (ground truth, class names, counts);
- :func:`visual_rft_format_ok` / :func:`visual_rft_answer` -- the paper's released format
  check and answer extraction, decided in linear time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_MAX_COMPLETION_CHARS",
    "ParsedCompletion",
    "completion_text",
    "parse_completion",
    "unwrap_answer",
    "visual_rft_answer",
    "visual_rft_format_ok",
]

#: Completions longer than this are cut to this many characters before splitting.
DEFAULT_MAX_COMPLETION_CHARS = 1 << 20

_THINK, _END_THINK = "<think>", "</think>"
_ANSWER, _END_ANSWER = "<answer>", "</answer>"
_SPACES_RE = re.compile(r"\s*")  # one greedy class, anchored: linear, nothing to backtrack


@dataclass(frozen=True, slots=True)
class ParsedCompletion:
    """A completion split into its parts.

    Attributes:
        text: the completion as one string (after joining messages and capping its length).
        think: content of the first ``<think>…</think>`` block, or None.
        answer: content of the first ``<answer>…</answer>`` block; for an ``<answer>`` that is
            never closed, everything after it (``truncated`` is then True); None without one.
        format_ok: exactly one non-empty think block followed by exactly one non-empty answer
            block, with only whitespace outside them.
        truncated: the answer block was opened but never closed.
    """

    text: str
    think: str | None
    answer: str | None
    format_ok: bool
    truncated: bool


def _message_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # multimodal content parts: [{"type": "text", "text": ...}]
        content = "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type") == "text"
        )
    text = content if isinstance(content, str) else ""
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning and "<think>" not in text:
        text = f"<think>{reasoning}</think>{text}"
    return text


def completion_text(completion: Any) -> str:
    """Return the text of a completion in any of the shapes trainers pass.

    Accepts a string; TRL's conversational completion ``[{"role": "assistant", "content": …}]``
    (the assistant messages are joined); or one message dict. A ``reasoning_content`` field
    (transformers response schemas move the thinking there) is put back as a ``<think>``
    block in front of the content. Anything else gives ``""``.

    >>> completion_text([{"role": "assistant", "content": "<answer>cat</answer>",
    ...                   "reasoning_content": "fur"}])
    '<think>fur</think><answer>cat</answer>'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return _message_text(completion)
    if isinstance(completion, Sequence) and not isinstance(completion, (bytes, bytearray)):
        parts = [
            _message_text(m)
            for m in completion
            if isinstance(m, Mapping) and m.get("role", "assistant") == "assistant"
        ]
        return "".join(parts)
    return ""


def parse_completion(
    completion: Any, max_chars: int = DEFAULT_MAX_COMPLETION_CHARS
) -> ParsedCompletion:
    """Split a completion into think and answer and check its format (the strict rule).

    Args:
        completion: a string, a conversational completion, or a message (see :func:`completion_text`).
        max_chars: the text is cut to this many characters first.

    >>> c = parse_completion("<think>a dog</think> <answer>[1, 2, 3, 4]</answer>")
    >>> c.think, c.answer, c.format_ok, c.truncated
    ('a dog', '[1, 2, 3, 4]', True, False)
    >>> c = parse_completion("<think>x</think><answer>[{'Position': [1, 2")
    >>> c.answer, c.format_ok, c.truncated
    ("[{'Position': [1, 2", False, True)
    """
    text = completion_text(completion)[:max_chars]

    think: str | None = None
    t0 = text.find("<think>")
    if t0 >= 0:
        t1 = text.find("</think>", t0 + 7)
        if t1 >= 0:
            think = text[t0 + 7 : t1]

    answer: str | None = None
    truncated = False
    a0 = text.find("<answer>")
    if a0 >= 0:
        a1 = text.find("</answer>", a0 + 8)
        if a1 >= 0:
            answer = text[a0 + 8 : a1]
        else:
            answer = text[a0 + 8 :]
            truncated = True

    format_ok = False
    if think is not None and answer is not None and not truncated:
        t1 = t0 + 7 + len(think)
        a1 = a0 + 8 + len(answer)
        # each tag exactly once (str.count is linear and builds no list of tags), in order
        if (
            t1 < a0
            and text.count("<think>") == 1
            and text.count("</think>") == 1
            and text.count("<answer>") == 1
            and text.count("</answer>") == 1
        ):
            outside = text[:t0] + text[t1 + 8 : a0] + text[a1 + 9 :]
            format_ok = not outside.strip() and bool(think.strip()) and bool(answer.strip())
    return ParsedCompletion(
        text=text, think=think, answer=answer, format_ok=format_ok, truncated=truncated
    )


def unwrap_answer(text: str) -> str:
    """The content of the first ``<answer>…</answer>`` block, stripped; else ``text`` stripped.

    The one unwrapper of ``<answer>`` tags for ground truth (boxes, class names, counts): a
    block that is opened but never closed is not unwrapped (the text is then malformed for the
    caller to reject, never silently shortened).

    >>> unwrap_answer("<answer> Abyssinian </answer>"), unwrap_answer(" 3 ")
    ('Abyssinian', '3')
    >>> unwrap_answer("<answer>a\\nb</answer><answer>c</answer>"), unwrap_answer("<answer>3")
    ('a\\nb', '<answer>3')
    """
    start = text.find(_ANSWER)
    if start >= 0:
        end = text.find(_END_ANSWER, start + len(_ANSWER))
        if end >= 0:
            return text[start + len(_ANSWER) : end].strip()
    return text.strip()


def visual_rft_answer(text: str) -> str | None:
    """The paper's answer extraction, ``re.search(r"<answer>(.*?)</answer>", text).group(1)``.

    The first ``<answer>`` that is closed by a ``</answer>`` on the same line (the released
    pattern has no DOTALL), or None. Decided with ``str.find`` in linear time (the regex is
    quadratic on ``"<answer>" * n``): each candidate start looks up the first ``</answer>``
    and the first newline after it, and both only move forward.

    >>> visual_rft_answer("<answer>a\\nb</answer> <answer>cat</answer>")
    'cat'
    >>> visual_rft_answer("<answer>cat"), visual_rft_answer("<answer><answer>x</answer>")
    (None, '<answer>x')
    """
    close = newline = -1
    start = text.find(_ANSWER)
    while start >= 0:
        body = start + len(_ANSWER)
        if close < body:
            close = text.find(_END_ANSWER, body)
            if close < 0:
                return None  # no later start has a close either
        if newline < body:
            newline = text.find("\n", body)
            if newline < 0:
                newline = len(text)
        if close < newline:
            return text[body:close]
        start = text.find(_ANSWER, newline)  # every start before the newline fails the same way
    return None


def visual_rft_format_ok(text: str) -> bool:
    """The paper's format check, ``re.fullmatch(r"<think>.*?</think>\\s*<answer>.*?</answer>",
    text, re.DOTALL) is not None``, in linear time.

    The pattern matches exactly when the text starts with ``<think>``, ends with
    ``</answer>``, and some ``</think>``, whitespace (``str.isspace``, as ``\\s``), ``<answer>``
    lies between them. Each ``</think>`` is tried once and the whitespace after it is skipped
    once (runs after different ``</think>`` tags do not overlap), so the cost is linear.

    >>> visual_rft_format_ok("<think></think> <answer></answer>")
    True
    >>> visual_rft_format_ok("<think>a</think>b<answer>c</answer>")
    False
    """
    if not (text.startswith(_THINK) and text.endswith(_END_ANSWER)):
        return False
    last_start = len(text) - len(_END_ANSWER) - len(_ANSWER)  # the latest <answer> that fits
    pos = text.find(_END_THINK, len(_THINK))
    while pos >= 0:
        after = _SPACES_RE.match(text, pos + len(_END_THINK)).end()  # type: ignore[union-attr]
        if after > last_start:
            return False  # later </think> tags start later still
        if text.startswith(_ANSWER, after):
            return True
        pos = text.find(_END_THINK, pos + 1)
    return False
