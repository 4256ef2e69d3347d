"""The lake's put/get throughput against the raw file system, side by side in one run.

The peer is the least any durable, atomic write can cost on the same file system:
raw put = open a temp file, write, fsync, rename into place; raw get = open and
read the whole file. The lake does the same plus its own work (hashing, the SQLite
index commit, validation), so the ratio ``lake ÷ raw`` is the price of S3 semantics.

Lake and raw rounds alternate (A/B, B/A, ...) so drift on a busy machine lands on
both; each rate is the median over rounds and the ratio is the median over rounds
of the lake ÷ raw ratio within a round. Goals: >= 0.8 of raw for 8 MiB objects,
>= 0.5 for 1 KiB objects. Missing a goal is reported, never an error (exit 0).

    python -m benchmarks lake [--quick] [--rounds N] [--dir DIR] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from rich.table import Table

from benchmarks.common import console as wide_console
from benchmarks.common import distinct_keys, parser, timed, write_results
from fogbank.lake.engine import Lake

KiB = 1024
MiB = 1024 * 1024
BUCKET = "bench"


# ---------------------------------------------------------------------------- the two sides


class Side(Protocol):
    name: str

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> int: ...

    def delete(self, key: str) -> None: ...


class LakeSide:
    """fogbank's lake, used as any caller would use it."""

    name = "fogbank"

    def __init__(self, root: Path) -> None:
        self.lake = Lake(root)
        self.lake.create_bucket(BUCKET)

    def put(self, key: str, data: bytes) -> None:
        self.lake.put_object(BUCKET, key, data)

    def get(self, key: str) -> int:
        with self.lake.get_object(BUCKET, key) as body:
            return len(body.read())

    def delete(self, key: str) -> None:
        self.lake.delete_object(BUCKET, key)

    def close(self) -> None:
        self.lake.close()


class RawSide:
    """The floor: temp file, write, fsync, rename (put); open and read (get)."""

    name = "raw"

    def __init__(self, root: Path) -> None:
        self.tmp = root / "tmp"
        self.data = root / "data"
        self.tmp.mkdir(parents=True)
        self.data.mkdir(parents=True)
        self._tmp = str(self.tmp)
        self._data = str(self.data)

    def put(self, key: str, data: bytes) -> None:
        tmp = os.path.join(self._tmp, key)  # noqa: PTH118 - the cheapest path, on purpose
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, os.path.join(self._data, key))  # noqa: PTH105, PTH118

    def get(self, key: str) -> int:
        with open(os.path.join(self._data, key), "rb") as handle:  # noqa: PTH118, PTH123
            return len(handle.read())

    def delete(self, key: str) -> None:
        os.unlink(os.path.join(self._data, key))  # noqa: PTH108, PTH118


# ---------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    """One line of the table: an operation on objects of one size, ``ops`` per round."""

    name: str
    kind: str  # "put", "overwrite" or "get"
    size: int
    ops: int
    goal: float

    @property
    def unit(self) -> str:
        return "MiB/s" if self.size >= MiB else "ops/s"

    def rate(self, elapsed: float) -> float:
        if self.unit == "MiB/s":
            return self.ops * self.size / MiB / elapsed
        return self.ops / elapsed


@dataclass
class Result:
    case: str
    unit: str
    size_bytes: int
    ops_per_round: int
    goal: float
    fogbank: float = 0.0
    raw: float = 0.0
    ratio: float = 0.0
    passed: bool = False
    round_ratios: list[float] = field(default_factory=list)
    rounds_fogbank: list[float] = field(default_factory=list)
    rounds_raw: list[float] = field(default_factory=list)


def cases(quick: bool) -> list[Case]:
    scale = 4 if quick else 1
    return [
        Case("put 1 KiB, new keys", "put", KiB, 240 // scale, 0.5),
        Case("put 1 KiB, overwrite", "overwrite", KiB, 240 // scale, 0.5),
        Case("get 1 KiB", "get", KiB, 2000 // scale, 0.5),
        Case("put 8 MiB, new keys", "put", 8 * MiB, 12 // scale, 0.8),
        Case("get 8 MiB", "get", 8 * MiB, 24 // scale, 0.8),
    ]


def run_case(case: Case, sides: list[Side], rounds: int, payload: bytes, tag: str) -> Result:
    """Warm up, then ``rounds`` interleaved rounds of ``case.ops`` operations per side."""
    fixed = distinct_keys(f"{tag}-fixed", case.ops)
    if case.kind in ("get", "overwrite"):
        for side in sides:
            for key in fixed:
                side.put(key, payload)

    def batch(side: Side, keys: list[str]) -> Callable[[], None]:
        if case.kind == "get":

            def gets() -> None:
                for key in keys:
                    side.get(key)

            return gets

        def puts() -> None:
            for key in keys:
                side.put(key, payload)

        return puts

    def keys_for(label: str) -> list[str]:
        return fixed if case.kind != "put" else distinct_keys(f"{tag}-{label}", case.ops)

    # Warm-up: one untimed batch per side (imports, caches, the index's first pages).
    for side in sides:
        warm = keys_for("warm")
        batch(side, warm)()
        if case.kind == "put" and case.size >= MiB:
            for key in warm:
                side.delete(key)

    rates: dict[str, list[float]] = {side.name: [] for side in sides}
    for number in range(rounds):
        order = sides if number % 2 == 0 else list(reversed(sides))
        for side in order:
            keys = keys_for(f"r{number:02d}")
            rates[side.name].append(case.rate(timed(batch(side, keys))))
            if case.kind == "put" and case.size >= MiB:
                for key in keys:  # untimed: keep the disk footprint small
                    side.delete(key)

    lake_rates, raw_rates = rates["fogbank"], rates["raw"]
    result = Result(case.name, case.unit, case.size, case.ops, case.goal)
    result.rounds_fogbank = lake_rates
    result.rounds_raw = raw_rates
    result.fogbank = statistics.median(lake_rates)
    result.raw = statistics.median(raw_rates)
    # Each round pairs a lake batch with the raw batch run right next to it, so the
    # paired ratio cancels drift (another process's fsyncs, CPU contention) that the
    # ratio of the two medians would not; the median of those ratios is the figure.
    result.round_ratios = [a / b for a, b in zip(lake_rates, raw_rates, strict=True)]
    result.ratio = statistics.median(result.round_ratios)
    result.passed = result.ratio >= case.goal
    return result


# ---------------------------------------------------------------------------- reporting


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def render(results: list[Result], title: str) -> Table:
    table = Table(title=title)
    table.add_column("case")
    table.add_column("fogbank", justify="right")
    table.add_column("raw fs", justify="right")
    table.add_column("unit")
    table.add_column("ratio", justify="right")
    table.add_column("per round", justify="right")
    table.add_column("goal", justify="right")
    table.add_column("result")
    for r in results:
        table.add_row(
            r.case,
            _fmt(r.fogbank),
            _fmt(r.raw),
            r.unit,
            f"{r.ratio:.2f}",
            f"{min(r.round_ratios):.2f}-{max(r.round_ratios):.2f}",
            f">= {r.goal:.1f}",
            "[green]pass[/green]" if r.passed else "[red]FAIL[/red]",
        )
    return table


def _environment(folder: Path, rounds: int, quick: bool) -> dict[str, object]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "folder": str(folder),
        "rounds": rounds,
        "quick": quick,
    }


def _parser() -> argparse.ArgumentParser:
    return parser(
        "lake",
        "Lake put/get throughput versus raw temp-file+fsync+rename on the same disk.",
        "interleaved rounds per case",
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    rounds = args.rounds or (7 if args.quick else 21)
    console = wide_console(110)
    results: list[Result] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fogbank-bench-lake-", dir=args.dir) as scratch:
        root = Path(scratch)
        lake_side = LakeSide(root / "lake")
        raw_side = RawSide(root / "raw")
        sides: list[Side] = [lake_side, raw_side]
        try:
            for index, case in enumerate(cases(args.quick)):
                payload = os.urandom(case.size)
                with console.status(f"{case.name} ({rounds} rounds x {case.ops} ops per side)"):
                    results.append(run_case(case, sides, rounds, payload, f"c{index}"))
        finally:
            lake_side.close()
        environment = _environment(root, rounds, args.quick)

    elapsed = time.perf_counter() - started
    title = (
        f"lake vs raw file system: {rounds} interleaved rounds "
        f"({'quick, ' if args.quick else ''}{elapsed:.0f} s, {os.cpu_count()} CPUs)"
    )
    console.print(render(results, title))
    console.print(
        "fogbank, raw fs: medians over rounds. ratio: median over rounds of fogbank ÷ raw in "
        "the same round\n(per round: lowest-highest). raw put = temp file + write + fsync + "
        "rename; raw get = open + read."
    )
    write_results(args.json, "lake", environment, elapsed, [asdict(r) for r in results], console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
