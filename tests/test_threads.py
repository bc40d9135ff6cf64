"""Many threads fire events and apply snapshots on many orders sharing compiled machines.

Afterwards every order's statuses must be exactly what its own history explains: each
recorded step starts where the previous one of that part ended, ordinary steps are edges
of the shared machine, and the last step of each part is where the part is now.
"""

from __future__ import annotations

import contextlib
import random
import sys
import threading
from collections.abc import Hashable

import orderfsm
from orderfsm.model.table import State
from support import TAOBAO_SNAPSHOTS

MAIN = orderfsm.load("taobao_order")
REFUND = orderfsm.load("taobao_refund")
ICBU = orderfsm.load("icbu_trade")
SNAPSHOTS = TAOBAO_SNAPSHOTS
SUBS = ("1001", "1002", "x")
THREADS = 8
ORDERS = 24
OPERATIONS = 400


def run_all(threads: list[threading.Thread]) -> None:
    """Start every thread and wait for all, switching threads as often as the interpreter
    allows so that more interleavings happen."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)


def explained(order: orderfsm.TaobaoOrder) -> bool:
    main: State = MAIN.initial
    passed = {main}  # a sub-order's own status starts at a status its order held
    parts: dict[tuple[Hashable, bool], State] = {}
    for change in order.history:
        step = change.step
        if change.sub_order is None:
            held, machine = main, MAIN
        else:
            key = (change.sub_order, change.sub_order_status)
            initial = step.source if step.source in passed else None
            held = parts.get(key, initial if change.sub_order_status else REFUND.initial)
            machine = MAIN if change.sub_order_status else REFUND
        if step.source != held:
            return False
        if change.via in ("trigger", "snapshot", "reconstructed") and (
            step.transition not in machine.edges
        ):
            return False
        if change.sub_order is None:
            main = step.target
            passed.add(main)
        else:
            parts[(change.sub_order, change.sub_order_status)] = step.target
    return main == order.status and all(
        (order.sub_order_status(sid) if status else order.refund_status(sid)) == state
        for (sid, status), state in parts.items()
    )


def test_threads_leave_every_order_explained_by_its_history() -> None:
    orders = [orderfsm.TaobaoOrder(sub_orders=SUBS) for _ in range(ORDERS)]
    start = threading.Barrier(THREADS)
    failures: list[BaseException] = []
    changes = [[0] * ORDERS for _ in range(THREADS)]

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        try:
            for _ in range(OPERATIONS):
                index = rng.randrange(ORDERS)
                order = orders[index]
                roll = rng.random()
                if roll < 0.15:
                    result = order.apply(rng.choice(SNAPSHOTS), force=rng.random() < 0.2)
                    changes[seed][index] += result.changed
                    continue
                sub = rng.choice(SUBS) if roll < 0.5 else None
                machine = REFUND if sub is not None else MAIN
                event = rng.choice(machine.event_names)
                try:
                    order.trigger(event, sub_order=sub)
                except orderfsm.TransitionRejected:
                    continue
                changes[seed][index] += 1
        except BaseException as e:  # surfaced below: a thread's crash must fail the test
            failures.append(e)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    run_all(threads)
    assert failures == []
    assert sum(len(o.history) for o in orders) > 0
    for order in orders:
        assert explained(order), order
    # every accepted change was counted once by the thread that made it: none was lost
    assert [o.version for o in orders] == [
        sum(counts[i] for counts in changes) for i in range(ORDERS)
    ]
    assert orderfsm.load("taobao_order") is MAIN


def test_icbu_and_ka_orders_under_threads_stay_explained_and_whole() -> None:
    """IcbuOrders shared by threads end where their histories say; readers of a KaTrade
    never see a whole-trade event half-applied (every sub-order moves together)."""
    icbu = [orderfsm.IcbuOrder(status="unpay", pay_step=p) for p in ("ADVANCE", "FULL") * 6]
    trade = orderfsm.KaTrade({f"o{i}": [f"s{j}" for j in range(4)] for i in range(3)})
    start = threading.Barrier(THREADS + 2)
    failures: list[BaseException] = []
    torn: list[object] = []
    done = threading.Event()

    def icbu_worker(seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        try:
            for _ in range(OPERATIONS):
                order = rng.choice(icbu)
                event = rng.choice(order.machine.event_names)
                with contextlib.suppress(orderfsm.TransitionRejected):
                    order.trigger(event)
        except BaseException as exc:  # a foreign error must fail the test
            failures.append(exc)

    def ka_writer() -> None:
        start.wait()
        try:
            for event in ("auto_deduct", "ship_for_pickup", "logistics_take_in", "deliver", "sign"):
                trade.trigger(event)  # the whole trade: every sub-order, all or nothing
        except BaseException as exc:
            failures.append(exc)
        finally:
            done.set()

    def ka_reader() -> None:
        start.wait()
        while not done.is_set():
            seen = {s for view in trade.orders.values() for s in view.sub_orders.values()}
            if len(seen) != 1:
                torn.append(seen)

    threads = [threading.Thread(target=icbu_worker, args=(i,)) for i in range(THREADS)]
    threads += [threading.Thread(target=ka_writer), threading.Thread(target=ka_reader)]
    run_all(threads)
    assert failures == []
    assert torn == []
    assert trade.version == 5 and trade.status.code == "signinsuccess"
    for order in icbu:
        status = ICBU.status("unpay")
        for change in order.history:
            assert change.step.source == status and change.step.transition in ICBU.edges
            status = change.step.target
        assert status == order.status and order.version == len(order.history)
