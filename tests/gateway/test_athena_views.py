"""Athena views through real boto3, over a socket and in-process: CREATE [OR REPLACE]
VIEW, SELECT from views (joined with tables, views over views), DROP VIEW, SHOW VIEWS,
SHOW CREATE VIEW, DESCRIBE, the Glue table Athena stores for a view, and a view made
through Glue's CreateTable (as Terraform and CDK make them) queried by Athena."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.config import Config

from fogbank import Fogbank
from fogbank.gateway.client import IN_PROCESS_ENDPOINT
from fogbank.gateway.client import client as in_process_client
from tests.gateway.conftest import boto3_client

OUTPUT = "s3://lake/results/"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
DEADLINE = 60.0


@pytest.fixture
def tables(fogbank: Fogbank) -> Fogbank:
    """``db.orders`` (id, customer, amount) and ``db.customers`` (id, name), Parquet."""
    fogbank.lake.create_bucket("lake")
    fogbank.catalog.create_database({"Name": "db"})
    fogbank.catalog.create_database({"Name": "other"})
    data = {
        "orders": pa.table(
            {
                "id": pa.array(range(6), pa.int64()),
                "customer": pa.array([1, 2, 1, 3, 2, 1], pa.int32()),
                "amount": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
            }
        ),
        "customers": pa.table({"id": pa.array([1, 2, 3], pa.int32()), "name": ["ann", "bo", "cy"]}),
    }
    types = {"id": "bigint", "customer": "int", "amount": "double", "name": "string"}
    for name, table in data.items():
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        fogbank.lake.put_object("lake", f"{name}/part-0.parquet", buffer.getvalue())
        columns = [
            {"Name": c, "Type": "int" if (name, c) == ("customers", "id") else types[c]}
            for c in table.column_names
        ]
        fogbank.catalog.create_table(
            "db",
            {
                "Name": name,
                "TableType": "EXTERNAL_TABLE",
                "StorageDescriptor": {
                    "Columns": columns,
                    "Location": f"s3://lake/{name}/",
                    "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
                },
                "Parameters": {"classification": "parquet"},
            },
        )
    return fogbank


@pytest.fixture
def glue(athena: Any, fogbank: Fogbank) -> Iterator[Any]:
    """A boto3 Glue client on the same transport as ``athena``."""
    if athena.meta.endpoint_url == IN_PROCESS_ENDPOINT:
        made = in_process_client(
            "glue", fogbank=fogbank, config=Config(retries={"max_attempts": 1})
        )
    else:
        made = boto3_client("glue", athena.meta.endpoint_url)
    yield made
    made.close()


def run(athena: Any, sql: str, database: str = "db") -> dict[str, Any]:
    query_id = athena.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": database},
        ResultConfiguration={"OutputLocation": OUTPUT},
    )["QueryExecutionId"]
    deadline = time.monotonic() + DEADLINE
    while True:
        execution: dict[str, Any] = athena.get_query_execution(QueryExecutionId=query_id)[
            "QueryExecution"
        ]
        if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return execution
        assert time.monotonic() < deadline, execution
        time.sleep(0.02)


def ok(athena: Any, sql: str, database: str = "db") -> list[list[str | None]]:
    """Run ``sql``, check it succeeded, and return its rows."""
    execution = run(athena, sql, database)
    assert execution["Status"]["State"] == "SUCCEEDED", (sql, execution["Status"])
    result = athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])
    return [[d.get("VarCharValue") for d in row["Data"]] for row in result["ResultSet"]["Rows"]]


def reason(athena: Any, sql: str, database: str = "db") -> str:
    """Run ``sql``, check it failed, and return its StateChangeReason."""
    execution = run(athena, sql, database)
    assert execution["Status"]["State"] == "FAILED", (sql, execution["Status"])
    return str(execution["Status"]["StateChangeReason"])


def test_a_view_is_queried_joined_and_stacked(athena: Any, tables: Fogbank) -> None:
    execution = run(
        athena,
        "CREATE VIEW big_orders AS SELECT id, customer, amount * 2 AS doubled "
        "FROM orders WHERE amount > 15",
    )
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert (execution["StatementType"], execution["SubstatementType"]) == ("DDL", "CREATE_VIEW")
    assert execution["Statistics"]["DataScannedInBytes"] == 0
    assert ok(athena, "SELECT * FROM big_orders ORDER BY id") == [
        ["id", "customer", "doubled"],
        ["1", "2", "40.0"],
        ["2", "1", "60.0"],
        ["3", "3", "80.0"],
        ["4", "2", "100.0"],
        ["5", "1", "120.0"],
    ]
    # joined with a table, and a view over that view in another database
    assert ok(
        athena,
        "SELECT c.name, sum(b.doubled) AS total FROM big_orders b "
        "JOIN customers c ON b.customer = c.id GROUP BY c.name ORDER BY c.name",
    ) == [["name", "total"], ["ann", "180.0"], ["bo", "140.0"], ["cy", "80.0"]]
    ok(
        athena,
        "CREATE VIEW other.per_customer AS SELECT customer, count(*) AS n "
        "FROM big_orders GROUP BY customer",
    )
    # the view's unqualified names resolve in the database it was created from (db)
    assert ok(
        athena,
        "SELECT p.n, c.name FROM per_customer p JOIN db.customers c "
        "ON p.customer = c.id ORDER BY c.name",
        database="other",
    ) == [["n", "name"], ["2", "ann"], ["2", "bo"], ["1", "cy"]]
    scanned = run(athena, "SELECT count(*) FROM other.per_customer")["Statistics"]
    assert scanned["DataScannedInBytes"] > 0  # the bytes of the tables under the views


def test_create_or_replace_and_the_errors_athena_gives(athena: Any, tables: Fogbank) -> None:
    ok(athena, "CREATE VIEW v AS SELECT id FROM orders")
    assert reason(athena, "CREATE VIEW v AS SELECT 1 AS x") == (
        "ALREADY_EXISTS: View already exists: 'db.v'"
    )
    assert reason(athena, "CREATE OR REPLACE VIEW orders AS SELECT 1 AS x").startswith(
        "ALREADY_EXISTS"  # a table's name is not a view's to replace
    )
    ok(athena, "CREATE OR REPLACE VIEW v AS SELECT id, customer FROM orders WHERE id < 2")
    assert ok(athena, "SELECT * FROM v ORDER BY id") == [["id", "customer"], ["0", "1"], ["1", "2"]]
    # a view over a missing table fails when it is created
    assert reason(athena, "CREATE VIEW broken AS SELECT * FROM nope") == (
        "TABLE_NOT_FOUND: line 1:37: Table 'awsdatacatalog.db.nope' does not exist"
    )
    assert reason(athena, "CREATE VIEW nowhere.v AS SELECT 1 AS x").startswith(
        "SCHEMA_NOT_FOUND: line 1:13: Schema 'nowhere' does not exist"
    )
    # a view whose table went away fails where the query names the view
    ok(athena, "CREATE VIEW over_v AS SELECT * FROM v")
    ok(athena, "DROP VIEW v")
    assert reason(athena, "SELECT * FROM over_v") == (
        "INVALID_VIEW: line 1:15: Failed analyzing stored view 'awsdatacatalog.db.over_v': "
        "line 1:15: Table 'awsdatacatalog.db.v' does not exist"
    )
    assert reason(athena, "DROP VIEW v") == (
        "TABLE_NOT_FOUND: line 1:1: View 'awsdatacatalog.db.v' does not exist"
    )
    ok(athena, "DROP VIEW IF EXISTS v")
    assert "DROP VIEW" in reason(athena, "DROP TABLE over_v")  # Hive's error 10131
    assert "is a table, not a view" in reason(athena, "SHOW CREATE VIEW orders")


def test_show_describe_and_the_glue_table_athena_stores(
    athena: Any, glue: Any, tables: Fogbank
) -> None:
    ok(athena, "CREATE VIEW totals AS SELECT customer, sum(amount) AS total FROM orders GROUP BY 1")
    ok(athena, "CREATE VIEW top AS SELECT * FROM totals WHERE total > 50")
    assert ok(athena, "SHOW VIEWS") == [["top"], ["totals"]]
    assert ok(athena, "SHOW VIEWS IN db LIKE 'tot*'") == [["totals"]]
    assert ok(athena, "SHOW TABLES") == [["customers"], ["orders"], ["top"], ["totals"]]
    assert ok(athena, "SHOW CREATE VIEW top") == [
        ["CREATE VIEW awsdatacatalog.db.top AS"],
        ["SELECT * FROM totals WHERE total > 50"],
    ]
    described = ok(athena, "DESCRIBE totals")
    assert [row[0].split("\t")[0].strip() for row in described if row[0]] == ["customer", "total"]
    assert ok(athena, "DESCRIBE VIEW totals") == described

    table = glue.get_table(DatabaseName="db", Name="totals")["Table"]
    assert table["TableType"] == "VIRTUAL_VIEW"
    assert table["ViewExpandedText"] == "/* Presto View */"
    assert table["Parameters"] == {"presto_view": "true", "comment": "Presto View"}
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        ("customer", "int"),
        ("total", "double"),
    ]
    original = table["ViewOriginalText"]
    assert original.startswith("/* Presto View: ") and original.endswith(" */")
    definition = json.loads(base64.b64decode(original[len("/* Presto View: ") : -3]))
    assert definition == {
        "originalSql": "SELECT customer, sum(amount) AS total FROM orders GROUP BY 1",
        "catalog": "awsdatacatalog",
        "schema": "db",
        "columns": [{"name": "customer", "type": "integer"}, {"name": "total", "type": "double"}],
    }
    metadata = athena.get_table_metadata(
        CatalogName="AwsDataCatalog", DatabaseName="db", TableName="totals"
    )["TableMetadata"]
    assert metadata["TableType"] == "VIRTUAL_VIEW"
    assert [c["Name"] for c in metadata["Columns"]] == ["customer", "total"]
    listed = athena.list_table_metadata(CatalogName="AwsDataCatalog", DatabaseName="db")
    types = {t["Name"]: t["TableType"] for t in listed["TableMetadataList"]}
    assert types == {
        "customers": "EXTERNAL_TABLE",
        "orders": "EXTERNAL_TABLE",
        "top": "VIRTUAL_VIEW",
        "totals": "VIRTUAL_VIEW",
    }


def test_a_view_made_through_glue_is_queried(athena: Any, glue: Any, tables: Fogbank) -> None:
    """The Glue table Terraform's and CDK's Athena-view recipes write."""
    definition = {
        "originalSql": "SELECT name, id FROM customers WHERE id > 1",
        "catalog": "awsdatacatalog",
        "schema": "db",
        "columns": [{"name": "name", "type": "varchar"}, {"name": "id", "type": "integer"}],
    }
    encoded = base64.b64encode(json.dumps(definition).encode()).decode()
    glue.create_table(
        DatabaseName="db",
        TableInput={
            "Name": "later_customers",
            "TableType": "VIRTUAL_VIEW",
            "Parameters": {"presto_view": "true", "comment": "Presto View"},
            "ViewOriginalText": f"/* Presto View: {encoded} */",
            "ViewExpandedText": "/* Presto View */",
            "StorageDescriptor": {
                "Columns": [{"Name": "name", "Type": "string"}, {"Name": "id", "Type": "int"}],
                "SerdeInfo": {"Name": "-", "SerializationLibrary": "-"},
            },
        },
    )
    assert ok(athena, "SELECT * FROM later_customers ORDER BY id") == [
        ["name", "id"],
        ["bo", "2"],
        ["cy", "3"],
    ]
    assert ok(athena, "SHOW VIEWS") == [["later_customers"]]
    # a definition whose stored columns no longer match its query is stale, as in Trino
    definition["columns"] = definition["columns"][:1]
    stale = base64.b64encode(json.dumps(definition).encode()).decode()
    glue.update_table(
        DatabaseName="db",
        TableInput={
            "Name": "later_customers",
            "TableType": "VIRTUAL_VIEW",
            "ViewOriginalText": f"/* Presto View: {stale} */",
            "StorageDescriptor": {"Columns": [{"Name": "name", "Type": "string"}]},
        },
    )
    assert reason(athena, "SELECT * FROM later_customers").startswith(
        "VIEW_IS_STALE: line 1:15: View 'awsdatacatalog.db.later_customers' is stale"
    )
