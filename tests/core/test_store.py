"""Behaviour of the control-plane store, on SQLite.

Every test that takes the ``store`` or ``store_url`` fixture is a behaviour test of the
backend-neutral store: ``test_store_postgres.py`` runs those same functions on PostgreSQL.
Tests that need SQLite itself build their own store from ``tmp_path``.
"""

from __future__ import annotations

import base64
import math
import sqlite3
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, create_engine, inspect, text

import fogbank.core.store as store_module
from fogbank.core.clock import ManualClock
from fogbank.core.errors import (
    InvalidConfiguration,
    ResourceInUseException,
    ResourceNotFoundException,
    ValidationException,
)
from fogbank.core.store import ControlPlaneStore, MetricPoint, Put, Resource

START = datetime(2026, 1, 1, tzinfo=UTC)
SERVICE = "sagemaker"
KIND = "TrainingJob"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    # a folder that does not exist yet: the store creates it
    return f"sqlite:///{tmp_path / 'home' / 'control-plane.sqlite'}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def store(store_url: str, clock: ManualClock) -> Iterator[ControlPlaneStore]:
    opened = ControlPlaneStore(store_url, clock=clock)
    yield opened
    opened.close()


def _arn(name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:000000000000:training-job/{name}"


def _put(store: ControlPlaneStore, name: str, kind: str = KIND, **body: object) -> Resource:
    return store.put_resource(SERVICE, kind, name, _arn(name), body)


def _all_names(
    store: ControlPlaneStore,
    kind: str = KIND,
    *,
    max_results: int = 100,
    name_prefix: str | None = None,
) -> list[str]:
    """Every name of the kind, page after page."""
    names: list[str] = []
    token: str | None = None
    while True:
        page, token = store.list_resources(
            SERVICE, kind, max_results=max_results, next_token=token, name_prefix=name_prefix
        )
        names.extend(resource.name for resource in page)
        if token is None:
            return names


# resources


def test_put_resource_returns_what_get_resource_reads_back(
    store: ControlPlaneStore,
) -> None:
    body = {"AlgorithmSpecification": {"TrainingImage": "xgboost"}, "Epochs": [1, 2.5, None]}
    put = store.put_resource(SERVICE, KIND, "job-1", _arn("job-1"), body, state="InProgress")

    assert put == Resource(
        service=SERVICE,
        kind=KIND,
        name="job-1",
        arn=_arn("job-1"),
        state="InProgress",
        body=body,
        created_at=START,
        updated_at=START,
    )
    assert store.get_resource(SERVICE, KIND, "job-1") == put


def test_resource_times_come_back_timezone_aware_in_utc(
    store: ControlPlaneStore, clock: ManualClock
) -> None:
    clock.advance(0.123456)
    got = _put(store, "job-1")

    read = store.get_resource(SERVICE, KIND, "job-1")
    assert read.created_at == got.created_at == START + timedelta(seconds=0.123456)
    assert read.created_at.tzinfo is UTC
    assert read.updated_at.tzinfo is UTC


def test_put_resource_again_replaces_it_keeping_created_at(
    store: ControlPlaneStore, clock: ManualClock
) -> None:
    store.put_resource(SERVICE, KIND, "job-1", "arn:one", {"v": 1}, state="InProgress")
    clock.advance(60)

    replaced = store.put_resource(SERVICE, KIND, "job-1", "arn:two", {"v": 2}, state="Completed")

    assert replaced.created_at == START
    assert replaced.updated_at == START + timedelta(seconds=60)
    assert (replaced.arn, replaced.state, replaced.body) == ("arn:two", "Completed", {"v": 2})
    assert store.get_resource(SERVICE, KIND, "job-1") == replaced


def test_put_resource_create_only_refuses_an_existing_name_naming_kind_and_name(
    store: ControlPlaneStore,
) -> None:
    store.put_resource(SERVICE, KIND, "job-1", "arn:one", {"v": 1}, create_only=True)

    with pytest.raises(ResourceInUseException) as raised:
        store.put_resource(SERVICE, KIND, "job-1", "arn:two", {"v": 2}, create_only=True)

    assert raised.value.code == "ResourceInUseException"
    assert KIND in raised.value.message
    assert "'job-1'" in raised.value.message
    assert store.get_resource(SERVICE, KIND, "job-1").body == {"v": 1}


def test_put_resources_stores_all_in_one_transaction_or_none(
    store: ControlPlaneStore,
) -> None:
    stored = store.put_resources(
        SERVICE, [Put(KIND, "a", "arn:a", {"v": 1}, "QUEUED"), Put("Order", "1-a", "arn:o", {})]
    )
    assert [(r.kind, r.name, r.state, r.body) for r in stored] == [
        (KIND, "a", "QUEUED", {"v": 1}),
        ("Order", "1-a", "", {}),
    ]
    assert store.get_resource(SERVICE, "Order", "1-a").arn == "arn:o"

    # create_only: one name already taken, so neither of the two is written
    with pytest.raises(ResourceInUseException, match="'a'"):
        store.put_resources(
            SERVICE,
            [Put(KIND, "b", "arn:b", {}), Put(KIND, "a", "arn:a2", {"v": 2})],
            create_only=True,
        )
    assert store.find_resource(SERVICE, KIND, "b") is None
    assert store.get_resource(SERVICE, KIND, "a").body == {"v": 1}

    # without create_only an existing one is replaced, keeping its creation time
    again = store.put_resources(SERVICE, [Put(KIND, "a", "arn:a", {"v": 3}, "DONE")])
    assert (again[0].state, again[0].body, again[0].created_at) == (
        "DONE",
        {"v": 3},
        stored[0].created_at,
    )


def test_same_name_in_another_kind_or_service_is_another_resource(
    store: ControlPlaneStore,
) -> None:
    store.put_resource(SERVICE, KIND, "x", "arn:1", {}, create_only=True)
    store.put_resource(SERVICE, "Model", "x", "arn:2", {}, create_only=True)
    store.put_resource("glue", KIND, "x", "arn:3", {}, create_only=True)

    assert store.get_resource(SERVICE, KIND, "x").arn == "arn:1"
    assert store.get_resource(SERVICE, "Model", "x").arn == "arn:2"
    assert store.get_resource("glue", KIND, "x").arn == "arn:3"


def test_replace_resource_applies_only_while_the_state_is_the_expected_one(
    store: ControlPlaneStore, clock: ManualClock
) -> None:
    store.put_resource(SERVICE, KIND, "job-1", _arn("job-1"), {"v": 0}, state="0")
    clock.advance(5)

    replaced = store.replace_resource(
        SERVICE, KIND, "job-1", {"v": 1}, state="1", expected_state="0"
    )
    stale = store.replace_resource(SERVICE, KIND, "job-1", {"v": 9}, state="1", expected_state="0")
    missing = store.replace_resource(SERVICE, KIND, "nope", {}, state="1", expected_state="0")

    assert replaced is not None
    assert (replaced.state, replaced.body, replaced.arn) == ("1", {"v": 1}, _arn("job-1"))
    assert (replaced.created_at, replaced.updated_at) == (START, START + timedelta(seconds=5))
    assert stale is None and missing is None
    assert store.get_resource(SERVICE, KIND, "job-1").body == {"v": 1}


def test_replace_resource_lets_one_of_two_racing_writers_win(store: ControlPlaneStore) -> None:
    store.put_resource(SERVICE, KIND, "job-1", _arn("job-1"), {}, state="0")
    barrier = threading.Barrier(4)
    wins: list[bool] = []

    def write(index: int) -> None:
        barrier.wait()
        won = store.replace_resource(
            SERVICE, KIND, "job-1", {"by": index}, state="1", expected_state="0"
        )
        wins.append(won is not None)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False, False, False, True]


def test_get_resource_of_a_missing_name_is_not_found_naming_kind_and_name(
    store: ControlPlaneStore,
) -> None:
    with pytest.raises(ResourceNotFoundException) as raised:
        store.get_resource(SERVICE, KIND, "nope")

    assert raised.value.code == "ResourceNotFoundException"
    assert KIND in raised.value.message
    assert "'nope'" in raised.value.message


def test_find_resource_returns_none_for_a_missing_name(store: ControlPlaneStore) -> None:
    _put(store, "job-1")

    assert store.find_resource(SERVICE, KIND, "job-2") is None
    assert store.find_resource(SERVICE, "Model", "job-1") is None
    found = store.find_resource(SERVICE, KIND, "job-1")
    assert found is not None
    assert found.name == "job-1"


def test_body_round_trips_unicode_and_nesting(store: ControlPlaneStore) -> None:
    body = {"name": "café 数据 🚀", "nested": {"list": [{"a": True}, False, 0, -1.5e300]}}

    store.put_resource(SERVICE, KIND, "émoji-🚀", "arn:u", body)

    assert store.get_resource(SERVICE, KIND, "émoji-🚀").body == body


def test_put_resource_refuses_a_body_that_is_not_a_json_object(
    store: ControlPlaneStore,
) -> None:
    with pytest.raises(TypeError):
        store.put_resource(SERVICE, KIND, "x", "arn:x", ["not", "a", "mapping"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="JSON"):
        store.put_resource(SERVICE, KIND, "x", "arn:x", {"loss": math.nan})

    assert store.find_resource(SERVICE, KIND, "x") is None


# listing


def test_list_resources_orders_names_by_code_point_whatever_the_database_locale(
    store: ControlPlaneStore,
) -> None:
    names = ["b", "B", "a", "A", "_x", "a-b", "ab", "é", "Z9", "z"]
    for name in names:
        _put(store, name)

    page, token = store.list_resources(SERVICE, KIND)

    assert [resource.name for resource in page] == sorted(names)
    assert token is None


def test_list_resources_returns_only_the_asked_kind(store: ControlPlaneStore) -> None:
    _put(store, "a")
    _put(store, "b", kind="Model")
    store.put_resource("glue", KIND, "c", "arn:c", {})

    assert _all_names(store) == ["a"]
    assert _all_names(store, kind="Model") == ["b"]


def test_list_resources_of_an_empty_kind_is_one_empty_page(store: ControlPlaneStore) -> None:
    assert store.list_resources(SERVICE, KIND) == ([], None)


def test_list_resources_gives_no_token_when_the_last_page_is_exactly_full(
    store: ControlPlaneStore,
) -> None:
    for name in ["a", "b", "c", "d"]:
        _put(store, name)

    first, token = store.list_resources(SERVICE, KIND, max_results=2)
    assert [r.name for r in first] == ["a", "b"]
    assert token is not None
    second, token = store.list_resources(SERVICE, KIND, max_results=2, next_token=token)
    assert [r.name for r in second] == ["c", "d"]
    assert token is None


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    names=st.lists(
        st.text(
            st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]),
            min_size=1,
            max_size=10,
        ),
        unique=True,
        max_size=25,
    ),
    page_size=st.integers(min_value=1, max_value=10),
)
def test_list_resources_pages_concatenate_to_the_sorted_names(
    store: ControlPlaneStore, names: list[str], page_size: int
) -> None:
    kind = f"Kind{uuid.uuid4().hex}"  # each example lists its own kind
    for name in names:
        _put(store, name, kind=kind)

    pages: list[list[str]] = []
    token: str | None = None
    while True:
        page, token = store.list_resources(SERVICE, kind, max_results=page_size, next_token=token)
        pages.append([resource.name for resource in page])
        if token is None:
            break

    assert [name for page in pages for name in page] == sorted(names)
    assert all(len(page) == page_size for page in pages[:-1])
    assert 0 < len(pages[-1]) <= page_size or not names


def test_next_token_stays_valid_when_its_resource_is_deleted(store: ControlPlaneStore) -> None:
    for name in ["a", "b", "c", "d"]:
        _put(store, name)
    _, token = store.list_resources(SERVICE, KIND, max_results=2)

    store.delete_resource(SERVICE, KIND, "b")
    _put(store, "bb")

    page, _ = store.list_resources(SERVICE, KIND, max_results=10, next_token=token)
    assert [r.name for r in page] == ["bb", "c", "d"]


def test_list_resources_keeps_names_with_the_prefix_exactly(store: ControlPlaneStore) -> None:
    # LIKE wildcards and letter case must not leak into the prefix match
    names = ["a_b", "a_c", "a%b", "axb", "A_b", "a", "b_a", "a_", "a_b_c"]
    for name in names:
        _put(store, name)

    assert _all_names(store, name_prefix="a_") == ["a_", "a_b", "a_b_c", "a_c"]
    assert _all_names(store, name_prefix="a%") == ["a%b"]
    assert _all_names(store, name_prefix="A") == ["A_b"]
    assert _all_names(store, name_prefix="zzz") == []
    assert _all_names(store, name_prefix="a_", max_results=1) == ["a_", "a_b", "a_b_c", "a_c"]


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not a token!",
        "a",  # a base64 length that cannot be
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not UTF-8 inside
        "YWJj+/==",  # the standard alphabet, not the URL-safe one
    ],
)
def test_list_resources_refuses_a_next_token_it_did_not_give(
    store: ControlPlaneStore, token: str
) -> None:
    with pytest.raises(ValidationException, match=r"NextToken .* is not valid; pass the NextToken"):
        store.list_resources(SERVICE, KIND, next_token=token)


def test_list_resources_refuses_max_results_below_one(store: ControlPlaneStore) -> None:
    with pytest.raises(ValidationException, match="MaxResults"):
        store.list_resources(SERVICE, KIND, max_results=0)


# deleting


def test_delete_resource_removes_it_and_its_tags(store: ControlPlaneStore) -> None:
    _put(store, "job-1")
    _put(store, "job-2")
    store.tag_resource(_arn("job-1"), {"team": "ml"})
    store.tag_resource(_arn("job-2"), {"team": "data"})

    store.delete_resource(SERVICE, KIND, "job-1")

    assert store.find_resource(SERVICE, KIND, "job-1") is None
    assert store.list_tags(_arn("job-1")) == {}
    assert store.list_tags(_arn("job-2")) == {"team": "data"}
    assert _all_names(store) == ["job-2"]


def test_delete_resource_of_a_missing_name_is_not_found(store: ControlPlaneStore) -> None:
    with pytest.raises(ResourceNotFoundException, match=f"{KIND} 'nope'"):
        store.delete_resource(SERVICE, KIND, "nope")


def test_delete_resources_removes_exactly_the_prefixed_names_and_their_tags(
    store: ControlPlaneStore,
) -> None:
    # LIKE wildcards and letter case must not leak into the prefix match
    for name in ["t_1", "t_2", "t%x", "T_3", "t", "u_1"]:
        _put(store, name)
        store.tag_resource(_arn(name), {"k": name})
    _put(store, "t_9", kind="OtherKind")

    assert store.delete_resources(SERVICE, KIND, name_prefix="t_") == 2

    assert _all_names(store) == ["T_3", "t", "t%x", "u_1"]
    assert store.list_tags(_arn("t_1")) == {}
    assert store.list_tags(_arn("t%x")) == {"k": "t%x"}
    assert store.find_resource(SERVICE, "OtherKind", "t_9") is not None
    assert store.delete_resources(SERVICE, KIND, name_prefix="t_") == 0
    with pytest.raises(ValueError, match="non-empty name_prefix"):
        store.delete_resources(SERVICE, KIND, name_prefix="")


def test_a_deleted_name_can_be_created_again(store: ControlPlaneStore, clock: ManualClock) -> None:
    store.put_resource(SERVICE, KIND, "job-1", "arn:1", {}, create_only=True)
    store.delete_resource(SERVICE, KIND, "job-1")
    clock.advance(5)

    again = store.put_resource(SERVICE, KIND, "job-1", "arn:1", {}, create_only=True)

    assert again.created_at == START + timedelta(seconds=5)


# tags


def test_tag_resource_adds_tags_and_replaces_values_of_existing_keys(
    store: ControlPlaneStore,
) -> None:
    store.tag_resource("arn:x", {"team": "ml", "env": "dev"})
    store.tag_resource("arn:x", {"env": "prod", "cost-center": "42"})

    assert store.list_tags("arn:x") == {"team": "ml", "env": "prod", "cost-center": "42"}
    assert list(store.list_tags("arn:x")) == ["cost-center", "env", "team"]


def test_untag_resource_removes_only_the_named_keys(store: ControlPlaneStore) -> None:
    store.tag_resource("arn:x", {"a": "1", "b": "2", "c": "3"})
    store.tag_resource("arn:y", {"a": "1"})

    store.untag_resource("arn:x", ["a", "missing"])
    store.untag_resource("arn:x", [])

    assert store.list_tags("arn:x") == {"b": "2", "c": "3"}
    assert store.list_tags("arn:y") == {"a": "1"}


def test_list_tags_of_an_untagged_arn_is_empty(store: ControlPlaneStore) -> None:
    assert store.list_tags("arn:never-tagged") == {}


# metrics


def test_get_metrics_returns_points_by_time_then_by_insertion(
    store: ControlPlaneStore,
) -> None:
    t0 = START + timedelta(seconds=10)
    store.put_metric("fogbank/training", "loss", 3.0, timestamp=t0 + timedelta(seconds=2))
    store.put_metric("fogbank/training", "loss", 1.0, timestamp=t0)
    store.put_metric("fogbank/training", "accuracy", 0.5, timestamp=t0)
    store.put_metric("fogbank/training", "loss", 2.0, timestamp=t0 + timedelta(seconds=1))

    points = store.get_metrics("fogbank/training")

    assert [(p.name, p.value) for p in points] == [
        ("loss", 1.0),
        ("accuracy", 0.5),
        ("loss", 2.0),
        ("loss", 3.0),
    ]
    assert [p.value for p in store.get_metrics("fogbank/training", "loss")] == [1.0, 2.0, 3.0]


def test_put_metric_stamps_points_with_the_clock_by_default(
    store: ControlPlaneStore, clock: ManualClock
) -> None:
    clock.advance(7.25)

    store.put_metric("ns", "m", 1.0, dimensions={"Host": "algo-1"})

    assert store.get_metrics("ns") == [
        MetricPoint(
            namespace="ns",
            name="m",
            value=1.0,
            dimensions={"Host": "algo-1"},
            timestamp=START + timedelta(seconds=7.25),
        )
    ]


def test_metric_timestamps_are_kept_in_utc(store: ControlPlaneStore) -> None:
    paris = timezone(timedelta(hours=1))
    store.put_metric("ns", "m", 1.0, timestamp=datetime(2026, 3, 1, 13, 0, tzinfo=paris))

    (point,) = store.get_metrics("ns")

    assert point.timestamp == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert point.timestamp.tzinfo is UTC


def test_get_metrics_keeps_series_having_all_the_asked_dimensions(
    store: ControlPlaneStore,
) -> None:
    store.put_metric("ns", "loss", 1.0, dimensions={"Job": "a", "Host": "algo-1"})
    store.put_metric("ns", "loss", 2.0, dimensions={"Job": "a", "Host": "algo-2"})
    store.put_metric("ns", "loss", 3.0, dimensions={"Job": "b", "Host": "algo-1"})
    store.put_metric("ns", "loss", 4.0)

    def values(**dimensions: str) -> list[float]:
        return [p.value for p in store.get_metrics("ns", "loss", dimensions=dimensions)]

    assert values(Job="a") == [1.0, 2.0]
    assert values(Host="algo-1") == [1.0, 3.0]
    assert values(Job="a", Host="algo-2") == [2.0]
    assert values(Job="c") == []
    assert values() == [1.0, 2.0, 3.0, 4.0]
    (point,) = store.get_metrics("ns", dimensions={"Job": "b"})
    assert point.dimensions == {"Job": "b", "Host": "algo-1"}


def test_get_metrics_since_keeps_points_at_or_after_it(store: ControlPlaneStore) -> None:
    for second in range(5):
        store.put_metric("ns", "m", float(second), timestamp=START + timedelta(seconds=second))

    since = START + timedelta(seconds=2)
    assert [p.value for p in store.get_metrics("ns", "m", since=since)] == [2.0, 3.0, 4.0]
    assert store.get_metrics("ns", "m", since=START + timedelta(days=1)) == []


def test_get_metrics_of_another_namespace_or_name_is_empty(store: ControlPlaneStore) -> None:
    store.put_metric("ns", "m", 1.0)

    assert store.get_metrics("other") == []
    assert store.get_metrics("ns", "other") == []


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_put_metric_refuses_values_that_are_not_finite(
    store: ControlPlaneStore, value: float
) -> None:
    with pytest.raises(ValidationException, match="ns/loss"):
        store.put_metric("ns", "loss", value)

    assert store.get_metrics("ns") == []


def test_put_metric_refuses_a_timestamp_without_a_timezone(store: ControlPlaneStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.put_metric("ns", "m", 1.0, timestamp=datetime(2026, 1, 1))


def test_metric_names_lists_each_namespace_and_name_once(store: ControlPlaneStore) -> None:
    store.put_metric("b/ns", "loss", 1.0, dimensions={"Host": "algo-1"})
    store.put_metric("b/ns", "loss", 2.0, dimensions={"Host": "algo-2"})
    store.put_metric("b/ns", "accuracy", 0.5)
    store.put_metric("a/ns", "latency", 10.0)

    assert store.metric_names() == [("a/ns", "latency"), ("b/ns", "accuracy"), ("b/ns", "loss")]
    assert store.metric_names("b/ns") == [("b/ns", "accuracy"), ("b/ns", "loss")]
    assert store.metric_names("none") == []


# opening, schema versions, several stores


def _read_recorded_version(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT max(version) FROM schema_version")).scalar_one())
    finally:
        engine.dispose()


def test_schema_version_is_recorded_in_the_database(
    store: ControlPlaneStore, store_url: str
) -> None:
    assert store.schema_version == len(store_module._MIGRATIONS)
    assert _read_recorded_version(store_url) == store.schema_version


def test_reopening_a_store_keeps_its_data(store_url: str, clock: ManualClock) -> None:
    first = ControlPlaneStore(store_url, clock=clock)
    try:
        _put(first, "job-1", epochs=3)
        first.tag_resource(_arn("job-1"), {"team": "ml"})
        first.put_metric("ns", "loss", 0.25)
        version = first.schema_version
    finally:
        first.close()

    again = ControlPlaneStore(store_url, clock=clock)
    try:
        assert again.get_resource(SERVICE, KIND, "job-1").body == {"epochs": 3}
        assert again.list_tags(_arn("job-1")) == {"team": "ml"}
        assert [p.value for p in again.get_metrics("ns")] == [0.25]
        assert again.schema_version == version
    finally:
        again.close()


def test_two_stores_on_one_database_see_each_others_writes(
    store: ControlPlaneStore, store_url: str
) -> None:
    other = ControlPlaneStore(store_url)
    try:
        _put(store, "from-first")
        _put(other, "from-second")
        store.put_metric("ns", "m", 1.0)
        other.put_metric("ns", "m", 2.0)

        assert _all_names(other) == ["from-first", "from-second"]
        assert _all_names(store) == ["from-first", "from-second"]
        assert [p.value for p in store.get_metrics("ns", "m")] == [1.0, 2.0]
        with pytest.raises(ResourceInUseException):
            other.put_resource(SERVICE, KIND, "from-first", "arn:x", {}, create_only=True)
    finally:
        other.close()


def test_stores_opened_at_once_on_a_fresh_database_all_open(store_url: str) -> None:
    openers = 4
    barrier = threading.Barrier(openers)
    opened: list[ControlPlaneStore] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def open_store() -> None:
        barrier.wait()
        try:
            new = ControlPlaneStore(store_url)
        except BaseException as exc:
            with lock:
                failures.append(exc)
        else:
            with lock:
                opened.append(new)

    threads = [threading.Thread(target=open_store) for _ in range(openers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == []
        assert {s.schema_version for s in opened} == {len(store_module._MIGRATIONS)}
        _put(opened[0], "job-1")
        assert opened[-1].get_resource(SERVICE, KIND, "job-1").name == "job-1"
    finally:
        for each in opened:
            each.close()


def test_concurrent_writers_to_one_name_leave_one_resource(store: ControlPlaneStore) -> None:
    writers = 4
    barrier = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(index: int) -> None:
        barrier.wait()
        try:
            for round_ in range(5):
                store.put_resource(SERVICE, KIND, "shared", "arn:s", {"by": index, "n": round_})
                store.tag_resource("arn:s", {"writer": str(index)})
                store.put_metric("ns", "m", float(index), dimensions={"Job": "shared"})
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert _all_names(store) == ["shared"]
    assert set(store.list_tags("arn:s")) == {"writer"}
    assert len(store.get_metrics("ns", "m", dimensions={"Job": "shared"})) == writers * 5


def test_a_database_from_a_newer_fogbank_is_refused(store_url: str) -> None:
    ControlPlaneStore(store_url).close()
    newer = len(store_module._MIGRATIONS) + 1
    engine = create_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO schema_version (version, applied_at)"
                    " VALUES (:version, CURRENT_TIMESTAMP)"
                ),
                {"version": newer},
            )
    finally:
        engine.dispose()

    with pytest.raises(InvalidConfiguration, match="written by a newer fogbank") as raised:
        ControlPlaneStore(store_url)

    assert f"schema version {newer}" in raised.value.message


def _create_probe_table(conn: Connection) -> None:
    conn.execute(text("CREATE TABLE migration_probe (id INTEGER PRIMARY KEY)"))


def test_opening_runs_only_the_missing_migrations(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ControlPlaneStore(store_url).close()
    base = len(store_module._MIGRATIONS)
    monkeypatch.setattr(
        store_module, "_MIGRATIONS", (*store_module._MIGRATIONS, _create_probe_table)
    )

    upgraded = ControlPlaneStore(store_url)
    upgraded.close()
    reopened = ControlPlaneStore(store_url)  # would fail if it ran the probe migration twice
    try:
        assert reopened.schema_version == base + 1
    finally:
        reopened.close()
    engine = create_engine(store_url)
    try:
        assert inspect(engine).has_table("migration_probe")
    finally:
        engine.dispose()


def test_a_failing_migration_leaves_the_schema_at_the_previous_version(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ControlPlaneStore(store_url).close()
    base = len(store_module._MIGRATIONS)

    def half_migration(conn: Connection) -> None:
        _create_probe_table(conn)
        raise RuntimeError("migration failed half way")

    monkeypatch.setattr(store_module, "_MIGRATIONS", (*store_module._MIGRATIONS, half_migration))

    with pytest.raises(RuntimeError, match="half way"):
        ControlPlaneStore(store_url)

    assert _read_recorded_version(store_url) == base
    engine = create_engine(store_url)
    try:
        assert not inspect(engine).has_table("migration_probe")  # the DDL was rolled back
    finally:
        engine.dispose()


# SQLite itself, and opening errors


def test_sqlite_store_uses_wal_full_sync_foreign_keys_and_a_busy_timeout(
    tmp_path: Path,
) -> None:
    opened = ControlPlaneStore(f"sqlite:///{tmp_path / 'cp.sqlite'}")
    try:
        # per-connection settings: read them on one of the store's own connections
        with opened._engine.connect() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ["journal_mode", "synchronous", "foreign_keys", "busy_timeout"]
            }
    finally:
        opened.close()

    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 2,  # FULL
        "foreign_keys": 1,
        "busy_timeout": 30_000,
    }


def test_sqlite_store_creates_the_missing_folders_of_its_file(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "control-plane.sqlite"

    ControlPlaneStore(f"sqlite:///{path}").close()

    assert path.is_file()
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_sqlite_in_memory_store_works_across_threads() -> None:
    opened = ControlPlaneStore("sqlite://")
    try:
        _put(opened, "main-thread")
        worker = threading.Thread(target=lambda: _put(opened, "worker-thread"))
        worker.start()
        worker.join()

        assert _all_names(opened) == ["main-thread", "worker-thread"]
    finally:
        opened.close()


def test_url_is_shown_with_the_password_masked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cp.sqlite'}"
    opened = ControlPlaneStore(url)
    try:
        assert opened.url == url
        assert repr(opened) == f"ControlPlaneStore({url!r})"
    finally:
        opened.close()


def test_an_unreachable_database_is_reported_with_its_password_masked() -> None:
    with pytest.raises(InvalidConfiguration) as raised:
        ControlPlaneStore("postgresql+psycopg://fog:s3cret@127.0.0.1:1/control?connect_timeout=5")

    assert "s3cret" not in raised.value.message
    assert "fog:***@127.0.0.1:1" in raised.value.message
    assert "control_plane_url" in raised.value.message


@pytest.mark.parametrize("url", ["not a url", "nosuchdatabase://host/db"])
def test_a_url_sqlalchemy_cannot_use_is_an_invalid_configuration(url: str) -> None:
    with pytest.raises(InvalidConfiguration, match="control_plane_url"):
        ControlPlaneStore(url)


def test_a_missing_driver_is_reported_with_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # importing it now fails

    with pytest.raises(InvalidConfiguration, match=r"fogbank\[postgres\]"):
        ControlPlaneStore("postgresql+psycopg://fog@127.0.0.1:1/control")


def test_all_resources_reads_past_the_first_page_in_name_order(store: ControlPlaneStore) -> None:
    names = [f"job-{i:04d}" for i in range(1001)]  # one more than all_resources' page
    for name in reversed(names):
        store.put_resource("sagemaker", "training-job", name, f"arn:{name}", {})
    store.put_resource("sagemaker", "model", "other", "arn:other", {})
    assert [r.name for r in store.all_resources("sagemaker", "training-job")] == names


def test_put_metrics_records_each_value_with_the_same_dimensions_and_time(
    store: ControlPlaneStore,
) -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    store.put_metrics("ns", {"a": 1.0, "b": 2.5}, dimensions={"V": "x"}, timestamp=when)

    points = store.get_metrics("ns", dimensions={"V": "x"})
    assert sorted((p.name, p.value) for p in points) == [("a", 1.0), ("b", 2.5)]
    assert {p.timestamp for p in points} == {when}


def test_put_metrics_writes_nothing_when_one_value_is_not_finite(
    store: ControlPlaneStore,
) -> None:
    with pytest.raises(ValidationException, match="ns/b"):
        store.put_metrics("ns", {"a": 1.0, "b": math.nan})

    assert store.get_metrics("ns") == []


def test_put_metric_batch_writes_every_entry_in_one_call(store: ControlPlaneStore) -> None:
    first, second = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    store.put_metric_batch(
        "ns",
        [({"a": 1.0}, {"V": "x"}, first), ({"a": 2.0, "b": 3.0}, {"V": "y"}, second)],
    )

    points = store.get_metrics("ns")
    assert [(p.name, p.value, p.dimensions, p.timestamp) for p in points] == [
        ("a", 1.0, {"V": "x"}, first),
        ("a", 2.0, {"V": "y"}, second),
        ("b", 3.0, {"V": "y"}, second),
    ]
