"""A program that only loads its model: every other handler is the container's default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib


def model_fn(model_dir: str) -> Any:
    return joblib.load(Path(model_dir) / "model.joblib")
