"""The consumer library's lease table: who reads which shard, and how far it has got.

It owns two kinds of control-plane resource under the ``kinesis`` service, as the
Kinesis Client Library keeps them in its DynamoDB lease table:

- ``lease`` named ``<application>/<stream>/<shardId>``: the owning worker (or none),
  the checkpoint (a sequence number, or ``TRIM_HORIZON``, ``LATEST``, ``AT_TIMESTAMP``
  before the first one, or ``SHARD_END`` once the shard is finished), the shard's
  parents, and when the owner last renewed it. The resource's ``state`` column is the
  lease counter: every change is a compare-and-set on it, so of two workers that read
  one version only one can take, renew or checkpoint the lease.
- ``worker`` named ``<application>/<stream>/<workerId>``: a heartbeat, so that a
  worker that holds no lease yet still counts when the shards are shared out.

Times are the engine clock's milliseconds, so tests can move a ``ManualClock``.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Set
from dataclasses import dataclass, replace
from typing import Any

from fogbank.core.errors import (
    ResourceInUseException,
    ResourceNotFoundException,
    ValidationException,
)
from fogbank.core.store import ControlPlaneStore, Resource

SERVICE = "kinesis"
LEASE_KIND = "lease"
WORKER_KIND = "worker"

TRIM_HORIZON = "TRIM_HORIZON"
LATEST = "LATEST"
AT_TIMESTAMP = "AT_TIMESTAMP"
SHARD_END = "SHARD_END"
INITIAL_POSITIONS = (TRIM_HORIZON, LATEST, AT_TIMESTAMP)


class LeaseLost(ResourceInUseException):
    """A checkpoint for a shard whose lease another worker now holds.

    The records after the last checkpoint will be delivered again to the new holder;
    the code stays ``ResourceInUseException``, the error AWS uses for a resource held
    elsewhere.
    """


@dataclass(frozen=True)
class Lease:
    """One shard's lease as read from the table."""

    shard_id: str
    counter: int
    owner: str | None
    checkpoint: str
    parent_shard_ids: tuple[str, ...]
    renewed_at_ms: int
    duration_ms: int
    timestamp_ms: int | None = None

    @property
    def finished(self) -> bool:
        return self.checkpoint == SHARD_END

    def expired(self, now_ms: int) -> bool:
        """Whether the owner has let it lapse (or there is none): anyone may take it."""
        return self.owner is None or now_ms > self.renewed_at_ms + self.duration_ms

    def held_by(self, worker: str, now_ms: int) -> bool:
        return self.owner == worker and not self.expired(now_ms)


@dataclass(frozen=True)
class TakePlan:
    """What a worker should try to take: up to ``need`` of ``lapsed``, in order; where
    none of those is to be had, ``steal``."""

    need: int
    lapsed: tuple[Lease, ...]
    steal: Lease | None


def plan_takes(
    leases: Iterable[Lease], worker: str, held: Set[str], live_workers: Set[str], now_ms: int
) -> TakePlan:
    """The Kinesis Client Library's balancing: each worker's fair share is the unfinished
    leases over the live workers, rounded up; below it a worker takes lapsed leases, and
    where there are none steals one lease from the worker holding the most."""
    unfinished = [lease for lease in leases if not lease.finished]
    owners = {lease.owner for lease in unfinished if lease.owner and not lease.expired(now_ms)}
    workers = set(live_workers) | owners | {worker}
    target = -(-len(unfinished) // len(workers))
    need = target - len(held)
    if need <= 0:
        return TakePlan(0, (), None)
    lapsed = tuple(
        lease
        for lease in unfinished
        # a lease still in this worker's name is a previous run's (the same worker id)
        if lease.shard_id not in held and (lease.expired(now_ms) or lease.owner == worker)
    )
    counts = Counter(
        lease.owner
        for lease in unfinished
        if lease.owner and lease.owner != worker and not lease.expired(now_ms)
    )
    steal = None
    if counts:
        victim, count = max(counts.items(), key=lambda item: (item[1], item[0]))
        # Over its share, or two more than this worker (4 shards, 3 workers: 2, 1, 1):
        # after the steal the victim holds no fewer than the thief, so never steals back.
        # One at a time: the victim notices at its next renewal and stops reading.
        if count > target or count >= len(held) + 2:
            steal = [lease for lease in unfinished if lease.held_by(victim, now_ms)][-1]
    return TakePlan(need, lapsed, steal)


class LeaseTable:
    """The leases and heartbeats of one application reading one stream."""

    def __init__(
        self, store: ControlPlaneStore, stream_arn: str, stream: str, application: str
    ) -> None:
        if not application or "/" in application:
            raise ValidationException(
                f"The application name {application!r} is not valid: give a non-empty name "
                "without '/', which separates the parts of a lease's name."
            )
        self.store = store
        self.stream_arn = stream_arn
        self.stream = stream
        self.application = application
        self._prefix = f"{application}/{stream}/"

    # ------------------------------------------------------------ leases

    def leases(self) -> list[Lease]:
        """Every lease of this application on this stream, in shard-id order."""
        return [_lease(r) for r in self._list(LEASE_KIND)]

    def find(self, shard_id: str) -> Lease | None:
        found = self.store.find_resource(SERVICE, LEASE_KIND, self._prefix + shard_id)
        return None if found is None else _lease(found)

    def create(
        self,
        shard_id: str,
        checkpoint: str,
        parent_shard_ids: Iterable[str],
        *,
        timestamp_ms: int | None = None,
    ) -> bool:
        """Make a shard's unowned lease; ``False`` where another worker made it first."""
        lease = Lease(shard_id, 0, None, checkpoint, tuple(parent_shard_ids), 0, 0, timestamp_ms)
        try:
            self.store.put_resource(
                SERVICE,
                LEASE_KIND,
                self._prefix + shard_id,
                self._arn(f"lease/{self.application}/{shard_id}"),
                _body(lease),
                state=str(lease.counter),
                create_only=True,
            )
        except ResourceInUseException:
            return False
        return True

    def update(self, lease: Lease, **changes: Any) -> Lease | None:
        """Compare-and-set: the lease with ``changes`` and its counter moved on, or
        ``None`` where it changed since ``lease`` was read (or is gone)."""
        new = replace(lease, counter=lease.counter + 1, **changes)
        stored = self.store.replace_resource(
            SERVICE,
            LEASE_KIND,
            self._prefix + lease.shard_id,
            _body(new),
            state=str(new.counter),
            expected_state=str(lease.counter),
        )
        return None if stored is None else _lease(stored)

    # ------------------------------------------------------------ workers

    def heartbeat(self, worker: str, now_ms: int, duration_ms: int) -> None:
        self.store.put_resource(
            SERVICE,
            WORKER_KIND,
            self._prefix + worker,
            self._arn(f"worker/{self.application}/{worker}"),
            {"worker": worker, "renewed_at_ms": now_ms, "duration_ms": duration_ms},
        )

    def forget_worker(self, worker: str) -> None:
        # ResourceNotFoundException: it never beat, or is already forgotten
        with contextlib.suppress(ResourceNotFoundException):
            self.store.delete_resource(SERVICE, WORKER_KIND, self._prefix + worker)

    def live_workers(self, now_ms: int) -> set[str]:
        """Workers whose heartbeat has not lapsed."""
        live = set()
        for resource in self._list(WORKER_KIND):
            body = resource.body
            if now_ms <= int(body["renewed_at_ms"]) + int(body["duration_ms"]):
                live.add(str(body["worker"]))
        return live

    # ------------------------------------------------------------ plumbing

    def _list(self, kind: str) -> list[Resource]:
        found: list[Resource] = []
        token: str | None = None
        while True:
            page, token = self.store.list_resources(
                SERVICE, kind, max_results=1000, next_token=token, name_prefix=self._prefix
            )
            found += page
            if token is None:
                return found

    def _arn(self, suffix: str) -> str:
        return f"{self.stream_arn}/{suffix}"


def _body(lease: Lease) -> dict[str, Any]:
    return {
        "shard_id": lease.shard_id,
        "owner": lease.owner,
        "checkpoint": lease.checkpoint,
        "parent_shard_ids": list(lease.parent_shard_ids),
        "renewed_at_ms": lease.renewed_at_ms,
        "duration_ms": lease.duration_ms,
        "timestamp_ms": lease.timestamp_ms,
    }


def _lease(resource: Resource) -> Lease:
    body = resource.body
    return Lease(
        shard_id=str(body["shard_id"]),
        counter=int(resource.state),
        owner=body.get("owner"),
        checkpoint=str(body["checkpoint"]),
        parent_shard_ids=tuple(body.get("parent_shard_ids") or ()),
        renewed_at_ms=int(body.get("renewed_at_ms") or 0),
        duration_ms=int(body.get("duration_ms") or 0),
        timestamp_ms=body.get("timestamp_ms"),
    )
