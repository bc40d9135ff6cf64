"""Each guard's rule, status by status, with the specific error and an explaining message."""

import pytest

import orderfsm
from orderfsm.model.guards import REGISTRY

MAIN = orderfsm.load("taobao_order")
REFUND = orderfsm.load("taobao_refund")


@pytest.mark.parametrize("code", [2, 5, 10, 11])
def test_buyer_cancel_is_payment_locked(code: int) -> None:
    order = orderfsm.TaobaoOrder(status=code, sub_orders={"s": 0})
    with pytest.raises(orderfsm.PaymentLocked) as info:
        order.trigger("cancel")
    message = str(info.value)
    assert "payment lock" in message and "1. Payment Lock Rules" in message
    assert MAIN.status(code).name in message
    assert info.value.status == str(MAIN.status(code))
    assert order.status.code == code


@pytest.mark.parametrize("code", [12, 0, 1, 3])
def test_buyer_cancel_allowed_before_the_lock(code: int) -> None:
    order = orderfsm.TaobaoOrder(status=code)
    assert order.can("cancel")
    assert order.trigger("cancel").target.name == "CANCEL"


def test_no_main_order_refund() -> None:
    order = orderfsm.TaobaoOrder(status=11, sub_orders={"s": 0})
    assert "apply_refund" not in MAIN.event_names
    with pytest.raises(orderfsm.RefundNotAllowed, match="Sub-Order Dimension"):
        order.trigger("apply_refund")
    assert not order.can("apply_refund")


@pytest.mark.parametrize("main", [s.code for s in MAIN.states])
def test_refund_window_is_shipping_or_shipped(main: int) -> None:
    # The sub-order's own goods have shipped; the main order decides the window.
    order = orderfsm.TaobaoOrder(status=main, sub_orders={"s": 0}, sub_order_statuses={"s": 11})
    if main in (10, 11):
        assert order.trigger("apply_refund", sub_order="s").target.code == 10
    else:
        with pytest.raises(orderfsm.RefundNotAllowed) as info:
            order.trigger("apply_refund", sub_order="s")
        assert "main order" in str(info.value)
        assert order.refund_status("s").code == 0


@pytest.mark.parametrize("refund", [s.code for s in REFUND.states])
def test_cancel_refund_only_from_cancellable_statuses(refund: int) -> None:
    order = orderfsm.TaobaoOrder(status=11, sub_orders={"s": refund})
    if refund in (10, 20, 30, -10):
        assert order.trigger("cancel_refund", sub_order="s").target.code == -20
    else:
        with pytest.raises(orderfsm.TransitionRejected, match=r"2\. Refund Rules"):
            order.trigger("cancel_refund", sub_order="s")


@pytest.mark.parametrize("machine", [MAIN, REFUND])
def test_final_statuses_accept_nothing(machine: orderfsm.CompiledMachine) -> None:
    for state in machine.states:
        if not state.final:
            continue
        assert machine.events(state) == ()
        for event in machine.event_names:
            with pytest.raises(orderfsm.TransitionRejected):
                machine.transition(state, event, parent=11 if machine.parent else None)


def test_every_guard_cites_its_source_in_its_docstring() -> None:
    for guard in REGISTRY.values():
        assert "Source:" in guard.doc and ".txt" in guard.doc, guard.name
        assert guard.source and guard.rule
