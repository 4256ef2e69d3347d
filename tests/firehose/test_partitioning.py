"""Dynamic partitioning: keys from a jq query (the jq library) and from the Lambda
processor's metadata, one buffer and one object per partition, failures to
partitioning-failed, AWS's configuration rules, with conversion and compression."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from fogbank import Fogbank, FogbankConfig
from fogbank.core.clock import ManualClock
from fogbank.core.errors import InvalidArgumentException
from fogbank.firehose.buffer import RecordBuffer
from fogbank.firehose.engine import Firehose

from .conftest import BUCKET, destination, engine
from .test_conversion import conversion

QUERY = '{tenant:.tenant, year:.ts|strftime("%Y")}'
PREFIX = "t=!{partitionKeyFromQuery:tenant}/y=!{partitionKeyFromQuery:year}/"
ERRORS = "errors/!{firehose:error-output-type}/"
HINTS = {"SizeInMBs": 64, "IntervalInSeconds": 60}
KEYED = "python:tests.firehose.transforms:keyed"


def extraction(query: str = QUERY, engine_name: str = "JQ-1.6") -> dict[str, Any]:
    return {
        "Type": "MetadataExtraction",
        "Parameters": [
            {"ParameterName": "MetadataExtractionQuery", "ParameterValue": query},
            {"ParameterName": "JsonParsingEngine", "ParameterValue": engine_name},
        ],
    }


def lambda_processor(arn: str = KEYED) -> dict[str, Any]:
    return {"Type": "Lambda", "Parameters": [{"ParameterName": "LambdaArn", "ParameterValue": arn}]}


def partitioned(*processors: dict[str, Any], **extra: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "Prefix": PREFIX,
        "ErrorOutputPrefix": ERRORS,
        "BufferingHints": HINTS,
        "DynamicPartitioningConfiguration": {"Enabled": True},
        "ProcessingConfiguration": {
            "Enabled": True,
            "Processors": list(processors) or [extraction()],
        },
    }
    settings.update(extra)
    return destination(**settings)


def record(tenant: str | None, ts: int = 1565382027, **more: Any) -> bytes:
    document: dict[str, Any] = {"ts": ts, **more}
    if tenant is not None:
        document["tenant"] = tenant
    return json.dumps(document).encode()


def objects(fb: Fogbank) -> dict[str, bytes]:
    return {o.key: fb.lake.read(f"s3://{BUCKET}/{o.key}") for o in fb.lake.iter_objects(BUCKET)}


def test_each_partition_gets_its_own_object_under_its_keys(
    hose: Firehose, fb: Fogbank, clock: ManualClock
) -> None:
    hose.create_delivery_stream("p", extended_s3=partitioned())
    hose.put_record_batch("p", [record("a"), record("b"), record("a", ts=1600000000), record("a")])
    assert hose.deliver_due() == []  # each partition waits for its interval
    clock.advance(60)
    made = hose.deliver_due()
    assert sorted(d.records for d in made) == [1, 1, 2]
    found = objects(fb)
    by_prefix = {key.rsplit("/", 1)[0]: body for key, body in found.items()}
    assert by_prefix == {
        "t=a/y=2019": record("a") + record("a"),
        "t=b/y=2019": record("b"),
        "t=a/y=2020": record("a", ts=1600000000),
    }
    for key in found:  # no time folders appended: the prefix has partition keys
        assert key.split("/")[2].startswith("p-1-")
    assert hose.buffered("p") == (0, 0)
    totals = hose.metrics.totals("p")
    assert totals["DeliveryToS3.Records"] == 4
    assert totals["PartitionCountExceeded"] == 0
    assert "JQProcessing.Duration" in totals


def test_a_partitions_interval_counts_from_its_own_first_record(
    hose: Firehose, fb: Fogbank, clock: ManualClock
) -> None:
    hose.create_delivery_stream("p", extended_s3=partitioned())
    hose.put_record("p", record("early"))
    hose.deliver_due()  # partitions it; not due yet
    clock.advance(40)
    hose.put_record("p", record("late"))
    clock.advance(20)
    [first] = hose.deliver_due()
    assert first.key.startswith("t=early/")
    clock.advance(40)
    [second] = hose.deliver_due()
    assert second.key.startswith("t=late/")


def test_records_without_keys_go_to_partitioning_failed_in_awss_format(
    hose: Firehose, fb: Fogbank, clock: ManualClock
) -> None:
    hose.create_delivery_stream("p", extended_s3=partitioned())
    bad = [b"not json", record(None), record("x", ts="soon"), b"[1, 2]"]  # type: ignore[arg-type]
    hose.put_record_batch("p", [record("ok"), *bad])
    clock.advance(60)
    made = hose.deliver_due()
    assert sum(d.records for d in made) == 1
    [error_key] = [k for k in objects(fb) if k.startswith("errors/")]
    assert error_key.startswith("errors/partitioning-failed/2026/01/01/00/p-1-")
    documents = [json.loads(line) for line in objects(fb)[error_key].splitlines()]
    assert [base64.b64decode(d["rawData"]) for d in documents] == bad
    for document in documents:
        assert document["errorCode"] == "DynamicPartitioning.MetadataExtractionFailed"
        assert set(document) == {
            "attemptsMade",
            "arrivalTimestamp",
            "errorCode",
            "errorMessage",
            "attemptEndingTimestamp",
            "rawData",
        }
    messages = [d["errorMessage"] for d in documents]
    assert "not a JSON document" in messages[0]
    assert "'tenant'" in messages[1] and "null" in messages[1]
    assert "strftime" in messages[2]
    assert hose.buffered("p") == (0, 0)


def test_lambda_partition_keys_and_query_keys_together(
    hose: Firehose, fb: Fogbank, clock: ManualClock
) -> None:
    hose.create_delivery_stream(
        "l",
        extended_s3=partitioned(
            lambda_processor(),
            extraction("{kind:.kind}"),
            Prefix="t=!{partitionKeyFromLambda:tenant}/k=!{partitionKeyFromQuery:kind}/",
        ),
    )
    hose.put_record_batch(
        "l",
        [
            record("a", kind="x"),
            record("b", kind="x"),
            record(None, kind="x"),
            b"fail",
            record("a", kind="y"),
        ],
    )
    clock.advance(60)
    hose.deliver_due()
    found = objects(fb)
    prefixes = sorted(key.rsplit("/", 1)[0] for key in found)
    assert prefixes == [
        "errors/partitioning-failed/2026/01/01/00",
        "errors/processing-failed/2026/01/01/00",
        "t=a/k=x",
        "t=a/k=y",
        "t=b/k=x",
    ]
    [processing] = [v for k, v in found.items() if "processing-failed" in k]
    assert json.loads(processing)["lambdaArn"] == KEYED
    [failed] = [v for k, v in found.items() if "partitioning-failed" in k]
    assert base64.b64decode(json.loads(failed)["rawData"]) == record(None, kind="x")
    assert hose.metrics.totals("l")["FailedProcessing.Records"] == 1


def test_the_buffer_counts_size_and_interval_per_partition(tmp_path: Path) -> None:
    buffer = RecordBuffer.create(tmp_path / "b.sqlite")
    try:
        buffer.append([b"raw1", b"raw2"], 0, max_bytes=None)
        claim = buffer.claim("o1", 0, size_bytes=100, interval_ms=0, lease_ms=1000, force=True)
        assert claim is not None and claim.records == (b"raw1", b"raw2")
        buffer.repartition(
            "o1",
            [(b"aaaa", 0, "A", None), (b"bbbb", 5, "B", None), (b"aaaa", 10, "A", None)],
        )
        take = {"size_bytes": 8, "interval_ms": 100, "lease_ms": 1000, "partitioned": True}
        assert buffer.claim("o2", 50, **take) is not None  # A holds 8 bytes: due by size
        assert buffer.claim("o3", 50, **take) is None  # B: 4 bytes, 45 ms old
        found = buffer.claim("o4", 105, **take)  # B is due by its own interval
        assert found is not None and found.part == "B" and found.first_ms == 5
        assert buffer.claim("o5", 0, size_bytes=100, interval_ms=0, lease_ms=1, force=True) is None
        assert buffer.partitions() == {"A", "B"}
        buffer.complete("o2")
        assert buffer.partitions() == {"B"}
        assert buffer.buffered() == (1, 4)
    finally:
        buffer.close()


def test_conversion_and_compression_work_with_partitions(
    hose: Firehose, fb: Fogbank, clock: ManualClock
) -> None:
    fb.catalog.create_database({"Name": "web"})
    fb.catalog.create_table(
        "web",
        {
            "Name": "clicks",
            "StorageDescriptor": {
                "Columns": [{"Name": "tenant", "Type": "string"}, {"Name": "n", "Type": "int"}]
            },
        },
    )
    hose.create_delivery_stream(
        "c",
        extended_s3=partitioned(
            extraction("{tenant:.tenant}"),
            Prefix="t=!{partitionKeyFromQuery:tenant}/",
            DataFormatConversionConfiguration=conversion(),
            BufferingHints={"SizeInMBs": 128, "IntervalInSeconds": 60},
        ),
    )
    hose.put_record_batch("c", [record("a", n=1), record("b", n=2), record("a", n=3)])
    clock.advance(60)
    hose.deliver_due()
    tables = {
        key.split("/")[0]: pq.read_table(io.BytesIO(body)).to_pylist()
        for key, body in objects(fb).items()
    }
    assert tables == {
        "t=a": [{"tenant": "a", "n": 1}, {"tenant": "a", "n": 3}],
        "t=b": [{"tenant": "b", "n": 2}],
    }
    hose.create_delivery_stream(
        "z",
        extended_s3=partitioned(
            CompressionFormat="GZIP",
            Prefix="z/!{partitionKeyFromQuery:tenant}/!{partitionKeyFromQuery:year}/",
        ),
    )
    hose.put_record("z", record("a"))
    clock.advance(60)
    [made] = hose.deliver_due("z")
    assert made.key.startswith("z/a/2019/") and made.key.endswith(".gz")
    assert gzip.decompress(fb.lake.read(f"s3://{BUCKET}/{made.key}")) == record("a")


def test_records_past_the_active_partition_limit_go_to_the_error_output(
    fb: Fogbank, clock: ManualClock
) -> None:
    hose = engine(fb, max_active_partitions=2)
    try:
        hose.create_delivery_stream("p", extended_s3=partitioned())
        hose.put_record_batch("p", [record("a"), record("b"), record("c"), record("a")])
        clock.advance(60)
        made = hose.deliver_due()
        assert sorted(d.records for d in made if d.key) == [1, 2]
        [failed] = [v for k, v in objects(fb).items() if "partitioning-failed" in k]
        document = json.loads(failed)
        assert document["errorCode"] == "DynamicPartitioning.ActivePartitionsLimitExceeded"
        assert base64.b64decode(document["rawData"]) == record("c")
        assert hose.metrics.totals("p")["PartitionCountExceeded"] == 1
    finally:
        hose.close()


def test_partitioned_records_survive_a_reopen(fb: Fogbank, clock: ManualClock) -> None:
    first = engine(fb)
    first.create_delivery_stream("p", extended_s3=partitioned())
    first.put_record_batch("p", [record("a"), record("b")])
    first.deliver_due()  # partitioned, not yet due
    first.close()
    second = engine(fb)
    try:
        assert second.buffered("p")[0] == 2
        clock.advance(60)
        assert sorted(d.key.split("/")[0] for d in second.deliver_due()) == ["t=a", "t=b"]
    finally:
        second.close()


def test_describe_shows_the_configuration_with_defaults(hose: Firehose) -> None:
    config = partitioned()
    del config["BufferingHints"]
    hose.create_delivery_stream("p", extended_s3=config)
    described = hose.describe_delivery_stream("p").destination.describe()
    assert described["DynamicPartitioningConfiguration"] == {
        "Enabled": True,
        "RetryOptions": {"DurationInSeconds": 300},
    }
    assert described["BufferingHints"]["SizeInMBs"] == 64


def test_dynamic_partitioning_cannot_be_turned_on_or_off_by_an_update(hose: Firehose) -> None:
    hose.create_delivery_stream("p", extended_s3=partitioned())
    with pytest.raises(InvalidArgumentException, match="only be set when a stream is created"):
        hose.update_destination(
            "p",
            "1",
            "destinationId-000000000001",
            extended_s3={"DynamicPartitioningConfiguration": {"Enabled": False}},
        )
    hose.create_delivery_stream("plain", extended_s3=destination())
    with pytest.raises(InvalidArgumentException, match="only be set when a stream is created"):
        hose.update_destination(
            "plain",
            "1",
            "destinationId-000000000001",
            extended_s3={"DynamicPartitioningConfiguration": {"Enabled": True}},
        )
    hose.update_destination(
        "p", "1", "destinationId-000000000001", extended_s3={"CompressionFormat": "GZIP"}
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"Prefix": "static/"}, "at least one partition key"),
        ({"Prefix": "!{timestamp:yyyy}/"}, "at least one partition key"),
        ({"ErrorOutputPrefix": None}, "ErrorOutputPrefix is required"),
        ({"ErrorOutputPrefix": "e/!{partitionKeyFromQuery:tenant}/"}, "may not contain"),
        ({"BufferingHints": {"SizeInMBs": 32, "IntervalInSeconds": 60}}, "at least 64"),
        ({"BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 0}}, "zero buffering"),
        (
            {
                "Prefix": "!{partitionKeyFromQuery:nope}/",
                "ProcessingConfiguration": {"Processors": [extraction("{tenant:.tenant}")]},
            },
            "yields no key 'nope'",
        ),
        ({"Prefix": "!{partitionKeyFromLambda:tenant}/"}, "no Lambda processor"),
        ({"Prefix": "!{partitionKeyFromQuery:}/"}, "names no key"),
        (
            {
                "DynamicPartitioningConfiguration": {
                    "Enabled": True,
                    "RetryOptions": {"DurationInSeconds": 7201},
                }
            },
            "DurationInSeconds",
        ),
        (
            {
                "ProcessingConfiguration": {
                    "Enabled": True,
                    "Processors": [extraction("{a: .x | bogus}")],
                }
            },
            "bogus",
        ),
        (
            {
                "ProcessingConfiguration": {
                    "Enabled": True,
                    "Processors": [extraction(engine_name="JQ-1.5")],
                }
            },
            "JQ-1.6",
        ),
        (
            {"ProcessingConfiguration": {"Enabled": False, "Processors": [extraction()]}},
            "no MetadataExtraction processor",
        ),
        (
            {"DynamicPartitioningConfiguration": {"Enabled": False}},
            "needs dynamic partitioning",
        ),
        (
            {"DynamicPartitioningConfiguration": {"Enabled": False}, "Prefix": "p/"},
            "works with dynamic partitioning only",
        ),
    ],
)
def test_configuration_is_checked_as_aws_checks_it(
    hose: Firehose, change: dict[str, Any], words: str
) -> None:
    config = partitioned(**change)
    config = {k: v for k, v in config.items() if v is not None}
    with pytest.raises(InvalidArgumentException, match=words):
        hose.create_delivery_stream("bad", extended_s3=config)


def test_acknowledged_records_survive_kill_9_partitioned_or_not(tmp_path: Path) -> None:
    """Records journalled before the ack, some partitioned before the kill and some not,
    are all delivered after reopening, each in its partition."""
    home = tmp_path / "crash"
    settings = partitioned(
        extraction("{tenant:.tenant}"), Prefix="!{partitionKeyFromQuery:tenant}/"
    )
    script = textwrap.dedent(
        f"""
        import json, time
        from pathlib import Path
        from fogbank import Fogbank, FogbankConfig
        fb = Fogbank(FogbankConfig.load(home=Path({str(home)!r}), environ={{}}))
        fb.lake.create_bucket({BUCKET!r})
        settings = json.loads({json.dumps(settings)!r})
        fb.firehose.create_delivery_stream("durable", extended_s3=settings)
        def put(i):
            body = {{"tenant": "t%d" % (i % 2), "i": i}}
            fb.firehose.put_record("durable", json.dumps(body).encode())
        for i in range(50):
            put(i)
        fb.firehose.deliver_due("durable")  # partitions these; none is due yet
        for i in range(50, 60):
            put(i)
        print("acknowledged", flush=True)
        time.sleep(600)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "acknowledged"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
        if child.stdout is not None:
            child.stdout.close()
    clock = ManualClock(start=ManualClock().now().replace(year=2100))
    with Fogbank(FogbankConfig.load(home=home, environ={}), clock=clock) as reopened:
        reopened.firehose.deliver_due()
        found = {
            o.key.split("/")[0]: [
                json.loads(line)["i"]
                for line in reopened.lake.read(f"s3://{BUCKET}/{o.key}")
                .replace(b"}{", b"}\n{")
                .splitlines()
            ]
            for o in reopened.lake.iter_objects(BUCKET)
        }
        assert found == {"t0": list(range(0, 60, 2)), "t1": list(range(1, 60, 2))}
        assert reopened.firehose.buffered("durable") == (0, 0)


def test_records_partitioned_before_a_prefix_update_that_needs_new_keys_fail_cleanly(
    hose: Firehose, fb: Fogbank, clock: ManualClock
) -> None:
    hose.create_delivery_stream("p", extended_s3=partitioned())
    hose.put_record("p", record("a"))
    hose.deliver_due()  # partitioned by tenant and year
    hose.update_destination(
        "p",
        "1",
        "destinationId-000000000001",
        extended_s3={
            "Prefix": "k=!{partitionKeyFromQuery:kind}/",
            "ProcessingConfiguration": {"Processors": [extraction("{kind:.kind}")]},
        },
    )
    hose.put_record("p", record("b", kind="new"))
    clock.advance(60)
    hose.deliver_due()
    found = objects(fb)
    assert sorted(k.split("/")[0] for k in found) == ["errors", "k=new"]
    [failed] = [v for k, v in found.items() if k.startswith("errors/partitioning-failed/")]
    assert "'kind'" in json.loads(failed)["errorMessage"]
    assert hose.buffered("p") == (0, 0)


def test_a_query_yielding_endless_results_fails_the_record_not_the_stream(
    hose: Firehose, fb: Fogbank, clock: ManualClock
) -> None:
    hose.create_delivery_stream(
        "p",
        extended_s3=partitioned(
            extraction("{tenant: (.tenant, repeat(.tenant))}"),
            Prefix="!{partitionKeyFromQuery:tenant}/",
        ),
    )
    hose.put_record("p", record("a"))
    clock.advance(60)
    hose.deliver_due()
    [failed] = objects(fb).values()
    assert "exactly one object" in json.loads(failed)["errorMessage"]
