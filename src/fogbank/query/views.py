"""Athena's views as the Glue Data Catalog keeps them: a Presto view definition.

Athena stores ``CREATE VIEW db.v AS <query>`` as a Glue table of TableType
``VIRTUAL_VIEW`` whose ``ViewOriginalText`` is ``/* Presto View: <base64> */``, the
base64 of a JSON document ``{"originalSql", "catalog", "schema", "columns": [{"name",
"type"}]}`` (Trino's ``ConnectorViewDefinition``: the query, and the catalog and schema
its unqualified names resolve in, which are the creating session's, and the output
columns with Trino types), with ``ViewExpandedText`` ``/* Presto View */``, the
parameters ``presto_view=true`` and ``comment=Presto View``, and the columns (Hive
types) in the StorageDescriptor. Terraform's and CDK's recipes for Athena views write
the same shape through Glue's CreateTable, so a view made either way reads the same.

Sources: Glue's API reference ("If the table is a VIRTUAL_VIEW, certain Athena
configuration encoded in base64"), Trino's ``CreateViewTask`` (the definition's
members; catalog and schema are the session's), and the public Terraform module
iconara/terraform-aws-athena-view and @mapbox/cloudfriend's GluePrestoView (the Glue
members and parameters).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlglot import exp

from fogbank.catalog.model import Table, TableInput

VIRTUAL_VIEW = "VIRTUAL_VIEW"
_PREFIX = "/* Presto View: "
_SUFFIX = " */"
EXPANDED_TEXT = "/* Presto View */"
PARAMETERS = {"presto_view": "true", "comment": "Presto View"}
# DuckDB's wider and unsigned integers have no Trino type; Athena's would be bigint.
_WIDE_INTEGERS = re.compile(r"\b(?:U?HUGEINT|UBIGINT|UINTEGER)\b")
_NARROW_UNSIGNED = {"UTINYINT": "SMALLINT", "USMALLINT": "INTEGER"}


@dataclass(frozen=True)
class ViewColumn:
    name: str
    trino_type: str
    """As Trino names it in the definition (``varchar``, ``array(integer)``)."""
    hive_type: str
    """As Glue keeps it in the StorageDescriptor (``string``, ``array<int>``)."""


@dataclass(frozen=True)
class ViewDefinition:
    """A stored view: its query, where its unqualified names resolve, its columns."""

    original_sql: str
    catalog: str
    schema: str
    columns: tuple[tuple[str, str], ...]
    """(name, Trino type) of each output column, as stored."""


def is_view(table: Table) -> bool:
    return (table.table_type or "").upper() == VIRTUAL_VIEW


def decode(table: Table) -> ViewDefinition | None:
    """The Presto view definition of a VIRTUAL_VIEW table, or None when its
    ViewOriginalText holds something else (a Hive or Spark view's plain SQL)."""
    text = (table.view_original_text or "").strip()
    if not (text.startswith(_PREFIX) and text.endswith(_SUFFIX)):
        return None
    encoded = text[len(_PREFIX) : -len(_SUFFIX)].strip()
    try:
        document = json.loads(base64.b64decode(encoded, validate=False))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("originalSql"), str):
        return None
    columns = tuple(
        (str(c.get("name", "")).lower(), str(c.get("type", "")))
        for c in document.get("columns") or ()
        if isinstance(c, dict)
    )
    return ViewDefinition(
        original_sql=document["originalSql"],
        catalog=str(document.get("catalog") or "awsdatacatalog"),
        schema=str(document.get("schema") or table.database_name).lower(),
        columns=columns,
    )


def encode(definition: ViewDefinition) -> str:
    """ViewOriginalText for a definition: ``/* Presto View: <base64 JSON> */``."""
    document = {
        "originalSql": definition.original_sql,
        "catalog": definition.catalog,
        "schema": definition.schema,
        "columns": [{"name": name, "type": kind} for name, kind in definition.columns],
    }
    payload = base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()
    return f"{_PREFIX}{payload}{_SUFFIX}"


def table_input(name: str, definition: ViewDefinition, columns: Sequence[ViewColumn]) -> TableInput:
    """The Glue table Athena writes for a view."""
    return {
        "Name": name,
        "TableType": VIRTUAL_VIEW,
        "Owner": "hadoop",
        "Retention": 0,
        "PartitionKeys": [],
        "ViewOriginalText": encode(definition),
        "ViewExpandedText": EXPANDED_TEXT,
        "Parameters": dict(PARAMETERS),
        "StorageDescriptor": {
            "Columns": [{"Name": c.name, "Type": c.hive_type} for c in columns],
            "Location": "",
            "Compressed": False,
            "NumberOfBuckets": 0,
            "SerdeInfo": {},
            "SortColumns": [],
            "StoredAsSubDirectories": False,
        },
    }


def view_column(name: str, duckdb_type: str) -> ViewColumn:
    """A view's output column typed from DuckDB's type of it, in Trino's and Hive's
    spelling."""
    text = _WIDE_INTEGERS.sub("BIGINT", duckdb_type.upper())
    for unsigned, signed in _NARROW_UNSIGNED.items():
        text = re.sub(rf"\b{unsigned}\b", signed, text)
    try:
        built = exp.DataType.build(text, dialect="duckdb")
    except Exception:  # a type sqlglot cannot read: say it as DuckDB does
        return ViewColumn(name, duckdb_type.lower(), duckdb_type.lower())
    trino = built.sql(dialect="trino").lower().replace(", ", ",")
    hive = built.sql(dialect="hive").lower().replace(", ", ",").replace(": ", ":")
    return ViewColumn(name, trino, hive)


def show_create_view(database: str, name: str, definition: ViewDefinition) -> str:
    """SHOW CREATE VIEW's text, as Trino writes it: the qualified name, then the query."""
    return f"CREATE VIEW awsdatacatalog.{database}.{name} AS\n{definition.original_sql}"
