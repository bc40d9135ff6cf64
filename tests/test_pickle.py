"""Every public object copies, deep-copies and pickles; errors keep their fields; orders
and rejections cross a real process pool."""

from __future__ import annotations

import copy
import multiprocessing
import pickle
import tomllib
from concurrent.futures import ProcessPoolExecutor
from importlib import resources
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm import errors
from orderfsm.ingest import parse
from orderfsm.model.predicates import GuardContext
from orderfsm.testing import taobao_orders
from support import PAYLOADS, TAOBAO_SNAPSHOTS

Order = orderfsm.TaobaoOrder | orderfsm.IcbuOrder | orderfsm.KaTrade


def roundtrips(value: Any) -> list[Any]:
    """``value`` pickled (every protocol), deep-copied and copied."""
    out = [pickle.loads(pickle.dumps(value, p)) for p in range(2, pickle.HIGHEST_PROTOCOL + 1)]
    return [*out, copy.deepcopy(value), copy.copy(value)]


# ---------------------------------------------------------------- orders


@st.composite
def icbu_orders(draw: st.DrawFn) -> orderfsm.IcbuOrder:
    order = orderfsm.IcbuOrder(pay_step=draw(st.sampled_from(["FULL", "ADVANCE"])))
    while (events := order.enabled_events()) and draw(st.booleans()):
        order.trigger(draw(st.sampled_from(events)))
    return order


@st.composite
def ka_trades(draw: st.DrawFn) -> orderfsm.KaTrade:
    trade = orderfsm.KaTrade({"o1": ["s1", "s2"], 2: [3]})
    leaves = [(None, None), ("o1", None), ("o1", "s2"), (2, 3)]
    for _ in range(draw(st.integers(0, 8))):
        order, sub = draw(st.sampled_from(leaves))
        if events := trade.enabled_events(order, sub):
            trade.trigger(draw(st.sampled_from(events)), order, sub)
    return trade


def a_change(order: Order) -> None:
    """Trigger one accepted event somewhere in ``order`` (if any is accepted)."""
    if isinstance(order, orderfsm.TaobaoOrder):
        for sid in [None, *order.sub_orders]:
            if events := order.enabled_events(sid):
                order.trigger(events[0], sub_order=sid)
                return
    elif isinstance(order, orderfsm.IcbuOrder):
        if events := order.enabled_events():
            order.trigger(events[0])
    elif events := order.enabled_events():
        order.trigger(events[0])


@given(st.one_of(taobao_orders(), icbu_orders(), ka_trades()))
def test_orders_pickle_and_copy_without_sharing_anything(order: Order) -> None:
    before = order.to_dict()
    for clone in roundtrips(order):
        assert type(clone) is type(order) and clone.to_dict() == before
        assert repr(clone) == repr(order) and clone.machine is order.machine
        assert clone._lock is not order._lock
        with order._lock:  # the clone's lock is its own: it is free while the original's is held
            assert clone._lock.acquire(blocking=False)
            clone._lock.release()
        a_change(clone)
        assert order.to_dict() == before  # nothing done to a copy reaches the original


def test_a_refund_on_a_copy_leaves_the_original_alone() -> None:
    order = orderfsm.TaobaoOrder(status=11, sub_orders={"s1": 0})
    draft = copy.copy(order)
    draft.trigger("apply_refund", sub_order="s1")
    assert order.refund_status("s1") == 0 and not order.history and order.version == 0
    assert draft.refund_status("s1") == 10 and draft.version == 1


def test_an_order_on_an_edited_machine_pickles_with_it() -> None:
    table = tomllib.loads(
        (resources.files("orderfsm") / "data" / "tables" / "taobao_order.toml").read_text("utf-8")
    )
    table["machine"]["title"] = "edited"
    order = orderfsm.TaobaoOrder(status=11, sub_orders=["s"], machine=orderfsm.load(table))
    order.trigger("apply_refund", sub_order="s")
    clone = pickle.loads(pickle.dumps(order))
    assert clone.to_dict() == order.to_dict() and clone.machine == order.machine
    assert clone.machine.table.title == "edited" and clone.refund_machine.parent is clone.machine


# ---------------------------------------------------------------- machines


@pytest.mark.parametrize("name", orderfsm.MACHINES)
def test_a_shipped_machine_unpickles_to_the_shared_instance(name: str) -> None:
    machine = orderfsm.load(name)
    assert all(clone is machine for clone in roundtrips(machine))


def test_a_loaded_machine_pickles_by_its_table() -> None:
    table = tomllib.loads(
        (resources.files("orderfsm") / "data" / "tables" / "taobao_order.toml").read_text("utf-8")
    )
    loaded = orderfsm.load(table)
    under = orderfsm.load("taobao_refund").under(loaded)
    clone = pickle.loads(pickle.dumps(under))
    assert clone == under and hash(clone) == hash(under) and clone is not under
    assert clone.parent == loaded and clone.parent is not orderfsm.load("taobao_order")
    assert clone.transition(0, "apply_refund", parent=10, sub_order=11) == under.transition(
        0, "apply_refund", parent=10, sub_order=11
    )
    assert copy.deepcopy(loaded) is loaded


# ---------------------------------------------------------------- values


def public_values() -> list[Any]:
    machines = [orderfsm.load(name) for name in orderfsm.MACHINES]
    order = orderfsm.TaobaoOrder(status=10, sub_orders=["s1"], sub_order_statuses={"s1": 11})
    order.trigger("apply_refund", sub_order="s1")
    results = [orderfsm.TaobaoOrder().apply(s) for s in TAOBAO_SNAPSHOTS]
    icbu = parse((PAYLOADS / "002_order_get_response.xml").read_bytes(), "icbu_order")
    results.append(orderfsm.IcbuOrder(status="unpay").apply(icbu[0]))
    trade = orderfsm.KaTrade({"o1": ["s1"]})
    return [
        *(m.table for m in machines),
        *(s for m in machines for s in m.states),
        *(t for m in machines for t in m.edges),
        *(e for m in machines for e in m.table.events),
        *(v for m in machines for v in m.table.variables),
        *order.history,
        *(c.step for c in order.history),
        *TAOBAO_SNAPSHOTS,
        *icbu,
        *results,
        *trade.orders.values(),
    ]


def test_every_public_value_pickles_and_copies_to_an_equal_value() -> None:
    for value in public_values():
        for clone in roundtrips(value):
            assert type(clone) is type(value) and clone == value, value
    table = orderfsm.load("icbu_trade").table
    assert pickle.loads(pickle.dumps(table)).state("unpay") == table.state("unpay")


# ---------------------------------------------------------------- errors


def error_samples() -> list[errors.OrderFsmError]:
    rejection = {
        "rule": "a rule",
        "source": "doc § 1",
        "status": "X(1)",
        "allowed": ("ship",),
        "actors": ("buyer",),
        "alternatives": ("pay",),
    }
    return [
        errors.OrderFsmError("plain"),
        errors.TableError("t.toml", "states[3]", "bad code"),
        errors.UnknownMachine("no such machine"),
        errors.UnknownStatus("taobao_order", 99, ["0/X"]),
        errors.StatusComparisonError("X(10)", 10, "X"),
        errors.InvalidOrderState("no children"),
        errors.UnknownEvent("no such event"),
        errors.UnknownSubOrder("no such sub-order"),
        errors.UnknownActor("no such actor"),
        errors.TransitionRejected("refused", **rejection),
        errors.IllegalTransition("refused", **rejection),
        errors.PaymentLocked("refused", **rejection),
        errors.RefundNotAllowed("refused", **rejection),
        errors.PayloadError("$.data", "missing"),
        errors.PayloadError(
            "$.error_response",
            "an error",
            platform_code="50",
            platform_message="x",
            platform_sub_code="isv.invalid-parameter",
            platform_sub_message="y",
        ),
        errors.ConcurrentModification("order:1", 3, 4),
        errors.StoreError("orders: column 'body' is missing"),
        errors.OrderNotStored("200058578338"),
    ]


def test_every_error_round_trips_with_all_its_fields() -> None:
    samples = error_samples()
    declared = {
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.OrderFsmError)
    }
    assert {type(e) for e in samples} == declared, "every error class needs a sample here"
    for error in samples:
        error.add_note("a note")
        for clone in roundtrips(error):
            assert type(clone) is type(error) and clone.args == error.args
            assert str(clone) == str(error) and vars(clone) == vars(error)


def test_a_raised_rejection_round_trips() -> None:
    with pytest.raises(orderfsm.PaymentLocked) as info:
        orderfsm.TaobaoOrder(status=10).trigger("cancel")
    clone = pickle.loads(pickle.dumps(info.value))
    assert (clone.rule, clone.source, clone.status, clone.allowed) == (
        info.value.rule,
        info.value.source,
        info.value.status,
        info.value.allowed,
    )


# ---------------------------------------------------------------- a real process pool


def cancel_in_worker(order: orderfsm.TaobaoOrder) -> orderfsm.Step:
    return order.trigger("cancel")


def refund_in_worker(order: orderfsm.TaobaoOrder, sub_order: str) -> orderfsm.TaobaoOrder:
    order.trigger("apply_refund", sub_order=sub_order)
    return order


def test_orders_and_rejections_cross_a_process_pool() -> None:
    order = orderfsm.TaobaoOrder(status=11, sub_orders={"s1": 0, "s2": 0})
    with pytest.raises(orderfsm.PaymentLocked) as local:
        copy.copy(order).trigger("cancel")
    # spawn: a fresh interpreter that must rebuild everything from the pickles
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        rejected = pool.submit(cancel_in_worker, order)
        changed = pool.submit(refund_in_worker, order, "s2").result(timeout=300)
        with pytest.raises(orderfsm.PaymentLocked) as remote:
            rejected.result(timeout=300)
    assert vars(remote.value) == vars(local.value) and str(remote.value) == str(local.value)
    assert changed.refund_status("s2") == 10 and changed.version == 1
    assert changed.machine is orderfsm.load("taobao_order")  # the shared instance here
    assert order.refund_status("s2") == 0 and order.version == 0


@pytest.mark.parametrize("name", orderfsm.MACHINES)
def test_a_guard_context_pickles_and_deep_copies(name: str) -> None:
    machine = orderfsm.load(name)
    for parent, variables in machine.contexts():
        ctx = GuardContext(
            name,
            machine.event_names[0],
            machine.initial,
            machine.states[-1],
            parent,
            variables=MappingProxyType(dict(variables)),
        )
        for twin in (pickle.loads(pickle.dumps(ctx)), copy.deepcopy(ctx), copy.copy(ctx)):
            assert twin == ctx
