"""What the streams engine answers with: frozen dataclasses named after Kinesis's shapes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class HashKeyRange:
    starting: int
    ending: int


@dataclass(frozen=True)
class Shard:
    shard_id: str
    hash_key_range: HashKeyRange
    starting_sequence_number: str
    ending_sequence_number: str | None
    parent_shard_id: str | None = None
    adjacent_parent_shard_id: str | None = None


@dataclass(frozen=True)
class ChildShard:
    shard_id: str
    parent_shards: tuple[str, ...]
    hash_key_range: HashKeyRange


@dataclass(frozen=True)
class StreamSummary:
    name: str
    arn: str
    status: str
    mode: str
    created: datetime


@dataclass(frozen=True)
class StreamDescription:
    """DescribeStream and DescribeStreamSummary in one: ``shards`` is one page."""

    summary: StreamSummary
    stream_id: str
    retention_period_hours: int
    encryption_type: str
    key_id: str | None
    shard_level_metrics: tuple[str, ...]
    max_record_size_kib: int
    open_shard_count: int
    consumer_count: int
    shards: tuple[Shard, ...] = ()
    has_more_shards: bool = False


@dataclass(frozen=True)
class PutRecordsEntry:
    """One entry of a PutRecords answer: a sequence number and shard, or an error."""

    sequence_number: str | None = None
    shard_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class PutRecordsResult:
    records: tuple[PutRecordsEntry, ...]
    failed_record_count: int
    encryption_type: str


@dataclass(frozen=True)
class PutResult:
    shard_id: str
    sequence_number: str
    encryption_type: str


@dataclass(frozen=True)
class Record:
    sequence_number: str
    approximate_arrival: datetime
    data: bytes
    partition_key: str
    encryption_type: str


@dataclass(frozen=True)
class GetRecordsResult:
    records: tuple[Record, ...]
    next_shard_iterator: str | None
    millis_behind_latest: int
    child_shards: tuple[ChildShard, ...] | None


@dataclass(frozen=True)
class ShardPage:
    shards: tuple[Shard, ...]
    next_token: str | None


@dataclass(frozen=True)
class StreamPage:
    streams: tuple[StreamSummary, ...]
    has_more: bool
    next_token: str | None


@dataclass(frozen=True)
class Consumer:
    name: str
    arn: str
    status: str
    created: datetime
    stream_arn: str


@dataclass(frozen=True)
class ConsumerPage:
    consumers: tuple[Consumer, ...]
    next_token: str | None


@dataclass(frozen=True)
class ShardCountChange:
    stream_name: str
    stream_arn: str
    current_shard_count: int
    target_shard_count: int


@dataclass(frozen=True)
class AccountLimits:
    shard_limit: int
    open_shard_count: int
    on_demand_stream_count: int
    on_demand_stream_count_limit: int
