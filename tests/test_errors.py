"""Bad input gets its specific error; rejected events change nothing; tables are validated."""

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm import TableError

TABLE_TEXT = (resources.files("orderfsm") / "data" / "tables" / "taobao_order.toml").read_text(
    "utf-8"
)


def table() -> dict[str, Any]:
    return tomllib.loads(TABLE_TEXT)


def test_error_hierarchy() -> None:
    for exc in (
        orderfsm.UnknownStatus,
        orderfsm.UnknownEvent,
        orderfsm.TransitionRejected,
        orderfsm.TableError,
        orderfsm.UnknownSubOrder,
        orderfsm.UnknownMachine,
    ):
        assert issubclass(exc, orderfsm.OrderFsmError)
    for exc in (orderfsm.PaymentLocked, orderfsm.RefundNotAllowed, orderfsm.IllegalTransition):
        assert issubclass(exc, orderfsm.TransitionRejected)


def test_unknown_event_lists_events() -> None:
    order = orderfsm.TaobaoOrder()
    with pytest.raises(orderfsm.UnknownEvent, match="upload_payment_proof"):
        order.trigger("pay_now")
    with pytest.raises(orderfsm.UnknownEvent):
        order.can("pay_now")


def test_main_event_on_a_sub_order_is_unknown_there() -> None:
    order = orderfsm.TaobaoOrder(status=10, sub_orders={"s": 0})
    with pytest.raises(orderfsm.UnknownEvent, match="main-order event"):
        order.trigger("ship", sub_order="s")
    assert order.status.code == 10


def test_unknown_sub_order() -> None:
    order = orderfsm.TaobaoOrder(status=10, sub_orders={"s": 0})
    with pytest.raises(orderfsm.UnknownSubOrder, match=r"'nope'.*'s'"):
        order.trigger("apply_refund", sub_order="nope")
    with pytest.raises(orderfsm.UnknownSubOrder):
        order.refund_status("nope")


def test_illegal_transition_explains_itself() -> None:
    order = orderfsm.TaobaoOrder(status=0)
    with pytest.raises(orderfsm.IllegalTransition) as info:
        order.trigger("ship")
    assert info.value.allowed == ("upload_payment_proof", "cancel")
    assert "Main Order Status Transitions" in str(info.value)
    assert order.status.code == 0


def test_unknown_status_in_constructor() -> None:
    with pytest.raises(orderfsm.UnknownStatus):
        orderfsm.TaobaoOrder(status=7)
    with pytest.raises(orderfsm.UnknownStatus):
        orderfsm.TaobaoOrder(sub_orders={"s": 7})


def test_unknown_machine_name() -> None:
    with pytest.raises(orderfsm.UnknownMachine, match="taobao_order"):
        orderfsm.load("tabao_order")


# ---------------------------------------------------------------- malformed tables


def mutated(edit: Any) -> dict[str, Any]:
    data = table()
    edit(data)
    return data


BAD_TABLES = {
    "unknown top key": (lambda d: d.update(extra=1), "<top>", "unknown key 'extra'"),
    "unknown state key": (
        lambda d: d["states"][0].update(colour="red"),
        "states[0]",
        "unknown key 'colour'",
    ),
    "duplicate code": (lambda d: d["states"][1].update(code=12), "states[1]", "duplicate code 12"),
    "duplicate name": (
        lambda d: d["states"][1].update(name="ORDER_BULIDING"),
        "states[1]",
        "duplicate name",
    ),
    "wrong code type": (
        lambda d: d["states"][0].update(code="12"),
        "states[0].code",
        "expected an integer",
    ),
    "boolean code": (lambda d: d["states"][0].update(code=True), "states[0].code", "boolean"),
    "wrong final type": (
        lambda d: d["states"][0].update(final="yes"),
        "final",
        "expected a boolean",
    ),
    "undeclared dst": (
        lambda d: d["transitions"][0].update(dst=77),
        "transitions[0].dst",
        "77 is not a declared state",
    ),
    "undeclared src": (
        lambda d: d["transitions"][0].update(src="NOPE"),
        "transitions[0].src",
        "'NOPE' is not a declared state",
    ),
    "undeclared event": (
        lambda d: d["transitions"][0].update(event="teleport"),
        "event",
        "not declared",
    ),
    "unknown guard": (
        lambda d: d["transitions"][0].update(guards=["os.system"]),
        "guards",
        "unknown guard 'os.system'",
    ),
    "unknown event guard": (
        lambda d: d["events"]["cancel"].update(guards=["builtins.eval"]),
        "events.cancel.guards",
        "unknown guard",
    ),
    "unknown actor": (
        lambda d: d["transitions"][0].update(actor="robot"),
        "actor",
        "unknown actor 'robot'",
    ),
    "missing provenance": (
        lambda d: d["transitions"][0].pop("provenance"),
        "provenance",
        "missing required key",
    ),
    "inferred without basis": (
        lambda d: d["transitions"][0].update(provenance={"kind": "inferred"}),
        "basis",
        "reasoning",
    ),
    "documented without source": (
        lambda d: d["transitions"][0].update(provenance={"kind": "documented"}),
        "sources",
        "cite",
    ),
    "duplicate transition": (
        lambda d: d["transitions"].append(copy.deepcopy(d["transitions"][0])),
        "transitions[15]",
        "duplicate transition",
    ),
    "ambiguous raw": (
        lambda d: d["states"][1].update(raw="BULIDING"),
        "states[1]",
        "already names state",
    ),
    "bad initial": (
        lambda d: d["machine"].update(initial="NOWHERE"),
        "machine.initial",
        "not a declared state",
    ),
    "decision to unknown state": (
        lambda d: d["decisions"][0].update(transitions=[[12, 99]]),
        "decisions[0]",
        "99 is not a declared state",
    ),
    "states not a list": (lambda d: d.update(states={"a": 1}), "states", "expected a list"),
}


@pytest.mark.parametrize("case", sorted(BAD_TABLES))
def test_malformed_table_names_entry_and_problem(case: str) -> None:
    edit, entry, problem = BAD_TABLES[case]
    with pytest.raises(TableError) as info:
        orderfsm.load(mutated(edit))
    assert entry in info.value.entry, info.value
    assert problem in info.value.problem, info.value
    assert info.value.file == "<mapping>"


def test_malformed_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "mine.toml"
    bad.write_text(TABLE_TEXT.replace('actor = "seller"', 'actor = "robot"'), encoding="utf-8")
    with pytest.raises(TableError, match=r"mine\.toml: transitions\[14\].*unknown actor"):
        orderfsm.load(bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("[machine\nname=", encoding="utf-8")
    with pytest.raises(TableError, match=r"broken\.toml: <file>: not valid TOML"):
        orderfsm.load(broken)
    with pytest.raises(TableError, match="cannot read"):
        orderfsm.load(tmp_path / "missing.toml")


def test_a_valid_file_from_elsewhere_loads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "copy.toml"
    path.write_text(TABLE_TEXT, encoding="utf-8")
    copy_machine = orderfsm.load(path)
    assert copy_machine.table.states == orderfsm.load("taobao_order").table.states
    assert copy_machine is not orderfsm.load("taobao_order")


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    path=st.lists(
        st.sampled_from(["machine", "states", "events", "transitions", "decisions"]),
        min_size=1,
        max_size=1,
    ),
    index=st.integers(0, 20),
    key=st.text(max_size=8),
    value=JSONISH,
)
def test_fuzzed_tables_raise_only_table_errors(
    path: list[str], index: int, key: str, value: object
) -> None:
    data = table()
    target = data[path[0]]
    if isinstance(target, list):
        target = target[index % len(target)]
    if isinstance(target, dict):
        target[key or "name"] = value
    try:
        orderfsm.load(data)
    except TableError as exc:
        assert exc.file == "<mapping>" and exc.entry and exc.problem
