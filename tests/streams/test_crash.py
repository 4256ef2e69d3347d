"""Kill -9 durability of Kinesis puts: every acknowledged record survives a SIGKILL of
`fogbank serve` mid-load, with its exact data, partition key and sequence number."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from fogbank.gateway.server import free_port
from tests.gateway.conftest import boto3_client

STREAM = "crash"
WRITERS = 4


def _serve(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FOGBANK_HOME": str(home), "FOGBANK_LIMITS": "false"}
    child = subprocess.Popen(
        [sys.executable, "-m", "fogbank.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_fogbank/health", timeout=5):
                return child
        except OSError:
            if child.poll() is not None or time.monotonic() > deadline:
                child.kill()
                pytest.fail("fogbank serve did not start")
            time.sleep(0.1)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "home"


def _writer(
    url: str, number: int, acked: dict[str, tuple[str, bytes]], lock: threading.Lock
) -> None:
    client = boto3_client("kinesis", url)
    batch = 0
    try:
        while True:
            if batch % 5 == 4:
                key = f"w{number}-single-{batch}"
                data = f"{key}:{'x' * (batch % 700)}".encode()
                reply = client.put_record(StreamName=STREAM, Data=data, PartitionKey=key)
                if "SequenceNumber" not in reply:
                    return
                with lock:
                    acked[reply["SequenceNumber"]] = (key, data)
            else:
                entries = [
                    {
                        "PartitionKey": f"w{number}-b{batch}-r{i}",
                        "Data": f"w{number}-b{batch}-r{i}:{'y' * (i * 7 % 900)}".encode(),
                    }
                    for i in range(1 + batch % 200)
                ]
                reply = client.put_records(StreamName=STREAM, Records=entries)
                if "Records" not in reply:
                    return  # the answer was cut off by the kill: nothing acknowledged
                with lock:
                    for entry, result in zip(entries, reply["Records"], strict=True):
                        if "SequenceNumber" in result:
                            acked[result["SequenceNumber"]] = (entry["PartitionKey"], entry["Data"])
            batch += 1
    except (BotoCoreError, ClientError, OSError):
        return  # the server died: everything acknowledged so far is in `acked`
    finally:
        client.close()


def _read_everything(url: str) -> dict[str, tuple[str, bytes]]:
    client = boto3_client("kinesis", url)
    found: dict[str, tuple[str, bytes]] = {}
    try:
        for shard in client.list_shards(StreamName=STREAM)["Shards"]:
            iterator: Any = client.get_shard_iterator(
                StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                page = client.get_records(ShardIterator=iterator)
                for record in page["Records"]:
                    assert record["SequenceNumber"] not in found
                    found[record["SequenceNumber"]] = (record["PartitionKey"], record["Data"])
                if not page["Records"] and page["MillisBehindLatest"] == 0:
                    break
                iterator = page.get("NextShardIterator")
    finally:
        client.close()
    return found


def test_acknowledged_records_survive_kill_9_of_the_server(home: Path) -> None:
    """PutRecord / PutRecords: a record is acknowledged only once it is on disk."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _serve(home, port)
    try:
        setup = boto3_client("kinesis", url)
        setup.create_stream(StreamName=STREAM, ShardCount=4)
        setup.get_waiter("stream_exists").wait(StreamName=STREAM)
        setup.close()
        acked: dict[str, tuple[str, bytes]] = {}
        lock = threading.Lock()
        writers = [
            threading.Thread(target=_writer, args=(url, n, acked, lock)) for n in range(WRITERS)
        ]
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with lock:
                if len(acked) >= 3000:
                    break
            time.sleep(0.05)
        os.kill(server.pid, signal.SIGKILL)
        assert server.wait(timeout=30) == -signal.SIGKILL
        for writer in writers:
            writer.join(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert len(acked) >= 3000

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    restarted = _serve(home, port)
    try:
        found = _read_everything(url)
    finally:
        restarted.terminate()
        restarted.wait(timeout=30)
    missing = [seq for seq in acked if seq not in found]
    assert not missing, f"{len(missing)} acknowledged records lost, e.g. {missing[:3]}"
    wrong = [seq for seq, record in acked.items() if found[seq] != record]
    assert not wrong, f"{len(wrong)} records came back changed"
    # What was in flight at the kill may or may not have landed, but never half of one.
    for seq, (key, data) in found.items():
        if seq not in acked:
            assert data.startswith(key.encode() + b":")
