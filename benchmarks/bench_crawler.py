"""A Glue crawl of many small objects: objects per second and peak memory.

The issue's workload: 10,000 small JSON-lines objects in 500 Hive-style partitions
(``--quick``: 1,000 in 50), crawled once into an empty database. No peer crawls for
real (moto and MiniStack only flip the crawler's state), so the figures are set
against the goals: the full crawl in under 30 s and under 500 MB of memory. The crawl
runs in a child process so that its peak resident memory is its own.

    python -m benchmarks crawler [--quick] [--dir DIR] [--json PATH]
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path

from rich.table import Table

from benchmarks.common import console as wide_console
from benchmarks.common import parser, write_results
from fogbank import Fogbank, FogbankConfig

BUCKET = "bench"
GOAL_SECONDS = 30.0
GOAL_MB = 500.0


def _load(home: Path, objects: int, partitions: int) -> None:
    with Fogbank(FogbankConfig.load(home=home, environ={}, limits=False)) as fb:
        fb.lake.create_bucket(BUCKET)
        per = objects // partitions
        for p in range(partitions):
            day, hour = divmod(p, 24)
            folder = f"events/day={day:03d}/hour={hour:02d}"
            for i in range(per):
                rows = [
                    {"id": p * per + i, "user": f"u{(p + i + r) % 97}", "score": r * 0.5}
                    for r in range(20)
                ]
                body = "".join(json.dumps(row) + "\n" for row in rows).encode()
                fb.lake.put_object(BUCKET, f"{folder}/part-{i:04d}.json", body)


def _crawl(home: str, queue: multiprocessing.Queue[tuple[float, str]]) -> None:
    with Fogbank(FogbankConfig.load(home=Path(home), environ={}, limits=False)) as fb:
        fb.catalog.create_database({"Name": "bench"})
        fb.crawlers.create_crawler(
            {
                "Name": "bench",
                "Role": "arn:aws:iam::000000000000:role/bench",
                "DatabaseName": "bench",
                "Targets": {"S3Targets": [{"Path": f"s3://{BUCKET}/events/"}]},
            }
        )
        started = time.perf_counter()
        fb.crawlers.start_crawler("bench")
        crawler = fb.crawlers.wait_for_crawler("bench", timeout=3600)
        seconds = time.perf_counter() - started
        last = crawler.last_crawl
        queue.put((seconds, str(last.status if last else "none")))


def main(argv: list[str] | None = None) -> int:
    args = parser("crawler", __doc__ or "", "unused").parse_args(argv)
    objects, partitions = (1_000, 50) if args.quick else (10_000, 500)
    console = wide_console(100)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fogbank-bench-crawler-", dir=args.dir) as scratch:
        home = Path(scratch) / "home"
        with console.status(f"writing {objects:,} objects in {partitions} partitions"):
            load_started = time.perf_counter()
            _load(home, objects, partitions)
            load_seconds = time.perf_counter() - load_started
        queue: multiprocessing.Queue[tuple[float, str]] = multiprocessing.get_context(
            "spawn"
        ).Queue()
        child = multiprocessing.get_context("spawn").Process(target=_crawl, args=(str(home), queue))
        with console.status("crawling"):
            child.start()
            seconds, status = queue.get()
            child.join()
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        with Fogbank(FogbankConfig.load(home=home, environ={}, limits=False)) as fb:
            tables = fb.catalog.get_tables("bench").items
            made = [
                (t.name, len(fb.catalog.get_partitions("bench", t.name, max_results=1000).items))
                for t in tables
            ]
    elapsed = time.perf_counter() - started
    table = Table(title=f"Glue crawl of {objects:,} objects ({os.cpu_count()} CPUs)")
    for column in ("measure", "value", "goal", "met"):
        table.add_column(column)
    table.add_row("crawl status", status, "SUCCEEDED", "yes" if status == "SUCCEEDED" else "no")
    table.add_row(
        "tables / partitions",
        ", ".join(f"{n}: {c}" for n, c in made),
        f"1: {partitions}",
        "yes" if made == [("events", partitions)] else "no",
    )
    table.add_row(
        "crawl seconds",
        f"{seconds:.1f}",
        f"< {GOAL_SECONDS:.0f}",
        "yes" if seconds < GOAL_SECONDS else "no",
    )
    table.add_row(
        "objects / s", f"{objects / seconds:,.0f}", f"> {objects / GOAL_SECONDS:,.0f}", ""
    )
    table.add_row(
        "peak memory of the crawl process",
        f"{peak_mb:,.0f} MB",
        f"< {GOAL_MB:.0f} MB",
        "yes" if peak_mb < GOAL_MB else "no",
    )
    table.add_row(
        "incremental recrawl",
        "not built yet (RecrawlPolicy is stored, not used)",
        "opens only new files",
        "no",
    )
    console.print(table)
    console.print(f"writing the objects took {load_seconds:.1f} s (not part of the crawl)")
    write_results(
        args.json,
        "crawler",
        {"objects": objects, "partitions": partitions, "cpus": os.cpu_count()},
        elapsed,
        [
            {
                "seconds": seconds,
                "objects_per_second": objects / seconds,
                "peak_mb": peak_mb,
                "status": status,
                "tables": made,
            }
        ],
        console,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
