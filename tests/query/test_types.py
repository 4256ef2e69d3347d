"""Type mapping (Hive -> DuckDB -> Athena ColumnInfo) and Athena's value rendering."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from fogbank.query.types import athena_type, hive_to_duckdb_type, java_double, render_value

ATHENA_TYPES = [
    ("VARCHAR", ("varchar", 2147483647, 0)),
    ("INTEGER", ("integer", 10, 0)),
    ("BIGINT", ("bigint", 19, 0)),
    ("HUGEINT", ("bigint", 19, 0)),
    ("SMALLINT", ("smallint", 5, 0)),
    ("TINYINT", ("tinyint", 3, 0)),
    ("DOUBLE", ("double", 17, 0)),
    ("FLOAT", ("real", 9, 0)),
    ("BOOLEAN", ("boolean", 0, 0)),
    ("DATE", ("date", 0, 0)),
    ("TIMESTAMP", ("timestamp", 3, 0)),
    ("TIMESTAMP WITH TIME ZONE", ("timestamp with time zone", 3, 0)),
    ("DECIMAL(10,2)", ("decimal", 10, 2)),
    ("DECIMAL(38, 6)", ("decimal", 38, 6)),
    ("BLOB", ("varbinary", 1073741824, 0)),
    ("INTEGER[]", ("array", 0, 0)),
    ("STRUCT(a INTEGER, b VARCHAR)[]", ("array", 0, 0)),
    ("STRUCT(a INTEGER, b VARCHAR)", ("row", 0, 0)),
    ("MAP(VARCHAR, INTEGER)", ("map", 0, 0)),
    ("JSON", ("json", 0, 0)),
]


@pytest.mark.parametrize(("duck", "expected"), ATHENA_TYPES, ids=[d for d, _ in ATHENA_TYPES])
def test_duckdb_type_maps_to_athena_column_info(duck: str, expected: tuple[str, int, int]) -> None:
    assert athena_type(duck) == expected


def test_athena_type_accepts_duckdb_relation_types() -> None:
    rel = duckdb.sql("SELECT 1 AS a, 'x' AS b, [1] AS c, 1.5::DECIMAL(4,1) AS d")
    assert [athena_type(str(t))[0] for t in rel.types] == ["integer", "varchar", "array", "decimal"]


RENDERED: list[tuple[Any, str, str | None]] = [
    (None, "varchar", None),
    ("abc", "varchar", "abc"),
    (True, "boolean", "true"),
    (False, "boolean", "false"),
    (42, "integer", "42"),
    (0.1, "double", "0.1"),
    (1.0, "double", "1.0"),
    (1e20, "double", "1.0E20"),
    (1e7, "double", "1.0E7"),
    (1234567.5, "double", "1234567.5"),
    (1e-4, "double", "1.0E-4"),
    (-2.5, "double", "-2.5"),
    (float("nan"), "double", "NaN"),
    (float("inf"), "double", "Infinity"),
    (1.100000023841858, "real", "1.1"),
    (Decimal("1.50"), "decimal", "1.50"),
    (dt.date(2024, 1, 2), "date", "2024-01-02"),
    (dt.datetime(2024, 1, 2, 3, 4, 5, 123456), "timestamp", "2024-01-02 03:04:05.123"),
    (dt.datetime(2024, 1, 2, 3, 4, 5), "timestamp", "2024-01-02 03:04:05.000"),
    (
        dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "timestamp with time zone",
        "2024-01-02 03:04:05.000 UTC",
    ),
    ([1, 2, 3], "array", "[1, 2, 3]"),
    (["a", None], "array", "[a, null]"),
    ({"a": 1, "b": 2}, "map", "{a=1, b=2}"),
    ({"x": 1, "y": "abc"}, "row", "{x=1, y=abc}"),
    ([{"x": 1.5}], "array", "[{x=1.5}]"),
    (b"ab", "varbinary", "61 62"),
    ('{"a":1}', "json", '{"a":1}'),
]


@pytest.mark.parametrize(
    ("value", "kind", "expected"), RENDERED, ids=[repr(r[0]) for r in RENDERED]
)
def test_value_renders_as_athena_writes_it(value: Any, kind: str, expected: str | None) -> None:
    assert render_value(value, kind) == expected


@pytest.mark.parametrize(
    "value", [0.1, 1 / 3, 123456789.123, 1e-300, 5e-324, 1.7976931348623157e308]
)
def test_java_double_reads_back_as_the_same_double(value: float) -> None:
    assert float(java_double(value)) == value


HIVE = [
    ("string", "TEXT"),
    ("int", "INT"),
    ("bigint", "BIGINT"),
    ("double", "DOUBLE"),
    ("float", "REAL"),
    ("boolean", "BOOLEAN"),
    ("timestamp", "TIMESTAMP"),
    ("date", "DATE"),
    ("decimal(10,2)", "DECIMAL(10, 2)"),
    ("decimal", "DECIMAL(10, 0)"),
    ("char(5)", "TEXT"),
    ("varchar(20)", "TEXT"),
    ("binary", "BLOB"),
    ("tinyint", "TINYINT"),
    ("smallint", "SMALLINT"),
    ("array<struct<a:int,b:string>>", "STRUCT(a INT, b TEXT)[]"),
    ("map<string,int>", "MAP(TEXT, INT)"),
    ("struct<a:int,b:array<string>>", "STRUCT(a INT, b TEXT[])"),
]


@pytest.mark.parametrize(("hive", "expected"), HIVE, ids=[h for h, _ in HIVE])
def test_hive_type_becomes_a_duckdb_type_duckdb_accepts(hive: str, expected: str) -> None:
    duck = hive_to_duckdb_type(hive)
    assert duck == expected
    duckdb.sql(f"SELECT CAST(NULL AS {duck})").fetchall()


def test_unknown_hive_type_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Unknown Hive column type"):
        hive_to_duckdb_type("no such type (")
