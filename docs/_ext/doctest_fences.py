"""A Griffe extension for the API page: render bare doctest blocks as Python console code.

Docstrings in this project carry runnable examples (``>>> …`` lines, run by pytest's
``--doctest-modules``) without an ``Examples:`` heading. Markdown would read them as nested
quotes and ``x[1][:26]`` as a reference link; this fences each block as ``pycon`` code before
mkdocstrings renders it. Docstrings themselves are unchanged.
"""

from __future__ import annotations

from typing import Any

from griffe import Extension, Object


def fence_doctests(text: str) -> str:
    r"""Wrap each run of non-blank lines that starts with ``>>>`` in a ``pycon`` fence.

    >>> fence_doctests("Sum.\n\n>>> 1 + 1\n2\n\nMore.").splitlines()
    ['Sum.', '', '```pycon', '>>> 1 + 1', '2', '```', '', 'More.']
    """
    lines = text.split("\n")
    out: list[str] = []
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            in_fence = not in_fence
        if in_fence or not line.startswith(">>>"):
            out.append(line)
            i += 1
            continue
        out.append("```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append("```")
    return "\n".join(out)


class DoctestFences(Extension):
    """Fence the doctest blocks of every docstring Griffe loads."""

    def on_object(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
