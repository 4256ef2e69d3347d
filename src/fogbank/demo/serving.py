"""The demo's serving stage: the trained models behind one SageMaker endpoint.

The XGBoost and linear learner models the train stage made become two production
variants of one endpoint (weights 0.8 and 0.2, one instance each, A/B testing as
SageMaker users do it); the held-out test rows are scored through InvokeEndpoint with
boto3 in requests of 1,000 CSV rows, the answers' variants are counted and the AUC of
the returned scores is checked against the test labels; half the calls are captured for
Model Monitor (DataCaptureConfig); then the endpoint is deleted.
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
ROWS_PER_REQUEST = 1000
WEIGHTS = {"xgboost": 0.8, "linear-learner": 0.2}


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
    spread = ", ".join(f"{name} {count}" for name, count in sorted(variants.items()))
    requests = sum(variants.values())
    return StageOutcome(
        f"endpoint {endpoint} InService in {ready:.1f} s with variants xgboost (weight 0.8) "
        f"and linear-learner (0.2); {len(rows):,} test rows scored in {requests} "
        f"InvokeEndpoint requests ({spread}); AUC {auc:.3f} on the test labels; "
        f"{captured} of them captured (50% sampling) under s3://{ctx.options.bucket}/capture/"
        f"{endpoint}/<variant>/yyyy/mm/dd/hh/; endpoint deleted",
        {"InvokeRequests": float(requests), "ServedAUC": auc, "SecondsToInService": ready},
    )
