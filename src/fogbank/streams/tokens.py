"""Pagination tokens of the list operations: opaque, stamped, valid for 300 seconds.

A token carries where the next page starts and when it was issued; ListShards' also
names the stream and its creation time, since a ListShards NextToken is used alone.
"""

from __future__ import annotations

import base64
import binascii

from fogbank.core.errors import ExpiredNextTokenException, InvalidArgumentException

LIFETIME_MS = 5 * 60 * 1000


def stamp(inner: str, now_ms: int) -> str:
    return _encode(f"{inner}|{now_ms}")


def check(token: str, now_ms: int) -> str:
    """What :func:`stamp` sealed, or the error AWS gives for a bad or stale token."""
    inner, _, issued = _decode(token).rpartition("|")
    if not issued.isdigit() or not inner:
        raise _not_ours()
    if now_ms - int(issued) > LIFETIME_MS:
        raise ExpiredNextTokenException(
            "The NextToken expired (tokens last 300 seconds): list again from the start."
        )
    return inner


def shard_token(stream: str, created_ms: int, after: int, now_ms: int) -> str:
    return stamp(f"{stream}|{created_ms}|{after}", now_ms)


def read_shard_token(token: str, now_ms: int) -> tuple[str, int, int]:
    """(stream, its creation time, the shard index the next page starts after)."""
    stream, _, rest = check(token, now_ms).partition("|")
    created, _, after = rest.partition("|")
    if not stream or not created.isdigit() or not after.isdigit():
        raise _not_ours()
    return stream, int(created), int(after)


def after_name(name: str) -> str:
    """The control-plane store's own page token for 'after this name'."""
    return base64.urlsafe_b64encode(name.encode("utf-8")).decode("ascii").rstrip("=")


def _encode(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii")


def _decode(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise _not_ours() from None


def _not_ours() -> InvalidArgumentException:
    return InvalidArgumentException(
        "NextToken is not one this operation issued: pass the NextToken of the previous page."
    )
