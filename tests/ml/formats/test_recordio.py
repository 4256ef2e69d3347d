"""dmlc RecordIO framing: byte layout, split records, chunked reading, corrupt input."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fogbank.ml.formats import FormatError, iter_recordio, write_recordio
from fogbank.ml.formats.recordio import MAGIC, encode_recordio

MAGIC_BYTES = struct.pack("<I", MAGIC)


def dmlc_write_record(payload: bytes) -> bytes:
    """dmlc-core's RecordIOWriter::WriteRecord, step by step, as the reference."""
    out = b""
    lower_align = (len(payload) >> 2) << 2
    upper_align = ((len(payload) + 3) >> 2) << 2
    dptr = 0
    for i in range(0, lower_align, 4):
        if payload[i : i + 4] == MAGIC_BYTES:
            cflag = 1 if dptr == 0 else 2
            out += MAGIC_BYTES + struct.pack("<I", (cflag << 29) | (i - dptr)) + payload[dptr:i]
            dptr = i + 4
    cflag = 3 if dptr != 0 else 0
    out += MAGIC_BYTES + struct.pack("<I", (cflag << 29) | (len(payload) - dptr))
    out += payload[dptr:] + b"\0" * (upper_align - len(payload))
    return out


# payloads built from pieces that often are the magic word, aligned or not
PAYLOADS = st.lists(
    st.one_of(st.just(MAGIC_BYTES), st.binary(max_size=9), st.just(MAGIC_BYTES[:2])),
    max_size=8,
).map(b"".join)


@settings(max_examples=200, deadline=None)
@given(payload=PAYLOADS)
def test_writer_matches_dmlc_byte_for_byte(payload: bytes) -> None:
    assert encode_recordio(payload) == dmlc_write_record(payload)


@settings(max_examples=100, deadline=None)
@given(payloads=st.lists(PAYLOADS, max_size=6), chunk_size=st.sampled_from([1, 3, 8, 1 << 16]))
def test_records_round_trip_through_tiny_chunks(payloads: list[bytes], chunk_size: int) -> None:
    stream = io.BytesIO()
    for payload in payloads:
        write_recordio(stream, payload)
    stream.seek(0)
    assert list(iter_recordio(stream, chunk_size=chunk_size)) == payloads


def test_aligned_magic_word_splits_the_record_in_parts() -> None:
    payload = b"ab\0\0" + MAGIC_BYTES + b"xyz"
    assert encode_recordio(payload) == (
        MAGIC_BYTES
        + struct.pack("<I", (1 << 29) | 4)
        + b"ab\0\0"
        + MAGIC_BYTES
        + struct.pack("<I", (3 << 29) | 3)
        + b"xyz\0"
    )


def test_two_aligned_magic_words_give_first_middle_and_last_parts() -> None:
    payload = MAGIC_BYTES + b"abcd" + MAGIC_BYTES
    framed = encode_recordio(payload)
    flags = [struct.unpack_from("<I", framed, off)[0] >> 29 for off in (4, 12, 24)]
    assert flags == [1, 2, 3]
    assert list(iter_recordio(io.BytesIO(framed))) == [payload]


def test_unaligned_magic_word_is_not_split() -> None:
    payload = b"a" + MAGIC_BYTES + b"bc"
    framed = encode_recordio(payload)
    assert framed == MAGIC_BYTES + struct.pack("<I", 7) + payload + b"\0"


def test_plain_records_match_the_sagemaker_sdk_framing() -> None:
    # the SDK: magic, length, data, zero padding to 4 bytes, cflag always 0
    assert encode_recordio(b"hello") == struct.pack("<II", MAGIC, 5) + b"hello\0\0\0"
    assert encode_recordio(b"") == struct.pack("<II", MAGIC, 0)


def test_bad_magic_number_error_names_record_and_byte() -> None:
    framed = encode_recordio(b"abcd") + b"\x01\x02\x03\x04" + b"\0" * 4
    with pytest.raises(FormatError, match=r"record 2 at byte 12: magic number 0x04030201"):
        list(iter_recordio(io.BytesIO(framed), what="channel 'train'"))


@pytest.mark.parametrize(
    ("framed", "message"),
    [
        (encode_recordio(b"abcdefgh")[:-2], "truncated"),
        (encode_recordio(b"abcd")[:6], "inside a record header"),
        (MAGIC_BYTES + struct.pack("<I", (1 << 29) | 4) + b"abcd", "no part with cflag 3"),
        (MAGIC_BYTES + struct.pack("<I", (3 << 29) | 4) + b"abcd", "no first part"),
        (MAGIC_BYTES + struct.pack("<I", (5 << 29) | 0), "cflag 5"),
    ],
)
def test_corrupt_framing_is_a_format_error(framed: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        list(iter_recordio(io.BytesIO(framed)))
