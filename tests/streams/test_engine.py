"""The streams engine through Python: keys, group commit, resharding lineage, retention."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fogbank import Fogbank, FogbankConfig
from fogbank.core.clock import ManualClock
from fogbank.core.errors import (
    ExpiredIteratorException,
    InvalidArgumentException,
    ResourceNotFoundException,
)
from fogbank.streams import keys
from fogbank.streams.engine import PutRequest, Streams
from fogbank.streams.iterators import ShardIterator


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fogbank(tmp_path: Path, clock: ManualClock) -> Iterator[Fogbank]:
    config = FogbankConfig.load(home=tmp_path / "home", environ={}, limits=False)
    with Fogbank(config, clock=clock) as fb:
        yield fb


@pytest.fixture
def streams(fogbank: Fogbank) -> Streams:
    return fogbank.streams


@given(
    millis=st.integers(0, 2**44),
    shard=st.integers(0, 2**23),
    counter=st.integers(0, 2**40),
)
def test_sequence_numbers_round_trip_and_order(millis: int, shard: int, counter: int) -> None:
    value = keys.encode_sequence(millis, shard, counter)
    assert len(value) == 56 and value.isdigit()
    assert keys.decode_sequence(value) == keys.SequenceParts(millis, shard, counter)
    assert int(keys.encode_sequence(millis, shard, counter + 1)) > int(value)
    assert int(keys.encode_sequence(millis + 1, 0, 0)) > int(value)


@given(st.integers(1, 1000))
def test_even_ranges_cover_the_hash_key_space(count: int) -> None:
    ranges = keys.even_ranges(count)
    assert ranges[0][0] == 0 and ranges[-1][1] == keys.MAX_HASH_KEY
    for (_, end), (start, _) in itertools.pairwise(ranges):
        assert start == end + 1


def test_iterators_refuse_tampering(tmp_path: Path) -> None:
    key = b"k" * 32
    encoded = ShardIterator("s", 1, 2, 3, 4).encode(key)
    assert ShardIterator.decode(encoded, key) == ShardIterator("s", 1, 2, 3, 4)
    with pytest.raises(InvalidArgumentException):
        ShardIterator.decode(encoded, b"j" * 32)
    with pytest.raises(InvalidArgumentException):
        ShardIterator.decode(encoded[:-4] + "AAAA", key)


def test_group_commit_gives_unique_increasing_sequence_numbers(streams: Streams) -> None:
    """Many threads putting at once: every record gets its own number, and numbers rise
    within each shard in the order GetRecords returns them."""
    streams.create_stream("s", 2)
    results: list[tuple[str, str, bytes]] = []
    lock = threading.Lock()

    def put(worker: int) -> None:
        for batch in range(20):
            requests = [PutRequest(f"{worker}-{batch}-{i}".encode(), f"k{i}") for i in range(25)]
            reply = streams.put_records(requests, name="s")
            with lock:
                for request, entry in zip(requests, reply.records, strict=True):
                    assert entry.sequence_number and entry.shard_id
                    results.append((entry.shard_id, entry.sequence_number, request.data))

    threads = [threading.Thread(target=put, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({seq for _, seq, _ in results}) == len(results) == 8 * 20 * 25
    for shard in ("shardId-000000000000", "shardId-000000000001"):
        iterator = streams.get_shard_iterator(shard, "TRIM_HORIZON", name="s")
        page = streams.get_records(iterator)
        numbers = [int(r.sequence_number) for r in page.records]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
        expected = {seq: data for sid, seq, data in results if sid == shard}
        assert {r.sequence_number: r.data for r in page.records} == expected


@settings(max_examples=25, deadline=None)
@given(start=st.integers(1, 12), steps=st.lists(st.floats(0.5, 2.0), min_size=1, max_size=3))
def test_update_shard_count_keeps_a_sound_lineage(
    tmp_path_factory: pytest.TempPathFactory, start: int, steps: list[float]
) -> None:
    """UpdateShardCount: the open shards always tile the key space, evenly after the
    change, and every shard has at most two parents, both closed and adjacent."""
    home = tmp_path_factory.mktemp("home")
    with Fogbank(FogbankConfig.load(home=home, environ={}, limits=False)) as fb:
        fb.streams.create_stream("s", start)
        count = start
        for step in steps:
            target = max(1, min(round(count * step), count * 2))
            if target * 2 < count:
                target = (count + 1) // 2
            fb.streams.put_records([PutRequest(b"x", str(i)) for i in range(20)], name="s")
            fb.streams.update_shard_count(target, name="s")
            count = target
            shards = fb.streams.list_shards("s").shards
            by_id = {s.shard_id: s for s in shards}
            open_shards = sorted(
                (s for s in shards if s.ending_sequence_number is None),
                key=lambda s: s.hash_key_range.starting,
            )
            assert [(s.hash_key_range.starting, s.hash_key_range.ending) for s in open_shards] == (
                keys.even_ranges(target)
            )
            for shard in shards:
                parents = [
                    by_id[p]
                    for p in (shard.parent_shard_id, shard.adjacent_parent_shard_id)
                    if p is not None
                ]
                for parent in parents:
                    assert parent.ending_sequence_number is not None
                if len(parents) == 2:
                    low, high = sorted(parents, key=lambda s: s.hash_key_range.starting)
                    assert low.hash_key_range.ending + 1 == high.hash_key_range.starting


def test_retention_makes_old_records_unreadable_and_reclaims_them(
    streams: Streams, clock: ManualClock
) -> None:
    """DecreaseStreamRetentionPeriod / retention: expired records are gone."""
    streams.create_stream("s", 1)
    streams.put_record(b"old", "k", name="s")
    clock.advance(23 * 3600)
    streams.put_record(b"new", "k", name="s")
    clock.advance(2 * 3600)
    iterator = streams.get_shard_iterator("shardId-000000000000", "TRIM_HORIZON", name="s")
    assert [r.data for r in streams.get_records(iterator).records] == [b"new"]
    streams.change_retention(48, increase=True, name="s")
    streams.change_retention(24, increase=False, name="s")
    log = streams._log("s")
    assert len(log.read(0, 0, limit=10, max_bytes=1 << 20, horizon_ms=0)) == 1


def test_iterators_expire_after_five_minutes(streams: Streams, clock: ManualClock) -> None:
    streams.create_stream("s", 1)
    iterator = streams.get_shard_iterator("shardId-000000000000", "LATEST", name="s")
    clock.advance(301)
    with pytest.raises(ExpiredIteratorException):
        streams.get_records(iterator)


def test_status_delay_shows_creating_then_active(tmp_path: Path, clock: ManualClock) -> None:
    """CreateStream: CREATING, then ACTIVE once the configured delay has passed; puts to
    a CREATING stream are refused as AWS refuses them."""
    with Fogbank(FogbankConfig.load(home=tmp_path, environ={}), clock=clock) as fb:
        slow = Streams(
            tmp_path / "slow",
            fb.store,
            clock=clock,
            account_id="000000000000",
            region="us-east-1",
            status_delay=2.0,
        )
        slow.create_stream("s", 1)
        assert slow.describe_stream_summary("s").summary.status == "CREATING"
        with pytest.raises(ResourceNotFoundException):
            slow.put_record(b"x", "k", name="s")
        clock.advance(2)
        assert slow.describe_stream_summary("s").summary.status == "ACTIVE"
        slow.put_record(b"x", "k", name="s")
        slow.close()


def test_a_stream_survives_reopening(tmp_path: Path) -> None:
    config = FogbankConfig.load(home=tmp_path, environ={})
    with Fogbank(config) as fb:
        fb.streams.create_stream("s", 3)
        put = fb.streams.put_record(b"kept", "k", name="s")
    with Fogbank(config) as fb:
        iterator = fb.streams.get_shard_iterator(
            put.shard_id,
            "AT_SEQUENCE_NUMBER",
            name="s",
            starting_sequence_number=put.sequence_number,
        )
        assert [r.data for r in fb.streams.get_records(iterator).records] == [b"kept"]


def test_get_shard_iterator_takes_five_calls_a_second_per_shard(
    tmp_path: Path, clock: ManualClock
) -> None:
    """GetShardIterator: ProvisionedThroughputExceededException past 5 calls/s per shard."""
    from fogbank.core.errors import ProvisionedThroughputExceededException

    with Fogbank(FogbankConfig.load(home=tmp_path, environ={}), clock=clock) as fb:
        fb.streams.create_stream("s", 2)
        for _ in range(5):
            fb.streams.get_shard_iterator("shardId-000000000000", "LATEST", name="s")
        fb.streams.get_shard_iterator("shardId-000000000001", "LATEST", name="s")
        with pytest.raises(ProvisionedThroughputExceededException, match="GetShardIterator"):
            fb.streams.get_shard_iterator("shardId-000000000000", "LATEST", name="s")
        clock.advance(1)
        fb.streams.get_shard_iterator("shardId-000000000000", "LATEST", name="s")
