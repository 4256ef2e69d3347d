"""Scenario (v3): SDK v3's ModelTrainer on the built-in XGBoost image, a CSV channel.

Runs under an interpreter with ``sagemaker>=3`` (FOGBANK_SDK3_PYTHON); v3 cannot share a
venv with v2 (both are the ``sagemaker`` package) and brings MLflow along (~1 GB), so
``make test`` does not make one. ModelTrainer checks the role with IAM
SimulatePrincipalPolicy unless SAGEMAKER_VALIDATE_ROLE=false, which the test sets.

    python model_trainer_v3.py ENDPOINT_URL
"""

from __future__ import annotations

import io
import json
import sys

import boto3
import numpy as np
from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session
from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute, InputData, OutputDataConfig

RESULT_PREFIX = "FOGBANK-SCENARIO-RESULT "
REGION = "us-east-1"
ROLE = "arn:aws:iam::000000000000:role/SageMakerRole"
BUCKET = "fogbank-sdk-v3"
SDK_CONFIG = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}


def main() -> None:
    url = sys.argv[1]
    boto_session = boto3.Session(
        region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )
    client = boto_session.client("sagemaker", endpoint_url=url)
    sess = Session(
        boto_session=boto_session,
        sagemaker_client=client,
        default_bucket=BUCKET,
        sagemaker_config=SDK_CONFIG,
    )
    assert sess.default_bucket() == BUCKET
    rng = np.random.default_rng(3)
    features = rng.normal(size=(300, 3))
    labels = (features[:, 0] - features[:, 2] > 0).astype(float)
    body = io.StringIO()
    np.savetxt(body, np.column_stack([labels, features]), delimiter=",", fmt="%.6g")
    train_uri = sess.upload_string_as_file_body(body.getvalue(), BUCKET, "v3/train/train.csv")

    image = image_uris.retrieve("xgboost", REGION, "1.7-1")
    trainer = ModelTrainer(
        sagemaker_session=sess,
        role=ROLE,
        training_image=image,
        base_job_name="sdk-v3-xgboost",
        compute=Compute(instance_type="ml.m5.large", instance_count=1),
        output_data_config=OutputDataConfig(s3_output_path=f"s3://{BUCKET}/v3/output"),
        hyperparameters={"objective": "binary:logistic", "num_round": 10},
    )
    trainer.train(
        input_data_config=[
            InputData(channel_name="train", data_source=train_uri, content_type="text/csv")
        ],
        wait=True,
        logs=False,
    )
    job = trainer._latest_training_job
    found = client.describe_training_job(TrainingJobName=job.training_job_name)
    result = {
        "image_uri": image,
        "train_uri": train_uri,
        "TrainingJobName": found["TrainingJobName"],
        "TrainingJobStatus": found["TrainingJobStatus"],
        "FailureReason": found.get("FailureReason"),
        "S3ModelArtifacts": found.get("ModelArtifacts", {}).get("S3ModelArtifacts"),
        "FinalMetrics": {m["MetricName"]: m["Value"] for m in found.get("FinalMetricDataList", [])},
    }
    print()
    print(RESULT_PREFIX + json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
