"""Kinesis Data Streams resharding through real boto3, over a socket and in-process:
SplitShard, MergeShards, UpdateShardCount, reading a closed parent to its end and on
into its children, and what on-demand streams refuse."""

from __future__ import annotations

from typing import Any

from .conftest import ErrorExpectation
from .kinesis_support import *  # noqa: F403 (the shared fixtures)
from .kinesis_support import (
    MAX_HASH_KEY,
    contains,
    create,
    drain,
    open_shards,
    partition_hash,
    shards_of,
)

SHARD0 = "shardId-000000000000"
SHARD1 = "shardId-000000000001"
SHARD2 = "shardId-000000000002"
HALF = 1 << 127


def _ranges(shards: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return sorted(
        (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in shards
    )


def _even(count: int) -> list[tuple[int, int]]:
    width = (MAX_HASH_KEY + 1) // count
    ranges = [(i * width, (i + 1) * width - 1) for i in range(count)]
    ranges[-1] = (ranges[-1][0], MAX_HASH_KEY)
    return ranges


def test_split_shard_closes_the_parent_and_makes_two_children(
    unlimited: Any, json_error: ErrorExpectation
) -> None:
    """SplitShard: the parent gets an EndingSequenceNumber, the children ParentShardId and
    the two halves of its range; the parent cannot be split again."""
    create(unlimited, "events")
    unlimited.put_record(StreamName="events", Data=b"before", PartitionKey="k")
    unlimited.split_shard(StreamName="events", ShardToSplit=SHARD0, NewStartingHashKey=str(HALF))
    parent, low, high = shards_of(unlimited)
    assert parent["ShardId"] == SHARD0
    assert "EndingSequenceNumber" in parent["SequenceNumberRange"]
    assert int(parent["SequenceNumberRange"]["EndingSequenceNumber"]) >= int(
        parent["SequenceNumberRange"]["StartingSequenceNumber"]
    )
    assert (low["ShardId"], high["ShardId"]) == (SHARD1, SHARD2)
    assert low["ParentShardId"] == high["ParentShardId"] == SHARD0
    assert "AdjacentParentShardId" not in low
    assert _ranges([low, high]) == [(0, HALF - 1), (HALF, MAX_HASH_KEY)]
    assert "EndingSequenceNumber" not in low["SequenceNumberRange"]
    described = unlimited.describe_stream(StreamName="events")["StreamDescription"]
    assert [s["ShardId"] for s in described["Shards"]] == [SHARD0, SHARD1, SHARD2]
    summary = unlimited.describe_stream_summary(StreamName="events")["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 2
    assert summary["StreamStatus"] == "ACTIVE"
    with json_error("ResourceInUseException", SHARD0):
        unlimited.split_shard(StreamName="events", ShardToSplit=SHARD0, NewStartingHashKey="5")
    with json_error("InvalidArgumentException", "NewStartingHashKey"):
        unlimited.split_shard(StreamName="events", ShardToSplit=SHARD1, NewStartingHashKey="0")
    with json_error("ResourceNotFoundException", "shardId-000000000042"):
        unlimited.split_shard(
            StreamName="events", ShardToSplit="shardId-000000000042", NewStartingHashKey="5"
        )


def test_drained_parent_has_no_next_iterator_and_names_its_children(unlimited: Any) -> None:
    """GetRecords at the end of a closed shard: no NextShardIterator, and ChildShards; records
    put after the split land in the children by hash key."""
    create(unlimited, "events")
    before = [f"b{i}".encode() for i in range(5)]
    for data in before:
        unlimited.put_record(StreamName="events", Data=data, PartitionKey=data.decode())
    unlimited.split_shard(StreamName="events", ShardToSplit=SHARD0, NewStartingHashKey=str(HALF))
    children = {s["ShardId"]: s for s in shards_of(unlimited)[1:]}
    for i in range(20):
        key = f"a{i}"
        answer = unlimited.put_record(StreamName="events", Data=key.encode(), PartitionKey=key)
        assert answer["ShardId"] in children
        assert contains(children[answer["ShardId"]], partition_hash(key))
    records, last = drain(unlimited, SHARD0)
    assert [r["Data"] for r in records] == before
    assert "NextShardIterator" not in last
    assert last["MillisBehindLatest"] == 0
    assert sorted(c["ShardId"] for c in last["ChildShards"]) == [SHARD1, SHARD2]
    for child in last["ChildShards"]:
        assert child["ParentShards"] == [SHARD0]
        hash_range = children[child["ShardId"]]["HashKeyRange"]
        assert child["HashKeyRange"] == hash_range
    after = [r["Data"] for shard in children for r in drain(unlimited, shard)[0]]
    assert sorted(after) == sorted(f"a{i}".encode() for i in range(20))


def test_merge_shards_needs_adjacent_shards(unlimited: Any, json_error: ErrorExpectation) -> None:
    """MergeShards: two neighbouring open shards become one with ParentShardId and
    AdjacentParentShardId; non-adjacent shards are refused."""
    create(unlimited, "events", 3)
    with json_error("InvalidArgumentException", SHARD0, SHARD2, "adjacent"):
        unlimited.merge_shards(
            StreamName="events", ShardToMerge=SHARD0, AdjacentShardToMerge=SHARD2
        )
    unlimited.merge_shards(StreamName="events", ShardToMerge=SHARD1, AdjacentShardToMerge=SHARD0)
    shards = {s["ShardId"]: s for s in shards_of(unlimited)}
    merged = shards["shardId-000000000003"]
    assert merged["ParentShardId"] == SHARD1
    assert merged["AdjacentParentShardId"] == SHARD0
    assert _ranges([merged]) == [(0, _even(3)[1][1])]
    for parent in (SHARD0, SHARD1):
        assert "EndingSequenceNumber" in shards[parent]["SequenceNumberRange"]
    assert [s["ShardId"] for s in open_shards(unlimited)] == [SHARD2, "shardId-000000000003"]
    with json_error("ResourceInUseException", SHARD0):
        unlimited.merge_shards(
            StreamName="events", ShardToMerge=SHARD0, AdjacentShardToMerge=SHARD2
        )
    records, last = drain(unlimited, SHARD0)
    assert records == []
    assert [c["ShardId"] for c in last["ChildShards"]] == ["shardId-000000000003"]
    assert last["ChildShards"][0]["ParentShards"] == [SHARD1, SHARD0]


def test_update_shard_count_uniform_scaling(unlimited: Any, json_error: ErrorExpectation) -> None:
    """UpdateShardCount UNIFORM_SCALING 2 -> 4 -> 3 -> 4 -> 2: open shards split the hash space
    evenly each time; records keep flowing and are all read back."""
    create(unlimited, "events", 2)
    sent: list[bytes] = []

    def put(tag: str) -> None:
        batch: list[dict[str, Any]] = [
            {"Data": f"{tag}{i}".encode(), "PartitionKey": f"{tag}{i}"} for i in range(30)
        ]
        answer = unlimited.put_records(StreamName="events", Records=batch)
        assert answer["FailedRecordCount"] == 0
        open_ids = {s["ShardId"] for s in open_shards(unlimited)}
        assert {r["ShardId"] for r in answer["Records"]} <= open_ids
        sent.extend(r["Data"] for r in batch)

    put("a")
    for current, target in ((2, 4), (4, 3), (3, 4), (4, 2)):
        change = unlimited.update_shard_count(
            StreamName="events", TargetShardCount=target, ScalingType="UNIFORM_SCALING"
        )
        assert change["StreamName"] == "events"
        assert (change["CurrentShardCount"], change["TargetShardCount"]) == (current, target)
        assert _ranges(open_shards(unlimited)) == _even(target)
        summary = unlimited.describe_stream_summary(StreamName="events")
        assert summary["StreamDescriptionSummary"]["OpenShardCount"] == target
        put(f"t{target}-")
    everything = [
        r["Data"] for s in shards_of(unlimited) for r in drain(unlimited, s["ShardId"])[0]
    ]
    assert sorted(everything) == sorted(sent)
    for shard in shards_of(unlimited):
        if "EndingSequenceNumber" in shard["SequenceNumberRange"]:
            assert "ParentShardId" in shard or shard["ShardId"] in (SHARD0, SHARD1)


def test_update_shard_count_limits(kinesis: Any, json_error: ErrorExpectation) -> None:
    """UpdateShardCount beyond double or below half of the open shards: LimitExceeded."""
    create(kinesis, "events", 2)
    with json_error("LimitExceededException", "TargetShardCount", "5"):
        kinesis.update_shard_count(
            StreamName="events", TargetShardCount=5, ScalingType="UNIFORM_SCALING"
        )
    kinesis.update_shard_count(
        StreamName="events", TargetShardCount=4, ScalingType="UNIFORM_SCALING"
    )
    with json_error("LimitExceededException", "TargetShardCount", "1"):
        kinesis.update_shard_count(
            StreamName="events", TargetShardCount=1, ScalingType="UNIFORM_SCALING"
        )
    with json_error("ValidationException", "scalingType"):
        kinesis.update_shard_count(StreamName="events", TargetShardCount=4, ScalingType="RANDOM")


def test_on_demand_streams_refuse_resharding(kinesis: Any, json_error: ErrorExpectation) -> None:
    """SplitShard, MergeShards and UpdateShardCount on an ON_DEMAND stream: ValidationException."""
    kinesis.create_stream(StreamName="auto", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    with json_error("ValidationException", "ON_DEMAND"):
        kinesis.split_shard(StreamName="auto", ShardToSplit=SHARD0, NewStartingHashKey="5")
    with json_error("ValidationException", "ON_DEMAND"):
        kinesis.merge_shards(StreamName="auto", ShardToMerge=SHARD0, AdjacentShardToMerge=SHARD1)
    with json_error("ValidationException", "ON_DEMAND"):
        kinesis.update_shard_count(
            StreamName="auto", TargetShardCount=2, ScalingType="UNIFORM_SCALING"
        )
    assert len(open_shards(kinesis, "auto")) == 4


def test_resharding_by_stream_arn(kinesis: Any) -> None:
    """SplitShard, MergeShards and UpdateShardCount accept StreamARN instead of StreamName."""
    arn = create(kinesis, "events")
    kinesis.split_shard(StreamARN=arn, ShardToSplit=SHARD0, NewStartingHashKey=str(HALF))
    kinesis.merge_shards(StreamARN=arn, ShardToMerge=SHARD1, AdjacentShardToMerge=SHARD2)
    change = kinesis.update_shard_count(
        StreamARN=arn, TargetShardCount=2, ScalingType="UNIFORM_SCALING"
    )
    assert change["StreamARN"] == arn
    assert _ranges(open_shards(kinesis)) == _even(2)


def test_closed_parent_expires_with_retention(
    connect: Any, timed_fogbank: Any, clock: Any, json_error: ErrorExpectation
) -> None:
    """ListShards / DescribeStream drop a closed parent once it is older than the retention
    period; its children remain, and AT_TRIM_HORIZON then starts at the children."""
    client = connect(timed_fogbank)
    create(client, "events")
    client.put_record(StreamName="events", Data=b"old", PartitionKey="k")
    client.split_shard(StreamName="events", ShardToSplit=SHARD0, NewStartingHashKey=str(HALF))
    clock.advance(23 * 3600)
    assert [s["ShardId"] for s in shards_of(client)] == [SHARD0, SHARD1, SHARD2]
    clock.advance(2 * 3600)
    assert [s["ShardId"] for s in shards_of(client)] == [SHARD1, SHARD2]
    described = client.describe_stream(StreamName="events")["StreamDescription"]["Shards"]
    assert [s["ShardId"] for s in described] == [SHARD1, SHARD2]
    trim = client.list_shards(StreamName="events", ShardFilter={"Type": "AT_TRIM_HORIZON"})
    assert [s["ShardId"] for s in trim["Shards"]] == [SHARD1, SHARD2]
    with json_error("ResourceNotFoundException", SHARD0):
        client.get_shard_iterator(
            StreamName="events", ShardId=SHARD0, ShardIteratorType="TRIM_HORIZON"
        )
