"""`fogbank firehose`: the delivery streams, where they deliver, and their metrics."""

from __future__ import annotations

import typer
from rich.table import Table

from fogbank import cli

firehose_app = typer.Typer(help="Firehose delivery streams.", no_args_is_help=True)


@firehose_app.command("ls")
def firehose_ls(ctx: typer.Context) -> None:
    """Every delivery stream: source, destination, buffered records, and the totals of
    its metrics (records in, records delivered, deliveries, freshness, errors)."""
    with cli._open(ctx) as fogbank:
        firehose = fogbank.firehose
        table = Table(title="Firehose delivery streams")
        for column in (
            "name",
            "status",
            "source",
            "destination",
            "buffered",
            "in",
            "delivered",
            "deliveries (failed)",
            "freshness s",
            "errors",
        ):
            table.add_column(column)
        for name in firehose.list_delivery_streams(limit=10_000).names:
            described = firehose.describe_delivery_stream(name)
            buffered, _ = firehose.buffered(name)
            totals = firehose.metrics.totals(name)
            points = fogbank.store.get_metrics(
                "AWS/Firehose", "DeliveryToS3.Success", dimensions={"DeliveryStreamName": name}
            )
            failed = sum(1 for p in points if p.value == 0)
            errors = totals.get("FailedConversion.Records", 0) + totals.get(
                "FailedProcessing.Records", 0
            )
            destination = described.destination
            source = (described.source or {}).get("KinesisStreamARN", "").rsplit("/", 1)[-1]
            conversion = destination.conversion
            table.add_row(
                name,
                described.status,
                f"stream {source}" if source else "DirectPut",
                f"s3://{destination.bucket}/{destination.prefix}"
                + (" (Parquet/ORC)" if conversion is not None else ""),
                f"{buffered:,}",
                f"{int(totals.get('IncomingRecords', 0)):,}",
                f"{int(totals.get('DeliveryToS3.Records', 0)):,}",
                f"{len(points) - failed:,} ({failed:,})",
                f"{totals.get('DeliveryToS3.DataFreshness', 0):.1f}",
                f"{int(errors):,}",
            )
        cli.console.print(table)
