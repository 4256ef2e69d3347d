"""SageMaker endpoints: CreateEndpoint, DescribeEndpoint, ListEndpoints, DeleteEndpoint,
and InvokeEndpoint's routing.

An endpoint runs its configuration's production variants; each variant instance is a
worker process (``python -m fogbank.ml.hosting.serve``) serving the model on a loopback
port of its own, with the model.tar.gz extracted once per variant. CreateEndpoint
answers at once with the endpoint Creating; a thread fetches the artifacts, starts the
instances and waits for each to answer ``/ping``, then the endpoint is InService (or
Failed with the reason). The record in the control plane is the truth and the
processes are this fogbank's to run: a fogbank that finds an InService endpoint with no
workers (after a restart) starts them on the first request, and a request that finds a
dead instance restarts it and is retried on a healthy one.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import random
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from fogbank.core.clock import Clock, SystemClock
from fogbank.core.errors import FogbankError, ModelError, ValidationError, ValidationException
from fogbank.core.store import ControlPlaneStore
from fogbank.lake.engine import Lake
from fogbank.ml.hosting.capture import DataCapture
from fogbank.ml.hosting.engine import Hosting
from fogbank.ml.listing import page
from fogbank.ml.training.images import REPOSITORIES

SERVICE = "sagemaker"
KIND = "endpoint"
PING_TIMEOUT_SECONDS = 240.0  # SageMaker: /ping must pass within 4 minutes of start
INVOKE_TIMEOUT_SECONDS = 60.0
SORT_KEYS = ("Name", "CreationTime", "Status")


@dataclass(frozen=True)
class Variant:
    """One production variant as DescribeEndpoint reports it."""

    name: str
    model: str
    image: str
    algorithm: str
    weight: float
    instances: int
    model_data_url: str
    environment: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoint:
    name: str
    arn: str
    config: str
    status: str
    variants: tuple[Variant, ...]
    creation_time: datetime
    last_modified_time: datetime
    failure_reason: str | None = None
    capture: dict[str, Any] | None = None
    """The configuration's DataCaptureConfig, kept: the endpoint outlives its configuration."""

    def to_body(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arn": self.arn,
            "config": self.config,
            "status": self.status,
            "variants": [v.__dict__ for v in self.variants],
            "creation_time": self.creation_time.isoformat(),
            "last_modified_time": self.last_modified_time.isoformat(),
            "failure_reason": self.failure_reason,
            "capture": self.capture,
        }

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Endpoint:
        return cls(
            body["name"],
            body["arn"],
            body["config"],
            body["status"],
            tuple(Variant(**v) for v in body["variants"]),
            datetime.fromisoformat(body["creation_time"]),
            datetime.fromisoformat(body["last_modified_time"]),
            body.get("failure_reason"),
            body.get("capture"),
        )


@dataclass(frozen=True)
class Invocation:
    """What InvokeEndpoint answers."""

    body: bytes
    content_type: str
    variant: str
    custom_attributes: str | None


@dataclass
class Worker:
    port: int
    process: subprocess.Popen[bytes]

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class Fleet:
    """The running instances of one endpoint, by variant."""

    workers: dict[str, list[Worker]] = field(default_factory=dict)
    turn: int = 0

    def stop(self) -> None:
        for workers in self.workers.values():
            for worker in workers:
                if worker.alive():
                    worker.process.terminate()
        for workers in self.workers.values():
            for worker in workers:
                try:
                    worker.process.wait(timeout=30)  # SageMaker: SIGKILL after 30 s
                except subprocess.TimeoutExpired:
                    worker.process.kill()
                    worker.process.wait()


class Endpoints:
    """The endpoints of one fogbank home and the worker processes serving them."""

    def __init__(
        self,
        root: Path,
        store: ControlPlaneStore,
        lake: Lake,
        hosting: Hosting,
        *,
        clock: Clock | None = None,
        account_id: str = "000000000000",
        region: str = "us-east-1",
    ) -> None:
        self._root = root
        self._store = store
        self._lake = lake
        self._hosting = hosting
        self._clock = clock or SystemClock()
        self._account_id = account_id
        self._region = region
        self._lock = threading.RLock()
        self._fleets: dict[str, Fleet] = {}
        self._random = random.Random()

    # ------------------------------------------------------------------ control plane

    def create_endpoint(self, name: str, config_name: str, tags: dict[str, str]) -> Endpoint:
        """CreateEndpoint: Creating now, InService once every instance answers /ping."""
        arn = self._hosting.arn(KIND, name)
        if self._store.find_resource(SERVICE, KIND, name) is not None:
            raise ValidationException(f'Cannot create already existing endpoint "{arn}".')
        config = self._hosting.describe_endpoint_config(config_name)
        variants = tuple(self._variant(v) for v in config.request["ProductionVariants"])
        now = self._clock.now()
        endpoint = Endpoint(
            name,
            arn,
            config.name,
            "Creating",
            variants,
            now,
            now,
            capture=config.request.get("DataCaptureConfig"),
        )
        self._store.put_resource(
            SERVICE, KIND, name, arn, endpoint.to_body(), state="Creating", create_only=True
        )
        if tags:
            self._store.tag_resource(arn, tags)
        thread = threading.Thread(
            target=self._deploy, args=(endpoint,), name=f"endpoint-{name}", daemon=True
        )
        thread.start()
        return endpoint

    def _variant(self, spec: dict[str, Any]) -> Variant:
        model = self._hosting.describe_model(spec["ModelName"])
        containers = model.containers
        if len(containers) != 1:
            raise ValidationException(
                f"Model {model.name!r} is an inference pipeline of {len(containers)} "
                "containers; fogbank serves single-container models so far."
            )
        image = str(containers[0].get("Image", ""))
        repository = image.split("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
        algorithm = REPOSITORIES.get(repository) if ".dkr.ecr." in image else None
        if algorithm is None:
            raise ValidationException(
                f"Model {model.name!r} uses the image {image!r}, which is not a SageMaker "
                "built-in algorithm: serving it needs a container engine, and fogbank's "
                "endpoints run the built-in algorithms' serving natively."
            )
        if not containers[0].get("ModelDataUrl"):
            raise ValidationException(
                f"Model {model.name!r} has no ModelDataUrl: a built-in algorithm serves "
                "the model.tar.gz a training job wrote."
            )
        return Variant(
            spec["VariantName"],
            model.name,
            image,
            algorithm,
            float(spec.get("InitialVariantWeight", 1.0)),
            int(spec.get("InitialInstanceCount", 1)),
            str(containers[0]["ModelDataUrl"]),
            dict(containers[0].get("Environment") or {}),
        )

    def _deploy(self, endpoint: Endpoint) -> None:
        try:
            fleet = self._start_fleet(endpoint)
        except Exception as error:  # the endpoint fails with the reason, never hangs
            reason = str(getattr(error, "message", error))[:1024]
            self._update(
                endpoint.name,
                lambda e: replace(
                    e, status="Failed", failure_reason=reason, last_modified_time=self._clock.now()
                ),
            )
            return
        with self._lock:
            self._fleets[endpoint.name] = fleet
        self._update(
            endpoint.name,
            lambda e: replace(e, status="InService", last_modified_time=self._clock.now()),
        )

    def _models_root(self, endpoint: Endpoint) -> Path:
        """Where an endpoint's variants keep their models: one folder per configuration,
        so a blue/green update never overwrites the models the old fleet serves."""
        return self._root / endpoint.name / endpoint.config

    def _start_fleet(self, endpoint: Endpoint) -> Fleet:
        fleet = Fleet()
        try:
            for variant in endpoint.variants:
                model_dir = self._model_dir(self._models_root(endpoint), variant)
                fleet.workers[variant.name] = [
                    self._start_worker(variant, model_dir) for _ in range(variant.instances)
                ]
            for workers in fleet.workers.values():
                for worker in workers:
                    _wait_for_ping(worker)
        except BaseException:
            fleet.stop()
            raise
        return fleet

    def _model_dir(self, root: Path, variant: Variant) -> Path:
        """The variant's model.tar.gz, fetched from the lake and extracted once."""
        url = variant.model_data_url
        folder = root / variant.name / "model"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        try:
            with tarfile.open(fileobj=io.BytesIO(self._lake.read(url)), mode="r:gz") as archive:
                archive.extractall(folder, filter="data")
        except (tarfile.TarError, OSError) as error:
            raise FogbankError(
                f"The model data at {url} could not be extracted ({error}); ModelDataUrl "
                "must name a model.tar.gz."
            ) from None
        return folder

    def _start_worker(self, variant: Variant, model_dir: Path) -> Worker:
        from fogbank.gateway.server import free_port

        port = free_port()
        log = (model_dir.parent / f"instance-{port}.log").open("ab")
        env = {**os.environ, "SAGEMAKER_BIND_TO_PORT": str(port), "PYTHONUNBUFFERED": "1"}
        env.update(variant.environment)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fogbank.ml.hosting.serve",
                "--model-dir",
                str(model_dir),
                "--algorithm",
                variant.algorithm,
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        log.close()
        return Worker(port, process)

    def update_endpoint(self, name: str, config_name: str) -> Endpoint:
        """UpdateEndpoint, blue/green: the new configuration's fleet is started and healthy
        before traffic moves to it, then the old fleet is stopped. The endpoint is
        Updating meanwhile and keeps answering on the old fleet; a fleet that cannot start
        leaves the endpoint InService on the old one, with the reason."""
        endpoint = self._require_in_service(name)
        config = self._hosting.describe_endpoint_config(config_name)
        variants = tuple(self._variant(v) for v in config.request["ProductionVariants"])
        target = replace(
            endpoint,
            config=config.name,
            variants=variants,
            failure_reason=None,
            capture=config.request.get("DataCaptureConfig"),
        )
        self._update(
            name, lambda e: replace(e, status="Updating", last_modified_time=self._clock.now())
        )
        threading.Thread(
            target=self._redeploy, args=(endpoint, target), name=f"update-{name}", daemon=True
        ).start()
        return target

    def update_weights_and_capacities(self, name: str, desired: list[dict[str, Any]]) -> Endpoint:
        """UpdateEndpointWeightsAndCapacities: new weights now, instance counts by starting
        or stopping instances of the variants named, without a new fleet."""
        endpoint = self._require_in_service(name)
        by_name = {v.name: v for v in endpoint.variants}
        changed = dict(by_name)
        for entry in desired:
            variant = by_name.get(entry["VariantName"])
            if variant is None:
                raise ValidationException(
                    f"The variant {entry['VariantName']!r} is not a production variant of "
                    f"endpoint {name}; it has {', '.join(by_name)}."
                )
            changed[variant.name] = replace(
                variant,
                weight=float(entry.get("DesiredWeight", variant.weight)),
                instances=int(entry.get("DesiredInstanceCount", variant.instances)),
            )
        target = replace(
            endpoint,
            variants=tuple(changed[v.name] for v in endpoint.variants),
            failure_reason=None,
        )
        self._update(
            name, lambda e: replace(e, status="Updating", last_modified_time=self._clock.now())
        )
        threading.Thread(
            target=self._rescale, args=(endpoint, target), name=f"scale-{name}", daemon=True
        ).start()
        return target

    def _require_in_service(self, name: str) -> Endpoint:
        endpoint = self.describe_endpoint(name)
        if endpoint.status != "InService":
            raise ValidationException(
                f'Cannot update in-progress endpoint "{endpoint.arn}": it is {endpoint.status}; '
                "wait for InService."
            )
        return endpoint

    def _redeploy(self, old: Endpoint, target: Endpoint) -> None:
        try:
            fleet = self._start_fleet(target)
        except Exception as error:  # the old fleet keeps serving; the reason is kept
            reason = str(getattr(error, "message", error))[:1024]
            self._update(
                old.name,
                lambda e: replace(
                    e,
                    status="InService",
                    failure_reason=f"Update to {target.config} failed: {reason}",
                    last_modified_time=self._clock.now(),
                ),
            )
            return
        with self._lock:
            previous = self._fleets.get(old.name)
            self._fleets[old.name] = fleet
        self._update(
            old.name,
            lambda e: replace(target, status="InService", last_modified_time=self._clock.now()),
        )
        if previous is not None:  # drained: new requests already go to the new fleet
            previous.stop()

    def _rescale(self, old: Endpoint, target: Endpoint) -> None:
        try:
            with self._lock:
                fleet = self._fleets.get(old.name)
            if fleet is not None:
                for variant in target.variants:
                    workers = fleet.workers[variant.name]
                    model_dir = self._models_root(old) / variant.name / "model"
                    while len(workers) < variant.instances:
                        worker = self._start_worker(variant, model_dir)
                        _wait_for_ping(worker)
                        workers.append(worker)
                    while len(workers) > variant.instances:
                        Fleet(workers={variant.name: [workers.pop()]}).stop()
        except Exception as error:
            reason = str(getattr(error, "message", error))[:1024]
            self._update(
                old.name,
                lambda e: replace(
                    e,
                    status="InService",
                    failure_reason=reason,
                    last_modified_time=self._clock.now(),
                ),
            )
            return
        self._update(
            old.name,
            lambda e: replace(target, status="InService", last_modified_time=self._clock.now()),
        )

    def describe_endpoint(self, name: str) -> Endpoint:
        found = self._store.find_resource(SERVICE, KIND, name)
        if found is None:
            raise ValidationException(f'Could not find endpoint "{self._hosting.arn(KIND, name)}".')
        return Endpoint.from_body(found.body)

    def list_endpoints(
        self,
        *,
        max_results: int = 10,
        next_token: str | None = None,
        name_contains: str | None = None,
        status_equals: str | None = None,
        sort_by: str = "CreationTime",
        sort_order: str = "Descending",
    ) -> tuple[list[Endpoint], str | None]:
        if sort_by not in SORT_KEYS:
            raise ValidationException(
                f"SortBy must be one of {', '.join(SORT_KEYS)}; got {sort_by!r}."
            )
        endpoints = [Endpoint.from_body(r.body) for r in self._store.all_resources(SERVICE, KIND)]
        kept = [
            e
            for e in endpoints
            if (name_contains is None or name_contains.lower() in e.name.lower())
            and (status_equals is None or e.status == status_equals)
        ]
        key: Callable[[Endpoint], Any] = {
            "Name": lambda e: (e.name,),
            "CreationTime": lambda e: (e.creation_time, e.name),
            "Status": lambda e: (e.status, e.name),
        }[sort_by]
        return page(
            kept,
            key=key,
            descending=sort_order == "Descending",
            next_token=next_token,
            max_results=max_results,
            operation="ListEndpoints",
        )

    def delete_endpoint(self, name: str) -> None:
        """DeleteEndpoint: the instances are stopped (SIGTERM, SIGKILL after 30 s)."""
        self.describe_endpoint(name)
        with self._lock:
            fleet = self._fleets.pop(name, None)
        if fleet is not None:
            fleet.stop()
        self._store.delete_resource(SERVICE, KIND, name)
        shutil.rmtree(self._root / name, ignore_errors=True)

    # ------------------------------------------------------------------ data plane

    def invoke(
        self,
        name: str,
        body: bytes,
        *,
        content_type: str | None,
        accept: str | None,
        custom_attributes: str | None = None,
        target_variant: str | None = None,
    ) -> Invocation:
        """InvokeEndpoint: a variant by weight (or TargetVariant), an instance in turn; a
        dead instance is restarted and the request retried on another."""
        found = self._store.find_resource(SERVICE, KIND, name)
        if found is None:
            raise ValidationError(f"Endpoint {name} of account {self._account_id} not found.")
        endpoint = Endpoint.from_body(found.body)
        if endpoint.status not in ("InService", "Updating"):
            raise ValidationError(
                f"Endpoint {name} of account {self._account_id} is {endpoint.status}, not "
                "InService: wait for DescribeEndpoint to say InService."
            )
        variant = self._choose(endpoint, target_variant)
        headers = {"Content-Type": content_type or "application/octet-stream"}
        if accept:
            headers["Accept"] = accept
        if custom_attributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
        for attempt in range(3):
            worker = self._worker(endpoint, variant, fresh=attempt > 0)
            try:
                status, reply_headers, reply = _post(worker.port, body, headers)
            except OSError:
                continue  # the instance is gone: the next attempt restarts it
            if status >= 400:
                message = reply.decode("utf-8", errors="replace")[:2048]
                raise ModelError(
                    f"Received client error ({status}) from primary with message "
                    f'"{message}". See the instance log under {self._root / name}.',
                    OriginalStatusCode=str(status),
                    OriginalMessage=message,
                    LogStreamArn=(
                        f"arn:aws:logs:{self._region}:{self._account_id}:log-group:"
                        f"/aws/sagemaker/Endpoints/{name}"
                    ),
                )
            answer = Invocation(
                reply,
                reply_headers.get("content-type", accept or "application/json"),
                variant.name,
                reply_headers.get("x-amzn-sagemaker-custom-attributes"),
            )
            self._capture(endpoint, answer, (headers["Content-Type"], body))
            return answer
        raise ModelError(
            f"Endpoint {name}'s variant {variant.name} has no instance that answers; the "
            "instances were restarted three times. See their logs under "
            f"{self._root / name / variant.name}."
        )

    def _capture(self, endpoint: Endpoint, answer: Invocation, request: tuple[str, bytes]) -> None:
        """DataCaptureConfig: the sampled calls, as Model Monitor reads them."""
        capture = DataCapture(endpoint.capture, self._random)
        if not capture.sampled():
            return
        when = self._clock.now()
        line = capture.record(when, request, (answer.content_type, answer.body))
        capture.write(self._lake, endpoint.name, answer.variant, when, line)

    def _choose(self, endpoint: Endpoint, target: str | None) -> Variant:
        if target is not None:
            for variant in endpoint.variants:
                if variant.name == target:
                    return variant
            raise ValidationError(
                f"The variant {target!r} is not a production variant of endpoint "
                f"{endpoint.name}; it has {', '.join(v.name for v in endpoint.variants)}."
            )
        weights = [v.weight for v in endpoint.variants]
        if sum(weights) <= 0:
            raise ValidationError(
                f"Every production variant of endpoint {endpoint.name} has weight 0: set a "
                "weight above 0, or name one with TargetVariant."
            )
        return self._random.choices(endpoint.variants, weights=weights)[0]

    def _worker(self, endpoint: Endpoint, variant: Variant, *, fresh: bool) -> Worker:
        with self._lock:
            fleet = self._fleets.get(endpoint.name)
            if fleet is None:  # InService in the store, no workers here: start them
                fleet = self._start_fleet(endpoint)
                self._fleets[endpoint.name] = fleet
            workers = fleet.workers[variant.name]
            fleet.turn += 1
            index = fleet.turn % len(workers)
            worker = workers[index]
            if fresh or not worker.alive():
                for other in workers:
                    if other is not worker and other.alive() and not fresh:
                        return other
                if worker.alive():
                    worker.process.kill()
                    worker.process.wait()
                model_dir = self._models_root(endpoint) / variant.name / "model"
                worker = self._start_worker(variant, model_dir)
                _wait_for_ping(worker)
                workers[index] = worker
            return worker

    # ------------------------------------------------------------------ plumbing

    def _update(self, name: str, change: Callable[[Endpoint], Endpoint]) -> None:
        with self._lock:
            found = self._store.find_resource(SERVICE, KIND, name)
            if found is None:  # deleted meanwhile
                return
            changed = change(Endpoint.from_body(found.body))
            self._store.put_resource(
                SERVICE, KIND, name, changed.arn, changed.to_body(), state=changed.status
            )

    def close(self) -> None:
        with self._lock:
            fleets = list(self._fleets.values())
            self._fleets.clear()
        for fleet in fleets:
            fleet.stop()

    def reset(self) -> None:
        self.close()
        shutil.rmtree(self._root, ignore_errors=True)


def _post(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=INVOKE_TIMEOUT_SECONDS)
    try:
        connection.request("POST", "/invocations", body=body, headers=headers)
        response = connection.getresponse()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read(),
        )
    finally:
        connection.close()


def _wait_for_ping(worker: Worker) -> None:
    deadline = time.monotonic() + PING_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not worker.alive():
            raise FogbankError(
                f"The instance on port {worker.port} exited with code "
                f"{worker.process.returncode} before answering /ping; see its log."
            )
        with contextlib.suppress(OSError):
            connection = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=2)
            try:
                connection.request("GET", "/ping")
                response = connection.getresponse()
                response.read()
                response.close()
                if response.status == 200:
                    return
            finally:
                connection.close()
        time.sleep(0.1)
    raise FogbankError(
        f"The instance on port {worker.port} did not answer /ping within "
        f"{PING_TIMEOUT_SECONDS:.0f} s."
    )
