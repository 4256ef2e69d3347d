"""The catalog's tests run on every control-plane backend: SQLite always, and PostgreSQL
when ``FOGBANK_TEST_PG_URL`` names a server (as for tests/core/test_store_postgres.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url
from sqlalchemy.pool import NullPool

from fogbank.core.store import ControlPlaneStore


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ControlPlaneStore]:
    """An empty control-plane store on each backend."""
    if request.param == "sqlite":
        opened = ControlPlaneStore(f"sqlite:///{tmp_path / 'control-plane.sqlite'}")
        yield opened
        opened.close()
        return
    database: str = request.getfixturevalue("pg_database")
    schema = f"test_{uuid.uuid4().hex}"
    admin = create_engine(database, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        url = make_url(database).update_query_dict({"options": f"-csearch_path={schema}"})
        opened = ControlPlaneStore(url.render_as_string(hide_password=False))
        yield opened
        opened.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    finally:
        admin.dispose()
