"""An order records each change as a row and decodes its history only when it is read
(issue 22): the history read is the one an eager order would have built, whatever
mixes triggers, snapshots, times, reads, copies and restoring in between; and the
order's own decisions, taken once per status and event, are the pure core's."""

from __future__ import annotations

import contextlib
import copy
import json
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.orders.history import Change
from test_stored_validation import REFUND, SUB_IDS, taobao_snapshots

MAIN = orderfsm.load("taobao_order")

operations = st.lists(
    st.one_of(
        st.tuples(st.just("main"), st.sampled_from(MAIN.event_names), st.booleans()),
        st.tuples(st.just("refund"), st.sampled_from(REFUND.event_names), st.sampled_from(SUB_IDS)),
        st.tuples(st.just("apply"), taobao_snapshots, st.booleans()),
        st.tuples(st.just("read")),
        st.tuples(st.just("copy"), st.sampled_from(["copy", "pickle", "restore"])),
    ),
    max_size=20,
)


@given(start=st.sampled_from([s.code for s in MAIN.states]), steps=operations)
def test_the_history_read_is_the_history_an_eager_order_builds(
    start: int, steps: list[tuple[Any, ...]]
) -> None:
    """Each accepted trigger appends ``Change(sub_order, step, at=...)`` to the expected
    history, each apply the changes its listeners are told of; reading the history at
    any point, copying, pickling or restoring the order (its dict through JSON) changes
    neither the history read afterwards nor what ``to_dict`` writes."""
    order = orderfsm.TaobaoOrder(start, {"s1": None, 7: 10})
    expected: list[Change] = []
    told: list[Any] = []
    clock = 0
    stop = orderfsm.listen(lambda notice: told.append(notice.change), orderfsm.TaobaoOrder)
    try:
        for step in steps:
            if step[0] == "read":
                assert order.history == tuple(expected)
            elif step[0] == "copy":
                before = json.dumps(order.to_dict())
                if step[1] == "restore":
                    order = orderfsm.TaobaoOrder.from_dict(json.loads(before))
                    expected = list(order.history)  # decoded from the dict: steps as stored
                else:
                    order = (
                        copy.copy(order) if step[1] == "copy" else pickle.loads(pickle.dumps(order))
                    )
                assert json.dumps(order.to_dict()) == before
            elif step[0] == "apply":
                told.clear()
                order.apply(step[1], force=step[2])
                expected += told
            else:
                sub = step[2] if step[0] == "refund" else None
                at = None if step[0] == "refund" or not step[2] else 1000 + clock
                clock += 1
                with contextlib.suppress(orderfsm.TransitionRejected, orderfsm.UnknownSubOrder):
                    taken = order.trigger(step[1], sub_order=sub, at=at)
                    expected.append(Change(sub, taken, at=at))
        assert order.history == tuple(expected)
        assert order.to_dict() == orderfsm.TaobaoOrder.from_dict(order.to_dict()).to_dict()
    finally:
        stop()


@given(start=st.sampled_from([s.code for s in MAIN.states]), steps=operations)
def test_reading_the_history_changes_nothing_written(
    start: int, steps: list[tuple[Any, ...]]
) -> None:
    """Two orders given the same calls, one reading its history after each: both write
    the same dict and read the same history."""
    orders = [orderfsm.TaobaoOrder(start, {"s1": None, 7: 10}) for _ in range(2)]
    for step in steps:
        for reads, order in enumerate(orders):
            if step[0] == "apply":
                order.apply(step[1], force=step[2])
            elif step[0] in ("main", "refund"):
                sub = step[2] if step[0] == "refund" else None
                with contextlib.suppress(orderfsm.TransitionRejected, orderfsm.UnknownSubOrder):
                    order.trigger(step[1], sub_order=sub)
            if reads:
                order.history  # noqa: B018 - decodes the rows recorded so far
    assert json.dumps(orders[0].to_dict()) == json.dumps(orders[1].to_dict())
    assert orders[0].history == orders[1].history


@given(
    start=st.sampled_from([s.code for s in MAIN.states]),
    events=st.lists(st.sampled_from([*MAIN.event_names, *REFUND.event_names, "nope"]), max_size=12),
    verify=st.booleans(),
)
def test_main_order_decisions_taken_once_are_the_pure_cores(
    start: int, events: list[str], verify: bool
) -> None:
    """A main-order event accepted once in a status is taken from memory afterwards:
    every trigger returns what the pure core returns for the status held, and raises
    what it raises (a refund event addressed to the order: RefundNotAllowed); a
    verifying machine is asked every time."""
    machine = orderfsm.load("taobao_order", verify=verify)
    order = orderfsm.TaobaoOrder(start, ["s1"], machine=machine)
    for event in events * 2:  # the second round finds the first round's decisions
        held = order.status
        try:
            expected: Any = machine.transition(held, event)
        except orderfsm.OrderFsmError as refusal:
            expected = type(refusal)
        if event in REFUND.event_names:
            expected = orderfsm.RefundNotAllowed
        try:
            got: Any = order.trigger(event)
        except orderfsm.OrderFsmError as refusal:
            got = type(refusal)
            assert order.status == held
        assert got == expected


def test_an_edited_table_of_the_same_name_keeps_decisions_of_its_own() -> None:
    """Decisions are kept with the machine that took them, not by its name: a table
    edited under the shipped name that drops the edge 12 -> 0 refuses it, even after the
    shipped machine took it."""
    import tomllib  # noqa: PLC0415
    from importlib import resources  # noqa: PLC0415

    text = (resources.files("orderfsm") / "data/tables/taobao_order.toml").read_text("utf-8")
    table = tomllib.loads(text)
    shipped = orderfsm.load("taobao_order")
    (event,) = {
        t.event for t in shipped.transitions_from(12) if t.dst == "TAOBAO_ORDER_WAIT_BUYER_PAY"
    }
    table["transitions"] = [
        t for t in table["transitions"] if not (t["src"] == 12 and t["event"] == event)
    ]
    edited = orderfsm.load(table)
    assert edited.name == shipped.name
    assert orderfsm.TaobaoOrder(12).trigger(event).target.code == 0  # decided and kept
    with pytest.raises(orderfsm.TransitionRejected):
        orderfsm.TaobaoOrder(12, machine=edited).trigger(event)
