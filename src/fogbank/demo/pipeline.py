"""The main job's stages: what `fogbank demo` runs, in order, and what each one reports.

A stage is a named step with a progress bar; it reads and writes through the
:class:`~fogbank.Fogbank` engines only, records its metrics in the control-plane
store and leaves one summary line. Each capability that lands adds its stage here.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from rich.progress import Progress

from fogbank.app import Fogbank
from fogbank.core.ids import new_uuid
from fogbank.demo.clickstream import ClickstreamBatch, bayes_auc, generate_clickstream
from fogbank.lake.names import parse_location

METRICS_NAMESPACE = "fogbank/demo"


@dataclass(frozen=True)
class DemoOptions:
    """What the demo generates and where it puts it."""

    events: int = 100_000
    seed: int = 7
    hours: int = 24
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    bucket: str = "fogbank-demo"
    prefix: str = "clickstream/raw"

    @property
    def raw_location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}/"


@dataclass
class DemoContext:
    """What stages hand to each other."""

    fogbank: Fogbank
    options: DemoOptions
    run_id: str
    batch: ClickstreamBatch | None = None
    expected_per_hour: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Partition path -> (events, clicks), as generated."""
    read_per_hour: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Partition path -> (events, clicks), as read back from the lake."""


@dataclass(frozen=True)
class StageOutcome:
    summary: str
    metrics: dict[str, float]


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    run: Callable[[DemoContext, Progress], StageOutcome]


@dataclass(frozen=True)
class StageReport:
    name: str
    title: str
    summary: str
    seconds: float
    metrics: dict[str, float]


def generate(ctx: DemoContext, progress: Progress) -> StageOutcome:
    """Draw the clickstream from the known logistic click model."""
    opts = ctx.options
    task = progress.add_task("generate clickstream", total=opts.events)
    batch = generate_clickstream(opts.events, start=opts.start, hours=opts.hours, seed=opts.seed)
    progress.update(task, completed=opts.events)
    ctx.batch = batch
    keys = batch.partition_keys()
    clicked = batch.clicked.astype(np.int64)
    partitions, starts, counts = np.unique(keys, return_index=True, return_counts=True)
    for part, start, count in zip(partitions, starts, counts, strict=True):
        clicks = int(clicked[start : start + count].sum())
        ctx.expected_per_hour[str(part)] = (int(count), clicks)
    return StageOutcome(
        f"{len(batch):,} ad impressions over {opts.hours} h, CTR {batch.ctr:.2%}, "
        f"Bayes AUC {bayes_auc(batch):.3f}",
        {"Events": float(len(batch)), "ClickThroughRate": batch.ctr},
    )


def write_lake(ctx: DemoContext, progress: Progress) -> StageOutcome:
    """Write the events into the lake as JSON lines, one object per hour partition."""
    batch = _batch(ctx)
    lake = ctx.fogbank.lake
    opts = ctx.options
    lake.create_bucket(opts.bucket)
    # A rerun replaces the data set: clear what an earlier run left under the prefix.
    stale = [obj.key for obj in lake.iter_objects(opts.bucket, f"{opts.prefix}/")]
    for start in range(0, len(stale), 1000):
        lake.delete_objects(opts.bucket, stale[start : start + 1000])
    keys = batch.partition_keys()
    partitions, starts, counts = np.unique(keys, return_index=True, return_counts=True)
    task = progress.add_task("write JSON lines to the lake", total=len(batch))
    objects = 0
    written = 0
    for part, start, count in zip(partitions, starts, counts, strict=True):
        records = batch[int(start) : int(start + count)].to_records()
        body = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()
        info = lake.put_object(
            opts.bucket,
            f"{opts.prefix}/{part}/events-0000.json",
            body,
            content_type="application/x-ndjson",
        )
        objects += 1
        written += info.size
        progress.advance(task, int(count))
    return StageOutcome(
        f"{objects} objects, {written / 1e6:.1f} MB under {opts.raw_location}",
        {"ObjectsWritten": float(objects), "BytesWritten": float(written)},
    )


def read_back(ctx: DemoContext, progress: Progress) -> StageOutcome:
    """List the partitions back from the lake, read every object and count per hour."""
    opts = ctx.options
    lake = ctx.fogbank.lake
    bucket, prefix = parse_location(opts.raw_location)

    objects = list(lake.iter_objects(bucket, prefix))
    task = progress.add_task("read the lake back", total=sum(o.size for o in objects))
    per_hour: Counter[str] = Counter()
    clicks: Counter[str] = Counter()
    for obj in objects:
        partition = obj.key[len(prefix) :].rsplit("/", 1)[0]
        with lake.get_object(bucket, obj.key) as body:
            for line in body.read().splitlines():
                event: dict[str, Any] = json.loads(line)
                per_hour[partition] += 1
                clicks[partition] += int(event["clicked"])
        progress.advance(task, obj.size)
    ctx.read_per_hour = {p: (per_hour[p], clicks[p]) for p in sorted(per_hour)}
    if ctx.read_per_hour != ctx.expected_per_hour:
        raise RuntimeError(
            "the lake gave back different counts than were written: "
            f"{sum(per_hour.values())} events read, "
            f"{sum(n for n, _ in ctx.expected_per_hour.values())} written"
        )
    return StageOutcome(
        f"{sum(per_hour.values()):,} events in {len(per_hour)} hourly partitions, "
        "every count equal to what was written",
        {"EventsRead": float(sum(per_hour.values())), "Partitions": float(len(per_hour))},
    )


def s3_api(ctx: DemoContext, progress: Progress) -> StageOutcome:
    """Serve the lake on the AWS wire API and read the partitions back with boto3."""
    import boto3

    from fogbank.gateway.server import BackgroundServer

    opts = ctx.options
    with BackgroundServer(ctx.fogbank) as server:
        s3 = boto3.session.Session().client(
            "s3",
            endpoint_url=server.endpoint_url,
            region_name=ctx.fogbank.config.region,
            aws_access_key_id="demo",
            aws_secret_access_key="demo",
        )
        try:
            keys: list[tuple[str, int]] = []
            for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=opts.bucket, Prefix=f"{opts.prefix}/", PaginationConfig={"PageSize": 10}
            ):
                keys.extend((o["Key"], o["Size"]) for o in page.get("Contents", []))
            task = progress.add_task("GetObject through boto3", total=len(keys))
            events = 0
            for key, size in keys:
                body = s3.get_object(Bucket=opts.bucket, Key=key)["Body"].read()
                if len(body) != size:
                    raise RuntimeError(f"s3://{opts.bucket}/{key}: {len(body)} bytes, not {size}")
                events += body.count(b"\n")
                progress.advance(task)
            first = s3.get_object(Bucket=opts.bucket, Key=keys[0][0], Range="bytes=0-99")
        finally:
            s3.close()
    written = sum(n for n, _ in ctx.expected_per_hour.values())
    if events != written:
        raise RuntimeError(f"boto3 read {events} events back; {written} were written")
    return StageOutcome(
        f"boto3 on {server.endpoint_url}: {len(keys)} objects in "
        f"{-(-len(keys) // 10)} ListObjectsV2 pages, {events:,} events, "
        f"ranged GET {first['ContentRange']}",
        {"ObjectsReadThroughS3Api": float(len(keys))},
    )


STAGES: tuple[Stage, ...] = (
    Stage("generate", "Generate a clickstream", generate),
    Stage("lake", "Write it to the lake, partitioned by hour", write_lake),
    Stage("readback", "Read it back and count per hour", read_back),
    Stage("s3api", "Read it again through the S3 API with boto3", s3_api),
)


def run_stage(ctx: DemoContext, stage: Stage, progress: Progress) -> StageReport:
    """Run one stage, timing it and recording its metrics in the control-plane store."""
    started = time.perf_counter()
    outcome = stage.run(ctx, progress)
    seconds = time.perf_counter() - started
    store = ctx.fogbank.store
    dims = {"Stage": stage.name, "RunId": ctx.run_id}
    for name, value in {**outcome.metrics, "StageSeconds": seconds}.items():
        store.put_metric(METRICS_NAMESPACE, name, value, dimensions=dims)
    return StageReport(stage.name, stage.title, outcome.summary, seconds, outcome.metrics)


def new_context(fogbank: Fogbank, options: DemoOptions) -> DemoContext:
    return DemoContext(fogbank=fogbank, options=options, run_id=new_uuid())


def record_run(ctx: DemoContext, reports: list[StageReport]) -> None:
    """Keep the run's summary in the control plane, where `fogbank status` finds it."""
    ctx.fogbank.store.put_resource(
        "demo",
        "run",
        ctx.run_id,
        f"fogbank:demo:::run/{ctx.run_id}",
        {
            "events": ctx.options.events,
            "seed": ctx.options.seed,
            "finished": ctx.fogbank.clock.now().isoformat(),
            "stages": [
                {"name": r.name, "summary": r.summary, "seconds": round(r.seconds, 3)}
                for r in reports
            ],
        },
        state="Completed",
    )


def _batch(ctx: DemoContext) -> ClickstreamBatch:
    if ctx.batch is None:
        raise RuntimeError("the generate stage must run before this stage")
    return ctx.batch
