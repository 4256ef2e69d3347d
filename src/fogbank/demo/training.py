"""The demo's training stage: SageMaker's built-in algorithms on the query stage's set.

The training set CTAS wrote as Parquet is turned into the inputs a data scientist
would prepare: one-hot categories and transformed numbers, split 80/10/10 into
train, validation and test channels, as label-first CSV (linear learner, XGBoost)
and as sparse recordIO-protobuf (factorization machines). Three training jobs are
then created through boto3 against the gateway and run at once, each with a progress
bar fed by the per-epoch metric SageMaker reads from its log.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fogbank.core.errors import FogbankError

if TYPE_CHECKING:
    from rich.progress import Progress

    from fogbank.demo.pipeline import DemoContext, StageOutcome

ROLE = "arn:aws:iam::000000000000:role/fogbank-demo-training"
CATEGORIES = ("device", "os", "page_category", "ad_category", "position")
AGE_EDGES = (25, 35, 45, 55, 65)


@dataclass(frozen=True)
class DemoJob:
    """One training job of the demo and the metric that counts its epochs."""

    name: str
    algorithm: str
    hyperparameters: dict[str, str]
    channels: dict[str, tuple[str, str]]  # channel -> (prefix, content type)
    epoch_line: str
    """A regex matching the one log line each epoch (boosting round) prints."""
    epochs: int
    reported: tuple[str, ...]


def design_matrix(table: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features the click model is linear in: one-hot categories and age buckets,
    log1p of the dwell time, the user's affinity; the label is ``clicked``."""
    columns: list[np.ndarray] = []
    names: list[str] = []
    for name in CATEGORIES:
        values = np.asarray(table.column(name).to_pylist(), dtype=object).astype(str)
        for level in sorted(set(values.tolist())):
            columns.append((values == level).astype(np.float32))
            names.append(f"{name}={level}")
    age = np.asarray(table.column("user_age").to_numpy(zero_copy_only=False), dtype=np.float64)
    bucket = np.searchsorted(np.asarray(AGE_EDGES), age, side="right")
    for level in range(len(AGE_EDGES) + 1):
        columns.append((bucket == level).astype(np.float32))
        names.append(f"age_bucket={level}")
    dwell = np.asarray(
        table.column("dwell_seconds").to_numpy(zero_copy_only=False), dtype=np.float64
    )
    columns.append(np.log1p(np.maximum(dwell, 0.0)).astype(np.float32))
    names.append("log1p_dwell")
    affinity = table.column("user_ctr_affinity").to_numpy(zero_copy_only=False)
    columns.append(np.asarray(affinity, dtype=np.float32))
    names.append("user_ctr_affinity")
    labels = np.asarray(table.column("clicked").to_numpy(zero_copy_only=False), dtype=np.float32)
    return np.column_stack(columns).astype(np.float32), labels, names


def prepare(ctx: DemoContext) -> tuple[str, int, dict[str, int]]:
    """Write the channels under ``<training_prefix>channels/``; returns (base, dim, rows)."""
    import pyarrow.parquet as pq
    import scipy.sparse

    from fogbank.ml.formats import write_csv, write_recordio_protobuf

    opts = ctx.options
    lake = ctx.fogbank.lake
    parquet_prefix = f"{opts.training_prefix}parquet/"
    tables = [
        pq.read_table(lake.local_path(opts.bucket, o.key))
        for o in lake.iter_objects(opts.bucket, parquet_prefix)
    ]
    if not tables:
        raise RuntimeError("the train stage needs the training set the query stage wrote")
    import pyarrow as pa

    features, labels, _ = design_matrix(pa.concat_tables(tables))
    order = np.random.default_rng(opts.seed).permutation(len(labels))
    cut1, cut2 = int(0.8 * len(order)), int(0.9 * len(order))
    splits = {"train": order[:cut1], "validation": order[cut1:cut2], "test": order[cut2:]}
    base = f"{opts.training_prefix}channels/"
    stale = [o.key for o in lake.iter_objects(opts.bucket, base)]
    if stale:
        lake.delete_objects(opts.bucket, stale)
    for split, rows in splits.items():
        lake.put_object(
            opts.bucket, f"{base}csv/{split}/part-0.csv", write_csv(features[rows], labels[rows])
        )
        framed = io.BytesIO()
        write_recordio_protobuf(
            framed, scipy.sparse.csr_matrix(features[rows]), labels[rows].astype(np.float32)
        )
        lake.put_object(opts.bucket, f"{base}recordio/{split}/part-0.pbr", framed.getvalue())
    return base, features.shape[1], {k: len(v) for k, v in splits.items()}


def jobs(ctx: DemoContext, base: str, dim: int) -> list[DemoJob]:
    run = ctx.run_id[:8]
    csv = "text/csv"
    protobuf = "application/x-recordio-protobuf"
    return [
        DemoJob(
            f"demo-linear-learner-{run}",
            "linear-learner",
            {
                "predictor_type": "binary_classifier",
                "feature_dim": str(dim),
                "mini_batch_size": "1000",
                "epochs": "8",
                "num_models": "8",
                "binary_classifier_model_selection_criteria": "f_beta",
            },
            {
                "train": (f"{base}csv/train/", csv),
                "validation": (f"{base}csv/validation/", csv),
                "test": (f"{base}csv/test/", csv),
            },
            r"#quality_metric: host=algo-1, epoch=\d+, validation \S+_objective",
            8,
            ("test:roc_auc_score", "test:binary_classification_accuracy"),
        ),
        DemoJob(
            f"demo-xgboost-{run}",
            "xgboost",
            {
                "objective": "binary:logistic",
                "num_round": "60",
                "max_depth": "4",
                "eta": "0.2",
                "eval_metric": "auc",
                "early_stopping_rounds": "10",
            },
            {
                "train": (f"{base}csv/train/", csv),
                "validation": (f"{base}csv/validation/", csv),
            },
            r"^\[\d+\]\t",
            60,
            ("validation:auc",),
        ),
        DemoJob(
            f"demo-factorization-machines-{run}",
            "factorization-machines",
            {
                "predictor_type": "binary_classifier",
                "feature_dim": str(dim),
                "num_factors": "8",
                "epochs": "4",
                "mini_batch_size": "500",
            },
            {
                "train": (f"{base}recordio/train/", protobuf),
                "test": (f"{base}recordio/test/", protobuf),
            },
            r"#quality_metric: host=algo-1, epoch=\d+, train ",
            4,
            ("test:binary_classification_accuracy", "test:binary_classification_cross_entropy"),
        ),
    ]


def _epochs_logged(ctx: DemoContext, job: DemoJob) -> int:
    """How many epochs the job's first host has logged so far."""
    import re

    pattern = re.compile(job.epoch_line, re.MULTILINE)
    try:
        paths = ctx.fogbank.training.log_paths(job.name)
    except FogbankError:
        return 0
    if not paths:
        return 0
    return len(pattern.findall(paths[0].read_text(encoding="utf-8", errors="replace")))


def train(ctx: DemoContext, progress: Progress) -> StageOutcome:
    """Linear learner, XGBoost and factorization machines, as SageMaker training jobs
    created through boto3, on the training set the query stage built."""
    from fogbank.demo.pipeline import StageOutcome, _client
    from fogbank.gateway.server import BackgroundServer
    from fogbank.ml.training.images import image_uri

    opts = ctx.options
    base, dim, rows = prepare(ctx)
    planned = jobs(ctx, base, dim)
    region = ctx.fogbank.config.region
    tasks = {
        job.name: progress.add_task(f"{job.algorithm}: starting", total=job.epochs)
        for job in planned
    }
    finals: dict[str, dict[str, Any]] = {}
    with BackgroundServer(ctx.fogbank) as server:
        sagemaker = _client(ctx, server.endpoint_url, "sagemaker")
        try:
            for job in planned:
                sagemaker.create_training_job(
                    TrainingJobName=job.name,
                    RoleArn=ROLE,
                    AlgorithmSpecification={
                        "TrainingImage": image_uri(job.algorithm, region),
                        "TrainingInputMode": "File",
                    },
                    HyperParameters=job.hyperparameters,
                    InputDataConfig=[
                        {
                            "ChannelName": channel,
                            "ContentType": content_type,
                            "DataSource": {
                                "S3DataSource": {
                                    "S3DataType": "S3Prefix",
                                    "S3Uri": f"s3://{opts.bucket}/{prefix}",
                                    "S3DataDistributionType": "FullyReplicated",
                                }
                            },
                        }
                        for channel, (prefix, content_type) in job.channels.items()
                    ],
                    OutputDataConfig={"S3OutputPath": f"s3://{opts.bucket}/models/"},
                    ResourceConfig={
                        "InstanceType": "ml.m5.xlarge",
                        "InstanceCount": 1,
                        "VolumeSizeInGB": 10,
                    },
                    StoppingCondition={"MaxRuntimeInSeconds": 1800},
                )
            while len(finals) < len(planned):
                for job in planned:
                    if job.name in finals:
                        continue
                    described = sagemaker.describe_training_job(TrainingJobName=job.name)
                    done = _epochs_logged(ctx, job)
                    status = described["TrainingJobStatus"]
                    progress.update(
                        tasks[job.name],
                        completed=min(done, job.epochs),
                        description=f"{job.algorithm}: {described['SecondaryStatus']}",
                    )
                    if status in ("Completed", "Failed", "Stopped"):
                        progress.update(tasks[job.name], completed=job.epochs)
                        finals[job.name] = described
                time.sleep(0.2)
        finally:
            sagemaker.close()
    failed = [d for d in finals.values() if d["TrainingJobStatus"] != "Completed"]
    if failed:
        reasons = "; ".join(f"{d['TrainingJobName']}: {d.get('FailureReason')}" for d in failed)
        raise RuntimeError(f"training jobs did not complete: {reasons}")
    ctx.trained = {job.algorithm: finals[job.name] for job in planned}
    ctx.trained["test_csv"] = f"s3://{opts.bucket}/{base}csv/test/part-0.csv"
    shown = []
    metrics: dict[str, float] = {}
    for job in planned:
        values = {m["MetricName"]: m["Value"] for m in finals[job.name]["FinalMetricDataList"]}
        picked = ", ".join(f"{name} {values[name]:.3f}" for name in job.reported if name in values)
        seconds = finals[job.name].get("TrainingTimeInSeconds", 0)
        shown.append(f"{job.algorithm} {picked} ({seconds} s)")
        for name in job.reported:
            if name in values:
                metrics[f"{job.algorithm}:{name}"] = float(values[name])
    return StageOutcome(
        f"{rows['train']:,}/{rows['validation']:,}/{rows['test']:,} train/validation/test rows "
        f"of {dim} features; " + "; ".join(shown) + f"; models under s3://{opts.bucket}/models/",
        metrics,
    )
