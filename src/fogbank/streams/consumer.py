"""The Kinesis Client Library's counterpart: many workers reading one stream together.

A :class:`Consumer` is one worker of an application. Workers share the stream's shards
through leases in the control plane (:mod:`fogbank.streams.leases`): each worker takes
at most its fair share (the unfinished shards over the live workers, rounded up),
renews what it holds, takes leases whose owner stopped renewing them (a dead worker's),
and steals one at a time from a worker holding more than its share. Progress is a
checkpoint in the lease, so a worker that takes a shard over starts after the last
checkpoint: delivery is at least once, and records are delivered twice only after it.

After resharding a child shard is read only once every parent's lease is checkpointed
at ``SHARD_END``, so a key's records keep their order across splits and merges;
children found through ``ChildShards`` or ``ListShards`` get leases read from their
start. Throttled reads back off per shard.

This module owns the reading loop and the two ways in: ``for batch in consumer``
(checkpointing each batch when the next is asked for, unless ``auto_checkpoint`` is
off) and ``consumer.run(callback)`` (the callback checkpoints when it wants).
``poll()`` is one turn of the loop, for callers that drive time themselves.

Leases are renewed between batches, on the loop's thread: handling a batch must take
less than ``lease_duration``, or the worker's shards may be taken over meanwhile (its
checkpoint then raises :class:`LeaseLost` and the new holder delivers the records
after the last checkpoint again).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING

from fogbank.core.errors import (
    ExpiredIteratorException,
    InvalidArgumentException,
    ProvisionedThroughputExceededException,
    ResourceNotFoundException,
)
from fogbank.core.ids import new_hex_id
from fogbank.streams.leases import (
    AT_TIMESTAMP,
    INITIAL_POSITIONS,
    LATEST,
    SHARD_END,
    TRIM_HORIZON,
    Lease,
    LeaseLost,
    LeaseTable,
    plan_takes,
)
from fogbank.streams.model import Record, Shard

if TYPE_CHECKING:
    from fogbank.app import Fogbank

__all__ = ["Batch", "Checkpointer", "Consumer", "LeaseLost"]

_FIRST_BACKOFF = 0.2
# The longest the blocking APIs sleep between turns: a ManualClock moves only when a
# test moves it, so the loop must look again rather than sleep until a computed time.
_MAX_WAIT = 0.25
_MIN_WAIT = 0.005


class Checkpointer:
    """Records how far one batch's shard has been processed."""

    def __init__(
        self, consumer: Consumer, state: _ShardState, last_sequence: str | None, ending: bool
    ) -> None:
        self._consumer = consumer
        self._state = state
        self._last = last_sequence
        self._ending = ending

    def checkpoint(self, sequence_number: str | None = None) -> None:
        """Checkpoint at ``sequence_number``, by default the batch's last record.

        On a shard's last batch the default marks the shard finished (``SHARD_END``),
        which lets its children be read. Raises :class:`LeaseLost` where another worker
        holds the shard now.
        """
        if sequence_number is None or (self._ending and sequence_number == self._last):
            value = SHARD_END if self._ending else self._last
        else:
            value = sequence_number
        if value is not None:
            self._consumer._checkpoint(self._state, value)


@dataclass(frozen=True)
class Batch:
    """What one GetRecords call on one shard gave: records in sequence order."""

    shard_id: str
    records: tuple[Record, ...]
    millis_behind_latest: int
    checkpointer: Checkpointer = field(repr=False, compare=False)
    # The shard is closed and read to its end: checkpointing this batch finishes it.
    ending: bool = False

    def checkpoint(self, sequence_number: str | None = None) -> None:
        self.checkpointer.checkpoint(sequence_number)


@dataclass
class _ShardState:
    """A held shard: the lease as last written, and where reading has got to."""

    lease: Lease
    iterator: str | None = None
    last_delivered: str | None = None
    ended: bool = False
    blocked: bool = True
    next_read_at: float = 0.0
    backoff: float = 0.0


class Consumer:
    """One worker of ``application_name`` reading ``stream_name``."""

    def __init__(
        self,
        fogbank: Fogbank,
        stream_name: str,
        application_name: str,
        worker_id: str | None = None,
        *,
        initial_position: str = TRIM_HORIZON,
        timestamp: datetime | None = None,
        lease_duration: float = 10.0,
        max_records: int = 10_000,
        idle_time_between_reads: float = 1.0,
        shard_sync_interval: float = 60.0,
        auto_checkpoint: bool = True,
        max_backoff: float = 5.0,
    ) -> None:
        if initial_position not in INITIAL_POSITIONS:
            raise InvalidArgumentException(
                f"initial_position {initial_position!r} is not one of "
                f"{', '.join(INITIAL_POSITIONS)}."
            )
        if (initial_position == AT_TIMESTAMP) != (timestamp is not None):
            raise InvalidArgumentException(
                "timestamp goes with initial_position AT_TIMESTAMP, and only with it: "
                "give both or neither."
            )
        if lease_duration <= 0:
            raise InvalidArgumentException(
                f"lease_duration must be positive seconds; got {lease_duration}."
            )
        self.streams = fogbank.streams
        self.clock = fogbank.clock
        self.stream_name = stream_name
        self.application_name = application_name
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{new_hex_id(4)}"
        self.initial_position = initial_position
        self.timestamp = timestamp
        self.lease_duration = lease_duration
        self.max_records = max_records
        self.idle_time_between_reads = idle_time_between_reads
        self.shard_sync_interval = shard_sync_interval
        self.auto_checkpoint = auto_checkpoint
        self.max_backoff = max_backoff
        self.leases = LeaseTable(
            fogbank.store, self.streams.arn(stream_name), stream_name, application_name
        )
        self._duration_ms = int(lease_duration * 1000)
        self._shards: dict[str, _ShardState] = {}
        # When each chore is next due, on the clock's monotonic seconds; None: now.
        self._renew_at: float | None = None
        self._sync_at: float | None = None
        self._take_at: float | None = None
        self._stop = threading.Event()
        self._running = False

    # ------------------------------------------------------------ the ways in

    @property
    def held_shards(self) -> list[str]:
        """The shards this worker holds leases on now."""
        return sorted(self._shards)

    def __iter__(self) -> Iterator[Batch]:
        """Batches as they come, until :meth:`stop`; each is checkpointed when the next
        is asked for (with ``auto_checkpoint``), so a crash redelivers only the batch
        in hand and those after it."""
        self._stop.clear()
        self._running = True
        try:
            while not self._stop.is_set():
                batches = self.poll()
                for batch in batches:
                    yield batch
                    if self.auto_checkpoint:
                        # the lease moved on: its new holder reads again from the checkpoint
                        with contextlib.suppress(LeaseLost):
                            batch.checkpoint()
                    if self._stop.is_set():
                        break
                if not batches:
                    self._stop.wait(self._wait_time())
        finally:
            self._running = False
            self.close()

    def run(self, callback: Callable[[Batch, Checkpointer], None]) -> None:
        """Call ``callback(batch, checkpointer)`` for every batch until :meth:`stop`.

        Checkpointing is the callback's: nothing is checkpointed for it. A
        :class:`LeaseLost` from its checkpoint is expected (the shard moved on) and
        swallowed; any other error stops the worker, releases its leases and is raised.
        """
        self._stop.clear()
        self._running = True
        try:
            while not self._stop.is_set():
                batches = self.poll()
                for batch in batches:
                    # LeaseLost from its checkpoint: the shard's new holder redelivers
                    with contextlib.suppress(LeaseLost):
                        callback(batch, batch.checkpointer)
                    if self._stop.is_set():
                        break
                if not batches:
                    self._stop.wait(self._wait_time())
        finally:
            self._running = False
            self.close()

    def stop(self) -> None:
        """End :meth:`run` or the iteration after the batch in hand (from any thread);
        the worker then releases its leases so that others take them at once."""
        self._stop.set()
        if not self._running:
            self.close()

    def close(self) -> None:
        """Release every held lease (checkpoints stay) and forget this worker."""
        for state in list(self._shards.values()):
            self._cas(state, owner=None)
        self._shards.clear()
        self.leases.forget_worker(self.worker_id)
        self._renew_at = self._sync_at = self._take_at = None

    def __enter__(self) -> Consumer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def poll(self) -> list[Batch]:
        """One turn: renew, find new shards, take leases, and read each held shard that
        is due; never blocks. Each batch's checkpoint is the caller's."""
        now = self.clock.monotonic()
        if _due(self._renew_at, now):
            self._renew()
            self._renew_at = now + self.lease_duration / 3
        if _due(self._sync_at, now):
            self._sync_shards()
            self._sync_at = now + self.shard_sync_interval
            self._take_at = None
        if _due(self._take_at, now):
            self._take()
            self._take_at = now + self.lease_duration / 2
        batches = []
        for shard_id in sorted(self._shards):
            state = self._shards.get(shard_id)
            if state is None or state.next_read_at > now:
                continue
            batch = self._read(state, now)
            if batch is not None:
                batches.append(batch)
        return batches

    # ------------------------------------------------------------ leases

    def _renew(self) -> None:
        now_ms = self._now_ms()
        self.leases.heartbeat(self.worker_id, now_ms, self._duration_ms)
        for state in list(self._shards.values()):
            self._cas(state, renewed_at_ms=now_ms, duration_ms=self._duration_ms)

    def _sync_shards(self) -> None:
        """Give a lease to every shard that should have one and lacks it."""
        shards = self._list_shards()
        leased = {lease.shard_id for lease in self.leases.leases()}
        # Shard ids grow with each reshard, so parents come before their children.
        for shard in sorted(shards, key=lambda s: s.shard_id):
            if shard.shard_id in leased:
                continue
            parents = tuple(p for p in (shard.parent_shard_id, shard.adjacent_parent_shard_id) if p)
            if any(p in leased for p in parents):
                checkpoint = TRIM_HORIZON  # a child of a shard we read: all of it
            elif self.initial_position != LATEST:
                checkpoint = self.initial_position
            elif shard.ending_sequence_number is None:
                checkpoint = LATEST
            else:
                continue  # closed before we started reading at LATEST: nothing to read
            timestamp_ms = None
            if checkpoint == AT_TIMESTAMP and self.timestamp is not None:
                timestamp_ms = int(self.timestamp.timestamp() * 1000)
            self.leases.create(shard.shard_id, checkpoint, parents, timestamp_ms=timestamp_ms)
            leased.add(shard.shard_id)

    def _list_shards(self) -> list[Shard]:
        """Every shard of the stream still within the retention period."""
        shards: list[Shard] = []
        page = self.streams.list_shards(self.stream_name)
        shards += page.shards
        while page.next_token is not None:
            page = self.streams.list_shards(next_token=page.next_token)
            shards += page.shards
        return shards

    def _take(self) -> None:
        """Take leases up to this worker's fair share: lapsed ones first, else steal one."""
        now_ms = self._now_ms()
        plan = plan_takes(
            self.leases.leases(),
            self.worker_id,
            set(self._shards),
            self.leases.live_workers(now_ms),
            now_ms,
        )
        taken = 0
        for lease in plan.lapsed:
            if taken >= plan.need:
                return
            taken += self._acquire(lease, now_ms)
        if not taken and plan.steal is not None:
            self._acquire(plan.steal, now_ms)

    def _acquire(self, lease: Lease, now_ms: int) -> bool:
        taken = self.leases.update(
            lease, owner=self.worker_id, renewed_at_ms=now_ms, duration_ms=self._duration_ms
        )
        if taken is None:
            return False  # another worker took or changed it first
        self._shards[lease.shard_id] = _ShardState(taken)
        return True

    def _cas(self, state: _ShardState, **changes: object) -> Lease | None:
        """Change a held lease; ``None`` (and the shard dropped) where it was lost."""
        shard_id = state.lease.shard_id
        for _ in range(2):
            updated = self.leases.update(state.lease, **changes)
            if updated is not None:
                state.lease = updated
                return updated
            current = self.leases.find(shard_id)
            if current is None or current.owner != self.worker_id:
                break
            state.lease = current  # our own write we had not seen: try again on it
        if self._shards.get(shard_id) is state:
            del self._shards[shard_id]
        return None

    def _checkpoint(self, state: _ShardState, value: str) -> None:
        shard_id = state.lease.shard_id
        if self._shards.get(shard_id) is not state:
            raise _lost(shard_id)
        changes: dict[str, object] = {"checkpoint": value, "renewed_at_ms": self._now_ms()}
        if value == SHARD_END:
            changes["owner"] = None  # finished: nobody needs to hold it any more
        if self._cas(state, **changes) is None:
            raise _lost(shard_id)
        if value == SHARD_END:
            del self._shards[shard_id]
            self._take_at = None  # its children may be ours to read now

    def _parents_pending(self, lease: Lease) -> bool:
        for parent in lease.parent_shard_ids:
            found = self.leases.find(parent)
            if found is not None and not found.finished:
                return True
        return False

    # ------------------------------------------------------------ reading

    def _read(self, state: _ShardState, now: float) -> Batch | None:
        if state.blocked:
            if self._parents_pending(state.lease):
                state.next_read_at = now + self.idle_time_between_reads
                return None
            state.blocked = False
        if state.ended:
            # Read to the end but not yet checkpointed at SHARD_END: offer the end again.
            state.next_read_at = now + self.idle_time_between_reads
            return self._batch(state, (), 0, ending=True)
        try:
            if state.iterator is None:
                state.iterator = self._open(state)
            result = self.streams.get_records(state.iterator, limit=self.max_records)
        except ProvisionedThroughputExceededException:
            state.backoff = min(max(state.backoff * 2, _FIRST_BACKOFF), self.max_backoff)
            state.next_read_at = now + state.backoff
            return None
        except ExpiredIteratorException:
            state.iterator = None  # reopened after the last record delivered
            return None
        except ResourceNotFoundException:
            # A deleted stream stops the worker (ListShards raises). A listed shard is
            # there but not yet readable (a stream still CREATING): try again later. A
            # shard that expired past the retention period has nothing left: finished.
            if state.lease.shard_id in {shard.shard_id for shard in self._list_shards()}:
                state.next_read_at = now + max(self.idle_time_between_reads, _FIRST_BACKOFF)
                return None
            with contextlib.suppress(LeaseLost):
                self._checkpoint(state, SHARD_END)
            return None
        state.backoff = 0.0
        state.iterator = result.next_shard_iterator
        if result.records:
            state.last_delivered = result.records[-1].sequence_number
        if result.records and not self._still_held(state):
            return None  # taken while we read: the new holder delivers these
        if result.next_shard_iterator is None:
            state.ended = True
            self._sync_at = None  # lease the children it names
            state.next_read_at = now + self.idle_time_between_reads
            return self._batch(state, result.records, result.millis_behind_latest, ending=True)
        caught_up = result.millis_behind_latest == 0 and len(result.records) < self.max_records
        state.next_read_at = now + self.idle_time_between_reads if caught_up else now
        if not result.records:
            return None
        return self._batch(state, result.records, result.millis_behind_latest, ending=False)

    def _still_held(self, state: _ShardState) -> bool:
        """Whether the lease is still ours, checked before records are handed out.

        Renewal would notice a stolen lease too, but only at its next turn; looking now
        keeps a worker from delivering records that the thief delivers as well.
        """
        current = self.leases.find(state.lease.shard_id)
        if current is not None and current.counter == state.lease.counter:
            return True
        if current is not None and current.owner == self.worker_id:
            state.lease = current
            return True
        if self._shards.get(state.lease.shard_id) is state:
            del self._shards[state.lease.shard_id]
        return False

    def _open(self, state: _ShardState) -> str:
        """An iterator after the last record delivered, else after the checkpoint."""
        lease = state.lease
        shard_id = lease.shard_id
        position = state.last_delivered or lease.checkpoint
        if position in (TRIM_HORIZON, LATEST):
            return self.streams.get_shard_iterator(shard_id, position, name=self.stream_name)
        if position == AT_TIMESTAMP:
            when = datetime.fromtimestamp((lease.timestamp_ms or 0) / 1000, UTC)
            return self.streams.get_shard_iterator(
                shard_id, AT_TIMESTAMP, name=self.stream_name, timestamp=when
            )
        return self.streams.get_shard_iterator(
            shard_id,
            "AFTER_SEQUENCE_NUMBER",
            name=self.stream_name,
            starting_sequence_number=position,
        )

    def _batch(
        self, state: _ShardState, records: tuple[Record, ...], behind: int, *, ending: bool
    ) -> Batch:
        last = records[-1].sequence_number if records else None
        return Batch(
            state.lease.shard_id,
            records,
            behind,
            Checkpointer(self, state, last, ending),
            ending,
        )

    def _wait_time(self) -> float:
        now = self.clock.monotonic()
        due = [state.next_read_at for state in self._shards.values()]
        chores = (self._renew_at, self._sync_at, self._take_at)
        due += [0.0 if at is None else at for at in chores]
        return min(max(min(due) - now, _MIN_WAIT), _MAX_WAIT)

    def _now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)


def _due(at: float | None, now: float) -> bool:
    return at is None or at <= now


def _lost(shard_id: str) -> LeaseLost:
    return LeaseLost(
        f"The lease on {shard_id} is no longer this worker's: another worker took it after "
        "it lapsed or to balance the shards. Its records after the last checkpoint will "
        "be delivered to the new holder; stop processing this shard."
    )
