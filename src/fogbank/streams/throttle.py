"""Per-shard throughput limits, as Kinesis enforces them on provisioned shards.

Writes: 1 MiB/s or 1,000 records/s per shard. GetShardIterator: 5 calls/s per shard.
Reads: 5 GetRecords calls/s per shard,
and 2 MiB/s: a call that returns B bytes leaves the shard's read budget in debt
until B / 2 MiB seconds have passed, so after a 10 MiB answer the next five seconds
of calls are refused. Counted per fixed one-second window of the engine's clock, in
this process only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

WRITE_BYTES_PER_SECOND = 1024 * 1024
WRITE_RECORDS_PER_SECOND = 1000
READ_CALLS_PER_SECOND = 5
ITERATOR_CALLS_PER_SECOND = 5
READ_BYTES_PER_SECOND = 2 * 1024 * 1024


@dataclass
class _Window:
    second: int = -1
    records: int = 0
    bytes: int = 0
    calls: int = 0


class ShardMeters:
    """The write and read meters of every shard of every stream, keyed by name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._writes: dict[tuple[str, int], _Window] = {}
        self._reads: dict[tuple[str, int], _Window] = {}
        self._iterators: dict[tuple[str, int], _Window] = {}
        self._read_debt_until: dict[tuple[str, int], float] = {}
        self._write_debt_until: dict[tuple[str, int], float] = {}

    def admit_write(self, stream: str, shard: int, size: int, now: float) -> bool:
        """Count one record of ``size`` bytes against the shard, or refuse it.

        A record bigger than a second's budget (streams take records up to 10 MiB) is
        let into an idle window as a burst, and leaves the shard in debt until the
        excess is repaid at 1 MiB/s, as AWS averages large records."""
        with self._lock:
            key = (stream, shard)
            if now < self._write_debt_until.get(key, 0.0):
                return False
            window = _current(self._writes, key, now)
            over = window.bytes + size > WRITE_BYTES_PER_SECOND
            if window.records + 1 > WRITE_RECORDS_PER_SECOND or (over and window.bytes > 0):
                return False
            window.records += 1
            window.bytes += size
            if over:
                excess = window.bytes - WRITE_BYTES_PER_SECOND
                self._write_debt_until[key] = now + excess / WRITE_BYTES_PER_SECOND
            return True

    def admit_iterator(self, stream: str, shard: int, now: float) -> bool:
        """Count one GetShardIterator call against the shard (5 a second), or refuse it."""
        with self._lock:
            window = _current(self._iterators, (stream, shard), now)
            if window.calls + 1 > ITERATOR_CALLS_PER_SECOND:
                return False
            window.calls += 1
            return True

    def admit_read(self, stream: str, shard: int, now: float) -> bool:
        """Count one GetRecords call against the shard, or refuse it."""
        with self._lock:
            key = (stream, shard)
            if now < self._read_debt_until.get(key, 0.0):
                return False
            window = _current(self._reads, key, now)
            if window.calls + 1 > READ_CALLS_PER_SECOND:
                return False
            window.calls += 1
            return True

    def charge_read(self, stream: str, shard: int, size: int, now: float) -> None:
        """Record the bytes a call returned: past the per-second rate, that is debt."""
        with self._lock:
            key = (stream, shard)
            window = _current(self._reads, key, now)
            window.bytes += size
            if window.bytes > READ_BYTES_PER_SECOND:
                start = max(now, self._read_debt_until.get(key, 0.0))
                self._read_debt_until[key] = start + (
                    (window.bytes - READ_BYTES_PER_SECOND) / READ_BYTES_PER_SECOND
                )

    def forget(self, stream: str) -> None:
        with self._lock:
            for table in (
                self._writes,
                self._reads,
                self._iterators,
                self._read_debt_until,
                self._write_debt_until,
            ):
                for key in [key for key in table if key[0] == stream]:
                    del table[key]


def _current(table: dict[tuple[str, int], _Window], key: tuple[str, int], now: float) -> _Window:
    second = int(now)
    window = table.get(key)
    if window is None or window.second != second:
        window = _Window(second=second)
        table[key] = window
    return window
