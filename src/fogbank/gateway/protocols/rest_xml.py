"""The rest-xml protocol (S3): output members laid out as headers, status and XML body.

Input binding is shared with rest-json (:mod:`fogbank.gateway.protocols.rest`);
this module renders results and errors the way S3 does, including its root
element names, its namespace, and the empty bodies of HEAD and 304 responses.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from botocore.model import OperationModel, StructureShape

from fogbank.core.errors import FogbankError
from fogbank.gateway.errors import status_for
from fogbank.gateway.protocols.rest import bind_output, payload_member
from fogbank.gateway.protocols.xml import XML_DECLARATION, render_error, render_xml

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"

# S3 names the root element of a response body after the result, not the operation.
ROOT_ELEMENTS = {
    "ListBuckets": "ListAllMyBucketsResult",
    "ListObjects": "ListBucketResult",
    "ListObjectsV2": "ListBucketResult",
    "CreateMultipartUpload": "InitiateMultipartUploadResult",
    "CompleteMultipartUpload": "CompleteMultipartUploadResult",
    "DeleteObjects": "DeleteResult",
    "ListParts": "ListPartsResult",
    "ListMultipartUploads": "ListMultipartUploadsResult",
}


@dataclass
class WireResponse:
    """What goes back on the wire: a status, headers and a body (bytes or a stream)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | Iterable[bytes] = b""


def render_result(operation: OperationModel, result: dict[str, Any], method: str) -> WireResponse:
    """Lay out an operation's result as S3 does."""
    status, headers = bind_output(operation, result)
    status = result.get("_status", status or 200)
    shape = operation.output_shape
    payload = payload_member(shape)
    body: bytes | Iterable[bytes] = b""
    if payload is not None:
        name, member = payload
        value = result.get(name)
        if member.type_name == "blob":
            body = value if value is not None else b""
        elif value is not None:
            root = member.serialization.get("name", name)
            body = render_xml(root, member, value, S3_NAMESPACE)
    elif operation.name == "GetBucketLocation":
        body = render_xml("LocationConstraint", None, None, S3_NAMESPACE)
        if result.get("LocationConstraint"):
            location = result["LocationConstraint"]
            element = f'<LocationConstraint xmlns="{S3_NAMESPACE}">{location}</LocationConstraint>'
            body = XML_DECLARATION + element.encode()
    elif shape is not None and _has_body_members(shape):
        if result.get("_encode_keys"):
            result = _url_encode_keys(result)
        root = ROOT_ELEMENTS.get(operation.name, f"{operation.name}Result")
        body = render_xml(root, shape, result, S3_NAMESPACE)
    if method == "HEAD" or status in (204, 304):
        _close(body)
        body = b""
    blob = payload is not None and payload[1].type_name == "blob"
    if isinstance(body, bytes) and body and not blob:
        headers.append(("Content-Type", "application/xml"))
    return WireResponse(status, headers, body)


def render_failure(exc: FogbankError, request_id: str, method: str) -> WireResponse:
    """S3's error response; HEAD and 304 carry no body, as on S3."""
    status = status_for(exc.code)
    headers = [("x-amz-id-2", request_id)]
    if method == "HEAD" or status == 304:
        return WireResponse(status, headers, b"")
    headers.append(("Content-Type", "application/xml"))
    return WireResponse(
        status, headers, render_error(exc.code, exc.message, exc.fields, request_id)
    )


def _has_body_members(shape: StructureShape) -> bool:
    return any("location" not in m.serialization for m in shape.members.values())


def _url_encode_keys(result: dict[str, Any]) -> dict[str, Any]:
    """EncodingType=url: keys, prefixes and markers percent-encoded, as S3 does."""
    encoded = dict(result)
    for name in ("Prefix", "Delimiter", "StartAfter", "Marker", "NextMarker"):
        if encoded.get(name):
            encoded[name] = quote(encoded[name], safe="/")
    if encoded.get("Contents"):
        encoded["Contents"] = [{**c, "Key": quote(c["Key"], safe="/")} for c in encoded["Contents"]]
    if encoded.get("CommonPrefixes"):
        encoded["CommonPrefixes"] = [
            {"Prefix": quote(c["Prefix"], safe="/")} for c in encoded["CommonPrefixes"]
        ]
    return encoded


def _close(body: bytes | Iterable[bytes]) -> None:
    if isinstance(body, Iterator):
        close = getattr(body, "close", None)
        if callable(close):
            close()
