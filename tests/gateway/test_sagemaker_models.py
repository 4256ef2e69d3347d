"""SageMaker models and endpoint configurations through real boto3."""

from __future__ import annotations

from typing import Any

import pytest

from fogbank import Fogbank

from .conftest import ErrorExpectation

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
ROLE = "arn:aws:iam::000000000000:role/sagemaker"
ARTIFACTS = "s3://models/ll/output/model.tar.gz"


@pytest.fixture
def artifacts(fogbank: Fogbank) -> Fogbank:
    fogbank.lake.create_bucket("models")
    fogbank.lake.write(ARTIFACTS, b"not opened until an endpoint loads it")
    return fogbank


def _model(sagemaker: Any, name: str, **extra: Any) -> str:
    arn: str = sagemaker.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": ARTIFACTS},
        **extra,
    )["ModelArn"]
    return arn


def test_create_describe_list_delete_a_model(artifacts: Fogbank, sagemaker: Any) -> None:
    arn = _model(sagemaker, "Clicks-LL", Tags=[{"Key": "team", "Value": "ads"}])
    assert arn == "arn:aws:sagemaker:us-east-1:000000000000:model/clicks-ll"
    described = sagemaker.describe_model(ModelName="Clicks-LL")
    assert described["ModelArn"] == arn
    assert described["PrimaryContainer"] == {"Image": IMAGE, "ModelDataUrl": ARTIFACTS}
    assert described["ExecutionRoleArn"] == ROLE
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ads"}]
    _model(sagemaker, "other")
    listed = sagemaker.list_models()["Models"]
    assert [m["ModelName"] for m in listed] == ["other", "Clicks-LL"]  # newest first
    assert [
        m["ModelName"]
        for m in sagemaker.list_models(SortBy="Name", SortOrder="Ascending")["Models"]
    ] == ["Clicks-LL", "other"]
    assert [m["ModelName"] for m in sagemaker.list_models(NameContains="click")["Models"]] == [
        "Clicks-LL"
    ]
    sagemaker.delete_model(ModelName="Clicks-LL")
    assert [m["ModelName"] for m in sagemaker.list_models()["Models"]] == ["other"]


def test_model_errors_are_validation_exceptions_as_on_aws(
    artifacts: Fogbank, sagemaker: Any, json_error: ErrorExpectation
) -> None:
    # DescribeModel / CreateModel: AWS answers ValidationException with these messages.
    with json_error("ValidationException", "Could not find model"):
        sagemaker.describe_model(ModelName="nope")
    _model(sagemaker, "twice")
    with json_error("ValidationException", "Cannot create already existing model"):
        _model(sagemaker, "twice")
    with json_error("ValidationException", "Could not find model data at s3://models/missing"):
        sagemaker.create_model(
            ModelName="no-data",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://models/missing.tar.gz"},
        )
    with json_error("ValidationException", "PrimaryContainer or Containers"):
        sagemaker.create_model(ModelName="none", ExecutionRoleArn=ROLE)
    with json_error("ValidationException", "Could not find model"):
        sagemaker.delete_model(ModelName="nope")


def test_an_inference_pipeline_keeps_its_containers_in_order(
    artifacts: Fogbank, sagemaker: Any
) -> None:
    containers = [
        {
            "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/preprocess:1",
            "Environment": {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"},
        },
        {"Image": IMAGE, "ModelDataUrl": ARTIFACTS},
    ]
    sagemaker.create_model(
        ModelName="pipeline",
        ExecutionRoleArn=ROLE,
        Containers=containers,
        InferenceExecutionConfig={"Mode": "Serial"},
    )
    described = sagemaker.describe_model(ModelName="pipeline")
    assert described["Containers"] == containers
    assert described["InferenceExecutionConfig"] == {"Mode": "Serial"}


def test_endpoint_configs_name_existing_models(
    artifacts: Fogbank, sagemaker: Any, json_error: ErrorExpectation
) -> None:
    _model(sagemaker, "a")
    _model(sagemaker, "b")
    variants = [
        {
            "VariantName": "blue",
            "ModelName": "a",
            "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large",
            "InitialVariantWeight": 3.0,
        },
        {
            "VariantName": "green",
            "ModelName": "b",
            "InitialInstanceCount": 2,
            "InstanceType": "ml.m5.large",
        },
    ]
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 20,
        "DestinationS3Uri": "s3://models/capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }
    arn = sagemaker.create_endpoint_config(
        EndpointConfigName="ab", ProductionVariants=variants, DataCaptureConfig=capture
    )["EndpointConfigArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/ab"
    described = sagemaker.describe_endpoint_config(EndpointConfigName="ab")
    assert described["ProductionVariants"][1]["InitialVariantWeight"] == 1.0  # AWS's default
    assert described["ProductionVariants"][0]["InitialVariantWeight"] == 3.0
    assert described["DataCaptureConfig"] == capture
    listed = sagemaker.list_endpoint_configs()["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in listed] == ["ab"]
    with json_error("ValidationException", "Could not find model", "missing"):
        sagemaker.create_endpoint_config(
            EndpointConfigName="bad",
            ProductionVariants=[{**variants[0], "ModelName": "missing"}],
        )
    with json_error("ValidationException", "unique VariantName"):
        sagemaker.create_endpoint_config(
            EndpointConfigName="dup", ProductionVariants=[variants[0], variants[0]]
        )
    with json_error("ValidationException", "Cannot create already existing endpoint configuration"):
        sagemaker.create_endpoint_config(EndpointConfigName="ab", ProductionVariants=variants)
    sagemaker.delete_endpoint_config(EndpointConfigName="ab")
    with json_error("ValidationException", "Could not find endpoint configuration"):
        sagemaker.describe_endpoint_config(EndpointConfigName="ab")


def test_list_models_pages_with_next_token(artifacts: Fogbank, sagemaker: Any) -> None:
    for i in range(5):
        _model(sagemaker, f"m{i}")
    pages = list(
        sagemaker.get_paginator("list_models").paginate(
            SortBy="Name", SortOrder="Ascending", PaginationConfig={"PageSize": 2}
        )
    )
    assert [m["ModelName"] for p in pages for m in p["Models"]] == [f"m{i}" for i in range(5)]
    assert len(pages) == 3
