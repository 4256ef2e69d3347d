"""The JSON protocols: json 1.0/1.1 (``X-Amz-Target`` RPC) and rest-json bodies and errors.

Requests are JSON objects checked against the operation's input shape; results are
written by the output shape (blobs base64, timestamps as epoch seconds unless the
member says otherwise). Errors are ``{"__type": code, "message": ...}`` with the
code repeated in ``x-amzn-ErrorType``, as AWS sends them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from fogbank.core.errors import FogbankError, SerializationException
from fogbank.gateway.errors import status_for
from fogbank.gateway.models import Service
from fogbank.gateway.protocols import eventstream
from fogbank.gateway.protocols.rest_xml import WireResponse
from fogbank.gateway.validation import ShapeValidator


def content_type(service: Service) -> str:
    if service.protocol == "rest-json":
        return "application/json"
    return f"application/x-amz-json-{service.model.metadata.get('jsonVersion', '1.1')}"


def parse_target(service: Service, target: str) -> OperationModel:
    """The operation an ``X-Amz-Target: <prefix>.<Operation>`` header names."""
    _, _, name = target.partition(".")
    return service.operation(name)


def parse_body(body: bytes) -> dict[str, Any]:
    """A JSON request body; empty means ``{}``."""
    if not body.strip():
        return {}
    try:
        document = json.loads(body)
    except RecursionError:
        raise SerializationException(
            "The request body nests JSON too deeply to read; send a flatter document."
        ) from None
    except ValueError as exc:  # also bad UTF-8, and integers past Python's digit limit
        raise SerializationException(
            f"The request body is not valid JSON ({str(exc)[:200]}); send a JSON object."
        ) from None
    if not isinstance(document, dict):
        raise SerializationException(
            f"The request body must be a JSON object; got a JSON {type(document).__name__}."
        )
    return document


def parse_request(
    operation: OperationModel, body: bytes, validator: ShapeValidator
) -> dict[str, Any]:
    return validator.validate(operation.input_shape, parse_body(body))


def render_result(
    service: Service, operation: OperationModel, result: dict[str, Any]
) -> WireResponse:
    shape = operation.output_shape
    document = _value(shape, result) if shape is not None else {}
    body = json.dumps(document, separators=(",", ":")).encode("utf-8")
    return WireResponse(200, [("Content-Type", content_type(service))], body)


def event_stream_member(operation: OperationModel) -> str | None:
    """The output member that is an event stream (SubscribeToShard's EventStream)."""
    shape = operation.output_shape
    if shape is None:
        return None
    for name, member in shape.members.items():
        if member.serialization.get("eventstream"):
            return str(name)
    return None


def render_event_stream(
    service: Service, operation: OperationModel, result: dict[str, Any], member: str
) -> WireResponse:
    """An event-stream answer: the initial response, then each event as it comes.

    ``result[member]`` is an iterable of ``{event name: members}``, or ``{}`` while
    there is nothing to send (so that a client that left is noticed); a FogbankError
    raised while iterating becomes the stream's closing exception message.
    """
    shape = operation.output_shape
    assert isinstance(shape, StructureShape)
    stream_shape = shape.members[member]
    assert isinstance(stream_shape, StructureShape)
    initial = {k: v for k, v in result.items() if k != member}
    head = _value(shape, initial)
    events = result[member]

    def body() -> Iterator[bytes]:
        yield eventstream.event("initial-response", json.dumps(head).encode("utf-8"))
        iterator = iter(events)
        try:
            for item in iterator:
                if not item:
                    yield b""  # a tick: nothing to send yet
                for name, members in item.items():
                    payload = _value(stream_shape.members[name], members)
                    yield eventstream.event(name, json.dumps(payload).encode("utf-8"))
        except FogbankError as exc:
            error = {"message": exc.message}
            yield eventstream.exception(exc.code, json.dumps(error).encode("utf-8"))
        finally:
            close = getattr(iterator, "close", None)
            if callable(close):
                close()

    return WireResponse(200, [("Content-Type", eventstream.CONTENT_TYPE)], body())


def render_failure(service: Service | None, exc: FogbankError, request_id: str) -> WireResponse:
    body: dict[str, Any] = {"__type": exc.code, "message": exc.message}
    body.update(exc.fields)
    media = content_type(service) if service is not None else "application/x-amz-json-1.1"
    headers = [
        ("Content-Type", media),
        ("x-amzn-ErrorType", exc.code),
        ("x-amzn-RequestId", request_id),
    ]
    return WireResponse(status_for(exc.code), headers, json.dumps(body).encode("utf-8"))


def _value(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if value is None:
        return None
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                if member.serialization.get("location"):
                    continue  # headers and status belong to the REST bindings
                out[member.serialization.get("name", name)] = _value(member, value[name])
        return out
    if kind == "list":
        assert isinstance(shape, ListShape)
        return [_value(shape.member, item) for item in value]
    if kind == "map":
        assert isinstance(shape, MapShape)
        return {str(k): _value(shape.value, v) for k, v in value.items()}
    if kind == "blob":
        raw = value if isinstance(value, bytes) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if kind == "timestamp":
        assert isinstance(value, datetime)
        fmt = shape.serialization.get("timestampFormat", "unixTimestamp")
        if fmt == "iso8601":
            return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return round(value.timestamp(), 3)
    return value
