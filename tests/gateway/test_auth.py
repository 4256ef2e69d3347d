"""SigV4: botocore's own signers against our parser and verifier, the key store, and chunks."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from botocore.utils import normalize_url_path, percent_encode_sequence
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fogbank.core.errors import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    FogbankError,
    IncompleteSignature,
    IncompleteSignatureException,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidClientTokenId,
    InvalidRequest,
    InvalidSignatureException,
    MissingAuthenticationToken,
    MissingAuthenticationTokenException,
    NoSuchEntity,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
    UnrecognizedClientException,
    ValidationException,
    XAmzContentSHA256Mismatch,
)
from fogbank.core.store import ControlPlaneStore
from fogbank.gateway.auth import (
    EMPTY_SHA256,
    UNSIGNED_PAYLOAD,
    AccessKeys,
    ChunkVerifier,
    ServiceProtocol,
    SigV4Request,
    canonical_request,
    missing_authentication,
    parse_sigv4,
    signing_key,
    verify_payload_hash,
    verify_sigv4,
)

AKID = "AKIAFOGBANKEXAMPLE01"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
ENDPOINT = "http://localhost:4566"
REGION = "us-east-1"
PROTOCOLS: tuple[ServiceProtocol, ...] = ("rest-xml", "json", "rest-json", "query")

Pairs = list[tuple[str, str]]


@dataclasses.dataclass(frozen=True)
class Wire:
    """A request as the gateway receives it: the raw target, header pairs and body."""

    method: str
    path: str
    query: str
    headers: Pairs
    body: bytes

    def without(self, name: str) -> Wire:
        kept = [(n, v) for n, v in self.headers if n.lower() != name]
        return dataclasses.replace(self, headers=kept)

    def replacing(self, name: str, value: str) -> Wire:
        return dataclasses.replace(self, headers=[*self.without(name).headers, (name, value)])


def _credentials(key: str = AKID, secret: str = SECRET) -> BotoCredentials:
    return BotoCredentials(key, secret)


def s3_signer(**kwargs: Any) -> S3SigV4Auth:
    return S3SigV4Auth(_credentials(**kwargs), "s3", REGION)


def s3_presigner(expires: int = 3600) -> S3SigV4QueryAuth:
    return S3SigV4QueryAuth(_credentials(), "s3", REGION, expires=expires)


def v4_signer(service: str = "sagemaker", region: str = REGION) -> SigV4Auth:
    return SigV4Auth(_credentials(), service, region)


def sign(
    signer: SigV4Auth,
    url: str,
    *,
    method: str = "GET",
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    when: datetime = NOW,
    context: dict[str, Any] | None = None,
) -> Wire:
    """Sign with botocore's signer at ``when``; return what goes on the wire."""
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        request.headers[name] = value  # HTTPHeaders appends: duplicates stay
    if context:
        request.context.update(context)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        signer.add_auth(request)
    parts = urlsplit(request.url)
    pairs: Pairs = list(request.headers.items())
    if not any(name.lower() == "host" for name, _ in pairs):
        pairs.append(("host", parts.netloc))  # what the HTTP client adds
    return Wire(method, parts.path, parts.query, pairs, body)


def parse(wire: Wire) -> SigV4Request:
    req = parse_sigv4(wire.method, wire.path, wire.query, wire.headers)
    assert req is not None
    return req


def verify(
    wire: Wire,
    protocol: ServiceProtocol,
    *,
    secret: str | None = SECRET,
    now: datetime = NOW,
    req: SigV4Request | None = None,
) -> str:
    """What the gateway does: parse, then verify with the claimed or the body's hash."""
    req = req or parse(wire)
    payload = req.payload_hash or hashlib.sha256(wire.body).hexdigest()
    return verify_sigv4(
        req,
        wire.method,
        wire.path,
        wire.query,
        wire.headers,
        payload,
        secret,
        service_protocol=protocol,
        now=now,
    )


def s3_url(key: str, query: str = "", *, keep_slashes: bool = True) -> str:
    """The URL botocore's S3 serializer builds for ``key`` (``/`` kept or ``%2F``)."""
    path = "/bucket/" + quote(key, safe="/~" if keep_slashes else "~")
    return f"{ENDPOINT}{path}" + (f"?{query}" if query else "")


# accepted shapes


S3_KEYS = [
    "plain.txt",
    "with space/and more spaces.txt",
    "unicode/日本語/é-ü.csv",
    "plus+sign+key",
    "tilde~key",
    "literal%2Fpercent",
    "double//slash",
    "dots/./and/../segments",
    "trailing/",
    "reserved!*'();:@&=$,?#[]",
    "",
]


@pytest.mark.parametrize("key", S3_KEYS)
@pytest.mark.parametrize("keep_slashes", [True, False])
def test_s3_accepts_botocore_signed_paths(key: str, keep_slashes: bool) -> None:
    wire = sign(s3_signer(), s3_url(key, keep_slashes=keep_slashes))
    assert len(verify(wire, "rest-xml")) == 64


def test_s3_accepts_a_signed_body_and_checks_its_hash() -> None:
    body = b"hello, lake"
    wire = sign(s3_signer(), s3_url("k"), method="PUT", body=body)
    req = parse(wire)
    assert req.payload_hash == hashlib.sha256(body).hexdigest()
    verify(wire, "rest-xml")
    verify_payload_hash(req.payload_hash, hashlib.sha256(body).hexdigest())
    with pytest.raises(XAmzContentSHA256Mismatch):
        verify_payload_hash(req.payload_hash, hashlib.sha256(b"other").hexdigest())


def test_claims_that_are_not_hashes_pass_the_payload_check() -> None:
    for claimed in (None, UNSIGNED_PAYLOAD, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"):
        verify_payload_hash(claimed, EMPTY_SHA256)


def test_s3_signs_the_path_as_sent_without_normalising() -> None:
    wire = sign(s3_signer(), f"{ENDPOINT}/bucket/a/./b//c/../d")
    verify(wire, "rest-xml")
    normalised = dataclasses.replace(wire, path="/bucket/a/b/d")
    with pytest.raises(SignatureDoesNotMatch):
        verify(normalised, "rest-xml")
    encoded_slash = sign(s3_signer(), s3_url("a/b", keep_slashes=False))
    verify(encoded_slash, "rest-xml")
    with pytest.raises(SignatureDoesNotMatch):
        verify(dataclasses.replace(encoded_slash, path="/bucket/a/b"), "rest-xml")


@pytest.mark.parametrize(
    "path",
    [
        "/endpoints/my-endpoint/invocations",
        "/endpoints/a%2Fb/invocations",
        "/2015-03-31/functions/fn%3Aalias/invocations",
        "/a/./b//c/../d/",
        "//leading/double",
        "/with%20space/%E6%97%A5%E6%9C%AC/~tilde",
        "/",
    ],
)
def test_other_services_normalise_and_double_encode_the_path(path: str) -> None:
    wire = sign(v4_signer(), f"{ENDPOINT}{path}", method="POST", body=b"{}")
    verify(wire, "rest-json")
    req = parse(wire)
    canonical_path = canonical_request(req, "POST", path, "", wire.headers, EMPTY_SHA256)
    assert canonical_path.split("\n")[1] == quote(normalize_url_path(path), safe="/~")


def test_an_encoded_slash_is_encoded_again_outside_s3() -> None:
    wire = sign(v4_signer(), f"{ENDPOINT}/fn/a%2Fb/./x", method="POST")
    req = parse(wire)
    assert canonical_request(req, "POST", wire.path, "", wire.headers, EMPTY_SHA256).split("\n")[
        1
    ] == ("/fn/a%252Fb/x")
    # the same request with the dot segment already removed is the same canonical request
    verify(dataclasses.replace(wire, path="/fn/a%2Fb/x"), "rest-json")


QUERIES: list[list[tuple[str, str]]] = [
    [("b", "2"), ("a", "1")],
    [("a", "2"), ("a", "1"), ("a", "10"), ("a", "")],
    [("empty", ""), ("prefix", "")],
    [("A", "1"), ("a", "1"), ("_", "1"), ("-", "1"), (".", "1"), ("~", "1"), ("0", "1")],
    [("k", " +/~=&?é日本")],
    [("list-type", "2"), ("prefix", "a/b"), ("delimiter", "/"), ("max-keys", "5")],
    [("uploads", "")],
]


@pytest.mark.parametrize("pairs", QUERIES)
@pytest.mark.parametrize("kind", ["s3", "s3-presigned", "rest-json"])
def test_query_strings_with_repeats_blanks_and_sorting_edges_verify(
    pairs: list[tuple[str, str]], kind: str
) -> None:
    query = percent_encode_sequence(pairs)
    if kind == "rest-json":
        wire = sign(v4_signer(), f"{ENDPOINT}/things?{query}")
        verify(wire, "rest-json")
    else:
        signer = s3_presigner() if kind == "s3-presigned" else s3_signer()
        verify(sign(signer, s3_url("key", query)), "rest-xml")


def test_a_query_key_without_equals_sign_verifies() -> None:
    wire = sign(s3_signer(), s3_url("key", "acl&versionId=3"))
    assert wire.query == "acl&versionId=3"
    verify(wire, "rest-xml")


def test_headers_with_extra_whitespace_and_duplicates_verify() -> None:
    headers = [
        ("X-Amz-Meta-Note", "  lots   of\tspace  "),
        ("X-Fog-Dup", "one"),
        ("X-Fog-Dup", "  two   words "),
        ("Content-Type", "text/plain; charset=utf-8"),
    ]
    cases: list[tuple[SigV4Auth, ServiceProtocol]] = [
        (s3_signer(), "rest-xml"),
        (v4_signer(), "rest-json"),
    ]
    for signer, protocol in cases:
        wire = sign(signer, s3_url("k"), method="PUT", headers=headers, body=b"x")
        verify(wire, protocol)
        req = parse(wire)
        canonical = canonical_request(req, "PUT", wire.path, "", wire.headers, EMPTY_SHA256)
        assert "x-amz-meta-note:lots of space\n" in canonical
        assert "x-fog-dup:one,two words\n" in canonical


def test_header_names_are_matched_in_any_case() -> None:
    wire = sign(s3_signer(), s3_url("k"), headers=[("X-Amz-Meta-Case", "v")])
    shouted = dataclasses.replace(wire, headers=[(n.upper(), v) for n, v in wire.headers])
    verify(shouted, "rest-xml")


def test_starlette_headers_are_accepted() -> None:
    datastructures = pytest.importorskip("starlette.datastructures")
    wire = sign(s3_signer(), s3_url("k"), headers=[("X-Fog-Dup", "a"), ("X-Fog-Dup", "b")])
    raw = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in wire.headers]
    headers = datastructures.Headers(raw=raw)
    req = parse_sigv4(wire.method, wire.path, wire.query, headers)
    assert req is not None
    verify_sigv4(
        req,
        wire.method,
        wire.path,
        wire.query,
        headers,
        req.payload_hash or "",
        SECRET,
        service_protocol="rest-xml",
        now=NOW,
    )


def test_parse_exposes_service_region_and_scope() -> None:
    wire = sign(v4_signer("sagemaker", "eu-west-1"), f"{ENDPOINT}/", method="POST")
    req = parse(wire)
    assert (req.access_key_id, req.service, req.region, req.date) == (
        AKID,
        "sagemaker",
        "eu-west-1",
        "20260314",
    )
    assert req.scope == "20260314/eu-west-1/sagemaker/aws4_request"
    assert req.timestamp == "20260314T150926Z"
    assert "host" in req.signed_headers
    assert not req.presigned
    assert req.payload_hash is None  # a JSON service signs the body's hash without saying so


def test_an_anonymous_request_parses_to_none() -> None:
    assert parse_sigv4("GET", "/bucket/key", "", [("host", "localhost")]) is None
    assert parse_sigv4("GET", "/b/k", "x-amz-meta=1", {"authorization": "  "}) is None


# JSON services and payloads


def test_json_services_sign_the_body_hash() -> None:
    body = b'{"StreamName": "clicks"}'
    headers = [
        ("X-Amz-Target", "Kinesis_20131202.DescribeStream"),
        ("Content-Type", "application/x-amz-json-1.1"),
    ]
    wire = sign(v4_signer("kinesis"), f"{ENDPOINT}/", method="POST", headers=headers, body=body)
    req = parse(wire)
    assert req.payload_hash is None
    verify(wire, "json")
    with pytest.raises(InvalidSignatureException):
        verify(dataclasses.replace(wire, body=b'{"StreamName": "other"}'), "json")


def test_unsigned_payload_verifies() -> None:
    context = {"client_config": Config(s3={"payload_signing_enabled": False})}
    url = "https://localhost:4566/bucket/big.bin"
    wire = sign(s3_signer(), url, method="PUT", body=b"x" * 100, context=context)
    req = parse(wire)
    assert req.payload_hash == UNSIGNED_PAYLOAD
    verify(wire, "rest-xml")


def test_s3_header_auth_requires_the_content_sha256_header() -> None:
    wire = sign(s3_signer(), s3_url("k")).without("x-amz-content-sha256")
    with pytest.raises(InvalidRequest, match="x-amz-content-sha256"):
        verify(wire, "rest-xml")


def test_a_date_header_stands_in_for_x_amz_date() -> None:
    wire = sign(s3_signer(), s3_url("k"), headers=[("Date", "placeholder")])
    assert not any(name.lower() == "x-amz-date" for name, _ in wire.headers)
    assert parse(wire).timestamp == "20260314T150926Z"
    verify(wire, "rest-xml")


# presigned URLs


def test_presigned_urls_verify_and_claim_unsigned_payload() -> None:
    wire = sign(s3_presigner(600), s3_url("report.csv", "response-content-type=text%2Fcsv"))
    req = parse(wire)
    assert req.presigned
    assert req.expires == 600
    assert req.payload_hash == UNSIGNED_PAYLOAD
    assert req.service == "s3"
    verify(wire, "rest-xml")
    verify(wire, "rest-xml", now=NOW + timedelta(seconds=600))


def test_presigned_put_verifies() -> None:
    verify(sign(s3_presigner(), s3_url("upload.bin"), method="PUT"), "rest-xml")


def test_an_expired_presigned_url_is_access_denied() -> None:
    wire = sign(s3_presigner(300), s3_url("k"))
    with pytest.raises(AccessDenied, match="Request has expired") as caught:
        verify(wire, "rest-xml", now=NOW + timedelta(seconds=301))
    assert caught.value.fields["X-Amz-Expires"] == "300"
    assert caught.value.fields["Expires"] == "2026-03-14T15:14:26Z"
    assert caught.value.fields["ServerTime"] == "2026-03-14T15:14:27Z"


def test_a_presigned_url_dated_in_the_future_is_not_yet_valid() -> None:
    wire = sign(s3_presigner(), s3_url("k"))
    verify(wire, "rest-xml", now=NOW - timedelta(minutes=15))
    with pytest.raises(AccessDenied, match="Request is not yet valid"):
        verify(wire, "rest-xml", now=NOW - timedelta(minutes=16))


def test_a_presigned_url_valid_for_over_a_week_is_refused() -> None:
    verify(sign(s3_presigner(604_800), s3_url("k")), "rest-xml")
    with pytest.raises(AuthorizationQueryParametersError, match="less than a week"):
        verify(sign(s3_presigner(604_801), s3_url("k")), "rest-xml")


@pytest.mark.parametrize("dropped", ["X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Date"])
def test_a_presigned_url_missing_a_parameter_is_refused(dropped: str) -> None:
    wire = sign(s3_presigner(), s3_url("k"))
    query = "&".join(p for p in wire.query.split("&") if not p.startswith(f"{dropped}="))
    with pytest.raises(AuthorizationQueryParametersError, match="requires the X-Amz-Algorithm"):
        parse_sigv4("GET", wire.path, query, wire.headers)


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA512", "only supports"),
        ("X-Amz-Credential", "AKID%2F2026%2Fus-east-1%2Fs3%2Faws4_request", "mal-formed"),
        ("X-Amz-Expires", "soon", "should be a number"),
        ("X-Amz-Expires", "-1", "non-negative"),
    ],
)
def test_malformed_presigned_parameters_are_refused(name: str, value: str, match: str) -> None:
    wire = sign(s3_presigner(), s3_url("k"))
    query = "&".join(
        f"{name}={value}" if p.startswith(f"{name}=") else p for p in wire.query.split("&")
    )
    with pytest.raises(AuthorizationQueryParametersError, match=match):
        parse_sigv4("GET", wire.path, query, wire.headers)


def test_a_header_and_a_presigned_query_together_are_refused() -> None:
    presigned = sign(s3_presigner(), s3_url("k"))
    signed = sign(s3_signer(), s3_url("k"))
    both = dataclasses.replace(signed, query=presigned.query)
    with pytest.raises(InvalidArgument, match="Only one auth mechanism"):
        parse(both)


def test_a_sigv2_presigned_url_is_unsupported() -> None:
    query = "AWSAccessKeyId=AKID&Expires=1700000000&Signature=abc%3D"
    with pytest.raises(InvalidRequest, match="Please use AWS4-HMAC-SHA256"):
        parse_sigv4("GET", "/bucket/key", query, [])


# refusals, per protocol


UNKNOWN_KEY = {
    "rest-xml": InvalidAccessKeyId,
    "json": UnrecognizedClientException,
    "rest-json": UnrecognizedClientException,
    "query": InvalidClientTokenId,
}
MISMATCH = {
    "rest-xml": SignatureDoesNotMatch,
    "json": InvalidSignatureException,
    "rest-json": InvalidSignatureException,
    "query": SignatureDoesNotMatch,
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_unknown_access_key_gets_the_protocols_code(protocol: ServiceProtocol) -> None:
    wire = sign(v4_signer(), f"{ENDPOINT}/")
    with pytest.raises(UNKNOWN_KEY[protocol]) as caught:
        verify(wire, protocol, secret=None)
    if protocol == "rest-xml":
        assert caught.value.message == (
            "The AWS Access Key Id you provided does not exist in our records."
        )
        assert caught.value.fields["AWSAccessKeyId"] == AKID
    else:
        assert caught.value.message == "The security token included in the request is invalid."


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_wrong_secret_gets_the_protocols_mismatch_code(protocol: ServiceProtocol) -> None:
    wire = sign(s3_signer() if protocol == "rest-xml" else v4_signer(), s3_url("k"))
    with pytest.raises(MISMATCH[protocol]) as caught:
        verify(wire, protocol, secret=SECRET + "x")
    if protocol == "rest-xml":
        assert caught.value.message == (
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method."
        )
        assert caught.value.fields["CanonicalRequest"].startswith("GET\n/bucket/k\n")
        assert caught.value.fields["SignatureProvided"] == parse(wire).signature
    else:
        assert caught.value.message.startswith(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details."
        )
        assert "The Canonical String for this request should have been" in caught.value.message


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_date_within_15_minutes_is_accepted(protocol: ServiceProtocol) -> None:
    wire = sign(s3_signer() if protocol == "rest-xml" else v4_signer(), s3_url("k"))
    for offset in (timedelta(minutes=15), timedelta(0), -timedelta(minutes=15)):
        verify(wire, protocol, now=NOW + offset)


def test_s3_refuses_a_skewed_date_with_request_time_too_skewed() -> None:
    wire = sign(s3_signer(), s3_url("k"))
    for offset in (timedelta(minutes=16), -timedelta(minutes=16)):
        with pytest.raises(RequestTimeTooSkewed) as caught:
            verify(wire, "rest-xml", now=NOW + offset)
        assert caught.value.fields["RequestTime"] == "20260314T150926Z"
        assert caught.value.fields["MaxAllowedSkewMilliseconds"] == "900000"


@pytest.mark.parametrize("protocol", ["json", "rest-json", "query"])
def test_other_services_refuse_a_skewed_date_as_an_expired_signature(
    protocol: ServiceProtocol,
) -> None:
    wire = sign(v4_signer(), f"{ENDPOINT}/")
    with pytest.raises(MISMATCH[protocol]) as late:
        verify(wire, protocol, now=NOW + timedelta(minutes=16))
    assert late.value.message == (
        "Signature expired: 20260314T150926Z is now earlier than 20260314T151026Z "
        "(20260314T152526Z - 15 min.)"
    )
    with pytest.raises(MISMATCH[protocol]) as early:
        verify(wire, protocol, now=NOW - timedelta(minutes=16))
    assert early.value.message == (
        "Signature not yet current: 20260314T150926Z is still later than 20260314T150826Z "
        "(20260314T145326Z + 15 min.)"
    )


@pytest.mark.parametrize(
    ("protocol", "error"),
    [("rest-xml", AccessDenied), ("json", IncompleteSignatureException)],
)
def test_a_request_without_a_date_is_refused(protocol: ServiceProtocol, error: type) -> None:
    wire = sign(s3_signer(), s3_url("k")).without("x-amz-date")
    with pytest.raises(error):
        verify(wire, protocol)
    garbled = sign(s3_signer(), s3_url("k")).replacing("x-amz-date", "2026-03-14T15:09:26Z")
    with pytest.raises(error):
        verify(garbled, protocol)


@pytest.mark.parametrize(
    ("protocol", "error"),
    [
        ("rest-xml", AuthorizationHeaderMalformed),
        ("json", InvalidSignatureException),
        ("query", SignatureDoesNotMatch),
    ],
)
def test_the_credential_date_must_be_the_request_day(
    protocol: ServiceProtocol, error: type
) -> None:
    wire = sign(s3_signer(), s3_url("k")).replacing("x-amz-date", "20260315T000100Z")
    with pytest.raises(error):
        verify(wire, protocol, now=datetime(2026, 3, 15, 0, 1, tzinfo=UTC))


def test_a_signature_from_another_region_or_service_does_not_match() -> None:
    wire = sign(v4_signer("sagemaker", "eu-west-1"), f"{ENDPOINT}/")
    req = parse(wire)
    verify(wire, "json")
    for changed in (
        dataclasses.replace(req, region="us-east-1"),
        dataclasses.replace(req, service="kinesis"),
    ):
        with pytest.raises(InvalidSignatureException):
            verify(wire, "json", req=changed)


SCOPE = f"Credential={AKID}/20260314/us-east-1"

MALFORMED: list[tuple[str, bool, type[FogbankError], str]] = [
    # S3: no X-Amz-Target, and the credential (where readable) names s3
    (f"AWS4-HMAC-SHA256 {SCOPE}/s3/aws4_request, SignedHeaders=host", False,
     AuthorizationHeaderMalformed, "requires three components"),
    ("AWS4-HMAC-SHA256 Signature=abc", False, AuthorizationHeaderMalformed, "three components"),
    (f"AWS4-HMAC-SHA256 Credential={AKID}/2026/us-east-1/s3/aws4_request, SignedHeaders=host, "
     "Signature=abc", False, AuthorizationHeaderMalformed, "Credential is mal-formed"),
    (f"AWS4-HMAC-SHA256 {SCOPE}/s3/aws5_request, SignedHeaders=host, Signature=abc", False,
     AuthorizationHeaderMalformed, "Credential is mal-formed"),
    (f"AWS4-HMAC-SHA256 {SCOPE}/s3/aws4_request, SignedHeaders", False,
     AuthorizationHeaderMalformed, "SignedHeaders"),
    (f"AWS4-HMAC-SHA512 {SCOPE}/s3/aws4_request, SignedHeaders=host, Signature=abc", False,
     InvalidArgument, "Unsupported Authorization Type"),
    ("Bearer eyJhbGciOiJIUzI1NiJ9", False, InvalidArgument, "Unsupported Authorization Type"),
    (f"AWS {AKID}:frJIUN8DYpKDtOLCwo//yllqDzg=", False, InvalidRequest, "AWS4-HMAC-SHA256"),
    # JSON: X-Amz-Target, or a credential naming a JSON service
    (f"AWS4-HMAC-SHA256 {SCOPE}/kinesis/aws4_request, SignedHeaders=host", True,
     IncompleteSignatureException, "Authorization header requires 'Signature' parameter."),
    (f"AWS4-HMAC-SHA256 {SCOPE}/kinesis/aws4_request, SignedHeaders=host, Signature", False,
     IncompleteSignatureException, "not a valid key=value pair (missing equal-sign)"),
    ("Bearer token", True, IncompleteSignatureException,
     "Authorization header requires 'Credential' parameter."),
    (f"AWS4-HMAC-SHA256 Credential={AKID}/us-east-1/glue/aws4_request, SignedHeaders=host, "
     "Signature=abc", True, IncompleteSignatureException, "mal-formed"),
    # query: a credential naming STS
    (f"AWS4-HMAC-SHA256 {SCOPE}/sts/aws4_request, Signature=abc", False, IncompleteSignature,
     "Authorization header requires 'SignedHeaders' parameter."),
]  # fmt: skip


@pytest.mark.parametrize(("authorization", "target", "error", "match"), MALFORMED)
def test_a_malformed_authorization_header_gets_the_right_error(
    authorization: str, target: bool, error: type[FogbankError], match: str
) -> None:
    headers = [("Authorization", authorization), ("host", "localhost:4566")]
    if target:
        headers.append(("X-Amz-Target", "Kinesis_20131202.ListStreams"))
    with pytest.raises(error) as caught:
        parse_sigv4("POST", "/", "", headers)
    assert type(caught.value) is error
    assert match in caught.value.message


@pytest.mark.parametrize(
    ("protocol", "error", "message"),
    [
        ("rest-xml", AccessDenied, "Access Denied"),
        ("json", MissingAuthenticationTokenException, "Missing Authentication Token"),
        ("rest-json", MissingAuthenticationTokenException, "Missing Authentication Token"),
        ("query", MissingAuthenticationToken, "Request is missing Authentication Token"),
    ],
)
def test_an_anonymous_request_gets_the_protocols_missing_authentication_error(
    protocol: ServiceProtocol, error: type[FogbankError], message: str
) -> None:
    found = missing_authentication(protocol)
    assert type(found) is error
    assert found.message == message


# properties

_HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from(" \t\xa0éü"),
    max_size=12,
)
_SEGMENT = st.sampled_from(["", ".", "..", "a b", "%2F", "a/b", "~", "+", "é", "日本"]) | st.text(
    st.characters(codec="utf-8", exclude_characters="\x00"), max_size=6
)
_QUERY_KEY = st.sampled_from(["a", "A", "b", "list-type", "_", "~"]) | st.text(
    st.characters(codec="utf-8"), min_size=1, max_size=5
).filter(lambda key: not key.lower().startswith("x-amz-"))
_QUERY_ITEM = st.tuples(
    _QUERY_KEY, st.text(st.characters(codec="utf-8"), max_size=5), st.booleans()
)
_HEADER = st.tuples(
    st.sampled_from(["x-amz-meta-a", "x-amz-meta-b", "x-fog-c", "content-type"]), _HEADER_TEXT
)


def _raw_query(items: list[tuple[str, str, bool]]) -> str:
    parts = []
    for key, value, equals in items:
        part = quote(key, safe="-_.~")
        if equals or value:
            part += "=" + quote(value, safe="-_.~")
        parts.append(part)
    return "&".join(parts)


def _flip(text: str, index: int, *, hexadecimal: bool = False) -> str:
    old = text[index]
    new = ("1" if old == "0" else "0") if hexadecimal else ("y" if old == "x" else "x")
    return text[:index] + new + text[index + 1 :]


@st.composite
def signed_requests(draw: st.DrawFn) -> tuple[str, Wire]:
    kind = draw(st.sampled_from(["s3", "s3-presigned", "sagemaker"]))
    segments = draw(st.lists(_SEGMENT, min_size=1, max_size=5))
    path = "/" + "/".join(quote(segment, safe="~") for segment in segments)
    query = _raw_query(draw(st.lists(_QUERY_ITEM, max_size=5)))
    headers = draw(st.lists(_HEADER, max_size=5))
    method = draw(st.sampled_from(["GET", "PUT", "POST", "DELETE"]))
    body = b"" if kind == "s3-presigned" else draw(st.binary(max_size=32))
    signer: SigV4Auth = {
        "s3": s3_signer(),
        "s3-presigned": s3_presigner(),
        "sagemaker": v4_signer(),
    }[kind]
    url = f"{ENDPOINT}{path}" + (f"?{query}" if query else "")
    return kind, sign(signer, url, method=method, headers=headers, body=body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    signed_requests(),
    st.sampled_from(["signature", "secret", "header", "query", "path"]),
    st.data(),
)
def test_botocore_signed_requests_verify_and_any_flipped_character_fails(
    signed: tuple[str, Wire], target: str, data: st.DataObject
) -> None:
    kind, wire = signed
    protocol: ServiceProtocol = "rest-json" if kind == "sagemaker" else "rest-xml"
    mismatch = MISMATCH[protocol]
    req = parse(wire)
    assert len(verify(wire, protocol)) == 64
    secret = SECRET
    if target == "signature":
        index = data.draw(st.integers(0, len(req.signature) - 1))
        req = dataclasses.replace(req, signature=_flip(req.signature, index, hexadecimal=True))
    elif target == "secret":
        secret = _flip(SECRET, data.draw(st.integers(0, len(SECRET) - 1)))
    elif target == "header":
        signed_names = {"host", "x-amz-meta-a", "x-amz-meta-b", "x-fog-c", "content-type"}
        spots = [
            (position, index)
            for position, (name, value) in enumerate(wire.headers)
            if name.lower() in signed_names
            for index in range(len(value))
        ]
        position, index = data.draw(st.sampled_from(spots))
        name, value = wire.headers[position]
        headers = list(wire.headers)
        headers[position] = (name, _flip(value, index))
        wire = dataclasses.replace(wire, headers=headers)
    elif target == "query":
        # a presigned URL's own X-Amz-* parameters come last; flip the operation's
        signed_part = wire.query.split("&X-Amz-Algorithm=")[0] if req.presigned else wire.query
        assume(signed_part and not signed_part.startswith("X-Amz-Algorithm="))
        index = data.draw(st.integers(0, len(signed_part) - 1))
        wire = dataclasses.replace(wire, query=_flip(wire.query, index))
    else:
        index = data.draw(st.integers(0, len(wire.path) - 1))
        flipped = _flip(wire.path, index)
        if kind == "sagemaker":  # equivalent paths are the same request outside S3
            assume(
                quote(normalize_url_path(flipped), safe="/~")
                != quote(normalize_url_path(wire.path), safe="/~")
            )
        wire = dataclasses.replace(wire, path=flipped)
    with pytest.raises(mismatch):
        verify(wire, protocol, secret=secret, req=req)


_CREDENTIAL = st.from_regex(
    r"[A-Z0-9]{0,20}/\d{8}/[a-z0-9-]{0,12}/(s3|kinesis|sts|x)/aws4_request", fullmatch=True
)
_AUTHORIZATION = st.one_of(
    st.text(),
    st.text().map(lambda rest: f"AWS4-HMAC-SHA256 {rest}"),
    st.builds(
        "AWS4-HMAC-SHA256 Credential={}, SignedHeaders={}, Signature={}".format,
        st.text() | _CREDENTIAL,
        st.text() | st.just("host;x-amz-date"),
        st.text() | st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    ),
)


@settings(max_examples=300, deadline=None)
@given(_AUTHORIZATION, st.sampled_from(PROTOCOLS), st.booleans(), st.text(max_size=20))
def test_random_authorization_text_raises_nothing_but_fogbank_errors(
    authorization: str, protocol: ServiceProtocol, target: bool, amz_date: str
) -> None:
    headers = [
        ("Authorization", authorization),
        ("host", "localhost:4566"),
        ("x-amz-date", amz_date if amz_date else "20260314T150926Z"),
        ("x-amz-content-sha256", EMPTY_SHA256),
    ]
    if target:
        headers.append(("X-Amz-Target", "Kinesis_20131202.ListStreams"))
    try:
        req = parse_sigv4("GET", "/", "", headers)
        if req is not None:
            verify_sigv4(
                req,
                "GET",
                "/",
                "",
                headers,
                EMPTY_SHA256,
                SECRET,
                service_protocol=protocol,
                now=NOW,
            )
    except FogbankError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(), st.sampled_from(PROTOCOLS))
def test_random_presigned_queries_raise_nothing_but_fogbank_errors(
    query: str, protocol: ServiceProtocol
) -> None:
    raw = f"X-Amz-Algorithm=AWS4-HMAC-SHA256&{query}"
    try:
        req = parse_sigv4("GET", "/b/k", raw, [("host", "localhost:4566")])
        if req is not None:
            verify_sigv4(
                req,
                "GET",
                "/b/k",
                raw,
                [],
                UNSIGNED_PAYLOAD,
                SECRET,
                service_protocol=protocol,
                now=NOW,
            )
    except FogbankError:
        pass


# the key store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ControlPlaneStore]:
    opened = ControlPlaneStore(f"sqlite:///{tmp_path}/cp.sqlite")
    yield opened
    opened.close()


def test_access_keys_round_trip(store: ControlPlaneStore) -> None:
    keys = AccessKeys(store)
    alice = keys.create("alice")
    bob = keys.create("bob")
    assert alice.user == "alice"
    assert alice.created.tzinfo is not None
    assert keys.secret_for(alice.access_key_id) == alice.secret_access_key
    assert keys.secret_for("AKIANOSUCHKEY0000000") is None
    listed = keys.list()
    assert [k.access_key_id for k in listed] == sorted([alice.access_key_id, bob.access_key_id])
    assert all(not hasattr(k, "secret_access_key") for k in listed)
    assert [k.user for k in keys.list("bob")] == ["bob"]
    assert {k.status for k in listed} == {"Active"}
    keys.delete(alice.access_key_id)
    assert keys.secret_for(alice.access_key_id) is None
    assert [k.access_key_id for k in keys.list()] == [bob.access_key_id]
    with pytest.raises(NoSuchEntity, match="cannot be found"):
        keys.delete(alice.access_key_id)


def test_access_keys_look_like_aws_keys(store: ControlPlaneStore) -> None:
    created = AccessKeys(store).create()
    assert created.user == "fogbank"
    assert created.access_key_id.startswith("AKIA")
    assert len(created.access_key_id) == 20
    assert created.access_key_id[4:].isalnum()
    assert created.access_key_id[4:].upper() == created.access_key_id[4:]
    assert len(created.secret_access_key) == 40


def test_a_user_name_outside_iams_rules_is_refused(store: ControlPlaneStore) -> None:
    with pytest.raises(ValidationException):
        AccessKeys(store).create("no spaces allowed")


def test_a_stored_key_verifies_a_request_signed_with_it(store: ControlPlaneStore) -> None:
    keys = AccessKeys(store)
    created = keys.create()
    signer = s3_signer(key=created.access_key_id, secret=created.secret_access_key)
    wire = sign(signer, s3_url("k"))
    req = parse(wire)
    verify(wire, "rest-xml", secret=keys.secret_for(req.access_key_id))
    keys.delete(created.access_key_id)
    with pytest.raises(InvalidAccessKeyId):
        verify(wire, "rest-xml", secret=keys.secret_for(req.access_key_id))


# streaming chunks: the worked examples of AWS's "sigv4-streaming" pages

DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOC_TIME = datetime(2013, 5, 24, tzinfo=UTC)
DOC_PATH = "/examplebucket/chunkObject.txt"


def _doc_headers(trailer: bool, signature: str) -> Pairs:
    names = ["content-encoding", "content-length", "host", "x-amz-content-sha256"]
    names += ["x-amz-date", "x-amz-decoded-content-length", "x-amz-storage-class"]
    payload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    headers = [
        ("Host", "s3.amazonaws.com"),
        ("x-amz-date", "20130524T000000Z"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("Content-Encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "66560"),
    ]
    if trailer:
        names = [name for name in names if name != "content-length"] + ["x-amz-trailer"]
        payload += "-TRAILER"
        headers.append(("x-amz-trailer", "x-amz-checksum-crc32c"))
    else:
        headers.append(("Content-Length", "66824"))
    credential = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"
    signed = ";".join(names)
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={credential},SignedHeaders={signed},Signature={signature}"
    )
    return [*headers, ("x-amz-content-sha256", payload), ("Authorization", authorization)]


def _doc_verifier(trailer: bool, seed: str) -> ChunkVerifier:
    headers = _doc_headers(trailer, seed)
    req = parse_sigv4("PUT", DOC_PATH, "", headers)
    assert req is not None and req.streaming
    verified = verify_sigv4(
        req,
        "PUT",
        DOC_PATH,
        "",
        headers,
        req.payload_hash or "",
        DOC_SECRET,
        service_protocol="rest-xml",
        now=DOC_TIME,
    )
    assert verified == seed
    return ChunkVerifier.for_request(req, verified, DOC_SECRET)


DOC_CHUNKS = [b"a" * 65536, b"a" * 1024, b""]
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_SIGNATURES = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
]
TRAILER_SEED = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
TRAILER_CHUNK_SIGNATURES = [
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
]
TRAILER_SIGNATURE = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"


def test_the_seed_and_chunk_signatures_of_the_aws_example_verify() -> None:
    verifier = _doc_verifier(False, SEED)
    for data, signature in zip(DOC_CHUNKS, CHUNK_SIGNATURES, strict=True):
        verifier(data, signature)
        assert verifier.previous == signature
    verifier.verify_trailer(b"", None)  # a stream without trailers


def test_the_trailer_signature_of_the_aws_example_verifies() -> None:
    verifier = _doc_verifier(True, TRAILER_SEED)
    for data, signature in zip(DOC_CHUNKS, TRAILER_CHUNK_SIGNATURES, strict=True):
        verifier(data, signature)
    verifier.verify_trailer(b"x-amz-checksum-crc32c:sOO8/Q==\n", TRAILER_SIGNATURE)
    with pytest.raises(SignatureDoesNotMatch):
        verifier.verify_trailer(b"x-amz-checksum-crc32c:AAAAAA==\n", TRAILER_SIGNATURE)


def test_chunks_verify_with_explicit_previous_signatures_as_the_decoder_passes_them() -> None:
    verifier = _doc_verifier(False, SEED)
    previous: str | None = None
    for data, signature in zip(DOC_CHUNKS, CHUNK_SIGNATURES, strict=True):
        verifier(data, signature, previous)
        previous = signature


def test_a_tampered_reordered_or_unsigned_chunk_fails() -> None:
    tampered = _doc_verifier(False, SEED)
    with pytest.raises(SignatureDoesNotMatch):
        tampered(b"a" * 65535 + b"b", CHUNK_SIGNATURES[0])
    reordered = _doc_verifier(False, SEED)
    with pytest.raises(SignatureDoesNotMatch):
        reordered(DOC_CHUNKS[1], CHUNK_SIGNATURES[1])
    unsigned = _doc_verifier(False, SEED)
    with pytest.raises(SignatureDoesNotMatch):
        unsigned(DOC_CHUNKS[0], None)
    trailers = _doc_verifier(True, TRAILER_SEED)
    with pytest.raises(SignatureDoesNotMatch):
        trailers.verify_trailer(b"x-amz-checksum-crc32c:sOO8/Q==\n", None)


def test_an_independently_computed_chunk_sequence_verifies() -> None:
    # The chunk string to sign, computed here from the SigV4 definitions alone.
    date, scope, seed = "20260314T150926Z", "20260314/us-east-1/s3/aws4_request", "ab" * 32
    k = hmac.new(f"AWS4{SECRET}".encode(), b"20260314", hashlib.sha256).digest()
    for part in (b"us-east-1", b"s3", b"aws4_request"):
        k = hmac.new(k, part, hashlib.sha256).digest()
    assert k == signing_key(SECRET, "20260314", "us-east-1", "s3")
    verifier = ChunkVerifier(seed, k, date, scope)
    previous = seed
    for data in (b"first chunk " * 100, b"second", b""):
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                date,
                scope,
                previous,
                hashlib.sha256(b"").hexdigest(),
                hashlib.sha256(data).hexdigest(),
            ]
        )
        previous = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        verifier(memoryview(data), previous)
    assert verifier.previous == previous
