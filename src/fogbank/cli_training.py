"""`fogbank training` and `fogbank logs training`: training jobs, their metrics and logs."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from fogbank import cli
from fogbank.ml.training import model as states

training_app = typer.Typer(help="SageMaker training jobs.", no_args_is_help=True)
logs_app = typer.Typer(help="Logs of jobs, as CloudWatch Logs keeps them.", no_args_is_help=True)


@training_app.command("ls")
def training_ls(ctx: typer.Context) -> None:
    """Every training job, newest first: algorithm, status, time and final metrics."""
    with cli._open(ctx) as fogbank:
        table = Table(title="Training jobs")
        for column in ("name", "algorithm", "status", "secondary", "seconds", "final metrics"):
            table.add_column(column)
        page = fogbank.training.list_training_jobs(max_results=100, sort_order="Descending")
        for job in page.jobs:
            metrics = ", ".join(f"{m.name}={m.value:.4g}" for m in job.final_metrics)
            table.add_row(
                job.name,
                job.algorithm,
                job.status,
                job.secondary_status,
                "" if job.training_seconds is None else str(job.training_seconds),
                metrics or (job.failure_reason or "")[:80],
            )
        cli.console.print(table)


@logs_app.command("training")
def logs_training(
    ctx: typer.Context,
    job: str,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the job ends.")
    ] = False,
) -> None:
    """A training job's log: every host's output (algo-1 first), as the job wrote it."""
    with cli._open(ctx) as fogbank:
        offsets: dict[str, int] = {}
        while True:
            paths = fogbank.training.log_paths(job)
            for path in paths:
                with path.open("rb") as log:
                    log.seek(offsets.get(path.name, 0))
                    data = log.read()
                offsets[path.name] = offsets.get(path.name, 0) + len(data)
                prefix = f"[{path.stem}] " if len(paths) > 1 else ""
                for line in data.decode("utf-8", errors="replace").splitlines():
                    cli.console.print(prefix + line, highlight=False, markup=False)
            described = fogbank.training.describe_training_job(job)
            if not follow or described.status in states.TERMINAL:
                return
            time.sleep(0.5)
