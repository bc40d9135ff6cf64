"""The ICBU table and IcbuOrder: statuses as documented, stateful behaviour, bad input.

Source: 002_72f8e4474636d231.txt, trade_status (16 values with Chinese and English
descriptions) and pay_step.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import orderfsm
import orderfsm.model.compile as compile_module
from orderfsm import IcbuOrder, TransitionRejected

MACHINE = orderfsm.load("icbu_trade")
# Transcribed from the document (trade_status field), separately from the table.
DOCUMENTED = {
    "to_be_audited": "待审核",
    "unpay": "待付预付款",
    "paying": "买家支付中,主要是包含验证的过程",
    "paid": "买家支付完成",
    "relating": "关联中",
    "captured": "请款完成,到这步就代表资金会到账",
    "undeliver": "待卖家发货",
    "delivering": "发货中",
    "wait_confirm_receipt": "待确认收货",
    "intention_processing": "意向订单,待起草订单",
    "trade_close": "交易关闭,取消",
    "trade_success": "交易成功,完成",
    "wait_confirm_modify": "待确认修改合同",
    "trade_unavailable": "交易不可用",
    "charge_back": "拒付",
    "frozen": "冻结中",
}


def test_all_sixteen_documented_statuses_with_their_descriptions() -> None:
    assert {s.code for s in MACHINE.states} == set(DOCUMENTED)
    for state in MACHINE.states:
        assert state.description_zh == DOCUMENTED[str(state.code)]
        assert state.description and state.customer_text
        assert state.provenance.documented
        assert state.provenance.sources[0].doc == "002_72f8e4474636d231.txt"


def test_every_transition_is_inferred_with_a_basis() -> None:
    """The document gives no matrix: nothing may claim to be documented."""
    for t in MACHINE.table.transitions:
        assert t.provenance.kind == "inferred" and t.provenance.basis, t


def test_statuses_resolve_by_trade_status_string() -> None:
    assert MACHINE.status("unpay").name == "unpay"
    assert orderfsm.load("icbu_trade") is MACHINE


def test_creating_orders_compiles_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an order compiled a machine")

    monkeypatch.setattr(compile_module, "compile_table", refuse)
    orders = [IcbuOrder(status="unpay", pay_step="ADVANCE") for _ in range(3)]
    assert all(o.machine is MACHINE for o in orders)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("status", ["UNPAY_", 3, "trade_closed", True, "", "WAIT_BUYER_PAY"])
def test_unknown_status(status: object) -> None:
    with pytest.raises(orderfsm.UnknownStatus, match="valid values"):
        IcbuOrder(status=status)  # type: ignore[arg-type]
    with pytest.raises(orderfsm.UnknownStatus):
        orderfsm.must_intercept(status)  # type: ignore[arg-type]


def test_bad_pay_step() -> None:
    with pytest.raises(orderfsm.InvalidOrderState, match="pay_step = 'HALF'"):
        IcbuOrder(status="unpay", pay_step="HALF")
    with pytest.raises(orderfsm.InvalidOrderState, match="unknown variable 'step'"):
        MACHINE.transition("unpay", "pay", variables={"step": "FULL"})


def test_bad_frozen_from() -> None:
    with pytest.raises(orderfsm.InvalidOrderState, match="only a history status"):
        IcbuOrder(status="unpay", frozen_from="paid")
    with pytest.raises(
        orderfsm.InvalidOrderState, match="frozen cannot have been entered from paying"
    ):
        IcbuOrder(status="frozen", frozen_from="paying")
    with pytest.raises(orderfsm.UnknownStatus):
        IcbuOrder(status="frozen", frozen_from="nowhere")


def test_unknown_event_changes_nothing() -> None:
    order = IcbuOrder(status="unpay", pay_step="ADVANCE")
    with pytest.raises(orderfsm.UnknownEvent, match="unknown event 'apply_refund'"):
        order.trigger("apply_refund")
    with pytest.raises(orderfsm.UnknownEvent):
        order.can("apply_refund")
    assert (order.status.name, order.pay_step, order.history) == ("unpay", "ADVANCE", ())


def test_rejection_names_rule_status_and_what_is_allowed() -> None:
    order = IcbuOrder(status="paid")
    with pytest.raises(orderfsm.IllegalTransition) as caught:
        order.trigger("ship")
    assert caught.value.status == "paid"
    assert set(caught.value.allowed) == set(order.enabled_events())
    assert "capture" in caught.value.allowed


# ------------------------------------------------------------------ stateful


class IcbuOrderMachine(RuleBasedStateMachine):
    """Random event sequences over an IcbuOrder started anywhere with any pay_step.

    Invariants: every status is a documented value; rejected events change nothing
    (status, pay_step, remembered status); final statuses stay final; the stateful order
    agrees with the pure core at every step; ``can`` agrees with ``enabled_events``.
    """

    order: IcbuOrder

    @initialize(
        status=st.sampled_from([s.name for s in MACHINE.states if s.name != "frozen"]),
        pay_step=st.sampled_from(("ADVANCE", "BALANCE", "FULL")),
    )
    def start(self, status: str, pay_step: str) -> None:
        self.order = IcbuOrder(status=status, pay_step=pay_step)
        self.was_final = self.order.status.final

    def snapshot(self) -> tuple[object, ...]:
        o = self.order
        return (o.status, o.pay_step, o.frozen_from, len(o.history))

    @rule(event=st.sampled_from(MACHINE.event_names))
    def event(self, event: str) -> None:
        before = self.snapshot()
        status, variables, remembered = (
            self.order.status,
            self.order.variables,
            self.order.frozen_from,
        )
        expected = MACHINE.allows(status, event, variables=variables, history=remembered)
        try:
            step = self.order.trigger(event)
        except TransitionRejected:
            assert not expected
            assert self.snapshot() == before, "a rejected event changed the order"
            return
        assert expected
        pure = MACHINE.transition(status, event, variables=variables, history=remembered)
        assert step == pure and self.order.status == pure.target
        assert self.order.variables == pure.transition.apply(variables)
        assert not status.final

    @rule(event=st.text(max_size=10))
    def unknown_event(self, event: str) -> None:
        if event in MACHINE.event_names:
            return
        before = self.snapshot()
        with contextlib.suppress(orderfsm.UnknownEvent):
            self.order.trigger(event)
        assert self.snapshot() == before

    @invariant()
    def status_is_documented(self) -> None:
        assert self.order.status.code in DOCUMENTED
        assert self.order.pay_step in ("ADVANCE", "BALANCE", "FULL")

    @invariant()
    def final_stays_final(self) -> None:
        if self.was_final:
            assert self.order.status.final
        self.was_final = self.order.status.final

    @invariant()
    def remembers_only_while_frozen(self) -> None:
        if self.order.status.name != "frozen":
            assert self.order.frozen_from is None

    @invariant()
    def can_agrees_with_enabled_events(self) -> None:
        enabled = self.order.enabled_events()
        for event in MACHINE.event_names:
            assert self.order.can(event) == (event in enabled)


TestIcbuOrder = IcbuOrderMachine.TestCase


def test_sub_orders_are_taken_the_way_every_order_class_takes_them() -> None:
    """One calling convention (issue 16.7): ``sub_order=`` on every order class; an ICBU
    order has none, so naming one is the library's UnknownSubOrder, and changes nothing."""
    order = orderfsm.IcbuOrder()
    for call in (
        lambda: order.trigger("draft_order", sub_order="a"),
        lambda: order.can("draft_order", sub_order="a"),
        lambda: order.enabled_events(sub_order="a"),
    ):
        with pytest.raises(orderfsm.UnknownSubOrder, match="has no sub-orders"):
            call()
    assert order.version == 0 and order.history == ()
    assert order.trigger("draft_order", sub_order=None).target.name == "to_be_audited"
    assert order.can("approve", sub_order=None)
    assert "approve" in order.enabled_events(sub_order=None)
