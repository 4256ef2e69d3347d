"""S3 multipart uploads through boto3: CreateMultipartUpload, UploadPart, UploadPartCopy,
ListParts, ListMultipartUploads, CompleteMultipartUpload, AbortMultipartUpload, their
errors and paginators, and s3transfer's parallel multipart uploads and ranged downloads."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig

from fogbank import Fogbank

MiB = 1024 * 1024
PART = b"p" * (5 * MiB)  # the smallest part S3 accepts before the last one
TAIL = b"the last part may be small"


def _etag_of_parts(*parts: bytes) -> str:
    """S3's multipart ETag: the MD5 of the parts' binary MD5s, then -<number of parts>."""
    joined = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(parts)}"'


def _start(s3: Any, bucket: str, key: str, **kwargs: Any) -> str:
    upload_id: str = s3.create_multipart_upload(Bucket=bucket, Key=key, **kwargs)["UploadId"]
    return upload_id


def _stored_blobs(fogbank: Fogbank, bucket: str) -> list[Path]:
    root = fogbank.lake.root / "buckets" / bucket
    return [p for folder in ("blobs", "tmp") for p in (root / folder).rglob("*") if p.is_file()]


def test_multipart_upload_from_create_to_complete(s3: Any) -> None:
    """CreateMultipartUpload, UploadPart, ListParts, ListMultipartUploads,
    CompleteMultipartUpload: the object is the parts joined, with S3's multipart ETag and
    the content type and metadata given at creation. A part uploaded again replaces the
    earlier one."""
    s3.create_bucket(Bucket="multi")
    created = s3.create_multipart_upload(
        Bucket="multi", Key="big file.bin", ContentType="text/plain", Metadata={"m": "1"}
    )
    assert (created["Bucket"], created["Key"]) == ("multi", "big file.bin")
    upload_id = created["UploadId"]
    first = s3.upload_part(
        Bucket="multi", Key="big file.bin", UploadId=upload_id, PartNumber=1, Body=PART
    )
    assert first["ETag"] == f'"{hashlib.md5(PART).hexdigest()}"'
    second = s3.upload_part(
        Bucket="multi", Key="big file.bin", UploadId=upload_id, PartNumber=2, Body=TAIL
    )
    listed = s3.list_parts(Bucket="multi", Key="big file.bin", UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == [
        (1, len(PART)),
        (2, len(TAIL)),
    ]
    assert [p["ETag"] for p in listed["Parts"]] == [first["ETag"], second["ETag"]]
    assert listed["IsTruncated"] is False
    uploads = s3.list_multipart_uploads(Bucket="multi")["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("big file.bin", upload_id)]
    completed = s3.complete_multipart_upload(
        Bucket="multi",
        Key="big file.bin",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": first["ETag"]},
                {"PartNumber": 2, "ETag": second["ETag"]},
            ]
        },
    )
    assert completed["ETag"] == _etag_of_parts(PART, TAIL)
    assert (completed["Bucket"], completed["Key"]) == ("multi", "big file.bin")
    got = s3.get_object(Bucket="multi", Key="big file.bin")
    assert got["Body"].read() == PART + TAIL
    assert (got["ContentType"], got["Metadata"]) == ("text/plain", {"m": "1"})
    assert got["ETag"] == completed["ETag"]
    assert s3.list_multipart_uploads(Bucket="multi").get("Uploads", []) == []

    # UploadPart with a part number already uploaded: the newer part wins.
    upload_id = _start(s3, "multi", "k")
    s3.upload_part(Bucket="multi", Key="k", UploadId=upload_id, PartNumber=1, Body=b"old")
    new = s3.upload_part(Bucket="multi", Key="k", UploadId=upload_id, PartNumber=1, Body=b"new!")
    (part,) = s3.list_parts(Bucket="multi", Key="k", UploadId=upload_id)["Parts"]
    assert (part["ETag"], part["Size"]) == (new["ETag"], 4)
    s3.complete_multipart_upload(
        Bucket="multi",
        Key="k",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": new["ETag"]}]},
    )
    assert s3.get_object(Bucket="multi", Key="k")["Body"].read() == b"new!"


def test_upload_part_copy_takes_byte_ranges_of_another_object(s3: Any, s3_error: Any) -> None:
    """UploadPartCopy with x-amz-copy-source-range (bytes=first-last) from a key that needs
    URL-encoding; a malformed range is InvalidArgument, one past the end InvalidRange."""
    s3.create_bucket(Bucket="multi")
    source = bytes(range(256)) * (5 * MiB // 256) + TAIL
    s3.put_object(Bucket="multi", Key="src dir/ü+%.bin", Body=source)
    copy_source = {"Bucket": "multi", "Key": "src dir/ü+%.bin"}
    upload_id = _start(s3, "multi", "assembled")
    parts = []
    for number, (first, last) in enumerate([(0, 5 * MiB - 1), (5 * MiB, len(source) - 1)], 1):
        copied = s3.upload_part_copy(
            Bucket="multi",
            Key="assembled",
            UploadId=upload_id,
            PartNumber=number,
            CopySource=copy_source,
            CopySourceRange=f"bytes={first}-{last}",
        )
        etag = copied["CopyPartResult"]["ETag"]
        assert etag == f'"{hashlib.md5(source[first : last + 1]).hexdigest()}"'
        assert copied["CopyPartResult"]["LastModified"]
        parts.append({"PartNumber": number, "ETag": etag})
    with s3_error("InvalidArgument", 400, "x-amz-copy-source-range", "bytes=5-"):
        s3.upload_part_copy(
            Bucket="multi",
            Key="assembled",
            UploadId=upload_id,
            PartNumber=3,
            CopySource=copy_source,
            CopySourceRange="bytes=5-",
        )
    with s3_error("InvalidRange", 416, "Range"):
        s3.upload_part_copy(
            Bucket="multi",
            Key="assembled",
            UploadId=upload_id,
            PartNumber=3,
            CopySource=copy_source,
            CopySourceRange=f"bytes={len(source)}-{len(source) + 10}",
        )
    s3.complete_multipart_upload(
        Bucket="multi", Key="assembled", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    assert s3.get_object(Bucket="multi", Key="assembled")["Body"].read() == source


def test_complete_multipart_upload_errors_leave_the_upload_open(s3: Any, s3_error: Any) -> None:
    """CompleteMultipartUpload: EntityTooSmall (a part under 5 MiB before the last),
    InvalidPart (a wrong ETag, a part never uploaded), InvalidPartOrder, MalformedXML (no
    parts), each 400 and naming the part; the upload stays open and completes after."""
    s3.create_bucket(Bucket="multi")
    upload_id = _start(s3, "multi", "k")
    etags = {
        n: s3.upload_part(Bucket="multi", Key="k", UploadId=upload_id, PartNumber=n, Body=body)[
            "ETag"
        ]
        for n, body in ((1, b"small one"), (2, b"small two"), (3, PART))
    }

    def complete(parts: list[dict[str, Any]]) -> Any:
        return s3.complete_multipart_upload(
            Bucket="multi", Key="k", UploadId=upload_id, MultipartUpload={"Parts": parts}
        )

    both = [{"PartNumber": n, "ETag": etags[n]} for n in (1, 2)]
    with s3_error("EntityTooSmall", 400, "part 1", "5 MiB") as caught:
        complete(both)
    assert caught.value.response["Error"]["MinSizeAllowed"] == str(5 * MiB)
    with s3_error("InvalidPart", 400, "part 2", '"0123"'):
        complete([{"PartNumber": 2, "ETag": '"0123"'}])
    with s3_error("InvalidPart", 400, "part 3"):
        complete([{"PartNumber": 3, "ETag": etags[1]}])
    with s3_error("InvalidPartOrder", 400, "ascending", "part 1 comes after part 3"):
        complete([{"PartNumber": 3, "ETag": etags[3]}, both[0]])
    with s3_error("MalformedXML", 400, "Part"):
        complete([])
    complete([both[1]])  # the last part alone may be small
    assert s3.get_object(Bucket="multi", Key="k")["Body"].read() == b"small two"


def test_upload_part_bad_digest_and_unknown_uploads(make_s3: Any, s3_error: Any) -> None:
    """UploadPart with a wrong Content-MD5: BadDigest (400), the part not kept. UploadPart,
    ListParts, CompleteMultipartUpload, AbortMultipartUpload with an upload id that does
    not exist, one already completed, or one for another key: NoSuchUpload (404)."""
    s3 = make_s3(retries={"max_attempts": 0})  # botocore would retry BadDigest once
    s3.create_bucket(Bucket="multi")
    pending = _start(s3, "multi", "k")
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with s3_error("BadDigest", 400, "Content-MD5"):
        s3.upload_part(
            Bucket="multi", Key="k", UploadId=pending, PartNumber=1, Body=b"x", ContentMD5=wrong
        )
    assert s3.list_parts(Bucket="multi", Key="k", UploadId=pending).get("Parts", []) == []

    done = _start(s3, "multi", "k")
    etag = s3.upload_part(Bucket="multi", Key="k", UploadId=done, PartNumber=1, Body=b"x")["ETag"]
    s3.complete_multipart_upload(
        Bucket="multi",
        Key="k",
        UploadId=done,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    other = _start(s3, "multi", "other-key")
    for upload_id, key in (("no-such-upload", "k"), (done, "k"), (other, "k")):
        with s3_error("NoSuchUpload", 404, upload_id) as caught:
            s3.list_parts(Bucket="multi", Key=key, UploadId=upload_id)
        assert caught.value.response["Error"]["UploadId"] == upload_id
        with s3_error("NoSuchUpload", 404, upload_id):
            s3.complete_multipart_upload(
                Bucket="multi",
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
            )
        with s3_error("NoSuchUpload", 404, upload_id):
            s3.abort_multipart_upload(Bucket="multi", Key=key, UploadId=upload_id)
    with s3_error("NoSuchUpload", 404, "no-such-upload"):
        s3.upload_part(Bucket="multi", Key="k", UploadId="no-such-upload", PartNumber=1, Body=b"x")


def test_abort_multipart_upload_answers_204_and_discards_the_parts(
    s3: Any, s3_error: Any, fogbank: Fogbank
) -> None:
    """AbortMultipartUpload: 204 No Content; the upload is gone and so are its parts' bytes."""
    s3.create_bucket(Bucket="multi")
    upload_id = _start(s3, "multi", "k")
    for number in (1, 2):
        s3.upload_part(Bucket="multi", Key="k", UploadId=upload_id, PartNumber=number, Body=b"x")
    assert len(_stored_blobs(fogbank, "multi")) == 2
    aborted = s3.abort_multipart_upload(Bucket="multi", Key="k", UploadId=upload_id)
    assert aborted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.list_multipart_uploads(Bucket="multi").get("Uploads", []) == []
    assert _stored_blobs(fogbank, "multi") == []
    with s3_error("NoSuchUpload", 404, upload_id):
        s3.list_parts(Bucket="multi", Key="k", UploadId=upload_id)
    with s3_error("404", 404):
        s3.head_object(Bucket="multi", Key="k")


def test_list_multipart_uploads_and_list_parts_page_by_markers(s3: Any) -> None:
    """ListMultipartUploads Prefix, Delimiter, MaxUploads, KeyMarker / UploadIdMarker (two
    uploads of one key split across pages), and its paginator; ListParts MaxParts /
    PartNumberMarker / NextPartNumberMarker, and its paginator."""
    s3.create_bucket(Bucket="multi")
    started = [(key, _start(s3, "multi", key)) for key in ("a/1", "a/2", "b", "b", "c d/e")]
    order = sorted(started, key=lambda item: item[0])  # same key: in order of initiation
    walked = list(
        s3.get_paginator("list_multipart_uploads").paginate(
            Bucket="multi", PaginationConfig={"PageSize": 2}
        )
    )
    assert len(walked) == 3
    assert [(u["Key"], u["UploadId"]) for p in walked for u in p["Uploads"]] == order
    first = walked[0]
    assert (first["IsTruncated"], first["NextKeyMarker"], first["MaxUploads"]) == (
        True,
        "a/2",
        2,
    )
    assert first["NextUploadIdMarker"] == order[1][1]
    resumed = s3.list_multipart_uploads(Bucket="multi", KeyMarker="b", UploadIdMarker=order[2][1])
    assert [(u["Key"], u["UploadId"]) for u in resumed["Uploads"]] == order[3:]
    assert [
        u["Key"] for u in s3.list_multipart_uploads(Bucket="multi", Prefix="a/")["Uploads"]
    ] == [
        "a/1",
        "a/2",
    ]
    grouped = s3.list_multipart_uploads(Bucket="multi", Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["a/", "c d/"]
    assert [u["Key"] for u in grouped["Uploads"]] == ["b", "b"]

    # ListParts.
    upload_id = _start(s3, "multi", "k")
    for number in range(1, 13):
        s3.upload_part(
            Bucket="multi", Key="k", UploadId=upload_id, PartNumber=number, Body=b"%d" % number
        )
    first = s3.list_parts(Bucket="multi", Key="k", UploadId=upload_id, MaxParts=5)
    assert [p["PartNumber"] for p in first["Parts"]] == [1, 2, 3, 4, 5]
    assert (first["IsTruncated"], first["NextPartNumberMarker"], first["MaxParts"]) == (
        True,
        5,
        5,
    )
    last = s3.list_parts(Bucket="multi", Key="k", UploadId=upload_id, PartNumberMarker=10)
    assert [p["PartNumber"] for p in last["Parts"]] == [11, 12]
    assert (last["IsTruncated"], last["PartNumberMarker"]) == (False, 10)
    pages = list(
        s3.get_paginator("list_parts").paginate(
            Bucket="multi", Key="k", UploadId=upload_id, PaginationConfig={"PageSize": 5}
        )
    )
    assert [[p["PartNumber"] for p in page["Parts"]] for page in pages] == [
        [1, 2, 3, 4, 5],
        [6, 7, 8, 9, 10],
        [11, 12],
    ]


# ------------------------------------------------------------------ s3transfer


@pytest.fixture(scope="module")
def eighteen_mb() -> bytes:
    return random.Random(18).randbytes(18 * MiB)


class _Traffic:
    """The UploadPart and ranged GetObject requests a client sends, and how many overlap."""

    def __init__(self, client: Any) -> None:
        self.parts = 0
        self.ranges: list[str] = []
        self._in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()
        client.meta.events.register("before-send.s3.UploadPart", self._start_part)
        client.meta.events.register("after-call.s3.UploadPart", self._end)
        client.meta.events.register("before-send.s3.GetObject", self._start_get)
        client.meta.events.register("after-call.s3.GetObject", self._end)

    def _start_part(self, request: Any, **_: Any) -> None:
        with self._lock:
            self.parts += 1
            self._begin()

    def _start_get(self, request: Any, **_: Any) -> None:
        with self._lock:
            if "Range" in request.headers:
                value = request.headers["Range"]
                self.ranges.append(value.decode() if isinstance(value, bytes) else value)
            self._begin()

    def _begin(self) -> None:
        self._in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self._in_flight)

    def _end(self, **_: Any) -> None:
        with self._lock:
            self._in_flight -= 1


def test_s3transfer_uploads_in_parallel_parts_and_downloads_in_ranges(
    s3: Any, tmp_path: Path, eighteen_mb: bytes
) -> None:
    """upload_fileobj / upload_file (CreateMultipartUpload, parallel UploadPart,
    CompleteMultipartUpload) and download_fileobj / download_file (HeadObject, then
    parallel ranged GetObject) of 18 MB with 5 MB parts and 4 threads."""
    config = TransferConfig(
        multipart_threshold=5 * MiB,
        multipart_chunksize=5 * MiB,
        max_concurrency=4,
        preferred_transfer_client="classic",
    )
    s3.create_bucket(Bucket="transfers")
    traffic = _Traffic(s3)
    s3.upload_fileobj(io.BytesIO(eighteen_mb), "transfers", "from fileobj.bin", Config=config)
    assert traffic.parts == 4
    head = s3.head_object(Bucket="transfers", Key="from fileobj.bin")
    assert head["ContentLength"] == len(eighteen_mb)
    assert head["ETag"].endswith('-4"')
    downloaded = tmp_path / "downloaded.bin"
    s3.download_file("transfers", "from fileobj.bin", str(downloaded), Config=config)
    assert downloaded.read_bytes() == eighteen_mb
    starts = sorted(int(r.removeprefix("bytes=").partition("-")[0]) for r in traffic.ranges)
    assert starts == [0, 5 * MiB, 10 * MiB, 15 * MiB]

    s3.upload_file(str(downloaded), "transfers", "from file.bin", Config=config)
    assert traffic.parts == 8
    sink = io.BytesIO()
    s3.download_fileobj("transfers", "from file.bin", sink, Config=config)
    assert sink.getvalue() == eighteen_mb
    assert sorted(traffic.ranges[4:]) == sorted(traffic.ranges[:4])
    assert traffic.most_in_flight > 1  # parts and ranges really went in parallel
    assert s3.list_multipart_uploads(Bucket="transfers").get("Uploads", []) == []
