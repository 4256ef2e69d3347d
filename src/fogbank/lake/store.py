"""How the lake keeps a bucket on disk: an SQLite index of keys and immutable blob files.

    <lake>/buckets/<name>/bucket.json      name, region, creation date
    <lake>/buckets/<name>/index.sqlite     objects, uploads and parts (WAL)
    <lake>/buckets/<name>/blobs/<xx>/<id>  one immutable file per object or part
    <lake>/buckets/<name>/tmp/<id>         writes in progress

A write streams into ``tmp/``, is fsynced, renamed into ``blobs/`` and only then
committed to the index: the commit is the moment an object becomes visible, so a
``kill -9`` at any point leaves either the old object or the new one, never a part.
Blobs are never modified after the rename, which lets CopyObject hard-link them and
lets readers keep reading a blob that an overwrite has since replaced.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from fogbank.core.errors import FogbankError
from fogbank.core.sqlite import write_transaction

WRITE_CHUNK = 1024 * 1024
PIPELINED_HASH_MIN = 256 * 1024
INDEX_FILE = "index.sqlite"
BUCKET_FILE = "bucket.json"

Body = bytes | bytearray | memoryview | BinaryIO | Iterable[bytes]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    key BLOB PRIMARY KEY,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified REAL NOT NULL,
    content_type TEXT NOT NULL,
    content_encoding TEXT,
    metadata TEXT NOT NULL,
    parts_count INTEGER,
    checksum TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    key BLOB NOT NULL,
    initiated REAL NOT NULL,
    content_type TEXT NOT NULL,
    content_encoding TEXT,
    metadata TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (key, initiated);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL REFERENCES uploads (upload_id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified REAL NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);
"""


@dataclass(frozen=True)
class StagedBlob:
    """A blob fully written and fsynced in ``tmp/``, not yet in ``blobs/``."""

    tmp_path: Path
    size: int
    md5: bytes

    @property
    def etag(self) -> str:
        return self.md5.hex()

    @property
    def md5_base64(self) -> str:
        return base64.b64encode(self.md5).decode("ascii")


def iter_body(body: Body) -> Iterator[bytes | memoryview]:
    """Any body a caller may pass (bytes, a binary file, an iterable of chunks) as chunks.

    Chunks are never buffers a producer may reuse: a bytes body is sliced without
    copying, anything mutable a producer hands over is copied once.
    """
    if isinstance(body, bytes | bytearray | memoryview):
        view = memoryview(body)
        for start in range(0, len(view), WRITE_CHUNK):
            yield view[start : start + WRITE_CHUNK]
        return
    read = getattr(body, "read", None)
    if callable(read):
        while True:
            chunk = read(WRITE_CHUNK)
            if not chunk:
                return
            if not isinstance(chunk, bytes | bytearray):
                raise TypeError("a body file must be opened in binary mode")
            yield chunk if isinstance(chunk, bytes) else bytes(chunk)
    else:
        for chunk in body:
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise TypeError(f"a body must yield bytes; got {type(chunk).__name__}")
            if chunk:
                yield chunk if isinstance(chunk, bytes) else bytes(chunk)


def _write_all(out: BinaryIO, chunk: bytes | memoryview) -> None:
    view = memoryview(chunk)
    while view:
        written = out.write(view)
        view = view[written or 0 :] if written is not None else view[len(view) :]


class BucketFiles:
    """The folder of one bucket: staging, committing and locating blob files."""

    def __init__(self, root: Path, hasher: Executor | None = None) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.blobs = root / "blobs"
        self.index_path = str(root / INDEX_FILE)
        self._blobs_str = str(self.blobs)
        self._hasher = hasher

    def stage(
        self,
        body: Body,
        *,
        max_size: int | None = None,
        too_large: Callable[[int], FogbankError] | None = None,
    ) -> StagedBlob:
        """Stream ``body`` into a new file in ``tmp/``, hashing as it goes, and fsync it.

        Large chunks are hashed on the hasher's thread while the next write runs here
        (both release the GIL), so the MD5 that S3's ETag needs costs little more than
        the write itself.
        """
        path = self.tmp / uuid.uuid4().hex
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        pending: Future[None] | None = None
        try:
            with path.open("xb", buffering=0) as out:
                for chunk in iter_body(body):
                    size += len(chunk)
                    if max_size is not None and size > max_size and too_large is not None:
                        raise too_large(size)
                    if pending is not None:
                        pending.result()
                        pending = None
                    if self._hasher is not None and len(chunk) >= PIPELINED_HASH_MIN:
                        pending = self._hasher.submit(digest.update, chunk)
                    else:
                        digest.update(chunk)
                    _write_all(out, chunk)
                if pending is not None:
                    pending.result()
                os.fsync(out.fileno())
        except BaseException:
            if pending is not None:
                pending.cancel()
            path.unlink(missing_ok=True)
            raise
        return StagedBlob(path, size, digest.digest())

    def stage_concat(self, blob_names: list[str]) -> StagedBlob:
        """Stage one file holding the given blobs back to back (CompleteMultipartUpload)."""
        path = self.tmp / uuid.uuid4().hex
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            with path.open("xb") as out:
                for name in blob_names:
                    with self.path(name).open("rb") as part:
                        while chunk := part.read(WRITE_CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                            size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return StagedBlob(path, size, digest.digest())

    def commit(self, staged: StagedBlob) -> str:
        """Move a staged file into ``blobs/``; returns the blob's name."""
        name = staged.tmp_path.name
        target = self.path(name)
        try:
            staged.tmp_path.rename(target)
        except FileNotFoundError:
            target.parent.mkdir(parents=True, exist_ok=True)
            staged.tmp_path.rename(target)
        return name

    def link(self, source: BucketFiles, blob_name: str) -> str:
        """A new name for an existing immutable blob (CopyObject without copying bytes)."""
        name = uuid.uuid4().hex
        target = self.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source.path(blob_name), target)
        except OSError:
            tmp = self.tmp / name
            shutil.copyfile(source.path(blob_name), tmp)
            with tmp.open("rb") as handle:
                os.fsync(handle.fileno())
            tmp.rename(target)
        return name

    def discard(self, staged: StagedBlob) -> None:
        staged.tmp_path.unlink(missing_ok=True)

    def path(self, blob_name: str) -> Path:
        return self.blobs / blob_name[:2] / blob_name

    def path_str(self, blob_name: str) -> str:
        """:meth:`path` as a string, for the read path where Path objects cost."""
        return f"{self._blobs_str}/{blob_name[:2]}/{blob_name}"

    def remove(self, blob_names: Iterable[str]) -> None:
        for name in blob_names:
            with contextlib.suppress(FileNotFoundError):
                self.path(name).unlink()

    def sweep_stale(self, older_than: float) -> None:
        """Drop writes a killed process left half done (never visible to anyone).

        Only files untouched for ``older_than`` seconds go: another live process may
        be streaming into a younger one.
        """
        cutoff = time.time() - older_than
        if not self.tmp.is_dir():
            return
        for leftover in self.tmp.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()


def open_index(path: Path) -> sqlite3.Connection:
    """Open (and on first use create) a bucket's index in WAL mode.

    ``synchronous=NORMAL`` in WAL mode makes a commit durable against a crash of
    the process (the promise: an acknowledged write survives ``kill -9``); the blob
    bytes themselves are fsynced before the commit that publishes them.
    """
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.executescript(_SCHEMA)
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version < INDEX_VERSION:
        _migrate_index(conn, version)
    return conn


INDEX_VERSION = 1


def _migrate_index(conn: sqlite3.Connection, version: int) -> None:
    """Bring an index written by an older fogbank up to :data:`INDEX_VERSION`."""
    with write_transaction(conn):
        (current,) = conn.execute("PRAGMA user_version").fetchone()
        if current >= INDEX_VERSION:
            return  # another connection migrated it first
        columns = {row[1] for row in conn.execute("PRAGMA table_info(objects)")}
        if "checksum" not in columns:
            conn.execute("ALTER TABLE objects ADD COLUMN checksum TEXT")
        conn.execute(f"PRAGMA user_version = {INDEX_VERSION}")


def dump_metadata(metadata: dict[str, str]) -> str:
    return json.dumps(metadata, sort_keys=True, separators=(",", ":"))


def load_metadata(text: str) -> dict[str, str]:
    if text == "{}":
        return {}
    loaded: dict[str, str] = json.loads(text)
    return loaded
