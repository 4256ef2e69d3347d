"""One crawl: walk the S3 targets, classify sampled files, and write what was found.

:class:`Crawl` reads each target's objects in the lake, leaves out what ``Exclusions``
match, samples ``SampleSize`` files per folder, classifies them (custom classifiers
first, then :mod:`fogbank.catalog.classifiers`), groups folders into tables
(:mod:`fogbank.catalog.grouping`), and writes the catalog at the end of the run under
the crawler's SchemaChangePolicy. A stopped run writes nothing.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fogbank.catalog.classifiers import (
    UNKNOWN,
    Classification,
    FileSource,
    GlueType,
    UnreadableFile,
    classify,
    merge_fields,
    type_name,
)
from fogbank.catalog.custom import CustomClassifier, classify_custom
from fogbank.catalog.engine import Catalog
from fogbank.catalog.grouping import (
    TablePlan,
    Unit,
    group_at_level,
    group_units,
    parse_options,
    partition_values,
    similar_columns,
    table_name,
)
from fogbank.catalog.model import PartitionInput, StorageDescriptor, Table, TableInput
from fogbank.core.errors import (
    AlreadyExistsException,
    EntityNotFoundException,
    InvalidInputException,
)
from fogbank.lake.engine import Lake

log = logging.getLogger(__name__)

# How Glue describes each format's files to Hive: input format, output format, SerDe.
_TEXT_IN = "org.apache.hadoop.mapred.TextInputFormat"
_TEXT_OUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
_FORMATS: dict[str, tuple[str, str, str]] = {
    "csv": (_TEXT_IN, _TEXT_OUT, "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"),
    "json": (_TEXT_IN, _TEXT_OUT, "org.openx.data.jsonserde.JsonSerDe"),
    "parquet": (
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
    ),
    "orc": (
        "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
        "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
        "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
    ),
    "avro": (
        "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
        "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat",
        "org.apache.hadoop.hive.serde2.avro.AvroSerDe",
    ),
}


class Cancelled(Exception):
    """StopCrawler was called: the run ends without writing to the catalog."""


class CrawlFailure(Exception):
    """A crawl that must fail with this message as its ErrorMessage, writing nothing
    (more tables than the crawler's TableThreshold)."""


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    partitions_added: int = 0
    partitions_updated: int = 0
    errors: list[str] = field(default_factory=list)
    folders: set[str] = field(default_factory=set)
    """Every folder holding objects that the crawl walked, read or (incremental) not:
    what the next CRAWL_NEW_FOLDERS_ONLY run leaves alone."""
    files_read: int = 0

    def summary(self) -> str:
        """ListCrawls' Summary: what changed, as Glue's JSON summary counts it."""
        tables = {
            action: {"Count": count}
            for action, count in (
                ("ADD", self.created),
                ("UPDATE", self.updated),
                ("DELETE", self.deleted),
            )
            if count
        }
        partitions = {
            action: {"Count": count}
            for action, count in (
                ("ADD", self.partitions_added),
                ("UPDATE", self.partitions_updated),
            )
            if count
        }
        summary: dict[str, Any] = {}
        if tables:
            summary["TABLE"] = tables
        if partitions:
            summary["PARTITION"] = partitions
        return json.dumps(summary)


class Crawl:
    """One run of a crawler over its S3 targets."""

    def __init__(
        self,
        lake: Lake,
        catalog: Catalog,
        name: str,
        definition: Mapping[str, Any],
        check_stop: Callable[[], None],
        outcome: Outcome,
        *,
        classifiers: Sequence[CustomClassifier] = (),
        known_folders: frozenset[str] | None = None,
        before_file: Callable[[str], None] | None = None,
    ) -> None:
        self._lake = lake
        self._classifiers = classifiers
        """The crawler's custom classifiers, in its order, as they were when it started."""
        self._known = known_folders
        """Set for an incremental run (CRAWL_NEW_FOLDERS_ONLY after a first crawl): the
        folders earlier crawls walked, which this run does not read."""
        self._catalog = catalog
        self._before_file = before_file
        self._name = name
        self._definition = definition
        self._check_stop = check_stop
        self._outcome = outcome
        self._options = parse_options(definition.get("Configuration"))

    def run(self) -> None:
        database = self._definition.get("DatabaseName")
        if not database:
            raise InvalidInputException(
                f"Crawler {self._name} has no DatabaseName: UpdateCrawler it with the "
                "database its tables go in."
            )
        plans: list[TablePlan] = []
        roots: list[str] = []
        targets = self._definition["Targets"].get("S3Targets", [])
        if self._known is not None:
            new = [unit for target in targets for unit in self._scan(target)]
            self._check_stop()
            self._add_partitions(database, new)
            return
        for target in targets:
            units = self._scan(target)
            bucket, prefix = split_path(target["Path"])
            roots.append(f"s3://{bucket}/{prefix}")
            name = table_name(bucket, prefix)
            level = self._options.table_level
            if level is None:
                plans.extend(group_units(units, (), name, self._options.combine_compatible))
                continue
            # Table level counts folders from the bucket (level 1) down.
            depth = level - 1 - len(prefix.rstrip("/").split("/")) if prefix else level - 1
            if depth < 0:
                raise InvalidInputException(
                    f"Configuration Grouping.TableLevelConfiguration {level} is above the "
                    f"target {target['Path']}; give a level at or below the target's."
                )
            plans.extend(group_at_level(units, depth, name))
        self._check_stop()
        threshold = self._options.table_threshold
        if threshold is not None and len(plans) > threshold:
            for plan in plans:
                log.info("crawler %s: table detected at %s", self._name, plan.units[0].location)
            raise CrawlFailure(
                f"Table Threshold value = {threshold}, Tables detected - {len(plans)}. Raise "
                "CrawlerOutput.Tables.TableThreshold, or group more folders into one table "
                '(Grouping.TableGroupingPolicy "CombineCompatibleSchemas").'
            )
        self._write(database, plans, roots)

    # -- reading

    def _scan(self, target: Mapping[str, Any]) -> list[Unit]:
        bucket, prefix = split_path(target["Path"])
        exclusions = [glob_pattern(p) for p in target.get("Exclusions") or ()]
        sample = target.get("SampleSize")
        by_folder: dict[tuple[str, ...], list[Any]] = {}
        for info in self._lake.iter_objects(bucket, prefix):
            relative = info.key[len(prefix) :]
            if not relative or relative.endswith("/") or info.size == 0:
                continue  # folder markers and empty files hold no schema
            if any(pattern.fullmatch(relative) for pattern in exclusions):
                continue
            by_folder.setdefault(tuple(relative.split("/")[:-1]), []).append(info)
        units: list[Unit] = []
        for folder, objects in sorted(by_folder.items()):
            location = f"s3://{bucket}/{prefix}" + "".join(part + "/" for part in folder)
            self._outcome.folders.add(location)
            if self._known is not None and location in self._known:
                continue
            folder_units: dict[tuple[Any, ...], Unit] = {}
            for index, info in enumerate(objects):
                if sample is not None and index >= sample:
                    break
                found = self._classify(bucket, info.key, info.size)
                if found is None or found.classification == UNKNOWN:
                    continue
                unit = folder_units.get(found.format_key)
                if unit is None:
                    unit = folder_units[found.format_key] = Unit(bucket, prefix, folder, found, ())
                unit.columns = merge_fields(unit.columns, found.columns)
                unit.records += found.record_count
                unit.sampled_records += found.sampled_records
                unit.sampled_bytes += found.sampled_bytes
            if not folder_units:
                continue
            # Every object of the folder counts toward objectCount and sizeKey, sampled
            # or not; a folder of several formats credits its first.
            first = next(iter(folder_units.values()))
            first.objects = len(objects)
            first.size = sum(o.size for o in objects)
            units.extend(folder_units.values())
        return units

    def _classify(self, bucket: str, key: str, size: int) -> Classification | None:
        url = f"s3://{bucket}/{key}"
        if (hook := self._before_file) is not None:
            hook(url)
        self._check_stop()
        self._outcome.files_read += 1

        def read_range(start: int, end: int) -> bytes:
            with self._lake.get_object(bucket, key, byte_range=(start, end - 1)) as body:
                data: bytes = body.read()
                return data

        source = FileSource(size, read_range, name=key)
        try:
            found = self._classify_source(source)
        except UnreadableFile as error:
            log.warning("crawler %s skipped %s: %s", self._name, url, error)
            self._outcome.errors.append(f"{url}: {error}")
            return None
        for note in found.notes:
            log.warning("crawler %s: %s: %s", self._name, url, note)
            self._outcome.errors.append(f"{url}: {note}")
        return found

    def _classify_source(self, source: FileSource) -> Classification:
        """Custom classifiers first, in the crawler's order: certainty 1.0 wins at once;
        then the built-ins; with neither sure, the most certain custom result above 0.0."""
        custom = classify_custom(self._classifiers, source) if self._classifiers else None
        if custom is not None and custom.certainty >= 1.0:
            return custom
        found = classify(source)
        if found.classification == UNKNOWN and custom is not None:
            return custom
        return found

    # -- writing

    def _add_partitions(self, database: str, units: list[Unit]) -> None:
        """An incremental run: each new folder becomes a partition of the crawler's
        table it lies under, when its format and schema fit that table; no table is
        created or changed, and a folder that fits none is logged and left out."""
        tables: list[Table] = []
        token: str | None = None
        with contextlib.suppress(EntityNotFoundException):
            while True:
                page = self._catalog.get_tables(database, next_token=token)
                tables.extend(
                    t
                    for t in page.items
                    if t.partition_keys
                    and (t.parameters or {}).get("UPDATED_BY_CRAWLER") == self._name
                )
                token = page.next_token
                if token is None:
                    break
        plans: dict[tuple[str, tuple[str, ...]], TablePlan] = {}
        for unit in units:
            table = next((t for t in tables if _fits(t, unit)), None)
            if table is None:
                log.info(
                    "crawler %s: new folder %s fits none of its partitioned tables; an "
                    "incremental crawl adds no tables, so it is left out",
                    self._name,
                    unit.location,
                )
                continue
            keys = [k["Name"] for k in table.partition_keys]
            base = unit.folder[: len(unit.folder) - len(keys)]
            plan = plans.setdefault((table.name, base), TablePlan(table.name, base, [], keys))
            plan.units.append(unit)
        for plan in plans.values():
            self._write_partitions(database, plan.name, plan, update=False)

    def _write(self, database: str, plans: list[TablePlan], roots: list[str]) -> None:
        catalog = self._catalog
        try:
            catalog.get_database(database)
        except EntityNotFoundException:
            with contextlib.suppress(AlreadyExistsException):
                catalog.create_database({"Name": database})
        policy = self._definition.get("SchemaChangePolicy") or {}
        update = policy.get("UpdateBehavior", "UPDATE_IN_DATABASE") == "UPDATE_IN_DATABASE"
        prefix = self._definition.get("TablePrefix") or ""
        written: set[str] = set()
        for plan in plans:
            name = (prefix + plan.name).lower()
            if name in written:
                # Two folders under one name: Glue tells them apart with a hash suffix.
                digest = hashlib.sha256(plan.units[0].location.encode()).hexdigest()[:8]
                name = f"{name}_{digest}"
            written.add(name)
            self._write_table(database, name, plan, update)
        self._delete_missing(database, written, roots, policy)

    def _write_table(self, database: str, name: str, plan: TablePlan, update: bool) -> None:
        table_input = self._table_input(name, plan)
        try:
            existing = self._catalog.get_table(database, name)
        except EntityNotFoundException:
            self._catalog.create_table(database, table_input)
            self._outcome.created += 1
        else:
            if self._options.merge_new_columns and existing.storage_descriptor:
                # MergeNewColumns: keep the columns (and types) the table has, add new ones
                kept = list(existing.storage_descriptor.get("Columns", []))
                known = {c["Name"].lower() for c in kept}
                sd = table_input["StorageDescriptor"]
                added = [c for c in sd["Columns"] if c["Name"].lower() not in known]
                sd["Columns"] = kept + added
            current = {
                "StorageDescriptor": existing.storage_descriptor or {},
                "PartitionKeys": list(existing.partition_keys),
                "Parameters": dict(existing.parameters or {}),
            }
            if not _same_table(current, table_input):
                if update:
                    self._catalog.update_table(database, table_input)
                    self._outcome.updated += 1
                else:
                    log.info(
                        "crawler %s: table %s changed; LOG leaves it as it is", self._name, name
                    )
        if not plan.partition_keys:
            return
        self._write_partitions(database, name, plan, update)

    def _write_partitions(self, database: str, name: str, plan: TablePlan, update: bool) -> None:
        existing: dict[tuple[str, ...], Any] = {}
        token: str | None = None
        while True:
            page = self._catalog.get_partitions(database, name, next_token=token)
            existing.update({p.values: p for p in page.items})
            token = page.next_token
            if token is None:
                break
        new: list[PartitionInput] = []
        inherited = None
        if self._options.inherit_from_table:
            table_sd = self._catalog.get_table(database, name).storage_descriptor or {}
            inherited = list(table_sd.get("Columns", []))
        for unit in plan.units:
            partition = _partition_input(unit, plan, self._name)
            if inherited is not None:
                partition["StorageDescriptor"]["Columns"] = list(inherited)
            values = tuple(partition["Values"])
            if values not in existing:
                new.append(partition)
            elif update and _partition_changed(existing[values], partition):
                self._catalog.update_partition(database, name, list(values), partition)
                self._outcome.partitions_updated += 1
        for start in range(0, len(new), 100):
            failures = self._catalog.batch_create_partition(
                database, name, new[start : start + 100]
            )
            for failure in failures:
                log.warning(
                    "crawler %s: partition %s of %s: %s",
                    self._name,
                    list(failure.values),
                    name,
                    failure.error.message,
                )
            self._outcome.partitions_added += len(new[start : start + 100]) - len(failures)
        policy = self._definition.get("SchemaChangePolicy") or {}
        if policy.get("DeleteBehavior") == "DELETE_FROM_DATABASE":
            seen = {tuple(partition_values(u, plan)) for u in plan.units}
            gone = [list(v) for v in existing if v not in seen]
            for start in range(0, len(gone), 25):
                self._catalog.batch_delete_partition(database, name, gone[start : start + 25])

    def _delete_missing(
        self, database: str, written: set[str], roots: list[str], policy: Mapping[str, str]
    ) -> None:
        """Tables this crawler wrote before, under its targets, that it did not find now."""
        behavior = policy.get("DeleteBehavior", "DEPRECATE_IN_DATABASE")
        token: str | None = None
        while True:
            page = self._catalog.get_tables(database, next_token=token)
            for table in page.items:
                parameters = dict(table.parameters or {})
                location = (table.storage_descriptor or {}).get("Location", "")
                if (
                    table.name in written
                    or parameters.get("UPDATED_BY_CRAWLER") != self._name
                    or not any(location.startswith(root) for root in roots)
                ):
                    continue
                if behavior == "DELETE_FROM_DATABASE":
                    self._catalog.delete_table(database, table.name)
                    self._outcome.deleted += 1
                elif (
                    behavior == "DEPRECATE_IN_DATABASE"
                    and "DEPRECATED_BY_CRAWLER" not in parameters
                ):
                    parameters["DEPRECATED_BY_CRAWLER"] = "1"
                    table_input: TableInput = {
                        "Name": table.name,
                        "PartitionKeys": list(table.partition_keys),
                        "Parameters": parameters,
                        "TableType": table.table_type or "EXTERNAL_TABLE",
                    }
                    if table.storage_descriptor is not None:
                        table_input["StorageDescriptor"] = table.storage_descriptor
                    self._catalog.update_table(database, table_input)
                    self._outcome.updated += 1
                else:
                    log.info(
                        "crawler %s: table %s is gone from %s", self._name, table.name, location
                    )
            token = page.next_token
            if token is None:
                return

    def _table_input(self, name: str, plan: TablePlan) -> TableInput:
        columns: tuple[tuple[str, GlueType], ...] = ()
        for unit in plan.units:
            columns = merge_fields(columns, unit.columns)
        first = plan.units[0]
        parameters = _parameters(plan.units, self._name)
        location = first.location
        if plan.partition_keys:
            location = f"s3://{first.bucket}/{first.root}" + "".join(p + "/" for p in plan.base)
        return {
            "Name": name,
            "Owner": "owner",
            "Retention": 0,
            "TableType": "EXTERNAL_TABLE",
            "PartitionKeys": [{"Name": key, "Type": "string"} for key in plan.partition_keys],
            "StorageDescriptor": _storage(first.first, columns, location, parameters),
            "Parameters": parameters,
        }


# ---------------------------------------------------------------------- shapes


def _fits(table: Table, unit: Unit) -> bool:
    """Whether a new folder can be a partition of a table an earlier crawl wrote: below
    its location by as many folders as it has partition keys, in the same format, with
    a similar schema."""
    sd = table.storage_descriptor or {}
    location = sd.get("Location", "")
    if not location.endswith("/"):
        location += "/"
    if not unit.location.startswith(location):
        return False
    depth = unit.location[len(location) :].rstrip("/").count("/") + 1
    parameters = table.parameters or {}
    return (
        depth == len(table.partition_keys)
        and parameters.get("classification") == unit.first.classification
        and parameters.get("compressionType", "none") == unit.first.compression
        and similar_columns([[(c["Name"], None) for c in sd.get("Columns", [])], unit.columns])
    )


def _parameters(units: Sequence[Unit], crawler: str) -> dict[str, str]:
    first = units[0].first
    records = sum(u.records for u in units)
    sampled_records = sum(u.sampled_records for u in units)
    sampled_bytes = sum(u.sampled_bytes for u in units)
    parameters = {
        "classification": first.classification,
        "compressionType": first.compression,
        "typeOfData": "file",
        "recordCount": str(records),
        "averageRecordSize": str(sampled_bytes // sampled_records if sampled_records else 0),
        "objectCount": str(sum(u.objects for u in units)),
        "sizeKey": str(sum(u.size for u in units)),
        "UPDATED_BY_CRAWLER": crawler,
        "CrawlerSchemaDeserializerVersion": "1.0",
        "CrawlerSchemaSerializerVersion": "1.0",
    }
    if first.serde is not None:
        parameters.update(first.serde.table_parameters)
    if first.classification == "csv":
        parameters["delimiter"] = first.delimiter or ","
        parameters["columnsOrdered"] = "true"
        parameters["areColumnsQuoted"] = "true" if any(u.first.quoted for u in units) else "false"
        if first.header:
            parameters["skip.header.line.count"] = "1"
    return parameters


def _storage(
    found: Classification,
    columns: Sequence[tuple[str, GlueType]],
    location: str,
    parameters: Mapping[str, str],
) -> StorageDescriptor:
    if found.serde is not None:
        input_format, output_format = found.serde.input_format, found.serde.output_format
        serde = found.serde.library
        serde_parameters = dict(found.serde.parameters)
        if "paths" in serde_parameters:  # the JSON SerDe's columns, merged across files
            serde_parameters["paths"] = ",".join(name for name, _ in columns)
    else:
        input_format, output_format, serde = _FORMATS[found.classification]
        serde_parameters = {"serialization.format": "1"}
        if found.classification == "csv":
            serde_parameters = {"field.delim": found.delimiter or ","}
        elif found.classification == "json":
            serde_parameters = {"paths": ",".join(name for name, _ in columns)}
    return {
        "Columns": [{"Name": name, "Type": type_name(kind)} for name, kind in columns],
        "Location": location,
        "InputFormat": input_format,
        "OutputFormat": output_format,
        "Compressed": found.compression != "none",
        "NumberOfBuckets": -1,
        "SerdeInfo": {"SerializationLibrary": serde, "Parameters": serde_parameters},
        "BucketColumns": [],
        "SortColumns": [],
        "Parameters": dict(parameters),
        "StoredAsSubDirectories": False,
    }


def _partition_input(unit: Unit, plan: TablePlan, crawler: str) -> PartitionInput:
    parameters = _parameters([unit], crawler)
    return {
        "Values": partition_values(unit, plan),
        "StorageDescriptor": _storage(unit.first, unit.columns, unit.location, parameters),
        "Parameters": parameters,
    }


def _comparable(
    sd: Mapping[str, Any], keys: Iterable[Mapping[str, Any]], params: Mapping[str, Any]
) -> Any:
    return (
        [(c["Name"].lower(), c.get("Type")) for c in sd.get("Columns", [])],
        [(k["Name"].lower(), k.get("Type")) for k in keys],
        sd.get("Location"),
        sd.get("InputFormat"),
        sd.get("OutputFormat"),
        sd.get("SerdeInfo", {}),
        {k: v for k, v in params.items() if k != "DEPRECATED_BY_CRAWLER"},
    )


def _same_table(current: Mapping[str, Any], table_input: TableInput) -> bool:
    return bool(
        _comparable(current["StorageDescriptor"], current["PartitionKeys"], current["Parameters"])
        == _comparable(
            table_input.get("StorageDescriptor") or {},
            table_input.get("PartitionKeys") or [],
            table_input.get("Parameters") or {},
        )
    )


def _partition_changed(existing: Any, partition: PartitionInput) -> bool:
    return bool(
        _comparable(existing.storage_descriptor or {}, [], existing.parameters or {})
        != _comparable(
            partition.get("StorageDescriptor") or {}, [], partition.get("Parameters") or {}
        )
    )


def split_path(path: str, field_name: str = "Path") -> tuple[str, str]:
    """``s3://bucket/prefix`` as the bucket and a prefix ending in "/" (or empty)."""
    match = re.fullmatch(r"s3://([^/]+)/?(.*)", path)
    if match is None:
        raise InvalidInputException(
            f"{field_name} {path!r} is not an S3 path; give one such as s3://bucket/prefix/."
        )
    bucket, prefix = match.groups()
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


def glob_pattern(pattern: str) -> re.Pattern[str]:
    """An exclude pattern as Glue documents it: ``*`` within one folder, ``**`` across
    folders, ``?`` one character, ``[...]`` a class and ``{a,b}`` alternatives; matched
    against the whole key below the include path."""
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                # fnmatch's class syntax: "!" negates
                out.append(fnmatch.translate(pattern[index : end + 1])[4:-3])
                index = end + 1
                continue
        elif char == "{":
            end = pattern.find("}", index + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                choices = pattern[index + 1 : end].split(",")
                out.append("(?:" + "|".join(glob_pattern(c).pattern for c in choices) + ")")
                index = end + 1
                continue
        else:
            out.append(re.escape(char))
        index += 1
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error as exc:
        raise InvalidInputException(
            f"Exclusions pattern {pattern!r} is not a valid glob ({exc}); give one such "
            "as **.tmp or logs/*."
        ) from None
