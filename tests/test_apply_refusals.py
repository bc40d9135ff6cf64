"""Taobao snapshots that break a rule, run against their order, or repeat a sub-order
(issue 9.3, 9.4, 9.6): they are reported, and a refused part changes nothing."""

from __future__ import annotations

import json
from typing import Any

import orderfsm
from orderfsm.ingest import TaobaoSnapshot, parse
from support import PAYLOADS


def page(status: int, *subs: dict[str, Any]) -> TaobaoSnapshot:
    body = {"code": 200, "data": {"data": [{"purchaseId": 67890, "status": status}]}}
    body["data"]["data"][0]["subOrderVOS"] = list(subs)
    (snap,) = parse(json.dumps(body), "purchase_page")
    assert isinstance(snap, TaobaoSnapshot)
    return snap


def callback(status: str, modify_time: int | None, **subs: str) -> TaobaoSnapshot:
    message: dict[str, Any] = {"purchase_id": 200058578338, "status": status}
    if modify_time is not None:
        message["modify_time"] = modify_time
    message["sub_purchase_orders"] = [
        {"sub_purchase_order_id": sid, "status": s} for sid, s in subs.items()
    ]
    (snap,) = parse(json.dumps({"messageBody": [message]}), "status_callback")
    assert isinstance(snap, TaobaoSnapshot)
    return snap


def test_a_refund_while_the_order_is_unpaid_is_inconsistent_naming_the_rule() -> None:
    order = orderfsm.TaobaoOrder()
    result = order.apply(page(0, {"id": "s1", "refundStatus": 10}))
    assert result.outcome == "inconsistent"
    refund = result.part("refund", "s1")
    assert refund.outcome == "inconsistent" and refund.steps == ()
    assert "main_order_allows_refund" in refund.note
    assert "only while the main order is shipping or shipped" in refund.note
    assert any("main_order_allows_refund" in w for w in result.warnings)
    assert order.status.code == 0  # the main status itself advanced
    assert "s1" not in order.sub_orders  # its only part was refused: nothing added
    held = orderfsm.TaobaoOrder(sub_orders=["s1"])
    assert held.apply(page(0, {"id": "s1", "refundStatus": 10})).outcome == "inconsistent"
    assert held.refund_status("s1").code == 0


def test_a_refund_of_a_shipped_sub_order_under_a_shipping_order_applies() -> None:
    # The 000 API Response Example: main order 10, sub-order itself 11, refund applied.
    order = orderfsm.TaobaoOrder(status=10)
    shipped = {"id": "s1", "subOrderStatus": "WAIT_BUYER_CONFIRM_GOODS", "refundStatus": 10}
    result = order.apply(page(10, shipped))
    assert result.outcome == "advanced"
    assert order.refund_status("s1").code == 10


def test_a_refund_of_goods_never_shipped_is_inconsistent_naming_the_rule() -> None:
    order = orderfsm.TaobaoOrder(status=10)
    result = order.apply(page(10, {"id": "s1", "refundStatus": 10}))
    assert result.outcome == "inconsistent"
    assert "sub_order_shipped" in result.part("refund", "s1").note
    unshipped = {"id": "s1", "subOrderStatus": "WAIT_SELLER_SEND_GOODS", "refundStatus": 10}
    assert orderfsm.TaobaoOrder(status=10).apply(page(10, unshipped)).outcome == "inconsistent"


def test_a_snapshot_names_an_int_sub_order_id_by_its_text() -> None:
    """Bodies carry ids as text; an order built with int ids applies them to the same
    sub-order, never a second one beside it, and still round-trips."""
    order = orderfsm.TaobaoOrder(status=11, sub_orders=[7])
    result = order.apply(page(11, {"id": 7, "refundStatus": 10}))
    assert result.outcome == "advanced"
    assert list(order.sub_orders) == [7]
    assert order.refund_status(7).code == 10
    assert orderfsm.TaobaoOrder.from_dict(order.to_dict()).to_dict() == order.to_dict()


def test_a_sub_order_starts_at_its_order_status() -> None:
    order = orderfsm.TaobaoOrder(status=11, sub_orders={"s1": 0})
    assert order.sub_order_status("s1").code == 11
    added = orderfsm.TaobaoOrder(status=10)
    added.apply(page(10, {"id": "s2", "refundStatus": 0}))
    assert added.sub_order_status("s2").code == 10


def test_a_sub_order_moving_against_its_order_is_reported_not_applied() -> None:
    order = orderfsm.TaobaoOrder(
        status=11, sub_orders={"s1": 0}, sub_order_statuses={"s1": "WAIT_SELLER_SEND_GOODS"}
    )
    # the order part is stale (10 comes before 11); the sub-order would move 10 -> 11
    result = order.apply(page(10, {"id": "s1", "subOrderStatus": "WAIT_BUYER_CONFIRM_GOODS"}))
    assert result.part("order").outcome == "stale"
    sub = result.part("sub_order_status", "s1")
    assert sub.outcome == "inconsistent" and sub.steps == () and "advanced" in sub.also
    assert result.outcome == "inconsistent" and "advanced" not in (result.outcome,)
    assert order.sub_order_status("s1").code == 10 and order.version == 0


def test_the_issue_case_never_says_advanced() -> None:
    order = orderfsm.TaobaoOrder(status=11, sub_orders={"s1": 0})
    result = order.apply(callback("WAIT_SELLER_SEND_GOODS", 7, s1="WAIT_BUYER_P"))
    assert result.outcome != "advanced"
    assert order.sub_order_status("s1").code == 11 and order.status.code == 11


def test_a_stale_callback_adds_no_sub_order_and_keeps_the_version() -> None:
    order = orderfsm.TaobaoOrder(status=10)
    assert order.apply(callback("WAIT_SELLER_SEND_GOODS", 2000)).outcome == "duplicate"
    before = order.to_dict()
    result = order.apply(callback("WAIT_BUYER_P", 1000, new="WAIT_BUYER_P"))
    assert result.outcome == "stale" and not result.changed
    assert order.to_dict() == before and "new" not in order.sub_orders


def test_an_illegal_callback_does_not_move_the_clock() -> None:
    order = orderfsm.TaobaoOrder(status=10)
    before = order.to_dict()
    assert order.apply(callback("TRADE_CLOSED", 5000)).outcome == "illegal"
    assert order.to_dict() == before and order.observed_at is None
    shipped = order.apply(callback("WAIT_BUYER_CONFIRM_GOODS", 3000))
    assert shipped.outcome == "advanced" and order.status.code == 11
    assert order.observed_at == 3000 and order.version == 1


def test_whatever_an_apply_changes_bumps_the_version() -> None:
    order = orderfsm.TaobaoOrder(status=10)
    result = order.apply(callback("WAIT_SELLER_SEND_GOODS", 2000, s1="WAIT_SELLER_SEND_GOODS"))
    assert result.outcome == "duplicate" and result.changed  # the clock and a new sub-order
    assert order.version == 1 and order.observed_at == 2000 and "s1" in order.sub_orders
    again = order.apply(callback("WAIT_SELLER_SEND_GOODS", 2000, s1="WAIT_SELLER_SEND_GOODS"))
    assert not again.changed and order.version == 1


def test_the_same_sub_order_twice_in_one_snapshot_is_inconsistent() -> None:
    order = orderfsm.TaobaoOrder(status=10, sub_orders=["s1"])
    result = order.apply(
        page(
            11,
            {"id": "s1", "subOrderStatus": "WAIT_BUYER_CONFIRM_GOODS"},
            {"id": "s1", "subOrderStatus": "TRADE_CLOSED"},
        )
    )
    assert result.outcome == "inconsistent"
    sub = result.part("sub_order_status", "s1")
    assert sub.outcome == "inconsistent" and "appears 2 times" in sub.note
    assert order.sub_order_status("s1").code == 10
    assert [c.sub_order for c in order.history] == [None]  # only the order moved
    assert order.status.code == 11


def test_the_document_examples_still_apply() -> None:
    body = (PAYLOADS / "000_api_response_example.json").read_bytes()
    (snap,) = parse(body, "purchase_page")
    assert isinstance(snap, TaobaoSnapshot)
    order = orderfsm.TaobaoOrder()
    assert order.apply(snap).outcome == "advanced"
