"""The bytes a running query has read, watched against its workgroup's cutoff.

Athena cancels a query as soon as it has scanned more than its workgroup's
``BytesScannedCutoffPerQuery``; the query ends CANCELLED with the reason
:data:`CUTOFF_REASON`, and reports the cutoff as its DataScannedInBytes (users report
both: a query "interrupted at exactly 10,485,760 bytes", the workgroup's cutoff).

DuckDB's profiler, which gives DataScannedInBytes, only answers once a query is done.
While it runs, DuckDB's ``FileSystem`` log (``CALL enable_logging('FileSystem')``)
records every read with its byte count and the id of the connection it served, and
the log can be read from another connection mid-query. :class:`ScanMeter` turns the
log on while some query is watched, sums each watched connection's reads every
:data:`POLL` seconds from a thread of its own, and interrupts a connection whose sum
passes its budget; when the last watch ends it turns the log off and empties it. The
two counts agree (both count the bytes DuckDB's file system hands the scan), so a query
the log lets finish is judged once more on the profiler's exact count.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

POLL = 0.02
"""Seconds between two readings of the log: how far past its cutoff a query may read
(at DuckDB's read speed) before it is interrupted."""
# Athena's StateChangeReason for a query over the cutoff (engine v3), as Athena users
# and other emulators quote it.
CUTOFF_REASON = "Query cancelled! : Bytes scanned limit was exceeded"


@dataclass
class Watch:
    """One watched query: its connection's id, the bytes it may read, and whether the
    meter stopped it."""

    connection: Any
    connection_id: int
    budget: int
    read: int = 0
    exceeded: threading.Event = field(default_factory=threading.Event)


class ScanMeter:
    """Watches the bytes each of one DuckDB database's watched queries reads."""

    def __init__(self, database: Any, *, poll: float = POLL) -> None:
        self._database = database
        self._poll = poll
        self._lock = threading.Lock()
        self._watches: dict[int, Watch] = {}
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False

    @contextlib.contextmanager
    def watch(self, connection: Any, budget: int) -> Iterator[Watch]:
        """Watch ``connection`` while the block runs: once it has read more than
        ``budget`` bytes from files it is interrupted and ``exceeded`` is set."""
        connection_id = int(connection.execute("SELECT current_connection_id()").fetchall()[0][0])
        watch = Watch(connection, connection_id, budget)
        with self._lock:
            if not self._watches:
                self._logging(True)
            self._watches[connection_id] = watch
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="athena-scan-meter", daemon=True
                )
                self._thread.start()
            self._wake.notify_all()
        try:
            yield watch
        finally:
            with self._lock:
                self._watches.pop(connection_id, None)
                if not self._watches:
                    self._logging(False)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # ------------------------------------------------------------------ the thread

    def _logging(self, on: bool) -> None:
        """Turn DuckDB's FileSystem log on for the first watch, off (and emptied) after
        the last; called with the lock held."""
        cursor = self._database.cursor()
        try:
            if on:
                cursor.execute("CALL enable_logging('FileSystem')")
            else:
                cursor.execute("CALL disable_logging()")
                cursor.execute("CALL truncate_duckdb_logs()")
        finally:
            cursor.close()

    def _loop(self) -> None:
        cursor = self._database.cursor()
        try:
            while True:
                with self._lock:
                    while not self._watches and not self._closed:
                        self._wake.wait()
                    if self._closed:
                        return
                    watching = dict(self._watches)
                try:
                    self._read(cursor, watching)
                except Exception:  # a reading that fails is tried again at the next poll
                    log.debug("reading DuckDB's FileSystem log failed", exc_info=True)
                with self._lock:
                    self._wake.wait(self._poll)
        finally:
            cursor.close()

    def _read(self, cursor: Any, watching: dict[int, Watch]) -> None:
        ids = ", ".join(str(i) for i in watching)
        rows = cursor.execute(
            "SELECT connection_id, sum(bytes) FROM duckdb_logs_parsed('FileSystem') "
            f"WHERE op = 'READ' AND connection_id IN ({ids}) GROUP BY connection_id"
        ).fetchall()
        for connection_id, read in rows:
            watch = watching.get(int(connection_id))
            if watch is None:
                continue
            watch.read = int(read or 0)
            if watch.read > watch.budget and not watch.exceeded.is_set():
                watch.exceeded.set()
                with contextlib.suppress(Exception):
                    watch.connection.interrupt()
