"""The store on PostgreSQL through psycopg 3, synchronous and asynchronous.

Give it a connection string (the backend opens connections of its own, in autocommit
mode, one per concurrent transaction, at most ``max_open`` at once, and keeps a few
open between transactions), a ``psycopg.Connection`` /
``psycopg.AsyncConnection`` you opened (used by one transaction at a time), or a
``psycopg_pool`` pool (anything with a ``connection()`` context manager). Install with
``pip install 'orderfsm[postgres]'``; importing this module does not import psycopg.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)
from typing import TYPE_CHECKING, Any, cast

from orderfsm.store.backend import Result, driver_errors, numbered
from orderfsm.store.sql import POSTGRESQL, Dialect, Statement

if TYPE_CHECKING:
    import psycopg

_IDLE = 8
"""Connections a connection-string backend keeps open between transactions."""


def _driver() -> Any:
    import psycopg  # noqa: PLC0415  # optional: only a PostgreSQL store needs it

    return psycopg


def _sql(statement: Statement) -> str:
    return numbered(statement.sql, "%s")


def _batch(statement: Statement) -> list[tuple[Any, ...]]:
    """The parameter tuples to run the statement with (one execute for a batch of one:
    ``executemany`` costs a pipeline sync more)."""
    if statement.many:
        return cast(list[tuple[Any, ...]], statement.params)
    return [cast(tuple[Any, ...], statement.params)]


class _Transaction:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, statement: Statement) -> Result:
        with self._conn.cursor() as cursor:
            batch = _batch(statement)
            if len(batch) == 1:
                cursor.execute(_sql(statement), batch[0])
            else:
                cursor.executemany(_sql(statement), batch)
            return Result(cursor.fetchall() if statement.fetch else [], cursor.rowcount)


class _AsyncTransaction:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def execute(self, statement: Statement) -> Result:
        async with self._conn.cursor() as cursor:
            batch = _batch(statement)
            if len(batch) == 1:
                await cursor.execute(_sql(statement), batch[0])
            else:
                await cursor.executemany(_sql(statement), batch)
            return Result(await cursor.fetchall() if statement.fetch else [], cursor.rowcount)


class PsycopgBackend:
    """PostgreSQL through a synchronous psycopg 3 connection, pool or connection string."""

    def __init__(self, source: str | psycopg.Connection[Any] | Any, *, max_open: int = 32) -> None:
        self._psycopg = _driver()
        self._source = source
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._open = threading.BoundedSemaphore(max_open)

    @property
    def dialect(self) -> Dialect:
        return POSTGRESQL

    def _checkout(self) -> AbstractContextManager[psycopg.Connection[Any]]:
        if isinstance(self._source, self._psycopg.Connection):
            return self._one_at_a_time(self._source)
        if isinstance(self._source, str):
            return self._own_connection()
        pooled: AbstractContextManager[psycopg.Connection[Any]] = cast(
            Any, self._source
        ).connection()
        return pooled

    @contextmanager
    def _one_at_a_time(self, conn: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
        with self._lock:
            yield conn

    @contextmanager
    def _own_connection(self) -> Iterator[psycopg.Connection[Any]]:
        with self._open:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = self._psycopg.connect(self._source, autocommit=True)
            try:
                yield conn
            finally:
                with self._lock:
                    keep = not (conn.closed or conn.broken) and len(self._idle) < _IDLE
                    if keep:
                        self._idle.append(conn)
                if not keep:
                    conn.close()

    @contextmanager
    def transaction(self, write: bool) -> Iterator[_Transaction]:
        with driver_errors(self._psycopg.Error), self._checkout() as conn:
            if not write and conn.autocommit:
                # the store reads with one statement, atomic on its own: no BEGIN/COMMIT
                # round trips for it
                yield _Transaction(conn)
                return
            with conn.transaction():
                yield _Transaction(conn)

    def close(self) -> None:
        """Close the connections this backend opened itself (not yours, not a pool's)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class AsyncPsycopgBackend:
    """PostgreSQL through an asynchronous psycopg 3 connection, pool or connection string."""

    def __init__(
        self, source: str | psycopg.AsyncConnection[Any] | Any, *, max_open: int = 32
    ) -> None:
        self._psycopg = _driver()
        self._source = source
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._lock = asyncio.Lock()
        self._open = asyncio.Semaphore(max_open)

    @property
    def dialect(self) -> Dialect:
        return POSTGRESQL

    def _checkout(self) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]:
        if isinstance(self._source, self._psycopg.AsyncConnection):
            return self._one_at_a_time(self._source)
        if isinstance(self._source, str):
            return self._own_connection()
        pooled: AbstractAsyncContextManager[psycopg.AsyncConnection[Any]] = cast(
            Any, self._source
        ).connection()
        return pooled

    @asynccontextmanager
    async def _one_at_a_time(
        self, conn: psycopg.AsyncConnection[Any]
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with self._lock:
            yield conn

    @asynccontextmanager
    async def _own_connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with self._open:
            conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = await self._psycopg.AsyncConnection.connect(self._source, autocommit=True)
            try:
                yield conn
            finally:
                if not (conn.closed or conn.broken) and len(self._idle) < _IDLE:
                    self._idle.append(conn)
                else:
                    await conn.close()

    @asynccontextmanager
    async def transaction(self, write: bool) -> AsyncIterator[_AsyncTransaction]:
        with driver_errors(self._psycopg.Error):
            async with self._checkout() as conn:
                if not write and conn.autocommit:  # see PsycopgBackend.transaction
                    yield _AsyncTransaction(conn)
                    return
                async with conn.transaction():
                    yield _AsyncTransaction(conn)

    async def close(self) -> None:
        """Close the connections this backend opened itself (not yours, not a pool's)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()
