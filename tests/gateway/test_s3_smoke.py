"""S3 through boto3: the basic round trip on both transports."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


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
