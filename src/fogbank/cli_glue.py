"""`fogbank glue`: crawl a lake location into the Data Catalog, and list its tables."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import typer
from rich.table import Table

from fogbank import cli
from fogbank.core.errors import EntityNotFoundException

glue_app = typer.Typer(help="Glue Data Catalog: tables, crawl.", no_args_is_help=True)
CRAWL_TIMEOUT = 3600.0


@glue_app.command("tables")
def glue_tables(
    ctx: typer.Context,
    database: Annotated[str | None, typer.Option(help="Only this database.")] = None,
) -> None:
    """Every table, with its format, columns, partition keys, partitions and location."""
    with cli._open(ctx) as fogbank:
        catalog = fogbank.catalog
        names = [database] if database else [d.name for d in _all(catalog.get_databases)]
        table = Table(title="Glue tables")
        for column in ("table", "format", "columns", "partition keys", "partitions", "location"):
            table.add_column(column)
        for name in names:
            for found in _all(partial(catalog.get_tables, name)):
                partitions = len(_all(partial(catalog.get_partitions, name, found.name)))
                sd = found.storage_descriptor or {}
                table.add_row(
                    f"{name}.{found.name}",
                    (found.parameters or {}).get("classification", ""),
                    str(len(sd.get("Columns", []))),
                    ", ".join(k["Name"] for k in found.partition_keys),
                    f"{partitions:,}",
                    sd.get("Location", ""),
                )
        cli.console.print(table)


@glue_app.command("crawl")
def glue_crawl(
    ctx: typer.Context,
    location: Annotated[str, typer.Argument(help="s3://bucket/prefix/ to crawl")],
    database: Annotated[str, typer.Option(help="Database the tables go into.")] = "default",
    name: Annotated[
        str | None, typer.Option(help="Crawler name (default: from the database).")
    ] = None,
) -> None:
    """Crawl a lake location with a Glue crawler (made if needed) and show what it wrote."""
    crawler_name = name or f"{database}-crawler"
    with cli._open(ctx) as fogbank:
        try:
            fogbank.catalog.get_database(database)
        except EntityNotFoundException:
            fogbank.catalog.create_database({"Name": database})
        crawlers = fogbank.crawlers
        definition: Any = {
            "Name": crawler_name,
            "Role": f"arn:aws:iam::{fogbank.config.account_id}:role/fogbank",
            "DatabaseName": database,
            "Targets": {"S3Targets": [{"Path": location}]},
        }
        try:
            crawlers.get_crawler(crawler_name)
            definition.pop("Name")
            crawlers.update_crawler(crawler_name, definition)
        except EntityNotFoundException:
            crawlers.create_crawler(definition)
        with cli.console.status(f"crawling {location} with {crawler_name}"):
            crawlers.start_crawler(crawler_name)
            crawler = crawlers.wait_for_crawler(crawler_name, timeout=CRAWL_TIMEOUT)
        last = crawler.last_crawl
        metrics = crawlers.get_crawler_metrics([crawler_name])[0][0]
        cli.console.print(
            f"crawl {last.status if last else 'unknown'}: {metrics.tables_created} table(s) "
            f"created, {metrics.tables_updated} updated, {metrics.tables_deleted} deleted"
        )
        if last is not None and last.error_message:
            cli.console.print(f"[yellow]{last.error_message}[/yellow]", highlight=False)
    glue_tables(ctx, database=database)


def _all(fetch: Any) -> list[Any]:
    """Every item of a paged Get* call."""
    items: list[Any] = []
    token = None
    while True:
        page = fetch(next_token=token) if token else fetch()
        items.extend(page.items)
        token = page.next_token
        if not token:
            return items
