"""Kill -9 of `fogbank serve` during a training job: the hosts die with it, and after a
restart the job reads Failed (InternalServerError) rather than InProgress for ever."""

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
