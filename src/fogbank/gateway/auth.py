"""SigV4 authentication: the access keys, and parsing and verifying AWS Signature Version 4.

It owns:

- :class:`AccessKeys`, the keys the gateway accepts under ``auth = "sigv4"``, kept in the
  control-plane store (service ``iam``, kind ``access-key``) as IAM's CreateAccessKey,
  ListAccessKeys and DeleteAccessKey see them;
- :func:`parse_sigv4`, which reads who signed a request, and for which region and service,
  from its ``Authorization`` header or its presigned query (the gateway routes on this even
  when it checks no signature, so it is cheap);
- :func:`verify_sigv4`, which rebuilds the canonical request exactly as AWS and botocore do
  (S3 signs the path as sent; every other service normalises it and encodes it once more)
  and compares signatures in constant time;
- :class:`ChunkVerifier`, which checks each chunk and the trailer of a signed streaming
  upload (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``).

Errors follow the protocol of the service, as AWS's do (S3 = rest-xml; json = json and
rest-json; query = STS, IAM...):

- unknown access key: ``InvalidAccessKeyId`` (S3), ``UnrecognizedClientException`` (json),
  ``InvalidClientTokenId`` (query);
- wrong signature: ``SignatureDoesNotMatch`` (S3, query), ``InvalidSignatureException`` (json);
- a date over 15 minutes off: ``RequestTimeTooSkewed`` (S3), "Signature expired" or "Signature
  not yet current" as ``InvalidSignatureException`` (json) or ``SignatureDoesNotMatch`` (query);
- an expired presigned URL: ``AccessDenied`` "Request has expired" (S3);
- a malformed ``Authorization``: ``AuthorizationHeaderMalformed``, ``InvalidArgument``
  "Unsupported Authorization Type" or ``InvalidRequest`` for SigV2 (S3);
  ``IncompleteSignatureException`` (json), ``IncompleteSignature`` (query);
- malformed presigned parameters: ``AuthorizationQueryParametersError`` (S3);
- no signature where one is required (:func:`missing_authentication`): ``AccessDenied`` (S3),
  ``MissingAuthenticationTokenException`` (json), ``MissingAuthenticationToken`` (query).
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal, Protocol
from urllib.parse import parse_qsl, quote, unquote_to_bytes

from fogbank.core.config import DEFAULT_ACCOUNT_ID
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
    ResourceInUseException,
    SignatureDoesNotMatch,
    UnrecognizedClientException,
    ValidationException,
    XAmzContentSHA256Mismatch,
)
from fogbank.core.ids import arn
from fogbank.core.store import ControlPlaneStore

ServiceProtocol = Literal["rest-xml", "json", "rest-json", "query"]
"""The wire protocol of the service a request is for; it picks the errors' codes."""

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_PAYLOAD_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_SKEW = timedelta(minutes=15)
"""How far a request's date may be from the server's clock (AWS: 15 minutes)."""
MAX_PRESIGNED_EXPIRES = 604_800
"""The longest a presigned URL lives: seven days, in seconds."""

_Style = Literal["s3", "json", "query"]
_TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_TIMESTAMP_RE = re.compile(r"\d{8}T\d{6}Z")
_DATE_RE = re.compile(r"\d{8}")
_HEX_SHA256_RE = re.compile(r"[0-9a-fA-F]{64}")
_SCOPE_TERMINATOR = "aws4_request"
# Services whose signer (botocore's S3SigV4Auth) signs the path exactly as sent.
_RAW_PATH_SERVICES = frozenset({"s3", "s3-object-lambda", "s3-outposts", "s3express"})
# Signing names of the services that speak the query protocol (their auth errors differ).
_QUERY_SERVICES = frozenset(
    {"sts", "iam", "sns", "ses", "cloudformation", "rds", "redshift", "autoscaling"}
)
_PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
_PARSED_HEADERS = frozenset(
    {
        "authorization",
        "x-amz-date",
        "date",
        "x-amz-content-sha256",
        "x-amz-security-token",
        "x-amz-target",
        "content-type",
    }
)

_S3_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation "
    "for details."
)
_INVALID_TOKEN = "The security token included in the request is invalid."
_S3_UNSUPPORTED_MECHANISM = (
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
)
_S3_MISSING_COMPONENTS = (
    "The authorization header is malformed; the authorization header requires three "
    "components: Credential, SignedHeaders, and Signature."
)
_S3_BAD_CREDENTIAL = (
    "The authorization header is malformed; the Credential is mal-formed; expecting "
    '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
)
_QUERY_REQUIRES = (
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
)
_ONE_MECHANISM = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
    "query string parameter or the Authorization header should be specified"
)


class HeaderPairs(Protocol):
    """A request's headers as ``(name, value)`` pairs, duplicates included, names any case.

    starlette's ``Headers``, botocore's ``HTTPHeaders`` and a plain ``dict`` all fit.
    """

    def items(self) -> Iterable[tuple[str, str]]: ...


RequestHeaders = HeaderPairs | Sequence[tuple[str, str]]
"""A mapping-like headers object, or a plain list of ``(name, value)`` pairs."""


# keys


@dataclass(frozen=True)
class Credentials:
    """A new access key and its secret, as IAM's CreateAccessKey returns them (the only time)."""

    access_key_id: str
    secret_access_key: str
    user: str
    created: datetime


@dataclass(frozen=True)
class AccessKeyMetadata:
    """An access key without its secret, as IAM's ListAccessKeys reports it."""

    access_key_id: str
    user: str
    created: datetime
    status: str


_USER_RE = re.compile(r"[\w+=,.@-]{1,64}")
_KEY_ALPHABET = string.ascii_uppercase + string.digits


class AccessKeys:
    """The access keys the gateway accepts when it verifies signatures.

    They live in the control-plane store (service ``iam``, kind ``access-key``, named by the
    access key id), secret included: verifying an HMAC needs the secret itself.
    """

    SERVICE = "iam"
    KIND = "access-key"

    def __init__(self, store: ControlPlaneStore, *, account_id: str = DEFAULT_ACCOUNT_ID) -> None:
        self._store = store
        self._account_id = account_id

    def create(self, user: str = "fogbank") -> Credentials:
        """Make a new active key for ``user`` (CreateAccessKey): ``AKIA`` + 16 characters."""
        if not _USER_RE.fullmatch(user):
            raise ValidationException(
                f"The user name {user!r} is not valid: use 1 to 64 letters, digits or "
                "the characters +=,.@_-."
            )
        secret = base64.b64encode(secrets.token_bytes(30)).decode("ascii")
        user_arn = arn("iam", "", self._account_id, f"user/{user}")
        body = {"UserName": user, "SecretAccessKey": secret, "Status": "Active"}
        while True:
            key_id = "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
            try:
                stored = self._store.put_resource(
                    self.SERVICE,
                    self.KIND,
                    key_id,
                    user_arn,
                    body,
                    state="Active",
                    create_only=True,
                )
            except ResourceInUseException:
                continue  # one chance in 36**16: draw another id
            return Credentials(key_id, secret, user, stored.created_at)

    def secret_for(self, access_key_id: str) -> str | None:
        """The secret of an active key, or ``None`` where there is no such key."""
        found = self._store.find_resource(self.SERVICE, self.KIND, access_key_id)
        if found is None or found.body.get("Status") != "Active":
            return None
        secret = found.body.get("SecretAccessKey")
        return secret if isinstance(secret, str) else None

    def list(self, user: str | None = None) -> builtins.list[AccessKeyMetadata]:
        """Every key (or ``user``'s keys), by key id, without secrets (ListAccessKeys)."""
        keys: builtins.list[AccessKeyMetadata] = []
        token: str | None = None
        while True:
            page, token = self._store.list_resources(
                self.SERVICE, self.KIND, max_results=1000, next_token=token
            )
            for resource in page:
                owner = str(resource.body.get("UserName", ""))
                if user is None or owner == user:
                    status = str(resource.body.get("Status", "Active"))
                    keys.append(
                        AccessKeyMetadata(resource.name, owner, resource.created_at, status)
                    )
            if token is None:
                return keys

    def delete(self, access_key_id: str) -> None:
        """Delete a key (DeleteAccessKey); requests signed with it fail from then on."""
        if self._store.find_resource(self.SERVICE, self.KIND, access_key_id) is None:
            raise NoSuchEntity(f"The Access Key with id {access_key_id} cannot be found.")
        self._store.delete_resource(self.SERVICE, self.KIND, access_key_id)


# parsing


@dataclass(frozen=True)
class SigV4Request:
    """What a request's SigV4 signature claims: who signed it, when, and for what scope."""

    access_key_id: str
    date: str
    """The credential scope's date, ``YYYYMMDD``."""
    region: str
    service: str
    """The signing name (``s3``, ``kinesis``, ``sagemaker``...), from the credential scope."""
    signed_headers: tuple[str, ...]
    """The signed header names, lower case, in the order the signer listed them."""
    signature: str
    timestamp: str | None
    """The request time, ``YYYYMMDDTHHMMSSZ``: ``X-Amz-Date``, else the ``Date`` header
    reformatted; ``None`` where neither is there (verification then fails)."""
    payload_hash: str | None
    """The payload hash the signer claims (``x-amz-content-sha256``, a hex SHA-256,
    ``UNSIGNED-PAYLOAD`` or ``STREAMING-...``), ``UNSIGNED-PAYLOAD`` for an S3 presigned URL
    without one; ``None`` where the signer signed the body's SHA-256 without saying so
    (every JSON service): hash the body and pass that to :func:`verify_sigv4`."""
    presigned: bool = False
    expires: int | None = None
    """``X-Amz-Expires`` of a presigned URL, in seconds."""
    security_token: str | None = None

    @property
    def scope(self) -> str:
        """The credential scope: ``<date>/<region>/<service>/aws4_request``."""
        return f"{self.date}/{self.region}/{self.service}/{_SCOPE_TERMINATOR}"

    @property
    def streaming(self) -> bool:
        """Whether the body is ``aws-chunked`` with a signature on every chunk."""
        return self.payload_hash in (STREAMING_PAYLOAD, STREAMING_PAYLOAD_TRAILER)


def parse_sigv4(
    method: str, raw_path: str, raw_query: str, headers: RequestHeaders
) -> SigV4Request | None:
    """Read the SigV4 ``Authorization`` header, or a presigned URL's ``X-Amz-*`` parameters.

    Returns ``None`` for an anonymous request. A malformed one raises the error its service
    would send (guessed from the credential scope, else from ``X-Amz-Target``, else S3's);
    a well-formed one never raises, whatever its signature or date, so the gateway can route
    on :attr:`SigV4Request.service` and :attr:`SigV4Request.region` before checking anything.
    Where signatures are not checked, the gateway may take such an error as "anonymous".
    """
    found: dict[str, str] = {}
    for name, value in _pairs(headers):
        lowered = name.lower()
        if lowered in _PARSED_HEADERS and lowered not in found:
            found[lowered] = value
    authorization = found.get("authorization", "").strip()
    params = _presign_params(raw_query) if "Amz-" in raw_query else None
    if authorization:
        if params is not None:
            style = _guess_style(_service_hint(authorization), found)
            if style == "s3":
                raise InvalidArgument(
                    _ONE_MECHANISM, ArgumentName="Authorization", ArgumentValue=authorization
                )
            raise _incomplete(style, f"{_ONE_MECHANISM}.")
        return _parse_authorization(authorization, found)
    if params is not None:
        return _parse_presigned(params, found)
    if "AWSAccessKeyId=" in raw_query and "Signature=" in raw_query:
        raise InvalidRequest(_S3_UNSUPPORTED_MECHANISM)  # a SigV2 presigned URL
    return None


def _parse_authorization(value: str, found: dict[str, str]) -> SigV4Request:
    scheme, _, rest = value.partition(" ")
    if scheme != ALGORITHM:
        style = _guess_style(_service_hint(value), found)
        if style != "s3":
            raise _incomplete(
                style, _requires_parameters(("Credential", "Signature", "SignedHeaders"), value)
            )
        if scheme == "AWS":
            raise InvalidRequest(_S3_UNSUPPORTED_MECHANISM)
        raise InvalidArgument(
            "Unsupported Authorization Type", ArgumentName="Authorization", ArgumentValue=value
        )
    params: dict[str, str] = {}
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        key, equals, item = part.partition("=")
        if not equals:
            style = _guess_style(_service_hint(value), found)
            if style == "s3":
                raise AuthorizationHeaderMalformed(
                    f'The authorization header is malformed; the authorization component "{part}" '
                    "is malformed."
                )
            raise _incomplete(
                style,
                f"'{part}' not a valid key=value pair (missing equal-sign) in Authorization "
                f"header: '{value}'.",
            )
        params.setdefault(key.strip(), item.strip())
    missing = [name for name in ("Credential", "Signature", "SignedHeaders") if name not in params]
    if missing:
        style = _guess_style(_service_hint(value), found)
        if style == "s3":
            raise AuthorizationHeaderMalformed(_S3_MISSING_COMPONENTS)
        raise _incomplete(style, _requires_parameters(missing, value))
    scope = _split_credential(params["Credential"])
    if scope is None:
        style = _guess_style(_service_hint(value), found)
        if style == "s3":
            raise AuthorizationHeaderMalformed(_S3_BAD_CREDENTIAL)
        raise _incomplete(style, _bad_credential(params["Credential"], value))
    key_id, date, region, service = scope
    payload_hash = found.get("x-amz-content-sha256")
    return SigV4Request(
        access_key_id=key_id,
        date=date,
        region=region,
        service=service,
        signed_headers=_split_signed_headers(params["SignedHeaders"]),
        signature=params["Signature"],
        timestamp=_header_timestamp(found),
        payload_hash=payload_hash.strip() if payload_hash is not None else None,
        security_token=found.get("x-amz-security-token"),
    )


def _presign_params(raw_query: str) -> dict[str, str] | None:
    if not any(name in raw_query for name in _PRESIGN_PARAMS[:3]):
        return None
    params: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        params.setdefault(key, value)
    if not any(name in params for name in _PRESIGN_PARAMS[:3]):
        return None
    return params


def _parse_presigned(params: dict[str, str], found: dict[str, str]) -> SigV4Request:
    credential = params.get("X-Amz-Credential", "")
    scope = _split_credential(credential)
    style = _guess_style(scope[3] if scope else _service_hint(f"Credential={credential}"), found)
    if any(name not in params for name in _PRESIGN_PARAMS):
        raise _query_error(style, _QUERY_REQUIRES)
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise _query_error(style, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    if scope is None:
        raise _query_error(
            style,
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
            'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
        )
    expires_text = params["X-Amz-Expires"]
    if not expires_text.isascii() or not expires_text.lstrip("-").isdigit():
        raise _query_error(style, "X-Amz-Expires should be a number")
    expires = int(expires_text)
    if expires < 0:
        raise _query_error(style, "X-Amz-Expires must be non-negative")
    key_id, date, region, service = scope
    payload_hash = found.get("x-amz-content-sha256", params.get("X-Amz-Content-Sha256"))
    if payload_hash is None and service in _RAW_PATH_SERVICES:
        payload_hash = UNSIGNED_PAYLOAD
    return SigV4Request(
        access_key_id=key_id,
        date=date,
        region=region,
        service=service,
        signed_headers=_split_signed_headers(params["X-Amz-SignedHeaders"]),
        signature=params["X-Amz-Signature"],
        timestamp=params["X-Amz-Date"],
        payload_hash=payload_hash,
        presigned=True,
        expires=expires,
        security_token=params.get("X-Amz-Security-Token"),
    )


def _split_credential(credential: str) -> tuple[str, str, str, str] | None:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != _SCOPE_TERMINATOR or not all(parts[:4]):
        return None
    key_id, date, region, service, _ = parts
    if not _DATE_RE.fullmatch(date):
        return None
    return key_id, date, region, service


def _split_signed_headers(value: str) -> tuple[str, ...]:
    return tuple(name.strip().lower() for name in value.split(";") if name.strip())


def _header_timestamp(found: dict[str, str]) -> str | None:
    amz_date = found.get("x-amz-date")
    if amz_date is not None:
        return amz_date.strip()
    http_date = found.get("date")
    if http_date is None:
        return None
    try:
        parsed = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)


def _service_hint(text: str) -> str | None:
    """The service of a ``Credential=`` that may be malformed, where one can be read."""
    start = text.find("Credential=")
    if start < 0:
        return None
    credential = re.split(r"[,\s]", text[start + len("Credential=") :], maxsplit=1)[0]
    parts = credential.split("/")
    return parts[3] if len(parts) >= 4 and parts[3] else None


def _guess_style(service: str | None, found: dict[str, str]) -> _Style:
    if service is not None:
        if service in _RAW_PATH_SERVICES:
            return "s3"
        return "query" if service in _QUERY_SERVICES else "json"
    if "x-amz-target" in found:
        return "json"
    if found.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return "query"
    return "s3"


# verification


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The SigV4 signing key: HMACs of the date, region, service and ``aws4_request``."""
    key = _hmac(f"AWS4{secret}".encode("utf-8", "surrogatepass"), date)
    for part in (region, service, _SCOPE_TERMINATOR):
        key = _hmac(key, part)
    return key


def canonical_request(
    req: SigV4Request,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: RequestHeaders,
    payload_hash: str,
) -> str:
    """The canonical request the signer hashed, rebuilt from the request as received.

    ``raw_path`` and ``raw_query`` are the request target as sent (still percent-encoded).
    S3 signs the path as sent; other services remove dot segments and empty segments and
    encode the path once more. The query's keys and values are decoded, encoded again with
    SigV4's rules and sorted by key then value. Header values are trimmed, inner whitespace
    collapsed, and repeated headers joined by commas.
    """
    if req.service in _RAW_PATH_SERVICES:
        path = raw_path or "/"
    else:
        path = quote(_encode(_remove_dot_segments(raw_path or "/")), safe="/~")
    values: dict[str, list[str]] = {name: [] for name in req.signed_headers}
    for name, value in _pairs(headers):
        found = values.get(name.lower())
        if found is not None:
            found.append(" ".join(value.split()))
    canonical_headers = "".join(f"{name}:{','.join(values[name])}\n" for name in values)
    return "\n".join(
        (
            method.upper(),
            path,
            _canonical_query(raw_query, presigned=req.presigned),
            canonical_headers,
            ";".join(req.signed_headers),
            payload_hash,
        )
    )


def verify_sigv4(
    req: SigV4Request,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: RequestHeaders,
    payload_hash: str,
    secret: str | None,
    *,
    service_protocol: ServiceProtocol,
    now: datetime,
) -> str:
    """Check a request's SigV4 signature as AWS does; return it (the seed of a stream).

    ``secret`` is the access key's (``None``: no such key). ``payload_hash`` is what the
    signer signed for the body: :attr:`SigV4Request.payload_hash` where the request claims
    one, else the SHA-256 of the body. Raises, with ``service_protocol``'s codes: an unknown
    key; a missing or malformed date, or one not the credential scope's day; a date more
    than 15 minutes from ``now``, or a presigned URL expired, not yet valid or valid for
    over 7 days; S3 without ``x-amz-content-sha256``; and a signature that does not match.
    """
    style = _protocol_style(service_protocol)
    if secret is None:
        raise _unknown_key(style, req.access_key_id)
    when = _request_time(req, style)
    timestamp = when.strftime(_TIMESTAMP_FORMAT)
    if timestamp[:8] != req.date:
        raise _scope_date_mismatch(style, req, timestamp)
    if req.presigned:
        _check_presigned_window(req, when, now, style)
    else:
        _check_skew(req, when, now, style)
        if style == "s3" and req.payload_hash is None:
            raise InvalidRequest("Missing required header for this request: x-amz-content-sha256")
    canonical = canonical_request(req, method, raw_path, raw_query, headers, payload_hash)
    to_sign = _string_to_sign(ALGORITHM, timestamp, req.scope, _sha256_hex(_encode(canonical)))
    key = signing_key(secret, req.date, req.region, req.service)
    expected = hmac.new(key, _encode(to_sign), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode("ascii"), _encode(req.signature)):
        raise _mismatch(style, req, canonical, to_sign)
    return expected


def verify_payload_hash(claimed: str | None, computed: str) -> None:
    """Check a body's SHA-256 against a hex ``x-amz-content-sha256`` (S3 checks after reading).

    ``UNSIGNED-PAYLOAD``, ``STREAMING-...`` and ``None`` claim nothing and pass.
    """
    if claimed is None or not _HEX_SHA256_RE.fullmatch(claimed):
        return
    if claimed.lower() != computed.lower():
        raise XAmzContentSHA256Mismatch(
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ClientComputedContentSHA256=claimed,
            S3ComputedContentSHA256=computed,
        )


def missing_authentication(service_protocol: ServiceProtocol) -> FogbankError:
    """The error for an anonymous request where signatures are required."""
    style = _protocol_style(service_protocol)
    if style == "s3":
        return AccessDenied("Access Denied")
    if style == "query":
        return MissingAuthenticationToken("Request is missing Authentication Token")
    return MissingAuthenticationTokenException("Missing Authentication Token")


class ChunkVerifier:
    """Checks the signatures of a signed ``aws-chunked`` upload, chunk after chunk.

    Each chunk's signature signs ``AWS4-HMAC-SHA256-PAYLOAD``, the request time, the scope,
    the previous signature (the seed, from the ``Authorization`` header, for the first
    chunk), the SHA-256 of nothing and the SHA-256 of the chunk's data; the final chunk is
    empty. With ``...-TRAILER``, the trailer's signature signs ``AWS4-HMAC-SHA256-TRAILER``,
    the time, the scope, the final chunk's signature and the SHA-256 of the trailers.
    """

    def __init__(self, seed_signature: str, signing_key: bytes, date: str, scope: str) -> None:
        """``date`` is the request time (``YYYYMMDDTHHMMSSZ``), ``scope`` the credential scope."""
        self._seed = seed_signature
        self._previous = seed_signature
        self._key = signing_key
        self._date = date
        self._scope = scope
        self._chunks = 0

    @classmethod
    def for_request(cls, req: SigV4Request, seed_signature: str, secret: str) -> ChunkVerifier:
        """The verifier of a request :func:`verify_sigv4` accepted with ``seed_signature``."""
        key = signing_key(secret, req.date, req.region, req.service)
        return cls(seed_signature, key, req.timestamp or "", req.scope)

    @property
    def previous(self) -> str:
        """The last signature verified (the seed before the first chunk)."""
        return self._previous

    def __call__(
        self,
        data: bytes | bytearray | memoryview,
        chunk_signature: str | None,
        previous: str | None = None,
    ) -> None:
        """Check one chunk; ``previous`` is its predecessor's signature (``None``: the seed
        for the first chunk, else the last one this verifier accepted)."""
        self._chunks += 1
        chained = previous if previous is not None else self._previous
        to_sign = _string_to_sign(
            "AWS4-HMAC-SHA256-PAYLOAD",
            self._date,
            self._scope,
            chained,
            EMPTY_SHA256,
            hashlib.sha256(data).hexdigest(),
        )
        self._check(to_sign, chunk_signature, f"chunk {self._chunks}")

    def verify_trailer(
        self,
        canonical_trailers: bytes,
        trailer_signature: str | None,
        previous: str | None = None,
    ) -> None:
        """Check ``x-amz-trailer-signature`` over ``canonical_trailers`` (``name:value\\n``
        for each trailer). No trailers and no signature pass."""
        if trailer_signature is None and not canonical_trailers:
            return
        chained = previous if previous is not None else self._previous
        to_sign = _string_to_sign(
            "AWS4-HMAC-SHA256-TRAILER",
            self._date,
            self._scope,
            chained,
            hashlib.sha256(canonical_trailers).hexdigest(),
        )
        self._check(to_sign, trailer_signature, "the trailer")

    def _check(self, to_sign: str, signature: str | None, what: str) -> None:
        expected = hmac.new(self._key, _encode(to_sign), hashlib.sha256).hexdigest()
        if signature is None or not hmac.compare_digest(
            expected.encode("ascii"), _encode(signature)
        ):
            raise SignatureDoesNotMatch(
                _S3_MISMATCH,
                StringToSign=to_sign,
                SignatureProvided=signature or "",
                Chunk=what,
            )
        self._previous = signature


# helpers


def _pairs(headers: RequestHeaders) -> Iterable[tuple[str, str]]:
    return headers if isinstance(headers, Sequence) else headers.items()


def _canonical_query(raw_query: str, *, presigned: bool) -> str:
    pairs: list[tuple[str, str]] = []
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        encoded_key = quote(unquote_to_bytes(_encode(key)), safe="-_.~")
        if presigned and encoded_key == "X-Amz-Signature":
            continue
        pairs.append((encoded_key, quote(unquote_to_bytes(_encode(value)), safe="-_.~")))
    pairs.sort()
    return "&".join(f"{key}={value}" for key, value in pairs)


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 5.2.4, and AWS also drops empty segments: as botocore's normalize_url_path.
    output: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if output:
                output.pop()
        else:
            output.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and output else ""
    return first + "/".join(output) + last


def _string_to_sign(*lines: str) -> str:
    return "\n".join(lines)


def _request_time(req: SigV4Request, style: _Style) -> datetime:
    timestamp = req.timestamp
    if timestamp is not None and _TIMESTAMP_RE.fullmatch(timestamp):
        try:
            return datetime.strptime(timestamp, _TIMESTAMP_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            pass
    if req.presigned:
        message = (
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"; "
            f"got {timestamp!r}."
        )
        raise _query_error(style, message)
    if style == "s3":
        raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
    if timestamp is None:
        raise _incomplete(
            style,
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    raise _incomplete(style, f"Date must be in ISO-8601 'basic format'. Got '{timestamp}'.")


def _check_skew(req: SigV4Request, when: datetime, now: datetime, style: _Style) -> None:
    if abs(now - when) <= MAX_SKEW:
        return
    if style == "s3":
        raise RequestTimeTooSkewed(
            "The difference between the request time and the current time is too large.",
            RequestTime=req.timestamp or "",
            ServerTime=_iso(now),
            MaxAllowedSkewMilliseconds=str(int(MAX_SKEW.total_seconds() * 1000)),
        )
    if when < now:
        message = (
            f"Signature expired: {_stamp(when)} is now earlier than {_stamp(now - MAX_SKEW)} "
            f"({_stamp(now)} - 15 min.)"
        )
    else:
        message = (
            f"Signature not yet current: {_stamp(when)} is still later than "
            f"{_stamp(now + MAX_SKEW)} ({_stamp(now)} + 15 min.)"
        )
    raise _signature_error(style, message)


def _check_presigned_window(
    req: SigV4Request, when: datetime, now: datetime, style: _Style
) -> None:
    expires = req.expires or 0
    if expires > MAX_PRESIGNED_EXPIRES:
        raise _query_error(
            style,
            "X-Amz-Expires must be less than a week (in seconds); that is, the given "
            f"X-Amz-Expires must be less than {MAX_PRESIGNED_EXPIRES} seconds",
        )
    ends = when + timedelta(seconds=expires)
    if when - now > MAX_SKEW:
        if style == "s3":
            raise AccessDenied(
                "Request is not yet valid",
                **{"X-Amz-Date": req.timestamp or "", "ServerTime": _iso(now)},
            )
        raise _signature_error(
            style,
            f"Signature not yet current: {_stamp(when)} is still later than "
            f"{_stamp(now + MAX_SKEW)} ({_stamp(now)} + 15 min.)",
        )
    if now > ends:
        if style == "s3":
            raise AccessDenied(
                "Request has expired",
                **{"X-Amz-Expires": str(expires), "Expires": _iso(ends), "ServerTime": _iso(now)},
            )
        raise _signature_error(
            style, f"Signature expired: {_stamp(ends)} is now earlier than {_stamp(now)}."
        )


def _protocol_style(protocol: ServiceProtocol) -> _Style:
    if protocol == "rest-xml":
        return "s3"
    return "query" if protocol == "query" else "json"


def _unknown_key(style: _Style, access_key_id: str) -> FogbankError:
    if style == "s3":
        return InvalidAccessKeyId(
            "The AWS Access Key Id you provided does not exist in our records.",
            AWSAccessKeyId=access_key_id,
        )
    if style == "query":
        return InvalidClientTokenId(_INVALID_TOKEN)
    return UnrecognizedClientException(_INVALID_TOKEN)


def _mismatch(style: _Style, req: SigV4Request, canonical: str, to_sign: str) -> FogbankError:
    if style == "s3":
        return SignatureDoesNotMatch(
            _S3_MISMATCH,
            AWSAccessKeyId=req.access_key_id,
            StringToSign=to_sign,
            SignatureProvided=req.signature,
            CanonicalRequest=canonical,
        )
    detail = (
        f"{_MISMATCH}\n\nThe Canonical String for this request should have been\n"
        f"'{canonical}'\n\nThe String-to-Sign should have been\n'{to_sign}'\n"
    )
    return _signature_error(style, detail)


def _scope_date_mismatch(style: _Style, req: SigV4Request, timestamp: str) -> FogbankError:
    if style == "s3":
        if req.presigned:
            return AuthorizationQueryParametersError(
                f'Invalid credential date "{req.date}". This date is not the same as '
                f'X-Amz-Date: "{timestamp[:8]}".'
            )
        return AuthorizationHeaderMalformed(
            "The authorization header is malformed; Invalid credential date. Date is not the "
            "same as X-Amz-Date."
        )
    return _signature_error(
        style,
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        f"HTTP: '{req.date}' != '{timestamp[:8]}', from '{timestamp}'.",
    )


def _signature_error(style: _Style, message: str) -> FogbankError:
    if style == "json":
        return InvalidSignatureException(message)
    return SignatureDoesNotMatch(message)


def _incomplete(style: _Style, message: str) -> FogbankError:
    if style == "query":
        return IncompleteSignature(message)
    return IncompleteSignatureException(message)


def _query_error(style: _Style, message: str) -> FogbankError:
    if style == "s3":
        return AuthorizationQueryParametersError(message)
    return _incomplete(style, message)


def _requires_parameters(missing: Iterable[str], value: str) -> str:
    required = " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
    return f"{required} Authorization={value}"


def _bad_credential(credential: str, value: str) -> str:
    return (
        f"The Credential '{credential}' is mal-formed: expecting "
        f"'<access key id>/YYYYMMDD/<region>/<service>/aws4_request'. Authorization={value}"
    )


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, _encode(message), hashlib.sha256).digest()


def _encode(text: str) -> bytes:
    # surrogatepass: text from a client is never an excuse for an unhandled exception
    return text.encode("utf-8", "surrogatepass")


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
