"""Endpoints' instances as processes: a killed instance is restarted and its request
retried, an endpoint serves again after fogbank restarts, and a killed `fogbank serve`
takes its instances with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from fogbank import Fogbank, FogbankConfig
from fogbank.gateway.server import free_port
from tests.ml.training.jobs import ROLE, XGBOOST_IMAGE, csv_rows, xgboost_request

pytestmark = pytest.mark.slow
ARTIFACTS = "s3://data/output/serve-me/output/model.tar.gz"
ROWS = b"1.5,0.2,-0.3,0.0\n-2.0,-1.0,0.5,0.1"


def _train(fb: Fogbank) -> None:
    fb.lake.create_bucket("data")
    fb.lake.write("s3://data/train/part-0.csv", csv_rows(300))
    fb.lake.write("s3://data/validation/part-0.csv", csv_rows(100, seed=3))
    fb.training.create_training_job(xgboost_request("serve-me"))
    assert fb.training.wait("serve-me", 120).status == "Completed"


def _deploy(fb: Fogbank, name: str, instances: int = 1) -> None:
    fb.hosting.create_model(
        {
            "ModelName": name,
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {"Image": XGBOOST_IMAGE, "ModelDataUrl": ARTIFACTS},
        }
    )
    fb.hosting.create_endpoint_config(
        {
            "EndpointConfigName": name,
            "ProductionVariants": [
                {"VariantName": "v", "ModelName": name, "InitialInstanceCount": instances}
            ],
        }
    )
    fb.endpoints.create_endpoint(name, name, {})
    _wait_in_service(fb, name)


def _wait_in_service(fb: Fogbank, name: str) -> None:
    deadline = time.monotonic() + 120
    while (status := fb.endpoints.describe_endpoint(name).status) == "Creating":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status == "InService", fb.endpoints.describe_endpoint(name).failure_reason


def _invoke(fb: Fogbank, name: str) -> list[float]:
    answer = fb.endpoints.invoke(name, ROWS, content_type="text/csv", accept="text/csv")
    return [float(v) for v in answer.body.decode().split(",")]


def _dead(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


@pytest.fixture
def fogbank(tmp_path: Path) -> Iterator[Fogbank]:
    with Fogbank(FogbankConfig.load(home=tmp_path, environ={})) as made:
        yield made


def test_a_killed_instance_is_restarted_and_its_request_retried(fogbank: Fogbank) -> None:
    _train(fogbank)
    _deploy(fogbank, "kill-me", instances=2)
    expected = _invoke(fogbank, "kill-me")
    before = fogbank.endpoints.worker_pids("kill-me")["v"]
    assert len(before) == 2
    for instance in before:
        os.kill(instance[0], signal.SIGKILL)
    for pids in before:
        deadline = time.monotonic() + 10
        while not _dead(pids[0]):
            assert time.monotonic() < deadline
            time.sleep(0.02)

    for _ in range(4):  # every request answered, by restarted instances
        assert _invoke(fogbank, "kill-me") == expected
    # the instance a request found dead was restarted for it; the other one is
    # restarted in the background
    old = {p for i in before for p in i}
    deadline = time.monotonic() + 60
    while {p for i in fogbank.endpoints.worker_pids("kill-me")["v"] for p in i} & old:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert len(fogbank.endpoints.worker_pids("kill-me")["v"]) == 2
    assert _invoke(fogbank, "kill-me") == expected


def test_an_endpoint_serves_again_after_fogbank_restarts(tmp_path: Path) -> None:
    config = FogbankConfig.load(home=tmp_path, environ={})
    with Fogbank(config) as first:
        _train(first)
        _deploy(first, "durable")
        expected = _invoke(first, "durable")
    with Fogbank(config) as second:  # its instances stopped with the first fogbank
        assert second.endpoints.describe_endpoint("durable").status == "InService"
        assert second.endpoints.worker_pids("durable") == {}
        assert _invoke(second, "durable") == expected
        assert len(second.endpoints.worker_pids("durable")["v"]) == 1


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_instances_end_when_fogbank_serve_is_killed(tmp_path: Path) -> None:
    config = FogbankConfig.load(home=tmp_path, environ={})
    with Fogbank(config) as fb:
        _train(fb)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fogbank.cli",
            "--home",
            str(tmp_path),
            "serve",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = boto3.client(
            "sagemaker",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}),
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                client.list_endpoints()
                break
            except Exception:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.1)
        client.create_model(
            ModelName="m",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": ARTIFACTS},
        )
        client.create_endpoint_config(
            EndpointConfigName="m",
            ProductionVariants=[{"VariantName": "v", "ModelName": "m", "InitialInstanceCount": 2}],
        )
        client.create_endpoint(EndpointName="m", EndpointConfigName="m")
        client.get_waiter("endpoint_in_service").wait(
            EndpointName="m", WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )
        client.close()
        workers = _children(server.pid)
        assert len(workers) >= 2
        server.kill()
        server.wait()
        deadline = time.monotonic() + 15
        while not all(_dead(pid) for pid in workers):
            assert time.monotonic() < deadline, [p for p in workers if not _dead(p)]
            time.sleep(0.1)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
