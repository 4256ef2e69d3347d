"""The gateway's ASGI app: one entry point that routes every request by AWS protocol.

A request is for a service named by its ``X-Amz-Target`` prefix (JSON protocols),
the SigV4 credential scope of its Authorization header (or presigned query), or,
failing both, S3 (path-style or virtual-hosted-style by the Host header). The
request is parsed against the service's botocore model, handed to the service's
adapter as one engine call in a worker thread, and the result serialised back.
The app keeps no state of its own beyond the :class:`~fogbank.Fogbank` it serves.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import anyio
import anyio.from_thread
import anyio.to_thread
from starlette.background import BackgroundTask
from starlette.concurrency import iterate_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from fogbank import __version__
from fogbank.app import Fogbank
from fogbank.core.errors import (
    FogbankError,
    InvalidArgument,
    MethodNotAllowed,
    OperationNotImplemented,
    RequestEntityTooLarge,
    UnknownOperationException,
    ValidationError,
    ValidationException,
)
from fogbank.core.ids import new_hex_id
from fogbank.gateway.auth import (
    UNSIGNED_PAYLOAD,
    AccessKeys,
    ChunkVerifier,
    ServiceProtocol,
    SigV4Request,
    missing_authentication,
    parse_sigv4,
    verify_payload_hash,
    verify_sigv4,
)
from fogbank.gateway.chunked import read_body
from fogbank.gateway.models import Service, ServiceCatalog
from fogbank.gateway.protocols import json_rpc, rest
from fogbank.gateway.protocols.rest import bind_input, payload_member
from fogbank.gateway.protocols.rest_xml import WireResponse, render_failure, render_result
from fogbank.gateway.protocols.xml import parse_xml
from fogbank.gateway.services import JSON_ADAPTERS, REST_JSON_ADAPTERS, s3
from fogbank.gateway.services.registry import JsonHandler
from fogbank.gateway.validation import ShapeValidator

log = logging.getLogger("fogbank.gateway")

HTTP_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS")
MAX_XML_BODY = 4 * 1024 * 1024
SMALL_BODY = 1024 * 1024
PULL_BATCH = 1024 * 1024
# S3 operations cheap enough to run on the event loop: one index lookup, no body to
# upload; a GetObject body is read there only up to INLINE_BODY bytes.
INLINE_OPERATIONS = frozenset({"GetObject", "HeadObject", "HeadBucket", "GetBucketLocation"})
INLINE_BODY = 64 * 1024
MAX_JSON_BODY = 32 * 1024 * 1024
VIRTUAL_HOST_SUFFIXES = (".s3.localhost", ".localhost", ".s3.amazonaws.com")


class Gateway:
    """The AWS wire API over one :class:`~fogbank.Fogbank`."""

    def __init__(self, fogbank: Fogbank) -> None:
        self.fogbank = fogbank
        self.catalog = ServiceCatalog()
        self.keys = AccessKeys(fogbank.store, account_id=fogbank.config.account_id)
        # One adapter per service: operation name -> a function of (fogbank, params).
        self.adapters: dict[str, dict[str, JsonHandler]] = dict(JSON_ADAPTERS)
        self._s3_validator = ShapeValidator(
            blobs_are_base64=False,
            error=lambda message: InvalidArgument(message),
            type_error=lambda message: InvalidArgument(message),
        )
        self._json_validator = ShapeValidator(blobs_are_base64=True)
        self._rest_validator = ShapeValidator(blobs_are_base64=False)
        self._housekeeping = {
            ("GET", "/_fogbank/health"): self.health,
            ("POST", "/_fogbank/reset"): self.reset,
            ("POST", "/moto-api/reset"): self.reset,  # so moto's server-mode suites run
        }

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Every request, whatever its method or path, is answered in AWS's form: never
        with a framework's plain-text 404 or 405."""
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        endpoint = self._housekeeping.get((request.method, scope.get("path", "")))
        response = await (endpoint or self.handle)(request)
        await response(scope, receive, send)

    # ------------------------------------------------------------ housekeeping

    def implemented(self) -> dict[str, list[str]]:
        """Each service the gateway speaks, with the operations it serves so far."""
        served = {name: sorted(ops) for name, ops in self.adapters.items()}
        served["s3"] = sorted(s3.OPERATIONS)
        return {name: served.get(name, []) for name in self.catalog.names()}

    async def health(self, request: Request) -> Response:
        services = {
            name: {"protocol": self.catalog[name].protocol, "operations": ops}
            for name, ops in self.implemented().items()
        }
        return JSONResponse({"status": "running", "version": __version__, "services": services})

    async def reset(self, request: Request) -> Response:
        await anyio.to_thread.run_sync(self.fogbank.reset)
        return JSONResponse({"reset": True})

    # ------------------------------------------------------------ requests

    async def handle(self, request: Request) -> Response:
        request_id = new_hex_id(8).upper()
        method = request.method
        headers = request.headers
        raw_path = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
        raw_query = request.scope.get("query_string", b"").decode("latin-1")
        service: Service | None = None
        try:
            if method not in HTTP_METHODS:
                raise MethodNotAllowed(
                    f"The specified method is not allowed against this resource: {method[:20]!r}."
                    f" AWS APIs take {', '.join(HTTP_METHODS)}.",
                    Method=method[:20],
                    ResourceType="OBJECT",
                )
            signature, garbled = self._signature(method, raw_path, raw_query, headers)
            service = self._identify(headers, signature)
            if garbled is not None:
                raise garbled
            call = _Call(request, service, raw_path, raw_query, signature)
            if service.protocol == "rest-xml":
                wire = await self._rest_xml(call)
            elif service.protocol == "json":
                wire = await self._json(call)
            else:
                wire = await self._rest_json(call)
        except FogbankError as exc:
            wire = self._failure(service, exc, request_id, method, headers)
        except ClientDisconnect:
            # The client left mid-request: nobody will read an answer.
            wire = WireResponse(400, [], b"")
        except Exception as exc:
            log.exception("internal error serving %s %s", method, request.url.path)
            error = FogbankError(
                f"fogbank failed to serve this request: {exc!r}", code="InternalError"
            )
            wire = self._failure(service, error, request_id, method, headers)
        wire.headers.append(("x-amz-request-id", request_id))
        if wire.status >= 300 and _unread_body(request):
            # The client may still send the body it announced (Expect: 100-continue, or
            # not yet read): on a kept-alive connection those bytes would be read as the
            # next request, so this answer ends the connection, as S3 does.
            wire.headers.append(("Connection", "close"))
        return _to_response(wire, request)

    @staticmethod
    def _failure(
        service: Service | None, exc: FogbankError, request_id: str, method: str, headers: Headers
    ) -> WireResponse:
        """The error in the protocol the client speaks: JSON when it sent X-Amz-Target."""
        if service is None and "x-amz-target" in headers:
            return json_rpc.render_failure(None, exc, request_id)
        if service is None or service.protocol == "rest-xml":
            return render_failure(exc, request_id, method)
        return json_rpc.render_failure(service, exc, request_id)

    # ------------------------------------------------------------ identity and auth

    def _signature(
        self, method: str, raw_path: str, raw_query: str, headers: Headers
    ) -> tuple[SigV4Request | None, FogbankError | None]:
        """The request's SigV4 signature, if any, and the error a garbled one earns.

        With auth off, a garbled signature is ignored; with auth on, the error is raised
        once the service is known, so it comes back in that service's protocol.
        """
        try:
            return parse_sigv4(method, raw_path, raw_query, headers), None
        except FogbankError as exc:
            return None, exc if self.fogbank.config.auth == "sigv4" else None

    def _identify(self, headers: Headers, signature: SigV4Request | None) -> Service:
        """The service a request is for: X-Amz-Target, then the credential scope, then S3."""
        target = headers.get("x-amz-target")
        if target:
            prefix = target.partition(".")[0]
            service = self.catalog.by_target_prefix(prefix)
            if service is None:
                raise UnknownOperationException(
                    f"fogbank serves no service with the X-Amz-Target prefix {prefix!r}; it "
                    f"serves {', '.join(self.catalog.names())}.",
                )
            return service
        scope = signature.service if signature is not None else None
        host = headers.get("host", "")
        if scope == "sagemaker" or host.startswith("runtime.sagemaker"):
            return self.catalog["sagemaker-runtime"]
        if scope is not None and scope != "s3" and scope in self.catalog:
            raise UnknownOperationException(
                f"A {scope} request must name its operation in the X-Amz-Target header.",
            )
        return self.catalog["s3"]

    def _verify(
        self, call: _Call, payload_hash: str | None
    ) -> tuple[ChunkVerifier | None, str | None]:
        """With ``auth = sigv4``: the signature checked against the home's keys.

        Returns the chunk verifier a signed streaming upload needs, and the secret.
        """
        if self.fogbank.config.auth != "sigv4":
            return None, None
        protocol: ServiceProtocol = call.service.protocol  # type: ignore[assignment]
        signature = call.signature
        if signature is None:
            raise missing_authentication(protocol)
        secret = self.keys.secret_for(signature.access_key_id)
        seed = verify_sigv4(
            signature,
            call.request.method,
            call.raw_path,
            call.raw_query,
            call.request.headers,
            payload_hash,  # type: ignore[arg-type]
            secret,
            service_protocol=protocol,
            now=self.fogbank.clock.now(),
        )
        if signature.streaming and secret is not None:
            return ChunkVerifier.for_request(signature, seed, secret), secret
        return None, secret

    # ------------------------------------------------------------ protocols

    async def _json(self, call: _Call) -> WireResponse:
        body = await _read_bounded(call.request, MAX_JSON_BODY)
        self._verify(call, hashlib.sha256(body).hexdigest())
        operation = json_rpc.parse_target(call.service, call.request.headers["x-amz-target"])
        params = json_rpc.parse_request(operation, body, self._json_validator)
        handler = self.adapters.get(call.service.name, {}).get(operation.name)
        if handler is None:
            raise OperationNotImplemented(call.service.model.service_id, operation.name)
        stream = json_rpc.event_stream_member(operation)

        def serve() -> WireResponse:
            # Rendering runs in the worker thread too: a large answer (GetRecords of
            # 10,000 records) would otherwise hold up every request on the event loop.
            result = handler(self.fogbank, params)
            if stream is not None:
                return json_rpc.render_event_stream(call.service, operation, result, stream)
            return json_rpc.render_result(call.service, operation, result)

        return await anyio.to_thread.run_sync(serve)

    async def _rest_json(self, call: _Call) -> WireResponse:
        request = call.request
        segments = _segments(call.raw_path)
        query = parse_qsl(call.raw_query, keep_blank_values=True)
        operation, labels = call.service.route(
            request.method, segments, dict(query), {k.lower() for k in request.headers}
        )
        body = await _read_bounded(request, MAX_JSON_BODY)
        self._verify(call, hashlib.sha256(body).hexdigest())
        handler = REST_JSON_ADAPTERS.get(call.service.name, {}).get(operation.name)
        if handler is None:
            raise OperationNotImplemented(call.service.model.service_id, operation.name)
        params = rest.bind_input(operation, labels, query, list(request.headers.items()))
        payload = rest.payload_member(operation.input_shape)
        if payload is not None and payload[1].type_name == "blob":
            params[payload[0]] = body
        elif body.strip():
            params.update(json_rpc.parse_body(body))
        try:
            params = self._rest_validator.validate(operation.input_shape, params)
        except ValidationException as error:
            # SageMaker Runtime names its validation error ValidationError.
            raise ValidationError(error.message) from None

        def serve() -> WireResponse:
            result = handler(self.fogbank, params)
            status, headers = rest.bind_output(operation, result)
            out = rest.payload_member(operation.output_shape)
            data = b""
            if out is not None and out[1].type_name == "blob":
                data = result.get(out[0]) or b""
            elif out is None and result:
                data = json.dumps(result, default=str).encode()
            return WireResponse(status or 200, headers, data)

        return await anyio.to_thread.run_sync(serve)

    async def _rest_xml(self, call: _Call) -> WireResponse:
        request = call.request
        method = request.method
        headers = request.headers
        segments = _segments(call.raw_path)
        bucket = _virtual_bucket(headers.get("host", ""))
        if bucket is not None:
            segments = [bucket, *segments]
        query = parse_qsl(call.raw_query, keep_blank_values=True)
        operation, labels = call.service.route(
            method, segments, dict(query), {k.lower() for k in headers}
        )
        claimed = call.signature.payload_hash if call.signature is not None else None
        handler = s3.OPERATIONS.get(operation.name)
        payload = payload_member(operation.input_shape)
        streaming: str | None = None
        verifier: ChunkVerifier | None = None
        if payload is not None and payload[1].type_name == "blob":
            streaming = payload[0]
            verifier, _ = self._verify(call, claimed)
            body = b""
        else:
            body = await _read_bounded(request, MAX_XML_BODY)
            if claimed is not None and claimed not in (UNSIGNED_PAYLOAD,):
                verify_payload_hash(claimed, hashlib.sha256(body).hexdigest())
            self._verify(call, claimed)
        if handler is None:
            raise OperationNotImplemented("S3", operation.name)
        params = bind_input(operation, labels, query, headers.items())
        if payload is not None and streaming is None and body.strip():
            name, member = payload
            params[name] = parse_xml(body, member)
        s3.check_request(operation.name, params)
        params = self._s3_validator.validate(operation.input_shape, params)
        lake = self.fogbank.lake

        # A small body is read here, on the event loop, in one go: a worker thread pulling
        # it chunk by chunk costs a thread hop per chunk.
        small: list[bytes] | None = None
        if streaming is not None and _declared_length(headers) <= SMALL_BODY:
            small = [await _read_bounded(request, SMALL_BODY + 64 * 1024)]

        def run() -> dict[str, Any]:
            if streaming is None:
                return _buffer_small_body(handler(lake, params))
            decoded = read_body(
                iter(small) if small is not None else _pull(request),
                headers,
                verify_chunk=verifier,
                verify_trailer=verifier.verify_trailer if verifier is not None else None,
            )
            params[streaming] = decoded
            params.pop("ContentMD5", None)  # verified by read_body, while the body streams
            result = handler(lake, params)
            if decoded.finished and decoded.checksum is not None:
                algorithm, value = decoded.checksum
                result[f"Checksum{algorithm}"] = value
            return result

        if streaming is None and operation.name in INLINE_OPERATIONS:
            # Index lookups and small reads take less time than a trip to a worker thread.
            result = handler(lake, params)
            if result.get("ContentLength", SMALL_BODY + 1) <= INLINE_BODY:
                result = _buffer_small_body(result)
        else:
            result = await anyio.to_thread.run_sync(run)
        return render_result(operation, result, method)


@dataclass(frozen=True)
class _Call:
    """One request on its way through the gateway."""

    request: Request
    service: Service
    raw_path: str
    raw_query: str
    signature: SigV4Request | None


def _segments(raw_path: str) -> list[str]:
    """Path segments, still percent-encoded; ``/bucket/`` is the bucket itself."""
    path = raw_path.split("?", 1)[0]
    if path in ("", "/"):
        return []
    parts = path[1:].split("/") if path.startswith("/") else path.split("/")
    if len(parts) == 2 and parts[1] == "":
        parts = parts[:1]
    return parts


def _virtual_bucket(host: str) -> str | None:
    """The bucket named by a virtual-hosted-style Host header (``bucket.localhost:4566``)."""
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host
    for suffix in VIRTUAL_HOST_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            bucket = name[: -len(suffix)]
            if suffix == ".localhost" and bucket.endswith(".s3"):
                bucket = bucket[:-3]
            return bucket
    return None


async def _read_bounded(request: Request, limit: int) -> bytes:
    request.state.body_read = True
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge(
                f"The request body is over {limit} bytes; this operation takes a document of at "
                "most that size.",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _unread_body(request: Request) -> bool:
    """Whether the request came with a body the gateway answered without reading."""
    if getattr(request.state, "body_read", False):
        return False
    length = request.headers.get("content-length", "0").strip()
    return "transfer-encoding" in request.headers or (length not in ("", "0"))


def _declared_length(headers: Headers) -> int:
    """The body's length as the client announced it; unknown counts as large."""
    if "transfer-encoding" in headers:
        return 1 << 62
    try:
        return int(headers.get("content-length", "0"))
    except ValueError:
        return 1 << 62


def _buffer_small_body(result: dict[str, Any]) -> dict[str, Any]:
    """A small streamed result body read now, in the worker thread, so the event loop
    sends bytes instead of hopping to a thread for each chunk."""
    body = result.get("Body")
    length = result.get("ContentLength")
    if (
        body is not None
        and not isinstance(body, bytes)
        and isinstance(length, int)
        and length <= SMALL_BODY
    ):
        chunks = list(body)
        result["Body"] = b"".join(chunks)
    return result


def _pull(request: Request) -> Iterator[bytes]:
    """The request body as a blocking iterator, for engine code running in a worker thread.

    Nothing is read (and no ``100 Continue`` sent) until the engine asks for the first
    chunk, so a request refused before then never makes the client send its body.
    """
    iterator = request.stream().__aiter__()

    async def next_batch() -> bytes | None:
        # Gather up to PULL_BATCH bytes per trip to the event loop: each trip costs a
        # thread hop, and the server hands the body over in pieces of a few hundred KiB.
        pieces: list[bytes] = []
        size = 0
        while size < PULL_BATCH:
            try:
                piece = await iterator.__anext__()
            except StopAsyncIteration:
                break
            pieces.append(piece)
            size += len(piece)
        return b"".join(pieces) if pieces else None

    request.state.body_read = True
    while (batch := anyio.from_thread.run(next_batch)) is not None:
        if batch:
            yield batch


def _to_response(wire: WireResponse, request: Request) -> Response:
    body = wire.body
    response: Response
    if isinstance(body, bytes):
        response = Response(body, status_code=wire.status)
        names = {name.lower() for name, _ in wire.headers}
        if "content-length" in names:
            response.raw_headers = [h for h in response.raw_headers if h[0] != b"content-length"]
    else:
        # A body the client never reads (it went away first) is still closed.
        close = getattr(body, "close", None)
        response = StreamingResponse(
            _iterate(body, request),
            status_code=wire.status,
            background=BackgroundTask(close) if callable(close) else None,
        )
    response.raw_headers.extend(
        (name.lower().encode("latin-1"), value.encode("utf-8")) for name, value in wire.headers
    )
    return response


async def _iterate(body: Iterable[bytes], request: Request) -> AsyncIterator[bytes]:
    # An empty chunk is a tick from a body that waits for data (an event stream): it
    # sends nothing, but lets a client that went away end the stream now.
    async for chunk in iterate_in_threadpool(iter(body)):
        if chunk:
            yield chunk
        elif await request.is_disconnected():
            return
