"""SageMaker's built-in XGBoost: validation as AWS's container, training jobs end to end
through the container layout, the eval lines and the regexes that read them, the saved
model, and quality on scikit-learn's small data sets."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fogbank.core.errors import ValidationException
from fogbank.ml.algorithms import algorithm
from fogbank.ml.algorithms.hyperparameters import HyperparameterError
from fogbank.ml.algorithms.xgboost import ALGORITHM, MODEL_FILE, booster_params
from fogbank.ml.training.environment import ContainerEnvironment

datasets = pytest.importorskip("sklearn.datasets")


# ---------------------------------------------------------------------------------
# Helpers: a container layout on disk


def csv_bytes(features: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> bytes:
    columns = [labels[:, None]] + ([weights[:, None]] if weights is not None else []) + [features]
    out = io.StringIO()
    np.savetxt(out, np.hstack(columns), delimiter=",", fmt="%.9g")
    return out.getvalue().encode()


def libsvm_bytes(features: np.ndarray, labels: np.ndarray) -> bytes:
    lines = []
    for row, label in zip(features, labels, strict=True):
        items = " ".join(f"{j}:{v:.9g}" for j, v in enumerate(row) if v != 0)
        lines.append(f"{label:g} {items}")
    return ("\n".join(lines) + "\n").encode()


def make_job(
    root: Path,
    hyperparameters: dict[str, str],
    channels: dict[str, tuple[str | None, bytes]],
    *,
    hosts: tuple[str, ...] = ("algo-1",),
    current_host: str = "algo-1",
) -> ContainerEnvironment:
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    data_config: dict[str, dict[str, str]] = {}
    for name, (content_type, body) in channels.items():
        spec = {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"}
        if content_type is not None:
            spec["ContentType"] = content_type
        data_config[name] = spec
        folder = root / "input" / "data" / name
        folder.mkdir(parents=True)
        (folder / "part-0").write_bytes(body)
    (config / "inputdataconfig.json").write_text(json.dumps(data_config))
    (config / "resourceconfig.json").write_text(
        json.dumps({"current_host": current_host, "hosts": list(hosts)})
    )
    return ContainerEnvironment.from_root(root)


def eval_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if re.match(r"^\[[0-9]+\]\t", line)]


def metric_values(output: str, metric: str) -> list[float]:
    """What SageMaker would read for ``metric``: tabs shown as CloudWatch shows them."""
    regex = {d.name: d.regex for d in ALGORITHM.metric_definitions}[metric]
    values = []
    for line in output.splitlines():
        found = re.match(regex, line.replace("\t", "#011"))
        if found:
            values.append(float(found.group(1)))
    return values


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x, y = datasets.load_breast_cancer(return_X_y=True)
    order = np.random.default_rng(7).permutation(len(y))
    x, y = x[order].astype(np.float32), y[order].astype(np.float32)
    cut = len(y) * 3 // 4
    return x[:cut], y[:cut], x[cut:], y[cut:]


# ---------------------------------------------------------------------------------
# Declarations and validation


def test_registered_under_its_sagemaker_name() -> None:
    assert algorithm("xgboost") is ALGORITHM
    assert ALGORITHM.channels.required == ("train",)
    assert ALGORITHM.channels.optional == ("validation",)
    assert ALGORITHM.content_types[0] == "text/libsvm"


def test_defaults_are_aws_documented_ones() -> None:
    typed = ALGORITHM.validate({"num_round": "10"})
    assert typed["num_round"] == 10
    assert typed["objective"] == "reg:squarederror"
    assert typed["eta"] == 0.3
    assert typed["max_depth"] == 6
    assert typed["tree_method"] == "auto"
    assert typed["base_score"] == 0.5
    assert typed["eval_metric"] is None
    assert typed["num_class"] is None


def test_num_round_is_required() -> None:
    with pytest.raises(HyperparameterError, match="'num_round' hyperparameter of xgboost is"):
        ALGORITHM.validate({"eta": "0.1"})


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("eta", "3", r"a float in \[0, 1\]"),
        ("subsample", "0", r"a float in \(0, 1\]"),
        ("max_depth", "deep", "an integer >= 0"),
        ("num_round", "0", "an integer >= 1"),
        ("tweedie_variance_power", "2", r"a float in \(1, 2\)"),
        ("objective", "reg:nonsense", "one of 'binary:logistic'"),
        ("tree_method", "fast", "one of 'auto', 'exact'"),
    ],
)
def test_bad_values_name_the_parameter_and_what_is_allowed(
    name: str, value: str, allowed: str
) -> None:
    with pytest.raises(HyperparameterError, match=allowed) as raised:
        ALGORITHM.validate({"num_round": "5", name: value})
    assert raised.value.name == name
    assert f"Got {value!r} instead." in str(raised.value)


def test_unknown_hyperparameter_is_refused_but_tuning_ones_pass() -> None:
    with pytest.raises(HyperparameterError, match="'etaa' is not a hyperparameter of xgboost"):
        ALGORITHM.validate({"num_round": "5", "etaa": "0.1"})
    ALGORITHM.validate({"num_round": "5", "_tuning_objective_metric": "validation:auc"})


def test_aliases_fold_into_aws_names() -> None:
    typed = ALGORITHM.validate({"num_round": "5", "learning_rate": "0.05", "reg_lambda": "2"})
    assert typed["eta"] == 0.05
    assert typed["lambda"] == 2.0
    with pytest.raises(HyperparameterError, match="given twice"):
        ALGORITHM.validate({"num_round": "5", "eta": "0.1", "learning_rate": "0.2"})


@pytest.mark.parametrize("objective", ["multi:softmax", "multi:softprob"])
def test_multiclass_objectives_require_num_class(objective: str) -> None:
    with pytest.raises(HyperparameterError, match=r"'num_class' .* is required") as raised:
        ALGORITHM.validate({"num_round": "5", "objective": objective})
    assert raised.value.name == "num_class"
    typed = ALGORITHM.validate({"num_round": "5", "objective": objective, "num_class": "3"})
    assert typed["num_class"] == 3


def test_num_class_without_an_objective_is_refused() -> None:
    with pytest.raises(HyperparameterError, match="other than multi-classification"):
        ALGORITHM.validate({"num_round": "5", "num_class": "3"})


def test_auc_only_for_binary_and_ranking_objectives() -> None:
    with pytest.raises(HyperparameterError, match="Metric 'auc' only with classification"):
        ALGORITHM.validate({"num_round": "5", "eval_metric": "rmse,auc"})
    typed = ALGORITHM.validate(
        {"num_round": "5", "objective": "binary:logistic", "eval_metric": "auc, error@0.7"}
    )
    assert typed["eval_metric"] == ["auc", "error@0.7"]
    ALGORITHM.validate({"num_round": "5", "objective": "rank:pairwise", "eval_metric": "auc"})


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        ("rmsee", "comma-separated list of"),
        ("logloss@0.3", "only for 'error', 'ndcg' or 'map'"),
        ("error@high", "expects a float threshold"),
    ],
)
def test_eval_metric_items_are_checked(metric: str, message: str) -> None:
    with pytest.raises(HyperparameterError, match=message):
        ALGORITHM.validate({"num_round": "5", "eval_metric": metric})


def test_constraints_need_a_tree_method_that_supports_them() -> None:
    with pytest.raises(HyperparameterError, match="'exact' or 'hist'"):
        ALGORITHM.validate({"num_round": "5", "monotone_constraints": "(1,-1)"})
    typed = ALGORITHM.validate(
        {"num_round": "5", "monotone_constraints": "(1,0,-1)", "tree_method": "hist"}
    )
    assert typed["monotone_constraints"] == [1, 0, -1]
    with pytest.raises(HyperparameterError, match="tuple of -1, 0 and 1"):
        ALGORITHM.validate({"num_round": "5", "monotone_constraints": "(2)", "tree_method": "hist"})
    with pytest.raises(HyperparameterError, match="'exact', 'hist' or 'approx'"):
        ALGORITHM.validate({"num_round": "5", "interaction_constraints": "[[1, 2]]"})


def test_only_given_parameters_reach_xgboost() -> None:
    given = {"num_round": "5", "eta": "0.1", "csv_weights": "1", "predictor": "cpu_predictor"}
    params = booster_params(given, ALGORITHM.validate(given))
    assert params["eta"] == 0.1
    assert params["nthread"] >= 1
    # base_score is left to XGBoost (which estimates it), as the container leaves it.
    for name in ("num_round", "csv_weights", "predictor", "base_score", "objective"):
        assert name not in params


def test_gpu_hist_maps_to_cuda_device_or_fails_clearly() -> None:
    given = {"num_round": "5", "tree_method": "gpu_hist"}
    typed = ALGORITHM.validate(given)
    params = booster_params(given, typed, cuda_available=True)
    assert params["tree_method"] == "hist"
    assert params["device"] == "cuda"
    with pytest.raises(ValidationException, match="CUDA build of XGBoost"):
        booster_params(given, typed, cuda_available=False)


def test_metric_definitions_cover_aws_metrics_for_both_segments() -> None:
    names = {d.name for d in ALGORITHM.metric_definitions}
    for metric in ("accuracy", "auc", "aucpr", "error", "f1", "logloss", "mae", "map"):
        assert f"validation:{metric}" in names
        assert f"train:{metric}" in names
    for metric in ("merror", "mlogloss", "mse", "ndcg", "rmse"):
        assert f"validation:{metric}" in names
    regex = {d.name: d.regex for d in ALGORITHM.metric_definitions}["validation:rmse"]
    line = "[7]#011train-rmse:0.51234#011validation-rmse:0.61234"
    found = re.match(regex, line)
    assert found is not None
    assert found.group(1) == "0.61234"
    # map must not read mape's value, nor error read error@0.7's.
    assert not re.match(
        {d.name: d.regex for d in ALGORITHM.metric_definitions}["validation:map"],
        "[1]#011validation-mape:0.2",
    )


# ---------------------------------------------------------------------------------
# Training jobs end to end


def test_binary_job_prints_eval_lines_and_saves_a_model_that_generalises(
    tmp_path: Path, cancer: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    x_train, y_train, x_test, y_test = cancer
    env = make_job(
        tmp_path,
        {
            "num_round": "30",
            "objective": "binary:logistic",
            "eval_metric": "error,auc,accuracy",
            "max_depth": "3",
        },
        {
            "train": ("text/csv", csv_bytes(x_train, y_train)),
            "validation": ("text/csv", csv_bytes(x_test, y_test)),
        },
    )
    ALGORITHM.train(env)
    output = capsys.readouterr().out
    lines = eval_lines(output)
    assert len(lines) == 30
    assert lines[0].startswith("[0]\ttrain-error:")
    assert "\tvalidation-auc:" in lines[-1]
    assert "Single node training." in output
    for metric in ("train:error", "validation:error", "validation:auc", "validation:accuracy"):
        assert len(metric_values(output, metric)) == 30, metric
    accuracy_logged = metric_values(output, "validation:accuracy")[-1]

    assert (env.model_dir / MODEL_FILE).is_file()
    model = ALGORITHM.load(env.model_dir)
    predictions = model.predict(x_test)
    assert predictions.predicted_label is not None
    assert predictions.score.shape == (len(y_test),)
    assert set(np.unique(predictions.predicted_label)) <= {0.0, 1.0}
    accuracy = float(np.mean(predictions.predicted_label == y_test))
    assert accuracy >= 0.95
    assert accuracy == pytest.approx(accuracy_logged, abs=1e-5)


def test_libsvm_is_the_default_content_type(
    tmp_path: Path, cancer: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    x_train, y_train, x_test, _ = cancer
    env = make_job(
        tmp_path,
        {"num_round": "5", "objective": "binary:logistic"},
        {"train": (None, libsvm_bytes(x_train, y_train))},
    )
    ALGORITHM.train(env)
    output = capsys.readouterr().out
    # XGBoost's default metric for binary:logistic.
    assert len(metric_values(output, "train:logloss")) == 5
    scores = ALGORITHM.load(env.model_dir).predict(x_test).score
    assert np.all((scores >= 0) & (scores <= 1))


def test_csv_with_label_size_zero_is_refused(tmp_path: Path, cancer: Any) -> None:
    x_train, y_train, _, _ = cancer
    env = make_job(
        tmp_path,
        {"num_round": "5"},
        {"train": ("text/csv;label_size=0", csv_bytes(x_train, y_train))},
    )
    with pytest.raises(ValidationException, match="label_size must be equal to 1"):
        ALGORITHM.train(env)


def test_empty_train_channel_is_refused(tmp_path: Path) -> None:
    env = make_job(tmp_path, {"num_round": "5"}, {"train": ("text/csv", b"")})
    with pytest.raises(ValidationException, match="No data in training channel"):
        ALGORITHM.train(env)


def test_csv_weights_read_the_second_column(
    tmp_path: Path, cancer: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    x_train, y_train, _, _ = cancer
    weights = np.where(y_train == 1, 5.0, 1.0).astype(np.float32)
    env = make_job(
        tmp_path,
        {"num_round": "3", "objective": "binary:logistic", "csv_weights": "1"},
        {"train": ("text/csv", csv_bytes(x_train, y_train, weights))},
    )
    ALGORITHM.train(env)
    capsys.readouterr()
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(bytearray((env.model_dir / MODEL_FILE).read_bytes()))
    assert booster.num_features() == x_train.shape[1]  # the weight is not a feature


def test_multiclass_softprob_scores_every_class(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, y = datasets.load_iris(return_X_y=True)
    env = make_job(
        tmp_path,
        {
            "num_round": "10",
            "objective": "multi:softprob",
            "num_class": "3",
            "eval_metric": "mlogloss,merror,f1",
        },
        {"train": ("text/csv", csv_bytes(x, y)), "validation": ("text/csv", csv_bytes(x, y))},
    )
    ALGORITHM.train(env)
    output = capsys.readouterr().out
    assert len(metric_values(output, "validation:merror")) == 10
    assert metric_values(output, "validation:f1")[-1] > 0.9
    predictions = ALGORITHM.load(env.model_dir).predict(x.astype(np.float32))
    assert predictions.score.shape == (len(y), 3)
    assert predictions.predicted_label is not None
    assert np.mean(predictions.predicted_label == y) > 0.9


def test_early_stopping_serves_the_best_iteration(
    tmp_path: Path, cancer: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    x_train, y_train, x_test, y_test = cancer
    env = make_job(
        tmp_path,
        {
            "num_round": "400",
            "eta": "0.5",
            "objective": "binary:logistic",
            "early_stopping_rounds": "5",
        },
        {
            "train": ("text/csv", csv_bytes(x_train, y_train)),
            "validation": ("text/csv", csv_bytes(x_test, y_test)),
        },
    )
    ALGORITHM.train(env)
    logged = metric_values(capsys.readouterr().out, "validation:logloss")
    assert len(logged) < 400
    model = ALGORITHM.load(env.model_dir)
    scores = model.predict(x_test).score.astype(np.float64)
    logloss = -np.mean(y_test * np.log(scores) + (1 - y_test) * np.log(1 - scores))
    assert logloss == pytest.approx(min(logged), abs=1e-4)


def test_only_the_leader_writes_the_model(
    tmp_path: Path, cancer: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    x_train, y_train, _, _ = cancer
    env = make_job(
        tmp_path,
        {"num_round": "2"},
        {"train": ("text/csv", csv_bytes(x_train, y_train))},
        hosts=("algo-1", "algo-2"),
        current_host="algo-2",
    )
    ALGORITHM.train(env)
    assert "Distributed node training with 2 hosts" in capsys.readouterr().out
    assert not (env.model_dir / MODEL_FILE).exists()


def test_seed_makes_sampled_training_repeatable(
    tmp_path: Path, cancer: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    x_train, y_train, x_test, _ = cancer
    data = {"train": ("text/csv", csv_bytes(x_train, y_train))}
    sampled = {"num_round": "10", "subsample": "0.6", "colsample_bytree": "0.6"}
    runs = []
    for run, seed in enumerate(("42", "42", "7")):
        env = make_job(tmp_path / str(run), {**sampled, "seed": seed}, dict(data))
        ALGORITHM.train(env)
        runs.append(ALGORITHM.load(env.model_dir).predict(x_test).score)
    capsys.readouterr()
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_diabetes_rmse_is_within_ten_percent_of_ridge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    linear_model = pytest.importorskip("sklearn.linear_model")
    x, y = datasets.load_diabetes(return_X_y=True)
    order = np.random.default_rng(3).permutation(len(y))
    x, y = x[order].astype(np.float32), y[order].astype(np.float32)
    cut = len(y) * 3 // 4
    ridge = linear_model.Ridge(alpha=0.1).fit(x[:cut], y[:cut])
    ridge_rmse = float(np.sqrt(np.mean((ridge.predict(x[cut:]) - y[cut:]) ** 2)))
    # The defaults (eta 0.3, depth 6) overfit 330 rows of a nearly linear target; a
    # user tunes them as here: slow shallow trees, subsampled.
    env = make_job(
        tmp_path,
        {
            "num_round": "300",
            "eta": "0.03",
            "max_depth": "2",
            "subsample": "0.7",
            "min_child_weight": "5",
            "seed": "1",
        },
        {
            "train": ("text/csv", csv_bytes(x[:cut], y[:cut])),
            "validation": ("text/csv", csv_bytes(x[cut:], y[cut:])),
        },
    )
    ALGORITHM.train(env)
    logged = metric_values(capsys.readouterr().out, "validation:rmse")
    scores = ALGORITHM.load(env.model_dir).predict(x[cut:]).score
    rmse = float(np.sqrt(np.mean((scores - y[cut:]) ** 2)))
    assert rmse == pytest.approx(logged[-1], rel=1e-4)
    assert rmse <= 1.10 * ridge_rmse


def test_predict_widens_rows_narrower_than_the_model(
    tmp_path: Path, cancer: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import scipy.sparse

    x_train, y_train, x_test, _ = cancer
    env = make_job(
        tmp_path,
        {"num_round": "3"},
        {"train": ("text/csv", csv_bytes(x_train, y_train))},
    )
    ALGORITHM.train(env)
    capsys.readouterr()
    model = ALGORITHM.load(env.model_dir)
    narrow = scipy.sparse.csr_matrix(x_test[:, :10])
    assert model.predict(narrow).score.shape == (len(x_test),)


def test_tuning_objective_metric_is_evaluated_too(
    tmp_path: Path, cancer: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    x_train, y_train, x_test, y_test = cancer
    env = make_job(
        tmp_path,
        {
            "num_round": "3",
            "objective": "binary:logistic",
            "_tuning_objective_metric": "validation:f1",
        },
        {
            "train": ("text/csv", csv_bytes(x_train, y_train)),
            "validation": ("text/csv", csv_bytes(x_test, y_test)),
        },
    )
    ALGORITHM.train(env)
    output = capsys.readouterr().out
    # The container adds the objective's metric; without eval_metric, XGBoost's
    # default (logloss) stays.
    assert len(metric_values(output, "validation:f1")) == 3
    assert len(metric_values(output, "validation:logloss")) == 3
