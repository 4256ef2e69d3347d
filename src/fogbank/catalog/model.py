"""The Data Catalog's shapes: what callers pass in and what the engine hands back.

Inputs are typed dicts keyed by Glue's member names (``TableInput``,
``StorageDescriptor``...), because a catalog definition is a document that callers
build as data and that crawlers will write; results are frozen dataclasses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Required, TypedDict, TypeVar

from fogbank.core.errors import FogbankError


class Column(TypedDict, total=False):
    """A column or partition key: its Hive type is text such as ``array<string>``."""

    Name: Required[str]
    Type: str
    Comment: str
    Parameters: dict[str, str]


class SerDeInfo(TypedDict, total=False):
    Name: str
    SerializationLibrary: str
    Parameters: dict[str, str]


class Order(TypedDict):
    Column: str
    SortOrder: int


class SkewedInfo(TypedDict, total=False):
    SkewedColumnNames: list[str]
    SkewedColumnValues: list[str]
    SkewedColumnValueLocationMaps: dict[str, str]


class StorageDescriptor(TypedDict, total=False):
    """Where a table's or partition's data lies and how it is laid out."""

    Columns: list[Column]
    Location: str
    AdditionalLocations: list[str]
    InputFormat: str
    OutputFormat: str
    Compressed: bool
    NumberOfBuckets: int
    SerdeInfo: SerDeInfo
    BucketColumns: list[str]
    SortColumns: list[Order]
    Parameters: dict[str, str]
    SkewedInfo: SkewedInfo
    StoredAsSubDirectories: bool
    SchemaReference: dict[str, Any]


class DatabaseInput(TypedDict, total=False):
    Name: Required[str]
    Description: str
    LocationUri: str
    Parameters: dict[str, str]
    CreateTableDefaultPermissions: list[dict[str, Any]]


class TableInput(TypedDict, total=False):
    Name: Required[str]
    Description: str
    Owner: str
    LastAccessTime: datetime
    LastAnalyzedTime: datetime
    Retention: int
    StorageDescriptor: StorageDescriptor
    PartitionKeys: list[Column]
    ViewOriginalText: str
    ViewExpandedText: str
    TableType: str
    Parameters: dict[str, str]


class PartitionInput(TypedDict, total=False):
    Values: list[str]
    LastAccessTime: datetime
    StorageDescriptor: StorageDescriptor
    Parameters: dict[str, str]
    LastAnalyzedTime: datetime


class PropertyPredicate(TypedDict, total=False):
    """One SearchTables filter: ``Key`` compared with ``Value``."""

    Key: str
    Value: str
    Comparator: str


@dataclass(frozen=True)
class Database:
    name: str
    catalog_id: str
    create_time: datetime
    description: str | None = None
    location_uri: str | None = None
    parameters: Mapping[str, str] | None = None
    create_table_default_permissions: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Table:
    """One version of a table's definition (GetTable returns the current one)."""

    name: str
    database_name: str
    catalog_id: str
    create_time: datetime
    update_time: datetime
    version_id: str
    created_by: str
    partition_keys: tuple[Column, ...] = ()
    retention: int = 0
    description: str | None = None
    owner: str | None = None
    last_access_time: datetime | None = None
    last_analyzed_time: datetime | None = None
    storage_descriptor: StorageDescriptor | None = None
    view_original_text: str | None = None
    view_expanded_text: str | None = None
    table_type: str | None = None
    parameters: Mapping[str, str] | None = None


@dataclass(frozen=True)
class TableVersion:
    table: Table
    version_id: str


@dataclass(frozen=True)
class Partition:
    values: tuple[str, ...]
    database_name: str
    table_name: str
    catalog_id: str
    creation_time: datetime
    storage_descriptor: StorageDescriptor | None = None
    parameters: Mapping[str, str] | None = None
    last_access_time: datetime | None = None
    last_analyzed_time: datetime | None = None


@dataclass(frozen=True)
class ErrorDetail:
    """Why one entry of a batch failed: an error code and message, as Glue reports it."""

    code: str
    message: str

    @classmethod
    def of(cls, error: FogbankError) -> ErrorDetail:
        return cls(error.code, error.message)


@dataclass(frozen=True)
class PartitionFailure:
    values: tuple[str, ...]
    error: ErrorDetail


@dataclass(frozen=True)
class TableFailure:
    table_name: str
    error: ErrorDetail


@dataclass(frozen=True)
class TableVersionFailure:
    table_name: str
    version_id: str
    error: ErrorDetail


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a Get* listing, and the token for the next (None on the last)."""

    items: tuple[T, ...]
    next_token: str | None = None
