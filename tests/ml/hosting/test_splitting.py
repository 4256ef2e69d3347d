"""Batch transform's data path: SplitType, BatchStrategy under MaxPayloadInMB, request
bodies, MultiRecord responses and AssembleWith."""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fogbank.core.errors import ValidationException
from fogbank.ml.formats.recordio import MAGIC, encode_recordio
from fogbank.ml.hosting.splitting import (
    MIB,
    Record,
    TransformRecordError,
    assemble,
    batch_records,
    line_batches,
    payload,
    split_records,
    split_response,
    unframe,
)

MAGIC_BYTES = struct.pack("<I", MAGIC)


def tfrecord(data: bytes) -> bytes:
    """A TFRecord frame; the CRCs are zeros because the reader does not check them."""
    return struct.pack("<Q", len(data)) + b"\0" * 4 + data + b"\0" * 4


# --- split_records ----------------------------------------------------------------------


def test_split_none_keeps_the_whole_object_as_one_record() -> None:
    data = b"a,b\nc,d\n"
    assert split_records(data, "None") == [Record(data, 1)]


def test_split_line_drops_line_breaks_and_numbers_lines_from_one() -> None:
    assert split_records(b"a\nb\nc\n", "Line") == [
        Record(b"a", 1),
        Record(b"b", 2),
        Record(b"c", 3),
    ]


def test_split_line_keeps_a_last_line_without_a_line_break() -> None:
    assert split_records(b"a\nb", "Line") == [Record(b"a", 1), Record(b"b", 2)]


def test_split_line_strips_the_carriage_return_of_crlf_files() -> None:
    assert split_records(b"a,1\r\nb,2\r\n", "Line") == [Record(b"a,1", 1), Record(b"b,2", 2)]


def test_split_line_skips_empty_lines_but_keeps_counting_them() -> None:
    records = split_records(b"a\n\n\r\nb\n\n", "Line")
    assert records == [Record(b"a", 1), Record(b"b", 4)]


def test_split_line_keeps_whitespace_only_lines() -> None:
    assert split_records(b" \n", "Line") == [Record(b" ", 1)]


def test_split_line_of_an_empty_object_gives_no_records() -> None:
    assert split_records(b"", "Line") == []


def test_split_recordio_keeps_each_record_framed() -> None:
    frames = [encode_recordio(b"one"), encode_recordio(b"four"), encode_recordio(b"")]
    records = split_records(b"".join(frames), "RecordIO")
    assert [r.data for r in records] == frames
    assert [r.position for r in records] == [1, 2, 3]


def test_split_recordio_keeps_a_record_written_in_parts_as_one_record() -> None:
    body = b"abcd" + MAGIC_BYTES + b"efgh" + MAGIC_BYTES + b"ij"
    framed = encode_recordio(body)
    assert framed.count(MAGIC_BYTES) == 3  # first, middle and last part
    records = split_records(framed + encode_recordio(b"next"), "RecordIO")
    assert [r.data for r in records] == [framed, encode_recordio(b"next")]
    assert unframe(records[0], "RecordIO") == body


def test_split_recordio_truncated_record_names_its_number_and_offset() -> None:
    data = encode_recordio(b"first") + encode_recordio(b"second")[:-3]
    with pytest.raises(TransformRecordError) as caught:
        split_records(data, "RecordIO")
    assert caught.value.position == 2
    assert "record 2 at byte 16" in caught.value.message
    assert "truncated" in caught.value.message


def test_split_recordio_truncated_header_is_an_error() -> None:
    with pytest.raises(TransformRecordError, match=r"record 2 .* inside a record header"):
        split_records(encode_recordio(b"x") + MAGIC_BYTES, "RecordIO")


def test_split_recordio_wrong_magic_says_to_check_the_split_type() -> None:
    with pytest.raises(TransformRecordError, match=r"magic number .*SplitType"):
        split_records(b"a,b,c\nd,e,f\n", "RecordIO")


def test_split_recordio_ending_inside_a_split_record_is_an_error() -> None:
    framed = encode_recordio(b"abcd" + MAGIC_BYTES + b"ef")
    first_part = framed[: 8 + 4]
    with pytest.raises(TransformRecordError, match="no last part") as caught:
        split_records(first_part, "RecordIO")
    assert caught.value.position == 1


def test_split_recordio_continuation_without_a_first_part_is_corrupt() -> None:
    orphan = MAGIC_BYTES + struct.pack("<I", (3 << 29) | 4) + b"abcd"
    with pytest.raises(TransformRecordError, match="part flag 3 out of sequence"):
        split_records(orphan, "RecordIO")


def test_split_tfrecord_keeps_each_record_framed() -> None:
    frames = [tfrecord(b"example-1"), tfrecord(b""), tfrecord(b"ex3")]
    records = split_records(b"".join(frames), "TFRecord")
    assert [r.data for r in records] == frames
    assert [unframe(r, "TFRecord") for r in records] == [b"example-1", b"", b"ex3"]


def test_split_tfrecord_truncated_record_names_its_position() -> None:
    data = tfrecord(b"ok") + tfrecord(b"cut short")[:-1]
    with pytest.raises(TransformRecordError, match="TFRecord record 2 at byte 18") as caught:
        split_records(data, "TFRecord")
    assert caught.value.position == 2


def test_split_tfrecord_truncated_header_is_an_error() -> None:
    with pytest.raises(TransformRecordError, match=r"record 1 .* record header"):
        split_records(b"\x01\x02", "TFRecord")


def test_unknown_split_type_is_a_validation_error() -> None:
    with pytest.raises(ValidationException, match=r"SplitType 'Lines' is not one of None, Line"):
        split_records(b"", "Lines")


# --- batch_records ----------------------------------------------------------------------


def lines(*texts: bytes) -> list[Record]:
    return [Record(text, number) for number, text in enumerate(texts, start=1)]


def test_single_record_sends_one_record_a_batch() -> None:
    records = lines(b"a", b"b", b"c")
    assert list(batch_records(records, "SingleRecord", 6 * MIB, "Line")) == [
        [records[0]],
        [records[1]],
        [records[2]],
    ]


def test_multi_record_fills_each_request_up_to_the_limit() -> None:
    records = lines(b"aaa", b"bbb", b"ccc")  # 4 bytes each in the body, with the \n
    batches = list(batch_records(records, "MultiRecord", 8, "Line"))
    assert batches == [records[:2], records[2:]]
    assert all(len(payload(b, "Line")) <= 8 for b in batches)


def test_multi_record_counts_the_line_break_against_the_limit() -> None:
    records = lines(b"aaa", b"bbb")
    assert list(batch_records(records, "MultiRecord", 7, "Line")) == [[records[0]], [records[1]]]


def test_max_payload_zero_means_no_limit() -> None:
    records = lines(b"x" * 100, b"y" * 100)
    assert list(batch_records(records, "MultiRecord", 0, "Line")) == [records]


def test_a_record_over_the_limit_names_its_line_the_limit_and_the_fix() -> None:
    records = lines(b"ok", b"x" * 20)
    batches = batch_records(records, "MultiRecord", 10, "Line")
    assert next(batches) == [records[0]]
    with pytest.raises(TransformRecordError) as caught:
        next(batches)
    message = caught.value.message
    assert caught.value.position == 2
    assert "Line 2 is 21 bytes" in message
    assert "limit of 10 bytes" in message
    assert "MaxPayloadInMB" in message


def test_an_object_over_the_limit_with_split_type_none_says_to_set_split_type() -> None:
    with pytest.raises(
        TransformRecordError, match=r"The object is .* Set TransformInput.SplitType"
    ):
        list(batch_records([Record(b"x" * 7 * MIB, 1)], "MultiRecord", 6 * MIB, "None"))


def test_limit_message_shows_megabytes() -> None:
    with pytest.raises(TransformRecordError, match=r"\(6 MB\)"):
        list(batch_records(lines(b"x" * (6 * MIB + 1)), "SingleRecord", 6 * MIB, "Line"))


@pytest.mark.parametrize("strategy", ["MultiRecord", "SingleRecord"])
def test_split_type_none_is_one_batch_whatever_the_strategy(strategy: str) -> None:
    record = Record(b"a\nb\n", 1)
    assert list(batch_records([record], strategy, 6 * MIB, "None")) == [[record]]


def test_single_record_binary_limit_is_checked_on_the_bare_record() -> None:
    # 12 header + 4 footer bytes are not sent with SingleRecord, so a 10-byte record fits 10
    record = split_records(tfrecord(b"x" * 10), "TFRecord")[0]
    assert list(batch_records([record], "SingleRecord", 10, "TFRecord")) == [[record]]
    with pytest.raises(TransformRecordError, match="Record 1 is 26 bytes"):
        list(batch_records([record], "MultiRecord", 10, "TFRecord"))


def test_unknown_batch_strategy_is_a_validation_error() -> None:
    with pytest.raises(ValidationException, match="BatchStrategy 'Multi'"):
        list(batch_records([], "Multi", 0, "Line"))


# --- payload ----------------------------------------------------------------------------


def test_line_payload_ends_every_line_with_a_line_break() -> None:
    assert payload(lines(b"a,1", b"b,2"), "Line") == b"a,1\nb,2\n"
    assert payload(lines(b"a,1"), "Line", "SingleRecord") == b"a,1\n"


def test_none_payload_is_the_object_unchanged() -> None:
    assert payload([Record(b"{}\r\n", 1)], "None") == b"{}\r\n"


def test_multi_record_binary_payload_is_the_framed_records_back_to_back() -> None:
    data = encode_recordio(b"one") + encode_recordio(b"two")
    assert payload(split_records(data, "RecordIO"), "RecordIO") == data


def test_single_record_binary_payload_has_its_framing_removed() -> None:
    # AWS: "padding is removed if BatchStrategy is SingleRecord"
    [record] = split_records(encode_recordio(b"abcdef"), "RecordIO")
    assert payload([record], "RecordIO", "SingleRecord") == b"abcdef"
    [record] = split_records(tfrecord(b"tf.Example"), "TFRecord")
    assert payload([record], "TFRecord", "SingleRecord") == b"tf.Example"


# --- split_response and assemble --------------------------------------------------------


def test_split_response_gives_one_output_per_line() -> None:
    assert split_response(b"0.1\n0.2\n0.3\n", 3, 1) == [b"0.1", b"0.2", b"0.3"]
    assert split_response(b"0.1\r\n0.2", 2, 1) == [b"0.1", b"0.2"]


def test_split_response_keeps_empty_outputs_between_records() -> None:
    assert split_response(b"a\n\nc\n", 3, 1) == [b"a", b"", b"c"]


def test_split_response_with_the_wrong_line_count_says_one_line_per_record() -> None:
    with pytest.raises(TransformRecordError) as caught:
        split_response(b"0.1,0.2,0.3", 3, 41)
    assert caught.value.position == 41
    assert "3 records starting at record 41" in caught.value.message
    assert "1 lines" in caught.value.message
    assert "one line per record" in caught.value.message


def test_assemble_none_concatenates_outputs_as_they_are() -> None:
    assert assemble([b"a", b"b\n", b"c"], "None") == b"ab\nc"


def test_assemble_line_ends_every_output_with_one_newline() -> None:
    assert assemble([b"a", b"b\n", b""], "Line") == b"a\nb\n\n"


def test_unknown_assemble_with_is_a_validation_error() -> None:
    with pytest.raises(ValidationException, match="AssembleWith 'Lines'"):
        assemble([], "Lines")


# --- properties -------------------------------------------------------------------------

LINE = st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"") or b"x")


@given(st.lists(LINE, max_size=20))
def test_line_split_then_payload_gives_back_the_file(texts: list[bytes]) -> None:
    data = b"".join(text + b"\n" for text in texts)
    records = split_records(data, "Line")
    assert [r.data for r in records] == texts
    assert payload(records, "Line") == data


@given(st.lists(st.binary(max_size=20), max_size=10))
def test_recordio_split_then_payload_gives_back_the_object(bodies: list[bytes]) -> None:
    data = b"".join(encode_recordio(body) for body in bodies)
    records = split_records(data, "RecordIO")
    assert payload(records, "RecordIO") == data
    assert [unframe(r, "RecordIO") for r in records] == bodies


@given(
    st.lists(st.binary(max_size=4).map(lambda b: b + MAGIC_BYTES * 2 + b), max_size=5),
)
def test_recordio_records_written_in_parts_round_trip(bodies: list[bytes]) -> None:
    data = b"".join(encode_recordio(body) for body in bodies)
    assert [unframe(r, "RecordIO") for r in split_records(data, "RecordIO")] == bodies


@settings(max_examples=200)
@given(st.lists(LINE, max_size=30), st.integers(min_value=13, max_value=60))
def test_multi_record_batches_fit_the_limit_and_keep_order(texts: list[bytes], limit: int) -> None:
    records = lines(*texts)
    batches = list(batch_records(records, "MultiRecord", limit, "Line"))
    assert [r for batch in batches for r in batch] == records
    assert all(batch and len(payload(batch, "Line")) <= limit for batch in batches)
    # greedy: the next batch's first record would not have fitted in the batch before
    for before, after in itertools.pairwise(batches):
        assert len(payload([*before, after[0]], "Line")) > limit


@given(st.lists(st.binary(max_size=8).map(lambda b: b.replace(b"\n", b"")), min_size=1))
def test_assemble_line_then_split_response_gives_back_the_outputs(outputs: list[bytes]) -> None:
    outputs = [o.rstrip(b"\r") for o in outputs]
    assert split_response(assemble(outputs, "Line"), len(outputs), 1) == outputs


@given(
    st.lists(
        st.binary(min_size=1, max_size=30).filter(lambda b: b"\n" not in b and b"\r" not in b)
    ),
    st.integers(min_value=0, max_value=200),
    st.booleans(),
)
def test_line_batches_are_the_record_path_s_payloads(
    lines: list[bytes], limit: int, final_newline: bool
) -> None:
    """The byte-cut fast path gives exactly the payloads and line numbers that
    split_records + batch_records + payload give, or refuses what they refuse."""
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    try:
        expected = [
            (payload(batch, "Line"), batch[0].position, batch[-1].position)
            for batch in batch_records(split_records(data, "Line"), "MultiRecord", limit, "Line")
        ]
    except TransformRecordError as error:
        with pytest.raises(TransformRecordError) as caught:
            line_batches(data, limit)
        assert caught.value.position == error.position
        return
    assert line_batches(data, limit) == expected


def test_line_batches_leave_blank_lines_and_crlf_to_the_record_path() -> None:
    assert line_batches(b"a\n\nb\n", 0) is None
    assert line_batches(b"a\r\nb\r\n", 0) is None
    assert line_batches(b"\na\n", 0) is None
    assert line_batches(b"", 10) == []
