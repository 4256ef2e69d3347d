"""Enhanced fan-out: SubscribeToShard's push delivery to a registered consumer.

A subscription is an iterator of :class:`SubscribeToShardEvent`: the first event at
once, then one as soon as records arrive (the log wakes waiting subscribers when a
group commit lands; writers in other processes are seen within a poll interval),
and an empty heartbeat when the shard is quiet. Each consumer has its own 2 MiB/s
per shard, not the shard's shared read limit. A subscription ends after five
minutes, as on AWS, or once a closed shard is drained: its last event lists the
child shards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fogbank.streams import keys
from fogbank.streams.iterators import ShardIterator
from fogbank.streams.model import ChildShard, GetRecordsResult, Record

SUBSCRIPTION_SECONDS = 300.0
BYTES_PER_SECOND = 2 * 1024 * 1024
HEARTBEAT_SECONDS = 5.0
POLL_SECONDS = 0.25
EVENT_RECORDS = 10_000


@dataclass(frozen=True)
class SubscribeToShardEvent:
    records: tuple[Record, ...]
    continuation_sequence_number: str
    millis_behind_latest: int
    child_shards: tuple[ChildShard, ...] | None = None


class Subscription:
    """One consumer's push feed of one shard; iterate it, close it to end early.

    ``read`` reads a page from a position without touching the shard's shared read
    limit; ``generation`` and ``wait`` tell when the log has committed more records.
    """

    def __init__(
        self,
        position: ShardIterator,
        *,
        read: Callable[[ShardIterator], GetRecordsResult],
        decode: Callable[[str], ShardIterator],
        generation: Callable[[], int],
        wait: Callable[[int, float], None],
        now_ms: Callable[[], int],
        limited: bool,
        lifetime: float = SUBSCRIPTION_SECONDS,
    ) -> None:
        self._position = position
        self._read = read
        self._decode = decode
        self._generation = generation
        self._wait = wait
        self._now_ms = now_ms
        self._limited = limited
        self._lifetime = lifetime
        self._closed = False

    def close(self) -> None:
        self._closed = True

    def __iter__(self) -> Iterator[SubscribeToShardEvent | None]:
        """Events, and ``None`` after each quiet poll: the caller's chance to give up."""
        started = time.monotonic()
        sent = 0
        last_event = float("-inf")
        position = self._position
        while not self._closed and time.monotonic() - started < self._lifetime:
            seen = self._generation()
            page = self._read(position)
            following = position
            if page.next_shard_iterator is not None:
                following = self._decode(page.next_shard_iterator)
            if page.records:
                continuation = page.records[-1].sequence_number
            else:
                # AFTER_SEQUENCE_NUMBER of this number resumes exactly here.
                continuation = keys.encode_sequence(
                    self._now_ms(), position.shard, max(following.next_counter - 1, 0)
                )
            quiet = time.monotonic() - last_event >= HEARTBEAT_SECONDS
            if page.records or page.child_shards is not None or quiet:
                yield SubscribeToShardEvent(
                    page.records, continuation, page.millis_behind_latest, page.child_shards
                )
                last_event = time.monotonic()
                sent += sum(len(r.data) + len(r.partition_key.encode()) for r in page.records)
            if page.child_shards is not None:
                return  # the closed shard is drained
            position = following
            if self._limited:
                # Hold the consumer to 2 MiB/s over the subscription so far.
                ahead = sent / BYTES_PER_SECOND - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
            if not page.records:
                self._wait(seen, POLL_SECONDS)
                yield None
