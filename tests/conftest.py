"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url
from sqlalchemy.pool import NullPool

PG_URL = os.environ.get("FOGBANK_TEST_PG_URL", "")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of this test session's own (xdist: one per worker), dropped at
    the end; skipped unless ``FOGBANK_TEST_PG_URL`` names a server (``.ci/run`` starts one)."""
    if not PG_URL:
        pytest.skip("FOGBANK_TEST_PG_URL is not set: the PostgreSQL runs are skipped")
    name = f"fogbank_test_{uuid.uuid4().hex}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            # template0, so that a session on template1 cannot block us; UTF-8 whatever the default
            conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        admin.dispose()
