"""Glue crawlers: definitions, runs in background threads, and what a run writes.

A crawler's definition lives in the control-plane store (service ``glue``, kind
``crawler``, named as given), with its lifecycle state (READY, RUNNING, STOPPING) in the
resource's state column, so that starting is one conditional write: of two starters
only one moves it from READY. Each run is a ``crawl`` resource named
``<crawler>\\x1f<descending number>`` (newest first in name order) for ListCrawls.

A run walks each S3 target in the lake, leaves out what ``Exclusions`` match, samples
``SampleSize`` files per folder, classifies them (:mod:`fogbank.catalog.classifiers`),
and groups folders into tables the way Glue does: folders below a table root whose
formats agree and whose schemas are similar become partitions of one table (``k=v``
folders name their key, others are ``partition_0``, ``partition_1``...); dissimilar
folders become tables of their own, named after the folder. The catalog is written at
the end of a run, under the crawler's SchemaChangePolicy; a stopped run writes nothing.

A run interrupted by the end of its process (a crash, a kill) is marked FAILED the
next time a :class:`Crawlers` opens the store.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import logging
import os
import re
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypedDict

from fogbank.catalog.classifiers import (
    UNKNOWN,
    Classification,
    FileSource,
    GlueType,
    UnreadableFile,
    classify,
    merge_fields,
    type_name,
)
from fogbank.catalog.engine import Catalog
from fogbank.catalog.model import PartitionInput, StorageDescriptor, TableInput
from fogbank.catalog.names import check_name
from fogbank.core.clock import Clock
from fogbank.core.errors import (
    AlreadyExistsException,
    CrawlerNotRunningException,
    CrawlerRunningException,
    CrawlerStoppingException,
    EntityNotFoundException,
    FogbankError,
    InvalidInputException,
    ResourceInUseException,
)
from fogbank.core.store import ControlPlaneStore, Resource
from fogbank.lake.engine import Lake

log = logging.getLogger(__name__)

SERVICE = "glue"
CRAWLER, CRAWL = "crawler", "crawl"
READY, RUNNING, STOPPING = "READY", "RUNNING", "STOPPING"
_SEP = "\x1f"
_CRAWL_CEILING = 10**12
# Glue documents SampleSize as 1 to 249 files per leaf folder.
MAX_SAMPLE_SIZE = 249
# Glue's "partition threshold": folders are partitions of one table when each shares
# more than 70% of the union of their columns.
SIMILARITY_THRESHOLD = 0.7
_MAX_ERROR_MESSAGE = 2048
_UPDATE_BEHAVIORS = ("UPDATE_IN_DATABASE", "LOG")
_DELETE_BEHAVIORS = ("DEPRECATE_IN_DATABASE", "DELETE_FROM_DATABASE", "LOG")
_RECRAWL_BEHAVIORS = ("CRAWL_EVERYTHING", "CRAWL_NEW_FOLDERS_ONLY", "CRAWL_EVENT_MODE")
_UNSUPPORTED_TARGETS = (
    "JdbcTargets",
    "MongoDBTargets",
    "DynamoDBTargets",
    "CatalogTargets",
    "DeltaTargets",
    "IcebergTargets",
    "HudiTargets",
)
_MEMBERS = (
    "Role",
    "DatabaseName",
    "Description",
    "Targets",
    "Classifiers",
    "TablePrefix",
    "SchemaChangePolicy",
    "RecrawlPolicy",
    "LineageConfiguration",
    "LakeFormationConfiguration",
    "Configuration",
    "CrawlerSecurityConfiguration",
)

# How Glue describes each format's files to Hive: input format, output format, SerDe.
_TEXT_IN = "org.apache.hadoop.mapred.TextInputFormat"
_TEXT_OUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
_FORMATS: dict[str, tuple[str, str, str]] = {
    "csv": (_TEXT_IN, _TEXT_OUT, "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"),
    "json": (_TEXT_IN, _TEXT_OUT, "org.openx.data.jsonserde.JsonSerDe"),
    "parquet": (
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
    ),
    "orc": (
        "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
        "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
        "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
    ),
    "avro": (
        "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
        "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat",
        "org.apache.hadoop.hive.serde2.avro.AvroSerDe",
    ),
}


class CrawlerInput(TypedDict, total=False):
    """CreateCrawler's and UpdateCrawler's members, by Glue's names."""

    Name: str
    Role: str
    DatabaseName: str
    Description: str
    Targets: dict[str, Any]
    Schedule: str
    Classifiers: list[str]
    TablePrefix: str
    SchemaChangePolicy: dict[str, str]
    RecrawlPolicy: dict[str, str]
    LineageConfiguration: dict[str, str]
    LakeFormationConfiguration: dict[str, Any]
    Configuration: str
    CrawlerSecurityConfiguration: str


@dataclass(frozen=True)
class LastCrawl:
    status: str
    """SUCCEEDED, CANCELLED or FAILED."""
    start_time: datetime
    error_message: str | None = None
    log_group: str = "/aws-glue/crawlers"
    log_stream: str = ""
    message_prefix: str = ""


@dataclass(frozen=True)
class Crawler:
    """GetCrawler's answer."""

    name: str
    role: str
    targets: Mapping[str, Any]
    state: str
    creation_time: datetime
    last_updated: datetime
    version: int
    database_name: str | None = None
    description: str | None = None
    classifiers: tuple[str, ...] = ()
    recrawl_policy: Mapping[str, str] | None = None
    schema_change_policy: Mapping[str, str] | None = None
    lineage_configuration: Mapping[str, str] | None = None
    table_prefix: str | None = None
    schedule: Mapping[str, str] | None = None
    crawl_elapsed_time: int = 0
    """Milliseconds since the running crawl started; 0 when none runs."""
    last_crawl: LastCrawl | None = None
    configuration: str | None = None
    crawler_security_configuration: str | None = None
    lake_formation_configuration: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class CrawlerMetrics:
    crawler_name: str
    time_left_seconds: float = 0.0
    still_estimating: bool = False
    last_runtime_seconds: float = 0.0
    median_runtime_seconds: float = 0.0
    tables_created: int = 0
    tables_updated: int = 0
    tables_deleted: int = 0


@dataclass(frozen=True)
class CrawlHistory:
    """One run, as ListCrawls reports it."""

    crawl_id: str
    state: str
    """RUNNING, COMPLETED, FAILED or STOPPED."""
    start_time: datetime
    end_time: datetime | None = None
    summary: str | None = None
    error_message: str | None = None
    dpu_hour: float = 0.0


@dataclass(frozen=True)
class CrawlerPage:
    items: tuple[Crawler, ...]
    next_token: str | None = None


# ---------------------------------------------------------------------- the engine


class _Cancelled(Exception):
    """StopCrawler was called: the run ends without writing to the catalog."""


@dataclass
class _Run:
    thread: threading.Thread
    stop: threading.Event


class Crawlers:
    """Every crawler of one account and region, and the threads running their crawls."""

    def __init__(
        self,
        store: ControlPlaneStore,
        lake: Lake,
        catalog: Catalog,
        *,
        clock: Clock,
        account_id: str,
        region: str,
    ) -> None:
        self._store = store
        self._lake = lake
        self._catalog = catalog
        self._clock = clock
        self.account_id = account_id
        self.region = region
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()
        self.before_file: Callable[[str], None] | None = None
        """A test seam: called with each file's s3:// URL before it is classified, on
        the crawl's thread (a test blocks it to hold a crawl in RUNNING)."""
        self.recover()

    # ------------------------------------------------------------------ definitions

    def crawler_arn(self, name: str) -> str:
        return f"arn:aws:glue:{self.region}:{self.account_id}:crawler/{name}"

    def create_crawler(
        self, definition: CrawlerInput, *, tags: Mapping[str, str] | None = None
    ) -> Crawler:
        """CreateCrawler: validated, stored READY, version 1."""
        name = check_name(definition.get("Name") or "", "Name")
        now = _iso(self._now())
        body: dict[str, Any] = {
            "Name": name,
            "SchemaChangePolicy": {
                "UpdateBehavior": "UPDATE_IN_DATABASE",
                "DeleteBehavior": "DEPRECATE_IN_DATABASE",
            },
            "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_EVERYTHING"},
            "LineageConfiguration": {"CrawlerLineageSettings": "DISABLE"},
            "LakeFormationConfiguration": {"UseLakeFormationCredentials": False, "AccountId": ""},
            "Classifiers": [],
            "CreationTime": now,
            "LastUpdated": now,
            "Version": 1,
            "Runtimes": [],
        }
        _apply(body, definition, creating=True)
        try:
            self._store.put_resource(
                SERVICE, CRAWLER, name, self.crawler_arn(name), body, state=READY, create_only=True
            )
        except ResourceInUseException:
            raise AlreadyExistsException(
                f"Crawler with name {name} has already been created."
            ) from None
        if tags:
            self._store.tag_resource(self.crawler_arn(name), tags)
        return self.get_crawler(name)

    def get_crawler(self, name: str) -> Crawler:
        return self._crawler(self._resource(name))

    def get_crawlers(self, *, max_results: int = 100, next_token: str | None = None) -> CrawlerPage:
        page, token = self._store.list_resources(
            SERVICE, CRAWLER, max_results=max_results, next_token=next_token
        )
        return CrawlerPage(tuple(self._crawler(r) for r in page), token)

    def list_crawlers(
        self,
        *,
        max_results: int = 100,
        next_token: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> tuple[list[str], str | None]:
        """ListCrawlers: names in name order, those carrying every given tag when
        ``tags`` is given (a page may then hold fewer than ``max_results``)."""
        page, token = self._store.list_resources(
            SERVICE, CRAWLER, max_results=max_results, next_token=next_token
        )
        names = []
        for resource in page:
            if tags:
                held = self._store.list_tags(resource.arn)
                if any(held.get(k) != v for k, v in tags.items()):
                    continue
            names.append(resource.name)
        return names, token

    def update_crawler(self, name: str, changes: CrawlerInput) -> Crawler:
        """UpdateCrawler: the given members replace the stored ones; Version rises by 1.
        Refused while the crawler runs, as Glue refuses it."""
        current = self._resource(name)
        if current.state != READY:
            raise CrawlerRunningException(
                f"Crawler {name} is {current.state.lower()}; update it once it is READY "
                "(StopCrawler ends a run)."
            )
        body = dict(current.body)
        _apply(body, changes, creating=False)
        body["Version"] = int(body["Version"]) + 1
        body["LastUpdated"] = _iso(self._now())
        if (
            self._store.replace_resource(
                SERVICE, CRAWLER, name, body, state=READY, expected_state=READY
            )
            is None
        ):
            raise CrawlerRunningException(
                f"Crawler {name} started while it was being updated; update it once it is READY."
            )
        return self.get_crawler(name)

    def delete_crawler(self, name: str) -> None:
        """DeleteCrawler: refused while it runs; its crawl history goes with it."""
        current = self._resource(name)
        if current.state != READY:
            raise CrawlerRunningException(
                f"Crawler {name} is {current.state.lower()}; stop it and wait for READY "
                "before deleting it."
            )
        self._store.delete_resource(SERVICE, CRAWLER, name)
        self._store.delete_resources(SERVICE, CRAWL, name_prefix=name + _SEP)

    # ------------------------------------------------------------------ runs

    def start_crawler(self, name: str) -> None:
        """StartCrawler: READY becomes RUNNING and the crawl runs on a thread of this
        process; the call returns at once."""
        current = self._resource(name)
        if current.state != READY:
            raise CrawlerRunningException(f"Crawler with name {name} has already started")
        started = self._now()
        sequence = int(current.body.get("Crawls", 0)) + 1
        crawl_id = str(uuid.uuid4())
        body = {
            **current.body,
            "Crawls": sequence,
            "CrawlStart": _iso(started),
            "CrawlStartMonotonic": self._clock.monotonic(),
            "CrawlId": crawl_id,
            # who runs the crawl, so that a later open can tell a crash from a crawl
            # another process (a server beside a CLI) is still running
            "Owner": {"Host": socket.gethostname(), "Pid": os.getpid()},
        }
        if (
            self._store.replace_resource(
                SERVICE, CRAWLER, name, body, state=RUNNING, expected_state=READY
            )
            is None
        ):
            raise CrawlerRunningException(f"Crawler with name {name} has already started")
        self._store.put_resource(
            SERVICE,
            CRAWL,
            _crawl_key(name, sequence),
            f"{self.crawler_arn(name)}/crawl/{crawl_id}",
            {"CrawlId": crawl_id, "StartTime": _iso(started)},
            state="RUNNING",
        )
        stop = threading.Event()
        thread = threading.Thread(
            target=self._run, args=(name, sequence, stop), name=f"crawler-{name}", daemon=True
        )
        with self._lock:
            self._runs[name] = _Run(thread, stop)
        thread.start()

    def stop_crawler(self, name: str) -> None:
        """StopCrawler: RUNNING becomes STOPPING; the run ends CANCELLED, writing nothing."""
        current = self._resource(name)
        if current.state == READY:
            raise CrawlerNotRunningException(f"Crawler with name {name} isn't running.")
        if current.state == STOPPING:
            raise CrawlerStoppingException(f"Crawler with name {name} is already stopping.")
        if (
            self._store.replace_resource(
                SERVICE, CRAWLER, name, current.body, state=STOPPING, expected_state=RUNNING
            )
            is None
        ):
            raise CrawlerNotRunningException(f"Crawler with name {name} isn't running.")
        with self._lock:
            run = self._runs.get(name)
        if run is not None:
            run.stop.set()

    def wait_for_crawler(self, name: str, timeout: float = 60.0) -> Crawler:
        """Block until the crawler is READY again, and return it; ``TimeoutError`` after
        ``timeout`` seconds. (Waiting is real time: it waits for a thread, not a rule.)"""
        deadline = time.monotonic() + timeout
        with self._lock:
            run = self._runs.get(name)
        if run is not None:
            run.thread.join(timeout)
        while True:
            crawler = self.get_crawler(name)
            if crawler.state == READY:
                return crawler
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"Crawler {name} was still {crawler.state} after {timeout} seconds; "
                    "wait longer, or StopCrawler it."
                )
            time.sleep(0.05)

    def get_crawler_metrics(
        self,
        names: Sequence[str] | None = None,
        *,
        max_results: int = 100,
        next_token: str | None = None,
    ) -> tuple[list[CrawlerMetrics], str | None]:
        """GetCrawlerMetrics: for the named crawlers (unknown names are left out), or a
        page of all of them."""
        if names:
            found = [r for n in names if (r := self._store.find_resource(SERVICE, CRAWLER, n))]
            return [self._metrics(r) for r in found], None
        page, token = self._store.list_resources(
            SERVICE, CRAWLER, max_results=max_results, next_token=next_token
        )
        return [self._metrics(r) for r in page], token

    def list_crawls(
        self,
        name: str,
        *,
        filters: Sequence[Mapping[str, str]] = (),
        max_results: int = 20,
        next_token: str | None = None,
    ) -> tuple[list[CrawlHistory], str | None]:
        """ListCrawls: the crawler's runs, newest first, those every filter keeps."""
        self._resource(name)
        checks = [_crawl_filter(f) for f in filters]
        page, token = self._store.list_resources(
            SERVICE, CRAWL, max_results=max_results, next_token=next_token, name_prefix=name + _SEP
        )
        crawls = [_history(r) for r in page]
        return [c for c in crawls if all(check(c) for check in checks)], token

    def close(self) -> None:
        """Stop every crawl this process runs and wait for their threads: each ends
        CANCELLED, and the store is left consistent for whoever closes it next."""
        with self._lock:
            runs = dict(self._runs)
        for name, run in runs.items():
            if run.thread.is_alive():
                with contextlib.suppress(FogbankError):
                    self.stop_crawler(name)
                run.stop.set()
        for run in runs.values():
            run.thread.join(60)

    def recover(self) -> None:
        """Mark FAILED every crawl the store says is running whose process, on this
        host, is gone: it ended mid-crawl. (A crawl run from another host is left alone:
        there is no telling from here whether it lives.)"""
        token: str | None = None
        while True:
            page, token = self._store.list_resources(
                SERVICE, CRAWLER, max_results=100, next_token=token
            )
            for resource in page:
                if resource.state != READY and self._abandoned(resource):
                    self._finish(
                        resource.name,
                        int(resource.body.get("Crawls", 0)),
                        "FAILED",
                        "The crawl was interrupted: the fogbank process running it ended. "
                        "Start the crawler again.",
                        _Outcome(),
                        measured=False,
                    )
            if token is None:
                return

    def _abandoned(self, resource: Resource) -> bool:
        with self._lock:
            if resource.name in self._runs:
                return False
        owner = resource.body.get("Owner") or {}
        if owner.get("Host") not in (None, socket.gethostname()):
            return False
        pid = owner.get("Pid")
        if not isinstance(pid, int):
            return True
        try:
            os.kill(pid, 0)  # signal 0 only asks whether the process exists
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # it exists, under another user
        return False

    # ------------------------------------------------------------------ the crawl

    def _run(self, name: str, sequence: int, stop: threading.Event) -> None:
        outcome = _Outcome()
        status, message = "SUCCEEDED", None
        try:
            definition = self._resource(name).body

            def check_stop() -> None:
                if stop.is_set() or self._resource(name).state == STOPPING:
                    raise _Cancelled

            _Crawl(self, name, definition, check_stop, outcome).run()
            if outcome.errors:
                message = _truncate(
                    f"{len(outcome.errors)} file(s) could not be classified and were "
                    "skipped: " + "; ".join(outcome.errors)
                )
        except _Cancelled:
            status = "CANCELLED"
        except FogbankError as error:
            status, message = "FAILED", _truncate(f"{error.code}: {error.message}")
        except Exception as error:  # the crawl's own bug must still leave it READY
            log.exception("crawler %s failed", name)
            status, message = "FAILED", _truncate(f"Internal error: {error!r}")
        try:
            self._finish(name, sequence, status, message, outcome)
        except Exception:  # the store closed under us (close() during a crash)
            log.exception("crawler %s could not record the end of its crawl", name)
        finally:
            with self._lock:
                if (run := self._runs.get(name)) is not None and run.stop is stop:
                    del self._runs[name]

    def _finish(
        self,
        name: str,
        sequence: int,
        status: str,
        message: str | None,
        outcome: _Outcome,
        *,
        measured: bool = True,
    ) -> None:
        current = self._store.find_resource(SERVICE, CRAWLER, name)
        if current is None:
            return
        body = dict(current.body)
        start = body.get("CrawlStart") or _iso(self._now())
        elapsed = max(0.0, self._clock.monotonic() - float(body.get("CrawlStartMonotonic", 0.0)))
        if not measured:
            # another process's monotonic clock: its run time is not known here
            elapsed = 0.0
        body["LastCrawl"] = {"Status": status, "StartTime": start}
        if message:
            body["LastCrawl"]["ErrorMessage"] = message
        body["LastRuntimeSeconds"] = elapsed
        if measured:
            body["Runtimes"] = [*body.get("Runtimes", [])[-19:], elapsed]
        body["TablesCreated"] = outcome.created
        body["TablesUpdated"] = outcome.updated
        body["TablesDeleted"] = outcome.deleted
        for member in ("CrawlStart", "CrawlStartMonotonic", "CrawlId", "Owner"):
            body.pop(member, None)
        self._store.put_resource(SERVICE, CRAWLER, name, current.arn, body, state=READY)
        state = {"SUCCEEDED": "COMPLETED", "CANCELLED": "STOPPED", "FAILED": "FAILED"}[status]
        crawl = self._store.find_resource(SERVICE, CRAWL, _crawl_key(name, sequence))
        if crawl is not None:
            record = {**crawl.body, "EndTime": _iso(self._now()), "Summary": outcome.summary()}
            if message:
                record["ErrorMessage"] = message
            self._store.put_resource(SERVICE, CRAWL, crawl.name, crawl.arn, record, state=state)

    # ------------------------------------------------------------------ plumbing

    def _now(self) -> datetime:
        return self._clock.now().astimezone(UTC)

    def _resource(self, name: str) -> Resource:
        found = self._store.find_resource(SERVICE, CRAWLER, name)
        if found is None:
            raise EntityNotFoundException(
                f"Crawler entry with name {name} does not exist. ListCrawlers lists the "
                "crawlers there are."
            )
        return found

    def _crawler(self, resource: Resource) -> Crawler:
        body = resource.body
        elapsed = 0
        if resource.state != READY and body.get("CrawlStart"):
            started = datetime.fromisoformat(body["CrawlStart"])
            elapsed = max(0, int((self._now() - started).total_seconds() * 1000))
        last = body.get("LastCrawl")
        return Crawler(
            name=resource.name,
            role=body["Role"],
            targets=body["Targets"],
            state=resource.state,
            creation_time=datetime.fromisoformat(body["CreationTime"]),
            last_updated=datetime.fromisoformat(body["LastUpdated"]),
            version=int(body["Version"]),
            database_name=body.get("DatabaseName"),
            description=body.get("Description"),
            classifiers=tuple(body.get("Classifiers") or ()),
            recrawl_policy=body.get("RecrawlPolicy"),
            schema_change_policy=body.get("SchemaChangePolicy"),
            lineage_configuration=body.get("LineageConfiguration"),
            table_prefix=body.get("TablePrefix"),
            schedule=body.get("Schedule"),
            crawl_elapsed_time=elapsed,
            last_crawl=None
            if last is None
            else LastCrawl(
                status=last["Status"],
                start_time=datetime.fromisoformat(last["StartTime"]),
                error_message=last.get("ErrorMessage"),
                log_stream=resource.name,
            ),
            configuration=body.get("Configuration"),
            crawler_security_configuration=body.get("CrawlerSecurityConfiguration"),
            lake_formation_configuration=body.get("LakeFormationConfiguration"),
        )

    def _metrics(self, resource: Resource) -> CrawlerMetrics:
        body = resource.body
        runtimes = [float(r) for r in body.get("Runtimes", [])]
        median = statistics.median(runtimes) if runtimes else 0.0
        time_left, estimating = 0.0, False
        if resource.state != READY:
            elapsed = self._clock.monotonic() - float(body.get("CrawlStartMonotonic", 0.0))
            estimating = not runtimes
            time_left = max(0.0, median - elapsed)
        return CrawlerMetrics(
            crawler_name=resource.name,
            time_left_seconds=time_left,
            still_estimating=estimating,
            last_runtime_seconds=float(body.get("LastRuntimeSeconds", 0.0)),
            median_runtime_seconds=median,
            tables_created=int(body.get("TablesCreated", 0)),
            tables_updated=int(body.get("TablesUpdated", 0)),
            tables_deleted=int(body.get("TablesDeleted", 0)),
        )


# ---------------------------------------------------------------------- one crawl


@dataclass
class _Outcome:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    partitions_added: int = 0
    partitions_updated: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """ListCrawls' Summary: what changed, as Glue's JSON summary counts it."""
        tables = {
            action: {"Count": count}
            for action, count in (
                ("ADD", self.created),
                ("UPDATE", self.updated),
                ("DELETE", self.deleted),
            )
            if count
        }
        partitions = {
            action: {"Count": count}
            for action, count in (
                ("ADD", self.partitions_added),
                ("UPDATE", self.partitions_updated),
            )
            if count
        }
        summary: dict[str, Any] = {}
        if tables:
            summary["TABLE"] = tables
        if partitions:
            summary["PARTITION"] = partitions
        return json.dumps(summary)


@dataclass
class _Unit:
    """The files of one format in one folder: a table, or a partition of one."""

    bucket: str
    root: str
    """The target's prefix, ending in "/" (or empty for a whole bucket)."""
    folder: tuple[str, ...]
    """Folder names below the target's prefix."""
    first: Classification
    columns: tuple[tuple[str, GlueType], ...]
    records: int = 0
    sampled_records: int = 0
    sampled_bytes: int = 0
    objects: int = 0
    size: int = 0

    @property
    def location(self) -> str:
        suffix = "".join(part + "/" for part in self.folder)
        return f"s3://{self.bucket}/{self.root}{suffix}"


@dataclass
class _TablePlan:
    name: str
    base: tuple[str, ...]
    units: list[_Unit]
    partition_keys: list[str]


class _Crawl:
    def __init__(
        self,
        crawlers: Crawlers,
        name: str,
        definition: Mapping[str, Any],
        check_stop: Callable[[], None],
        outcome: _Outcome,
    ) -> None:
        self._crawlers = crawlers
        self._lake = crawlers._lake
        self._catalog = crawlers._catalog
        self._name = name
        self._definition = definition
        self._check_stop = check_stop
        self._outcome = outcome
        self._options = _options(definition.get("Configuration"))

    def run(self) -> None:
        database = self._definition.get("DatabaseName")
        if not database:
            raise InvalidInputException(
                f"Crawler {self._name} has no DatabaseName: UpdateCrawler it with the "
                "database its tables go in."
            )
        plans: list[_TablePlan] = []
        roots: list[str] = []
        for target in self._definition["Targets"].get("S3Targets", []):
            units = self._scan(target)
            bucket, prefix = _split_path(target["Path"])
            roots.append(f"s3://{bucket}/{prefix}")
            name = _table_name(bucket, prefix)
            level = self._options.table_level
            if level is None:
                plans.extend(_group(units, (), name, self._options.combine_compatible))
                continue
            # Table level counts folders from the bucket (level 1) down.
            depth = level - 1 - len(prefix.rstrip("/").split("/")) if prefix else level - 1
            if depth < 0:
                raise InvalidInputException(
                    f"Configuration Grouping.TableLevelConfiguration {level} is above the "
                    f"target {target['Path']}; give a level at or below the target's."
                )
            plans.extend(_group_at_level(units, depth, name))
        self._check_stop()
        self._write(database, plans, roots)

    # -- reading

    def _scan(self, target: Mapping[str, Any]) -> list[_Unit]:
        bucket, prefix = _split_path(target["Path"])
        exclusions = [_glob(p) for p in target.get("Exclusions") or ()]
        sample = target.get("SampleSize")
        by_folder: dict[tuple[str, ...], list[Any]] = {}
        for info in self._lake.iter_objects(bucket, prefix):
            relative = info.key[len(prefix) :]
            if not relative or relative.endswith("/") or info.size == 0:
                continue  # folder markers and empty files hold no schema
            if any(pattern.fullmatch(relative) for pattern in exclusions):
                continue
            by_folder.setdefault(tuple(relative.split("/")[:-1]), []).append(info)
        units: list[_Unit] = []
        for folder, objects in sorted(by_folder.items()):
            folder_units: dict[tuple[str, str, str, bool, bool], _Unit] = {}
            for index, info in enumerate(objects):
                if sample is not None and index >= sample:
                    break
                found = self._classify(bucket, info.key, info.size)
                if found is None or found.classification == UNKNOWN:
                    continue
                unit = folder_units.get(found.format_key)
                if unit is None:
                    unit = folder_units[found.format_key] = _Unit(bucket, prefix, folder, found, ())
                unit.columns = merge_fields(unit.columns, found.columns)
                unit.records += found.record_count
                unit.sampled_records += found.sampled_records
                unit.sampled_bytes += found.sampled_bytes
            if not folder_units:
                continue
            # Every object of the folder counts toward objectCount and sizeKey, sampled
            # or not; a folder of several formats credits its first.
            first = next(iter(folder_units.values()))
            first.objects = len(objects)
            first.size = sum(o.size for o in objects)
            units.extend(folder_units.values())
        return units

    def _classify(self, bucket: str, key: str, size: int) -> Classification | None:
        url = f"s3://{bucket}/{key}"
        if (hook := self._crawlers.before_file) is not None:
            hook(url)
        self._check_stop()

        def read_range(start: int, end: int) -> bytes:
            with self._lake.get_object(bucket, key, byte_range=(start, end - 1)) as body:
                data: bytes = body.read()
                return data

        try:
            found = classify(FileSource(size, read_range))
        except UnreadableFile as error:
            log.warning("crawler %s skipped %s: %s", self._name, url, error)
            self._outcome.errors.append(f"{url}: {error}")
            return None
        for note in found.notes:
            log.warning("crawler %s: %s: %s", self._name, url, note)
            self._outcome.errors.append(f"{url}: {note}")
        return found

    # -- writing

    def _write(self, database: str, plans: list[_TablePlan], roots: list[str]) -> None:
        catalog = self._catalog
        try:
            catalog.get_database(database)
        except EntityNotFoundException:
            with contextlib.suppress(AlreadyExistsException):
                catalog.create_database({"Name": database})
        policy = self._definition.get("SchemaChangePolicy") or {}
        update = policy.get("UpdateBehavior", "UPDATE_IN_DATABASE") == "UPDATE_IN_DATABASE"
        prefix = self._definition.get("TablePrefix") or ""
        written: set[str] = set()
        for plan in plans:
            name = (prefix + plan.name).lower()
            if name in written:
                # Two folders under one name: Glue tells them apart with a hash suffix.
                digest = hashlib.sha256(plan.units[0].location.encode()).hexdigest()[:8]
                name = f"{name}_{digest}"
            written.add(name)
            self._write_table(database, name, plan, update)
        self._delete_missing(database, written, roots, policy)

    def _write_table(self, database: str, name: str, plan: _TablePlan, update: bool) -> None:
        table_input = self._table_input(name, plan)
        try:
            existing = self._catalog.get_table(database, name)
        except EntityNotFoundException:
            self._catalog.create_table(database, table_input)
            self._outcome.created += 1
        else:
            if self._options.merge_new_columns and existing.storage_descriptor:
                # MergeNewColumns: keep the columns (and types) the table has, add new ones
                kept = list(existing.storage_descriptor.get("Columns", []))
                known = {c["Name"].lower() for c in kept}
                sd = table_input["StorageDescriptor"]
                added = [c for c in sd["Columns"] if c["Name"].lower() not in known]
                sd["Columns"] = kept + added
            current = {
                "StorageDescriptor": existing.storage_descriptor or {},
                "PartitionKeys": list(existing.partition_keys),
                "Parameters": dict(existing.parameters or {}),
            }
            if not _same_table(current, table_input):
                if update:
                    self._catalog.update_table(database, table_input)
                    self._outcome.updated += 1
                else:
                    log.info(
                        "crawler %s: table %s changed; LOG leaves it as it is", self._name, name
                    )
        if not plan.partition_keys:
            return
        self._write_partitions(database, name, plan, update)

    def _write_partitions(self, database: str, name: str, plan: _TablePlan, update: bool) -> None:
        existing: dict[tuple[str, ...], Any] = {}
        token: str | None = None
        while True:
            page = self._catalog.get_partitions(database, name, next_token=token)
            existing.update({p.values: p for p in page.items})
            token = page.next_token
            if token is None:
                break
        new: list[PartitionInput] = []
        inherited = None
        if self._options.inherit_from_table:
            table_sd = self._catalog.get_table(database, name).storage_descriptor or {}
            inherited = list(table_sd.get("Columns", []))
        for unit in plan.units:
            partition = _partition_input(unit, plan, self._name)
            if inherited is not None:
                partition["StorageDescriptor"]["Columns"] = list(inherited)
            values = tuple(partition["Values"])
            if values not in existing:
                new.append(partition)
            elif update and _partition_changed(existing[values], partition):
                self._catalog.update_partition(database, name, list(values), partition)
                self._outcome.partitions_updated += 1
        for start in range(0, len(new), 100):
            failures = self._catalog.batch_create_partition(
                database, name, new[start : start + 100]
            )
            for failure in failures:
                log.warning(
                    "crawler %s: partition %s of %s: %s",
                    self._name,
                    list(failure.values),
                    name,
                    failure.error.message,
                )
            self._outcome.partitions_added += len(new[start : start + 100]) - len(failures)
        policy = self._definition.get("SchemaChangePolicy") or {}
        if policy.get("DeleteBehavior") == "DELETE_FROM_DATABASE":
            seen = {tuple(_partition_values(u, plan)) for u in plan.units}
            gone = [list(v) for v in existing if v not in seen]
            for start in range(0, len(gone), 25):
                self._catalog.batch_delete_partition(database, name, gone[start : start + 25])

    def _delete_missing(
        self, database: str, written: set[str], roots: list[str], policy: Mapping[str, str]
    ) -> None:
        """Tables this crawler wrote before, under its targets, that it did not find now."""
        behavior = policy.get("DeleteBehavior", "DEPRECATE_IN_DATABASE")
        token: str | None = None
        while True:
            page = self._catalog.get_tables(database, next_token=token)
            for table in page.items:
                parameters = dict(table.parameters or {})
                location = (table.storage_descriptor or {}).get("Location", "")
                if (
                    table.name in written
                    or parameters.get("UPDATED_BY_CRAWLER") != self._name
                    or not any(location.startswith(root) for root in roots)
                ):
                    continue
                if behavior == "DELETE_FROM_DATABASE":
                    self._catalog.delete_table(database, table.name)
                    self._outcome.deleted += 1
                elif (
                    behavior == "DEPRECATE_IN_DATABASE"
                    and "DEPRECATED_BY_CRAWLER" not in parameters
                ):
                    parameters["DEPRECATED_BY_CRAWLER"] = "1"
                    table_input: TableInput = {
                        "Name": table.name,
                        "PartitionKeys": list(table.partition_keys),
                        "Parameters": parameters,
                        "TableType": table.table_type or "EXTERNAL_TABLE",
                    }
                    if table.storage_descriptor is not None:
                        table_input["StorageDescriptor"] = table.storage_descriptor
                    self._catalog.update_table(database, table_input)
                    self._outcome.updated += 1
                else:
                    log.info(
                        "crawler %s: table %s is gone from %s", self._name, table.name, location
                    )
            token = page.next_token
            if token is None:
                return

    def _table_input(self, name: str, plan: _TablePlan) -> TableInput:
        columns: tuple[tuple[str, GlueType], ...] = ()
        for unit in plan.units:
            columns = merge_fields(columns, unit.columns)
        first = plan.units[0]
        parameters = _parameters(plan.units, self._name)
        location = first.location
        if plan.partition_keys:
            location = f"s3://{first.bucket}/{first.root}" + "".join(p + "/" for p in plan.base)
        return {
            "Name": name,
            "Owner": "owner",
            "Retention": 0,
            "TableType": "EXTERNAL_TABLE",
            "PartitionKeys": [{"Name": key, "Type": "string"} for key in plan.partition_keys],
            "StorageDescriptor": _storage(first.first, columns, location, parameters),
            "Parameters": parameters,
        }


# ---------------------------------------------------------------------- grouping


@dataclass(frozen=True)
class _Options:
    """What a crawler's Configuration JSON asks of its output."""

    merge_new_columns: bool = False
    """CrawlerOutput.Tables.AddOrUpdateBehavior MergeNewColumns: only add columns."""
    inherit_from_table: bool = False
    """CrawlerOutput.Partitions.AddOrUpdateBehavior InheritFromTable."""
    combine_compatible: bool = False
    """Grouping.TableGroupingPolicy CombineCompatibleSchemas: ignore schema similarity."""
    table_level: int | None = None
    """Grouping.TableLevelConfiguration: the folder depth of tables, the bucket being 1."""


def _options(configuration: str | None) -> _Options:
    def members(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    parsed = members(json.loads(configuration) if configuration else {})
    output = members(parsed.get("CrawlerOutput"))
    grouping = members(parsed.get("Grouping"))
    level = grouping.get("TableLevelConfiguration")
    if level is not None and (not isinstance(level, int) or isinstance(level, bool) or level < 1):
        raise InvalidInputException(
            f"Configuration Grouping.TableLevelConfiguration must be a whole number from 1 "
            f"(the bucket) down; got {level!r}."
        )
    return _Options(
        merge_new_columns=members(output.get("Tables")).get("AddOrUpdateBehavior")
        == "MergeNewColumns",
        inherit_from_table=members(output.get("Partitions")).get("AddOrUpdateBehavior")
        == "InheritFromTable",
        combine_compatible=grouping.get("TableGroupingPolicy") == "CombineCompatibleSchemas",
        table_level=level,
    )


def _group_at_level(units: list[_Unit], depth: int, name: str) -> list[_TablePlan]:
    """Tables rooted ``depth`` folders below the target, whatever their schemas; units
    above that level, or whose formats disagree, are grouped as without a level."""
    by_base: dict[tuple[str, ...], list[_Unit]] = {}
    for unit in units:
        by_base.setdefault(unit.folder[:depth], []).append(unit)
    plans: list[_TablePlan] = []
    for base, group in sorted(by_base.items()):
        table = _sanitize(base[-1]) if base else name
        keys = _partition_keys(group, base, combine=True) if len(base) == depth else None
        if keys is None:
            plans.extend(_group(group, base, table, True))
        else:
            plans.append(_TablePlan(table, base, group, keys))
    return plans


def _group(units: list[_Unit], base: tuple[str, ...], name: str, combine: bool) -> list[_TablePlan]:
    """Tables for the units below ``base``: one partitioned table when they agree, else
    a table for the files directly in ``base`` and the same question for each subfolder."""
    if not units:
        return []
    keys = _partition_keys(units, base, combine=combine)
    if keys is not None:
        return [_TablePlan(name, base, units, keys)]
    plans: list[_TablePlan] = []
    direct = [u for u in units if len(u.folder) == len(base)]
    for unit in direct:
        plans.append(_TablePlan(name, base, [unit], []))
    children: dict[str, list[_Unit]] = {}
    for unit in units:
        if len(unit.folder) > len(base):
            children.setdefault(unit.folder[len(base)], []).append(unit)
    for child, below in sorted(children.items()):
        plans.extend(_group(below, (*base, child), _sanitize(child), combine))
    return plans


def _partition_keys(
    units: list[_Unit], base: tuple[str, ...], *, combine: bool
) -> list[str] | None:
    """The partition keys when ``units`` form one table rooted at ``base``, else None."""
    depths = {len(u.folder) for u in units}
    if len(depths) != 1 or len({u.first.format_key for u in units}) != 1:
        return None
    if depths == {len(base)}:
        return [] if len(units) == 1 else None
    if not combine and not _similar(units):
        return None
    keys = []
    for level in range(len(base), depths.pop()):
        parts = [u.folder[level] for u in units]
        names = {p.split("=", 1)[0] for p in parts if "=" in p}
        if len(names) == 1 and all("=" in p for p in parts):
            keys.append(_sanitize(names.pop()))
        else:
            keys.append(f"partition_{level - len(base)}")
    return keys


def _similar(units: list[_Unit]) -> bool:
    union: set[str] = set()
    for unit in units:
        union |= {name.lower() for name, _ in unit.columns}
    if not union:
        return True
    return all(
        len({name.lower() for name, _ in unit.columns}) / len(union) > SIMILARITY_THRESHOLD
        for unit in units
    )


def _partition_values(unit: _Unit, plan: _TablePlan) -> list[str]:
    return [
        part.split("=", 1)[1] if "=" in part and not key.startswith("partition_") else part
        for part, key in zip(unit.folder[len(plan.base) :], plan.partition_keys, strict=True)
    ]


# ---------------------------------------------------------------------- shapes


def _parameters(units: Sequence[_Unit], crawler: str) -> dict[str, str]:
    first = units[0].first
    records = sum(u.records for u in units)
    sampled_records = sum(u.sampled_records for u in units)
    sampled_bytes = sum(u.sampled_bytes for u in units)
    parameters = {
        "classification": first.classification,
        "compressionType": first.compression,
        "typeOfData": "file",
        "recordCount": str(records),
        "averageRecordSize": str(sampled_bytes // sampled_records if sampled_records else 0),
        "objectCount": str(sum(u.objects for u in units)),
        "sizeKey": str(sum(u.size for u in units)),
        "UPDATED_BY_CRAWLER": crawler,
        "CrawlerSchemaDeserializerVersion": "1.0",
        "CrawlerSchemaSerializerVersion": "1.0",
    }
    if first.classification == "csv":
        parameters["delimiter"] = first.delimiter or ","
        parameters["columnsOrdered"] = "true"
        parameters["areColumnsQuoted"] = "true" if any(u.first.quoted for u in units) else "false"
        if first.header:
            parameters["skip.header.line.count"] = "1"
    return parameters


def _storage(
    found: Classification,
    columns: Sequence[tuple[str, GlueType]],
    location: str,
    parameters: Mapping[str, str],
) -> StorageDescriptor:
    input_format, output_format, serde = _FORMATS[found.classification]
    serde_parameters = {"serialization.format": "1"}
    if found.classification == "csv":
        serde_parameters = {"field.delim": found.delimiter or ","}
    elif found.classification == "json":
        serde_parameters = {"paths": ",".join(name for name, _ in columns)}
    return {
        "Columns": [{"Name": name, "Type": type_name(kind)} for name, kind in columns],
        "Location": location,
        "InputFormat": input_format,
        "OutputFormat": output_format,
        "Compressed": found.compression != "none",
        "NumberOfBuckets": -1,
        "SerdeInfo": {"SerializationLibrary": serde, "Parameters": serde_parameters},
        "BucketColumns": [],
        "SortColumns": [],
        "Parameters": dict(parameters),
        "StoredAsSubDirectories": False,
    }


def _partition_input(unit: _Unit, plan: _TablePlan, crawler: str) -> PartitionInput:
    parameters = _parameters([unit], crawler)
    return {
        "Values": _partition_values(unit, plan),
        "StorageDescriptor": _storage(unit.first, unit.columns, unit.location, parameters),
        "Parameters": parameters,
    }


def _comparable(
    sd: Mapping[str, Any], keys: Iterable[Mapping[str, Any]], params: Mapping[str, Any]
) -> Any:
    return (
        [(c["Name"].lower(), c.get("Type")) for c in sd.get("Columns", [])],
        [(k["Name"].lower(), k.get("Type")) for k in keys],
        sd.get("Location"),
        sd.get("InputFormat"),
        sd.get("OutputFormat"),
        sd.get("SerdeInfo", {}),
        {k: v for k, v in params.items() if k != "DEPRECATED_BY_CRAWLER"},
    )


def _same_table(current: Mapping[str, Any], table_input: TableInput) -> bool:
    return bool(
        _comparable(current["StorageDescriptor"], current["PartitionKeys"], current["Parameters"])
        == _comparable(
            table_input.get("StorageDescriptor") or {},
            table_input.get("PartitionKeys") or [],
            table_input.get("Parameters") or {},
        )
    )


def _partition_changed(existing: Any, partition: PartitionInput) -> bool:
    return bool(
        _comparable(existing.storage_descriptor or {}, [], existing.parameters or {})
        != _comparable(
            partition.get("StorageDescriptor") or {}, [], partition.get("Parameters") or {}
        )
    )


# ---------------------------------------------------------------------- validation


def _apply(body: dict[str, Any], definition: Mapping[str, Any], *, creating: bool) -> None:
    """Check and copy the given members of a CreateCrawler/UpdateCrawler into ``body``."""
    for member in _MEMBERS:
        if (value := definition.get(member)) is not None:
            body[member] = value
    if creating and not body.get("Role"):
        raise InvalidInputException("Role is required: give the IAM role the crawler runs as.")
    if "Targets" not in body:
        raise InvalidInputException("Targets is required: give at least one S3Targets entry.")
    targets = body["Targets"]
    for member in _UNSUPPORTED_TARGETS:
        if targets.get(member):
            raise InvalidInputException(
                f"Targets.{member} is not crawled by fogbank yet; crawl S3Targets (paths in "
                "the lake) instead."
            )
    s3_targets = targets.get("S3Targets") or []
    if not s3_targets:
        raise InvalidInputException(
            "Targets.S3Targets is empty: give at least one target such as "
            "{'Path': 's3://bucket/prefix/'}."
        )
    for index, target in enumerate(s3_targets):
        where = f"Targets.S3Targets[{index}]"
        _split_path(target.get("Path") or "", f"{where}.Path")
        sample = target.get("SampleSize")
        if sample is not None and not 1 <= sample <= MAX_SAMPLE_SIZE:
            raise InvalidInputException(
                f"{where}.SampleSize must be from 1 to {MAX_SAMPLE_SIZE}; got {sample}. "
                "Leave it out to read every file."
            )
        for pattern in target.get("Exclusions") or ():
            _glob(pattern)
    if body.get("Classifiers"):
        raise EntityNotFoundException(
            f"Classifier {body['Classifiers'][0]} not found: fogbank has no custom "
            "classifiers yet. Leave Classifiers out to use the built-in ones."
        )
    policy = body.get("SchemaChangePolicy") or {}
    if policy.get("UpdateBehavior", "UPDATE_IN_DATABASE") not in _UPDATE_BEHAVIORS:
        raise InvalidInputException(
            f"SchemaChangePolicy.UpdateBehavior must be one of {', '.join(_UPDATE_BEHAVIORS)}."
        )
    if policy.get("DeleteBehavior", "DEPRECATE_IN_DATABASE") not in _DELETE_BEHAVIORS:
        raise InvalidInputException(
            f"SchemaChangePolicy.DeleteBehavior must be one of {', '.join(_DELETE_BEHAVIORS)}."
        )
    recrawl = (body.get("RecrawlPolicy") or {}).get("RecrawlBehavior", "CRAWL_EVERYTHING")
    if recrawl not in _RECRAWL_BEHAVIORS:
        raise InvalidInputException(
            f"RecrawlPolicy.RecrawlBehavior must be one of {', '.join(_RECRAWL_BEHAVIORS)}."
        )
    if (configuration := body.get("Configuration")) is not None:
        try:
            parsed = json.loads(configuration)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise InvalidInputException(
                "Configuration must be a JSON object such as "
                '{"Version": 1.0, "CrawlerOutput": {...}}.'
            )
        _options(configuration)
    if (schedule := definition.get("Schedule")) is not None:
        if schedule == "":
            body.pop("Schedule", None)
        elif not (schedule.startswith("cron(") and schedule.endswith(")")):
            raise InvalidInputException(
                f"Schedule {schedule!r} is not a cron expression; give one such as "
                "cron(15 12 * * ? *)."
            )
        else:
            # Kept and reported, not yet run on its schedule.
            body["Schedule"] = {"ScheduleExpression": schedule, "State": "SCHEDULED"}
    if (prefix := body.get("TablePrefix")) is not None and len(prefix) > 128:
        raise InvalidInputException("TablePrefix is at most 128 characters; give a shorter one.")


def _split_path(path: str, field_name: str = "Path") -> tuple[str, str]:
    """``s3://bucket/prefix`` as the bucket and a prefix ending in "/" (or empty)."""
    match = re.fullmatch(r"s3://([^/]+)/?(.*)", path)
    if match is None:
        raise InvalidInputException(
            f"{field_name} {path!r} is not an S3 path; give one such as s3://bucket/prefix/."
        )
    bucket, prefix = match.groups()
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


def _glob(pattern: str) -> re.Pattern[str]:
    """An exclude pattern as Glue documents it: ``*`` within one folder, ``**`` across
    folders, ``?`` one character, ``[...]`` a class and ``{a,b}`` alternatives; matched
    against the whole key below the include path."""
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                # fnmatch's class syntax: "!" negates
                out.append(fnmatch.translate(pattern[index : end + 1])[4:-3])
                index = end + 1
                continue
        elif char == "{":
            end = pattern.find("}", index + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                choices = pattern[index + 1 : end].split(",")
                out.append("(?:" + "|".join(_glob(c).pattern for c in choices) + ")")
                index = end + 1
                continue
        else:
            out.append(re.escape(char))
        index += 1
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error as exc:
        raise InvalidInputException(
            f"Exclusions pattern {pattern!r} is not a valid glob ({exc}); give one such "
            "as **.tmp or logs/*."
        ) from None


def _sanitize(name: str) -> str:
    """A folder name as a Glue table or column name: lowercase, and characters other than
    letters, digits and underscore replaced by underscore."""
    cleaned = re.sub(r"[^a-z0-9_]", "_", name.lower())
    return cleaned or "_"


def _table_name(bucket: str, prefix: str) -> str:
    last = prefix.rstrip("/").rsplit("/", 1)[-1] if prefix else bucket
    return _sanitize(last)


def _crawl_key(name: str, sequence: int) -> str:
    return f"{name}{_SEP}{_CRAWL_CEILING - sequence:013d}"


def _history(resource: Resource) -> CrawlHistory:
    body = resource.body
    return CrawlHistory(
        crawl_id=body["CrawlId"],
        state=resource.state,
        start_time=datetime.fromisoformat(body["StartTime"]),
        end_time=datetime.fromisoformat(body["EndTime"]) if body.get("EndTime") else None,
        summary=body.get("Summary"),
        error_message=body.get("ErrorMessage"),
    )


def _crawl_filter(spec: Mapping[str, str]) -> Callable[[CrawlHistory], bool]:
    field_name = spec.get("FieldName")
    operator = spec.get("FilterOperator", "EQ")
    raw = spec.get("FieldValue", "")
    getters: dict[str, Callable[[CrawlHistory], Any]] = {
        "CRAWL_ID": lambda c: c.crawl_id,
        "STATE": lambda c: c.state,
        "START_TIME": lambda c: c.start_time,
        "END_TIME": lambda c: c.end_time,
        "DPU_HOUR": lambda c: c.dpu_hour,
    }
    if field_name not in getters:
        raise InvalidInputException(
            f"Filters FieldName {field_name!r} must be one of {', '.join(getters)}."
        )
    value: Any = raw
    try:
        if field_name in ("START_TIME", "END_TIME"):
            value = datetime.fromisoformat(raw)
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
        elif field_name == "DPU_HOUR":
            value = float(raw)
    except ValueError:
        raise InvalidInputException(
            f"Filters FieldValue {raw!r} does not fit {field_name}: give an ISO time for "
            "times and a number for DPU_HOUR."
        ) from None
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "EQ": lambda a, b: a == b,
        "NE": lambda a, b: a != b,
        "GT": lambda a, b: a > b,
        "GE": lambda a, b: a >= b,
        "LT": lambda a, b: a < b,
        "LE": lambda a, b: a <= b,
    }
    if operator not in compare:
        raise InvalidInputException(f"Filters FilterOperator must be one of {', '.join(compare)}.")
    getter, test = getters[field_name], compare[operator]

    def keep(crawl: CrawlHistory) -> bool:
        actual = getter(crawl)
        return actual is not None and test(actual, value)

    return keep


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _truncate(message: str) -> str:
    return (
        message if len(message) <= _MAX_ERROR_MESSAGE else message[: _MAX_ERROR_MESSAGE - 3] + "..."
    )


__all__ = [
    "CrawlHistory",
    "Crawler",
    "CrawlerInput",
    "CrawlerMetrics",
    "CrawlerPage",
    "Crawlers",
    "LastCrawl",
]
