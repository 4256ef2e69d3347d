"""The Redshift destination without the gateway: staged objects and their manifests,
COPY into the warehouse (JSON, CSV with DELIMITER, GZIP), CopyOptions refused by name,
retries on the ManualClock then the error manifest, metrics, exactly-once COPY and
kill -9 durability."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from fogbank import Fogbank, FogbankConfig
from fogbank.core.clock import ManualClock
from fogbank.core.errors import InvalidArgumentException
from fogbank.firehose.engine import Firehose
from fogbank.firehose.warehouse import Warehouse, parse_copy_options

from .conftest import BUCKET, ROLE

URL = "jdbc:redshift://analytics.abc123.us-east-1.redshift.amazonaws.com:5439/dev"
NOW = {"SizeInMBs": 1, "IntervalInSeconds": 0}


def redshift(
    options: str = "JSON 'auto'", *, table: str = "events", **extra: Any
) -> dict[str, Any]:
    s3 = {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{BUCKET}", "BufferingHints": NOW}
    s3.update(extra.pop("s3", {}))
    return {
        "RoleARN": ROLE,
        "ClusterJDBCURL": URL,
        "CopyCommand": {"DataTableName": table, "CopyOptions": options},
        "Username": "firehose",
        "Password": "secret-password",
        "S3Configuration": s3,
        **extra,
    }


def keys(fb: Fogbank) -> list[str]:
    return sorted(o.key for o in fb.lake.iter_objects(BUCKET))


@pytest.fixture
def warehouse(hose: Firehose) -> Warehouse:
    made = hose.warehouse(URL)
    made.execute("CREATE TABLE events (id INTEGER, name VARCHAR(32), ts TIMESTAMP)")
    return made


def test_json_records_are_copied_into_the_table_through_a_manifest(
    hose: Firehose, fb: Fogbank, warehouse: Warehouse
) -> None:
    hose.create_delivery_stream("clicks", redshift=redshift("JSON 'auto' TIMEFORMAT 'auto'"))
    hose.put_record_batch(
        "clicks",
        [
            b'{"id": 1, "name": "a", "ts": "2026-01-01T00:00:01Z"}',
            b'{"id": 2, "name": "b", "extra": true}',
        ],
    )
    [delivery] = hose.deliver_due()
    [manifest] = [k for k in keys(fb) if k.startswith("manifests/")]
    assert manifest.startswith("manifests/2026/01/01/00/clicks-1-2026-01-01-00-00-00-")
    entries = json.loads(fb.lake.read(f"s3://{BUCKET}/{manifest}"))["entries"]
    assert entries == [{"url": f"s3://{BUCKET}/{delivery.key}", "mandatory": True}]
    rows = warehouse.execute("SELECT id, name, ts FROM events ORDER BY id").rows
    assert [r[:2] for r in rows] == [(1, "a"), (2, "b")]
    assert str(rows[0][2]) == "2026-01-01 00:00:01" and rows[1][2] is None
    assert hose.pending_copies("clicks") == 0
    assert warehouse.path == fb.config.home / "warehouse" / "analytics" / "dev.duckdb"


def test_csv_with_a_delimiter_gzip_staging_and_a_header(
    hose: Firehose, fb: Fogbank, warehouse: Warehouse
) -> None:
    hose.create_delivery_stream(
        "rows",
        redshift=redshift(
            "CSV DELIMITER ';' GZIP IGNOREHEADER 1 EMPTYASNULL",
            s3={"CompressionFormat": "GZIP", "Prefix": "stage/"},
        ),
    )
    hose.put_record_batch("rows", [b"id;name;ts\n", b'7;"x; y";2026-01-02 03:04:05\n', b"8;;\n"])
    [delivery] = hose.deliver_due()
    assert delivery.key.startswith("stage/2026/") and delivery.key.endswith(".gz")
    assert gzip.decompress(fb.lake.read(f"s3://{BUCKET}/{delivery.key}")).startswith(b"id;")
    assert any(k.startswith("stage/manifests/2026/01/01/00/rows-1-") for k in keys(fb))
    rows = warehouse.execute("SELECT id, name, ts FROM events ORDER BY id").rows
    assert [(r[0], r[1]) for r in rows] == [(7, "x; y"), (8, None)]


def test_a_missing_table_is_retried_then_its_manifest_goes_to_errors(
    hose: Firehose, fb: Fogbank, clock: ManualClock
) -> None:
    hose.create_delivery_stream(
        "late", redshift=redshift(table="later", RetryOptions={"DurationInSeconds": 60})
    )
    hose.put_record("late", b'{"id": 1}')
    hose.deliver_due()
    assert hose.pending_copies("late") == 1
    for _ in range(6):  # backoff 1, 2, 4, 8, 16, then the rest of the 60 seconds
        clock.advance(30)
        hose.deliver_due()
    assert hose.pending_copies("late") == 0
    [error] = [k for k in keys(fb) if k.startswith("errors/manifests/")]
    [manifest] = [k for k in keys(fb) if k.startswith("manifests/")]
    assert error == "errors/" + manifest
    assert fb.lake.read(f"s3://{BUCKET}/{error}") == fb.lake.read(f"s3://{BUCKET}/{manifest}")
    points = fb.store.get_metrics(
        "AWS/Firehose", "DeliveryToRedshift.Success", dimensions={"DeliveryStreamName": "late"}
    )
    assert len(points) >= 2 and {p.value for p in points} == {0.0}


def test_a_copy_that_fails_then_succeeds_within_the_retry_duration_loads_once(
    hose: Firehose, fb: Fogbank, clock: ManualClock
) -> None:
    hose.create_delivery_stream("soon", redshift=redshift())
    hose.put_record("soon", b'{"id": 5, "name": "e"}')
    hose.deliver_due()  # staged; the COPY fails: no table yet
    assert hose.copy_pending("soon") == []  # waits for its backoff
    made = hose.warehouse(URL)
    made.execute("CREATE TABLE events (id INTEGER, name VARCHAR)")
    assert hose.copy_pending("soon") == []  # waits for its backoff
    clock.advance(5)
    [loaded] = hose.copy_pending("soon")
    assert loaded.rows == 1 and loaded.error is None
    totals = hose.metrics.totals("soon")
    assert totals["DeliveryToRedshift.Records"] == 1
    assert totals["DeliveryToRedshift.Bytes"] == len(b'{"id": 5, "name": "e"}')
    assert totals["DeliveryToRedshift.DataFreshness"] == 5.0
    assert totals["DeliveryToS3.Records"] == 1
    assert not [k for k in keys(fb) if k.startswith("errors/")]


def test_retry_duration_zero_gives_up_at_the_first_failure(
    hose: Firehose, fb: Fogbank, warehouse: Warehouse
) -> None:
    hose.create_delivery_stream(
        "strict", redshift=redshift("CSV", RetryOptions={"DurationInSeconds": 0})
    )
    hose.put_record("strict", b"not-a-number,a,\n")
    hose.deliver_due()
    assert [k for k in keys(fb) if k.startswith("errors/manifests/")]
    rows = warehouse.execute("SELECT * FROM fogbank.loaded_manifests").rows
    assert rows == []


def test_maxerror_skips_bad_records_into_load_errors(hose: Firehose, warehouse: Warehouse) -> None:
    hose.create_delivery_stream("lenient", redshift=redshift("JSON 'auto ignorecase' MAXERROR 1"))
    hose.put_record_batch("lenient", [b'{"ID": 1}', b'{"id": "one"}', b'{"Id": 3}'])
    hose.deliver_due()
    assert warehouse.execute("SELECT id FROM events ORDER BY id").rows == [(1,), (3,)]
    [(column, value)] = warehouse.execute(
        "SELECT colname, raw_field_value FROM fogbank.load_errors"
    ).rows
    assert (column, value) == ("id", "one")


def test_a_manifest_already_loaded_is_not_loaded_again(
    hose: Firehose, fb: Fogbank, warehouse: Warehouse
) -> None:
    """The crash between the COPY's commit and the queue's delete: the COPY runs again
    and loads nothing, since the manifest is recorded in the same transaction."""
    hose.create_delivery_stream("once", redshift=redshift())
    hose.put_record("once", b'{"id": 1}')
    hose.deliver_due()
    [manifest] = [k for k in keys(fb) if k.startswith("manifests/")]
    options = parse_copy_options("JSON 'auto'")
    again = warehouse.copy(
        f"s3://{BUCKET}/{manifest}", "events", [], options, fb.lake.read, now=fb.clock.now()
    )
    assert again.already
    assert warehouse.execute("SELECT count(*) FROM events").rows == [(1,)]


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (redshift(s3={"CompressionFormat": "Snappy"}), ["Snappy", "Redshift"]),
        (redshift(s3={"CompressionFormat": "ZIP"}), ["ZIP"]),
        (redshift("JSON 'auto' LZOP"), ["LZOP", "not supported"]),
        (redshift("JSON 's3://b/paths.json'"), ["JSON", "auto"]),
        (redshift("DELIMITER"), ["DELIMITER", "quoted"]),
        (redshift("JSON 'auto' CSV"), ["JSON", "CSV"]),
        (redshift(RetryOptions={"DurationInSeconds": 7201}), ["DurationInSeconds", "7200"]),
        (redshift(table="bad name"), ["DataTableName"]),
        ({**redshift(), "ClusterJDBCURL": "jdbc:mysql://h:1/d"}, ["ClusterJDBCURL"]),
    ],
)
def test_bad_configurations_are_refused_naming_the_field(
    hose: Firehose, config: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(InvalidArgumentException) as caught:
        hose.create_delivery_stream("bad", redshift=config)
    for word in words:
        assert word in caught.value.message


def test_the_password_is_never_kept(hose: Firehose, fb: Fogbank) -> None:
    hose.create_delivery_stream("quiet", redshift=redshift())
    described = hose.describe_delivery_stream("quiet")
    assert described.redshift is not None
    assert "Password" not in described.redshift.describe()
    resource = fb.store.find_resource("firehose", "deliverystream", "quiet")
    assert resource is not None and "secret-password" not in json.dumps(resource.body)


def test_staged_copies_survive_kill_9_and_are_copied_after_reopening(tmp_path: Path) -> None:
    home = tmp_path / "crash"
    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from fogbank import Fogbank, FogbankConfig
        fb = Fogbank(FogbankConfig.load(home=Path({str(home)!r}), environ={{}}))
        fb.lake.create_bucket("lake")
        fb.firehose.create_delivery_stream("durable", redshift={{
            "RoleARN": "arn:aws:iam::000000000000:role/r",
            "ClusterJDBCURL": {URL!r},
            "CopyCommand": {{"DataTableName": "events", "CopyOptions": "JSON 'auto'"}},
            "S3Configuration": {{
                "RoleARN": "arn:aws:iam::000000000000:role/r",
                "BucketARN": "arn:aws:s3:::lake",
                "BufferingHints": {{"SizeInMBs": 1, "IntervalInSeconds": 0}},
            }},
        }})
        for i in range(20):
            fb.firehose.put_record("durable", b'{{"id": %d}}' % i)
        while fb.firehose.pending_copies("durable") == 0:
            time.sleep(0.05)  # staged, its COPY failing: the table is not there yet
        print("staged", flush=True)
        time.sleep(600)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "staged"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
        if child.stdout is not None:
            child.stdout.close()
    clock = ManualClock(start=ManualClock().now().replace(year=2100))
    with Fogbank(FogbankConfig.load(home=home, environ={}), clock=clock) as reopened:
        made = reopened.firehose.warehouse(URL)
        made.execute("CREATE TABLE events (id INTEGER)")
        deadline = time.monotonic() + 20  # the reopened engine's own loop may run them too
        while time.monotonic() < deadline:
            reopened.firehose.deliver_due(force=True)
            counted = made.execute("SELECT count(*), count(DISTINCT id) FROM events").rows
            if counted == [(20, 20)] and reopened.firehose.pending_copies("durable") == 0:
                break
            time.sleep(0.05)
        assert counted == [(20, 20)]


def test_s3_backup_keeps_the_source_records_before_the_transform(
    hose: Firehose, fb: Fogbank, warehouse: Warehouse
) -> None:
    fb.lake.create_bucket("backup")
    processing = {
        "Enabled": True,
        "Processors": [
            {
                "Type": "Lambda",
                "Parameters": [
                    {
                        "ParameterName": "LambdaArn",
                        "ParameterValue": "python:tests.firehose.transforms:upper",
                    }
                ],
            }
        ],
    }
    hose.create_delivery_stream(
        "kept",
        redshift=redshift(
            "CSV",
            ProcessingConfiguration=processing,
            S3BackupMode="Enabled",
            S3BackupConfiguration={
                "RoleARN": ROLE,
                "BucketARN": "arn:aws:s3:::backup",
                "Prefix": "source/",
                "CompressionFormat": "GZIP",
            },
        ),
    )
    hose.put_record_batch("kept", [b"1,a,\n", b"2,b,\n"])
    hose.deliver_due()
    rows = warehouse.execute("SELECT id, name FROM events ORDER BY id").rows
    assert rows == [(1, "A"), (2, "B")]  # transformed before the COPY
    [backed] = [o.key for o in fb.lake.iter_objects("backup")]
    assert backed.startswith("source/2026/01/01/00/kept-1-") and backed.endswith(".gz")
    assert gzip.decompress(fb.lake.read(f"s3://backup/{backed}")) == b"1,a,\n2,b,\n"
    described = hose.describe_delivery_stream("kept").redshift
    assert described is not None
    assert described.describe()["S3BackupDescription"]["Prefix"] == "source/"
    with pytest.raises(InvalidArgumentException, match="cannot be turned off"):
        hose.update_destination(
            "kept", "1", "destinationId-000000000001", redshift={"S3BackupMode": "Disabled"}
        )


def test_the_cli_runs_sql_on_the_warehouse(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fogbank.cli import app

    runner = CliRunner()
    home = str(tmp_path / "cli")
    made = runner.invoke(
        app,
        [
            "--home",
            home,
            "firehose",
            "warehouse",
            URL,
            "CREATE TABLE t (a INT); INSERT INTO t VALUES (42)",
        ],
    )
    assert made.exit_code == 0, made.output
    shown = runner.invoke(app, ["--home", home, "firehose", "warehouse", URL, "SELECT a FROM t"])
    assert shown.exit_code == 0, shown.output
    assert "42" in shown.output and "1 rows" in shown.output
    failed = runner.invoke(
        app, ["--home", home, "firehose", "warehouse", URL, "SELECT * FROM nope"]
    )
    assert failed.exit_code == 1


def test_load_errors_name_the_line_of_each_bad_json_record(tmp_path: Path) -> None:
    """Records on several lines, some run together: each error keeps its own line."""
    from datetime import UTC, datetime

    warehouse = Warehouse(tmp_path / "dev.duckdb")
    warehouse.execute("CREATE TABLE t (i INTEGER)")
    data = b'{"i": 1}\n{"i": 2}{"i": "two"}\n\n{"i": 4}\n{"i": "four"}\n'
    store = {
        "s3://b/o": data,
        "s3://b/m": json.dumps({"entries": [{"url": "s3://b/o", "mandatory": True}]}).encode(),
    }
    loaded = warehouse.copy(
        "s3://b/m",
        "t",
        ["i"],
        parse_copy_options("JSON 'auto' MAXERROR 5"),
        store.__getitem__,
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert (loaded.rows, loaded.skipped) == (3, 2)
    assert warehouse.execute("SELECT i FROM t ORDER BY i").rows == [(1,), (2,), (4,)]
    lines = warehouse.execute(
        "SELECT line_number, raw_field_value FROM fogbank.load_errors ORDER BY line_number"
    ).rows
    assert lines == [(2, "two"), (5, "four")]
