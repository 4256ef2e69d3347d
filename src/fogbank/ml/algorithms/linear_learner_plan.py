"""Linear Learner's ``auto`` values resolved into one training plan.

This module owns what ``auto`` means, in one place, and the settings of the parallel
models (AWS: "One model is trained according to the given training parameter
(regularization, optimizer, loss), and the rest by close parameters"). Nothing here
imports PyTorch.

What ``auto`` resolves to:

- ``loss``: logistic / softmax_loss / squared_loss by predictor_type;
  ``optimizer``: adam.
- ``learning_rate``: adam 0.1, sgd 0.01, rmsprop 0.01; ``wd`` 0.0001; ``l1`` 0;
  ``lr_scheduler_step`` 100 (updates), ``lr_scheduler_factor`` 0.99,
  ``lr_scheduler_minimum_lr`` 0.00001. These are the hyperparameters AWS's log reports
  for its default model ("Best model found for hyperparameters: {"lr_scheduler_step":
  100, "wd": 0.0001, "optimizer": "adam", "lr_scheduler_factor": 0.99, "l1": 0.0,
  "learning_rate": 0.1, "lr_scheduler_minimum_lr": 1e-05}").
- ``momentum`` 0.9 (sgd); ``beta_1`` 0.9, ``beta_2`` 0.999 (adam); rmsprop decays its
  square average by 0.9; ``bias_lr_mult`` 1; ``bias_wd_mult`` 0 (the docs: "By
  default, there is no regularization on the bias term").
- ``num_models``: 32 (the model count in AWS's logs), fewer when the parameters of
  all models would pass 2**26 floats (wide multiclass); 1 under automatic model tuning.
- ``normalize_label`` / ``unbias_label``: on for regressors (unbias only with a bias);
  ``unbias_data``: on when ``use_bias`` is (the features are then centred, sparse too:
  the centring is folded into the weights, so sparse data stays sparse).
- ``num_calibration_samples``: every validation row up to 1,000,000.
- ``positive_example_weight_mult=auto``: half the models weigh positives 1, the other
  half ``balanced`` (negatives / positives in the scaler sample); model selection keeps
  whichever does best on the criterion.

Model 0 is trained with exactly the given (or default) values; model m > 0 draws its
own: a given learning rate, wd or l1 is multiplied by 10**U(-0.5, 0.5) (wd, l1: 10**U(-1,
1)); an ``auto`` learning rate by 10**U(-1.5, 0.5); an ``auto`` wd is 0 for a quarter of
the models and 10**U(-7, -2) otherwise; an ``auto`` l1 is 0 for half of them and
10**U(-7, -3) otherwise. A given 0 stays 0 for all (the docs: "set the value to 0" to
turn it off). The draws come from a generator seeded with :func:`seed_of` the job's
hyperparameters (AWS has no seed hyperparameter): the same job trains the same models.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from fogbank.ml.algorithms.hyperparameters import AUTO

AUTO_LEARNING_RATE = {"adam": 0.1, "sgd": 0.01, "rmsprop": 0.01}
AUTO_WD = 0.0001
AUTO_NUM_MODELS = 32
MAX_PARAMETERS = 1 << 26
AUTO_CALIBRATION_SAMPLES = 1_000_000

# Losses whose value scales as |error|**2 (else |error|) when the label is scaled:
# the reported objective of a normalized-label regressor is converted back with it.
SQUARED_LOSSES = ("squared_loss", "eps_insensitive_squared_loss", "huber_loss")

# The objective's name in the log (``<name>_objective``). The first three are seen in
# AWS's logs; the others follow the pattern with the loss's own name.
OBJECTIVE_NAMES = {
    "logistic": "binary_classification_cross_entropy",
    "softmax_loss": "multiclass_cross_entropy",
    "squared_loss": "mse",
    "hinge_loss": "binary_classification_hinge_loss",
    "absolute_loss": "absolute_loss",
    "eps_insensitive_squared_loss": "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss": "eps_insensitive_absolute_loss",
    "quantile_loss": "quantile_loss",
    "huber_loss": "huber_loss",
}


@dataclass(frozen=True)
class Plan:
    """Everything training needs, ``auto`` resolved; per-model values as tuples."""

    predictor_type: str
    loss: str
    num_classes: int  # score columns per model: 1 for binary and regression
    feature_dim: int | None
    num_models: int
    optimizer: str
    learning_rates: tuple[float, ...]
    wds: tuple[float, ...]
    l1s: tuple[float, ...]
    positive_weights: tuple[float | None, ...]  # None: balanced, from the data
    momentum: float
    beta_1: float
    beta_2: float
    bias_lr_mult: float
    bias_wd_mult: float
    use_bias: bool
    use_lr_scheduler: bool
    lr_scheduler_step: int
    lr_scheduler_factor: float
    lr_scheduler_minimum_lr: float
    init_method: str
    init_scale: float
    init_sigma: float
    init_bias: float
    normalize_data: bool
    unbias_data: bool
    normalize_label: bool
    unbias_label: bool
    num_point_for_scaler: int
    mini_batch_size: int
    epochs: int
    early_stopping_patience: int
    early_stopping_tolerance: float
    selection: str
    target_precision: float
    target_recall: float
    f_beta: float
    margin: float
    quantile: float
    loss_insensitivity: float
    huber_delta: float
    balance_multiclass_weights: bool
    accuracy_top_k: int
    num_calibration_samples: int
    seed: int

    @property
    def binary(self) -> bool:
        return self.predictor_type == "binary_classifier"

    @property
    def multiclass(self) -> bool:
        return self.predictor_type == "multiclass_classifier"

    @property
    def regressor(self) -> bool:
        return self.predictor_type == "regressor"

    @property
    def objective_name(self) -> str:
        return OBJECTIVE_NAMES[self.loss] + "_objective"

    def model_settings(self, index: int) -> dict[str, Any]:
        """Model ``index``'s own settings, as the "Best model found" log line shows them."""
        weight = self.positive_weights[index]
        settings: dict[str, Any] = {
            "optimizer": self.optimizer,
            "learning_rate": self.learning_rates[index],
            "wd": self.wds[index],
            "l1": self.l1s[index],
            "lr_scheduler_step": self.lr_scheduler_step,
            "lr_scheduler_factor": self.lr_scheduler_factor,
            "lr_scheduler_minimum_lr": self.lr_scheduler_minimum_lr,
        }
        if self.binary:
            settings["positive_example_weight_mult"] = "balanced" if weight is None else weight
        return settings


def seed_of(hyperparameters: Mapping[str, Any]) -> int:
    """A seed from the hyperparameters themselves: same job, same models."""
    text = json.dumps({str(k): str(v) for k, v in hyperparameters.items()}, sort_keys=True)
    return zlib.crc32(text.encode("utf-8"))


def _auto(value: Any, default: Any) -> Any:
    return default if value is None or value == AUTO else value


def resolve(
    values: Mapping[str, Any],
    *,
    seed: int,
    tuning: bool = False,
    feature_dim: int | None = None,
) -> Plan:
    """The plan for typed hyperparameters ``values`` (as ``validate`` returns them).

    ``feature_dim`` is the data's width when known: it bounds ``num_models=auto``."""
    predictor = str(values["predictor_type"])
    loss = str(values["loss"])
    if loss == AUTO:
        loss = {
            "binary_classifier": "logistic",
            "multiclass_classifier": "softmax_loss",
            "regressor": "squared_loss",
        }[predictor]
    classes = int(values["num_classes"]) if predictor == "multiclass_classifier" else 1
    given_dim = values.get("feature_dim")
    dim = int(given_dim) if isinstance(given_dim, int) else feature_dim
    optimizer = str(_auto(values["optimizer"], "adam"))
    use_bias = bool(values["use_bias"])

    num_models = values["num_models"]
    if tuning:
        num_models = 1  # AMT turns the internal tuning off (linear-learner-tuning)
    elif num_models == AUTO:
        width = (dim or 1) * classes
        num_models = max(1, min(AUTO_NUM_MODELS, MAX_PARAMETERS // max(1, width)))
    num_models = int(num_models)

    rng = np.random.default_rng(seed)
    rates = _spread_rate(values["learning_rate"], AUTO_LEARNING_RATE[optimizer], num_models, rng)
    wds = _spread_penalty(values["wd"], AUTO_WD, num_models, rng, zero_share=0.25, span=(-7, -2))
    l1s = _spread_penalty(values["l1"], 0.0, num_models, rng, zero_share=0.5, span=(-7, -3))
    weights = _positive_weights(values["positive_example_weight_mult"], num_models)

    normalize_label = values["normalize_label"]
    unbias_label = values["unbias_label"]
    unbias_data = values["unbias_data"]
    regressor = predictor == "regressor"
    criterion = str(values["binary_classifier_model_selection_criteria"])
    calibration = values["num_calibration_samples"]
    return Plan(
        predictor_type=predictor,
        loss=loss,
        num_classes=classes,
        feature_dim=dim,
        num_models=num_models,
        optimizer=optimizer,
        learning_rates=rates,
        wds=wds,
        l1s=l1s,
        positive_weights=weights,
        momentum=float(_auto(values["momentum"], 0.9)),
        beta_1=float(_auto(values["beta_1"], 0.9)),
        beta_2=float(_auto(values["beta_2"], 0.999)),
        bias_lr_mult=float(_auto(values["bias_lr_mult"], 1.0)),
        bias_wd_mult=float(_auto(values["bias_wd_mult"], 0.0)),
        use_bias=use_bias,
        use_lr_scheduler=bool(values["use_lr_scheduler"]),
        lr_scheduler_step=int(_auto(values["lr_scheduler_step"], 100)),
        lr_scheduler_factor=float(_auto(values["lr_scheduler_factor"], 0.99)),
        lr_scheduler_minimum_lr=float(_auto(values["lr_scheduler_minimum_lr"], 1e-5)),
        init_method=str(values["init_method"]),
        init_scale=float(values["init_scale"]),
        init_sigma=float(values["init_sigma"]),
        init_bias=float(values["init_bias"]) if use_bias else 0.0,
        normalize_data=bool(_auto(values["normalize_data"], True)),
        unbias_data=bool(_auto(unbias_data, use_bias)),
        # Label scaling only means something for regression (ignored for classifiers).
        normalize_label=regressor and bool(_auto(normalize_label, True)),
        unbias_label=regressor and bool(_auto(unbias_label, use_bias)),
        num_point_for_scaler=int(values["num_point_for_scaler"]),
        mini_batch_size=int(values["mini_batch_size"]),
        epochs=int(values["epochs"]),
        early_stopping_patience=int(values["early_stopping_patience"]),
        early_stopping_tolerance=float(values["early_stopping_tolerance"]),
        selection=_selection(predictor, criterion),
        target_precision=float(values["target_precision"]),
        target_recall=float(values["target_recall"]),
        f_beta=1.0 if criterion == "f1" else float(values["f_beta"]),
        margin=float(values["margin"]),
        quantile=float(values["quantile"]),
        loss_insensitivity=float(values["loss_insensitivity"]),
        huber_delta=float(values["huber_delta"]),
        balance_multiclass_weights=bool(values["balance_multiclass_weights"]),
        accuracy_top_k=int(values["accuracy_top_k"]),
        num_calibration_samples=int(_auto(calibration, AUTO_CALIBRATION_SAMPLES)),
        seed=seed,
    )


def _selection(predictor: str, criterion: str) -> str:
    """The model selection criterion: the binary one given (f1 is f_beta with beta 1,
    cross_entropy_loss is the loss), else the loss (regression and multiclass)."""
    if predictor != "binary_classifier":
        return "loss_function"
    return {"f1": "f_beta", "cross_entropy_loss": "loss_function"}.get(criterion, criterion)


def _spread_rate(
    given: Any, default: float, count: int, rng: np.random.Generator
) -> tuple[float, ...]:
    base = default if given == AUTO else float(given)
    low, high = (-1.5, 0.5) if given == AUTO else (-0.5, 0.5)
    others = base * 10.0 ** rng.uniform(low, high, size=count - 1)
    return (base, *(float(x) for x in others))


def _spread_penalty(
    given: Any,
    default: float,
    count: int,
    rng: np.random.Generator,
    *,
    zero_share: float,
    span: tuple[float, float],
) -> tuple[float, ...]:
    draws = rng.uniform(0.0, 1.0, size=count - 1)
    powers = rng.uniform(-1.0, 1.0, size=count - 1)
    if given == AUTO:
        exponents = span[0] + (span[1] - span[0]) * (powers + 1.0) / 2.0
        others = np.where(draws < zero_share, 0.0, 10.0**exponents)
        return (default, *(float(x) for x in others))
    base = float(given)
    return (base, *(float(base * 10.0**p) for p in powers))


def _positive_weights(given: Any, count: int) -> tuple[float | None, ...]:
    if given == "balanced":
        return (None,) * count
    if given == AUTO:
        return tuple(None if i % 2 else 1.0 for i in range(count))
    return (float(given),) * count
