"""CTAS, INSERT INTO and UNLOAD on a real catalog and lake: every format written and read
back, the Glue table CTAS writes, partitions and buckets, Athena's limits and errors."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import fastavro
import pyarrow as pa
import pyarrow.orc as orc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fogbank import Fogbank, FogbankConfig
from fogbank.core.errors import EntityNotFoundException
from fogbank.query import ctas, dialect, writers
from fogbank.query.ddl import run_ddl
from fogbank.query.errors import QueryFailed
from fogbank.query.tables import table_source

BUCKET = "lake"
DB = "sales"
OUTPUT = f"s3://{BUCKET}/results/"
QID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def fb(tmp_path: Path) -> Iterator[Fogbank]:
    with Fogbank(FogbankConfig.load(home=tmp_path / "home", environ={})) as opened:
        opened.lake.create_bucket(BUCKET)
        opened.catalog.create_database({"Name": DB})
        table = pa.table(
            {
                "id": pa.array([1, 2, 3, 4], pa.int64()),
                "name": ["a", "b", None, "d"],
                "price": [1.5, 2.5, 3.5, None],
                "region": ["eu", "us", "eu", "us"],
            }
        )
        out = io.BytesIO()
        pq.write_table(table, out)
        opened.lake.put_object(BUCKET, "orders/part-0.parquet", out.getvalue())
        run_ddl(
            "CREATE EXTERNAL TABLE orders (id bigint, name string, price double, region string) "
            f"STORED AS PARQUET LOCATION 's3://{BUCKET}/orders/'",
            catalog=opened.catalog,
            lake=opened.lake,
            database=DB,
        )
        yield opened


def _connection(fb: Fogbank, tree: Any, scratch: Path) -> Any:
    """A DuckDB connection with a view per table the query reads, as run.py makes them."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    for ref in dialect.referenced_tables(tree, DB):
        source = table_source(fb.catalog, fb.lake, scratch, ref.database, ref.table)
        connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{ref.database}"')
        if source.arrow is not None:
            connection.register(source.arrow_name, source.arrow)
        connection.execute(source.view_sql)
    return connection


def execute(fb: Fogbank, sql: str, tmp_path: Path, query_id: str = QID) -> ctas.WriteOutcome:
    statement = dialect.parse_statement(sql)
    query = ctas.inner_select(statement)
    scratch = tmp_path / "scratch" / query_id
    connection = _connection(fb, query, scratch)
    select_sql = dialect.to_duckdb(query, default_database=DB)
    common: dict[str, Any] = {"select_sql": select_sql, "query_id": query_id, "scratch": scratch}
    try:
        if statement.substatement == "CREATE_TABLE_AS_SELECT":
            return ctas.create_table_as(
                connection,
                statement,
                catalog=fb.catalog,
                lake=fb.lake,
                default_database=DB,
                output_location=OUTPUT,
                **common,
            )
        if statement.substatement == "INSERT":
            return ctas.insert_into(
                connection,
                statement,
                catalog=fb.catalog,
                lake=fb.lake,
                default_database=DB,
                **common,
            )
        return ctas.unload(connection, statement, lake=fb.lake, **common)
    finally:
        connection.close()


def failure(fb: Fogbank, sql: str, tmp_path: Path) -> QueryFailed:
    with pytest.raises(QueryFailed) as info:
        execute(fb, sql, tmp_path)
    return info.value


def read(fb: Fogbank, url: str) -> bytes:
    return fb.lake.read(url)


def select(fb: Fogbank, sql: str, tmp_path: Path) -> list[tuple[Any, ...]]:
    tree = dialect.parse_statement(sql).tree
    assert tree is not None
    connection = _connection(fb, tree, tmp_path / "scratch" / "read")
    try:
        rows: list[tuple[Any, ...]] = connection.execute(
            dialect.to_duckdb(tree, default_database=DB)
        ).fetchall()
        return rows
    finally:
        connection.close()


# ---------------------------------------------------------------------- CTAS formats


def test_ctas_parquet_writes_gzip_parquet_and_the_glue_table(fb: Fogbank, tmp_path: Path) -> None:
    outcome = execute(
        fb,
        "CREATE TABLE copy WITH (external_location = 's3://lake/copy/') "
        "AS SELECT id, name, price FROM orders",
        tmp_path,
    )
    assert outcome.rows == 4 and outcome.table_created
    assert len(outcome.files) == 1
    url = outcome.files[0]
    assert url.startswith(f"s3://{BUCKET}/copy/{QID}_")
    written = pq.read_table(io.BytesIO(read(fb, url)))
    assert written.column("id").to_pylist() == [1, 2, 3, 4]
    assert written.column("name").to_pylist() == ["a", "b", None, "d"]
    meta = pq.ParquetFile(io.BytesIO(read(fb, url))).metadata
    assert meta.row_group(0).column(0).compression == "GZIP"
    table = fb.catalog.get_table(DB, "copy")
    sd = table.storage_descriptor or {}
    assert table.table_type == "EXTERNAL_TABLE"
    assert sd["Columns"] == [
        {"Name": "id", "Type": "bigint"},
        {"Name": "name", "Type": "string"},
        {"Name": "price", "Type": "double"},
    ]
    assert sd["Location"] == "s3://lake/copy"
    assert sd["SerdeInfo"]["SerializationLibrary"] == (
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    )
    assert (table.parameters or {})["parquet.compression"] == "GZIP"
    assert (table.parameters or {})["has_encrypted_data"] == "false"
    # the new table reads back through the engine's own views
    assert sorted(select(fb, "SELECT id, name FROM copy", tmp_path)) == [
        (1, "a"),
        (2, "b"),
        (3, None),
        (4, "d"),
    ]


def test_ctas_without_external_location_writes_under_the_output_tables_folder(
    fb: Fogbank, tmp_path: Path
) -> None:
    outcome = execute(fb, "CREATE TABLE t1 AS SELECT id FROM orders", tmp_path)
    assert outcome.location == f"s3://{BUCKET}/results/tables/{QID}"
    assert all(f.startswith(f"s3://{BUCKET}/results/tables/{QID}/") for f in outcome.files)


def test_ctas_orc_reads_back_with_its_types(fb: Fogbank, tmp_path: Path) -> None:
    outcome = execute(
        fb,
        "CREATE TABLE o WITH (format = 'ORC', external_location = 's3://lake/o/') "
        "AS SELECT id, name, CAST(price AS DECIMAL(10,2)) AS price, DATE '2024-01-02' AS d "
        "FROM orders",
        tmp_path,
    )
    written = orc.ORCFile(io.BytesIO(read(fb, outcome.files[0]))).read()
    assert written.column("id").to_pylist() == [1, 2, 3, 4]
    assert str(written.schema.field("price").type) == "decimal128(10, 2)"
    sd = fb.catalog.get_table(DB, "o").storage_descriptor or {}
    assert [c["Type"] for c in sd["Columns"]] == ["bigint", "string", "decimal(10,2)", "date"]
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.orc.OrcSerde"
    assert sorted(select(fb, "SELECT id FROM o", tmp_path)) == [(1,), (2,), (3,), (4,)]


def test_ctas_avro_writes_nullable_fields(fb: Fogbank, tmp_path: Path) -> None:
    outcome = execute(
        fb,
        "CREATE TABLE a WITH (format = 'AVRO', external_location = 's3://lake/a/') "
        "AS SELECT id, name, ARRAY[1, 2] AS xs, MAP(ARRAY['k'], ARRAY[1]) AS m FROM orders",
        tmp_path,
    )
    records = list(fastavro.reader(io.BytesIO(read(fb, outcome.files[0]))))
    assert [r["id"] for r in records] == [1, 2, 3, 4]  # type: ignore[index, call-overload]
    assert records[2]["name"] is None  # type: ignore[index, call-overload]
    assert records[0]["xs"] == [1, 2]  # type: ignore[index, call-overload]
    assert records[0]["m"] == {"k": 1}  # type: ignore[index, call-overload]
    sd = fb.catalog.get_table(DB, "a").storage_descriptor or {}
    assert [c["Type"] for c in sd["Columns"]] == [
        "bigint",
        "string",
        "array<int>",
        "map<string,int>",
    ]


def test_ctas_json_writes_gzipped_json_lines(fb: Fogbank, tmp_path: Path) -> None:
    outcome = execute(
        fb,
        "CREATE TABLE j WITH (format = 'JSON', external_location = 's3://lake/j/') "
        "AS SELECT id, name FROM orders",
        tmp_path,
    )
    assert outcome.files[0].endswith(".gz")
    lines = gzip.decompress(read(fb, outcome.files[0])).decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"id": 1, "name": "a"},
        {"id": 2, "name": "b"},
        {"id": 3, "name": None},
        {"id": 4, "name": "d"},
    ]
    assert sorted(select(fb, "SELECT id, name FROM j WHERE id < 3", tmp_path)) == [
        (1, "a"),
        (2, "b"),
    ]


def test_ctas_textfile_uses_the_delimiter_null_marker_and_compression(
    fb: Fogbank, tmp_path: Path
) -> None:
    outcome = execute(
        fb,
        "CREATE TABLE t WITH (format = 'TEXTFILE', field_delimiter = ',', "
        "write_compression = 'GZIP', external_location = 's3://lake/t/') "
        "AS SELECT id, name, ARRAY['x', 'y'] AS tags FROM orders",
        tmp_path,
    )
    assert outcome.files[0].endswith(".gz")
    text = gzip.decompress(read(fb, outcome.files[0])).decode()
    assert text.splitlines() == ["1,a,x\x02y", "2,b,x\x02y", "3,\\N,x\x02y", "4,d,x\x02y"]
    table = fb.catalog.get_table(DB, "t")
    serde = (table.storage_descriptor or {})["SerdeInfo"]
    assert serde["SerializationLibrary"] == "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
    assert serde["Parameters"]["field.delim"] == ","
    assert sorted(select(fb, "SELECT id, name FROM t", tmp_path)) == [
        (1, "a"),
        (2, "b"),
        (3, None),
        (4, "d"),
    ]


def test_ctas_textfile_defaults_to_ctrl_a_and_uncompressed_on_request(
    fb: Fogbank, tmp_path: Path
) -> None:
    outcome = execute(
        fb,
        "CREATE TABLE t WITH (format = 'TEXTFILE', write_compression = 'NONE', "
        "external_location = 's3://lake/t/') AS SELECT id, region FROM orders",
        tmp_path,
    )
    assert not outcome.files[0].endswith(".gz")
    assert read(fb, outcome.files[0]).decode().splitlines()[0] == "1\x01eu"


# ---------------------------------------------------------------------- partitions


def test_ctas_partitioned_by_writes_hive_folders_and_registers_partitions(
    fb: Fogbank, tmp_path: Path
) -> None:
    outcome = execute(
        fb,
        "CREATE TABLE p WITH (partitioned_by = ARRAY['region'], "
        "external_location = 's3://lake/p/') AS SELECT id, name, region FROM orders",
        tmp_path,
    )
    assert outcome.rows == 4
    assert sorted(f.split("/")[4] for f in outcome.files) == ["region=eu", "region=us"]
    table = fb.catalog.get_table(DB, "p")
    assert table.partition_keys == ({"Name": "region", "Type": "string"},)
    assert [c["Name"] for c in (table.storage_descriptor or {})["Columns"]] == ["id", "name"]
    partitions = fb.catalog.get_partitions(DB, "p").items
    assert sorted(p.values for p in partitions) == [("eu",), ("us",)]
    locations = sorted((p.storage_descriptor or {})["Location"] for p in partitions)
    assert locations == ["s3://lake/p/region=eu", "s3://lake/p/region=us"]
    eu = pq.read_table(io.BytesIO(read(fb, next(f for f in outcome.files if "eu" in f))))
    assert eu.column_names == ["id", "name"]
    assert sorted(eu.column("id").to_pylist()) == [1, 3]
    assert sorted(select(fb, "SELECT id FROM p WHERE region = 'us'", tmp_path)) == [(2,), (4,)]


def test_ctas_partition_columns_must_come_last(fb: Fogbank, tmp_path: Path) -> None:
    error = failure(
        fb,
        "CREATE TABLE p WITH (partitioned_by = ARRAY['region']) AS SELECT region, id FROM orders",
        tmp_path,
    )
    assert error.category == "HIVE_COLUMN_ORDER_MISMATCH"
    assert error.message == (
        "Partition keys must be the last columns in the table and in the same order as the "
        "table properties: [region]"
    )
    error = failure(
        fb,
        "CREATE TABLE p WITH (partitioned_by = ARRAY['nope']) AS SELECT id FROM orders",
        tmp_path,
    )
    assert error.message == "Partition columns [nope] not present in schema"
    error = failure(
        fb,
        "CREATE TABLE p WITH (partitioned_by = ARRAY['region']) AS SELECT region FROM orders",
        tmp_path,
    )
    assert error.message == "Table contains only partition columns"


def test_ctas_fails_past_100_open_writers(fb: Fogbank, tmp_path: Path) -> None:
    error = failure(
        fb,
        "CREATE TABLE many WITH (partitioned_by = ARRAY['k']) "
        "AS SELECT x AS v, x AS k FROM UNNEST(sequence(1, 101)) AS t(x)",
        tmp_path,
    )
    assert error.reason == (
        "HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers for partitions/buckets"
    )
    outcome = execute(
        fb,
        "CREATE TABLE hundred WITH (partitioned_by = ARRAY['k']) "
        "AS SELECT x AS v, x AS k FROM UNNEST(sequence(1, 100)) AS t(x)",
        tmp_path,
    )
    assert len(outcome.files) == 100
    assert len(outcome.partitions_added) == 100


def test_ctas_bucketed_by_writes_a_file_per_bucket_by_hive_hash(
    fb: Fogbank, tmp_path: Path
) -> None:
    outcome = execute(
        fb,
        "CREATE TABLE b WITH (bucketed_by = ARRAY['id'], bucket_count = 2, "
        "external_location = 's3://lake/b/') AS SELECT id, name FROM orders",
        tmp_path,
    )
    names = sorted(f.rsplit("/", 1)[1] for f in outcome.files)
    assert [n[:9] for n in names] == ["000000_0_", "000001_0_"]
    assert all(n.endswith(QID) for n in names)
    by_bucket = {
        f.rsplit("/", 1)[1][:6]: sorted(
            pq.read_table(io.BytesIO(read(fb, f))).column("id").to_pylist()
        )
        for f in outcome.files
    }
    # Hive hashes a bigint v to (int)(v ^ v >>> 32): even ids in bucket 0, odd in 1
    assert by_bucket == {"000000": [2, 4], "000001": [1, 3]}
    sd = fb.catalog.get_table(DB, "b").storage_descriptor or {}
    assert sd["NumberOfBuckets"] == 2 and sd["BucketColumns"] == ["id"]


def test_hive_hash_of_strings_matches_java() -> None:
    # "ab".hashCode() in Java: 31 * 97 + 98
    assert writers.hive_hash("ab", "string") == 3105
    assert writers.hive_hash(-1, "bigint") == 0
    assert writers.hive_hash(None, "int") == 0


def test_bucket_properties_must_come_together(fb: Fogbank, tmp_path: Path) -> None:
    error = failure(
        fb, "CREATE TABLE b WITH (bucketed_by = ARRAY['id']) AS SELECT id FROM orders", tmp_path
    )
    assert error.message == "bucketed_by and bucket_count must be specified together"
    error = failure(
        fb,
        "CREATE TABLE b WITH (bucketed_by = ARRAY['zz'], bucket_count = 2) "
        "AS SELECT id FROM orders",
        tmp_path,
    )
    assert error.message == "Bucketing columns [zz] not present in schema"


# ---------------------------------------------------------------------- CTAS errors


def test_ctas_refuses_a_location_that_holds_objects(fb: Fogbank, tmp_path: Path) -> None:
    fb.lake.put_object(BUCKET, "busy/old.csv", b"x")
    error = failure(
        fb,
        "CREATE TABLE busy WITH (external_location = 's3://lake/busy/') AS SELECT 1 AS a",
        tmp_path,
    )
    assert error.category == "HIVE_PATH_ALREADY_EXISTS"
    assert error.message.startswith(
        "Target directory for table 'sales.busy' already exists: s3://lake/busy. "
        "You may need to manually clean the data at location"
    )
    with pytest.raises(EntityNotFoundException):  # no table was created
        fb.catalog.get_table(DB, "busy")


def test_ctas_on_an_existing_table_fails_unless_if_not_exists(fb: Fogbank, tmp_path: Path) -> None:
    error = failure(fb, "CREATE TABLE orders AS SELECT 1 AS a", tmp_path)
    assert (
        error.reason == "TABLE_ALREADY_EXISTS: Table 'awsdatacatalog.sales.orders' already exists"
    )
    outcome = execute(fb, "CREATE TABLE IF NOT EXISTS orders AS SELECT 1 AS a", tmp_path)
    assert outcome.rows == 0 and not outcome.table_created


def test_ctas_needs_column_names_and_known_properties(fb: Fogbank, tmp_path: Path) -> None:
    error = failure(fb, "CREATE TABLE x AS SELECT id, id + 1 FROM orders", tmp_path)
    assert error.reason == "MISSING_COLUMN_NAME: Column name not specified at position 2"
    error = failure(fb, "CREATE TABLE x WITH (colour = 'red') AS SELECT 1 AS a", tmp_path)
    assert error.message == "Catalog 'awsdatacatalog' table property 'colour' does not exist"
    error = failure(fb, "CREATE TABLE x AS SELECT 1 AS a, 2 AS a", tmp_path)
    assert error.category == "DUPLICATE_COLUMN_NAME"


def test_ctas_with_no_data_creates_the_table_only(fb: Fogbank, tmp_path: Path) -> None:
    outcome = execute(
        fb,
        "CREATE TABLE empty WITH (external_location = 's3://lake/empty/') "
        "AS SELECT id, name FROM orders WITH NO DATA",
        tmp_path,
    )
    assert outcome.rows == 0 and outcome.files == [] and outcome.table_created
    assert list(fb.lake.iter_objects(BUCKET, "empty/")) == []
    sd = fb.catalog.get_table(DB, "empty").storage_descriptor or {}
    assert [c["Name"] for c in sd["Columns"]] == ["id", "name"]


def test_ctas_column_aliases_name_the_columns(fb: Fogbank, tmp_path: Path) -> None:
    execute(fb, "CREATE TABLE al (x, y) AS SELECT id, name FROM orders", tmp_path)
    sd = fb.catalog.get_table(DB, "al").storage_descriptor or {}
    assert [c["Name"] for c in sd["Columns"]] == ["x", "y"]


# ---------------------------------------------------------------------- INSERT INTO


def test_insert_into_appends_files_in_the_tables_format(fb: Fogbank, tmp_path: Path) -> None:
    execute(
        fb,
        "CREATE TABLE t WITH (format = 'TEXTFILE', field_delimiter = '|', "
        "external_location = 's3://lake/t/') AS SELECT id, name FROM orders",
        tmp_path,
    )
    outcome = execute(
        fb, "INSERT INTO t SELECT id + 10, name FROM orders WHERE id < 3", tmp_path, "q2"
    )
    assert outcome.rows == 2
    assert outcome.files[0].startswith("s3://lake/t/q2_") and outcome.files[0].endswith(".gz")
    rows = sorted(select(fb, "SELECT id, name FROM t", tmp_path))
    assert rows == [(1, "a"), (2, "b"), (3, None), (4, "d"), (11, "a"), (12, "b")]


def test_insert_values_casts_to_the_table_types(fb: Fogbank, tmp_path: Path) -> None:
    outcome = execute(fb, "INSERT INTO orders VALUES (5, 'e', 1, 'eu')", tmp_path, "q3")
    assert outcome.rows == 1
    written = pq.read_table(io.BytesIO(read(fb, outcome.files[0])))
    assert str(written.schema.field("id").type) == "int64"
    assert str(written.schema.field("price").type) == "double"
    assert (5, "e") in select(fb, "SELECT id, name FROM orders", tmp_path)


def test_insert_with_a_column_list_leaves_the_rest_null(fb: Fogbank, tmp_path: Path) -> None:
    execute(fb, "INSERT INTO orders (region, id) VALUES ('eu', 9)", tmp_path, "q4")
    assert select(fb, "SELECT name, price, region FROM orders WHERE id = 9", tmp_path) == [
        (None, None, "eu")
    ]


def test_insert_rejects_mismatched_column_types(fb: Fogbank, tmp_path: Path) -> None:
    error = failure(fb, "INSERT INTO orders VALUES ('x', 'e', 1.0, 'eu')", tmp_path)
    assert error.category == "TYPE_MISMATCH"
    assert error.message.startswith(
        "Insert query has mismatched column types: Table: [bigint, varchar, double, varchar], "
        "Query: [varchar, varchar"
    )
    error = failure(fb, "INSERT INTO orders VALUES (1)", tmp_path)
    assert error.category == "TYPE_MISMATCH"
    error = failure(fb, "INSERT INTO nope VALUES (1)", tmp_path)
    assert error.reason == "TABLE_NOT_FOUND: Table 'awsdatacatalog.sales.nope' does not exist"


def test_insert_into_a_partitioned_table_adds_new_partitions(fb: Fogbank, tmp_path: Path) -> None:
    execute(
        fb,
        "CREATE TABLE p WITH (partitioned_by = ARRAY['region'], "
        "external_location = 's3://lake/p/') AS SELECT id, region FROM orders",
        tmp_path,
    )
    outcome = execute(fb, "INSERT INTO p VALUES (7, 'ap'), (8, 'eu')", tmp_path, "q5")
    assert outcome.partitions_added == [("ap",)]
    assert sorted(p.values for p in fb.catalog.get_partitions(DB, "p").items) == [
        ("ap",),
        ("eu",),
        ("us",),
    ]
    assert sorted(select(fb, "SELECT id FROM p WHERE region = 'eu'", tmp_path)) == [
        (1,),
        (3,),
        (8,),
    ]


# ---------------------------------------------------------------------- UNLOAD


@pytest.mark.parametrize("fmt", ["PARQUET", "ORC", "AVRO", "JSON", "TEXTFILE"])
def test_unload_writes_each_format_and_no_table(fb: Fogbank, tmp_path: Path, fmt: str) -> None:
    outcome = execute(
        fb,
        f"UNLOAD (SELECT id, name FROM orders WHERE id <= 2) TO 's3://lake/out/{fmt}/' "
        f"WITH (format = '{fmt}')",
        tmp_path,
    )
    assert outcome.rows == 2 and not outcome.table_created
    data = read(fb, outcome.files[0])
    if fmt == "PARQUET":
        assert pq.read_table(io.BytesIO(data)).column("id").to_pylist() == [1, 2]
    elif fmt == "ORC":
        assert orc.ORCFile(io.BytesIO(data)).read().column("id").to_pylist() == [1, 2]
    elif fmt == "AVRO":
        assert [r["id"] for r in fastavro.reader(io.BytesIO(data))] == [1, 2]  # type: ignore[index, call-overload]
    elif fmt == "JSON":
        lines = gzip.decompress(data).decode().splitlines()
        assert [json.loads(line)["id"] for line in lines] == [1, 2]
    else:
        assert gzip.decompress(data).decode().splitlines() == ["1\x01a", "2\x01b"]
    assert [t.name for t in fb.catalog.get_tables(DB).items] == ["orders"]


def test_unload_refuses_a_target_with_objects_unless_partitioned(
    fb: Fogbank, tmp_path: Path
) -> None:
    fb.lake.put_object(BUCKET, "out/x", b"x")
    error = failure(
        fb, "UNLOAD (SELECT id FROM orders) TO 's3://lake/out/' WITH (format = 'JSON')", tmp_path
    )
    assert error.category == "HIVE_PATH_ALREADY_EXISTS"
    outcome = execute(
        fb,
        "UNLOAD (SELECT id, region FROM orders) TO 's3://lake/out/' "
        "WITH (format = 'PARQUET', partitioned_by = ARRAY['region'])",
        tmp_path,
    )
    assert sorted(f.split("/")[4] for f in outcome.files) == ["region=eu", "region=us"]


def test_unload_text_with_a_delimiter_and_no_compression(fb: Fogbank, tmp_path: Path) -> None:
    outcome = execute(
        fb,
        "UNLOAD (SELECT id, name FROM orders) TO 's3://lake/csv/' "
        "WITH (format = 'TEXTFILE', field_delimiter = ',', compression = 'NONE')",
        tmp_path,
    )
    rows = list(csv.reader(io.StringIO(read(fb, outcome.files[0]).decode())))
    assert rows == [["1", "a"], ["2", "b"], ["3", "\\N"], ["4", "d"]]


# ---------------------------------------------------------------------- manifest


def test_write_manifest_lists_the_files(fb: Fogbank, tmp_path: Path) -> None:
    outcome = execute(
        fb,
        "CREATE TABLE p WITH (partitioned_by = ARRAY['region']) AS SELECT id, region FROM orders",
        tmp_path,
    )
    url = ctas.write_manifest(fb.lake, OUTPUT, QID, outcome.files)
    assert url == f"s3://{BUCKET}/results/{QID}-manifest.csv"
    assert read(fb, url).decode().splitlines() == outcome.files


def test_duckdb_types_become_hive_types() -> None:
    assert ctas.duckdb_to_hive_type("VARCHAR") == "string"
    assert ctas.duckdb_to_hive_type("HUGEINT") == "bigint"
    assert ctas.duckdb_to_hive_type("DECIMAL(10,2)") == "decimal(10,2)"
    assert ctas.duckdb_to_hive_type("STRUCT(a INTEGER, b VARCHAR[])") == (
        "struct<a:int,b:array<string>>"
    )
    assert ctas.duckdb_to_hive_type("MAP(VARCHAR, DOUBLE)") == "map<string,double>"
    assert ctas.duckdb_to_hive_type("TIMESTAMP WITH TIME ZONE") == "timestamp"
    with pytest.raises(QueryFailed):
        ctas.duckdb_to_hive_type("INTERVAL")


# ---------------------------------------------------------------------- property


_values = st.lists(
    st.tuples(
        st.integers(min_value=-(2**40), max_value=2**40),
        st.one_of(
            st.none(),
            st.text(
                alphabet=st.characters(
                    blacklist_categories=("Cs", "Cc"), blacklist_characters="\\',"
                ),
                max_size=8,
            ),
        ),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_values)
def test_ctas_textfile_round_trips_integers_and_strings(
    fb: Fogbank, tmp_path: Path, rows: list[tuple[int, str | None]]
) -> None:
    name = f"h{abs(hash(tuple(rows))) % 10**12}"
    values = ", ".join(f"({i}, {'NULL' if s is None else repr_sql(s)})" for i, s in rows)
    execute(
        fb,
        f"CREATE TABLE {name} WITH (format = 'TEXTFILE', field_delimiter = ',') "
        f"AS SELECT CAST(a AS BIGINT) AS a, CAST(b AS VARCHAR) AS b "
        f"FROM (VALUES {values}) AS v(a, b)",
        tmp_path,
        query_id=name,
    )
    read_back = select(fb, f"SELECT a, b FROM {name}", tmp_path / name)
    # Hive text has no quoting: '\N' reads as NULL, and that is all that changes
    expected = [(i, None if s in (None, "\\N") else s) for i, s in rows]
    assert sorted(read_back, key=repr) == sorted(expected, key=repr)


def repr_sql(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
