"""Request bodies decode and verify as S3 reads them, however the bytes arrive, in little memory."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import itertools
import tracemalloc
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from botocore import httpchecksum
from botocore.httpchecksum import AwsChunkedWrapper
from hypothesis import given, settings
from hypothesis import strategies as st

from fogbank.core.errors import (
    BadDigest,
    IncompleteBody,
    InvalidArgument,
    InvalidChunkSizeError,
    InvalidDigest,
    InvalidRequest,
    MalformedTrailerError,
    XAmzContentSHA256Mismatch,
)
from fogbank.gateway.checksums import header_name, new_checksum
from fogbank.gateway.chunked import BodyChecksum, BodyDecoder, DecodedBody, read_body

# The checksum classes botocore itself puts in AwsChunkedWrapper (awscrt installed).
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
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def b64(algorithm: str, data: bytes) -> str:
    checksum = new_checksum(algorithm)
    checksum.update(data)
    return checksum.b64digest()


def encode(body: bytes, algorithm: str | None = "CRC32", chunk_size: int = 65536) -> bytes:
    """What boto3 sends for ``body``: botocore's own aws-chunked encoder."""
    wrapper = AwsChunkedWrapper(
        io.BytesIO(body),
        checksum_cls=BOTOCORE[algorithm] if algorithm else None,
        checksum_name=header_name(algorithm) if algorithm else "x-amz-checksum",
        chunk_size=chunk_size,
    )
    return bytes(wrapper.read())


def streaming_headers(algorithm: str | None, length: int | None) -> dict[str, str]:
    """The headers botocore sets beside that encoding (see _apply_request_trailer_checksum)."""
    headers = {
        "Content-Encoding": "aws-chunked",
        "Transfer-Encoding": "chunked",
        "X-Amz-Content-SHA256": UNSIGNED_TRAILER,
    }
    if algorithm:
        headers["X-Amz-Trailer"] = header_name(algorithm)
        headers["x-amz-sdk-checksum-algorithm"] = algorithm
    if length is not None:
        headers["X-Amz-Decoded-Content-Length"] = str(length)
    return headers


def split(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c for c in cuts if 0 <= c <= len(data))})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def decode(pieces: Iterable[bytes], headers: dict[str, str], **options: Any) -> DecodedBody:
    return read_body(iter(pieces), headers, **options)


def drain(body: DecodedBody) -> bytes:
    out = []
    for piece in body:
        assert piece, "the reader never yields empty pieces"
        out.append(piece)
    return b"".join(out)


def data_offset(body_length: int, chunk_size: int, index: int) -> int:
    """Where body byte ``index`` sits in ``encode(body, ..., chunk_size)``."""
    full = len(f"{chunk_size:x}\r\n") + chunk_size + 2
    chunk = index // chunk_size
    size = min(chunk_size, body_length - chunk * chunk_size)
    return chunk * full + len(f"{size:x}\r\n") + index % chunk_size


# -- round trips with botocore's encoder -----------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    body=st.binary(max_size=3000),
    algorithm=st.sampled_from(sorted(BOTOCORE)),
    chunk_size=st.integers(min_value=1, max_value=1200),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=40),
)
def test_any_body_any_algorithm_any_split_decodes_botocores_encoding(
    body: bytes, algorithm: str, chunk_size: int, cuts: list[int]
) -> None:
    encoded = encode(body, algorithm, chunk_size)
    decoded = decode(
        split(encoded, cuts), streaming_headers(algorithm, len(body)), min_chunk_size=None
    )
    assert drain(decoded) == body
    expected = BOTOCORE[algorithm]().handle(body)
    assert decoded.checksum == BodyChecksum(algorithm, expected)
    assert dict(decoded.trailers) == {header_name(algorithm): expected}
    assert decoded.decoded_length == len(body)
    assert decoded.finished


@settings(max_examples=25, deadline=None)
@given(
    pattern=st.binary(min_size=1, max_size=64),
    length=st.integers(min_value=8192, max_value=40000),
    chunk_size=st.integers(min_value=8192, max_value=20000),
    cuts=st.lists(st.integers(min_value=0, max_value=41000), max_size=20),
)
def test_chunks_of_at_least_8_kib_pass_s3s_chunk_size_rule(
    pattern: bytes, length: int, chunk_size: int, cuts: list[int]
) -> None:
    body = (pattern * (length // len(pattern) + 1))[:length]
    encoded = encode(body, "CRC64NVME", chunk_size)
    decoded = decode(split(encoded, cuts), streaming_headers("CRC64NVME", len(body)))
    assert drain(decoded) == body


def test_botocores_default_one_mib_chunks_decode() -> None:
    body = bytes(range(256)) * 10_000  # 2.56 MB: three chunks, the last short
    encoded = encode(body, "CRC32", chunk_size=1024 * 1024)
    decoded = decode(
        split(encoded, range(0, len(encoded), 65536)), streaming_headers("CRC32", len(body))
    )
    assert drain(decoded) == body
    assert decoded.checksum == BodyChecksum("CRC32", b64("CRC32", body))


def test_an_encoding_without_checksum_decodes_to_the_body() -> None:
    body = b"x" * 20000
    decoded = decode([encode(body, None, 8192)], streaming_headers(None, len(body)))
    assert drain(decoded) == body
    assert decoded.checksum is None
    assert dict(decoded.trailers) == {}


def test_an_empty_body_decodes() -> None:
    decoded = decode([encode(b"", "SHA256")], streaming_headers("SHA256", 0))
    assert drain(decoded) == b""
    assert decoded.checksum == BodyChecksum("SHA256", b64("SHA256", b""))


def test_content_encoding_alone_marks_a_body_aws_chunked() -> None:
    body = b"hello world" * 1000
    headers = {"Content-Encoding": "gzip, aws-chunked", "x-amz-trailer": "x-amz-checksum-crc32"}
    decoded = decode(bytewise(encode(body, "CRC32", 4000)), headers, min_chunk_size=None)
    assert drain(decoded) == body


def test_a_checksum_header_is_checked_against_a_chunked_body_without_trailer() -> None:
    body = b"y" * 9000
    headers = streaming_headers(None, len(body)) | {"x-amz-checksum-sha256": b64("SHA256", body)}
    decoded = decode([encode(body, None, 8192)], headers)
    assert drain(decoded) == body
    assert decoded.checksum == BodyChecksum("SHA256", b64("SHA256", body))

    headers["x-amz-checksum-sha256"] = b64("SHA256", b"other")
    with pytest.raises(BadDigest, match="The SHA256 you specified did not match"):
        drain(decode([encode(body, None, 8192)], headers))


def test_results_are_known_only_at_the_end() -> None:
    body = decode([encode(b"abc")], streaming_headers("CRC32", 3))
    with pytest.raises(RuntimeError, match="read to the end"):
        _ = body.checksum
    drain(body)
    assert body.checksum is not None


# -- integrity failures -----------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    body=st.binary(min_size=1, max_size=3000),
    algorithm=st.sampled_from(sorted(BOTOCORE)),
    chunk_size=st.integers(min_value=1, max_value=1000),
    where=st.floats(min_value=0, max_value=1, exclude_max=True),
    flip=st.integers(min_value=1, max_value=255),
)
def test_a_corrupted_data_byte_is_a_bad_digest(
    body: bytes, algorithm: str, chunk_size: int, where: float, flip: int
) -> None:
    encoded = bytearray(encode(body, algorithm, chunk_size))
    index = int(where * len(body))
    encoded[data_offset(len(body), chunk_size, index)] ^= flip
    decoded = decode([bytes(encoded)], streaming_headers(algorithm, len(body)), min_chunk_size=None)
    with pytest.raises(BadDigest) as caught:
        drain(decoded)
    message = caught.value.message
    assert message.startswith(
        f"The {algorithm} you specified did not match the calculated checksum."
    )
    # Both values are in the message: what the client sent, what the body has.
    assert BOTOCORE[algorithm]().handle(body) in message
    corrupted = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    assert b64(algorithm, corrupted) in message


def test_a_wrong_trailer_value_is_a_bad_digest() -> None:
    body = b"hello world"
    encoded = encode(body, "CRC32", 8192).replace(
        b64("CRC32", body).encode(), b64("CRC32", b"hello world!").encode()
    )
    with pytest.raises(
        BadDigest, match=r"The CRC32 you specified did not match the calculated checksum\."
    ):
        drain(decode([encoded], streaming_headers("CRC32", len(body))))


def test_a_trailer_value_that_is_not_a_digest_is_an_invalid_request() -> None:
    encoded = encode(b"hello", "CRC32").replace(b64("CRC32", b"hello").encode(), b"nope")
    with pytest.raises(
        InvalidRequest, match="Value for x-amz-checksum-crc32 trailing header is invalid"
    ):
        drain(decode([encoded], streaming_headers("CRC32", 5)))


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=2000),
    chunk_size=st.integers(min_value=1, max_value=700),
    where=st.floats(min_value=0, max_value=1, exclude_max=True),
    with_length=st.booleans(),
)
def test_every_truncated_stream_is_an_incomplete_body(
    body: bytes, chunk_size: int, where: float, with_length: bool
) -> None:
    encoded = encode(body, "CRC32C", chunk_size)
    cut = int(where * len(encoded))
    headers = streaming_headers("CRC32C", len(body) if with_length else None)
    decoded = decode(bytewise(encoded[:cut]) or [b""], headers, min_chunk_size=None)
    with pytest.raises(IncompleteBody) as caught:
        drain(decoded)
    assert caught.value.code == "IncompleteBody"
    assert caught.value.message.startswith(
        ("The request body terminated unexpectedly", "You did not provide")
    )


def test_a_truncated_stream_says_where_it_ended() -> None:
    encoded = encode(b"a" * 10000, "CRC32", 8192)
    with pytest.raises(IncompleteBody, match=r"inside chunk 2 \(100 of its 1808 bytes arrived\)"):
        drain(
            decode(
                [encoded[: encoded.index(b"710\r\n") + 5 + 100]], streaming_headers("CRC32", None)
            )
        )


def test_a_decoded_length_larger_than_the_body_is_an_incomplete_body() -> None:
    body = b"z" * 100
    with pytest.raises(
        IncompleteBody, match="x-amz-decoded-content-length HTTP header: it says 101"
    ):
        drain(decode([encode(body)], streaming_headers("CRC32", 101)))


def test_a_body_longer_than_its_decoded_length_fails_before_its_data_is_read() -> None:
    body = b"z" * 100
    decoded = decode(
        [encode(body, "CRC32", 60)], streaming_headers("CRC32", 99), min_chunk_size=None
    )
    with pytest.raises(IncompleteBody, match="more than the 99 bytes"):
        drain(decoded)


# -- malformed encodings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "detail"),
    [
        (b"zz\r\nhello\r\n0\r\n\r\n", "is not a hexadecimal number"),
        (b"0x5\r\nhello\r\n0\r\n\r\n", "is not a hexadecimal number"),
        (b"+5\r\nhello\r\n0\r\n\r\n", "is not a hexadecimal number"),
        (b" 5\r\nhello\r\n0\r\n\r\n", "is not a hexadecimal number"),
        (b"\r\nhello\r\n0\r\n\r\n", "is not a hexadecimal number"),
        (b"5\nhello\r\n0\r\n\r\n", "is not a hexadecimal number"),
        (b"12345678901234567\r\n", "is not a hexadecimal number"),
        (b"5\r\nhelloXX\r\n0\r\n\r\n", "chunk 1 is not followed by CRLF after its 5 bytes"),
        (b"5\r\nhello\n0\r\n\r\n", "chunk 1 is not followed by CRLF"),
        (b"3\r\nhello\r\n0\r\n\r\n", "chunk 1 is not followed by CRLF after its 3 bytes"),
        (b"5\r\nhello\r\n0\r\n\r\ngarbage", "bytes follow the blank line"),
        (b"5\r\nhello\r\n0\r\n\r\n\r\n", "bytes follow the blank line"),
        (b"5" * 5000, "no CRLF ends the chunk header within 4096 bytes"),
    ],
)
def test_a_malformed_encoding_is_an_incomplete_body_that_says_what_is_wrong(
    encoded: bytes, detail: str
) -> None:
    headers = {"Content-Encoding": "aws-chunked", "x-amz-content-sha256": UNSIGNED_TRAILER}
    for pieces in ([encoded], bytewise(encoded)):
        with pytest.raises(IncompleteBody) as caught:
            drain(decode(pieces, headers, min_chunk_size=None))
        assert "the aws-chunked encoding is malformed at byte" in caught.value.message
        assert detail in caught.value.message


def test_a_malformed_encoding_names_the_byte_at_fault() -> None:
    headers = {"Content-Encoding": "aws-chunked"}
    with pytest.raises(IncompleteBody, match="malformed at byte 8:"):
        drain(decode(bytewise(b"5\r\nhelloXX\r\n0\r\n\r\n"), headers, min_chunk_size=None))


def test_chunk_extensions_other_than_the_signature_are_ignored() -> None:
    encoded = b"5;foo=bar;chunk-signature=abc\r\nhello\r\n0;chunk-signature=def\r\n\r\n"
    decoded = decode([encoded], {"Content-Encoding": "aws-chunked"}, min_chunk_size=None)
    assert drain(decoded) == b"hello"


@pytest.mark.parametrize(
    ("trailer", "headers", "message"),
    [
        # A trailer the headers never announced.
        (b"x-amz-checksum-crc32:NhCmhg==\r\n", {}, "x-amz-trailer header announces none"),
        # The announced trailer never came.
        (b"", {"x-amz-trailer": "x-amz-checksum-crc32"}, "the body's trailers are none"),
        # Another one came instead.
        (
            b"x-amz-checksum-sha1:qvTGHdzF6KLavt4PO0gs2a6pQ00=\r\n",
            {"x-amz-trailer": "x-amz-checksum-crc32"},
            "the body's trailers are x-amz-checksum-sha1",
        ),
        (b"no colon here\r\n", {}, "Each trailer line must be <name>:<value>"),
        (b":value\r\n", {}, "Each trailer line must be <name>:<value>"),
        (
            b"x-amz-checksum-crc32:NhCmhg==\r\nx-amz-checksum-crc32:NhCmhg==\r\n",
            {"x-amz-trailer": "x-amz-checksum-crc32"},
            "sent twice",
        ),
        (b"x-a:" + b"b" * 5000 + b"\r\n", {}, "longer than 4096 bytes"),
    ],
)
def test_trailers_that_do_not_match_x_amz_trailer_are_malformed(
    trailer: bytes, headers: dict[str, str], message: str
) -> None:
    encoded = b"5\r\nhello\r\n0\r\n" + trailer + b"\r\n"
    all_headers = {"Content-Encoding": "aws-chunked", **headers}
    with pytest.raises(MalformedTrailerError) as caught:
        drain(decode(bytewise(encoded), all_headers, min_chunk_size=None))
    assert caught.value.message.startswith(
        "The request contained trailing data that was not well-formed or did not conform to our "
        "published schema."
    )
    assert message in caught.value.message


def test_a_short_chunk_that_is_not_the_last_is_an_invalid_chunk_size() -> None:
    # As S3 reports it: the chunk whose arrival shows the short one was not the last.
    encoded = encode(b"hello", "CRC32", chunk_size=3)
    with pytest.raises(InvalidChunkSizeError) as caught:
        drain(decode([encoded], streaming_headers("CRC32", 5)))
    assert caught.value.message.startswith(
        "Only the last chunk is allowed to have a size less than 8192 bytes"
    )
    assert caught.value.fields == {"Chunk": "2", "BadChunkSize": "3"}


def test_the_last_chunk_may_be_short_and_the_rule_can_be_turned_off() -> None:
    body = b"q" * 8200
    assert (
        drain(decode([encode(body, "CRC32", 8192)], streaming_headers("CRC32", len(body)))) == body
    )
    small = encode(body, "CRC32", 100)
    assert (
        drain(decode([small], streaming_headers("CRC32", len(body)), min_chunk_size=None)) == body
    )


# -- signed streaming: signatures are threaded through to the verifiers -----------------


def _signing_key() -> bytes:
    key = b"AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    for part in ("20130524", "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


class SigV4Chain:
    """A SigV4 chunk verifier as the auth module would write one (the AWS docs' example keys)."""

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self.calls: list[tuple[int, str | None, str | None]] = []
        self.trailer_calls: list[tuple[bytes, str | None, str | None]] = []

    def _sign(self, *lines: str) -> str:
        scope = "20130524T000000Z\n20130524/us-east-1/s3/aws4_request"
        to_sign = "\n".join([lines[0], scope, *lines[1:]])
        return hmac.new(_signing_key(), to_sign.encode(), hashlib.sha256).hexdigest()

    def chunk(self, data: bytes, signature: str | None, previous: str | None) -> None:
        self.calls.append((len(data), signature, previous))
        empty = hashlib.sha256(b"").hexdigest()
        expected = self._sign(
            "AWS4-HMAC-SHA256-PAYLOAD",
            previous or self.seed,
            empty,
            hashlib.sha256(data).hexdigest(),
        )
        if signature != expected:
            raise InvalidRequest(f"SignatureDoesNotMatch for a chunk of {len(data)} bytes")

    def trailer(self, canonical: bytes, signature: str | None, previous: str | None) -> None:
        self.trailer_calls.append((canonical, signature, previous))
        if not canonical and signature is None:
            return  # STREAMING-AWS4-HMAC-SHA256-PAYLOAD: no trailer to sign
        expected = self._sign(
            "AWS4-HMAC-SHA256-TRAILER", previous or "", hashlib.sha256(canonical).hexdigest()
        )
        if signature != expected:
            raise InvalidRequest("SignatureDoesNotMatch for the trailer")


def _aws_docs_chunks(signatures: list[str], trailer: bytes = b"") -> bytes:
    """The body of the AWS docs' sigv4-streaming examples: 65536 + 1024 bytes of 'a'."""
    return (
        f"10000;chunk-signature={signatures[0]}\r\n".encode()
        + b"a" * 65536
        + f"\r\n400;chunk-signature={signatures[1]}\r\n".encode()
        + b"a" * 1024
        + f"\r\n0;chunk-signature={signatures[2]}\r\n".encode()
        + trailer
        + b"\r\n"
    )


def test_the_aws_docs_signed_streaming_example_verifies_chunk_by_chunk() -> None:
    signatures = [
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ]
    chain = SigV4Chain("4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
    encoded = _aws_docs_chunks(signatures)
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "x-amz-decoded-content-length": "66560",
        "Content-Length": str(len(encoded)),
    }
    decoded = decode(
        split(encoded, range(0, len(encoded), 1000)),
        headers,
        verify_chunk=chain.chunk,
        verify_trailer=chain.trailer,
    )
    assert drain(decoded) == b"a" * 66560
    assert chain.calls == [
        (65536, signatures[0], None),
        (1024, signatures[1], signatures[0]),
        (0, signatures[2], signatures[1]),
    ]
    assert chain.trailer_calls == [(b"", None, signatures[2])]


def test_the_aws_docs_signed_trailer_example_verifies_its_trailer() -> None:
    signatures = [
        "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
        "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
        "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
    ]
    trailer_signature = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
    chain = SigV4Chain("106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e")
    trailer = (
        b"x-amz-checksum-crc32c:sOO8/Q==\r\n"
        + f"x-amz-trailer-signature:{trailer_signature}\r\n".encode()
    )
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "x-amz-decoded-content-length": "66560",
        "x-amz-trailer": "x-amz-checksum-crc32c",
    }
    decoded = decode(
        split(_aws_docs_chunks(signatures, trailer), range(0, 70000, 777)),
        headers,
        verify_chunk=chain.chunk,
        verify_trailer=chain.trailer,
    )
    assert drain(decoded) == b"a" * 66560
    assert decoded.checksum == BodyChecksum("CRC32C", "sOO8/Q==")
    assert dict(decoded.trailers) == {"x-amz-checksum-crc32c": "sOO8/Q=="}
    assert chain.trailer_calls == [
        (b"x-amz-checksum-crc32c:sOO8/Q==\n", trailer_signature, signatures[2])
    ]


def test_a_chunk_whose_signature_fails_is_never_handed_on() -> None:
    chain = SigV4Chain("4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
    encoded = _aws_docs_chunks(
        [
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
            "0" * 64,  # a forged second chunk
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
        ]
    )
    decoded = decode(
        split(encoded, range(0, len(encoded), 512)),
        {"Content-Encoding": "aws-chunked"},
        verify_chunk=chain.chunk,
    )
    received = [next(decoded)]
    with pytest.raises(InvalidRequest, match="SignatureDoesNotMatch for a chunk of 1024 bytes"):
        received.extend(decoded)
    assert received == [b"a" * 65536]
    with pytest.raises(StopIteration):
        next(decoded)


def test_hand_built_signed_chunks_pass_every_signature_in_order() -> None:
    calls: list[tuple[bytes, str | None, str | None]] = []
    trailer_calls: list[tuple[bytes, str | None, str | None]] = []
    encoded = (
        b"3;chunk-signature=s1\r\nabc\r\n"
        b"2;chunk-signature=s2\r\nde\r\n"
        b"0;chunk-signature=s3\r\n"
        b"x-amz-checksum-crc32:" + b64("CRC32", b"abcde").encode() + b"\r\n"
        b"x-amz-trailer-signature:s4\r\n\r\n"
    )
    headers = {
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "x-amz-trailer": "x-amz-checksum-crc32",
    }
    decoded = decode(
        bytewise(encoded),
        headers,
        verify_chunk=lambda d, s, p: calls.append((d, s, p)),
        verify_trailer=lambda t, s, p: trailer_calls.append((t, s, p)),
        min_chunk_size=None,
    )
    assert list(decoded) == [b"abc", b"de"]
    assert calls == [(b"abc", "s1", None), (b"de", "s2", "s1"), (b"", "s3", "s2")]
    trailer = b"x-amz-checksum-crc32:" + b64("CRC32", b"abcde").encode() + b"\n"
    assert trailer_calls == [(trailer, "s4", "s3")]
    assert dict(decoded.trailers) == {"x-amz-checksum-crc32": b64("CRC32", b"abcde")}


# -- plain bodies -----------------------------------------------------------------------


def test_a_plain_body_passes_through_as_it_came() -> None:
    pieces = [b"hello ", b"", b"world"]
    decoded = decode(pieces, {"Content-Length": "11"})
    assert list(decoded) == [b"hello ", b"world"]
    assert decoded.checksum is None
    assert dict(decoded.trailers) == {}
    assert decoded.decoded_length == 11


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "MD5"])
def test_a_plain_body_is_checked_against_its_checksum_header(algorithm: str) -> None:
    body = b"hello world"
    headers = {
        header_name(algorithm): b64(algorithm, body),
        "x-amz-sdk-checksum-algorithm": algorithm,
    }
    decoded = decode([body[:4], body[4:]], headers)
    assert drain(decoded) == body
    assert decoded.checksum == BodyChecksum(algorithm, b64(algorithm, body))

    headers[header_name(algorithm)] = b64(algorithm, b"hello world?")
    with pytest.raises(BadDigest) as caught:
        drain(decode([body], headers))
    assert caught.value.message.startswith(
        f"The {algorithm} you specified did not match the calculated checksum."
    )
    assert b64(algorithm, b"hello world?") in caught.value.message
    assert b64(algorithm, body) in caught.value.message


def test_a_plain_body_is_checked_against_content_md5() -> None:
    body = b"hello world"
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    assert drain(decode([body], {"Content-MD5": md5})) == body

    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(BadDigest) as caught:
        drain(decode([body], {"Content-MD5": wrong}))
    assert caught.value.message == "The Content-MD5 you specified did not match what we received."
    # As S3 reflects them: the expected digest in hex, the calculated one in base64.
    assert caught.value.fields == {
        "ExpectedDigest": hashlib.md5(b"other").hexdigest(),
        "CalculatedDigest": md5,
    }


def test_a_malformed_content_md5_is_refused_before_reading() -> None:
    def never() -> Iterator[bytes]:
        raise AssertionError("the body must not be read")
        yield b""

    with pytest.raises(InvalidDigest):
        read_body(never(), {"Content-MD5": "not-an-md5"})


def test_content_md5_and_a_checksum_header_are_both_checked() -> None:
    body = b"data"
    headers = {
        "Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode(),
        "x-amz-checksum-crc32": b64("CRC32", body),
    }
    decoded = decode([body], headers)
    assert drain(decoded) == body
    assert decoded.checksum == BodyChecksum("CRC32", b64("CRC32", body))


def test_a_plain_body_shorter_than_content_length_is_an_incomplete_body() -> None:
    with pytest.raises(IncompleteBody) as caught:
        drain(decode([b"hello"], {"Content-Length": "10"}))
    assert caught.value.message.startswith(
        "You did not provide the number of bytes specified by the Content-Length HTTP header"
    )
    assert "10 bytes" in caught.value.message


def test_a_plain_body_longer_than_content_length_fails_at_once() -> None:
    decoded = decode([b"hello", b"world", b"!"], {"Content-Length": "7"})
    assert next(decoded) == b"hello"
    with pytest.raises(IncompleteBody, match="longer than the 7 bytes"):
        next(decoded)


def test_a_signed_payload_hash_is_verified() -> None:
    body = b"signed body"
    good = hashlib.sha256(body).hexdigest()
    assert drain(decode([b"signed ", b"body"], {"x-amz-content-sha256": good.upper()})) == body

    other = hashlib.sha256(b"other").hexdigest()
    with pytest.raises(XAmzContentSHA256Mismatch) as caught:
        drain(decode([body], {"x-amz-content-sha256": other}))
    assert caught.value.message == (
        "The provided 'x-amz-content-sha256' header does not match what was computed."
    )
    assert caught.value.fields == {
        "ClientComputedContentSHA256": other,
        "S3ComputedContentSHA256": good,
    }


def test_an_unknown_payload_hash_value_is_an_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match="x-amz-content-sha256 must be UNSIGNED-PAYLOAD"):
        read_body(iter([]), {"x-amz-content-sha256": "whatever"})
    assert drain(decode([b"x"], {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})) == b"x"


def test_the_sdk_algorithm_alone_is_refused_as_s3_refuses_it() -> None:
    with pytest.raises(
        InvalidRequest, match="x-amz-sdk-checksum-algorithm specified, but no corresponding"
    ):
        read_body(iter([b"x"]), {"x-amz-sdk-checksum-algorithm": "CRC32"})


def test_a_trailer_needs_an_aws_chunked_body() -> None:
    with pytest.raises(InvalidRequest, match="the body is not aws-chunked"):
        read_body(iter([b"x"]), {"x-amz-trailer": "x-amz-checksum-crc32"})


def test_a_default_algorithm_is_computed_when_none_is_declared() -> None:
    body = b"no checksum declared"
    decoded = decode([body], {}, default_algorithm="CRC64NVME")
    drain(decoded)
    assert decoded.checksum == BodyChecksum("CRC64NVME", b64("CRC64NVME", body))
    # A declared one wins.
    decoded = decode(
        [body], {"x-amz-checksum-sha1": b64("SHA1", body)}, default_algorithm="CRC64NVME"
    )
    drain(decoded)
    assert decoded.checksum == BodyChecksum("SHA1", b64("SHA1", body))


def test_object_checksum_headers_are_left_to_the_caller() -> None:
    # CompleteMultipartUpload: the header is the whole object's checksum, not the XML body's.
    headers = {"x-amz-checksum-crc32": "AAAAAA==-3"}
    decoded = decode([b"<CompleteMultipartUpload/>"], headers, object_checksum_headers=True)
    assert drain(decoded) == b"<CompleteMultipartUpload/>"
    assert decoded.checksum is None


def test_the_push_decoder_feeds_pieces_and_fails_for_good() -> None:
    decoder = BodyDecoder({"Content-Encoding": "aws-chunked"}, min_chunk_size=None)
    assert decoder.feed(b"5\r\nhel") == [b"hel"]
    assert decoder.feed(b"lo\r\n0\r") == [b"lo"]
    with pytest.raises(IncompleteBody):
        decoder.finish()
    with pytest.raises(IncompleteBody):
        decoder.feed(b"\n\r\n")


# -- memory -----------------------------------------------------------------------------


class GeneratedFile(io.RawIOBase):
    """A readable file of ``size`` bytes made up on the fly, never held whole."""

    def __init__(self, size: int) -> None:
        self._left = size
        self._block = bytes(range(251)) * 4200  # ~1 MB, a period prime to powers of two

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        self._left -= n
        out = bytearray()
        while len(out) < n:
            out += self._block[: n - len(out)]
        return bytes(out)


def _pieces(reader: AwsChunkedWrapper, size: int) -> Iterator[bytes]:
    while piece := reader.read(size):
        yield bytes(piece)


def test_a_200_mb_upload_streams_in_bounded_memory() -> None:
    size = 200 * 1024 * 1024
    expected = httpchecksum.CrtCrc32Checksum()
    reference = GeneratedFile(size)
    while block := reference.read(1024 * 1024):
        expected.update(block)

    wrapper = AwsChunkedWrapper(
        GeneratedFile(size),
        checksum_cls=httpchecksum.CrtCrc32Checksum,
        checksum_name="x-amz-checksum-crc32",
    )
    tracemalloc.start()
    try:
        decoded = read_body(_pieces(wrapper, 65536), streaming_headers("CRC32", size))
        total = sum(len(piece) for piece in decoded)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == size == decoded.decoded_length
    assert decoded.checksum == BodyChecksum("CRC32", expected.b64digest())
    assert peak < 20 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


def test_a_single_huge_chunk_is_streamed_not_held() -> None:
    size = 100 * 1024 * 1024
    block = b"\x5a" * 65536

    def pieces() -> Iterator[bytes]:
        yield f"{size:x}\r\n".encode()
        for _ in range(size // len(block)):
            yield block
        yield b"\r\n0\r\n\r\n"

    tracemalloc.start()
    try:
        decoded = read_body(
            pieces(), {"Content-Encoding": "aws-chunked"}, default_algorithm="CRC64NVME"
        )
        total = sum(len(piece) for piece in decoded)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == size
    assert peak < 5 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
