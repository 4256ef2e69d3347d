"""The warehouse standing in for Amazon Redshift: one DuckDB database file per cluster
database, and Redshift's ``COPY ... FROM '<manifest>' MANIFEST <options>`` into its tables.

A Redshift destination's ClusterJDBCURL (``jdbc:redshift://<cluster>.<...>.redshift.
amazonaws.com:5439/<database>``) names ``<home>/warehouse/<cluster>/<database>.duckdb``
(:func:`warehouse_path`). As on Redshift, the user creates the table first
(``fogbank firehose warehouse URL "CREATE TABLE ..."`` or :meth:`Warehouse.execute`);
a COPY into a table that is not there fails.

:class:`CopyOptions` reads a CopyCommand's CopyOptions string. sqlglot's Redshift
dialect parses COPY, but pairs each bare flag with the keyword after it (``GZIP
IGNOREHEADER 1`` becomes GZIP=IGNOREHEADER), so the options are tokenised here, each
keyword with its own arity. Taken: ``JSON 'auto'`` / ``'auto ignorecase'``, ``CSV``
(``QUOTE``), ``DELIMITER``, ``NULL AS``, ``GZIP``, ``IGNOREHEADER``, ``TIMEFORMAT``,
``DATEFORMAT``, ``EMPTYASNULL``, ``BLANKSASNULL``, ``TRIMBLANKS``, ``FILLRECORD``,
``TRUNCATECOLUMNS``, ``MAXERROR``, ``FORMAT AS``, and ``COMPUPDATE`` / ``STATUPDATE``
(no-ops: DuckDB keeps no column encodings or statistics to update). Any other option
is refused by name when the stream is created.

A COPY splits each staged object into records in Python (Redshift's rules: concatenated
JSON objects; CSV or delimited lines, IGNOREHEADER per file) and lets DuckDB turn the text
into the table's column types (``TRY_CAST``, ``strptime`` for TIMEFORMAT/DATEFORMAT). A
record that does not fit counts against MAXERROR (default 0); past it the COPY fails and
loads nothing. DuckDB keeps no ``VARCHAR(n)`` length, so no value is ever too long and
TRUNCATECOLUMNS changes nothing.

Exactly once per manifest: the rows and a row of ``fogbank.loaded_manifests`` (the
manifest's URL is its key) are written in one DuckDB transaction, and a manifest already
there is not loaded again, so a COPY repeated after a crash loads nothing twice. Records
skipped under MAXERROR go to ``fogbank.load_errors`` (Redshift's STL_LOAD_ERRORS), in the
same transaction.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fogbank.core.errors import InvalidArgumentException

if TYPE_CHECKING:
    import duckdb

# botocore's ClusterJDBCURL pattern, with the parts fogbank reads named.
JDBC_URL = re.compile(
    r"jdbc:(?:redshift|postgresql)://(?P<host>((?!-)[A-Za-z0-9-]{1,63}(?<!-)\.)+"
    r"(redshift(-serverless)?)\.([a-zA-Z0-9\.\-]+)):(?P<port>\d{1,5})/(?P<database>[a-zA-Z0-9_$-]+)"
)
_IDENTIFIER = re.compile(r'^(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+")$')
_TOKEN = re.compile(r"\s*(?:'((?:[^'\\]|\\.|'')*)'|([^\s';]+)|(;))")
_LOCK_WAIT_SECONDS = 10.0
_STRING_TYPES = ("VARCHAR", "CHAR", "BPCHAR", "TEXT", "STRING")
_FLAGS = (
    "GZIP",
    "EMPTYASNULL",
    "BLANKSASNULL",
    "TRIMBLANKS",
    "FILLRECORD",
    "TRUNCATECOLUMNS",
    "MANIFEST",
)
_NO_OPS = ("COMPUPDATE", "STATUPDATE")
_AUTO_TIMESTAMPS = (
    "%Y/%m/%d %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%Y%m%d %H:%M:%S",
    "%d %b %Y %H:%M:%S",
)
_AUTO_DATES = ("%Y/%m/%d", "%m/%d/%Y", "%Y%m%d", "%d %b %Y", "%b %d %Y")
# Redshift's datetime format elements, longest first, as strptime's.
_DATETIME_PARTS = (
    ("YYYY", "%Y"),
    ("MONTH", "%B"),
    ("HH24", "%H"),
    ("HH12", "%I"),
    ("MON", "%b"),
    ("YY", "%y"),
    ("MM", "%m"),
    ("DD", "%d"),
    ("HH", "%H"),
    ("MI", "%M"),
    ("SS", "%S"),
    ("AM", "%p"),
    ("PM", "%p"),
)
LOADED_TABLE = "fogbank.loaded_manifests"
ERRORS_TABLE = "fogbank.load_errors"
_BOOKKEEPING = f"""
CREATE SCHEMA IF NOT EXISTS fogbank;
CREATE TABLE IF NOT EXISTS {LOADED_TABLE} (
    manifest VARCHAR PRIMARY KEY,
    table_name VARCHAR NOT NULL,
    rows_loaded BIGINT NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS {ERRORS_TABLE} (
    manifest VARCHAR NOT NULL,
    filename VARCHAR NOT NULL,
    line_number BIGINT NOT NULL,
    colname VARCHAR,
    raw_field_value VARCHAR,
    raw_line VARCHAR,
    err_reason VARCHAR NOT NULL,
    starttime TIMESTAMP NOT NULL
);
"""


class CopyFailed(Exception):
    """A COPY that loaded nothing, in Redshift's words; Firehose retries it."""


@dataclass(frozen=True)
class Cluster:
    """What a ClusterJDBCURL names."""

    cluster: str
    """The cluster identifier (or serverless workgroup): the host's first label."""
    database: str
    port: int


def parse_jdbc_url(url: str) -> Cluster:
    """The cluster and database of ``jdbc:redshift://<cluster>.<...>.redshift.amazonaws.com
    :<port>/<database>``; InvalidArgument otherwise."""
    match = JDBC_URL.fullmatch(url)
    if match is None:
        raise InvalidArgumentException(
            f"ClusterJDBCURL {url!r} is not a Redshift JDBC URL: it must look like "
            "jdbc:redshift://<cluster>.<id>.<region>.redshift.amazonaws.com:5439/<database>."
        )
    host = match.group("host").lower()
    return Cluster(host.split(".", 1)[0], match.group("database").lower(), int(match["port"]))


def warehouse_path(root: Path, url: str) -> Path:
    """``<root>/<cluster>/<database>.duckdb`` for a ClusterJDBCURL."""
    cluster = parse_jdbc_url(url)
    return root / cluster.cluster / f"{cluster.database}.duckdb"


# ---------------------------------------------------------------------------- options


@dataclass(frozen=True)
class CopyOptions:
    """A CopyCommand's CopyOptions, read once."""

    text: str = ""
    format: str = "TEXT"
    """TEXT (delimited, Redshift's default), CSV or JSON."""
    json_ignorecase: bool = False
    delimiter: str | None = None
    quote: str = '"'
    null_as: str | None = None
    gzip: bool = False
    ignore_header: int = 0
    time_format: str | None = None
    date_format: str | None = None
    empty_as_null: bool = False
    blanks_as_null: bool = False
    trim_blanks: bool = False
    fill_record: bool = False
    truncate_columns: bool = False
    max_error: int = 0

    @property
    def field_delimiter(self) -> str:
        if self.delimiter is not None:
            return self.delimiter
        return "," if self.format == "CSV" else "|"

    @property
    def null_string(self) -> str | None:
        """NULL AS, else Redshift's default for delimited text, ``\\N``."""
        if self.null_as is not None:
            return self.null_as
        return "\\N" if self.format == "TEXT" else None


def parse_copy_options(text: str | None) -> CopyOptions:
    """CopyOptions as Redshift's COPY reads them; an option fogbank does not implement,
    or one without its argument, is InvalidArgument naming it."""
    tokens = _tokens(text or "")
    found: dict[str, Any] = {"text": text or ""}
    seen: set[str] = set()
    position = 0

    def argument(option: str, quoted: bool) -> str:
        nonlocal position
        if position < len(tokens) and tokens[position] == ("word", "AS"):
            position += 1
        if position >= len(tokens) or (tokens[position][0] == "string") != quoted:
            shape = "a quoted value" if quoted else "a number"
            raise InvalidArgumentException(
                f"CopyOptions: {option} needs {shape} after it (as in {_EXAMPLES[option]})."
            )
        value = tokens[position][1]
        position += 1
        return value

    while position < len(tokens):
        kind, value = tokens[position]
        position += 1
        if kind == "string":
            raise InvalidArgumentException(
                f"CopyOptions: the value '{value}' follows no option that takes one."
            )
        option = value.upper()
        if option in seen and option != "MANIFEST":
            raise InvalidArgumentException(f"CopyOptions name {option} twice; give it once.")
        seen.add(option)
        if option == "FORMAT":
            if position < len(tokens) and tokens[position] == ("word", "AS"):
                position += 1
            seen.discard("FORMAT")
        elif option == "JSON":
            spec = argument("JSON", quoted=True).strip().lower()
            if spec not in ("auto", "auto ignorecase"):
                raise InvalidArgumentException(
                    f"CopyOptions: JSON '{spec}' is {_NOT_YET}; use JSON 'auto' or "
                    "JSON 'auto ignorecase' (keys matched to column names)."
                )
            found["format"] = "JSON"
            found["json_ignorecase"] = spec == "auto ignorecase"
        elif option == "CSV":
            found["format"] = "CSV"
        elif option in ("DELIMITER", "QUOTE"):
            character = _unescape(argument(option, quoted=True))
            if len(character) != 1:
                raise InvalidArgumentException(
                    f"CopyOptions: {option} takes one character; got {character!r}."
                )
            found["delimiter" if option == "DELIMITER" else "quote"] = character
        elif option == "NULL":
            found["null_as"] = _unescape(argument("NULL", quoted=True))
        elif option in ("IGNOREHEADER", "MAXERROR"):
            number = argument(option, quoted=False)
            if not number.isdigit():
                raise InvalidArgumentException(
                    f"CopyOptions: {option} takes a whole number; got {number!r}."
                )
            found["ignore_header" if option == "IGNOREHEADER" else "max_error"] = int(number)
        elif option in ("TIMEFORMAT", "DATEFORMAT"):
            spec = argument(option, quoted=True)
            _strptime_format(spec, option)  # checked now, used at each COPY
            found["time_format" if option == "TIMEFORMAT" else "date_format"] = spec
        elif option in _FLAGS:
            attribute = _FLAG_FIELDS.get(option)
            if attribute is not None:
                found[attribute] = True
        elif option in _NO_OPS:
            if position < len(tokens) and tokens[position][1].upper() in _SWITCHES:
                position += 1
        else:
            raise InvalidArgumentException(
                f"CopyOptions: {option} is {_NOT_YET}. fogbank's COPY takes "
                + ", ".join(_TAKEN)
                + "; remove the option or use one of these."
            )
    options = CopyOptions(**found)
    if "JSON" in seen and ({"CSV", "DELIMITER", "QUOTE", "IGNOREHEADER"} & seen):
        clash = sorted({"CSV", "DELIMITER", "QUOTE", "IGNOREHEADER"} & seen)
        raise InvalidArgumentException(
            f"CopyOptions: JSON cannot be combined with {', '.join(clash)}: JSON data has "
            "no delimiters or header lines."
        )
    if "QUOTE" in seen and options.format != "CSV":
        raise InvalidArgumentException("CopyOptions: QUOTE is only taken with CSV; add CSV.")
    return options


_NOT_YET = "not supported by fogbank yet"
_SWITCHES = ("ON", "OFF", "TRUE", "FALSE", "PRESET")
_FLAG_FIELDS = {
    "GZIP": "gzip",
    "EMPTYASNULL": "empty_as_null",
    "BLANKSASNULL": "blanks_as_null",
    "TRIMBLANKS": "trim_blanks",
    "FILLRECORD": "fill_record",
    "TRUNCATECOLUMNS": "truncate_columns",
}
_TAKEN = (
    "JSON 'auto' / 'auto ignorecase'",
    "CSV",
    "QUOTE",
    "DELIMITER",
    "NULL AS",
    "GZIP",
    "IGNOREHEADER",
    "TIMEFORMAT",
    "DATEFORMAT",
    "EMPTYASNULL",
    "BLANKSASNULL",
    "TRIMBLANKS",
    "FILLRECORD",
    "TRUNCATECOLUMNS",
    "MAXERROR",
    "FORMAT AS",
    "COMPUPDATE",
    "STATUPDATE",
)
_EXAMPLES = {
    "JSON": "JSON 'auto'",
    "DELIMITER": "DELIMITER '|'",
    "QUOTE": "QUOTE '\"'",
    "NULL": "NULL AS '\\N'",
    "IGNOREHEADER": "IGNOREHEADER 1",
    "MAXERROR": "MAXERROR 10",
    "TIMEFORMAT": "TIMEFORMAT 'auto'",
    "DATEFORMAT": "DATEFORMAT 'YYYY-MM-DD'",
}


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise InvalidArgumentException(
                f"CopyOptions {text!r} could not be read at {text[position : position + 20]!r}: "
                "quote values with single quotes, as in DELIMITER '|'."
            )
        position = match.end()
        if match.group(1) is not None:
            tokens.append(("string", match.group(1).replace("''", "'")))
        elif match.group(2) is not None:
            tokens.append(("word", match.group(2).upper()))
    return tokens


def _unescape(value: str) -> str:
    """Redshift's escapes in option values: ``\\t``, ``\\n``, ``\\\\``, octal ``\\ooo``."""

    def one(match: re.Match[str]) -> str:
        escaped = match.group(1)
        if escaped.isdigit():
            return chr(int(escaped, 8))
        return {"t": "\t", "n": "\n", "r": "\r"}.get(escaped, escaped)

    return re.sub(r"\\([0-7]{3}|.)", one, value)


def _strptime_format(spec: str, option: str) -> str | None:
    """A TIMEFORMAT/DATEFORMAT as a strptime format; None for 'auto' and epochs."""
    if spec.lower() in ("auto", "epochsecs", "epochmillisecs"):
        if option == "DATEFORMAT" and spec.lower() != "auto":
            raise InvalidArgumentException(
                f"CopyOptions: DATEFORMAT '{spec}' is not a date format; epochs are for TIMEFORMAT."
            )
        return None
    out: list[str] = []
    position = 0
    while position < len(spec):
        for part, directive in _DATETIME_PARTS:
            if spec.startswith(part, position):
                out.append(directive)
                position += len(part)
                break
        else:
            character = spec[position]
            if character.isalpha():
                raise InvalidArgumentException(
                    f"CopyOptions: {option} '{spec}' has {character!r}, which is not a "
                    "datetime element fogbank reads (YYYY YY MM MON MONTH DD HH HH12 HH24 MI "
                    "SS AM PM); use 'auto' or those elements."
                )
            out.append("%%" if character == "%" else character)
            position += 1
    return "".join(out)


# ---------------------------------------------------------------------------- warehouse


@dataclass(frozen=True)
class QueryResult:
    """What a statement returned: column names and rows (none for DDL and DML)."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class Loaded:
    """One COPY: how many rows it loaded and how many records it skipped."""

    rows: int
    skipped: int = 0
    bytes: int = 0
    """Bytes of data read from the staged objects (uncompressed)."""
    already: bool = False
    """The manifest had been loaded before: nothing was loaded now."""


@dataclass
class _Records:
    values: list[list[str | None]] = field(default_factory=list)
    """Each record's fields as text, in the columns' order."""
    lines: list[int] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    errors: list[tuple[str, int, str | None, str | None, str, str]] = field(default_factory=list)
    """(file, line, column, value, raw line, reason) of each record that did not load."""


class Warehouse:
    """One warehouse database (a DuckDB file). A connection is opened for each call and
    closed after, so the file is locked only while a statement or COPY runs."""

    _local = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path

    def execute(self, sql: str) -> QueryResult:
        """Run SQL (several statements, ``;``-separated: the last one's result)."""
        import duckdb

        with self._connect(create=True) as con:
            try:
                cursor = con.execute(sql)
            except duckdb.Error as exc:
                raise InvalidArgumentException(
                    f"The warehouse {self.path.stem} could not run the SQL: {exc}"
                ) from None
            description: list[Any] | None = cursor.description
            if description is None:
                return QueryResult((), [])
            columns = tuple(str(d[0]) for d in description)
            return QueryResult(columns, cursor.fetchall())

    def copy(
        self,
        manifest_url: str,
        table: str,
        columns: Sequence[str],
        options: CopyOptions,
        read: Callable[[str], bytes],
        *,
        now: datetime,
    ) -> Loaded:
        """``COPY table (columns) FROM 'manifest_url' MANIFEST options``, exactly once
        per manifest. Raises :class:`CopyFailed` when nothing was loaded."""
        import duckdb

        if not self.path.exists():
            raise CopyFailed(
                f'database "{self.path.stem}" does not exist: create the table first '
                f'(fogbank firehose warehouse <ClusterJDBCURL> "CREATE TABLE {table} (...)").'
            )
        with self._connect(create=False) as con:
            con.execute(_BOOKKEEPING)
            try:
                con.execute("BEGIN TRANSACTION")
                done = con.execute(
                    f"SELECT rows_loaded FROM {LOADED_TABLE} WHERE manifest = ?", [manifest_url]
                ).fetchone()
                if done is not None:
                    con.execute("ROLLBACK")
                    return Loaded(int(done[0]), already=True)
                loaded = self._load(con, manifest_url, table, columns, options, read, now)
                con.execute("COMMIT")
                return loaded
            except BaseException as exc:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                if isinstance(exc, duckdb.Error):
                    raise CopyFailed(str(exc).splitlines()[0]) from None
                raise

    def loaded(self, manifest_url: str) -> bool:
        """Whether a COPY of this manifest has been committed."""
        if not self.path.exists():
            return False
        with self._connect(create=False) as con:
            con.execute(_BOOKKEEPING)
            found = con.execute(
                f"SELECT 1 FROM {LOADED_TABLE} WHERE manifest = ?", [manifest_url]
            ).fetchone()
        return found is not None

    def _load(
        self,
        con: duckdb.DuckDBPyConnection,
        manifest_url: str,
        table: str,
        columns: Sequence[str],
        options: CopyOptions,
        read: Callable[[str], bytes],
        now: datetime,
    ) -> Loaded:
        target = _qualified(con, table)
        types = _column_types(con, target, table)
        names = list(columns) or list(types)
        unknown = [c for c in names if c.lower() not in {t.lower() for t in types}]
        if unknown:
            raise CopyFailed(
                f'column "{unknown[0]}" of relation "{table}" does not exist: fix '
                "DataTableColumns or add the column."
            )
        by_lower = {t.lower(): t for t in types}
        names = [by_lower[c.lower()] for c in names]
        records = _Records()
        size = 0
        found = 0
        for url, mandatory in _manifest_entries(manifest_url, read):
            try:
                packed = read(url)
            except Exception as exc:  # a file the manifest lists is gone
                if mandatory:
                    raise CopyFailed(
                        f"Manifest file {manifest_url} lists {url}, which is mandatory and "
                        f"could not be read: {exc}"
                    ) from None
                continue
            found += 1
            data = _unpacked(packed, url, options)
            size += len(data)
            _split(data, url, names, options, records)
        if not found:
            raise CopyFailed(f"None of the files in the manifest {manifest_url} were found.")
        staged = _staged(records, names)
        con.register("fogbank_copy_input", staged)
        try:
            expressions = [_typed(f"c{i}", types[name], options) for i, name in enumerate(names)]
            bad = [
                "FALSE"
                if _is_string(types[name])
                else f"(NULLIF(trim(c{i}), '') IS NOT NULL AND ({expressions[i]}) IS NULL)"
                for i, name in enumerate(names)
            ]
            selected = ", ".join(f"{e} AS v{i}" for i, e in enumerate(expressions))
            flags = ", ".join(f"{b} AS bad{i}" for i, b in enumerate(bad))
            raw = ", ".join(f"c{i}" for i in range(len(names)))
            con.execute(
                "CREATE OR REPLACE TEMP TABLE fogbank_copy_rows AS SELECT seq, line, file, "
                f"{raw}, {selected}, {flags} FROM fogbank_copy_input"
            )
            any_bad = " OR ".join(f"bad{i}" for i in range(len(names))) or "FALSE"
            width = len(names)
            for row in con.execute(
                f"SELECT line, file, {', '.join(f'bad{i}' for i in range(width))}, {raw} "
                f"FROM fogbank_copy_rows WHERE {any_bad} ORDER BY seq"
            ).fetchall():
                line, file = int(row[0]), str(row[1])
                flags_row, fields = row[2 : 2 + width], row[2 + width :]
                column = next(i for i, flag in enumerate(flags_row) if flag)
                records.errors.append(
                    (
                        file,
                        line,
                        names[column],
                        fields[column],
                        options.field_delimiter.join("" if v is None else str(v) for v in fields),
                        f"Invalid {types[names[column]]} value {fields[column]!r}",
                    )
                )
            if len(records.errors) > options.max_error:
                first_file, first_line, first_column, _, _, reason = records.errors[0]
                where = f" in column {first_column}" if first_column else ""
                raise CopyFailed(
                    f"Load into table '{table}' failed: {len(records.errors)} records did not "
                    f"load and MAXERROR is {options.max_error} (the first, line {first_line} of "
                    f"{first_file}: {reason}{where}). Fix the "
                    "data, or raise MAXERROR in CopyOptions to skip such records."
                )
            column_list = ", ".join(_quote(n) for n in names)
            values = ", ".join(f"v{i}" for i in range(len(names)))
            rows = con.execute(
                f"INSERT INTO {target} ({column_list}) SELECT {values} FROM fogbank_copy_rows "
                f"WHERE NOT ({any_bad}) ORDER BY seq"
            ).fetchone()
            count = int(rows[0]) if rows else 0
        finally:
            con.unregister("fogbank_copy_input")
            con.execute("DROP TABLE IF EXISTS fogbank_copy_rows")
        stamp = now.astimezone(UTC).replace(tzinfo=None)
        if records.errors:
            con.executemany(
                f"INSERT INTO {ERRORS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [[manifest_url, *error[:5], error[5], stamp] for error in records.errors],
            )
        con.execute(
            f"INSERT INTO {LOADED_TABLE} VALUES (?, ?, ?, ?)", [manifest_url, table, count, stamp]
        )
        return Loaded(count, len(records.errors), size)

    @contextlib.contextmanager
    def _connect(self, *, create: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection, waiting while another process holds the file (DuckDB lets one
        process at a time write a database file)."""
        import duckdb

        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + _LOCK_WAIT_SECONDS
        while True:
            try:
                with Warehouse._local:
                    con = duckdb.connect(str(self.path))
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise InvalidArgumentException(
                        f"The warehouse {self.path} could not be opened: {exc}"
                    ) from None
                time.sleep(0.05)
        try:
            yield con
        finally:
            con.close()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _parts(name: str) -> list[str]:
    return [p[1:-1].replace('""', '"') if p.startswith('"') else p for p in split_name(name)]


def split_name(name: str) -> list[str]:
    """A DataTableName's parts (``table`` or ``schema.table``), as written."""
    parts = re.findall(r'"(?:[^"]|"")+"|[^."]+', name)
    return parts if ".".join(parts) == name else [name]


def check_identifiers(table: str, columns: str | None) -> list[str]:
    """Check DataTableName and DataTableColumns; the columns, split."""
    parts = split_name(table)
    if not 1 <= len(parts) <= 2 or not all(_IDENTIFIER.match(p) for p in parts):
        raise InvalidArgumentException(
            f"DataTableName {table!r} is not a table name: give <table> or <schema>.<table>."
        )
    names = [c.strip() for c in (columns or "").split(",") if c.strip()]
    for name in names:
        if not _IDENTIFIER.match(name):
            raise InvalidArgumentException(
                f"DataTableColumns has {name!r}, which is not a column name: give the "
                "columns as a comma-separated list, as in 'id,name,ts'."
            )
    return [n[1:-1].replace('""', '"') if n.startswith('"') else n for n in names]


def _qualified(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The table as DuckDB names it; Redshift's default schema ``public`` is DuckDB's
    ``main`` unless the user made a ``public`` schema."""
    parts = _parts(table)
    if len(parts) == 2 and parts[0].lower() == "public":
        found = con.execute(
            "SELECT 1 FROM information_schema.schemata WHERE lower(schema_name) = 'public' "
            "AND catalog_name = current_database()"
        ).fetchone()
        if found is None:
            parts = ["main", parts[1]]
    return ".".join(_quote(p) for p in parts)


def _column_types(con: duckdb.DuckDBPyConnection, target: str, table: str) -> dict[str, str]:
    parts = [p[1:-1].replace('""', '"') for p in re.findall(r'"(?:[^"]|"")*"', target)]
    schema, name = (parts[0], parts[1]) if len(parts) == 2 else ("main", parts[0])
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE "
        "lower(table_schema) = lower(?) AND lower(table_name) = lower(?) AND "
        "table_catalog = current_database() ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    if not rows:
        raise CopyFailed(
            f'relation "{table}" does not exist: create the table in the warehouse first, '
            "as on Redshift."
        )
    return {str(r[0]): str(r[1]) for r in rows}


def _manifest_entries(manifest_url: str, read: Callable[[str], bytes]) -> list[tuple[str, bool]]:
    """The manifest's files, each with its ``mandatory`` flag (default false, as COPY's)."""
    try:
        manifest = json.loads(read(manifest_url))
        entries = [(str(e["url"]), bool(e.get("mandatory", False))) for e in manifest["entries"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise CopyFailed(f"Manifest file {manifest_url} is not a valid manifest.") from None
    except Exception as exc:
        raise CopyFailed(f"The manifest {manifest_url} could not be read: {exc}") from None
    if not entries:
        raise CopyFailed(f"The manifest {manifest_url} lists no files.")
    return entries


def _unpacked(raw: bytes, url: str, options: CopyOptions) -> bytes:
    if options.gzip:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            raise CopyFailed(
                f"gzip: {url}: invalid header (the object is not gzip-compressed: remove "
                "GZIP from CopyOptions, or stage with CompressionFormat GZIP)."
            ) from None
    if raw[:2] == b"\x1f\x8b":
        raise CopyFailed(
            f"{url} is gzip-compressed but CopyOptions have no GZIP: add GZIP to CopyOptions "
            "(CompressionFormat GZIP stages compressed objects)."
        )
    return raw


def _split(
    data: bytes, url: str, names: Sequence[str], options: CopyOptions, out: _Records
) -> None:
    """The records of one staged object, by Redshift's rules for its format."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CopyFailed(f"Invalid UTF8 in {url} at byte {exc.start}.") from None
    if options.format == "JSON":
        _split_json(text, url, names, options, out)
        return
    if options.format == "CSV":
        reader: Iterator[list[str]] = csv.reader(
            io.StringIO(text), delimiter=options.field_delimiter, quotechar=options.quote
        )
        rows = ((index + 1, fields) for index, fields in enumerate(reader))
    else:
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        rows = (
            (index + 1, line.removesuffix("\r").split(options.field_delimiter))
            for index, line in enumerate(lines)
        )
    null = options.null_string
    for line, fields in rows:
        if line <= options.ignore_header or fields == []:
            continue
        if len(fields) < len(names) and options.fill_record:
            fields = fields + [None] * (len(names) - len(fields))  # type: ignore[list-item]
        if len(fields) != len(names):
            reason = "Extra column(s) found" if len(fields) > len(names) else "Delimiter not found"
            raw = options.field_delimiter.join(f or "" for f in fields)
            out.errors.append((url, line, None, None, raw, reason))
            continue
        values = [None if f is None or f == null else _blank(f, options) for f in fields]
        out.values.append(values)
        out.lines.append(line)
        out.files.append(url)


def _split_json(
    text: str, url: str, names: Sequence[str], options: CopyOptions, out: _Records
) -> None:
    """Concatenated JSON objects (Firehose puts no delimiter between records), each
    object's keys matched to the column names."""
    decoder = json.JSONDecoder()
    position, record = 0, 0
    # the line of ``position``, counted on from the last record's start (counting from
    # the object's start for every record made a load quadratic in its records)
    line, counted = 1, 0
    wanted = {(n.lower() if options.json_ignorecase else n): i for i, n in enumerate(names)}
    while True:
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        if position >= len(text):
            return
        record += 1
        line += text.count("\n", counted, position)
        counted = position
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            stop = text.find("\n", position)
            stop = len(text) if stop < 0 else stop + 1
            out.errors.append(
                (url, line, None, None, text[position:stop], f"Invalid JSON: {exc.msg}")
            )
            position = stop
            continue
        position = end
        if not isinstance(value, dict):
            out.errors.append(
                (
                    url,
                    line,
                    None,
                    None,
                    json.dumps(value),
                    "Invalid JSONPath format: Member is not an object.",
                )
            )
            continue
        values: list[str | None] = [None] * len(names)
        for key, item in value.items():
            index = wanted.get(key.lower() if options.json_ignorecase else key)
            if index is not None:
                values[index] = _json_text(item, options)
        out.values.append(values)
        out.lines.append(line)
        out.files.append(url)


def _json_text(item: Any, options: CopyOptions) -> str | None:
    if item is None:
        return None
    if isinstance(item, str):
        return _blank(item, options)
    if isinstance(item, bool):
        return "true" if item else "false"
    return json.dumps(item, separators=(",", ":"))


def _blank(value: str, options: CopyOptions) -> str:
    # EMPTYASNULL and BLANKSASNULL apply to character columns only, so they are applied
    # where the column types are known (``_typed``); TRIMBLANKS here.
    if options.trim_blanks:
        value = value.rstrip(" ")
    return value


def _staged(records: _Records, names: Sequence[str]) -> Any:
    import pyarrow as pa

    columns: dict[str, Any] = {
        "seq": pa.array(range(len(records.lines)), pa.int64()),
        "line": pa.array(records.lines, pa.int64()),
        "file": pa.array(records.files, pa.string()),
    }
    for index in range(len(names)):
        columns[f"c{index}"] = pa.array([row[index] for row in records.values], pa.string())
    return pa.table(columns)


def _typed(column: str, data_type: str, options: CopyOptions) -> str:
    """The SQL that turns the text in ``column`` into ``data_type`` (NULL where it cannot)."""
    upper = data_type.upper()
    if _is_string(data_type):
        nulls = []
        if options.empty_as_null:
            nulls.append(f"{column} = ''")
        if options.blanks_as_null:
            nulls.append(f"trim({column}) = ''")
        if not nulls:
            return column
        return f"CASE WHEN {' OR '.join(nulls)} THEN NULL ELSE {column} END"
    value = f"NULLIF(trim({column}), '')"
    if upper.startswith("TIMESTAMP"):
        cast = "TIMESTAMPTZ" if "TIME ZONE" in upper or upper == "TIMESTAMPTZ" else "TIMESTAMP"
        return f"CAST({_timestamp(value, options.time_format)} AS {cast})"
    if upper == "DATE":
        return _date(value, options.date_format)
    if upper == "BOOLEAN":
        spelled = f"CASE lower({value}) WHEN 't' THEN 'true' WHEN 'f' THEN 'false' ELSE {value} END"
        return f"TRY_CAST({spelled} AS BOOLEAN)"
    return f"TRY_CAST({value} AS {data_type})"


def _is_string(data_type: str) -> bool:
    return data_type.upper().split("(")[0] in _STRING_TYPES


def _timestamp(value: str, spec: str | None) -> str:
    if spec is None:
        return f"TRY_CAST({value} AS TIMESTAMP)"
    lowered = spec.lower()
    if lowered == "epochsecs":
        return f"CAST(to_timestamp(TRY_CAST({value} AS DOUBLE)) AS TIMESTAMP)"
    if lowered == "epochmillisecs":
        return f"CAST(to_timestamp(TRY_CAST({value} AS DOUBLE) / 1000) AS TIMESTAMP)"
    if lowered == "auto":
        formats = ", ".join(f"'{f}'" for f in _AUTO_TIMESTAMPS)
        return f"COALESCE(TRY_CAST({value} AS TIMESTAMP), try_strptime({value}, [{formats}]))"
    pattern = _strptime_format(spec, "TIMEFORMAT")
    return f"try_strptime({value}, {_literal(pattern)})"


def _date(value: str, spec: str | None) -> str:
    if spec is None:
        return f"TRY_CAST({value} AS DATE)"
    if spec.lower() == "auto":
        formats = ", ".join(f"'{f}'" for f in _AUTO_DATES)
        return (
            f"COALESCE(TRY_CAST({value} AS DATE), CAST(try_strptime({value}, [{formats}]) AS DATE))"
        )
    pattern = _strptime_format(spec, "DATEFORMAT")
    return f"CAST(try_strptime({value}, {_literal(pattern)}) AS DATE)"


def _literal(text: str | None) -> str:
    return "'" + (text or "").replace("'", "''") + "'"
