"""Outcomes tell the truth (issue 16.5): an outcome that changes nothing changes nothing,
clock and version included, and a partly taken snapshot says so."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.ingest import IcbuSnapshot
from test_ingest_apply import callback
from test_stored_validation import taobao_snapshots

ICBU = orderfsm.load("icbu_trade")


def test_a_stale_snapshot_moves_neither_clock_nor_version() -> None:
    """The issue's repro: the order status is stale, the sub-order repeats what is held."""
    order = orderfsm.TaobaoOrder(status=10, sub_orders=["a"])
    before = order.to_dict()
    result = order.apply(callback("WAIT_BUYER_P", 1019, a="WAIT_SELLER_SEND_GOODS"))
    assert result.outcome == "stale" and not result.changed
    assert order.to_dict() == before
    # a genuine newer callback with an earlier timestamp is still taken
    shipped = order.apply(callback("WAIT_BUYER_CONFIRM_GOODS", 1000))
    assert shipped.outcome == "advanced" and order.status.code == 11
    assert order.observed_at == 1000 and order.version == 1


def test_a_sub_order_is_not_added_by_a_snapshot_whose_order_status_is_refused() -> None:
    order = orderfsm.TaobaoOrder(status=10)
    result = order.apply(callback("WAIT_BUYER_P", 5, b="WAIT_SELLER_SEND_GOODS"))
    assert result.outcome == "stale" and not result.changed
    assert order.sub_orders == {} and order.version == 0


def test_a_partly_taken_snapshot_says_so() -> None:
    order = orderfsm.TaobaoOrder(status=0, sub_orders=["a"])
    result = order.apply(callback("ORDER_PAY_STATUS", 5, a="ORDER_BULIDING"))
    assert result.taken == "some" and result.changed
    assert not result.part("order").refused
    assert result.part("sub_order_status", "a").refused
    assert order.status.code == 1 and order.sub_order_status("a").code == 0


@given(
    start=st.sampled_from([s.code for s in orderfsm.load("taobao_order").states]),
    snapshots=st.lists(st.tuples(taobao_snapshots, st.booleans()), min_size=1, max_size=8),
)
def test_taobao_outcomes_say_what_changed(start: Any, snapshots: list[Any]) -> None:
    order = orderfsm.TaobaoOrder(start, {"s1": None, 7: 10})
    for snapshot, force in snapshots:
        before = order.to_dict()
        result = order.apply(snapshot, force=force)
        after = order.to_dict()
        assert result.changed == (after != before)
        assert after["version"] == before["version"] + result.changed
        if result.taken != "all" and not any(p.steps for p in result.parts):
            assert after == before  # refused something, recorded nothing: no clock either
        if result.outcome == "stale":
            assert after == before
        if result.outcome == "duplicate":  # the clock moves, a sub-order may be added
            assert after["history"] == before["history"]
            assert after["status"] == before["status"]
            assert after["sub_orders"][: len(before["sub_orders"])] == before["sub_orders"]


icbu_snapshots = st.builds(
    IcbuSnapshot,
    st.just("1"),
    st.sampled_from([*(s.name for s in ICBU.states), "NOPE"]),
    st.none() | st.sampled_from(["FULL", "ADVANCE", "BALANCE", "NOPE"]),
    st.none(),
    st.just(()),
    st.just("$"),
)


@given(
    start=st.sampled_from(ICBU.states),
    snapshots=st.lists(st.tuples(icbu_snapshots, st.booleans()), min_size=1, max_size=8),
)
def test_icbu_outcomes_say_what_changed(start: Any, snapshots: list[Any]) -> None:
    order = orderfsm.IcbuOrder(start)
    for snapshot, force in snapshots:
        before = order.to_dict()
        result = order.apply(snapshot, force=force)
        after = order.to_dict()
        assert result.changed == (after != before)
        if result.taken == "none" or result.outcome in ("stale", "duplicate"):
            assert after == before
