"""Athena's writing statements: CREATE TABLE AS SELECT, INSERT INTO and UNLOAD.

This module owns what a query execution writes to the lake besides its result file:

- :func:`create_table_as` runs ``CREATE TABLE t WITH (...) AS SELECT ... [WITH [NO] DATA]``:
  it checks the table properties as Trino's Hive connector does, writes the rows in the
  chosen format under ``external_location`` (or ``<OutputLocation>tables/<id>``), then
  creates the Glue table (EXTERNAL_TABLE, Hive types, the format's SerDe) and registers
  each partition written, 100 to a BatchCreatePartition call;
- :func:`insert_into` appends files to an existing table in the table's own format,
  casting the query's columns (matched by position) to the table's types, and adds the
  partitions that are new;
- :func:`unload` writes files only, no table;
- :func:`write_manifest` writes ``<OutputLocation><id>-manifest.csv``, the list of the
  files a statement wrote.

Rows stream from DuckDB as Arrow batches; each (partition, bucket) gets one open file
writer in a scratch folder (Parquet and ORC through pyarrow, Avro through fastavro, JSON
and Hive text as lines DuckDB renders), and each finished file is streamed into the lake.
As on Athena, at most 100 writers may be open at once (``HIVE_TOO_MANY_OPEN_PARTITIONS``).

File names follow Trino's Hive writer: ``<query id>_<uuid>`` unbucketed,
``0000NN_0_<uuid>_<query id>`` for bucket NN, with ``.gz``/``.zst``/``.bz2`` on
compressed text files (Trino's HiveWriteUtils.getFileExtension). Bucket numbers use
Hive's bucketing v1 hash (ObjectInspectorUtils.hashCode).

Wordings and sources:

- ``HIVE_PATH_ALREADY_EXISTS: Target directory for table 'db.t' already exists: s3://...
  You may need to manually clean the data at location '...' before retrying. Athena will
  not delete data in your account.``: quoted in dbt-labs/dbt-athena#58.
- ``HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers for
  partitions/buckets``: Athena's guide, "Use CTAS and INSERT INTO to work around the 100
  partition limit".
- ``HIVE_COLUMN_ORDER_MISMATCH: Partition keys must be the last columns in the table and in
  the same order as the table properties: [a, b]``, ``Partition columns [x] not present in
  schema``, ``Table contains only partition columns``, ``Bucketing columns [x] not present
  in schema``, ``bucket_count must be greater than zero``, ``bucketed_by and bucket_count
  must be specified together`` (INVALID_TABLE_PROPERTY): Trino's HiveMetadata and
  HiveTableProperties.
- ``TABLE_ALREADY_EXISTS: Table 'awsdatacatalog.db.t' already exists``, ``TYPE_MISMATCH:
  Insert query has mismatched column types: Table: [...], Query: [...]``: Trino's
  StatementAnalyzer.
- Defaults: format PARQUET; GZIP for Parquet and text (Athena's "Use compression in
  Athena"); field delimiter ``\\001``; CTAS data without external_location under
  ``<query result location>tables/<query id>`` (Athena's CTAS considerations).
- UNLOAD's target must be empty unless it writes partitions (Athena's UNLOAD page); the
  failure's wording is fogbank's (not found).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from fogbank.catalog.engine import MAX_BATCH_CREATE_PARTITIONS, Catalog
from fogbank.catalog.model import PartitionInput, StorageDescriptor, Table, TableInput
from fogbank.core.errors import AlreadyExistsException, EntityNotFoundException
from fogbank.lake.engine import Lake
from fogbank.lake.names import parse_location
from fogbank.query import dialect
from fogbank.query.ddl_parse import STORAGE_FORMATS
from fogbank.query.dialect import Statement
from fogbank.query.errors import QueryFailed
from fogbank.query.types import athena_type, hive_to_duckdb_type
from fogbank.query.writers import (
    CODECS,
    MAX_OPEN_WRITERS,
    OutputColumn,
    WriteOptions,
    Written,
    check_s3,
    describe,
    has_objects,
    join_location,
    write_rows,
)

__all__ = [
    "MAX_OPEN_WRITERS",
    "WriteOutcome",
    "create_table_as",
    "duckdb_to_hive_type",
    "inner_select",
    "insert_into",
    "unload",
    "write_manifest",
]

_CATALOG = dialect.DEFAULT_CATALOG
_FORMATS = ("PARQUET", "ORC", "AVRO", "JSON", "TEXTFILE", "ION")
# CTAS properties Athena's Hive tables take; anything else is Trino's unknown property.
_CTAS_PROPERTIES = {
    "format",
    "external_location",
    "partitioned_by",
    "bucketed_by",
    "bucket_count",
    "field_delimiter",
    "write_compression",
    "parquet_compression",
    "orc_compression",
    "compression_level",
    "table_type",
    "is_external",
}
_UNLOAD_PROPERTIES = {"format", "compression", "field_delimiter", "partitioned_by"}
# Default write compression per format when the statement names none.
_DEFAULT_COMPRESSION = {
    "PARQUET": "GZIP",
    "TEXTFILE": "GZIP",
    "JSON": "GZIP",
    "ORC": "ZLIB",
    "AVRO": "NONE",
}
_CLASSIFICATION = {
    "PARQUET": "parquet",
    "ORC": "orc",
    "AVRO": "avro",
    "JSON": "json",
    "TEXTFILE": "csv",
}


@dataclass(frozen=True)
class WriteOutcome:
    """What a CTAS, INSERT INTO or UNLOAD wrote: GetQueryExecution's UpdateCount is
    ``rows``; ``files`` are the s3:// URLs written, as the data manifest lists them."""

    rows: int
    files: list[str]
    table_created: bool = False
    location: str | None = None
    """Where the data went: the table's Location, or UNLOAD's TO."""
    partitions_added: list[tuple[str, ...]] = field(default_factory=list)


# --------------------------------------------------------------------------------------
# Statement parts


def inner_select(statement: Statement) -> exp.Expression:
    """The query inside a CTAS, INSERT INTO or UNLOAD (a SELECT, a set operation or a
    VALUES list), for the caller to create views for and translate with
    :func:`fogbank.query.dialect.to_duckdb`."""
    tree = statement.tree
    if tree is None:
        raise QueryFailed("NOT_SUPPORTED", f"{statement.substatement} has no query")
    if isinstance(tree, (exp.Create, exp.Insert)):
        query = tree.expression
        if not isinstance(query, exp.Expression):
            raise QueryFailed("SYNTAX_ERROR", "mismatched input '<EOF>'. Expecting: <query>")
        return query
    return tree


def _select_sql(statement: Statement, select_sql: str | None, database: str) -> str:
    if select_sql is not None:
        return select_sql
    return dialect.to_duckdb(inner_select(statement), default_database=database)


def _target(tree: exp.Expression, database: str) -> tuple[str, str, list[str]]:
    """(database, table, column list) named by CREATE TABLE / INSERT INTO."""
    target = tree.this
    columns: list[str] = []
    if isinstance(target, exp.Schema):
        columns = [c.name.lower() for c in target.expressions]
        target = target.this
    if not isinstance(target, exp.Table):
        raise QueryFailed("SYNTAX_ERROR", "mismatched input. Expecting: <table name>")
    catalog = target.catalog
    if catalog and catalog.lower() != _CATALOG:
        raise QueryFailed("CATALOG_NOT_FOUND", f"Catalog '{catalog.lower()}' does not exist")
    return (target.db or database).lower(), target.name.lower(), columns


def _property_value(node: exp.Expression) -> str | int | list[str]:
    if isinstance(node, exp.Array):
        return [str(_property_value(e)) for e in node.expressions]
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else int(node.this)
    if isinstance(node, exp.Boolean):
        return str(node.this).lower()
    return node.sql(dialect="trino")


def _properties(tree: exp.Expression) -> tuple[dict[str, str | int | list[str]], bool]:
    """The WITH (...) properties, keys lowercase, and whether WITH NO DATA was given."""
    found: dict[str, str | int | list[str]] = {}
    no_data = False
    props = tree.args.get("properties")
    for prop in props.expressions if isinstance(props, exp.Properties) else []:
        if isinstance(prop, exp.WithDataProperty):
            no_data = bool(prop.args.get("no"))
        elif isinstance(prop, exp.FileFormatProperty):
            found["format"] = _property_value(prop.this)
        elif isinstance(prop, exp.PartitionedByProperty):
            found["partitioned_by"] = _property_value(prop.this)
        elif isinstance(prop, exp.Property):
            found[prop.name.lower()] = _property_value(prop.args["value"])
        else:
            raise QueryFailed(
                "INVALID_TABLE_PROPERTY",
                f"Table property {prop.sql(dialect='trino')} is not supported by fogbank yet",
            )
    return found, no_data


def _string_list(value: str | int | list[str], name: str) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(v.lower() for v in value)
    raise QueryFailed(
        "INVALID_TABLE_PROPERTY",
        f"Invalid value for table property '{name}': Cannot convert '{value}' to array(varchar)",
    )


def _options(
    properties: Mapping[str, str | int | list[str]], *, known: set[str], default_format: str
) -> WriteOptions:
    for name in properties:
        if name not in known:
            raise QueryFailed(
                "INVALID_TABLE_PROPERTY",
                f"Catalog '{_CATALOG}' table property '{name}' does not exist",
            )
    table_type = str(properties.get("table_type", "HIVE")).upper()
    if table_type != "HIVE":
        raise QueryFailed(
            "NOT_SUPPORTED", f"table_type '{table_type}' is not supported by fogbank yet"
        )
    fmt = str(properties.get("format", default_format)).upper()
    if fmt not in _FORMATS:
        raise QueryFailed(
            "INVALID_TABLE_PROPERTY",
            f"Unsupported format '{fmt}'; use one of {', '.join(_FORMATS)}",
        )
    if fmt == "ION":
        raise QueryFailed("NOT_SUPPORTED", "Writing the ION format is not supported by fogbank yet")
    specific = {"PARQUET": "parquet_compression", "ORC": "orc_compression"}.get(fmt, "")
    compression = str(
        properties.get(specific)
        or properties.get("write_compression")
        or properties.get("compression")
        or _DEFAULT_COMPRESSION[fmt]
    ).upper()
    if compression == "UNCOMPRESSED":
        compression = "NONE"
    if compression not in CODECS[fmt]:
        raise QueryFailed(
            "INVALID_TABLE_PROPERTY",
            f"Compression {compression} is not supported for {fmt} by fogbank; use one of "
            f"{', '.join(sorted(CODECS[fmt]))}",
        )
    delimiter = str(properties.get("field_delimiter", "\x01"))
    partitioned = _string_list(properties.get("partitioned_by", []), "partitioned_by")
    bucketed = _string_list(properties.get("bucketed_by", []), "bucketed_by")
    count_value = properties.get("bucket_count", 0)
    if not isinstance(count_value, int):
        raise QueryFailed(
            "INVALID_TABLE_PROPERTY",
            f"Invalid value for table property 'bucket_count': Cannot convert "
            f"'{count_value}' to integer",
        )
    if bucketed or count_value:
        if count_value < 0:
            raise QueryFailed("INVALID_TABLE_PROPERTY", "bucket_count must be greater than zero")
        if not bucketed or count_value == 0:
            raise QueryFailed(
                "INVALID_TABLE_PROPERTY", "bucketed_by and bucket_count must be specified together"
            )
    return WriteOptions(fmt, compression, delimiter, partitioned, bucketed, count_value)


def _java_list(names: Sequence[str]) -> str:
    return "[" + ", ".join(names) + "]"


def _check_layout(columns: Sequence[OutputColumn], options: WriteOptions) -> None:
    """Trino's validatePartitionColumns and validateBucketColumns."""
    names = [c.name for c in columns]
    missing = [p for p in options.partitioned_by if p not in names]
    if missing:
        raise QueryFailed(
            "INVALID_TABLE_PROPERTY",
            f"Partition columns {_java_list(missing)} not present in schema",
        )
    if options.partitioned_by and len(names) == len(options.partitioned_by):
        raise QueryFailed("INVALID_TABLE_PROPERTY", "Table contains only partition columns")
    if options.partitioned_by and tuple(names[-len(options.partitioned_by) :]) != tuple(
        options.partitioned_by
    ):
        raise QueryFailed(
            "HIVE_COLUMN_ORDER_MISMATCH",
            "Partition keys must be the last columns in the table and in the same order as "
            f"the table properties: {_java_list(options.partitioned_by)}",
        )
    missing = [b for b in options.bucketed_by if b not in names]
    if missing:
        raise QueryFailed(
            "INVALID_TABLE_PROPERTY",
            f"Bucketing columns {_java_list(missing)} not present in schema",
        )


# --------------------------------------------------------------------------------------
# Types


_SIMPLE_HIVE = {
    exp.DataType.Type.VARCHAR: "string",
    exp.DataType.Type.TEXT: "string",
    exp.DataType.Type.CHAR: "string",
    exp.DataType.Type.NCHAR: "string",
    exp.DataType.Type.NVARCHAR: "string",
    exp.DataType.Type.UUID: "string",
    exp.DataType.Type.JSON: "string",
    exp.DataType.Type.TINYINT: "tinyint",
    exp.DataType.Type.SMALLINT: "smallint",
    exp.DataType.Type.INT: "int",
    exp.DataType.Type.BIGINT: "bigint",
    # Trino has no wider or unsigned integers; DuckDB's sum(bigint) is HUGEINT.
    exp.DataType.Type.INT128: "bigint",
    exp.DataType.Type.UTINYINT: "smallint",
    exp.DataType.Type.USMALLINT: "int",
    exp.DataType.Type.UINT: "bigint",
    exp.DataType.Type.UBIGINT: "bigint",
    exp.DataType.Type.UINT128: "bigint",
    exp.DataType.Type.FLOAT: "float",
    exp.DataType.Type.DOUBLE: "double",
    exp.DataType.Type.BOOLEAN: "boolean",
    exp.DataType.Type.DATE: "date",
    exp.DataType.Type.TIMESTAMP: "timestamp",
    exp.DataType.Type.TIMESTAMP_S: "timestamp",
    exp.DataType.Type.TIMESTAMP_MS: "timestamp",
    exp.DataType.Type.TIMESTAMP_NS: "timestamp",
    exp.DataType.Type.TIMESTAMPTZ: "timestamp",
    exp.DataType.Type.VARBINARY: "binary",
    exp.DataType.Type.BINARY: "binary",
    exp.DataType.Type.BLOB: "binary",
}


def duckdb_to_hive_type(duckdb_type: str) -> str:
    """The Glue/Hive column type CTAS records for a DuckDB result column type
    (``VARCHAR`` -> ``string``, ``INTEGER[]`` -> ``array<int>``, ``STRUCT(a INTEGER)`` ->
    ``struct<a:int>``, ``MAP(VARCHAR, BIGINT)`` -> ``map<string,bigint>``). Types Hive
    cannot store (time, interval, NULL) fail as Trino's Hive connector fails them."""
    text = duckdb_type.strip()
    if text.upper() in ('"NULL"', "NULL"):
        raise QueryFailed("NOT_SUPPORTED", "Unsupported Hive type: unknown")
    try:
        built = exp.DataType.build(text, dialect="duckdb")
    except (ParseError, TokenError, ValueError):
        raise QueryFailed("NOT_SUPPORTED", f"Unsupported Hive type: {text.lower()}") from None
    return _hive(built, text)


def _hive(node: exp.DataType, text: str) -> str:
    kind = node.this
    inner = node.expressions
    if kind in (exp.DataType.Type.ARRAY, exp.DataType.Type.LIST):
        element = inner[0]
        assert isinstance(element, exp.DataType)
        return f"array<{_hive(element, text)}>"
    if kind == exp.DataType.Type.MAP:
        key, value = inner[0], inner[1]
        assert isinstance(key, exp.DataType) and isinstance(value, exp.DataType)
        return f"map<{_hive(key, text)},{_hive(value, text)}>"
    if kind == exp.DataType.Type.STRUCT:
        fields = []
        for member in inner:
            kind_node = member.args.get("kind")
            assert isinstance(kind_node, exp.DataType)
            fields.append(f"{member.name.lower()}:{_hive(kind_node, text)}")
        return f"struct<{','.join(fields)}>"
    if kind == exp.DataType.Type.DECIMAL:
        if len(inner) == 2:
            return f"decimal({inner[0].name},{inner[1].name})"
        return "decimal(18,3)"  # DuckDB's bare DECIMAL
    if kind in _SIMPLE_HIVE:
        return _SIMPLE_HIVE[kind]
    raise QueryFailed("NOT_SUPPORTED", f"Unsupported Hive type: {node.sql('trino').lower()}")


def _trino_name(hive_type: str) -> str:
    """A Hive type as Trino names it in messages (``int`` -> ``integer``)."""
    if "<" in hive_type:
        return hive_type
    if hive_type.split("(")[0] in _STRINGS:
        return "varchar"
    name, precision, scale = athena_type(hive_to_duckdb_type(hive_type))
    return f"decimal({precision},{scale})" if name == "decimal" else name


_INTEGER_RANK = {"tinyint": 1, "smallint": 2, "int": 3, "bigint": 4}
_STRINGS = {"string", "varchar", "char"}


def _coercible(source: str, target: str) -> bool:
    """Whether Trino lets INSERT write a ``source`` value into a ``target`` column
    without an explicit CAST (its implicit coercions)."""
    source, target = source.lower(), target.lower()
    if source == target:
        return True
    s_base, t_base = source.split("(")[0], target.split("(")[0]
    if s_base in _STRINGS and t_base in _STRINGS:
        return True
    if s_base in _INTEGER_RANK:
        if t_base in _INTEGER_RANK:
            return _INTEGER_RANK[s_base] <= _INTEGER_RANK[t_base]
        return t_base in ("decimal", "float", "double")
    if s_base == "decimal":
        return t_base in ("decimal", "float", "double")
    if s_base == "float":
        return t_base == "double"
    if s_base == "date":
        return t_base == "timestamp"
    if "<" in source and "<" in target:
        return source.split("<")[0] == target.split("<")[0]
    return False


# --------------------------------------------------------------------------------------
# Glue


def _storage(
    columns: Sequence[OutputColumn], options: WriteOptions, location: str
) -> tuple[StorageDescriptor, dict[str, str]]:
    input_format, output_format, serde = STORAGE_FORMATS[options.format]
    serde_parameters = (
        {"field.delim": options.delimiter, "serialization.format": options.delimiter}
        if options.format == "TEXTFILE"
        else {"serialization.format": "1"}
    )
    data = [c for c in columns if c.name not in options.partitioned_by]
    sd: StorageDescriptor = {
        "Columns": [{"Name": c.name, "Type": c.hive_type} for c in data],
        "Location": location,
        "InputFormat": input_format,
        "OutputFormat": output_format,
        "Compressed": options.compression != "NONE",
        "NumberOfBuckets": options.bucket_count or -1,
        "SerdeInfo": {"SerializationLibrary": serde, "Parameters": serde_parameters},
        "BucketColumns": list(options.bucketed_by),
        "SortColumns": [],
        "Parameters": {},
        "StoredAsSubDirectories": False,
    }
    key = {"PARQUET": "parquet.compression", "ORC": "orc.compress"}.get(
        options.format, "write.compression"
    )
    parameters = {
        "EXTERNAL": "TRUE",
        "has_encrypted_data": "false",
        "classification": _CLASSIFICATION[options.format],
        key: options.compression,
    }
    if options.format in ("TEXTFILE", "JSON") and options.compression != "NONE":
        parameters["compressionType"] = options.compression.lower()
    return sd, parameters


def _register_partitions(
    catalog: Catalog, table: Table, location: str, partitions: Mapping[tuple[str, ...], str]
) -> list[tuple[str, ...]]:
    """Add the partitions written that the catalog lacks, 100 to a call."""
    existing: set[tuple[str, ...]] = set()
    token: str | None = None
    while True:
        page = catalog.get_partitions(table.database_name, table.name, next_token=token)
        existing.update(tuple(p.values) for p in page.items)
        token = page.next_token
        if token is None:
            break
    adding = [v for v in partitions if v not in existing]
    inputs: list[PartitionInput] = []
    for values in adding:
        sd: StorageDescriptor = dict(table.storage_descriptor or {})  # type: ignore[assignment]
        sd["Location"] = join_location(location, partitions[values])
        inputs.append({"Values": list(values), "StorageDescriptor": sd})
    for start in range(0, len(inputs), MAX_BATCH_CREATE_PARTITIONS):
        catalog.batch_create_partition(
            table.database_name, table.name, inputs[start : start + MAX_BATCH_CREATE_PARTITIONS]
        )
    return adding


def _database_exists(catalog: Catalog, name: str) -> bool:
    try:
        catalog.get_database(name)
    except EntityNotFoundException:
        return False
    return True


# --------------------------------------------------------------------------------------
# The statements


def _check_column_names(query: exp.Expression) -> None:
    """Trino's CTAS needs a name for every column (MISSING_COLUMN_NAME)."""
    while isinstance(query, exp.Subquery):
        query = query.this
    select = query if isinstance(query, exp.Select) else None
    if select is None:
        return
    for position, projection in enumerate(select.expressions, start=1):
        if not isinstance(projection, (exp.Alias, exp.Column, exp.Star, exp.Dot)):
            raise QueryFailed(
                "MISSING_COLUMN_NAME", f"Column name not specified at position {position}"
            )


def create_table_as(
    connection: Any,
    statement: Statement,
    *,
    select_sql: str | None = None,
    catalog: Catalog,
    lake: Lake,
    default_database: str,
    output_location: str,
    query_id: str,
    scratch: Path,
) -> WriteOutcome:
    """CREATE TABLE [IF NOT EXISTS] t [(columns)] WITH (...) AS <query> [WITH [NO] DATA].

    ``connection`` holds the views the query reads; ``select_sql`` is the query as DuckDB
    SQL (translated from :func:`inner_select` when not given). Writes the rows, then the
    Glue table and its partitions; ``rows`` is the UpdateCount."""
    tree = statement.tree
    if not isinstance(tree, exp.Create):
        raise QueryFailed("NOT_SUPPORTED", "Not a CREATE TABLE AS SELECT statement")
    database, name, aliases = _target(tree, default_database)
    if not _database_exists(catalog, database):
        raise QueryFailed("SCHEMA_NOT_FOUND", f"Schema '{database}' does not exist")
    try:
        catalog.get_table(database, name)
    except EntityNotFoundException:
        pass
    else:
        if tree.args.get("exists"):
            return WriteOutcome(0, [], table_created=False)
        raise QueryFailed(
            "TABLE_ALREADY_EXISTS", f"Table '{_CATALOG}.{database}.{name}' already exists"
        )
    properties, no_data = _properties(tree)
    options = _options(properties, known=_CTAS_PROPERTIES, default_format="PARQUET")
    _check_column_names(inner_select(statement))
    sql = _select_sql(statement, select_sql, database)
    described = describe(connection, sql)
    names = aliases or [n.lower() for n, _ in described]
    if len(names) != len(described):
        raise QueryFailed(
            "MISMATCHED_COLUMN_ALIASES",
            f"Column alias list has {len(names)} entries but relation has {len(described)} columns",
        )
    seen: set[str] = set()
    for column_name in names:
        if column_name in seen:
            raise QueryFailed(
                "DUPLICATE_COLUMN_NAME", f"Column name '{column_name}' specified more than once"
            )
        seen.add(column_name)
    columns = [
        OutputColumn(n, duckdb_to_hive_type(kind))
        for n, (_, kind) in zip(names, described, strict=True)
    ]
    _check_layout(columns, options)
    external = properties.get("external_location")
    if external is not None:
        location = check_s3(str(external), "external_location").rstrip("/")
    else:
        location = join_location(output_location, "tables", query_id)
    if has_objects(lake, location):
        staging = join_location(output_location, "tables", query_id)
        raise QueryFailed(
            "HIVE_PATH_ALREADY_EXISTS",
            f"Target directory for table '{database}.{name}' already exists: {location}. "
            f"You may need to manually clean the data at location '{staging}' before "
            "retrying. Athena will not delete data in your account.",
        )
    written = Written()
    if not no_data:
        written = write_rows(
            connection,
            sql,
            columns,
            options,
            lake=lake,
            location=location,
            query_id=query_id,
            scratch=scratch,
        )
    sd, parameters = _storage(columns, options, location)
    keys = [c for c in columns if c.name in options.partitioned_by]
    table_input: TableInput = {
        "Name": name,
        "Owner": "hadoop",
        "TableType": "EXTERNAL_TABLE",
        "StorageDescriptor": sd,
        "PartitionKeys": [{"Name": c.name, "Type": c.hive_type} for c in keys],
        "Parameters": parameters,
        "Retention": 0,
    }
    try:
        table = catalog.create_table(database, table_input)
    except AlreadyExistsException:
        raise QueryFailed(
            "TABLE_ALREADY_EXISTS", f"Table '{_CATALOG}.{database}.{name}' already exists"
        ) from None
    added = _register_partitions(catalog, table, location, written.partitions)
    return WriteOutcome(written.rows, written.files, True, location, added)


def _table_options(table: Table) -> WriteOptions:
    """How INSERT INTO writes to ``table``: its format from the SerDe and input format,
    its compression from the table's parameters."""
    sd = table.storage_descriptor or {}
    serde_info = sd.get("SerdeInfo") or {}
    serde = (serde_info.get("SerializationLibrary") or "").lower()
    input_format = (sd.get("InputFormat") or "").lower()
    parameters = dict(table.parameters or {})
    if "parquet" in serde or "parquet" in input_format:
        fmt, key = "PARQUET", "parquet.compression"
    elif "orc" in serde or "orc" in input_format:
        fmt, key = "ORC", "orc.compress"
    elif "avro" in serde or "avro" in input_format:
        fmt, key = "AVRO", "write.compression"
    elif "json" in serde:
        fmt, key = "JSON", "write.compression"
    elif "lazysimpleserde" in serde or not serde:
        fmt, key = "TEXTFILE", "write.compression"
    else:
        raise QueryFailed(
            "NOT_SUPPORTED",
            f"Inserting into a table stored with {serde} is not supported by fogbank yet",
        )
    compression = str(parameters.get(key) or _DEFAULT_COMPRESSION[fmt]).upper()
    if compression not in CODECS[fmt]:
        compression = _DEFAULT_COMPRESSION[fmt]
    serde_parameters = serde_info.get("Parameters") or {}
    delimiter = serde_parameters.get("field.delim") or "\x01"
    keys = tuple(k["Name"].lower() for k in table.partition_keys)
    buckets = tuple(b.lower() for b in sd.get("BucketColumns") or [])
    count = int(sd.get("NumberOfBuckets") or -1)
    return WriteOptions(
        fmt, compression, delimiter, keys, buckets if count > 0 else (), max(count, 0)
    )


def insert_into(
    connection: Any,
    statement: Statement,
    *,
    select_sql: str | None = None,
    catalog: Catalog,
    lake: Lake,
    default_database: str,
    query_id: str,
    scratch: Path,
) -> WriteOutcome:
    """INSERT INTO t [(columns)] <query>: new files under the table's Location (each
    partition's folder for a partitioned table), in the table's format; columns matched
    by position and cast to the table's types; partitions new to the catalog added."""
    tree = statement.tree
    if not isinstance(tree, exp.Insert):
        raise QueryFailed("NOT_SUPPORTED", "Not an INSERT INTO statement")
    database, name, listed = _target(tree, default_database)
    try:
        table = catalog.get_table(database, name)
    except EntityNotFoundException:
        raise QueryFailed(
            "TABLE_NOT_FOUND", f"Table '{_CATALOG}.{database}.{name}' does not exist"
        ) from None
    if table.table_type == "VIRTUAL_VIEW":
        raise QueryFailed(
            "NOT_SUPPORTED", f"Inserting into view {database}.{name} is not supported"
        )
    sd = table.storage_descriptor or {}
    location = str(sd.get("Location") or "")
    check_s3(location, f"Table {database}.{name}'s Location")
    options = _table_options(table)
    table_columns = [
        OutputColumn(c["Name"].lower(), c.get("Type") or "string")
        for c in [*sd.get("Columns", []), *table.partition_keys]
    ]
    known = {c.name for c in table_columns}
    for column_name in listed:
        if column_name not in known:
            raise QueryFailed(
                "COLUMN_NOT_FOUND",
                f"Insert column name does not exist in target table: {column_name}",
            )
    if len(set(listed)) != len(listed):
        twice = next(c for c in listed if listed.count(c) > 1)
        raise QueryFailed(
            "DUPLICATE_COLUMN_NAME", f"Insert column name is specified more than once: {twice}"
        )
    targets = listed or [c.name for c in table_columns]
    sql = _select_sql(statement, select_sql, database)
    described = describe(connection, sql)
    query_types = [_query_hive_type(kind) for _, kind in described]
    table_types = {c.name: c.hive_type for c in table_columns}
    wanted = [table_types[t] for t in targets]
    if len(query_types) != len(wanted) or not all(
        q is None or _coercible(q, w) for q, w in zip(query_types, wanted, strict=False)
    ):
        raise QueryFailed(
            "TYPE_MISMATCH",
            "Insert query has mismatched column types: Table: "
            f"[{', '.join(_trino_name(w) for w in wanted)}], Query: "
            f"[{', '.join(_trino_name(q) if q else 'unknown' for q in query_types)}]",
        )
    # Columns left out of the list are NULL; the rest take the query's by position.
    position = {t: i for i, t in enumerate(targets)}
    projection = ", ".join(
        f"__q{position[c.name]}" if c.name in position else "NULL" for c in table_columns
    )
    aliases = ", ".join(f"__q{i}" for i in range(len(described)))
    full_sql = f"SELECT {projection} FROM ({sql}) AS __insert({aliases})"
    written = write_rows(
        connection,
        full_sql,
        table_columns,
        options,
        lake=lake,
        location=location,
        query_id=query_id,
        scratch=scratch,
    )
    added = _register_partitions(catalog, table, location, written.partitions)
    return WriteOutcome(written.rows, written.files, False, location, added)


def _query_hive_type(duckdb_type: str) -> str | None:
    """The Hive type of a query column; None for an untyped NULL (fits any column)."""
    if duckdb_type.strip().upper() in ('"NULL"', "NULL"):
        return None
    return duckdb_to_hive_type(duckdb_type)


_UNLOAD_TAIL = re.compile(
    r"\)\s*TO\s*'((?:[^']|'')*)'\s*(?:WITH\s*\((.*)\))?\s*;?\s*$", re.IGNORECASE | re.DOTALL
)


def _unload_parts(sql: str) -> tuple[str, dict[str, str | int | list[str]]]:
    """UNLOAD's TO location and WITH properties, which the statement's tree leaves out."""
    depth, close = 0, -1
    start = sql.index("(")
    i = start
    while i < len(sql):
        ch = sql[i]
        if ch == "'":
            i = sql.index("'", i + 1)
            while sql.startswith("''", i):
                i = sql.index("'", i + 2)
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                close = i
                break
        i += 1
    match = _UNLOAD_TAIL.match(sql, close) if close >= 0 else None
    if match is None:
        raise QueryFailed("SYNTAX_ERROR", "mismatched input. Expecting: 'TO' 's3://...'")
    target = match.group(1).replace("''", "'")
    properties: dict[str, str | int | list[str]] = {}
    if match.group(2):
        try:
            holder = sqlglot.parse_one(
                f"CREATE TABLE __unload WITH ({match.group(2)}) AS SELECT 1", read="trino"
            )
        except (ParseError, TokenError) as error:
            raise QueryFailed("SYNTAX_ERROR", f"UNLOAD properties: {error}") from None
        assert isinstance(holder, exp.Expression)
        properties, _ = _properties(holder)
    return target, properties


def unload(
    connection: Any,
    statement: Statement,
    *,
    select_sql: str | None = None,
    lake: Lake,
    query_id: str,
    scratch: Path,
    default_database: str = "default",
) -> WriteOutcome:
    """UNLOAD (<query>) TO 's3://...' WITH (format = ..., compression = ...,
    field_delimiter = ..., partitioned_by = ARRAY[...]): files only, no table. The
    target must be empty unless the statement writes partitions."""
    target, properties = _unload_parts(statement.sql)
    if "format" not in properties:
        raise QueryFailed(
            "INVALID_TABLE_PROPERTY",
            "UNLOAD needs a format: WITH (format = 'PARQUET' | 'ORC' | 'AVRO' | 'JSON' | "
            "'TEXTFILE')",
        )
    options = _options(properties, known=_UNLOAD_PROPERTIES, default_format="PARQUET")
    location = check_s3(target, "UNLOAD's TO").rstrip("/")
    sql = _select_sql(statement, select_sql, default_database)
    described = describe(connection, sql)
    columns = [OutputColumn(n.lower(), duckdb_to_hive_type(kind)) for n, kind in described]
    _check_layout(columns, options)
    if not options.partitioned_by and has_objects(lake, location):
        raise QueryFailed(
            "HIVE_PATH_ALREADY_EXISTS",
            f"Target directory for UNLOAD already exists: {location}. UNLOAD writes only to "
            "an empty location; delete the objects under it or choose another",
        )
    written = write_rows(
        connection,
        sql,
        columns,
        options,
        lake=lake,
        location=location,
        query_id=query_id,
        scratch=scratch,
    )
    return WriteOutcome(written.rows, written.files, False, location)


def write_manifest(lake: Lake, output_location: str, query_id: str, files: Sequence[str]) -> str:
    """Write ``<OutputLocation><id>-manifest.csv``, one written file's s3:// URL a line
    (Athena's data manifest for CTAS, INSERT INTO and UNLOAD); returns its URL."""
    url = join_location(output_location, f"{query_id}-manifest.csv")
    bucket, key = parse_location(url)
    body = "".join(f"{f}\n" for f in files).encode()
    lake.put_object(bucket, key, body, content_type="text/csv")
    return url
