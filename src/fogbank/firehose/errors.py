"""The error output: records that could not be delivered as they are, written under the
destination's ErrorOutputPrefix in AWS's error record format.

One JSON document per failed record, one per line, in one object per delivery and kind.
The prefix is the ErrorOutputPrefix evaluated for the kind (``!{firehose:error-output-type}``
becomes ``format-conversion-failed``, ``processing-failed``...); without one, the kind
itself then the time folders, as AWS writes ``processing-failed/2026/01/31/23/``.

The two documents (from AWS's "Handling errors for data format conversion" and "Handle
failure in data transformation" pages):

- format conversion: ``attemptsMade, arrivalTimestamp, lastErrorCode, lastErrorMessage,
  attemptEndingTimestamp, rawData, sequenceNumber, subSequenceNumber, dataCatalogTable``;
- transformation: ``attemptsMade, arrivalTimestamp, errorCode, errorMessage,
  attemptEndingTimestamp, rawData, lambdaArn``;
- dynamic partitioning (``partitioning-failed``): the transformation's fields but
  ``lambdaArn``, with errorCode ``DynamicPartitioning.MetadataExtractionFailed`` (or
  ``DynamicPartitioning.ActivePartitionsLimitExceeded``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fogbank.firehose.prefixes import object_name, render_prefix


@dataclass(frozen=True)
class FailedRecord:
    """One record for the error output, in the document's own field names."""

    document: dict[str, Any]


def conversion_failure(
    data: bytes,
    arrival_ms: int,
    now_ms: int,
    message: str,
    code: str,
    table: dict[str, Any],
) -> FailedRecord:
    return FailedRecord(
        {
            "attemptsMade": 1,
            "arrivalTimestamp": arrival_ms,
            "lastErrorCode": code,
            "lastErrorMessage": message,
            "attemptEndingTimestamp": now_ms,
            "rawData": base64.b64encode(data).decode("ascii"),
            "sequenceNumber": None,
            "subSequenceNumber": None,
            "dataCatalogTable": table,
        }
    )


def processing_failure(
    data: bytes,
    arrival_ms: int,
    now_ms: int,
    attempts: int,
    code: str,
    message: str,
    lambda_arn: str,
) -> FailedRecord:
    return FailedRecord(
        {
            "attemptsMade": attempts,
            "arrivalTimestamp": arrival_ms,
            "errorCode": code,
            "errorMessage": message,
            "attemptEndingTimestamp": now_ms,
            "rawData": base64.b64encode(data).decode("ascii"),
            "lambdaArn": lambda_arn,
        }
    )


def partitioning_failure(
    data: bytes, arrival_ms: int, now_ms: int, code: str, message: str
) -> FailedRecord:
    return FailedRecord(
        {
            "attemptsMade": 1,
            "arrivalTimestamp": arrival_ms,
            "errorCode": code,
            "errorMessage": message,
            "attemptEndingTimestamp": now_ms,
            "rawData": base64.b64encode(data).decode("ascii"),
        }
    )


def error_key(
    error_prefix: str | None, kind: str, stream: str, version: int, when: datetime
) -> str:
    """Where one error object of ``kind`` goes."""
    prefix = error_prefix or f"{kind}/"
    rendered = render_prefix(prefix, "ErrorOutputPrefix", when, error_output_type=kind)
    return rendered + object_name(stream, version, when, "")


def error_body(failures: Sequence[FailedRecord]) -> bytes:
    return b"".join(json.dumps(f.document).encode("utf-8") + b"\n" for f in failures)
