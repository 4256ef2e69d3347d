"""The lake as an fsspec filesystem, so pandas, pyarrow and polars read and write lake paths.

:class:`LakeFileSystem` maps fsspec's file API onto the lake's S3 operations: ``ls`` is
ListObjectsV2 with delimiter ``/`` (buckets at the root, common prefixes as directories),
``info`` is HeadObject, a read is ranged GetObjects and a write is one PutObject at close
(a multipart upload above 5 GiB). Paths are ``bucket/key``, with or without a
``fogbank://``, ``s3://`` or ``s3a://`` scheme, so the strings that name objects on AWS
work here unchanged. It registers as the ``fogbank`` protocol only: claiming ``s3`` would
take ``s3://`` away from s3fs for the whole process.

Lake errors become the Python errors fsspec callers expect, keeping the AWS code and
message in the text::

    NoSuchBucket, NoSuchKey, NoSuchUpload          -> FileNotFoundError  (ENOENT)
    BucketAlreadyOwnedByYou                        -> FileExistsError    (EEXIST)
    PreconditionFailed on a create ("xb", pipe)    -> FileExistsError    (EEXIST)
    PreconditionFailed on a read or an append      -> OSError            (ESTALE)
    BucketNotEmpty                                 -> OSError            (ENOTEMPTY)
    KeyTooLongError                                -> OSError            (ENAMETOOLONG)
    EntityTooLarge                                 -> OSError            (EFBIG)
    InvalidBucketName, InvalidArgument, InvalidRange,
    InvalidRequest, MetadataTooLarge               -> ValueError
    anything else                                  -> OSError            (EIO)
"""

from __future__ import annotations

import contextlib
import errno
import io
import mimetypes
import os
import shutil
import tempfile
import weakref
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import IO, Any

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem
from fsspec.utils import stringify_path

from fogbank.core.config import FogbankConfig
from fogbank.core.errors import (
    FogbankError,
    InvalidArgument,
    InvalidBucketName,
    InvalidRange,
    KeyTooLongError,
    NoSuchBucket,
    NoSuchKey,
    PreconditionFailed,
)
from fogbank.lake.engine import MAX_DELETE_KEYS, MAX_PUT_SIZE, Lake, MiB
from fogbank.lake.model import Bucket, CompletedPart, ObjectInfo
from fogbank.lake.names import validate_key
from fogbank.lake.rules import MAX_PART_NUMBER

SCHEMES = ("fogbank://", "s3://", "s3a://")
COPY_CHUNK = 1024 * 1024

_OS_ERRORS: dict[str, tuple[type[OSError], int]] = {
    "NoSuchBucket": (FileNotFoundError, errno.ENOENT),
    "NoSuchKey": (FileNotFoundError, errno.ENOENT),
    "NoSuchUpload": (FileNotFoundError, errno.ENOENT),
    "BucketAlreadyOwnedByYou": (FileExistsError, errno.EEXIST),
    "BucketNotEmpty": (OSError, errno.ENOTEMPTY),
    "KeyTooLongError": (OSError, errno.ENAMETOOLONG),
    "EntityTooLarge": (OSError, errno.EFBIG),
}
_VALUE_ERRORS = frozenset(
    {"InvalidBucketName", "InvalidArgument", "InvalidRange", "InvalidRequest", "MetadataTooLarge"}
)


def os_error(exc: FogbankError, path: str) -> Exception:
    """The Python error an fsspec caller expects for a lake error (the table above)."""
    if exc.code in _VALUE_ERRORS:
        return ValueError(str(exc))
    kind, number = _OS_ERRORS.get(exc.code, (OSError, errno.EIO))
    return kind(number, str(exc), path)


@contextlib.contextmanager
def _translated(path: str) -> Iterator[None]:
    try:
        yield
    except FogbankError as exc:
        raise os_error(exc, path) from exc


class LakeFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """fsspec's filesystem API over a :class:`~fogbank.lake.engine.Lake`.

    Give it a lake (which stays the caller's to close), or a fogbank ``home`` (or
    neither, for ``FOGBANK_HOME`` / ``~/.fogbank``), in which case it opens the lake
    itself and closes it in :meth:`close` or when it is garbage collected.

    Instances are not cached (``cachable = False``): fsspec's instance cache would
    keep every lake, and its SQLite connections, alive for the life of the process,
    and a lake is cheap to open. Each ``fsspec.filesystem("fogbank", home=...)``,
    and each pandas call with ``storage_options``, gets its own instance.
    """

    protocol = "fogbank"
    root_marker = ""
    cachable = False
    multipart_threshold: int = MAX_PUT_SIZE
    """Writes larger than this go up as a multipart upload (PutObject stops at 5 GiB)."""
    part_size: int = 256 * MiB

    def __init__(
        self,
        lake: Lake | None = None,
        *,
        home: str | os.PathLike[str] | None = None,
        **storage_options: Any,
    ) -> None:
        super().__init__(**storage_options)
        self._finalizer: weakref.finalize[[], LakeFileSystem] | None = None
        if lake is None:
            config = FogbankConfig.load(home=None if home is None else os.fspath(home))
            lake = Lake(config.lake_root, region=config.region, limits=config.limits)
            self._finalizer = weakref.finalize(self, lake.close)
        elif home is not None:
            raise TypeError("LakeFileSystem takes a lake or a home, not both.")
        self.lake = lake

    def close(self) -> None:
        """Close the lake this filesystem opened; a lake passed in is left open for its owner."""
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> LakeFileSystem:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def fsid(self) -> str:
        return f"fogbank:{self.lake.root}"

    # ------------------------------------------------------------------ paths

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        """``fogbank://bucket/key``, ``s3://bucket/key``, ``/bucket/key/`` -> ``bucket/key``."""
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        text = str(stringify_path(path))
        for scheme in SCHEMES:
            if text.startswith(scheme):
                text = text[len(scheme) :]
                break
        return text.strip("/")

    def split_path(self, path: str) -> tuple[str, str]:
        """``(bucket, key)``: the key is ``""`` for a bucket, and both are for the root."""
        bucket, _, key = self._strip_protocol(path).partition("/")
        return bucket, key

    def _object_path(self, path: str) -> tuple[str, str]:
        bucket, key = self.split_path(path)
        if not key:
            raise IsADirectoryError(
                errno.EISDIR, "a bucket (or the root) is not an object; name a key", path
            )
        return bucket, key

    # ------------------------------------------------------------------ listing

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """Buckets at the root; in a bucket, objects and common prefixes (ListObjectsV2 with
        delimiter ``/``, every page). A file lists as itself."""
        path = self._strip_protocol(path)
        bucket, key = self.split_path(path)
        entries: list[dict[str, Any]] = []
        if not bucket:
            entries = [_bucket_entry(found) for found in self.lake.list_buckets()]
        else:
            prefix = f"{key}/" if key else ""
            token: str | None = None
            with _translated(path):
                while True:
                    page = self.lake.list_objects_v2(
                        bucket, prefix=prefix, delimiter="/", continuation_token=token
                    )
                    entries.extend(_dir_entry(f"{bucket}/{p[:-1]}") for p in page.common_prefixes)
                    entries.extend(_file_entry(o) for o in page.contents if o.key != prefix)
                    if not page.is_truncated:
                        break
                    token = page.next_continuation_token
            if not entries and key:
                found = self.info(path)  # FileNotFoundError when there is nothing at all
                if found["type"] == "file":
                    entries = [found]
        if detail:
            return entries
        return [entry["name"] for entry in entries]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """An object (HeadObject), a bucket (HeadBucket), or a directory when keys exist
        under ``path/``; ``FileNotFoundError`` otherwise."""
        path = self._strip_protocol(path)
        bucket, key = self.split_path(path)
        if not bucket:
            return {"name": "", "type": "directory", "size": 0}
        if not key:
            try:
                return _bucket_entry(self.lake.head_bucket(bucket))
            except (NoSuchBucket, InvalidBucketName) as exc:
                raise FileNotFoundError(errno.ENOENT, str(exc), path) from exc
        try:
            return _file_entry(self.lake.head_object(bucket, key))
        except NoSuchKey as exc:
            missing: FogbankError = exc
        except (NoSuchBucket, InvalidBucketName, InvalidArgument, KeyTooLongError) as exc:
            raise FileNotFoundError(errno.ENOENT, str(exc), path) from exc
        with _translated(path):
            page = self.lake.list_objects_v2(bucket, prefix=f"{key}/", max_keys=1)
        if page.contents or page.common_prefixes:
            return _dir_entry(path)
        raise FileNotFoundError(errno.ENOENT, str(missing), path)

    def find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        detail: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Every object under ``path`` from one flat listing (no delimiter), not one
        listing per directory; with ``maxdepth`` or at the root, fsspec's walk."""
        path = self._strip_protocol(path)
        bucket, key = self.split_path(path)
        if maxdepth is not None or not bucket:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        prefix = f"{key}/" if key else ""
        found: dict[str, dict[str, Any]] = {}
        try:
            with _translated(path):
                for obj in self.lake.iter_objects(bucket, prefix):
                    if withdirs:
                        parents = obj.key[len(prefix) :].split("/")[:-1]
                        for depth in range(1, len(parents) + 1):
                            name = "/".join([path, *parents[:depth]])
                            found.setdefault(name, _dir_entry(name))
                    if not obj.key.endswith("/"):  # a "folder/" marker is no file
                        found[f"{bucket}/{obj.key}"] = _file_entry(obj)
        except (FileNotFoundError, ValueError):
            found = {}
        if withdirs and self.isdir(path):
            found[path] = self.info(path)
        if not found and key and self.isfile(path):
            found[path] = self.info(path)
        names = sorted(found)
        if detail:
            return {name: found[name] for name in names}
        return names

    def created(self, path: str) -> datetime:
        """When the object was written (S3 keeps one time, LastModified) or the bucket created."""
        return self.modified(path)

    def modified(self, path: str) -> datetime:
        """The object's LastModified, or the bucket's CreationDate."""
        found = self.info(path)
        if found["type"] == "file":
            stamp: datetime = found["LastModified"]
            return stamp
        if "CreationDate" in found:
            created: datetime = found["CreationDate"]
            return created
        raise IsADirectoryError(
            errno.EISDIR, "a prefix is no object and S3 keeps no time for it", found["name"]
        )

    # ------------------------------------------------------------------ reading

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        """The object's bytes ``[start:end)`` (GetObject with a Range), negative values
        counting from the end as in a slice."""
        bucket, key = self._object_path(path)
        with _translated(path):
            if (start is not None and start < 0) or (end is not None and end < 0):
                size = self.lake.head_object(bucket, key).size
                start = None if start is None else max(0, start + size if start < 0 else start)
                end = None if end is None else max(0, end + size if end < 0 else end)
            first = start or 0
            if end is not None and end <= first:
                return b""
            byte_range = None if first == 0 and end is None else (first, end and end - 1)
            try:
                with self.lake.get_object(bucket, key, byte_range=byte_range) as body:
                    return body.read()
            except InvalidRange:
                return b""  # a start at or past the end reads nothing, as a slice does

    # ------------------------------------------------------------------ writing

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        """PutObject ``value`` at ``path``; ``mode="create"`` refuses to overwrite
        (If-None-Match: ``*``) with ``FileExistsError``."""
        bucket, key = self._object_path(path)
        if self._intrans:  # deferred with the transaction's other files
            with self.open(path, "xb" if mode == "create" else "wb", **kwargs) as f:
                f.write(value)
            return
        content_type = kwargs.get("content_type") or mimetypes.guess_type(key)[0]
        try:
            with _translated(path):
                self.lake.put_object(
                    bucket,
                    key,
                    value,
                    content_type=content_type,
                    metadata=kwargs.get("metadata"),
                    if_none_match="*" if mode == "create" else None,
                )
        except OSError as exc:
            if isinstance(exc.__cause__, PreconditionFailed):
                raise FileExistsError(errno.EEXIST, str(exc.__cause__), path) from exc.__cause__
            raise

    def _store(
        self,
        bucket: str,
        key: str,
        body: IO[bytes],
        size: int,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> ObjectInfo:
        """Store the ``size`` bytes of ``body``: one PutObject up to :attr:`multipart_threshold`,
        a multipart upload above it (aborted if any step fails, so nothing half-written shows)."""
        if size <= self.multipart_threshold:
            return self.lake.put_object(
                bucket,
                key,
                _chunks(body, size),
                content_type=content_type,
                metadata=metadata,
                if_match=if_match,
                if_none_match=if_none_match,
            )
        if if_match is not None or if_none_match is not None:
            # The lake's CompleteMultipartUpload takes no condition: check up front instead.
            try:
                current: str | None = self.lake.head_object(bucket, key).etag
            except NoSuchKey:
                current = None
            if (if_none_match is not None and current is not None) or (
                if_match is not None and current != if_match
            ):
                raise PreconditionFailed(
                    f"At least one of the pre-conditions you specified did not hold for "
                    f"{key!r} (current ETag {current!r}).",
                    Condition="If-Match" if if_match is not None else "If-None-Match",
                )
        upload = self.lake.create_multipart_upload(
            bucket, key, content_type=content_type, metadata=metadata
        )
        part_size = max(self.part_size, -(-size // MAX_PART_NUMBER))
        try:
            parts = []
            for number, offset in enumerate(range(0, size, part_size), start=1):
                chunks = _chunks(body, min(part_size, size - offset))
                part = self.lake.upload_part(bucket, key, upload.upload_id, number, chunks)
                parts.append(CompletedPart(number, part.etag))
            return self.lake.complete_multipart_upload(bucket, key, upload.upload_id, parts)
        except BaseException:
            with contextlib.suppress(FogbankError):
                self.lake.abort_multipart_upload(bucket, key, upload.upload_id)
            raise

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | str | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> LakeFile:
        return LakeFile(
            self,
            path,
            mode,
            block_size="default" if block_size is None else block_size,
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )

    def open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        cache_options: dict[str, Any] | None = None,
        compression: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """fsspec's ``open``; a text-mode writer also drops its object when the ``with``
        block raises (fsspec's own text wrapper would close, and so publish, it)."""
        if "b" in mode or "r" in mode:
            return super().open(
                path,
                mode,
                block_size=block_size,
                cache_options=cache_options,
                compression=compression,
                **kwargs,
            )
        text_options = {k: kwargs.pop(k) for k in ("encoding", "errors", "newline") if k in kwargs}
        binary = super().open(
            path,
            mode.replace("t", "") + "b",
            block_size=block_size,
            cache_options=cache_options,
            compression=compression,
            **kwargs,
        )
        return _TextWriter(binary, **text_options)

    # ------------------------------------------------------------------ changing

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """CopyObject (metadata copied). A directory source copies nothing: S3 has no
        directories, and fsspec's recursive copy names each object under it."""
        source_bucket, source_key = self.split_path(path1)
        bucket, key = self.split_path(path2)
        if not source_key or (source_bucket, source_key) == (bucket, key):
            return
        if not key:
            raise IsADirectoryError(errno.EISDIR, "copy to an object key, not a bucket", path2)
        try:
            with _translated(path1):
                self.lake.copy_object(source_bucket, source_key, bucket, key)
        except FileNotFoundError:
            if not self.isdir(path1):
                raise

    def rm_file(self, path: str) -> None:
        """DeleteObject: deleting a key that does not exist succeeds, as in S3."""
        bucket, key = self._object_path(path)
        with _translated(path):
            self.lake.delete_object(bucket, key)

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete objects (DeleteObjects, 1,000 keys a call); ``recursive`` takes everything
        under a prefix, and a named bucket is deleted once empty (DeleteBucket)."""
        paths = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)
        keys: defaultdict[str, list[str]] = defaultdict(list)
        buckets: list[str] = []
        for name in paths:
            bucket, key = self.split_path(name)
            if key:
                keys[bucket].append(key)
            elif bucket:
                buckets.append(bucket)
        for bucket, names in keys.items():
            for start in range(0, len(names), MAX_DELETE_KEYS):
                with _translated(bucket):
                    result = self.lake.delete_objects(
                        bucket, names[start : start + MAX_DELETE_KEYS]
                    )
                if result.errors:
                    error = result.errors[0]
                    raise OSError(
                        errno.EIO, f"{error.code}: {error.message}", f"{bucket}/{error.key}"
                    )
        if maxdepth is None:
            for bucket in buckets:
                self.rmdir(bucket)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """At the top level, CreateBucket (``FileExistsError`` if it exists); below it a
        no-op, since prefixes exist by having keys (the bucket is created if missing,
        with ``create_parents``)."""
        bucket, key = self.split_path(path)
        if not bucket:
            raise FileExistsError(errno.EEXIST, "the root always exists", path)
        if self._bucket_exists(bucket):
            if not key:
                raise FileExistsError(errno.EEXIST, f"bucket {bucket!r} exists", path)
            return
        if key and not create_parents:
            raise FileNotFoundError(errno.ENOENT, f"no bucket {bucket!r}", path)
        with _translated(path):
            self.lake.create_bucket(bucket, region=kwargs.get("region"))

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Create the bucket if missing; an existing bucket is ``FileExistsError`` unless
        ``exist_ok``. Prefixes need no creating."""
        try:
            self.mkdir(path, create_parents=True)
        except FileExistsError:
            if not exist_ok:
                raise

    def rmdir(self, path: str) -> None:
        """DeleteBucket for a bucket (``OSError`` ENOTEMPTY unless empty). A prefix vanishes
        with its last key: removing one that still has keys is ENOTEMPTY."""
        bucket, key = self.split_path(path)
        if not key:
            with _translated(path):
                self.lake.delete_bucket(bucket)
            return
        with _translated(path):
            page = self.lake.list_objects_v2(bucket, prefix=f"{key}/", max_keys=1)
        if page.contents:
            raise OSError(errno.ENOTEMPTY, "the prefix still has keys under it", path)

    def _bucket_exists(self, bucket: str) -> bool:
        try:
            with _translated(bucket):
                self.lake.head_bucket(bucket)
        except FileNotFoundError:
            return False
        return True


class LakeFile(AbstractBufferedFile):  # type: ignore[misc]
    """One object opened through :class:`LakeFileSystem`.

    Reading fetches byte ranges with GetObject, each conditional on the ETag seen at
    open, so a reader never mixes two versions (``OSError`` ESTALE if it changed).
    Writing spools to a temporary file (in memory up to the block size) and stores
    the object once, at close: nothing is visible before, and a ``with`` block that
    raises discards it. ``"xb"`` refuses to overwrite; ``"ab"`` rewrites the object
    with the new bytes after the old, failing if another writer got in between.
    """

    closed: bool  # a property of fsspec's base class, which mypy sees as Any

    def __init__(
        self,
        fs: LakeFileSystem,
        path: str,
        mode: str = "rb",
        block_size: int | str = "default",
        autocommit: bool = True,
        cache_type: str = "readahead",
        cache_options: dict[str, Any] | None = None,
        size: int | None = None,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.bucket, self.key = fs._object_path(path)
        self.content_type = content_type or mimetypes.guess_type(self.key)[0]
        self.metadata = dict(metadata or {})
        self._spool: IO[bytes] | None = None
        self._discarded = False
        self._etag: str | None = None
        """The version read, or appended to."""
        appending = 0
        if mode == "rb":  # a size passed in is looked up again, with the ETag
            found = fs.info(path)
            if found["type"] != "file":
                raise IsADirectoryError(errno.EISDIR, "a prefix is no object", path)
            self._details = found
            size = found["size"]
            self._etag = found["ETag"]
        elif mode in ("wb", "xb", "ab"):
            with _translated(path):
                validate_key(self.key)
                fs.lake.head_bucket(self.bucket)  # fail at open, not at close
            if mode == "xb" and fs.exists(path):
                raise FileExistsError(errno.EEXIST, "the object exists", path)
            if mode == "ab":
                with contextlib.suppress(FileNotFoundError):
                    found = fs.info(path)
                    if found["type"] == "file":
                        self._etag = found["ETag"]
                        appending = found["size"]
        super().__init__(
            fs,
            path,
            mode,
            block_size=block_size,
            autocommit=autocommit,
            cache_type=cache_type,
            cache_options=cache_options,
            size=size,
            **kwargs,
        )
        self.loc = appending

    # ------------------------------------------------------------------ reading

    def _fetch_range(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        if start >= end:
            return b""
        try:
            with (
                _translated(self.path),
                self.fs.lake.get_object(
                    self.bucket, self.key, byte_range=(start, end - 1), if_match=self._etag
                ) as body,
            ):
                data: bytes = body.read()
                return data
        except OSError as exc:
            if isinstance(exc.__cause__, PreconditionFailed):
                raise self._stale("read") from exc.__cause__
            raise

    def _stale(self, doing: str) -> OSError:
        return OSError(
            errno.ESTALE,
            f"{self.path!r} changed while it was open to {doing} (it had ETag {self._etag}); "
            "open it again.",
            self.path,
        )

    # ------------------------------------------------------------------ writing

    def _initiate_upload(self) -> None:
        tmp = self.fs.lake.root / "tmp"
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed at commit)
            max_size=self.blocksize, dir=tmp if tmp.is_dir() else None
        )
        self._spool = spool
        if self.mode == "ab" and self._etag is not None:
            try:
                with (
                    _translated(self.path),
                    self.fs.lake.get_object(self.bucket, self.key, if_match=self._etag) as body,
                ):
                    shutil.copyfileobj(body, spool, COPY_CHUNK)
            except BaseException as exc:
                self.discard()
                if isinstance(exc.__cause__, PreconditionFailed):
                    raise self._stale("append") from exc.__cause__
                raise

    def _upload_chunk(self, final: bool = False) -> bool:
        if self._spool is not None:
            self._spool.write(self.buffer.getvalue())
        if final and self.autocommit:
            self.commit()
        return True

    def flush(self, force: bool = False) -> None:
        if self._discarded:
            return
        super().flush(force=force)

    def commit(self) -> None:
        """Store the object: the moment it becomes visible."""
        spool, self._spool = self._spool, None
        if spool is None:
            return
        if self.mode == "xb" or (self.mode == "ab" and self._etag is None):
            if_match, if_none_match = None, "*"
        else:
            if_match, if_none_match = self._etag if self.mode == "ab" else None, None
        try:
            size = spool.seek(0, io.SEEK_END)
            spool.seek(0)
            with _translated(self.path):
                self.fs._store(
                    self.bucket,
                    self.key,
                    spool,
                    size,
                    content_type=self.content_type,
                    metadata=self.metadata,
                    if_match=if_match,
                    if_none_match=if_none_match,
                )
        except OSError as exc:
            if not isinstance(exc.__cause__, PreconditionFailed):
                raise
            if self.mode == "ab":
                raise self._stale("append") from exc.__cause__
            raise FileExistsError(errno.EEXIST, str(exc.__cause__), self.path) from exc.__cause__
        finally:
            spool.close()

    def discard(self) -> None:
        """Drop what was written: the object is left as it was."""
        self._discarded = True
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()

    def close(self) -> None:
        if self._discarded and not self.closed:
            self.closed = True
            return
        super().close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and self.writable():
            self.discard()
        self.close()


class _TextWriter(io.TextIOWrapper):
    """A text-mode writer whose ``with`` block, if it raises, discards the object."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        discard = getattr(self.buffer, "discard", None)
        if exc_type is not None and callable(discard):
            discard()
        self.close()


def _chunks(source: IO[bytes], limit: int) -> Iterator[bytes]:
    """The next ``limit`` bytes of ``source`` (or what is left), a chunk at a time."""
    left = limit
    while left > 0:
        chunk = source.read(min(COPY_CHUNK, left))
        if not chunk:
            return
        left -= len(chunk)
        yield chunk


def _file_entry(info: ObjectInfo) -> dict[str, Any]:
    return {
        "name": f"{info.bucket}/{info.key}",
        "type": "file",
        "size": info.size,
        "ETag": info.quoted_etag,
        "LastModified": info.last_modified,
        "mtime": info.last_modified,
        "ContentType": info.content_type,
        "ContentEncoding": info.content_encoding,
        "Metadata": dict(info.metadata),
        "StorageClass": info.storage_class,
    }


def _dir_entry(name: str) -> dict[str, Any]:
    return {"name": name, "type": "directory", "size": 0, "StorageClass": "DIRECTORY"}


def _bucket_entry(bucket: Bucket) -> dict[str, Any]:
    return {
        "name": bucket.name,
        "type": "directory",
        "size": 0,
        "StorageClass": "BUCKET",
        "CreationDate": bucket.creation_date,
        "Region": bucket.region,
    }
