"""Crawlers on real files: classifiers, schema inference and merging, grouping into tables
and partitions, schema-change policies, the run lifecycle, and recovery after a crash."""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import cramjam
import fastavro
import pyarrow as pa
import pyarrow.orc as orc
import pyarrow.parquet as pq
import pytest

from fogbank import Fogbank, FogbankConfig
from fogbank.catalog.classifiers import FileSource, UnreadableFile, classify, type_name
from fogbank.catalog.crawl import glob_pattern
from fogbank.catalog.crawler import Crawler, Crawlers
from fogbank.core.clock import ManualClock
from fogbank.core.errors import (
    AlreadyExistsException,
    CrawlerNotRunningException,
    CrawlerRunningException,
    CrawlerStoppingException,
    EntityNotFoundException,
    InvalidInputException,
    NoScheduleException,
    SchedulerNotRunningException,
    SchedulerRunningException,
)

BUCKET = "lake"
# Generous: a crawl of a few small files takes well under a second, but CI is shared.
DEADLINE = 60.0


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def fb(home: Path) -> Iterator[Fogbank]:
    with Fogbank(FogbankConfig.load(home=home, environ={})) as opened:
        opened.lake.create_bucket(BUCKET)
        yield opened


@pytest.fixture
def put(fb: Fogbank) -> Callable[[str, bytes], None]:
    def write(key: str, data: bytes) -> None:
        fb.lake.put_object(BUCKET, key, data)

    return write


@pytest.fixture
def crawl(fb: Fogbank) -> Callable[..., Crawler]:
    """Create (or update) a crawler over the given paths, run it, and wait for READY."""

    def run(*paths: str, name: str = "c", **members: Any) -> Crawler:
        targets = [{"Path": f"s3://{BUCKET}/{p}", **members.pop("target", {})} for p in paths]
        definition: Any = {
            "Name": name,
            "Role": "arn:aws:iam::000000000000:role/crawler",
            "DatabaseName": "db",
            "Targets": {"S3Targets": targets},
            **members,
        }
        try:
            fb.crawlers.get_crawler(name)
        except EntityNotFoundException:
            fb.crawlers.create_crawler(definition)
        else:
            fb.crawlers.update_crawler(name, definition)
        fb.crawlers.start_crawler(name)
        return fb.crawlers.wait_for_crawler(name, DEADLINE)

    return run


def parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list[Any]], delimiter: str = ",") -> bytes:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return text.getvalue().encode()


def json_lines(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def columns(fb: Fogbank, table: str) -> list[tuple[str, str]]:
    sd = fb.catalog.get_table("db", table).storage_descriptor
    assert sd is not None
    return [(c["Name"], c.get("Type", "")) for c in sd.get("Columns", [])]


def source(data: bytes) -> FileSource:
    return FileSource(len(data), lambda start, end: data[start:end])


# ---------------------------------------------------------------------- classifiers


def test_parquet_schema_comes_from_the_footer_with_glue_type_names() -> None:
    table = pa.table(
        {
            "small": pa.array([1], pa.int32()),
            "big": pa.array([1], pa.int64()),
            "ratio": pa.array([1.5], pa.float64()),
            "name": ["a"],
            "flag": [True],
            "at": pa.array([datetime(2024, 1, 1)], pa.timestamp("ms")),
            "day": pa.array([date(2024, 1, 1)], pa.date32()),
            "tags": [["x", "y"]],
            "point": [{"x": 1, "label": "p"}],
            "amount": pa.array([1], pa.decimal128(10, 2)),
        }
    )
    found = classify(source(parquet(table)))
    assert found.classification == "parquet" and found.certainty == 1.0
    assert [(n, type_name(t)) for n, t in found.columns] == [
        ("small", "int"),
        ("big", "bigint"),
        ("ratio", "double"),
        ("name", "string"),
        ("flag", "boolean"),
        ("at", "timestamp"),
        ("day", "date"),
        ("tags", "array<string>"),
        ("point", "struct<x:bigint,label:string>"),
        ("amount", "decimal(10,2)"),
    ]
    assert found.record_count == 1


def test_orc_is_classified_by_its_magic_and_schema() -> None:
    buffer = io.BytesIO()
    orc.write_table(pa.table({"id": pa.array([1, 2], pa.int64()), "name": ["a", "b"]}), buffer)
    found = classify(source(buffer.getvalue()))
    assert found.classification == "orc"
    assert [(n, type_name(t)) for n, t in found.columns] == [("id", "bigint"), ("name", "string")]
    assert found.record_count == 2


def test_json_lines_nested_values_become_structs_and_arrays() -> None:
    data = json_lines(
        [
            {"id": 1, "user": {"name": "a", "age": 3}, "tags": ["x"], "ok": True},
            {"id": 2**40, "user": {"name": "b", "email": "e"}, "tags": [], "score": 1.5},
        ]
    )
    found = classify(source(data))
    assert found.classification == "json"
    assert [(n, type_name(t)) for n, t in found.columns] == [
        ("id", "bigint"),
        ("user", "struct<name:string,age:int,email:string>"),
        ("tags", "array<string>"),
        ("ok", "boolean"),
        ("score", "double"),
    ]
    assert found.sampled_records == 2


def test_a_json_array_file_is_one_column_named_array() -> None:
    found = classify(source(json.dumps([{"a": 1}, {"a": 2, "b": "x"}]).encode()))
    assert found.classification == "json" and found.json_array
    assert [(n, type_name(t)) for n, t in found.columns] == [
        ("array", "array<struct<a:int,b:string>>")
    ]


def test_csv_header_is_detected_when_a_data_column_is_not_a_string() -> None:
    found = classify(source(csv_bytes([["id", "name"], [1, "a"], [2, "b"]])))
    assert found.classification == "csv" and found.header
    assert [(n, type_name(t)) for n, t in found.columns] == [("id", "bigint"), ("name", "string")]


def test_csv_of_only_strings_has_no_header_and_columns_named_col0() -> None:
    found = classify(source(csv_bytes([["a", "b"], ["c", "d"], ["e", "f"]])))
    assert found.classification == "csv" and not found.header
    assert [n for n, _ in found.columns] == ["col0", "col1"]
    assert found.sampled_records == 3


def test_csv_without_header_types_every_row() -> None:
    found = classify(source(csv_bytes([[1, 2.5, "x"], [2, 3, "y"]])))
    assert not found.header
    assert [(n, type_name(t)) for n, t in found.columns] == [
        ("col0", "bigint"),
        ("col1", "double"),
        ("col2", "string"),
    ]


def test_pipe_delimited_quoted_fields_with_delimiters_and_newlines() -> None:
    rows: list[list[Any]] = [
        ["id", "note", "score"],
        [1, "a|b", 1.5],
        [2, "line one\nline two", 2.0],
    ]
    found = classify(source(csv_bytes(rows, delimiter="|")))
    assert found.classification == "csv"
    assert found.delimiter == "|" and found.header and found.quoted
    assert [(n, type_name(t)) for n, t in found.columns] == [
        ("id", "bigint"),
        ("note", "string"),
        ("score", "double"),
    ]
    assert found.sampled_records == 2


@pytest.mark.parametrize(("delimiter", "name"), [("\t", "tab"), (";", "semicolon")])
def test_tab_and_semicolon_delimiters(delimiter: str, name: str) -> None:
    found = classify(source(csv_bytes([["a", "b"], [1, 2], [3, 4]], delimiter=delimiter)))
    assert found.delimiter == delimiter, name


def test_a_header_only_csv_is_unknown() -> None:
    assert classify(source(b"id,name\n")).classification == "UNKNOWN"


def avro_bytes(schema: dict[str, Any], records: list[dict[str, Any]], codec: str = "null") -> bytes:
    buffer = io.BytesIO()
    fastavro.writer(buffer, fastavro.parse_schema(schema), records, codec=codec)
    return buffer.getvalue()


AVRO_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Click",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "score", "type": ["null", "double"]},
        {"name": "flag", "type": "boolean"},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "int"}},
        {
            "name": "where",
            "type": {
                "type": "record",
                "name": "Where",
                "fields": [{"name": "x", "type": "float"}, {"name": "n", "type": "int"}],
            },
        },
    ],
}


@pytest.mark.parametrize("codec", ["null", "deflate", "snappy"])
def test_avro_schema_comes_from_the_header_with_glue_type_names(codec: str) -> None:
    records = [
        {
            "id": 1,
            "score": None,
            "flag": True,
            "day": date(2024, 1, 2),
            "at": datetime(2024, 1, 2, 3, 4, 5),
            "tags": ["a"],
            "attrs": {"k": 1},
            "where": {"x": 1.5, "n": 2},
        }
    ]
    found = classify(source(avro_bytes(AVRO_SCHEMA, records, codec)))
    assert found.classification == "avro"
    assert [(n, type_name(t)) for n, t in found.columns] == [
        ("id", "bigint"),
        ("score", "double"),
        ("flag", "boolean"),
        ("day", "date"),
        ("at", "timestamp"),
        ("tags", "array<string>"),
        ("attrs", "map<string,int>"),
        ("where", "struct<x:float,n:int>"),
    ]


def test_a_corrupt_avro_file_is_unreadable() -> None:
    with pytest.raises(UnreadableFile):
        classify(source(b"Obj\x01" + b"\xff" * 32))


def snappy_framed(data: bytes) -> bytes:
    return bytes(cramjam.snappy.compress(data))


def hadoop_snappy(data: bytes) -> bytes:
    """Hadoop's SnappyCodec: per block, the uncompressed length, then one compressed run."""
    out = bytearray()
    for start in range(0, len(data), 64 * 1024):
        block = data[start : start + 64 * 1024]
        raw = bytes(cramjam.snappy.compress_raw(block))
        out += len(block).to_bytes(4, "big") + len(raw).to_bytes(4, "big") + raw
    return bytes(out)


def lz4_frame(data: bytes) -> bytes:
    return bytes(cramjam.lz4.compress(data))


def zipped(data: bytes, members: int = 1) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(members):
            archive.writestr(f"part-{index}.csv", data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("compress", "kind", "name"),
    [
        (snappy_framed, "snappy", "data.sz"),
        (hadoop_snappy, "snappy", "data.snappy"),
        (lz4_frame, "lz4", "data.lz4"),
        (zipped, "zip", "data.zip"),
    ],
)
def test_snappy_lz4_and_zip_are_classified_as_what_they_hold(
    compress: Callable[[bytes], bytes], kind: str, name: str
) -> None:
    data = compress(csv_bytes([["id", "v"], [1, 0.5], [2, 1.5]]))
    found = classify(FileSource(len(data), lambda start, end: data[start:end], name=name))
    assert (found.classification, found.compression) == ("csv", kind)
    assert [(n, type_name(t)) for n, t in found.columns] == [("id", "bigint"), ("v", "double")]
    assert found.record_count == 2


@pytest.mark.parametrize("compress", [snappy_framed, hadoop_snappy, zipped])
def test_large_compressed_files_are_sampled_from_their_start(
    compress: Callable[[bytes], bytes],
) -> None:
    data = compress(json_lines([{"id": i, "name": f"n{i % 97}" * 5} for i in range(60_000)]))
    reads: list[tuple[int, int]] = []

    def read(start: int, end: int) -> bytes:
        reads.append((start, end))
        return data[start:end]

    found = classify(FileSource(len(data), read, name="big.snappy"))
    assert found.classification == "json"
    assert found.sampled_records == 1000
    assert 40_000 <= found.record_count <= 80_000
    if compress is not zipped:  # ZIP reads its directory at the end, then the member
        assert sum(end - start for start, end in reads) <= 1024 * 1024


def test_a_zip_of_several_files_is_unknown_and_says_why() -> None:
    data = zipped(csv_bytes([["id", "v"], [1, 2], [3, 4]]), members=2)
    found = classify(source(data))
    assert found.classification == "UNKNOWN"
    assert "exactly one file" in found.notes[0]


def test_an_empty_file_is_unknown() -> None:
    assert classify(source(b"")).classification == "UNKNOWN"


@pytest.mark.parametrize(("compress", "kind"), [(gzip.compress, "gzip"), (bz2.compress, "bzip2")])
def test_compressed_csv_is_classified_as_what_it_holds(
    compress: Callable[[bytes], bytes], kind: str
) -> None:
    found = classify(source(compress(csv_bytes([["id", "v"], [1, 0.5], [2, 1.5]]))))
    assert (found.classification, found.compression) == ("csv", kind)
    assert [(n, type_name(t)) for n, t in found.columns] == [("id", "bigint"), ("v", "double")]


def test_concatenated_gzip_members_are_read_as_one_file() -> None:
    data = gzip.compress(b"id,v\n1,a\n2,b\n") + gzip.compress(b"3,c\n4,d\n")
    found = classify(source(data))
    assert (found.classification, found.record_count) == ("csv", 4)


def test_a_large_text_file_is_sampled_and_its_record_count_estimated() -> None:
    data = json_lines([{"id": i, "name": "x" * 20} for i in range(5000)])
    found = classify(source(data))
    assert found.sampled_records == 1000
    assert 4000 <= found.record_count <= 6000


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("*.csv", "a.csv", True),
        ("*.csv", "sub/a.csv", False),
        ("**.csv", "sub/deeper/a.csv", True),
        ("tmp/**", "tmp/x/y.json", True),
        ("*.{csv,tmp}", "a.tmp", True),
        ("year=201[0-8]/**", "year=2019/a.csv", False),
        ("year=201[0-8]/**", "year=2015/a.csv", True),
        ("?.json", "ab.json", False),
    ],
)
def test_exclusion_globs(pattern: str, key: str, matches: bool) -> None:
    assert (glob_pattern(pattern).fullmatch(key) is not None) == matches


# ---------------------------------------------------------------------- crawls


def test_hive_folders_become_one_partitioned_table(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    for year in (2019, 2020):
        for month in (1, 2):
            put(
                f"Sales-Data/year={year}/month={month}/part-0.parquet",
                parquet(pa.table({"id": [1, 2], "amount": [1.5, 2.5]})),
            )
    crawler = crawl("Sales-Data/")
    assert crawler.state == "READY" and crawler.last_crawl is not None
    assert crawler.last_crawl.status == "SUCCEEDED"
    table = fb.catalog.get_table("db", "sales_data")
    assert [k["Name"] for k in table.partition_keys] == ["year", "month"]
    assert {k["Type"] for k in table.partition_keys} == {"string"}
    sd = table.storage_descriptor
    assert sd is not None
    assert sd["Location"] == f"s3://{BUCKET}/Sales-Data/"
    assert sd["InputFormat"] == "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    assert sd["SerdeInfo"]["SerializationLibrary"] == (
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    )
    parameters = dict(table.parameters or {})
    assert parameters["classification"] == "parquet"
    assert parameters["UPDATED_BY_CRAWLER"] == "c"
    assert parameters["recordCount"] == "8" and parameters["objectCount"] == "4"
    assert parameters["typeOfData"] == "file"
    partitions = fb.catalog.get_partitions("db", "sales_data").items
    assert sorted(p.values for p in partitions) == [
        ("2019", "1"),
        ("2019", "2"),
        ("2020", "1"),
        ("2020", "2"),
    ]
    first = next(p for p in partitions if p.values == ("2019", "1"))
    assert first.storage_descriptor is not None
    assert first.storage_descriptor["Location"] == (f"s3://{BUCKET}/Sales-Data/year=2019/month=1/")
    metrics, _ = fb.crawlers.get_crawler_metrics(["c"])
    assert metrics[0].tables_created == 1


def test_unnamed_folders_are_partition_0_and_partition_1(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    for day in ("2024/01", "2024/02"):
        put(f"events/{day}/e.json", json_lines([{"id": 1, "kind": "a"}]))
    crawl("events/")
    table = fb.catalog.get_table("db", "events")
    assert [k["Name"] for k in table.partition_keys] == ["partition_0", "partition_1"]
    sd = table.storage_descriptor
    assert sd is not None
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    values = sorted(p.values for p in fb.catalog.get_partitions("db", "events").items)
    assert values == [("2024", "01"), ("2024", "02")]


def test_dissimilar_folders_become_separate_tables(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    put("root/orders/o.json", json_lines([{"order_id": 1, "total": 2.5}]))
    put("root/users/u.json", json_lines([{"user": "a", "email": "e", "age": 3}]))
    crawl("root/")
    names = [t.name for t in fb.catalog.get_tables("db").items]
    assert names == ["orders", "users"]
    assert columns(fb, "orders") == [("order_id", "int"), ("total", "double")]
    assert fb.catalog.get_table("db", "orders").partition_keys == ()


def test_int_and_double_across_files_merge_to_double(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    put("nums/p=1/a.csv", csv_bytes([["id", "value"], [1, 2], [2, 3]]))
    put("nums/p=2/b.csv", csv_bytes([["id", "value"], [3, 1.5], [4, 2.5]]))
    crawl("nums/")
    assert columns(fb, "nums") == [("id", "bigint"), ("value", "double")]
    table = fb.catalog.get_table("db", "nums")
    parameters = dict(table.parameters or {})
    assert parameters["skip.header.line.count"] == "1"
    assert parameters["delimiter"] == ","
    sd = table.storage_descriptor
    assert sd is not None
    assert sd["SerdeInfo"] == {
        "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
        "Parameters": {"field.delim": ","},
    }


def test_new_columns_in_later_files_are_appended(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    put("wide/a.json", json_lines([{"a": 1, "b": "x", "c": True}]))
    put("wide/b.json", json_lines([{"a": 2, "b": "y", "c": False, "d": 1.5}]))
    crawl("wide/")
    assert columns(fb, "wide") == [("a", "int"), ("b", "string"), ("c", "boolean"), ("d", "double")]


def test_gzipped_csv_table_says_gzip(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    put("zipped/data.csv.gz", gzip.compress(csv_bytes([["id", "v"], [1, "a"], [2, "b"]])))
    crawl("zipped/")
    table = fb.catalog.get_table("db", "zipped")
    assert dict(table.parameters or {})["compressionType"] == "gzip"
    assert columns(fb, "zipped") == [("id", "bigint"), ("v", "string")]


def test_corrupt_parquet_is_reported_and_the_rest_is_crawled(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    put("mixed/good/a.parquet", parquet(pa.table({"id": [1]})))
    put("mixed/bad/b.parquet", b"PAR1 this is not a parquet file PAR1")
    put("mixed/empty/e.csv", b"")
    put("mixed/header_only/h.csv", b"id,name\n")
    crawler = crawl("mixed/")
    assert crawler.last_crawl is not None
    assert crawler.last_crawl.status == "SUCCEEDED"
    assert crawler.last_crawl.error_message is not None
    assert "mixed/bad/b.parquet" in crawler.last_crawl.error_message
    assert [t.name for t in fb.catalog.get_tables("db").items] == ["mixed"]


def test_exclusions_and_sample_size(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    put("logs/a.json", json_lines([{"a": 1}]))
    put("logs/b.json", json_lines([{"a": 1, "from_b": "x"}]))
    put("logs/skip.tmp", b"not json at all")
    put("logs/tmp/c.json", json_lines([{"other": 1}]))
    crawl("logs/", target={"Exclusions": ["*.tmp", "tmp/**"], "SampleSize": 1})
    assert [t.name for t in fb.catalog.get_tables("db").items] == ["logs"]
    assert columns(fb, "logs") == [("a", "int")]  # only the first file was sampled
    assert dict(fb.catalog.get_table("db", "logs").parameters or {})["objectCount"] == "2"


def test_table_prefix_and_two_targets(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    put("one/a.json", json_lines([{"a": 1}]))
    put("two/b.csv", csv_bytes([["x", "y"], [1, 2], [3, 4]]))
    crawl("one/", "two/", TablePrefix="raw_")
    assert [t.name for t in fb.catalog.get_tables("db").items] == ["raw_one", "raw_two"]


def test_update_behavior_update_in_database_and_log(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    put("evolve/a.json", json_lines([{"a": 1}]))
    crawl("evolve/")
    put("evolve/b.json", json_lines([{"a": 2, "b": "new"}]))
    crawl("evolve/", SchemaChangePolicy={"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"})
    assert columns(fb, "evolve") == [("a", "int")]
    metrics, _ = fb.crawlers.get_crawler_metrics(["c"])
    assert (metrics[0].tables_created, metrics[0].tables_updated) == (0, 0)
    crawl(
        "evolve/",
        SchemaChangePolicy={
            "UpdateBehavior": "UPDATE_IN_DATABASE",
            "DeleteBehavior": "DEPRECATE_IN_DATABASE",
        },
    )
    assert columns(fb, "evolve") == [("a", "int"), ("b", "string")]
    metrics, _ = fb.crawlers.get_crawler_metrics(["c"])
    assert metrics[0].tables_updated == 1
    # a crawl that finds nothing new changes nothing
    crawl("evolve/")
    metrics, _ = fb.crawlers.get_crawler_metrics(["c"])
    assert metrics[0].tables_updated == 0


def test_delete_behaviors_for_tables_that_are_gone(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    put("gone/x/a.json", json_lines([{"a": 1}]))
    put("gone/y/b.csv", csv_bytes([["q", "r"], [1, 2], [3, 4]]))
    put("gone/z/c.parquet", parquet(pa.table({"id": [1]})))
    crawl("gone/")
    assert [t.name for t in fb.catalog.get_tables("db").items] == ["x", "y", "z"]
    fb.lake.delete_object(BUCKET, "gone/y/b.csv")
    crawl("gone/")
    assert dict(fb.catalog.get_table("db", "y").parameters or {})["DEPRECATED_BY_CRAWLER"] == "1"
    crawl(
        "gone/",
        SchemaChangePolicy={
            "UpdateBehavior": "UPDATE_IN_DATABASE",
            "DeleteBehavior": "DELETE_FROM_DATABASE",
        },
    )
    assert [t.name for t in fb.catalog.get_tables("db").items] == ["x", "z"]
    metrics, _ = fb.crawlers.get_crawler_metrics(["c"])
    assert metrics[0].tables_deleted == 1


def test_combine_compatible_schemas_makes_one_table_of_dissimilar_folders(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    put("years/year=2017/a.json", json_lines([{"a": 1, "b": "x"}]))
    put("years/year=2018/b.json", json_lines([{"c": 1.5, "d": True}]))
    crawl("years/")
    assert [t.name for t in fb.catalog.get_tables("db").items] == ["year_2017", "year_2018"]
    for table in ("year_2017", "year_2018"):
        fb.catalog.delete_table("db", table)
    grouping = {"Version": 1.0, "Grouping": {"TableGroupingPolicy": "CombineCompatibleSchemas"}}
    crawl("years/", Configuration=json.dumps(grouping))
    assert [t.name for t in fb.catalog.get_tables("db").items] == ["years"]
    assert [n for n, _ in columns(fb, "years")] == ["a", "b", "c", "d"]
    assert [k["Name"] for k in fb.catalog.get_table("db", "years").partition_keys] == ["year"]


def test_table_level_fixes_the_depth_of_tables(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    for source_name in ("web", "app"):
        for day in ("d=1", "d=2"):
            put(f"clicks/{source_name}/{day}/a.json", json_lines([{"id": 1, "page": "p"}]))
    # without a level, the similar folders are partitions of one table "clicks"
    configuration = {"Version": 1.0, "Grouping": {"TableLevelConfiguration": 3}}
    crawl("clicks/", Configuration=json.dumps(configuration))
    assert [t.name for t in fb.catalog.get_tables("db").items] == ["app", "web"]
    assert [k["Name"] for k in fb.catalog.get_table("db", "web").partition_keys] == ["d"]


def test_merge_new_columns_and_inherit_from_table(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    put("merge/p=1/a.json", json_lines([{"a": 1, "b": "x"}]))
    crawl("merge/")
    put("merge/p=1/a.json", json_lines([{"a": 1.5, "c": True}]))
    put("merge/p=2/b.json", json_lines([{"a": 1.5, "c": True}]))
    output = {
        "Version": 1.0,
        "CrawlerOutput": {
            "Tables": {"AddOrUpdateBehavior": "MergeNewColumns"},
            "Partitions": {"AddOrUpdateBehavior": "InheritFromTable"},
        },
    }
    crawl("merge/", Configuration=json.dumps(output))
    # b is kept though no file has it now, a keeps its type, c is added
    assert columns(fb, "merge") == [("a", "int"), ("b", "string"), ("c", "boolean")]
    partition = fb.catalog.get_partition("db", "merge", ["2"])
    assert partition.storage_descriptor is not None
    assert [c["Name"] for c in partition.storage_descriptor["Columns"]] == ["a", "b", "c"]


def test_a_table_level_above_the_target_fails_the_crawl(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    put("deep/er/a.json", json_lines([{"a": 1}]))
    configuration = {"Grouping": {"TableLevelConfiguration": 1}}
    crawler = crawl("deep/er/", Configuration=json.dumps(configuration))
    assert crawler.last_crawl is not None and crawler.last_crawl.status == "FAILED"
    assert "TableLevelConfiguration" in (crawler.last_crawl.error_message or "")


def test_more_tables_than_the_table_threshold_fails_and_writes_nothing(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    put("many/a/x.json", json_lines([{"a": 1}]))
    put("many/b/y.csv", csv_bytes([["id", "v"], [1, 2], [3, 4]]))
    put("many/c/z.json", json_lines([{"q": "s", "r": [1]}]))
    output = {"Version": 1.0, "CrawlerOutput": {"Tables": {"TableThreshold": 2}}}
    crawler = crawl("many/", Configuration=json.dumps(output))
    assert crawler.last_crawl is not None and crawler.last_crawl.status == "FAILED"
    message = crawler.last_crawl.error_message or ""
    assert "Table Threshold value = 2, Tables detected - 3" in message
    with pytest.raises(EntityNotFoundException):
        fb.catalog.get_database("db")  # not even the database is written
    output["CrawlerOutput"]["Tables"]["TableThreshold"] = 3
    crawler = crawl("many/", Configuration=json.dumps(output))
    assert crawler.last_crawl is not None and crawler.last_crawl.status == "SUCCEEDED"
    assert len(fb.catalog.get_tables("db").items) == 3


INCREMENTAL: dict[str, Any] = {
    "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"},
    "SchemaChangePolicy": {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"},
}


def test_crawl_new_folders_only_reads_only_new_folders(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    for day in (1, 2, 3):
        put(f"events/day={day}/a.json", json_lines([{"id": day, "kind": "x", "page": "/", "n": 1}]))
    read: list[str] = []
    fb.crawlers.before_file = read.append
    crawl("events/", **INCREMENTAL)  # the first run reads everything
    assert len(read) == 3
    assert [k["Name"] for k in fb.catalog.get_table("db", "events").partition_keys] == ["day"]
    read.clear()
    # similar enough to be partitions (4 of 5 columns shared), though LOG keeps the schema
    put("events/day=4/a.json", json_lines([{"id": 4, "kind": "y", "page": "/", "n": 2, "e": 1.5}]))
    put("events/day=5/a.json", json_lines([{"id": 5, "kind": "z", "page": "/a", "n": 3}]))
    put("events/day=1/b.json", json_lines([{"id": 9, "other": "new file, old folder"}]))
    put("events/day=6/a.csv", csv_bytes([["id", "v"], [1, 2], [3, 4]]))  # another format
    put("elsewhere.json", json_lines([{"a": 1}]))  # outside the target
    crawler = crawl("events/", **INCREMENTAL)
    assert crawler.last_crawl is not None and crawler.last_crawl.status == "SUCCEEDED"
    assert sorted(read) == [
        f"s3://{BUCKET}/events/day={d}/a.{x}" for d, x in ((4, "json"), (5, "json"), (6, "csv"))
    ]
    partitions = fb.catalog.get_partitions("db", "events").items
    assert sorted(p.values for p in partitions) == [("1",), ("2",), ("3",), ("4",), ("5",)]
    # LOG: the table's schema is left as the first crawl found it
    assert [n for n, _ in columns(fb, "events")] == ["id", "kind", "page", "n"]
    crawls, _ = fb.crawlers.list_crawls("c")
    assert json.loads(crawls[0].summary or "{}") == {"PARTITION": {"ADD": {"Count": 2}}}
    read.clear()
    crawl("events/", **INCREMENTAL)  # nothing new
    assert read == []


def test_crawl_new_folders_only_needs_log_policies_and_fixed_targets(fb: Fogbank) -> None:
    definition: Any = {
        "Name": "inc",
        "Role": "r",
        "Targets": {"S3Targets": [{"Path": "s3://b/x/"}]},
        "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"},
    }
    with pytest.raises(InvalidInputException, match="only LOG DeleteBehavior"):
        fb.crawlers.create_crawler(definition)
    fb.crawlers.create_crawler({**definition, **INCREMENTAL})
    with pytest.raises(InvalidInputException, match="cannot change"):
        fb.crawlers.update_crawler("inc", {"Targets": {"S3Targets": [{"Path": "s3://b/y/"}]}})
    fb.crawlers.update_crawler(
        "inc",
        {
            "Targets": {"S3Targets": [{"Path": "s3://b/y/"}]},
            "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_EVERYTHING"},
        },
    )


APACHE = '10.0.0.{n} - - [10/Oct/2024:13:55:{n:02d} +0000] "GET /p{n} HTTP/1.1" 200 {size}\n'


def test_custom_classifiers_run_first_in_the_crawlers_order(
    fb: Fogbank, put: Callable[[str, bytes], None], crawl: Callable[..., Crawler]
) -> None:
    logs = "".join(APACHE.format(n=n, size=100 + n) for n in range(20)).encode()
    put("logs/day=1/access.log", logs)
    put("logs/day=2/access.log", logs)
    put("people/p.psv", b"alice|30\nbob|41\n")
    fb.classifiers.create_classifier(
        {
            "GrokClassifier": {
                "Name": "access",
                "Classification": "apache-access",
                "GrokPattern": "%{IPORHOST:client} %{USER:ident} %{USER:auth} "
                '\\[%{HTTPDATE:at}\\] "%{WORD:verb} %{NOTSPACE:path} HTTP/%{NUMBER:version}" '
                "%{INT:status:int} %{INT:bytes:long}",
            }
        }
    )
    fb.classifiers.create_classifier(
        {
            "CsvClassifier": {
                "Name": "pipes",
                "Delimiter": "|",
                "ContainsHeader": "ABSENT",
                "Header": ["name", "age"],
            }
        }
    )
    crawler = crawl("logs/", "people/", Classifiers=["access", "pipes"])
    assert crawler.last_crawl is not None and crawler.last_crawl.status == "SUCCEEDED"
    logs_table = fb.catalog.get_table("db", "logs")
    assert (logs_table.parameters or {})["classification"] == "apache-access"
    sd = logs_table.storage_descriptor or {}
    assert sd["SerdeInfo"]["SerializationLibrary"] == "com.amazonaws.glue.serde.GrokSerDe"
    assert columns(fb, "logs")[-2:] == [("status", "int"), ("bytes", "bigint")]
    assert [k["Name"] for k in logs_table.partition_keys] == ["day"]
    assert columns(fb, "people") == [("name", "string"), ("age", "bigint")]
    # without them the logs are nothing the built-ins know
    fb.catalog.delete_table("db", "logs")
    crawl("logs/", name="plain")
    with pytest.raises(EntityNotFoundException):
        fb.catalog.get_table("db", "logs")


def wait_until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_schedule_starts_the_crawler_when_it_falls_due(home: Path) -> None:
    """Schedule cron(0 12 * * ? *), run by run_schedules (what `fogbank serve` calls):
    nothing before noon, one crawl at noon, none once StopCrawlerSchedule stopped it."""
    clock = ManualClock(datetime(2026, 3, 1, 11, 58, tzinfo=UTC))
    with Fogbank(FogbankConfig.load(home=home, environ={}), clock=clock) as fb:
        fb.lake.create_bucket(BUCKET)
        fb.lake.put_object(BUCKET, "daily/a.json", json_lines([{"a": 1}]))
        fb.crawlers.create_crawler(
            {
                "Name": "noon",
                "Role": "r",
                "DatabaseName": "db",
                "Targets": {"S3Targets": [{"Path": f"s3://{BUCKET}/daily/"}]},
                "Schedule": "cron(0 12 * * ? *)",
            }
        )
        fb.crawlers.run_schedules(max_wait=0.01, sync_seconds=0.02)
        clock.advance(60)  # 11:59: not yet due
        time.sleep(0.1)
        assert fb.crawlers.get_crawler("noon").last_crawl is None
        clock.advance(60)  # 12:00
        wait_until(lambda: fb.crawlers.get_crawler("noon").last_crawl is not None)
        crawler = fb.crawlers.wait_for_crawler("noon", DEADLINE)
        assert crawler.last_crawl is not None and crawler.last_crawl.status == "SUCCEEDED"
        assert [t.name for t in fb.catalog.get_tables("db").items] == ["daily"]
        fb.crawlers.stop_crawler_schedule("noon")
        assert fb.crawlers.get_crawler("noon").schedule == {
            "ScheduleExpression": "cron(0 12 * * ? *)",
            "State": "NOT_SCHEDULED",
        }
        clock.advance(86_400)
        time.sleep(0.1)
        assert len(fb.crawlers.list_crawls("noon")[0]) == 1
        # a schedule another process gives a crawler is read again by the server
        other = Crawlers(
            fb.store,
            fb.lake,
            fb.catalog,
            fb.classifiers,
            clock=clock,
            account_id=fb.config.account_id,
            region=fb.config.region,
        )
        other.update_crawler_schedule("noon", "cron(30 12 * * ? *)")
        clock.advance(29 * 60)
        time.sleep(0.2)  # many syncs: the server has read the new schedule
        clock.advance(60)  # the next day, 12:30
        wait_until(lambda: len(fb.crawlers.list_crawls("noon")[0]) == 2)
        fb.crawlers.wait_for_crawler("noon", DEADLINE)


def test_schedule_state_changes_and_errors(fb: Fogbank) -> None:
    definition: Any = {"Name": "s", "Role": "r", "Targets": {"S3Targets": [{"Path": "s3://b/"}]}}
    fb.crawlers.create_crawler(definition)
    with pytest.raises(NoScheduleException, match="UpdateCrawlerSchedule"):
        fb.crawlers.start_crawler_schedule("s")
    with pytest.raises(SchedulerNotRunningException):
        fb.crawlers.stop_crawler_schedule("s")
    with pytest.raises(InvalidInputException, match="5 minutes"):
        fb.crawlers.update_crawler_schedule("s", "cron(* * * * ? *)")
    fb.crawlers.update_crawler_schedule("s", "cron(0/15 * * * ? *)")
    with pytest.raises(SchedulerRunningException):
        fb.crawlers.start_crawler_schedule("s")
    fb.crawlers.stop_crawler_schedule("s")
    fb.crawlers.start_crawler_schedule("s")
    assert fb.crawlers.get_crawler("s").schedule == {
        "ScheduleExpression": "cron(0/15 * * * ? *)",
        "State": "SCHEDULED",
    }
    fb.crawlers.update_crawler("s", {"Schedule": ""})  # an empty schedule removes it
    assert fb.crawlers.get_crawler("s").schedule is None
    with pytest.raises(EntityNotFoundException):
        fb.crawlers.start_crawler_schedule("ghost")


# ---------------------------------------------------------------------- lifecycle


@pytest.fixture
def held(fb: Fogbank, put: Callable[[str, bytes], None]) -> Iterator[threading.Event]:
    """A crawler "c" whose crawl waits, RUNNING, until the event is set."""
    put("held/a.json", json_lines([{"a": 1}]))
    release = threading.Event()
    reached = threading.Event()

    def wait(_: str) -> None:
        reached.set()
        release.wait(DEADLINE)

    fb.crawlers.before_file = wait
    fb.crawlers.create_crawler(
        {
            "Name": "c",
            "Role": "r",
            "DatabaseName": "db",
            "Targets": {"S3Targets": [{"Path": f"s3://{BUCKET}/held/"}]},
        }
    )
    fb.crawlers.start_crawler("c")
    assert reached.wait(DEADLINE)
    yield release
    release.set()


def test_start_while_running_and_stop(fb: Fogbank, held: threading.Event) -> None:
    crawlers = fb.crawlers
    assert crawlers.get_crawler("c").state == "RUNNING"
    with pytest.raises(CrawlerRunningException):
        crawlers.start_crawler("c")
    with pytest.raises(CrawlerRunningException):
        crawlers.update_crawler("c", {"Description": "new"})
    with pytest.raises(CrawlerRunningException):
        crawlers.delete_crawler("c")
    metrics, _ = crawlers.get_crawler_metrics(["c"])
    assert metrics[0].still_estimating
    crawlers.stop_crawler("c")
    assert crawlers.get_crawler("c").state == "STOPPING"
    with pytest.raises(CrawlerStoppingException):
        crawlers.stop_crawler("c")
    held.set()
    crawler = crawlers.wait_for_crawler("c", DEADLINE)
    assert crawler.state == "READY"
    assert crawler.last_crawl is not None and crawler.last_crawl.status == "CANCELLED"
    with pytest.raises(EntityNotFoundException):
        fb.catalog.get_database("db")  # a stopped crawl writes nothing
    with pytest.raises(CrawlerNotRunningException):
        crawlers.stop_crawler("c")
    crawls, _ = crawlers.list_crawls("c")
    assert [c.state for c in crawls] == ["STOPPED"]


def test_close_stops_a_running_crawl(fb: Fogbank, held: threading.Event) -> None:
    closing = threading.Thread(target=fb.crawlers.close)
    closing.start()
    # close() asks the crawl to stop, then waits for it; release the crawl once asked
    deadline = time.monotonic() + DEADLINE
    while fb.crawlers.get_crawler("c").state != "STOPPING" and time.monotonic() < deadline:
        time.sleep(0.01)
    held.set()
    closing.join(DEADLINE)
    assert not closing.is_alive()
    crawler = fb.crawlers.get_crawler("c")
    assert crawler.state == "READY"
    assert crawler.last_crawl is not None and crawler.last_crawl.status == "CANCELLED"


def test_a_crawl_interrupted_by_a_crash_is_failed_on_next_open(
    fb: Fogbank, held: threading.Event
) -> None:
    # The crawl's owner becomes a process that has ended, as after a kill -9 ...
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    resource = fb.store.get_resource("glue", "crawler", "c")
    body = {**resource.body, "Owner": {**resource.body["Owner"], "Pid": int(ended.stdout)}}
    fb.store.put_resource("glue", "crawler", "c", resource.arn, body, state=resource.state)
    # ... and another Crawlers over the same store stands for the next process to open it.
    reopened = Crawlers(
        fb.store,
        fb.lake,
        fb.catalog,
        fb.classifiers,
        clock=fb.clock,
        account_id=fb.config.account_id,
        region=fb.config.region,
    )
    crawler = reopened.get_crawler("c")
    assert crawler.state == "READY"
    assert crawler.last_crawl is not None and crawler.last_crawl.status == "FAILED"
    assert "interrupted" in (crawler.last_crawl.error_message or "")
    crawls, _ = reopened.list_crawls("c")
    assert crawls[0].state == "FAILED"


def test_a_crawl_that_another_live_process_runs_is_left_alone(
    fb: Fogbank, held: threading.Event
) -> None:
    reopened = Crawlers(
        fb.store,
        fb.lake,
        fb.catalog,
        fb.classifiers,
        clock=fb.clock,
        account_id=fb.config.account_id,
        region=fb.config.region,
    )
    assert reopened.get_crawler("c").state == "RUNNING"


def test_definitions_survive_a_restart(home: Path) -> None:
    with Fogbank(FogbankConfig.load(home=home, environ={})) as first:
        first.crawlers.create_crawler(
            {
                "Name": "kept",
                "Role": "r",
                "Targets": {"S3Targets": [{"Path": "s3://b/p/", "Exclusions": ["*.tmp"]}]},
                "Schedule": "cron(0 12 * * ? *)",
            }
        )
    with Fogbank(FogbankConfig.load(home=home, environ={})) as second:
        crawler = second.crawlers.get_crawler("kept")
        assert crawler.targets["S3Targets"][0]["Exclusions"] == ["*.tmp"]
        assert crawler.schedule == {
            "ScheduleExpression": "cron(0 12 * * ? *)",
            "State": "SCHEDULED",
        }
        assert crawler.version == 1 and crawler.state == "READY"


def test_a_crawl_without_a_database_fails(fb: Fogbank) -> None:
    fb.crawlers.create_crawler(
        {"Name": "nodb", "Role": "r", "Targets": {"S3Targets": [{"Path": f"s3://{BUCKET}/x/"}]}}
    )
    fb.crawlers.start_crawler("nodb")
    crawler = fb.crawlers.wait_for_crawler("nodb", DEADLINE)
    assert crawler.last_crawl is not None and crawler.last_crawl.status == "FAILED"
    assert "DatabaseName" in (crawler.last_crawl.error_message or "")


def test_a_missing_bucket_fails_the_crawl(fb: Fogbank) -> None:
    fb.crawlers.create_crawler(
        {
            "Name": "nobucket",
            "Role": "r",
            "DatabaseName": "db",
            "Targets": {"S3Targets": [{"Path": "s3://no-such-bucket/x/"}]},
        }
    )
    fb.crawlers.start_crawler("nobucket")
    crawler = fb.crawlers.wait_for_crawler("nobucket", DEADLINE)
    assert crawler.last_crawl is not None and crawler.last_crawl.status == "FAILED"
    assert "NoSuchBucket" in (crawler.last_crawl.error_message or "")


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"Targets": {"S3Targets": []}}, InvalidInputException, "S3Targets"),
        ({"Targets": {"S3Targets": [{"Path": "/local"}]}}, InvalidInputException, "S3 path"),
        (
            {"Targets": {"S3Targets": [{"Path": "s3://b/", "SampleSize": 0}]}},
            InvalidInputException,
            "SampleSize",
        ),
        (
            {"Targets": {"JdbcTargets": [{"ConnectionName": "c", "Path": "db/%"}]}},
            InvalidInputException,
            "JdbcTargets",
        ),
        ({"Classifiers": ["missing"]}, EntityNotFoundException, "missing"),
        ({"Schedule": "every day"}, InvalidInputException, "cron"),
        ({"Configuration": "not json"}, InvalidInputException, "Configuration"),
        (
            {"Configuration": '{"CrawlerOutput": {"Tables": {"TableThreshold": 0}}}'},
            InvalidInputException,
            "TableThreshold",
        ),
        (
            {"RecrawlPolicy": {"RecrawlBehavior": "CRAWL_EVENT_MODE"}},
            InvalidInputException,
            "CRAWL_EVENT_MODE",
        ),
        (
            {"SchemaChangePolicy": {"UpdateBehavior": "NOPE"}},
            InvalidInputException,
            "UpdateBehavior",
        ),
    ],
)
def test_bad_definitions_are_refused_naming_the_field(
    fb: Fogbank, change: dict[str, Any], error: type[Exception], words: str
) -> None:
    definition: Any = {
        "Name": "bad",
        "Role": "r",
        "Targets": {"S3Targets": [{"Path": "s3://b/"}]},
        **change,
    }
    with pytest.raises(error, match=words):
        fb.crawlers.create_crawler(definition)


def test_create_twice_update_and_delete(fb: Fogbank) -> None:
    definition: Any = {"Name": "c", "Role": "r", "Targets": {"S3Targets": [{"Path": "s3://b/"}]}}
    fb.crawlers.create_crawler(definition)
    with pytest.raises(AlreadyExistsException):
        fb.crawlers.create_crawler(definition)
    updated = fb.crawlers.update_crawler("c", {"Description": "now described"})
    assert (updated.description, updated.version) == ("now described", 2)
    assert updated.schema_change_policy == {
        "UpdateBehavior": "UPDATE_IN_DATABASE",
        "DeleteBehavior": "DEPRECATE_IN_DATABASE",
    }
    fb.crawlers.delete_crawler("c")
    with pytest.raises(EntityNotFoundException):
        fb.crawlers.get_crawler("c")
    with pytest.raises(EntityNotFoundException):
        fb.crawlers.start_crawler("c")
