"""dmlc RecordIO framing, the envelope of ``application/x-recordio-protobuf``.

This module owns the framing only (payloads are opaque bytes). Each part is
``uint32 magic 0xCED7230A``, ``uint32 lrec`` and the data zero-padded to 4 bytes, with
``lrec = cflag << 29 | length`` in native little-endian. A payload that holds the magic
word at a 4-aligned offset is written in parts (cflag 1 first, 2 middle, 3 last) with
that magic word left out, so that a reader that lost its place can find the next
record by scanning for the magic; the reader puts the word back. This mirrors dmlc-core's
``RecordIOWriter::WriteRecord`` and ``RecordIOReader::ReadRecord`` byte for byte. (The
SageMaker SDK's writer never splits and its reader ignores cflag; data it wrote reads
here the same.)
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import IO

from fogbank.ml.formats.base import DEFAULT_CHUNK_SIZE, FormatError

MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", MAGIC)
_HEADER = struct.Struct("<II")
_LENGTH_MASK = (1 << 29) - 1
# dmlc's writer checks size < 2^30 but the length field has 29 bits; the field wins.
MAX_PART = _LENGTH_MASK


def _padded(length: int) -> int:
    return (length + 3) & ~3


def _header(cflag: int, length: int) -> bytes:
    return _HEADER.pack(MAGIC, (cflag << 29) | length)


def encode_recordio(payload: bytes) -> bytes:
    """The framed bytes of one record, split at aligned magic words as dmlc's writer does."""
    if len(payload) > MAX_PART:
        raise FormatError(
            f"A RecordIO record holds under 2^29 bytes; this one has {len(payload)}. "
            "Write smaller records (one row each)."
        )
    out: list[bytes] = []
    dptr = 0
    lower_align = len(payload) & ~3
    # find() then realign, rather than a Python loop over every 4 bytes
    i = payload.find(_MAGIC_BYTES, 0, lower_align)
    while i >= 0:
        if i % 4:
            i = payload.find(_MAGIC_BYTES, i + 1, lower_align)
            continue
        out.append(_header(1 if dptr == 0 else 2, i - dptr))
        out.append(payload[dptr:i])
        dptr = i + 4
        i = payload.find(_MAGIC_BYTES, dptr, lower_align)
    out.append(_header(3 if dptr != 0 else 0, len(payload) - dptr))
    out.append(payload[dptr:])
    # dmlc pads once, after the last part: the parts before it end at aligned offsets
    out.append(b"\0" * (_padded(len(payload)) - len(payload)))
    return b"".join(out)


def write_recordio(stream: IO[bytes], payload: bytes) -> None:
    """Write one record to ``stream``."""
    stream.write(encode_recordio(payload))


class _Chunks:
    """Exact-size reads over a stream read ``chunk_size`` bytes at a time."""

    def __init__(self, stream: IO[bytes], chunk_size: int) -> None:
        self.stream = stream
        self.chunk_size = chunk_size
        self.buf = b""
        self.pos = 0
        self.offset = 0  # stream offset of buf[0]

    def take(self, n: int) -> bytes:
        """``n`` bytes, or fewer only at the end of the stream."""
        while len(self.buf) - self.pos < n:
            data = self.stream.read(max(self.chunk_size, n - (len(self.buf) - self.pos)))
            if not data:
                break
            self.offset += self.pos
            self.buf = self.buf[self.pos :] + data
            self.pos = 0
        out = self.buf[self.pos : self.pos + n]
        self.pos += len(out)
        return out

    @property
    def tell(self) -> int:
        return self.offset + self.pos


def iter_recordio(
    stream: IO[bytes], *, chunk_size: int = DEFAULT_CHUNK_SIZE, what: str = "the data"
) -> Iterator[bytes]:
    """Every record's payload, the parts of split records joined, magic words restored."""
    chunks = _Chunks(stream, chunk_size)
    number = 0
    parts: list[bytes] = []
    while True:
        start = chunks.tell
        header = chunks.take(8)
        if not header:
            if parts:
                raise FormatError(
                    f"{what}, RecordIO record {number + 1}: the stream ends inside a record "
                    "split in parts (no part with cflag 3). The file is truncated."
                )
            return
        if len(header) < 8:
            raise FormatError(
                f"{what}, RecordIO record {number + 1} at byte {start}: the stream ends "
                "inside a record header. The file is truncated."
            )
        magic, lrec = _HEADER.unpack(header)
        if magic != MAGIC:
            raise FormatError(
                f"{what}, RecordIO record {number + 1} at byte {start}: magic number "
                f"0x{magic:08X}, expected 0x{MAGIC:08X}. This is not RecordIO data, or it "
                "is corrupt; check the channel's content type."
            )
        cflag = lrec >> 29
        length = lrec & _LENGTH_MASK
        data = chunks.take(_padded(length))
        if len(data) < _padded(length):
            raise FormatError(
                f"{what}, RecordIO record {number + 1} at byte {start}: {length} bytes "
                f"announced, {len(data)} left in the stream. The file is truncated."
            )
        data = data[:length]
        if cflag == 0:
            if parts:
                raise FormatError(
                    f"{what}, RecordIO record {number + 1} at byte {start}: a whole record "
                    "(cflag 0) inside a record split in parts. The file is corrupt."
                )
            number += 1
            yield data
        elif cflag == 1:
            if parts:
                raise FormatError(
                    f"{what}, RecordIO record {number + 1} at byte {start}: a first part "
                    "(cflag 1) before the last part of the record before it. Corrupt file."
                )
            parts = [data, _MAGIC_BYTES]
        elif cflag in (2, 3):
            if not parts:
                raise FormatError(
                    f"{what}, RecordIO record {number + 1} at byte {start}: a continuation "
                    f"part (cflag {cflag}) with no first part. The file is corrupt."
                )
            parts.append(data)
            if cflag == 3:
                number += 1
                yield b"".join(parts)
                parts = []
            else:
                parts.append(_MAGIC_BYTES)
        else:
            raise FormatError(
                f"{what}, RecordIO record {number + 1} at byte {start}: cflag {cflag} is "
                "not 0-3. The file is corrupt."
            )
