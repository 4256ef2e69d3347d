"""Glue crawlers through real boto3, over a socket and in-process: define, start, poll
until READY, read what was inferred with GetTables/GetPartitions, and the errors."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from fogbank import Fogbank

ROLE = "arn:aws:iam::000000000000:role/crawler"
# Generous: a crawl of a few small files takes well under a second, but CI is shared.
DEADLINE = 60.0


@pytest.fixture
def lake(fogbank: Fogbank) -> Fogbank:
    fogbank.lake.create_bucket("lake")
    return fogbank


def wait_ready(glue: Any, name: str) -> dict[str, Any]:
    """Poll GetCrawler, as a boto3 user would, until the crawler is READY again."""
    deadline = time.monotonic() + DEADLINE
    while True:
        crawler: dict[str, Any] = glue.get_crawler(Name=name)["Crawler"]
        if crawler["State"] == "READY" and "LastCrawl" in crawler:
            return crawler
        assert time.monotonic() < deadline, crawler
        time.sleep(0.05)


def expect_error(code: str, call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    assert error["Code"] == code, error
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    message: str = error["Message"]
    return message


def parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def test_crawl_creates_tables_and_partitions(glue: Any, lake: Fogbank) -> None:
    for day in ("2024-01-01", "2024-01-02"):
        lake.lake.put_object(
            "lake",
            f"sales/dt={day}/part-0.parquet",
            parquet(pa.table({"id": pa.array([1, 2], pa.int64()), "amount": [1.5, 2.5]})),
        )
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([["id", "name"], [1, "a"], [2, "b"]])
    lake.lake.put_object("lake", "people/people.csv", text.getvalue().encode())
    glue.create_crawler(
        Name="nightly",
        Role=ROLE,
        DatabaseName="analytics",
        Targets={"S3Targets": [{"Path": "s3://lake/sales/"}, {"Path": "s3://lake/people/"}]},
        Tags={"team": "data"},
    )
    assert glue.get_crawler(Name="nightly")["Crawler"]["State"] == "READY"
    glue.start_crawler(Name="nightly")
    crawler = wait_ready(glue, "nightly")
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    assert crawler["Version"] == 1
    assert crawler["SchemaChangePolicy"] == {
        "UpdateBehavior": "UPDATE_IN_DATABASE",
        "DeleteBehavior": "DEPRECATE_IN_DATABASE",
    }

    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName="analytics")["TableList"]}
    assert sorted(tables) == ["people", "sales"]
    sales = tables["sales"]
    assert sales["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert sales["StorageDescriptor"]["Columns"] == [
        {"Name": "id", "Type": "bigint"},
        {"Name": "amount", "Type": "double"},
    ]
    assert sales["Parameters"]["classification"] == "parquet"
    assert sales["Parameters"]["UPDATED_BY_CRAWLER"] == "nightly"
    people = tables["people"]
    assert people["Parameters"]["classification"] == "csv"
    assert people["Parameters"]["skip.header.line.count"] == "1"
    assert people["StorageDescriptor"]["SerdeInfo"]["Parameters"] == {"field.delim": ","}
    partitions = glue.get_partitions(DatabaseName="analytics", TableName="sales")["Partitions"]
    assert sorted(p["Values"] for p in partitions) == [["2024-01-01"], ["2024-01-02"]]
    assert {p["StorageDescriptor"]["Location"] for p in partitions} == {
        "s3://lake/sales/dt=2024-01-01/",
        "s3://lake/sales/dt=2024-01-02/",
    }

    metrics = glue.get_crawler_metrics(CrawlerNameList=["nightly"])["CrawlerMetricsList"]
    assert metrics[0]["TablesCreated"] == 2 and not metrics[0]["StillEstimating"]
    crawls = glue.list_crawls(CrawlerName="nightly")["Crawls"]
    assert [c["State"] for c in crawls] == ["COMPLETED"]
    assert json.loads(crawls[0]["Summary"])["TABLE"]["ADD"]["Count"] == 2
    assert glue.list_crawlers(Tags={"team": "data"})["CrawlerNames"] == ["nightly"]
    assert glue.list_crawlers(Tags={"team": "other"})["CrawlerNames"] == []
    assert [c["Name"] for c in glue.get_crawlers()["Crawlers"]] == ["nightly"]


def test_running_and_stopping_errors(glue: Any, lake: Fogbank) -> None:
    lake.lake.put_object("lake", "held/a.json", b'{"a": 1}\n')
    release, reached = threading.Event(), threading.Event()

    def hold(_: str) -> None:
        reached.set()
        release.wait(DEADLINE)

    lake.crawlers.before_file = hold
    try:
        glue.create_crawler(
            Name="slow",
            Role=ROLE,
            DatabaseName="db",
            Targets={"S3Targets": [{"Path": "s3://lake/held/"}]},
        )
        message = expect_error("CrawlerNotRunningException", glue.stop_crawler, Name="slow")
        assert "slow" in message
        glue.start_crawler(Name="slow")
        assert reached.wait(DEADLINE)
        assert glue.get_crawler(Name="slow")["Crawler"]["State"] == "RUNNING"
        expect_error("CrawlerRunningException", glue.start_crawler, Name="slow")
        expect_error("CrawlerRunningException", glue.update_crawler, Name="slow", Description="x")
        expect_error("CrawlerRunningException", glue.delete_crawler, Name="slow")
        glue.stop_crawler(Name="slow")
        assert glue.get_crawler(Name="slow")["Crawler"]["State"] == "STOPPING"
        expect_error("CrawlerStoppingException", glue.stop_crawler, Name="slow")
    finally:
        release.set()
    crawler = wait_ready(glue, "slow")
    assert crawler["LastCrawl"]["Status"] == "CANCELLED"
    crawls = glue.list_crawls(
        CrawlerName="slow",
        Filters=[{"FieldName": "STATE", "FilterOperator": "EQ", "FieldValue": "STOPPED"}],
    )["Crawls"]
    assert len(crawls) == 1


def test_unknown_crawler_and_bad_definitions(glue: Any, lake: Fogbank) -> None:
    for call in (glue.get_crawler, glue.start_crawler, glue.stop_crawler, glue.delete_crawler):
        message = expect_error("EntityNotFoundException", call, Name="ghost")
        assert "ghost" in message
    expect_error("EntityNotFoundException", glue.list_crawls, CrawlerName="ghost")
    targets = {"S3Targets": [{"Path": "s3://lake/x/"}]}
    glue.create_crawler(Name="dup", Role=ROLE, Targets=targets)
    expect_error(
        "AlreadyExistsException", glue.create_crawler, Name="dup", Role=ROLE, Targets=targets
    )
    message = expect_error(
        "InvalidInputException",
        glue.create_crawler,
        Name="bad",
        Role=ROLE,
        Targets={"S3Targets": [{"Path": "lake/x"}]},
    )
    assert "Path" in message
    assert glue.get_crawler_metrics(CrawlerNameList=["ghost"])["CrawlerMetricsList"] == []


def test_update_then_delete(glue: Any, lake: Fogbank) -> None:
    glue.create_crawler(Name="c", Role=ROLE, Targets={"S3Targets": [{"Path": "s3://lake/x/"}]})
    glue.update_crawler(
        Name="c",
        DatabaseName="db",
        Schedule="cron(0 12 * * ? *)",
        SchemaChangePolicy={"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"},
    )
    crawler = glue.get_crawler(Name="c")["Crawler"]
    assert crawler["Version"] == 2 and crawler["DatabaseName"] == "db"
    assert crawler["Schedule"]["ScheduleExpression"] == "cron(0 12 * * ? *)"
    assert crawler["SchemaChangePolicy"]["UpdateBehavior"] == "LOG"
    glue.delete_crawler(Name="c")
    assert glue.list_crawlers()["CrawlerNames"] == []


def json_lines(*records: dict[str, Any]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def test_crawl_new_folders_only_adds_only_the_new_partitions(glue: Any, lake: Fogbank) -> None:
    """CreateCrawler RecrawlPolicy CRAWL_NEW_FOLDERS_ONLY: the second crawl opens only the
    new folder's file, and adds it as a partition of the table the first crawl made."""
    for hour in ("00", "01"):
        lake.lake.put_object(
            "lake", f"clicks/hour={hour}/a.json", json_lines({"id": 1, "page": "/", "ms": 3})
        )
    opened: list[str] = []
    lake.crawlers.before_file = opened.append
    log_only = {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"}
    expect_error(
        "InvalidInputException",
        glue.create_crawler,
        Name="inc",
        Role=ROLE,
        DatabaseName="db",
        Targets={"S3Targets": [{"Path": "s3://lake/clicks/"}]},
        RecrawlPolicy={"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"},
    )
    glue.create_crawler(
        Name="inc",
        Role=ROLE,
        DatabaseName="db",
        Targets={"S3Targets": [{"Path": "s3://lake/clicks/"}]},
        RecrawlPolicy={"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"},
        SchemaChangePolicy=log_only,
    )
    glue.start_crawler(Name="inc")
    wait_ready(glue, "inc")
    assert len(opened) == 2
    opened.clear()
    lake.lake.put_object(
        "lake", "clicks/hour=02/a.json", json_lines({"id": 2, "page": "/a", "ms": 4})
    )
    glue.start_crawler(Name="inc")
    crawler = wait_ready(glue, "inc")
    assert crawler["RecrawlPolicy"] == {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}
    assert opened == ["s3://lake/clicks/hour=02/a.json"]
    partitions = glue.get_partitions(DatabaseName="db", TableName="clicks")["Partitions"]
    assert sorted(p["Values"] for p in partitions) == [["00"], ["01"], ["02"]]
    crawls = glue.list_crawls(CrawlerName="inc")["Crawls"]
    assert json.loads(crawls[0]["Summary"]) == {"PARTITION": {"ADD": {"Count": 1}}}


def test_table_threshold_fails_the_crawl(glue: Any, lake: Fogbank) -> None:
    """Configuration CrawlerOutput.Tables.TableThreshold: more tables fail the crawl."""
    lake.lake.put_object("lake", "mixed/a/x.json", json_lines({"a": 1}))
    lake.lake.put_object("lake", "mixed/b/y.json", json_lines({"q": [1], "r": "s"}))
    glue.create_crawler(
        Name="few",
        Role=ROLE,
        DatabaseName="db",
        Targets={"S3Targets": [{"Path": "s3://lake/mixed/"}]},
        Configuration=json.dumps(
            {"Version": 1.0, "CrawlerOutput": {"Tables": {"TableThreshold": 1}}}
        ),
    )
    glue.start_crawler(Name="few")
    last = wait_ready(glue, "few")["LastCrawl"]
    assert last["Status"] == "FAILED"
    assert "Table Threshold value = 1, Tables detected - 2" in last["ErrorMessage"]


def test_tags_on_a_crawler_arn(glue: Any, lake: Fogbank) -> None:
    """TagResource / UntagResource / GetTags on arn:aws:glue:<region>:<account>:crawler/<name>."""
    glue.create_crawler(
        Name="tagged",
        Role=ROLE,
        Targets={"S3Targets": [{"Path": "s3://lake/x/"}]},
        Tags={"team": "data"},
    )
    arn = f"arn:aws:glue:{lake.config.region}:{lake.config.account_id}:crawler/tagged"
    assert glue.get_tags(ResourceArn=arn)["Tags"] == {"team": "data"}
    glue.tag_resource(ResourceArn=arn, TagsToAdd={"stage": "dev"})
    glue.untag_resource(ResourceArn=arn, TagsToRemove=["team"])
    assert glue.get_tags(ResourceArn=arn)["Tags"] == {"stage": "dev"}
    assert glue.list_crawlers(Tags={"stage": "dev"})["CrawlerNames"] == ["tagged"]
    expect_error("EntityNotFoundException", glue.get_tags, ResourceArn=arn + "-missing")


def test_crawler_schedule_operations(glue: Any, lake: Fogbank) -> None:
    """UpdateCrawlerSchedule / StartCrawlerSchedule / StopCrawlerSchedule and their errors."""
    glue.create_crawler(Name="sched", Role=ROLE, Targets={"S3Targets": [{"Path": "s3://lake/x/"}]})
    assert "Schedule" not in glue.get_crawler(Name="sched")["Crawler"]
    expect_error("NoScheduleException", glue.start_crawler_schedule, CrawlerName="sched")
    expect_error("SchedulerNotRunningException", glue.stop_crawler_schedule, CrawlerName="sched")
    message = expect_error(
        "InvalidInputException",
        glue.update_crawler_schedule,
        CrawlerName="sched",
        Schedule="cron(0/2 * * * ? *)",
    )
    assert "5 minutes" in message
    expect_error(
        "InvalidInputException",
        glue.create_crawler,
        Name="bad-cron",
        Role=ROLE,
        Targets={"S3Targets": [{"Path": "s3://lake/x/"}]},
        Schedule="cron(0 12 * * * *)",
    )
    glue.update_crawler_schedule(CrawlerName="sched", Schedule="cron(15 3 ? * MON-FRI *)")
    schedule = glue.get_crawler(Name="sched")["Crawler"]["Schedule"]
    assert schedule == {"ScheduleExpression": "cron(15 3 ? * MON-FRI *)", "State": "SCHEDULED"}
    expect_error("SchedulerRunningException", glue.start_crawler_schedule, CrawlerName="sched")
    glue.stop_crawler_schedule(CrawlerName="sched")
    assert glue.get_crawler(Name="sched")["Crawler"]["Schedule"]["State"] == "NOT_SCHEDULED"
    glue.start_crawler_schedule(CrawlerName="sched")
    assert glue.get_crawler(Name="sched")["Crawler"]["Schedule"]["State"] == "SCHEDULED"
    expect_error("EntityNotFoundException", glue.start_crawler_schedule, CrawlerName="ghost")
