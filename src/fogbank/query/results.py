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

import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO


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
    rows: list[list[str | None]] = []
    used = 0
    reader = _csv_records(stream) if csv else _text_records(stream, whole_lines)
    for row, size in reader:
        rows.append(row)
        used += size
        if len(rows) >= limit:
            return rows, used, _at_end(stream)
    return rows, used, True


def _at_end(stream: BinaryIO) -> bool:
    position = stream.tell()
    ended = stream.read(1) == b""
    stream.seek(position)
    return ended


def _text_records(stream: BinaryIO, whole_lines: bool) -> Iterator[tuple[list[str | None], int]]:
    for line in iter(stream.readline, b""):
        text = line.decode().rstrip("\n")
        yield ([text] if whole_lines else list(text.split("\t"))), len(line)


def _csv_records(stream: BinaryIO) -> Iterator[tuple[list[str | None], int]]:
    """Rows of the CSV :func:`csv_line` writes: a quoted field is a value (``""`` the
    empty string), an unquoted empty field is NULL; quoted values may hold newlines."""
    yield from _records(iter(stream.readline, b""))


def _records(lines: Iterable[bytes]) -> Iterator[tuple[list[str | None], int]]:
    fields: list[str | None] = []
    value = io.StringIO()
    quoted = in_quotes = False
    size = 0
    for raw in lines:
        size += len(raw)
        text = raw.decode()
        index = 0
        while index < len(text):
            char = text[index]
            if in_quotes:
                if char == '"':
                    if text.startswith('"', index + 1):
                        value.write('"')
                        index += 1
                    else:
                        in_quotes = False
                else:
                    value.write(char)
            elif char == '"':
                in_quotes = quoted = True
            elif char == ",":
                fields.append(value.getvalue() if quoted else None)
                value, quoted = io.StringIO(), False
            elif char == "\n":
                fields.append(value.getvalue() if quoted else None)
                yield fields, size
                fields, value, quoted, size = [], io.StringIO(), False, 0
            else:
                value.write(char)
            index += 1
    if fields or quoted:
        fields.append(value.getvalue() if quoted else None)
        yield fields, size
