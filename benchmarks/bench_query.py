"""The 22 TPC-H queries through fogbank's Athena, against DuckDB on the same files, and MiniStack.

The data is TPC-H at scale factor 1 (``--quick``: 0.1; ``--scale N``), generated with
numpy (:mod:`benchmarks.tpch_data`: DuckDB's ``tpch`` extension cannot be downloaded
here) and cached as Parquet under ``--dir`` (default the system temp folder), in
``fogbank-bench-tpch/sf<N>/``, so a rerun skips the generation. The files go into a
fresh fogbank home's lake as ``s3://tpch/<table>/part-NN.parquet`` (lineitem in 8 files,
orders in 4, partsupp in 2) and each table is registered in the Glue catalog through
boto3 (Parquet SerDe, Hive types: bigint, int, decimal(15,2), string, date).

Each query (:mod:`benchmarks.tpch_queries`: Athena's Trino SQL, the spec's default
parameters) runs:

(a) through fogbank's Athena on ``fogbank serve`` (a subprocess, ``FOGBANK_LIMITS=false``),
    driven by boto3: StartQueryExecution, GetQueryExecution every 20 ms until it is
    final, then every GetQueryResults page (1,000 rows), timed end to end;
(b) on DuckDB in this process over the very same Parquet files (views
    ``tpch.<table>`` over ``read_parquet``), the SQL translated by sqlglot trino ->
    duckdb, every row fetched: the floor fogbank's Athena is set against;
(c) through MiniStack's Athena (its own S3 and Glue, loaded with the same files through
    boto3), once per query: its time and whether its rows are right;
(d) boto3's own time for (a)'s calls: the query runs once more with fogbank's answers
    recorded, then the same client code runs against those answers given back inside
    the client (botocore's ``before-send`` hook: no socket, no server), median of 5.
    The ``vs duckdb+boto3`` column sets fogbank's time against DuckDB's plus that: a
    floor no server can go under.

(a) and (b) take turns, one warm-up each then ``--rounds`` timed runs (3; ``--quick``: 1),
the order alternating between rounds; each time is the median. Rows are compared with
DuckDB's after sorting, numbers within a relative 1e-6. The goal: fogbank's Athena within
1.15x of DuckDB on every query; the table shows each ratio and their geometric mean.
Times are set against nothing else; a missed goal is reported, never an error (exit 0).

MiniStack runs its Athena on DuckDB when it can import ``duckdb`` and otherwise answers
every SELECT with a made-up row (its "mock" engine). Its install in ``.venv-peers`` has
no duckdb, so by default (``--ministack-engine duckdb``) the benchmark lends it this
interpreter's duckdb through ``PYTHONPATH`` (a folder of links, when both interpreters
are the same Python version); ``--ministack-engine installed`` runs it as installed.

    python -m benchmarks query [--quick] [--scale N] [--rounds N] [--dir DIR] [--json PATH]
        [--peers-python PY] [--ministack-engine duckdb|installed] [--no-ministack]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import boto3
import duckdb
import sqlglot
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.config import Config
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchmarks import tpch_data, tpch_queries
from benchmarks.common import console as wide_console
from benchmarks.common import parser, write_results
from benchmarks.servers import HOST, PEERS_PYTHON_ENV, ServerProcess, find_peer
from fogbank.gateway.server import free_port

FOGBANK, DUCKDB, MINISTACK = "fogbank", "duckdb", "ministack"
DATABASE = "tpch"
DATA_BUCKET = "tpch"
RESULTS_BUCKET = "athena-results"
OUTPUT = f"s3://{RESULTS_BUCKET}/tpch/"
POLL = 0.02  # seconds between GetQueryExecution calls
PAGE = 1000  # GetQueryResults' MaxResults
QUERY_TIMEOUT = 900.0  # seconds one Athena query may take before it counts as failed
GOAL_RATIO = 1.15  # fogbank's Athena / DuckDB, at most, per query
REL_TOL = 1e-6
ABS_TOL = 1e-9
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

# `fogbank --home HOME serve`, when the console script is not next to this interpreter.
FOGBANK_CLI = "from fogbank.cli import main; main()"


# ---------------------------------------------------------------------------- servers


@dataclass
class Server(ServerProcess):
    """An Athena server in a subprocess: fogbank's gateway or MiniStack."""

    def ready_probe(self) -> tuple[Callable[[], object], str]:
        athena = client(self.endpoint_url, "athena", read_timeout=5)
        return athena.list_work_groups, "ListWorkGroups"


def client(endpoint_url: str, service: str, *, read_timeout: float = 300) -> Any:
    """A boto3 client as a user makes one; no retries, so that an error shows."""
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).client(
        service,
        endpoint_url=endpoint_url,
        config=Config(
            retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=read_timeout
        ),
    )


def fogbank_server(scratch: Path, home: Path) -> Server:
    import fogbank

    port = free_port(HOST)
    script = Path(sys.executable).parent / "fogbank"
    cli = [str(script)] if script.exists() else [sys.executable, "-c", FOGBANK_CLI]
    return Server(
        FOGBANK,
        argv=[*cli, "--home", str(home), "serve", "--host", HOST, "--port", str(port)],
        env={"FOGBANK_LIMITS": "false", "FOGBANK_HOME": str(home)},
        version=fogbank.__version__,
        port=port,
        cwd=scratch,
    )


def _python_version(python: str) -> str:
    done = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.stdout.strip()


def _duckdb_shim(scratch: Path) -> Path:
    """A folder of links to this interpreter's duckdb package, for PYTHONPATH."""
    shim = scratch / "ministack-duckdb"
    shim.mkdir(exist_ok=True)
    package = Path(duckdb.__file__).resolve().parent
    site = package.parent
    names = [package.name, *(p.name for p in site.glob("_duckdb*.so"))]
    names += [p.name for p in site.glob("duckdb-*.dist-info")]
    for name in names:
        (shim / name).symlink_to(site / name)
    return shim


def ministack_server(scratch: Path, peers_python: str | None, engine: str) -> Server:
    mini = Server(MINISTACK)
    repo_peers = Path(__file__).resolve().parent.parent / ".venv-peers" / "bin" / "python"
    if peers_python is None and not os.environ.get(PEERS_PYTHON_ENV) and repo_peers.exists():
        peers_python = str(repo_peers)  # `make bench` puts the peers there
    found = find_peer("ministack.app", "ministack", peers_python)
    if found is None:
        mini.problem = (
            "not installed: python -m venv .venv-peers && .venv-peers/bin/pip install "
            f"ministack, then --peers-python or ${PEERS_PYTHON_ENV}"
        )
        return mini
    python, mini.version = found
    mini.port = free_port(HOST)
    mini.argv = [python, "-m", "ministack"]
    mini_tmp = scratch / "ministack-tmp"
    mini_tmp.mkdir()
    mini.env = {
        "GATEWAY_PORT": str(mini.port),
        "BIND_HOST": HOST,
        "SERVICES": "s3,glue,athena",
        "PERSIST_STATE": "0",
        "IOT_MTLS_ENABLED": "0",
        "LOG_LEVEL": "WARNING",
        "TMPDIR": str(mini_tmp),
        "S3_DATA_DIR": str(mini_tmp / "s3"),
    }
    has_duckdb = (
        subprocess.run([python, "-c", "import duckdb"], capture_output=True, check=False).returncode
        == 0
    )
    if engine == "duckdb" and not has_duckdb:
        if _python_version(python) == _python_version(sys.executable):
            mini.env["PYTHONPATH"] = str(_duckdb_shim(scratch))
            mini.version += f" (+ duckdb {duckdb.__version__} lent through PYTHONPATH)"
        else:
            mini.version += " (no duckdb: its mock engine)"
    elif not has_duckdb:
        mini.version += " (as installed, no duckdb: its mock engine)"
    return mini


# ---------------------------------------------------------------------------- loading


def load_lake(home: Path, folder: Path) -> int:
    """Put every table's Parquet files in a fresh fogbank home's lake (before the server
    starts, through the Python API); the bytes put."""
    from fogbank import Fogbank, FogbankConfig

    total = 0
    with Fogbank(FogbankConfig.load(home=home, environ={}, limits=False)) as fb:
        fb.lake.create_bucket(DATA_BUCKET)
        fb.lake.create_bucket(RESULTS_BUCKET)
        for table in tpch_data.TABLES:
            for path in tpch_data.table_files(folder, table):
                with path.open("rb") as body:
                    fb.lake.put_object(DATA_BUCKET, f"{table}/{path.name}", body)
                total += path.stat().st_size
    return total


def upload(endpoint_url: str, folder: Path) -> None:
    """Create the buckets and upload every table's Parquet files through S3."""
    s3 = client(endpoint_url, "s3")
    for bucket in (DATA_BUCKET, RESULTS_BUCKET):
        s3.create_bucket(Bucket=bucket)
    for table in tpch_data.TABLES:
        for path in tpch_data.table_files(folder, table):
            s3.upload_file(str(path), DATA_BUCKET, f"{table}/{path.name}")


def register(endpoint_url: str) -> None:
    """The database and its 8 tables in the Glue catalog, through boto3."""
    glue = client(endpoint_url, "glue")
    glue.create_database(DatabaseInput={"Name": DATABASE})
    for table, columns in tpch_data.SCHEMA.items():
        glue.create_table(
            DatabaseName=DATABASE,
            TableInput={
                "Name": table,
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
                "StorageDescriptor": {
                    "Columns": [{"Name": name, "Type": kind} for name, kind in columns],
                    "Location": f"s3://{DATA_BUCKET}/{table}/",
                    "InputFormat": PARQUET_INPUT,
                    "OutputFormat": PARQUET_OUTPUT,
                    "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
                },
            },
        )


def duckdb_connection(folder: Path) -> Any:
    """DuckDB with a view ``tpch.<table>`` over each table's Parquet files."""
    connection = duckdb.connect()
    connection.execute(f"CREATE SCHEMA {DATABASE}")
    for table in tpch_data.TABLES:
        files = ", ".join(f"'{p}'" for p in tpch_data.table_files(folder, table))
        connection.execute(
            f"CREATE VIEW {DATABASE}.{table} AS SELECT * FROM read_parquet([{files}])"
        )
    connection.execute(f"SET schema = '{DATABASE}'")
    return connection


# ---------------------------------------------------------------------------- running


@dataclass
class Answer:
    """One run of one query on one side."""

    seconds: float
    rows: list[list[Any]] = field(default_factory=list)
    error: str | None = None
    scanned: int | None = None
    engine: float | None = None
    """The server's own TotalExecutionTimeInMillis, in seconds."""
    fetch: float | None = None
    """Seconds spent in GetQueryResults, every page."""


def run_athena(athena: Any, sql: str, timeout: float = QUERY_TIMEOUT) -> Answer:
    """StartQueryExecution, poll until final, read every page; timed end to end."""
    started = time.perf_counter()
    try:
        execution_id = athena.start_query_execution(
            QueryString=sql,
            QueryExecutionContext={"Database": DATABASE},
            ResultConfiguration={"OutputLocation": OUTPUT},
        )["QueryExecutionId"]
        while True:
            execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
            state = execution["Status"]["State"]
            if state in ("SUCCEEDED", "FAILED", "CANCELLED"):
                break
            if time.perf_counter() - started > timeout:
                athena.stop_query_execution(QueryExecutionId=execution_id)
                return Answer(time.perf_counter() - started, error=f"over {timeout:.0f} s")
            time.sleep(POLL)
        stats = execution.get("Statistics") or {}
        scanned = stats.get("DataScannedInBytes")
        total_ms = stats.get("TotalExecutionTimeInMillis")
        if state != "SUCCEEDED":
            reason = execution["Status"].get("StateChangeReason") or ""
            return Answer(time.perf_counter() - started, error=f"{state}: {reason}")
        fetching = time.perf_counter()
        rows: list[list[Any]] = []
        token: str | None = None
        first = True
        while True:
            extra = {"NextToken": token} if token else {}
            page = athena.get_query_results(QueryExecutionId=execution_id, MaxResults=PAGE, **extra)
            data = page["ResultSet"]["Rows"]
            if first and data:
                data = data[1:]  # a SELECT's first row is the header
            first = False
            rows.extend([d.get("VarCharValue") for d in row["Data"]] for row in data)
            token = page.get("NextToken")
            if not token:
                break
    except Exception as error:  # an API error is this side's answer, not the bench's
        return Answer(time.perf_counter() - started, error=f"{type(error).__name__}: {error}")
    ended = time.perf_counter()
    return Answer(
        ended - started,
        rows=rows,
        scanned=scanned,
        engine=None if total_ms is None else total_ms / 1000,
        fetch=ended - fetching,
    )


def run_duckdb(connection: Any, sql: str) -> Answer:
    started = time.perf_counter()
    try:
        rows = [list(r) for r in connection.execute(sql).fetchall()]
    except duckdb.Error as error:
        return Answer(time.perf_counter() - started, error=f"{type(error).__name__}: {error}")
    return Answer(time.perf_counter() - started, rows=rows)


# ---------------------------------------------------------------------------- boto3's own time

REPLAYS = 5  # replays of one query's recorded answers; the median is its client time

Recorded = list[tuple[int, list[tuple[str, str]], bytes]]


class _RecordedBody(io.BytesIO):
    """A recorded answer's body, read as botocore reads one from urllib3."""

    def stream(self, amt: int = 1024 * 1024, decode_content: bool = False) -> Any:
        while chunk := self.read(amt):
            yield chunk


@contextlib.contextmanager
def _handling(made: Any, event: str, handler: Callable[..., Any]) -> Iterator[None]:
    """``handler`` on a boto3 client's ``event`` while the block runs."""
    made.meta.events.register(event, handler)
    try:
        yield
    finally:
        made.meta.events.unregister(event, handler)


def record_athena(athena: Any, sql: str) -> Recorded | None:
    """One more run of ``sql`` with fogbank's answers kept as sent: StartQueryExecution,
    the GetQueryExecution that found it final (not the polls before) and every page."""
    kept: list[tuple[str, int, list[tuple[str, str]], bytes]] = []

    def keep(response_dict: dict[str, Any], event_name: str, **_: Any) -> None:
        headers = list(response_dict["headers"].items())
        kept.append((event_name, response_dict["status_code"], headers, response_dict["body"]))

    with _handling(athena, "before-parse.athena", keep):
        answer = run_athena(athena, sql)
    if answer.error:
        return None
    polls = [i for i, k in enumerate(kept) if k[0].endswith(".GetQueryExecution")]
    return [
        (status, headers, body)
        for i, (_, status, headers, body) in enumerate(kept)
        if i not in polls[:-1]
    ]


class _Replay:
    """A ``before-send`` handler answering each request with the next recorded answer."""

    def __init__(self, recorded: Recorded) -> None:
        self._answers = iter(recorded)

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        status, headers, body = next(self._answers)
        wire = HTTPHeaders()
        for name, value in headers:
            wire.add_header(name, value)
        return AWSResponse(request.url, status, wire, _RecordedBody(body))


def boto3_seconds(replay: Any, sql: str, recorded: Recorded) -> float:
    """What boto3 itself spends on one query's calls: the same :func:`run_athena` with
    each request answered in the client by its recorded answer (``before-send``), so
    no socket and no server; what is left is boto3's building, signing and parsing."""
    times = []
    for _ in range(REPLAYS):
        with _handling(replay, "before-send.athena", _Replay(recorded)):
            ran = run_athena(replay, sql)
        if ran.error:
            raise RuntimeError(f"replaying the recorded answers failed: {ran.error}")
        times.append(ran.seconds)
    return statistics.median(times)


# ---------------------------------------------------------------------------- checking


def _kind(rows: Sequence[Sequence[Any]], column: int) -> str:
    for row in rows:
        value = row[column]
        if value is None:
            continue
        if isinstance(value, bool):
            return "text"
        if isinstance(value, int | float | Decimal):
            return "number"
        return "text"
    return "text"


def _normal(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "number":
        try:
            return float(value)
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _sort_key(row: Sequence[Any]) -> tuple[Any, ...]:
    key: list[Any] = []
    for value in row:
        if value is None:
            key.append((0, ""))
        elif isinstance(value, float):
            key.append((1, float(f"{value:.6g}")))
        else:
            key.append((2, str(value)))
    return tuple(key)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return bool(a == b)


def compare(expected: Sequence[Sequence[Any]], got: Sequence[Sequence[Any]]) -> str | None:
    """None when ``got`` (Athena's text values) has the rows of ``expected`` (DuckDB's
    values), in any order; else what differs."""
    if len(expected) != len(got):
        sample = f"; first row {list(got[0])!r}" if got else ""
        return f"{len(got)} rows, expected {len(expected)}{sample}"
    if not expected:
        return None
    width = len(expected[0])
    if any(len(row) != width for row in got):
        return f"{len(got[0])} columns, expected {width}"
    kinds = [_kind(expected, c) for c in range(width)]
    want = sorted(
        ([_normal(v, k) for v, k in zip(r, kinds, strict=True)] for r in expected), key=_sort_key
    )
    have = sorted(
        ([_normal(v, k) for v, k in zip(r, kinds, strict=True)] for r in got), key=_sort_key
    )
    for w, h in zip(want, have, strict=True):
        if not all(_same(a, b) for a, b in zip(w, h, strict=True)):
            return f"row {h!r}, expected {w!r}"
    return None


# ---------------------------------------------------------------------------- one query


@dataclass
class Side:
    """One side's runs of one query."""

    runs: list[float] = field(default_factory=list)
    error: str | None = None
    answer: Answer | None = None
    engine: list[float] = field(default_factory=list)
    """Athena's own TotalExecutionTimeInMillis per timed run, in seconds."""
    fetch: list[float] = field(default_factory=list)
    """GetQueryResults' seconds per timed run (all pages)."""

    @property
    def seconds(self) -> float | None:
        return statistics.median(self.runs) if self.runs and not self.error else None

    @property
    def engine_seconds(self) -> float | None:
        return statistics.median(self.engine) if self.engine and not self.error else None

    @property
    def fetch_seconds(self) -> float | None:
        return statistics.median(self.fetch) if self.fetch and not self.error else None


@dataclass
class Outcome:
    """Everything measured for one query."""

    number: int
    sides: dict[str, Side] = field(default_factory=dict)
    mismatch: str | None = None
    ministack_ok: bool = False
    ministack_note: str = ""
    boto3: float | None = None
    """boto3's own seconds for fogbank's calls of this query (:func:`boto3_seconds`)."""

    def side(self, name: str) -> Side:
        return self.sides.get(name) or Side(error="not run")

    @property
    def rows(self) -> int | None:
        for name in (FOGBANK, DUCKDB):
            answer = self.side(name).answer
            if answer is not None:
                return len(answer.rows)
        return None

    @property
    def scanned(self) -> int | None:
        answer = self.side(FOGBANK).answer
        return answer.scanned if answer is not None else None

    def ratio(self, name: str = FOGBANK, base: str = DUCKDB) -> float | None:
        top, bottom = self.side(name).seconds, self.side(base).seconds
        return top / bottom if top is not None and bottom else None

    @property
    def floor_ratio(self) -> float | None:
        """fogbank / (DuckDB + boto3's own time): against what no server can go under."""
        top, bottom = self.side(FOGBANK).seconds, self.side(DUCKDB).seconds
        if top is None or not bottom or self.boto3 is None:
            return None
        return top / (bottom + self.boto3)


Runner = Callable[[], Answer]


def measure(number: int, runners: dict[str, Runner], rounds: int) -> Outcome:
    """One warm-up and ``rounds`` timed runs on every side, taking turns; the order
    rotates each round. A side that fails stops there."""
    outcome = Outcome(number, {name: Side() for name in runners})
    names = list(runners)
    for round_ in range(rounds + 1):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            side = outcome.sides[name]
            if side.error:
                continue
            answer = runners[name]()
            if answer.error:
                side.error = answer.error
                continue
            side.answer = answer
            if round_:
                side.runs.append(answer.seconds)
                if answer.engine is not None:
                    side.engine.append(answer.engine)
                if answer.fetch is not None:
                    side.fetch.append(answer.fetch)
    expected = outcome.side(DUCKDB).answer
    fog = outcome.side(FOGBANK).answer
    if fog is not None and expected is not None:
        outcome.mismatch = compare(expected.rows, fog.rows)
    if MINISTACK in outcome.sides:
        judge_ministack(outcome)
    return outcome


def judge_ministack(outcome: Outcome) -> None:
    """What MiniStack's answer is worth, against DuckDB's."""
    side = outcome.sides[MINISTACK]
    expected = outcome.side(DUCKDB).answer
    if side.error:
        outcome.ministack_note = side.error  # "FAILED: <reason>", or the API error
        return
    answer = side.answer
    if answer is None:
        return
    if expected is None:
        outcome.ministack_note = f"{len(answer.rows)} rows (DuckDB failed: nothing to check)"
        return
    wrong = compare(expected.rows, answer.rows)
    if wrong is None:
        outcome.ministack_ok = True
        outcome.ministack_note = f"correct ({len(answer.rows)} rows)"
    elif not answer.rows:
        outcome.ministack_note = "returns no rows"
    else:
        outcome.ministack_note = f"wrong: {wrong}"


# ---------------------------------------------------------------------------- report


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def geometric_mean(values: Sequence[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def report(
    outcomes: list[Outcome],
    scale: float,
    rounds: int,
    servers: list[Server],
    console: Console,
) -> None:
    mini = next((s for s in servers if s.name == MINISTACK and s.ok), None)
    table = Table(
        title=(
            f"TPC-H SF {scale:g}: fogbank's Athena (boto3 -> fogbank serve) vs DuckDB on the "
            f"same Parquet files, median of {rounds} after 1 warm-up ({os.cpu_count()} CPUs)"
        )
    )
    columns = ["query", "fogbank s", "(engine s)", "(results s)", "(boto3 s)", "duckdb s"]
    columns += ["ratio", "vs duckdb+boto3", "rows"]
    columns.append("scanned MB")
    columns.append("check")
    if mini is not None:
        columns += ["ministack s", "ministack / fogbank", "ministack's answer"]
    for name in columns:
        left = name in ("query", "check", "ministack's answer")
        table.add_column(name, justify="left" if left else "right")
    for o in outcomes:
        fog, duck = o.side(FOGBANK), o.side(DUCKDB)
        ratio = o.ratio()
        ratio_cell = "-" if ratio is None else f"{ratio:.2f}x"
        if ratio is not None:
            colour = "green" if ratio <= GOAL_RATIO else "red"
            ratio_cell = f"[{colour}]{ratio_cell}[/{colour}]"
        if fog.error:
            check = f"[red]fogbank {escape(_short(fog.error, 60))}[/red]"
        elif duck.error:
            check = f"[yellow]duckdb {escape(_short(duck.error, 60))}[/yellow]"
        elif o.mismatch:
            check = f"[red]differs: {escape(_short(o.mismatch, 60))}[/red]"
        else:
            check = "[green]same rows[/green]"
        floor = o.floor_ratio
        row = [
            f"Q{o.number}",
            _seconds(fog.seconds),
            _seconds(fog.engine_seconds),
            _seconds(fog.fetch_seconds),
            _seconds(o.boto3),
            _seconds(duck.seconds),
            ratio_cell,
            "-" if floor is None else f"{floor:.2f}x",
            "-" if o.rows is None else f"{o.rows:,}",
            "-" if o.scanned is None else f"{o.scanned / 1e6:,.1f}",
            check,
        ]
        if mini is not None:
            versus = o.ratio(MINISTACK, FOGBANK) if o.ministack_ok else None
            row += [
                _seconds(o.side(MINISTACK).seconds),
                "-" if versus is None else f"{versus:.2f}x",
                escape(_short(o.ministack_note, 56)),
            ]
        table.add_row(*row)
    console.print(table)
    same = [o for o in outcomes if o.ratio() is not None and not o.mismatch]
    mean = geometric_mean([o.ratio() or 0.0 for o in same])
    met = sum(1 for o in same if (o.ratio() or 0.0) <= GOAL_RATIO)
    console.print(
        f"geometric mean fogbank / duckdb: {'-' if mean is None else f'{mean:.2f}x'} over "
        f"{len(same)} queries with the same rows; goal <= {GOAL_RATIO}x per query, met by "
        f"{met} of {len(outcomes)}"
    )
    floors = [o.floor_ratio for o in same if o.floor_ratio is not None]
    if floors:
        console.print(
            f"against DuckDB + boto3's own time (the client's work for the same calls, "
            f"answered in the client: what no server can go under): geometric mean "
            f"{geometric_mean(floors):.2f}x, within {GOAL_RATIO}x for "
            f"{sum(1 for f in floors if f <= GOAL_RATIO)} of {len(floors)}"
        )
    total_f = sum(o.side(FOGBANK).seconds or 0 for o in outcomes)
    total_d = sum(o.side(DUCKDB).seconds or 0 for o in outcomes)
    console.print(
        f"sum of medians: fogbank {total_f:.2f} s, duckdb {total_d:.2f} s. Of fogbank's "
        "time, (engine s) is its own TotalExecutionTimeInMillis and (results s) the "
        f"GetQueryResults pages ({PAGE} rows each); the rest is StartQueryExecution and "
        f"polling GetQueryExecution every {POLL * 1000:.0f} ms"
    )
    if mini is not None:
        right = [o for o in outcomes if o.ministack_ok]
        versus = geometric_mean([o.ratio(MINISTACK, FOGBANK) or 1.0 for o in right])
        console.print(
            f"ministack {mini.version}: {len(right)} of {len(outcomes)} queries right"
            + ("" if versus is None else f"; on those, ministack / fogbank {versus:.2f}x (geomean)")
        )
    for server in servers:
        if not server.ok:
            console.print(f"[yellow]{server.name} not measured: {escape(server.problem or '')}[/]")
    for o in outcomes:
        problem = o.side(FOGBANK).error or o.mismatch
        if problem:
            console.print(f"[red]Q{o.number} on fogbank: {escape(problem)}[/red]")


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    made = parser(
        "query",
        "The 22 TPC-H queries: fogbank's Athena vs DuckDB on the same files, and MiniStack.",
        "timed runs per query and side, after one warm-up (3; --quick: 1)",
    )
    made.add_argument(
        "--scale", type=float, default=None, help="TPC-H scale factor (1; --quick: 0.1)"
    )
    made.add_argument(
        "--peers-python",
        default=None,
        help=f"an interpreter with ministack installed (also ${PEERS_PYTHON_ENV})",
    )
    made.add_argument(
        "--ministack-engine",
        choices=("duckdb", "installed"),
        default="duckdb",
        help="lend MiniStack this interpreter's duckdb (its real engine), or run it as installed",
    )
    made.add_argument("--no-ministack", action="store_true", help="leave MiniStack out")
    made.add_argument(
        "--queries", default=None, help="only these queries, e.g. 1,6,14 (default: all 22)"
    )
    args = made.parse_args(argv)
    scale = args.scale if args.scale is not None else (0.1 if args.quick else 1.0)
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 3)
    numbers = (
        [int(n) for n in args.queries.split(",")] if args.queries else list(tpch_queries.QUERIES)
    )
    console = wide_console(240)
    started = time.perf_counter()
    cache_root = (args.dir or Path(tempfile.gettempdir())) / "fogbank-bench-tpch"

    with console.status(f"TPC-H data at SF {scale:g}") as status:
        folder, generated = tpch_data.ensure(cache_root, scale, status.update)
    size = sum(p.stat().st_size for p in folder.rglob("*.parquet"))
    console.print(
        f"TPC-H SF {scale:g}: {size / 1e6:,.0f} MB of Parquet in {folder} "
        + (f"(generated in {generated:.0f} s)" if generated else "(cached)")
    )

    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="fogbank-bench-query-", dir=args.dir) as scratch_s:
        scratch = Path(scratch_s)
        home = scratch / "fogbank-home"
        with console.status("loading the lake"):
            load_started = time.perf_counter()
            load_lake(home, folder)
            load_seconds = time.perf_counter() - load_started
        servers = [fogbank_server(scratch, home)]
        if not args.no_ministack:
            servers.append(ministack_server(scratch, args.peers_python, args.ministack_engine))
        try:
            with console.status("starting fogbank serve and MiniStack, loading MiniStack"):
                for server in servers:
                    if server.ok:
                        server.start(scratch)
                for server in servers:
                    if server.ok:
                        server.wait_ready()
                for server in servers:
                    if not server.ok:
                        continue
                    try:
                        if server.name == MINISTACK:
                            upload(server.endpoint_url, folder)
                        register(server.endpoint_url)
                    except Exception as error:
                        server.fail(f"loading: {type(error).__name__}: {error}")
            fog = servers[0]
            if not fog.ok:
                console.print(f"[red]fogbank did not start: {escape(fog.problem or '')}[/red]")
                return 1
            console.print(f"lake loaded in {load_seconds:.1f} s; fogbank {fog.version}")
            athena = client(fog.endpoint_url, "athena", read_timeout=QUERY_TIMEOUT)
            replay = client(fog.endpoint_url, "athena")
            connection = duckdb_connection(folder)
            mini = servers[1] if len(servers) > 1 and servers[1].ok else None
            mini_athena = (
                client(mini.endpoint_url, "athena", read_timeout=QUERY_TIMEOUT) if mini else None
            )
            for number in numbers:
                sql = tpch_queries.query(number, scale)
                duckdb_sql = sqlglot.transpile(sql, read="trino", write="duckdb")[0]
                runners: dict[str, Runner] = {
                    FOGBANK: partial(run_athena, athena, sql),
                    DUCKDB: partial(run_duckdb, connection, duckdb_sql),
                }
                if mini_athena is not None:
                    runners[MINISTACK] = partial(run_athena, mini_athena, sql)
                with console.status(f"Q{number}: {', '.join(runners)}"):
                    outcome = measure(number, runners, rounds)
                    if not outcome.side(FOGBANK).error:
                        recorded = record_athena(athena, sql)
                        if recorded is not None:
                            outcome.boto3 = boto3_seconds(replay, sql, recorded)
                outcomes.append(outcome)
                console.print(
                    f"Q{number}: "
                    + ", ".join(
                        f"{name} {_seconds(side.seconds)} s"
                        + (f" ({_short(side.error, 50)})" if side.error else "")
                        for name, side in outcome.sides.items()
                    )
                )
            connection.close()
        finally:
            for server in servers:
                server.stop()
    report(outcomes, scale, rounds, servers, console)
    write_results(
        args.json,
        "query",
        {
            "scale": scale,
            "rounds": rounds,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "parquet_bytes": size,
            "servers": {s.name: s.version for s in servers},
        },
        time.perf_counter() - started,
        [
            {
                "query": o.number,
                "ratio": o.ratio(),
                "boto3_seconds": o.boto3,
                "ratio_to_duckdb_plus_boto3": o.floor_ratio,
                "rows": o.rows,
                "data_scanned_bytes": o.scanned,
                "mismatch": o.mismatch,
                "ministack_correct": o.ministack_ok if MINISTACK in o.sides else None,
                "ministack_note": o.ministack_note,
                **{
                    f"{name}_{key}": value
                    for name, side in o.sides.items()
                    for key, value in (
                        ("seconds", side.seconds),
                        ("runs", side.runs),
                        ("engine_seconds", side.engine_seconds),
                        ("results_seconds", side.fetch_seconds),
                        ("error", side.error),
                    )
                },
            }
            for o in outcomes
        ],
        console,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
