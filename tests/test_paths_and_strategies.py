"""Model-based paths and the public hypothesis strategies (orderfsm.testing), on every machine."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.paths import replay, shortest_paths, transition_cover
from orderfsm.testing import histories, histories_with_illegal_step, taobao_orders

MACHINES = [orderfsm.load(name) for name in orderfsm.MACHINES]
IDS = [m.name for m in MACHINES]


@pytest.mark.parametrize("machine", MACHINES, ids=IDS)
def test_transition_cover_takes_every_edge_and_replays(machine: orderfsm.CompiledMachine) -> None:
    cover = transition_cover(machine)
    taken = {step.transition for path in cover for step in path}
    assert taken == set(machine.edges)
    assert len(cover) <= len(machine.edges)
    for path in cover:
        states = replay(machine, path)
        assert states[0] == machine.initial
        assert [s.name for s in states[1:]] == [step.target.name for step in path]


@pytest.mark.parametrize("machine", MACHINES, ids=IDS)
def test_shortest_paths_reach_every_non_quarantine_status(
    machine: orderfsm.CompiledMachine,
) -> None:
    paths = shortest_paths(machine)
    assert set(paths) == {s.name for s in machine.states if not s.quarantine}
    for name, path in paths.items():
        assert replay(machine, path)[-1].name == name
    # no executable path found any other way reaches a status in fewer steps
    for cover_path in transition_cover(machine):
        for length, step in enumerate(cover_path, start=1):
            assert len(paths[step.target.name]) <= length, (step.target.name, cover_path)


@pytest.mark.parametrize("machine", MACHINES, ids=IDS)
@given(data=st.data())
def test_generated_histories_replay_cleanly(
    machine: orderfsm.CompiledMachine, data: st.DataObject
) -> None:
    history = data.draw(histories(machine))
    assert replay(machine, history.steps)[1:] == list(history.statuses[1:])


@pytest.mark.parametrize("machine", MACHINES, ids=IDS)
@given(data=st.data())
def test_injected_illegal_step_is_caught_where_injected(
    machine: orderfsm.CompiledMachine, data: st.DataObject
) -> None:
    bad = data.draw(histories_with_illegal_step(machine))
    before, after = bad.history.steps[: bad.position], bad.history.steps[bad.position :]
    reached = replay(machine, before)[-1] if before else bad.history.start.status
    assert reached == bad.status_at_injection
    assert bad.events[bad.position] == bad.illegal_event
    parents = list(machine.parent.states) if machine.parent else [None]
    for parent in parents:  # refused whatever the enclosing order's status
        with pytest.raises(orderfsm.TransitionRejected):
            machine.transition(
                reached,
                bad.illegal_event,
                parent=parent,
                variables=bad.config.variables,
                history=bad.config.history,
            )
    if after:  # a refused event changed nothing, so the rest still replays from here
        assert after[0].source == reached
        assert replay(machine, after)[-1] == bad.history.statuses[-1]


@given(taobao_orders())
def test_random_orders_are_reachable_and_consistent(order: orderfsm.TaobaoOrder) -> None:
    main = order.machine
    assert order.status.name in shortest_paths(main)
    for refund in order.sub_orders.values():
        if refund.code != 0:  # a refund exists only if the main order reached the refund window
            assert "refund_allowed" in order.status.tags or order.status.final
