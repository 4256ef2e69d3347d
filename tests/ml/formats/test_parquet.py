"""application/x-parquet: label first, weights, non-seekable streams, column errors."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fogbank.ml.formats import (
    FormatError,
    parse_content_type,
    read_all,
    read_batches,
    write_parquet,
)
from tests.ml.formats.strategies import dense, labels_for

PARQUET = parse_content_type("application/x-parquet")


class _Pipe(io.RawIOBase):
    """A stream that cannot seek, as a Pipe-mode FIFO."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@settings(max_examples=20, deadline=None)
@given(data=st.data(), features=dense())
def test_parquet_round_trips_label_first(
    data: st.DataObject, features: np.ndarray[Any, Any]
) -> None:
    labels = data.draw(labels_for(len(features)))
    batch = read_all([io.BytesIO(write_parquet(features, labels))], PARQUET)
    np.testing.assert_array_equal(batch.features, features)
    np.testing.assert_array_equal(batch.labels, labels)


def test_parquet_from_a_non_seekable_stream_in_exact_batches() -> None:
    features = np.arange(30, dtype=np.float32).reshape(10, 3)
    body = write_parquet(features, np.ones(10, np.float32))
    batches = list(read_batches([_Pipe(body), io.BytesIO(body)], PARQUET, batch_size=4))
    assert [len(b) for b in batches] == [4, 4, 4, 4, 4]
    np.testing.assert_array_equal(np.concatenate([b.features for b in batches])[:10], features)


def test_parquet_weights_label_size_and_int_columns() -> None:
    table = pa.table({"y": pa.array([1, 0], pa.int64()), "w": [0.5, 2.0], "x": [3.0, None]})
    out = io.BytesIO()
    pq.write_table(table, out)
    batch = read_all([io.BytesIO(out.getvalue())], PARQUET, weights=True)
    np.testing.assert_array_equal(batch.labels, [1, 0])
    np.testing.assert_array_equal(batch.weights, [0.5, 2])
    assert batch.features[0, 0] == 3 and np.isnan(batch.features[1, 0])
    unlabelled = read_all([io.BytesIO(out.getvalue())], parse_content_type("parquet;label_size=0"))
    assert unlabelled.labels is None and unlabelled.features.shape == (2, 3)


def test_non_numeric_parquet_column_error_names_it() -> None:
    out = io.BytesIO()
    pq.write_table(pa.table({"y": [1.0], "city": ["Paris"]}), out)
    with pytest.raises(FormatError, match=r"column 2 \('city'\): type string is not numeric"):
        read_all([io.BytesIO(out.getvalue())], PARQUET)


def test_non_parquet_bytes_are_a_format_error() -> None:
    with pytest.raises(FormatError, match="not a Parquet file"):
        read_all([io.BytesIO(b"1,2,3\n")], PARQUET)
