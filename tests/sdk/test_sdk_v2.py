"""The SageMaker Python SDK v2 (``sagemaker<3``) driving fogbank's training jobs.

Each scenario runs under the SDK's interpreter against `fogbank serve` (see conftest.py):
a Session on boto3 clients for the gateway, the estimator a user writes, fit(wait=True,
logs=False), then DescribeTrainingJob / ListTrainingJobs / ListTags through the SDK's
client. What the scenario reports is checked here, and the lake behind the gateway is
read with fogbank's own boto3 for the model artifact and the uploaded data.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from importlib import resources
from typing import Any

import boto3
import pytest
from botocore.config import Config

from fogbank.ml.training.images import parse_image

from .conftest import RunScenario

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def s3(gateway: str) -> Iterator[Any]:
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=gateway,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )
    yield client
    client.close()


def _split(uri: str) -> tuple[str, str]:
    assert uri.startswith("s3://"), uri
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def assert_model_in_lake(s3: Any, result: dict[str, Any], output_path: str) -> None:
    """ModelArtifacts is <output_path>/<job>/output/model.tar.gz, the SDK's model_data,
    and a non-empty gzipped tar in the lake."""
    name = result["TrainingJobName"]
    expected = f"{output_path}/{name}/output/model.tar.gz"
    assert result["S3ModelArtifacts"] == expected
    assert result["model_data"] == expected
    bucket, key = _split(expected)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        members = [m for m in archive.getmembers() if m.isfile()]
    assert members, f"{expected} holds no files"


def assert_completed(result: dict[str, Any], image: str) -> None:
    assert result["TrainingJobStatus"] == "Completed", result.get("FailureReason")
    assert result["SecondaryStatus"] == "Completed"
    assert result["FailureReason"] is None
    assert result["TrainingImage"] == image
    assert result["TrainingJobArn"] == (
        f"arn:aws:sagemaker:us-east-1:000000000000:training-job/{result['TrainingJobName']}"
    )
    assert result["Listed"] == [result["TrainingJobName"]]


def test_linear_learner_fits_a_record_set(gateway: str, run_scenario: RunScenario, s3: Any) -> None:
    result = run_scenario("linear_learner.py", endpoint_url=gateway)

    assert_completed(result, "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1")
    # fit()'s default logs="All" followed the job's log through CloudWatch Logs
    assert result["fit_quality_lines"] > 0
    # record_set(): one RecordIO-protobuf shard per instance and a manifest naming it
    assert result["train_s3_data_type"] == "ManifestFile"
    channels = result["Channels"]
    assert set(channels) == {"train", "validation", "test"}
    for channel in channels.values():
        assert channel["S3DataType"] == "ManifestFile"
        assert channel["S3Uri"].endswith("/.amazon.manifest")
    assert channels["train"]["S3Uri"] == result["train_manifest"]
    bucket, key = _split(result["train_manifest"])
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    prefix = manifest[0]["prefix"]
    assert prefix == result["train_manifest"].removesuffix(".amazon.manifest")
    assert manifest[1:] == ["matrix_0.pbr"]
    shard = s3.head_object(Bucket=bucket, Key=_split(prefix)[1] + "matrix_0.pbr")
    assert shard["ContentLength"] > 400 * 5 * 4

    # the SDK fills feature_dim and mini_batch_size in from the record set
    hyper = result["HyperParameters"]
    assert hyper["predictor_type"] == "binary_classifier"
    assert hyper["feature_dim"] == "5"
    assert hyper["epochs"] == "5"
    assert "mini_batch_size" in hyper

    metrics = result["FinalMetrics"]
    assert any(name.startswith("validation:") for name in metrics), metrics
    assert any(name.startswith("test:") for name in metrics), metrics
    assert metrics["test:binary_classification_accuracy"] >= 0.8, metrics
    assert metrics["validation:binary_classification_accuracy"] >= 0.8, metrics

    assert {"Key": "suite", "Value": "fogbank-sdk"} in result["Tags"]
    assert_model_in_lake(s3, result, "s3://fogbank-sdk-linear/linear/output")


def test_generic_estimator_on_the_xgboost_image_with_csv(
    gateway: str, run_scenario: RunScenario, s3: Any
) -> None:
    result = run_scenario("xgboost_csv.py", endpoint_url=gateway)

    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    assert result["image_uri"] == image
    assert_completed(result, image)
    channels = result["Channels"]
    assert set(channels) == {"train", "validation"}
    for channel in channels.values():
        assert channel["S3DataType"] == "S3Prefix"
        assert channel["ContentType"] == "text/csv"
    assert channels["train"]["S3Uri"] == result["train_uri"]
    bucket, key = _split(result["train_uri"])
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key)["Contents"]
    assert [obj["Key"] for obj in listed] == [f"{key}/train.csv"]

    # hyperparameters travel as strings, as the SDK sends them
    hyper = result["HyperParameters"]
    assert hyper["objective"] == "binary:logistic"
    assert hyper["num_round"] == "30"
    metrics = result["FinalMetrics"]
    assert "validation:error" in metrics, metrics
    assert "train:error" in metrics, metrics
    assert metrics["validation:error"] <= 0.2, metrics

    assert_model_in_lake(s3, result, "s3://fogbank-sdk-xgboost/xgboost/output")
    # deploy(): the model served on an endpoint; its Predictor scores through InvokeEndpoint
    assert result["endpoint_status"] == "InService"
    assert result["endpoint_accuracy"] >= 0.7


def test_factorization_machines_fit_a_record_set(
    gateway: str, run_scenario: RunScenario, s3: Any
) -> None:
    result = run_scenario("factorization_machines.py", endpoint_url=gateway)

    image = "382416733822.dkr.ecr.us-east-1.amazonaws.com/factorization-machines:1"
    assert_completed(result, image)
    channels = result["Channels"]
    assert set(channels) == {"train", "test"}
    assert {c["S3DataType"] for c in channels.values()} == {"ManifestFile"}
    hyper = result["HyperParameters"]
    assert hyper["feature_dim"] == "14"
    assert hyper["num_factors"] == "4"
    assert hyper["mini_batch_size"] == "50"
    metrics = result["FinalMetrics"]
    assert any(name.startswith("test:") for name in metrics), metrics
    assert metrics["test:binary_classification_accuracy"] >= 0.8, metrics

    assert_model_in_lake(s3, result, "s3://fogbank-sdk-fm/fm/output")


def test_image_registry_matches_what_the_sdk_retrieves(run_scenario: RunScenario) -> None:
    """image_registry.json (fogbank's copy of the SDK's table) gives, for every algorithm,
    repository, tag and region, the URI image_uris.retrieve() gives, covers every region
    the SDK knows, and fogbank accepts each of those URIs as its algorithm's image."""
    registry = resources.files("fogbank.ml.training").joinpath("image_registry.json")
    table = json.loads(registry.read_text())
    with resources.as_file(registry) as path:
        result = run_scenario("retrieve_uris.py", str(path))

    domains = table["domains"]
    expected: dict[str, str] = {}
    for algorithm, entry in table["algorithms"].items():
        regions: set[str] = set()
        for repository, spec in entry["repositories"].items():
            regions |= set(spec["registries"])
            for region, account in spec["registries"].items():
                domain = domains.get(region, "amazonaws.com")
                for tag in spec["tags"]:
                    if not tag.endswith("-arm64"):
                        expected[f"{algorithm}|{repository}|{tag}|{region}"] = (
                            f"{account}.dkr.ecr.{region}.{domain}/{repository}:{tag}"
                        )
        assert sorted(regions) == result["regions"][algorithm], algorithm
    assert result["uris"] == expected

    for key, uri in result["uris"].items():
        algorithm, repository, tag, region = key.split("|")
        image = parse_image(uri)
        assert (image.algorithm, image.repository, image.tag, image.region) == (
            algorithm,
            repository,
            tag,
            region,
        )
