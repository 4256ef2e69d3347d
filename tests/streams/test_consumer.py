"""The consumer library (fogbank.streams.consumer): leases, checkpoints, balancing,
ordering across resharding, and at-least-once delivery when a worker process dies."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from fogbank import Fogbank, FogbankConfig
from fogbank.core.clock import ManualClock
from fogbank.core.errors import ProvisionedThroughputExceededException
from fogbank.streams import keys
from fogbank.streams.consumer import Batch, Checkpointer, Consumer, LeaseLost
from fogbank.streams.engine import PutRequest
from fogbank.streams.model import GetRecordsResult

STREAM = "orders"
APP = "billing"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fogbank(tmp_path: Path, clock: ManualClock) -> Iterator[Fogbank]:
    config = FogbankConfig.load(home=tmp_path / "home", environ={}, limits=False)
    with Fogbank(config, clock=clock) as fb:
        yield fb


def _put(fb: Fogbank, count: int, *, tag: str = "r") -> dict[str, str]:
    """Put ``count`` records with distinct keys; their sequence numbers -> shard ids."""
    placed: dict[str, str] = {}
    for start in range(0, count, 100):
        requests = [
            PutRequest(f"{tag}{i}".encode(), f"{tag}-key-{i}")
            for i in range(start, min(count, start + 100))
        ]
        result = fb.streams.put_records(requests, name=STREAM)
        for entry in result.records:
            assert entry.sequence_number is not None and entry.shard_id is not None
            placed[entry.sequence_number] = entry.shard_id
    return placed


def _consumer(fb: Fogbank, worker: str, **options: object) -> Consumer:
    settings: dict[str, object] = {
        "lease_duration": 3.0,
        "idle_time_between_reads": 0.0,
        "max_records": 7,
    }
    settings.update(options)
    return Consumer(fb, STREAM, APP, worker, **settings)  # type: ignore[arg-type]


def _drain(
    workers: list[Consumer],
    clock: ManualClock,
    wanted: set[str],
    delivered: list[tuple[str, str, str]],
    *,
    rounds: int = 400,
) -> None:
    """Poll every worker in turn, checkpointing each batch, until ``wanted`` all came."""
    for _ in range(rounds):
        for worker in workers:
            for batch in worker.poll():
                for record in batch.records:
                    delivered.append((worker.worker_id, batch.shard_id, record.sequence_number))
                with contextlib.suppress(LeaseLost):  # a stolen shard: redelivered
                    batch.checkpoint()
        if wanted <= {seq for _, _, seq in delivered}:
            return
        clock.advance(0.5)
    missing = wanted - {seq for _, _, seq in delivered}
    pytest.fail(f"{len(missing)} records never delivered")


def _assert_per_shard_order(delivered: list[tuple[str, str, str]]) -> None:
    by_shard: dict[str, list[int]] = defaultdict(list)
    for _, shard, seq in delivered:
        by_shard[shard].append(int(seq))
    for shard, numbers in by_shard.items():
        assert numbers == sorted(numbers), f"{shard} delivered out of order"


def test_single_worker_reads_every_record_once_in_shard_order(
    fogbank: Fogbank, clock: ManualClock
) -> None:
    fogbank.streams.create_stream(STREAM, 3)
    placed = _put(fogbank, 250)
    consumer = _consumer(fogbank, "w1")
    guard = threading.Timer(120, consumer.stop)  # never hang the suite on a bug
    guard.start()
    delivered: list[tuple[str, str, str]] = []
    try:
        for batch in consumer:
            assert batch.records or batch.ending
            for record in batch.records:
                delivered.append((batch.shard_id, record.sequence_number, record.partition_key))
                assert placed[record.sequence_number] == batch.shard_id
            if len(delivered) == len(placed):
                consumer.stop()
    finally:
        guard.cancel()
    sequences = [seq for _, seq, _ in delivered]
    assert len(sequences) == len(set(sequences)) == len(placed)
    _assert_per_shard_order([("w1", shard, seq) for shard, seq, _ in delivered])
    # The iterator checkpointed each batch it handed out before the next one.
    last = {}
    for shard, seq, _ in delivered:
        last[shard] = seq
    for lease in consumer.leases.leases():
        assert lease.checkpoint == last[lease.shard_id]
        assert lease.owner is None  # stop() released it


def test_two_workers_split_the_shards(fogbank: Fogbank, clock: ManualClock) -> None:
    fogbank.streams.create_stream(STREAM, 4)
    first, second = _consumer(fogbank, "a"), _consumer(fogbank, "b")
    first.poll()
    assert first.held_shards == [keys.shard_id(i) for i in range(4)]  # alone: all of them
    for _ in range(40):
        second.poll()
        first.poll()
        if len(first.held_shards) == len(second.held_shards) == 2:
            break
        clock.advance(0.5)
    assert len(first.held_shards) == len(second.held_shards) == 2
    assert set(first.held_shards) | set(second.held_shards) == {keys.shard_id(i) for i in range(4)}
    placed = _put(fogbank, 200)
    delivered: list[tuple[str, str, str]] = []
    _drain([first, second], clock, set(placed), delivered)
    sequences = [seq for _, _, seq in delivered]
    assert len(sequences) == len(set(sequences)) == len(placed)
    for worker_id, shard_id, _ in delivered:
        owner = first if worker_id == "a" else second
        assert shard_id in owner.held_shards
    _assert_per_shard_order(delivered)
    # A third worker joining takes a share: ceil(4 / 3) = 2 at most for anyone.
    third = _consumer(fogbank, "c")
    for _ in range(40):
        for worker in (third, first, second):
            worker.poll()
        if third.held_shards:
            break
        clock.advance(0.5)
    assert third.held_shards
    clock.advance(1.5)
    for worker in (first, second, third):
        worker.poll()
    held = first.held_shards + second.held_shards + third.held_shards
    assert sorted(held) == [keys.shard_id(i) for i in range(4)]
    assert max(len(w.held_shards) for w in (first, second, third)) == 2


def test_an_expired_lease_is_taken_over_from_the_checkpoint(
    fogbank: Fogbank, clock: ManualClock
) -> None:
    fogbank.streams.create_stream(STREAM, 2)
    placed = _put(fogbank, 100)
    dead = _consumer(fogbank, "dead")
    checkpointed: dict[str, str] = {}
    in_hand: dict[str, Batch] = {}
    for _ in range(3):
        for batch in dead.poll():
            batch.checkpoint()
            checkpointed[batch.shard_id] = batch.records[-1].sequence_number
    for batch in dead.poll():  # delivered, never checkpointed: the worker "dies" here
        in_hand[batch.shard_id] = batch
    assert set(checkpointed) == set(in_hand) == {keys.shard_id(0), keys.shard_id(1)}

    heir = _consumer(fogbank, "heir")
    delivered: list[tuple[str, str, str]] = []
    for batch in heir.poll():
        delivered += [("heir", batch.shard_id, r.sequence_number) for r in batch.records]
        batch.checkpoint()
    # It steals one lease to balance (the "dead" worker's heartbeat is still fresh);
    # the other is the dead worker's until its lease lapses.
    assert heir.held_shards == [keys.shard_id(1)]
    clock.advance(3.5)
    wanted = {seq for seq, shard in placed.items() if int(seq) > int(checkpointed[shard])}
    _drain([heir], clock, wanted, delivered)
    assert heir.held_shards == [keys.shard_id(0), keys.shard_id(1)]
    assert sorted(seq for _, _, seq in delivered) == sorted(wanted)  # none before a checkpoint
    for shard, batch in in_hand.items():
        mine = [seq for _, sh, seq in delivered if sh == shard]
        assert mine[: len(batch.records)] == [r.sequence_number for r in batch.records]
    # The dead worker's late checkpoint is refused: the shard is the heir's now.
    with pytest.raises(LeaseLost):
        in_hand[keys.shard_id(0)].checkpoint()


def test_restart_resumes_from_the_checkpoint(fogbank: Fogbank, clock: ManualClock) -> None:
    fogbank.streams.create_stream(STREAM, 1)
    placed = _put(fogbank, 30)
    order = sorted(placed, key=int)
    first = _consumer(fogbank, "w", auto_checkpoint=False)
    seen: list[str] = []
    for batch in first:
        seen += [r.sequence_number for r in batch.records]
        if len(seen) >= 14:
            batch.checkpoint(seen[9])  # processed through the 10th record only
            first.stop()
    assert first.held_shards == []
    again = _consumer(fogbank, "w")  # the same worker, restarted
    delivered: list[tuple[str, str, str]] = []
    _drain([again], clock, set(order[10:]), delivered)
    assert [seq for _, _, seq in delivered] == order[10:]


def test_reshard_during_consumption_reads_parents_before_children(
    fogbank: Fogbank, clock: ManualClock
) -> None:
    streams = fogbank.streams
    streams.create_stream(STREAM, 2)
    workers = [_consumer(fogbank, "a"), _consumer(fogbank, "b")]
    delivered: list[tuple[str, str, str]] = []
    placed = _put(fogbank, 120, tag="before")

    def some_rounds(count: int) -> None:
        for _ in range(count):
            for worker in workers:
                for batch in worker.poll():
                    for record in batch.records:
                        delivered.append((worker.worker_id, batch.shard_id, record.sequence_number))
                    batch.checkpoint()
            clock.advance(0.5)

    some_rounds(2)
    assert 0 < len(delivered) < len(placed)  # mid-consumption
    shard0 = streams.list_shards(STREAM).shards[0]
    middle = (shard0.hash_key_range.starting + shard0.hash_key_range.ending) // 2
    streams.split_shard(keys.shard_id(0), str(middle), name=STREAM)  # -> 2, 3
    placed |= _put(fogbank, 120, tag="split")
    some_rounds(2)
    streams.merge_shards(keys.shard_id(3), keys.shard_id(1), name=STREAM)  # -> 4
    placed |= _put(fogbank, 120, tag="merged")
    _drain(workers, clock, set(placed), delivered)

    sequences = [seq for _, _, seq in delivered]
    assert set(sequences) == set(placed)
    assert len(sequences) == len(set(sequences))
    _assert_per_shard_order(delivered)
    position: dict[str, tuple[int, int]] = {}
    for index, (_, shard_id, _) in enumerate(delivered):
        first_seen, _ = position.get(shard_id, (index, index))
        position[shard_id] = (first_seen, index)
    assert {keys.shard_id(2), keys.shard_id(4)} <= set(position)  # children were read
    for shard in streams.list_shards(STREAM).shards:
        for parent in (shard.parent_shard_id, shard.adjacent_parent_shard_id):
            if parent is not None and shard.shard_id in position and parent in position:
                assert position[parent][1] < position[shard.shard_id][0], (
                    f"{shard.shard_id} delivered before its parent {parent} finished"
                )
    assert all(
        lease.finished
        for lease in workers[0].leases.leases()
        if lease.shard_id in {keys.shard_id(0), keys.shard_id(1), keys.shard_id(3)}
    )


def test_a_parent_that_expired_past_retention_no_longer_blocks_its_children(
    fogbank: Fogbank, clock: ManualClock
) -> None:
    streams = fogbank.streams
    streams.create_stream(STREAM, 1)
    _put(fogbank, 20, tag="old")
    consumer = _consumer(fogbank, "w")
    (batch,) = consumer.poll()
    batch.checkpoint()
    streams.split_shard(keys.shard_id(0), str(1 << 127), name=STREAM)
    clock.advance(25 * 3600)  # the parent and all it held are past the 24 h retention
    placed = _put(fogbank, 40, tag="new")
    delivered: list[tuple[str, str, str]] = []
    _drain([consumer], clock, set(placed), delivered)
    assert sorted(seq for _, _, seq in delivered) == sorted(placed)
    parent = consumer.leases.find(keys.shard_id(0))
    assert parent is not None and parent.finished


def test_latest_skips_what_came_before(fogbank: Fogbank, clock: ManualClock) -> None:
    fogbank.streams.create_stream(STREAM, 2)
    _put(fogbank, 40, tag="old")
    consumer = _consumer(fogbank, "w", initial_position="LATEST")
    assert consumer.poll() == []
    placed = _put(fogbank, 40, tag="new")
    delivered: list[tuple[str, str, str]] = []
    _drain([consumer], clock, set(placed), delivered)
    assert sorted(seq for _, _, seq in delivered) == sorted(placed)


def test_at_timestamp_starts_at_the_first_record_at_or_after_it(
    fogbank: Fogbank, clock: ManualClock
) -> None:
    fogbank.streams.create_stream(STREAM, 2)
    _put(fogbank, 30, tag="early")
    clock.advance(10)
    start = clock.now()
    placed = _put(fogbank, 30, tag="late")
    clock.advance(10)
    consumer = _consumer(fogbank, "w", initial_position="AT_TIMESTAMP", timestamp=start)
    delivered: list[tuple[str, str, str]] = []
    _drain([consumer], clock, set(placed), delivered)
    assert sorted(seq for _, _, seq in delivered) == sorted(placed)


def test_throttled_reads_back_off_and_lose_nothing(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = FogbankConfig.load(home=tmp_path / "home", environ={}, limits=True)
    with Fogbank(config, clock=clock) as fb:
        fb.streams.create_stream(STREAM, 1)
        placed = _put(fb, 60)
        throttled = 0
        real_get_records = fb.streams.get_records

        def counting(iterator: str, *, limit: int | None = None) -> GetRecordsResult:
            nonlocal throttled
            try:
                return real_get_records(iterator, limit=limit)
            except ProvisionedThroughputExceededException:
                throttled += 1
                raise

        monkeypatch.setattr(fb.streams, "get_records", counting)
        consumer = _consumer(fb, "w", max_records=5)
        delivered: list[tuple[str, str, str]] = []
        for _ in range(200):
            for batch in consumer.poll():
                delivered += [("w", batch.shard_id, r.sequence_number) for r in batch.records]
                batch.checkpoint()
            if len(delivered) == len(placed):
                break
            clock.advance(0.1)
        assert sorted(seq for _, _, seq in delivered) == sorted(placed)
        assert throttled > 0  # 12 reads at 5 per second: the limit bit, and was waited out


def test_callback_api_stops_and_releases(fogbank: Fogbank) -> None:
    fogbank.streams.create_stream(STREAM, 2)
    placed = _put(fogbank, 50)
    consumer = _consumer(fogbank, "w")
    got: list[str] = []

    def handle(batch: Batch, checkpointer: Checkpointer) -> None:
        got.extend(r.sequence_number for r in batch.records)
        checkpointer.checkpoint()
        if len(got) >= len(placed):
            consumer.stop()

    guard = threading.Timer(120, consumer.stop)
    guard.start()
    try:
        consumer.run(handle)
    finally:
        guard.cancel()
    assert sorted(got) == sorted(placed)
    assert all(lease.owner is None for lease in consumer.leases.leases())


# ---------------------------------------------------------------- worker processes

_WORKER = """
import os, sys, threading
from pathlib import Path
from fogbank import Fogbank, FogbankConfig
from fogbank.streams.consumer import Consumer, LeaseLost

home, worker, log_path, stop_path = sys.argv[1:5]
log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
fb = Fogbank(FogbankConfig.load(home=home, environ={}, limits=False))
consumer = Consumer(fb, "orders", "billing", worker, lease_duration=1.5,
                    idle_time_between_reads=0.02, max_records=9, shard_sync_interval=1.0)

def watch():
    while not Path(stop_path).exists():
        threading.Event().wait(0.05)
    consumer.stop()

threading.Thread(target=watch, daemon=True).start()

batches = {}

def handle(batch, checkpointer):
    for record in batch.records:
        os.write(log, f"D {batch.shard_id} {record.sequence_number} {worker}\\n".encode())
    # Checkpoint every third batch: a kill then leaves delivered records to redeliver.
    batches[batch.shard_id] = batches.get(batch.shard_id, 0) + 1
    if batches[batch.shard_id] % 3 and not batch.ending:
        return
    checkpointer.checkpoint()
    if batch.records:
        last = batch.records[-1].sequence_number
        os.write(log, f"C {batch.shard_id} {last} {worker}\\n".encode())

consumer.run(handle)
fb.close()
"""


def _spawn(home: Path, worker: str, log: Path, stop: Path) -> subprocess.Popen[bytes]:
    with (log.parent / f"{worker}.err").open("wb") as errors:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(home), worker, str(log), str(stop)],
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )


def _log_lines(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    text = log.read_text()
    lines = text.split("\n")[:-1]  # a line cut by the kill has no newline: not counted
    return [line.split(" ") for line in lines]


def _wait_for(condition: object, what: str, timeout: float = 90.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.slow
def test_sigkilled_worker_process_loses_nothing(tmp_path: Path) -> None:
    home, log, stop = tmp_path / "home", tmp_path / "deliveries.log", tmp_path / "stop"
    config = FogbankConfig.load(home=home, environ={}, limits=False)
    with Fogbank(config) as fb:
        fb.streams.create_stream(STREAM, 4)
        placed = _put(fb, 100, tag="first")
        producing = threading.Event()
        producing.set()
        lock = threading.Lock()

        def produce() -> None:
            batch = 0
            while producing.is_set():
                more = _put(fb, 20, tag=f"b{batch}-")
                with lock:
                    placed.update(more)
                batch += 1
                time.sleep(0.05)

        producer = threading.Thread(target=produce)
        producer.start()
        doomed = _spawn(home, "doomed", log, stop)
        survivor: subprocess.Popen[bytes] | None = None
        try:
            _wait_for(lambda: any(line[0] == "C" for line in _log_lines(log)), "a first checkpoint")
            survivor = _spawn(home, "survivor", log, stop)
            _wait_for(
                lambda: any(line[-1] == "survivor" for line in _log_lines(log)),
                "the second worker to read",
            )
            doomed.send_signal(signal.SIGKILL)
            assert doomed.wait(timeout=30) == -signal.SIGKILL
            killed_at = len(_log_lines(log))
            # The survivor takes the dead worker's shards once their leases lapse.
            _wait_for(
                lambda: (
                    {line[1] for line in _log_lines(log)[killed_at:] if line[-1] == "survivor"}
                    == {keys.shard_id(i) for i in range(4)}
                ),
                "the survivor to read every shard",
            )
            producing.clear()
            producer.join(timeout=60)
            _wait_for(
                lambda: set(placed) <= {line[2] for line in _log_lines(log) if line[0] == "D"},
                "every record to be delivered",
            )
            stop.touch()
            assert survivor.wait(timeout=60) == 0, (tmp_path / "survivor.err").read_text()
        finally:
            producing.clear()
            producer.join(timeout=60)
            for process in (doomed, survivor):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait()
        leases = Consumer(fb, STREAM, APP, "inspector").leases.leases()
    assert all(lease.owner is None for lease in leases)  # the survivor released at stop

    lines = _log_lines(log)
    workers = {line[3] for line in lines if line[0] == "D"}
    assert workers == {"doomed", "survivor"}
    checkpoint: dict[str, int] = {}
    first_seen: dict[str, list[int]] = defaultdict(list)
    seen: set[str] = set()
    for kind, shard, seq, _worker in lines:
        if kind == "C":
            checkpoint[shard] = max(checkpoint.get(shard, 0), int(seq))
            continue
        assert placed[seq] == shard
        if seq in seen:
            # Delivered again: only what came after the last checkpoint may be.
            assert int(seq) > checkpoint.get(shard, 0)
        else:
            seen.add(seq)
            first_seen[shard].append(int(seq))
    assert seen == set(placed)
    for shard, numbers in first_seen.items():
        assert numbers == sorted(numbers), f"{shard} went out of order"
