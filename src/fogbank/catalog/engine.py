"""The Glue Data Catalog engine: databases, tables and their versions, partitions, tags.

Each method mirrors the Glue operation of the same name, with Glue's name folding,
errors and messages. State lives in the control-plane store as resources of service
``glue``, one kind each:

- ``database`` named ``<db>``;
- ``table`` named ``<db>\\x1f<table>``, holding the current definition;
- ``table-version`` named ``<db>\\x1f<table>\\x1f<descending number>``: every kept
  version, the current one included, newest first in name order;
- ``partition`` named ``<db>\\x1f<table>\\x1f<values as JSON>``.

U+001F cannot occur in a Glue name, so no two keys collide and a table's children
share one name prefix (which is how a delete cascades, in one transaction). Writes that
must not race are ``create_only`` inserts: the second of two creators of a name, or of
a table's next version, fails in the database rather than overwriting the first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import regex

from fogbank.catalog.expressions import PartitionFilter, compile_filter
from fogbank.catalog.model import (
    Column,
    Database,
    DatabaseInput,
    ErrorDetail,
    Page,
    Partition,
    PartitionFailure,
    PartitionInput,
    PropertyPredicate,
    StorageDescriptor,
    Table,
    TableFailure,
    TableInput,
    TableVersion,
    TableVersionFailure,
)
from fogbank.catalog.names import check_name, fold
from fogbank.catalog.search import offset_page, search
from fogbank.core.clock import Clock
from fogbank.core.errors import (
    AlreadyExistsException,
    ConcurrentModificationException,
    EntityNotFoundException,
    FogbankError,
    InvalidInputException,
    ResourceInUseException,
    ResourceNotFoundException,
    ValidationException,
)
from fogbank.core.store import ControlPlaneStore, Resource

SERVICE = "glue"
DATABASE, TABLE, VERSION, PARTITION = "database", "table", "table-version", "partition"
_SEP = "\x1f"
# Version rows are named by (ceiling - version) so that name order is newest first.
_VERSION_CEILING = 10**12
# A partition key longer than this is named by its hash instead: PostgreSQL's btree
# index refuses keys over about 2,700 bytes, and values may be 1,024 characters each.
_MAX_READABLE_VALUES = 512
_DEFAULT_PERMISSIONS = (
    {
        "Principal": {"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"},
        "Permissions": ["ALL"],
    },
)
# Documented batch sizes, enforced when limits are on (the gateway also checks them).
MAX_BATCH_CREATE_PARTITIONS = 100
MAX_BATCH_DELETE_PARTITIONS = 25
MAX_BATCH_GET_PARTITIONS = 1000
MAX_BATCH_UPDATE_PARTITIONS = 100
MAX_BATCH_DELETE_TABLES = 100
MAX_BATCH_DELETE_VERSIONS = 100
MAX_TAGS = 50
# Unconditional UpdateTable calls that lose a race to another writer read and try again.
_UPDATE_ATTEMPTS = 20
_ARN = re.compile(r"arn:aws[a-z-]*:glue:(?P<region>[^:]*):(?P<account>[^:]*):(?P<resource>.+)")


class Catalog:
    """The Data Catalog of one account and region, kept in the control-plane store."""

    def __init__(
        self,
        store: ControlPlaneStore,
        *,
        clock: Clock,
        account_id: str,
        region: str,
        limits: bool,
    ) -> None:
        self._store = store
        self._clock = clock
        self.account_id = account_id
        self.region = region
        self.limits = limits

    # ------------------------------------------------------------------ catalog

    def check_catalog_id(self, catalog_id: str | None) -> None:
        """Every operation's optional ``CatalogId``: this account's id, or nothing."""
        if catalog_id is not None and catalog_id != self.account_id:
            raise EntityNotFoundException(
                f"Catalog {catalog_id} not found. The only catalog here is account "
                f"{self.account_id}'s: pass that CatalogId, or leave it out."
            )

    # ------------------------------------------------------------------ databases

    def create_database(
        self, database_input: DatabaseInput, *, tags: Mapping[str, str] | None = None
    ) -> Database:
        """CreateDatabase: the name is folded to lowercase; tags go on its ARN."""
        name = fold(_required(database_input, "Name", "DatabaseInput.Name"), "DatabaseInput.Name")
        body = _database_body(database_input, name, self._now())
        self._check_tag_count(dict(tags or {}), {})
        try:
            self._store.put_resource(
                SERVICE, DATABASE, name, self.database_arn(name), body, create_only=True
            )
        except ResourceInUseException:
            raise AlreadyExistsException("Database already exists.") from None
        if tags:
            self._store.tag_resource(self.database_arn(name), tags)
        return self._database(body)

    def get_database(self, name: str) -> Database:
        """GetDatabase, by a name folded as Glue folds it."""
        return self._database(self._database_resource(name).body)

    def get_databases(
        self, *, max_results: int = 100, next_token: str | None = None
    ) -> Page[Database]:
        """GetDatabases: one page in name order."""
        page, token = self._list(DATABASE, "", max_results, next_token)
        return Page(tuple(self._database(r.body) for r in page), token)

    def update_database(self, name: str, database_input: DatabaseInput) -> Database:
        """UpdateDatabase: the new definition replaces the old; CreateTime stays."""
        current = self._database_resource(name)
        new_name = fold(
            _required(database_input, "Name", "DatabaseInput.Name"), "DatabaseInput.Name"
        )
        if new_name != current.name:
            raise InvalidInputException(
                f"Database cannot be renamed: DatabaseInput.Name {new_name!r} differs from "
                f"Name {current.name!r}. Give the same name, or create a new database."
            )
        body = _database_body(database_input, current.name, _time(current.body["CreateTime"]))
        self._store.put_resource(SERVICE, DATABASE, current.name, current.arn, body)
        return self._database(body)

    def delete_database(self, name: str) -> None:
        """DeleteDatabase: its tables, their versions and partitions go with it."""
        resource = self._database_resource(name)
        self._store.delete_resource(SERVICE, DATABASE, resource.name)
        prefix = resource.name + _SEP
        for kind in (PARTITION, VERSION, TABLE):
            self._store.delete_resources(SERVICE, kind, name_prefix=prefix)

    # ------------------------------------------------------------------ tables

    def create_table(self, database_name: str, table_input: TableInput) -> Table:
        """CreateTable: version "0" of the table; names are folded to lowercase."""
        database = self._database_resource(database_name).name
        now = self._now()
        body = self._table_body(database, table_input, create_time=now, update_time=now, version=0)
        name = body["Name"]
        try:
            self._store.put_resource(
                SERVICE,
                TABLE,
                _key(database, name),
                self.table_arn(database, name),
                body,
                state="0",
                create_only=True,
            )
        except ResourceInUseException:
            raise AlreadyExistsException("Table already exists.") from None
        self._put_version(database, name, 0, body)
        return self._table(body)

    def get_table(self, database_name: str, name: str) -> Table:
        """GetTable: the current version of the table's definition."""
        return self._table(self._table_resource(database_name, name).body)

    def get_tables(
        self,
        database_name: str,
        *,
        expression: str | None = None,
        max_results: int = 100,
        next_token: str | None = None,
    ) -> Page[Table]:
        """GetTables: the database's tables in name order, those whose names match
        ``expression`` when one is given.

        As Glue (and the Hive metastore it mirrors) reads it, the expression is a
        regular expression where ``*`` alone stands for any run of characters (``sales*``
        is ``sales.*``), ``|`` separates alternatives, letter case is ignored, and a
        name matches only as a whole.
        """
        database = self._database_resource(database_name).name
        keep = None
        if expression and expression.strip():
            keep = _named(_table_pattern(expression))
        page, token = self._list(TABLE, database + _SEP, max_results, next_token, keep)
        return Page(tuple(self._table(r.body) for r in page), token)

    def update_table(
        self,
        database_name: str,
        table_input: TableInput,
        *,
        version_id: str | None = None,
        skip_archive: bool = False,
    ) -> Table:
        """UpdateTable: the input replaces the definition as the next version.

        ``version_id``, when given, must be the current version, or the update fails with
        ConcurrentModificationException as Glue's does (someone updated it first); without
        it, concurrent updates are applied one after another. The old version is kept
        for GetTableVersions unless ``skip_archive``.
        """
        database = self._database_resource(database_name).name
        name = fold(_required(table_input, "Name", "TableInput.Name"), "TableInput.Name")
        for attempt in range(_UPDATE_ATTEMPTS):
            current = self._table_resource(database, name)
            current_version = int(current.body["VersionId"])
            if version_id is not None and version_id != current.body["VersionId"]:
                raise _concurrent_update(version_id, current_version)
            version = current_version + 1
            body = self._table_body(
                database,
                table_input,
                create_time=_time(current.body["CreateTime"]),
                update_time=self._now(),
                version=version,
            )
            # The table row's state is its version: the write lands only on the version
            # this update read, so of two writers from one version exactly one wins.
            replaced = self._store.replace_resource(
                SERVICE,
                TABLE,
                current.name,
                body,
                state=str(version),
                expected_state=current.state,
            )
            if replaced is None:
                if version_id is not None or attempt == _UPDATE_ATTEMPTS - 1:
                    raise _concurrent_update(str(current_version), current_version + 1)
                continue
            self._put_version(database, name, version, body)
            if skip_archive:
                # the old version is not archived: the new one takes its place in the list
                with contextlib.suppress(ResourceNotFoundException):
                    self._store.delete_resource(
                        SERVICE, VERSION, _version_key(database, name, current_version)
                    )
            return self._table(body)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def delete_table(self, database_name: str, name: str) -> None:
        """DeleteTable: its versions, partitions and tags go with it."""
        resource = self._table_resource(database_name, name)
        self._store.delete_resource(SERVICE, TABLE, resource.name)
        for kind in (PARTITION, VERSION):
            self._store.delete_resources(SERVICE, kind, name_prefix=resource.name + _SEP)

    def batch_delete_table(self, database_name: str, names: Sequence[str]) -> list[TableFailure]:
        """BatchDeleteTable: one failure per table that could not be deleted."""
        self._check_batch(len(names), MAX_BATCH_DELETE_TABLES, "TablesToDelete")
        database = self._database_resource(database_name).name
        failures = []
        for name in names:
            try:
                self.delete_table(database, name)
            except FogbankError as error:
                failures.append(TableFailure(name, ErrorDetail.of(error)))
        return failures

    def get_table_version(
        self, database_name: str, table_name: str, version_id: str | None = None
    ) -> TableVersion:
        """GetTableVersion: one kept version; the current one when none is named."""
        table = self._table_resource(database_name, table_name)
        database, name = table.body["DatabaseName"], table.body["Name"]
        if version_id is None or version_id == table.body["VersionId"]:
            # the table row is the current version, whatever happened to its archive row
            return TableVersion(self._table(table.body), table.body["VersionId"])
        number = _version_number(version_id)
        found = self._store.find_resource(SERVICE, VERSION, _version_key(database, name, number))
        if found is None:
            raise EntityNotFoundException(
                f"Version {version_id} of table {name} not found. "
                "GetTableVersions lists the versions kept."
            )
        return TableVersion(self._table(found.body), str(number))

    def get_table_versions(
        self,
        database_name: str,
        table_name: str,
        *,
        max_results: int = 100,
        next_token: str | None = None,
    ) -> Page[TableVersion]:
        """GetTableVersions: the kept versions, the current one included, newest first."""
        table = self._table_resource(database_name, table_name)
        prefix = table.name + _SEP
        page, token = self._list(VERSION, prefix, max_results, next_token)
        return Page(
            tuple(TableVersion(self._table(r.body), r.body["VersionId"]) for r in page), token
        )

    def delete_table_version(self, database_name: str, table_name: str, version_id: str) -> None:
        """DeleteTableVersion: any kept version but the current one."""
        table = self._table_resource(database_name, table_name)
        database, name = table.body["DatabaseName"], table.body["Name"]
        number = _version_number(version_id)
        if str(number) == table.body["VersionId"]:
            raise InvalidInputException(
                f"VersionId {version_id} is the current version of table {name}, which "
                "cannot be deleted; delete the table, or update it first."
            )
        try:
            self._store.delete_resource(SERVICE, VERSION, _version_key(database, name, number))
        except ResourceNotFoundException:
            raise EntityNotFoundException(
                f"Version {version_id} of table {name} not found. "
                "GetTableVersions lists the versions kept."
            ) from None

    def batch_delete_table_version(
        self, database_name: str, table_name: str, version_ids: Sequence[str]
    ) -> list[TableVersionFailure]:
        """BatchDeleteTableVersion: one failure per version that could not be deleted."""
        self._check_batch(len(version_ids), MAX_BATCH_DELETE_VERSIONS, "VersionIds")
        table = self._table_resource(database_name, table_name)
        failures = []
        for version_id in version_ids:
            try:
                self.delete_table_version(
                    table.body["DatabaseName"], table.body["Name"], version_id
                )
            except FogbankError as error:
                failures.append(
                    TableVersionFailure(table.body["Name"], version_id, ErrorDetail.of(error))
                )
        return failures

    def search_tables(
        self,
        *,
        search_text: str | None = None,
        filters: Sequence[PropertyPredicate] = (),
        sort_field: str | None = None,
        descending: bool = False,
        max_results: int = 100,
        next_token: str | None = None,
    ) -> Page[Table]:
        """SearchTables: tables of every database that match the text and the filters
        (see :func:`fogbank.catalog.search.search`), one page at a time."""
        matched = search(
            self._all_tables(),
            search_text=search_text,
            filters=filters,
            sort_field=sort_field,
            descending=descending,
        )
        return offset_page(matched, max_results, next_token)

    # ------------------------------------------------------------------ partitions

    def create_partition(
        self, database_name: str, table_name: str, partition_input: PartitionInput
    ) -> Partition:
        """CreatePartition: values in the order of the table's partition keys."""
        table = self._table_resource(database_name, table_name)
        return self._create_partition(table, partition_input)

    def batch_create_partition(
        self, database_name: str, table_name: str, inputs: Sequence[PartitionInput]
    ) -> list[PartitionFailure]:
        """BatchCreatePartition: each partition is created or reported as a failure."""
        self._check_batch(len(inputs), MAX_BATCH_CREATE_PARTITIONS, "PartitionInputList")
        table = self._table_resource(database_name, table_name)
        failures = []
        for partition_input in inputs:
            try:
                self._create_partition(table, partition_input)
            except FogbankError as error:
                values = tuple(partition_input.get("Values") or ())
                failures.append(PartitionFailure(values, ErrorDetail.of(error)))
        return failures

    def get_partition(
        self, database_name: str, table_name: str, values: Sequence[str]
    ) -> Partition:
        """GetPartition: by its values, in the order of the table's partition keys."""
        table = self._table_resource(database_name, table_name)
        return self._partition(self._partition_resource(table, values).body)

    def get_partitions(
        self,
        database_name: str,
        table_name: str,
        *,
        expression: str | None = None,
        max_results: int = 1000,
        next_token: str | None = None,
    ) -> Page[Partition]:
        """GetPartitions: the table's partitions that ``expression`` keeps (all without one).

        The expression is checked before any partition is read (see
        :mod:`fogbank.catalog.expressions`), so a bad one fails even on an empty table.
        """
        table = self._table_resource(database_name, table_name)
        keep = None
        if expression and expression.strip():
            keys = [(k["Name"], k.get("Type", "string")) for k in table.body["PartitionKeys"]]
            keep = _valued(compile_filter(expression, keys))
        page, token = self._list(PARTITION, table.name + _SEP, max_results, next_token, keep)
        return Page(tuple(self._partition(r.body) for r in page), token)

    def batch_get_partition(
        self, database_name: str, table_name: str, values_list: Sequence[Sequence[str]]
    ) -> list[Partition]:
        """BatchGetPartition: the partitions that exist among those asked for; those that
        do not are left out (UnprocessedKeys is for throttling, which never happens here)."""
        self._check_batch(len(values_list), MAX_BATCH_GET_PARTITIONS, "PartitionsToGet")
        table = self._table_resource(database_name, table_name)
        found = []
        for values in values_list:
            self._check_values(table, values)
            resource = self._store.find_resource(SERVICE, PARTITION, _partition_key(table, values))
            if resource is not None:
                found.append(self._partition(resource.body))
        return found

    def update_partition(
        self,
        database_name: str,
        table_name: str,
        values: Sequence[str],
        partition_input: PartitionInput,
    ) -> Partition:
        """UpdatePartition: the input replaces the partition; new Values move it."""
        table = self._table_resource(database_name, table_name)
        return self._update_partition(table, values, partition_input)

    def batch_update_partition(
        self,
        database_name: str,
        table_name: str,
        entries: Sequence[tuple[Sequence[str], PartitionInput]],
    ) -> list[PartitionFailure]:
        """BatchUpdatePartition: each entry updated or reported as a failure."""
        self._check_batch(len(entries), MAX_BATCH_UPDATE_PARTITIONS, "Entries")
        table = self._table_resource(database_name, table_name)
        failures = []
        for values, partition_input in entries:
            try:
                self._update_partition(table, values, partition_input)
            except FogbankError as error:
                failures.append(PartitionFailure(tuple(values), ErrorDetail.of(error)))
        return failures

    def delete_partition(self, database_name: str, table_name: str, values: Sequence[str]) -> None:
        """DeletePartition: by its values."""
        table = self._table_resource(database_name, table_name)
        self._delete_partition(table, values)

    def batch_delete_partition(
        self, database_name: str, table_name: str, values_list: Sequence[Sequence[str]]
    ) -> list[PartitionFailure]:
        """BatchDeletePartition: each partition deleted or reported as a failure."""
        self._check_batch(len(values_list), MAX_BATCH_DELETE_PARTITIONS, "PartitionsToDelete")
        table = self._table_resource(database_name, table_name)
        failures = []
        for values in values_list:
            try:
                self._delete_partition(table, values)
            except FogbankError as error:
                failures.append(PartitionFailure(tuple(values), ErrorDetail.of(error)))
        return failures

    # ------------------------------------------------------------------ tags

    def database_arn(self, name: str) -> str:
        return f"arn:aws:glue:{self.region}:{self.account_id}:database/{name}"

    def table_arn(self, database: str, name: str) -> str:
        return f"arn:aws:glue:{self.region}:{self.account_id}:table/{database}/{name}"

    def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None:
        """TagResource: on a database's, a table's or a crawler's ARN."""
        resource = self._tagged_resource(arn)
        self._check_tag_count(dict(tags), self._store.list_tags(resource.arn))
        self._store.tag_resource(resource.arn, tags)

    def untag_resource(self, arn: str, keys: Iterable[str]) -> None:
        """UntagResource: keys the resource lacks are ignored."""
        self._store.untag_resource(self._tagged_resource(arn).arn, keys)

    def get_tags(self, arn: str) -> dict[str, str]:
        """GetTags: the tags on a database's or a table's ARN."""
        return self._store.list_tags(self._tagged_resource(arn).arn)

    # ------------------------------------------------------------------ plumbing

    def _now(self) -> datetime:
        return self._clock.now().astimezone(UTC)

    def _database_resource(self, name: str) -> Resource:
        folded = fold(name, "DatabaseName")
        found = self._store.find_resource(SERVICE, DATABASE, folded)
        if found is None:
            raise EntityNotFoundException(f"Database {folded} not found.")
        return found

    def _table_resource(self, database_name: str, name: str) -> Resource:
        database = fold(database_name, "DatabaseName")
        folded = fold(name, "TableName")
        # a table is stored under its database's folded name and goes with it, so the
        # database is looked up only to say which of the two is missing
        found = self._store.find_resource(SERVICE, TABLE, _key(database, folded))
        if found is None:
            self._database_resource(database_name)
            raise EntityNotFoundException(f"Table {folded} not found.")
        return found

    def _list(
        self,
        kind: str,
        prefix: str,
        max_results: int,
        next_token: str | None,
        keep: Callable[[Resource], bool] | None = None,
    ) -> tuple[list[Resource], str | None]:
        """Up to ``max_results`` kept resources under a prefix, and the next page's token.

        Resources a filter drops are read past, so a page is full unless it is the last;
        the token marks the last resource read, kept or not.
        """
        if max_results < 1:
            raise InvalidInputException(
                f"MaxResults must be at least 1; got {max_results}. Ask for 1 or more."
            )
        kept: list[Resource] = []
        token = next_token
        while True:
            try:
                page, token = self._store.list_resources(
                    SERVICE,
                    kind,
                    max_results=max_results - len(kept),
                    next_token=token,
                    name_prefix=prefix or None,
                )
            except ValidationException:
                raise InvalidInputException(
                    f"The NextToken {token!r} is not valid; pass the NextToken from the "
                    "previous response of the same operation, or none to start over."
                ) from None
            kept.extend(page if keep is None else filter(keep, page))
            if token is None or len(kept) >= max_results:
                return kept, token

    def _all_tables(self) -> Iterator[Table]:
        token: str | None = None
        while True:
            page, token = self._store.list_resources(
                SERVICE, TABLE, max_results=1000, next_token=token
            )
            yield from (self._table(r.body) for r in page)
            if token is None:
                return

    def _put_version(self, database: str, name: str, version: int, body: Mapping[str, Any]) -> None:
        # Only the writer whose table update landed writes this version's row.
        key = _version_key(database, name, version)
        arn = f"{self.table_arn(database, name)}/version/{version}"
        self._store.put_resource(SERVICE, VERSION, key, arn, body)

    def _table_body(
        self,
        database: str,
        table_input: TableInput,
        *,
        create_time: datetime,
        update_time: datetime,
        version: int,
    ) -> dict[str, Any]:
        name = fold(_required(table_input, "Name", "TableInput.Name"), "TableInput.Name")
        body: dict[str, Any] = {
            "Name": name,
            "DatabaseName": database,
            "CreateTime": _iso(create_time),
            "UpdateTime": _iso(update_time),
            "VersionId": str(version),
            "CreatedBy": f"arn:aws:iam::{self.account_id}:root",
            "Retention": table_input.get("Retention", 0),
            "PartitionKeys": _columns(table_input.get("PartitionKeys"), "TableInput.PartitionKeys"),
        }
        if body["Retention"] < 0:
            raise InvalidInputException(
                f"TableInput.Retention must be 0 or more; got {body['Retention']}."
            )
        for member in ("Description", "Owner", "ViewOriginalText", "ViewExpandedText", "TableType"):
            if (value := table_input.get(member)) is not None:
                body[member] = value
        if (owner := table_input.get("Owner")) is not None:
            check_name(owner, "TableInput.Owner")
        if (accessed := table_input.get("LastAccessTime")) is not None:
            body["LastAccessTime"] = _iso(accessed)
        if (analyzed := table_input.get("LastAnalyzedTime")) is not None:
            body["LastAnalyzedTime"] = _iso(analyzed)
        if (sd := table_input.get("StorageDescriptor")) is not None:
            body["StorageDescriptor"] = _storage_descriptor(sd, "TableInput.StorageDescriptor")
        if (parameters := table_input.get("Parameters")) is not None:
            body["Parameters"] = dict(parameters)
        return body

    def _create_partition(self, table: Resource, partition_input: PartitionInput) -> Partition:
        values = partition_input.get("Values")
        if values is None:
            raise InvalidInputException(
                "PartitionInput.Values is required: give one value per partition key."
            )
        self._check_values(table, values)
        body = self._partition_body(table, partition_input, values, self._now())
        try:
            self._store.put_resource(
                SERVICE,
                PARTITION,
                _partition_key(table, values),
                self._partition_arn(table, values),
                body,
                create_only=True,
            )
        except ResourceInUseException:
            raise AlreadyExistsException("Partition already exists.") from None
        return self._partition(body)

    def _update_partition(
        self, table: Resource, values: Sequence[str], partition_input: PartitionInput
    ) -> Partition:
        current = self._partition_resource(table, values)
        new_values = partition_input.get("Values") or list(values)
        self._check_values(table, new_values)
        body = self._partition_body(
            table, partition_input, new_values, _time(current.body["CreationTime"])
        )
        new_key = _partition_key(table, new_values)
        if new_key == current.name:
            self._store.put_resource(SERVICE, PARTITION, current.name, current.arn, body)
            return self._partition(body)
        try:
            self._store.put_resource(
                SERVICE,
                PARTITION,
                new_key,
                self._partition_arn(table, new_values),
                body,
                create_only=True,
            )
        except ResourceInUseException:
            raise AlreadyExistsException("Partition already exists.") from None
        self._store.delete_resource(SERVICE, PARTITION, current.name)
        return self._partition(body)

    def _delete_partition(self, table: Resource, values: Sequence[str]) -> None:
        self._check_values(table, values)
        try:
            self._store.delete_resource(SERVICE, PARTITION, _partition_key(table, values))
        except ResourceNotFoundException:
            raise EntityNotFoundException("Cannot find partition.") from None

    def _partition_resource(self, table: Resource, values: Sequence[str]) -> Resource:
        self._check_values(table, values)
        found = self._store.find_resource(SERVICE, PARTITION, _partition_key(table, values))
        if found is None:
            raise EntityNotFoundException("Cannot find partition.")
        return found

    def _partition_body(
        self,
        table: Resource,
        partition_input: PartitionInput,
        values: Sequence[str],
        creation_time: datetime,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "Values": list(values),
            "DatabaseName": table.body["DatabaseName"],
            "TableName": table.body["Name"],
            "CreationTime": _iso(creation_time),
        }
        if (sd := partition_input.get("StorageDescriptor")) is not None:
            body["StorageDescriptor"] = _storage_descriptor(sd, "PartitionInput.StorageDescriptor")
        if (parameters := partition_input.get("Parameters")) is not None:
            body["Parameters"] = dict(parameters)
        if (accessed := partition_input.get("LastAccessTime")) is not None:
            body["LastAccessTime"] = _iso(accessed)
        if (analyzed := partition_input.get("LastAnalyzedTime")) is not None:
            body["LastAnalyzedTime"] = _iso(analyzed)
        return body

    def _partition_arn(self, table: Resource, values: Sequence[str]) -> str:
        # Not an ARN AWS tags: it only keeps the store's tag cleanup from touching
        # the table's own tags when partitions are deleted.
        digest = hashlib.sha256(_values_json(values).encode()).hexdigest()[:32]
        return f"{table.arn}/partition/{digest}"

    def _check_values(self, table: Resource, values: Sequence[str]) -> None:
        keys = [key["Name"] for key in table.body["PartitionKeys"]]
        if len(values) != len(keys):
            listed = ", ".join(keys) if keys else "none: it is not partitioned"
            raise InvalidInputException(
                f"The number of partition values ({len(values)}) does not match the number "
                f"of partition keys ({len(keys)}) of table {table.body['Name']}; give one "
                f"value per key, in order. Its keys are {listed}."
            )
        for value in values:
            if not isinstance(value, str) or not 1 <= len(value) <= 1024:
                raise InvalidInputException(
                    f"Partition value {value!r} must be a string of 1 to 1024 characters."
                )

    def _check_batch(self, count: int, limit: int, field: str) -> None:
        if self.limits and count > limit:
            raise InvalidInputException(
                f"{field} has {count} entries; at most {limit} are allowed in one call. "
                "Split the batch."
            )

    def _check_tag_count(self, adding: Mapping[str, str], existing: Mapping[str, str]) -> None:
        total = len(set(adding) | set(existing))
        if self.limits and total > MAX_TAGS:
            raise InvalidInputException(
                f"A resource can have at most {MAX_TAGS} tags; this would give it {total}. "
                "Remove some tags first."
            )

    def _tagged_resource(self, arn: str) -> Resource:
        match = _ARN.fullmatch(arn)
        if match is None:
            raise InvalidInputException(
                f"ResourceArn {arn!r} is not a Glue ARN; give one such as "
                f"{self.database_arn('mydb')}."
            )
        not_found = EntityNotFoundException(
            f"The resource {arn} does not exist. Tags go on an existing database "
            f"({self.database_arn('<db>')}), table ({self.table_arn('<db>', '<table>')}) "
            f"or crawler (arn:aws:glue:{self.region}:{self.account_id}:crawler/<name>)."
        )
        if match["region"] != self.region or match["account"] != self.account_id:
            raise not_found
        kind, _, path = match["resource"].partition("/")
        if kind == "database" and path:
            return self._database_resource(path)
        if kind == "table" and "/" in path:
            database, _, table = path.partition("/")
            return self._table_resource(database, table)
        if kind == "crawler" and path:
            # crawlers are kept by the crawler engine; tags only need the resource's ARN
            found = self._store.find_resource(SERVICE, "crawler", path)
            if found is not None:
                return found
        raise not_found

    def _database(self, body: Mapping[str, Any]) -> Database:
        return Database(
            name=body["Name"],
            catalog_id=self.account_id,
            create_time=_time(body["CreateTime"]),
            description=body.get("Description"),
            location_uri=body.get("LocationUri"),
            parameters=body.get("Parameters"),
            create_table_default_permissions=tuple(body.get("CreateTableDefaultPermissions", ())),
        )

    def _table(self, body: Mapping[str, Any]) -> Table:
        return Table(
            name=body["Name"],
            database_name=body["DatabaseName"],
            catalog_id=self.account_id,
            create_time=_time(body["CreateTime"]),
            update_time=_time(body["UpdateTime"]),
            version_id=body["VersionId"],
            created_by=body["CreatedBy"],
            partition_keys=tuple(body["PartitionKeys"]),
            retention=body["Retention"],
            description=body.get("Description"),
            owner=body.get("Owner"),
            last_access_time=_optional_time(body.get("LastAccessTime")),
            last_analyzed_time=_optional_time(body.get("LastAnalyzedTime")),
            storage_descriptor=body.get("StorageDescriptor"),
            view_original_text=body.get("ViewOriginalText"),
            view_expanded_text=body.get("ViewExpandedText"),
            table_type=body.get("TableType"),
            parameters=body.get("Parameters"),
        )

    def _partition(self, body: Mapping[str, Any]) -> Partition:
        return Partition(
            values=tuple(body["Values"]),
            database_name=body["DatabaseName"],
            table_name=body["TableName"],
            catalog_id=self.account_id,
            creation_time=_time(body["CreationTime"]),
            storage_descriptor=body.get("StorageDescriptor"),
            parameters=body.get("Parameters"),
            last_access_time=_optional_time(body.get("LastAccessTime")),
            last_analyzed_time=_optional_time(body.get("LastAnalyzedTime")),
        )


# ---------------------------------------------------------------------- helpers


def _required(document: Mapping[str, Any], member: str, field: str) -> str:
    value = document.get(member)
    if value is None:
        raise InvalidInputException(f"{field} is required.")
    if not isinstance(value, str):
        raise InvalidInputException(f"{field} must be a string; got {type(value).__name__}.")
    return value


def _database_body(
    database_input: DatabaseInput, name: str, create_time: datetime
) -> dict[str, Any]:
    body: dict[str, Any] = {"Name": name, "CreateTime": _iso(create_time)}
    for member in ("Description", "LocationUri"):
        if (value := database_input.get(member)) is not None:
            body[member] = value
    if (parameters := database_input.get("Parameters")) is not None:
        body["Parameters"] = dict(parameters)
    permissions = database_input.get("CreateTableDefaultPermissions")
    body["CreateTableDefaultPermissions"] = (
        list(permissions) if permissions is not None else list(_DEFAULT_PERMISSIONS)
    )
    return body


def _columns(columns: Sequence[Column] | None, field: str) -> list[dict[str, Any]]:
    out = []
    for index, column in enumerate(columns or ()):
        where = f"{field}[{index}].Name"
        entry: dict[str, Any] = {"Name": fold(_required(column, "Name", where), where)}
        for member in ("Type", "Comment"):
            if (value := column.get(member)) is not None:
                entry[member] = value
        if (parameters := column.get("Parameters")) is not None:
            entry["Parameters"] = dict(parameters)
        out.append(entry)
    return out


def _storage_descriptor(sd: StorageDescriptor, field: str) -> dict[str, Any]:
    """A storage descriptor as Glue keeps it: column names folded, and the Hive
    metastore's defaults for what was left out (not compressed, 0 buckets, empty lists)."""
    out: dict[str, Any] = {
        "Columns": _columns(sd.get("Columns"), f"{field}.Columns"),
        "Compressed": sd.get("Compressed", False),
        "NumberOfBuckets": sd.get("NumberOfBuckets", 0),
        "SerdeInfo": dict(sd.get("SerdeInfo") or {}),
        "BucketColumns": [
            fold(name, f"{field}.BucketColumns") for name in sd.get("BucketColumns") or ()
        ],
        "SortColumns": [
            {
                "Column": fold(order["Column"], f"{field}.SortColumns"),
                "SortOrder": order["SortOrder"],
            }
            for order in sd.get("SortColumns") or ()
        ],
        "Parameters": dict(sd.get("Parameters") or {}),
        "StoredAsSubDirectories": sd.get("StoredAsSubDirectories", False),
    }
    for member in ("Location", "InputFormat", "OutputFormat"):
        if (value := sd.get(member)) is not None:
            out[member] = value
    for member in ("AdditionalLocations", "SkewedInfo", "SchemaReference"):
        if (value := sd.get(member)) is not None:
            out[member] = value
    return out


def _key(database: str, table: str) -> str:
    return f"{database}{_SEP}{table}"


def _concurrent_update(version_id: str, current_version: int) -> ConcurrentModificationException:
    return ConcurrentModificationException(
        "Update table failed due to concurrent modifications. "
        f"VersionId {version_id} is not the current version ({current_version}); "
        "read the table again and retry."
    )


def _version_key(database: str, table: str, version: int) -> str:
    return f"{database}{_SEP}{table}{_SEP}{_VERSION_CEILING - version:013d}"


def _version_number(version_id: str) -> int:
    if not version_id.isdigit() or int(version_id) >= _VERSION_CEILING:
        raise InvalidInputException(
            f"VersionId {version_id!r} is not a table version: versions are whole numbers "
            "counting up from 0, as GetTableVersions lists them."
        )
    return int(version_id)


def _values_json(values: Sequence[str]) -> str:
    # ASCII JSON: any value (even a lone surrogate) makes a key both databases can store
    return json.dumps(list(values), ensure_ascii=True)


def _partition_key(table: Resource, values: Sequence[str]) -> str:
    encoded = _values_json(values)
    if len(encoded) > _MAX_READABLE_VALUES:
        encoded = "#" + hashlib.sha256(encoded.encode()).hexdigest()
    return f"{table.name}{_SEP}{encoded}"


def _named(pattern: regex.Pattern[str]) -> Callable[[Resource], bool]:
    return lambda resource: pattern.fullmatch(resource.body["Name"]) is not None


def _valued(matches: PartitionFilter) -> Callable[[Resource], bool]:
    return lambda resource: matches(resource.body["Values"])


def _table_pattern(expression: str) -> regex.Pattern[str]:
    # A "*" not already after "." is a glob star: "sales*" means "sales.*".
    alternatives = [re.sub(r"(?<!\.)\*", ".*", part) for part in expression.split("|")]
    try:
        return regex.compile("|".join(f"(?:{part})" for part in alternatives), regex.IGNORECASE)
    except regex.error as exc:
        raise InvalidInputException(
            f"Expression {expression!r} is not a valid pattern ({exc}); give a regular "
            "expression such as sales_.* or sales*|orders*."
        ) from None


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _optional_time(value: str | None) -> datetime | None:
    return None if value is None else _time(value)
