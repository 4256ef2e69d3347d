"""How a crawl groups folders into tables: partitions of one table, or tables of their own.

Each folder's files of one format are a :class:`Unit`. Units below a table root whose
formats agree and whose schemas are similar (each shares more than 70% of the union of
their columns: Glue's "partition threshold") become partitions of one table; ``k=v``
folders name their key, others are ``partition_0``, ``partition_1``... Dissimilar units
become tables of their own, named after their folder. A crawler's ``Configuration``
(:class:`Options`) can combine compatible schemas regardless, or fix the table level.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fogbank.catalog.classifiers import Classification, GlueType
from fogbank.core.errors import InvalidInputException

# Glue's "partition threshold": folders are partitions of one table when each shares
# more than 70% of the union of their columns.
SIMILARITY_THRESHOLD = 0.7


@dataclass
class Unit:
    """The files of one format in one folder: a table, or a partition of one."""

    bucket: str
    root: str
    """The target's prefix, ending in "/" (or empty for a whole bucket)."""
    folder: tuple[str, ...]
    """Folder names below the target's prefix."""
    first: Classification
    columns: tuple[tuple[str, GlueType], ...]
    records: int = 0
    sampled_records: int = 0
    sampled_bytes: int = 0
    objects: int = 0
    size: int = 0

    @property
    def location(self) -> str:
        suffix = "".join(part + "/" for part in self.folder)
        return f"s3://{self.bucket}/{self.root}{suffix}"


@dataclass
class TablePlan:
    name: str
    base: tuple[str, ...]
    units: list[Unit]
    partition_keys: list[str]


@dataclass(frozen=True)
class Options:
    """What a crawler's Configuration JSON asks of its output."""

    merge_new_columns: bool = False
    """CrawlerOutput.Tables.AddOrUpdateBehavior MergeNewColumns: only add columns."""
    inherit_from_table: bool = False
    """CrawlerOutput.Partitions.AddOrUpdateBehavior InheritFromTable."""
    combine_compatible: bool = False
    """Grouping.TableGroupingPolicy CombineCompatibleSchemas: ignore schema similarity."""
    table_level: int | None = None
    table_threshold: int | None = None
    """CrawlerOutput.Tables.TableThreshold: a crawl finding more tables fails."""
    """Grouping.TableLevelConfiguration: the folder depth of tables, the bucket being 1."""


def parse_options(configuration: str | None) -> Options:
    def members(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    parsed = members(json.loads(configuration) if configuration else {})
    output = members(parsed.get("CrawlerOutput"))
    grouping = members(parsed.get("Grouping"))
    level = grouping.get("TableLevelConfiguration")
    if level is not None and (not isinstance(level, int) or isinstance(level, bool) or level < 1):
        raise InvalidInputException(
            f"Configuration Grouping.TableLevelConfiguration must be a whole number from 1 "
            f"(the bucket) down; got {level!r}."
        )
    threshold = members(output.get("Tables")).get("TableThreshold")
    if threshold is not None and (
        not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1
    ):
        raise InvalidInputException(
            "Configuration CrawlerOutput.Tables.TableThreshold must be a whole number greater "
            f"than 0; got {threshold!r}."
        )
    return Options(
        merge_new_columns=members(output.get("Tables")).get("AddOrUpdateBehavior")
        == "MergeNewColumns",
        inherit_from_table=members(output.get("Partitions")).get("AddOrUpdateBehavior")
        == "InheritFromTable",
        combine_compatible=grouping.get("TableGroupingPolicy") == "CombineCompatibleSchemas",
        table_level=level,
        table_threshold=threshold,
    )


def group_at_level(units: list[Unit], depth: int, name: str) -> list[TablePlan]:
    """Tables rooted ``depth`` folders below the target, whatever their schemas; units
    above that level, or whose formats disagree, are grouped as without a level."""
    by_base: dict[tuple[str, ...], list[Unit]] = {}
    for unit in units:
        by_base.setdefault(unit.folder[:depth], []).append(unit)
    plans: list[TablePlan] = []
    for base, group in sorted(by_base.items()):
        table = sanitize(base[-1]) if base else name
        keys = partition_keys(group, base, combine=True) if len(base) == depth else None
        if keys is None:
            plans.extend(group_units(group, base, table, True))
        else:
            plans.append(TablePlan(table, base, group, keys))
    return plans


def group_units(
    units: list[Unit], base: tuple[str, ...], name: str, combine: bool
) -> list[TablePlan]:
    """Tables for the units below ``base``: one partitioned table when they agree, else
    a table for the files directly in ``base`` and the same question for each subfolder."""
    if not units:
        return []
    keys = partition_keys(units, base, combine=combine)
    if keys is not None:
        return [TablePlan(name, base, units, keys)]
    plans: list[TablePlan] = []
    direct = [u for u in units if len(u.folder) == len(base)]
    for unit in direct:
        plans.append(TablePlan(name, base, [unit], []))
    children: dict[str, list[Unit]] = {}
    for unit in units:
        if len(unit.folder) > len(base):
            children.setdefault(unit.folder[len(base)], []).append(unit)
    for child, below in sorted(children.items()):
        plans.extend(group_units(below, (*base, child), sanitize(child), combine))
    return plans


def partition_keys(units: list[Unit], base: tuple[str, ...], *, combine: bool) -> list[str] | None:
    """The partition keys when ``units`` form one table rooted at ``base``, else None."""
    depths = {len(u.folder) for u in units}
    if len(depths) != 1 or len({u.first.format_key for u in units}) != 1:
        return None
    if depths == {len(base)}:
        return [] if len(units) == 1 else None
    if not combine and not similar(units):
        return None
    keys = []
    for level in range(len(base), depths.pop()):
        parts = [u.folder[level] for u in units]
        names = {p.split("=", 1)[0] for p in parts if "=" in p}
        if len(names) == 1 and all("=" in p for p in parts):
            keys.append(sanitize(names.pop()))
        else:
            keys.append(f"partition_{level - len(base)}")
    return keys


def similar(units: list[Unit]) -> bool:
    return similar_columns([unit.columns for unit in units])


def similar_columns(schemas: Sequence[Sequence[tuple[str, Any]]]) -> bool:
    """Whether each schema holds more than the partition threshold of their union."""
    names = [{name.lower() for name, _ in columns} for columns in schemas]
    union = set().union(*names)
    if not union:
        return True
    return all(len(held) / len(union) > SIMILARITY_THRESHOLD for held in names)


def partition_values(unit: Unit, plan: TablePlan) -> list[str]:
    return [
        part.split("=", 1)[1] if "=" in part and not key.startswith("partition_") else part
        for part, key in zip(unit.folder[len(plan.base) :], plan.partition_keys, strict=True)
    ]


def sanitize(name: str) -> str:
    """A folder name as a Glue table or column name: lowercase, and characters other than
    letters, digits and underscore replaced by underscore."""
    cleaned = re.sub(r"[^a-z0-9_]", "_", name.lower())
    return cleaned or "_"


def table_name(bucket: str, prefix: str) -> str:
    last = prefix.rstrip("/").rsplit("/", 1)[-1] if prefix else bucket
    return sanitize(last)
