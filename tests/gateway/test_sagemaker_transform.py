"""SageMaker batch transform through real boto3: CreateTransformJob, DescribeTransformJob,
ListTransformJobs and StopTransformJob over a model a training job made."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fogbank import Fogbank
from fogbank.ml.hosting.transform import KIND, TransformJob
from tests.ml.training.jobs import ROLE, XGBOOST_IMAGE, csv_rows, xgboost_request

from .conftest import ErrorExpectation, transport_client

pytestmark = pytest.mark.slow
ARTIFACTS = "s3://data/output/score-me/output/model.tar.gz"


@pytest.fixture
def trained(fogbank: Fogbank) -> Fogbank:
    fogbank.lake.create_bucket("data")
    fogbank.lake.write("s3://data/train/part-0.csv", csv_rows(400))
    fogbank.lake.write("s3://data/validation/part-0.csv", csv_rows(100, seed=3))
    fogbank.training.create_training_job(xgboost_request("score-me"))
    job = fogbank.training.wait("score-me", 120)
    assert job.status == "Completed", job.failure_reason
    fogbank.hosting.create_model(
        {
            "ModelName": "scorer",
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {"Image": XGBOOST_IMAGE, "ModelDataUrl": ARTIFACTS},
        }
    )
    return fogbank


@pytest.fixture(params=["server", "in-process"])
def sagemaker(request: pytest.FixtureRequest, trained: Fogbank) -> Iterator[Any]:
    with transport_client(request.param, trained, "sagemaker") as client:
        yield client


def _features(labelled: bytes) -> bytes:
    """Label-first CSV without its label column."""
    lines = labelled.decode().splitlines()
    return "".join(line.split(",", 1)[1] + "\n" for line in lines).encode()


def _request(name: str, source: str, output: str, **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TransformJobName": name,
        "ModelName": "scorer",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": output, "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    request.update(overrides)
    return request


def _wait(sagemaker: Any, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        described: dict[str, Any] = sagemaker.describe_transform_job(TransformJobName=name)
        if described["TransformJobStatus"] not in ("InProgress", "Stopping"):
            return described
        assert time.monotonic() < deadline, described
        time.sleep(0.1)


def _lines(fb: Fogbank, location: str) -> list[str]:
    return fb.lake.read(location).decode().splitlines()


def test_one_output_object_per_input_object_records_in_order(
    trained: Fogbank, sagemaker: Any
) -> None:
    trained.lake.write("s3://data/batch/a.csv", _features(csv_rows(300, seed=11)))
    trained.lake.write("s3://data/batch/more/b.csv", _features(csv_rows(5, seed=12)))
    for name, strategy in (("multi", "MultiRecord"), ("single", "SingleRecord")):
        sagemaker.create_transform_job(
            **_request(
                name,
                "s3://data/batch",
                f"s3://data/scored/{name}",
                BatchStrategy=strategy,
                MaxPayloadInMB=1,
                Tags=[{"Key": "team", "Value": "ml"}],
            )
        )
    multi, single = _wait(sagemaker, "multi"), _wait(sagemaker, "single")
    assert multi["TransformJobStatus"] == "Completed", multi.get("FailureReason")
    assert single["TransformJobStatus"] == "Completed", single.get("FailureReason")
    assert multi["BatchStrategy"] == "MultiRecord"
    assert multi["TransformInput"]["SplitType"] == "Line"
    assert multi["TransformStartTime"] <= multi["TransformEndTime"]
    arn = multi["TransformJobArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:000000000000:transform-job/multi"
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]

    # <output>/<key relative to the input prefix>.out, one score a line, in input order
    multi_a = _lines(trained, "s3://data/scored/multi/a.csv.out")
    assert len(multi_a) == 300
    assert all(0.0 <= float(v) <= 1.0 for v in multi_a)
    assert len(_lines(trained, "s3://data/scored/multi/more/b.csv.out")) == 5
    # SingleRecord sends one row a request: the same scores, in the same order
    assert _lines(trained, "s3://data/scored/single/a.csv.out") == multi_a


def test_transform_ls_and_wait_show_the_job(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fogbank import FogbankConfig
    from fogbank.cli import app

    with Fogbank(FogbankConfig.load(home=tmp_path, environ={})) as fb:
        fb.lake.create_bucket("data")
        fb.lake.write("s3://data/train/part-0.csv", csv_rows(300))
        fb.lake.write("s3://data/validation/part-0.csv", csv_rows(100, seed=3))
        fb.training.create_training_job(xgboost_request("score-me"))
        assert fb.training.wait("score-me", 120).status == "Completed"
        fb.hosting.create_model(
            {
                "ModelName": "scorer",
                "ExecutionRoleArn": ROLE,
                "PrimaryContainer": {"Image": XGBOOST_IMAGE, "ModelDataUrl": ARTIFACTS},
            }
        )
        for index in range(3):
            fb.lake.write(f"s3://data/in/{index}.csv", _features(csv_rows(5, seed=index)))
        fb.transforms.create_transform_job(_request("shown", "s3://data/in/", "s3://data/o"))
        assert fb.transforms.wait("shown", 60).status == "Completed"
    runner = CliRunner()
    waited = runner.invoke(app, ["--home", str(tmp_path), "transform", "wait", "shown"])
    assert waited.exit_code == 0, waited.output
    assert "shown Completed" in waited.output
    listed = runner.invoke(app, ["--home", str(tmp_path), "transform", "ls"])
    row = next(line for line in listed.output.splitlines() if "shown" in line)
    assert "Completed" in row and "3/3" in row
    missing = runner.invoke(app, ["--home", str(tmp_path), "transform", "wait", "nope"])
    assert missing.exit_code == 1


def test_data_processing_joins_the_label_to_its_score(trained: Fogbank, sagemaker: Any) -> None:
    labelled = csv_rows(200, seed=21)
    trained.lake.write("s3://data/test/part-0.csv", labelled)
    sagemaker.create_transform_job(
        **_request(
            "joined",
            "s3://data/test/",
            "s3://data/joined",
            BatchStrategy="MultiRecord",
            TransformOutput={
                "S3OutputPath": "s3://data/joined",
                "Accept": "text/csv",
                "AssembleWith": "Line",
            },
            DataProcessing={
                "InputFilter": "$[1:]",
                "JoinSource": "Input",
                "OutputFilter": "$[0,-1]",
            },
        )
    )
    described = _wait(sagemaker, "joined")
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert described["DataProcessing"]["OutputFilter"] == "$[0,-1]"
    joined = [line.split(",") for line in _lines(trained, "s3://data/joined/part-0.csv.out")]
    labels = [line.split(",", 1)[0] for line in labelled.decode().splitlines()]
    assert [row[0] for row in joined] == labels
    assert all(len(row) == 2 and 0.0 <= float(row[1]) <= 1.0 for row in joined)
    # the model separates the two classes: positives score higher on average
    positives = [float(r[1]) for r in joined if r[0] == "1"]
    negatives = [float(r[1]) for r in joined if r[0] == "0"]
    assert sum(positives) / len(positives) > sum(negatives) / len(negatives) + 0.3


def test_gzip_input_is_read_and_a_bad_record_fails_the_job_naming_it(
    trained: Fogbank, sagemaker: Any
) -> None:
    rows = _features(csv_rows(20, seed=31))
    trained.lake.write("s3://data/zipped/rows.csv.gz", gzip.compress(rows))
    sagemaker.create_transform_job(
        **_request(
            "zipped",
            "s3://data/zipped/",
            "s3://data/unzipped",
            TransformInput={
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/zipped/"}
                },
                "ContentType": "text/csv",
                "SplitType": "Line",
                "CompressionType": "Gzip",
            },
        )
    )
    described = _wait(sagemaker, "zipped")
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert len(_lines(trained, "s3://data/unzipped/rows.csv.gz.out")) == 20

    broken = rows.decode().splitlines()
    broken[6] = "1.0,not-a-number,2.0,3.0"
    trained.lake.write("s3://data/broken/rows.csv", ("\n".join(broken) + "\n").encode())
    sagemaker.create_transform_job(
        **_request("broken", "s3://data/broken/", "s3://data/never", BatchStrategy="SingleRecord")
    )
    described = _wait(sagemaker, "broken")
    assert described["TransformJobStatus"] == "Failed"
    reason = described["FailureReason"]
    assert reason.startswith("ClientError:")
    assert "s3://data/broken/rows.csv" in reason and "7" in reason
    assert not list(trained.lake.iter_objects("data", "never/"))


def test_create_transform_job_refuses_what_aws_refuses(
    trained: Fogbank, sagemaker: Any, json_error: ErrorExpectation
) -> None:
    trained.lake.write("s3://data/in/x.csv", _features(csv_rows(3)))
    with json_error("ValidationException", "Could not find model"):
        sagemaker.create_transform_job(
            **_request("m", "s3://data/in/", "s3://data/o", ModelName="missing")
        )
    with json_error("ValidationException", "No S3 objects found under S3 URL", "s3://data/none/"):
        sagemaker.create_transform_job(**_request("n", "s3://data/none/", "s3://data/o"))
    with json_error("ValidationException", "MaxConcurrentTransforms", "100"):
        sagemaker.create_transform_job(
            **_request(
                "p", "s3://data/in/", "s3://data/o", MaxConcurrentTransforms=4, MaxPayloadInMB=50
            )
        )
    with json_error("ValidationException", "InputFilter"):
        sagemaker.create_transform_job(
            **_request("f", "s3://data/in/", "s3://data/o", DataProcessing={"InputFilter": "$[1"})
        )
    sagemaker.create_transform_job(**_request("twice", "s3://data/in/", "s3://data/o"))
    with json_error("ResourceInUse", "already exists"):
        sagemaker.create_transform_job(**_request("twice", "s3://data/in/", "s3://data/o"))
    assert _wait(sagemaker, "twice")["TransformJobStatus"] == "Completed"
    with json_error("ValidationException", "Could not find"):
        sagemaker.describe_transform_job(TransformJobName="nope")
    with json_error("ValidationException", "Completed", "InProgress"):
        sagemaker.stop_transform_job(TransformJobName="twice")


def test_list_and_stop_transform_jobs(trained: Fogbank, sagemaker: Any) -> None:
    for index in range(30):
        trained.lake.write(f"s3://data/many/{index:02d}.csv", _features(csv_rows(50, seed=index)))
    sagemaker.create_transform_job(
        **_request("stopped", "s3://data/many/", "s3://data/partial", BatchStrategy="SingleRecord")
    )
    sagemaker.stop_transform_job(TransformJobName="stopped")
    assert sagemaker.describe_transform_job(TransformJobName="stopped")["TransformJobStatus"] in (
        "Stopping",
        "Stopped",
    )
    assert _wait(sagemaker, "stopped")["TransformJobStatus"] == "Stopped"
    trained.lake.write("s3://data/few/x.csv", _features(csv_rows(3)))
    sagemaker.create_transform_job(**_request("done", "s3://data/few/", "s3://data/o"))
    _wait(sagemaker, "done")

    listed = sagemaker.list_transform_jobs()["TransformJobSummaries"]
    assert [(j["TransformJobName"], j["TransformJobStatus"]) for j in listed] == [
        ("done", "Completed"),
        ("stopped", "Stopped"),
    ]
    first = sagemaker.list_transform_jobs(MaxResults=1, SortOrder="Ascending")
    assert [j["TransformJobName"] for j in first["TransformJobSummaries"]] == ["stopped"]
    rest = sagemaker.list_transform_jobs(
        MaxResults=1, SortOrder="Ascending", NextToken=first["NextToken"]
    )
    assert [j["TransformJobName"] for j in rest["TransformJobSummaries"]] == ["done"]
    assert "NextToken" not in rest
    completed = sagemaker.list_transform_jobs(StatusEquals="Completed", NameContains="on")
    assert [j["TransformJobName"] for j in completed["TransformJobSummaries"]] == ["done"]


def test_a_job_whose_fogbank_died_reads_failed(trained: Fogbank) -> None:
    """A job left InProgress by a fogbank that was killed is Failed, not running for ever."""
    trained.lake.write("s3://data/in/x.csv", _features(csv_rows(3)))
    job = trained.transforms.create_transform_job(
        _request("orphan", "s3://data/in/", "s3://data/o")
    )
    trained.transforms.wait("orphan", 60)
    record = TransformJob.from_body(trained.store.get_resource("sagemaker", KIND, "orphan").body)
    dead = TransformJob(**{**record.__dict__, "status": "InProgress", "owner": "999999999:1"})
    trained.store.put_resource("sagemaker", KIND, "orphan", job.arn, dead.to_body())
    described = trained.transforms.describe_transform_job("orphan")
    assert described.status == "Failed"
    assert described.failure_reason is not None
    assert described.failure_reason.startswith("InternalServerError")


def test_instances_log_to_cloudwatch_logs(trained: Fogbank) -> None:
    """Transform and endpoint instances' output, as DescribeLogStreams / GetLogEvents
    serve it from /aws/sagemaker/TransformJobs and /aws/sagemaker/Endpoints/<name>."""
    trained.lake.write("s3://data/in/x.csv", _features(csv_rows(3)))
    trained.transforms.create_transform_job(_request("logged", "s3://data/in/", "s3://data/o"))
    assert trained.transforms.wait("logged", 60).status == "Completed"
    trained.hosting.create_endpoint_config(
        {
            "EndpointConfigName": "logged",
            "ProductionVariants": [
                {"VariantName": "AllTraffic", "ModelName": "scorer", "InitialInstanceCount": 1}
            ],
        }
    )
    trained.endpoints.create_endpoint("logged", "logged", {})
    deadline = time.monotonic() + 60
    while trained.endpoints.describe_endpoint("logged").status == "Creating":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    with transport_client("in-process", trained, "logs") as logs:
        streams = logs.describe_log_streams(
            logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix="logged/"
        )["logStreams"]
        assert [s["logStreamName"].split("-")[0] for s in streams] == ["logged/primary"]
        lines = logs.get_log_events(
            logGroupName="/aws/sagemaker/TransformJobs",
            logStreamName=streams[0]["logStreamName"],
            startFromHead=True,
        )["events"]
        assert any("Loaded the xgboost model" in e["message"] for e in lines)

        group = "/aws/sagemaker/Endpoints/logged"
        deadline = time.monotonic() + 30
        while True:  # the instance logs its start before it answers /ping
            streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
            names = [s["logStreamName"] for s in streams]
            events = logs.get_log_events(
                logGroupName=group, logStreamName=names[0], startFromHead=True
            )["events"]
            if any("Loaded the xgboost model" in e["message"] for e in events):
                break
            assert time.monotonic() < deadline, events
            time.sleep(0.2)
        assert names[0].startswith("AllTraffic/primary-")
        with pytest.raises(logs.exceptions.ResourceNotFoundException):
            logs.describe_log_streams(logGroupName="/aws/sagemaker/Endpoints/nope")
