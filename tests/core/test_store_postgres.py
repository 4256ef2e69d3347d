"""The control-plane store's behaviour tests, run again on PostgreSQL.

Set ``FOGBANK_TEST_PG_URL`` to a server where the user may create databases (``.ci/run``
starts a throwaway one), for example ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``.
Every test of ``test_store.py`` that takes the ``store`` or ``store_url`` fixture runs
here, each in a fresh schema of its own, inside a database this session creates and drops.
"""

from __future__ import annotations

import inspect
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url
from sqlalchemy.pool import NullPool

from fogbank.core.errors import InvalidConfiguration
from fogbank.core.store import ControlPlaneStore

PG_URL = os.environ.get("FOGBANK_TEST_PG_URL", "")
if not PG_URL:
    pytest.skip(
        "FOGBANK_TEST_PG_URL is not set; set it to a PostgreSQL URL such as "
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres to run the store tests there",
        allow_module_level=True,
    )

try:  # pytest's default import mode puts this folder on sys.path
    import test_store as behaviour
except ImportError:  # the tests folders are packages, or another import mode is set
    from tests.core import test_store as behaviour  # type: ignore[no-redef]

_BACKEND_FIXTURES = {"store", "store_url"}

# The same test functions, collected again in this module with its own store_url.
for _name, _test in vars(behaviour).items():
    if _name.startswith("test_") and _BACKEND_FIXTURES & set(inspect.signature(_test).parameters):
        globals()[_name] = _test
clock = behaviour.clock
store = behaviour.store


@pytest.fixture
def store_url(pg_database: str) -> Iterator[str]:
    """A fresh, empty schema for one test: the store's tables land there, by search_path."""
    schema = f"test_{uuid.uuid4().hex}"
    admin = create_engine(pg_database, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        yield (
            make_url(pg_database)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    finally:
        admin.dispose()


def test_url_masks_the_password(store_url: str) -> None:
    url = make_url(store_url)
    password = url.password or "s3cret"  # .ci/run's server trusts loopback: any password does
    with_password = url.set(password=password)
    try:
        opened = ControlPlaneStore(with_password.render_as_string(hide_password=False))
    except InvalidConfiguration:
        pytest.skip("the server wants a password: put it in FOGBANK_TEST_PG_URL")
    try:
        assert str(password) not in opened.url
        assert opened.url == with_password.render_as_string(hide_password=True)
        assert str(password) not in repr(opened)
    finally:
        opened.close()
