"""Firehose reading a Kinesis stream (KinesisStreamAsSource) through real boto3, over a
socket and in-process: the source described, puts refused with AWS's words, and the
stream's records delivered into the lake."""

from __future__ import annotations

import time
from typing import Any

from fogbank import Fogbank

from .conftest import ErrorExpectation
from .test_firehose import ROLE, describe, s3_config


def create_sourced(firehose: Any, fogbank: Fogbank, stream: str = "clicks") -> None:
    firehose.create_delivery_stream(
        DeliveryStreamName="fromstream",
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={
            "KinesisStreamARN": fogbank.streams.arn(stream),
            "RoleARN": ROLE,
        },
        ExtendedS3DestinationConfiguration=s3_config(
            BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0}
        ),
    )


def test_a_stream_sourced_delivery_stream_delivers_the_streams_records(
    firehose: Any, fogbank: Fogbank
) -> None:
    fogbank.lake.create_bucket("lake")
    fogbank.streams.create_stream("clicks", 2)
    create_sourced(firehose, fogbank)
    d = describe(firehose, "fromstream")
    assert d["DeliveryStreamType"] == "KinesisStreamAsSource"
    source = d["Source"]["KinesisStreamSourceDescription"]
    assert source["KinesisStreamARN"] == fogbank.streams.arn("clicks")
    assert source["RoleARN"] == ROLE
    assert source["DeliveryStartTimestamp"] == d["CreateTimestamp"]
    listed = firehose.list_delivery_streams(DeliveryStreamType="KinesisStreamAsSource")
    assert listed["DeliveryStreamNames"] == ["fromstream"]
    for i in range(10):
        fogbank.streams.put_record(b"%d;" % i, f"k{i}", name="clicks")
    deadline = time.monotonic() + 15
    records: list[bytes] = []
    while time.monotonic() < deadline and len(records) < 10:
        body = b"".join(
            fogbank.lake.read(f"s3://lake/{o.key}") for o in fogbank.lake.iter_objects("lake")
        )
        records = body.split(b";")[:-1]
        time.sleep(0.05)
    assert sorted(records, key=int) == [b"%d" % i for i in range(10)]


def test_stream_sourced_errors(
    firehose: Any, fogbank: Fogbank, json_error: ErrorExpectation
) -> None:
    with json_error("InvalidArgumentException", "clicks", "not found"):
        create_sourced(firehose, fogbank)
    fogbank.streams.create_stream("clicks", 1)
    create_sourced(firehose, fogbank)
    words = "This operation is not permitted on KinesisStreamAsSource delivery stream type."
    with json_error("InvalidArgumentException", words):
        firehose.put_record(DeliveryStreamName="fromstream", Record={"Data": b"x"})
    with json_error("InvalidArgumentException", words):
        firehose.put_record_batch(DeliveryStreamName="fromstream", Records=[{"Data": b"x"}])
