"""AsyncOrderStore on psycopg's and SQLAlchemy's asyncio drivers: the same behaviour as
the sync store (contention is in test_store_concurrency.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import orderfsm
from orderfsm.store import AsyncOrderStore, OutboxMessage
from orderfsm.store.sql import Statement, update_order
from store_support import ASYNC_BACKENDS, async_store, callback, location


async def _rows(store: AsyncOrderStore, query: str) -> list[tuple[object, ...]]:
    async with store.backend.transaction(False) as tx:
        return (await tx.execute(Statement(query, fetch=True))).rows


async def _close(store: AsyncOrderStore) -> None:
    close = getattr(store.backend, "close", None)
    if close is not None:
        await close()


@pytest.mark.parametrize("lock_after", [3, 0], ids=["optimistic", "locked"])
@pytest.mark.parametrize("kind", ASYNC_BACKENDS)
def test_the_async_store_creates_saves_refuses_relays_and_migrates(
    kind: str, lock_after: int, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """With ``lock_after=0`` every update reads locked and saves in that transaction."""

    async def run() -> None:
        store = AsyncOrderStore(
            (await async_store(kind, location(kind, tmp_path, request))).backend,
            lock_after=lock_after,
        )
        await store.create_schema()  # idempotent
        # a refused first change stores nothing
        with pytest.raises(orderfsm.IllegalTransition):
            await store.update("1", lambda o: o.trigger("ship"), new=orderfsm.TaobaoOrder)
        assert await store.load("1") is None
        with pytest.raises(orderfsm.OrderNotStored):
            await store.get("1")
        snap = callback(1, "WAIT_SELLER_SEND_GOODS", 2000, a="WAIT_SELLER_SEND_GOODS")
        result = await store.update("1", lambda o: o.apply(snap), new=orderfsm.TaobaoOrder)
        assert result.outcome == "advanced"
        assert (await store.update("1", lambda o: o.apply(snap).outcome)) == "duplicate"
        assert await _rows(store, "SELECT version FROM orders") == [(1,)]

        published: list[OutboxMessage] = []

        async def publish(message: OutboxMessage) -> None:
            await asyncio.sleep(0)
            published.append(message)

        assert await store.relay(publish) == 1 and await store.relay(publish) == 0
        assert published[0].payload["status"] == "10"

        current = (await store.get("1")).to_dict()
        older = dict(current, format=current["format"].replace("/2", "/1"))
        older["history"] = [
            dict(zip(current["history"], cells, strict=True))
            for cells in zip(*current["history"].values(), strict=True)
        ]
        async with store.backend.transaction(True) as tx:
            await tx.execute(update_order(store.backend.dialect, "1", 1, 1, json.dumps(older)))
        assert await store.migrate("1") is True
        assert await store.migrate("1") is False
        assert (await store.get("1")).to_dict() == current
        assert await store.add("2", orderfsm.IcbuOrder()) is True
        assert await store.add("2", orderfsm.IcbuOrder()) is False

        def drafted() -> orderfsm.IcbuOrder:
            order = orderfsm.IcbuOrder()
            order.trigger("draft_order")
            return order

        heard: list[str] = []
        stop = orderfsm.listen(lambda n: heard.append(n.change.step.event))
        try:
            assert await store.add("3", drafted) is True
            assert await store.add("3", drafted) is False  # taken: its change never heard
        finally:
            stop()
        assert heard == ["draft_order"]
        await _close(store)

    asyncio.run(run())


def test_a_connection_string_backend_opens_at_most_max_open_connections(postgres_url: str) -> None:
    from orderfsm.store.psycopg import AsyncPsycopgBackend  # noqa: PLC0415

    async def run() -> int:
        backend = AsyncPsycopgBackend(postgres_url, max_open=2)
        store = AsyncOrderStore(backend)
        await store.create_schema()
        subs = [f"s{i}" for i in range(10)]
        await store.add("1", orderfsm.TaobaoOrder(status=11, sub_orders=subs))
        seen: set[int] = set()

        async def refund(sub: str) -> None:
            async with backend.transaction(False) as tx:  # note which connection served
                pid = await tx.execute(Statement("SELECT pg_backend_pid()", fetch=True))
                seen.add(pid.rows[0][0])
            await store.update("1", lambda o: o.trigger("apply_refund", sub_order=sub))

        await asyncio.wait_for(asyncio.gather(*(refund(s) for s in subs)), 60)
        assert (await store.get("1")).version == 10
        await backend.close()
        return len(seen)

    assert asyncio.run(run()) <= 2
