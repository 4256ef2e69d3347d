"""A program that imports a sibling module of its code directory (sibling_features.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sibling_features import with_offset


def model_fn(model_dir: str) -> Any:
    return joblib.load(Path(model_dir) / "model.joblib")


def predict_fn(data: np.ndarray, model: Any) -> Any:
    return model.predict(with_offset(data))
