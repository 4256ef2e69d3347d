"""What every benchmark shares: keys, timing one batch, and writing results as JSON."""

from __future__ import annotations

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
