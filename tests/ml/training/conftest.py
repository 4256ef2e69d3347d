"""Fixtures for training jobs: a fogbank with a bucket of small CSV data sets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fogbank import Fogbank, FogbankConfig
from tests.ml.training.jobs import csv_rows


@pytest.fixture
def fogbank(tmp_path: Path) -> Iterator[Fogbank]:
    with Fogbank(FogbankConfig.load(home=tmp_path / "home", environ={})) as fb:
        yield fb


@pytest.fixture
def data(fogbank: Fogbank) -> Fogbank:
    """A bucket ``data`` with train/ (two files) and validation/ CSV channels."""
    fogbank.lake.create_bucket("data")
    fogbank.lake.write("s3://data/train/part-0.csv", csv_rows(300, seed=1))
    fogbank.lake.write("s3://data/train/part-1.csv", csv_rows(300, seed=2))
    fogbank.lake.write("s3://data/validation/part-0.csv", csv_rows(200, seed=3))
    return fogbank
