"""`fogbank streams`: list, create, put into and tail Kinesis data streams."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer
from rich.table import Table

from fogbank import cli
from fogbank.streams.engine import PutRequest, Streams

streams_app = typer.Typer(help="Kinesis data streams: ls, create, put, tail.", no_args_is_help=True)
PUT_BATCH = 500


@streams_app.command("ls")
def streams_ls(ctx: typer.Context) -> None:
    """Every stream, with its status, mode, open shards and retention."""
    with cli._open(ctx) as fogbank:
        table = Table(title="streams")
        for column in ("stream", "status", "mode", "open shards", "retention", "created"):
            table.add_column(column, justify="right" if column == "open shards" else "left")
        for name in fogbank.streams.stream_names():
            found = fogbank.streams.describe_stream_summary(name)
            table.add_row(
                name,
                found.summary.status,
                found.summary.mode,
                str(found.open_shard_count),
                f"{found.retention_period_hours} h",
                cli._when(found.summary.created),
            )
        cli.console.print(table)


@streams_app.command("create")
def streams_create(
    ctx: typer.Context,
    name: str,
    shards: Annotated[int, typer.Option(min=1, help="Shards (provisioned mode).")] = 1,
    on_demand: Annotated[bool, typer.Option("--on-demand", help="ON_DEMAND mode.")] = False,
) -> None:
    """Create a stream whose shards split the hash-key space evenly."""
    with cli._open(ctx) as fogbank:
        mode = "ON_DEMAND" if on_demand else "PROVISIONED"
        fogbank.streams.create_stream(name, None if on_demand else shards, mode=mode)
        found = fogbank.streams.describe_stream_summary(name)
        cli.console.print(
            f"created stream {name} ({mode}, {found.open_shard_count} shards): {found.summary.arn}"
        )


@streams_app.command("put")
def streams_put(
    ctx: typer.Context,
    name: str,
    records: Annotated[
        list[str] | None, typer.Argument(help="Records to put; none: one per line of stdin.")
    ] = None,
    partition_key: Annotated[
        str | None, typer.Option(help="Partition key (default: the record's own line number).")
    ] = None,
) -> None:
    """Put records, PutRecords 500 at a time, retrying any the shards throttle."""
    with cli._open(ctx) as fogbank:
        lines = records if records else (line.rstrip("\n") for line in sys.stdin)
        batch: list[PutRequest] = []
        sent = 0
        for number, line in enumerate(lines):
            batch.append(PutRequest(line.encode("utf-8"), partition_key or str(number)))
            if len(batch) == PUT_BATCH:
                sent += _put_all(fogbank.streams, name, batch)
                batch = []
        if batch:
            sent += _put_all(fogbank.streams, name, batch)
        cli.console.print(f"put {sent:,} record(s) into {name}")


def _put_all(streams: Streams, name: str, batch: list[PutRequest]) -> int:
    pending = batch
    delay = 0.05
    while pending:
        reply = streams.put_records(pending, name=name)
        pending = [r for r, e in zip(pending, reply.records, strict=True) if e.error_code]
        if pending:
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    return len(batch)


@streams_app.command("tail")
def streams_tail(
    ctx: typer.Context,
    name: str,
    start: Annotated[
        str, typer.Option("--from", help="trim-horizon (everything kept) or latest.")
    ] = "trim-horizon",
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep waiting for more.")] = False,
) -> None:
    """Print a stream's records, shard by shard (parents before their children)."""
    kind = {"trim-horizon": "TRIM_HORIZON", "latest": "LATEST"}.get(start)
    if kind is None:
        raise typer.BadParameter("--from must be trim-horizon or latest")
    with cli._open(ctx) as fogbank:
        streams = fogbank.streams
        positions: dict[str, str | None] = {}
        while True:
            for shard in streams.list_shards(name).shards:
                if shard.shard_id not in positions:
                    positions[shard.shard_id] = streams.get_shard_iterator(
                        shard.shard_id, kind, name=name
                    )
            idle = True
            for shard_id, iterator in sorted(positions.items()):
                while iterator is not None:
                    page = streams.get_records(iterator)
                    for record in page.records:
                        idle = False
                        text = record.data.decode("utf-8", errors="replace")
                        cli.console.print(
                            f"{shard_id} {record.partition_key} {text}",
                            highlight=False,
                            markup=False,
                        )
                    iterator = page.next_shard_iterator
                    if not page.records:
                        break
                positions[shard_id] = iterator
            if not follow:
                return
            if idle:
                time.sleep(0.2)
