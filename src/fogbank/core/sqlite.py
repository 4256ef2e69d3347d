"""What fogbank's own SQLite files (bucket indexes, stream logs, Firehose buffers)
share: the durable connection and the write transaction."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path


def durable_connection(path: Path, *, busy_timeout_ms: int) -> sqlite3.Connection:
    """A connection in WAL mode that fsyncs at every commit (``synchronous=FULL``): what
    a file whose commits acknowledge writes (a stream log, a delivery buffer) opens."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: one writer at a time, rolled back on error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
