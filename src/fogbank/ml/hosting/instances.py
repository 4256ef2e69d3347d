"""The processes that serve a SageMaker model, for endpoints and batch transform alike.

A model is one container or an inference pipeline of up to 15 (:class:`ServedModel`).
Each container is a worker process on a loopback port of its own, as SageMaker runs each
container on ``SAGEMAKER_BIND_TO_PORT``; an *instance* is one worker per container
(:class:`Instance`). A container whose image is a built-in algorithm serves with
:mod:`fogbank.ml.hosting.serving`; any other image serves the user's inference code
(``SAGEMAKER_PROGRAM``, or ``code/inference.py`` in the model.tar.gz) with
:mod:`fogbank.ml.hosting.toolkit`, as the framework containers do. An image that is
neither runs as itself under Docker (``docker run <image> serve``, the model mounted at
/opt/ml/model, port 8080 published on the loopback port), when a Docker engine answers;
without one, preparing it fails with a message that says so.

:meth:`Instance.invoke` walks a serial pipeline: container 1 gets the caller's request,
each answer is the next container's request (its Content-Type the answer's, no Accept,
so each container answers in its ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``), and the
last container gets the caller's Accept. In Direct mode the caller names one container.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fogbank.core.errors import FogbankError, ValidationException
from fogbank.lake.engine import Lake
from fogbank.ml.hosting.engine import HostingResource
from fogbank.ml.hosting.toolkit import resolve_program
from fogbank.ml.training.images import builtin_algorithm

PING_TIMEOUT_SECONDS = 240.0  # SageMaker: /ping must pass within 4 minutes of start
INVOKE_TIMEOUT_SECONDS = 60.0
SINGLE, SERIAL, DIRECT = "Single", "Serial", "Direct"
_CODE_ROOT = "/opt/ml/model/code"  # where the SDK's repacked model.tar.gz puts the code


@dataclass(frozen=True)
class Container:
    """One container of a model, as the endpoint or job runs it."""

    hostname: str
    image: str
    algorithm: str | None
    """The built-in algorithm the image serves; None for user inference code."""
    model_data_url: str | None
    environment: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServedModel:
    """What an endpoint's variant or a transform job serves: a model's containers."""

    name: str
    containers: tuple[Container, ...]
    mode: str = SINGLE

    @property
    def images(self) -> tuple[str, ...]:
        return tuple(c.image for c in self.containers)

    def to_body(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode,
            "containers": [c.__dict__ for c in self.containers],
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ServedModel:
        return cls(
            body["name"],
            tuple(Container(**c) for c in body["containers"]),
            body.get("mode", SINGLE),
        )


def resolve_model(model: HostingResource) -> ServedModel:
    """A model record as the containers to run, in order."""
    listed = model.containers
    pipeline = "Containers" in model.request and not model.request.get("PrimaryContainer")
    mode = SINGLE
    if pipeline:
        mode = (model.request.get("InferenceExecutionConfig") or {}).get("Mode", SERIAL)
    containers = []
    for index, spec in enumerate(listed):
        image = str(spec.get("Image", ""))
        algorithm = builtin_algorithm(image)
        url = spec.get("ModelDataUrl")
        if algorithm is not None and not url:
            raise ValidationException(
                f"Model {model.name!r}: the {algorithm} container has no ModelDataUrl; a "
                "built-in algorithm serves the model.tar.gz a training job wrote."
            )
        hostname = spec.get("ContainerHostname") or (
            f"container-{index + 1}" if pipeline else "primary"
        )
        containers.append(
            Container(
                hostname,
                image,
                algorithm,
                str(url) if url else None,
                dict(spec.get("Environment") or {}),
            )
        )
    return ServedModel(model.name, tuple(containers), mode)


# ---------------------------------------------------------------------- preparation


@dataclass(frozen=True)
class Prepared:
    """A container's files on disk, ready to start workers from."""

    container: Container
    model_dir: Path
    code: tuple[Path, str] | None
    """User inference code: the folder and the program; None otherwise."""
    docker: str | None = None
    """The Docker CLI that runs the container's own image, for an image that is neither
    a built-in algorithm nor served as user code."""


def prepare(lake: Lake, folder: Path, model: ServedModel) -> tuple[Prepared, ...]:
    """Fetch and extract each container's model.tar.gz (once, shared by its instances)
    and find its inference code; raises FogbankError naming what is missing."""
    shutil.rmtree(folder, ignore_errors=True)
    prepared = []
    for index, container in enumerate(model.containers):
        root = folder / f"{index + 1}-{container.hostname}"
        model_dir = root / "model"
        model_dir.mkdir(parents=True)
        if container.model_data_url:
            _extract(lake, container.model_data_url, model_dir)
        code = docker = None
        if container.algorithm is None:
            code = _find_code(lake, container, root, model_dir)
            if code is None:
                docker = docker_engine()
                if docker is None:
                    raise FogbankError(
                        f"Model {model.name!r}'s container {container.hostname} uses the "
                        f"image {container.image!r}, which is not a SageMaker built-in "
                        "algorithm, and carries no inference code (set SAGEMAKER_PROGRAM, or "
                        "put code/inference.py in the model.tar.gz). Running the image itself "
                        "needs a container engine such as Docker, and fogbank found none on "
                        "this machine (`docker version` must answer)."
                    )
        prepared.append(Prepared(container, model_dir, code, docker))
    return tuple(prepared)


def _extract(lake: Lake, url: str, into: Path) -> None:
    try:
        with tarfile.open(fileobj=io.BytesIO(lake.read(url)), mode="r:gz") as archive:
            archive.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise FogbankError(
            f"The model data at {url} could not be extracted ({error}); ModelDataUrl must "
            "name a model.tar.gz."
        ) from None


def _find_code(
    lake: Lake, container: Container, root: Path, model_dir: Path
) -> tuple[Path, str] | None:
    """The user's inference code (SAGEMAKER_SUBMIT_DIRECTORY fetched when it is in S3),
    or None when the container carries none."""
    environ = dict(container.environment)
    submit = environ.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    if submit.startswith("s3://"):  # the SDK's sourcedir.tar.gz, uploaded beside the model
        code_dir = root / "code"
        code_dir.mkdir()
        _extract(lake, submit, code_dir)
        environ["SAGEMAKER_SUBMIT_DIRECTORY"] = str(code_dir)
    elif submit.startswith(_CODE_ROOT):
        environ["SAGEMAKER_SUBMIT_DIRECTORY"] = str(model_dir / "code") + submit[len(_CODE_ROOT) :]
    return resolve_program(model_dir, environ)


def docker_engine() -> str | None:
    """The Docker CLI, when one is on PATH and its engine answers; else None."""
    found = shutil.which("docker")
    if found is None:
        return None
    try:
        answered = subprocess.run(
            [found, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found if answered.returncode == 0 else None


# ---------------------------------------------------------------------- processes


@dataclass
class Worker:
    """One container's process, serving on a loopback port, and the kept-alive
    connections to it (a new TCP connection per request would cost more than a small
    model's predict)."""

    hostname: str
    port: int
    process: subprocess.Popen[bytes]
    idle: list[http.client.HTTPConnection] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    docker: tuple[str, str] | None = None
    """The Docker CLI and the container's name, for a worker running an image."""

    def alive(self) -> bool:
        return self.process.poll() is None

    def close_connections(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for connection in idle:
            connection.close()


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    hostname: str
    """The container that answered (the one that failed, for a status of 400 and up)."""


@dataclass
class Instance:
    """One instance: a worker per container, in pipeline order."""

    workers: list[Worker]
    mode: str = SINGLE

    def alive(self) -> bool:
        return all(w.alive() for w in self.workers)

    def invoke(
        self,
        body: bytes,
        headers: Mapping[str, str],
        *,
        target_hostname: str | None = None,
        timeout: float | None = None,
    ) -> Reply:
        """POST /invocations through the pipeline (or to the one container named), each
        container given ``timeout`` seconds (SageMaker's 60 by default). Raises OSError
        when a worker cannot be reached, TimeoutError when one does not answer in time."""
        if timeout is None:
            timeout = INVOKE_TIMEOUT_SECONDS
        if self.mode == DIRECT:
            chosen = [w for w in self.workers if w.hostname == target_hostname]
            return _reply(chosen[0], body, dict(headers), timeout)
        accept = headers.get("Accept")
        request = {k: v for k, v in headers.items() if k != "Accept"}
        reply = Reply(200, {}, body, "")
        for position, worker in enumerate(self.workers):
            last = position == len(self.workers) - 1
            step = dict(request)
            if last and accept:
                step["Accept"] = accept
            reply = _reply(worker, reply.body, step, timeout)
            if reply.status >= 400 or last:
                return reply
            request["Content-Type"] = reply.headers.get(
                "content-type", request.get("Content-Type", "application/octet-stream")
            )
        return reply

    def execution_parameters(self) -> dict[str, Any]:
        """GET /execution-parameters of the first container; {} where it has none."""
        worker = self.workers[0]
        connection = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=10)
        try:
            connection.request("GET", "/execution-parameters")
            response = connection.getresponse()
            raw = response.read()
            if response.status != 200:
                return {}
            found = json.loads(raw)
            return found if isinstance(found, dict) else {}
        except (OSError, ValueError):
            return {}
        finally:
            connection.close()

    def stop(self) -> None:
        stop_workers(self.workers)

    def kill(self) -> None:
        """SIGKILL: for an instance that stopped answering."""
        for worker in self.workers:
            worker.close_connections()
            if worker.alive():
                worker.process.kill()
            worker.process.wait()
            _remove_container(worker)


def stop_workers(workers: list[Worker]) -> None:
    """SIGTERM, then SIGKILL after 30 s (as SageMaker stops a container); a container
    run from an image is removed with it."""
    for worker in workers:
        worker.close_connections()
    for worker in workers:
        if worker.alive():
            worker.process.terminate()
    for worker in workers:
        try:
            worker.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()
        _remove_container(worker)


def _remove_container(worker: Worker) -> None:
    if worker.docker is not None:
        cli, name = worker.docker
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run([cli, "rm", "--force", name], capture_output=True, timeout=60)


def start_instance(
    prepared: tuple[Prepared, ...],
    mode: str,
    log_dir: Path,
    environment: Mapping[str, str] | None = None,
) -> Instance:
    """One worker per container, each answering /ping before this returns; on failure
    the workers started are stopped and the error names the container and its log."""
    workers: list[Worker] = []
    try:
        for item in prepared:
            workers.append(start_worker(item, log_dir, environment))
        for worker in workers:
            wait_for_ping(worker, log_dir)
    except BaseException:
        stop_workers(workers)
        raise
    return Instance(workers, mode)


def start_worker(
    item: Prepared, log_dir: Path, environment: Mapping[str, str] | None = None
) -> Worker:
    from fogbank.gateway.server import free_port

    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SAGEMAKER_BIND_TO_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    env.update(item.container.environment)
    env.update(environment or {})
    if item.docker is not None:
        return _start_image(item, item.docker, port, log_dir, environment)
    command = [sys.executable, "-m", "fogbank.ml.hosting.serve", "--model-dir", str(item.model_dir)]
    if item.code is None:
        command += ["--algorithm", str(item.container.algorithm)]
    else:
        code_dir, program = item.code
        command += ["--program", program, "--code-dir", str(code_dir)]
        env["SAGEMAKER_SUBMIT_DIRECTORY"] = str(code_dir)
    command += ["--port", str(port), "--host", "127.0.0.1"]
    with (log_dir / f"{item.container.hostname}-{port}.log").open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
    return Worker(item.container.hostname, port, process)


def _start_image(
    item: Prepared,
    docker: str,
    port: int,
    log_dir: Path,
    environment: Mapping[str, str] | None,
) -> Worker:
    """``docker run <image> serve`` as SageMaker runs a container: the model mounted
    read-only at /opt/ml/model, the container's Environment set, port 8080 published on
    the loopback port fogbank calls."""
    name = f"fogbank-{item.container.hostname}-{port}-{os.getpid()}"
    command = [
        docker,
        "run",
        "--rm",
        "--name",
        name,
        "--publish",
        f"127.0.0.1:{port}:8080",
        "--volume",
        f"{item.model_dir}:/opt/ml/model:ro",
    ]
    for key, value in {**item.container.environment, **(environment or {})}.items():
        command += ["--env", f"{key}={value}"]
    command += [item.container.image, "serve"]
    with (log_dir / f"{item.container.hostname}-{port}.log").open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    return Worker(item.container.hostname, port, process, docker=(docker, name))


def wait_for_ping(worker: Worker, log_dir: Path | None = None) -> None:
    where = f" (its log: {log_dir / f'{worker.hostname}-{worker.port}.log'})" if log_dir else ""
    deadline = time.monotonic() + PING_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not worker.alive():
            raise FogbankError(
                f"The container {worker.hostname} exited with code "
                f"{worker.process.returncode} before answering /ping{where}: "
                f"{_log_tail(log_dir, worker)}"
            )
        with contextlib.suppress(OSError):
            connection = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=2)
            try:
                connection.request("GET", "/ping")
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    return
            finally:
                connection.close()
        time.sleep(0.05)
    raise FogbankError(
        f"The container {worker.hostname} did not answer /ping within "
        f"{PING_TIMEOUT_SECONDS:.0f} s{where}."
    )


def _log_tail(log_dir: Path | None, worker: Worker) -> str:
    if log_dir is None:
        return ""
    path = log_dir / f"{worker.hostname}-{worker.port}.log"
    with contextlib.suppress(OSError):
        lines = path.read_text(errors="replace").strip().splitlines()
        return " | ".join(lines[-3:])[-600:]
    return ""


def _reply(worker: Worker, body: bytes, headers: dict[str, str], timeout: float) -> Reply:
    """POST /invocations on a kept-alive connection; one the worker closed while it was
    idle is replaced by a fresh one and the request sent again."""
    while True:
        with worker.lock:
            connection = worker.idle.pop() if worker.idle else None
        reused = connection is not None
        if connection is None:
            connection = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=timeout)
        else:
            connection.timeout = timeout
            if connection.sock is not None:
                connection.sock.settimeout(timeout)
        try:
            connection.request("POST", "/invocations", body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            connection.close()
            if reused:
                continue
            raise
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            with worker.lock:
                worker.idle.append(connection)
        return Reply(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            data,
            worker.hostname,
        )
