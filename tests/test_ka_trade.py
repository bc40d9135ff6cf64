"""KA trades at three levels: the parent-status derivation rule and the stateful trade.

Source: 000_29cd69a61e8d9e8a.txt, "Comparison with KA Orders" ("Dimension ... Trade +
Order + Sub-order"; "Cancellation Limit ... Can cancel before shipment").
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import orderfsm
from orderfsm import KaTrade, TransitionRejected, derive_status

MACHINE = orderfsm.load("ka_pool_order")
STATES = MACHINE.states
statuses = st.lists(st.sampled_from(STATES), min_size=1, max_size=8)


def status(name: str) -> orderfsm.State:
    return MACHINE.status(name)


# ------------------------------------------------------------------ derive_status


@given(children=statuses, data=st.data())
def test_derived_status_is_a_child_status_independent_of_order(
    children: list[orderfsm.State], data: st.DataObject
) -> None:
    parent = derive_status(MACHINE, children)
    assert parent in children
    assert derive_status(MACHINE, data.draw(st.permutations(children))) == parent


@given(child=st.sampled_from(STATES), n=st.integers(1, 5))
def test_identical_children_give_their_own_status(child: orderfsm.State, n: int) -> None:
    assert derive_status(MACHINE, [child] * n) == child


@given(groups=st.lists(statuses, min_size=1, max_size=4))
def test_deriving_through_orders_equals_deriving_from_all_sub_orders(
    groups: list[list[orderfsm.State]],
) -> None:
    """A trade's status is the same whether derived from its orders or its sub-orders."""
    via_orders = derive_status(MACHINE, [derive_status(MACHINE, g) for g in groups])
    assert via_orders == derive_status(MACHINE, [s for g in groups for s in g])


@given(children=statuses)
def test_a_refund_anywhere_shows_on_the_parent(children: list[orderfsm.State]) -> None:
    parent = derive_status(MACHINE, children)
    assert ("refund" in parent.tags) == any("refund" in c.tags for c in children)


@given(children=statuses)
def test_parent_is_as_far_along_as_its_slowest_live_child(children: list[orderfsm.State]) -> None:
    live = [c for c in children if not {"refund", "dropped"} & c.tags]
    parent = derive_status(MACHINE, children)
    if live and not any("refund" in c.tags for c in children):
        order = [s.name for s in STATES]
        assert parent.name == min((c.name for c in live), key=order.index)
    assert (parent.name == "SUCCESS") == (
        bool(live) and all(c.name == "SUCCESS" for c in live) and parent in live
    )


@given(children=statuses)
def test_dropped_only_when_every_child_ended_without_a_sale(children: list[orderfsm.State]) -> None:
    parent = derive_status(MACHINE, children)
    all_dropped = all("dropped" in c.tags for c in children)
    assert ("dropped" in parent.tags) == all_dropped
    if all_dropped:
        expected = "TERMINATED" if any(c.name == "TERMINATED" for c in children) else "CANCEL"
        assert parent.name == expected


def test_derivation_examples() -> None:
    """The worked examples shown in docs/machines/ka_pool_order.md."""
    d = lambda *names: derive_status(MACHINE, [status(n) for n in names]).name  # noqa: E731
    assert d("waitsellersend", "waitbuyerreceive") == "WAIT_SELLER_SEND"
    assert d("success", "cancel") == "SUCCESS"
    assert d("terminated", "cancel") == "TERMINATED"
    assert d("success", "waitselleragree") == "REFUND_WAIT_SELLER_AGREE"
    assert d("cancel", "cancel") == "CANCEL"


def test_no_children_is_an_error() -> None:
    with pytest.raises(orderfsm.InvalidOrderState):
        derive_status(MACHINE, [])


# ------------------------------------------------------------------ the trade API


def test_cancel_before_shipment_and_rejected_after() -> None:
    trade = KaTrade({"o1": ["a", "b"], "o2": ["c"]})
    trade.trigger("auto_deduct")
    assert trade.status.name == "WAIT_SELLER_SEND"
    trade.trigger("ship_for_pickup", order="o1")
    with pytest.raises(TransitionRejected) as caught:
        trade.trigger("cancel", order="o1")
    assert caught.value.rule == "KA: an order can be cancelled until it ships, not after"
    assert trade.order_status("o1").name == "WAIT_LOGISTICS_TAKE_IN"
    with pytest.raises(TransitionRejected):  # all or nothing: o1 is shipped
        trade.trigger("cancel")
    assert trade.order_status("o2").name == "WAIT_SELLER_SEND"
    # paid, so the cancellation ends it in TERMINATED (decision ka-paid-cancel-terminates)
    trade.trigger("cancel", order="o2")
    assert trade.order_status("o2").name == "TERMINATED"
    assert trade.status.name == "WAIT_LOGISTICS_TAKE_IN"


def test_unpaid_cancel_ends_in_cancel_and_direct_shipping_skips_the_pickup() -> None:
    unpaid = KaTrade({"o1": ["a"]})
    unpaid.trigger("cancel")
    assert unpaid.status.name == "CANCEL"
    trade = KaTrade({"o1": ["a"]})
    for event in ("auto_deduct", "ship", "confirm_receipt", "complete"):
        trade.trigger(event)
    assert trade.status.name == "SUCCESS"


def test_refund_is_a_sub_order_status_that_returns_where_it_was() -> None:
    trade = KaTrade({"o1": {"a": "waitbuyersign", "b": "waitbuyersign"}})
    trade.trigger("apply_refund", order="o1", sub_order="a")
    assert trade.order_status("o1").name == "REFUND_WAIT_SELLER_AGREE"
    assert trade.sub_order_status("o1", "b").name == "WAIT_BUYER_SIGN"
    trade.trigger("refuse_refund", order="o1", sub_order="a")
    assert trade.sub_order_status("o1", "a").name == "WAIT_BUYER_SIGN"


@pytest.mark.parametrize(
    ("orders", "error"),
    [
        ({}, orderfsm.InvalidOrderState),
        ({"o1": []}, orderfsm.InvalidOrderState),
        ({"o1": {"a": "shipped"}}, orderfsm.UnknownStatus),
    ],
)
def test_bad_construction(orders: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        KaTrade(orders)  # type: ignore[arg-type]


def test_unknown_parts_and_events() -> None:
    trade = KaTrade({"o1": ["a"]})
    with pytest.raises(orderfsm.UnknownSubOrder, match="unknown KA order 'o9'"):
        trade.trigger("cancel", order="o9")
    with pytest.raises(orderfsm.UnknownSubOrder, match="unknown sub-order 'z'"):
        trade.trigger("cancel", order="o1", sub_order="z")
    with pytest.raises(orderfsm.UnknownSubOrder, match="without its order"):
        trade.trigger("cancel", sub_order="a")
    with pytest.raises(orderfsm.UnknownEvent):
        trade.trigger("finance_approve")
    with pytest.raises(orderfsm.UnknownEvent):
        trade.can("upload_proof")
    assert trade.sub_order_status("o1", "a").name == "WAIT_BUYER_PAY" and not trade.history


# ------------------------------------------------------------------ stateful

ORDERS = {"o1": ("a", "b"), "o2": ("c",)}
LEAVES = [(o, s) for o, subs in ORDERS.items() for s in subs]


class KaTradeMachine(RuleBasedStateMachine):
    """Random events at every level of a two-order trade.

    Invariants: every status is one of the 12; rejected events change nothing at any
    level; each level's status is derived from its children by derive_status; final
    sub-orders stay final; each accepted sub-order step agrees with the pure core; no
    cancel succeeds on a shipped sub-order.
    """

    def __init__(self) -> None:
        super().__init__()
        self.trade = KaTrade({o: list(subs) for o, subs in ORDERS.items()})
        self.finished: set[tuple[str, str]] = set()
        self.remembered: dict[object, orderfsm.State] = {}  # the model's own history memory
        self.accepted = 0

    def snapshot(self) -> dict[str, dict[object, orderfsm.State]]:
        return {str(o): dict(v.sub_orders) for o, v in self.trade.orders.items()}

    def apply(self, event: str, order: str | None, sub: str | None) -> None:
        before = self.snapshot()
        try:
            steps = self.trade.trigger(event, order=order, sub_order=sub)
        except TransitionRejected:
            assert self.snapshot() == before, "a rejected event changed the trade"
            return
        assert len(steps) == len(self.trade.history) - self.accepted
        for leaf, step in self.trade.history[self.accepted :]:
            pure = MACHINE.transition(step.source, event, history=self.remembered.get(leaf))
            assert pure == step, "the trade disagrees with the pure core"
            if step.target.name in MACHINE.history_states:
                self.remembered.setdefault(leaf, step.source)
            else:
                self.remembered.pop(leaf, None)
            assert not (event == "cancel" and "shipped" in step.source.tags)
        self.accepted = len(self.trade.history)
        changed = [(o, s) for o, s in LEAVES if before[o][s] != self.snapshot()[o][s]]
        addressed = [(o, s) for o, s in LEAVES if order in (None, o) and sub in (None, s)]
        assert set(changed) <= set(addressed)

    @rule(event=st.sampled_from(MACHINE.event_names))
    def trade_event(self, event: str) -> None:
        self.apply(event, None, None)

    @rule(event=st.sampled_from(MACHINE.event_names), order=st.sampled_from(list(ORDERS)))
    def order_event(self, event: str, order: str) -> None:
        self.apply(event, order, None)

    @rule(event=st.sampled_from(MACHINE.event_names), leaf=st.sampled_from(LEAVES))
    def sub_order_event(self, event: str, leaf: tuple[str, str]) -> None:
        self.apply(event, *leaf)

    @rule(event=st.text(max_size=8))
    def unknown_event(self, event: str) -> None:
        if event in MACHINE.event_names:
            return
        before = self.snapshot()
        with contextlib.suppress(orderfsm.UnknownEvent):
            self.trade.trigger(event)
        assert self.snapshot() == before

    @invariant()
    def statuses_are_the_twelve(self) -> None:
        for subs in self.snapshot().values():
            assert all(s in MACHINE.states for s in subs.values())

    @invariant()
    def levels_are_derived(self) -> None:
        orders = self.trade.orders
        for view in orders.values():
            assert view.status == derive_status(MACHINE, view.sub_orders.values())
        assert self.trade.status == derive_status(MACHINE, [v.status for v in orders.values()])

    @invariant()
    def final_stays_final(self) -> None:
        snap = self.snapshot()
        for o, s in LEAVES:
            if (o, s) in self.finished:
                assert snap[o][s].final
            elif snap[o][s].final:
                self.finished.add((o, s))

    @invariant()
    def can_agrees_with_enabled_events(self) -> None:
        enabled = self.trade.enabled_events(order="o1")
        for event in MACHINE.event_names:
            assert self.trade.can(event, order="o1") == (event in enabled)


TestKaTrade = KaTradeMachine.TestCase


def test_a_sub_order_loaded_mid_refund_can_return_where_it_was() -> None:
    orders = {"o1": {"a": "waitselleragree", "b": "waitbuyersign"}}
    trade = KaTrade(orders, remembered={("o1", "a"): "waitbuyersign"})
    trade.trigger("cancel_refund", order="o1", sub_order="a")
    assert trade.sub_order_status("o1", "a").name == "WAIT_BUYER_SIGN"
    forgetful = KaTrade(orders)
    with pytest.raises(orderfsm.IllegalTransition):
        forgetful.trigger("cancel_refund", order="o1", sub_order="a")
    assert forgetful.enabled_events(order="o1", sub_order="a") == ("agree_refund", "agree_return")


@pytest.mark.parametrize(
    ("remembered", "error", "match"),
    [
        ({("o1", "b"): "waitbuyersign"}, orderfsm.InvalidOrderState, "only a history status"),
        ({("o1", "a"): "waitsellersend"}, orderfsm.InvalidOrderState, "cannot have been entered"),
        ({("o1", "a"): "nowhere"}, orderfsm.UnknownStatus, "valid values"),
        ({("o1", "z"): "waitbuyersign"}, orderfsm.UnknownSubOrder, "unknown sub-order"),
        ({"o1": "waitbuyersign"}, orderfsm.InvalidOrderState, "pair"),
    ],
)
def test_bad_remembered_status(
    remembered: dict[object, str], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        KaTrade({"o1": {"a": "waitselleragree", "b": "waitbuyersign"}}, remembered=remembered)  # type: ignore[arg-type]
