"""The format extensions the ICBU table needs: ``set`` on transitions, ``customer_text_by``.

Both are validated against the table's declared ``[variables]``; every problem is a
TableError naming the entry (docs/table-format.md).
"""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from typing import Any

import pytest

import orderfsm
from orderfsm.model.guards import HISTORY_GUARD

INFERRED = {"kind": "inferred", "basis": "test table"}


def table() -> dict[str, Any]:
    return {
        "machine": {"name": "t", "initial": "due", "code_type": "str"},
        "variables": {"step": {"values": ["FIRST", "SECOND"], "default": "FIRST"}},
        "states": [
            {
                "code": "due",
                "name": "due",
                "phase": "payment",
                "description": "d",
                "customer_text": "Pay",
                "customer_text_by": {
                    "step": {"FIRST": "Pay the first part", "SECOND": "Pay the rest"}
                },
                "provenance": INFERRED,
            },
            {
                "code": "paid",
                "name": "paid",
                "phase": "payment",
                "description": "p",
                "customer_text": "Paid",
                "provenance": INFERRED,
            },
        ],
        "events": {"pay": {"description": "pay"}, "again": {"description": "again"}},
        "transitions": [
            {"src": "due", "dst": "paid", "event": "pay", "actor": "buyer", "provenance": INFERRED},
            {
                "src": "paid",
                "dst": "due",
                "event": "again",
                "actor": "platform",
                "set": {"step": "SECOND"},
                "provenance": INFERRED,
            },
        ],
    }


def test_set_and_texts_by_variable_work() -> None:
    m = orderfsm.load(table())
    due = m.status("due")
    assert due.text_for({"step": "FIRST"}) == "Pay the first part"
    assert due.text_for({"step": "SECOND"}) == "Pay the rest"
    assert m.status("paid").text_for({"step": "SECOND"}) == "Paid"
    step = m.transition("paid", "again", variables={"step": "FIRST"})
    assert step.transition.apply({"step": "FIRST"}) == {"step": "SECOND"}
    assert m.variables() == {"step": "FIRST"}


def mutated(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(table())
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "entry", "problem"),
    [
        (
            ("transitions", 1, "set"),
            {"stage": "SECOND"},
            "transitions[1]",
            "'stage' is not a declared variable",
        ),
        (
            ("transitions", 1, "set"),
            {"step": "THIRD"},
            "transitions[1]",
            "'THIRD' is not a value of step",
        ),
        (("transitions", 1, "set"), {"step": 2}, "transitions[1]", "2 is not a value of step"),
        (
            ("transitions", 1, "set"),
            "SECOND",
            "transitions[1]",
            "expected a table of declared variables",
        ),
        (("transitions", 1, "set"), {}, "transitions[1]", "expected a table of declared variables"),
        (
            ("states", 0, "customer_text_by"),
            {"step": {"FIRST": "x"}},
            "states[0] (due)",
            "no text for step = 'SECOND'",
        ),
        (
            ("states", 0, "customer_text_by"),
            {"step": {"FIRST": "x", "SECOND": "y", "THIRD": "z"}},
            "states[0] (due)",
            "'THIRD' is not a value of step",
        ),
        (
            ("states", 0, "customer_text_by"),
            {"stage": {"FIRST": "x"}},
            "states[0] (due)",
            "'stage' is not a declared variable",
        ),
        (
            ("states", 0, "customer_text_by"),
            {"step": {"FIRST": 1, "SECOND": "y"}},
            "states[0] (due)",
            "step.FIRST: expected a string",
        ),
        (
            ("states", 0, "customer_text_by"),
            {"step": "x"},
            "states[0] (due)",
            "expected a table of texts by value",
        ),
        (
            ("states", 0, "customer_text_by"),
            {},
            "states[0] (due)",
            "expected one declared variable",
        ),
    ],
)
def test_bad_extension_entries_name_entry_and_problem(
    path: tuple[Any, ...], value: Any, entry: str, problem: str
) -> None:
    with pytest.raises(orderfsm.TableError) as caught:
        orderfsm.load(mutated(path, value))
    assert caught.value.entry.startswith(entry)
    assert problem in caught.value.problem


def test_set_without_declared_variables_says_how_to_declare_them() -> None:
    data = table()
    del data["variables"]
    del data["states"][0]["customer_text_by"]
    with pytest.raises(orderfsm.TableError, match=r"add a \[variables.NAME\] table"):
        orderfsm.load(data)


def test_a_history_state_never_remembers_itself() -> None:
    """A self-loop on ICBU `frozen` gives no edge back to `frozen`, so an order in `frozen`
    cannot remember `frozen`: history_sources agrees with how history edges expand."""
    text = (resources.files("orderfsm") / "data" / "tables" / "icbu_trade.toml").read_text()
    data = tomllib.loads(text)
    data["transitions"].append(
        {
            "src": "frozen",
            "dst": "frozen",
            "event": "open_refund",
            "actor": "buyer",
            "provenance": INFERRED,
        }
    )
    machine = orderfsm.load(data)
    assert machine.status("frozen") not in machine.history_sources("frozen")
    returns = {t.dst for t in machine.transitions_from("frozen") if HISTORY_GUARD in t.guards}
    assert {s.name for s in machine.history_sources("frozen")} == returns
    with pytest.raises(orderfsm.InvalidOrderState):
        machine.check_remembered("frozen", "frozen")
