"""A program whose handlers fail: predict_fn with a plain exception, input_fn with a
toolkit-style error that carries its own status (``BaseInferenceToolkitError``'s shape)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib


class RequestRefused(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(status_code, message)
        self.status_code = status_code
        self.message = message


def model_fn(model_dir: str) -> Any:
    return joblib.load(Path(model_dir) / "model.joblib")


def input_fn(input_data: str | bytes, content_type: str) -> str | bytes:
    if content_type == "application/x-refuse":
        raise RequestRefused(422, "This program refuses application/x-refuse bodies.")
    return input_data


def predict_fn(data: Any, model: Any) -> Any:
    raise ValueError("the model cannot score this request: feature 'age' is missing")
