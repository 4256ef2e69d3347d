"""Reading a channel's streams as batches, whatever its content type.

This module owns the entry points the algorithms use: :func:`read_batches` (fixed-size
batches, streamed, for Pipe mode and large channels), :func:`read_all` (one batch, for
File-mode algorithms such as XGBoost) and :func:`parse_request` (an inference request
body). It picks the format module for a content type and re-cuts what the format gives
(pieces of whatever size its chunks hold) into batches of exactly ``batch_size`` rows.
The shared names (:class:`FormatError`, :class:`ContentType`, :class:`Batch`) live in
:mod:`.base` and are re-exported here.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import IO, Any

import numpy as np
import scipy.sparse

from fogbank.ml.formats import instances, jsonlines, libsvm, parquet, protobuf, text_csv
from fogbank.ml.formats.base import (
    DEFAULT_CHUNK_SIZE,
    JSON,
    JSONLINES,
    PARQUET,
    RECORDIO_PROTOBUF,
    TEXT_CSV,
    TEXT_LIBSVM,
    Batch,
    ContentType,
    Features,
    FormatError,
    concat,
    parse_content_type,
    where,
    widen,
)

__all__ = [
    "Batch",
    "ContentType",
    "FormatError",
    "infer_feature_dim",
    "parse_content_type",
    "parse_request",
    "read_all",
    "read_batches",
]

# Rows decoded per piece for the record-at-a-time formats when batches are big: bounds
# the Python objects alive at once without making tiny numpy arrays.
_MAX_PIECE_ROWS = 65536


def _pieces(
    streams: Iterable[IO[bytes]],
    content_type: ContentType,
    *,
    feature_dim: int | None,
    sparse: bool,
    weights: bool,
    source: str,
    chunk_size: int,
    piece_rows: int,
) -> Iterator[tuple[Batch, str]]:
    """Each stream's rows in pieces of any size, with words naming the stream."""
    mime = content_type.mime
    label_size = content_type.label_size
    if weights and mime not in (TEXT_CSV, TEXT_LIBSVM, PARQUET):
        raise FormatError(
            f"{where(source)}: instance weights are read from text/csv (the column after the "
            f"label), text/libsvm (label:weight) or Parquet, not {mime}."
        )
    csv_reader = (
        text_csv.CsvReader(label_size=label_size, weights=weights, chunk_size=chunk_size)
        if mime == TEXT_CSV
        else None
    )
    for index, stream in enumerate(streams):
        what = where(source, stream, index)
        pieces: Iterator[Batch]
        if csv_reader is not None:
            pieces = csv_reader.read(stream, what)
        elif mime == TEXT_LIBSVM:
            pieces = libsvm.iter_libsvm(
                stream,
                label_size=label_size,
                weights=weights,
                feature_dim=feature_dim,
                chunk_size=chunk_size,
                what=what,
            )
        elif mime == RECORDIO_PROTOBUF:
            pieces = protobuf.iter_protobuf_batches(
                stream,
                rows_per_piece=piece_rows,
                feature_dim=feature_dim,
                sparse=sparse,
                label_size=label_size,
                chunk_size=chunk_size,
                what=what,
            )
        elif mime == PARQUET:
            pieces = parquet.iter_parquet(
                stream,
                rows_per_piece=piece_rows,
                label_size=label_size,
                weights=weights,
                what=what,
            )
        elif mime == JSONLINES:
            pieces = jsonlines.iter_jsonlines(
                stream,
                feature_dim=feature_dim,
                sparse=sparse,
                label_size=label_size,
                chunk_size=chunk_size,
                what=what,
            )
        elif mime == JSON:
            # A JSON document cannot be parsed in parts; a body of instances is small.
            pieces = iter(
                [
                    instances.read_instances(
                        stream.read(),
                        feature_dim=feature_dim,
                        sparse=sparse,
                        with_labels=label_size > 0,
                        what=what,
                    )
                ]
            )
        else:  # pragma: no cover - parse_content_type admits no other
            raise FormatError(f"{what}: content type {mime} cannot be read as rows.")
        for piece in pieces:
            yield piece, what


def read_batches(
    streams: Iterable[IO[bytes]],
    content_type: ContentType,
    *,
    batch_size: int,
    feature_dim: int | None = None,
    sparse: bool = False,
    weights: bool = False,
    source: str = "",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[Batch]:
    """Batches of exactly ``batch_size`` rows (the last may be smaller), streamed.

    Streams are read front to back, ``chunk_size`` bytes at a time, never whole (except
    a non-seekable Parquet stream, whose index is at its end, and an application/json
    body, which is one document). A stream's end ends its last row. Features are dense
    float32 unless ``sparse``, which gives CSR for text/libsvm, RecordIO-protobuf and
    JSON lines; CSV and Parquet stay dense. libsvm needs ``feature_dim`` here (a stream
    cannot be read twice to find it); sparse RecordIO-protobuf takes it from the
    Records' shape when not given.
    """
    if batch_size < 1:
        raise FormatError(f"batch_size must be at least 1, not {batch_size}.")
    if content_type.mime == TEXT_LIBSVM and feature_dim is None:
        raise FormatError(
            f"{where(source)}: reading text/libsvm in batches needs the feature dimension "
            "(feature_dim): the rows do not say how wide they are. Pass it, or use read_all."
        )
    pieces = _pieces(
        streams,
        content_type,
        feature_dim=feature_dim,
        sparse=sparse,
        weights=weights,
        source=source,
        chunk_size=chunk_size,
        piece_rows=min(batch_size, _MAX_PIECE_ROWS),
    )
    pending: list[Batch] = []
    count = 0
    what = where(source)
    for piece, piece_what in _same_width(pieces, feature_dim):
        piece = _finish(piece, sparse)
        pending.append(piece)
        count += len(piece)
        if count < batch_size:
            continue
        # join once, then cut: each row is copied at most twice however pieces fall
        merged = concat(pending, piece_what)
        start = 0
        while count - start >= batch_size:
            yield merged.rows(start, start + batch_size)
            start += batch_size
        pending = [merged.rows(start, count)] if start < count else []
        count -= start
    if pending:
        yield concat(pending, what)


def _same_width(
    pieces: Iterator[tuple[Batch, str]], feature_dim: int | None
) -> Iterator[tuple[Batch, str]]:
    """The non-empty pieces, checked to have ``feature_dim`` (or the first one's) columns."""
    dim = feature_dim
    for piece, what in pieces:
        if not len(piece):
            continue
        if dim is None:
            dim = piece.feature_dim
        elif piece.feature_dim != dim:
            said = "feature_dim is" if feature_dim is not None else "rows before have"
            raise FormatError(
                f"{what}: rows with {piece.feature_dim} features where {said} {dim}. "
                "Every row of a channel needs the same number of features."
            )
        yield piece, what


def _finish(batch: Batch, sparse: bool) -> Batch:
    """Densify where dense rows were asked for."""
    if not sparse and isinstance(batch.features, scipy.sparse.csr_matrix):
        return Batch(
            np.asarray(batch.features.toarray(), dtype=np.float32), batch.labels, batch.weights
        )
    return batch


def read_all(
    streams: Iterable[IO[bytes]],
    content_type: ContentType,
    *,
    feature_dim: int | None = None,
    sparse: bool = False,
    weights: bool = False,
    source: str = "",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Batch:
    """Every row of every stream in one batch; libsvm's width is max index + 1 if not given."""
    what = where(source)
    pieces = _pieces(
        streams,
        content_type,
        feature_dim=feature_dim,
        sparse=sparse,
        weights=weights,
        source=source,
        chunk_size=chunk_size,
        piece_rows=_MAX_PIECE_ROWS,
    )
    if feature_dim is None and content_type.mime == TEXT_LIBSVM:
        # each piece is as wide as its own widest row: widen all to the widest of all
        parts = [piece for piece, _ in pieces if len(piece)]
        if parts:
            dim = max(p.feature_dim for p in parts)
            parts = [Batch(widen(p.features, dim), p.labels, p.weights) for p in parts]
    else:
        parts = [piece for piece, _ in _same_width(pieces, feature_dim)]
    if not parts:
        return _empty(content_type, feature_dim or 0, sparse, weights)
    batch = concat(parts, what)
    return _finish(batch, sparse)


def _empty(content_type: ContentType, dim: int, sparse: bool, weights: bool) -> Batch:
    k = content_type.label_size
    features: Features = (
        scipy.sparse.csr_matrix((0, dim), dtype=np.float32)
        if sparse and content_type.mime in (TEXT_LIBSVM, RECORDIO_PROTOBUF, JSONLINES)
        else np.empty((0, dim), dtype=np.float32)
    )
    labels = None if k == 0 else np.empty((0,) if k == 1 else (0, k), dtype=np.float32)
    return Batch(features, labels, np.empty(0, dtype=np.float32) if weights else None)


def parse_request(
    body: bytes, content_type: ContentType, *, feature_dim: int | None = None
) -> np.ndarray[Any, np.dtype[np.float32]] | scipy.sparse.csr_matrix:
    """The feature rows of an inference request body (labels, if any, are dropped).

    text/csv has no label column unless the content type says ``label_size``; text/libsvm
    lines start with a label, as XGBoost's container reads them. Sparse input (libsvm,
    sparse Records or instances) gives CSR, the rest dense float32.
    """
    what = "the request"
    if not body.strip():
        raise FormatError(f"{what}: the body is empty. Send at least one row.")
    mime = content_type.mime
    if mime == TEXT_CSV:
        label_size = content_type.label_size if "label_size" in content_type.params else 0
        return _dense(text_csv.parse_csv(body, label_size=label_size, what=what).features)
    if mime == TEXT_LIBSVM:
        return libsvm.read_libsvm(body, feature_dim=feature_dim, what=what).features
    if mime == JSON:
        return instances.parse_instances(body, feature_dim=feature_dim, what=what)
    if mime == JSONLINES:
        return jsonlines.parse_jsonlines(body, feature_dim=feature_dim, what=what)
    if mime == RECORDIO_PROTOBUF:
        return protobuf.parse_records(body, feature_dim=feature_dim, what=what).features
    raise FormatError(
        f"{what}: {mime} is not an inference request type. Send text/csv, text/libsvm, "
        "application/json, application/jsonlines or application/x-recordio-protobuf."
    )


def _dense(features: Features) -> np.ndarray[Any, np.dtype[np.float32]]:
    if isinstance(features, scipy.sparse.csr_matrix):
        return np.asarray(features.toarray(), dtype=np.float32)
    return np.asarray(features, dtype=np.float32)


def infer_feature_dim(
    streams: Iterable[IO[bytes]], content_type: ContentType, *, weights: bool = False
) -> int:
    """The feature dimension of a channel, by reading it through (File mode only: the
    streams are consumed). libsvm: max index + 1 over all rows."""
    batch = read_all(streams, content_type, sparse=True, weights=weights)
    return batch.feature_dim


def read_body(
    body: bytes,
    content_type: str | ContentType,
    *,
    feature_dim: int | None = None,
    sparse: bool = False,
    weights: bool = False,
) -> Batch:
    """:func:`read_all` over one in-memory body (tests, small channels)."""
    ct = parse_content_type(content_type) if isinstance(content_type, str) else content_type
    return read_all([io.BytesIO(body)], ct, feature_dim=feature_dim, sparse=sparse, weights=weights)
