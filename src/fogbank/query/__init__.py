"""Athena on DuckDB: query executions, workgroups, results and bytes scanned."""
