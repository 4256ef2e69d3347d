"""Through boto3: SubscribeToShard (enhanced fan-out as an event stream), stream encryption
and resource policies."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from fogbank import Fogbank, FogbankConfig
from fogbank.gateway.server import BackgroundServer

from .conftest import boto3_client


@pytest.fixture
def kinesis(tmp_path: Path) -> Iterator[Any]:
    with (
        Fogbank(FogbankConfig.load(home=tmp_path / "home", environ={})) as fogbank,
        BackgroundServer(fogbank) as server,
    ):
        client = boto3_client("kinesis", server.endpoint_url)
        yield client
        client.close()


def _stream_with_consumer(kinesis: Any, shards: int = 1) -> tuple[str, str]:
    kinesis.create_stream(StreamName="s", ShardCount=shards)
    arn = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamARN"]
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]
    return arn, consumer["ConsumerARN"]


def test_subscribe_to_shard_pushes_old_and_new_records(kinesis: Any) -> None:
    """SubscribeToShard: records already in the shard come first, then each new put
    arrives as its own event, in sequence order."""
    _, consumer = _stream_with_consumer(kinesis)
    first = kinesis.put_record(StreamName="s", Data=b"before", PartitionKey="k")
    reply = kinesis.subscribe_to_shard(
        ConsumerARN=consumer,
        ShardId="shardId-000000000000",
        StartingPosition={"Type": "TRIM_HORIZON"},
    )
    stream = reply["EventStream"]
    seen: list[bytes] = []
    numbers: list[int] = []
    put_second = threading.Event()
    try:
        for event in stream:
            body = event["SubscribeToShardEvent"]
            for record in body["Records"]:
                seen.append(record["Data"])
                numbers.append(int(record["SequenceNumber"]))
                assert body["ContinuationSequenceNumber"] == body["Records"][-1]["SequenceNumber"]
            if seen == [b"before"] and not put_second.is_set():
                put_second.set()
                kinesis.put_record(StreamName="s", Data=b"after", PartitionKey="k")
            if len(seen) == 2:
                break
    finally:
        stream.close()
    assert seen == [b"before", b"after"]
    assert numbers[0] == int(first["SequenceNumber"]) and numbers == sorted(numbers)


def test_subscribe_after_sequence_number_resumes_there(kinesis: Any) -> None:
    _, consumer = _stream_with_consumer(kinesis)
    puts = [kinesis.put_record(StreamName="s", Data=bytes([i]), PartitionKey="k") for i in range(3)]
    reply = kinesis.subscribe_to_shard(
        ConsumerARN=consumer,
        ShardId="shardId-000000000000",
        StartingPosition={
            "Type": "AFTER_SEQUENCE_NUMBER",
            "SequenceNumber": puts[0]["SequenceNumber"],
        },
    )
    stream = reply["EventStream"]
    try:
        event = next(iter(stream))["SubscribeToShardEvent"]
    finally:
        stream.close()
    assert [r["Data"] for r in event["Records"]] == [b"\x01", b"\x02"]


def test_a_drained_closed_shard_ends_the_subscription_with_its_children(kinesis: Any) -> None:
    """SubscribeToShard on a split parent: its records, then ChildShards, then the end."""
    _, consumer = _stream_with_consumer(kinesis)
    kinesis.put_record(StreamName="s", Data=b"parent", PartitionKey="k")
    kinesis.split_shard(
        StreamName="s", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127)
    )
    reply = kinesis.subscribe_to_shard(
        ConsumerARN=consumer,
        ShardId="shardId-000000000000",
        StartingPosition={"Type": "TRIM_HORIZON"},
    )
    events = [e["SubscribeToShardEvent"] for e in reply["EventStream"]]
    assert [r["Data"] for e in events for r in e["Records"]] == [b"parent"]
    children = events[-1]["ChildShards"]
    assert sorted(c["ShardId"] for c in children) == [
        "shardId-000000000001",
        "shardId-000000000002",
    ]
    assert all(c["ParentShards"] == ["shardId-000000000000"] for c in children)


def test_subscribe_errors_come_back_as_aws_codes(kinesis: Any) -> None:
    arn, consumer = _stream_with_consumer(kinesis)
    with pytest.raises(ClientError) as missing:
        kinesis.subscribe_to_shard(
            ConsumerARN=f"{arn}/consumer/nobody:1",
            ShardId="shardId-000000000000",
            StartingPosition={"Type": "LATEST"},
        )
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as no_shard:
        kinesis.subscribe_to_shard(
            ConsumerARN=consumer,
            ShardId="shardId-000000000009",
            StartingPosition={"Type": "LATEST"},
        )
    assert no_shard.value.response["Error"]["Code"] == "ResourceNotFoundException"
    first = kinesis.subscribe_to_shard(
        ConsumerARN=consumer, ShardId="shardId-000000000000", StartingPosition={"Type": "LATEST"}
    )
    first["EventStream"].close()
    with pytest.raises(ClientError) as again:
        kinesis.subscribe_to_shard(
            ConsumerARN=consumer,
            ShardId="shardId-000000000000",
            StartingPosition={"Type": "LATEST"},
        )
    assert again.value.response["Error"]["Code"] == "ResourceInUseException"
    assert "5 seconds" in again.value.response["Error"]["Message"]


def test_stream_encryption_seals_records_at_rest_and_reads_them_back(
    kinesis: Any, tmp_path: Path
) -> None:
    """StartStreamEncryption / StopStreamEncryption: records put while it is on report
    EncryptionType KMS, are not stored in the clear, and read back as they were put."""
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.put_record(StreamName="s", Data=b"plain-before", PartitionKey="k")
    kinesis.start_stream_encryption(StreamName="s", EncryptionType="KMS", KeyId="alias/aws/kinesis")
    summary = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]
    assert summary["EncryptionType"] == "KMS" and summary["KeyId"] == "alias/aws/kinesis"
    put = kinesis.put_record(StreamName="s", Data=b"secret-during", PartitionKey="k")
    assert put["EncryptionType"] == "KMS"
    with pytest.raises(ClientError) as wrong:
        kinesis.stop_stream_encryption(StreamName="s", EncryptionType="KMS", KeyId="alias/other")
    assert wrong.value.response["Error"]["Code"] == "InvalidArgumentException"
    kinesis.stop_stream_encryption(StreamName="s", EncryptionType="KMS", KeyId="alias/aws/kinesis")
    kinesis.put_record(StreamName="s", Data=b"plain-after", PartitionKey="k")
    iterator = kinesis.get_shard_iterator(
        StreamName="s", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert [(r["Data"], r["EncryptionType"]) for r in records] == [
        (b"plain-before", "NONE"),
        (b"secret-during", "KMS"),
        (b"plain-after", "NONE"),
    ]
    stored = b"".join(p.read_bytes() for p in (tmp_path / "home" / "streams").glob("s.*"))
    assert b"plain-before" in stored and b"secret-during" not in stored


def test_start_stream_encryption_refuses_a_malformed_key_id(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="s", ShardCount=1)
    with pytest.raises(ClientError) as bad:
        kinesis.start_stream_encryption(StreamName="s", EncryptionType="KMS", KeyId="not a key")
    assert bad.value.response["Error"]["Code"] == "InvalidArgumentException"
    assert "KeyId" in bad.value.response["Error"]["Message"]


def test_resource_policies_are_kept_per_stream_and_consumer(kinesis: Any) -> None:
    """Put/Get/DeleteResourcePolicy on a stream ARN and a consumer ARN."""
    arn, consumer = _stream_with_consumer(kinesis)
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
    policy = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}'
    kinesis.put_resource_policy(ResourceARN=arn, Policy=policy)
    kinesis.put_resource_policy(ResourceARN=consumer, Policy=policy)
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == policy
    assert kinesis.get_resource_policy(ResourceARN=consumer)["Policy"] == policy
    kinesis.delete_resource_policy(ResourceARN=arn)
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
    with pytest.raises(ClientError) as again:
        kinesis.delete_resource_policy(ResourceARN=arn)
    assert again.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as bad:
        kinesis.put_resource_policy(ResourceARN=arn, Policy="not json")
    assert bad.value.response["Error"]["Code"] == "InvalidArgumentException"
    missing = arn.replace("stream/s", "stream/nope")
    with pytest.raises(ClientError) as gone:
        kinesis.put_resource_policy(ResourceARN=missing, Policy=policy)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
