"""Two writers apply status callbacks to the same order in SQLite; no update is lost.

Run it: ``python examples/sqlite_cas.py``. Each writer is a thread with its own
connection. Both read the order at the same version, apply their callback, and try to
save with ``UPDATE ... WHERE version = ?``; exactly one wins, the other gets
``orderfsm.ConcurrentModification``, re-reads the winner's order, re-applies its
callback on top and saves. The final order holds both callbacks' effects.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import orderfsm
from orderfsm import update_with_retry
from orderfsm.ingest import TaobaoSnapshot, parse

SCHEMA = "CREATE TABLE IF NOT EXISTS orders (key TEXT PRIMARY KEY, version INTEGER, body TEXT)"


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)  # autocommit statements
    conn.execute(SCHEMA)
    return conn


def insert(conn: sqlite3.Connection, key: str, order: orderfsm.TaobaoOrder) -> None:
    data = order.to_dict()
    conn.execute(
        "INSERT INTO orders (key, version, body) VALUES (?, ?, ?)",
        (key, data["version"], json.dumps(data)),
    )


def read(conn: sqlite3.Connection, key: str) -> dict[str, Any]:
    row = conn.execute("SELECT body FROM orders WHERE key = ?", (key,)).fetchone()
    if row is None:
        raise KeyError(key)
    body: dict[str, Any] = json.loads(row[0])
    return body


def write(conn: sqlite3.Connection, key: str, expected: int, new: Mapping[str, Any]) -> bool:
    """The atomic compare-and-set: replace the row only if it is still at ``expected``."""
    cursor = conn.execute(
        "UPDATE orders SET version = ?, body = ? WHERE key = ? AND version = ?",
        (new["version"], json.dumps(new), key, expected),
    )
    return cursor.rowcount == 1


def handle_callback(
    db: Path,
    body: bytes,
    *,
    before_first_save: Callable[[], object] = lambda: None,
    save: Callable[[sqlite3.Connection, str, int, Mapping[str, Any]], bool] = write,
) -> list[tuple[str, int]]:
    """What a webhook handler does: parse, then apply each order with compare-and-set.

    ``before_first_save`` runs once, after the first apply and before its save: the demo
    uses it to make both writers read the same version before either saves. Returns,
    per order, the outcome of the attempt that was saved and how many attempts it took.
    """
    conn = connect(db)
    outcomes = []
    try:
        for snap in parse(body, "status_callback"):  # typed TaobaoSnapshot, order_id present
            attempts = 0

            def change(order: orderfsm.TaobaoOrder, snap: TaobaoSnapshot = snap) -> str:
                nonlocal attempts
                attempts += 1
                result = order.apply(snap)
                if attempts == 1:
                    before_first_save()
                return result.outcome

            key = snap.order_id
            outcome = update_with_retry(
                key,
                read=partial(read, conn, key),
                write=partial(save, conn, key),
                change=change,
                restore=orderfsm.TaobaoOrder.from_dict,
            )
            outcomes.append((outcome, attempts))
    finally:
        conn.close()
    return outcomes


def callback_body(order_id: int, modify_time: int, sub_order: str, sub_status: str) -> bytes:
    """A status callback in the shape of 003_36c64fc11abf7e3f.txt's example."""
    return json.dumps(
        {
            "messageType": "TAOBAO_ORDER_BUYER_VIEW_BUYER_STATUS",
            "messageBody": [
                {
                    "purchase_id": order_id,
                    "status": "WAIT_SELLER_SEND_GOODS",
                    "modify_time": modify_time,
                    "sub_purchase_orders": [
                        {"sub_purchase_order_id": sub_order, "status": sub_status}
                    ],
                }
            ],
        }
    ).encode()


def race(
    db: Path, save: Callable[[sqlite3.Connection, str, int, Mapping[str, Any]], bool] = write
) -> tuple[orderfsm.TaobaoOrder, list[list[tuple[str, int]]]]:
    """Two writers, one order, one barrier: both read version 0 before either saves.

    ``save`` is the conditional write (the test swaps in an unconditional one to show
    that the update would be lost without compare-and-set).
    """
    conn = connect(db)
    insert(
        conn,
        "200058578338",
        orderfsm.TaobaoOrder(status=5, sub_orders=["a", "b"], sub_order_statuses={"a": 5, "b": 5}),
    )
    conn.close()
    barrier = threading.Barrier(2, timeout=60)
    bodies = [
        callback_body(200058578338, 1_736_035_201_000, "a", "WAIT_BUYER_CONFIRM_GOODS"),
        callback_body(200058578338, 1_736_035_201_000, "b", "WAIT_SELLER_SEND_GOODS"),
    ]
    results: list[list[tuple[str, int]]] = [[], []]

    def writer(i: int) -> None:
        results[i] = handle_callback(db, bodies[i], before_first_save=barrier.wait, save=save)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conn = connect(db)
    final = orderfsm.TaobaoOrder.from_dict(read(conn, "200058578338"))
    conn.close()
    return final, results


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        final, results = race(Path(tmp) / "orders.sqlite")
    print("writer outcomes:", results)
    print("final order:", final, "version", final.version)
    both = final.sub_order_status("a").code == 11 and final.sub_order_status("b").code == 10
    print("no lost update:", both)
    return 0 if both else 1


if __name__ == "__main__":
    sys.exit(main())
