"""linear-learner: hyperparameter rules, every loss, model selection, early stopping,
determinism, the model files, quality on scikit-learn's bundled data sets, and the
container contract (channels in, AWS's metric lines out, model written)."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.linear_model import Ridge
from sklearn.metrics import precision_score, recall_score, roc_auc_score

from fogbank.core.errors import FogbankError, ValidationException
from fogbank.ml.algorithms import algorithm
from fogbank.ml.algorithms.hyperparameters import HyperparameterError
from fogbank.ml.algorithms.linear_learner import ALGORITHM, METRIC_DEFINITIONS, validate
from fogbank.ml.algorithms.linear_learner_engine import Fitted, fit_arrays, predict_scores
from fogbank.ml.algorithms.linear_learner_metrics import multiclass_metrics, roc_auc
from fogbank.ml.algorithms.linear_learner_model import MODEL_FILE, SETTINGS_FILE, load, save
from fogbank.ml.algorithms.linear_learner_ops import calibrate
from fogbank.ml.algorithms.linear_learner_plan import Plan, resolve, seed_of
from fogbank.ml.training.environment import ContainerEnvironment


def plan(**given: Any) -> Plan:
    hyperparameters = {k: str(v) for k, v in given.items()}
    return resolve(validate(hyperparameters), seed=seed_of(hyperparameters))


def split(features: np.ndarray, labels: np.ndarray, seed: int = 0) -> tuple[Any, ...]:
    """Shuffled (AWS asks for shuffled data), three quarters to train, one to hold out."""
    order = np.random.default_rng(seed).permutation(len(labels))
    features, labels = features[order].astype(np.float32), labels[order].astype(np.float32)
    cut = len(labels) * 3 // 4
    return features[:cut], labels[:cut], features[cut:], labels[cut:]


def toy(kind: str, rows: int = 300, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 5)).astype(np.float32) * [1, 2, 3, 1, 5] + [0, 1, -2, 3, 0]
    signal = x @ np.array([1.0, -0.5, 0.3, 0.0, 0.2]) - 0.5
    if kind == "binary":
        return x, (signal + rng.normal(scale=0.3, size=rows) > 0).astype(np.float32)
    if kind == "multiclass":
        return x, np.digitize(signal, [-1.5, 0.5]).astype(np.float32)
    return x, (3.0 * signal + 10.0 + rng.normal(scale=0.5, size=rows)).astype(np.float32)


# ---------------------------------------------------------------------------------
# Hyperparameters


def test_registered_and_light_to_import() -> None:
    assert algorithm("linear-learner") is ALGORITHM
    assert ALGORITHM.name == "linear-learner"
    assert ALGORITHM.channels.required == ("train",)
    assert ALGORITHM.content_types[0] == "application/x-recordio-protobuf"
    code = (
        "import sys, fogbank.ml.algorithms.linear_learner as m; "
        "m.validate({'predictor_type': 'regressor'}); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_defaults_are_aws_defaults() -> None:
    values = validate({"predictor_type": "binary_classifier"})
    assert values["loss"] == "auto"
    assert values["epochs"] == 15
    assert values["mini_batch_size"] == 1000
    assert values["num_models"] == "auto"
    assert values["normalize_data"] is True
    assert values["positive_example_weight_mult"] == 1.0
    assert values["binary_classifier_model_selection_criteria"] == "accuracy"
    assert values["feature_dim"] == "auto"
    resolved = plan(predictor_type="binary_classifier")
    assert (resolved.loss, resolved.optimizer, resolved.num_models) == ("logistic", "adam", 32)
    assert resolved.learning_rates[0] == 0.1 and resolved.wds[0] == 0.0001
    assert resolved.objective_name == "binary_classification_cross_entropy_objective"
    assert plan(predictor_type="regressor").objective_name == "mse_objective"


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({}, "The 'predictor_type' hyperparameter of linear-learner is required"),
        ({"predictor_type": "ranker"}, "must be one of 'binary_classifier'"),
        (
            {"predictor_type": "multiclass_classifier"},
            "'num_classes' hyperparameter of linear-learner is required when predictor_type",
        ),
        (
            {"predictor_type": "multiclass_classifier", "num_classes": "2"},
            "must be an integer in [3, 1000000]. Got '2' instead.",
        ),
        (
            {"predictor_type": "binary_classifier", "loss": "squared_loss"},
            "must be one of 'auto', 'logistic', 'hinge_loss' when predictor_type is "
            "'binary_classifier'. Got 'squared_loss' instead.",
        ),
        (
            {"predictor_type": "regressor", "loss": "logistic"},
            "when predictor_type is 'regressor'",
        ),
        (
            {"predictor_type": "multiclass_classifier", "num_classes": "3", "loss": "hinge_loss"},
            "must be one of 'auto', 'softmax_loss'",
        ),
        ({"predictor_type": "regressor", "mini_batch_size": "0"}, "integer >= 1. Got '0'"),
        ({"predictor_type": "regressor", "quantile": "1.5"}, "float in (0, 1). Got '1.5'"),
        ({"predictor_type": "regressor", "optimizer": "adagrad"}, "'sgd', 'adam', 'rmsprop'"),
        ({"predictor_type": "regressor", "learning_rate": "0"}, "float > 0 or 'auto'"),
        (
            {"predictor_type": "binary_classifier", "positive_example_weight_mult": "-1"},
            "float > 0 or 'auto' or 'balanced'",
        ),
        ({"predictor_type": "regressor", "use_bias": "maybe"}, "a boolean"),
        ({"predictor_type": "regressor", "colour": "red"}, "'colour' is not a hyperparameter"),
    ],
)
def test_invalid_hyperparameters(given: dict[str, str], words: str) -> None:
    with pytest.raises(HyperparameterError) as caught:
        ALGORITHM.validate(given)
    assert words in str(caught.value)


def test_accepted_spellings() -> None:
    values = validate(
        {
            "predictor_type": "binary_classifier",
            "positive_example_weight_mult": "balanced",
            "binary_classifier_model_selection_criteria": "f1",
            "use_bias": "False",
            "epochs": "10.0",
            "num_classes": "5",  # ignored for a binary classifier, as AWS does
            "_tuning_objective_metric": "validation:objective_loss",
        }
    )
    assert values["use_bias"] is False and values["epochs"] == 10
    resolved = resolve(values, seed=1, tuning=True)
    assert resolved.num_models == 1  # AMT turns the internal tuning off
    assert resolved.selection == "f_beta" and resolved.f_beta == 1.0
    assert resolved.positive_weights == (None,)
    assert not resolved.unbias_data  # no bias, no centring


def test_plan_spreads_models_around_the_given_values() -> None:
    given = plan(predictor_type="regressor", learning_rate=0.01, wd=0.0, l1=0.001, num_models=6)
    assert given.learning_rates[0] == 0.01 and given.l1s[0] == 0.001
    assert all(0.01 / 3.2 < r < 0.01 * 3.2 for r in given.learning_rates)
    assert given.wds == (0.0,) * 6  # a given 0 turns wd off everywhere
    assert len(set(given.learning_rates)) == 6
    auto = plan(predictor_type="binary_classifier", positive_example_weight_mult="auto")
    assert auto.positive_weights[:4] == (1.0, None, 1.0, None)
    assert plan(predictor_type="regressor") == plan(predictor_type="regressor")  # same seed


# ---------------------------------------------------------------------------------
# Training on arrays


@pytest.mark.parametrize(
    ("predictor", "loss"),
    [
        ("binary_classifier", "logistic"),
        ("binary_classifier", "hinge_loss"),
        ("multiclass_classifier", "softmax_loss"),
        ("regressor", "squared_loss"),
        ("regressor", "absolute_loss"),
        ("regressor", "eps_insensitive_squared_loss"),
        ("regressor", "eps_insensitive_absolute_loss"),
        ("regressor", "quantile_loss"),
        ("regressor", "huber_loss"),
    ],
)
def test_every_loss_trains(predictor: str, loss: str) -> None:
    kind = {"binary_classifier": "binary", "multiclass_classifier": "multiclass"}.get(
        predictor, "regression"
    )
    x, y = toy(kind)
    extra = {"num_classes": 3} if kind == "multiclass" else {}
    fitted = fit_arrays(
        plan(
            predictor_type=predictor, loss=loss, mini_batch_size=25, epochs=8, num_models=4, **extra
        ),
        x,
        y,
    )
    scores = predict_scores(fitted, x)
    assert np.all(np.isfinite(scores))
    if kind == "binary":
        assert np.mean((scores[:, 0] >= fitted.raw_threshold) == y) > 0.85
    elif kind == "multiclass":
        assert np.mean(scores.argmax(axis=1) == y) > 0.8
    else:
        assert np.corrcoef(scores[:, 0], y)[0, 1] > 0.95


def test_quantile_loss_fits_the_quantile() -> None:
    x, y = toy("regression", rows=2000)
    fitted = fit_arrays(
        plan(predictor_type="regressor", loss="quantile_loss", quantile=0.9, mini_batch_size=50),
        x,
        y,
    )
    below = np.mean(y <= predict_scores(fitted, x)[:, 0])
    assert 0.8 < below < 0.97


def test_the_best_model_is_chosen() -> None:
    x, y = toy("regression", rows=400)
    held_x, held_y = toy("regression", rows=200, seed=2)
    # Model 0 learns with the given, far too small rate; the others spread around it.
    fitted = fit_arrays(
        plan(predictor_type="regressor", num_models=8, learning_rate=0.002, epochs=3),
        x,
        y,
        validation=(held_x, held_y),
    )
    assert len(fitted.losses) == 8
    assert fitted.chosen == int(np.argmin(fitted.losses))
    assert fitted.losses[fitted.chosen] < fitted.losses[0]
    mse = np.mean((predict_scores(fitted, held_x)[:, 0] - held_y) ** 2)
    assert mse == pytest.approx(fitted.losses[fitted.chosen], rel=1e-4)


def test_binary_selection_calibrates_the_threshold() -> None:
    x, y = toy("binary", rows=600)
    for criterion in ("accuracy", "f_beta", "precision_at_target_recall"):
        fitted = fit_arrays(
            plan(
                predictor_type="binary_classifier",
                binary_classifier_model_selection_criteria=criterion,
                target_recall=0.95,
                num_models=4,
                mini_batch_size=50,
            ),
            x,
            y,
        )
        predicted = predict_scores(fitted, x)[:, 0] >= fitted.raw_threshold
        assert fitted.criterion_values[fitted.chosen] == np.max(fitted.criterion_values)
        if criterion == "precision_at_target_recall":
            assert recall_score(y, predicted) >= 0.95


def test_early_stopping_stops() -> None:
    x, y = toy("binary", rows=400)
    stopping = plan(
        predictor_type="binary_classifier",
        epochs=60,
        early_stopping_patience=2,
        num_models=2,
        mini_batch_size=400,
    )
    assert fit_arrays(stopping, x, y, validation=(x, y)).epochs_run < 60
    patient = plan(
        predictor_type="binary_classifier",
        epochs=6,
        early_stopping_patience=7,
        num_models=2,
        loss="hinge_loss",
    )
    assert fit_arrays(patient, x, y).epochs_run == 6


def test_same_job_same_model() -> None:
    x, y = toy("multiclass")
    settings = plan(predictor_type="multiclass_classifier", num_classes=3, num_models=4, epochs=3)
    first, second = fit_arrays(settings, x, y), fit_arrays(settings, x, y)
    assert np.array_equal(first.weight, second.weight) and first.chosen == second.chosen
    other = plan(predictor_type="multiclass_classifier", num_classes=3, num_models=4, epochs=4)
    assert other.seed != settings.seed


def test_sparse_rows_train_like_dense_rows() -> None:
    x, y = toy("regression")
    x[x < 0] = 0.0
    settings = plan(predictor_type="regressor", num_models=2, epochs=3, mini_batch_size=50)
    dense = fit_arrays(settings, x, y)
    sparse = fit_arrays(settings, scipy.sparse.csr_matrix(x), y)
    np.testing.assert_allclose(sparse.weight, dense.weight, rtol=1e-3, atol=1e-4)


def test_balanced_weights_raise_recall_on_rare_positives() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2000, 4)).astype(np.float32)
    y = (x[:, 0] + rng.normal(scale=1.0, size=2000) > 2.2).astype(np.float32)
    common: dict[str, Any] = {
        "predictor_type": "binary_classifier",
        "num_models": 1,
        "binary_classifier_model_selection_criteria": "loss_function",
        "mini_batch_size": 100,
    }
    plain = fit_arrays(plan(**common), x, y)
    balanced = fit_arrays(plan(positive_example_weight_mult="balanced", **common), x, y)
    recall = [recall_score(y, predict_scores(f, x)[:, 0] >= 0) for f in (plain, balanced)]
    assert recall[1] > recall[0] + 0.2


def test_bad_labels_are_client_errors() -> None:
    x, y = toy("binary")
    y[3] = 2.0
    with pytest.raises(ValidationException, match=r"label 2\.0: labels of a binary_classifier"):
        fit_arrays(plan(predictor_type="binary_classifier", num_models=1), x, y)
    with pytest.raises(ValidationException, match="num_classes - 1 \\(num_classes=3\\)"):
        fit_arrays(plan(predictor_type="multiclass_classifier", num_classes=3), x, y + 1)
    with pytest.raises(ValidationException, match="feature_dim is 7 but"):
        fit_arrays(plan(predictor_type="regressor", feature_dim=7), x, y)


# ---------------------------------------------------------------------------------
# Metrics


def test_metrics_agree_with_scikit_learn() -> None:
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, 500).astype(np.float32)
    scores = labels + rng.normal(size=500)
    scores[:50] = np.round(scores[:50])  # ties
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    truth = rng.integers(0, 4, 300)
    class_scores = rng.normal(size=(300, 4)) + np.eye(4)[truth] * 1.5
    metrics = multiclass_metrics(class_scores, truth.astype(np.float32), 2, 1.0)
    predicted = class_scores.argmax(axis=1)
    assert metrics["multiclass_accuracy"] == pytest.approx(np.mean(predicted == truth))
    assert metrics["macro_precision"] == pytest.approx(
        precision_score(truth, predicted, average="macro")
    )
    assert metrics["macro_recall"] == pytest.approx(recall_score(truth, predicted, average="macro"))
    assert metrics["multiclass_top_k_accuracy_2"] >= metrics["multiclass_accuracy"]


def test_calibrated_threshold_is_the_best_threshold() -> None:
    import torch

    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 200).astype(np.float32)
    scores = (labels + rng.normal(scale=1.2, size=(3, 200))).T.round(1)
    settings = plan(predictor_type="binary_classifier")
    values, thresholds = calibrate(torch.tensor(scores), torch.tensor(labels), settings)
    for m in range(3):
        cuts = np.concatenate([np.unique(scores[:, m]), [np.inf]])
        best = max(np.mean((scores[:, m] >= t) == labels) for t in cuts)
        assert values[m] == pytest.approx(best)
        assert np.mean((scores[:, m] >= thresholds[m]) == labels) == pytest.approx(best)


# ---------------------------------------------------------------------------------
# Quality on real data


def test_breast_cancer() -> None:
    train_x, train_y, test_x, test_y = split(*load_breast_cancer(return_X_y=True))
    fitted = fit_arrays(
        plan(predictor_type="binary_classifier", mini_batch_size=50), train_x, train_y
    )
    predicted = predict_scores(fitted, test_x)[:, 0] >= fitted.raw_threshold
    assert np.mean(predicted == test_y) >= 0.95


def test_diabetes_against_ridge() -> None:
    train_x, train_y, test_x, test_y = split(*load_diabetes(return_X_y=True))
    fitted = fit_arrays(
        plan(predictor_type="regressor", mini_batch_size=32, epochs=30), train_x, train_y
    )
    rmse = np.sqrt(np.mean((predict_scores(fitted, test_x)[:, 0] - test_y) ** 2))
    ridge = Ridge(alpha=1.0).fit(train_x, train_y)
    ridge_rmse = np.sqrt(np.mean((ridge.predict(test_x) - test_y) ** 2))
    assert rmse <= 1.1 * ridge_rmse


def test_digits() -> None:
    train_x, train_y, test_x, test_y = split(*load_digits(return_X_y=True))
    fitted = fit_arrays(
        plan(predictor_type="multiclass_classifier", num_classes=10, mini_batch_size=100),
        train_x,
        train_y,
    )
    assert np.mean(predict_scores(fitted, test_x).argmax(axis=1) == test_y) >= 0.93


# ---------------------------------------------------------------------------------
# Model files


@pytest.mark.parametrize("loss", ["logistic", "hinge_loss"])
def test_binary_model_round_trip(tmp_path: Path, loss: str) -> None:
    x, y = toy("binary")
    fitted = fit_arrays(plan(predictor_type="binary_classifier", loss=loss, num_models=3), x, y)
    save(tmp_path, fitted)
    assert {p.name for p in tmp_path.iterdir()} == {MODEL_FILE, SETTINGS_FILE}
    predictions = ALGORITHM.load(tmp_path).predict(x)
    raw = predict_scores(fitted, x)[:, 0]
    expected = 1 / (1 + np.exp(-raw)) if loss == "logistic" else raw
    np.testing.assert_allclose(predictions.score, expected, rtol=1e-4, atol=1e-5)
    assert predictions.predicted_label is not None
    np.testing.assert_array_equal(predictions.predicted_label, raw >= fitted.raw_threshold)
    settings = json.loads((tmp_path / SETTINGS_FILE).read_text())
    assert settings["predictor_type"] == "binary_classifier" and settings["loss"] == loss


def test_multiclass_and_regression_round_trip(tmp_path: Path) -> None:
    x, y = toy("multiclass")
    fitted = fit_arrays(plan(predictor_type="multiclass_classifier", num_classes=3), x, y)
    save(tmp_path / "m", fitted)
    predictions = load(tmp_path / "m").predict(scipy.sparse.csr_matrix(x))
    assert predictions.score.shape == (300, 3)
    np.testing.assert_allclose(predictions.score.sum(axis=1), 1.0, rtol=1e-5)
    assert predictions.predicted_label is not None
    np.testing.assert_array_equal(predictions.predicted_label, predict_scores(fitted, x).argmax(1))

    x, y = toy("regression")
    fitted = fit_arrays(plan(predictor_type="regressor", num_models=2), x, y)
    save(tmp_path / "r", fitted)
    model = load(tmp_path / "r")
    regression = model.predict(x)
    assert regression.predicted_label is None
    np.testing.assert_allclose(regression.score, predict_scores(fitted, x)[:, 0], rtol=1e-4)
    with pytest.raises(ValidationException, match="rows have 4 features but the model"):
        model.predict(x[:, :4])
    with pytest.raises(ValidationException, match="No linear-learner model"):
        load(tmp_path / "nothing")


# ---------------------------------------------------------------------------------
# The container contract


def container(
    root: Path,
    hyperparameters: dict[str, str],
    channels: dict[str, tuple[np.ndarray, np.ndarray]],
    content_type: str | None = "text/csv",
    mode: str = "File",
) -> ContainerEnvironment:
    from fogbank.ml.formats import write_csv, write_recordio_protobuf

    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    spec: dict[str, dict[str, str]] = {}
    for name, (features, labels) in channels.items():
        spec[name] = {"TrainingInputMode": mode}
        if content_type is not None:
            spec[name]["ContentType"] = content_type
        if content_type == "text/csv":
            body = write_csv(features, labels)
        else:
            stream = io.BytesIO()
            write_recordio_protobuf(stream, features, labels)
            body = stream.getvalue()
        if mode == "Pipe":  # the FIFO of each pass; plain files read the same way
            for epoch in range(int(hyperparameters.get("epochs", "15"))):
                (root / "input" / "data").mkdir(parents=True, exist_ok=True)
                (root / "input" / "data" / f"{name}_{epoch}").write_bytes(body)
        else:
            folder = root / "input" / "data" / name
            folder.mkdir(parents=True)
            (folder / "part-0").write_bytes(body)
    (config / "inputdataconfig.json").write_text(json.dumps(spec))
    return ContainerEnvironment.from_root(root)


def run_job(env: ContainerEnvironment) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ALGORITHM.train(env)
    return out.getvalue()


def metrics_of(log: str) -> dict[str, list[float]]:
    """What SageMaker would read from the log with the algorithm's MetricDefinitions."""
    found: dict[str, list[float]] = {}
    for definition in METRIC_DEFINITIONS:
        for line in log.splitlines():
            match = re.search(definition.regex, line)
            if match:
                found.setdefault(definition.name, []).append(float(match.group(1)))
    return found


def test_train_job_end_to_end(tmp_path: Path) -> None:
    train_x, train_y, test_x, test_y = split(*load_breast_cancer(return_X_y=True))
    env = container(
        tmp_path,
        {"predictor_type": "binary_classifier", "mini_batch_size": "50", "epochs": "6"},
        {
            "train": (train_x[:320], train_y[:320]),
            "validation": (train_x[320:], train_y[320:]),
            "test": (test_x, test_y),
        },
    )
    log = run_job(env)
    assert re.search(
        r"#quality_metric: host=algo-1, epoch=0, validation "
        r"binary_classification_cross_entropy_objective <loss>=\S+",
        log,
    )
    assert re.search(r"#test_score \(algo-1\) : \('binary_classification_accuracy', 0\.9\d+\)", log)
    assert "#quality_metric: host=algo-1, test binary_f_1.000 <score>=" in log
    found = metrics_of(log)
    for name in (
        "train:objective_loss",
        "validation:objective_loss",
        "validation:binary_classification_accuracy",
        "validation:roc_auc_score",
        "test:objective_loss",
        "test:binary_classification_accuracy",
        "test:binary_f_beta",
        "test:precision",
        "test:recall",
        "test:roc_auc_score",
        "train:progress",
        "train:throughput",
    ):
        assert name in found, name
    assert 1 <= len(found["validation:objective_loss"]) <= 6  # one per pass
    assert found["test:binary_classification_accuracy"][0] >= 0.93
    predictions = ALGORITHM.load(env.model_dir).predict(test_x)
    assert predictions.predicted_label is not None
    assert np.mean(predictions.predicted_label == test_y) == pytest.approx(
        found["test:binary_classification_accuracy"][0]
    )


def test_recordio_multiclass_job_and_regression_pipe_job(tmp_path: Path) -> None:
    x, y = toy("multiclass")
    env = container(
        tmp_path / "m",
        {"predictor_type": "multiclass_classifier", "num_classes": "3", "epochs": "3"},
        {"train": (x, y), "test": (x, y)},
        content_type=None,  # recordIO-protobuf, the default
    )
    found = metrics_of(run_job(env))
    assert found["test:multiclass_accuracy"][0] > 0.8
    assert "test:multiclass_top_k_accuracy" in found and "test:macro_f_beta" in found
    assert "test:dcg" in found

    x, y = toy("regression")
    env = container(
        tmp_path / "r",
        {"predictor_type": "regressor", "epochs": "3", "mini_batch_size": "64"},
        {"train": (x, y), "validation": (x, y)},
        content_type="application/x-recordio-protobuf",
        mode="Pipe",
    )
    log = run_job(env)
    found = metrics_of(log)
    assert {"validation:mse", "validation:rmse", "validation:absolute_loss"} <= set(found)
    assert found["validation:rmse"][0] < 3.0
    assert "Test data is not provided." in log
    assert (env.model_dir / MODEL_FILE).exists()


def test_job_data_errors(tmp_path: Path) -> None:
    x, y = toy("binary")
    env = container(tmp_path / "a", {"predictor_type": "binary_classifier"}, {"train": (x, y * 3)})
    with pytest.raises(FogbankError, match="labels of a binary_classifier must be 0 or 1"):
        run_job(env)
    env = container(
        tmp_path / "b",
        {"predictor_type": "regressor"},
        {"train": (x, y)},
        content_type="text/csv;label_size=0",
    )
    with pytest.raises(FogbankError, match="label_size=1"):
        run_job(env)
    env = container(tmp_path / "c", {"predictor_type": "regressor", "loss": "hinge_loss"}, {})
    with pytest.raises(HyperparameterError, match="'loss' hyperparameter"):
        run_job(env)
    env = container(tmp_path / "d", {"predictor_type": "regressor"}, {"validation": (x, y)})
    with pytest.raises(FogbankError, match="Channel 'train' is required"):
        run_job(env)


def test_fitted_is_frozen() -> None:
    x, y = toy("regression", rows=50)
    fitted = fit_arrays(plan(predictor_type="regressor", num_models=1, epochs=1), x, y)
    assert isinstance(fitted, Fitted)
    with pytest.raises(AttributeError):
        fitted.chosen = 3  # type: ignore[misc]
