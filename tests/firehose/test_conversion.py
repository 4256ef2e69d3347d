"""Record format conversion: JSON records to Parquet and ORC in a Glue table's schema,
records that do not fit to the error output in AWS's format, AWS's rules on the
configuration, and a property test that rows fitting a schema round-trip."""

from __future__ import annotations

import base64
import io
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.orc as orc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fogbank import Fogbank
from fogbank.core.errors import EntityNotFoundException, InvalidArgumentException
from fogbank.firehose.conversion import FormatConversion, SchemaMismatch
from fogbank.firehose.engine import Firehose

from .conftest import BUCKET, ROLE, destination

COLUMNS = [
    {"Name": "id", "Type": "bigint"},
    {"Name": "name", "Type": "string"},
    {"Name": "price", "Type": "decimal(10,2)"},
    {"Name": "ok", "Type": "boolean"},
    {"Name": "at", "Type": "timestamp"},
    {"Name": "day", "Type": "date"},
    {"Name": "tags", "Type": "array<string>"},
    {"Name": "attrs", "Type": "map<string,int>"},
    {"Name": "geo", "Type": "struct<lat:double,lon:double>"},
]
HINTS = {"SizeInMBs": 64, "IntervalInSeconds": 0}


def conversion(
    serializer: dict[str, Any] | None = None, deserializer: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "Enabled": True,
        "SchemaConfiguration": {
            "DatabaseName": "web",
            "TableName": "clicks",
            "RoleARN": ROLE,
            "VersionId": "LATEST",
        },
        "InputFormatConfiguration": {"Deserializer": deserializer or {"OpenXJsonSerDe": {}}},
        "OutputFormatConfiguration": {"Serializer": serializer or {"ParquetSerDe": {}}},
    }


@pytest.fixture
def table(fb: Fogbank) -> None:
    fb.catalog.create_database({"Name": "web"})
    fb.catalog.create_table("web", {"Name": "clicks", "StorageDescriptor": {"Columns": COLUMNS}})


def read(fb: Fogbank, key: str) -> bytes:
    return fb.lake.read(f"s3://{BUCKET}/{key}")


GOOD = {
    "ID": 1,
    "name": "a",
    "price": 9.99,
    "ok": True,
    "at": "2026-01-01T10:00:00.123Z",
    "day": "2026-01-02",
    "tags": ["x", "y"],
    "attrs": {"k": 1},
    "geo": {"lat": 1.5, "lon": -2},
    "extra": "ignored",
}


@pytest.mark.usefixtures("table")
def test_json_records_become_one_parquet_object_in_the_tables_schema(
    hose: Firehose, fb: Fogbank
) -> None:
    hose.create_delivery_stream(
        "conv",
        extended_s3=destination(
            BufferingHints=HINTS,
            DataFormatConversionConfiguration=conversion({"ParquetSerDe": {"Compression": "GZIP"}}),
        ),
    )
    second = {"id": "2", "name": 3, "ok": "false", "at": 1767261600, "price": "1.5"}
    hose.put_record_batch("conv", [json.dumps(GOOD).encode(), json.dumps(second).encode()])
    [delivery] = hose.deliver_due()
    assert delivery.key.startswith("2026/01/01/00/conv-1-") and delivery.key.endswith(".parquet")
    assert delivery.errors == 0
    parquet = pq.ParquetFile(io.BytesIO(read(fb, delivery.key)))
    assert parquet.metadata.row_group(0).column(0).compression == "GZIP"
    rows = parquet.read().to_pylist()
    assert rows[0] == {
        "id": 1,
        "name": "a",
        "price": Decimal("9.99"),
        "ok": True,
        "at": datetime(2026, 1, 1, 10, 0, 0, 123000),
        "day": date(2026, 1, 2),
        "tags": ["x", "y"],
        "attrs": [("k", 1)],
        "geo": {"lat": 1.5, "lon": -2.0},
    }
    assert rows[1]["id"] == 2 and rows[1]["name"] == "3" and rows[1]["ok"] is False
    assert rows[1]["at"] == datetime(2026, 1, 1, 10, 0) and rows[1]["price"] == Decimal("1.50")
    assert rows[1]["tags"] is None


@pytest.mark.usefixtures("table")
def test_orc_with_zlib(hose: Firehose, fb: Fogbank) -> None:
    hose.create_delivery_stream(
        "orc",
        extended_s3=destination(
            BufferingHints=HINTS,
            DataFormatConversionConfiguration=conversion({"OrcSerDe": {"Compression": "ZLIB"}}),
        ),
    )
    hose.put_record("orc", b'{"id": 7}{"id": 8}\n')  # concatenated objects: two rows
    [delivery] = hose.deliver_due()
    assert delivery.key.endswith(".orc")
    data = orc.ORCFile(io.BytesIO(read(fb, delivery.key)))
    assert data.compression == "ZLIB"
    assert data.read().column("id").to_pylist() == [7, 8]


@pytest.mark.usefixtures("table")
def test_records_that_do_not_fit_go_to_the_error_output_in_awss_format(
    hose: Firehose, fb: Fogbank
) -> None:
    hose.create_delivery_stream(
        "bad",
        extended_s3=destination(
            BufferingHints=HINTS, DataFormatConversionConfiguration=conversion()
        ),
    )
    bad = [b"not json", b'[{"id": 1}]', b'{"id": 1.5}', b'{"id": 1}{"ok": 3}', b'{"day": "x"}']
    hose.put_record_batch("bad", [b'{"id": 1}', *bad])
    [delivery] = hose.deliver_due()
    assert delivery.records == 1 and delivery.errors == 5
    assert pq.read_table(io.BytesIO(read(fb, delivery.key))).column("id").to_pylist() == [1]
    assert delivery.error_keys
    assert delivery.error_keys[0].startswith("format-conversion-failed/2026/01/01/00/bad-1-")
    lines = read(fb, delivery.error_keys[0]).decode().splitlines()
    documents = [json.loads(line) for line in lines]
    assert [base64.b64decode(d["rawData"]) for d in documents] == bad
    first = documents[0]
    assert list(first) == [
        "attemptsMade",
        "arrivalTimestamp",
        "lastErrorCode",
        "lastErrorMessage",
        "attemptEndingTimestamp",
        "rawData",
        "sequenceNumber",
        "subSequenceNumber",
        "dataCatalogTable",
    ]
    assert first["lastErrorCode"] == "DataFormatConversion.MalformedData"
    assert first["dataCatalogTable"]["databaseName"] == "web"
    assert first["dataCatalogTable"]["tableName"] == "clicks"
    assert "not an integer" in documents[2]["lastErrorMessage"]
    assert "'id'" in documents[2]["lastErrorMessage"]


@pytest.mark.usefixtures("table")
def test_a_custom_error_prefix_names_the_error_output_type(hose: Firehose, fb: Fogbank) -> None:
    hose.create_delivery_stream(
        "custom",
        extended_s3=destination(
            BufferingHints=HINTS,
            ErrorOutputPrefix="errors/!{firehose:error-output-type}/!{timestamp:yyyy}/",
            DataFormatConversionConfiguration=conversion(),
        ),
    )
    hose.put_record("custom", b"nope")
    [delivery] = hose.deliver_due()
    assert delivery.key == "" and delivery.records == 0
    assert delivery.error_keys
    assert delivery.error_keys[0].startswith("errors/format-conversion-failed/2026/custom-1-")


@pytest.mark.usefixtures("table")
def test_the_schema_is_read_at_each_delivery(hose: Firehose, fb: Fogbank) -> None:
    hose.create_delivery_stream(
        "latest",
        extended_s3=destination(
            BufferingHints=HINTS, DataFormatConversionConfiguration=conversion()
        ),
    )
    hose.put_record("latest", b'{"id": 1, "color": "red"}')
    [first] = hose.deliver_due()
    assert "color" not in pq.read_table(io.BytesIO(read(fb, first.key))).column_names
    columns = [*COLUMNS, {"Name": "color", "Type": "string"}]
    fb.catalog.update_table("web", {"Name": "clicks", "StorageDescriptor": {"Columns": columns}})
    hose.put_record("latest", b'{"id": 2, "color": "blue"}')
    [second] = hose.deliver_due()
    table = pq.read_table(io.BytesIO(read(fb, second.key)))
    assert table.column("color").to_pylist() == ["blue"]


def test_a_missing_table_keeps_the_records_for_a_retry(hose: Firehose, fb: Fogbank) -> None:
    hose.create_delivery_stream(
        "early",
        extended_s3=destination(
            BufferingHints=HINTS, DataFormatConversionConfiguration=conversion()
        ),
    )
    hose.put_record("early", b'{"id": 1}')
    with pytest.raises(EntityNotFoundException):
        hose.deliver_due()
    assert hose.buffered("early")[0] == 1
    fb.catalog.create_database({"Name": "web"})
    fb.catalog.create_table("web", {"Name": "clicks", "StorageDescriptor": {"Columns": COLUMNS}})
    [delivery] = hose.deliver_due()
    assert delivery.records == 1


@pytest.mark.usefixtures("table")
def test_openx_options_and_hive_strictness(hose: Firehose, fb: Fogbank) -> None:
    openx = {
        "OpenXJsonSerDe": {
            "CaseInsensitive": False,
            "ConvertDotsInJsonKeysToUnderscores": True,
            "ColumnToJsonKeyMappings": {"name": "user_name"},
        }
    }
    hose.create_delivery_stream(
        "openx",
        extended_s3=destination(
            BufferingHints=HINTS, DataFormatConversionConfiguration=conversion(deserializer=openx)
        ),
    )
    hose.put_record("openx", b'{"id": 1, "user.name": "dots", "ID": 5}')
    [delivery] = hose.deliver_due()
    [row] = pq.read_table(io.BytesIO(read(fb, delivery.key))).to_pylist()
    assert row["id"] == 1 and row["name"] == "dots"
    hive = {"HiveJsonSerDe": {"TimestampFormats": ["yyyy/MM/dd HH:mm", "millis"]}}
    hose.create_delivery_stream(
        "hive",
        extended_s3=destination(
            BufferingHints=HINTS, DataFormatConversionConfiguration=conversion(deserializer=hive)
        ),
    )
    hose.put_record_batch("hive", [b'{"at": "2026/03/04 05:06"}', b'{"at": 1000}', b'{"id": "2"}'])
    [delivery] = hose.deliver_due()
    assert delivery.errors == 1  # Hive refuses numbers sent as strings
    at = pq.read_table(io.BytesIO(read(fb, delivery.key))).column("at").to_pylist()
    assert at == [datetime(2026, 3, 4, 5, 6), datetime(1970, 1, 1, 0, 0, 1)]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"CompressionFormat": "GZIP"}, "UNCOMPRESSED"),
        (
            {"BufferingHints": {"SizeInMBs": 63, "IntervalInSeconds": 60}},
            "minimum buffer size is 64",
        ),
        ({"DataFormatConversionConfiguration": {"Enabled": True}}, "SchemaConfiguration"),
        (
            {
                "DataFormatConversionConfiguration": {
                    **conversion(),
                    "OutputFormatConfiguration": {"Serializer": {}},
                }
            },
            "exactly one of ParquetSerDe or OrcSerDe",
        ),
        (
            {
                "DataFormatConversionConfiguration": conversion(
                    deserializer={"HiveJsonSerDe": {"TimestampFormats": ["qqq"]}}
                )
            },
            "TimestampFormats",
        ),
    ],
)
def test_conversion_settings_are_checked_as_aws_checks_them(
    hose: Firehose, change: dict[str, Any], words: str
) -> None:
    config = destination(DataFormatConversionConfiguration=conversion(), BufferingHints=HINTS)
    config.update(change)
    with pytest.raises(InvalidArgumentException, match=words):
        hose.create_delivery_stream("bad", extended_s3=config)


def test_conversion_defaults_the_buffer_to_128_mib(hose: Firehose) -> None:
    hose.create_delivery_stream(
        "sized", extended_s3=destination(DataFormatConversionConfiguration=conversion())
    )
    described = hose.describe_delivery_stream("sized").destination.describe()
    assert described["BufferingHints"] == {"SizeInMBs": 128, "IntervalInSeconds": 300}
    disabled = destination(DataFormatConversionConfiguration={"Enabled": False})
    hose.create_delivery_stream("off", extended_s3=disabled)
    assert hose.describe_delivery_stream("off").destination.size_mbs == 5


# ---------------------------------------------------------------- property test

_SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "bigint": st.integers(-(2**63), 2**63 - 1),
    "int": st.integers(-(2**31), 2**31 - 1),
    "string": st.text(),
    "boolean": st.booleans(),
    "double": st.floats(allow_nan=False, allow_infinity=False),
    "decimal(12,3)": st.decimals(
        min_value=-(10**8), max_value=10**8, places=3, allow_nan=False, allow_infinity=False
    ),
    "date": st.dates(min_value=date(1, 1, 1)),
    "array<int>": st.lists(st.integers(-(2**31), 2**31 - 1), max_size=4),
}


@st.composite
def schema_and_rows(draw: st.DrawFn) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    types = draw(st.lists(st.sampled_from(sorted(_SCALARS)), min_size=1, max_size=6))
    columns = [{"Name": f"c{i}", "Type": t} for i, t in enumerate(types)]
    rows = draw(
        st.lists(
            st.fixed_dictionaries(
                {c["Name"]: st.one_of(st.none(), _SCALARS[c["Type"]]) for c in columns}
            ),
            min_size=1,
            max_size=5,
        )
    )
    return columns, rows


def _json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):  # a JSON number where a float holds it, else a string
        return float(value) if Decimal(repr(float(value))) == value else str(value)
    return value


@settings(max_examples=60, deadline=None)
@given(schema_and_rows())
def test_records_fitting_a_schema_round_trip_through_parquet(
    drawn: tuple[list[dict[str, str]], list[dict[str, Any]]],
) -> None:
    columns, rows = drawn
    made = FormatConversion.parse(
        {"DataFormatConversionConfiguration": conversion(), "BufferingHints": HINTS}
    )
    assert made is not None
    reader = made.reader(columns)
    read_rows = []
    for row in rows:
        text = json.dumps({k: _json_value(v) for k, v in row.items()})
        read_rows += reader.rows(text.encode())
    table = pa.Table.from_pylist(read_rows, reader.schema)
    back = pq.read_table(io.BytesIO(made.write(table))).to_pylist()
    assert back == rows


# ---------------------------------------------------------------- bulk reading

BULK_COLUMNS = [
    {"Name": "id", "Type": "bigint"},
    {"Name": "n", "Type": "int"},
    {"Name": "small", "Type": "tinyint"},
    {"Name": "name", "Type": "string"},
    {"Name": "ok", "Type": "boolean"},
    {"Name": "score", "Type": "double"},
]


def _reader(deserializer: dict[str, Any] | None = None, columns: Any = None) -> Any:
    made = FormatConversion.parse(
        {
            "DataFormatConversionConfiguration": conversion(None, deserializer),
            "BufferingHints": HINTS,
        }
    )
    assert made is not None
    return made.reader(columns or BULK_COLUMNS)


def _one_by_one(reader: Any, records: list[bytes]) -> pa.Table | None:
    """What reading each record with rows() makes, or None when a record is refused."""
    rows: list[dict[str, Any]] = []
    try:
        for record in records:
            rows += reader.rows(record)
        return pa.Table.from_pylist(rows, reader.schema)
    except (SchemaMismatch, pa.ArrowException, UnicodeEncodeError):
        return None


def test_well_formed_records_are_read_in_bulk_as_one_by_one() -> None:
    reader = _reader()
    records = [
        b'{"id": 1, "n": -5, "small": 127, "name": "a\\u00e9", "ok": true, "score": 1.5}',
        b'{"id": 2, "other": {"x": [1]}}\n',  # keys not in the table are ignored
        b' {"id": 3}{"id": 4, "score": 2}\r\n',  # two objects, two rows
        b'{"name": null, "score": 1e-3}',
        b'{"id":\n 5}',  # an object over two lines
    ]
    bulk = reader.table(records)
    assert bulk is not None and bulk.num_rows == 6
    assert bulk.equals(_one_by_one(reader, records))


@pytest.mark.parametrize(
    "odd",
    [
        b'{"ID": 9}',  # a key that matches its column only case-insensitively
        b'{"id": 1, "Id": 2}',  # two keys that fold onto one column: the last one wins
        b'{"score": NaN}',  # JSON's NaN and Infinity: Arrow reads them, rows() refuses
        b'{"score": -Infinity}',
        b"\xef\xbb\xbf" + b'{"id": 1}',  # a byte order mark
        b" \t",  # a blank record
        b"",
        b'{"name": "\xff"}',  # not UTF-8
        b'{"n": 1.0}',  # a fraction for an integer
        b'{"small": 128}',  # out of tinyint's range
        b'{"name": 5}',  # OpenX reads a number as text; Arrow refuses it
        b'{"ok": "true"}',
        b'{"id": 1} x',
        b"[1]",
    ],
)
def test_records_that_bulk_reading_may_misread_are_read_one_by_one(odd: bytes) -> None:
    reader = _reader()
    records = [b'{"id": 1}', odd, b'{"id": 2}']
    assert reader.table(records) is None
    assert reader.table([b'{"id": 1}', b'{"id": 2}']) is not None


def test_bulk_reading_follows_the_deserializers_key_options() -> None:
    openx = {"ConvertDotsInJsonKeysToUnderscores": True, "CaseInsensitive": False}
    reader = _reader({"OpenXJsonSerDe": openx}, [{"Name": "a_b", "Type": "int"}])
    assert reader.table([b'{"a.b": 1}']) is None  # rows() reads a.b as a_b
    assert reader.table([b'{"A_B": 1, "a_b": 2}']) == pa.table({"a_b": pa.array([2], pa.int32())})
    mapped = {"ColumnToJsonKeyMappings": {"ts": "event.time"}}
    reader = _reader({"OpenXJsonSerDe": mapped}, [{"Name": "ts", "Type": "string"}])
    bulk = reader.table([b'{"event.time": "x", "ts": "y"}'])
    assert bulk is not None and bulk.to_pylist() == [{"ts": "x"}]
    for kind in ("timestamp", "decimal(4,2)", "float", "varchar(3)", "array<int>"):
        assert _reader(columns=[{"Name": "a", "Type": kind}]).table([b'{"a": null}']) is None


_ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**65), 2**65),
    st.floats(),
    st.text(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


@st.composite
def odd_records(draw: st.DrawFn) -> list[bytes]:
    """Records mostly fitting BULK_COLUMNS, with keys in any case and values of any type."""
    records: list[bytes] = []
    for _ in range(draw(st.integers(1, 6))):
        objects = []
        for _ in range(draw(st.integers(1, 2))):
            names = [c["Name"] for c in BULK_COLUMNS] + ["Name", "ID", "x"]
            keys = draw(st.lists(st.sampled_from(names), max_size=4))
            objects.append(json.dumps({k: draw(_ODD_VALUES) for k in keys}))
        text = draw(st.sampled_from(["", " ", "\n", "\r\n"])).join(objects)
        record = text.encode("utf-8", "surrogatepass")
        cut = draw(st.integers(0, 3))
        records.append(record[:-cut] if cut == 3 and len(record) > 1 else record)
    return records


@settings(max_examples=200, deadline=None)
@given(odd_records())
def test_bulk_reading_equals_reading_one_by_one_or_steps_aside(records: list[bytes]) -> None:
    reader = _reader()
    bulk = reader.table(records)
    if bulk is not None:
        expected = _one_by_one(reader, records)
        assert expected is not None and bulk.equals(expected)


def test_an_object_is_never_read_across_two_records() -> None:
    reader = _reader()
    assert reader.table([b'{"id":', b"1}"]) is None
    assert reader.table([b'{"id": 1', b"}"]) is None
    assert reader.table([b'{"n": [{"id": 1}', b'{"id": 2}]}']) is None


def test_a_claim_with_a_bad_record_still_delivers_the_others_and_the_bad_one_to_errors(
    hose: Firehose, fb: Fogbank
) -> None:
    fb.catalog.create_database({"Name": "web"})
    fb.catalog.create_table(
        "web", {"Name": "clicks", "StorageDescriptor": {"Columns": BULK_COLUMNS}}
    )
    hose.create_delivery_stream(
        "mixed",
        extended_s3=destination(
            BufferingHints=HINTS, DataFormatConversionConfiguration=conversion()
        ),
    )
    good = [json.dumps({"id": i, "name": f"n{i}", "score": i / 2}).encode() for i in range(50)]
    hose.put_record_batch("mixed", good)
    [delivery] = hose.deliver_due()
    assert delivery.records == 50 and delivery.errors == 0 and not delivery.error_keys
    expected = [{"id": i, "name": f"n{i}", "score": i / 2} for i in range(50)]
    rows = pq.read_table(io.BytesIO(read(fb, delivery.key)), columns=["id", "name", "score"])
    assert rows.to_pylist() == expected
    hose.put_record_batch("mixed", [*good[:2], b'{"id": "x"}', good[2]])
    [delivery] = hose.deliver_due()
    assert delivery.records == 3 and delivery.errors == 1
    assert pq.read_table(io.BytesIO(read(fb, delivery.key))).column("id").to_pylist() == [0, 1, 2]
    [error] = [json.loads(line) for line in read(fb, delivery.error_keys[0]).splitlines()]
    assert base64.b64decode(error["rawData"]) == b'{"id": "x"}'
