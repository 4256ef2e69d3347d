"""Shard iterators: opaque strings that name a place in a shard and when they were issued.

An iterator carries the stream's name and creation time (so one issued before a
stream was deleted and re-created is refused), the shard, the next counter to read
and the issue time (iterators expire after five minutes), sealed with a keyed
BLAKE2 tag so that an edited or invented iterator is refused rather than misread.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from fogbank.core.errors import InvalidArgumentException

_LAYOUT = struct.Struct(">BQIQQ")
_VERSION = 1
_TAG_BYTES = 12


@dataclass(frozen=True)
class ShardIterator:
    stream: str
    stream_created_ms: int
    shard: int
    next_counter: int
    issued_ms: int

    def encode(self, key: bytes) -> str:
        name = self.stream.encode("utf-8")
        body = (
            _LAYOUT.pack(
                _VERSION, self.stream_created_ms, self.shard, self.next_counter, self.issued_ms
            )
            + name
        )
        tag = hashlib.blake2b(body, key=key, digest_size=_TAG_BYTES).digest()
        return base64.urlsafe_b64encode(tag + body).decode("ascii")

    @classmethod
    def decode(cls, value: str, key: bytes) -> ShardIterator:
        try:
            raw = base64.urlsafe_b64decode(value.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise _invalid(value) from None
        tag, body = raw[:_TAG_BYTES], raw[_TAG_BYTES:]
        if (
            len(body) <= _LAYOUT.size
            or tag != hashlib.blake2b(body, key=key, digest_size=_TAG_BYTES).digest()
        ):
            raise _invalid(value)
        version, created, shard, counter, issued = _LAYOUT.unpack_from(body)
        if version != _VERSION:
            raise _invalid(value)
        try:
            stream = body[_LAYOUT.size :].decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid(value) from None
        return cls(stream, created, shard, counter, issued)


def _invalid(value: str) -> InvalidArgumentException:
    shown = value if len(value) <= 64 else value[:61] + "..."
    return InvalidArgumentException(
        f"Invalid ShardIterator {shown!r}: it is not an iterator this stream issued. "
        "Get one from GetShardIterator, or use the NextShardIterator of GetRecords."
    )
