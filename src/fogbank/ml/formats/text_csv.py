"""``text/csv`` as SageMaker's algorithms read it: no header, numbers only, labels first.

This module owns reading CSV into float32 batches (pyarrow's parser on whole-line
pieces of the stream) and writing it back. Columns, left to right: ``label_size``
labels (1 by default, 0 for unlabelled data), then the instance weight when weights
are asked for (XGBoost's ``csv_weights=1``), then the features. An empty cell, ``nan``
or ``NA`` reads as NaN, which XGBoost takes as a missing value.

Why not ``pyarrow.csv.open_csv`` straight on the stream: its streaming reader fails on a
row longer than its block, and cannot say on which line of the file a bad cell is. So
the stream is cut into pieces that end at a line break (a row may span any number of
reads, and a stream's end ends its last row) and pyarrow parses each piece, on all its
threads. That keeps the speed (1M x 100 in a few seconds) and gives exact line numbers.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from fogbank.ml.formats.base import (
    DEFAULT_CHUNK_SIZE,
    Batch,
    FloatArray,
    FormatError,
    concat,
    read_lines,
)

# pyarrow's default null spellings; the error scan below must agree with the parser.
_NULLS = frozenset(s.encode() for s in pacsv.ConvertOptions().null_values)

_FIX = (
    "SageMaker CSV has no header row and only numbers; the label is column 1 "
    "(use text/csv;label_size=0 for data without labels)."
)


class CsvReader:
    """Reads CSV streams one after another, keeping the column count of the first row."""

    def __init__(
        self,
        *,
        label_size: int = 1,
        weights: bool = False,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        if weights and label_size == 0:
            raise FormatError(
                "Instance weights were asked for CSV with label_size=0: the weight is the "
                "column after the labels, so the data needs a label column."
            )
        self.label_size = label_size
        self.weights = weights
        self.chunk_size = chunk_size
        self.ncols: int | None = None

    def read(self, stream: IO[bytes], what: str) -> Iterator[Batch]:
        """Batches of whatever size the pieces give; ``what`` names the stream in errors."""
        line = 0  # lines of this stream before the current piece
        for piece in read_lines(stream, self.chunk_size):
            batch = self.parse(piece, what, first_line=line + 1)
            line += piece.count(b"\n")
            if len(batch):
                yield batch

    def parse(self, piece: bytes, what: str, *, first_line: int = 1) -> Batch:
        """Parse whole lines of CSV; ``first_line`` is the line number of the piece's first."""
        if not piece or piece.isspace():  # isspace stops at the first other byte; strip copies
            return self._empty()  # pyarrow refuses a block of blank lines
        if not piece.endswith(b"\n"):
            piece += b"\n"  # pyarrow takes a single row without one as an empty block
        if self.ncols is None:
            first = next((ln for ln in piece.split(b"\n") if ln.strip(b"\r")), None)
            if first is None:
                return self._empty()
            self.ncols = first.count(b",") + 1
            width = self.label_size + int(self.weights)
            if self.ncols <= width:
                raise FormatError(
                    f"{what}, line {first_line}: {self.ncols} column(s) leave no features "
                    f"after {self.label_size} label column(s)"
                    f"{' and a weight column' if self.weights else ''}. {_FIX}"
                )
        ncols = self.ncols
        try:
            table = pacsv.read_csv(
                pa.py_buffer(piece),
                read_options=pacsv.ReadOptions(autogenerate_column_names=True),
                convert_options=pacsv.ConvertOptions(
                    column_types={f"f{i}": pa.float32() for i in range(ncols)}
                ),
            )
        except pa.ArrowInvalid as exc:
            raise _locate(piece, ncols, what, first_line, exc) from None
        if table.num_columns != ncols:
            raise FormatError(
                f"{what}, line {first_line}: {table.num_columns} columns where the first row "
                f"has {ncols}. Every row needs the same number of columns."
            )
        return self._split(table)

    def _split(self, table: pa.Table) -> Batch:
        n = table.num_rows
        k = self.label_size
        w = int(self.weights)
        columns = table.columns
        features = np.empty((n, len(columns) - k - w), dtype=np.float32)
        for j, column in enumerate(columns[k + w :]):
            features[:, j] = column.to_numpy()
        labels: FloatArray | None = None
        if k == 1:
            labels = np.array(columns[0].to_numpy(), dtype=np.float32)  # writable copy
        elif k > 1:
            labels = np.empty((n, k), dtype=np.float32)
            for j in range(k):
                labels[:, j] = columns[j].to_numpy()
        weights = np.array(columns[k].to_numpy(), dtype=np.float32) if w else None
        return Batch(features, labels, weights)

    def _empty(self) -> Batch:
        k = self.label_size
        labels = None if k == 0 else np.empty((0,) if k == 1 else (0, k), dtype=np.float32)
        weights = np.empty(0, dtype=np.float32) if self.weights else None
        return Batch(np.empty((0, 0), dtype=np.float32), labels, weights)


def _locate(piece: bytes, ncols: int, what: str, first_line: int, exc: Exception) -> FormatError:
    """Find the line and column pyarrow refused, by a slow scan that runs only on error."""
    for offset, raw in enumerate(piece.split(b"\n")):
        line = raw.rstrip(b"\r")
        if not line:
            continue  # pyarrow skips empty lines too
        number = first_line + offset
        cells = line.split(b",")
        if len(cells) != ncols:
            return FormatError(
                f"{what}, line {number}: {len(cells)} columns where the first row has {ncols}. "
                "Every row needs the same number of columns."
            )
        for col, cell in enumerate(cells, start=1):
            text = cell.strip().strip(b'"')
            if text in _NULLS:
                continue
            try:
                if b"_" in text:  # Python's float() takes 1_0; pyarrow does not
                    raise ValueError(text)
                float(text)
            except ValueError:
                hint = " If this is a header row, remove it." if number == 1 else ""
                shown = text.decode("utf-8", "replace")
                return FormatError(
                    f"{what}, line {number}, column {col}: {shown!r} is not a number.{hint} {_FIX}"
                )
    return FormatError(f"{what}, lines from {first_line}: CSV the parser refused ({exc}). {_FIX}")


def parse_csv(
    body: bytes, *, label_size: int = 0, weights: bool = False, what: str = "the request"
) -> Batch:
    """All rows of an in-memory CSV body (an inference request has no label: label_size 0)."""
    reader = CsvReader(label_size=label_size, weights=weights)
    parts = list(reader.read(io.BytesIO(body), what))
    if not parts:
        return reader._empty()
    return concat(parts, what)


def _format_rows(matrix: np.ndarray[Any, np.dtype[Any]]) -> bytes:
    out = io.StringIO()
    # %.9g writes every float32 so that it reads back to the same float32
    np.savetxt(out, matrix, fmt="%.9g", delimiter=",")
    return out.getvalue().encode()


def write_csv(
    features: np.ndarray[Any, np.dtype[Any]],
    labels: np.ndarray[Any, np.dtype[Any]] | None = None,
    weights: np.ndarray[Any, np.dtype[Any]] | None = None,
) -> bytes:
    """CSV as SageMaker reads it: labels (if any), weights (if any), then the features."""
    feats = np.asarray(features, dtype=np.float64)
    if feats.ndim != 2:
        raise FormatError(f"write_csv needs 2-d features, got shape {feats.shape}.")
    blocks = []
    if labels is not None:
        lab = np.asarray(labels, dtype=np.float64)
        blocks.append(lab[:, None] if lab.ndim == 1 else lab)
    if weights is not None:
        blocks.append(np.asarray(weights, dtype=np.float64).reshape(-1, 1))
    blocks.append(feats)
    if any(b.shape[0] != feats.shape[0] for b in blocks):
        raise FormatError("write_csv: labels and weights need one value per row of features.")
    if feats.shape[0] == 0:
        return b""
    return _format_rows(np.hstack(blocks))
