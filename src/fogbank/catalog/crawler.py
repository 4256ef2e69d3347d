"""Glue crawlers: definitions, their lifecycle, and the threads that run their crawls.

A crawler's definition lives in the control-plane store (service ``glue``, kind
``crawler``, named as given), with its lifecycle state (READY, RUNNING, STOPPING) in the
resource's state column, so that starting is one conditional write: of two starters
only one moves it from READY. Each run is a ``crawl`` resource named
``<crawler>\\x1f<descending number>`` (newest first in name order) for ListCrawls.

A run (:class:`fogbank.catalog.crawl.Crawl`) happens on a thread of the process that
started it; this module validates definitions, moves the lifecycle state, and records
how each run ended.

A run interrupted by the end of its process (a crash, a kill) is marked FAILED the
next time a :class:`Crawlers` opens the store.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

from fogbank.catalog.crawl import (
    Cancelled,
    Crawl,
    CrawlFailure,
    Outcome,
    glob_pattern,
    split_path,
)
from fogbank.catalog.custom import Classifiers
from fogbank.catalog.engine import Catalog
from fogbank.catalog.grouping import parse_options
from fogbank.catalog.names import check_name
from fogbank.catalog.schedule import CronSchedule, Scheduler, parse_schedule
from fogbank.core.clock import Clock
from fogbank.core.errors import (
    AlreadyExistsException,
    CrawlerNotRunningException,
    CrawlerRunningException,
    CrawlerStoppingException,
    EntityNotFoundException,
    FogbankError,
    InvalidInputException,
    NoScheduleException,
    ResourceInUseException,
    SchedulerNotRunningException,
    SchedulerRunningException,
)
from fogbank.core.store import ControlPlaneStore, Resource
from fogbank.lake.engine import Lake

log = logging.getLogger(__name__)

SERVICE = "glue"
CRAWLER, CRAWL = "crawler", "crawl"
# The folders a crawler's crawls have walked, for CRAWL_NEW_FOLDERS_ONLY.
FOLDERS = "crawled-folders"
READY, RUNNING, STOPPING = "READY", "RUNNING", "STOPPING"
_SEP = "\x1f"
_CRAWL_CEILING = 10**12
# Glue documents SampleSize as 1 to 249 files per leaf folder.
MAX_SAMPLE_SIZE = 249
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
        classifiers: Classifiers,
        *,
        clock: Clock,
        account_id: str,
        region: str,
    ) -> None:
        self._store = store
        self._lake = lake
        self._catalog = catalog
        self._classifiers = classifiers
        self._clock = clock
        self.account_id = account_id
        self.region = region
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()
        self._scheduler: Scheduler | None = None
        self._scheduled: set[str] = set()
        self.schedule_settings: dict[str, float] | None = None
        """How :meth:`run_schedules` was called, once it was (a reset runs them again)."""
        self._sync_stop = threading.Event()
        self._sync_thread: threading.Thread | None = None
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
        self._classifiers.definitions(body.get("Classifiers") or ())
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
        self._sync_schedule(name)
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
        self._classifiers.definitions(body.get("Classifiers") or ())
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
        self._sync_schedule(name)
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
        if self._store.find_resource(SERVICE, FOLDERS, name) is not None:
            self._store.delete_resource(SERVICE, FOLDERS, name)
        self._sync_schedule(name)

    # ------------------------------------------------------------------ schedules

    def update_crawler_schedule(self, name: str, expression: str) -> None:
        """UpdateCrawlerSchedule: a new ``cron(...)`` expression, SCHEDULED at once; allowed
        while the crawler runs (the run in progress is not affected)."""
        parse_schedule(expression, "Schedule")
        self._set_schedule(name, lambda _: {"ScheduleExpression": expression, "State": "SCHEDULED"})

    def start_crawler_schedule(self, name: str) -> None:
        """StartCrawlerSchedule: NOT_SCHEDULED becomes SCHEDULED."""

        def started(schedule: Mapping[str, Any] | None) -> dict[str, Any]:
            if not schedule:
                raise NoScheduleException(
                    f"Crawler {name} has no schedule; give it one with UpdateCrawlerSchedule "
                    "(Schedule cron(...)) first."
                )
            if schedule.get("State") == "SCHEDULED":
                raise SchedulerRunningException(f"Crawler {name}'s schedule is already running.")
            return {**schedule, "State": "SCHEDULED"}

        self._set_schedule(name, started)

    def stop_crawler_schedule(self, name: str) -> None:
        """StopCrawlerSchedule: SCHEDULED becomes NOT_SCHEDULED; the schedule is kept."""

        def stopped(schedule: Mapping[str, Any] | None) -> dict[str, Any]:
            if not schedule or schedule.get("State") != "SCHEDULED":
                raise SchedulerNotRunningException(
                    f"Crawler {name}'s schedule is not running; StartCrawlerSchedule starts it."
                )
            return {**schedule, "State": "NOT_SCHEDULED"}

        self._set_schedule(name, stopped)

    def run_schedules(self, *, max_wait: float = 30.0, sync_seconds: float = 30.0) -> None:
        """Start crawlers when their schedules fall due, on threads of this process, until
        :meth:`close`: what ``fogbank serve`` does. Schedules changed by another process
        (a CLI beside the server) are read again every ``sync_seconds``."""
        if self._scheduler is not None:
            return
        self.schedule_settings = {"max_wait": max_wait, "sync_seconds": sync_seconds}
        self._scheduler = Scheduler(
            self._scheduled_start, now=self._now, name="crawler-schedules", max_wait=max_wait
        )
        self._sync_schedules()
        self._scheduler.start()

        def sync() -> None:
            while not self._sync_stop.wait(sync_seconds):
                try:
                    self._sync_schedules()
                except Exception:  # a closed store at shutdown, a busy database
                    log.exception("crawler schedules could not be read again")

        self._sync_thread = threading.Thread(target=sync, name="crawler-schedule-sync", daemon=True)
        self._sync_thread.start()

    def _set_schedule(
        self, name: str, change: Callable[[Mapping[str, Any] | None], dict[str, Any]]
    ) -> None:
        for _ in range(10):  # a crawl starting or ending moves the state under us
            current = self._resource(name)
            body = {**current.body, "Schedule": change(current.body.get("Schedule"))}
            if (
                self._store.replace_resource(
                    SERVICE, CRAWLER, name, body, state=current.state, expected_state=current.state
                )
                is not None
            ):
                self._sync_schedule(name)
                return
        raise CrawlerRunningException(
            f"Crawler {name} kept changing state; change its schedule again."
        )

    def _schedule_of(self, resource: Resource | None) -> CronSchedule | None:
        schedule = (resource.body.get("Schedule") or {}) if resource is not None else {}
        if schedule.get("State") != "SCHEDULED":
            return None
        try:
            return parse_schedule(schedule["ScheduleExpression"], "Schedule")
        except InvalidInputException:
            return None  # stored by an older, laxer fogbank: it never runs

    def _sync_schedule(self, name: str) -> None:
        if self._scheduler is not None:
            self._scheduler.set(
                name, self._schedule_of(self._store.find_resource(SERVICE, CRAWLER, name))
            )

    def _sync_schedules(self) -> None:
        scheduler = self._scheduler
        if scheduler is None:
            return
        seen: set[str] = set()
        token: str | None = None
        while True:
            page, token = self._store.list_resources(
                SERVICE, CRAWLER, max_results=100, next_token=token
            )
            for resource in page:
                seen.add(resource.name)
                scheduler.set(resource.name, self._schedule_of(resource))
            if token is None:
                break
        for name in self._scheduled - seen:
            scheduler.set(name, None)
        self._scheduled = seen

    def _scheduled_start(self, name: str) -> None:
        """A schedule fell due: start the crawl, unless it is still running from before
        (Glue skips that run) or the schedule was stopped meanwhile."""
        if self._schedule_of(self._store.find_resource(SERVICE, CRAWLER, name)) is None:
            self._sync_schedule(name)
            return
        try:
            self.start_crawler(name)
        except (CrawlerRunningException, CrawlerStoppingException):
            log.info("crawler %s is still running at its scheduled time; this run is skipped", name)
        except EntityNotFoundException:
            self._sync_schedule(name)

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
        self._sync_stop.set()
        if self._sync_thread is not None:
            self._sync_thread.join(60)
            self._sync_thread = None
        self._sync_stop = threading.Event()
        if self._scheduler is not None:
            self._scheduler.stop()
            self._scheduler = None
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
                        Outcome(),
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
        outcome = Outcome()
        status, message = "SUCCEEDED", None
        try:
            definition = self._resource(name).body

            def check_stop() -> None:
                if stop.is_set() or self._resource(name).state == STOPPING:
                    raise Cancelled

            Crawl(
                self._lake,
                self._catalog,
                name,
                definition,
                check_stop,
                outcome,
                classifiers=self._classifiers.definitions(definition.get("Classifiers") or ()),
                known_folders=self._known_folders(name, definition),
                before_file=self.before_file,
            ).run()
            if outcome.errors:
                message = _truncate(
                    f"{len(outcome.errors)} file(s) could not be classified and were "
                    "skipped: " + "; ".join(outcome.errors)
                )
        except Cancelled:
            status = "CANCELLED"
        except CrawlFailure as failure:
            status, message = "FAILED", _truncate(str(failure))
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
        outcome: Outcome,
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
        if status == "SUCCEEDED":
            folders = outcome.folders
            if (known := self._known_folders(name, body)) is not None:
                folders = folders | known
            self._store.put_resource(
                SERVICE, FOLDERS, name, f"{current.arn}/folders", {"Folders": sorted(folders)}
            )
        # The crawl's record ends before the crawler is READY: a caller that sees READY
        # (and may start the next crawl) finds this one ended in ListCrawls.
        state = {"SUCCEEDED": "COMPLETED", "CANCELLED": "STOPPED", "FAILED": "FAILED"}[status]
        crawl = self._store.find_resource(SERVICE, CRAWL, _crawl_key(name, sequence))
        if crawl is not None:
            record = {**crawl.body, "EndTime": _iso(self._now()), "Summary": outcome.summary()}
            if message:
                record["ErrorMessage"] = message
            self._store.put_resource(SERVICE, CRAWL, crawl.name, crawl.arn, record, state=state)
        self._store.put_resource(SERVICE, CRAWLER, name, current.arn, body, state=READY)

    # ------------------------------------------------------------------ plumbing

    def _known_folders(self, name: str, definition: Mapping[str, Any]) -> frozenset[str] | None:
        """For a CRAWL_NEW_FOLDERS_ONLY crawler that has crawled before, the folders its
        crawls walked; None when the next run must read everything."""
        recrawl = (definition.get("RecrawlPolicy") or {}).get("RecrawlBehavior")
        if recrawl != "CRAWL_NEW_FOLDERS_ONLY":
            return None
        found = self._store.find_resource(SERVICE, FOLDERS, name)
        return None if found is None else frozenset(found.body.get("Folders", ()))

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


# ---------------------------------------------------------------------- validation


def _apply(body: dict[str, Any], definition: Mapping[str, Any], *, creating: bool) -> None:
    """Check and copy the given members of a CreateCrawler/UpdateCrawler into ``body``."""
    previous_targets = body.get("Targets") or {}
    previous_recrawl = (body.get("RecrawlPolicy") or {}).get("RecrawlBehavior")
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
        split_path(target.get("Path") or "", f"{where}.Path")
        sample = target.get("SampleSize")
        if sample is not None and not 1 <= sample <= MAX_SAMPLE_SIZE:
            raise InvalidInputException(
                f"{where}.SampleSize must be from 1 to {MAX_SAMPLE_SIZE}; got {sample}. "
                "Leave it out to read every file."
            )
        for pattern in target.get("Exclusions") or ():
            glob_pattern(pattern)
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
    if recrawl == "CRAWL_EVENT_MODE":
        raise InvalidInputException(
            "RecrawlPolicy.RecrawlBehavior CRAWL_EVENT_MODE needs an S3 event queue, which "
            "fogbank does not have; use CRAWL_NEW_FOLDERS_ONLY to read only new folders."
        )
    if recrawl == "CRAWL_NEW_FOLDERS_ONLY" and (
        policy.get("UpdateBehavior", "UPDATE_IN_DATABASE") != "LOG"
        or policy.get("DeleteBehavior", "DEPRECATE_IN_DATABASE") != "LOG"
    ):
        raise InvalidInputException(
            'The SchemaChangePolicy for "Crawl new folders only" Amazon S3 target can have '
            "only LOG DeleteBehavior value and LOG UpdateBehavior value. Give "
            "SchemaChangePolicy {'UpdateBehavior': 'LOG', 'DeleteBehavior': 'LOG'}."
        )
    if (
        not creating
        and recrawl == "CRAWL_NEW_FOLDERS_ONLY"
        and previous_recrawl == "CRAWL_NEW_FOLDERS_ONLY"
        and _paths(previous_targets) != _paths(body["Targets"])
    ):
        raise InvalidInputException(
            "The S3 targets of a crawler that crawls new folders only cannot change. Set "
            "RecrawlPolicy CRAWL_EVERYTHING in the same update to change them."
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
        parse_options(configuration)
    if (schedule := definition.get("Schedule")) is not None:
        if schedule == "":
            body.pop("Schedule", None)
        else:
            parse_schedule(schedule, "Schedule")
            body["Schedule"] = {"ScheduleExpression": schedule, "State": "SCHEDULED"}
    if (prefix := body.get("TablePrefix")) is not None and len(prefix) > 128:
        raise InvalidInputException("TablePrefix is at most 128 characters; give a shorter one.")


def _paths(targets: Mapping[str, Any]) -> list[str]:
    return sorted(target.get("Path", "") for target in targets.get("S3Targets") or ())


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
