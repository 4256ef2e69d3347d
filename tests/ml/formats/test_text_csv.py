"""text/csv: round trips, labels and weights, chunked reading, errors that name the cell."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fogbank.ml.formats import FormatError, parse_content_type, read_all, read_batches, write_csv
from tests.ml.formats.strategies import dense, labels_for

CSV = parse_content_type("text/csv")


@settings(max_examples=40, deadline=None)
@given(data=st.data(), features=dense(), chunk_size=st.sampled_from([1, 5, 64, 1 << 20]))
def test_csv_round_trips_features_and_labels_exactly(
    data: st.DataObject, features: np.ndarray[Any, Any], chunk_size: int
) -> None:
    labels = data.draw(labels_for(len(features)))
    batch = read_all([io.BytesIO(write_csv(features, labels))], CSV, chunk_size=chunk_size)
    np.testing.assert_array_equal(batch.features, features)
    assert batch.labels is not None
    np.testing.assert_array_equal(batch.labels, labels)
    assert batch.features.dtype == np.float32 and batch.weights is None


@settings(max_examples=20, deadline=None)
@given(features=dense())
def test_csv_label_size_zero_reads_every_column_as_a_feature(
    features: np.ndarray[Any, Any],
) -> None:
    batch = read_all([io.BytesIO(write_csv(features))], parse_content_type("csv;label_size=0"))
    np.testing.assert_array_equal(batch.features, features)
    assert batch.labels is None


@settings(max_examples=20, deadline=None)
@given(data=st.data(), features=dense())
def test_csv_label_size_two_gives_two_label_columns(
    data: st.DataObject, features: np.ndarray[Any, Any]
) -> None:
    labels = data.draw(labels_for(len(features), 2))
    batch = read_all(
        [io.BytesIO(write_csv(features, labels))], parse_content_type("csv;label_size=2")
    )
    assert batch.labels is not None and batch.labels.shape == (len(features), 2)
    np.testing.assert_array_equal(batch.labels, labels)
    np.testing.assert_array_equal(batch.features, features)


def test_csv_weights_are_the_second_column() -> None:
    body = b"1,0.5,10,11\n0,2,20,21\n"
    batch = read_all([io.BytesIO(body)], CSV, weights=True)
    np.testing.assert_array_equal(batch.labels, [1, 0])
    np.testing.assert_array_equal(batch.weights, [0.5, 2])
    np.testing.assert_array_equal(batch.features, [[10, 11], [20, 21]])


def test_csv_weights_without_a_label_column_are_refused() -> None:
    with pytest.raises(FormatError, match="label column"):
        read_all([io.BytesIO(b"1,2\n")], parse_content_type("csv;label_size=0"), weights=True)


@settings(max_examples=30, deadline=None)
@given(
    features=dense(rows=st.integers(1, 30)),
    batch_size=st.integers(1, 8),
    chunk_size=st.sampled_from([1, 3, 17, 4096]),
    cut=st.integers(0, 30),
)
def test_csv_batches_are_exact_across_chunk_and_stream_boundaries(
    features: np.ndarray[Any, Any], batch_size: int, chunk_size: int, cut: int
) -> None:
    cut = min(cut, len(features))
    labels = np.arange(len(features), dtype=np.float32)
    first = write_csv(features[:cut], labels[:cut])
    # the first stream has no final newline: the end of a stream ends its row
    streams = [io.BytesIO(first.rstrip(b"\n")), io.BytesIO(write_csv(features[cut:], labels[cut:]))]
    batches = list(read_batches(streams, CSV, batch_size=batch_size, chunk_size=chunk_size))
    assert all(len(b) == batch_size for b in batches[:-1])
    assert 0 < len(batches[-1]) <= batch_size
    np.testing.assert_array_equal(np.concatenate([b.features for b in batches]), features)
    np.testing.assert_array_equal(np.concatenate([b.labels for b in batches]), labels)


def test_csv_empty_cells_and_nan_read_as_missing() -> None:
    batch = read_all([io.BytesIO(b"1,,2\n0,nan,NA\n")], CSV)
    assert np.isnan(batch.features[0, 0]) and batch.features[0, 1] == 2
    assert np.isnan(batch.features[1]).all()


def test_csv_crlf_line_ends_and_blank_lines_are_accepted() -> None:
    batch = read_all([io.BytesIO(b"1,2,3\r\n\r\n\n0,4,5\r\n")], CSV)
    np.testing.assert_array_equal(batch.features, [[2, 3], [4, 5]])


def test_csv_non_numeric_cell_error_names_source_stream_line_and_column() -> None:
    body = b"1,2,3\n" * 50 + b"0,4,oops\n"
    with pytest.raises(FormatError) as err:
        list(
            read_batches(
                [io.BytesIO(b"1,2,3\n"), io.BytesIO(body)],
                CSV,
                batch_size=10,
                chunk_size=16,
                source="channel 'train'",
            )
        )
    message = err.value.message
    assert "channel 'train', stream 2, line 51, column 3: 'oops' is not a number" in message
    assert "label_size=0" in message


def test_csv_header_row_error_says_to_remove_it() -> None:
    with pytest.raises(FormatError, match=r"line 1, column 1: .label.*header row"):
        read_all([io.BytesIO(b"label,x\n1,2\n")], CSV)


def test_csv_ragged_row_error_names_the_line() -> None:
    with pytest.raises(FormatError, match=r"line 3: 2 columns where the first row has 3"):
        read_all([io.BytesIO(b"1,2,3\n4,5,6\n7,8\n")], CSV)


def test_csv_streams_with_different_widths_are_refused() -> None:
    with pytest.raises(FormatError, match=r"stream 2.*columns"):
        read_all([io.BytesIO(b"1,2,3\n"), io.BytesIO(b"1,2\n")], CSV)


def test_csv_with_only_a_label_column_is_refused() -> None:
    with pytest.raises(FormatError, match="no features"):
        read_all([io.BytesIO(b"1\n2\n")], CSV)


def test_csv_reads_from_a_fifo_as_pipe_mode_does(tmp_path: Path) -> None:
    fifo = tmp_path / "train_0"
    os.mkfifo(fifo)
    features = np.arange(3000, dtype=np.float32).reshape(1000, 3)
    body = write_csv(features, np.ones(1000, dtype=np.float32))

    def feed() -> None:
        with fifo.open("wb") as pipe:
            for start in range(0, len(body), 777):
                pipe.write(body[start : start + 777])

    writer = threading.Thread(target=feed)
    writer.start()
    with fifo.open("rb") as stream:
        batches = list(read_batches([stream], CSV, batch_size=256, chunk_size=1000))
    writer.join()
    assert [len(b) for b in batches] == [256, 256, 256, 232]
    np.testing.assert_array_equal(np.concatenate([b.features for b in batches]), features)


def test_write_csv_puts_labels_first_and_no_header() -> None:
    body = write_csv(np.array([[1.5, 2]], dtype=np.float32), np.array([0], dtype=np.float32))
    assert body == b"0,1.5,2\n"


def test_empty_csv_reads_as_no_rows() -> None:
    batch = read_all([io.BytesIO(b"")], CSV)
    assert len(batch) == 0
    assert list(read_batches([io.BytesIO(b"\n\n")], CSV, batch_size=3)) == []
