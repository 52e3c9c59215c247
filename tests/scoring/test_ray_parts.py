"""How the Ray engine cuts a file into parts: every line read once, in order, in the local
run's chunks, wherever the cuts fall (no Ray needed: the cutting is plain functions)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visual_rewards.io.rows import iter_raw_lines
from visual_rewards.scoring import ScoreOptions, _chunks
from visual_rewards.scoring_ray import _count_line_starts, _part_size, _parts, _source

#: File contents full of what moves line boundaries: newlines, blank lines, long lines, no
#: final newline.
_CONTENT = st.lists(
    st.sampled_from([b"\n", b"a", b"{}", b"xxxxxxxxxxxx", b"\r\n", b"\xff"]), max_size=40
).map(b"".join)


def _local_lines(path: Path, opts: ScoreOptions) -> list[bytes | int]:
    with path.open("rb") as f:
        return list(iter_raw_lines(f, opts.max_line_bytes))


def _cuts(data: st.DataObject, size: int) -> list[int]:
    inner = data.draw(st.lists(st.integers(1, max(size - 1, 1)), max_size=8, unique=True))
    return [0, *sorted(c for c in inner if c < size), size]


@settings(max_examples=300, deadline=None)
@given(content=_CONTENT, data=st.data())
def test_byte_ranges_hold_each_line_once_in_order(
    tmp_path_factory: pytest.TempPathFactory, content: bytes, data: st.DataObject
) -> None:
    path = tmp_path_factory.mktemp("cut") / "in.jsonl"
    path.write_bytes(content)
    opts = ScoreOptions(max_line_bytes=5)  # a long line is one line too, its length read
    source = _source(str(path), "jsonl", None)
    edges = _cuts(data, len(content))
    every = _local_lines(path, opts)
    got: list[bytes | int] = []
    for a, b in itertools.pairwise(edges):
        count = _count_line_starts(source, a, b)
        skip = data.draw(st.integers(0, 3))  # a part reads on past its range's end
        assert list(source.lines(a, skip, opts)) == every[len(got) + skip :]
        got += itertools.islice(source.lines(a, 0, opts), count)
    assert got == every


@settings(max_examples=300, deadline=None)
@given(
    counts=st.lists(st.integers(0, 9), max_size=12),
    chunk_size=st.integers(1, 5),
)
def test_parts_score_the_local_chunks(counts: list[int], chunk_size: int) -> None:
    lines = list(range(sum(counts)))  # line i + 1 of the file
    starts = [0, *itertools.accumulate(counts)]
    units = [(start, 0, n) for start, n in zip(starts, counts, strict=False)]
    got = []
    for part in _parts(units, chunk_size):  # each part reads from its unit's first line on
        ahead = itertools.islice(lines[part.where :], part.skip, part.skip + part.n_lines)
        got += list(_chunks(iter(ahead), chunk_size, part.first_line))
    want = list(_chunks(iter(lines), chunk_size))
    assert [(first, chunk) for first, chunk in got] == want


@given(
    total=st.integers(0, 10**12),
    wanted=st.integers(1, 10**4),
    bounds=st.tuples(st.integers(1, 10**9), st.integers(1, 10**9)).map(sorted),
)
def test_parts_are_sized_within_their_bounds(total: int, wanted: int, bounds: list[int]) -> None:
    """Every part within [smallest, largest] (the docs: 1 to 64 MiB of JSONL, at most
    65,536 parquet rows), and no more than ``wanted`` parts unless a bound says so."""
    smallest, largest = bounds
    step = _part_size(total, wanted, smallest, largest)
    assert smallest <= step <= largest
    if step < largest:
        assert -(-total // step) <= wanted
