"""Dynamic partitioning: each record's partition keys, and the rules for configuring them.

A destination with ``DynamicPartitioningConfiguration {Enabled: true}`` (only at
CreateDeliveryStream; it can never be turned off) delivers each distinct set of
partition keys to its own prefix. The keys come from

- inline parsing: a ``MetadataExtraction`` processor whose ``MetadataExtractionQuery``
  is a jq program (``JsonParsingEngine`` ``JQ-1.6``) run on the record's JSON, yielding
  an object, e.g. ``{customer_id:.customer_id, year:.ts|strftime("%Y")}``; the prefix
  reads its members as ``!{partitionKeyFromQuery:<key>}``. The program is compiled
  once, by the ``jq`` library (the C jq itself), when the stream is created;
- the ``Lambda`` processor: each returned record's ``metadata.partitionKeys``, read as
  ``!{partitionKeyFromLambda:<key>}``.

Both may be used at once (the query then reads the Lambda's output). A record whose
keys cannot be had (not JSON, the query fails or yields no object, a key the prefix uses
is missing or null) is delivered to the ErrorOutputPrefix with
``!{firehose:error-output-type}`` = ``partitioning-failed``.

The rules CreateDeliveryStream applies (AWS's): the Prefix must use at least one
partition-key expression and every one it uses must be produced (a query key that the
query cannot yield is refused when the query's keys can be seen); an ErrorOutputPrefix
is required; ``BufferingHints.SizeInMBs`` must be at least 64 (64 when left out);
partition-key expressions without dynamic partitioning are refused.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jq

from fogbank.core.errors import InvalidArgumentException
from fogbank.firehose.prefixes import LAMBDA, QUERY, partition_keys

ERROR_OUTPUT_TYPE = "partitioning-failed"
EXTRACTION_FAILED = "DynamicPartitioning.MetadataExtractionFailed"
PARTITIONS_EXCEEDED = "DynamicPartitioning.ActivePartitionsLimitExceeded"
JQ_ENGINE = "JQ-1.6"
MIN_SIZE_MBS = 64
DEFAULT_RETRY_SECONDS = 300
MAX_RETRY_SECONDS = 7200
DEFAULT_ACTIVE_PARTITIONS = 500
FEATURE = "DynamicPartitioningConfiguration"
FAILED_PART = "!failed"
"""The partition of the records that have none (they go to the error output)."""


class PartitioningFailed(ValueError):
    """A record's partition keys could not be had; the message says why."""


@dataclass(frozen=True)
class MetadataExtraction:
    """A checked ``MetadataExtraction`` processor: the compiled jq program."""

    query: str
    program: Any

    @classmethod
    def parse(cls, processor: Mapping[str, Any]) -> MetadataExtraction:
        params = _parameters(processor)
        query = params.get("MetadataExtractionQuery")
        if not query:
            raise InvalidArgumentException(
                "The MetadataExtraction processor needs a MetadataExtractionQuery parameter: "
                'a jq expression yielding an object, e.g. "{customer_id:.customer_id}".'
            )
        engine = params.get("JsonParsingEngine")
        if engine != JQ_ENGINE:
            raise InvalidArgumentException(
                f"The MetadataExtraction processor's JsonParsingEngine is {engine!r}; the one "
                f"engine Firehose supports is {JQ_ENGINE}: set JsonParsingEngine to {JQ_ENGINE}."
            )
        try:
            program = jq.compile(query)
        except ValueError as exc:
            detail = " ".join(str(exc).split())
            raise InvalidArgumentException(
                f"MetadataExtractionQuery {query!r} is not a valid jq expression ({detail}). "
                "Fix the expression."
            ) from None
        return cls(query, program)

    def static_keys(self) -> set[str] | None:
        """The keys the query yields, where running it on ``null`` shows them."""
        try:
            found = _first_two(self.program, None)
        except ValueError:
            return None
        if len(found) == 1 and isinstance(found[0], dict):
            return {str(k) for k in found[0]}
        return None

    def keys(self, data: bytes) -> dict[str, Any]:
        """The query's object for one record; PartitioningFailed when there is none."""
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, ValueError):
            raise PartitioningFailed("the record is not a JSON document") from None
        try:
            found = _first_two(self.program, document)
        except ValueError as exc:
            raise PartitioningFailed(f"the query failed: {' '.join(str(exc).split())}") from None
        if len(found) != 1 or not isinstance(found[0], dict):
            raise PartitioningFailed("the query did not yield exactly one object")
        return dict(found[0])


@dataclass(frozen=True)
class Partitioning:
    """A destination's dynamic partitioning: the keys its Prefix reads, and how to get them."""

    extraction: MetadataExtraction | None
    query_keys: tuple[str, ...]
    lambda_keys: tuple[str, ...]
    retry_seconds: int

    @classmethod
    def parse(cls, settings: Mapping[str, Any]) -> Partitioning | None:
        """None when dynamic partitioning is off; the rules checked when it is on."""
        config = settings.get(FEATURE) or {}
        processors = _processors(settings)
        if not config.get("Enabled"):
            if any(p.get("Type") == "MetadataExtraction" for p in processors):
                raise InvalidArgumentException(
                    "The MetadataExtraction processor works with dynamic partitioning only: "
                    f"set {FEATURE} {{Enabled: true}} at creation, or remove the processor."
                )
            return None
        retry = (config.get("RetryOptions") or {}).get("DurationInSeconds", DEFAULT_RETRY_SECONDS)
        if not 0 <= int(retry) <= MAX_RETRY_SECONDS:
            raise InvalidArgumentException(
                f"{FEATURE}.RetryOptions.DurationInSeconds is {retry}; it must be from 0 to "
                f"{MAX_RETRY_SECONDS}."
            )
        hints = settings.get("BufferingHints") or {}
        if "SizeInMBs" in hints and int(hints["SizeInMBs"]) < MIN_SIZE_MBS:
            raise InvalidArgumentException(
                f"BufferingHints.SizeInMBs must be at least {MIN_SIZE_MBS} when Dynamic "
                f"Partitioning is enabled; it is {hints['SizeInMBs']}. Raise it to "
                f"{MIN_SIZE_MBS}-128."
            )
        if int(hints.get("IntervalInSeconds", 300)) == 0:
            raise InvalidArgumentException(
                "BufferingHints.IntervalInSeconds 0 (zero buffering) is not available with "
                "dynamic partitioning: give an interval of at least 60 seconds."
            )
        prefix = str(settings.get("Prefix") or "")
        query_keys = partition_keys(prefix, QUERY)
        lambda_keys = partition_keys(prefix, LAMBDA)
        extraction = None
        has_lambda = False
        for processor in processors:
            if processor.get("Type") == "MetadataExtraction":
                if extraction is not None:
                    raise InvalidArgumentException(
                        "ProcessingConfiguration takes at most one MetadataExtraction "
                        "processor; put every key in one MetadataExtractionQuery."
                    )
                extraction = MetadataExtraction.parse(processor)
            has_lambda = has_lambda or processor.get("Type") == "Lambda"
        if query_keys and extraction is None:
            raise InvalidArgumentException(
                f"Prefix uses !{{{QUERY}:{query_keys[0]}}}, but no MetadataExtraction processor "
                "produces query keys: add one to ProcessingConfiguration (with "
                f"MetadataExtractionQuery and JsonParsingEngine {JQ_ENGINE}) and enable it."
            )
        if lambda_keys and not has_lambda:
            raise InvalidArgumentException(
                f"Prefix uses !{{{LAMBDA}:{lambda_keys[0]}}}, but no Lambda processor "
                "returns partition keys: add a Lambda processor to ProcessingConfiguration "
                "and enable it."
            )
        if extraction is not None:
            known = extraction.static_keys()
            missing = [k for k in query_keys if known is not None and k not in known]
            if missing:
                raise InvalidArgumentException(
                    f"Prefix uses !{{{QUERY}:{missing[0]}}}, but MetadataExtractionQuery "
                    f"{extraction.query!r} yields no key {missing[0]!r} (it yields "
                    f"{', '.join(sorted(known or ())) or 'none'}): add it to the query or "
                    "fix the Prefix."
                )
        return cls(extraction, query_keys, lambda_keys, int(retry))

    def partition(
        self, data: bytes, lambda_keys: Mapping[str, str] | None = None
    ) -> dict[str, dict[str, str]]:
        """The record's keys by namespace, as the Prefix reads them; PartitioningFailed
        when one cannot be had."""
        out: dict[str, dict[str, str]] = {}
        if self.query_keys and self.extraction is not None:
            found = self.extraction.keys(data)
            out[QUERY] = {key: _value(found.get(key), key, QUERY) for key in self.query_keys}
        if self.lambda_keys:
            given = lambda_keys or {}
            out[LAMBDA] = {key: _value(given.get(key), key, LAMBDA) for key in self.lambda_keys}
        return out


def _first_two(program: Any, document: Any) -> list[Any]:
    """The query's first two results (one is expected; a generator may never end)."""
    return list(itertools.islice(iter(program.input_value(document)), 2))


def _value(value: Any, key: str, namespace: str) -> str:
    if value is None:
        raise PartitioningFailed(f"the partition key {key!r} ({namespace}) is missing or null")
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, int | float):
        text = json.dumps(value)
    else:
        raise PartitioningFailed(
            f"the partition key {key!r} ({namespace}) is not a string, number or boolean"
        )
    if text == "":
        raise PartitioningFailed(f"the partition key {key!r} ({namespace}) is empty")
    return text


def _processors(settings: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    processing = settings.get("ProcessingConfiguration") or {}
    if not processing.get("Enabled", True):
        return []
    return list(processing.get("Processors") or [])


def _parameters(processor: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(p.get("ParameterName")): str(p.get("ParameterValue"))
        for p in processor.get("Parameters") or []
    }
