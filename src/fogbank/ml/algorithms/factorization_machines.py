"""SageMaker's built-in Factorization Machines (``factorization-machines``), in PyTorch.

This module owns the algorithm's contract: AWS's hyperparameters (names, defaults,
ranges), its channels (``train``, optional ``test``) and content type (RecordIO-protobuf
Float32, dense or sparse), the log lines it prints (per-epoch ``#quality_metric`` train
lines, and on the test channel ``#test_score (algo-1) : ('rmse', 0.19)`` and
``#quality_metric: host=algo-1, test rmse <loss>=0.19``) with the regexes that read
them, training, and the model file with the predictor that reads it.

The model is Rendle's degree-2 FM, ``y = w0 + sum_i w_i x_i + sum_{i<j} <v_i, v_j> x_i x_j``,
computed in O(nnz * k) per batch as ``0.5 * sum_f ((sum_i v_if x_i)^2 - sum_i v_if^2 x_i^2)``
over the batch's non-zero entries only, so ``feature_dim`` of 1e6 or more works.

Optimizer (AWS runs FM on MXNet and documents only the per-term ``*_lr``/``*_wd``,
``clip_gradient``, ``eps`` and ``rescale_grad``): Adam, with MXNet's update rule
(``g = rescale_grad * grad + wd * weight``, clipped to ``clip_gradient``; ``eps`` 1e-8
by default) and MXNet's lazy row-sparse update: only the rows of ``w`` and ``V`` that a
batch touches are updated (moments and weight decay included). AWS's default rates
(0.1 / 0.001 / 0.0001) are Adam-sized steps: with plain SGD they would barely move the
factors. The gradient is the batch mean (MXNet's ``rescale_grad = 1/batch_size``)
unless ``rescale_grad`` is given, which then multiplies the batch's summed gradient.
Losses: squared error / 2 (regressor), logistic (binary_classifier).

Seeding: AWS's FM has no seed hyperparameter; initialisation draws from a
``torch.Generator`` seeded with :data:`SEED`, and batches are read in file order, so a
job on the same data is repeatable on CPU.

Model file: ``model/fm-model.npz`` (``numpy.savez``, no pickles): ``w0`` (1,), ``w``
(feature_dim,), ``V`` (feature_dim, num_factors), all float32, and ``meta``, a 0-d
string array holding JSON ``{"format": "fogbank-fm/1", "predictor_type", "feature_dim",
"num_factors"}``. AWS writes an MXNet parameter file (``model_algo-1``) instead; ours
is read by :func:`load` only.

Differences from AWS: multi-host jobs train on each host's own data (no parameter
server); only the leader writes the model. GPU is used when PyTorch sees one (AWS: GPU
for dense data only); CSV is refused as AWS refuses it.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fogbank.core.errors import ValidationException
from fogbank.ml.algorithms.base import ChannelSpec, MetricDefinition, Predictions
from fogbank.ml.algorithms.hyperparameters import Hyperparameter, coerce, invalid

if TYPE_CHECKING:
    import scipy.sparse

    from fogbank.ml.training.environment import Channel, ContainerEnvironment

NAME = "factorization-machines"
MODEL_FILE = "fm-model.npz"
FORMAT = "fogbank-fm/1"
SEED = 0
# mini_batch_size * num_factors under which CPU training runs on one thread.
SMALL_WORK = 1 << 20

_H = Hyperparameter


def _init_parameters(term: str, sigma: str) -> tuple[Hyperparameter, ...]:
    return (
        _H(f"{term}_init_method", "str", "normal", options=("normal", "uniform", "constant")),
        _H(f"{term}_init_scale", "float", low=0, description="uniform: [-scale, +scale]."),
        _H(f"{term}_init_sigma", "float", sigma, low=0, description="normal: the deviation."),
        _H(f"{term}_init_value", "float", description="constant: the value."),
    )


HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    _H("feature_dim", "int", required=True, low=1, description="Input dimension."),
    _H("num_factors", "int", required=True, low=1, description="Factor dimension."),
    _H("predictor_type", "str", required=True, options=("binary_classifier", "regressor")),
    _H("epochs", "int", "1", low=1),
    _H("mini_batch_size", "int", "1000", low=1),
    _H("bias_lr", "float", "0.1", low=0),
    _H("linear_lr", "float", "0.001", low=0),
    _H("factors_lr", "float", "0.0001", low=0),
    _H("bias_wd", "float", "0.01", low=0),
    _H("linear_wd", "float", "0.001", low=0),
    _H("factors_wd", "float", "0.00001", low=0),
    *_init_parameters("bias", "0.01"),
    *_init_parameters("linear", "0.01"),
    *_init_parameters("factors", "0.001"),
    _H("clip_gradient", "float", description="Clip gradients to [-c, +c]."),
    _H("eps", "float", description="Adam's epsilon; default 1e-8."),
    _H("rescale_grad", "float", description="Multiplies the summed batch gradient."),
)

TERMS = ("bias", "linear", "factors")

CHANNELS = ChannelSpec(required=("train",), optional=("test",))
CONTENT_TYPES = ("application/x-recordio-protobuf",)
INFERENCE_CONTENT_TYPES = ("application/json", "application/x-recordio-protobuf")

# AWS's test metrics and the kind of value each is (the word in <loss>=/<score>=).
TEST_METRICS = {
    "rmse": "loss",
    "binary_classification_accuracy": "score",
    "binary_classification_cross_entropy": "loss",
    "binary_f_beta": "score",
}

METRIC_DEFINITIONS = tuple(
    MetricDefinition(
        f"test:{metric}",
        rf"#quality_metric: host=\S+, test {metric} <{kind}>=(\S+)",
    )
    for metric, kind in TEST_METRICS.items()
)


def _log(message: str) -> None:
    """One line as AWS's algorithms log it: ``[11/27/2026 07:55:01 INFO 1407...] text``."""
    stamp = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime())
    print(f"[{stamp} INFO {threading.get_ident()}] {message}", flush=True)


# ---------------------------------------------------------------------------------
# Hyperparameters


def validate(given: Mapping[str, str]) -> dict[str, Any]:
    """Types and ranges as AWS documents them, then the init rules: ``uniform`` needs
    ``*_init_scale`` and ``constant`` needs ``*_init_value`` (nothing else says what to
    draw from)."""
    typed = coerce(NAME, HYPERPARAMETERS, given)
    for term in TERMS:
        method = typed[f"{term}_init_method"]
        needed = {"uniform": "scale", "constant": "value"}.get(method)
        if needed is not None and typed[f"{term}_init_{needed}"] is None:
            raise invalid(
                NAME,
                f"{term}_init_{needed}",
                f"is required when {term}_init_method is {method!r}.",
            )
    if typed["clip_gradient"] is not None and typed["clip_gradient"] <= 0:
        raise invalid(NAME, "clip_gradient", "must be a float > 0 when given.")
    if typed["eps"] is not None and typed["eps"] <= 0:
        raise invalid(NAME, "eps", "must be a float > 0 when given.")
    return typed


# ---------------------------------------------------------------------------------
# Training


@dataclass
class _Sparse:
    """A CSR batch as tensors: column ids, values, row offsets (embedding-bag layout)."""

    indices: Any
    values: Any
    offsets: Any
    rows: int


def _to_csr(features: Any, feature_dim: int) -> scipy.sparse.csr_matrix:
    import scipy.sparse

    csr = scipy.sparse.csr_matrix(features, dtype=np.float32)
    if csr.shape[1] > feature_dim:
        raise ValidationException(
            f"Rows have {csr.shape[1]} features; the model's feature_dim is {feature_dim}."
        )
    if csr.shape[1] < feature_dim:
        csr = scipy.sparse.csr_matrix(
            (csr.data, csr.indices, csr.indptr), shape=(csr.shape[0], feature_dim)
        )
    return csr


class _FM:
    """The parameters, the forward pass and MXNet-style lazy Adam updates."""

    def __init__(self, typed: Mapping[str, Any], device: Any) -> None:
        import torch

        self.torch = torch
        self.device = device
        self.binary = typed["predictor_type"] == "binary_classifier"
        dim, factors = typed["feature_dim"], typed["num_factors"]
        generator = torch.Generator().manual_seed(SEED)
        self.w0 = self._init(typed, "bias", (1,), generator)
        self.w = self._init(typed, "linear", (dim,), generator)
        self.v = self._init(typed, "factors", (dim, factors), generator)
        self.lr = {t: float(typed[f"{t}_lr"]) for t in TERMS}
        self.wd = {t: float(typed[f"{t}_wd"]) for t in TERMS}
        self.clip = typed["clip_gradient"]
        self.eps = float(typed["eps"]) if typed["eps"] is not None else 1e-8
        self.rescale = typed["rescale_grad"]
        self.beta1, self.beta2 = 0.9, 0.999
        self.state = {
            name: (torch.zeros_like(p), torch.zeros_like(p))
            for name, p in (("bias", self.w0), ("linear", self.w), ("factors", self.v))
        }
        self.step = 0

    def _init(self, typed: Mapping[str, Any], term: str, shape: tuple[int, ...], gen: Any) -> Any:
        torch = self.torch
        method = typed[f"{term}_init_method"]
        if method == "normal":
            values = torch.randn(shape, generator=gen) * float(typed[f"{term}_init_sigma"])
        elif method == "uniform":
            scale = float(typed[f"{term}_init_scale"])
            values = (torch.rand(shape, generator=gen) * 2 - 1) * scale
        else:
            values = torch.full(shape, float(typed[f"{term}_init_value"]))
        return values.to(self.device)

    def batch(self, csr: scipy.sparse.csr_matrix) -> _Sparse:
        torch = self.torch
        return _Sparse(
            indices=torch.from_numpy(csr.indices.astype(np.int64)).to(self.device),
            values=torch.from_numpy(csr.data.astype(np.float32)).to(self.device),
            offsets=torch.from_numpy(csr.indptr[:-1].astype(np.int64)).to(self.device),
            rows=csr.shape[0],
        )

    @staticmethod
    def forward(torch: Any, w0: Any, w: Any, v: Any, data: _Sparse, index: Any) -> Any:
        """Raw outputs (margins for binary) of rows whose column ids are ``index`` into
        the gathered rows ``w`` (U,), ``v`` (U, k)."""
        bag = torch.nn.functional.embedding_bag
        linear = bag(index, w[:, None], data.offsets, mode="sum", per_sample_weights=data.values)
        sum_v = bag(index, v, data.offsets, mode="sum", per_sample_weights=data.values)
        sum_v2 = bag(index, v * v, data.offsets, mode="sum", per_sample_weights=data.values**2)
        pairwise = 0.5 * (sum_v * sum_v - sum_v2).sum(dim=1)
        return w0 + linear[:, 0] + pairwise

    def train_batch(self, data: _Sparse, labels: Any) -> float:
        """One step on one batch; the batch's mean loss before the step."""
        torch = self.torch
        rows, index = torch.unique(data.indices, return_inverse=True)
        w0 = self.w0.clone().requires_grad_(True)
        w = self.w[rows].requires_grad_(True)
        v = self.v[rows].requires_grad_(True)
        out = self.forward(torch, w0, w, v, data, index)
        if self.binary:
            losses = torch.nn.functional.binary_cross_entropy_with_logits(
                out, labels, reduction="none"
            )
        else:
            losses = 0.5 * (out - labels) ** 2
        total = losses.sum()
        scale = float(self.rescale) if self.rescale is not None else 1.0 / max(data.rows, 1)
        (total * scale).backward()
        self.step += 1
        with torch.no_grad():
            self._update("bias", self.w0, None, w0)
            self._update("linear", self.w, rows, w)
            self._update("factors", self.v, rows, v)
        return float(total.detach()) / max(data.rows, 1)

    def _update(self, term: str, param: Any, rows: Any, leaf: Any) -> None:
        """MXNet's Adam (lazy for row-sparse gradients) on the rows a batch touched."""
        torch = self.torch
        mean, var = self.state[term]
        weight = leaf.detach()
        grad = leaf.grad + self.wd[term] * weight
        if self.clip is not None:
            grad = grad.clamp(-self.clip, self.clip)
        m = (mean if rows is None else mean[rows]) * self.beta1 + (1 - self.beta1) * grad
        s = (var if rows is None else var[rows]) * self.beta2 + (1 - self.beta2) * grad * grad
        t = self.step
        lr = self.lr[term] * math.sqrt(1 - self.beta2**t) / (1 - self.beta1**t)
        new = weight - lr * m / (torch.sqrt(s) + self.eps)
        if rows is None:
            mean.copy_(m)
            var.copy_(s)
            param.copy_(new)
        else:
            mean[rows] = m
            var[rows] = s
            param[rows] = new

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (
            self.w0.cpu().numpy().astype(np.float32),
            self.w.cpu().numpy().astype(np.float32),
            self.v.cpu().numpy().astype(np.float32),
        )


def _content_type(channel: Channel) -> Any:
    from fogbank.ml import formats

    try:
        parsed = formats.parse_content_type(
            channel.content_type, default="application/x-recordio-protobuf"
        )
    except formats.FormatError as error:
        raise ValidationException(f"Channel {channel.name!r}: {error}") from None
    if parsed.mime not in CONTENT_TYPES:
        raise ValidationException(
            f"Channel {channel.name!r}: factorization-machines reads "
            f"application/x-recordio-protobuf (Float32) only; got {channel.content_type!r}."
        )
    return parsed


# File-mode channels up to this size are parsed once and kept for later epochs: parsing
# RecordIO-protobuf costs more than an FM step. Larger ones, and Pipe mode (whose FIFOs
# the platform refills each epoch), are read again every epoch, as AWS does.
CACHE_BYTES = 256 << 20


def _cacheable(channel: Channel) -> bool:
    if channel.input_mode == "Pipe":
        return False
    return sum(path.stat().st_size for path in channel.files()) <= CACHE_BYTES


def _batches(channel: Channel, epoch: int, typed: Mapping[str, Any]) -> Iterator[Any]:
    from fogbank.ml import formats

    ctype = _content_type(channel)
    try:
        yield from formats.read_batches(
            channel.epoch(epoch),
            ctype,
            batch_size=typed["mini_batch_size"],
            feature_dim=typed["feature_dim"],
            sparse=True,
            source=channel.name,
        )
    except formats.FormatError as error:
        raise ValidationException(f"Channel {channel.name!r}: {error}") from None


def _labels(batch: Any, channel: str, binary: bool) -> np.ndarray:
    if batch.labels is None:
        raise ValidationException(
            f"Channel {channel!r} has records without a label: factorization-machines "
            "trains and tests on labelled records (label['values'])."
        )
    labels = np.asarray(batch.labels, dtype=np.float32).reshape(-1)
    if binary and not np.all((labels == 0) | (labels == 1)):
        raise ValidationException(f"Channel {channel!r}: binary_classifier labels must be 0 or 1.")
    return labels


def score_test(binary: bool, scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """AWS's test metrics: rmse (regressor); accuracy, cross entropy and F1 at 0.5
    (binary_classifier)."""
    if not binary:
        return {"rmse": float(np.sqrt(np.mean((scores - labels) ** 2)))}
    predicted = scores >= 0.5
    truth = labels == 1
    p = np.clip(scores.astype(np.float64), 1e-12, 1 - 1e-12)
    tp = float(np.sum(predicted & truth))
    precision = tp / max(float(np.sum(predicted)), 1.0)
    recall = tp / max(float(np.sum(truth)), 1.0)
    f_beta = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {
        "binary_classification_accuracy": float(np.mean(predicted == truth)),
        "binary_classification_cross_entropy": float(
            -np.mean(truth * np.log(p) + (~truth) * np.log(1 - p))
        ),
        "binary_f_beta": f_beta,
    }


def train(env: ContainerEnvironment) -> None:
    """Train for ``epochs`` passes over ``train``, score ``test`` if given, and (leader
    only) write ``model/fm-model.npz``."""
    import torch

    typed = validate(env.hyperparameters)
    binary = typed["predictor_type"] == "binary_classifier"
    train_channel = env.channel("train")
    if train_channel is None:
        raise ValidationException("factorization-machines needs a 'train' channel.")
    _content_type(train_channel)
    test_channel = env.channel("test")
    if test_channel is not None:
        _content_type(test_channel)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    host = env.current_host
    if len(env.hosts) > 1:
        _log(
            f"Distributed training with {len(env.hosts)} hosts (fogbank: each host trains on "
            "its own data; the leader saves the model)"
        )
    _log(f"Training on {device.type} with feature_dim={typed['feature_dim']}")
    threads = torch.get_num_threads()
    if device.type == "cpu" and typed["mini_batch_size"] * typed["num_factors"] < SMALL_WORK:
        # Per-batch tensors this small gain nothing from intra-op threads, and OpenMP's
        # spinning threads make each op milliseconds slower on a busy machine.
        torch.set_num_threads(1)
    try:
        predictor = _fit(env, typed, device, train_channel)
    finally:
        torch.set_num_threads(threads)

    if test_channel is not None:
        scores: list[np.ndarray] = []
        truth: list[np.ndarray] = []
        for batch in _batches(test_channel, 0, typed):
            if len(batch) == 0:
                continue
            truth.append(_labels(batch, "test", binary))
            scores.append(predictor.predict(batch.features).score)
        if scores:
            metrics = score_test(binary, np.concatenate(scores), np.concatenate(truth))
            for name, value in metrics.items():
                _log(f"#test_score ({host}) : ({name!r}, {value})")
                _log(f"#quality_metric: host={host}, test {name} <{TEST_METRICS[name]}>={value}")

    if env.is_leader:
        env.model_dir.mkdir(parents=True, exist_ok=True)
        save(env.model_dir / MODEL_FILE, predictor)


def _fit(
    env: ContainerEnvironment, typed: Mapping[str, Any], device: Any, channel: Channel
) -> FactorizationMachinesModel:
    """The epochs over ``channel``, logging each epoch's training objective."""
    binary = typed["predictor_type"] == "binary_classifier"
    host = env.current_host
    model = _FM(typed, device)
    objective = "binary_classification_cross_entropy" if binary else "rmse"
    cache: list[tuple[_Sparse, Any, int]] | None = [] if _cacheable(channel) else None
    for epoch in range(typed["epochs"]):
        seen, loss_sum = 0, 0.0
        for data, labels, rows in _epoch(channel, epoch, typed, model, cache):
            loss_sum += model.train_batch(data, labels) * rows
            seen += rows
        if seen == 0:
            raise ValidationException(f"No data in training channel path {channel.path}")
        mean_loss = loss_sum / seen
        # The training objective of the epoch: RMSE from the mean of (out - y)^2 / 2.
        value = mean_loss if binary else math.sqrt(2 * mean_loss)
        _log(f"#quality_metric: host={host}, epoch={epoch}, train {objective} <loss>={value}")
        done = 100 * (epoch + 1) // typed["epochs"]
        _log(f"#progress_metric: host={host}, completed {done} % of epochs")
    w0, w, v = model.arrays()
    return FactorizationMachinesModel(typed["predictor_type"], w0, w, v)


def _epoch(
    channel: Channel,
    epoch: int,
    typed: Mapping[str, Any],
    model: _FM,
    cache: list[tuple[_Sparse, Any, int]] | None,
) -> Iterator[tuple[_Sparse, Any, int]]:
    """One pass: (batch tensors, labels, rows), from the cache after the first pass."""
    import torch

    if cache and epoch > 0:
        yield from cache
        return
    binary = typed["predictor_type"] == "binary_classifier"
    for batch in _batches(channel, epoch, typed):
        rows = len(batch)
        if rows == 0:
            continue
        labels = torch.from_numpy(_labels(batch, channel.name, binary)).to(model.device)
        item = (model.batch(_to_csr(batch.features, typed["feature_dim"])), labels, rows)
        if cache is not None:
            cache.append(item)
        yield item


# ---------------------------------------------------------------------------------
# The model


class FactorizationMachinesModel:
    """A trained FM; predicts in NumPy/SciPy (no PyTorch needed to serve)."""

    def __init__(self, predictor_type: str, w0: np.ndarray, w: np.ndarray, v: np.ndarray) -> None:
        self.predictor_type = predictor_type
        self.w0 = float(w0.reshape(-1)[0])
        self.w = w.astype(np.float32)
        self.v = v.astype(np.float32)
        self.v2 = self.v * self.v  # reused by every prediction

    @property
    def feature_dim(self) -> int:
        return int(self.w.shape[0])

    def predict(self, features: np.ndarray | scipy.sparse.csr_matrix) -> Predictions:
        csr = _to_csr(features, self.feature_dim)
        linear = np.asarray(csr @ self.w).reshape(-1)
        sum_v = np.asarray(csr @ self.v)
        sum_v2 = np.asarray(csr.multiply(csr).tocsr() @ self.v2)
        out = self.w0 + linear + 0.5 * (sum_v * sum_v - sum_v2).sum(axis=1)
        if self.predictor_type == "regressor":
            return Predictions(score=out.astype(np.float32))
        score = (1.0 / (1.0 + np.exp(-out.astype(np.float64)))).astype(np.float32)
        return Predictions(score=score, predicted_label=(score >= 0.5).astype(np.float32))


def save(path: Path, model: FactorizationMachinesModel) -> None:
    meta = {
        "format": FORMAT,
        "predictor_type": model.predictor_type,
        "feature_dim": model.feature_dim,
        "num_factors": int(model.v.shape[1]),
    }
    with path.open("wb") as stream:
        np.savez(
            stream,
            w0=np.array([model.w0], dtype=np.float32),
            w=model.w,
            V=model.v,
            meta=np.array(json.dumps(meta)),
        )


def load(model_dir: Path) -> FactorizationMachinesModel:
    path = model_dir / MODEL_FILE
    if not path.exists():
        raise ValidationException(f"No factorization-machines model at {path}.")
    with np.load(path, allow_pickle=False) as arrays:
        meta = json.loads(str(arrays["meta"]))
        if meta.get("format") != FORMAT:
            raise ValidationException(f"{path} is not a {FORMAT} model: {meta.get('format')!r}.")
        return FactorizationMachinesModel(
            meta["predictor_type"], arrays["w0"], arrays["w"], arrays["V"]
        )


# ---------------------------------------------------------------------------------
# The algorithm


@dataclass(frozen=True)
class FactorizationMachines:
    """SageMaker's ``factorization-machines`` image."""

    name: str = NAME
    hyperparameters: tuple[Hyperparameter, ...] = HYPERPARAMETERS
    channels: ChannelSpec = CHANNELS
    content_types: tuple[str, ...] = CONTENT_TYPES
    inference_content_types: tuple[str, ...] = INFERENCE_CONTENT_TYPES
    metric_definitions: tuple[MetricDefinition, ...] = METRIC_DEFINITIONS

    def validate(self, given: Mapping[str, str]) -> dict[str, Any]:
        return validate(given)

    def train(self, env: ContainerEnvironment) -> None:
        train(env)

    def load(self, model_dir: Path) -> FactorizationMachinesModel:
        return load(model_dir)


ALGORITHM = FactorizationMachines()
