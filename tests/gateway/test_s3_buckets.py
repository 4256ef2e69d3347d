"""S3 bucket operations through boto3: ListBuckets, CreateBucket, HeadBucket,
GetBucketLocation, DeleteBucket, their errors, virtual-hosted-style addressing and
an operation the gateway does not serve."""

from __future__ import annotations

import socket
from datetime import datetime
from typing import Any

import pytest


def test_list_buckets_names_each_bucket_in_order_with_owner_and_region(s3: Any) -> None:
    """ListBuckets: empty at first; then sorted by name, with creation date, region and
    the owner; Prefix filters."""
    assert s3.list_buckets().get("Buckets", []) == []
    s3.create_bucket(Bucket="beta-bucket")
    s3.create_bucket(Bucket="alpha-bucket")
    listed = s3.list_buckets()
    assert [b["Name"] for b in listed["Buckets"]] == ["alpha-bucket", "beta-bucket"]
    assert all(isinstance(b["CreationDate"], datetime) for b in listed["Buckets"])
    assert {b["BucketRegion"] for b in listed["Buckets"]} == {"us-east-1"}
    assert listed["Owner"]["ID"]
    assert [b["Name"] for b in s3.list_buckets(Prefix="al")["Buckets"]] == ["alpha-bucket"]


def test_create_bucket_in_us_east_1_has_no_location_constraint_and_may_repeat(s3: Any) -> None:
    """CreateBucket / GetBucketLocation / HeadBucket in us-east-1; CreateBucket again on a
    bucket you own there answers 200 and keeps the bucket and its objects, as S3 does."""
    created = s3.create_bucket(Bucket="east-bucket")
    assert created["Location"] == "/east-bucket"
    assert s3.get_bucket_location(Bucket="east-bucket")["LocationConstraint"] is None
    head = s3.head_bucket(Bucket="east-bucket")
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert head["BucketRegion"] == "us-east-1"
    s3.put_object(Bucket="east-bucket", Key="kept", Body=b"x")
    again = s3.create_bucket(Bucket="east-bucket")
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_object(Bucket="east-bucket", Key="kept")["Body"].read() == b"x"


def test_create_bucket_with_location_constraint_keeps_its_region_and_may_not_repeat(
    make_s3: Any, s3_error: Any
) -> None:
    """CreateBucket with CreateBucketConfiguration LocationConstraint, from eu-west-1:
    GetBucketLocation, HeadBucket and ListBuckets report the region; CreateBucket again is
    BucketAlreadyOwnedByYou (409) in every region but us-east-1."""
    eu = make_s3(region_name="eu-west-1")
    config = {"LocationConstraint": "eu-west-1"}
    eu.create_bucket(Bucket="west-bucket", CreateBucketConfiguration=config)
    assert eu.get_bucket_location(Bucket="west-bucket")["LocationConstraint"] == "eu-west-1"
    assert eu.head_bucket(Bucket="west-bucket")["BucketRegion"] == "eu-west-1"
    (bucket,) = eu.list_buckets()["Buckets"]
    assert bucket["BucketRegion"] == "eu-west-1"
    with s3_error("BucketAlreadyOwnedByYou", 409, "'west-bucket'") as caught:
        eu.create_bucket(Bucket="west-bucket", CreateBucketConfiguration=config)
    assert caught.value.response["Error"]["BucketName"] == "west-bucket"


INVALID_BUCKET_NAMES = {
    "Upper_Case": "character",
    "ab": "3 to 63",
    "192.168.1.1": "IP address",
    "double..dot": "adjacent dots",
    "-hyphen-first": "start and end",
}


def test_create_bucket_with_an_invalid_name_is_invalid_bucket_name(s3: Any, s3_error: Any) -> None:
    """CreateBucket: InvalidBucketName (400), the message naming the bucket and the rule."""
    for name, why in INVALID_BUCKET_NAMES.items():
        with s3_error("InvalidBucketName", 400, repr(name), why) as caught:
            s3.create_bucket(Bucket=name)
        assert caught.value.response["Error"]["BucketName"] == name
    assert s3.list_buckets().get("Buckets", []) == []


def test_delete_bucket_refuses_a_bucket_with_objects_then_answers_204(
    s3: Any, s3_error: Any
) -> None:
    """DeleteBucket: BucketNotEmpty (409) while an object remains, which is kept; once
    empty, 204 No Content, as S3 answers, and the bucket is gone from ListBuckets."""
    s3.create_bucket(Bucket="full")
    s3.put_object(Bucket="full", Key="a", Body=b"x")
    with s3_error("BucketNotEmpty", 409, "'full'"):
        s3.delete_bucket(Bucket="full")
    assert s3.get_object(Bucket="full", Key="a")["Body"].read() == b"x"
    s3.delete_object(Bucket="full", Key="a")
    deleted = s3.delete_bucket(Bucket="full")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.list_buckets().get("Buckets", []) == []


MISSING_BUCKET_CALLS = {
    "DeleteBucket": lambda s3: s3.delete_bucket(Bucket="nowhere"),
    "GetBucketLocation": lambda s3: s3.get_bucket_location(Bucket="nowhere"),
    "ListObjectsV2": lambda s3: s3.list_objects_v2(Bucket="nowhere"),
    "ListObjects": lambda s3: s3.list_objects(Bucket="nowhere"),
    "GetObject": lambda s3: s3.get_object(Bucket="nowhere", Key="k"),
    "DeleteObject": lambda s3: s3.delete_object(Bucket="nowhere", Key="k"),
    "CreateMultipartUpload": lambda s3: s3.create_multipart_upload(Bucket="nowhere", Key="k"),
    "ListMultipartUploads": lambda s3: s3.list_multipart_uploads(Bucket="nowhere"),
    "PutObject": lambda s3: s3.put_object(Bucket="nowhere", Key="k", Body=b"x"),
}


def test_operations_on_a_missing_bucket_are_no_such_bucket(s3: Any, s3_error: Any) -> None:
    """Every bucket-scoped operation (DeleteBucket, GetBucketLocation, ListObjects(V2),
    PutObject, GetObject, DeleteObject, CreateMultipartUpload, ListMultipartUploads):
    NoSuchBucket (404), naming the bucket. HeadBucket's error has no body (HEAD), so
    boto3 reports the status as the code."""
    with s3_error("404", 404):
        s3.head_bucket(Bucket="nowhere")
    for operation, call in MISSING_BUCKET_CALLS.items():
        with s3_error("NoSuchBucket", 404, "'nowhere'") as caught:
            call(s3)
        assert caught.value.response["Error"]["BucketName"] == "nowhere", operation


def test_an_operation_fogbank_does_not_serve_is_not_implemented(s3: Any, s3_error: Any) -> None:
    """GetBucketAcl (not served): NotImplemented (501), naming the operation."""
    s3.create_bucket(Bucket="acl-bucket")
    with s3_error("NotImplemented", 501, "GetBucketAcl"):
        s3.get_bucket_acl(Bucket="acl-bucket")


# ------------------------------------------------------------------ virtual-hosted style


@pytest.fixture
def resolve_localhost_subdomains(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``<bucket>.localhost`` resolve to the loopback address.

    RFC 6761 reserves ``.localhost`` for loopback and most resolvers (systemd-resolved,
    macOS) answer it, but plain glibc ``files``/``dns`` lookups do not; there this maps
    those names to 127.0.0.1, which is what the resolver would do.
    """
    try:
        socket.getaddrinfo("fogbank-probe.localhost", 80)
    except socket.gaierror:
        pass
    else:
        return
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.usefixtures("resolve_localhost_subdomains")
def test_virtual_hosted_style_requests_name_the_bucket_in_the_host(
    server: Any, server_s3: Any
) -> None:
    """CreateBucket, PutObject, GetObject, ListObjectsV2, DeleteObject, DeleteBucket with
    the bucket in the Host header (``bucket.localhost:PORT``), over the real server."""
    endpoint = f"http://localhost:{server.port}"
    s3 = server_s3(endpoint, s3={"addressing_style": "virtual"})
    urls: list[str] = []
    s3.meta.events.register("before-send.s3", lambda request, **_: urls.append(request.url))
    s3.create_bucket(Bucket="vhost")
    s3.put_object(Bucket="vhost", Key="dir/a b.txt", Body=b"virtual")
    assert s3.get_object(Bucket="vhost", Key="dir/a b.txt")["Body"].read() == b"virtual"
    listed = s3.list_objects_v2(Bucket="vhost", Prefix="dir/")
    assert [o["Key"] for o in listed["Contents"]] == ["dir/a b.txt"]
    assert s3.get_bucket_location(Bucket="vhost")["LocationConstraint"] is None
    s3.delete_object(Bucket="vhost", Key="dir/a b.txt")
    s3.delete_bucket(Bucket="vhost")
    assert s3.list_buckets().get("Buckets", []) == []
    assert urls[0].startswith(f"http://vhost.localhost:{server.port}/")
    assert urls[1] == f"http://vhost.localhost:{server.port}/dir/a%20b.txt"
    assert urls[-1] == f"{endpoint}/"
