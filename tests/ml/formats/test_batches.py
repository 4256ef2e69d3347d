"""read_batches, read_all and parse_request: what every content type shares."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st

from fogbank.ml.formats import (
    Batch,
    FormatError,
    infer_feature_dim,
    parse_content_type,
    parse_request,
    read_all,
    read_batches,
    write_csv,
    write_instances,
    write_jsonlines,
    write_libsvm,
    write_parquet,
    write_recordio_protobuf,
)


def _body(mime: str, features: np.ndarray, labels: np.ndarray) -> bytes:
    if mime == "text/csv":
        return write_csv(features, labels)
    if mime == "text/libsvm":
        return write_libsvm(features, labels)
    if mime == "application/x-parquet":
        return write_parquet(features, labels)
    if mime == "application/jsonlines":
        return write_jsonlines(features)
    stream = io.BytesIO()
    write_recordio_protobuf(stream, features, labels)
    return stream.getvalue()


MIMES = [
    "text/csv",
    "text/libsvm",
    "application/x-recordio-protobuf",
    "application/x-parquet",
    "application/jsonlines",
]


@settings(max_examples=25, deadline=None)
@given(
    mime=st.sampled_from(MIMES),
    sizes=st.lists(st.integers(0, 9), min_size=1, max_size=4),
    batch_size=st.integers(1, 6),
    chunk_size=st.sampled_from([1, 6, 4096]),
)
def test_every_batch_has_batch_size_rows_but_the_last_in_every_format(
    mime: str, sizes: list[int], batch_size: int, chunk_size: int
) -> None:
    total = sum(sizes)
    features = np.arange(1, total * 3 + 1, dtype=np.float32).reshape(total, 3)
    labels = np.arange(total, dtype=np.float32)
    streams, start = [], 0
    for size in sizes:
        streams.append(
            io.BytesIO(_body(mime, features[start : start + size], labels[start : start + size]))
        )
        start += size
    ct = parse_content_type(mime)
    batches = list(
        read_batches(streams, ct, batch_size=batch_size, feature_dim=3, chunk_size=chunk_size)
    )
    assert [len(b) for b in batches] == [batch_size] * (total // batch_size) + (
        [total % batch_size] if total % batch_size else []
    )
    if total:
        got = np.concatenate([b.features for b in batches])
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, features)


def test_read_all_of_a_file_channel(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(b"1,2,3\n")
    (tmp_path / "b.csv").write_bytes(b"0,4,5\n")
    with (tmp_path / "a.csv").open("rb") as a, (tmp_path / "b.csv").open("rb") as b:
        batch = read_all([a, b], parse_content_type("csv"))
    assert isinstance(batch, Batch) and len(batch) == 2
    np.testing.assert_array_equal(batch.features, [[2, 3], [4, 5]])


def test_errors_name_the_file_of_the_stream(tmp_path: Path) -> None:
    path = tmp_path / "part-7.csv"
    path.write_bytes(b"1,2\n1,two\n")
    with path.open("rb") as stream, pytest.raises(FormatError) as err:
        read_all([stream], parse_content_type("csv"), source="channel 'train'")
    assert re.search(
        r"channel 'train', stream 1 \(.*part-7\.csv\), line 2, column 2", err.value.message
    )


def test_a_feature_dim_that_the_rows_do_not_have_is_refused() -> None:
    with pytest.raises(FormatError, match="rows with 2 features where feature_dim is 5"):
        list(
            read_batches(
                [io.BytesIO(b"1,2,3\n")], parse_content_type("csv"), batch_size=1, feature_dim=5
            )
        )


def test_sparse_true_gives_csr_for_sparse_formats_and_dense_for_csv() -> None:
    libsvm = read_all([io.BytesIO(b"1 0:1\n")], parse_content_type("libsvm"), sparse=True)
    csv = read_all([io.BytesIO(b"1,2\n")], parse_content_type("csv"), sparse=True)
    assert isinstance(libsvm.features, scipy.sparse.csr_matrix)
    assert isinstance(csv.features, np.ndarray)


def test_batch_size_below_one_is_refused() -> None:
    with pytest.raises(FormatError, match="batch_size"):
        list(read_batches([], parse_content_type("csv"), batch_size=0))


def test_empty_channel_reads_as_an_empty_batch() -> None:
    batch = read_all([io.BytesIO(b"")], parse_content_type("csv"), feature_dim=4)
    assert batch.features.shape == (0, 4) and batch.labels is not None and len(batch.labels) == 0


def test_infer_feature_dim_reads_libsvm_through() -> None:
    assert infer_feature_dim([io.BytesIO(b"1 3:1\n0 9:2\n")], parse_content_type("libsvm")) == 10


def test_parse_request_csv_has_no_label_column() -> None:
    got = parse_request(b"1,2,3\n4,5,6\n", parse_content_type("text/csv"))
    np.testing.assert_array_equal(got, [[1, 2, 3], [4, 5, 6]])


def test_parse_request_reads_every_inference_content_type() -> None:
    features = np.array([[1, 0, 2], [0, 3, 0]], dtype=np.float32)
    stream = io.BytesIO()
    write_recordio_protobuf(stream, features)
    bodies = {
        "application/json": write_instances(features),
        "application/jsonlines": write_jsonlines(features),
        "application/x-recordio-protobuf": stream.getvalue(),
        "text/csv": write_csv(features),
    }
    for mime, body in bodies.items():
        np.testing.assert_array_equal(parse_request(body, parse_content_type(mime)), features)
    libsvm = parse_request(
        write_libsvm(features, np.zeros(2)), parse_content_type("libsvm"), feature_dim=3
    )
    np.testing.assert_array_equal(libsvm.toarray(), features)


def test_parse_request_sparse_recordio_gives_csr() -> None:
    stream = io.BytesIO()
    write_recordio_protobuf(stream, scipy.sparse.csr_matrix(np.eye(3, dtype=np.float32)))
    got = parse_request(stream.getvalue(), parse_content_type("recordio-protobuf"))
    assert isinstance(got, scipy.sparse.csr_matrix) and got.shape == (3, 3)


def test_parse_request_errors_name_row_and_column() -> None:
    with pytest.raises(FormatError, match=r"the request, line 2, column 3: 'x' is not a number"):
        parse_request(b"1,2,3\n4,5,x\n", parse_content_type("text/csv"))
    with pytest.raises(FormatError, match="body is empty"):
        parse_request(b"  ", parse_content_type("text/csv"))
    with pytest.raises(FormatError, match="not an inference request type"):
        parse_request(b"x", parse_content_type("parquet"))


@pytest.mark.parametrize("mime", MIMES)
def test_arrays_read_are_writable_in_every_format(mime: str) -> None:
    features = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
    body = _body(mime, features, np.array([1, 0], dtype=np.float32))
    batch = read_all([io.BytesIO(body)], parse_content_type(mime), feature_dim=3)
    arrays = [batch.features, batch.labels]
    for array in arrays:
        if isinstance(array, np.ndarray):
            assert array.flags.writeable and array.dtype == np.float32
