"""`fogbank training ls` and `fogbank logs training JOB`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from fogbank import Fogbank, FogbankConfig, cli
from fogbank.cli import app
from tests.ml.training.jobs import csv_rows, xgboost_request


def test_training_ls_and_logs_show_the_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "console", Console(width=200))
    with Fogbank(FogbankConfig.load(home=tmp_path, environ={})) as fb:
        fb.lake.create_bucket("data")
        fb.lake.write("s3://data/train/part-0.csv", csv_rows(200))
        fb.lake.write("s3://data/validation/part-0.csv", csv_rows(100, seed=5))
        fb.training.create_training_job(xgboost_request("cli-job"))
        assert fb.training.wait("cli-job", 120).status == "Completed"
    runner = CliRunner()
    listed = runner.invoke(app, ["--home", str(tmp_path), "training", "ls"])
    assert listed.exit_code == 0, listed.output
    assert "cli-job" in listed.output and "Completed" in listed.output
    assert "validation:logloss=" in listed.output
    logs = runner.invoke(app, ["--home", str(tmp_path), "logs", "training", "cli-job"])
    assert logs.exit_code == 0, logs.output
    assert re.search(r"^\[4\]\s+train-logloss:", logs.output, re.MULTILINE)
    missing = runner.invoke(app, ["--home", str(tmp_path), "logs", "training", "nope"])
    assert missing.exit_code == 1
    assert "Requested resource not found" in missing.output
