"""Athena DDL on a real catalog and lake: CREATE EXTERNAL TABLE in each form, MSCK REPAIR,
ALTER TABLE ADD/DROP PARTITION, DROP TABLE/DATABASE, every SHOW and DESCRIBE."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fogbank import Fogbank, FogbankConfig
from fogbank.query import views
from fogbank.query.ddl import DdlResult, run_ddl
from fogbank.query.errors import QueryFailed

BUCKET = "lake"
DB = "sales"


@pytest.fixture
def fb(tmp_path: Path) -> Iterator[Fogbank]:
    with Fogbank(FogbankConfig.load(home=tmp_path / "home", environ={})) as opened:
        opened.lake.create_bucket(BUCKET)
        opened.catalog.create_database({"Name": DB})
        yield opened


def ddl(fb: Fogbank, sql: str, database: str = DB) -> DdlResult:
    return run_ddl(sql, catalog=fb.catalog, lake=fb.lake, database=database)


def failure(fb: Fogbank, sql: str) -> QueryFailed:
    with pytest.raises(QueryFailed) as info:
        ddl(fb, sql)
    return info.value


def put_csv(fb: Fogbank, key: str, rows: list[list[str]]) -> None:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    fb.lake.put_object(BUCKET, key, out.getvalue().encode())


def put_parquet(fb: Fogbank, key: str) -> None:
    out = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2]}), out)
    fb.lake.put_object(BUCKET, key, out.getvalue())


CSV_TABLE = (
    "CREATE EXTERNAL TABLE orders (id int COMMENT 'the id', name string) "
    "PARTITIONED BY (year string, month string) "
    "ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' "
    f"LOCATION 's3://{BUCKET}/orders/' TBLPROPERTIES ('skip.header.line.count'='1')"
)


# ---------------------------------------------------------------------- CREATE TABLE


def test_create_delimited_table_writes_the_glue_table_athena_writes(fb: Fogbank) -> None:
    assert ddl(fb, CSV_TABLE) == DdlResult([], [])
    table = fb.catalog.get_table(DB, "orders")
    sd = table.storage_descriptor or {}
    assert table.table_type == "EXTERNAL_TABLE"
    assert sd["Columns"] == [
        {"Name": "id", "Type": "int", "Comment": "the id"},
        {"Name": "name", "Type": "string"},
    ]
    assert sd["Location"] == f"s3://{BUCKET}/orders/"
    assert sd["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert sd["OutputFormat"] == "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    assert sd["SerdeInfo"] == {
        "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
        "Parameters": {"field.delim": ",", "serialization.format": ","},
    }
    assert [k["Name"] for k in table.partition_keys] == ["year", "month"]
    assert table.parameters == {"EXTERNAL": "TRUE", "skip.header.line.count": "1"}


def test_create_table_with_serde_properties_keeps_them(fb: Fogbank) -> None:
    ddl(
        fb,
        "CREATE EXTERNAL TABLE q (a string) "
        "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde' "
        "WITH SERDEPROPERTIES ('separatorChar'=',', 'quoteChar'='\"', 'escapeChar'='\\\\') "
        f"LOCATION 's3://{BUCKET}/q/'",
    )
    serde = (fb.catalog.get_table(DB, "q").storage_descriptor or {})["SerdeInfo"]
    assert serde["SerializationLibrary"] == "org.apache.hadoop.hive.serde2.OpenCSVSerde"
    assert serde["Parameters"] == {
        "separatorChar": ",",
        "quoteChar": '"',
        "escapeChar": "\\",
        "serialization.format": "1",
    }


@pytest.mark.parametrize(
    ("stored_as", "serde", "input_format"),
    [
        (
            "PARQUET",
            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        ),
        (
            "ORC",
            "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
            "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
        ),
        (
            "AVRO",
            "org.apache.hadoop.hive.serde2.avro.AvroSerDe",
            "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
        ),
        (
            "JSON",
            "org.apache.hive.hcatalog.data.JsonSerDe",
            "org.apache.hadoop.mapred.TextInputFormat",
        ),
    ],
)
def test_stored_as_picks_the_format_classes(
    fb: Fogbank, stored_as: str, serde: str, input_format: str
) -> None:
    ddl(fb, f"CREATE EXTERNAL TABLE f (a string) STORED AS {stored_as} LOCATION 's3://{BUCKET}/f/'")
    sd = fb.catalog.get_table(DB, "f").storage_descriptor or {}
    assert sd["SerdeInfo"]["SerializationLibrary"] == serde
    assert sd["InputFormat"] == input_format


def test_openx_json_serde_is_stored_as_text(fb: Fogbank) -> None:
    ddl(
        fb,
        "CREATE EXTERNAL TABLE j (a string) ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' "
        f"LOCATION 's3://{BUCKET}/j/'",
    )
    sd = fb.catalog.get_table(DB, "j").storage_descriptor or {}
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert sd["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"


def test_input_and_output_formats_are_taken_as_given(fb: Fogbank) -> None:
    ddl(
        fb,
        "CREATE EXTERNAL TABLE io (a string) STORED AS INPUTFORMAT 'my.In' OUTPUTFORMAT 'my.Out' "
        f"LOCATION 's3://{BUCKET}/io/'",
    )
    sd = fb.catalog.get_table(DB, "io").storage_descriptor or {}
    assert (sd["InputFormat"], sd["OutputFormat"]) == ("my.In", "my.Out")


def test_nested_types_are_kept_as_hive_type_strings(fb: Fogbank) -> None:
    ddl(
        fb,
        "CREATE EXTERNAL TABLE `Nested` (S STRUCT<A:ARRAY<INT>, b:MAP<STRING,BIGINT>>, "
        f"d decimal(10,2), v varchar(5)) STORED AS PARQUET LOCATION 's3://{BUCKET}/n/'",
    )
    columns = (fb.catalog.get_table(DB, "nested").storage_descriptor or {})["Columns"]
    assert [(c["Name"], c["Type"]) for c in columns] == [
        ("s", "struct<a:array<int>,b:map<string,bigint>>"),
        ("d", "decimal(10,2)"),
        ("v", "varchar(5)"),
    ]


def test_create_in_a_named_database_and_if_not_exists(fb: Fogbank) -> None:
    ddl(fb, "CREATE DATABASE other", database="default")
    sql = f"CREATE EXTERNAL TABLE IF NOT EXISTS other.t (a int) LOCATION 's3://{BUCKET}/t/'"
    ddl(fb, sql)
    ddl(fb, sql)
    assert fb.catalog.get_table("other", "t").name == "t"


def test_create_existing_table_fails_as_athena_does(fb: Fogbank) -> None:
    ddl(fb, CSV_TABLE)
    error = failure(fb, CSV_TABLE)
    assert error.reason == (
        "FAILED: Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "
        "AlreadyExistsException(message:Table orders already exist)"
    )


def test_bad_location_and_missing_database_fail(fb: Fogbank) -> None:
    error = failure(fb, "CREATE EXTERNAL TABLE t (a int) LOCATION 'hdfs://x/y'")
    assert error.message == "Invalid location hdfs://x/y for table. Only S3 locations are allowed"
    error = failure(fb, "CREATE EXTERNAL TABLE t (a int)")
    assert "No location was specified for table" in error.message
    error = failure(fb, f"CREATE EXTERNAL TABLE nodb.t (a int) LOCATION 's3://{BUCKET}/t/'")
    assert error.reason == "FAILED: SemanticException [Error 10072]: Database does not exist: nodb"


# ---------------------------------------------------------------------- MSCK


def test_msck_repair_adds_only_missing_partitions(fb: Fogbank) -> None:
    ddl(fb, CSV_TABLE)
    for year, month in [("2023", "01"), ("2023", "02"), ("2024", "01")]:
        put_csv(fb, f"orders/year={year}/month={month}/part-0.csv", [["id", "name"], ["1", "a"]])
    put_csv(fb, "orders/not_a_partition/x.csv", [["1"]])
    put_csv(fb, "orders/month=01/year=2023/x.csv", [["1"]])  # keys out of order
    put_csv(fb, "orders/year=2025/x.csv", [["1"]])  # too shallow
    ddl(fb, "ALTER TABLE orders ADD PARTITION (year='2023', month='01')")
    result = ddl(fb, "MSCK REPAIR TABLE orders")
    assert result.columns == []
    assert result.rows == [
        [
            "Partitions not in metastore:\torders:year=2023/month=02\torders:year=2024/month=01\n"
            "Repair: Added partition to metastore orders:year=2023/month=02\n"
            "Repair: Added partition to metastore orders:year=2024/month=01"
        ]
    ]
    partition = fb.catalog.get_partition(DB, "orders", ["2024", "01"])
    sd = partition.storage_descriptor or {}
    assert sd["Location"] == f"s3://{BUCKET}/orders/year=2024/month=01/"
    assert sd["SerdeInfo"]["Parameters"]["field.delim"] == ","
    assert ddl(fb, "MSCK REPAIR TABLE orders").rows == []


def test_msck_repair_on_missing_folder_and_missing_table(fb: Fogbank) -> None:
    ddl(fb, CSV_TABLE)
    assert ddl(fb, "MSCK REPAIR TABLE orders").rows == [["Tables missing on filesystem:\torders"]]
    assert ddl(fb, "MSCK REPAIR TABLE nope").rows == [["Tables not in metastore:\tnope"]]


def test_msck_repair_creates_more_than_one_batch(fb: Fogbank) -> None:
    ddl(fb, f"CREATE EXTERNAL TABLE p (a int) PARTITIONED BY (n int) LOCATION 's3://{BUCKET}/p'")
    for n in range(130):
        put_parquet(fb, f"p/n={n}/f.parquet")
    ddl(fb, "MSCK REPAIR TABLE p")
    assert len(ddl(fb, "SHOW PARTITIONS p").rows) == 130


# ---------------------------------------------------------------------- ALTER TABLE


def test_add_partitions_with_default_and_custom_locations(fb: Fogbank) -> None:
    ddl(fb, CSV_TABLE)
    ddl(
        fb,
        "ALTER TABLE orders ADD PARTITION (month='01', year='2023') "
        f"PARTITION (year='2023', month='02') LOCATION 's3://{BUCKET}/elsewhere/'",
    )
    first = fb.catalog.get_partition(DB, "orders", ["2023", "01"]).storage_descriptor or {}
    second = fb.catalog.get_partition(DB, "orders", ["2023", "02"]).storage_descriptor or {}
    assert first["Location"] == f"s3://{BUCKET}/orders/year=2023/month=01/"
    assert second["Location"] == f"s3://{BUCKET}/elsewhere/"
    assert ddl(fb, "SHOW PARTITIONS orders").rows == [
        ["year=2023/month=01"],
        ["year=2023/month=02"],
    ]


def test_add_existing_partition_fails_unless_if_not_exists(fb: Fogbank) -> None:
    ddl(fb, CSV_TABLE)
    ddl(fb, "ALTER TABLE orders ADD PARTITION (year='1', month='1')")
    error = failure(fb, "ALTER TABLE orders ADD PARTITION (year='1', month='1')")
    assert "AlreadyExistsException(message:Partition already exists.)" in error.reason
    ddl(fb, "ALTER TABLE orders ADD IF NOT EXISTS PARTITION (year='1', month='1')")
    error = failure(fb, "ALTER TABLE orders ADD PARTITION (year='1')")
    assert "doesn't contain all (2) partition columns" in error.message
    error = failure(fb, "ALTER TABLE orders ADD PARTITION (year='1', nope='1')")
    assert "Non-Partition column appears in the partition specification" in error.message


def test_drop_partitions(fb: Fogbank) -> None:
    ddl(fb, CSV_TABLE)
    ddl(
        fb,
        "ALTER TABLE orders ADD PARTITION (year='1', month='1') PARTITION (year='1', month='2') "
        "PARTITION (year='2', month='1')",
    )
    ddl(fb, "ALTER TABLE orders DROP PARTITION (year='1', month='1'), PARTITION (year='2')")
    assert ddl(fb, "SHOW PARTITIONS orders").rows == [["year=1/month=2"]]
    error = failure(fb, "ALTER TABLE orders DROP PARTITION (year='9')")
    assert (
        error.reason == "FAILED: SemanticException [Error 10006]: Partition not found (year = '9')"
    )
    ddl(fb, "ALTER TABLE orders DROP IF EXISTS PARTITION (year='9')")


# ---------------------------------------------------------------------- DROP


def test_drop_table_keeps_the_data(fb: Fogbank) -> None:
    ddl(fb, CSV_TABLE)
    put_csv(fb, "orders/year=1/month=1/a.csv", [["1", "a"]])
    ddl(fb, "DROP TABLE orders")
    assert ddl(fb, "SHOW TABLES").rows == []
    assert [o.key for o in fb.lake.iter_objects(BUCKET)] == ["orders/year=1/month=1/a.csv"]
    error = failure(fb, "DROP TABLE orders")
    assert error.reason == "FAILED: SemanticException [Error 10001]: Table not found orders"
    ddl(fb, "DROP TABLE IF EXISTS orders")


def test_drop_database_needs_cascade_when_not_empty(fb: Fogbank) -> None:
    ddl(fb, CSV_TABLE)
    error = failure(fb, f"DROP DATABASE {DB}")
    assert "InvalidOperationException(message:Database sales is not empty." in error.reason
    ddl(fb, f"DROP SCHEMA {DB} CASCADE")
    assert ddl(fb, "SHOW DATABASES").rows == []
    ddl(fb, f"DROP DATABASE IF EXISTS {DB}")
    error = failure(fb, f"DROP DATABASE {DB}")
    assert error.message == "SemanticException [Error 10072]: Database does not exist: sales"


def test_create_database(fb: Fogbank) -> None:
    ddl(fb, "CREATE DATABASE Web COMMENT 'w' LOCATION 's3://lake/web/' WITH DBPROPERTIES ('a'='b')")
    database = fb.catalog.get_database("web")
    assert (database.description, database.location_uri) == ("w", "s3://lake/web/")
    assert dict(database.parameters or {}) == {"a": "b"}
    error = failure(fb, "CREATE SCHEMA web")
    assert error.message.endswith("DDLTask. Database web already exists")
    ddl(fb, "CREATE SCHEMA IF NOT EXISTS web")


# ---------------------------------------------------------------------- SHOW / DESCRIBE


def test_show_tables_and_databases_with_patterns(fb: Fogbank) -> None:
    for name in ("orders", "order_items", "users"):
        ddl(fb, f"CREATE EXTERNAL TABLE {name} (a int) LOCATION 's3://{BUCKET}/{name}/'")
    result = ddl(fb, "SHOW TABLES")
    assert result.columns == [("tab_name", "string")]
    assert result.rows == [["order_items"], ["orders"], ["users"]]
    assert ddl(fb, f"SHOW TABLES IN {DB} 'order*|us*'").rows == [
        ["order_items"],
        ["orders"],
        ["users"],
    ]
    assert ddl(fb, "SHOW TABLES 'orders'").rows == [["orders"]]
    ddl(fb, "CREATE DATABASE web")
    assert ddl(fb, "SHOW SCHEMAS LIKE 'w*'").rows == [["web"]]
    assert ddl(fb, "SHOW DATABASES").columns == [("database_name", "string")]
    error = failure(fb, "SHOW TABLES IN nodb")
    assert error.message == "SemanticException [Error 10072]: Database does not exist: nodb"


def test_show_columns_and_tblproperties(fb: Fogbank) -> None:
    ddl(fb, CSV_TABLE)
    result = ddl(fb, "SHOW COLUMNS IN orders")
    assert result.rows == [[n.ljust(20)] for n in ("id", "name", "year", "month")]
    props = ddl(fb, "SHOW TBLPROPERTIES orders")
    assert props.columns == [("prpt_name", "string"), ("prpt_value", "string")]
    keys = [row[0] for row in props.rows]
    assert keys == ["EXTERNAL", "skip.header.line.count", "transient_lastDdlTime"]
    assert ddl(fb, "SHOW TBLPROPERTIES orders('EXTERNAL')").rows == [["TRUE"]]


def test_show_partitions_of_unpartitioned_table_fails(fb: Fogbank) -> None:
    ddl(fb, f"CREATE EXTERNAL TABLE u (a int) LOCATION 's3://{BUCKET}/u/'")
    error = failure(fb, "SHOW PARTITIONS u")
    assert error.message.endswith("Table u is not a partitioned table")


def test_show_create_table_prints_athenas_layout(fb: Fogbank) -> None:
    ddl(fb, CSV_TABLE)
    lines = [row[0] for row in ddl(fb, "SHOW CREATE TABLE orders").rows]
    assert lines[:-1] == [
        "CREATE EXTERNAL TABLE `orders`(",
        "  `id` int COMMENT 'the id', ",
        "  `name` string)",
        "PARTITIONED BY ( ",
        "  `year` string, ",
        "  `month` string)",
        "ROW FORMAT DELIMITED ",
        "  FIELDS TERMINATED BY ',' ",
        "STORED AS INPUTFORMAT ",
        "  'org.apache.hadoop.mapred.TextInputFormat' ",
        "OUTPUTFORMAT ",
        "  'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'",
        "LOCATION",
        f"  's3://{BUCKET}/orders/'",
        "TBLPROPERTIES (",
        "  'skip.header.line.count'='1', ",
    ]
    assert lines[-1].startswith("  'transient_lastDdlTime'='")


def test_describe_pads_as_hive_and_lists_partition_information(fb: Fogbank) -> None:
    ddl(
        fb, f"CREATE EXTERNAL TABLE d (n int) PARTITIONED BY (p string) LOCATION 's3://{BUCKET}/d/'"
    )
    result = ddl(fb, "DESCRIBE d")
    assert result.columns == [
        ("col_name", "string"),
        ("data_type", "string"),
        ("comment", "string"),
    ]
    text = "\n".join(row[0] or "" for row in result.rows)
    # byte for byte the 291-byte body athena-local measured for this table on Athena
    assert len(text) == 291
    assert result.rows[3] == ["# Partition Information\t \t "]
    assert result.rows[4] == ["# col_name            \tdata_type           \tcomment             "]
    formatted = [row[0] or "" for row in ddl(fb, "DESCRIBE FORMATTED d").rows]
    assert "# Detailed Table Information\t \t " in formatted
    assert any(line.startswith("Location:") for line in formatted)
    extended = ddl(fb, f"DESCRIBE EXTENDED {DB}.d").rows
    assert (extended[-1][0] or "").startswith("Detailed Table Information\tTable(tableName:d")
    error = failure(fb, "DESCRIBE nope")
    assert error.reason == "FAILED: SemanticException [Error 10001]: Table not found nope"


def test_unsupported_statements_are_named(fb: Fogbank) -> None:
    error = failure(fb, "ALTER TABLE orders RENAME TO x")
    assert error.category == "NOT_SUPPORTED"
    assert "ALTER TABLE orders" in error.message
    assert failure(fb, "SHOW TRANSACTIONS").category == "NOT_SUPPORTED"


def test_views_in_the_ddl_statements(fb: Fogbank) -> None:
    """DROP VIEW, SHOW VIEWS, SHOW CREATE VIEW and DESCRIBE VIEW over a view stored as
    Athena stores one; the table statements refuse it."""
    definition = views.ViewDefinition(
        "SELECT 1 AS one", "awsdatacatalog", DB, (("one", "integer"),)
    )
    fb.catalog.create_table(
        DB, views.table_input("v", definition, [views.view_column("one", "INTEGER")])
    )
    assert views.decode(fb.catalog.get_table(DB, "v")) == definition
    assert ddl(fb, "SHOW VIEWS").rows == [["v"]]
    assert ddl(fb, f"SHOW VIEWS IN {DB} LIKE 'x*'").rows == []
    assert ddl(fb, "SHOW CREATE VIEW v").rows == [
        [f"CREATE VIEW awsdatacatalog.{DB}.v AS"],
        ["SELECT 1 AS one"],
    ]
    assert ddl(fb, "DESCRIBE VIEW v").rows == ddl(fb, "DESCRIBE v").rows
    assert ddl(fb, "DESCRIBE v").rows[0][0].split("\t")[1].strip() == "int"
    assert "is a view, not a table" in failure(fb, "SHOW CREATE TABLE v").message
    assert "Error 10131" in failure(fb, "DROP TABLE v").message
    ddl(fb, "DROP VIEW v")
    error = failure(fb, "DROP VIEW v")
    assert error.reason == f"TABLE_NOT_FOUND: line 1:1: View 'awsdatacatalog.{DB}.v' does not exist"
    ddl(fb, "DROP VIEW IF EXISTS v")


def test_view_columns_are_typed_for_trino_and_hive() -> None:
    definition = views.ViewDefinition(
        "SELECT a FROM t", "awsdatacatalog", "db", (("a", "array(varchar)"),)
    )
    fields = views.table_input("v", definition, [views.view_column("a", "VARCHAR[]")])
    assert fields["StorageDescriptor"]["Columns"] == [{"Name": "a", "Type": "array<string>"}]
    assert fields["ViewOriginalText"].startswith("/* Presto View: ")
    assert views.view_column("n", "HUGEINT") == views.ViewColumn("n", "bigint", "bigint")
    assert views.view_column("d", "DECIMAL(15,2)").hive_type == "decimal(15,2)"
    assert views.view_column("r", "STRUCT(a INTEGER, b VARCHAR)").hive_type == (
        "struct<a:int,b:string>"
    )


# ---------------------------------------------------------------------- properties

_VALUES = st.text(alphabet="abcXYZ019_-. ", min_size=1, max_size=8)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(st.tuples(_VALUES, _VALUES), min_size=1, max_size=6, unique=True))
def test_added_partitions_round_trip_through_show_partitions(
    fb: Fogbank, values: list[tuple[str, str]]
) -> None:
    ddl(fb, "DROP TABLE IF EXISTS prop")
    ddl(
        fb,
        f"CREATE EXTERNAL TABLE prop (a int) PARTITIONED BY (k string, `K2` string) LOCATION 's3://{BUCKET}/prop/'",
    )
    specs = " ".join(f"PARTITION (k='{a}', k2='{b}')" for a, b in values)
    ddl(fb, f"ALTER TABLE prop ADD {specs}")
    shown = [row[0] for row in ddl(fb, "SHOW PARTITIONS prop").rows]
    assert shown == sorted(f"k={a}/k2={b}" for a, b in values)
    ddl(
        fb,
        "ALTER TABLE prop DROP " + ", ".join(f"PARTITION (k='{a}', k2='{b}')" for a, b in values),
    )
    assert ddl(fb, "SHOW PARTITIONS prop").rows == []
