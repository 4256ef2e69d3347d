"""The Athena engine without the gateway: concurrency, stopping, a kill -9 mid-query,
result files read back a page at a time, and the price."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fogbank import Fogbank, FogbankConfig
from fogbank.core.errors import FogbankError, InvalidRequestException
from fogbank.query import results, run
from fogbank.query.engine import cost_usd

OUTPUT = "s3://results/"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
DEADLINE = 60.0
LONG = (
    "SELECT count(*) FROM UNNEST(sequence(1, 10000)) AS t(x) "
    "CROSS JOIN UNNEST(sequence(1, 10000)) AS u(y) CROSS JOIN UNNEST(sequence(1, 10000)) AS v(z)"
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def fb(home: Path) -> Iterator[Fogbank]:
    with Fogbank(FogbankConfig.load(home=home, environ={})) as opened:
        opened.lake.create_bucket("results")
        yield opened


def test_queries_run_concurrently_and_each_gets_its_own_result(fb: Fogbank) -> None:
    ids = [
        fb.queries.start_query_execution(f"SELECT {n} AS n, 'q{n}' AS q", output_location=OUTPUT)
        for n in range(8)
    ]
    for n, query_id in enumerate(ids):
        execution = fb.queries.wait(query_id, DEADLINE)
        assert execution.state == "SUCCEEDED", execution.state_change_reason
        page = fb.queries.get_query_results(query_id)
        assert page.rows == [["n", "q"], [str(n), f"q{n}"]]
    listed, _ = fb.queries.list_query_executions()
    assert sorted(listed) == sorted(ids)


def test_stop_ends_a_running_query_cancelled_and_writes_no_result(fb: Fogbank) -> None:
    query_id = fb.queries.start_query_execution(LONG, output_location=OUTPUT)
    deadline = time.monotonic() + DEADLINE
    while fb.queries.get_query_execution(query_id).state == "QUEUED":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    fb.queries.stop_query_execution(query_id)
    execution = fb.queries.wait(query_id, DEADLINE)
    assert execution.state == "CANCELLED"
    assert "cancelled" in (execution.state_change_reason or "")
    with pytest.raises(InvalidRequestException, match="CANCELLED"):
        fb.queries.get_query_results(query_id)
    assert [o.key for o in fb.lake.iter_objects("results")] == []
    fb.queries.stop_query_execution(query_id)  # stopping a finished query changes nothing


def test_a_held_get_query_execution_answers_when_the_query_ends(
    fb: Fogbank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GetQueryExecution's hold: a running query is answered at its end, not a poll later;
    a hold that runs out answers the state as it is."""
    release = threading.Event()
    execute = run.Run.execute

    def gated(self: run.Run) -> Any:
        assert release.wait(DEADLINE)
        return execute(self)

    monkeypatch.setattr(run.Run, "execute", gated)
    query_id = fb.queries.start_query_execution("SELECT 1", output_location=OUTPUT)
    assert fb.queries.get_query_execution(query_id, hold=0.05).state in ("QUEUED", "RUNNING")
    answers: list[str] = []
    poller = threading.Thread(
        target=lambda: answers.append(fb.queries.get_query_execution(query_id, hold=DEADLINE).state)
    )
    poller.start()
    release.set()
    poller.join(DEADLINE)
    assert answers == ["SUCCEEDED"]
    # a final execution is answered at once, whatever the hold
    assert fb.queries.get_query_execution(query_id, hold=DEADLINE).state == "SUCCEEDED"


def test_a_query_interrupted_by_kill_9_is_failed_on_next_open(home: Path) -> None:
    """kill -9 of the process running a query: the next open marks it FAILED, and the
    catalog, lake and engine go on working."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from fogbank import Fogbank, FogbankConfig
        fb = Fogbank(FogbankConfig.load(home=Path({str(home)!r}), environ={{}}))
        fb.lake.create_bucket("results")
        query_id = fb.queries.start_query_execution({LONG!r}, output_location={OUTPUT!r})
        while fb.queries.get_query_execution(query_id).state != "RUNNING":
            time.sleep(0.01)
        print(query_id, flush=True)
        time.sleep(600)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        query_id = child.stdout.readline().strip()
        assert query_id
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(DEADLINE)
        if child.stdout is not None:
            child.stdout.close()
    with Fogbank(FogbankConfig.load(home=home, environ={})) as reopened:
        execution = reopened.queries.get_query_execution(query_id)
        assert execution.state == "FAILED"
        assert "interrupted" in (execution.state_change_reason or "")
        after = reopened.queries.start_query_execution("SELECT 1", output_location=OUTPUT)
        assert reopened.queries.wait(after, DEADLINE).state == "SUCCEEDED"


def test_result_pages_follow_each_other_without_rereading(fb: Fogbank) -> None:
    query_id = fb.queries.start_query_execution(
        "SELECT x, 'line\nbreak, \"quoted\"' AS s "
        "FROM UNNEST(sequence(1, 2500)) AS t(x) ORDER BY x",
        output_location=OUTPUT,
    )
    assert fb.queries.wait(query_id, DEADLINE).state == "SUCCEEDED"
    seen: list[list[str | None]] = []
    token: str | None = None
    while True:
        page = fb.queries.get_query_results(query_id, max_results=1000, next_token=token)
        seen.extend(page.rows)
        token = page.next_token
        if token is None:
            break
    assert len(seen) == 2501
    assert seen[-1] == ["2500", 'line\nbreak, "quoted"']
    with pytest.raises(InvalidRequestException, match="MaxResults"):
        fb.queries.get_query_results(query_id, max_results=1001)
    with pytest.raises(InvalidRequestException, match="NextToken"):
        fb.queries.get_query_results(query_id, next_token="not-a-token")


def test_athena_price_is_per_megabyte_with_a_ten_megabyte_minimum() -> None:
    assert cost_usd(0) == 0.0
    assert cost_usd(1) == cost_usd(10 * 2**20) == pytest.approx(10 * 2**20 / 2**40 * 5)
    assert cost_usd(2**40) == pytest.approx(5.0)
    assert cost_usd(10 * 2**20 + 1) == pytest.approx(11 * 2**20 / 2**40 * 5)


values = st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_categories=["Cs"])))


@given(st.lists(st.lists(values, min_size=3, max_size=3), max_size=20))
def test_result_csv_round_trips_values_and_nulls(rows: list[list[str | None]]) -> None:
    data = b"".join(results.csv_line(row) for row in rows)
    read, used, ended = results.read_rows(io.BytesIO(data), csv=True, limit=1000)
    assert read == rows and used == len(data) and ended


def test_length_counts_a_varbinary_s_bytes(fb: Fogbank) -> None:
    """Trino's length() of varbinary is its byte count (DuckDB's length() takes text)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fogbank.query.ddl import run_ddl

    buffer = io.BytesIO()
    pq.write_table(pa.table({"blob": [b"\x00" * 10, b"\xff" * 5], "s": ["ab", "c"]}), buffer)
    fb.lake.put_object("results", "t/x.parquet", buffer.getvalue())
    fb.catalog.create_database({"Name": "db"})
    run_ddl(
        "CREATE EXTERNAL TABLE t (blob binary, s string) STORED AS PARQUET "
        "LOCATION 's3://results/t/'",
        catalog=fb.catalog,
        lake=fb.lake,
        database="db",
    )
    query_id = fb.queries.start_query_execution(
        "SELECT sum(length(blob)), sum(length(s)) FROM t",
        database="db",
        output_location="s3://results/out/",
    )
    assert fb.queries.wait(query_id, DEADLINE).state == "SUCCEEDED"
    assert fb.queries.get_query_results(query_id).rows[1] == ["15", "3"]


def test_a_table_changed_between_queries_is_read_anew(fb: Fogbank) -> None:
    """Queries share a table's DuckDB view while its definition and files stay the same;
    a file added, overwritten or deleted, a partition added, or the table updated, and
    the next query reads what is there now."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def put(key: str, ids: range) -> None:
        buffer = io.BytesIO()
        pq.write_table(pa.table({"id": pa.array(ids, pa.int64())}), buffer)
        fb.lake.put_object("results", key, buffer.getvalue())

    def ask(sql: str) -> list[str | None]:
        query_id = fb.queries.start_query_execution(
            sql, database="db", output_location="s3://results/out/"
        )
        execution = fb.queries.wait(query_id, DEADLINE)
        assert execution.state == "SUCCEEDED", execution.state_change_reason
        return fb.queries.get_query_results(query_id).rows[1]

    fb.catalog.create_database({"Name": "db"})
    table = {
        "Name": "t",
        "StorageDescriptor": {
            "Columns": [{"Name": "id", "Type": "bigint"}],
            "Location": "s3://results/t/",
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
        },
        "Parameters": {"classification": "parquet"},
    }
    fb.catalog.create_table("db", table)  # type: ignore[arg-type]
    put("t/a.parquet", range(5))
    assert ask("SELECT count(*), sum(id) FROM t") == ["5", "10"]
    assert ask("SELECT count(*), sum(id) FROM t") == ["5", "10"]  # the shared view
    put("t/b.parquet", range(100, 105))
    assert ask("SELECT count(*), sum(id) FROM t") == ["10", "520"]
    put("t/a.parquet", range(3))  # overwritten: a new blob
    assert ask("SELECT count(*), sum(id) FROM t") == ["8", "513"]
    fb.lake.delete_object("results", "t/b.parquet")
    assert ask("SELECT count(*), sum(id) FROM t") == ["3", "3"]
    put("t2/c.parquet", range(50, 52))
    table["StorageDescriptor"]["Location"] = "s3://results/t2/"  # type: ignore[index]
    fb.catalog.update_table("db", table)  # type: ignore[arg-type]
    assert ask("SELECT count(*), sum(id) FROM t") == ["2", "101"]
    # a partitioned table: a partition added is read by the next query
    fb.catalog.create_table(
        "db",
        {**table, "Name": "p", "PartitionKeys": [{"Name": "day", "Type": "string"}]},  # type: ignore[typeddict-item]
    )
    put("p/day=1/x.parquet", range(2))
    put("p/day=2/x.parquet", range(7))
    fb.catalog.batch_create_partition(
        "db", "p", [{"Values": ["1"], "StorageDescriptor": {"Location": "s3://results/p/day=1/"}}]
    )
    assert ask("SELECT count(*) FROM p") == ["2"]
    fb.catalog.batch_create_partition(
        "db", "p", [{"Values": ["2"], "StorageDescriptor": {"Location": "s3://results/p/day=2/"}}]
    )
    assert ask("SELECT count(*) FROM p") == ["9"]


@given(
    st.lists(st.lists(values, min_size=2, max_size=2), max_size=12),
    st.integers(min_value=1, max_value=5),
)
def test_result_pages_read_the_same_rows_at_any_page_size(
    rows: list[list[str | None]], size: int
) -> None:
    """Pages read from offsets give back every row once, NULLs apart from '', a value
    longer than Python's csv field limit included."""
    rows = [*rows, ["x" * 200_000, None], ['\r\n,"', ""]]
    data = b"".join(results.csv_line(row) for row in rows)
    stream = io.BytesIO(data)
    seen: list[list[str | None]] = []
    offset = 0
    while True:  # as GetQueryResults reads a page: from the offset its token holds
        stream.seek(offset)
        page, used, ended = results.read_rows(stream, csv=True, limit=size)
        seen.extend(page)
        offset += used
        if ended:
            break
    assert seen == rows and offset == len(data)


def test_the_lake_change_marker_moves_with_every_write(fb: Fogbank) -> None:
    """Lake.change_marker, which keeps a table's listing until its bucket changes."""
    fb.lake.create_bucket("marked")
    first = fb.lake.change_marker("marked")
    assert fb.lake.change_marker("marked") == first
    fb.lake.put_object("marked", "a", b"1")
    second = fb.lake.change_marker("marked")
    assert second != first
    fb.lake.put_object("marked", "a", b"2")
    third = fb.lake.change_marker("marked")
    assert third != second
    fb.lake.put_object("results", "elsewhere", b"x")  # another bucket's write
    assert fb.lake.change_marker("marked") == third
    fb.lake.delete_object("marked", "a")
    fourth = fb.lake.change_marker("marked")
    assert fourth != third
    fb.lake.delete_bucket("marked")
    with pytest.raises(FogbankError):
        fb.lake.change_marker("marked")
    fb.lake.create_bucket("marked")
    assert fb.lake.change_marker("marked") not in (first, second, third, fourth)
