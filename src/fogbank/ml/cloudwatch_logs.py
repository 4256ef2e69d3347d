"""CloudWatch Logs for SageMaker: the log groups fogbank's jobs and endpoints write.

- ``/aws/sagemaker/TrainingJobs``: a stream per training host (``<job>/algo-<n>-<time>``).
- ``/aws/sagemaker/Endpoints/<endpoint>``: a stream per container of each instance
  (``<variant>/<container>-<port>``), what the serving process printed.
- ``/aws/sagemaker/TransformJobs``: a stream per container of each transform instance
  (``<job>/<container>-<port>``).

Training logs get each line's time as the job's run reads them; endpoint and transform
logs are stamped when a reader first asks for the lines (their ingestion).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fogbank.core.clock import Clock, SystemClock
from fogbank.core.errors import ResourceNotFoundException
from fogbank.ml.training.engine import TrainingJobs
from fogbank.ml.training.logs import (
    LOG_GROUP as TRAINING_GROUP,
)
from fogbank.ml.training.logs import (
    LogEventPage,
    LogStream,
    describe,
    events,
    ingest,
)

ENDPOINTS_GROUP = "/aws/sagemaker/Endpoints/"
TRANSFORM_GROUP = "/aws/sagemaker/TransformJobs"

# (stream name, log file, creation time in ms)
LogFiles = list[tuple[str, Path, int]]


class SageMakerLogs:
    """DescribeLogStreams and GetLogEvents over the SageMaker log groups."""

    def __init__(
        self,
        training: TrainingJobs,
        endpoint_logs: Callable[[str], LogFiles],
        transform_logs: Callable[[str], LogFiles],
        *,
        clock: Clock | None = None,
    ) -> None:
        self._training = training
        self._endpoint_logs = endpoint_logs
        self._transform_logs = transform_logs
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()

    def log_streams(self, group: str, prefix: str = "") -> list[LogStream]:
        """The group's streams whose names start with ``prefix``, in name order."""
        if group == TRAINING_GROUP:
            return self._training.log_streams(group, prefix)
        files = self._files(group, prefix)
        now = int(self._clock.now().timestamp() * 1000)
        with self._lock:
            for _, path, _ in files:
                ingest(path, now)
        return sorted(
            (describe(path, name, created) for name, path, created in files),
            key=lambda s: s.name,
        )

    def log_events(self, group: str, stream: str, **options: Any) -> LogEventPage:
        """GetLogEvents on one stream of the group."""
        if group == TRAINING_GROUP:
            return self._training.log_events(group, stream, **options)
        for found in self.log_streams(group, stream):
            if found.name == stream:
                return events(found, **options)
        raise ResourceNotFoundException(
            f"The specified log stream does not exist: {stream!r} in {group}."
        )

    def _files(self, group: str, prefix: str) -> LogFiles:
        if group.startswith(ENDPOINTS_GROUP) and len(group) > len(ENDPOINTS_GROUP):
            found = self._endpoint_logs(group[len(ENDPOINTS_GROUP) :])
        elif group == TRANSFORM_GROUP:
            found = self._transform_logs(prefix.split("/", 1)[0])
        else:
            found = None
        if not found:
            raise ResourceNotFoundException(
                f"The specified log group does not exist: {group!r}. fogbank keeps SageMaker's "
                f"logs in {TRAINING_GROUP}, {TRANSFORM_GROUP} and {ENDPOINTS_GROUP}<endpoint> "
                "(a group exists once its job or endpoint has written a line)."
            )
        return [f for f in found if f[0].startswith(prefix)]
