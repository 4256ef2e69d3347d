"""S3 through boto3: the basic round trip on both transports."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
import zlib
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import fogbank
from fogbank.lake.engine import Lake


def test_put_get_list_delete_round_trip(s3: Any) -> None:
    s3.create_bucket(Bucket="smoke")
    s3.put_object(Bucket="smoke", Key="a/b.txt", Body=b"hello", Metadata={"k": "v"})
    got = s3.get_object(Bucket="smoke", Key="a/b.txt")
    assert got["Body"].read() == b"hello"
    assert got["Metadata"] == {"k": "v"}
    listed = s3.list_objects_v2(Bucket="smoke", Delimiter="/")
    assert listed["CommonPrefixes"] == [{"Prefix": "a/"}]
    s3.delete_object(Bucket="smoke", Key="a/b.txt")
    s3.delete_bucket(Bucket="smoke")
    with pytest.raises(ClientError) as caught:
        s3.head_bucket(Bucket="smoke")
    assert caught.value.response["Error"]["Code"] == "404"


def test_fogbank_client_serves_boto3_in_process(tmp_path: Path) -> None:
    """fogbank.client("s3") is a real boto3 client with no server behind it."""
    s3 = fogbank.client("s3", home=str(tmp_path / "home"))
    try:
        s3.create_bucket(Bucket="in-process")
        s3.put_object(Bucket="in-process", Key="k", Body=b"v")
        assert s3.get_object(Bucket="in-process", Key="k")["Body"].read() == b"v"
        assert type(s3).__module__ == "botocore.client"
    finally:
        s3.close()


def test_checksum_sent_with_put_is_kept_and_returned(s3: Any) -> None:
    """PutObject's x-amz-checksum-* is verified, stored, and returned by GetObject and
    HeadObject with ChecksumMode=ENABLED (never for a range, whose bytes it would not match)."""
    s3.create_bucket(Bucket="checksums")
    body = b"hello world" * 100
    crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert s3.put_object(Bucket="checksums", Key="crc", Body=body)["ChecksumCRC32"] == crc
    s3.put_object(Bucket="checksums", Key="sha", Body=body, ChecksumAlgorithm="SHA256")
    got = s3.get_object(Bucket="checksums", Key="crc", ChecksumMode="ENABLED")
    assert (got["ChecksumCRC32"], got["ChecksumType"]) == (crc, "FULL_OBJECT")
    assert got["Body"].read() == body
    head = s3.head_object(Bucket="checksums", Key="sha", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == sha
    ranged = s3.get_object(Bucket="checksums", Key="sha", Range="bytes=0-4", ChecksumMode="ENABLED")
    assert "ChecksumSHA256" not in ranged
    assert ranged["Body"].read() == b"hello"


def test_an_index_from_before_checksums_is_migrated(tmp_path: Path) -> None:
    """A bucket index written before the checksum column existed opens and reads."""
    root = tmp_path / "lake"
    lake = Lake(root)
    lake.create_bucket("old-index")
    lake.put_object("old-index", "k", b"v")
    lake.close()
    index = root / "buckets" / "old-index" / "index.sqlite"
    with sqlite3.connect(index) as conn:
        conn.execute("ALTER TABLE objects DROP COLUMN checksum")
        conn.execute("PRAGMA user_version = 0")
    conn.close()
    lake = Lake(root)
    try:
        assert lake.read("s3://old-index/k") == b"v"
        assert lake.head_object("old-index", "k").checksum is None
    finally:
        lake.close()
