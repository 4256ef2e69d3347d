"""The `fogbank` command: the demo, status and the lake's file commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from fogbank import Fogbank, FogbankConfig, cli
from fogbank.cli import app


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, home: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--home", str(home), *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_demo_runs_every_stage_and_records_the_run(runner: CliRunner, tmp_path: Path) -> None:
    code, out = invoke(runner, tmp_path, "demo", "--events", "3000", "--hours", "6")
    assert code == 0, out
    assert "3,000 ad impressions over 6 h" in out
    assert "3,000 events in 6 hourly partitions" in out
    with Fogbank(FogbankConfig.load(home=tmp_path)) as fogbank:
        keys = [o.key for o in fogbank.lake.iter_objects("fogbank-demo", "clickstream/raw/")]
        # One object per hour partition and shard the consumer read it from.
        assert {k.rsplit("/", 1)[0] for k in keys} == {
            f"clickstream/raw/year=2026/month=01/day=01/hour={h:02d}" for h in range(6)
        }
        assert all(re.fullmatch(r".*/events-shardId-00000000000[0-3]\.json", k) for k in keys)
        table = fogbank.catalog.get_table("fogbank_demo", "raw")  # named by the crawler
        assert [k["Name"] for k in table.partition_keys] == ["year", "month", "day", "hour"]
        summary = fogbank.streams.describe_stream_summary("fogbank-demo-clickstream")
        assert summary.open_shard_count == 4
        runs, _ = fogbank.store.list_resources("demo", "run")
        assert len(runs) == 1 and runs[0].state == "Completed"
        seconds = fogbank.store.get_metrics("fogbank/demo", "StageSeconds")
        assert {p.dimensions["Stage"] for p in seconds} == {
            "generate",
            "stream",
            "lake",
            "readback",
            "s3api",
            "catalog",
            "query",
            "deliver",
            "train",
            "serve",
            "transform",
        }
        trained = fogbank.training.list_training_jobs(status_equals="Completed").jobs
        assert sorted(j.algorithm for j in trained) == [
            "factorization-machines",
            "linear-learner",
            "xgboost",
        ]


def test_demo_rerun_replaces_the_data_set(runner: CliRunner, tmp_path: Path) -> None:
    assert invoke(runner, tmp_path, "demo", "--events", "2000", "--hours", "4")[0] == 0
    code, out = invoke(runner, tmp_path, "demo", "--events", "2000", "--hours", "2")
    assert code == 0, out
    assert "2,000 events in 2 hourly partitions" in out


def test_status_shows_buckets_and_last_run(runner: CliRunner, tmp_path: Path) -> None:
    code, out = invoke(runner, tmp_path, "status")
    assert code == 0 and "no demo run yet" in out
    invoke(runner, tmp_path, "demo", "--events", "1000", "--hours", "1")
    code, out = invoke(runner, tmp_path, "status")
    assert code == 0, out
    assert "fogbank-demo" in out and "last demo run" in out


def test_lake_commands_round_trip_a_folder(runner: CliRunner, tmp_path: Path) -> None:
    home = tmp_path / "home"
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.txt").write_text("beta")
    assert invoke(runner, home, "lake", "mb", "s3://data")[0] == 0
    code, out = invoke(runner, home, "lake", "cp", "--recursive", str(src), "s3://data/in/")
    assert code == 0, out
    code, out = invoke(runner, home, "lake", "ls", "s3://data/in/")
    assert "PRE sub/" in out and "a.txt" in out
    code, out = invoke(runner, home, "lake", "ls", "--recursive", "s3://data/")
    assert "in/sub/b.txt" in out
    code, out = invoke(runner, home, "lake", "cat", "s3://data/in/sub/b.txt")
    assert code == 0 and out == "beta"
    assert invoke(runner, home, "lake", "cp", "s3://data/in/a.txt", "s3://data/copy.txt")[0] == 0
    dst = tmp_path / "out"
    assert invoke(runner, home, "lake", "cp", "-r", "s3://data/in", str(dst))[0] == 0
    assert (dst / "sub" / "b.txt").read_text() == "beta"
    assert invoke(runner, home, "lake", "rm", "--recursive", "s3://data/")[0] == 0
    code, out = invoke(runner, home, "lake", "ls", "--recursive", "s3://data/")
    assert code == 0 and out == ""
    assert invoke(runner, home, "lake", "rb", "s3://data")[0] == 0
    assert invoke(runner, home, "lake", "ls")[1] == ""


def test_lake_errors_exit_one_with_the_aws_code(runner: CliRunner, tmp_path: Path) -> None:
    code, out = invoke(runner, tmp_path, "lake", "cat", "s3://missing/key")
    assert code == 1
    assert "NoSuchBucket" in out and "missing" in out
    code, out = invoke(runner, tmp_path, "lake", "mb", "s3://Bad_Name")
    assert code == 1 and "InvalidBucketName" in out


def test_a_bad_setting_is_reported_not_raised(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("limits = 'maybe'\n")
    code, out = invoke(runner, tmp_path, "status")
    assert code == 1 and "InvalidConfiguration" in out and "limits" in out


def test_streams_commands_create_put_tail_and_list(runner: CliRunner, tmp_path: Path) -> None:
    code, out = invoke(runner, tmp_path, "streams", "create", "clicks", "--shards", "2")
    assert code == 0 and "created stream clicks (PROVISIONED, 2 shards)" in out
    result = runner.invoke(
        app, ["--home", str(tmp_path), "streams", "put", "clicks"], input="one\ntwo\nthree\n"
    )
    assert result.exit_code == 0 and "put 3 record(s) into clicks" in result.output
    code, out = invoke(runner, tmp_path, "streams", "put", "clicks", "four", "--partition-key", "k")
    assert code == 0 and "put 1 record(s)" in out
    code, out = invoke(runner, tmp_path, "streams", "tail", "clicks")
    assert code == 0
    assert sorted(line.split()[-1] for line in out.splitlines()) == [
        "four",
        "one",
        "three",
        "two",
    ]
    code, out = invoke(runner, tmp_path, "streams", "ls")
    assert code == 0 and "clicks" in out and "ACTIVE" in out


def test_streams_tail_of_a_missing_stream_names_it(runner: CliRunner, tmp_path: Path) -> None:
    code, out = invoke(runner, tmp_path, "streams", "tail", "nope")
    assert code == 1 and "ResourceNotFoundException" in out and "nope" in out


def test_glue_crawl_and_tables_show_the_inferred_table(runner: CliRunner, tmp_path: Path) -> None:
    with Fogbank(FogbankConfig.load(home=tmp_path)) as fogbank:
        fogbank.lake.create_bucket("lake")
        for day in ("01", "02"):
            body = b'{"user": "u1", "clicks": 3}\n{"user": "u2", "clicks": 5}\n'
            fogbank.lake.put_object("lake", f"events/day={day}/part-0.json", body)
    code, out = invoke(runner, tmp_path, "glue", "crawl", "s3://lake/events/", "--database", "web")
    assert code == 0, out
    assert "crawl SUCCEEDED: 1 table(s) created" in out
    code, out = invoke(runner, tmp_path, "glue", "tables", "--database", "web")
    assert code == 0 and "web.events" in out and "json" in out and "day" in out
    again, out = invoke(runner, tmp_path, "glue", "crawl", "s3://lake/events/", "--database", "web")
    assert again == 0 and "crawl SUCCEEDED" in out  # the crawler is reused


def test_glue_tables_of_a_missing_database_names_it(runner: CliRunner, tmp_path: Path) -> None:
    code, out = invoke(runner, tmp_path, "glue", "tables", "--database", "nope")
    assert code == 1 and "EntityNotFoundException" in out


def test_query_and_firehose_commands(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`fogbank query` shows the rows, the bytes scanned and the cost; a failed query
    exits 1 with Athena's reason; `fogbank firehose ls` shows a stream's metrics."""
    code, out = invoke(runner, tmp_path, "query", "SELECT 1 + 1 AS two, 'x' AS s")
    assert code == 0, out
    assert "two" in out and "scanned" in out and "USD" in out
    code, out = invoke(runner, tmp_path, "query", "SELECT * FROM nowhere")
    assert code == 1
    with Fogbank(FogbankConfig.load(home=tmp_path, environ={})) as fb:
        fb.lake.create_bucket("sink")
        fb.firehose.create_delivery_stream(
            "events",
            s3={
                "RoleARN": "arn:aws:iam::000000000000:role/f",
                "BucketARN": "arn:aws:s3:::sink",
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
            },
        )
        fb.firehose.put_record_batch("events", [b"a", b"b"])
        fb.firehose.deliver_due("events")
    # wide enough that no cell is cut short, whatever terminal runs the tests
    monkeypatch.setattr(cli, "console", Console(width=200))
    code, out = invoke(runner, tmp_path, "firehose", "ls")
    assert code == 0, out
    row = next(line for line in out.splitlines() if "events" in line)
    assert "DirectPut" in row and "s3://sink/" in row
    assert [cell.strip() for cell in row.split("│")[5:8]] == ["0", "2", "2"]
