"""Hostile input over a real socket: the gateway answers every request with a well-formed AWS
error (or, for bytes that are not HTTP at all, closes the connection) and stays up.

Every request here is written byte by byte on a raw socket, so it can be one that
http.client would refuse to send. An answer is read with a deadline: a server that
hangs is a failure. What counts as a good answer:

- a valid HTTP request gets a response from the gateway (it carries ``x-amz-request-id``):
  a success where the request may succeed, else a 4xx (501 only for a well-formed
  request to an operation fogbank does not serve) whose body is S3's
  ``<Error><Code/><Message/>`` (none for HEAD and 304) or, for the JSON services,
  ``{"__type": .., "message": ..}`` with the code repeated in ``x-amzn-ErrorType``;
- bytes that are not valid HTTP (random bytes, bad chunked framing, truncated bodies)
  may instead get uvicorn's own plain 400, or a closed connection, but never a 5xx;
- afterwards ListBuckets still works.
"""

from __future__ import annotations

import gc
import json
import select
import socket
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import botocore.session
import pytest
from botocore.model import OperationModel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fogbank import Fogbank, FogbankConfig
from fogbank.gateway.server import BackgroundServer

TIMEOUT = 10.0
"""Seconds a response may take before the server counts as hung."""
SETTLE = 0.15
"""Seconds to wait for an answer to random bytes before half-closing (the server may be
waiting for the rest of a request those bytes began)."""

BUCKET = "fuzz"
KEY = "object.txt"
CONTENT = b"hello, fuzz\n" * 10
MP_KEY = "multipart.bin"

JSON_TARGETS = (
    "Kinesis_20131202.PutRecord",
    "Kinesis_20131202.CreateStream",
    "AWSGlue.CreateDatabase",
    "AmazonAthena.StartQueryExecution",
    "SageMaker.CreateTrainingJob",
    "Firehose_20150804.PutRecordBatch",
    "AWSStepFunctions.StartExecution",
)
JSON_CONTENT_TYPES = ("application/x-amz-json-1.1", "application/x-amz-json-1.0")
SERVICE_OF_PREFIX = {
    "Kinesis_20131202": "kinesis",
    "AWSGlue": "glue",
    "AmazonAthena": "athena",
    "SageMaker": "sagemaker",
    "Firehose_20150804": "firehose",
    "AWSStepFunctions": "stepfunctions",
}

_SESSION = botocore.session.get_session()


def operation_model(target: str) -> OperationModel:
    prefix, _, name = target.partition(".")
    return _SESSION.get_service_model(SERVICE_OF_PREFIX[prefix]).operation_model(name)


# --------------------------------------------------------------------------- the wire


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def http_request(
    method: str | bytes,
    target: str | bytes,
    headers: Sequence[tuple[str | bytes, str | bytes]] = (),
    body: bytes = b"",
    *,
    host: str | bytes = "localhost",
    close: bool = True,
) -> bytes:
    """One HTTP/1.1 request, byte for byte, with Content-Length unless the headers frame it."""
    lines = [_bytes(method) + b" " + _bytes(target) + b" HTTP/1.1", b"Host: " + _bytes(host)]
    lines += [_bytes(name) + b": " + _bytes(value) for name, value in headers]
    names = {_bytes(name).lower() for name, _ in headers}
    if b"content-length" not in names and b"transfer-encoding" not in names:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    if close:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def json_request(
    target: str | bytes,
    body: bytes,
    content_type: str = "application/x-amz-json-1.1",
    **kwargs: Any,
) -> bytes:
    headers = [("X-Amz-Target", target), ("Content-Type", content_type)]
    return http_request("POST", "/", headers, body, **kwargs)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    raw_head: bytes

    def header(self, name: str) -> str | None:
        found = [value for key, value in self.headers if key == name.lower()]
        return found[-1] if found else None

    def __str__(self) -> str:
        return f"{self.raw_head.decode('latin-1')!r} body {self.body[:600]!r}"


class Hung(AssertionError):
    pass


def _recv(sock: socket.socket, deadline: float) -> bytes:
    left = deadline - time.monotonic()
    if left <= 0:
        raise Hung(f"no complete answer within {TIMEOUT} s")
    sock.settimeout(left)
    try:
        return sock.recv(65536)
    except TimeoutError:
        raise Hung(f"no complete answer within {TIMEOUT} s") from None
    except ConnectionResetError:
        return b""


def read_reply(sock: socket.socket, method: str = "GET") -> Reply | None:
    """One HTTP/1.1 response, or None when the server closed without answering."""
    deadline = time.monotonic() + TIMEOUT
    buffer = b""
    while True:
        while b"\r\n\r\n" not in buffer:
            chunk = _recv(sock, deadline)
            if not chunk:
                assert not buffer, f"the connection closed inside a response head: {buffer!r}"
                return None
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 1"):
            break
        buffer = rest  # an interim response (100 Continue): the real one follows
    status_line, *header_lines = head.split(b"\r\n")
    version, _, status_text = status_line.partition(b" ")
    assert version == b"HTTP/1.1", f"not an HTTP/1.1 status line: {status_line!r}"
    status = int(status_text.split(b" ", 1)[0])
    headers: list[tuple[str, str]] = []
    for line in header_lines:
        name, colon, value = line.partition(b":")
        assert colon and name == name.strip(), f"malformed response header line {line!r}"
        headers.append((name.decode("latin-1").lower(), value.strip().decode("latin-1")))
    reply = Reply(status, tuple(headers), b"", head)
    if method == "HEAD" or status in (204, 304):
        return reply
    if (reply.header("transfer-encoding") or "").lower() == "chunked":
        body = _read_chunked(sock, rest, deadline)
    elif reply.header("content-length") is not None:
        size = int(reply.header("content-length") or "")
        while len(rest) < size:
            chunk = _recv(sock, deadline)
            assert chunk, f"the connection closed {size - len(rest)} bytes short: {reply}"
            rest += chunk
        body = rest[:size]
    else:
        while chunk := _recv(sock, deadline):
            rest += chunk
        body = rest
    return Reply(status, tuple(headers), body, head)


def _read_chunked(sock: socket.socket, data: bytes, deadline: float) -> bytes:
    body = b""
    while True:
        while b"\r\n" not in data:
            chunk = _recv(sock, deadline)
            assert chunk, "the connection closed inside a chunked response"
            data += chunk
        line, _, data = data.partition(b"\r\n")
        size = int(line.split(b";")[0], 16)
        while len(data) < size + 2:
            chunk = _recv(sock, deadline)
            assert chunk, "the connection closed inside a chunked response"
            data += chunk
        if size == 0:
            return body
        body += data[:size]
        data = data[size + 2 :]


def _send(sock: socket.socket, data: bytes) -> None:
    with suppress(OSError):  # the server may answer and close before reading all of it
        sock.sendall(data)


def exchange(port: int, data: bytes, method: str = "GET", *, shut: bool = False) -> Reply | None:
    """Send ``data`` (then half-close if ``shut``) and read one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        _send(sock, data)
        if shut:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
        return read_reply(sock, method)


def exchange_garbage(port: int, data: bytes) -> Reply | None:
    """Send bytes that may be an unfinished request: half-close if no answer comes soon."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        _send(sock, data)
        readable, _, _ = select.select([sock], [], [], SETTLE)
        if not readable:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
        return read_reply(sock, method=_method_of(data))


def exchange_twice(port: int, data: bytes, method: str) -> tuple[Reply | None, Reply | None]:
    """Send ``data``, read the first response, half-close, read whatever else comes."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        _send(sock, data)
        first = read_reply(sock, method)
        with suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        second = read_reply(sock, "GET") if first is not None else None
        return first, second


def _method_of(data: bytes) -> str:
    return data.split(b" ", 1)[0].decode("latin-1")


# --------------------------------------------------------------------------- the checks


def assert_s3_error(
    reply: Reply | None, method: str = "GET", *, codes: Sequence[str] = (), allow_501: bool = False
) -> None:
    assert reply is not None, "the server closed the connection without answering"
    _assert_error_status(reply, allow_501=allow_501, allow_304=True)
    assert reply.header("x-amz-request-id"), f"no x-amz-request-id: {reply}"
    if method == "HEAD" or reply.status == 304:
        assert reply.body == b"", f"a HEAD or 304 error has no body: {reply}"
        return
    assert reply.header("content-type") == "application/xml", f"not an XML error: {reply}"
    root = ElementTree.fromstring(reply.body)
    assert root.tag == "Error", f"the root element is not <Error>: {reply}"
    code, message = root.findtext("Code"), root.findtext("Message")
    assert code, f"no <Code>: {reply}"
    assert message, f"no <Message>: {reply}"
    if codes:
        assert code in codes, f"expected one of {codes}, got {code}: {reply}"


def assert_json_error(
    reply: Reply | None, *, codes: Sequence[str] = (), allow_501: bool = False
) -> None:
    assert reply is not None, "the server closed the connection without answering"
    _assert_error_status(reply, allow_501=allow_501, allow_304=False)
    assert reply.header("x-amz-request-id"), f"no x-amz-request-id: {reply}"
    content_type = reply.header("content-type") or ""
    assert content_type.startswith(("application/x-amz-json-", "application/json")), (
        f"not a JSON error: {reply}"
    )
    document = json.loads(reply.body)
    assert isinstance(document, dict), f"the error body is not a JSON object: {reply}"
    code, message = document.get("__type"), document.get("message")
    assert isinstance(code, str) and code, f"no __type: {reply}"
    assert isinstance(message, str) and message, f"no message: {reply}"
    assert reply.header("x-amzn-errortype") == code, f"x-amzn-ErrorType is not __type: {reply}"
    if codes:
        assert code in codes, f"expected one of {codes}, got {code}: {reply}"


def _assert_error_status(reply: Reply, *, allow_501: bool, allow_304: bool) -> None:
    if reply.status == 501 and allow_501:
        return
    if reply.status == 304 and allow_304:
        return
    assert 400 <= reply.status < 500, f"expected a 4xx error, got {reply.status}: {reply}"


def assert_s3_answer(
    reply: Reply | None, method: str = "GET", *, ok: Sequence[int] = (200, 204, 206), **kw: Any
) -> None:
    """A success in ``ok``, or a well-formed S3 error."""
    if reply is not None and reply.status in ok:
        assert reply.header("x-amz-request-id"), f"no x-amz-request-id: {reply}"
        return
    assert_s3_error(reply, method, **kw)


def assert_survived(reply: Reply | None, method: str = "GET") -> None:
    """The answer to bytes that need not be valid HTTP: none, uvicorn's 4xx, or the gateway's."""
    if reply is None:
        return
    if reply.header("x-amz-request-id") is None:
        # Not the gateway: uvicorn (or Starlette's router) refusing the bytes outright.
        assert 400 <= reply.status < 500, f"expected a 4xx, got {reply.status}: {reply}"
        return
    if reply.status < 400:
        return
    content_type = reply.header("content-type") or ""
    if reply.header("x-amzn-errortype") is not None or "json" in content_type:
        assert_json_error(reply, allow_501=True)
    else:
        assert_s3_error(reply, method, allow_501=True)


def cases(names: Sequence[str]) -> list[Any]:
    """Parameters ``names``, each with its name as its id."""
    return [pytest.param(name, id=name) for name in names]


def assert_alive(port: int) -> None:
    reply = exchange(port, http_request("GET", "/"))
    assert reply is not None, "the server no longer answers ListBuckets"
    assert reply.status == 200, f"ListBuckets failed afterwards: {reply}"
    assert b"<ListAllMyBucketsResult" in reply.body


# --------------------------------------------------------------------------- the server


@dataclass(frozen=True)
class Target:
    port: int
    upload_id: str
    root: Path
    lake: Path


@contextmanager
def _start(auth: str) -> Iterator[tuple[BackgroundServer, Path, Fogbank]]:
    with tempfile.TemporaryDirectory() as tmp:
        config = FogbankConfig.load(home=Path(tmp) / "home", environ={}, auth=auth)
        with Fogbank(config) as fogbank, BackgroundServer(fogbank) as server:
            yield server, Path(tmp), fogbank


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with _start("none") as (server, root, fogbank):
        port = server.port
        reply = exchange(port, http_request("PUT", f"/{BUCKET}"))
        assert reply is not None and reply.status == 200, reply
        reply = exchange(port, http_request("PUT", f"/{BUCKET}/{KEY}", body=CONTENT))
        assert reply is not None and reply.status == 200, reply
        reply = exchange(port, http_request("POST", f"/{BUCKET}/{MP_KEY}?uploads"))
        assert reply is not None and reply.status == 200, reply
        upload_id = ElementTree.fromstring(reply.body).findtext(
            "{http://s3.amazonaws.com/doc/2006-03-01/}UploadId"
        )
        assert upload_id
        yield Target(port, upload_id, root, fogbank.config.lake_root)


@pytest.fixture(scope="module")
def signed_port() -> Iterator[int]:
    """A second server, with ``auth = sigv4``."""
    with _start("sigv4") as (server, _, _):
        yield server.port


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- random bytes

AWS_CHUNKED = (
    ("Content-Encoding", "aws-chunked"),
    ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
    ("x-amz-decoded-content-length", "5"),
)
TEMPLATES = (
    http_request("GET", "/", close=False),
    http_request("GET", f"/{BUCKET}?list-type=2&max-keys=5&prefix=o"),
    http_request("HEAD", f"/{BUCKET}/{KEY}"),
    http_request("GET", f"/{BUCKET}/{KEY}", [("Range", "bytes=0-3")]),
    http_request("PUT", f"/{BUCKET}/mutant.txt", [("Content-Type", "text/plain")], b"hello"),
    http_request("PUT", f"/{BUCKET}/mutant.bin", AWS_CHUNKED, b"5\r\nhello\r\n0\r\n\r\n"),
    http_request(
        "POST", f"/{BUCKET}?delete", [], b"<Delete><Object><Key>x</Key></Object></Delete>"
    ),
    json_request("Kinesis_20131202.PutRecord", b'{"StreamName":"s","PartitionKey":"p"}'),
    json_request("AWSGlue.CreateDatabase", b'{"DatabaseInput":{"Description":"d"}}'),
)
PIECES = (b"\x00", b"\r\n", b"\r", b"\n", b":", b" ", b"%", b"\xff", b"9", b"-", b"\r\n\r\n", b"?")
PREFIXES = (
    b"GET /",
    b"GET / HTTP/1.1\r\n",
    b"PUT /fuzz/x HTTP/1.1\r\nContent-Length: 3\r\n",
    b"POST / HTTP/1.1\r\nX-Amz-Target: Kinesis_20131202.PutRecord\r\n",
)


@st.composite
def mutants(draw: st.DrawFn) -> bytes:
    """A valid request with a few bytes replaced, inserted or deleted."""
    data = bytearray(draw(st.sampled_from(TEMPLATES)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        piece = draw(st.sampled_from(PIECES) | st.binary(min_size=1, max_size=4))
        kind = draw(st.sampled_from(("replace", "insert", "delete")))
        if kind == "replace":
            data[at : at + len(piece)] = piece
        elif kind == "insert":
            data[at:at] = piece
        else:
            del data[at : at + draw(st.integers(1, 12))]
    return bytes(data)


@settings(FUZZ, max_examples=120)
@given(
    data=st.binary(min_size=1, max_size=2048)
    | st.builds(bytes.__add__, st.sampled_from(PREFIXES), st.binary(max_size=512))
)
def test_random_bytes_as_the_whole_request(target: Target, data: bytes) -> None:
    reply = exchange_garbage(target.port, data)
    assert_survived(reply, _method_of(data))
    assert_alive(target.port)


@settings(FUZZ, max_examples=150)
@given(data=mutants())
def test_mutated_requests(target: Target, data: bytes) -> None:
    reply = exchange_garbage(target.port, data)
    assert_survived(reply, _method_of(data))
    assert_alive(target.port)


# --------------------------------------------------------------------------- random bodies

S3_BODY_OPERATIONS = {
    "PutObject": ("PUT", f"/{BUCKET}/fuzzed.bin", ()),
    "PutObject-aws-chunked": ("PUT", f"/{BUCKET}/fuzzed-chunked.bin", AWS_CHUNKED),
    "CreateBucket": ("PUT", "/fuzz-created", ()),
    "CompleteMultipartUpload": ("POST", f"/{BUCKET}/{MP_KEY}?uploadId={{upload}}", ()),
    "DeleteObjects": ("POST", f"/{BUCKET}?delete", ()),
}
XML_TAGS = (
    "Delete",
    "Object",
    "Key",
    "VersionId",
    "Quiet",
    "CompleteMultipartUpload",
    "Part",
    "PartNumber",
    "ETag",
    "ChecksumCRC32",
    "CreateBucketConfiguration",
    "LocationConstraint",
    "Bucket",
    "x",
)


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


xml_elements = st.recursive(
    st.text(max_size=20).map(_xml_text),
    lambda children: st.builds(
        lambda tag, inner: f"<{tag}>{''.join(inner)}</{tag}>",
        st.sampled_from(XML_TAGS),
        st.lists(children, max_size=4),
    ),
    max_leaves=12,
)
xml_documents = st.builds(
    lambda declaration, tag, inner: (declaration + f"<{tag}>{''.join(inner)}</{tag}>").encode(),
    st.sampled_from(("", '<?xml version="1.0" encoding="UTF-8"?>')),
    st.sampled_from(("Delete", "CompleteMultipartUpload", "CreateBucketConfiguration", "x")),
    st.lists(xml_elements, max_size=5),
)


@settings(FUZZ, max_examples=120)
@given(
    operation=st.sampled_from(sorted(S3_BODY_OPERATIONS)),
    body=st.binary(max_size=4096) | xml_documents,
)
def test_random_bodies_for_s3(target: Target, operation: str, body: bytes) -> None:
    method, path, headers = S3_BODY_OPERATIONS[operation]
    request = http_request(method, path.format(upload=target.upload_id), headers, body)
    assert_s3_answer(exchange(target.port, request, method), method)
    assert_alive(target.port)


@settings(FUZZ, max_examples=100)
@given(
    operation=st.sampled_from(JSON_TARGETS),
    content_type=st.sampled_from(JSON_CONTENT_TYPES),
    body=st.binary(max_size=2048),
)
def test_random_bytes_as_json_bodies(
    target: Target, operation: str, content_type: str, body: bytes
) -> None:
    assert_json_error(exchange(target.port, json_request(operation, body, content_type)))
    assert_alive(target.port)


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),  # NaN and the infinities included: json.dumps writes NaN / Infinity
    st.text(max_size=30),
)


@st.composite
def json_documents(draw: st.DrawFn, operation: str) -> bytes:
    """An object of the operation's members (and others) with values of any type, one
    required member left out so that no document is a valid request."""
    shape = operation_model(operation).input_shape
    names = st.sampled_from(sorted(shape.members)) | st.text(max_size=10)
    values = st.recursive(
        json_leaves,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(names, children, max_size=4)
        ),
        max_leaves=25,
    )
    document = draw(st.dictionaries(names, values, max_size=8))
    document.pop(draw(st.sampled_from(shape.required_members)), None)
    return json.dumps(document).encode()


@settings(FUZZ, max_examples=150)
@given(data=st.data(), operation=st.sampled_from(JSON_TARGETS))
def test_random_json_documents(target: Target, data: st.DataObject, operation: str) -> None:
    body = data.draw(json_documents(operation))
    reply = exchange(target.port, json_request(operation, body))
    assert_json_error(reply, codes=("SerializationException", "ValidationException"))
    assert_alive(target.port)


# --------------------------------------------------------------------------- malformed XML

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>\n<{root}><{leaf}>&lol9;</{leaf}></{root}>"
)
XXE_FILE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b"<{root}><{leaf}>&xxe;</{leaf}></{root}>"
)
XXE_PARAMETER = (
    b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n'
    b"<{root}><{leaf}>x</{leaf}></{root}>"
)
XXE_EXTERNAL_DTD = (
    b'<?xml version="1.0"?>\n<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd">\n'
    b"<{root}><{leaf}>x</{leaf}></{root}>"
)
XML_ATTACKS: dict[str, tuple[bytes, bool]] = {
    # name: (body with {root} and {leaf} to fill, whether it must be MalformedXML)
    "unclosed-tag": (b"<{root}><{leaf}>x</{leaf}>", True),
    "unclosed-leaf": (b"<{root}><{leaf}>x</{root}>", True),
    "wrong-root": (b"<NotTheRoot><{leaf}>x</{leaf}></NotTheRoot>", True),
    "two-roots": (b"<{root}/><{root}/>", True),
    "not-xml": (b"this is not XML at all", True),
    "only-declaration": (b'<?xml version="1.0"?>', True),
    "billion-laughs": (BILLION_LAUGHS, True),
    "xxe-file": (XXE_FILE, True),
    "xxe-parameter-entity": (XXE_PARAMETER, True),
    "xxe-external-dtd": (XXE_EXTERNAL_DTD, False),
    "deep-nesting-unclosed": (b"<{root}>" + b"<a>" * 10000, True),
    "deep-nesting": (b"<{root}>" + b"<a>" * 10000 + b"</a>" * 10000 + b"</{root}>", False),
    "deep-nesting-in-leaf": (
        b"<{root}><{leaf}>" + b"<a>" * 10000 + b"</a>" * 10000 + b"</{leaf}></{root}>",
        False,
    ),
    "non-utf8": (b"<{root}><{leaf}>\xff\xfe\xfd</{leaf}></{root}>", True),
    "declared-utf16-sent-utf8": (
        b'<?xml version="1.0" encoding="UTF-16"?><{root}><{leaf}>x</{leaf}></{root}>',
        True,
    ),
    "unknown-encoding": (
        b'<?xml version="1.0" encoding="x-no-such"?><{root}><{leaf}>x</{leaf}></{root}>',
        True,
    ),
    "latin1-declared": (
        b'<?xml version="1.0" encoding="ISO-8859-1"?><{root}><{leaf}>\xe9</{leaf}></{root}>',
        False,
    ),
    "invalid-char-reference": (b"<{root}><{leaf}>&#0;&#xD800;</{leaf}></{root}>", True),
    "undefined-entity": (b"<{root}><{leaf}>&nope;</{leaf}></{root}>", True),
    "nul-byte": (b"<{root}><{leaf}>a\x00b</{leaf}></{root}>", True),
    "cdata-unclosed": (b"<{root}><{leaf}><![CDATA[x</{leaf}></{root}>", True),
    "huge-attribute": (b'<{root} a="' + b"x" * 1_000_000 + b'"></{root}>', False),
    "many-children": (b"<{root}>" + b"<{leaf}>1</{leaf}>" * 20000 + b"</{root}>", False),
    "namespace-garbage": (b'<p:{root} xmlns:p="\xff"><{leaf}/></p:{root}>', True),
    "undeclared-prefix": (b"<p:{root}><{leaf}/></p:{root}>", True),
}
XML_OPERATIONS = {
    # name: (method, path, root element, a leaf element)
    "CreateBucket": (
        "PUT",
        "/fuzz-xml-{case}",
        b"CreateBucketConfiguration",
        b"LocationConstraint",
    ),
    "CompleteMultipartUpload": (
        "POST",
        f"/{BUCKET}/{MP_KEY}?uploadId={{upload}}",
        b"CompleteMultipartUpload",
        b"Part",
    ),
    "DeleteObjects": ("POST", f"/{BUCKET}?delete", b"Delete", b"Object"),
}


@pytest.mark.parametrize("attack", cases(sorted(XML_ATTACKS)))
def test_malformed_xml(target: Target, attack: str) -> None:
    template, malformed = XML_ATTACKS[attack]
    for method, path, root, leaf in XML_OPERATIONS.values():
        body = template.replace(b"{root}", root).replace(b"{leaf}", leaf)
        path = path.format(upload=target.upload_id, case=attack)
        reply = exchange(target.port, http_request(method, path, body=body), method)
        if malformed:
            assert_s3_error(reply, codes=("MalformedXML",))
        else:
            assert_s3_answer(reply)
        assert reply is not None
        assert b"root:" not in reply.body, "an external entity was expanded"
        assert b"lollollol" not in reply.body, "an entity was expanded"
    assert_alive(target.port)


# --------------------------------------------------------------------------- malformed JSON


JSON_ATTACKS: dict[str, bytes] = {
    "truncated": b'{"StreamName": "abc',
    "truncated-after-colon": b'{"a":',
    "unbalanced": b"{}}",
    "array": b"[]",
    "string": b'"x"',
    "number": b"1",
    "null": b"null",
    "true": b"true",
    "bare-nan": b"NaN",
    "bare-infinity": b"-Infinity",
    "nan-members": b'{"ShardCount": NaN, "StreamName": Infinity, "QueryString": -Infinity}',
    "deep-arrays": b"[" * 10000 + b"]" * 10000,
    "deep-objects": b'{"a":' * 10000 + b"1" + b"}" * 10000,
    "deep-unclosed": b"[" * 10000,
    "deep-member": b'{"{member}": ' + b"[" * 10000 + b"]" * 10000 + b"}",
    "huge-integer": b'{"ShardCount": ' + b"9" * 5000 + b"}",
    "huge-integer-unknown-member": b'{"NoSuchMember": -' + b"1" * 5000 + b"}",
    "huge-exponent": b'{"ShardCount": 1e400, "Limit": -1e400}',
    "invalid-utf8": b'{"StreamName": "\xff\xfe"}',
    "utf16": '{"x": "s"}'.encode("utf-16"),
    "utf32": '{"x": "s"}'.encode("utf-32"),
    "utf8-bom": b'\xef\xbb\xbf{"x": "s"}',
    "lone-surrogate": b'{"StreamName": "\\ud800", "Data": "\\udfff"}',
    "raw-control-char": b'{"StreamName": "a\x00b"}',
    "duplicate-keys": b'{"StreamName": 1, "StreamName": "s", "StreamName": []}',
    "trailing-garbage": b"{}garbage",
    "empty-key": b'{"": {"": []}}',
    "comment": b'{/* comment */ "a": 1}',
    "single-quotes": b"{'a': 1}",
    "huge-string": b'{"StreamName": "' + b"a" * 1_000_000 + b'"}',
    "many-keys": b"{" + b",".join(b'"k%d":1' % i for i in range(50000)) + b"}",
    "long-list": b'{"Records": [' + b",".join([b'{"Data": 1}'] * 20000) + b"]}",
}


@pytest.mark.parametrize("attack", cases(sorted(JSON_ATTACKS)))
def test_malformed_json(target: Target, attack: str) -> None:
    for index, operation in enumerate(JSON_TARGETS):
        member = sorted(operation_model(operation).input_shape.members)[0]
        body = JSON_ATTACKS[attack].replace(b"{member}", member.encode())
        request = json_request(operation, body, JSON_CONTENT_TYPES[index % 2])
        assert_json_error(exchange(target.port, request))
    assert_alive(target.port)


WRONG_VALUES: dict[str, tuple[Any, ...]] = {
    "string": (5, ["a"], {"a": "b"}, True, 1.5),
    "integer": ("1", 1.5, 2**64, -(2**63) - 1, True, [1], {"a": 1}, 10**300),
    "long": ("1", 2**64, 10**300, 1e300, float("nan")),
    "float": ("1.0", True, [1.0], float("nan"), float("inf")),
    "double": ("1.0", True, {"a": 1}, float("-inf"), 10**400),
    "boolean": ("true", 1, 0, [True]),
    "structure": ([], "s", 1, True),
    "list": ({}, "s", 1, [[[[]]]]),
    "map": ([], "s", 1, {"k": [[]]}),
    "blob": (5, "not base64!", "YQ", [], {"a": 1}),
    "timestamp": ("garbage", [], 1e300, -1e300, float("nan"), "99999-01-01", 10**400),
}


def _wrong_documents(operation: str) -> Iterator[dict[str, Any]]:
    """Each member given each value of a wrong type, at the top level and one level down."""
    shape = operation_model(operation).input_shape
    for name, member in shape.members.items():
        for value in WRONG_VALUES.get(member.type_name, (5,)):
            yield {name: value}
        if member.type_name == "structure":
            for inner, inner_member in member.members.items():
                wrong = WRONG_VALUES.get(inner_member.type_name, (5,))[0]
                yield {name: {inner: wrong}}
        elif member.type_name == "list" and member.member.type_name == "structure":
            yield {name: [5, "s", None, []]}


@pytest.mark.parametrize("operation", JSON_TARGETS)
def test_json_members_of_the_wrong_type(target: Target, operation: str) -> None:
    for document in _wrong_documents(operation):
        body = json.dumps(document).encode()
        reply = exchange(target.port, json_request(operation, body))
        assert_json_error(reply, codes=("SerializationException", "ValidationException"))
    assert_alive(target.port)


UNKNOWN_TARGETS: dict[str, bytes] = {
    "unknown-operation": b"Kinesis_20131202.NoSuchOperation",
    "empty-operation": b"Kinesis_20131202.",
    "no-dot": b"Kinesis_20131202",
    "lowercase-operation": b"AWSGlue.createDatabase",
    "extra-part": b"Kinesis_20131202.PutRecord.Extra",
    "dunder": b"SageMaker.__class__",
    "python-attribute": b"SageMaker.operation_names",
    "long-operation": b"AWSGlue." + b"A" * 10000,
    "non-ascii-operation": b"Kinesis_20131202.Put\xc3\xa9",
    "latin1-operation": b"AmazonAthena.\xff\xfe",
    "unknown-prefix": b"NoSuchService_20200101.PutRecord",
    "unspoken-aws-service": b"DynamoDB_20120810.GetItem",
    "lowercase-prefix": b"kinesis_20131202.PutRecord",
    "dot-only": b".",
    "leading-dot": b".PutRecord",
    "long-prefix": b"X" * 10000,
    "spaces": b"AWSStepFunctions .StartExecution",
}


UNKNOWN_PREFIXES = (
    "unknown-prefix",
    "unspoken-aws-service",
    "lowercase-prefix",
    "dot-only",
    "leading-dot",
    "long-prefix",
    "spaces",
)


@pytest.mark.parametrize("name", cases(sorted(UNKNOWN_TARGETS)))
def test_unknown_x_amz_target(target: Target, name: str) -> None:
    reply = exchange(target.port, json_request(UNKNOWN_TARGETS[name], b"{}"))
    assert_json_error(reply, codes=("UnknownOperationException",))
    assert_alive(target.port)


@pytest.mark.parametrize("value", [b"", b" "])
def test_empty_x_amz_target(target: Target, value: bytes) -> None:
    """An empty target names no JSON service: the request is S3's, and gets S3's error."""
    reply = exchange(target.port, json_request(value, b"{}"), "POST")
    assert_s3_error(reply)
    assert_alive(target.port)


# A well-formed request for each JSON operation: fogbank serves none of them yet, so
# each must be refused with 501 NotImplemented (or, once served, answered properly).
VALID_JSON: dict[str, dict[str, Any]] = {
    "Kinesis_20131202.PutRecord": {"StreamName": "s", "Data": "YQ==", "PartitionKey": "p"},
    "Kinesis_20131202.CreateStream": {"StreamName": "s", "ShardCount": 1},
    "AWSGlue.CreateDatabase": {"DatabaseInput": {"Name": "db"}},
    "AmazonAthena.StartQueryExecution": {"QueryString": "SELECT 1"},
    "SageMaker.CreateTrainingJob": {
        "TrainingJobName": "job",
        "RoleArn": "arn:aws:iam::000000000000:role/fogbank",
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "img"},
        "OutputDataConfig": {"S3OutputPath": "s3://fuzz/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
    },
    "Firehose_20150804.PutRecordBatch": {"DeliveryStreamName": "d", "Records": [{"Data": "YQ=="}]},
    "AWSStepFunctions.StartExecution": {
        "stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:sm"
    },
}


@pytest.mark.parametrize("operation", JSON_TARGETS)
def test_well_formed_json_request_for_an_unserved_operation(target: Target, operation: str) -> None:
    body = json.dumps(VALID_JSON[operation]).encode()
    reply = exchange(target.port, json_request(operation, body))
    assert reply is not None
    if reply.status != 200:
        assert_json_error(reply, allow_501=True)
    assert_alive(target.port)


UNSERVED_S3 = {
    "GetBucketAcl": http_request("GET", f"/{BUCKET}?acl"),
    "GetBucketPolicy": http_request("GET", f"/{BUCKET}?policy"),
    "DeleteBucketCors": http_request("DELETE", f"/{BUCKET}?cors"),
    "PutBucketTagging": http_request(
        "PUT", f"/{BUCKET}?tagging", body=b"<Tagging><TagSet></TagSet></Tagging>"
    ),
    "GetObjectAcl": http_request("GET", f"/{BUCKET}/{KEY}?acl"),
    "HeadObject-unserved-subresource": http_request("GET", f"/{BUCKET}/{KEY}?tagging"),
}


@pytest.mark.parametrize("name", sorted(UNSERVED_S3))
def test_well_formed_s3_request_for_an_unserved_operation(target: Target, name: str) -> None:
    data = UNSERVED_S3[name]
    method = _method_of(data)
    assert_s3_answer(exchange(target.port, data, method), method, allow_501=True)
    assert_alive(target.port)


RUNTIME_HOST = "runtime.sagemaker.us-east-1.amazonaws.com"
SAGEMAKER_RUNTIME: dict[str, bytes] = {
    "InvokeEndpoint": http_request(
        "POST",
        "/endpoints/ep/invocations",
        [("Content-Type", "text/csv")],
        b"1,2",
        host=RUNTIME_HOST,
    ),
    "InvokeEndpoint-random-body": http_request(
        "POST", "/endpoints/ep/invocations", [], bytes(range(256)), host=RUNTIME_HOST
    ),
    "no-such-route": http_request("POST", "/nothing/here", [], b"{}", host=RUNTIME_HOST),
    "bad-method": http_request("DELETE", "/endpoints/ep/invocations", host=RUNTIME_HOST),
    "percent-garbage": http_request("POST", "/endpoints/%zz%/invocations", host=RUNTIME_HOST),
    "long-name": http_request(
        "POST", "/endpoints/" + "e" * 10000 + "/invocations", host=RUNTIME_HOST
    ),
}


@pytest.mark.parametrize("name", sorted(SAGEMAKER_RUNTIME))
def test_sagemaker_runtime(target: Target, name: str) -> None:
    reply = exchange(target.port, SAGEMAKER_RUNTIME[name], _method_of(SAGEMAKER_RUNTIME[name]))
    assert_json_error(reply, allow_501=True)
    assert_alive(target.port)


# --------------------------------------------------------------------------- body framing


def _aws_chunked(body: bytes, decoded: str = "5", *extra: tuple[str, str]) -> bytes:
    headers = [
        ("Content-Encoding", "aws-chunked"),
        ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        ("x-amz-decoded-content-length", decoded),
        *extra,
    ]
    return http_request("PUT", f"/{BUCKET}/aws-chunked.bin", headers, body)


PUT_HEAD = b"PUT /fuzz/framing.bin HTTP/1.1\r\nHost: localhost\r\n"
JSON_HEAD = (
    b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: Kinesis_20131202.CreateStream\r\n"
    b"Content-Type: application/x-amz-json-1.1\r\n"
)
XML_HEAD = b"PUT /fuzz-framing HTTP/1.1\r\nHost: localhost\r\n"
DELETE_BODY = b"<Delete><Object><Key>x</Key></Object></Delete>"

# Requests whose body is cut short, then the write side closed: an answer or a close,
# but no hang and no 5xx.
TRUNCATED_PUT = b"PUT /fuzz/truncated.bin HTTP/1.1\r\nHost: localhost\r\n"
TRUNCATED: dict[str, bytes] = {
    "put-object": TRUNCATED_PUT + b"Content-Length: 1000\r\n\r\n" + b"x" * 10,
    "put-object-no-body": TRUNCATED_PUT + b"Content-Length: 1000000\r\n\r\n",
    "json": JSON_HEAD + b"Content-Length: 1000\r\n\r\n" + b'{"StreamName": "s',
    "xml": XML_HEAD + b"Content-Length: 1000\r\n\r\n<CreateBucketConfiguration>",
    "delete-objects": b"POST /fuzz?delete HTTP/1.1\r\nHost: localhost\r\n"
    + b"Content-Length: 1000\r\n\r\n"
    + DELETE_BODY,
    "aws-chunked": TRUNCATED_PUT
    + b"Content-Encoding: aws-chunked\r\n"
    + b"x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\r\n"
    + b"x-amz-decoded-content-length: 100\r\nContent-Length: 200\r\n\r\n64\r\nhello",
    "transfer-chunked": TRUNCATED_PUT + b"Transfer-Encoding: chunked\r\n\r\n64\r\nhello",
    "transfer-chunked-json": JSON_HEAD + b"Transfer-Encoding: chunked\r\n\r\n10\r\n{",
    "headers-only": TRUNCATED_PUT + b"Content-Length: 5",
}


@pytest.mark.parametrize("name", sorted(TRUNCATED))
def test_truncated_body(target: Target, name: str) -> None:
    """No hang, no 5xx, and nothing stored from a body that never arrived."""
    data = TRUNCATED[name]
    reply = exchange(target.port, data, _method_of(data), shut=True)
    assert_survived(reply, _method_of(data))
    for method, path in (("HEAD", "/fuzz/truncated.bin"), ("HEAD", "/fuzz-framing")):
        after = exchange(target.port, http_request(method, path), method)
        assert after is not None and after.status == 404, f"{path} was stored: {after}"
    assert_alive(target.port)


# Content-Length smaller than the body, or none at all: the rest of the bytes is read as
# a next request. The first answer must be right; the next is whatever the rest earns.
SMUGGLED_GET = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
OVERRUN: dict[str, tuple[bytes, str]] = {
    "put-object-short-length": (
        PUT_HEAD + b"Content-Length: 5\r\n\r\nhello, and this is not a request\r\n\r\n",
        "s3",
    ),
    "put-object-smuggled-request": (
        PUT_HEAD + b"Content-Length: 5\r\n\r\nhello" + SMUGGLED_GET,
        "s3",
    ),
    "json-short-length": (
        JSON_HEAD + b'Content-Length: 10\r\n\r\n{"StreamName": "s", "ShardCount": 1}',
        "json",
    ),
    "xml-short-length": (
        XML_HEAD.replace(b"fuzz-framing", b"fuzz-overrun")
        + b"Content-Length: 10\r\n\r\n<CreateBucketConfiguration></CreateBucketConfiguration>",
        "s3",
    ),
    "put-object-no-length": (PUT_HEAD + b"\r\nhello world", "s3"),
    "json-no-length": (JSON_HEAD + b'\r\n{"StreamName": "s", "ShardCount": 1}', "json"),
    "delete-objects-no-length": (
        b"POST /fuzz?delete HTTP/1.1\r\nHost: localhost\r\n\r\n" + DELETE_BODY,
        "s3",
    ),
}


@pytest.mark.parametrize("name", sorted(OVERRUN))
def test_body_longer_than_content_length(target: Target, name: str) -> None:
    data, protocol = OVERRUN[name]
    method = _method_of(data)
    first, second = exchange_twice(target.port, data, method)
    if first is None or first.header("x-amz-request-id") is None:
        # uvicorn read the rest as a bad request before the first one was answered, and
        # sent its own 400 for the connection instead.
        assert_survived(first, method)
    elif protocol == "json":
        assert_json_error(first)
    else:
        assert_s3_answer(first, method)
    assert_survived(second)
    assert_alive(target.port)


# Bad HTTP/1.1 chunked framing: uvicorn's parser refuses it, or the body ends short.
BAD_CHUNKED: dict[str, bytes] = {
    "not-hex": b"zz\r\nhello\r\n0\r\n\r\n",
    "negative": b"-5\r\nhello\r\n0\r\n\r\n",
    "overflow": b"ffffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
    "size-too-big": b"50\r\nhello\r\n0\r\n\r\n",
    "size-too-small": b"2\r\nhello\r\n0\r\n\r\n",
    "no-crlf-after-data": b"5\r\nhello0\r\n\r\n",
    "hex-prefix": b"0x5\r\nhello\r\n0\r\n\r\n",
    "leading-space": b" 5\r\nhello\r\n0\r\n\r\n",
    "huge-extension": b"5;" + b"e" * 100_000 + b"\r\nhello\r\n0\r\n\r\n",
    "bad-trailer": b"5\r\nhello\r\n0\r\nnot a trailer\r\n\r\n",
    "bare-lf": b"5\nhello\n0\n\n",
    "no-last-chunk": b"5\r\nhello\r\n",
}
BAD_CHUNKED_HEADERS: dict[str, bytes] = {
    "put": PUT_HEAD + b"Transfer-Encoding: chunked\r\n\r\n",
    "json": JSON_HEAD + b"Transfer-Encoding: chunked\r\n\r\n",
}
BAD_TRANSFER_ENCODINGS: dict[str, bytes] = {
    "length-and-chunked": PUT_HEAD
    + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "chunked-twice": PUT_HEAD + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
    "gzip": PUT_HEAD + b"Transfer-Encoding: gzip\r\n\r\nhello",
    "xchunked": PUT_HEAD + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
    "two-lengths": PUT_HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "length-abc": PUT_HEAD + b"Content-Length: abc\r\n\r\nhello",
    "length-negative": PUT_HEAD + b"Content-Length: -1\r\n\r\nhello",
    "length-huge": PUT_HEAD + b"Content-Length: 99999999999999999999999\r\n\r\nhello",
    "length-float": PUT_HEAD + b"Content-Length: 5.0\r\n\r\nhello",
}


@pytest.mark.parametrize("name", sorted(BAD_CHUNKED))
def test_bad_transfer_chunked(target: Target, name: str) -> None:
    for head in BAD_CHUNKED_HEADERS.values():
        data = head + BAD_CHUNKED[name]
        assert_survived(exchange_garbage(target.port, data), _method_of(data))
    assert_alive(target.port)


@pytest.mark.parametrize("name", sorted(BAD_TRANSFER_ENCODINGS))
def test_bad_framing_headers(target: Target, name: str) -> None:
    data = BAD_TRANSFER_ENCODINGS[name]
    assert_survived(exchange_garbage(target.port, data), _method_of(data))
    assert_alive(target.port)


# aws-chunked bodies in well-framed HTTP requests: the gateway itself must refuse them.
AWS_CHUNKED_GARBAGE: dict[str, bytes] = {
    "not-hex": _aws_chunked(b"zz\r\nhello\r\n0\r\n\r\n"),
    "no-crlf": _aws_chunked(b"5hello0"),
    "data-shorter-than-size": _aws_chunked(b"a\r\nhello\r\n0\r\n\r\n"),
    "data-longer-than-size": _aws_chunked(b"2\r\nhello\r\n0\r\n\r\n"),
    "huge-size": _aws_chunked(b"ffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
    "seventeen-hex-digits": _aws_chunked(b"1" * 17 + b"\r\nhello\r\n0\r\n\r\n"),
    "negative-size": _aws_chunked(b"-5\r\nhello\r\n0\r\n\r\n"),
    "no-final-chunk": _aws_chunked(b"5\r\nhello\r\n"),
    "long-chunk-header": _aws_chunked(b"5;" + b"a" * 5000 + b"\r\nhello\r\n0\r\n\r\n"),
    "garbage-trailer": _aws_chunked(b"5\r\nhello\r\n0\r\nthis is not a trailer\r\n\r\n"),
    "unannounced-trailer": _aws_chunked(
        b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    ),
    "wrong-trailer-checksum": _aws_chunked(
        b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
        "5",
        ("x-amz-trailer", "x-amz-checksum-crc32"),
    ),
    "trailer-not-base64": _aws_chunked(
        b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:!!!\r\n\r\n",
        "5",
        ("x-amz-trailer", "x-amz-checksum-crc32"),
    ),
    "unknown-trailer-algorithm": _aws_chunked(
        b"5\r\nhello\r\n0\r\nx-amz-checksum-bogus:AAAA\r\n\r\n",
        "5",
        ("x-amz-trailer", "x-amz-checksum-bogus"),
    ),
    "many-trailers": _aws_chunked(b"0\r\n" + b"x-amz-meta-a:b\r\n" * 1000 + b"\r\n", "0"),
    "small-chunk-not-last": _aws_chunked(b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", "10"),
    "decoded-length-mismatch": _aws_chunked(b"5\r\nhello\r\n0\r\n\r\n", "999"),
    "decoded-length-abc": _aws_chunked(b"5\r\nhello\r\n0\r\n\r\n", "abc"),
    "decoded-length-negative": _aws_chunked(b"5\r\nhello\r\n0\r\n\r\n", "-5"),
    "decoded-length-huge": _aws_chunked(b"5\r\nhello\r\n0\r\n\r\n", "9" * 100),
    "decoded-length-non-ascii": _aws_chunked(b"5\r\nhello\r\n0\r\n\r\n", "\u0665"),
    "random-bytes": _aws_chunked(bytes(range(256)) * 4),
    "empty-body": _aws_chunked(b""),
}


@pytest.mark.parametrize("name", sorted(AWS_CHUNKED_GARBAGE))
def test_aws_chunked_garbage(target: Target, name: str) -> None:
    reply = exchange(target.port, AWS_CHUNKED_GARBAGE[name], "PUT")
    assert_s3_error(reply)
    assert_alive(target.port)


@settings(FUZZ, max_examples=60)
@given(body=st.binary(max_size=1024), decoded=st.sampled_from(("0", "5", "100", "x")))
def test_random_aws_chunked_bodies(target: Target, body: bytes, decoded: str) -> None:
    reply = exchange(target.port, _aws_chunked(body, decoded), "PUT")
    assert_s3_answer(reply, "PUT")
    assert_alive(target.port)


# --------------------------------------------------------------------------- paths and queries


@dataclass(frozen=True)
class Case:
    """One request; ``expect``: "error" (a well-formed error), "any" (that or a success),
    "http" (not valid HTTP: may be refused by uvicorn or closed)."""

    data: bytes
    expect: str = "any"
    codes: tuple[str, ...] = ()

    @property
    def method(self) -> str:
        return _method_of(self.data)


def case(
    method: str | bytes,
    target: str | bytes,
    headers: Sequence[tuple[str | bytes, str | bytes]] = (),
    body: bytes = b"",
    *,
    host: str | bytes = "localhost",
    expect: str = "any",
    codes: tuple[str, ...] = (),
) -> Case:
    return Case(http_request(method, target, headers, body, host=host), expect, codes)


def run_case(port: int, item: Case) -> Reply | None:
    if item.expect == "http":
        reply = exchange_garbage(port, item.data)
        assert_survived(reply, item.method)
        return reply
    reply = exchange(port, item.data, item.method)
    if item.expect == "error":
        assert_s3_error(reply, item.method, codes=item.codes)
    else:
        assert_s3_answer(reply, item.method, codes=item.codes)
    return reply


LONG = "a" * 10240
OBJ = f"/{BUCKET}/{KEY}"
PATHS: dict[str, Case] = {
    "bucket-percent-zz": case("GET", "/%zz", expect="error"),
    "bucket-lone-percent": case("GET", "/%", expect="error"),
    "bucket-percent-truncated": case("GET", "/%e", expect="error"),
    "key-lone-percent": case("GET", f"/{BUCKET}/%", expect="error", codes=("NoSuchKey",)),
    "key-percent-zz": case("GET", f"/{BUCKET}/%zz", expect="error", codes=("NoSuchKey",)),
    "key-truncated-utf8": case("GET", f"/{BUCKET}/%E0%A4%A", expect="error"),
    "put-key-not-utf8": case("PUT", f"/{BUCKET}/%ff%fe", body=b"x"),
    "put-key-percent-zz": case("PUT", f"/{BUCKET}/%zz%", body=b"x"),
    "get-key-encoded-nul": case("GET", f"/{BUCKET}/a%00b", expect="error"),
    "put-key-encoded-nul": case("PUT", f"/{BUCKET}/a%00b", body=b"x"),
    "put-key-control-chars": case("PUT", f"/{BUCKET}/%01%02%1b%7f", body=b"x"),
    "head-key-encoded-nul": case("HEAD", f"/{BUCKET}/a%00b", expect="error"),
    "raw-nul-in-path": case("GET", b"/fuzz/a\x00b", expect="http"),
    "raw-space-in-path": case("GET", b"/fuzz/a b", expect="http"),
    "raw-non-ascii-in-path": case("GET", b"/fuzz/\xff\xfe", expect="http"),
    "raw-tab-in-path": case("GET", b"/fuzz/a\tb", expect="http"),
    "get-long-key": case(
        "GET", f"/{BUCKET}/{LONG}", expect="error", codes=("KeyTooLongError", "NoSuchKey")
    ),
    "put-long-key": case(
        "PUT", f"/{BUCKET}/{LONG}", body=b"x", expect="error", codes=("KeyTooLongError",)
    ),
    "head-long-key": case("HEAD", f"/{BUCKET}/{LONG}", expect="error"),
    "long-bucket": case(
        "GET", f"/{LONG}", expect="error", codes=("InvalidBucketName", "NoSuchBucket")
    ),
    "put-long-bucket": case("PUT", f"/{LONG}", expect="error", codes=("InvalidBucketName",)),
    "many-segments": case("GET", f"/{BUCKET}" + "/a" * 5000, expect="error"),
    "put-segment-over-name-max": case("PUT", f"/{BUCKET}/" + "n" * 1000, body=b"x"),
    "put-segments-near-name-max": case("PUT", f"/{BUCKET}/" + ("m" * 250 + "/") * 4, body=b"x"),
    "put-encoded-slashes": case("PUT", f"/{BUCKET}/" + "%2F" * 500, body=b"x"),
    "put-key-dot": case("PUT", f"/{BUCKET}/.", body=b"x"),
    "put-key-dot-dot": case("PUT", f"/{BUCKET}/..", body=b"x"),
    "put-key-dot-segments": case("PUT", f"/{BUCKET}/a/./b/../c", body=b"x"),
    "double-slash": case("GET", "//"),
    "double-slash-key": case("GET", f"/{BUCKET}//x", expect="error"),
    "asterisk": case("GET", "*"),
    "options-asterisk": case("OPTIONS", "*"),
    "absolute-form": case("GET", f"http://evil.example/{BUCKET}/{KEY}"),
    "no-leading-slash": case("GET", f"{BUCKET}/{KEY}", expect="http"),
    "health-wrong-method": case("DELETE", "/_fogbank/health"),
}
TRAVERSALS: dict[str, Case] = {
    "get-encoded": case("GET", f"/{BUCKET}/" + "..%2F" * 12 + "etc%2Fpasswd", expect="error"),
    "get-raw": case("GET", f"/{BUCKET}/" + "../" * 12 + "etc/passwd", expect="error"),
    "get-backslash": case("GET", f"/{BUCKET}/" + "..%5C" * 12 + "etc%5Cpasswd", expect="error"),
    "get-bucket": case("GET", "/" + "..%2F" * 12 + "etc", expect="error"),
    "put-encoded": case("PUT", f"/{BUCKET}/" + "..%2F" * 6 + "fogbank-escape-1", body=b"x"),
    "put-raw": case("PUT", f"/{BUCKET}/" + "../" * 6 + "fogbank-escape-2", body=b"x"),
    "put-bucket-dot-dot": case("PUT", "/..", expect="error", codes=("InvalidBucketName",)),
    "put-bucket-encoded": case(
        "PUT", "/..%2F..%2Ffogbank-escape-3", expect="error", codes=("InvalidBucketName",)
    ),
    "put-bucket-via-host": case(
        "PUT", "/", host="...localhost", expect="error", codes=("InvalidBucketName",)
    ),
    "put-key-via-host": case("PUT", "/fogbank-escape-4", body=b"x", host="...s3.localhost"),
    "copy-source-traversal": case(
        "PUT",
        f"/{BUCKET}/copied",
        [("x-amz-copy-source", "/" + "../" * 8 + "etc/passwd")],
        expect="error",
    ),
    "copy-source-encoded-traversal": case(
        "PUT",
        f"/{BUCKET}/copied",
        [("x-amz-copy-source", f"{BUCKET}/" + "..%2F" * 8 + "etc%2Fpasswd")],
        expect="error",
    ),
}


@pytest.mark.parametrize("name", cases(sorted(PATHS)))
def test_bad_paths(target: Target, name: str) -> None:
    run_case(target.port, PATHS[name])
    assert_alive(target.port)


@pytest.mark.parametrize("name", sorted(TRAVERSALS))
def test_path_traversal(target: Target, name: str) -> None:
    reply = run_case(target.port, TRAVERSALS[name])
    assert reply is not None
    assert b"root:" not in reply.body, f"a file outside the lake was served: {reply}"
    for path in target.root.rglob("*escape*"):
        assert path.is_relative_to(target.lake), f"{path} was written outside the lake"
    assert_alive(target.port)


BAD_BUCKET_NAMES = (
    "ab",
    "a" * 64,
    "UPPER",
    "under_score",
    "-lead",
    "trail-",
    "a..b",
    "192.168.1.1",
    "xn--abc",
    "sthree-abc",
    "bucket-s3alias",
    "bad!name",
    "%C3%A9t%C3%A9",
    "a%20b",
    "%2e",
    "a%2Fb",
    "%00abc",
)


@pytest.mark.parametrize("name", cases(BAD_BUCKET_NAMES))
def test_invalid_bucket_names(target: Target, name: str) -> None:
    for method in ("PUT", "GET", "HEAD", "DELETE"):
        reply = exchange(target.port, http_request(method, f"/{name}"), method)
        codes = ("InvalidBucketName",) if method == "PUT" else ()
        assert_s3_error(reply, method, codes=codes)
        put = http_request("PUT", f"/{name}/key", body=b"x")
        assert_s3_error(exchange(target.port, put, "PUT"))
    assert_alive(target.port)


VIRTUAL_HOSTS: dict[str, bytes] = {
    "invalid-name": b"BAD!.localhost",
    "dot": b"..localhost",
    "dot-dot": b"...localhost",
    "dashes": b"-x-.s3.localhost",
    "short": b"a.localhost",
    "long": b"a" * 300 + b".localhost",
    "bad-port": b"fuzz.localhost:notaport",
    "huge-port": b"fuzz.localhost:99999999999999999999",
    "ipv6": b"[::1]:4566",
    "ipv6-unclosed": b"[::1",
    "aws-suffix": b"no-such-bucket-here.s3.amazonaws.com",
    "non-ascii": b"\xff\xfe.localhost",
    "utf8": "\u00e9t\u00e9.localhost".encode(),
    "uppercase": b"UPPER.localhost",
    "empty-label": b".localhost",
    "only-port": b":4566",
    "empty": b"",
    "nul-escaped": b"a%00b.localhost",
    "with-path": b"fuzz.localhost/evil",
    "userinfo": b"user@fuzz.localhost",
}


@pytest.mark.parametrize("name", cases(sorted(VIRTUAL_HOSTS)))
def test_virtual_host_bucket_names(target: Target, name: str) -> None:
    host = VIRTUAL_HOSTS[name]
    for method, path, body in (
        ("GET", "/", b""),
        ("HEAD", "/", b""),
        ("PUT", "/", b""),
        ("PUT", "/vhost-key", b"x"),
        ("GET", f"/{KEY}", b""),
    ):
        item = Case(http_request(method, path, body=body, host=host))
        run_case(target.port, item)
    assert_alive(target.port)


def _query(count: int, make: Any) -> str:
    return "&".join(make(i) for i in range(count))


UPLOAD = "{upload}"
MP = f"/{BUCKET}/{MP_KEY}"
QUERIES: dict[str, Case] = {
    "max-keys-negative": case(
        "GET", f"/{BUCKET}?list-type=2&max-keys=-5", expect="error", codes=("InvalidArgument",)
    ),
    "max-keys-abc": case(
        "GET", f"/{BUCKET}?list-type=2&max-keys=abc", expect="error", codes=("InvalidArgument",)
    ),
    "max-keys-huge": case(
        "GET", f"/{BUCKET}?list-type=2&max-keys=99999999999999999999", expect="error"
    ),
    "max-keys-5000-digits": case(
        "GET", f"/{BUCKET}?list-type=2&max-keys=" + "9" * 5000, expect="error"
    ),
    "max-keys-float": case("GET", f"/{BUCKET}?list-type=2&max-keys=1e3", expect="error"),
    "max-keys-empty": case("GET", f"/{BUCKET}?list-type=2&max-keys="),
    "max-keys-nul": case("GET", f"/{BUCKET}?list-type=2&max-keys=%00", expect="error"),
    "max-keys-v1-negative": case("GET", f"/{BUCKET}?max-keys=-5", expect="error"),
    "max-keys-twice": case("GET", f"/{BUCKET}?list-type=2&max-keys=1&max-keys=abc"),
    "list-type-3": case("GET", f"/{BUCKET}?list-type=3"),
    "list-type-twice": case("GET", f"/{BUCKET}?list-type=2&list-type=abc"),
    "continuation-token-garbage": case(
        "GET", f"/{BUCKET}?list-type=2&continuation-token=%ff%00garbage"
    ),
    "continuation-token-long": case(
        "GET", f"/{BUCKET}?list-type=2&continuation-token=" + "A" * 10000
    ),
    "encoding-type-bogus": case("GET", f"/{BUCKET}?list-type=2&encoding-type=bogus"),
    "prefix-percent-zz": case("GET", f"/{BUCKET}?list-type=2&prefix=%zz"),
    "prefix-lone-percent": case("GET", f"/{BUCKET}?list-type=2&prefix=%"),
    "prefix-nul": case("GET", f"/{BUCKET}?list-type=2&prefix=%00"),
    "prefix-10-kb": case("GET", f"/{BUCKET}?list-type=2&prefix=" + "p" * 10240),
    "prefix-100-kb": case("GET", f"/{BUCKET}?list-type=2&prefix=" + "p" * 100_000, expect="http"),
    "delimiter-not-utf8": case("GET", f"/{BUCKET}?list-type=2&delimiter=%ff"),
    "start-after-raw-latin1": case("GET", b"/fuzz?list-type=2&start-after=\xff", expect="http"),
    "marker-traversal": case("GET", f"/{BUCKET}?marker=..%2F..%2F..%2Fetc"),
    "fetch-owner-bogus": case("GET", f"/{BUCKET}?list-type=2&fetch-owner=maybe"),
    "thousands-of-keys": case("GET", f"/{BUCKET}?list-type=2&" + _query(5000, "k{}=v".format)),
    "thousands-of-prefixes": case(
        "GET", f"/{BUCKET}?list-type=2&" + _query(5000, "prefix={}".format)
    ),
    "thousands-of-keys-list-buckets": case("GET", "/?" + _query(5000, "k{}".format)),
    "thousands-of-keys-put": case("PUT", f"{OBJ}-q?" + _query(5000, "k{}=".format), body=b"x"),
    "bare-question-marks": case("GET", f"/{BUCKET}??&&&=&=="),
    "key-without-value": case("GET", f"/{BUCKET}?list-type"),
    "part-number-abc": case(
        "PUT",
        f"{MP}?partNumber=abc&uploadId={UPLOAD}",
        body=b"x",
        expect="error",
        codes=("InvalidArgument",),
    ),
    "part-number-zero": case(
        "PUT", f"{MP}?partNumber=0&uploadId={UPLOAD}", body=b"x", expect="error"
    ),
    "part-number-negative": case(
        "PUT", f"{MP}?partNumber=-1&uploadId={UPLOAD}", body=b"x", expect="error"
    ),
    "part-number-over-10000": case(
        "PUT", f"{MP}?partNumber=10001&uploadId={UPLOAD}", body=b"x", expect="error"
    ),
    "part-number-over-int32": case(
        "PUT", f"{MP}?partNumber=99999999999&uploadId={UPLOAD}", body=b"x", expect="error"
    ),
    "part-number-5000-digits": case(
        "PUT", f"{MP}?partNumber={'9' * 5000}&uploadId={UPLOAD}", body=b"x", expect="error"
    ),
    "part-number-float": case(
        "PUT", f"{MP}?partNumber=1.5&uploadId={UPLOAD}", body=b"x", expect="error"
    ),
    "upload-id-missing-upload": case(
        "PUT",
        f"{MP}?partNumber=1&uploadId=nope",
        body=b"x",
        expect="error",
        codes=("NoSuchUpload",),
    ),
    "upload-id-traversal": case(
        "PUT", f"{MP}?partNumber=1&uploadId=..%2F..%2F..%2Fetc", body=b"x", expect="error"
    ),
    "upload-id-empty": case("PUT", f"{MP}?partNumber=1&uploadId=", body=b"x", expect="error"),
    "list-parts-max-parts-abc": case(
        "GET", f"{MP}?uploadId={UPLOAD}&max-parts=abc", expect="error"
    ),
    "list-parts-marker-negative": case("GET", f"{MP}?uploadId={UPLOAD}&part-number-marker=-1"),
    "list-uploads-max-uploads-abc": case(
        "GET", f"/{BUCKET}?uploads&max-uploads=abc", expect="error"
    ),
    "abort-garbage-upload": case(
        "DELETE", f"{MP}?uploadId=%ff%fe", expect="error", codes=("NoSuchUpload",)
    ),
    "complete-empty-body": case("POST", f"/{BUCKET}/other.bin?uploadId=nope", expect="error"),
    "delete-objects-empty-body": case("POST", f"/{BUCKET}?delete", expect="error"),
    "response-content-type-garbage": case(
        "GET", f"{OBJ}?response-content-type=%0d%0aX-Injected:%20yes"
    ),
    "response-expires-garbage": case("GET", f"{OBJ}?response-expires=1e300"),
    "version-id-garbage": case("GET", f"{OBJ}?versionId=%ff%00"),
}


@pytest.mark.parametrize("name", cases(sorted(QUERIES)))
def test_bad_queries(target: Target, name: str) -> None:
    item = QUERIES[name]
    item = Case(item.data.replace(b"{upload}", target.upload_id.encode()), item.expect, item.codes)
    reply = run_case(target.port, item)
    if reply is not None:
        assert reply.header("x-injected") is None, f"a header was injected: {reply}"
    assert_alive(target.port)


# --------------------------------------------------------------------------- methods and headers

METHODS: dict[str, Case] = {
    name: case(method, path, expect=expect)
    for name, method, path, expect in (
        ("propfind", "PROPFIND", "/", "error"),
        ("trace", "TRACE", "/", "error"),
        ("mkcol", "MKCOL", f"/{BUCKET}", "error"),
        ("search", "SEARCH", "/", "error"),
        ("purge", "PURGE", OBJ, "error"),
        ("link", "LINK", OBJ, "error"),
        ("copy", "COPY", OBJ, "error"),
        ("patch", "PATCH", OBJ, "error"),
        ("options", "OPTIONS", OBJ, "error"),
        ("patch-bucket", "PATCH", f"/{BUCKET}", "error"),
        ("unknown", "FOO", "/", "http"),
        ("lowercase", "get", "/", "http"),
        ("long", "X" * 1000, "/", "http"),
        ("non-ascii", b"G\xc3\x89T", "/", "http"),
        ("empty", "", "/", "http"),
    )
}


@pytest.mark.parametrize(
    "name",
    cases(sorted(METHODS)),
)
def test_unknown_methods(target: Target, name: str) -> None:
    run_case(target.port, METHODS[name])
    assert_alive(target.port)


def test_connect_method(target: Target) -> None:
    """CONNECT is an HTTP upgrade to uvicorn's parser: it must be answered or closed."""
    data = b"CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n"
    assert_survived(exchange_garbage(target.port, data), "CONNECT")
    assert_alive(target.port)


HEADERS: dict[str, Case] = {
    "meta-not-utf8": case("PUT", f"{OBJ}-h1", [("x-amz-meta-a", b"\xff\xfe\x80")], b"x"),
    "meta-utf8": case("PUT", f"{OBJ}-h2", [("x-amz-meta-a", "\u00e9\u4e2d\U0001f600")], b"x"),
    "meta-empty-name": case("PUT", f"{OBJ}-h3", [("x-amz-meta-", "v")], b"x"),
    "meta-huge": case("PUT", f"{OBJ}-h4", [("x-amz-meta-a", "v" * 100_000)], b"x"),
    "meta-many": case("PUT", f"{OBJ}-h5", [(f"x-amz-meta-k{i}", "v") for i in range(2000)], b"x"),
    "content-type-not-utf8": case("PUT", f"{OBJ}-h6", [("Content-Type", b"\xc3\x28")], b"x"),
    "content-encoding-garbage": case(
        "PUT", f"{OBJ}-h7", [("Content-Encoding", b"\xff, aws-chunked,,")], b"x"
    ),
    "content-md5-garbage": case("PUT", f"{OBJ}-h8", [("Content-MD5", "zz")], b"x", expect="error"),
    "content-md5-not-ascii": case(
        "PUT", f"{OBJ}-h8", [("Content-MD5", b"\xff\xfe")], b"x", expect="error"
    ),
    "content-md5-wrong": case(
        "PUT", f"{OBJ}-h8", [("Content-MD5", "AAAAAAAAAAAAAAAAAAAAAA==")], b"x", expect="error"
    ),
    "content-sha256-garbage": case(
        "PUT", f"{OBJ}-h9", [("x-amz-content-sha256", "garbage")], b"x", expect="error"
    ),
    "content-sha256-streaming-bogus": case(
        "PUT", f"{OBJ}-h9", [("x-amz-content-sha256", "STREAMING-BOGUS")], b"x"
    ),
    "content-sha256-wrong": case(
        "PUT", f"{OBJ}-h9", [("x-amz-content-sha256", "0" * 64)], b"x", expect="error"
    ),
    "checksum-not-base64": case(
        "PUT", f"{OBJ}-h10", [("x-amz-checksum-crc32", "!!!")], b"x", expect="error"
    ),
    "checksum-wrong": case(
        "PUT", f"{OBJ}-h10", [("x-amz-checksum-sha256", "AAAA")], b"x", expect="error"
    ),
    "checksum-two-algorithms": case(
        "PUT",
        f"{OBJ}-h10",
        [("x-amz-checksum-crc32", "AAAAAA=="), ("x-amz-checksum-sha1", "AAAA")],
        b"x",
        expect="error",
    ),
    "sdk-algorithm-bogus": case(
        "PUT", f"{OBJ}-h11", [("x-amz-sdk-checksum-algorithm", "BOGUS")], b"x"
    ),
    "trailer-without-chunks": case(
        "PUT", f"{OBJ}-h12", [("x-amz-trailer", "x-amz-checksum-crc32")], b"x", expect="error"
    ),
    "trailer-bogus": case("PUT", f"{OBJ}-h12", [("x-amz-trailer", "\xff bogus")], b"x"),
    "checksum-mode-bogus": case("GET", OBJ, [("x-amz-checksum-mode", "SOMETIMES")]),
    "storage-class-bogus": case("PUT", f"{OBJ}-h13", [("x-amz-storage-class", "\u00e9")], b"x"),
    "copy-source-garbage": case(
        "PUT", f"{OBJ}-h14", [("x-amz-copy-source", "%zz")], expect="error"
    ),
    "copy-source-not-ascii": case(
        "PUT", f"{OBJ}-h14", [("x-amz-copy-source", b"\xff/\xfe")], expect="error"
    ),
    "copy-source-range-garbage": case(
        "PUT",
        f"{MP}?partNumber=1&uploadId=nope",
        [("x-amz-copy-source", f"{BUCKET}/{KEY}"), ("x-amz-copy-source-range", "bytes=z-")],
        expect="error",
    ),
    "metadata-directive-bogus": case(
        "PUT",
        f"{OBJ}-h15",
        [("x-amz-copy-source", f"{BUCKET}/{KEY}"), ("x-amz-metadata-directive", "BOGUS")],
    ),
    "if-match-not-ascii": case("GET", OBJ, [("If-Match", b"\x80\xff")]),
    "if-none-match-star-put": case("PUT", f"{OBJ}-h16", [("If-None-Match", "*")], b"x"),
    "if-none-match-garbage-put": case("PUT", f"{OBJ}-h16", [("If-None-Match", "garbage")], b"x"),
    "expect-continue": case("PUT", f"{OBJ}-h17", [("Expect", "100-continue")], b"x"),
    "expect-garbage": case("PUT", f"{OBJ}-h17", [("Expect", "\xff-continue")], b"x"),
    "authorization-garbage-auth-off": case("GET", "/", [("Authorization", b"\xff\xfe garbage")]),
    "many-headers": case("GET", "/", [(f"x-h{i}", "v") for i in range(3000)]),
    "header-64-kb": case("GET", "/", [("x-big", "v" * 65536)]),
    "two-hosts": case("GET", "/", [("Host", "other.localhost")]),
    "no-host": Case(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"),
    "http-1.0": Case(b"GET / HTTP/1.0\r\n\r\n"),
    "http-0.9": Case(b"GET /\r\n\r\n", "http"),
    "http-2.0-line": Case(b"GET / HTTP/2.0\r\nHost: localhost\r\n\r\n", "http"),
    "header-name-not-ascii": case("GET", "/", [(b"X-\xff", "1")], expect="http"),
    "header-name-space": case("GET", "/", [(b"X Y", "1")], expect="http"),
    "header-value-nul": case("GET", "/", [("X-A", b"a\x00b")], expect="http"),
    "header-value-bare-cr": case("GET", "/", [("X-A", b"a\rb")], expect="http"),
    "header-obs-fold": case("GET", "/", [("X-A", b"a\r\n b")], expect="http"),
    "header-no-colon": case("GET", "/", [(b"NoColonHere", b"")], expect="http"),
}


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_bad_headers(target: Target, name: str) -> None:
    run_case(target.port, HEADERS[name])
    assert_alive(target.port)


def test_non_ascii_metadata_round_trips_as_a_valid_response(target: Target) -> None:
    put = http_request("PUT", f"{OBJ}-meta", [("x-amz-meta-a", b"\xc3\xa9\xff")], b"x")
    assert_s3_answer(exchange(target.port, put, "PUT"), "PUT")
    for method in ("GET", "HEAD"):
        reply = exchange(target.port, http_request(method, f"{OBJ}-meta"), method)
        assert_s3_answer(reply, method)


RANGES = (
    "garbage",
    "bytes=",
    "bytes=-",
    "bytes=5-1",
    "bytes=-0",
    "bytes=0-0",
    "bytes=999-",
    "bytes=0-0,2-3",
    "bytes=--1",
    "bytes=1--2",
    "bytes=0x10-",
    "bytes= 1 - 2 ",
    "bytes=\u0660-\u0664",
    "bytes=" + "9" * 5000 + "-",
    "bytes=-" + "9" * 10000,
    "bytes=0-" + "9" * 10000,
    "items=0-1",
    "bytes=0-1;q=2",
    "bytes=" + ",".join(f"{i}-{i}" for i in range(2000)),
)


@pytest.mark.parametrize("value", RANGES, ids=[v[:24] for v in RANGES])
def test_range_garbage(target: Target, value: str) -> None:
    for method in ("GET", "HEAD"):
        reply = exchange(target.port, http_request(method, OBJ, [("Range", value)]), method)
        assert_s3_answer(reply, method, codes=("InvalidRange",))
    assert_alive(target.port)


TIMESTAMPS = (
    "garbage",
    "",
    "1e300",
    "-1e300",
    "inf",
    "nan",
    "99999999999999999999",
    "-99999999999999999999",
    "9" * 5000,
    "Mon, 32 Foo 99999 99:99:99 GMT",
    "9999-12-31T23:59:59Z",
    "0000-00-00T00:00:00Z",
    "2026-01-01T00:00:00+99:00",
)
TIMESTAMP_HEADERS = (
    ("GET", OBJ, "If-Modified-Since"),
    ("GET", OBJ, "If-Unmodified-Since"),
    ("HEAD", OBJ, "If-Modified-Since"),
    ("PUT", f"{OBJ}-expires", "Expires"),
    ("PUT", f"{OBJ}-lock", "x-amz-object-lock-retain-until-date"),
    ("PUT", f"{OBJ}-copy", "x-amz-copy-source-if-modified-since"),
)


OVERFLOWING = ("1e300", "-1e300", "inf", "99999999999999999999", "-99999999999999999999")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(
            value,
            id=value[:24] or "empty",
        )
        for value in TIMESTAMPS
    ],
)
def test_timestamp_header_garbage(target: Target, value: str) -> None:
    for method, path, header in TIMESTAMP_HEADERS:
        headers = [(header, value)]
        if header.startswith("x-amz-copy-source"):
            headers.append(("x-amz-copy-source", f"{BUCKET}/{KEY}"))
        body = b"x" if method == "PUT" and "copy" not in path else b""
        reply = exchange(target.port, http_request(method, path, headers, body), method)
        assert_s3_answer(reply, method)
    assert_alive(target.port)


# --------------------------------------------------------------------------- SigV4 garbage

SCOPE = "AKIDFUZZ/20260101/us-east-1/{service}/aws4_request"
GOOD_SHAPE = "AWS4-HMAC-SHA256 Credential=" + SCOPE + ", SignedHeaders=host;x-amz-date, Signature="
AUTHORIZATIONS: dict[str, bytes] = {
    "none": b"",
    "garbage": b"garbage",
    "scheme-only": b"AWS4-HMAC-SHA256",
    "scheme-and-garbage": b"AWS4-HMAC-SHA256 garbage",
    "empty-components": b"AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=",
    "slashes": b"AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=host, Signature=00",
    "sigv2": b"AWS AKIDFUZZ:c2lnbmF0dXJl",
    "not-ascii": b"AWS4-HMAC-SHA256 Credential=\xff\xfe/20260101/us-east-1/s3/aws4_request",
    "long": b"AWS4-HMAC-SHA256 Credential=" + b"A" * 10000,
    "bad-signature-hex": (GOOD_SHAPE + "zz").encode(),
    "many-commas": b"AWS4-HMAC-SHA256 " + b"," * 5000,
    "repeated-components": b"AWS4-HMAC-SHA256 " + b"Credential=a, " * 1000,
}
DATES = {"good-shape": "20260101T000000Z", "garbage": "garbage", "overflow": "99999999T999999Z"}


def _signed_requests(service: str, authorization: bytes, date: str) -> list[tuple[bytes, str]]:
    auth = authorization.replace(b"{service}", service.encode())
    headers: list[tuple[str | bytes, str | bytes]] = [("X-Amz-Date", date)]
    if auth:
        headers.append(("Authorization", auth))
    if service == "s3":
        return [
            (http_request("GET", "/", headers), "s3"),
            (http_request("PUT", f"/{BUCKET}/signed", headers, b"x"), "s3"),
            (http_request("HEAD", f"/{BUCKET}", headers), "s3"),
        ]
    target = {"kinesis": "Kinesis_20131202.CreateStream", "glue": "AWSGlue.CreateDatabase"}
    json_headers = [*headers, ("X-Amz-Target", target[service])]
    json_headers.append(("Content-Type", "application/x-amz-json-1.1"))
    return [(http_request("POST", "/", json_headers, b"{}"), "json")]


SIGV4_CASES = [
    pytest.param(
        service,
        name,
        id=f"{service}-{name}",
    )
    for service in ("s3", "kinesis", "glue")
    for name in sorted(AUTHORIZATIONS)
]


@pytest.mark.parametrize(("service", "authorization"), SIGV4_CASES)
def test_sigv4_garbage(signed_port: int, service: str, authorization: str) -> None:
    for date in DATES.values():
        for data, protocol in _signed_requests(service, AUTHORIZATIONS[authorization], date):
            method = _method_of(data)
            reply = exchange(signed_port, data, method)
            if protocol == "json":
                assert_json_error(reply)
            else:
                assert_s3_error(reply, method)
    assert_alive_signed(signed_port)


PRESIGNED: dict[str, str] = {
    "garbage-everything": "X-Amz-Algorithm=%zz&X-Amz-Credential=%&X-Amz-Date=abc"
    "&X-Amz-Expires=-1&X-Amz-SignedHeaders=&X-Amz-Signature=zz",
    "expires-huge": "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
    + SCOPE.format(service="s3").replace("/", "%2F")
    + "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=99999999999999999999"
    "&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
    "expires-5000-digits": "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=" + "9" * 5000,
    "date-overflow": "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
    + SCOPE.format(service="s3").replace("/", "%2F")
    + "&X-Amz-Date=99999999T999999Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=00",
    "only-algorithm": "X-Amz-Algorithm=AWS4-HMAC-SHA256",
    "repeated": "&".join(["X-Amz-Credential=a"] * 2000),
    "sigv2": "AWSAccessKeyId=AKID&Signature=zz&Expires=abc",
    "and-a-header": "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00",
}


@pytest.mark.parametrize("name", sorted(PRESIGNED))
def test_presigned_garbage(signed_port: int, name: str) -> None:
    headers = [("Authorization", "AWS4-HMAC-SHA256 x")] if name == "and-a-header" else []
    for method, path in (("GET", f"/{BUCKET}/{KEY}"), ("HEAD", "/"), ("PUT", f"/{BUCKET}/p")):
        data = http_request(method, f"{path}?{PRESIGNED[name]}", headers)
        assert_s3_error(exchange(signed_port, data, method), method)
    assert_alive_signed(signed_port)


def assert_alive_signed(port: int) -> None:
    """With auth on, an anonymous ListBuckets is refused, properly."""
    reply = exchange(port, http_request("GET", "/"))
    assert_s3_error(reply, codes=("AccessDenied",))


@settings(FUZZ, max_examples=60)
@given(
    authorization=st.binary(min_size=1, max_size=300).filter(
        lambda b: b.strip() and b"\r" not in b and b"\n" not in b and b"\x00" not in b
    )
    | st.builds(
        lambda rest: b"AWS4-HMAC-SHA256 " + rest,
        st.text(alphabet="Credential=SignedHeaders/,;= abc0123456789-_", max_size=200).map(
            str.encode
        ),
    ),
    service=st.sampled_from(("s3", "kinesis")),
)
def test_random_authorization_headers(signed_port: int, authorization: bytes, service: str) -> None:
    for data, protocol in _signed_requests(service, authorization, "20260101T000000Z"):
        method = _method_of(data)
        reply = exchange(signed_port, data, method)
        if reply is not None and reply.header("x-amz-request-id") is None:
            assert_survived(reply)  # a header value uvicorn's parser refused
        elif protocol == "json":
            assert_json_error(reply)
        else:
            assert_s3_error(reply, method)
    assert_alive_signed(signed_port)


def test_s3_error_carries_one_request_id(target: Target) -> None:
    reply = exchange(target.port, http_request("GET", f"/{BUCKET}/no-such-key"))
    assert_s3_error(reply, codes=("NoSuchKey",))
    assert reply is not None
    assert [name for name, _ in reply.headers].count("x-amz-request-id") == 1, str(reply)


def test_aborted_get_object_closes_its_file(target: Target) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(10):
            request = http_request("GET", OBJ, close=False)
            assert_survived(exchange(target.port, request, shut=True))
        time.sleep(0.5)  # let the server finish with them
        gc.collect()
    leaks = [str(w.message) for w in caught if "/lake/buckets/" in str(w.message)]
    assert not leaks, f"{len(leaks)} blob files left open: {leaks[0]}"
    assert_alive(target.port)
