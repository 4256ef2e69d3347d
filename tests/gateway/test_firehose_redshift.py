"""The Redshift destination through real boto3, over a socket and in-process: records
COPY'd into the warehouse table, the description's shape (no Password), UpdateDestination,
AWS's refusals, and a missing table retried on the ManualClock into errors/manifests/."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from fogbank import Fogbank, FogbankConfig
from fogbank.core.clock import ManualClock

from .conftest import ErrorExpectation, expect_error, transport_client
from .test_firehose import DESTINATION_ID, ROLE, describe


def settle(check: Any) -> None:
    """Wait (briefly, in real time) for ``check()``: the engine's own delivery loop
    may be the one that runs a due delivery or COPY."""
    deadline = time.monotonic() + 10
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert check()


URL = "jdbc:redshift://analytics.abc123.us-east-1.redshift.amazonaws.com:5439/dev"


def redshift(options: str = "JSON 'auto'", **extra: Any) -> dict[str, Any]:
    s3: dict[str, Any] = {
        "RoleARN": ROLE,
        "BucketARN": "arn:aws:s3:::stage",
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
    }
    s3.update(extra.pop("s3", {}))
    return {
        "RoleARN": ROLE,
        "ClusterJDBCURL": URL,
        "CopyCommand": {"DataTableName": "events", "CopyOptions": options},
        "Username": "firehose",
        "Password": "secret-password",
        "S3Configuration": s3,
        **extra,
    }


def test_records_are_copied_into_the_warehouse_table(firehose: Any, fogbank: Fogbank) -> None:
    fogbank.lake.create_bucket("stage")
    warehouse = fogbank.firehose.warehouse(URL)
    warehouse.execute("CREATE TABLE events (id INTEGER, page VARCHAR)")
    firehose.create_delivery_stream(
        DeliveryStreamName="views", RedshiftDestinationConfiguration=redshift()
    )
    firehose.put_record_batch(
        DeliveryStreamName="views",
        Records=[{"Data": b'{"id": 1, "page": "/"}'}, {"Data": b'{"id": 2, "page": "/a"}'}],
    )
    deadline = time.monotonic() + 15
    rows: list[tuple[Any, ...]] = []
    while time.monotonic() < deadline and len(rows) < 2:
        rows = warehouse.execute("SELECT id, page FROM events ORDER BY id").rows
        time.sleep(0.05)
    assert rows == [(1, "/"), (2, "/a")]
    keys = [o.key for o in fogbank.lake.iter_objects("stage")]
    assert any(k.startswith("manifests/") for k in keys)
    totals = fogbank.firehose.metrics.totals("views")
    assert totals["DeliveryToRedshift.Records"] == 2
    assert totals["DeliveryToRedshift.Success"] == 1


def test_describe_gives_the_redshift_description_without_the_password(firehose: Any) -> None:
    firehose.create_delivery_stream(
        DeliveryStreamName="views",
        RedshiftDestinationConfiguration=redshift(
            "CSV GZIP", s3={"CompressionFormat": "GZIP", "Prefix": "raw/"}
        ),
    )
    [destination] = describe(firehose, "views")["Destinations"]
    assert destination["DestinationId"] == DESTINATION_ID
    assert set(destination) == {"DestinationId", "RedshiftDestinationDescription"}
    described = destination["RedshiftDestinationDescription"]
    assert "Password" not in described
    assert described["ClusterJDBCURL"] == URL
    assert described["Username"] == "firehose"
    assert described["CopyCommand"] == {"DataTableName": "events", "CopyOptions": "CSV GZIP"}
    assert described["RetryOptions"] == {"DurationInSeconds": 3600}
    assert described["S3BackupMode"] == "Disabled"
    s3 = described["S3DestinationDescription"]
    assert s3["BucketARN"] == "arn:aws:s3:::stage" and s3["Prefix"] == "raw/"
    assert s3["CompressionFormat"] == "GZIP"
    assert s3["BufferingHints"] == {"SizeInMBs": 1, "IntervalInSeconds": 0}


def test_update_destination_merges_a_redshift_update(
    firehose: Any, json_error: ErrorExpectation
) -> None:
    firehose.create_delivery_stream(
        DeliveryStreamName="views", RedshiftDestinationConfiguration=redshift()
    )
    firehose.update_destination(
        DeliveryStreamName="views",
        CurrentDeliveryStreamVersionId="1",
        DestinationId=DESTINATION_ID,
        RedshiftDestinationUpdate={
            "CopyCommand": {"DataTableName": "clicks", "CopyOptions": "CSV"},
            "RetryOptions": {"DurationInSeconds": 60},
            "Password": "another-password",
            "S3Update": {"Prefix": "new/"},
        },
    )
    d = describe(firehose, "views")
    assert d["VersionId"] == "2"
    described = d["Destinations"][0]["RedshiftDestinationDescription"]
    assert described["CopyCommand"] == {"DataTableName": "clicks", "CopyOptions": "CSV"}
    assert described["RetryOptions"] == {"DurationInSeconds": 60}
    assert described["S3DestinationDescription"]["Prefix"] == "new/"
    assert "Password" not in described
    with json_error("InvalidArgumentException", "Snappy"):
        firehose.update_destination(
            DeliveryStreamName="views",
            CurrentDeliveryStreamVersionId="2",
            DestinationId=DESTINATION_ID,
            RedshiftDestinationUpdate={"S3Update": {"CompressionFormat": "Snappy"}},
        )
    with json_error("InvalidArgumentException", "RedshiftDestinationUpdate"):
        firehose.update_destination(
            DeliveryStreamName="views",
            CurrentDeliveryStreamVersionId="2",
            DestinationId=DESTINATION_ID,
            ExtendedS3DestinationUpdate={"Prefix": "x/"},
        )


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (redshift(s3={"CompressionFormat": "Snappy"}), ["Snappy", "Redshift"]),
        (redshift(s3={"CompressionFormat": "ZIP"}), ["ZIP", "Redshift"]),
        (redshift("JSON 'auto' ACCEPTINVCHARS"), ["ACCEPTINVCHARS", "not supported"]),
        (redshift("MAXERROR many"), ["MAXERROR"]),
    ],
)
def test_create_refuses_what_aws_or_fogbank_refuses(
    firehose: Any, json_error: ErrorExpectation, config: dict[str, Any], words: list[str]
) -> None:
    with json_error("InvalidArgumentException", *words):
        firehose.create_delivery_stream(
            DeliveryStreamName="bad", RedshiftDestinationConfiguration=config
        )


@pytest.mark.parametrize("transport", ["in-process"])
def test_a_missing_table_is_retried_then_given_up_to_errors_manifests(
    transport: str, tmp_path: Path
) -> None:
    clock = ManualClock()
    config = FogbankConfig.load(home=tmp_path / "home", environ={})
    with Fogbank(config, clock=clock) as fb, transport_client(transport, fb, "firehose") as client:
        fb.lake.create_bucket("stage")
        client.create_delivery_stream(
            DeliveryStreamName="late",
            RedshiftDestinationConfiguration=redshift(RetryOptions={"DurationInSeconds": 120}),
        )
        client.put_record(DeliveryStreamName="late", Record={"Data": b'{"id": 1}'})
        fb.firehose.deliver_due()
        settle(lambda: fb.firehose.pending_copies("late") == 1)
        clock.advance(60)
        fb.firehose.deliver_due()
        assert fb.firehose.pending_copies("late") == 1  # still within the retry duration
        clock.advance(60)
        fb.firehose.deliver_due()
        settle(lambda: fb.firehose.pending_copies("late") == 0)
        keys = sorted(o.key for o in fb.lake.iter_objects("stage"))
        [error] = [k for k in keys if k.startswith("errors/manifests/2026/01/01/00/late-1-")]
        assert fb.lake.read(f"s3://stage/{error}").startswith(b'{"entries": [{"url": "s3://stage/')
        totals = fb.firehose.metrics.totals("late")
        assert totals["DeliveryToRedshift.Success"] == 0
        assert "DeliveryToRedshift.Records" not in totals
        with expect_error("ResourceNotFoundException", 400, "nope"):
            client.describe_delivery_stream(DeliveryStreamName="nope")
