"""The order store's round trip against the same work done by hand with psycopg, and
its retries under contention.

One round trip: load an order (2 sub-orders, paid, awaiting finance) from PostgreSQL,
apply a status callback (it advances one step), and save it with compare-and-set, its
history row and an outbox row, in one transaction. ``orderfsm.store`` does it with
``store.update``; the baseline is what a service writes by hand: a ``SELECT``,
``from_dict``, ``apply``, an ``UPDATE ... WHERE version = %s``, the history row from the
new steps and an outbox ``INSERT``, in ``conn.transaction()`` (the read, one statement,
outside it, as the store reads). Same server, same tables
(in two schemas), same psycopg connection settings; each call uses a fresh order, so
histories stay as short as a real order's.

Contention: 4 processes refund 200 sub-orders of one order (50 each, one update each),
with the store's defaults (jittered backoff, the row lock after 8 lost races), with
backoff alone, and retrying at once; printed are
the reads per update, the most attempts one update needed, how many needed more than 20
(``update_with_retry``'s default), and the wall time.

The server: ``$ORDERFSM_BENCH_DATABASE_URL``, else a private one (``scripts/pg``),
installed and started for the run and stopped after it.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
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


CONTENDED = [f"s{i:03d}" for i in range(200)]


def refund_share(
    url: str, share: list[str], backoff: orderfsm.Backoff | None, lock_after: int | None
) -> list[int]:
    """A contending process: one update per sub-order; the reads each update took."""
    store = OrderStore(PsycopgBackend(url), backoff=backoff, lock_after=lock_after)
    reads = []
    for sub in share:
        tries = 0

        def refund(order: orderfsm.TaobaoOrder, sub: str = sub) -> None:
            nonlocal tries
            tries += 1
            order.trigger("apply_refund", sub_order=sub)

        store.update("1", refund)
        reads.append(tries)
    return reads


def contention(
    url: str, label: str, backoff: orderfsm.Backoff | None, lock_after: int | None
) -> None:
    store = OrderStore(PsycopgBackend(url))
    store.create_schema()
    store.add("1", orderfsm.TaobaoOrder(status=11, sub_orders=CONTENDED))
    started = time.perf_counter()
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("fork")) as pool:
        shares = [CONTENDED[i::4] for i in range(4)]
        reads = [
            n
            for part in pool.map(refund_share, [url] * 4, shares, [backoff] * 4, [lock_after] * 4)
            for n in part
        ]
    took = time.perf_counter() - started
    assert store.get("1").version == len(CONTENDED)  # every update landed
    print(
        f"  {label:<44} {sum(reads) / len(reads):.2f} reads/update, most {max(reads)},"
        f" {sum(n > 20 for n in reads)} of {len(reads)} over 20, {took:.2f} s"
    )


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
        print("store under contention: 4 processes, 200 updates of one order")
        for schema, label, backoff, lock_after in (
            ("bench_default", "backoff, row lock after 8 (the default)", orderfsm.Backoff(), 8),
            ("bench_backoff", "backoff, never lock", orderfsm.Backoff(), None),
            ("bench_eager", "no backoff, never lock", None, None),
        ):
            contention(in_schema(url, schema), label, backoff, lock_after)
