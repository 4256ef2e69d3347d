"""`fogbank firehose`: the delivery streams, where they deliver, and their metrics; and
`fogbank firehose warehouse`, SQL on the warehouse a Redshift destination COPYs into."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from fogbank import cli
from fogbank.firehose.warehouse import parse_jdbc_url

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
            where = f"s3://{destination.bucket}/{destination.prefix}"
            if described.redshift is not None:
                cluster = parse_jdbc_url(described.redshift.jdbc_url)
                where = f"redshift {cluster.cluster}/{cluster.database} {described.redshift.table}"
            source = (described.source or {}).get("KinesisStreamARN", "").rsplit("/", 1)[-1]
            conversion = destination.conversion
            table.add_row(
                name,
                described.status,
                f"stream {source}" if source else "DirectPut",
                where + (" (Parquet/ORC)" if conversion is not None else ""),
                f"{buffered:,}",
                f"{int(totals.get('IncomingRecords', 0)):,}",
                f"{int(totals.get('DeliveryToS3.Records', 0)):,}",
                f"{len(points) - failed:,} ({failed:,})",
                f"{totals.get('DeliveryToS3.DataFreshness', 0):.1f}",
                f"{int(errors):,}",
            )
        cli.console.print(table)


@firehose_app.command("warehouse")
def firehose_warehouse(
    ctx: typer.Context,
    jdbc_url: Annotated[
        str,
        typer.Argument(
            help="A Redshift destination's ClusterJDBCURL, as in "
            "jdbc:redshift://mycluster.abc.us-east-1.redshift.amazonaws.com:5439/dev."
        ),
    ],
    sql: Annotated[str, typer.Argument(help="SQL (DuckDB's dialect); ;-separated statements.")],
) -> None:
    """Run SQL on the warehouse standing in for a Redshift cluster's database (a DuckDB
    file under <home>/warehouse/): create the table a stream COPYs into, and read what
    was delivered. The last statement's rows are printed as a table."""
    with cli._open(ctx) as fogbank:
        warehouse = fogbank.firehose.warehouse(jdbc_url)
        result = warehouse.execute(sql)
        if not result.columns or (result.columns == ("Count",) and not result.rows):
            cli.console.print(f"ok ({warehouse.path})", highlight=False)
            return
        table = Table(title=warehouse.path.stem)
        for column in result.columns:
            table.add_column(column)
        for row in result.rows:
            table.add_row(*("NULL" if value is None else str(value) for value in row))
        cli.console.print(table)
        cli.console.print(f"{len(result.rows):,} rows", highlight=False)
