"""The demo's batch transform stage: the XGBoost model scores the whole test split offline.

A SageMaker batch transform job (boto3, CreateTransformJob) reads the label-first test
CSV, splits it by line into MultiRecord requests, drops the label column before the
model sees a row (``InputFilter: $[1:]``), joins each prediction to its input row
(``JoinSource: Input``) and keeps the label and the score (``OutputFilter: $[0,-1]``):
``<output>/part-0.csv.out`` holds one ``label,score`` line per test row, in order, and
the AUC is computed from it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from fogbank.demo.clickstream import roc_auc

if TYPE_CHECKING:
    from rich.progress import Progress

    from fogbank.demo.pipeline import DemoContext, StageOutcome

ROLE = "arn:aws:iam::000000000000:role/fogbank-demo-transform"


def transform(ctx: DemoContext, progress: Progress) -> StageOutcome:
    """Run a batch transform job of the XGBoost model over the test split."""
    from fogbank.demo.pipeline import StageOutcome, _client
    from fogbank.gateway.server import BackgroundServer

    if not ctx.trained:
        raise RuntimeError("the transform stage needs the models the train stage made")
    run = ctx.run_id[:8]
    job_name = f"demo-transform-{run}"
    trained: dict[str, Any] = ctx.trained["xgboost"]
    test_csv: str = ctx.trained["test_csv"]
    source = test_csv.rsplit("/", 1)[0] + "/"
    output = f"s3://{ctx.options.bucket}/transform/{job_name}"
    task = progress.add_task("batch transform", total=1)
    with BackgroundServer(ctx.fogbank) as server:
        sagemaker = _client(ctx, server.endpoint_url, "sagemaker")
        try:
            model = f"demo-transform-xgboost-{run}"
            sagemaker.create_model(
                ModelName=model,
                ExecutionRoleArn=ROLE,
                PrimaryContainer={
                    "Image": trained["AlgorithmSpecification"]["TrainingImage"],
                    "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"],
                },
            )
            started = time.perf_counter()
            sagemaker.create_transform_job(
                TransformJobName=job_name,
                ModelName=model,
                BatchStrategy="MultiRecord",
                MaxPayloadInMB=1,
                TransformInput={
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
                    "ContentType": "text/csv",
                    "SplitType": "Line",
                },
                TransformOutput={
                    "S3OutputPath": output,
                    "Accept": "text/csv",
                    "AssembleWith": "Line",
                },
                TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
                DataProcessing={
                    "InputFilter": "$[1:]",
                    "JoinSource": "Input",
                    "OutputFilter": "$[0,-1]",
                },
            )
            while True:
                described = sagemaker.describe_transform_job(TransformJobName=job_name)
                status = described["TransformJobStatus"]
                progress.update(task, description=f"batch transform: {status}")
                if status in ("Completed", "Failed", "Stopped"):
                    break
                time.sleep(0.2)
            seconds = time.perf_counter() - started
            progress.update(task, completed=1)
        finally:
            sagemaker.close()
    if status != "Completed":
        raise RuntimeError(f"transform job {job_name} {status}: {described.get('FailureReason')}")
    out = f"{output}/{test_csv.rsplit('/', 1)[1]}.out"
    lines = ctx.fogbank.lake.read(out).decode().splitlines()
    pairs = np.asarray([[float(v) for v in line.split(",")] for line in lines])
    expected = len(ctx.fogbank.lake.read(test_csv).decode().splitlines())
    if len(pairs) != expected:
        raise RuntimeError(f"{out} holds {len(pairs)} lines for {expected} test rows")
    auc = roc_auc(pairs[:, 0], pairs[:, 1])
    if pairs[:, 0].sum() >= 200 and not auc > 0.6:
        raise RuntimeError(f"the transform job's scores have an AUC of {auc:.3f}")
    return StageOutcome(
        f"transform job {job_name} Completed in {seconds:.1f} s: {len(pairs):,} test rows "
        f"(Line split, MultiRecord batches of up to 1 MB, label dropped by InputFilter $[1:], "
        f"joined to the input and kept as label,score by OutputFilter $[0,-1]) -> {out}; "
        f"AUC {auc:.3f}",
        {"TransformSeconds": seconds, "TransformRows": float(len(pairs)), "TransformAUC": auc},
    )
