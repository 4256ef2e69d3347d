"""The Glue Data Catalog through real boto3, over a socket and in-process: databases,
tables and versions, partitions and their expressions, tags, errors and paging."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import ErrorExpectation

ACCOUNT = "000000000000"
TABLE_ARN = f"arn:aws:glue:us-east-1:{ACCOUNT}:table"
DATABASE_ARN = f"arn:aws:glue:us-east-1:{ACCOUNT}:database"


def _table_input(name: str = "events", *keys: str, **extra: Any) -> dict[str, Any]:
    return {
        "Name": name,
        "StorageDescriptor": {
            "Columns": [{"Name": "Id", "Type": "bigint", "Comment": "row id"}],
            "Location": f"s3://lake/{name}/",
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {
                "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                "Parameters": {"field.delim": ","},
            },
        },
        "PartitionKeys": [{"Name": key, "Type": "string"} for key in keys],
        "TableType": "EXTERNAL_TABLE",
        **extra,
    }


def _events_table(glue: Any, *keys: str, database: str = "lake") -> None:
    glue.create_database(DatabaseInput={"Name": database})
    glue.create_table(DatabaseName=database, TableInput=_table_input("events", *keys))


# ------------------------------------------------------------------ databases


def test_database_lifecycle_folds_names_and_keeps_create_time(
    glue: Any, json_error: ErrorExpectation
) -> None:
    """CreateDatabase (with Tags), GetDatabase in any case, UpdateDatabase, DeleteDatabase."""
    glue.create_database(
        DatabaseInput={"Name": "Sales", "Description": "orders", "Parameters": {"a": "1"}},
        Tags={"team": "data"},
    )
    database = glue.get_database(Name="SALES")["Database"]
    assert database["Name"] == "sales"
    assert (database["Description"], database["Parameters"]) == ("orders", {"a": "1"})
    assert database["CatalogId"] == ACCOUNT
    assert isinstance(database["CreateTime"], datetime)
    assert database["CreateTableDefaultPermissions"] == [
        {
            "Principal": {"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"},
            "Permissions": ["ALL"],
        }
    ]
    assert glue.get_tags(ResourceArn=f"{DATABASE_ARN}/sales")["Tags"] == {"team": "data"}

    glue.update_database(
        Name="sales", DatabaseInput={"Name": "sales", "LocationUri": "s3://lake/sales/"}
    )
    updated = glue.get_database(Name="sales")["Database"]
    assert updated["LocationUri"] == "s3://lake/sales/"
    assert "Description" not in updated
    assert updated["CreateTime"] == database["CreateTime"]

    with json_error("AlreadyExistsException", "Database already exists."):
        glue.create_database(DatabaseInput={"Name": "SALES"})
    glue.delete_database(Name="Sales")
    with json_error("EntityNotFoundException", "Database sales not found."):
        glue.get_database(Name="sales")
    with json_error("EntityNotFoundException", "Database sales not found."):
        glue.delete_database(Name="sales")


def test_get_databases_pages_with_next_token(glue: Any, json_error: ErrorExpectation) -> None:
    for index in range(5):
        glue.create_database(DatabaseInput={"Name": f"db{index}"})
    first = glue.get_databases(MaxResults=2)
    assert [d["Name"] for d in first["DatabaseList"]] == ["db0", "db1"]
    pages = glue.get_paginator("get_databases").paginate(PaginationConfig={"PageSize": 2})
    assert [d["Name"] for page in pages for d in page["DatabaseList"]] == [
        f"db{i}" for i in range(5)
    ]
    with json_error("InvalidInputException", "NextToken"):
        glue.get_databases(NextToken="not a token!")


def test_delete_database_deletes_its_tables_and_partitions(glue: Any) -> None:
    _events_table(glue, "year")
    glue.create_partition(
        DatabaseName="lake", TableName="events", PartitionInput={"Values": ["2024"]}
    )
    glue.delete_database(Name="lake")
    _events_table(glue, "year")
    assert glue.get_partitions(DatabaseName="lake", TableName="events")["Partitions"] == []


def test_names_outside_glue_rules_are_refused_by_the_model(glue: Any) -> None:
    with pytest.raises(ClientError) as caught:
        glue.create_database(DatabaseInput={"Name": "x" * 256})
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "databaseInput.name" in caught.value.response["Error"]["Message"]


def test_a_foreign_catalog_id_is_not_found(glue: Any, json_error: ErrorExpectation) -> None:
    glue.create_database(DatabaseInput={"Name": "lake"}, CatalogId=ACCOUNT)
    assert glue.get_database(Name="lake", CatalogId=ACCOUNT)["Database"]["Name"] == "lake"
    with json_error("EntityNotFoundException", "Catalog 111122223333 not found", ACCOUNT):
        glue.get_database(Name="lake", CatalogId="111122223333")


# ------------------------------------------------------------------ tables


def test_create_and_get_table_return_glue_members(glue: Any, json_error: ErrorExpectation) -> None:
    """CreateTable / GetTable: lowercase names, version 0, times, storage descriptor."""
    glue.create_database(DatabaseInput={"Name": "lake"})
    glue.create_table(
        DatabaseName="Lake",
        TableInput=_table_input("Events", "Year", Parameters={"classification": "csv"}),
    )
    table = glue.get_table(DatabaseName="lake", Name="EVENTS")["Table"]
    assert (table["Name"], table["DatabaseName"], table["VersionId"]) == ("events", "lake", "0")
    assert table["PartitionKeys"] == [{"Name": "year", "Type": "string"}]
    assert table["StorageDescriptor"]["Columns"] == [
        {"Name": "id", "Type": "bigint", "Comment": "row id"}
    ]
    assert table["StorageDescriptor"]["SerdeInfo"]["Parameters"] == {"field.delim": ","}
    assert table["StorageDescriptor"]["Location"] == "s3://lake/Events/"  # kept as given
    assert table["Parameters"] == {"classification": "csv"}
    assert (table["TableType"], table["Retention"], table["CatalogId"]) == (
        "EXTERNAL_TABLE",
        0,
        ACCOUNT,
    )
    assert table["CreateTime"] == table["UpdateTime"]
    assert table["CreatedBy"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert table["IsRegisteredWithLakeFormation"] is False

    with json_error("AlreadyExistsException", "Table already exists."):
        glue.create_table(DatabaseName="lake", TableInput=_table_input("EVENTS"))
    with json_error("EntityNotFoundException", "Table nope not found."):
        glue.get_table(DatabaseName="lake", Name="nope")
    with json_error("EntityNotFoundException", "Database ghost not found."):
        glue.create_table(DatabaseName="ghost", TableInput=_table_input())


def test_update_table_versions_and_concurrency(glue: Any, json_error: ErrorExpectation) -> None:
    """UpdateTable with VersionId, SkipArchive; GetTableVersion(s); stale versions fail."""
    _events_table(glue)
    glue.update_table(DatabaseName="lake", TableInput=_table_input(Description="v1"), VersionId="0")
    with json_error("ConcurrentModificationException", "concurrent modifications"):
        glue.update_table(
            DatabaseName="lake", TableInput=_table_input(Description="lost"), VersionId="0"
        )
    glue.update_table(DatabaseName="lake", TableInput=_table_input(Description="v2"))
    table = glue.get_table(DatabaseName="lake", Name="events")["Table"]
    assert (table["VersionId"], table["Description"]) == ("2", "v2")

    versions = glue.get_table_versions(DatabaseName="lake", TableName="events")["TableVersions"]
    assert [(v["VersionId"], v["Table"].get("Description")) for v in versions] == [
        ("2", "v2"),
        ("1", "v1"),
        ("0", None),
    ]
    one = glue.get_table_version(DatabaseName="lake", TableName="events", VersionId="1")
    assert one["TableVersion"]["Table"]["Description"] == "v1"
    current = glue.get_table_version(DatabaseName="lake", TableName="events")
    assert current["TableVersion"]["VersionId"] == "2"

    glue.update_table(
        DatabaseName="lake", TableInput=_table_input(Description="v3"), SkipArchive=True
    )
    versions = glue.get_table_versions(DatabaseName="lake", TableName="events")["TableVersions"]
    assert [v["VersionId"] for v in versions] == ["3", "1", "0"]
    with json_error("EntityNotFoundException", "Table nope not found."):
        glue.update_table(DatabaseName="lake", TableInput=_table_input("nope"))


def test_table_versions_are_deleted_one_or_in_batches(
    glue: Any, json_error: ErrorExpectation
) -> None:
    _events_table(glue)
    for _ in range(3):
        glue.update_table(DatabaseName="lake", TableInput=_table_input())
    glue.delete_table_version(DatabaseName="lake", TableName="events", VersionId="0")
    with json_error("EntityNotFoundException", "Version 0 of table events not found"):
        glue.get_table_version(DatabaseName="lake", TableName="events", VersionId="0")
    with json_error("InvalidInputException", "current version"):
        glue.delete_table_version(DatabaseName="lake", TableName="events", VersionId="3")
    errors = glue.batch_delete_table_version(
        DatabaseName="lake", TableName="events", VersionIds=["1", "0"]
    )["Errors"]
    assert [(e["TableName"], e["VersionId"], e["ErrorDetail"]["ErrorCode"]) for e in errors] == [
        ("events", "0", "EntityNotFoundException")
    ]
    assert "Version 0 of table events not found" in errors[0]["ErrorDetail"]["ErrorMessage"]
    versions = glue.get_table_versions(DatabaseName="lake", TableName="events")["TableVersions"]
    assert [v["VersionId"] for v in versions] == ["3", "2"]


def test_get_tables_filters_by_name_pattern(glue: Any) -> None:
    glue.create_database(DatabaseInput={"Name": "lake"})
    for name in ["sales_2023", "sales_2024", "orders"]:
        glue.create_table(DatabaseName="lake", TableInput=_table_input(name))

    def names(**query: Any) -> list[str]:
        return [t["Name"] for t in glue.get_tables(DatabaseName="lake", **query)["TableList"]]

    assert names() == ["orders", "sales_2023", "sales_2024"]
    assert names(Expression="sales*") == ["sales_2023", "sales_2024"]
    assert names(Expression="ORDERS|.*2023") == ["orders", "sales_2023"]


def test_table_calls_name_what_is_missing(glue: Any, json_error: ErrorExpectation) -> None:
    glue.create_database(DatabaseInput={"Name": "lake"})
    with json_error("EntityNotFoundException", "Database ghost not found."):
        glue.get_tables(DatabaseName="ghost")
    with json_error("InvalidInputException", "TableInput is required"):
        glue.create_table(DatabaseName="lake")
    with json_error("InvalidInputException", "TableInput is required"):
        glue.update_table(DatabaseName="lake")
    with json_error("InvalidInputException", "not a valid pattern"):
        glue.get_tables(DatabaseName="lake", Expression="sales(")


def test_delete_and_batch_delete_tables(glue: Any, json_error: ErrorExpectation) -> None:
    glue.create_database(DatabaseInput={"Name": "lake"})
    for name in ["a", "b", "c"]:
        glue.create_table(DatabaseName="lake", TableInput=_table_input(name))
    glue.delete_table(DatabaseName="lake", Name="A")
    with json_error("EntityNotFoundException", "Table a not found."):
        glue.delete_table(DatabaseName="lake", Name="a")
    errors = glue.batch_delete_table(DatabaseName="lake", TablesToDelete=["b", "a"])["Errors"]
    assert errors == [
        {
            "TableName": "a",
            "ErrorDetail": {
                "ErrorCode": "EntityNotFoundException",
                "ErrorMessage": "Table a not found.",
            },
        }
    ]
    assert [t["Name"] for t in glue.get_tables(DatabaseName="lake")["TableList"]] == ["c"]


def test_search_tables_across_databases(glue: Any) -> None:
    glue.create_database(DatabaseInput={"Name": "web"})
    glue.create_database(DatabaseInput={"Name": "shop"})
    glue.create_table(
        DatabaseName="web", TableInput=_table_input("clicks", Description="click log")
    )
    glue.create_table(DatabaseName="shop", TableInput=_table_input("orders", Owner="team-shop"))
    glue.create_table(DatabaseName="shop", TableInput=_table_input("click_link"))

    def names(**query: Any) -> list[str]:
        return [t["Name"] for t in glue.search_tables(**query)["TableList"]]

    assert names(SearchText="click") == ["click_link", "clicks"]
    assert names(Filters=[{"Key": "DatabaseName", "Value": "shop"}]) == ["click_link", "orders"]
    assert names(Filters=[{"Key": "Owner", "Value": "shop"}]) == ["orders"]
    assert names(SortCriteria=[{"FieldName": "Name", "Sort": "DESC"}]) == [
        "orders",
        "clicks",
        "click_link",
    ]
    paged = _collect(glue.search_tables, "TableList", MaxResults=1)
    assert sorted(t["Name"] for t in paged) == [
        "click_link",
        "clicks",
        "orders",
    ]


# ------------------------------------------------------------------ partitions


def _partition(values: list[str], **extra: Any) -> dict[str, Any]:
    location = "s3://lake/events/" + "/".join(values)
    return {
        "Values": values,
        "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "bigint"}], "Location": location},
        **extra,
    }


def test_partition_lifecycle(glue: Any, json_error: ErrorExpectation) -> None:
    """CreatePartition, GetPartition, UpdatePartition, DeletePartition and their errors."""
    _events_table(glue, "year", "month")
    glue.create_partition(
        DatabaseName="lake",
        TableName="events",
        PartitionInput=_partition(["2024", "01"], Parameters={"rows": "10"}),
    )
    partition = glue.get_partition(
        DatabaseName="lake", TableName="events", PartitionValues=["2024", "01"]
    )["Partition"]
    assert partition["Values"] == ["2024", "01"]
    assert (partition["DatabaseName"], partition["TableName"]) == ("lake", "events")
    assert partition["StorageDescriptor"]["Location"] == "s3://lake/events/2024/01"
    assert partition["Parameters"] == {"rows": "10"}
    assert isinstance(partition["CreationTime"], datetime)
    assert partition["CatalogId"] == ACCOUNT

    with json_error("AlreadyExistsException", "Partition already exists."):
        glue.create_partition(
            DatabaseName="lake", TableName="events", PartitionInput=_partition(["2024", "01"])
        )
    with json_error("InvalidInputException", "partition values (1)", "year, month"):
        glue.create_partition(
            DatabaseName="lake", TableName="events", PartitionInput=_partition(["2024"])
        )

    glue.update_partition(
        DatabaseName="lake",
        TableName="events",
        PartitionValueList=["2024", "01"],
        PartitionInput=_partition(["2024", "02"]),
    )
    moved = glue.get_partition(
        DatabaseName="lake", TableName="events", PartitionValues=["2024", "02"]
    )["Partition"]
    assert moved["CreationTime"] == partition["CreationTime"]
    with json_error("EntityNotFoundException", "Cannot find partition."):
        glue.get_partition(DatabaseName="lake", TableName="events", PartitionValues=["2024", "01"])

    glue.delete_partition(DatabaseName="lake", TableName="events", PartitionValues=["2024", "02"])
    with json_error("EntityNotFoundException", "Cannot find partition."):
        glue.delete_partition(
            DatabaseName="lake", TableName="events", PartitionValues=["2024", "02"]
        )
    with json_error("EntityNotFoundException", "Table nope not found."):
        glue.get_partitions(DatabaseName="lake", TableName="nope")


def test_batch_partition_operations_report_failures_per_entry(glue: Any) -> None:
    _events_table(glue, "year")
    created = glue.batch_create_partition(
        DatabaseName="lake",
        TableName="events",
        PartitionInputList=[_partition(["2023"]), _partition(["2024"]), _partition(["2023"])],
    )
    assert created["Errors"] == [
        {
            "PartitionValues": ["2023"],
            "ErrorDetail": {
                "ErrorCode": "AlreadyExistsException",
                "ErrorMessage": "Partition already exists.",
            },
        }
    ]
    got = glue.batch_get_partition(
        DatabaseName="lake",
        TableName="events",
        PartitionsToGet=[{"Values": ["2024"]}, {"Values": ["1999"]}],
    )
    assert [p["Values"] for p in got["Partitions"]] == [["2024"]]
    assert got["UnprocessedKeys"] == []

    updated = glue.batch_update_partition(
        DatabaseName="lake",
        TableName="events",
        Entries=[
            {
                "PartitionValueList": ["2024"],
                "PartitionInput": _partition(["2024"], Parameters={"v": "2"}),
            },
            {"PartitionValueList": ["1999"], "PartitionInput": _partition(["1999"])},
        ],
    )
    assert [
        (e["PartitionValueList"], e["ErrorDetail"]["ErrorCode"]) for e in updated["Errors"]
    ] == [(["1999"], "EntityNotFoundException")]
    partition = glue.get_partition(
        DatabaseName="lake", TableName="events", PartitionValues=["2024"]
    )["Partition"]
    assert partition["Parameters"] == {"v": "2"}

    deleted = glue.batch_delete_partition(
        DatabaseName="lake",
        TableName="events",
        PartitionsToDelete=[{"Values": ["2023"]}, {"Values": ["1999"]}],
    )
    assert deleted["Errors"] == [
        {
            "PartitionValues": ["1999"],
            "ErrorDetail": {
                "ErrorCode": "EntityNotFoundException",
                "ErrorMessage": "Cannot find partition.",
            },
        }
    ]
    remaining = glue.get_partitions(DatabaseName="lake", TableName="events")["Partitions"]
    assert [p["Values"] for p in remaining] == [["2024"]]


def test_batch_sizes_over_the_model_limits_are_refused(glue: Any) -> None:
    _events_table(glue, "year")
    with pytest.raises(ClientError) as caught:
        glue.batch_delete_partition(
            DatabaseName="lake",
            TableName="events",
            PartitionsToDelete=[{"Values": [str(i)]} for i in range(26)],
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "less than or equal to 25" in caught.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("year = '2024' AND month > 10", [["2024", "11"], ["2024", "12"]]),
        ("month IN (1, 12) AND year <> '2023'", [["2024", "01"], ["2024", "12"]]),
        ("year = '2023' AND month BETWEEN 5 AND 6", [["2023", "05"], ["2023", "06"]]),
        ("NOT (year = '2024') AND (month = 1 OR month = 2)", [["2023", "01"], ["2023", "02"]]),
        ("year LIKE '%24' AND month < 2", [["2024", "01"]]),
    ],
)
def test_get_partitions_expression_compares_values_by_key_type(
    glue: Any, expression: str, expected: list[list[str]]
) -> None:
    glue.create_database(DatabaseInput={"Name": "lake"})
    table = _table_input("events")
    table["PartitionKeys"] = [{"Name": "year", "Type": "string"}, {"Name": "month", "Type": "int"}]
    glue.create_table(DatabaseName="lake", TableInput=table)
    glue.batch_create_partition(
        DatabaseName="lake",
        TableName="events",
        PartitionInputList=[
            {"Values": [year, f"{month:02d}"]}
            for year in ("2023", "2024")
            for month in range(1, 13)
        ],
    )
    found = glue.get_partitions(DatabaseName="lake", TableName="events", Expression=expression)
    assert sorted(p["Values"] for p in found["Partitions"]) == expected


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("year = ", ["Unsupported expression", "does not parse"]),
        ("month = '1'", ["Unknown column 'month'"]),
        ("year LIKE", ["Unsupported expression"]),
    ],
)
def test_get_partitions_bad_expressions_are_invalid_input(
    glue: Any, json_error: ErrorExpectation, expression: str, words: list[str]
) -> None:
    _events_table(glue, "year")
    with json_error("InvalidInputException", *words):
        glue.get_partitions(DatabaseName="lake", TableName="events", Expression=expression)


def test_get_partitions_segments_and_column_schema(glue: Any, json_error: ErrorExpectation) -> None:
    _events_table(glue, "year")
    glue.create_partition(
        DatabaseName="lake", TableName="events", PartitionInput=_partition(["2024"])
    )
    segments = [
        glue.get_partitions(
            DatabaseName="lake",
            TableName="events",
            Segment={"SegmentNumber": number, "TotalSegments": 3},
        )["Partitions"]
        for number in range(3)
    ]
    assert [len(segment) for segment in segments] == [1, 0, 0]
    with json_error("InvalidInputException", "SegmentNumber 3 must be less than"):
        glue.get_partitions(
            DatabaseName="lake",
            TableName="events",
            Segment={"SegmentNumber": 3, "TotalSegments": 3},
        )
    bare = glue.get_partitions(DatabaseName="lake", TableName="events", ExcludeColumnSchema=True)
    storage = bare["Partitions"][0]["StorageDescriptor"]
    assert "Columns" not in storage
    assert storage["Location"] == "s3://lake/events/2024"


# ------------------------------------------------------------------ tags


def test_tags_on_databases_and_tables(glue: Any, json_error: ErrorExpectation) -> None:
    _events_table(glue)
    arn = f"{TABLE_ARN}/lake/events"
    glue.tag_resource(ResourceArn=arn, TagsToAdd={"a": "1", "b": "2"})
    glue.untag_resource(ResourceArn=arn, TagsToRemove=["a", "missing"])
    assert glue.get_tags(ResourceArn=arn)["Tags"] == {"b": "2"}
    assert glue.get_tags(ResourceArn=f"{DATABASE_ARN}/lake")["Tags"] == {}
    with json_error("EntityNotFoundException", "Table nope not found."):
        glue.get_tags(ResourceArn=f"{TABLE_ARN}/lake/nope")
    with json_error("EntityNotFoundException", "does not exist"):
        glue.tag_resource(
            ResourceArn=f"arn:aws:glue:us-east-1:{ACCOUNT}:crawler/c", TagsToAdd={"a": "1"}
        )


def test_an_unserved_glue_operation_answers_not_implemented(glue: Any) -> None:
    with pytest.raises(ClientError) as caught:
        glue.get_dev_endpoints()
    assert caught.value.response["Error"]["Code"] == "NotImplemented"


# ------------------------------------------------------------------ paging, by property


def _collect(call: Callable[..., dict[str, Any]], key: str, **query: Any) -> list[Any]:
    items: list[Any] = []
    token: str | None = None
    while True:
        page = call(**query, **({"NextToken": token} if token else {}))
        items += page[key]
        token = page.get("NextToken")
        if not token:
            return items


_NAMES = st.lists(
    st.text(alphabet="abcxyz_0123", min_size=1, max_size=6), min_size=0, max_size=12, unique=True
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    names=_NAMES, page_size=st.integers(1, 5), pattern=st.sampled_from(["", "a*", ".*x.*", "b|c_*"])
)
def test_get_tables_pages_concatenate_to_the_matching_tables(
    glue: Any, names: list[str], page_size: int, pattern: str
) -> None:
    database = f"db_{uuid.uuid4().hex[:8]}"
    glue.create_database(DatabaseInput={"Name": database})
    for name in names:
        glue.create_table(DatabaseName=database, TableInput={"Name": name})
    query: dict[str, Any] = {"DatabaseName": database, "MaxResults": page_size}
    if pattern:
        query["Expression"] = pattern
    listed = [t["Name"] for t in _collect(glue.get_tables, "TableList", **query)]
    regex = {"": ".*", "a*": "a.*", ".*x.*": ".*x.*", "b|c_*": "b|c_.*"}[pattern]
    assert listed == sorted(n for n in names if re.fullmatch(regex, n))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    months=st.lists(st.integers(1, 24), unique=True, max_size=15),
    page_size=st.integers(1, 6),
    threshold=st.integers(0, 25),
)
def test_get_partitions_pages_concatenate_to_the_matching_partitions(
    glue: Any, months: list[int], page_size: int, threshold: int
) -> None:
    database = f"db_{uuid.uuid4().hex[:8]}"
    glue.create_database(DatabaseInput={"Name": database})
    glue.create_table(
        DatabaseName=database,
        TableInput={"Name": "t", "PartitionKeys": [{"Name": "m", "Type": "int"}]},
    )
    if months:
        glue.batch_create_partition(
            DatabaseName=database,
            TableName="t",
            PartitionInputList=[{"Values": [str(month)]} for month in months],
        )
    pages = _collect(
        glue.get_partitions,
        "Partitions",
        DatabaseName=database,
        TableName="t",
        Expression=f"m >= {threshold}",
        MaxResults=page_size,
    )
    listed = [int(p["Values"][0]) for p in pages]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(m for m in months if m >= threshold)
