"""The demo's serving stage: the trained models behind one SageMaker endpoint.

The linear learner and XGBoost models the train stage made become two production
variants of one endpoint (weights 0.9 and 0.1, one instance each, a canary as SageMaker
users run one); the held-out test rows are scored through InvokeEndpoint with boto3 in
requests of 250 CSV rows, the answers' variants are counted, each variant's mean model
and overhead latency read from the endpoint's metrics (AWS/SageMaker ModelLatency and
OverheadLatency), and the AUC of the returned scores is checked against the test
labels; half the calls are captured for Model Monitor (DataCaptureConfig); then the
endpoint is deleted (the models stay, for the transform stage).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from fogbank.demo.clickstream import roc_auc

if TYPE_CHECKING:
    from rich.progress import Progress

    from fogbank.demo.pipeline import DemoContext, StageOutcome

ROLE = "arn:aws:iam::000000000000:role/fogbank-demo-serving"
ROWS_PER_REQUEST = 250
WEIGHTS = {"linear-learner": 0.9, "xgboost": 0.1}


def serve(ctx: DemoContext, progress: Progress) -> StageOutcome:
    """Deploy both models as variants of one endpoint and score the test split."""
    from fogbank.demo.pipeline import StageOutcome, _client
    from fogbank.gateway.server import BackgroundServer

    if not ctx.trained:
        raise RuntimeError("the serve stage needs the models the train stage made")
    run = ctx.run_id[:8]
    endpoint = f"demo-clicks-{run}"
    lines = ctx.fogbank.lake.read(ctx.trained["test_csv"]).decode().splitlines()
    labels = np.asarray([float(line.split(",", 1)[0]) for line in lines])
    rows = [line.split(",", 1)[1] for line in lines]
    task = progress.add_task("InvokeEndpoint", total=len(rows))
    scores = np.zeros(len(rows))
    variants: Counter[str] = Counter()
    with BackgroundServer(ctx.fogbank) as server:
        sagemaker = _client(ctx, server.endpoint_url, "sagemaker")
        runtime = _client(ctx, server.endpoint_url, "sagemaker-runtime")
        try:
            production = []
            for algorithm, weight in WEIGHTS.items():
                job: dict[str, Any] = ctx.trained[algorithm]
                model = f"demo-{algorithm}-{run}"
                sagemaker.create_model(
                    ModelName=model,
                    ExecutionRoleArn=ROLE,
                    PrimaryContainer={
                        "Image": job["AlgorithmSpecification"]["TrainingImage"],
                        "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"],
                    },
                )
                production.append(
                    {
                        "VariantName": algorithm,
                        "ModelName": model,
                        "InitialInstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                        "InitialVariantWeight": weight,
                    }
                )
            capture_prefix = f"s3://{ctx.options.bucket}/capture"
            sagemaker.create_endpoint_config(
                EndpointConfigName=endpoint,
                ProductionVariants=production,
                DataCaptureConfig={
                    "EnableCapture": True,
                    "InitialSamplingPercentage": 50,
                    "DestinationS3Uri": capture_prefix,
                    "CaptureOptions": [{"CaptureMode": "InputAndOutput"}],
                },
            )
            started = time.perf_counter()
            sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=endpoint)
            progress.update(task, description="InvokeEndpoint: waiting for InService")
            sagemaker.get_waiter("endpoint_in_service").wait(
                EndpointName=endpoint, WaiterConfig={"Delay": 1, "MaxAttempts": 300}
            )
            ready = time.perf_counter() - started
            progress.update(task, description="InvokeEndpoint")
            for start in range(0, len(rows), ROWS_PER_REQUEST):
                answer = runtime.invoke_endpoint(
                    EndpointName=endpoint,
                    ContentType="text/csv",
                    Accept="application/json",
                    Body="\n".join(rows[start : start + ROWS_PER_REQUEST]),
                )
                variants[answer["InvokedProductionVariant"]] += 1
                predictions = json.loads(answer["Body"].read())["predictions"]
                chunk = [float(p["score"]) for p in predictions]
                scores[start : start + len(chunk)] = chunk
                progress.advance(task, len(chunk))
            sagemaker.delete_endpoint(EndpointName=endpoint)
            sagemaker.delete_endpoint_config(EndpointConfigName=endpoint)
        finally:
            sagemaker.close()
            runtime.close()
    captured = sum(
        1 for _ in ctx.fogbank.lake.iter_objects(ctx.options.bucket, f"capture/{endpoint}/")
    )
    auc = roc_auc(labels, scores)
    # On the full demo's 10,000 test rows (about 450 clicks) the models rank far above
    # chance; a small run's few clicks make the AUC too noisy to check.
    if labels.sum() >= 200 and not auc > 0.6:
        raise RuntimeError(f"the endpoint's scores have an AUC of {auc:.3f} on the test rows")
    measured = ctx.fogbank.endpoints.variant_metrics(endpoint)
    requests = sum(variants.values())
    split = "; ".join(
        f"{name} {count} call{'' if count == 1 else 's'} ({count / requests:.0%}), model "
        f"{(measured[name].model_latency_us or 0) / 1000:.1f} ms, overhead "
        f"{(measured[name].overhead_latency_us or 0) / 1000:.1f} ms"
        for name, count in sorted(variants.items())
    )
    weights = " and ".join(f"{name} ({weight:g})" for name, weight in WEIGHTS.items())
    return StageOutcome(
        f"endpoint {endpoint} InService in {ready:.1f} s with variants {weights}; "
        f"{len(rows):,} test rows scored in {requests} InvokeEndpoint requests: {split}; "
        f"AUC {auc:.3f} on the test labels; {captured} calls captured (50% sampling) under "
        f"s3://{ctx.options.bucket}/capture/{endpoint}/<variant>/yyyy/mm/dd/hh/; endpoint "
        "deleted",
        {"InvokeRequests": float(requests), "ServedAUC": auc, "SecondsToInService": ready},
    )
