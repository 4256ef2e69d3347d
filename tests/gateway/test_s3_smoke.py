"""S3 through boto3: the basic round trip on both transports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import fogbank


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
