"""XGBoost's metrics as AWS's container names, computes and publishes them.

This module owns the metric names the container accepts and publishes
(``xgb_constants.py``), the regexes SageMaker reads them from the log with
(``metrics.py``: ``train:`` and ``validation:`` for each), and the metrics the
container computes itself rather than XGBoost (``custom_metrics.py``: accuracy, f1,
mse, r2, precision, recall and their averages), in NumPy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fogbank.ml.algorithms.base import MetricDefinition

# xgb_constants.py: the metrics the container accepts in eval_metric and publishes.
MAXIMIZE_METRICS = (
    "accuracy",
    "auc",
    "aucpr",
    "balanced_accuracy",
    "f1",
    "f1_binary",
    "f1_macro",
    "map",
    "ndcg",
    "precision",
    "r2",
    "recall",
    "precision_macro",
    "precision_micro",
    "recall_macro",
    "recall_micro",
)
MINIMIZE_METRICS = (
    "aft-nloglik",
    "cox-nloglik",
    "error",
    "gamma-deviance",
    "gamma-nloglik",
    "interval-regression-accuracy",
    "logloss",
    "mae",
    "mape",
    "merror",
    "mlogloss",
    "mphe",
    "mse",
    "poisson-nloglik",
    "rmse",
    "rmsle",
    "tweedie-nloglik",
)

# CloudWatch shows the tab xgboost prints as "#011"; the log parser does the same
# replacement before matching, so the regexes are written against "#011".
_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def metric_definitions() -> tuple[MetricDefinition, ...]:
    return tuple(
        MetricDefinition(
            f"{segment}:{metric}",
            rf".*\[[0-9]+\].*#011{segment}-{metric}:{_NUMBER}.*",
        )
        for segment in ("validation", "train")
        for metric in MAXIMIZE_METRICS + MINIMIZE_METRICS
    )


# Container-defined metrics (custom_metrics.py). With a built-in objective XGBoost
# hands ``custom_metric`` the transformed predictions (probabilities, class ids), as
# the container's ``feval`` received them.


def _classes(objective: str, preds: np.ndarray) -> np.ndarray:
    """Predicted classes: argmax of class scores, else the rounded prediction."""
    if preds.ndim == 2:
        return np.asarray(preds.argmax(axis=1), dtype=np.float64)
    if objective == "binary:logitraw":
        return np.asarray(preds > 0, dtype=np.float64)
    return np.asarray(np.round(preds), dtype=np.float64)


def _prf(labels: np.ndarray, preds: np.ndarray, average: str) -> tuple[float, float, float]:
    """Precision, recall and F1 (``binary``: class 1; ``macro``; ``micro``)."""
    if average == "binary":
        classes: Sequence[float] = [1.0]
    else:
        classes = sorted(set(labels.tolist()) | set(preds.tolist()))
    tp = np.array([np.sum((preds == c) & (labels == c)) for c in classes], dtype=np.float64)
    fp = np.array([np.sum((preds == c) & (labels != c)) for c in classes], dtype=np.float64)
    fn = np.array([np.sum((preds != c) & (labels == c)) for c in classes], dtype=np.float64)
    if average == "micro":
        tp, fp, fn = np.array([tp.sum()]), np.array([fp.sum()]), np.array([fn.sum()])
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return float(precision.mean()), float(recall.mean()), float(f1.mean())


def _custom_metric_value(name: str, labels: np.ndarray, preds: np.ndarray, objective: str) -> float:
    if name in ("mse", "r2"):
        values = preds.reshape(labels.shape[0], -1)[:, 0]
        mse = float(np.mean((labels - values) ** 2))
        if name == "mse":
            return mse
        variance = float(np.var(labels))
        return 1.0 - mse / variance if variance > 0 else 0.0
    classes = _classes(objective, preds)
    if name == "accuracy":
        return float(np.mean(classes == labels))
    if name == "balanced_accuracy":
        recalls = [float(np.mean(classes[labels == c] == c)) for c in np.unique(labels)]
        return float(np.mean(recalls))
    average = {"f1": "macro", "f1_macro": "macro", "f1_binary": "binary"}.get(name)
    if average is not None:
        return _prf(labels, classes, average)[2]
    kind, _, average = name.partition("_")
    precision, recall, _ = _prf(labels, classes, average or "binary")
    return precision if kind == "precision" else recall


CUSTOM_METRICS = frozenset(
    {
        "accuracy",
        "balanced_accuracy",
        "f1",
        "f1_binary",
        "f1_macro",
        "mse",
        "precision",
        "precision_macro",
        "precision_micro",
        "r2",
        "recall",
        "recall_macro",
        "recall_micro",
    }
)


def custom_metric(
    names: Sequence[str], objective: str
) -> Callable[[np.ndarray, Any], list[tuple[str, float]]]:
    def evaluate(preds: np.ndarray, data: Any) -> list[tuple[str, float]]:
        labels = data.get_label()
        return [(n, _custom_metric_value(n, labels, preds, objective)) for n in names]

    return evaluate
