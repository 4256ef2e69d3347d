"""Inference pipelines and user inference code on SageMaker endpoints, through real boto3:
a scikit-learn preprocessing step (the user's code/inference.py) followed by linear
learner (a training job's model), Serial and Direct; per-variant metrics."""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

from fogbank import Fogbank, FogbankConfig
from tests.ml.hosting.programs import program_source, scaler_model_tar
from tests.ml.training.jobs import LINEAR_LEARNER_IMAGE, ROLE, channel, csv_rows

from .conftest import ErrorExpectation, transport_client

pytestmark = pytest.mark.slow
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
LL_MODEL = "s3://data/output/ll/output/model.tar.gz"
SCALER_MODEL = "s3://data/scaler/model.tar.gz"
FEATURES = np.random.default_rng(7).normal(loc=3.0, scale=2.0, size=(200, 4))


def _train_linear_learner(fb: Fogbank) -> None:
    fb.lake.create_bucket("data")
    fb.lake.write("s3://data/train/part-0.csv", csv_rows(400))
    fb.lake.write(SCALER_MODEL, scaler_model_tar(FEATURES))
    fb.training.create_training_job(
        {
            "TrainingJobName": "ll",
            "RoleArn": ROLE,
            "AlgorithmSpecification": {
                "TrainingImage": LINEAR_LEARNER_IMAGE,
                "TrainingInputMode": "File",
            },
            "HyperParameters": {
                "feature_dim": "4",
                "predictor_type": "binary_classifier",
                "epochs": "3",
                "mini_batch_size": "100",
            },
            "InputDataConfig": [channel("train", "s3://data/train/")],
            "OutputDataConfig": {"S3OutputPath": "s3://data/output"},
            "ResourceConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 5,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        }
    )
    job = fb.training.wait("ll", 180)
    assert job.status == "Completed", job.failure_reason


@pytest.fixture
def trained(fogbank: Fogbank) -> Fogbank:
    _train_linear_learner(fogbank)
    return fogbank


@pytest.fixture
def clients(trained: Fogbank) -> Iterator[tuple[Any, Any]]:
    with (
        transport_client("in-process", trained, "sagemaker") as sagemaker,
        transport_client("in-process", trained, "sagemaker-runtime") as runtime,
    ):
        yield sagemaker, runtime


def _scaler_container(hostname: str | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {
        "Image": SKLEARN_IMAGE,
        "ModelDataUrl": SCALER_MODEL,
        "Environment": {
            "SAGEMAKER_PROGRAM": "inference.py",
            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
        },
    }
    if hostname:
        container["ContainerHostname"] = hostname
    return container


def _ll_container(hostname: str | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"Image": LINEAR_LEARNER_IMAGE, "ModelDataUrl": LL_MODEL}
    if hostname:
        container["ContainerHostname"] = hostname
    return container


def _endpoint(sagemaker: Any, name: str, model: dict[str, Any]) -> dict[str, Any]:
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, **model)
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    deadline = time.monotonic() + 120
    while True:
        described: dict[str, Any] = sagemaker.describe_endpoint(EndpointName=name)
        if described["EndpointStatus"] != "Creating":
            return described
        assert time.monotonic() < deadline
        time.sleep(0.1)


def _rows(count: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(loc=3.0, scale=2.0, size=(count, 4))


def _csv(rows: np.ndarray) -> bytes:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()


def _scores(body: bytes) -> list[float]:
    return [p["score"] for p in json.loads(body)["predictions"]]


def test_a_serial_pipeline_scales_then_predicts(clients: tuple[Any, Any]) -> None:
    sagemaker, runtime = clients
    described = _endpoint(
        sagemaker,
        "pipeline",
        {
            "Containers": [_scaler_container(), _ll_container()],
            "InferenceExecutionConfig": {"Mode": "Serial"},
        },
    )
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    images = [i["SpecifiedImage"] for i in described["ProductionVariants"][0]["DeployedImages"]]
    assert images == [SKLEARN_IMAGE, LINEAR_LEARNER_IMAGE]
    _endpoint(sagemaker, "alone", {"PrimaryContainer": _ll_container()})

    rows = _rows(20)
    piped = runtime.invoke_endpoint(
        EndpointName="pipeline", Body=_csv(rows), ContentType="text/csv", Accept="application/json"
    )
    assert piped["ContentType"] == "application/json"
    # the same rows, scaled here with the same scaler, sent to linear learner alone
    scaled = StandardScaler().fit(FEATURES).transform(rows)
    direct = runtime.invoke_endpoint(
        EndpointName="alone", Body=_csv(scaled), ContentType="text/csv", Accept="application/json"
    )
    assert _scores(piped["Body"].read()) == pytest.approx(_scores(direct["Body"].read()), abs=1e-6)


def test_a_direct_pipeline_serves_the_container_named(
    clients: tuple[Any, Any], json_error: ErrorExpectation
) -> None:
    sagemaker, runtime = clients
    described = _endpoint(
        sagemaker,
        "direct",
        {
            "Containers": [_scaler_container("scaler"), _ll_container("learner")],
            "InferenceExecutionConfig": {"Mode": "Direct"},
        },
    )
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    rows = _rows(3)
    scaled = runtime.invoke_endpoint(
        EndpointName="direct",
        Body=_csv(rows),
        ContentType="text/csv",
        TargetContainerHostname="scaler",
    )
    values = np.loadtxt(io.StringIO(scaled["Body"].read().decode()), delimiter=",", ndmin=2)
    assert values == pytest.approx(StandardScaler().fit(FEATURES).transform(rows))
    scored = runtime.invoke_endpoint(
        EndpointName="direct",
        Body=_csv(rows),
        ContentType="text/csv",
        Accept="application/json",
        TargetContainerHostname="learner",
    )
    assert len(_scores(scored["Body"].read())) == 3
    with json_error("ValidationError", "Direct", "TargetContainerHostname", "scaler, learner"):
        runtime.invoke_endpoint(EndpointName="direct", Body=_csv(rows), ContentType="text/csv")
    with json_error("ValidationError", "'nope' is not one of them"):
        runtime.invoke_endpoint(
            EndpointName="direct",
            Body=_csv(rows),
            ContentType="text/csv",
            TargetContainerHostname="nope",
        )


def test_a_failing_step_names_its_container_and_is_counted(
    trained: Fogbank, clients: tuple[Any, Any], json_error: ErrorExpectation
) -> None:
    sagemaker, runtime = clients
    _endpoint(
        sagemaker,
        "failing",
        {"Containers": [_scaler_container("prep"), _ll_container("learner")]},
    )
    with pytest.raises(runtime.exceptions.ModelError) as caught:
        runtime.invoke_endpoint(EndpointName="failing", Body=b"{}", ContentType="application/json")
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    # the user's input_fn raised: the toolkit answers 500, named by the container's hostname
    assert error["OriginalStatusCode"] == 500
    assert "server error (500) from prep" in error["Error"]["Message"]
    assert "reads text/csv" in error["Error"]["Message"]
    with json_error("ValidationError", "TargetContainerHostname", "Serial"):
        runtime.invoke_endpoint(
            EndpointName="failing",
            Body=_csv(_rows(1)),
            ContentType="text/csv",
            TargetContainerHostname="prep",
        )
    runtime.invoke_endpoint(EndpointName="failing", Body=_csv(_rows(2)), ContentType="text/csv")

    metrics = trained.endpoints.variant_metrics("failing")["AllTraffic"]
    assert (metrics.invocations, metrics.errors_4xx, metrics.errors_5xx) == (2, 0, 1)
    assert metrics.model_latency_us is not None and metrics.model_latency_us > 0
    points = trained.store.get_metrics("AWS/SageMaker", "Invocations")
    assert {p.dimensions["EndpointName"] for p in points} == {"failing"}


def test_user_code_alone_and_from_a_source_dir_archive(
    trained: Fogbank, clients: tuple[Any, Any]
) -> None:
    sagemaker, runtime = clients
    described = _endpoint(
        sagemaker,
        "byo-code",
        {"PrimaryContainer": {**_scaler_container(), "Environment": {}}},
    )
    # no SAGEMAKER_PROGRAM: the model.tar.gz's code/inference.py is served
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    answer = runtime.invoke_endpoint(
        EndpointName="byo-code", Body=_csv(_rows(2)), ContentType="text/csv", Accept="text/csv"
    )
    assert answer["Body"].read().count(b"\n") == 2

    # the SDK's other layout: the model alone, the code in sourcedir.tar.gz beside it
    model_only = io.BytesIO()
    packed = io.BytesIO(trained.lake.read(SCALER_MODEL))
    with (
        tarfile.open(fileobj=packed, mode="r:gz") as src,
        tarfile.open(fileobj=model_only, mode="w:gz") as out,
    ):
        member = src.getmember("model.joblib")
        out.addfile(member, src.extractfile(member))
    source = io.BytesIO()
    with tarfile.open(fileobj=source, mode="w:gz") as out:
        data = program_source("scaler")
        info = tarfile.TarInfo("preprocess.py")
        info.size = len(data)
        out.addfile(info, io.BytesIO(data))
    trained.lake.write("s3://data/split/model.tar.gz", model_only.getvalue())
    trained.lake.write("s3://data/split/sourcedir.tar.gz", source.getvalue())
    described = _endpoint(
        sagemaker,
        "byo-source",
        {
            "PrimaryContainer": {
                "Image": SKLEARN_IMAGE,
                "ModelDataUrl": "s3://data/split/model.tar.gz",
                "Environment": {
                    "SAGEMAKER_PROGRAM": "preprocess.py",
                    "SAGEMAKER_SUBMIT_DIRECTORY": "s3://data/split/sourcedir.tar.gz",
                },
            }
        },
    )
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    answer = runtime.invoke_endpoint(
        EndpointName="byo-source", Body=_csv(_rows(3)), ContentType="text/csv", Accept="text/csv"
    )
    assert answer["Body"].read().count(b"\n") == 3


def test_container_hostnames_are_all_or_none(
    clients: tuple[Any, Any], json_error: ErrorExpectation
) -> None:
    sagemaker, _ = clients
    with json_error("ValidationException", "ContainerHostname", "every container"):
        sagemaker.create_model(
            ModelName="half",
            ExecutionRoleArn=ROLE,
            Containers=[_scaler_container("prep"), _ll_container()],
        )


def test_endpoints_ls_shows_each_variant_with_its_traffic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    from fogbank import cli
    from fogbank.cli import app

    monkeypatch.setattr(cli, "console", Console(width=220))
    with Fogbank(FogbankConfig.load(home=tmp_path, environ={})) as fb:
        _train_linear_learner(fb)
        fb.hosting.create_model(
            {"ModelName": "m", "ExecutionRoleArn": ROLE, "PrimaryContainer": _ll_container()}
        )
        fb.hosting.create_endpoint_config(
            {
                "EndpointConfigName": "c",
                "ProductionVariants": [
                    {"VariantName": "main", "ModelName": "m", "InitialInstanceCount": 1}
                ],
            }
        )
        fb.endpoints.create_endpoint("shown", "c", {})
        deadline = time.monotonic() + 120
        while fb.endpoints.describe_endpoint("shown").status == "Creating":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        for _ in range(3):
            fb.endpoints.invoke("shown", _csv(_rows(2)), content_type="text/csv", accept=None)
    listed = CliRunner().invoke(app, ["--home", str(tmp_path), "endpoints", "ls"])
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if "shown" in line)
    cells = [cell.strip() for cell in row.split("│") if cell.strip()]
    assert cells[:8] == ["shown", "InService", "main", "m", "1", "1", "3", "0"]
    logged = CliRunner().invoke(app, ["--home", str(tmp_path), "logs", "endpoint", "shown"])
    assert logged.exit_code == 0, logged.output
    assert "[main/primary-" in logged.output
    assert "Loaded the linear-learner model" in logged.output


def test_a_container_that_does_not_answer_in_time_is_a_model_error(
    fogbank: Fogbank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """InvokeEndpoint waits 60 s for the container (1 s here), then answers ModelError
    with AWS's wording."""
    from fogbank.ml.hosting import instances

    monkeypatch.setattr(instances, "INVOKE_TIMEOUT_SECONDS", 1.0)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as out:
        source = program_source("slow")
        info = tarfile.TarInfo("code/inference.py")
        info.size = len(source)
        out.addfile(info, io.BytesIO(source))
    fogbank.lake.create_bucket("slow")
    fogbank.lake.write("s3://slow/model.tar.gz", archive.getvalue())
    with (
        transport_client("in-process", fogbank, "sagemaker") as sagemaker,
        transport_client("in-process", fogbank, "sagemaker-runtime") as runtime,
    ):
        described = _endpoint(
            sagemaker,
            "slow",
            {
                "PrimaryContainer": {
                    "Image": SKLEARN_IMAGE,
                    "ModelDataUrl": "s3://slow/model.tar.gz",
                }
            },
        )
        assert described["EndpointStatus"] == "InService", described.get("FailureReason")
        with pytest.raises(runtime.exceptions.ModelError) as caught:
            runtime.invoke_endpoint(EndpointName="slow", Body=b"1", ContentType="text/csv")
    message = caught.value.response["Error"]["Message"]
    assert "timed out while waiting for a response from container primary" in message
    assert fogbank.endpoints.variant_metrics("slow")["AllTraffic"].errors_5xx == 1
