"""What the Firehose engine returns: frozen results shaped like its operations' outputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fogbank.firehose.destination import S3Destination

if TYPE_CHECKING:
    from fogbank.firehose.redshift import RedshiftDestination


@dataclass(frozen=True)
class Encryption:
    """DeliveryStreamEncryptionConfiguration: server-side encryption of the buffer."""

    status: str
    key_type: str | None = None
    key_arn: str | None = None


@dataclass(frozen=True)
class DeliveryStream:
    """DescribeDeliveryStream's DeliveryStreamDescription."""

    name: str
    arn: str
    status: str
    type: str
    version_id: str
    created: datetime
    last_updated: datetime | None
    destination: S3Destination
    encryption: Encryption
    source: dict[str, Any] | None = None
    """A KinesisStreamAsSource stream's source, as the control plane keeps it."""
    redshift: RedshiftDestination | None = None
    """A Redshift destination (``destination`` is then its S3Configuration)."""


@dataclass(frozen=True)
class StreamNames:
    """ListDeliveryStreams: one page of names and whether more follow."""

    names: tuple[str, ...]
    has_more: bool


@dataclass(frozen=True)
class PutResult:
    """PutRecord's answer."""

    record_id: str
    encrypted: bool


@dataclass(frozen=True)
class BatchEntry:
    """One record of PutRecordBatch: a RecordId, or an ErrorCode and ErrorMessage."""

    record_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class BatchResult:
    failed_put_count: int
    encrypted: bool
    entries: tuple[BatchEntry, ...]


@dataclass(frozen=True)
class Delivery:
    """One object written into the lake."""

    bucket: str
    key: str
    """The object's key; empty where no record made it into one (all failed)."""
    records: int
    errors: int = 0
    """Records written to the error output instead."""
    error_keys: tuple[str, ...] = ()
    dropped: int = 0
    """Records the transform dropped."""
