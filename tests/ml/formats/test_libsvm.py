"""text/libsvm: zero-based round trips, weights, widening, errors that name the item."""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st

from fogbank.ml.formats import (
    FormatError,
    parse_content_type,
    read_all,
    read_batches,
    write_libsvm,
)
from fogbank.ml.formats.libsvm import _parse_lines, _parse_vectorized
from tests.ml.formats.strategies import labels_for, sparse

LIBSVM = parse_content_type("text/libsvm")


@settings(max_examples=40, deadline=None)
@given(data=st.data(), matrix=sparse(), chunk_size=st.sampled_from([1, 7, 1 << 16]))
def test_libsvm_round_trips_sparse_rows_labels_and_weights(
    data: st.DataObject, matrix: scipy.sparse.csr_matrix, chunk_size: int
) -> None:
    n, d = matrix.shape
    labels = data.draw(labels_for(n))
    weights = data.draw(labels_for(n))
    body = write_libsvm(matrix, labels, weights)
    batch = read_all(
        [io.BytesIO(body)], LIBSVM, feature_dim=d, sparse=True, weights=True, chunk_size=chunk_size
    )
    assert isinstance(batch.features, scipy.sparse.csr_matrix)
    np.testing.assert_array_equal(batch.features.toarray(), matrix.toarray())
    np.testing.assert_array_equal(batch.labels, labels)
    np.testing.assert_array_equal(batch.weights, weights)


def test_libsvm_indices_are_zero_based_columns() -> None:
    batch = read_all([io.BytesIO(b"1 0:5 2:7\n")], LIBSVM)
    np.testing.assert_array_equal(batch.features, [[5, 0, 7]])


def test_one_based_libsvm_reads_with_an_empty_column_zero() -> None:
    batch = read_all([io.BytesIO(b"1 1:5 3:7\n0 2:1\n")], LIBSVM)
    np.testing.assert_array_equal(batch.features, [[0, 5, 0, 7], [0, 0, 1, 0]])


def test_read_all_widens_every_row_to_the_widest() -> None:
    streams = [io.BytesIO(b"1 0:1\n"), io.BytesIO(b"0 5:2\n")]
    batch = read_all(streams, LIBSVM, sparse=True, chunk_size=3)
    assert batch.features.shape == (2, 6)


def test_label_weight_form_gives_weights_only_when_asked() -> None:
    body = b"1:0.5 0:1\n0 1:1\n"
    batch = read_all([io.BytesIO(body)], LIBSVM, weights=True)
    np.testing.assert_array_equal(batch.weights, [0.5, 1.0])
    assert read_all([io.BytesIO(body)], LIBSVM).weights is None


def test_qid_items_blank_lines_and_comments_are_skipped() -> None:
    body = b"# a comment\n\n1 qid:3 0:2 # trailing\n"
    batch = read_all([io.BytesIO(body)], LIBSVM)
    np.testing.assert_array_equal(batch.features, [[2]])
    np.testing.assert_array_equal(batch.labels, [1])


def test_label_size_zero_reads_features_only() -> None:
    batch = read_all([io.BytesIO(b"0:1 1:2\n")], parse_content_type("libsvm;label_size=0"))
    assert batch.labels is None
    np.testing.assert_array_equal(batch.features, [[1, 2]])


def test_read_batches_needs_the_feature_dim() -> None:
    with pytest.raises(FormatError, match="feature_dim"):
        list(read_batches([io.BytesIO(b"1 0:1\n")], LIBSVM, batch_size=2))


@settings(max_examples=20, deadline=None)
@given(matrix=sparse(max_cols=6), batch_size=st.integers(1, 4))
def test_libsvm_batches_are_dense_and_exact_with_a_feature_dim(
    matrix: scipy.sparse.csr_matrix, batch_size: int
) -> None:
    body = write_libsvm(matrix, np.zeros(matrix.shape[0], np.float32))
    batches = list(
        read_batches(
            [io.BytesIO(body)], LIBSVM, batch_size=batch_size, feature_dim=10, chunk_size=5
        )
    )
    assert all(len(b) == batch_size for b in batches[:-1])
    assert all(isinstance(b.features, np.ndarray) for b in batches)
    np.testing.assert_array_equal(
        np.concatenate([b.features for b in batches])[:, : matrix.shape[1]], matrix.toarray()
    )


def test_index_at_or_over_feature_dim_error_names_line_and_item() -> None:
    with pytest.raises(FormatError, match=r"line 2, item 3: index 4 is out of range"):
        read_all([io.BytesIO(b"1 0:1\n1 0:1 4:1\n")], LIBSVM, feature_dim=4)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"1 0:1\nyes 0:1\n", r"line 2, item 1: label 'yes' is not a number"),
        (b"1 0:1 2\n", r"line 1, item 3: '2' is not index:value"),
        (b"1 a:1\n", r"line 1, item 2: 'a:1' is not index:value"),
        (b"1 -1:1\n", r"line 1, item 2: index -1 is out of range"),
    ],
)
def test_bad_libsvm_item_error_names_line_and_item(body: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        read_all([io.BytesIO(body)], LIBSVM, source="channel 'train'")


def test_libsvm_multi_label_is_refused() -> None:
    with pytest.raises(FormatError, match="one label per line"):
        read_all([io.BytesIO(b"1 0:1\n")], parse_content_type("libsvm;label_size=2"))


def test_write_libsvm_writes_zero_based_stored_entries() -> None:
    body = write_libsvm(np.array([[0, 1.5, 0, 2]], np.float32), np.array([1], np.float32))
    assert body == b"1 1:1.5 3:2\n"


LINE = st.tuples(
    st.sampled_from(["1", "0", "-2.5", "1:0.5", "3:2"]),
    st.lists(
        st.tuples(st.integers(0, 12), st.sampled_from(["1", "-0.25", "1e3", "7"])), max_size=4
    ),
    st.sampled_from([" ", "\t", "  "]),
    st.sampled_from(["\n", "\r\n", " \n", "\n\n"]),
).map(lambda t: t[0] + "".join(f"{t[2]}{i}:{v}" for i, v in t[1]) + t[3])


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(LINE, max_size=8),
    weights=st.booleans(),
    label_size=st.sampled_from([0, 1]),
)
def test_vectorized_libsvm_parser_agrees_with_the_line_parser(
    lines: list[str], weights: bool, label_size: int
) -> None:
    piece = "".join(lines).encode()
    if label_size == 0:
        piece = b"\n".join(b" ".join(line.split()[1:]) for line in piece.split(b"\n"))
    fast = _parse_vectorized(piece, label_size, weights and label_size > 0, None)
    if fast is None:
        return  # a form the fast path leaves to the line parser
    slow = _parse_lines(piece, label_size, weights and label_size > 0, None, "the data", 1)
    assert fast.features.shape == slow.features.shape
    np.testing.assert_array_equal(fast.features.toarray(), slow.features.toarray())
    for got, want in ((fast.labels, slow.labels), (fast.weights, slow.weights)):
        assert (got is None) == (want is None)
        if got is not None:
            np.testing.assert_array_equal(got, want)


def test_weights_asked_for_lines_without_one_read_as_weight_one() -> None:
    batch = read_all([io.BytesIO(b"1:2 0:1\n0 0:1\n")], LIBSVM, weights=True)
    np.testing.assert_array_equal(batch.weights, [2, 1])
