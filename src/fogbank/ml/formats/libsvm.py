"""``text/libsvm``: ``label[:weight] index:value index:value ...``, one row a line.

This module owns reading libsvm text into sparse float32 rows and writing it.

Indices are used as column numbers as they stand, zero-based, because that is what
XGBoost's SageMaker container does (it hands the file to XGBoost's own libsvm parser,
which puts ``index:value`` in column ``index``). A file written 1-based (libsvm's own
tools) therefore reads with an empty column 0 and one column more than it has features;
the model trained on it predicts the same, so nothing is renumbered here. ``qid:N``
items (ranking groups) are skipped; ``#`` starts a comment. With ``label_size=0`` a line
holds features only.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse

from fogbank.ml.formats.base import (
    DEFAULT_CHUNK_SIZE,
    Batch,
    FloatArray,
    FormatError,
    concat,
    read_lines,
    widen,
)

_FIX = "libsvm lines read 'label[:weight] index:value ...' with whole indices >= 0."


def parse_libsvm(
    piece: bytes,
    *,
    label_size: int = 1,
    weights: bool = False,
    feature_dim: int | None = None,
    what: str = "the data",
    first_line: int = 1,
) -> Batch:
    """Parse whole lines into a CSR batch of ``feature_dim`` columns (or max index + 1)."""
    if label_size > 1:
        raise FormatError(
            f"{what}: libsvm has one label per line; label_size={label_size} cannot be read. "
            "Use CSV or RecordIO-protobuf for several labels."
        )
    fast = _parse_vectorized(piece, label_size, weights, feature_dim)
    if fast is not None:
        return fast
    return _parse_lines(piece, label_size, weights, feature_dim, what, first_line)


def _parse_vectorized(
    piece: bytes, label_size: int, weights: bool, feature_dim: int | None
) -> Batch | None:
    """The common case, parsed by pyarrow's kernels; None sends the piece to the line parser.

    Anything unusual (comments, qid items, a label without a weight when weights are
    asked for, a bad item) falls back, so that the line parser, the reference, handles it
    and names the line at fault.
    """
    if b"#" in piece or b"qid:" in piece:
        return None
    try:
        text = piece.decode("ascii")
        lines = pc.ascii_trim_whitespace(pc.split_pattern(pa.array([text]), "\n").flatten())
        lines = lines.filter(pc.greater(pc.binary_length(lines), 0))
        tokens = pc.ascii_split_whitespace(lines)
        counts = pc.list_value_length(tokens).to_numpy(zero_copy_only=False)
        flat = tokens.flatten()
        starts = tokens.offsets.to_numpy()[:-1]
        labels: FloatArray | None = None
        wts: FloatArray | None = None
        if label_size:
            head = pc.split_pattern(flat.take(pa.array(starts)), ":", max_splits=1)
            labels = _floats(pc.list_element(head, 0))
            if weights:
                wts = _floats(pc.list_element(head, 1))
            mask = np.ones(len(flat), dtype=np.bool_)
            mask[starts] = False
            flat = flat.filter(pa.array(mask))
        pairs = pc.split_pattern(flat, ":", max_splits=1)
        if len(pairs) and pc.min(pc.list_value_length(pairs)).as_py() != 2:
            return None
        # copies: pyarrow's zero-copy views are read-only and scipy sorts in place
        indices = np.array(
            pc.list_element(pairs, 0).cast(pa.int64()).to_numpy(zero_copy_only=False)
        )
        data = _floats(pc.list_element(pairs, 1))
    except (UnicodeDecodeError, pa.ArrowInvalid, pa.ArrowIndexError):
        return None
    if len(indices) and (
        indices.min() < 0 or (feature_dim is not None and indices.max() >= feature_dim)
    ):
        return None
    indptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts - label_size, out=indptr[1:])
    dim = (
        feature_dim if feature_dim is not None else (int(indices.max()) + 1 if len(indices) else 0)
    )
    features = scipy.sparse.csr_matrix((data, indices, indptr), shape=(len(counts), dim))
    features.sum_duplicates()
    return Batch(features, labels, wts)


def _floats(array: Any) -> FloatArray:
    return np.array(array.cast(pa.float32()).to_numpy(zero_copy_only=False), dtype=np.float32)


def _parse_lines(
    piece: bytes,
    label_size: int,
    weights: bool,
    feature_dim: int | None,
    what: str,
    first_line: int,
) -> Batch:
    """The line-by-line parser: every form, and errors that name the line and item."""
    labels: list[float] = []
    wts: list[float] = []
    indptr: list[int] = [0]
    indices: list[int] = []
    data: list[float] = []
    for offset, raw in enumerate(piece.split(b"\n")):
        line = raw.split(b"#", 1)[0] if b"#" in raw else raw
        tokens = line.split()
        if not tokens:
            continue
        number = first_line + offset
        start = 0
        if label_size:
            start = 1
            head, sep, weight = tokens[0].partition(b":")
            try:
                labels.append(float(head))
                wts.append(float(weight) if sep else 1.0)
            except ValueError:
                raise FormatError(
                    f"{what}, line {number}, item 1: label {_show(tokens[0])} is not a number "
                    f"(or number:weight). {_FIX}"
                ) from None
        for item, token in enumerate(tokens[start:], start=start + 1):
            if token.startswith(b"qid:"):
                continue
            key, sep, value = token.partition(b":")
            try:
                if not sep:
                    raise ValueError
                index = int(key)
                number_value = float(value)
            except ValueError:
                raise FormatError(
                    f"{what}, line {number}, item {item}: {_show(token)} is not index:value. {_FIX}"
                ) from None
            if index < 0 or (feature_dim is not None and index >= feature_dim):
                bound = f" below the feature dimension {feature_dim}" if feature_dim else ""
                raise FormatError(
                    f"{what}, line {number}, item {item}: index {index} is out of range; "
                    f"indices are zero-based{bound}."
                )
            indices.append(index)
            data.append(number_value)
        indptr.append(len(indices))
    dim = feature_dim if feature_dim is not None else (max(indices) + 1 if indices else 0)
    features = scipy.sparse.csr_matrix(
        (
            np.asarray(data, dtype=np.float32),
            np.asarray(indices, dtype=np.int64),
            np.asarray(indptr, dtype=np.int64),
        ),
        shape=(len(indptr) - 1, dim),
    )
    features.sum_duplicates()
    return Batch(
        features,
        np.asarray(labels, dtype=np.float32) if label_size else None,
        np.asarray(wts, dtype=np.float32) if weights and label_size else None,
    )


def _show(token: bytes) -> str:
    return repr(token.decode("utf-8", "replace"))


def iter_libsvm(
    stream: IO[bytes],
    *,
    label_size: int = 1,
    weights: bool = False,
    feature_dim: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    what: str = "the data",
) -> Iterator[Batch]:
    """CSR batches of whole lines, as the stream's chunks give them."""
    if weights and not label_size:
        raise FormatError(
            f"{what}: instance weights in libsvm follow the label (label:weight); with "
            "label_size=0 there is none."
        )
    line = 0
    for piece in read_lines(stream, chunk_size):
        batch = parse_libsvm(
            piece,
            label_size=label_size,
            weights=weights,
            feature_dim=feature_dim,
            what=what,
            first_line=line + 1,
        )
        line += piece.count(b"\n")
        if len(batch):
            yield batch


def read_libsvm(
    body: bytes, *, label_size: int = 1, feature_dim: int | None = None, what: str = "the request"
) -> Batch:
    """All rows of an in-memory libsvm body, widened to the widest row."""
    parts = list(
        iter_libsvm(io.BytesIO(body), label_size=label_size, feature_dim=feature_dim, what=what)
    )
    if not parts:
        return Batch(scipy.sparse.csr_matrix((0, feature_dim or 0), dtype=np.float32))
    dim = max(p.feature_dim for p in parts)
    return concat([Batch(widen(p.features, dim), p.labels, p.weights) for p in parts], what)


def _fmt(value: Any) -> str:
    return "%.9g" % value  # noqa: UP031 - the one spelling that round-trips float32


def write_libsvm(
    features: np.ndarray[Any, np.dtype[Any]] | scipy.sparse.spmatrix | scipy.sparse.sparray,
    labels: np.ndarray[Any, np.dtype[Any]] | None,
    weights: np.ndarray[Any, np.dtype[Any]] | None = None,
) -> bytes:
    """libsvm text with zero-based indices: stored entries of sparse rows, non-zeros of dense."""
    csr = scipy.sparse.csr_matrix(features)
    n = csr.shape[0]
    if labels is not None and len(labels) != n:
        raise FormatError(f"write_libsvm: {len(labels)} labels for {n} rows.")
    if weights is not None and (labels is None or len(weights) != n):
        raise FormatError("write_libsvm: weights need labels and one weight per row.")
    out: list[str] = []
    for i in range(n):
        lo, hi = csr.indptr[i], csr.indptr[i + 1]
        items = [f"{j}:{_fmt(v)}" for j, v in zip(csr.indices[lo:hi], csr.data[lo:hi], strict=True)]
        if labels is not None:
            head = _fmt(labels[i]) if weights is None else f"{_fmt(labels[i])}:{_fmt(weights[i])}"
            items.insert(0, head)
        out.append(" ".join(items) + "\n")
    return "".join(out).encode()
