"""Explain: "why not?" without an exception, and the allowed events per actor."""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm import errors
from orderfsm.model.table import ACTORS
from orderfsm.testing import taobao_orders

MACHINES = [orderfsm.load(name) for name in orderfsm.MACHINES]


def same_as_rejection(answer: orderfsm.Explanation, error: errors.TransitionRejected) -> None:
    """The explanation carries every field of the rejection, and names its class."""
    assert type(error).__name__ == answer.refusal
    assert (answer.rule, answer.source, answer.status, answer.allowed) == (
        error.rule,
        error.source,
        error.status,
        error.allowed,
    )
    assert (answer.actors, answer.alternatives) == (error.actors, error.alternatives)


def agrees_with_transition(
    m: orderfsm.CompiledMachine, status: orderfsm.State, event: str, **context: object
) -> None:
    """``m.explain`` agrees with ``allows`` and with what ``transition`` returns or raises."""
    answer = m.explain(status, event, **context)  # type: ignore[arg-type]
    assert bool(answer) is answer.accepted is m.allows(status, event, **context)  # type: ignore[arg-type]
    assert answer.actors == m.actors(status, event)
    assert set(answer.alternatives) <= set(answer.allowed)
    assert event not in answer.allowed
    if answer.accepted:
        step = m.transition(status, event, **context)  # type: ignore[arg-type]
        assert (answer.target, answer.refusal) == (step.target, None)
        enabled = m.enabled(status, **context)  # type: ignore[arg-type]
        assert answer.allowed == tuple(e for e in enabled if e != event)
        return
    with pytest.raises(errors.TransitionRejected) as raised:
        m.transition(status, event, **context)  # type: ignore[arg-type]
    error = raised.value
    same_as_rejection(answer, error)
    assert answer.target is None
    by_actor = {e for a in answer.actors for e in m.enabled(status, actor=a, **context)}  # type: ignore[arg-type]
    assert set(answer.alternatives) == by_actor - {event}


@pytest.mark.parametrize("m", MACHINES, ids=lambda m: m.name)
def test_explain_agrees_with_allows_and_transition_for_every_status_event_and_context(
    m: orderfsm.CompiledMachine,
) -> None:
    for parent, variables in m.contexts():
        for status in m.states:
            for event in m.event_names:
                agrees_with_transition(m, status, event, parent=parent, variables=variables)


@given(st.data())
def test_explain_agrees_where_a_status_is_remembered(data: st.DataObject) -> None:
    m = data.draw(st.sampled_from([m for m in MACHINES if m.history_states]))
    status = m.status(data.draw(st.sampled_from(sorted(m.history_states))))
    remembered = data.draw(st.sampled_from(m.history_sources(status)))
    event = data.draw(st.sampled_from(m.event_names))
    agrees_with_transition(m, status, event, history=remembered)


@pytest.mark.parametrize("m", MACHINES, ids=lambda m: m.name)
def test_allowed_events_per_actor_partition_the_allowed_events(
    m: orderfsm.CompiledMachine,
) -> None:
    for parent, variables in m.contexts():
        for status in m.states:
            every = m.enabled(status, parent=parent, variables=variables)
            by = {a: m.enabled(status, parent=parent, variables=variables, actor=a) for a in ACTORS}
            assert sorted(e for events in by.values() for e in events) == sorted(every)
            for actor, events in by.items():
                for event in events:
                    step = m.transition(status, event, parent=parent, variables=variables)
                    assert step.actor == actor


def test_a_refused_buyer_cancel_names_the_buyers_alternatives_not_the_sellers() -> None:
    order = orderfsm.TaobaoOrder(status=10)
    answer = order.explain("cancel")
    assert not answer and answer.refusal == "PaymentLocked" and answer.actors == ("buyer",)
    assert answer.allowed == ("ship",) and answer.alternatives == ()
    assert order.enabled_events(actor="buyer") == () and order.enabled_events(actor="seller") == (
        "ship",
    )
    with pytest.raises(orderfsm.PaymentLocked) as raised:
        order.trigger("cancel")
    assert raised.value.alternatives == () and raised.value.actors == ("buyer",)
    assert order.status == 10  # asking changed nothing


def test_icbu_platform_events_are_not_the_buyers() -> None:
    order = orderfsm.IcbuOrder(status="unpay")
    assert "close_unpaid" in order.enabled_events()
    assert "close_unpaid" not in order.enabled_events(actor="buyer")
    answer = order.explain("confirm_receipt")
    assert not answer and answer.actors == ("buyer",)
    assert set(answer.alternatives) == set(order.enabled_events(actor="buyer"))


def test_an_unknown_actor_is_a_clear_error() -> None:
    with pytest.raises(orderfsm.UnknownActor, match=r"'courier'.*buyer, seller"):
        orderfsm.TaobaoOrder().enabled_events(actor="courier")


def test_a_main_order_refund_is_explained_as_trigger_refuses_it() -> None:
    order = orderfsm.TaobaoOrder(status=11, sub_orders=["s1"])
    answer = order.explain("apply_refund")
    with pytest.raises(orderfsm.RefundNotAllowed) as raised:
        order.trigger("apply_refund")
    assert answer.refusal == "RefundNotAllowed" and answer.rule == raised.value.rule
    assert answer.allowed == raised.value.allowed and answer.actors == ("buyer",)
    assert order.explain("apply_refund", sub_order="s1").accepted


def test_an_explanation_is_a_value() -> None:
    answer = orderfsm.TaobaoOrder(status=10).explain("cancel")
    for clone in (pickle.loads(pickle.dumps(answer)), copy.deepcopy(answer), copy.copy(answer)):
        assert clone == answer
    assert repr(answer) == (
        "<Explanation taobao_order: 'cancel' in WAIT_SELLER_SEND_GOODS(10): refused (PaymentLocked)>"
    )


def _agrees_on_order(order: object, event: str, /, **where: object) -> None:
    """``order.explain`` agrees with ``can`` and with what ``trigger`` does on a copy."""
    answer = order.explain(event, **where)  # type: ignore[attr-defined]
    assert answer.accepted is order.can(event, **where)  # type: ignore[attr-defined]
    trial = copy.deepcopy(order)
    try:
        trial.trigger(event, **where)
    except errors.TransitionRejected as error:
        assert not answer
        same_as_rejection(answer, error)
    else:
        assert answer.accepted


@given(taobao_orders(), st.data())
def test_taobao_explain_agrees_with_trigger(
    order: orderfsm.TaobaoOrder, data: st.DataObject
) -> None:
    sub_order = data.draw(st.sampled_from([None, *order.sub_orders]))
    machine = order.machine if sub_order is None else order.refund_machine
    events = (
        machine.event_names
        if sub_order is not None
        else (
            *order.machine.event_names,
            *order.refund_machine.event_names,
        )
    )
    _agrees_on_order(order, data.draw(st.sampled_from(events)), sub_order=sub_order)


@given(st.data())
def test_icbu_and_ka_explain_agree_with_trigger(data: st.DataObject) -> None:
    icbu = orderfsm.IcbuOrder(pay_step=data.draw(st.sampled_from(["FULL", "ADVANCE"])))
    trade = orderfsm.KaTrade({"o1": ["s1", "s2"], 2: [3]})
    leaves = [{}, {"order": "o1"}, {"order": "o1", "sub_order": "s2"}, {"order": 2}]
    for _ in range(data.draw(st.integers(0, 8))):
        if events := icbu.enabled_events():
            icbu.trigger(data.draw(st.sampled_from(events)))
        where = data.draw(st.sampled_from(leaves))
        if events := trade.enabled_events(**where):
            trade.trigger(data.draw(st.sampled_from(events)), **where)
    _agrees_on_order(icbu, data.draw(st.sampled_from(icbu.machine.event_names)))
    where = data.draw(st.sampled_from(leaves))
    _agrees_on_order(trade, data.draw(st.sampled_from(trade.machine.event_names)), **where)
    for actor in ACTORS:
        for event in trade.enabled_events(**where, actor=actor):  # type: ignore[arg-type]
            assert all(s.actor == actor for s in copy.deepcopy(trade).trigger(event, **where))  # type: ignore[arg-type]
