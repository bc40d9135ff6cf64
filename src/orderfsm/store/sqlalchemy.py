"""The store through SQLAlchemy 2 Core: an ``Engine`` or an asyncio ``AsyncEngine``.

The engine's own pool hands out connections; each store transaction is one
``engine.begin()`` block. PostgreSQL (any driver SQLAlchemy supports, e.g.
``postgresql+psycopg://``, which also serves ``create_async_engine``) and SQLite are
understood. Install with ``pip install 'orderfsm[sqlalchemy]'``; importing this module
does not import SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from orderfsm.errors import StoreError
from orderfsm.store.backend import Result, driver_errors, numbered
from orderfsm.store.sql import POSTGRESQL, SQLITE, Dialect, Statement

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, TextClause
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


def _dialect(name: str) -> Dialect:
    known = {"postgresql": POSTGRESQL, "sqlite": SQLITE}
    if name not in known:
        raise StoreError(f"the store speaks PostgreSQL and SQLite, not {name!r}")
    return known[name]


@lru_cache(maxsize=256)
def _text(sql: str) -> TextClause:
    from sqlalchemy import text  # noqa: PLC0415  # optional dependency

    return text(numbered(sql, ":p{}"))


def _bound(params: tuple[object, ...]) -> dict[str, object]:
    return {f"p{i}": value for i, value in enumerate(params)}


def _call(statement: Statement) -> tuple[TextClause, Any]:
    """The statement as SQLAlchemy runs it: a text clause and its parameters."""
    if statement.many:
        return _text(statement.sql), [_bound(p) for p in statement.params]  # type: ignore[arg-type]
    return _text(statement.sql), _bound(statement.params)  # type: ignore[arg-type]


def _errors() -> type[BaseException]:
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

    return SQLAlchemyError


class _Transaction:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def execute(self, statement: Statement) -> Result:
        result = self._conn.execute(*_call(statement))
        rows = [tuple(r) for r in result.fetchall()] if statement.fetch else []
        return Result(rows, result.rowcount)


class _AsyncTransaction:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def execute(self, statement: Statement) -> Result:
        result = await self._conn.execute(*_call(statement))
        rows = [tuple(r) for r in result.fetchall()] if statement.fetch else []
        return Result(rows, result.rowcount)


class SqlAlchemyBackend:
    """A SQLAlchemy ``Engine`` as the store's database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = _dialect(engine.dialect.name)

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    @contextmanager
    def transaction(self, write: bool) -> Iterator[_Transaction]:
        with driver_errors(_errors()), self._engine.begin() as conn:
            yield _Transaction(conn)


class AsyncSqlAlchemyBackend:
    """A SQLAlchemy ``AsyncEngine`` as the store's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = _dialect(engine.dialect.name)

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    @asynccontextmanager
    async def transaction(self, write: bool) -> AsyncIterator[_AsyncTransaction]:
        with driver_errors(_errors()):
            async with self._engine.begin() as conn:
                yield _AsyncTransaction(conn)
