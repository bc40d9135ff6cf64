"""The ICBU trade_status statements, as properties over generated paths.

Source: 002_72f8e4474636d231.txt, trade_status and its ERP FAQ 1-3, pay_step. Each test
walks random paths through the shipped ``icbu_trade`` table (at every step hypothesis
picks one of the events the order accepts, or any event at all) and asserts one
statement of the document along the whole path.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm import IcbuOrder, TransitionRejected, must_intercept

MACHINE = orderfsm.load("icbu_trade")
EVENTS = MACHINE.event_names
PAY_STEPS = ("ADVANCE", "BALANCE", "FULL")
PRE_PAYMENT = ("intention_processing", "to_be_audited", "wait_confirm_modify", "unpay")
# Captures a path needs before it may reach undeliver, by the pay_step it starts with
# in a pre-payment status: one captured payment (the advance, the balance or the full
# amount). An ADVANCE order may ship on its advance alone (decision balance-before-shipment:
# shipment_date type relative; the XML example completes with pay_step ADVANCE).
CAPTURES_NEEDED = {"ADVANCE": 1, "BALANCE": 1, "FULL": 1}


def walk(data: st.DataObject, order: IcbuOrder, max_steps: int = 40) -> Iterator[orderfsm.Step]:
    """Drive ``order`` along a generated path, yielding each accepted step as it happens.

    At each step hypothesis picks one of the events the order accepts, or (one time in
    five) any event at all; a refused event must be one the order did not accept.
    """
    for _ in range(data.draw(st.integers(0, max_steps), label="length")):
        enabled = order.enabled_events()
        if not enabled:
            return
        pick_any = data.draw(st.integers(0, 4), label="any") == 0
        event = data.draw(st.sampled_from(EVENTS if pick_any else enabled), label="event")
        try:
            step = order.trigger(event)
        except TransitionRejected:
            assert event not in enabled
            continue
        yield step


@st.composite
def starts(draw: st.DrawFn, statuses: tuple[str, ...] = PRE_PAYMENT) -> IcbuOrder:
    status = draw(st.sampled_from(statuses))
    pay_steps = ("BALANCE",) if status == "unpay" else ()
    return IcbuOrder(status=status, pay_step=draw(st.sampled_from(("ADVANCE", "FULL", *pay_steps))))


# ------------------------------------------------------------------ FAQ 1: shipping


@given(
    status=st.sampled_from((*PRE_PAYMENT, "paying", "relating", "paid", "captured")),
    pay_step=st.sampled_from(PAY_STEPS),
    data=st.data(),
)
def test_shippable_only_in_undeliver_and_only_after_payment(
    status: str, pay_step: str, data: st.DataObject
) -> None:
    """FAQ 1: "取 undeliver ,此状态下订单肯定是已经支付成功了的".

    Starting anywhere before undeliver, every path that reaches it has captured a
    payment (for an ADVANCE order at least its advance), less the one already captured
    when it starts in ``captured``.
    """
    order = IcbuOrder(status=status, pay_step=pay_step)
    needed = CAPTURES_NEEDED[pay_step] - (status == "captured")
    captures = 0
    passed_paid = status in ("paid", "captured")
    assert not order.can("ship"), "a status before undeliver accepted ship"
    for step in walk(data, order):
        captures += step.event == "capture"
        passed_paid = passed_paid or step.target.name == "paid"
        assert order.can("ship") == (order.status.name == "undeliver")
        if order.status.name == "undeliver":
            assert passed_paid, "reached undeliver without a successful payment"
            assert captures >= needed, f"reached undeliver after {captures} of {needed} payments"


@given(
    status=st.sampled_from([s.name for s in MACHINE.states]),
    pay_step=st.sampled_from(PAY_STEPS),
    history=st.sampled_from([None, *[s.name for s in MACHINE.history_sources("frozen")]]),
)
def test_ship_is_accepted_in_undeliver_only(
    status: str, pay_step: str, history: str | None
) -> None:
    variables = {"pay_step": pay_step}
    remembered = history if status == "frozen" else None
    accepted = MACHINE.allows(status, "ship", variables=variables, history=remembered)
    assert accepted == (status == "undeliver")


def test_advance_order_can_ship_on_its_advance_or_pay_its_balance_first() -> None:
    """Decision balance-before-shipment: both routes after a captured advance exist."""
    shipped = IcbuOrder(status="captured", pay_step="ADVANCE")
    for event in ("release_for_shipment", "ship", "complete_shipment", "confirm_receipt"):
        shipped.trigger(event)
    # the XML example: <trade_status>trade_success</trade_status> ... <pay_step>ADVANCE</pay_step>
    assert (shipped.status.name, shipped.pay_step) == ("trade_success", "ADVANCE")
    balance_first = IcbuOrder(status="captured", pay_step="ADVANCE")
    balance_first.trigger("request_balance")
    assert (balance_first.status.name, balance_first.pay_step) == ("unpay", "BALANCE")


# ------------------------------------------------------------------ FAQ 3: interception


def test_must_intercept_names_frozen_and_charge_back() -> None:
    assert {s.name for s in MACHINE.states if must_intercept(s.code)} == {"frozen", "charge_back"}


@given(
    status=st.sampled_from(["frozen", "charge_back"]),
    pay_step=st.sampled_from(PAY_STEPS),
    event=st.sampled_from(["ship", "complete_shipment"]),
)
def test_shipping_events_are_intercepted(status: str, pay_step: str, event: str) -> None:
    """FAQ 3: "需要拦截的情况 主要有 买家发起退款 和信用卡拒付,分别对应 frozen 和 charge_back"."""
    frozen_from = "undeliver" if status == "frozen" else None
    order = IcbuOrder(status=status, pay_step=pay_step, frozen_from=frozen_from)
    assert order.must_intercept
    with pytest.raises(TransitionRejected, match="ERP interception") as caught:
        order.trigger(event)
    assert caught.value.status == str(order.status)
    assert (order.status.name, order.pay_step, order.frozen_from) == (
        status,
        pay_step,
        MACHINE.status(frozen_from) if frozen_from else None,
    )


# ------------------------------------------------------------------ FAQ 3: charge-back


@given(data=st.data(), pay_step=st.sampled_from(("FULL", "BALANCE")))
def test_charge_back_always_ends_in_trade_close(data: st.DataObject, pay_step: str) -> None:
    """FAQ 3: "信用卡拒付后,订单状态肯定是 trade_close"."""
    order = IcbuOrder(status="charge_back", pay_step=pay_step)
    for step in walk(data, order):
        assert step.source.name == "charge_back"
        assert step.target.name == "trade_close"
    assert order.status.name in ("charge_back", "trade_close")
    if order.status.name == "charge_back":
        assert order.enabled_events(), "charge_back must have a way out"
    else:
        assert order.status.final


@given(order=starts(), data=st.data())
def test_every_exit_from_charge_back_goes_to_trade_close(
    order: IcbuOrder, data: st.DataObject
) -> None:
    for step in walk(data, order, max_steps=60):
        if step.source.name == "charge_back":
            assert step.target.name == "trade_close"


# ------------------------------------------------------------------ FAQ 3: frozen (history)


@given(order=starts(), data=st.data())
def test_frozen_ends_in_trade_close_or_the_exact_status_before(
    order: IcbuOrder, data: st.DataObject
) -> None:
    """FAQ 3: "退款结束后,订单状态可能会处于 trade_close 和 也有可能买家是部分退款,
    然后订单恢复退款前的状态" - trade_close, or back to the status before the refund."""
    before_freeze = None
    pay_step_at_freeze = None
    for step in walk(data, order, max_steps=60):
        if step.target.name == "frozen":
            before_freeze, pay_step_at_freeze = step.source, order.pay_step
        if step.source.name == "frozen":
            assert step.target.name == "trade_close" or step.target == before_freeze
            if step.target != MACHINE.status("trade_close"):
                assert order.pay_step == pay_step_at_freeze, "a refund changed pay_step"


@given(
    frozen_from=st.sampled_from(MACHINE.history_sources("frozen")),
    event=st.sampled_from(["partial_refund", "withdraw_refund"]),
)
def test_frozen_returns_to_every_possible_origin(frozen_from: orderfsm.State, event: str) -> None:
    pay_step = "BALANCE" if frozen_from.name == "unpay" else "FULL"
    order = IcbuOrder(status=frozen_from.code, pay_step=pay_step)
    order.trigger("open_refund")
    assert order.frozen_from == frozen_from
    assert order.trigger(event).target == frozen_from
    assert order.frozen_from is None


def test_frozen_without_a_remembered_status_can_only_close() -> None:
    order = IcbuOrder(status="frozen")
    assert order.enabled_events() == ("full_refund",)
    with pytest.raises(orderfsm.IllegalTransition):
        order.trigger("partial_refund")


# ------------------------------------------------------------------ pay_step


@given(data=st.data(), status=st.sampled_from(PRE_PAYMENT))
def test_advance_orders_come_back_to_unpay_for_the_balance(
    data: st.DataObject, status: str
) -> None:
    """pay_step: an ADVANCE order is unpay again after its advance, now with BALANCE due."""
    order = IcbuOrder(status=status, pay_step="ADVANCE")
    for step in walk(data, order, max_steps=60):
        if step.source.name == "captured" and step.target.name == "unpay":
            assert step.event == "request_balance"
            assert order.pay_step == "BALANCE"
            assert "balance" in order.customer_text.lower()


@given(data=st.data(), status=st.sampled_from(PRE_PAYMENT))
def test_full_orders_never_come_back_to_unpay_once_paid(data: st.DataObject, status: str) -> None:
    """pay_step FULL: "尾款为0" - there is no balance to come back for."""
    order = IcbuOrder(status=status, pay_step="FULL")
    captured = False
    for step in walk(data, order, max_steps=60):
        captured = captured or step.event == "capture"
        if captured:
            assert step.target.name != "unpay", "a FULL order came back to unpay after payment"
        assert order.pay_step == "FULL"


@pytest.mark.parametrize(
    ("pay_step", "word"), [("ADVANCE", "advance"), ("BALANCE", "balance"), ("FULL", "full")]
)
def test_unpay_text_names_the_payment_due(pay_step: str, word: str) -> None:
    """FAQ 2: "unpay状态下 如果判断订单需要支付 预付款还是尾款? 通过 pay_step来判断"."""
    order = IcbuOrder(status="unpay", pay_step=pay_step)
    assert word in order.customer_text.lower()
    others = {"advance", "balance", "full"} - {word}
    assert not any(other in order.customer_text.lower() for other in others)


def test_advance_order_paying_its_balance_first_pays_twice_before_it_ships() -> None:
    order = IcbuOrder(status="unpay", pay_step="ADVANCE")
    for event in ("pay", "payment_verified", "capture"):
        order.trigger(event)
    assert (order.status.name, order.pay_step) == ("captured", "ADVANCE")
    order.trigger("request_balance")
    assert (order.status.name, order.pay_step) == ("unpay", "BALANCE")
    for event in ("pay_by_tt", "relate_payment", "capture", "release_for_shipment"):
        order.trigger(event)
    assert order.status.name == "undeliver" and order.can("ship")


HOLDING_MONEY = ("paid", "captured", "undeliver", "delivering", "wait_confirm_receipt")


@given(
    start=st.one_of(
        st.tuples(st.sampled_from(HOLDING_MONEY), st.sampled_from(PAY_STEPS)),
        st.tuples(st.sampled_from(("unpay", "wait_confirm_modify")), st.just("BALANCE")),
        st.tuples(st.sampled_from(PRE_PAYMENT), st.sampled_from(("ADVANCE", "FULL"))),
    ),
    data=st.data(),
)
def test_paid_money_leaves_only_through_refund_charge_back_or_platform_close(
    start: tuple[str, str], data: st.DataObject
) -> None:
    """Once money is paid, the buyer cannot just cancel: a refund freezes (FAQ 3)."""
    order = IcbuOrder(status=start[0], pay_step=start[1])
    paid = start[0] in HOLDING_MONEY or start[1] == "BALANCE"
    for step in walk(data, order, max_steps=60):
        paid = paid or step.event == "capture"
        if paid and step.target.name == "trade_close":
            assert step.event in ("full_refund", "close_charge_back", "close_unpaid"), step.event
