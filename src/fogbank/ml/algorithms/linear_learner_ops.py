"""Linear Learner's element-wise losses and its threshold calibration, in PyTorch.

This module owns every loss AWS documents for ``linear-learner`` as a value and a
gradient with respect to the score (logistic, hinge_loss with ``margin``,
softmax_loss, squared_loss, absolute_loss, eps_insensitive_squared_loss and
eps_insensitive_absolute_loss with ``loss_insensitivity``, quantile_loss with
``quantile``, huber_loss with ``huber_delta``), and the search of the decision
threshold that makes a binary model best on the selection criterion, for every model
at once. PyTorch is imported inside the functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fogbank.ml.algorithms.linear_learner_plan import Plan

if TYPE_CHECKING:
    import torch

# Models calibrated together (bounds the sort's (rows, models) temporaries).
CALIBRATION_MODELS = 8


@dataclass(frozen=True)
class LossParameters:
    margin: float
    quantile: float
    insensitivity: float
    delta: float

    @classmethod
    def of(cls, plan: Plan, label_scale: float = 1.0) -> LossParameters:
        # Regression parameters are in label units: on normalized labels they shrink too.
        return cls(
            plan.margin,
            plan.quantile,
            plan.loss_insensitivity / label_scale,
            plan.huber_delta / label_scale,
        )


def loss_and_grad(
    loss: str, z: torch.Tensor, y: torch.Tensor, p: LossParameters, grad: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-element loss and d loss / d score for scores ``z`` (rows, columns) and
    labels ``y`` (rows, 1). softmax_loss is :func:`softmax_loss_and_grad`."""
    import torch
    from torch.nn.functional import softplus

    if loss == "logistic":
        value = softplus(z) - y * z
        return value, (torch.sigmoid(z) - y) if grad else None
    if loss == "hinge_loss":
        sign = 2.0 * y - 1.0
        slack = p.margin - sign * z
        return slack.clamp_min(0.0), (-sign * (slack > 0)) if grad else None
    if loss == "quantile_loss":
        r = y - z
        value = torch.maximum(p.quantile * r, (p.quantile - 1.0) * r)
        return value, torch.where(r > 0, -p.quantile, 1.0 - p.quantile) if grad else None
    r = z - y
    if loss == "squared_loss":
        return r * r, (2.0 * r) if grad else None
    if loss == "absolute_loss":
        return r.abs(), torch.sign(r) if grad else None
    if loss == "eps_insensitive_squared_loss":
        excess = (r.abs() - p.insensitivity).clamp_min(0.0)
        return excess * excess, (2.0 * excess * torch.sign(r)) if grad else None
    if loss == "eps_insensitive_absolute_loss":
        excess = (r.abs() - p.insensitivity).clamp_min(0.0)
        return excess, (torch.sign(r) * (excess > 0)) if grad else None
    if loss == "huber_loss":
        a = r.abs()
        value = torch.where(a <= p.delta, 0.5 * r * r, p.delta * (a - 0.5 * p.delta))
        return value, r.clamp(-p.delta, p.delta) if grad else None
    raise ValueError(f"unknown loss {loss!r}")


def softmax_loss_and_grad(
    z: torch.Tensor, y: torch.Tensor, classes: int, grad: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Cross entropy per (row, model) and its gradient for scores (rows, models*classes)."""
    import torch

    rows = z.shape[0]
    z3 = z.view(rows, -1, classes)
    lse = torch.logsumexp(z3, dim=2, keepdim=True)
    index = y.long().view(rows, 1, 1).expand(rows, z3.shape[1], 1)
    value = (lse - z3.gather(2, index)).squeeze(2)
    if not grad:
        return value, None
    g = torch.exp(z3 - lse)
    g.scatter_add_(2, index, torch.full_like(index, -1, dtype=g.dtype))
    return value, g.view(rows, -1)


def calibrate(z: torch.Tensor, y: torch.Tensor, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Each column's best value of the binary criterion over decision thresholds, and
    that threshold (predict 1 when score >= threshold)."""
    values, thresholds = [], []
    for start in range(0, z.shape[1], CALIBRATION_MODELS):
        v, t = _calibrate(z[:, start : start + CALIBRATION_MODELS], y, plan)
        values.append(v)
        thresholds.append(t)
    return np.concatenate(values), np.concatenate(thresholds)


def _calibrate(z: torch.Tensor, y: torch.Tensor, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    import torch

    # One model per row, so that the sort and the running sums walk contiguous memory.
    z = z.t().contiguous()
    n = z.shape[1]
    finite = torch.isfinite(z).all(1)
    z = torch.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)
    ordered, order = torch.sort(z, dim=1, descending=True)
    # Counts stay exact in float32 up to 2**24 rows; calibration samples are fewer.
    tp = torch.cumsum(y[order], dim=1)
    k = torch.arange(1, n + 1, device=z.device, dtype=tp.dtype)[None, :]
    fp = k - tp
    positives = float(y.sum())
    negatives = n - positives
    criterion = plan.selection
    if criterion == "accuracy":
        value = (tp + (negatives - fp)) / n
    else:
        precision = tp / k
        recall = tp / positives if positives > 0 else torch.zeros_like(tp)
        if criterion == "f_beta":
            b2 = plan.f_beta**2
            value = torch.nan_to_num((1 + b2) * precision * recall / (b2 * precision + recall))
        elif criterion == "precision_at_target_recall":
            value = torch.where(recall >= plan.target_recall, precision, -1.0)
        else:  # recall_at_target_precision
            value = torch.where(precision >= plan.target_precision, recall, -1.0)
    # Only cut where the score changes: tied rows get the same prediction.
    value[:, :-1].masked_fill_(ordered[:, :-1] == ordered[:, 1:], -2.0)
    best, at = value.max(dim=1)
    below = ordered.gather(1, (at + 1).clamp(max=n - 1)[:, None])[:, 0]
    above = ordered.gather(1, at[:, None])[:, 0]
    threshold = torch.where(at < n - 1, (above + below) / 2, above - 1.0)
    if criterion == "accuracy":
        # Predicting no positive at all is a candidate too.
        none = negatives / n
        threshold = torch.where(best < none, ordered[:, 0] + 1.0, threshold)
        best = torch.clamp(best, min=none)
    best = torch.where(finite, best.clamp(min=0.0), -math.inf)
    return best.double().cpu().numpy(), threshold.double().cpu().numpy()
