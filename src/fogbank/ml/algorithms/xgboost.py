"""SageMaker's built-in XGBoost (``xgboost``), run for real with the xgboost library.

This module owns the algorithm (``ALGORITHM``) in the shape of AWS's container
(``aws/sagemaker-xgboost-container``, ``algorithm_mode``): its channels and content
types (``data_utils.py``), training with the eval lines it prints
(``[3]\ttrain-rmse:0.51234\tvalidation-rmse:0.61234``, shown by CloudWatch as
``#011``), and the model it leaves behind: ``model/xgboost-model`` in XGBoost's native
UBJSON format (what ``Booster.save_model`` writes, as the container does since 1.3-1),
which :func:`load` reads back to predict. Its siblings own the rest:
:mod:`~fogbank.ml.algorithms.xgboost_hyperparameters` (the declarations and rules
between parameters) and :mod:`~fogbank.ml.algorithms.xgboost_metrics` (metric names,
regexes, the container's own metrics).

As in the container, only the hyperparameters the job gave reach ``xgboost.train``:
the defaults declared here are AWS's documented ones, but XGBoost applies its own
(which agree, except ``base_score``, which XGBoost >= 2 estimates from the labels).

Differences from AWS, and why:

- Multi-host jobs train on each host's own data (no Rabit/collective tracker between
  the local host processes); only the leader (``algo-1``) writes the model.
- Parameters the library dropped in XGBoost 2/3 (``predictor``, ``dsplit``,
  ``single_precision_histogram``, ``deterministic_histogram``, ``lambda_bias``,
  ``silent``, ``prob_buffer_row``) are validated as AWS does, then not passed on;
  ``tree_method=gpu_hist`` becomes ``device=cuda`` with ``tree_method=hist``;
  ``reg:linear`` becomes ``reg:squarederror``.
- No checkpoints, no SIGTERM save, no k-fold (``_kfold``) training.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fogbank.core.errors import ValidationException
from fogbank.ml.algorithms.base import ChannelSpec, MetricDefinition, Predictions
from fogbank.ml.algorithms.hyperparameters import Hyperparameter
from fogbank.ml.algorithms.xgboost_hyperparameters import (
    HYPERPARAMETERS,
    NAME,
    booster_params,
    cpu_count,
    tuning_metric,
    validate,
)
from fogbank.ml.algorithms.xgboost_metrics import (
    CUSTOM_METRICS,
    custom_metric,
    metric_definitions,
)

if TYPE_CHECKING:
    import scipy.sparse

    from fogbank.ml.training.environment import Channel, ContainerEnvironment

MODEL_FILE = "xgboost-model"


def _log(message: str) -> None:
    """One log line as the container's logging prints it (``[date:time:LEVEL] text``)."""
    stamp = time.strftime("%Y-%m-%d:%H:%M:%S", time.gmtime())
    print(f"[{stamp}:INFO] {message}", flush=True)


# ---------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class _Data:
    features: np.ndarray | scipy.sparse.csr_matrix
    labels: np.ndarray
    weights: np.ndarray | None


def _content_type(channel: Channel) -> Any:
    """The channel's content type as the container reads it: libsvm when absent;
    CSV must carry its label (``label_size`` 1)."""
    from fogbank.ml import formats

    raw = channel.content_type
    try:
        # parse_content_type takes the container's bare names (csv, libsvm, ...) too.
        parsed = formats.parse_content_type(raw, default="text/libsvm")
    except formats.FormatError as error:
        raise ValidationException(
            f"{raw} is not an accepted ContentType for xgboost: 'csv', 'libsvm', 'parquet', "
            "'recordio-protobuf', 'text/csv', 'text/libsvm', 'text/x-libsvm', "
            f"'application/x-parquet', 'application/x-recordio-protobuf'. ({error})"
        ) from None
    if parsed.mime not in CONTENT_TYPES:
        raise ValidationException(
            f"{raw} is not an accepted ContentType for xgboost: " + ", ".join(CONTENT_TYPES)
        )
    if parsed.mime == "text/csv" and parsed.label_size != 1:
        raise ValidationException(
            f"{raw} is not an accepted csv ContentType. Optional parameter label_size must "
            "be equal to 1"
        )
    if parsed.mime == "text/libsvm" and channel.input_mode == "Pipe":
        raise ValidationException(
            f"Channel {channel.name!r}: Pipe mode does not support text/libsvm; use File mode "
            "or text/csv, application/x-parquet or application/x-recordio-protobuf."
        )
    return parsed


def _read(channel: Channel, *, csv_weights: bool, feature_dim: int | None) -> _Data | None:
    """The whole channel in memory, as the container's File mode does (one DMatrix)."""
    from fogbank.ml import formats

    ctype = _content_type(channel)
    # Sparse formats stay sparse, so that absent entries are "missing" to XGBoost,
    # as when the container hands the libsvm file to XGBoost's own parser.
    sparse = ctype.mime in ("text/libsvm", "application/x-recordio-protobuf")
    try:
        batch = formats.read_all(
            channel.epoch(0),
            ctype,
            feature_dim=feature_dim,
            sparse=sparse,
            # libsvm carries weights as label:weight, read always (1 when absent), as
            # XGBoost's own parser does; CSV only when csv_weights says column 2 is one.
            weights=ctype.mime == "text/libsvm" or (csv_weights and ctype.mime == "text/csv"),
            source=channel.name,
        )
    except formats.FormatError as error:
        raise ValidationException(f"Channel {channel.name!r}: {error}") from None
    if batch.features.shape[0] == 0:
        return None
    if batch.labels is None:
        raise ValidationException(
            f"Channel {channel.name!r} has no labels: xgboost trains on labelled rows "
            "(the first CSV column, the libsvm label, the recordio-protobuf label)."
        )
    return _Data(batch.features, batch.labels, batch.weights)


def _dmatrix(data: _Data, nthread: int) -> Any:
    import xgboost as xgb

    # Straight from the arrays: no copy beyond what XGBoost's own import makes.
    return xgb.DMatrix(
        data.features, label=data.labels, weight=data.weights, nthread=nthread, missing=np.nan
    )


# ---------------------------------------------------------------------------------
# Training


def _evaluation_printer(start: int = 0) -> Any:
    import xgboost as xgb

    class EvaluationPrinter(xgb.callback.TrainingCallback):
        """Prints ``[i]\\ttrain-rmse:0.50000\\tvalidation-rmse:0.60000`` each round, as
        the container's print_checkpointed_evaluation (XGBoost's EvaluationMonitor)."""

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if evals_log:
                parts = [f"[{epoch + start}]"]
                for data, metrics in evals_log.items():
                    for metric, log in metrics.items():
                        score = log[-1][0] if isinstance(log[-1], tuple) else log[-1]
                        parts.append(f"{data}-{metric}:{score:.5f}")
                sys.stdout.write("\t".join(parts) + "\n")
                sys.stdout.flush()
            return False

    return EvaluationPrinter()


def fit(
    params: Mapping[str, Any],
    train: Any,
    *,
    num_round: int,
    validation: Any = None,
    eval_metrics: Sequence[str] = (),
    early_stopping_rounds: int | None = None,
) -> Any:
    """``xgboost.train`` as the container calls it, printing its eval lines."""
    import xgboost as xgb

    config = dict(params)
    native = [m for m in eval_metrics if m not in CUSTOM_METRICS]
    custom = [m for m in eval_metrics if m in CUSTOM_METRICS]
    if native:
        config["eval_metric"] = native
    # Custom metrics alone leave XGBoost's default metric on, as in the container
    # (it pops an empty eval_metric and passes feval).
    evals = [(train, "train")]
    if validation is not None:
        evals.append((validation, "validation"))
    objective = str(config.get("objective", "reg:squarederror"))
    return xgb.train(
        config,
        train,
        num_boost_round=num_round,
        evals=evals,
        custom_metric=custom_metric(custom, objective) if custom else None,
        early_stopping_rounds=early_stopping_rounds,
        callbacks=[_evaluation_printer()],
        verbose_eval=False,
    )


def train(env: ContainerEnvironment) -> None:
    """Train on ``train`` (and ``validation``), print the eval lines, and (leader only)
    save ``model/xgboost-model``."""
    given = env.hyperparameters
    typed = validate(given)
    params = booster_params(given, typed)
    nthread = int(params["nthread"])
    metrics = list(typed["eval_metric"] or [])
    for metric in tuning_metric(given):
        if metric not in metrics:
            metrics.append(metric)

    train_channel = env.channel("train")
    if train_channel is None:
        raise ValidationException("xgboost needs a 'train' channel.")
    csv_weights = typed["csv_weights"] == 1
    train_data = _read(train_channel, csv_weights=csv_weights, feature_dim=None)
    if train_data is None:
        raise ValidationException(f"No data in training channel path {train_channel.path}")
    validation_channel = env.channel("validation")
    validation_data = None
    if validation_channel is not None:
        validation_data = _read(
            validation_channel, csv_weights=csv_weights, feature_dim=train_data.features.shape[1]
        )
        if validation_data is None:
            raise ValidationException(
                f"No data in validation channel path {validation_channel.path}"
            )

    if len(env.hosts) > 1:
        _log(
            f"Distributed node training with {len(env.hosts)} hosts: {', '.join(env.hosts)} "
            "(fogbank: each host trains on its own data; the leader saves the model)"
        )
    else:
        _log("Single node training.")
    dtrain = _dmatrix(train_data, nthread)
    dvalidation = _dmatrix(validation_data, nthread) if validation_data is not None else None
    _log(f"Train matrix has {dtrain.num_row()} rows and {dtrain.num_col()} columns")
    if dvalidation is not None:
        _log(f"Validation matrix has {dvalidation.num_row()} rows")

    import xgboost as xgb

    try:
        booster = fit(
            params,
            dtrain,
            num_round=typed["num_round"],
            validation=dvalidation,
            eval_metrics=metrics,
            early_stopping_rounds=typed["early_stopping_rounds"],
        )
    except xgb.core.XGBoostError as error:
        raise ValidationException(f"XGB train call failed with exception:\n {error}") from None

    if env.is_leader:
        env.model_dir.mkdir(parents=True, exist_ok=True)
        # XGBoost's native UBJSON format, what save_model writes for a name without an
        # extension (as the container's xgboost-model); written from save_raw so that
        # XGBoost does not warn about the missing extension.
        (env.model_dir / MODEL_FILE).write_bytes(bytes(booster.save_raw("ubj")))


# ---------------------------------------------------------------------------------
# Inference


class XGBoostModel:
    """A Booster loaded from ``xgboost-model``; predicts as the container's serving."""

    def __init__(self, booster: Any) -> None:
        self.booster = booster
        config = json.loads(booster.save_config())
        self.objective: str = config["learner"]["objective"]["name"]
        self.num_features: int = booster.num_features()
        best = booster.attr("best_iteration")
        # Early stopping: serve the best model, as the container does.
        self.iteration_range = (0, int(best) + 1) if best is not None else (0, 0)

    def predict(self, features: np.ndarray | scipy.sparse.csr_matrix) -> Predictions:
        import xgboost as xgb

        if features.shape[1] < self.num_features:
            features = _widen(features, self.num_features)
        data = xgb.DMatrix(features, missing=np.nan, nthread=cpu_count())
        score = np.asarray(
            self.booster.predict(data, iteration_range=self.iteration_range), dtype=np.float32
        )
        label: np.ndarray | None = None
        if self.objective == "binary:logistic":
            label = (score >= 0.5).astype(np.float32)
        elif self.objective in ("binary:hinge", "multi:softmax"):
            label = score  # these objectives predict the class itself
        elif self.objective == "multi:softprob":
            label = score.argmax(axis=1).astype(np.float32)
        return Predictions(score=score, predicted_label=label)


def _widen(
    features: np.ndarray | scipy.sparse.csr_matrix, width: int
) -> np.ndarray | scipy.sparse.csr_matrix:
    """Rows with fewer columns than the model (libsvm without the highest index):
    the absent columns are missing."""
    if isinstance(features, np.ndarray):
        wide = np.full((features.shape[0], width), np.nan, dtype=np.float32)
        wide[:, : features.shape[1]] = features
        return wide
    import scipy.sparse

    return scipy.sparse.csr_matrix(
        (features.data, features.indices, features.indptr), shape=(features.shape[0], width)
    )


def load(model_dir: Path) -> XGBoostModel:
    import xgboost as xgb

    path = model_dir / MODEL_FILE
    if not path.exists():
        raise ValidationException(f"No XGBoost model at {path}.")
    booster = xgb.Booster()
    # From bytes: XGBoost detects UBJSON, JSON or the old binary format by content, so
    # models saved by AWS's containers (>= 1.3-1) load too.
    booster.load_model(bytearray(path.read_bytes()))
    return XGBoostModel(booster)


# ---------------------------------------------------------------------------------
# The algorithm

CHANNELS = ChannelSpec(required=("train",), optional=("validation",))
CONTENT_TYPES = (
    "text/libsvm",
    "text/csv",
    "application/x-parquet",
    "application/x-recordio-protobuf",
)
INFERENCE_CONTENT_TYPES = ("text/csv", "text/libsvm", "application/x-recordio-protobuf")


@dataclass(frozen=True)
class XGBoost:
    """SageMaker's ``xgboost`` image in algorithm mode."""

    name: str = NAME
    hyperparameters: tuple[Hyperparameter, ...] = HYPERPARAMETERS
    channels: ChannelSpec = CHANNELS
    content_types: tuple[str, ...] = CONTENT_TYPES
    inference_content_types: tuple[str, ...] = INFERENCE_CONTENT_TYPES
    metric_definitions: tuple[MetricDefinition, ...] = metric_definitions()

    def validate(self, given: Mapping[str, str]) -> dict[str, Any]:
        return validate(given)

    def train(self, env: ContainerEnvironment) -> None:
        train(env)

    def load(self, model_dir: Path) -> XGBoostModel:
        return load(model_dir)


ALGORITHM = XGBoost()
