"""SageMaker training jobs through real boto3, over a socket and in-process."""

from __future__ import annotations

from typing import Any

import pytest

from fogbank import Fogbank
from tests.ml.training.jobs import XGBOOST_IMAGE, csv_rows, xgboost_request

from .conftest import ErrorExpectation

pytestmark = pytest.mark.slow


@pytest.fixture
def bucket(fogbank: Fogbank) -> Fogbank:
    fogbank.lake.create_bucket("data")
    fogbank.lake.write("s3://data/train/part-0.csv", csv_rows(400, seed=1))
    fogbank.lake.write("s3://data/validation/part-0.csv", csv_rows(200, seed=2))
    return fogbank


def _wait(sagemaker: Any, name: str) -> dict[str, Any]:
    waiter = sagemaker.get_waiter("training_job_completed_or_stopped")
    waiter.wait(TrainingJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    described: dict[str, Any] = sagemaker.describe_training_job(TrainingJobName=name)
    return described


def test_create_training_job_through_boto3_runs_to_completed(
    bucket: Fogbank, sagemaker: Any
) -> None:
    arn = sagemaker.create_training_job(
        **xgboost_request("boto-xgb", Tags=[{"Key": "team", "Value": "ml"}])
    )["TrainingJobArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:000000000000:training-job/boto-xgb"
    described = _wait(sagemaker, "boto-xgb")
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    assert described["SecondaryStatus"] == "Completed"
    assert described["ModelArtifacts"]["S3ModelArtifacts"] == (
        "s3://data/output/boto-xgb/output/model.tar.gz"
    )
    assert described["AlgorithmSpecification"]["TrainingImage"] == XGBOOST_IMAGE
    definitions = {m["Name"] for m in described["AlgorithmSpecification"]["MetricDefinitions"]}
    assert "validation:logloss" in definitions
    metrics = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
    assert 0 <= metrics["validation:logloss"] < 0.69
    assert described["HyperParameters"]["num_round"] == "5"
    assert [t["Status"] for t in described["SecondaryStatusTransitions"]][-1] == "Completed"
    assert described["BillableTimeInSeconds"] == described["TrainingTimeInSeconds"] >= 1
    assert described["TrainingEndTime"] >= described["TrainingStartTime"]
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    listed = sagemaker.list_training_jobs(NameContains="boto")["TrainingJobSummaries"]
    assert [(s["TrainingJobName"], s["TrainingJobStatus"]) for s in listed] == [
        ("boto-xgb", "Completed")
    ]


def test_tags_on_a_training_job(bucket: Fogbank, sagemaker: Any) -> None:
    arn = sagemaker.create_training_job(**xgboost_request("tagged"))["TrainingJobArn"]
    sagemaker.add_tags(
        ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    )
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["a"])
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    _wait(sagemaker, "tagged")


def test_bad_hyperparameters_get_a_validation_exception_naming_them(
    bucket: Fogbank, sagemaker: Any, json_error: ErrorExpectation
) -> None:
    request = xgboost_request("bad-hp")
    request["HyperParameters"] = {"objective": "binary:logistic"}
    with json_error("ValidationException", "num_round", "required"):
        sagemaker.create_training_job(**request)
    request["HyperParameters"] = {"num_round": "ten"}
    with json_error("ValidationException", "num_round", "'ten'"):
        sagemaker.create_training_job(**request)


def test_describe_an_unknown_training_job_is_a_validation_exception(
    sagemaker: Any, json_error: ErrorExpectation
) -> None:
    # DescribeTrainingJob: AWS answers ValidationException "Requested resource not found."
    with json_error("ValidationException", "Requested resource not found"):
        sagemaker.describe_training_job(TrainingJobName="nope")
    with json_error("ValidationException", "Requested resource not found"):
        sagemaker.stop_training_job(TrainingJobName="nope")


def test_a_duplicate_training_job_name_is_resource_in_use(
    bucket: Fogbank, sagemaker: Any, json_error: ErrorExpectation
) -> None:
    sagemaker.create_training_job(**xgboost_request("twice"))
    with json_error("ResourceInUse", "twice"):
        sagemaker.create_training_job(**xgboost_request("twice"))
    _wait(sagemaker, "twice")


def test_stop_training_job_through_boto3(bucket: Fogbank, sagemaker: Any) -> None:
    request = xgboost_request("boto-stop")
    request["HyperParameters"] = {"num_round": "1000000", "objective": "binary:logistic"}
    sagemaker.create_training_job(**request)
    sagemaker.stop_training_job(TrainingJobName="boto-stop")
    described = _wait(sagemaker, "boto-stop")
    assert described["TrainingJobStatus"] == "Stopped"


def test_list_training_jobs_pages_with_next_token(bucket: Fogbank, sagemaker: Any) -> None:
    for i in range(3):
        request = xgboost_request(f"page-{i}")
        request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = "s3://data/none/"
        sagemaker.create_training_job(**request)
    paginator = sagemaker.get_paginator("list_training_jobs")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 2}))
    names = [s["TrainingJobName"] for page in pages for s in page["TrainingJobSummaries"]]
    assert names == ["page-0", "page-1", "page-2"] and len(pages) == 2
