"""DuckDB views over catalog tables, made once and shared by every query that reads them.

Making a table's view costs a query milliseconds: the lake's listing turned into links,
``CREATE SCHEMA`` and ``CREATE VIEW`` (which binds the scan, reading a Parquet footer),
then ``DROP SCHEMA`` when the query ends, for every table of every query. A table
whose files and definition have not changed needs none of that again, so
:class:`SharedViews` keeps one view per table version in the engine's DuckDB database,
in a schema of its own (``fogbank_shared_<n>``), with its links in a folder of its own.

A view is reused only for the same **fingerprint**: the table's Glue definition
(database, name, VersionId, update time), the way its Parquet files are matched
(``union_by_name``) and its listing, every file's link name and the lake blob it points
to. The lake never rewrites a blob (an overwrite is a new blob), so a listing with the
same blobs reads the same bytes: the fingerprint changes exactly when what the query
would read changes, and the listing (one index range scan per location) is the only
per-query cost left. A superseded view is dropped once no running query holds it.

Only views over file paths are shared (Parquet, JSON, delimited text); ORC, Avro and
Grok tables are read through Arrow objects registered on one connection, and stay
per-query.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_PREFIX = "fogbank_shared_"
_MAX_LISTINGS = 4096


@dataclass
class SharedView:
    """One table version's view: ``"<schema>"."<table>"``, and its column types."""

    key: tuple[str, str, bool]
    fingerprint: str
    schema: str
    folder: Path
    columns: dict[str, str]
    holders: int = 0
    current: bool = True


@dataclass
class SharedViews:
    """The shared views of one DuckDB database, keyed by (database, table, union)."""

    database: Any
    folder: Path
    _views: dict[tuple[str, str, bool], SharedView] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _creating: threading.Lock = field(default_factory=threading.Lock)
    _next: int = 0
    _listings: dict[Hashable, tuple[Hashable, str]] = field(default_factory=dict)

    def listed(self, key: Hashable, markers: Hashable | None, list_: Callable[[], str]) -> str:
        """A table's fingerprint (``list_()``, which lists the lake), kept while the
        lake's change markers of the buckets under the table stay the same
        (:meth:`fogbank.lake.engine.Lake.change_marker`): a table whose buckets saw no
        write since is not listed again. ``markers`` None: listed every time."""
        if markers is not None:
            with self._lock:
                held = self._listings.get(key)
            if held is not None and held[0] == markers:
                return held[1]
        value = list_()
        if markers is not None:
            with self._lock:
                self._listings[key] = (markers, value)
                while len(self._listings) > _MAX_LISTINGS:
                    self._listings.pop(next(iter(self._listings)))
        return value

    def acquire(
        self,
        key: tuple[str, str, bool],
        fingerprint: str,
        make: Callable[[str, Path], tuple[str, dict[str, str]]],
    ) -> SharedView:
        """The view for this table version, made with ``make(schema, folder)`` (which
        returns the ``CREATE VIEW`` statement and the columns) when there is none; held
        until :meth:`release`."""
        with self._lock:
            found = self._views.get(key)
            if found is not None and found.fingerprint == fingerprint:
                found.holders += 1
                return found
        # one maker at a time: two queries of a new table version make it once
        with self._creating:
            with self._lock:
                found = self._views.get(key)
                if found is not None and found.fingerprint == fingerprint:
                    found.holders += 1
                    return found
                number = self._next
                self._next += 1
            schema = f"{SCHEMA_PREFIX}{number}"
            folder = self.folder / str(number)
            cursor = self.database.cursor()
            try:
                cursor.execute(f'CREATE SCHEMA "{schema}"')
                statement, columns = make(schema, folder)
                cursor.execute(statement)
            except BaseException:
                with contextlib.suppress(Exception):
                    cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                shutil.rmtree(folder, ignore_errors=True)
                raise
            finally:
                cursor.close()
            view = SharedView(key, fingerprint, schema, folder, columns, holders=1)
            with self._lock:
                old = self._views.get(key)
                self._views[key] = view
                if old is not None:
                    old.current = False
                    retired = old if old.holders == 0 else None
                else:
                    retired = None
            if retired is not None:
                self._drop(retired)
            return view

    def release(self, view: SharedView) -> None:
        with self._lock:
            view.holders -= 1
            retired = view.holders == 0 and not view.current
        if retired:
            self._drop(view)

    def close(self) -> None:
        """Forget every view and remove their links (the database closes after)."""
        with self._lock:
            self._views.clear()
            self._listings.clear()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _drop(self, view: SharedView) -> None:
        cursor = self.database.cursor()
        try:
            with contextlib.suppress(Exception):
                cursor.execute(f'DROP SCHEMA IF EXISTS "{view.schema}" CASCADE')
        finally:
            cursor.close()
        shutil.rmtree(view.folder, ignore_errors=True)
