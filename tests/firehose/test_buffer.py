"""The delivery buffer's journal: group commit of concurrent appends (one transaction,
one fsync, for every append that arrived while a commit was in flight), the cap on
buffered bytes across a group, and a failed commit failing every append in it."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from fogbank.firehose.buffer import BufferClosed, RecordBuffer


def _appenders(
    buffer: RecordBuffer, count: int, *, max_bytes: int | None = None
) -> tuple[list[threading.Thread], list[int | BaseException]]:
    results: list[int | BaseException] = [0] * count

    def append(index: int) -> None:
        records = [f"{index}:{n}".encode() for n in range(10)]
        try:
            results[index] = buffer.append(records, 1000 + index, max_bytes=max_bytes)
        except BaseException as exc:  # the test reads it
            results[index] = exc

    threads = [threading.Thread(target=append, args=(i,)) for i in range(count)]
    return threads, results


def _held_back(buffer: RecordBuffer, threads: Sequence[threading.Thread]) -> None:
    """Start the threads while the buffer's transaction lock is taken, so that the first
    one waits inside its commit and the others queue behind it."""
    with buffer._mutex:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(buffer._queue) < len(threads) - 1 and time.monotonic() < deadline:
            time.sleep(0.005)


def test_appends_that_arrive_during_a_commit_share_the_next_one(tmp_path: Path) -> None:
    buffer = RecordBuffer.create(tmp_path / "b.sqlite")
    commits: list[int] = []
    write_group = buffer._write_group

    def counted(group: Sequence[object]) -> None:
        commits.append(len(group))
        write_group(group)  # type: ignore[arg-type]

    buffer._write_group = counted  # type: ignore[method-assign]
    threads, results = _appenders(buffer, 8)
    _held_back(buffer, threads)
    for thread in threads:
        thread.join()
    assert results == [10] * 8
    assert commits == [1, 7]  # the first commit, then everything queued behind it
    assert buffer.buffered() == (80, sum(len(f"{i}:{n}") for i in range(8) for n in range(10)))
    claim = buffer.claim("o", 10_000, size_bytes=10**6, interval_ms=0, lease_ms=1000)
    assert claim is not None and len(claim.records) == 80
    for index in range(8):  # each append's records stay together, in order
        mine = [r for r in claim.records if r.startswith(f"{index}:".encode())]
        assert mine == [f"{index}:{n}".encode() for n in range(10)]
        at = claim.records.index(mine[0])
        assert list(claim.records[at : at + 10]) == mine
        assert claim.arrivals[at] == 1000 + index
    buffer.close()


def test_the_byte_cap_holds_across_a_group(tmp_path: Path) -> None:
    buffer = RecordBuffer.create(tmp_path / "b.sqlite")
    threads, results = _appenders(buffer, 8, max_bytes=100)
    _held_back(buffer, threads)
    for thread in threads:
        thread.join()
    accepted = [r for r in results if isinstance(r, int)]
    assert len(accepted) == 8
    count, size = buffer.buffered()
    assert count == sum(accepted) and 90 < size <= 100
    buffer.close()


def test_a_failed_commit_fails_every_append_in_its_group(tmp_path: Path) -> None:
    buffer = RecordBuffer.create(tmp_path / "b.sqlite")
    threads, results = _appenders(buffer, 4)
    with buffer._mutex:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(buffer._queue) < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        buffer._closed = True  # as close() leaves it: no commit may start now
    for thread in threads:
        thread.join()
    assert all(isinstance(r, BufferClosed) for r in results)
    with pytest.raises(BufferClosed):
        buffer.append([b"x"], 0, max_bytes=None)
    buffer._conn.close()
