"""One query execution's work: parse, run on DuckDB or on the catalog, write the result.

:class:`Run` is what a worker thread of :class:`fogbank.query.engine.Queries` does with
one execution. It binds ExecutionParameters, classifies the statement, and then:

- a SELECT (or ``EXECUTE`` of a prepared one) runs on a fresh DuckDB connection where
  each referenced table is a view over its lake files (:mod:`fogbank.query.tables`),
  shared by every query of the same table version (:mod:`fogbank.query.shared`), and
  each referenced Athena view a DuckDB view of its stored query
  (:mod:`fogbank.query.views`); the result streams, a batch at a time, to
  ``<OutputLocation>/<id>.csv``, stored only once the query has ended well; DuckDB's
  profiler says how many bytes it read from the lake's files, which is
  DataScannedInBytes; a workgroup's BytesScannedCutoffPerQuery is watched while the
  query runs (:mod:`fogbank.query.meter`) and cancels it as soon as it reads more;
- CREATE [OR REPLACE] VIEW analyses its query on DuckDB and stores the view in Glue;
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
from sqlglot import exp

from fogbank.catalog.engine import Catalog
from fogbank.catalog.model import Table
from fogbank.core.errors import AlreadyExistsException, EntityNotFoundException, FogbankError
from fogbank.lake.engine import Lake
from fogbank.lake.names import parse_location
from fogbank.query import ctas, dialect, results, views
from fogbank.query.ddl import run_ddl
from fogbank.query.errors import SYSTEM, QueryFailed
from fogbank.query.meter import CUTOFF_REASON, ScanMeter, Watch
from fogbank.query.shared import SharedView, SharedViews
from fogbank.query.tables import fingerprint, places, reads_paths, table_source
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
    bytes_read: int | None = None
    """What the query read, where that is not DataScannedInBytes (a query stopped at
    its cutoff reports the cutoff)."""
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
        if self.bytes_read is not None:
            record["BytesRead"] = self.bytes_read
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
        meter: ScanMeter | None = None,
        shared: SharedViews | None = None,
    ) -> None:
        self._duckdb = duckdb_database
        self._meter = meter
        self._shared = shared
        self._held: list[SharedView] = []
        """Shared views this execution reads, released when its connection closes."""
        self._shared_schemas: dict[tuple[str, str], str] = {}
        """(database, table) -> the shared view's schema, for the translation."""
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
        self._arrow_bytes = 0
        self._measured = False
        self._cutoff: int | None = None
        self._watch: Watch | None = None

    def execute(self) -> Outcome:
        started = time.monotonic()
        try:
            self._execute()
        except QueryFailed as failure:
            self._outcome.failure = failure
        except _OverCutoff:
            self._cut()
        except duckdb.InterruptException:
            if self._over_cutoff():
                self._cut()
            else:
                self._outcome.cancelled_reason = "Query was cancelled by the user"
        except duckdb.Error as error:
            # The meter's interrupt can surface as another error (an interrupted file
            # read): a query it stopped is cancelled, not failed.
            if self._over_cutoff():
                self._cut()
            else:
                self._outcome.failure = _translate(error, str(self._request["Query"]))
        except OSError as error:
            if self._over_cutoff():
                self._cut()
            else:
                self._outcome.failure = QueryFailed(
                    "HIVE_CANNOT_OPEN_SPLIT", str(error), error_category=SYSTEM
                )
        self._outcome.engine_seconds = time.monotonic() - started
        return self._outcome

    def _over_cutoff(self) -> bool:
        return self._watch is not None and self._watch.exceeded.is_set()

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
        if statement.substatement == "CREATE_VIEW":
            self._create_view(statement)
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
            self._arrow_bytes, schema = self._views(
                connection, tree, schemas, union_by_name=union_by_name
            )
            sql = self._translate(tree, schema)
            # the profiler counts the bytes read from files; kept in memory, not written
            connection.execute("PRAGMA enable_profiling = 'no_output'")
            self._outcome.planning_seconds = time.monotonic() - planning
            if self._running.stop.is_set():
                raise duckdb.InterruptException("stopped before it ran")
            self._measured = False
            cutoff = self._cutoff = self._workgroup_cutoff()
            if cutoff is not None and self._arrow_bytes > cutoff:
                # ORC and Avro are read through Arrow, whole, before the query runs
                self._outcome.bytes_read = self._arrow_bytes
                raise _OverCutoff
            if cutoff is not None and self._meter is not None:
                # watched while it runs (a table's size bounds nothing: a self-join
                # reads its files twice)
                with self._meter.watch(connection, cutoff - self._arrow_bytes) as self._watch:
                    work(connection, sql)
            else:
                work(connection, sql)
            self._measure(connection)
            connection.execute("PRAGMA disable_profiling")
        finally:
            self._running.connection = None
            for name in schemas:
                with contextlib.suppress(duckdb.Error):
                    connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
            connection.close()
            if self._shared is not None:
                for view in self._held:
                    self._shared.release(view)
            self._held.clear()
            self._shared_schemas = {}

    def _measure(self, connection: Any) -> None:
        """DataScannedInBytes once the query has read everything: DuckDB's profiler's
        exact count; over the cutoff, the query is cancelled before its result is kept.
        Measured once (before the result is stored, or after the statement)."""
        if self._measured:
            return
        self._measured = True
        self._outcome.scanned = _bytes_read(connection) + self._arrow_bytes
        if self._cutoff is not None and self._outcome.scanned > self._cutoff:
            self._outcome.bytes_read = self._outcome.scanned
            raise _OverCutoff

    def _cut(self) -> None:
        """Cancelled at the cutoff: Athena reports the cutoff as the bytes scanned."""
        cutoff = self._cutoff if self._cutoff is not None else self._outcome.scanned
        if self._outcome.bytes_read is None and self._watch is not None:
            self._outcome.bytes_read = self._watch.read + self._arrow_bytes
        self._outcome.scanned = cutoff
        self._outcome.result_file = None
        group = str(self._request["WorkGroup"])
        self._outcome.cancelled_reason = (
            f"{CUTOFF_REASON}. Workgroup {group} allows {cutoff} bytes per query "
            "(BytesScannedCutoffPerQuery); read less (filter on partition columns, select "
            "fewer columns) or raise the cutoff"
        )

    def _select_on(self, connection: Any, sql: str) -> None:
        described, reader = _streamed(connection, sql)
        columns = [results.Column(name, *athena_type(kind)) for name, kind in described]
        self._write_arrow(columns, reader, connection)

    def _write_arrow(self, columns: Sequence[results.Column], reader: Any, connection: Any) -> None:
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
            # the bytes it read are known now: over the cutoff, nothing is stored
            self._measure(connection)
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

    def _translate(
        self,
        tree: Any,
        schema: dict[str, dict[str, dict[str, str]]],
        *,
        text: str | None = None,
        database: str | None = None,
    ) -> str:
        """The query as DuckDB SQL over this execution's views (``text`` and
        ``database``: a stored view's query and the schema its names resolve in).
        Translating costs more than many queries take to run, so translations are kept
        (for the same text, parameters, database and table types) with a stand-in for
        the schema prefix."""
        database = database or self._database
        key = (
            self._cache_key if text is None else (text, ()),
            database,
            json.dumps(schema, sort_keys=True),
        )
        with _TRANSLATIONS_LOCK:
            sql = _TRANSLATIONS.get(key)
            if sql is not None:
                _TRANSLATIONS.move_to_end(key)
        if sql is None:
            sql = dialect.to_duckdb(
                tree,
                default_database=database,
                schema={_STAND_IN + db: tables for db, tables in schema.items()},
                schema_prefix=_STAND_IN,
            )
            with _TRANSLATIONS_LOCK:
                _TRANSLATIONS[key] = sql
                while len(_TRANSLATIONS) > _MAX_TRANSLATIONS:
                    _TRANSLATIONS.popitem(last=False)
        for (db, table), shared in self._shared_schemas.items():
            sql = sql.replace(
                f"{_quoted(_STAND_IN + db)}.{_quoted(table)}", f"{_quoted(shared)}.{_quoted(table)}"
            )
        return sql.replace(f'"{_STAND_IN}', f'"{self._prefix}')

    def _views(
        self, connection: Any, tree: Any, schemas: list[str], *, union_by_name: bool = False
    ) -> tuple[int, dict[str, dict[str, dict[str, str]]]]:
        """Create a DuckDB view per catalog table or view ``tree`` reads, in this
        execution's schemas (added to ``schemas``); the bytes read through Arrow, and
        the relations' column types (keyed by database) for the translation."""
        sources = _Sources(schemas, union_by_name)
        for ref in dialect.referenced_tables(tree, self._database):
            self._source(connection, ref, sources, ())
        return sources.arrow_bytes, sources.schema

    def _source(
        self,
        connection: Any,
        ref: dialect.TableRef,
        sources: _Sources,
        chain: tuple[tuple[str, str], ...],
    ) -> None:
        """The DuckDB view ``"<prefix><database>"."<table>"`` for one catalog relation:
        over the table's files, or a stored view's query over its own relations."""
        key = (ref.database, ref.table)
        if key in sources.created:
            return
        try:
            table = self._catalog.get_table(ref.database, ref.table)
        except EntityNotFoundException:
            if not self._database_exists(ref.database):
                raise QueryFailed(
                    "SCHEMA_NOT_FOUND",
                    f"Schema '{ref.database}' does not exist",
                    line=ref.line,
                    column=ref.column,
                ) from None
            raise QueryFailed(
                "TABLE_NOT_FOUND",
                f"Table 'awsdatacatalog.{ref.database}.{ref.table}' does not exist",
                line=ref.line,
                column=ref.column,
            ) from None
        if self._shared is not None and not views.is_view(table) and reads_paths(table):
            self._shared_source(ref, table, sources)
            sources.created.add(key)
            return
        view_schema = self._prefix + ref.database
        if view_schema not in sources.schemas:
            connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{view_schema}"')
            sources.schemas.append(view_schema)
        if views.is_view(table):
            self._view_source(connection, ref, table, sources, chain)
            sources.created.add(key)
            return
        try:
            source = table_source(
                self._catalog,
                self._lake,
                self._scratch,
                ref.database,
                ref.table,
                union_by_name=sources.union_by_name,
                view_schema=view_schema,
                table=table,
            )
        except QueryFailed as failure:
            if failure.line is None:
                failure = QueryFailed(
                    failure.category, failure.message, line=ref.line, column=ref.column
                )
            raise failure from None
        if source.arrow is not None:
            connection.register(source.arrow_name, source.arrow)
            sources.arrow_bytes += source.arrow_bytes
        connection.execute(source.view_sql)
        sources.schema.setdefault(ref.database, {})[ref.table] = source.columns
        sources.created.add(key)

    def _shared_source(self, ref: dialect.TableRef, table: Table, sources: _Sources) -> None:
        """A table read by path: the view every query of this table version shares
        (:mod:`fogbank.query.shared`), made here when there is none yet."""
        assert self._shared is not None
        union = sources.union_by_name

        def make(schema: str, folder: Path) -> tuple[str, dict[str, str]]:
            source = table_source(
                self._catalog,
                self._lake,
                folder,
                ref.database,
                ref.table,
                union_by_name=union,
                view_schema=schema,
                table=table,
            )
            return source.view_sql, source.columns

        where = places(self._catalog, table)
        try:
            # read before the listing: a write after it moves a marker, so nothing is missed
            markers: tuple[Any, ...] | None = tuple(
                self._lake.change_marker(bucket)
                for bucket in sorted({parse_location(p)[0] for _, p in where if p[:5] == "s3://"})
            )
        except FogbankError:
            markers = None  # a bucket that is gone reads as empty: listed every time
        listing_key = (ref.database, ref.table, table.version_id, table.update_time, union, where)
        try:
            view = self._shared.acquire(
                (ref.database, ref.table, union),
                self._shared.listed(
                    listing_key,
                    markers,
                    lambda: fingerprint(self._catalog, self._lake, table, union_by_name=union),
                ),
                make,
            )
        except QueryFailed as failure:
            if failure.line is None:
                failure = QueryFailed(
                    failure.category, failure.message, line=ref.line, column=ref.column
                )
            raise failure from None
        self._held.append(view)
        self._shared_schemas[(ref.database, ref.table)] = view.schema
        sources.schema.setdefault(ref.database, {})[ref.table] = view.columns

    def _view_source(
        self,
        connection: Any,
        ref: dialect.TableRef,
        table: Table,
        sources: _Sources,
        chain: tuple[tuple[str, str], ...],
    ) -> None:
        """A stored view as a DuckDB view of its query, its own tables and views made
        first; it fails as Trino fails a view it cannot analyse ("Failed analyzing
        stored view"), at the place the query names it."""
        name = f"awsdatacatalog.{ref.database}.{ref.table}"
        definition = views.decode(table)
        if definition is None:
            raise QueryFailed(
                "NOT_SUPPORTED",
                f"View '{name}' is not an Athena (Presto) view: its ViewOriginalText is not "
                "'/* Presto View: <base64> */'; fogbank reads the views Athena makes",
                line=ref.line,
                column=ref.column,
            )
        key = (ref.database, ref.table)
        if key in chain:
            raise QueryFailed(
                "VIEW_IS_RECURSIVE", "View is recursive", line=ref.line, column=ref.column
            )
        try:
            statement = dialect.parse_statement(definition.original_sql)
            if statement.tree is None or statement.substatement != "SELECT":
                raise QueryFailed("SYNTAX_ERROR", "the stored SQL is not a query")
            for inner in dialect.referenced_tables(statement.tree, definition.schema):
                self._source(connection, inner, sources, (*chain, key))
            sql = self._translate(
                statement.tree,
                sources.schema,
                text=definition.original_sql,
                database=definition.schema,
            )
            try:
                relation = connection.sql(sql)
                found = list(zip(relation.columns, relation.types, strict=True))
            except duckdb.Error as error:
                raise _translate(error, definition.original_sql) from None
        except QueryFailed as failure:
            if failure.category == "VIEW_IS_RECURSIVE":
                raise
            raise QueryFailed(
                "INVALID_VIEW",
                f"Failed analyzing stored view '{name}': {failure.detail}",
                line=ref.line,
                column=ref.column,
            ) from None
        stored = [column for column, _ in definition.columns]
        if stored and len(stored) != len(found):
            raise QueryFailed(
                "VIEW_IS_STALE",
                f"View '{name}' is stale or in invalid state: stored view column count "
                f"({len(stored)}) does not match column count derived from the view query "
                f"analysis ({len(found)}); CREATE OR REPLACE VIEW it",
                line=ref.line,
                column=ref.column,
            )
        names = stored or [column.lower() for column, _ in found]
        columns = ", ".join(_quoted(column) for column in names)
        view = f"{_quoted(self._prefix + ref.database)}.{_quoted(ref.table)}"
        connection.execute(f"CREATE VIEW {view} ({columns}) AS {sql}")
        sources.schema.setdefault(ref.database, {})[ref.table] = {
            column: str(kind) for column, (_, kind) in zip(names, found, strict=True)
        }

    # ------------------------------------------------------------------ CREATE VIEW

    def _create_view(self, statement: dialect.Statement) -> None:
        """CREATE [OR REPLACE] VIEW: the query is analysed on the tables it names (a
        missing one fails here, as in Trino's CreateViewTask), then stored in Glue as
        Athena stores it (:mod:`fogbank.query.views`). A DDL statement: no result rows,
        nothing scanned."""
        create = statement.tree
        assert isinstance(create, exp.Create)
        target = create.this
        if isinstance(target, exp.Schema):
            target = target.this
        assert isinstance(target, exp.Table)
        line, column = dialect.position_of(target)
        if target.catalog and target.catalog.lower() != dialect.DEFAULT_CATALOG:
            raise QueryFailed(
                "CATALOG_NOT_FOUND",
                f"Catalog '{target.catalog.lower()}' does not exist",
                line=line,
                column=column,
            )
        database = (target.db or self._database).lower()
        name = target.name.lower()
        if not self._database_exists(database):
            raise QueryFailed(
                "SCHEMA_NOT_FOUND", f"Schema '{database}' does not exist", line=line, column=column
            )
        query = create.expression
        found: list[views.ViewColumn] = []

        def analyse(connection: Any, sql: str) -> None:
            relation = connection.sql(sql)
            found.extend(
                views.view_column(column_name.lower(), str(kind))
                for column_name, kind in zip(relation.columns, relation.types, strict=True)
            )

        self._with_views(query, analyse)
        self._outcome.scanned = 0
        definition = views.ViewDefinition(
            original_sql=dialect.view_query_text(statement.sql),
            catalog=dialect.DEFAULT_CATALOG,
            schema=self._database,
            columns=tuple((c.name, c.trino_type) for c in found),
        )
        table_input = views.table_input(name, definition, found)
        exists = QueryFailed("ALREADY_EXISTS", f"View already exists: '{database}.{name}'")
        try:
            existing: Table | None = self._catalog.get_table(database, name)
        except EntityNotFoundException:
            existing = None
        if existing is None:
            try:
                self._catalog.create_table(database, table_input)
            except AlreadyExistsException:
                raise exists from None
        elif create.args.get("replace") and views.is_view(existing):
            self._catalog.update_table(database, table_input)
        else:
            # Trino's Hive connector: a name taken by a table, or a view without OR REPLACE
            raise exists
        self._write([], iter([[]]), csv=False)

    def _database_exists(self, name: str) -> bool:
        try:
            self._catalog.get_database(name)
        except Exception:
            return False
        return True

    def _workgroup_cutoff(self) -> int | None:
        """The workgroup's BytesScannedCutoffPerQuery when the query was submitted."""
        cutoff = self._request.get("BytesScannedCutoffPerQuery")
        return None if cutoff is None else int(cutoff)

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


class _OverCutoff(Exception):
    """The query read more than its workgroup's BytesScannedCutoffPerQuery."""


@dataclass
class _Sources:
    """What one execution's DuckDB views are being made of."""

    schemas: list[str]
    union_by_name: bool
    created: set[tuple[str, str]] = field(default_factory=set)
    schema: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    arrow_bytes: int = 0


def _streamed(connection: Any, sql: str) -> tuple[list[tuple[str, str]], Any]:
    """A SELECT's columns (name, DuckDB type) and an Arrow reader streaming its rows.

    A relation (``connection.sql``) binds the query to learn its columns and binds it
    again to run it, and binding reads every Parquet footer the query touches (3 ms for
    TPC-H Q2). DuckDB 2's streaming result says its columns itself; that call is not
    public, so any other DuckDB takes the relation's way."""
    submit = getattr(connection, "_submit", None)
    if submit is not None:
        try:
            result = submit(sql, None, "stream", _BATCH)
            described = [(str(d[0]), str(d[1])) for d in result.description]
            reader = result.arrow_reader()
        except (TypeError, AttributeError):
            pass  # another DuckDB's private call of that name
        else:
            return described, reader
    relation = connection.sql(sql)
    described = [(str(n), str(k)) for n, k in zip(relation.columns, relation.types, strict=True)]
    return described, relation.to_arrow_reader(_BATCH)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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
