"""Catalog tables as DuckDB views: what a query reads, where its files are, and how.

Athena reads a Glue table's files under its ``Location`` (or each partition's) with the
reader its SerDe names. Here each table a query references becomes a view
``"<database>"."<table>"`` on the execution's DuckDB connection, over the lake's own
files, read in place: the table's objects are linked, by symbolic link, into a folder
tree of the execution's scratch space laid out as Hive lays out partitions
(``k=v/k2=v2/<file>``), so that DuckDB's ``hive_partitioning`` turns the folder names
into the partition columns and prunes on them: a ``WHERE`` on a partition key never
opens the other partitions' files, and DuckDB's own byte counters show it.

Readers by SerDe: Parquet (``read_parquet``), JSON lines (``read_json``), delimited text
(``read_csv``: LazySimpleSerDe's delimiter and no quoting; OpenCSVSerde's separator and
quote), ORC (pyarrow's dataset, scanned by DuckDB) and Avro (fastavro, read whole).
Text columns are read as text and converted with ``TRY_CAST``, as Hive's SerDes turn a
value that does not parse into NULL rather than failing the query.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fogbank.catalog.engine import Catalog
from fogbank.catalog.model import Table
from fogbank.core.errors import EntityNotFoundException
from fogbank.lake.engine import Lake
from fogbank.lake.names import parse_location
from fogbank.query.errors import QueryFailed
from fogbank.query.types import hive_to_duckdb_type

_PARQUET = ("parquet",)
_ORC = ("orc",)
_AVRO = ("avro",)
_JSON = ("jsonserde", "json")
_OPEN_CSV = ("opencsvserde",)
_LAZY = ("lazysimpleserde",)
_GROK = ("grokserde",)
_TEXT_SUFFIXES = {"gzip": ".gz", "bzip2": ".bz2", "zstd": ".zst"}


@dataclass
class TableSource:
    """How one table is read by one execution."""

    database: str
    name: str
    view_sql: str
    """``CREATE VIEW "<schema>"."t" AS ...`` over the linked files."""
    columns: dict[str, str] = field(default_factory=dict)
    """The view's columns and their DuckDB types, from the table's Glue types."""
    arrow: Any = None
    """An Arrow dataset or table to register before the view (ORC, Avro), else None."""
    arrow_name: str = ""
    arrow_bytes: int = 0
    """Bytes of the files read through Arrow, which DuckDB's counters do not see."""
    files: int = 0


@dataclass
class _Listing:
    links: list[tuple[Path, Path]] = field(default_factory=list)
    """(link, target) pairs."""
    size: int = 0


def table_source(
    catalog: Catalog,
    lake: Lake,
    scratch: Path,
    database: str,
    name: str,
    *,
    union_by_name: bool = False,
    view_schema: str | None = None,
    table: Table | None = None,
) -> TableSource:
    """The view that reads ``database.name``; QueryFailed when there is no such table or
    fogbank cannot read its format.

    Parquet files are matched to the table's columns by name. With ``union_by_name``
    every file's footer is read up front, so that a column some files lack reads as
    NULL; without it only the first file's is, and such a file fails the scan with a
    schema mismatch (the caller then tries again with it). ``table`` is the catalog's
    table when the caller has read it already. A view is the caller's to expand
    (:mod:`fogbank.query.views`)."""
    if table is None:
        try:
            table = catalog.get_table(database, name)
        except EntityNotFoundException:
            raise QueryFailed(
                "TABLE_NOT_FOUND", f"Table 'awsdatacatalog.{database}.{name}' does not exist"
            ) from None
    sd: Mapping[str, Any] = table.storage_descriptor or {}
    location = sd.get("Location") or ""
    if not location.startswith("s3://"):
        raise QueryFailed(
            "HIVE_METASTORE_ERROR",
            f"Table {database}.{name} has no S3 Location; give it one such as s3://bucket/prefix/",
        )
    reader = _reader(table)
    root = scratch / "tables" / database / name
    listing = _link(catalog, lake, table, root)
    for link, target in listing.links:
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(target)
    columns = [(c["Name"].lower(), c.get("Type") or "string") for c in sd.get("Columns", [])]
    keys = [(k["Name"].lower(), k.get("Type") or "string") for k in table.partition_keys]
    schema = view_schema or database
    view = f"{_ident(schema)}.{_ident(name)}"
    source = TableSource(
        database,
        name,
        "",
        columns={c: hive_to_duckdb_type(t) for c, t in [*columns, *keys]},
        files=len(listing.links),
    )
    if not listing.links:
        # no files: an empty result with the table's columns
        select = ", ".join(
            f"CAST(NULL AS {hive_to_duckdb_type(t)}) AS {_ident(c)}" for c, t in columns + keys
        )
        source.view_sql = f"CREATE VIEW {view} AS SELECT {select} WHERE false"
        return source
    files = _literal([str(link) for link, _ in listing.links])
    hive = (
        f", hive_partitioning = true, hive_types = {_struct_literal(keys)}"
        if keys
        else ", hive_partitioning = false"
    )
    parameters = {**(sd.get("SerdeInfo") or {}).get("Parameters", {}), **(table.parameters or {})}
    if reader == "parquet":
        union = ", union_by_name = true" if union_by_name else ""
        scan = f"read_parquet({files}{union}{hive})"
        source.view_sql = _typed_view(view, scan, columns, keys, cast=False)
    elif reader == "json":
        scan = (
            f"read_json({files}, format = 'newline_delimited', "
            f"columns = {_struct_literal(columns)}{hive})"
        )
        source.view_sql = _typed_view(view, scan, columns, keys, cast=False)
    elif reader in ("lazy", "opencsv"):
        scan = _csv_scan(files, columns, parameters, reader, hive)
        source.view_sql = _typed_view(view, scan, columns, keys, cast=True)
    elif reader == "grok":
        source.arrow, source.arrow_bytes = _grok(listing, columns, keys, parameters)
        source.arrow_name = f"arrow_{schema}_{name}"
        source.view_sql = _typed_view(view, _ident(source.arrow_name), columns, keys, cast=True)
    else:
        source.arrow, source.arrow_bytes = _arrow(reader, listing, keys)
        source.arrow_name = f"arrow_{schema}_{name}"
        source.view_sql = _typed_view(view, _ident(source.arrow_name), columns, keys, cast=False)
    return source


def reads_paths(table: Table) -> bool:
    """Whether the table's view reads its files by path (Parquet, JSON, delimited
    text), so that any connection of the database can use it
    (:mod:`fogbank.query.shared`); ORC, Avro and Grok go through Arrow objects
    registered on one connection."""
    try:
        return _reader(table) in ("parquet", "json", "lazy", "opencsv")
    except QueryFailed:
        return False


def places(catalog: Catalog, table: Table) -> tuple[tuple[tuple[str, ...], str], ...]:
    """Where a table's files are: ``((), Location)``, or each partition's values and
    Location."""
    if not table.partition_keys:
        return (((), (table.storage_descriptor or {}).get("Location", "")),)
    return tuple(
        (tuple(p.values), (p.storage_descriptor or {}).get("Location", ""))
        for p in _partitions(catalog, table)
    )


def fingerprint(catalog: Catalog, lake: Lake, table: Table, *, union_by_name: bool) -> str:
    """What a table's view reads, as a digest: its Glue definition (VersionId and update
    time), and every file's link name and the lake blob it points to. Blobs are never
    rewritten, so the same digest means the same bytes."""
    listing = _link(catalog, lake, table, Path())
    digest = hashlib.sha256(
        json.dumps(
            [
                table.database_name,
                table.name,
                table.version_id,
                table.update_time.isoformat(),
                union_by_name,
            ]
        ).encode()
    )
    for link, target in listing.links:
        digest.update(f"{link}\0{target}\n".encode())
    return digest.hexdigest()


def _reader(table: Table) -> str:
    sd: Mapping[str, Any] = table.storage_descriptor or {}
    serde = ((sd.get("SerdeInfo") or {}).get("SerializationLibrary") or "").lower()
    input_format = (sd.get("InputFormat") or "").lower()
    classification = ((table.parameters or {}).get("classification") or "").lower()
    if any(k in serde or k in input_format for k in _PARQUET) or classification == "parquet":
        return "parquet"
    if any(k in serde or k in input_format for k in _ORC) or classification == "orc":
        return "orc"
    if any(k in serde or k in input_format for k in _AVRO) or classification == "avro":
        return "avro"
    if any(k in serde for k in _JSON) or classification == "json":
        return "json"
    if any(k in serde for k in _OPEN_CSV):
        return "opencsv"
    if any(k in serde for k in _GROK):
        return "grok"
    if any(k in serde for k in _LAZY) or classification in ("csv", "tsv", ""):
        return "lazy"
    raise QueryFailed(
        "NOT_SUPPORTED",
        f"Table {table.database_name}.{table.name} is read with "
        f"{serde or input_format or classification}, which fogbank's Athena cannot read yet; "
        "it reads Parquet, ORC, Avro, JSON and delimited text",
    )


def _link(catalog: Catalog, lake: Lake, table: Table, root: Path) -> _Listing:
    """Every file of the table (or of its partitions), as links under ``root``."""
    listing = _Listing()
    suffix = _TEXT_SUFFIXES.get((table.parameters or {}).get("compressionType", ""), "")
    if not table.partition_keys:
        location = (table.storage_descriptor or {}).get("Location", "")
        _add(lake, location, root, listing, suffix)
        return listing
    keys = [k["Name"].lower() for k in table.partition_keys]
    for partition in _partitions(catalog, table):
        location = (partition.storage_descriptor or {}).get("Location", "")
        folder = root.joinpath(
            *(
                f"{key}={quote(value, safe='')}"
                for key, value in zip(keys, partition.values, strict=True)
            )
        )
        _add(lake, location, folder, listing, suffix)
    return listing


def _partitions(catalog: Catalog, table: Table) -> Iterator[Any]:
    token: str | None = None
    while True:
        page = catalog.get_partitions(table.database_name, table.name, next_token=token)
        yield from page.items
        token = page.next_token
        if token is None:
            return


def _add(lake: Lake, location: str, folder: Path, listing: _Listing, suffix: str) -> None:
    if not location.startswith("s3://"):
        return
    bucket, prefix = parse_location(location)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    try:
        objects = list(lake.iter_objects(bucket, prefix))
    except Exception:  # a partition whose bucket is gone reads as empty, as on Athena
        return
    for index, info in enumerate(objects):
        base = info.key.rsplit("/", 1)[-1]
        # Hive, and so Athena, skip files whose names start with _ or . (markers, CRCs)
        if info.size == 0 or not base or base.startswith(("_", ".")) or info.key.endswith("/"):
            continue
        name = f"{index:06d}-{base}"
        if suffix and not name.endswith(suffix):
            name += suffix
        listing.links.append((folder / name, lake.local_path(bucket, info.key)))
        listing.size += info.size


def _csv_scan(
    files: str,
    columns: Sequence[tuple[str, str]],
    parameters: Mapping[str, str],
    reader: str,
    hive: str,
) -> str:
    if reader == "opencsv":
        delimiter = parameters.get("separatorChar", ",")
        quote_char = parameters.get("quoteChar", '"')
        escape = parameters.get("escapeChar", "\\")
    else:
        delimiter = (
            parameters.get("field.delim") or parameters.get("serialization.format") or "\x01"
        )
        if delimiter.isdigit():  # serialization.format "1" is Hive's code for ^A
            delimiter = chr(int(delimiter))
        quote_char, escape = "", ""
    skip = int(parameters.get("skip.header.line.count", "0") or 0)
    text_columns = _struct_literal([(name, "string") for name, _ in columns])
    return (
        f"read_csv({files}, delim = {_literal(delimiter)}, quote = {_literal(quote_char)}, "
        f"escape = {_literal(escape)}, header = false, skip = {skip}, "
        f"columns = {text_columns}, auto_detect = false, null_padding = true, "
        f"nullstr = '\\N', strict_mode = false{hive})"
    )


def _typed_view(
    view: str,
    scan: str,
    columns: Sequence[tuple[str, str]],
    keys: Sequence[tuple[str, str]],
    *,
    cast: bool,
) -> str:
    selected = []
    for name, hive_type in columns:
        kind = hive_to_duckdb_type(hive_type)
        if cast and kind != "VARCHAR":
            selected.append(f"TRY_CAST({_ident(name)} AS {kind}) AS {_ident(name)}")
        else:
            selected.append(_ident(name))
    selected.extend(_ident(name) for name, _ in keys)
    return f"CREATE VIEW {view} AS SELECT {', '.join(selected) or '*'} FROM {scan}"


def _arrow(reader: str, listing: _Listing, keys: Sequence[tuple[str, str]]) -> tuple[Any, int]:
    """ORC as a pyarrow dataset (DuckDB scans it with projection and filter pushdown);
    Avro read whole with fastavro into an Arrow table."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    paths = [str(link) for link, _ in listing.links]
    if reader == "orc":
        partitioning = (
            ds.partitioning(pa.schema([(k, pa.string()) for k, _ in keys]), flavor="hive")
            if keys
            else None
        )
        return ds.dataset(paths, format="orc", partitioning=partitioning), listing.size
    import fastavro

    records: list[dict[str, Any]] = []
    for link, _ in listing.links:
        values = _partition_values(link, keys)
        with link.open("rb") as handle:
            for record in fastavro.reader(handle):
                if isinstance(record, dict):
                    records.append({**record, **values})
    return pa.Table.from_pylist(records), listing.size


def _grok(
    listing: _Listing,
    columns: Sequence[tuple[str, str]],
    keys: Sequence[tuple[str, str]],
    parameters: Mapping[str, str],
) -> tuple[Any, int]:
    """GrokSerDe: each line matched against the table's ``input.format`` pattern (with
    its ``input.grokCustomPatterns``), its named fields as text columns; a line that
    does not match is a row of NULLs, as the SerDe reads it."""
    import gzip

    import pyarrow as pa

    from fogbank.catalog.custom import grok_fields

    pattern = parameters.get("input.format") or ""
    if not pattern:
        raise QueryFailed("HIVE_METASTORE_ERROR", "A GrokSerDe table needs input.format")
    compiled, fields = grok_fields(pattern, parameters.get("input.grokCustomPatterns", ""))
    names = [name for name, _ in columns]
    values: dict[str, list[str | None]] = {name: [] for name in names}
    values.update({key: [] for key, _ in keys})
    for link, _ in listing.links:
        partition = _partition_values(link, keys)
        opener = gzip.open if link.name.endswith(".gz") else open
        with opener(link, "rt", encoding="utf-8", errors="replace") as lines:
            for line in lines:
                text = line.rstrip("\r\n")
                if not text:
                    continue
                match = compiled.match(text)
                found = match.groupdict() if match else {}
                for index, name in enumerate(names):
                    field = fields[index] if index < len(fields) else name
                    values[name].append(found.get(field))
                for key, _ in keys:
                    values[key].append(partition.get(key))
    return pa.table({k: pa.array(v, pa.string()) for k, v in values.items()}), listing.size


def _partition_values(link: Path, keys: Sequence[tuple[str, str]]) -> dict[str, str]:
    from urllib.parse import unquote

    found = {}
    for part in link.parts:
        key, sep, value = part.partition("=")
        if sep and key in {k for k, _ in keys}:
            found[key] = unquote(value)
    return found


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str | Sequence[str]) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return "[" + ", ".join(_literal(v) for v in value) + "]"


def _struct_literal(columns: Sequence[tuple[str, str]]) -> str:
    return (
        "{"
        + ", ".join(
            f"{_literal(name)}: {_literal(hive_to_duckdb_type(kind))}" for name, kind in columns
        )
        + "}"
    )
