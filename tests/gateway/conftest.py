"""Fixtures for driving the gateway through real boto3: over a socket and in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from fogbank import Fogbank, FogbankConfig
from fogbank.gateway.client import IN_PROCESS_ENDPOINT
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


@contextmanager
def transport_client(transport: str, fogbank: Fogbank, service: str) -> Iterator[Any]:
    """A real boto3 client of ``service`` against fogbank: over HTTP to a server started
    for it (``server``) or straight into the gateway (``in-process``); closed after."""
    if transport == "server":
        with BackgroundServer(fogbank) as running:
            made = boto3_client(service, running.endpoint_url)
            yield made
            made.close()
    else:
        made = in_process_client(
            service, fogbank=fogbank, config=Config(retries={"max_attempts": 1})
        )
        yield made
        made.close()


@pytest.fixture(params=["server", "in-process"])
def s3(request: pytest.FixtureRequest, fogbank: Fogbank) -> Iterator[Any]:
    """A real boto3 S3 client against fogbank, over HTTP and in-process."""
    with transport_client(request.param, fogbank, "s3") as made:
        yield made


@pytest.fixture(params=["server", "in-process"])
def glue(request: pytest.FixtureRequest, fogbank: Fogbank) -> Iterator[Any]:
    """A real boto3 Glue client against fogbank, over HTTP and in-process."""
    with transport_client(request.param, fogbank, "glue") as made:
        yield made


@pytest.fixture(params=["server", "in-process"])
def athena(request: pytest.FixtureRequest, fogbank: Fogbank) -> Iterator[Any]:
    """A real boto3 Athena client against fogbank, over HTTP and in-process."""
    with transport_client(request.param, fogbank, "athena") as made:
        yield made


@pytest.fixture(params=["server", "in-process"])
def firehose(request: pytest.FixtureRequest, fogbank: Fogbank) -> Iterator[Any]:
    """A real boto3 Firehose client against fogbank, over HTTP and in-process."""
    with transport_client(request.param, fogbank, "firehose") as made:
        yield made


@pytest.fixture(params=["server", "in-process"])
def sagemaker(request: pytest.FixtureRequest, fogbank: Fogbank) -> Iterator[Any]:
    """A real boto3 SageMaker client against fogbank, over HTTP and in-process."""
    with transport_client(request.param, fogbank, "sagemaker") as made:
        yield made


@pytest.fixture
def make_s3(s3: Any, fogbank: Fogbank) -> Iterator[Callable[..., Any]]:
    """More boto3 S3 clients on the same transport as ``s3``: another region or config."""
    made: list[Any] = []

    def make(region_name: str = "us-east-1", **config: Any) -> Any:
        settings = Config(**{"retries": {"max_attempts": 1}, **config})
        if s3.meta.endpoint_url == IN_PROCESS_ENDPOINT:
            new = in_process_client("s3", fogbank=fogbank, region_name=region_name, config=settings)
        else:
            new = boto3.session.Session().client(
                "s3",
                endpoint_url=s3.meta.endpoint_url,
                region_name=region_name,
                aws_access_key_id="test",
                aws_secret_access_key="test",
                config=settings,
            )
        made.append(new)
        return new

    yield make
    for new in made:
        new.close()


@pytest.fixture
def server_s3(server: BackgroundServer) -> Iterator[Callable[..., Any]]:
    """boto3 S3 clients against the real server, with any endpoint URL and config."""
    made: list[Any] = []

    def make(endpoint_url: str | None = None, **config: Any) -> Any:
        new = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or server.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(**{"retries": {"max_attempts": 1}, **config}),
        )
        made.append(new)
        return new

    yield make
    for new in made:
        new.close()


ErrorExpectation = Callable[..., AbstractContextManager[pytest.ExceptionInfo[ClientError]]]


@contextmanager
def expect_error(
    code: str, status: int, *words: str
) -> Iterator[pytest.ExceptionInfo[ClientError]]:
    """The block raises a ClientError with this AWS error code, HTTP status and each of
    ``words`` in its message."""
    with pytest.raises(ClientError) as caught:
        yield caught
    response = caught.value.response
    assert response["Error"]["Code"] == code, response["Error"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status, response["Error"]
    for word in words:
        assert word in response["Error"]["Message"], response["Error"]


@pytest.fixture
def s3_error() -> ErrorExpectation:
    """``with s3_error("NoSuchKey", 404, "a.txt"):`` expects that S3 error code, HTTP status
    and the given words in the message."""
    return expect_error


@pytest.fixture
def json_error() -> ErrorExpectation:
    """``with json_error("ResourceNotFoundException", "events"):``: a JSON service's error
    (they all answer HTTP 400), with the given words in the message."""

    def expect(code: str, *words: str) -> AbstractContextManager[pytest.ExceptionInfo[ClientError]]:
        return expect_error(code, 400, *words)

    return expect
