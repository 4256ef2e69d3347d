"""A Glue crawl of many small objects: objects per second and peak memory.

The issue's workload: 10,000 small JSON-lines objects in 500 Hive-style partitions
(``--quick``: 1,000 in 50), crawled once into an empty database, then 10 new partitions
written and crawled again by the same crawler, whose RecrawlPolicy is
CRAWL_NEW_FOLDERS_ONLY: the recrawl must open only the new partitions' files (counted).
No peer crawls for real (moto and MiniStack only flip the crawler's state), so the
figures are set against the goals: the full crawl in under 30 s and under 500 MB of
memory. The crawls run in a child process so that its peak resident memory is its own.

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


NEW_PARTITIONS = 10


def _write_partitions(fb: Fogbank, first: int, count: int, per: int) -> None:
    for p in range(first, first + count):
        day, hour = divmod(p, 24)
        folder = f"events/day={day:03d}/hour={hour:02d}"
        for i in range(per):
            rows = [
                {"id": p * per + i, "user": f"u{(p + i + r) % 97}", "score": r * 0.5}
                for r in range(20)
            ]
            body = "".join(json.dumps(row) + "\n" for row in rows).encode()
            fb.lake.put_object(BUCKET, f"{folder}/part-{i:04d}.json", body)


def _load(home: Path, objects: int, partitions: int) -> None:
    with Fogbank(FogbankConfig.load(home=home, environ={}, limits=False)) as fb:
        fb.lake.create_bucket(BUCKET)
        _write_partitions(fb, 0, partitions, objects // partitions)


def _timed_crawl(fb: Fogbank) -> tuple[float, str, int]:
    opened: list[str] = []
    fb.crawlers.before_file = opened.append
    started = time.perf_counter()
    fb.crawlers.start_crawler("bench")
    crawler = fb.crawlers.wait_for_crawler("bench", timeout=3600)
    seconds = time.perf_counter() - started
    last = crawler.last_crawl
    return seconds, str(last.status if last else "none"), len(opened)


def _crawl(
    home: str, objects: int, partitions: int, queue: multiprocessing.Queue[dict[str, object]]
) -> None:
    with Fogbank(FogbankConfig.load(home=Path(home), environ={}, limits=False)) as fb:
        fb.catalog.create_database({"Name": "bench"})
        fb.crawlers.create_crawler(
            {
                "Name": "bench",
                "Role": "arn:aws:iam::000000000000:role/bench",
                "DatabaseName": "bench",
                "Targets": {"S3Targets": [{"Path": f"s3://{BUCKET}/events/"}]},
                "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"},
                "SchemaChangePolicy": {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"},
            }
        )
        seconds, status, opened = _timed_crawl(fb)
        _write_partitions(fb, partitions, NEW_PARTITIONS, objects // partitions)
        again, again_status, again_opened = _timed_crawl(fb)
        queue.put(
            {
                "seconds": seconds,
                "status": status,
                "opened": opened,
                "recrawl_seconds": again,
                "recrawl_status": again_status,
                "recrawl_opened": again_opened,
            }
        )


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
        queue: multiprocessing.Queue[dict[str, object]] = multiprocessing.get_context(
            "spawn"
        ).Queue()
        child = multiprocessing.get_context("spawn").Process(
            target=_crawl, args=(str(home), objects, partitions, queue)
        )
        with console.status("crawling, then recrawling after new partitions"):
            child.start()
            result = queue.get()
            child.join()
        seconds, status = float(str(result["seconds"])), str(result["status"])
        recrawl_seconds = float(str(result["recrawl_seconds"]))
        recrawl_opened = int(str(result["recrawl_opened"]))
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
    total = partitions + NEW_PARTITIONS
    table.add_row(
        "tables / partitions after both crawls",
        ", ".join(f"{n}: {c}" for n, c in made),
        f"1: {total}",
        "yes" if made == [("events", total)] else "no",
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
    new_files = NEW_PARTITIONS * (objects // partitions)
    table.add_row("files opened by the full crawl", f"{result['opened']:,}", f"{objects:,}", "")
    table.add_row(
        f"incremental recrawl after {NEW_PARTITIONS} new partitions: files opened",
        f"{recrawl_opened:,} ({result['recrawl_status']}, {recrawl_seconds:.2f} s)",
        f"{new_files:,} (only the new files)",
        "yes" if recrawl_opened == new_files and result["recrawl_status"] == "SUCCEEDED" else "no",
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
                "recrawl_seconds": recrawl_seconds,
                "recrawl_opened": recrawl_opened,
                "recrawl_new_files": new_files,
            }
        ],
        console,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
