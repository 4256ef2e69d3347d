"""JSON results written by compiled serializers: the same document as a plain shape walk."""

from __future__ import annotations

import base64
import functools
import json
import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.model import ListShape, MapShape, Shape, ShapeResolver, StructureShape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fogbank.gateway.models import ServiceCatalog
from fogbank.gateway.protocols import eventstream, json_rpc

CATALOG = ServiceCatalog()


def reference(shape: Shape, value: Any) -> Any:
    """The walk the gateway did before serializers were compiled, kept as the oracle."""
    kind = shape.type_name
    if value is None:
        return None
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                if member.serialization.get("location"):
                    continue
                out[member.serialization.get("name", name)] = reference(member, value[name])
        return out
    if kind == "list":
        assert isinstance(shape, ListShape)
        return [reference(shape.member, item) for item in value]
    if kind == "map":
        assert isinstance(shape, MapShape)
        return {str(k): reference(shape.value, v) for k, v in value.items()}
    if kind == "blob":
        raw = value if isinstance(value, bytes) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if kind == "timestamp":
        assert isinstance(value, datetime)
        fmt = shape.serialization.get("timestampFormat", "unixTimestamp")
        if fmt == "iso8601":
            return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return round(value.timestamp(), 3)
    return value


# ------------------------------------------------------------------ values of a shape

_ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5.5))])
_UNKNOWN = st.dictionaries(
    st.sampled_from(["NotAMember", "x-unknown", "lowercase"]), st.integers(), max_size=2
)


def values(shape: Shape, depth: int) -> st.SearchStrategy[Any]:
    """Values of ``shape`` as an adapter might return them: members set, unset or
    ``None``, keys the shape does not know, tuples for lists, non-string map keys.
    ``depth`` structures deeper, a structure is ``{}`` (recursive shapes end)."""
    kind = shape.type_name
    if kind == "structure":
        if depth <= 0:
            return st.just({})
        members = {
            str(name): st.none() | values(member, depth - 1)
            for name, member in shape.members.items()
        }
        return st.tuples(st.fixed_dictionaries({}, optional=members), _UNKNOWN).map(
            lambda pair: {**pair[1], **pair[0]}
        )
    item: st.SearchStrategy[Any]
    if kind == "list":
        item = st.none() | values(shape.member, depth)
        return st.lists(item, max_size=3) | st.lists(item, max_size=2).map(tuple)
    if kind == "map":
        item = st.none() | values(shape.value, depth)
        keys = st.text(max_size=4) | st.integers(-3, 3)
        return st.dictionaries(keys, item, max_size=3)
    if kind == "blob":
        return st.binary(max_size=8) | st.binary(max_size=8).map(bytearray)
    if kind == "timestamp":
        return st.datetimes(
            min_value=datetime(1971, 1, 1),
            max_value=datetime(2100, 1, 1),
            timezones=_ZONES,
        )
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "long"):
        return st.integers()
    if kind in ("double", "float"):
        return st.floats(allow_nan=False) | st.integers(-10, 10)
    return st.text(max_size=6)


# (service, operation, structure depth): outputs with timestamps, blobs, maps, nested
# lists, and recursive shapes (Glue's Table holds a TableStatus holding a Table; Athena's
# QueryStage holds QueryStages).
OPERATIONS = [
    ("athena", "GetQueryResults", 5),
    ("athena", "GetQueryExecution", 4),
    ("athena", "GetQueryRuntimeStatistics", 6),
    ("glue", "GetTables", 6),
    ("glue", "GetPartitions", 4),
    ("glue", "GetCrawlers", 4),
    ("glue", "GetTrigger", 4),
    ("kinesis", "GetRecords", 3),
    ("kinesis", "DescribeStream", 3),
    ("firehose", "DescribeDeliveryStream", 3),
    ("sagemaker", "DescribeTrainingJob", 3),
    ("sagemaker", "DescribeEndpoint", 3),
    ("sagemaker", "ListModels", 3),
    ("logs", "GetLogEvents", 3),
    ("logs", "FilterLogEvents", 3),
    ("logs", "DescribeLogGroups", 3),
]


@functools.cache
def _results(service: str, operation: str, depth: int) -> st.SearchStrategy[Any]:
    return values(CATALOG[service].operation(operation).output_shape, depth)


@pytest.mark.parametrize(("service", "operation", "depth"), OPERATIONS)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_results_are_written_as_the_shape_walk_writes_them(
    service: str, operation: str, depth: int, data: st.DataObject
) -> None:
    model = CATALOG[service].operation(operation)
    result = data.draw(_results(service, operation, depth))
    wire = json_rpc.render_result(CATALOG[service], model, result)
    expected = reference(model.output_shape, result)
    assert bytes(wire.body) == json.dumps(expected, separators=(",", ":")).encode()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("service", "shape_name"),
    [
        ("glue", "KinesisStreamingSourceOptions"),  # an iso8601 timestamp
        ("glue", "Table"),  # recursive through TableStatus
        ("logs", "LogFieldsListItem"),  # recursive through LogFieldsList
        ("sagemaker", "SearchExpression"),  # recursive, lists of itself
    ],
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_shapes_are_written_as_the_shape_walk_writes_them(
    service: str, shape_name: str, data: st.DataObject
) -> None:
    shape = CATALOG[service].model.shape_for(shape_name)
    value = data.draw(values(shape, 5))
    got = json_rpc._value(shape, value)
    expected = reference(shape, value)
    assert got == expected
    assert json.dumps(got) == json.dumps(expected)  # the same key order too


def test_every_output_shape_compiles() -> None:
    """Recursive shapes included: compiling ends, and each output is one function."""
    for service in ("athena", "glue", "kinesis", "firehose", "sagemaker", "logs"):
        model = CATALOG[service].model
        for name in model.operation_names:
            shape = model.operation_model(name).output_shape
            if shape is not None:
                assert json_rpc._value(shape, {}) == {}


def test_recursive_table_is_written_to_any_depth() -> None:
    table: dict[str, Any] = {"Name": "t0"}
    inner = table
    for level in range(1, 8):
        change: dict[str, Any] = {"Name": f"t{level}"}
        inner["Status"] = {"State": "SUCCESS", "Details": {"RequestedChange": change}}
        inner = change
    shape = CATALOG["glue"].operation("GetTable").output_shape
    result = {"Table": table}
    assert json_rpc._value(shape, result) == reference(shape, result)
    assert (
        json_rpc._value(shape, result)["Table"]["Status"]["Details"]["RequestedChange"]["Status"][
            "Details"
        ]["RequestedChange"]["Name"]
        == "t2"
    )


# ------------------------------------------------------------------ direct cases

_MODEL = {
    "Out": {
        "type": "structure",
        "members": {
            "Name": {"shape": "String", "locationName": "name"},
            "Header": {"shape": "String", "location": "header", "locationName": "x-amz-h"},
            "Status": {"shape": "Integer", "location": "statusCode"},
            "Count": {"shape": "Integer"},
            "When": {"shape": "Time"},
            "WhenIso": {"shape": "Time", "timestampFormat": "iso8601"},
            "IsoTime": {"shape": "IsoTime"},
            "Data": {"shape": "Blob"},
            "Tree": {"shape": "Node"},
            "Tags": {"shape": "TagMap"},
            "Times": {"shape": "TimeList"},
            "Nodes": {"shape": "NodeMap"},
        },
    },
    "Node": {
        "type": "structure",
        "members": {
            "Value": {"shape": "String", "locationName": "value"},
            "Children": {"shape": "NodeList"},
        },
    },
    "NodeList": {"type": "list", "member": {"shape": "Node"}},
    "NodeMap": {"type": "map", "key": {"shape": "String"}, "value": {"shape": "Node"}},
    "TagMap": {"type": "map", "key": {"shape": "String"}, "value": {"shape": "String"}},
    "TimeList": {"type": "list", "member": {"shape": "Time"}},
    "String": {"type": "string"},
    "Integer": {"type": "integer"},
    "Time": {"type": "timestamp"},
    "IsoTime": {"type": "timestamp", "timestampFormat": "iso8601"},
    "Blob": {"type": "blob"},
}


def _out() -> Shape:
    """A fresh shape object each call: the compiled serializer is found by what the
    shape is, not only by which object it is."""
    return ShapeResolver(_MODEL).get_shape_by_name("Out")


WHEN = datetime(2026, 1, 1, 12, 30, 15, 123456, tzinfo=UTC)


def test_unset_and_none_members_and_unknown_keys_are_left_out() -> None:
    value = {"Count": None, "Data": None, "Unknown": 1, "Tags": None, "Tree": {"Other": 2}}
    assert json_rpc._value(_out(), value) == {"Tree": {}}
    assert json_rpc._value(_out(), None) is None


def test_members_take_their_wire_names_and_header_members_are_left_out() -> None:
    value = {"Name": "n", "Header": "h", "Status": 200, "Count": 0, "Tree": {"Value": "v"}}
    got = json_rpc._value(_out(), value)
    assert got == {"name": "n", "Count": 0, "Tree": {"value": "v"}}
    assert list(got) == ["name", "Count", "Tree"]  # in the shape's order


def test_member_order_is_the_shapes_not_the_values() -> None:
    value = {"Count": 1, "Name": "n", "Data": b""}
    assert list(json_rpc._value(_out(), value)) == ["name", "Count", "Data"]


def test_timestamps_are_epoch_seconds_unless_iso8601_is_asked_for() -> None:
    local = WHEN.astimezone(timezone(timedelta(hours=-5)))
    value = {"When": WHEN, "WhenIso": local, "IsoTime": WHEN, "Times": [WHEN, None, local]}
    assert json_rpc._value(_out(), value) == {
        "When": 1767270615.123,
        "WhenIso": "2026-01-01T12:30:15.123456Z",
        "IsoTime": "2026-01-01T12:30:15.123456Z",
        "Times": [1767270615.123, None, 1767270615.123],
    }


def test_blobs_are_base64() -> None:
    for data in (b"\x00\xff hello", bytearray(b"\x01\x02"), memoryview(b"abc"), b""):
        got = json_rpc._value(_out(), {"Data": data})
        assert got == {"Data": base64.b64encode(bytes(data)).decode("ascii")}


def test_lists_maps_and_recursion() -> None:
    value = {
        "Tags": {"a": "1", 2: "two", "none": None},
        "Tree": {"Value": "root", "Children": ({"Value": "c", "Children": [None, {}]}, None)},
        "Nodes": {"x": {"Children": []}, "y": None},
    }
    expected = {
        "Tree": {"value": "root", "Children": [{"value": "c", "Children": [None, {}]}, None]},
        "Tags": {"a": "1", "2": "two", "none": None},
        "Nodes": {"x": {"Children": []}, "y": None},
    }
    got = json_rpc._value(_out(), value)
    assert got == expected == reference(_out(), value)
    assert json.dumps(got) == json.dumps(expected)


def test_serializers_compiled_from_many_threads_agree() -> None:
    shape = _out()
    value = {"Tree": {"Value": "v", "Children": [{"Value": "w"}]}, "When": WHEN, "Count": 3}
    expected = reference(shape, value)
    got: list[Any] = []
    threads = [
        threading.Thread(target=lambda: got.append(json_rpc._value(shape, value))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == [expected] * 8


def test_athena_rows_with_nulls() -> None:
    service = CATALOG["athena"]
    operation = service.operation("GetQueryResults")
    null: dict[str, str] = {}
    rows = [{"Data": [{"VarCharValue": "a"}, null, {"VarCharValue": ""}]}] * 3
    result = {"ResultSet": {"Rows": rows}, "UpdateCount": 0}
    wire = json_rpc.render_result(service, operation, result)
    document = json.loads(bytes(wire.body))  # type: ignore[arg-type]
    assert document["ResultSet"]["Rows"][0] == {
        "Data": [{"VarCharValue": "a"}, {}, {"VarCharValue": ""}]
    }
    assert document == reference(operation.output_shape, result)


def test_event_stream_events_are_written_by_their_shapes() -> None:
    service = CATALOG["kinesis"]
    operation = service.operation("SubscribeToShard")
    event = {
        "Records": [
            {
                "SequenceNumber": "1",
                "ApproximateArrivalTimestamp": WHEN,
                "Data": b"\x01\x02",
                "PartitionKey": "k",
                "Unknown": 1,
            }
        ],
        "ContinuationSequenceNumber": "1",
        "MillisBehindLatest": 0,
    }
    result = {"EventStream": iter([{"SubscribeToShardEvent": event}])}
    wire = json_rpc.render_event_stream(service, operation, result, "EventStream")
    frames = list(wire.body)  # type: ignore[arg-type]
    shape = operation.output_shape.members["EventStream"].members["SubscribeToShardEvent"]
    payload = json.dumps(reference(shape, event)).encode()
    assert frames[1] == eventstream.event("SubscribeToShardEvent", payload)
    assert json.loads(payload)["Records"][0]["Data"] == "AQI="
