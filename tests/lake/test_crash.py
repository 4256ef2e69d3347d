"""The kill -9 promise: an acknowledged PutObject or CompleteMultipartUpload survives a
SIGKILL of the writing process, and no object is ever visible half written."""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fogbank.lake.engine import Lake

KiB = 1024
MiB = 1024 * 1024
KEYS = 5


def step_plan(step: int) -> tuple[str, int, int]:
    """Step ``step`` of the writer: (key, size, part size or 0 for a single PutObject).

    Keys are overwritten again and again, each write with new content; every third
    write is a multipart upload (5 MiB parts), every fifth a large single PutObject.
    """
    key = f"obj/{step % 5}"
    if step % 3 == 2:
        return key, 12 * MiB + 7 * KiB * (step % 4), 5 * MiB
    if step % 5 == 4:
        return key, 9 * MiB + step, 0
    return key, (1 * KiB, 200 * KiB, 1 * MiB + 3, 3 * MiB)[step % 4], 0


def expected_content(key: str, step: int, size: int) -> bytes:
    """The deterministic bytes of the write of ``key`` at ``step``: a unique header, then
    a 64 KiB block derived from both, repeated."""
    seed = hashlib.sha256(f"{key}@{step}".encode()).digest()
    block = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(2048))
    header = f"[{key}@{step}]".encode()
    return (header + block * (size // len(block) + 1))[:size]


def multipart_etag(parts: list[bytes]) -> str:
    joined = b"".join(hashlib.md5(p, usedforsecurity=False).digest() for p in parts)
    return f"{hashlib.md5(joined, usedforsecurity=False).hexdigest()}-{len(parts)}"


CHILD_MAIN = """
import sys
from pathlib import Path

from fogbank.lake.engine import Lake
from fogbank.lake.model import CompletedPart


def say(line):
    sys.stdout.write(line + "\\n")
    sys.stdout.flush()


lake = Lake(Path(sys.argv[1]))
lake.create_bucket("crash")
step = 0
while True:
    key, size, part_size = step_plan(step)
    data = expected_content(key, step, size)
    if part_size:
        say(f"BEGIN {key} {step} multipart")
        upload = lake.create_multipart_upload("crash", key, metadata={"step": str(step)})
        parts = []
        for number, start in enumerate(range(0, size, part_size), start=1):
            part = lake.upload_part(
                "crash", key, upload.upload_id, number, data[start : start + part_size]
            )
            parts.append(CompletedPart(number, part.etag))
            say(f"PART {key} {step} {number}")
        say(f"COMPLETE {key} {step}")
        info = lake.complete_multipart_upload("crash", key, upload.upload_id, parts)
    else:
        say(f"BEGIN {key} {step} put")
        info = lake.put_object("crash", key, data, metadata={"step": str(step)})
    say(f"ACK {key} {step} {info.etag}")
    step += 1
"""

CHILD_SCRIPT = "\n".join(
    [
        textwrap.dedent(inspect.getsource(step_plan)),
        "KiB = 1024\nMiB = 1024 * 1024\nimport hashlib\n",
        textwrap.dedent(inspect.getsource(expected_content)),
        CHILD_MAIN,
    ]
)


@dataclass
class WriterLog:
    acked: dict[str, int] = field(default_factory=dict)
    """The last acknowledged step for each key."""
    acked_etags: dict[tuple[str, int], str] = field(default_factory=dict)
    begun: dict[str, int] = field(default_factory=dict)
    """The last step started for each key (acknowledged or in flight at the kill)."""
    lines: list[str] = field(default_factory=list)


# Where each round kills the writer, once it has acknowledged a number of writes:
# while uploading the second part of a multipart upload, while completing one, and
# while streaming a large single PutObject.
KILL_MOMENTS = {
    "during-upload-part": ("PART", "multipart", 1),
    "during-complete": ("COMPLETE", "multipart", None),
    "during-large-put": ("BEGIN", "put", None),
}
ACKS_BEFORE_KILL = {"during-upload-part": 15, "during-complete": 16, "during-large-put": 17}


def _wanted(line: str, moment: tuple[str, str, int | None]) -> bool:
    word, kind, part = moment
    fields = line.split()
    if not fields or fields[0] != word:
        return False
    if word == "BEGIN":
        return fields[3] == kind and step_plan(int(fields[2]))[1] > 5 * MiB
    if word == "PART":
        return int(fields[3]) == part
    return True


def run_and_kill(
    root: Path, moment: tuple[str, str, int | None], acks_before_kill: int, delay: float
) -> WriterLog:
    log = WriterLog()
    errors = (root.parent / "child.err").open("wb")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_SCRIPT, str(root)],
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    watchdog = threading.Timer(60, child.kill)
    watchdog.start()
    try:
        assert child.stdout is not None
        acks = 0
        while True:
            line = child.stdout.readline()
            if not line:
                errors.flush()
                pytest.fail(
                    "the writer died before the kill:\n"
                    + (root.parent / "child.err").read_text(errors="replace")
                )
            line = line.strip()
            log.lines.append(line)
            fields = line.split()
            if fields[0] == "BEGIN":
                log.begun[fields[1]] = int(fields[2])
            elif fields[0] == "ACK":
                log.acked[fields[1]] = int(fields[2])
                log.acked_etags[(fields[1], int(fields[2]))] = fields[3]
                acks += 1
            if acks >= acks_before_kill and _wanted(line, moment):
                time.sleep(delay)
                os.kill(child.pid, signal.SIGKILL)
                break
        # Lines the writer printed before it died still count: an ACK read late is an ACK.
        for line in child.stdout:
            fields = line.split()
            log.lines.append(line.strip())
            if fields and fields[0] == "ACK":
                log.acked[fields[1]] = int(fields[2])
                log.acked_etags[(fields[1], int(fields[2]))] = fields[3]
            elif fields and fields[0] == "BEGIN":
                log.begun[fields[1]] = int(fields[2])
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        watchdog.cancel()
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        if child.stdout is not None:
            child.stdout.close()
        child.wait()
        errors.close()
    return log


@pytest.mark.slow
@pytest.mark.parametrize("moment", list(KILL_MOMENTS))
def test_acknowledged_writes_survive_kill_9_and_nothing_is_half_visible(
    tmp_path: Path, moment: str
) -> None:
    """PutObject / CompleteMultipartUpload: after a SIGKILL of the writer at any moment,
    every acknowledged write is there (or a later one), every visible object is whole
    (its bytes hash to its ETag and equal some write's content), and the lake reopens."""
    root = tmp_path / "lake"
    rng = random.Random(f"crash-{moment}")
    # A short delay: the kill lands inside the write that was just announced (or just after).
    log = run_and_kill(root, KILL_MOMENTS[moment], ACKS_BEFORE_KILL[moment], rng.uniform(0, 0.02))
    assert len(log.acked_etags) >= ACKS_BEFORE_KILL[moment]

    index = root / "buckets" / "crash" / "index.sqlite"
    with contextlib.closing(sqlite3.connect(index)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    lake = Lake(root)
    try:
        objects = list(lake.iter_objects("crash"))
        visible = {o.key: o for o in objects}
        assert set(visible) <= {f"obj/{i}" for i in range(KEYS)}
        for info in objects:
            step = int(info.metadata["step"])
            key, size, part_size = step_plan(step)
            assert key == info.key
            assert step <= log.begun[key], "an object from a write that never started"
            with lake.get_object("crash", info.key) as body:
                data = body.read()
            assert len(data) == info.size == size
            assert data == expected_content(key, step, size), f"{key}@{step} is not whole"
            if part_size:
                parts = [data[i : i + part_size] for i in range(0, size, part_size)]
                assert info.parts_count == len(parts)
                assert info.etag == multipart_etag(parts)
            else:
                assert hashlib.md5(data, usedforsecurity=False).hexdigest() == info.etag
            if (key, step) in log.acked_etags:
                assert log.acked_etags[(key, step)] == info.etag
        for key, step in log.acked.items():
            assert key in visible, f"acknowledged {key}@{step} is lost"
            assert int(visible[key].metadata["step"]) >= step, f"{key} went back past an ACK"

        # Leftovers of the killed write are invisible, and the lake takes new writes.
        assert {o.key for o in lake.list_objects_v2("crash", prefix="obj/").contents} == set(
            visible
        )
        lake.put_object("crash", "after", b"the lake still works")
        assert lake.read("s3://crash/after") == b"the lake still works"
        for upload in lake.list_multipart_uploads("crash").uploads:
            lake.abort_multipart_upload("crash", upload.key, upload.upload_id)
    finally:
        lake.close()
