"""Compressed text for the classifiers: which codec a file is in, and its first megabyte.

Glue's crawler reads text compressed with gzip, bzip2, Snappy (the framed format and
Hadoop's block format), LZ4 (the frame format) and ZIP archives holding one file, and
classifies what they hold. A sample is what the text classifiers read: up to
:data:`SAMPLE_BYTES` of uncompressed text, decompressed only as far as needed, so a
large compressed file costs a few reads from its start (ZIP reads its directory at the
end, and LZ4 frames, which cramjam only inflates whole, are read whole up to
:data:`MAX_WHOLE_FILE`).

The codecs are the standard library's (zlib, bz2, zipfile) and cramjam's (Snappy's raw
blocks, LZ4 frames); only the framing around Snappy blocks is walked here, since
cramjam inflates a framed stream only when it is complete.
"""

from __future__ import annotations

import bz2
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

import cramjam

# What Glue samples from a text file: the first 1,000 records or 1 MB.
SAMPLE_BYTES = 1024 * 1024
# LZ4 frames are inflated whole: larger files are not sampled (the crawl says why).
MAX_WHOLE_FILE = 256 * 1024 * 1024

_SNAPPY_STREAM = b"\xff\x06\x00\x00sNaPpY"
_LZ4_FRAME = b"\x04\x22\x4d\x18"
_ZIP = b"PK\x03\x04"


class Source(Protocol):
    """What a sample is read from: the classifiers' FileSource."""

    size: int
    name: str

    def head(self) -> bytes: ...

    def read(self, start: int, end: int) -> bytes: ...

    def open(self) -> BinaryIO: ...


@dataclass(frozen=True)
class Sample:
    compression: str
    """``none``, ``gzip``, ``bzip2``, ``snappy``, ``lz4`` or ``zip``: the table's
    ``compressionType``."""
    text: bytes
    """Up to :data:`SAMPLE_BYTES` of the uncompressed text."""
    complete: bool
    """Whether ``text`` is the whole uncompressed file."""
    raw_used: int
    """Compressed bytes that ``text`` came from, to estimate the file's record count."""
    note: str | None = None
    """Why a compressed file could not be sampled, for the crawl's log."""


def sample(source: Source) -> Sample:
    """The start of the file's text, decompressed by the codec its first bytes (or, for
    Hadoop's Snappy, which has no magic number, its ``.snappy`` name) announce."""
    head = source.head()
    whole = len(head) >= source.size
    if head.startswith(b"\x1f\x8b"):
        return _streamed(head, whole, "gzip", lambda: zlib.decompressobj(wbits=31))
    if head.startswith(b"BZh"):
        return _streamed(head, whole, "bzip2", bz2.BZ2Decompressor)
    if head.startswith(_SNAPPY_STREAM):
        return _snappy_framed(head, whole)
    if head.startswith(_LZ4_FRAME):
        return _lz4(source)
    if head.startswith(_ZIP):
        return _zip(source)
    if source.name.endswith(".snappy") and (found := _hadoop_snappy(head, whole)) is not None:
        return found
    return Sample("none", head, whole, len(head))


def _streamed(head: bytes, whole: bool, kind: str, make: Callable[[], Any]) -> Sample:
    """gzip and bzip2, inflated incrementally. A truncated stream is fine: the
    decompressors hand back what they could inflate, which is the sample Glue would read
    anyway. Files of several concatenated members (what ``cat a.gz b.gz`` makes, and
    gzip readers accept) are read member after member."""
    chunks: list[bytes] = []
    produced, remaining = 0, head
    while True:
        decompressor = make()
        try:
            chunk = decompressor.decompress(remaining, SAMPLE_BYTES - produced)
        except (zlib.error, OSError, EOFError):
            return Sample(kind, b"".join(chunks), False, len(head) - len(remaining))
        chunks.append(chunk)
        produced += len(chunk)
        tail = getattr(decompressor, "unconsumed_tail", b"")
        if not decompressor.eof or tail or produced >= SAMPLE_BYTES:
            return Sample(kind, b"".join(chunks), False, len(head) - len(tail))
        remaining = decompressor.unused_data
        if not remaining:
            return Sample(kind, b"".join(chunks), whole, len(head))


def _snappy_framed(head: bytes, whole: bool) -> Sample:
    """Snappy's framing format: chunks of a type byte and a 3-byte little-endian length;
    type 0 holds a CRC and a raw Snappy block, type 1 a CRC and plain bytes, and the
    stream identifier and skippable chunks (0x80-0xff) hold no data."""
    chunks: list[bytes] = []
    produced, position = 0, 0
    while position + 4 <= len(head) and produced < SAMPLE_BYTES:
        kind = head[position]
        length = int.from_bytes(head[position + 1 : position + 4], "little")
        body = head[position + 4 : position + 4 + length]
        if len(body) < length:
            break  # the sample cut this chunk short
        if kind == 0x00:
            try:
                chunk = bytes(cramjam.snappy.decompress_raw(body[4:]))
            except cramjam.DecompressionError:
                return Sample("snappy", b"".join(chunks), False, position)
        elif kind == 0x01:
            chunk = body[4:]
        elif 0x02 <= kind <= 0x7F:
            return Sample("snappy", b"".join(chunks), False, position)  # reserved: corrupt
        else:
            chunk = b""
        chunks.append(chunk)
        produced += len(chunk)
        position += 4 + length
    text = b"".join(chunks)
    return Sample("snappy", text[:SAMPLE_BYTES], whole and position >= len(head), position)


def _hadoop_snappy(head: bytes, whole: bool) -> Sample | None:
    """Hadoop's SnappyCodec blocks: a 4-byte big-endian uncompressed length, then
    compressed runs of a 4-byte big-endian length and a raw Snappy block until that
    length is filled. None when the first block does not parse as one."""
    chunks: list[bytes] = []
    produced, position = 0, 0
    while position + 8 <= len(head) and produced < SAMPLE_BYTES:
        expected = int.from_bytes(head[position : position + 4], "big")
        cursor, filled = position + 4, 0
        while filled < expected and cursor + 4 <= len(head):
            length = int.from_bytes(head[cursor : cursor + 4], "big")
            block = head[cursor + 4 : cursor + 4 + length]
            if len(block) < length:
                break
            try:
                chunk = bytes(cramjam.snappy.decompress_raw(block))
            except cramjam.DecompressionError:
                return None if not chunks else Sample("snappy", b"".join(chunks), False, position)
            chunks.append(chunk)
            filled += len(chunk)
            cursor += 4 + length
        if filled < expected:
            break
        produced += filled
        position = cursor
    if not chunks:
        return None
    return Sample(
        "snappy", b"".join(chunks)[:SAMPLE_BYTES], whole and position >= len(head), position
    )


def _lz4(source: Source) -> Sample:
    if source.size > MAX_WHOLE_FILE:
        return Sample(
            "lz4",
            b"",
            False,
            0,
            note=f"an LZ4 file over {MAX_WHOLE_FILE // 2**20} MiB, skipped: LZ4 frames are "
            "read whole; split it into smaller files to crawl it",
        )
    try:
        text = bytes(cramjam.lz4.decompress(source.read(0, source.size)))
    except cramjam.DecompressionError as error:
        return Sample("lz4", b"", False, 0, note=f"not a readable LZ4 frame: {error}")
    return Sample("lz4", text[:SAMPLE_BYTES], len(text) <= SAMPLE_BYTES, source.size)


def _zip(source: Source) -> Sample:
    """A ZIP archive holding one file (Glue reads no others): its central directory is
    read from the end, then the member's first megabyte."""
    try:
        with zipfile.ZipFile(source.open()) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) != 1:
                return Sample(
                    "zip",
                    b"",
                    False,
                    0,
                    note=f"a ZIP archive of {len(members)} files, skipped: Glue crawls ZIP "
                    "archives holding exactly one file",
                )
            with archive.open(members[0]) as member:
                text = member.read(SAMPLE_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
        return Sample("zip", b"", False, 0, note=f"not a readable ZIP archive: {error}")
    complete = len(text) <= SAMPLE_BYTES
    text = text[:SAMPLE_BYTES]
    # the archive's bytes that the sample stands for, by the member's own sizes
    raw_used = source.size if complete else round(source.size * len(text) / members[0].file_size)
    return Sample("zip", text, complete, max(1, raw_used))
