"""The document's four scenarios (000_29cd69a61e8d9e8a.txt, "Typical Business Scenarios")
replayed on a TaobaoOrder, event by event, checking every status the scenario names."""

import pytest

import orderfsm


def codes(order: orderfsm.TaobaoOrder) -> int:
    return int(order.status.code)


def test_scenario_1_normal_purchase() -> None:
    # User places order -> 12 -> 0; upload proof -> 1; finance confirms -> 2;
    # finance pays -> 5 -> 10; seller ships -> 11; trade completed.
    order = orderfsm.TaobaoOrder()
    seen = [codes(order)]
    for event in (
        "creation_complete",
        "upload_payment_proof",
        "finance_approve",
        "finance_pay",
        "payment_complete",
        "ship",
    ):
        order.trigger(event)
        seen.append(codes(order))
    assert seen == [12, 0, 1, 2, 5, 10, 11]
    assert order.status.final


def test_scenario_2_finance_rejection() -> None:
    # Upload proof -> 1; finance refuses -> 3; return to awaiting -> 0; re-upload -> 1.
    order = orderfsm.TaobaoOrder(status="WAIT_BUYER_P")
    seen = []
    for event in (
        "upload_payment_proof",
        "finance_refuse",
        "return_to_awaiting_payment",
        "upload_payment_proof",
    ):
        order.trigger(event)
        seen.append(codes(order))
    assert seen == [1, 3, 0, 1]


def test_scenario_3_after_sales_refund() -> None:
    # Order shipped -> 11; refundStatus 0 -> 10 -> 20 -> 30 -> 100.
    order = orderfsm.TaobaoOrder(status=11, sub_orders={"1002": 0})
    seen = [order.refund_status("1002").code]
    for event in ("apply_refund", "agree_refund", "return_goods", "refund_success"):
        order.trigger(event, sub_order="1002")
        seen.append(order.refund_status("1002").code)
    assert seen == [0, 10, 20, 30, 100]
    assert codes(order) == 11


@pytest.mark.parametrize("main_status", [10, 11])
def test_scenario_4_refund_refused(main_status: int) -> None:
    # refundStatus 10 -> -10 -> -20; the order continues fulfilment.
    # Sub-order a has shipped (with the main order in 10, ahead of b).
    order = orderfsm.TaobaoOrder(
        status=main_status, sub_orders={"a": 0, "b": 0}, sub_order_statuses={"a": 11}
    )
    order.trigger("apply_refund", sub_order="a")
    order.trigger("refuse_refund", sub_order="a")
    order.trigger("close_refund", sub_order="a")
    assert order.refund_status("a").code == -20
    assert order.refund_status("b").code == 0
    if main_status == 10:
        order.trigger("ship")  # "Order continues fulfillment"
        assert codes(order) == 11
