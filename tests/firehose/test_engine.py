"""The Firehose engine without the gateway: buffering by size and interval on a
ManualClock, object keys, each compression read back, limits, per-record failures,
kill -9 durability and two engines on one home."""

from __future__ import annotations

import gzip
import io
import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import cramjam
import pytest

from fogbank import Fogbank, FogbankConfig
from fogbank.core.clock import ManualClock
from fogbank.core.errors import (
    ConcurrentModificationException,
    InvalidArgumentException,
    ResourceNotFoundException,
    ServiceUnavailableException,
)
from fogbank.firehose.compression import read_hadoop_snappy
from fogbank.firehose.engine import Firehose

from .conftest import BUCKET, destination, engine

MIB = 1024 * 1024


def objects(fb: Fogbank) -> list[str]:
    return [o.key for o in fb.lake.iter_objects(BUCKET)]


def read(fb: Fogbank, key: str) -> bytes:
    return fb.lake.read(f"s3://{BUCKET}/{key}")


def test_a_buffer_waits_for_its_interval_counted_from_its_first_record(
    hose: Firehose, fb: Fogbank, clock: ManualClock
) -> None:
    hose.create_delivery_stream(
        "clicks", extended_s3=destination(BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 60})
    )
    hose.put_record("clicks", b"one")
    clock.advance(30)
    hose.put_record("clicks", b"two")
    clock.advance(29)
    assert hose.deliver_due() == []
    clock.advance(1)
    [delivery] = hose.deliver_due()
    assert delivery.records == 2
    assert read(fb, delivery.key) == b"onetwo"
    assert hose.buffered("clicks") == (0, 0)


def test_a_buffer_is_delivered_once_size_in_mbs_is_buffered(hose: Firehose, fb: Fogbank) -> None:
    hose.create_delivery_stream(
        "big", extended_s3=destination(BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 900})
    )
    hose.put_record_batch("big", [b"a" * (MIB // 2 - 1)])
    assert hose.deliver_due() == []
    hose.put_record_batch("big", [b"b" * (MIB // 2), b"c" * (MIB // 2)])
    deliveries = hose.deliver_due()
    assert [d.records for d in deliveries] == [2]  # the third waits for the next buffer
    assert read(fb, deliveries[0].key) == b"a" * (MIB // 2 - 1) + b"b" * (MIB // 2)
    assert hose.buffered("big") == (1, MIB // 2)


def test_interval_zero_delivers_at_once_with_the_default_key(
    hose: Firehose, fb: Fogbank, clock: ManualClock
) -> None:
    hose.create_delivery_stream(
        "now", s3=destination(BufferingHints={"SizeInMBs": 5, "IntervalInSeconds": 0})
    )
    hose.put_record("now", b"x")
    [delivery] = hose.deliver_due()
    assert delivery.key.startswith("2026/01/01/00/now-1-2026-01-01-00-00-00-")
    assert len(delivery.key.rsplit("-00-", 1)[1]) == 36  # a UUID ends the name


def test_append_delimiter_puts_a_newline_after_each_record(hose: Firehose, fb: Fogbank) -> None:
    processing = {
        "Enabled": True,
        "Processors": [{"Type": "AppendDelimiterToRecord", "Parameters": []}],
    }
    hose.create_delivery_stream(
        "lines",
        extended_s3=destination(
            BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0},
            ProcessingConfiguration=processing,
        ),
    )
    hose.put_record_batch("lines", [b'{"a":1}', b'{"a":2}'])
    [delivery] = hose.deliver_due()
    assert read(fb, delivery.key) == b'{"a":1}\n{"a":2}\n'


@pytest.mark.parametrize(
    ("compression", "extension"),
    [("GZIP", ".gz"), ("ZIP", ".zip"), ("Snappy", ".snappy"), ("HADOOP_SNAPPY", ".snappy")],
)
def test_each_compression_reads_back(
    hose: Firehose, fb: Fogbank, compression: str, extension: str
) -> None:
    hose.create_delivery_stream(
        "packed",
        extended_s3=destination(
            BufferingHints={"SizeInMBs": 2, "IntervalInSeconds": 0}, CompressionFormat=compression
        ),
    )
    records = [bytes([i % 251]) * 1000 for i in range(600)]
    for start in range(0, 600, 300):
        hose.put_record_batch("packed", records[start : start + 300])
    [delivery] = hose.deliver_due()
    assert delivery.key.endswith(extension)
    packed = read(fb, delivery.key)
    if compression == "GZIP":
        body = gzip.decompress(packed)
    elif compression == "ZIP":
        with zipfile.ZipFile(io.BytesIO(packed)) as archive:
            [entry] = archive.namelist()
            body = archive.read(entry)
    elif compression == "Snappy":
        body = bytes(cramjam.snappy.decompress(packed))
    else:
        body = read_hadoop_snappy(packed)
    assert body == b"".join(records)


def test_custom_prefix_with_timestamps_replaces_the_default_time_folders(
    hose: Firehose, fb: Fogbank, clock: ManualClock
) -> None:
    clock.advance(3600 * 23 + 61)
    hose.create_delivery_stream(
        "hive",
        extended_s3=destination(
            Prefix="events/year=!{timestamp:yyyy}/hour=!{timestamp:HH}/!{firehose:random-string}/",
            ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
            BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0},
            FileExtension=".json",
        ),
    )
    hose.put_record("hive", b"{}")
    [delivery] = hose.deliver_due()
    parts = delivery.key.split("/")
    assert parts[:3] == ["events", "year=2026", "hour=23"]
    assert len(parts[3]) == 11
    assert parts[4].startswith("hive-1-2026-01-01-23-01-01-") and parts[4].endswith(".json")


def test_a_plain_prefix_gets_the_time_folders_appended(hose: Firehose, fb: Fogbank) -> None:
    hose.create_delivery_stream(
        "plain",
        extended_s3=destination(
            Prefix="raw/", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0}
        ),
    )
    hose.put_record("plain", b"x")
    [delivery] = hose.deliver_due()
    assert delivery.key.startswith("raw/2026/01/01/00/plain-1-")


@pytest.mark.parametrize(
    ("prefix", "error_prefix", "words"),
    [
        ("a/!{timestamp:yyyy}/", None, "ErrorOutputPrefix is required"),
        ("a/!{firehose:error-output-type}/", "e/", "error-output-type"),
        ("a/", "e/!{timestamp:yyyy}/", "must contain"),
        ("a/!{timestamp:yyyy", None, "!{namespace:value}"),
        ("a/!{partitionKeyFromQuery:id}/", "e/", "needs dynamic partitioning"),
        ("a/!{timestamp:qq}/", "e/!{firehose:error-output-type}", "letter"),
    ],
)
def test_prefixes_are_checked_as_aws_checks_them(
    hose: Firehose, prefix: str, error_prefix: str | None, words: str
) -> None:
    config = destination(Prefix=prefix)
    if error_prefix is not None:
        config["ErrorOutputPrefix"] = error_prefix
    with pytest.raises(InvalidArgumentException, match=words.replace("{", r"\{").replace("$", "")):
        hose.create_delivery_stream("bad", extended_s3=config)


def test_update_destination_checks_the_version_and_moves_it_on(hose: Firehose, fb: Fogbank) -> None:
    hose.create_delivery_stream("v", extended_s3=destination())
    hose.update_destination("v", "1", "destinationId-000000000001", extended_s3={"Prefix": "two/"})
    described = hose.describe_delivery_stream("v")
    assert described.version_id == "2"
    assert described.destination.config["Prefix"] == "two/"
    with pytest.raises(ConcurrentModificationException, match="VersionId"):
        hose.update_destination("v", "1", "destinationId-000000000001", extended_s3={})
    hose.update_destination(
        "v",
        "2",
        "destinationId-000000000001",
        extended_s3={"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}},
    )
    hose.put_record("v", b"x")
    [delivery] = hose.deliver_due()
    assert delivery.key.startswith("two/2026/01/01/00/v-3-")


def test_batches_over_aws_limits_are_refused(hose: Firehose) -> None:
    hose.create_delivery_stream("limits", extended_s3=destination())
    with pytest.raises(InvalidArgumentException, match="500"):
        hose.put_record_batch("limits", [b"x"] * 501)
    with pytest.raises(InvalidArgumentException, match="1,000 KiB"):
        hose.put_record("limits", b"x" * (1000 * 1024 + 1))
    with pytest.raises(InvalidArgumentException, match="4 MiB"):
        hose.put_record_batch("limits", [b"x" * 1000 * 1024] * 5)
    with pytest.raises(ResourceNotFoundException, match="nope"):
        hose.put_record("nope", b"x")


def test_records_past_the_buffer_cap_fail_one_by_one(fb: Fogbank) -> None:
    capped = engine(fb, max_buffered_bytes=10)
    try:
        capped.create_delivery_stream("capped", extended_s3=destination())
        result = capped.put_record_batch("capped", [b"1234", b"5678", b"90ab", b"c"])
        assert result.failed_put_count == 2
        codes = [e.error_code for e in result.entries]
        assert codes == [None, None, "ServiceUnavailableException", "ServiceUnavailableException"]
        assert all(e.record_id for e in result.entries[:2])
        with pytest.raises(ServiceUnavailableException):
            capped.put_record("capped", b"12345")
    finally:
        capped.close()


def test_a_delivery_to_a_missing_bucket_keeps_its_records(hose: Firehose, fb: Fogbank) -> None:
    hose.create_delivery_stream(
        "orphan",
        extended_s3={
            **destination(BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0}),
            "BucketARN": "arn:aws:s3:::missing",
        },
    )
    hose.put_record("orphan", b"kept")
    with pytest.raises(Exception, match="missing"):
        hose.deliver_due()
    assert hose.buffered("orphan") == (1, 4)
    fb.lake.create_bucket("missing")
    [delivery] = hose.deliver_due()
    assert delivery.bucket == "missing"


def test_two_engines_on_one_home_never_deliver_a_record_twice(fb: Fogbank, hose: Firehose) -> None:
    other = engine(fb)
    try:
        hose.create_delivery_stream(
            "shared",
            extended_s3=destination(BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0}),
        )
        for i in range(50):
            (hose if i % 2 else other).put_record("shared", b"%d," % i)
        first = hose.deliver_due()
        second = other.deliver_due()
        assert len(first) == 1 and second == []
        delivered = b"".join(read(fb, d.key) for d in first + second)
        assert sorted(delivered.split(b",")[:-1], key=int) == [b"%d" % i for i in range(50)]
    finally:
        other.close()


def test_delete_delivers_what_is_buffered_then_forgets_the_stream(
    hose: Firehose, fb: Fogbank
) -> None:
    hose.create_delivery_stream("gone", extended_s3=destination())
    hose.put_record("gone", b"last words")
    hose.delete_delivery_stream("gone")
    [key] = objects(fb)
    assert read(fb, key) == b"last words"
    with pytest.raises(ResourceNotFoundException):
        hose.describe_delivery_stream("gone")
    assert not list((fb.config.home / "firehose").glob("gone.*"))


def test_acknowledged_records_survive_kill_9_and_are_delivered_after_reopening(
    tmp_path: Path,
) -> None:
    home = tmp_path / "crash"
    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from fogbank import Fogbank, FogbankConfig
        fb = Fogbank(FogbankConfig.load(home=Path({str(home)!r}), environ={{}}))
        fb.lake.create_bucket("lake")
        fb.firehose.create_delivery_stream("durable", extended_s3={{
            "RoleARN": "arn:aws:iam::000000000000:role/r",
            "BucketARN": "arn:aws:s3:::lake",
            "BufferingHints": {{"SizeInMBs": 128, "IntervalInSeconds": 900}},
        }})
        for i in range(100):
            fb.firehose.put_record("durable", b"%d;" % i)
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
        keys = [o.key for o in reopened.lake.iter_objects("lake")]
        assert len(keys) == 1
        body = reopened.lake.read(f"s3://lake/{keys[0]}")
        assert body == b"".join(b"%d;" % i for i in range(100))
        assert reopened.firehose.buffered("durable") == (0, 0)


def test_metrics_count_records_in_and_delivered_and_freshness(
    hose: Firehose, fb: Fogbank, clock: ManualClock
) -> None:
    """IncomingRecords/Bytes, DeliveryToS3.Records/Success/DataFreshness in AWS/Firehose."""
    hose.create_delivery_stream(
        "counted", s3=destination(BufferingHints={"SizeInMBs": 5, "IntervalInSeconds": 60})
    )
    hose.put_record_batch("counted", [b"abc", b"de"])
    clock.advance(30)
    hose.put_record("counted", b"f")
    clock.advance(31)
    [delivery] = hose.deliver_due()
    assert delivery.records == 3
    totals = hose.metrics.totals("counted")
    assert totals["IncomingRecords"] == 3 and totals["IncomingBytes"] == 6
    assert totals["DeliveryToS3.Records"] == 3 and totals["DeliveryToS3.Bytes"] == 6
    assert totals["DeliveryToS3.Success"] == 1
    assert totals["DeliveryToS3.DataFreshness"] == 61.0  # the oldest record's age
    points = fb.store.get_metrics("AWS/Firehose", "IncomingRecords")
    assert {p.dimensions["DeliveryStreamName"] for p in points} == {"counted"}
