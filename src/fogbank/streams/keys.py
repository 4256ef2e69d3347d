"""The numbers Kinesis hands out: hash keys, shard ids and sequence numbers.

A sequence number is a decimal string, 56 digits like AWS's, that packs the arrival
millisecond, the shard's index and the shard's record counter::

    BASE + (millisecond << 80) + (shard index << 48) + counter

so numbers rise strictly within a shard (the counter never repeats and the
millisecond never goes back within a shard) and rise with time across shards. The
number is opaque to users but fogbank reads its own back (:func:`decode_sequence`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

HASH_KEY_SPACE = 1 << 128
MAX_HASH_KEY = HASH_KEY_SPACE - 1
SEQUENCE_BASE = 49 * 10**54
_MS_SHIFT = 80
_SHARD_SHIFT = 48
_COUNTER_MASK = (1 << _SHARD_SHIFT) - 1
_SHARD_MASK = (1 << (_MS_SHIFT - _SHARD_SHIFT)) - 1
_SHARD_ID_RE = re.compile(r"^shardId-(\d{12})$")


@dataclass(frozen=True, order=True)
class SequenceParts:
    millis: int
    shard: int
    counter: int


def encode_sequence(millis: int, shard: int, counter: int) -> str:
    return str(SEQUENCE_BASE + (millis << _MS_SHIFT) + (shard << _SHARD_SHIFT) + counter)


def decode_sequence(value: str) -> SequenceParts | None:
    """The parts of a sequence number fogbank issued, or ``None`` for any other number."""
    if not value.isdigit() or len(value) > 129:
        return None
    number = int(value) - SEQUENCE_BASE
    if number < 0:
        return None
    return SequenceParts(
        number >> _MS_SHIFT, (number >> _SHARD_SHIFT) & _SHARD_MASK, number & _COUNTER_MASK
    )


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"


def shard_index(value: str) -> int | None:
    """The index in ``shardId-000000000003``; a bare number is accepted as AWS does."""
    match = _SHARD_ID_RE.match(value)
    if match:
        return int(match.group(1))
    if value.isdigit() and len(value) <= 12:
        return int(value)
    return None


def partition_hash(partition_key: str) -> int:
    """Where a partition key lands: its UTF-8 MD5 read as a 128-bit unsigned integer."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


def even_ranges(count: int, start: int = 0, end: int = MAX_HASH_KEY) -> list[tuple[int, int]]:
    """``count`` adjacent hash-key ranges splitting ``[start, end]`` evenly, the last one
    taking the remainder."""
    width = (end - start + 1) // count
    ranges = [(start + i * width, start + (i + 1) * width - 1) for i in range(count)]
    ranges[-1] = (ranges[-1][0], end)
    return ranges
