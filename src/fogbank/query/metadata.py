"""Athena's view of the Glue catalog: ListDataCatalogs, ListDatabases, ListTableMetadata
and their Get counterparts, as SQL clients and drivers browse it.

fogbank has one data catalog, ``AwsDataCatalog`` (type GLUE): the Glue Data Catalog of
:mod:`fogbank.catalog`. A database or table it lacks is Athena's MetadataException.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fogbank.catalog.engine import Catalog
from fogbank.catalog.model import Database, Table
from fogbank.core.errors import EntityNotFoundException, InvalidRequestException, MetadataException

CATALOG = "AwsDataCatalog"


@dataclass(frozen=True)
class TableMetadata:
    name: str
    table: Table

    def shape(self) -> dict[str, Any]:
        sd: Mapping[str, Any] = self.table.storage_descriptor or {}
        return {
            "Name": self.name,
            "CreateTime": self.table.create_time,
            "TableType": self.table.table_type or "EXTERNAL_TABLE",
            "Columns": [_column(c) for c in sd.get("Columns", [])],
            "PartitionKeys": [_column(k) for k in self.table.partition_keys],
            "Parameters": {
                **dict(self.table.parameters or {}),
                "location": sd.get("Location", ""),
                "inputformat": sd.get("InputFormat", ""),
                "outputformat": sd.get("OutputFormat", ""),
                "serde.serialization.lib": (sd.get("SerdeInfo") or {}).get(
                    "SerializationLibrary", ""
                ),
            },
        }


class Metadata:
    """The data catalogs Athena queries, and their databases and tables."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def list_data_catalogs(self) -> list[dict[str, str]]:
        return [{"CatalogName": CATALOG, "Type": "GLUE", "Status": "CREATE_COMPLETE"}]

    def get_data_catalog(self, name: str) -> dict[str, Any]:
        self._check(name)
        return {
            "Name": CATALOG,
            "Description": "The Glue Data Catalog of this fogbank home",
            "Type": "GLUE",
            "Parameters": {"catalog-id": self._catalog.account_id},
            "Status": "CREATE_COMPLETE",
        }

    def list_databases(
        self, catalog_name: str, *, max_results: int = 50, next_token: str | None = None
    ) -> tuple[list[Database], str | None]:
        self._check(catalog_name)
        page = self._catalog.get_databases(max_results=max_results, next_token=next_token)
        return list(page.items), page.next_token

    def get_database(self, catalog_name: str, name: str) -> Database:
        self._check(catalog_name)
        try:
            return self._catalog.get_database(name)
        except EntityNotFoundException:
            raise MetadataException(f"Database {name} not found.") from None

    def list_table_metadata(
        self,
        catalog_name: str,
        database: str,
        *,
        expression: str | None = None,
        max_results: int = 50,
        next_token: str | None = None,
    ) -> tuple[list[TableMetadata], str | None]:
        self.get_database(catalog_name, database)
        page = self._catalog.get_tables(
            database, expression=expression, max_results=max_results, next_token=next_token
        )
        return [TableMetadata(t.name, t) for t in page.items], page.next_token

    def get_table_metadata(self, catalog_name: str, database: str, name: str) -> TableMetadata:
        self.get_database(catalog_name, database)
        try:
            table = self._catalog.get_table(database, name)
        except EntityNotFoundException:
            raise MetadataException(f"Table {name} not found in database {database}.") from None
        return TableMetadata(table.name, table)

    def _check(self, name: str) -> None:
        if name.lower() != CATALOG.lower():
            raise InvalidRequestException(
                f"Data catalog {name} does not exist; fogbank has the Glue catalog {CATALOG}.",
                AthenaErrorCode="INVALID_INPUT",
            )


def _column(column: Mapping[str, Any]) -> dict[str, Any]:
    shaped = {"Name": column["Name"], "Type": column.get("Type") or "string"}
    if column.get("Comment"):
        shaped["Comment"] = column["Comment"]
    return shaped
