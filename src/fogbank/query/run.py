"""One query execution's work: parse, run on DuckDB or on the catalog, write the result.

:class:`Run` is what a worker thread of :class:`fogbank.query.engine.Queries` does with
one execution. It binds ExecutionParameters, classifies the statement, and then:

- a SELECT (or ``EXECUTE`` of a prepared one) runs on a fresh DuckDB connection where
  each referenced table is a view over its lake files (:mod:`fogbank.query.tables`); the
  result streams, a batch at a time, to ``<OutputLocation>/<id>.csv``; DuckDB's profiler
  says how many bytes it read from the lake's files, which is DataScannedInBytes, and a
  workgroup's BytesScannedCutoffPerQuery cancels a query that read more;
- DDL runs on the Glue catalog (:mod:`fogbank.query.ddl`) and writes ``<id>.txt``;
- PREPARE and DEALLOCATE PREPARE keep prepared statements in the workgroup.

Whatever goes wrong ends as a :class:`QueryFailed` with Athena's category and position,
kept in the outcome; nothing here raises to the worker.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from pyarrow import csv as pa_csv

from fogbank.catalog.engine import Catalog
from fogbank.lake.engine import Lake
from fogbank.lake.names import parse_location
from fogbank.query import ctas, dialect, results
from fogbank.query.ddl import run_ddl
from fogbank.query.errors import SYSTEM, QueryFailed
from fogbank.query.tables import table_source
from fogbank.query.types import athena_type
from fogbank.query.workgroups import WorkGroups

_BATCH = 2048
# Translations kept, most recent last; the stand-in takes the place of an execution's
# schema prefix (a name no query writes: "q" and 16 hex digits of its id, then "_").
_TRANSLATIONS: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_TRANSLATIONS_LOCK = threading.Lock()
_MAX_TRANSLATIONS = 512
_STAND_IN = "q_fogbank_translation_"


@dataclass
class Outcome:
    """How a run ended, and what GetQueryExecution reports of it."""

    statement_type: str | None = None
    substatement_type: str | None = None
    failure: QueryFailed | None = None
    cancelled_reason: str | None = None
    scanned: int = 0
    engine_seconds: float = 0.0
    planning_seconds: float = 0.0
    result_file: str | None = None
    output_rows: int = 0
    output_bytes: int = 0
    update_count: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """The members the execution's stored record takes from the outcome."""
        record: dict[str, Any] = {
            "DataScannedInBytes": self.scanned,
            "EngineSeconds": self.engine_seconds,
            "PlanningSeconds": self.planning_seconds,
            "OutputRows": self.output_rows,
            "OutputBytes": self.output_bytes,
        }
        if self.statement_type:
            record["StatementType"] = self.statement_type
        if self.substatement_type:
            record["SubstatementType"] = self.substatement_type
        if self.result_file:
            record["ResultFile"] = self.result_file
        if self.update_count is not None:
            record["UpdateCount"] = self.update_count
        return record


class Run:
    """One execution, from its stored request to its outcome."""

    def __init__(
        self,
        catalog: Catalog,
        lake: Lake,
        scratch: Path,
        request: Mapping[str, Any],
        running: Any,
        workgroups: WorkGroups,
        *,
        duckdb_database: Any,
    ) -> None:
        self._duckdb = duckdb_database
        self._catalog = catalog
        self._lake = lake
        self._scratch = scratch
        self._request = request
        self._running = running
        self._workgroups = workgroups
        self._id = str(request["QueryExecutionId"])
        self._prefix = "q" + self._id.replace("-", "")[:16] + "_"
        self._cache_key: tuple[str, tuple[str, ...]] = ("", ())
        self._database = (request.get("Database") or "default").lower()
        self._outcome = Outcome()

    def execute(self) -> Outcome:
        started = time.monotonic()
        try:
            self._execute()
        except QueryFailed as failure:
            self._outcome.failure = failure
        except duckdb.InterruptException:
            self._outcome.cancelled_reason = "Query was cancelled by the user"
        except duckdb.Error as error:
            self._outcome.failure = _translate(error, str(self._request["Query"]))
        except OSError as error:
            self._outcome.failure = QueryFailed(
                "HIVE_CANNOT_OPEN_SPLIT", str(error), error_category=SYSTEM
            )
        self._outcome.engine_seconds = time.monotonic() - started
        return self._outcome

    # ------------------------------------------------------------------ dispatch

    def _execute(self) -> None:
        catalog_name = (self._request.get("Catalog") or "AwsDataCatalog").lower()
        if catalog_name != "awsdatacatalog":
            raise QueryFailed(
                "CATALOG_NOT_FOUND",
                f"Catalog '{self._request.get('Catalog')}' does not exist; fogbank has the "
                "Glue catalog AwsDataCatalog",
            )
        statement = dialect.parse_statement(str(self._request["Query"]))
        self._outcome.statement_type = statement.statement_type
        self._outcome.substatement_type = statement.substatement
        parameters = list(self._request.get("ExecutionParameters") or ())
        if statement.substatement == "EXECUTE":
            statement, parameters = self._prepared(statement, parameters)
        self._cache_key = (statement.sql, tuple(parameters))
        if statement.substatement == "PREPARE":
            self._prepare(statement)
            return
        if statement.substatement in ("DEALLOCATE", "DEALLOCATE_PREPARE"):
            self._workgroups.delete_prepared_statement(
                statement.name or "", str(self._request["WorkGroup"])
            )
            return
        if statement.tree is None:  # Hive DDL, SHOW, DESCRIBE: the catalog answers
            self._ddl(statement)
            return
        if statement.substatement in ("CREATE_TABLE_AS_SELECT", "INSERT", "UNLOAD"):
            self._write_data(statement)
            return
        if statement.tree is None or statement.substatement not in ("SELECT", "EXPLAIN"):
            raise QueryFailed(
                "NOT_SUPPORTED",
                f"{statement.substatement.replace('_', ' ')} statements are not supported by "
                "fogbank's Athena yet",
            )
        tree = statement.tree
        if parameters or "?" in statement.sql:
            tree = dialect.bind_parameters(tree, parameters)
        self._select(tree)

    def _prepared(
        self, statement: dialect.Statement, parameters: list[str]
    ) -> tuple[dialect.Statement, list[str]]:
        prepared = self._workgroups.get_prepared_statement(
            statement.name or "", str(self._request["WorkGroup"])
        )
        inner = dialect.parse_statement(prepared.query_statement)
        return inner, list(statement.parameters) or parameters

    def _prepare(self, statement: dialect.Statement) -> None:
        match = re.match(r"\s*PREPARE\s+\S+\s+FROM\s+(.*)", statement.sql, re.I | re.S)
        body = match.group(1).strip().rstrip(";") if match else ""
        self._workgroups.create_prepared_statement(
            statement.name or "", str(self._request["WorkGroup"]), body, replace=True
        )

    # ------------------------------------------------------------------ DDL

    def _ddl(self, statement: dialect.Statement) -> None:
        outcome = run_ddl(
            statement.sql, catalog=self._catalog, lake=self._lake, database=self._database
        )
        columns = [results.Column(name, kind) for name, kind in outcome.columns]
        whole = len(columns) != 1 and all(len(row) == 1 for row in outcome.rows)
        self._write(columns, iter([outcome.rows]), csv=False, whole_lines=whole)

    # ------------------------------------------------------------------ SELECT

    def _select(self, tree: Any) -> None:
        self._with_views(tree, self._select_on)

    def _with_views(self, tree: Any, work: Any) -> None:
        """Run ``work(connection, duckdb_sql)`` on a connection holding a view per table
        ``tree`` reads, and count the bytes read. A Parquet file lacking a column the
        others have fails the first try; the second reads every footer and NULLs it."""
        try:
            self._run_on_views(tree, work, union_by_name=False)
        except duckdb.InvalidInputException as error:
            if "schema mismatch" not in str(error):
                raise
            self._run_on_views(tree, work, union_by_name=True)

    def _run_on_views(self, tree: Any, work: Any, *, union_by_name: bool) -> None:
        planning = time.monotonic()
        self._scratch.mkdir(parents=True, exist_ok=True)
        # a connection of the engine's one DuckDB database: its views live in schemas
        # named after this execution, dropped when it ends
        connection = self._duckdb.cursor()
        # timestamps with a zone are written in the session's zone; Athena's is UTC
        connection.execute("SET TimeZone = 'UTC'")
        self._running.connection = connection
        schemas: list[str] = []
        try:
            arrow_bytes, schema = self._views(
                connection, tree, schemas, union_by_name=union_by_name
            )
            sql = self._translate(tree, schema)
            # the profiler counts the bytes read from files; kept in memory, not written
            connection.execute("PRAGMA enable_profiling = 'no_output'")
            self._outcome.planning_seconds = time.monotonic() - planning
            if self._running.stop.is_set():
                raise duckdb.InterruptException("stopped before it ran")
            work(connection, sql)
            self._outcome.scanned = _bytes_read(connection) + arrow_bytes
            connection.execute("PRAGMA disable_profiling")
        finally:
            self._running.connection = None
            for name in schemas:
                with contextlib.suppress(duckdb.Error):
                    connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
            connection.close()
        self._check_cutoff()

    def _select_on(self, connection: Any, sql: str) -> None:
        relation = connection.sql(sql)
        columns = [
            results.Column(name, *athena_type(str(kind)))
            for name, kind in zip(relation.columns, relation.types, strict=True)
        ]
        self._write_arrow(columns, relation.to_arrow_reader(_BATCH))

    def _write_arrow(self, columns: Sequence[results.Column], reader: Any) -> None:
        """The result as Athena's CSV, a batch at a time: pyarrow's writer quotes every
        value and leaves NULLs empty; each column is rendered as Athena prints it."""
        output, bucket, key = self._result_key(csv=True)
        names = [c.name for c in columns]
        rows = 0
        with tempfile.TemporaryFile() as spool:
            writer = pa_csv.CSVWriter(
                spool,
                pa.schema([(name, pa.string()) for name in names]),
                write_options=pa_csv.WriteOptions(quoting_style="all_valid"),
            )
            for batch in reader:
                if self._running.stop.is_set():
                    raise duckdb.InterruptException("stopped while writing its result")
                rendered = [
                    results.render_column(batch.column(i), column.type)
                    for i, column in enumerate(columns)
                ]
                writer.write_batch(pa.record_batch(rendered, names=names))
                rows += batch.num_rows
            writer.close()
            size = spool.tell()
            spool.seek(0)
            self._lake.put_object(bucket, key, spool, content_type="text/csv")
        self._lake.put_object(bucket, key + ".metadata", results.metadata(columns))
        self._outcome.result_file = output
        self._outcome.output_rows = rows
        self._outcome.output_bytes = size

    # ------------------------------------------------------------------ CTAS, INSERT, UNLOAD

    def _write_data(self, statement: dialect.Statement) -> None:
        """CREATE TABLE AS SELECT, INSERT INTO and UNLOAD: the query's rows written as
        files into the lake (:mod:`fogbank.query.ctas`), their paths in the manifest."""
        output = str(self._request["OutputLocation"])
        if not output.endswith("/"):
            output += "/"
        written: list[ctas.WriteOutcome] = []

        def work(connection: Any, sql: str) -> None:
            common: dict[str, Any] = {
                "select_sql": sql,
                "lake": self._lake,
                "query_id": self._id,
                "scratch": self._scratch / "write",
            }
            if statement.substatement == "UNLOAD":
                written.append(
                    ctas.unload(connection, statement, default_database=self._database, **common)
                )
            elif statement.substatement == "INSERT":
                written.append(
                    ctas.insert_into(
                        connection,
                        statement,
                        catalog=self._catalog,
                        default_database=self._database,
                        **common,
                    )
                )
            else:
                written.append(
                    ctas.create_table_as(
                        connection,
                        statement,
                        catalog=self._catalog,
                        default_database=self._database,
                        output_location=output,
                        **common,
                    )
                )

        self._with_views(ctas.inner_select(statement), work)
        outcome = written[-1]
        self._outcome.update_count = outcome.rows
        self._outcome.output_rows = outcome.rows
        ctas.write_manifest(self._lake, output, self._id, outcome.files)

    def _translate(self, tree: Any, schema: dict[str, dict[str, dict[str, str]]]) -> str:
        """The query as DuckDB SQL over this execution's views. Translating costs more
        than many queries take to run, so translations are kept (for the same text,
        parameters, database and table types) with a stand-in for the schema prefix."""
        key = (
            self._cache_key,
            self._database,
            json.dumps(schema, sort_keys=True),
        )
        with _TRANSLATIONS_LOCK:
            sql = _TRANSLATIONS.get(key)
            if sql is not None:
                _TRANSLATIONS.move_to_end(key)
        if sql is None:
            sql = dialect.to_duckdb(
                tree,
                default_database=self._database,
                schema={_STAND_IN + db: tables for db, tables in schema.items()},
                schema_prefix=_STAND_IN,
            )
            with _TRANSLATIONS_LOCK:
                _TRANSLATIONS[key] = sql
                while len(_TRANSLATIONS) > _MAX_TRANSLATIONS:
                    _TRANSLATIONS.popitem(last=False)
        return sql.replace(f'"{_STAND_IN}', f'"{self._prefix}')

    def _views(
        self, connection: Any, tree: Any, schemas: list[str], *, union_by_name: bool = False
    ) -> tuple[int, dict[str, dict[str, dict[str, str]]]]:
        """Create a view per referenced table, in this execution's schemas (added to
        ``schemas``); the bytes read through Arrow, and the tables' column types (keyed
        by database) for the translation."""
        arrow_bytes = 0
        schema: dict[str, dict[str, dict[str, str]]] = {}
        created: set[tuple[str, str]] = set()
        for ref in dialect.referenced_tables(tree, self._database):
            key = (ref.database, ref.table)
            if key in created:
                continue
            created.add(key)
            try:
                source = table_source(
                    self._catalog,
                    self._lake,
                    self._scratch,
                    ref.database,
                    ref.table,
                    union_by_name=union_by_name,
                    view_schema=self._prefix + ref.database,
                )
            except QueryFailed as failure:
                if failure.category == "TABLE_NOT_FOUND" and not self._database_exists(
                    ref.database
                ):
                    raise QueryFailed(
                        "SCHEMA_NOT_FOUND",
                        f"Schema '{ref.database}' does not exist",
                        line=ref.line,
                        column=ref.column,
                    ) from None
                if failure.line is None:
                    failure = QueryFailed(
                        failure.category, failure.message, line=ref.line, column=ref.column
                    )
                raise failure from None
            view_schema = self._prefix + ref.database
            if view_schema not in schemas:
                connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{view_schema}"')
                schemas.append(view_schema)
            if source.arrow is not None:
                connection.register(source.arrow_name, source.arrow)
                arrow_bytes += source.arrow_bytes
            connection.execute(source.view_sql)
            schema.setdefault(ref.database, {})[ref.table] = source.columns
        return arrow_bytes, schema

    def _database_exists(self, name: str) -> bool:
        try:
            self._catalog.get_database(name)
        except Exception:
            return False
        return True

    def _check_cutoff(self) -> None:
        group = self._workgroups.get_work_group(str(self._request["WorkGroup"]))
        cutoff = group.configuration.get("BytesScannedCutoffPerQuery")
        if cutoff is not None and self._outcome.scanned > int(cutoff):
            self._outcome.cancelled_reason = (
                "Query cancelled! : Bytes scanned limit was exceeded. The query read "
                f"{self._outcome.scanned} bytes; workgroup {group.name} allows "
                f"{cutoff} (BytesScannedCutoffPerQuery)"
            )

    # ------------------------------------------------------------------ results

    def _result_key(self, *, csv: bool) -> tuple[str, str, str]:
        """``<OutputLocation><id>.csv`` (``.txt`` for DDL), and its bucket and key."""
        output = str(self._request["OutputLocation"])
        if not output.endswith("/"):
            output += "/"
        location = f"{output}{self._id}.{'csv' if csv else 'txt'}"
        bucket, key = parse_location(location)
        return location, bucket, key

    def _write(
        self,
        columns: Sequence[results.Column],
        batches: Any,
        *,
        csv: bool,
        whole_lines: bool = False,
    ) -> None:
        """Stream the rows to a local file, then store it (and its metadata) in the lake;
        a cancelled query stores nothing."""
        key_location, bucket, key = self._result_key(csv=csv)
        line = results.csv_line if csv else results.text_line
        rows = 0
        with tempfile.TemporaryFile() as spool:
            for batch in batches:
                if self._running.stop.is_set():
                    raise duckdb.InterruptException("stopped while writing its result")
                for row in batch:
                    spool.write(line(row))
                    rows += 1
            size = spool.tell()
            spool.seek(0)
            self._lake.put_object(
                bucket, key, spool, content_type="text/csv" if csv else "text/plain"
            )
        self._lake.put_object(
            bucket, key + ".metadata", results.metadata(columns, whole_lines=whole_lines)
        )
        self._outcome.result_file = key_location
        self._outcome.output_rows = rows - (1 if csv else 0)
        self._outcome.output_bytes = size


def _bytes_read(connection: Any) -> int:
    """What DuckDB's profiler says the last query read from files."""
    with contextlib.suppress(duckdb.Error, ValueError, KeyError, TypeError):
        report = json.loads(connection.get_profiling_information(format="json"))
        return int(report["io"]["total_bytes_read"])
    return 0


_COLUMN = re.compile(r'column "?([^"\s]+)"? (?:not found|referenced|does not exist)', re.I)
_FUNCTION = re.compile(r"Scalar Function with name (\S+) does not exist", re.I)


def _translate(error: duckdb.Error, sql: str) -> QueryFailed:
    """A DuckDB error as Athena words it, placed in the user's text where it can be."""
    message = str(error).split("\n")[0]
    if found := _COLUMN.search(str(error)):
        name = found.group(1)
        line, column = _locate(sql, name)
        return QueryFailed(
            "COLUMN_NOT_FOUND",
            f"Column '{name}' cannot be resolved or requester is not authorized to access "
            "requested resources",
            line=line,
            column=column,
        )
    if found := _FUNCTION.search(str(error)):
        name = found.group(1)
        line, column = _locate(sql, name)
        return QueryFailed(
            "FUNCTION_NOT_FOUND", f"Function '{name}' not registered", line=line, column=column
        )
    if isinstance(error, duckdb.ConversionException | duckdb.InvalidInputException):
        return QueryFailed("INVALID_CAST_ARGUMENT", message.split(": ", 1)[-1])
    if isinstance(error, duckdb.OutOfMemoryException):
        return QueryFailed(
            "EXCEEDED_LOCAL_MEMORY_LIMIT",
            "Query exhausted resources at this scale factor",
            error_category=SYSTEM,
        )
    if isinstance(error, duckdb.BinderException | duckdb.ParserException):
        return QueryFailed("SYNTAX_ERROR", message.split(": ", 1)[-1])
    return QueryFailed("GENERIC_INTERNAL_ERROR", message, error_category=SYSTEM)


def _locate(sql: str, name: str) -> tuple[int | None, int | None]:
    match = re.search(r"\b" + re.escape(name.strip('"')) + r"\b", sql, re.I)
    if match is None:
        return None, None
    before = sql[: match.start()]
    return before.count("\n") + 1, match.start() - (before.rfind("\n") + 1) + 1
