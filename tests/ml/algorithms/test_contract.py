"""One contract, every registered built-in algorithm (as scikit-learn's check_estimator).

Each algorithm: trains on tiny data in every content type it claims, through the
container layout; rejects bad hyperparameters (generated from its own declarations)
with a message naming the parameter; is deterministic; saves a model that loads and
predicts; and is importable without PyTorch or XGBoost.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse

from fogbank.ml.algorithms import algorithm, names
from fogbank.ml.algorithms.hyperparameters import Hyperparameter, HyperparameterError
from fogbank.ml.formats import (
    parse_content_type,
    write_csv,
    write_libsvm,
    write_parquet,
    write_recordio_protobuf,
)
from fogbank.ml.training.environment import ContainerEnvironment

pytestmark = pytest.mark.slow

FEATURES = 4

# The fewest hyperparameters each algorithm needs for a small binary problem.
MINIMAL: dict[str, dict[str, str]] = {
    "linear-learner": {
        "predictor_type": "binary_classifier",
        "feature_dim": str(FEATURES),
        "epochs": "3",
        "mini_batch_size": "50",
    },
    "xgboost": {"num_round": "5", "objective": "binary:logistic"},
    "factorization-machines": {
        "predictor_type": "binary_classifier",
        "feature_dim": str(FEATURES),
        "num_factors": "2",
        "epochs": "10",
        "mini_batch_size": "50",
        "linear_lr": "0.05",  # AWS's defaults are sized for millions of rows
    },
}


def test_every_registered_algorithm_has_a_minimal_set() -> None:
    assert sorted(MINIMAL) == names()


def _data(rows: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, FEATURES)).astype(np.float32)
    y = (x[:, 0] - x[:, 1] > 0).astype(np.float32)
    return x, y


def _encode(content_type: str, x: np.ndarray, y: np.ndarray) -> bytes:
    mime = parse_content_type(content_type).mime
    if mime == "text/csv":
        return write_csv(x, y)
    if mime == "text/libsvm":
        return write_libsvm(x, y)
    if mime == "application/x-parquet":
        return write_parquet(x, y)
    framed = io.BytesIO()
    write_recordio_protobuf(framed, scipy.sparse.csr_matrix(x), y)
    return framed.getvalue()


def _layout(root: Path, name: str, content_type: str, hyperparameters: dict[str, str]) -> Path:
    x, y = _data()
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "inputdataconfig.json").write_text(
        json.dumps(
            {
                "train": {
                    "ContentType": content_type,
                    "TrainingInputMode": "File",
                    "S3DistributionType": "FullyReplicated",
                    "RecordWrapperType": "None",
                }
            }
        )
    )
    (config / "resourceconfig.json").write_text(
        json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]})
    )
    train = root / "input" / "data" / "train"
    train.mkdir(parents=True)
    (train / "part-0").write_bytes(_encode(content_type, x, y))
    (root / "model").mkdir()
    return root


def _train(root: Path, name: str, content_type: str) -> Any:
    chosen = algorithm(name)
    _layout(root, name, content_type, MINIMAL[name])
    chosen.train(ContainerEnvironment.from_root(root))
    return chosen.load(root / "model")


CASES = [(name, ct) for name in names() for ct in algorithm(name).content_types]


@pytest.mark.parametrize(("name", "content_type"), CASES)
def test_trains_on_each_content_type_it_claims_and_its_model_predicts(
    tmp_path: Path, name: str, content_type: str, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _train(tmp_path, name, content_type)
    x, y = _data()
    predictions = model.predict(x)
    assert predictions.score.shape[0] == len(x)
    assert np.all(np.isfinite(predictions.score))
    assert predictions.predicted_label is not None
    accuracy = float(np.mean(predictions.predicted_label.reshape(-1) == y))
    assert accuracy > 0.6, (name, content_type, accuracy)
    assert capsys.readouterr().out  # it logged as it trained


@pytest.mark.parametrize("name", names())
def test_training_is_deterministic(tmp_path: Path, name: str) -> None:
    content_type = algorithm(name).content_types[0]
    first = _train(tmp_path / "a", name, content_type).predict(_data()[0]).score
    second = _train(tmp_path / "b", name, content_type).predict(_data()[0]).score
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("name", names())
def test_a_missing_required_hyperparameter_is_named(name: str) -> None:
    chosen = algorithm(name)
    for spec in chosen.hyperparameters:
        if spec.required and spec.name in MINIMAL[name]:
            given = {k: v for k, v in MINIMAL[name].items() if k != spec.name}
            with pytest.raises(HyperparameterError, match=spec.name):
                chosen.validate(given)


def _bad_values(spec: Hyperparameter) -> list[str]:
    """Values the declaration itself says are wrong."""
    if spec.kind == "bool":
        return ["maybe"]
    if spec.kind == "str" and spec.options:
        return ["no-such-option"]
    bad = [] if spec.kind == "str" or spec.kind == "list" else ["not-a-number"]
    if spec.kind in ("int", "float"):
        if spec.low is not None:
            bad.append(str(spec.low - 1))
        if spec.high is not None:
            bad.append(str(spec.high + 1))
    if spec.kind == "int":
        bad.append("1.5")
    return bad


@pytest.mark.parametrize("name", names())
def test_every_declared_hyperparameter_rejects_values_outside_its_declaration(name: str) -> None:
    chosen = algorithm(name)
    checked = 0
    for spec in chosen.hyperparameters:
        for value in _bad_values(spec):
            given = {**MINIMAL[name], spec.name: value}
            with pytest.raises(HyperparameterError) as caught:
                chosen.validate(given)
            assert spec.name in caught.value.message, (spec.name, value, caught.value.message)
            assert repr(value) in caught.value.message or value in caught.value.message
            checked += 1
    assert checked >= len(chosen.hyperparameters) // 2


@pytest.mark.parametrize("name", names())
def test_an_unknown_hyperparameter_is_refused(name: str) -> None:
    with pytest.raises(HyperparameterError, match="no_such_parameter"):
        algorithm(name).validate({**MINIMAL[name], "no_such_parameter": "1"})


@pytest.mark.parametrize("name", names())
def test_declarations_follow_one_shape(name: str) -> None:
    chosen = algorithm(name)
    declared = [h.name for h in chosen.hyperparameters]
    assert len(declared) == len(set(declared))
    assert chosen.channels.required == ("train",)
    assert chosen.metric_definitions, "SageMaker reads metrics with these"
    typed = chosen.validate(MINIMAL[name])
    assert set(MINIMAL[name]) <= set(typed)


def test_algorithms_import_without_pytorch_or_xgboost() -> None:
    code = (
        "import sys\n"
        "from fogbank.ml.algorithms import algorithm, names\n"
        "[algorithm(n).validate for n in names()]\n"
        "heavy = [m for m in ('torch', 'xgboost') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
