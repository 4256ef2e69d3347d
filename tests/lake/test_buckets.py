"""Buckets: CreateBucket name rules, HeadBucket, ListBuckets, DeleteBucket, NoSuchBucket."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fogbank.core.clock import ManualClock
from fogbank.core.errors import (
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    InvalidBucketName,
    NoSuchBucket,
    NoSuchKey,
)
from fogbank.lake.engine import Lake
from fogbank.lake.model import CompletedPart

START = datetime(2026, 1, 1, tzinfo=UTC)

VALID_NAMES = [
    "abc",
    "a" * 63,
    "my-bucket",
    "my.bucket.name",
    "1-2-3",
    "123",
    "a.b-c.d",
    "xn-bucket",  # only "xn--" is reserved
    "sthree",  # only "sthree-" is reserved
    "bucket-s3",  # not the "-s3alias" suffix
    "bucket-mrap",  # only ".mrap" is reserved
    "192.168.5",  # three numbers are not an IP address
    "192.168.5.4a",
    "a-.b",  # S3 allows a hyphen next to a dot in general purpose bucket names
]

INVALID_NAMES = [
    ("", "0 characters long"),
    ("ab", "2 characters long"),
    ("a" * 64, "64 characters long"),
    ("MyBucket", "character S3 does not allow"),
    ("my_bucket", "character S3 does not allow"),
    ("my bucket", "character S3 does not allow"),
    ("bucket!", "character S3 does not allow"),
    ("bücket", "character S3 does not allow"),
    ("bucket\n", "character S3 does not allow"),
    ("my..bucket", "two adjacent dots"),
    ("192.168.5.4", "IP address"),
    ("10.0.0.1", "IP address"),
    ("10.0.0.01", "IP address"),
    ("999.999.999.999", "IP address"),
    ("xn--bucket", "reserved prefix"),
    ("sthree-bucket", "reserved prefix"),
    ("sthree-configurator", "reserved prefix"),
    ("amzn-s3-demo-bucket", "reserved prefix"),
    ("bucket-s3alias", "reserved suffix"),
    ("bucket--ol-s3", "reserved suffix"),
    ("bucket.mrap", "reserved suffix"),
    ("bucket--x-s3", "reserved suffix"),
    ("bucket--table-s3", "reserved suffix"),
    (".bucket", "does not start and end with a letter or digit"),
    ("bucket.", "does not start and end with a letter or digit"),
    ("-bucket", "does not start and end with a letter or digit"),
    ("bucket-", "does not start and end with a letter or digit"),
]


@pytest.mark.parametrize("name", VALID_NAMES)
def test_create_bucket_accepts_valid_names(lake: Lake, name: str) -> None:
    """CreateBucket: names following S3's general purpose bucket rules are accepted."""
    created = lake.create_bucket(name)
    assert created.name == name
    assert lake.head_bucket(name).name == name


@pytest.mark.parametrize(("name", "rule"), INVALID_NAMES)
def test_create_bucket_rejects_invalid_names_naming_the_rule(
    lake: Lake, name: str, rule: str
) -> None:
    """CreateBucket: an invalid name is InvalidBucketName, with the name and the rule broken."""
    with pytest.raises(InvalidBucketName) as caught:
        lake.create_bucket(name)
    assert caught.value.code == "InvalidBucketName"
    assert caught.value.fields["BucketName"] == name
    assert rule in caught.value.message
    assert lake.list_buckets() == []
    assert list((lake.root / "buckets").iterdir()) == []


def test_create_bucket_rejects_a_name_that_is_not_a_string(lake: Lake) -> None:
    """CreateBucket: a bucket name must be a string."""
    with pytest.raises(InvalidBucketName, match="must be a string"):
        lake.create_bucket(123)  # type: ignore[arg-type]


def test_create_head_list_delete_bucket(lake: Lake, clock: ManualClock) -> None:
    """CreateBucket, HeadBucket, ListBuckets (sorted by name) and DeleteBucket."""
    for name in ["zeta", "alpha", "mid.dle", "a-b"]:
        lake.create_bucket(name)
        clock.advance(1.5)
    head = lake.head_bucket("zeta")
    assert head.creation_date == START
    assert head.region == "us-east-1"
    assert [b.name for b in lake.list_buckets()] == ["a-b", "alpha", "mid.dle", "zeta"]
    lake.delete_bucket("alpha")
    assert [b.name for b in lake.list_buckets()] == ["a-b", "mid.dle", "zeta"]
    with pytest.raises(NoSuchBucket) as caught:
        lake.head_bucket("alpha")
    assert caught.value.fields["BucketName"] == "alpha"


def test_create_bucket_records_the_region(tmp_path: Path) -> None:
    """CreateBucket with a LocationConstraint: HeadBucket reports that region."""
    lake = Lake(tmp_path / "lake", clock=ManualClock(START))
    try:
        assert lake.create_bucket("eu-data", region="eu-west-1").region == "eu-west-1"
        assert lake.head_bucket("eu-data").region == "eu-west-1"
        assert lake.create_bucket("home").region == "us-east-1"
    finally:
        lake.close()


def test_create_bucket_again_in_us_east_1_returns_the_existing_bucket(
    lake: Lake, clock: ManualClock
) -> None:
    """CreateBucket: in us-east-1 re-creating a bucket you own succeeds and changes nothing."""
    first = lake.create_bucket("data")
    lake.put_object("data", "k", b"kept")
    clock.advance(60)
    again = lake.create_bucket("data")
    assert again == first
    assert again.creation_date == START
    assert lake.read("s3://data/k") == b"kept"


def test_create_bucket_again_in_another_region_is_bucket_already_owned_by_you(
    tmp_path: Path,
) -> None:
    """CreateBucket: outside us-east-1 re-creating your bucket is BucketAlreadyOwnedByYou."""
    lake = Lake(tmp_path / "lake", clock=ManualClock(START), region="eu-west-1")
    try:
        lake.create_bucket("data")
        lake.put_object("data", "k", b"kept")
        with pytest.raises(BucketAlreadyOwnedByYou) as caught:
            lake.create_bucket("data")
        assert caught.value.fields["BucketName"] == "data"
        assert lake.read("s3://data/k") == b"kept"
    finally:
        lake.close()


def test_delete_bucket_that_is_not_empty_is_bucket_not_empty(lake: Lake, bucket: str) -> None:
    """DeleteBucket: a bucket holding objects is BucketNotEmpty and keeps its objects."""
    lake.put_object(bucket, "k", b"kept")
    with pytest.raises(BucketNotEmpty) as caught:
        lake.delete_bucket(bucket)
    assert caught.value.fields["BucketName"] == bucket
    assert lake.read(f"s3://{bucket}/k") == b"kept"
    lake.delete_object(bucket, "k")
    lake.delete_bucket(bucket)
    assert lake.list_buckets() == []


def test_delete_bucket_that_does_not_exist_is_no_such_bucket(lake: Lake) -> None:
    """DeleteBucket: a missing bucket is NoSuchBucket."""
    with pytest.raises(NoSuchBucket):
        lake.delete_bucket("missing")


def _started_upload(lake: Lake) -> str:
    lake.create_bucket("other")
    return lake.create_multipart_upload("other", "k").upload_id


MISSING_BUCKET_CALLS: list[tuple[str, Callable[[Lake], Any]]] = [
    ("HeadBucket", lambda lake: lake.head_bucket("missing")),
    ("PutObject", lambda lake: lake.put_object("missing", "k", b"x")),
    ("GetObject", lambda lake: lake.get_object("missing", "k")),
    ("HeadObject", lambda lake: lake.head_object("missing", "k")),
    ("DeleteObject", lambda lake: lake.delete_object("missing", "k")),
    ("DeleteObjects", lambda lake: lake.delete_objects("missing", ["k"])),
    ("ListObjectsV2", lambda lake: lake.list_objects_v2("missing")),
    ("ListObjects", lambda lake: lake.list_objects("missing")),
    ("CopyObject-source", lambda lake: lake.copy_object("missing", "k", "other", "k")),
    ("CreateMultipartUpload", lambda lake: lake.create_multipart_upload("missing", "k")),
    ("UploadPart", lambda lake: lake.upload_part("missing", "k", "id", 1, b"x")),
    ("ListParts", lambda lake: lake.list_parts("missing", "k", "id")),
    (
        "CompleteMultipartUpload",
        lambda lake: lake.complete_multipart_upload(
            "missing", "k", "id", [CompletedPart(1, "0" * 32)]
        ),
    ),
    ("AbortMultipartUpload", lambda lake: lake.abort_multipart_upload("missing", "k", "id")),
    ("ListMultipartUploads", lambda lake: lake.list_multipart_uploads("missing")),
    ("local_path", lambda lake: lake.local_path("missing", "k")),
    ("write", lambda lake: lake.write("s3://missing/k", b"x")),
    ("read", lambda lake: lake.read("s3://missing/k")),
    ("ls", lambda lake: list(lake.ls("s3://missing/"))),
]


@pytest.mark.parametrize(
    "call", [c for _, c in MISSING_BUCKET_CALLS], ids=[n for n, _ in MISSING_BUCKET_CALLS]
)
def test_every_operation_on_a_missing_bucket_is_no_such_bucket(
    lake: Lake, call: Callable[[Lake], Any]
) -> None:
    """Every S3 operation naming a bucket that does not exist answers NoSuchBucket."""
    lake.create_bucket("other")
    with pytest.raises(NoSuchBucket) as caught:
        call(lake)
    assert caught.value.fields["BucketName"] == "missing"


def test_copy_object_to_a_missing_bucket_is_no_such_bucket(lake: Lake, bucket: str) -> None:
    """CopyObject: a destination bucket that does not exist is NoSuchBucket."""
    lake.put_object(bucket, "k", b"x")
    with pytest.raises(NoSuchBucket):
        lake.copy_object(bucket, "k", "missing", "k")


def test_upload_part_copy_from_a_missing_bucket_is_no_such_bucket(lake: Lake) -> None:
    """UploadPartCopy: a source bucket that does not exist is NoSuchBucket."""
    upload_id = _started_upload(lake)
    with pytest.raises(NoSuchBucket):
        lake.upload_part_copy("other", "k", upload_id, 1, "missing", "k")


def test_bucket_deleted_by_another_process_is_no_such_bucket(tmp_path: Path) -> None:
    """HeadBucket/GetObject: a bucket another process deleted is gone for this one too."""
    first = Lake(tmp_path / "lake", clock=ManualClock(START))
    second = Lake(tmp_path / "lake", clock=ManualClock(START))
    try:
        first.create_bucket("shared")
        first.put_object("shared", "k", b"x")
        first.delete_object("shared", "k")
        assert first.list_objects_v2("shared").contents == []
        second.delete_bucket("shared")
        with pytest.raises(NoSuchBucket):
            first.list_objects_v2("shared")
        with pytest.raises(NoSuchBucket):
            first.put_object("shared", "k", b"x")
    finally:
        first.close()
        second.close()


def test_bucket_recreated_by_another_process_shows_no_stale_data(tmp_path: Path) -> None:
    """DeleteBucket then CreateBucket from a second process: the first sees the new bucket."""
    first = Lake(tmp_path / "lake", clock=ManualClock(START))
    second = Lake(tmp_path / "lake", clock=ManualClock(START))
    try:
        first.create_bucket("shared")
        first.put_object("shared", "old", b"old bytes")
        assert first.read("s3://shared/old") == b"old bytes"  # first now holds a handle
        upload = first.create_multipart_upload("shared", "pending")
        first.abort_multipart_upload("shared", "pending", upload.upload_id)
        first.delete_object("shared", "old")

        second.delete_bucket("shared")
        second.create_bucket("shared", region="eu-west-1")
        second.put_object("shared", "new", b"new bytes")

        assert [o.key for o in first.list_objects_v2("shared").contents] == ["new"]
        assert first.read("s3://shared/new") == b"new bytes"
        assert first.head_bucket("shared").region == "eu-west-1"
        with pytest.raises(NoSuchKey):
            first.head_object("shared", "old")
        first.put_object("shared", "from-first", b"1")
        assert sorted(o.key for o in second.list_objects_v2("shared").contents) == [
            "from-first",
            "new",
        ]
    finally:
        first.close()
        second.close()
