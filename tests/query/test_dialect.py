"""Athena SQL -> DuckDB: classification, table references, parameters, and every
translated function run on a real DuckDB against the value Trino returns."""

from __future__ import annotations

# ruff: noqa: E501 - the translation tables read best one query per line
import datetime as dt
from decimal import Decimal
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fogbank.query.dialect import (
    TableRef,
    bind_parameters,
    joda_to_strftime,
    parse_statement,
    referenced_tables,
    to_duckdb,
)
from fogbank.query.errors import QueryFailed


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    c.execute("CREATE SCHEMA db")
    c.execute(
        "CREATE TABLE db.t AS SELECT * FROM (VALUES "
        "(1, 'a', [1, 2], TIMESTAMP '2024-01-02 03:04:05.123', DATE '2024-01-02', 5, 2), "
        "(2, 'b', [3], TIMESTAMP '2024-02-03 00:00:00', DATE '2024-03-01', -5, 2)"
        ") v(i, s, arr, ts, d, n, m)"
    )
    return c


SCHEMA = {"db": {"t": {"i": "INTEGER", "s": "VARCHAR", "n": "INTEGER", "m": "INTEGER"}}}


def run(con: duckdb.DuckDBPyConnection, sql: str, **kw: Any) -> list[tuple[Any, ...]]:
    statement = parse_statement(sql)
    assert statement.tree is not None
    return con.sql(to_duckdb(statement.tree, default_database="db", **kw)).fetchall()


# (Trino SQL, the single row Trino returns)
TRANSLATIONS: list[tuple[str, tuple[Any, ...]]] = [
    ("SELECT 5 / 2, -5 / 2, 5 / 2.0, 7 % 3, -7 % 3", (2, -2, Decimal("2.5"), 1, -1)),
    (
        "SELECT approx_distinct(i), approx_percentile(i, 0.5) IN (1, 2), arbitrary(s) IN ('a', 'b') FROM t",
        (2, True, True),
    ),
    (
        "SELECT date_parse('2024-01-02 03:04:05', '%Y-%m-%d %H:%i:%s')",
        (dt.datetime(2024, 1, 2, 3, 4, 5),),
    ),
    (
        "SELECT date_parse('01/02/2024 3:04 PM', '%m/%d/%Y %h:%i %p')",
        (dt.datetime(2024, 1, 2, 15, 4),),
    ),
    (
        "SELECT date_format(TIMESTAMP '2024-01-02 03:04:05', '%Y-%m-%d %H:%i:%s')",
        ("2024-01-02 03:04:05",),
    ),
    (
        "SELECT parse_datetime('2024-01-02 03:04', 'yyyy-MM-dd HH:mm')",
        (dt.datetime(2024, 1, 2, 3, 4),),
    ),
    (
        "SELECT format_datetime(TIMESTAMP '2024-01-02 03:04:05.123', 'yyyy/MM/dd HH:mm:ss.SSS')",
        ("2024/01/02 03:04:05.123",),
    ),
    (
        "SELECT to_iso8601(TIMESTAMP '2024-01-02 03:04:05.123'), to_iso8601(DATE '2024-01-02')",
        ("2024-01-02T03:04:05.123", "2024-01-02"),
    ),
    (
        "SELECT to_iso8601(from_iso8601_timestamp('2024-01-02T03:04:05Z'))",
        ("2024-01-02T03:04:05.000Z",),
    ),
    ("SELECT from_iso8601_date('2024-01-02')", (dt.date(2024, 1, 2),)),
    ("SELECT to_unixtime(from_unixtime(1700000000))", (1700000000.0,)),
    ("SELECT date_trunc('month', TIMESTAMP '2024-02-03 04:05:06')", (dt.datetime(2024, 2, 1),)),
    ("SELECT date_add('day', 3, TIMESTAMP '2024-01-30 00:00:00')", (dt.datetime(2024, 2, 2),)),
    ("SELECT date_diff('day', DATE '2024-01-01', DATE '2024-03-01')", (60,)),
    # Trino counts whole days elapsed: 2 hours across midnight is 0 days.
    ("SELECT date_diff('day', TIMESTAMP '2024-01-01 23:00', TIMESTAMP '2024-01-02 01:00')", (0,)),
    ("SELECT current_date = current_date", (True,)),
    (
        "SELECT element_at(ARRAY[1, 2, 3], 1), element_at(ARRAY[1, 2, 3], -1), "
        "element_at(ARRAY[1, 2, 3], 5)",
        (1, 3, None),
    ),
    (
        "SELECT element_at(MAP(ARRAY['a'], ARRAY[1]), 'a'), element_at(MAP(ARRAY['a'], ARRAY[1]), 'z')",
        (1, None),
    ),
    ("SELECT cardinality(ARRAY[1, 2]), cardinality(MAP(ARRAY['a'], ARRAY[1]))", (2, 1)),
    (
        "SELECT contains(ARRAY[1, 2], 2), array_join(ARRAY['a', 'b'], ','), split('a,b', ',')",
        (True, "a,b", ["a", "b"]),
    ),
    ("SELECT try_cast('x' AS integer), try(CAST('x' AS integer))", (None, None)),
    (
        "SELECT regexp_extract('abc123', '[0-9]+'), regexp_extract('abc', '[0-9]+'), "
        "regexp_extract('abc123', '([a-z]+)([0-9]+)', 2)",
        ("123", None, "123"),
    ),
    (
        "SELECT regexp_like('abc', 'b'), regexp_replace('abc', '(b)', '[$1]'), regexp_replace('abc', 'b')",
        (True, "a[b]c", "ac"),
    ),
    (
        "SELECT json_extract_scalar('{\"a\":1}', '$.a'), json_extract_scalar('{\"a\":{\"b\":1}}', '$.a'), "
        "json_format(json_extract('{\"a\":{\"b\":1}}', '$.a'))",
        ("1", None, '{"b":1}'),
    ),
    ("SELECT json_format(json_parse('[1, 2]'))", ("[1,2]",)),
    (
        "SELECT strpos('abc', 'c'), length('abc'), substr('abcdef', 2, 3), substr('abcdef', -2)",
        (3, 3, "bcd", "ef"),
    ),
    (
        "SELECT lower('AbC'), upper('abc'), concat('a', 'b', 'c'), 'a' || 'b'",
        ("abc", "ABC", "abc", "ab"),
    ),
    ("SELECT coalesce(NULL, 2), if(true, 1, 2), if(false, 1), nullif(1, 1)", (2, 1, None, None)),
    ("SELECT typeof(1), typeof(2.5E0)", ("integer", "double")),
    (
        "SELECT map_keys(MAP(ARRAY['a'], ARRAY[1])), map_values(MAP(ARRAY['a'], ARRAY[1]))",
        (["a"], [1]),
    ),
    ("SELECT transform(ARRAY[1, 2], x -> x + 1), filter(ARRAY[1, 2], x -> x > 1)", ([2, 3], [2])),
    ("SELECT reduce(ARRAY[1, 2, 3], 0, (s, x) -> s + x, s -> s)", (6,)),
    ("SELECT reduce(ARRAY[1, 2, 3], 0, (s, x) -> s + x, s -> s * 10)", (60,)),
    ("SELECT CAST(ROW(1, 'a') AS ROW(x integer, y varchar)).x", (1,)),
    ("SELECT r.y FROM (SELECT CAST(ROW(1, 'a') AS ROW(x integer, y varchar)) AS r)", ("a",)),
    (
        "SELECT CAST(1.7 AS integer), CAST('12' AS bigint), CAST(1 AS double), CAST(1 AS varchar)",
        (2, 12, 1.0, "1"),
    ),
    (
        "SELECT CAST('1.5' AS decimal(10, 2)), CAST('2024-01-01' AS date), CAST(1.5 AS real)",
        (Decimal("1.50"), dt.date(2024, 1, 1), 1.5),
    ),
    (
        "SELECT CAST('2024-01-01 01:02:03' AS timestamp) + INTERVAL '1' DAY",
        (dt.datetime(2024, 1, 2, 1, 2, 3),),
    ),
    ("SELECT DATE '2024-03-31' - INTERVAL '1' MONTH", (dt.datetime(2024, 2, 29),)),
    ("SELECT 'a' = 'A', 'a' < 'b'", (False, True)),
    ("SELECT count(*) FROM t TABLESAMPLE BERNOULLI (100)", (2,)),
    ("SELECT n / m FROM t WHERE i = 2", (-2,)),
    ("SELECT map_agg(s, i)['b'] FROM t", (2,)),
    ("SELECT codepoint('A'), infinity() > 0, is_nan(nan())", (65, True, True)),
]


@pytest.mark.parametrize(("sql", "expected"), TRANSLATIONS, ids=[s for s, _ in TRANSLATIONS])
def test_translated_query_returns_what_trino_returns(
    con: duckdb.DuckDBPyConnection, sql: str, expected: tuple[Any, ...]
) -> None:
    rows = run(con, sql, schema=SCHEMA)
    assert rows == [expected]


def test_integer_division_of_columns_needs_the_schema(con: duckdb.DuckDBPyConnection) -> None:
    sql = "SELECT n / m FROM db.t ORDER BY i"
    assert run(con, sql, schema=SCHEMA) == [(2,), (-2,)]


MULTI_ROW: list[tuple[str, list[tuple[Any, ...]]]] = [
    ("SELECT i, x FROM t CROSS JOIN UNNEST(arr) AS u(x) ORDER BY i, x", [(1, 1), (1, 2), (2, 3)]),
    (
        "SELECT i, x, k FROM t CROSS JOIN UNNEST(arr) WITH ORDINALITY AS u(x, k) ORDER BY i, k",
        [(1, 1, 1), (1, 2, 2), (2, 3, 1)],
    ),
    ("SELECT x FROM UNNEST(ARRAY[2, 1]) AS u(x) ORDER BY x", [(1,), (2,)]),
    (
        "SELECT s, i, count(*) FROM t GROUP BY ROLLUP (s, i) ORDER BY s NULLS LAST, i NULLS LAST",
        [("a", 1, 1), ("a", None, 1), ("b", 2, 1), ("b", None, 1), (None, None, 2)],
    ),
    (
        "SELECT s, count(*) FROM t GROUP BY CUBE (s) ORDER BY s NULLS FIRST",
        [(None, 2), ("a", 1), ("b", 1)],
    ),
    (
        "SELECT s, i, count(*) FROM t GROUP BY GROUPING SETS ((s), (i)) ORDER BY s, i",
        [("a", None, 1), ("b", None, 1), (None, 1, 1), (None, 2, 1)],
    ),
    (
        "SELECT i, row_number() OVER (ORDER BY i DESC), sum(i) OVER () FROM t ORDER BY i",
        [(1, 2, 3), (2, 1, 3)],
    ),
    ("SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(x, y)", [(1, "a"), (2, "b")]),
    ("WITH c AS (SELECT i FROM t) SELECT max(i) FROM c", [(2,)]),
    ("SELECT i FROM t ORDER BY i OFFSET 1 ROWS FETCH FIRST 1 ROWS ONLY", [(2,)]),
    ("SELECT i FROM t ORDER BY i LIMIT 1", [(1,)]),
]


@pytest.mark.parametrize(("sql", "expected"), MULTI_ROW, ids=[s for s, _ in MULTI_ROW])
def test_translated_relational_query_returns_what_trino_returns(
    con: duckdb.DuckDBPyConnection, sql: str, expected: list[tuple[Any, ...]]
) -> None:
    assert run(con, sql) == expected


def test_unnamed_columns_are_named_like_athena(con: duckdb.DuckDBPyConnection) -> None:
    statement = parse_statement("SELECT i, count(*), s AS label, i + 1 FROM t GROUP BY i, s")
    assert statement.tree is not None
    rel = con.sql(to_duckdb(statement.tree, default_database="db"))
    assert rel.columns == ["i", "_col1", "label", "_col3"]


def test_unsupported_function_fails_with_its_position() -> None:
    statement = parse_statement("SELECT\n  url_extract_host(s) FROM t")
    assert statement.tree is not None
    with pytest.raises(QueryFailed) as info:
        to_duckdb(statement.tree)
    assert info.value.category == "NOT_SUPPORTED"
    assert "url_extract_host" in info.value.message


def test_joda_patterns_become_strftime_formats() -> None:
    assert joda_to_strftime("yyyy-MM-dd'T'HH:mm:ss.SSS") == "%Y-%m-%dT%H:%M:%S.%g"
    assert joda_to_strftime("d MMM yyyy", parsing=True) == "%d %b %Y"


# --- classification ------------------------------------------------------------------

CLASSIFICATION = [
    ("SELECT 1", "DML", "SELECT", True),
    ("with c as (select 1) select * from c;", "DML", "SELECT", True),
    ("VALUES 1", "DML", "SELECT", True),
    ("INSERT INTO t SELECT 1", "DML", "INSERT", True),
    ("UNLOAD (SELECT * FROM t) TO 's3://b/p/' WITH (format = 'PARQUET')", "DML", "UNLOAD", True),
    (
        "CREATE TABLE t2 WITH (format = 'PARQUET') AS SELECT * FROM t",
        "DML",
        "CREATE_TABLE_AS_SELECT",
        True,
    ),
    ("CREATE EXTERNAL TABLE t (a int) LOCATION 's3://b/'", "DDL", "CREATE_TABLE", False),
    (
        "CREATE TABLE t (a int) LOCATION 's3://b/' TBLPROPERTIES ('table_type'='ICEBERG')",
        "DDL",
        "CREATE_TABLE",
        False,
    ),
    ("CREATE OR REPLACE VIEW v AS SELECT 1", "DDL", "CREATE_VIEW", True),
    ("CREATE DATABASE IF NOT EXISTS d", "DDL", "CREATE_DATABASE", False),
    ("CREATE SCHEMA d", "DDL", "CREATE_DATABASE", False),
    ("DROP TABLE IF EXISTS t", "DDL", "DROP_TABLE", False),
    ("DROP VIEW v", "DDL", "DROP_VIEW", False),
    ("DROP DATABASE d CASCADE", "DDL", "DROP_DATABASE", False),
    (
        "ALTER TABLE t ADD IF NOT EXISTS PARTITION (dt = '2024') LOCATION 's3://b/'",
        "DDL",
        "ALTER_TABLE_ADD_PARTITION",
        False,
    ),
    (
        "ALTER TABLE `db`.`t` DROP PARTITION (dt = '2024')",
        "DDL",
        "ALTER_TABLE_DROP_PARTITION",
        False,
    ),
    ("ALTER TABLE t ADD COLUMNS (c int)", "DDL", "ALTER_TABLE_ADD_COLUMNS", False),
    ("ALTER TABLE t REPLACE COLUMNS (c int)", "DDL", "ALTER_TABLE_REPLACE_COLUMNS", False),
    ("ALTER TABLE t SET LOCATION 's3://b/'", "DDL", "ALTER_TABLE_SET_LOCATION", False),
    ("ALTER TABLE t SET TBLPROPERTIES ('a'='b')", "DDL", "ALTER_TABLE_SET_TBLPROPERTIES", False),
    ("MSCK REPAIR TABLE t", "DDL", "MSCK_REPAIR_TABLE", False),
    ("SHOW TABLES IN d", "UTILITY", "SHOW_TABLES", False),
    ("SHOW DATABASES", "UTILITY", "SHOW_DATABASES", False),
    ("SHOW SCHEMAS", "UTILITY", "SHOW_DATABASES", False),
    ("SHOW PARTITIONS t", "UTILITY", "SHOW_PARTITIONS", False),
    ("SHOW CREATE TABLE t", "UTILITY", "SHOW_CREATE_TABLE", False),
    ("SHOW CREATE VIEW v", "UTILITY", "SHOW_CREATE_VIEW", False),
    ("SHOW COLUMNS IN t", "UTILITY", "SHOW_COLUMNS", False),
    ("SHOW TBLPROPERTIES t", "UTILITY", "SHOW_TBLPROPERTIES", False),
    ("SHOW VIEWS", "UTILITY", "SHOW_VIEWS", False),
    ("DESCRIBE t", "UTILITY", "DESCRIBE_TABLE", False),
    ("DESCRIBE VIEW v", "UTILITY", "DESCRIBE_VIEW", False),
    ("EXPLAIN SELECT * FROM t", "UTILITY", "EXPLAIN", True),
    ("EXPLAIN (TYPE DISTRIBUTED) SELECT 1", "UTILITY", "EXPLAIN", True),
    ("PREPARE p FROM SELECT * FROM t WHERE a = ?", "UTILITY", "PREPARE", True),
    ("EXECUTE p USING 1", "UTILITY", "EXECUTE", False),
    ("DEALLOCATE PREPARE p", "UTILITY", "DEALLOCATE", False),
    ("-- a comment\n/* another */ select 1", "DML", "SELECT", True),
]


@pytest.mark.parametrize(
    ("sql", "stype", "sub", "parsed"), CLASSIFICATION, ids=[c[0] for c in CLASSIFICATION]
)
def test_statement_is_classified_like_athena(sql: str, stype: str, sub: str, parsed: bool) -> None:
    statement = parse_statement(sql)
    assert (statement.statement_type, statement.substatement) == (stype, sub)
    assert (statement.tree is not None) == parsed
    assert statement.sql == sql


def test_execute_carries_name_and_using_values() -> None:
    statement = parse_statement("EXECUTE My_Stmt USING 'abc', 42, DATE '2024-01-01'")
    assert statement.name == "my_stmt"
    assert statement.parameters == ("'abc'", "42", "CAST('2024-01-01' AS DATE)")


def test_prepare_carries_name_and_the_prepared_query() -> None:
    statement = parse_statement("PREPARE q1 FROM SELECT * FROM t WHERE a = ?")
    assert statement.name == "q1"
    assert statement.tree is not None
    assert statement.tree.sql(dialect="trino") == "SELECT * FROM t WHERE a = ?"


@pytest.mark.parametrize("sql", ["SELECT 1; SELECT 2", "SELECT 1;\n;SELECT 2"])
def test_several_statements_fail(sql: str) -> None:
    with pytest.raises(QueryFailed) as info:
        parse_statement(sql)
    assert info.value.category == "SYNTAX_ERROR"
    assert info.value.message.startswith("Only one sql statement is allowed")


def test_semicolon_inside_a_string_is_not_a_statement_end() -> None:
    assert parse_statement("SELECT ';' ;").substatement == "SELECT"


@pytest.mark.parametrize("sql", ["", "   ", "-- only a comment"])
def test_empty_text_is_a_syntax_error(sql: str) -> None:
    with pytest.raises(QueryFailed) as info:
        parse_statement(sql)
    assert info.value.category == "SYNTAX_ERROR"
    assert "mismatched input '<EOF>'" in info.value.message


def test_syntax_error_points_at_line_and_column() -> None:
    with pytest.raises(QueryFailed) as info:
        parse_statement("SELECT a,\n  b FROM t WHERE")
    assert info.value.category == "SYNTAX_ERROR"
    assert (info.value.line, info.value.column) == (2, 12)
    assert info.value.reason.startswith("SYNTAX_ERROR: line 2:12: mismatched input 'WHERE'")


def test_unterminated_string_is_a_token_error_at_its_quote() -> None:
    with pytest.raises(QueryFailed) as info:
        parse_statement("SELECT\n 'abc")
    assert (info.value.category, info.value.line, info.value.column) == ("SYNTAX_ERROR", 2, 2)


def test_unknown_statement_is_a_syntax_error() -> None:
    with pytest.raises(QueryFailed) as info:
        parse_statement("SELEC 1")
    assert info.value.reason.startswith("SYNTAX_ERROR: line 1:1: mismatched input 'SELEC'")


# --- referenced tables -----------------------------------------------------------------

REFS = [
    ("SELECT * FROM t", [("dflt", "t")]),
    ("SELECT * FROM db2.t JOIN t u ON true", [("db2", "t"), ("dflt", "t")]),
    ('SELECT * FROM AwsDataCatalog."MyDb"."MyTable"', [("mydb", "mytable")]),
    ("WITH c AS (SELECT * FROM a.x) SELECT * FROM c JOIN b.y ON true", [("a", "x"), ("b", "y")]),
    ("WITH c AS (SELECT 1), d AS (SELECT * FROM c) SELECT * FROM d", []),
    ("SELECT * FROM (SELECT * FROM a.x) sub", [("a", "x")]),
    ("SELECT * FROM a.x CROSS JOIN UNNEST(x.arr) AS u(v)", [("a", "x")]),
    (
        "SELECT * FROM a.x WHERE id IN (SELECT id FROM a.y) UNION ALL SELECT * FROM a.x",
        [("a", "x"), ("a", "y")],
    ),
    ("INSERT INTO a.target SELECT * FROM a.source", [("a", "source")]),
    ("SELECT * FROM c.x WHERE EXISTS (WITH c AS (SELECT 1) SELECT * FROM c)", [("c", "x")]),
]


@pytest.mark.parametrize(("sql", "expected"), REFS, ids=[r[0] for r in REFS])
def test_referenced_tables_are_the_catalog_tables_read(
    sql: str, expected: list[tuple[str, str]]
) -> None:
    statement = parse_statement(sql)
    assert statement.tree is not None
    refs = referenced_tables(statement.tree, "DFLT")
    assert [(r.database, r.table) for r in refs] == expected


def test_referenced_table_has_its_position() -> None:
    statement = parse_statement("SELECT *\nFROM  awsdatacatalog.db.t")
    assert statement.tree is not None
    assert referenced_tables(statement.tree, "x") == [TableRef("db", "t", 2, 7)]


def test_other_catalog_is_not_found() -> None:
    statement = parse_statement("SELECT * FROM hive.db.t")
    assert statement.tree is not None
    with pytest.raises(QueryFailed) as info:
        referenced_tables(statement.tree, "db")
    assert info.value.reason == "CATALOG_NOT_FOUND: line 1:15: Catalog 'hive' does not exist"


def test_tables_become_quoted_lowercase_schema_names() -> None:
    statement = parse_statement('SELECT * FROM awsdatacatalog."MyDb".T, u')
    assert statement.tree is not None
    assert (
        to_duckdb(statement.tree, default_database="Main") == 'SELECT * FROM "mydb"."t", "main"."u"'
    )


# --- parameters ------------------------------------------------------------------------


def test_parameters_bind_in_text_order(con: duckdb.DuckDBPyConnection) -> None:
    statement = parse_statement(
        "WITH c AS (SELECT i, s FROM t WHERE i >= ?) "
        "SELECT s FROM c WHERE s <> ? ORDER BY s LIMIT 5"
    )
    assert statement.tree is not None
    bound = bind_parameters(statement.tree, ["1", "'a'"])
    assert con.sql(to_duckdb(bound, default_database="db")).fetchall() == [("b",)]


def test_parameter_count_mismatch_uses_trinos_wording() -> None:
    statement = parse_statement("SELECT * FROM t WHERE a = ? AND b = ?")
    assert statement.tree is not None
    with pytest.raises(QueryFailed) as info:
        bind_parameters(statement.tree, ["1"])
    assert info.value.message == "Incorrect number of parameters: expected 2 but found 1"


def test_parameter_must_be_a_constant() -> None:
    statement = parse_statement("SELECT * FROM t WHERE a = ?")
    assert statement.tree is not None
    with pytest.raises(QueryFailed):
        bind_parameters(statement.tree, ["some_column"])


def _trino_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@settings(max_examples=60, deadline=None)
@given(
    number=st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1),
    text=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20),
)
def test_bound_literals_round_trip_through_duckdb(number: int, text: str) -> None:
    statement = parse_statement(
        "SELECT x, y FROM (VALUES (1)) v(z) WHERE ? IS NOT NULL OR ? IS NULL"
    )
    assert statement.tree is not None
    tree = parse_statement("SELECT ?, ?").tree
    assert tree is not None
    bound = bind_parameters(tree, [str(number), _trino_string(text)])
    assert duckdb.sql(to_duckdb(bound)).fetchall() == [(number, text)]
