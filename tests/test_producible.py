"""One definition of what an order can be (issue 16.3): ``from_dict`` accepts a stored
dict exactly when replaying its history yields every stored field.

The four tamper families of the issue are refused on every order type, and a property
mutates single cells of dicts written after random walks: each is refused, or the
history it holds, replayed event by event through the public API from the status it
starts in, writes that very dict.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from support import format_1, json_paths

ICBU = orderfsm.load("icbu_trade")
KA = orderfsm.load("ka_pool_order")
MAIN = orderfsm.load("taobao_order")
REFUND = orderfsm.load("taobao_refund")


def refused(order_type: Any, data: dict[str, Any], path: str, words: str) -> None:
    """Refused in format /2 and /1 alike, naming ``path``."""
    for stored, where in ((data, path), (format_1(data), path)):
        with pytest.raises(orderfsm.PayloadError) as e:
            order_type.from_dict(copy.deepcopy(stored))
        assert (e.value.path, words in e.value.problem) == (where, True), e.value


# ----------------------------------------------------------------------------- families


def icbu_owing_its_balance() -> orderfsm.IcbuOrder:
    order = orderfsm.IcbuOrder(pay_step="ADVANCE")
    for event in ("draft_order", "approve", "pay", "payment_verified", "capture"):
        order.trigger(event)
    order.trigger("request_balance")
    assert order.pay_step == "BALANCE"
    return order


def test_icbu_pay_step_the_history_does_not_leave_is_refused() -> None:
    data = icbu_owing_its_balance().to_dict()
    refused(
        orderfsm.IcbuOrder,
        data | {"variables": {"pay_step": "ADVANCE"}},
        "$.variables",
        "pay_step = 'BALANCE'",
    )


def test_icbu_remembered_status_edited_or_erased_is_refused() -> None:
    order = orderfsm.IcbuOrder()
    for event in ("draft_order", "approve", "pay", "payment_verified", "open_refund"):
        order.trigger(event)
    data = order.to_dict()
    assert data["frozen_from"] == "paid"
    for other in ("captured", None):
        refused(orderfsm.IcbuOrder, data | {"frozen_from": other}, "$.frozen_from", "paid")


def ka_awaiting_refund() -> orderfsm.KaTrade:
    trade = orderfsm.KaTrade({"o": ["a", "b"]})
    trade.trigger("auto_deduct")
    trade.trigger("ship_for_pickup", order="o", sub_order="a")
    trade.trigger("apply_refund", order="o", sub_order="a")
    return trade


@pytest.mark.parametrize("remembered", ["WAIT_BUYER_RECEIVE", "WAIT_SELLER_SEND", None])
def test_ka_remembered_status_edited_or_erased_is_refused(remembered: str | None) -> None:
    """The issue's KA family: a sub-order awaiting pickup must not come back elsewhere."""
    data = ka_awaiting_refund().to_dict()
    sub = data["orders"][0]["sub_orders"][0]
    assert sub["remembered"] == KA.status("WAIT_LOGISTICS_TAKE_IN").code
    sub["remembered"] = None if remembered is None else KA.status(remembered).code
    refused(orderfsm.KaTrade, data, "$.orders[0].sub_orders[0].remembered", "WAIT_LOGISTICS")


def test_taobao_refund_in_the_history_under_an_unpaid_order_is_refused() -> None:
    order = orderfsm.TaobaoOrder(
        status="WAIT_SELLER_SEND_GOODS",
        sub_orders=["s1"],
        sub_order_statuses={"s1": "WAIT_BUYER_CONFIRM_GOODS"},  # its goods have shipped
    )
    order.trigger("apply_refund", sub_order="s1")
    data = order.to_dict()
    data["status"] = 0  # as if the refund had been applied while awaiting payment
    rows = data["history"]
    for key, value in (("sub_order", None), ("part", "order"), ("src", 12), ("dst", 0)):
        rows[key].insert(0, value)
    rows["event"].insert(0, "creation_complete")
    rows["via"].insert(0, "trigger")
    data["version"] = 2
    refused(orderfsm.TaobaoOrder, data, "$.history[1]", "under TAOBAO_ORDER_WAIT_BUYER_PAY")


def test_taobao_clock_set_with_version_0_is_refused() -> None:
    data = orderfsm.TaobaoOrder().to_dict() | {"observed_at": 5}
    refused(orderfsm.TaobaoOrder, data, "$.version", "at least 1")
    data = orderfsm.TaobaoOrder(sub_orders=["a"]).to_dict() | {"observed_at": 5}
    refused(orderfsm.TaobaoOrder, data, "$.version", "at least 1")


def test_a_quarantine_out_of_a_final_status_is_refused() -> None:
    order = orderfsm.TaobaoOrder(status="WAIT_SELLER_SEND_GOODS")
    order.trigger("ship")
    data = order.to_dict() | {"status": 9, "version": 2}
    for key, value in (("sub_order", None), ("part", "order"), ("src", 11), ("dst", 9)):
        data["history"][key].append(value)
    data["history"]["event"].append("<quarantine>")
    data["history"]["via"].append("quarantine")
    refused(orderfsm.TaobaoOrder, data, "$.history[1]", "final")


def test_a_release_elsewhere_than_the_pre_park_status_leads_is_refused() -> None:
    order = orderfsm.TaobaoOrder(status="WAIT_SELLER_SEND_GOODS")
    order.trigger("ship")  # a release to 11 is fine, to 0 (a rewind) is not
    data = order.to_dict()
    data["history"] = {
        "sub_order": [None, None],
        "part": ["order", "order"],
        "src": [10, 9],
        "dst": [9, 0],
        "event": ["<quarantine>", "<release>"],
        "via": ["quarantine", "release"],
    }
    data |= {"status": 0, "version": 2}
    refused(orderfsm.TaobaoOrder, data, "$.history[1]", "held before quarantine")
    data["history"]["dst"][1] = 11
    data["status"] = 11
    assert orderfsm.TaobaoOrder.from_dict(data).to_dict() == data


# ----------------------------------------------------------------------------- the property


def taobao_walk(start: Any, events: list[tuple[str, Any]]) -> orderfsm.TaobaoOrder:
    order = orderfsm.TaobaoOrder(start, {"s1": None, 7: 10})
    for event, sub in events:
        with contextlib.suppress(orderfsm.TransitionRejected, orderfsm.UnknownEvent):
            order.trigger(event, sub_order=sub)
    return order


def icbu_walk(pay_step: str, events: list[str]) -> orderfsm.IcbuOrder:
    order = orderfsm.IcbuOrder(pay_step=pay_step)
    for event in events:
        with contextlib.suppress(orderfsm.TransitionRejected):
            order.trigger(event)
    return order


def ka_walk(events: list[tuple[str, Any, Any]]) -> orderfsm.KaTrade:
    trade = orderfsm.KaTrade({"o1": ["a", "b"], 2: ["c"]})
    for event, order, sub in events:
        with contextlib.suppress(orderfsm.TransitionRejected, orderfsm.UnknownSubOrder):
            trade.trigger(event, order=order, sub_order=sub)
    return trade


walks = st.one_of(
    st.builds(
        taobao_walk,
        st.sampled_from([s.code for s in MAIN.states]),
        st.lists(
            st.tuples(st.sampled_from(MAIN.event_names), st.none())
            | st.tuples(st.sampled_from(REFUND.event_names), st.sampled_from(["s1", 7])),
            max_size=12,
        ),
    ),
    st.builds(
        icbu_walk,
        st.sampled_from(["FULL", "ADVANCE", "BALANCE"]),
        st.lists(st.sampled_from(ICBU.event_names), max_size=14),
    ),
    st.builds(
        ka_walk,
        st.lists(
            st.tuples(
                st.sampled_from(KA.event_names),
                st.sampled_from(["o1", 2]),
                st.none() | st.sampled_from(["a", "c"]),
            ),
            max_size=12,
        ),
    ),
)


def cell_values(order: Any) -> st.SearchStrategy[Any]:
    codes = [s.code for s in order.machine.states]
    if isinstance(order, orderfsm.TaobaoOrder):
        codes += [s.code for s in REFUND.states]
    events = list(order.machine.event_names)
    if isinstance(order, orderfsm.TaobaoOrder):
        events += REFUND.event_names
    return st.one_of(
        st.sampled_from(codes),
        st.sampled_from(events),
        st.sampled_from(["FULL", "ADVANCE", "BALANCE", "order", "refund", "sub_order_status"]),
        st.sampled_from(["s1", 7, "a", "o1", 2, None]),
        st.integers(0, 30),
    )


def leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every scalar cell's path (the dict's structure left as it is)."""
    return [p for p in json_paths(value) if not isinstance(_at(value, p), dict | list)]


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def replayed(order: Any) -> list[dict[str, Any]]:
    """The dicts the order's history writes when its events are fired again, one by one
    through ``trigger``, on a fresh order built where the history starts (every way it
    may have been built: each ICBU ``pay_step``, each remembered status)."""
    history = order.history
    if isinstance(order, orderfsm.TaobaoOrder):
        return [_replay_taobao(order)]
    if isinstance(order, orderfsm.IcbuOrder):
        first = history[0].step.source if history else order.status
        remembered = [None]
        if first.name in ICBU.history_states:
            remembered += ICBU.history_sources(first)
        return [
            d
            for pay_step, frozen in itertools.product(ICBU.table.variables[0].values, remembered)
            if (d := _replay_icbu(order, first, pay_step, frozen)) is not None
        ]
    return _replay_ka(order)


def _replay_taobao(order: orderfsm.TaobaoOrder) -> dict[str, Any]:
    firsts: dict[Any, Any] = {}
    for change in order.history:
        key = (change.sub_order, change.sub_order_status)
        firsts.setdefault(key, change.step.source)
    fresh = orderfsm.TaobaoOrder(
        firsts.get((None, False), order.status),
        {sid: firsts.get((sid, False), refund) for sid, refund in order.sub_orders.items()},
        sub_order_statuses={
            sid: firsts.get((sid, True), status) for sid, status in order.sub_order_statuses.items()
        },
    )
    with contextlib.suppress(orderfsm.OrderFsmError):
        for change in order.history:
            assert change.via == "trigger"
            step = fresh.trigger(change.step.event, sub_order=change.sub_order)
            assert step.target == change.step.target
        return fresh.to_dict()
    return {}


def _replay_icbu(
    order: orderfsm.IcbuOrder, first: Any, pay_step: str, frozen: Any
) -> dict[str, Any] | None:
    try:
        fresh = orderfsm.IcbuOrder(first, pay_step=pay_step, frozen_from=frozen)
        for change in order.history:
            step = fresh.trigger(change.step.event)
            if step.target != change.step.target:
                return None
    except orderfsm.OrderFsmError:
        return None
    return fresh.to_dict()


def _replay_ka(trade: orderfsm.KaTrade) -> list[dict[str, Any]]:
    firsts: dict[Any, Any] = {}
    for leaf, step in trade.history:
        firsts.setdefault(leaf, step.source)
    orders = {
        oid: {sid: firsts.get((oid, sid), s) for sid, s in view.sub_orders.items()}
        for oid, view in trade.orders.items()
    }
    choices = {
        leaf: [None, *KA.history_sources(status)] if status.name in KA.history_states else [None]
        for leaf, status in ((leaf, orders[leaf[0]][leaf[1]]) for leaf in firsts)
    }
    out = []
    for picked in itertools.product(*choices.values()):
        remembered = {leaf: r for leaf, r in zip(choices, picked, strict=True) if r is not None}
        try:
            fresh = orderfsm.KaTrade(orders, remembered=remembered)
            for (oid, sid), step in trade.history:
                (taken,) = fresh.trigger(step.event, order=oid, sub_order=sid)
                if taken.target != step.target:
                    raise orderfsm.OrderFsmError("elsewhere")
        except orderfsm.OrderFsmError:
            continue
        out.append(fresh.to_dict())
    return out


@given(order=walks, data=st.data())
def test_a_stored_dict_is_refused_or_replays_to_itself(order: Any, data: Any) -> None:
    stored = order.to_dict()
    cells = leaves(stored)
    path = data.draw(st.sampled_from(cells), label="cell")
    value = data.draw(cell_values(order), label="value")
    tampered = copy.deepcopy(stored)
    _at(tampered, path[:-1])[path[-1]] = value
    try:
        again = type(order).from_dict(copy.deepcopy(tampered))
    except orderfsm.PayloadError:
        return
    written = json.loads(json.dumps(again.to_dict()))
    assert written == json.loads(json.dumps(tampered))
    version = written["version"]
    replays = [json_copy(d) for d in replayed(again)]
    versions = [d.pop("version") for d in replays if d | {"version": 0} == written | {"version": 0}]
    assert versions, "accepted, but no replay of its history writes it"
    least, most = min(versions), max(versions)
    if isinstance(again, orderfsm.TaobaoOrder):
        # silent changes: an added sub-order (one each), a newer duplicate's clock
        least += again.observed_at is not None
        most = None if again.observed_at is not None else most + len(again.sub_orders)
    if isinstance(again, orderfsm.KaTrade):
        least = min(least, 1)  # one event may move several sub-orders
    assert least <= version and (most is None or version <= most)


def json_copy(value: Any) -> Any:
    return json.loads(json.dumps(value))
