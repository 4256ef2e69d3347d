"""Column types across the three type systems an Athena query touches, and how Athena
writes values.

- Glue/Hive column types (``string``, ``array<struct<a:int>>``) become DuckDB types for
  the views the engine builds over the lake (:func:`hive_to_duckdb_type`).
- DuckDB result column types become Athena's GetQueryResults ``ColumnInfo`` Type,
  Precision and Scale (:func:`athena_type`).
- Result values are written as Athena writes them in the result CSV and in
  ``VarCharValue`` (:func:`render_value`).

Sources: ColumnInfo's Precision is documented in botocore's athena service-2.json
("For DECIMAL data types, specifies the total number of digits, up to 38"); the other
precisions are those Athena's JDBC-style metadata reports for each type (varchar
2147483647, integer 10, bigint 19, double 17, real 9, timestamp 3). Value renderings
follow Trino's client (``Double.toString``, ``[1, 2]``, ``{k=v}``, varbinary as
space-separated hex) which Athena's CSV writer shares.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import struct
from decimal import Decimal

from sqlglot import exp

VARCHAR_PRECISION = 2147483647

# DuckDB type name (first word, upper) -> Athena (type, precision, scale).
_SIMPLE: dict[str, tuple[str, int, int]] = {
    "VARCHAR": ("varchar", VARCHAR_PRECISION, 0),
    "BOOLEAN": ("boolean", 0, 0),
    "TINYINT": ("tinyint", 3, 0),
    "SMALLINT": ("smallint", 5, 0),
    "INTEGER": ("integer", 10, 0),
    "BIGINT": ("bigint", 19, 0),
    # Trino has no 128-bit or unsigned integers; DuckDB's sum(bigint) is HUGEINT
    # where Trino's is bigint.
    "HUGEINT": ("bigint", 19, 0),
    "UTINYINT": ("smallint", 5, 0),
    "USMALLINT": ("integer", 10, 0),
    "UINTEGER": ("bigint", 19, 0),
    "UBIGINT": ("bigint", 19, 0),
    "UHUGEINT": ("bigint", 19, 0),
    "DOUBLE": ("double", 17, 0),
    "FLOAT": ("real", 9, 0),
    "DATE": ("date", 0, 0),
    "TIME": ("time", 3, 0),
    "TIMESTAMP": ("timestamp", 3, 0),
    "TIMESTAMP_MS": ("timestamp", 3, 0),
    "TIMESTAMP_S": ("timestamp", 3, 0),
    "TIMESTAMP_NS": ("timestamp", 3, 0),
    "INTERVAL": ("interval day to second", 0, 0),
    "BLOB": ("varbinary", 1073741824, 0),
    "UUID": ("uuid", 0, 0),
    "JSON": ("json", 0, 0),
    "NULL": ("unknown", 0, 0),
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def athena_type(duckdb_type: str) -> tuple[str, int, int]:
    """ColumnInfo (Type, Precision, Scale) for a DuckDB result column type, as
    GetQueryResults reports the column."""
    text = duckdb_type.strip().upper()
    if text.endswith("]"):
        return ("array", 0, 0)
    if text.startswith("STRUCT"):
        return ("row", 0, 0)
    if text.startswith("MAP"):
        return ("map", 0, 0)
    if text.startswith("TIMESTAMP WITH TIME ZONE") or text == "TIMESTAMPTZ":
        return ("timestamp with time zone", 3, 0)
    if text.startswith("TIME WITH TIME ZONE"):
        return ("time with time zone", 3, 0)
    decimal = _DECIMAL.fullmatch(text)
    if decimal:
        return ("decimal", int(decimal.group(1)), int(decimal.group(2)))
    name = text.split("(")[0].strip()
    if name in _SIMPLE:
        return _SIMPLE[name]
    return (name.lower(), 0, 0)


def java_double(value: float) -> str:
    """``Double.toString``: how Trino, and so Athena, writes a double
    (0.1 -> 0.1, 1e20 -> 1.0E20, 1.0 -> 1.0, 1e-4 -> 1.0E-4)."""
    return _java_float_text(value, repr(value))


def java_float(value: float) -> str:
    """``Float.toString`` for a real: the shortest digits that read back as the same
    32-bit float (1.1f -> 1.1, not 1.100000023841858)."""
    if math.isnan(value) or math.isinf(value):
        return _java_float_text(value, repr(value))
    packed = struct.pack("<f", value)
    for digits in range(1, 10):
        text = f"{value:.{digits}g}"
        if struct.pack("<f", float(text)) == packed:
            return _java_float_text(float(text), repr(float(text)))
    return _java_float_text(value, repr(value))


def _java_float_text(value: float, shortest: str) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    magnitude = abs(value)
    sign = "-" if value < 0 else ""
    mantissa, _, exponent_text = shortest.lstrip("-").partition("e")
    digits = mantissa.replace(".", "")
    point = mantissa.index(".") if "." in mantissa else len(mantissa)
    exponent = int(exponent_text or 0) + point - 1
    significant = digits.lstrip("0")
    exponent -= len(digits) - len(significant)  # leading zeros of 0.00123
    significant = significant.rstrip("0") or "0"
    if 1e-3 <= magnitude < 1e7:
        # Plain notation with at least one digit after the point.
        scientific = f"{sign}{significant[0]}.{significant[1:] or '0'}E{exponent}"
        text = f"{Decimal(scientific):f}"
        if "." not in text:
            text += ".0"
        whole, frac = text.split(".")
        frac = frac.rstrip("0") or "0"
        return f"{whole}.{frac}"
    return f"{sign}{significant[0]}.{significant[1:] or '0'}E{exponent}"


def _timestamp(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def _nested(value: object) -> str:
    """An element inside an array, map or row, typed by its Python value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, dt.datetime):
        return _render_timestamp(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return " ".join(f"{b:02x}" for b in bytes(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_nested(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_nested(k)}={_nested(v)}" for k, v in value.items()) + "}"
    return str(value)


def _render_timestamp(value: dt.datetime) -> str:
    if value.tzinfo is None:
        return _timestamp(value)
    # Trino writes the zone after the time: 2024-01-02 03:04:05.000 UTC.
    zone = value.tzinfo.tzname(value) or "UTC"
    if zone in ("Etc/UTC", "UTC", "Z") or value.utcoffset() == dt.timedelta(0):
        zone = "UTC"
    return f"{_timestamp(value)} {zone}"


def render_value(value: object, athena_type: str) -> str | None:
    """How Athena writes one result value in the CSV and in ``VarCharValue``; None
    for NULL. ``athena_type`` is the column's ColumnInfo Type."""
    if value is None:
        return None
    kind = athena_type.lower()
    if kind == "real" and isinstance(value, float):
        return java_float(value)
    if kind == "decimal" and isinstance(value, (Decimal, int, float)):
        return format(Decimal(str(value)) if isinstance(value, float) else Decimal(value), "f")
    if kind == "varchar" or kind == "json":
        return str(value)
    if kind == "row" and isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_nested(v)}" for k, v in value.items()) + "}"
    return _nested(value)


@functools.lru_cache(maxsize=2048)
def hive_to_duckdb_type(hive_type: str) -> str:
    """The DuckDB type for a Glue/Hive column type (``string``, ``decimal(10,2)``,
    ``array<struct<a:int,b:string>>``, ``map<string,int>``...)."""
    try:
        built = exp.DataType.build(hive_type.strip(), dialect="hive")
    except Exception as error:
        raise ValueError(f"Unknown Hive column type: {hive_type!r}") from error

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.DataType):
            if node.this in (
                exp.DataType.Type.TEXT,
                exp.DataType.Type.CHAR,
                exp.DataType.Type.VARCHAR,
            ):
                # char(n)/varchar(n): DuckDB keeps no length, and Athena pads nothing.
                return exp.DataType.build("VARCHAR")
            if node.this == exp.DataType.Type.DECIMAL and not node.expressions:
                return exp.DataType.build("DECIMAL(10, 0)")  # Hive's bare decimal
        return node

    return built.transform(fix).sql(dialect="duckdb")
