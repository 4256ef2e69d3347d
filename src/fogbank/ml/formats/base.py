"""The vocabulary every format module shares: the error, the content type, the batch.

This module owns :class:`FormatError`, :class:`ContentType` and its parser, and
:class:`Batch` with the few operations the readers need on it (slicing, joining,
widening). It imports no format module, so that each format module can import it
and :mod:`fogbank.ml.formats.batches` can import them all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, TypeAlias

import numpy as np
import scipy.sparse

from fogbank.core.errors import FogbankError

# Big enough that pyarrow parses a chunk on all its threads, small enough that a Pipe-mode
# FIFO of many GB never sits in memory. Readers take a chunk_size so tests can make it tiny.
DEFAULT_CHUNK_SIZE = 8 << 20

TEXT_CSV = "text/csv"
TEXT_LIBSVM = "text/libsvm"
RECORDIO_PROTOBUF = "application/x-recordio-protobuf"
PARQUET = "application/x-parquet"
JSONLINES = "application/jsonlines"
JSON = "application/json"

# The spellings AWS's containers accept (XGBoost's container takes the bare names too).
_ALIASES: dict[str, str] = {
    "text/csv": TEXT_CSV,
    "csv": TEXT_CSV,
    "text/libsvm": TEXT_LIBSVM,
    "text/x-libsvm": TEXT_LIBSVM,
    "libsvm": TEXT_LIBSVM,
    "application/x-recordio-protobuf": RECORDIO_PROTOBUF,
    "recordio-protobuf": RECORDIO_PROTOBUF,
    "application/x-parquet": PARQUET,
    "parquet": PARQUET,
    "application/jsonlines": JSONLINES,
    "jsonlines": JSONLINES,
    "application/json": JSON,
}


class FormatError(FogbankError):
    """Data that does not match its content type; the message names where and the fix."""

    code = "ClientError"


@dataclass(frozen=True)
class ContentType:
    """A parsed content type: the canonical MIME type and its ``;key=value`` parameters."""

    mime: str
    params: dict[str, str]

    @property
    def label_size(self) -> int:
        """How many leading columns are labels: 1 unless ``label_size`` says otherwise."""
        raw = self.params.get("label_size", "1")
        try:
            value = int(raw)
        except ValueError:
            value = -1
        if value < 0:
            raise FormatError(
                f"Content type {self.mime}: label_size={raw!r} is not a whole number >= 0. "
                "Use label_size=0 for data without a label column."
            )
        return value

    def __hash__(self) -> int:
        # The generated hash would hash the dict and fail; the parameters are part of identity.
        return hash((self.mime, tuple(sorted(self.params.items()))))

    def __str__(self) -> str:
        return ";".join([self.mime, *(f"{k}={v}" for k, v in self.params.items())])


def parse_content_type(value: str | None, default: str = "text/csv") -> ContentType:
    """Parse ``value`` (``None`` or blank means ``default``) the way AWS's containers do."""
    text = value if value is not None and value.strip() else default
    mime, *rest = (part.strip() for part in text.split(";"))
    canonical = _ALIASES.get(mime.lower())
    if canonical is None:
        accepted = ", ".join(sorted(_ALIASES))
        raise FormatError(f"Content type {text!r} is not one this reads. Accepted: {accepted}.")
    params: dict[str, str] = {}
    for part in rest:
        if not part:
            continue
        key, sep, val = part.partition("=")
        if not sep or not key.strip():
            raise FormatError(
                f"Content type {text!r}: parameter {part!r} is not key=value "
                "(for example text/csv;label_size=0)."
            )
        params[key.strip().lower()] = val.strip().strip('"')
    parsed = ContentType(canonical, params)
    _ = parsed.label_size  # a bad label_size is the caller's error now, not at first read
    return parsed


Features: TypeAlias = np.ndarray[Any, np.dtype[Any]] | scipy.sparse.csr_matrix
FloatArray: TypeAlias = np.ndarray[Any, np.dtype[np.float32]]


@dataclass(frozen=True, eq=False)
class Batch:
    """Rows read together: float32 features, and labels and weights when the data has them.

    ``eq=False``: element-wise array comparison has no single truth value.
    """

    features: Features
    labels: FloatArray | None = None
    weights: FloatArray | None = None

    def __len__(self) -> int:
        return int(self.features.shape[0])

    @property
    def feature_dim(self) -> int:
        return int(self.features.shape[1])

    def rows(self, start: int, stop: int) -> Batch:
        """Rows ``start:stop`` (a view for dense features)."""
        return Batch(
            self.features[start:stop],
            None if self.labels is None else self.labels[start:stop],
            None if self.weights is None else self.weights[start:stop],
        )


def where(source: str, stream: IO[bytes] | None = None, index: int | None = None) -> str:
    """Words that say which data an error is about: the channel, the stream, its file name."""
    parts = [source] if source else []
    if index is not None:
        name = getattr(stream, "name", None)
        named = f" ({name})" if isinstance(name, str) and name else ""
        parts.append(f"stream {index + 1}{named}")
    return ", ".join(parts) if parts else "the data"


def widen(features: Features, dim: int) -> Features:
    """Pad ``features`` with zero columns up to ``dim`` columns."""
    have = features.shape[1]
    if have == dim:
        return features
    if isinstance(features, scipy.sparse.csr_matrix):
        return scipy.sparse.csr_matrix(
            (features.data, features.indices, features.indptr), shape=(features.shape[0], dim)
        )
    out = np.zeros((features.shape[0], dim), dtype=features.dtype)
    out[:, :have] = features
    return out


def concat(parts: Sequence[Batch], what: str) -> Batch:
    """Join batches row-wise; ``what`` names the data when their shapes disagree."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    for part in parts[1:]:
        if part.feature_dim != first.feature_dim:
            raise FormatError(
                f"{what}: rows have {part.feature_dim} features after rows with "
                f"{first.feature_dim}. Every row of a channel needs the same number of features."
            )
        if (part.labels is None) != (first.labels is None) or (
            part.labels is not None
            and first.labels is not None
            and part.labels.shape[1:] != first.labels.shape[1:]
        ):
            raise FormatError(
                f"{what}: some rows have labels of another size (or none) than the rows "
                "before them. Give every row the same number of labels."
            )
        if (part.weights is None) != (first.weights is None):
            raise FormatError(f"{what}: some rows have instance weights and some do not.")
    features: Features
    if isinstance(first.features, scipy.sparse.csr_matrix):
        features = scipy.sparse.vstack(
            [scipy.sparse.csr_matrix(p.features) for p in parts], format="csr", dtype=np.float32
        )
    else:
        features = np.concatenate([np.asarray(p.features) for p in parts])
    labels = None if first.labels is None else np.concatenate([p.labels for p in parts])
    weights = None if first.weights is None else np.concatenate([p.weights for p in parts])
    return Batch(features, labels, weights)


def read_lines(stream: IO[bytes], chunk_size: int) -> Iterator[bytes]:
    """Yield pieces of ``stream`` that end at a line break (the last may not).

    Reads ``chunk_size`` bytes at a time; a line longer than a chunk is carried over
    until its end arrives, so pieces hold whole lines only. The end of the stream
    ends the last line.
    """
    carry = b""
    while True:
        data = stream.read(chunk_size)
        if not data:
            if carry:
                yield carry
            return
        buf = carry + data if carry else bytes(data)
        cut = buf.rfind(b"\n")
        if cut < 0:
            carry = buf
            continue
        carry = buf[cut + 1 :]
        yield buf[: cut + 1]


class Rows:
    """Rows gathered one at a time (dense values, or values at ``keys``), then assembled.

    The record-at-a-time formats (RecordIO-protobuf, JSON instances) share it.
    """

    def __init__(self, unit: str = "record") -> None:
        self.unit = unit
        self.values: list[FloatArray] = []
        self.keys: list[np.ndarray[Any, np.dtype[np.int64]] | None] = []
        self.labels: list[FloatArray | list[float] | None] = []
        self.numbers: list[int] = []

    def add(
        self,
        number: int,
        values: FloatArray,
        keys: np.ndarray[Any, np.dtype[np.int64]] | None = None,
        label: FloatArray | list[float] | None = None,
    ) -> None:
        self.numbers.append(number)
        self.values.append(values)
        self.keys.append(keys)
        self.labels.append(label)

    def __len__(self) -> int:
        return len(self.values)

    def assemble(
        self, dim: int, *, sparse: bool | None, what: str, with_labels: bool = True
    ) -> Batch:
        """One batch of ``dim`` columns; ``sparse=None`` gives CSR only if some row was sparse."""
        n = len(self.values)
        if sparse is None:
            sparse = any(k is not None for k in self.keys)
        features: Features
        if sparse:
            lengths = np.fromiter((len(v) for v in self.values), dtype=np.int64, count=n)
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(lengths, out=indptr[1:])
            indices = np.concatenate(
                [
                    np.arange(len(v), dtype=np.int64) if k is None else k
                    for v, k in zip(self.values, self.keys, strict=True)
                ]
                or [np.empty(0, np.int64)]
            )
            data = np.concatenate(self.values or [np.empty(0, np.float32)]).astype(np.float32)
            csr = scipy.sparse.csr_matrix((data, indices, indptr), shape=(n, dim))
            csr.sum_duplicates()  # a key given twice adds up, as a dense scatter-add would
            features = csr
        elif all(k is None for k in self.keys):
            features = (
                np.stack(self.values).astype(np.float32, copy=False)
                if n
                else np.empty((0, dim), dtype=np.float32)
            )
        else:
            dense = np.zeros((n, dim), dtype=np.float32)
            for i, (v, k) in enumerate(zip(self.values, self.keys, strict=True)):
                if k is None:
                    dense[i] = v
                else:
                    np.add.at(dense[i], k, v)
            features = dense
        labels: FloatArray | None = None
        if with_labels:
            missing = [i for i, lab in enumerate(self.labels) if lab is None]
            if missing and len(missing) < n:
                raise FormatError(
                    f"{what}, {self.unit} {self.numbers[missing[0]]}: no label, where other "
                    f"{self.unit}s have one. Label every {self.unit}, or none (label_size=0)."
                )
            if n and not missing:
                sizes = [len(lab) for lab in self.labels if lab is not None]
                for i, size in enumerate(sizes):
                    if size != sizes[0]:
                        raise FormatError(
                            f"{what}, {self.unit} {self.numbers[i]}: {size} label values after "
                            f"{self.unit}s with {sizes[0]}. Every {self.unit} needs the same "
                            "number of labels."
                        )
                stacked = np.array([lab for lab in self.labels if lab is not None], np.float32)
                labels = stacked[:, 0].copy() if stacked.shape[1] == 1 else stacked
        return Batch(features, labels, None)
