"""Kinesis Data Streams: streams, shards, records, iterators, resharding and consumers.

:class:`Streams` holds the rules; each stream's durable state is its own
:class:`~fogbank.streams.store.StreamLog` under ``<home>/streams/``, and the control
plane lists the streams (for ListStreams) and keeps their tags. Time comes from the
injected clock: status changes, retention and iterator expiry follow it, so tests
move time instead of sleeping. Limits (record and batch sizes, shard throughput,
quotas) are AWS's, and off when ``limits`` is false.
"""

from __future__ import annotations

import bisect
import json
import os
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fogbank.core.clock import Clock
from fogbank.core.errors import (
    ExpiredIteratorException,
    ExpiredNextTokenException,
    InvalidArgumentException,
    LimitExceededException,
    ProvisionedThroughputExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
    ValidationException,
)
from fogbank.core.ids import new_hex_id
from fogbank.core.store import ControlPlaneStore
from fogbank.streams import keys, reshard, tokens
from fogbank.streams.encryption import KeyRing
from fogbank.streams.fanout import Subscription
from fogbank.streams.iterators import ShardIterator
from fogbank.streams.model import (
    AccountLimits,
    ChildShard,
    Consumer,
    ConsumerPage,
    GetRecordsResult,
    HashKeyRange,
    PutRecordsEntry,
    PutRecordsResult,
    PutResult,
    Record,
    Shard,
    ShardCountChange,
    ShardPage,
    StreamDescription,
    StreamPage,
    StreamSummary,
)
from fogbank.streams.store import (
    ConsumerLimit,
    ConsumerRow,
    LogClosed,
    NewRecord,
    ShardRow,
    StoredRecord,
    StreamLog,
    StreamSettings,
)
from fogbank.streams.throttle import ShardMeters

SERVICE = "kinesis"
KIND = "stream"
POLICY_KIND = "policy"
DEFAULT_RETENTION_HOURS = 24
MAX_RETENTION_HOURS = 8760
DEFAULT_MAX_RECORD_KIB = 1024
ON_DEMAND_SHARDS = 4
ON_DEMAND_STREAM_LIMIT = 50
MAX_PUT_RECORDS = 500
MAX_PUT_RECORDS_BYTES = 10 * 1024 * 1024
MAX_GET_RECORDS = 10_000
MAX_GET_RECORDS_BYTES = 10 * 1024 * 1024
ITERATOR_LIFETIME_MS = 5 * 60 * 1000
MAX_CONSUMERS = 20
SUBSCRIBE_INTERVAL = 5.0
MAX_TAGS = 50
# Regions where an account may hold 500 shards; elsewhere 200.
_LARGE_QUOTA_REGIONS = frozenset({"us-east-1", "us-west-2", "eu-west-1"})
SHARD_LEVEL_METRICS = (
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
)
_TRIM_EVERY_MS = 60_000


@dataclass(frozen=True)
class PutRequest:
    """One record of a PutRecords call."""

    data: bytes
    partition_key: str
    explicit_hash_key: str | None = None


@dataclass(frozen=True)
class ShardFilter:
    type: str
    shard_id: str | None = None
    timestamp: datetime | None = None


@dataclass
class _Open:
    log: StreamLog
    file: str


class Streams:
    """Every stream of one fogbank home."""

    def __init__(
        self,
        root: Path,
        store: ControlPlaneStore,
        *,
        clock: Clock,
        account_id: str,
        region: str,
        limits: bool = True,
        status_delay: float = 0.0,
    ) -> None:
        self.root = root
        self.store = store
        self.clock = clock
        self.account_id = account_id
        self.region = region
        self.limits = limits
        self.status_delay_ms = int(status_delay * 1000)
        self.meters = ShardMeters()
        self._logs: dict[str, _Open] = {}
        self._lock = threading.Lock()
        self._last_trim: dict[str, int] = {}
        self._subscriptions: dict[tuple[str, str], float] = {}
        root.mkdir(parents=True, exist_ok=True)
        self._iterator_key = _iterator_key(root)
        self.keyring = KeyRing(root / ".keys")

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        with self._lock:
            opened, self._logs = list(self._logs.values()), {}
        for entry in opened:
            entry.log.close()

    def reset(self) -> None:
        """Delete every stream (the gateway's reset)."""
        for name in self.stream_names():
            self.delete_stream(name, enforce_consumer_deletion=True)

    # ------------------------------------------------------------ streams

    def arn(self, name: str) -> str:
        return f"arn:aws:kinesis:{self.region}:{self.account_id}:stream/{name}"

    def create_stream(
        self,
        name: str,
        shard_count: int | None = None,
        *,
        mode: str = "PROVISIONED",
        max_record_size_kib: int | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """CreateStream: ``shard_count`` shards splitting the hash-key space evenly."""
        if mode == "PROVISIONED" and shard_count is None:
            raise InvalidArgumentException(
                "ShardCount is required for a PROVISIONED stream: give a ShardCount of 1 or "
                "more, or create the stream with StreamModeDetails StreamMode ON_DEMAND."
            )
        count = shard_count if mode == "PROVISIONED" and shard_count else ON_DEMAND_SHARDS
        if count < 1:
            raise InvalidArgumentException(f"ShardCount must be at least 1; got {count}.")
        kib = max_record_size_kib or DEFAULT_MAX_RECORD_KIB
        _check_max_record_size(kib)
        if tags:
            _check_tags(tags, existing=0)
        if self.limits:
            self._check_shard_quota(count)
        now = self._now_ms()
        created_settings = StreamSettings(
            name=name,
            arn=self.arn(name),
            stream_id=f"{new_hex_id(10)}-{new_hex_id(2)[:3]}",
            created_ms=now,
            status="CREATING",
            status_until_ms=now + self.status_delay_ms,
            mode=mode,
            retention_hours=DEFAULT_RETENTION_HOURS,
            encryption="NONE",
            key_id=None,
            max_record_kib=kib,
            shard_level_metrics=(),
            next_shard=count,
            version=1,
        )
        shards = [
            ShardRow(i, start, end, None, None, now, None, 1, now)
            for i, (start, end) in enumerate(keys.even_ranges(count))
        ]
        file = f"{name}.{now}.{new_hex_id(4)}.sqlite"
        try:
            self.store.put_resource(
                SERVICE, KIND, name, self.arn(name), {"file": file}, create_only=True
            )
        except ResourceInUseException:
            raise ResourceInUseException(
                f"Stream {name} under account {self.account_id} already exists. "
                "Choose another StreamName, or delete the existing stream first."
            ) from None
        try:
            log = StreamLog.create(self.root / file, created_settings, shards)
        except BaseException:
            self.store.delete_resource(SERVICE, KIND, name)
            raise
        with self._lock:
            self._logs[name] = _Open(log, file)
        if tags:
            self.store.tag_resource(self.arn(name), tags)

    def delete_stream(
        self,
        name: str | None = None,
        arn: str | None = None,
        *,
        enforce_consumer_deletion: bool = False,
    ) -> None:
        stream = self._name(name, arn)
        log = self._log(stream)
        if log.consumers() and not enforce_consumer_deletion:
            raise ResourceInUseException(
                f"Stream {stream} under account {self.account_id} has registered consumers. "
                "Deregister them first, or pass EnforceConsumerDeletion=true."
            )
        with self._lock:
            self._logs.pop(stream, None)
        self.store.delete_resource(SERVICE, KIND, stream)
        self.store.delete_resources(SERVICE, POLICY_KIND, name_prefix=self.arn(stream))
        self.store.untag_resource(self.arn(stream), list(self.store.list_tags(self.arn(stream))))
        self.meters.forget(stream)
        log.destroy()

    def describe_stream(
        self,
        name: str | None = None,
        arn: str | None = None,
        *,
        limit: int = 100,
        exclusive_start_shard_id: str | None = None,
    ) -> StreamDescription:
        stream = self._name(name, arn)
        settings, shards = self._snapshot(stream)
        live = self._live_shards(settings, shards)
        if exclusive_start_shard_id is not None:
            after = keys.shard_index(exclusive_start_shard_id)
            live = [s for s in live if after is None or s.index > after]
        page = live[:limit]
        return self._description(
            stream,
            settings,
            shards,
            page=tuple(self._shard(s) for s in page),
            has_more=len(live) > limit,
        )

    def describe_stream_summary(
        self, name: str | None = None, arn: str | None = None
    ) -> StreamDescription:
        stream = self._name(name, arn)
        settings, shards = self._snapshot(stream)
        return self._description(stream, settings, shards)

    def list_streams(
        self,
        *,
        limit: int = 100,
        exclusive_start_stream_name: str | None = None,
        next_token: str | None = None,
    ) -> StreamPage:
        token = next_token
        if token is None and exclusive_start_stream_name is not None:
            token = tokens.after_name(exclusive_start_stream_name)
        elif token is not None:
            token = tokens.check(token, self._now_ms())
        resources, more = self.store.list_resources(
            SERVICE, KIND, max_results=limit, next_token=token
        )
        summaries = []
        for resource in resources:
            try:
                settings = self._log(resource.name).settings()
            except (ResourceNotFoundException, LogClosed):
                continue  # deleted between the listing and the look
            summaries.append(self._summary(settings))
        return StreamPage(
            tuple(summaries),
            has_more=more is not None,
            next_token=tokens.stamp(more, self._now_ms()) if more is not None else None,
        )

    def list_shards(
        self,
        name: str | None = None,
        arn: str | None = None,
        *,
        next_token: str | None = None,
        exclusive_start_shard_id: str | None = None,
        max_results: int | None = None,
        stream_creation_timestamp: datetime | None = None,
        shard_filter: ShardFilter | None = None,
    ) -> ShardPage:
        limit = max_results or 1000
        start_after: int | None = None
        if next_token is not None:
            if name is not None or exclusive_start_shard_id is not None:
                raise InvalidArgumentException(
                    "NextToken and StreamName (or ExclusiveStartShardId) cannot be provided "
                    "together: pass only NextToken to get the next page."
                )
            stream, created, start_after = tokens.read_shard_token(next_token, self._now_ms())
        else:
            stream = self._name(name, arn)
            created = None
        settings, shards = self._snapshot(stream)
        if created is not None and created != settings.created_ms:
            raise ExpiredNextTokenException(
                "The NextToken was issued for an earlier stream of the same name; "
                "list the shards again without it."
            )
        if (
            stream_creation_timestamp is not None
            and _millis(stream_creation_timestamp) != settings.created_ms
        ):
            raise ResourceNotFoundException(
                f"Stream {stream} under account {self.account_id} was not created at "
                f"{stream_creation_timestamp.isoformat()}."
            )
        candidates = self._filter_shards(settings, shards, shard_filter)
        if exclusive_start_shard_id is not None:
            after = keys.shard_index(exclusive_start_shard_id)
            if after is not None:
                candidates = [s for s in candidates if s.index > after]
        if start_after is not None:
            candidates = [s for s in candidates if s.index > start_after]
        page = candidates[:limit]
        token = None
        if len(candidates) > limit:
            token = tokens.shard_token(stream, settings.created_ms, page[-1].index, self._now_ms())
        return ShardPage(tuple(self._shard(s) for s in page), token)

    def change_retention(
        self, hours: int, *, increase: bool, name: str | None = None, arn: str | None = None
    ) -> None:
        """IncreaseStreamRetentionPeriod / DecreaseStreamRetentionPeriod."""
        stream = self._name(name, arn)
        settings = self._active(stream)
        current = settings.retention_hours
        if hours < DEFAULT_RETENTION_HOURS or hours > MAX_RETENTION_HOURS:
            raise InvalidArgumentException(
                f"Minimum allowed retention period is {DEFAULT_RETENTION_HOURS} hours and "
                f"maximum is {MAX_RETENTION_HOURS} hours; RetentionPeriodHours was {hours}."
            )
        if increase and hours < current:
            raise InvalidArgumentException(
                f"Requested retention period ({hours} hours) for stream {stream} can not be "
                f"shorter than existing retention period ({current} hours). Use "
                "DecreaseStreamRetentionPeriod API."
            )
        if not increase and hours > current:
            raise InvalidArgumentException(
                f"Requested retention period ({hours} hours) for stream {stream} can not be "
                f"longer than existing retention period ({current} hours). Use "
                "IncreaseStreamRetentionPeriod API."
            )
        log = self._log(stream)
        log.update_settings(retention_hours=hours)
        if not increase:
            log.trim(self._now_ms() - hours * 3_600_000)

    def update_stream_mode(self, arn: str, mode: str) -> None:
        stream = self._name(None, arn)
        settings = self._active(stream)
        if settings.mode == mode:
            raise ResourceInUseException(
                f"Stream {stream} under account {self.account_id} is already in {mode} mode."
            )
        self._log(stream).update_settings(mode=mode, **self._updating())

    def update_max_record_size(self, arn: str, kib: int) -> None:
        stream = self._name(None, arn)
        _check_max_record_size(kib)
        self._active(stream)
        self._log(stream).update_settings(max_record_kib=kib)

    def set_enhanced_monitoring(
        self,
        metrics: Sequence[str],
        *,
        enable: bool,
        name: str | None = None,
        arn: str | None = None,
    ) -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
        """Enable/DisableEnhancedMonitoring: (name, arn, current, desired) metric lists."""
        stream = self._name(name, arn)
        settings = self._active(stream)
        wanted = set(SHARD_LEVEL_METRICS) if "ALL" in metrics else set(metrics)
        current = set(settings.shard_level_metrics)
        desired = current | wanted if enable else current - wanted
        ordered = tuple(m for m in SHARD_LEVEL_METRICS if m in desired)
        self._log(stream).update_settings(shard_level_metrics=ordered)
        before = tuple(m for m in SHARD_LEVEL_METRICS if m in current)
        return stream, settings.arn, before, ordered

    def describe_limits(self) -> AccountLimits:
        """DescribeLimits: the account's shard quota and what is in use."""
        open_shards = 0
        on_demand = 0
        for stream in self.stream_names():
            try:
                settings, shards = self._snapshot(stream)
            except ResourceNotFoundException:
                continue
            open_shards += sum(1 for s in shards if s.is_open)
            on_demand += settings.mode == "ON_DEMAND"
        return AccountLimits(self._shard_quota(), open_shards, on_demand, ON_DEMAND_STREAM_LIMIT)

    def start_stream_encryption(
        self,
        encryption_type: str,
        key_id: str,
        *,
        name: str | None = None,
        arn: str | None = None,
    ) -> None:
        """StartStreamEncryption: records put from now on are sealed under ``key_id``."""
        stream = self._name(name, arn)
        _check_encryption_type(encryption_type)
        KeyRing.check(key_id)
        self._active(stream)
        self._log(stream).update_settings(encryption="KMS", key_id=key_id, **self._updating())

    def stop_stream_encryption(
        self,
        encryption_type: str,
        key_id: str,
        *,
        name: str | None = None,
        arn: str | None = None,
    ) -> None:
        """StopStreamEncryption: records put from now on are stored in the clear; those
        already sealed stay sealed and are still read back."""
        stream = self._name(name, arn)
        _check_encryption_type(encryption_type)
        settings = self._active(stream)
        if settings.encryption != "KMS":
            raise InvalidArgumentException(
                f"Stream {stream} under account {self.account_id} is not encrypted: there is "
                "nothing to stop."
            )
        if key_id != settings.key_id:
            raise InvalidArgumentException(
                f"KeyId {key_id} is not the key stream {stream} is encrypted with "
                f"({settings.key_id}): pass the stream's KeyId."
            )
        self._log(stream).update_settings(encryption="NONE", key_id=None, **self._updating())

    # ------------------------------------------------------------ resharding

    def split_shard(
        self,
        shard_to_split: str,
        new_starting_hash_key: str,
        *,
        name: str | None = None,
        arn: str | None = None,
    ) -> None:
        stream = self._name(name, arn)
        settings = self._reshardable(stream)
        _, shards = self._snapshot(stream)
        parent = self._open_shard(stream, shards, shard_to_split)
        key = _hash_key(new_starting_hash_key, "NewStartingHashKey")
        if not parent.start_hash < key <= parent.end_hash:
            raise InvalidArgumentException(
                f"NewStartingHashKey {key} used in SplitShard() on shard {shard_to_split} in "
                f"stream {stream} under account {self.account_id} is not both greater than one "
                f"plus the shard's StartingHashKey {parent.start_hash} and less than the "
                f"shard's EndingHashKey {parent.end_hash}."
            )
        if self.limits:
            self._check_shard_quota(1)
        now = self._now_ms()
        plan = reshard.split(parent, key, settings.next_shard, now)
        self._log(stream).reshard(plan.close, plan.create, now, **self._updating())

    def merge_shards(
        self,
        shard_to_merge: str,
        adjacent_shard_to_merge: str,
        *,
        name: str | None = None,
        arn: str | None = None,
    ) -> None:
        stream = self._name(name, arn)
        settings = self._reshardable(stream)
        _, shards = self._snapshot(stream)
        first = self._open_shard(stream, shards, shard_to_merge)
        second = self._open_shard(stream, shards, adjacent_shard_to_merge)
        low, high = sorted((first, second), key=lambda s: s.start_hash)
        if low.end_hash + 1 != high.start_hash:
            raise InvalidArgumentException(
                f"Shards {shard_to_merge} and {adjacent_shard_to_merge} in stream {stream} under "
                f"account {self.account_id} are not an adjacent pair of shards eligible for "
                "merging: their hash-key ranges must touch. Pick two neighbouring open shards."
            )
        now = self._now_ms()
        plan = reshard.merge(first, second, settings.next_shard, now)
        self._log(stream).reshard(plan.close, plan.create, now, **self._updating())

    def update_shard_count(
        self,
        target: int,
        *,
        scaling_type: str = "UNIFORM_SCALING",
        name: str | None = None,
        arn: str | None = None,
    ) -> ShardCountChange:
        """UpdateShardCount by real splits and merges, as Kinesis does it: first every
        open shard is split at the new boundaries inside it, then each new range's pieces
        are merged pairwise into one shard."""
        stream = self._name(name, arn)
        settings = self._reshardable(stream)
        if scaling_type != "UNIFORM_SCALING":
            raise ValidationException(f"ScalingType must be UNIFORM_SCALING; got {scaling_type!r}.")
        _, shards = self._snapshot(stream)
        current = [s for s in shards if s.is_open]
        if self.limits:
            if target > 2 * len(current) or target * 2 < len(current):
                raise LimitExceededException(
                    f"UpdateShardCount can only scale to between half and double the current "
                    f"open shard count ({len(current)}) in one call; TargetShardCount was "
                    f"{target}. Scale in steps."
                )
            self._check_shard_quota(max(0, target - len(current)))
        if target == len(current) and [(s.start_hash, s.end_hash) for s in current] == list(
            keys.even_ranges(target)
        ):
            return ShardCountChange(stream, settings.arn, len(current), target)
        plan = reshard.uniform(current, target, settings.next_shard, self._now_ms())
        self._log(stream).reshard(plan.close, plan.create, self._now_ms(), **self._updating())
        return ShardCountChange(stream, settings.arn, len(current), target)

    # ------------------------------------------------------------ records

    def put_record(
        self,
        data: bytes,
        partition_key: str,
        *,
        name: str | None = None,
        arn: str | None = None,
        explicit_hash_key: str | None = None,
        sequence_number_for_ordering: str | None = None,
    ) -> PutResult:
        stream = self._name(name, arn)
        settings, shards = self._writable(stream)
        record = self._new_record(settings, PutRequest(data, partition_key, explicit_hash_key), "")
        if sequence_number_for_ordering is not None:
            parts = keys.decode_sequence(sequence_number_for_ordering)
            if parts is None:
                raise InvalidArgumentException(
                    f"SequenceNumberForOrdering {sequence_number_for_ordering} is not a sequence "
                    "number of this stream: pass the SequenceNumber of an earlier PutRecord."
                )
            record = NewRecord(
                record.hash_key,
                record.partition_key,
                record.data,
                key_number=record.key_number,
                after_millis=parts.millis + 1,
            )
        shard = _route(shards, record.hash_key)
        if self.limits and not self.meters.admit_write(
            stream, shard.index, _size(data, partition_key), self.clock.monotonic()
        ):
            raise ProvisionedThroughputExceededException(self._throttled(stream, shard.index))
        (placed,) = self._append(stream, [record])
        return PutResult(
            keys.shard_id(placed.shard),
            keys.encode_sequence(placed.millis, placed.shard, placed.counter),
            settings.encryption,
        )

    def put_records(
        self, records: Sequence[PutRequest], *, name: str | None = None, arn: str | None = None
    ) -> PutRecordsResult:
        stream = self._name(name, arn)
        if not records:
            raise ValidationException(
                "1 validation error detected: Value at 'records' failed to satisfy constraint: "
                "Member must have length greater than or equal to 1."
            )
        if self.limits and len(records) > MAX_PUT_RECORDS:
            raise ValidationException(
                f"1 validation error detected: Value at 'records' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_PUT_RECORDS}; the request "
                f"has {len(records)}. Send at most {MAX_PUT_RECORDS} records per PutRecords call."
            )
        settings, shards = self._writable(stream)
        total = sum(_size(r.data, r.partition_key) for r in records)
        if self.limits and total > MAX_PUT_RECORDS_BYTES:
            raise InvalidArgumentException(
                f"Records size exceeds {MAX_PUT_RECORDS_BYTES // (1024 * 1024)} MB limit: the "
                f"request holds {total} bytes of data and partition keys. Split it."
            )
        prepared = [
            self._new_record(settings, r, f"records.{i + 1}.member") for i, r in enumerate(records)
        ]
        admitted: list[NewRecord] = []
        entries: list[PutRecordsEntry | None] = []
        now = self.clock.monotonic()
        for request, record in zip(records, prepared, strict=True):
            # Routing here only feeds the meters: the log routes again as it commits.
            shard = _route(shards, record.hash_key) if self.limits else None
            if shard is not None and not self.meters.admit_write(
                stream, shard.index, _size(request.data, request.partition_key), now
            ):
                entries.append(
                    PutRecordsEntry(
                        error_code="ProvisionedThroughputExceededException",
                        error_message=self._throttled(stream, shard.index),
                    )
                )
            else:
                entries.append(None)
                admitted.append(record)
        placed = iter(self._append(stream, admitted) if admitted else [])
        out: list[PutRecordsEntry] = []
        for entry in entries:
            if entry is None:
                where = next(placed)
                entry = PutRecordsEntry(
                    sequence_number=keys.encode_sequence(where.millis, where.shard, where.counter),
                    shard_id=keys.shard_id(where.shard),
                )
            out.append(entry)
        failed = sum(1 for e in out if e.error_code)
        return PutRecordsResult(tuple(out), failed, settings.encryption)

    def get_shard_iterator(
        self,
        shard_id: str,
        iterator_type: str,
        *,
        name: str | None = None,
        arn: str | None = None,
        starting_sequence_number: str | None = None,
        timestamp: datetime | None = None,
    ) -> str:
        stream = self._name(name, arn)
        settings, shards = self._snapshot(stream)
        if self._status(settings) == "CREATING":
            raise self._not_found(stream)
        shard = self._find_shard(stream, settings, shards, shard_id)
        if self.limits and not self.meters.admit_iterator(
            stream, shard.index, self.clock.monotonic()
        ):
            raise ProvisionedThroughputExceededException(
                f"Rate exceeded for shard {shard_id} in stream {stream} under account "
                f"{self.account_id}: GetShardIterator takes 5 calls per second per shard. "
                "Keep using NextShardIterator instead of asking for new iterators."
            )
        log = self._log(stream)
        horizon = self._horizon(settings)
        if iterator_type in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            if starting_sequence_number is None:
                raise InvalidArgumentException(
                    f"StartingSequenceNumber is required with ShardIteratorType {iterator_type}: "
                    "give the sequence number of a record of this shard."
                )
            parts = keys.decode_sequence(starting_sequence_number)
            if parts is None or parts.shard != shard.index:
                raise InvalidArgumentException(
                    f"Invalid StartingSequenceNumber {starting_sequence_number}: it is not a "
                    f"sequence number of {shard_id} in stream {stream} under account "
                    f"{self.account_id}: pass a sequence number of a record of that shard."
                )
            counter = parts.counter + (1 if iterator_type == "AFTER_SEQUENCE_NUMBER" else 0)
        elif iterator_type == "TRIM_HORIZON":
            counter = 0
        elif iterator_type == "LATEST":
            counter = shard.next_counter
        elif iterator_type == "AT_TIMESTAMP":
            if timestamp is None:
                raise InvalidArgumentException(
                    "Timestamp is required with ShardIteratorType AT_TIMESTAMP: give the "
                    "arrival time to start reading from."
                )
            at = max(_millis(timestamp), horizon)
            found = log.first_counter_at(shard.index, at)
            counter = shard.next_counter if found is None else found
        else:
            raise InvalidArgumentException(
                f"ShardIteratorType {iterator_type!r} is not one of AT_SEQUENCE_NUMBER, "
                "AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP."
            )
        return self._iterator(stream, settings, shard.index, counter)

    def get_records(self, shard_iterator: str, *, limit: int | None = None) -> GetRecordsResult:
        position = ShardIterator.decode(shard_iterator, self._iterator_key)
        now_ms = self._now_ms()
        if now_ms - position.issued_ms > ITERATOR_LIFETIME_MS:
            raise ExpiredIteratorException(
                f"Iterator expired. The iterator was created at time "
                f"{_iso(position.issued_ms)} while right now it is {_iso(now_ms)} which is "
                f"further in the future than the tolerated delay of {ITERATOR_LIFETIME_MS} "
                "milliseconds. Get a new one with GetShardIterator."
            )
        count = limit if limit is not None else MAX_GET_RECORDS
        if count < 1 or count > MAX_GET_RECORDS:
            raise InvalidArgumentException(
                f"Limit must be between 1 and {MAX_GET_RECORDS}; got {count}."
            )
        return self.read_shard(position, count, shared_throughput=True)

    def read_shard(
        self, position: ShardIterator, count: int, *, shared_throughput: bool
    ) -> GetRecordsResult:
        """Up to ``count`` records from ``position``: GetRecords, and the reads behind an
        enhanced fan-out subscription (which has its own throughput, not the shard's)."""
        now_ms = self._now_ms()
        stream = position.stream
        settings, shards = self._snapshot(stream)
        if settings.created_ms != position.stream_created_ms:
            raise self._not_found(stream)
        shard = next((s for s in shards if s.index == position.shard), None)
        if shard is None:
            raise ResourceNotFoundException(
                f"Shard {keys.shard_id(position.shard)} in stream {stream} under account "
                f"{self.account_id} does not exist (it expired past the retention period)."
            )
        monotonic = self.clock.monotonic()
        metered = self.limits and shared_throughput
        if metered and not self.meters.admit_read(stream, shard.index, monotonic):
            raise ProvisionedThroughputExceededException(
                f"Rate exceeded for shard {keys.shard_id(shard.index)} in stream {stream} under "
                f"account {self.account_id}: a shard serves 5 GetRecords calls and 2 MiB per "
                "second. Back off and retry, or add shards."
            )
        horizon = self._horizon(settings)
        rows = self._log(stream).read(
            shard.index,
            position.next_counter,
            limit=count,
            max_bytes=MAX_GET_RECORDS_BYTES,
            horizon_ms=horizon,
        )
        if metered:
            self.meters.charge_read(
                stream, shard.index, sum(_size(r.data, r.partition_key) for r in rows), monotonic
            )
        # Nothing returned means nothing readable before the shard's tip (counters start at
        # 1, and trimmed records leave gaps): move to the tip, so that a drained closed
        # shard, even an empty one, ends with ChildShards.
        next_counter = (
            rows[-1].counter + 1 if rows else max(position.next_counter, shard.next_counter)
        )
        at_end = next_counter >= shard.next_counter
        behind = 0
        if rows and not at_end:
            behind = max(0, now_ms - rows[-1].millis)
        child_shards: tuple[ChildShard, ...] | None = None
        next_iterator: str | None = self._iterator(stream, settings, shard.index, next_counter)
        if not shard.is_open and at_end:
            next_iterator = None
            child_shards = self._children(shards, shard.index)
        return GetRecordsResult(
            tuple(self._record(r, settings) for r in rows), next_iterator, behind, child_shards
        )

    def subscribe_to_shard(
        self,
        consumer_arn: str,
        shard_id: str,
        starting_type: str,
        *,
        starting_sequence_number: str | None = None,
        timestamp: datetime | None = None,
    ) -> Subscription:
        """SubscribeToShard: checked at once (consumer, shard, position), then the
        subscription pushes events as it is iterated."""
        stream, row = self._find_consumer(None, None, consumer_arn)
        if self._now_ms() < row.status_until_ms:
            raise ResourceInUseException(
                f"Consumer {consumer_arn} is not ACTIVE yet: wait until "
                "DescribeStreamConsumer reports ACTIVE."
            )
        key = (consumer_arn, shard_id)
        now = self.clock.monotonic()
        with self._lock:
            last = self._subscriptions.get(key)
            if self.limits and last is not None and now - last < SUBSCRIBE_INTERVAL:
                raise ResourceInUseException(
                    f"Another active subscription exists for consumer {consumer_arn} and shard "
                    f"{shard_id}, started less than {SUBSCRIBE_INTERVAL:.0f} seconds ago. "
                    "Wait, then subscribe again (the new subscription takes over)."
                )
            self._subscriptions[key] = now
        iterator = self.get_shard_iterator(
            shard_id,
            starting_type,
            name=stream,
            starting_sequence_number=starting_sequence_number,
            timestamp=timestamp,
        )
        log = self._log(stream)
        return Subscription(
            ShardIterator.decode(iterator, self._iterator_key),
            read=lambda position: self.read_shard(
                position, MAX_GET_RECORDS, shared_throughput=False
            ),
            decode=lambda value: ShardIterator.decode(value, self._iterator_key),
            generation=lambda: log.generation,
            wait=log.wait_for_append,
            now_ms=self._now_ms,
            limited=self.limits,
        )

    # ------------------------------------------------------------ consumers

    def register_stream_consumer(self, stream_arn: str, consumer_name: str) -> Consumer:
        stream = self._name(None, stream_arn)
        settings = self._active(stream)
        now = self._now_ms()
        arn = f"{settings.arn}/consumer/{consumer_name}:{now // 1000}"
        row = ConsumerRow(consumer_name, arn, now, now + self.status_delay_ms)
        try:
            added = self._log(stream).add_consumer(row, MAX_CONSUMERS if self.limits else None)
        except ConsumerLimit:
            raise LimitExceededException(
                f"Stream {stream} under account {self.account_id} already has {MAX_CONSUMERS} "
                "registered consumers, the most a stream may have. Deregister one first."
            ) from None
        if not added:
            raise ResourceInUseException(
                f"Consumer {consumer_name} under stream {stream} under account "
                f"{self.account_id} already exists. Choose another ConsumerName."
            )
        return self._consumer(row, settings.arn)

    def describe_stream_consumer(
        self,
        *,
        stream_arn: str | None = None,
        consumer_name: str | None = None,
        consumer_arn: str | None = None,
    ) -> Consumer:
        stream, row = self._find_consumer(stream_arn, consumer_name, consumer_arn)
        return self._consumer(row, self.arn(stream))

    def list_stream_consumers(
        self,
        stream_arn: str,
        *,
        next_token: str | None = None,
        max_results: int | None = None,
        stream_creation_timestamp: datetime | None = None,
    ) -> ConsumerPage:
        stream = self._name(None, stream_arn)
        settings = self._snapshot(stream)[0]
        if (
            stream_creation_timestamp is not None
            and _millis(stream_creation_timestamp) != settings.created_ms
        ):
            raise ResourceNotFoundException(
                f"Stream {stream} under account {self.account_id} was not created at "
                f"{stream_creation_timestamp.isoformat()}."
            )
        rows = sorted(self._log(stream).consumers(), key=lambda r: r.name)
        if next_token is not None:
            after = tokens.check(next_token, self._now_ms())
            rows = [r for r in rows if r.name > after]
        limit = max_results or 100
        page = rows[:limit]
        token = tokens.stamp(page[-1].name, self._now_ms()) if len(rows) > limit else None
        return ConsumerPage(tuple(self._consumer(r, settings.arn) for r in page), token)

    def deregister_stream_consumer(
        self,
        *,
        stream_arn: str | None = None,
        consumer_name: str | None = None,
        consumer_arn: str | None = None,
    ) -> None:
        stream, row = self._find_consumer(stream_arn, consumer_name, consumer_arn)
        self._log(stream).remove_consumer(row.name)

    # ------------------------------------------------------------ resource policies

    def put_resource_policy(self, resource_arn: str, policy: str) -> None:
        """PutResourcePolicy: keep a stream's or consumer's policy document (fogbank
        stores and returns it; it authorises nothing, as there is no IAM here)."""
        self._policy_owner(resource_arn)
        try:
            document = json.loads(policy)
        except ValueError:
            document = None
        if not isinstance(document, dict) or "Statement" not in document:
            raise InvalidArgumentException(
                "Policy is not a valid IAM policy document: give a JSON object with a "
                'Statement, such as {"Version": "2012-10-17", "Statement": [...]}.'
            )
        self.store.put_resource(
            SERVICE, POLICY_KIND, resource_arn, resource_arn, {"policy": policy}
        )

    def get_resource_policy(self, resource_arn: str) -> str:
        """GetResourcePolicy: the document, or ``{}`` when none is attached."""
        self._policy_owner(resource_arn)
        found = self.store.find_resource(SERVICE, POLICY_KIND, resource_arn)
        return "{}" if found is None else str(found.body["policy"])

    def delete_resource_policy(self, resource_arn: str) -> None:
        self._policy_owner(resource_arn)
        if self.store.find_resource(SERVICE, POLICY_KIND, resource_arn) is None:
            raise ResourceNotFoundException(
                f"No resource policy is attached to {resource_arn}: there is nothing to delete."
            )
        self.store.delete_resource(SERVICE, POLICY_KIND, resource_arn)

    def _policy_owner(self, resource_arn: str) -> None:
        if "/consumer/" in resource_arn:
            self._find_consumer(None, None, resource_arn)
        else:
            self._snapshot(self._name(None, resource_arn))

    # ------------------------------------------------------------ tags

    def add_tags(
        self, tags: Mapping[str, str], *, name: str | None = None, arn: str | None = None
    ) -> None:
        stream = self._name(name, arn)
        self._snapshot(stream)
        existing = self.store.list_tags(self.arn(stream))
        _check_tags(tags, existing=len(set(existing) - set(tags)))
        self.store.tag_resource(self.arn(stream), tags)

    def remove_tags(
        self, tag_keys: Iterable[str], *, name: str | None = None, arn: str | None = None
    ) -> None:
        stream = self._name(name, arn)
        self._snapshot(stream)
        self.store.untag_resource(self.arn(stream), list(tag_keys))

    def list_tags(self, *, name: str | None = None, arn: str | None = None) -> dict[str, str]:
        stream = self._name(name, arn)
        self._snapshot(stream)
        return self.store.list_tags(self.arn(stream))

    # ------------------------------------------------------------ internals

    def _now_ms(self) -> int:
        return _millis(self.clock.now())

    def _name(self, name: str | None, arn: str | None) -> str:
        """The stream a request names, by StreamName, StreamARN or both (which must agree)."""
        from_arn: str | None = None
        if arn is not None:
            prefix = f"arn:aws:kinesis:{self.region}:{self.account_id}:stream/"
            if not arn.startswith(prefix) or "/" in arn[len(prefix) :]:
                raise InvalidArgumentException(
                    f"StreamARN {arn} does not name a stream of account {self.account_id} in "
                    f"{self.region}: it must look like {prefix}<StreamName>."
                )
            from_arn = arn[len(prefix) :]
        if name is not None and from_arn is not None and name != from_arn:
            raise InvalidArgumentException(
                f"StreamName {name} and StreamARN {arn} name different streams: pass one, or "
                "two that agree."
            )
        stream = name or from_arn
        if stream is None:
            raise ValidationException(
                "Either StreamName or StreamARN must be provided: name the stream."
            )
        return stream

    def _log(self, stream: str) -> StreamLog:
        with self._lock:
            entry = self._logs.get(stream)
        # A stream's file is named once, at creation, and deleting the stream deletes the
        # file: while the file is there, the log this process opened is still the stream.
        if entry is not None and not entry.log.closed and (self.root / entry.file).exists():
            return entry.log
        resource = self.store.find_resource(SERVICE, KIND, stream)
        if resource is None:
            if entry is not None:
                with self._lock:
                    self._logs.pop(stream, None)
            raise self._not_found(stream)
        file = str(resource.body["file"])
        if entry is not None and entry.file == file:
            return entry.log
        path = self.root / file
        if not path.exists():
            raise self._not_found(stream)
        log = StreamLog(path)
        with self._lock:
            current = self._logs.get(stream)
            if current is not None and current.file == file:
                log.close()
                return current.log
            self._logs[stream] = _Open(log, file)
        if entry is not None:
            entry.log.close()
        return log

    def _snapshot(self, stream: str) -> tuple[StreamSettings, list[ShardRow]]:
        try:
            return self._log(stream).snapshot()
        except LogClosed:
            raise self._not_found(stream) from None

    def _append(self, stream: str, records: list[NewRecord]) -> list[Any]:
        log = self._log(stream)
        now = self._now_ms()
        try:
            placed = log.append(records, now)
        except LogClosed:
            raise self._not_found(stream) from None
        last = self._last_trim.get(stream)
        if last is None or now - last >= _TRIM_EVERY_MS:
            self._last_trim[stream] = now
            self._expire(stream, log)
        return placed

    def _expire(self, stream: str, log: StreamLog) -> None:
        """Reclaim the space of records past retention, and forget expired closed shards."""
        settings, shards = log.snapshot()
        horizon = self._horizon(settings)
        log.trim(horizon)
        expired = [s.index for s in shards if s.closed_ms is not None and s.closed_ms < horizon]
        if expired:
            log.drop_shards(expired)

    def _status(self, settings: StreamSettings) -> str:
        if (
            settings.status in ("CREATING", "UPDATING")
            and self._now_ms() >= settings.status_until_ms
        ):
            return "ACTIVE"
        return settings.status

    def _updating(self) -> dict[str, Any]:
        now = self._now_ms()
        if self.status_delay_ms <= 0:
            return {"status": "ACTIVE", "status_until_ms": now}
        return {"status": "UPDATING", "status_until_ms": now + self.status_delay_ms}

    def _active(self, stream: str) -> StreamSettings:
        settings = self._snapshot(stream)[0]
        status = self._status(settings)
        if status != "ACTIVE":
            raise ResourceInUseException(
                f"Stream {stream} under account {self.account_id} not ACTIVE, instead in state "
                f"{status}. Wait until DescribeStreamSummary reports ACTIVE."
            )
        return settings

    def _reshardable(self, stream: str) -> StreamSettings:
        settings = self._active(stream)
        if settings.mode == "ON_DEMAND":
            raise ValidationException(
                f"Stream {stream} under account {self.account_id} is in ON_DEMAND mode, which "
                "manages its own shards. Switch it to PROVISIONED with UpdateStreamMode first."
            )
        return settings

    def _writable(self, stream: str) -> tuple[StreamSettings, list[ShardRow]]:
        """The settings and open shards, sorted by hash key, that a put routes by."""
        try:
            settings, shards = self._log(stream).open_shards()
        except LogClosed:
            raise self._not_found(stream) from None
        if self._status(settings) == "CREATING":
            raise self._not_found(stream)
        return settings, shards

    def _new_record(self, settings: StreamSettings, request: PutRequest, field: str) -> NewRecord:
        where = f"{field}." if field else ""
        key = request.partition_key
        if not 1 <= len(key) <= 256:
            raise ValidationException(
                f"1 validation error detected: Value at '{where}partitionKey' failed to satisfy "
                f"constraint: Member must have length between 1 and 256; it has {len(key)}."
            )
        limit = settings.max_record_kib * 1024
        size = _size(request.data, key)
        if self.limits and size > limit:
            raise ValidationException(
                f"1 validation error detected: Value at '{where}data' failed to satisfy "
                f"constraint: Member must have length less than or equal to {limit}: the record "
                f"(data and partition key) is {size} bytes. Split it, or raise the stream's "
                "MaxRecordSizeInKiB."
            )
        if request.explicit_hash_key is not None:
            hash_key = _hash_key(request.explicit_hash_key, "ExplicitHashKey")
        else:
            hash_key = keys.partition_hash(key)
        if settings.encryption == "KMS" and settings.key_id is not None:
            sealed = self.keyring.encrypt(settings.key_id, bytes(request.data), key)
            number = self._log(settings.name).key_number(settings.key_id)
            return NewRecord(hash_key, key, sealed, key_number=number)
        return NewRecord(hash_key, key, bytes(request.data))

    def _iterator(self, stream: str, settings: StreamSettings, shard: int, counter: int) -> str:
        return ShardIterator(stream, settings.created_ms, shard, counter, self._now_ms()).encode(
            self._iterator_key
        )

    def _horizon(self, settings: StreamSettings) -> int:
        return self._now_ms() - settings.retention_hours * 3_600_000

    def _live_shards(self, settings: StreamSettings, shards: list[ShardRow]) -> list[ShardRow]:
        horizon = self._horizon(settings)
        return [s for s in shards if s.closed_ms is None or s.closed_ms >= horizon]

    def _filter_shards(
        self, settings: StreamSettings, shards: list[ShardRow], shard_filter: ShardFilter | None
    ) -> list[ShardRow]:
        live = self._live_shards(settings, shards)
        if shard_filter is None or shard_filter.type == "FROM_TRIM_HORIZON":
            return live
        kind = shard_filter.type
        if kind == "AFTER_SHARD_ID":
            if shard_filter.shard_id is None:
                raise InvalidArgumentException(
                    "ShardFilter Type AFTER_SHARD_ID needs a ShardId: give the shard to list after."
                )
            after = keys.shard_index(shard_filter.shard_id)
            return [s for s in live if after is None or s.index > after]
        if kind == "AT_LATEST":
            return [s for s in live if s.is_open]
        if kind == "AT_TRIM_HORIZON":
            # The shards open at the trim horizon: those not descended from a live shard.
            indexes = {s.index for s in live}
            return [s for s in live if s.parent not in indexes and s.adjacent_parent not in indexes]
        if kind in ("AT_TIMESTAMP", "FROM_TIMESTAMP"):
            if shard_filter.timestamp is None:
                raise InvalidArgumentException(
                    f"ShardFilter Type {kind} needs a Timestamp: give the time to list from."
                )
            at = _millis(shard_filter.timestamp)
            if kind == "FROM_TIMESTAMP":
                return [s for s in live if s.closed_ms is None or s.closed_ms >= at]
            return [
                s for s in live if s.created_ms <= at and (s.closed_ms is None or s.closed_ms > at)
            ] or [s for s in live if s.is_open and s.created_ms > at]
        raise InvalidArgumentException(f"ShardFilter Type {kind!r} is not one Kinesis knows.")

    def _open_shard(self, stream: str, shards: list[ShardRow], shard_id: str) -> ShardRow:
        index = keys.shard_index(shard_id)
        found = next((s for s in shards if s.index == index), None)
        if found is None:
            raise ResourceNotFoundException(
                f"Could not find shard {shard_id} in stream {stream} under account "
                f"{self.account_id}. List the stream's shards with ListShards."
            )
        if not found.is_open:
            raise ResourceInUseException(
                f"Shard {shard_id} in stream {stream} under account {self.account_id} has "
                "already been merged or split, and thus is not eligible for merging or splitting."
            )
        return found

    def _find_shard(
        self, stream: str, settings: StreamSettings, shards: list[ShardRow], shard_id: str
    ) -> ShardRow:
        index = keys.shard_index(shard_id)
        found = next((s for s in self._live_shards(settings, shards) if s.index == index), None)
        if found is None:
            raise ResourceNotFoundException(
                f"Shard {shard_id} in stream {stream} under account {self.account_id} does not "
                "exist. List the stream's shards with ListShards."
            )
        return found

    def _children(self, shards: list[ShardRow], index: int) -> tuple[ChildShard, ...]:
        children = []
        for s in shards:
            if index in (s.parent, s.adjacent_parent):
                parents = tuple(
                    keys.shard_id(p) for p in (s.parent, s.adjacent_parent) if p is not None
                )
                children.append(
                    ChildShard(
                        keys.shard_id(s.index), parents, HashKeyRange(s.start_hash, s.end_hash)
                    )
                )
        return tuple(children)

    def _shard(self, s: ShardRow) -> Shard:
        ending = None
        if s.closed_ms is not None:
            ending = keys.encode_sequence(s.last_ms, s.index, s.next_counter - 1)
        return Shard(
            keys.shard_id(s.index),
            HashKeyRange(s.start_hash, s.end_hash),
            keys.encode_sequence(s.created_ms, s.index, 0),
            ending,
            None if s.parent is None else keys.shard_id(s.parent),
            None if s.adjacent_parent is None else keys.shard_id(s.adjacent_parent),
        )

    def _summary(self, settings: StreamSettings) -> StreamSummary:
        return StreamSummary(
            settings.name,
            settings.arn,
            self._status(settings),
            settings.mode,
            _datetime(settings.created_ms),
        )

    def _description(
        self,
        stream: str,
        settings: StreamSettings,
        shards: list[ShardRow],
        *,
        page: tuple[Shard, ...] = (),
        has_more: bool = False,
    ) -> StreamDescription:
        return StreamDescription(
            summary=self._summary(settings),
            stream_id=settings.stream_id,
            retention_period_hours=settings.retention_hours,
            encryption_type=settings.encryption,
            key_id=settings.key_id,
            shard_level_metrics=settings.shard_level_metrics,
            max_record_size_kib=settings.max_record_kib,
            open_shard_count=sum(1 for s in shards if s.is_open),
            consumer_count=len(self._log(stream).consumers()),
            shards=page,
            has_more_shards=has_more,
        )

    def _record(self, row: StoredRecord, settings: StreamSettings) -> Record:
        data = row.data
        if row.key_number:
            key_id = self._log(settings.name).key_id(row.key_number)
            data = self.keyring.decrypt(key_id, data, row.partition_key)
        return Record(
            keys.encode_sequence(row.millis, row.shard, row.counter),
            _datetime(row.millis),
            data,
            row.partition_key,
            "KMS" if row.key_number else "NONE",
        )

    def _consumer(self, row: ConsumerRow, stream_arn: str) -> Consumer:
        status = "ACTIVE" if self._now_ms() >= row.status_until_ms else "CREATING"
        return Consumer(row.name, row.arn, status, _datetime(row.created_ms), stream_arn)

    def _find_consumer(
        self, stream_arn: str | None, consumer_name: str | None, consumer_arn: str | None
    ) -> tuple[str, ConsumerRow]:
        if consumer_arn is not None:
            head, _, _ = consumer_arn.rpartition("/consumer/")
            stream = self._name(None, head)
            rows = self._log(stream).consumers()
            found = next((r for r in rows if r.arn == consumer_arn), None)
            shown = consumer_arn
        elif stream_arn is not None and consumer_name is not None:
            stream = self._name(None, stream_arn)
            rows = self._log(stream).consumers()
            found = next((r for r in rows if r.name == consumer_name), None)
            shown = consumer_name
        else:
            raise InvalidArgumentException(
                "Name the consumer by ConsumerARN, or by StreamARN and ConsumerName together."
            )
        if found is None:
            raise ResourceNotFoundException(
                f"Consumer {shown} under stream {stream} under account {self.account_id} not "
                "found. List the stream's consumers with ListStreamConsumers."
            )
        return stream, found

    def _not_found(self, stream: str) -> ResourceNotFoundException:
        return ResourceNotFoundException(
            f"Stream {stream} under account {self.account_id} not found. "
            "Create it with CreateStream, or check the name and region."
        )

    def _throttled(self, stream: str, shard: int) -> str:
        return (
            f"Rate exceeded for shard {keys.shard_id(shard)} in stream {stream} under account "
            f"{self.account_id}: a shard takes 1,000 records or 1 MiB per second. Retry with "
            "backoff, or add shards."
        )

    def _shard_quota(self) -> int:
        return 500 if self.region in _LARGE_QUOTA_REGIONS else 200

    def stream_names(self) -> list[str]:
        """Every stream's name, in order."""
        names: list[str] = []
        page: StreamPage | None = None
        while page is None or page.has_more:
            page = self.list_streams(
                limit=10_000, exclusive_start_stream_name=names[-1] if names else None
            )
            names += [summary.name for summary in page.streams]
        return names

    def _check_shard_quota(self, more: int) -> None:
        quota = self._shard_quota()
        total = self.describe_limits().open_shard_count
        if total + more > quota:
            raise LimitExceededException(
                f"This request would exceed the shard limit for the account {self.account_id} in "
                f"{self.region}. Current limit of shards is {quota}; {total} are open and the "
                f"request needs {more} more. Delete or merge shards, or turn limits off."
            )


def _route(shards: list[ShardRow], hash_key: int) -> ShardRow:
    """The shard of ``shards`` (open, sorted by starting hash key) that holds the key."""
    position = bisect.bisect_right(shards, hash_key, key=lambda s: s.start_hash) - 1
    return shards[position]


def _size(data: bytes, partition_key: str) -> int:
    return len(data) + len(partition_key.encode("utf-8"))


def _hash_key(value: str, field: str) -> int:
    if not value.isdigit() or int(value) > keys.MAX_HASH_KEY:
        raise InvalidArgumentException(
            f"Invalid {field} {value!r}: it must be a decimal integer from 0 to 2^128 - 1."
        )
    return int(value)


def _check_encryption_type(encryption_type: str) -> None:
    if encryption_type != "KMS":
        raise InvalidArgumentException(
            f"EncryptionType must be KMS to start or stop encryption; got {encryption_type!r}."
        )


def _check_max_record_size(kib: int) -> None:
    if not 1024 <= kib <= 10240:
        raise ValidationException(f"MaxRecordSizeInKiB must be between 1024 and 10240; got {kib}.")


def _check_tags(tags: Mapping[str, str], *, existing: int) -> None:
    if existing + len(tags) > MAX_TAGS:
        raise InvalidArgumentException(
            f"A stream can have at most {MAX_TAGS} tags; this would make {existing + len(tags)}. "
            "Remove some first."
        )
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or key.startswith("aws:"):
            raise InvalidArgumentException(
                f"Tag key {key!r} is not allowed: keys are 1-128 characters and may not start "
                "with 'aws:'."
            )
        if len(value) > 256:
            raise InvalidArgumentException(
                f"Tag value for {key!r} is {len(value)} characters; the most is 256."
            )


def _millis(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def _datetime(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def _iso(millis: int) -> str:
    return _datetime(millis).isoformat(timespec="milliseconds")


def _iterator_key(root: Path) -> bytes:
    """The home's key for sealing shard iterators, made once and kept."""
    path = root / ".iterator-key"
    if not path.exists():
        temporary = path.with_name(f".iterator-key.{new_hex_id(4)}")
        temporary.write_bytes(secrets.token_bytes(32))
        try:
            os.link(temporary, path)  # atomic: the first process to make it wins
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
    return path.read_bytes()
