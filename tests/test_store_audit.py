"""Whatever accepted changes an order goes through in the store, its ``order_history``
rows, exported as an analyst would, pass ``orderfsm audit`` with 0 illegal steps in both
engines: on every shipped machine (Taobao with sub-order refunds, ICBU with its history
state, KA at three levels)."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import orderfsm
from orderfsm.orders.rows import history_rows
from orderfsm.store import OrderStore, SqliteBackend
from orderfsm.store.rows import row_values
from store_support import AUDIT_QUERY, audit, rows

Address = dict[str, Any]

SHAPES: dict[str, tuple[Callable[[], Any], list[Address]]] = {
    "taobao_order": (
        lambda: orderfsm.TaobaoOrder(sub_orders=["a", "b"]),
        [{}, {"sub_order": "a"}, {"sub_order": "b"}],
    ),
    "icbu_trade": (orderfsm.IcbuOrder, [{}]),
    "ka_pool_order": (
        lambda: orderfsm.KaTrade({"o1": ["s1", "s2"], "o2": ["s3"]}),
        [
            {},
            {"order": "o1"},
            {"order": "o1", "sub_order": "s2"},
            {"order": "o2", "sub_order": "s3"},
        ],
    ),
}


@settings(max_examples=60)
@given(
    machine=st.sampled_from(sorted(SHAPES)),
    choices=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=20),
)
def test_the_stored_history_audits_clean_on_every_machine(machine: str, choices: list[int]) -> None:
    new, addresses = SHAPES[machine]
    store = OrderStore(SqliteBackend(sqlite3.connect(":memory:")))
    store.create_schema()

    def take_one(choice: int) -> Callable[[Any], None]:
        def change(order: Any) -> None:
            where = addresses[choice % len(addresses)]
            events = order.enabled_events(**where)
            if events:
                order.trigger(events[choice // len(addresses) % len(events)], **where)

        return change

    for choice in choices:
        store.update("k1", take_one(choice), new=new)
    found = rows(store, AUDIT_QUERY)
    order = store.load("k1")
    assert found == ([] if order is None else [row_values(r) for r in history_rows(order, "k1")])
    if len(found) < 2:
        return  # the audit does not judge an order's first row
    with tempfile.TemporaryDirectory() as tmp:
        for engine in ("stream", "duckdb"):
            summary = audit(found, Path(tmp), machine, engine)
            assert summary["illegal"] == 0, (engine, found)
