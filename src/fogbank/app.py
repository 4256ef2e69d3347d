"""The :class:`Fogbank` object: it owns every engine and hands each its dependencies.

There is no module-level state anywhere in fogbank: two ``Fogbank`` objects with
two homes are two independent worlds.
"""

from __future__ import annotations

from types import TracebackType

from fogbank.catalog import Catalog
from fogbank.catalog.crawler import Crawlers
from fogbank.catalog.custom import Classifiers
from fogbank.core.clock import Clock, SystemClock
from fogbank.core.config import FogbankConfig
from fogbank.core.store import ControlPlaneStore
from fogbank.firehose.engine import Firehose
from fogbank.lake.engine import Lake
from fogbank.ml.cloudwatch_logs import SageMakerLogs
from fogbank.ml.hosting.endpoints import Endpoints
from fogbank.ml.hosting.engine import Hosting
from fogbank.ml.hosting.transform import TransformJobs
from fogbank.ml.tags import SageMakerTags
from fogbank.ml.training.engine import TrainingJobs
from fogbank.query.engine import Queries
from fogbank.streams.engine import Streams


class Fogbank:
    """One fogbank: a home folder, a control-plane store, a clock and the engines."""

    def __init__(self, config: FogbankConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config or FogbankConfig.load()
        self.clock: Clock = clock or SystemClock()
        self.config.home.mkdir(parents=True, exist_ok=True)
        self.store = ControlPlaneStore(self.config.store_url)
        self.lake = Lake(
            self.config.lake_root,
            clock=self.clock,
            region=self.config.region,
            limits=self.config.limits,
        )
        self.catalog = Catalog(
            self.store,
            clock=self.clock,
            account_id=self.config.account_id,
            region=self.config.region,
            limits=self.config.limits,
        )
        self.classifiers = Classifiers(self.store, clock=self.clock)
        self.crawlers = Crawlers(
            self.store,
            self.lake,
            self.catalog,
            self.classifiers,
            clock=self.clock,
            account_id=self.config.account_id,
            region=self.config.region,
        )
        self.queries = self._queries()
        self.streams = Streams(
            self.config.home / "streams",
            self.store,
            clock=self.clock,
            account_id=self.config.account_id,
            region=self.config.region,
            limits=self.config.limits,
            status_delay=self.config.status_delay,
        )
        self.firehose = Firehose(
            self.config.home / "firehose",
            self.store,
            self.lake,
            clock=self.clock,
            account_id=self.config.account_id,
            region=self.config.region,
            limits=self.config.limits,
            status_delay=self.config.status_delay,
            streams=self.streams,
            catalog=self.catalog,
        )

        self.training = TrainingJobs(
            self.config.home / "training",
            self.store,
            self.lake,
            clock=self.clock,
            account_id=self.config.account_id,
            region=self.config.region,
        )
        self.hosting = Hosting(
            self.store,
            self.lake,
            clock=self.clock,
            account_id=self.config.account_id,
            region=self.config.region,
        )
        self.endpoints = Endpoints(
            self.config.home / "endpoints",
            self.store,
            self.lake,
            self.hosting,
            clock=self.clock,
            account_id=self.config.account_id,
            region=self.config.region,
        )
        self.transforms = TransformJobs(
            self.config.home / "transform",
            self.store,
            self.lake,
            self.hosting,
            clock=self.clock,
            account_id=self.config.account_id,
            region=self.config.region,
        )
        self.sagemaker_tags = SageMakerTags(self.store)
        self.logs = SageMakerLogs(
            self.training, self.endpoints.log_files, self.transforms.log_files, clock=self.clock
        )

    def _queries(self) -> Queries:
        return Queries(
            self.store,
            self.lake,
            self.catalog,
            clock=self.clock,
            scratch=self.config.home / "query",
            account_id=self.config.account_id,
            region=self.config.region,
        )

    def reset(self) -> None:
        """Wipe every engine's state: what test suites ask for between tests."""
        scheduling = self.crawlers.schedule_settings
        self.training.reset()
        self.transforms.reset()
        self.endpoints.reset()
        self.queries.close()
        self.crawlers.close()
        self.firehose.reset()
        self.lake.reset()
        self.streams.reset()
        self.store.reset()
        if scheduling is not None:  # a server keeps running schedules after a reset
            self.crawlers.run_schedules(**scheduling)
        self.queries = self._queries()

    def close(self) -> None:
        self.training.close()
        self.transforms.close()
        self.endpoints.close()
        self.queries.close()
        self.crawlers.close()
        self.firehose.close()
        self.lake.close()
        self.streams.close()
        self.store.close()

    def __enter__(self) -> Fogbank:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
