"""Firehose delivery streams (DirectPut into the S3 lake): the rules and the delivery.

:class:`Firehose` keeps each delivery stream's definition in the control plane (its
state column holds the VersionId, so UpdateDestination's version check is one
conditional write) and its buffered records in a :class:`~fogbank.firehose.buffer.RecordBuffer`
under ``<home>/firehose/``. A put is acknowledged once its records are fsync'd there.

Delivery: a buffer is due when SizeInMBs of data waits or IntervalInSeconds has passed
since its first record (0: at once). :meth:`Firehose.deliver_due` writes one object per
due buffer through the lake's API, then drops the delivered records; one daemon thread
per engine calls it, started by the first put (or at once when the home holds buffers
from before). A delivery that fails (no such bucket) is retried with backoff, its
records kept. Time comes from the injected clock, so tests move time instead of sleeping.

What an object holds is :mod:`fogbank.firehose.delivery`'s: the Lambda processor (a
Python callable), record format conversion to Parquet/ORC in a Glue table's schema, and
the error output. The engine is given the streams and catalog engines it reads; without
them it makes its own over the same home and store.

Dynamic partitioning (:mod:`fogbank.firehose.partitioning`) keeps the put path as it
is: records are journalled as they come, then the delivery loop partitions them (Lambda
processor, jq) back into the buffer in one transaction, and each partition is buffered
and delivered on its own thresholds (its interval counted from its first record).

A KinesisStreamAsSource stream's records come from its Kinesis stream instead of puts:
the delivery loop reads it through the consumer library into the same buffer
(:mod:`fogbank.firehose.source`), and they are delivered as DirectPut's are.

A Redshift destination (:mod:`fogbank.firehose.redshift`) is delivered to its S3Configuration
as above; each staged object's manifest is written and its COPY queued in the buffer in
the transaction that drops the records, and :meth:`Firehose.deliver_due` then runs the
queued COPYs into the warehouse (:mod:`fogbank.firehose.warehouse`, a DuckDB file under
``<home>/warehouse/``), retrying a failed one for RetryOptions.DurationInSeconds.

DeleteDeliveryStream delivers what is buffered, best effort, then drops what could not
be delivered: AWS makes no promise for records still buffered at deletion.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fogbank.catalog.engine import Catalog
from fogbank.core.clock import Clock
from fogbank.core.errors import (
    ConcurrentModificationException,
    FogbankError,
    InvalidArgumentException,
    LimitExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
    ServiceUnavailableException,
)
from fogbank.core.ids import new_hex_id
from fogbank.core.store import ControlPlaneStore, Resource
from fogbank.firehose.buffer import BufferClosed, RecordBuffer, remove_files
from fogbank.firehose.delivery import ObjectWriter
from fogbank.firehose.destination import DESTINATION_ID, NOT_YET, S3Destination
from fogbank.firehose.metrics import Metrics
from fogbank.firehose.model import (
    BatchEntry,
    BatchResult,
    Delivery,
    DeliveryStream,
    Encryption,
    PutResult,
    StreamNames,
)
from fogbank.firehose.partitioning import DEFAULT_ACTIVE_PARTITIONS, FAILED_PART
from fogbank.firehose.redshift import CopyOutcome, RedshiftDestination, RedshiftLoader
from fogbank.firehose.source import (
    DIRECT_PUT,
    KINESIS_SOURCE,
    STREAM_TYPES,
    KinesisSource,
    SourceReaders,
)
from fogbank.firehose.warehouse import Warehouse
from fogbank.lake.engine import Lake
from fogbank.streams.engine import Streams

SERVICE = "firehose"
KIND = "deliverystream"
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024
MAX_RECORD_BYTES = 1_000 * 1024
MAX_TAGS = 50
MAX_DELIVERY_STREAMS = 5000
DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024 * 1024
CLAIM_LEASE_MS = 5 * 60 * 1000
_TICK_SECONDS = 0.1
# Incoming counts are written to the control plane at most this often (one write per
# put would cost more than the put): CloudWatch's own periods are a minute.
_FLUSH_SECONDS = 1.0
# AWS: "If data delivery to your Amazon S3 bucket fails, Amazon Data Firehose retries to
# deliver data every 5 seconds" (Handle data delivery failures). The waits grow 1, 2, 4
# and stay at 5 s; the records stay buffered (AWS discards them after 24 hours; fogbank
# never drops an acknowledged record, and the error prefix lives in the same bucket).
_MAX_BACKOFF_SECONDS = 5.0
_UNSUPPORTED_DESTINATIONS = (
    "ElasticsearchDestinationConfiguration",
    "AmazonopensearchserviceDestinationConfiguration",
    "AmazonOpenSearchServerlessDestinationConfiguration",
    "SplunkDestinationConfiguration",
    "HttpEndpointDestinationConfiguration",
    "SnowflakeDestinationConfiguration",
    "IcebergDestinationConfiguration",
)

log = logging.getLogger("fogbank.firehose")


@dataclass
class _Open:
    buffer: RecordBuffer
    file: str


class Firehose:
    """Every delivery stream of one fogbank home."""

    def __init__(
        self,
        root: Path,
        store: ControlPlaneStore,
        lake: Lake,
        *,
        clock: Clock,
        account_id: str,
        region: str,
        limits: bool = True,
        status_delay: float = 0.0,
        deliver_in_background: bool = True,
        max_buffered_bytes: int | None = DEFAULT_MAX_BUFFERED_BYTES,
        max_active_partitions: int | None = DEFAULT_ACTIVE_PARTITIONS,
        streams: Streams | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.root = root
        self.store = store
        self.lake = lake
        self.clock = clock
        self.account_id = account_id
        self.region = region
        self.limits = limits
        self.status_delay_ms = int(status_delay * 1000)
        self.max_buffered_bytes = max_buffered_bytes if limits else None
        self.max_active_partitions = max_active_partitions if limits else None
        self._background = deliver_in_background
        self._buffers: dict[str, _Open] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._retry_at: dict[str, tuple[float, float]] = {}
        self._streams = streams
        self.catalog = catalog or Catalog(
            store, clock=clock, account_id=account_id, region=region, limits=limits
        )
        self._writer = ObjectWriter(lake, self.catalog, clock, region, account_id)
        self.metrics = Metrics(store)
        self._loader = RedshiftLoader(lake, root.parent / "warehouse", clock, self.metrics)
        self._own_streams: Streams | None = None
        self._sources = SourceReaders(self.streams, store, clock)
        root.mkdir(parents=True, exist_ok=True)
        if any(root.glob("*.sqlite")):
            self._start_delivery()  # records buffered before a restart are delivered

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        with contextlib.suppress(Exception):
            self.metrics.flush()
        self._sources.close()
        with self._lock:
            opened, self._buffers = list(self._buffers.values()), {}
        for entry in opened:
            entry.buffer.close()
        if self._own_streams is not None:
            self._own_streams.close()
            self._own_streams = None

    def streams(self) -> Streams:
        """The streams engine that KinesisStreamAsSource streams read.

        Without one given, one over ``<home>/streams`` (this engine's root's sibling),
        which is where the Fogbank object keeps its streams.
        """
        if self._streams is not None:
            return self._streams
        with self._lock:
            if self._own_streams is None:
                self._own_streams = Streams(
                    self.root.parent / "streams",
                    self.store,
                    clock=self.clock,
                    account_id=self.account_id,
                    region=self.region,
                    limits=self.limits,
                )
            return self._own_streams

    def reset(self) -> None:
        """Delete every delivery stream, dropping what is buffered (the gateway's reset)."""
        for name in self._names():
            self._delete(name, deliver=False)
        self.metrics = Metrics(self.store)  # counts not yet written go with the rest
        self._loader.metrics = self.metrics

    def warehouse(self, jdbc_url: str) -> Warehouse:
        """The warehouse a Redshift destination's ClusterJDBCURL names (a DuckDB file
        under ``<home>/warehouse/``): create the table there before delivering into it,
        and read what was delivered, with :meth:`Warehouse.execute`."""
        return self._loader.warehouse(jdbc_url)

    def arn(self, name: str) -> str:
        return f"arn:aws:firehose:{self.region}:{self.account_id}:deliverystream/{name}"

    # ------------------------------------------------------------ delivery streams

    def create_delivery_stream(
        self,
        name: str,
        *,
        stream_type: str = DIRECT_PUT,
        kinesis_source: Mapping[str, Any] | None = None,
        extended_s3: Mapping[str, Any] | None = None,
        s3: Mapping[str, Any] | None = None,
        redshift: Mapping[str, Any] | None = None,
        encryption: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        other_destinations: Sequence[str] = (),
    ) -> str:
        """CreateDeliveryStream: a DirectPut or KinesisStreamAsSource stream with one S3
        or Redshift destination; its ARN."""
        if stream_type not in STREAM_TYPES:
            raise InvalidArgumentException(
                f"DeliveryStreamType {stream_type} is {NOT_YET}; create a DirectPut or "
                "KinesisStreamAsSource stream."
            )
        if stream_type == DIRECT_PUT and kinesis_source is not None:
            raise InvalidArgumentException(
                "KinesisStreamSourceConfiguration is only taken with DeliveryStreamType "
                "KinesisStreamAsSource: set that type, or leave the configuration out."
            )
        for other in other_destinations:
            raise InvalidArgumentException(
                f"{other} is {NOT_YET}; fogbank delivers to S3 "
                "(ExtendedS3DestinationConfiguration)."
            )
        if sum(given is not None for given in (extended_s3, s3, redshift)) != 1:
            raise InvalidArgumentException(
                "Give exactly one destination: ExtendedS3DestinationConfiguration, "
                "S3DestinationConfiguration or RedshiftDestinationConfiguration."
            )
        warehouse = RedshiftDestination.parse(redshift) if redshift is not None else None
        if warehouse is not None:
            destination = warehouse.staging
        else:
            destination = S3Destination.parse(
                extended_s3 if extended_s3 is not None else s3 or {},
                extended=extended_s3 is not None,
            )
        source = None
        if stream_type == KINESIS_SOURCE:
            source = KinesisSource.parse(kinesis_source, self.streams())
            if encryption:
                raise InvalidArgumentException(
                    "DeliveryStreamEncryptionConfigurationInput is not taken for a "
                    "KinesisStreamAsSource stream: its records are encrypted by the source "
                    "stream. Leave it out."
                )
        key = _encryption_input(encryption) if encryption else None
        if tags:
            _check_tags(tags, existing=0)
        if self.limits:
            found, _ = self.store.list_resources(SERVICE, KIND, max_results=MAX_DELIVERY_STREAMS)
            if len(found) >= MAX_DELIVERY_STREAMS:
                raise LimitExceededException(
                    f"This account has {MAX_DELIVERY_STREAMS} delivery streams in {self.region}, "
                    "the most it may have. Delete one first."
                )
        now = self._now_ms()
        file = f"{name}.{now}.{new_hex_id(4)}.sqlite"
        body = {
            "file": file,
            "type": stream_type,
            "created_ms": now,
            "updated_ms": None,
            "status_until_ms": now + self.status_delay_ms,
            "destination": destination.config,
            "extended": destination.extended,
            "encryption": _encryption_body("ENABLED", key, now + self.status_delay_ms)
            if key
            else _encryption_body("DISABLED", None, now),
        }
        if source is not None:
            body["source"] = source.body(now)
        if warehouse is not None:
            body["redshift"] = warehouse.config
        try:
            self.store.put_resource(
                SERVICE, KIND, name, self.arn(name), body, state="1", create_only=True
            )
        except ResourceInUseException:
            raise ResourceInUseException(
                f"Firehose {name} under account {self.account_id} already exists. Choose "
                "another DeliveryStreamName, or delete the existing stream first."
            ) from None
        try:
            buffer = RecordBuffer.create(self.root / file)
        except BaseException:
            self.store.delete_resource(SERVICE, KIND, name)
            raise
        with self._lock:
            self._buffers[name] = _Open(buffer, file)
        if tags:
            self.store.tag_resource(self.arn(name), tags)
        if source is not None:
            self._start_delivery()  # the loop reads the source from now on
        return self.arn(name)

    def describe_delivery_stream(self, name: str) -> DeliveryStream:
        """DescribeDeliveryStream."""
        resource = self._resource(name)
        body = resource.body
        now = self._now_ms()
        status = "CREATING" if now < int(body["status_until_ms"]) else "ACTIVE"
        updated = body.get("updated_ms")
        return DeliveryStream(
            name=name,
            arn=resource.arn,
            status=status,
            type=str(body["type"]),
            version_id=resource.state,
            created=_datetime(int(body["created_ms"])),
            last_updated=_datetime(int(updated)) if updated is not None else None,
            destination=S3Destination(dict(body["destination"]), bool(body["extended"])),
            encryption=_encryption_now(body["encryption"], now),
            source=body.get("source"),
            redshift=RedshiftDestination.from_body(body),
        )

    def list_delivery_streams(
        self,
        *,
        limit: int = 10,
        exclusive_start_name: str | None = None,
        stream_type: str | None = None,
    ) -> StreamNames:
        """ListDeliveryStreams, in name order."""
        names = []
        for name in self._names():
            if exclusive_start_name is not None and name <= exclusive_start_name:
                continue
            if stream_type is not None:
                found = self.store.find_resource(SERVICE, KIND, name)
                if found is None or found.body["type"] != stream_type:
                    continue
            names.append(name)
        return StreamNames(tuple(names[:limit]), has_more=len(names) > limit)

    def delete_delivery_stream(self, name: str) -> None:
        """DeleteDeliveryStream: buffered records are delivered, best effort, then dropped."""
        self._resource(name)
        self._delete(name, deliver=True)

    def update_destination(
        self,
        name: str,
        current_version_id: str,
        destination_id: str,
        *,
        extended_s3: Mapping[str, Any] | None = None,
        s3: Mapping[str, Any] | None = None,
        redshift: Mapping[str, Any] | None = None,
        other_destinations: Sequence[str] = (),
    ) -> None:
        """UpdateDestination: the version named must be the current one; it moves on by 1."""
        resource = self._resource(name)
        self._check_active(name, resource)
        for other in other_destinations:
            raise InvalidArgumentException(f"{other} is {NOT_YET}; update the S3 destination.")
        if destination_id != DESTINATION_ID:
            raise InvalidArgumentException(
                f"DestinationId {destination_id} is not a destination of Firehose {name}; its "
                f"one destination is {DESTINATION_ID}."
            )
        if resource.state != current_version_id:
            raise ConcurrentModificationException(
                f"CurrentDeliveryStreamVersionId {current_version_id} is not the current "
                f"version of Firehose {name}, {resource.state}: describe the stream again and "
                "pass its VersionId."
            )
        warehouse = RedshiftDestination.from_body(resource.body)
        if (warehouse is not None) != (redshift is not None) or (
            redshift is not None and (extended_s3 is not None or s3 is not None)
        ):
            kind = "a Redshift" if warehouse is not None else "an S3"
            raise InvalidArgumentException(
                f"Firehose {name} has {kind} destination; changing the destination's type "
                f"is {NOT_YET}. Give "
                + ("RedshiftDestinationUpdate" if warehouse is not None else "an S3 update")
                + ", or create a new stream."
            )
        if warehouse is not None and redshift is not None:
            changed_warehouse = warehouse.updated(redshift)
            self._replace_destination(
                name,
                resource,
                {
                    **resource.body,
                    "destination": changed_warehouse.staging.config,
                    "redshift": changed_warehouse.config,
                    "updated_ms": self._now_ms(),
                },
            )
            return
        current = S3Destination(dict(resource.body["destination"]), bool(resource.body["extended"]))
        update = extended_s3 if extended_s3 is not None else s3 or {}
        feature = "DynamicPartitioningConfiguration"
        wanted = update.get(feature, current.config.get(feature)) or {}
        if bool(wanted.get("Enabled")) != current.dynamic_partitioning:
            raise InvalidArgumentException(
                "DynamicPartitioningConfiguration can only be set when a stream is created: "
                "dynamic partitioning cannot be turned on for an existing stream, nor off once "
                "on. Create a new stream instead."
            )
        changed = current.updated(update, extended=extended_s3 is not None)
        body = {
            **resource.body,
            "destination": changed.config,
            "extended": changed.extended,
            "updated_ms": self._now_ms(),
        }
        self._replace_destination(name, resource, body)

    def _replace_destination(self, name: str, resource: Resource, body: dict[str, Any]) -> None:
        replaced = self.store.replace_resource(
            SERVICE,
            KIND,
            name,
            body,
            state=str(int(resource.state) + 1),
            expected_state=resource.state,
        )
        if replaced is None:
            raise ConcurrentModificationException(
                f"Firehose {name} changed while it was being updated: describe it again and "
                "retry with its new VersionId."
            )

    def start_encryption(
        self, name: str, key_type: str | None = None, key_arn: str | None = None
    ) -> None:
        """StartDeliveryStreamEncryption: ENABLING, then ENABLED."""
        key = _encryption_input({"KeyType": key_type or "AWS_OWNED_CMK", "KeyARN": key_arn})
        self._change_encryption(name, "ENABLED", key)

    def stop_encryption(self, name: str) -> None:
        """StopDeliveryStreamEncryption: DISABLING, then DISABLED."""
        self._change_encryption(name, "DISABLED", None)

    # ------------------------------------------------------------ tags

    def tag(self, name: str, tags: Mapping[str, str]) -> None:
        """TagDeliveryStream: at most 50 tags in all."""
        self._check_active(name, self._resource(name))
        existing = self.store.list_tags(self.arn(name))
        _check_tags(tags, existing=len(set(existing) - set(tags)))
        self.store.tag_resource(self.arn(name), tags)

    def untag(self, name: str, keys: Sequence[str]) -> None:
        self._check_active(name, self._resource(name))
        self.store.untag_resource(self.arn(name), keys)

    def list_tags(self, name: str) -> dict[str, str]:
        self._resource(name)
        return self.store.list_tags(self.arn(name))

    # ------------------------------------------------------------ records

    def put_record(self, name: str, data: bytes) -> PutResult:
        """PutRecord: the record is durable in the stream's buffer before this returns."""
        result = self.put_record_batch(name, [data])
        entry = result.entries[0]
        if entry.error_code is not None:
            raise ServiceUnavailableException(entry.error_message or "Slow down.")
        assert entry.record_id is not None
        return PutResult(entry.record_id, result.encrypted)

    def put_record_batch(self, name: str, records: Sequence[bytes]) -> BatchResult:
        """PutRecordBatch: up to 500 records and 4 MiB; each record that the buffer
        cannot take fails on its own with ServiceUnavailableException."""
        resource = self._resource(name)
        if self._now_ms() < int(resource.body["status_until_ms"]):
            raise ResourceNotFoundException(
                f"Firehose {name} under account {self.account_id} is CREATING: wait until "
                "DescribeDeliveryStream reports ACTIVE."
            )
        if resource.body["type"] == KINESIS_SOURCE:
            # AWS's own words for a put to a stream-sourced delivery stream.
            raise InvalidArgumentException(
                "This operation is not permitted on KinesisStreamAsSource delivery stream type."
            )
        if self.limits:
            _check_batch(records)
        buffer = self._buffer(name)
        try:
            accepted = buffer.append(records, self._now_ms(), max_bytes=self.max_buffered_bytes)
        except BufferClosed:
            raise self._not_found(name) from None
        self._start_delivery()
        destination = S3Destination(dict(resource.body["destination"]), True)
        full = accepted > 0 and buffer.held() >= destination.size_bytes
        if destination.interval_ms == 0 or full:
            # Due now: deliver without waiting for the tick. Otherwise the tick finds the
            # buffer due by its interval; waking the loop at every put would only make it
            # look again, taking the GIL and the buffer's lock from the puts.
            self._wake.set()
        encrypted = _encryption_now(resource.body["encryption"], self._now_ms()).status == (
            "ENABLED"
        )
        self.metrics.incoming(name, accepted, sum(len(r) for r in records[:accepted]))
        entries = [BatchEntry(record_id=record_id) for record_id in _record_ids(accepted)]
        refused = BatchEntry(
            error_code="ServiceUnavailableException",
            error_message=(
                f"Firehose {name} holds as much undelivered data as it may "
                f"({self.max_buffered_bytes} bytes); retry this record once deliveries catch up."
            ),
        )
        entries += [refused] * (len(records) - accepted)
        return BatchResult(len(records) - accepted, encrypted, tuple(entries))

    # ------------------------------------------------------------ delivery

    def deliver_due(self, name: str | None = None, *, force: bool = False) -> list[Delivery]:
        """Deliver every due buffer (of ``name``, or of every stream): one object each.

        ``force`` delivers what is buffered whatever the thresholds. A failed delivery
        raises after putting its records back.
        """
        made: list[Delivery] = []
        for stream in [name] if name is not None else self._names():
            while True:
                delivery = self._deliver_one(stream, force=force)
                if delivery is None:
                    break
                made.append(delivery)
            self.copy_pending(stream)
        return made

    def copy_pending(self, name: str) -> list[CopyOutcome]:
        """A Redshift destination's queued COPYs that are due, in order (deliver_due runs
        them after staging): what each did. A failed COPY is retried later, or given up."""
        resource = self.store.find_resource(SERVICE, KIND, name)
        warehouse = RedshiftDestination.from_body(resource.body) if resource else None
        if warehouse is None:
            return []
        try:
            return self._loader.run(name, warehouse, self._buffer(name))
        except (BufferClosed, ResourceNotFoundException):
            return []

    def pending_copies(self, name: str) -> int:
        """How many staged objects of ``name`` wait for their COPY."""
        return self._buffer(name).pending_copies()

    def read_sources(self, name: str | None = None) -> int:
        """One turn of reading each KinesisStreamAsSource stream (``name``, or all) into
        its buffer; how many records were buffered. The delivery loop calls it."""
        read = 0
        names = [name] if name is not None else self._names()
        for stream in names:
            resource = self.store.find_resource(SERVICE, KIND, stream)
            if resource is None or resource.body.get("type") != KINESIS_SOURCE:
                self._sources.drop(stream)
                continue
            try:
                buffer = self._buffer(stream)
                cap = self.max_buffered_bytes
                if cap is not None and buffer.buffered()[1] >= cap:
                    continue  # back-pressure: the stream keeps the records meanwhile
                application = "firehose-" + str(resource.body["file"]).removesuffix(".sqlite")
                pumped = self._sources.pump(stream, application, resource.body["source"], buffer)
                self.metrics.incoming(stream, pumped)
                read += pumped
            except (BufferClosed, ResourceNotFoundException):
                self._sources.drop(stream)
        for stream in self._sources.names():
            if name is None and stream not in names:
                self._sources.drop(stream)  # deleted (perhaps by another process)
        return read

    def buffered(self, name: str) -> tuple[int, int]:
        """How many records and bytes of ``name`` wait for delivery."""
        return self._buffer(name).buffered()

    def _deliver_one(self, name: str, *, force: bool) -> Delivery | None:
        resource = self.store.find_resource(SERVICE, KIND, name)
        if resource is None:
            return None
        destination = S3Destination(dict(resource.body["destination"]), True)
        warehouse = RedshiftDestination.from_body(resource.body)
        partitioned = destination.dynamic_partitioning
        try:
            buffer = self._buffer(name)
            if partitioned:
                self._partition_pending(name, int(resource.state), destination, buffer)
            claim = buffer.claim(
                uuid.uuid4().hex,
                self._now_ms(),
                size_bytes=destination.size_bytes,
                interval_ms=destination.interval_ms,
                lease_ms=CLAIM_LEASE_MS,
                force=force,
                partitioned=partitioned,
            )
        except (BufferClosed, ResourceNotFoundException):
            return None
        if claim is None:
            return None
        copy = None
        try:
            delivery = self._writer.write(
                name, self.arn(name), int(resource.state), destination, claim
            )
            if warehouse is not None and delivery.key:
                copy = self._loader.stage(name, int(resource.state), warehouse, delivery.key, claim)
        except BaseException:
            with contextlib.suppress(BufferClosed):
                buffer.release(claim.owner)
            raise
        with contextlib.suppress(BufferClosed):
            buffer.complete(claim.owner, copy)
        self.metrics.delivered(
            name,
            delivery,
            size=sum(len(r) for r in claim.records),
            arrivals=claim.arrivals,
            now_ms=self._now_ms(),
        )
        return delivery

    def _partition_pending(
        self, name: str, version: int, destination: S3Destination, buffer: RecordBuffer
    ) -> None:
        """Dynamic partitioning's first step: every record not yet partitioned goes
        through the Lambda processor and gets its partition, back in the buffer."""
        while True:
            claim = buffer.claim(
                uuid.uuid4().hex,
                self._now_ms(),
                size_bytes=destination.size_bytes,
                interval_ms=0,
                lease_ms=CLAIM_LEASE_MS,
                force=True,
            )
            if claim is None:
                return
            active = buffer.partitions() - {FAILED_PART}
            try:
                made = self._writer.partition(
                    self.arn(name),
                    destination,
                    claim,
                    name=name,
                    version=version,
                    active=active,
                    max_partitions=self.max_active_partitions,
                )
                buffer.repartition(claim.owner, made.records)
            except BaseException:
                with contextlib.suppress(BufferClosed):
                    buffer.release(claim.owner)
                raise
            self.metrics.partitioned(
                name,
                made,
                partitions=len(active),
                query=destination.partitioning is not None
                and destination.partitioning.extraction is not None,
            )

    def _start_delivery(self) -> None:
        if not self._background or self._thread is not None or self._stop.is_set():
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._delivery_loop, name="fogbank-firehose-delivery", daemon=True
                )
                self._thread.start()

    def _delivery_loop(self) -> None:
        flushed = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(_TICK_SECONDS)
            self._wake.clear()
            try:
                names = self._names()
            except Exception:  # the store closing under a shutdown
                continue
            try:
                self.read_sources()
            except Exception:
                log.exception("Firehose could not read its source streams")
            for name in names:
                if self._stop.is_set():
                    return
                self._deliver_with_backoff(name)
            if time.monotonic() - flushed >= _FLUSH_SECONDS:  # a cost, not a rule: real time
                flushed = time.monotonic()
                with contextlib.suppress(Exception):  # the store closing under a shutdown
                    self.metrics.flush()

    def _deliver_with_backoff(self, name: str) -> None:
        now = self.clock.monotonic()
        retry_at, delay = self._retry_at.get(name, (0.0, 0.0))
        if now < retry_at:
            return
        try:
            self.deliver_due(name)
        except FogbankError as exc:
            self.metrics.failed(name)
            delay = min(max(delay * 2, 1.0), _MAX_BACKOFF_SECONDS)
            self._retry_at[name] = (now + delay, delay)
            log.warning("Firehose %s could not deliver (%s); retrying in %.0f s", name, exc, delay)
            return
        except Exception:
            log.exception("Firehose %s delivery failed", name)
            return
        self._retry_at.pop(name, None)

    # ------------------------------------------------------------ internals

    def _now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def _names(self) -> list[str]:
        names: list[str] = []
        token: str | None = None
        while True:
            page, token = self.store.list_resources(
                SERVICE, KIND, max_results=1000, next_token=token
            )
            names += [r.name for r in page]
            if token is None:
                return names

    def _resource(self, name: str) -> Resource:
        found = self.store.find_resource(SERVICE, KIND, name)
        if found is None:
            raise self._not_found(name)
        return found

    def _not_found(self, name: str) -> ResourceNotFoundException:
        return ResourceNotFoundException(
            f"Firehose {name} under account {self.account_id} not found. Check the "
            "DeliveryStreamName, or create the stream first."
        )

    def _check_active(self, name: str, resource: Resource) -> None:
        if self._now_ms() < int(resource.body["status_until_ms"]):
            raise ResourceInUseException(
                f"Firehose {name} under account {self.account_id} is CREATING: wait until "
                "DescribeDeliveryStream reports ACTIVE."
            )

    def _buffer(self, name: str) -> RecordBuffer:
        with self._lock:
            entry = self._buffers.get(name)
        # The file is named once, at creation, and deleting the stream deletes it: while
        # it is there, the buffer this process opened is still the stream's.
        if entry is not None and not entry.buffer.closed and (self.root / entry.file).exists():
            return entry.buffer
        file = str(self._resource(name).body["file"])
        path = self.root / file
        if not path.exists():
            raise self._not_found(name)
        with self._lock:
            current = self._buffers.get(name)
            if current is not None and current.file == file and not current.buffer.closed:
                return current.buffer
            buffer = RecordBuffer(path)
            self._buffers[name] = _Open(buffer, file)
        if entry is not None:
            entry.buffer.close()
        return buffer

    def _delete(self, name: str, *, deliver: bool) -> None:
        if deliver:
            try:
                self.deliver_due(name, force=True)
            except FogbankError as exc:
                log.warning("Firehose %s deleted with undelivered records (%s)", name, exc)
        resource = self.store.find_resource(SERVICE, KIND, name)
        if resource is None:
            return
        try:
            self.store.delete_resource(SERVICE, KIND, name)
        except ResourceNotFoundException:
            return
        self._sources.drop(name)
        with self._lock:
            entry = self._buffers.pop(name, None)
        if entry is not None:
            entry.buffer.close()
        remove_files(self.root / str(resource.body["file"]))
        self._retry_at.pop(name, None)

    def _change_encryption(self, name: str, target: str, key: dict[str, str] | None) -> None:
        for _ in range(10):
            resource = self._resource(name)
            self._check_active(name, resource)
            now = self._now_ms()
            if target == "ENABLED" and resource.body["type"] == KINESIS_SOURCE:
                raise InvalidArgumentException(
                    "Server-side encryption can only be enabled on a DirectPut delivery "
                    f"stream; Firehose {name} reads a Kinesis stream, whose own encryption "
                    "covers its records."
                )
            current = _encryption_now(resource.body["encryption"], now)
            if current.status in ("ENABLING", "DISABLING"):
                raise ResourceInUseException(
                    f"Firehose {name} encryption is {current.status}: wait until "
                    "DescribeDeliveryStream reports ENABLED or DISABLED."
                )
            body = {
                **resource.body,
                "encryption": _encryption_body(target, key, now + self.status_delay_ms),
            }
            if self.store.replace_resource(
                SERVICE, KIND, name, body, state=resource.state, expected_state=resource.state
            ):
                return
        raise ConcurrentModificationException(
            f"Firehose {name} kept changing while its encryption was being changed; retry."
        )


def _encryption_input(given: Mapping[str, Any]) -> dict[str, str]:
    key_type = given.get("KeyType") or "AWS_OWNED_CMK"
    key_arn = given.get("KeyARN")
    if key_type == "CUSTOMER_MANAGED_CMK" and not key_arn:
        raise InvalidArgumentException(
            "KeyType CUSTOMER_MANAGED_CMK needs a KeyARN: give the key's ARN, or use "
            "KeyType AWS_OWNED_CMK."
        )
    if key_type == "AWS_OWNED_CMK" and key_arn:
        raise InvalidArgumentException(
            "KeyARN is only taken with KeyType CUSTOMER_MANAGED_CMK; leave it out for "
            "AWS_OWNED_CMK."
        )
    key = {"KeyType": str(key_type)}
    if key_arn:
        key["KeyARN"] = str(key_arn)
    return key


def _encryption_body(target: str, key: dict[str, str] | None, until_ms: int) -> dict[str, Any]:
    return {"target": target, "until_ms": until_ms, **(key or {})}


def _encryption_now(body: Mapping[str, Any], now_ms: int) -> Encryption:
    target = str(body["target"])
    if now_ms < int(body["until_ms"]):
        status = "ENABLING" if target == "ENABLED" else "DISABLING"
    else:
        status = target
    return Encryption(status, body.get("KeyType"), body.get("KeyARN"))


def _check_batch(records: Sequence[bytes]) -> None:
    if not 1 <= len(records) <= MAX_BATCH_RECORDS:
        raise InvalidArgumentException(
            f"PutRecordBatch takes 1 to {MAX_BATCH_RECORDS} records; got {len(records)}. "
            "Split the batch."
        )
    total = 0
    for index, data in enumerate(records):
        if len(data) > MAX_RECORD_BYTES:
            raise InvalidArgumentException(
                f"Record {index} is {len(data)} bytes; a record's Data may be at most "
                f"{MAX_RECORD_BYTES} bytes (1,000 KiB) before base64. Split it."
            )
        total += len(data)
    if total > MAX_BATCH_BYTES:
        raise InvalidArgumentException(
            f"The batch's records hold {total} bytes; PutRecordBatch takes at most "
            f"{MAX_BATCH_BYTES} (4 MiB). Send fewer records per call."
        )


def _check_tags(tags: Mapping[str, str], *, existing: int) -> None:
    if existing + len(tags) > MAX_TAGS:
        raise LimitExceededException(
            f"A delivery stream can have at most {MAX_TAGS} tags; this would make "
            f"{existing + len(tags)}. Remove some first."
        )


def _record_ids(count: int) -> list[str]:
    # AWS's record ids are long opaque strings; 40 random bytes, hex, are as opaque. One
    # draw for the batch, cut in 80-character ids: one draw per record costs more.
    drawn = new_hex_id(40 * count)
    return [drawn[start : start + 80] for start in range(0, 80 * count, 80)]


def _datetime(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)
