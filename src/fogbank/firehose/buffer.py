"""A delivery stream's durable buffer: one SQLite database in WAL mode per stream.

A put is acknowledged only after its records are committed with ``synchronous=FULL``
(an fsync of the WAL), so acknowledged records survive ``kill -9`` and power loss.

Delivery takes records out in two steps. :meth:`RecordBuffer.claim` marks the
records of one object as taken by one owner, in a write transaction, so two processes
sharing a home never deliver the same records; the claim lapses after a lease, so the
records of a process that died mid-delivery are delivered again by whoever comes next.
:meth:`RecordBuffer.complete` deletes them once the object is written. A crash between
the object's write and that delete delivers those records twice: delivery is
at-least-once, as Firehose's is.

With dynamic partitioning each record also carries its partition (``part``, the keys as
JSON; or, with ``error``, the reason it has none). Records arrive without one;
:meth:`RecordBuffer.repartition` replaces claimed records by their partitioned (and
transformed) selves in one transaction, and ``claim(partitioned=True)`` takes one
partition's records at a time, each partition buffered on its own thresholds.

A Redshift destination also queues its COPYs here (table ``copies``): :meth:`RecordBuffer.
complete` queues the staged object's COPY in the transaction that drops its records, and
:meth:`RecordBuffer.claim_copy` hands the oldest one out, under a lease, when it is due.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fogbank.core.sqlite import durable_connection, write_transaction

_BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    ms INTEGER NOT NULL,
    data BLOB NOT NULL,
    owner TEXT,
    claimed_until_ms INTEGER NOT NULL DEFAULT 0,
    part TEXT,
    error TEXT
);
CREATE TABLE totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    bytes INTEGER NOT NULL
);
INSERT INTO totals (id, bytes) VALUES (1, 0);
"""
# A Redshift destination's COPYs still to run, one per staged object's manifest, in order.
_COPIES = """
CREATE TABLE IF NOT EXISTS copies (
    id INTEGER PRIMARY KEY,
    manifest TEXT NOT NULL,
    error_key TEXT NOT NULL,
    records INTEGER NOT NULL,
    oldest_ms INTEGER NOT NULL,
    first_try_ms INTEGER,
    retry_at_ms INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    claimed_until_ms INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class Claim:
    """Records taken for one object, in arrival order."""

    owner: str
    first_ms: int
    records: tuple[bytes, ...]
    arrivals: tuple[int, ...] = ()
    """Each record's arrival time, epoch milliseconds."""
    part: str | None = None
    """The partition every record belongs to (a partitioned claim), else None."""
    errors: tuple[str | None, ...] = ()
    """Each record's partitioning failure (a partitioned claim), else empty."""


@dataclass(frozen=True)
class PendingCopy:
    """A staged object whose COPY into the warehouse has not succeeded yet."""

    id: int
    manifest: str
    """The manifest's key in the staging bucket."""
    error_key: str
    """Where the manifest goes if the COPY is given up (``<prefix>errors/manifests/...``)."""
    records: int
    oldest_ms: int
    """The arrival time of the oldest record staged, epoch milliseconds."""
    first_try_ms: int | None = None
    attempts: int = 0


class BufferFull(Exception):
    """Accepting the records would take the buffer past its cap."""

    def __init__(self, accepted: int) -> None:
        super().__init__(accepted)
        self.accepted = accepted


class RecordBuffer:
    """One stream's buffered records. Thread-safe; several processes may open one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = durable_connection(path, busy_timeout_ms=_BUSY_TIMEOUT_MS)
        self._mutex = threading.Lock()
        self._closed = False
        # Group commit, as the Kinesis log does it: appends queue here; the thread that
        # finds no commit in flight writes the whole queue, the others wait for it.
        self._commit = threading.Condition()
        self._queue: list[_Append] = []
        self._writing = False
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(records)")}
        if "part" not in columns:  # a buffer from before dynamic partitioning
            with self._transaction() as conn:
                columns = {row[1] for row in conn.execute("PRAGMA table_info(records)")}
                if "part" not in columns:
                    conn.execute("ALTER TABLE records ADD COLUMN part TEXT")
                    conn.execute("ALTER TABLE records ADD COLUMN error TEXT")
        tables = {row[0] for row in self._conn.execute("SELECT name FROM sqlite_master")}
        if "copies" not in tables:  # a buffer from before Redshift destinations
            with self._transaction() as conn:
                conn.execute(_COPIES)

    @classmethod
    def create(cls, path: Path) -> RecordBuffer:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = durable_connection(path, busy_timeout_ms=_BUSY_TIMEOUT_MS)
        try:
            conn.executescript(_SCHEMA + _COPIES)
        finally:
            conn.close()
        return cls(path)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._mutex:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def destroy(self) -> None:
        """Close the buffer and delete its files (its records are dropped)."""
        self.close()
        remove_files(self.path)

    def append(self, records: Sequence[bytes], now_ms: int, *, max_bytes: int | None) -> int:
        """Store records durably, in order, until one would take the buffer past
        ``max_bytes``: how many were stored (the rest are refused, for back-pressure).

        Returns once the commit holding them is fsync'd. Appends that arrive while a
        commit is in flight are written together by the next one (group commit)."""
        batch = _Append(records, now_ms, max_bytes)
        group: list[_Append] = []
        with self._commit:
            if self._closed:
                raise BufferClosed(self.path)
            self._queue.append(batch)
            while not batch.done and self._writing:
                self._commit.wait()
            if not batch.done:  # no commit in flight: this thread writes the queue
                self._writing = True
                group, self._queue = self._queue, []
        if group:
            failure: BaseException | None = None
            try:
                self._write_group(group)
            except BaseException as exc:
                failure = exc
            with self._commit:
                for each in group:
                    each.failure, each.done = failure, True
                self._writing = False
                self._commit.notify_all()
        if batch.failure is not None:
            raise batch.failure
        return batch.accepted

    def _write_group(self, group: Sequence[_Append]) -> None:
        """The queued appends, in arrival order, in one transaction: one fsync for all."""
        with self._transaction() as conn:
            (held,) = conn.execute("SELECT bytes FROM totals WHERE id = 1").fetchone()
            rows: list[tuple[int, bytes]] = []
            for batch in group:
                accepted = len(batch.records)
                if batch.max_bytes is not None:
                    for index, data in enumerate(batch.records):
                        if held + len(data) > batch.max_bytes:
                            accepted = index
                            break
                        held += len(data)
                else:
                    held += sum(map(len, batch.records))
                batch.accepted = accepted
                rows += [(batch.now_ms, data) for data in batch.records[:accepted]]
            conn.executemany("INSERT INTO records (ms, data) VALUES (?, ?)", rows)
            conn.execute("UPDATE totals SET bytes = ? WHERE id = 1", (held,))

    def claim(
        self,
        owner: str,
        now_ms: int,
        *,
        size_bytes: int,
        interval_ms: int,
        lease_ms: int,
        force: bool = False,
        partitioned: bool = False,
    ) -> Claim | None:
        """Take the next object's records when the buffer is due: ``size_bytes`` of data
        waiting, or ``interval_ms`` passed since its first record (or ``force``). The
        object holds records up to ``size_bytes`` (at least one).

        Records not yet partitioned are taken unless ``partitioned``; then the records of
        the first due partition, each partition its own buffer."""
        with self._transaction() as conn:
            claimable = "(owner IS NULL OR claimed_until_ms <= ?) AND part IS " + (
                "NOT NULL" if partitioned else "NULL"
            )
            (held,) = conn.execute("SELECT bytes FROM totals WHERE id = 1").fetchone()
            if not force and held < size_bytes:
                # No group can be due by size (all the buffer holds is less): one is due
                # only once its first record is interval_ms old. Finding that in SQL spares
                # the scan below, in Python, over every record while nothing is due.
                # (SQLite gives a bare column the values of the row MIN() picked.)
                firsts = conn.execute(
                    f"SELECT MIN(id), ms FROM records WHERE {claimable} GROUP BY part", (now_ms,)
                ).fetchall()
                if all(now_ms - ms < interval_ms for _, ms in firsts):
                    return None
            cursor = conn.execute(
                "SELECT id, ms, length(data), part FROM records "
                "WHERE (owner IS NULL OR claimed_until_ms <= ?) AND part IS "
                + ("NOT NULL" if partitioned else "NULL")
                + " ORDER BY id",
                (now_ms,),
            )
            groups: dict[str | None, _Group] = {}
            chosen: _Group | None = None
            for rid, ms, size, part in cursor:
                group = groups.get(part)
                if group is None:
                    group = groups[part] = _Group(part, ms)
                if group.full:
                    continue
                if group.ids and group.total + size > size_bytes:
                    group.full = True
                    chosen = group
                    break
                group.ids.append(rid)
                group.total += size
            cursor.close()
            if chosen is None:
                chosen = next(
                    (
                        g
                        for g in groups.values()
                        if force or g.total >= size_bytes or now_ms - g.first_ms >= interval_ms
                    ),
                    None,
                )
            if chosen is None:
                return None
            # The chosen ids are every claimable record of the group up to the last one
            # (the scan above takes a group's records in order, skipping none): one
            # statement with the scan's own condition marks them, in this transaction.
            conn.execute(
                "UPDATE records SET owner = ?, claimed_until_ms = ? "
                "WHERE id BETWEEN ? AND ? AND (owner IS NULL OR claimed_until_ms <= ?) "
                "AND part IS ?",
                (owner, now_ms + lease_ms, chosen.ids[0], chosen.ids[-1], now_ms, chosen.part),
            )
            rows = conn.execute(
                "SELECT data, ms, error FROM records "
                "WHERE id BETWEEN ? AND ? AND owner = ? ORDER BY id",
                (chosen.ids[0], chosen.ids[-1], owner),
            ).fetchall()
        return Claim(
            owner,
            chosen.first_ms,
            tuple(bytes(row[0]) for row in rows),
            tuple(int(row[1]) for row in rows),
            chosen.part,
            tuple(row[2] for row in rows) if partitioned else (),
        )

    def repartition(
        self, owner: str, records: Sequence[tuple[bytes, int, str, str | None]]
    ) -> None:
        """The owner's records are replaced by ``records`` (data, arrival ms, partition,
        failure), partitioned, in one transaction: a crash before it leaves the originals
        to be claimed again once the lease lapses."""
        with self._transaction() as conn:
            (old,) = conn.execute(
                "SELECT COALESCE(SUM(length(data)), 0) FROM records WHERE owner = ?", (owner,)
            ).fetchone()
            conn.execute("DELETE FROM records WHERE owner = ?", (owner,))
            conn.executemany(
                "INSERT INTO records (ms, data, part, error) VALUES (?, ?, ?, ?)",
                [(ms, data, part, error) for data, ms, part, error in records],
            )
            new = sum(len(r[0]) for r in records)
            conn.execute("UPDATE totals SET bytes = MAX(bytes - ? + ?, 0) WHERE id = 1", (old, new))

    def partitions(self) -> set[str]:
        """The distinct partitions that hold records (the active partitions)."""
        with self._mutex:
            if self._closed:
                raise BufferClosed(self.path)
            rows = self._conn.execute(
                "SELECT DISTINCT part FROM records WHERE part IS NOT NULL"
            ).fetchall()
        return {str(row[0]) for row in rows}

    def complete(self, owner: str, copy: PendingCopy | None = None) -> None:
        """The owner's object is written: its records leave the buffer. With ``copy``
        (a Redshift destination) its COPY is queued in the same transaction, so a staged
        object is either still buffered or queued for its COPY, never neither."""
        with self._transaction() as conn:
            if copy is not None:
                conn.execute(
                    "INSERT INTO copies (manifest, error_key, records, oldest_ms) "
                    "VALUES (?, ?, ?, ?)",
                    (copy.manifest, copy.error_key, copy.records, copy.oldest_ms),
                )
            (size,) = conn.execute(
                "SELECT COALESCE(SUM(length(data)), 0) FROM records WHERE owner = ?", (owner,)
            ).fetchone()
            conn.execute("DELETE FROM records WHERE owner = ?", (owner,))
            conn.execute("UPDATE totals SET bytes = MAX(bytes - ?, 0) WHERE id = 1", (size,))

    def claim_copy(self, owner: str, now_ms: int, *, lease_ms: int) -> PendingCopy | None:
        """The oldest queued COPY, when it is due (a failed one waits for its retry time,
        and the ones behind it with it: COPYs run in the order their objects were staged)."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT id, manifest, error_key, records, oldest_ms, first_try_ms, attempts, "
                "owner, claimed_until_ms, retry_at_ms FROM copies ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None or row[9] > now_ms or (row[7] is not None and row[8] > now_ms):
                return None
            conn.execute(
                "UPDATE copies SET owner = ?, claimed_until_ms = ? WHERE id = ?",
                (owner, now_ms + lease_ms, row[0]),
            )
        return PendingCopy(*row[:7])

    def copy_failed(self, copy: PendingCopy, first_try_ms: int, retry_at_ms: int) -> None:
        """A COPY failed and will be tried again at ``retry_at_ms``."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE copies SET first_try_ms = ?, retry_at_ms = ?, attempts = attempts + 1, "
                "owner = NULL, claimed_until_ms = 0 WHERE id = ?",
                (first_try_ms, retry_at_ms, copy.id),
            )

    def copy_done(self, copy: PendingCopy) -> None:
        """A COPY succeeded (or was given up): it leaves the queue."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM copies WHERE id = ?", (copy.id,))

    def pending_copies(self) -> int:
        """How many COPYs wait."""
        with self._mutex:
            if self._closed:
                raise BufferClosed(self.path)
            (count,) = self._conn.execute("SELECT COUNT(*) FROM copies").fetchone()
        return int(count)

    def release(self, owner: str) -> None:
        """The owner's delivery failed: its records wait for the next try."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE records SET owner = NULL, claimed_until_ms = 0 WHERE owner = ?", (owner,)
            )

    def held(self) -> int:
        """How many bytes wait (claimed or not), from the running total: no scan."""
        with self._mutex:
            if self._closed:
                raise BufferClosed(self.path)
            (size,) = self._conn.execute("SELECT bytes FROM totals WHERE id = 1").fetchone()
        return int(size)

    def buffered(self) -> tuple[int, int]:
        """How many records and bytes wait (claimed or not)."""
        with self._mutex:
            if self._closed:
                raise BufferClosed(self.path)
            count, size = self._conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(length(data)), 0) FROM records"
            ).fetchone()
        return int(count), int(size)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            if self._closed:
                raise BufferClosed(self.path)
            with write_transaction(self._conn) as conn:
                yield conn


@dataclass
class _Append:
    """One append waiting for its group's commit."""

    records: Sequence[bytes]
    now_ms: int
    max_bytes: int | None
    accepted: int = 0
    done: bool = False
    failure: BaseException | None = None


@dataclass
class _Group:
    part: str | None
    first_ms: int
    ids: list[int] = field(default_factory=list)
    total: int = 0
    full: bool = False


class BufferClosed(Exception):
    """The buffer was closed (its delivery stream was deleted)."""


def remove_files(path: Path) -> None:
    """Delete a buffer's database and its WAL files."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
