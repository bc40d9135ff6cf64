"""The store on SQLite, through the standard library's ``sqlite3``.

``SqliteBackend("orders.db")`` opens one connection per thread (in WAL mode, waiting up
to ``timeout`` seconds for a lock); ``SqliteBackend(connection)`` uses the connection
you opened (``:memory:`` included), one transaction at a time; it must not be inside a
transaction of your own when the store uses it. Writes begin with ``BEGIN IMMEDIATE``,
so two writers queue for the lock instead of deadlocking.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from orderfsm.store.backend import Result, driver_errors
from orderfsm.store.sql import SQLITE, Dialect, Statement


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, statement: Statement) -> Result:
        if statement.many:
            cursor = self._conn.executemany(
                statement.sql, cast(list[tuple[Any, ...]], statement.params)
            )
        else:
            cursor = self._conn.execute(statement.sql, statement.params)
        rows = cursor.fetchall() if statement.fetch else []
        return Result(rows, cursor.rowcount)


class SqliteBackend:
    """A SQLite database file (or an open connection) as the store's database."""

    def __init__(self, database: str | Path | sqlite3.Connection, *, timeout: float = 30.0) -> None:
        self._shared = database if isinstance(database, sqlite3.Connection) else None
        self._path = None if self._shared is not None else str(database)
        self._timeout = timeout
        self._local = threading.local()
        self._lock = threading.RLock()

    @property
    def dialect(self) -> Dialect:
        return SQLITE

    def _connection(self) -> sqlite3.Connection:
        if self._shared is not None:
            return self._shared
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            assert self._path is not None
            conn = sqlite3.connect(self._path, timeout=self._timeout, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self, write: bool) -> Iterator[_Transaction]:
        with self._lock if self._shared is not None else _nothing(), driver_errors(sqlite3.Error):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield _Transaction(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")


@contextmanager
def _nothing() -> Iterator[None]:
    yield
