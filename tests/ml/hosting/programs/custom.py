"""A program with its own input_fn, predict_fn and output_fn: a JSON document
``{"instances": [[...], ...]}`` in, class probabilities out as JSON, the body alone (the
response's content type is then the accept type)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib
import numpy as np


def model_fn(model_dir: str) -> Any:
    return joblib.load(Path(model_dir) / "model.joblib")


def input_fn(input_data: str | bytes, content_type: str) -> np.ndarray:
    if content_type != "application/json":
        raise ValueError(f"custom reads application/json, not {content_type}")
    document = json.loads(input_data)
    return np.asarray(document["instances"], dtype=np.float64)


def predict_fn(data: np.ndarray, model: Any, context: Any) -> dict[str, Any]:
    # The optional last parameter: the request context, as the toolkit passes it.
    probabilities = model.predict_proba(data)
    return {
        "probabilities": probabilities.tolist(),
        "attributes": context.get_request_header(0, "X-Amzn-SageMaker-Custom-Attributes"),
    }


def output_fn(prediction: dict[str, Any], accept: str) -> str:
    return json.dumps(prediction)
