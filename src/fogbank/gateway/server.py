"""Serving the gateway over HTTP with uvicorn: in the foreground (`fogbank serve`) or in
a background thread (tests, notebooks, benchmarks)."""

from __future__ import annotations

import gc
import socket
import threading
import time
from types import TracebackType

import uvicorn

from fogbank.app import Fogbank
from fogbank.gateway.app import Gateway

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566


def _config(
    fogbank: Fogbank, host: str, port: int, log_level: str, gateway: Gateway | None = None
) -> uvicorn.Config:
    return uvicorn.Config(
        gateway or Gateway(fogbank),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        # Clients such as s3transfer keep connections open between requests.
        timeout_keep_alive=30,
    )


def serve(fogbank: Fogbank, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM)."""
    gateway = Gateway(fogbank)
    for name in gateway.catalog.names():
        gateway.catalog[name]  # every service model, loaded now rather than on first use
    # What is loaded now lives as long as the server: frozen, the garbage collector's
    # passes no longer walk it. A 1,000-row GetQueryResults page made enough objects to
    # start such passes; through boto3 a page took 31-33 ms unfrozen, 25 ms frozen.
    gc.collect()
    gc.freeze()
    uvicorn.Server(_config(fogbank, host, port, "info", gateway)).run()


def free_port(host: str = DEFAULT_HOST) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class BackgroundServer:
    """The gateway on a free loopback port in a daemon thread; stopped on exit."""

    def __init__(self, fogbank: Fogbank, host: str = DEFAULT_HOST, port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._server = uvicorn.Server(_config(fogbank, self.host, self.port, "warning"))
        self._thread = threading.Thread(
            target=self._server.run, name="fogbank-gateway", daemon=True
        )

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not start on {self.endpoint_url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
