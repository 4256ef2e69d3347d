"""What every SDK scenario shares: a SageMaker SDK session on boto3 clients pointed at fogbank.

The scenarios run under the SDK's own interpreter (``.venv-sdk``), not fogbank's: they may
import only the standard library, numpy, boto3 and ``sagemaker``. The test that starts one
sets ``AWS_ENDPOINT_URL`` to the gateway, since the SDK makes some clients of its own from
the boto3 session (``record_set`` opens its own S3 resource); the SageMaker client is given
the endpoint explicitly as well, the way a user's code does.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import boto3
import sagemaker
from botocore.config import Config

REGION = "us-east-1"
ROLE = "arn:aws:iam::000000000000:role/SageMakerRole"
RESULT_PREFIX = "FOGBANK-SCENARIO-RESULT "

# No telemetry (it would call STS and GET an S3 URL in AWS) and no config files read from
# the user's home: the whole SDK configuration is this dictionary.
SDK_CONFIG = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}


def endpoint_url() -> str:
    return sys.argv[1]


def job_name(prefix: str) -> str:
    return f"{prefix}-{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}"


def session(bucket: str) -> Any:
    """A sagemaker.Session on boto3 clients for the gateway; ``bucket`` as its default
    bucket (made here), which spares the SDK its STS GetCallerIdentity: the generated name
    sagemaker-<region>-<account> needs the account id, from an STS client the SDK points
    at sts.<region>.amazonaws.com itself, whatever AWS_ENDPOINT_URL says."""
    boto_session = boto3.Session(
        region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )
    config = Config(retries={"max_attempts": 2}, read_timeout=120)
    client = boto_session.client("sagemaker", endpoint_url=endpoint_url(), config=config)
    made = sagemaker.Session(
        boto_session=boto_session,
        sagemaker_client=client,
        default_bucket=bucket,
        sagemaker_config=SDK_CONFIG,
    )
    # The SDK's own bucket set-up (ListBuckets through the S3 resource, HeadBucket, then
    # CreateBucket): record_set() and upload_data() write to the bucket but make none.
    assert made.default_bucket() == bucket
    return made


def describe(sess: Any, name: str) -> dict[str, Any]:
    """DescribeTrainingJob, reduced to what the tests check (JSON-safe)."""
    found = sess.sagemaker_client.describe_training_job(TrainingJobName=name)
    listed = sess.sagemaker_client.list_training_jobs(NameContains=name)["TrainingJobSummaries"]
    return {
        "TrainingJobName": found["TrainingJobName"],
        "TrainingJobArn": found["TrainingJobArn"],
        "TrainingJobStatus": found["TrainingJobStatus"],
        "SecondaryStatus": found.get("SecondaryStatus"),
        "FailureReason": found.get("FailureReason"),
        "TrainingImage": found["AlgorithmSpecification"].get("TrainingImage"),
        "HyperParameters": found.get("HyperParameters", {}),
        "Channels": {
            channel["ChannelName"]: {
                "S3DataType": channel["DataSource"]["S3DataSource"]["S3DataType"],
                "S3Uri": channel["DataSource"]["S3DataSource"]["S3Uri"],
                "ContentType": channel.get("ContentType"),
            }
            for channel in found.get("InputDataConfig", [])
        },
        "FinalMetrics": {m["MetricName"]: m["Value"] for m in found.get("FinalMetricDataList", [])},
        "S3ModelArtifacts": found.get("ModelArtifacts", {}).get("S3ModelArtifacts"),
        "Listed": [job["TrainingJobName"] for job in listed],
    }


def emit(result: dict[str, Any]) -> None:
    """The scenario's answer: one line the test finds among whatever the SDK printed."""
    print()
    print(RESULT_PREFIX + json.dumps(result, default=str), flush=True)
