"""Firehose record transformation through real boto3, over a socket and in-process: a
Python callable in the Lambda processor's place, failures in the processing-failed
error output, and the refusal of a real Lambda ARN."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from fogbank import Fogbank

from .conftest import ErrorExpectation
from .test_firehose import s3_config

HANDLER = "python:tests.firehose.transforms:upper"


def processing(arn: str) -> dict[str, Any]:
    return {
        "Enabled": True,
        "Processors": [
            {
                "Type": "Lambda",
                "Parameters": [
                    {"ParameterName": "LambdaArn", "ParameterValue": arn},
                    {"ParameterName": "NumberOfRetries", "ParameterValue": "1"},
                ],
            },
            {"Type": "AppendDelimiterToRecord"},
        ],
    }


def test_records_are_transformed_before_delivery(firehose: Any, fogbank: Fogbank) -> None:
    fogbank.lake.create_bucket("lake")
    firehose.create_delivery_stream(
        DeliveryStreamName="t",
        ExtendedS3DestinationConfiguration=s3_config(
            BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0},
            ProcessingConfiguration=processing(HANDLER),
        ),
    )
    firehose.put_record_batch(
        DeliveryStreamName="t",
        Records=[{"Data": b"a"}, {"Data": b"drop"}, {"Data": b"fail"}],
    )
    deadline = time.monotonic() + 15
    keys: list[str] = []
    while time.monotonic() < deadline and len(keys) < 2:
        keys = sorted(o.key for o in fogbank.lake.iter_objects("lake"))
        time.sleep(0.05)
    [error_key] = [k for k in keys if k.startswith("processing-failed/")]
    [data_key] = [k for k in keys if k != error_key]
    assert fogbank.lake.read(f"s3://lake/{data_key}") == b"A\n"
    [failed] = [json.loads(x) for x in fogbank.lake.read(f"s3://lake/{error_key}").splitlines()]
    assert base64.b64decode(failed["rawData"]) == b"fail"
    assert failed["lambdaArn"] == HANDLER


def test_a_real_lambda_arn_is_refused(firehose: Any, json_error: ErrorExpectation) -> None:
    arn = "arn:aws:lambda:us-east-1:000000000000:function:f"
    with json_error("InvalidArgumentException", arn, "python:<module>:<function>"):
        firehose.create_delivery_stream(
            DeliveryStreamName="l",
            ExtendedS3DestinationConfiguration=s3_config(ProcessingConfiguration=processing(arn)),
        )
