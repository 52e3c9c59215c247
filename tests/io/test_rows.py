"""visual_rewards.io.rows: strict JSON lines, bounded, and the row-field lookup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from visual_rewards.io.rows import decode_row, iter_parquet_lines, iter_rows, parse_line, row_value


def test_iter_rows_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    lines = [b'{"a": 1}', b"", b"[1]", b"\xff\xfe", b'{"x": 1e400}', b'{"x": NaN}', b"x" * 50]
    path.write_bytes(b"\n".join(lines) + b"\n")
    errors: list[dict[str, object]] = []
    rows = list(iter_rows(path, errors, max_line_bytes=40))
    assert rows == [(1, {"a": 1})]
    assert [e["line"] for e in errors] == [3, 4, 5, 6, 7]
    assert "out of range" in str(errors[2]["error"]) and "NaN" in str(errors[3]["error"])
    assert "too long" in str(errors[4]["error"])


def test_unterminated_string_message_has_no_doubled_word() -> None:
    error = parse_line(b'{"a": "open').error
    assert error == "invalid JSON: Unterminated string starting at column 7"
    assert "at at" not in error


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_decode_row_never_returns_a_non_finite_number(x: float) -> None:
    text = json.dumps({"x": x})  # json writes NaN / Infinity for non-finite floats
    try:
        row = decode_row(text)
    except ValueError:
        assert x != x or x in (float("inf"), float("-inf"))
    else:
        assert row == {"x": x}
        json.dumps(row, allow_nan=False)  # would raise on NaN / inf


def test_row_value_metadata() -> None:
    assert row_value({"metadata": {"k": 1}}, "k") == 1
    assert row_value({"metadata": "{bad"}, "k", 5) == 5
    assert row_value({"metadata": '{"k": 1e400}'}, "k", 5) == 5


@pytest.mark.parametrize("raw", [b"", b"   \n"])
def test_blank_lines_are_neither_rows_nor_errors(raw: bytes) -> None:
    line = parse_line(raw)
    assert line.row is None and line.error is None


@pytest.mark.parametrize("batch_rows", [1, 3, 7, 50])
def test_parquet_lines_from_a_row_group_and_a_row(tmp_path: Path, batch_rows: int) -> None:
    """Reading from row group g with k rows passed over gives the rows after them: what a
    resumed local run and a Ray task read."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"n": list(range(23))}), src, row_group_size=5)
    every = list(iter_parquet_lines(src, batch_rows))
    assert [json.loads(x)["n"] for x in every] == list(range(23))  # type: ignore[arg-type]
    for group in range(5):
        for skip in (0, 1, 4, 5, 6, 30):
            got = list(iter_parquet_lines(src, batch_rows, first_group=group, skip_rows=skip))
            assert got == every[5 * group + skip :]
