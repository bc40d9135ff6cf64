"""Structural lint: every rule fires on a table built to break it, and the shipped tables are clean."""

from typing import Any

import pytest

import orderfsm
from orderfsm.check.lint import lint

DOC = {"kind": "inferred", "basis": "lint test"}


def state(code: int, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "phase": "p",
        "description": name,
        "customer_text": name,
        "provenance": DOC,
        **extra,
    }


def edge(src: str, dst: str, event: str = "go", **extra: Any) -> dict[str, Any]:
    return {"src": src, "dst": dst, "event": event, "actor": "platform", "provenance": DOC, **extra}


def table(
    states: list[dict[str, Any]],
    transitions: list[dict[str, Any]],
    events: dict[str, Any] | None = None,
    parent: str | None = None,
) -> dict[str, Any]:
    machine: dict[str, Any] = {"name": "lint_case", "initial": states[0]["name"]}
    if parent:
        machine["parent"] = parent
    return {
        "machine": machine,
        "states": states,
        "transitions": transitions,
        "events": events or {"go": {"description": "go"}},
    }


def rules(data: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f.level, f.rule) for f in lint(orderfsm.load(data))}


def test_clean_table_has_no_findings() -> None:
    data = table([state(0, "A"), state(1, "B", final=True)], [edge("A", "B")])
    assert rules(data) == set()


def test_unreachable_state() -> None:
    data = table(
        [state(0, "A"), state(1, "B", final=True), state(2, "C", final=True)], [edge("A", "B")]
    )
    assert ("error", "unreachable") in rules(data)


def test_no_way_to_a_final_state() -> None:
    data = table(
        [state(0, "A"), state(1, "B"), state(2, "Z", final=True)],
        [edge("A", "B"), edge("B", "A", "back"), edge("A", "Z", "end")],
        events={
            "go": {"description": "go"},
            "back": {"description": "b"},
            "end": {"description": "e"},
        },
    )
    assert rules(data) == set()
    data["transitions"].pop()  # now nothing reaches Z
    found = rules(data)
    assert ("error", "no_way_to_final") in found and ("error", "unreachable") in found


def test_final_with_outgoing_transition() -> None:
    data = table([state(0, "A"), state(1, "B", final=True)], [edge("A", "B"), edge("B", "A", "go")])
    assert ("error", "final_with_transitions") in rules(data)


def test_same_source_and_event_without_a_telling_guard() -> None:
    data = table(
        [state(0, "A"), state(1, "B", final=True), state(2, "C", final=True)],
        [edge("A", "B"), edge("A", "C")],
    )
    assert ("error", "ambiguous_event") in rules(data)
    data["transitions"][0]["guards"] = ["payment_lock"]
    assert ("error", "ambiguous_event") not in rules(data)


def test_event_never_enabled() -> None:
    data = table(
        [state(0, "A"), state(1, "B", final=True)],
        [edge("A", "B")],
        events={"go": {"description": "go"}, "idle": {"description": "never used"}},
    )
    assert ("warning", "event_never_enabled") in rules(data)


def test_guard_that_can_never_pass() -> None:
    # payment_lock refuses in a payment_locked status: on an edge leaving one, it never passes.
    data = table(
        [state(0, "A", tags=["payment_locked"]), state(1, "B", final=True)],
        [edge("A", "B", guards=["payment_lock"])],
    )
    found = rules(data)
    assert ("error", "guard_never_passes") in found
    assert ("warning", "event_never_enabled") in found


def test_parent_guard_is_tried_with_every_parent_status() -> None:
    data = table(
        [state(0, "A"), state(1, "B", final=True)],
        [edge("A", "B", guards=["main_order_allows_refund"])],
        parent="taobao_order",
    )
    assert rules(data) == set()  # the main order can be in 10 or 11


def test_quarantine_state_must_stand_apart() -> None:
    data = table(
        [state(0, "A"), state(1, "B", final=True), state(9, "Q", quarantine=True)], [edge("A", "B")]
    )
    assert rules(data) == set()
    data["transitions"].append(edge("A", "Q", "go_q"))
    data["events"]["go_q"] = {"description": "q"}
    assert ("error", "quarantine_with_transitions") in rules(data)


@pytest.mark.parametrize("name", orderfsm.MACHINES)
def test_shipped_tables_have_no_lint_errors(name: str) -> None:
    errors = [f for f in lint(orderfsm.load(name)) if f.level == "error"]
    assert errors == []
