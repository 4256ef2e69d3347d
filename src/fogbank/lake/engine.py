"""The lake engine: S3 semantics (buckets, objects, listing, multipart) over a local folder.

Every operation mirrors the S3 operation of the same name, with S3's limits and
error codes; the on-disk layout and its crash-safety argument live in
:mod:`fogbank.lake.store`. Methods that take a ``location`` accept
``s3://bucket/key``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from fogbank.core.clock import Clock, SystemClock
from fogbank.core.errors import (
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    EntityTooLarge,
    EntityTooSmall,
    FogbankError,
    InvalidArgument,
    InvalidPart,
    InvalidPartOrder,
    InvalidRequest,
    MalformedXML,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    PreconditionFailed,
)
from fogbank.core.sqlite import write_transaction
from fogbank.lake.model import (
    Bucket,
    CompletedPart,
    DeleteError,
    DeleteResult,
    ListPage,
    MultipartUpload,
    ObjectBody,
    ObjectChecksum,
    ObjectInfo,
    Part,
    PartsPage,
    UploadsPage,
)
from fogbank.lake.names import parse_location, validate_bucket_name, validate_key
from fogbank.lake.ranges import resolve_range
from fogbank.lake.rules import (
    check_conditions,
    check_md5,
    check_part_number,
    clean_metadata,
    etag_matches,
    utf8,
)
from fogbank.lake.store import (
    BUCKET_FILE,
    INDEX_FILE,
    Body,
    BucketFiles,
    StagedBlob,
    dump_metadata,
    load_metadata,
    open_index,
)

GiB = 1024**3
MiB = 1024**2
MAX_PUT_SIZE = 5 * GiB
MAX_PART_SIZE = 5 * GiB
MIN_PART_SIZE = 5 * MiB
MAX_KEYS = 1000
MAX_DELETE_KEYS = 1000
DEFAULT_CONTENT_TYPE = "binary/octet-stream"
STALE_TMP_SECONDS = 600.0

# UploadPartCopy takes only bytes=first-last: no suffix (bytes=-N) or open (bytes=N-) form.
_COPY_SOURCE_RANGE = re.compile(r"bytes=[0-9]+-[0-9]+")

_OBJECT_COLUMNS = (
    "key, blob, size, etag, last_modified, content_type, content_encoding, metadata, "
    "parts_count, checksum"
)
_SELECT_OBJECT = f"SELECT {_OBJECT_COLUMNS} FROM objects WHERE key = ?"
_UPSERT_OBJECT = f"INSERT OR REPLACE INTO objects ({_OBJECT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"


@dataclass
class _OpenBucket:
    """One bucket's folder and an index connection owned by one thread."""

    name: str
    files: BucketFiles
    conn: sqlite3.Connection
    inode: int

    @property
    def index_path(self) -> str:
        return self.files.index_path


@dataclass(frozen=True)
class _Row:
    info: ObjectInfo
    blob: str


class Lake:
    """S3 semantics over the folder ``root``: the object store every service writes through."""

    def __init__(
        self,
        root: Path,
        *,
        clock: Clock | None = None,
        region: str = "us-east-1",
        limits: bool = True,
    ) -> None:
        self.root = Path(root)
        self.clock: Clock = clock or SystemClock()
        self.region = region
        self.limits = limits
        self._buckets_dir = self.root / "buckets"
        self._tmp = self.root / "tmp"
        self._buckets_dir.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all_conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._swept: set[str] = set()
        self._hasher: ThreadPoolExecutor | None = None
        self._markers: dict[str, tuple[int, int, sqlite3.Connection]] = {}
        self._markers_lock = threading.Lock()
        self._marker_connections = 0

    # ------------------------------------------------------------------ buckets

    def create_bucket(self, name: str, *, region: str | None = None) -> Bucket:
        """CreateBucket. Re-creating a bucket you own answers with the existing bucket in
        us-east-1 and raises ``BucketAlreadyOwnedByYou`` in every other region, as S3 does."""
        validate_bucket_name(name)
        region = region or self.region
        target = self._buckets_dir / name
        if target.exists():
            return self._already_owned(name, region)
        staging = self._tmp / f"bucket-{uuid.uuid4().hex}"
        staging.mkdir()
        created = self._now()
        try:
            meta = {"name": name, "region": region, "created": created.timestamp()}
            (staging / BUCKET_FILE).write_text(json.dumps(meta), encoding="utf-8")
            open_index(staging / INDEX_FILE).close()
            (staging / "tmp").mkdir()
            (staging / "blobs").mkdir()
            try:
                staging.rename(target)
            except OSError:
                if target.exists():
                    return self._already_owned(name, region)
                raise
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return Bucket(name, created, region)

    def _already_owned(self, name: str, region: str) -> Bucket:
        existing = self.head_bucket(name)
        if region == "us-east-1" and existing.region == "us-east-1":
            return existing
        raise BucketAlreadyOwnedByYou(
            f"Your previous request to create the named bucket succeeded and you already own "
            f"it: bucket {name!r} exists. Use it, or choose another Bucket name.",
            BucketName=name,
        )

    def head_bucket(self, name: str) -> Bucket:
        """HeadBucket: the bucket's name, creation date and region."""
        validate_bucket_name(name)
        try:
            meta = json.loads((self._buckets_dir / name / BUCKET_FILE).read_text("utf-8"))
        except FileNotFoundError:
            raise self._no_such_bucket(name) from None
        return Bucket(name, datetime.fromtimestamp(meta["created"], UTC), meta["region"])

    def list_buckets(self) -> list[Bucket]:
        """ListBuckets, sorted by name."""
        buckets = []
        for entry in sorted(path.name for path in self._buckets_dir.iterdir()):
            with contextlib.suppress(FogbankError):
                buckets.append(self.head_bucket(entry))
        return buckets

    def delete_bucket(self, name: str) -> None:
        """DeleteBucket: only an empty bucket can be deleted (``BucketNotEmpty``)."""
        handle = self._open(name)
        (count,) = handle.conn.execute("SELECT count(*) FROM objects").fetchone()
        if count:
            raise BucketNotEmpty(
                f"The bucket you tried to delete is not empty: {name!r} holds {count} "
                "object(s). Delete them first (DeleteObjects), then delete the bucket.",
                BucketName=name,
            )
        self._forget(name)
        trash = self._tmp / f"trash-{uuid.uuid4().hex}"
        try:
            (self._buckets_dir / name).rename(trash)
        except FileNotFoundError:
            raise self._no_such_bucket(name) from None
        shutil.rmtree(trash, ignore_errors=True)

    # ------------------------------------------------------------------ objects

    def put_object(
        self,
        bucket: str,
        key: str,
        body: Body,
        *,
        content_type: str | None = None,
        content_encoding: str | None = None,
        metadata: Mapping[str, str] | None = None,
        content_md5: str | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        checksum: ObjectChecksum | Callable[[], ObjectChecksum | None] | None = None,
    ) -> ObjectInfo:
        """PutObject: store ``body`` (bytes, a binary file or an iterable of chunks) at ``key``.

        ``checksum`` is the additional checksum (CRC32, SHA256...) the client sent and the
        caller verified, kept and returned by GetObject / HeadObject; a callable is asked
        once the body has been read (its value may come in a trailer).

        The body is streamed to disk, never held whole. ``content_md5`` (base64, as the
        Content-MD5 header) is verified (``BadDigest``). ``if_none_match="*"`` refuses to
        overwrite and ``if_match`` requires the current ETag (``PreconditionFailed``).
        """
        key_bytes = validate_key(key)
        meta = clean_metadata(metadata)
        handle = self._open(bucket)
        staged = handle.files.stage(
            body,
            max_size=MAX_PUT_SIZE if self.limits else None,
            too_large=lambda size: EntityTooLarge(
                f"Your proposed upload exceeds the maximum allowed object size: the body is "
                f"over {MAX_PUT_SIZE} bytes. Use a multipart upload for objects over 5 GiB.",
                MaxSizeAllowed=str(MAX_PUT_SIZE),
            ),
        )
        try:
            check_md5(staged, content_md5)
            info = ObjectInfo(
                bucket=bucket,
                key=key,
                size=staged.size,
                etag=staged.etag,
                last_modified=self._now(),
                content_type=content_type or DEFAULT_CONTENT_TYPE,
                content_encoding=content_encoding,
                metadata=meta,
                checksum=checksum() if callable(checksum) else checksum,
            )
            self._publish(handle, key_bytes, staged, info, if_match, if_none_match)
        except BaseException:
            handle.files.discard(staged)
            raise
        return info

    def _publish(
        self,
        handle: _OpenBucket,
        key_bytes: bytes,
        staged: StagedBlob,
        info: ObjectInfo,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> None:
        """Move a staged blob into place and commit its index row: the visibility point."""
        blob = handle.files.commit(staged)
        try:
            self._insert(handle, key_bytes, blob, info, if_match, if_none_match)
        except BaseException:
            handle.files.remove([blob])
            raise

    def _insert(
        self,
        handle: _OpenBucket,
        key_bytes: bytes,
        blob: str,
        info: ObjectInfo,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> None:
        with write_transaction(handle.conn) as conn:
            row = conn.execute("SELECT blob, etag FROM objects WHERE key = ?", (key_bytes,))
            previous = row.fetchone()
            if (
                if_none_match is not None
                and previous is not None
                and etag_matches(if_none_match, previous[1])
            ):
                raise PreconditionFailed(
                    f"At least one of the pre-conditions you specified did not hold: "
                    f"If-None-Match {if_none_match!r} but {info.key!r} already exists. "
                    "Drop the condition to overwrite it.",
                    Condition="If-None-Match",
                )
            if if_match is not None:
                if previous is None:
                    raise self._no_such_key(info.bucket, info.key)
                if not etag_matches(if_match, previous[1]):
                    raise PreconditionFailed(
                        f"At least one of the pre-conditions you specified did not hold: "
                        f"If-Match {if_match!r} but the ETag of {info.key!r} is "
                        f'"{previous[1]}". Read the object again and retry with its ETag.',
                        Condition="If-Match",
                    )
            conn.execute(_UPSERT_OBJECT, _object_row(key_bytes, blob, info))
        if previous is not None:
            handle.files.remove([previous[0]])

    def head_object(
        self,
        bucket: str,
        key: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: datetime | None = None,
        if_unmodified_since: datetime | None = None,
    ) -> ObjectInfo:
        """HeadObject, with GetObject's conditional headers."""
        handle = self._open(bucket)
        info = self._row(handle, key).info
        check_conditions(info, if_match, if_none_match, if_modified_since, if_unmodified_since)
        return info

    def get_object(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: str | tuple[int, int | None] | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: datetime | None = None,
        if_unmodified_since: datetime | None = None,
    ) -> ObjectBody:
        """GetObject: a streaming body, optionally one byte range (``bytes=0-99``).

        Conditions follow S3: a failed If-Match / If-Unmodified-Since raises
        ``PreconditionFailed``; a matching If-None-Match or an unchanged object under
        If-Modified-Since raises ``NotModified`` (HTTP 304).
        """
        handle = self._open(bucket)
        for _ in range(5):
            row = self._row(handle, key)
            if if_match or if_none_match or if_modified_since or if_unmodified_since:
                check_conditions(
                    row.info, if_match, if_none_match, if_modified_since, if_unmodified_since
                )
            resolved = None if byte_range is None else resolve_range(byte_range, row.info.size)
            try:
                blob_file: BinaryIO = open(handle.files.path_str(row.blob), "rb", buffering=0)  # noqa: SIM115, PTH123 - closed by ObjectBody
            except FileNotFoundError:
                continue  # overwritten between the lookup and the open: look again
            if resolved is None:
                return ObjectBody(row.info, blob_file, 0, row.info.size - 1, None)
            first, last = resolved
            return ObjectBody(row.info, blob_file, first, last, (first, last, row.info.size))
        raise self._no_such_key(bucket, key)

    def delete_object(self, bucket: str, key: str) -> None:
        """DeleteObject: deleting a key that does not exist succeeds, as in S3."""
        handle = self._open(bucket)
        key_bytes = validate_key(key)
        with write_transaction(handle.conn) as conn:
            row = conn.execute("SELECT blob FROM objects WHERE key = ?", (key_bytes,)).fetchone()
            if row is not None:
                conn.execute("DELETE FROM objects WHERE key = ?", (key_bytes,))
        if row is not None:
            handle.files.remove([row[0]])

    def delete_objects(self, bucket: str, keys: Iterable[str]) -> DeleteResult:
        """DeleteObjects: up to 1,000 keys in one call; each reported deleted or in error."""
        key_list = list(keys)
        if not key_list:
            raise MalformedXML(
                "The XML you provided was not well-formed or did not validate against our "
                "published schema: Delete must name at least one Object.",
            )
        if len(key_list) > MAX_DELETE_KEYS and self.limits:
            raise MalformedXML(
                f"The XML you provided was not well-formed or did not validate against our "
                f"published schema: Delete names {len(key_list)} objects; the maximum is "
                f"{MAX_DELETE_KEYS}. Split the request.",
            )
        handle = self._open(bucket)
        deleted: list[str] = []
        errors: list[DeleteError] = []
        blobs: list[str] = []
        with write_transaction(handle.conn) as conn:
            for key in key_list:
                try:
                    key_bytes = validate_key(key)
                except FogbankError as exc:
                    errors.append(DeleteError(str(key), exc.code, exc.message))
                    continue
                row = conn.execute("SELECT blob FROM objects WHERE key = ?", (key_bytes,))
                found = row.fetchone()
                if found is not None:
                    conn.execute("DELETE FROM objects WHERE key = ?", (key_bytes,))
                    blobs.append(found[0])
                deleted.append(key)
        handle.files.remove(blobs)
        return DeleteResult(deleted, errors)

    def copy_object(
        self,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        *,
        metadata_directive: str = "COPY",
        content_type: str | None = None,
        content_encoding: str | None = None,
        metadata: Mapping[str, str] | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: datetime | None = None,
        if_unmodified_since: datetime | None = None,
    ) -> ObjectInfo:
        """CopyObject. ``metadata_directive`` COPY keeps the source's metadata; REPLACE takes
        the given one. The conditions apply to the source (x-amz-copy-source-if-*)."""
        if metadata_directive not in ("COPY", "REPLACE"):
            raise InvalidArgument(
                f"Unknown metadata directive {metadata_directive!r}: use COPY or REPLACE.",
                ArgumentName="x-amz-metadata-directive",
                ArgumentValue=metadata_directive,
            )
        key_bytes = validate_key(key)
        if source_bucket == bucket and source_key == key and metadata_directive == "COPY":
            raise InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself "
                "without changing the object's metadata, storage class, website redirect "
                "location or encryption attributes. Use metadata_directive='REPLACE'.",
            )
        source_handle = self._open(source_bucket)
        handle = self._open(bucket)
        for _ in range(5):
            source = self._row(source_handle, source_key)
            check_conditions(
                source.info,
                if_match,
                if_none_match,
                if_modified_since,
                if_unmodified_since,
                not_modified_is_failure=True,
            )
            if self.limits and source.info.size > MAX_PUT_SIZE:
                raise InvalidRequest(
                    f"The specified copy source is larger than the maximum allowable size for "
                    f"a copy source: {MAX_PUT_SIZE}. Use UploadPartCopy for objects over 5 GiB.",
                )
            try:
                blob = handle.files.link(source_handle.files, source.blob)
            except FileNotFoundError:
                continue
            break
        else:
            raise self._no_such_key(source_bucket, source_key)
        etag = source.info.etag
        if "-" in etag:
            # A copy is one object, not parts: its ETag is the MD5 of the bytes.
            etag = _md5_file(handle.files.path(blob))
        if metadata_directive == "REPLACE":
            ctype, cenc = content_type or DEFAULT_CONTENT_TYPE, content_encoding
            meta: Mapping[str, str] = clean_metadata(metadata)
        else:
            ctype, cenc = source.info.content_type, source.info.content_encoding
            meta = source.info.metadata
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=source.info.size,
            etag=etag,
            last_modified=self._now(),
            content_type=ctype,
            content_encoding=cenc,
            metadata=meta,
        )
        try:
            self._insert(handle, key_bytes, blob, info)
        except BaseException:
            handle.files.remove([blob])
            raise
        return info

    # ------------------------------------------------------------------ listing

    def list_objects_v2(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        max_keys: int = MAX_KEYS,
        continuation_token: str | None = None,
        start_after: str | None = None,
    ) -> ListPage:
        """ListObjectsV2: keys in UTF-8 byte order, common prefixes grouped by ``delimiter``.

        At most 1,000 entries (keys plus common prefixes) a page; ``continuation_token``
        resumes where ``next_continuation_token`` left off; ``start_after`` applies to
        the first page only.
        """
        if continuation_token is not None:
            marker = _decode_token(continuation_token)
        else:
            marker = utf8(start_after, "start-after") if start_after else b""
        entries, truncated, next_marker = self._scan(bucket, prefix, delimiter, marker, max_keys)
        contents = [e for e in entries if isinstance(e, ObjectInfo)]
        prefixes = [e for e in entries if isinstance(e, str)]
        return ListPage(
            bucket=bucket,
            contents=contents,
            common_prefixes=prefixes,
            is_truncated=truncated,
            next_continuation_token=_encode_token(next_marker) if truncated else None,
            prefix=prefix,
            delimiter=delimiter,
            max_keys=max_keys,
            start_after=start_after,
            continuation_token=continuation_token,
        )

    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        max_keys: int = MAX_KEYS,
        marker: str | None = None,
    ) -> ListPage:
        """ListObjects (version 1): like V2, resumed by ``marker``, which is the last key or
        common prefix of the previous page (``next_marker``)."""
        start = utf8(marker, "marker") if marker else b""
        # A common prefix as marker skips its whole group. Only a common prefix: a key
        # that merely ends in the delimiter ("dir/" under Prefix "dir/") is a key.
        if delimiter and marker and marker.startswith(prefix):
            at = marker.find(delimiter, len(prefix))
            if at >= 0 and at + len(delimiter) == len(marker):
                start += b"\xff"
        entries, truncated, _ = self._scan(bucket, prefix, delimiter, start, max_keys)
        contents = [e for e in entries if isinstance(e, ObjectInfo)]
        prefixes = [e for e in entries if isinstance(e, str)]
        last = entries[-1] if entries else None
        next_marker = None
        if truncated and last is not None:
            next_marker = last.key if isinstance(last, ObjectInfo) else last
        return ListPage(
            bucket=bucket,
            contents=contents,
            common_prefixes=prefixes,
            is_truncated=truncated,
            next_continuation_token=None,
            prefix=prefix,
            delimiter=delimiter,
            max_keys=max_keys,
            start_after=marker,
            next_marker=next_marker,
        )

    def iter_objects(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under ``prefix``, page after page."""
        token: str | None = None
        while True:
            page = self.list_objects_v2(bucket, prefix=prefix, continuation_token=token)
            yield from page.contents
            if not page.is_truncated:
                return
            token = page.next_continuation_token

    def _scan(
        self, bucket: str, prefix: str, delimiter: str | None, marker: bytes, max_keys: int
    ) -> tuple[list[ObjectInfo | str], bool, bytes]:
        """Walk the index in key order after ``marker``; returns entries, truncation and
        the marker to resume after the last entry returned."""
        if not isinstance(max_keys, int) or isinstance(max_keys, bool) or max_keys < 0:
            raise InvalidArgument(
                f"max-keys must be an integer from 0 to {MAX_KEYS}; got {max_keys!r}.",
                ArgumentName="max-keys",
                ArgumentValue=str(max_keys),
            )
        handle = self._open(bucket)
        limit = min(max_keys, MAX_KEYS)
        if limit == 0:
            return [], False, marker
        prefix_bytes = utf8(prefix, "prefix")
        delim_bytes = utf8(delimiter, "delimiter") if delimiter else b""
        entries: list[ObjectInfo | str] = []
        resume: list[bytes] = []
        cursor = max(marker, prefix_bytes) if marker else prefix_bytes
        inclusive = not marker or marker < prefix_bytes
        exhausted = False
        while len(entries) <= limit and not exhausted:
            want = limit + 1 - len(entries)
            rows = handle.conn.execute(
                f"SELECT {_OBJECT_COLUMNS} FROM objects WHERE key {'>=' if inclusive else '>'} ? "
                "ORDER BY key LIMIT ?",
                (cursor, want),
            ).fetchall()
            inclusive = False
            exhausted = len(rows) < want
            for row in rows:
                key: bytes = row[0]
                if not key.startswith(prefix_bytes):
                    exhausted = True
                    break
                if delim_bytes:
                    at = key.find(delim_bytes, len(prefix_bytes))
                    if at >= 0:
                        common = key[: at + len(delim_bytes)]
                        entries.append(common.decode("utf-8"))
                        cursor = common + b"\xff"  # past every key in this group
                        resume.append(cursor)
                        exhausted = False
                        break
                entries.append(_info(bucket, row))
                cursor = key
                resume.append(key)
                if len(entries) > limit:
                    break
        truncated = len(entries) > limit
        entries = entries[:limit]
        next_marker = resume[limit - 1] if truncated else marker
        return entries, truncated, next_marker

    # ------------------------------------------------------------------ multipart

    def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        content_encoding: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> MultipartUpload:
        """CreateMultipartUpload: returns the upload and its id."""
        key_bytes = validate_key(key)
        meta = clean_metadata(metadata)
        handle = self._open(bucket)
        upload = MultipartUpload(
            bucket=bucket,
            key=key,
            upload_id=secrets.token_hex(32),
            initiated=self._now(),
            content_type=content_type or DEFAULT_CONTENT_TYPE,
            content_encoding=content_encoding,
            metadata=meta,
        )
        with write_transaction(handle.conn) as conn:
            conn.execute(
                "INSERT INTO uploads (upload_id, key, initiated, content_type, content_encoding, "
                "metadata) VALUES (?,?,?,?,?,?)",
                (
                    upload.upload_id,
                    key_bytes,
                    upload.initiated.timestamp(),
                    upload.content_type,
                    content_encoding,
                    dump_metadata(meta),
                ),
            )
        return upload

    def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        body: Body,
        *,
        content_md5: str | None = None,
    ) -> Part:
        """UploadPart: part numbers 1 to 10,000; uploading a number again replaces the part."""
        handle = self._open(bucket)
        check_part_number(part_number)
        self._upload(handle, key, upload_id)
        staged = handle.files.stage(
            body,
            max_size=MAX_PART_SIZE if self.limits else None,
            too_large=lambda size: EntityTooLarge(
                f"Your proposed upload exceeds the maximum allowed object size: part "
                f"{part_number} is over {MAX_PART_SIZE} bytes; use smaller parts.",
                MaxSizeAllowed=str(MAX_PART_SIZE),
            ),
        )
        try:
            check_md5(staged, content_md5)
            return self._store_part(handle, key, upload_id, part_number, staged)
        except BaseException:
            handle.files.discard(staged)
            raise

    def upload_part_copy(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        source_bucket: str,
        source_key: str,
        *,
        source_range: str | None = None,
    ) -> Part:
        """UploadPartCopy: a part made of another object's bytes (``bytes=first-last``)."""
        handle = self._open(bucket)
        check_part_number(part_number)
        self._upload(handle, key, upload_id)
        if source_range is not None and (
            _COPY_SOURCE_RANGE.fullmatch(source_range) is None
            or resolve_range(source_range, 1 << 62) is None
        ):
            raise InvalidArgument(
                f"The x-amz-copy-source-range value must be of the form bytes=first-last where "
                f"first and last are the zero-based offsets of the first and last bytes to "
                f"copy; got {source_range!r}.",
                ArgumentName="x-amz-copy-source-range",
                ArgumentValue=source_range,
            )
        with self.get_object(source_bucket, source_key, byte_range=source_range) as source:
            staged = handle.files.stage(source)
        try:
            return self._store_part(handle, key, upload_id, part_number, staged)
        except BaseException:
            handle.files.discard(staged)
            raise

    def _store_part(
        self, handle: _OpenBucket, key: str, upload_id: str, part_number: int, staged: StagedBlob
    ) -> Part:
        blob = handle.files.commit(staged)
        part = Part(part_number, staged.etag, staged.size, self._now())
        try:
            with write_transaction(handle.conn) as conn:
                self._upload(handle, key, upload_id)
                row = conn.execute(
                    "SELECT blob FROM parts WHERE upload_id = ? AND part_number = ?",
                    (upload_id, part_number),
                ).fetchone()
                conn.execute(
                    "INSERT OR REPLACE INTO parts (upload_id, part_number, blob, size, etag, "
                    "last_modified) VALUES (?,?,?,?,?,?)",
                    (
                        upload_id,
                        part_number,
                        blob,
                        part.size,
                        part.etag,
                        part.last_modified.timestamp(),
                    ),
                )
        except BaseException:
            handle.files.remove([blob])
            raise
        if row is not None:
            handle.files.remove([row[0]])
        return part

    def complete_multipart_upload(
        self, bucket: str, key: str, upload_id: str, parts: Iterable[CompletedPart]
    ) -> ObjectInfo:
        """CompleteMultipartUpload: join the named parts into one object.

        Parts must be listed in ascending order (``InvalidPartOrder``), each with the
        ETag UploadPart returned (``InvalidPart``); every part but the last must be at
        least 5 MiB (``EntityTooSmall``). The ETag is the MD5 of the parts' binary MD5s
        followed by ``-<number of parts>``. Parts not named are discarded.
        """
        key_bytes = validate_key(key)
        handle = self._open(bucket)
        upload = self._upload(handle, key, upload_id)
        wanted = list(parts)
        if not wanted:
            raise MalformedXML(
                "The XML you provided was not well-formed or did not validate against our "
                "published schema: CompleteMultipartUpload must list at least one Part.",
            )
        stored = {
            number: (blob, size, etag)
            for number, blob, size, etag in handle.conn.execute(
                "SELECT part_number, blob, size, etag FROM parts WHERE upload_id = ?",
                (upload_id,),
            )
        }
        previous = 0
        for index, part in enumerate(wanted):
            if part.part_number <= previous:
                raise InvalidPartOrder(
                    "The list of parts was not in ascending order. The parts list must be "
                    f"specified in order by part number: part {part.part_number} comes after "
                    f"part {previous}.",
                    UploadId=upload_id,
                )
            previous = part.part_number
            found = stored.get(part.part_number)
            if found is None or not etag_matches(part.etag, found[2]):
                raise InvalidPart(
                    "One or more of the specified parts could not be found. The part may not "
                    "have been uploaded, or the specified entity tag may not match the part's "
                    f"entity tag: part {part.part_number} with ETag {part.etag!r}.",
                    UploadId=upload_id,
                    PartNumber=str(part.part_number),
                    ETag=part.etag,
                )
            if self.limits and index < len(wanted) - 1 and found[1] < MIN_PART_SIZE:
                raise EntityTooSmall(
                    f"Your proposed upload is smaller than the minimum allowed size: part "
                    f"{part.part_number} is {found[1]} bytes; every part but the last must be "
                    f"at least {MIN_PART_SIZE} bytes (5 MiB).",
                    ProposedSize=str(found[1]),
                    MinSizeAllowed=str(MIN_PART_SIZE),
                    PartNumber=str(part.part_number),
                    ETag=part.etag,
                )
        chosen = [stored[p.part_number] for p in wanted]
        digest = hashlib.md5(usedforsecurity=False)
        for _, _, etag in chosen:
            digest.update(bytes.fromhex(etag))
        staged = handle.files.stage_concat([blob for blob, _, _ in chosen])
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=staged.size,
            etag=f"{digest.hexdigest()}-{len(chosen)}",
            last_modified=self._now(),
            content_type=upload.content_type,
            content_encoding=upload.content_encoding,
            metadata=upload.metadata,
            parts_count=len(chosen),
        )
        blob = handle.files.commit(staged)
        try:
            with write_transaction(handle.conn) as conn:
                self._upload(handle, key, upload_id)
                previous_row = conn.execute(
                    "SELECT blob FROM objects WHERE key = ?", (key_bytes,)
                ).fetchone()
                conn.execute(_UPSERT_OBJECT, _object_row(key_bytes, blob, info))
                conn.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
        except BaseException:
            handle.files.remove([blob])
            raise
        obsolete = [stored_blob for stored_blob, _, _ in stored.values()]
        if previous_row is not None:
            obsolete.append(previous_row[0])
        handle.files.remove(obsolete)
        return info

    def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """AbortMultipartUpload: the upload and all its parts are gone."""
        handle = self._open(bucket)
        with write_transaction(handle.conn) as conn:
            self._upload(handle, key, upload_id)
            blobs = [
                blob
                for (blob,) in conn.execute(
                    "SELECT blob FROM parts WHERE upload_id = ?", (upload_id,)
                )
            ]
            conn.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
        handle.files.remove(blobs)

    def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        max_parts: int = 1000,
        part_number_marker: int = 0,
    ) -> PartsPage:
        """ListParts: the parts uploaded so far, by part number, after ``part_number_marker``."""
        handle = self._open(bucket)
        self._upload(handle, key, upload_id)
        if max_parts < 0:
            raise InvalidArgument(
                f"max-parts must be an integer from 0 to 1000; got {max_parts}.",
                ArgumentName="max-parts",
            )
        limit = min(max_parts, 1000)
        rows = handle.conn.execute(
            "SELECT part_number, etag, size, last_modified FROM parts WHERE upload_id = ? "
            "AND part_number > ? ORDER BY part_number LIMIT ?",
            (upload_id, part_number_marker, limit + 1),
        ).fetchall()
        parts = [Part(n, etag, size, _from_epoch(ts)) for n, etag, size, ts in rows[:limit]]
        truncated = len(rows) > limit
        return PartsPage(
            bucket=bucket,
            key=key,
            upload_id=upload_id,
            parts=parts,
            is_truncated=truncated,
            part_number_marker=part_number_marker,
            next_part_number_marker=parts[-1].part_number if parts else None,
            max_parts=max_parts,
        )

    def list_multipart_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        key_marker: str | None = None,
        upload_id_marker: str | None = None,
        max_uploads: int = 1000,
    ) -> UploadsPage:
        """ListMultipartUploads: uploads in progress by key then initiation time."""
        handle = self._open(bucket)
        limit = min(max(max_uploads, 0), 1000)
        rows = handle.conn.execute(
            "SELECT upload_id, key, initiated, content_type, content_encoding, metadata "
            "FROM uploads ORDER BY key, initiated, upload_id"
        ).fetchall()
        marker_key = utf8(key_marker, "key-marker") if key_marker else None
        uploads: list[MultipartUpload] = []
        prefixes: list[str] = []
        # The page's last entry, (key, upload id) or (common prefix, None): the next markers.
        last: tuple[str, str | None] | None = None
        truncated = False
        passed_upload_marker = upload_id_marker is None
        for upload_id, key_bytes, initiated, ctype, cenc, meta in rows:
            key = key_bytes.decode("utf-8")
            if not key.startswith(prefix):
                continue
            if marker_key is not None:
                if key_bytes < marker_key:
                    continue
                if key_bytes == marker_key:
                    if not passed_upload_marker:
                        passed_upload_marker = upload_id == upload_id_marker
                        continue
                    if upload_id_marker is None:
                        continue
            if delimiter:
                at = key.find(delimiter, len(prefix))
                if at >= 0:
                    common = key[: at + len(delimiter)]
                    # common == key_marker: a common prefix ended the previous page.
                    if common not in prefixes and common != key_marker:
                        if len(uploads) + len(prefixes) >= limit:
                            truncated = True
                            break
                        prefixes.append(common)
                        last = (common, None)
                    continue
            if len(uploads) + len(prefixes) >= limit:
                truncated = True
                break
            uploads.append(
                MultipartUpload(
                    bucket, key, upload_id, _from_epoch(initiated), ctype, cenc, load_metadata(meta)
                )
            )
            last = (key, upload_id)
        return UploadsPage(
            bucket=bucket,
            uploads=uploads,
            common_prefixes=prefixes,
            is_truncated=truncated,
            next_key_marker=last[0] if truncated and last else None,
            next_upload_id_marker=last[1] if truncated and last else None,
            prefix=prefix,
            delimiter=delimiter,
            max_uploads=max_uploads,
        )

    def _upload(self, handle: _OpenBucket, key: str, upload_id: str) -> MultipartUpload:
        row = handle.conn.execute(
            "SELECT key, initiated, content_type, content_encoding, metadata FROM uploads "
            "WHERE upload_id = ?",
            (upload_id,),
        ).fetchone()
        if row is None or row[0] != key.encode("utf-8", "surrogatepass"):
            raise NoSuchUpload(
                "The specified multipart upload does not exist. The upload ID may be invalid, "
                f"or the upload may have been aborted or completed: UploadId {upload_id!r} for "
                f"key {key!r}. Start one with CreateMultipartUpload.",
                UploadId=upload_id,
            )
        return MultipartUpload(
            handle.name, key, upload_id, _from_epoch(row[1]), row[2], row[3], load_metadata(row[4])
        )

    # ------------------------------------------------------------------ locations

    def write(self, location: str, data: Body, **kwargs: str | None) -> ObjectInfo:
        """Put ``data`` at ``s3://bucket/key``."""
        bucket, key = parse_location(location)
        return self.put_object(bucket, key, data, **kwargs)  # type: ignore[arg-type]

    def read(self, location: str) -> bytes:
        """The whole object at ``s3://bucket/key``, as bytes."""
        bucket, key = parse_location(location)
        with self.get_object(bucket, key) as body:
            return body.read()

    def open(self, location: str, byte_range: str | None = None) -> ObjectBody:
        """A streaming read of ``s3://bucket/key``."""
        bucket, key = parse_location(location)
        return self.get_object(bucket, key, byte_range=byte_range)

    def ls(self, location: str) -> Iterator[ObjectInfo]:
        """Every object under ``s3://bucket/prefix``."""
        bucket, prefix = parse_location(location)
        return self.iter_objects(bucket, prefix)

    def local_path(self, bucket: str, key: str) -> Path:
        """The file holding an object's bytes, for engines that read files (DuckDB, Arrow).

        Read it, never write it: blobs are immutable and shared by copies.
        """
        handle = self._open(bucket)
        return handle.files.path(self._row(handle, key).blob)

    def change_marker(self, bucket: str) -> tuple[int, int, int]:
        """A value that changes whenever an object of ``bucket`` is written or deleted,
        by this process or another, so that what a reader derived from a listing can be
        kept until the bucket changes. It is the index file's inode (a bucket deleted
        and made again is another file), a count of the connections this lake opened
        for markers, and SQLite's ``PRAGMA data_version`` on that connection, which
        never writes: the number moves with every commit of any other connection.
        ``NoSuchBucket`` if there is none."""
        validate_bucket_name(bucket)
        path = self._buckets_dir / bucket / INDEX_FILE
        try:
            inode = os.stat(path).st_ino  # noqa: PTH116
        except FileNotFoundError:
            raise self._no_such_bucket(bucket) from None
        with self._markers_lock:
            held = self._markers.get(bucket)
            try:
                if held is None or held[0] != inode:
                    if held is not None:
                        held[2].close()
                    self._marker_connections += 1
                    conn = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
                    held = (inode, self._marker_connections, conn)
                    self._markers[bucket] = held
                (version,) = held[2].execute("PRAGMA data_version").fetchone()
            except sqlite3.Error:
                self._markers.pop(bucket, None)
                raise self._no_such_bucket(bucket) from None
        return inode, held[1], int(version)

    # ------------------------------------------------------------------ plumbing

    def reset(self) -> None:
        """Delete every bucket and everything in it at once."""
        trash = self._tmp / f"trash-{uuid.uuid4().hex}"
        self._buckets_dir.rename(trash)
        self._buckets_dir.mkdir()
        self.close()
        shutil.rmtree(trash, ignore_errors=True)

    def close(self) -> None:
        """Close every index connection this lake opened (the lake opens them again if used)."""
        with self._conns_lock:
            for conn in self._all_conns:
                conn.close()
            self._all_conns.clear()
        with self._markers_lock:
            for _, _, marker in self._markers.values():
                marker.close()
            self._markers.clear()
        self._local = threading.local()
        if self._hasher is not None:
            self._hasher.shutdown(wait=True)
            self._hasher = None

    def _now(self) -> datetime:
        # S3 reports times to the millisecond.
        now = self.clock.now()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    def _open(self, name: str) -> _OpenBucket:
        """This thread's handle on bucket ``name``; ``NoSuchBucket`` if there is none.

        The handle is keyed by the index file's inode, so a bucket deleted and created
        again (by any process) is never read through a stale connection.
        """
        cache: dict[str, _OpenBucket] = self._local.__dict__.setdefault("handles", {})
        handle = cache.get(name)
        if handle is not None:
            # The hot path: one stat, no path arithmetic.
            try:
                if os.stat(handle.index_path).st_ino == handle.inode:  # noqa: PTH116
                    return handle
            except FileNotFoundError:
                raise self._no_such_bucket(name) from None
        else:
            validate_bucket_name(name)
        root = self._buckets_dir / name
        try:
            inode = (root / INDEX_FILE).stat().st_ino
        except FileNotFoundError:
            raise self._no_such_bucket(name) from None
        if handle is not None:
            handle.conn.close()
        if self._hasher is None:
            self._hasher = ThreadPoolExecutor(
                max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="fogbank-md5"
            )
        files = BucketFiles(root, self._hasher)
        if name not in self._swept:
            self._swept.add(name)
            files.sweep_stale(STALE_TMP_SECONDS)
        conn = open_index(root / INDEX_FILE)
        with self._conns_lock:
            self._all_conns.append(conn)
        handle = _OpenBucket(name, files, conn, inode)
        cache[name] = handle
        return handle

    def _forget(self, name: str) -> None:
        cache: dict[str, _OpenBucket] = self._local.__dict__.setdefault("handles", {})
        handle = cache.pop(name, None)
        if handle is not None:
            handle.conn.close()

    def _row(self, handle: _OpenBucket, key: str) -> _Row:
        key_bytes = validate_key(key)
        row = handle.conn.execute(_SELECT_OBJECT, (key_bytes,)).fetchone()
        if row is None:
            raise self._no_such_key(handle.name, key)
        return _Row(_info(handle.name, row, key), row[1])

    @staticmethod
    def _no_such_bucket(name: str) -> NoSuchBucket:
        return NoSuchBucket(
            f"The specified bucket does not exist: {name!r}. Create it with CreateBucket, or "
            "check the Bucket name.",
            BucketName=name,
        )

    @staticmethod
    def _no_such_key(bucket: str, key: str) -> NoSuchKey:
        return NoSuchKey(
            f"The specified key does not exist: {key!r} in bucket {bucket!r}. Check the Key, "
            "or list the bucket to see what it holds.",
            Key=key,
        )


def _info(bucket: str, row: tuple[Any, ...], key: str | None = None) -> ObjectInfo:
    raw_key, _, size, etag, modified, ctype, cenc, meta, parts, checksum = row
    return ObjectInfo(
        bucket=bucket,
        key=key if key is not None else raw_key.decode("utf-8"),
        size=size,
        etag=etag,
        last_modified=_from_epoch(modified),
        content_type=ctype,
        content_encoding=cenc,
        metadata=load_metadata(meta),
        parts_count=parts,
        checksum=ObjectChecksum(*checksum.split(":", 2)) if checksum else None,
    )


def _object_row(key_bytes: bytes, blob: str, info: ObjectInfo) -> tuple[Any, ...]:
    checksum = info.checksum
    return (
        key_bytes,
        blob,
        info.size,
        info.etag,
        info.last_modified.timestamp(),
        info.content_type,
        info.content_encoding,
        dump_metadata(dict(info.metadata)),
        info.parts_count,
        f"{checksum.algorithm}:{checksum.type}:{checksum.value}" if checksum else None,
    )


def _epoch(value: datetime) -> float:
    return value.timestamp()


def _from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _encode_token(marker: bytes) -> str:
    return base64.urlsafe_b64encode(b"v1:" + marker).decode("ascii")


def _decode_token(token: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raw = b""
    if not raw.startswith(b"v1:"):
        raise InvalidArgument(
            "The continuation token provided is incorrect: pass the NextContinuationToken of "
            "the previous ListObjectsV2 response unchanged.",
            ArgumentName="continuation-token",
            ArgumentValue=token[:100],
        )
    return raw[3:]


def _md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
