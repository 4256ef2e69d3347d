"""The ``application/json`` instances body of SageMaker's built-in algorithms.

This module owns reading one instance (a JSON value) into a row, and the whole body
``{"instances": [...]}`` (or a bare list of instances) into a matrix. An instance is
any of:

* ``[1.5, 16.0]``: a bare list of numbers;
* ``{"features": [1.5, 16.0]}``: the dense form;
* ``{"data": {"features": {"values": [...], "keys": [...], "shape": [N]}}}``: the form
  that mirrors a protobuf Record; ``keys`` and ``shape`` make it sparse.

For training data (JSON lines channels) an instance may carry a label: ``"label": 1``
or ``[..]`` next to dense ``features``, or ``"label": {"values": [...]}`` inside ``data``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import scipy.sparse

from fogbank.ml.formats.base import Batch, FloatArray, FormatError, Rows

_FIX = (
    'An instance is a list of numbers, {"features": [...]}, or '
    '{"data": {"features": {"values": [...], "keys": [...], "shape": [N]}}}.'
)


def _numbers(raw: Any, where: str, field: str) -> FloatArray:
    if not isinstance(raw, list):
        raise FormatError(f"{where}: {field} is {type(raw).__name__}, not a list. {_FIX}")
    for col, item in enumerate(raw, start=1):
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise FormatError(
                f"{where}, {field} item {col}: {json.dumps(item)} is not a number. {_FIX}"
            )
    return np.asarray(raw, dtype=np.float32).reshape(-1)


def _label(raw: Any, where: str) -> FloatArray | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        return _numbers(raw.get("values"), where, "label values")
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return np.asarray([raw], dtype=np.float32)
    return _numbers(raw, where, "label")


def instance_row(
    obj: Any, where: str
) -> tuple[FloatArray, np.ndarray[Any, np.dtype[np.int64]] | None, int | None, FloatArray | None]:
    """``(values, keys or None, dimension or None, label or None)`` of one instance."""
    if isinstance(obj, list):
        return _numbers(obj, where, "the instance"), None, None, None
    if not isinstance(obj, dict):
        raise FormatError(f"{where}: {json.dumps(obj)[:60]} is not an instance. {_FIX}")
    if "data" in obj:
        data = obj["data"]
        if not isinstance(data, dict) or not isinstance(data.get("features"), dict):
            raise FormatError(f'{where}: "data" has no "features" object. {_FIX}')
        tensor = data["features"]
        values = _numbers(tensor.get("values"), where, "features values")
        label = _label(data.get("label"), where)
        if "keys" not in tensor:
            return values, None, None, label
        keys_raw = tensor["keys"]
        if not isinstance(keys_raw, list) or any(
            isinstance(k, bool) or not isinstance(k, int) or k < 0 for k in keys_raw
        ):
            raise FormatError(f"{where}: features keys must be whole numbers >= 0. {_FIX}")
        if len(keys_raw) != len(values):
            raise FormatError(
                f"{where}: {len(keys_raw)} keys for {len(values)} values; give one key per value."
            )
        shape = tensor.get("shape")
        dim: int | None = None
        if shape is not None:
            if not isinstance(shape, list) or not all(
                isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape
            ):
                raise FormatError(f"{where}: features shape must be a list of whole numbers.")
            dim = math.prod(shape)
        return values, np.asarray(keys_raw, dtype=np.int64), dim, label
    if "features" in obj:
        return (
            _numbers(obj["features"], where, "features"),
            None,
            None,
            _label(obj.get("label"), where),
        )
    raise FormatError(f'{where}: an object with neither "features" nor "data". {_FIX}')


class InstanceRows:
    """Instances gathered into rows of one width, checked as they come."""

    def __init__(self, unit: str, feature_dim: int | None, what: str) -> None:
        self.rows = Rows(unit)
        self.unit = unit
        self.dim = feature_dim
        self.fixed = feature_dim is not None
        self.what = what
        self.max_key = -1

    def add(self, obj: Any, number: int) -> None:
        where = f"{self.what}, {self.unit} {number}"
        values, keys, dim, label = instance_row(obj, where)
        if keys is None:
            if self.dim is None:
                self.dim = len(values)
            elif len(values) != self.dim:
                said = "the feature dimension is" if self.fixed else "the rows before have"
                raise FormatError(
                    f"{where}: {len(values)} features where {said} {self.dim}. Every "
                    f"{self.unit} needs the same number of features."
                )
        else:
            if dim is not None:
                if self.dim is None:
                    self.dim = dim
                elif dim != self.dim and self.fixed and dim > self.dim:
                    raise FormatError(
                        f"{where}: shape {dim} is wider than the feature dimension {self.dim}."
                    )
            top = int(keys.max()) if len(keys) else -1
            bound = dim if dim is not None else self.dim
            if bound is not None and top >= bound:
                raise FormatError(
                    f"{where}: key {top} is outside the feature dimension {bound}; keys are "
                    "zero-based."
                )
            self.max_key = max(self.max_key, top)
        self.rows.add(number, values, keys, label)

    def batch(self, *, sparse: bool | None, with_labels: bool = True) -> Batch:
        dim = self.dim if self.dim is not None else self.max_key + 1
        if self.max_key >= dim:
            raise FormatError(
                f"{self.what}: key {self.max_key} is outside the feature dimension {dim} that "
                f"earlier {self.unit}s set; keys are zero-based."
            )
        return self.rows.assemble(dim, sparse=sparse, what=self.what, with_labels=with_labels)


def _load(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        at = (
            f", line {exc.lineno} column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        raise FormatError(f"{what}{at}: not valid JSON ({exc}). {_FIX}") from None


def instance_list(body: bytes, what: str) -> list[Any]:
    """The instances of a body: ``{"instances": [...]}``, a list of instances, or one row."""
    doc = _load(body, what)
    if isinstance(doc, dict):
        if "instances" not in doc or not isinstance(doc["instances"], list):
            raise FormatError(f'{what}: a JSON object with no "instances" list. {_FIX}')
        return list(doc["instances"])
    if isinstance(doc, list):
        if doc and all(isinstance(x, int | float) and not isinstance(x, bool) for x in doc):
            return [doc]  # a bare list of numbers is one row
        return doc
    raise FormatError(f'{what}: JSON {type(doc).__name__}; expected {{"instances": [...]}}.')


def read_instances(
    body: bytes,
    *,
    feature_dim: int | None = None,
    sparse: bool | None = None,
    with_labels: bool = True,
    what: str = "the request",
) -> Batch:
    """An instances body as a batch (labels when the instances carry them)."""
    rows = InstanceRows("instance", feature_dim, what)
    for number, obj in enumerate(instance_list(body, what), start=1):
        rows.add(obj, number)
    return rows.batch(sparse=sparse, with_labels=with_labels)


def parse_instances(
    body: bytes, *, feature_dim: int | None = None, what: str = "the request"
) -> np.ndarray[Any, np.dtype[np.float32]] | scipy.sparse.csr_matrix:
    """The features of an instances body: dense, or CSR when some instance is sparse."""
    return read_instances(body, feature_dim=feature_dim, with_labels=False, what=what).features


def write_instances(
    features: np.ndarray[Any, np.dtype[Any]] | scipy.sparse.spmatrix | scipy.sparse.sparray,
) -> bytes:
    """An instances body: the dense form for arrays, the keys+shape form for sparse ones."""
    return json.dumps({"instances": [instance_object(row) for row in _split(features)]}).encode()


def _split(features: Any) -> list[Any]:
    if scipy.sparse.issparse(features):
        csr = scipy.sparse.csr_matrix(features)
        return [csr[i] for i in range(csr.shape[0])]
    return list(np.asarray(features))


def instance_object(row: Any) -> dict[str, Any]:
    """One row as an instance object (sparse rows as ``data.features`` keys + shape)."""
    if scipy.sparse.issparse(row):
        csr = scipy.sparse.csr_matrix(row)
        return {
            "data": {
                "features": {
                    "values": [float(v) for v in csr.data],
                    "keys": [int(k) for k in csr.indices],
                    "shape": [int(csr.shape[1])],
                }
            }
        }
    return {"features": [float(v) for v in np.asarray(row).ravel()]}
