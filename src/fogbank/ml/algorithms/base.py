"""What a built-in algorithm is: the contract every algorithm module fulfils.

An algorithm module declares data (its SageMaker name, its hyperparameters, its
channels, the content types it reads, the regexes SageMaker reads its metrics with)
and two behaviours: ``train`` runs inside a training job's process and sees only the
container layout (:class:`~fogbank.ml.training.environment.ContainerEnvironment`);
``load`` reads what ``train`` left in ``model/`` and predicts, for hosting and for the
contract suite's round trip. Nothing here imports PyTorch or XGBoost: an algorithm
imports them inside ``train`` and ``load``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fogbank.ml.algorithms.hyperparameters import Hyperparameter

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse

    from fogbank.ml.training.environment import ContainerEnvironment


@dataclass(frozen=True)
class MetricDefinition:
    """A metric SageMaker reads from the job's log: the first group of ``regex``."""

    name: str
    regex: str


@dataclass(frozen=True)
class ChannelSpec:
    """The channels an algorithm reads: ``train`` required, others optional."""

    required: tuple[str, ...] = ("train",)
    optional: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return self.required + self.optional


@dataclass(frozen=True)
class Predictions:
    """What a model says about a batch of rows.

    ``score`` is one float per row (binary: P(label 1); regression: the value), or one
    row of class scores per row (multiclass, ``multi:softprob``); ``predicted_label``
    is set for classifiers.
    """

    score: np.ndarray
    predicted_label: np.ndarray | None = None


class Model(Protocol):
    """A trained model loaded from ``model/`` (once per serving worker)."""

    def predict(self, features: np.ndarray | scipy.sparse.csr_matrix) -> Predictions: ...


class Algorithm(Protocol):
    """One built-in algorithm; registered in :mod:`fogbank.ml.algorithms`."""

    @property
    def name(self) -> str:
        """SageMaker's name, as in the image repository (``linear-learner``, ``xgboost``)."""
        ...

    @property
    def hyperparameters(self) -> tuple[Hyperparameter, ...]: ...

    @property
    def channels(self) -> ChannelSpec: ...

    @property
    def content_types(self) -> tuple[str, ...]:
        """Training content types accepted, the first being the default."""
        ...

    @property
    def inference_content_types(self) -> tuple[str, ...]: ...

    @property
    def metric_definitions(self) -> tuple[MetricDefinition, ...]: ...

    def validate(self, given: Mapping[str, str]) -> dict[str, Any]:
        """The typed hyperparameters, ``auto`` left as is; rules between parameters
        checked. Raises HyperparameterError; called at CreateTrainingJob and again in
        the container."""
        ...

    def train(self, env: ContainerEnvironment) -> None:
        """Train on the channels, log metrics, write the model into ``env.model_dir``."""
        ...

    def load(self, model_dir: Path) -> Model: ...
