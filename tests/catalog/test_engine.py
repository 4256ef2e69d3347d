"""The catalog engine on its own: names, versions, cascades, partitions, tags, limits."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fogbank.catalog import Catalog
from fogbank.catalog.model import PartitionInput, TableInput
from fogbank.core.clock import ManualClock
from fogbank.core.errors import (
    AlreadyExistsException,
    ConcurrentModificationException,
    EntityNotFoundException,
    InvalidInputException,
)
from fogbank.core.store import ControlPlaneStore

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ACCOUNT = "123456789012"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def catalog(store: ControlPlaneStore, clock: ManualClock) -> Catalog:
    return Catalog(store, clock=clock, account_id=ACCOUNT, region="eu-west-1", limits=True)


def _table(name: str = "events", *keys: str, **extra: object) -> TableInput:
    table: TableInput = {
        "Name": name,
        "StorageDescriptor": {"Columns": [{"Name": "Id", "Type": "int"}], "Location": "s3://b/t/"},
        "PartitionKeys": [{"Name": key, "Type": "string"} for key in keys],
    }
    table.update(extra)  # type: ignore[typeddict-item]
    return table


def _partitioned(catalog: Catalog, *keys: str) -> None:
    catalog.create_database({"Name": "db"})
    catalog.create_table("db", _table("events", *keys))


# databases


def test_database_names_are_folded_to_lowercase_and_found_in_any_case(catalog: Catalog) -> None:
    created = catalog.create_database({"Name": "Sales", "Description": "d"})
    assert created.name == "sales"
    assert catalog.get_database("SALES").description == "d"
    assert catalog.get_database("sales").create_time == START
    assert catalog.get_database("sales").catalog_id == ACCOUNT
    with pytest.raises(AlreadyExistsException, match=r": Database already exists\.$"):
        catalog.create_database({"Name": "sALES"})


def test_a_missing_database_is_not_found_by_its_folded_name(catalog: Catalog) -> None:
    with pytest.raises(EntityNotFoundException, match=r": Database nope not found\.$"):
        catalog.get_database("NoPe")


@pytest.mark.parametrize(
    ("name", "words"),
    [("", "1 to 255 characters"), ("x" * 256, "got 256"), ("a\nb", "control characters")],
)
def test_bad_database_names_are_invalid_input_naming_the_field(
    catalog: Catalog, name: str, words: str
) -> None:
    with pytest.raises(InvalidInputException, match=r"DatabaseInput\.Name") as caught:
        catalog.create_database({"Name": name})
    assert words in caught.value.message


def test_update_database_replaces_the_definition_and_keeps_create_time(
    catalog: Catalog, clock: ManualClock
) -> None:
    catalog.create_database({"Name": "db", "Description": "old", "Parameters": {"a": "1"}})
    clock.advance(60)
    catalog.update_database("DB", {"Name": "db", "LocationUri": "s3://b/db/"})
    database = catalog.get_database("db")
    assert (database.description, database.parameters) == (None, None)
    assert database.location_uri == "s3://b/db/"
    assert database.create_time == START
    with pytest.raises(InvalidInputException, match="cannot be renamed"):
        catalog.update_database("db", {"Name": "other"})


def test_get_databases_pages_in_name_order(catalog: Catalog) -> None:
    for name in ["c", "a", "b"]:
        catalog.create_database({"Name": name})
    first = catalog.get_databases(max_results=2)
    assert [d.name for d in first.items] == ["a", "b"]
    rest = catalog.get_databases(max_results=2, next_token=first.next_token)
    assert ([d.name for d in rest.items], rest.next_token) == (["c"], None)
    with pytest.raises(InvalidInputException, match="NextToken"):
        catalog.get_databases(next_token="not a token!")


def test_delete_database_takes_its_tables_partitions_versions_and_tags(catalog: Catalog) -> None:
    _partitioned(catalog, "year")
    catalog.create_database({"Name": "dbx"})  # a name that extends "db" stays
    catalog.create_table("dbx", _table("events", "year"))
    catalog.create_partition("dbx", "events", {"Values": ["2024"]})
    catalog.create_partition("db", "events", {"Values": ["2024"]})
    catalog.update_table("db", _table("events", "year"))
    catalog.tag_resource(catalog.table_arn("db", "events"), {"k": "v"})

    catalog.delete_database("db")

    catalog.create_database({"Name": "db"})
    catalog.create_table("db", _table("events", "year"))
    assert catalog.get_partitions("db", "events").items == ()
    assert [v.version_id for v in catalog.get_table_versions("db", "events").items] == ["0"]
    assert catalog.get_tags(catalog.table_arn("db", "events")) == {}
    assert len(catalog.get_partitions("dbx", "events").items) == 1


# tables


def test_create_table_folds_table_and_column_names_and_fills_in_glue_members(
    catalog: Catalog,
) -> None:
    catalog.create_database({"Name": "db"})
    catalog.create_table(
        "DB",
        _table("Events", "Year", TableType="EXTERNAL_TABLE", Parameters={"classification": "csv"}),
    )
    table = catalog.get_table("db", "EVENTS")
    assert (table.name, table.database_name, table.catalog_id) == ("events", "db", ACCOUNT)
    assert table.partition_keys == ({"Name": "year", "Type": "string"},)
    assert table.storage_descriptor is not None
    assert table.storage_descriptor["Columns"] == [{"Name": "id", "Type": "int"}]
    assert table.storage_descriptor["Compressed"] is False
    assert (table.version_id, table.retention, table.table_type) == ("0", 0, "EXTERNAL_TABLE")
    assert table.create_time == table.update_time == START
    assert table.created_by == f"arn:aws:iam::{ACCOUNT}:root"
    with pytest.raises(AlreadyExistsException, match=r": Table already exists\.$"):
        catalog.create_table("db", _table("events"))


def test_tables_need_an_existing_database(catalog: Catalog) -> None:
    with pytest.raises(EntityNotFoundException, match=r": Database db not found\.$"):
        catalog.create_table("db", _table())
    catalog.create_database({"Name": "db"})
    with pytest.raises(EntityNotFoundException, match=r": Table missing not found\.$"):
        catalog.get_table("db", "Missing")


def test_update_table_makes_numbered_versions_newest_first(
    catalog: Catalog, clock: ManualClock
) -> None:
    catalog.create_database({"Name": "db"})
    catalog.create_table("db", _table(Description="v0"))
    clock.advance(10)
    catalog.update_table("db", _table(Description="v1"), version_id="0")
    clock.advance(10)
    catalog.update_table("db", _table(Description="v2"))

    table = catalog.get_table("db", "events")
    assert (table.version_id, table.description) == ("2", "v2")
    assert table.create_time == START
    assert table.update_time == START + timedelta(seconds=20)
    versions = catalog.get_table_versions("db", "events").items
    assert [(v.version_id, v.table.description) for v in versions] == [
        ("2", "v2"),
        ("1", "v1"),
        ("0", "v0"),
    ]
    assert catalog.get_table_version("db", "events", "1").table.description == "v1"
    assert catalog.get_table_version("db", "events").version_id == "2"


def test_update_table_with_a_stale_version_id_is_a_concurrent_modification(
    catalog: Catalog,
) -> None:
    catalog.create_database({"Name": "db"})
    catalog.create_table("db", _table())
    catalog.update_table("db", _table(Description="first"), version_id="0")
    with pytest.raises(ConcurrentModificationException, match="concurrent modifications"):
        catalog.update_table("db", _table(Description="second"), version_id="0")
    assert catalog.get_table("db", "events").description == "first"


def test_update_table_with_skip_archive_keeps_no_old_version(catalog: Catalog) -> None:
    catalog.create_database({"Name": "db"})
    catalog.create_table("db", _table())
    catalog.update_table("db", _table(Description="new"), skip_archive=True)
    versions = catalog.get_table_versions("db", "events").items
    assert [v.version_id for v in versions] == ["1"]


def test_table_versions_can_be_deleted_except_the_current_one(catalog: Catalog) -> None:
    catalog.create_database({"Name": "db"})
    catalog.create_table("db", _table())
    for _ in range(3):
        catalog.update_table("db", _table())
    catalog.delete_table_version("db", "events", "1")
    failures = catalog.batch_delete_table_version("db", "events", ["0", "1", "3", "x"])
    assert [(f.version_id, f.error.code) for f in failures] == [
        ("1", "EntityNotFoundException"),
        ("3", "InvalidInputException"),
        ("x", "InvalidInputException"),
    ]
    assert [v.version_id for v in catalog.get_table_versions("db", "events").items] == ["3", "2"]
    with pytest.raises(EntityNotFoundException, match="Version 0 of table events not found"):
        catalog.get_table_version("db", "events", "0")


def test_get_tables_expression_is_a_case_blind_whole_name_pattern_with_glob_stars(
    catalog: Catalog,
) -> None:
    catalog.create_database({"Name": "db"})
    for name in ["sales_2023", "sales_2024", "orders", "presales"]:
        catalog.create_table("db", _table(name))

    def names(expression: str) -> list[str]:
        return [t.name for t in catalog.get_tables("db", expression=expression).items]

    assert names("sales*") == ["sales_2023", "sales_2024"]
    assert names("sales_.*") == ["sales_2023", "sales_2024"]
    assert names("*sales*") == ["presales", "sales_2023", "sales_2024"]
    assert names("SALES_2024|orders") == ["orders", "sales_2024"]
    assert names("sales") == []
    assert names("") == ["orders", "presales", "sales_2023", "sales_2024"]
    with pytest.raises(InvalidInputException, match="not a valid pattern"):
        names("sales(")


def test_get_tables_filtered_pages_are_full_until_the_last(catalog: Catalog) -> None:
    catalog.create_database({"Name": "db"})
    for index in range(10):
        catalog.create_table("db", _table(f"{'a' if index % 3 == 0 else 'b'}{index}"))
    first = catalog.get_tables("db", expression="a.*", max_results=2)
    assert [t.name for t in first.items] == ["a0", "a3"]
    rest = catalog.get_tables("db", expression="a.*", max_results=2, next_token=first.next_token)
    assert [t.name for t in rest.items] == ["a6", "a9"]
    last = catalog.get_tables("db", expression="a.*", max_results=2, next_token=rest.next_token)
    assert (last.items, last.next_token) == ((), None)


def test_batch_delete_table_reports_each_missing_table(catalog: Catalog) -> None:
    catalog.create_database({"Name": "db"})
    catalog.create_table("db", _table("a"))
    failures = catalog.batch_delete_table("db", ["a", "ghost"])
    assert [(f.table_name, f.error.code, f.error.message) for f in failures] == [
        ("ghost", "EntityNotFoundException", "Table ghost not found.")
    ]
    assert catalog.get_tables("db").items == ()


def test_search_tables_matches_text_filters_and_sorts(catalog: Catalog, clock: ManualClock) -> None:
    catalog.create_database({"Name": "db"})
    catalog.create_database({"Name": "other"})
    catalog.create_table("db", _table("clicks", Description="web click stream"))
    clock.advance(5)
    catalog.create_table("other", _table("orders", Owner="team-data"))
    clock.advance(5)
    catalog.create_table("other", _table("click_link", Parameters={"classification": "json"}))

    def names(**query: object) -> list[str]:
        return [t.name for t in catalog.search_tables(**query).items]  # type: ignore[arg-type]

    assert names(search_text="click") == ["clicks", "click_link"]
    assert names(search_text='"orders"') == ["orders"]
    assert names(search_text="stream") == ["clicks"]
    assert names(filters=[{"Key": "Name", "Value": "link"}]) == ["click_link"]
    assert names(filters=[{"Key": "Owner", "Value": "data"}]) == ["orders"]
    assert names(filters=[{"Key": "DatabaseName", "Value": "other"}]) == ["click_link", "orders"]
    assert names(filters=[{"Key": "classification", "Value": "json"}]) == ["click_link"]
    later = (START + timedelta(seconds=1)).isoformat()
    assert names(filters=[{"Key": "CreateTime", "Value": later, "Comparator": "GREATER_THAN"}]) == [
        "click_link",
        "orders",
    ]
    assert names(sort_field="CreateTime", descending=True) == ["click_link", "orders", "clicks"]
    first = catalog.search_tables(max_results=2)
    second = catalog.search_tables(max_results=2, next_token=first.next_token)
    assert [t.name for t in first.items + second.items] == ["clicks", "click_link", "orders"]
    assert second.next_token is None
    with pytest.raises(InvalidInputException, match="cannot be sorted on"):
        catalog.search_tables(sort_field="Columns")


# partitions


def test_partitions_are_kept_by_their_values_in_key_order(
    catalog: Catalog, clock: ManualClock
) -> None:
    _partitioned(catalog, "year", "month")
    created = catalog.create_partition(
        "db", "events", {"Values": ["2024", "01"], "Parameters": {"p": "1"}}
    )
    assert created.creation_time == START
    found = catalog.get_partition("DB", "Events", ["2024", "01"])
    assert (found.values, found.table_name, found.parameters) == (
        ("2024", "01"),
        "events",
        {"p": "1"},
    )
    with pytest.raises(AlreadyExistsException, match=r": Partition already exists\.$"):
        catalog.create_partition("db", "events", {"Values": ["2024", "01"]})
    with pytest.raises(EntityNotFoundException, match=r": Cannot find partition\.$"):
        catalog.get_partition("db", "events", ["2024", "02"])


def test_partition_values_must_match_the_partition_keys(catalog: Catalog) -> None:
    _partitioned(catalog, "year", "month")
    with pytest.raises(InvalidInputException, match=r"values \(1\) .* keys \(2\).* year, month"):
        catalog.create_partition("db", "events", {"Values": ["2024"]})
    with pytest.raises(InvalidInputException, match=r"PartitionInput\.Values is required"):
        catalog.create_partition("db", "events", {})


def test_batch_create_partition_reports_failures_per_entry(catalog: Catalog) -> None:
    _partitioned(catalog, "year")
    catalog.create_partition("db", "events", {"Values": ["2023"]})
    inputs: list[PartitionInput] = [{"Values": ["2023"]}, {"Values": ["2024"]}, {"Values": []}]
    failures = catalog.batch_create_partition("db", "events", inputs)
    assert [(f.values, f.error.code) for f in failures] == [
        (("2023",), "AlreadyExistsException"),
        ((), "InvalidInputException"),
    ]
    assert sorted(p.values for p in catalog.get_partitions("db", "events").items) == [
        ("2023",),
        ("2024",),
    ]


def test_get_partitions_filters_and_pages_full_until_the_last(catalog: Catalog) -> None:
    _partitioned(catalog, "year", "month")
    for year in ("2023", "2024"):
        for month in range(1, 13):
            catalog.create_partition("db", "events", {"Values": [year, f"{month:02d}"]})
    kept: list[tuple[str, ...]] = []
    token: str | None = None
    pages = 0
    while True:
        page = catalog.get_partitions(
            "db",
            "events",
            expression="year = '2024' AND month >= '07'",
            max_results=4,
            next_token=token,
        )
        kept += [p.values for p in page.items]
        pages += 1
        token = page.next_token
        if token is None:
            break
        assert len(page.items) == 4
    assert sorted(kept) == [("2024", f"{m:02d}") for m in range(7, 13)]
    assert pages == 2


def test_get_partitions_checks_the_expression_even_on_an_empty_table(catalog: Catalog) -> None:
    _partitioned(catalog, "year")
    with pytest.raises(InvalidInputException, match="Unknown column 'month'"):
        catalog.get_partitions("db", "events", expression="month = '1'")


def test_update_partition_replaces_it_and_may_move_it_to_new_values(
    catalog: Catalog, clock: ManualClock
) -> None:
    _partitioned(catalog, "year")
    catalog.create_partition("db", "events", {"Values": ["2023"]})
    catalog.create_partition("db", "events", {"Values": ["2025"]})
    clock.advance(30)
    catalog.update_partition(
        "db", "events", ["2023"], {"Values": ["2024"], "Parameters": {"a": "b"}}
    )
    moved = catalog.get_partition("db", "events", ["2024"])
    assert (moved.parameters, moved.creation_time) == ({"a": "b"}, START)
    with pytest.raises(EntityNotFoundException):
        catalog.get_partition("db", "events", ["2023"])
    with pytest.raises(AlreadyExistsException):
        catalog.update_partition("db", "events", ["2024"], {"Values": ["2025"]})
    failures = catalog.batch_update_partition(
        "db", "events", [(["2024"], {"Values": ["2024"]}), (["1999"], {"Values": ["1999"]})]
    )
    assert [(f.values, f.error.code) for f in failures] == [(("1999",), "EntityNotFoundException")]


def test_delete_and_batch_get_partitions(catalog: Catalog) -> None:
    _partitioned(catalog, "year")
    for year in ("2022", "2023", "2024"):
        catalog.create_partition("db", "events", {"Values": [year]})
    catalog.delete_partition("db", "events", ["2022"])
    failures = catalog.batch_delete_partition("db", "events", [["2023"], ["2022"]])
    assert [(f.values, f.error.message) for f in failures] == [
        (("2022",), "Cannot find partition.")
    ]
    found = catalog.batch_get_partition("db", "events", [["2024"], ["2023"]])
    assert [p.values for p in found] == [("2024",)]


def test_long_partition_values_are_stored_and_found(catalog: Catalog) -> None:
    _partitioned(catalog, "a", "b")
    values = ["x" * 1024, "\u00e9\U0001f600" * 200]
    catalog.create_partition("db", "events", {"Values": values})
    assert catalog.get_partition("db", "events", values).values == tuple(values)
    assert [p.values for p in catalog.get_partitions("db", "events").items] == [tuple(values)]


def test_batch_sizes_are_limited_only_when_limits_are_on(
    store: ControlPlaneStore, clock: ManualClock
) -> None:
    inputs: list[PartitionInput] = [{"Values": [str(i)]} for i in range(101)]
    strict = Catalog(store, clock=clock, account_id=ACCOUNT, region="eu-west-1", limits=True)
    _partitioned(strict, "n")
    with pytest.raises(InvalidInputException, match="at most 100"):
        strict.batch_create_partition("db", "events", inputs)
    relaxed = Catalog(store, clock=clock, account_id=ACCOUNT, region="eu-west-1", limits=False)
    assert relaxed.batch_create_partition("db", "events", inputs) == []


# tags and catalog ids


def test_tags_go_on_database_and_table_arns(catalog: Catalog) -> None:
    catalog.create_database({"Name": "db"}, tags={"team": "data"})
    catalog.create_table("db", _table())
    database_arn = f"arn:aws:glue:eu-west-1:{ACCOUNT}:database/db"
    table_arn = f"arn:aws:glue:eu-west-1:{ACCOUNT}:table/db/events"
    assert catalog.get_tags(database_arn) == {"team": "data"}
    # names in an ARN are folded as everywhere else
    catalog.tag_resource(f"arn:aws:glue:eu-west-1:{ACCOUNT}:table/DB/Events", {"a": "1"})
    catalog.tag_resource(table_arn, {"b": "2"})
    catalog.untag_resource(table_arn, ["a", "zz"])
    assert catalog.get_tags(table_arn) == {"b": "2"}
    catalog.delete_table("db", "events")
    catalog.create_table("db", _table())
    assert catalog.get_tags(table_arn) == {}


@pytest.mark.parametrize(
    ("arn", "error"),
    [
        (f"arn:aws:glue:eu-west-1:{ACCOUNT}:database/nope", EntityNotFoundException),
        (f"arn:aws:glue:us-east-1:{ACCOUNT}:database/db", EntityNotFoundException),
        (f"arn:aws:glue:eu-west-1:{ACCOUNT}:crawler/c", EntityNotFoundException),
        ("not-an-arn", InvalidInputException),
    ],
)
def test_tags_on_an_unknown_resource_are_refused(
    catalog: Catalog, arn: str, error: type[Exception]
) -> None:
    catalog.create_database({"Name": "db"})
    with pytest.raises(error):
        catalog.tag_resource(arn, {"a": "b"})


def test_at_most_fifty_tags_per_resource(catalog: Catalog) -> None:
    catalog.create_database({"Name": "db"}, tags={f"k{i}": "v" for i in range(50)})
    with pytest.raises(InvalidInputException, match="at most 50 tags"):
        catalog.tag_resource(catalog.database_arn("db"), {"one-more": "v"})
    catalog.tag_resource(catalog.database_arn("db"), {"k0": "replaced"})


def test_only_this_accounts_catalog_id_is_known(catalog: Catalog) -> None:
    catalog.check_catalog_id(None)
    catalog.check_catalog_id(ACCOUNT)
    with pytest.raises(EntityNotFoundException, match=f"Catalog 999999999999 not found.*{ACCOUNT}"):
        catalog.check_catalog_id("999999999999")


def test_concurrent_updates_from_one_version_let_exactly_one_win(catalog: Catalog) -> None:
    catalog.create_database({"Name": "db"})
    catalog.create_table("db", _table())
    writers = 4
    barrier = threading.Barrier(writers)
    outcomes: list[str] = []

    def update(index: int) -> None:
        barrier.wait()
        try:
            catalog.update_table("db", _table(Description=str(index)), version_id="0")
            outcomes.append(str(index))
        except ConcurrentModificationException:
            outcomes.append("conflict")

    threads = [threading.Thread(target=update, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [outcome for outcome in outcomes if outcome != "conflict"]
    assert len(winners) == 1 and len(outcomes) == writers
    table = catalog.get_table("db", "events")
    assert (table.version_id, table.description) == ("1", winners[0])
    assert [v.version_id for v in catalog.get_table_versions("db", "events").items] == ["1", "0"]


def test_concurrent_unconditional_updates_are_applied_one_after_another(catalog: Catalog) -> None:
    catalog.create_database({"Name": "db"})
    catalog.create_table("db", _table())
    writers = 4
    barrier = threading.Barrier(writers)

    def update(index: int) -> None:
        barrier.wait()
        catalog.update_table("db", _table(Description=str(index)))

    threads = [threading.Thread(target=update, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    versions = catalog.get_table_versions("db", "events").items
    assert [v.version_id for v in versions] == ["4", "3", "2", "1", "0"]
    assert catalog.get_table("db", "events").version_id == "4"


def test_an_update_cut_off_before_its_version_row_leaves_a_consistent_table(
    catalog: Catalog, store: ControlPlaneStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog.create_database({"Name": "db"})
    catalog.create_table("db", _table())
    real_put = store.put_resource

    def crash_on_version_write(service: str, kind: str, *args: Any, **kwargs: Any) -> Any:
        if kind == "table-version":
            raise RuntimeError("killed between the table row and its version row")
        return real_put(service, kind, *args, **kwargs)

    monkeypatch.setattr(store, "put_resource", crash_on_version_write)
    with pytest.raises(RuntimeError, match="killed"):
        catalog.update_table("db", _table(Description="landed"))
    monkeypatch.setattr(store, "put_resource", real_put)

    # the update landed: version 1 is current, and readable as a version
    assert catalog.get_table("db", "events").description == "landed"
    assert catalog.get_table_version("db", "events", "1").table.description == "landed"
    with pytest.raises(ConcurrentModificationException):
        catalog.update_table("db", _table(Description="stale"), version_id="0")
    catalog.update_table("db", _table(Description="next"), version_id="1")
    versions = catalog.get_table_versions("db", "events").items
    assert [v.version_id for v in versions] == ["2", "0"]
