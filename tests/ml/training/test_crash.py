"""Kill -9 of `fogbank serve`: a training job's hosts and an endpoint's instances die
with it; after a restart the job reads Failed (InternalServerError) rather than
InProgress for ever, and the endpoint, still InService, starts its instances on the
first request."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from fogbank.gateway.server import free_port
from tests.gateway.conftest import boto3_client
from tests.ml.training.jobs import csv_rows, xgboost_request
from tests.streams.test_crash import _serve

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_kill_9_of_the_server_ends_the_hosts_and_fails_the_job(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    server = _serve(home, port)
    url = f"http://127.0.0.1:{port}"
    try:
        s3 = boto3_client("s3", url)
        s3.create_bucket(Bucket="data")
        s3.put_object(Bucket="data", Key="train/part-0.csv", Body=csv_rows(300))
        s3.put_object(Bucket="data", Key="validation/part-0.csv", Body=csv_rows(100, seed=4))
        sagemaker = boto3_client("sagemaker", url)
        request = xgboost_request("crash-job")
        request["HyperParameters"] = {"num_round": "1000000", "objective": "binary:logistic"}
        sagemaker.create_training_job(**request)
        deadline = time.monotonic() + 60
        pids: list[int] = []
        while time.monotonic() < deadline and not pids:
            time.sleep(0.2)
            described = sagemaker.describe_training_job(TrainingJobName="crash-job")
            assert described["TrainingJobStatus"] == "InProgress"
            log = home / "training" / "crash-job" / "algo-1.log"
            if log.exists() and b"[2]" in log.read_bytes():
                pids = [
                    int(p.name)
                    for p in Path("/proc").iterdir()
                    if p.name.isdigit()
                    and b"fogbank.ml.training.container" in _cmdline(p)
                    and str(home).encode() in _cmdline(p)
                ]
        assert pids, "the training host never started"
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids), "a training host outlived the server"
    server = _serve(home, port)
    try:
        described = boto3_client("sagemaker", url).describe_training_job(
            TrainingJobName="crash-job"
        )
        assert described["TrainingJobStatus"] == "Failed"
        assert described["FailureReason"].startswith("InternalServerError")
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def test_kill_9_of_the_server_ends_its_endpoint_instances(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    server = _serve(home, port)
    url = f"http://127.0.0.1:{port}"
    try:
        s3 = boto3_client("s3", url)
        s3.create_bucket(Bucket="data")
        s3.put_object(Bucket="data", Key="train/part-0.csv", Body=csv_rows(300))
        s3.put_object(Bucket="data", Key="validation/part-0.csv", Body=csv_rows(100, seed=4))
        sagemaker = boto3_client("sagemaker", url)
        sagemaker.create_training_job(**xgboost_request("to-serve"))
        sagemaker.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName="to-serve", WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )
        image = xgboost_request("x")["AlgorithmSpecification"]["TrainingImage"]
        sagemaker.create_model(
            ModelName="m",
            ExecutionRoleArn="arn:aws:iam::000000000000:role/r",
            PrimaryContainer={
                "Image": image,
                "ModelDataUrl": "s3://data/output/to-serve/output/model.tar.gz",
            },
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName="c",
            ProductionVariants=[
                {
                    "VariantName": "v",
                    "ModelName": "m",
                    "InitialInstanceCount": 2,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        sagemaker.create_endpoint(EndpointName="e", EndpointConfigName="c")
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName="e", WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )
        pids = [
            int(p.name)
            for p in Path("/proc").iterdir()
            if p.name.isdigit()
            and b"fogbank.ml.hosting.serve" in _cmdline(p)
            and str(home).encode() in _cmdline(p)
        ]
        assert len(pids) == 2
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in pids), "an endpoint instance outlived the server"
    # After a restart the endpoint is still InService; its instances start on demand.
    server = _serve(home, port)
    try:
        runtime = boto3_client("sagemaker-runtime", url)
        answer = runtime.invoke_endpoint(EndpointName="e", ContentType="text/csv", Body="1,2,3,4")
        assert answer["InvokedProductionVariant"] == "v"
        assert 0.0 <= float(answer["Body"].read()) <= 1.0
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
