"""Multipart uploads: Create, UploadPart(Copy), ListParts, Complete, Abort, ListMultipartUploads."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import fogbank.lake.engine
from fogbank.core.clock import ManualClock
from fogbank.core.errors import (
    BadDigest,
    EntityTooLarge,
    EntityTooSmall,
    InvalidArgument,
    InvalidPart,
    InvalidPartOrder,
    MalformedXML,
    NoSuchKey,
    NoSuchUpload,
)
from fogbank.lake.engine import Lake
from fogbank.lake.model import CompletedPart, Part, UploadsPage

START = datetime(2026, 1, 1, tzinfo=UTC)
MiB = 1024 * 1024
FilesUnder = Callable[[Lake, str, str], list[Path]]


def md5(data: bytes) -> hashlib._Hash:
    return hashlib.md5(data, usedforsecurity=False)


def multipart_etag(parts: list[bytes]) -> str:
    """S3's multipart ETag, computed independently: MD5 of the parts' binary MD5s, then -N."""
    joined = b"".join(md5(p).digest() for p in parts)
    return f"{md5(joined).hexdigest()}-{len(parts)}"


def completed(parts: list[Part]) -> list[CompletedPart]:
    return [CompletedPart(p.part_number, p.quoted_etag) for p in parts]


def read(lake: Lake, bucket: str, key: str) -> bytes:
    with lake.get_object(bucket, key) as body:
        return body.read()


@pytest.fixture
def small(loose_lake: Lake) -> Lake:
    """A lake without limits (parts may be tiny) and a bucket "data"."""
    loose_lake.create_bucket("data")
    return loose_lake


def test_multipart_upload_round_trip_with_s3_etag(
    lake: Lake, bucket: str, clock: ManualClock, files_under: FilesUnder
) -> None:
    """CreateMultipartUpload, UploadPart, ListParts, CompleteMultipartUpload: the object is the
    parts joined, its ETag md5(part md5s)-N, and no part file is left behind."""
    upload = lake.create_multipart_upload(
        bucket, "big.bin", content_type="text/plain", metadata={"Who": "me"}
    )
    assert upload.initiated == START
    assert len(upload.upload_id) >= 32
    datas = [b"a" * (5 * MiB), bytes(range(256)) * (5 * MiB // 256) + b"tail", b"last bit"]
    parts = [
        lake.upload_part(bucket, "big.bin", upload.upload_id, n, data)
        for n, data in enumerate(datas, start=1)
    ]
    assert [p.etag for p in parts] == [md5(d).hexdigest() for d in datas]
    listed = lake.list_parts(bucket, "big.bin", upload.upload_id)
    assert [(p.part_number, p.etag, p.size) for p in listed.parts] == [
        (p.part_number, p.etag, p.size) for p in parts
    ]
    assert not listed.is_truncated
    clock.advance(30)
    info = lake.complete_multipart_upload(bucket, "big.bin", upload.upload_id, completed(parts))
    assert info.etag == multipart_etag(datas)
    assert info.parts_count == 3
    assert info.size == sum(len(d) for d in datas)
    assert info.content_type == "text/plain"
    assert info.metadata == {"who": "me"}
    assert lake.head_object(bucket, "big.bin") == info
    assert read(lake, bucket, "big.bin") == b"".join(datas)
    assert len(files_under(lake, bucket, "blobs")) == 1
    assert files_under(lake, bucket, "tmp") == []
    assert lake.list_multipart_uploads(bucket).uploads == []
    with pytest.raises(NoSuchUpload):
        lake.list_parts(bucket, "big.bin", upload.upload_id)


def test_complete_multipart_upload_replaces_an_existing_object(
    small: Lake, files_under: FilesUnder
) -> None:
    """CompleteMultipartUpload over an existing key replaces it and frees its file."""
    small.put_object("data", "k", b"old")
    upload = small.create_multipart_upload("data", "k")
    part = small.upload_part("data", "k", upload.upload_id, 1, b"new")
    small.complete_multipart_upload("data", "k", upload.upload_id, completed([part]))
    assert read(small, "data", "k") == b"new"
    assert len(files_under(small, "data", "blobs")) == 1


def test_list_parts_pages_with_max_parts_and_part_number_marker(small: Lake) -> None:
    """ListParts: MaxParts per page, resumed by PartNumberMarker."""
    upload = small.create_multipart_upload("data", "k")
    for n in [7, 1, 3, 2, 6, 5, 4]:
        small.upload_part("data", "k", upload.upload_id, n, f"part {n}".encode())
    numbers: list[list[int]] = []
    marker = 0
    while True:
        page = small.list_parts(
            "data", "k", upload.upload_id, max_parts=3, part_number_marker=marker
        )
        numbers.append([p.part_number for p in page.parts])
        if not page.is_truncated:
            break
        assert page.next_part_number_marker is not None
        marker = page.next_part_number_marker
    assert numbers == [[1, 2, 3], [4, 5, 6], [7]]
    after = small.list_parts("data", "k", upload.upload_id, part_number_marker=5)
    assert [p.part_number for p in after.parts] == [6, 7]
    with pytest.raises(InvalidArgument):
        small.list_parts("data", "k", upload.upload_id, max_parts=-1)


def test_upload_part_again_replaces_the_earlier_part(small: Lake, files_under: FilesUnder) -> None:
    """UploadPart with a part number already uploaded replaces that part (and its file)."""
    upload = small.create_multipart_upload("data", "k")
    first = small.upload_part("data", "k", upload.upload_id, 1, b"first")
    second = small.upload_part("data", "k", upload.upload_id, 1, b"second")
    listed = small.list_parts("data", "k", upload.upload_id).parts
    assert [(p.part_number, p.etag) for p in listed] == [(1, second.etag)]
    assert len(files_under(small, "data", "blobs")) == 1
    with pytest.raises(InvalidPart):
        small.complete_multipart_upload("data", "k", upload.upload_id, completed([first]))
    small.complete_multipart_upload("data", "k", upload.upload_id, completed([second]))
    assert read(small, "data", "k") == b"second"


@pytest.mark.parametrize("order", [[2, 1], [1, 3, 2], [1, 1, 2], [2, 2]])
def test_complete_with_parts_out_of_order_is_invalid_part_order(
    small: Lake, order: list[int]
) -> None:
    """CompleteMultipartUpload: parts not in strictly ascending order are InvalidPartOrder."""
    upload = small.create_multipart_upload("data", "k")
    parts = {n: small.upload_part("data", "k", upload.upload_id, n, b"x%d" % n) for n in (1, 2, 3)}
    with pytest.raises(InvalidPartOrder) as caught:
        small.complete_multipart_upload(
            "data", "k", upload.upload_id, [CompletedPart(n, parts[n].etag) for n in order]
        )
    assert caught.value.fields["UploadId"] == upload.upload_id
    with pytest.raises(NoSuchKey):
        small.head_object("data", "k")


def test_complete_with_a_wrong_etag_or_missing_part_is_invalid_part(small: Lake) -> None:
    """CompleteMultipartUpload: a part never uploaded, or a wrong ETag, is InvalidPart; the
    upload stays open."""
    upload = small.create_multipart_upload("data", "k")
    part = small.upload_part("data", "k", upload.upload_id, 1, b"one")
    wrong = md5(b"other").hexdigest()
    with pytest.raises(InvalidPart) as caught:
        small.complete_multipart_upload("data", "k", upload.upload_id, [CompletedPart(1, wrong)])
    assert caught.value.fields["PartNumber"] == "1"
    with pytest.raises(InvalidPart) as caught:
        small.complete_multipart_upload(
            "data", "k", upload.upload_id, [CompletedPart(1, part.etag), CompletedPart(2, wrong)]
        )
    assert caught.value.fields["PartNumber"] == "2"
    assert [p.part_number for p in small.list_parts("data", "k", upload.upload_id).parts] == [1]
    info = small.complete_multipart_upload(
        "data", "k", upload.upload_id, [CompletedPart(1, part.etag.upper())]
    )
    assert info.etag == multipart_etag([b"one"])


def test_complete_with_a_small_part_before_the_last_is_entity_too_small(
    lake: Lake, bucket: str
) -> None:
    """CompleteMultipartUpload: every part but the last must be at least 5 MiB
    (EntityTooSmall); the upload stays open."""
    upload = lake.create_multipart_upload(bucket, "k")
    p1 = lake.upload_part(bucket, "k", upload.upload_id, 1, b"x" * (5 * MiB - 1))
    p2 = lake.upload_part(bucket, "k", upload.upload_id, 2, b"tail")
    with pytest.raises(EntityTooSmall) as caught:
        lake.complete_multipart_upload(bucket, "k", upload.upload_id, completed([p1, p2]))
    assert caught.value.fields["ProposedSize"] == str(5 * MiB - 1)
    assert caught.value.fields["PartNumber"] == "1"
    assert len(lake.list_parts(bucket, "k", upload.upload_id).parts) == 2
    # The last part alone may be small.
    info = lake.complete_multipart_upload(bucket, "k", upload.upload_id, completed([p2]))
    assert info.size == 4


def test_small_parts_are_accepted_without_limits(small: Lake) -> None:
    """CompleteMultipartUpload with limits off: parts under 5 MiB are fine."""
    upload = small.create_multipart_upload("data", "k")
    datas = [b"aa", b"bbb", b"c"]
    parts = [small.upload_part("data", "k", upload.upload_id, n, d) for n, d in enumerate(datas, 1)]
    info = small.complete_multipart_upload("data", "k", upload.upload_id, completed(parts))
    assert info.etag == multipart_etag(datas)
    assert read(small, "data", "k") == b"aabbbc"


def test_complete_with_no_parts_is_malformed_xml(small: Lake) -> None:
    """CompleteMultipartUpload naming no Part is MalformedXML."""
    upload = small.create_multipart_upload("data", "k")
    small.upload_part("data", "k", upload.upload_id, 1, b"x")
    with pytest.raises(MalformedXML):
        small.complete_multipart_upload("data", "k", upload.upload_id, [])


@pytest.mark.parametrize("number", [0, -1, 10001, True, "1", 1.0, None])
def test_upload_part_with_a_bad_part_number_is_invalid_argument(
    small: Lake, files_under: FilesUnder, number: object
) -> None:
    """UploadPart/UploadPartCopy: PartNumber must be an integer from 1 to 10,000."""
    upload = small.create_multipart_upload("data", "k")
    small.put_object("data", "src", b"source")
    with pytest.raises(InvalidArgument) as caught:
        small.upload_part("data", "k", upload.upload_id, number, b"x")  # type: ignore[arg-type]
    assert caught.value.fields["ArgumentName"] == "partNumber"
    with pytest.raises(InvalidArgument):
        small.upload_part_copy("data", "k", upload.upload_id, number, "data", "src")  # type: ignore[arg-type]
    assert len(files_under(small, "data", "blobs")) == 1
    assert files_under(small, "data", "tmp") == []


def test_upload_part_accepts_part_numbers_1_and_10000(small: Lake) -> None:
    """UploadPart: 1 and 10,000 are the first and last valid part numbers."""
    upload = small.create_multipart_upload("data", "k")
    parts = [small.upload_part("data", "k", upload.upload_id, n, b"%d" % n) for n in (1, 10_000)]
    info = small.complete_multipart_upload("data", "k", upload.upload_id, completed(parts))
    assert read(small, "data", "k") == b"110000"
    assert info.parts_count == 2


def test_upload_part_copy_with_and_without_a_range(small: Lake) -> None:
    """UploadPartCopy: a part made of a whole source object, or of bytes=first-last of it."""
    source = bytes(range(100))
    small.create_bucket("other")
    small.put_object("other", "src", source)
    upload = small.create_multipart_upload("data", "k")
    whole = small.upload_part_copy("data", "k", upload.upload_id, 1, "other", "src")
    assert whole.etag == md5(source).hexdigest()
    assert whole.size == 100
    ranged = small.upload_part_copy(
        "data", "k", upload.upload_id, 2, "other", "src", source_range="bytes=10-19"
    )
    assert ranged.size == 10
    assert ranged.etag == md5(source[10:20]).hexdigest()
    info = small.complete_multipart_upload(
        "data", "k", upload.upload_id, completed([whole, ranged])
    )
    assert read(small, "data", "k") == source + source[10:20]
    assert info.etag == multipart_etag([source, source[10:20]])


@pytest.mark.parametrize(
    "source_range",
    ["bytes=19-10", "junk", "bytes=0-1,3-4", "bytes=", "bytes=-", "bytes=5-", "bytes=-5"],
)
def test_upload_part_copy_with_a_malformed_range_is_invalid_argument(
    small: Lake, files_under: FilesUnder, source_range: str
) -> None:
    """UploadPartCopy: x-amz-copy-source-range must be bytes=first-last, else InvalidArgument."""
    small.put_object("data", "src", bytes(range(100)))
    upload = small.create_multipart_upload("data", "k")
    with pytest.raises(InvalidArgument) as caught:
        small.upload_part_copy(
            "data", "k", upload.upload_id, 1, "data", "src", source_range=source_range
        )
    assert caught.value.fields["ArgumentName"] == "x-amz-copy-source-range"
    assert small.list_parts("data", "k", upload.upload_id).parts == []
    assert len(files_under(small, "data", "blobs")) == 1


def test_upload_part_copy_of_a_missing_source_is_no_such_key(small: Lake) -> None:
    """UploadPartCopy: a source key that does not exist is NoSuchKey."""
    upload = small.create_multipart_upload("data", "k")
    with pytest.raises(NoSuchKey):
        small.upload_part_copy("data", "k", upload.upload_id, 1, "data", "missing")


def _calls(upload_id: str) -> list[tuple[str, Callable[[Lake], Any]]]:
    return [
        ("UploadPart", lambda lake: lake.upload_part("data", "k", upload_id, 1, b"x")),
        (
            "UploadPartCopy",
            lambda lake: lake.upload_part_copy("data", "k", upload_id, 1, "data", "src"),
        ),
        ("ListParts", lambda lake: lake.list_parts("data", "k", upload_id)),
        (
            "CompleteMultipartUpload",
            lambda lake: lake.complete_multipart_upload(
                "data", "k", upload_id, [CompletedPart(1, md5(b"x").hexdigest())]
            ),
        ),
        ("AbortMultipartUpload", lambda lake: lake.abort_multipart_upload("data", "k", upload_id)),
    ]


def test_abort_then_any_use_of_the_upload_is_no_such_upload(
    small: Lake, files_under: FilesUnder
) -> None:
    """AbortMultipartUpload: the upload and its parts are gone; every later use of the
    UploadId is NoSuchUpload."""
    small.put_object("data", "src", b"source")
    upload = small.create_multipart_upload("data", "k")
    for n in (1, 2, 3):
        small.upload_part("data", "k", upload.upload_id, n, b"part")
    assert len(files_under(small, "data", "blobs")) == 4
    small.abort_multipart_upload("data", "k", upload.upload_id)
    assert len(files_under(small, "data", "blobs")) == 1
    assert small.list_multipart_uploads("data").uploads == []
    for name, call in _calls(upload.upload_id):
        with pytest.raises(NoSuchUpload) as caught:
            call(small)
        assert caught.value.fields["UploadId"] == upload.upload_id, name
    with pytest.raises(NoSuchKey):
        small.head_object("data", "k")


def test_an_upload_id_used_with_another_key_is_no_such_upload(small: Lake) -> None:
    """UploadPart/ListParts/Complete/Abort: an UploadId belongs to its key only."""
    small.put_object("data", "src", b"source")
    upload = small.create_multipart_upload("data", "other-key")
    for name, call in _calls(upload.upload_id):
        with pytest.raises(NoSuchUpload):
            call(small)
        assert small.list_multipart_uploads("data").uploads[0].upload_id == upload.upload_id, name
    with pytest.raises(NoSuchUpload):
        small.upload_part("data", "k", "made-up-id", 1, b"x")


def test_completing_a_subset_of_parts_discards_the_rest(
    small: Lake, files_under: FilesUnder
) -> None:
    """CompleteMultipartUpload: parts uploaded but not listed are discarded."""
    upload = small.create_multipart_upload("data", "k")
    parts = [small.upload_part("data", "k", upload.upload_id, n, b"<%d>" % n) for n in (1, 2, 3, 4)]
    info = small.complete_multipart_upload(
        "data", "k", upload.upload_id, completed([parts[0], parts[2]])
    )
    assert read(small, "data", "k") == b"<1><3>"
    assert info.parts_count == 2
    assert info.etag == multipart_etag([b"<1>", b"<3>"])
    assert len(files_under(small, "data", "blobs")) == 1
    assert files_under(small, "data", "tmp") == []


def test_create_multipart_upload_validates_key_and_metadata(small: Lake) -> None:
    """CreateMultipartUpload: the key and metadata rules of PutObject apply."""
    with pytest.raises(InvalidArgument):
        small.create_multipart_upload("data", "")
    with pytest.raises(Exception, match="KeyTooLongError"):
        small.create_multipart_upload("data", "k" * 1025)
    with pytest.raises(Exception, match="MetadataTooLarge"):
        small.create_multipart_upload("data", "k", metadata={"m": "v" * 3000})
    assert small.list_multipart_uploads("data").uploads == []


# ------------------------------------------------------------------ ListMultipartUploads


def all_upload_pages(
    lake: Lake, *, prefix: str = "", delimiter: str | None = None, max_uploads: int
) -> list[UploadsPage]:
    pages = [
        lake.list_multipart_uploads(
            "data", prefix=prefix, delimiter=delimiter, max_uploads=max_uploads
        )
    ]
    while pages[-1].is_truncated:
        assert len(pages) < 100, "pagination does not end"
        last = pages[-1]
        pages.append(
            lake.list_multipart_uploads(
                "data",
                prefix=prefix,
                delimiter=delimiter,
                max_uploads=max_uploads,
                key_marker=last.next_key_marker,
                upload_id_marker=last.next_upload_id_marker,
            )
        )
    return pages


@pytest.fixture
def uploads(small: Lake, clock: ManualClock) -> list[tuple[str, str]]:
    """Seven uploads in progress: (key, upload id) in the order S3 lists them."""
    started = []
    for key in ["b", "a/2", "a/1", "b", "c/x/1", "a/1", "é"]:
        started.append((key, small.create_multipart_upload("data", key).upload_id))
        clock.advance(1)
    return sorted(started, key=lambda u: (u[0].encode(), started.index(u)))


def test_list_multipart_uploads_lists_by_key_then_initiation(
    small: Lake, uploads: list[tuple[str, str]]
) -> None:
    """ListMultipartUploads: uploads sorted by key, then by initiation time."""
    page = small.list_multipart_uploads("data")
    assert [(u.key, u.upload_id) for u in page.uploads] == uploads
    assert not page.is_truncated
    assert [u.key for u in small.list_multipart_uploads("data", prefix="a/").uploads] == [
        "a/1",
        "a/1",
        "a/2",
    ]


def test_list_multipart_uploads_with_a_delimiter_groups_keys(
    small: Lake, uploads: list[tuple[str, str]]
) -> None:
    """ListMultipartUploads with Delimiter: keys past it roll up into CommonPrefixes."""
    page = small.list_multipart_uploads("data", delimiter="/")
    assert page.common_prefixes == ["a/", "c/"]
    assert [u.key for u in page.uploads] == ["b", "b", "é"]
    page = small.list_multipart_uploads("data", prefix="c/", delimiter="/")
    assert page.common_prefixes == ["c/x/"]
    assert page.uploads == []


def test_list_multipart_uploads_key_marker_and_upload_id_marker(
    small: Lake, uploads: list[tuple[str, str]]
) -> None:
    """ListMultipartUploads: KeyMarker alone lists keys after it; with UploadIdMarker, the
    key's uploads after that upload too."""
    after_a1 = small.list_multipart_uploads("data", key_marker="a/1")
    assert [u.key for u in after_a1.uploads] == ["a/2", "b", "b", "c/x/1", "é"]
    first_a1 = uploads[0][1]
    after_first = small.list_multipart_uploads("data", key_marker="a/1", upload_id_marker=first_a1)
    assert [(u.key, u.upload_id) for u in after_first.uploads] == uploads[1:]


@pytest.mark.parametrize("max_uploads", [1, 2, 3, 5])
def test_list_multipart_uploads_pages_concatenate_to_everything(
    small: Lake, uploads: list[tuple[str, str]], max_uploads: int
) -> None:
    """ListMultipartUploads: following NextKeyMarker/NextUploadIdMarker lists every upload
    once, MaxUploads at most a page."""
    pages = all_upload_pages(small, max_uploads=max_uploads)
    listed = [(u.key, u.upload_id) for p in pages for u in p.uploads]
    assert listed == uploads
    assert all(len(p.uploads) <= max_uploads for p in pages)
    assert all(p.is_truncated for p in pages[:-1])


@pytest.mark.parametrize("max_uploads", [1, 2, 3])
def test_list_multipart_uploads_pages_with_a_delimiter_list_each_prefix_once(
    small: Lake, uploads: list[tuple[str, str]], max_uploads: int
) -> None:
    """ListMultipartUploads with Delimiter: paging lists each upload and each common prefix
    exactly once, keys plus prefixes at most MaxUploads a page."""
    pages = all_upload_pages(small, delimiter="/", max_uploads=max_uploads)
    prefixes = [c for p in pages for c in p.common_prefixes]
    listed = [(u.key, u.upload_id) for p in pages for u in p.uploads]
    assert prefixes == ["a/", "c/"]
    assert listed == [u for u in uploads if "/" not in u[0]]
    assert all(len(p.uploads) + len(p.common_prefixes) <= max_uploads for p in pages)


def test_list_multipart_uploads_with_a_non_utf8_key_marker_is_invalid_argument(
    small: Lake,
) -> None:
    """ListMultipartUploads: a KeyMarker that is not UTF-8 is InvalidArgument."""
    with pytest.raises(InvalidArgument) as caught:
        small.list_multipart_uploads("data", key_marker="\ud800")
    assert caught.value.fields["ArgumentName"] == "key-marker"


def test_parts_uploaded_from_several_threads_complete_in_part_order(
    small: Lake, files_under: FilesUnder
) -> None:
    """UploadPart from several threads at once (as the SDKs' transfer managers do): every
    part lands, and the object is the parts in part-number order."""
    upload = small.create_multipart_upload("data", "k")
    datas = {n: (b"%04d" % n) * 50 for n in range(1, 41)}

    def send(number: int) -> Part:
        return small.upload_part("data", "k", upload.upload_id, number, datas[number])

    with ThreadPoolExecutor(max_workers=4) as pool:
        parts = list(pool.map(send, sorted(datas)))
    info = small.complete_multipart_upload("data", "k", upload.upload_id, completed(parts))
    assert read(small, "data", "k") == b"".join(datas[n] for n in sorted(datas))
    assert info.etag == multipart_etag([datas[n] for n in sorted(datas)])
    assert len(files_under(small, "data", "blobs")) == 1


def test_upload_part_with_a_wrong_content_md5_is_bad_digest_and_keeps_no_part(
    small: Lake, files_under: FilesUnder
) -> None:
    """UploadPart with Content-MD5: a mismatch is BadDigest and the part is not stored; a
    malformed digest is InvalidArgument."""
    upload = small.create_multipart_upload("data", "k")
    wrong = base64.b64encode(md5(b"other").digest()).decode()
    with pytest.raises(BadDigest):
        small.upload_part("data", "k", upload.upload_id, 1, b"part", content_md5=wrong)
    with pytest.raises(InvalidArgument):
        small.upload_part("data", "k", upload.upload_id, 1, b"part", content_md5="bad")
    assert small.list_parts("data", "k", upload.upload_id).parts == []
    assert files_under(small, "data", "blobs") == []
    assert files_under(small, "data", "tmp") == []
    good = base64.b64encode(md5(b"part").digest()).decode()
    assert small.upload_part("data", "k", upload.upload_id, 1, b"part", content_md5=good).size == 4


def test_upload_part_over_the_part_size_limit_is_entity_too_large(
    lake: Lake, bucket: str, files_under: FilesUnder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UploadPart: a part over 5 GiB (here lowered to 1,000 bytes) is EntityTooLarge and
    leaves no file."""
    monkeypatch.setattr(fogbank.lake.engine, "MAX_PART_SIZE", 1000)
    upload = lake.create_multipart_upload(bucket, "k")
    with pytest.raises(EntityTooLarge):
        lake.upload_part(bucket, "k", upload.upload_id, 1, iter([b"x" * 600, b"x" * 600]))
    assert lake.list_parts(bucket, "k", upload.upload_id).parts == []
    assert files_under(lake, bucket, "blobs") == []
    assert files_under(lake, bucket, "tmp") == []
