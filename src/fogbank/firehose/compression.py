"""The CompressionFormat of an S3 destination: how one delivered object's bytes are packed.

UNCOMPRESSED, GZIP (``.gz``), ZIP (one entry, ``.zip``), Snappy (the framed format,
``.snappy``) and HADOOP_SNAPPY (Hadoop's block format: per block, the uncompressed length
then the compressed chunk's length, both 4-byte big-endian, then a raw Snappy chunk).
"""

from __future__ import annotations

import gzip
import io
import struct
import zipfile

import cramjam

FORMATS = ("UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY")
EXTENSIONS = {
    "UNCOMPRESSED": "",
    "GZIP": ".gz",
    "ZIP": ".zip",
    "Snappy": ".snappy",
    "HADOOP_SNAPPY": ".snappy",
}
# Hadoop's SnappyCodec default buffer (io.compression.codec.snappy.buffersize).
HADOOP_BLOCK = 256 * 1024


def compress(body: bytes, format_name: str, entry_name: str) -> bytes:
    """``body`` packed in ``format_name``; ``entry_name`` names a ZIP file's one entry."""
    if format_name == "GZIP":
        return gzip.compress(body)
    if format_name == "ZIP":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(entry_name, body)
        return out.getvalue()
    if format_name == "Snappy":
        return bytes(cramjam.snappy.compress(body))
    if format_name == "HADOOP_SNAPPY":
        return hadoop_snappy(body)
    return body


def hadoop_snappy(body: bytes) -> bytes:
    """Hadoop's BlockCompressorStream framing around raw Snappy, one chunk per block."""
    parts: list[bytes] = []
    for start in range(0, len(body), HADOOP_BLOCK):
        block = body[start : start + HADOOP_BLOCK]
        chunk = bytes(cramjam.snappy.compress_raw(block))
        parts.append(struct.pack(">II", len(block), len(chunk)))
        parts.append(chunk)
    return b"".join(parts)


def read_hadoop_snappy(data: bytes) -> bytes:
    """The inverse of :func:`hadoop_snappy` (for tests and readers in fogbank)."""
    out: list[bytes] = []
    position = 0
    while position < len(data):
        expected, size = struct.unpack_from(">II", data, position)
        position += 8
        block = bytes(cramjam.snappy.decompress_raw(data[position : position + size]))
        position += size
        if len(block) != expected:
            raise ValueError(f"a Hadoop Snappy block says {expected} bytes but holds {len(block)}")
        out.append(block)
    return b"".join(out)
