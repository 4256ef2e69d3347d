"""Writing one delivery into the lake: the records a buffer claim took, through the
Lambda processor (:mod:`fogbank.firehose.transform`) and record format conversion
(:mod:`fogbank.firehose.conversion`), into one object under the evaluated Prefix; the
records that fail either step go to the error output (:mod:`fogbank.firehose.errors`)
first, so a crash after them delivers them again rather than losing them.

With dynamic partitioning a delivery is two steps: :meth:`ObjectWriter.partition` runs
the Lambda processor and works out each record's partition (the records go back into
the buffer, partitioned); then :meth:`ObjectWriter.write` writes one partition's claim
to its prefix, or a claim of records that failed partitioning to ``partitioning-failed``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from fogbank.catalog.engine import Catalog
from fogbank.core.clock import Clock
from fogbank.core.errors import InvalidArgumentException
from fogbank.firehose.buffer import Claim
from fogbank.firehose.compression import compress
from fogbank.firehose.conversion import (
    ERROR_OUTPUT_TYPE,
    MALFORMED,
    FormatConversion,
    RowReader,
    SchemaMismatch,
)
from fogbank.firehose.destination import S3Destination
from fogbank.firehose.errors import (
    FailedRecord,
    conversion_failure,
    error_body,
    error_key,
    partitioning_failure,
    processing_failure,
)
from fogbank.firehose.model import Delivery
from fogbank.firehose.partitioning import (
    ERROR_OUTPUT_TYPE as PARTITIONING_FAILED,
)
from fogbank.firehose.partitioning import (
    EXTRACTION_FAILED,
    FAILED_PART,
    PARTITIONS_EXCEEDED,
    PartitioningFailed,
)
from fogbank.firehose.prefixes import object_name, render_prefix
from fogbank.firehose.transform import ERROR_OUTPUT_TYPE as PROCESSING_FAILED
from fogbank.lake.engine import Lake


class ObjectWriter:
    """Writes deliveries into the lake, reading conversion schemas from the catalog."""

    def __init__(
        self, lake: Lake, catalog: Catalog, clock: Clock, region: str, account_id: str
    ) -> None:
        self.lake = lake
        self.catalog = catalog
        self.clock = clock
        self.region = region
        self.account_id = account_id

    def partition(
        self,
        stream_arn: str,
        destination: S3Destination,
        claim: Claim,
        *,
        name: str,
        version: int,
        active: set[str],
        max_partitions: int | None,
    ) -> Partitioned:
        """Step one of a partitioned delivery: the claimed records through the Lambda
        processor (its failures to the error output now), then each one's partition; a
        record that opens a partition past ``max_partitions`` fails partitioning."""
        partitioning = destination.partitioning
        assert partitioning is not None
        records, arrivals = list(claim.records), list(claim.arrivals)
        lambda_keys: list[dict[str, str]] = [{} for _ in records]
        out = Partitioned()
        transform = destination.transform
        if transform is not None:
            outcome = transform.run(records, arrivals, stream_arn=stream_arn, region=self.region)
            records, arrivals = outcome.records, outcome.arrivals
            lambda_keys, out.dropped = outcome.partition_keys, outcome.dropped
            out.errors = len(outcome.failures)
            if outcome.failures:
                now = self._now_ms()
                failed = [
                    processing_failure(
                        f.data, f.arrival_ms, now, f.attempts, f.code, f.message, transform.arn
                    )
                    for f in outcome.failures
                ]
                when = _datetime(claim.first_ms).astimezone(destination.time_zone)
                out.error_keys.append(
                    self._errors(name, version, destination, when, PROCESSING_FAILED, failed)
                )
        started = time.perf_counter()
        for data, arrival, given in zip(records, arrivals, lambda_keys, strict=True):
            error: dict[str, str] | None = None
            try:
                keys = partitioning.partition(data, given)
                when = _datetime(arrival).astimezone(destination.time_zone)
                render_prefix(destination.prefix, "Prefix", when, keys=keys)
            except PartitioningFailed as exc:
                error = {"errorCode": EXTRACTION_FAILED, "errorMessage": _capital(str(exc))}
            except InvalidArgumentException as exc:  # the evaluated prefix is too long
                error = {"errorCode": EXTRACTION_FAILED, "errorMessage": exc.message}
            if error is None:
                part = json.dumps(keys, sort_keys=True, separators=(",", ":"))
                full = max_partitions is not None and len(active) >= max_partitions
                if part not in active and full:
                    out.exceeded += 1
                    error = {
                        "errorCode": PARTITIONS_EXCEEDED,
                        "errorMessage": f"The stream has {len(active)} active partitions, "
                        "the most it may have; this record would open another.",
                    }
                if error is None:
                    active.add(part)
                    out.records.append((data, arrival, part, None))
                    continue
            out.records.append((data, arrival, FAILED_PART, json.dumps(error)))
        out.jq_ms = (time.perf_counter() - started) * 1000
        return out

    def write(
        self, name: str, stream_arn: str, version: int, destination: S3Destination, claim: Claim
    ) -> Delivery:
        """The claimed records through the transform and the conversion into one object;
        the records that fail, to the error output. A partitioned claim is already
        transformed: its records go to the prefix evaluated with its keys."""
        when = _datetime(claim.first_ms).astimezone(destination.time_zone)
        if claim.part == FAILED_PART:
            return self._partitioning_failed(name, version, destination, claim, when)
        keys = json.loads(claim.part) if claim.part is not None else None
        try:
            prefix = render_prefix(destination.prefix, "Prefix", when, keys=keys)
        except KeyError as exc:  # UpdateDestination changed the Prefix's keys meanwhile
            reason = json.dumps(
                {
                    "errorCode": EXTRACTION_FAILED,
                    "errorMessage": f"The Prefix now uses the partition key {exc.args[0]!r}, "
                    "which this record was not partitioned by (the Prefix was updated).",
                }
            )
            stale = replace(claim, errors=(reason,) * len(claim.records))
            return self._partitioning_failed(name, version, destination, stale, when)
        file_name = object_name(name, version, when, destination.extension)
        records, arrivals = list(claim.records), list(claim.arrivals)
        error_keys: list[str] = []
        transform = destination.transform if claim.part is None else None
        dropped = errors = 0
        if transform is not None:
            outcome = transform.run(records, arrivals, stream_arn=stream_arn, region=self.region)
            records, arrivals, dropped = outcome.records, outcome.arrivals, outcome.dropped
            errors = len(outcome.failures)
            if outcome.failures:
                now = self._now_ms()
                failed = [
                    processing_failure(
                        f.data, f.arrival_ms, now, f.attempts, f.code, f.message, transform.arn
                    )
                    for f in outcome.failures
                ]
                error_keys.append(
                    self._errors(name, version, destination, when, PROCESSING_FAILED, failed)
                )
        conversion = destination.conversion
        if conversion is not None:
            made = self._converted(
                name, version, destination, conversion, records, arrivals, when, keys
            )
            return replace(
                made,
                errors=made.errors + errors,
                error_keys=(*error_keys, *made.error_keys),
                dropped=dropped,
            )
        if not records:
            return Delivery(destination.bucket, "", 0, errors, tuple(error_keys), dropped)
        if destination.append_delimiter:
            body = b"".join(record + b"\n" for record in records)
        else:
            body = b"".join(records)
        packed = compress(body, destination.compression, file_name.removesuffix(".zip"))
        key = prefix + file_name
        self.lake.put_object(
            destination.bucket, key, packed, content_type="application/octet-stream"
        )
        return Delivery(destination.bucket, key, len(records), errors, tuple(error_keys), dropped)

    def _converted(
        self,
        name: str,
        version: int,
        destination: S3Destination,
        conversion: FormatConversion,
        records: Sequence[bytes],
        arrivals: Sequence[int],
        when: datetime,
        keys: dict[str, dict[str, str]] | None = None,
    ) -> Delivery:
        """One Parquet or ORC object of the records that fit the table's schema; the
        others, whole, to the format-conversion-failed error output."""
        now = self._now_ms()
        table_ref = conversion.catalog_table(self.region, self.account_id)
        failures: list[FailedRecord] = []
        rows: list[list[dict[str, Any]]] = []
        try:
            reader: RowReader | None = conversion.reader(self._schema_columns(conversion))
        except SchemaMismatch as exc:
            reader = None
            code, message = "DataFormatConversion.InvalidSchema", str(exc)
        # In bulk when Arrow's reader is sure to read them as rows() would (no record
        # refused), else one by one, which also finds the records that do not fit.
        table = reader.table(records) if reader is not None else None
        if table is None:
            for data, arrival in zip(records, arrivals, strict=True):
                if reader is None:
                    failures.append(
                        conversion_failure(data, arrival, now, message, code, table_ref)
                    )
                    continue
                try:
                    rows.append(reader.rows(data))
                except SchemaMismatch as exc:
                    failures.append(
                        conversion_failure(data, arrival, now, str(exc), MALFORMED, table_ref)
                    )
        errors_at: tuple[str, ...] = ()
        if failures:
            errors_at = (
                self._errors(name, version, destination, when, ERROR_OUTPUT_TYPE, failures),
            )
        key = ""
        if table is None and reader is not None and rows:
            import pyarrow as pa  # loaded by the first converted delivery only

            table = pa.Table.from_pylist([row for record in rows for row in record], reader.schema)
        if table is not None and table.num_rows:
            prefix = render_prefix(destination.prefix, "Prefix", when, keys=keys)
            key = prefix + object_name(name, version, when, destination.extension)
            self.lake.put_object(
                destination.bucket,
                key,
                conversion.write(table),
                content_type="application/octet-stream",
            )
        converted = len(records) - len(failures)
        return Delivery(destination.bucket, key, converted, len(failures), errors_at)

    def _partitioning_failed(
        self,
        name: str,
        version: int,
        destination: S3Destination,
        claim: Claim,
        when: datetime,
    ) -> Delivery:
        now = self._now_ms()
        failed = []
        for data, arrival, error in zip(claim.records, claim.arrivals, claim.errors, strict=True):
            reason = json.loads(error or "{}")
            failed.append(
                partitioning_failure(
                    data,
                    arrival,
                    now,
                    str(reason.get("errorCode", EXTRACTION_FAILED)),
                    str(reason.get("errorMessage", "")),
                )
            )
        key = self._errors(name, version, destination, when, PARTITIONING_FAILED, failed)
        return Delivery(destination.bucket, "", 0, len(failed), (key,))

    def _errors(
        self,
        name: str,
        version: int,
        destination: S3Destination,
        when: datetime,
        kind: str,
        failures: Sequence[FailedRecord],
    ) -> str:
        key = error_key(destination.config.get("ErrorOutputPrefix"), kind, name, version, when)
        self.lake.put_object(
            destination.bucket, key, error_body(failures), content_type="application/json"
        )
        return key

    def _schema_columns(self, conversion: FormatConversion) -> list[Any]:
        """The Glue table's columns, read now: the current version for LATEST."""
        schema = conversion.schema
        database, table_name = str(schema["DatabaseName"]), str(schema["TableName"])
        if conversion.version_id == "LATEST":
            table = self.catalog.get_table(database, table_name)
        else:
            table = self.catalog.get_table_version(
                database, table_name, conversion.version_id
            ).table
        columns = list((table.storage_descriptor or {}).get("Columns") or [])
        if not columns:
            raise SchemaMismatch(f"the table {database}.{table_name} has no columns")
        return columns

    def _now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)


@dataclass
class Partitioned:
    """Step one of a partitioned delivery: the records to put back, partitioned."""

    records: list[tuple[bytes, int, str, str | None]] = field(default_factory=list)
    """(data, arrival ms, partition, failure as JSON or None) each."""
    errors: int = 0
    """Records the Lambda processor failed (already in the error output)."""
    error_keys: list[str] = field(default_factory=list)
    dropped: int = 0
    exceeded: int = 0
    """Records refused for opening a partition past the limit."""
    jq_ms: float = 0.0
    """Time spent extracting keys, milliseconds."""


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _datetime(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)
