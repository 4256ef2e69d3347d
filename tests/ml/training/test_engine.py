"""Training jobs through the engine: lifecycle, container layout, artifacts, stop, errors."""

from __future__ import annotations

import io
import json
import os
import tarfile
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fogbank import Fogbank
from fogbank.core.errors import ResourceInUse, ValidationException
from fogbank.ml.training import model as states
from fogbank.ml.training.engine import KIND, SERVICE
from fogbank.ml.training.model import TrainingJob
from tests.ml.training.jobs import channel, xgboost_request

pytestmark = pytest.mark.slow


def test_create_training_job_runs_xgboost_to_completed_with_metrics_and_model(
    data: Fogbank,
) -> None:
    created = data.training.create_training_job(xgboost_request("xgb-ok"))
    assert created.status == "InProgress" and created.secondary_status == "Starting"
    job = data.training.wait("xgb-ok", 120)
    assert job.status == "Completed", job.failure_reason
    assert [t.status for t in job.transitions] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert all(t.end is not None for t in job.transitions)
    assert job.training_seconds is not None and job.training_seconds >= 1
    assert job.training_start_time is not None and job.training_end_time is not None
    names = {m.name for m in job.final_metrics}
    assert "validation:logloss" in names or "validation:error" in names, names
    assert job.model_artifacts == "s3://data/output/xgb-ok/output/model.tar.gz"
    with tarfile.open(fileobj=io.BytesIO(data.lake.read(job.model_artifacts))) as archive:
        assert "xgboost-model" in archive.getnames()


def test_training_job_sees_the_sagemaker_container_layout(data: Fogbank) -> None:
    data.training.create_training_job(xgboost_request("xgb-layout"))
    job = data.training.wait("xgb-layout", 120)
    assert job.status == "Completed", job.failure_reason
    root = data.config.home / "training" / "xgb-layout" / "algo-1"
    config = root / "input" / "config"
    assert json.loads((config / "hyperparameters.json").read_text()) == {
        "num_round": "5",
        "objective": "binary:logistic",
        "max_depth": "3",
    }
    assert json.loads((config / "inputdataconfig.json").read_text())["train"] == {
        "ContentType": "text/csv",
        "TrainingInputMode": "File",
        "S3DistributionType": "FullyReplicated",
        "RecordWrapperType": "None",
    }
    resources = json.loads((config / "resourceconfig.json").read_text())
    assert resources["current_host"] == "algo-1" and resources["hosts"] == ["algo-1"]
    assert sorted(p.name for p in (root / "input" / "data" / "train").iterdir()) == [
        "part-0.csv",
        "part-1.csv",
    ]
    assert (root / "model" / "xgboost-model").exists()


def test_sharded_by_s3_key_splits_the_objects_between_hosts(data: Fogbank) -> None:
    request = xgboost_request(
        "xgb-two",
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 5},
        InputDataConfig=[
            channel("train", "s3://data/train/", S3DataDistributionType="ShardedByS3Key"),
            channel("validation", "s3://data/validation/"),
        ],
    )
    data.training.create_training_job(request)
    job = data.training.wait("xgb-two", 180)
    assert job.status == "Completed", job.failure_reason
    folder = data.config.home / "training" / "xgb-two"
    seen = {}
    for host in ("algo-1", "algo-2"):
        config = json.loads(
            (folder / host / "input" / "config" / "resourceconfig.json").read_text()
        )
        assert config == {
            "current_host": host,
            "hosts": ["algo-1", "algo-2"],
            "network_interface_name": "eth0",
        }
        seen[host] = sorted(p.name for p in (folder / host / "input" / "data" / "train").iterdir())
        assert (folder / host / "input" / "data" / "validation" / "part-0.csv").exists()
    assert seen == {"algo-1": ["part-0.csv"], "algo-2": ["part-1.csv"]}
    assert [p.name for p in data.training.log_paths("xgb-two")] == ["algo-1.log", "algo-2.log"]


def test_pipe_mode_streams_each_pass_through_a_fifo(data: Fogbank) -> None:
    request = xgboost_request("xgb-pipe")
    request["AlgorithmSpecification"]["TrainingInputMode"] = "Pipe"
    data.training.create_training_job(request)
    job = data.training.wait("xgb-pipe", 120)
    assert job.status == "Completed", job.failure_reason
    data_dir = data.config.home / "training" / "xgb-pipe" / "algo-1" / "input" / "data"
    assert (data_dir / "train_0").exists() and not (data_dir / "train").exists()


def test_a_bad_hyperparameter_is_refused_at_create_naming_it(data: Fogbank) -> None:
    request = xgboost_request("xgb-bad")
    request["HyperParameters"] = {"num_round": "5", "eta": "3"}
    with pytest.raises(ValidationException, match="eta"):
        data.training.create_training_job(request)
    with pytest.raises(ValidationException, match="Requested resource not found"):
        data.training.describe_training_job("xgb-bad")


def test_an_image_that_is_no_built_in_algorithm_is_refused(data: Fogbank) -> None:
    request = xgboost_request("byo")
    request["AlgorithmSpecification"]["TrainingImage"] = (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-own:latest"
    )
    with pytest.raises(ValidationException, match="built-in"):
        data.training.create_training_job(request)


def test_a_training_job_name_is_taken_once(data: Fogbank) -> None:
    data.training.create_training_job(xgboost_request("xgb-twice"))
    with pytest.raises(ResourceInUse, match="already exists"):
        data.training.create_training_job(xgboost_request("xgb-twice"))
    data.training.wait("xgb-twice", 120)


def test_a_channel_with_no_objects_fails_the_job_with_a_client_error(data: Fogbank) -> None:
    request = xgboost_request("xgb-empty", InputDataConfig=[channel("train", "s3://data/nothing/")])
    data.training.create_training_job(request)
    job = data.training.wait("xgb-empty", 60)
    assert job.status == "Failed"
    assert job.failure_reason is not None
    assert job.failure_reason.startswith("ClientError: No S3 objects found under S3 URL")
    assert job.secondary_status == "Failed"


def test_bad_data_fails_the_job_with_the_algorithms_reason(data: Fogbank) -> None:
    data.lake.write("s3://data/broken/part.csv", b"1,2,3\n0,x,4\n")
    request = xgboost_request("xgb-broken", InputDataConfig=[channel("train", "s3://data/broken/")])
    data.training.create_training_job(request)
    job = data.training.wait("xgb-broken", 120)
    assert job.status == "Failed"
    assert job.failure_reason is not None and job.failure_reason.startswith("ClientError")
    assert len(job.failure_reason) <= 1024


def _long_request(name: str, **overrides: object) -> dict[str, object]:
    request = xgboost_request(name, **overrides)
    request["HyperParameters"] = {"num_round": "1000000", "objective": "binary:logistic"}
    return request


def test_stop_training_job_terminates_the_hosts_and_ends_stopped(data: Fogbank) -> None:
    data.training.create_training_job(_long_request("xgb-stop"))
    for _ in range(600):
        if data.training.describe_training_job("xgb-stop").secondary_status == "Training":
            break
        data.training.wait("xgb-stop", 0.05)
    data.training.stop_training_job("xgb-stop")
    assert data.training.describe_training_job("xgb-stop").status in ("Stopping", "Stopped")
    job = data.training.wait("xgb-stop", 60)
    assert job.status == "Stopped" and job.secondary_status == "Stopped"
    assert "Stopping" in [t.status for t in job.transitions]
    for pid in job.extra["pids"]:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(ValidationException, match="Stopped"):
        data.training.stop_training_job("xgb-stop")


def test_max_runtime_stops_the_job_as_max_runtime_exceeded(data: Fogbank) -> None:
    data.training.create_training_job(
        _long_request("xgb-slow", StoppingCondition={"MaxRuntimeInSeconds": 2})
    )
    job = data.training.wait("xgb-slow", 60)
    assert job.status == "Stopped"
    assert job.secondary_status == "MaxRuntimeExceeded"


def test_a_job_whose_fogbank_process_died_is_reported_failed(data: Fogbank) -> None:
    created = data.training.create_training_job(xgboost_request("xgb-orphan"))
    data.training.wait("xgb-orphan", 120)
    orphan = replace(created, name="xgb-orphan-2", owner="999999999:1", status="InProgress")
    data.store.put_resource(
        SERVICE, KIND, orphan.name, orphan.arn, orphan.to_body(), state="InProgress"
    )
    job = data.training.describe_training_job("xgb-orphan-2")
    assert job.status == "Failed"
    assert job.failure_reason is not None and "InternalServerError" in job.failure_reason


def _record(fogbank: Fogbank, name: str, minutes: int, status: str) -> None:
    """A finished job's record, written directly: listing needs no real runs."""
    base = fogbank.training.arn(name)
    start = fogbank.clock.now() - timedelta(minutes=minutes)
    job = TrainingJob(name, base, "xgboost", {}, start, status=status, last_modified_time=start)
    fogbank.store.put_resource(SERVICE, KIND, name, base, job.to_body(), state=status)


def test_list_training_jobs_filters_and_sorts(fogbank: Fogbank) -> None:
    _record(fogbank, "alpha", 30, states.COMPLETED)
    _record(fogbank, "beta", 20, states.FAILED)
    _record(fogbank, "gamma-alpha", 10, states.COMPLETED)
    names = lambda page: [j.name for j in page.jobs]  # noqa: E731
    assert names(fogbank.training.list_training_jobs()) == ["alpha", "beta", "gamma-alpha"]
    assert names(fogbank.training.list_training_jobs(sort_order="Descending")) == [
        "gamma-alpha",
        "beta",
        "alpha",
    ]
    assert names(fogbank.training.list_training_jobs(name_contains="ALPHA")) == [
        "alpha",
        "gamma-alpha",
    ]
    assert names(fogbank.training.list_training_jobs(status_equals="Failed")) == ["beta"]
    after = fogbank.clock.now() - timedelta(minutes=15)
    assert names(fogbank.training.list_training_jobs(creation_time_after=after)) == ["gamma-alpha"]
    assert names(fogbank.training.list_training_jobs(sort_by="Status")) == [
        "alpha",
        "gamma-alpha",
        "beta",
    ]
    with pytest.raises(ValidationException, match="NextToken"):
        fogbank.training.list_training_jobs(next_token="not-a-token")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(count=st.integers(0, 12), page_size=st.integers(1, 5))
def test_list_training_jobs_pages_return_every_job_once(
    fogbank: Fogbank, count: int, page_size: int
) -> None:
    fogbank.store.reset()
    for i in range(count):
        _record(fogbank, f"job-{i:02d}", 100 - i, states.COMPLETED)
    seen: list[str] = []
    token = None
    while True:
        page = fogbank.training.list_training_jobs(max_results=page_size, next_token=token)
        assert len(page.jobs) <= page_size
        seen.extend(j.name for j in page.jobs)
        token = page.next_token
        if token is None:
            break
    assert seen == [f"job-{i:02d}" for i in range(count)]


def test_checkpoints_under_s3_uri_are_in_the_containers_checkpoints_folder(
    data: Fogbank,
) -> None:
    data.lake.write("s3://data/ckpt/job/state.bin", b"epoch-3")
    request = xgboost_request(
        "xgb-ckpt",
        CheckpointConfig={"S3Uri": "s3://data/ckpt/job", "LocalPath": "/opt/ml/checkpoints"},
    )
    data.training.create_training_job(request)
    job = data.training.wait("xgb-ckpt", 120)
    assert job.status == "Completed", job.failure_reason
    root = data.config.home / "training" / "xgb-ckpt" / "algo-1"
    assert (root / "checkpoints" / "state.bin").read_bytes() == b"epoch-3"
    assert data.lake.read("s3://data/ckpt/job/state.bin") == b"epoch-3"
