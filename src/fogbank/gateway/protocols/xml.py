"""XML bodies read and written by shape, as the rest-xml protocol (S3) lays them out.

Element names come from each member's ``locationName`` (else the member name);
lists are wrapped (``<Name><member>..</member></Name>``) unless ``flattened``;
timestamps are ISO 8601 with milliseconds, booleans ``true``/``false``, blobs base64.
Requests are parsed with defusedxml, so entity tricks are refused, not expanded.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeTree
from botocore.model import ListShape, MapShape, Shape, StructureShape
from defusedxml import DefusedXmlException

from fogbank.core.errors import MalformedXML

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _malformed(detail: str) -> MalformedXML:
    return MalformedXML(
        "The XML you provided was not well-formed or did not validate against our published "
        f"schema: {detail}"
    )


def parse_xml(body: bytes, shape: StructureShape) -> dict[str, Any]:
    """Read an XML request body into parameters for ``shape``."""
    try:
        root = SafeTree.fromstring(body)
    except (SafeTree.ParseError, DefusedXmlException, ValueError, LookupError) as exc:
        raise _malformed(f"{exc}; send a well-formed XML document.") from None
    expected = shape.serialization.get("name")
    if expected and _local(root.tag) != expected:
        raise _malformed(f"the root element is <{_local(root.tag)}>; expected <{expected}>.")
    value = _read(root, shape)
    assert isinstance(value, dict)
    return value


def _read(node: Element, shape: Shape) -> Any:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        out: dict[str, Any] = {}
        children: dict[str, list[Element]] = {}
        for child in node:
            children.setdefault(_local(child.tag), []).append(child)
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            if member.type_name == "list" and member.serialization.get("flattened"):
                assert isinstance(member, ListShape)
                item_name = member.member.serialization.get("name", wire)
                items = children.get(item_name, [])
                if items:
                    out[name] = [_read(item, member.member) for item in items]
                continue
            found = children.get(wire)
            if found:
                out[name] = _read(found[0], member)
        return out
    if kind == "list":
        assert isinstance(shape, ListShape)
        item_name = shape.member.serialization.get("name", "member")
        return [_read(child, shape.member) for child in node if _local(child.tag) == item_name]
    if kind == "map":
        assert isinstance(shape, MapShape)
        result: dict[str, Any] = {}
        for entry in node:
            key = entry.find(shape.key.serialization.get("name", "key"))
            val = entry.find(shape.value.serialization.get("name", "value"))
            if key is not None and val is not None:
                result[key.text or ""] = _read(val, shape.value)
        return result
    return parse_scalar(node.text or "", shape, _local(node.tag))


def parse_scalar(text: str, shape: Shape, where: str) -> Any:
    """A scalar from its text form (XML element, header or query value)."""
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text.strip())
        if kind in ("float", "double"):
            return float(text.strip())
        if kind == "boolean":
            lowered = text.strip().lower()
            if lowered not in ("true", "false"):
                raise ValueError(text)
            return lowered == "true"
        if kind == "blob":
            return base64.b64decode(text, validate=True)
        if kind == "timestamp":
            return parse_timestamp(text)
    except (ValueError, binascii.Error):
        raise _malformed(
            f"{where} has the value {text[:80]!r}, which is not a valid {kind}."
        ) from None
    return text


def parse_timestamp(text: str) -> datetime:
    """ISO 8601, RFC 822 (HTTP dates) or epoch seconds."""
    from email.utils import parsedate_to_datetime

    text = text.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            try:
                return datetime.fromtimestamp(float(text), UTC)
            except (OverflowError, OSError) as exc:
                raise ValueError(f"{text[:40]!r} is not a time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso8601(value: datetime) -> str:
    """``2026-01-01T00:00:00.000Z``, as S3 writes times in XML."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def render_xml(root_name: str, shape: Shape | None, value: Any, namespace: str | None) -> bytes:
    """An XML document whose root element ``root_name`` holds ``value`` laid out by ``shape``."""
    parts: list[str] = []
    attrs = f' xmlns="{namespace}"' if namespace else ""
    parts.append(f"<{root_name}{attrs}>")
    if shape is not None and isinstance(value, dict):
        _write_members(parts, shape, value)
    elif value is not None and shape is not None:
        parts.append(_escape(format_scalar(value, shape)))
    parts.append(f"</{root_name}>")
    return XML_DECLARATION + "".join(parts).encode("utf-8")


def _write_members(parts: list[str], shape: Shape, value: dict[str, Any]) -> None:
    assert isinstance(shape, StructureShape)
    for name, member in shape.members.items():
        if name not in value or value[name] is None or "location" in member.serialization:
            continue
        _write(parts, member.serialization.get("name", name), member, value[name])


def _write(parts: list[str], tag: str, shape: Shape, value: Any) -> None:
    kind = shape.type_name
    if kind == "structure":
        parts.append(f"<{tag}>")
        _write_members(parts, shape, value)
        parts.append(f"</{tag}>")
    elif kind == "list":
        assert isinstance(shape, ListShape)
        if shape.serialization.get("flattened"):
            item_tag = shape.member.serialization.get("name", tag)
            for item in value:
                _write(parts, item_tag, shape.member, item)
        else:
            item_tag = shape.member.serialization.get("name", "member")
            parts.append(f"<{tag}>")
            for item in value:
                _write(parts, item_tag, shape.member, item)
            parts.append(f"</{tag}>")
    elif kind == "map":
        assert isinstance(shape, MapShape)
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        flattened = shape.serialization.get("flattened")
        if not flattened:
            parts.append(f"<{tag}>")
        for key, item in value.items():
            parts.append("<entry>" if not flattened else f"<{tag}>")
            _write(parts, key_tag, shape.key, key)
            _write(parts, value_tag, shape.value, item)
            parts.append("</entry>" if not flattened else f"</{tag}>")
        if not flattened:
            parts.append(f"</{tag}>")
    else:
        parts.append(f"<{tag}>{_escape(format_scalar(value, shape))}</{tag}>")


def format_scalar(value: Any, shape: Shape) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return iso8601(value) if isinstance(value, datetime) else str(value)
    if kind == "blob":
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _escape(text: str) -> str:
    # Characters XML 1.0 cannot carry at all (NUL and most C0 controls) become U+FFFD.
    text = _NOT_XML.sub("\ufffd", text)
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\r", "&#13;")
    )


def render_error(code: str, message: str, fields: dict[str, str], request_id: str) -> bytes:
    """S3's error body: ``<Error><Code/><Message/>...<RequestId/></Error>``."""
    parts = [f"<Error><Code>{_escape(code)}</Code><Message>{_escape(message)}</Message>"]
    for name, value in fields.items():
        parts.append(f"<{name}>{_escape(value)}</{name}>")
    parts.append(f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>")
    return XML_DECLARATION + "".join(parts).encode("utf-8")
