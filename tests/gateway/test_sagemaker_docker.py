"""An endpoint whose image is neither a built-in algorithm nor user code runs the image
itself under Docker, through real boto3.

No Docker engine is on this machine, so the `docker` CLI is stood in for by a script on
PATH that does what `docker run` would for this test's image: it serves SageMaker's
container contract on the published port, from the mounted model folder, with the
container's environment, and records every command it is given. What is checked is
fogbank's side of the contract: `docker version` asked first, `docker run --rm --name ...
--publish 127.0.0.1:<port>:8080 --volume <model>:/opt/ml/model:ro --env ... <image> serve`,
requests routed to the published port, and `docker rm --force` when the endpoint goes.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fogbank import Fogbank

from .conftest import transport_client

pytestmark = pytest.mark.slow
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-server:1"
ROLE = "arn:aws:iam::000000000000:role/sagemaker"

FAKE_DOCKER = '''#!{python}
"""A stand-in for the docker CLI: `version`, `rm`, and `run ... <image> serve`."""
import http.server
import json
import os
import sys

args = sys.argv[1:]
with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if args[0] == "version":
    print("27.0.0")
    sys.exit(0)
if args[0] == "rm":
    sys.exit(0)
assert args[0] == "run", args
env, port, model, i = {{}}, None, None, 1
while args[i].startswith("--"):
    if args[i] == "--rm":
        i += 1
        continue
    flag, value = args[i], args[i + 1]
    i += 2
    if flag == "--publish":
        host, port, inner = value.split(":")
        assert (host, inner) == ("127.0.0.1", "8080"), value
    elif flag == "--volume":
        model, target, mode = value.split(":")
        assert (target, mode) == ("/opt/ml/model", "ro"), value
    elif flag == "--env":
        key, _, val = value.partition("=")
        env[key] = val
image, command = args[i], args[i + 1 :]
assert command == ["serve"], command


class Contract(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/ping" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = json.dumps({{
            "image": image,
            "greeting": env.get("GREETING"),
            "files": sorted(os.listdir(model)),
            "body": body.decode(),
            "content_type": self.headers["Content-Type"],
        }}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


http.server.HTTPServer(("127.0.0.1", int(port)), Contract).serve_forever()
'''


@pytest.fixture
def docker_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in docker CLI first on PATH; the file its commands are recorded in."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER.format(python=sys.executable))
    docker.chmod(0o755)
    log = tmp_path / "docker.log"
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))
    return log


@pytest.fixture
def clients(fogbank: Fogbank) -> Iterator[tuple[Any, Any]]:
    with (
        transport_client("in-process", fogbank, "sagemaker") as sagemaker,
        transport_client("in-process", fogbank, "sagemaker-runtime") as runtime,
    ):
        yield sagemaker, runtime


def _model_tar() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        data = b"0.5 0.25\n"
        info = tarfile.TarInfo("weights.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_an_image_runs_under_docker_with_the_container_contract(
    fogbank: Fogbank, clients: tuple[Any, Any], docker_log: Path
) -> None:
    sagemaker, runtime = clients
    fogbank.lake.create_bucket("models")
    fogbank.lake.write("s3://models/mine/model.tar.gz", _model_tar())
    sagemaker.create_model(
        ModelName="mine",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={
            "Image": IMAGE,
            "ModelDataUrl": "s3://models/mine/model.tar.gz",
            "Environment": {"GREETING": "hello"},
        },
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="mine",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "mine", "InitialInstanceCount": 1}
        ],
    )
    sagemaker.create_endpoint(EndpointName="mine", EndpointConfigName="mine")
    deadline = time.monotonic() + 60
    while (status := sagemaker.describe_endpoint(EndpointName="mine"))[
        "EndpointStatus"
    ] == "Creating":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status["EndpointStatus"] == "InService", status.get("FailureReason")

    answer = runtime.invoke_endpoint(
        EndpointName="mine", Body=b"1,2,3", ContentType="text/csv", Accept="application/json"
    )
    served = json.loads(answer["Body"].read())
    assert served == {
        "image": IMAGE,
        "greeting": "hello",
        "files": ["weights.txt"],
        "body": "1,2,3",
        "content_type": "text/csv",
    }

    sagemaker.delete_endpoint(EndpointName="mine")
    commands = [json.loads(line) for line in docker_log.read_text().splitlines()]
    assert commands[0] == ["version", "--format", "{{.Server.Version}}"]
    run = next(c for c in commands if c[0] == "run")
    name = run[run.index("--name") + 1]
    assert run[-2:] == [IMAGE, "serve"]
    assert "GREETING=hello" in run
    assert commands[-1] == ["rm", "--force", name]


def test_without_a_docker_engine_the_endpoint_fails_saying_so(
    fogbank: Fogbank, clients: tuple[Any, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    broken = bin_dir / "docker"  # a CLI whose engine does not answer
    broken.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin")
    sagemaker, _ = clients
    sagemaker.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    sagemaker.create_endpoint_config(
        EndpointConfigName="m",
        ProductionVariants=[{"VariantName": "v", "ModelName": "m", "InitialInstanceCount": 1}],
    )
    sagemaker.create_endpoint(EndpointName="m", EndpointConfigName="m")
    deadline = time.monotonic() + 60
    while (status := sagemaker.describe_endpoint(EndpointName="m"))["EndpointStatus"] == "Creating":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status["EndpointStatus"] == "Failed"
    assert "found none" in status["FailureReason"]
    assert "docker version" in status["FailureReason"]
