"""RecordIO-protobuf: the aialgs.data schema, SDK-identical bytes, decoding to batches."""

from __future__ import annotations

import io
import struct
from typing import Any

import numpy as np
import pytest
import scipy.sparse
from google.protobuf import descriptor_pool
from hypothesis import given, settings
from hypothesis import strategies as st

from fogbank.ml.formats import (
    FormatError,
    decode_record,
    encode_record,
    iter_recordio,
    parse_content_type,
    read_all,
    read_batches,
    records_to_batch,
    write_recordio_protobuf,
)
from fogbank.ml.formats.protobuf import Record
from fogbank.ml.formats.recordio import encode_recordio
from tests.ml.formats.strategies import FLOAT32, dense, labels_for, sparse

RECORDIO = parse_content_type("application/x-recordio-protobuf")


# An encoder written from the protobuf wire format alone, to check the descriptor built
# in Python (field numbers, packed encoding, map entries) independently of the library.
def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int32 goes out as ten bytes, as protobuf does
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _len_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


_VALUE_FIELD = {"f4": 2, "f8": 3, "i4": 7}


def _tensor(kind: str, values: Any, keys: Any = (), shape: Any = ()) -> bytes:
    if kind == "i4":
        packed = b"".join(_varint(int(v)) for v in values)
    else:
        packed = b"".join(
            struct.pack("<" + kind[0].replace("f", "f" if kind == "f4" else "d"), v) for v in values
        )
    body = b""
    if len(values):
        body += _len_field(1, packed)
    if len(keys):
        body += _len_field(2, b"".join(_varint(int(k)) for k in keys))
    if len(shape):
        body += _len_field(3, b"".join(_varint(int(s)) for s in shape))
    return _len_field(_VALUE_FIELD[kind], body)


def _entry(number: int, value: bytes) -> bytes:
    return _len_field(number, _len_field(1, b"values") + _len_field(2, value))


def _kind(dtype: Any) -> str:
    return {np.dtype(np.float32): "f4", np.dtype(np.float64): "f8"}.get(np.dtype(dtype), "i4")


def wire_record(row: Any, label: Any = None, keys: Any = (), shape: Any = ()) -> bytes:
    """The bytes the SDK's writers give for one row (features, then the label)."""
    out = _entry(1, _tensor(_kind(np.asarray(row).dtype), row, keys, shape))
    if label is not None:
        out += _entry(2, _tensor(_kind(np.asarray(label).dtype), [label]))
    return out


def test_hand_encoded_record_equals_library_encoding() -> None:
    expected = bytes.fromhex("0a160a0676616c756573120c120a0a080000803f00000040")
    assert encode_record(np.array([1.0, 2.0], dtype=np.float32)) == expected
    assert wire_record(np.array([1.0, 2.0], dtype=np.float32)) == expected


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    dtype=st.sampled_from([np.float32, np.float64, np.int64]),
    with_labels=st.booleans(),
)
def test_dense_writer_gives_the_sdk_bytes_and_reads_back(
    data: st.DataObject, dtype: Any, with_labels: bool
) -> None:
    elements = st.integers(-(2**31), 2**31 - 1) if dtype == np.int64 else FLOAT32
    features = data.draw(dense(elements=elements, dtype=dtype))
    labels = np.arange(len(features), dtype=dtype) if with_labels else None
    stream = io.BytesIO()
    write_recordio_protobuf(stream, features, labels)
    expected = b"".join(
        encode_recordio(wire_record(row, None if labels is None else labels[i]))
        for i, row in enumerate(features)
    )
    assert stream.getvalue() == expected
    batch = read_all([io.BytesIO(expected)], RECORDIO)
    np.testing.assert_array_equal(batch.features, features.astype(np.float32))
    if labels is None:
        assert batch.labels is None
    else:
        np.testing.assert_array_equal(batch.labels, labels.astype(np.float32))


@settings(max_examples=40, deadline=None)
@given(data=st.data(), matrix=sparse())
def test_sparse_writer_gives_the_sdk_bytes_and_reads_back_as_csr(
    data: st.DataObject, matrix: scipy.sparse.csr_matrix
) -> None:
    labels = data.draw(labels_for(matrix.shape[0]))
    stream = io.BytesIO()
    write_recordio_protobuf(stream, matrix, labels)
    expected = b""
    for i in range(matrix.shape[0]):
        lo, hi = matrix.indptr[i], matrix.indptr[i + 1]
        expected += encode_recordio(
            wire_record(matrix.data[lo:hi], labels[i], matrix.indices[lo:hi], [matrix.shape[1]])
        )
    assert stream.getvalue() == expected
    batch = read_all([io.BytesIO(expected)], RECORDIO, sparse=True)
    assert isinstance(batch.features, scipy.sparse.csr_matrix)
    assert batch.features.shape == matrix.shape
    np.testing.assert_array_equal(batch.features.toarray(), matrix.toarray())
    np.testing.assert_array_equal(batch.labels, labels)
    dense_batch = read_all([io.BytesIO(expected)], RECORDIO)
    np.testing.assert_array_equal(dense_batch.features, matrix.toarray())


def test_sdk_call_pattern_on_our_record_class_gives_our_bytes() -> None:
    row = np.array([0.5, -1.25, 3.0], dtype=np.float32)
    record = Record()
    record.features["values"].float32_tensor.values.extend(row)
    record.label["values"].float32_tensor.values.extend([np.float32(1)])
    stream = io.BytesIO()
    write_recordio_protobuf(stream, row[None, :], np.array([1], dtype=np.float32))
    assert stream.getvalue() == encode_recordio(record.SerializeToString())


def test_schema_lives_in_a_pool_of_its_own() -> None:
    with pytest.raises(KeyError):
        descriptor_pool.Default().FindMessageTypeByName("aialgs.data.Record")
    fields = {f.name: f.number for f in Record.DESCRIPTOR.fields}
    assert fields == {"features": 1, "label": 2, "uid": 3, "metadata": 4, "configuration": 5}
    assert Record.DESCRIPTOR.fields_by_name["features"].message_type.GetOptions().map_entry


def test_vector_labels_read_as_a_label_matrix() -> None:
    stream = io.BytesIO()
    features = np.ones((3, 2), dtype=np.float32)
    labels = np.arange(6, dtype=np.float32).reshape(3, 2)
    write_recordio_protobuf(stream, features, labels)
    batch = read_all([io.BytesIO(stream.getvalue())], RECORDIO)
    np.testing.assert_array_equal(batch.labels, labels)


def test_label_size_zero_ignores_the_labels() -> None:
    stream = io.BytesIO()
    write_recordio_protobuf(stream, np.ones((2, 2), np.float32), np.ones(2, np.float32))
    ct = parse_content_type("application/x-recordio-protobuf;label_size=0")
    assert read_all([io.BytesIO(stream.getvalue())], ct).labels is None


@settings(max_examples=20, deadline=None)
@given(
    features=dense(rows=st.integers(1, 25)),
    batch_size=st.integers(1, 7),
    chunk_size=st.sampled_from([1, 5, 64]),
)
def test_recordio_batches_are_exact_across_chunks_and_streams(
    features: np.ndarray[Any, Any], batch_size: int, chunk_size: int
) -> None:
    half = len(features) // 2
    streams = []
    for part in (features[:half], features[half:]):
        stream = io.BytesIO()
        write_recordio_protobuf(stream, part, np.zeros(len(part), np.float32))
        streams.append(io.BytesIO(stream.getvalue()))
    batches = list(read_batches(streams, RECORDIO, batch_size=batch_size, chunk_size=chunk_size))
    assert all(len(b) == batch_size for b in batches[:-1])
    np.testing.assert_array_equal(np.concatenate([b.features for b in batches]), features)


def test_sparse_record_is_widened_to_feature_dim_and_checked_against_it() -> None:
    payload = encode_record(np.array([2.0], np.float32), 1.0, keys=[3], shape=[5])
    batch = records_to_batch([payload], feature_dim=8)
    assert batch.features.shape == (1, 8) and batch.features[0, 3] == 2
    with pytest.raises(FormatError, match=r"record 1: key 3 is outside the feature dimension 2"):
        records_to_batch([payload], feature_dim=2)


def test_sparse_record_without_shape_needs_a_feature_dim() -> None:
    payload = encode_record(np.array([2.0], np.float32), keys=[3])
    with pytest.raises(FormatError, match="no shape"):
        records_to_batch([payload])
    assert records_to_batch([payload], feature_dim=4).features.shape == (1, 4)


def test_bytes_features_are_refused_with_the_record_number() -> None:
    record = Record()
    record.features["values"].bytes.value.append(b"jpeg")
    good = encode_record(np.array([1.0], np.float32))
    with pytest.raises(FormatError, match=r"record 2: features\['values'\] is Bytes"):
        records_to_batch([good, record.SerializeToString()])


def test_records_of_different_widths_are_refused() -> None:
    a = encode_record(np.array([1.0, 2.0], np.float32))
    b = encode_record(np.array([1.0], np.float32))
    with pytest.raises(FormatError, match="record 2: 1 dense values"):
        records_to_batch([a, b])


def test_some_records_without_a_label_are_refused() -> None:
    a = encode_record(np.array([1.0], np.float32), 1.0)
    b = encode_record(np.array([1.0], np.float32))
    with pytest.raises(FormatError, match="record 2: no label"):
        records_to_batch([a, b])


def test_weights_are_not_read_from_recordio() -> None:
    with pytest.raises(FormatError, match="instance weights"):
        read_all([io.BytesIO(b"")], RECORDIO, weights=True)


def test_int32_overflow_is_refused_on_write() -> None:
    with pytest.raises(FormatError, match="int32"):
        write_recordio_protobuf(io.BytesIO(), np.array([[2**40]], dtype=np.int64))


def test_decode_record_reads_a_single_record() -> None:
    payload = next(iter_recordio(io.BytesIO(encode_recordio(encode_record([1.0, 2.0], 3.0)))))
    record = decode_record(payload)
    assert list(record.features["values"].float64_tensor.values) == [1.0, 2.0]
