"""The ``aialgs.data.Record`` protobuf messages of ``application/x-recordio-protobuf``.

This module owns the message classes, encoding rows into Records the way the SageMaker
Python SDK does (``write_numpy_to_dense_tensor``, ``write_spmatrix_to_sparse_tensor``:
same fields, same calls, so the same bytes), and decoding Records into batches.

There is no protoc here, so the schema of ``record.proto`` (kept next to this file for
reference) is built as a ``FileDescriptorProto`` in Python. It goes into a descriptor
pool of its own, so that another copy of ``aialgs.data`` (the SDK's ``record_pb2``, say)
loaded in the same process cannot clash with it.

A Record is one row: ``features["values"]`` holds the row (dense: ``values``; sparse:
``values`` at positions ``keys`` of a tensor of ``shape``), ``label["values"]`` the label.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

import numpy as np
import scipy.sparse
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from fogbank.ml.formats.base import (
    DEFAULT_CHUNK_SIZE,
    Batch,
    FormatError,
    Rows,
)
from fogbank.ml.formats.recordio import encode_recordio, iter_recordio

_F = descriptor_pb2.FieldDescriptorProto


def _file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    fdp = descriptor_pb2.FileDescriptorProto(
        name="fogbank/aialgs/data/record.proto", package="aialgs.data", syntax="proto2"
    )
    fdp.options.java_package = "com.amazonaws.aialgorithms.proto"
    fdp.options.java_outer_classname = "RecordProtos"

    def repeated(msg: Any, name: str, number: int, kind: int) -> None:
        field = msg.field.add(name=name, number=number, label=_F.LABEL_REPEATED, type=kind)
        field.options.packed = True

    for name, kind in (
        ("Float32Tensor", _F.TYPE_FLOAT),
        ("Float64Tensor", _F.TYPE_DOUBLE),
        ("Int32Tensor", _F.TYPE_INT32),
    ):
        tensor = fdp.message_type.add(name=name)
        repeated(tensor, "values", 1, kind)
        repeated(tensor, "keys", 2, _F.TYPE_UINT64)
        repeated(tensor, "shape", 3, _F.TYPE_UINT64)

    raw = fdp.message_type.add(name="Bytes")
    raw.field.add(name="value", number=1, label=_F.LABEL_REPEATED, type=_F.TYPE_BYTES)
    raw.field.add(name="content_type", number=2, label=_F.LABEL_OPTIONAL, type=_F.TYPE_STRING)

    value = fdp.message_type.add(name="Value")
    value.oneof_decl.add(name="value")
    for name, number, type_name in (
        ("float32_tensor", 2, "Float32Tensor"),
        ("float64_tensor", 3, "Float64Tensor"),
        ("int32_tensor", 7, "Int32Tensor"),
        ("bytes", 9, "Bytes"),
    ):
        value.field.add(
            name=name,
            number=number,
            label=_F.LABEL_OPTIONAL,
            type=_F.TYPE_MESSAGE,
            type_name=f".aialgs.data.{type_name}",
            oneof_index=0,
        )

    record = fdp.message_type.add(name="Record")
    # map<string, Value> is, on the wire and in descriptors, a repeated nested *Entry message
    for name, number, entry_name in (
        (("features", 1, "FeaturesEntry")),
        ("label", 2, "LabelEntry"),
    ):
        entry = record.nested_type.add(name=entry_name)
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, label=_F.LABEL_OPTIONAL, type=_F.TYPE_STRING)
        entry.field.add(
            name="value",
            number=2,
            label=_F.LABEL_OPTIONAL,
            type=_F.TYPE_MESSAGE,
            type_name=".aialgs.data.Value",
        )
        record.field.add(
            name=name,
            number=number,
            label=_F.LABEL_REPEATED,
            type=_F.TYPE_MESSAGE,
            type_name=f".aialgs.data.Record.{entry_name}",
        )
    for name, number in (("uid", 3), ("metadata", 4), ("configuration", 5)):
        record.field.add(name=name, number=number, label=_F.LABEL_OPTIONAL, type=_F.TYPE_STRING)
    return fdp


POOL = descriptor_pool.DescriptorPool()
POOL.Add(_file_descriptor())


def _message_class(name: str) -> Any:
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(f"aialgs.data.{name}"))


Float32Tensor: Any = _message_class("Float32Tensor")
Float64Tensor: Any = _message_class("Float64Tensor")
Int32Tensor: Any = _message_class("Int32Tensor")
Bytes: Any = _message_class("Bytes")
Value: Any = _message_class("Value")
Record: Any = _message_class("Record")

_INT32 = np.iinfo(np.int32)


def _tensor_kind(dtype: np.dtype[Any], what: str) -> str:
    """The Value field for a dtype, as the SDK's ``_resolve_type`` picks it."""
    if dtype == np.float32 or dtype == np.float16:
        return "float32_tensor"
    if dtype == np.float64:
        return "float64_tensor"
    if np.issubdtype(dtype, np.integer) or dtype == np.bool_:
        return "int32_tensor"
    raise FormatError(
        f"{what}: dtype {dtype} has no RecordIO-protobuf tensor; use float32, float64 or int."
    )


def _check_int32(array: np.ndarray[Any, np.dtype[Any]], what: str) -> None:
    if array.size and np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if low < _INT32.min or high > _INT32.max:
            raise FormatError(
                f"{what}: integers outside int32 ({low}..{high}) do not fit an Int32Tensor; "
                "convert to float64."
            )


def encode_record(
    features: Sequence[float] | np.ndarray[Any, np.dtype[Any]],
    label: float | Sequence[float] | np.ndarray[Any, np.dtype[Any]] | None = None,
    *,
    keys: Sequence[int] | np.ndarray[Any, np.dtype[Any]] | None = None,
    shape: Sequence[int] | None = None,
) -> bytes:
    """One Record's bytes: dense ``features``, or sparse when ``keys`` (and ``shape``) given."""
    feats = np.asarray(features)
    kind = _tensor_kind(feats.dtype, "encode_record features")
    record = Record()
    tensor = getattr(record.features["values"], kind)
    tensor.values.extend(feats.ravel().tolist())
    if keys is not None:
        tensor.keys.extend(np.asarray(keys, dtype=np.uint64).tolist())
    if shape is not None:
        tensor.shape.extend(list(shape))
    if label is not None:
        lab = np.atleast_1d(np.asarray(label))
        getattr(
            record.label["values"], _tensor_kind(lab.dtype, "encode_record label")
        ).values.extend(lab.ravel().tolist())
    return bytes(record.SerializeToString())


def decode_record(payload: bytes) -> Any:
    """The Record message in ``payload``."""
    record = Record()
    record.ParseFromString(payload)
    return record


def write_recordio_protobuf(
    stream: IO[bytes],
    features: np.ndarray[Any, np.dtype[Any]] | scipy.sparse.spmatrix | scipy.sparse.sparray,
    labels: np.ndarray[Any, np.dtype[Any]] | None = None,
) -> None:
    """Write one Record per row, byte for byte as the SageMaker SDK's writers do.

    Dense ``features`` go to a dense tensor typed by dtype (float32, float64, int -> Int32),
    sparse ones to ``values`` + ``keys`` + ``shape=[n_cols]``. A 1-d ``labels`` puts a
    scalar in ``label["values"]`` as the SDK does; a 2-d one (an extension) a vector.
    """
    is_sparse = scipy.sparse.issparse(features)
    n_rows, n_cols = _shape2(features)
    kind = _tensor_kind(features.dtype, "write_recordio_protobuf features")
    if not is_sparse:
        _check_int32(np.asarray(features), "write_recordio_protobuf features")
    label_kind = ""
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim not in (1, 2) or labels.shape[0] != n_rows:
            raise FormatError(
                f"write_recordio_protobuf: labels of shape {labels.shape} for {n_rows} rows; "
                "give one label (or one row of labels) per row."
            )
        label_kind = _tensor_kind(labels.dtype, "write_recordio_protobuf labels")
        _check_int32(labels, "write_recordio_protobuf labels")
    record = Record()
    if is_sparse:
        csr = scipy.sparse.csr_matrix(features)
        for i in range(n_rows):
            record.Clear()
            lo, hi = csr.indptr[i], csr.indptr[i + 1]
            tensor = getattr(record.features["values"], kind)
            tensor.values.extend(csr.data[lo:hi].tolist())
            tensor.keys.extend(csr.indices[lo:hi].astype(np.uint64).tolist())
            if labels is not None:
                _add_label(record, label_kind, labels[i])
            tensor.shape.extend([n_cols])
            stream.write(encode_recordio(record.SerializeToString()))
        return
    dense = np.asarray(features)
    for i in range(n_rows):
        record.Clear()
        getattr(record.features["values"], kind).values.extend(dense[i].tolist())
        if labels is not None:
            _add_label(record, label_kind, labels[i])
        stream.write(encode_recordio(record.SerializeToString()))


def _add_label(record: Any, kind: str, label: Any) -> None:
    getattr(record.label["values"], kind).values.extend(np.atleast_1d(label).tolist())


def _shape2(features: Any) -> tuple[int, int]:
    shape = tuple(features.shape)
    if len(shape) != 2:
        raise FormatError(f"write_recordio_protobuf needs a matrix; got shape {shape}.")
    return int(shape[0]), int(shape[1])


def _pick(mapping: Any, field: str, number: int, what: str) -> Any:
    """The Value under ``values`` (or the only key); None when the map is empty."""
    if "values" in mapping:
        return mapping["values"]
    if not mapping:
        return None
    keys = sorted(mapping)
    if len(keys) == 1:
        return mapping[keys[0]]
    raise FormatError(
        f"{what}, record {number}: {field} has keys {keys} and no 'values'. Put the row "
        f"under {field}['values'], the key SageMaker's algorithms read."
    )


def _tensor_of(value: Any, field: str, number: int, what: str) -> Any:
    kind = value.WhichOneof("value")
    if kind == "bytes":
        raise FormatError(
            f"{what}, record {number}: {field}['values'] is Bytes; the algorithms read "
            "Float32Tensor, Float64Tensor or Int32Tensor."
        )
    return None if kind is None else getattr(value, kind)


def records_to_batch(
    records: Iterable[Any],
    *,
    feature_dim: int | None = None,
    sparse: bool | None = False,
    label_size: int = 1,
    what: str = "the data",
    first_record: int = 1,
) -> Batch:
    """Decode Records (messages or their bytes) into one batch of float32 rows.

    Rows are dense unless ``sparse`` (``None``: CSR when some Record is sparse); sparse
    Records are widened to ``feature_dim`` (or their ``shape``). Labels come from
    ``label['values']`` unless ``label_size`` is 0.
    """
    rows = Rows("record")
    dim = feature_dim
    for offset, item in enumerate(records):
        number = first_record + offset
        record = decode_record(bytes(item)) if isinstance(item, bytes | bytearray) else item
        fmap = record.features
        # a missing key must not be read with []: that would add it to the map
        value = fmap["values"] if "values" in fmap else _pick(fmap, "features", number, what)
        tensor = None if value is None else _tensor_of(value, "features", number, what)
        if tensor is None:
            vals = np.empty(0, dtype=np.float32)
            keys = None
            shape: list[int] = []
        else:
            vals = np.asarray(tensor.values, dtype=np.float32)
            keys = np.asarray(tensor.keys, dtype=np.int64) if len(tensor.keys) else None
            shape = list(tensor.shape)
            if keys is None and shape and len(vals) != math.prod(shape):
                if len(vals):
                    raise FormatError(
                        f"{what}, record {number}: {len(vals)} dense values for shape {shape}. "
                        "Give keys for a sparse tensor, or as many values as the shape holds."
                    )
                # the SDK writes a sparse row of zeros as shape only, no keys or values
                keys = np.empty(0, dtype=np.int64)
        if keys is not None:
            if len(keys) != len(vals):
                raise FormatError(
                    f"{what}, record {number}: {len(keys)} keys for {len(vals)} values. A "
                    "sparse tensor needs one key per value."
                )
            row_dim = math.prod(shape) if shape else None
            if dim is None:
                if row_dim is None:
                    raise FormatError(
                        f"{what}, record {number}: a sparse tensor with no shape. Set its "
                        "shape to [feature_dim], or give the feature dimension."
                    )
                dim = row_dim
            if len(keys) and int(keys.max()) >= dim:
                raise FormatError(
                    f"{what}, record {number}: key {int(keys.max())} is outside the "
                    f"feature dimension {dim}. Keys are zero-based positions below it."
                )
        else:
            if dim is None:
                dim = len(vals)
            elif len(vals) != dim:
                raise FormatError(
                    f"{what}, record {number}: {len(vals)} dense values where "
                    f"{'the feature dimension is' if feature_dim else 'earlier records have'} "
                    f"{dim}. Every record needs the same number of features."
                )
        lab: list[float] | None = None
        if label_size:
            lmap = record.label
            label = lmap["values"] if "values" in lmap else _pick(lmap, "label", number, what)
            lt = None if label is None else _tensor_of(label, "label", number, what)
            # labels are short: a list is cheaper than an array per record
            lab = None if lt is None else list(lt.values)
        rows.add(number, vals, keys, lab)
    return rows.assemble(dim or 0, sparse=sparse, what=what, with_labels=label_size > 0)


def iter_protobuf_batches(
    stream: IO[bytes],
    *,
    rows_per_piece: int,
    feature_dim: int | None = None,
    sparse: bool = False,
    label_size: int = 1,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    what: str = "the data",
) -> Iterator[Batch]:
    """Batches of up to ``rows_per_piece`` rows from a RecordIO-protobuf stream."""
    pending: list[bytes] = []
    first = 1
    dim = feature_dim
    for payload in iter_recordio(stream, chunk_size=chunk_size, what=what):
        pending.append(payload)
        if len(pending) >= rows_per_piece:
            batch = records_to_batch(
                pending,
                feature_dim=dim,
                sparse=sparse,
                label_size=label_size,
                what=what,
                first_record=first,
            )
            dim = batch.feature_dim  # later pieces must agree with the first
            first += len(pending)
            pending = []
            yield batch
    if pending:
        yield records_to_batch(
            pending,
            feature_dim=dim,
            sparse=sparse,
            label_size=label_size,
            what=what,
            first_record=first,
        )


def parse_records(
    body: bytes,
    *,
    feature_dim: int | None = None,
    sparse: bool | None = None,
    what: str = "the request",
) -> Batch:
    """All Records of an in-memory RecordIO-protobuf body, in one batch."""
    payloads = list(iter_recordio(io.BytesIO(body), what=what))
    return records_to_batch(payloads, feature_dim=feature_dim, sparse=sparse, what=what)
