"""Record transformation: the ``Lambda`` processor of a ProcessingConfiguration.

fogbank has no Lambda, so the processor's ``LambdaArn`` parameter names a Python
callable instead, in one explicit form::

    python:<module>:<function>        e.g. python:myapp.transforms:handler

``<module>`` is imported (from the server's ``sys.path``) when a delivery first needs it
and ``<function>(event, context)`` is called as Lambda calls a handler, with ``context``
None. An ``arn:aws:lambda:...`` ARN is refused at CreateDeliveryStream with a message
saying so: there is no function behind it to call. Only the form is checked then; a
module that does not import fails the invocation (below), as a deleted Lambda would.

The contract is Lambda's for Firehose. The event is ``{"invocationId",
"deliveryStreamArn", "region", "records": [{"recordId", "approximateArrivalTimestamp",
"data"}]}`` (``data`` base64); the handler returns ``{"records": [{"recordId", "result",
"data", "metadata"?}]}`` with ``result`` Ok, Dropped or ProcessingFailed. Ok records are
delivered with their new data, Dropped ones are not (they count as processed),
ProcessingFailed ones go to the ``processing-failed`` error output. A record whose id is
missing from the answer, or answered twice, fails with ``Lambda.MissingRecordId`` /
``Lambda.DuplicatedRecordId``; an answer that is not of this shape fails the whole
invocation (``Lambda.JsonProcessingException``).

An invocation that raises (or returns nonsense) is retried ``NumberOfRetries`` times
(default 3, 0-300), at once, then its records go to the error output with
``Lambda.FunctionError`` and the exception's text. ``BufferSizeInMBs`` (0.2-3, default
1) caps the bytes of one invocation: a delivery's records are sent in as many
invocations as that takes. ``BufferIntervalInSeconds`` (60-900) and ``RoleArn`` are
accepted and kept; the delivery's own buffer decides when records are processed.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fogbank.core.errors import InvalidArgumentException

ERROR_OUTPUT_TYPE = "processing-failed"
SCHEME = "python:"
DEFAULT_RETRIES = 3
MAX_RETRIES = 300
DEFAULT_BUFFER_MBS = 1.0
_RANGES = {
    "NumberOfRetries": (0, MAX_RETRIES),
    "BufferSizeInMBs": (0.2, 3),
    "BufferIntervalInSeconds": (60, 900),
}
_RESULTS = ("Ok", "Dropped", "ProcessingFailed")

Handler = Callable[[dict[str, Any], None], Any]


@dataclass(frozen=True)
class Failure:
    """One record for the processing-failed error output."""

    data: bytes
    arrival_ms: int
    code: str
    message: str
    attempts: int


@dataclass
class Outcome:
    """What the processor made of a delivery's records."""

    records: list[bytes] = field(default_factory=list)
    arrivals: list[int] = field(default_factory=list)
    partition_keys: list[dict[str, str]] = field(default_factory=list)
    """Each delivered record's ``metadata.partitionKeys`` (empty where none)."""
    failures: list[Failure] = field(default_factory=list)
    dropped: int = 0


@dataclass(frozen=True)
class LambdaProcessor:
    """A checked ``Lambda`` processor."""

    arn: str
    retries: int
    buffer_bytes: int

    @classmethod
    def parse(cls, processor: Mapping[str, Any]) -> LambdaProcessor:
        """Check one ``{"Type": "Lambda", "Parameters": [...]}`` as CreateDeliveryStream does."""
        params: dict[str, str] = {}
        for parameter in processor.get("Parameters") or []:
            params[str(parameter.get("ParameterName"))] = str(parameter.get("ParameterValue"))
        arn = params.get("LambdaArn")
        if not arn:
            raise InvalidArgumentException(
                "The Lambda processor needs a LambdaArn parameter; in fogbank it names a "
                "Python callable: python:<module>:<function>."
            )
        function_name(arn)
        numbers: dict[str, float] = {}
        for name, (low, high) in _RANGES.items():
            if name not in params:
                continue
            try:
                numbers[name] = float(params[name])
            except ValueError:
                numbers[name] = float("nan")
            if not low <= numbers[name] <= high:
                raise InvalidArgumentException(
                    f"The Lambda processor's {name} is {params[name]!r}; it must be a number "
                    f"from {low} to {high}."
                )
        if "NumberOfRetries" in numbers and numbers["NumberOfRetries"] != int(
            numbers["NumberOfRetries"]
        ):
            raise InvalidArgumentException("NumberOfRetries must be a whole number.")
        return cls(
            arn,
            int(numbers.get("NumberOfRetries", DEFAULT_RETRIES)),
            int(numbers.get("BufferSizeInMBs", DEFAULT_BUFFER_MBS) * 1024 * 1024),
        )

    def run(
        self,
        records: Sequence[bytes],
        arrivals: Sequence[int],
        *,
        stream_arn: str,
        region: str,
    ) -> Outcome:
        """Send the records through the handler, in invocations of at most
        ``buffer_bytes``; sort each into delivered, dropped and failed."""
        outcome = Outcome()
        batch: list[int] = []
        size = 0
        for index, data in enumerate(records):
            if batch and size + len(data) > self.buffer_bytes:
                self._invoke(batch, records, arrivals, stream_arn, region, outcome)
                batch, size = [], 0
            batch.append(index)
            size += len(data)
        if batch:
            self._invoke(batch, records, arrivals, stream_arn, region, outcome)
        return outcome

    def _invoke(
        self,
        batch: list[int],
        records: Sequence[bytes],
        arrivals: Sequence[int],
        stream_arn: str,
        region: str,
        outcome: Outcome,
    ) -> None:
        ids = {f"{uuid.uuid4().hex}{i:08d}": i for i in batch}
        event = {
            "invocationId": str(uuid.uuid4()),
            "deliveryStreamArn": stream_arn,
            "region": region,
            "records": [
                {
                    "recordId": record_id,
                    "approximateArrivalTimestamp": arrivals[i],
                    "data": base64.b64encode(records[i]).decode("ascii"),
                }
                for record_id, i in ids.items()
            ],
        }
        attempts = 0
        answer: list[tuple[str, str, bytes, dict[str, str]]] | None = None
        error = ("Lambda.FunctionError", "")
        while answer is None and attempts <= self.retries:
            attempts += 1
            try:
                returned = load_handler(self.arn)(event, None)
            except Exception as exc:  # the handler's failure, whatever it is
                error = ("Lambda.FunctionError", f"{type(exc).__name__}: {exc}")
                continue
            try:
                answer = _answer(returned)
            except ValueError as exc:
                error = ("Lambda.JsonProcessingException", str(exc))
        if answer is None:
            for i in batch:
                outcome.failures.append(Failure(records[i], arrivals[i], *error, attempts))
            return
        seen: set[str] = set()
        for record_id, result, data, keys in answer:
            index = ids.get(record_id)
            if index is None:
                continue  # not one of ours: nothing to deliver
            if record_id in seen:
                outcome.failures.append(
                    Failure(
                        records[index],
                        arrivals[index],
                        "Lambda.DuplicatedRecordId",
                        f"The function answered record {record_id} more than once.",
                        attempts,
                    )
                )
                continue
            seen.add(record_id)
            if result == "Ok":
                outcome.records.append(data)
                outcome.arrivals.append(arrivals[index])
                outcome.partition_keys.append(keys)
            elif result == "Dropped":
                outcome.dropped += 1
            else:
                outcome.failures.append(
                    Failure(
                        records[index],
                        arrivals[index],
                        "Lambda.ProcessingFailed",
                        "The function returned result ProcessingFailed for this record.",
                        attempts,
                    )
                )
        for record_id, index in ids.items():
            if record_id not in seen:
                outcome.failures.append(
                    Failure(
                        records[index],
                        arrivals[index],
                        "Lambda.MissingRecordId",
                        f"The function's answer has no record {record_id}.",
                        attempts,
                    )
                )


def function_name(arn: str) -> tuple[str, str]:
    """The module and function a LambdaArn names (``python:<module>:<function>``)."""
    if arn.startswith("arn:"):
        raise InvalidArgumentException(
            f"LambdaArn {arn!r} names an AWS Lambda function, and fogbank runs no Lambda: "
            "name a Python callable instead, as python:<module>:<function>."
        )
    scheme, _, rest = arn.partition(":")
    module, _, function = rest.partition(":")
    if f"{scheme}:" != SCHEME or not module or not function.isidentifier():
        raise InvalidArgumentException(
            f"LambdaArn {arn!r} is not of the form python:<module>:<function> "
            "(e.g. python:myapp.transforms:handler)."
        )
    return module, function


def load_handler(arn: str) -> Handler:
    module_name, function = function_name(arn)
    module = importlib.import_module(module_name)
    handler = getattr(module, function)
    if not callable(handler):
        raise TypeError(f"{module_name}.{function} is not callable")
    return handler  # type: ignore[no-any-return]


def _answer(returned: Any) -> list[tuple[str, str, bytes, dict[str, str]]]:
    """The handler's answer, checked: (recordId, result, data, partition keys) each."""
    if not isinstance(returned, Mapping) or not isinstance(returned.get("records"), list):
        raise ValueError('the function must return {"records": [...]}')
    out = []
    for entry in returned["records"]:
        if not isinstance(entry, Mapping):
            raise ValueError("each returned record must be an object")
        record_id, result = entry.get("recordId"), entry.get("result")
        if not isinstance(record_id, str) or result not in _RESULTS:
            raise ValueError(
                "each returned record needs a recordId and a result of Ok, Dropped or "
                f"ProcessingFailed; got {dict(entry)!r:.200}"
            )
        data = b""
        if result == "Ok":
            try:
                data = base64.b64decode(str(entry.get("data", "")), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"record {record_id}'s data is not base64") from None
        metadata = entry.get("metadata") or {}
        keys = metadata.get("partitionKeys") or {} if isinstance(metadata, Mapping) else {}
        out.append((record_id, str(result), data, {str(k): str(v) for k, v in keys.items()}))
    return out
