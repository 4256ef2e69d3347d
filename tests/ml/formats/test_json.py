"""application/json instances and application/jsonlines: forms, round trips, errors."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st

from fogbank.ml.formats import (
    FormatError,
    parse_content_type,
    parse_instances,
    parse_jsonlines,
    read_all,
    read_batches,
    write_instances,
    write_jsonlines,
)
from tests.ml.formats.strategies import dense, sparse

JSONLINES = parse_content_type("application/jsonlines")


@settings(max_examples=30, deadline=None)
@given(features=dense())
def test_dense_instances_round_trip(features: np.ndarray[Any, Any]) -> None:
    parsed = parse_instances(write_instances(features))
    assert isinstance(parsed, np.ndarray) and parsed.dtype == np.float32
    np.testing.assert_array_equal(parsed, features)


@settings(max_examples=30, deadline=None)
@given(matrix=sparse())
def test_sparse_instances_round_trip_as_csr(matrix: scipy.sparse.csr_matrix) -> None:
    parsed = parse_instances(write_instances(matrix))
    assert isinstance(parsed, scipy.sparse.csr_matrix) and parsed.shape == matrix.shape
    np.testing.assert_array_equal(parsed.toarray(), matrix.toarray())


@settings(max_examples=30, deadline=None)
@given(features=dense(), chunk_size=st.sampled_from([1, 9, 1 << 16]))
def test_jsonlines_round_trip_through_tiny_chunks(
    features: np.ndarray[Any, Any], chunk_size: int
) -> None:
    np.testing.assert_array_equal(parse_jsonlines(write_jsonlines(features)), features)
    batch = read_all([io.BytesIO(write_jsonlines(features))], JSONLINES, chunk_size=chunk_size)
    np.testing.assert_array_equal(batch.features, features)


@settings(max_examples=20, deadline=None)
@given(matrix=sparse())
def test_sparse_jsonlines_round_trip(matrix: scipy.sparse.csr_matrix) -> None:
    parsed = parse_jsonlines(write_jsonlines(matrix))
    np.testing.assert_array_equal(parsed.toarray(), matrix.toarray())


def test_mixed_dense_and_sparse_instances_give_csr() -> None:
    body = {
        "instances": [
            {"features": [1.5, 16.0]},
            {"data": {"features": {"values": [3.0], "keys": [1], "shape": [2]}}},
        ]
    }
    parsed = parse_instances(json.dumps(body).encode())
    assert isinstance(parsed, scipy.sparse.csr_matrix)
    np.testing.assert_array_equal(parsed.toarray(), [[1.5, 16], [0, 3]])


def test_bare_lists_of_instances_and_of_numbers_are_accepted() -> None:
    np.testing.assert_array_equal(parse_instances(b"[[1, 2], [3, 4]]"), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(parse_instances(b"[1, 2]"), [[1, 2]])
    np.testing.assert_array_equal(parse_instances(b'[{"features": [1]}]'), [[1]])


def test_jsonlines_lines_may_be_bare_lists_and_blank_lines_are_skipped() -> None:
    np.testing.assert_array_equal(
        parse_jsonlines(b'[1, 2]\n\n{"features": [3, 4]}\n'), [[1, 2], [3, 4]]
    )


def test_jsonlines_labels_are_read_for_training() -> None:
    body = (
        b'{"features": [1, 2], "label": 1}\n'
        b'{"data": {"features": {"values": [3, 4]}, "label": {"values": [0]}}}\n'
    )
    batch = read_all([io.BytesIO(body)], JSONLINES)
    np.testing.assert_array_equal(batch.labels, [1, 0])
    assert read_all([io.BytesIO(body)], parse_content_type("jsonlines;label_size=0")).labels is None


def test_jsonlines_batches_are_exact() -> None:
    body = write_jsonlines(np.arange(20, dtype=np.float32).reshape(10, 2))
    batches = list(read_batches([io.BytesIO(body)], JSONLINES, batch_size=3, chunk_size=4))
    assert [len(b) for b in batches] == [3, 3, 3, 1]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"instances": [{"features": [1, 2]}, {"features": [1, "x"]}]}',
            r"instance 2, features item 2: \"x\" is not a number",
        ),
        (
            b'{"instances": [{"features": [1, 2]}, {"features": [1]}]}',
            r"instance 2: 1 features where the rows before have 2",
        ),
        (b'{"instances": [{"nope": 1}]}', r"instance 1: an object with neither"),
        (b'{"rows": []}', r'no "instances" list'),
        (b'{"instances": [', r"line 1 column \d+: not valid JSON"),
        (
            b'{"instances": [{"data": {"features": {"values": [1], "keys": [5], "shape": [3]}}}]}',
            r"instance 1: key 5 is outside the feature dimension 3",
        ),
        (
            b'{"instances": [{"data": {"features": {"values": [1, 2], "keys": [0]}}}]}',
            r"instance 1: 1 keys for 2 values",
        ),
    ],
)
def test_bad_instances_error_names_the_instance(body: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        parse_instances(body)


def test_bad_jsonlines_error_names_the_line() -> None:
    with pytest.raises(FormatError, match=r"line 3: not valid JSON"):
        parse_jsonlines(b"[1]\n\n[2\n")
    with pytest.raises(FormatError, match=r"line 2, the instance item 1: true is not a number"):
        parse_jsonlines(b"[1]\n[true]\n")


def test_feature_dim_fixes_the_width_of_sparse_instances() -> None:
    body = b'{"instances": [{"data": {"features": {"values": [1], "keys": [2]}}}]}'
    assert parse_instances(body).shape == (1, 3)
    assert parse_instances(body, feature_dim=10).shape == (1, 10)
    with pytest.raises(FormatError, match="feature dimension is 4"):
        parse_instances(b'{"instances": [[1, 2]]}', feature_dim=4)
