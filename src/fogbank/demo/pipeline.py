"""The main job's stages: what `fogbank demo` runs, in order, and what each one reports.

A stage is a named step with a progress bar; it reads and writes through the
:class:`~fogbank.Fogbank` engines only, records its metrics in the control-plane
store and leaves one summary line. Each capability that lands adds its stage here.
"""

from __future__ import annotations

import io
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
from fogbank.demo.clickstream import (
    ClickstreamBatch,
    bayes_auc,
    generate_clickstream,
    hour_partition,
)
from fogbank.demo.serving import serve
from fogbank.demo.training import train
from fogbank.demo.transform import transform
from fogbank.lake.names import parse_location
from fogbank.streams.consumer import Consumer
from fogbank.streams.engine import PutRequest

METRICS_NAMESPACE = "fogbank/demo"
STREAM_SHARDS = 4
PUT_BATCH = 500


@dataclass(frozen=True)
class DemoOptions:
    """What the demo generates and where it puts it."""

    events: int = 100_000
    seed: int = 7
    hours: int = 24
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    bucket: str = "fogbank-demo"
    prefix: str = "clickstream/raw"
    stream: str = "fogbank-demo-clickstream"
    database: str = "fogbank_demo"
    crawler: str = "fogbank-demo-raw"
    training_prefix: str = "clickstream/training/"
    delivery: str = "fogbank-demo-delivery"
    delivery_prefix: str = "clickstream/firehose/"

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
    trained: dict[str, Any] = field(default_factory=dict)
    """Algorithm -> DescribeTrainingJob of its completed job; ``test_csv``: the test split."""


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


def stream_events(ctx: DemoContext, progress: Progress) -> StageOutcome:
    """Produce the events into a 4-shard Kinesis stream, PutRecords 500 at a time, keyed
    by user, retrying what the shards throttle as a real producer does."""
    streams = ctx.fogbank.streams
    name = ctx.options.stream
    if name in streams.stream_names():
        streams.delete_stream(name, enforce_consumer_deletion=True)
    streams.create_stream(name, STREAM_SHARDS)
    count, retried, per_shard = _produce(ctx, progress)
    spread = ", ".join(f"{per_shard[s]:,}" for s in sorted(per_shard))
    return StageOutcome(
        f"{count:,} records into {name} ({STREAM_SHARDS} shards: {spread}); "
        f"{retried:,} throttled puts retried",
        {"RecordsPut": float(count), "ThrottledPutsRetried": float(retried)},
    )


def _produce(ctx: DemoContext, progress: Progress) -> tuple[int, int, Counter[str]]:
    """Every event into the demo's stream: (records put, throttled puts retried, records
    per shard)."""
    batch = _batch(ctx)
    streams = ctx.fogbank.streams
    name = ctx.options.stream
    task = progress.add_task(f"PutRecords into {name}", total=len(batch))
    retried = 0
    per_shard: Counter[str] = Counter()
    records = list(batch.to_records())
    for start in range(0, len(records), PUT_BATCH):
        pending = [
            PutRequest(json.dumps(r, separators=(",", ":")).encode(), str(r["user_id"]))
            for r in records[start : start + PUT_BATCH]
        ]
        delay = 0.02
        while pending:
            reply = streams.put_records(pending, name=name)
            for entry in reply.records:
                if entry.shard_id:
                    per_shard[entry.shard_id] += 1
            progress.advance(task, len(pending) - reply.failed_record_count)
            pending = [r for r, e in zip(pending, reply.records, strict=True) if e.error_code]
            if pending:
                retried += len(pending)
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
    return len(records), retried, per_shard


def write_lake(ctx: DemoContext, progress: Progress) -> StageOutcome:
    """Consume every shard of the stream with the consumer library (leases and
    checkpoints in the control plane) and write the events into the lake as JSON lines,
    one object per hour partition and shard."""
    streams = ctx.fogbank.streams
    lake = ctx.fogbank.lake
    opts = ctx.options
    lake.create_bucket(opts.bucket)
    # A rerun replaces the data set: clear what an earlier run left under the prefix.
    stale = [obj.key for obj in lake.iter_objects(opts.bucket, f"{opts.prefix}/")]
    for start in range(0, len(stale), 1000):
        lake.delete_objects(opts.bucket, stale[start : start + 1000])
    summary = streams.describe_stream_summary(opts.stream)
    expected = len(_batch(ctx))
    task = progress.add_task(f"consume {opts.stream}", total=expected)
    lines: dict[tuple[str, str], list[bytes]] = {}
    consumed = 0
    # A fresh application each run: a rerun reads the new stream from its start.
    consumer = Consumer(
        ctx.fogbank,
        opts.stream,
        f"fogbank-demo-{ctx.run_id}",
        idle_time_between_reads=0.05,
    )
    with consumer:
        for batch in consumer:
            for record in batch.records:
                event = json.loads(record.data)
                hour = hour_partition(_parse_time(event["timestamp"]))
                lines.setdefault((hour, batch.shard_id), []).append(record.data)
            consumed += len(batch.records)
            progress.advance(task, len(batch.records))
            if consumed >= expected:
                batch.checkpoint()
                consumer.stop()
    objects = written = 0
    for (part, shard_id), chunk in sorted(lines.items()):
        info = lake.put_object(
            opts.bucket,
            f"{opts.prefix}/{part}/events-{shard_id}.json",
            b"\n".join(chunk) + b"\n",
            content_type="application/x-ndjson",
        )
        objects += 1
        written += info.size
    return StageOutcome(
        f"{consumed:,} records from {summary.open_shard_count} shards by the consumer library "
        f"into {objects} objects, {written / 1e6:.1f} MB under {opts.raw_location}",
        {"RecordsConsumed": float(consumed), "ObjectsWritten": float(objects)},
    )


def _client(ctx: DemoContext, endpoint_url: str, service: str) -> Any:
    """A real boto3 client of the gateway the stage started (closed by the stage)."""
    import boto3

    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint_url,
        region_name=ctx.fogbank.config.region,
        aws_access_key_id="demo",
        aws_secret_access_key="demo",
    )


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


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
    from fogbank.gateway.server import BackgroundServer

    opts = ctx.options
    with BackgroundServer(ctx.fogbank) as server:
        s3 = _client(ctx, server.endpoint_url, "s3")
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


def catalog(ctx: DemoContext, progress: Progress) -> StageOutcome:
    """Crawl the raw events with a Glue crawler through boto3: it reads the lake, infers
    the JSON schema and the year/month/day/hour partitions, and writes the table. The
    last hour arrives late: the crawler, which crawls new folders only (as an hourly
    schedule would run it), reads only that hour's files the second time. Then a
    GetPartitions expression filter over the partition keys."""
    from fogbank.gateway.server import BackgroundServer

    opts = ctx.options
    lake = ctx.fogbank.lake
    bucket, prefix = parse_location(opts.raw_location)
    objects = list(lake.iter_objects(bucket, prefix))
    folders = {obj.key[len(prefix) :].rsplit("/", 1)[0] for obj in objects}
    # (a single hour held back would leave the first crawl nothing to make a table of)
    late = [
        obj.key
        for obj in objects
        if len(folders) > 1 and obj.key.startswith(prefix + max(folders) + "/")
    ]
    held = "staging/late-hour/"
    task = progress.add_task("Glue crawler", total=None)
    with BackgroundServer(ctx.fogbank) as server:
        glue = _client(ctx, server.endpoint_url, "glue")

        def crawl() -> dict[str, Any]:
            glue.start_crawler(Name=opts.crawler)
            while (crawler := glue.get_crawler(Name=opts.crawler)["Crawler"])["State"] != "READY":
                progress.update(task, description=f"Glue crawler: {crawler['State']}")
                time.sleep(0.1)
            last = crawler["LastCrawl"]
            if last["Status"] != "SUCCEEDED":
                raise RuntimeError(f"the crawl ended {last['Status']}: {last.get('ErrorMessage')}")
            found: dict[str, Any] = crawler
            return found

        try:
            # A rerun starts from an empty database and a new crawler.
            if opts.database in [d["Name"] for d in glue.get_databases()["DatabaseList"]]:
                glue.delete_database(Name=opts.database)
            if opts.crawler in glue.list_crawlers()["CrawlerNames"]:
                glue.delete_crawler(Name=opts.crawler)
            glue.create_database(DatabaseInput={"Name": opts.database})
            glue.create_crawler(
                Name=opts.crawler,
                Role=f"arn:aws:iam::{ctx.fogbank.config.account_id}:role/fogbank-demo",
                DatabaseName=opts.database,
                Targets={"S3Targets": [{"Path": opts.raw_location}]},
                RecrawlPolicy={"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"},
                SchemaChangePolicy={"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"},
                Schedule="cron(5 * * * ? *)",
            )
            # the last hour is held back, and lands after the first crawl
            for key in late:
                lake.copy_object(bucket, key, bucket, held + key)
            if late:
                lake.delete_objects(bucket, late)
            crawler = crawl()
            if late:
                for key in late:
                    lake.copy_object(bucket, held + key, bucket, key)
                lake.delete_objects(bucket, [held + key for key in late])
                crawler = crawl()
            (added,) = glue.list_crawls(CrawlerName=opts.crawler, MaxResults=1)["Crawls"]
            (table,) = glue.get_tables(DatabaseName=opts.database)["TableList"]
            partitions = [
                p["Values"]
                for page in glue.get_paginator("get_partitions").paginate(
                    DatabaseName=opts.database, TableName=table["Name"]
                )
                for p in page["Partitions"]
            ]
            afternoon = [
                p["Values"]
                for page in glue.get_paginator("get_partitions").paginate(
                    DatabaseName=opts.database,
                    TableName=table["Name"],
                    Expression="hour >= '12' AND day = '01'",
                )
                for p in page["Partitions"]
            ]
        finally:
            glue.close()
    progress.update(task, total=1, completed=1, description="Glue crawler: READY")
    if len(partitions) != len(folders):
        raise RuntimeError(f"the crawler made {len(partitions)} partitions of {len(folders)}")
    if late and json.loads(added["Summary"]) != {"PARTITION": {"ADD": {"Count": 1}}}:
        raise RuntimeError(f"the incremental crawl did not add the late hour: {added['Summary']}")
    expected = sum(1 for f in folders if "day=01/" in f and int(f.rsplit("=", 1)[1]) >= 12)
    if len(afternoon) != expected:
        raise RuntimeError(f"GetPartitions found {len(afternoon)} partitions, not {expected}")
    columns = table["StorageDescriptor"]["Columns"]
    keys = ", ".join(k["Name"] for k in table["PartitionKeys"])
    shown = ", ".join(f"{c['Name']} {c['Type']}" for c in columns[:3])
    late_hour = max(folders).rsplit("/", 1)[-1]
    return StageOutcome(
        f"crawler {opts.crawler} inferred {opts.database}.{table['Name']} "
        f"({table['Parameters'].get('classification')}): {len(columns)} columns "
        f"({shown}, ...), partitioned by {keys}: {len(partitions)} partitions"
        + (f", the late hour ({late_hour}) added by an incremental recrawl" if late else "")
        + "; schedule "
        f"{crawler['Schedule']['ScheduleExpression']} (run by fogbank serve); "
        f"GetPartitions \"hour >= '12' AND day = '01'\" gives {len(afternoon)}",
        {"Partitions": float(len(partitions)), "Columns": float(len(columns))},
    )


def query(ctx: DemoContext, progress: Progress) -> StageOutcome:
    """Athena through boto3 over the crawled table: click-through rate by device and hour
    of day, checked against the generated events; then the training set built with
    CTAS, as Parquet and as the label-first headerless CSV the algorithms read."""
    from fogbank.gateway.server import BackgroundServer

    opts = ctx.options
    batch = ctx.batch
    if batch is None:
        raise RuntimeError("the query stage needs the generated clickstream")
    lake = ctx.fogbank.lake
    # A rerun writes the training sets again: CTAS needs its locations empty.
    stale = [o.key for o in lake.iter_objects(opts.bucket, opts.training_prefix)]
    for start in range(0, len(stale), 1000):
        lake.delete_objects(opts.bucket, stale[start : start + 1000])
    task = progress.add_task("Athena", total=3)
    with BackgroundServer(ctx.fogbank) as server:
        athena = _client(ctx, server.endpoint_url, "athena")
        try:

            def run(sql: str, what: str) -> dict[str, Any]:
                progress.update(task, description=f"Athena: {what}")
                query_id = athena.start_query_execution(
                    QueryString=sql,
                    QueryExecutionContext={"Database": opts.database},
                    ResultConfiguration={"OutputLocation": f"s3://{opts.bucket}/athena-results/"},
                )["QueryExecutionId"]
                while True:
                    execution: dict[str, Any] = athena.get_query_execution(
                        QueryExecutionId=query_id
                    )["QueryExecution"]
                    state = execution["Status"]["State"]
                    if state in ("SUCCEEDED", "FAILED", "CANCELLED"):
                        break
                    time.sleep(0.05)
                if state != "SUCCEEDED":
                    reason = execution["Status"].get("StateChangeReason")
                    raise RuntimeError(f"the {what} query ended {state}: {reason}")
                progress.advance(task)
                return execution

            execution = run(CTR_BY_DEVICE_AND_HOUR, "CTR by device and hour")
            rows = [
                [d.get("VarCharValue") for d in row["Data"]]
                for page in athena.get_paginator("get_query_results").paginate(
                    QueryExecutionId=execution["QueryExecutionId"]
                )
                for row in page["ResultSet"]["Rows"]
            ][1:]
            location = f"s3://{opts.bucket}/{opts.training_prefix}"
            parquet = run(TRAINING_PARQUET.format(location=location), "CTAS into Parquet")
            text = run(TRAINING_CSV.format(location=location), "CTAS into CSV")
            written = [
                athena.get_query_results(QueryExecutionId=e["QueryExecutionId"])["UpdateCount"]
                for e in (parquet, text)
            ]
        finally:
            athena.close()
    progress.update(task, description="Athena: done")
    expected: Counter[tuple[str, str]] = Counter()
    clicks: Counter[tuple[str, str]] = Counter()
    for device, hour, clicked in zip(batch.device, batch.hour, batch.clicked, strict=True):
        expected[(str(device), f"{int(hour):02d}")] += 1
        clicks[(str(device), f"{int(hour):02d}")] += int(clicked)
    found = {(str(r[0]), str(r[1])): (int(r[2] or 0), int(r[3] or 0)) for r in rows}
    if found != {key: (expected[key], clicks[key]) for key in expected}:
        raise RuntimeError("Athena's counts per device and hour differ from the generated events")
    if written != [len(batch), len(batch)]:
        raise RuntimeError(f"CTAS wrote {written} rows, not {len(batch)} each")
    by_device: dict[str, tuple[int, int]] = {}
    for (device, _), (n, c) in found.items():
        total = by_device.get(device, (0, 0))
        by_device[device] = (total[0] + n, total[1] + c)
    shown = ", ".join(f"{d} {c / n:.2%}" for d, (n, c) in sorted(by_device.items()))
    scanned = int(execution["Statistics"]["DataScannedInBytes"])
    return StageOutcome(
        f"CTR by device and hour from {opts.database}.raw: {len(rows)} groups, every count "
        f"equal to the generated events; by device {shown}; {scanned / 1e6:.1f} MB scanned "
        f"(USD {max(scanned, 10 * 2**20) / 2**40 * 5:.6f} at Athena's price); training "
        f"set by CTAS: {written[0]:,} rows into {opts.database}.training (Parquet) and "
        f"{opts.database}.training_csv (label first, no header)",
        {
            "Groups": float(len(rows)),
            "DataScannedInBytes": float(scanned),
            "TrainingRows": float(written[0]),
        },
    )


def deliver(ctx: DemoContext, progress: Progress) -> StageOutcome:
    """Firehose through boto3: a delivery stream reading the Kinesis stream partitions
    each record by its event hour (dynamic partitioning, a jq query), converts it to
    Parquet with the crawled table's schema and delivers 64 MB / 2 s buffers per hour
    into the lake; a second delivery stream loads the same records into a warehouse
    table (the Redshift destination: staged, then COPY'd into DuckDB); the events are
    produced into the stream again, every delivered row is counted back from the
    Parquet files, hour by hour, and from the warehouse table."""
    import pyarrow.parquet as pq

    from fogbank.gateway.server import BackgroundServer

    opts = ctx.options
    batch = _batch(ctx)
    lake = ctx.fogbank.lake
    prefix = opts.delivery_prefix
    stale = [o.key for o in lake.iter_objects(opts.bucket, prefix)]
    for start in range(0, len(stale), 1000):
        lake.delete_objects(opts.bucket, stale[start : start + 1000])
    account = ctx.fogbank.config.account_id
    region = ctx.fogbank.config.region
    role = f"arn:aws:iam::{account}:role/fogbank-demo"
    with BackgroundServer(ctx.fogbank) as server:
        firehose = _client(ctx, server.endpoint_url, "firehose")
        try:
            if opts.delivery in firehose.list_delivery_streams()["DeliveryStreamNames"]:
                firehose.delete_delivery_stream(DeliveryStreamName=opts.delivery)
            firehose.create_delivery_stream(
                DeliveryStreamName=opts.delivery,
                DeliveryStreamType="KinesisStreamAsSource",
                KinesisStreamSourceConfiguration={
                    "KinesisStreamARN": f"arn:aws:kinesis:{region}:{account}:stream/{opts.stream}",
                    "RoleARN": role,
                },
                ExtendedS3DestinationConfiguration={
                    "RoleARN": role,
                    "BucketARN": f"arn:aws:s3:::{opts.bucket}",
                    "Prefix": prefix + HOUR_PREFIX,
                    "ErrorOutputPrefix": f"{prefix}errors/!{{firehose:error-output-type}}/",
                    "DynamicPartitioningConfiguration": {"Enabled": True},
                    "ProcessingConfiguration": {
                        "Enabled": True,
                        "Processors": [
                            {
                                "Type": "MetadataExtraction",
                                "Parameters": [
                                    {
                                        "ParameterName": "MetadataExtractionQuery",
                                        "ParameterValue": HOUR_QUERY,
                                    },
                                    {
                                        "ParameterName": "JsonParsingEngine",
                                        "ParameterValue": "JQ-1.6",
                                    },
                                ],
                            }
                        ],
                    },
                    "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 2},
                    "CompressionFormat": "UNCOMPRESSED",
                    "DataFormatConversionConfiguration": {
                        "Enabled": True,
                        "SchemaConfiguration": {
                            "RoleARN": role,
                            "DatabaseName": opts.database,
                            "TableName": "raw",
                            "VersionId": "LATEST",
                        },
                        "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
                        "OutputFormatConfiguration": {
                            "Serializer": {"ParquetSerDe": {"Compression": "SNAPPY"}}
                        },
                    },
                },
            )
            # The same stream into the warehouse, as Firehose loads Redshift: staged in
            # the lake with a manifest per object, then COPY'd into a table made first.
            warehouse = ctx.fogbank.firehose.warehouse(WAREHOUSE_URL)
            warehouse.execute(f"DROP TABLE IF EXISTS {WAREHOUSE_TABLE}")
            warehouse.execute(
                f"CREATE TABLE {WAREHOUSE_TABLE} "
                "(user_id VARCHAR, device VARCHAR, clicked INTEGER, timestamp TIMESTAMP)"
            )
            warehouse_stream = f"{opts.delivery}-warehouse"
            if warehouse_stream in firehose.list_delivery_streams()["DeliveryStreamNames"]:
                firehose.delete_delivery_stream(DeliveryStreamName=warehouse_stream)
            firehose.create_delivery_stream(
                DeliveryStreamName=warehouse_stream,
                DeliveryStreamType="KinesisStreamAsSource",
                KinesisStreamSourceConfiguration={
                    "KinesisStreamARN": f"arn:aws:kinesis:{region}:{account}:stream/{opts.stream}",
                    "RoleARN": role,
                },
                RedshiftDestinationConfiguration={
                    "RoleARN": role,
                    "ClusterJDBCURL": WAREHOUSE_URL,
                    "CopyCommand": {
                        "DataTableName": WAREHOUSE_TABLE,
                        "DataTableColumns": "user_id,device,clicked,timestamp",
                        "CopyOptions": "JSON 'auto' TIMEFORMAT 'auto' GZIP",
                    },
                    "Username": "demo",
                    "Password": "demo-password",
                    "S3Configuration": {
                        "RoleARN": role,
                        "BucketARN": f"arn:aws:s3:::{opts.bucket}",
                        "Prefix": f"{prefix}warehouse-staging/",
                        "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 2},
                        "CompressionFormat": "GZIP",
                    },
                },
            )
            for name in (opts.delivery, warehouse_stream):
                while (
                    firehose.describe_delivery_stream(DeliveryStreamName=name)[
                        "DeliveryStreamDescription"
                    ]["DeliveryStreamStatus"]
                    != "ACTIVE"
                ):
                    time.sleep(0.05)
        finally:
            firehose.close()
    # Firehose reads the stream from the delivery stream's creation on: produce again.
    produced, _, _ = _produce(ctx, progress)
    task = progress.add_task("Firehose delivery", total=produced)
    deadline = time.monotonic() + 180.0
    while True:
        objects = [
            o
            for o in lake.iter_objects(opts.bucket, prefix)
            if not o.key.startswith(f"{prefix}warehouse-staging/")
        ]
        per_hour: Counter[str] = Counter()
        for info in objects:
            with lake.get_object(opts.bucket, info.key) as body:
                rows = pq.read_metadata(io.BytesIO(body.read())).num_rows
            per_hour[info.key[len(prefix) :].rsplit("/", 1)[0]] += rows
        delivered = sum(per_hour.values())
        progress.update(task, completed=delivered)
        if delivered >= produced or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if delivered != produced or produced != len(batch):
        raise RuntimeError(f"Firehose delivered {delivered} of {produced} records as Parquet")
    loaded = 0
    while time.monotonic() < deadline:
        loaded = int(warehouse.execute(f"SELECT count(*) FROM {WAREHOUSE_TABLE}").rows[0][0])
        if loaded >= produced:
            break
        time.sleep(0.5)
    clicks = int(warehouse.execute(f"SELECT sum(clicked) FROM {WAREHOUSE_TABLE}").rows[0][0])
    if loaded != produced or clicks != int(batch.clicked.sum(dtype=np.int64)):
        raise RuntimeError(
            f"the warehouse holds {loaded} of {produced} records ({clicks} clicks, "
            f"{int(batch.clicked.sum(dtype=np.int64))} produced)"
        )
    expected = {part: count for part, (count, _) in ctx.expected_per_hour.items()}
    if dict(per_hour) != expected:
        raise RuntimeError("Firehose's hour partitions do not hold the events of their hour")
    sizes = sum(o.size for o in objects)
    return StageOutcome(
        f"{produced:,} records from {opts.stream} through {opts.delivery} "
        f"(KinesisStreamAsSource; dynamic partitioning by event hour with the jq query "
        f"{HOUR_QUERY}; converted to Parquet with {opts.database}.raw's schema; 64 MB / 2 s "
        f"buffers per partition) into {len(objects)} Parquet objects, {sizes / 1e6:.1f} MB, "
        f"in {len(per_hour)} hour partitions under s3://{opts.bucket}/{prefix}; every record "
        f"delivered once, in the partition of its hour; and through {opts.delivery}-warehouse "
        f"(a Redshift destination: gzip staging, manifests, COPY ... JSON 'auto') into the "
        f"warehouse table {WAREHOUSE_TABLE} at {WAREHOUSE_URL}: {loaded:,} rows, {clicks:,} "
        "clicks, as produced",
        {
            "RecordsDelivered": float(delivered),
            "Objects": float(len(objects)),
            "WarehouseRows": float(loaded),
        },
    )


# The Redshift destination's warehouse: a DuckDB file under <home>/warehouse/.
WAREHOUSE_URL = "jdbc:redshift://fogbank-demo.abc123.us-east-1.redshift.amazonaws.com:5439/dev"
WAREHOUSE_TABLE = "clicks"

# Dynamic partitioning: each event's hour from its own timestamp (2026-01-01T05:...Z).
HOUR_QUERY = (
    "{year: .timestamp[0:4], month: .timestamp[5:7], day: .timestamp[8:10], "
    "hour: .timestamp[11:13]}"
)
HOUR_PREFIX = (
    "year=!{partitionKeyFromQuery:year}/month=!{partitionKeyFromQuery:month}/"
    "day=!{partitionKeyFromQuery:day}/hour=!{partitionKeyFromQuery:hour}/"
)


TRAINING_PARQUET = """
CREATE TABLE training
WITH (format = 'PARQUET', external_location = '{location}parquet/')
AS SELECT clicked, device, os, page_category, ad_category, position,
          dwell_seconds, user_age, user_ctr_affinity
FROM raw
"""

# SageMaker's built-in algorithms read CSV with the label first and no header.
TRAINING_CSV = """
CREATE TABLE training_csv
WITH (format = 'TEXTFILE', field_delimiter = ',', write_compression = 'NONE',
      external_location = '{location}csv/')
AS SELECT clicked,
          CASE WHEN device = 'mobile' THEN 1 ELSE 0 END AS is_mobile,
          CASE WHEN device = 'tablet' THEN 1 ELSE 0 END AS is_tablet,
          position, dwell_seconds, user_age, user_ctr_affinity
FROM raw
"""


CTR_BY_DEVICE_AND_HOUR = """
SELECT device,
       date_format(from_iso8601_timestamp("timestamp"), '%H') AS hour_of_day,
       count(*) AS impressions,
       sum(clicked) AS clicks,
       round(avg(CAST(clicked AS double)), 4) AS ctr
FROM raw
GROUP BY 1, 2
ORDER BY 1, 2
"""


STAGES: tuple[Stage, ...] = (
    Stage("generate", "Generate a clickstream", generate),
    Stage("stream", "Produce it into a Kinesis stream of 4 shards", stream_events),
    Stage("lake", "Consume the stream into the lake, partitioned by hour", write_lake),
    Stage("readback", "Read it back and count per hour", read_back),
    Stage("s3api", "Read it again through the S3 API with boto3", s3_api),
    Stage("catalog", "Crawl it into the Glue Data Catalog with boto3", catalog),
    Stage("query", "Query it with Athena through boto3", query),
    Stage("deliver", "Stream it again through Firehose into Parquet", deliver),
    Stage("train", "Train linear learner, XGBoost and FM as SageMaker jobs", train),
    Stage("serve", "Serve linear learner and XGBoost behind one endpoint", serve),
    Stage("transform", "Score the test split with a batch transform job", transform),
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
