"""What every benchmark shares: keys, timing one batch, and writing results as JSON."""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console


def distinct_keys(prefix: str, count: int) -> list[str]:
    """``count`` distinct object keys, so no put in a batch overwrites another."""
    return [f"{prefix}-{i:06d}" for i in range(count)]


def timed(batch: Callable[[], None]) -> float:
    """Seconds one batch takes, after a collection so no GC pause lands inside it."""
    gc.collect()
    started = time.perf_counter()
    batch()
    return time.perf_counter() - started


def write_results(
    path: Path | None,
    name: str,
    environment: dict[str, object],
    seconds: float,
    results: list[dict[str, Any]],
    console: Console,
) -> None:
    """The run as JSON at ``path`` (when the runner asked for one)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": name,
        "environment": environment,
        "seconds": round(seconds, 2),
        "results": results,
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    console.print(f"results written to {path}")


def parser(name: str, description: str, rounds_help: str) -> argparse.ArgumentParser:
    """The options every benchmark takes: --quick, --rounds, --dir, --json."""
    made = argparse.ArgumentParser(prog=f"python -m benchmarks {name}", description=description)
    made.add_argument("--quick", action="store_true", help="fewer rounds and operations")
    made.add_argument("--rounds", type=int, default=None, help=rounds_help)
    made.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="parent of the scratch folder (default: the system temp folder, $TMPDIR)",
    )
    made.add_argument("--json", type=Path, default=None, help="also write the results here")
    return made


def console(width: int) -> Console:
    """Rich's console; in a log or a pipe, wide enough to keep each table row on one line."""
    made = Console()
    return made if made.is_terminal else Console(width=width)
