"""S3 on the gateway: each operation translated into one call on the lake.

Parameters arrive parsed and typed from botocore's S3 model (member names as in
boto3: ``Bucket``, ``Key``, ``Body``...); each function returns the output members
by the same names, and the rest-xml protocol lays them out on the wire.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

from fogbank.core.errors import InvalidArgument, InvalidLocationConstraint
from fogbank.gateway.chunked import DecodedBody
from fogbank.lake.engine import Lake
from fogbank.lake.model import CompletedPart, ListPage, ObjectBody, ObjectChecksum, ObjectInfo

Handler = Callable[[Lake, dict[str, Any]], dict[str, Any]]
OPERATIONS: dict[str, Handler] = {}


def operation(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        OPERATIONS[name] = handler
        return handler

    return register


OWNER = {
    "DisplayName": "fogbank",
    "ID": "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a",
}


def check_request(operation_name: str, p: dict[str, Any]) -> None:
    """S3's own answers to requests its model's constraints would reject more vaguely."""
    if operation_name == "CreateBucket":
        location = (p.get("CreateBucketConfiguration") or {}).get("LocationConstraint")
        if location == "us-east-1":
            raise InvalidLocationConstraint(
                "The specified location-constraint is not valid: us-east-1 is the default "
                "region; leave CreateBucketConfiguration out to create a bucket there.",
                LocationConstraint=location,
            )


# ------------------------------------------------------------------ buckets


@operation("ListBuckets")
def list_buckets(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    buckets = lake.list_buckets()
    prefix = p.get("Prefix")
    if prefix:
        buckets = [b for b in buckets if b.name.startswith(prefix)]
    return {
        "Buckets": [
            {"Name": b.name, "CreationDate": b.creation_date, "BucketRegion": b.region}
            for b in buckets
        ],
        "Owner": OWNER,
        "Prefix": prefix,
    }


@operation("CreateBucket")
def create_bucket(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    config = p.get("CreateBucketConfiguration") or {}
    region = config.get("LocationConstraint") or "us-east-1"
    if region == "EU":
        region = "eu-west-1"
    bucket = lake.create_bucket(p["Bucket"], region=region)
    return {"Location": f"/{bucket.name}"}


@operation("GetBucketVersioning")
def get_bucket_versioning(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    # The lake keeps no versions: a bucket that was never versioned has no Status.
    lake.head_bucket(p["Bucket"])
    return {}


@operation("HeadBucket")
def head_bucket(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    bucket = lake.head_bucket(p["Bucket"])
    return {"BucketRegion": bucket.region, "AccessPointAlias": False}


@operation("GetBucketLocation")
def get_bucket_location(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    region = lake.head_bucket(p["Bucket"]).region
    # us-east-1 is reported as an empty LocationConstraint, as S3 does.
    return {"LocationConstraint": None if region == "us-east-1" else region}


@operation("DeleteBucket")
def delete_bucket(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    lake.delete_bucket(p["Bucket"])
    return {"_status": 204}  # S3 answers 204 No Content


# ------------------------------------------------------------------ objects


def _object_headers(info: ObjectInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ETag": info.quoted_etag,
        "LastModified": info.last_modified,
        "ContentType": info.content_type,
        "Metadata": dict(info.metadata),
        "AcceptRanges": "bytes",
    }
    if info.content_encoding:
        out["ContentEncoding"] = info.content_encoding
    if info.parts_count is not None:
        out["PartsCount"] = info.parts_count
    return out


@operation("PutObject")
def put_object(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    info = lake.put_object(
        p["Bucket"],
        p["Key"],
        p.get("Body", b""),
        content_type=p.get("ContentType"),
        content_encoding=_content_encoding(p.get("ContentEncoding")),
        metadata=p.get("Metadata"),
        content_md5=p.get("ContentMD5"),
        if_match=p.get("IfMatch"),
        if_none_match=p.get("IfNoneMatch"),
        checksum=_verified_checksum(p.get("Body")),
    )
    return {"ETag": info.quoted_etag, "Size": info.size}


def _verified_checksum(body: Any) -> Callable[[], ObjectChecksum | None] | None:
    """The checksum the gateway verified while the body streamed, asked for once it has."""
    if not isinstance(body, DecodedBody):
        return None

    def resolve() -> ObjectChecksum | None:
        found = body.checksum
        return (
            None if found is None else ObjectChecksum(found.algorithm, "FULL_OBJECT", found.value)
        )

    return resolve


def _checksum_headers(info: ObjectInfo, p: dict[str, Any]) -> dict[str, Any]:
    """GetObject / HeadObject with ChecksumMode=ENABLED return the stored checksum of a whole
    object (never of a range, whose bytes it would not match)."""
    if p.get("ChecksumMode") != "ENABLED" or info.checksum is None or p.get("Range"):
        return {}
    return {
        f"Checksum{info.checksum.algorithm}": info.checksum.value,
        "ChecksumType": info.checksum.type,
    }


def _content_encoding(value: str | None) -> str | None:
    """The stored Content-Encoding, without the transfer-only ``aws-chunked``."""
    if not value:
        return None
    kept = [v.strip() for v in value.split(",") if v.strip() and v.strip() != "aws-chunked"]
    return ", ".join(kept) or None


def _conditions(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "if_match": p.get("IfMatch"),
        "if_none_match": p.get("IfNoneMatch"),
        "if_modified_since": p.get("IfModifiedSince"),
        "if_unmodified_since": p.get("IfUnmodifiedSince"),
    }


@operation("GetObject")
def get_object(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    if p.get("PartNumber") is not None:
        raise InvalidArgument(
            "GetObject by PartNumber is not supported by fogbank yet; ask for a Range instead.",
            ArgumentName="partNumber",
        )
    body = lake.get_object(p["Bucket"], p["Key"], byte_range=p.get("Range"), **_conditions(p))
    out = _object_headers(body.info)
    out.update(_checksum_headers(body.info, p))
    out["ContentLength"] = body.content_length
    if body.content_range is not None:
        first, last, total = body.content_range
        out["ContentRange"] = f"bytes {first}-{last}/{total}"
        out["_status"] = 206
    for name, header in (
        ("ResponseContentType", "ContentType"),
        ("ResponseContentEncoding", "ContentEncoding"),
        ("ResponseContentDisposition", "ContentDisposition"),
        ("ResponseContentLanguage", "ContentLanguage"),
        ("ResponseCacheControl", "CacheControl"),
        ("ResponseExpires", "Expires"),
    ):
        value = p.get(name)
        if value is not None:
            if isinstance(value, str) and any(ord(c) < 32 or ord(c) == 127 for c in value):
                body.close()
                raise InvalidArgument(
                    f"{name} must not hold control characters (CR, LF...): it becomes a "
                    "response header.",
                    ArgumentName=name,
                )
            out[header] = value
    out["Body"] = _Stream(body)
    return out


class _Stream:
    """GetObject's body on the wire: closes the object's file when done or abandoned."""

    def __init__(self, body: ObjectBody) -> None:
        self._body = body

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._body
        finally:
            self._body.close()

    def close(self) -> None:
        self._body.close()


@operation("HeadObject")
def head_object(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    if p.get("Range"):
        body = lake.get_object(p["Bucket"], p["Key"], byte_range=p["Range"], **_conditions(p))
        body.close()
        out = _object_headers(body.info)
        out["ContentLength"] = body.content_length
        if body.content_range is not None:
            first, last, total = body.content_range
            out["ContentRange"] = f"bytes {first}-{last}/{total}"
            out["_status"] = 206
        return out
    info = lake.head_object(p["Bucket"], p["Key"], **_conditions(p))
    out = _object_headers(info)
    out.update(_checksum_headers(info, p))
    out["ContentLength"] = info.size
    return out


@operation("DeleteObject")
def delete_object(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    lake.delete_object(p["Bucket"], p["Key"])
    return {"_status": 204}  # S3 answers 204 No Content, whether or not the key existed


@operation("DeleteObjects")
def delete_objects(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    spec = p.get("Delete") or {}
    keys = [o["Key"] for o in spec.get("Objects", [])]
    result = lake.delete_objects(p["Bucket"], keys)
    out: dict[str, Any] = {
        "Errors": [{"Key": e.key, "Code": e.code, "Message": e.message} for e in result.errors]
    }
    if not spec.get("Quiet"):
        out["Deleted"] = [{"Key": key} for key in result.deleted]
    return out


def _copy_source(value: str) -> tuple[str, str]:
    source = unquote(value.split("?", 1)[0]).lstrip("/")
    bucket, _, key = source.partition("/")
    if not bucket or not key:
        raise InvalidArgument(
            f"Invalid copy source {value!r}: x-amz-copy-source must be bucket/key, URL-encoded.",
            ArgumentName="x-amz-copy-source",
            ArgumentValue=value,
        )
    return bucket, key


@operation("CopyObject")
def copy_object(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    source_bucket, source_key = _copy_source(p["CopySource"])
    info = lake.copy_object(
        source_bucket,
        source_key,
        p["Bucket"],
        p["Key"],
        metadata_directive=p.get("MetadataDirective", "COPY"),
        content_type=p.get("ContentType"),
        content_encoding=p.get("ContentEncoding"),
        metadata=p.get("Metadata"),
        if_match=p.get("CopySourceIfMatch"),
        if_none_match=p.get("CopySourceIfNoneMatch"),
        if_modified_since=p.get("CopySourceIfModifiedSince"),
        if_unmodified_since=p.get("CopySourceIfUnmodifiedSince"),
    )
    return {"CopyObjectResult": {"ETag": info.quoted_etag, "LastModified": info.last_modified}}


# ------------------------------------------------------------------ listing


def _contents(page: ListPage, *, owner: bool) -> list[dict[str, Any]]:
    """The listed objects; S3 names each one's Owner in ListObjects, and in ListObjectsV2
    only when asked (FetchOwner)."""
    return [
        {
            "Key": o.key,
            "LastModified": o.last_modified,
            "ETag": o.quoted_etag,
            "Size": o.size,
            "StorageClass": o.storage_class,
            "Owner": OWNER if owner else None,
        }
        for o in page.contents
    ]


def _listing(page: ListPage, p: dict[str, Any], *, owner: bool) -> dict[str, Any]:
    """The members ListObjects and ListObjectsV2 share."""
    return {
        "Name": page.bucket,
        "Prefix": page.prefix,
        "Delimiter": page.delimiter,
        "MaxKeys": page.max_keys,
        "IsTruncated": page.is_truncated,
        "Contents": _contents(page, owner=owner) or None,
        "CommonPrefixes": [{"Prefix": c} for c in page.common_prefixes] or None,
        "EncodingType": p.get("EncodingType"),
        "_encode_keys": p.get("EncodingType") == "url",
    }


@operation("ListObjectsV2")
def list_objects_v2(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    page = lake.list_objects_v2(
        p["Bucket"],
        prefix=p.get("Prefix", ""),
        delimiter=p.get("Delimiter") or None,
        max_keys=p.get("MaxKeys", 1000),
        continuation_token=p.get("ContinuationToken"),
        start_after=p.get("StartAfter"),
    )
    return {
        **_listing(page, p, owner=bool(p.get("FetchOwner"))),
        "KeyCount": page.key_count,
        "ContinuationToken": page.continuation_token,
        "NextContinuationToken": page.next_continuation_token,
        "StartAfter": page.start_after,
    }


@operation("ListObjects")
def list_objects(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    page = lake.list_objects(
        p["Bucket"],
        prefix=p.get("Prefix", ""),
        delimiter=p.get("Delimiter") or None,
        max_keys=p.get("MaxKeys", 1000),
        marker=p.get("Marker"),
    )
    return {
        **_listing(page, p, owner=True),
        "Marker": p.get("Marker", ""),
        # S3 sends NextMarker only when a delimiter was given.
        "NextMarker": page.next_marker if page.delimiter else None,
    }


# ------------------------------------------------------------------ multipart


@operation("CreateMultipartUpload")
def create_multipart_upload(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    upload = lake.create_multipart_upload(
        p["Bucket"],
        p["Key"],
        content_type=p.get("ContentType"),
        content_encoding=p.get("ContentEncoding"),
        metadata=p.get("Metadata"),
    )
    return {"Bucket": upload.bucket, "Key": upload.key, "UploadId": upload.upload_id}


@operation("UploadPart")
def upload_part(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    part = lake.upload_part(
        p["Bucket"],
        p["Key"],
        p["UploadId"],
        p["PartNumber"],
        p.get("Body", b""),
        content_md5=p.get("ContentMD5"),
    )
    return {"ETag": part.quoted_etag}


@operation("UploadPartCopy")
def upload_part_copy(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    source_bucket, source_key = _copy_source(p["CopySource"])
    part = lake.upload_part_copy(
        p["Bucket"],
        p["Key"],
        p["UploadId"],
        p["PartNumber"],
        source_bucket,
        source_key,
        source_range=p.get("CopySourceRange"),
    )
    return {"CopyPartResult": {"ETag": part.quoted_etag, "LastModified": part.last_modified}}


@operation("CompleteMultipartUpload")
def complete_multipart_upload(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    spec = p.get("MultipartUpload") or {}
    parts = [
        CompletedPart(part.get("PartNumber", 0), part.get("ETag", ""))
        for part in spec.get("Parts", [])
    ]
    info = lake.complete_multipart_upload(p["Bucket"], p["Key"], p["UploadId"], parts)
    return {
        "Location": f"/{info.bucket}/{info.key}",
        "Bucket": info.bucket,
        "Key": info.key,
        "ETag": info.quoted_etag,
    }


@operation("AbortMultipartUpload")
def abort_multipart_upload(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    lake.abort_multipart_upload(p["Bucket"], p["Key"], p["UploadId"])
    return {"_status": 204}  # S3 answers 204 No Content


@operation("ListParts")
def list_parts(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    page = lake.list_parts(
        p["Bucket"],
        p["Key"],
        p["UploadId"],
        max_parts=p.get("MaxParts", 1000),
        part_number_marker=int(p.get("PartNumberMarker") or 0),
    )
    return {
        "Bucket": page.bucket,
        "Key": page.key,
        "UploadId": page.upload_id,
        "PartNumberMarker": page.part_number_marker,
        "NextPartNumberMarker": page.next_part_number_marker,
        "MaxParts": page.max_parts,
        "IsTruncated": page.is_truncated,
        "Parts": [
            {
                "PartNumber": part.part_number,
                "LastModified": part.last_modified,
                "ETag": part.quoted_etag,
                "Size": part.size,
            }
            for part in page.parts
        ]
        or None,
        "StorageClass": "STANDARD",
        "Initiator": OWNER,
        "Owner": OWNER,
    }


@operation("ListMultipartUploads")
def list_multipart_uploads(lake: Lake, p: dict[str, Any]) -> dict[str, Any]:
    page = lake.list_multipart_uploads(
        p["Bucket"],
        prefix=p.get("Prefix", ""),
        delimiter=p.get("Delimiter") or None,
        key_marker=p.get("KeyMarker"),
        upload_id_marker=p.get("UploadIdMarker"),
        max_uploads=p.get("MaxUploads", 1000),
    )
    return {
        "Bucket": page.bucket,
        "KeyMarker": p.get("KeyMarker", ""),
        "UploadIdMarker": p.get("UploadIdMarker", ""),
        "NextKeyMarker": page.next_key_marker,
        "NextUploadIdMarker": page.next_upload_id_marker,
        "Prefix": page.prefix,
        "Delimiter": page.delimiter,
        "MaxUploads": page.max_uploads,
        "IsTruncated": page.is_truncated,
        "Uploads": [
            {
                "UploadId": u.upload_id,
                "Key": u.key,
                "Initiated": u.initiated,
                "StorageClass": "STANDARD",
                "Owner": OWNER,
                "Initiator": OWNER,
            }
            for u in page.uploads
        ]
        or None,
        "CommonPrefixes": [{"Prefix": c} for c in page.common_prefixes] or None,
    }
