"""SageMaker endpoints and InvokeEndpoint through real boto3: a model a training job
made, served by worker processes, routed by variant."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fogbank import Fogbank
from tests.ml.training.jobs import XGBOOST_IMAGE, csv_rows, xgboost_request

from .conftest import ErrorExpectation, transport_client

pytestmark = pytest.mark.slow
ROLE = "arn:aws:iam::000000000000:role/sagemaker"


@pytest.fixture
def trained(fogbank: Fogbank) -> Fogbank:
    fogbank.lake.create_bucket("data")
    fogbank.lake.write("s3://data/train/part-0.csv", csv_rows(400))
    fogbank.lake.write("s3://data/validation/part-0.csv", csv_rows(100, seed=3))
    fogbank.training.create_training_job(xgboost_request("serve-me"))
    job = fogbank.training.wait("serve-me", 120)
    assert job.status == "Completed", job.failure_reason
    return fogbank


@pytest.fixture(params=["server", "in-process"])
def clients(request: pytest.FixtureRequest, trained: Fogbank) -> Iterator[tuple[Any, Any]]:
    with (
        transport_client(request.param, trained, "sagemaker") as sagemaker,
        transport_client(request.param, trained, "sagemaker-runtime") as runtime,
    ):
        yield sagemaker, runtime


def _deploy(sagemaker: Any, variants: list[dict[str, Any]]) -> None:
    artifacts = "s3://data/output/serve-me/output/model.tar.gz"
    for name in {v["ModelName"] for v in variants}:
        sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": artifacts},
        )
    sagemaker.create_endpoint_config(EndpointConfigName="cfg", ProductionVariants=variants)
    sagemaker.create_endpoint(EndpointName="clicks", EndpointConfigName="cfg")
    sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName="clicks", WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )


def _variant(name: str, weight: float, instances: int = 1) -> dict[str, Any]:
    return {
        "VariantName": name,
        "ModelName": f"model-{name}",
        "InitialInstanceCount": instances,
        "InstanceType": "ml.m5.large",
        "InitialVariantWeight": weight,
    }


def test_an_endpoint_serves_the_trained_model_by_variant(
    clients: tuple[Any, Any], json_error: ErrorExpectation
) -> None:
    sagemaker, runtime = clients
    _deploy(sagemaker, [_variant("blue", 1.0, instances=2), _variant("green", 0.0)])
    described = sagemaker.describe_endpoint(EndpointName="clicks")
    assert described["EndpointStatus"] == "InService"
    assert [
        (v["VariantName"], v["CurrentInstanceCount"]) for v in described["ProductionVariants"]
    ] == [
        ("blue", 2),
        ("green", 1),
    ]
    rows = "1.5,0.2,-0.3,0.0\n-2.0,-1.0,0.5,0.1"
    for _ in range(4):  # weight 0 on green: every request goes to blue
        answer = runtime.invoke_endpoint(EndpointName="clicks", ContentType="text/csv", Body=rows)
        assert answer["InvokedProductionVariant"] == "blue"
        body = answer["Body"].read()
    scores = [float(s) for s in body.decode().replace("\n", ",").split(",") if s]
    assert len(scores) == 2 and scores[0] > 0.5 > scores[1]
    answer = runtime.invoke_endpoint(
        EndpointName="clicks",
        ContentType="text/csv",
        Accept="application/json",
        TargetVariant="green",
        Body=rows,
    )
    assert answer["InvokedProductionVariant"] == "green"
    assert answer["ContentType"].startswith("application/json")
    predictions = json.loads(answer["Body"].read())["predictions"]
    assert [round(p["score"], 4) for p in predictions] == [round(s, 4) for s in scores]
    with json_error("ValidationError", "nope", "not found"):
        runtime.invoke_endpoint(EndpointName="nope", ContentType="text/csv", Body=rows)
    with pytest.raises(runtime.exceptions.ModelError) as caught:
        runtime.invoke_endpoint(EndpointName="clicks", ContentType="image/png", Body=b"x")
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 415
    listed = sagemaker.list_endpoints()["Endpoints"]
    assert [(e["EndpointName"], e["EndpointStatus"]) for e in listed] == [("clicks", "InService")]
    sagemaker.delete_endpoint(EndpointName="clicks")
    with json_error("ValidationException", "Could not find endpoint"):
        sagemaker.describe_endpoint(EndpointName="clicks")


def test_an_endpoint_whose_image_is_not_built_in_is_refused(
    trained: Fogbank,
    clients: tuple[Any, Any],
    json_error: ErrorExpectation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # no docker CLI to find
    sagemaker, _ = clients
    sagemaker.create_model(
        ModelName="byo",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="byo",
        ProductionVariants=[{**_variant("only", 1.0), "ModelName": "byo"}],
    )
    sagemaker.create_endpoint(EndpointName="byo", EndpointConfigName="byo")
    # CreateEndpoint accepts it; the endpoint fails, saying why (no inference code, and no
    # container engine to run the image itself)
    described = _wait_settled(sagemaker, "byo")
    assert described["EndpointStatus"] == "Failed"
    reason = described["FailureReason"]
    assert "not a SageMaker built-in algorithm" in reason
    assert "container engine" in reason and "SAGEMAKER_PROGRAM" in reason
    with json_error("ValidationError", "byo", "Failed"):
        clients[1].invoke_endpoint(EndpointName="byo", Body=b"1", ContentType="text/csv")


def _wait_settled(sagemaker: Any, name: str) -> dict[str, Any]:
    """DescribeEndpoint once the endpoint is no longer Creating or Updating."""
    deadline = time.monotonic() + 120
    while True:
        described: dict[str, Any] = sagemaker.describe_endpoint(EndpointName=name)
        if described["EndpointStatus"] not in ("Creating", "Updating"):
            return described
        assert time.monotonic() < deadline, described
        time.sleep(0.1)


def _wait_in_service(sagemaker: Any) -> dict[str, Any]:
    sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName="clicks", WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    described: dict[str, Any] = sagemaker.describe_endpoint(EndpointName="clicks")
    return described


def test_update_endpoint_weights_and_capacities_moves_traffic_and_scales(
    clients: tuple[Any, Any], json_error: ErrorExpectation
) -> None:
    sagemaker, runtime = clients
    _deploy(sagemaker, [_variant("blue", 1.0), _variant("green", 0.0)])
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName="clicks",
        DesiredWeightsAndCapacities=[
            {"VariantName": "blue", "DesiredWeight": 0.0},
            {"VariantName": "green", "DesiredWeight": 1.0, "DesiredInstanceCount": 2},
        ],
    )
    described = _wait_in_service(sagemaker)
    assert [
        (v["VariantName"], v["CurrentWeight"], v["CurrentInstanceCount"])
        for v in described["ProductionVariants"]
    ] == [("blue", 0.0, 1), ("green", 1.0, 2)]
    for _ in range(3):
        answer = runtime.invoke_endpoint(
            EndpointName="clicks", ContentType="text/csv", Body="1,2,3,4"
        )
        answer["Body"].read()  # an unread body keeps its connection open
        assert answer["InvokedProductionVariant"] == "green"
    with json_error("ValidationException", "not a production variant"):
        sagemaker.update_endpoint_weights_and_capacities(
            EndpointName="clicks",
            DesiredWeightsAndCapacities=[{"VariantName": "red", "DesiredWeight": 1.0}],
        )


def test_update_endpoint_swaps_to_the_new_configuration_blue_green(
    clients: tuple[Any, Any],
) -> None:
    sagemaker, runtime = clients
    _deploy(sagemaker, [_variant("blue", 1.0)])
    sagemaker.create_endpoint_config(
        EndpointConfigName="cfg-2",
        ProductionVariants=[{**_variant("green", 1.0), "ModelName": "model-blue"}],
    )
    sagemaker.update_endpoint(EndpointName="clicks", EndpointConfigName="cfg-2")
    status = sagemaker.describe_endpoint(EndpointName="clicks")["EndpointStatus"]
    assert status in ("Updating", "InService")
    # the old fleet answers while the new one starts
    answer = runtime.invoke_endpoint(EndpointName="clicks", ContentType="text/csv", Body="1,2,3,4")
    answer["Body"].read()
    assert answer["InvokedProductionVariant"] in ("blue", "green")
    described = _wait_in_service(sagemaker)
    assert described["EndpointConfigName"] == "cfg-2"
    assert [v["VariantName"] for v in described["ProductionVariants"]] == ["green"]
    answer = runtime.invoke_endpoint(EndpointName="clicks", ContentType="text/csv", Body="1,2,3,4")
    answer["Body"].read()
    assert answer["InvokedProductionVariant"] == "green"


def test_data_capture_writes_sampled_calls_as_model_monitor_reads_them(
    trained: Fogbank, clients: tuple[Any, Any]
) -> None:
    sagemaker, runtime = clients
    sagemaker.create_model(
        ModelName="captured",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={
            "Image": XGBOOST_IMAGE,
            "ModelDataUrl": "s3://data/output/serve-me/output/model.tar.gz",
        },
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="cfg",
        ProductionVariants=[{**_variant("blue", 1.0), "ModelName": "captured"}],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": "s3://data/capture",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
    )
    sagemaker.create_endpoint(EndpointName="clicks", EndpointConfigName="cfg")
    _wait_in_service(sagemaker)
    # As on AWS, a running endpoint outlives its configuration and model.
    sagemaker.delete_endpoint_config(EndpointConfigName="cfg")
    sagemaker.delete_model(ModelName="captured")
    for accept in ("text/csv", "application/json"):
        answer = runtime.invoke_endpoint(
            EndpointName="clicks", ContentType="text/csv", Accept=accept, Body="1,2,3,4"
        )
        answer["Body"].read()
    keys = sorted(o.key for o in trained.lake.iter_objects("data", "capture/"))
    assert len(keys) == 2
    for key in keys:
        # <dest>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl
        parts = key.split("/")
        assert parts[:3] == ["capture", "clicks", "blue"] and len(parts) == 8
        assert [len(p) for p in parts[3:7]] == [4, 2, 2, 2] and parts[7].endswith(".jsonl")
    lines = [json.loads(trained.lake.read(f"s3://data/{key}")) for key in keys]
    inputs = [line["captureData"]["endpointInput"] for line in lines]
    assert {(i["mode"], i["encoding"], i["data"]) for i in inputs} == {("INPUT", "CSV", "1,2,3,4")}
    outputs = sorted(
        (o["observedContentType"].split(";")[0], o["encoding"], o["mode"])
        for o in (line["captureData"]["endpointOutput"] for line in lines)
    )
    assert outputs == [("application/json", "JSON", "OUTPUT"), ("text/csv", "CSV", "OUTPUT")]
    json_output = next(
        line["captureData"]["endpointOutput"]["data"]
        for line in lines
        if line["captureData"]["endpointOutput"]["encoding"] == "JSON"
    )
    assert "predictions" in json.loads(json_output)
    assert all(line["eventVersion"] == "0" and line["eventMetadata"]["eventId"] for line in lines)
