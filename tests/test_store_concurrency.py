"""The store under contention, asynchronously, and when a writer dies mid-save.

Several processes and several asyncio tasks update the same order at once: every
update lands (none is lost or overwritten), the history stays numbered 1..n, each
change has its outbox row, and the stored history audits with 0 illegal steps. A
writer killed inside the save's transaction leaves the order, its history and the
outbox exactly as they were. Counts and times are bounded.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import orderfsm
from orderfsm.store import OrderStore
from store_support import (
    ASYNC_BACKENDS,
    AUDIT_QUERY,
    CrashingBackend,
    async_store,
    audit,
    location,
    open_store,
    refund_each,
    rows,
)

SUB_ORDERS = [f"s{i:02d}" for i in range(20)]
LOCK_AFTER = 8  # the store's default
TESTS = Path(__file__).resolve().parent


def _fresh_store(kind: str, where: str, sub_orders: list[str] | None) -> OrderStore:
    """A store with its schema, holding order "1" (paid, these sub-orders) unless None."""
    store = open_store(kind, where)
    store.create_schema()
    if sub_orders is not None:
        store.add("1", orderfsm.TaobaoOrder(status=11, sub_orders=sub_orders))
    return store


def _all_landed(store: OrderStore, tmp_path: Path) -> None:
    """Every sub-order refunded, each once: version, history and outbox agree."""
    order = store.get("1")
    assert isinstance(order, orderfsm.TaobaoOrder)
    assert {s: order.refund_status(s).name for s in SUB_ORDERS} == dict.fromkeys(
        SUB_ORDERS, "APPLIED_REFUND"
    )
    assert order.version == len(SUB_ORDERS)
    history = rows(store, "SELECT seq, sub_order_id FROM order_history ORDER BY seq")
    # each refund's first status and its change: two rows a sub-order, numbered on
    assert [seq for seq, _ in history] == list(range(1, 2 * len(SUB_ORDERS) + 1))
    assert sorted(sub for _, sub in history) == sorted(SUB_ORDERS * 2)
    versions = rows(store, "SELECT version FROM order_outbox ORDER BY version")
    assert [v for (v,) in versions] == list(range(len(SUB_ORDERS) + 1))  # 0: the add
    history_rows = rows(store, AUDIT_QUERY)
    for engine in ("stream", "duckdb"):
        assert audit(history_rows, tmp_path, "taobao_order", engine)["illegal"] == 0


@pytest.mark.parametrize("kind", ["sqlite", "psycopg"])
def test_four_processes_refund_twenty_sub_orders_of_one_order_and_all_land(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    where = location(kind, tmp_path, request)
    store = _fresh_store(kind, where, SUB_ORDERS)
    shares = [SUB_ORDERS[i::4] for i in range(4)]
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(refund_each, kind, where, "1", share) for share in shares]
        reads = [n for f in futures for n in f.result(timeout=120)]
    assert len(reads) == len(SUB_ORDERS)
    # after LOCK_AFTER lost races an update reads with the row locked and saves in that
    # transaction: it cannot lose again
    assert max(reads) <= LOCK_AFTER + 1
    _all_landed(store, tmp_path)


@pytest.mark.parametrize("kind", ASYNC_BACKENDS)
def test_twenty_asyncio_tasks_refund_twenty_sub_orders_of_one_order_and_all_land(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    where = location(kind, tmp_path, request)

    async def run() -> list[int]:
        store = await async_store(kind, where)
        await store.add("1", orderfsm.TaobaoOrder(status=11, sub_orders=SUB_ORDERS))
        reads = dict.fromkeys(SUB_ORDERS, 0)

        def refund(order: orderfsm.TaobaoOrder, sub: str) -> None:
            reads[sub] += 1
            order.trigger("apply_refund", sub_order=sub)

        await asyncio.wait_for(
            asyncio.gather(
                *(store.update("1", lambda o, s=sub: refund(o, s)) for sub in SUB_ORDERS)
            ),
            timeout=120,
        )
        return list(reads.values())

    reads = asyncio.run(run())
    assert sum(reads) > len(SUB_ORDERS)  # they did collide, and the losers re-applied
    assert max(reads) <= LOCK_AFTER + 1  # the last attempt holds the row lock
    _all_landed(open_store(kind, where), tmp_path)


@pytest.mark.parametrize("kind", ["sqlite", "psycopg"])
def test_a_writer_killed_inside_the_save_leaves_order_history_and_outbox_as_they_were(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    where = location(kind, tmp_path, request)
    store = _fresh_store(kind, where, ["a"])
    before = _everything(store)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from store_support import die_before_the_outbox as die;"
        "die(sys.argv[2], sys.argv[3], '1')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(TESTS), kind, where], timeout=120, check=False
    )
    assert done.returncode == -9  # it was killed, mid-transaction
    assert _everything(store) == before
    # ... and the next writer saves normally
    store.update("1", lambda o: o.trigger("apply_refund", sub_order="a"))
    assert store.get("1").version == 1
    assert len(_everything(store)[2]) == 2


@pytest.mark.parametrize("kind", ["sqlite", "psycopg"])
def test_an_error_inside_the_save_rolls_back_the_order_with_its_outbox(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = _fresh_store(kind, location(kind, tmp_path, request), None)
    before = _everything(store)

    def fail() -> None:
        raise RuntimeError("the disk is full")

    store.backend = CrashingBackend(store.backend, "INSERT INTO order_outbox", fail)  # type: ignore[assignment]
    with pytest.raises(RuntimeError, match="disk"):
        store.update("1", lambda o: o.trigger("creation_complete"), new=orderfsm.TaobaoOrder)
    assert _everything(store) == before == ([], [], [])


def _everything(store: OrderStore) -> tuple[list[Any], list[Any], list[Any]]:
    return (
        rows(store, "SELECT key, version FROM orders ORDER BY key"),
        rows(store, "SELECT order_id, seq FROM order_history ORDER BY order_id, seq"),
        rows(store, "SELECT order_id, version FROM order_outbox ORDER BY id"),
    )
