"""Which fogbank process runs a job: an owner string that survives pid reuse.

A training or transform job records the process that runs it; a job still InProgress
whose owner is gone (fogbank was killed) is reported Failed instead of left running for
ever.
"""

from __future__ import annotations

import os
from pathlib import Path


def process_owner() -> str:
    """This process as ``<pid>:<start time in clock ticks>``."""
    pid = os.getpid()
    return f"{pid}:{_start_time(str(pid)) or '0'}"


def owner_alive(owner: str) -> bool:
    """Whether the process an owner string names is still running (the same process, not
    a later one given the same pid)."""
    pid, _, start = owner.partition(":")
    if not pid.isdigit():
        return False
    found = _start_time(pid)
    return found is not None and found == start


def _start_time(pid: str) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None
