"""S3's request rules that need no storage: metadata limits, digests, part numbers and
conditional requests (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, datetime

from fogbank.core.errors import (
    BadDigest,
    InvalidArgument,
    MetadataTooLarge,
    NotModified,
    PreconditionFailed,
)
from fogbank.lake.model import ObjectInfo
from fogbank.lake.store import StagedBlob

MAX_PART_NUMBER = 10_000
MAX_METADATA_BYTES = 2048


def utf8(value: str, argument: str) -> bytes:
    """``value`` as UTF-8; a string that has none (a lone surrogate) is InvalidArgument,
    not a UnicodeEncodeError."""
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidArgument(
            f"{argument} {value!r} is not valid UTF-8 ({exc.reason}); use UTF-8 characters.",
            ArgumentName=argument,
        ) from exc


def clean_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """User metadata as S3 keeps it: names lower-cased, at most 2 KB of names and values."""
    if not metadata:
        return {}
    cleaned: dict[str, str] = {}
    total = 0
    for name, value in metadata.items():
        if not isinstance(name, str) or not isinstance(value, str) or not name:
            raise InvalidArgument(
                f"Metadata must map non-empty string names to string values; got {name!r}: "
                f"{value!r}.",
                ArgumentName="x-amz-meta-",
            )
        cleaned[name.lower()] = value
        total += len(utf8(name, "x-amz-meta-")) + len(utf8(value, "x-amz-meta-"))
    if total > MAX_METADATA_BYTES:
        raise MetadataTooLarge(
            f"Your metadata headers exceed the maximum allowed metadata size: {total} bytes of "
            f"user metadata; the limit is {MAX_METADATA_BYTES}. Store less, or store it in the "
            "object.",
            Size=str(total),
            MaxSizeAllowed=str(MAX_METADATA_BYTES),
        )
    return cleaned


def check_md5(staged: StagedBlob, content_md5: str | None) -> None:
    if content_md5 is None:
        return
    try:
        expected = base64.b64decode(content_md5, validate=True)
    except (binascii.Error, ValueError):
        expected = b""
    if len(expected) != 16:
        raise InvalidArgument(
            f"The Content-MD5 you specified is not valid: {content_md5!r}; give the base64 "
            "of the body's 16-byte MD5 digest.",
            ArgumentName="Content-MD5",
        )
    if expected != staged.md5:
        raise BadDigest(
            f"The Content-MD5 you specified did not match what we received: expected "
            f"{content_md5}, computed {staged.md5_base64}. Resend the body, or fix the digest.",
            ExpectedDigest=content_md5,
            CalculatedDigest=staged.md5_base64,
        )


def check_part_number(part_number: int) -> None:
    if (
        not isinstance(part_number, int)
        or isinstance(part_number, bool)
        or not 1 <= part_number <= MAX_PART_NUMBER
    ):
        raise InvalidArgument(
            f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive; got "
            f"{part_number!r}.",
            ArgumentName="partNumber",
            ArgumentValue=str(part_number),
        )


def etag_matches(condition: str, etag: str) -> bool:
    wanted = {tag.strip().strip('"').lower() for tag in condition.split(",")}
    return "*" in wanted or etag.lower() in wanted


def check_conditions(
    info: ObjectInfo,
    if_match: str | None,
    if_none_match: str | None,
    if_modified_since: datetime | None,
    if_unmodified_since: datetime | None,
    *,
    not_modified_is_failure: bool = False,
) -> None:
    """GetObject's conditional request rules (RFC 7232 as S3 applies them)."""
    modified = info.last_modified.replace(microsecond=0)

    def failed(header: str) -> PreconditionFailed:
        return PreconditionFailed(
            f"At least one of the pre-conditions you specified did not hold: {header} for "
            f"{info.key!r} (ETag {info.quoted_etag}, last modified {modified.isoformat()}).",
            Condition=header,
        )

    if if_match is not None:
        if not etag_matches(if_match, info.etag):
            raise failed("If-Match")
    elif if_unmodified_since is not None and modified > aware(if_unmodified_since):
        raise failed("If-Unmodified-Since")
    unchanged: str | None = None
    if if_none_match is not None:
        if etag_matches(if_none_match, info.etag):
            unchanged = "If-None-Match"
    elif if_modified_since is not None and modified <= aware(if_modified_since):
        unchanged = "If-Modified-Since"
    if unchanged is not None:
        if not_modified_is_failure:
            raise failed(unchanged)
        raise NotModified(
            f"Not Modified: {info.key!r} still has ETag {info.quoted_etag} ({unchanged}).",
            Condition=unchanged,
        )


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
