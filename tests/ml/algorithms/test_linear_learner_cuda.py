"""linear-learner on CUDA: the captured-graph step trains exactly the eager step's models.

Runs where torch sees a GPU (the device check runs it); skipped elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from fogbank.ml.algorithms import linear_learner_engine as engine
from fogbank.ml.algorithms.linear_learner import validate
from fogbank.ml.algorithms.linear_learner_metrics import Log
from fogbank.ml.algorithms.linear_learner_plan import resolve, seed_of

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_cuda_graph_steps_train_the_same_models_as_eager_steps(
    optimizer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40_000, 20)).astype(np.float32)
    y = (x @ rng.normal(size=20) + 0.3 * rng.normal(size=40_000) > 0).astype(np.float32)
    given = {
        "predictor_type": "binary_classifier",
        "num_models": "8",
        "mini_batch_size": "500",
        "epochs": "3",
        "optimizer": optimizer,
        "l1": "0.0001",
    }
    plan = resolve(validate(given), seed=seed_of(given), feature_dim=20)
    graphed = engine.fit_arrays(plan, x, y, log=Log(quiet=True))
    monkeypatch.setattr(engine, "USE_CUDA_GRAPHS", False)
    eager = engine.fit_arrays(plan, x, y, log=Log(quiet=True))
    assert graphed.chosen == eager.chosen
    np.testing.assert_allclose(graphed.weight, eager.weight, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(graphed.bias, eager.bias, rtol=1e-4, atol=1e-5)
