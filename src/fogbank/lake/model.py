"""What the lake returns: frozen records for buckets, objects, listings and uploads.

:class:`ObjectBody` is the one stateful result: an open, streaming read of one
object's bytes, which must be closed (use it as a context manager).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import BinaryIO

READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Bucket:
    name: str
    creation_date: datetime
    region: str


@dataclass(frozen=True)
class ObjectChecksum:
    """An additional checksum S3 keeps with an object: ``CRC32``, ``FULL_OBJECT``, base64."""

    algorithm: str
    type: str
    value: str


@dataclass(frozen=True)
class ObjectInfo:
    """An object's metadata, as HeadObject and ListObjectsV2 report it."""

    bucket: str
    key: str
    size: int
    etag: str
    """Hex MD5 of the content, or ``<md5-of-part-md5s>-<N>`` after a multipart upload."""
    last_modified: datetime
    content_type: str = "binary/octet-stream"
    content_encoding: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    parts_count: int | None = None
    storage_class: str = "STANDARD"
    checksum: ObjectChecksum | None = None

    @property
    def quoted_etag(self) -> str:
        """The ETag as S3 sends it on the wire, in double quotes."""
        return f'"{self.etag}"'


@dataclass(frozen=True)
class ListPage:
    """One page of ListObjectsV2 (or ListObjects, which shares the shape)."""

    bucket: str
    contents: list[ObjectInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_continuation_token: str | None
    prefix: str
    delimiter: str | None
    max_keys: int
    start_after: str | None = None
    continuation_token: str | None = None
    next_marker: str | None = None
    """The marker for the next ListObjects (v1) call: set when the page is truncated."""

    @property
    def key_count(self) -> int:
        return len(self.contents) + len(self.common_prefixes)


@dataclass(frozen=True)
class DeleteError:
    key: str
    code: str
    message: str


@dataclass(frozen=True)
class DeleteResult:
    """DeleteObjects: the keys deleted and the keys that could not be."""

    deleted: list[str]
    errors: list[DeleteError]


@dataclass(frozen=True)
class MultipartUpload:
    bucket: str
    key: str
    upload_id: str
    initiated: datetime
    content_type: str = "binary/octet-stream"
    content_encoding: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Part:
    part_number: int
    etag: str
    size: int
    last_modified: datetime

    @property
    def quoted_etag(self) -> str:
        return f'"{self.etag}"'


@dataclass(frozen=True)
class CompletedPart:
    """A part as CompleteMultipartUpload names it: its number and the ETag UploadPart gave."""

    part_number: int
    etag: str


@dataclass(frozen=True)
class PartsPage:
    bucket: str
    key: str
    upload_id: str
    parts: list[Part]
    is_truncated: bool
    part_number_marker: int
    next_part_number_marker: int | None
    max_parts: int


@dataclass(frozen=True)
class UploadsPage:
    bucket: str
    uploads: list[MultipartUpload]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None
    next_upload_id_marker: str | None
    prefix: str
    delimiter: str | None
    max_uploads: int


class ObjectBody:
    """A streaming read of one object (GetObject's Body).

    Iterating yields chunks of at most 1 MiB; :meth:`read` reads what is left (or
    ``n`` bytes). The bytes come from an open file handle, so an overwrite or a
    delete that lands mid-read does not change what this reader sees.
    """

    def __init__(
        self,
        info: ObjectInfo,
        handle: BinaryIO,
        first: int,
        last: int,
        content_range: tuple[int, int, int] | None,
    ) -> None:
        self.info = info
        self.content_range = content_range
        """``(first, last, total)`` when a range was asked for, else ``None``."""
        self.content_length = last - first + 1
        self._handle = handle
        self._remaining = self.content_length
        if first:
            handle.seek(first)

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > self._remaining:
            n = self._remaining
        data = self._handle.read(n)
        self._remaining -= len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        while self._remaining > 0:
            chunk = self.read(READ_CHUNK)
            if not chunk:
                break
            yield chunk

    def close(self) -> None:
        self._handle.close()

    @property
    def closed(self) -> bool:
        return self._handle.closed

    def __enter__(self) -> ObjectBody:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
