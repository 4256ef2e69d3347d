"""The data path of batch transform: objects into records, records into requests, and
responses back into one output object.

This module owns :class:`Record`, the four ``SplitType`` splitters, the two
``BatchStrategy`` batchers under ``MaxPayloadInMB``, how a mini-batch becomes one
``/invocations`` body, how a MultiRecord response is cut back into per-record outputs,
the two ``AssembleWith`` assemblers, and :class:`TransformRecordError`, the error for a
record that fails during a job. It does no I/O: the job engine reads the object, calls
these functions in order and writes what :func:`assemble` returns.

AWS's rules followed here (CreateTransformJob API reference, ``TransformInput.SplitType``,
``CreateTransformJobRequest.BatchStrategy``/``MaxPayloadInMB``,
``TransformOutput.AssembleWith``; developer guide "Use batch transform"):

* ``SplitType`` None sends the whole object in one request; Line splits "on a newline
  character boundary"; RecordIO and TFRecord split binary records.
* "To enable the batch strategy, you must set SplitType to Line, RecordIO, or TFRecord":
  with SplitType None the strategy has no effect (the whole object is still one request),
  so it is accepted, not refused.
* MultiRecord "sends the maximum number of records in each request, up to the
  MaxPayloadInMB limit"; SingleRecord sends one. A record (or, with SplitType None, an
  object) larger than the limit is an error; 0 means no limit (HTTP chunked streaming).
* "When splitting is applied to a binary data format, padding is removed if BatchStrategy
  is SingleRecord. Padding is not removed if BatchStrategy is MultiRecord." AWS's TFRecord
  example (amazon-sagemaker-examples, tensorflow_open-images_tfrecord: SingleRecord,
  ``tf.train.Example.ParseFromString(data.read())`` in the container) shows "padding" is
  the whole framing: a SingleRecord request carries the bare record, a MultiRecord request
  the framed records back to back.
* AssembleWith None concatenates the outputs; Line adds "a newline character at the end of
  every transformed record".
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from fogbank.core.errors import FogbankError, ValidationException
from fogbank.ml.formats.base import FormatError
from fogbank.ml.formats.recordio import MAGIC, iter_recordio

SPLIT_TYPES = ("None", "Line", "RecordIO", "TFRecord")
BATCH_STRATEGIES = ("MultiRecord", "SingleRecord")
ASSEMBLY_TYPES = ("None", "Line")

MIB = 1024 * 1024

_RECORDIO_HEADER = struct.Struct("<II")
_RECORDIO_LENGTH_MASK = (1 << 29) - 1
# TFRecord: uint64 length, uint32 masked CRC-32C of the length, data, uint32 masked CRC of data.
_TFRECORD_LENGTH = struct.Struct("<Q")
_TFRECORD_HEADER_SIZE = 12
_TFRECORD_FOOTER_SIZE = 4


class TransformRecordError(FogbankError):
    """A record that failed during a transform job: unreadable, too large, or a response
    that cannot be matched to its records.

    The code is ``ClientError`` because that is how AWS prefixes a transform job's
    ``FailureReason`` when the data (not the service) is at fault. ``position`` is the
    record's 1-based line or record number in its object; the message names it too.
    """

    code = "ClientError"

    def __init__(self, message: str, *, position: int) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True)
class Record:
    """One record as a MultiRecord request carries it.

    ``data`` is a line without its line break (Line), a framed RecordIO record with its
    dmlc headers and padding (RecordIO), a framed TFRecord record (TFRecord), or the
    whole object (None). ``position`` is the 1-based line number (Line) or record number
    (RecordIO, TFRecord) in the object, for error messages; 1 for SplitType None.
    """

    data: bytes
    position: int


def where(split_type: str, position: int) -> str:
    """How an error message names a record: ``line 3``, ``record 3`` or ``the object``."""
    if split_type == "Line":
        return f"line {position}"
    if split_type == "None":
        return "the object"
    return f"record {position}"


def _check_choice(field: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValidationException(
            f"{field} {value!r} is not one of {', '.join(choices)}. Use one of those values."
        )


def split_records(data: bytes, split_type: str) -> list[Record]:
    """The records of one input object, as TransformInput.SplitType cuts them.

    * ``None``: the whole object is one record.
    * ``Line``: split on ``\\n``; a ``\\r`` before it is dropped (CRLF files); a last line
      without ``\\n`` is kept. Empty lines are skipped, their numbers still counted so
      ``position`` stays the line number in the file: AWS does not document blank lines,
      and an empty request body is no record a model can answer (a trailing blank line
      would otherwise cost one failing request per file).
    * ``RecordIO``: dmlc RecordIO records, each with its framing (a record the writer split
      at a magic word spans several frames and stays one record).
    * ``TFRecord``: TFRecord records with their framing; CRCs are not checked.

    A truncated or corrupt binary record raises :class:`TransformRecordError` naming the
    record number and byte offset.
    """
    _check_choice("TransformInput.SplitType", split_type, SPLIT_TYPES)
    if split_type == "None":
        return [Record(data, 1)]
    if split_type == "Line":
        return _split_lines(data)
    if split_type == "RecordIO":
        return _split_recordio(data)
    return _split_tfrecord(data)


def _split_lines(data: bytes) -> list[Record]:
    records: list[Record] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if line:
            records.append(Record(line, number))
    return records


def _split_recordio(data: bytes) -> list[Record]:
    records: list[Record] = []
    offset = 0
    start = 0  # where the current (possibly multi-part) record began
    in_parts = False
    while offset < len(data):
        number = len(records) + 1
        if len(data) - offset < _RECORDIO_HEADER.size:
            raise TransformRecordError(
                f"RecordIO record {number} at byte {offset}: the object ends inside a record "
                "header. The object is truncated; rewrite it.",
                position=number,
            )
        magic, lrec = _RECORDIO_HEADER.unpack_from(data, offset)
        if magic != MAGIC:
            raise TransformRecordError(
                f"RecordIO record {number} at byte {offset}: magic number 0x{magic:08X}, "
                f"expected 0x{MAGIC:08X}. This is not RecordIO data or it is corrupt; check "
                "TransformInput.SplitType and ContentType.",
                position=number,
            )
        cflag, length = lrec >> 29, lrec & _RECORDIO_LENGTH_MASK
        end = offset + _RECORDIO_HEADER.size + ((length + 3) & ~3)
        if end > len(data):
            raise TransformRecordError(
                f"RecordIO record {number} at byte {offset}: {length} bytes announced, "
                f"{len(data) - offset - _RECORDIO_HEADER.size} left in the object. The object "
                "is truncated; rewrite it.",
                position=number,
            )
        if cflag > 3 or (cflag in (0, 1)) == in_parts:
            raise TransformRecordError(
                f"RecordIO record {number} at byte {offset}: part flag {cflag} out of "
                "sequence (0 whole, 1 first, 2 middle, 3 last). The object is corrupt.",
                position=number,
            )
        if cflag in (0, 1):
            start = offset
        in_parts = cflag in (1, 2)
        offset = end
        if not in_parts:
            records.append(Record(data[start:end], number))
    if in_parts:
        number = len(records) + 1
        raise TransformRecordError(
            f"RecordIO record {number} at byte {start}: the object ends inside a record "
            "written in parts (no last part). The object is truncated; rewrite it.",
            position=number,
        )
    return records


def _split_tfrecord(data: bytes) -> list[Record]:
    records: list[Record] = []
    offset = 0
    while offset < len(data):
        number = len(records) + 1
        if len(data) - offset < _TFRECORD_HEADER_SIZE:
            raise TransformRecordError(
                f"TFRecord record {number} at byte {offset}: the object ends inside a record "
                "header. The object is truncated; rewrite it.",
                position=number,
            )
        (length,) = _TFRECORD_LENGTH.unpack_from(data, offset)
        end = offset + _TFRECORD_HEADER_SIZE + length + _TFRECORD_FOOTER_SIZE
        if end > len(data):
            raise TransformRecordError(
                f"TFRecord record {number} at byte {offset}: {length} bytes announced, "
                f"{len(data) - offset - _TFRECORD_HEADER_SIZE} left in the object (with the "
                "4-byte CRC). The object is truncated or not TFRecord data; check "
                "TransformInput.SplitType.",
                position=number,
            )
        records.append(Record(data[offset:end], number))
        offset = end
    return records


def unframe(record: Record, split_type: str) -> bytes:
    """The record without its framing: what a SingleRecord request carries.

    Line and None records have no framing and come back unchanged.
    """
    if split_type == "RecordIO":
        try:
            (payload,) = list(iter_recordio(io.BytesIO(record.data)))
        except (FormatError, ValueError) as exc:
            raise TransformRecordError(
                f"RecordIO record {record.position}: {exc}", position=record.position
            ) from exc
        return payload
    if split_type == "TFRecord":
        (length,) = _TFRECORD_LENGTH.unpack_from(record.data)
        return record.data[_TFRECORD_HEADER_SIZE : _TFRECORD_HEADER_SIZE + length]
    return record.data


def _size_in_batch(record: Record, split_type: str, strategy: str) -> int:
    """The bytes ``record`` adds to a request body built by :func:`payload`."""
    if split_type == "Line":
        return len(record.data) + 1
    if strategy == "SingleRecord" and split_type in ("RecordIO", "TFRecord"):
        return len(unframe(record, split_type))
    return len(record.data)


def batch_records(
    records: Sequence[Record], strategy: str, max_payload_bytes: int, split_type: str
) -> Iterator[list[Record]]:
    """The mini-batches of one object's records, in order, as BatchStrategy groups them.

    SingleRecord yields one record a batch; MultiRecord as many consecutive records as fit
    in ``max_payload_bytes`` once :func:`payload` joins them (``MaxPayloadInMB`` times 1 MiB).
    ``max_payload_bytes`` 0 means no limit (``MaxPayloadInMB=0``, chunked streaming). With
    SplitType None the object is one batch whatever the strategy. A single record larger
    than the limit raises :class:`TransformRecordError` when the batcher reaches it, after
    the batch before it has been yielded (AWS then fails the whole object: an object with a
    bad record gets no output).
    """
    _check_choice("BatchStrategy", strategy, BATCH_STRATEGIES)
    _check_choice("TransformInput.SplitType", split_type, SPLIT_TYPES)
    if max_payload_bytes < 0:
        raise ValidationException(
            f"MaxPayloadInMB gives {max_payload_bytes} bytes; it must be 0 (no limit) or more."
        )
    single = strategy == "SingleRecord" or split_type == "None"
    batch: list[Record] = []
    size = 0
    for record in records:
        record_size = _size_in_batch(record, split_type, strategy)
        if max_payload_bytes and record_size > max_payload_bytes:
            if batch:
                yield batch  # the records before it still go out, in order
            raise TransformRecordError(
                _too_large(record, record_size, max_payload_bytes, split_type),
                position=record.position,
            )
        if single:
            yield [record]
            continue
        if batch and max_payload_bytes and size + record_size > max_payload_bytes:
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += record_size
    if batch:
        yield batch


def _too_large(record: Record, size: int, limit: int, split_type: str) -> str:
    shown = f"{limit} bytes ({limit // MIB} MB)" if limit % MIB == 0 else f"{limit} bytes"
    if split_type == "None":
        fix = (
            "Set TransformInput.SplitType (Line, RecordIO or TFRecord) so the object is sent "
            "in records, or raise MaxPayloadInMB (at most 100)."
        )
    else:
        fix = (
            "Raise MaxPayloadInMB (at most 100) above the largest record, or write smaller records."
        )
    return (
        f"{where(split_type, record.position).capitalize()} is {size} bytes, over the "
        f"MaxPayloadInMB limit of {shown}. {fix}"
    )


def line_batches(data: bytes, max_payload_bytes: int) -> list[tuple[bytes, int, int]] | None:
    """The MultiRecord batches of a Line-split object as ``(payload, first line, last
    line)``, cut straight from the bytes at line breaks: the payloads :func:`batch_records`
    and :func:`payload` give, without a :class:`Record` per line (an object of millions
    of lines). None when the object has blank lines or CR line ends, which only the
    record path drops as it should."""
    if b"\r" in data or b"\n\n" in data or data.startswith(b"\n"):
        return None
    if data and not data.endswith(b"\n"):
        data += b"\n"
    batches: list[tuple[bytes, int, int]] = []
    start, line, size = 0, 1, len(data)
    while start < size:
        end = size
        if max_payload_bytes and size - start > max_payload_bytes:
            end = data.rfind(b"\n", start, start + max_payload_bytes) + 1
            if end <= start:  # one line longer than the limit
                stop = data.find(b"\n", start)
                record = Record(data[start:stop], line)
                raise TransformRecordError(
                    _too_large(record, stop - start + 1, max_payload_bytes, "Line"),
                    position=line,
                )
        lines = data.count(b"\n", start, end)
        batches.append((data[start:end], line, line + lines - 1))
        line += lines
        start = end
    return batches


def payload(batch: Sequence[Record], split_type: str, strategy: str = "MultiRecord") -> bytes:
    """The ``/invocations`` request body for one mini-batch.

    * Line: the lines, each ending in ``\\n``, the last one too (a CSV or JSON Lines body
      is a whole number of lines; AWS does not document the final line break).
    * RecordIO, TFRecord: the framed records back to back (MultiRecord); the bare record,
      framing removed (SingleRecord, per the SplitType note quoted in the module docstring).
    * None: the object.
    """
    _check_choice("TransformInput.SplitType", split_type, SPLIT_TYPES)
    if split_type == "Line":
        return b"".join(record.data + b"\n" for record in batch)
    if split_type in ("RecordIO", "TFRecord") and strategy == "SingleRecord":
        if len(batch) != 1:
            raise ValueError(f"a SingleRecord batch holds one record, this one {len(batch)}")
        return unframe(batch[0], split_type)
    return b"".join(record.data for record in batch)


def split_response(body: bytes, count: int, position: int) -> list[bytes]:
    """The per-record outputs of a MultiRecord response to ``count`` records.

    Outputs are matched to inputs by line (AWS documents no other way for AssembleWith Line
    or JoinSource Input): the container must answer one line per record, in order. Lines
    are split on ``\\n`` (a ``\\r`` before it dropped); one final line break ends the last
    line rather than starting an empty one. Any other count of lines
    raises :class:`TransformRecordError` for the mini-batch that starts at ``position``.
    A SingleRecord response is one output as it is and needs no splitting.
    """
    text = body[:-1] if body.endswith(b"\n") else body
    lines = [line[:-1] if line.endswith(b"\r") else line for line in text.split(b"\n")]
    if len(lines) != count:
        raise TransformRecordError(
            f"The mini-batch of {count} records starting at record {position} got a response "
            f"of {len(lines)} lines. With BatchStrategy MultiRecord the container must answer "
            "one line per record, in order, so that each output can be matched to its input "
            "(AssembleWith Line, JoinSource Input). Make the container answer one line per "
            "record, or use BatchStrategy SingleRecord.",
            position=position,
        )
    return lines


def assemble(outputs: Sequence[bytes], assemble_with: str) -> bytes:
    """One output object from the outputs of an input object, in input order.

    ``None`` concatenates them as they are; ``Line`` ends each with a newline, adding none
    to an output that already ends with one (so a container answering ``"0.5\\n"`` does
    not leave blank lines between records).
    """
    _check_choice("TransformOutput.AssembleWith", assemble_with, ASSEMBLY_TYPES)
    if assemble_with == "None":
        return b"".join(outputs)
    return b"".join(out if out.endswith(b"\n") else out + b"\n" for out in outputs)
