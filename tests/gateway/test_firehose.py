"""Firehose through real boto3, over a socket and in-process: every operation, the
delivery into the lake, and the errors with AWS's codes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from fogbank import Fogbank

from .conftest import ErrorExpectation

ROLE = "arn:aws:iam::000000000000:role/firehose"
ARN = "arn:aws:firehose:us-east-1:000000000000:deliverystream/"
DESTINATION_ID = "destinationId-000000000001"


def s3_config(**extra: Any) -> dict[str, Any]:
    return {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::lake", **extra}


def create(firehose: Any, name: str = "clicks", **extra: Any) -> str:
    config = extra.pop("config", s3_config())
    answer = firehose.create_delivery_stream(
        DeliveryStreamName=name, ExtendedS3DestinationConfiguration=config, **extra
    )
    return str(answer["DeliveryStreamARN"])


def describe(firehose: Any, name: str = "clicks") -> dict[str, Any]:
    return dict(
        firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    )


def test_create_and_describe_fill_in_aws_defaults(firehose: Any) -> None:
    assert create(firehose, Tags=[{"Key": "team", "Value": "web"}]) == f"{ARN}clicks"
    d = describe(firehose)
    assert d["DeliveryStreamStatus"] == "ACTIVE"
    assert d["DeliveryStreamType"] == "DirectPut"
    assert d["VersionId"] == "1"
    assert d["DeliveryStreamEncryptionConfiguration"] == {"Status": "DISABLED"}
    [destination] = d["Destinations"]
    assert destination["DestinationId"] == DESTINATION_ID
    extended = destination["ExtendedS3DestinationDescription"]
    assert extended["BufferingHints"] == {"SizeInMBs": 5, "IntervalInSeconds": 300}
    assert extended["CompressionFormat"] == "UNCOMPRESSED"
    assert extended["EncryptionConfiguration"] == {"NoEncryptionConfig": "NoEncryption"}
    assert destination["S3DestinationDescription"]["BucketARN"] == "arn:aws:s3:::lake"
    assert firehose.list_tags_for_delivery_stream(DeliveryStreamName="clicks")["Tags"] == [
        {"Key": "team", "Value": "web"}
    ]


def test_plain_s3_destination_is_described_too(firehose: Any) -> None:
    firehose.create_delivery_stream(
        DeliveryStreamName="plain", S3DestinationConfiguration=s3_config(Prefix="p/")
    )
    [destination] = describe(firehose, "plain")["Destinations"]
    assert destination["S3DestinationDescription"]["Prefix"] == "p/"


def test_create_errors(firehose: Any, json_error: ErrorExpectation) -> None:
    create(firehose)
    with json_error("ResourceInUseException", "clicks", "already exists"):
        create(firehose)
    with json_error("InvalidArgumentException", "KinesisStreamSourceConfiguration"):
        create(firehose, "k", DeliveryStreamType="KinesisStreamAsSource")
    with json_error("InvalidArgumentException", "MSKAsSource", "not supported"):
        create(
            firehose,
            "m",
            DeliveryStreamType="MSKAsSource",
            MSKSourceConfiguration={
                "MSKClusterARN": "arn:aws:kafka:us-east-1:000000000000:cluster/c/1",
                "TopicName": "t",
                "AuthenticationConfiguration": {"RoleARN": ROLE, "Connectivity": "PUBLIC"},
            },
        )
    with json_error("InvalidArgumentException", "DataFormatConversionConfiguration"):
        create(firehose, "f", config=s3_config(DataFormatConversionConfiguration={"Enabled": True}))
    with json_error("InvalidArgumentException", "Lambda", "LambdaArn"):
        create(
            firehose,
            "l",
            config=s3_config(
                ProcessingConfiguration={"Enabled": True, "Processors": [{"Type": "Lambda"}]}
            ),
        )
    with json_error("InvalidArgumentException", "ErrorOutputPrefix"):
        create(firehose, "p", config=s3_config(Prefix="x/!{timestamp:yyyy}/"))
    with json_error("InvalidArgumentException", "BufferingHints"):
        create(firehose, "b", config=s3_config(BufferingHints={"SizeInMBs": 1}))
    with json_error("InvalidArgumentException", "HttpEndpointDestinationConfiguration"):
        firehose.create_delivery_stream(
            DeliveryStreamName="h",
            HttpEndpointDestinationConfiguration={
                "EndpointConfiguration": {"Url": "https://example.com"},
                "S3Configuration": s3_config(),
            },
        )


def test_list_delivery_streams_pages_and_filters(firehose: Any) -> None:
    for name in ["c", "a", "b"]:
        create(firehose, name)
    page = firehose.list_delivery_streams(Limit=2)
    assert page["DeliveryStreamNames"] == ["a", "b"]
    assert page["HasMoreDeliveryStreams"] is True
    rest = firehose.list_delivery_streams(ExclusiveStartDeliveryStreamName="b")
    assert rest["DeliveryStreamNames"] == ["c"] and rest["HasMoreDeliveryStreams"] is False
    none = firehose.list_delivery_streams(DeliveryStreamType="KinesisStreamAsSource")
    assert none["DeliveryStreamNames"] == []


def test_put_record_batch_is_delivered_into_the_lake(firehose: Any, fogbank: Fogbank) -> None:
    fogbank.lake.create_bucket("lake")
    create(
        firehose,
        config=s3_config(
            Prefix="raw/",
            BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0},
            ProcessingConfiguration={
                "Enabled": True,
                "Processors": [{"Type": "AppendDelimiterToRecord"}],
            },
        ),
    )
    single = firehose.put_record(DeliveryStreamName="clicks", Record={"Data": b"first"})
    assert single["RecordId"] and single["Encrypted"] is False
    batch = firehose.put_record_batch(
        DeliveryStreamName="clicks", Records=[{"Data": b"second"}, {"Data": b"third"}]
    )
    assert batch["FailedPutCount"] == 0
    assert all("RecordId" in r for r in batch["RequestResponses"])
    deadline = time.monotonic() + 10
    delivered = b""
    while time.monotonic() < deadline and delivered.count(b"\n") < 3:
        delivered = b"".join(
            fogbank.lake.read(f"s3://lake/{o.key}") for o in fogbank.lake.iter_objects("lake")
        )
        time.sleep(0.05)
    assert sorted(delivered.split(b"\n")[:-1]) == [b"first", b"second", b"third"]
    assert all(o.key.startswith("raw/") for o in fogbank.lake.iter_objects("lake"))


def test_put_errors(firehose: Any, json_error: ErrorExpectation) -> None:
    with json_error("ResourceNotFoundException", "nope", "not found"):
        firehose.put_record(DeliveryStreamName="nope", Record={"Data": b"x"})
    create(firehose)
    with json_error("InvalidArgumentException", "4 MiB"):
        firehose.put_record_batch(
            DeliveryStreamName="clicks", Records=[{"Data": b"x" * 1_000_000}] * 5
        )


def test_update_destination_checks_the_version(firehose: Any, json_error: ErrorExpectation) -> None:
    create(firehose)
    firehose.update_destination(
        DeliveryStreamName="clicks",
        CurrentDeliveryStreamVersionId="1",
        DestinationId=DESTINATION_ID,
        ExtendedS3DestinationUpdate={"CompressionFormat": "GZIP"},
    )
    d = describe(firehose)
    assert d["VersionId"] == "2"
    assert "LastUpdateTimestamp" in d
    extended = d["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert extended["CompressionFormat"] == "GZIP"
    with json_error("ConcurrentModificationException", "VersionId"):
        firehose.update_destination(
            DeliveryStreamName="clicks",
            CurrentDeliveryStreamVersionId="1",
            DestinationId=DESTINATION_ID,
            ExtendedS3DestinationUpdate={"CompressionFormat": "ZIP"},
        )
    with json_error("InvalidArgumentException", "DestinationId"):
        firehose.update_destination(
            DeliveryStreamName="clicks",
            CurrentDeliveryStreamVersionId="2",
            DestinationId="destinationId-000000000002",
            ExtendedS3DestinationUpdate={},
        )
    with json_error("ResourceNotFoundException", "nope"):
        firehose.update_destination(
            DeliveryStreamName="nope",
            CurrentDeliveryStreamVersionId="1",
            DestinationId=DESTINATION_ID,
            ExtendedS3DestinationUpdate={},
        )


def test_encryption_starts_and_stops(firehose: Any, json_error: ErrorExpectation) -> None:
    create(firehose)
    firehose.start_delivery_stream_encryption(
        DeliveryStreamName="clicks",
        DeliveryStreamEncryptionConfigurationInput={"KeyType": "AWS_OWNED_CMK"},
    )
    encryption = describe(firehose)["DeliveryStreamEncryptionConfiguration"]
    assert encryption == {"Status": "ENABLED", "KeyType": "AWS_OWNED_CMK"}
    assert firehose.put_record(DeliveryStreamName="clicks", Record={"Data": b"x"})["Encrypted"]
    firehose.stop_delivery_stream_encryption(DeliveryStreamName="clicks")
    assert describe(firehose)["DeliveryStreamEncryptionConfiguration"]["Status"] == "DISABLED"
    with json_error("InvalidArgumentException", "KeyARN"):
        firehose.start_delivery_stream_encryption(
            DeliveryStreamName="clicks",
            DeliveryStreamEncryptionConfigurationInput={"KeyType": "CUSTOMER_MANAGED_CMK"},
        )


def test_tags_add_list_page_remove_and_cap_at_fifty(
    firehose: Any, json_error: ErrorExpectation
) -> None:
    create(firehose)
    firehose.tag_delivery_stream(
        DeliveryStreamName="clicks", Tags=[{"Key": f"k{i:02d}", "Value": "v"} for i in range(3)]
    )
    page = firehose.list_tags_for_delivery_stream(DeliveryStreamName="clicks", Limit=2)
    assert [t["Key"] for t in page["Tags"]] == ["k00", "k01"] and page["HasMoreTags"]
    rest = firehose.list_tags_for_delivery_stream(
        DeliveryStreamName="clicks", ExclusiveStartTagKey="k01"
    )
    assert [t["Key"] for t in rest["Tags"]] == ["k02"] and not rest["HasMoreTags"]
    firehose.untag_delivery_stream(DeliveryStreamName="clicks", TagKeys=["k00"])
    tags = firehose.list_tags_for_delivery_stream(DeliveryStreamName="clicks")["Tags"]
    assert [t["Key"] for t in tags] == ["k01", "k02"]
    with json_error("LimitExceededException", "50"):
        firehose.tag_delivery_stream(
            DeliveryStreamName="clicks",
            Tags=[{"Key": f"n{i:02d}", "Value": "v"} for i in range(49)],
        )
    with json_error("ResourceNotFoundException", "nope"):
        firehose.list_tags_for_delivery_stream(DeliveryStreamName="nope")


def test_delete_delivery_stream(firehose: Any, json_error: ErrorExpectation) -> None:
    create(firehose)
    firehose.delete_delivery_stream(DeliveryStreamName="clicks")
    assert firehose.list_delivery_streams()["DeliveryStreamNames"] == []
    with json_error("ResourceNotFoundException", "clicks"):
        firehose.delete_delivery_stream(DeliveryStreamName="clicks")
    with json_error("ResourceNotFoundException", "clicks"):
        describe(firehose)


@pytest.mark.parametrize("transport", ["in-process"])
def test_status_is_creating_for_the_status_delay(transport: str, tmp_path: Any) -> None:
    from fogbank import FogbankConfig
    from fogbank.core.clock import ManualClock

    from .conftest import expect_error, transport_client

    clock = ManualClock()
    config = FogbankConfig.load(home=tmp_path / "slow", environ={"FOGBANK_STATUS_DELAY": "5"})
    with Fogbank(config, clock=clock) as fb, transport_client(transport, fb, "firehose") as client:
        create(client)
        assert describe(client)["DeliveryStreamStatus"] == "CREATING"
        with expect_error("ResourceNotFoundException", 400, "CREATING"):
            client.put_record(DeliveryStreamName="clicks", Record={"Data": b"x"})
        with expect_error("ResourceInUseException", 400, "CREATING"):
            client.tag_delivery_stream(DeliveryStreamName="clicks", Tags=[{"Key": "a"}])
        clock.advance(5)
        assert describe(client)["DeliveryStreamStatus"] == "ACTIVE"
