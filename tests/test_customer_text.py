"""``customer_text`` works the same on every order class: the status's text, chosen by
the order's variables where the table says so."""

from __future__ import annotations

import pytest

import orderfsm


@pytest.mark.parametrize("name", ["taobao_order", "icbu_trade"])
def test_every_order_status_shows_its_customer_text(name: str) -> None:
    machine = orderfsm.load(name)
    for status in machine.states:
        if name == "taobao_order":
            order: orderfsm.TaobaoOrder | orderfsm.IcbuOrder = orderfsm.TaobaoOrder(status=status)
            variables: dict[str, str] = {}
        else:
            pay_step = "ADVANCE" if status.customer_text_variable else None
            order = orderfsm.IcbuOrder(status=status, pay_step=pay_step)
            variables = dict(order.variables)
        assert order.customer_text == status.text_for(variables)


def test_a_ka_trade_shows_the_text_of_its_derived_status() -> None:
    trade = orderfsm.KaTrade({"o1": ["a", "b"]})
    trade.trigger("auto_deduct")
    assert trade.customer_text == trade.status.text_for({}) == trade.status.customer_text
    assert orderfsm.TaobaoOrder(status=5).customer_text == orderfsm.describe(5)
