"""Query results as Athena writes them: ``<id>.csv`` (or ``.txt``) and its metadata.

Athena writes a query's result under the output location as CSV: every value in double
quotes (quotes inside doubled), a NULL as nothing at all, the header row first for a
SELECT; DDL results (SHOW, DESCRIBE...) as ``<id>.txt``, one row per line, fields
separated by tabs. Beside each, ``<file>.metadata`` describes the columns; Athena's is
a binary format of its own, so fogbank's is JSON with the ColumnInfo list.

:func:`read_rows` reads a result back a page at a time from a byte offset, so that
GetQueryResults' pages cost what they return, however deep in the result they are.
"""

from __future__ import annotations

import csv as _csv
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, cast


@dataclass(frozen=True)
class Column:
    """One column of a result, as GetQueryResults' ColumnInfo describes it."""

    name: str
    type: str
    precision: int = 0
    scale: int = 0

    def info(self) -> dict[str, Any]:
        return {
            "CatalogName": "hive",
            "SchemaName": "",
            "TableName": "",
            "Name": self.name,
            "Label": self.name,
            "Type": self.type,
            "Precision": self.precision,
            "Scale": self.scale,
            "Nullable": "UNKNOWN",
            "CaseSensitive": self.type in ("varchar", "char", "string", "json"),
        }


_AS_TEXT = ("varchar", "char", "tinyint", "smallint", "integer", "bigint", "date", "decimal")


def render_column(column: Any, athena_type: str) -> Any:
    """A result column (an Arrow array) as the text Athena prints for each value, NULLs
    kept: integers, dates, decimals and strings by Arrow's own casts, booleans as
    true/false, and the rest (doubles as Java prints them, timestamps, arrays, maps,
    rows) value by value through :func:`fogbank.query.types.render_value`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = athena_type.lower()
    try:
        if kind in _AS_TEXT:
            return pc.cast(column, pa.string())
        if kind == "boolean":
            return pc.if_else(column, "true", "false")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass  # an Arrow type with no cast to text (a UUID): rendered one by one below
    from fogbank.query.types import render_value

    return pa.array([render_value(v, athena_type) for v in column.to_pylist()], pa.string())


def csv_line(values: Sequence[str | None]) -> bytes:
    """One CSV row: quoted values, NULL as an empty field."""
    return (
        ",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in values) + "\n"
    ).encode()


def text_line(values: Sequence[str | None]) -> bytes:
    """One row of a DDL result: tab-separated."""
    return ("\t".join("" if v is None else v for v in values) + "\n").encode()


def metadata(columns: Sequence[Column], *, whole_lines: bool = False) -> bytes:
    """``whole_lines``: each row of a ``.txt`` result is one value, tabs and all (as
    Athena returns DESCRIBE's and MSCK REPAIR's lines)."""
    return json.dumps(
        {"ColumnInfo": [c.info() for c in columns], "WholeLines": whole_lines}
    ).encode()


def read_metadata(data: bytes) -> tuple[list[Column], bool]:
    """The columns, and whether each text row is one value."""
    parsed = json.loads(data)
    columns = [
        Column(c["Name"], c["Type"], int(c.get("Precision", 0)), int(c.get("Scale", 0)))
        for c in parsed["ColumnInfo"]
    ]
    return columns, bool(parsed.get("WholeLines"))


def read_rows(
    stream: BinaryIO, *, csv: bool, limit: int, whole_lines: bool = False
) -> tuple[list[list[str | None]], int, bool]:
    """Up to ``limit`` rows from ``stream`` (positioned at a row's start): the rows, the
    bytes they took, and whether the stream ended."""
    start = stream.tell()
    total = stream.seek(0, 2)
    stream.seek(start)
    rows: list[list[str | None]] = []
    used = 0
    reader = _fast_csv_records(stream) if csv else _text_records(stream, whole_lines)
    for row, size in reader:
        rows.append(row)
        used += size
        if len(rows) >= limit:
            break
    return rows, used, start + used >= total


def _text_records(stream: BinaryIO, whole_lines: bool) -> Iterator[tuple[list[str | None], int]]:
    for line in iter(stream.readline, b""):
        text = line.decode().rstrip("\n")
        yield ([text] if whole_lines else list(text.split("\t"))), len(line)


def _fast_csv_records(stream: BinaryIO) -> Iterator[tuple[list[str | None], int]]:
    """The rows of :func:`_csv_records`, parsed by Python's C csv reader (several times
    faster than the regular expression on a page of rows). That reader gives ``''`` for
    both a NULL (nothing) and an empty string (``""``), so a row with an empty field is
    parsed again exactly; text it refuses goes to the exact parser from its row on."""
    pending: list[bytes] = []

    def lines() -> Iterator[str]:
        for raw in iter(stream.readline, b""):
            pending.append(raw)
            yield raw.decode()

    reader = _csv.reader(lines(), strict=True)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except _csv.Error:
            stream.seek(-sum(len(raw) for raw in pending), 1)
            yield from _csv_records(stream)
            return
        raw = b"".join(pending)
        pending.clear()
        yield (_exact_row(raw) if "" in fields else cast("list[str | None]", fields)), len(raw)


def _exact_row(raw: bytes) -> list[str | None]:
    """One whole row, NULLs told from empty strings (see :func:`_csv_records`)."""
    text = raw if raw.endswith(b"\n") else raw + b"\n"
    values: list[str | None] = []
    position = 0
    while position < len(text):
        match = _FIELD.match(text, position)
        if match is None or match.end() == position:
            raise ValueError("a result file holds a row that is not Athena's CSV")
        value = match.group(1)
        values.append(None if value is None else value.replace(b'""', b'"').decode())
        position = match.end()
    return values


# One CSV field as :func:`csv_line` and pyarrow's "all_valid" writer write it: a quoted
# value (quotes doubled inside) or nothing (NULL), then the comma or newline after it.
_FIELD = re.compile(rb'(?:"((?:[^"]|"")*)")?(,|\n)')
_CHUNK = 1 << 20


def _csv_records(stream: BinaryIO) -> Iterator[tuple[list[str | None], int]]:
    """Rows of the CSV :func:`csv_line` writes: a quoted field is a value (``""`` the
    empty string), an unquoted empty field is NULL; quoted values may hold newlines.
    Read a megabyte at a time, so a page deep in a large result reads only its rows."""
    buffer = b""
    ended = False
    while True:
        position = 0
        fields: list[str | None] = []
        row_start = 0
        while True:
            match = _FIELD.match(buffer, position)
            if match is None or match.end() == position:
                break
            value, separator = match.group(1), match.group(2)
            fields.append(None if value is None else value.replace(b'""', b'"').decode())
            position = match.end()
            if separator == b"\n":
                yield fields, position - row_start
                fields, row_start = [], position
        buffer = buffer[row_start:]
        if ended:
            if buffer.strip():
                raise ValueError("a result file ends in the middle of a row")
            return
        chunk = stream.read(_CHUNK)
        if not chunk:
            ended = True
            if buffer and not buffer.endswith(b"\n"):
                buffer += b"\n"
        buffer += chunk
