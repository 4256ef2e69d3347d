"""`fogbank query`: run Athena SQL over the Glue catalog and show the rows, the bytes
scanned and what Athena would charge."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from fogbank import cli
from fogbank.core.errors import FogbankError

QUERY_TIMEOUT = 3600.0
SHOWN_ROWS = 1000


def query(
    ctx: typer.Context,
    sql: Annotated[str, typer.Argument(help="One SQL statement, in Athena's dialect.")],
    database: Annotated[
        str, typer.Option(help="The database unqualified table names are in.")
    ] = "default",
    output: Annotated[
        str | None,
        typer.Option(help="Where results go (default: s3://fogbank-athena-results/)."),
    ] = None,
    workgroup: Annotated[str, typer.Option(help="The Athena workgroup.")] = "primary",
) -> None:
    """Run a query as Athena does (StartQueryExecution, then its results)."""
    with cli._open(ctx) as fogbank:
        location = output
        group = fogbank.queries.workgroups.get_work_group(workgroup)
        if location is None and not (group.configuration.get("ResultConfiguration") or {}).get(
            "OutputLocation"
        ):
            location = "s3://fogbank-athena-results/"
            try:
                fogbank.lake.head_bucket("fogbank-athena-results")
            except FogbankError:
                fogbank.lake.create_bucket("fogbank-athena-results")
        with cli.console.status("running"):
            query_id = fogbank.queries.start_query_execution(
                sql, database=database, output_location=location, work_group=workgroup
            )
            execution = fogbank.queries.wait(query_id, timeout=QUERY_TIMEOUT)
        if execution.state != "SUCCEEDED":
            cli.err_console.print(
                f"query {query_id} {execution.state}: {execution.state_change_reason}",
                highlight=False,
            )
            raise typer.Exit(1)
        page = fogbank.queries.get_query_results(query_id)
        rows = list(page.rows)
        if execution.statement_type == "DML" and rows:
            rows = rows[1:]  # the header row: the table's own header shows the names
        shown = Table(show_lines=False)
        for column in page.columns:
            shown.add_column(f"{column.name}\n[dim]{column.type}[/dim]")
        for row in rows[:SHOWN_ROWS]:
            shown.add_row(*["NULL" if v is None else v for v in row])
        if page.columns:
            cli.console.print(shown)
        more = " (first page)" if page.next_token else ""
        cli.console.print(
            f"query {query_id}: {execution.state}, {len(rows):,} row(s){more}, "
            f"{execution.data_scanned_bytes:,} bytes scanned, "
            f"USD {execution.cost_usd:.6f} at USD 5/TB (10 MB minimum), "
            f"{execution.total_ms:,} ms; result {execution.output_location}",
            highlight=False,
        )
