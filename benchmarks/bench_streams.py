"""Kinesis Data Streams against fogbank, MiniStack, moto's server and kinesis-mock, in one run.

Every server runs in its own subprocess on a free 127.0.0.1 port, with AWS limits off
(``FOGBANK_LIMITS=false`` for fogbank's ``fogbank serve``), and is driven through the
project's boto3 from a pool of client processes (one boto3 process tops out near 20k
records/s, so the clients are processes, not threads). Four sections:

(a) PutRecord (1 KiB) and PutRecords (500 x 1 KiB) from 1 and 4 client processes for a
    fixed time: records/s, MB/s and the server's CPU time per record (utime + stime of
    the server's process tree from ``/proc``, before and after).
(b) GetRecords (Limit 10,000) reading a seeded one-shard stream from the start, over and
    over: records/s, MB/s and server CPU per record read.
(c) put-to-get latency: a producer process puts 1 KiB records at a steady rate with its
    send time inside the data; a consumer process tails the shard (a short sleep only
    after an empty answer) and takes arrival minus send time: p50, p99, max.
(d) fogbank alone, in process, no HTTP: PutRecords 500 x 1 KiB from 1 and 8 threads
    (the 8 share each fsync through group commit).

Servers take turns within every round and the order rotates each round; each rate is
the median over rounds and each ratio the median over rounds of fogbank / peer in the
same round. Goals (from the issue): through boto3, >= 2x MiniStack's records/s and
<= 1/3 of its server CPU per record; p99 put-to-get under 50 ms; >= 50,000 records/s
through the Python API. A missed goal is reported, never an error (exit 0); a peer that
is not installed or does not start is named under the table and the others still run.

Peers: moto and MiniStack are found as in ``bench_gateway.py`` (``--peers-python`` or
``$FOGBANK_BENCH_PEERS_PYTHON``, this interpreter, ``$TMPDIR/fogbank-bench-peers``);
kinesis-mock is the npm package ``kinesis-local`` (Node), installed on first use with
``npm install kinesis-local`` into ``$TMPDIR/fogbank-bench-kinesis-local`` (skipped,
with the reason, when npm or the registry is not there). It is slow to seed and to read,
so ``--quick`` leaves it out unless ``--kinesis-mock`` is given; ``--no-kinesis-mock`` always does.

    python -m benchmarks streams [--quick] [--rounds N] [--seconds S] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal

import boto3
import botocore
from botocore.config import Config
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchmarks.common import console as wide_console
from benchmarks.common import parser, write_results
from benchmarks.servers import HOST, PEERS_PYTHON_ENV, ServerProcess, find_peer
from fogbank.gateway.server import free_port

KiB = 1024
MB = 1_000_000
RECORD = KiB  # every record's data
BATCH = 500  # records per PutRecords
GET_LIMIT = 10_000  # records per GetRecords
SHARDS = 4  # the put stream's shards
PUT_STREAM, READ_STREAM, TAIL_STREAM = "bench-put", "bench-read", "bench-tail"
FOGBANK, MINISTACK, MOTO, KINESIS_MOCK = "fogbank", "ministack", "moto", "kinesis-mock"
PEERS = (MINISTACK, MOTO, KINESIS_MOCK)
DEFAULT_KINESIS_LOCAL = Path(tempfile.gettempdir()) / "fogbank-bench-kinesis-local"
NPM_TIMEOUT = 120.0
START_DELAY = 0.3  # seconds between handing out a timed job and its start
EMPTY_POLL_SLEEP = 0.005  # the tailing consumer's pause after an empty GetRecords

# Goals, fogbank against MiniStack through boto3, and absolute ones.
GOAL_RATE_VS_MINISTACK = 2.0  # records/s ratio, at least
GOAL_CPU_VS_MINISTACK = 1 / 3  # server CPU per record ratio, at most
GOAL_P99_MS = 50.0
GOAL_API_RATE = 50_000.0

# `moto_server -H HOST -p PORT`, minus werkzeug's one-line-per-request access log.
MOTO_SERVER = """\
import logging, sys
logging.getLogger("werkzeug").setLevel(logging.WARNING)
from moto.server import main
main(sys.argv[1:])
"""

# `fogbank --home HOME serve`, when the console script is not next to this interpreter.
FOGBANK_CLI = "from fogbank.cli import main; main()"


# ---------------------------------------------------------------------------- CPU time


def _ticks() -> int:
    return int(os.sysconf("SC_CLK_TCK"))


def tree_cpu_seconds(root: int) -> float:
    """utime + stime of ``root`` and every process below it (all threads), from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = text[text.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = int(fields[11]) + int(fields[12])
    if root not in times:
        return 0.0
    total, wanted = 0, {root}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    for pid in wanted:
        total += times.get(pid, 0)
    return total / _ticks()


# ---------------------------------------------------------------------------- the servers


@dataclass
class Server(ServerProcess):
    """One Kinesis server in a subprocess."""

    def cpu(self) -> float:
        return tree_cpu_seconds(self.process.pid) if self.process is not None else 0.0

    def ready_probe(self) -> tuple[Callable[[], object], str]:
        probe = make_client(self.endpoint_url, read_timeout=5)
        return probe.list_streams, "ListStreams"


def make_client(endpoint_url: str, *, read_timeout: float = 120) -> Any:
    """A Kinesis client as a user would make one (no retries: an error must show)."""
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).client(
        "kinesis",
        endpoint_url=endpoint_url,
        config=Config(
            retries={"total_max_attempts": 1},
            connect_timeout=5,
            read_timeout=read_timeout,
            max_pool_connections=4,
        ),
    )


def _kinesis_local(folder: Path) -> tuple[Path, str] | str:
    """(package folder, version) of kinesis-local, installed with npm if need be; else why not."""
    package = folder / "node_modules" / "kinesis-local"
    if not (package / "main.js").exists():
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            return "skipped: node/npm not on PATH"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                [
                    npm,
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                    str(folder),
                    "kinesis-local",
                ],
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"skipped: npm install kinesis-local took over {NPM_TIMEOUT:.0f} s"
        if done.returncode != 0 or not (package / "main.js").exists():
            tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-2:])
            return f"skipped: npm install kinesis-local failed ({tail})"
    try:
        meta = json.loads((package / "package.json").read_text(encoding="utf-8"))
        version = str(meta.get("version", ""))
    except (OSError, ValueError):
        version = ""
    return package, version


def build_servers(scratch: Path, peers_python: str | None, kinesis_mock: bool) -> list[Server]:
    import fogbank

    servers: list[Server] = []
    port = free_port(HOST)
    home = scratch / "fogbank-home"
    script = Path(sys.executable).parent / "fogbank"
    cli = [str(script)] if script.exists() else [sys.executable, "-c", FOGBANK_CLI]
    servers.append(
        Server(
            FOGBANK,
            argv=[*cli, "--home", str(home), "serve", "--host", HOST, "--port", str(port)],
            env={"FOGBANK_LIMITS": "false", "FOGBANK_HOME": str(home)},
            version=fogbank.__version__,
            port=port,
        )
    )

    mini = Server(MINISTACK)
    found = find_peer("ministack.app", "ministack", peers_python)
    if found is None:
        mini.problem = (
            "not installed: give it a venv of its own (it pins botocore): "
            f"python -m venv .venv-peers && .venv-peers/bin/pip install ministack, "
            f"then --peers-python or ${PEERS_PYTHON_ENV}"
        )
    else:
        python, mini.version = found
        mini.port = free_port(HOST)
        mini.argv = [python, "-m", "ministack"]
        mini_tmp = scratch / "ministack-tmp"
        mini_tmp.mkdir()
        mini.env = {
            "GATEWAY_PORT": str(mini.port),
            "BIND_HOST": HOST,
            "SERVICES": "kinesis",
            "PERSIST_STATE": "0",
            "IOT_MTLS_ENABLED": "0",
            "LOG_LEVEL": "WARNING",
            "TMPDIR": str(mini_tmp),
        }
    servers.append(mini)

    moto = Server(MOTO)
    found = find_peer("moto.server, flask", "moto", peers_python)
    if found is None:
        moto.problem = "not installed: pip install 'moto[server]' (or --peers-python PY)"
    else:
        python, moto.version = found
        moto.port = free_port(HOST)
        moto.argv = [python, "-c", MOTO_SERVER, "-H", HOST, "-p", str(moto.port)]
    servers.append(moto)

    if kinesis_mock:
        mock = Server(KINESIS_MOCK)
        got = _kinesis_local(DEFAULT_KINESIS_LOCAL)
        if isinstance(got, str):
            mock.problem = got
        else:
            package, mock.version = got
            mock.port = free_port(HOST)
            mock.cwd = package  # it reads its TLS certificate, server.json, from here
            mock.argv = [str(shutil.which("node")), "main.js"]
            mock.env = {
                "KINESIS_MOCK_PLAIN_PORT": str(mock.port),
                "KINESIS_MOCK_TLS_PORT": str(free_port(HOST)),
                "LOG_LEVEL": "WARN",
                "CREATE_STREAM_DURATION": "0ms",
                "SHARD_LIMIT": "1000",
            }
        servers.append(mock)
    return servers


def _create_stream(client: Any, name: str, shards: int) -> None:
    client.create_stream(StreamName=name, ShardCount=shards)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        summary = client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.05)
    raise RuntimeError(f"stream {name} not ACTIVE after 30 s")


def _seed(client: Any, name: str, count: int) -> None:
    payload = os.urandom(RECORD)
    for start in range(0, count, BATCH):
        entries = [
            {"Data": payload, "PartitionKey": f"seed-{start + i}"}
            for i in range(min(BATCH, count - start))
        ]
        failed = client.put_records(StreamName=name, Records=entries)["FailedRecordCount"]
        if failed:
            raise RuntimeError(f"seeding {name}: {failed} records failed")


@contextlib.contextmanager
def running(servers: list[Server], scratch: Path, seeded: int, console: Console) -> Iterator[None]:
    """Start every server that can be, create and seed the streams; always stop them."""
    try:
        with console.status("starting the servers, creating and seeding the streams"):
            _start(servers, scratch, seeded)
        yield
    finally:
        for server in servers:
            server.stop()


def _start(servers: list[Server], scratch: Path, seeded: int) -> None:
    for server in servers:
        if server.ok:
            server.start(scratch)
    for server in servers:
        if server.ok:
            server.wait_ready()

    def set_up(server: Server) -> None:
        try:
            client = make_client(server.endpoint_url)
            _create_stream(client, PUT_STREAM, SHARDS)
            _create_stream(client, READ_STREAM, 1)
            _create_stream(client, TAIL_STREAM, 1)
            _seed(client, READ_STREAM, seeded)
        except Exception as error:
            server.fail(f"setting up: {type(error).__name__}: {error}")

    live = [s for s in servers if s.ok]
    with ThreadPoolExecutor(max_workers=max(1, len(live))) as pool:  # a slow seed hides the rest
        list(pool.map(set_up, live))


def _warm_up(pool: ProcessPoolExecutor, servers: list[Server], processes: int) -> None:
    """Start the client processes, and give each a connected client for every server."""
    start_at = time.time() + 2.0  # each process sleeps till then, so all of them start
    list(pool.map(run_job, [Job("warm", "", "", w, start_at, 0) for w in range(processes)]))
    for server in servers:
        if server.ok:
            start_at = time.time() + START_DELAY
            jobs = [
                Job("put", server.endpoint_url, PUT_STREAM, w, start_at, 0.2)
                for w in range(processes)
            ]
            for done in pool.map(run_job, jobs):
                if done.error:
                    server.fail(f"warm-up: {done.error}")


# ---------------------------------------------------------------------------- client jobs
# These run in the pool's client processes: plain top-level functions and data.

_clients: dict[str, Any] = {}


def _client(endpoint_url: str) -> Any:
    made = _clients.get(endpoint_url)
    if made is None:
        made = _clients[endpoint_url] = make_client(endpoint_url)
    return made


@dataclass(frozen=True)
class Job:
    kind: Literal["put", "puts", "get", "warm"]
    endpoint_url: str
    stream: str
    worker: int
    start_at: float  # time.time() to begin at, the same for every job of a case
    seconds: float
    seeded: int = 0  # records in the stream a "get" job reads


@dataclass
class Done:
    records: int = 0
    failed: int = 0
    payload_bytes: int = 0
    calls: int = 0
    ended: float = 0.0
    error: str | None = None


def _wait_until(moment: float) -> None:
    delay = moment - time.time()
    if delay > 0:
        time.sleep(delay)


def run_job(job: Job) -> Done:
    done = Done()
    if job.kind == "warm":  # only makes sure this process is up
        _wait_until(job.start_at)
        return done
    client = _client(job.endpoint_url)
    try:
        payload = os.urandom(RECORD)
        entries = [{"Data": payload, "PartitionKey": f"w{job.worker}-{i}"} for i in range(BATCH)]
        shard = "shardId-000000000000"
        iterator = ""
        if job.kind == "get":
            iterator = client.get_shard_iterator(
                StreamName=job.stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        read_in_pass = 0
        _wait_until(job.start_at)
        deadline = job.start_at + job.seconds
        counter = 0
        while time.time() < deadline:
            if job.kind == "put":
                client.put_record(
                    StreamName=job.stream, Data=payload, PartitionKey=f"w{job.worker}-{counter}"
                )
                done.records += 1
                done.payload_bytes += RECORD
            elif job.kind == "puts":
                failed = client.put_records(StreamName=job.stream, Records=entries)[
                    "FailedRecordCount"
                ]
                done.failed += failed
                done.records += BATCH - failed
                done.payload_bytes += (BATCH - failed) * RECORD
            else:
                answer = client.get_records(ShardIterator=iterator, Limit=GET_LIMIT)
                got = answer["Records"]
                done.records += len(got)
                done.payload_bytes += sum(len(r["Data"]) for r in got)
                read_in_pass += len(got)
                iterator = answer["NextShardIterator"]
                if read_in_pass >= job.seeded or not got:  # the end: read it all again
                    read_in_pass = 0
                    iterator = client.get_shard_iterator(
                        StreamName=job.stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
                    )["ShardIterator"]
            done.calls += 1
            counter += 1
    except Exception as error:
        done.error = f"{type(error).__name__}: {error}"
    done.ended = time.time()
    return done


@dataclass(frozen=True)
class TailJob:
    endpoint_url: str
    stream: str
    start_at: float
    count: int  # records the producer sends
    rate: float  # records per second


def run_producer(job: TailJob) -> tuple[int, str | None]:
    """Put ``count`` records at ``rate``, each carrying its send time; (sent, error)."""
    client = _client(job.endpoint_url)
    padding = os.urandom(RECORD - 8)
    sent = 0
    try:
        for i in range(job.count):
            _wait_until(job.start_at + i / job.rate)
            data = struct.pack("<d", time.time()) + padding
            client.put_record(StreamName=job.stream, Data=data, PartitionKey=f"t{i}")
            sent += 1
    except Exception as error:
        return sent, f"{type(error).__name__}: {error}"
    return sent, None


def run_consumer(job: TailJob) -> tuple[list[float], str | None]:
    """Tail the shard from LATEST until every record arrived (or time ran out); latencies ms."""
    client = _client(job.endpoint_url)
    latencies: list[float] = []
    try:
        iterator = client.get_shard_iterator(
            StreamName=job.stream, ShardId="shardId-000000000000", ShardIteratorType="LATEST"
        )["ShardIterator"]
        deadline = job.start_at + job.count / job.rate + 10.0
        while len(latencies) < job.count and time.time() < deadline:
            answer = client.get_records(ShardIterator=iterator, Limit=GET_LIMIT)
            now = time.time()
            iterator = answer["NextShardIterator"]
            records = answer["Records"]
            for record in records:
                (sent,) = struct.unpack_from("<d", record["Data"])
                latencies.append((now - sent) * 1000)
            if not records:
                time.sleep(EMPTY_POLL_SLEEP)
    except Exception as error:
        return latencies, f"{type(error).__name__}: {error}"
    return latencies, None


# ---------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    name: str
    section: Literal["put", "get"]
    kind: Literal["put", "puts", "get"]
    processes: int

    @property
    def stream(self) -> str:
        return READ_STREAM if self.kind == "get" else PUT_STREAM


def cases(quick: bool) -> list[Case]:
    made = [
        Case("PutRecord 1 KiB, 1 process", "put", "put", 1),
        Case("PutRecord 1 KiB, 4 processes", "put", "put", 4),
        Case("PutRecords 500 x 1 KiB, 1 process", "put", "puts", 1),
        Case("PutRecords 500 x 1 KiB, 4 processes", "put", "puts", 4),
        Case("GetRecords 10,000, 1 process", "get", "get", 1),
    ]
    if not quick:
        made.append(Case("GetRecords 10,000, 4 processes", "get", "get", 4))
    return made


@dataclass
class Result:
    case: str
    section: str
    processes: int
    records_per_s: dict[str, float | None] = field(default_factory=dict)
    mb_per_s: dict[str, float | None] = field(default_factory=dict)
    cpu_us_per_record: dict[str, float | None] = field(default_factory=dict)
    failed_records: dict[str, int] = field(default_factory=dict)
    rate_ratio: dict[str, float | None] = field(default_factory=dict)  # fogbank / peer
    rate_ratio_range: dict[str, list[float]] = field(default_factory=dict)
    cpu_ratio: dict[str, float | None] = field(default_factory=dict)  # fogbank / peer
    cpu_ratio_range: dict[str, list[float]] = field(default_factory=dict)
    rounds: list[dict[str, dict[str, float]]] = field(default_factory=list)


def _measure(
    pool: ProcessPoolExecutor, case: Case, server: Server, seconds: float, seeded: int
) -> dict[str, float]:
    start_at = time.time() + START_DELAY
    jobs = [
        Job(case.kind, server.endpoint_url, case.stream, w, start_at, seconds, seeded)
        for w in range(case.processes)
    ]
    futures = [pool.submit(run_job, job) for job in jobs]
    _wait_until(start_at - 0.05)
    cpu_before = server.cpu()
    dones = [f.result() for f in futures]
    cpu = server.cpu() - cpu_before
    errors = [d.error for d in dones if d.error]
    if errors:
        raise RuntimeError(errors[0])
    elapsed = max(d.ended for d in dones) - start_at
    records = sum(d.records for d in dones)
    if records == 0:
        raise RuntimeError("no record went through")
    return {
        "records_per_s": records / elapsed,
        "mb_per_s": sum(d.payload_bytes for d in dones) / MB / elapsed,
        "cpu_us_per_record": cpu / records * 1e6,
        "failed": float(sum(d.failed for d in dones)),
        "seconds": elapsed,
        "records": float(records),
    }


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def run_case(
    pool: ProcessPoolExecutor,
    case: Case,
    servers: list[Server],
    rounds: int,
    seconds: float,
    seeded: int,
) -> Result:
    per_round: list[dict[str, dict[str, float]]] = []
    for number in range(rounds):
        shift = number % len(servers)
        measured: dict[str, dict[str, float]] = {}
        for server in servers[shift:] + servers[:shift]:
            if not server.ok:
                continue
            try:
                measured[server.name] = _measure(pool, case, server, seconds, seeded)
            except Exception as error:
                server.fail(f"{case.name}, round {number}: {type(error).__name__}: {error}")
        per_round.append(measured)

    result = Result(case.name, case.section, case.processes, rounds=per_round)
    for server in servers:
        rows = [r[server.name] for r in per_round if server.name in r]
        result.records_per_s[server.name] = _median([r["records_per_s"] for r in rows])
        result.mb_per_s[server.name] = _median([r["mb_per_s"] for r in rows])
        result.cpu_us_per_record[server.name] = _median([r["cpu_us_per_record"] for r in rows])
        result.failed_records[server.name] = int(sum(r["failed"] for r in rows))
    for peer in PEERS:
        pairs = [r for r in per_round if FOGBANK in r and peer in r]
        rates = [r[FOGBANK]["records_per_s"] / r[peer]["records_per_s"] for r in pairs]
        cpus = [
            r[FOGBANK]["cpu_us_per_record"] / r[peer]["cpu_us_per_record"]
            for r in pairs
            if r[peer]["cpu_us_per_record"] > 0
        ]
        result.rate_ratio[peer] = _median(rates)
        result.cpu_ratio[peer] = _median(cpus)
        if rates:
            result.rate_ratio_range[peer] = [min(rates), max(rates)]
        if cpus:
            result.cpu_ratio_range[peer] = [min(cpus), max(cpus)]
    return result


@dataclass
class Latency:
    sent: dict[str, int] = field(default_factory=dict)
    received: dict[str, int] = field(default_factory=dict)
    p50_ms: dict[str, float | None] = field(default_factory=dict)
    p99_ms: dict[str, float | None] = field(default_factory=dict)
    max_ms: dict[str, float | None] = field(default_factory=dict)
    rate: float = 0.0
    count: int = 0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_latency(
    pool: ProcessPoolExecutor, servers: list[Server], seconds: float, rate: float
) -> Latency:
    count = max(1, int(seconds * rate))
    out = Latency(rate=rate, count=count)
    for server in servers:
        if not server.ok:
            continue
        job = TailJob(server.endpoint_url, TAIL_STREAM, time.time() + 0.5, count, rate)
        consumer: Future[tuple[list[float], str | None]] = pool.submit(run_consumer, job)
        producer: Future[tuple[int, str | None]] = pool.submit(run_producer, job)
        sent, put_error = producer.result()
        latencies, get_error = consumer.result()
        if put_error or get_error:
            server.fail(f"put-to-get latency: {put_error or get_error}")
        out.sent[server.name] = sent
        out.received[server.name] = len(latencies)
        if latencies:
            out.p50_ms[server.name] = _percentile(latencies, 0.50)
            out.p99_ms[server.name] = _percentile(latencies, 0.99)
            out.max_ms[server.name] = max(latencies)
    return out


@dataclass
class ApiResult:
    case: str
    threads: int
    records_per_s: float
    mb_per_s: float
    cpu_us_per_record: float
    rounds: list[float] = field(default_factory=list)


def _api_round(streams: Any, batches: list[list[Any]], seconds: float) -> tuple[float, float]:
    """(records/s, CPU µs per record) of one thread per batch putting it until time is up."""
    counts = [0] * len(batches)
    deadline = time.perf_counter() + seconds

    def work(index: int) -> None:
        while time.perf_counter() < deadline:
            streams.put_records(batches[index], name="api")
            counts[index] += len(batches[index])

    workers = [threading.Thread(target=work, args=(t,)) for t in range(len(batches))]
    cpu_before, started = time.process_time(), time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    return sum(counts) / elapsed, cpu / sum(counts) * 1e6


def run_api(scratch: Path, rounds: int, seconds: float) -> list[ApiResult]:
    """PutRecords 500 x 1 KiB on fogbank's engine in this process: 1 thread, then 8."""
    from fogbank import Fogbank, FogbankConfig
    from fogbank.streams.engine import PutRequest

    payload = os.urandom(RECORD)
    results: list[ApiResult] = []
    with Fogbank(FogbankConfig.load(home=scratch / "fogbank-api", environ={}, limits=False)) as app:
        streams = app.streams
        streams.create_stream("api", SHARDS)
        for threads in (1, 8):
            batches = [
                [PutRequest(payload, f"t{t}-{i}") for i in range(BATCH)] for t in range(threads)
            ]
            streams.put_records(batches[0], name="api")  # warm: open the log
            rates: list[float] = []
            cpus: list[float] = []
            for _ in range(rounds):
                rate, cpu = _api_round(streams, batches, seconds)
                rates.append(rate)
                cpus.append(cpu)
            rate = statistics.median(rates)
            results.append(
                ApiResult(
                    f"PutRecords 500 x 1 KiB, {threads} thread{'s' if threads > 1 else ''}",
                    threads,
                    rate,
                    rate * RECORD / MB,
                    statistics.median(cpus),
                    rates,
                )
            )
    return results


# ---------------------------------------------------------------------------- reporting


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _ratio(value: float | None, span: list[float] | None, *, good: bool | None = None) -> str:
    if value is None:
        return "n/a"
    text = f"{value:.2f}"
    if good is not None:
        colour = "green" if good else "red"
        text = f"[{colour}]{text}[/{colour}]"
    if span:
        text += f" [dim]{span[0]:.2f}-{span[1]:.2f}[/dim]"
    return text


def render_throughput(
    results: list[Result], servers: list[Server], title: str, caption: list[str]
) -> Table:
    table = Table(title=title, caption="\n".join(caption) or None, caption_justify="left")
    table.add_column("case", no_wrap=True)
    table.add_column("metric", no_wrap=True)
    shown = [s.name for s in servers]
    for name in shown:
        table.add_column(name, justify="right")
    for peer in PEERS:
        if peer in shown:
            table.add_column(f"fogbank/{peer}", justify="right")
    table.add_column("goal vs ministack", justify="right")
    for r in results:
        rate_ok: bool | None = None
        cpu_ok: bool | None = None
        if r.rate_ratio.get(MINISTACK) is not None:
            rate_ok = (r.rate_ratio[MINISTACK] or 0) >= GOAL_RATE_VS_MINISTACK
        if r.cpu_ratio.get(MINISTACK) is not None:
            cpu_ok = (r.cpu_ratio[MINISTACK] or 0) <= GOAL_CPU_VS_MINISTACK
        rows: list[tuple[str, dict[str, float | None], str]] = [
            ("records/s", r.records_per_s, "rate"),
            ("MB/s", r.mb_per_s, ""),
            ("server CPU µs/record", r.cpu_us_per_record, "cpu"),
        ]
        for index, (metric, values, ratio_kind) in enumerate(rows):
            cells = [r.case if index == 0 else "", metric]
            for name in shown:
                cell = _fmt(values.get(name))
                failed = r.failed_records.get(name, 0)
                if metric == "records/s" and failed:
                    cell += f" [yellow]({failed:,} failed)[/yellow]"
                cells.append(cell)
            for peer in PEERS:
                if peer not in shown:
                    continue
                if ratio_kind == "rate":
                    good = rate_ok if peer == MINISTACK else None
                    cells.append(
                        _ratio(r.rate_ratio.get(peer), r.rate_ratio_range.get(peer), good=good)
                    )
                elif ratio_kind == "cpu":
                    good = cpu_ok if peer == MINISTACK else None
                    cells.append(
                        _ratio(r.cpu_ratio.get(peer), r.cpu_ratio_range.get(peer), good=good)
                    )
                else:
                    cells.append("")
            if ratio_kind == "rate":
                cells.append(f">= {GOAL_RATE_VS_MINISTACK:.0f}x " + _verdict(rate_ok))
            elif ratio_kind == "cpu":
                cells.append("<= 1/3 " + _verdict(cpu_ok))
            else:
                cells.append("")
            table.add_row(*cells, end_section=index == len(rows) - 1)
    return table


def _verdict(ok: bool | None) -> str:
    if ok is None:
        return "[yellow]n/a[/yellow]"
    return "[green]pass[/green]" if ok else "[red]FAIL[/red]"


def render_latency(latency: Latency, servers: list[Server], title: str) -> Table:
    table = Table(title=title)
    table.add_column("metric", no_wrap=True)
    shown = [s.name for s in servers]
    for name in shown:
        table.add_column(name, justify="right")
    for peer in PEERS:
        if peer in shown:
            table.add_column(f"fogbank/{peer}", justify="right")
    table.add_column("goal", justify="right")

    def ratio(values: dict[str, float | None], peer: str) -> str:
        mine, theirs = values.get(FOGBANK), values.get(peer)
        return "n/a" if mine is None or not theirs else f"{mine / theirs:.2f}"

    for metric, values in (
        ("p50 ms", latency.p50_ms),
        ("p99 ms", latency.p99_ms),
        ("max ms", latency.max_ms),
    ):
        cells = [metric] + [_fmt2(values.get(name)) for name in shown]
        cells += [ratio(values, peer) for peer in PEERS if peer in shown]
        if metric == "p99 ms":
            p99 = values.get(FOGBANK)
            ok = None if p99 is None else p99 < GOAL_P99_MS
            cells.append(f"fogbank < {GOAL_P99_MS:.0f} ms " + _verdict(ok))
        else:
            cells.append("")
        table.add_row(*cells)
    cells = ["received / sent"]
    cells += [f"{latency.received.get(n, 0):,} / {latency.sent.get(n, 0):,}" for n in shown]
    cells += ["" for peer in PEERS if peer in shown] + [""]
    table.add_row(*cells)
    return table


def _fmt2(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f}"


def render_api(results: list[ApiResult], title: str) -> Table:
    table = Table(title=title)
    table.add_column("case", no_wrap=True)
    table.add_column("records/s", justify="right")
    table.add_column("MB/s", justify="right")
    table.add_column("CPU µs/record", justify="right")
    table.add_column("rounds (records/s)", justify="right")
    table.add_column("goal", justify="right")
    for r in results:
        ok = r.records_per_s >= GOAL_API_RATE
        table.add_row(
            r.case,
            _fmt(r.records_per_s),
            _fmt(r.mb_per_s),
            _fmt(r.cpu_us_per_record),
            " ".join(f"{x:,.0f}" for x in r.rounds),
            f">= {GOAL_API_RATE:,.0f} " + _verdict(ok),
        )
    return table


def _environment(
    servers: list[Server], rounds: int, seconds: float, quick: bool
) -> dict[str, object]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "client": {"boto3": boto3.__version__, "botocore": botocore.__version__},
        "servers": {
            s.name: {
                "version": s.version or None,
                "endpoint_url": s.endpoint_url if s.port else None,
                "problem": s.problem,
            }
            for s in servers
        },
        "rounds": rounds,
        "seconds_per_batch": seconds,
        "quick": quick,
    }


def _parser() -> argparse.ArgumentParser:
    made = parser(
        "streams",
        "Kinesis through boto3 (fogbank vs MiniStack, moto, kinesis-mock) and fogbank's "
        "Python API.",
        "rotated rounds per case",
    )
    made.add_argument("--seconds", type=float, default=None, help="length of each timed batch")
    made.add_argument(
        "--peers-python",
        default=None,
        help=f"an interpreter with moto/ministack installed (also ${PEERS_PYTHON_ENV})",
    )
    made.add_argument(
        "--kinesis-mock",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="measure kinesis-mock (npm kinesis-local) too; default: yes, but not with --quick "
        "(it is slow: seeding it and its 10,000-record GetRecords take most of a run)",
    )
    return made


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 3)
    seconds = args.seconds or (1.0 if args.quick else 2.0)
    tail_seconds, tail_rate = (2.0, 100.0) if args.quick else (8.0, 100.0)
    kinesis_mock = not args.quick if args.kinesis_mock is None else args.kinesis_mock
    seeded = 10_000  # one full GetRecords call per pass
    console = wide_console(200)
    chosen = cases(args.quick)
    processes = max(c.processes for c in chosen)
    load_before = os.getloadavg()
    started = time.perf_counter()
    phases: dict[str, float] = {}
    mark = started

    def phase(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases[name] = round(now - mark, 1)
        mark = now

    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="fogbank-bench-streams-", dir=args.dir) as scratch:
        root = Path(scratch)
        servers = build_servers(root, args.peers_python, kinesis_mock)
        phase("find peers")
        spawn = get_context("spawn")
        with ProcessPoolExecutor(max_workers=max(processes, 2), mp_context=spawn) as pool:
            with running(servers, root, seeded, console):
                phase("start and seed")
                _warm_up(pool, servers, processes)
                phase("warm-up")
                for case in chosen:
                    label = f"{case.name} ({rounds} rounds x {seconds:.1f} s per server)"
                    with console.status(label):
                        results.append(run_case(pool, case, servers, rounds, seconds, seeded))
                phase("(a)+(b)")
                with console.status(f"put-to-get latency ({tail_seconds:.0f} s per server)"):
                    latency = run_latency(pool, servers, tail_seconds, tail_rate)
                phase("(c)")
            phase("stop")
        with console.status("fogbank's Python API"):
            api = run_api(root, rounds, seconds)
        phase("(d)")
        environment = _environment(servers, rounds, seconds, args.quick)
        environment["phases_s"] = phases
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()

    versions = ", ".join(f"{s.name} {s.version}" for s in servers if s.version)
    head = (
        f"boto3 {boto3.__version__}; {versions}; {rounds} rotated round(s) x {seconds:.1f} s "
        f"({'quick, ' if args.quick else ''}{elapsed:.0f} s in all, {os.cpu_count()} CPUs)"
    )
    caption = [f"{s.name} not measured: {escape(s.problem)}" for s in servers if s.problem]
    if not kinesis_mock:
        caption.append("kinesis-mock skipped: left out with --quick or --no-kinesis-mock")
    console.print(
        render_throughput(
            [r for r in results if r.section == "put"],
            servers,
            f"(a) puts through {head}",
            caption,
        )
    )
    console.print(
        render_throughput(
            [r for r in results if r.section == "get"],
            servers,
            f"(b) GetRecords (Limit {GET_LIMIT:,}) over {seeded:,} seeded 1 KiB records",
            caption,
        )
    )
    console.print(
        render_latency(
            latency,
            servers,
            f"(c) put-to-get latency: PutRecord at {tail_rate:.0f}/s for {tail_seconds:.0f} s, "
            f"a consumer tailing with GetRecords "
            f"({EMPTY_POLL_SLEEP * 1000:.0f} ms sleep when empty)",
        )
    )
    console.print(
        render_api(
            api, f"(d) fogbank's Python API, no HTTP, fsync per group commit ({rounds} rounds)"
        )
    )
    console.print(
        "rates: medians over rounds; a case's clients are spawned processes with one boto3 client "
        "each. ratios: median over rounds of fogbank / peer in the same round [dim](lowest-highest)"
        "[/dim]; higher is better for records/s, lower for CPU and latency.\nserver CPU: utime + "
        "stime of the server's process tree over the batch. fogbank fsyncs every acknowledged "
        "put; the peers keep records in memory.\n"
        f"load average before {load_before[0]:.2f} {load_before[1]:.2f}, after "
        f"{load_after[0]:.2f} {load_after[1]:.2f}; seconds per phase: "
        + ", ".join(f"{k} {v:.0f}" for k, v in phases.items())
    )
    document = [asdict(r) for r in results]
    document.append({"latency": asdict(latency)})
    document += [{"api": asdict(a)} for a in api]
    write_results(args.json, "streams", environment, elapsed, document, console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
