"""Record transformation: a Python callable in the Lambda processor's place, with
Lambda's event and answer contract, retries, and the processing-failed error output."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from fogbank import Fogbank
from fogbank.core.errors import InvalidArgumentException
from fogbank.firehose.engine import Firehose

from . import transforms
from .conftest import BUCKET, destination

HINTS = {"SizeInMBs": 1, "IntervalInSeconds": 0}
MODULE = "python:tests.firehose.transforms"


def processing(function: str, **params: str) -> dict[str, Any]:
    parameters = [{"ParameterName": "LambdaArn", "ParameterValue": f"{MODULE}:{function}"}]
    parameters += [{"ParameterName": k, "ParameterValue": v} for k, v in params.items()]
    return {
        "Enabled": True,
        "Processors": [
            {"Type": "Lambda", "Parameters": parameters},
            {"Type": "AppendDelimiterToRecord"},
        ],
    }


def read(fb: Fogbank, key: str) -> bytes:
    return fb.lake.read(f"s3://{BUCKET}/{key}")


def errors(fb: Fogbank, key: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in read(fb, key).splitlines()]


@pytest.fixture(autouse=True)
def _reset_handlers() -> None:
    transforms.CALLS.clear()
    transforms.FAILURES["left"] = 0


def test_ok_records_are_delivered_transformed_dropped_ones_not_failed_ones_to_errors(
    hose: Firehose, fb: Fogbank
) -> None:
    hose.create_delivery_stream(
        "t",
        extended_s3=destination(BufferingHints=HINTS, ProcessingConfiguration=processing("upper")),
    )
    hose.put_record_batch("t", [b"a", b"drop", b"fail", b"b"])
    [delivery] = hose.deliver_due()
    assert read(fb, delivery.key) == b"A\nB\n"
    assert (delivery.records, delivery.dropped, delivery.errors) == (2, 1, 1)
    [event] = transforms.CALLS
    assert set(event) == {"invocationId", "deliveryStreamArn", "region", "records"}
    assert event["deliveryStreamArn"].endswith(":deliverystream/t")
    assert event["region"] == "us-east-1"
    first = event["records"][0]
    assert set(first) == {"recordId", "approximateArrivalTimestamp", "data"}
    assert base64.b64decode(first["data"]) == b"a"
    [key] = delivery.error_keys
    assert key.startswith("processing-failed/2026/01/01/00/t-1-")
    [failed] = errors(fb, key)
    assert list(failed) == [
        "attemptsMade",
        "arrivalTimestamp",
        "errorCode",
        "errorMessage",
        "attemptEndingTimestamp",
        "rawData",
        "lambdaArn",
    ]
    assert base64.b64decode(failed["rawData"]) == b"fail"
    assert failed["lambdaArn"] == f"{MODULE}:upper"
    assert failed["errorCode"] == "Lambda.ProcessingFailed"


def test_a_failing_handler_is_retried_then_its_records_go_to_errors(
    hose: Firehose, fb: Fogbank
) -> None:
    hose.create_delivery_stream(
        "retry",
        extended_s3=destination(
            BufferingHints=HINTS, ProcessingConfiguration=processing("flaky", NumberOfRetries="2")
        ),
    )
    transforms.FAILURES["left"] = 2  # two failures, then the third attempt works
    hose.put_record("retry", b"x")
    [delivery] = hose.deliver_due()
    assert read(fb, delivery.key) == b"X\n" and delivery.errors == 0
    transforms.FAILURES["left"] = 3  # one more than the retries allow
    hose.put_record("retry", b"y")
    [delivery] = hose.deliver_due()
    assert delivery.key == "" and delivery.errors == 1
    [failed] = errors(fb, delivery.error_keys[0])
    assert failed["attemptsMade"] == 3
    assert failed["errorCode"] == "Lambda.FunctionError"
    assert "cold start" in failed["errorMessage"]
    assert hose.buffered("retry") == (0, 0)


def test_missing_and_duplicated_record_ids_fail_those_records(hose: Firehose, fb: Fogbank) -> None:
    hose.create_delivery_stream(
        "ids",
        extended_s3=destination(
            BufferingHints=HINTS, ProcessingConfiguration=processing("forgetful")
        ),
    )
    hose.put_record_batch("ids", [b"kept", b"lost"])
    [delivery] = hose.deliver_due()
    assert read(fb, delivery.key) == b"kept\n"
    codes = sorted(e["errorCode"] for e in errors(fb, delivery.error_keys[0]))
    assert codes == ["Lambda.DuplicatedRecordId", "Lambda.MissingRecordId"]


def test_an_answer_of_the_wrong_shape_fails_the_invocation(hose: Firehose, fb: Fogbank) -> None:
    hose.create_delivery_stream(
        "shape",
        extended_s3=destination(
            BufferingHints=HINTS,
            ProcessingConfiguration=processing("not_a_dict", NumberOfRetries="0"),
        ),
    )
    hose.put_record("shape", b"x")
    [delivery] = hose.deliver_due()
    [failed] = errors(fb, delivery.error_keys[0])
    assert failed["errorCode"] == "Lambda.JsonProcessingException"
    assert failed["attemptsMade"] == 1


def test_invocations_are_split_by_the_processors_buffer_size(hose: Firehose, fb: Fogbank) -> None:
    hose.create_delivery_stream(
        "split",
        extended_s3=destination(
            BufferingHints=HINTS, ProcessingConfiguration=processing("upper", BufferSizeInMBs="0.2")
        ),
    )
    hose.put_record_batch("split", [b"a" * 100_000] * 5)
    hose.deliver_due()
    assert [len(e["records"]) for e in transforms.CALLS] == [2, 2, 1]


@pytest.mark.parametrize(
    ("arn", "params", "words"),
    [
        ("arn:aws:lambda:us-east-1:000000000000:function:f", {}, "python:<module>:<function>"),
        ("python:onlymodule", {}, "not of the form"),
        (f"{MODULE}:upper", {"NumberOfRetries": "301"}, "NumberOfRetries"),
        (f"{MODULE}:upper", {"BufferSizeInMBs": "4"}, "BufferSizeInMBs"),
        (f"{MODULE}:upper", {"BufferIntervalInSeconds": "30"}, "BufferIntervalInSeconds"),
    ],
)
def test_lambda_processors_are_checked(
    hose: Firehose, arn: str, params: dict[str, str], words: str
) -> None:
    parameters = [{"ParameterName": "LambdaArn", "ParameterValue": arn}]
    parameters += [{"ParameterName": k, "ParameterValue": v} for k, v in params.items()]
    config = destination(
        ProcessingConfiguration={
            "Enabled": True,
            "Processors": [{"Type": "Lambda", "Parameters": parameters}],
        }
    )
    with pytest.raises(InvalidArgumentException, match=words.replace("<", ".").replace(">", ".")):
        hose.create_delivery_stream("bad", extended_s3=config)
