"""Training jobs' logs as CloudWatch Logs shows them: DescribeLogStreams, GetLogEvents.

SageMaker writes each host's output to the log group ``/aws/sagemaker/TrainingJobs``,
stream ``<job>/algo-<n>-<epoch seconds>``; the SageMaker Python SDK's ``fit()`` (logs on,
its default) lists the job's streams and follows them with GetLogEvents. Here a stream is
the host's log file, and an event is a line with the time the job's run read it
(``algo-<n>.times``), so a reader polling the stream sees lines appear as they are
written, at stable timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fogbank.core.errors import InvalidParameterException, ResourceNotFoundException
from fogbank.ml.training.runner import times_path

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
MAX_EVENTS = 10_000
MAX_BYTES = 1_048_576


@dataclass(frozen=True)
class LogStream:
    name: str
    path: Path
    creation_ms: int
    first_event_ms: int | None
    last_event_ms: int | None
    stored_bytes: int


@dataclass(frozen=True)
class LogEvent:
    timestamp: int
    message: str
    ingestion_time: int


@dataclass(frozen=True)
class LogEventPage:
    events: tuple[LogEvent, ...]
    forward_token: str
    backward_token: str


def stream_name(job: str, host: str, created_ms: int) -> str:
    return f"{job}/{host}-{created_ms // 1000}"


def require_group(group: str) -> None:
    if group != LOG_GROUP:
        raise ResourceNotFoundException(
            f"The specified log group does not exist: {group!r}. fogbank keeps the logs of "
            f"training jobs in {LOG_GROUP}."
        )


def describe(path: Path, name: str, created_ms: int) -> LogStream:
    times = _times(path)
    size = path.stat().st_size if path.exists() else 0
    return LogStream(
        name,
        path,
        created_ms,
        times[0] if times else None,
        times[-1] if times else None,
        size,
    )


def ingest(path: Path, now_ms: int) -> None:
    """Give the complete lines of ``path`` that have no ingestion time yet ``now_ms``:
    for logs no job run reads as they are written (endpoint and transform instances),
    a line's ingestion is the first time a reader asks for it."""
    if not path.exists():
        return
    with path.open("rb") as log:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: log.read(1 << 20), b""))
    stamped = len(_times(path))
    if lines > stamped:
        with times_path(path).open("a", encoding="ascii") as times:
            times.write(f"{now_ms}\n" * (lines - stamped))


def _times(path: Path) -> list[int]:
    kept = times_path(path)
    if not kept.exists():
        return []
    return [int(t) for t in kept.read_text(encoding="ascii").split()]


def _token(kind: str, index: int) -> str:
    return f"{kind}/{index:020d}"


def _position(token: str) -> tuple[str, int]:
    kind, _, index = token.partition("/")
    if kind not in ("f", "b") or not index.isdigit():
        raise InvalidParameterException(
            f"nextToken {token!r} is not valid: pass the nextForwardToken or "
            "nextBackwardToken a previous GetLogEvents returned."
        )
    return kind, int(index)


def events(
    stream: LogStream,
    *,
    start_time: int | None = None,
    end_time: int | None = None,
    start_from_head: bool = False,
    next_token: str | None = None,
    limit: int | None = None,
) -> LogEventPage:
    """GetLogEvents over one stream: lines with ingestion times, in order, at most
    ``limit`` (10,000) events or 1 MB; tokens mark a line index, as CloudWatch's do."""
    times = _times(stream.path)
    text = stream.path.read_text(encoding="utf-8", errors="replace") if stream.path.exists() else ""
    lines = text.split("\n")[: len(times)]  # lines whose ingestion was recorded
    chosen = [
        i
        for i, t in enumerate(times)
        if (start_time is None or t >= start_time) and (end_time is None or t < end_time)
    ]
    most = min(limit or MAX_EVENTS, MAX_EVENTS)
    if next_token is not None:
        kind, index = _position(next_token)
        forward = kind == "f"
    else:
        forward = start_from_head
        index = 0 if forward else len(times)
    if forward:
        picked = [i for i in chosen if i >= index][:most]
    else:
        picked = [i for i in chosen if i < index][-most:]
    page: list[LogEvent] = []
    size = 0
    for i in picked:
        size += len(lines[i].encode()) + 26  # CloudWatch counts 26 bytes per event
        if size > MAX_BYTES and page:
            break
        page.append(LogEvent(times[i], lines[i], times[i]))
    if page:
        forward_token = _token("f", picked[len(page) - 1] + 1)
        backward_token = _token("b", picked[0])
    else:
        forward_token = backward_token = _token("f" if forward else "b", index)
    return LogEventPage(tuple(page), forward_token, backward_token)
