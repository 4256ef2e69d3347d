"""The `fogbank` command: the demo (the main job), status, and the lake's file commands."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from fogbank import __version__
from fogbank.app import Fogbank
from fogbank.core.config import FogbankConfig
from fogbank.core.errors import FogbankError
from fogbank.lake.names import parse_location

app = typer.Typer(
    name="fogbank",
    help="The AWS machine-learning pipeline, open source, on one machine.",
    no_args_is_help=True,
    add_completion=False,
)
lake_app = typer.Typer(
    help="S3-style commands on the lake (s3://bucket/key).", no_args_is_help=True
)
app.add_typer(lake_app, name="lake")

console = Console()
err_console = Console(stderr=True)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="fogbank's home folder (default $FOGBANK_HOME or ~/.fogbank)."),
]


class _State:
    home: Path | None = None


def _state(ctx: typer.Context) -> _State:
    state = ctx.ensure_object(_State)
    assert isinstance(state, _State)
    return state


@app.callback()
def _root(
    ctx: typer.Context,
    home: HomeOption = None,
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        console.print(f"fogbank {__version__}")
        raise typer.Exit()
    _state(ctx).home = home


@contextmanager
def _open(ctx: typer.Context) -> Iterator[Fogbank]:
    """Open the fogbank the command names; a FogbankError becomes a red line and exit 1."""
    try:
        with Fogbank(FogbankConfig.load(home=_state(ctx).home)) as fogbank:
            yield fogbank
    except FogbankError as exc:
        err_console.print(f"[red]error[/red] {exc.code}: {exc.message}", highlight=False)
        raise typer.Exit(1) from None


# ---------------------------------------------------------------------------- demo


@app.command()
def demo(
    ctx: typer.Context,
    events: Annotated[int, typer.Option(min=1000, help="Ad impressions to generate.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same data.")] = 7,
    hours: Annotated[int, typer.Option(min=1, max=24 * 31, help="Hours of traffic.")] = 24,
) -> None:
    """Run the main job: the end-to-end pipeline on generated data, stage by stage."""
    from fogbank.demo.pipeline import STAGES, DemoOptions, StageReport, new_context, record_run
    from fogbank.demo.pipeline import run_stage as run_one

    options = DemoOptions(events=events, seed=seed, hours=hours)
    with _open(ctx) as fogbank:
        console.rule(f"[bold]fogbank demo[/bold]  home {fogbank.config.home}")
        run = new_context(fogbank, options)
        reports: list[StageReport] = []
        for number, stage in enumerate(STAGES, start=1):
            console.print(f"[bold cyan]{number}/{len(STAGES)}[/bold cyan] {stage.title}")
            with _progress() as progress:
                report = run_one(run, stage, progress)
            reports.append(report)
            console.print(f"    [green]done[/green] in {report.seconds:.2f}s: {report.summary}")
        record_run(run, reports)

        table = Table(title="events per hour, as read back from the lake")
        table.add_column("partition")
        table.add_column("events", justify="right")
        table.add_column("clicks", justify="right")
        table.add_column("CTR", justify="right")
        for partition, (count, clicks) in run.read_per_hour.items():
            table.add_row(partition, f"{count:,}", f"{clicks:,}", f"{clicks / count:.2%}")
        console.print(table)

        summary = Table(title="summary")
        summary.add_column("stage")
        summary.add_column("seconds", justify="right")
        summary.add_column("result")
        for report in reports:
            summary.add_row(report.title, f"{report.seconds:.2f}", report.summary)
        console.print(summary)
        console.print(f"run {run.run_id}: metrics under fogbank/demo in the control plane")


def _progress() -> Progress:
    return Progress(
        TextColumn("    {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


# ---------------------------------------------------------------------------- serve


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 4566,
) -> None:
    """Serve the AWS wire API: point boto3, the aws CLI or the SageMaker SDK at it."""
    from fogbank.gateway.server import serve as run_server

    with _open(ctx) as fogbank:
        cfg = fogbank.config
        console.print(
            f"fogbank {__version__} serving http://{host}:{port}  home {cfg.home}  "
            f"region {cfg.region}  auth {cfg.auth}",
            highlight=False,
        )
        fogbank.crawlers.run_schedules()  # crawler schedules run while the server does
        run_server(fogbank, host, port)


keys_app = typer.Typer(help="Access keys for `auth = sigv4`.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    user: Annotated[str, typer.Option(help="Who the key is for.")] = "fogbank",
) -> None:
    """Create an access key kept in the home; prints it as AWS_* variables."""
    from fogbank.gateway.auth import AccessKeys

    with _open(ctx) as fogbank:
        created = AccessKeys(fogbank.store, account_id=fogbank.config.account_id).create(user)
        console.print(f"AWS_ACCESS_KEY_ID={created.access_key_id}", highlight=False)
        console.print(f"AWS_SECRET_ACCESS_KEY={created.secret_access_key}", highlight=False)


@keys_app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """The access keys kept in the home (secrets are not shown)."""
    from fogbank.gateway.auth import AccessKeys

    with _open(ctx) as fogbank:
        for key in AccessKeys(fogbank.store, account_id=fogbank.config.account_id).list():
            console.print(f"{key.access_key_id}  {key.user}  {_when(key.created)}", highlight=False)


@keys_app.command("delete")
def keys_delete(ctx: typer.Context, access_key_id: str) -> None:
    """Delete an access key."""
    from fogbank.gateway.auth import AccessKeys

    with _open(ctx) as fogbank:
        AccessKeys(fogbank.store, account_id=fogbank.config.account_id).delete(access_key_id)
        console.print(f"deleted {access_key_id}", highlight=False)


# ---------------------------------------------------------------------------- status


@app.command()
def status(ctx: typer.Context) -> None:
    """What the home holds: settings, buckets and the last demo run."""
    with _open(ctx) as fogbank:
        cfg = fogbank.config
        console.print(f"[bold]fogbank {__version__}[/bold]  home {cfg.home}")
        console.print(
            f"account {cfg.account_id}  region {cfg.region}  "
            f"limits {'on' if cfg.limits else 'off'}  auth {cfg.auth}  "
            f"control plane {fogbank.store.url}"
        )
        buckets = fogbank.lake.list_buckets()
        table = Table(title=f"lake: {len(buckets)} bucket(s)")
        table.add_column("bucket")
        table.add_column("created")
        table.add_column("objects", justify="right")
        table.add_column("bytes", justify="right")
        for bucket in buckets:
            count = size = 0
            for obj in fogbank.lake.iter_objects(bucket.name):
                count += 1
                size += obj.size
            table.add_row(bucket.name, _when(bucket.creation_date), f"{count:,}", f"{size:,}")
        console.print(table)
        runs, _ = fogbank.store.list_resources("demo", "run", max_results=1000)
        if runs:
            last = max(runs, key=lambda r: r.updated_at)
            console.print(f"last demo run {last.name} ({last.state}, {_when(last.updated_at)}):")
            for stage in last.body.get("stages", []):
                console.print(f"  {stage['name']}: {stage['summary']} ({stage['seconds']}s)")
        else:
            console.print("no demo run yet: try `fogbank demo`")


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# ---------------------------------------------------------------------------- lake


@lake_app.command("mb")
def lake_mb(ctx: typer.Context, location: str) -> None:
    """Make a bucket: s3://bucket."""
    with _open(ctx) as fogbank:
        bucket, _ = parse_location(location)
        fogbank.lake.create_bucket(bucket)
        console.print(f"make_bucket: {bucket}")


@lake_app.command("rb")
def lake_rb(ctx: typer.Context, location: str) -> None:
    """Remove an empty bucket: s3://bucket."""
    with _open(ctx) as fogbank:
        bucket, _ = parse_location(location)
        fogbank.lake.delete_bucket(bucket)
        console.print(f"remove_bucket: {bucket}")


@lake_app.command("ls")
def lake_ls(
    ctx: typer.Context,
    location: Annotated[str | None, typer.Argument(help="s3://bucket/prefix")] = None,
    recursive: Annotated[bool, typer.Option("--recursive", "-r")] = False,
) -> None:
    """List buckets, or the objects and prefixes under s3://bucket/prefix (as `aws s3 ls`)."""
    with _open(ctx) as fogbank:
        lake = fogbank.lake
        if location is None:
            for each in lake.list_buckets():
                console.print(f"{_when(each.creation_date)} {each.name}", highlight=False)
            return
        bucket, prefix = parse_location(location)
        token: str | None = None
        while True:
            page = lake.list_objects_v2(
                bucket,
                prefix=prefix,
                delimiter=None if recursive else "/",
                continuation_token=token,
            )
            for common in page.common_prefixes:
                console.print(f"{'PRE':>30} {common[len(prefix) :]}", highlight=False)
            for obj in page.contents:
                name = obj.key if recursive else obj.key[len(prefix) :]
                console.print(f"{_when(obj.last_modified)} {obj.size:>10} {name}", highlight=False)
            if not page.is_truncated:
                break
            token = page.next_continuation_token


@lake_app.command("cp")
def lake_cp(
    ctx: typer.Context,
    source: str,
    destination: str,
    recursive: Annotated[bool, typer.Option("--recursive", "-r")] = False,
) -> None:
    """Copy between local paths and s3:// locations, or between two s3:// locations."""
    with _open(ctx) as fogbank:
        lake = fogbank.lake
        src_remote = source.startswith("s3://")
        dst_remote = destination.startswith("s3://")
        if not src_remote and not dst_remote:
            raise typer.BadParameter("one of SOURCE and DESTINATION must be an s3:// location")
        pairs = list(_copy_pairs(fogbank, source, destination, recursive))
        for src, dst in pairs:
            if src_remote and dst_remote:
                sb, sk = parse_location(src)
                db, dk = parse_location(dst)
                lake.copy_object(sb, sk, db, dk)
            elif dst_remote:
                with Path(src).open("rb") as handle:
                    lake.write(dst, handle)
            else:
                target = Path(dst)
                target.parent.mkdir(parents=True, exist_ok=True)
                with lake.open(src) as body, target.open("wb") as out:
                    for chunk in body:
                        out.write(chunk)
            verb = "copy" if src_remote and dst_remote else "upload" if dst_remote else "download"
            console.print(f"{verb}: {src} to {dst}", highlight=False)


def _copy_pairs(
    fogbank: Fogbank, source: str, destination: str, recursive: bool
) -> Iterator[tuple[str, str]]:
    if not recursive:
        if destination.endswith("/"):
            name = source.rstrip("/").rsplit("/", 1)[-1]
            yield source, destination + name
        else:
            yield source, destination
        return
    dst_root = destination.rstrip("/")
    if source.startswith("s3://"):
        bucket, prefix = parse_location(source)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        for obj in fogbank.lake.iter_objects(bucket, prefix):
            yield f"s3://{bucket}/{obj.key}", f"{dst_root}/{obj.key[len(prefix) :]}"
    else:
        root = Path(source)
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            yield str(path), f"{dst_root}/{path.relative_to(root).as_posix()}"


@lake_app.command("cat")
def lake_cat(ctx: typer.Context, location: str) -> None:
    """Write an object's bytes to standard output."""
    with _open(ctx) as fogbank, fogbank.lake.open(location) as body:
        for chunk in body:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()


@lake_app.command("rm")
def lake_rm(
    ctx: typer.Context,
    location: str,
    recursive: Annotated[bool, typer.Option("--recursive", "-r")] = False,
) -> None:
    """Delete an object, or with --recursive every object under a prefix."""
    with _open(ctx) as fogbank:
        lake = fogbank.lake
        bucket, key = parse_location(location)
        if not recursive:
            lake.delete_object(bucket, key)
            console.print(f"delete: {location}", highlight=False)
            return
        keys = [obj.key for obj in lake.iter_objects(bucket, key)]
        for start in range(0, len(keys), 1000):
            result = lake.delete_objects(bucket, keys[start : start + 1000])
            for deleted in result.deleted:
                console.print(f"delete: s3://{bucket}/{deleted}", highlight=False)
            for error in result.errors:
                err_console.print(f"[red]error[/red] {error.key}: {error.code} {error.message}")


def main() -> None:
    """Entry point of the `fogbank` console script."""
    app()


if __name__ == "__main__":
    main()


def _add_service_commands() -> None:
    # The service command groups import this module for _open and the consoles.
    from fogbank.cli_firehose import firehose_app
    from fogbank.cli_glue import glue_app
    from fogbank.cli_hosting import endpoints_app, transform_app
    from fogbank.cli_query import query
    from fogbank.cli_streams import streams_app
    from fogbank.cli_training import logs_app, training_app

    app.add_typer(streams_app, name="streams")
    app.add_typer(glue_app, name="glue")
    app.add_typer(firehose_app, name="firehose")
    app.add_typer(training_app, name="training")
    app.add_typer(logs_app, name="logs")
    app.add_typer(endpoints_app, name="endpoints")
    app.add_typer(transform_app, name="transform")
    app.command("query")(query)


_add_service_commands()
