"""The JSON protocols: json 1.0/1.1 (``X-Amz-Target`` RPC) and rest-json bodies and errors.

Requests are JSON objects checked against the operation's input shape; results are
written by the output shape (blobs base64, timestamps as epoch seconds unless the
member says otherwise). Errors are ``{"__type": code, "message": ...}`` with the
code repeated in ``x-amzn-ErrorType``, as AWS sends them.
"""

from __future__ import annotations

import binascii
import json
import threading
from collections.abc import Callable, Iterator
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
    """``value`` as the JSON document ``shape`` describes: structures keep only their
    members that are set (under their wire names, less those bound to HTTP headers or
    status), blobs become base64 and timestamps epoch seconds or ISO 8601."""
    serialize = _serializer(shape)
    return value if serialize is None else serialize(value)


# ------------------------------------------------------------------ compiled serializers
#
# Walking the botocore shape per value cost more than the ``json.dumps`` after it, so
# each output shape is compiled once into functions. ``None`` stands for "the value as
# it is" (strings, numbers, booleans): those cost no call at all. Every compiled
# function takes ``None`` to ``None``, as list items and map values may be ``None``.

_Serializer = Callable[[Any], Any]

_PASS_THROUGH = frozenset({"string", "integer", "long", "boolean", "double", "float"})

_by_shape: dict[Shape, _Serializer | None] = {}
"""By shape object (botocore shapes hash and compare by identity). Each operation's
output shape is one object for the life of its model, so this is the path taken."""

_by_key: dict[tuple[Any, ...], _Serializer | None] = {}
"""By what the serializer depends on. botocore makes a new Shape object each time it
resolves a member, a recursive shape's too (Glue's ``Table`` holds a ``TableStatus``
holding a ``Table``), so compiling needs this key to see a shape again and to end."""

_many: dict[_Serializer, _Serializer] = {}
"""A structure's serializer -> the one for a list of that structure (one loop, not a
call per item)."""

_compile_lock = threading.Lock()


def _serializer(shape: Shape) -> _Serializer | None:
    """The compiled serializer of ``shape``; ``None``: values of it are sent as they are."""
    try:
        return _by_shape[shape]
    except KeyError:
        pass
    with _compile_lock:
        pending: dict[tuple[Any, ...], _Serializer | None] = {}
        serialize = _compile(shape, pending)
        # Published only once whole: a structure's function is registered before its
        # members are compiled (that is how recursion ends), and another thread must
        # never find one whose members are not there yet.
        _by_key.update(pending)
        _by_shape[shape] = serialize
    return serialize


def _shape_key(shape: Shape) -> tuple[Any, ...]:
    # The resolver stands for the service model (shape names are per model) and is held
    # by the key; the serialization traits carry a member's own (wire name, timestamp
    # format). Nothing else of a shape changes what it is written as.
    traits = tuple(sorted((k, repr(v)) for k, v in shape.serialization.items()))
    return (shape._shape_resolver, shape.name, shape.type_name, traits)


def _compile(
    shape: Shape, pending: dict[tuple[Any, ...], _Serializer | None]
) -> _Serializer | None:
    kind = shape.type_name
    if kind in _PASS_THROUGH:
        return None
    key = _shape_key(shape)
    if key in _by_key:
        return _by_key[key]
    if key in pending:
        return pending[key]
    compiled: _Serializer | None
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        members = [
            (str(name), str(member.serialization.get("name", name)), member)
            for name, member in shape.members.items()
            if not member.serialization.get("location")  # headers, status: the REST bindings
        ]
        fields: list[tuple[str, str, _Serializer | None]] = [
            (name, wire, None) for name, wire, _ in members
        ]
        compiled, many = _structure(fields)
        _many[compiled] = many
        pending[key] = compiled  # registered before its members: recursion ends here
        for index, (name, wire, member) in enumerate(members):
            fields[index] = (name, wire, _compile(member, pending))
        return compiled
    if kind == "list":
        assert isinstance(shape, ListShape)
        compiled = _list(_compile(shape.member, pending))
    elif kind == "map":
        assert isinstance(shape, MapShape)
        compiled = _map(_compile(shape.value, pending))
    elif kind == "blob":
        compiled = _blob
    elif kind == "timestamp":
        iso = shape.serialization.get("timestampFormat", "unixTimestamp") == "iso8601"
        compiled = _iso8601 if iso else _epoch_seconds
    else:
        compiled = None  # a type botocore adds later: as it is, as before
    pending[key] = compiled
    return compiled


def _structure(
    fields: list[tuple[str, str, _Serializer | None]],
) -> tuple[_Serializer, _Serializer]:
    """A structure's serializer and the one for a list of it, from its members' (name,
    wire name, serializer or ``None`` for "as it is"): unset members and keys that are
    no member are left out. ``fields`` may be filled in after this returns (a member
    that is the structure itself is compiled after it)."""

    def serialize(value: Any) -> Any:
        if value is None:
            return None
        out = {}
        get = value.get
        for name, wire, member in fields:
            item = get(name)
            if item is not None:
                out[wire] = item if member is None else member(item)
        return out

    def serialize_many(values: Any) -> Any:
        return None if values is None else [serialize(value) for value in values]

    return serialize, serialize_many


def _list(member: _Serializer | None) -> _Serializer:
    if member is None:

        def copy(value: Any) -> Any:
            return None if value is None else list(value)

        return copy
    many = _many.get(member)
    if many is not None:
        return many

    def serialize(value: Any) -> Any:
        return None if value is None else list(map(member, value))

    return serialize


def _map(member: _Serializer | None) -> _Serializer:
    # Plain loops: for the small maps of a result (often empty), building zip and map
    # objects costs more than the copy.
    if member is None:

        def copy(value: Any) -> Any:
            if value is None:
                return None
            out = {}
            for key, item in value.items():
                out[str(key)] = item
            return out

        return copy

    def serialize(value: Any) -> Any:
        if value is None:
            return None
        out = {}
        for key, item in value.items():
            out[str(key)] = member(item)
        return out

    return serialize


def _blob(value: Any) -> Any:
    if value is None:
        return None
    raw = value if isinstance(value, bytes) else bytes(value)
    return binascii.b2a_base64(raw, newline=False).decode("ascii")


def _iso8601(value: Any) -> Any:
    if value is None:
        return None
    assert isinstance(value, datetime)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _epoch_seconds(value: Any) -> Any:
    if value is None:
        return None
    assert isinstance(value, datetime)
    return round(value.timestamp(), 3)
