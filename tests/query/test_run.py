"""A SELECT's columns and rows as the run streams them, through DuckDB's streaming
result and through a relation (the way any DuckDB without it takes): the same."""

from __future__ import annotations

from typing import Any

import duckdb

from fogbank.query.run import _streamed

SQL = (
    "SELECT 1::DECIMAL(15,2) AS price, 'x' AS name, [1, 2] AS list, "
    "DATE '2020-01-02' AS day, NULL::BIGINT AS missing FROM range(3000)"
)


class _RelationsOnly:
    """A connection with only the public relation API."""

    def __init__(self, connection: Any) -> None:
        self.sql = connection.sql


def test_streamed_columns_and_rows_are_the_same_either_way() -> None:
    connection = duckdb.connect()
    try:
        streamed, reader = _streamed(connection, SQL)
        table = reader.read_all()
        related, relation_reader = _streamed(_RelationsOnly(connection), SQL)
        relation_table = relation_reader.read_all()
    finally:
        connection.close()
    assert (
        streamed
        == related
        == [
            ("price", "DECIMAL(15,2)"),
            ("name", "VARCHAR"),
            ("list", "INTEGER[]"),
            ("day", "DATE"),
            ("missing", "BIGINT"),
        ]
    )
    assert table.num_rows == relation_table.num_rows == 3000
    assert table.equals(relation_table)
