"""Fixtures and helpers shared by the Kinesis Data Streams gateway tests
(test_kinesis_streams.py, test_kinesis_records.py, test_kinesis_resharding.py).

Every client is a real boto3 Kinesis client, over a socket or in-process (the
``transport`` parameter), and every one made here is closed again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config

from fogbank import Fogbank, FogbankConfig
from fogbank.core.clock import ManualClock
from fogbank.gateway.client import client as in_process_client
from fogbank.gateway.server import BackgroundServer

from .conftest import boto3_client

ACCOUNT = "000000000000"
REGION = "us-east-1"
ARN_PREFIX = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/"
MAX_HASH_KEY = (1 << 128) - 1

Connect = Callable[..., Any]


@pytest.fixture(params=["server", "in-process"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def connect(transport: str) -> Iterator[Connect]:
    """``connect(fogbank, **config)``: a boto3 Kinesis client on this test's transport."""
    with ExitStack() as stack:
        servers: dict[int, BackgroundServer] = {}

        def make(fb: Fogbank, **config: Any) -> Any:
            if transport == "server":
                if id(fb) not in servers:
                    servers[id(fb)] = stack.enter_context(BackgroundServer(fb))
                made = boto3_client("kinesis", servers[id(fb)].endpoint_url, **config)
            else:
                settings = Config(**{"retries": {"max_attempts": 1}, **config})
                made = in_process_client("kinesis", fogbank=fb, config=settings)
            stack.callback(made.close)
            return made

        yield make


@pytest.fixture
def kinesis(connect: Connect, fogbank: Fogbank) -> Any:
    """A real boto3 Kinesis client against fogbank (system clock, limits on)."""
    return connect(fogbank)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def timed_fogbank(tmp_path: Path, clock: ManualClock) -> Iterator[Fogbank]:
    """A fogbank whose time moves only with ``clock.advance``; limits on."""
    with Fogbank(FogbankConfig.load(home=tmp_path / "timed", environ={}), clock=clock) as fb:
        yield fb


@pytest.fixture
def timed(connect: Connect, timed_fogbank: Fogbank) -> Any:
    """A boto3 Kinesis client against the ManualClock fogbank."""
    return connect(timed_fogbank)


@pytest.fixture
def unlimited(connect: Connect, tmp_path: Path) -> Iterator[Any]:
    """A boto3 Kinesis client against a fogbank with AWS limits off."""
    config = FogbankConfig.load(home=tmp_path / "unlimited", environ={}, limits=False)
    with Fogbank(config) as fb:
        yield connect(fb)


# ------------------------------------------------------------ helpers


def create(client: Any, name: str = "events", shards: int = 1, **extra: Any) -> str:
    """CreateStream (provisioned) and return the stream's ARN."""
    client.create_stream(StreamName=name, ShardCount=shards, **extra)
    return str(
        client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    )


def partition_hash(key: str) -> int:
    return int(hashlib.md5(key.encode("utf-8")).hexdigest(), 16)


def shards_of(client: Any, name: str = "events") -> list[dict[str, Any]]:
    """Every shard ListShards returns, across pages."""
    found: list[dict[str, Any]] = []
    for page in client.get_paginator("list_shards").paginate(StreamName=name):
        found += page["Shards"]
    return found


def open_shards(client: Any, name: str = "events") -> list[dict[str, Any]]:
    return [
        s for s in shards_of(client, name) if "EndingSequenceNumber" not in s["SequenceNumberRange"]
    ]


def contains(shard: dict[str, Any], hash_key: int) -> bool:
    hash_range = shard["HashKeyRange"]
    return int(hash_range["StartingHashKey"]) <= hash_key <= int(hash_range["EndingHashKey"])


def iterator(
    client: Any, shard_id: str, kind: str = "TRIM_HORIZON", name: str = "events", **extra: Any
) -> str:
    return str(
        client.get_shard_iterator(
            StreamName=name, ShardId=shard_id, ShardIteratorType=kind, **extra
        )["ShardIterator"]
    )


def drain(
    client: Any, shard_id: str, name: str = "events", limit: int = 10_000
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Read a shard from TRIM_HORIZON until a call returns no records (open shard) or no
    NextShardIterator (closed shard): (every record, the last response)."""
    position: str | None = iterator(client, shard_id, name=name)
    records: list[dict[str, Any]] = []
    while position is not None:
        answer = client.get_records(ShardIterator=position, Limit=limit)
        records += answer["Records"]
        position = answer.get("NextShardIterator")
        if not answer["Records"] and position is not None:
            return records, answer
    return records, answer
