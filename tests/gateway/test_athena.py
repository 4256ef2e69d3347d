"""Athena through real boto3, over a socket and in-process: queries over crawled and
DDL-made tables, result pages, statistics, stop, the bytes cutoff, workgroups, named
queries, prepared statements and the errors."""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import time
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from fogbank import Fogbank
from fogbank.gateway.services import athena as athena_adapter
from fogbank.query import run as run_module

OUTPUT = "s3://lake/results/"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
DEADLINE = 60.0


@pytest.fixture
def lake(fogbank: Fogbank) -> Fogbank:
    """A bucket with a partitioned Parquet table ``db.sales`` (2 days x 1,000 rows) and a
    headed CSV table ``db.people``, both in the catalog."""
    fogbank.lake.create_bucket("lake")
    for day in ("2024-01-01", "2024-01-02"):
        table = pa.table(
            {
                "id": pa.array(range(1000), pa.int64()),
                "amount": [i * 0.5 for i in range(1000)],
                "note": [os.urandom(100).hex() for _ in range(1000)],
            }
        )
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        fogbank.lake.put_object("lake", f"sales/dt={day}/part-0.parquet", buffer.getvalue())
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(
        [["name", "age"], ["alice", 30], ["bob", "n/a"], ["carol", 41]]
    )
    fogbank.lake.put_object("lake", "people/people.csv", text.getvalue().encode())
    fogbank.catalog.create_database({"Name": "db"})
    fogbank.catalog.create_table(
        "db",
        {
            "Name": "sales",
            "TableType": "EXTERNAL_TABLE",
            "PartitionKeys": [{"Name": "dt", "Type": "string"}],
            "StorageDescriptor": {
                "Columns": [
                    {"Name": "id", "Type": "bigint"},
                    {"Name": "amount", "Type": "double"},
                    {"Name": "note", "Type": "string"},
                ],
                "Location": "s3://lake/sales/",
                "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
            },
            "Parameters": {"classification": "parquet"},
        },
    )
    fogbank.catalog.batch_create_partition(
        "db",
        "sales",
        [
            {
                "Values": [day],
                "StorageDescriptor": {"Location": f"s3://lake/sales/dt={day}/"},
            }
            for day in ("2024-01-01", "2024-01-02")
        ],
    )
    return fogbank


def run(athena: Any, sql: str, **kwargs: Any) -> dict[str, Any]:
    """StartQueryExecution, then GetQueryExecution until the query is final."""
    kwargs.setdefault("QueryExecutionContext", {"Database": "db"})
    kwargs.setdefault("ResultConfiguration", {"OutputLocation": OUTPUT})
    query_id = athena.start_query_execution(QueryString=sql, **kwargs)["QueryExecutionId"]
    return wait(athena, query_id)


def wait(athena: Any, query_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    while True:
        execution: dict[str, Any] = athena.get_query_execution(QueryExecutionId=query_id)[
            "QueryExecution"
        ]
        if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return execution
        assert time.monotonic() < deadline, execution
        time.sleep(0.02)


def rows(athena: Any, query_id: str, **kwargs: Any) -> list[list[str | None]]:
    result = athena.get_query_results(QueryExecutionId=query_id, **kwargs)["ResultSet"]
    return [[d.get("VarCharValue") for d in row["Data"]] for row in result["Rows"]]


def test_select_over_a_partitioned_table(athena: Any, lake: Fogbank) -> None:
    execution = run(
        athena,
        "SELECT dt, count(*) AS n, sum(amount) AS total, 7 / 2 FROM sales GROUP BY dt ORDER BY dt",
    )
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert execution["StatementType"] == "DML"
    query_id = execution["QueryExecutionId"]
    assert execution["ResultConfiguration"]["OutputLocation"] == f"{OUTPUT}{query_id}.csv"
    statistics = execution["Statistics"]
    assert statistics["DataScannedInBytes"] > 0
    assert statistics["TotalExecutionTimeInMillis"] >= statistics["EngineExecutionTimeInMillis"]
    result = athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]
    columns = result["ResultSetMetadata"]["ColumnInfo"]
    assert [(c["Name"], c["Type"]) for c in columns] == [
        ("dt", "varchar"),
        ("n", "bigint"),
        ("total", "double"),
        ("_col3", "integer"),
    ]
    assert rows(athena, query_id) == [
        ["dt", "n", "total", "_col3"],  # the header row, as Athena gives it for a SELECT
        ["2024-01-01", "1000", "249750.0", "3"],
        ["2024-01-02", "1000", "249750.0", "3"],
    ]
    # the result file is Athena's CSV, and its metadata sits beside it
    with lake.lake.get_object("lake", f"results/{query_id}.csv") as stream:
        body = stream.read().decode()
    assert body.splitlines()[0] == '"dt","n","total","_col3"'
    lake.lake.head_object("lake", f"results/{query_id}.csv.metadata")


def test_partition_and_column_pruning_show_in_bytes_scanned(athena: Any, lake: Fogbank) -> None:
    whole = run(athena, "SELECT * FROM sales")["Statistics"]["DataScannedInBytes"]
    one_day = run(athena, "SELECT * FROM sales WHERE dt = '2024-01-02'")["Statistics"][
        "DataScannedInBytes"
    ]
    one_column = run(athena, "SELECT sum(id) FROM sales")["Statistics"]["DataScannedInBytes"]
    assert 0 < one_day < whole
    # the other day's file is not read: at most its footer, for the table's schema
    assert one_day < whole * 0.6
    assert 0 < one_column < whole / 4  # the 200-character notes are never read


def test_result_pages_and_nulls(athena: Any, lake: Fogbank) -> None:
    execution = run(
        athena,
        "SELECT id, CASE WHEN id % 2 = 0 THEN NULL ELSE '' END AS v "
        "FROM sales WHERE dt = '2024-01-01' ORDER BY id",
    )
    query_id = execution["QueryExecutionId"]
    seen: list[list[str | None]] = []
    token = None
    pages = 0
    while True:
        kwargs: dict[str, Any] = {"MaxResults": 300}
        if token:
            kwargs["NextToken"] = token
        response = athena.get_query_results(QueryExecutionId=query_id, **kwargs)
        seen.extend(
            [d.get("VarCharValue") for d in r["Data"]] for r in response["ResultSet"]["Rows"]
        )
        pages += 1
        token = response.get("NextToken")
        if not token:
            break
    assert pages == 4 and len(seen) == 1001
    assert seen[1] == ["0", None] and seen[2] == ["1", ""]  # NULL apart from ''
    assert [r[0] for r in seen[1:]] == [str(i) for i in range(1000)]
    paginated = [
        row
        for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id)
        for row in page["ResultSet"]["Rows"]
    ]
    assert len(paginated) == 1001


def test_csv_table_reads_text_leniently(athena: Any, lake: Fogbank) -> None:
    created = run(
        athena,
        "CREATE EXTERNAL TABLE people (name string, age int) "
        "ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION 's3://lake/people/' "
        "TBLPROPERTIES ('skip.header.line.count'='1')",
    )
    assert created["Status"]["State"] == "SUCCEEDED", created["Status"]
    assert created["StatementType"] == "DDL"
    execution = run(athena, "SELECT name, age FROM people ORDER BY name")
    assert rows(athena, execution["QueryExecutionId"]) == [
        ["name", "age"],
        ["alice", "30"],
        ["bob", None],  # "n/a" is no int: NULL, as Hive's LazySimpleSerDe reads it
        ["carol", "41"],
    ]


def test_ddl_statements_on_the_catalog(athena: Any, lake: Fogbank) -> None:
    lake.lake.put_object("lake", "logs/year=2024/a.json", b'{"level": "info", "n": 1}\n')
    lake.lake.put_object("lake", "logs/year=2025/a.json", b'{"level": "warn", "n": 2}\n')
    for sql in (
        "CREATE DATABASE IF NOT EXISTS web",
        "CREATE EXTERNAL TABLE web.logs (level string, n int) PARTITIONED BY (year string) "
        "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://lake/logs/'",
        "MSCK REPAIR TABLE web.logs",
    ):
        assert run(athena, sql)["Status"]["State"] == "SUCCEEDED", sql
    execution = run(athena, "SHOW PARTITIONS web.logs")
    assert rows(athena, execution["QueryExecutionId"]) == [["year=2024"], ["year=2025"]]
    execution = run(athena, "SELECT level, n FROM web.logs WHERE year = '2025'")
    assert rows(athena, execution["QueryExecutionId"]) == [["level", "n"], ["warn", "2"]]
    run(athena, "ALTER TABLE web.logs DROP PARTITION (year = '2024')")
    execution = run(athena, "SELECT count(*) FROM web.logs")
    assert rows(athena, execution["QueryExecutionId"])[1] == ["1"]
    execution = run(athena, "SHOW TABLES IN web")
    assert rows(athena, execution["QueryExecutionId"]) == [["logs"]]
    execution = run(athena, "DESCRIBE web.logs")
    described = rows(athena, execution["QueryExecutionId"])
    assert described[0][0] is not None and described[0][0].startswith("level")
    run(athena, "DROP TABLE web.logs")
    failed = run(athena, "SELECT * FROM web.logs")
    assert failed["Status"]["State"] == "FAILED"


def test_failures_name_the_problem_and_where(athena: Any, lake: Fogbank) -> None:
    cases = {
        "SELECT * FROM nope": "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.db.nope'",
        "SELECT missing_column FROM sales": "COLUMN_NOT_FOUND: line 1:8: Column 'missing_column'",
        "SELECT * FORM sales": "SYNTAX_ERROR",
        "SELECT * FROM other.sales": "SCHEMA_NOT_FOUND",
    }
    for sql, reason in cases.items():
        execution = run(athena, sql)
        query_id = execution["QueryExecutionId"]
        assert execution["ResultConfiguration"]["OutputLocation"] == f"{OUTPUT}{query_id}.csv"
        status = execution["Status"]
        assert status["State"] == "FAILED", sql
        assert status["StateChangeReason"].startswith(reason), status
        assert status["AthenaError"]["ErrorCategory"] == 2
        with pytest.raises(ClientError) as caught:
            athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])
        assert caught.value.response["Error"]["Code"] == "InvalidRequestException"


def test_request_errors(athena: Any, lake: Fogbank) -> None:
    with pytest.raises(ClientError) as caught:
        athena.start_query_execution(QueryString="SELECT 1")
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidRequestException"
    assert "output location" in error["Message"]
    with pytest.raises(ClientError) as caught:
        athena.get_query_execution(QueryExecutionId="00000000-0000-0000-0000-000000000000")
    assert caught.value.response["Error"]["Code"] == "InvalidRequestException"


def test_client_request_token_is_idempotent(athena: Any, lake: Fogbank) -> None:
    token = "t" * 32
    first = athena.start_query_execution(
        QueryString="SELECT 1",
        ClientRequestToken=token,
        ResultConfiguration={"OutputLocation": OUTPUT},
    )["QueryExecutionId"]
    again = athena.start_query_execution(
        QueryString="SELECT 1",
        ClientRequestToken=token,
        ResultConfiguration={"OutputLocation": OUTPUT},
    )["QueryExecutionId"]
    assert first == again
    with pytest.raises(ClientError):
        athena.start_query_execution(
            QueryString="SELECT 2",
            ClientRequestToken=token,
            ResultConfiguration={"OutputLocation": OUTPUT},
        )


def test_stop_interrupts_a_long_query(athena: Any, lake: Fogbank) -> None:
    query_id = athena.start_query_execution(
        QueryString="SELECT count(*) FROM UNNEST(sequence(1, 10000)) AS t(x) "
        "CROSS JOIN UNNEST(sequence(1, 10000)) AS u(y) "
        "CROSS JOIN UNNEST(sequence(1, 10000)) AS v(z)",
        ResultConfiguration={"OutputLocation": OUTPUT},
    )["QueryExecutionId"]
    deadline = time.monotonic() + DEADLINE
    while (
        athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"]
        == "QUEUED"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    # running: its result file is named already, but neither it nor GetQueryResults
    # has rows until the query has SUCCEEDED (Athena writes the file when it ends)
    running = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert running["ResultConfiguration"]["OutputLocation"] == f"{OUTPUT}{query_id}.csv"
    with pytest.raises(ClientError) as caught:
        athena.get_query_results(QueryExecutionId=query_id)
    assert "Query has not yet finished. Current state: RUNNING" in str(caught.value)
    assert list(lake.lake.iter_objects("lake", "results/")) == []
    athena.stop_query_execution(QueryExecutionId=query_id)
    execution = wait(athena, query_id)
    assert execution["Status"]["State"] == "CANCELLED"
    assert execution["ResultConfiguration"]["OutputLocation"] == f"{OUTPUT}{query_id}.csv"


def test_get_query_execution_answers_when_a_running_query_ends(
    athena: Any, lake: Fogbank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GetQueryExecution on a running query waits for its end (up to a bound) and
    answers the final state then, so a client polling between sleeps hears of it at
    once. Here the bound is raised so that nothing depends on timing."""
    release = threading.Event()
    execute = run_module.Run.execute

    def gated(self: run_module.Run) -> Any:
        assert release.wait(DEADLINE)
        return execute(self)

    monkeypatch.setattr(run_module.Run, "execute", gated)
    monkeypatch.setattr(athena_adapter, "EXECUTION_HOLD_SECONDS", 30.0)
    query_id = athena.start_query_execution(
        QueryString="SELECT 1", ResultConfiguration={"OutputLocation": OUTPUT}
    )["QueryExecutionId"]
    threading.Timer(0.2, release.set).start()
    execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert rows(athena, query_id) == [["_col0"], ["1"]]


def test_workgroups_and_the_bytes_cutoff(athena: Any, lake: Fogbank) -> None:
    names = [w["Name"] for w in athena.list_work_groups()["WorkGroups"]]
    assert names == ["primary"]
    athena.create_work_group(
        Name="capped",
        Configuration={
            "ResultConfiguration": {"OutputLocation": "s3://lake/capped/"},
            "EnforceWorkGroupConfiguration": True,
            "BytesScannedCutoffPerQuery": 10_000_000,
        },
        Description="small queries only",
    )
    group = athena.get_work_group(WorkGroup="capped")["WorkGroup"]
    assert group["Configuration"]["BytesScannedCutoffPerQuery"] == 10_000_000
    execution = run(athena, "SELECT count(*) FROM sales", WorkGroup="capped")
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert execution["ResultConfiguration"]["OutputLocation"].startswith("s3://lake/capped/")
    assert (
        execution["QueryExecutionId"]
        in athena.list_query_executions(WorkGroup="capped")["QueryExecutionIds"]
    )
    with pytest.raises(ClientError) as caught:
        athena.create_work_group(Name="capped")
    assert caught.value.response["Error"]["Code"] == "InvalidRequestException"
    athena.update_work_group(WorkGroup="capped", State="DISABLED")
    with pytest.raises(ClientError):
        athena.start_query_execution(QueryString="SELECT 1", WorkGroup="capped")
    with pytest.raises(ClientError):
        athena.delete_work_group(WorkGroup="primary")
    athena.delete_work_group(WorkGroup="capped")
    assert [w["Name"] for w in athena.list_work_groups()["WorkGroups"]] == ["primary"]


def test_named_queries_and_prepared_statements(athena: Any, lake: Fogbank) -> None:
    named_id = athena.create_named_query(
        Name="daily", Database="db", QueryString="SELECT count(*) FROM sales"
    )["NamedQueryId"]
    named = athena.get_named_query(NamedQueryId=named_id)["NamedQuery"]
    assert named["QueryString"] == "SELECT count(*) FROM sales" and named["WorkGroup"] == "primary"
    assert athena.list_named_queries()["NamedQueryIds"] == [named_id]
    batch = athena.batch_get_named_query(NamedQueryIds=[named_id, "missing"])
    assert len(batch["NamedQueries"]) == 1 and len(batch["UnprocessedNamedQueryIds"]) == 1
    athena.delete_named_query(NamedQueryId=named_id)

    athena.create_prepared_statement(
        StatementName="by_id",
        WorkGroup="primary",
        QueryStatement="SELECT id, amount FROM sales WHERE id = ? AND dt = ?",
    )
    execution = run(athena, "EXECUTE by_id USING 7, '2024-01-02'")
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert rows(athena, execution["QueryExecutionId"]) == [["id", "amount"], ["7", "3.5"]]
    execution = run(
        athena,
        "SELECT count(*) FROM sales WHERE id < ?",
        ExecutionParameters=["10"],
    )
    assert rows(athena, execution["QueryExecutionId"])[1] == ["20"]
    run(athena, "PREPARE small FROM SELECT id FROM sales WHERE id < ? ORDER BY id LIMIT 2")
    listed = athena.list_prepared_statements(WorkGroup="primary")["PreparedStatements"]
    assert sorted(s["StatementName"] for s in listed) == ["by_id", "small"]
    run(athena, "DEALLOCATE PREPARE small")
    with pytest.raises(ClientError) as caught:
        athena.get_prepared_statement(StatementName="small", WorkGroup="primary")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_batch_get_and_runtime_statistics(athena: Any, lake: Fogbank) -> None:
    execution = run(athena, "SELECT id FROM sales WHERE dt = '2024-01-01'")
    query_id = execution["QueryExecutionId"]
    batch = athena.batch_get_query_execution(QueryExecutionIds=[query_id, "nope"])
    assert [e["QueryExecutionId"] for e in batch["QueryExecutions"]] == [query_id]
    assert batch["UnprocessedQueryExecutionIds"][0]["QueryExecutionId"] == "nope"
    statistics = athena.get_query_runtime_statistics(QueryExecutionId=query_id)
    assert statistics["QueryRuntimeStatistics"]["Rows"]["OutputRows"] == 1000
    assert json.loads(json.dumps(statistics["QueryRuntimeStatistics"]["Timeline"], default=str))


def test_a_crawled_grok_table_is_queried_line_by_line(athena: Any, lake: Fogbank) -> None:
    """A table a Grok custom classifier made (GrokSerDe) reads each line through its
    pattern; a line that does not match is a row of NULLs."""
    line = '10.0.0.{n} - - [10/Oct/2024:13:55:36 +0000] "GET /p{n} HTTP/1.1" 200 {n}\n'
    body = "".join(line.format(n=n) for n in range(5)) + "garbage\n"
    lake.lake.put_object("lake", "access/day=1/a.log", body.encode())
    lake.classifiers.create_classifier(
        {
            "GrokClassifier": {
                "Name": "access",
                "Classification": "access-log",
                "GrokPattern": "%{COMMONAPACHELOG}",
            }
        }
    )
    lake.crawlers.create_crawler(
        {
            "Name": "logs",
            "Role": "r",
            "DatabaseName": "db",
            "Classifiers": ["access"],
            "Targets": {"S3Targets": [{"Path": "s3://lake/access/"}]},
        }
    )
    lake.crawlers.start_crawler("logs")
    lake.crawlers.wait_for_crawler("logs", DEADLINE)
    execution = run(
        athena,
        "SELECT verb, count(*) AS n, count(clientip) AS matched FROM access "
        "WHERE day = '1' GROUP BY verb ORDER BY verb NULLS LAST",
    )
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert rows(athena, execution["QueryExecutionId"]) == [
        ["verb", "n", "matched"],
        ["GET", "5", "5"],
        [None, "1", "0"],
    ]


def test_ctas_insert_and_unload_write_the_lake(athena: Any, lake: Fogbank) -> None:
    """CREATE TABLE AS SELECT (Parquet, partitioned), INSERT INTO, UNLOAD (label-first
    headerless CSV), each with its manifest, then the written table queried back."""
    execution = run(
        athena,
        "CREATE TABLE daily WITH (format = 'PARQUET', "
        "external_location = 's3://lake/tables/daily/', partitioned_by = ARRAY['dt']) AS "
        "SELECT id, amount, dt FROM sales WHERE id < 10",
    )
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert execution["SubstatementType"] == "CREATE_TABLE_AS_SELECT"
    query_id = execution["QueryExecutionId"]
    # named as Athena names a Hive CTAS's result when the query is submitted
    assert execution["ResultConfiguration"]["OutputLocation"] == f"{OUTPUT}tables/{query_id}"
    assert athena.get_query_results(QueryExecutionId=query_id)["UpdateCount"] == 20
    with lake.lake.get_object("lake", f"results/{query_id}-manifest.csv") as manifest:
        files = manifest.read().decode().split()
    assert len(files) == 2 and all(f.startswith("s3://lake/tables/daily/dt=") for f in files)
    table = lake.catalog.get_table("db", "daily")
    assert [k["Name"] for k in table.partition_keys] == ["dt"]

    inserted = run(athena, "INSERT INTO daily SELECT 99, 1.25, '2024-01-03'")
    assert inserted["Status"]["State"] == "SUCCEEDED", inserted["Status"]
    inserted_id = inserted["QueryExecutionId"]
    assert inserted["ResultConfiguration"]["OutputLocation"] == f"{OUTPUT}{inserted_id}"
    counted = run(athena, "SELECT dt, count(*) FROM daily GROUP BY dt ORDER BY dt")
    assert rows(athena, counted["QueryExecutionId"])[1:] == [
        ["2024-01-01", "10"],
        ["2024-01-02", "10"],
        ["2024-01-03", "1"],
    ]

    unloaded = run(
        athena,
        "UNLOAD (SELECT CASE WHEN amount > 2 THEN 1 ELSE 0 END AS label, id, amount "
        "FROM sales WHERE dt = '2024-01-01' AND id < 8) "
        "TO 's3://lake/training/' WITH (format = 'TEXTFILE', field_delimiter = ',', "
        "compression = 'NONE')",
    )
    assert unloaded["Status"]["State"] == "SUCCEEDED", unloaded["Status"]
    lines: list[str] = []
    for info in lake.lake.iter_objects("lake", "training/"):
        with lake.lake.get_object("lake", info.key) as body:
            lines.extend(body.read().decode().splitlines())
    assert sorted(lines) == sorted(f"{1 if i * 0.5 > 2 else 0},{i},{i * 0.5}" for i in range(8))


def test_catalog_browsing_and_workgroup_tags(athena: Any, lake: Fogbank) -> None:
    """ListDataCatalogs, ListDatabases, Get/ListTableMetadata, and tags on workgroups."""
    catalogs = athena.list_data_catalogs()["DataCatalogsSummary"]
    assert catalogs == [
        {"CatalogName": "AwsDataCatalog", "Type": "GLUE", "Status": "CREATE_COMPLETE"}
    ]
    assert athena.get_data_catalog(Name="AwsDataCatalog")["DataCatalog"]["Type"] == "GLUE"
    databases = athena.list_databases(CatalogName="AwsDataCatalog")["DatabaseList"]
    assert [d["Name"] for d in databases] == ["db"]
    tables = athena.list_table_metadata(CatalogName="AwsDataCatalog", DatabaseName="db")
    assert [t["Name"] for t in tables["TableMetadataList"]] == ["sales"]
    sales = athena.get_table_metadata(
        CatalogName="AwsDataCatalog", DatabaseName="db", TableName="sales"
    )["TableMetadata"]
    assert [c["Name"] for c in sales["Columns"]] == ["id", "amount", "note"]
    assert sales["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert sales["Parameters"]["location"] == "s3://lake/sales/"
    with pytest.raises(ClientError) as caught:
        athena.get_table_metadata(CatalogName="AwsDataCatalog", DatabaseName="db", TableName="x")
    assert caught.value.response["Error"]["Code"] == "MetadataException"
    with pytest.raises(ClientError) as caught:
        athena.list_databases(CatalogName="other")
    assert caught.value.response["Error"]["Code"] == "InvalidRequestException"

    arn = f"arn:aws:athena:us-east-1:{lake.config.account_id}:workgroup/primary"
    athena.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "data"}])
    assert athena.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "team", "Value": "data"}
    ]
    athena.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert athena.list_tags_for_resource(ResourceARN=arn)["Tags"] == []
    with pytest.raises(ClientError) as caught:
        athena.list_tags_for_resource(ResourceARN=arn.replace("primary", "nope"))
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_query_over_the_bytes_cutoff_is_cancelled(athena: Any, lake: Fogbank) -> None:
    """BytesScannedCutoffPerQuery (at least 10 MB): a query that reads more ends CANCELLED
    with Athena's reason and the cutoff as its DataScannedInBytes (what it read is in
    the runtime statistics), and writes no result."""
    make_blobs(lake)
    athena.create_work_group(
        Name="small",
        Configuration={
            "ResultConfiguration": {"OutputLocation": "s3://lake/small/"},
            "EnforceWorkGroupConfiguration": True,
            "BytesScannedCutoffPerQuery": 10_000_000,
        },
    )
    execution = run(athena, "SELECT sum(length(blob)) FROM blobs", WorkGroup="small")
    status = execution["Status"]
    assert status["State"] == "CANCELLED", status
    assert status["StateChangeReason"].startswith(
        "Query cancelled! : Bytes scanned limit was exceeded"
    )
    assert execution["Statistics"]["DataScannedInBytes"] == 10_000_000
    statistics = athena.get_query_runtime_statistics(
        QueryExecutionId=execution["QueryExecutionId"]
    )["QueryRuntimeStatistics"]
    assert statistics["Rows"]["InputBytes"] > 10_000_000
    assert list(lake.lake.iter_objects("lake", "small/")) == []
    # the same query in a workgroup without a cutoff succeeds
    whole = run(athena, "SELECT sum(length(blob)) FROM blobs")
    assert whole["Status"]["State"] == "SUCCEEDED"
    assert whole["Statistics"]["DataScannedInBytes"] > 10_000_000
    # and a query that stays under it runs in the capped workgroup
    small = run(athena, "SELECT count(*) FROM blobs", WorkGroup="small")
    assert small["Status"]["State"] == "SUCCEEDED", small["Status"]


def test_the_bytes_cutoff_stops_a_query_while_it_runs(athena: Any, lake: Fogbank) -> None:
    """A query that would run for minutes after reading past the cutoff is stopped as
    soon as its reads pass it, not when it ends."""
    make_blobs(lake)
    athena.create_work_group(Name="small", Configuration={"BytesScannedCutoffPerQuery": 10_000_000})
    started = time.monotonic()
    execution = run(
        athena,
        # the blobs are read first, for the scalar subquery, then 1e10 rows are counted
        "SELECT count(*) FROM UNNEST(sequence(1, 100000)) AS t(x) "
        "CROSS JOIN UNNEST(sequence(1, 100000)) AS u(y) "
        "WHERE x + y > (SELECT sum(length(blob)) FROM blobs) - 13107000",
        WorkGroup="small",
    )
    elapsed = time.monotonic() - started
    assert execution["Status"]["State"] == "CANCELLED", execution["Status"]
    assert "Bytes scanned limit was exceeded" in execution["Status"]["StateChangeReason"]
    assert execution["Statistics"]["DataScannedInBytes"] == 10_000_000
    assert elapsed < DEADLINE / 2  # minutes, had it not been stopped


def make_blobs(fogbank: Fogbank) -> None:
    """``db.blobs``: one uncompressed Parquet file of ~13 MB."""
    table = pa.table({"blob": [os.urandom(32 * 1024).hex() for _ in range(200)]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="none")
    fogbank.lake.put_object("lake", "blobs/part-0.parquet", buffer.getvalue())
    fogbank.catalog.create_table(
        "db",
        {
            "Name": "blobs",
            "StorageDescriptor": {
                "Columns": [{"Name": "blob", "Type": "string"}],
                "Location": "s3://lake/blobs/",
                "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
            },
            "Parameters": {"classification": "parquet"},
        },
    )


def test_crawled_avro_and_orc_tables_are_queried(athena: Any, lake: Fogbank) -> None:
    """Files written by fastavro and pyarrow's ORC writer, crawled, then read by Athena."""
    import fastavro
    import pyarrow.orc as orc

    schema = {
        "type": "record",
        "name": "Visit",
        "fields": [{"name": "id", "type": "long"}, {"name": "page", "type": "string"}],
    }
    for day in ("1", "2"):
        buffer = io.BytesIO()
        fastavro.writer(
            buffer, schema, [{"id": int(day) * 10 + i, "page": f"/p{i}"} for i in range(3)]
        )
        lake.lake.put_object("lake", f"visits/day={day}/v.avro", buffer.getvalue())
        orc_buffer = io.BytesIO()
        orc.write_table(pa.table({"id": [int(day)], "score": [float(day) / 2]}), orc_buffer)
        lake.lake.put_object("lake", f"scores/day={day}/s.orc", orc_buffer.getvalue())
    lake.crawlers.create_crawler(
        {
            "Name": "mixed",
            "Role": "r",
            "DatabaseName": "db",
            "Targets": {
                "S3Targets": [{"Path": "s3://lake/visits/"}, {"Path": "s3://lake/scores/"}]
            },
        }
    )
    lake.crawlers.start_crawler("mixed")
    crawler = lake.crawlers.wait_for_crawler("mixed", DEADLINE)
    assert crawler.last_crawl is not None and crawler.last_crawl.status == "SUCCEEDED"
    execution = run(
        athena,
        "SELECT v.day, count(*) AS visits, max(s.score) AS score FROM visits v "
        "JOIN scores s ON v.day = s.day GROUP BY v.day ORDER BY v.day",
    )
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert rows(athena, execution["QueryExecutionId"]) == [
        ["day", "visits", "score"],
        ["1", "3", "0.5"],
        ["2", "3", "1.0"],
    ]
    assert execution["Statistics"]["DataScannedInBytes"] > 0
