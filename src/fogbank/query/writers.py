"""How CTAS, INSERT INTO and UNLOAD write files: one writer per partition and bucket.

Rows stream from DuckDB as Arrow batches; each (partition, bucket) gets one open file
writer in a scratch folder (Parquet and ORC through pyarrow, Avro through fastavro, JSON
and Hive text as lines DuckDB renders), and each finished file is streamed into the lake.
At most 100 writers may be open at once (``HIVE_TOO_MANY_OPEN_PARTITIONS``), as on
Athena. Bucket numbers use Hive's bucketing v1 hash (ObjectInspectorUtils.hashCode).
"""

from __future__ import annotations

import bz2
import gzip
import re
import shutil
import struct
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlglot import exp

from fogbank.core.errors import FogbankError
from fogbank.lake.engine import Lake
from fogbank.lake.names import parse_location
from fogbank.query.ddl import partition_name
from fogbank.query.errors import QueryFailed
from fogbank.query.types import hive_to_duckdb_type

MAX_OPEN_WRITERS = 100
_BATCH_ROWS = 65536
_HIVE_DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"
CODECS: dict[str, dict[str, str]] = {
    "PARQUET": {
        "GZIP": "gzip",
        "SNAPPY": "snappy",
        "ZSTD": "zstd",
        "LZ4": "lz4",
        "NONE": "none",
        "UNCOMPRESSED": "none",
    },
    "ORC": {
        "ZLIB": "zlib",
        "SNAPPY": "snappy",
        "ZSTD": "zstd",
        "LZ4": "lz4",
        "NONE": "uncompressed",
    },
    "AVRO": {
        "DEFLATE": "deflate",
        "SNAPPY": "snappy",
        "ZSTD": "zstandard",
        "NONE": "null",
    },
    "TEXTFILE": {"GZIP": ".gz", "BZIP2": ".bz2", "NONE": ""},
    "JSON": {"GZIP": ".gz", "BZIP2": ".bz2", "NONE": ""},
}


@dataclass(frozen=True)
class WriteOptions:
    format: str
    compression: str
    delimiter: str
    partitioned_by: tuple[str, ...] = ()
    bucketed_by: tuple[str, ...] = ()
    bucket_count: int = 0


@dataclass(frozen=True)
class OutputColumn:
    name: str
    hive_type: str


# --------------------------------------------------------------------------------------
# Locations


def folder_of(location: str) -> tuple[str, str]:
    """(bucket, key prefix ending in '/' or empty) of an s3:// folder location."""
    bucket, prefix = parse_location(location)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


def has_objects(lake: Lake, location: str) -> bool:
    bucket, prefix = folder_of(location)
    try:
        return next(iter(lake.iter_objects(bucket, prefix)), None) is not None
    except FogbankError:
        return False  # no bucket: nothing there yet; the write reports it


def join_location(location: str, *parts: str) -> str:
    return "/".join([location.rstrip("/"), *parts])


def check_s3(location: str, what: str) -> str:
    if not re.fullmatch(r"s3://[^/]+(/.*)?", location):
        raise QueryFailed(
            "INVALID_TABLE_PROPERTY", f"{what} must be an S3 location such as s3://bucket/prefix/"
        )
    return location


# --------------------------------------------------------------------------------------
# Writing


class _FileWriter:
    """One open output file in the scratch folder, in one format."""

    def __init__(self, path: Path, options: WriteOptions, columns: Sequence[OutputColumn]) -> None:
        self.path = path
        self.rows = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._options = options
        self._columns = columns
        self._parquet: Any = None
        self._orc: Any = None
        self._avro: Any = None
        # open across write() calls, closed by close(): no context manager fits
        self._handle: Any = None
        codec = CODECS[options.format][options.compression]
        if options.format in ("TEXTFILE", "JSON"):
            if codec == ".gz":
                self._handle = gzip.open(path, "wb")  # noqa: SIM115
            elif codec == ".bz2":
                self._handle = bz2.open(path, "wb")  # noqa: SIM115
            else:
                self._handle = path.open("wb")
        elif options.format == "ORC":
            import pyarrow.orc as orc

            self._orc = orc.ORCWriter(str(path), compression=codec)
        elif options.format == "AVRO":
            from fastavro import parse_schema
            from fastavro.write import Writer

            self._handle = path.open("wb")
            schema = parse_schema(_avro_schema(columns))
            self._avro = Writer(self._handle, schema, codec=codec)

    def write(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        fmt = self._options.format
        if fmt == "PARQUET":
            if self._parquet is None:
                import pyarrow.parquet as pq

                codec = CODECS["PARQUET"][self._options.compression]
                self._parquet = pq.ParquetWriter(str(self.path), batch.schema, compression=codec)
            self._parquet.write_batch(batch)
        elif fmt == "ORC":
            self._orc.write(pa.Table.from_batches([batch]))
        elif fmt == "AVRO":
            types = {c.name: c.hive_type for c in self._columns}
            for record in batch.to_pylist():
                self._avro.write({k: _avro_value(v, types[k]) for k, v in record.items()})
        else:
            assert self._handle is not None
            lines = batch.column(0).to_pylist()
            self._handle.write(("\n".join(lines) + "\n").encode())

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._orc is not None:
            self._orc.close()
        if self._avro is not None:
            self._avro.flush()
        if self._handle is not None:
            self._handle.close()


def _avro_type(hive_type: str, names: Iterator[int]) -> Any:
    built = exp.DataType.build(hive_type, dialect="hive")
    return _avro_node(built, names)


def _avro_node(node: exp.DataType, names: Iterator[int]) -> Any:
    kind = node.this
    inner = node.expressions
    t = exp.DataType.Type
    simple = {
        t.TEXT: "string",
        t.VARCHAR: "string",
        t.CHAR: "string",
        t.TINYINT: "int",
        t.SMALLINT: "int",
        t.INT: "int",
        t.BIGINT: "long",
        t.FLOAT: "float",
        t.DOUBLE: "double",
        t.BOOLEAN: "boolean",
        t.BINARY: "bytes",
    }
    if kind in simple:
        return simple[kind]
    if kind == t.DATE:
        return {"type": "int", "logicalType": "date"}
    if kind == t.TIMESTAMP:
        return {"type": "long", "logicalType": "timestamp-millis"}
    if kind == t.DECIMAL:
        precision, scale = (int(e.name) for e in inner) if len(inner) == 2 else (10, 0)
        return {"type": "bytes", "logicalType": "decimal", "precision": precision, "scale": scale}
    if kind == t.ARRAY:
        element = inner[0]
        assert isinstance(element, exp.DataType)
        return {"type": "array", "items": ["null", _avro_node(element, names)]}
    if kind == t.MAP:
        value = inner[1]
        assert isinstance(value, exp.DataType)
        return {"type": "map", "values": ["null", _avro_node(value, names)]}
    if kind == t.STRUCT:
        fields = []
        for member in inner:
            kind_node = member.args.get("kind")
            assert isinstance(kind_node, exp.DataType)
            fields.append(
                {
                    "name": member.name,
                    "type": ["null", _avro_node(kind_node, names)],
                    "default": None,
                }
            )
        return {"type": "record", "name": f"record_{next(names)}", "fields": fields}
    raise QueryFailed("NOT_SUPPORTED", f"Writing {node.sql('hive')} to Avro is not supported")


def _avro_schema(columns: Sequence[OutputColumn]) -> dict[str, Any]:
    counter = iter(range(1, 1_000_000))
    return {
        "type": "record",
        "name": "baseRecord",
        "fields": [
            {"name": c.name, "type": ["null", _avro_type(c.hive_type, counter)], "default": None}
            for c in columns
        ],
    }


def _avro_value(value: Any, hive_type: str) -> Any:
    # Arrow hands maps over as lists of (key, value) pairs; Avro wants a dict.
    if value is None:
        return None
    if hive_type.startswith("map<") and isinstance(value, list):
        return dict(value)
    return value


def _line_sql(columns: Sequence[OutputColumn], options: WriteOptions, refs: Sequence[str]) -> str:
    """A DuckDB expression rendering a row as one line of the format's text."""
    if options.format == "JSON":
        members = ", ".join(
            f"{_ident(c.name)} := {ref}" for c, ref in zip(columns, refs, strict=True)
        )
        return f"CAST(to_json(struct_pack({members})) AS VARCHAR)"
    delimiter = _sql_string(options.delimiter)
    fields = [_hive_text(ref, c.hive_type) for c, ref in zip(columns, refs, strict=True)]
    return f" || {delimiter} || ".join(fields) or "''"


def _hive_text(ref: str, hive_type: str) -> str:
    r"""LazySimpleSerDe's text for one value: ``\N`` for NULL; collection items joined by
    ``\002``, map keys by ``\003``, struct fields by ``\002``."""
    null = "'\\N'"
    if hive_type.startswith("array<"):
        body = (
            f"array_to_string(list_transform({ref}, lambda x: "
            f"coalesce(CAST(x AS VARCHAR), {null})), chr(2))"
        )
    elif hive_type.startswith("map<"):
        body = (
            f"array_to_string(list_transform(map_entries({ref}), lambda e: "
            f"coalesce(CAST(e.key AS VARCHAR), {null}) || chr(3) || "
            f"coalesce(CAST(e.value AS VARCHAR), {null})), chr(2))"
        )
    elif hive_type.startswith("struct<"):
        names = [f.split(":", 1)[0] for f in _struct_fields(hive_type)]
        parts = [
            f"coalesce(CAST(struct_extract({ref}, {_sql_string(n)}) AS VARCHAR), {null})"
            for n in names
        ]
        body = " || chr(2) || ".join(parts)
    elif hive_type == "timestamp":
        body = f"strftime({ref}, '%Y-%m-%d %H:%M:%S.%g')"
    elif hive_type == "binary":
        body = f"base64({ref})"
    else:
        body = f"CAST({ref} AS VARCHAR)"
    return f"coalesce({body}, {null})"


def _struct_fields(hive_type: str) -> list[str]:
    inner = hive_type[len("struct<") : -1]
    fields, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        elif ch == "," and depth == 0:
            fields.append(inner[start:i])
            start = i + 1
    fields.append(inner[start:])
    return [f for f in fields if f]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Hive bucketing v1 (ObjectInspectorUtils.hashCode / getBucketNumber).


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _long_hash(value: int) -> int:
    value &= 0xFFFFFFFFFFFFFFFF
    return _int32(value ^ (value >> 32))


def hive_hash(value: Any, hive_type: str) -> int:
    """Hive's bucketing hash of one value (bucketing version 1, as Athena's CTAS
    writes bucketed Hive tables)."""
    if value is None:
        return 0
    kind = hive_type.split("(")[0]
    if kind in ("tinyint", "smallint", "int"):
        return _int32(int(value))
    if kind == "bigint":
        return _long_hash(int(value))
    if kind == "boolean":
        return 1 if value else 0
    if kind == "float":
        return int(struct.unpack(">i", struct.pack(">f", float(value)))[0])
    if kind == "double":
        return _long_hash(struct.unpack(">q", struct.pack(">d", float(value)))[0])
    if kind == "date" and isinstance(value, date):
        return _int32((value - date(1970, 1, 1)).days)
    if kind == "timestamp" and isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        seconds = int(moment.timestamp() // 1)
        bits = ((seconds << 30) | (moment.microsecond * 1000)) & 0xFFFFFFFFFFFFFFFF
        return _int32((bits >> 32) ^ bits)
    if isinstance(value, Decimal):
        value = format(value, "f")
    data = value if isinstance(value, bytes) else str(value).encode()
    result = 0
    for byte in data:
        result = _int32(31 * result + (byte - 256 if byte > 127 else byte))
    return result


def _bucket(values: Sequence[Any], types: Sequence[str], count: int) -> int:
    code = 0
    for value, kind in zip(values, types, strict=True):
        code = _int32(31 * code + hive_hash(value, kind))
    return (code & 0x7FFFFFFF) % count


def _partition_text(value: Any) -> str:
    """A partition value as Hive writes it in the folder name."""
    if value is None:
        return _HIVE_DEFAULT_PARTITION
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return str(value)


@dataclass
class Written:
    rows: int = 0
    files: list[str] = field(default_factory=list)
    partitions: dict[tuple[str, ...], str] = field(default_factory=dict)
    """Partition values -> the folder written under the location."""


def write_rows(
    connection: Any,
    select_sql: str,
    columns: Sequence[OutputColumn],
    options: WriteOptions,
    *,
    lake: Lake,
    location: str,
    query_id: str,
    scratch: Path,
) -> Written:
    """Run ``select_sql`` and write its rows, typed as ``columns`` (by position), under
    ``location``: one folder per partition, one file per (partition, bucket)."""
    work = scratch / f"write-{query_id}-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True, exist_ok=True)
    try:
        return _write_in(connection, select_sql, columns, options, lake, location, query_id, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _write_in(
    connection: Any,
    select_sql: str,
    columns: Sequence[OutputColumn],
    options: WriteOptions,
    lake: Lake,
    location: str,
    query_id: str,
    work: Path,
) -> Written:
    refs = [f"__c{i}" for i in range(len(columns))]
    typed = [
        f"CAST({ref} AS {hive_to_duckdb_type(c.hive_type)})"
        for ref, c in zip(refs, columns, strict=True)
    ]
    by_name = {c.name: i for i, c in enumerate(columns)}
    data_index = [i for i, c in enumerate(columns) if c.name not in options.partitioned_by]
    data_columns = [columns[i] for i in data_index]
    if options.format in ("JSON", "TEXTFILE"):
        select = [f"{_line_sql(data_columns, options, [typed[i] for i in data_index])} AS __line"]
    else:
        select = [f"{typed[i]} AS {_ident(columns[i].name)}" for i in data_index]
    data_width = len(select)
    select += [
        f"CAST({typed[by_name[p]]} AS VARCHAR) AS __p{k}"
        for k, p in enumerate(options.partitioned_by)
    ]
    select += [f"{typed[by_name[b]]} AS __b{k}" for k, b in enumerate(options.bucketed_by)]
    aliases = ", ".join(refs)
    sql = f"SELECT {', '.join(select)} FROM ({select_sql}) AS __src({aliases})"
    bucket_types = [columns[by_name[b]].hive_type for b in options.bucketed_by]
    keyed = bool(options.partitioned_by or options.bucketed_by)
    writers: dict[tuple[tuple[str, ...], int | None], _FileWriter] = {}
    written = Written()
    reader = connection.sql(sql).to_arrow_reader(_BATCH_ROWS)
    for batch in reader:
        if batch.num_rows == 0:
            continue
        data = pa.RecordBatch.from_arrays(
            [batch.column(i) for i in range(data_width)],
            names=[batch.schema.field(i).name for i in range(data_width)],
        )
        if not keyed:
            _writer(writers, ((), None), options, data_columns, work, query_id).write(data)
            continue
        parts = [
            batch.column(data_width + k).to_pylist() for k in range(len(options.partitioned_by))
        ]
        buckets_in = [
            batch.column(data_width + len(parts) + k).to_pylist()
            for k in range(len(options.bucketed_by))
        ]
        groups: dict[tuple[tuple[str, ...], int | None], list[int]] = {}
        for row in range(batch.num_rows):
            values = tuple(_partition_text(p[row]) for p in parts)
            bucket = (
                _bucket([b[row] for b in buckets_in], bucket_types, options.bucket_count)
                if buckets_in
                else None
            )
            groups.setdefault((values, bucket), []).append(row)
        for key, rows in groups.items():
            writer = _writer(writers, key, options, data_columns, work, query_id)
            writer.write(data.take(pa.array(rows, type=pa.int64())))
    bucket_name, prefix = folder_of(location)
    for (values, _), writer in writers.items():
        writer.close()
        folder = partition_name(options.partitioned_by, values) if values else ""
        if values:
            written.partitions[values] = folder
        object_key = prefix + (folder + "/" if folder else "") + writer.path.name
        with writer.path.open("rb") as body:
            lake.put_object(bucket_name, object_key, body)
        written.files.append(f"s3://{bucket_name}/{object_key}")
        written.rows += writer.rows
    return written


def _writer(
    writers: dict[tuple[tuple[str, ...], int | None], _FileWriter],
    key: tuple[tuple[str, ...], int | None],
    options: WriteOptions,
    columns: Sequence[OutputColumn],
    work: Path,
    query_id: str,
) -> _FileWriter:
    writer = writers.get(key)
    if writer is not None:
        return writer
    if len(writers) >= MAX_OPEN_WRITERS:
        raise QueryFailed(
            "HIVE_TOO_MANY_OPEN_PARTITIONS",
            f"Exceeded limit of {MAX_OPEN_WRITERS} open writers for partitions/buckets",
        )
    _, bucket = key
    unique = str(uuid.uuid4())
    name = f"{query_id}_{unique}" if bucket is None else f"0{bucket:05d}_0_{unique}_{query_id}"
    if options.format in ("TEXTFILE", "JSON"):
        name += CODECS[options.format][options.compression]
    writer = _FileWriter(work / f"{len(writers):04d}" / name, options, columns)
    writers[key] = writer
    return writer


def describe(connection: Any, select_sql: str) -> list[tuple[str, str]]:
    rows = connection.execute(f"DESCRIBE ({select_sql})").fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]
