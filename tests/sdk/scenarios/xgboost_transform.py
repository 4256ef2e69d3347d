"""Scenario: batch transform through the SDK, on a model trained with the XGBoost image.

A small XGBoost fit (CSV, label first) as in xgboost_csv.py; then three transform jobs:

1. ``estimator.transformer(...)`` (the SDK makes the model from the training job) over a
   prefix of two headerless feature CSV objects: MultiRecord batches, Line splits and
   assembly, text/csv out; no DataProcessing.
2. The same Transformer over one CSV object whose first column is a row id:
   ``input_filter="$[1:]"`` drops the id before the model, ``join_source="Input"`` joins
   each answer to its input row and ``output_filter="$[0,-1]"`` keeps the id and score.
3. ``sagemaker.transformer.Transformer(model_name=...)`` on the model the first made,
   SingleRecord, ``join_source="Input"`` with no filters: each line is the input row and
   its score.

Each job is waited for (``wait=True, logs=False``) and described through the SDK's
client; the test reads the inputs and the ``.out`` objects from the lake.

    python xgboost_transform.py ENDPOINT_URL
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from _common import REGION, ROLE, describe, emit, job_name, session
from sagemaker import image_uris
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.transformer import Transformer

BUCKET = "fogbank-sdk-transform"


def write(directory: Path, name: str, rows: np.ndarray, ids: np.ndarray | None = None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for index, row in enumerate(rows):
        cells = [f"{v:.6g}" for v in row]
        if ids is not None:
            cells.insert(0, str(int(ids[index])))
        lines.append(",".join(cells))
    (directory / name).write_text("\n".join(lines) + "\n")


def describe_transform(sess: Any, name: str) -> dict[str, Any]:
    """DescribeTransformJob, reduced to what the test checks (JSON-safe)."""
    found = sess.sagemaker_client.describe_transform_job(TransformJobName=name)
    listed = sess.sagemaker_client.list_transform_jobs(NameContains=name)
    return {
        "TransformJobName": found["TransformJobName"],
        "TransformJobArn": found["TransformJobArn"],
        "TransformJobStatus": found["TransformJobStatus"],
        "FailureReason": found.get("FailureReason"),
        "ModelName": found["ModelName"],
        "BatchStrategy": found.get("BatchStrategy"),
        "TransformInput": found["TransformInput"],
        "TransformOutput": found["TransformOutput"],
        "TransformResources": found["TransformResources"],
        "DataProcessing": found.get("DataProcessing"),
        "Listed": [job["TransformJobName"] for job in listed["TransformJobSummaries"]],
    }


def main() -> None:
    sess = session(BUCKET)
    rng = np.random.default_rng(7)
    features = rng.normal(size=(300, 4))
    labels = (features[:, 0] + features[:, 1] > 0).astype(float)
    scoring = rng.normal(size=(50, 4))
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        write(root / "train", "train.csv", np.column_stack([labels, features]))
        write(root / "features", "part-0.csv", scoring[:30])
        write(root / "features", "part-1.csv", scoring[30:])
        write(root / "with-ids", "batch.csv", scoring[:20], ids=np.arange(1001, 1021))
        train_uri = sess.upload_data(str(root / "train"), bucket=BUCKET, key_prefix="train")
        features_uri = sess.upload_data(
            str(root / "features"), bucket=BUCKET, key_prefix="transform/features"
        )
        ids_uri = sess.upload_data(
            str(root / "with-ids"), bucket=BUCKET, key_prefix="transform/with-ids"
        )

    estimator = Estimator(
        image_uri=image_uris.retrieve("xgboost", REGION, "1.7-1"),
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{BUCKET}/output",
        sagemaker_session=sess,
        hyperparameters={"objective": "binary:logistic", "num_round": 10, "max_depth": 3},
    )
    name = job_name("sdk-xgb-transform")
    estimator.fit(
        {"train": TrainingInput(train_uri, content_type="text/csv")},
        wait=True,
        logs=False,
        job_name=name,
    )
    result: dict[str, Any] = {"training": describe(sess, name)}

    plain_output = f"s3://{BUCKET}/transform/out-plain"
    transformer = estimator.transformer(
        instance_count=1,
        instance_type="ml.m5.large",
        strategy="MultiRecord",
        assemble_with="Line",
        accept="text/csv",
        output_path=plain_output,
    )
    plain_job = f"{name}-plain"
    transformer.transform(
        data=features_uri,
        content_type="text/csv",
        split_type="Line",
        job_name=plain_job,
        wait=True,
        logs=False,
    )

    joined_output = f"s3://{BUCKET}/transform/out-joined"
    transformer.output_path = joined_output
    joined_job = f"{name}-joined"
    transformer.transform(
        data=ids_uri,
        content_type="text/csv",
        split_type="Line",
        input_filter="$[1:]",
        join_source="Input",
        output_filter="$[0,-1]",
        job_name=joined_job,
        wait=True,
        logs=False,
    )

    existing_output = f"s3://{BUCKET}/transform/out-existing"
    existing = Transformer(
        model_name=transformer.model_name,
        instance_count=1,
        instance_type="ml.m5.large",
        strategy="SingleRecord",
        assemble_with="Line",
        accept="text/csv",
        output_path=existing_output,
        sagemaker_session=sess,
    )
    existing_job = f"{name}-existing"
    existing.transform(
        data=features_uri,
        content_type="text/csv",
        split_type="Line",
        join_source="Input",
        job_name=existing_job,
        wait=True,
        logs=False,
    )

    result["model_name"] = transformer.model_name
    result["features_uri"] = features_uri
    result["ids_uri"] = ids_uri
    result["jobs"] = {
        "plain": {**describe_transform(sess, plain_job), "output_path": plain_output},
        "joined": {**describe_transform(sess, joined_job), "output_path": joined_output},
        "existing": {**describe_transform(sess, existing_job), "output_path": existing_output},
    }
    emit(result)


if __name__ == "__main__":
    main()
