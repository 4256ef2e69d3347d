"""Athena's query executions on DuckDB: submit, run in a bounded pool, stop, read results.

An execution is a ``query-execution`` resource in the control-plane store (service
``athena``), with its state QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED, and a
``query-order`` resource per execution named so that a workgroup's executions list
newest first. :meth:`Queries.start_query_execution` stores the execution QUEUED and hands
it to a pool of worker threads; it never waits for the query.

A worker parses the statement (:mod:`fogbank.query.dialect`), then either runs DDL on
the catalog (:mod:`fogbank.query.ddl`) or runs the query on its own DuckDB connection,
where every table the query names is a view over the lake's files
(:mod:`fogbank.query.tables`). The result is streamed to ``<OutputLocation>/<id>.csv``
(``.txt`` for DDL) with its ``.metadata``; DataScannedInBytes is what DuckDB read from
the lake's files, as its profiler counts it. StopQueryExecution interrupts the DuckDB
query. An execution whose process ended mid-run is marked FAILED the next time the
store is opened.

As on Athena, the result file is named when the query is submitted (GetQueryExecution's
``ResultConfiguration.OutputLocation`` shows it while the query is queued or running,
and after it fails), but it exists, and GetQueryResults answers, only once the query
has SUCCEEDED: Athena uploads its result as it ends (an S3 object is visible once
whole), and its GetQueryResults refuses a query that has not finished ("Query has not
yet finished. Current state: RUNNING").

Workgroups (``primary`` always there), named queries and prepared statements are kept
in the same store: :mod:`fogbank.query.workgroups`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import math
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fogbank.catalog.engine import Catalog
from fogbank.core.clock import Clock
from fogbank.core.errors import InvalidRequestException
from fogbank.core.store import ControlPlaneStore, Put, Resource
from fogbank.lake.engine import Lake
from fogbank.lake.names import parse_location
from fogbank.query import results
from fogbank.query.dialect import result_name
from fogbank.query.errors import SYSTEM, QueryFailed
from fogbank.query.metadata import Metadata
from fogbank.query.workgroups import WorkGroups, batch_find

log = logging.getLogger(__name__)

SERVICE = "athena"
EXECUTION, ORDER, TOKEN = "query-execution", "query-order", "request-token"
QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = (
    "QUEUED",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "CANCELLED",
)
FINAL = (SUCCEEDED, FAILED, CANCELLED)
_SEP = "\x1f"
_ORDER_CEILING = 10**15
# Athena's price: USD 5 per TB scanned, rounded up to the MB, 10 MB at least.
PRICE_PER_TB = 5.0
MINIMUM_BYTES = 10 * 1024 * 1024
MAX_PAGE = 1000


@dataclass(frozen=True)
class QueryExecution:
    """GetQueryExecution's QueryExecution."""

    query_execution_id: str
    query: str
    statement_type: str | None
    substatement_type: str | None
    work_group: str
    database: str | None
    catalog: str
    output_location: str | None
    state: str
    state_change_reason: str | None
    submission_time: datetime
    completion_time: datetime | None
    athena_error: Mapping[str, Any] | None
    data_scanned_bytes: int
    engine_ms: int
    queue_ms: int
    total_ms: int
    planning_ms: int
    execution_parameters: tuple[str, ...]
    cost_usd: float
    """What Athena would charge: USD 5 per TB scanned, at least 10 MB (fogbank's own)."""
    update_count: int | None = None


@dataclass(frozen=True)
class ResultPage:
    columns: list[results.Column]
    rows: list[list[str | None]]
    next_token: str | None
    update_count: int | None


@dataclass
class _Running:
    stop: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    """Set once the execution's final record is stored."""
    connection: Any = None


def cost_usd(scanned: int) -> float:
    """Athena's charge for ``scanned`` bytes: per MB (rounded up), 10 MB at least."""
    megabytes = max(math.ceil(scanned / 2**20), MINIMUM_BYTES // 2**20) if scanned else 0
    return megabytes * 2**20 / 2**40 * PRICE_PER_TB


class Queries:
    """Every query execution of one account and region, and the threads running them."""

    def __init__(
        self,
        store: ControlPlaneStore,
        lake: Lake,
        catalog: Catalog,
        *,
        clock: Clock,
        scratch: Path,
        account_id: str,
        region: str,
        workers: int = 4,
    ) -> None:
        self._store = store
        self._lake = lake
        self._catalog = catalog
        self._clock = clock
        self._scratch = scratch
        self.account_id = account_id
        self.region = region
        self.workgroups = WorkGroups(store, clock=clock, account_id=account_id, region=region)
        self.metadata = Metadata(catalog)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="athena")
        self._records = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="athena-record")
        """Where a run's RUNNING record is written while the run goes on."""
        self._duckdb: Any = None
        """One DuckDB database for every query, opened by the first (:meth:`_database`)."""
        self._meter: Any = None
        """The :class:`fogbank.query.meter.ScanMeter` of that database."""
        self._shared: Any = None
        """The :class:`fogbank.query.shared.SharedViews` of that database."""
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self.recover()

    # ------------------------------------------------------------------ lifecycle

    def start_query_execution(
        self,
        query: str,
        *,
        database: str | None = None,
        catalog: str | None = None,
        output_location: str | None = None,
        work_group: str | None = None,
        client_request_token: str | None = None,
        execution_parameters: Sequence[str] = (),
    ) -> str:
        """StartQueryExecution: the execution is stored QUEUED and runs in the pool; its
        id comes back at once. A repeated ClientRequestToken gives the same id."""
        group = self.workgroups.get_work_group(work_group or "primary")
        if group.state != "ENABLED":
            raise InvalidRequestException(
                f"WorkGroup {group.name} is disabled; enable it with UpdateWorkGroup "
                "(State ENABLED) or run the query in another workgroup.",
                AthenaErrorCode="INVALID_INPUT",
            )
        if not query.strip():
            raise InvalidRequestException(
                "QueryString is empty; give the SQL statement to run.",
                AthenaErrorCode="INVALID_INPUT",
            )
        configured = group.configuration.get("ResultConfiguration") or {}
        if group.configuration.get("EnforceWorkGroupConfiguration"):
            output_location = configured.get("OutputLocation") or output_location
        else:
            output_location = output_location or configured.get("OutputLocation")
        if not output_location:
            raise InvalidRequestException(
                "No output location provided. An output location is required either through "
                "the Workgroup result configuration setting or as an API input.",
                AthenaErrorCode="INVALID_INPUT",
            )
        if not output_location.startswith("s3://"):
            raise InvalidRequestException(
                f"OutputLocation {output_location!r} is not an S3 location; give one such as "
                "s3://bucket/athena-results/.",
                AthenaErrorCode="INVALID_INPUT",
            )
        request = {
            "Query": query,
            "Database": database,
            "Catalog": catalog,
            "OutputLocation": output_location,
            "WorkGroup": group.name,
            "ExecutionParameters": list(execution_parameters),
        }
        if client_request_token is not None:
            held = self._store.find_resource(SERVICE, TOKEN, client_request_token)
            if held is not None:
                if held.body["Request"] != request:
                    raise InvalidRequestException(
                        "Idempotent parameters do not match: ClientRequestToken "
                        f"{client_request_token} was used before with another request.",
                        AthenaErrorCode="INVALID_INPUT",
                    )
                return str(held.body["QueryExecutionId"])
        execution_id = str(uuid.uuid4())
        now = self._now()
        planned = result_name(query, execution_id)
        body = {
            **request,
            # Athena names the result file when the query is submitted: GetQueryExecution
            # shows it while the query is queued or running, and after it fails
            "PlannedResultFile": f"{output_location.rstrip('/')}/{planned}" if planned else None,
            "QueryExecutionId": execution_id,
            # the workgroup's cutoff when the query was submitted is the one it runs under
            "BytesScannedCutoffPerQuery": group.configuration.get("BytesScannedCutoffPerQuery"),
            "SubmissionDateTime": now.isoformat(),
            "SubmittedMonotonic": self._clock.monotonic(),
            "Owner": {"Host": socket.gethostname(), "Pid": os.getpid()},
        }
        millis = int(now.timestamp() * 1000)
        arn = self._arn(group.name, execution_id)
        # the execution and its place in ListQueryExecutions' order: one commit
        queued, _ = self._store.put_resources(
            SERVICE,
            [
                Put(EXECUTION, execution_id, arn, body, QUEUED),
                Put(
                    ORDER,
                    f"{group.name}{_SEP}{_ORDER_CEILING - millis:016d}{_SEP}{execution_id}",
                    arn + "/order",
                    {"QueryExecutionId": execution_id},
                ),
            ],
            create_only=True,
        )
        if client_request_token is not None:
            with contextlib.suppress(Exception):
                self._store.put_resource(
                    SERVICE,
                    TOKEN,
                    client_request_token,
                    arn + "/token",
                    {"QueryExecutionId": execution_id, "Request": request},
                    create_only=True,
                )
        running = _Running()
        with self._lock:
            self._running[execution_id] = running
        self._pool.submit(self._run, queued, running)
        return execution_id

    def get_query_execution(self, execution_id: str, *, hold: float = 0.0) -> QueryExecution:
        """GetQueryExecution. With ``hold``, an execution this process is running is
        answered when it ends or after ``hold`` seconds, whichever comes first: a client
        polling between sleeps learns of the end at once instead of a sleep later."""
        resource = self._resource(execution_id)
        if hold > 0 and resource.state not in FINAL:
            with self._lock:
                running = self._running.get(execution_id)
            if running is not None and running.done.wait(hold):
                resource = self._resource(execution_id)
        return self._execution(resource)

    def batch_get_query_execution(
        self, ids: Sequence[str]
    ) -> tuple[list[QueryExecution], list[dict[str, str]]]:
        found, missing = batch_find(
            self._store, EXECUTION, ids, "QueryExecutionId", "QueryExecution"
        )
        return [self._execution(r) for r in found], missing

    def list_query_executions(
        self, *, work_group: str | None = None, max_results: int = 50, next_token: str | None = None
    ) -> tuple[list[str], str | None]:
        """ListQueryExecutions: ids of a workgroup's executions, newest first."""
        group = self.workgroups.get_work_group(work_group or "primary").name
        page, token = self._store.list_resources(
            SERVICE,
            ORDER,
            max_results=max_results,
            next_token=next_token,
            name_prefix=group + _SEP,
        )
        return [str(r.body["QueryExecutionId"]) for r in page], token

    def stop_query_execution(self, execution_id: str) -> None:
        """StopQueryExecution: a queued query never starts, a running one is interrupted;
        either ends CANCELLED. Stopping a finished query changes nothing."""
        resource = self._resource(execution_id)
        if resource.state in FINAL:
            return
        with self._lock:
            running = self._running.get(execution_id)
        if running is None:  # run by another process, or lost: it ends here
            self._finish(execution_id, CANCELLED, "Query was cancelled by the user")
            return
        running.stop.set()
        # Interrupt until the run has ended: a stop that lands between two of the run's
        # statements would otherwise miss the query that follows.
        threading.Thread(target=self._interrupt, args=(execution_id, running), daemon=True).start()

    def _interrupt(self, execution_id: str, running: _Running) -> None:
        deadline = time.monotonic() + 120.0
        while time.monotonic() < deadline:
            with self._lock:
                if self._running.get(execution_id) is not running:
                    return
            connection = running.connection
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.interrupt()
            time.sleep(0.02)

    def wait(self, execution_id: str, timeout: float = 300.0) -> QueryExecution:
        """Block until the execution is final (real time: it waits for a thread)."""
        deadline = time.monotonic() + timeout
        while True:
            execution = self.get_query_execution(execution_id, hold=0.05)
            if execution.state in FINAL:
                return execution
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Query {execution_id} was still {execution.state} after {timeout} s"
                )
            time.sleep(0.005)

    def get_query_results(
        self, execution_id: str, *, max_results: int = MAX_PAGE, next_token: str | None = None
    ) -> ResultPage:
        """GetQueryResults: a page of the result file; for a SELECT the first row of the
        first page is the header."""
        resource = self._resource(execution_id)
        if resource.state != SUCCEEDED:
            reason = resource.body.get("StateChangeReason") or ""
            raise InvalidRequestException(
                f"Query has not yet finished. Current state: {resource.state}"
                if resource.state not in FINAL
                else f"Query did not finish successfully. Final query state: {resource.state}"
                + (f"\n{reason}" if reason else ""),
                AthenaErrorCode="INVALID_INPUT",
            )
        if not 1 <= max_results <= MAX_PAGE:
            raise InvalidRequestException(
                f"MaxResults must be from 1 to {MAX_PAGE}; got {max_results}.",
                AthenaErrorCode="INVALID_INPUT",
            )
        body = resource.body
        location = body.get("ResultFile")
        if not location:
            return ResultPage([], [], None, body.get("UpdateCount"))
        bucket, key = parse_location(location)
        with self._lake.get_object(bucket, key + ".metadata") as meta:
            columns, whole_lines = results.read_metadata(meta.read())
        offset, row = _read_token(next_token)
        info = self._lake.head_object(bucket, key)
        if offset >= info.size:
            return ResultPage(columns, [], None, body.get("UpdateCount"))
        # the result's own file, read in place from the page's offset
        with self._lake.local_path(bucket, key).open("rb") as stream:
            stream.seek(offset)
            rows, used, ended = results.read_rows(
                stream, csv=key.endswith(".csv"), limit=max_results, whole_lines=whole_lines
            )
        token = None if ended else _token(offset + used, row + len(rows))
        return ResultPage(columns, rows, token, body.get("UpdateCount"))

    def get_query_runtime_statistics(self, execution_id: str) -> dict[str, Any]:
        """GetQueryRuntimeStatistics: timeline and rows, from the execution's record."""
        execution = self.get_query_execution(execution_id)
        body = self._resource(execution_id).body
        return {
            "Timeline": {
                "QueryQueueTimeInMillis": execution.queue_ms,
                "QueryPlanningTimeInMillis": execution.planning_ms,
                "EngineExecutionTimeInMillis": execution.engine_ms,
                "ServiceProcessingTimeInMillis": 0,
                "TotalExecutionTimeInMillis": execution.total_ms,
            },
            "Rows": {
                "InputRows": int(body.get("InputRows", 0)),
                # what it read, which a query stopped at its cutoff reads past it
                "InputBytes": int(body.get("BytesRead", execution.data_scanned_bytes)),
                "OutputBytes": int(body.get("OutputBytes", 0)),
                "OutputRows": int(body.get("OutputRows", 0)),
            },
        }

    def close(self) -> None:
        """Cancel what runs and wait for the workers: each execution ends CANCELLED."""
        with self._lock:
            running = dict(self._running)
        for execution_id in running:
            with contextlib.suppress(Exception):
                self.stop_query_execution(execution_id)
        self._pool.shutdown(wait=True, cancel_futures=False)
        self._records.shutdown(wait=True)
        if self._meter is not None:
            self._meter.close()
        if self._shared is not None:
            self._shared.close()
        if self._duckdb is not None:
            self._duckdb.close()

    def recover(self) -> None:
        """Mark FAILED every unfinished execution whose process on this host is gone."""
        token: str | None = None
        while True:
            page, token = self._store.list_resources(
                SERVICE, EXECUTION, max_results=100, next_token=token
            )
            for resource in page:
                if resource.state in FINAL or not _abandoned(resource):
                    continue
                self._finish(
                    resource.name,
                    FAILED,
                    "The query was interrupted: the fogbank process running it ended. "
                    "Run it again.",
                    error={"ErrorCategory": SYSTEM, "ErrorType": 401, "Retryable": True},
                )
            if token is None:
                return

    # ------------------------------------------------------------------ the run

    def _run(self, queued: Resource, running: _Running) -> None:
        """A worker's run of one execution, from its QUEUED record as stored."""
        execution_id = queued.name
        try:
            if running.stop.is_set():
                self._finish(execution_id, CANCELLED, "Query was cancelled by the user")
                return
            body = self._running_body(queued)
            # RUNNING is stored while the query runs, not before: a crash leaves a
            # QUEUED or RUNNING record that recover() fails alike, and the commit's
            # wait stays off the query's path
            begun = self._records.submit(self._begin, execution_id, body)
            from fogbank.query.run import Run  # DuckDB and Arrow load with the first query

            outcome = Run(
                self._catalog,
                self._lake,
                self._scratch / execution_id,
                body,
                running,
                self.workgroups,
                duckdb_database=self._database(),
                meter=self._meter,
                shared=self._shared,
            ).execute()
            started = begun.result()
            if started is None:  # ended meanwhile (stopped from another process)
                return
            self._complete(execution_id, outcome, running, started)
        except Exception as error:  # the run's own bug must still end the execution
            log.exception("query %s failed", execution_id)
            self._finish(
                execution_id,
                FAILED,
                f"GENERIC_INTERNAL_ERROR: {error!r}",
                error={"ErrorCategory": SYSTEM, "ErrorType": 401, "Retryable": False},
            )
        finally:
            running.done.set()
            with self._lock:
                self._running.pop(execution_id, None)
            shutil.rmtree(self._scratch / execution_id, ignore_errors=True)

    def _running_body(self, resource: Resource) -> dict[str, Any]:
        return {
            **resource.body,
            "StartDateTime": self._now().isoformat(),
            "StartedMonotonic": self._clock.monotonic(),
        }

    def _begin(self, execution_id: str, body: Mapping[str, Any]) -> Resource | None:
        """QUEUED -> RUNNING; None when the execution was no longer QUEUED."""
        return self._store.replace_resource(
            SERVICE, EXECUTION, execution_id, body, state=RUNNING, expected_state=QUEUED
        )

    def _complete(
        self, execution_id: str, outcome: Any, running: _Running, started: Resource
    ) -> None:
        if outcome.failure is not None:
            failure: QueryFailed = outcome.failure
            error = {
                "ErrorCategory": failure.error_category,
                "ErrorType": 1000 if failure.error_category != SYSTEM else 401,
                "Retryable": failure.error_category == SYSTEM,
                "ErrorMessage": failure.reason,
            }
            self._finish(
                execution_id,
                FAILED,
                failure.reason,
                error=error,
                outcome=outcome,
                started=started,
            )
            return
        if outcome.cancelled_reason is not None or running.stop.is_set():
            self._finish(
                execution_id,
                CANCELLED,
                outcome.cancelled_reason or "Query was cancelled by the user",
                outcome=outcome,
                started=started,
            )
            return
        self._finish(execution_id, SUCCEEDED, None, outcome=outcome, started=started)

    def _finish(
        self,
        execution_id: str,
        state: str,
        reason: str | None,
        *,
        error: Mapping[str, Any] | None = None,
        outcome: Any = None,
        started: Resource | None = None,
    ) -> None:
        """The execution's final state and record. ``started`` is the record its run
        began from: the final one replaces it in one write, unless another process
        ended the execution meanwhile (StopQueryExecution), whose state stands."""
        if started is not None:
            body = self._final_body(started.body, reason, error, outcome)
            if (
                self._store.replace_resource(
                    SERVICE, EXECUTION, execution_id, body, state=state, expected_state=RUNNING
                )
                is not None
            ):
                return
        resource = self._store.find_resource(SERVICE, EXECUTION, execution_id)
        if resource is None or resource.state in FINAL:
            return
        body = self._final_body(resource.body, reason, error, outcome)
        self._store.put_resource(SERVICE, EXECUTION, execution_id, resource.arn, body, state=state)

    def _final_body(
        self,
        current: Mapping[str, Any],
        reason: str | None,
        error: Mapping[str, Any] | None,
        outcome: Any,
    ) -> dict[str, Any]:
        body = dict(current)
        body["CompletionDateTime"] = self._now().isoformat()
        body["CompletedMonotonic"] = self._clock.monotonic()
        if reason is not None:
            body["StateChangeReason"] = reason
        if error is not None:
            body["AthenaError"] = dict(error)
        if outcome is not None:
            body.update(outcome.record())
        for member in ("Owner",):
            body.pop(member, None)
        return body

    # ------------------------------------------------------------------ plumbing

    def _database(self) -> Any:
        """The DuckDB database every query is a connection of (cheap, where a database
        of its own costs ~15 ms); memory is shared and capped once. Opened on first use,
        so that a Fogbank that runs no query never loads DuckDB."""
        with self._lock:
            if self._duckdb is None:
                import duckdb

                database = duckdb.connect()
                database.execute("SET memory_limit = '80%'")
                database.execute(f"SET temp_directory = '{self._scratch / 'spill'}'")
                # DuckDB would push a text column's TRY_CAST into the CSV reader as its
                # column type, and the reader fails on a bad value where Hive's SerDe
                # gives NULL
                database.execute("SET disabled_optimizers = 'type_pushdown'")
                from fogbank.query.meter import ScanMeter
                from fogbank.query.shared import SharedViews

                self._meter = ScanMeter(database)
                self._shared = SharedViews(database, _shared_folder(self._scratch))
                self._duckdb = database
            return self._duckdb

    def _now(self) -> datetime:
        return self._clock.now().astimezone(UTC)

    def _arn(self, group: str, execution_id: str) -> str:
        return f"arn:aws:athena:{self.region}:{self.account_id}:workgroup/{group}/{execution_id}"

    def _resource(self, execution_id: str) -> Resource:
        found = self._store.find_resource(SERVICE, EXECUTION, execution_id)
        if found is None:
            raise InvalidRequestException(
                f"QUERY_NOT_FOUND: Query {execution_id} was not found. "
                "ListQueryExecutions lists a workgroup's queries.",
                AthenaErrorCode="INVALID_INPUT",
            )
        return found

    def _execution(self, resource: Resource) -> QueryExecution:
        body = resource.body
        submitted = datetime.fromisoformat(body["SubmissionDateTime"])
        completed = (
            datetime.fromisoformat(body["CompletionDateTime"])
            if body.get("CompletionDateTime")
            else None
        )
        submitted_at = float(body.get("SubmittedMonotonic", 0.0))
        started_at = body.get("StartedMonotonic")
        completed_at = body.get("CompletedMonotonic")
        now = self._clock.monotonic()
        queue_end = (
            float(started_at)
            if started_at is not None
            else (float(completed_at) if completed_at is not None else now)
        )
        end = float(completed_at) if completed_at is not None else now
        engine = float(body.get("EngineSeconds", 0.0))
        if started_at is not None and completed_at is None:
            engine = now - float(started_at)
        scanned = int(body.get("DataScannedInBytes", 0))
        return QueryExecution(
            query_execution_id=resource.name,
            query=body["Query"],
            statement_type=body.get("StatementType"),
            substatement_type=body.get("SubstatementType"),
            work_group=body["WorkGroup"],
            database=body.get("Database"),
            catalog=body.get("Catalog") or "AwsDataCatalog",
            output_location=body.get("ResultFile") or body.get("PlannedResultFile"),
            state=resource.state,
            state_change_reason=body.get("StateChangeReason"),
            submission_time=submitted,
            completion_time=completed,
            athena_error=body.get("AthenaError"),
            data_scanned_bytes=scanned,
            engine_ms=int(engine * 1000),
            queue_ms=int(max(0.0, queue_end - submitted_at) * 1000),
            total_ms=int(max(0.0, end - submitted_at) * 1000),
            planning_ms=int(float(body.get("PlanningSeconds", 0.0)) * 1000),
            execution_parameters=tuple(body.get("ExecutionParameters") or ()),
            cost_usd=cost_usd(scanned) if resource.state in (SUCCEEDED, CANCELLED) else 0.0,
            update_count=body.get("UpdateCount"),
        )


def _abandoned(resource: Resource) -> bool:
    owner = resource.body.get("Owner") or {}
    if owner.get("Host") not in (None, socket.gethostname()):
        return False
    pid = owner.get("Pid")
    if not isinstance(pid, int):
        return True
    if pid == os.getpid():
        return False  # an earlier Queries of this process: it finishes what it started
    return not _alive(pid)


def _shared_folder(scratch: Path) -> Path:
    """This process's folder for the shared views' links, under ``shared-tables/``
    (processes sharing a home each have their own); the folders of processes that
    have ended are removed."""
    root = scratch / "shared-tables"
    if root.is_dir():
        for child in root.iterdir():
            pid = child.name.split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(child, ignore_errors=True)
    return root / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _token(offset: int, row: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([offset, row]).encode()).decode()


def _read_token(token: str | None) -> tuple[int, int]:
    if not token:
        return 0, 0
    try:
        offset, row = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(offset), int(row)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidRequestException(
            "NextToken is not one GetQueryResults gave; start again without it.",
            AthenaErrorCode="INVALID_INPUT",
        ) from None
