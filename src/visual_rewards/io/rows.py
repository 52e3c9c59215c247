"""Rows of JSONL (or parquet) files: bounded line reading, strict JSON, row fields.

Every application reads its input through this module, so they agree on what a row is:

* a line is read with a byte bound (:func:`iter_raw_lines`): a longer line is drained without
  being held in memory and reported by its length;
* a line is strict JSON (:func:`decode_row`): ``NaN``, ``Infinity`` and numbers that overflow
  a double (``1e400``) are refused, so whatever is written back is valid JSON again;
* a row is a JSON object; a bad line becomes an error record
  ``{"line": n, "error": reason, "text": first 200 characters}`` (:func:`error_record`);
* a field is looked up in the row, then in its ``metadata`` (:func:`row_value`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, NamedTuple

__all__ = [
    "MAX_LINE_BYTES",
    "NonFiniteNumberError",
    "ParsedLine",
    "decode_row",
    "error_record",
    "iter_parquet_lines",
    "iter_raw_lines",
    "iter_rows",
    "json_error_message",
    "parse_line",
    "row_value",
    "type_name",
]

#: Default bound on one input line (16 MiB).
MAX_LINE_BYTES = 1 << 24
_MAX_ERROR_SNIPPET = 200


class NonFiniteNumberError(ValueError):
    """A JSON number that is not a finite double (``NaN``, ``Infinity``, ``1e400``)."""


def _reject_constant(name: str) -> Any:
    raise NonFiniteNumberError(f"non-finite number {name} (not JSON)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NonFiniteNumberError(f"number {text[:40]} is out of range (not a finite double)")
    return value


#: The one strict JSON decoder of the applications.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def decode_row(text: str) -> Any:
    """Decode one JSON document strictly (see the module docstring).

    Raises ``ValueError`` (``json.JSONDecodeError`` or :class:`NonFiniteNumberError`).

    >>> decode_row('{"a": 1.5}')
    {'a': 1.5}
    >>> decode_row('{"a": 1e400}')
    Traceback (most recent call last):
    ...
    visual_rewards.io.rows.NonFiniteNumberError: number 1e400 is out of range (not a finite double)
    """
    return _DECODER.decode(text)


def json_error_message(exc: ValueError) -> str:
    """One line for a :func:`decode_row` failure: ``invalid JSON: <reason> at column <n>``.

    >>> try:
    ...     decode_row('{"a": }')
    ... except ValueError as exc:
    ...     print(json_error_message(exc))
    invalid JSON: Expecting value at column 7
    """
    if isinstance(exc, json.JSONDecodeError):  # some messages end in "starting at"
        return f"invalid JSON: {exc.msg.removesuffix(' at')} at column {exc.colno}"
    return f"invalid JSON: {exc}"


def type_name(value: Any) -> str:
    """The JSON-ish name of a value's type, for messages (``null`` for None)."""
    return "null" if value is None else type(value).__name__


def error_record(line_no: int, message: str, raw: bytes | str | None) -> dict[str, Any]:
    """``{"line", "error", "text"}``: a bad input line, with its first 200 characters."""
    snippet: str | None
    if raw is None:
        snippet = None
    else:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        snippet = text.rstrip("\r\n")[:_MAX_ERROR_SNIPPET]
    return {"line": line_no, "error": message, "text": snippet}


def iter_raw_lines(f: IO[bytes], max_bytes: int = MAX_LINE_BYTES) -> Iterator[bytes | int]:
    """Yield raw lines; a line longer than ``max_bytes`` is drained and yielded as its length."""
    while True:
        line = f.readline(max_bytes + 1)
        if not line:
            return
        if len(line) > max_bytes and not line.endswith(b"\n"):
            size = len(line)
            while True:
                more = f.readline(1 << 20)
                size += len(more)
                if not more or more.endswith(b"\n"):
                    break
            yield size
        else:
            yield line


def iter_parquet_lines(
    path: Path | str | IO[bytes],
    batch_rows: int = 1024,
    *,
    first_group: int = 0,
    skip_rows: int = 0,
) -> Iterator[bytes | int]:
    """Yield the rows of a parquet file (a path or a binary file object) as JSON lines (bytes
    values become base64 strings), from row group ``first_group`` on, the first ``skip_rows``
    of those rows left out (decoded, not converted).

    Raises ``ImportError`` (with the install hint) when pyarrow is missing.
    """
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "reading parquet needs pyarrow: pip install 'visual-rewards[parquet]'"
        ) from None
    import base64

    def default(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray)):
            return base64.b64encode(value).decode("ascii")
        return str(value)

    parquet = pq.ParquetFile(path)
    groups = range(first_group, parquet.num_row_groups)
    for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=groups):
        if skip_rows >= batch.num_rows:
            skip_rows -= batch.num_rows
            continue
        for row in batch.slice(skip_rows).to_pylist():
            yield json.dumps(row, default=default, ensure_ascii=False).encode("utf-8")
        skip_rows = 0


class ParsedLine(NamedTuple):
    """One raw line read as a row: ``row`` (a dict) or ``error`` (the reason), and ``text``
    (the decoded, stripped line; empty for a blank line, which has neither row nor error)."""

    row: dict[str, Any] | None
    error: str | None
    text: str


def parse_line(raw: bytes | int, max_bytes: int = MAX_LINE_BYTES) -> ParsedLine:
    """Read one raw line of :func:`iter_raw_lines` as a JSON-object row.

    >>> parse_line(b'{"a": 1}\\n')
    ParsedLine(row={'a': 1}, error=None, text='{"a": 1}')
    >>> parse_line(b'"unterminated').error
    'invalid JSON: Unterminated string starting at column 1'
    """
    if isinstance(raw, int):
        return ParsedLine(None, f"line too long ({raw} bytes > {max_bytes})", "")
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        return ParsedLine(None, f"not UTF-8: {exc.reason} at byte {exc.start}", "")
    if not text:
        return ParsedLine(None, None, "")
    try:
        row = decode_row(text)
    except ValueError as exc:
        return ParsedLine(None, json_error_message(exc), text)
    except RecursionError:
        return ParsedLine(None, "invalid JSON: nested too deeply", text)
    if not isinstance(row, dict):
        return ParsedLine(None, f"expected a JSON object, got {type_name(row)}", text)
    return ParsedLine(row, None, text)


def iter_rows(
    path: Path | str,
    errors: list[dict[str, Any]] | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, row)`` for every JSON-object line of a JSONL file.

    Bad lines are skipped and, when ``errors`` is given, appended to it as
    :func:`error_record` dicts (blank lines are skipped silently). Raises ``OSError`` when
    the file cannot be opened.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "rows.jsonl")
    >>> _ = open(path, "w").write('{"a": 1}\\n\\n[2]\\n')
    >>> errors = []
    >>> list(iter_rows(path, errors)), [e["error"] for e in errors]
    ([(1, {'a': 1})], ['expected a JSON object, got list'])
    """
    with open(path, "rb") as f:
        for line_no, raw in enumerate(iter_raw_lines(f, max_line_bytes), start=1):
            line = parse_line(raw, max_line_bytes)
            if line.row is not None:
                yield line_no, line.row
            elif line.error is not None and errors is not None:
                snippet = None if isinstance(raw, int) else raw
                errors.append(error_record(line_no, line.error, snippet))


def row_value(row: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """``row[name]``, else the same key inside the row's ``metadata`` (a dict or JSON text).

    Rows written by ``visual-rewards build-dataset`` keep ``image_id``, ``category`` and
    ``image_size`` in a ``metadata`` JSON string; this finds them there.

    >>> row_value({"metadata": '{"image_size": [640, 480]}'}, "image_size")
    [640, 480]
    >>> row_value({"image_size": [1, 2], "metadata": "{}"}, "image_size")
    [1, 2]
    """
    if name in row:
        return row[name]
    meta = row.get("metadata")
    if isinstance(meta, str) and meta.startswith("{"):
        try:
            meta = decode_row(meta)
        except (ValueError, RecursionError):
            return default
    if isinstance(meta, Mapping):
        return meta.get(name, default)
    return default
