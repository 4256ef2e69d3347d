"""S3 object operations through boto3: PutObject, GetObject, HeadObject, DeleteObject,
DeleteObjects, CopyObject, with their conditions, ranges, odd keys, integrity checks,
errors, and presigned URLs."""

from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from fogbank import Fogbank

BODY = b"0123456789"
BODY_MD5 = hashlib.md5(BODY).hexdigest()

# Keys that stress URL encoding and path handling: every one must round-trip unchanged.
ODD_KEYS = [
    "with space.txt",
    "ünïcödé/日本語 ✓.txt",
    "plus+sign.txt",
    "per%cent%20.txt",
    "a//double//slash",
    "/leading-slash",
    "trailing-slash/",
    "query?and#hash&amp=;",
    "tilde~star*quote'paren()",
    "dots/../and/./segments",
    "new\nline\r",
    '[]{}<>|^`"\\',
    "k" * 1024,
    "é" * 512,  # 1,024 bytes of UTF-8
]


def _stored_blobs(fogbank: Fogbank, bucket: str) -> list[Path]:
    """Every file the lake holds for ``bucket``: object blobs and writes in progress."""
    root = fogbank.lake.root / "buckets" / bucket
    return [p for folder in ("blobs", "tmp") for p in (root / folder).rglob("*") if p.is_file()]


def _assert_nothing_stored(fogbank: Fogbank, bucket: str) -> None:
    """No object in the index, and no bytes left behind on disk."""
    assert fogbank.lake.list_objects_v2(bucket).contents == []
    assert _stored_blobs(fogbank, bucket) == []


# ------------------------------------------------------------------ PutObject / GetObject


def test_put_object_then_get_object_round_trips_body_and_headers(s3: Any) -> None:
    """PutObject / GetObject: the body, ETag (MD5), content type and encoding, metadata."""
    s3.create_bucket(Bucket="objects")
    put = s3.put_object(
        Bucket="objects",
        Key="doc.json",
        Body=BODY,
        ContentType="application/json",
        ContentEncoding="identity",
        Metadata={"Owner": "fog", "n": "1"},
    )
    assert put["ETag"] == f'"{BODY_MD5}"'
    got = s3.get_object(Bucket="objects", Key="doc.json")
    with got["Body"] as body:
        assert body.read() == BODY
    assert got["ETag"] == f'"{BODY_MD5}"'
    assert got["ContentLength"] == len(BODY)
    assert got["ContentType"] == "application/json"
    assert got["ContentEncoding"] == "identity"
    assert got["Metadata"] == {"owner": "fog", "n": "1"}  # names lower-cased, as S3 does
    assert got["AcceptRanges"] == "bytes"
    assert got["LastModified"].tzinfo is not None


def test_put_object_defaults_content_type_overwrites_and_honours_if_none_match(
    s3: Any, s3_error: Any
) -> None:
    """PutObject: binary/octet-stream by default; a second put replaces the object; an
    empty body is an object too; If-None-Match "*" is PreconditionFailed (412) when the
    key exists."""
    s3.create_bucket(Bucket="objects")
    s3.put_object(Bucket="objects", Key="k", Body=b"first")
    s3.put_object(Bucket="objects", Key="k", Body=b"second, longer")
    head = s3.head_object(Bucket="objects", Key="k")
    assert head["ContentType"] == "binary/octet-stream"
    assert head["ContentLength"] == len(b"second, longer")
    assert s3.get_object(Bucket="objects", Key="k")["Body"].read() == b"second, longer"
    empty = s3.put_object(Bucket="objects", Key="empty", Body=b"")
    assert empty["ETag"] == f'"{hashlib.md5(b"").hexdigest()}"'
    assert s3.get_object(Bucket="objects", Key="empty")["Body"].read() == b""
    s3.put_object(Bucket="objects", Key="once", Body=b"first", IfNoneMatch="*")
    with s3_error("PreconditionFailed", 412, "If-None-Match"):
        s3.put_object(Bucket="objects", Key="once", Body=b"second", IfNoneMatch="*")
    assert s3.get_object(Bucket="objects", Key="once")["Body"].read() == b"first"


def test_put_object_with_correct_content_md5_and_checksums_is_stored(s3: Any) -> None:
    """PutObject with a right Content-MD5, x-amz-checksum-crc32 and -sha256: accepted."""
    s3.create_bucket(Bucket="digests")
    md5 = base64.b64encode(hashlib.md5(BODY).digest()).decode()
    sha = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    s3.put_object(Bucket="digests", Key="md5", Body=BODY, ContentMD5=md5)
    put = s3.put_object(Bucket="digests", Key="sha", Body=BODY, ChecksumSHA256=sha)
    assert put["ChecksumSHA256"] == sha
    crc = s3.put_object(Bucket="digests", Key="crc", Body=BODY, ChecksumAlgorithm="CRC32")
    assert crc["ChecksumCRC32"]
    listed = s3.list_objects_v2(Bucket="digests")
    assert [o["Key"] for o in listed["Contents"]] == ["crc", "md5", "sha"]


WRONG_DIGESTS = {
    "ContentMD5": (base64.b64encode(hashlib.md5(b"other").digest()).decode(), "Content-MD5"),
    "ChecksumCRC32": ("AAAAAA==", "CRC32"),
    "ChecksumSHA256": (base64.b64encode(bytes(32)).decode(), "SHA256"),
}


def test_put_object_with_a_wrong_digest_is_bad_digest_and_stores_nothing(
    make_s3: Any, s3_error: Any, fogbank: Fogbank
) -> None:
    """PutObject: a Content-MD5, x-amz-checksum-crc32 or -sha256 that does not match the
    body is BadDigest (400); no object appears, no bytes are left on disk, and an object
    already at the key stays."""
    # botocore retries BadDigest once by default; one attempt keeps the test fast.
    s3 = make_s3(retries={"max_attempts": 0})
    s3.create_bucket(Bucket="digests")
    for argument, (value, named) in WRONG_DIGESTS.items():
        with s3_error("BadDigest", 400, named):
            s3.put_object(Bucket="digests", Key="bad", Body=BODY, **{argument: value})
        _assert_nothing_stored(fogbank, "digests")
        with s3_error("404", 404):
            s3.head_object(Bucket="digests", Key="bad")
    # Over an existing key, the object already there stays.
    s3.put_object(Bucket="digests", Key="k", Body=b"old")
    wrong = WRONG_DIGESTS["ContentMD5"][0]
    with s3_error("BadDigest", 400, "Content-MD5"):
        s3.put_object(Bucket="digests", Key="k", Body=b"new", ContentMD5=wrong)
    assert s3.get_object(Bucket="digests", Key="k")["Body"].read() == b"old"


def test_put_object_over_the_key_and_metadata_limits_stores_nothing(
    s3: Any, s3_error: Any, fogbank: Fogbank
) -> None:
    """PutObject: KeyTooLongError (400) for a 1,025-byte key and MetadataTooLarge (400) past
    2 KB of user metadata, each naming the field and the limit; nothing is stored."""
    s3.create_bucket(Bucket="limits")
    with s3_error("KeyTooLongError", 400, "Key", "1025", "1024"):
        s3.put_object(Bucket="limits", Key="k" * 1025, Body=b"x")
    _assert_nothing_stored(fogbank, "limits")
    with s3_error("MetadataTooLarge", 400, "metadata", "2048"):
        s3.put_object(Bucket="limits", Key="k", Body=b"x", Metadata={"big": "v" * 2100})
    _assert_nothing_stored(fogbank, "limits")


def test_keys_needing_url_encoding_round_trip_through_every_object_operation(s3: Any) -> None:
    """PutObject, HeadObject, GetObject, ListObjectsV2, CopyObject, DeleteObject with keys
    holding spaces, unicode, ``+``, ``%``, ``//``, a leading or trailing ``/``, and 1,024
    bytes."""
    s3.create_bucket(Bucket="keys")
    for key in ODD_KEYS:
        s3.put_object(Bucket="keys", Key=key, Body=key.encode())
    for key in ODD_KEYS:
        assert s3.get_object(Bucket="keys", Key=key)["Body"].read() == key.encode(), key
        assert s3.head_object(Bucket="keys", Key=key)["ContentLength"] == len(key.encode())
    listed = s3.list_objects_v2(Bucket="keys")
    expected = sorted(ODD_KEYS, key=lambda k: k.encode())
    assert [o["Key"] for o in listed["Contents"]] == expected
    for key in ODD_KEYS[:-2]:
        copy = f"copy/{key}"
        s3.copy_object(Bucket="keys", Key=copy, CopySource={"Bucket": "keys", "Key": key})
        assert s3.get_object(Bucket="keys", Key=copy)["Body"].read() == key.encode(), key
    for key in ODD_KEYS:
        s3.delete_object(Bucket="keys", Key=key)
    remaining = s3.list_objects_v2(Bucket="keys")["Contents"]
    assert [o["Key"] for o in remaining] == sorted(f"copy/{k}" for k in ODD_KEYS[:-2])


# ------------------------------------------------------------------ ranges and overrides


def test_get_object_with_a_range_answers_206_with_content_range(s3: Any, s3_error: Any) -> None:
    """GetObject / HeadObject Range: bytes=first-last, bytes=first-, bytes=-suffix, a
    clamped last byte; a range starting past the end is InvalidRange (416)."""
    s3.create_bucket(Bucket="ranges")
    s3.put_object(Bucket="ranges", Key="k", Body=BODY)
    cases = {
        "bytes=2-5": (b"2345", "bytes 2-5/10"),
        "bytes=7-": (b"789", "bytes 7-9/10"),
        "bytes=-3": (b"789", "bytes 7-9/10"),
        "bytes=8-100": (b"89", "bytes 8-9/10"),
    }
    for spec, (data, content_range) in cases.items():
        got = s3.get_object(Bucket="ranges", Key="k", Range=spec)
        assert got["Body"].read() == data, spec
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206, spec
        assert got["ContentRange"] == content_range, spec
        assert got["ContentLength"] == len(data), spec
    head = s3.head_object(Bucket="ranges", Key="k", Range="bytes=0-3")
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert head["ContentLength"] == 4
    assert head["ContentRange"] == "bytes 0-3/10"
    with s3_error("InvalidRange", 416, "Range", "bytes=10-20") as caught:
        s3.get_object(Bucket="ranges", Key="k", Range="bytes=10-20")
    assert caught.value.response["Error"]["ActualObjectSize"] == "10"


def test_get_object_response_overrides_replace_the_response_headers(s3: Any) -> None:
    """GetObject response-content-type, -disposition, -encoding, -language, cache-control,
    expires: each replaces the stored header in the response only."""
    s3.create_bucket(Bucket="overrides")
    s3.put_object(Bucket="overrides", Key="k", Body=BODY, ContentType="text/plain")
    expires = s3.head_object(Bucket="overrides", Key="k")["LastModified"] + timedelta(days=1)
    got = s3.get_object(
        Bucket="overrides",
        Key="k",
        ResponseContentType="application/x-custom",
        ResponseContentDisposition='attachment; filename="x y.txt"',
        ResponseContentEncoding="gzip",
        ResponseContentLanguage="fr-FR",
        ResponseCacheControl="no-cache",
        ResponseExpires=expires,
    )
    assert got["Body"].read() == BODY
    assert got["ContentType"] == "application/x-custom"
    assert got["ContentDisposition"] == 'attachment; filename="x y.txt"'
    assert got["ContentEncoding"] == "gzip"
    assert got["ContentLanguage"] == "fr-FR"
    assert got["CacheControl"] == "no-cache"
    assert got["ExpiresString"] == expires.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert s3.head_object(Bucket="overrides", Key="k")["ContentType"] == "text/plain"


# ------------------------------------------------------------------ conditions


def test_get_and_head_object_conditions_answer_412_and_304(s3: Any, s3_error: Any) -> None:
    """GetObject / HeadObject If-Match / If-Unmodified-Since: PreconditionFailed (412)
    naming the header; If-None-Match / If-Modified-Since: 304 Not Modified (no body, so
    boto3's code is "304")."""
    s3.create_bucket(Bucket="cond")
    etag = s3.put_object(Bucket="cond", Key="k", Body=BODY)["ETag"]
    modified = s3.head_object(Bucket="cond", Key="k")["LastModified"]
    before, after = modified - timedelta(days=1), modified + timedelta(days=1)
    with s3_error("PreconditionFailed", 412, "If-Match"):
        s3.get_object(Bucket="cond", Key="k", IfMatch='"0123"')
    with s3_error("PreconditionFailed", 412, "If-Unmodified-Since"):
        s3.get_object(Bucket="cond", Key="k", IfUnmodifiedSince=before)
    with s3_error("304", 304):
        s3.get_object(Bucket="cond", Key="k", IfNoneMatch=etag)
    with s3_error("304", 304):
        s3.get_object(Bucket="cond", Key="k", IfModifiedSince=modified)
    passing = [
        {"IfMatch": etag},
        {"IfMatch": "*"},
        {"IfNoneMatch": '"other"'},
        {"IfModifiedSince": before},
        {"IfUnmodifiedSince": after},
        # S3: If-Match true and If-Unmodified-Since false is 200.
        {"IfMatch": etag, "IfUnmodifiedSince": before},
    ]
    for conditions in passing:
        got = s3.get_object(Bucket="cond", Key="k", **conditions)
        assert got["Body"].read() == BODY, conditions
        assert s3.head_object(Bucket="cond", Key="k", **conditions)["ETag"] == etag
    # HeadObject: the same rules, but a HEAD error has no body: "412" and "304".
    with s3_error("412", 412):
        s3.head_object(Bucket="cond", Key="k", IfMatch='"0123"')
    with s3_error("412", 412):
        s3.head_object(Bucket="cond", Key="k", IfUnmodifiedSince=before)
    with s3_error("304", 304):
        s3.head_object(Bucket="cond", Key="k", IfNoneMatch=etag)
    with s3_error("304", 304):
        s3.head_object(Bucket="cond", Key="k", IfModifiedSince=modified)


def test_missing_keys_are_no_such_key_and_delete_object_answers_204(
    s3: Any, s3_error: Any, fogbank: Fogbank
) -> None:
    """GetObject: NoSuchKey (404) naming the key; HeadObject: "404" (no body); DeleteObject:
    204 whether or not the key exists, and the object's bytes are gone."""
    s3.create_bucket(Bucket="missing")
    with s3_error("NoSuchKey", 404, "'no/such key'") as caught:
        s3.get_object(Bucket="missing", Key="no/such key")
    assert caught.value.response["Error"]["Key"] == "no/such key"
    with s3_error("404", 404):
        s3.head_object(Bucket="missing", Key="no/such key")
    deleted = s3.delete_object(Bucket="missing", Key="no/such key")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    s3.put_object(Bucket="missing", Key="k", Body=BODY)
    deleted = s3.delete_object(Bucket="missing", Key="k")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with s3_error("NoSuchKey", 404, "'k'"):
        s3.get_object(Bucket="missing", Key="k")
    _assert_nothing_stored(fogbank, "missing")


# ------------------------------------------------------------------ DeleteObject(s)


def test_delete_objects_reports_deleted_keys_and_per_key_errors(s3: Any, s3_error: Any) -> None:
    """DeleteObjects: existing and missing keys are Deleted; a bad key is an Error entry
    (KeyTooLongError) while the rest are deleted; Quiet leaves out the Deleted list; over
    1,000 keys is MalformedXML (400) and deletes nothing."""
    s3.create_bucket(Bucket="batch")
    for key in ("a", "b c", "d+e"):
        s3.put_object(Bucket="batch", Key=key, Body=b"x")
    too_long = "k" * 1025
    result = s3.delete_objects(
        Bucket="batch",
        Delete={"Objects": [{"Key": "a"}, {"Key": "b c"}, {"Key": "missing"}, {"Key": too_long}]},
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["a", "b c", "missing"]
    (error,) = result["Errors"]
    assert error["Key"] == too_long
    assert error["Code"] == "KeyTooLongError"
    assert "1024" in error["Message"]
    quiet = s3.delete_objects(Bucket="batch", Delete={"Objects": [{"Key": "d+e"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert quiet.get("Errors", []) == []
    assert s3.list_objects_v2(Bucket="batch")["KeyCount"] == 0
    # boto3 does not check the 1,000-key limit: the gateway must.
    s3.put_object(Bucket="batch", Key="k0", Body=b"x")
    objects = [{"Key": f"k{i}"} for i in range(1001)]
    with s3_error("MalformedXML", 400, "1001", "1000"):
        s3.delete_objects(Bucket="batch", Delete={"Objects": objects})
    assert s3.get_object(Bucket="batch", Key="k0")["Body"].read() == b"x"


# ------------------------------------------------------------------ CopyObject


def test_copy_object_copies_metadata_or_replaces_it(s3: Any) -> None:
    """CopyObject x-amz-metadata-directive COPY (default) keeps the source's content type
    and metadata; REPLACE takes the request's; across buckets too."""
    s3.create_bucket(Bucket="src-bucket")
    s3.create_bucket(Bucket="dst-bucket")
    s3.put_object(
        Bucket="src-bucket", Key="k", Body=BODY, ContentType="text/csv", Metadata={"a": "1"}
    )
    copied = s3.copy_object(
        Bucket="dst-bucket", Key="copy", CopySource={"Bucket": "src-bucket", "Key": "k"}
    )
    assert copied["CopyObjectResult"]["ETag"] == f'"{BODY_MD5}"'
    head = s3.head_object(Bucket="dst-bucket", Key="copy")
    assert (head["ContentType"], head["Metadata"]) == ("text/csv", {"a": "1"})
    s3.copy_object(
        Bucket="dst-bucket",
        Key="replaced",
        CopySource="src-bucket/k",
        MetadataDirective="REPLACE",
        ContentType="application/json",
        Metadata={"b": "2"},
    )
    head = s3.head_object(Bucket="dst-bucket", Key="replaced")
    assert (head["ContentType"], head["Metadata"]) == ("application/json", {"b": "2"})
    # Copying an object onto itself is allowed with REPLACE (how S3 updates metadata).
    s3.copy_object(
        Bucket="src-bucket",
        Key="k",
        CopySource={"Bucket": "src-bucket", "Key": "k"},
        MetadataDirective="REPLACE",
        Metadata={"c": "3"},
    )
    assert s3.head_object(Bucket="src-bucket", Key="k")["Metadata"] == {"c": "3"}
    assert s3.get_object(Bucket="src-bucket", Key="k")["Body"].read() == BODY


def test_copy_object_source_conditions_and_errors(s3: Any, s3_error: Any) -> None:
    """CopyObject x-amz-copy-source-if-match / -if-none-match / -if-modified-since /
    -if-unmodified-since: each failure is PreconditionFailed (412), nothing copied. A
    missing source is NoSuchKey (404) naming it; onto itself without REPLACE is
    InvalidRequest (400); a missing destination bucket is NoSuchBucket (404)."""
    s3.create_bucket(Bucket="copies")
    etag = s3.put_object(Bucket="copies", Key="src", Body=BODY)["ETag"]
    modified = s3.head_object(Bucket="copies", Key="src")["LastModified"]
    source = {"Bucket": "copies", "Key": "src"}
    failing = {
        "If-Match": {"CopySourceIfMatch": '"0123"'},
        "If-None-Match": {"CopySourceIfNoneMatch": etag},
        "If-Modified-Since": {"CopySourceIfModifiedSince": modified},
        "If-Unmodified-Since": {"CopySourceIfUnmodifiedSince": modified - timedelta(days=1)},
    }
    for header, conditions in failing.items():
        with s3_error("PreconditionFailed", 412, header):
            s3.copy_object(Bucket="copies", Key="dst", CopySource=source, **conditions)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="copies")["Contents"]] == ["src"]
    s3.copy_object(
        Bucket="copies",
        Key="dst",
        CopySource=source,
        CopySourceIfMatch=etag,
        CopySourceIfUnmodifiedSince=modified + timedelta(days=1),
    )
    assert s3.get_object(Bucket="copies", Key="dst")["Body"].read() == BODY
    with s3_error("NoSuchKey", 404, "'absent key'"):
        s3.copy_object(
            Bucket="copies", Key="x", CopySource={"Bucket": "copies", "Key": "absent key"}
        )
    with s3_error("InvalidRequest", 400, "itself"):
        s3.copy_object(Bucket="copies", Key="src", CopySource=source)
    with s3_error("NoSuchBucket", 404, "'elsewhere'"):
        s3.copy_object(Bucket="elsewhere", Key="k", CopySource=source)


# ------------------------------------------------------------------ the wire itself


def test_a_put_refused_before_its_body_keeps_the_connection_usable(
    server_s3: Any, s3_error: Any
) -> None:
    """PutObject refused before its body (Expect: 100-continue) is read, then ListBuckets
    on the same keep-alive connection (real server): both answered properly."""
    s3 = server_s3()
    # Warm the server first: botocore sends the body anyway if no answer comes within 1 s.
    assert s3.list_buckets().get("Buckets", []) == []
    with s3_error("NoSuchBucket", 404, "'nowhere'"):
        s3.put_object(Bucket="nowhere", Key="k", Body=b"x")
    assert s3.list_buckets().get("Buckets", []) == []


def test_presigned_get_and_put_urls_work_with_urllib(server_s3: Any) -> None:
    """GetObject and PutObject through presigned URLs fetched with urllib (real server);
    a presigned GET of a missing key answers NoSuchKey in an XML body."""
    s3 = server_s3()
    s3.create_bucket(Bucket="presigned")
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "presigned", "Key": "up load.txt"}, ExpiresIn=300
    )
    request = urllib.request.Request(put_url, data=b"via urllib", method="PUT")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
        assert response.headers["ETag"] == f'"{hashlib.md5(b"via urllib").hexdigest()}"'
    get_url = s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": "presigned", "Key": "up load.txt", "ResponseContentType": "text/x"},
        ExpiresIn=300,
    )
    with urllib.request.urlopen(get_url) as response:
        assert response.read() == b"via urllib"
        assert response.headers["Content-Type"] == "text/x"
    missing = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "presigned", "Key": "nope"}, ExpiresIn=300
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(missing)
    with caught.value as error:
        assert error.code == 404
        assert b"<Code>NoSuchKey</Code>" in error.read()
