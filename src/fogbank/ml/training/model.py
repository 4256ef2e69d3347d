"""A training job's record: what DescribeTrainingJob reports, kept in the control plane.

The lifecycle is SageMaker's: TrainingJobStatus InProgress -> Completed | Failed |
Stopping -> Stopped, and beneath it SecondaryStatus Starting -> Downloading ->
Training -> Uploading -> Completed (or Failed, Stopping -> Stopped,
MaxRuntimeExceeded), each change kept as a SecondaryStatusTransition.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

IN_PROGRESS = "InProgress"
COMPLETED = "Completed"
FAILED = "Failed"
STOPPING = "Stopping"
STOPPED = "Stopped"
TERMINAL = frozenset({COMPLETED, FAILED, STOPPED})

# SecondaryStatus -> the StatusMessage SageMaker writes when a job enters it.
MESSAGES = {
    "Starting": "Preparing the instances for training",
    "Downloading": "Downloading input data",
    "Training": "Training image download completed. Training in progress.",
    "Uploading": "Uploading generated training model",
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Stopping": "Stopping the training job",
    "Stopped": "The training job was stopped",
    "MaxRuntimeExceeded": "Job stopped because it exceeded the MaxRuntimeInSeconds limit",
}


@dataclass(frozen=True)
class Transition:
    """One SecondaryStatusTransition."""

    status: str
    start: datetime
    end: datetime | None = None
    message: str = ""


@dataclass(frozen=True)
class MetricValue:
    """One entry of FinalMetricDataList: the last value a metric took."""

    name: str
    value: float
    timestamp: datetime


@dataclass(frozen=True)
class TrainingJob:
    """A training job as the control plane keeps it.

    ``request`` holds the CreateTrainingJob members as given (AlgorithmSpecification,
    InputDataConfig, OutputDataConfig, ResourceConfig, StoppingCondition...), which
    DescribeTrainingJob echoes."""

    name: str
    arn: str
    algorithm: str
    request: dict[str, Any]
    creation_time: datetime
    status: str = IN_PROGRESS
    secondary_status: str = "Starting"
    transitions: tuple[Transition, ...] = ()
    last_modified_time: datetime | None = None
    training_start_time: datetime | None = None
    training_end_time: datetime | None = None
    failure_reason: str | None = None
    final_metrics: tuple[MetricValue, ...] = ()
    model_artifacts: str = ""
    training_seconds: int | None = None
    owner: str = ""
    """Which fogbank process runs it (``<pid>@<boot>``): a job whose owner is gone failed."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def hyperparameters(self) -> dict[str, str]:
        found: dict[str, str] = self.request.get("HyperParameters") or {}
        return found

    @property
    def instance_count(self) -> int:
        return int((self.request.get("ResourceConfig") or {}).get("InstanceCount", 1))

    @property
    def max_runtime(self) -> int:
        stopping = self.request.get("StoppingCondition") or {}
        return int(stopping.get("MaxRuntimeInSeconds", 86400))

    def moved_to(self, secondary: str, now: datetime, *, status: str | None = None) -> TrainingJob:
        """The job after entering SecondaryStatus ``secondary`` at ``now``."""
        closed = tuple(replace(t, end=now) if t.end is None else t for t in self.transitions)
        opened = Transition(secondary, now, None, MESSAGES.get(secondary, ""))
        if secondary in TERMINAL or secondary == "MaxRuntimeExceeded":
            opened = replace(opened, end=now)
        return replace(
            self,
            secondary_status=secondary,
            status=status or self.status,
            transitions=(*closed, opened),
            last_modified_time=now,
        )

    def to_body(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arn": self.arn,
            "algorithm": self.algorithm,
            "request": self.request,
            "creation_time": self.creation_time.isoformat(),
            "status": self.status,
            "secondary_status": self.secondary_status,
            "transitions": [
                [t.status, t.start.isoformat(), t.end.isoformat() if t.end else None, t.message]
                for t in self.transitions
            ],
            "last_modified_time": _iso(self.last_modified_time),
            "training_start_time": _iso(self.training_start_time),
            "training_end_time": _iso(self.training_end_time),
            "failure_reason": self.failure_reason,
            "final_metrics": [
                [m.name, m.value, m.timestamp.isoformat()] for m in self.final_metrics
            ],
            "model_artifacts": self.model_artifacts,
            "training_seconds": self.training_seconds,
            "owner": self.owner,
            "extra": self.extra,
        }

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> TrainingJob:
        return cls(
            name=body["name"],
            arn=body["arn"],
            algorithm=body["algorithm"],
            request=body["request"],
            creation_time=datetime.fromisoformat(body["creation_time"]),
            status=body["status"],
            secondary_status=body["secondary_status"],
            transitions=tuple(
                Transition(s, datetime.fromisoformat(a), _time(b), m)
                for s, a, b, m in body["transitions"]
            ),
            last_modified_time=_time(body.get("last_modified_time")),
            training_start_time=_time(body.get("training_start_time")),
            training_end_time=_time(body.get("training_end_time")),
            failure_reason=body.get("failure_reason"),
            final_metrics=tuple(
                MetricValue(n, float(v), datetime.fromisoformat(t))
                for n, v, t in body.get("final_metrics", [])
            ),
            model_artifacts=body.get("model_artifacts", ""),
            training_seconds=body.get("training_seconds"),
            owner=body.get("owner", ""),
            extra=body.get("extra", {}),
        )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
