"""Stores on every backend for the store's tests, and small helpers to look inside them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from database import sqlalchemy_url
from orderfsm.ingest import TaobaoSnapshot, parse
from orderfsm.store import AsyncOrderStore, OrderStore, SqliteBackend
from orderfsm.store.sql import Statement

SYNC_BACKENDS = ["sqlite", "psycopg", "sqlalchemy-postgresql", "sqlalchemy-sqlite"]
ASYNC_BACKENDS = ["psycopg-async", "sqlalchemy-async"]


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


async def async_store(kind: str, url: str) -> AsyncOrderStore:
    if kind == "psycopg-async":
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
