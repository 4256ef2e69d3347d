"""Linear Learner's training data: rows in memory or streamed, and the scaler.

This module owns the data side of :mod:`~fogbank.ml.algorithms.linear_learner_engine`:
:class:`Table` (rows as numpy/scipy arrays), the two sources of mini-batches
(:class:`InMemory` for File mode, :class:`Streamed` for Pipe mode), AWS's label rules,
and :class:`Scaler`, estimated as AWS does from the first ``num_point_for_scaler`` rows.
No PyTorch here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

import numpy as np
import scipy.sparse

from fogbank.core.errors import ValidationException
from fogbank.ml.algorithms.linear_learner_plan import Plan

Features: TypeAlias = np.ndarray[Any, np.dtype[Any]] | scipy.sparse.csr_matrix

# Rows per read while the scaler's sample is gathered from a stream.
READ_ROWS = 65536


@dataclass(frozen=True, eq=False)
class Table:
    """Rows in memory: float32 features (dense or CSR), float32 labels, optional weights."""

    features: Features
    labels: np.ndarray
    weights: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.features.shape[0])

    @property
    def dim(self) -> int:
        return int(self.features.shape[1])

    def rows(self, start: int, stop: int) -> Table:
        return Table(
            self.features[start:stop],
            self.labels[start:stop],
            None if self.weights is None else self.weights[start:stop],
        )

    def take(self, index: np.ndarray) -> Table:
        return Table(
            self.features[index],
            self.labels[index],
            None if self.weights is None else self.weights[index],
        )


def concat(tables: list[Table]) -> Table:
    """One table of several (features all dense or all sparse)."""
    if len(tables) == 1:
        return tables[0]
    if any(scipy.sparse.issparse(t.features) for t in tables):
        features: Features = scipy.sparse.vstack(
            [scipy.sparse.csr_matrix(t.features) for t in tables], format="csr"
        )
    else:
        features = np.concatenate([t.features for t in tables])
    weights = None
    if any(t.weights is not None for t in tables):
        weights = np.concatenate(
            [np.ones(len(t), np.float32) if t.weights is None else t.weights for t in tables]
        )
    return Table(features, np.concatenate([t.labels for t in tables]), weights)


def check_labels(plan: Plan, labels: np.ndarray, source: str) -> None:
    """AWS's label rules: 0/1 for binary, 0..num_classes-1 for multiclass, finite."""
    if labels.size == 0:
        return
    if not np.all(np.isfinite(labels)):
        raise ValidationException(f"The {source} has a label that is not a finite number.")
    if plan.binary:
        bad = labels[(labels != 0) & (labels != 1)]
        if bad.size:
            raise ValidationException(
                f"The {source} has label {float(bad[0])!r}: labels of a binary_classifier "
                "must be 0 or 1."
            )
    elif plan.multiclass:
        bad = labels[(labels != np.round(labels)) | (labels < 0) | (labels >= plan.num_classes)]
        if bad.size:
            raise ValidationException(
                f"The {source} has label {float(bad[0])!r}: labels of a multiclass_classifier "
                f"must be integers 0 .. num_classes - 1 (num_classes={plan.num_classes})."
            )


# ---------------------------------------------------------------------------------
# Training data: in memory (File mode) or streamed pass by pass (Pipe mode)


class TrainingData(Protocol):
    """Where the mini-batches come from. ``head`` is the scaler's sample (the first
    rows, as AWS reads them); ``sample`` the rows that select a model when there is no
    validation channel; ``batches`` one pass in mini-batches."""

    dim: int

    def head(self, count: int) -> Table: ...

    def sample(self, count: int) -> Table: ...

    def batches(self, epoch: int, size: int) -> Iterator[Table]: ...


class InMemory:
    """File mode: the channel read once; every pass slices the same arrays (views)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.dim = table.dim

    def head(self, count: int) -> Table:
        return self.table.rows(0, count)

    def sample(self, count: int) -> Table:
        rows = len(self.table)
        if rows <= count:
            return self.table
        return self.table.take(np.linspace(0, rows - 1, count).astype(np.int64))

    def batches(self, epoch: int, size: int) -> Iterator[Table]:
        for start in range(0, len(self.table), size):
            yield self.table.rows(start, start + size)


class Streamed:
    """Pipe mode: pass ``n`` reads the channel's FIFO ``n``; nothing is kept but the
    scaler's sample (the first rows of pass 0, which that pass then replays)."""

    def __init__(self, open_pass: Callable[[int, int], Iterator[Table]], dim: int | None) -> None:
        self.open_pass = open_pass
        self._head: list[Table] = []
        self._rest: Iterator[Table] | None = None
        self.dim = dim or 0

    def head(self, count: int) -> Table:
        if self._rest is None:
            self._rest = iter(self.open_pass(0, READ_ROWS))
        rows = sum(len(t) for t in self._head)
        while rows < count:
            table = next(self._rest, None)
            if table is None:
                break
            self._head.append(table)
            rows += len(table)
        if not self._head:
            raise ValidationException("The train channel has no data: give it labelled rows.")
        self.dim = self._head[0].dim
        return concat(self._head).rows(0, count)

    def sample(self, count: int) -> Table:
        return self.head(count)

    def batches(self, epoch: int, size: int) -> Iterator[Table]:
        if epoch == 0 and self._rest is not None:
            tables: Iterator[Table] = _chain(self._head, self._rest)
        else:
            tables = self.open_pass(epoch, size)
        yield from _rebatch(tables, size)


def _chain(first: list[Table], rest: Iterator[Table]) -> Iterator[Table]:
    yield from first
    yield from rest


def _rebatch(tables: Iterator[Table], size: int) -> Iterator[Table]:
    pending: list[Table] = []
    held = 0
    for table in tables:
        pending.append(table)
        held += len(table)
        while held >= size:
            joined = concat(pending)
            yield joined.rows(0, size)
            rest = joined.rows(size, len(joined))
            pending, held = ([rest] if len(rest) else []), len(rest)
    if held:
        yield concat(pending)


# ---------------------------------------------------------------------------------
# The scaler


@dataclass(frozen=True)
class Scaler:
    """Feature mean and scale (0 and 1 where off), label mean and scale (regression)."""

    mean: np.ndarray
    scale: np.ndarray
    label_mean: float = 0.0
    label_scale: float = 1.0

    @classmethod
    def fit(cls, plan: Plan, sample: Table) -> Scaler:
        features = sample.features
        if isinstance(features, scipy.sparse.csr_matrix):
            mean = np.asarray(features.mean(axis=0), dtype=np.float64).ravel()
            squares = features.multiply(features)
            square = np.asarray(squares.mean(axis=0), dtype=np.float64).ravel()
        else:
            dense = np.asarray(features, dtype=np.float64)
            mean = dense.mean(axis=0)
            square = (dense * dense).mean(axis=0)
        std = np.sqrt(np.maximum(square - mean * mean, 0.0))
        # A constant column has nothing to scale: leave it as it is.
        std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
        scale = std if plan.normalize_data else np.ones_like(std)
        center = mean if plan.unbias_data else np.zeros_like(mean)
        labels = sample.labels.astype(np.float64)
        label_mean = float(labels.mean()) if plan.unbias_label and labels.size else 0.0
        label_std = float(labels.std()) if labels.size else 1.0
        label_scale = label_std if plan.normalize_label and label_std > 1e-12 else 1.0
        return cls(center, scale, label_mean, label_scale)
