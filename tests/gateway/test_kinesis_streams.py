"""Kinesis Data Streams control plane through real boto3, over a socket and in-process:
CreateStream, DescribeStream(Summary), ListStreams, ListShards, DeleteStream, retention,
UpdateStreamMode, enhanced monitoring, DescribeLimits, tags, consumers, and malformed
requests on the wire."""

from __future__ import annotations

import base64
import http.client
import itertools
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fogbank import Fogbank
from fogbank.core.clock import ManualClock
from fogbank.gateway.server import BackgroundServer

from .conftest import ErrorExpectation
from .kinesis_support import *  # noqa: F403 (the shared fixtures)
from .kinesis_support import ACCOUNT, ARN_PREFIX, create, shards_of

# ------------------------------------------------------------ CreateStream


def test_create_stream_provisioned_splits_the_hash_space_evenly(kinesis: Any) -> None:
    """CreateStream with ShardCount 3: three open shards covering 0..2^128-1 with no gaps."""
    arn = create(kinesis, "events", 3)
    assert arn == f"{ARN_PREFIX}events"
    summary = kinesis.describe_stream_summary(StreamName="events")["StreamDescriptionSummary"]
    assert summary["StreamStatus"] == "ACTIVE"
    assert summary["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert summary["OpenShardCount"] == 3
    assert summary["RetentionPeriodHours"] == 24
    assert summary["ConsumerCount"] == 0
    assert summary["MaxRecordSizeInKiB"] == 1024
    shards = shards_of(kinesis)
    assert [s["ShardId"] for s in shards] == [f"shardId-{i:012d}" for i in range(3)]
    assert shards[0]["HashKeyRange"]["StartingHashKey"] == "0"
    assert shards[-1]["HashKeyRange"]["EndingHashKey"] == str((1 << 128) - 1)
    for low, high in itertools.pairwise(shards):
        assert int(low["HashKeyRange"]["EndingHashKey"]) + 1 == int(
            high["HashKeyRange"]["StartingHashKey"]
        )


def test_create_stream_on_demand_starts_with_four_shards(kinesis: Any) -> None:
    """CreateStream with StreamModeDetails ON_DEMAND and no ShardCount."""
    kinesis.create_stream(StreamName="auto", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    summary = kinesis.describe_stream_summary(StreamName="auto")["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert summary["OpenShardCount"] == 4
    assert kinesis.describe_limits()["OnDemandStreamCount"] == 1


def test_create_stream_twice_is_resource_in_use(kinesis: Any, json_error: ErrorExpectation) -> None:
    """CreateStream with a name already taken: ResourceInUseException naming the stream."""
    create(kinesis, "events")
    with json_error("ResourceInUseException", "events", "already exists"):
        kinesis.create_stream(StreamName="events", ShardCount=2)


def test_create_stream_without_shard_count_names_the_field(
    kinesis: Any, json_error: ErrorExpectation
) -> None:
    """CreateStream, PROVISIONED, no ShardCount."""
    with json_error("InvalidArgumentException", "ShardCount"):
        kinesis.create_stream(StreamName="events")


def test_create_stream_max_record_size_out_of_range(
    kinesis: Any, json_error: ErrorExpectation
) -> None:
    """CreateStream MaxRecordSizeInKiB: 1024..10240; the model's constraint answers."""
    with json_error("ValidationException", "maxRecordSizeInKiB"):
        kinesis.create_stream(StreamName="events", ShardCount=1, MaxRecordSizeInKiB=10241)
    kinesis.create_stream(StreamName="events", ShardCount=1, MaxRecordSizeInKiB=2048)
    summary = kinesis.describe_stream_summary(StreamName="events")["StreamDescriptionSummary"]
    assert summary["MaxRecordSizeInKiB"] == 2048


@pytest.mark.parametrize("name", ["bad name!", "x" * 129, "slash/name"])
def test_create_stream_bad_names_fail_the_model(
    kinesis: Any, json_error: ErrorExpectation, name: str
) -> None:
    """CreateStream StreamName: 1-128 chars of [a-zA-Z0-9_.-]."""
    with json_error("ValidationException", "streamName"):
        kinesis.create_stream(StreamName=name, ShardCount=1)
    assert kinesis.list_streams()["StreamNames"] == []


def test_create_stream_empty_name_is_refused_by_boto3(kinesis: Any) -> None:
    with pytest.raises(ParamValidationError):
        kinesis.create_stream(StreamName="", ShardCount=1)


def test_create_stream_with_tags(kinesis: Any) -> None:
    """CreateStream Tags are ListTagsForStream's."""
    create(kinesis, "events", Tags={"team": "data"})
    tags = kinesis.list_tags_for_stream(StreamName="events")
    assert tags["Tags"] == [{"Key": "team", "Value": "data"}]


# ------------------------------------------------------------ DescribeStream / ListStreams


def test_describe_stream_pages_shards(kinesis: Any) -> None:
    """DescribeStream Limit / ExclusiveStartShardId / HasMoreShards, and its paginator."""
    create(kinesis, "events", 5)
    first = kinesis.describe_stream(StreamName="events", Limit=2)["StreamDescription"]
    assert [s["ShardId"] for s in first["Shards"]] == [
        "shardId-000000000000",
        "shardId-000000000001",
    ]
    assert first["HasMoreShards"] is True
    assert first["StreamARN"] == f"{ARN_PREFIX}events"
    assert first["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]
    assert first["EncryptionType"] == "NONE"
    rest = kinesis.describe_stream(
        StreamName="events", Limit=10, ExclusiveStartShardId="shardId-000000000001"
    )["StreamDescription"]
    assert [s["ShardId"] for s in rest["Shards"]] == [f"shardId-{i:012d}" for i in (2, 3, 4)]
    assert rest["HasMoreShards"] is False
    paged = kinesis.get_paginator("describe_stream").paginate(
        StreamName="events", PaginationConfig={"PageSize": 2}
    )
    seen = [s["ShardId"] for page in paged for s in page["StreamDescription"]["Shards"]]
    assert seen == [f"shardId-{i:012d}" for i in range(5)]


def test_describe_missing_stream_is_not_found(kinesis: Any, json_error: ErrorExpectation) -> None:
    """DescribeStream / DescribeStreamSummary / DeleteStream of a stream that is not there."""
    with json_error("ResourceNotFoundException", "ghost", ACCOUNT):
        kinesis.describe_stream(StreamName="ghost")
    with json_error("ResourceNotFoundException", "ghost"):
        kinesis.describe_stream_summary(StreamName="ghost")
    with json_error("ResourceNotFoundException", "ghost"):
        kinesis.delete_stream(StreamName="ghost")


def test_list_streams_pages_by_limit_next_token_and_start_name(kinesis: Any) -> None:
    """ListStreams: Limit, HasMoreStreams, NextToken, ExclusiveStartStreamName, summaries."""
    names = ["a1", "b2", "c3", "d4", "e5"]
    for name in names:
        create(kinesis, name)
    first = kinesis.list_streams(Limit=2)
    assert first["StreamNames"] == ["a1", "b2"]
    assert first["HasMoreStreams"] is True
    assert [s["StreamName"] for s in first["StreamSummaries"]] == ["a1", "b2"]
    assert first["StreamSummaries"][0]["StreamARN"] == f"{ARN_PREFIX}a1"
    assert first["StreamSummaries"][0]["StreamStatus"] == "ACTIVE"
    second = kinesis.list_streams(Limit=2, NextToken=first["NextToken"])
    assert second["StreamNames"] == ["c3", "d4"]
    last = kinesis.list_streams(Limit=2, NextToken=second["NextToken"])
    assert last["StreamNames"] == ["e5"]
    assert last["HasMoreStreams"] is False
    assert "NextToken" not in last
    after = kinesis.list_streams(ExclusiveStartStreamName="b2")
    assert after["StreamNames"] == ["c3", "d4", "e5"]
    between = kinesis.list_streams(ExclusiveStartStreamName="b", Limit=1)
    assert between["StreamNames"] == ["b2"]
    assert kinesis.list_streams(ExclusiveStartStreamName="e5")["StreamNames"] == []
    paged = kinesis.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 2})
    assert paged.build_full_result()["StreamNames"] == names


def test_list_streams_next_token_expires_after_five_minutes(
    connect: Any, timed_fogbank: Fogbank, clock: ManualClock, json_error: ErrorExpectation
) -> None:
    """ListStreams NextToken older than 300 s: ExpiredNextTokenException."""
    client = connect(timed_fogbank)
    create(client, "a")
    create(client, "b")
    token = client.list_streams(Limit=1)["NextToken"]
    clock.advance(301)
    with json_error("ExpiredNextTokenException", "NextToken"):
        client.list_streams(NextToken=token)


# ------------------------------------------------------------ ListShards


def test_list_shards_next_token_alone_pages(kinesis: Any, json_error: ErrorExpectation) -> None:
    """ListShards MaxResults / NextToken; NextToken with StreamName is refused."""
    create(kinesis, "events", 5)
    first = kinesis.list_shards(StreamName="events", MaxResults=2)
    assert [s["ShardId"] for s in first["Shards"]] == [
        "shardId-000000000000",
        "shardId-000000000001",
    ]
    second = kinesis.list_shards(NextToken=first["NextToken"], MaxResults=2)
    assert [s["ShardId"] for s in second["Shards"]] == [
        "shardId-000000000002",
        "shardId-000000000003",
    ]
    last = kinesis.list_shards(NextToken=second["NextToken"])
    assert [s["ShardId"] for s in last["Shards"]] == ["shardId-000000000004"]
    assert "NextToken" not in last
    with json_error("InvalidArgumentException", "NextToken", "StreamName"):
        kinesis.list_shards(StreamName="events", NextToken=first["NextToken"])
    with json_error("InvalidArgumentException", "NextToken"):
        kinesis.list_shards(NextToken="garbage-token")


def test_list_shards_exclusive_start_and_filters(
    kinesis: Any, json_error: ErrorExpectation
) -> None:
    """ListShards ExclusiveStartShardId and ShardFilter AFTER_SHARD_ID, AT_LATEST,
    AT_TRIM_HORIZON, FROM_TRIM_HORIZON, AT_TIMESTAMP, FROM_TIMESTAMP."""
    create(kinesis, "events", 2)
    kinesis.split_shard(
        StreamName="events", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(1 << 126)
    )

    def ids(**extra: Any) -> list[str]:
        return [s["ShardId"] for s in kinesis.list_shards(StreamName="events", **extra)["Shards"]]

    everything = [f"shardId-{i:012d}" for i in range(4)]
    assert ids() == everything
    assert ids(ExclusiveStartShardId="shardId-000000000001") == everything[2:]
    assert (
        ids(ShardFilter={"Type": "AFTER_SHARD_ID", "ShardId": "shardId-000000000000"})
        == (everything[1:])
    )
    assert ids(ShardFilter={"Type": "AT_LATEST"}) == everything[1:]
    assert ids(ShardFilter={"Type": "AT_TRIM_HORIZON"}) == everything[:2]
    assert ids(ShardFilter={"Type": "FROM_TRIM_HORIZON"}) == everything
    created = kinesis.describe_stream_summary(StreamName="events")["StreamDescriptionSummary"][
        "StreamCreationTimestamp"
    ]
    assert ids(ShardFilter={"Type": "FROM_TIMESTAMP", "Timestamp": created}) == everything
    with json_error("InvalidArgumentException", "AFTER_SHARD_ID", "ShardId"):
        kinesis.list_shards(StreamName="events", ShardFilter={"Type": "AFTER_SHARD_ID"})
    with json_error("InvalidArgumentException", "Timestamp"):
        kinesis.list_shards(StreamName="events", ShardFilter={"Type": "AT_TIMESTAMP"})


def test_list_shards_stream_creation_timestamp_must_match(
    kinesis: Any, json_error: ErrorExpectation
) -> None:
    """ListShards StreamCreationTimestamp of another incarnation: ResourceNotFoundException."""
    create(kinesis, "events")
    created = kinesis.describe_stream_summary(StreamName="events")["StreamDescriptionSummary"][
        "StreamCreationTimestamp"
    ]
    shards = kinesis.list_shards(StreamName="events", StreamCreationTimestamp=created)["Shards"]
    assert len(shards) == 1
    with json_error("ResourceNotFoundException", "events"):
        kinesis.list_shards(StreamName="events", StreamCreationTimestamp=0)


def test_list_shards_next_token_expires(
    connect: Any, timed_fogbank: Fogbank, clock: ManualClock, json_error: ErrorExpectation
) -> None:
    """ListShards NextToken older than 300 s: ExpiredNextTokenException."""
    client = connect(timed_fogbank)
    create(client, "events", 3)
    token = client.list_shards(StreamName="events", MaxResults=1)["NextToken"]
    clock.advance(301)
    with json_error("ExpiredNextTokenException", "NextToken"):
        client.list_shards(NextToken=token)


@pytest.fixture
def listed(unlimited: Any) -> Any:
    """Seven streams, and a stream of 7 shards of which one has been split (9 shards)."""
    for i in range(7):
        create(unlimited, f"s{i}")
    create(unlimited, "events", 7)
    unlimited.split_shard(
        StreamName="events", ShardToSplit="shardId-000000000003", NewStartingHashKey=str(1 << 127)
    )
    return unlimited


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(size=st.integers(min_value=1, max_value=12))
def test_paging_yields_each_item_exactly_once(listed: Any, size: int) -> None:
    """ListShards (MaxResults + NextToken) and ListStreams (Limit + NextToken), any page size."""
    shards: list[str] = []
    answer = listed.list_shards(StreamName="events", MaxResults=size)
    shards += [s["ShardId"] for s in answer["Shards"]]
    while "NextToken" in answer:
        assert len(answer["Shards"]) == size
        answer = listed.list_shards(NextToken=answer["NextToken"], MaxResults=size)
        shards += [s["ShardId"] for s in answer["Shards"]]
    assert shards == [f"shardId-{i:012d}" for i in range(9)]
    names: list[str] = []
    page = listed.list_streams(Limit=size)
    names += page["StreamNames"]
    while page["HasMoreStreams"]:
        page = listed.list_streams(Limit=size, NextToken=page["NextToken"])
        names += page["StreamNames"]
    assert names == ["events", *(f"s{i}" for i in range(7))]


# ------------------------------------------------------------ DeleteStream, StreamARN


def test_delete_stream_with_consumers_needs_enforce(
    kinesis: Any, json_error: ErrorExpectation
) -> None:
    """DeleteStream with registered consumers: ResourceInUse unless EnforceConsumerDeletion."""
    arn = create(kinesis, "events")
    kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="reader")
    with json_error("ResourceInUseException", "consumers", "EnforceConsumerDeletion"):
        kinesis.delete_stream(StreamName="events")
    kinesis.delete_stream(StreamName="events", EnforceConsumerDeletion=True)
    assert kinesis.list_streams()["StreamNames"] == []
    create(kinesis, "events")  # the name is free again, and the new stream has no consumers
    assert kinesis.list_stream_consumers(StreamARN=arn)["Consumers"] == []


def test_stream_arn_works_wherever_stream_name_does(
    kinesis: Any, json_error: ErrorExpectation
) -> None:
    """DescribeStream, DescribeStreamSummary, ListShards, PutRecord, GetShardIterator,
    AddTagsToStream, DeleteStream by StreamARN; a name and ARN that disagree are refused."""
    arn = create(kinesis, "events")
    assert kinesis.describe_stream(StreamARN=arn)["StreamDescription"]["StreamName"] == "events"
    assert (
        kinesis.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]["StreamName"]
        == "events"
    )
    assert len(kinesis.list_shards(StreamARN=arn)["Shards"]) == 1
    put = kinesis.put_record(StreamARN=arn, Data=b"x", PartitionKey="k")
    position = kinesis.get_shard_iterator(
        StreamARN=arn, ShardId=put["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert kinesis.get_records(ShardIterator=position, StreamARN=arn)["Records"][0]["Data"] == b"x"
    kinesis.add_tags_to_stream(StreamARN=arn, Tags={"a": "1"})
    assert kinesis.list_tags_for_stream(StreamARN=arn)["Tags"] == [{"Key": "a", "Value": "1"}]
    kinesis.increase_stream_retention_period(StreamARN=arn, RetentionPeriodHours=48)
    create(kinesis, "other")
    with json_error("InvalidArgumentException", "other", arn):
        kinesis.describe_stream_summary(StreamName="other", StreamARN=arn)
    kinesis.delete_stream(StreamARN=arn)
    assert kinesis.list_streams()["StreamNames"] == ["other"]


# ------------------------------------------------------------ retention


def test_retention_increase_and_decrease_rules(kinesis: Any, json_error: ErrorExpectation) -> None:
    """IncreaseStreamRetentionPeriod / DecreaseStreamRetentionPeriod: direction and bounds."""
    create(kinesis, "events")
    kinesis.increase_stream_retention_period(StreamName="events", RetentionPeriodHours=48)
    summary = kinesis.describe_stream_summary(StreamName="events")["StreamDescriptionSummary"]
    assert summary["RetentionPeriodHours"] == 48
    with json_error("InvalidArgumentException", "RetentionPeriodHours", "8761"):
        kinesis.increase_stream_retention_period(StreamName="events", RetentionPeriodHours=8761)
    with json_error("InvalidArgumentException", "shorter", "DecreaseStreamRetentionPeriod"):
        kinesis.increase_stream_retention_period(StreamName="events", RetentionPeriodHours=30)
    with json_error("InvalidArgumentException", "longer", "IncreaseStreamRetentionPeriod"):
        kinesis.decrease_stream_retention_period(StreamName="events", RetentionPeriodHours=72)
    with json_error("InvalidArgumentException", "RetentionPeriodHours", "23"):
        kinesis.decrease_stream_retention_period(StreamName="events", RetentionPeriodHours=23)
    kinesis.decrease_stream_retention_period(StreamName="events", RetentionPeriodHours=24)
    kinesis.increase_stream_retention_period(StreamName="events", RetentionPeriodHours=8760)
    summary = kinesis.describe_stream_summary(StreamName="events")["StreamDescriptionSummary"]
    assert summary["RetentionPeriodHours"] == 8760


def test_records_past_retention_are_gone(
    connect: Any, timed_fogbank: Fogbank, clock: ManualClock
) -> None:
    """Records older than RetentionPeriodHours are not returned from TRIM_HORIZON."""
    client = connect(timed_fogbank)
    create(client, "events")
    client.increase_stream_retention_period(StreamName="events", RetentionPeriodHours=48)
    client.put_record(StreamName="events", Data=b"old", PartitionKey="k")
    clock.advance(30 * 3600)
    client.put_record(StreamName="events", Data=b"new", PartitionKey="k")

    def read() -> list[bytes]:
        position = client.get_shard_iterator(
            StreamName="events", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        return [r["Data"] for r in client.get_records(ShardIterator=position)["Records"]]

    assert read() == [b"old", b"new"]
    client.decrease_stream_retention_period(StreamName="events", RetentionPeriodHours=24)
    assert read() == [b"new"]


# ------------------------------------------------------------ mode, monitoring, limits


def test_update_stream_mode(kinesis: Any, json_error: ErrorExpectation) -> None:
    """UpdateStreamMode PROVISIONED -> ON_DEMAND -> PROVISIONED keeps the shards."""
    arn = create(kinesis, "events", 2)
    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    summary = kinesis.describe_stream_summary(StreamName="events")["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert summary["OpenShardCount"] == 2
    with json_error("ResourceInUseException", "ON_DEMAND"):
        kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "PROVISIONED"})
    summary = kinesis.describe_stream_summary(StreamName="events")["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}


def test_update_max_record_size(kinesis: Any, json_error: ErrorExpectation) -> None:
    """UpdateMaxRecordSize within 1024..10240 KiB."""
    arn = create(kinesis, "events")
    kinesis.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=4096)
    summary = kinesis.describe_stream_summary(StreamName="events")["StreamDescriptionSummary"]
    assert summary["MaxRecordSizeInKiB"] == 4096
    with json_error("ValidationException", "maxRecordSizeInKiB"):
        kinesis.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=20000)


def test_enhanced_monitoring_enable_and_disable(kinesis: Any) -> None:
    """EnableEnhancedMonitoring / DisableEnhancedMonitoring: current and desired metrics."""
    arn = create(kinesis, "events")
    on = kinesis.enable_enhanced_monitoring(
        StreamName="events", ShardLevelMetrics=["IncomingBytes"]
    )
    assert on["StreamName"] == "events"
    assert on["StreamARN"] == arn
    assert on["CurrentShardLevelMetrics"] == []
    assert on["DesiredShardLevelMetrics"] == ["IncomingBytes"]
    everything = kinesis.enable_enhanced_monitoring(StreamName="events", ShardLevelMetrics=["ALL"])
    assert everything["CurrentShardLevelMetrics"] == ["IncomingBytes"]
    assert len(everything["DesiredShardLevelMetrics"]) == 7
    described = kinesis.describe_stream(StreamName="events")["StreamDescription"]
    assert len(described["EnhancedMonitoring"][0]["ShardLevelMetrics"]) == 7
    off = kinesis.disable_enhanced_monitoring(
        StreamARN=arn, ShardLevelMetrics=["IncomingBytes", "OutgoingBytes"]
    )
    assert "IncomingBytes" not in off["DesiredShardLevelMetrics"]
    assert len(off["DesiredShardLevelMetrics"]) == 5
    none = kinesis.disable_enhanced_monitoring(StreamName="events", ShardLevelMetrics=["ALL"])
    assert none["DesiredShardLevelMetrics"] == []


def test_describe_limits_counts_open_shards(kinesis: Any) -> None:
    """DescribeLimits: 500 shards in us-east-1; open shards and on-demand streams counted."""
    assert kinesis.describe_limits()["OpenShardCount"] == 0
    create(kinesis, "a", 3)
    kinesis.create_stream(StreamName="b", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    limits = kinesis.describe_limits()
    assert limits["ShardLimit"] == 500
    assert limits["OpenShardCount"] == 7
    assert limits["OnDemandStreamCount"] == 1
    assert limits["OnDemandStreamCountLimit"] == 50


# ------------------------------------------------------------ tags


def test_stream_tags_add_list_page_remove(kinesis: Any, json_error: ErrorExpectation) -> None:
    """AddTagsToStream / ListTagsForStream (Limit, ExclusiveStartTagKey) / RemoveTagsFromStream."""
    create(kinesis, "events")
    kinesis.add_tags_to_stream(StreamName="events", Tags={"a": "1", "b": "2", "c": "3"})
    first = kinesis.list_tags_for_stream(StreamName="events", Limit=2)
    assert first["Tags"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    assert first["HasMoreTags"] is True
    rest = kinesis.list_tags_for_stream(StreamName="events", ExclusiveStartTagKey="b")
    assert rest["Tags"] == [{"Key": "c", "Value": "3"}]
    assert rest["HasMoreTags"] is False
    kinesis.add_tags_to_stream(StreamName="events", Tags={"a": "changed"})
    kinesis.remove_tags_from_stream(StreamName="events", TagKeys=["b", "missing"])
    assert kinesis.list_tags_for_stream(StreamName="events")["Tags"] == [
        {"Key": "a", "Value": "changed"},
        {"Key": "c", "Value": "3"},
    ]
    with json_error("ResourceNotFoundException", "ghost"):
        kinesis.add_tags_to_stream(StreamName="ghost", Tags={"a": "1"})


def test_fifty_one_tags_are_refused(kinesis: Any, json_error: ErrorExpectation) -> None:
    """AddTagsToStream / TagResource past 50 tags on a stream: InvalidArgumentException."""
    arn = create(kinesis, "events")
    kinesis.add_tags_to_stream(StreamName="events", Tags={f"k{i:02d}": "v" for i in range(50)})
    with json_error("InvalidArgumentException", "50"):
        kinesis.add_tags_to_stream(StreamName="events", Tags={"one-more": "v"})
    with json_error("InvalidArgumentException", "50"):
        kinesis.tag_resource(ResourceARN=arn, Tags={"one-more": "v"})
    kinesis.add_tags_to_stream(StreamName="events", Tags={"k00": "replaced"})  # not a new key
    assert len(kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"]) == 50


def test_tag_resource_by_arn(kinesis: Any, json_error: ErrorExpectation) -> None:
    """TagResource / UntagResource / ListTagsForResource on a stream ARN."""
    arn = create(kinesis, "events")
    kinesis.tag_resource(ResourceARN=arn, Tags={"env": "test", "team": "ml"})
    assert kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "env", "Value": "test"},
        {"Key": "team", "Value": "ml"},
    ]
    kinesis.untag_resource(ResourceARN=arn, TagKeys=["env"])
    assert kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "team", "Value": "ml"}
    ]
    assert kinesis.list_tags_for_stream(StreamName="events")["Tags"] == [
        {"Key": "team", "Value": "ml"}
    ]
    with json_error("ResourceNotFoundException", "ghost"):
        kinesis.list_tags_for_resource(ResourceARN=f"{ARN_PREFIX}ghost")


# ------------------------------------------------------------ consumers


def test_stream_consumers_lifecycle(kinesis: Any, json_error: ErrorExpectation) -> None:
    """RegisterStreamConsumer, DescribeStreamConsumer (by name and ARN), ListStreamConsumers,
    DeregisterStreamConsumer; duplicate and missing consumers."""
    arn = create(kinesis, "events")
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="reader")["Consumer"]
    assert consumer["ConsumerName"] == "reader"
    assert consumer["ConsumerARN"].startswith(f"{arn}/consumer/reader:")
    assert consumer["ConsumerStatus"] in ("CREATING", "ACTIVE")
    by_name = kinesis.describe_stream_consumer(StreamARN=arn, ConsumerName="reader")
    by_arn = kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
    assert by_name["ConsumerDescription"] == by_arn["ConsumerDescription"]
    assert by_arn["ConsumerDescription"]["StreamARN"] == arn
    with json_error("ResourceInUseException", "reader", "already exists"):
        kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="reader")
    kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="another")
    listed = kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]
    assert [c["ConsumerName"] for c in listed] == ["another", "reader"]
    paged = kinesis.get_paginator("list_stream_consumers").paginate(
        StreamARN=arn, PaginationConfig={"PageSize": 1}
    )
    assert [c["ConsumerName"] for page in paged for c in page["Consumers"]] == [
        "another",
        "reader",
    ]
    summary = kinesis.describe_stream_summary(StreamName="events")["StreamDescriptionSummary"]
    assert summary["ConsumerCount"] == 2
    kinesis.deregister_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
    kinesis.deregister_stream_consumer(StreamARN=arn, ConsumerName="another")
    assert kinesis.list_stream_consumers(StreamARN=arn)["Consumers"] == []
    with json_error("ResourceNotFoundException", "reader"):
        kinesis.describe_stream_consumer(StreamARN=arn, ConsumerName="reader")
    with json_error("ResourceNotFoundException", "reader"):
        kinesis.deregister_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
    with json_error("ResourceNotFoundException", "ghost"):
        kinesis.register_stream_consumer(StreamARN=f"{ARN_PREFIX}ghost", ConsumerName="x")


def test_stream_consumer_limits_and_naming(kinesis: Any, json_error: ErrorExpectation) -> None:
    """RegisterStreamConsumer: 20 per stream, the 21st is LimitExceeded;
    DescribeStreamConsumer needs ConsumerARN, or StreamARN with ConsumerName."""
    arn = create(kinesis, "events")
    for i in range(20):
        kinesis.register_stream_consumer(StreamARN=arn, ConsumerName=f"c{i:02d}")
    with json_error("LimitExceededException", "20"):
        kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="one-more")
    with json_error("InvalidArgumentException", "ConsumerARN", "ConsumerName"):
        kinesis.describe_stream_consumer(ConsumerName="c00")
    page = kinesis.list_stream_consumers(StreamARN=arn, MaxResults=15)
    assert len(page["Consumers"]) == 15
    rest = kinesis.list_stream_consumers(StreamARN=arn, NextToken=page["NextToken"])
    assert [c["ConsumerName"] for c in rest["Consumers"]] == [f"c{i:02d}" for i in range(15, 20)]
    assert "NextToken" not in rest


def test_bad_tags_are_refused(kinesis: Any, json_error: ErrorExpectation) -> None:
    """AddTagsToStream: keys starting with aws: are refused by the engine, values over 256
    chars by the model."""
    create(kinesis, "events")
    with json_error("InvalidArgumentException", "aws:owner"):
        kinesis.add_tags_to_stream(StreamName="events", Tags={"aws:owner": "me"})
    with json_error("ValidationException", "tags.k", "256"):
        kinesis.add_tags_to_stream(StreamName="events", Tags={"k": "v" * 257})
    assert kinesis.list_tags_for_stream(StreamName="events")["Tags"] == []


# ------------------------------------------------------------ malformed requests on the wire


def _post(fb: Fogbank, operation: str, body: bytes) -> tuple[int, dict[str, Any], str | None]:
    with BackgroundServer(fb) as running:
        connection = http.client.HTTPConnection(running.host, running.port, timeout=10)
        try:
            connection.request(
                "POST",
                "/",
                body=body,
                headers={
                    "X-Amz-Target": f"Kinesis_20131202.{operation}",
                    "Content-Type": "application/x-amz-json-1.1",
                },
            )
            response = connection.getresponse()
            payload = json.loads(response.read())
            return response.status, payload, response.getheader("x-amzn-ErrorType")
        finally:
            connection.close()


@pytest.mark.parametrize(
    ("operation", "body", "code", "word"),
    [
        ("CreateStream", b"{not json", "SerializationException", ""),
        (
            "CreateStream",
            b'{"StreamName": 5, "ShardCount": 1}',
            "SerializationException",
            "streamName",
        ),
        (
            "CreateStream",
            b'{"StreamName": "s", "ShardCount": "one"}',
            "SerializationException",
            "shardCount",
        ),
        (
            "PutRecord",
            b'{"StreamName": "s", "Data": "!!!", "PartitionKey": "k"}',
            "SerializationException",
            "base64",
        ),
        (
            "PutRecord",
            b'{"StreamName": "s", "Data": "eA=="}',
            "ValidationException",
            "partitionKey",
        ),
        (
            "PutRecords",
            b'{"StreamName": "s", "Records": {"Data": "eA=="}}',
            "SerializationException",
            "records",
        ),
        ("GetRecords", b'{"ShardIterator": "x", "Limit": 10001}', "ValidationException", "limit"),
    ],
)
def test_malformed_json_requests_are_400s(
    fogbank: Fogbank, operation: str, body: bytes, code: str, word: str
) -> None:
    """Raw POSTs boto3 would never send: bad JSON, wrong types, Data not base64."""
    status, payload, error_type = _post(fogbank, operation, body)
    assert status == 400, payload
    assert payload["__type"] == code, payload
    assert error_type is not None and error_type.startswith(code)
    assert word in payload.get("message", payload.get("Message", "")), payload


def test_wrong_types_through_boto3_without_client_validation(
    connect: Any, fogbank: Fogbank, json_error: ErrorExpectation
) -> None:
    """PutRecord with Data a str that is not base64 is refused with a 400, not a 500."""
    client = connect(fogbank, parameter_validation=False)
    with json_error("ValidationException", "shardCount"):
        client.create_stream(StreamName="events", ShardCount=0)
    create(client, "events")
    answer = client.put_record(StreamName="events", Data=base64.b64encode(b"x"), PartitionKey="k")
    assert answer["ShardId"] == "shardId-000000000000"
    with pytest.raises(ClientError) as caught:
        client.put_record(StreamName="events", Data=b"x", PartitionKey="")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "partitionKey" in caught.value.response["Error"]["Message"]
