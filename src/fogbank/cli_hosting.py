"""`fogbank endpoints ls`, `fogbank transform ls`, `fogbank logs endpoint NAME` and
`fogbank logs transform JOB`: SageMaker endpoints with their variants' traffic and
latencies, batch transform jobs, and their instances' logs."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.table import Table

from fogbank import cli
from fogbank.cli_training import logs_app

endpoints_app = typer.Typer(help="SageMaker endpoints.", no_args_is_help=True)
transform_app = typer.Typer(help="SageMaker batch transform jobs.", no_args_is_help=True)


def _latency(microseconds: float | None) -> str:
    return "" if microseconds is None else f"{microseconds / 1000:.2f}"


@endpoints_app.command("ls")
def endpoints_ls(ctx: typer.Context) -> None:
    """Every endpoint, newest first: each variant's weight, instances, invocations,
    errors and mean latencies (ms), as CloudWatch's AWS/SageMaker metrics count them."""
    with cli._open(ctx) as fogbank:
        table = Table(title="Endpoints")
        columns = (
            "endpoint",
            "status",
            "variant",
            "model",
            "weight",
            "instances",
            "invocations",
            "4xx",
            "5xx",
            "model ms",
            "overhead ms",
        )
        for column in columns:
            table.add_column(column)
        endpoints, _ = fogbank.endpoints.list_endpoints(max_results=100)
        for endpoint in endpoints:
            metrics = fogbank.endpoints.variant_metrics(endpoint.name)
            for index, variant in enumerate(endpoint.variants):
                seen = metrics.get(variant.name)
                table.add_row(
                    endpoint.name if index == 0 else "",
                    endpoint.status if index == 0 else "",
                    variant.name,
                    variant.model.name,
                    f"{variant.weight:g}",
                    str(variant.instances),
                    str(seen.invocations if seen else 0),
                    str(seen.errors_4xx if seen else 0),
                    str(seen.errors_5xx if seen else 0),
                    _latency(seen.model_latency_us if seen else None),
                    _latency(seen.overhead_latency_us if seen else None),
                )
            if endpoint.failure_reason:
                table.add_row("", "", "", endpoint.failure_reason[:120])
        cli.console.print(table)


@transform_app.command("ls")
def transform_ls(ctx: typer.Context) -> None:
    """Every batch transform job, newest first: model, status, objects done, output."""
    with cli._open(ctx) as fogbank:
        table = Table(title="Transform jobs")
        for column in ("name", "model", "status", "objects", "output", "reason"):
            table.add_column(column)
        jobs, _ = fogbank.transforms.list_transform_jobs(max_results=100)
        for job in jobs:
            table.add_row(
                job.name,
                job.model.name,
                job.status,
                f"{job.objects_done}/{job.objects_total}",
                job.request["TransformOutput"]["S3OutputPath"],
                (job.failure_reason or "")[:100],
            )
        cli.console.print(table)


def _print_logs(files: list[tuple[str, Path, int]]) -> None:
    for stream, path, _ in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for line in text.splitlines():
            cli.console.print(f"[{stream}] {line}", highlight=False, markup=False)


@logs_app.command("endpoint")
def logs_endpoint(ctx: typer.Context, name: str) -> None:
    """An endpoint's instance logs (CloudWatch Logs group /aws/sagemaker/Endpoints/NAME):
    every container of every instance, stream by stream."""
    with cli._open(ctx) as fogbank:
        fogbank.endpoints.describe_endpoint(name)
        _print_logs(fogbank.endpoints.log_files(name))


@logs_app.command("transform")
def logs_transform(ctx: typer.Context, job: str) -> None:
    """A transform job's instance logs (group /aws/sagemaker/TransformJobs)."""
    with cli._open(ctx) as fogbank:
        fogbank.transforms.describe_transform_job(job)
        _print_logs(fogbank.transforms.log_files(job))


@transform_app.command("wait")
def transform_wait(ctx: typer.Context, job: str) -> None:
    """Follow a transform job with a progress bar of its input objects until it ends;
    exit 1 when it ends other than Completed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with cli._open(ctx) as fogbank:
        described = fogbank.transforms.describe_transform_job(job)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=cli.console
        ) as progress:
            task = progress.add_task(job, total=None)
            while True:
                described = fogbank.transforms.describe_transform_job(job)
                progress.update(
                    task,
                    description=f"{job}: {described.status}",
                    completed=described.objects_done,
                    total=described.objects_total or None,
                )
                if described.status not in ("InProgress", "Stopping"):
                    break
                time.sleep(0.2)
        cli.console.print(
            f"{job} {described.status}"
            + (f": {described.failure_reason}" if described.failure_reason else "")
        )
        if described.status != "Completed":
            raise typer.Exit(1)
