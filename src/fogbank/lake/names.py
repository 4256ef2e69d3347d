"""S3's naming rules: bucket names, object keys and ``s3://bucket/key`` locations."""

from __future__ import annotations

import re

from fogbank.core.errors import InvalidArgument, InvalidBucketName, KeyTooLongError

MAX_KEY_BYTES = 1024

# fullmatch, not match: "$" would also match before a trailing newline ("bucket\n").
_BUCKET_CHARS = re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]")
# "Formatted as an IP address": four dotted groups of 1-3 digits, so "10.0.0.01" and
# "999.1.1.1" count too (ipaddress.IPv4Address rejects both, so it would let them through).
_IP_FORM = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def validate_bucket_name(name: object) -> str:
    """Check a general purpose bucket name against S3's rules (CreateBucket).

    3-63 characters; lowercase letters, digits, dots and hyphens; starts and ends
    with a letter or digit; no two adjacent dots; not an IP address; none of the
    reserved prefixes and suffixes.
    """
    if not isinstance(name, str):
        raise InvalidBucketName(
            f"Bucket must be a string; got {type(name).__name__}.", BucketName=str(name)
        )

    def bad(why: str) -> InvalidBucketName:
        return InvalidBucketName(
            f"The specified bucket is not valid: {name!r} {why}. Bucket names are 3-63 "
            "lowercase letters, digits, dots and hyphens, starting and ending with a "
            "letter or digit.",
            BucketName=name,
        )

    if not 3 <= len(name) <= 63:
        raise bad(f"is {len(name)} characters long; use 3 to 63")
    if not _BUCKET_CHARS.fullmatch(name):
        raise bad(
            "has a character S3 does not allow, or does not start and end with a letter or digit"
        )
    if ".." in name:
        raise bad("has two adjacent dots")
    if name.startswith(_RESERVED_PREFIXES):
        raise bad(f"starts with a reserved prefix ({', '.join(_RESERVED_PREFIXES)})")
    if name.endswith(_RESERVED_SUFFIXES):
        raise bad(f"ends with a reserved suffix ({', '.join(_RESERVED_SUFFIXES)})")
    if _IP_FORM.fullmatch(name):
        raise bad("is formatted as an IP address")
    return name


def validate_key(key: object) -> bytes:
    """Check an object key (PutObject): 1 to 1,024 bytes of UTF-8. Returns the UTF-8 bytes."""
    if not isinstance(key, str):
        raise InvalidArgument(
            f"Key must be a string; got {type(key).__name__}.", ArgumentName="Key"
        )
    if not key:
        raise InvalidArgument(
            "Key must not be empty: give the object a key of 1 to 1,024 bytes.",
            ArgumentName="Key",
        )
    try:
        raw = key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidArgument(
            f"Key {key!r} is not valid UTF-8 ({exc.reason}); use a key of UTF-8 characters.",
            ArgumentName="Key",
        ) from exc
    if len(raw) > MAX_KEY_BYTES:
        raise KeyTooLongError(
            f"Your key is too long: Key is {len(raw)} bytes of UTF-8; the maximum is "
            f"{MAX_KEY_BYTES}.",
            Key=key[:64],
        )
    return raw


def parse_location(location: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` (or ``bucket/key``) into ``(bucket, key)``.

    The key may be empty (``s3://bucket`` or ``s3://bucket/``) for a prefix or bucket.
    """
    if not isinstance(location, str):
        raise InvalidArgument(
            f"location must be a string like s3://bucket/key; got {type(location).__name__}.",
            ArgumentName="location",
        )
    rest = location
    for scheme in ("s3://", "s3a://", "fogbank://"):
        if rest.startswith(scheme):
            rest = rest[len(scheme) :]
            break
    else:
        # Only a "://" before the first "/" is a scheme: a key may hold "://" itself.
        scheme_part, found, _ = rest.partition("://")
        if found and "/" not in scheme_part:
            raise InvalidArgument(
                f"location {location!r} has an unknown scheme; use s3://bucket/key.",
                ArgumentName="location",
            )
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise InvalidArgument(
            f"location {location!r} names no bucket; use s3://bucket/key.",
            ArgumentName="location",
        )
    return bucket, key
