"""``application/x-parquet``, as XGBoost's SageMaker container reads it.

This module owns reading Parquet into float32 batches (record batch by record batch,
through pyarrow) and writing it. Columns in file order: ``label_size`` labels (the
first column by default), the instance weight when weights are asked for, then the
features; column names are not used. Nulls read as NaN (XGBoost's missing value).

Parquet keeps its index at the end of the file, so a stream that cannot seek (a
Pipe-mode FIFO) is first read whole into memory; a seekable one is read batch by batch.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fogbank.ml.formats.base import Batch, FloatArray, FormatError


def _seekable(stream: IO[bytes]) -> IO[bytes]:
    try:
        if stream.seekable():
            return stream
    except (AttributeError, OSError, ValueError):
        pass
    return io.BytesIO(stream.read())


def iter_parquet(
    stream: IO[bytes],
    *,
    rows_per_piece: int = 65536,
    label_size: int = 1,
    weights: bool = False,
    what: str = "the data",
) -> Iterator[Batch]:
    """Batches of up to ``rows_per_piece`` rows, one per Parquet record batch or less."""
    if weights and not label_size:
        raise FormatError(
            f"{what}: instance weights follow the label column; label_size=0 has none."
        )
    try:
        reader = pq.ParquetFile(_seekable(stream))
    except (pa.ArrowInvalid, OSError) as exc:
        raise FormatError(
            f"{what}: not a Parquet file ({exc}). Check the channel's content type."
        ) from None
    schema = reader.schema_arrow
    width = label_size + int(weights)
    if len(schema) <= width:
        raise FormatError(
            f"{what}: {len(schema)} column(s) leave no features after {label_size} label "
            f"column(s){' and a weight column' if weights else ''}."
        )
    for field in schema:
        if not (
            pa.types.is_integer(field.type)
            or pa.types.is_floating(field.type)
            or pa.types.is_boolean(field.type)
            or pa.types.is_decimal(field.type)
        ):
            raise FormatError(
                f"{what}, column {schema.get_field_index(field.name) + 1} ({field.name!r}): "
                f"type {field.type} is not numeric. Every column must hold numbers."
            )
    for record_batch in reader.iter_batches(batch_size=rows_per_piece):
        yield _split(record_batch, label_size, weights)


def _column(array: Any) -> FloatArray:
    # a copy: pyarrow's zero-copy views are read-only
    return np.array(array.cast(pa.float32()).to_numpy(zero_copy_only=False), dtype=np.float32)


def _split(record_batch: pa.RecordBatch, label_size: int, weights: bool) -> Batch:
    columns = record_batch.columns
    n = record_batch.num_rows
    w = int(weights)
    features = np.empty((n, len(columns) - label_size - w), dtype=np.float32)
    for j, column in enumerate(columns[label_size + w :]):
        features[:, j] = _column(column)
    labels: FloatArray | None = None
    if label_size == 1:
        labels = _column(columns[0])
    elif label_size > 1:
        labels = np.stack([_column(c) for c in columns[:label_size]], axis=1)
    return Batch(features, labels, _column(columns[label_size]) if w else None)


def write_parquet(
    features: np.ndarray[Any, np.dtype[Any]],
    labels: np.ndarray[Any, np.dtype[Any]] | None = None,
) -> bytes:
    """A Parquet file: the label column (if any) first, then one column per feature."""
    feats = np.asarray(features, dtype=np.float32)
    arrays: list[Any] = []
    names: list[str] = []
    if labels is not None:
        lab = np.asarray(labels, dtype=np.float32)
        lab = lab[:, None] if lab.ndim == 1 else lab
        for j in range(lab.shape[1]):
            arrays.append(pa.array(lab[:, j]))
            names.append(f"label_{j}" if lab.shape[1] > 1 else "label")
    for j in range(feats.shape[1]):
        arrays.append(pa.array(feats[:, j]))
        names.append(f"f{j}")
    out = io.BytesIO()
    pq.write_table(pa.table(arrays, names=names), out)
    return out.getvalue()
