"""The store on SQLite, through the standard library's ``sqlite3``; synchronous, and for
asyncio on a thread of its own.

``SqliteBackend("orders.db")`` opens one connection per thread (in WAL mode, waiting up
to ``timeout`` seconds for a lock); ``SqliteBackend(connection)`` uses the connection
you opened (``:memory:`` included), one transaction at a time; it must not be inside a
transaction of your own when the store uses it. Writes begin with ``BEGIN IMMEDIATE``,
so two writers queue for the lock instead of deadlocking.

``AsyncSqliteBackend`` serves :class:`~orderfsm.store.AsyncOrderStore`: ``sqlite3``
blocks, so every call runs on the backend's one worker thread while the event loop goes
on, and its transactions take turns (SQLite runs one writer at a time anyway).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
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


class _ThreadedTransaction:
    def __init__(self, tx: _Transaction, thread: ThreadPoolExecutor) -> None:
        self._tx, self._thread = tx, thread

    async def execute(self, statement: Statement) -> Result:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._tx.execute, statement)


class AsyncSqliteBackend:
    """A SQLite database file (or an open connection) for the asyncio store."""

    def __init__(self, database: str | Path | sqlite3.Connection, *, timeout: float = 30.0) -> None:
        # A connection you open is used on the worker thread: open it with
        # check_same_thread=False (sqlite3 refuses otherwise, a StoreError naming it).
        self._sync = SqliteBackend(database, timeout=timeout)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="orderfsm-sqlite")
        self._turn = asyncio.Lock()

    @property
    def dialect(self) -> Dialect:
        return SQLITE

    @asynccontextmanager
    async def transaction(self, write: bool) -> AsyncIterator[_ThreadedTransaction]:
        loop = asyncio.get_running_loop()
        async with self._turn:
            block = self._sync.transaction(write)
            tx = await loop.run_in_executor(self._thread, block.__enter__)
            try:
                yield _ThreadedTransaction(tx, self._thread)
            except BaseException as exc:
                await loop.run_in_executor(
                    self._thread, block.__exit__, type(exc), exc, exc.__traceback__
                )
                raise
            await loop.run_in_executor(self._thread, block.__exit__, None, None, None)

    async def close(self) -> None:
        """Stop the worker thread (the connections close with it)."""
        self._thread.shutdown(wait=True)
