"""Firehose dynamic partitioning through real boto3, over a socket and in-process: keys
from a jq query and from the Lambda processor, one object per partition in the lake,
partitioning failures in the error output, and AWS's validation errors."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from fogbank import Fogbank

from .conftest import ErrorExpectation
from .test_firehose import DESTINATION_ID, describe, s3_config

QUERY = '{customer_id:.customer_id, year:.event_timestamp|strftime("%Y")}'
PREFIX = "c=!{partitionKeyFromQuery:customer_id}/y=!{partitionKeyFromQuery:year}/"


def extraction(query: str = QUERY) -> dict[str, Any]:
    return {
        "Type": "MetadataExtraction",
        "Parameters": [
            {"ParameterName": "MetadataExtractionQuery", "ParameterValue": query},
            {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"},
        ],
    }


def config(*processors: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return s3_config(
        **{
            "Prefix": PREFIX,
            "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
            "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 1},
            "DynamicPartitioningConfiguration": {
                "Enabled": True,
                "RetryOptions": {"DurationInSeconds": 60},
            },
            "ProcessingConfiguration": {
                "Enabled": True,
                "Processors": list(processors) or [extraction()],
            },
            **extra,
        }
    )


def wait_for(fogbank: Fogbank, count: int) -> dict[str, bytes]:
    deadline = time.monotonic() + 20
    found: dict[str, bytes] = {}
    while time.monotonic() < deadline and len(found) < count:
        found = {
            o.key: fogbank.lake.read(f"s3://lake/{o.key}")
            for o in fogbank.lake.iter_objects("lake")
        }
        time.sleep(0.05)
    return found


def event(customer: str | None, ts: int = 1565382027) -> bytes:
    body: dict[str, Any] = {"event_timestamp": ts}
    if customer is not None:
        body["customer_id"] = customer
    return json.dumps(body).encode()


def test_records_land_under_their_partition_keys(firehose: Any, fogbank: Fogbank) -> None:
    fogbank.lake.create_bucket("lake")
    firehose.create_delivery_stream(
        DeliveryStreamName="dp", ExtendedS3DestinationConfiguration=config()
    )
    extended = describe(firehose, "dp")["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert extended["DynamicPartitioningConfiguration"] == {
        "Enabled": True,
        "RetryOptions": {"DurationInSeconds": 60},
    }
    records = [event("1"), event("2"), event("1", 1600000000), event(None), event("1")]
    answer = firehose.put_record_batch(
        DeliveryStreamName="dp", Records=[{"Data": r} for r in records]
    )
    assert answer["FailedPutCount"] == 0
    found = wait_for(fogbank, 4)
    by_prefix = {key.rsplit("/", 1)[0]: body for key, body in found.items()}
    [error_prefix] = [p for p in by_prefix if p.startswith("errors/")]
    assert error_prefix.startswith("errors/partitioning-failed/")
    failed = json.loads(by_prefix.pop(error_prefix))
    assert failed["errorCode"] == "DynamicPartitioning.MetadataExtractionFailed"
    assert base64.b64decode(failed["rawData"]) == event(None)
    assert by_prefix == {
        "c=1/y=2019": event("1") + event("1"),
        "c=2/y=2019": event("2"),
        "c=1/y=2020": event("1", 1600000000),
    }


def test_lambda_partition_keys(firehose: Any, fogbank: Fogbank) -> None:
    fogbank.lake.create_bucket("lake")
    handler = {
        "Type": "Lambda",
        "Parameters": [
            {
                "ParameterName": "LambdaArn",
                "ParameterValue": "python:tests.firehose.transforms:keyed",
            }
        ],
    }
    firehose.create_delivery_stream(
        DeliveryStreamName="lam",
        ExtendedS3DestinationConfiguration=config(
            handler,
            {"Type": "AppendDelimiterToRecord"},
            Prefix="tenant=!{partitionKeyFromLambda:tenant}/",
            CompressionFormat="GZIP",
        ),
    )
    firehose.put_record_batch(
        DeliveryStreamName="lam",
        Records=[{"Data": b'{"tenant": "a"}'}, {"Data": b'{"tenant": "b"}'}],
    )
    found = wait_for(fogbank, 2)
    assert sorted(k.split("/")[0] for k in found) == ["tenant=a", "tenant=b"]
    assert all(k.endswith(".gz") for k in found)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"Prefix": "static/"}, ["partition key"]),
        ({"ErrorOutputPrefix": None}, ["ErrorOutputPrefix is required"]),
        ({"BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 60}}, ["SizeInMBs", "64"]),
        (
            {"ProcessingConfiguration": {"Processors": [extraction("{a: .x | nope}")]}},
            ["MetadataExtractionQuery", "nope"],
        ),
        ({"DynamicPartitioningConfiguration": {"Enabled": False}}, ["needs dynamic partitioning"]),
    ],
)
def test_validation_errors(
    firehose: Any, json_error: ErrorExpectation, change: dict[str, Any], words: list[str]
) -> None:
    settings = {k: v for k, v in config(**change).items() if v is not None}
    with json_error("InvalidArgumentException", *words):
        firehose.create_delivery_stream(
            DeliveryStreamName="bad", ExtendedS3DestinationConfiguration=settings
        )


def test_update_cannot_turn_dynamic_partitioning_off(
    firehose: Any, json_error: ErrorExpectation
) -> None:
    firehose.create_delivery_stream(
        DeliveryStreamName="dp", ExtendedS3DestinationConfiguration=config()
    )
    with json_error("InvalidArgumentException", "only be set when a stream is created"):
        firehose.update_destination(
            DeliveryStreamName="dp",
            CurrentDeliveryStreamVersionId="1",
            DestinationId=DESTINATION_ID,
            ExtendedS3DestinationUpdate={"DynamicPartitioningConfiguration": {"Enabled": False}},
        )
