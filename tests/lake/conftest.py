"""Fixtures for the lake tests: a lake on a temporary folder with a manual clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fogbank.core.clock import ManualClock
from fogbank.lake.engine import Lake

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def lake(tmp_path: Path, clock: ManualClock) -> Iterator[Lake]:
    lake = Lake(tmp_path / "lake", clock=clock, region="us-east-1", limits=True)
    yield lake
    lake.close()


@pytest.fixture
def loose_lake(tmp_path: Path, clock: ManualClock) -> Iterator[Lake]:
    """A lake with S3's limits turned off (small multipart parts, > 1,000 keys...)."""
    lake = Lake(tmp_path / "loose", clock=clock, limits=False)
    yield lake
    lake.close()


@pytest.fixture
def bucket(lake: Lake) -> str:
    lake.create_bucket("data")
    return "data"


@pytest.fixture
def files_under() -> Callable[[Lake, str, str], list[Path]]:
    """The plain files in one folder of a bucket (``blobs`` or ``tmp``)."""

    def files(lake: Lake, bucket: str, folder: str) -> list[Path]:
        root = lake.root / "buckets" / bucket / folder
        return sorted(path for path in root.rglob("*") if path.is_file())

    return files
