"""The servers a benchmark measures, each in a subprocess of its own, and finding the peers.

A :class:`ServerProcess` starts from an argv, logs to the scratch folder, is ready
once its ``probe`` (one cheap call of the service) answers, and is stopped with
SIGTERM, then SIGKILL. Peers (moto's server, MiniStack) are looked for in the
interpreter the runner names, then this one, then a conventional venv.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

HOST = "127.0.0.1"
PEERS_PYTHON_ENV = "FOGBANK_BENCH_PEERS_PYTHON"
DEFAULT_PEERS_PYTHON = Path(tempfile.gettempdir()) / "fogbank-bench-peers" / "bin" / "python"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 10.0


@dataclass
class ServerProcess:
    """One server under test; ``problem`` says why it is not (or no longer) measured."""

    name: str
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    version: str = ""
    port: int = 0
    problem: str | None = None
    log_path: Path | None = None
    new_session: bool = False
    """Start it as a process group leader and signal the whole group on stop (for a
    server that runs its real server as a child, as ``mlflow models serve`` does)."""
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ok(self) -> bool:
        return self.problem is None

    def fail(self, why: str) -> None:
        if self.problem is None:
            self.problem = why

    def start(self, scratch: Path) -> None:
        self.log_path = scratch / f"{self.name}.log"
        self._log = self.log_path.open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.cwd or scratch,
                start_new_session=self.new_session,
            )
        except OSError as error:
            self.fail(f"could not start: {error}")

    def ready_probe(self) -> tuple[Callable[[], object], str]:
        """One cheap call of the service, and its name: the server is ready when it answers."""
        raise NotImplementedError

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Call the probe until it answers; on failure, say why (with the log's tail)."""
        probe, what = self.ready_probe()
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.process is None:
                return  # it never started; start() said why
            code = self.process.poll()
            if code is not None:
                self.fail(f"exited with status {code} on start: {self.log_tail()}")
                return
            try:
                probe()
            except Exception as error:  # not listening yet, or not answering yet
                last = f"{type(error).__name__}: {error}"
                time.sleep(0.2)
                continue
            return
        self.fail(f"no {what} answer within {timeout:.0f} s ({last}): {self.log_tail()}")

    def log_tail(self, lines: int = 3) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "no log"
        text = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "empty log"

    def stop(self) -> None:
        if self.process is not None and self.new_session:
            self._stop_group()
        elif self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        if self._log is not None:
            self._log.close()
            self._log = None

    def _stop_group(self) -> None:
        """SIGTERM to the process group this server leads, then SIGKILL to what is left."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_TIMEOUT)
        with contextlib.suppress(ProcessLookupError):  # children that outlived their leader
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(timeout=STOP_TIMEOUT)


def installed_version(python: str, module: str, distribution: str) -> str | None:
    """The peer's version when ``python`` can import ``module``, else None."""
    code = f"import importlib.metadata as m, {module}  # noqa\nprint(m.version({distribution!r}))"
    try:
        done = subprocess.run(
            [python, "-c", code], capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def find_peer(module: str, distribution: str, peers_python: str | None) -> tuple[str, str] | None:
    """(python, version) of the first interpreter that has the peer installed."""
    candidates = [peers_python, os.environ.get(PEERS_PYTHON_ENV), sys.executable]
    candidates.append(str(DEFAULT_PEERS_PYTHON))
    seen: set[str] = set()
    for python in candidates:
        if not python or python in seen or not Path(python).exists():
            continue
        seen.add(python)
        version = installed_version(python, module, distribution)
        if version:
            return python, version
    return None
