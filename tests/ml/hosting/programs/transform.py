"""A program with transform_fn instead of input_fn, predict_fn and output_fn; it answers
a ``(body, content_type)`` tuple."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np


def model_fn(model_dir: str) -> Any:
    return joblib.load(Path(model_dir) / "model.joblib")


def transform_fn(model: Any, data: str | bytes, content_type: str, accept: str) -> Any:
    text = data.decode() if isinstance(data, bytes) else data
    rows = np.array([[float(v) for v in line.split()] for line in text.splitlines() if line])
    labels = model.predict(rows)
    body = "".join(f"label={int(label)}\n" for label in labels)
    return body.encode(), "text/x-labels"
