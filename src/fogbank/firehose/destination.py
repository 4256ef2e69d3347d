"""The S3 destination of a delivery stream: its settings, checked once, and described back.

:class:`S3Destination` is read from an ``ExtendedS3DestinationConfiguration`` or an
``S3DestinationConfiguration`` (the AWS shapes, as boto3 takes them), merged with an
``...Update`` by UpdateDestination, kept in the control plane as that shape, and
described with AWS's defaults filled in (BufferingHints 5 MiB / 300 s, UNCOMPRESSED,
NoEncryption; 128 MiB with format conversion, 64 MiB with dynamic partitioning). The
Lambda processor, format conversion and dynamic partitioning are checked by their own
modules. What fogbank does not do yet is refused by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fogbank.core.errors import InvalidArgumentException
from fogbank.firehose.compression import EXTENSIONS, FORMATS
from fogbank.firehose.conversion import FormatConversion
from fogbank.firehose.partitioning import DEFAULT_RETRY_SECONDS, MIN_SIZE_MBS, Partitioning
from fogbank.firehose.prefixes import check_prefixes
from fogbank.firehose.transform import LambdaProcessor

DESTINATION_ID = "destinationId-000000000001"
DEFAULT_SIZE_MBS = 5
DEFAULT_INTERVAL_SECONDS = 300
CONVERSION_SIZE_MBS = 128
NOT_YET = "not supported by fogbank yet"


@dataclass(frozen=True)
class S3Destination:
    """Where and how a delivery stream writes objects into the lake."""

    config: dict[str, Any]
    """The destination's settings in the ExtendedS3DestinationConfiguration shape."""
    extended: bool
    """Created or last updated as an extended S3 destination."""

    @classmethod
    def parse(cls, config: Mapping[str, Any], *, extended: bool) -> S3Destination:
        """Check a destination configuration once, as CreateDeliveryStream does."""
        settings = dict(config)
        for key in ("RoleARN", "BucketARN"):
            if not settings.get(key):
                raise InvalidArgumentException(f"{key} is required for an S3 destination.")
        bucket_of(str(settings["BucketARN"]))
        hints = settings.get("BufferingHints")
        if hints is not None and (("SizeInMBs" in hints) != ("IntervalInSeconds" in hints)):
            raise InvalidArgumentException(
                "BufferingHints takes SizeInMBs and IntervalInSeconds together: give both, "
                "or neither for the defaults (5 MiB, 300 seconds)."
            )
        compression = settings.get("CompressionFormat", "UNCOMPRESSED")
        if compression not in FORMATS:
            raise InvalidArgumentException(
                f"CompressionFormat {compression!r} is not one of {', '.join(FORMATS)}."
            )
        dynamic = bool((settings.get("DynamicPartitioningConfiguration") or {}).get("Enabled"))
        if dynamic and not extended:
            raise InvalidArgumentException(
                "DynamicPartitioningConfiguration needs an ExtendedS3DestinationConfiguration."
            )
        check_prefixes(
            settings.get("Prefix"), settings.get("ErrorOutputPrefix"), dynamic_partitioning=dynamic
        )
        _check_processing(settings.get("ProcessingConfiguration"))
        FormatConversion.parse(settings)
        Partitioning.parse(settings)
        if settings.get("S3BackupMode", "Disabled") != "Disabled":
            raise InvalidArgumentException(
                f"S3BackupMode Enabled (source record backup) is {NOT_YET}: leave it Disabled."
            )
        zone = settings.get("CustomTimeZone")
        if zone:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise InvalidArgumentException(
                    f"CustomTimeZone {zone!r} is not a time zone; use a name such as "
                    "'Asia/Tokyo', or leave it out for UTC."
                ) from None
        return cls(settings, extended)

    def updated(self, update: Mapping[str, Any], *, extended: bool) -> S3Destination:
        """UpdateDestination: the given fields replace the current ones."""
        merged = {**self.config, **update}
        return S3Destination.parse(merged, extended=extended or self.extended)

    @property
    def bucket(self) -> str:
        return bucket_of(str(self.config["BucketARN"]))

    @property
    def conversion(self) -> FormatConversion | None:
        """The record format conversion, when enabled."""
        return FormatConversion.parse(self.config)

    @cached_property
    def partitioning(self) -> Partitioning | None:
        """Dynamic partitioning, when enabled (its jq program compiled once per object)."""
        return Partitioning.parse(self.config)

    @property
    def dynamic_partitioning(self) -> bool:
        return bool((self.config.get("DynamicPartitioningConfiguration") or {}).get("Enabled"))

    @property
    def size_mbs(self) -> int:
        """SizeInMBs: 5 by default, 128 with format conversion, 64 with dynamic
        partitioning."""
        hints = self.config.get("BufferingHints") or {}
        default = DEFAULT_SIZE_MBS
        if self.dynamic_partitioning:
            default = MIN_SIZE_MBS
        if self.conversion is not None:
            default = CONVERSION_SIZE_MBS
        return int(hints.get("SizeInMBs", default))

    @property
    def size_bytes(self) -> int:
        return self.size_mbs * 1024 * 1024

    @property
    def interval_ms(self) -> int:
        hints = self.config.get("BufferingHints") or {}
        return int(hints.get("IntervalInSeconds", DEFAULT_INTERVAL_SECONDS)) * 1000

    @property
    def compression(self) -> str:
        return str(self.config.get("CompressionFormat", "UNCOMPRESSED"))

    @property
    def extension(self) -> str:
        """FileExtension when set, else the compression's own."""
        custom = self.config.get("FileExtension")
        if custom:
            return str(custom)
        conversion = self.conversion
        return conversion.extension if conversion is not None else EXTENSIONS[self.compression]

    @property
    def prefix(self) -> str:
        return str(self.config.get("Prefix") or "")

    @property
    def time_zone(self) -> ZoneInfo:
        return ZoneInfo(self.config.get("CustomTimeZone") or "UTC")

    @property
    def append_delimiter(self) -> bool:
        processing = self.config.get("ProcessingConfiguration") or {}
        return bool(processing.get("Enabled", True)) and any(
            p.get("Type") == "AppendDelimiterToRecord" for p in processing.get("Processors", [])
        )

    @property
    def transform(self) -> LambdaProcessor | None:
        """The Lambda processor, when processing is enabled and has one."""
        processing = self.config.get("ProcessingConfiguration") or {}
        if not processing.get("Enabled", True):
            return None
        for processor in processing.get("Processors", []):
            if processor.get("Type") == "Lambda":
                return LambdaProcessor.parse(processor)
        return None

    def describe(self) -> dict[str, Any]:
        """ExtendedS3DestinationDescription: the configuration with AWS's defaults."""
        out = dict(self.config)
        out.setdefault(
            "BufferingHints",
            {"SizeInMBs": self.size_mbs, "IntervalInSeconds": DEFAULT_INTERVAL_SECONDS},
        )
        out.setdefault("CompressionFormat", "UNCOMPRESSED")
        out.setdefault("EncryptionConfiguration", {"NoEncryptionConfig": "NoEncryption"})
        out.setdefault("CloudWatchLoggingOptions", {"Enabled": False})
        out.setdefault("S3BackupMode", "Disabled")
        partitioning = out.get("DynamicPartitioningConfiguration")
        if partitioning:
            out["DynamicPartitioningConfiguration"] = {
                "RetryOptions": {"DurationInSeconds": DEFAULT_RETRY_SECONDS},
                **partitioning,
            }
        return out

    def describe_plain(self) -> dict[str, Any]:
        """S3DestinationDescription: the members that shape has."""
        full = self.describe()
        return {key: full[key] for key in _PLAIN_MEMBERS if key in full}


_PLAIN_MEMBERS = (
    "RoleARN",
    "BucketARN",
    "Prefix",
    "ErrorOutputPrefix",
    "BufferingHints",
    "CompressionFormat",
    "EncryptionConfiguration",
    "CloudWatchLoggingOptions",
)


def bucket_of(bucket_arn: str) -> str:
    """The bucket a BucketARN names (``arn:aws:s3:::<bucket>``)."""
    head, _, bucket = bucket_arn.rpartition(":::")
    if not head.startswith("arn:") or not head.endswith(":s3") or not bucket or "/" in bucket:
        raise InvalidArgumentException(
            f"BucketARN {bucket_arn!r} does not name a bucket: it must look like "
            "arn:aws:s3:::<bucket-name>."
        )
    return bucket


def _check_processing(processing: Mapping[str, Any] | None) -> None:
    if not processing or not processing.get("Enabled", True):
        return
    lambdas = 0
    for processor in processing.get("Processors", []):
        kind = processor.get("Type")
        if kind == "Lambda":
            LambdaProcessor.parse(processor)
            lambdas += 1
        elif kind not in ("AppendDelimiterToRecord", "MetadataExtraction"):
            raise InvalidArgumentException(
                f"Processor type {kind} is {NOT_YET}; of ProcessingConfiguration, fogbank "
                "runs Lambda, MetadataExtraction and AppendDelimiterToRecord."
            )
    if lambdas > 1:
        raise InvalidArgumentException(
            "ProcessingConfiguration takes at most one Lambda processor; combine the "
            "functions into one."
        )
