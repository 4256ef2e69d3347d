"""The Kinesis server's memory under a steady load: it must stay flat.

`fogbank serve` (limits off) takes PutRecords 500 x 1 KiB from two client processes
for ten minutes (``--quick``: one); its resident memory is sampled twelve times. A
server that buffered a stream would grow with every record; one that streams to its
shard logs holds steady. No peer: the figure is set against the goal, growth after
the first minute under 10%.

    python -m benchmarks stream_memory [--quick] [--dir DIR] [--json PATH]
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from rich.table import Table

from benchmarks.common import console as wide_console
from benchmarks.common import parser, write_results
from fogbank.gateway.server import free_port

STREAM = "memory"
SAMPLES = 12


def _client(url: str) -> Any:
    return boto3.client(
        "kinesis",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 3}),
    )


def _writer(url: str, stop_at: float, counts: multiprocessing.Queue[int]) -> None:
    client = _client(url)
    data = os.urandom(1024)
    sent = 0
    while time.time() < stop_at:
        records = [{"Data": data, "PartitionKey": str(i)} for i in range(500)]
        client.put_records(StreamName=STREAM, Records=records)
        sent += 500
    counts.put(sent)


def _rss_mb(pid: int) -> float:
    with Path(f"/proc/{pid}/status").open(encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    args = parser("stream_memory", __doc__ or "", "unused").parse_args(argv)
    seconds = 60.0 if args.quick else 600.0
    console = wide_console(100)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fogbank-bench-memory-", dir=args.dir) as scratch:
        port = free_port()
        env = {**os.environ, "FOGBANK_HOME": str(Path(scratch)), "FOGBANK_LIMITS": "false"}
        server = subprocess.Popen(
            [sys.executable, "-m", "fogbank.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"{url}/_fogbank/health", timeout=5).close()
                    break
                except OSError:
                    time.sleep(0.1)
            setup = _client(url)
            setup.create_stream(StreamName=STREAM, ShardCount=4)
            setup.close()
            context = multiprocessing.get_context("spawn")
            counts: multiprocessing.Queue[int] = context.Queue()
            stop_at = time.time() + seconds
            writers = [
                context.Process(target=_writer, args=(url, stop_at, counts)) for _ in range(2)
            ]
            for writer in writers:
                writer.start()
            samples: list[tuple[float, float]] = []
            begun = time.time()
            with console.status(f"loading the server for {seconds:.0f} s"):
                while time.time() < stop_at:
                    samples.append((time.time() - begun, _rss_mb(server.pid)))
                    time.sleep(seconds / SAMPLES)
                total = sum(counts.get() for _ in writers)
                for writer in writers:
                    writer.join()
        finally:
            server.terminate()
            server.wait(timeout=60)
    settled = [mb for at, mb in samples if at >= seconds / 10] or [samples[-1][1]]
    growth = (max(settled) - settled[0]) / settled[0]
    table = Table(
        title=f"fogbank serve under PutRecords for {seconds:.0f} s ({os.cpu_count()} CPUs)"
    )
    table.add_column("seconds", justify="right")
    table.add_column("server RSS MB", justify="right")
    for at, mb in samples:
        table.add_row(f"{at:.0f}", f"{mb:.0f}")
    console.print(table)
    verdict = "pass" if growth < 0.10 else "FAIL"
    console.print(
        f"{total:,} records put ({total / seconds:,.0f}/s); RSS growth after the first "
        f"{seconds / 10:.0f} s: {growth:+.1%} (goal < +10%: {verdict})"
    )
    write_results(
        args.json,
        "stream_memory",
        {"seconds": seconds, "cpus": os.cpu_count()},
        time.perf_counter() - started,
        [{"samples": samples, "records": total, "growth": growth}],
        console,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
