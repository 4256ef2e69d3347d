"""SageMaker endpoints: CreateEndpoint, DescribeEndpoint, ListEndpoints, DeleteEndpoint,
and InvokeEndpoint's routing.

An endpoint runs its configuration's production variants; each variant instance is a
worker process per container of the model (see :mod:`fogbank.ml.hosting.instances`:
built-in algorithms, the user's inference code, serial and direct pipelines), with the
model.tar.gz extracted once per variant. CreateEndpoint
answers at once with the endpoint Creating; a thread fetches the artifacts, starts the
instances and waits for each to answer ``/ping``, then the endpoint is InService (or
Failed with the reason). The record in the control plane is the truth and the
processes are this fogbank's to run: a fogbank that finds an InService endpoint with no
workers (after a restart) starts them on the first request, and a request that finds a
dead instance restarts it and is retried on a healthy one.
"""

from __future__ import annotations

import random
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from fogbank.core.clock import Clock, SystemClock
from fogbank.core.errors import ModelError, ValidationError, ValidationException
from fogbank.core.store import ControlPlaneStore
from fogbank.lake.engine import Lake
from fogbank.ml.hosting.capture import DataCapture
from fogbank.ml.hosting.engine import Hosting
from fogbank.ml.hosting.instances import (
    DIRECT,
    SERIAL,
    SINGLE,
    Instance,
    Prepared,
    ServedModel,
    prepare,
    resolve_model,
    start_instance,
    stop_workers,
)
from fogbank.ml.listing import page

SERVICE = "sagemaker"
KIND = "endpoint"
METRICS_NAMESPACE = "AWS/SageMaker"
CACHE_SECONDS = 1.0
SORT_KEYS = ("Name", "CreationTime", "Status")


@dataclass(frozen=True)
class Variant:
    """One production variant as DescribeEndpoint reports it."""

    name: str
    weight: float
    instances: int
    model: ServedModel
    """The model's containers as they were when the variant was deployed: the endpoint
    keeps serving them after the model or the configuration is deleted, as on AWS."""

    def to_body(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "weight": self.weight,
            "instances": self.instances,
            "model": self.model.to_body(),
        }

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Variant:
        return cls(
            body["name"],
            body["weight"],
            body["instances"],
            ServedModel.from_body(body["model"]),
        )


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
            "variants": [v.to_body() for v in self.variants],
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
            tuple(Variant.from_body(v) for v in body["variants"]),
            datetime.fromisoformat(body["creation_time"]),
            datetime.fromisoformat(body["last_modified_time"]),
            body.get("failure_reason"),
            body.get("capture"),
        )


@dataclass(frozen=True)
class VariantMetrics:
    """A variant's invocations so far, as `fogbank endpoints ls` shows them."""

    invocations: int
    errors_4xx: int
    errors_5xx: int
    model_latency_us: float | None
    overhead_latency_us: float | None


@dataclass(frozen=True)
class Invocation:
    """What InvokeEndpoint answers."""

    body: bytes
    content_type: str
    variant: str
    custom_attributes: str | None


@dataclass
class Fleet:
    """The running instances of one endpoint, by variant, and each variant's prepared
    containers (the files its instances start from)."""

    instances: dict[str, list[Instance]] = field(default_factory=dict)
    prepared: dict[str, tuple[Prepared, ...]] = field(default_factory=dict)
    turn: int = 0
    replacing: set[int] = field(default_factory=set)
    """ids of dead instances a fresh one is being started for."""

    def stop(self) -> None:
        stop_workers([w for group in self.instances.values() for i in group for w in i.workers])


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
        # InvokeEndpoint reads the endpoint from here, not the store, for a second at a
        # time: this process writes every change through _update, so only a change made
        # by another process on the same home can be seen up to a second late.
        self._known: dict[str, tuple[float, Endpoint]] = {}
        # Invocation metrics gather here and are written once a second, in one
        # transaction: a SQLite commit per call would cost more than the call.
        self._pending: list[tuple[dict[str, float], dict[str, str], datetime]] = []
        self._pending_lock = threading.Lock()
        self._flusher: threading.Thread | None = None
        self._closing = threading.Event()

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
        return Variant(
            spec["VariantName"],
            float(spec.get("InitialVariantWeight", 1.0)),
            int(spec.get("InitialInstanceCount", 1)),
            resolve_model(self._hosting.describe_model(spec["ModelName"])),
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
                folder = self._models_root(endpoint) / variant.name
                prepared = prepare(self._lake, folder, variant.model)
                fleet.prepared[variant.name] = prepared
                fleet.instances[variant.name] = [
                    start_instance(prepared, variant.model.mode, folder / "logs")
                    for _ in range(variant.instances)
                ]
        except BaseException:
            fleet.stop()
            raise
        return fleet

    def _start_instance(self, endpoint: Endpoint, fleet: Fleet, variant: Variant) -> Instance:
        folder = self._models_root(endpoint) / variant.name
        return start_instance(fleet.prepared[variant.name], variant.model.mode, folder / "logs")

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
                    instances = fleet.instances[variant.name]
                    while len(instances) < variant.instances:
                        instances.append(self._start_instance(old, fleet, variant))
                    while len(instances) > variant.instances:
                        instances.pop().stop()
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
        with self._lock:
            self._store.delete_resource(SERVICE, KIND, name)
            self._known.pop(name, None)
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
        target_container: str | None = None,
    ) -> Invocation:
        """InvokeEndpoint: a variant by weight (or TargetVariant), an instance in turn; a
        dead instance is restarted and the request retried on another. Each call adds
        to the variant's Invocations, Invocation4XXErrors / Invocation5XXErrors,
        ModelLatency and OverheadLatency (microseconds, as CloudWatch has them)."""
        started = time.perf_counter()
        endpoint = self._lookup(name)
        if endpoint is None:
            raise ValidationError(f"Endpoint {name} of account {self._account_id} not found.")
        if endpoint.status not in ("InService", "Updating"):
            raise ValidationError(
                f"Endpoint {name} of account {self._account_id} is {endpoint.status}, not "
                "InService: wait for DescribeEndpoint to say InService."
            )
        variant = self._choose(endpoint, target_variant)
        _check_target_container(endpoint, variant, target_container)
        headers = {"Content-Type": content_type or "application/octet-stream"}
        if accept:
            headers["Accept"] = accept
        if custom_attributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
        failed: Instance | None = None
        for _ in range(3):
            instance = self._instance(endpoint, variant, failed)
            model_started = time.perf_counter()
            try:
                reply = instance.invoke(body, headers, target_hostname=target_container)
            except TimeoutError:
                self._count(endpoint, variant, 500, started, model_started)
                raise ModelError(
                    'Received server error (0) from primary with message "Your invocation '
                    f"timed out while waiting for a response from container "
                    f"{target_container or 'primary'}. Review the latency metrics for each "
                    'container in Amazon CloudWatch, resolve the issue, and try again."',
                    OriginalStatusCode="0",
                    LogStreamArn=self._log_stream(name),
                ) from None
            except OSError:
                failed = instance  # the instance is gone: restarted before the next try
                continue
            self._count(endpoint, variant, reply.status, started, model_started)
            if reply.status >= 400:
                message = reply.body.decode("utf-8", errors="replace")[:2048]
                kind = "client" if reply.status < 500 else "server"
                source = "primary" if variant.model.mode == SINGLE else reply.hostname
                raise ModelError(
                    f"Received {kind} error ({reply.status}) from {source} with message "
                    f'"{message}". See the instance logs under '
                    f"{self._models_root(endpoint) / variant.name / 'logs'}.",
                    OriginalStatusCode=str(reply.status),
                    OriginalMessage=message,
                    LogStreamArn=self._log_stream(name),
                )
            answer = Invocation(
                reply.body,
                reply.headers.get("content-type", accept or "application/json"),
                variant.name,
                reply.headers.get("x-amzn-sagemaker-custom-attributes"),
            )
            self._capture(endpoint, answer, (headers["Content-Type"], body))
            return answer
        self._count(endpoint, variant, 500, started, time.perf_counter())
        raise ModelError(
            f"Endpoint {name}'s variant {variant.name} has no instance that answers; the "
            "instances were restarted three times. See their logs under "
            f"{self._models_root(endpoint) / variant.name / 'logs'}."
        )

    def worker_pids(self, name: str) -> dict[str, list[list[int]]]:
        """The process ids serving the endpoint in this process: per variant, per
        instance, one per container (empty before the first request after a restart)."""
        with self._lock:
            fleet = self._fleets.get(name)
            if fleet is None:
                return {}
            return {
                variant: [[w.process.pid for w in i.workers] for i in instances]
                for variant, instances in fleet.instances.items()
            }

    def log_files(self, name: str) -> list[tuple[str, Path, int]]:
        """The endpoint's instance logs, as CloudWatch Logs streams: (``<variant>/
        <container>-<port>``, the file, its creation time in ms), for every fleet it has
        run (a blue/green update keeps the old fleet's logs)."""
        found = []
        for path in sorted((self._root / name).glob("*/*/logs/*.log")):
            variant = path.parent.parent.name
            created = int(path.stat().st_ctime * 1000)
            found.append((f"{variant}/{path.stem}", path, created))
        return found

    def _log_stream(self, name: str) -> str:
        return (
            f"arn:aws:logs:{self._region}:{self._account_id}:log-group:"
            f"/aws/sagemaker/Endpoints/{name}"
        )

    def _count(
        self,
        endpoint: Endpoint,
        variant: Variant,
        status: int,
        started: float,
        model_started: float,
    ) -> None:
        now = time.perf_counter()
        model_us = (now - model_started) * 1e6
        entry = (
            {
                "Invocations": 1.0,
                "Invocation4XXErrors": 1.0 if 400 <= status < 500 else 0.0,
                "Invocation5XXErrors": 1.0 if status >= 500 else 0.0,
                "ModelLatency": model_us,
                "OverheadLatency": max((now - started) * 1e6 - model_us, 0.0),
            },
            {"EndpointName": endpoint.name, "VariantName": variant.name},
            self._clock.now(),
        )
        with self._pending_lock:
            self._pending.append(entry)
            if self._flusher is None:
                self._flusher = threading.Thread(
                    target=self._flush_every_second, name="endpoint-metrics", daemon=True
                )
                self._flusher.start()

    def _flush_every_second(self) -> None:
        while not self._closing.wait(1.0):
            self.flush_metrics()

    def flush_metrics(self) -> None:
        """Write the invocation metrics gathered since the last write."""
        with self._pending_lock:
            batch, self._pending = self._pending, []
        if batch:
            self._store.put_metric_batch(METRICS_NAMESPACE, batch)

    def variant_metrics(self, name: str) -> dict[str, VariantMetrics]:
        """Each variant's invocation counts and mean latencies, from the store."""
        self.flush_metrics()
        totals: dict[str, dict[str, list[float]]] = {}
        for point in self._store.get_metrics(METRICS_NAMESPACE, dimensions={"EndpointName": name}):
            variant = point.dimensions.get("VariantName", "")
            totals.setdefault(variant, {}).setdefault(point.name, []).append(point.value)
        return {
            variant: VariantMetrics(
                invocations=int(sum(series.get("Invocations", []))),
                errors_4xx=int(sum(series.get("Invocation4XXErrors", []))),
                errors_5xx=int(sum(series.get("Invocation5XXErrors", []))),
                model_latency_us=_mean(series.get("ModelLatency", [])),
                overhead_latency_us=_mean(series.get("OverheadLatency", [])),
            )
            for variant, series in totals.items()
        }

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

    def _instance(self, endpoint: Endpoint, variant: Variant, failed: Instance | None) -> Instance:
        """The next live instance of the variant in turn. ``failed`` (an instance that did
        not answer) is killed; dead instances are restarted in the background while a
        live one serves, or at once when none is left."""
        with self._lock:
            fleet = self._fleets.get(endpoint.name)
            if fleet is None:  # InService in the store, no workers here: start them
                fleet = self._start_fleet(endpoint)
                self._fleets[endpoint.name] = fleet
            instances = fleet.instances[variant.name]
            if failed is not None:
                failed.kill()
            fleet.turn += 1
            chosen: Instance | None = None
            dead: list[Instance] = []
            for step in range(len(instances)):
                candidate = instances[(fleet.turn + step) % len(instances)]
                if not candidate.alive():
                    dead.append(candidate)
                elif chosen is None:
                    chosen = candidate
            if chosen is None:
                index = fleet.turn % len(instances)
                instances[index].kill()
                dead = [d for d in dead if d is not instances[index]]
                chosen = instances[index] = self._start_instance(endpoint, fleet, variant)
            for instance in dead:
                if id(instance) not in fleet.replacing:
                    fleet.replacing.add(id(instance))
                    threading.Thread(
                        target=self._replace,
                        args=(endpoint, fleet, variant, instance),
                        name=f"restart-{endpoint.name}",
                        daemon=True,
                    ).start()
            return chosen

    def _replace(self, endpoint: Endpoint, fleet: Fleet, variant: Variant, dead: Instance) -> None:
        """Start a fresh instance in place of a dead one (a failed start is tried again by
        the next request that finds the instance dead)."""
        dead.kill()
        try:
            fresh = self._start_instance(endpoint, fleet, variant)
        except Exception:
            with self._lock:
                fleet.replacing.discard(id(dead))
            return
        with self._lock:
            fleet.replacing.discard(id(dead))
            instances = fleet.instances.get(variant.name, [])
            if self._fleets.get(endpoint.name) is fleet:
                for index, instance in enumerate(instances):
                    if instance is dead:
                        instances[index] = fresh
                        return
        fresh.stop()  # the endpoint was deleted, rescaled or redeployed meanwhile

    # ------------------------------------------------------------------ plumbing

    def _lookup(self, name: str) -> Endpoint | None:
        """The endpoint's record, read from the store at most once a second."""
        now = time.monotonic()
        with self._lock:
            known = self._known.get(name)
            if known is not None and now - known[0] < CACHE_SECONDS:
                return known[1]
            found = self._store.find_resource(SERVICE, KIND, name)
            if found is None:
                self._known.pop(name, None)
                return None
            endpoint = Endpoint.from_body(found.body)
            self._known[name] = (now, endpoint)
            return endpoint

    def _update(self, name: str, change: Callable[[Endpoint], Endpoint]) -> None:
        with self._lock:
            found = self._store.find_resource(SERVICE, KIND, name)
            if found is None:  # deleted meanwhile
                return
            changed = change(Endpoint.from_body(found.body))
            self._store.put_resource(
                SERVICE, KIND, name, changed.arn, changed.to_body(), state=changed.status
            )
            self._known[name] = (time.monotonic(), changed)

    def close(self) -> None:
        with self._lock:
            fleets = list(self._fleets.values())
            self._fleets.clear()
            self._known.clear()
        for fleet in fleets:
            fleet.stop()
        self._closing.set()
        with self._pending_lock:
            flusher, self._flusher = self._flusher, None
        if flusher is not None:
            flusher.join()
        self.flush_metrics()
        self._closing.clear()

    def reset(self) -> None:
        self.close()
        shutil.rmtree(self._root, ignore_errors=True)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _check_target_container(endpoint: Endpoint, variant: Variant, target: str | None) -> None:
    """TargetContainerHostname: required by a Direct pipeline, refused by the others."""
    hostnames = [c.hostname for c in variant.model.containers]
    if variant.model.mode == DIRECT:
        if target is None or target not in hostnames:
            raise ValidationError(
                f"Endpoint {endpoint.name}'s model {variant.model.name} runs its containers "
                f"in Direct mode: name one with TargetContainerHostname ({', '.join(hostnames)})"
                + (f"; {target!r} is not one of them." if target is not None else ".")
            )
    elif target is not None:
        raise ValidationError(
            f"TargetContainerHostname applies to a model whose InferenceExecutionConfig Mode "
            f"is Direct; endpoint {endpoint.name}'s model {variant.model.name} is "
            f"{'a Serial pipeline' if variant.model.mode == SERIAL else 'one container'}. "
            "Leave TargetContainerHostname out."
        )
