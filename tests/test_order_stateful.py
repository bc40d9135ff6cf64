"""Random event sequences over a Taobao order with several sub-orders (hypothesis.stateful).

Invariants: every status is a documented value; no buyer cancel ever succeeds from a
payment-locked status; rejected events change nothing; sub-order refunds are
independent; final statuses stay final; and the stateful order agrees with the pure
core (``CompiledMachine.transition``) at every step.
"""

import contextlib

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import orderfsm
from orderfsm import OrderFsmError, PaymentLocked, TransitionRejected

MAIN = orderfsm.load("taobao_order")
REFUND = orderfsm.load("taobao_refund")
SUB_IDS = ("s1", "s2", "s3")
LOCKED = {2, 5, 10, 11}  # 000_29cd69a61e8d9e8a.txt, "1. Payment Lock Rules"
MAIN_CODES = {0, 1, 2, 3, 4, 5, 9, 10, 11, 12}
REFUND_CODES = {0, 10, 20, 30, 100, -10, -20}


class TaobaoOrderMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.order = orderfsm.TaobaoOrder(sub_orders=dict.fromkeys(SUB_IDS, 0))
        self.finished_main = False
        self.finished_subs: set[str] = set()

    def snapshot(self) -> tuple[object, dict[object, object]]:
        return self.order.status, dict(self.order.sub_orders)

    @rule(event=st.sampled_from(MAIN.event_names))
    def main_event(self, event: str) -> None:
        before = self.snapshot()
        expected_ok = MAIN.allows(before[0], event)
        try:
            step = self.order.trigger(event)
        except TransitionRejected as exc:
            assert not expected_ok
            assert self.snapshot() == before, "a rejected event changed the order"
            if event == "cancel" and before[0].code in LOCKED:
                assert isinstance(exc, PaymentLocked)
            return
        assert expected_ok
        pure = MAIN.transition(before[0], event)
        assert step.target == pure.target == self.order.status
        assert self.order.sub_orders == before[1], "a main event changed a sub-order"
        assert not (event == "cancel" and before[0].code in LOCKED), (
            "cancel passed the payment lock"
        )
        assert not before[0].final, "a final status accepted an event"

    @rule(event=st.sampled_from(REFUND.event_names), sub=st.sampled_from(SUB_IDS))
    def refund_event(self, event: str, sub: str) -> None:
        before = self.snapshot()
        expected_ok = REFUND.allows(before[1][sub], event, parent=before[0])
        try:
            step = self.order.trigger(event, sub_order=sub)
        except TransitionRejected:
            assert not expected_ok
            assert self.snapshot() == before, "a rejected refund event changed the order"
            return
        assert expected_ok
        assert step.target == REFUND.transition(before[1][sub], event, parent=before[0]).target
        after = self.snapshot()
        assert after[0] == before[0], "a refund changed the main order"
        for other in SUB_IDS:
            if other != sub:
                assert after[1][other] == before[1][other], "a refund changed a sibling"

    @rule(event=st.sampled_from(REFUND.event_names))
    def refund_event_without_sub_order(self, event: str) -> None:
        before = self.snapshot()
        try:
            self.order.trigger(event)
        except orderfsm.RefundNotAllowed:
            assert self.snapshot() == before
        else:
            raise AssertionError(f"{event} succeeded on the main order")

    @rule(event=st.text(max_size=12))
    def unknown_event(self, event: str) -> None:
        if event in MAIN.event_names or event in REFUND.event_names:
            return
        before = self.snapshot()
        with contextlib.suppress(orderfsm.UnknownEvent):
            self.order.trigger(event)
        assert self.snapshot() == before

    @rule(sub=st.text(max_size=4))
    def unknown_sub_order(self, sub: str) -> None:
        if sub in SUB_IDS:
            return
        before = self.snapshot()
        with contextlib.suppress(orderfsm.UnknownSubOrder):
            self.order.trigger("apply_refund", sub_order=sub)
        assert self.snapshot() == before

    @invariant()
    def statuses_are_documented(self) -> None:
        assert self.order.status.code in MAIN_CODES
        assert all(s.code in REFUND_CODES for s in self.order.sub_orders.values())

    @invariant()
    def final_stays_final(self) -> None:
        if self.finished_main:
            assert self.order.status.final
        self.finished_main = self.order.status.final
        for sid, status in self.order.sub_orders.items():
            if sid in self.finished_subs:
                assert status.final
            elif status.final:
                self.finished_subs.add(sid)

    @invariant()
    def enabled_events_agree_with_can(self) -> None:
        for event in MAIN.event_names:
            assert self.order.can(event) == (event in self.order.enabled_events())
        with pytest.raises(OrderFsmError):
            self.order.can("no_such_event")


TestTaobaoOrder = TaobaoOrderMachine.TestCase
