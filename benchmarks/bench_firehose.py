"""Firehose end to end: records put through boto3 until they are Parquet in the lake,
against writing the same records straight to Parquet with pyarrow.

A ``fogbank serve`` subprocess (limits off) gets a Glue table for the clickstream's
JSON records and a DirectPut delivery stream that converts them to Parquet (SNAPPY)
with that table's schema, buffering 64 MiB or 1 s. The records (200,000; ``--quick``:
20,000) go in through PutRecordBatch, 500 at a time, from one client; the clock runs
from the first put until every record is counted back, as rows, from the Parquet
objects in the lake. The baseline is this process parsing the same JSON records and
writing them as one SNAPPY Parquet file with pyarrow. Goal: fogbank >= 0.5x the
baseline's records/s. MiniStack and moto are not measured yet.

The two sides take turns, ``--rounds`` times (3; ``--quick``: 1), each round with a
fresh server and the order alternating; times are medians and the ratio is the median
of the per-round ratios, so a busy machine's drift cancels out.

    python -m benchmarks firehose [--quick] [--rounds N] [--dir DIR] [--json PATH]
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from rich.table import Table

from benchmarks.bench_query import Server, client
from benchmarks.common import console as wide_console
from benchmarks.common import parser, write_results
from benchmarks.servers import HOST
from fogbank.demo.clickstream import generate_clickstream
from fogbank.gateway.server import free_port

GOAL = 0.5
BUCKET = "firehose-bench"
PUT_BATCH = 500
ROLE = "arn:aws:iam::000000000000:role/bench"
FOGBANK_CLI = "from fogbank.cli import main; main()"
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


def fogbank_run(data: list[bytes], scratch: Path) -> tuple[float, int, int]:
    """Seconds from the first put to the last row delivered; objects; rows."""
    import fogbank

    port = free_port(HOST)
    script = Path(sys.executable).parent / "fogbank"
    cli = [str(script)] if script.exists() else [sys.executable, "-c", FOGBANK_CLI]
    home = scratch / "home"
    server = Server(
        "fogbank",
        argv=[*cli, "--home", str(home), "serve", "--host", HOST, "--port", str(port)],
        env={"FOGBANK_LIMITS": "false", "FOGBANK_HOME": str(home)},
        version=fogbank.__version__,
        port=port,
        cwd=scratch,
    )
    server.start(scratch)
    server.wait_ready()
    if not server.ok:
        raise RuntimeError(f"fogbank serve did not start: {server.problem}")
    try:
        s3 = client(server.endpoint_url, "s3")
        glue = client(server.endpoint_url, "glue")
        firehose = client(server.endpoint_url, "firehose")
        s3.create_bucket(Bucket=BUCKET)
        glue.create_database(DatabaseInput={"Name": "bench"})
        glue.create_table(
            DatabaseName="bench",
            TableInput={
                "Name": "clicks",
                "StorageDescriptor": {
                    "Columns": [{"Name": n, "Type": t} for n, t in COLUMNS],
                    "Location": f"s3://{BUCKET}/clicks/",
                },
            },
        )
        firehose.create_delivery_stream(
            DeliveryStreamName="bench",
            DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={
                "RoleARN": ROLE,
                "BucketARN": f"arn:aws:s3:::{BUCKET}",
                "Prefix": "clicks/",
                "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 1},
                "CompressionFormat": "UNCOMPRESSED",
                "DataFormatConversionConfiguration": {
                    "Enabled": True,
                    "SchemaConfiguration": {
                        "RoleARN": ROLE,
                        "DatabaseName": "bench",
                        "TableName": "clicks",
                        "VersionId": "LATEST",
                    },
                    "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
                    "OutputFormatConfiguration": {
                        "Serializer": {"ParquetSerDe": {"Compression": "SNAPPY"}}
                    },
                },
            },
        )
        while (
            firehose.describe_delivery_stream(DeliveryStreamName="bench")[
                "DeliveryStreamDescription"
            ]["DeliveryStreamStatus"]
            != "ACTIVE"
        ):
            time.sleep(0.05)
        started = time.perf_counter()
        for start in range(0, len(data), PUT_BATCH):
            reply = firehose.put_record_batch(
                DeliveryStreamName="bench",
                Records=[{"Data": d} for d in data[start : start + PUT_BATCH]],
            )
            if reply["FailedPutCount"]:
                raise RuntimeError(f"{reply['FailedPutCount']} records refused")
        counted: dict[str, int] = {}
        deadline = time.monotonic() + 600
        while sum(counted.values()) < len(data) and time.monotonic() < deadline:
            listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="clicks/").get("Contents", [])
            for item in listed:
                if item["Key"] not in counted:
                    body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
                    counted[item["Key"]] = pq.read_metadata(io.BytesIO(body)).num_rows
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        for made in (s3, glue, firehose):
            made.close()
        return seconds, len(counted), sum(counted.values())
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    args = parser(
        "firehose", __doc__ or "", "rounds, sides taking turns (3; --quick: 1)"
    ).parse_args(argv)
    count = 20_000 if args.quick else 200_000
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 3)
    console = wide_console(110)
    started = time.perf_counter()
    data = records(count)
    size = sum(len(d) for d in data)
    bases: list[float] = []
    runs: list[tuple[float, int, int]] = []
    for round_ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="fogbank-bench-firehose-", dir=args.dir) as tmp:
            scratch = Path(tmp)
            if round_ % 2 == 0:
                bases.append(baseline(data, scratch))
            with console.status(f"round {round_ + 1}: {count:,} records through Firehose"):
                runs.append(fogbank_run(data, scratch))
            if round_ % 2 == 1:
                bases.append(baseline(data, scratch))
    ratios = [base / run[0] for base, run in zip(bases, runs, strict=True)]
    ratio = statistics.median(ratios)
    base = statistics.median(bases)
    seconds = statistics.median(run[0] for run in runs)
    objects = runs[-1][1]
    rows = min(run[2] for run in runs)
    title = f"Firehose: {count:,} JSON records ({size / 1e6:.0f} MB) to Parquet"
    spread = f", ratio per round {min(ratios):.2f}-{max(ratios):.2f}" if rounds > 1 else ""
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
    table.add_row(
        "fogbank: PutRecordBatch -> Parquet in the lake",
        f"{seconds:.2f}",
        f"{count / seconds:,.0f}",
        f"{rows:,}",
        str(objects),
        f"{ratio:.2f}",
        f">= {GOAL} {'met' if ratio >= GOAL and rows == count else 'MISSED'}",
    )
    console.print(table)
    console.print("MiniStack and moto: not measured yet.")
    results: list[dict[str, Any]] = [
        {
            "records": count,
            "rounds": rounds,
            "baseline_seconds": base,
            "fogbank_seconds": seconds,
            "ratio": ratio,
            "ratios": ratios,
            "rows": rows,
        }
    ]
    write_results(
        args.json,
        "firehose",
        {"cpus": os.cpu_count()},
        time.perf_counter() - started,
        results,
        console,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
