"""Checksums agree with botocore byte for byte; declared checksums are read as S3 reads them."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest
from botocore import httpchecksum
from hypothesis import given, settings
from hypothesis import strategies as st

from fogbank.core.errors import InvalidDigest, InvalidRequest
from fogbank.gateway.checksums import (
    ALGORITHMS,
    DIGEST_SIZES,
    DeclaredChecksum,
    algorithm_for_header,
    declared_checksum,
    decode_checksum_value,
    decode_content_md5,
    header_name,
    new_checksum,
)

# botocore's own classes; with awscrt installed it has all but MD5.
BOTOCORE = {
    "CRC32": httpchecksum.Crc32Checksum,
    "CRC32C": httpchecksum.CrtCrc32cChecksum,
    "CRC64NVME": httpchecksum.CrtCrc64NvmeChecksum,
    "SHA1": httpchecksum.Sha1Checksum,
    "SHA256": httpchecksum.Sha256Checksum,
    "SHA512": httpchecksum.Sha512Checksum,
    "XXHASH64": httpchecksum.CrtXxhash64Checksum,
    "XXHASH3": httpchecksum.CrtXxhash3Checksum,
    "XXHASH128": httpchecksum.CrtXxhash128Checksum,
}


def _b64(algorithm: str, data: bytes) -> str:
    checksum = new_checksum(algorithm)
    checksum.update(data)
    return checksum.b64digest()


def test_botocore_uses_the_crt_checksums_that_fogbank_uses() -> None:
    # The comparison below is meaningful only if botocore runs its CRT classes too.
    assert httpchecksum.HAS_CRT
    assert httpchecksum._CHECKSUM_CLS["crc32c"] is httpchecksum.CrtCrc32cChecksum
    assert httpchecksum._CHECKSUM_CLS["crc64nvme"] is httpchecksum.CrtCrc64NvmeChecksum


@pytest.mark.parametrize(
    ("algorithm", "data", "expected"),
    [
        ("CRC32", b"", "AAAAAA=="),
        ("CRC32", b"hello world", "DUoRhQ=="),
        ("CRC32C", b"", "AAAAAA=="),
        # CRC-32C check value of "123456789" is 0xE3069283.
        ("CRC32C", b"123456789", base64.b64encode(bytes.fromhex("e3069283")).decode()),
        # CRC-64/NVME check value of "123456789" is 0xAE8B14860A799888.
        ("CRC64NVME", b"123456789", base64.b64encode(bytes.fromhex("ae8b14860a799888")).decode()),
        ("CRC64NVME", b"", "AAAAAAAAAAA="),
        ("SHA1", b"", "2jmj7l5rSw0yVb/vlWAYkK/YBwk="),
        ("SHA256", b"", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
        ("MD5", b"", "1B2M2Y8AsgTpgAmY7PhCfg=="),
    ],
)
def test_known_vectors(algorithm: str, data: bytes, expected: str) -> None:
    assert _b64(algorithm, data) == expected


def test_crc32_is_zlibs_crc32_big_endian() -> None:
    data = b"hello world"
    assert new_checksum("crc32").digest() == b"\x00\x00\x00\x00"
    checksum = new_checksum("crc32")
    checksum.update(data)
    assert checksum.digest() == zlib.crc32(data).to_bytes(4, "big")


@pytest.mark.parametrize("algorithm", sorted(BOTOCORE))
@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=5000), cut=st.integers(min_value=0, max_value=5000))
def test_every_algorithm_matches_botocore_however_the_data_is_fed(
    algorithm: str, data: bytes, cut: int
) -> None:
    ours = new_checksum(algorithm)
    ours.update(data[:cut])
    ours.update(data[cut:])
    theirs = BOTOCORE[algorithm]()
    theirs.update(data)
    assert ours.digest() == theirs.digest()
    assert ours.b64digest() == theirs.b64digest()
    assert len(ours.digest()) == DIGEST_SIZES[algorithm]
    assert ours.algorithm == algorithm


def test_md5_and_shas_match_hashlib_on_random_data() -> None:
    data = bytes(range(256)) * 1000
    for algorithm, name in [("MD5", "md5"), ("SHA1", "sha1"), ("SHA256", "sha256")]:
        checksum = new_checksum(algorithm)
        checksum.update(data)
        assert checksum.digest() == hashlib.new(name, data).digest()


def test_an_xxhash_digest_can_be_read_twice() -> None:
    checksum = new_checksum("XXHASH64")
    checksum.update(b"abc")
    assert checksum.digest() == checksum.digest()
    with pytest.raises(RuntimeError, match="finalized"):
        checksum.update(b"more")


def test_algorithm_names_are_case_insensitive_and_name_their_headers() -> None:
    assert new_checksum("crc32c").algorithm == "CRC32C"
    assert header_name("Crc64Nvme") == "x-amz-checksum-crc64nvme"
    assert [header_name(a) for a in ALGORITHMS][:5] == [
        "x-amz-checksum-crc32",
        "x-amz-checksum-crc32c",
        "x-amz-checksum-crc64nvme",
        "x-amz-checksum-sha1",
        "x-amz-checksum-sha256",
    ]
    assert algorithm_for_header("X-Amz-Checksum-SHA256") == "SHA256"
    assert algorithm_for_header("x-amz-checksum-type") is None
    assert algorithm_for_header("content-md5") is None


def test_algorithms_are_the_ones_in_botocores_s3_model() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("s3")
    assert set(ALGORITHMS) == set(model.shape_for("ChecksumAlgorithm").enum)


def test_an_unknown_algorithm_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(InvalidRequest) as caught:
        new_checksum("crc16")
    assert "crc16" in caught.value.message
    for algorithm in ALGORITHMS:
        assert algorithm in caught.value.message


def test_checksum_values_must_be_base64_of_the_digest_size() -> None:
    assert decode_checksum_value("CRC32", "DUoRhQ==") == bytes.fromhex("0d4a1185")
    for bad in ["DUoRhQ", "DUoRhQ==AA", "AAAAAAAAAAA=", "not base64!", "é"]:
        with pytest.raises(InvalidRequest, match=r"Value for x-amz-checksum-crc32 header"):
            decode_checksum_value("crc32", bad)
    with pytest.raises(InvalidRequest, match="trailing header is invalid"):
        decode_checksum_value("crc32", "AA==", trailing=True)


def test_content_md5_must_be_base64_of_sixteen_bytes() -> None:
    assert decode_content_md5("1B2M2Y8AsgTpgAmY7PhCfg==") == hashlib.md5(b"").digest()
    for bad in ["", "1B2M2Y8AsgTpgAmY7PhCfg", "AAAA", "d41d8cd98f00b204e9800998ecf8427e"]:
        with pytest.raises(InvalidDigest, match="The Content-MD5 you specified is not valid"):
            decode_content_md5(bad)


# -- which checksum a request declares ------------------------------------------------


def test_no_checksum_headers_declare_nothing() -> None:
    assert declared_checksum({}) is None
    assert declared_checksum({"Content-Type": "text/plain", "Content-MD5": "x"}) is None
    # Headers with the prefix that carry no value are not checksums.
    assert (
        declared_checksum({"x-amz-checksum-type": "FULL_OBJECT", "x-amz-checksum-mode": "ENABLED"})
        is None
    )


def test_a_checksum_header_declares_algorithm_and_value() -> None:
    declared = declared_checksum(
        {"X-Amz-Checksum-Crc32": "DUoRhQ==", "X-Amz-Sdk-Checksum-Algorithm": "crc32"}
    )
    assert declared == DeclaredChecksum("CRC32", "header", "DUoRhQ==")
    assert declared.header == "x-amz-checksum-crc32"


def test_a_trailer_declares_the_algorithm_and_promises_the_value() -> None:
    declared = declared_checksum(
        {"x-amz-trailer": "x-amz-checksum-crc64nvme", "x-amz-sdk-checksum-algorithm": "CRC64NVME"}
    )
    assert declared == DeclaredChecksum("CRC64NVME", "trailer", None)


def test_the_sdk_algorithm_alone_names_only_the_algorithm() -> None:
    assert declared_checksum({"x-amz-sdk-checksum-algorithm": "sha256"}) == DeclaredChecksum(
        "SHA256", "algorithm", None
    )


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (
            {"x-amz-checksum-crc32": "DUoRhQ==", "x-amz-checksum-sha1": "x"},
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        ),
        (
            {"x-amz-checksum-crc32": "DUoRhQ==", "x-amz-trailer": "x-amz-checksum-crc32"},
            "Expecting a single x-amz-checksum- header",
        ),
        (
            {"x-amz-checksum-crc16": "AAA="},
            "The algorithm type you specified in x-amz-checksum- header is invalid.",
        ),
        (
            {"x-amz-trailer": "x-amz-meta-foo"},
            "The value specified in the x-amz-trailer header is not supported",
        ),
        (
            {"x-amz-trailer": "x-amz-checksum-crc32, x-amz-checksum-sha1"},
            "The value specified in the x-amz-trailer header is not supported",
        ),
        (
            {"x-amz-checksum-sha256": "DUoRhQ=="},
            "Value for x-amz-checksum-sha256 header is invalid",
        ),
        (
            {"x-amz-checksum-crc32": "DUoRhQ==", "x-amz-sdk-checksum-algorithm": "SHA256"},
            "Value for x-amz-sdk-checksum-algorithm header is invalid",
        ),
        (
            {"x-amz-sdk-checksum-algorithm": "MD4"},
            "Value for x-amz-sdk-checksum-algorithm header is invalid",
        ),
    ],
)
def test_inconsistent_checksum_headers_get_s3s_invalid_request(
    headers: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        declared_checksum(headers)
    assert caught.value.message.startswith(message)
    assert caught.value.code == "InvalidRequest"
