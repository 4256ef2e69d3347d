"""Fixtures for the Firehose engine tests: a fogbank on a ManualClock, no delivery thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fogbank import Fogbank, FogbankConfig
from fogbank.core.clock import ManualClock
from fogbank.firehose.engine import Firehose

ROLE = "arn:aws:iam::000000000000:role/firehose"
BUCKET = "lake"


def destination(**extra: Any) -> dict[str, Any]:
    return {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{BUCKET}", **extra}


def engine(fb: Fogbank, **options: Any) -> Firehose:
    """A second engine over ``fb``'s home and lake, delivering only when asked."""
    return Firehose(
        fb.config.home / "firehose",
        fb.store,
        fb.lake,
        clock=fb.clock,
        account_id=fb.config.account_id,
        region=fb.config.region,
        deliver_in_background=False,
        **options,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fb(tmp_path: Path, clock: ManualClock) -> Iterator[Fogbank]:
    with Fogbank(FogbankConfig.load(home=tmp_path / "home", environ={}), clock=clock) as made:
        made.lake.create_bucket(BUCKET)
        yield made


@pytest.fixture
def hose(fb: Fogbank) -> Iterator[Firehose]:
    made = engine(fb)
    yield made
    made.close()
