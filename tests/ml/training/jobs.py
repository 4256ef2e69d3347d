"""CreateTrainingJob requests and small CSV data sets shared by the training tests."""

from __future__ import annotations

from typing import Any

import numpy as np

XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
LINEAR_LEARNER_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
ROLE = "arn:aws:iam::000000000000:role/fogbank-training"


def csv_rows(rows: int, *, seed: int = 0, features: int = 4) -> bytes:
    """Label-first, headerless CSV of a separable binary problem."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    lines = [
        ",".join([str(label), *(f"{v:.6f}" for v in row)]) for label, row in zip(y, x, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


def channel(name: str, uri: str, **extra: Any) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "ContentType": "text/csv",
        "DataSource": {
            "S3DataSource": {
                "S3DataType": extra.pop("S3DataType", "S3Prefix"),
                "S3Uri": uri,
                "S3DataDistributionType": extra.pop("S3DataDistributionType", "FullyReplicated"),
            }
        },
        **extra,
    }


def xgboost_request(name: str, **overrides: Any) -> dict[str, Any]:
    """A CreateTrainingJob request for a small XGBoost job on the ``data`` bucket."""
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": {"num_round": "5", "objective": "binary:logistic", "max_depth": "3"},
        "InputDataConfig": [
            channel("train", "s3://data/train/"),
            channel("validation", "s3://data/validation/"),
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://data/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    request.update(overrides)
    return request
