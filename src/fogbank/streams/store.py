"""A stream's durable log: one SQLite database in WAL mode per stream, with group commit.

The database holds the stream's settings, its shards (open and closed) and every
record. A record's rowid packs its shard and the shard's counter
(``shard << 40 | counter``), so a shard's records are one contiguous rowid range
read in order without a secondary index, and the counter is the sequence number's
low part (:mod:`fogbank.streams.keys`).

Writes are group-committed: a thread that appends queues its records; whichever
thread finds no commit in flight becomes the leader, takes everything queued,
writes it in one transaction and commits with ``synchronous=FULL`` (an fsync of the
WAL), then wakes the others. A put is acknowledged only after its commit returns,
so acknowledged records survive ``kill -9`` and power loss. Records are routed to
shards inside that transaction, so a reshard by another thread or process between
a put's arrival and its commit can never land a record in a closed shard.
"""

from __future__ import annotations

import bisect
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fogbank.core.sqlite import durable_connection, write_transaction

SCHEMA_VERSION = 1
_COUNTER_BITS = 40
_COUNTER_LIMIT = 1 << _COUNTER_BITS
_BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE stream (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    arn TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    status_until_ms INTEGER NOT NULL,
    mode TEXT NOT NULL,
    retention_hours INTEGER NOT NULL,
    encryption TEXT NOT NULL,
    key_id TEXT,
    max_record_kib INTEGER NOT NULL,
    shard_level_metrics TEXT NOT NULL,
    next_shard INTEGER NOT NULL,
    version INTEGER NOT NULL
);
CREATE TABLE shards (
    idx INTEGER PRIMARY KEY,
    start_hash TEXT NOT NULL,
    end_hash TEXT NOT NULL,
    parent INTEGER,
    adjacent_parent INTEGER,
    created_ms INTEGER NOT NULL,
    closed_ms INTEGER,
    next_counter INTEGER NOT NULL,
    last_ms INTEGER NOT NULL
);
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    ms INTEGER NOT NULL,
    partition_key TEXT NOT NULL,
    data BLOB NOT NULL,
    key_number INTEGER NOT NULL
);
CREATE TABLE keys (
    number INTEGER PRIMARY KEY,
    key_id TEXT NOT NULL UNIQUE
);
CREATE TABLE consumers (
    name TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    status_until_ms INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class StreamSettings:
    """The stream's own row: what DescribeStreamSummary reports besides the shards."""

    name: str
    arn: str
    stream_id: str
    created_ms: int
    status: str
    status_until_ms: int
    mode: str
    retention_hours: int
    encryption: str
    key_id: str | None
    max_record_kib: int
    shard_level_metrics: tuple[str, ...]
    next_shard: int
    version: int


@dataclass(frozen=True)
class ShardRow:
    index: int
    start_hash: int
    end_hash: int
    parent: int | None
    adjacent_parent: int | None
    created_ms: int
    closed_ms: int | None
    next_counter: int
    last_ms: int

    @property
    def is_open(self) -> bool:
        return self.closed_ms is None


@dataclass(frozen=True)
class ConsumerRow:
    name: str
    arn: str
    created_ms: int
    status_until_ms: int


@dataclass(frozen=True)
class StoredRecord:
    shard: int
    counter: int
    millis: int
    partition_key: str
    data: bytes
    key_number: int
    """0: stored in the clear; else the stream's number for the KMS key it is sealed with."""


@dataclass(frozen=True)
class NewRecord:
    """A record on its way into the log, already checked against every limit."""

    hash_key: int
    partition_key: str
    data: bytes
    key_number: int = 0
    after_millis: int = 0
    """The record's millisecond is at least this (SequenceNumberForOrdering)."""


@dataclass(frozen=True)
class Appended:
    shard: int
    counter: int
    millis: int


@dataclass
class _Batch:
    records: Sequence[NewRecord]
    now_ms: int
    result: list[Appended] | None = None
    error: BaseException | None = None
    done: bool = False


def record_id(shard: int, counter: int) -> int:
    return (shard << _COUNTER_BITS) | counter


class StreamLog:
    """One stream's database. Thread-safe; several processes may open one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = durable_connection(path, busy_timeout_ms=_BUSY_TIMEOUT_MS)
        self._writer_mutex = threading.Lock()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._commit = threading.Condition()
        self._queue: list[_Batch] = []
        self._arrivals = threading.Condition()
        self._key_cache: dict[int, str] = {}
        self._open_cache: tuple[StreamSettings, list[ShardRow]] | None = None
        self._generation = 0
        self._writing = False
        self._closed = False

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def create(cls, path: Path, settings: StreamSettings, shards: Sequence[ShardRow]) -> StreamLog:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".creating")
        for leftover in _files(temporary):
            leftover.unlink(missing_ok=True)
        conn = durable_connection(temporary, busy_timeout_ms=_BUSY_TIMEOUT_MS)
        try:
            conn.executescript(_SCHEMA)
            conn.execute("BEGIN IMMEDIATE")
            _write_settings(conn, settings, insert=True)
            _insert_shards(conn, shards)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        for leftover in _files(temporary)[1:]:
            leftover.unlink(missing_ok=True)
        # The rename is the commit point: a crash before it leaves no stream behind.
        temporary.rename(path)
        return cls(path)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._commit:
            while self._writing:
                self._commit.wait()
            self._closed = True
        with self._writer_mutex:
            self._writer.close()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    def destroy(self) -> None:
        """Close the log and delete its files."""
        self.close()
        for path in _files(self.path):
            path.unlink(missing_ok=True)

    # ------------------------------------------------------------ reads

    def snapshot(self) -> tuple[StreamSettings, list[ShardRow]]:
        with self._reader() as conn:
            conn.execute("BEGIN")
            try:
                settings = _read_settings(conn)
                shards = _read_shards(conn)
            finally:
                conn.execute("COMMIT")
        return settings, shards

    def open_shards(self) -> tuple[StreamSettings, list[ShardRow]]:
        """The settings and the open shards sorted by starting hash key, for routing puts.

        Kept in memory and read again only when the stream's version moved (a reshard or
        a settings change, by this process or another): one small query per put. The
        shards' counters in it are stale; the group commit reads its own.
        """
        with self._reader() as conn:
            (version,) = conn.execute("SELECT version FROM stream WHERE id = 1").fetchone()
        cached = self._open_cache
        if cached is not None and cached[0].version == version:
            return cached
        settings, shards = self.snapshot()
        fresh = (settings, sorted((s for s in shards if s.is_open), key=lambda s: s.start_hash))
        self._open_cache = fresh
        return fresh

    def settings(self) -> StreamSettings:
        with self._reader() as conn:
            return _read_settings(conn)

    def consumers(self) -> list[ConsumerRow]:
        with self._reader() as conn:
            rows = conn.execute(
                "SELECT name, arn, created_ms, status_until_ms FROM consumers ORDER BY created_ms"
            ).fetchall()
        return [ConsumerRow(*row) for row in rows]

    def read(
        self, shard: int, from_counter: int, *, limit: int, max_bytes: int, horizon_ms: int
    ) -> list[StoredRecord]:
        """Up to ``limit`` records of ``shard`` from ``from_counter`` on, younger than the
        horizon, stopping before ``max_bytes`` of data (but always at least one record)."""
        out: list[StoredRecord] = []
        total = 0
        with self._reader() as conn:
            cursor = conn.execute(
                "SELECT id, ms, partition_key, data, key_number FROM records "
                "WHERE id >= ? AND id < ? AND ms >= ? ORDER BY id LIMIT ?",
                (
                    record_id(shard, max(from_counter, 0)),
                    record_id(shard + 1, 0),
                    horizon_ms,
                    limit,
                ),
            )
            for rid, ms, key, data, key_number in cursor:
                size = len(data) + len(key.encode("utf-8"))
                if out and total + size > max_bytes:
                    break
                total += size
                out.append(
                    StoredRecord(
                        shard, rid & (_COUNTER_LIMIT - 1), ms, key, bytes(data), key_number
                    )
                )
            cursor.close()
        return out

    def first_counter_at(self, shard: int, millis: int) -> int | None:
        """The counter of the shard's first record that arrived at or after ``millis``."""
        with self._reader() as conn:
            row = conn.execute(
                "SELECT id FROM records WHERE id >= ? AND id < ? AND ms >= ? ORDER BY id LIMIT 1",
                (record_id(shard, 0), record_id(shard + 1, 0), millis),
            ).fetchone()
        return None if row is None else int(row[0]) & (_COUNTER_LIMIT - 1)

    # ------------------------------------------------------------ writes

    def append(self, records: Sequence[NewRecord], now_ms: int) -> list[Appended]:
        """Write ``records`` durably and return where each went, in order.

        Blocks until the group commit holding them has been fsync'd.
        """
        batch = _Batch(records, now_ms)
        with self._commit:
            if self._closed:
                raise LogClosed(self.path)
            self._queue.append(batch)
            while not batch.done and self._writing:
                self._commit.wait()
            if batch.done:
                return _outcome(batch)
            self._writing = True
            group, self._queue = self._queue, []
        try:
            self._write_group(group)
        finally:
            with self._commit:
                self._writing = False
                self._commit.notify_all()
            with self._arrivals:
                self._generation += 1
                self._arrivals.notify_all()
        return _outcome(batch)

    @property
    def generation(self) -> int:
        """A number that moves on with every group commit of this process."""
        return self._generation

    def wait_for_append(self, since: int, timeout: float) -> None:
        """Wait until a group commit after generation ``since``, or ``timeout`` seconds
        (records committed by other processes are only seen by polling)."""
        with self._arrivals:
            if self._generation == since:
                self._arrivals.wait(timeout)

    def update_settings(self, **changes: Any) -> StreamSettings:
        """Change the stream's row in one transaction; the version moves on."""
        with self._transaction() as conn:
            settings = _read_settings(conn)
            updated = replace(settings, **changes, version=settings.version + 1)
            _write_settings(conn, updated)
        return updated

    def reshard(
        self, close: Sequence[int], create: Sequence[ShardRow], now_ms: int, **changes: Any
    ) -> StreamSettings:
        """Close shards and open their children in one transaction."""
        with self._transaction() as conn:
            settings = _read_settings(conn)
            for index in close:
                conn.execute(
                    "UPDATE shards SET closed_ms = MAX(?, last_ms) "
                    "WHERE idx = ? AND closed_ms IS NULL",
                    (now_ms, index),
                )
            _insert_shards(conn, create)
            next_shard = max([settings.next_shard, *(row.index + 1 for row in create)])
            updated = replace(
                settings, **changes, next_shard=next_shard, version=settings.version + 1
            )
            _write_settings(conn, updated)
        return updated

    def drop_shards(self, indexes: Sequence[int]) -> None:
        """Forget expired closed shards: their records are past retention."""
        with self._transaction() as conn:
            for index in indexes:
                conn.execute("DELETE FROM shards WHERE idx = ? AND closed_ms IS NOT NULL", (index,))
                conn.execute(
                    "DELETE FROM records WHERE id >= ? AND id < ?",
                    (record_id(index, 0), record_id(index + 1, 0)),
                )
            settings = _read_settings(conn)
            _write_settings(conn, replace(settings, version=settings.version + 1))

    def trim(self, horizon_ms: int) -> int:
        """Delete the records older than the horizon; how many went."""
        removed = 0
        with self._transaction() as conn:
            for (index,) in conn.execute("SELECT idx FROM shards").fetchall():
                low, high = record_id(index, 0), record_id(index + 1, 0)
                # A shard's records arrive in millisecond order, so its expired ones are
                # a prefix of its rowid range: find where it ends, delete up to there.
                row = conn.execute(
                    "SELECT id FROM records WHERE id >= ? AND id < ? AND ms >= ? "
                    "ORDER BY id LIMIT 1",
                    (low, high, horizon_ms),
                ).fetchone()
                end = high if row is None else int(row[0])
                cursor = conn.execute("DELETE FROM records WHERE id >= ? AND id < ?", (low, end))
                removed += cursor.rowcount
        return removed

    def add_consumer(self, consumer: ConsumerRow, limit: int | None) -> bool:
        """Register a consumer; False when the name is taken or ``limit`` is reached."""
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM consumers WHERE name = ?", (consumer.name,)).fetchone():
                return False
            count = conn.execute("SELECT COUNT(*) FROM consumers").fetchone()[0]
            if limit is not None and count >= limit:
                raise ConsumerLimit(count)
            conn.execute(
                "INSERT INTO consumers (name, arn, created_ms, status_until_ms) "
                "VALUES (?, ?, ?, ?)",
                (consumer.name, consumer.arn, consumer.created_ms, consumer.status_until_ms),
            )
        return True

    def key_number(self, key_id: str) -> int:
        """The stream's number for a KMS key id, given on first use."""
        for number, known in self._key_cache.items():
            if known == key_id:
                return number
        with self._transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO keys (key_id) VALUES (?)", (key_id,))
            row = conn.execute("SELECT number FROM keys WHERE key_id = ?", (key_id,)).fetchone()
        self._key_cache[int(row[0])] = key_id
        return int(row[0])

    def key_id(self, number: int) -> str:
        """The KMS key id behind a record's key number (numbers never change meaning)."""
        if number not in self._key_cache:
            with self._reader() as conn:
                self._key_cache.update(conn.execute("SELECT number, key_id FROM keys").fetchall())
        return self._key_cache[number]

    def remove_consumer(self, name: str) -> bool:
        with self._transaction() as conn:
            cursor = conn.execute("DELETE FROM consumers WHERE name = ?", (name,))
            return cursor.rowcount > 0

    # ------------------------------------------------------------ internals

    def _write_group(self, group: list[_Batch]) -> None:
        try:
            with self._transaction() as conn:
                rows = conn.execute(
                    "SELECT idx, start_hash, end_hash, next_counter, last_ms FROM shards "
                    "WHERE closed_ms IS NULL"
                ).fetchall()
                open_shards = sorted(
                    (int(start), int(end), idx, counter, last)
                    for idx, start, end, counter, last in rows
                )
                starts = [entry[0] for entry in open_shards]
                counters = {entry[2]: [entry[3], entry[4]] for entry in open_shards}
                inserts: list[tuple[int, int, str, bytes, int]] = []
                for batch in group:
                    placed: list[Appended] = []
                    for record in batch.records:
                        position = bisect.bisect_right(starts, record.hash_key) - 1
                        index = open_shards[position][2]
                        state = counters[index]
                        counter, millis = state[0], max(state[1], batch.now_ms, record.after_millis)
                        if counter >= _COUNTER_LIMIT:
                            raise ShardFull(index)
                        state[0], state[1] = counter + 1, millis
                        inserts.append(
                            (
                                record_id(index, counter),
                                millis,
                                record.partition_key,
                                record.data,
                                record.key_number,
                            )
                        )
                        placed.append(Appended(index, counter, millis))
                    batch.result = placed
                conn.executemany(
                    "INSERT INTO records (id, ms, partition_key, data, key_number) "
                    "VALUES (?, ?, ?, ?, ?)",
                    inserts,
                )
                conn.executemany(
                    "UPDATE shards SET next_counter = ?, last_ms = ? WHERE idx = ?",
                    [(state[0], state[1], index) for index, state in counters.items()],
                )
        except BaseException as exc:
            for batch in group:
                batch.result, batch.error = None, exc
        for batch in group:
            batch.done = True

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # Writers share one connection; the mutex keeps metadata changes and group
        # commits of this process from interleaving on it (SQLite's own lock orders
        # them against other processes).
        with self._writer_mutex:
            if self._closed:
                raise LogClosed(self.path)
            with write_transaction(self._writer) as conn:
                yield conn

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        with self._readers_lock:
            if self._closed:
                raise LogClosed(self.path)
            conn = self._readers.pop() if self._readers else None
        if conn is None:
            conn = durable_connection(self.path, busy_timeout_ms=_BUSY_TIMEOUT_MS)
        try:
            yield conn
        finally:
            with self._readers_lock:
                if self.closed:  # the log may have closed while the connection was out
                    conn.close()
                else:
                    self._readers.append(conn)


class LogClosed(Exception):
    """The stream's log was closed (the stream was deleted)."""


class ShardFull(Exception):
    """A shard reached 2**40 records."""


class ConsumerLimit(Exception):
    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


def _outcome(batch: _Batch) -> list[Appended]:
    if batch.error is not None:
        raise batch.error
    assert batch.result is not None
    return batch.result


def _files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _read_settings(conn: sqlite3.Connection) -> StreamSettings:
    row = conn.execute(
        "SELECT name, arn, stream_id, created_ms, status, status_until_ms, mode, "
        "retention_hours, encryption, key_id, max_record_kib, shard_level_metrics, "
        "next_shard, version FROM stream WHERE id = 1"
    ).fetchone()
    values = list(row)
    values[11] = tuple(item for item in values[11].split(",") if item)
    return StreamSettings(*values)


def _write_settings(conn: sqlite3.Connection, s: StreamSettings, *, insert: bool = False) -> None:
    values = (
        s.name,
        s.arn,
        s.stream_id,
        s.created_ms,
        s.status,
        s.status_until_ms,
        s.mode,
        s.retention_hours,
        s.encryption,
        s.key_id,
        s.max_record_kib,
        ",".join(s.shard_level_metrics),
        s.next_shard,
        s.version,
    )
    if insert:
        conn.execute(
            "INSERT INTO stream (id, name, arn, stream_id, created_ms, status, status_until_ms, "
            "mode, retention_hours, encryption, key_id, max_record_kib, shard_level_metrics, "
            "next_shard, version) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )
    else:
        conn.execute(
            "UPDATE stream SET name = ?, arn = ?, stream_id = ?, created_ms = ?, status = ?, "
            "status_until_ms = ?, mode = ?, retention_hours = ?, encryption = ?, key_id = ?, "
            "max_record_kib = ?, shard_level_metrics = ?, next_shard = ?, version = ? "
            "WHERE id = 1",
            values,
        )


def _read_shards(conn: sqlite3.Connection) -> list[ShardRow]:
    rows = conn.execute(
        "SELECT idx, start_hash, end_hash, parent, adjacent_parent, created_ms, closed_ms, "
        "next_counter, last_ms FROM shards ORDER BY idx"
    ).fetchall()
    return [
        ShardRow(idx, int(start), int(end), parent, adjacent, created, closed, counter, last)
        for idx, start, end, parent, adjacent, created, closed, counter, last in rows
    ]


def _insert_shards(conn: sqlite3.Connection, shards: Sequence[ShardRow]) -> None:
    conn.executemany(
        "INSERT INTO shards (idx, start_hash, end_hash, parent, adjacent_parent, created_ms, "
        "closed_ms, next_counter, last_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                s.index,
                str(s.start_hash),
                str(s.end_hash),
                s.parent,
                s.adjacent_parent,
                s.created_ms,
                s.closed_ms,
                s.next_counter,
                s.last_ms,
            )
            for s in shards
        ],
    )
