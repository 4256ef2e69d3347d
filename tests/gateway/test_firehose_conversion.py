"""Firehose record format conversion through real boto3, over a socket and in-process:
JSON records delivered as Parquet in a Glue table's schema, misfits in the error output."""

from __future__ import annotations

import base64
import io
import json
import time
from typing import Any

import pyarrow.parquet as pq

from fogbank import Fogbank

from .conftest import ErrorExpectation
from .test_firehose import ROLE, describe, s3_config


def conversion() -> dict[str, Any]:
    return {
        "SchemaConfiguration": {"DatabaseName": "web", "TableName": "clicks", "RoleARN": ROLE},
        "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
        "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {"Compression": "SNAPPY"}}},
    }


def test_json_is_delivered_as_parquet_and_misfits_as_error_records(
    firehose: Any, fogbank: Fogbank
) -> None:
    fogbank.lake.create_bucket("lake")
    fogbank.catalog.create_database({"Name": "web"})
    columns = [{"Name": "id", "Type": "int"}, {"Name": "page", "Type": "string"}]
    fogbank.catalog.create_table(
        "web", {"Name": "clicks", "StorageDescriptor": {"Columns": columns}}
    )
    firehose.create_delivery_stream(
        DeliveryStreamName="conv",
        ExtendedS3DestinationConfiguration=s3_config(
            BufferingHints={"SizeInMBs": 64, "IntervalInSeconds": 0},
            DataFormatConversionConfiguration=conversion(),
        ),
    )
    extended = describe(firehose, "conv")["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert extended["DataFormatConversionConfiguration"]["SchemaConfiguration"]["TableName"] == (
        "clicks"
    )
    firehose.put_record_batch(
        DeliveryStreamName="conv",
        Records=[{"Data": b'{"id": 1, "page": "/"}'}, {"Data": b'{"id": "x"}'}],
    )
    deadline = time.monotonic() + 15
    keys: list[str] = []
    while time.monotonic() < deadline and len(keys) < 2:
        keys = sorted(o.key for o in fogbank.lake.iter_objects("lake"))
        time.sleep(0.05)
    [data_key] = [k for k in keys if k.endswith(".parquet")]
    [error_key] = [k for k in keys if k.startswith("format-conversion-failed/")]
    rows = pq.read_table(io.BytesIO(fogbank.lake.read(f"s3://lake/{data_key}"))).to_pylist()
    assert rows == [{"id": 1, "page": "/"}]
    [error] = [
        json.loads(line) for line in fogbank.lake.read(f"s3://lake/{error_key}").splitlines()
    ]
    assert base64.b64decode(error["rawData"]) == b'{"id": "x"}'
    assert error["lastErrorCode"] == "DataFormatConversion.MalformedData"


def test_conversion_rules(firehose: Any, json_error: ErrorExpectation) -> None:
    with json_error("InvalidArgumentException", "UNCOMPRESSED"):
        firehose.create_delivery_stream(
            DeliveryStreamName="gz",
            ExtendedS3DestinationConfiguration=s3_config(
                CompressionFormat="GZIP", DataFormatConversionConfiguration=conversion()
            ),
        )
    with json_error("InvalidArgumentException", "64 MiB"):
        firehose.create_delivery_stream(
            DeliveryStreamName="small",
            ExtendedS3DestinationConfiguration=s3_config(
                BufferingHints={"SizeInMBs": 5, "IntervalInSeconds": 60},
                DataFormatConversionConfiguration=conversion(),
            ),
        )
    firehose.create_delivery_stream(
        DeliveryStreamName="ok",
        ExtendedS3DestinationConfiguration=s3_config(
            DataFormatConversionConfiguration=conversion()
        ),
    )
    extended = describe(firehose, "ok")["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert extended["BufferingHints"] == {"SizeInMBs": 128, "IntervalInSeconds": 300}
