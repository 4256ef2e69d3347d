"""SageMaker's built-in Factorization Machines: validation, training jobs end to end
through the container layout, the log lines and their regexes, the model file, and
quality on a small synthetic ratings set (users x items one-hot, MovieLens-like)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

from fogbank.core.errors import ValidationException
from fogbank.ml import formats
from fogbank.ml.algorithms import algorithm
from fogbank.ml.algorithms.factorization_machines import ALGORITHM, MODEL_FILE
from fogbank.ml.algorithms.hyperparameters import HyperparameterError
from fogbank.ml.training.environment import ContainerEnvironment

USERS, ITEMS = 100, 80
RECORDIO = "application/x-recordio-protobuf"


def ratings(n: int = 6000, seed: int = 0) -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    """Ratings from biases plus a rank-4 user-item interaction, one-hot encoded as
    [user one-hot | item one-hot]."""
    rng = np.random.default_rng(seed)
    p, q = rng.normal(0, 0.6, (USERS, 4)), rng.normal(0, 0.6, (ITEMS, 4))
    bu, bi = rng.normal(0, 0.5, USERS), rng.normal(0, 0.5, ITEMS)
    u, i = rng.integers(0, USERS, n), rng.integers(0, ITEMS, n)
    r = 3.5 + bu[u] + bi[i] + (p[u] * q[i]).sum(axis=1) + rng.normal(0, 0.3, n)
    x = scipy.sparse.csr_matrix(
        (np.ones(2 * n, np.float32), np.c_[u, USERS + i].ravel(), np.arange(0, 2 * n + 1, 2)),
        shape=(n, USERS + ITEMS),
    )
    return x, r.astype(np.float32)


def recordio(features: scipy.sparse.csr_matrix | np.ndarray, labels: np.ndarray) -> bytes:
    import io

    out = io.BytesIO()
    formats.write_recordio_protobuf(out, features, labels)
    return out.getvalue()


def make_job(
    root: Path,
    hyperparameters: dict[str, str],
    channels: dict[str, bytes],
    *,
    content_type: str = RECORDIO,
    hosts: tuple[str, ...] = ("algo-1",),
    current_host: str = "algo-1",
) -> ContainerEnvironment:
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    data_config = {name: {"ContentType": content_type} for name in channels}
    (config / "inputdataconfig.json").write_text(json.dumps(data_config))
    (config / "resourceconfig.json").write_text(
        json.dumps({"current_host": current_host, "hosts": list(hosts)})
    )
    for name, body in channels.items():
        folder = root / "input" / "data" / name
        folder.mkdir(parents=True)
        (folder / "part-0.pbr").write_bytes(body)
    return ContainerEnvironment.from_root(root)


def tuned(predictor_type: str, **extra: str) -> dict[str, str]:
    # A user's settings for a few thousand ratings: AWS's default rates are sized for
    # millions of rows, so a small set needs larger rates and a few epochs.
    return {
        "feature_dim": str(USERS + ITEMS),
        "num_factors": "16",
        "predictor_type": predictor_type,
        "epochs": "15",
        "mini_batch_size": "200",
        "linear_lr": "0.01",
        "factors_lr": "0.01",
        "factors_init_sigma": "0.01",
        **extra,
    }


def metric(output: str, name: str) -> list[float]:
    regex = {d.name: d.regex for d in ALGORITHM.metric_definitions}[name]
    return [float(m.group(1)) for line in output.splitlines() if (m := re.search(regex, line))]


REQUIRED = {"feature_dim": "100", "num_factors": "8", "predictor_type": "regressor"}


# ---------------------------------------------------------------------------------
# Declarations and validation


def test_registered_under_its_sagemaker_name() -> None:
    assert algorithm("factorization-machines") is ALGORITHM
    assert ALGORITHM.channels.optional == ("test",)
    assert ALGORITHM.content_types == (RECORDIO,)
    assert {d.name for d in ALGORITHM.metric_definitions} == {
        "test:rmse",
        "test:binary_classification_accuracy",
        "test:binary_classification_cross_entropy",
        "test:binary_f_beta",
    }


def test_defaults_are_aws_documented_ones() -> None:
    typed = ALGORITHM.validate(REQUIRED)
    assert (typed["epochs"], typed["mini_batch_size"]) == (1, 1000)
    assert (typed["bias_lr"], typed["linear_lr"], typed["factors_lr"]) == (0.1, 0.001, 0.0001)
    assert (typed["bias_wd"], typed["linear_wd"], typed["factors_wd"]) == (0.01, 0.001, 0.00001)
    assert typed["factors_init_method"] == "normal"
    assert typed["factors_init_sigma"] == 0.001
    assert typed["clip_gradient"] is None


@pytest.mark.parametrize("missing", ["feature_dim", "num_factors", "predictor_type"])
def test_required_hyperparameters(missing: str) -> None:
    given = {k: v for k, v in REQUIRED.items() if k != missing}
    with pytest.raises(HyperparameterError, match=f"'{missing}' hyperparameter .* is required"):
        ALGORITHM.validate(given)


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("predictor_type", "multiclass_classifier", "one of 'binary_classifier', 'regressor'"),
        ("feature_dim", "0", "an integer >= 1"),
        ("num_factors", "many", "an integer >= 1"),
        ("epochs", "1.5", "an integer >= 1"),
        ("bias_lr", "-0.1", "a float >= 0"),
        ("factors_init_method", "xavier", "one of 'normal', 'uniform', 'constant'"),
    ],
)
def test_bad_values_name_the_parameter(name: str, value: str, allowed: str) -> None:
    with pytest.raises(HyperparameterError, match=allowed) as raised:
        ALGORITHM.validate({**REQUIRED, name: value})
    assert raised.value.name == name


def test_init_methods_need_their_parameter() -> None:
    with pytest.raises(HyperparameterError, match=r"'linear_init_scale' .* is required when"):
        ALGORITHM.validate({**REQUIRED, "linear_init_method": "uniform"})
    with pytest.raises(HyperparameterError, match=r"'bias_init_value' .* is required when"):
        ALGORITHM.validate({**REQUIRED, "bias_init_method": "constant"})
    ALGORITHM.validate({**REQUIRED, "bias_init_method": "constant", "bias_init_value": "3.5"})


def test_clip_gradient_must_be_positive() -> None:
    with pytest.raises(HyperparameterError, match="'clip_gradient'"):
        ALGORITHM.validate({**REQUIRED, "clip_gradient": "0"})


# ---------------------------------------------------------------------------------
# Training jobs


def test_regressor_beats_the_mean_and_logs_what_sagemaker_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, y = ratings()
    cut = len(y) * 4 // 5
    env = make_job(
        tmp_path,
        tuned("regressor"),
        {"train": recordio(x[:cut], y[:cut]), "test": recordio(x[cut:], y[cut:])},
    )
    ALGORITHM.train(env)
    output = capsys.readouterr().out
    assert re.search(r"#test_score \(algo-1\) : \('rmse', [0-9.]+\)", output)
    epochs = re.findall(r"#quality_metric: host=algo-1, epoch=(\d+), train rmse <loss>=", output)
    assert epochs == [str(e) for e in range(15)]
    (logged,) = metric(output, "test:rmse")

    model = ALGORITHM.load(env.model_dir)
    predictions = model.predict(x[cut:])
    assert predictions.predicted_label is None
    rmse = float(np.sqrt(np.mean((predictions.score - y[cut:]) ** 2)))
    assert rmse == pytest.approx(logged, rel=1e-5)
    mean_rmse = float(np.sqrt(np.mean((y[cut:] - y[:cut].mean()) ** 2)))
    print(f"fm test rmse {rmse:.3f}, mean's {mean_rmse:.3f}")
    assert rmse < 0.6 * mean_rmse


def test_binary_classifier_is_well_above_chance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, r = ratings()
    y = (r > np.median(r)).astype(np.float32)
    cut = len(y) * 4 // 5
    env = make_job(
        tmp_path,
        tuned("binary_classifier"),
        {"train": recordio(x[:cut], y[:cut]), "test": recordio(x[cut:], y[cut:])},
    )
    ALGORITHM.train(env)
    output = capsys.readouterr().out
    (accuracy,) = metric(output, "test:binary_classification_accuracy")
    (entropy,) = metric(output, "test:binary_classification_cross_entropy")
    (f_beta,) = metric(output, "test:binary_f_beta")
    print(f"fm accuracy {accuracy:.3f} cross entropy {entropy:.3f} f1 {f_beta:.3f}")
    assert accuracy > 0.75
    assert entropy < 0.6
    assert f_beta > 0.7
    assert "train binary_classification_cross_entropy <loss>=" in output

    predictions = ALGORITHM.load(env.model_dir).predict(x[cut:])
    assert predictions.predicted_label is not None
    assert np.all((predictions.score >= 0) & (predictions.score <= 1))
    np.testing.assert_array_equal(predictions.predicted_label, predictions.score >= 0.5)
    assert float(np.mean(predictions.predicted_label == y[cut:])) == pytest.approx(accuracy)


def test_training_is_repeatable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x, y = ratings(2000)
    hyperparameters = tuned("regressor", epochs="3")
    arrays = []
    for run in range(2):
        env = make_job(tmp_path / str(run), hyperparameters, {"train": recordio(x, y)})
        ALGORITHM.train(env)
        with np.load(env.model_dir / MODEL_FILE, allow_pickle=False) as saved:
            arrays.append({k: saved[k] for k in saved.files})
    capsys.readouterr()
    for key in ("w0", "w", "V"):
        np.testing.assert_array_equal(arrays[0][key], arrays[1][key])


def test_model_file_round_trip_and_dense_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, y = ratings(2000)
    env = make_job(tmp_path, tuned("regressor", epochs="2"), {"train": recordio(x, y)})
    ALGORITHM.train(env)
    capsys.readouterr()
    with np.load(env.model_dir / MODEL_FILE, allow_pickle=False) as saved:
        meta = json.loads(str(saved["meta"]))
        assert saved["V"].shape == (USERS + ITEMS, 16)
        assert saved["w"].shape == (USERS + ITEMS,)
    assert meta["format"] == "fogbank-fm/1"
    assert meta["predictor_type"] == "regressor"
    model = ALGORITHM.load(env.model_dir)
    sparse_scores = model.predict(x[:50]).score
    np.testing.assert_allclose(model.predict(x[:50].toarray()).score, sparse_scores, rtol=1e-5)
    # FM by hand for one row: w0 + w_u + w_i + <v_u, v_i>.
    with np.load(env.model_dir / MODEL_FILE, allow_pickle=False) as saved:
        u, i = x[0].indices
        expected = saved["w0"][0] + saved["w"][u] + saved["w"][i] + saved["V"][u] @ saved["V"][i]
    assert sparse_scores[0] == pytest.approx(expected, rel=1e-4)


def test_dense_recordio_and_pipe_mode_epochs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, y = ratings(1000)
    make_job(tmp_path, tuned("regressor", epochs="2"), {})
    # Pipe mode reads input/data/train_<epoch> front to back, one per epoch.
    config = tmp_path / "input" / "config" / "inputdataconfig.json"
    config.write_text(json.dumps({"train": {"ContentType": RECORDIO, "TrainingInputMode": "Pipe"}}))
    (tmp_path / "input" / "data").mkdir(parents=True)
    for epoch in range(2):
        (tmp_path / "input" / "data" / f"train_{epoch}").write_bytes(recordio(x.toarray(), y))
    ALGORITHM.train(ContainerEnvironment.from_root(tmp_path))
    assert "epoch=1, train rmse" in capsys.readouterr().out


def test_million_feature_sparse_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(1)
    n, dim = 2000, 1_000_000
    cols = rng.integers(0, dim, (n, 3))
    x = scipy.sparse.csr_matrix(
        (np.ones(3 * n, np.float32), cols.ravel(), np.arange(0, 3 * n + 1, 3)), shape=(n, dim)
    )
    y = rng.integers(0, 2, n).astype(np.float32)
    hyperparameters = {
        "feature_dim": str(dim),
        "num_factors": "4",
        "predictor_type": "binary_classifier",
    }
    env = make_job(tmp_path, hyperparameters, {"train": recordio(x, y)})
    ALGORITHM.train(env)
    capsys.readouterr()
    predictions = ALGORITHM.load(env.model_dir).predict(x[:10])
    assert predictions.score.shape == (10,)


def test_csv_is_refused(tmp_path: Path) -> None:
    env = make_job(
        tmp_path, {**REQUIRED, "feature_dim": "2"}, {"train": b"1,0,1\n"}, content_type="text/csv"
    )
    with pytest.raises(ValidationException, match="recordio-protobuf"):
        ALGORITHM.train(env)


def test_binary_labels_must_be_zero_or_one(tmp_path: Path) -> None:
    x, y = ratings(100)
    env = make_job(tmp_path, tuned("binary_classifier"), {"train": recordio(x, y)})
    with pytest.raises(ValidationException, match="labels must be 0 or 1"):
        ALGORITHM.train(env)


def test_only_the_leader_writes_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, y = ratings(500)
    env = make_job(
        tmp_path,
        tuned("regressor", epochs="1"),
        {"train": recordio(x, y)},
        hosts=("algo-1", "algo-2"),
        current_host="algo-2",
    )
    ALGORITHM.train(env)
    capsys.readouterr()
    assert not (env.model_dir / MODEL_FILE).exists()
