"""The SageMaker Python SDK v2 (``sagemaker<3``) driving fogbank's training jobs.

Each scenario runs under the SDK's interpreter against `fogbank serve` (see conftest.py):
a Session on boto3 clients for the gateway, the estimator a user writes, fit(wait=True,
logs=False), then DescribeTrainingJob / ListTrainingJobs / ListTags through the SDK's
client. What the scenario reports is checked here, and the lake behind the gateway is
read with fogbank's own boto3 for the model artifact and the uploaded data. Beyond
training: the Transformer's batch transform jobs (their .out objects read from the lake)
and SKLearnModel serving the user's inference code on an endpoint.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from importlib import resources
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config

from fogbank.ml.training.images import builtin_algorithm, parse_image

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


def _lines(s3: Any, uri: str) -> list[str]:
    bucket, key = _split(uri)
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body.decode().splitlines()


def _keys(s3: Any, prefix_uri: str) -> list[str]:
    bucket, prefix = _split(prefix_uri)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/").get("Contents", [])
    return sorted(obj["Key"].removeprefix(f"{prefix}/") for obj in listed)


def assert_transform_completed(job: dict[str, Any], model_name: str, strategy: str) -> None:
    assert job["TransformJobStatus"] == "Completed", job["FailureReason"]
    assert job["FailureReason"] is None
    assert job["TransformJobArn"] == (
        f"arn:aws:sagemaker:us-east-1:000000000000:transform-job/{job['TransformJobName']}"
    )
    assert job["Listed"] == [job["TransformJobName"]]
    assert job["ModelName"] == model_name
    assert job["BatchStrategy"] == strategy
    assert job["TransformInput"]["ContentType"] == "text/csv"
    assert job["TransformInput"]["SplitType"] == "Line"
    assert job["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"] == "S3Prefix"
    assert job["TransformOutput"] == {
        "S3OutputPath": job["output_path"],
        "Accept": "text/csv",
        "AssembleWith": "Line",
    }
    assert job["TransformResources"] == {"InstanceType": "ml.m5.large", "InstanceCount": 1}


def test_batch_transform_through_the_transformer(
    gateway: str, run_scenario: RunScenario, s3: Any
) -> None:
    """estimator.transformer() and Transformer(model_name=...): MultiRecord and
    SingleRecord jobs over Line-split CSV, with and without DataProcessing; one .out per
    input object, one line per input row, the join's layout."""
    result = run_scenario("xgboost_transform.py", endpoint_url=gateway)

    training = result["training"]
    assert training["TrainingJobStatus"] == "Completed", training["FailureReason"]
    model_name = result["model_name"]
    jobs = result["jobs"]

    plain = jobs["plain"]
    assert_transform_completed(plain, model_name, "MultiRecord")
    assert plain["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == result["features_uri"]
    assert plain["DataProcessing"] is None
    inputs = _keys(s3, result["features_uri"])
    assert inputs == ["part-0.csv", "part-1.csv"]
    assert _keys(s3, plain["output_path"]) == [f"{key}.out" for key in inputs]
    scores: dict[str, list[float]] = {}
    for key in inputs:
        rows = _lines(s3, f"{result['features_uri']}/{key}")
        answers = _lines(s3, f"{plain['output_path']}/{key}.out")
        assert len(answers) == len(rows), key
        scores[key] = [float(line) for line in answers]
        assert all(0.0 <= v <= 1.0 for v in scores[key]), answers
    # the model learned x0 + x1 > 0: its scores side with the rule on most rows
    features = [
        [float(v) for v in row.split(",")]
        for row in _lines(s3, result["features_uri"] + "/part-0.csv")
    ]
    agree = [
        (s > 0.5) == (f[0] + f[1] > 0) for s, f in zip(scores["part-0.csv"], features, strict=True)
    ]
    assert sum(agree) >= 0.8 * len(agree)

    # the id column dropped before the model, joined back, kept with the score alone
    joined = jobs["joined"]
    assert_transform_completed(joined, model_name, "MultiRecord")
    assert joined["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == result["ids_uri"]
    assert joined["DataProcessing"] == {
        "InputFilter": "$[1:]",
        "OutputFilter": "$[0,-1]",
        "JoinSource": "Input",
    }
    assert _keys(s3, result["ids_uri"]) == ["batch.csv"]
    assert _keys(s3, joined["output_path"]) == ["batch.csv.out"]
    rows = _lines(s3, f"{result['ids_uri']}/batch.csv")
    answers = _lines(s3, f"{joined['output_path']}/batch.csv.out")
    assert len(answers) == len(rows) == 20
    for row, answer, score in zip(rows, answers, scores["part-0.csv"], strict=False):
        row_id, score_text = answer.split(",")
        assert row_id == row.split(",")[0]
        assert float(score_text) == pytest.approx(score, rel=1e-6)

    # Transformer(model_name=...) on the model the first made: each line is its input row
    # and the score
    existing = jobs["existing"]
    assert_transform_completed(existing, model_name, "SingleRecord")
    assert existing["DataProcessing"] == {"JoinSource": "Input"}
    assert _keys(s3, existing["output_path"]) == [f"{key}.out" for key in inputs]
    for key in inputs:
        rows = _lines(s3, f"{result['features_uri']}/{key}")
        answers = _lines(s3, f"{existing['output_path']}/{key}.out")
        assert len(answers) == len(rows), key
        for row, answer, score in zip(rows, answers, scores[key], strict=True):
            head, _, tail = answer.rpartition(",")
            assert head == row
            assert float(tail) == pytest.approx(score, rel=1e-6)


SKLEARN_MODELS = "fogbank-sdk-sklearn-models"


@pytest.fixture(scope="module")
def sklearn_model(s3: Any) -> tuple[str, Any]:
    """A scikit-learn LogisticRegression saved with joblib by fogbank's own scikit-learn
    (the endpoint workers that unpickle it run in fogbank's environment), as model.tar.gz
    in the lake; its URL and the estimator."""
    import joblib
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    features = rng.normal(size=(200, 4))
    labels = (features[:, 0] + features[:, 1] > 0).astype(int)
    model = LogisticRegression().fit(features, labels)
    pickled = io.BytesIO()
    joblib.dump(model, pickled)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("model.joblib")
        info.size = len(pickled.getvalue())
        tar.addfile(info, io.BytesIO(pickled.getvalue()))
    s3.create_bucket(Bucket=SKLEARN_MODELS)
    s3.put_object(Bucket=SKLEARN_MODELS, Key="sklearn/model.tar.gz", Body=archive.getvalue())
    return f"s3://{SKLEARN_MODELS}/sklearn/model.tar.gz", model


def _tar_names(s3: Any, uri: str) -> set[str]:
    bucket, key = _split(uri)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        return {m.name.removeprefix("./") for m in archive.getmembers() if m.isfile()}


def assert_answers(served: dict[str, Any], model: Any, rows: np.ndarray) -> None:
    labels = [int(v) for v in model.predict(rows)]
    probabilities = model.predict_proba(rows)[:, 1]
    assert served["json"]["labels"] == labels
    assert served["json"]["probabilities"] == pytest.approx(probabilities, rel=1e-9)
    assert [row[0] for row in served["csv"]] == [str(v) for v in labels]
    assert [float(row[1]) for row in served["csv"]] == pytest.approx(probabilities, rel=1e-9)


def test_sklearn_model_serves_the_users_inference_code(
    gateway: str, run_scenario: RunScenario, s3: Any, sklearn_model: tuple[str, Any]
) -> None:
    """SKLearnModel(entry_point=..., source_dir=...).deploy(): the SDK's sourcedir.tar.gz
    (SAGEMAKER_SUBMIT_DIRECTORY an S3 URL) and, with network isolation, its repacked
    model.tar.gz (code/ inside, SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code) both serve
    inference.py's handlers on fogbank's scikit-learn."""
    model_data, model = sklearn_model
    result = run_scenario("sklearn_inference.py", model_data, endpoint_url=gateway)

    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    assert result["image_uri"] == image
    assert builtin_algorithm(image) is None  # served as user code, not a built-in
    rows = np.asarray(result["rows"])

    uploaded = result["sourcedir"]
    container = uploaded["PrimaryContainer"]
    assert container["Image"] == image
    assert container["ModelDataUrl"] == model_data
    environment = container["Environment"]
    assert environment["SAGEMAKER_PROGRAM"] == "inference.py"
    sourcedir = f"s3://fogbank-sdk-sklearn/{uploaded['ModelName']}/sourcedir.tar.gz"
    assert environment["SAGEMAKER_SUBMIT_DIRECTORY"] == sourcedir
    assert _tar_names(s3, sourcedir) == {"inference.py", "scoring.py"}
    assert uploaded["endpoint_status"] == "InService"
    assert_answers(uploaded, model, rows)

    repacked = result["repacked"]
    assert repacked["EnableNetworkIsolation"] is True
    container = repacked["PrimaryContainer"]
    assert container["Image"] == image
    assert container["ModelDataUrl"] == (
        f"s3://fogbank-sdk-sklearn/{repacked['ModelName']}/model.tar.gz"
    )
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    assert _tar_names(s3, container["ModelDataUrl"]) == {
        "model.joblib",
        "code/inference.py",
        "code/scoring.py",
    }
    assert_answers(repacked, model, rows)
