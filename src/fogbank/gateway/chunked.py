"""Request bodies as S3 reads them: aws-chunked decoding and integrity checks, streamed.

An S3 upload arrives either plain or, from recent SDKs, in the aws-chunked
encoding (``Content-Encoding: aws-chunked``, ``x-amz-content-sha256:
STREAMING-...``)::

    <hex-size>[;chunk-signature=<sig>]\\r\\n<data>\\r\\n      (repeated)
    0[;chunk-signature=<sig>]\\r\\n
    <trailer-name>:<value>\\r\\n                            (zero or more)
    [x-amz-trailer-signature:<sig>\\r\\n]
    \\r\\n

This module owns turning either into the object's bytes while they flow, never
holding the whole body, and the checks S3 makes on the way: the declared
checksum (header or trailer, :mod:`fogbank.gateway.checksums`), ``Content-MD5``,
a hex ``x-amz-content-sha256``, ``Content-Length`` and
``x-amz-decoded-content-length``, the 8 KiB minimum size of every chunk but the
last, and the encoding itself, each with S3's error code. Chunk and trailer
signatures are handed to the caller's verifiers (the auth module), in order,
each with the signature before it.

:class:`BodyDecoder` is the push parser (``feed`` pieces as the server hands them
over, ``finish`` at the end), usable from sync or async code; :func:`read_body`
wraps it over an iterator of pieces.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from enum import Enum, auto
from types import MappingProxyType
from typing import Final, NamedTuple

from fogbank.core.errors import (
    BadDigest,
    FogbankError,
    IncompleteBody,
    InvalidArgument,
    InvalidChunkSizeError,
    InvalidRequest,
    MalformedTrailerError,
    XAmzContentSHA256Mismatch,
)
from fogbank.gateway.checksums import (
    Checksum,
    DeclaredChecksum,
    declared_checksum,
    decode_checksum_value,
    decode_content_md5,
    new_checksum,
)

MIN_CHUNK_SIZE: Final = 8192
"""S3's smallest size for an aws-chunked chunk that is not the last one."""

MAX_CHUNK_HEADER: Final = 4096
"""The longest ``<hex-size>;chunk-signature=...`` line accepted (a SigV4 one is ~90 bytes)."""

MAX_TRAILER_LINE: Final = 4096
MAX_TRAILERS: Final = 16

STREAMING_PAYLOADS: Final = frozenset(
    {
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
    }
)
"""The ``x-amz-content-sha256`` values that announce an aws-chunked body."""

UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"
TRAILER_SIGNATURE: Final = "x-amz-trailer-signature"

_TRUNCATED: Final = "The request body terminated unexpectedly"
_MALFORMED_TRAILER: Final = (
    "The request contained trailing data that was not well-formed or did not conform to our "
    "published schema."
)
_HEX_SIZE: Final = re.compile(rb"[0-9A-Fa-f]{1,16}")
_HEX_SHA256: Final = re.compile(r"[0-9A-Fa-f]{64}")

ChunkVerifier = Callable[[bytes, str | None, str | None], None]
"""``verify_chunk(data, chunk_signature, previous_signature)``: raises if the chunk's
signature is wrong. ``previous_signature`` is None for the first chunk (its
predecessor is the seed signature of the ``Authorization`` header, which the caller
holds). Called for every chunk, the final 0-size one included (with ``b""``)."""

TrailerVerifier = Callable[[bytes, str | None, str | None], None]
"""``verify_trailer(canonical_trailers, trailer_signature, previous_signature)``: raises
if ``x-amz-trailer-signature`` is wrong. ``canonical_trailers`` is
``b"<name>:<value>\\n"`` for each trailer in the order received (name lower case,
value trimmed), the bytes whose SHA-256 SigV4 signs; ``previous_signature`` is the
final chunk's. Called once at the end of every aws-chunked body, with ``b""`` and
None when it has no trailers."""


class BodyChecksum(NamedTuple):
    """The checksum computed over a whole body: ``("CRC32", "DUoRhQ==")``."""

    algorithm: str
    value: str


class _State(Enum):
    PLAIN = auto()
    CHUNK_HEADER = auto()
    CHUNK_DATA = auto()
    CHUNK_END = auto()
    TRAILERS = auto()
    END = auto()
    FINISHED = auto()
    FAILED = auto()


def _parse_length(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    value = raw.strip()
    if not value.isascii() or not value.isdigit():
        raise InvalidArgument(
            f"The {name} header must be a whole number of bytes (got {raw!r}).",
            ArgumentName=name,
            ArgumentValue=raw,
        )
    return int(value)


class BodyDecoder:
    """The push parser behind :func:`read_body`: ``feed`` raw pieces, ``finish`` at the end.

    The constructor reads the headers and raises at once for those S3 refuses before
    reading a body. ``feed`` returns the decoded data in that piece (possibly none),
    and raises as soon as the stream is known bad; ``finish`` makes the end-of-body
    checks. After an error every later call raises it again.
    """

    def __init__(
        self,
        headers: Mapping[str, str],
        *,
        verify_chunk: ChunkVerifier | None = None,
        verify_trailer: TrailerVerifier | None = None,
        min_chunk_size: int | None = MIN_CHUNK_SIZE,
        object_checksum_headers: bool = False,
        default_algorithm: str | None = None,
    ) -> None:
        lowered = {name.lower(): value for name, value in headers.items()}
        self._verify_chunk = verify_chunk
        self._verify_trailer = verify_trailer
        self._min_chunk_size = min_chunk_size or 0
        self._object_checksum_headers = object_checksum_headers

        content_sha256 = lowered.get("x-amz-content-sha256", "").strip()
        encodings = {e.strip().lower() for e in lowered.get("content-encoding", "").split(",")}
        self.chunked: bool = "aws-chunked" in encodings or content_sha256.startswith("STREAMING-")
        """True when the body is aws-chunked."""
        self._expected_sha256: str | None = None
        if _HEX_SHA256.fullmatch(content_sha256):
            self._expected_sha256 = content_sha256.lower()
        elif content_sha256 not in ("", UNSIGNED_PAYLOAD, *STREAMING_PAYLOADS):
            raise InvalidArgument(
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                f"{', '.join(sorted(STREAMING_PAYLOADS))}, or a valid sha256 value "
                f"(got {content_sha256!r}).",
                ArgumentName="x-amz-content-sha256",
                ArgumentValue=content_sha256,
            )

        self.declared: DeclaredChecksum | None = (
            None if object_checksum_headers else declared_checksum(lowered)
        )
        """The checksum the headers declare for this body (None when they declare none,
        or when ``object_checksum_headers`` says they describe something else)."""
        if self.declared is not None and self.declared.source == "algorithm":
            raise InvalidRequest(
                "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* "
                "or x-amz-trailer headers were found. Send the "
                f"{self.declared.header} header, or announce it in x-amz-trailer.",
            )
        if self.declared is not None and self.declared.source == "trailer" and not self.chunked:
            raise InvalidRequest(
                f"x-amz-trailer announces {self.declared.header}, but the body is not "
                "aws-chunked: only an aws-chunked body (Content-Encoding: aws-chunked, "
                "x-amz-content-sha256: STREAMING-...-TRAILER) carries trailers.",
            )

        content_md5 = lowered.get("content-md5")
        self._expected_md5 = None if content_md5 is None else decode_content_md5(content_md5)
        self._content_length = _parse_length(lowered, "content-length")
        self._decoded_content_length = (
            _parse_length(lowered, "x-amz-decoded-content-length") if self.chunked else None
        )

        algorithm = self.declared.algorithm if self.declared is not None else default_algorithm
        self._checksum: Checksum | None = None if algorithm is None else new_checksum(algorithm)
        self._md5 = None if self._expected_md5 is None else hashlib.md5(usedforsecurity=False)
        self._sha256 = None if self._expected_sha256 is None else hashlib.sha256()

        self._state = _State.CHUNK_HEADER if self.chunked else _State.PLAIN
        self._error: FogbankError | None = None
        self._raw_length = 0
        self._decoded_length = 0
        self._pending = b""
        # aws-chunked position: the chunk being read (1-based), its size and signature,
        # what is left of its data, and the CRLF bytes after it seen so far.
        self._chunk_number = 0
        self._chunk_size = 0
        self._chunk_signature: str | None = None
        self._previous_signature: str | None = None
        self._previous_size: int | None = None
        self._remaining = 0
        self._crlf_seen = 0
        self._chunk_parts: list[bytes] = []
        self._trailers: dict[str, str] = {}
        self._trailer_signature: str | None = None
        self._result: BodyChecksum | None = None

    # -- results ----------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """True once :meth:`finish` has passed every check."""
        return self._state is _State.FINISHED

    @property
    def decoded_length(self) -> int:
        """The decoded bytes so far (all of them once finished)."""
        return self._decoded_length

    @property
    def checksum(self) -> BodyChecksum | None:
        """The declared (or default) checksum of the whole body, verified; None if neither."""
        self._require_finished("checksum")
        return self._result

    @property
    def trailers(self) -> Mapping[str, str]:
        """The aws-chunked trailers, names lower case, without ``x-amz-trailer-signature``."""
        self._require_finished("trailers")
        return MappingProxyType(self._trailers)

    def _require_finished(self, what: str) -> None:
        if self._state is not _State.FINISHED:
            raise RuntimeError(f"the body's {what} is known only once it was read to the end")

    # -- feeding ----------------------------------------------------------------------

    def feed(self, piece: bytes) -> list[bytes]:
        """Take the next raw piece of the body; return the decoded data it completes."""
        self._raise_if_failed()
        if self._state is _State.FINISHED:
            raise RuntimeError("the body was already finished")
        if not piece:
            return []
        piece = bytes(piece)
        try:
            return self._feed(piece)
        except FogbankError as error:
            self._fail(error)
            raise

    def finish(self) -> None:
        """Mark the end of the raw body and make the end-of-body checks, raising S3's errors."""
        self._raise_if_failed()
        if self._state is _State.FINISHED:
            return
        try:
            if self.chunked:
                self._finish_chunked()
            self._check_lengths()
            self._check_digests()
        except FogbankError as error:
            self._fail(error)
            raise
        self._state = _State.FINISHED

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _fail(self, error: FogbankError) -> None:
        self._state = _State.FAILED
        self._error = error
        self._chunk_parts = []
        self._pending = b""

    def _feed(self, piece: bytes) -> list[bytes]:
        start = self._raw_length - len(self._pending)
        self._raw_length += len(piece)
        if self._content_length is not None and self._raw_length > self._content_length:
            raise IncompleteBody(
                f"The request body is longer than the {self._content_length} bytes given in "
                "the Content-Length HTTP header. Send the body's exact length.",
            )
        if self._sha256 is not None:
            self._sha256.update(piece)
        if self._state is _State.PLAIN:
            self._consume(piece)
            return [piece]
        data = self._pending + piece if self._pending else piece
        self._pending = b""
        return self._parse(data, start)

    def _consume(self, data: bytes) -> None:
        self._decoded_length += len(data)
        if self._checksum is not None:
            self._checksum.update(data)
        if self._md5 is not None:
            self._md5.update(data)

    # -- aws-chunked ------------------------------------------------------------------

    def _malformed(self, offset: int, detail: str) -> IncompleteBody:
        return IncompleteBody(
            f"{_TRUNCATED}: the aws-chunked encoding is malformed at byte {offset}: {detail}.",
        )

    def _parse(self, data: bytes, start: int) -> list[bytes]:
        """Advance the state machine over ``data``, whose first byte is raw byte ``start``."""
        out: list[bytes] = []
        pos = 0
        end = len(data)
        while pos < end:
            state = self._state
            if state is _State.CHUNK_HEADER or state is _State.TRAILERS:
                limit = MAX_CHUNK_HEADER if state is _State.CHUNK_HEADER else MAX_TRAILER_LINE
                crlf = data.find(b"\r\n", pos, pos + limit + 2)
                if crlf < 0:
                    if end - pos > limit + 1:
                        raise self._line_too_long(state, start + pos, limit)
                    self._pending = data[pos:]
                    break
                line = data[pos:crlf]
                if state is _State.CHUNK_HEADER:
                    self._on_chunk_header(line, start + pos)
                else:
                    self._on_trailer_line(line)
                pos = crlf + 2
            elif state is _State.CHUNK_DATA:
                take = min(self._remaining, end - pos)
                part = data[pos : pos + take]
                pos += take
                self._remaining -= take
                self._consume(part)
                if self._verify_chunk is not None:
                    self._chunk_parts.append(part)
                else:
                    out.append(part)
                if self._remaining == 0:
                    self._state = _State.CHUNK_END
                    self._crlf_seen = 0
            elif state is _State.CHUNK_END:
                while self._crlf_seen < 2 and pos < end:
                    if data[pos] != b"\r\n"[self._crlf_seen]:
                        raise self._malformed(
                            start + pos,
                            f"chunk {self._chunk_number} is not followed by CRLF after its "
                            f"{self._chunk_size} bytes; each chunk's hex size must be the exact "
                            "length of its data",
                        )
                    pos += 1
                    self._crlf_seen += 1
                if self._crlf_seen == 2:
                    self._end_chunk(out)
            else:  # _State.END: nothing may follow the blank line that closes the body.
                raise self._malformed(
                    start + pos,
                    "bytes follow the blank line that ends the aws-chunked body",
                )
        return out

    def _line_too_long(self, state: _State, offset: int, limit: int) -> FogbankError:
        if state is _State.TRAILERS:
            return MalformedTrailerError(
                f"{_MALFORMED_TRAILER} A trailer line is longer than {limit} bytes.",
            )
        return self._malformed(offset, f"no CRLF ends the chunk header within {limit} bytes")

    def _on_chunk_header(self, line: bytes, offset: int) -> None:
        size_field, _, extensions = line.partition(b";")
        if not _HEX_SIZE.fullmatch(size_field):
            raise self._malformed(
                offset,
                f"the chunk size {size_field[:40]!r} is not a hexadecimal number "
                "(a chunk starts with <hex-size>[;chunk-signature=<signature>]\\r\\n)",
            )
        size = int(size_field, 16)
        signature: str | None = None
        for extension in extensions.split(b";") if extensions else ():
            name, _, value = extension.partition(b"=")
            if name.strip().lower() == b"chunk-signature":
                signature = value.strip().decode("ascii", errors="replace")
        self._chunk_number += 1
        self._chunk_size = size
        self._chunk_signature = signature
        if size == 0:
            if self._verify_chunk is not None:
                self._verify_chunk(b"", signature, self._previous_signature)
            self._previous_signature = signature
            self._state = _State.TRAILERS
            return
        if self._previous_size is not None and self._previous_size < self._min_chunk_size:
            # S3 names the chunk whose arrival shows the short one was not the last.
            raise InvalidChunkSizeError(
                f"Only the last chunk is allowed to have a size less than "
                f"{self._min_chunk_size} bytes: chunk {self._chunk_number - 1} has "
                f"{self._previous_size} bytes and more chunks follow it.",
                Chunk=str(self._chunk_number),
                BadChunkSize=str(self._previous_size),
            )
        declared = self._decoded_content_length
        if declared is not None and self._decoded_length + size > declared:
            raise IncompleteBody(
                f"The aws-chunked body carries more than the {declared} bytes given in "
                f"x-amz-decoded-content-length (chunk {self._chunk_number} brings it to "
                f"{self._decoded_length + size}). Send the decoded length of the body.",
            )
        self._previous_size = size
        self._remaining = size
        self._state = _State.CHUNK_DATA

    def _end_chunk(self, out: list[bytes]) -> None:
        if self._verify_chunk is not None:
            data = b"".join(self._chunk_parts)
            self._chunk_parts = []
            # Only verified data goes on to the caller.
            self._verify_chunk(data, self._chunk_signature, self._previous_signature)
            out.append(data)
        self._previous_signature = self._chunk_signature
        self._state = _State.CHUNK_HEADER

    def _on_trailer_line(self, line: bytes) -> None:
        if not line:
            self._state = _State.END
            return
        raw_name, colon, raw_value = line.partition(b":")
        try:
            name = raw_name.strip().decode("ascii").lower()
            value = raw_value.strip().decode("ascii")
        except UnicodeDecodeError:
            name = value = ""
        if not colon or not name or any(c.isspace() for c in name):
            raise MalformedTrailerError(
                f"{_MALFORMED_TRAILER} Each trailer line must be <name>:<value>\\r\\n "
                f"(got {line[:80]!r}).",
            )
        if name == TRAILER_SIGNATURE:
            if self._trailer_signature is not None:
                raise MalformedTrailerError(f"{_MALFORMED_TRAILER} {name} is sent twice.")
            self._trailer_signature = value
            return
        if name in self._trailers:
            raise MalformedTrailerError(f"{_MALFORMED_TRAILER} The trailer {name} is sent twice.")
        if len(self._trailers) >= MAX_TRAILERS:
            raise MalformedTrailerError(
                f"{_MALFORMED_TRAILER} The body has more than {MAX_TRAILERS} trailers.",
            )
        self._trailers[name] = value

    def _finish_chunked(self) -> None:
        if self._state is not _State.END:
            raise IncompleteBody(f"{_TRUNCATED}: the aws-chunked body ended {self._where()}.")
        if self._verify_trailer is not None:
            canonical = "".join(f"{name}:{value}\n" for name, value in self._trailers.items())
            self._verify_trailer(
                canonical.encode("ascii"), self._trailer_signature, self._previous_signature
            )
        if self._object_checksum_headers:
            return
        declared = self.declared
        expected = (
            declared.header if declared is not None and declared.source == "trailer" else None
        )
        received = sorted(self._trailers)
        if expected is None:
            if received:
                raise MalformedTrailerError(
                    f"{_MALFORMED_TRAILER} The body carries the trailers {', '.join(received)} "
                    "but the x-amz-trailer header announces none.",
                )
            return
        if received != [expected]:
            got = ", ".join(received) if received else "none"
            raise MalformedTrailerError(
                f"{_MALFORMED_TRAILER} x-amz-trailer announces {expected}; the body's trailers "
                f"are {got}.",
            )

    def _where(self) -> str:
        received = f"after {self._raw_length} bytes"
        if self._state is _State.CHUNK_DATA:
            got = self._chunk_size - self._remaining
            return (
                f"{received}, inside chunk {self._chunk_number} ({got} of its "
                f"{self._chunk_size} bytes arrived)"
            )
        if self._state is _State.CHUNK_END:
            return f"{received}, before the CRLF closing chunk {self._chunk_number}"
        if self._state is _State.TRAILERS:
            return (
                f"{received}, inside the trailers after the final 0-size chunk (they end "
                "with a blank line)"
            )
        if self._pending:
            return f"{received}, inside the header of chunk {self._chunk_number + 1}"
        return f"{received}, before its final 0-size chunk"

    # -- end-of-body checks -----------------------------------------------------------

    def _check_lengths(self) -> None:
        if self._content_length is not None and self._raw_length < self._content_length:
            raise IncompleteBody(
                "You did not provide the number of bytes specified by the Content-Length HTTP "
                f"header: it says {self._content_length} bytes and the body had "
                f"{self._raw_length}.",
            )
        declared = self._decoded_content_length
        if declared is not None and self._decoded_length != declared:
            raise IncompleteBody(
                "You did not provide the number of bytes specified by the "
                f"x-amz-decoded-content-length HTTP header: it says {declared} bytes and the "
                f"aws-chunked body decoded to {self._decoded_length}.",
            )

    def _check_digests(self) -> None:
        if self._sha256 is not None and self._expected_sha256 is not None:
            computed = self._sha256.hexdigest()
            if computed != self._expected_sha256:
                raise XAmzContentSHA256Mismatch(
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                    ClientComputedContentSHA256=self._expected_sha256,
                    S3ComputedContentSHA256=computed,
                )
        if self._md5 is not None and self._expected_md5 is not None:
            md5 = self._md5.digest()
            if md5 != self._expected_md5:
                # S3 reflects the expected digest in hex and the calculated one in base64.
                raise BadDigest(
                    "The Content-MD5 you specified did not match what we received.",
                    ExpectedDigest=self._expected_md5.hex(),
                    CalculatedDigest=base64.b64encode(md5).decode("ascii"),
                )
        if self._checksum is None:
            return
        computed_b64 = self._checksum.b64digest()
        declared = self.declared
        if declared is not None:
            trailing = declared.source == "trailer"
            given = self._trailers[declared.header] if trailing else declared.value or ""
            expected = decode_checksum_value(declared.algorithm, given, trailing=trailing)
            if expected != self._checksum.digest():
                where = "trailer" if trailing else "header"
                raise BadDigest(
                    f"The {declared.algorithm} you specified did not match the calculated "
                    f"checksum. The {where} {declared.header} was {given!r}; the body received "
                    f"has {declared.algorithm} {computed_b64!r}. Send the checksum of the exact "
                    "bytes uploaded.",
                )
        self._result = BodyChecksum(self._checksum.algorithm, computed_b64)


class DecodedBody(Iterator[bytes]):
    """The decoded data of a request body, one piece at a time, checked as it flows.

    Iterating raises S3's error as soon as the body is known bad, and the end-of-body
    checks before the iteration ends: a consumer that stores the pieces must commit
    only once the iteration ended without error. ``checksum``, ``trailers`` and
    ``decoded_length`` are final once it has.
    """

    def __init__(self, chunks: Iterable[bytes], decoder: BodyDecoder) -> None:
        self._chunks = iter(chunks)
        self._decoder = decoder
        self._ready: deque[bytes] = deque()
        self._exhausted = False

    def __iter__(self) -> DecodedBody:
        return self

    def __next__(self) -> bytes:
        while not self._ready:
            if self._exhausted:
                raise StopIteration
            piece = next(self._chunks, None)
            if piece is None:
                self._exhausted = True
                self._decoder.finish()
                raise StopIteration
            try:
                self._ready.extend(self._decoder.feed(piece))
            except BaseException:
                self._exhausted = True
                raise
        return self._ready.popleft()

    @property
    def decoder(self) -> BodyDecoder:
        """The parser underneath, with what the headers declared (``declared``, ``chunked``)."""
        return self._decoder

    @property
    def finished(self) -> bool:
        """True once the body was read to the end and passed every check."""
        return self._decoder.finished

    @property
    def checksum(self) -> BodyChecksum | None:
        """``(algorithm, base64 value)`` of the declared (or default) checksum, verified."""
        return self._decoder.checksum

    @property
    def trailers(self) -> Mapping[str, str]:
        """The aws-chunked trailers (``{"x-amz-checksum-crc32": "..."}``); empty for plain."""
        return self._decoder.trailers

    @property
    def decoded_length(self) -> int:
        """The number of decoded bytes (so far, and in all once finished)."""
        return self._decoder.decoded_length


def read_body(
    chunks: Iterable[bytes],
    headers: Mapping[str, str],
    *,
    verify_chunk: ChunkVerifier | None = None,
    verify_trailer: TrailerVerifier | None = None,
    min_chunk_size: int | None = MIN_CHUNK_SIZE,
    object_checksum_headers: bool = False,
    default_algorithm: str | None = None,
) -> DecodedBody:
    """The request body behind ``headers``, decoded and verified while it streams.

    Mirrors how S3 reads a PutObject / UploadPart body. ``chunks`` are the raw pieces
    as the server hands them over, split anywhere. The body is aws-chunked when
    ``Content-Encoding`` lists ``aws-chunked`` or ``x-amz-content-sha256`` is a
    ``STREAMING-*`` value; otherwise it passes through. On the way:

    - the declared checksum (``x-amz-checksum-*`` header, or the trailer that
      ``x-amz-trailer`` announces) is computed and compared: ``BadDigest``; a trailer
      that does not match ``x-amz-trailer``: ``MalformedTrailerError``;
    - ``Content-MD5``: ``InvalidDigest`` if malformed, ``BadDigest`` if different;
    - a hex ``x-amz-content-sha256``: ``XAmzContentSHA256Mismatch``;
    - a body shorter than ``Content-Length`` or than ``x-amz-decoded-content-length``,
      a truncated or malformed aws-chunked encoding: ``IncompleteBody``, as S3 answers;
    - a chunk under ``min_chunk_size`` (S3: 8 KiB) that is not the last:
      ``InvalidChunkSizeError``; pass None to turn the limit off;
    - each chunk goes through ``verify_chunk`` and the trailers through
      ``verify_trailer`` (see :data:`ChunkVerifier`, :data:`TrailerVerifier`). With
      ``verify_chunk``, one chunk at a time is held until verified, so memory is
      bounded by the client's chunk size rather than by the piece size.

    Header errors (``InvalidRequest``, ``InvalidDigest``, ``InvalidArgument``) are
    raised here, before any byte is read. ``object_checksum_headers=True`` leaves the
    ``x-amz-checksum-*`` headers alone, for operations where they describe the whole
    object rather than this body (CompleteMultipartUpload). ``default_algorithm``
    computes that checksum when the request declares none, as S3 computes CRC64NVME.
    """
    decoder = BodyDecoder(
        headers,
        verify_chunk=verify_chunk,
        verify_trailer=verify_trailer,
        min_chunk_size=min_chunk_size,
        object_checksum_headers=object_checksum_headers,
        default_algorithm=default_algorithm,
    )
    return DecodedBody(chunks, decoder)
