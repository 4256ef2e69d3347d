"""Linear Learner's metrics and the log lines SageMaker reads them from.

This module owns the final-model metrics AWS documents (linear-learner-tuning) and
their spelling in the container's log, as seen in AWS training logs:

- binary: ``binary_classification_accuracy``, ``binary_f_<beta, 3 decimals>``,
  ``precision``, ``recall``, ``roc_auc_score``;
- multiclass: ``multiclass_accuracy``, ``multiclass_top_k_accuracy_<k>``, ``dcg``,
  ``macro_recall``, ``macro_precision``, ``macro_f_<beta>``,
  ``multiclass_balanced_accuracy``;
- regression: ``mse``, ``rmse``, ``absolute_loss``;
- always first, the objective: ``<loss name>_objective``.

Each is printed twice, as the container does: ``#<channel>_score (algo-1) : ('name',
value)`` and ``#quality_metric: host=algo-1, <channel> name <score>=value`` (``<loss>``
for the lower-is-better ones), which is what :data:`METRIC_DEFINITIONS` match. Numpy
and scipy only.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, TYPE_CHECKING

import numpy as np
import scipy.stats

if TYPE_CHECKING:
    from fogbank.ml.algorithms.linear_learner_plan import Plan

LOSS_METRICS = ("mse", "rmse", "absolute_loss")


class Log:
    """The container's log: ``[date time INFO thread] message``, flushed per line."""

    def __init__(self, host: str = "algo-1", *, quiet: bool = False, stream: IO[str] | None = None):
        self.host = host
        self.quiet = quiet
        self.stream = stream

    def info(self, message: str) -> None:
        if self.quiet:
            return
        stamp = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime())
        out = self.stream if self.stream is not None else sys.stdout
        print(f"[{stamp} INFO {threading.get_ident()}] {message}", file=out, flush=True)

    def quality(self, epoch: int, channel: str, objective: str, value: float) -> None:
        self.info(
            f"#quality_metric: host={self.host}, epoch={epoch}, {channel} {objective} "
            f"<loss>={value!r}"
        )

    def early_stopping(self, epoch: int, criteria: str, value: float) -> None:
        self.info(
            f"#early_stopping_criteria_metric: host={self.host}, epoch={epoch}, "
            f"criteria={criteria}, value={value!r}"
        )

    def progress(self, percent: float) -> None:
        self.info(f"#progress_metric: host={self.host}, completed {int(percent)} % of epochs")

    def throughput(self, rate: float) -> None:
        self.info(f"#throughput_metric: host={self.host}, train throughput={rate!r} records/second")


def log_scores(log: Log, channel: str, metrics: dict[str, float]) -> None:
    """The final-model lines for ``channel`` (validation or test)."""
    for name, value in metrics.items():
        log.info(f"#{channel}_score ({log.host}) : ({name!r}, {value!r})")
    for name, value in metrics.items():
        kind = "loss" if name.endswith("_objective") or name in LOSS_METRICS else "score"
        log.info(f"#quality_metric: host={log.host}, {channel} {name} <{kind}>={value!r}")


def evaluate(
    plan: Plan, scores: np.ndarray, labels: np.ndarray, raw_threshold: float, objective: float
) -> dict[str, float]:
    """The final model's metrics from its raw scores (rows, classes) on labelled rows."""
    metrics = {plan.objective_name: float(objective)}
    if plan.binary:
        metrics.update(binary_metrics(scores[:, 0], labels, raw_threshold, plan.f_beta))
    elif plan.multiclass:
        metrics.update(multiclass_metrics(scores, labels, plan.accuracy_top_k, plan.f_beta))
    else:
        error = scores[:, 0] - labels.astype(np.float64)
        mse = float(np.mean(error * error)) if error.size else float("nan")
        metrics.update(
            {
                "mse": mse,
                "rmse": float(np.sqrt(mse)),
                "absolute_loss": float(np.mean(np.abs(error))) if error.size else float("nan"),
            }
        )
    return metrics


def _ratio(top: float, bottom: float) -> float:
    return top / bottom if bottom > 0 else 0.0


def f_beta(precision: float, recall: float, beta: float) -> float:
    b2 = beta * beta
    return _ratio((1 + b2) * precision * recall, b2 * precision + recall)


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (ties count half), from the ranks of the scores."""
    positives = labels == 1
    count_pos = int(positives.sum())
    count_neg = len(labels) - count_pos
    if count_pos == 0 or count_neg == 0:
        return float("nan")
    ranks = scipy.stats.rankdata(scores)
    total = float(ranks[positives].sum()) - count_pos * (count_pos + 1) / 2
    return total / (count_pos * count_neg)


def binary_metrics(
    scores: np.ndarray, labels: np.ndarray, threshold: float, beta: float
) -> dict[str, float]:
    predicted = scores >= threshold
    actual = labels == 1
    tp = float(np.sum(predicted & actual))
    fp = float(np.sum(predicted & ~actual))
    fn = float(np.sum(~predicted & actual))
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    return {
        "binary_classification_accuracy": float(np.mean(predicted == actual)),
        f"binary_f_{beta:.3f}": f_beta(precision, recall, beta),
        "precision": precision,
        "recall": recall,
        "roc_auc_score": roc_auc(scores, labels),
    }


def multiclass_metrics(
    scores: np.ndarray, labels: np.ndarray, top_k: int, beta: float
) -> dict[str, float]:
    classes = scores.shape[1]
    truth = labels.astype(np.int64)
    rows = np.arange(len(truth))
    predicted = np.argmax(scores, axis=1)
    # Rank of the true class (1 = top): how many classes score strictly higher, plus 1.
    rank = 1 + np.sum(scores > scores[rows, truth][:, None], axis=1)
    precisions, recalls, fs = [], [], []
    for c in range(classes):
        tp = float(np.sum((predicted == c) & (truth == c)))
        p = _ratio(tp, float(np.sum(predicted == c)))
        r = _ratio(tp, float(np.sum(truth == c)))
        precisions.append(p)
        recalls.append(r)
        fs.append(f_beta(p, r, beta))
    present = np.bincount(truth, minlength=classes) > 0
    balanced = float(np.mean(np.asarray(recalls)[present])) if present.any() else 0.0
    return {
        "multiclass_accuracy": float(np.mean(predicted == truth)),
        f"multiclass_top_k_accuracy_{top_k}": float(np.mean(rank <= top_k)),
        "dcg": float(np.mean(1.0 / np.log2(1.0 + rank))),
        "macro_recall": float(np.mean(recalls)),
        "macro_precision": float(np.mean(precisions)),
        f"macro_f_{beta:.3f}": float(np.mean(fs)),
        "multiclass_balanced_accuracy": balanced,
    }
