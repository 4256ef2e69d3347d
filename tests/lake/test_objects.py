"""Objects: PutObject, GetObject, HeadObject, DeleteObject(s), CopyObject and their rules."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import fogbank.lake.engine
from fogbank.core.clock import ManualClock
from fogbank.core.errors import (
    BadDigest,
    EntityTooLarge,
    InvalidArgument,
    InvalidRange,
    InvalidRequest,
    KeyTooLongError,
    MalformedXML,
    MetadataTooLarge,
    NoSuchKey,
    NotModified,
    PreconditionFailed,
)
from fogbank.lake.engine import Lake
from fogbank.lake.model import CompletedPart

START = datetime(2026, 1, 1, tzinfo=UTC)
FilesUnder = Callable[[Lake, str, str], list[Path]]
BODY = b"0123456789"


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def get_bytes(lake: Lake, bucket: str, key: str, **kwargs: object) -> bytes:
    with lake.get_object(bucket, key, **kwargs) as body:  # type: ignore[arg-type]
        return body.read()


# ------------------------------------------------------------------ round trips


def _chunks() -> Iterator[bytes | bytearray | memoryview]:
    yield b"abc"
    yield b""
    yield bytearray(b"def")
    yield memoryview(b"ghi")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"hello world", b"hello world"),
        (bytearray(b"bytearray"), b"bytearray"),
        (memoryview(b"memoryview"), b"memoryview"),
        (io.BytesIO(b"\x00\x01binary\xff" * 1000), b"\x00\x01binary\xff" * 1000),
        ([b"one", b"two", b"three"], b"onetwothree"),
        (_chunks(), b"abcdefghi"),
        (b"", b""),
        (iter([]), b""),
    ],
    ids=["bytes", "bytearray", "memoryview", "file", "list", "generator", "empty", "empty-iter"],
)
def test_put_object_then_get_object_round_trips_every_body_kind(
    lake: Lake, bucket: str, body: object, expected: bytes
) -> None:
    """PutObject/GetObject/HeadObject: any body kind stores exactly its bytes; ETag is MD5."""
    info = lake.put_object(bucket, "k", body)  # type: ignore[arg-type]
    assert info.size == len(expected)
    assert info.etag == md5_hex(expected)
    assert info.quoted_etag == f'"{md5_hex(expected)}"'
    with lake.get_object(bucket, "k") as got:
        assert got.content_length == len(expected)
        assert got.content_range is None
        assert got.info == info
        assert got.read() == expected
    assert lake.head_object(bucket, "k") == info


def test_put_object_from_a_binary_file_on_disk(lake: Lake, bucket: str, tmp_path: Path) -> None:
    """PutObject: a file opened in binary mode streams in (several 1 MiB chunks)."""
    data = bytes(range(256)) * (3 * 4096 + 7)
    path = tmp_path / "source.bin"
    path.write_bytes(data)
    with path.open("rb") as handle:
        info = lake.put_object(bucket, "file", handle)
    assert info.etag == md5_hex(data)
    assert get_bytes(lake, bucket, "file") == data
    with lake.get_object(bucket, "file") as body:
        chunks = list(body)
    assert b"".join(chunks) == data
    assert max(len(c) for c in chunks) <= 1024 * 1024


def test_put_object_rejects_a_text_mode_body_and_stores_nothing(
    lake: Lake, bucket: str, files_under: FilesUnder
) -> None:
    """PutObject: a body must be bytes; a text stream is refused and leaves no file."""
    with pytest.raises(TypeError):
        lake.put_object(bucket, "k", io.StringIO("text"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        lake.put_object(bucket, "k", ["text"])  # type: ignore[list-item]
    assert files_under(lake, bucket, "tmp") == []
    assert files_under(lake, bucket, "blobs") == []


def test_put_object_defaults_and_keeps_content_type_and_encoding(lake: Lake, bucket: str) -> None:
    """PutObject: Content-Type defaults to binary/octet-stream; Content-Encoding is kept."""
    assert lake.put_object(bucket, "plain", b"x").content_type == "binary/octet-stream"
    lake.put_object(
        bucket, "typed", b"{}", content_type="application/json", content_encoding="gzip"
    )
    head = lake.head_object(bucket, "typed")
    assert head.content_type == "application/json"
    assert head.content_encoding == "gzip"
    with lake.get_object(bucket, "typed") as body:
        assert body.info.content_type == "application/json"
        assert body.info.content_encoding == "gzip"
    assert lake.head_object(bucket, "plain").content_encoding is None


def test_put_object_lower_cases_user_metadata_names(lake: Lake, bucket: str) -> None:
    """PutObject: x-amz-meta-* names are stored lower-cased, values unchanged."""
    lake.put_object(bucket, "k", b"x", metadata={"Owner": "Ana", "PROJECT-ID": "Fog Bank"})
    assert dict(lake.head_object(bucket, "k").metadata) == {
        "owner": "Ana",
        "project-id": "Fog Bank",
    }


def test_put_object_accepts_exactly_2_kb_of_metadata(lake: Lake, bucket: str) -> None:
    """PutObject: user metadata of exactly 2 KB (names plus values, UTF-8) is allowed."""
    lake.put_object(bucket, "k", b"x", metadata={"a": "v" * 2047})
    assert lake.head_object(bucket, "k").metadata["a"] == "v" * 2047


@pytest.mark.parametrize(
    "metadata",
    [{"a": "v" * 2048}, {"name": "é" * 1023}, {f"n{i}": "v" * 200 for i in range(11)}],
    ids=["ascii", "multibyte", "many"],
)
def test_put_object_with_over_2_kb_of_metadata_is_metadata_too_large(
    lake: Lake, bucket: str, files_under: FilesUnder, metadata: dict[str, str]
) -> None:
    """PutObject: more than 2 KB of user metadata is MetadataTooLarge; nothing is stored."""
    with pytest.raises(MetadataTooLarge) as caught:
        lake.put_object(bucket, "k", b"x", metadata=metadata)
    assert caught.value.fields["MaxSizeAllowed"] == "2048"
    with pytest.raises(NoSuchKey):
        lake.head_object(bucket, "k")
    assert files_under(lake, bucket, "blobs") == []


def test_put_object_with_non_utf8_metadata_is_invalid_argument(
    lake: Lake, bucket: str, files_under: FilesUnder
) -> None:
    """PutObject: user metadata that is not UTF-8 (a lone surrogate) is InvalidArgument."""
    for metadata in ({"name": "\ud800"}, {"\udfff": "value"}):
        with pytest.raises(InvalidArgument):
            lake.put_object(bucket, "k", b"x", metadata=metadata)
    with pytest.raises(NoSuchKey):
        lake.head_object(bucket, "k")
    assert files_under(lake, bucket, "tmp") == []


def test_put_object_takes_last_modified_from_the_clock(
    lake: Lake, bucket: str, clock: ManualClock
) -> None:
    """PutObject: LastModified is the time of the write, to the millisecond."""
    clock.advance(90.123456)
    info = lake.put_object(bucket, "k", b"x")
    assert info.last_modified == START + timedelta(seconds=90, milliseconds=123)
    assert lake.head_object(bucket, "k").last_modified == info.last_modified
    assert lake.list_objects_v2(bucket).contents[0].last_modified == info.last_modified


def test_put_object_overwrite_replaces_content_and_leaks_no_blob(
    lake: Lake, bucket: str, clock: ManualClock, files_under: FilesUnder
) -> None:
    """PutObject on an existing key replaces the object; the old bytes' file is removed."""
    lake.put_object(bucket, "k", b"first", metadata={"v": "1"}, content_type="text/plain")
    clock.advance(5)
    second = lake.put_object(bucket, "k", b"second version")
    lake.put_object(bucket, "other", b"other")
    assert get_bytes(lake, bucket, "k") == b"second version"
    head = lake.head_object(bucket, "k")
    assert head == second
    assert head.metadata == {}
    assert head.content_type == "binary/octet-stream"
    assert len(files_under(lake, bucket, "blobs")) == 2
    assert files_under(lake, bucket, "tmp") == []


def test_delete_object_removes_it_and_a_missing_key_is_fine(
    lake: Lake, bucket: str, files_under: FilesUnder
) -> None:
    """DeleteObject: the object is gone (NoSuchKey); deleting a missing key succeeds."""
    lake.put_object(bucket, "k", b"x")
    lake.delete_object(bucket, "k")
    with pytest.raises(NoSuchKey) as caught:
        lake.get_object(bucket, "k")
    assert caught.value.fields["Key"] == "k"
    lake.delete_object(bucket, "k")
    lake.delete_object(bucket, "never-existed")
    assert files_under(lake, bucket, "blobs") == []


def test_get_and_head_of_a_missing_key_is_no_such_key(lake: Lake, bucket: str) -> None:
    """GetObject/HeadObject: a key that does not exist is NoSuchKey naming the key."""
    for call in (lake.get_object, lake.head_object):
        with pytest.raises(NoSuchKey) as caught:
            call(bucket, "missing/key")
        assert caught.value.fields["Key"] == "missing/key"


# ------------------------------------------------------------------ DeleteObjects


def test_delete_objects_reports_each_key(lake: Lake, bucket: str, files_under: FilesUnder) -> None:
    """DeleteObjects: existing and missing keys are Deleted; an invalid key is an Error."""
    for key in ["a", "b", "c"]:
        lake.put_object(bucket, key, key.encode())
    result = lake.delete_objects(bucket, ["a", "missing", "c", ""])
    assert result.deleted == ["a", "missing", "c"]
    assert [(e.key, e.code) for e in result.errors] == [("", "InvalidArgument")]
    assert [o.key for o in lake.list_objects_v2(bucket).contents] == ["b"]
    assert len(files_under(lake, bucket, "blobs")) == 1


def test_delete_objects_with_no_keys_is_malformed_xml(lake: Lake, bucket: str) -> None:
    """DeleteObjects: a Delete naming no Object is MalformedXML."""
    with pytest.raises(MalformedXML):
        lake.delete_objects(bucket, [])


def test_delete_objects_with_over_1000_keys_is_malformed_xml(lake: Lake, bucket: str) -> None:
    """DeleteObjects: more than 1,000 keys is MalformedXML; nothing is deleted."""
    lake.put_object(bucket, "k0", b"x")
    with pytest.raises(MalformedXML, match="1001"):
        lake.delete_objects(bucket, [f"k{i}" for i in range(1001)])
    assert lake.head_object(bucket, "k0").size == 1
    assert len(lake.delete_objects(bucket, [f"k{i}" for i in range(1000)]).deleted) == 1000


# ------------------------------------------------------------------ CopyObject


def test_copy_object_with_copy_directive_keeps_metadata(
    lake: Lake, bucket: str, clock: ManualClock
) -> None:
    """CopyObject (MetadataDirective COPY): bytes, type, encoding and metadata are copied."""
    source = lake.put_object(
        bucket,
        "src",
        b"payload",
        content_type="text/csv",
        content_encoding="gzip",
        metadata={"Owner": "ana"},
    )
    lake.create_bucket("dest")
    clock.advance(10)
    copy = lake.copy_object(bucket, "src", "dest", "copy")
    assert copy.etag == source.etag
    assert copy.content_type == "text/csv"
    assert copy.content_encoding == "gzip"
    assert copy.metadata == {"owner": "ana"}
    assert copy.last_modified == START + timedelta(seconds=10)
    assert lake.head_object("dest", "copy") == copy
    assert get_bytes(lake, "dest", "copy") == b"payload"


def test_copy_object_with_replace_directive_replaces_metadata(lake: Lake, bucket: str) -> None:
    """CopyObject (MetadataDirective REPLACE): the request's metadata replaces the source's."""
    lake.put_object(bucket, "src", b"payload", content_type="text/csv", metadata={"a": "1"})
    copy = lake.copy_object(
        bucket, "src", bucket, "dst", metadata_directive="REPLACE", metadata={"B": "2"}
    )
    assert copy.metadata == {"b": "2"}
    assert copy.content_type == "binary/octet-stream"
    assert lake.head_object(bucket, "dst").metadata == {"b": "2"}
    assert lake.head_object(bucket, "src").metadata == {"a": "1"}


def test_copy_object_onto_itself_needs_replace(lake: Lake, bucket: str) -> None:
    """CopyObject to the same key with COPY is InvalidRequest; with REPLACE it updates."""
    lake.put_object(bucket, "k", b"payload", metadata={"a": "1"})
    with pytest.raises(InvalidRequest, match="copy an object to itself"):
        lake.copy_object(bucket, "k", bucket, "k")
    updated = lake.copy_object(
        bucket, "k", bucket, "k", metadata_directive="REPLACE", metadata={"a": "2"}
    )
    assert updated.metadata == {"a": "2"}
    assert get_bytes(lake, bucket, "k") == b"payload"


def test_copy_object_rejects_an_unknown_metadata_directive(lake: Lake, bucket: str) -> None:
    """CopyObject: MetadataDirective must be COPY or REPLACE."""
    lake.put_object(bucket, "k", b"x")
    with pytest.raises(InvalidArgument):
        lake.copy_object(bucket, "k", bucket, "j", metadata_directive="MOVE")


def test_copy_object_of_a_missing_source_is_no_such_key(lake: Lake, bucket: str) -> None:
    """CopyObject: a source key that does not exist is NoSuchKey."""
    with pytest.raises(NoSuchKey):
        lake.copy_object(bucket, "missing", bucket, "dst")


def test_copy_object_of_a_multipart_object_gets_a_plain_md5_etag(
    loose_lake: Lake,
) -> None:
    """CopyObject of a multipart object: one object, so its ETag is the MD5 of its bytes."""
    lake = loose_lake
    lake.create_bucket("data")
    upload = lake.create_multipart_upload("data", "mp", metadata={"m": "1"})
    p1 = lake.upload_part("data", "mp", upload.upload_id, 1, b"part one|")
    p2 = lake.upload_part("data", "mp", upload.upload_id, 2, b"part two")
    done = lake.complete_multipart_upload(
        "data", "mp", upload.upload_id, [CompletedPart(1, p1.etag), CompletedPart(2, p2.etag)]
    )
    assert done.etag.endswith("-2")
    copy = lake.copy_object("data", "mp", "data", "copy")
    assert copy.etag == md5_hex(b"part one|part two")
    assert copy.parts_count is None
    assert copy.metadata == {"m": "1"}
    assert lake.head_object("data", "copy").etag == copy.etag


def test_copy_object_survives_deleting_and_overwriting_the_source(
    lake: Lake, bucket: str, files_under: FilesUnder
) -> None:
    """CopyObject: the copy is independent of the source once made."""
    lake.put_object(bucket, "src", b"original")
    lake.copy_object(bucket, "src", bucket, "copy")
    lake.put_object(bucket, "src", b"overwritten")
    assert get_bytes(lake, bucket, "copy") == b"original"
    lake.delete_object(bucket, "src")
    assert get_bytes(lake, bucket, "copy") == b"original"
    assert len(files_under(lake, bucket, "blobs")) == 1
    lake.delete_object(bucket, "copy")
    assert files_under(lake, bucket, "blobs") == []


def test_copy_object_onto_an_existing_key_replaces_it_and_frees_its_file(
    lake: Lake, bucket: str, files_under: FilesUnder
) -> None:
    """CopyObject onto an existing key replaces that object."""
    lake.put_object(bucket, "src", b"source")
    lake.put_object(bucket, "dst", b"old destination")
    lake.copy_object(bucket, "src", bucket, "dst")
    assert get_bytes(lake, bucket, "dst") == b"source"
    assert len(files_under(lake, bucket, "blobs")) == 2


def test_copy_object_of_a_source_over_5_gib_is_invalid_request(
    lake: Lake, bucket: str, files_under: FilesUnder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CopyObject: a source over 5 GiB (here lowered to 1,000 bytes) is InvalidRequest;
    UploadPartCopy is the way to copy it."""
    lake.put_object(bucket, "src", b"x" * 1001)
    monkeypatch.setattr(fogbank.lake.engine, "MAX_PUT_SIZE", 1000)
    with pytest.raises(InvalidRequest, match="UploadPartCopy"):
        lake.copy_object(bucket, "src", bucket, "dst")
    with pytest.raises(NoSuchKey):
        lake.head_object(bucket, "dst")
    assert len(files_under(lake, bucket, "blobs")) == 1


def test_copy_object_conditions_apply_to_the_source(lake: Lake, bucket: str) -> None:
    """CopyObject: x-amz-copy-source-if-* failures are PreconditionFailed (never 304)."""
    source = lake.put_object(bucket, "src", b"x")
    with pytest.raises(PreconditionFailed):
        lake.copy_object(bucket, "src", bucket, "dst", if_match='"nope"')
    with pytest.raises(PreconditionFailed):
        lake.copy_object(bucket, "src", bucket, "dst", if_none_match=source.quoted_etag)
    with pytest.raises(NoSuchKey):
        lake.head_object(bucket, "dst")
    lake.copy_object(bucket, "src", bucket, "dst", if_match=source.quoted_etag)
    assert get_bytes(lake, bucket, "dst") == b"x"


# ------------------------------------------------------------------ keys


@pytest.mark.parametrize(
    "key", ["a" * 1024, "é" * 512, "𝄞" * 256, "中" * 341 + "a", "a/b/../c", " "]
)
def test_put_object_accepts_keys_up_to_1024_utf8_bytes(lake: Lake, bucket: str, key: str) -> None:
    """PutObject: a key is 1 to 1,024 bytes of UTF-8, whatever the characters."""
    lake.put_object(bucket, key, b"x")
    assert lake.head_object(bucket, key).key == key
    assert [o.key for o in lake.list_objects_v2(bucket).contents] == [key]


@pytest.mark.parametrize("key", ["a" * 1025, "é" * 513, "𝄞" * 256 + "a", "中" * 342])
def test_put_object_with_a_key_over_1024_utf8_bytes_is_key_too_long(
    lake: Lake, bucket: str, key: str
) -> None:
    """PutObject: a key over 1,024 bytes of UTF-8 (not characters) is KeyTooLongError."""
    with pytest.raises(KeyTooLongError, match=f"{len(key.encode())} bytes"):
        lake.put_object(bucket, key, b"x")
    with pytest.raises(KeyTooLongError):
        lake.get_object(bucket, key)
    assert lake.list_objects_v2(bucket).contents == []


@pytest.mark.parametrize("key", ["", "\ud800", "a\udfffb"], ids=["empty", "surrogate", "low"])
def test_put_object_with_an_empty_or_non_utf8_key_is_invalid_argument(
    lake: Lake, bucket: str, files_under: FilesUnder, key: str
) -> None:
    """PutObject: an empty key, or one that is not UTF-8 (a lone surrogate), is
    InvalidArgument naming Key."""
    with pytest.raises(InvalidArgument) as caught:
        lake.put_object(bucket, key, b"x")
    assert caught.value.fields["ArgumentName"] == "Key"
    for call in (lake.get_object, lake.head_object, lake.delete_object):
        with pytest.raises(InvalidArgument):
            call(bucket, key)
    assert files_under(lake, bucket, "tmp") == []


# ------------------------------------------------------------------ Content-MD5


def test_put_object_with_the_right_content_md5_is_stored(lake: Lake, bucket: str) -> None:
    """PutObject with Content-MD5: a matching digest is accepted."""
    info = lake.put_object(bucket, "k", BODY, content_md5=md5_b64(BODY))
    assert info.etag == md5_hex(BODY)


def test_put_object_with_a_wrong_content_md5_is_bad_digest_and_stores_nothing(
    lake: Lake, bucket: str, files_under: FilesUnder
) -> None:
    """PutObject with a Content-MD5 that does not match the body: BadDigest, nothing kept
    (not even the previous object is touched)."""
    lake.put_object(bucket, "k", b"previous")
    with pytest.raises(BadDigest) as caught:
        lake.put_object(bucket, "k", BODY, content_md5=md5_b64(b"something else"))
    assert caught.value.fields["CalculatedDigest"] == md5_b64(BODY)
    with pytest.raises(BadDigest):
        lake.put_object(bucket, "new", BODY, content_md5=md5_b64(b"something else"))
    assert get_bytes(lake, bucket, "k") == b"previous"
    with pytest.raises(NoSuchKey):
        lake.head_object(bucket, "new")
    assert len(files_under(lake, bucket, "blobs")) == 1
    assert files_under(lake, bucket, "tmp") == []


@pytest.mark.parametrize(
    "digest",
    ["not base64!", "", base64.b64encode(b"short").decode(), "AAAA" * 8, "é"],
    ids=["garbage", "empty", "short", "too-long", "non-ascii"],
)
def test_put_object_with_a_malformed_content_md5_is_invalid_argument(
    lake: Lake, bucket: str, files_under: FilesUnder, digest: str
) -> None:
    """PutObject: a Content-MD5 that is not base64 of 16 bytes is InvalidArgument."""
    with pytest.raises(InvalidArgument) as caught:
        lake.put_object(bucket, "k", BODY, content_md5=digest)
    assert caught.value.fields["ArgumentName"] == "Content-MD5"
    with pytest.raises(NoSuchKey):
        lake.head_object(bucket, "k")
    assert files_under(lake, bucket, "tmp") == []
    assert files_under(lake, bucket, "blobs") == []


# ------------------------------------------------------------------ ranges


@pytest.mark.parametrize(
    ("spec", "first", "last"),
    [
        ("bytes=0-4", 0, 4),
        ("bytes=5-", 5, 9),
        ("bytes=-3", 7, 9),
        ("bytes=-30", 0, 9),
        ("bytes=3-3", 3, 3),
        ("bytes=8-100", 8, 9),
        ("bytes=9-", 9, 9),
        ((2, 5), 2, 5),
        ((6, None), 6, 9),
        ((0, 1000), 0, 9),
    ],
)
def test_get_object_with_a_range_reads_those_bytes(
    lake: Lake, bucket: str, spec: str | tuple[int, int | None], first: int, last: int
) -> None:
    """GetObject with Range: the inclusive byte range, clamped at the end; Content-Range set."""
    lake.put_object(bucket, "k", BODY)
    with lake.get_object(bucket, "k", byte_range=spec) as body:
        assert body.content_range == (first, last, len(BODY))
        assert body.content_length == last - first + 1
        assert body.read() == BODY[first : last + 1]


@pytest.mark.parametrize("spec", ["bytes=10-", "bytes=10-20", "bytes=-0", "bytes=100-200"])
def test_get_object_with_an_unsatisfiable_range_is_invalid_range(
    lake: Lake, bucket: str, spec: str
) -> None:
    """GetObject: a range starting at or past the end (or bytes=-0) is InvalidRange (416)."""
    lake.put_object(bucket, "k", BODY)
    with pytest.raises(InvalidRange) as caught:
        lake.get_object(bucket, "k", byte_range=spec)
    assert caught.value.fields["ActualObjectSize"] == "10"


@pytest.mark.parametrize("spec", [(10, None), (-1, 4), (5, 2)])
def test_get_object_with_an_invalid_tuple_range_is_invalid_range(
    lake: Lake, bucket: str, spec: tuple[int, int | None]
) -> None:
    """GetObject: a (first, last) range outside the object or backwards is InvalidRange."""
    lake.put_object(bucket, "k", BODY)
    with pytest.raises(InvalidRange):
        lake.get_object(bucket, "k", byte_range=spec)


@pytest.mark.parametrize(
    "spec",
    [
        "bytes=5-2",
        "bytes=0-1,3-4",
        "bytes=-",
        "items=0-4",
        "0-4",
        "bytes=a-b",
        "bytes=1-2-3",
        "bytes=\u0660-\u0664",
        "",
    ],
)
def test_get_object_ignores_a_malformed_or_multi_range(lake: Lake, bucket: str, spec: str) -> None:
    """GetObject: a Range header S3 cannot parse, or several ranges, returns the whole object."""
    lake.put_object(bucket, "k", BODY)
    with lake.get_object(bucket, "k", byte_range=spec) as body:
        assert body.content_range is None
        assert body.read() == BODY


def test_get_object_range_on_an_empty_object_is_invalid_range(lake: Lake, bucket: str) -> None:
    """GetObject: any satisfiable-looking range of a 0-byte object is InvalidRange."""
    lake.put_object(bucket, "empty", b"")
    for spec in ("bytes=0-0", "bytes=-1", "bytes=0-"):
        with pytest.raises(InvalidRange):
            lake.get_object(bucket, "empty", byte_range=spec)
    assert get_bytes(lake, bucket, "empty") == b""


# ------------------------------------------------------------------ conditional reads


def test_get_object_if_match_mismatch_is_precondition_failed(lake: Lake, bucket: str) -> None:
    """GetObject If-Match: another ETag is PreconditionFailed; the right one (quoted or not,
    in a list, or *) reads."""
    info = lake.put_object(bucket, "k", BODY)
    with pytest.raises(PreconditionFailed) as caught:
        lake.get_object(bucket, "k", if_match='"0123"')
    assert caught.value.fields["Condition"] == "If-Match"
    for condition in (info.etag, info.quoted_etag, f'"x", {info.quoted_etag}', "*"):
        assert get_bytes(lake, bucket, "k", if_match=condition) == BODY
    with pytest.raises(PreconditionFailed):
        lake.head_object(bucket, "k", if_match='"0123"')


def test_get_object_if_none_match_match_is_not_modified(lake: Lake, bucket: str) -> None:
    """GetObject If-None-Match: the current ETag is NotModified (304); another reads."""
    info = lake.put_object(bucket, "k", BODY)
    with pytest.raises(NotModified):
        lake.get_object(bucket, "k", if_none_match=info.quoted_etag)
    with pytest.raises(NotModified):
        lake.head_object(bucket, "k", if_none_match="*")
    assert get_bytes(lake, bucket, "k", if_none_match='"other"') == BODY


def test_get_object_if_modified_since(lake: Lake, bucket: str, clock: ManualClock) -> None:
    """GetObject If-Modified-Since: NotModified unless the object changed after the date."""
    clock.advance(100)
    written = START + timedelta(seconds=100)
    lake.put_object(bucket, "k", BODY)
    with pytest.raises(NotModified):
        lake.get_object(bucket, "k", if_modified_since=written)
    with pytest.raises(NotModified):
        lake.get_object(bucket, "k", if_modified_since=written + timedelta(hours=1))
    assert get_bytes(lake, bucket, "k", if_modified_since=written - timedelta(seconds=1)) == BODY
    naive = (written - timedelta(seconds=1)).replace(tzinfo=None)
    assert get_bytes(lake, bucket, "k", if_modified_since=naive) == BODY


def test_get_object_if_unmodified_since(lake: Lake, bucket: str, clock: ManualClock) -> None:
    """GetObject If-Unmodified-Since: PreconditionFailed if the object changed after the date."""
    clock.advance(100)
    written = START + timedelta(seconds=100)
    lake.put_object(bucket, "k", BODY)
    with pytest.raises(PreconditionFailed) as caught:
        lake.get_object(bucket, "k", if_unmodified_since=written - timedelta(seconds=1))
    assert caught.value.fields["Condition"] == "If-Unmodified-Since"
    assert get_bytes(lake, bucket, "k", if_unmodified_since=written) == BODY


def test_get_object_if_match_true_overrides_if_unmodified_since_false(
    lake: Lake, bucket: str, clock: ManualClock
) -> None:
    """GetObject: If-Match true with If-Unmodified-Since false answers 200, as S3 documents."""
    clock.advance(100)
    info = lake.put_object(bucket, "k", BODY)
    earlier = START
    assert get_bytes(lake, bucket, "k", if_match=info.etag, if_unmodified_since=earlier) == BODY


def test_get_object_if_none_match_false_with_if_modified_since_true_is_not_modified(
    lake: Lake, bucket: str, clock: ManualClock
) -> None:
    """GetObject: If-None-Match false (ETag matches) with If-Modified-Since true is 304,
    as S3 documents; If-None-Match true wins over If-Modified-Since false."""
    clock.advance(100)
    info = lake.put_object(bucket, "k", BODY)
    with pytest.raises(NotModified):
        lake.get_object(bucket, "k", if_none_match=info.etag, if_modified_since=START)
    later = START + timedelta(days=1)
    assert get_bytes(lake, bucket, "k", if_none_match='"other"', if_modified_since=later) == BODY


def test_get_object_precondition_failed_wins_over_not_modified(lake: Lake, bucket: str) -> None:
    """GetObject: a failing If-Match is PreconditionFailed even when If-None-Match matches."""
    info = lake.put_object(bucket, "k", BODY)
    with pytest.raises(PreconditionFailed):
        lake.get_object(bucket, "k", if_match='"nope"', if_none_match=info.etag)


# ------------------------------------------------------------------ conditional writes


def test_put_object_if_none_match_star_on_an_existing_key_is_precondition_failed(
    lake: Lake, bucket: str, files_under: FilesUnder
) -> None:
    """PutObject If-None-Match: * refuses to overwrite; the old object stays intact."""
    lake.put_object(bucket, "k", b"old", metadata={"v": "1"})
    with pytest.raises(PreconditionFailed):
        lake.put_object(bucket, "k", b"new", if_none_match="*")
    assert get_bytes(lake, bucket, "k") == b"old"
    assert lake.head_object(bucket, "k").metadata == {"v": "1"}
    assert len(files_under(lake, bucket, "blobs")) == 1
    assert files_under(lake, bucket, "tmp") == []
    lake.put_object(bucket, "fresh", b"new", if_none_match="*")
    assert get_bytes(lake, bucket, "fresh") == b"new"


def test_put_object_if_match(lake: Lake, bucket: str, files_under: FilesUnder) -> None:
    """PutObject If-Match: a wrong ETag is PreconditionFailed; the right one overwrites."""
    old = lake.put_object(bucket, "k", b"old")
    with pytest.raises(PreconditionFailed):
        lake.put_object(bucket, "k", b"new", if_match='"0000"')
    assert get_bytes(lake, bucket, "k") == b"old"
    lake.put_object(bucket, "k", b"new", if_match=old.quoted_etag)
    assert get_bytes(lake, bucket, "k") == b"new"
    assert len(files_under(lake, bucket, "blobs")) == 1


def test_put_object_if_match_on_a_missing_key_is_no_such_key(
    lake: Lake, bucket: str, files_under: FilesUnder
) -> None:
    """PutObject If-Match on a key that does not exist is NoSuchKey; nothing is stored."""
    with pytest.raises(NoSuchKey):
        lake.put_object(bucket, "k", b"new", if_match='"abc"')
    assert files_under(lake, bucket, "blobs") == []
    assert files_under(lake, bucket, "tmp") == []


# ------------------------------------------------------------------ readers and sizes


def test_an_open_reader_keeps_reading_the_old_bytes_after_an_overwrite(
    lake: Lake, bucket: str
) -> None:
    """GetObject: a body already open is a snapshot; a later PutObject does not change it."""
    old = bytes(range(256)) * 10_000
    lake.put_object(bucket, "k", old)
    with lake.get_object(bucket, "k") as body:
        head = body.read(1000)
        lake.put_object(bucket, "k", b"new bytes")
        rest = body.read()
    assert head + rest == old
    assert get_bytes(lake, bucket, "k") == b"new bytes"


def test_an_open_reader_keeps_reading_the_old_bytes_after_a_delete(lake: Lake, bucket: str) -> None:
    """GetObject: a body already open survives a DeleteObject of its key."""
    old = b"x" * 3_000_000
    lake.put_object(bucket, "k", old)
    with lake.get_object(bucket, "k", byte_range="bytes=10-") as body:
        lake.delete_object(bucket, "k")
        assert b"".join(body) == old[10:]
    with pytest.raises(NoSuchKey):
        lake.head_object(bucket, "k")


def test_put_object_over_the_size_limit_is_entity_too_large_and_leaves_no_file(
    lake: Lake, bucket: str, files_under: FilesUnder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PutObject: a body over the 5 GiB limit (here lowered to 1,000 bytes) is EntityTooLarge;
    the partial upload is removed and any previous object stays."""
    monkeypatch.setattr(fogbank.lake.engine, "MAX_PUT_SIZE", 1000)
    lake.put_object(bucket, "k", b"previous")
    produced: list[int] = []

    def body() -> Iterator[bytes]:
        for _ in range(10):
            produced.append(300)
            yield b"y" * 300

    with pytest.raises(EntityTooLarge) as caught:
        lake.put_object(bucket, "k", body())
    assert caught.value.fields["MaxSizeAllowed"] == "1000"
    assert sum(produced) <= 1200  # it stopped reading once over the limit
    assert files_under(lake, bucket, "tmp") == []
    assert len(files_under(lake, bucket, "blobs")) == 1
    assert get_bytes(lake, bucket, "k") == b"previous"
    lake.put_object(bucket, "exact", b"z" * 1000)
    assert lake.head_object(bucket, "exact").size == 1000


def test_put_object_size_limit_is_off_without_limits(
    loose_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PutObject with limits off: the 5 GiB maximum is not enforced."""
    monkeypatch.setattr(fogbank.lake.engine, "MAX_PUT_SIZE", 1000)
    loose_lake.create_bucket("data")
    assert loose_lake.put_object("data", "k", b"y" * 5000).size == 5000


def test_a_body_that_fails_midway_leaves_no_file(
    lake: Lake, bucket: str, files_under: FilesUnder
) -> None:
    """PutObject: if reading the body fails, nothing is stored and no temp file stays."""

    def body() -> Iterator[bytes]:
        yield b"partial"
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        lake.put_object(bucket, "k", body())
    with pytest.raises(NoSuchKey):
        lake.head_object(bucket, "k")
    assert files_under(lake, bucket, "tmp") == []
    assert files_under(lake, bucket, "blobs") == []


def test_concurrent_writers_from_threads_leave_whole_objects_and_no_leaked_files(
    lake: Lake, bucket: str, files_under: FilesUnder
) -> None:
    """PutObject/DeleteObject from several threads of one process: every object read back is
    one whole write, and no blob file outlives its object."""
    writes = {(key, n): f"{key}:{n}:".encode() * (100 + n) for key in "abc" for n in range(12)}

    def work(key: str) -> None:
        for n in range(12):
            lake.put_object(bucket, key, writes[(key, n)])
            lake.put_object(bucket, "shared", writes[(key, n)])
            # Another thread may just have deleted it.
            with contextlib.suppress(NoSuchKey), lake.get_object(bucket, "shared") as body:
                assert body.read() in writes.values()
            if n == 5:
                lake.delete_object(bucket, "shared")

    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(work, "abc"))
    for key in "abc":
        assert get_bytes(lake, bucket, key) == writes[(key, 11)]
    assert get_bytes(lake, bucket, "shared") in {writes[(key, 11)] for key in "abc"}
    assert len(files_under(lake, bucket, "blobs")) == 4
    assert files_under(lake, bucket, "tmp") == []


# ------------------------------------------------------------------ locations


def test_locations_write_read_open_and_ls(lake: Lake, bucket: str) -> None:
    """s3://bucket/key locations: write (PutObject), read/open (GetObject), ls (ListObjectsV2)."""
    info = lake.write(f"s3://{bucket}/dir/a.csv", b"a,b\n1,2\n", content_type="text/csv")
    assert info.content_type == "text/csv"
    lake.write(f"s3://{bucket}/dir/sub/b.csv", b"b")
    lake.write(f"{bucket}/other.txt", b"other")
    assert lake.read(f"s3://{bucket}/dir/a.csv") == b"a,b\n1,2\n"
    assert lake.read(f"s3a://{bucket}/other.txt") == b"other"
    with lake.open(f"s3://{bucket}/dir/a.csv", byte_range="bytes=0-2") as body:
        assert body.read() == b"a,b"
    assert [o.key for o in lake.ls(f"s3://{bucket}/dir/")] == ["dir/a.csv", "dir/sub/b.csv"]
    assert [o.key for o in lake.ls(f"s3://{bucket}")] == [
        "dir/a.csv",
        "dir/sub/b.csv",
        "other.txt",
    ]
    with pytest.raises(InvalidArgument):
        lake.read("http://data/x")
    with pytest.raises(InvalidArgument):
        lake.write(f"s3://{bucket}/", b"no key")


def test_local_path_is_a_file_holding_the_objects_bytes(lake: Lake, bucket: str) -> None:
    """local_path: the blob file of the current version of an object."""
    lake.put_object(bucket, "k", b"first")
    lake.put_object(bucket, "k", b"current bytes")
    path = lake.local_path(bucket, "k")
    assert path.is_file()
    assert path.read_bytes() == b"current bytes"
    with pytest.raises(NoSuchKey):
        lake.local_path(bucket, "missing")
