"""Fixtures for driving the gateway through real boto3: over a socket and in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from fogbank import Fogbank, FogbankConfig
from fogbank.gateway.client import client as in_process_client
from fogbank.gateway.server import BackgroundServer


@pytest.fixture
def fogbank(tmp_path: Path) -> Iterator[Fogbank]:
    with Fogbank(FogbankConfig.load(home=tmp_path / "home", environ={})) as fb:
        yield fb


@pytest.fixture
def server(fogbank: Fogbank) -> Iterator[BackgroundServer]:
    with BackgroundServer(fogbank) as running:
        yield running


def boto3_client(service: str, endpoint_url: str, **config: Any) -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, **config),
    )


@pytest.fixture(params=["server", "in-process"])
def s3(request: pytest.FixtureRequest, fogbank: Fogbank) -> Iterator[Any]:
    """A real boto3 S3 client against fogbank, over HTTP and in-process."""
    if request.param == "server":
        with BackgroundServer(fogbank) as running:
            made = boto3_client("s3", running.endpoint_url)
            yield made
            made.close()
    else:
        made = in_process_client("s3", fogbank=fogbank, config=Config(retries={"max_attempts": 1}))
        yield made
        made.close()
