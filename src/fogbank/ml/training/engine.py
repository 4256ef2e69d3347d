"""Training jobs: CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs, StopTrainingJob.

The job's record lives in the control-plane store (service ``sagemaker``, kind
``training-job``); its files (container roots ``algo-N/`` and logs ``algo-N.log``)
under ``<home>/training/<job>/``. Hyperparameters are validated once, here, against
the algorithm's declarations. The run is a :class:`~fogbank.ml.training.runner.JobRun`
thread of the process that created the job; a job whose process is gone (the server
was killed) is reported Failed rather than left InProgress for ever.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from fogbank.core.clock import Clock, SystemClock
from fogbank.core.errors import (
    ResourceInUse,
    ResourceInUseException,
    ResourceNotFoundException,
    ValidationException,
)
from fogbank.core.ids import arn as make_arn
from fogbank.core.store import ControlPlaneStore
from fogbank.lake.engine import Lake
from fogbank.ml.algorithms import algorithm as find_algorithm
from fogbank.ml.listing import page
from fogbank.ml.ownership import owner_alive, process_owner
from fogbank.ml.training import model as states
from fogbank.ml.training.channels import ChannelInput
from fogbank.ml.training.images import algorithm_for
from fogbank.ml.training.logs import (
    LogEventPage,
    LogStream,
    describe,
    events,
    require_group,
    stream_name,
)
from fogbank.ml.training.metrics import compile_definitions
from fogbank.ml.training.model import TrainingJob
from fogbank.ml.training.runner import JobRun, RunSettings

SERVICE = "sagemaker"
KIND = "training-job"
SORT_KEYS = ("Name", "CreationTime", "Status")


@dataclass(frozen=True)
class TrainingJobPage:
    jobs: tuple[TrainingJob, ...]
    next_token: str | None


class TrainingJobs:
    """Every training job of one fogbank home."""

    def __init__(
        self,
        root: Path,
        store: ControlPlaneStore,
        lake: Lake,
        *,
        clock: Clock | None = None,
        account_id: str = "000000000000",
        region: str = "us-east-1",
        settings: RunSettings | None = None,
    ) -> None:
        self._root = root
        self._store = store
        self._lake = lake
        self._clock = clock or SystemClock()
        self._account_id = account_id
        self._region = region
        self._settings = settings or RunSettings()
        self._owner = process_owner()
        self._lock = threading.RLock()
        self._runs: dict[str, JobRun] = {}

    # ------------------------------------------------------------------ operations

    def create_training_job(self, request: dict[str, Any]) -> TrainingJob:
        """CreateTrainingJob: validate, record InProgress/Starting, start the run."""
        name = request["TrainingJobName"]
        spec = request.get("AlgorithmSpecification")
        if not spec:
            raise ValidationException(
                "AlgorithmSpecification is required: give TrainingImage (a built-in "
                "algorithm's image URI) or AlgorithmName, and TrainingInputMode."
            )
        chosen = find_algorithm(
            algorithm_for(
                training_image=spec.get("TrainingImage"), algorithm_name=spec.get("AlgorithmName")
            )
        )
        chosen.validate(request.get("HyperParameters") or {})
        channels = request.get("InputDataConfig") or []
        seen: set[str] = set()
        for channel in channels:
            if channel["ChannelName"] in seen:
                raise ValidationException(
                    f"InputDataConfig has channel {channel['ChannelName']!r} twice; "
                    "channel names must be unique."
                )
            seen.add(channel["ChannelName"])
            ChannelInput.from_request(channel, spec.get("TrainingInputMode", "File"))
        output = (request.get("OutputDataConfig") or {}).get("S3OutputPath", "")
        if not output.startswith("s3://") or len(output) <= len("s3://"):
            raise ValidationException(
                f"OutputDataConfig.S3OutputPath {output!r} must be an S3 URI like s3://bucket/prefix."
            )
        stored = dict(request)
        stored.pop("Tags", None)
        stored["AlgorithmSpecification"] = {
            **spec,
            "MetricDefinitions": [
                {"Name": m.name, "Regex": m.regex} for m in chosen.metric_definitions
            ]
            + list(spec.get("MetricDefinitions") or []),
            "EnableSageMakerMetricsTimeSeries": spec.get("EnableSageMakerMetricsTimeSeries", False),
        }
        stored.setdefault("StoppingCondition", {"MaxRuntimeInSeconds": 86400})
        stored.setdefault("EnableNetworkIsolation", False)
        stored.setdefault("EnableInterContainerTrafficEncryption", False)
        stored.setdefault("EnableManagedSpotTraining", False)
        now = self._clock.now()
        job = TrainingJob(
            name=name,
            arn=self.arn(name),
            algorithm=chosen.name,
            request=stored,
            creation_time=now,
            last_modified_time=now,
            owner=self._owner,
        ).moved_to("Starting", now)
        try:
            self._store.put_resource(
                SERVICE, KIND, name, job.arn, job.to_body(), state=job.status, create_only=True
            )
        except ResourceInUseException:
            raise ResourceInUse(
                "Training job names must be unique within an AWS account and region, "
                f"and a training job with this name already exists ({job.arn})."
            ) from None
        tags = {t["Key"]: t.get("Value", "") for t in request.get("Tags") or []}
        if tags:
            self._store.tag_resource(job.arn, tags)
        folder = self._root / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        patterns = compile_definitions(
            (m["Name"], m["Regex"]) for m in stored["AlgorithmSpecification"]["MetricDefinitions"]
        )
        run = JobRun(
            job,
            folder,
            lake=self._lake,
            store=self._store,
            clock=self._clock,
            update=self._updater(name),
            patterns=patterns,
            settings=self._settings,
        )
        with self._lock:
            self._runs[name] = run
        run.start()
        return job

    def describe_training_job(self, name: str) -> TrainingJob:
        """DescribeTrainingJob; a job whose fogbank process died is reported Failed."""
        found = self._store.find_resource(SERVICE, KIND, name)
        if found is None:
            raise ValidationException(
                f"Requested resource not found: there is no training job named {name!r}."
            )
        return self._current(TrainingJob.from_body(found.body))

    def _current(self, job: TrainingJob) -> TrainingJob:
        """The job as it stands: one whose fogbank process died is Failed."""
        if job.status in (states.IN_PROGRESS, states.STOPPING) and not self._running_somewhere(job):
            return self._orphaned(job)
        return job

    def list_training_jobs(
        self,
        *,
        max_results: int = 10,
        next_token: str | None = None,
        creation_time_after: datetime | None = None,
        creation_time_before: datetime | None = None,
        last_modified_time_after: datetime | None = None,
        last_modified_time_before: datetime | None = None,
        name_contains: str | None = None,
        status_equals: str | None = None,
        sort_by: str = "CreationTime",
        sort_order: str = "Ascending",
    ) -> TrainingJobPage:
        """ListTrainingJobs: filters, then sorted, then paged by an opaque token."""
        jobs = [
            self._current(TrainingJob.from_body(r.body))
            for r in self._store.all_resources(SERVICE, KIND)
        ]

        def keep(job: TrainingJob) -> bool:
            modified = job.last_modified_time or job.creation_time
            return (
                (creation_time_after is None or job.creation_time > creation_time_after)
                and (creation_time_before is None or job.creation_time < creation_time_before)
                and (last_modified_time_after is None or modified > last_modified_time_after)
                and (last_modified_time_before is None or modified < last_modified_time_before)
                and (name_contains is None or name_contains.lower() in job.name.lower())
                and (status_equals is None or job.status == status_equals)
            )

        if sort_by not in SORT_KEYS:
            raise ValidationException(
                f"SortBy must be one of {', '.join(SORT_KEYS)}; got {sort_by!r}."
            )
        key: Callable[[TrainingJob], Any] = {
            "Name": lambda j: (j.name,),
            "CreationTime": lambda j: (j.creation_time, j.name),
            "Status": lambda j: (j.status, j.name),
        }[sort_by]
        chosen, token = page(
            list(filter(keep, jobs)),
            key=key,
            descending=sort_order == "Descending",
            next_token=next_token,
            max_results=max_results,
            operation="ListTrainingJobs",
        )
        return TrainingJobPage(tuple(chosen), token)

    def stop_training_job(self, name: str) -> None:
        """StopTrainingJob: Stopping now; SIGTERM to every host, SIGKILL after the grace."""
        job = self.describe_training_job(name)
        if job.status != states.IN_PROGRESS:
            raise ValidationException(
                f"The request was rejected because the training job is in status {job.status}."
            )
        with self._lock:
            run = self._runs.get(name)
        if run is not None:
            self._updater(name)(
                lambda j: j.moved_to("Stopping", self._clock.now(), status=states.STOPPING)
            )
            run.request_stop()
            return
        # Another fogbank process runs it: signal its hosts; that process records the end.
        for pid in job.extra.get("pids", []):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(pid), signal.SIGTERM)

    def wait(self, name: str, timeout: float | None = None) -> TrainingJob:
        """Block until the job ends (for tests, the CLI and the demo)."""
        with self._lock:
            run = self._runs.get(name)
        if run is not None:
            run.wait(timeout)
        return self.describe_training_job(name)

    def log_paths(self, name: str) -> list[Path]:
        """The hosts' log files, algo-1 first."""
        self.describe_training_job(name)
        folder = self._root / name
        return sorted(folder.glob("algo-*.log"), key=lambda p: int(p.stem.split("-")[1]))

    # ------------------------------------------------------------------ logs

    def log_streams(self, group: str, prefix: str = "") -> list[LogStream]:
        """DescribeLogStreams over /aws/sagemaker/TrainingJobs: every host of every job
        whose stream name starts with ``prefix``, in name order."""
        require_group(group)
        job_prefix = prefix.split("/", 1)[0]
        found = []
        for resource in self._store.all_resources(SERVICE, KIND):
            if not resource.name.startswith(job_prefix):
                continue
            job = TrainingJob.from_body(resource.body)
            created = int(job.creation_time.timestamp() * 1000)
            for path in sorted((self._root / job.name).glob("algo-*.log")):
                name = stream_name(job.name, path.stem, created)
                if name.startswith(prefix):
                    found.append(describe(path, name, created))
        return sorted(found, key=lambda s: s.name)

    def log_events(self, group: str, stream: str, **options: Any) -> LogEventPage:
        """GetLogEvents: one host's lines (see :mod:`fogbank.ml.training.logs`)."""
        require_group(group)
        job_name = stream.rpartition("/")[0]
        for found in self.log_streams(group, f"{job_name}/"):
            if found.name == stream:
                return events(found, **options)
        raise ResourceNotFoundException(
            f"The specified log stream does not exist: {stream!r} in {group}."
        )

    # ------------------------------------------------------------------ plumbing

    def arn(self, name: str) -> str:
        return make_arn("sagemaker", self._region, self._account_id, f"training-job/{name.lower()}")

    def _updater(self, name: str) -> Callable[[Callable[[TrainingJob], TrainingJob]], TrainingJob]:
        def update(change: Callable[[TrainingJob], TrainingJob]) -> TrainingJob:
            with self._lock:
                current = TrainingJob.from_body(self._store.get_resource(SERVICE, KIND, name).body)
                changed = change(current)
                if current.status == states.STOPPING and changed.status == states.IN_PROGRESS:
                    changed = replace(changed, status=states.STOPPING)
                self._store.put_resource(
                    SERVICE, KIND, name, changed.arn, changed.to_body(), state=changed.status
                )
                return changed

        return update

    def _running_somewhere(self, job: TrainingJob) -> bool:
        with self._lock:
            if job.name in self._runs:
                return True
        return job.owner != self._owner and owner_alive(job.owner)

    def _orphaned(self, job: TrainingJob) -> TrainingJob:
        now = self._clock.now()
        return self._updater(job.name)(
            lambda j: (
                replace(
                    j.moved_to("Failed", now, status=states.FAILED),
                    training_end_time=now,
                    failure_reason=(
                        "InternalServerError: the fogbank process running this training job "
                        "stopped before the job ended; create the job again."
                    ),
                )
                if j.status in (states.IN_PROGRESS, states.STOPPING)
                else j
            )
        )

    def close(self) -> None:
        """Stop every job this process runs (their hosts are killed)."""
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.request_stop()
        for run in runs:
            run.wait(10)

    def reset(self) -> None:
        self.close()
        with self._lock:
            self._runs.clear()
        shutil.rmtree(self._root, ignore_errors=True)
