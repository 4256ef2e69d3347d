"""S3 through boto3 against fogbank's gateway, moto's server and MiniStack, in one run.

Each server runs in its own subprocess on a free 127.0.0.1 port (fogbank with a fresh
temporary home), so this process is only the client and measures all three the same
way: one boto3 client per server, reused as a user would (the concurrent case gives
each of its threads its own client). Access logging is off on all three (moto's
werkzeug request log is silenced; MiniStack runs with ``LOG_LEVEL=WARNING``; fogbank's
uvicorn has no access log) so no server pays for writing a line per request.

Servers take turns within every round and the order rotates each round (A B C, B C A,
C A B, ...) so drift on a busy machine lands on all of them; each rate is the median
over rounds and each ratio is the median over rounds of fogbank ÷ peer in the same
round. Goals: fogbank >= 3x moto's requests/s at 1 KiB and >= 2x its MiB/s at 8 MiB,
and ahead of MiniStack (ratio > 1) everywhere. Missing a goal is reported, never an
error (exit 0); a peer that is not installed or does not start is reported in the
table and the others are still measured.

MiniStack pins an exact botocore, so it usually lives in a venv of its own: the
benchmark looks for each peer in ``--peers-python`` (or ``$FOGBANK_BENCH_PEERS_PYTHON``),
then in this interpreter, then in ``$TMPDIR/fogbank-bench-peers/bin/python``:

    python -m venv /tmp/fogbank-bench-peers && /tmp/fogbank-bench-peers/bin/pip install ministack
    pip install 'moto[server]'            # fine next to fogbank (keep botocore as it is)

    python -m benchmarks gateway [--quick] [--rounds N] [--peers-python PY] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import gc
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import boto3
import botocore
from botocore.config import Config
from rich.markup import escape
from rich.table import Table

import fogbank
from benchmarks.common import console as wide_console
from benchmarks.common import distinct_keys, parser, timed, write_results
from benchmarks.servers import (
    DEFAULT_PEERS_PYTHON,
    HOST,
    PEERS_PYTHON_ENV,
    ServerProcess,
    find_peer,
)
from fogbank.gateway.server import free_port

KiB = 1024
MiB = 1024 * 1024
BUCKET = "bench"
FOGBANK, MOTO, MINISTACK = "fogbank", "moto", "ministack"
PEERS = (MOTO, MINISTACK)

# fogbank's gateway, served by fogbank's own `serve` (uvicorn), in a child process.
FOGBANK_SERVER = """\
import sys
from fogbank import Fogbank, FogbankConfig
from fogbank.gateway.server import serve
with Fogbank(FogbankConfig.load(home=sys.argv[1])) as app:
    serve(app, sys.argv[2], int(sys.argv[3]))
"""

# `moto_server -H HOST -p PORT`, minus werkzeug's one-line-per-request access log.
MOTO_SERVER = """\
import logging, sys
logging.getLogger("werkzeug").setLevel(logging.WARNING)
from moto.server import main
main(sys.argv[1:])
"""


# ---------------------------------------------------------------------------- the servers


@dataclass
class Server(ServerProcess):
    """One S3 server in a subprocess, and the clients this process talks to it with."""

    python: str = ""
    client: Any = None
    thread_clients: list[Any] = field(default_factory=list)

    def ready_probe(self) -> tuple[Callable[[], object], str]:
        probe = make_client(self.endpoint_url, connect_timeout=1, read_timeout=5)
        return probe.list_buckets, "ListBuckets"


@functools.cache
def _session() -> Any:
    """One boto3 session for every client, so S3's service model is loaded once.

    (A session per client would keep one parsed copy of the model per client: millions
    of objects that make every ``gc.collect()`` between batches take a second.) Clients
    are all made here in the main thread; each is then used by one thread at a time.
    """
    return boto3.session.Session(
        aws_access_key_id="test",
        aws_secret_access_key="test",  # every server here accepts any key
        region_name="us-east-1",
    )


def make_client(endpoint_url: str, *, connect_timeout: float = 5, read_timeout: float = 120) -> Any:
    """An S3 client as a user would make one."""
    return _session().client(
        "s3",
        endpoint_url=endpoint_url,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1},  # an error must show, not be retried away
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=16,
        ),
    )


def build_servers(scratch: Path, peers_python: str | None) -> list[Server]:
    servers: list[Server] = []

    port = free_port(HOST)
    home = scratch / "fogbank-home"
    servers.append(
        Server(
            FOGBANK,
            argv=[sys.executable, "-c", FOGBANK_SERVER, str(home), HOST, str(port)],
            env={"FOGBANK_HOME": str(home)},
            python=sys.executable,
            version=fogbank.__version__,
            port=port,
        )
    )

    moto = Server(MOTO)
    found = find_peer("moto.server, flask", "moto", peers_python)
    if found is None:
        moto.problem = "not installed: pip install 'moto[server]'"
    else:
        moto.python, moto.version = found
        moto.port = free_port(HOST)
        moto.argv = [moto.python, "-c", MOTO_SERVER, "-H", HOST, "-p", str(moto.port)]
    servers.append(moto)

    mini = Server(MINISTACK)
    found = find_peer("ministack.app", "ministack", peers_python)
    if found is None:
        mini.problem = (
            "not installed: it pins an exact botocore, so give it a venv of its own: "
            f"python -m venv {DEFAULT_PEERS_PYTHON.parent.parent} && "
            f"{DEFAULT_PEERS_PYTHON.parent}/pip install ministack (or --peers-python PY)"
        )
    else:
        mini.python, mini.version = found
        mini.port = free_port(HOST)
        mini.argv = [mini.python, "-m", "ministack"]
        mini_tmp = scratch / "ministack-tmp"
        mini_tmp.mkdir()
        mini.env = {
            "GATEWAY_PORT": str(mini.port),
            "BIND_HOST": HOST,
            "SERVICES": "s3",  # load only S3: no other listeners, a faster start
            "PERSIST_STATE": "0",
            "S3_PERSIST": "0",
            "IOT_MTLS_ENABLED": "0",
            "LOG_LEVEL": "WARNING",
            "TMPDIR": str(mini_tmp),  # its pid file goes here, not in the shared /tmp
        }
    servers.append(mini)
    return servers


@contextlib.contextmanager
def running(servers: list[Server], scratch: Path, threads: int) -> Iterator[None]:
    """Start every server that can be, wait for each, make its clients; always stop them."""
    try:
        for server in servers:
            if server.ok:
                server.start(scratch)
        for server in servers:
            if server.ok:
                server.wait_ready()
            if server.ok:
                try:
                    server.client = make_client(server.endpoint_url)
                    server.client.create_bucket(Bucket=BUCKET)
                    server.thread_clients = [
                        make_client(server.endpoint_url) for _ in range(threads)
                    ]
                except Exception as error:
                    server.fail(f"CreateBucket failed: {type(error).__name__}: {error}")
        # The clients and botocore's caches live until the end: keep them out of the
        # collections that run between timed batches.
        gc.collect()
        gc.freeze()
        yield
    finally:
        gc.unfreeze()
        for server in servers:
            server.stop()


# ---------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    """One line of the table: ``ops`` operations per round on objects of one size."""

    name: str
    kind: Literal["put", "get"]
    size: int
    ops: int
    threads: int
    goal_moto: float  # fogbank ÷ moto must be >= this
    goal_ministack: float  # fogbank ÷ ministack must be > this

    @property
    def unit(self) -> str:
        return "MiB/s" if self.size >= MiB else "ops/s"

    def rate(self, elapsed: float) -> float:
        if self.unit == "MiB/s":
            return self.ops * self.size / MiB / elapsed
        return self.ops / elapsed


def cases(quick: bool) -> list[Case]:
    scale = 3 if quick else 1
    threads = 8
    return [
        Case("put 1 KiB, new keys", "put", KiB, 120 // scale, 1, 3.0, 1.0),
        Case("get 1 KiB", "get", KiB, 150 // scale, 1, 3.0, 1.0),
        Case("put 8 MiB, new keys", "put", 8 * MiB, 6 // scale, 1, 2.0, 1.0),
        Case("get 8 MiB", "get", 8 * MiB, 6 // scale, 1, 2.0, 1.0),
        Case(f"put 1 KiB, {threads} threads", "put", KiB, 240 // scale, threads, 3.0, 1.0),
    ]


@dataclass
class Result:
    case: str
    unit: str
    size_bytes: int
    ops_per_round: int
    threads: int
    goal_vs_moto: float
    goal_vs_ministack: float
    rate: dict[str, float | None] = field(default_factory=dict)  # median per server
    ratio: dict[str, float | None] = field(default_factory=dict)  # median paired, per peer
    ratio_range: dict[str, list[float]] = field(default_factory=dict)
    passed: bool = False  # every goal against a peer that was measured is met
    complete: bool = False  # and both peers were measured
    rounds: list[dict[str, float]] = field(default_factory=list)


def _split(keys: list[str], parts: int) -> list[list[str]]:
    return [keys[i::parts] for i in range(parts)]


def _batch(case: Case, server: Server, keys: list[str], payload: bytes) -> Callable[[], None]:
    """The timed work: ``keys`` put or got, on one client or spread over the thread clients."""

    def run(client: Any, some: list[str]) -> None:
        if case.kind == "put":
            for key in some:
                client.put_object(Bucket=BUCKET, Key=key, Body=payload)
        else:
            for key in some:
                body = client.get_object(Bucket=BUCKET, Key=key)["Body"]
                if len(body.read()) != case.size:
                    raise RuntimeError(f"GET {key} returned the wrong number of bytes")

    if case.threads == 1:
        return lambda: run(server.client, keys)

    def concurrent() -> None:
        with ThreadPoolExecutor(max_workers=case.threads) as pool:
            clients = server.thread_clients[: case.threads]
            futures = [
                pool.submit(run, c, part)
                for c, part in zip(clients, _split(keys, case.threads), strict=True)
            ]
            for future in futures:
                future.result()

    return concurrent


def _delete(server: Server, keys: list[str]) -> None:
    for key in keys:
        server.client.delete_object(Bucket=BUCKET, Key=key)


def run_case(case: Case, servers: list[Server], rounds: int, tag: str) -> Result:
    """Warm up, then ``rounds`` rounds in which every live server runs ``case.ops`` operations."""
    payload = os.urandom(case.size)
    big = case.size >= MiB
    fixed = distinct_keys(f"{tag}-fixed", case.ops)

    def attempt(server: Server, what: str, work: Callable[[], None]) -> float | None:
        try:
            return timed(work)
        except Exception as error:
            server.fail(f"{case.name}, {what}: {type(error).__name__}: {error}")
            return None

    def keys_for(label: str) -> list[str]:
        return fixed if case.kind == "get" else distinct_keys(f"{tag}-{label}", case.ops)

    live = [s for s in servers if s.ok]
    for server in live:
        if case.kind == "get":
            seed = dataclasses.replace(case, kind="put", threads=1)
            attempt(server, "seeding", _batch(seed, server, fixed, payload))
        warm = keys_for("warm")
        if server.ok:
            attempt(server, "warm-up", _batch(case, server, warm, payload))
        if server.ok and big and case.kind == "put":
            attempt(server, "cleanup", functools.partial(_delete, server, warm))

    per_round: list[dict[str, float]] = []
    for number in range(rounds):
        shift = number % len(servers)
        order = servers[shift:] + servers[:shift]
        rates: dict[str, float] = {}
        for server in order:
            if not server.ok:
                continue
            keys = keys_for(f"r{number:02d}")
            elapsed = attempt(server, f"round {number}", _batch(case, server, keys, payload))
            if elapsed is not None:
                rates[server.name] = case.rate(elapsed)
            if server.ok and big and case.kind == "put":  # untimed: keep memory and disk small
                attempt(server, "cleanup", functools.partial(_delete, server, keys))
        per_round.append(rates)

    result = Result(
        case.name, case.unit, case.size, case.ops, case.threads, case.goal_moto, case.goal_ministack
    )
    result.rounds = per_round
    for server in servers:
        values = [r[server.name] for r in per_round if server.name in r]
        result.rate[server.name] = statistics.median(values) if values else None
    verdicts: list[bool] = []
    for peer, goal in ((MOTO, case.goal_moto), (MINISTACK, case.goal_ministack)):
        # Each round pairs fogbank's batch with the peer's batch run next to it, so the
        # paired ratio cancels drift that the ratio of the two medians would not.
        paired = [r[FOGBANK] / r[peer] for r in per_round if FOGBANK in r and peer in r]
        if not paired:
            result.ratio[peer] = None
            continue
        ratio = statistics.median(paired)
        result.ratio[peer] = ratio
        result.ratio_range[peer] = [min(paired), max(paired)]
        verdicts.append(ratio >= goal if peer == MOTO else ratio > goal)
    result.passed = bool(verdicts) and all(verdicts)
    result.complete = len(verdicts) == len(PEERS)
    return result


# ---------------------------------------------------------------------------- reporting


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _ratio_cell(result: Result, peer: str) -> str:
    ratio = result.ratio.get(peer)
    if ratio is None:
        return "n/a"
    low, high = result.ratio_range[peer]
    goal = result.goal_vs_moto if peer == MOTO else result.goal_vs_ministack
    met = ratio >= goal if peer == MOTO else ratio > goal
    colour = "green" if met else "red"
    return f"[{colour}]{ratio:.2f}[/{colour}] [dim]{low:.1f}-{high:.1f}[/dim]"


def _verdict(result: Result) -> str:
    if not any(result.ratio.get(p) is not None for p in PEERS):
        return "[yellow]n/a[/yellow]"
    text = "[green]pass[/green]" if result.passed else "[red]FAIL[/red]"
    return text if result.complete else f"{text}[yellow]*[/yellow]"


def render(results: list[Result], servers: list[Server], title: str) -> Table:
    caption = [
        f"{s.name} not measured: {escape(s.problem)}" for s in servers if s.problem is not None
    ]
    if any(not r.complete and r.ratio_range for r in results):
        caption.append("* judged against the peers that were measured only")
    table = Table(title=title, caption="\n".join(caption) or None, caption_justify="left")
    table.add_column("case", no_wrap=True)
    table.add_column("unit")
    table.add_column("fogbank", justify="right")
    table.add_column("moto", justify="right")
    table.add_column("ministack", justify="right")
    table.add_column("fogbank/moto", justify="right")
    table.add_column("fogbank/ministack", justify="right")
    table.add_column("goal", justify="right")
    table.add_column("result")
    for r in results:
        table.add_row(
            r.case,
            r.unit,
            _fmt(r.rate.get(FOGBANK)),
            _fmt(r.rate.get(MOTO)),
            _fmt(r.rate.get(MINISTACK)),
            _ratio_cell(r, MOTO),
            _ratio_cell(r, MINISTACK),
            f">= {r.goal_vs_moto:.0f}x, > {r.goal_vs_ministack:.0f}x",
            _verdict(r),
        )
    return table


def _environment(servers: list[Server], rounds: int, quick: bool) -> dict[str, object]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "client": {"boto3": boto3.__version__, "botocore": botocore.__version__},
        "servers": {
            s.name: {
                "version": s.version or None,
                "python": s.python or None,
                "endpoint_url": s.endpoint_url if s.port else None,
                "problem": s.problem,
            }
            for s in servers
        },
        "rounds": rounds,
        "quick": quick,
    }


def _parser() -> argparse.ArgumentParser:
    made = parser(
        "gateway",
        "S3 PUT/GET through boto3: fogbank's gateway vs moto's server vs MiniStack.",
        "rotated rounds per case",
    )
    made.add_argument(
        "--peers-python",
        default=None,
        help=f"an interpreter with moto/ministack installed (also ${PEERS_PYTHON_ENV})",
    )
    return made


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 11)
    console = wide_console(120)
    chosen = cases(args.quick)
    threads = max(case.threads for case in chosen)
    results: list[Result] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fogbank-bench-gateway-", dir=args.dir) as scratch:
        root = Path(scratch)
        servers = build_servers(root, args.peers_python)
        with (
            console.status("starting fogbank, moto and ministack"),
            running(servers, root, threads),
        ):
            for index, case in enumerate(chosen):
                if not any(s.ok for s in servers):
                    break
                label = f"{case.name} ({rounds} rounds x {case.ops} ops per server)"
                with console.status(label):
                    results.append(run_case(case, servers, rounds, f"c{index}"))
        environment = _environment(servers, rounds, args.quick)

    elapsed = time.perf_counter() - started
    versions = ", ".join(f"{s.name} {s.version}" for s in servers if s.version)
    title = (
        f"S3 through boto3 {boto3.__version__}: {versions}; {rounds} rotated rounds "
        f"({'quick, ' if args.quick else ''}{elapsed:.0f} s, {os.cpu_count()} CPUs)"
    )
    console.print(render(results, servers, title))
    console.print(
        "rates: medians over rounds, measured by one client process (boto3's own cost per "
        "request is in every\nnumber). ratios: median over rounds of fogbank ÷ peer in the same "
        "round, then the lowest-highest round.\nfogbank stores durably (fsync) on disk; moto "
        "and ministack keep objects in memory."
    )
    write_results(args.json, "gateway", environment, elapsed, [asdict(r) for r in results], console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
