"""Stores on every backend for the store's tests, and small helpers to look inside them."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from database import sqlalchemy_url
from orderfsm.cli import main as orderfsm_main
from orderfsm.ingest import TaobaoSnapshot, parse
from orderfsm.store import AsyncOrderStore, AsyncSqliteBackend, OrderStore, SqliteBackend
from orderfsm.store.sql import HISTORY_COLUMNS, Statement

SYNC_BACKENDS = ["sqlite", "psycopg", "sqlalchemy-postgresql", "sqlalchemy-sqlite"]
ASYNC_BACKENDS = ["psycopg-async", "sqlalchemy-async", "sqlite-async"]


def sync_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[OrderStore]:
    """A store with its schema created, on the backend ``kind`` names."""
    if kind == "sqlite":
        store = OrderStore(SqliteBackend(tmp_path / "orders.sqlite"))
    elif kind == "sqlalchemy-sqlite":
        import sqlalchemy  # noqa: PLC0415

        from orderfsm.store.sqlalchemy import SqlAlchemyBackend  # noqa: PLC0415

        engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'orders.sqlite'}")
        store = OrderStore(SqlAlchemyBackend(engine))
    else:
        url = request.getfixturevalue("postgres_url")
        if kind == "psycopg":
            from orderfsm.store.psycopg import PsycopgBackend  # noqa: PLC0415

            store = OrderStore(PsycopgBackend(url))
        else:
            import sqlalchemy  # noqa: PLC0415

            from orderfsm.store.sqlalchemy import SqlAlchemyBackend  # noqa: PLC0415

            store = OrderStore(SqlAlchemyBackend(sqlalchemy.create_engine(sqlalchemy_url(url))))
    store.create_schema()
    yield store
    close = getattr(store.backend, "close", None)
    if close is not None:
        close()


def location(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Where a store of ``kind`` keeps its orders: a SQLite file, or a PostgreSQL URL."""
    if kind.startswith("sqlite"):
        return str(tmp_path / "orders.sqlite")
    url: str = request.getfixturevalue("postgres_url")
    return url


async def async_store(kind: str, url: str) -> AsyncOrderStore:
    """An async store with its schema created, on ``kind`` at ``url`` (a path for SQLite)."""
    if kind == "sqlite-async":
        store = AsyncOrderStore(AsyncSqliteBackend(url))
    elif kind == "psycopg-async":
        from orderfsm.store.psycopg import AsyncPsycopgBackend  # noqa: PLC0415

        store = AsyncOrderStore(AsyncPsycopgBackend(url))
    else:
        from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

        from orderfsm.store.sqlalchemy import AsyncSqlAlchemyBackend  # noqa: PLC0415

        store = AsyncOrderStore(AsyncSqlAlchemyBackend(create_async_engine(sqlalchemy_url(url))))
    await store.create_schema()
    return store


def rows(store: OrderStore, query: str) -> list[tuple[Any, ...]]:
    """What ``query`` finds in the store's database."""
    with store.backend.transaction(False) as tx:
        return tx.execute(Statement(query, fetch=True)).rows


def callback(
    purchase_id: int | str, status: str, modify_time: int, **sub_orders: str
) -> TaobaoSnapshot:
    """A status callback in the shape of the document's example (003), parsed."""
    body = {
        "messageType": "TAOBAO_ORDER_BUYER_VIEW_BUYER_STATUS",
        "messageBody": [
            {
                "purchase_id": purchase_id,
                "status": status,
                "modify_time": modify_time,
                "sub_purchase_orders": [
                    {"sub_purchase_order_id": sid, "status": s} for sid, s in sub_orders.items()
                ],
            }
        ],
    }
    return parse(json.dumps(body).encode(), "status_callback")[0]


def open_store(kind: str, location: str) -> OrderStore:
    """A store on an existing database: a SQLite file or a PostgreSQL URL (in a worker)."""
    if kind.startswith("sqlite"):
        return OrderStore(SqliteBackend(location))
    from orderfsm.store.psycopg import PsycopgBackend  # noqa: PLC0415

    return OrderStore(PsycopgBackend(location))


def refund_each(kind: str, location: str, key: str, sub_orders: list[str]) -> list[int]:
    """A worker process: refund each sub-order of one order, one update each; returns
    how many reads each update took (more than one when it lost a race)."""
    store = open_store(kind, location)
    reads = dict.fromkeys(sub_orders, 0)

    def refund(order: Any, sub: str) -> None:
        reads[sub] += 1
        order.trigger("apply_refund", sub_order=sub)

    for sub in sub_orders:
        store.update(key, lambda o, s=sub: refund(o, s))
    return list(reads.values())


class _CrashingTransaction:
    def __init__(self, tx: Any, before: str, crash: Any) -> None:
        self._tx, self._before, self._crash = tx, before, crash

    def execute(self, statement: Statement) -> Any:
        if statement.sql.startswith(self._before):
            self._crash()
        return self._tx.execute(statement)


class CrashingBackend:
    """A backend that calls ``crash()`` just before running a statement starting with
    ``before`` (inside the save's transaction, after the order row was written)."""

    def __init__(self, backend: Any, before: str, crash: Any) -> None:
        self._backend, self._before, self._crash = backend, before, crash
        self.dialect = backend.dialect

    @contextmanager
    def transaction(self, write: bool) -> Iterator[_CrashingTransaction]:
        with self._backend.transaction(write) as tx:
            yield _CrashingTransaction(tx, self._before, self._crash)


def die_before_the_outbox(kind: str, location: str, key: str) -> None:
    """A worker process that is killed (SIGKILL: no cleanup, no rollback of its own)
    inside the save's transaction, after the order's row and history were written."""
    store = open_store(kind, location)
    store.backend = CrashingBackend(  # type: ignore[assignment]
        store.backend,
        "INSERT INTO order_outbox",
        lambda: os.kill(os.getpid(), signal.SIGKILL),
    )
    store.update(key, lambda o: o.trigger("apply_refund", sub_order="a"))


AUDIT_QUERY = f"SELECT {', '.join(HISTORY_COLUMNS[:-1])} FROM order_history ORDER BY order_id, seq"
"""The ``order_history`` rows as an analyst exports them for ``orderfsm audit``."""


def audit(found: list[tuple[Any, ...]], tmp: Path, machine: str, engine: str) -> dict[str, Any]:
    """``orderfsm audit --json`` of history rows (as :data:`AUDIT_QUERY` selects them),
    written to a CSV file; its summary. The audit must find the file auditable."""
    path = tmp / f"history-{engine}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HISTORY_COLUMNS[:-1])
        writer.writerows(found)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = orderfsm_main(
            ["audit", str(path), "--machine", machine, "--engine", engine, "--json"]
        )
    summary: dict[str, Any] = json.loads(out.getvalue())["summary"]
    assert code == 0, summary
    return summary
