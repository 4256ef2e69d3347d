"""Real boto3 clients whose HTTP goes straight into the gateway app, with no socket.

botocore sends every request through its endpoint's ``http_session.send``; this
module puts an in-process session there, as httpx's ``ASGITransport`` does for
httpx. Everything else (signing, serialising, parsing, retries, s3transfer) is
boto3's own code, so a test or a notebook exercises exactly what a user's code does.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio
import boto3
from anyio.from_thread import start_blocking_portal
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.config import Config

from fogbank.app import Fogbank
from fogbank.core.config import FogbankConfig
from fogbank.gateway.app import Gateway

IN_PROCESS_ENDPOINT = "http://fogbank.in-process:4566"


class _RawBody(io.BytesIO):
    """What botocore reads a response body from: ``read(amt)`` and ``stream()``."""

    def stream(self, amt: int = 1024 * 1024, decode_content: bool = False) -> Iterator[bytes]:
        while chunk := self.read(amt):
            yield chunk


class InProcessSession:
    """botocore's HTTP session, answered by a gateway app in this process.

    The app runs on an event loop in a helper thread (an anyio blocking portal);
    each ``send`` drives one ASGI request/response cycle on it.
    """

    def __init__(self, gateway: Gateway, owned: Fogbank | None = None) -> None:
        self._gateway = gateway
        self._portal_cm = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        self._owned = owned

    def send(self, request: AWSPreparedRequest) -> AWSResponse:
        body = request.body
        if body is None:
            payload = b""
        elif isinstance(body, bytes | bytearray):
            payload = bytes(body)
        elif isinstance(body, str):
            payload = body.encode("utf-8")
        else:
            payload = body.read()
        status, headers, content = self._portal.call(
            self._exchange, request.method, request.url, list(request.headers.items()), payload
        )
        return AWSResponse(request.url, status, headers, _RawBody(content))

    async def _exchange(
        self, method: str, url: str, headers: list[tuple[str, str | bytes]], payload: bytes
    ) -> tuple[int, HTTPHeaders, bytes]:
        parts = urlsplit(url)
        names = {name.lower() for name, _ in headers}
        raw_headers = [(k.lower().encode("latin-1"), _header_bytes(v)) for k, v in headers]
        if "host" not in names:
            raw_headers.append((b"host", parts.netloc.encode("latin-1")))
        if "content-length" not in names and payload:
            raw_headers.append((b"content-length", str(len(payload)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": parts.scheme,
            "path": unquote(parts.path),
            "raw_path": parts.path.encode("latin-1"),
            "query_string": parts.query.encode("latin-1"),
            "root_path": "",
            "headers": raw_headers,
            "client": ("127.0.0.1", 0),
            "server": (parts.hostname or "fogbank.in-process", parts.port or 80),
        }
        sent = False
        finished = anyio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                # The client stays connected until the whole response has arrived.
                await finished.wait()
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": payload, "more_body": False}

        status = 500
        response_headers = HTTPHeaders()
        chunks: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    response_headers.add_header(name.decode("latin-1"), value.decode("utf-8"))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    finished.set()

        try:
            await self._gateway(scope, receive, send)
        finally:
            finished.set()
        return status, response_headers, b"".join(chunks)

    def close(self) -> None:
        self._portal_cm.__exit__(None, None, None)
        if self._owned is not None:
            self._owned.close()
            self._owned = None


def _header_bytes(value: str | bytes) -> bytes:
    # botocore keeps some header values (checksum algorithm names) as bytes.
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def client(
    service: str,
    *,
    fogbank: Fogbank | None = None,
    home: str | None = None,
    region_name: str | None = None,
    config: Config | None = None,
) -> Any:
    """A real boto3 client for ``service`` served in-process by the gateway.

    Give it a :class:`~fogbank.Fogbank` to share one with other code; otherwise it
    opens the one in ``home`` (default: ``$FOGBANK_HOME`` or ``~/.fogbank``) and
    closes it with the client.
    """
    owned = None
    if fogbank is None:
        fogbank = owned = Fogbank(FogbankConfig.load(home=home))
    region = region_name or fogbank.config.region
    made = boto3.session.Session().client(
        service,
        endpoint_url=IN_PROCESS_ENDPOINT,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=(config or Config()).merge(Config(s3={"addressing_style": "path"})),
    )
    made._endpoint.http_session = InProcessSession(Gateway(fogbank), owned)
    return made
