"""A scikit-learn preprocessing step as a SageMaker inference program: a fitted
StandardScaler that standardises CSV rows (no header) and answers CSV, one row a line.

:func:`tests.ml.hosting.programs.scaler_model_tar` packs it as ``code/inference.py``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import joblib
import numpy as np


def model_fn(model_dir: str) -> Any:
    return joblib.load(Path(model_dir) / "model.joblib")


def input_fn(input_data: str | bytes, content_type: str) -> np.ndarray:
    if content_type.split(";")[0].strip() != "text/csv":
        raise ValueError(f"The scaler reads text/csv rows, not {content_type}.")
    text = input_data.decode() if isinstance(input_data, bytes) else input_data
    rows = np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2)
    return rows


def predict_fn(data: np.ndarray, model: Any) -> np.ndarray:
    scaled: np.ndarray = model.transform(data)
    return scaled


def output_fn(prediction: np.ndarray, accept: str) -> tuple[str, str]:
    lines = (",".join(repr(float(value)) for value in row) for row in prediction)
    return "".join(line + "\n" for line in lines), "text/csv"
