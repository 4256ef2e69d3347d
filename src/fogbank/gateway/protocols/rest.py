"""The REST bindings shared by rest-xml (S3) and rest-json (SageMaker Runtime).

Input members bound to the URI, the query string and headers are read by their
``location``; output members bound to headers and the status code are written the
same way. The payload (XML or JSON document, or a streaming blob) is each
protocol's own business.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from fogbank.core.errors import FogbankError, InvalidArgument
from fogbank.gateway.protocols.xml import parse_scalar


def bind_input(
    operation: OperationModel,
    labels: Mapping[str, str],
    query: Sequence[tuple[str, str]],
    headers: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    """Every input member bound to the URI, query string or headers, typed by its shape."""
    shape = operation.input_shape
    if shape is None:
        return {}
    params: dict[str, Any] = {}
    query_map: dict[str, list[str]] = {}
    for key, value in query:
        query_map.setdefault(key, []).append(value)
    header_map: dict[str, list[str]] = {}
    for name, value in headers:
        header_map.setdefault(name.lower(), []).append(value)
    bound_query: set[str] = set()
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            if wire in labels:
                params[name] = _scalar(unquote(labels[wire]), member, wire)
        elif location == "querystring":
            if member.type_name == "map":
                continue  # takes the keys no other member binds, below
            bound_query.add(wire)
            values = query_map.get(wire)
            if values is None:
                continue
            if member.type_name == "list":
                assert isinstance(member, ListShape)
                params[name] = [_scalar(v, member.member, wire) for v in values]
            else:
                params[name] = _scalar(values[0], member, wire)
        elif location == "header":
            values = header_map.get(wire.lower())
            if values is None:
                continue
            if member.type_name == "list":
                assert isinstance(member, ListShape)
                items = [v.strip() for joined in values for v in joined.split(",")]
                params[name] = [_scalar(v, member.member, wire) for v in items]
            else:
                params[name] = _header_scalar(", ".join(values), member, wire)
        elif location == "headers":
            prefix = wire.lower()
            found = {
                header[len(prefix) :]: ", ".join(values)
                for header, values in header_map.items()
                if header.startswith(prefix)
            }
            if found:
                params[name] = found
    for name, member in shape.members.items():
        if member.serialization.get("location") == "querystring" and member.type_name == "map":
            rest = {k: v[0] for k, v in query_map.items() if k not in bound_query}
            if rest:
                params[name] = rest
    return params


def _scalar(text: str, shape: Shape, where: str) -> Any:
    try:
        return parse_scalar(text, shape, where)
    except FogbankError:
        raise InvalidArgument(
            f"{where} has the value {text[:80]!r}, which is not a valid {shape.type_name}.",
            ArgumentName=where,
            ArgumentValue=text[:200],
        ) from None


def _header_scalar(text: str, shape: Shape, where: str) -> Any:
    if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
        try:
            return json.loads(base64.b64decode(text))
        except ValueError:
            raise InvalidArgument(
                f"{where} must be base64-encoded JSON.", ArgumentName=where
            ) from None
    return _scalar(text, shape, where)


def bind_output(
    operation: OperationModel, result: Mapping[str, Any]
) -> tuple[int | None, list[tuple[str, str]]]:
    """The status code and the headers the output members bound to them call for."""
    shape = operation.output_shape
    status: int | None = None
    headers: list[tuple[str, str]] = []
    if shape is None:
        return status, headers
    for name, member in shape.members.items():
        value = result.get(name)
        if value is None:
            continue
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "statusCode":
            status = int(value)
        elif location == "header":
            headers.append((wire, header_value(value, member)))
        elif location == "headers":
            assert isinstance(member, MapShape)
            headers.extend((f"{wire}{key}", str(item)) for key, item in value.items())
    return status, headers


def header_value(value: Any, shape: Shape) -> str:
    kind = shape.type_name
    if kind == "timestamp":
        assert isinstance(value, datetime)
        fmt = shape.serialization.get("timestampFormat", "rfc822")
        if fmt == "iso8601":
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if fmt == "unixTimestamp":
            return str(int(value.timestamp()))
        return format_datetime(value.astimezone(UTC), usegmt=True)
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "list":
        return ",".join(str(v) for v in value)
    if kind == "string" and shape.serialization.get("jsonvalue"):
        return base64.b64encode(json.dumps(value).encode()).decode()
    return str(value)


def payload_member(operation_shape: StructureShape | None) -> tuple[str, Shape] | None:
    """The member the protocol puts in the body on its own (``payload``), if any."""
    if operation_shape is None:
        return None
    name = operation_shape.serialization.get("payload")
    if name is None:
        return None
    return name, operation_shape.members[name]


def body_members(shape: StructureShape | None) -> bool:
    """Whether any member goes in the body (no location of its own)."""
    if shape is None:
        return False
    return any("location" not in m.serialization for m in shape.members.values())
