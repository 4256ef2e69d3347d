"""SageMaker's built-in Linear Learner (``linear-learner``), run for real with PyTorch.

This module owns the algorithm's contract as AWS documents it (developer guide pages
``ll_hyperparameters``, ``linear-learner-tuning``, ``LL-in-formats``, ``ll_how-it-works``):
every hyperparameter with AWS's name, default, type and interval, the rules between
them, the channels (train; optional validation and test) and content types, the metric
regexes, and the process contract of ``train(env)``. The pieces live in siblings:

- :mod:`~fogbank.ml.algorithms.linear_learner_plan`: ``auto`` resolved into one plan
  (how many models, and each model's learning rate, wd, l1, positive weight);
- :mod:`~fogbank.ml.algorithms.linear_learner_engine`: the models trained at once as
  one batched tensor program, early stopping, model selection, threshold calibration;
- :mod:`~fogbank.ml.algorithms.linear_learner_metrics`: the metrics and the log lines;
- :mod:`~fogbank.ml.algorithms.linear_learner_model`: the model files and ``predict``.

The log lines are the container's (seen in AWS training logs)::

    #quality_metric: host=algo-1, epoch=0, train mse_objective <loss>=0.968532333374
    #quality_metric: host=algo-1, epoch=0, validation mse_objective <loss>=88.1902204241
    #early_stopping_criteria_metric: host=algo-1, epoch=0, criteria=sampled_accuracy, value=0.94
    #validation_score (algo-1) : ('binary_classification_accuracy', 0.9947933615359583)
    #quality_metric: host=algo-1, validation binary_classification_accuracy <score>=0.99479
    #test_score (algo-1) : ('roc_auc_score', 0.9992747948083756)
    #quality_metric: host=algo-1, test roc_auc_score <score>=0.99927

and :data:`METRIC_DEFINITIONS` are the regexes DescribeTrainingJob shows for AWS's
linear-learner image (plus the few its 40-entry list leaves out: roc_auc_score, rmse).

Differences from AWS, and why:

- The model is not MXNet's ``model_algo-1``: ``model/`` holds ``model_algo-1.npz`` and
  ``model_algo-1.json`` (see :mod:`~fogbank.ml.algorithms.linear_learner_model`).
- Multi-host jobs train on each host's own data (no parameter server); only the
  leader (``algo-1``) writes the model. No checkpoints for spot training.
- The per-epoch ``#metrics {json}`` lines, one per model, are not printed. As in AWS's
  logs, the per-epoch ``train``/``validation`` objective lines report model 0 (the one
  trained with exactly the given hyperparameters); the final lines report the chosen one.
- Objective names other than ``binary_classification_cross_entropy``, ``mse`` and
  ``multiclass_cross_entropy`` (seen in AWS logs) follow the pattern with the loss's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fogbank.ml.algorithms.base import ChannelSpec, MetricDefinition
from fogbank.ml.algorithms.hyperparameters import AUTO, Hyperparameter, coerce, invalid

if TYPE_CHECKING:
    from fogbank.ml.algorithms.linear_learner_model import LinearLearnerModel
    from fogbank.ml.training.environment import ContainerEnvironment

NAME = "linear-learner"

PREDICTOR_TYPES = ("binary_classifier", "multiclass_classifier", "regressor")

# The losses each predictor_type accepts; the first is what ``auto`` means
# (ll_hyperparameters, "loss": the available options depend on predictor_type).
LOSSES: dict[str, tuple[str, ...]] = {
    "binary_classifier": ("logistic", "hinge_loss"),
    "multiclass_classifier": ("softmax_loss",),
    "regressor": (
        "squared_loss",
        "absolute_loss",
        "eps_insensitive_squared_loss",
        "eps_insensitive_absolute_loss",
        "quantile_loss",
        "huber_loss",
    ),
}
ALL_LOSSES = (
    "logistic",
    "squared_loss",
    "absolute_loss",
    "hinge_loss",
    "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss",
    "quantile_loss",
    "huber_loss",
    "softmax_loss",
)

# The documented criteria, plus the two spellings the Python SDK also sends.
SELECTION_CRITERIA = (
    "accuracy",
    "f_beta",
    "precision_at_target_recall",
    "recall_at_target_precision",
    "loss_function",
    "f1",
    "cross_entropy_loss",
)

# Training content types, the default first: a channel without ContentType is read as
# recordIO-protobuf, the format the SDK's record_set writes for the 1P algorithms.
CONTENT_TYPES = ("application/x-recordio-protobuf", "text/csv")
CHANNELS = ChannelSpec(required=("train",), optional=("validation", "test"))
INFERENCE_CONTENT_TYPES = ("text/csv", "application/json", "application/x-recordio-protobuf")


def _h(name: str, kind: Any, default: str | None = None, **kwargs: Any) -> Hyperparameter:
    return Hyperparameter(name=name, kind=kind, default=default, **kwargs)


HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    _h("predictor_type", "str", required=True, options=PREDICTOR_TYPES),
    _h("num_classes", "int", low=3, high=1_000_000),
    # Documented as required in the overview and as optional (auto) in the table; the
    # SDK fills it from the data. auto: the width of the training data.
    _h("feature_dim", "int", "auto", low=1, allow_auto=True),
    _h("accuracy_top_k", "int", "3", low=1),
    _h("balance_multiclass_weights", "bool", "false"),
    _h("beta_1", "float", "auto", low=0, high=1, high_open=True, allow_auto=True),
    _h("beta_2", "float", "auto", low=0, high=1, high_open=True, allow_auto=True),
    _h("bias_lr_mult", "float", "auto", low=0, low_open=True, allow_auto=True),
    _h("bias_wd_mult", "float", "auto", low=0, allow_auto=True),
    _h("binary_classifier_model_selection_criteria", "str", "accuracy", options=SELECTION_CRITERIA),
    _h("early_stopping_patience", "int", "3", low=1),
    _h("early_stopping_tolerance", "float", "0.001", low=0, low_open=True),
    _h("epochs", "int", "15", low=1),
    _h("f_beta", "float", "1.0", low=0, low_open=True),
    _h("huber_delta", "float", "1.0", low=0, low_open=True),
    _h("init_bias", "float", "0"),
    _h("init_method", "str", "uniform", options=("uniform", "normal")),
    _h("init_scale", "float", "0.07", low=0, low_open=True),
    _h("init_sigma", "float", "0.01", low=0, low_open=True),
    _h("l1", "float", "auto", low=0, allow_auto=True),
    _h("learning_rate", "float", "auto", low=0, low_open=True, allow_auto=True),
    _h("loss", "str", "auto", options=ALL_LOSSES, allow_auto=True),
    _h("loss_insensitivity", "float", "0.01", low=0, low_open=True),
    _h("lr_scheduler_factor", "float", "auto", low=0, high=1, low_open=True, allow_auto=True),
    _h("lr_scheduler_minimum_lr", "float", "auto", low=0, low_open=True, allow_auto=True),
    _h("lr_scheduler_step", "int", "auto", low=1, allow_auto=True),
    _h("margin", "float", "1.0", low=0, low_open=True),
    _h("mini_batch_size", "int", "1000", low=1),
    _h("momentum", "float", "auto", low=0, high=1, high_open=True, allow_auto=True),
    _h("normalize_data", "bool", "true", allow_auto=True),
    _h("normalize_label", "bool", "auto", allow_auto=True),
    _h("num_calibration_samples", "int", "auto", low=1, allow_auto=True),
    _h("num_models", "int", "auto", low=1, allow_auto=True),
    _h("num_point_for_scaler", "int", "10000", low=1),
    _h("optimizer", "str", "auto", options=("sgd", "adam", "rmsprop"), allow_auto=True),
    _h(
        "positive_example_weight_mult",
        "float",
        "1.0",
        low=0,
        low_open=True,
        allow_auto=True,
        extra=("balanced",),
    ),
    _h("quantile", "float", "0.5", low=0, high=1, low_open=True, high_open=True),
    _h("target_precision", "float", "0.8", low=0, high=1, low_open=True),
    _h("target_recall", "float", "0.8", low=0, high=1, low_open=True),
    _h("unbias_data", "bool", "auto", allow_auto=True),
    _h("unbias_label", "bool", "auto", allow_auto=True),
    _h("use_bias", "bool", "true"),
    _h("use_lr_scheduler", "bool", "true"),
    _h("wd", "float", "auto", low=0, allow_auto=True),
)


def _metric_definitions() -> tuple[MetricDefinition, ...]:
    """The regexes SageMaker reads linear-learner's log with (AWS's list, in its order),
    then the metrics AWS documents that its 40-entry list leaves out."""
    q = r"#quality_metric: host=\S+, "
    rows = [
        ("test:dcg", q + r"test dcg <score>=(\S+)"),
        ("train:progress", r"#progress_metric: host=\S+, completed (\S+) %"),
        ("test:binary_f_beta", q + r"test binary_f_\S+ <score>=(\S+)"),
        ("train:objective_loss", q + r"epoch=\S+, train \S+_objective <loss>=(\S+)"),
        ("validation:macro_precision", q + r"validation macro_precision <score>=(\S+)"),
        ("validation:dcg", q + r"validation dcg <score>=(\S+)"),
        ("test:mse", q + r"test mse <loss>=(\S+)"),
        ("validation:binary_f_beta", q + r"validation binary_f_\S+ <score>=(\S+)"),
        ("validation:objective_loss", q + r"epoch=\S+, validation \S+_objective <loss>=(\S+)"),
        ("validation:objective_loss:final", q + r"validation \S+_objective <loss>=(\S+)"),
        ("test:macro_recall", q + r"test macro_recall <score>=(\S+)"),
        ("test:absolute_loss", q + r"test absolute_loss <loss>=(\S+)"),
        ("train:recall", q + r"train recall <score>=(\S+)"),
        ("train:mse", q + r"train mse <loss>=(\S+)"),
        ("train:precision", q + r"train precision <score>=(\S+)"),
        ("train:objective_loss:final", q + r"train \S+_objective <loss>=(\S+)"),
        ("validation:recall", q + r"validation recall <score>=(\S+)"),
        ("test:multiclass_accuracy", q + r"test multiclass_accuracy <score>=(\S+)"),
        ("validation:precision", q + r"validation precision <score>=(\S+)"),
        ("validation:multiclass_accuracy", q + r"validation multiclass_accuracy <score>=(\S+)"),
        ("train:binary_f_beta", q + r"train binary_f_\S+ <score>=(\S+)"),
        ("test:recall", q + r"test recall <score>=(\S+)"),
        ("test:macro_precision", q + r"test macro_precision <score>=(\S+)"),
        ("test:macro_f_beta", q + r"test macro_f_\S+ <score>=(\S+)"),
        ("test:objective_loss", q + r"test \S+_objective <loss>=(\S+)"),
        ("test:precision", q + r"test precision <score>=(\S+)"),
        (
            "validation:multiclass_top_k_accuracy",
            q + r"validation multiclass_top_k_accuracy_\S+ <score>=(\S+)",
        ),
        (
            "train:binary_classification_accuracy",
            q + r"train binary_classification_accuracy <score>=(\S+)",
        ),
        ("validation:mse", q + r"validation mse <loss>=(\S+)"),
        ("test:multiclass_top_k_accuracy", q + r"test multiclass_top_k_accuracy_\S+ <score>=(\S+)"),
        (
            "validation:binary_classification_accuracy",
            q + r"validation binary_classification_accuracy <score>=(\S+)",
        ),
        ("train:absolute_loss", q + r"train absolute_loss <loss>=(\S+)"),
        ("validation:macro_recall", q + r"validation macro_recall <score>=(\S+)"),
        (
            "train:throughput",
            r"#throughput_metric: host=\S+, train throughput=(\S+) records/second",
        ),
        (
            "test:binary_classification_accuracy",
            q + r"test binary_classification_accuracy <score>=(\S+)",
        ),
        ("validation:absolute_loss", q + r"validation absolute_loss <loss>=(\S+)"),
        ("validation:macro_f_beta", q + r"validation macro_f_\S+ <score>=(\S+)"),
        # Documented metrics missing from the list above.
        ("validation:roc_auc_score", q + r"validation roc_auc_score <score>=(\S+)"),
        ("test:roc_auc_score", q + r"test roc_auc_score <score>=(\S+)"),
        ("validation:rmse", q + r"validation rmse <loss>=(\S+)"),
        ("test:rmse", q + r"test rmse <loss>=(\S+)"),
    ]
    seen: set[str] = set()
    unique = []
    for name, regex in rows:
        if name not in seen:
            seen.add(name)
            unique.append(MetricDefinition(name, regex))
    return tuple(unique)


METRIC_DEFINITIONS = _metric_definitions()


def validate(given: Mapping[str, str]) -> dict[str, Any]:
    """The typed hyperparameters (``auto`` left as is), with AWS's rules between them."""
    values = coerce(NAME, HYPERPARAMETERS, given)
    predictor = values["predictor_type"]
    if predictor == "multiclass_classifier" and values["num_classes"] is None:
        raise invalid(
            NAME,
            "num_classes",
            "is required when predictor_type is multiclass_classifier: give an integer "
            "in [3, 1000000], the number of classes (labels 0 .. num_classes - 1).",
        )
    loss = values["loss"]
    if loss != AUTO and loss not in LOSSES[predictor]:
        allowed = ", ".join(repr(x) for x in ("auto", *LOSSES[predictor]))
        raise invalid(
            NAME,
            "loss",
            f"must be one of {allowed} when predictor_type is {predictor!r}. Got {loss!r} instead.",
        )
    return values


def _tuning(given: Mapping[str, str]) -> bool:
    """Whether automatic model tuning started the job (it adds _tuning_objective_metric):
    AWS then trains one model, whatever num_models says."""
    return "_tuning_objective_metric" in given


@dataclass(frozen=True)
class LinearLearner:
    """SageMaker's ``linear-learner`` image."""

    name: str = NAME
    hyperparameters: tuple[Hyperparameter, ...] = HYPERPARAMETERS
    channels: ChannelSpec = CHANNELS
    content_types: tuple[str, ...] = CONTENT_TYPES
    inference_content_types: tuple[str, ...] = INFERENCE_CONTENT_TYPES
    metric_definitions: tuple[MetricDefinition, ...] = METRIC_DEFINITIONS

    def validate(self, given: Mapping[str, str]) -> dict[str, Any]:
        return validate(given)

    def train(self, env: ContainerEnvironment) -> None:
        from fogbank.ml.algorithms.linear_learner_job import run

        run(env, validate(env.hyperparameters), tuning=_tuning(env.hyperparameters))

    def load(self, model_dir: Path) -> LinearLearnerModel:
        from fogbank.ml.algorithms.linear_learner_model import load

        return load(model_dir)


ALGORITHM = LinearLearner()
