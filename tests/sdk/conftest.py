"""Fixtures for the SageMaker Python SDK suite: `fogbank serve` and the SDK's interpreter.

The SDK (``sagemaker<3``) pins protobuf<7, packaging<25 and attrs<26, which would move
fogbank's own pins, so it lives in a venv of its own (``.venv-sdk``, made by ``make test``)
and the scenarios under ``scenarios/`` run there as child processes, against a
`fogbank serve` child of this suite; each prints one result line of JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fogbank.gateway.server import free_port

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
SDK_PYTHON = Path(os.environ.get("FOGBANK_SDK_PYTHON") or ROOT / ".venv-sdk" / "bin" / "python")
RESULT_PREFIX = "FOGBANK-SCENARIO-RESULT "


@pytest.fixture(scope="session")
def sdk_python() -> Path:
    """The interpreter with the SageMaker SDK (FOGBANK_SDK_PYTHON, else .venv-sdk)."""
    if not SDK_PYTHON.exists():
        pytest.skip(
            f"no SageMaker SDK interpreter at {SDK_PYTHON}: `make test` makes .venv-sdk, or "
            "set FOGBANK_SDK_PYTHON to a python with sagemaker<3 installed"
        )
    return SDK_PYTHON


def _health(url: str) -> None:
    with urllib.request.urlopen(f"{url}/_fogbank/health", timeout=5) as response:
        json.loads(response.read())


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`fogbank serve` as a user runs it, on a free loopback port with a home of its own;
    its endpoint URL. One per test module (xdist: per worker and module)."""
    home = tmp_path_factory.mktemp("sdk-home")
    port = free_port()
    log = (home.parent / f"{home.name}-serve.log").open("w+b")
    child = subprocess.Popen(
        [sys.executable, "-m", "fogbank.cli", "serve", "--port", str(port)],
        env={**os.environ, "FOGBANK_HOME": str(home / "home")},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _health(url)
                break
            except OSError:
                if child.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"fogbank serve did not start: {log.read().decode()}")
                time.sleep(0.1)
        yield url
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        log.close()


def sdk_environment(endpoint_url: str | None, home: Path) -> dict[str, str]:
    """A clean environment for a scenario: no AWS profile, credentials or SDK config from
    the machine, every boto3 client the SDK makes pointed at the gateway."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
        "PYTHONUNBUFFERED": "1",
    }
    if endpoint_url:
        # record_set() and Session's S3 resource are made from the boto3 session, with no
        # endpoint argument: botocore's AWS_ENDPOINT_URL is how they reach the gateway.
        env["AWS_ENDPOINT_URL"] = endpoint_url
    return env


RunScenario = Callable[..., dict[str, Any]]


def make_runner(python: Path, home: Path, **extra_env: str) -> RunScenario:
    """Run ``scenarios/<name>`` under ``python`` with ``args``; its result JSON. Fails
    with the scenario's whole output when it exits non-zero or prints no result."""

    def run(
        name: str, *args: str, endpoint_url: str | None = None, timeout: float = 300
    ) -> dict[str, Any]:
        argv = [str(python), str(SCENARIOS / name), *([endpoint_url] if endpoint_url else [])]
        done = subprocess.run(
            [*argv, *args],
            env={**sdk_environment(endpoint_url, home), **extra_env},
            cwd=home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        assert done.returncode == 0, f"{name} exited {done.returncode}\n{output}"
        lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
        assert lines, f"{name} printed no result line\n{output}"
        result: dict[str, Any] = json.loads(lines[-1].removeprefix(RESULT_PREFIX))
        return result

    return run


@pytest.fixture
def run_scenario(sdk_python: Path, tmp_path: Path) -> RunScenario:
    """A scenario under SDK v2's interpreter."""
    return make_runner(sdk_python, tmp_path)


@pytest.fixture
def run_scenario_v3(tmp_path: Path) -> RunScenario:
    """A scenario under SDK v3's interpreter, FOGBANK_SDK3_PYTHON; skipped without one.
    ModelTrainer's IAM SimulatePrincipalPolicy check of the role is turned off."""
    python = os.environ.get("FOGBANK_SDK3_PYTHON")
    if not python:
        pytest.skip("FOGBANK_SDK3_PYTHON is not set: the SageMaker SDK v3 run is skipped")
    return make_runner(Path(python), tmp_path, SAGEMAKER_VALIDATE_ROLE="false")
