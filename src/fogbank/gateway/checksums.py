"""S3's checksum algorithms, and which one a request declares in its headers.

S3 verifies an upload against one "flexible checksum" (CRC32, CRC32C, CRC64NVME,
SHA1, SHA256, and the newer SHA512, MD5, XXHASH64, XXHASH3, XXHASH128) sent either
as an ``x-amz-checksum-<algorithm>`` header or, for a streaming upload, as an
aws-chunked trailer announced by ``x-amz-trailer``. Each value is the base64 of
the digest's bytes, big-endian for the CRCs: exactly what botocore sends
(``botocore.httpchecksum``). The CRCs and XXHashes come from ``awscrt``, the AWS
Common Runtime that botocore itself uses when it is installed; the SHAs and MD5
from :mod:`hashlib`.

This module owns the algorithms (:func:`new_checksum`), their header names
(:func:`header_name`), the validation of a checksum value
(:func:`decode_checksum_value`, :func:`decode_content_md5`) and the reading of a
request's checksum headers (:func:`declared_checksum`), with S3's error codes and
messages. Streaming a body through them is :mod:`fogbank.gateway.chunked`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from awscrt import checksums as _crt

from fogbank.core.errors import InvalidDigest, InvalidRequest

ALGORITHMS: Final[tuple[str, ...]] = (
    "CRC32",
    "CRC32C",
    "CRC64NVME",
    "SHA1",
    "SHA256",
    "SHA512",
    "MD5",
    "XXHASH64",
    "XXHASH3",
    "XXHASH128",
)
"""Every value S3's ``ChecksumAlgorithm`` takes (its enum in botocore's S3 model)."""

DIGEST_SIZES: Final[Mapping[str, int]] = {
    "CRC32": 4,
    "CRC32C": 4,
    "CRC64NVME": 8,
    "SHA1": 20,
    "SHA256": 32,
    "SHA512": 64,
    "MD5": 16,
    "XXHASH64": 8,
    "XXHASH3": 8,
    "XXHASH128": 16,
}
"""The length in bytes of each algorithm's digest (before base64)."""

HEADER_PREFIX: Final = "x-amz-checksum-"
SDK_ALGORITHM_HEADER: Final = "x-amz-sdk-checksum-algorithm"
TRAILER_HEADER: Final = "x-amz-trailer"

# Headers that share the x-amz-checksum- prefix but carry no checksum value:
# CreateMultipartUpload's algorithm, GetObject's mode, and the checksum type.
_NOT_CHECKSUM_VALUES: Final = frozenset({"algorithm", "mode", "type"})


class Checksum(Protocol):
    """A running checksum: feed it bytes, read the digest (botocore's checksum interface)."""

    @property
    def algorithm(self) -> str:
        """The S3 name of the algorithm, upper case (``"CRC32"``)."""
        ...

    def update(self, data: bytes) -> None:
        """Add ``data`` to the checksum."""
        ...

    def digest(self) -> bytes:
        """The digest of everything added so far."""
        ...

    def b64digest(self) -> str:
        """The digest as S3 sends it in ``x-amz-checksum-*`` headers: base64."""
        ...


class _CrtCrc:
    """A CRC from awscrt, whose functions take and return the running value as an int."""

    def __init__(self, algorithm: str, function: Callable[[bytes, int], int]) -> None:
        self._algorithm = algorithm
        self._function = function
        self._size = DIGEST_SIZES[algorithm]
        self._value = 0

    @property
    def algorithm(self) -> str:
        return self._algorithm

    def update(self, data: bytes) -> None:
        self._value = self._function(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._size, byteorder="big")

    def b64digest(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


class _XxhashState(Protocol):
    def update(self, data: bytes) -> None: ...
    def finalize(self) -> bytes: ...


class _CrtXxhash:
    """An XXHash from awscrt; like botocore, the digest is what ``finalize`` returns."""

    def __init__(self, algorithm: str, factory: Callable[[], _XxhashState]) -> None:
        self._algorithm = algorithm
        self._hash = factory()
        self._digest: bytes | None = None

    @property
    def algorithm(self) -> str:
        return self._algorithm

    def update(self, data: bytes) -> None:
        if self._digest is not None:
            raise RuntimeError(f"{self._algorithm} was already finalized; start a new checksum")
        self._hash.update(data)

    def digest(self) -> bytes:
        # awscrt finalizes an XXHash once; keep the value so digest() can be asked again.
        if self._digest is None:
            self._digest = bytes(self._hash.finalize())
        return self._digest

    def b64digest(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


class _Hashlib:
    """A SHA or MD5 from hashlib."""

    def __init__(self, algorithm: str, name: str) -> None:
        self._algorithm = algorithm
        self._hash = hashlib.new(name, usedforsecurity=False)

    @property
    def algorithm(self) -> str:
        return self._algorithm

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.digest()

    def b64digest(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


def _unsupported(algorithm: str) -> InvalidRequest:
    return InvalidRequest(
        "Checksum algorithm provided is unsupported. Please try again with any of the valid "
        f"types: [{', '.join(sorted(ALGORITHMS))}] (got {algorithm!r}).",
        ArgumentName="ChecksumAlgorithm",
        ArgumentValue=algorithm,
    )


def normalize_algorithm(algorithm: str) -> str:
    """The S3 spelling (upper case) of ``algorithm``; ``InvalidRequest`` if S3 has no such one."""
    name = algorithm.strip().upper()
    if name not in DIGEST_SIZES:
        raise _unsupported(algorithm)
    return name


def new_checksum(algorithm: str) -> Checksum:
    """A fresh running checksum for ``algorithm`` (any case: ``"crc32"``, ``"CRC32"``).

    An algorithm S3 does not know raises ``InvalidRequest`` naming the valid ones.
    """
    name = normalize_algorithm(algorithm)
    if name == "CRC32":
        return _CrtCrc(name, _crt.crc32)
    if name == "CRC32C":
        return _CrtCrc(name, _crt.crc32c)
    if name == "CRC64NVME":
        return _CrtCrc(name, _crt.crc64nvme)
    if name == "XXHASH64":
        return _CrtXxhash(name, _crt.XXHash.new_xxhash64)
    if name == "XXHASH3":
        return _CrtXxhash(name, _crt.XXHash.new_xxhash3_64)
    if name == "XXHASH128":
        return _CrtXxhash(name, _crt.XXHash.new_xxhash3_128)
    return _Hashlib(name, name.lower())


def header_name(algorithm: str) -> str:
    """The header that carries ``algorithm``'s value: ``x-amz-checksum-crc32``..."""
    return HEADER_PREFIX + normalize_algorithm(algorithm).lower()


def algorithm_for_header(name: str) -> str | None:
    """The algorithm whose value header ``name`` carries (``"CRC32"``), or None if none does."""
    lowered = name.strip().lower()
    if not lowered.startswith(HEADER_PREFIX):
        return None
    algorithm = lowered.removeprefix(HEADER_PREFIX).upper()
    return algorithm if algorithm in DIGEST_SIZES else None


def _strict_b64(value: str) -> bytes | None:
    try:
        return binascii.a2b_base64(value.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None


def decode_checksum_value(algorithm: str, value: str, *, trailing: bool = False) -> bytes:
    """The digest bytes of a base64 ``x-amz-checksum-*`` value, checked for its algorithm.

    A value that is not base64 of a digest of the algorithm's size raises S3's
    ``InvalidRequest`` ("Value for x-amz-checksum-crc32 header is invalid.";
    "trailing header" when it came in an aws-chunked trailer).
    """
    name = normalize_algorithm(algorithm)
    digest = _strict_b64(value.strip())
    if digest is None or len(digest) != DIGEST_SIZES[name]:
        where = "trailing header" if trailing else "header"
        raise InvalidRequest(
            f"Value for {HEADER_PREFIX}{name.lower()} {where} is invalid. Send the base64 of the "
            f"{DIGEST_SIZES[name]}-byte {name} digest of the body (got {value!r}).",
        )
    return digest


def decode_content_md5(value: str) -> bytes:
    """The 16 digest bytes of a ``Content-MD5`` header; S3's ``InvalidDigest`` if it is not one."""
    digest = _strict_b64(value.strip())
    if digest is None or len(digest) != DIGEST_SIZES["MD5"]:
        raise InvalidDigest(
            "The Content-MD5 you specified is not valid. Send the base64 of the body's 16-byte "
            f"MD5 digest (got {value!r}).",
            ArgumentName="Content-MD5",
            ArgumentValue=value,
        )
    return digest


ChecksumSource = Literal["header", "trailer", "algorithm"]
"""Where a request declares its checksum: the value in an ``x-amz-checksum-*`` header,
the value to come in an aws-chunked trailer (``x-amz-trailer``), or only the
algorithm's name (``x-amz-sdk-checksum-algorithm`` with neither of the others)."""


@dataclass(frozen=True)
class DeclaredChecksum:
    """The checksum a request declares for its body."""

    algorithm: str
    """S3's name, upper case: ``"CRC32"``."""
    source: ChecksumSource
    value: str | None = None
    """The base64 value when ``source == "header"`` (already checked to decode to a
    digest of the right size); None otherwise."""

    @property
    def header(self) -> str:
        """The name of the header (or trailer) that carries the value: ``x-amz-checksum-crc32``."""
        return HEADER_PREFIX + self.algorithm.lower()


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def declared_checksum(headers: Mapping[str, str]) -> DeclaredChecksum | None:
    """Which checksum the request's headers declare for its body, checked as S3 checks them.

    In order: one ``x-amz-checksum-<algorithm>`` header gives algorithm and value up
    front; else ``x-amz-trailer: x-amz-checksum-<algorithm>`` promises the value in
    the aws-chunked trailer; else ``x-amz-sdk-checksum-algorithm`` alone names only
    the algorithm (S3 itself refuses that last form on upload: see
    :func:`fogbank.gateway.chunked.read_body`). None when the request declares none.
    ``x-amz-sdk-checksum-algorithm``, when sent beside a value or trailer, must name
    the same algorithm.

    The S3 errors, all ``InvalidRequest``: two checksum headers (or a header and a
    trailer); an ``x-amz-checksum-*`` header for an unknown algorithm; an
    ``x-amz-trailer`` that is not one checksum header; a value that is not base64 of
    the digest's size; an ``x-amz-sdk-checksum-algorithm`` that is unknown or names
    another algorithm than the value's.
    """
    lowered = _lowered(headers)
    values: list[tuple[str, str]] = []
    for name, value in lowered.items():
        if not name.startswith(HEADER_PREFIX):
            continue
        suffix = name.removeprefix(HEADER_PREFIX)
        if suffix in _NOT_CHECKSUM_VALUES:
            continue
        algorithm = algorithm_for_header(name)
        if algorithm is None:
            raise InvalidRequest(
                "The algorithm type you specified in x-amz-checksum- header is invalid. "
                f"{name!r} is not one of "
                f"{', '.join(HEADER_PREFIX + a.lower() for a in ALGORITHMS)}.",
            )
        values.append((algorithm, value))
    if len(values) > 1:
        raise InvalidRequest(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed. "
            f"Got {', '.join(HEADER_PREFIX + a.lower() for a, _ in values)}; send one.",
        )

    trailer: str | None = None
    raw_trailer = lowered.get(TRAILER_HEADER)
    if raw_trailer is not None and raw_trailer.strip():
        names = [part.strip().lower() for part in raw_trailer.split(",") if part.strip()]
        trailer = algorithm_for_header(names[0]) if len(names) == 1 else None
        if trailer is None:
            raise InvalidRequest(
                "The value specified in the x-amz-trailer header is not supported. It must name "
                f"one checksum header, such as x-amz-checksum-crc32 (got {raw_trailer!r}).",
            )
        if values:
            raise InvalidRequest(
                "Expecting a single x-amz-checksum- header: the request sends "
                f"{HEADER_PREFIX}{values[0][0].lower()} and also announces the trailer "
                f"{HEADER_PREFIX}{trailer.lower()}. Send one of them.",
            )

    declared: DeclaredChecksum | None = None
    if values:
        algorithm, value = values[0]
        decode_checksum_value(algorithm, value)
        declared = DeclaredChecksum(algorithm, "header", value.strip())
    elif trailer is not None:
        declared = DeclaredChecksum(trailer, "trailer")

    sdk_algorithm = lowered.get(SDK_ALGORITHM_HEADER)
    if sdk_algorithm is None:
        return declared
    sdk_name = sdk_algorithm.strip().upper()
    if sdk_name not in DIGEST_SIZES or (declared is not None and declared.algorithm != sdk_name):
        expected = f" (the request's checksum is {declared.algorithm})" if declared else ""
        raise InvalidRequest(
            f"Value for x-amz-sdk-checksum-algorithm header is invalid: {sdk_algorithm!r}"
            f"{expected}. It must be one of {', '.join(ALGORITHMS)} and name the algorithm "
            "of the x-amz-checksum-* header or trailer sent with it.",
        )
    return declared if declared is not None else DeclaredChecksum(sdk_name, "algorithm")
