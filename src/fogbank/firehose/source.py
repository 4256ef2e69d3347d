"""A Kinesis stream as a delivery stream's source (DeliveryStreamType KinesisStreamAsSource).

:class:`KinesisSource` is the ``KinesisStreamSourceConfiguration`` checked once at
CreateDeliveryStream (the stream must exist). :class:`SourceReaders` reads each such
stream through the consumer library (:class:`~fogbank.streams.consumer.Consumer`), one
worker per delivery stream in each process that runs a Firehose engine. Its application
name is the delivery stream's buffer file stem, unique to one creation of the stream,
so the leases and checkpoints of a deleted stream are never picked up by a new one of
the same name; processes sharing a home split the shards through those leases, and a
restart resumes from the checkpoints.

Reading starts at the stream's DeliveryStartTimestamp (its creation), as Firehose
reads from the time the delivery stream was created. A batch's records are appended to
the delivery stream's buffer (fsync'd) before the batch is checkpointed: a crash in
between reads them again, so delivery is at-least-once and nothing read is lost. While a
buffer holds as much as it may, its source is not read (the stream keeps the records).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from fogbank.core.clock import Clock
from fogbank.core.errors import FogbankError, InvalidArgumentException
from fogbank.core.store import ControlPlaneStore
from fogbank.firehose.buffer import RecordBuffer
from fogbank.streams.consumer import Consumer
from fogbank.streams.leases import AT_TIMESTAMP, LeaseLost

if TYPE_CHECKING:
    from fogbank.app import Fogbank
    from fogbank.streams.engine import Streams

DIRECT_PUT = "DirectPut"
KINESIS_SOURCE = "KinesisStreamAsSource"
STREAM_TYPES = (DIRECT_PUT, KINESIS_SOURCE)
# The consumer library's lease duration: a worker that stops renewing for this long
# (a killed process) loses its shards to the other processes.
LEASE_SECONDS = 10.0
# How often an idle shard is read again, as Firehose polls its source about once a second.
READ_INTERVAL_SECONDS = 1.0

log = logging.getLogger("fogbank.firehose")


@dataclass(frozen=True)
class KinesisSource:
    """KinesisStreamSourceConfiguration: the stream read and the role to read it."""

    stream_arn: str
    role_arn: str

    @classmethod
    def parse(cls, config: Mapping[str, Any] | None, streams: Streams) -> KinesisSource:
        """Check the configuration as CreateDeliveryStream does: both ARNs given, and the
        stream there."""
        if not config:
            raise InvalidArgumentException(
                "KinesisStreamSourceConfiguration is required when DeliveryStreamType is "
                "KinesisStreamAsSource: give the KinesisStreamARN and a RoleARN."
            )
        for key in ("KinesisStreamARN", "RoleARN"):
            if not config.get(key):
                raise InvalidArgumentException(
                    f"KinesisStreamSourceConfiguration.{key} is required."
                )
        source = cls(str(config["KinesisStreamARN"]), str(config["RoleARN"]))
        name = source.stream_name
        if streams.arn(name) != source.stream_arn or name not in streams.stream_names():
            raise InvalidArgumentException(
                f"Stream {name} under account {streams.account_id} not found: "
                f"KinesisStreamARN {source.stream_arn} names no stream of this account and "
                "region. Create the Kinesis stream first."
            )
        return source

    @property
    def stream_name(self) -> str:
        head, _, name = self.stream_arn.partition(":stream/")
        if not head.startswith("arn:") or ":kinesis:" not in head or not name or "/" in name:
            raise InvalidArgumentException(
                f"KinesisStreamARN {self.stream_arn!r} does not name a stream: it must look "
                "like arn:aws:kinesis:<region>:<account>:stream/<name>."
            )
        return name

    def body(self, start_ms: int) -> dict[str, Any]:
        return {"KinesisStreamARN": self.stream_arn, "RoleARN": self.role_arn, "start_ms": start_ms}


def describe_source(body: Mapping[str, Any]) -> dict[str, Any]:
    """KinesisStreamSourceDescription from what the control plane keeps."""
    return {
        "KinesisStreamARN": body["KinesisStreamARN"],
        "RoleARN": body["RoleARN"],
        "DeliveryStartTimestamp": datetime.fromtimestamp(int(body["start_ms"]) / 1000, UTC),
    }


@dataclass
class _Hub:
    """What :class:`Consumer` uses of a Fogbank: the streams engine, clock and store."""

    streams: Streams
    clock: Clock
    store: ControlPlaneStore


@dataclass
class _Reader:
    application: str
    consumer: Consumer


class SourceReaders:
    """This process's consumer-library workers, one per stream-sourced delivery stream."""

    def __init__(
        self, streams: Callable[[], Streams], store: ControlPlaneStore, clock: Clock
    ) -> None:
        self._streams = streams
        self._store = store
        self._clock = clock
        self._readers: dict[str, _Reader] = {}

    def pump(
        self, name: str, application: str, source: Mapping[str, Any], buffer: RecordBuffer
    ) -> int:
        """One turn of ``name``'s worker: every batch due is appended to ``buffer``, then
        checkpointed. How many records were buffered."""
        reader = self._readers.get(name)
        if reader is not None and reader.application != application:
            self.drop(name)  # the delivery stream was deleted and made again
            reader = None
        if reader is None:
            reader = _Reader(application, self._consumer(application, source))
            self._readers[name] = reader
        buffered = 0
        for batch in reader.consumer.poll():
            if batch.records:
                buffer.append(
                    [record.data for record in batch.records], self._now_ms(), max_bytes=None
                )
                buffered += len(batch.records)
            # Only now, with the records fsync'd in the buffer, does the stream move on.
            with contextlib.suppress(LeaseLost):
                batch.checkpoint()
        return buffered

    def drop(self, name: str) -> None:
        """Stop reading for ``name``, releasing its leases (checkpoints stay)."""
        reader = self._readers.pop(name, None)
        if reader is not None:
            with contextlib.suppress(FogbankError):
                reader.consumer.close()

    def names(self) -> list[str]:
        return list(self._readers)

    def close(self) -> None:
        for name in list(self._readers):
            self.drop(name)

    def _consumer(self, application: str, source: Mapping[str, Any]) -> Consumer:
        hub = _Hub(self._streams(), self._clock, self._store)
        stream = KinesisSource(str(source["KinesisStreamARN"]), str(source["RoleARN"]))
        return Consumer(
            cast("Fogbank", hub),
            stream.stream_name,
            application,
            initial_position=AT_TIMESTAMP,
            timestamp=datetime.fromtimestamp(int(source["start_ms"]) / 1000, UTC),
            lease_duration=LEASE_SECONDS,
            idle_time_between_reads=READ_INTERVAL_SECONDS,
            auto_checkpoint=False,
        )

    def _now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)
