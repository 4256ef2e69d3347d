"""The Redshift destination of a delivery stream: its settings, and the COPYs that load
each staged object into the warehouse (:mod:`fogbank.firehose.warehouse`).

:class:`RedshiftDestination` is read from a ``RedshiftDestinationConfiguration`` and
merged with a ``RedshiftDestinationUpdate``. Its S3Configuration is the intermediate
bucket, an :class:`~fogbank.firehose.destination.S3Destination` (with the stream's
ProcessingConfiguration, so the Lambda processor applies as for S3) that the engine
delivers into as it does for an S3 destination. CompressionFormat Snappy and ZIP are
refused, as AWS refuses them (Redshift's COPY cannot read them); so is HADOOP_SNAPPY,
for the same reason. S3BackupMode Enabled backs the source records (before the Lambda
processor) up to S3BackupConfiguration, one object per staged object; once Enabled it
cannot be turned off, as AWS documents. The Password is accepted and never kept nor described: the
warehouse is a local DuckDB file with no users. CloudWatchLoggingOptions and
SecretsManagerConfiguration are kept and described, nothing more.

:class:`RedshiftLoader` does what Firehose does after each staged object, as AWS
documents it: a manifest naming the object goes under ``<Prefix>manifests/<time
folders>/``, and ``COPY <DataTableName> (<DataTableColumns>) FROM 's3://<bucket>/
<manifest>' ... MANIFEST <CopyOptions>`` runs. A COPY that fails is retried (backoff 1, 2,
4 ... up to 60 seconds, by the injected clock) until RetryOptions.DurationInSeconds
(default 3600, 0: no retry) has passed since its first try; then Firehose gives up that
batch, writes its manifest under ``<Prefix>errors/manifests/<time folders>/`` for a
manual backfill, and goes on. The COPYs of a stream run in staging order: one that waits
for its retry holds the others back. Metrics, as AWS names them:
DeliveryToRedshift.Success (1 per COPY that loaded, 0 per one that failed),
DeliveryToRedshift.Records / .Bytes, DeliveryToRedshift.DataFreshness.
"""

from __future__ import annotations

import json
import logging
import posixpath
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fogbank.core.clock import Clock
from fogbank.core.errors import InvalidArgumentException
from fogbank.firehose.buffer import Claim, PendingCopy, RecordBuffer
from fogbank.firehose.compression import compress
from fogbank.firehose.destination import S3Destination
from fogbank.firehose.metrics import Metrics
from fogbank.firehose.prefixes import object_name, render_prefix
from fogbank.firehose.warehouse import (
    CopyFailed,
    CopyOptions,
    Warehouse,
    check_identifiers,
    parse_copy_options,
    parse_jdbc_url,
    warehouse_path,
)
from fogbank.lake.engine import Lake

DEFAULT_RETRY_SECONDS = 3600
MAX_RETRY_SECONDS = 7200
REFUSED_COMPRESSION = ("Snappy", "ZIP", "HADOOP_SNAPPY")
_MAX_BACKOFF_MS = 60_000
_COPY_LEASE_MS = 5 * 60 * 1000
# What the stream keeps of the configuration beside its S3Configuration (Password: never).
_KEPT = (
    "RoleARN",
    "ClusterJDBCURL",
    "CopyCommand",
    "Username",
    "RetryOptions",
    "S3BackupMode",
    "S3BackupConfiguration",
    "CloudWatchLoggingOptions",
    "SecretsManagerConfiguration",
)

log = logging.getLogger("fogbank.firehose")


@dataclass(frozen=True)
class RedshiftDestination:
    """Where a delivery stream COPYs its staged objects."""

    config: dict[str, Any]
    """The RedshiftDestinationConfiguration without S3Configuration,
    ProcessingConfiguration and Password."""
    staging: S3Destination
    """The intermediate S3 location, with the ProcessingConfiguration."""

    @classmethod
    def parse(cls, given: Mapping[str, Any]) -> RedshiftDestination:
        """Check a RedshiftDestinationConfiguration once, as CreateDeliveryStream does."""
        for key in ("RoleARN", "ClusterJDBCURL", "CopyCommand", "S3Configuration"):
            if not given.get(key):
                raise InvalidArgumentException(
                    f"{key} is required in RedshiftDestinationConfiguration."
                )
        parse_jdbc_url(str(given["ClusterJDBCURL"]))
        command = dict(given["CopyCommand"])
        if not command.get("DataTableName"):
            raise InvalidArgumentException(
                "CopyCommand.DataTableName is required: name the table to COPY into."
            )
        check_identifiers(str(command["DataTableName"]), command.get("DataTableColumns"))
        parse_copy_options(command.get("CopyOptions"))
        retry = (given.get("RetryOptions") or {}).get("DurationInSeconds", DEFAULT_RETRY_SECONDS)
        if not 0 <= int(retry) <= MAX_RETRY_SECONDS:
            raise InvalidArgumentException(
                f"RetryOptions.DurationInSeconds is {retry}; it must be 0 to "
                f"{MAX_RETRY_SECONDS} seconds (default {DEFAULT_RETRY_SECONDS})."
            )
        backup_mode = given.get("S3BackupMode", "Disabled")
        if backup_mode not in ("Disabled", "Enabled"):
            raise InvalidArgumentException(
                f"S3BackupMode {backup_mode!r} is not Disabled or Enabled."
            )
        if backup_mode == "Enabled":
            if not given.get("S3BackupConfiguration"):
                raise InvalidArgumentException(
                    "S3BackupMode Enabled needs S3BackupConfiguration: the bucket the source "
                    "records are backed up to."
                )
            _check_compression(
                S3Destination.parse(dict(given["S3BackupConfiguration"]), extended=False),
                "S3BackupConfiguration",
            )
        s3 = dict(given["S3Configuration"])
        processing = given.get("ProcessingConfiguration")
        if processing is not None:
            s3["ProcessingConfiguration"] = processing
        staging = S3Destination.parse(s3, extended=False)
        _check_compression(staging, "S3Configuration")
        config = {key: given[key] for key in _KEPT if key in given}
        return cls(config, staging)

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> RedshiftDestination | None:
        """The stream's Redshift destination as the control plane keeps it, if it has one."""
        kept = body.get("redshift")
        if kept is None:
            return None
        return cls(dict(kept), S3Destination(dict(body["destination"]), False))

    def updated(self, update: Mapping[str, Any]) -> RedshiftDestination:
        """UpdateDestination: the given fields replace the current ones; S3Update merges
        into the S3Configuration."""
        s3 = {**self.staging.config, **(update.get("S3Update") or {})}
        s3.pop("ProcessingConfiguration", None)
        merged: dict[str, Any] = {**self.config, "S3Configuration": s3}
        if "ProcessingConfiguration" in self.staging.config:
            merged["ProcessingConfiguration"] = self.staging.config["ProcessingConfiguration"]
        if self.backup is not None and update.get("S3BackupMode", "Enabled") != "Enabled":
            raise InvalidArgumentException(
                "S3BackupMode cannot be turned off once Enabled (AWS's rule for a Redshift "
                "destination's source record backup)."
            )
        for key, value in update.items():
            if key == "S3Update":
                continue
            if key == "S3BackupUpdate":
                merged["S3BackupConfiguration"] = {
                    **(self.config.get("S3BackupConfiguration") or {}),
                    **value,
                }
            elif key == "CopyCommand":
                merged["CopyCommand"] = {**self.config.get("CopyCommand", {}), **value}
            else:
                merged[key] = value
        return RedshiftDestination.parse(merged)

    @property
    def backup(self) -> S3Destination | None:
        """Where source records are backed up (S3BackupMode Enabled), else None."""
        if self.config.get("S3BackupMode") != "Enabled":
            return None
        return S3Destination(dict(self.config["S3BackupConfiguration"]), False)

    @property
    def jdbc_url(self) -> str:
        return str(self.config["ClusterJDBCURL"])

    @property
    def table(self) -> str:
        return str(self.config["CopyCommand"]["DataTableName"])

    @property
    def columns(self) -> list[str]:
        command = self.config["CopyCommand"]
        return check_identifiers(self.table, command.get("DataTableColumns"))

    @property
    def options(self) -> CopyOptions:
        return parse_copy_options(self.config["CopyCommand"].get("CopyOptions"))

    @property
    def retry_ms(self) -> int:
        retry = (self.config.get("RetryOptions") or {}).get(
            "DurationInSeconds", DEFAULT_RETRY_SECONDS
        )
        return int(retry) * 1000

    def copy_sql(self, manifest_url: str) -> str:
        """The COPY Firehose issues for one manifest (for logs and error messages)."""
        command = self.config["CopyCommand"]
        columns = command.get("DataTableColumns")
        target = f"{self.table} ({columns})" if columns else self.table
        options = (command.get("CopyOptions") or "").strip()
        return (
            f"COPY {target} FROM '{manifest_url}' CREDENTIALS 'aws_iam_role="
            f"{self.config['RoleARN']}' MANIFEST {options}"
        ).strip()

    def describe(self) -> dict[str, Any]:
        """RedshiftDestinationDescription: no Password, AWS's defaults filled in."""
        out: dict[str, Any] = {
            "RoleARN": self.config["RoleARN"],
            "ClusterJDBCURL": self.config["ClusterJDBCURL"],
            "CopyCommand": dict(self.config["CopyCommand"]),
        }
        if "Username" in self.config:
            out["Username"] = self.config["Username"]
        out["RetryOptions"] = {"DurationInSeconds": self.retry_ms // 1000}
        out["S3DestinationDescription"] = self.staging.describe_plain()
        processing = self.staging.config.get("ProcessingConfiguration")
        if processing is not None:
            out["ProcessingConfiguration"] = processing
        out["S3BackupMode"] = self.config.get("S3BackupMode", "Disabled")
        if self.backup is not None:
            out["S3BackupDescription"] = self.backup.describe_plain()
        out["CloudWatchLoggingOptions"] = self.config.get(
            "CloudWatchLoggingOptions", {"Enabled": False}
        )
        if "SecretsManagerConfiguration" in self.config:
            out["SecretsManagerConfiguration"] = self.config["SecretsManagerConfiguration"]
        return out


def _check_compression(s3: S3Destination, field: str) -> None:
    if s3.compression in REFUSED_COMPRESSION:
        raise InvalidArgumentException(
            f"CompressionFormat {s3.compression} is not supported for a Redshift "
            f"destination's {field}: Redshift's COPY cannot read it. Use UNCOMPRESSED, or "
            "GZIP with GZIP in CopyOptions."
        )


@dataclass(frozen=True)
class CopyOutcome:
    """One COPY a delivery stream ran: loaded, or failed (to be retried, or given up)."""

    manifest: str
    """The manifest's key in the staging bucket."""
    rows: int = 0
    skipped: int = 0
    """Records skipped under MAXERROR."""
    error: str | None = None
    """Why the COPY failed (None: it loaded)."""
    error_key: str | None = None
    """Where the manifest went when the COPY was given up."""


class RedshiftLoader:
    """Stages manifests and runs the queued COPYs of Redshift destinations."""

    def __init__(self, lake: Lake, root: Path, clock: Clock, metrics: Metrics) -> None:
        self.lake = lake
        self.root = root
        self.clock = clock
        self.metrics = metrics

    def warehouse(self, jdbc_url: str) -> Warehouse:
        """The warehouse a ClusterJDBCURL names."""
        return Warehouse(warehouse_path(self.root, jdbc_url))

    def stage(
        self, name: str, version: int, destination: RedshiftDestination, key: str, claim: Claim
    ) -> PendingCopy:
        """The manifest of one staged object, written (and, with S3BackupMode Enabled, the
        source records backed up); its COPY, to queue."""
        staging = destination.staging
        when = datetime.fromtimestamp(claim.first_ms / 1000, tz=UTC).astimezone(staging.time_zone)
        backup = destination.backup
        if backup is not None:
            # The records as they arrived, before the Lambda processor, one object per
            # staged object, packed as the backup's CompressionFormat says.
            file_name = object_name(name, version, when, backup.extension)
            self.lake.put_object(
                backup.bucket,
                render_prefix(backup.prefix, "Prefix", when) + file_name,
                compress(b"".join(claim.records), backup.compression, file_name),
                content_type="application/octet-stream",
            )
        base = posixpath.basename(key)
        if staging.extension and base.endswith(staging.extension):
            base = base[: -len(staging.extension)]
        manifest = render_prefix(staging.prefix + "manifests/", "Prefix", when) + base
        error_key = render_prefix(staging.prefix + "errors/manifests/", "Prefix", when) + base
        body = {"entries": [{"url": f"s3://{staging.bucket}/{key}", "mandatory": True}]}
        self.lake.put_object(
            staging.bucket, manifest, json.dumps(body).encode(), content_type="application/json"
        )
        oldest = min(claim.arrivals) if claim.arrivals else claim.first_ms
        return PendingCopy(0, manifest, error_key, len(claim.records), oldest)

    def run(
        self, name: str, destination: RedshiftDestination, buffer: RecordBuffer
    ) -> list[CopyOutcome]:
        """Run the stream's due COPYs, in order, until one fails or none is due."""
        outcomes: list[CopyOutcome] = []
        while True:
            now = self._now_ms()
            copy = buffer.claim_copy(uuid.uuid4().hex, now, lease_ms=_COPY_LEASE_MS)
            if copy is None:
                return outcomes
            outcome = self._copy(name, destination, copy, buffer)
            outcomes.append(outcome)
            if outcome.error is not None and outcome.error_key is None:
                return outcomes  # waits for its retry; the COPYs behind it wait too

    def _copy(
        self, name: str, destination: RedshiftDestination, copy: PendingCopy, buffer: RecordBuffer
    ) -> CopyOutcome:
        bucket = destination.staging.bucket
        url = f"s3://{bucket}/{copy.manifest}"
        started = self._now_ms()
        try:
            loaded = self.warehouse(destination.jdbc_url).copy(
                url,
                destination.table,
                destination.columns,
                destination.options,
                self.lake.read,
                now=self.clock.now(),
            )
        except (CopyFailed, InvalidArgumentException) as exc:
            return self._failed(name, destination, copy, buffer, str(exc), started)
        buffer.copy_done(copy)
        now = self._now_ms()
        if not loaded.already:
            self.metrics.copied(
                name, loaded.rows, loaded.bytes, freshness_ms=max(0, now - copy.oldest_ms)
            )
        return CopyOutcome(copy.manifest, loaded.rows, loaded.skipped)

    def _failed(
        self,
        name: str,
        destination: RedshiftDestination,
        copy: PendingCopy,
        buffer: RecordBuffer,
        reason: str,
        started: int,
    ) -> CopyOutcome:
        self.metrics.copy_failed(name)
        now = self._now_ms()
        first = copy.first_try_ms if copy.first_try_ms is not None else started
        deadline = first + destination.retry_ms
        if now >= deadline:
            # Given up: the manifest goes to errors/ for a manual COPY, as AWS does.
            body = self.lake.read(f"s3://{destination.staging.bucket}/{copy.manifest}")
            self.lake.put_object(
                destination.staging.bucket,
                copy.error_key,
                body,
                content_type="application/json",
            )
            buffer.copy_done(copy)
            log.warning(
                "Firehose %s gave up %s after %d tries (%s); its manifest is at %s",
                name,
                destination.copy_sql(f"s3://{destination.staging.bucket}/{copy.manifest}"),
                copy.attempts + 1,
                reason,
                copy.error_key,
            )
            return CopyOutcome(copy.manifest, error=reason, error_key=copy.error_key)
        backoff = min(1000 * 2**copy.attempts, _MAX_BACKOFF_MS)
        buffer.copy_failed(copy, first, min(now + backoff, deadline))
        log.warning("Firehose %s COPY failed (%s); retrying", name, reason)
        return CopyOutcome(copy.manifest, error=reason)

    def _now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)
