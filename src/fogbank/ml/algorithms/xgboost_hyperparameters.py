"""XGBoost's hyperparameters as AWS's container declares and checks them.

This module owns the declarations (``hyperparameter_validation.py`` of
``aws/sagemaker-xgboost-container``: names, ranges, aliases), the rules between
parameters (num_class for multi-class objectives, the eval_metric checks, constraints
that need a tree method, updaters), and the translation to the params dict that
``xgboost.train`` receives (:func:`booster_params`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fogbank.core.errors import ValidationException
from fogbank.ml.algorithms.hyperparameters import Hyperparameter, coerce, invalid
from fogbank.ml.algorithms.xgboost_metrics import MAXIMIZE_METRICS, MINIMIZE_METRICS

NAME = "xgboost"

OBJECTIVES = (
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "count:poisson",
    "multi:softmax",
    "multi:softprob",
    "rank:pairwise",
    "rank:ndcg",
    "rank:map",
    "reg:linear",
    "reg:squarederror",
    "reg:logistic",
    "reg:gamma",
    "reg:pseudohubererror",
    "reg:squaredlogerror",
    "reg:tweedie",
    "survival:aft",
    "survival:cox",
)

UPDATERS = (
    "grow_colmaker",
    "distcol",
    "grow_histmaker",
    "grow_local_histmaker",
    "grow_skmaker",
    "sync",
    "refresh",
    "prune",
    "grow_quantile_histmaker",
    "shotgun",
    "coord_descent",
)

_H = Hyperparameter

HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    _H("num_round", "int", required=True, low=1, description="Boosting rounds."),
    _H("csv_weights", "int", "0", low=0, high=1, description="1: CSV column 2 is the weight."),
    _H("early_stopping_rounds", "int", low=1, description="Stop when validation stalls."),
    _H("booster", "str", "gbtree", options=("gbtree", "gblinear", "dart")),
    _H("silent", "int", low=0, high=1, description="Deprecated; use verbosity."),
    _H("verbosity", "int", "1", low=0, high=3),
    _H("nthread", "int", low=1, description="Threads; default: all CPUs."),
    _H("eta", "float", "0.3", low=0, high=1),
    _H("gamma", "float", "0", low=0),
    _H("max_depth", "int", "6", low=0),
    _H("min_child_weight", "float", "1", low=0),
    _H("max_delta_step", "float", "0", low=0),
    _H("subsample", "float", "1", low=0, low_open=True, high=1),
    _H("colsample_bytree", "float", "1", low=0, low_open=True, high=1),
    _H("colsample_bylevel", "float", "1", low=0, low_open=True, high=1),
    _H("colsample_bynode", "float", "1", low=0, low_open=True, high=1),
    _H("lambda", "float", "1", low=0),
    _H("alpha", "float", "0", low=0),
    _H("tree_method", "str", "auto", options=("auto", "exact", "approx", "hist", "gpu_hist")),
    _H("sketch_eps", "float", "0.03", low=0, low_open=True, high=1, high_open=True),
    _H("scale_pos_weight", "float", "1", low=0, low_open=True),
    _H("updater", "str", description="Comma-separated list of tree or linear updaters."),
    _H("dsplit", "str", "row", options=("row", "col")),
    _H("refresh_leaf", "int", "1", low=0, high=1),
    _H("process_type", "str", "default", options=("default", "update")),
    _H("grow_policy", "str", "depthwise", options=("depthwise", "lossguide")),
    _H("max_leaves", "int", "0", low=0),
    _H("max_bin", "int", "256", low=0),
    _H("predictor", "str", "auto", options=("auto", "cpu_predictor", "gpu_predictor")),
    _H("monotone_constraints", "str", description="A tuple of -1, 0, 1: '(1,0,-1)'."),
    _H("interaction_constraints", "list", description="Nested lists of feature indices."),
    _H("sample_type", "str", "uniform", options=("uniform", "weighted")),
    _H("normalize_type", "str", "tree", options=("tree", "forest")),
    _H("rate_drop", "float", "0", low=0, high=1),
    _H("one_drop", "int", "0", low=0, high=1),
    _H("skip_drop", "float", "0", low=0, high=1),
    _H("lambda_bias", "float", "0", low=0, high=1),
    _H("tweedie_variance_power", "float", "1.5", low=1, low_open=True, high=2, high_open=True),
    _H("objective", "str", "reg:squarederror", options=OBJECTIVES),
    _H("num_class", "int", low=2, description="Required by multi:softmax and multi:softprob."),
    _H("base_score", "float", "0.5", low=0),
    _H("eval_metric", "str", description="Comma-separated metrics; default by objective."),
    # The container's interval is open on both sides: (-2**31, 2**31 - 1).
    _H("seed", "int", "0", low=-(2**31), low_open=True, high=2**31 - 1, high_open=True),
    _H("num_parallel_tree", "int", "1", low=1),
    _H("save_model_on_termination", "str", "false", options=("true", "false")),
    _H("aft_loss_distribution", "str", "normal", options=("normal", "logistic", "extreme")),
    _H("aft_loss_distribution_scale", "float", "1", low=0),
    _H("single_precision_histogram", "str", "false", options=("true", "false")),
    _H("deterministic_histogram", "str", "true", options=("true", "false")),
    _H("sampling_method", "str", "uniform", options=("uniform", "gradient_based")),
    _H("prob_buffer_row", "int", low=1, low_open=True),
)

# hyperparameter_validation.py: declare_alias(name, alias).
ALIASES = {
    "learning_rate": "eta",
    "min_split_loss": "gamma",
    "reg_lambda": "lambda",
    "reg_alpha": "alpha",
}

# Read by the container itself, never passed to xgboost.train's params.
_CONTAINER_ONLY = frozenset(
    {"num_round", "csv_weights", "early_stopping_rounds", "save_model_on_termination"}
)
# Accepted by AWS's validation, gone from XGBoost 2/3: validated, then dropped.
_REMOVED_FROM_LIBRARY = frozenset(
    {
        "silent",
        "predictor",
        "dsplit",
        "single_precision_histogram",
        "deterministic_histogram",
        "lambda_bias",
        "prob_buffer_row",
    }
)


def _split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _eval_metrics(value: str) -> list[str]:
    """The container's eval_metric_range_validator, item by item."""
    metrics = _split_list(value)
    supported = set(MAXIMIZE_METRICS + MINIMIZE_METRICS)
    for metric in metrics:
        if "<function" in metric:
            raise invalid(NAME, "eval_metric", f"does not support user defined metric {metric!r}.")
        if "@" in metric:
            base, _, threshold = metric.partition("@")
            if base.strip() not in ("error", "ndcg", "map"):
                raise invalid(
                    NAME,
                    "eval_metric",
                    f"takes a customized threshold ('{metric}') only for 'error', 'ndcg' or 'map'.",
                )
            try:
                float(threshold.strip().rstrip("-"))
            except ValueError:
                raise invalid(
                    NAME,
                    "eval_metric",
                    f"expects a float threshold 't' in '{base.strip()}@t'. Got {metric!r}.",
                ) from None
            continue
        if metric not in supported:
            raise invalid(
                NAME,
                "eval_metric",
                f"must be a comma-separated list of {', '.join(sorted(supported))}. "
                f"Got {metric!r} instead.",
            )
    return metrics


def _monotone(value: str) -> list[int]:
    """AWS's TupleHyperparameter: ``(1,0,-1)`` with items in {-1, 0, 1}."""
    text = value.strip().strip("()[]")
    try:
        items = [int(item) for item in _split_list(text)]
    except ValueError:
        items = []
    if not items or any(item not in (-1, 0, 1) for item in items):
        raise invalid(
            NAME,
            "monotone_constraints",
            f"must be a tuple of -1, 0 and 1 such as '(1,0,-1)'. Got {value!r} instead.",
        )
    return items


def _interactions(value: list[Any]) -> list[list[int]]:
    if not all(
        isinstance(group, list)
        and all(isinstance(i, int) and not isinstance(i, bool) and i >= 1 for i in group)
        for group in value
    ):
        raise invalid(
            NAME,
            "interaction_constraints",
            f"must be a list of lists of feature indices >= 1 such as '[[1,2],[3,4,5]]'. "
            f"Got {value!r} instead.",
        )
    return value


def _updaters(value: str, booster: str, process_type: str) -> list[str]:
    """The container's updater_validator."""
    items = _split_list(value)
    if booster == "gblinear":
        if len(items) != 1 or items[0] not in ("shotgun", "coord_descent"):
            raise invalid(
                NAME,
                "updater",
                "with booster 'gblinear' must be one of 'shotgun', 'coord_descent'.",
            )
    elif process_type == "update":
        if not all(item in ("refresh", "prune") for item in items):
            raise invalid(
                NAME, "updater", "with process_type 'update' may only use 'refresh' and 'prune'."
            )
    else:
        tree = [u for u in UPDATERS if u not in ("shotgun", "coord_descent")]
        if not all(item in tree for item in items):
            raise invalid(NAME, "updater", f"must be selected from {', '.join(tree)}.")
        growers = {"grow_colmaker", "distcol", "grow_histmaker", "grow_local_histmaker"}
        growers |= {"grow_quantile_histmaker"}
        if sum(item in growers for item in items) > 1:
            raise invalid(NAME, "updater", "may select only one tree grow plugin.")
    return items


def validate(given: Mapping[str, str]) -> dict[str, Any]:
    """AWS's algorithm-mode validation: types and ranges, then the rules between them.

    Aliases (``learning_rate``, ``min_split_loss``, ``reg_lambda``, ``reg_alpha``) are
    folded into AWS's names first. ``eval_metric`` comes back as a list,
    ``monotone_constraints`` as a list of ints, ``updater`` as a list of names.
    """
    canonical: dict[str, str] = {}
    for key, value in given.items():
        name = ALIASES.get(key, key)
        if name in canonical:
            raise invalid(NAME, name, f"is given twice (as {name!r} and an alias {key!r}).")
        canonical[name] = value
    typed = coerce(NAME, HYPERPARAMETERS, canonical)
    objective: str = typed["objective"]
    tree_method: str = typed["tree_method"]

    if objective in ("multi:softmax", "multi:softprob") and typed["num_class"] is None:
        raise invalid(
            NAME,
            "num_class",
            f"is required for multi-classification (objective {objective!r}): "
            "give an integer >= 2.",
        )
    if "num_class" in canonical and "objective" not in canonical:
        # The container's objective_validator: num_class without any objective.
        raise invalid(
            NAME,
            "num_class",
            "is not needed for a learning task other than multi-classification; "
            "set objective to 'multi:softmax' or 'multi:softprob'.",
        )
    if typed["eval_metric"] is not None:
        metrics = _eval_metrics(typed["eval_metric"])
        if "auc" in metrics and not objective.startswith(("binary:", "rank:")):
            raise invalid(
                NAME,
                "eval_metric",
                "may use Metric 'auc' only with classification and ranking problems "
                f"(a 'binary:' or 'rank:' objective). Got objective {objective!r}.",
            )
        if "aft-nloglik" in metrics and objective != "survival:aft":
            raise invalid(
                NAME,
                "eval_metric",
                "may use Metric 'aft-nloglik' only with the 'survival:aft' objective.",
            )
        typed["eval_metric"] = metrics
    if typed["monotone_constraints"] is not None:
        if tree_method not in ("exact", "hist"):
            raise invalid(
                NAME,
                "monotone_constraints",
                "can be used only when tree_method is 'exact' or 'hist'.",
            )
        typed["monotone_constraints"] = _monotone(typed["monotone_constraints"])
    if typed["interaction_constraints"] is not None:
        if tree_method not in ("exact", "hist", "approx"):
            raise invalid(
                NAME,
                "interaction_constraints",
                "can be used only when tree_method is 'exact', 'hist' or 'approx'.",
            )
        typed["interaction_constraints"] = _interactions(typed["interaction_constraints"])
    if typed["updater"] is not None:
        typed["updater"] = _updaters(typed["updater"], typed["booster"], typed["process_type"])
    return typed


def tuning_metric(given: Mapping[str, str]) -> list[str]:
    """The metric of ``_tuning_objective_metric`` (``validation:auc`` -> ``auc``), which
    the container adds to the evaluation metrics."""
    value = given.get("_tuning_objective_metric")
    if not value:
        return []
    parts = value.split(":")
    return _eval_metrics(parts[1] if len(parts) > 1 else parts[0])


def booster_params(
    given: Mapping[str, str], typed: Mapping[str, Any], *, cuda_available: bool | None = None
) -> dict[str, Any]:
    """The params dict for ``xgboost.train``: only what the job gave, as the container
    passes it, with library renames applied and ``nthread`` defaulting to all CPUs."""
    names = {ALIASES.get(k, k) for k in given}
    params: dict[str, Any] = {}
    for name in sorted(names):
        if name.startswith("_") or name in _CONTAINER_ONLY or name in _REMOVED_FROM_LIBRARY:
            continue
        if name == "eval_metric":
            continue  # handled with the container-defined metrics, below
        value = typed[name]
        if name == "monotone_constraints":
            value = "(" + ",".join(str(v) for v in value) + ")"
        elif name == "interaction_constraints":
            value = json.dumps(value)
        elif name == "updater":
            value = ",".join(value)
        params[name] = value
    if params.get("objective") == "reg:linear":
        params["objective"] = "reg:squarederror"  # removed alias in XGBoost 2
    if params.get("tree_method") == "gpu_hist":
        if cuda_available is None:
            cuda_available = _cuda_available()
        if not cuda_available:
            raise ValidationException(
                "tree_method 'gpu_hist' needs a CUDA build of XGBoost and a GPU: install "
                "fogbank[gpu] on a machine with an NVIDIA GPU, or use tree_method 'hist'."
            )
        # XGBoost >= 2 spells gpu_hist as device=cuda with the hist method.
        params["tree_method"] = "hist"
        params["device"] = "cuda"
    params.setdefault("nthread", cpu_count())
    return params


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _cuda_available() -> bool:
    import xgboost as xgb

    if not xgb.build_info().get("USE_CUDA", False):
        return False
    # A CUDA build on a machine without a GPU: xgboost falls back quietly, so ask the
    # driver for a device.
    return Path("/dev/nvidiactl").exists() or bool(os.environ.get("CUDA_VISIBLE_DEVICES"))
