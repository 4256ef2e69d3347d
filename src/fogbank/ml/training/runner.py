"""One training job's run: stage the channels, start a process per host, watch, finish.

A run is a thread of the fogbank process that created the job. It moves the job
through SageMaker's secondary statuses (Downloading, Training, Uploading, then
Completed / Failed / Stopped / MaxRuntimeExceeded), reads metrics from the hosts'
logs as lines arrive, enforces StoppingCondition.MaxRuntimeInSeconds, and answers
StopTrainingJob with SIGTERM to every host, then SIGKILL after the grace period
(120 s on SageMaker). A host that exits non-zero fails the job (the others are
stopped); ``output/failure`` gives the FailureReason. ``model/`` of the first host
becomes ``<S3OutputPath>/<job>/output/model.tar.gz`` and ``output/data/`` becomes
``output.tar.gz`` beside it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from fogbank.core.clock import Clock
from fogbank.core.errors import FogbankError
from fogbank.core.store import ControlPlaneStore
from fogbank.lake.engine import Lake
from fogbank.lake.names import parse_location
from fogbank.ml.training import model as states
from fogbank.ml.training.channels import (
    ChannelInput,
    PipeFeeder,
    list_channel,
    place_files,
    shard,
)
from fogbank.ml.training.metrics import MetricPattern, match_line
from fogbank.ml.training.model import MetricValue, TrainingJob

METRICS_NAMESPACE = "/aws/sagemaker/TrainingJobs"
FAILURE_LIMIT = 1024
POLL_SECONDS = 0.1

Update = Callable[[Callable[[TrainingJob], TrainingJob]], TrainingJob]


@dataclass
class Host:
    """One instance of the job: its container root, log and process."""

    name: str
    root: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None
    log_offset: int = 0
    partial: str = ""


@dataclass
class RunSettings:
    stop_grace_seconds: float = 120.0
    python: str = sys.executable
    extra_env: dict[str, str] = field(default_factory=dict)


class JobRun:
    """The thread that runs one training job to its end."""

    def __init__(
        self,
        job: TrainingJob,
        folder: Path,
        *,
        lake: Lake,
        store: ControlPlaneStore,
        clock: Clock,
        update: Update,
        patterns: list[MetricPattern],
        settings: RunSettings,
    ) -> None:
        self.name = job.name
        self.folder = folder
        self._job = job
        self._lake = lake
        self._store = store
        self._clock = clock
        self._update = update
        self._patterns = patterns
        self._settings = settings
        self._stop = threading.Event()
        self._stop_reason = states.STOPPED
        self._finished = threading.Event()
        self._latest: dict[str, MetricValue] = {}
        self.hosts = [
            Host(f"algo-{i + 1}", folder / f"algo-{i + 1}", folder / f"algo-{i + 1}.log")
            for i in range(job.instance_count)
        ]
        self._thread = threading.Thread(target=self._run, name=f"training-{job.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    # ------------------------------------------------------------------ the run

    def _run(self) -> None:
        try:
            self._run_job()
        except Exception as error:  # a bug here must still end the job, not leave it running
            self._finish(states.FAILED, f"InternalServerError: {type(error).__name__}: {error}")
        finally:
            self._kill_all()
            self._finished.set()

    def _run_job(self) -> None:
        self._move("Downloading", training_start=True)
        try:
            feeders = self._stage()
        except FogbankError as error:
            self._finish(states.FAILED, f"ClientError: {error.message}")
            return
        if self._stop.is_set():
            self._finish(states.STOPPED)
            return
        self._move("Training")
        self._start_hosts()
        for feeder in feeders:
            feeder.start()
        outcome = self._watch()
        self._read_logs()
        self._save_checkpoints()
        if outcome == "stopped":
            self._upload(optional=True)
            self._finish(self._stop_reason)
            return
        failed = self._failure()
        if failed is not None:
            self._finish(states.FAILED, failed)
            return
        self._move("Uploading")
        try:
            self._upload(optional=False)
        except FogbankError as error:
            self._finish(states.FAILED, f"ClientError: {error.message}")
            return
        self._finish(states.COMPLETED)

    def _stage(self) -> list[PipeFeeder]:
        request = self._job.request
        default_mode = (request.get("AlgorithmSpecification") or {}).get(
            "TrainingInputMode", "File"
        )
        channels = [
            ChannelInput.from_request(c, default_mode) for c in request.get("InputDataConfig") or []
        ]
        host_names = [h.name for h in self.hosts]
        feeders: list[PipeFeeder] = []
        listed = {c.name: list_channel(self._lake, c, request.get("RoleArn", "")) for c in channels}
        for rank, host in enumerate(self.hosts):
            config = host.root / "input" / "config"
            config.mkdir(parents=True, exist_ok=True)
            for sub in ("model", "output/data", "checkpoints", "input/data"):
                (host.root / sub).mkdir(parents=True, exist_ok=True)
            _write_json(config / "hyperparameters.json", self._job.hyperparameters)
            _write_json(
                config / "inputdataconfig.json", {c.name: c.data_config() for c in channels}
            )
            _write_json(
                config / "resourceconfig.json",
                {"current_host": host.name, "hosts": host_names, "network_interface_name": "eth0"},
            )
            self._restore_checkpoints(host.root / "checkpoints")
            data = host.root / "input" / "data"
            for channel in channels:
                mine = shard(listed[channel.name], channel.distribution, rank, len(self.hosts))
                if channel.input_mode == "Pipe":
                    feeders.append(
                        PipeFeeder(self._lake, channel, mine, data, alive=self._host_alive(host))
                    )
                else:
                    place_files(self._lake, mine, data / channel.name)
        return feeders

    def _checkpoint_uri(self) -> str | None:
        config = self._job.request.get("CheckpointConfig") or {}
        uri = config.get("S3Uri")
        return None if not uri else str(uri).rstrip("/") + "/"

    def _restore_checkpoints(self, folder: Path) -> None:
        """CheckpointConfig: what an earlier job left under S3Uri is in checkpoints/ at
        the start, as SageMaker copies it back for a restarted (spot) job."""
        uri = self._checkpoint_uri()
        if uri is None:
            return
        bucket, prefix = parse_location(uri)
        with contextlib.suppress(FogbankError):
            for info in self._lake.iter_objects(bucket, prefix):
                target = folder / info.key[len(prefix) :]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(self._lake.read(f"s3://{bucket}/{info.key}"))

    def _save_checkpoints(self) -> None:
        """The first host's checkpoints/ copied to CheckpointConfig.S3Uri."""
        uri = self._checkpoint_uri()
        if uri is None:
            return
        bucket, prefix = parse_location(uri)
        folder = self.hosts[0].root / "checkpoints"
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            with path.open("rb") as body:
                self._lake.put_object(bucket, prefix + path.relative_to(folder).as_posix(), body)

    def _host_alive(self, host: Host) -> Callable[[], bool]:
        def alive() -> bool:
            return not self._stop.is_set() and (host.process is None or host.process.poll() is None)

        return alive

    def _start_hosts(self) -> None:
        env = dict(os.environ)
        env.update(self._job.request.get("Environment") or {})
        env.update(self._settings.extra_env)
        env["TRAINING_JOB_NAME"] = self._job.name
        env["TRAINING_JOB_ARN"] = self._job.arn
        env["PYTHONUNBUFFERED"] = "1"
        if len(self.hosts) > 1:  # hosts share this machine's cores
            env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // len(self.hosts))))
        for host in self.hosts:
            with host.log.open("ab") as log:
                host.process = subprocess.Popen(
                    [
                        self._settings.python,
                        "-m",
                        "fogbank.ml.training.container",
                        str(host.root),
                        self._job.algorithm,
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    cwd=host.root,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
        pids = [h.process.pid for h in self.hosts if h.process is not None]
        self._update(lambda job: replace(job, extra={**job.extra, "pids": pids}))

    def _watch(self) -> str:
        """Wait for every host to end; ``"stopped"`` if the job was stopped."""
        started = self._clock.monotonic()
        while True:
            self._read_logs()
            codes = [h.process.poll() if h.process else 0 for h in self.hosts]
            if all(code is not None for code in codes):
                return "done"
            if any(code not in (None, 0) for code in codes):
                self._terminate_all(grace=5.0)  # one host failed: the job has failed
                return "done"
            if self._clock.monotonic() - started > self._job.max_runtime:
                self._stop_reason = "MaxRuntimeExceeded"
                self._stop.set()
            if self._stop.is_set():
                self._move("Stopping", status=states.STOPPING)
                self._terminate_all(grace=self._settings.stop_grace_seconds)
                return "stopped"
            time.sleep(POLL_SECONDS)

    def _terminate_all(self, *, grace: float) -> None:
        running = [h.process for h in self.hosts if h.process and h.process.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def _kill_all(self) -> None:
        for host in self.hosts:
            if host.process is not None and host.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(host.process.pid, signal.SIGKILL)
                host.process.wait()

    # ------------------------------------------------------------------ metrics

    def _read_logs(self) -> None:
        fresh: list[tuple[str, str, float, datetime]] = []
        for host in self.hosts:
            if not host.log.exists():
                continue
            with host.log.open("rb") as log:
                log.seek(host.log_offset)
                data = log.read()
            if not data:
                continue
            host.log_offset += len(data)
            text = host.partial + data.decode("utf-8", errors="replace")
            lines = text.split("\n")
            host.partial = lines.pop()
            now = self._clock.now()
            if lines:  # each line's ingestion time, for CloudWatch Logs' GetLogEvents
                stamp = f"{int(now.timestamp() * 1000)}\n"
                with times_path(host.log).open("a", encoding="ascii") as times:
                    times.write(stamp * len(lines))
            for line in lines:
                for name, value in match_line(self._patterns, line):
                    fresh.append((host.name, name, value, now))
        if not fresh:
            return
        for host_name, name, value, when in fresh:
            # FinalMetricDataList reports the first host's metrics, as SageMaker does.
            if host_name == "algo-1":
                self._latest[name] = MetricValue(name, value, when)
        # One transaction for all the lines read this turn: a job logging thousands of
        # metric lines a second must not spend its turns committing them one by one
        # (MaxRuntimeInSeconds and StopTrainingJob are checked between turns).
        self._store.put_metric_batch(
            METRICS_NAMESPACE,
            [
                ({name: value}, {"Host": f"{self.name}/{host_name}"}, when)
                for host_name, name, value, when in fresh
            ],
        )
        final = tuple(self._latest.values())
        self._update(lambda job: replace(job, final_metrics=final))

    # ------------------------------------------------------------------ endings

    def _failure(self) -> str | None:
        for host in self.hosts:
            code = host.process.returncode if host.process else 0
            if code in (0, None):
                continue
            failure = host.root / "output" / "failure"
            if failure.exists():
                reason = failure.read_text(encoding="utf-8", errors="replace").strip()
            else:
                reason = (
                    f"AlgorithmError: the training program on {host.name} exited with code {code}"
                )
            return reason[:FAILURE_LIMIT]
        return None

    def _upload(self, *, optional: bool) -> None:
        output = (self._job.request.get("OutputDataConfig") or {}).get("S3OutputPath", "")
        base = output.rstrip("/") + f"/{self._job.name}/output"
        leader = self.hosts[0].root
        model_dir = leader / "model"
        if optional and not any(model_dir.iterdir()):
            return
        bucket, key = parse_location(base + "/model.tar.gz")
        self._lake.put_object(bucket, key, _tar_gz(model_dir), content_type="application/x-tar")
        data_dir = leader / "output" / "data"
        if data_dir.is_dir() and any(data_dir.iterdir()):
            bucket, key = parse_location(base + "/output.tar.gz")
            self._lake.put_object(bucket, key, _tar_gz(data_dir), content_type="application/x-tar")
        self._update(lambda job: replace(job, model_artifacts=f"{base}/model.tar.gz"))

    def _move(
        self, secondary: str, *, status: str | None = None, training_start: bool = False
    ) -> None:
        now = self._clock.now()

        def change(job: TrainingJob) -> TrainingJob:
            moved = job.moved_to(secondary, now, status=status)
            return replace(moved, training_start_time=now) if training_start else moved

        self._update(change)

    def _finish(self, secondary: str, reason: str | None = None) -> None:
        now = self._clock.now()
        status = {
            states.COMPLETED: states.COMPLETED,
            states.FAILED: states.FAILED,
        }.get(secondary, states.STOPPED)

        def change(job: TrainingJob) -> TrainingJob:
            start = job.training_start_time or job.creation_time
            seconds = max(1, round((now - start).total_seconds()))
            ended = job.moved_to(secondary, now, status=status)
            return replace(
                ended,
                training_end_time=now,
                training_seconds=seconds,
                failure_reason=reason if status == states.FAILED else None,
            )

        self._update(change)


def times_path(log: Path) -> Path:
    """Where the ingestion time of each line of ``log`` is kept (ms, one per line)."""
    return log.with_suffix(".times")


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the thread that started it ends, so a
    host never trains on as an orphan after a kill -9 of fogbank (Linux's prctl)."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)


def _tar_gz(folder: Path) -> bytes:
    """``folder``'s files packed at the archive's root, as SageMaker packs model/."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(folder.rglob("*")):
            archive.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    return buffer.getvalue()


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")
