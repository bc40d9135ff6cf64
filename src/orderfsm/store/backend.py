"""What the store needs of a database: transactions that run :class:`Statement`s.

A backend is a thin adapter over one driver (:mod:`orderfsm.store.sqlite`,
:mod:`orderfsm.store.psycopg`, :mod:`orderfsm.store.sqlalchemy`). It opens a
transaction, runs statements in it (returning rows or the row count), commits when the
block ends and rolls back when it raises. Driver errors leave it as
:class:`~orderfsm.errors.StoreError`. All the store's logic lives above this line, once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from orderfsm.errors import StoreError
from orderfsm.store.sql import Dialect, Statement


@dataclass(frozen=True, slots=True)
class Result:
    """What a statement gave back: its rows (when fetched) and how many rows it changed."""

    rows: list[tuple[Any, ...]]
    rowcount: int


class Transaction(Protocol):
    def execute(self, statement: Statement) -> Result: ...


class AsyncTransaction(Protocol):
    async def execute(self, statement: Statement) -> Result: ...


class Backend(Protocol):
    """A synchronous database: ``with backend.transaction(write) as tx: tx.execute(...)``.

    ``write`` says the transaction will write (SQLite takes its write lock up front, so
    two writers never deadlock upgrading a read lock).
    """

    @property
    def dialect(self) -> Dialect: ...

    def transaction(self, write: bool) -> AbstractContextManager[Transaction]: ...


class AsyncBackend(Protocol):
    """An asynchronous database: ``async with backend.transaction(write) as tx: ...``."""

    @property
    def dialect(self) -> Dialect: ...

    def transaction(self, write: bool) -> AbstractAsyncContextManager[AsyncTransaction]: ...


@contextmanager
def driver_errors(*errors: type[BaseException]) -> Iterator[None]:
    """Turn the driver's own errors into :class:`StoreError` (the original as cause)."""
    try:
        yield
    except errors as exc:
        raise StoreError(f"{type(exc).__name__}: {exc}".strip()) from exc


@lru_cache(maxsize=256)
def numbered(sql: str, mark: str) -> str:
    """``sql`` with its ``?`` placeholders spelled ``mark`` (``%s``), or numbered when
    ``mark`` contains ``{}`` (``:p{}`` gives ``:p0``, ``:p1``, ...). The store's SQL has no
    ``?`` or ``%`` anywhere else."""
    if "{}" not in mark:
        return sql.replace("?", mark)
    counter = iter(range(sql.count("?")))
    return re.sub(r"\?", lambda _: mark.format(next(counter)), sql)
