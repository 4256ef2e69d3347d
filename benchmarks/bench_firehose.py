"""Firehose end to end: records put through boto3 until they are Parquet in the lake,
against writing the same records straight to Parquet with pyarrow, and against what
moto's server and MiniStack deliver for the same puts.

A ``fogbank serve`` subprocess (limits off) gets a Glue table for the clickstream's
JSON records and a DirectPut delivery stream that converts them to Parquet (SNAPPY)
with that table's schema, buffering 64 MiB or 1 s. The records (200,000; ``--quick``:
20,000) go in through PutRecordBatch, 500 at a time, from one client; the clock runs
from the first put until every record is counted back from the objects under the
stream's prefix (listed, then each read with GetObject by 4 client threads). The
baseline is this process parsing the same JSON records and writing them as one SNAPPY
Parquet file with pyarrow. Goal: fogbank >= 0.5x the baseline's records/s. The two
sides take turns, ``--rounds`` times (3; ``--quick``: 1), each round with a fresh
server and the order alternating; times are medians and the ratio is the median of
the per-round ratios, so a busy machine's drift cancels out.

Then the peers, once each, one at a time, each in its own subprocess from the peers
venv (``--peers-python`` or ``$FOGBANK_BENCH_PEERS_PYTHON``, then this interpreter,
then ``.venv-peers`` next to the checkout, then ``$TMPDIR/fogbank-bench-peers``):
moto's server, MiniStack as installed (no DuckDB there: its Parquet conversion needs
it) and MiniStack lent this interpreter's DuckDB through ``PYTHONPATH`` (what its full
image has; ``--ministack-engine installed|duckdb|both``). Each gets the same bucket,
Glue database and table (through its own Glue API) and the same delivery stream; when
it refuses part of that, the stream is made without the conversion and the table says
so. The same records go in through PutRecordBatch until they are all put or the put
budget (``--peer-put-seconds``: 20 s; ``--quick``: 3 s) is spent, checked between
batches. Then, for fogbank and the peers alike, the objects under the prefix are
listed and read until every record put is accounted for or 2 x the buffering interval
+ 30 s have passed since the last put (listing and reading included). Each object's
format is told from its bytes: Parquet (``PAR1`` at both ends; rows from its footer),
else JSON documents, one per line or concatenated; objects under
``<prefix><type>-failed/`` are the stream's error output (AWS's layout) and their
records are counted apart. A peer's ratio (fogbank's end-to-end records/s ÷ its own)
is given only where it delivered every record; otherwise the table says how many of
them it delivered. A peer that is not installed or does not start is named with the
reason.

    python -m benchmarks firehose [--quick] [--rounds N] [--dir DIR] [--json PATH]
        [--peers-python PY] [--ministack-engine installed|duckdb|both] [--no-peers]
        [--peer-put-seconds S]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from rich.markup import escape
from rich.table import Table

from benchmarks.bench_query import client
from benchmarks.common import console as wide_console
from benchmarks.common import parser, write_results
from benchmarks.servers import (
    DEFAULT_PEERS_PYTHON,
    HOST,
    PEERS_PYTHON_ENV,
    ServerProcess,
    find_peer,
)
from fogbank.demo.clickstream import generate_clickstream
from fogbank.gateway.server import free_port

GOAL = 0.5
BUCKET = "firehose-bench"
PREFIX = "clicks/"
STREAM = "bench"
DATABASE, TABLE = "bench", "clicks"
PUT_BATCH = 500
BUFFER_MB, BUFFER_SECONDS = 64, 1
WAIT_AFTER_PUTS = 2 * BUFFER_SECONDS + 30  # seconds, listing and reading included
READERS = 4  # client threads reading the delivered objects back
ROLE = "arn:aws:iam::000000000000:role/bench"
FOGBANK_CLI = "from fogbank.cli import main; main()"
FOGBANK, MOTO, MINISTACK, MINISTACK_DUCKDB = "fogbank", "moto", "ministack", "ministack+duckdb"
REPO_PEERS_PYTHON = Path(__file__).resolve().parent.parent / ".venv-peers" / "bin" / "python"
COLUMNS = [
    ("event_id", "string"),
    ("timestamp", "string"),
    ("user_id", "string"),
    ("device", "string"),
    ("os", "string"),
    ("page", "string"),
    ("page_category", "string"),
    ("ad_id", "string"),
    ("ad_category", "string"),
    ("position", "int"),
    ("dwell_seconds", "double"),
    ("user_age", "int"),
    ("user_ctr_affinity", "double"),
    ("hour", "int"),
    ("clicked", "int"),
    ("click_probability", "double"),
]

# `moto_server -H HOST -p PORT`, minus werkzeug's one-line-per-request access log.
MOTO_SERVER = """\
import logging, sys
logging.getLogger("werkzeug").setLevel(logging.WARNING)
from moto.server import main
main(sys.argv[1:])
"""


def records(count: int) -> list[bytes]:
    batch = generate_clickstream(count, start=datetime(2026, 1, 1, tzinfo=UTC), hours=24, seed=11)
    return [json.dumps(r, separators=(",", ":")).encode() for r in batch.to_records()]


def baseline(data: list[bytes], folder: Path) -> float:
    """Seconds for pyarrow to parse the JSON records and write one Parquet file."""
    schema = pa.schema(
        [
            (n, {"string": pa.string(), "int": pa.int32(), "double": pa.float64()}[t])
            for n, t in COLUMNS
        ]
    )
    started = time.perf_counter()
    rows = [json.loads(d) for d in data]
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, folder / "baseline.parquet", compression="snappy")
    return time.perf_counter() - started


# ---------------------------------------------------------------------------- the servers


@dataclass
class FirehoseServer(ServerProcess):
    """fogbank serve, moto's server or MiniStack, in a subprocess of its own."""

    python: str = ""
    note: str = ""  # how it runs, when that needs saying (MiniStack's duckdb)

    def ready_probe(self) -> tuple[Callable[[], object], str]:
        firehose = client(self.endpoint_url, "firehose", read_timeout=5)
        return firehose.list_delivery_streams, "ListDeliveryStreams"


def fogbank_server(scratch: Path) -> FirehoseServer:
    import fogbank

    port = free_port(HOST)
    script = Path(sys.executable).parent / "fogbank"
    cli = [str(script)] if script.exists() else [sys.executable, "-c", FOGBANK_CLI]
    home = scratch / "home"
    return FirehoseServer(
        FOGBANK,
        argv=[*cli, "--home", str(home), "serve", "--host", HOST, "--port", str(port)],
        env={"FOGBANK_LIMITS": "false", "FOGBANK_HOME": str(home)},
        version=fogbank.__version__,
        port=port,
        cwd=scratch,
        python=sys.executable,
    )


def _peers_python(given: str | None) -> str | None:
    if given is None and not os.environ.get(PEERS_PYTHON_ENV) and REPO_PEERS_PYTHON.exists():
        return str(REPO_PEERS_PYTHON)  # `make bench` puts the peers there
    return given


def moto_server(peers_python: str | None) -> FirehoseServer:
    moto = FirehoseServer(MOTO)
    found = find_peer("moto.server, flask", "moto", _peers_python(peers_python))
    if found is None:
        moto.problem = "not installed: pip install 'moto[server]' (or --peers-python PY)"
        return moto
    moto.python, moto.version = found
    moto.port = free_port(HOST)
    moto.argv = [moto.python, "-c", MOTO_SERVER, "-H", HOST, "-p", str(moto.port)]
    return moto


def _python_version(python: str) -> str:
    done = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


def _duckdb_shim(scratch: Path) -> tuple[Path, str]:
    """A folder of links to this interpreter's duckdb package (for PYTHONPATH), its version."""
    import duckdb

    shim = scratch / "ministack-duckdb"
    shim.mkdir(exist_ok=True)
    package = Path(duckdb.__file__).resolve().parent
    found = package.parent
    names = [package.name, *(p.name for p in found.glob("_duckdb*.so"))]
    names += [p.name for p in found.glob("duckdb-*.dist-info")]
    for name in names:
        (shim / name).symlink_to(found / name)
    return shim, duckdb.__version__


def ministack_server(scratch: Path, peers_python: str | None, lend_duckdb: bool) -> FirehoseServer:
    mini = FirehoseServer(MINISTACK_DUCKDB if lend_duckdb else MINISTACK)
    found = find_peer("ministack.app", "ministack", _peers_python(peers_python))
    if found is None:
        mini.problem = (
            "not installed: it pins an exact botocore, so give it a venv of its own: "
            "python -m venv .venv-peers && .venv-peers/bin/pip install ministack "
            f"(or --peers-python PY; default {DEFAULT_PEERS_PYTHON})"
        )
        return mini
    mini.python, mini.version = found
    mini.port = free_port(HOST)
    mini.argv = [mini.python, "-m", "ministack"]
    mini_tmp = scratch / "ministack-tmp"
    mini_tmp.mkdir(exist_ok=True)
    mini.env = {
        "GATEWAY_PORT": str(mini.port),
        "BIND_HOST": HOST,
        "SERVICES": "s3,glue,firehose",
        "PERSIST_STATE": "0",
        "S3_PERSIST": "0",
        "IOT_MTLS_ENABLED": "0",
        "LOG_LEVEL": "WARNING",
        "TMPDIR": str(mini_tmp),  # its pid file goes here, not in the shared /tmp
    }
    has_duckdb = (
        subprocess.run(
            [mini.python, "-c", "import duckdb"], capture_output=True, check=False
        ).returncode
        == 0
    )
    if not lend_duckdb:
        mini.note = "as installed, " + ("with duckdb" if has_duckdb else "no duckdb")
    elif has_duckdb:
        mini.note = "its own duckdb"
    elif _python_version(mini.python) != _python_version(sys.executable):
        mini.problem = "cannot lend it duckdb: its Python version differs from this one's"
    else:
        try:
            shim, version = _duckdb_shim(scratch)
        except ImportError:
            mini.problem = "cannot lend it duckdb: this interpreter has none"
        else:
            mini.env["PYTHONPATH"] = str(shim)
            mini.note = f"lent this interpreter's duckdb {version} through PYTHONPATH"
    return mini


# ---------------------------------------------------------------------------- one delivery


@dataclass
class Delivery:
    """What one server did with the records: the puts, and what landed under the prefix."""

    server: str
    version: str
    records: int
    note: str = ""
    stream: str = ""  # the delivery stream as created (conversion, or the fallback and why)
    converting: bool = False  # the stream was created with the Parquet conversion
    put: int = 0  # records acknowledged
    refused: int = 0  # records in FailedPutCount
    put_seconds: float = 0.0
    put_stopped: bool = False  # the put budget ran out before the last batch
    objects: int = 0  # listed under the prefix
    objects_read: int = 0
    data_records: int = 0  # Parquet rows or JSON documents outside the error output
    error_records: int = 0  # records in the error output (<prefix><type>-failed/)
    formats: dict[str, int] = field(default_factory=dict)  # format -> objects
    error_note: str = ""  # the first error-output document's ErrorCode: ErrorMessage
    seconds: float | None = None  # first put to every record counted back; None if never
    problem: str | None = None

    @property
    def put_rate(self) -> float | None:
        return self.put / self.put_seconds if self.put and self.put_seconds > 0 else None

    @property
    def rate(self) -> float | None:
        """End-to-end records/s, only when every record was delivered."""
        if self.seconds is None or self.data_records < self.records:
            return None
        return self.records / self.seconds

    @property
    def parquet(self) -> bool:
        data = {f: n for f, n in self.formats.items() if not f.startswith("error output")}
        return bool(data) and set(data) == {"Parquet"}


def stream_request(convert: bool) -> dict[str, Any]:
    destination: dict[str, Any] = {
        "RoleARN": ROLE,
        "BucketARN": f"arn:aws:s3:::{BUCKET}",
        "Prefix": PREFIX,
        "BufferingHints": {"SizeInMBs": BUFFER_MB, "IntervalInSeconds": BUFFER_SECONDS},
        "CompressionFormat": "UNCOMPRESSED",
    }
    if convert:
        destination["DataFormatConversionConfiguration"] = {
            "Enabled": True,
            "SchemaConfiguration": {
                "RoleARN": ROLE,
                "DatabaseName": DATABASE,
                "TableName": TABLE,
                "VersionId": "LATEST",
            },
            "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
            "OutputFormatConfiguration": {
                "Serializer": {"ParquetSerDe": {"Compression": "SNAPPY"}}
            },
        }
    return {
        "DeliveryStreamName": STREAM,
        "DeliveryStreamType": "DirectPut",
        "ExtendedS3DestinationConfiguration": destination,
    }


def _short(error: Exception, limit: int = 160) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def create_stream(s3: Any, glue: Any, firehose: Any) -> tuple[bool, str]:
    """The bucket, the Glue table and the converting stream; without conversion if refused."""
    s3.create_bucket(Bucket=BUCKET)
    why = ""
    try:
        glue.create_database(DatabaseInput={"Name": DATABASE})
        glue.create_table(
            DatabaseName=DATABASE,
            TableInput={
                "Name": TABLE,
                "StorageDescriptor": {
                    "Columns": [{"Name": n, "Type": t} for n, t in COLUMNS],
                    "Location": f"s3://{BUCKET}/{PREFIX}",
                },
            },
        )
    except Exception as error:
        why = f"Glue refused the table ({_short(error)})"
    if not why:
        try:
            firehose.create_delivery_stream(**stream_request(True))
        except Exception as error:
            why = f"CreateDeliveryStream refused the conversion ({_short(error)})"
        else:
            return True, "with conversion"
    firehose.create_delivery_stream(**stream_request(False))
    return False, f"FALLBACK, without the conversion: {why}"


def wait_active(firehose: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        described = firehose.describe_delivery_stream(DeliveryStreamName=STREAM)
        status = described["DeliveryStreamDescription"]["DeliveryStreamStatus"]
        if status == "ACTIVE":
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the delivery stream is {status} after {timeout:.0f} s")
        time.sleep(0.05)


def count_json(body: bytes) -> tuple[int, bool, dict[str, Any] | None]:
    """JSON documents in ``body``, whether each is on its own line, and the first one.

    Raises ValueError when the bytes are not JSON documents.
    """
    text = body.decode("utf-8")
    decoder = json.JSONDecoder()
    position, documents, lines, first = 0, 0, True, None
    end = len(text)
    while True:
        skipped = position
        while position < end and text[position].isspace():
            position += 1
        if position >= end:
            return documents, lines, first
        if documents and "\n" not in text[skipped:position]:
            lines = False
        document, position = decoder.raw_decode(text, position)
        if first is None and isinstance(document, dict):
            first = document
        documents += 1


def inspect(key: str, body: bytes) -> tuple[str, int, bool, str]:
    """One object's (format, records, whether it is error output, error note)."""
    error_output = key[len(PREFIX) :].split("/", 1)[0].endswith("-failed")
    if len(body) >= 8 and body[:4] == b"PAR1" and body[-4:] == b"PAR1":
        rows = pq.read_metadata(io.BytesIO(body)).num_rows
        return ("error output, Parquet" if error_output else "Parquet"), rows, error_output, ""
    try:
        documents, lines, first = count_json(body)
    except (UnicodeDecodeError, ValueError):
        return ("error output, not JSON" if error_output else "not JSON"), 0, error_output, ""
    shape = "JSON lines" if lines else "JSON, concatenated"
    if not error_output:
        return shape, documents, False, ""
    note = ""
    if first is not None:
        note = f"{first.get('ErrorCode', '')}: {first.get('ErrorMessage', '')}".strip(": ")
    return f"error output, {shape}", documents, True, note


def list_keys(s3: Any) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def deliver(server: FirehoseServer, data: list[bytes], put_budget: float | None) -> Delivery:
    """Make the stream, put ``data`` (until ``put_budget`` s, if any), count what lands."""
    result = Delivery(server.name, server.version, len(data), server.note)
    s3 = client(server.endpoint_url, "s3")
    glue = client(server.endpoint_url, "glue")
    firehose = client(server.endpoint_url, "firehose")
    readers = [client(server.endpoint_url, "s3") for _ in range(READERS)]
    try:
        result.converting, result.stream = create_stream(s3, glue, firehose)
        wait_active(firehose)
    except Exception as error:
        result.problem = f"setting up the stream failed: {_short(error)}"
        return result

    def read(job: tuple[int, str]) -> tuple[str, int, bool, str]:
        index, key = job
        body = readers[index % READERS].get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return inspect(key, body)

    started = time.perf_counter()
    try:
        for start in range(0, len(data), PUT_BATCH):
            if put_budget is not None and time.perf_counter() - started >= put_budget:
                result.put_stopped = True
                break
            batch = data[start : start + PUT_BATCH]
            reply = firehose.put_record_batch(
                DeliveryStreamName=STREAM, Records=[{"Data": d} for d in batch]
            )
            result.refused += reply["FailedPutCount"]
            result.put += len(batch) - reply["FailedPutCount"]
    except Exception as error:
        result.problem = f"PutRecordBatch failed after {result.put:,} records: {_short(error)}"
    result.put_seconds = time.perf_counter() - started

    seen: set[str] = set()
    formats: Counter[str] = Counter()
    deadline = time.perf_counter() + WAIT_AFTER_PUTS
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        while time.perf_counter() < deadline:
            try:
                keys = list_keys(s3)
            except Exception as error:
                result.problem = result.problem or f"listing the prefix failed: {_short(error)}"
                break
            result.objects = len(keys)
            new = [k for k in keys if k not in seen]
            for chunk in range(0, len(new), 64):  # the deadline is checked between chunks
                if time.perf_counter() >= deadline:
                    break
                part = new[chunk : chunk + 64]
                try:
                    inspected = list(pool.map(read, enumerate(part)))
                except Exception as error:
                    result.problem = result.problem or f"reading back failed: {_short(error)}"
                    deadline = 0.0
                    break
                seen.update(part)
                for shape, count, error_output, note in inspected:
                    formats[shape] += 1
                    if error_output:
                        result.error_records += count
                        result.error_note = result.error_note or note
                    else:
                        result.data_records += count
            accounted = result.data_records + result.error_records
            if accounted >= result.put:
                break
            time.sleep(0.05)
    result.objects_read = len(seen)
    result.formats = dict(formats)
    if result.data_records >= len(data):
        result.seconds = time.perf_counter() - started
    for made in (s3, glue, firehose, *readers):
        made.close()
    return result


def measure(
    server: FirehoseServer, data: list[bytes], scratch: Path, budget: float | None
) -> Delivery:
    """Start ``server``, run one delivery on it, stop it; a failure is the result's problem."""
    if server.ok:
        server.start(scratch)
    try:
        if server.ok:
            server.wait_ready()
        if not server.ok:
            return Delivery(
                server.name, server.version, len(data), server.note, problem=server.problem
            )
        return deliver(server, data, budget)
    finally:
        server.stop()


# ---------------------------------------------------------------------------- reporting


def _records_cell(d: Delivery) -> str:
    text = f"{d.data_records:,}"
    if d.error_records:
        text += f" (+{d.error_records:,} in error output)"
    if d.objects_read < d.objects:
        text += f" in the {d.objects_read:,} objects read by the deadline"
    return text


def _stream_cell(d: Delivery) -> str:
    return d.stream if d.converting else "[red]FALLBACK: without conversion[/red]"


def _format_cell(d: Delivery) -> str:
    if not d.formats:
        return "-"
    return "; ".join(f"{shape} x{n:,}" for shape, n in sorted(d.formats.items()))


def _parquet_cell(d: Delivery) -> str:
    if d.parquet:
        return "[green]yes[/green]"
    data = [f for f in d.formats if not f.startswith("error output")]
    return "[red]no[/red]" if data else "[red]no[/red]: nothing delivered"


def _verdict(d: Delivery, fogbank_rate: float | None) -> str:
    """fogbank ÷ peer, only where the peer delivered every record."""
    if d.problem is not None and d.put == 0:
        return "not measured"
    if d.rate is not None:
        if fogbank_rate is None:
            return "n/a (fogbank did not deliver every record)"
        return f"{fogbank_rate / d.rate:.2f}"
    if d.data_records == 0:
        return "not delivered"
    return f"delivered {d.data_records:,} of {d.records:,}"


def _put_cell(d: Delivery, budget: float | None) -> str:
    text = f"{d.put:,}"
    if d.put_stopped and budget is not None:
        text += f" (the {budget:g} s budget)"
    if d.refused:
        text += f", {d.refused:,} refused"
    return text


def render_peers(
    fogbank: list[Delivery], peers: list[Delivery], budget: float, title: str
) -> Table:
    seconds = [d.seconds for d in fogbank if d.seconds is not None]
    fogbank_rate = (
        fogbank[0].records / statistics.median(seconds) if len(seconds) == len(fogbank) else None
    )
    puts = [r for r in (d.put_rate for d in fogbank) if r is not None]
    caption = [
        f"{d.server} not measured: {escape(d.problem)}"
        for d in peers
        if d.problem is not None and d.put == 0
    ]
    caption += [
        f"{d.server}: {escape(d.problem)}" for d in peers if d.problem is not None and d.put > 0
    ]
    caption += [f"{d.server}: {escape(d.note)}" for d in peers if d.note]
    caption += [
        f"{d.server}'s error output says: {escape(d.error_note)}" for d in peers if d.error_note
    ]
    caption += [
        f"{d.server}'s stream: {escape(d.stream)}"
        for d in [*fogbank[-1:], *peers]
        if not d.converting and d.stream
    ]
    table = Table(title=title, caption="\n".join(caption) or None, caption_justify="left")
    for column in (
        "server",
        "stream created",
        "put rec/s",
        "records put",
        "objects",
        "records in them",
        "format (objects)",
        "Parquet",
        "end-to-end rec/s",
        "fogbank ÷ peer",
    ):
        table.add_column(column, justify="right" if "rec" in column else "left")
    last = fogbank[-1]
    table.add_row(
        f"fogbank {last.version} (median of {len(fogbank)})",
        _stream_cell(last),
        f"{statistics.median(puts):,.0f}" if puts else "n/a",
        _put_cell(last, None),
        f"{last.objects:,}",
        _records_cell(last),
        _format_cell(last),
        _parquet_cell(last),
        f"{fogbank_rate:,.0f}" if fogbank_rate else "n/a",
        "",
    )
    for d in peers:
        if d.problem is not None and d.put == 0:
            table.add_row(f"{d.server} {escape(d.version)}", *["-"] * 8, "not measured")
            continue
        table.add_row(
            f"{d.server} {escape(d.version)}",
            _stream_cell(d),
            f"{d.put_rate:,.0f}" if d.put_rate else "n/a",
            _put_cell(d, budget),
            f"{d.objects:,}",
            _records_cell(d),
            _format_cell(d),
            _parquet_cell(d),
            f"{d.rate:,.0f}" if d.rate else "n/a",
            _verdict(d, fogbank_rate),
        )
    return table


def render_baseline(
    count: int, size: int, bases: list[float], runs: list[Delivery], ratios: list[float]
) -> Table:
    rounds = len(runs)
    base = statistics.median(bases)
    seconds = [d.seconds for d in runs if d.seconds is not None]
    rows = min(d.data_records for d in runs)
    title = f"Firehose: {count:,} JSON records ({size / 1e6:.0f} MB) to Parquet"
    spread = f", ratio per round {min(ratios):.2f}-{max(ratios):.2f}" if len(ratios) > 1 else ""
    table = Table(title=f"{title} ({os.cpu_count()} CPUs, median of {rounds}{spread})")
    for column in ("side", "seconds", "records/s", "rows delivered", "objects", "ratio", "goal"):
        table.add_column(column)
    table.add_row(
        "pyarrow, straight to Parquet",
        f"{base:.2f}",
        f"{count / base:,.0f}",
        f"{count:,}",
        "1",
        "1.00",
        "",
    )
    if len(seconds) == len(runs) and ratios:
        median = statistics.median(seconds)
        ratio = statistics.median(ratios)
        met = ratio >= GOAL and rows == count and all(d.parquet for d in runs)
        table.add_row(
            "fogbank: PutRecordBatch -> Parquet in the lake",
            f"{median:.2f}",
            f"{count / median:,.0f}",
            f"{rows:,}",
            str(runs[-1].objects),
            f"{ratio:.2f}",
            f">= {GOAL} {'met' if met else 'MISSED'}",
        )
    else:
        problems = "; ".join(d.problem for d in runs if d.problem) or "not every record counted"
        table.add_row(
            "fogbank: PutRecordBatch -> Parquet in the lake",
            "n/a",
            "n/a",
            f"{rows:,}",
            str(runs[-1].objects),
            "n/a",
            f">= {GOAL} MISSED ({escape(problems)})",
        )
    return table


def _parser() -> argparse.ArgumentParser:
    made = parser("firehose", __doc__ or "", "rounds, sides taking turns (3; --quick: 1)")
    made.add_argument(
        "--peers-python",
        default=None,
        help=f"an interpreter with moto/ministack installed (also ${PEERS_PYTHON_ENV})",
    )
    made.add_argument(
        "--ministack-engine",
        choices=("installed", "duckdb", "both"),
        default="both",
        help="MiniStack as installed, lent this interpreter's duckdb, or both (the default)",
    )
    made.add_argument("--no-peers", action="store_true", help="fogbank and pyarrow only")
    made.add_argument(
        "--peer-put-seconds",
        type=float,
        default=None,
        help="stop putting to a peer after this many seconds (20; --quick: 3)",
    )
    return made


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    count = 20_000 if args.quick else 200_000
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 3)
    budget = args.peer_put_seconds or (3.0 if args.quick else 20.0)
    console = wide_console(190)
    started = time.perf_counter()
    data = records(count)
    size = sum(len(d) for d in data)
    bases: list[float] = []
    runs: list[Delivery] = []
    for round_ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="fogbank-bench-firehose-", dir=args.dir) as tmp:
            scratch = Path(tmp)
            if round_ % 2 == 0:
                bases.append(baseline(data, scratch))
            with console.status(f"round {round_ + 1}: {count:,} records through Firehose"):
                run = measure(fogbank_server(scratch), data, scratch, None)
            if run.put == 0 and run.problem:
                raise RuntimeError(f"fogbank: {run.problem}")
            runs.append(run)
            if round_ % 2 == 1:
                bases.append(baseline(data, scratch))
    ratios = [b / d.seconds for b, d in zip(bases, runs, strict=True) if d.seconds is not None]

    peers: list[Delivery] = []
    if not args.no_peers:
        engines = {"installed": [False], "duckdb": [True], "both": [False, True]}
        for name in [
            MOTO,
            *(MINISTACK_DUCKDB if lend else MINISTACK for lend in engines[args.ministack_engine]),
        ]:
            with tempfile.TemporaryDirectory(prefix="fogbank-bench-firehose-", dir=args.dir) as tmp:
                scratch = Path(tmp)
                if name == MOTO:
                    server = moto_server(args.peers_python)
                else:
                    server = ministack_server(scratch, args.peers_python, name == MINISTACK_DUCKDB)
                with console.status(f"{server.name}: the same {count:,} records"):
                    peers.append(measure(server, data, scratch, budget))

    elapsed = time.perf_counter() - started
    console.print(render_baseline(count, size, bases, runs, ratios))
    if peers:
        title = (
            f"Firehose peers: the same {count:,} records through PutRecordBatch "
            f"({'quick, ' if args.quick else ''}{elapsed:.0f} s in all, {os.cpu_count()} CPUs)"
        )
        console.print(render_peers(runs, peers, budget, title))
        console.print(
            f"peers: one run each, after fogbank's rounds; puts stop when the {budget:.0f} s put "
            "budget is spent (checked between batches of 500).\nEveryone: objects under "
            f"s3://{BUCKET}/{PREFIX} listed and read until every record put is counted or "
            f"{WAIT_AFTER_PUTS} s after the last put.\nend-to-end: first put until every "
            "record is counted back (JSON parsed, Parquet footers read); a ratio only where "
            "the peer delivered every record."
        )
    results: list[dict[str, Any]] = [
        {
            "records": count,
            "rounds": rounds,
            "baseline_seconds": statistics.median(bases),
            "fogbank_seconds": statistics.median(
                [d.seconds for d in runs if d.seconds is not None] or [float("nan")]
            ),
            "ratio": statistics.median(ratios) if ratios else None,
            "ratios": ratios,
            "rows": min(d.data_records for d in runs),
            "fogbank": [asdict(d) for d in runs],
            "peers": [asdict(d) for d in peers],
            "peer_put_budget_seconds": budget,
            "wait_after_puts_seconds": WAIT_AFTER_PUTS,
        }
    ]
    write_results(args.json, "firehose", {"cpus": os.cpu_count()}, elapsed, results, console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
