"""``application/jsonlines``: one instance a line (see :mod:`.instances` for the forms).

This module owns reading JSON lines, from a request body or from a training stream in
chunks, and writing them. A line is an instance object or a bare list of numbers;
blank lines are skipped; errors name the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

import numpy as np
import scipy.sparse

from fogbank.ml.formats.base import (
    DEFAULT_CHUNK_SIZE,
    Batch,
    FormatError,
    read_lines,
)
from fogbank.ml.formats.instances import InstanceRows, _split, instance_object


def _add_lines(rows: InstanceRows, piece: bytes, first_line: int, what: str) -> None:
    for offset, raw in enumerate(piece.split(b"\n")):
        if not raw.strip():
            continue
        number = first_line + offset
        try:
            obj = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(
                f"{what}, line {number}: not valid JSON ({exc}). Each line is one instance: "
                '[1.5, 16.0] or {"features": [1.5, 16.0]}.'
            ) from None
        rows.add(obj, number)


def read_jsonlines(
    body: bytes,
    *,
    feature_dim: int | None = None,
    sparse: bool | None = None,
    with_labels: bool = True,
    what: str = "the request",
) -> Batch:
    """Every line of an in-memory body, as one batch."""
    rows = InstanceRows("line", feature_dim, what)
    _add_lines(rows, body, 1, what)
    return rows.batch(sparse=sparse, with_labels=with_labels)


def parse_jsonlines(
    body: bytes, *, feature_dim: int | None = None, what: str = "the request"
) -> np.ndarray[Any, np.dtype[np.float32]] | scipy.sparse.csr_matrix:
    """The features of a JSON lines body: dense, or CSR when some line is sparse."""
    return read_jsonlines(body, feature_dim=feature_dim, with_labels=False, what=what).features


def iter_jsonlines(
    stream: IO[bytes],
    *,
    feature_dim: int | None = None,
    sparse: bool = False,
    label_size: int = 1,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    what: str = "the data",
) -> Iterator[Batch]:
    """Batches of whole lines as the stream's chunks give them, all of one width."""
    dim = feature_dim
    line = 0
    for piece in read_lines(stream, chunk_size):
        rows = InstanceRows("line", dim, what)
        rows.fixed = feature_dim is not None
        _add_lines(rows, piece, line + 1, what)
        line += piece.count(b"\n")
        if len(rows.rows):
            batch = rows.batch(sparse=sparse, with_labels=label_size > 0)
            dim = batch.feature_dim
            yield batch


def write_jsonlines(
    features: np.ndarray[Any, np.dtype[Any]] | scipy.sparse.spmatrix | scipy.sparse.sparray,
) -> bytes:
    """One instance object a line (sparse rows in the keys + shape form)."""
    return b"".join(json.dumps(instance_object(row)).encode() + b"\n" for row in _split(features))
