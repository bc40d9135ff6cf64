"""Platform confirmations: a local action sent to the platform is pending until a
snapshot confirms or contradicts it (or the caller gives up); callbacks that do not yet
reflect it are never illegal; pending requests survive to_dict/from_dict and are held
to the one definition of what an order can be."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.ingest import IcbuSnapshot, RequestOutcome, TaobaoSnapshot, parse
from test_ingest_apply import callback

Order = orderfsm.TaobaoOrder | orderfsm.IcbuOrder


def round_trips(order: Order) -> None:
    data = order.to_dict()
    again = type(order).from_dict(data)
    assert again.to_dict() == data and again.pending == order.pending


def page(order_status: int, refund: int) -> TaobaoSnapshot:
    """A purchase page naming sub-order s1 with its refund status (no modify_time)."""
    body = {
        "code": "200",
        "data": {
            "data": [
                {
                    "purchaseId": 67890,
                    "status": order_status,
                    "subOrderVOS": [{"id": "s1", "refundStatus": refund}],
                }
            ]
        },
    }
    (snap,) = parse(body, "purchase_page")
    assert isinstance(snap, TaobaoSnapshot)
    return snap


def icbu(status: str) -> IcbuSnapshot:
    return IcbuSnapshot("T1", status, None, None, (), "$")


def test_a_taobao_cancel_waits_through_lagging_and_duplicate_callbacks_then_confirms() -> None:
    order = orderfsm.TaobaoOrder.from_snapshot(callback("WAIT_BUYER_P", 1000))
    step = order.request("cancel")
    assert order.status == 0 and order.pending == {("order", None): step} and order.version == 2
    round_trips(order)
    for late in (callback("WAIT_BUYER_P", 1500), callback("WAIT_BUYER_P", 1500)):
        result = order.apply(late)  # the platform has not processed it yet
        assert result.outcome == "duplicate" and result.outcome != "illegal"
        assert [r.verdict for r in result.requests] == ["waiting"]
    assert order.apply(callback("WAIT_BUYER_P", 900)).outcome == "stale"  # out of order
    confirmed = order.apply(callback("CANCEL", 2000))
    assert confirmed.outcome == "advanced" and order.status.name == "CANCEL"
    assert [(r.event, r.verdict) for r in confirmed.requests] == [("cancel", "confirmed")]
    assert order.pending == {} and order.history[-1].step.event == "cancel"
    redelivered = order.apply(callback("CANCEL", 2000))
    assert redelivered.outcome == "duplicate" and redelivered.requests == ()
    round_trips(order)


def test_a_contradicting_callback_rejects_the_request_and_is_applied() -> None:
    order = orderfsm.TaobaoOrder.from_snapshot(callback("WAIT_BUYER_P", 1000))
    order.request("cancel")
    result = order.apply(callback("WAIT_SELLER_SEND_GOODS", 2000))  # paid after all
    assert result.outcome == "advanced" and order.status == 10
    assert [(r.verdict, r.note) for r in result.requests] == [
        ("rejected", "order moved to WAIT_SELLER_SEND_GOODS(10)")
    ]
    assert order.pending == {}
    round_trips(order)


def test_a_timeout_the_caller_decides_rejects_it_as_one_change() -> None:
    order = orderfsm.IcbuOrder.from_snapshot(icbu("unpay"))
    order.request("cancel")
    outcome = order.reject_request()
    assert isinstance(outcome, RequestOutcome)
    assert (outcome.verdict, outcome.event, order.version, order.pending) == (
        "rejected",
        "cancel",
        2,
        {},
    )
    round_trips(order)  # two silent changes, counted by `requests`
    with pytest.raises(orderfsm.OrderFsmError, match="no request is pending"):
        order.reject_request()


def test_an_icbu_sync_confirms_a_cancel() -> None:
    order = orderfsm.IcbuOrder.from_snapshot(icbu("unpay"))
    step = order.request("cancel")
    assert [r.verdict for r in order.apply(icbu("unpay")).requests] == ["waiting"]
    result = order.apply(icbu(step.target.name))
    assert [r.verdict for r in result.requests] == ["confirmed"]
    assert order.status == step.target
    round_trips(order)


def test_a_taobao_refund_request_on_a_shipped_sub_order_confirms_from_the_page() -> None:
    order = orderfsm.TaobaoOrder(status=11, sub_orders=["s1"], sub_order_statuses={"s1": 11})
    order.request("apply_refund", sub_order="s1")
    assert order.refund_status("s1") == 0
    waiting = order.apply(page(11, 0))
    assert [(r.part, r.sub_order, r.verdict) for r in waiting.requests] == [
        ("refund", "s1", "waiting")
    ]
    round_trips(order)
    confirmed = order.apply(page(11, 10))
    assert [r.verdict for r in confirmed.requests] == ["confirmed"]
    assert order.refund_status("s1") == 10
    round_trips(order)


def test_a_second_request_for_a_part_or_a_refused_one_changes_nothing() -> None:
    order = orderfsm.TaobaoOrder(status=0)
    order.request("cancel")
    before = order.to_dict()
    with pytest.raises(orderfsm.TransitionRejected, match="already pending"):
        order.request("cancel")
    with pytest.raises(orderfsm.PaymentLocked):
        orderfsm.TaobaoOrder(status=10).request("cancel")
    assert order.to_dict() == before


def test_a_local_step_on_the_part_settles_its_request() -> None:
    order = orderfsm.TaobaoOrder(status=0)
    order.request("cancel")
    order.trigger("upload_payment_proof")  # the buyer paid locally instead
    assert order.pending == {}
    round_trips(order)


def test_a_stored_request_the_order_could_not_hold_is_refused() -> None:
    order = orderfsm.TaobaoOrder(status=0)
    order.request("cancel")
    data = order.to_dict()
    locked = {**data, "status": 10, "history": data["history"]}
    with pytest.raises(orderfsm.PayloadError) as e:
        orderfsm.TaobaoOrder.from_dict(locked)
    assert e.value.path == "$.pending[0].event" and "could not hold" in e.value.problem
    with pytest.raises(orderfsm.PayloadError, match=r"\$.version"):
        orderfsm.TaobaoOrder.from_dict({**data, "requests": 5})  # more changes than shown
    with pytest.raises(orderfsm.PayloadError, match="pending"):
        orderfsm.TaobaoOrder.from_dict({**data, "requests": 0, "version": 0})
    with pytest.raises(orderfsm.PayloadError, match="no platform requests"):
        trade = orderfsm.KaTrade({"o1": ["a"]}).to_dict()
        orderfsm.KaTrade.from_dict({**trade, "requests": 1, "version": 1})


STATUSES = ["WAIT_BUYER_P", "CANCEL", "WAIT_SELLER_SEND_GOODS", "ORDER_PAY_STATUS"]


@given(
    st.lists(st.tuples(st.sampled_from(STATUSES), st.integers(1001, 1010)), min_size=1, max_size=8),
    st.booleans(),
)
def test_any_callbacks_settle_a_cancel_once_and_never_call_a_lagging_one_illegal(
    deliveries: list[tuple[str, int]], give_up: bool
) -> None:
    order = orderfsm.TaobaoOrder.from_snapshot(callback("WAIT_BUYER_P", 1000))
    step = order.request("cancel")
    verdicts: list[str] = []
    for status, at in deliveries:
        before: Any = copy.deepcopy(order)
        result = order.apply(callback(status, at))
        if status == "WAIT_BUYER_P" and before.pending:  # the platform lags: not illegal
            assert result.outcome in ("duplicate", "stale")
        settled = [r.verdict for r in result.requests if r.verdict != "waiting"]
        verdicts += settled
        moved = [c.step for c in order.history[len(before.history) :]]
        if before.pending and moved:
            expected = "confirmed" if any(s.target == step.target for s in moved) else "rejected"
            assert settled == [expected]
        round_trips(order)
    assert len(verdicts) <= 1 and bool(verdicts) != bool(order.pending)
    if give_up and order.pending:
        assert order.reject_request().verdict == "rejected"
        round_trips(order)
