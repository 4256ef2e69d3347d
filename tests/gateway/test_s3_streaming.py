"""S3 PutObject and GetObject stream: a large object is never held in memory."""

from __future__ import annotations

import hashlib
import http.client
import tracemalloc
from collections.abc import Iterator

from fogbank.gateway.server import BackgroundServer

from .conftest import boto3_client

SIZE = 256 * 1024 * 1024
PIECE = 1024 * 1024


def _pieces() -> Iterator[bytes]:
    block = bytes(range(256)) * (PIECE // 256)
    for index in range(SIZE // PIECE):
        yield block[index % 256 :] + block[: index % 256]


def test_put_and_get_of_a_large_object_stream_in_bounded_memory(server: BackgroundServer) -> None:
    """PutObject / GetObject of 256 MiB: the gateway's peak Python memory stays a few MiB."""
    s3 = boto3_client("s3", server.endpoint_url)
    s3.create_bucket(Bucket="stream")
    expected = hashlib.md5(usedforsecurity=False)
    for piece in _pieces():
        expected.update(piece)

    tracemalloc.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        connection.putrequest("PUT", "/stream/big.bin")
        connection.putheader("Content-Length", str(SIZE))
        connection.endheaders()
        for piece in _pieces():
            connection.send(piece)
        response = connection.getresponse()
        assert response.status == 200, response.read()
        assert response.getheader("ETag") == f'"{expected.hexdigest()}"'
        response.read()

        connection.request("GET", "/stream/big.bin")
        response = connection.getresponse()
        assert response.status == 200
        received = hashlib.md5(usedforsecurity=False)
        total = 0
        while chunk := response.read(PIECE):
            received.update(chunk)
            total += len(chunk)
        connection.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == SIZE
    assert received.hexdigest() == expected.hexdigest()
    # The test's own pieces are 1 MiB each; the body itself would be 256 MiB.
    assert peak < 32 * 1024 * 1024, f"peak traced memory {peak / 2**20:.1f} MiB"
    s3.close()
