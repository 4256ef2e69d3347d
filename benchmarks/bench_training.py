"""SageMaker training jobs (the built-in algorithms, run for real) against their peers.

One run, the same data for both sides, each side timed alone on the same machine:

1. ``linear-learner`` (binary_classifier, feature_dim 100, num_models 32,
   mini_batch_size 1000, epochs 15 with early stopping: AWS's defaults otherwise) as a
   training job on 1,000,000 x 100 synthetic rows (``--quick``: 100,000), CSV in the lake
   (File mode), against scikit-learn's ``LogisticRegression`` (lbfgs) and
   ``SGDClassifier(loss="log_loss")`` fitted on the same rows as in-memory arrays. AUC on
   the same held-out 200,000 rows (the job's model is downloaded from the lake, loaded
   with ``algorithm("linear-learner").load`` and scored here). Goals: AUC within 0.005
   of LogisticRegression's, and the job's wall time <= 1x LogisticRegression's fit.
2. ``xgboost`` (binary:logistic, num_round 100, max_depth 6, tree_method hist) as a job
   on 1,000,000 x 50 CSV rows (``--quick``: 100,000) against raw ``xgboost.train`` on
   the same CSV file: read with pyarrow, ``DMatrix``, ``train`` (evaluating the train
   set each round, as the container does), ``save_model``. Goal:
   the job's overhead <= 5%, reported end to end and inside the container.
3. ``factorization-machines`` (regressor, num_factors 64) as a job on 100,000 synthetic
   MovieLens-sized ratings (943 users x 1,682 items, one-hot user + item as sparse
   recordIO-protobuf, 90/10 train/test) against a reference FM written below (Rendle's
   O(kn) degree-2 FM in PyTorch, Adam with the same learning rates, weight decays,
   initialisation, batch size and epochs). RMSE on the test ratings and time.

What each time includes:

- job, end to end: ``create_training_job`` until ``wait`` returns Completed (staging the
  channel from the lake into the container layout, the container process: interpreter
  start, imports, parsing the data, training, writing the model; then model.tar.gz
  uploaded to the lake);
- job, in container: the job's ``Training`` secondary status, from starting the
  container process to its exit (interpreter start, imports, parsing, training, saving);
- ``TrainingTimeInSeconds``: the job's own figure (Downloading to the end, whole seconds);
- the peers: scikit-learn's ``fit`` on float32 arrays already in memory (the CSV read is
  not counted); raw XGBoost: pyarrow's CSV read + DMatrix + train + save_model, in this
  process; the reference FM: its training loop on tensors already in memory.

    python -m benchmarks training [--quick] [--dir DIR] [--json PATH]
"""

from __future__ import annotations

import math
import os
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse
from rich.table import Table

from benchmarks.common import console as wide_console
from benchmarks.common import parser, timed, write_results
from fogbank import Fogbank, FogbankConfig

BUCKET = "bench"
ROLE = "arn:aws:iam::000000000000:role/bench"
REGION = "us-east-1"
TEST_ROWS = 200_000
AUC_TOLERANCE = 0.005
XGB_OVERHEAD = 1.05
FM_RMSE_SLACK = 0.01
USERS, ITEMS = 943, 1682
RATINGS = 100_000
JOB_TIMEOUT = 3600.0

LL_HYPERPARAMETERS = {
    "predictor_type": "binary_classifier",
    "feature_dim": "100",
    "num_models": "32",
    "mini_batch_size": "1000",
}
XGB_HYPERPARAMETERS = {
    "objective": "binary:logistic",
    "num_round": "100",
    "max_depth": "6",
    "tree_method": "hist",
}
FM_HYPERPARAMETERS = {
    "predictor_type": "regressor",
    "feature_dim": str(USERS + ITEMS),
    "num_factors": "64",
    "mini_batch_size": "1000",
    "bias_lr": "0.1",
    "linear_lr": "0.01",
    "factors_lr": "0.001",
    "bias_wd": "0.01",
    "linear_wd": "0.001",
    "factors_wd": "0.00001",
    "bias_init_sigma": "0.01",
    "linear_init_sigma": "0.01",
    "factors_init_sigma": "0.01",
}


# ---------------------------------------------------------------------------------
# Data


def _sigmoid(z: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1.0 / (1.0 + np.exp(-z))
    return result


def linear_data(rows: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian features and labels drawn from a logistic model (AUC about 0.87): the
    right model for every peer, so accuracy compares the training, not the model."""
    weights = np.random.default_rng(1234).standard_normal(dim) * (2.0 / math.sqrt(dim))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, dim), dtype=np.float32)
    y = (rng.random(rows) < _sigmoid(x @ weights - 0.3)).astype(np.float32)
    return x, y


def tree_data(rows: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels with interactions and steps that trees need depth for."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, dim), dtype=np.float32)
    z = (
        1.5 * x[:, 0] * x[:, 1]
        + np.sin(2.0 * x[:, 2])
        + 1.5 * (x[:, 3] > 0.5)
        - np.abs(x[:, 4])
        + 0.3 * x[:, 5:15].sum(axis=1)
    )
    y = (rng.random(rows) < _sigmoid(z)).astype(np.float32)
    return x, y


@dataclass(frozen=True)
class Ratings:
    """One-hot (user, item) rows and ratings 1..5, split into train and test."""

    train_x: scipy.sparse.csr_matrix
    train_y: np.ndarray
    test_x: scipy.sparse.csr_matrix
    test_y: np.ndarray


def ratings_data(seed: int) -> Ratings:
    """MovieLens-100k-shaped synthetic ratings: skewed user and item popularity, a rank-8
    preference model plus biases and noise, rounded to 1..5 stars."""
    rng = np.random.default_rng(seed)
    user_p = rng.pareto(1.5, USERS) + 0.05
    item_p = rng.pareto(1.2, ITEMS) + 0.02
    pairs: set[tuple[int, int]] = set()
    users_list: list[np.ndarray] = []
    items_list: list[np.ndarray] = []
    while len(pairs) < RATINGS:
        u = rng.choice(USERS, size=RATINGS, p=user_p / user_p.sum())
        i = rng.choice(ITEMS, size=RATINGS, p=item_p / item_p.sum())
        fresh_u, fresh_i = [], []
        for a, b in zip(u.tolist(), i.tolist(), strict=True):
            if (a, b) not in pairs and len(pairs) < RATINGS:
                pairs.add((a, b))
                fresh_u.append(a)
                fresh_i.append(b)
        users_list.append(np.array(fresh_u, np.int64))
        items_list.append(np.array(fresh_i, np.int64))
    users = np.concatenate(users_list)
    items = np.concatenate(items_list)
    order = rng.permutation(RATINGS)
    users, items = users[order], items[order]
    rank = 8
    pu = rng.standard_normal((USERS, rank)) * 0.35
    qi = rng.standard_normal((ITEMS, rank)) * 0.35
    bu = rng.standard_normal(USERS) * 0.4
    bi = rng.standard_normal(ITEMS) * 0.5
    raw = 3.5 + bu[users] + bi[items] + (pu[users] * qi[items]).sum(1)
    raw += rng.standard_normal(RATINGS) * 0.7
    stars = np.clip(np.round(raw), 1, 5).astype(np.float32)
    rows = np.repeat(np.arange(RATINGS), 2)
    cols = np.stack([users, USERS + items], axis=1).reshape(-1)
    x = scipy.sparse.csr_matrix(
        (np.ones(2 * RATINGS, np.float32), (rows, cols)), shape=(RATINGS, USERS + ITEMS)
    )
    cut = RATINGS * 9 // 10
    return Ratings(x[:cut], stars[:cut], x[cut:], stars[cut:])


def write_csv_file(path: Path, features: np.ndarray, labels: np.ndarray) -> None:
    """Headerless CSV, label first, as SageMaker reads it. pyarrow's writer, not
    ``fogbank.ml.formats.write_csv`` (np.savetxt: minutes for 1M x 100 rows); pyarrow
    writes each float32 in its shortest round-trip form, so both sides parse the same
    values."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = ["label", *(f"f{j}" for j in range(features.shape[1]))]
    schema = pa.schema([(name, pa.float32()) for name in names])
    options = pacsv.WriteOptions(include_header=False)
    with pacsv.CSVWriter(str(path), schema, write_options=options) as writer:
        for start in range(0, len(labels), 100_000):
            stop = start + 100_000
            block = np.ascontiguousarray(features[start:stop].T)
            columns = [pa.array(labels[start:stop]), *(pa.array(col) for col in block)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))


def read_csv_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The raw side's read of the same file: pyarrow's multithreaded parser to float32."""
    import pyarrow.csv as pacsv

    read = pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 24)
    table = pacsv.read_csv(str(path), read_options=read)
    import pyarrow as pa

    matrix = np.empty((table.num_rows, table.num_columns), np.float32)
    for j, column in enumerate(table.columns):
        matrix[:, j] = column.cast(pa.float32()).to_numpy()
    return matrix[:, 1:], matrix[:, 0]


# ---------------------------------------------------------------------------------
# Jobs


@dataclass
class JobResult:
    """One training job's outcome and timings."""

    name: str
    status: str = "not run"
    failure: str | None = None
    wall: float = math.nan
    in_container: float = math.nan
    training_seconds: float = math.nan
    metrics: dict[str, float] = field(default_factory=dict)
    model_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status == "Completed" and self.model_dir is not None


def _image(algorithm: str) -> str:
    from fogbank.ml.training.images import image_uri

    return image_uri(algorithm, REGION)


def _channel(name: str, uri: str, content_type: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "ContentType": content_type,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
    }


def job_request(
    name: str, algorithm: str, hyperparameters: dict[str, str], channels: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": _image(algorithm), "TrainingInputMode": "File"},
        "HyperParameters": hyperparameters,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": int(JOB_TIMEOUT)},
    }


def run_job(fb: Fogbank, request: dict[str, Any], scratch: Path) -> JobResult:
    """Create the job, wait for its end, and fetch its model into ``scratch``."""
    name = request["TrainingJobName"]
    result = JobResult(name)
    started = time.perf_counter()
    try:
        fb.training.create_training_job(request)
    except Exception as error:  # a refused request is reported, not raised
        result.status, result.failure = "Refused", f"{type(error).__name__}: {error}"
        return result
    job = fb.training.wait(name, JOB_TIMEOUT)
    result.wall = time.perf_counter() - started
    result.status = job.status
    result.failure = job.failure_reason
    if job.training_seconds is not None:
        result.training_seconds = float(job.training_seconds)
    for transition in job.transitions:
        if transition.status == "Training" and transition.end is not None:
            result.in_container = (transition.end - transition.start).total_seconds()
    result.metrics = {m.name: m.value for m in job.final_metrics}
    if job.status == "Completed" and job.model_artifacts:
        folder = scratch / "models" / name
        folder.mkdir(parents=True, exist_ok=True)
        archive = folder / "model.tar.gz"
        archive.write_bytes(fb.lake.read(job.model_artifacts))
        with tarfile.open(archive) as tar:
            tar.extractall(folder / "model", filter="data")
        result.model_dir = folder / "model"
    elif job.status != "Completed":
        logs = fb.training.log_paths(name)
        if logs and not result.failure:
            result.failure = logs[0].read_text(errors="replace")[-500:]
    return result


def _predict(algorithm: str, job: JobResult, features: Any) -> np.ndarray | None:
    from fogbank.ml.algorithms import algorithm as find

    if not job.ok or job.model_dir is None:
        return None
    score: np.ndarray = np.asarray(find(algorithm).load(job.model_dir).predict(features).score)
    return score.reshape(-1)


# ---------------------------------------------------------------------------------
# The reference factorization machine


def reference_fm(
    train_x: scipy.sparse.csr_matrix,
    train_y: np.ndarray,
    hyper: dict[str, str],
    epochs: int,
) -> Callable[[scipy.sparse.csr_matrix], np.ndarray]:
    """Rendle's degree-2 FM, ``y = w0 + <w, x> + sum_{i<j} <v_i, v_j> x_i x_j``, computed
    in O(k n) per row as ``0.5 * sum_f ((sum_i v_if x_i)^2 - sum_i v_if^2 x_i^2)``, on a
    fixed number of non-zeros per row (padded index and value arrays). Loss: squared
    error / 2, averaged over a mini-batch; Adam with L2 weight decay per term (the same
    rates, decays and normal initialisation as the job's hyperparameters); mini-batches
    in file order. Returns the trained model's predict function."""
    import torch

    dim, k = int(hyper["feature_dim"]), int(hyper["num_factors"])
    batch = int(hyper["mini_batch_size"])
    generator = torch.Generator().manual_seed(0)
    w0 = torch.nn.Parameter(torch.randn(1, generator=generator) * float(hyper["bias_init_sigma"]))
    w = torch.nn.Parameter(
        torch.randn(dim, generator=generator) * float(hyper["linear_init_sigma"])
    )
    v = torch.nn.Parameter(
        torch.randn(dim, k, generator=generator) * float(hyper["factors_init_sigma"])
    )
    optimizer = torch.optim.Adam(
        [
            {
                "params": [w0],
                "lr": float(hyper["bias_lr"]),
                "weight_decay": float(hyper["bias_wd"]),
            },
            {
                "params": [w],
                "lr": float(hyper["linear_lr"]),
                "weight_decay": float(hyper["linear_wd"]),
            },
            {
                "params": [v],
                "lr": float(hyper["factors_lr"]),
                "weight_decay": float(hyper["factors_wd"]),
            },
        ],
        eps=1e-8,
    )

    def padded(x: scipy.sparse.csr_matrix) -> tuple[torch.Tensor, torch.Tensor]:
        nnz = int(np.diff(x.indptr).max())
        index = np.zeros((x.shape[0], nnz), np.int64)
        value = np.zeros((x.shape[0], nnz), np.float32)
        for row in range(nnz):
            take = x.indptr[:-1] + row
            present = take < x.indptr[1:]
            index[present, row] = x.indices[take[present]]
            value[present, row] = x.data[take[present]]
        return torch.from_numpy(index), torch.from_numpy(value)

    def forward(index: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        vx = v[index] * value[..., None]  # (rows, nnz, k)
        pairwise = 0.5 * (vx.sum(1).pow(2) - vx.pow(2).sum(1)).sum(1)
        return w0 + (w[index] * value).sum(1) + pairwise

    index, value = padded(train_x)
    labels = torch.from_numpy(np.asarray(train_y, np.float32))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # batches of 1,000 x 2 x 64: threads only add barriers
    try:
        for _ in range(epochs):
            for start in range(0, len(labels), batch):
                stop = start + batch
                out = forward(index[start:stop], value[start:stop])
                loss = 0.5 * (out - labels[start:stop]).pow(2).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
    finally:
        torch.set_num_threads(threads)

    def predict(x: scipy.sparse.csr_matrix) -> np.ndarray:
        with torch.no_grad():
            i, val = padded(x)
            result: np.ndarray = forward(i, val).numpy()
            return result

    return predict


# ---------------------------------------------------------------------------------
# The three comparisons


@dataclass
class Row:
    """One line of the table."""

    measure: str
    fogbank: float
    peer: float
    unit: str
    goal: str = ""
    met: bool | None = None
    note: str = ""
    peer_name: str = ""
    ratio: float = math.nan

    def __post_init__(self) -> None:
        if math.isnan(self.ratio) and self.peer and not math.isnan(self.peer):
            self.ratio = self.fogbank / self.peer


def _fmt(value: float, unit: str) -> str:
    if math.isnan(value):
        return "-"
    if unit == "s":
        return f"{value:,.2f} s"
    if unit in ("auc", "rmse"):
        return f"{value:.4f}"
    return f"{value:,.3f}"


def _status_rows(job: JobResult, label: str) -> list[Row]:
    if job.ok:
        return []
    reason = (job.failure or "").strip().replace("\n", " ")[:160]
    return [Row(f"{label} job {job.status}", math.nan, math.nan, "", "Completed", False, reason)]


def bench_linear(
    fb: Fogbank, scratch: Path, rows: int, epochs: int, console: Any
) -> tuple[list[Row], dict[str, Any]]:
    dim = 100
    with console.status(f"linear learner: writing {rows:,} x {dim} rows as CSV"):
        x, y = linear_data(rows, dim, seed=1)
        x_test, y_test = linear_data(TEST_ROWS, dim, seed=2)
        path = scratch / "linear.csv"
        write_csv_file(path, x, y)
        with path.open("rb") as body:
            fb.lake.put_object(BUCKET, "linear/train/train.csv", body)
    hyper = {**LL_HYPERPARAMETERS, "epochs": str(epochs)}
    request = job_request(
        "bench-linear-learner",
        "linear-learner",
        hyper,
        [_channel("train", f"s3://{BUCKET}/linear/train/", "text/csv")],
    )
    with console.status("linear learner: the training job"):
        job = run_job(fb, request, scratch)
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.metrics import roc_auc_score

    with console.status("linear learner: scikit-learn LogisticRegression"):
        logistic = LogisticRegression(max_iter=1000)
        logistic_s = timed(lambda: logistic.fit(x, y) and None)
        logistic_auc = float(roc_auc_score(y_test, logistic.predict_proba(x_test)[:, 1]))
    with console.status("linear learner: scikit-learn SGDClassifier"):
        sgd = SGDClassifier(loss="log_loss", random_state=0)
        sgd_s = timed(lambda: sgd.fit(x, y) and None)
        sgd_auc = float(roc_auc_score(y_test, sgd.predict_proba(x_test)[:, 1]))
    scores = _predict("linear-learner", job, x_test)
    auc = float(roc_auc_score(y_test, scores)) if scores is not None else math.nan
    epochs_run = _epochs_run(job)
    out = [
        *_status_rows(job, "linear-learner"),
        Row(
            "linear-learner test AUC vs LogisticRegression",
            auc,
            logistic_auc,
            "auc",
            f">= peer - {AUC_TOLERANCE}",
            None if math.isnan(auc) else auc >= logistic_auc - AUC_TOLERANCE,
            peer_name="LogisticRegression",
        ),
        Row("linear-learner test AUC vs SGDClassifier", auc, sgd_auc, "auc", peer_name="SGD"),
        Row(
            "linear-learner job end to end vs LogisticRegression.fit",
            job.wall,
            logistic_s,
            "s",
            "<= 1x",
            None if math.isnan(job.wall) else job.wall <= logistic_s,
            f"32 models, {epochs_run} of {epochs} epochs run; last epoch "
            f"{job.metrics.get('train:throughput', math.nan):,.0f} rows/s",
            peer_name="LogisticRegression",
        ),
        Row(
            "linear-learner in container vs LogisticRegression.fit",
            job.in_container,
            logistic_s,
            "s",
            peer_name="LogisticRegression",
        ),
        Row(
            "linear-learner TrainingTimeInSeconds vs LogisticRegression.fit",
            job.training_seconds,
            logistic_s,
            "s",
            peer_name="LogisticRegression",
        ),
        Row(
            "linear-learner job end to end vs SGDClassifier.fit",
            job.wall,
            sgd_s,
            "s",
            peer_name="SGD",
        ),
    ]
    raw = {
        "rows": rows,
        "features": dim,
        "test_rows": TEST_ROWS,
        "hyperparameters": hyper,
        "job": _job_json(job),
        "epochs_run": epochs_run,
        "auc": auc,
        "logistic_regression": {"seconds": logistic_s, "auc": logistic_auc},
        "sgd_classifier": {"seconds": sgd_s, "auc": sgd_auc},
    }
    return out, raw


def _epochs_run(job: JobResult) -> int | None:
    if job.model_dir is None:
        return None
    import json

    settings = job.model_dir / "model_algo-1.json"
    if not settings.exists():
        return None
    value = json.loads(settings.read_text()).get("epochs_run")
    return int(value) if value is not None else None


def bench_xgboost(
    fb: Fogbank, scratch: Path, rows: int, rounds: int, console: Any
) -> tuple[list[Row], dict[str, Any]]:
    import xgboost as xgb
    from sklearn.metrics import roc_auc_score

    dim = 50
    with console.status(f"xgboost: writing {rows:,} x {dim} rows as CSV"):
        x, y = tree_data(rows, dim, seed=3)
        x_test, y_test = tree_data(TEST_ROWS, dim, seed=4)
        path = scratch / "trees.csv"
        write_csv_file(path, x, y)
        with path.open("rb") as body:
            fb.lake.put_object(BUCKET, "xgboost/train/train.csv", body)
        del x, y
    params: dict[str, Any] = {
        "objective": "binary:logistic",
        "max_depth": 6,
        "tree_method": "hist",
        "nthread": len(os.sched_getaffinity(0)),
    }
    booster: Any = None

    def raw() -> None:
        nonlocal booster
        features, labels = read_csv_file(path)
        train = xgb.DMatrix(features, label=labels, nthread=params["nthread"], missing=np.nan)
        # The same work as the job: SageMaker's XGBoost container evaluates the train
        # channel every round (its train-<metric> log lines), so raw does too.
        booster = xgb.train(
            params,
            train,
            num_boost_round=int(XGB_HYPERPARAMETERS["num_round"]),
            evals=[(train, "train")],
            verbose_eval=False,
        )
        booster.save_model(str(scratch / "raw-xgboost.ubj"))

    jobs: list[JobResult] = []
    raw_times: list[float] = []
    for round_ in range(rounds):
        request = job_request(
            f"bench-xgboost-{round_}",
            "xgboost",
            dict(XGB_HYPERPARAMETERS),
            [_channel("train", f"s3://{BUCKET}/xgboost/train/", "text/csv")],
        )
        # The order alternates between rounds, so drift on a busy machine cancels out.
        for side in ("job", "raw") if round_ % 2 == 0 else ("raw", "job"):
            label = f"xgboost round {round_ + 1}/{rounds}"
            if side == "job":
                with console.status(f"{label}: the training job"):
                    jobs.append(run_job(fb, request, scratch))
            else:
                with console.status(f"{label}: raw xgboost.train on the same CSV"):
                    raw_times.append(timed(raw))
    job = jobs[-1]
    raw_s = float(np.median(raw_times))
    wall = float(np.median([j.wall for j in jobs]))
    inside = float(np.median([j.in_container for j in jobs]))
    seconds = float(np.median([j.training_seconds for j in jobs]))
    wall_ratio = float(np.median([j.wall / r for j, r in zip(jobs, raw_times, strict=True)]))
    inside_ratio = float(
        np.median([j.in_container / r for j, r in zip(jobs, raw_times, strict=True)])
    )
    raw_auc = float(roc_auc_score(y_test, booster.predict(xgb.DMatrix(x_test))))
    scores = _predict("xgboost", job, x_test)
    auc = float(roc_auc_score(y_test, scores)) if scores is not None else math.nan
    spread = f"{rounds} rounds; raw {min(raw_times):.2f}-{max(raw_times):.2f} s"
    out = [
        *_status_rows(job, "xgboost"),
        Row(
            "xgboost job end to end vs raw read+DMatrix+train(eval train)+save",
            wall,
            raw_s,
            "s",
            f"<= {XGB_OVERHEAD:.2f}x",
            None if math.isnan(wall_ratio) else wall_ratio <= XGB_OVERHEAD,
            spread,
            peer_name="xgboost.train",
            ratio=wall_ratio,
        ),
        Row(
            "xgboost in container vs raw read+DMatrix+train(eval train)+save",
            inside,
            raw_s,
            "s",
            f"<= {XGB_OVERHEAD:.2f}x",
            None if math.isnan(inside_ratio) else inside_ratio <= XGB_OVERHEAD,
            "job: " + ", ".join(f"{j.in_container:.2f}" for j in jobs) + " s",
            peer_name="xgboost.train",
            ratio=inside_ratio,
        ),
        Row(
            "xgboost TrainingTimeInSeconds vs raw",
            seconds,
            raw_s,
            "s",
            note="whole seconds",
            peer_name="xgboost.train",
        ),
        Row("xgboost test AUC vs raw", auc, raw_auc, "auc", "same model", _close(auc, raw_auc)),
    ]
    raw_json = {
        "rows": rows,
        "features": dim,
        "rounds": rounds,
        "hyperparameters": XGB_HYPERPARAMETERS,
        "jobs": [_job_json(j) for j in jobs],
        "auc": auc,
        "raw": {"seconds": raw_times, "auc": raw_auc, "params": params},
    }
    return out, raw_json


def _close(a: float, b: float) -> bool | None:
    return None if math.isnan(a) else abs(a - b) <= 0.002


def bench_fm(
    fb: Fogbank, scratch: Path, epochs: int, console: Any
) -> tuple[list[Row], dict[str, Any]]:
    from fogbank.ml.formats import write_recordio_protobuf

    with console.status(f"factorization machines: {RATINGS:,} ratings as recordIO-protobuf"):
        data = ratings_data(seed=5)
        for split, x, y in (
            ("train", data.train_x, data.train_y),
            ("test", data.test_x, data.test_y),
        ):
            path = scratch / f"fm-{split}.rec"
            with path.open("wb") as stream:
                write_recordio_protobuf(stream, x, y)
            with path.open("rb") as body:
                fb.lake.put_object(BUCKET, f"fm/{split}/{split}.rec", body)
    hyper = {**FM_HYPERPARAMETERS, "epochs": str(epochs)}
    protobuf = "application/x-recordio-protobuf"
    request = job_request(
        "bench-factorization-machines",
        "factorization-machines",
        hyper,
        [
            _channel("train", f"s3://{BUCKET}/fm/train/", protobuf),
            _channel("test", f"s3://{BUCKET}/fm/test/", protobuf),
        ],
    )
    with console.status("factorization machines: the training job"):
        job = run_job(fb, request, scratch)
    predict: Callable[[scipy.sparse.csr_matrix], np.ndarray] | None = None

    def reference() -> None:
        nonlocal predict
        predict = reference_fm(data.train_x, data.train_y, hyper, epochs)

    with console.status("factorization machines: the reference FM"):
        reference_s = timed(reference)
    assert predict is not None
    reference_rmse = _rmse(predict(data.test_x), data.test_y)
    scores = _predict("factorization-machines", job, data.test_x)
    rmse = _rmse(scores, data.test_y) if scores is not None else math.nan
    mean_rmse = _rmse(np.full_like(data.test_y, data.train_y.mean()), data.test_y)
    out = [
        *_status_rows(job, "factorization-machines"),
        Row(
            "factorization-machines test RMSE vs reference FM",
            rmse,
            reference_rmse,
            "rmse",
            f"<= peer + {FM_RMSE_SLACK}",
            None if math.isnan(rmse) else rmse <= reference_rmse + FM_RMSE_SLACK,
            f"the training mean scores {mean_rmse:.4f}; job's test:rmse "
            f"{job.metrics.get('test:rmse', math.nan):.4f}",
            peer_name="reference FM",
        ),
        Row(
            "factorization-machines job end to end vs reference training",
            job.wall,
            reference_s,
            "s",
            peer_name="reference FM",
        ),
        Row(
            "factorization-machines in container vs reference training",
            job.in_container,
            reference_s,
            "s",
            peer_name="reference FM",
        ),
    ]
    raw = {
        "ratings": RATINGS,
        "users": USERS,
        "items": ITEMS,
        "hyperparameters": hyper,
        "job": _job_json(job),
        "rmse": rmse,
        "reference": {"seconds": reference_s, "rmse": reference_rmse},
        "training_mean_rmse": mean_rmse,
    }
    return out, raw


def _rmse(scores: np.ndarray, labels: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(scores, np.float64) - labels) ** 2)))


def _job_json(job: JobResult) -> dict[str, Any]:
    return {
        "name": job.name,
        "status": job.status,
        "failure": job.failure,
        "wall_seconds": job.wall,
        "in_container_seconds": job.in_container,
        "training_time_in_seconds": job.training_seconds,
        "final_metrics": job.metrics,
    }


# ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    made = parser(
        "training",
        __doc__ or "",
        "XGBoost rounds, job and raw alternating (default 3; --quick: 1); the others run once",
    )
    made.add_argument("--ll-epochs", type=int, default=15, help="linear-learner epochs (15)")
    made.add_argument("--fm-epochs", type=int, default=10, help="factorization-machines epochs")
    made.add_argument(
        "--only",
        choices=("linear", "xgboost", "fm"),
        action="append",
        default=None,
        help="run only these comparisons (repeatable)",
    )
    args = made.parse_args(argv)
    rows = 100_000 if args.quick else 1_000_000
    chosen = args.only or ["linear", "xgboost", "fm"]
    rounds = args.rounds or (1 if args.quick else 3)
    console = wide_console(200)
    started = time.perf_counter()
    table_rows: list[Row] = []
    raw: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="fogbank-bench-training-", dir=args.dir) as folder:
        scratch = Path(folder)
        config = FogbankConfig.load(home=scratch / "home", environ={}, limits=False)
        with Fogbank(config) as fb:
            fb.lake.create_bucket(BUCKET)
            if "linear" in chosen:
                found, raw["linear_learner"] = bench_linear(
                    fb, scratch, rows, args.ll_epochs, console
                )
                table_rows += found
            if "xgboost" in chosen:
                found, raw["xgboost"] = bench_xgboost(fb, scratch, rows, rounds, console)
                table_rows += found
            if "fm" in chosen:
                found, raw["factorization_machines"] = bench_fm(
                    fb, scratch, args.fm_epochs, console
                )
                table_rows += found
    elapsed = time.perf_counter() - started

    cpus = len(os.sched_getaffinity(0))
    table = Table(title=f"SageMaker training jobs vs peers, {rows:,} rows ({cpus} CPUs)")
    for column in ("measure", "fogbank", "peer", "ratio", "goal", "met", "note"):
        table.add_column(column)
    for row in table_rows:
        met = "" if row.met is None else ("yes" if row.met else "no")
        ratio = "-" if math.isnan(row.ratio) else f"{row.ratio:.2f}x"
        peer = _fmt(row.peer, row.unit)
        if row.peer_name and peer != "-":
            peer = f"{peer} ({row.peer_name})"
        table.add_row(
            row.measure, _fmt(row.fogbank, row.unit), peer, ratio, row.goal, met, row.note
        )
    console.print(table)
    console.print(
        "job end to end: CreateTrainingJob to Completed (staging, container, model upload); "
        "in container: the Training status (process start to exit); peers: fit on arrays in "
        "memory, except raw XGBoost, which reads the same CSV with pyarrow."
    )
    write_results(
        args.json,
        "training",
        {"rows": rows, "cpus": cpus, "quick": bool(args.quick)},
        elapsed,
        [
            {
                "measure": r.measure,
                "fogbank": r.fogbank,
                "peer": r.peer,
                "peer_name": r.peer_name,
                "unit": r.unit,
                "ratio": r.ratio,
                "goal": r.goal,
                "met": r.met,
                "note": r.note,
            }
            for r in table_rows
        ]
        + [{"details": raw}],
        console,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
