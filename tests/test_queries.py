"""Stateless queries on compiled machines, status resolution, and machine sharing."""

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.model import compile as compile_module

MAIN = orderfsm.load("taobao_order")
REFUND = orderfsm.load("taobao_refund")


def test_machines_lists_the_shipped_names() -> None:
    assert {"taobao_order", "taobao_refund"} <= set(orderfsm.MACHINES)
    for name in orderfsm.MACHINES:
        assert orderfsm.load(name).name == name


@pytest.mark.parametrize("value", [0, "TAOBAO_ORDER_WAIT_BUYER_PAY", "WAIT_BUYER_P"])
def test_every_spelling_resolves(value: object) -> None:
    assert MAIN.status(value).code == 0  # type: ignore[arg-type]
    assert MAIN.has_edge(value, 1) and MAIN.has_edge(value, "CANCEL")  # type: ignore[arg-type]


def test_documented_misspelling_and_corrected_alias() -> None:
    assert MAIN.status("ORDER_BULIDING") is MAIN.status("ORDER_BUILDING") is MAIN.status(12)
    assert MAIN.status("BULIDING").code == 12
    assert MAIN.status("TRADE_CLOSED").name == "CANCEL"


@given(
    st.one_of(
        st.integers().filter(lambda i: i not in {0, 1, 2, 3, 4, 5, 9, 10, 11, 12}),
        st.text().filter(lambda s: s not in MAIN._lookup),
        st.booleans(),
        st.floats(),
        st.none(),
        st.lists(st.integers(), max_size=2),
    )
)
def test_anything_else_is_unknown_status_listing_valid_values(value: object) -> None:
    with pytest.raises(orderfsm.UnknownStatus) as info:
        MAIN.status(value)  # type: ignore[arg-type]
    assert "WAIT_BUYER_P" in str(info.value) and "ORDER_BULIDING" in str(info.value)
    with pytest.raises(orderfsm.UnknownStatus):
        MAIN.successors(value)  # type: ignore[arg-type]


def test_successors_events_and_has_edge_agree_with_edges() -> None:
    for machine in (MAIN, REFUND):
        for state in machine.states:
            edges = [e for e in machine.edges if e.src == state.name]
            assert {s.name for s in machine.successors(state)} == {e.dst for e in edges}
            assert set(machine.events(state)) == {e.event for e in edges}
            for other in machine.states:
                assert machine.has_edge(state, other) == any(e.dst == other.name for e in edges)


def test_queries_by_example() -> None:
    assert [s.code for s in MAIN.successors(1)] == [2, 3, 5, 4]
    assert MAIN.events("ORDER_PAY_STATUS") == (
        "finance_approve",
        "finance_approve_and_pay",
        "finance_refuse",
        "cancel",
    )
    assert not MAIN.has_edge(2, 4) and MAIN.has_edge(5, 4)
    assert [s.code for s in REFUND.successors(10)] == [20, -10, -20]


def test_compiled_machine_is_immutable_and_shared() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        MAIN.table = None  # type: ignore[misc]
    with pytest.raises(TypeError):
        MAIN._lookup[99] = MAIN.initial  # type: ignore[index]
    assert orderfsm.load("taobao_order") is MAIN


def test_creating_orders_never_compiles(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("an order rebuilt a machine")

    monkeypatch.setattr(compile_module, "compile_table", refuse)
    orders = [orderfsm.TaobaoOrder(sub_orders={i: 0}) for i in range(50)]
    assert all(o.machine is MAIN and o.refund_machine is REFUND for o in orders)


def test_pure_transition_stores_nothing() -> None:
    step = MAIN.transition(0, "upload_payment_proof")
    assert (step.source.code, step.target.code, step.actor) == (0, 1, "buyer")
    assert MAIN.transition(0, "upload_payment_proof") == step


def test_order_defaults() -> None:
    order = orderfsm.TaobaoOrder(sub_orders=["x", "y"])
    assert order.status.name == "ORDER_BULIDING"
    assert {s.name for s in order.sub_orders.values()} == {"NOT_APPLY_FOR_REFUND"}
