"""`fogbank serve`, the housekeeping endpoints, and SigV4 auth through boto3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from fogbank import Fogbank, FogbankConfig
from fogbank.gateway.auth import AccessKeys
from fogbank.gateway.server import BackgroundServer, free_port

from .conftest import boto3_client


def _get_json(url: str, method: str = "GET") -> Any:
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`fogbank serve` as a user runs it: a child process on a free port."""
    port = free_port()
    env = {**os.environ, "FOGBANK_HOME": str(tmp_path / "home")}
    child = subprocess.Popen(
        [sys.executable, "-m", "fogbank.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get_json(f"{url}/_fogbank/health")
                break
            except OSError:
                if child.poll() is not None or time.monotonic() > deadline:
                    output = child.stdout.read().decode() if child.stdout else ""
                    pytest.fail(f"fogbank serve did not start: {output}")
                time.sleep(0.1)
        yield url
    finally:
        child.terminate()
        child.wait(timeout=30)
        if child.stdout:
            child.stdout.close()


def test_fogbank_serve_answers_boto3_and_health(served: str) -> None:
    s3 = boto3_client("s3", served)
    s3.create_bucket(Bucket="served")
    s3.put_object(Bucket="served", Key="k", Body=b"v")
    assert s3.get_object(Bucket="served", Key="k")["Body"].read() == b"v"
    health = _get_json(f"{served}/_fogbank/health")
    assert health["status"] == "running"
    assert "PutObject" in health["services"]["s3"]["operations"]
    assert health["services"]["kinesis"]["protocol"] == "json"
    s3.close()


@pytest.mark.parametrize("path", ["/_fogbank/reset", "/moto-api/reset"])
def test_reset_wipes_every_bucket(served: str, path: str) -> None:
    s3 = boto3_client("s3", served)
    s3.create_bucket(Bucket="to-wipe")
    s3.put_object(Bucket="to-wipe", Key="k", Body=b"v")
    assert _get_json(f"{served}{path}", method="POST") == {"reset": True}
    assert s3.list_buckets()["Buckets"] == []
    s3.close()


@pytest.fixture
def signed(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A gateway with ``auth = sigv4`` and one access key created in its home."""
    home = tmp_path / "signed"
    home.mkdir()
    (home / "config.toml").write_text('auth = "sigv4"\n')
    with Fogbank(FogbankConfig.load(home=home, environ={})) as fogbank:
        created = AccessKeys(fogbank.store).create("tester")
        with BackgroundServer(fogbank) as running:
            yield running.endpoint_url, created


def _signed_client(service: str, url: str, key: str, secret: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def test_sigv4_accepts_a_known_key(signed: tuple[str, Any]) -> None:
    url, created = signed
    s3 = _signed_client("s3", url, created.access_key_id, created.secret_access_key)
    s3.create_bucket(Bucket="signed")
    s3.put_object(Bucket="signed", Key="a b/ü+%.txt", Body=b"x" * 100)
    got = s3.get_object(Bucket="signed", Key="a b/ü+%.txt")["Body"].read()
    assert got == b"x" * 100
    s3.close()


def test_sigv4_wrong_secret_is_signature_does_not_match(signed: tuple[str, Any]) -> None:
    """S3 ListBuckets with a bad secret: 403 SignatureDoesNotMatch."""
    url, created = signed
    s3 = _signed_client("s3", url, created.access_key_id, "0" * 40)
    with pytest.raises(ClientError) as caught:
        s3.list_buckets()
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    s3.close()


def test_sigv4_unknown_key_is_invalid_access_key_id(signed: tuple[str, Any]) -> None:
    """S3 ListBuckets with a key the home does not hold: 403 InvalidAccessKeyId."""
    url, _ = signed
    s3 = _signed_client("s3", url, "AKIAUNKNOWNUNKNOWN00", "x" * 40)
    with pytest.raises(ClientError) as caught:
        s3.list_buckets()
    assert caught.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    s3.close()


def test_sigv4_json_service_with_unknown_key_is_refused(signed: tuple[str, Any]) -> None:
    """Kinesis ListStreams with an unknown key: UnrecognizedClientException, as AWS sends."""
    url, _ = signed
    kinesis = _signed_client("kinesis", url, "AKIAUNKNOWNUNKNOWN00", "x" * 40)
    with pytest.raises(ClientError) as caught:
        kinesis.list_streams()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
    kinesis.close()


def test_without_auth_any_key_is_accepted(server: BackgroundServer) -> None:
    s3 = _signed_client("s3", server.endpoint_url, "anything", "goes")
    assert s3.list_buckets()["Buckets"] == []
    s3.close()
