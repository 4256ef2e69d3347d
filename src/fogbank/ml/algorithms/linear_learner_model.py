"""Linear Learner's model files, and the model that predicts from them.

AWS's container leaves an MXNet parameter file ``model_algo-1`` in ``model/``; fogbank
cannot write MXNet, so it leaves two files of its own, stable and free of pickles:

- ``model_algo-1.npz`` (``numpy.savez``): ``weight`` float32 (feature_dim, classes) and
  ``bias`` float32 (classes,) of the chosen model on raw features, in label units (the
  scaler is folded in: ``score = features @ weight + bias``); ``feature_mean`` and
  ``feature_scale`` float64 (feature_dim,), the scaler that was folded in, for reference;
- ``model_algo-1.json``: ``{"format": "fogbank-linear-learner/1", "predictor_type",
  "loss", "num_classes", "feature_dim", "threshold" (binary: in score units, a
  probability for logistic), "raw_threshold", "label_mean", "label_scale",
  "chosen_model", "hyperparameters" (the chosen model's own), "epochs_run"}``.

:meth:`LinearLearnerModel.predict` answers as ``LL-in-formats`` describes: binary
``score`` = P(label 1) for logistic (a raw margin for hinge_loss) and
``predicted_label`` from the calibrated threshold; multiclass ``score`` = the softmax
vector and ``predicted_label`` its argmax; regression ``score`` only. Numpy only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse

from fogbank.core.errors import ValidationException
from fogbank.ml.algorithms.base import Predictions

if TYPE_CHECKING:
    from fogbank.ml.algorithms.linear_learner_engine import Fitted

MODEL_FILE = "model_algo-1.npz"
SETTINGS_FILE = "model_algo-1.json"
FORMAT = "fogbank-linear-learner/1"


def save(model_dir: Path, fitted: Fitted) -> None:
    """Write the chosen model into ``model_dir`` (created if absent)."""
    plan = fitted.plan
    model_dir.mkdir(parents=True, exist_ok=True)
    with (model_dir / MODEL_FILE).open("wb") as out:
        np.savez(
            out,
            weight=fitted.weight.astype(np.float32),
            bias=fitted.bias.astype(np.float32),
            feature_mean=fitted.scaler.mean.astype(np.float64),
            feature_scale=fitted.scaler.scale.astype(np.float64),
        )
    raw = float(fitted.raw_threshold)
    threshold = _sigmoid(raw) if plan.loss == "logistic" else raw
    settings: dict[str, Any] = {
        "format": FORMAT,
        "predictor_type": plan.predictor_type,
        "loss": plan.loss,
        "num_classes": plan.num_classes if plan.multiclass else None,
        "feature_dim": int(fitted.weight.shape[0]),
        "threshold": threshold if plan.binary else None,
        "raw_threshold": raw if plan.binary else None,
        "label_mean": fitted.scaler.label_mean,
        "label_scale": fitted.scaler.label_scale,
        "chosen_model": fitted.chosen,
        "hyperparameters": plan.model_settings(fitted.chosen),
        "epochs_run": fitted.epochs_run,
    }
    (model_dir / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n", "utf-8")


def _sigmoid(value: float) -> float:
    if value >= 0:
        return float(1.0 / (1.0 + np.exp(-value)))
    e = float(np.exp(value))
    return e / (1.0 + e)


class LinearLearnerModel:
    """The chosen linear model: ``features @ weight + bias``, read by the predictor type."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray, settings: dict[str, Any]) -> None:
        self.weight = weight
        self.bias = bias
        self.settings = settings
        self.predictor_type: str = settings["predictor_type"]
        self.loss: str = settings["loss"]
        self.feature_dim = int(weight.shape[0])

    def predict(self, features: np.ndarray | scipy.sparse.csr_matrix) -> Predictions:
        features = self._fit_width(features)
        scores = np.asarray(features @ self.weight, dtype=np.float32) + self.bias
        if self.predictor_type == "regressor":
            return Predictions(score=scores[:, 0].astype(np.float32))
        if self.predictor_type == "multiclass_classifier":
            shifted = scores - scores.max(axis=1, keepdims=True)
            exp = np.exp(shifted)
            probabilities = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
            label = probabilities.argmax(axis=1).astype(np.float32)
            return Predictions(score=probabilities, predicted_label=label)
        raw = scores[:, 0]
        if self.loss == "logistic":
            # Split by sign so that exp never overflows.
            e = np.exp(-np.abs(raw))
            score = np.where(raw >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.float32)
        else:
            score = raw.astype(np.float32)
        threshold = float(self.settings["threshold"])
        return Predictions(score=score, predicted_label=(score >= threshold).astype(np.float32))

    def _fit_width(
        self, features: np.ndarray | scipy.sparse.csr_matrix
    ) -> np.ndarray | scipy.sparse.csr_matrix:
        width = int(features.shape[1])
        if width == self.feature_dim:
            return features
        if scipy.sparse.issparse(features) and width < self.feature_dim:
            # Sparse rows without the highest indices: the absent features are 0.
            csr = scipy.sparse.csr_matrix(features)
            return scipy.sparse.csr_matrix(
                (csr.data, csr.indices, csr.indptr), shape=(csr.shape[0], self.feature_dim)
            )
        raise ValidationException(
            f"The request's rows have {width} features but the model was trained on "
            f"{self.feature_dim} (feature_dim); send rows of {self.feature_dim} features."
        )


def load(model_dir: Path) -> LinearLearnerModel:
    """The model ``train`` left in ``model_dir``."""
    path = model_dir / MODEL_FILE
    settings_path = model_dir / SETTINGS_FILE
    if not path.exists() or not settings_path.exists():
        raise ValidationException(
            f"No linear-learner model in {model_dir}: expected {MODEL_FILE} and {SETTINGS_FILE}."
        )
    settings = json.loads(settings_path.read_text("utf-8"))
    if settings.get("format") != FORMAT:
        raise ValidationException(
            f"{settings_path} is not a {FORMAT} model (format {settings.get('format')!r})."
        )
    with np.load(path, allow_pickle=False) as arrays:
        weight = np.asarray(arrays["weight"], dtype=np.float32)
        bias = np.asarray(arrays["bias"], dtype=np.float32)
    return LinearLearnerModel(weight, bias, settings)
