"""The order store on every backend: SQLite (standard library), PostgreSQL through
psycopg 3 and through SQLAlchemy 2 (and SQLAlchemy on SQLite); sync here, async and
contention in test_store_concurrency.py."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import orderfsm
from orderfsm.ingest import parse
from orderfsm.store import OrderStore, OutboxMessage, SqliteBackend
from orderfsm.store.rows import StoredOrder, row_values
from orderfsm.store.sql import HISTORY_COLUMNS, update_order
from store_support import SYNC_BACKENDS, callback, rows, sync_store
from support import PAYLOADS


@pytest.fixture(params=SYNC_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OrderStore]:
    yield from sync_store(request.param, tmp_path, request)


def counts(store: OrderStore) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        rows(store, f"SELECT COUNT(*) FROM {t}")[0][0]
        for t in ("orders", "order_history", "order_outbox")
    )


def history_table(store: OrderStore, key: str) -> list[tuple[object, ...]]:
    columns = ", ".join(HISTORY_COLUMNS[:-1])
    return rows(store, f"SELECT {columns} FROM order_history WHERE order_id = '{key}' ORDER BY seq")


def test_an_accepted_callback_creates_the_order_its_history_and_one_outbox_row(
    store: OrderStore,
) -> None:
    snap = callback(7, "WAIT_SELLER_SEND_GOODS", 2000, a="WAIT_SELLER_SEND_GOODS")
    outcome = store.update("7", lambda o: o.apply(snap).outcome, new=orderfsm.TaobaoOrder)
    assert outcome == "advanced"
    order = store.get("7")
    assert isinstance(order, orderfsm.TaobaoOrder)
    assert order.status.name == "WAIT_SELLER_SEND_GOODS" and order.version == 1
    assert rows(store, "SELECT key, machine, version FROM orders") == [("7", "taobao_order", 1)]
    assert history_table(store, "7") == [row_values(r) for r in orderfsm.history_rows(order, "7")]
    stored_rows = len(orderfsm.history_rows(order, "7"))  # each part's first status too
    assert counts(store) == (1, stored_rows, 1)
    # the platform redelivers it: a duplicate writes nothing at all
    assert store.update("7", lambda o: o.apply(snap).outcome) == "duplicate"
    assert counts(store) == (1, stored_rows, 1)


def test_each_save_appends_only_its_new_history_rows_numbered_on(store: OrderStore) -> None:
    store.update("8", lambda o: None, new=lambda: orderfsm.TaobaoOrder(status=11, sub_orders=["a"]))
    assert counts(store) == (0, 0, 0)  # nothing changed: nothing stored
    for event in ("apply_refund", "agree_refund"):
        store.update(
            "8",
            lambda o, e=event: o.trigger(e, sub_order="a"),
            new=lambda: orderfsm.TaobaoOrder(status=11, sub_orders=["a"]),
        )
    order = store.get("8")
    # the refund's first status (initial), then one row per change
    assert [r[1] for r in history_table(store, "8")] == [1, 2, 3]
    assert history_table(store, "8") == [row_values(r) for r in orderfsm.history_rows(order, "8")]
    versions = rows(store, "SELECT version FROM order_outbox ORDER BY id")
    assert versions == [(1,), (2,)]


ICBU_EXAMPLE = parse((PAYLOADS / "002_order_get_response.xml").read_bytes(), "icbu_order")[0]
UNTIMED = parse(
    b'{"messageBody": [{"purchase_id": 9, "status": "ORDER_BULIDING"}]}', "status_callback"
)[0]


@pytest.mark.parametrize(
    ("change", "new"),
    [
        pytest.param(lambda o: o.trigger("ship"), orderfsm.TaobaoOrder, id="rejected-trigger"),
        pytest.param(lambda o: o.apply(UNTIMED), orderfsm.TaobaoOrder, id="duplicate"),
        # the document's own example, applied to a new order, is inconsistent: refused
        pytest.param(lambda o: o.apply(ICBU_EXAMPLE), orderfsm.IcbuOrder, id="inconsistent"),
    ],
)
def test_a_refused_first_callback_stores_nothing(
    store: OrderStore, change: Callable[[Any], object], new: Callable[[], StoredOrder]
) -> None:
    with contextlib.suppress(orderfsm.TransitionRejected):
        store.update("9", change, new=new)
    assert counts(store) == (0, 0, 0)
    assert store.load("9") is None
    with pytest.raises(orderfsm.OrderNotStored, match="'9'"):
        store.get("9")


def test_an_absent_order_without_a_factory_is_not_stored(store: OrderStore) -> None:
    with pytest.raises(orderfsm.OrderNotStored):
        store.update("nope", lambda o: o.trigger("cancel"))
    assert counts(store) == (0, 0, 0)


def test_a_conflict_rolls_back_and_the_loser_reapplies_on_top_of_the_winner(
    store: OrderStore,
) -> None:
    store.add("10", orderfsm.TaobaoOrder(status=11, sub_orders=["a", "b"]))
    attempts = []

    def refund_b_while_someone_refunds_a(order: orderfsm.TaobaoOrder) -> None:
        attempts.append(order.version)
        if len(attempts) == 1:  # another writer saves between our read and our save
            store.update("10", lambda o: o.trigger("apply_refund", sub_order="a"))
        order.trigger("apply_refund", sub_order="b")

    store.update("10", refund_b_while_someone_refunds_a)
    assert attempts == [0, 1]
    final = store.get("10")
    assert isinstance(final, orderfsm.TaobaoOrder)
    assert {s: final.refund_status(s).code for s in "ab"} == {"a": 10, "b": 10}
    assert final.version == 2
    assert history_table(store, "10") == [row_values(r) for r in orderfsm.history_rows(final, "10")]
    # two refunds' initial and applied rows; the outbox also says the order was added
    assert counts(store) == (1, 4, 3)


def test_a_first_save_racing_another_first_save_retries_as_an_update(store: OrderStore) -> None:
    attempts = []

    def pay(order: orderfsm.IcbuOrder) -> None:
        attempts.append(order.version)
        if len(attempts) == 1:
            store.update(
                "icbu-1", lambda o: o.trigger(o.enabled_events()[0]), new=orderfsm.IcbuOrder
            )
        order.trigger(order.enabled_events()[0])

    store.update("icbu-1", pay, new=orderfsm.IcbuOrder)
    assert attempts == [0, 1]
    assert store.get("icbu-1").version == 2


def test_every_order_class_round_trips_through_the_store(store: OrderStore) -> None:
    ka = orderfsm.KaTrade({"o1": ["s1", "s2"]})
    ka.trigger(ka.enabled_events()[0])
    icbu = orderfsm.IcbuOrder(status="unpay", pay_step="ADVANCE")
    icbu.trigger(icbu.enabled_events()[0])
    for key, order in (("ka", ka), ("icbu", icbu)):
        assert store.add(key, order)
        assert not store.add(key, order)  # taken: nothing replaced
        assert store.get(key).to_dict() == order.to_dict()
        assert history_table(store, key) == [
            row_values(r) for r in orderfsm.history_rows(order, key)
        ]


def test_the_relay_publishes_each_change_once_in_order_and_again_after_a_failure(
    store: OrderStore,
) -> None:
    for key in ("r1", "r2"):
        store.update(
            key, lambda o: o.trigger("payment_complete"), new=lambda: orderfsm.TaobaoOrder(status=5)
        )
    store.update("r1", lambda o: o.trigger("ship"))

    def broken(message: OutboxMessage) -> None:
        raise RuntimeError("queue down")

    with pytest.raises(RuntimeError):
        store.relay(broken)
    published: list[tuple[str, int]] = []
    assert store.relay(lambda m: published.append((m.order_id, m.version)), limit=2) == 2
    assert store.relay(lambda m: published.append((m.order_id, m.version)), limit=2) == 1
    assert store.relay(lambda m: published.append((m.order_id, m.version))) == 0
    assert published == [("r1", 1), ("r2", 1), ("r1", 2)]
    last = rows(store, "SELECT payload FROM order_outbox ORDER BY id DESC LIMIT 1")[0][0]
    payload = json.loads(last) if isinstance(last, str) else last
    # r1's rows: its first status (1), its first change (2), then this change (3)
    assert payload["status"] == "11" and [c["seq"] for c in payload["changes"]] == [3]


def test_create_schema_is_idempotent(store: OrderStore) -> None:
    store.create_schema()
    assert counts(store) == (0, 0, 0)


def test_a_table_of_another_shape_is_named(tmp_path: Path) -> None:
    db = tmp_path / "theirs.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE orders (key TEXT PRIMARY KEY, version INTEGER, body TEXT)")
    with pytest.raises(orderfsm.StoreError, match=r"table orders .*machine"):
        OrderStore(SqliteBackend(db)).create_schema()


def test_driver_errors_leave_as_store_errors(tmp_path: Path) -> None:
    with pytest.raises(orderfsm.StoreError, match="OperationalError"):
        OrderStore(SqliteBackend(tmp_path)).create_schema()  # a directory is no database


def test_driver_errors_leave_as_store_errors_on_postgresql() -> None:
    from orderfsm.store.psycopg import PsycopgBackend  # noqa: PLC0415

    backend = PsycopgBackend("postgresql://nobody@127.0.0.1:1/none?connect_timeout=5")
    with pytest.raises(orderfsm.StoreError, match="OperationalError"):
        OrderStore(backend).load("1")


def test_an_order_on_an_edited_machine_needs_its_restore(tmp_path: Path) -> None:
    import tomllib  # noqa: PLC0415
    from importlib import resources  # noqa: PLC0415

    text = (resources.files("orderfsm") / "data/tables/icbu_trade.toml").read_text("utf-8")
    table = tomllib.loads(text)
    table["machine"]["name"] = "icbu_ours"
    ours = orderfsm.load(table)
    plain = OrderStore(SqliteBackend(tmp_path / "o.sqlite"))
    plain.create_schema()
    plain.update(
        "1", lambda o: o.trigger("draft_order"), new=lambda: orderfsm.IcbuOrder(machine=ours)
    )
    with pytest.raises(orderfsm.StoreError, match="icbu_ours"):
        plain.get("1")
    store = OrderStore(
        plain.backend, restore=lambda _m, body: orderfsm.IcbuOrder.from_dict(body, machine=ours)
    )
    assert store.get("1").machine is ours


def test_migrate_rewrites_an_older_stored_format_and_nothing_else(store: OrderStore) -> None:
    store.update(
        "m",
        lambda o: o.trigger("apply_refund", sub_order="a"),
        new=lambda: orderfsm.TaobaoOrder(status=11, sub_orders=["a"]),
    )
    current = store.get("m").to_dict()
    older = dict(current, format=current["format"].replace("/2", "/1"))
    older["history"] = [
        dict(zip(current["history"], cells, strict=True))
        for cells in zip(*current["history"].values(), strict=True)
    ]
    d = store.backend.dialect
    with store.backend.transaction(True) as tx:
        tx.execute(update_order(d, "m", 1, 1, json.dumps(older)))
    assert store.get("m").to_dict() == current  # /1 is read as it always was
    assert store.migrate("m") is True
    assert store.migrate("m") is False
    ((version, body),) = rows(store, "SELECT version, body FROM orders")
    stored = json.loads(body) if isinstance(body, str) else body
    assert (version, stored) == (1, current)
    # no history or outbox row: nothing happened to the order (its first change's 2 rows)
    assert counts(store) == (1, 2, 1)
    with pytest.raises(orderfsm.OrderNotStored):
        store.migrate("nope")


def test_a_row_that_is_not_an_order_is_a_store_error(tmp_path: Path) -> None:
    db = tmp_path / "o.sqlite"
    store = OrderStore(SqliteBackend(db))
    store.create_schema()
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO orders (key, machine, version, body) VALUES ('1', 'taobao_order', 0, '{')"
        )
        conn.execute(
            "INSERT INTO orders (key, machine, version, body) VALUES ('2', 'taobao_order', 0, '[]')"
        )
    with pytest.raises(orderfsm.StoreError, match="not JSON"):
        store.get("1")
    with pytest.raises(orderfsm.StoreError, match="holds a list"):
        store.update("2", lambda o: o.trigger("cancel"))


def test_a_locked_attempt_saves_in_the_transaction_it_read_in_and_ends_it_on_every_path(
    store: OrderStore,
) -> None:
    """``lock_after=0``: every attempt reads with the row locked and saves in the same
    transaction; a refused or raising change ends that transaction (the next update
    would otherwise wait on, or fail in, the one left open)."""
    locked = OrderStore(store.backend, lock_after=0)
    with pytest.raises(orderfsm.IllegalTransition):
        locked.update("L", lambda o: o.trigger("ship"), new=orderfsm.TaobaoOrder)
    assert locked.update("L", lambda o: o.apply(UNTIMED).outcome, new=orderfsm.TaobaoOrder) == (
        "duplicate"
    )
    assert counts(store) == (0, 0, 0)
    locked.update("L", lambda o: o.trigger("creation_complete"), new=orderfsm.TaobaoOrder)
    locked.update("L", lambda o: o.trigger("cancel"))
    # the order's first status, then its two changes; one outbox row per save
    assert store.get("L").version == 2 and counts(store) == (1, 3, 2)
    with pytest.raises(orderfsm.TransitionRejected, match="final"):
        locked.update("L", lambda o: o.trigger("cancel"))  # refused, lock released
    assert counts(store) == (1, 3, 2)


def test_after_lock_after_lost_races_the_update_reads_locked_and_wins(store: OrderStore) -> None:
    locking = OrderStore(store.backend, lock_after=1)
    locking.add("W", orderfsm.TaobaoOrder(status=11, sub_orders=["a", "b"]))
    attempts = []

    def refund_b(order: orderfsm.TaobaoOrder) -> None:
        attempts.append(order.version)
        if len(attempts) == 1:  # the optimistic first attempt loses a race ...
            store.update("W", lambda o: o.trigger("apply_refund", sub_order="a"))
        order.trigger("apply_refund", sub_order="b")  # ... the locked second cannot

    locking.update("W", refund_b)
    assert attempts == [0, 1]
    final = store.get("W")
    assert isinstance(final, orderfsm.TaobaoOrder) and final.version == 2
    assert {final.refund_status(s).code for s in "ab"} == {10}


@pytest.mark.parametrize("kind", ["sqlite", "psycopg"])
def test_concurrent_relays_publish_each_message_exactly_once(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Several relays may run: each takes rows the others have not locked (PostgreSQL's
    SKIP LOCKED; SQLite runs one write transaction at a time)."""
    store = next(sync_store(kind, tmp_path, request))
    for i in range(30):
        store.add(f"o{i}", orderfsm.TaobaoOrder(status=5))
    published: list[tuple[str, int]] = []

    def relay() -> None:
        while store.relay(lambda m: published.append((m.order_id, m.version)), limit=3):
            pass

    threads = [threading.Thread(target=relay) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(published) == sorted((f"o{i}", 0) for i in range(30))
    assert rows(store, "SELECT COUNT(*) FROM order_outbox WHERE published_at IS NULL") == [(0,)]


def test_an_order_added_from_a_builder_is_heard_of_only_once_saved(store: OrderStore) -> None:
    def shipped() -> orderfsm.TaobaoOrder:  # built elsewhere, with history of its own
        order = orderfsm.TaobaoOrder(status=10, sub_orders=["s1"])
        order.trigger("ship", at=1_764_504_000)
        order.trigger("apply_refund", sub_order="s1")
        return order

    heard: list[tuple[str, bool]] = []  # (event, stored when heard)
    stop = orderfsm.listen(
        lambda n: heard.append((n.change.step.event, store.load("first") is not None))
    )
    try:
        assert store.add("first", shipped)
        saved = list(heard)
        heard.clear()
        assert not store.add("first", shipped)
    finally:
        stop()
    assert saved == [("ship", True), ("apply_refund", True)]  # delivered after the save
    assert heard == []  # the key was taken: the second order's changes are never heard
    assert store.get("first").to_dict() == shipped().to_dict()
