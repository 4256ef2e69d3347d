"""Firehose's CloudWatch metrics, kept in the control plane's metrics table.

Namespace ``AWS/Firehose``, dimension ``DeliveryStreamName``, as AWS names them:
IncomingRecords and IncomingBytes for each accepted put (or records read from a
Kinesis source), DeliveryToS3.Records / DeliveryToS3.Bytes / DeliveryToS3.Success /
DeliveryToS3.DataFreshness (the age, in seconds, of the oldest record delivered) for
each delivery, and FailedConversion.Records / FailedProcessing.Records for records
sent to the error output. With dynamic partitioning: PartitionCount (the active
partitions), PartitionCountExceeded (1 when records were refused for opening a partition
past the limit, else 0) and JQProcessing.Duration (milliseconds spent in the jq query).
A Redshift destination adds, per COPY: DeliveryToRedshift.Success (1, or 0 for a COPY
that failed), DeliveryToRedshift.Records and DeliveryToRedshift.Bytes (rows loaded, bytes
read from the staged objects) and DeliveryToRedshift.DataFreshness (the age, in seconds,
of the oldest record loaded); its staging writes count as DeliveryToS3.*.
``fogbank firehose ls`` sums them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from fogbank.core.store import ControlPlaneStore
from fogbank.firehose.model import Delivery

if TYPE_CHECKING:
    from fogbank.firehose.delivery import Partitioned

PARTITIONING = "partitioning-failed"

NAMESPACE = "AWS/Firehose"
SHOWN = (
    "IncomingRecords",
    "IncomingBytes",
    "DeliveryToS3.Records",
    "DeliveryToS3.Bytes",
    "DeliveryToS3.Success",
    "DeliveryToS3.DataFreshness",
    "FailedConversion.Records",
    "FailedProcessing.Records",
    "PartitionCount",
    "PartitionCountExceeded",
    "JQProcessing.Duration",
    "DeliveryToRedshift.Records",
    "DeliveryToRedshift.Bytes",
    "DeliveryToRedshift.Success",
    "DeliveryToRedshift.DataFreshness",
)
_LATEST = ("DeliveryToS3.DataFreshness", "PartitionCount", "DeliveryToRedshift.DataFreshness")


class Metrics:
    """Writes the delivery streams' metric points. Incoming counts are summed in memory
    and written by :meth:`flush` (the delivery loop calls it), so that a put costs no
    control-plane write of its own."""

    def __init__(self, store: ControlPlaneStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._incoming: dict[str, list[int]] = {}

    def incoming(self, name: str, records: int, size: int | None = None) -> None:
        if records <= 0:
            return
        with self._lock:
            counts = self._incoming.setdefault(name, [0, 0, 0])
            counts[0] += records
            counts[1] += size or 0
            counts[2] += size is not None

    def flush(self) -> None:
        with self._lock:
            pending, self._incoming = self._incoming, {}
        for name, (records, size, sized) in pending.items():
            values = {"IncomingRecords": float(records)}
            if sized:
                values["IncomingBytes"] = float(size)
            self._put_all(name, values)

    def delivered(
        self, name: str, delivery: Delivery, *, size: int, arrivals: Sequence[int], now_ms: int
    ) -> None:
        values = {
            "DeliveryToS3.Success": 1.0,
            "DeliveryToS3.Records": float(delivery.records),
            "DeliveryToS3.Bytes": float(size),
        }
        if arrivals:
            values["DeliveryToS3.DataFreshness"] = max(0, now_ms - min(arrivals)) / 1000
        if delivery.errors and not all(PARTITIONING in k for k in delivery.error_keys):
            conversion = all("format-conversion-failed" in key for key in delivery.error_keys)
            failed = "FailedConversion.Records" if conversion else "FailedProcessing.Records"
            values[failed] = float(delivery.errors)
        self._put_all(name, values)

    def partitioned(self, name: str, made: Partitioned, *, partitions: int, query: bool) -> None:
        """Step one of a partitioned delivery: how many partitions are active now."""
        self._put(name, "PartitionCount", partitions)
        self._put(name, "PartitionCountExceeded", 1 if made.exceeded else 0)
        if query:
            self._put(name, "JQProcessing.Duration", made.jq_ms)
        if made.errors:
            self._put(name, "FailedProcessing.Records", made.errors)

    def copied(self, name: str, records: int, size: int, *, freshness_ms: int) -> None:
        """A COPY into the warehouse loaded ``records`` rows."""
        self._put(name, "DeliveryToRedshift.Success", 1)
        self._put(name, "DeliveryToRedshift.Records", records)
        self._put(name, "DeliveryToRedshift.Bytes", size)
        self._put(name, "DeliveryToRedshift.DataFreshness", freshness_ms / 1000)

    def copy_failed(self, name: str) -> None:
        self._put(name, "DeliveryToRedshift.Success", 0)

    def failed(self, name: str) -> None:
        self._put(name, "DeliveryToS3.Success", 0)

    def totals(self, name: str) -> dict[str, float]:
        """Each shown metric's sum over all its points (DataFreshness: the latest)."""
        self.flush()
        found: dict[str, float] = {}
        for metric in SHOWN:
            points = self._store.get_metrics(
                NAMESPACE, metric, dimensions={"DeliveryStreamName": name}
            )
            if not points:
                continue
            if metric in _LATEST:
                found[metric] = points[-1].value
            else:
                found[metric] = sum(p.value for p in points)
        return found

    def _put_all(self, name: str, values: dict[str, float]) -> None:
        """One point of each metric, in one control-plane transaction (not one each)."""
        self._store.put_metrics(NAMESPACE, values, dimensions={"DeliveryStreamName": name})

    def _put(self, name: str, metric: str, value: float) -> None:
        self._store.put_metric(
            NAMESPACE, metric, float(value), dimensions={"DeliveryStreamName": name}
        )
