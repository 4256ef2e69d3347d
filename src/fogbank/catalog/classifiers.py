"""Glue's built-in classifiers: what format a file is in, and the schema it holds.

A crawler hands each sampled file to :func:`classify`, which tries the built-ins in
AWS's order (avro, orc, parquet, json, xml, csv; the log formats are not built
here) and returns the first that recognises the file with certainty 1.0, or
``UNKNOWN``. Compressed text (gzip, bzip2) is decompressed first and classified as
what it holds, remembering the compression for the table's ``compressionType``.

Schemas come from real readers: pyarrow reads Parquet and ORC footers (no data), the
json module reads JSON, the csv module reads CSV. Text formats are sampled as Glue
samples them: the first 1,000 records or 1 MB of a file. Types are named as Glue names
them (``bigint``, ``double``, ``array<string>``, ``struct<a:int>``) and
:func:`merge_types` widens them across files the way a crawler does: int to bigint to
double, anything else that disagrees to string, new struct fields appended.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from fogbank.catalog import compression
from fogbank.catalog.compression import SAMPLE_BYTES

# What Glue samples from a text file: the first 1,000 records or 1 MB.
SAMPLE_RECORDS = 1000
# CSV delimiters in the order the built-in classifier tries them.
CSV_DELIMITERS = (",", "|", "\t", ";", "\x01")
# Rule 2 of the CSV header heuristic: header fields (but the last) are under 150 chars.
_MAX_HEADER_FIELD = 150
_INT32 = (-(2**31), 2**31 - 1)

UNKNOWN = "UNKNOWN"


# ---------------------------------------------------------------------- types


@dataclass(frozen=True)
class ArrayType:
    element: GlueType


@dataclass(frozen=True)
class StructType:
    fields: tuple[tuple[str, GlueType], ...]


# A primitive is its Hive name ("bigint", "decimal(10,2)"); NULL is a value seen only
# as null so far, which any later type replaces (and which is written as string).
GlueType = str | ArrayType | StructType
NULL = "null"

# Numeric widening, narrowest first: two numerics merge to the wider one.
_NUMERIC = ("tinyint", "smallint", "int", "bigint", "float", "double")


def merge_types(a: GlueType, b: GlueType) -> GlueType:
    """The type both values fit: numerics widen, structs union their fields, arrays
    merge their elements, null gives way, and anything else becomes string."""
    if a == b:
        return a
    if a == NULL:
        return b
    if b == NULL:
        return a
    if isinstance(a, str) and isinstance(b, str) and a in _NUMERIC and b in _NUMERIC:
        wider = max(_NUMERIC.index(a), _NUMERIC.index(b))
        # float and bigint meet at double, as Glue widens them
        return "double" if _NUMERIC[wider] == "float" and "bigint" in (a, b) else _NUMERIC[wider]
    if isinstance(a, ArrayType) and isinstance(b, ArrayType):
        return ArrayType(merge_types(a.element, b.element))
    if isinstance(a, StructType) and isinstance(b, StructType):
        return StructType(merge_fields(a.fields, b.fields))
    return "string"


def merge_fields(
    a: Sequence[tuple[str, GlueType]], b: Sequence[tuple[str, GlueType]]
) -> tuple[tuple[str, GlueType], ...]:
    """Columns of ``a`` then the new ones of ``b``, each with the merged type. Names match
    case-insensitively, as the catalog folds column names."""
    merged: dict[str, tuple[str, GlueType]] = {name.lower(): (name, kind) for name, kind in a}
    for name, kind in b:
        key = name.lower()
        if key in merged:
            merged[key] = (merged[key][0], merge_types(merged[key][1], kind))
        else:
            merged[key] = (name, kind)
    return tuple(merged.values())


def type_name(kind: GlueType) -> str:
    """The Hive type string the catalog stores: ``array<struct<a:int,b:string>>``."""
    if isinstance(kind, ArrayType):
        return f"array<{type_name(kind.element)}>"
    if isinstance(kind, StructType):
        return "struct<" + ",".join(f"{n}:{type_name(t)}" for n, t in kind.fields) + ">"
    return "string" if kind == NULL else kind


# ---------------------------------------------------------------------- results


@dataclass(frozen=True)
class Serde:
    """How a table of a custom classifier's files is read, when not by the built-in
    format's own input format and SerDe (Grok's GrokSerDe, XML's row tag)."""

    input_format: str
    output_format: str
    library: str
    parameters: tuple[tuple[str, str], ...] = ()
    table_parameters: tuple[tuple[str, str], ...] = ()
    """Extra table parameters the classifier sets (``grokPattern``, ``rowTag``...)."""


@dataclass(frozen=True)
class Classification:
    """What one file is, as the winning classifier saw it."""

    classification: str
    """``avro``, ``orc``, ``parquet``, ``json``, ``csv`` or ``UNKNOWN``."""
    certainty: float
    compression: str = "none"
    columns: tuple[tuple[str, GlueType], ...] = ()
    record_count: int = 0
    """Records in the file: exact for Parquet and ORC (the footer says) and for text
    read to its end; otherwise estimated from the sample's average record size."""
    sampled_records: int = 0
    sampled_bytes: int = 0
    """Uncompressed bytes of the sampled records, for ``averageRecordSize``."""
    delimiter: str | None = None
    header: bool = False
    quoted: bool = False
    json_array: bool = False
    notes: tuple[str, ...] = field(default=())
    """Why a classifier stepped aside (a missing optional reader), for the crawl log."""
    exhausted: bool = True
    """Whether the sample held every record of the text it was given."""
    serde: Serde | None = None
    """Set by custom classifiers and by XML; None means the format's built-in SerDe."""

    @property
    def format_key(self) -> tuple[str, str, str, bool, bool, Serde | None]:
        """What must agree for two folders to be partitions of one table."""
        return (
            self.classification,
            self.compression,
            self.delimiter or "",
            self.header,
            self.json_array,
            self.serde,
        )


class UnreadableFile(Exception):
    """A file whose format was recognised by its magic bytes but that its reader could
    not read (a corrupt Parquet footer, say): the crawl logs it and goes on."""


class FileSource:
    """One object to classify: its size, its first bytes, and a seekable reader for the
    columnar formats, which read the footer at the end rather than the whole file."""

    def __init__(
        self,
        size: int,
        read_range: Callable[[int, int], bytes],
        *,
        name: str = "",
    ) -> None:
        self.size = size
        self.name = name
        """The object's key: Hadoop's Snappy files are known by their ``.snappy`` name."""
        self._read_range = read_range
        self._head: bytes | None = None

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the file."""
        return self._read_range(start, end)

    def head(self) -> bytes:
        """Up to :data:`SAMPLE_BYTES` from the start, read once."""
        if self._head is None:
            self._head = self._read_range(0, min(self.size, SAMPLE_BYTES)) if self.size else b""
        return self._head

    def open(self) -> BinaryIO:
        # buffered, so that pyarrow's many small footer reads cost few range reads
        return io.BufferedReader(_RangeFile(self.size, self._read_range), 64 * 1024)


class _RangeFile(io.RawIOBase):
    """A read-only, seekable file over ranged reads, for pyarrow's footer readers."""

    def __init__(self, size: int, read_range: Callable[[int, int], bytes]) -> None:
        self._size = size
        self._read_range = read_range
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        end = min(self._size, self._position + len(buffer))
        if end <= self._position:
            return 0
        data = self._read_range(self._position, end)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


# ---------------------------------------------------------------------- classify


def classify(source: FileSource) -> Classification:
    """The built-ins in AWS's order; the first with certainty 1.0 wins, else UNKNOWN.

    Raises :class:`UnreadableFile` when a file carries a format's magic bytes but its
    reader fails on it: Glue logs such a file and skips it.
    """
    head = source.head()
    if not head:
        return Classification(UNKNOWN, 0.0)
    if head.startswith(b"Obj\x01"):
        return _avro(source)
    if head.startswith(b"ORC"):
        return _orc(source)
    if head.startswith(b"PAR1"):
        return _parquet(source)
    found = compression.sample(source)
    if found.note is not None:
        return Classification(UNKNOWN, 0.0, compression=found.compression, notes=(found.note,))
    text, complete, raw_used = found.text, found.complete, found.raw_used
    for classifier in (_json, _xml, _csv):
        recognised = classifier(text, complete)
        if recognised is not None:
            return _scaled(
                recognised, found.compression, complete, len(text), raw_used, source.size
            )
    return Classification(UNKNOWN, 0.0, compression=found.compression)


def _scaled(
    found: Classification,
    compression: str,
    complete: bool,
    text_size: int,
    raw_used: int,
    size: int,
) -> Classification:
    """Attach the compression, and estimate the file's records from the sample's average
    record size when the sample did not reach the end of the file (as Glue estimates)."""
    count = found.sampled_records
    if not (complete and found.exhausted) and found.sampled_bytes and raw_used:
        # the file's uncompressed size, by the sample's compression ratio
        text_total = size * text_size / raw_used
        average = found.sampled_bytes / found.sampled_records
        count = max(count, math.floor(text_total / average))
    return Classification(
        found.classification,
        found.certainty,
        compression=compression,
        columns=found.columns,
        record_count=count,
        sampled_records=found.sampled_records,
        sampled_bytes=found.sampled_bytes,
        delimiter=found.delimiter,
        header=found.header,
        quoted=found.quoted,
        json_array=found.json_array,
        serde=found.serde,
    )


def text_sample(source: FileSource) -> tuple[str, bytes, bool, int]:
    """A text file's sample as the text classifiers see it: ``(compressionType, up to
    1 MB of uncompressed bytes, whole file read?, raw bytes consumed)``."""
    found = compression.sample(source)
    return found.compression, found.text, found.complete, found.raw_used


# ---------------------------------------------------------------------- columnar


def _parquet(source: FileSource) -> Classification:
    import pyarrow.parquet as pq

    try:
        metadata = pq.ParquetFile(source.open()).metadata
        schema = metadata.schema.to_arrow_schema()
    except Exception as exc:  # pyarrow raises several types for one corrupt footer
        raise UnreadableFile(f"not a readable Parquet file: {exc}") from None
    rows = int(metadata.num_rows)
    return Classification(
        "parquet",
        1.0,
        columns=tuple((f.name, _arrow_type(f.type)) for f in schema),
        record_count=rows,
        sampled_records=rows,
        sampled_bytes=source.size,
    )


def _orc(source: FileSource) -> Classification:
    import pyarrow.orc as orc

    try:
        reader = orc.ORCFile(source.open())
        schema = reader.schema
        rows = int(reader.nrows)
    except Exception as exc:  # pyarrow raises several types for one corrupt footer
        raise UnreadableFile(f"not a readable ORC file: {exc}") from None
    return Classification(
        "orc",
        1.0,
        columns=tuple((f.name, _arrow_type(f.type)) for f in schema),
        record_count=rows,
        sampled_records=rows,
        sampled_bytes=source.size,
    )


def _arrow_type(arrow: Any) -> GlueType:
    import pyarrow as pa

    t = pa.types
    if t.is_dictionary(arrow):
        return _arrow_type(arrow.value_type)
    if t.is_boolean(arrow):
        return "boolean"
    simple = {
        pa.int8(): "tinyint",
        pa.int16(): "smallint",
        pa.int32(): "int",
        pa.int64(): "bigint",
        pa.uint8(): "smallint",
        pa.uint16(): "int",
        pa.uint32(): "bigint",
        pa.uint64(): "bigint",
        pa.float16(): "float",
        pa.float32(): "float",
        pa.float64(): "double",
        pa.date32(): "date",
        pa.date64(): "date",
    }
    if arrow in simple:
        return simple[arrow]
    if t.is_string(arrow) or t.is_large_string(arrow):
        return "string"
    if t.is_binary(arrow) or t.is_large_binary(arrow) or t.is_fixed_size_binary(arrow):
        return "binary"
    if t.is_timestamp(arrow):
        return "timestamp"
    if t.is_decimal(arrow):
        return f"decimal({arrow.precision},{arrow.scale})"
    if t.is_list(arrow) or t.is_large_list(arrow) or t.is_fixed_size_list(arrow):
        return ArrayType(_arrow_type(arrow.value_type))
    if t.is_struct(arrow):
        return StructType(tuple((f.name, _arrow_type(f.type)) for f in arrow))
    if t.is_map(arrow):
        key, item = _arrow_type(arrow.key_type), _arrow_type(arrow.item_type)
        return f"map<{type_name(key)},{type_name(item)}>"
    return "string"


def _avro(source: FileSource) -> Classification:
    """Avro's schema, from the container file's header (fastavro reads no records)."""
    import fastavro  # imported on first use: most crawls hold no Avro

    try:
        reader = fastavro.reader(source.open())
        schema = reader.writer_schema
    except Exception as exc:  # fastavro raises several types for one corrupt header
        raise UnreadableFile(f"not a readable Avro file: {exc}") from None
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise UnreadableFile("an Avro file whose schema is not a record")
    columns = tuple((f["name"], _avro_type(f["type"])) for f in schema["fields"])
    return Classification("avro", 1.0, columns=columns, sampled_bytes=source.size)


def _avro_type(schema: Any) -> GlueType:
    if isinstance(schema, list):
        kinds = [_avro_type(s) for s in schema if s != "null"]
        return kinds[0] if len(kinds) == 1 else "string"
    if isinstance(schema, dict):
        kind = schema.get("type")
        logical = schema.get("logicalType")
        if logical in ("timestamp-millis", "timestamp-micros"):
            return "timestamp"
        if logical == "date":
            return "date"
        if kind == "record":
            return StructType(tuple((f["name"], _avro_type(f["type"])) for f in schema["fields"]))
        if kind == "array":
            return ArrayType(_avro_type(schema["items"]))
        if kind == "map":
            return f"map<string,{type_name(_avro_type(schema['values']))}>"
        return _avro_type(kind)
    names = {"int": "int", "long": "bigint", "float": "float", "double": "double"}
    return {"boolean": "boolean", "bytes": "binary", **names}.get(str(schema), "string")


# ---------------------------------------------------------------------- json


def _json(text: bytes, complete: bool) -> Classification | None:
    """JSON: one object per line, concatenated objects, or one array of records (which
    the built-in classifier reads as a single column named ``array``)."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        if complete:
            return None
        decoded = text.decode("utf-8", errors="ignore")
    stripped = decoded.lstrip()
    if not stripped.startswith(("{", "[")):
        return None
    records: list[tuple[Any, int]] = []
    decoder = json.JSONDecoder()
    position = len(decoded) - len(stripped)
    while position < len(decoded) and len(records) < SAMPLE_RECORDS:
        try:
            value, end = decoder.raw_decode(decoded, position)
        except json.JSONDecodeError:
            if complete or not records:
                return None
            break  # the sample cut the last record short
        records.append((value, len(decoded[position:end].encode())))
        position = end
        while position < len(decoded) and decoded[position].isspace():
            position += 1
    if not records:
        return None
    exhausted = position >= len(decoded)
    if len(records) == 1 and isinstance(records[0][0], list):
        array, size = records[0]
        element: GlueType = NULL
        for item in array:
            element = merge_types(element, _json_type(item))
        return Classification(
            "json",
            1.0,
            columns=(("array", ArrayType(element)),),
            sampled_records=1,
            sampled_bytes=size,
            json_array=True,
        )
    if not all(isinstance(value, dict) for value, _ in records):
        return None
    columns: tuple[tuple[str, GlueType], ...] = ()
    for value, _ in records:
        kind = _json_type(value)
        assert isinstance(kind, StructType)
        columns = merge_fields(columns, kind.fields)
    return Classification(
        "json",
        1.0,
        columns=columns,
        sampled_records=len(records),
        sampled_bytes=sum(size for _, size in records),
        exhausted=exhausted,
    )


def _json_type(value: Any) -> GlueType:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int" if _INT32[0] <= value <= _INT32[1] else "bigint"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        element: GlueType = NULL
        for item in value:
            element = merge_types(element, _json_type(item))
        return ArrayType(element)
    return StructType(merge_fields((), [(str(k), _json_type(v)) for k, v in value.items()]))


# ---------------------------------------------------------------------- csv


def _csv(text: bytes, complete: bool) -> Classification | None:
    """CSV with the first delimiter (in Glue's order) that splits every sampled row into
    the same number (at least two) of fields, over at least two rows."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        if complete:
            return None
        decoded = text.decode("utf-8", errors="ignore")
    for delimiter in CSV_DELIMITERS:
        if delimiter not in decoded:
            continue
        rows = csv_rows(decoded, delimiter, complete)
        exhausted = len(rows or ()) <= SAMPLE_RECORDS
        if rows is None or len(rows) < 2:
            continue
        width = len(rows[0])
        if width < 2 or any(len(row) != width for row in rows):
            continue
        return _csv_schema(rows[:SAMPLE_RECORDS], decoded, delimiter, exhausted)
    return None


def csv_rows(
    decoded: str, delimiter: str, complete: bool, quote: str = '"'
) -> list[list[str]] | None:
    """The sample's non-empty rows, up to one past :data:`SAMPLE_RECORDS`; None when a
    whole file does not parse as CSV with this delimiter and quote."""
    rows: list[list[str]] = []
    try:
        reader: Iterator[list[str]] = csv.reader(
            io.StringIO(decoded, newline=""), delimiter=delimiter, quotechar=quote, strict=True
        )
        for row in reader:
            if row:
                rows.append(row)
            if len(rows) > SAMPLE_RECORDS:
                break
    except csv.Error:
        if complete:
            return None
    if not complete and rows:
        rows.pop()  # the sample may have cut the last row short
    # one row past the sample tells the caller the sample did not reach the end
    return rows


def _csv_schema(
    rows: list[list[str]], decoded: str, delimiter: str, exhausted: bool
) -> Classification:
    first, data = rows[0], rows[1:]
    data_types = _column_types(data)
    header = looks_like_header(first, data_types)
    if header:
        names = [v.strip() for v in first]
        kinds = data_types
        records = data
    else:
        names = [f"col{i}" for i in range(len(first))]
        kinds = _column_types(rows)
        records = rows
    quoted = '"' in decoded
    sizes = sum(len(delimiter.join(r).encode()) + 1 for r in records)
    return Classification(
        "csv",
        1.0,
        columns=tuple(zip(names, kinds, strict=True)),
        sampled_records=len(records),
        sampled_bytes=sizes,
        delimiter=delimiter,
        header=header,
        quoted=quoted,
        exhausted=exhausted,
    )


def _xml(text: bytes, complete: bool) -> Classification | None:
    """XML through :mod:`fogbank.catalog.xmlfiles`, its row tag inferred."""
    # imported here: xmlfiles builds on this module's types
    from fogbank.catalog.xmlfiles import xml_classification

    return xml_classification(text, complete, None)


def _column_types(rows: Sequence[Sequence[str]]) -> list[GlueType]:
    kinds: list[GlueType] = [NULL] * (len(rows[0]) if rows else 0)
    for row in rows:
        for index, value in enumerate(row):
            kinds[index] = merge_types(kinds[index], _value_type(value))
    return kinds


def _value_type(value: str) -> GlueType:
    """A CSV field's type as the built-in classifier reads it: empty is null, integers
    are bigint, then double, boolean, and everything else string."""
    stripped = value.strip()
    if not stripped:
        return NULL
    if stripped.lower() in ("true", "false"):
        return "boolean"
    try:
        int(stripped)
    except ValueError:
        pass
    else:
        return "bigint"
    try:
        number = float(stripped)
    except ValueError:
        return "string"
    # "nan" and "infinity" read as floats in Python, but are words in a header
    return "double" if math.isfinite(number) and any(c.isdigit() for c in stripped) else "string"


def _valid_column_name(value: str) -> bool:
    stripped = value.strip()
    return 0 < len(stripped) <= 255 and all(c.isprintable() for c in stripped)


# ---------------------------------------------------------------------- for custom classifiers


def scaled_to_file(
    found: Classification, sample: tuple[str, bytes, bool, int], size: int
) -> Classification:
    """A text classifier's result on :func:`text_sample`'s ``sample`` of a file of ``size``
    bytes, with the compression and the file's estimated record count, as :func:`classify`
    finishes the built-ins' results."""
    compression, text, complete, raw_used = sample
    return _scaled(found, compression, complete, len(text), raw_used, size)


def value_type(value: str) -> GlueType:
    """A CSV field's type as the built-in CSV classifier reads it (trimmed first)."""
    return _value_type(value)


def json_type(value: Any) -> GlueType:
    """A parsed JSON value's type as the built-in JSON classifier names it."""
    return _json_type(value)


def looks_like_header(first: Sequence[str], data_types: Sequence[GlueType]) -> bool:
    """The built-in CSV classifier's header rules: every field of the first row is a
    string, short (but the last) and a valid column name, and some data column is not."""
    return (
        all(_value_type(v) == "string" for v in first)
        and all(len(v) < _MAX_HEADER_FIELD for v in first[:-1])
        and all(_valid_column_name(v) for v in first)
        and any(kind not in ("string", NULL) for kind in data_types)
    )
