"""Kinesis Data Streams records through real boto3, over a socket and in-process:
PutRecord and PutRecords (routing, ordering, limits), GetShardIterator (all five types),
GetRecords (paging, MillisBehindLatest, expiry, bad iterators) and per-shard throttling."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fogbank.core.clock import ManualClock

from .conftest import ErrorExpectation
from .kinesis_support import *  # noqa: F403 (the shared fixtures)
from .kinesis_support import (
    MAX_HASH_KEY,
    contains,
    create,
    drain,
    iterator,
    partition_hash,
    shards_of,
)

SHARD0 = "shardId-000000000000"
SHARD1 = "shardId-000000000001"


def _key_for(shard: dict[str, Any], avoid: str = "") -> str:
    """A partition key whose MD5 lands in ``shard``."""
    for i in range(10_000):
        key = f"key-{i}"
        if key != avoid and contains(shard, partition_hash(key)):
            return key
    raise AssertionError("no key found")


# ------------------------------------------------------------ PutRecord


def test_put_record_routes_by_md5_of_the_partition_key(unlimited: Any) -> None:
    """PutRecord: the record lands in the shard whose HashKeyRange holds int(md5(key))."""
    create(unlimited, "events", 4)
    shards = {s["ShardId"]: s for s in shards_of(unlimited)}
    used = set()
    for i in range(40):
        key = f"user-{i}"
        answer = unlimited.put_record(StreamName="events", Data=f"{i}".encode(), PartitionKey=key)
        assert contains(shards[answer["ShardId"]], partition_hash(key)), key
        assert answer["EncryptionType"] == "NONE"
        assert answer["SequenceNumber"].isdigit()
        used.add(answer["ShardId"])
    assert used == set(shards)


def test_put_record_explicit_hash_key_overrides_the_key(
    unlimited: Any, json_error: ErrorExpectation
) -> None:
    """PutRecord ExplicitHashKey: 0 goes to the first shard, 2^128-1 to the last."""
    create(unlimited, "events", 3)
    low = unlimited.put_record(
        StreamName="events", Data=b"a", PartitionKey="k", ExplicitHashKey="0"
    )
    high = unlimited.put_record(
        StreamName="events", Data=b"b", PartitionKey="k", ExplicitHashKey=str(MAX_HASH_KEY)
    )
    assert low["ShardId"] == SHARD0
    assert high["ShardId"] == "shardId-000000000002"
    with json_error("InvalidArgumentException", "ExplicitHashKey"):
        unlimited.put_record(
            StreamName="events", Data=b"c", PartitionKey="k", ExplicitHashKey=str(MAX_HASH_KEY + 1)
        )
    with json_error("ValidationException", "explicitHashKey"):
        unlimited.put_record(StreamName="events", Data=b"c", PartitionKey="k", ExplicitHashKey="-1")


def test_sequence_number_for_ordering_gives_larger_numbers(timed: Any) -> None:
    """PutRecord SequenceNumberForOrdering: the next number is strictly larger, even on a
    shard of lower index written in the same millisecond."""
    create(timed, "events", 2)
    shards = shards_of(timed)
    on_second = _key_for(shards[1])
    on_first = _key_for(shards[0])
    first = timed.put_record(StreamName="events", Data=b"1", PartitionKey=on_second)
    assert first["ShardId"] == SHARD1
    plain = timed.put_record(StreamName="events", Data=b"2", PartitionKey=on_first)
    # Same millisecond on a lower shard: nothing promises order without the field.
    assert plain["ShardId"] == SHARD0
    ordered = timed.put_record(
        StreamName="events",
        Data=b"3",
        PartitionKey=on_first,
        SequenceNumberForOrdering=first["SequenceNumber"],
    )
    assert int(ordered["SequenceNumber"]) > int(first["SequenceNumber"])
    again = timed.put_record(
        StreamName="events",
        Data=b"4",
        PartitionKey=on_second,
        SequenceNumberForOrdering=ordered["SequenceNumber"],
    )
    assert int(again["SequenceNumber"]) > int(ordered["SequenceNumber"])


def test_put_record_limits(kinesis: Any, json_error: ErrorExpectation) -> None:
    """PutRecord: record over 1 MiB (data + key) refused; partition key of 257 chars refused;
    a stream that is not there is ResourceNotFound."""
    create(kinesis, "events")
    with json_error("ValidationException", "data"):
        kinesis.put_record(StreamName="events", Data=b"x" * (1024 * 1024), PartitionKey="k")
    with json_error("ValidationException", "partitionKey", "256"):
        kinesis.put_record(StreamName="events", Data=b"x", PartitionKey="k" * 257)
    assert kinesis.put_record(StreamName="events", Data=b"x", PartitionKey="k" * 256)["ShardId"]
    with json_error("ResourceNotFoundException", "ghost"):
        kinesis.put_record(StreamName="ghost", Data=b"x", PartitionKey="k")
    records, _ = drain(kinesis, SHARD0)
    assert [r["PartitionKey"] for r in records] == ["k" * 256]


def test_put_record_respects_a_raised_max_record_size(
    timed: Any, clock: ManualClock, json_error: ErrorExpectation
) -> None:
    """CreateStream MaxRecordSizeInKiB 2048 lets a 1.5 MiB record in, as a burst past the
    shard's 1 MiB/s that the shard then repays before it takes more."""
    create(timed, "events", MaxRecordSizeInKiB=2048)
    big = b"y" * (1536 * 1024)
    timed.put_record(StreamName="events", Data=big, PartitionKey="k")
    with json_error("ValidationException", "data", "2097152"):
        timed.put_record(StreamName="events", Data=b"y" * (2048 * 1024), PartitionKey="k")
    clock.advance(0.25)
    with json_error("ProvisionedThroughputExceededException", SHARD0):
        timed.put_record(StreamName="events", Data=b"small", PartitionKey="k")
    clock.advance(1)
    timed.put_record(StreamName="events", Data=b"small", PartitionKey="k")
    position = iterator(timed, SHARD0)
    assert [r["Data"] for r in timed.get_records(ShardIterator=position)["Records"]] == [
        big,
        b"small",
    ]


# ------------------------------------------------------------ PutRecords


def test_put_records_results_follow_the_request(unlimited: Any) -> None:
    """PutRecords: one result per record in request order, numbers rising per shard, and every
    record read back from its shard."""
    create(unlimited, "events", 3)
    shards = {s["ShardId"]: s for s in shards_of(unlimited)}
    batch: list[dict[str, Any]] = [
        {"Data": f"r{i}".encode(), "PartitionKey": f"p{i % 7}"} for i in range(60)
    ]
    answer = unlimited.put_records(StreamName="events", Records=batch)
    assert answer["FailedRecordCount"] == 0
    assert answer["EncryptionType"] == "NONE"
    assert len(answer["Records"]) == 60
    last: dict[str, int] = {}
    expected: dict[str, list[bytes]] = {shard: [] for shard in shards}
    for request, result in zip(batch, answer["Records"], strict=True):
        assert contains(shards[result["ShardId"]], partition_hash(request["PartitionKey"]))
        number = int(result["SequenceNumber"])
        assert number > last.get(result["ShardId"], -1)
        last[result["ShardId"]] = number
        expected[result["ShardId"]].append(request["Data"])
    for shard, data in expected.items():
        records, _ = drain(unlimited, shard)
        assert [r["Data"] for r in records] == data


def test_put_records_batch_limits(kinesis: Any, json_error: ErrorExpectation) -> None:
    """PutRecords: 500 records pass, 501 fail the model, more than 10 MiB in all refused."""
    create(kinesis, "events", 2)
    five_hundred = [{"Data": b"x", "PartitionKey": f"k{i}"} for i in range(500)]
    assert kinesis.put_records(StreamName="events", Records=five_hundred)["FailedRecordCount"] == 0
    with json_error("ValidationException", "records", "500"):
        kinesis.put_records(
            StreamName="events", Records=[*five_hundred, {"Data": b"x", "PartitionKey": "k"}]
        )
    heavy = [{"Data": b"z" * (1000 * 1024), "PartitionKey": f"k{i}"} for i in range(11)]
    with json_error("InvalidArgumentException", "Records size", "10 MB"):
        kinesis.put_records(StreamName="events", Records=heavy)
    with json_error("ValidationException", "records.1", "partitionKey"):
        kinesis.put_records(
            StreamName="events", Records=[{"Data": b"x", "PartitionKey": "k" * 257}]
        )


# ------------------------------------------------------------ GetShardIterator


def test_get_shard_iterator_all_five_types(unlimited: Any, json_error: ErrorExpectation) -> None:
    """GetShardIterator TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER,
    AT_TIMESTAMP."""
    client = unlimited
    create(client, "events")
    numbers = [
        client.put_record(StreamName="events", Data=f"{i}".encode(), PartitionKey="k")[
            "SequenceNumber"
        ]
        for i in range(4)
    ]

    def first(position: str) -> list[bytes]:
        return [r["Data"] for r in client.get_records(ShardIterator=position)["Records"]]

    assert first(iterator(client, SHARD0)) == [b"0", b"1", b"2", b"3"]
    at = iterator(client, SHARD0, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=numbers[2])
    assert first(at) == [b"2", b"3"]
    after = iterator(client, SHARD0, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=numbers[2])
    assert first(after) == [b"3"]
    latest = iterator(client, SHARD0, "LATEST")
    assert first(latest) == []
    client.put_record(StreamName="events", Data=b"4", PartitionKey="k")
    assert first(latest) == [b"4"]
    with json_error("InvalidArgumentException", "StartingSequenceNumber"):
        iterator(client, SHARD0, "AT_SEQUENCE_NUMBER")
    with json_error("InvalidArgumentException", "StartingSequenceNumber"):
        iterator(client, SHARD0, "AT_SEQUENCE_NUMBER", StartingSequenceNumber="12345")
    with json_error("InvalidArgumentException", "Timestamp"):
        iterator(client, SHARD0, "AT_TIMESTAMP")
    with json_error("ResourceNotFoundException", "shardId-000000000009"):
        iterator(client, "shardId-000000000009")
    with json_error("ValidationException", "shardIteratorType"):
        client.get_shard_iterator(StreamName="events", ShardId=SHARD0, ShardIteratorType="SOON")


def test_get_shard_iterator_at_timestamp(timed: Any, clock: ManualClock) -> None:
    """GetShardIterator AT_TIMESTAMP: the first record at or after the time; a time before
    the trim horizon reads from the start."""
    create(timed, "events")
    timed.put_record(StreamName="events", Data=b"early", PartitionKey="k")
    clock.advance(10)
    middle = clock.now()
    clock.advance(10)
    timed.put_record(StreamName="events", Data=b"late", PartitionKey="k")

    def read(when: Any) -> list[bytes]:
        position = iterator(timed, SHARD0, "AT_TIMESTAMP", Timestamp=when)
        return [r["Data"] for r in timed.get_records(ShardIterator=position)["Records"]]

    assert read(middle) == [b"late"]
    assert read(middle - timedelta(days=30)) == [b"early", b"late"]
    assert read(clock.now() + timedelta(seconds=1)) == []


# ------------------------------------------------------------ GetRecords


def test_get_records_chains_every_record_once_in_order(unlimited: Any) -> None:
    """GetRecords Limit and NextShardIterator: every record exactly once, in sequence order."""
    create(unlimited, "events")
    sent = [f"{i}".encode() for i in range(137)]
    for start in range(0, len(sent), 50):
        unlimited.put_records(
            StreamName="events",
            Records=[{"Data": d, "PartitionKey": "k"} for d in sent[start : start + 50]],
        )
    position = iterator(unlimited, SHARD0)
    got: list[dict[str, Any]] = []
    for _ in range(100):
        answer = unlimited.get_records(ShardIterator=position, Limit=10)
        assert len(answer["Records"]) <= 10
        if not answer["Records"]:
            break
        got += answer["Records"]
        position = answer["NextShardIterator"]
    assert [r["Data"] for r in got] == sent
    numbers = [int(r["SequenceNumber"]) for r in got]
    assert numbers == sorted(set(numbers))
    assert all(r["PartitionKey"] == "k" for r in got)
    assert "NextShardIterator" in answer  # an open shard always gives one


def test_get_records_millis_behind_latest(timed: Any, clock: ManualClock) -> None:
    """GetRecords MillisBehindLatest: how far the last record returned is behind the tip;
    zero once caught up."""
    create(timed, "events")
    for i in range(3):
        timed.put_record(StreamName="events", Data=f"{i}".encode(), PartitionKey="k")
    clock.advance(10)
    first = timed.get_records(ShardIterator=iterator(timed, SHARD0), Limit=1)
    assert first["MillisBehindLatest"] == 10_000
    rest = timed.get_records(ShardIterator=first["NextShardIterator"])
    assert [r["Data"] for r in rest["Records"]] == [b"1", b"2"]
    assert rest["MillisBehindLatest"] == 0
    arrival = rest["Records"][0]["ApproximateArrivalTimestamp"]
    assert arrival == clock.now() - timedelta(seconds=10)


def test_expired_iterator(timed: Any, clock: ManualClock, json_error: ErrorExpectation) -> None:
    """GetRecords with an iterator older than 5 minutes: ExpiredIteratorException."""
    create(timed, "events")
    position = iterator(timed, SHARD0)
    clock.advance(299)
    fresh = timed.get_records(ShardIterator=position)["NextShardIterator"]
    clock.advance(301)
    with json_error("ExpiredIteratorException", "expired", "GetShardIterator"):
        timed.get_records(ShardIterator=position)
    with json_error("ExpiredIteratorException"):
        timed.get_records(ShardIterator=fresh)


def test_bad_iterators_and_limits(unlimited: Any, json_error: ErrorExpectation) -> None:
    """GetRecords: a garbage or edited iterator is InvalidArgument; Limit 10001 refused; an
    iterator of a deleted and re-created stream is ResourceNotFound."""
    create(unlimited, "events")
    position = iterator(unlimited, SHARD0)
    with json_error("InvalidArgumentException", "ShardIterator"):
        unlimited.get_records(ShardIterator="not-an-iterator")
    edited = position[:-4] + ("AAAA" if not position.endswith("AAAA") else "BBBB")
    with json_error("InvalidArgumentException", "ShardIterator"):
        unlimited.get_records(ShardIterator=edited)
    with json_error("ValidationException", "limit", "10000"):
        unlimited.get_records(ShardIterator=position, Limit=10001)
    assert unlimited.get_records(ShardIterator=position, Limit=10000)["Records"] == []
    unlimited.delete_stream(StreamName="events")
    with json_error("ResourceNotFoundException", "events"):
        unlimited.get_records(ShardIterator=position)
    create(unlimited, "events")
    with json_error("ResourceNotFoundException", "events"):
        unlimited.get_records(ShardIterator=position)


# ------------------------------------------------------------ throttling (limits on)


def test_put_records_over_1000_records_per_second_is_throttled_per_record(
    timed: Any, clock: ManualClock
) -> None:
    """PutRecords past 1,000 records/s on one shard: the extra entries fail with
    ProvisionedThroughputExceededException, in place; a second later they pass."""
    create(timed, "events", 2)
    first = {"Data": b"x", "PartitionKey": "k", "ExplicitHashKey": "0"}
    other = {"Data": b"o", "PartitionKey": "k", "ExplicitHashKey": str(MAX_HASH_KEY)}
    assert timed.put_records(StreamName="events", Records=[first] * 500)["FailedRecordCount"] == 0
    assert timed.put_records(StreamName="events", Records=[first] * 400)["FailedRecordCount"] == 0
    answer = timed.put_records(StreamName="events", Records=[*[first] * 150, other, *[first] * 50])
    assert answer["FailedRecordCount"] == 100
    results = answer["Records"]
    assert len(results) == 201
    assert all(r["ShardId"] == SHARD0 and "ErrorCode" not in r for r in results[:100])
    assert results[150]["ShardId"] == SHARD1 and "SequenceNumber" in results[150]
    for failed in results[100:150] + results[151:]:
        assert failed["ErrorCode"] == "ProvisionedThroughputExceededException"
        assert SHARD0 in failed["ErrorMessage"] and "events" in failed["ErrorMessage"]
        assert "SequenceNumber" not in failed and "ShardId" not in failed
    clock.advance(1)
    assert timed.put_records(StreamName="events", Records=[first] * 100)["FailedRecordCount"] == 0


def test_put_record_over_the_shard_rate_raises(
    timed: Any, clock: ManualClock, json_error: ErrorExpectation
) -> None:
    """PutRecord past 1 MiB/s on one shard: ProvisionedThroughputExceededException."""
    create(timed, "events")
    timed.put_record(StreamName="events", Data=b"x" * (1000 * 1024), PartitionKey="k")
    with json_error("ProvisionedThroughputExceededException", SHARD0):
        timed.put_record(StreamName="events", Data=b"x" * (100 * 1024), PartitionKey="k")
    clock.advance(1)
    timed.put_record(StreamName="events", Data=b"x" * (100 * 1024), PartitionKey="k")


def test_sixth_get_records_in_a_second_is_throttled(
    timed: Any, clock: ManualClock, json_error: ErrorExpectation
) -> None:
    """GetRecords: 5 calls per second per shard; the 6th is refused; next second it passes."""
    create(timed, "events", 2)
    position = iterator(timed, SHARD0)
    for _ in range(5):
        timed.get_records(ShardIterator=position)
    with json_error("ProvisionedThroughputExceededException", SHARD0, "events"):
        timed.get_records(ShardIterator=position)
    timed.get_records(ShardIterator=iterator(timed, SHARD1))  # another shard has its own budget
    clock.advance(1)
    assert timed.get_records(ShardIterator=position)["Records"] == []


def test_limits_off_do_not_throttle(unlimited: Any) -> None:
    """With limits off, 3,000 records to one shard in one second all land."""
    create(unlimited, "events")
    batch = [{"Data": b"x", "PartitionKey": "k"} for _ in range(500)]
    failed = sum(
        unlimited.put_records(StreamName="events", Records=batch)["FailedRecordCount"]
        for _ in range(6)
    )
    assert failed == 0
    for _ in range(8):
        unlimited.get_records(ShardIterator=iterator(unlimited, SHARD0), Limit=1)
