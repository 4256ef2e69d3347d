"""Hypothesis strategies for the format tests: float32 matrices, sparse rows, labels."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FLOAT32 = st.floats(width=32, allow_nan=False, allow_infinity=False)
SMALL_FLOAT32 = st.floats(-1e6, 1e6, width=32)


ROWS = st.integers(1, 12)
COLS = st.integers(1, 6)


def dense(
    rows: st.SearchStrategy[int] = ROWS,
    cols: st.SearchStrategy[int] = COLS,
    elements: st.SearchStrategy[float] = FLOAT32,
    dtype: Any = np.float32,
) -> st.SearchStrategy[np.ndarray[Any, Any]]:
    return st.tuples(rows, cols).flatmap(lambda shape: hnp.arrays(dtype, shape, elements=elements))


@st.composite
def sparse(draw: st.DrawFn, rows: int | None = None, max_cols: int = 20) -> scipy.sparse.csr_matrix:
    n = rows if rows is not None else draw(st.integers(1, 8))
    d = draw(st.integers(1, max_cols))
    cells = draw(
        st.dictionaries(
            st.tuples(st.integers(0, n - 1), st.integers(0, d - 1)),
            FLOAT32.filter(lambda v: v != 0),
            max_size=12,
        )
    )
    coords = np.array(sorted(cells), dtype=np.int64).reshape(-1, 2)
    values = np.array([cells[(int(i), int(j))] for i, j in coords], dtype=np.float32)
    return scipy.sparse.csr_matrix((values, (coords[:, 0], coords[:, 1])), shape=(n, d))


def labels_for(n: int, k: int = 1) -> st.SearchStrategy[np.ndarray[Any, Any]]:
    shape: tuple[int, ...] = (n,) if k == 1 else (n, k)
    return hnp.arrays(np.float32, shape, elements=SMALL_FLOAT32)
