"""The lake: S3 semantics over a local folder (buckets, objects, listing, multipart)."""

from fogbank.lake.engine import Lake
from fogbank.lake.model import (
    Bucket,
    CompletedPart,
    DeleteResult,
    ListPage,
    MultipartUpload,
    ObjectBody,
    ObjectInfo,
    Part,
)
from fogbank.lake.names import parse_location

__all__ = [
    "Bucket",
    "CompletedPart",
    "DeleteResult",
    "Lake",
    "ListPage",
    "MultipartUpload",
    "ObjectBody",
    "ObjectInfo",
    "Part",
    "parse_location",
]
