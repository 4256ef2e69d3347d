"""The control-plane store: every engine's durable records, in one SQLAlchemy Core database.

It owns the control plane's tables and their schema versions:

- **resources**: one row per ``(service, kind, name)`` (a Glue table, a training job, an
  endpoint...), with its ARN, its lifecycle state and its description as a JSON object;
- **tags**, keyed by ARN;
- **metrics**, CloudWatch-like: a series is a namespace, a metric name and a set of
  dimensions; long-running work records its progress as points on a series.

SQLite in WAL mode is the embedded default; any SQLAlchemy URL (PostgreSQL through
psycopg 3: ``postgresql+psycopg://user@host/db``) works by configuration. Both run this
one implementation: portable Core statements, JSON kept as text, times kept in UTC.

The schema is versioned: ``_MIGRATIONS[n - 1]`` brings a database to version ``n``, and
opening a store runs the missing ones, one transaction each. A database written by a
newer fogbank is refused rather than guessed at.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import URL, Connection, Dialect, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from fogbank.core.clock import Clock, SystemClock
from fogbank.core.errors import (
    InvalidConfiguration,
    ResourceInUseException,
    ResourceNotFoundException,
    ValidationException,
)

_SQLITE_BUSY_TIMEOUT_MS = 30_000
# A connection option read by the SQLite "begin" hook: writers take the write lock up front.
_WRITE_OPTION = "fogbank_write"
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Resource:
    """One control-plane record: what an engine's Describe* operation reports."""

    service: str
    kind: str
    name: str
    arn: str
    state: str
    body: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Put:
    """One resource to create or replace in :meth:`ControlPlaneStore.put_resources`."""

    kind: str
    name: str
    arn: str
    body: Mapping[str, Any]
    state: str = ""


@dataclass(frozen=True)
class MetricPoint:
    """One value of a metric at one time, as CloudWatch's GetMetricData returns it."""

    namespace: str
    name: str
    value: float
    dimensions: dict[str, str]
    timestamp: datetime


class _UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    PostgreSQL keeps ``timestamptz``; SQLite has no zone, so it keeps naive UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = _utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Names sort by code point on both backends: SQLite compares bytes of UTF-8 already;
# PostgreSQL would use the database's locale (where "a" < "B") unless told "C".
_Name = Text().with_variant(Text(collation="C"), "postgresql")

_metadata = MetaData()

_schema_version = Table(
    "schema_version",
    _metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", _UTCDateTime, nullable=False),
)

_resources = Table(
    "resources",
    _metadata,
    Column("service", Text, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("name", _Name, primary_key=True),  # the key's order serves list_resources
    Column("arn", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", _UTCDateTime, nullable=False),
    Column("updated_at", _UTCDateTime, nullable=False),
)

_tags = Table(
    "tags",
    _metadata,
    Column("arn", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

_metric_series = Table(
    "metric_series",
    _metadata,
    Column("id", Integer, primary_key=True),
    # sha256 of (namespace, name, dimensions): unique however long the dimensions are
    Column("series_key", Text, nullable=False, unique=True),
    Column("namespace", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("dimensions", Text, nullable=False),
    Index("ix_metric_series_namespace_name", "namespace", "name"),
)

_metric_points = Table(
    "metric_points",
    _metadata,
    # BigInteger on PostgreSQL, but INTEGER on SQLite so that it is the rowid
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("series_id", Integer, ForeignKey("metric_series.id"), nullable=False),
    Column("timestamp", _UTCDateTime, nullable=False),
    Column("value", Double, nullable=False),
    Index("ix_metric_points_series_timestamp", "series_id", "timestamp"),
)


def _create_control_plane_tables(conn: Connection) -> None:
    """Version 1: resources, tags and metrics."""
    # A shipped migration must keep meaning the same thing. This one creates the tables
    # as declared above; when a later migration alters one of them, copy the version-1
    # declaration into this function first, so that a fresh database still goes 1, 2...
    _metadata.create_all(
        conn, tables=[_resources, _tags, _metric_series, _metric_points], checkfirst=False
    )


# _MIGRATIONS[n - 1] brings the schema from version n - 1 to version n. Append only.
_MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_create_control_plane_tables,)


class ControlPlaneStore:
    """The control plane's tables behind one SQLAlchemy engine, SQLite or PostgreSQL by URL.

    Opening it creates the database's parent folder (SQLite) and brings the schema up to
    date. Every method runs in its own transaction; it is safe to share one store between
    threads, and several processes may open the same database.
    """

    def __init__(self, url: str, *, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()
        parsed = _parse_url(url)
        self._display_url = parsed.render_as_string(hide_password=True)
        # An in-memory SQLite database lives in one connection, which every thread shares:
        # the lock lets one transaction at a time use it. Other stores need no lock.
        self._lock: AbstractContextManager[Any] = nullcontext()
        self._engine = self._create_engine(parsed)
        try:
            self._migrate()
        except BaseException:
            self._engine.dispose()
            raise

    @property
    def url(self) -> str:
        """The database URL, with any password shown as ``***``."""
        return self._display_url

    @property
    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        with self._transaction() as conn:
            return _recorded_version(conn)

    def reset(self) -> None:
        """Delete every resource, tag and metric; the schema stays (the gateway's reset)."""
        with self._transaction(write=True) as conn:
            for table in reversed(_metadata.sorted_tables):
                if table is not _schema_version:
                    conn.execute(table.delete())

    def close(self) -> None:
        """Close every pooled connection. The store cannot be used afterwards."""
        self._engine.dispose()

    def __repr__(self) -> str:
        return f"ControlPlaneStore({self._display_url!r})"

    # resources

    def put_resource(
        self,
        service: str,
        kind: str,
        name: str,
        arn: str,
        body: Mapping[str, Any],
        *,
        state: str = "",
        create_only: bool = False,
    ) -> Resource:
        """Store a resource: create it, or replace its ARN, state and body.

        With ``create_only`` (what every Create* operation wants), an existing
        ``(service, kind, name)`` raises :class:`ResourceInUseException`. Replacing keeps
        ``created_at`` and moves ``updated_at`` to now.
        """
        put = Put(kind, name, arn, body, state)
        if create_only:
            return self.put_resources(service, [put], create_only=True)[0]
        now = self._now()
        with self._transaction(write=True) as conn:
            return _put(conn, service, put, now)

    def put_resources(
        self, service: str, puts: Sequence[Put], *, create_only: bool = False
    ) -> list[Resource]:
        """Store several resources, as :meth:`put_resource` does each, in one
        transaction: all of them or none, one commit. With ``create_only`` each must be
        new (:class:`ResourceInUseException` names the first that is not)."""
        now = self._now()
        if not create_only:
            with self._transaction(write=True) as conn:
                return [_put(conn, service, put, now) for put in puts]
        rows: list[dict[str, Any]] = [
            {
                "service": service,
                "kind": put.kind,
                "name": put.name,
                "arn": put.arn,
                "state": put.state,
                "body": _dump_body(put.body),
                "created_at": now,
                "updated_at": now,
            }
            for put in puts
        ]
        with self._transaction(write=True) as conn:
            for row, put in zip(rows, puts, strict=True):
                try:
                    with conn.begin_nested():
                        conn.execute(insert(_resources), row)
                except IntegrityError:
                    raise ResourceInUseException(
                        f"{put.kind} {put.name!r} already exists. Choose another name, "
                        f"or delete the existing {put.kind} first."
                    ) from None
        return [
            Resource(
                service, put.kind, put.name, put.arn, put.state, json.loads(row["body"]), now, now
            )
            for row, put in zip(rows, puts, strict=True)
        ]

    def replace_resource(
        self,
        service: str,
        kind: str,
        name: str,
        body: Mapping[str, Any],
        *,
        state: str,
        expected_state: str,
    ) -> Resource | None:
        """Replace a resource's body and state only while its state is ``expected_state``.

        Optimistic concurrency (an update that names the version it read): of writers
        that read one state, one wins and the rest get ``None``, as they do when the
        resource is gone. The ARN and ``created_at`` stay; ``updated_at`` moves to now.
        """
        stored_body = _dump_body(body)
        with self._transaction(write=True) as conn:
            replaced = conn.execute(
                update(_resources)
                .where(*_resource_key(service, kind, name), _resources.c.state == expected_state)
                .values(body=stored_body, state=state, updated_at=self._now())
            )
            if replaced.rowcount != 1:
                return None
            return _to_resource(conn.execute(_BY_KEY, _key_params(service, kind, name)).one())

    def get_resource(self, service: str, kind: str, name: str) -> Resource:
        """The resource, or :class:`ResourceNotFoundException` naming its kind and name."""
        found = self.find_resource(service, kind, name)
        if found is None:
            raise _not_found(kind, name)
        return found

    def find_resource(self, service: str, kind: str, name: str) -> Resource | None:
        """The resource, or ``None`` where there is none by that name."""
        with self._transaction() as conn:
            row = conn.execute(_BY_KEY, _key_params(service, kind, name)).one_or_none()
        return None if row is None else _to_resource(row)

    def list_resources(
        self,
        service: str,
        kind: str,
        *,
        max_results: int = 100,
        next_token: str | None = None,
        name_prefix: str | None = None,
    ) -> tuple[list[Resource], str | None]:
        """One page of a kind's resources in name order, and the token for the next page.

        Mirrors the List* operations: ``next_token`` is ``None`` on the last page, and a
        token stays valid while resources come and go (it marks a place in name order).
        ``name_prefix`` keeps names that start with it, case-sensitively.
        """
        if max_results < 1:
            raise ValidationException(
                f"MaxResults must be at least 1; got {max_results}. Ask for 1 or more."
            )
        query = select(_resources).where(_resources.c.service == service, _resources.c.kind == kind)
        if next_token is not None:
            query = query.where(_resources.c.name > _decode_token(next_token))
        if name_prefix:
            query = query.where(
                _resources.c.name >= name_prefix,
                func.substr(_resources.c.name, 1, len(name_prefix)) == name_prefix,
            )
        query = query.order_by(_resources.c.name).limit(max_results + 1)
        with self._transaction() as conn:
            rows = conn.execute(query).all()
        page = [_to_resource(row) for row in rows[:max_results]]
        token = _encode_token(page[-1].name) if len(rows) > max_results else None
        return page, token

    def all_resources(self, service: str, kind: str) -> list[Resource]:
        """Every resource of a kind, in name order: what a List* operation that filters
        or sorts on more than the name reads before it pages."""
        found: list[Resource] = []
        token: str | None = None
        while True:
            page, token = self.list_resources(service, kind, max_results=1000, next_token=token)
            found.extend(page)
            if token is None:
                return found

    def delete_resource(self, service: str, kind: str, name: str) -> None:
        """Delete the resource and the tags on its ARN; a missing one is not found."""
        key = _resource_key(service, kind, name)
        with self._transaction(write=True) as conn:
            arn = conn.scalar(select(_resources.c.arn).where(*key))
            if arn is None:
                raise _not_found(kind, name)
            conn.execute(delete(_resources).where(*key))
            conn.execute(delete(_tags).where(_tags.c.arn == arn))

    def delete_resources(self, service: str, kind: str, *, name_prefix: str) -> int:
        """Delete every resource of a kind whose name starts with ``name_prefix``, and the
        tags on their ARNs, in one transaction; returns how many went.

        What a cascade wants (a Glue table's partitions go with it): one transaction,
        not one per child. The prefix may not be empty, so that no slip deletes a kind.
        """
        if not name_prefix:
            raise ValueError("delete_resources needs a non-empty name_prefix")
        where = (
            _resources.c.service == service,
            _resources.c.kind == kind,
            _resources.c.name >= name_prefix,
            func.substr(_resources.c.name, 1, len(name_prefix)) == name_prefix,
        )
        with self._transaction(write=True) as conn:
            conn.execute(
                delete(_tags).where(_tags.c.arn.in_(select(_resources.c.arn).where(*where)))
            )
            return int(conn.execute(delete(_resources).where(*where)).rowcount)

    # tags

    def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None:
        """Add tags to an ARN, replacing the values of keys it already has (TagResource)."""
        with self._transaction(write=True) as conn:
            for key, value in tags.items():
                _upsert(conn, _tags, {"arn": arn, "key": key}, {"value": value}, {})

    def untag_resource(self, arn: str, keys: Iterable[str]) -> None:
        """Remove the named tag keys from an ARN; keys it lacks are ignored (UntagResource)."""
        keys = list(keys)
        if not keys:
            return
        with self._transaction(write=True) as conn:
            conn.execute(delete(_tags).where(_tags.c.arn == arn, _tags.c.key.in_(keys)))

    def list_tags(self, arn: str) -> dict[str, str]:
        """The ARN's tags, by key (ListTags...); empty where it has none."""
        with self._transaction() as conn:
            rows = conn.execute(select(_tags.c.key, _tags.c.value).where(_tags.c.arn == arn))
            return dict(sorted((key, value) for key, value in rows))

    # metrics

    def put_metric(
        self,
        namespace: str,
        name: str,
        value: float,
        *,
        dimensions: Mapping[str, str] | None = None,
        timestamp: datetime | None = None,
    ) -> None:
        """Record one point of a metric (PutMetricData); the time defaults to now.

        As CloudWatch does, it refuses NaN and infinities.
        """
        self.put_metrics(namespace, {name: value}, dimensions=dimensions, timestamp=timestamp)

    def put_metrics(
        self,
        namespace: str,
        values: Mapping[str, float],
        *,
        dimensions: Mapping[str, str] | None = None,
        timestamp: datetime | None = None,
    ) -> None:
        """Record one point of each named metric, with the same dimensions and time, in
        one transaction (PutMetricData with several MetricData entries)."""
        self.put_metric_batch(namespace, [(values, dimensions or {}, timestamp)])

    def put_metric_batch(
        self,
        namespace: str,
        entries: Sequence[tuple[Mapping[str, float], Mapping[str, str], datetime | None]],
    ) -> None:
        """Several :meth:`put_metrics` calls (values, dimensions, time) in one transaction:
        for engines that gather points in memory and write them now and then."""
        for values, _, _ in entries:
            for name, value in values.items():
                if not math.isfinite(value):
                    raise ValidationException(
                        f"The value {value!r} for metric {namespace}/{name} is not valid; "
                        "metric values must be finite numbers."
                    )
        rows = [
            (
                values,
                json.dumps(dict(dimensions), sort_keys=True),
                self._now() if timestamp is None else _utc(timestamp),
            )
            for values, dimensions, timestamp in entries
        ]
        with self._transaction(write=True) as conn:
            series: dict[tuple[str, str], int] = {}
            points = []
            for values, dims, when in rows:
                for name, value in values.items():
                    key = (name, dims)
                    if key not in series:
                        series[key] = _series_id(conn, namespace, name, dims)
                    points.append({"series_id": series[key], "timestamp": when, "value": value})
            if points:
                conn.execute(insert(_metric_points), points)

    def get_metrics(
        self,
        namespace: str,
        name: str | None = None,
        *,
        dimensions: Mapping[str, str] | None = None,
        since: datetime | None = None,
    ) -> list[MetricPoint]:
        """A namespace's points, oldest first (ties in the order they were put).

        ``name`` keeps one metric; ``dimensions`` keeps the series that have all of those
        dimension values (and perhaps more); ``since`` keeps points at or after it.
        """
        series_query = select(_metric_series).where(_metric_series.c.namespace == namespace)
        if name is not None:
            series_query = series_query.where(_metric_series.c.name == name)
        points = (
            select(_metric_points.c.series_id, _metric_points.c.value, _metric_points.c.timestamp)
            .join(_metric_series)
            .where(_metric_series.c.namespace == namespace)
            .order_by(_metric_points.c.timestamp, _metric_points.c.id)
        )
        if name is not None:
            points = points.where(_metric_series.c.name == name)
        if since is not None:
            points = points.where(_metric_points.c.timestamp >= _utc(since))
        wanted = dict(dimensions or {}).items()
        with self._transaction() as conn:
            series: dict[int, tuple[str, dict[str, str]]] = {}
            for row in conn.execute(series_query):
                dims: dict[str, str] = json.loads(row.dimensions)
                if wanted <= dims.items():
                    series[row.id] = (row.name, dims)
            if not series:
                return []
            if wanted:
                points = points.where(_metric_points.c.series_id.in_(list(series)))
            rows = conn.execute(points).all()
        return [
            MetricPoint(
                namespace=namespace,
                name=series[row.series_id][0],
                value=row.value,
                dimensions=dict(series[row.series_id][1]),
                timestamp=row.timestamp,
            )
            for row in rows
        ]

    def metric_names(self, namespace: str | None = None) -> list[tuple[str, str]]:
        """The distinct ``(namespace, name)`` pairs with points, sorted (ListMetrics)."""
        query = select(_metric_series.c.namespace, _metric_series.c.name).distinct()
        if namespace is not None:
            query = query.where(_metric_series.c.namespace == namespace)
        with self._transaction() as conn:
            return sorted((ns, metric) for ns, metric in conn.execute(query))

    # plumbing

    def _now(self) -> datetime:
        return _utc(self._clock.now())

    @contextmanager
    def _transaction(self, *, write: bool = False) -> Iterator[Connection]:
        with self._lock, self._engine.connect() as conn:
            if write:
                conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                yield conn

    def _create_engine(self, url: URL) -> Engine:
        options: dict[str, Any] = {}
        sqlite = url.get_backend_name() == "sqlite"
        if sqlite:
            database = url.database or ""
            if database in ("", ":memory:") or url.query.get("mode") == "memory":
                options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
                self._lock = threading.RLock()
            elif not database.startswith("file:"):
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        else:
            options["pool_pre_ping"] = True
        try:
            engine = create_engine(url, **options)
        except ImportError as exc:
            hint = (
                "pip install 'fogbank[postgres]'"
                if url.get_backend_name() == "postgresql"
                else "install the database driver it names"
            )
            raise InvalidConfiguration(
                f"control_plane_url {self._display_url} needs a database driver that is not "
                f"installed ({exc.name or exc}): {hint}."
            ) from exc
        except ArgumentError as exc:
            raise InvalidConfiguration(
                f"control_plane_url {self._display_url} cannot be used: {exc}. "
                "Give a SQLAlchemy URL such as sqlite:///path/to/control-plane.sqlite "
                "or postgresql+psycopg://user@host/db."
            ) from exc
        if sqlite:
            event.listen(engine, "connect", _configure_sqlite_connection)
            event.listen(engine, "begin", _begin_sqlite_transaction)
        return engine

    def _migrate(self) -> None:
        """Bring the schema up to the latest version, one migration per transaction.

        Several processes may open one fresh database at once: SQLite queues their
        transactions, and on PostgreSQL the loser of a race fails on a duplicate table
        or version; it then finds the work done by the winner and goes on.
        """
        try:
            with self._engine.connect():
                pass
        except OperationalError as exc:
            raise InvalidConfiguration(
                f"cannot open the control-plane store at {self._display_url}: "
                f"{str(exc.orig).strip()}. Check control_plane_url (FOGBANK_CONTROL_PLANE_URL)."
            ) from exc
        try:
            with self._transaction(write=True) as conn:
                _schema_version.create(conn, checkfirst=True)
        except (IntegrityError, ProgrammingError, OperationalError):
            with self._transaction() as conn:
                if not inspect(conn).has_table(_schema_version.name):
                    raise
        with self._transaction() as conn:
            current = _recorded_version(conn)
        latest = len(_MIGRATIONS)
        if current > latest:
            raise InvalidConfiguration(
                f"the control-plane store at {self._display_url} is at schema version "
                f"{current}, but this fogbank knows versions up to {latest}: the home was "
                "written by a newer fogbank. Upgrade fogbank, or use another home."
            )
        for version in range(current + 1, latest + 1):
            try:
                with self._transaction(write=True) as conn:
                    if _recorded_version(conn) >= version:
                        continue
                    _MIGRATIONS[version - 1](conn)
                    conn.execute(
                        insert(_schema_version).values(version=version, applied_at=self._now())
                    )
            except DBAPIError:
                with self._transaction() as conn:
                    if _recorded_version(conn) < version:
                        raise


def _parse_url(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise InvalidConfiguration(
            f"control_plane_url {url!r} is not a database URL: {exc}. Give a SQLAlchemy URL "
            "such as sqlite:///path/to/control-plane.sqlite or postgresql+psycopg://user@host/db."
        ) from exc


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Hand transaction control to the "begin" hook below: pysqlite's own never BEGINs
    # before DDL, which would leave migrations half-applied after a crash.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        # FULL: an acknowledged control-plane write survives power loss, not only kill -9.
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    # WAL mode is kept in the file: once one connection has switched, the rest see "wal".
    # Switching takes an exclusive lock, and SQLite answers "database is locked" at once,
    # without waiting for busy_timeout, when two fresh connections race to do it. Retry.
    deadline = time.monotonic() + _SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _begin_sqlite_transaction(conn: Connection) -> None:
    # Writers take the write lock at BEGIN, so a second writer waits for busy_timeout;
    # a deferred transaction that upgrades its read lock would fail at once instead.
    write = conn.get_execution_options().get(_WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _recorded_version(conn: Connection) -> int:
    return conn.scalar(select(func.max(_schema_version.c.version))) or 0


def _upsert(
    conn: Connection,
    table: Table,
    key: Mapping[str, Any],
    values: Mapping[str, Any],
    insert_only: Mapping[str, Any],
) -> None:
    """Update the row with ``key``, or insert it; safe against a concurrent insert."""
    where = [table.c[column] == value for column, value in key.items()]
    if conn.execute(update(table).where(*where).values(**values)).rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(insert(table).values(**key, **values, **insert_only))
    except IntegrityError:
        # another writer inserted it between our update and insert: update theirs
        conn.execute(update(table).where(*where).values(**values))


def _series_id(conn: Connection, namespace: str, name: str, dimensions: str) -> int:
    key = hashlib.sha256(json.dumps([namespace, name, dimensions]).encode()).hexdigest()
    query = select(_metric_series.c.id).where(_metric_series.c.series_key == key)
    found: int | None = conn.scalar(query)
    if found is not None:
        return found
    try:
        with conn.begin_nested():
            inserted = insert(_metric_series).values(
                series_key=key, namespace=namespace, name=name, dimensions=dimensions
            )
            return int(conn.execute(inserted.returning(_metric_series.c.id)).scalar_one())
    except IntegrityError:
        # a concurrent writer created the series first
        return int(conn.execute(query).scalar_one())


# One resource by its key, with bound parameters: SQLAlchemy compiles it once, where a
# statement built per call is compiled per call (half of a lookup's time).
_BY_KEY = select(_resources).where(
    _resources.c.service == bindparam("key_service"),
    _resources.c.kind == bindparam("key_kind"),
    _resources.c.name == bindparam("key_name"),
)


def _key_params(service: str, kind: str, name: str) -> dict[str, str]:
    return {"key_service": service, "key_kind": kind, "key_name": name}


def _put(conn: Connection, service: str, put: Put, now: datetime) -> Resource:
    """Create or replace one resource in ``conn``'s transaction; the stored row."""
    key = {"service": service, "kind": put.kind, "name": put.name}
    values = {"arn": put.arn, "state": put.state, "body": _dump_body(put.body)}
    _upsert(conn, _resources, key, {**values, "updated_at": now}, {"created_at": now})
    return _to_resource(conn.execute(_BY_KEY, _key_params(service, put.kind, put.name)).one())


def _resource_key(service: str, kind: str, name: str) -> tuple[Any, ...]:
    return (
        _resources.c.service == service,
        _resources.c.kind == kind,
        _resources.c.name == name,
    )


def _to_resource(row: Any) -> Resource:
    return Resource(
        service=row.service,
        kind=row.kind,
        name=row.name,
        arn=row.arn,
        state=row.state,
        body=json.loads(row.body),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _dump_body(body: Mapping[str, Any]) -> str:
    if not isinstance(body, Mapping):
        raise TypeError(f"a resource body must be a mapping (a JSON object); got {type(body)}")
    return json.dumps(dict(body), sort_keys=True, allow_nan=False)


def _not_found(kind: str, name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(
        f"{kind} {name!r} does not exist. Check the name, or create the {kind} first."
    )


def _encode_token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode("utf-8")).decode("ascii").rstrip("=")


def _decode_token(token: str) -> str:
    try:
        if not _TOKEN_RE.match(token):
            raise ValueError(token)
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return raw.decode("utf-8")
    except (ValueError, binascii.Error):
        raise ValidationException(
            f"The NextToken {token!r} is not valid; pass the NextToken from the previous response."
        ) from None


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"times in the control plane must be timezone-aware; got {value!r}")
    return value.astimezone(UTC)
