"""The compiled index against the reference: the ``transitions`` engine built from each table.

Hypothesis drives both with the same event sequences on every shipped machine, from any
status, with any parent status, variables and remembered history status, and requires
the same accepts, the same targets and the same rejection types and messages.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.errors import IllegalTransition, OrderFsmError, TransitionRejected
from orderfsm.model.compile import CompiledMachine, Step

MACHINES = {name: orderfsm.load(name) for name in orderfsm.MACHINES}


def outcome(run: Any, *args: Any, **kwargs: Any) -> tuple[str, object, str]:
    try:
        step: Step = run(*args, **kwargs)
    except TransitionRejected as exc:
        return ("refused", type(exc), str(exc))
    return ("accepted", step.target, step.transition.event)


@st.composite
def walks(draw: st.DrawFn, m: CompiledMachine) -> dict[str, Any]:
    """A start (status, variables, history, parent) and events, any of them, to fire."""
    parent_states = m.parent.states if m.parent else (None,)
    return {
        "status": draw(st.sampled_from(m.states)),
        "variables": {v.name: draw(st.sampled_from(v.values)) for v in m.table.variables},
        "history": draw(st.sampled_from((None, *m.states))),
        "steps": draw(
            st.lists(
                st.tuples(st.sampled_from(m.event_names), st.sampled_from(parent_states)),
                max_size=12,
            )
        ),
    }


@pytest.mark.parametrize("name", sorted(MACHINES))
@given(data=st.data())
def test_index_and_engine_agree(name: str, data: st.DataObject) -> None:
    m = MACHINES[name]
    walk = data.draw(walks(m))
    status, variables, history = walk["status"], walk["variables"], walk["history"]
    for event, parent in walk["steps"]:
        kwargs = {"parent": parent, "variables": variables, "history": history}
        fast = outcome(m.transition, status, event, **kwargs)
        reference = outcome(m.engine_transition, status, event, **kwargs)
        assert fast == reference, (status, event, kwargs)
        assert m.allows(status, event, **kwargs) == (fast[0] == "accepted")
        if fast[0] == "accepted":
            step = m.transition(status, event, **kwargs)
            variables = step.transition.apply(variables)
            history = m.remembered_after(step, history)
            status = step.target


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_a_verified_machine_runs_both_and_agrees(name: str) -> None:
    m = orderfsm.load(name, verify=True)
    assert m.verify and m is orderfsm.load(name, verify=True)
    assert m is not MACHINES[name]
    for s in m.states:
        for e in m.event_names:
            assert m.allows(s, e) == MACHINES[name].allows(s, e)


def _final_with_an_edge() -> dict[str, Any]:
    inferred = {"kind": "inferred", "basis": "test"}
    state = {"phase": "p", "description": "d", "customer_text": "t", "provenance": inferred}
    return {
        "machine": {"name": "odd", "initial": 0},
        "states": [
            {**state, "code": 0, "name": "A"},
            {**state, "code": 1, "name": "B", "final": True},
        ],
        "events": {"go": {"description": "go"}},
        "transitions": [
            {"src": 0, "dst": 1, "event": "go", "actor": "buyer", "provenance": inferred},
            {"src": 1, "dst": 0, "event": "go", "actor": "buyer", "provenance": inferred},
        ],
    }


def test_verify_reports_a_disagreement() -> None:
    """A final status with an edge (a lint error): the index refuses, the engine fires it."""
    plain = orderfsm.load(_final_with_an_edge())
    with pytest.raises(TransitionRejected):
        plain.transition("B", "go")
    assert plain.engine_transition("B", "go").target.name == "A"
    verified = orderfsm.load(_final_with_an_edge(), verify=True)
    assert verified.transition("A", "go").target.name == "B"
    with pytest.raises(OrderFsmError, match="index and the transitions engine disagree"):
        verified.transition("B", "go")
    with pytest.raises(OrderFsmError, match="disagree"):
        verified.allows("B", "go")


def test_an_event_no_edge_uses_is_refused_by_both() -> None:
    data = _final_with_an_edge()
    data["events"]["unused"] = {"description": "declared, never used"}
    m = orderfsm.load(data, verify=True)
    for run in (m.transition, m.engine_transition):
        with pytest.raises(IllegalTransition):
            run("A", "unused")
    assert not m.allows("A", "unused")


def test_the_hot_path_never_fires_the_engine() -> None:
    """Steps and queries on a fresh machine leave its reference engine unbuilt."""
    m = orderfsm.load(_final_with_an_edge())
    m.transition("A", "go")
    m.allows("B", "go")
    m.enabled("A")
    assert m._reference._engine is None
    m.engine_transition("A", "go")
    assert m._reference._engine is not None


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_steps_are_resolved_once_and_shared(name: str) -> None:
    """Every step is built at compile time: the same edge returns the same frozen Step,
    with or without a context, and it equals what the engine computes."""
    m = MACHINES[name]
    for t in m.edges:
        if t.guards or m.event(t.event).guards or m.status(t.src).final:
            continue
        first = m.transitions_from(t.src)
        if next(e for e in first if e.event == t.event) is not t:
            continue  # another edge is tried first for this event
        step = m.transition(t.src, t.event)
        assert step is m.transition(m.status(t.src).code, t.event)
        assert step == m.engine_transition(t.src, t.event)
        assert (step.source.name, step.target.name, step.transition) == (t.src, t.dst, t)
