"""Requests validated against botocore's shapes; results written by them; routing tables."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from fogbank import Fogbank
from fogbank.core.errors import SerializationException, ValidationException
from fogbank.gateway.client import client as in_process_client
from fogbank.gateway.models import TARGET_PREFIXES, ServiceCatalog
from fogbank.gateway.protocols import json_rpc
from fogbank.gateway.validation import ShapeValidator

CATALOG = ServiceCatalog()
VALIDATOR = ShapeValidator(blobs_are_base64=True)


def _shape(service: str, operation: str) -> Any:
    return CATALOG[service].operation(operation).input_shape


def test_target_prefixes_match_botocore_models() -> None:
    session = botocore.session.get_session()
    for name, prefix in TARGET_PREFIXES.items():
        assert session.get_service_model(name).metadata.get("targetPrefix") == prefix


def test_missing_required_member_is_named_as_aws_names_it() -> None:
    """Kinesis CreateStream without StreamName: 'Value null at streamName'."""
    with pytest.raises(ValidationException) as caught:
        VALIDATOR.validate(_shape("kinesis", "CreateStream"), {})
    assert caught.value.message == (
        "1 validation error detected: Value null at 'streamName' failed to satisfy "
        "constraint: Member must not be null"
    )


def test_every_constraint_failure_is_reported_at_once() -> None:
    """Kinesis CreateStream: pattern and range errors together, counted."""
    with pytest.raises(ValidationException) as caught:
        VALIDATOR.validate(
            _shape("kinesis", "CreateStream"), {"StreamName": "bad name!", "ShardCount": 0}
        )
    message = caught.value.message
    assert message.startswith("2 validation errors detected: ")
    assert "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+" in message
    assert "at 'shardCount' failed to satisfy constraint: Member must have value greater" in message


def test_lengths_enums_and_nested_paths_are_checked() -> None:
    """Kinesis PutRecord: partition key over 256; GetShardIterator: unknown iterator type."""
    shape = _shape("kinesis", "PutRecord")
    data = base64.b64encode(b"x").decode()
    with pytest.raises(ValidationException, match="length less than or equal to 256"):
        VALIDATOR.validate(shape, {"StreamName": "s", "Data": data, "PartitionKey": "k" * 257})
    with pytest.raises(ValidationException, match=r"enum value set: \[AT_SEQUENCE_NUMBER"):
        VALIDATOR.validate(
            _shape("kinesis", "GetShardIterator"),
            {"StreamName": "s", "ShardId": "shardId-0", "ShardIteratorType": "SOMETIMES"},
        )


def test_blobs_arrive_as_bytes_and_bad_base64_is_a_serialization_error() -> None:
    shape = _shape("kinesis", "PutRecord")
    params = VALIDATOR.validate(
        shape,
        {"StreamName": "s", "Data": base64.b64encode(b"\x00\xff").decode(), "PartitionKey": "k"},
    )
    assert params["Data"] == b"\x00\xff"
    with pytest.raises(SerializationException, match="not valid base64"):
        VALIDATOR.validate(shape, {"StreamName": "s", "Data": "!!", "PartitionKey": "k"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, "a string"), ([1], "a string"), ({"a": 1}, "a string")],
)
def test_a_wrong_type_names_the_member_and_the_type(value: object, expected: str) -> None:
    with pytest.raises(SerializationException, match=f"'streamName' must be {expected}"):
        VALIDATOR.validate(_shape("kinesis", "DeleteStream"), {"StreamName": value})


def test_timestamps_are_read_from_epoch_and_iso() -> None:
    shape = _shape("kinesis", "GetShardIterator")
    base = {"StreamName": "s", "ShardId": "x", "ShardIteratorType": "AT_TIMESTAMP"}
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    for given_value in (when.timestamp(), "2026-01-02T03:04:05Z"):
        params = VALIDATOR.validate(shape, {**base, "Timestamp": given_value})
        assert params["Timestamp"] == when


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
    )
)
def test_any_json_document_is_accepted_or_refused_with_an_aws_error(document: object) -> None:
    """Whatever JSON arrives, the validator answers with a FogbankError, never a crash."""
    body = json.dumps(document).encode()
    with contextlib.suppress(ValidationException, SerializationException):
        json_rpc.parse_request(CATALOG["glue"].operation("CreateTable"), body, VALIDATOR)


def test_json_results_are_written_by_the_output_shape() -> None:
    """Timestamps as epoch seconds and blobs as base64, as the json protocol says."""
    service = CATALOG["kinesis"]
    operation = service.operation("GetRecords")
    wire = json_rpc.render_result(
        service,
        operation,
        {
            "Records": [
                {
                    "SequenceNumber": "1",
                    "ApproximateArrivalTimestamp": datetime(2026, 1, 1, tzinfo=UTC),
                    "Data": b"\x01\x02",
                    "PartitionKey": "k",
                }
            ],
            "MillisBehindLatest": 0,
        },
    )
    document = json.loads(bytes(wire.body))  # type: ignore[arg-type]
    record = document["Records"][0]
    assert record["ApproximateArrivalTimestamp"] == 1767225600.0
    assert record["Data"] == "AQI="
    assert ("Content-Type", "application/x-amz-json-1.1") in wire.headers


def test_json_service_errors_reach_boto3_with_code_and_message(fogbank: Fogbank) -> None:
    """A request boto3 would refuse client-side reaches the server: AWS's validation answer."""
    kinesis = in_process_client(
        "kinesis",
        fogbank=fogbank,
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )
    try:
        with pytest.raises(ClientError) as caught:
            kinesis.create_stream(StreamName="bad name!", ShardCount=1)
        error = caught.value.response["Error"]
        assert error["Code"] == "ValidationException"
        assert "streamName" in error["Message"]
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        with pytest.raises(ClientError) as caught:
            kinesis.describe_account_settings()
        assert caught.value.response["Error"]["Code"] == "NotImplemented"
        assert "Kinesis DescribeAccountSettings" in caught.value.response["Error"]["Message"]
    finally:
        kinesis.close()


def test_rest_routes_pick_the_most_specific_s3_operation() -> None:
    s3 = CATALOG["s3"]
    cases = [
        (("GET", [], {}, set()), "ListBuckets"),
        (("GET", ["b"], {"list-type": "2"}, set()), "ListObjectsV2"),
        (("GET", ["b"], {}, set()), "ListObjects"),
        (("PUT", ["b", "k"], {}, {"x-amz-copy-source"}), "CopyObject"),
        (("PUT", ["b", "k"], {"partNumber": "1", "uploadId": "u"}, set()), "UploadPart"),
        (
            ("PUT", ["b", "k"], {"partNumber": "1", "uploadId": "u"}, {"x-amz-copy-source"}),
            "UploadPartCopy",
        ),
        (("GET", ["b", "k"], {"uploadId": "u"}, set()), "ListParts"),
        (("DELETE", ["b", "k"], {"uploadId": "u"}, set()), "AbortMultipartUpload"),
        (("POST", ["b"], {"delete": ""}, set()), "DeleteObjects"),
    ]
    for (method, segments, query, headers), expected in cases:
        operation, _ = s3.route(method, segments, query, headers)
        assert operation.name == expected
    _, labels = s3.route("GET", ["b", "a", "", "c"], {}, set())
    assert labels == {"Bucket": "b", "Key": "a//c"}
