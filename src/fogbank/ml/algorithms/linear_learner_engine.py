"""Linear Learner's training: all the models at once, as one batched tensor program.

This module owns the numerical work of ``linear-learner``: the scaler, the losses and
their gradients, the optimizers (sgd, adam, rmsprop, with L1 as a proximal step), the
learning-rate schedule, early stopping, model selection and threshold calibration. It
works on arrays (:class:`Table`), so tests and benchmarks drive it without a container
layout; :mod:`~fogbank.ml.algorithms.linear_learner_job` feeds it the channels.

How the models share the work: the parameters of all ``num_models`` models are one
matrix ``W`` of shape ``(feature_dim, num_models * classes)`` (model m owns columns
``m*classes .. m*classes+classes-1``) and one bias row, so a mini-batch costs one GEMM
forward (``X @ W``) and one backward (``X.T @ G``) for every model together; each
model's learning rate, wd, l1 and positive weight is a vector over those columns.

Normalization is folded into the parameters instead of applied to the data: with
scaler mean ``mu`` and scale ``s``, the model on normalized data ``(x - mu) / s`` is
``x @ (W / s) + (b - (mu / s) @ W)``, and its gradient is ``((X.T @ G) - mu * sum(G))
/ s``. The data is never copied or rewritten (File-mode data stays as read, sparse data
stays sparse even when centred), and the optimizer still sees the normalized problem.

Determinism: the initial weights come from a torch generator seeded with the plan's
seed; rows are visited in the order of the data (AWS asks for shuffled input and does
not shuffle it itself), so one job trains the same models every time on one machine.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse

from fogbank.core.errors import ValidationException
from fogbank.ml.algorithms.linear_learner_data import (
    Features,
    InMemory,
    Scaler,
    Table,
    TrainingData,
    check_labels,
)
from fogbank.ml.algorithms.linear_learner_metrics import Log, evaluate, log_scores
from fogbank.ml.algorithms.linear_learner_ops import (
    LossParameters,
    calibrate,
    loss_and_grad,
    softmax_loss_and_grad,
)
from fogbank.ml.algorithms.linear_learner_plan import SQUARED_LOSSES, Plan

if TYPE_CHECKING:
    import torch

# Rows scored at once when evaluating (bounds the (rows, models) score matrix).
EVAL_CHUNK = 65536
# Rows of the per-epoch sampled criterion (AWS: criteria=sampled_accuracy) and of the
# training sample that selects the model when there is no validation channel.
EPOCH_SAMPLE = 100_000
ADAM_EPSILON = 1e-8
# Multiply-adds per GEMM under which training runs on one thread.
SMALL_WORK = 1 << 21
RMSPROP_DECAY = 0.9
# Train full dense mini-batches on CUDA through a captured graph (GraphedStep).
USE_CUDA_GRAPHS = True


# ---------------------------------------------------------------------------------
# The models


def _threads(work: int) -> int:
    """Threads for the GEMMs: one for a small GEMM, else the cores other processes
    leave idle. OpenMP's threads meet at a barrier after every kernel: a small GEMM is
    done before they gather, and on a busy host a thread waiting for a core stalls every
    step (measured on 2 cores at load 9: 8.9 s on one thread, 112 s on two)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    if work < SMALL_WORK:
        return 1
    try:
        busy = os.getloadavg()[0]
    except OSError:  # pragma: no cover - no load average
        busy = 0.0
    return max(1, min(cores, int(cores - busy + 0.5)))


def device() -> torch.device:
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _tensor(array: np.ndarray) -> torch.Tensor:
    """A tensor sharing ``array``'s memory. Arrays the readers return may be read-only
    (Arrow buffers); training only ever reads the data tensors, so no copy is made and
    torch's warning about non-writable arrays does not apply."""
    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)


class Rows:
    """A block of rows on the device. Sparse rows stay a scipy CSR matrix in host
    memory: on CPU they multiply through scipy (its CSR kernels beat torch's there), on
    CUDA each block is sent as a torch sparse COO tensor when first multiplied."""

    def __init__(self, table: Table | None, dev: torch.device, labels: np.ndarray | None) -> None:
        self.dev = dev
        self.n = 0 if table is None else len(table)
        self.csr: Any = None
        self.x: torch.Tensor | None = None
        self._coo: tuple[torch.Tensor, torch.Tensor] | None = None
        self.y: torch.Tensor
        self.w: torch.Tensor | None = None
        if table is None or labels is None:  # filled in by slice()
            return
        if scipy.sparse.issparse(table.features):
            self.csr = scipy.sparse.csr_matrix(table.features, dtype=np.float32)
        else:
            dense = np.ascontiguousarray(table.features, dtype=np.float32)
            self.x = _tensor(dense).to(dev)
        self.y = _tensor(np.ascontiguousarray(labels, dtype=np.float32)).to(dev)
        self.w = (
            None
            if table.weights is None
            else _tensor(np.ascontiguousarray(table.weights, np.float32)).to(dev)
        )

    def _sparse(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The block and its transpose as sparse COO tensors on the device."""
        import torch

        if self._coo is None:
            coo = self.csr.tocoo()
            index = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
            with warnings.catch_warnings():
                # scipy's COO holds in-range indices: the invariants hold unchecked
                # (torch < 2.13 warns even when told not to check).
                warnings.filterwarnings("ignore", message="Sparse invariant checks")
                tensor = torch.sparse_coo_tensor(
                    index, _tensor(coo.data), coo.shape, check_invariants=False
                ).to(self.dev)
                self._coo = (tensor.coalesce(), tensor.t().coalesce())
        return self._coo

    def mm(self, w: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        import torch

        if self.x is not None:
            return torch.mm(self.x, w, out=out) if out is not None else torch.mm(self.x, w)
        if self.dev.type == "cpu":
            return torch.from_numpy(np.asarray(self.csr @ w.numpy(), dtype=np.float32))
        product: torch.Tensor = torch.sparse.mm(self._sparse()[0], w)
        return product

    def tmm(self, g: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        import torch

        if self.x is not None:
            xt = self.x.t()
            return torch.mm(xt, g, out=out) if out is not None else torch.mm(xt, g)
        if self.dev.type == "cpu":
            return torch.from_numpy(np.asarray(self.csr.T @ g.numpy(), dtype=np.float32))
        product: torch.Tensor = torch.sparse.mm(self._sparse()[1], g)
        return product

    def slice(self, start: int, stop: int) -> Rows:
        """Rows ``start:stop`` (views of the dense tensors)."""
        part = Rows(None, self.dev, None)
        part.n = min(stop, self.n) - start
        part.csr = None if self.csr is None else self.csr[start:stop]
        part.x = None if self.x is None else self.x[start:stop]
        part.y = self.y[start:stop]
        part.w = None if self.w is None else self.w[start:stop]
        return part


class Models:
    """The parameters and optimizer state of every model, and one update step."""

    def __init__(
        self,
        plan: Plan,
        dim: int,
        scaler: Scaler,
        positive_weight: float,
        class_weights: np.ndarray | None,
        dev: torch.device,
    ) -> None:
        import torch

        self.plan = plan
        self.dim = dim
        self.dev = dev
        c, m = plan.num_classes, plan.num_models
        self.k = c * m
        generator = torch.Generator().manual_seed(plan.seed)
        if plan.init_method == "normal":
            w = torch.randn(dim, self.k, generator=generator) * plan.init_sigma
        else:
            w = (torch.rand(dim, self.k, generator=generator) * 2.0 - 1.0) * plan.init_scale
        self.w = w.to(dev)
        self.b = torch.full((self.k,), plan.init_bias, device=dev)

        def columns(values: tuple[float, ...] | list[float]) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.float32, device=dev).repeat_interleave(c)

        self.lr0 = columns(plan.learning_rates)
        self.lr = self.lr0.clone()
        self.wd = columns(plan.wds)
        self.l1 = columns(plan.l1s)
        self.has_l1 = any(v > 0 for v in plan.l1s)
        self.has_wd = any(v > 0 for v in plan.wds)
        weights = [positive_weight if v is None else v for v in plan.positive_weights]
        self.positive = None
        if plan.binary and any(v != 1.0 for v in weights):
            self.positive = torch.tensor(weights, dtype=torch.float32, device=dev) - 1.0
        self.class_weights = (
            None
            if class_weights is None
            else torch.tensor(class_weights, dtype=torch.float32, device=dev)
        )
        self.inv_scale = torch.tensor(1.0 / scaler.scale, dtype=torch.float32, device=dev)
        self.shift = torch.tensor(scaler.mean / scaler.scale, dtype=torch.float32, device=dev)
        self.mean = torch.tensor(scaler.mean, dtype=torch.float32, device=dev)
        self.centred = bool(np.any(scaler.mean != 0))
        self.params = LossParameters.of(plan, scaler.label_scale)
        self.state = [torch.zeros_like(self.w) for _ in range(2)]
        self.bias_state = [torch.zeros_like(self.b) for _ in range(2)]
        self.updates = 0
        self.loss_sum = torch.zeros(plan.num_models, dtype=torch.float64, device=dev)
        self.weight_sum = 0.0
        self._w_eff = torch.empty_like(self.w)
        self._grad = torch.empty_like(self.w)
        self._buf = torch.empty_like(self.w)

    # -- scoring -----------------------------------------------------------------

    def effective(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The models on raw features: ``W / s`` and ``b - (mu / s) @ W``."""
        import torch

        torch.mul(self.w, self.inv_scale[:, None], out=self._w_eff)
        bias = self.b - self.shift @ self.w if self.centred else self.b
        return self._w_eff, bias

    def scores(self, rows: Rows) -> torch.Tensor:
        """Every model's scores (rows, models*classes), in normalized-label units."""
        import torch

        w, b = self.effective()
        parts = []
        for start in range(0, rows.n, EVAL_CHUNK):
            part = rows.slice(start, start + EVAL_CHUNK) if rows.n > EVAL_CHUNK else rows
            parts.append(part.mm(w) + b)
        return torch.cat(parts) if len(parts) > 1 else parts[0]

    # -- training ----------------------------------------------------------------

    def begin_epoch(self) -> None:
        self.loss_sum.zero_()
        self.weight_sum = 0.0

    def epoch_loss(self) -> np.ndarray:
        """Each model's mean training loss this pass, in normalized-label units."""
        total = self.loss_sum.cpu().numpy()
        return total / max(self.weight_sum, 1e-12)

    def step(self, rows: Rows) -> None:
        """One mini-batch update of every model (eagerly)."""
        self.updates += 1
        self._schedule()
        weight = self.update(rows, self.correction())
        self.weight_sum += rows.n if weight is None else float(weight)

    def correction(self) -> float:
        """Adam's bias correction at the current update count (1 for the others)."""
        if self.plan.optimizer != "adam":
            return 1.0
        t = self.updates
        return math.sqrt(1.0 - self.plan.beta_2**t) / (1.0 - self.plan.beta_1**t)

    def update(self, rows: Rows, correction: float | torch.Tensor) -> torch.Tensor | None:
        """The forward pass, the gradients and the optimizer update, with no Python-side
        state: what a CUDA graph can capture. Returns the rows' total weight when rows
        carry weights (``None``: every row weighs 1)."""
        import torch

        plan, n = self.plan, rows.n
        w_eff, bias = self.effective()
        z = rows.mm(w_eff)
        z.add_(bias)
        y = rows.y
        if plan.multiclass:
            value, g = softmax_loss_and_grad(z, y, plan.num_classes)
        else:
            value, g = loss_and_grad(plan.loss, z, y[:, None], self.params)
        assert g is not None
        row_weight = rows.w
        if self.class_weights is not None:
            cw = self.class_weights[y.long()]
            row_weight = cw if row_weight is None else row_weight * cw
        if row_weight is not None:
            value = value * row_weight[:, None]
            g.mul_(row_weight[:, None])
        self.loss_sum += value.sum(0)  # float32 per batch, float64 across the pass
        if self.positive is not None:
            g.mul_(1.0 + y[:, None] * self.positive[None, :])

        g_sum = g.sum(0)
        grad = rows.tmm(g, out=self._grad if rows.x is not None else None)
        if self.centred:
            grad.addr_(self.mean, g_sum, alpha=-1.0)
        grad.mul_(self.inv_scale[:, None])
        grad.div_(n)
        if self.has_wd:
            grad.addcmul_(self.w, self.wd[None, :])
        g_bias = g_sum.div_(n)
        if plan.bias_wd_mult > 0:
            g_bias.addcmul_(self.b, self.wd, value=plan.bias_wd_mult)
        self._apply(self.w, grad, self.state, self.lr[None, :], self._buf, correction)
        if plan.use_bias:
            self._apply(
                self.b, g_bias, self.bias_state, self.lr * plan.bias_lr_mult, None, correction
            )
        if self.has_l1:
            # Proximal L1: shrink towards 0 by lr * l1, stopping at 0.
            shrink = (self.lr * self.l1)[None, :]
            self.w.copy_(torch.sign(self.w) * (self.w.abs() - shrink).clamp_min(0.0))
        return None if row_weight is None else row_weight.sum()

    def state_tensors(self) -> list[torch.Tensor]:
        """Every tensor an update changes."""
        return [self.w, self.b, *self.state, *self.bias_state, self.loss_sum]

    def _schedule(self) -> None:
        import torch

        plan = self.plan
        if not plan.use_lr_scheduler or self.updates % plan.lr_scheduler_step:
            return
        factor = plan.lr_scheduler_factor ** (self.updates // plan.lr_scheduler_step)
        floor = torch.clamp(self.lr0, max=plan.lr_scheduler_minimum_lr)
        torch.maximum(self.lr0 * factor, floor, out=self.lr)

    def _apply(
        self,
        param: torch.Tensor,
        grad: torch.Tensor,
        state: list[torch.Tensor],
        lr: torch.Tensor,
        buf: torch.Tensor | None,
        correction: float | torch.Tensor,
    ) -> None:
        """One optimizer update of ``param`` in place (per-column learning rates)."""
        import torch

        plan = self.plan
        if plan.optimizer == "sgd":
            if plan.momentum > 0:
                state[0].mul_(plan.momentum).add_(grad)
                grad = state[0]
            param.addcmul_(grad, lr.expand_as(grad), value=-1.0)
            return
        if plan.optimizer == "adam":
            m, v = state
            m.mul_(plan.beta_1).add_(grad, alpha=1.0 - plan.beta_1)
            v.mul_(plan.beta_2).addcmul_(grad, grad, value=1.0 - plan.beta_2)
            denom = torch.sqrt(v, out=buf) if buf is not None else torch.sqrt(v)
            denom.add_(ADAM_EPSILON)
            torch.div(m, denom, out=denom)
            denom.mul_(lr)
            if isinstance(correction, float):
                param.sub_(denom, alpha=correction)
            else:  # a device scalar, refilled before each replay of a CUDA graph
                denom.mul_(correction)
                param.sub_(denom)
            return
        v = state[1]
        v.mul_(RMSPROP_DECAY).addcmul_(grad, grad, value=1.0 - RMSPROP_DECAY)
        denom = torch.sqrt(v, out=buf) if buf is not None else torch.sqrt(v)
        denom.add_(ADAM_EPSILON)
        torch.div(grad, denom, out=denom)
        denom.mul_(lr)
        param.sub_(denom)

    def snapshot(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.w.clone(), self.b.clone()

    def restore(self, saved: tuple[torch.Tensor, torch.Tensor]) -> None:
        self.w.copy_(saved[0])
        self.b.copy_(saved[1])


class GraphedStep:
    """Full mini-batches of dense rows on CUDA, as one captured CUDA graph.

    At AWS's default mini_batch_size of 1000 an eager step is some thirty kernel
    launches, each costing more host time than the GPU spends on it; replaying a graph
    of the same step is one launch. The update count, the learning-rate schedule and
    Adam's bias correction stay on the host and reach the graph through device tensors
    refilled before each replay, so every replay is the eager step exactly."""

    def __init__(self, models: Models, size: int) -> None:
        import torch

        dev = models.dev
        self.models = models
        self.size = size
        self.x = torch.zeros(size, models.dim, device=dev)
        self.y = torch.zeros(size, device=dev)
        self.correction = torch.ones((), device=dev)
        rows = Rows(None, dev, None)
        rows.n, rows.x, rows.y = size, self.x, self.y
        saved = [t.clone() for t in models.state_tensors()]
        # Capture needs the step's kernels warmed up on a side stream first; what the
        # warm-up steps change is put back afterwards.
        side = torch.cuda.Stream(dev)  # type: ignore[no-untyped-call]
        side.wait_stream(torch.cuda.current_stream(dev))
        with torch.cuda.stream(side):
            for _ in range(3):
                models.update(rows, self.correction)
        torch.cuda.current_stream(dev).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            models.update(rows, self.correction)
        for tensor, value in zip(models.state_tensors(), saved, strict=True):
            tensor.copy_(value)

    def step(self, rows: Rows) -> None:
        models = self.models
        assert rows.x is not None and rows.n == self.size
        models.updates += 1
        models._schedule()
        self.correction.fill_(models.correction())
        self.x.copy_(rows.x, non_blocking=True)
        self.y.copy_(rows.y, non_blocking=True)
        self.graph.replay()
        models.weight_sum += self.size


def graphable(models: Models, rows: Rows) -> bool:
    """Whether the in-memory rows can train through a :class:`GraphedStep`."""
    return (
        USE_CUDA_GRAPHS
        and models.dev.type == "cuda"
        and rows.x is not None
        and rows.w is None
        and models.class_weights is None
        and rows.n >= 4 * models.plan.mini_batch_size
    )


# ---------------------------------------------------------------------------------
# Evaluating every model on held rows


class Held:
    """Rows scored by every model after a pass (validation, or a training sample)."""

    def __init__(self, plan: Plan, table: Table, scaler: Scaler, dev: torch.device) -> None:
        self.plan = plan
        self.table = table
        self.scaler = scaler
        self.rows = Rows(table, dev, table.labels)
        self.labels = self.rows.y

    def original_scores(self, models: Models) -> torch.Tensor:
        """Scores in label units (de-normalized for regression)."""
        z = models.scores(self.rows)
        if self.plan.regressor and (self.scaler.label_scale != 1.0 or self.scaler.label_mean):
            z = z * self.scaler.label_scale + self.scaler.label_mean
        return z

    def losses(self, z: torch.Tensor) -> np.ndarray:
        """Each model's mean objective on these rows (non-finite for a diverged model)."""
        import torch

        plan = self.plan
        if plan.multiclass:
            value, _ = softmax_loss_and_grad(z, self.labels, plan.num_classes, grad=False)
        else:
            value, _ = loss_and_grad(
                plan.loss, z, self.labels[:, None], LossParameters.of(plan), grad=False
            )
        weights = self.rows.w
        if weights is not None:
            total = (value * weights[:, None]).sum(0, dtype=torch.float64) / weights.sum()
        else:
            total = value.mean(0, dtype=torch.float64)
        out: np.ndarray = total.cpu().numpy()
        return np.where(np.isfinite(out), out, np.inf)


# ---------------------------------------------------------------------------------
# Fitting


@dataclass(frozen=True)
class Fitted:
    """The chosen model on raw features: ``score = features @ weight + bias`` (label
    units; binary: a raw score, its threshold ``raw_threshold``)."""

    plan: Plan
    weight: np.ndarray  # (feature_dim, classes) float64
    bias: np.ndarray  # (classes,) float64
    raw_threshold: float
    chosen: int
    scaler: Scaler
    epochs_run: int
    # Every model's selection criterion (higher is better; -loss when the criterion is
    # the loss) and loss on the selection rows, at the kept pass.
    criterion_values: np.ndarray
    losses: np.ndarray


def _balance(plan: Plan, sample: Table) -> tuple[float, np.ndarray | None]:
    """The balanced positive weight (negatives / positives) and class weights."""
    labels = sample.labels
    positives = float(np.sum(labels == 1)) if plan.binary else 0.0
    weight = (len(labels) - positives) / positives if positives > 0 else 1.0
    class_weights = None
    if plan.multiclass and plan.balance_multiclass_weights:
        counts = np.bincount(labels.astype(np.int64), minlength=plan.num_classes)
        class_weights = len(labels) / (plan.num_classes * np.maximum(counts, 1))
    return weight, class_weights


def fit(
    plan: Plan,
    train: TrainingData,
    validation: Table | None = None,
    log: Log | None = None,
) -> Fitted:
    """Train every model of ``plan``; keep the best pass; choose and calibrate one."""
    import torch

    log = log or Log(quiet=True)
    dev = device()
    threads = torch.get_num_threads()
    if dev.type == "cpu":
        dim = plan.feature_dim or train.head(1).dim
        torch.set_num_threads(
            _threads(plan.mini_batch_size * dim * plan.num_models * plan.num_classes)
        )
    # Adam's second moments decay into subnormal floats, which x86 computes ~100x
    # slower; flushing them to zero changes nothing a float32 model can represent.
    flush = torch.set_flush_denormal(True)
    try:
        return _fit(plan, train, validation, log, dev)
    finally:
        torch.set_num_threads(threads)
        if flush:
            torch.set_flush_denormal(False)


def _fit(
    plan: Plan, train: TrainingData, validation: Table | None, log: Log, dev: torch.device
) -> Fitted:
    head = train.head(plan.num_point_for_scaler)
    if len(head) == 0:
        raise ValidationException("The train channel has no data.")
    dim = train.dim
    if plan.feature_dim is not None and plan.feature_dim != dim:
        raise ValidationException(
            f"feature_dim is {plan.feature_dim} but the train channel's rows have {dim} "
            "features; set feature_dim to the number of features (or to auto)."
        )
    check_labels(plan, head.labels, "train channel")
    scaler = Scaler.fit(plan, head)
    positive_weight, class_weights = _balance(plan, head)
    models = Models(plan, dim, scaler, positive_weight, class_weights, dev)

    def normalized(labels: np.ndarray) -> np.ndarray:
        if not plan.regressor:
            return labels
        return ((labels - scaler.label_mean) / scaler.label_scale).astype(np.float32)

    held_table = validation if validation is not None else train.sample(EPOCH_SAMPLE)
    held = Held(plan, held_table, scaler, dev)
    sampled = held if len(held_table) <= EPOCH_SAMPLE else None
    if sampled is None:
        sampled = Held(plan, held_table.rows(0, EPOCH_SAMPLE), scaler, dev)
    train_table = train.table if isinstance(train, InMemory) else None
    if train_table is not None:
        check_labels(plan, train_table.labels, "train channel")
        whole = Rows(train_table, dev, normalized(train_table.labels))
    graphed = (
        GraphedStep(models, plan.mini_batch_size)
        if train_table is not None and graphable(models, whole)
        else None
    )

    best_metric: float | None = None
    anchor: float | None = None
    best_params = models.snapshot()
    stale = 0
    epochs_run = 0
    records = 0
    for epoch in range(plan.epochs):
        started = time.perf_counter()
        models.begin_epoch()
        records = 0
        if train_table is not None:
            size = plan.mini_batch_size
            for start in range(0, whole.n, size):
                part = whole.slice(start, start + size)
                if graphed is not None and part.n == size:
                    graphed.step(part)
                else:
                    models.step(part)
            records = whole.n
        else:
            for table in train.batches(epoch, plan.mini_batch_size):
                check_labels(plan, table.labels, "train channel")
                models.step(Rows(table, dev, normalized(table.labels)))
                records += len(table)
        epochs_run += 1
        train_loss = models.epoch_loss() * _loss_unit(plan, scaler)
        log.quality(epoch, "train", plan.objective_name, float(train_loss[0]))
        if validation is not None:
            z = held.original_scores(models)
            losses = held.losses(z)
            log.quality(epoch, "validation", plan.objective_name, float(losses[0]))
            if plan.binary and plan.selection != "loss_function":
                values, _ = calibrate(sampled.original_scores(models), sampled.labels, plan)
                metric, higher = float(np.max(values)), True
                log.early_stopping(epoch, "sampled_" + plan.selection, metric)
            else:
                metric, higher = float(np.min(losses)), False
                log.early_stopping(epoch, plan.objective_name, metric)
        else:
            finite = np.where(np.isfinite(train_loss), train_loss, np.inf)
            metric, higher = float(np.min(finite)), False
        # The best pass is kept whatever its margin; patience only restarts on a
        # relative improvement of early_stopping_tolerance over the last such one.
        if math.isfinite(metric) and (best_metric is None or _better(metric, best_metric, higher)):
            best_metric = metric
            best_params = models.snapshot()
        if math.isfinite(metric) and (
            anchor is None
            or _gain(metric, anchor, higher) > plan.early_stopping_tolerance * abs(anchor)
        ):
            anchor = metric
            stale = 0
            log.info(f"Epoch {epoch}: Loss improved. Updating best model")
        else:
            stale += 1
            log.info(f"Epoch {epoch}: Loss has not improved for {stale} epochs.")
        elapsed = max(time.perf_counter() - started, 1e-9)
        log.progress(100.0 * (epoch + 1) / plan.epochs)
        log.throughput(records / elapsed)
        if stale >= plan.early_stopping_patience:
            log.info("Early stop condition met. Stopping training.")
            break

    models.restore(best_params)
    chosen, raw_threshold, values, losses = _choose(plan, models, held)
    if not math.isfinite(float(models.w[:, chosen * plan.num_classes].abs().sum())):
        raise ValidationException(
            "Training diverged: every model's parameters became infinite or NaN. Lower "
            "learning_rate, or turn normalize_data on."
        )
    log.info("Best model found for hyperparameters: " + _json(plan.model_settings(chosen)))
    weight, bias = _fold(plan, models, scaler, chosen)
    return Fitted(plan, weight, bias, raw_threshold, chosen, scaler, epochs_run, values, losses)


def _gain(metric: float, reference: float, higher: bool) -> float:
    return metric - reference if higher else reference - metric


def _better(metric: float, reference: float, higher: bool) -> bool:
    return _gain(metric, reference, higher) > 0


def _loss_unit(plan: Plan, scaler: Scaler) -> float:
    """What turns a loss on normalized labels back into label units."""
    if not plan.regressor:
        return 1.0
    power = 2 if plan.loss in SQUARED_LOSSES else 1
    return float(scaler.label_scale**power)


def _choose(plan: Plan, models: Models, held: Held) -> tuple[int, float, np.ndarray, np.ndarray]:
    """The model that does best on the held rows, its calibrated threshold, and every
    model's criterion value and loss there."""
    z = held.original_scores(models)
    losses = held.losses(z)
    if plan.binary and plan.selection != "loss_function":
        cap = plan.num_calibration_samples
        zc, yc = (z[:cap], held.labels[:cap]) if z.shape[0] > cap else (z, held.labels)
        values, thresholds = calibrate(zc, yc, plan)
        values = np.where(np.isfinite(losses), values, -np.inf)
        # Among models as good on the criterion (accuracy often ties on small data),
        # the one with the lowest loss.
        tied = np.flatnonzero(values >= np.max(values) - 1e-12)
        chosen = int(tied[np.argmin(losses[tied])])
        return chosen, float(thresholds[chosen]), values, losses
    chosen = int(np.argmin(losses))
    return chosen, 0.0, -losses, losses


def _fold(plan: Plan, models: Models, scaler: Scaler, chosen: int) -> tuple[np.ndarray, np.ndarray]:
    """The chosen model on raw features and in label units (float64)."""
    c = plan.num_classes
    w = models.w[:, chosen * c : (chosen + 1) * c].double().cpu().numpy()
    b = models.b[chosen * c : (chosen + 1) * c].double().cpu().numpy()
    weight = w / scaler.scale[:, None]
    bias = b - (scaler.mean / scaler.scale) @ w
    if plan.regressor:
        weight = weight * scaler.label_scale
        bias = bias * scaler.label_scale + scaler.label_mean
    return weight, bias


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


# ---------------------------------------------------------------------------------
# Convenience for arrays


def fit_arrays(
    plan: Plan,
    features: Features,
    labels: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    validation: tuple[Features, np.ndarray] | None = None,
    log: Log | None = None,
) -> Fitted:
    """:func:`fit` on arrays in memory (tests, benchmarks)."""
    table = Table(_float32(features), np.asarray(labels, np.float32), weights)
    held = None
    if validation is not None:
        held = Table(_float32(validation[0]), np.asarray(validation[1], np.float32))
    return fit(plan, InMemory(table), held, log)


def _float32(features: Features) -> Features:
    if scipy.sparse.issparse(features):
        return scipy.sparse.csr_matrix(features, dtype=np.float32)
    return np.ascontiguousarray(features, dtype=np.float32)


def objective(
    plan: Plan, scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None
) -> float:
    """The mean objective of raw scores (rows, classes) in label units."""

    z = _tensor(np.ascontiguousarray(scores, dtype=np.float64))
    y = _tensor(np.ascontiguousarray(labels, dtype=np.float64))
    if plan.multiclass:
        value, _ = softmax_loss_and_grad(z, y, plan.num_classes, grad=False)
    else:
        value, _ = loss_and_grad(plan.loss, z, y[:, None], LossParameters.of(plan), grad=False)
    values = value[:, 0].numpy()
    if weights is not None:
        return float(np.sum(values * weights) / max(float(np.sum(weights)), 1e-12))
    return float(np.mean(values)) if values.size else float("nan")


def predict_scores(fitted: Fitted, features: Features) -> np.ndarray:
    """The chosen model's raw scores (rows, classes), float64."""
    scores: np.ndarray = np.asarray(features @ fitted.weight, dtype=np.float64) + fitted.bias
    return scores


def report(fitted: Fitted, channel: str, table: Table, log: Log) -> dict[str, float]:
    """Print the final model's metrics on a channel as the container does; return them."""
    scores = predict_scores(fitted, table.features)
    value = objective(fitted.plan, scores, table.labels, table.weights)
    metrics = evaluate(fitted.plan, scores, table.labels, fitted.raw_threshold, value)
    log_scores(log, channel, metrics)
    return metrics
