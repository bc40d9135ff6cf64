"""Statuses compare like their codes; machines hold their statuses and ask two named
questions; orders run on edited machines that are checked; ids are typed str | int."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm import InvalidOrderState, State, StatusComparisonError, TableError

MACHINES = [orderfsm.load(name) for name in orderfsm.MACHINES]
STATES = [(m.name, s) for m in MACHINES for s in m.states]
ROOT = Path(__file__).resolve().parents[1]


def shipped(name: str) -> dict[str, Any]:
    text = (resources.files("orderfsm") / "data" / "tables" / f"{name}.toml").read_text("utf-8")
    return tomllib.loads(text)


# ---------------------------------------------------------------- 9: status comparisons


def test_a_status_equals_its_platform_code() -> None:
    assert orderfsm.TaobaoOrder(status="WAIT_SELLER_SEND_GOODS").status == 10
    assert orderfsm.IcbuOrder(status="unpay").status == "unpay"
    code = 10
    assert code == orderfsm.TaobaoOrder(status=10).status  # reflected: int.__eq__ defers
    assert orderfsm.TaobaoOrder(status=10).status != 11
    assert orderfsm.KaTrade({"o": ["s"]}).status == orderfsm.KaTrade({"o": ["s"]}).status.code


@pytest.mark.parametrize(("machine", "state"), STATES, ids=[f"{m}:{s}" for m, s in STATES])
def test_every_status_hashes_and_compares_like_its_code(machine: str, state: State) -> None:
    code = state.code
    assert state == code and code == state and (state != code) is False
    assert hash(state) == hash(code)
    assert state in {code} and code in {state} and {state: 1}[code] == 1
    assert state.matches(code) and all(state.matches(s) for s in state.spellings)
    for other in state.spellings:
        if other != code:  # another spelling of the same status: loud, never a silent False
            with pytest.raises(StatusComparisonError, match=repr(code)) as info:
                _ = state == other
            assert (info.value.status, info.value.code, info.value.value) == (
                str(state),
                code,
                other,
            )
            assert isinstance(info.value, TypeError)


@given(
    st.sampled_from([s for _, s in STATES]),
    st.one_of(
        st.integers(-30, 30),
        st.sampled_from([v for _, s in STATES for v in s.spellings]),
        st.text(max_size=8),
        st.booleans(),
        st.floats(),
        st.none(),
    ),
)
def test_equality_is_the_code_or_a_loud_spelling_or_false(state: State, value: object) -> None:
    if value == state.code and not isinstance(value, bool | float):
        assert state == value and hash(state) == hash(value)
    elif isinstance(value, int | str) and not isinstance(value, bool) and value in state.spellings:
        with pytest.raises(StatusComparisonError):
            _ = state == value
    else:
        assert state != value and not state.matches(value)


def test_statuses_of_different_machines_with_one_code_stay_apart() -> None:
    main, refund = orderfsm.load("taobao_order").status(0), orderfsm.load("taobao_refund").status(0)
    assert main == 0 and refund == 0 and main != refund and len({main, refund}) == 2
    assert main == orderfsm.load("taobao_order").status("WAIT_BUYER_P")


# ---------------------------------------------------------------- 12: the two stateless questions


def test_the_matrix_cell_and_the_event_question_have_different_names() -> None:
    m = orderfsm.load("taobao_order")
    assert not hasattr(m, "can")
    assert m.has_edge(5, "CANCEL")  # the matrix cell 5 -> 4 exists (the platform may close)...
    assert not m.allows(5, "cancel")  # ...but a buyer's cancel in 5 is payment-locked
    with pytest.raises(orderfsm.PaymentLocked):
        m.transition(5, "cancel")
    assert "cancel" not in m.enabled(5)


@pytest.mark.parametrize("m", MACHINES, ids=[m.name for m in MACHINES])
def test_an_allowed_event_always_takes_a_matrix_edge(m: orderfsm.CompiledMachine) -> None:
    for parent, variables in m.contexts():
        for state in m.states:
            for event in m.enabled(state, parent=parent, variables=variables):
                step = m.transition(state, event, parent=parent, variables=variables)
                assert m.has_edge(state, step.target)


# ---------------------------------------------------------------- 14: a machine holds its statuses


@pytest.mark.parametrize("m", MACHINES, ids=[m.name for m in MACHINES])
def test_a_machine_is_the_container_of_its_statuses(m: orderfsm.CompiledMachine) -> None:
    assert len(m) == len(m.states) and list(m) == list(m.states)
    for state in m:
        assert state in m and all(spelling in m for spelling in state.spellings)
    for other in MACHINES:
        if other is not m:
            assert not any(s in m for s in other.states)


@given(
    st.one_of(
        st.integers(),
        st.text(),
        st.booleans(),
        st.floats(),
        st.none(),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
    )
)
def test_anything_unknown_is_not_in_a_machine_and_never_raises(value: object) -> None:
    for m in MACHINES:
        spellings = {spelling for s in m.states for spelling in s.spellings}
        known = isinstance(value, int | str) and not isinstance(value, bool) and value in spellings
        assert (value in m) == known


# ---------------------------------------------------------------- 11: machine= on every order


def test_taobao_order_runs_on_an_edited_table_with_the_refund_rules_under_it() -> None:
    table = shipped("taobao_order")
    for state in table["states"]:
        if state["code"] == 10:  # the edit: no refunds while waiting for shipment
            state["tags"] = [t for t in state["tags"] if t != "refund_allowed"]
    edited = orderfsm.load(table)
    order = orderfsm.TaobaoOrder(
        status=10, sub_orders=["s"], sub_order_statuses={"s": 11}, machine=edited
    )
    assert order.machine is edited and order.refund_machine.parent is edited
    assert orderfsm.TaobaoOrder(machine=edited).refund_machine is order.refund_machine
    with pytest.raises(orderfsm.RefundNotAllowed):
        order.trigger("apply_refund", sub_order="s")
    own = {"s": 11}  # the sub-order itself has shipped
    assert orderfsm.TaobaoOrder(status=10, sub_orders=["s"], sub_order_statuses=own).can(
        "apply_refund", sub_order="s"
    )
    order.trigger("ship")
    restored = orderfsm.TaobaoOrder.from_dict(order.to_dict(), machine=edited)
    assert restored.to_dict() == order.to_dict() and restored.machine is edited


def test_taobao_refund_machine_must_run_under_the_orders_machine() -> None:
    edited = orderfsm.load(shipped("taobao_order"))
    with pytest.raises(TableError, match=r"machine\.parent.*refund\.under\(machine\)"):
        orderfsm.TaobaoOrder(machine=edited, refund_machine=orderfsm.load("taobao_refund"))
    under = orderfsm.load("taobao_refund").under(edited)
    with pytest.raises(TableError, match="taobao_refund runs under a taobao_order machine, not"):
        orderfsm.load("taobao_refund").under(orderfsm.load("icbu_trade"))
    assert orderfsm.TaobaoOrder(machine=edited, refund_machine=under).refund_machine is under
    with pytest.raises(TableError, match="needs a sub-order machine"):
        orderfsm.TaobaoOrder(refund_machine=orderfsm.load("taobao_order"))
    with pytest.raises(TableError, match="needs an order-level machine; taobao_refund"):
        orderfsm.TaobaoOrder(machine=orderfsm.load("taobao_refund"))


def test_taobao_refund_events_must_not_share_a_name_with_order_events() -> None:
    table = shipped("taobao_refund")
    table["events"]["ship"] = table["events"].pop("apply_refund")
    for t in table["transitions"]:
        t["event"] = "ship" if t["event"] == "apply_refund" else t["event"]
    with pytest.raises(TableError, match=r"events: .*ship is in both machines"):
        orderfsm.TaobaoOrder(refund_machine=orderfsm.load(table))


def test_icbu_order_runs_on_an_edited_table_that_has_what_it_needs() -> None:
    table = shipped("icbu_trade")
    table["machine"]["title"] = "edited"
    edited = orderfsm.load(table)
    order = orderfsm.IcbuOrder(status="unpay", pay_step="ADVANCE", machine=edited)
    assert order.machine is edited and order.machine.table.title == "edited"
    assert orderfsm.IcbuOrder.from_dict(order.to_dict(), machine=edited).machine is edited
    with pytest.raises(
        TableError, match="needs the variable 'pay_step'; taobao_order declares: none"
    ):
        orderfsm.IcbuOrder(machine=orderfsm.load("taobao_order"))
    for state in table["states"]:
        state["tags"] = [t for t in state.get("tags", []) if t != "must_intercept"]
    with pytest.raises(TableError, match="needs a status tagged 'must_intercept'") as info:
        orderfsm.IcbuOrder(machine=orderfsm.load(table))
    assert info.value.entry == "states"
    with pytest.raises(InvalidOrderState, match="expected a compiled machine"):
        orderfsm.IcbuOrder(machine="icbu_trade")  # type: ignore[arg-type]


def test_ka_trade_needs_an_order_level_machine() -> None:
    with pytest.raises(TableError, match="KaTrade needs an order-level machine"):
        orderfsm.KaTrade({"o": ["s"]}, machine=orderfsm.load("taobao_refund"))


# ---------------------------------------------------------------- 13: ids are str | int


@pytest.mark.parametrize(
    ("sub_orders", "problem"),
    [
        ({(1, 2): 0}, "is not a str or an int"),
        ({True: 0}, "is not a str or an int"),
        ({7: 0, "7": 0}, "cannot be told apart"),
        (["a", "b", "a"], "'a' is given twice"),
    ],
)
def test_sub_order_ids_are_validated(sub_orders: Any, problem: str) -> None:
    with pytest.raises(InvalidOrderState, match=problem):
        orderfsm.TaobaoOrder(sub_orders=sub_orders)
    with pytest.raises(InvalidOrderState, match=problem):
        orderfsm.KaTrade({"o": sub_orders})


def test_ka_order_ids_are_validated_like_sub_order_ids() -> None:
    with pytest.raises(InvalidOrderState, match=r"orders: ids 7 and '7' cannot be told apart"):
        orderfsm.KaTrade({7: ["a"], "7": ["b"]})
    with pytest.raises(InvalidOrderState, match="is not a str or an int"):
        orderfsm.KaTrade({("o", 1): ["a"]})


def test_ordinary_ids_type_check_under_mypy_strict(tmp_path: Path) -> None:
    program = tmp_path / "service.py"
    program.write_text(
        textwrap.dedent(
            """
            import orderfsm

            order = orderfsm.TaobaoOrder(status=11, sub_orders={"1001": 0, "1002": 0})
            order.trigger("apply_refund", sub_order="1001")
            first: orderfsm.SubOrderId = sorted(order.sub_orders)[0]
            refunds = {sid: order.refund_status(sid).code for sid in sorted(order.sub_orders)}
            trade = orderfsm.KaTrade({"o1": ["s1"], 2: {3: None}})
            view = trade.order(2)
            ids: list[str | int] = sorted(trade.orders) + sorted(view.sub_orders)
            """
        ),
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(program)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
