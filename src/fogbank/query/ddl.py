"""Athena's DDL statements, run against the Glue Data Catalog and the lake.

:func:`run_ddl` runs one Hive DDL statement (parsed by :mod:`fogbank.query.ddl_parse`)
the way Athena's DDL engine does: ``CREATE EXTERNAL TABLE`` writes the Glue table Athena
would write (formats, SerDe, ``EXTERNAL=TRUE``), ``MSCK REPAIR TABLE`` adds the Hive-style
partitions found under the table's location, ``ALTER TABLE ... ADD/DROP PARTITION``,
``DROP TABLE/DATABASE``, ``CREATE DATABASE``, and every ``SHOW``/``DESCRIBE`` returns rows
shaped as Athena returns them (no header row; ``DESCRIBE`` and ``SHOW COLUMNS`` padded to
20 characters as Hive pads them). Failures raise :class:`QueryFailed` with Hive's
``FAILED: ...`` reasons, as Athena reports them in ``StateChangeReason``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fogbank.catalog.engine import MAX_BATCH_CREATE_PARTITIONS, MAX_BATCH_DELETE_PARTITIONS, Catalog
from fogbank.catalog.model import (
    Column,
    DatabaseInput,
    PartitionInput,
    StorageDescriptor,
    Table,
    TableInput,
)
from fogbank.core.errors import AlreadyExistsException, EntityNotFoundException, FogbankError
from fogbank.lake.engine import Lake
from fogbank.query import ddl_parse as p
from fogbank.query import views
from fogbank.query.errors import QueryFailed

__all__ = ["DdlResult", "run_ddl"]

_DDL_TASK = "Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "
_S3 = re.compile(r"s3://[^/]+(/.*)?")
_WIDTH = 20  # Hive's MetaDataFormatUtils pads DESCRIBE fields to this width
# Characters Hive escapes as %XX in partition folder names (FileUtils.charToEscape).
_ESCAPED = {chr(c) for c in range(1, 32)} | set("\"#%'*/:=?\\\x7f{[]^")


@dataclass(frozen=True)
class DdlResult:
    """A DDL statement's result as GetQueryResults returns it: no header row."""

    columns: list[tuple[str, str]]
    """(name, Athena type) of each result column."""
    rows: list[list[str | None]]
    """DESCRIBE and MSCK REPAIR rows hold one value each (Hive's tab-joined line), as
    on Athena, whatever ``columns`` lists."""


def run_ddl(sql: str, *, catalog: Catalog, lake: Lake, database: str) -> DdlResult:
    """Run one Athena DDL statement; ``database`` is QueryExecutionContext.Database."""
    statement = p.parse_statement(sql, database=database)
    handler = _HANDLERS[type(statement)]
    result: DdlResult = handler(statement, catalog, lake)
    return result


# ---------------------------------------------------------------------- errors


def _failed(message: str) -> QueryFailed:
    return QueryFailed("FAILED", message)


def _no_database(name: str) -> QueryFailed:
    return _failed(f"SemanticException [Error 10072]: Database does not exist: {name}")


def _no_table(written: str) -> QueryFailed:
    return _failed(f"SemanticException [Error 10001]: Table not found {written}")


def _check_location(location: str) -> None:
    # Athena rejects these before running the statement (InvalidRequestException).
    if not _S3.fullmatch(location) or "//" in location[len("s3://") :]:
        raise QueryFailed(
            "INVALID_INPUT",
            f"Invalid location {location} for table. Only S3 locations are allowed",
        )


def _database_exists(catalog: Catalog, name: str) -> bool:
    try:
        catalog.get_database(name)
    except EntityNotFoundException:
        return False
    return True


def _table(catalog: Catalog, name: p.TableName) -> Table:
    assert name.database is not None
    try:
        return catalog.get_table(name.database, name.name)
    except EntityNotFoundException:
        if not _database_exists(catalog, name.database):
            raise _no_database(name.database) from None
        raise _no_table(name.written) from None


# ---------------------------------------------------------------------- CREATE / DROP


def _create_table(st: p.CreateTable, catalog: Catalog, lake: Lake) -> DdlResult:
    if st.location is None:
        raise QueryFailed(
            "MALFORMED_QUERY",
            "No location was specified for table. An S3 location must be specified",
        )
    if not st.external and st.properties.get("table_type", "").upper() != "ICEBERG":
        raise QueryFailed("MALFORMED_QUERY", "External keyword required for table type HIVE")
    _check_location(st.location)
    database = st.table.database
    assert database is not None
    if not _database_exists(catalog, database):
        raise _no_database(database)
    try:
        catalog.create_table(database, _table_input(st))
    except AlreadyExistsException:
        if not st.if_not_exists:
            # sic: Athena's reason says "already exist" (measured by athena-local)
            raise _failed(
                f"{_DDL_TASK}AlreadyExistsException(message:Table {st.table.name} already exist)"
            ) from None
    return DdlResult([], [])


def _table_input(st: p.CreateTable) -> TableInput:
    input_format, output_format, serde = p.STORAGE_FORMATS[st.stored_as or "TEXTFILE"]
    if st.input_format is not None and st.output_format is not None:
        input_format, output_format = st.input_format, st.output_format
    serde = st.serde or serde
    parameters = dict(st.serde_properties)
    if st.delimited:
        parameters.update(st.delimited)
    # Hive records the field delimiter as the serialization format, "1" otherwise.
    parameters.setdefault("serialization.format", (st.delimited or {}).get("field.delim", "1"))
    sd: StorageDescriptor = {
        "Columns": [_glue_column(c) for c in st.columns],
        "Location": st.location or "",
        "InputFormat": input_format,
        "OutputFormat": output_format,
        "Compressed": False,
        "NumberOfBuckets": -1,
        "SerdeInfo": {"SerializationLibrary": serde, "Parameters": parameters},
        "BucketColumns": [],
        "SortColumns": [],
        "Parameters": {},
        "StoredAsSubDirectories": False,
    }
    table_parameters = {"EXTERNAL": "TRUE", **st.properties}
    table_input: TableInput = {
        "Name": st.table.name,
        "Owner": "hadoop",
        "TableType": "EXTERNAL_TABLE",
        "StorageDescriptor": sd,
        "PartitionKeys": [_glue_column(c) for c in st.partition_keys],
        "Parameters": table_parameters,
        "Retention": 0,
    }
    if st.comment is not None:
        table_input["Description"] = st.comment
        table_parameters["comment"] = st.comment
    return table_input


def _glue_column(column: p.ColumnSpec) -> Column:
    out: Column = {"Name": column.name, "Type": column.type}
    if column.comment is not None:
        out["Comment"] = column.comment
    return out


def _create_database(st: p.CreateDatabase, catalog: Catalog, lake: Lake) -> DdlResult:
    if st.location is not None:
        _check_location(st.location)
    database: DatabaseInput = {"Name": st.name, "Parameters": dict(st.properties)}
    if st.comment is not None:
        database["Description"] = st.comment
    if st.location is not None:
        database["LocationUri"] = st.location
    try:
        catalog.create_database(database)
    except AlreadyExistsException:
        if not st.if_not_exists:
            raise _failed(f"{_DDL_TASK}Database {st.name} already exists") from None
    return DdlResult([], [])


def _drop_database(st: p.DropDatabase, catalog: Catalog, lake: Lake) -> DdlResult:
    if not _database_exists(catalog, st.name):
        if st.if_exists:
            return DdlResult([], [])
        raise _no_database(st.name)
    if not st.cascade and catalog.get_tables(st.name, max_results=1).items:
        raise _failed(
            f"{_DDL_TASK}InvalidOperationException(message:Database {st.name} is not empty. "
            "One or more tables exist.)"
        )
    catalog.delete_database(st.name)
    return DdlResult([], [])


def _drop_table(st: p.DropTable, catalog: Catalog, lake: Lake) -> DdlResult:
    # An external table's data stays in the lake: only the catalog entry goes.
    try:
        table = _table(catalog, st.table)
    except QueryFailed:
        if st.if_exists:
            return DdlResult([], [])
        raise
    if views.is_view(table):
        # Hive's ErrorMsg.DROP_COMMAND_FOR_VIEWS
        raise _failed(
            "SemanticException [Error 10131]: To drop a view you need to use the DROP VIEW command"
        )
    assert st.table.database is not None
    catalog.delete_table(st.table.database, st.table.name)
    return DdlResult([], [])


# ---------------------------------------------------------------------- views


def _qualified(name: p.TableName) -> str:
    return f"awsdatacatalog.{name.database}.{name.name}"


def _view(catalog: Catalog, name: p.TableName) -> tuple[Table, views.ViewDefinition]:
    """The view ``name`` and its definition; Trino's TABLE_NOT_FOUND when there is no
    such view, NOT_SUPPORTED when the name is a table's."""
    assert name.database is not None
    try:
        table = catalog.get_table(name.database, name.name)
    except EntityNotFoundException:
        raise QueryFailed(
            "TABLE_NOT_FOUND", f"View '{_qualified(name)}' does not exist", line=1, column=1
        ) from None
    definition = views.decode(table) if views.is_view(table) else None
    if definition is None:
        raise QueryFailed(
            "NOT_SUPPORTED",
            f"Relation '{_qualified(name)}' is a table, not a view",
            line=1,
            column=1,
        )
    return table, definition


def _drop_view(st: p.DropView, catalog: Catalog, lake: Lake) -> DdlResult:
    """DROP VIEW [IF EXISTS]: Trino's DropViewTask, whose only error is a missing view."""
    assert st.table.database is not None
    try:
        table = catalog.get_table(st.table.database, st.table.name)
    except EntityNotFoundException:
        table = None
    if table is None or not views.is_view(table):
        if st.if_exists:
            return DdlResult([], [])
        raise QueryFailed(
            "TABLE_NOT_FOUND", f"View '{_qualified(st.table)}' does not exist", line=1, column=1
        )
    catalog.delete_table(st.table.database, st.table.name)
    return DdlResult([], [])


def _show_views(st: p.ShowViews, catalog: Catalog, lake: Lake) -> DdlResult:
    names = _table_names(catalog, st.database, only_views=True)
    if st.pattern is not None:
        pattern = _glob(st.pattern)
        names = [n for n in names if pattern.fullmatch(n)]
    return DdlResult([("tab_name", "string")], [[n] for n in sorted(names)])


def _show_create_view(st: p.ShowCreateView, catalog: Catalog, lake: Lake) -> DdlResult:
    table, definition = _view(catalog, st.table)
    text = views.show_create_view(table.database_name, table.name, definition)
    return DdlResult([("Create View", "string")], [[line] for line in text.split("\n")])


# ---------------------------------------------------------------------- partitions


def partition_name(keys: Sequence[str], values: Sequence[str]) -> str:
    """Hive's partition name, ``k=v/k2=v2``, with special characters %-escaped."""
    return "/".join(f"{_escape(k)}={_escape(v)}" for k, v in zip(keys, values, strict=True))


def _escape(text: str) -> str:
    return "".join(f"%{ord(c):02X}" if c in _ESCAPED else c for c in text)


def _unescape(text: str) -> str:
    return re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m[1], 16)), text)


def _keys(table: Table) -> list[str]:
    return [key["Name"] for key in table.partition_keys]


def _all_partitions(catalog: Catalog, table: Table) -> Iterator[tuple[str, ...]]:
    token: str | None = None
    while True:
        page = catalog.get_partitions(table.database_name, table.name, next_token=token)
        yield from (partition.values for partition in page.items)
        if (token := page.next_token) is None:
            return


def _partition_input(table: Table, values: Sequence[str], location: str) -> PartitionInput:
    sd: StorageDescriptor = dict(table.storage_descriptor or {})  # type: ignore[assignment]
    sd["Location"] = location
    return {"Values": list(values), "StorageDescriptor": sd}


def _folder(table: Table) -> str:
    location = (table.storage_descriptor or {}).get("Location", "")
    return location if location.endswith("/") else location + "/"


def _split(location: str) -> tuple[str, str]:
    bucket, _, prefix = location[len("s3://") :].partition("/")
    return bucket, prefix


def _create_partitions(catalog: Catalog, table: Table, inputs: Sequence[PartitionInput]) -> None:
    for start in range(0, len(inputs), MAX_BATCH_CREATE_PARTITIONS):
        batch = inputs[start : start + MAX_BATCH_CREATE_PARTITIONS]
        catalog.batch_create_partition(table.database_name, table.name, batch)


def _msck_repair(st: p.MsckRepair, catalog: Catalog, lake: Lake) -> DdlResult:
    try:
        table = _table(catalog, st.table)
    except QueryFailed:
        # Athena's MSCK succeeds on a missing table and says so (measured by athena-local)
        return _msck_output([f"Tables not in metastore:\t{st.table.name}"])
    keys = _keys(table)
    bucket, prefix = _split(_folder(table))
    found: dict[tuple[str, ...], str] = {}
    folders: set[str] = set()
    any_object = False
    try:
        for info in lake.iter_objects(bucket, prefix):
            any_object = True
            parts = info.key[len(prefix) :].split("/")[:-1]
            folders.update("/".join(parts[: i + 1]) for i in range(len(parts)))
            values = _hive_values(parts, keys)
            if values is not None:
                found.setdefault(values, "/".join(parts[: len(keys)]))
    except FogbankError:
        any_object = False  # a missing bucket is a missing table folder
    if not any_object:
        return _msck_output([f"Tables missing on filesystem:\t{table.name}"])
    existing = set(_all_partitions(catalog, table)) if keys else set()
    adding = sorted(v for v in found if v not in existing)
    lines = []
    if adding:
        names = "".join(f"\t{table.name}:{partition_name(keys, v)}" for v in adding)
        lines.append(f"Partitions not in metastore:{names}")
    gone = sorted(v for v in existing if partition_name(keys, v) not in folders)
    if gone:
        names = "".join(f"\t{table.name}:{partition_name(keys, v)}" for v in gone)
        lines.append(f"Partitions missing from filesystem:{names}")
    base = f"s3://{bucket}/{prefix}"
    inputs = [_partition_input(table, v, f"{base}{found[v]}/") for v in adding]
    _create_partitions(catalog, table, inputs)
    lines.extend(
        f"Repair: Added partition to metastore {st.table.written}:{partition_name(keys, v)}"
        for v in adding
    )
    return _msck_output(lines)


def _hive_values(folders: Sequence[str], keys: Sequence[str]) -> tuple[str, ...] | None:
    """The partition values of a path whose first folders are ``k=v`` for each key in
    order; None for any other path (MSCK leaves those alone)."""
    if not keys or len(folders) < len(keys):
        return None
    values = []
    for folder, key in zip(folders, keys, strict=False):
        name, sep, value = folder.partition("=")
        if not sep or not value or _unescape(name).lower() != key:
            return None
        values.append(_unescape(value))
    return tuple(values)


def _msck_output(lines: list[str]) -> DdlResult:
    # Athena returns MSCK's text as one row, with no result columns.
    return DdlResult([], [["\n".join(lines)]] if lines else [])


def _spec_text(pairs: Sequence[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in pairs) + "}"


def _ordered_values(table: Table, spec: p.PartitionSpec) -> tuple[str, ...]:
    keys = _keys(table)
    given = dict(spec.values)
    unknown = [k for k in given if k not in keys]
    if unknown or not keys:
        raise _failed(
            f"SemanticException [Error 10098]: Non-Partition column appears in the partition "
            f"specification:  {unknown[0] if unknown else spec.values[0][0]}"
        )
    if len(given) != len(keys):
        raise _failed(
            f"ValidationFailureSemanticException partition spec {_spec_text(spec.values)} "
            f"doesn't contain all ({len(keys)}) partition columns"
        )
    return tuple(given[k] for k in keys)


def _add_partitions(st: p.AddPartitions, catalog: Catalog, lake: Lake) -> DdlResult:
    table = _table(catalog, st.table)
    keys = _keys(table)
    existing = set(_all_partitions(catalog, table))
    inputs: dict[tuple[str, ...], PartitionInput] = {}
    # Hive adds all the partitions or none: everything is checked before the first write.
    for spec in st.partitions:
        values = _ordered_values(table, spec)
        if values in existing or values in inputs:
            if st.if_not_exists:
                continue
            raise _failed(f"{_DDL_TASK}AlreadyExistsException(message:Partition already exists.)")
        location = spec.location or _folder(table) + partition_name(keys, values) + "/"
        _check_location(location)
        inputs[values] = _partition_input(table, values, location)
    _create_partitions(catalog, table, list(inputs.values()))
    return DdlResult([], [])


def _drop_partitions(st: p.DropPartitions, catalog: Catalog, lake: Lake) -> DdlResult:
    table = _table(catalog, st.table)
    keys = _keys(table)
    existing = list(_all_partitions(catalog, table))
    dropping: list[tuple[str, ...]] = []
    for spec in st.partitions:
        unknown = [k for k, _ in spec.values if k not in keys]
        if unknown:
            raise _failed(
                "SemanticException [Error 10098]: Non-Partition column appears in the "
                f"partition specification:  {unknown[0]}"
            )
        # A spec naming some of the keys drops every partition it matches, as in Hive.
        wanted = [(keys.index(k), v) for k, v in spec.values]
        matched = [v for v in existing if all(v[i] == value for i, value in wanted)]
        if not matched and not st.if_exists:
            terms = [f"({k} = '{v}')" for k, v in spec.values]
            shown = terms[0] if len(terms) == 1 else "(" + " and ".join(terms) + ")"
            raise _failed(f"SemanticException [Error 10006]: Partition not found {shown}")
        dropping.extend(v for v in matched if v not in dropping)
    for start in range(0, len(dropping), MAX_BATCH_DELETE_PARTITIONS):
        batch = dropping[start : start + MAX_BATCH_DELETE_PARTITIONS]
        catalog.batch_delete_partition(table.database_name, table.name, batch)
    return DdlResult([], [])


# ---------------------------------------------------------------------- SHOW


def _glob(pattern: str) -> re.Pattern[str]:
    # Hive's SHOW patterns: "*" is any run of characters, "|" separates alternatives.
    parts = [re.sub(r"(?<!\.)\*", ".*", part.strip()) for part in pattern.split("|")]
    try:
        return re.compile("|".join(f"(?:{part})" for part in parts), re.IGNORECASE)
    except re.error:
        return re.compile(re.escape(pattern), re.IGNORECASE)


def _table_names(catalog: Catalog, database: str, *, only_views: bool = False) -> list[str]:
    if not _database_exists(catalog, database):
        raise _no_database(database)
    names: list[str] = []
    token: str | None = None
    while True:
        page = catalog.get_tables(database, next_token=token)
        names.extend(t.name for t in page.items if not only_views or views.is_view(t))
        if (token := page.next_token) is None:
            return names


def _show_tables(st: p.ShowTables, catalog: Catalog, lake: Lake) -> DdlResult:
    names = _table_names(catalog, st.database)
    if st.pattern is not None:
        pattern = _glob(st.pattern)
        names = [n for n in names if pattern.fullmatch(n)]
    return DdlResult([("tab_name", "string")], [[n] for n in sorted(names)])


def _show_databases(st: p.ShowDatabases, catalog: Catalog, lake: Lake) -> DdlResult:
    names: list[str] = []
    token: str | None = None
    while True:
        page = catalog.get_databases(next_token=token)
        names.extend(database.name for database in page.items)
        if (token := page.next_token) is None:
            break
    if st.pattern is not None:
        pattern = _glob(st.pattern)
        names = [n for n in names if pattern.fullmatch(n)]
    return DdlResult([("database_name", "string")], [[n] for n in sorted(names)])


def _show_partitions(st: p.ShowPartitions, catalog: Catalog, lake: Lake) -> DdlResult:
    table = _table(catalog, st.table)
    keys = _keys(table)
    if not keys:
        raise _failed(f"{_DDL_TASK}Table {table.name} is not a partitioned table")
    names = sorted(partition_name(keys, v) for v in _all_partitions(catalog, table))
    return DdlResult([("partition", "string")], [[n] for n in names])


def _show_columns(st: p.ShowColumns, catalog: Catalog, lake: Lake) -> DdlResult:
    table = _table(catalog, st.table)
    columns = list((table.storage_descriptor or {}).get("Columns", [])) + list(table.partition_keys)
    return DdlResult([("field", "string")], [[c["Name"].ljust(_WIDTH)] for c in columns])


def _properties(table: Table) -> dict[str, str]:
    properties = dict(table.parameters or {})
    # Glue does not keep Hive's DDL time; the creation time stands in for it.
    properties.setdefault("transient_lastDdlTime", str(int(table.create_time.timestamp())))
    return dict(sorted(properties.items()))


def _show_tblproperties(st: p.ShowTblProperties, catalog: Catalog, lake: Lake) -> DdlResult:
    table = _table(catalog, st.table)
    properties = _properties(table)
    if st.key is not None:
        value = properties.get(st.key)
        if value is None:
            value = f"Table {table.database_name}.{table.name} does not have property: {st.key}"
        return DdlResult([("prpt_value", "string")], [[value]])
    rows: list[list[str | None]] = [[k, v] for k, v in properties.items()]
    return DdlResult([("prpt_name", "string"), ("prpt_value", "string")], rows)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def show_create_table(table: Table) -> list[str]:
    """SHOW CREATE TABLE's lines, laid out as Athena (Hive's DDLTask) prints them."""
    sd = table.storage_descriptor or {}
    out = [f"CREATE EXTERNAL TABLE `{table.name}`("]
    out.extend(_column_lines(sd.get("Columns", [])))
    out[-1] += ")"
    if table.description:
        out.append(f"COMMENT '{_quote(table.description)}'")
    if table.partition_keys:
        out.append("PARTITIONED BY ( ")
        out.extend(_column_lines(table.partition_keys))
        out[-1] += ")"
    serde = sd.get("SerdeInfo", {})
    parameters = dict(serde.get("Parameters", {}))
    parameters.pop("serialization.format", None)
    delimiters = [
        (key, parameters.pop(key, None))
        for key in ("field.delim", "colelction.delim", "mapkey.delim", "line.delim")
    ]
    if any(value is not None for _, value in delimiters):
        out.append("ROW FORMAT DELIMITED ")
        words = {
            "field.delim": "FIELDS TERMINATED BY",
            "colelction.delim": "COLLECTION ITEMS TERMINATED BY",
            "mapkey.delim": "MAP KEYS TERMINATED BY",
            "line.delim": "LINES TERMINATED BY",
        }
        for key, value in delimiters:
            if value is not None:
                shown = value.encode("unicode_escape").decode()
                out.append(f"  {words[key]} '{_quote(shown)}' ")
    else:
        out.extend(["ROW FORMAT SERDE ", f"  '{serde.get('SerializationLibrary', '')}' "])
    if parameters:
        out.append("WITH SERDEPROPERTIES ( ")
        pairs = [f"  '{k}'='{_quote(v)}'" for k, v in sorted(parameters.items())]
        out.extend(pair + ", " for pair in pairs[:-1])
        out.append(pairs[-1] + ") ")
    out.extend(
        [
            "STORED AS INPUTFORMAT ",
            f"  '{sd.get('InputFormat', '')}' ",
            "OUTPUTFORMAT ",
            f"  '{sd.get('OutputFormat', '')}'",
            "LOCATION",
            f"  '{sd.get('Location', '')}'",
            "TBLPROPERTIES (",
        ]
    )
    properties = _properties(table)
    for key in ("EXTERNAL", "comment"):
        properties.pop(key, None)
    pairs = [f"  '{k}'='{_quote(v)}'" for k, v in properties.items()]
    out.extend(pair + ", " for pair in pairs[:-1])
    out.append(pairs[-1] + ")")
    return out


def _column_lines(columns: Sequence[Column]) -> list[str]:
    lines = []
    for column in columns:
        comment = f" COMMENT '{_quote(column['Comment'])}'" if column.get("Comment") else ""
        lines.append(f"  `{column['Name']}` {column.get('Type', 'string')}{comment}, ")
    if lines:
        lines[-1] = lines[-1][: -len(", ")]
    return lines


def _show_create_table(st: p.ShowCreateTable, catalog: Catalog, lake: Lake) -> DdlResult:
    table = _table(catalog, st.table)
    if views.is_view(table):
        raise QueryFailed(
            "NOT_SUPPORTED",
            f"Relation '{_qualified(st.table)}' is a view, not a table; SHOW CREATE VIEW shows it",
            line=1,
            column=1,
        )
    return DdlResult([("createtab_stmt", "string")], [[line] for line in show_create_table(table)])


# ---------------------------------------------------------------------- DESCRIBE


def _padded(*fields: str) -> str:
    return "\t".join(field.ljust(_WIDTH) for field in fields)


def _column_rows(columns: Sequence[Column]) -> list[str]:
    return [_padded(c["Name"], c.get("Type", ""), c.get("Comment", "")) for c in columns]


def describe(table: Table, mode: str = "") -> list[str]:
    """DESCRIBE's lines: Hive's padded ``name\\ttype\\tcomment``, then the partition
    section; FORMATTED and EXTENDED add the detailed table information."""
    sd = table.storage_descriptor or {}
    columns = list(sd.get("Columns", []))
    header = "# " + _padded("col_name", "data_type", "comment")
    lines = []
    if mode == "formatted":
        lines += [header, "\t \t ", *_column_rows(columns)]
    else:
        lines += _column_rows(columns + list(table.partition_keys))
    if table.partition_keys:
        lines += ["\t \t ", "# Partition Information\t \t ", header, "\t \t "]
        lines += _column_rows(table.partition_keys)
    if mode == "extended":
        detail = (
            f"Table(tableName:{table.name}, dbName:{table.database_name}, "
            f"owner:{table.owner or 'hadoop'}, createTime:{int(table.create_time.timestamp())}, "
            f"lastAccessTime:0, retention:{table.retention}, sd:StorageDescriptor(location:"
            f"{sd.get('Location', '')}, inputFormat:{sd.get('InputFormat', '')}, outputFormat:"
            f"{sd.get('OutputFormat', '')}, serdeInfo:SerDeInfo(serializationLib:"
            f"{sd.get('SerdeInfo', {}).get('SerializationLibrary', '')}, parameters:"
            f"{_java_map(sd.get('SerdeInfo', {}).get('Parameters', {}))})), "
            f"parameters:{_java_map(_properties(table))}, tableType:{table.table_type})"
        )
        lines += ["\t \t ", f"Detailed Table Information\t{detail}\t "]
    elif mode == "formatted":
        lines += _formatted_details(table)
    return lines


def _java_map(values: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in values.items()) + "}"


def _formatted_details(table: Table) -> list[str]:
    sd = table.storage_descriptor or {}
    serde = sd.get("SerdeInfo", {})
    created = table.create_time.strftime("%a %b %d %H:%M:%S UTC %Y")
    lines = [
        "\t \t ",
        "# Detailed Table Information\t \t ",
        _row("Database:", table.database_name),
        _row("Owner:", table.owner or "hadoop"),
        _row("CreateTime:", created),
        _row("LastAccessTime:", "UNKNOWN"),
        _row("Protect Mode:", "None"),
        _row("Retention:", str(table.retention)),
        _row("Location:", sd.get("Location", "")),
        _row("Table Type:", table.table_type or "EXTERNAL_TABLE"),
        "Table Parameters:\t \t ",
    ]
    lines += [f"\t{k.ljust(_WIDTH)}\t{v.ljust(_WIDTH)}" for k, v in _properties(table).items()]
    lines += [
        "\t \t ",
        "# Storage Information\t \t ",
        _row("SerDe Library:", serde.get("SerializationLibrary", "")),
        _row("InputFormat:", sd.get("InputFormat", "")),
        _row("OutputFormat:", sd.get("OutputFormat", "")),
        _row("Compressed:", "Yes" if sd.get("Compressed") else "No"),
        _row("Num Buckets:", str(sd.get("NumberOfBuckets", -1))),
        _row("Bucket Columns:", str(sd.get("BucketColumns", []))),
        _row("Sort Columns:", str(sd.get("SortColumns", []))),
        "Storage Desc Params:\t \t ",
    ]
    params = sorted(serde.get("Parameters", {}).items())
    lines += [f"\t{k.ljust(_WIDTH)}\t{v.ljust(_WIDTH)}" for k, v in params]
    return lines


def _row(name: str, value: str) -> str:
    return f"{name.ljust(_WIDTH)}\t{value.ljust(_WIDTH)}\t "


def _describe(st: p.Describe, catalog: Catalog, lake: Lake) -> DdlResult:
    table = _table(catalog, st.table)
    columns = [("col_name", "string"), ("data_type", "string"), ("comment", "string")]
    return DdlResult(columns, [[line] for line in describe(table, st.mode)])


_HANDLERS: dict[type, Any] = {
    p.CreateTable: _create_table,
    p.CreateDatabase: _create_database,
    p.DropDatabase: _drop_database,
    p.DropTable: _drop_table,
    p.DropView: _drop_view,
    p.ShowViews: _show_views,
    p.ShowCreateView: _show_create_view,
    p.MsckRepair: _msck_repair,
    p.AddPartitions: _add_partitions,
    p.DropPartitions: _drop_partitions,
    p.ShowTables: _show_tables,
    p.ShowDatabases: _show_databases,
    p.ShowPartitions: _show_partitions,
    p.ShowCreateTable: _show_create_table,
    p.ShowColumns: _show_columns,
    p.ShowTblProperties: _show_tblproperties,
    p.Describe: _describe,
}
