"""The order store's round trip against the same work done by hand with psycopg.

One round trip: load an order (2 sub-orders, paid, awaiting finance) from PostgreSQL,
apply a status callback (it advances one step), and save it with compare-and-set, its
history row and an outbox row, in one transaction. ``orderfsm.store`` does it with
``store.update``; the baseline is what a service writes by hand: a ``SELECT``,
``from_dict``, ``apply``, an ``UPDATE ... WHERE version = %s``, the history row from the
new steps and an outbox ``INSERT``, in ``conn.transaction()`` (the read, one statement,
outside it, as the store reads). Same server, same tables
(in two schemas), same psycopg connection settings; each call uses a fresh order, so
histories stay as short as a real order's.

The server: ``$ORDERFSM_BENCH_DATABASE_URL``, else a private one (``scripts/pg``),
installed and started for the run and stopped after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path

import orderfsm
from orderfsm.ingest import parse
from orderfsm.store import OrderStore
from orderfsm.store.psycopg import PsycopgBackend

ROOT = Path(__file__).resolve().parents[1]
SUBS = ["1001", "1002"]


@contextmanager
def postgres() -> Iterator[str | None]:
    """A server URL (None when PostgreSQL cannot be had here)."""
    url = os.environ.get("ORDERFSM_BENCH_DATABASE_URL")
    if url:
        yield url
        return
    pg = str(ROOT / "scripts" / "pg")
    if subprocess.run([pg, "install"], check=False).returncode != 0:
        yield None
        return
    parent = Path(tempfile.mkdtemp(prefix="orderfsm-bench-pg-"))
    parent.chmod(0o755)
    home = parent / "server"
    started = subprocess.run([pg, "start", str(home)], capture_output=True, text=True, check=False)
    try:
        yield started.stdout.strip() if started.returncode == 0 else None
    finally:
        subprocess.run([pg, "stop", str(home)], check=False)
        parent.rmdir()


def in_schema(url: str, schema: str) -> str:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


def callback() -> orderfsm.ingest.TaobaoSnapshot:
    body = {
        "messageType": "TAOBAO_ORDER_BUYER_VIEW_BUYER_STATUS",
        "messageBody": [
            {"purchase_id": 1, "status": "WAIT_SELLER_SEND_GOODS", "modify_time": 2000}
        ],
    }
    return parse(json.dumps(body).encode(), "status_callback")[0]


def fill(url: str, orders: int) -> Iterator[str]:
    """``orders`` stored orders in status 5 (the store's schema); their keys, in order."""
    store = OrderStore(PsycopgBackend(url))
    store.create_schema()
    body = json.dumps(orderfsm.TaobaoOrder(status=5, sub_orders=SUBS).to_dict())
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO orders (key, machine, version, body) VALUES (%s, 'taobao_order', 0, %s)",
            [(str(i), body) for i in range(orders)],
        )
    return (str(i) for i in range(orders))


def ours(url: str, keys: Iterator[str]) -> Callable[[], object]:
    store = OrderStore(PsycopgBackend(url))
    snap = callback()

    def round_trip() -> object:
        return store.update(next(keys), lambda order: order.apply(snap).outcome)

    return round_trip


def by_hand(url: str, keys: Iterator[str]) -> Callable[[], object]:
    import psycopg  # noqa: PLC0415

    conn = psycopg.connect(url, autocommit=True)
    snap = callback()
    seq = count(1)

    def round_trip() -> object:
        key = next(keys)
        version, body = conn.execute(
            "SELECT version, body FROM orders WHERE key = %s", (key,)
        ).fetchone()  # type: ignore[misc]
        order = orderfsm.TaobaoOrder.from_dict(body)
        before = len(order.history)
        result = order.apply(snap)
        new = order.history[before:]
        with conn.transaction():
            done = conn.execute(
                "UPDATE orders SET version = %s, body = CAST(%s AS jsonb), updated_at = now()"
                " WHERE key = %s AND version = %s",
                (order.version, json.dumps(order.to_dict()), key, version),
            )
            assert done.rowcount == 1
            for i, change in enumerate(new, 1):
                conn.execute(
                    "INSERT INTO order_history (order_id, seq, machine, sub_order_id, status,"
                    " refund_status, via) VALUES (%s, %s, 'taobao_order', '', %s, '', %s)",
                    (key, before + i, str(change.step.target.code), change.via),
                )
            conn.execute(
                "INSERT INTO order_outbox (order_id, machine, version, payload)"
                " VALUES (%s, 'taobao_order', %s, CAST(%s AS jsonb))",
                (key, order.version, json.dumps({"status": order.status.code, "seq": next(seq)})),
            )
        return result.outcome

    return round_trip


def bench_store(show: Callable[..., None], number: int, repeats: int) -> None:
    print("store round trip on PostgreSQL: load, apply a callback, save (history + outbox)")
    with postgres() as url:
        if url is None:
            print("  skipped: PostgreSQL could not be installed or started here")
            return
        orders = number * (repeats + 1) + 10
        store_url, hand_url = in_schema(url, "bench_store"), in_schema(url, "bench_hand")
        mine, theirs = fill(store_url, orders), fill(hand_url, orders)
        show(
            [
                (
                    "orderfsm.store update (psycopg)",
                    ours(store_url, mine),
                    "psycopg + hand-written SQL",
                    by_hand(hand_url, theirs),
                    "target within 1.3x",
                )
            ],
            number=number,
            repeats=repeats,
        )
