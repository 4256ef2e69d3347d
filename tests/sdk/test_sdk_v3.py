"""The SageMaker Python SDK v3 (``sagemaker>=3``, ModelTrainer) driving fogbank.

v3 cannot share a venv with v2 and brings MLflow along, so `make test` makes none: this
runs where FOGBANK_SDK3_PYTHON names an interpreter with ``sagemaker>=3`` installed.
"""

from __future__ import annotations

import os

import pytest

from .conftest import RunScenario

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("FOGBANK_SDK3_PYTHON"),
        reason="FOGBANK_SDK3_PYTHON is not set: the SageMaker SDK v3 run is skipped",
    ),
]


def test_model_trainer_on_the_xgboost_image(gateway: str, run_scenario_v3: RunScenario) -> None:
    result = run_scenario_v3("model_trainer_v3.py", endpoint_url=gateway)

    assert result["image_uri"] == (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    )
    assert result["TrainingJobStatus"] == "Completed", result["FailureReason"]
    name = result["TrainingJobName"]
    assert name.startswith("sdk-v3-xgboost-")
    assert result["S3ModelArtifacts"] == f"s3://fogbank-sdk-v3/v3/output/{name}/output/model.tar.gz"
    assert any(metric.startswith("train:") for metric in result["FinalMetrics"])
