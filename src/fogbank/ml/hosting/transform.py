"""SageMaker batch transform: CreateTransformJob, DescribeTransformJob, ListTransformJobs,
StopTransformJob.

A job starts ``TransformResources.InstanceCount`` instances of its model (each a worker
per container, see :mod:`fogbank.ml.hosting.instances`, with ``SAGEMAKER_BATCH=true``),
spreads the input objects over them by key, and on each instance runs up to
``MaxConcurrentTransforms`` requests at once. Each object is read (gunzipped for
``CompressionType: Gzip``), split by ``SplitType``, filtered by ``InputFilter``, batched
(``SingleRecord``, or ``MultiRecord`` up to ``MaxPayloadInMB``), sent to the model, and
the answers (joined with the input, filtered by ``OutputFilter``) are assembled by
``AssembleWith`` into one ``<input name>.out`` object under ``S3OutputPath``, records in
order. The three tuning values come from the request, else from the container's
``/execution-parameters``, else SageMaker's defaults (one request at a time, 6 MB,
SingleRecord). A record the model refuses fails the job with the object and the
record's line named; objects already written stay, as on AWS.
"""

from __future__ import annotations

import gzip
import shutil
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from fogbank.core.clock import Clock, SystemClock
from fogbank.core.errors import (
    FogbankError,
    ResourceInUse,
    ResourceInUseException,
    ValidationException,
)
from fogbank.core.ids import arn as make_arn
from fogbank.core.store import ControlPlaneStore
from fogbank.lake.engine import Lake
from fogbank.lake.names import parse_location
from fogbank.ml.hosting.dataprocessing import DataProcessing
from fogbank.ml.hosting.engine import Hosting
from fogbank.ml.hosting.instances import (
    Instance,
    ServedModel,
    prepare,
    resolve_model,
    start_instance,
)
from fogbank.ml.hosting.splitting import (
    Record,
    TransformRecordError,
    assemble,
    batch_records,
    line_batches,
    payload,
    split_records,
    split_response,
    where,
)
from fogbank.ml.listing import page
from fogbank.ml.ownership import owner_alive, process_owner
from fogbank.ml.training.channels import (
    ChannelInput,
    ChannelObject,
    DataDownloadFailed,
    list_channel,
)

SERVICE = "sagemaker"
KIND = "transform-job"
IN_PROGRESS, COMPLETED, FAILED, STOPPING, STOPPED = (
    "InProgress",
    "Completed",
    "Failed",
    "Stopping",
    "Stopped",
)
MB = 1024 * 1024
MAX_PAYLOAD_MB = 100
MAX_ENVIRONMENT = 16
DEFAULT_PAYLOAD_MB = 6
DEFAULT_TIMEOUT_SECONDS = 600
DEFAULT_RETRIES = 3
SORT_KEYS = ("Name", "CreationTime", "Status")


@dataclass(frozen=True)
class TransformJob:
    name: str
    arn: str
    status: str
    request: dict[str, Any]
    """CreateTransformJob's members as given (less Tags): DescribeTransformJob echoes them."""
    model: ServedModel
    creation_time: datetime
    last_modified_time: datetime
    owner: str
    start_time: datetime | None = None
    end_time: datetime | None = None
    failure_reason: str | None = None
    objects_done: int = 0
    objects_total: int = 0

    def to_body(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arn": self.arn,
            "status": self.status,
            "request": self.request,
            "model": self.model.to_body(),
            "creation_time": self.creation_time.isoformat(),
            "last_modified_time": self.last_modified_time.isoformat(),
            "owner": self.owner,
            "start_time": _iso(self.start_time),
            "end_time": _iso(self.end_time),
            "failure_reason": self.failure_reason,
            "objects_done": self.objects_done,
            "objects_total": self.objects_total,
        }

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> TransformJob:
        return cls(
            body["name"],
            body["arn"],
            body["status"],
            body["request"],
            ServedModel.from_body(body["model"]),
            datetime.fromisoformat(body["creation_time"]),
            datetime.fromisoformat(body["last_modified_time"]),
            body["owner"],
            _time(body.get("start_time")),
            _time(body.get("end_time")),
            body.get("failure_reason"),
            int(body.get("objects_done", 0)),
            int(body.get("objects_total", 0)),
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Settings:
    """What a job's request decides, checked at CreateTransformJob."""

    content_type: str | None
    compression: str
    split_type: str
    accept: str | None
    assemble_with: str
    output: str
    processing: DataProcessing
    per_record: bool
    """Whether answers are needed record by record (joined or filtered)."""
    filters_input: bool

    @classmethod
    def from_request(cls, request: dict[str, Any]) -> Settings:
        source = request["TransformInput"]
        output = request["TransformOutput"]
        split_type = source.get("SplitType", "None")
        assemble_with = output.get("AssembleWith", "None")
        content_type = source.get("ContentType")
        accept = output.get("Accept")
        processing = DataProcessing.from_request(
            request.get("DataProcessing"), content_type, accept, split_type, assemble_with
        )
        return cls(
            content_type,
            source.get("CompressionType", "None"),
            split_type,
            accept,
            assemble_with,
            output["S3OutputPath"],
            processing,
            per_record=processing.joins or not processing.output_filter.is_root,
            filters_input=not processing.input_filter.is_root,
        )


@dataclass(frozen=True)
class Tuning:
    """MaxConcurrentTransforms, MaxPayloadInMB and BatchStrategy as the job runs them."""

    concurrency: int
    max_payload_mb: int
    strategy: str


class Stopped(Exception):
    """StopTransformJob was called: the job ends Stopped."""


class TransformJobs:
    """Every batch transform job of one fogbank home."""

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
        self._owner = process_owner()
        self._lock = threading.RLock()
        self._runs: dict[str, tuple[threading.Thread, threading.Event]] = {}

    def arn(self, name: str) -> str:
        return make_arn("sagemaker", self._region, self._account_id, f"{KIND}/{name.lower()}")

    # ------------------------------------------------------------------ operations

    def create_transform_job(self, request: dict[str, Any]) -> TransformJob:
        """CreateTransformJob: checked now (model, tuning limits, data processing), run
        in the background."""
        name = request["TransformJobName"]
        model = resolve_model(self._hosting.describe_model(request["ModelName"]))
        _check_tuning(request)
        Settings.from_request(request)
        environment = request.get("Environment") or {}
        if len(environment) > MAX_ENVIRONMENT:
            raise ValidationException(
                f"Environment has {len(environment)} entries; a transform job takes at most "
                f"{MAX_ENVIRONMENT}."
            )
        uris = {
            "TransformInput.DataSource.S3DataSource.S3Uri": request["TransformInput"]["DataSource"][
                "S3DataSource"
            ]["S3Uri"],
            "TransformOutput.S3OutputPath": request["TransformOutput"]["S3OutputPath"],
        }
        for field, uri in uris.items():
            if not uri.startswith("s3://"):
                raise ValidationException(f"{field} {uri!r} must be an s3:// URI.")
        data_type = request["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"]
        if data_type not in ("S3Prefix", "ManifestFile"):
            raise ValidationException(
                f"TransformInput.DataSource.S3DataSource.S3DataType {data_type} is not served "
                "by fogbank; use S3Prefix or ManifestFile."
            )
        try:  # AWS lists the input when the job is created, not when it runs
            _list_input(self._lake, request)
        except DataDownloadFailed as error:
            raise ValidationException(str(error.message)) from None
        now = self._clock.now()
        job = TransformJob(
            name,
            self.arn(name),
            IN_PROGRESS,
            {k: v for k, v in request.items() if k != "Tags"},
            model,
            now,
            now,
            self._owner,
        )
        stop = threading.Event()
        thread = threading.Thread(
            target=self._run, args=(job, stop), name=f"transform-{name}", daemon=True
        )
        with self._lock:  # a Describe in between must see the job as running here
            try:
                self._store.put_resource(
                    SERVICE, KIND, name, job.arn, job.to_body(), state=IN_PROGRESS, create_only=True
                )
            except ResourceInUseException:
                raise ResourceInUse(
                    f"Job name must be unique within an AWS account and region, and a job with "
                    f"this name already exists ({job.arn})."
                ) from None
            self._runs[name] = (thread, stop)
        tags = request.get("Tags") or []
        if tags:
            self._store.tag_resource(job.arn, {t["Key"]: t.get("Value", "") for t in tags})
        thread.start()
        return job

    def describe_transform_job(self, name: str) -> TransformJob:
        """DescribeTransformJob; a job whose fogbank process died is reported Failed."""
        found = self._store.find_resource(SERVICE, KIND, name)
        if found is None:
            raise ValidationException(f"Could not find job to describe: {self.arn(name)}.")
        job = TransformJob.from_body(found.body)
        if job.status in (IN_PROGRESS, STOPPING) and not self._running_somewhere(job):
            return self._finish(
                name,
                FAILED,
                "InternalServerError: the fogbank process running this transform job stopped "
                "before the job ended; create the job again.",
            )
        return job

    def list_transform_jobs(
        self,
        *,
        max_results: int = 10,
        next_token: str | None = None,
        name_contains: str | None = None,
        status_equals: str | None = None,
        creation_time_after: datetime | None = None,
        creation_time_before: datetime | None = None,
        last_modified_time_after: datetime | None = None,
        last_modified_time_before: datetime | None = None,
        sort_by: str = "CreationTime",
        sort_order: str = "Descending",
    ) -> tuple[list[TransformJob], str | None]:
        if sort_by not in SORT_KEYS:
            raise ValidationException(
                f"SortBy must be one of {', '.join(SORT_KEYS)}; got {sort_by!r}."
            )
        every = []
        for resource in self._store.all_resources(SERVICE, KIND):
            job = TransformJob.from_body(resource.body)
            if job.status in (IN_PROGRESS, STOPPING) and not self._running_somewhere(job):
                job = self.describe_transform_job(job.name)
            every.append(job)

        def keep(job: TransformJob) -> bool:
            return (
                (name_contains is None or name_contains.lower() in job.name.lower())
                and (status_equals is None or job.status == status_equals)
                and (creation_time_after is None or job.creation_time > creation_time_after)
                and (creation_time_before is None or job.creation_time < creation_time_before)
                and (
                    last_modified_time_after is None
                    or job.last_modified_time > last_modified_time_after
                )
                and (
                    last_modified_time_before is None
                    or job.last_modified_time < last_modified_time_before
                )
            )

        key: Callable[[TransformJob], Any] = {
            "Name": lambda j: (j.name,),
            "CreationTime": lambda j: (j.creation_time, j.name),
            "Status": lambda j: (j.status, j.name),
        }[sort_by]
        return page(
            [j for j in every if keep(j)],
            key=key,
            descending=sort_order == "Descending",
            next_token=next_token,
            max_results=max_results,
            operation="ListTransformJobs",
        )

    def stop_transform_job(self, name: str) -> None:
        """StopTransformJob: Stopping now, Stopped once the requests in flight end."""
        job = self.describe_transform_job(name)
        if job.status != IN_PROGRESS:
            if job.status == STOPPING:
                return
            raise ValidationException(
                f"The transform job {name} is {job.status}; only an InProgress job can be stopped."
            )
        with self._lock:
            run = self._runs.get(name)
        self._update(name, lambda j: replace(j, status=STOPPING) if j.status == IN_PROGRESS else j)
        if run is not None:
            run[1].set()

    def wait(self, name: str, timeout: float | None = None) -> TransformJob:
        """Block until the job this process runs has ended; its record."""
        with self._lock:
            run = self._runs.get(name)
        if run is not None:
            run[0].join(timeout)
        return self.describe_transform_job(name)

    def log_files(self, name: str) -> list[tuple[str, Path, int]]:
        """The job's instance logs, as CloudWatch Logs streams (``<job>/<container>-
        <port>``, the file, its creation time in ms); every job's when ``name`` is ""."""
        pattern = f"{name}/logs/*.log" if name else "*/logs/*.log"
        return [
            (f"{path.parent.parent.name}/{path.stem}", path, int(path.stat().st_ctime * 1000))
            for path in sorted(self._root.glob(pattern))
        ]

    # ------------------------------------------------------------------ the run

    def _run(self, job: TransformJob, stop: threading.Event) -> None:
        instances: list[Instance] = []
        try:
            self._update(job.name, lambda j: replace(j, start_time=self._clock.now()))
            settings = Settings.from_request(job.request)
            objects = _list_input(self._lake, job.request)
            self._update(job.name, lambda j: replace(j, objects_total=len(objects)))
            folder = self._root / job.name
            prepared = prepare(self._lake, folder / "model", job.model)
            environment = _batch_environment(job.request)
            count = int(job.request["TransformResources"]["InstanceCount"])
            for _ in range(count):
                if stop.is_set():
                    raise Stopped()
                instances.append(
                    start_instance(prepared, job.model.mode, folder / "logs", environment)
                )
            tuning = _tuning(job.request, instances[0].execution_parameters())
            client = job.request.get("ModelClientConfig") or {}
            caller = _Caller(
                settings,
                tuning,
                float(client.get("InvocationsTimeoutInSeconds", DEFAULT_TIMEOUT_SECONDS)),
                int(client.get("InvocationsMaxRetries", DEFAULT_RETRIES)),
                stop,
            )
            done = threading.Lock()

            def work(index: int, item: ChannelObject) -> None:
                if stop.is_set():
                    raise Stopped()
                self._transform_object(item, instances[index % len(instances)], caller)
                with done:
                    self._update(job.name, lambda j: replace(j, objects_done=j.objects_done + 1))

            with ThreadPoolExecutor(
                max_workers=max(1, tuning.concurrency * len(instances)),
                thread_name_prefix=f"transform-{job.name}",
            ) as pool:
                futures = [pool.submit(work, i, item) for i, item in enumerate(objects)]
                try:
                    for future in futures:
                        future.result()
                except BaseException:
                    stop.set()
                    for future in futures:
                        future.cancel()
                    raise
            self._finish(job.name, COMPLETED, None)
        except Stopped:
            self._finish(job.name, STOPPED, None)
        except Exception as error:  # the job fails with the reason; nothing is left running
            if stop.is_set() and self._status(job.name) == STOPPING:
                self._finish(job.name, STOPPED, None)
            else:
                self._finish(job.name, FAILED, _reason(error))
        finally:
            for instance in instances:
                instance.stop()
            with self._lock:
                self._runs.pop(job.name, None)

    def _transform_object(self, item: ChannelObject, instance: Instance, caller: _Caller) -> None:
        settings = caller.settings
        location = f"s3://{item.bucket}/{item.key}"
        data = self._lake.read(location)
        if settings.compression == "Gzip":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error) as error:
                raise TransformRecordError(
                    f"The object {location} is not gzip data ({error}), but "
                    "TransformInput.CompressionType is Gzip.",
                    position=1,
                ) from None
        try:
            outputs = caller.transform(data, instance)
        except TransformRecordError as error:
            raise TransformRecordError(f"{location}: {error}", position=error.position) from None
        bucket, prefix = parse_location(settings.output)
        key = "/".join(part for part in (prefix.rstrip("/"), item.relative + ".out") if part)
        self._lake.put_object(bucket, key, assemble(outputs, settings.assemble_with))

    # ------------------------------------------------------------------ plumbing

    def _status(self, name: str) -> str | None:
        found = self._store.find_resource(SERVICE, KIND, name)
        return None if found is None else TransformJob.from_body(found.body).status

    def _finish(self, name: str, status: str, reason: str | None) -> TransformJob:
        now = self._clock.now()

        def change(job: TransformJob) -> TransformJob:
            if job.status not in (IN_PROGRESS, STOPPING):
                return job
            return replace(
                job, status=status, failure_reason=reason, end_time=now, last_modified_time=now
            )

        return self._update(name, change)

    def _update(self, name: str, change: Callable[[TransformJob], TransformJob]) -> TransformJob:
        with self._lock:
            current = TransformJob.from_body(self._store.get_resource(SERVICE, KIND, name).body)
            changed = change(current)
            if changed != current:
                changed = replace(changed, last_modified_time=self._clock.now())
                self._store.put_resource(
                    SERVICE, KIND, name, changed.arn, changed.to_body(), state=changed.status
                )
            return changed

    def _running_somewhere(self, job: TransformJob) -> bool:
        with self._lock:
            if job.name in self._runs:
                return True
        return job.owner != self._owner and owner_alive(job.owner)

    def close(self) -> None:
        """Stop every job this process runs; their instances are stopped."""
        with self._lock:
            runs = list(self._runs.values())
        for _, stop in runs:
            stop.set()
        for thread, _ in runs:
            thread.join(30)

    def reset(self) -> None:
        self.close()
        shutil.rmtree(self._root, ignore_errors=True)


class _Caller:
    """Sends one object's records to an instance and gives back the outputs to assemble."""

    def __init__(
        self,
        settings: Settings,
        tuning: Tuning,
        timeout: float,
        retries: int,
        stop: threading.Event,
    ) -> None:
        self.settings = settings
        self.tuning = tuning
        self.timeout = timeout
        self.retries = retries
        self.stop = stop
        self.headers = {"Content-Type": settings.content_type or "application/octet-stream"}
        if settings.accept:
            self.headers["Accept"] = settings.accept

    def transform(self, data: bytes, instance: Instance) -> list[bytes]:
        """The outputs of one object's records, to assemble in order."""
        settings = self.settings
        if (
            settings.split_type == "Line"
            and self.tuning.strategy == "MultiRecord"
            and not settings.filters_input
            and not settings.per_record
        ):
            chunks = line_batches(data, self.tuning.max_payload_mb * MB)
            if chunks is not None:
                return [self._post(instance, body, first, last) for body, first, last in chunks]
        records = split_records(data, settings.split_type)
        sent = records
        if settings.filters_input:
            sent = [
                Record(settings.processing.select_input(r.data, r.position), r.position)
                for r in records
            ]
        originals = {r.position: r.data for r in records}
        outputs: list[bytes] = []
        for batch in batch_records(
            sent, self.tuning.strategy, self.tuning.max_payload_mb * MB, settings.split_type
        ):
            if self.stop.is_set():
                raise Stopped()
            sent_body = payload(batch, settings.split_type, self.tuning.strategy)
            body = self._post(instance, sent_body, batch[0].position, batch[-1].position)
            if not settings.per_record:
                outputs.append(body)
                continue
            answers = (
                [body] if len(batch) == 1 else split_response(body, len(batch), batch[0].position)
            )
            for record, answer in zip(batch, answers, strict=True):
                outputs.append(
                    settings.processing.join_and_select(
                        originals[record.position], answer, record.position
                    )
                )
        return outputs

    def _post(self, instance: Instance, body: bytes, first: int, last: int) -> bytes:
        split_type = self.settings.split_type
        span = where(split_type, first)
        if last != first:
            span = f"{span} to {last}"
        for attempt in range(self.retries + 1):
            try:
                reply = instance.invoke(body, self.headers, timeout=self.timeout)
            except OSError as error:
                if attempt < self.retries:
                    time.sleep(min(0.1 * 2**attempt, 2.0))
                    continue
                raise TransformRecordError(
                    f"{span}: the model did not answer within {self.timeout:.0f} s or could not "
                    f"be reached ({error}), after {self.retries + 1} tries; raise "
                    "ModelClientConfig.InvocationsTimeoutInSeconds or send smaller batches.",
                    position=first,
                ) from None
            if reply.status >= 400:
                message = reply.body.decode("utf-8", errors="replace")[:400]
                raise TransformRecordError(
                    f"{span}: the model's container {reply.hostname} answered "
                    f"{reply.status}: {message}",
                    position=first,
                )
            return reply.body
        raise AssertionError("unreachable")


def _list_input(lake: Lake, request: dict[str, Any]) -> list[ChannelObject]:
    """The input objects, in key order (S3Prefix or ManifestFile)."""
    source = request["TransformInput"]["DataSource"]["S3DataSource"]
    channel = ChannelInput(
        "transform",
        source["S3Uri"],
        source["S3DataType"],
        "FullyReplicated",
        "File",
        request["TransformInput"].get("ContentType"),
        request["TransformInput"].get("CompressionType", "None"),
        "None",
    )
    found = list_channel(lake, channel, "the transform job's role")
    if source["S3DataType"] != "S3Prefix":
        return found
    # Outputs mirror the keys below the prefix, read as a folder whether or not it ends
    # in "/" (as the SageMaker SDK's local mode reads it); a prefix that is itself an
    # object's key gives that object's name.
    prefix = parse_location(source["S3Uri"])[1]
    return [
        replace(item, relative=item.key[len(prefix) :].lstrip("/") or item.key.rsplit("/")[-1])
        for item in found
    ]


def _check_tuning(request: dict[str, Any]) -> None:
    payload_mb = request.get("MaxPayloadInMB")
    if payload_mb is not None and not 0 <= payload_mb <= MAX_PAYLOAD_MB:
        raise ValidationException(
            f"MaxPayloadInMB is {payload_mb}; it must be from 0 to {MAX_PAYLOAD_MB}."
        )
    concurrency = request.get("MaxConcurrentTransforms")
    if payload_mb and concurrency and payload_mb * concurrency > MAX_PAYLOAD_MB:
        raise ValidationException(
            f"MaxConcurrentTransforms ({concurrency}) x MaxPayloadInMB ({payload_mb}) is "
            f"{concurrency * payload_mb} MB; their product must not exceed {MAX_PAYLOAD_MB} MB. "
            "Lower one of them."
        )
    split_type = request["TransformInput"].get("SplitType", "None")
    if payload_mb == 0 and split_type != "None":
        raise ValidationException(
            "MaxPayloadInMB 0 (stream the whole object) needs TransformInput.SplitType None; "
            f"it is {split_type}."
        )


def _batch_environment(request: dict[str, Any]) -> dict[str, str]:
    """What a container learns of the job: SAGEMAKER_BATCH, and the tuning values the
    request set, as SageMaker passes them."""
    environment = {"SAGEMAKER_BATCH": "true"}
    if request.get("MaxPayloadInMB") is not None:
        environment["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = str(request["MaxPayloadInMB"])
    if request.get("BatchStrategy"):
        environment["SAGEMAKER_BATCH_STRATEGY"] = (
            "MULTI_RECORD" if request["BatchStrategy"] == "MultiRecord" else "SINGLE_RECORD"
        )
    if request.get("MaxConcurrentTransforms"):
        environment["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] = str(request["MaxConcurrentTransforms"])
    environment.update(request.get("Environment") or {})
    return environment


def _tuning(request: dict[str, Any], container: dict[str, Any]) -> Tuning:
    """Request first, then /execution-parameters, then SageMaker's defaults."""
    concurrency = request.get("MaxConcurrentTransforms") or container.get(
        "MaxConcurrentTransforms", 1
    )
    payload_mb = request.get("MaxPayloadInMB")
    if payload_mb is None:
        payload_mb = container.get("MaxPayloadInMB", DEFAULT_PAYLOAD_MB)
    strategy = request.get("BatchStrategy")
    if strategy is None:
        named = str(container.get("BatchStrategy", "SINGLE_RECORD")).upper()
        strategy = "MultiRecord" if named == "MULTI_RECORD" else "SingleRecord"
    if request["TransformInput"].get("SplitType", "None") == "None":
        strategy = "SingleRecord"  # one object is one record
    try:
        concurrency = max(1, int(concurrency))
        payload_mb = max(0, min(int(payload_mb), MAX_PAYLOAD_MB))
    except (TypeError, ValueError):
        concurrency, payload_mb = 1, DEFAULT_PAYLOAD_MB
    return Tuning(concurrency, payload_mb, strategy)


def _reason(error: Exception) -> str:
    if isinstance(error, TransformRecordError):
        text = f"ClientError: {error}"
    elif isinstance(error, FogbankError):
        text = f"ClientError: {getattr(error, 'message', error)}"
    else:
        text = f"AlgorithmError: {error}"
    return text[:1024]
