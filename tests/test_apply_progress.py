""" "Comes before" on every shipped machine: progress that cycles cannot break (issue 9.1).

The oracle here is built from the pure core alone (``machine.transition`` with the
order's variables), independently of :mod:`orderfsm.model.progress`: a *position* is a
status with the table's variables; its successors are what an accepted event leads to,
except a return from a history state (going back is no progress).
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Iterator

import pytest

import orderfsm
from orderfsm.ingest import IcbuSnapshot, parse
from orderfsm.model.compile import HISTORY_GUARD, CompiledMachine
from orderfsm.model.decide import decide
from orderfsm.model.paths import Said
from orderfsm.model.table import State

Position = tuple[State, tuple[tuple[str, str], ...]]

TAOBAO_PARENT = orderfsm.load("taobao_order").status(10)  # a refund may start under it


def parents(machine: CompiledMachine) -> tuple[State, ...]:
    return (TAOBAO_PARENT,) if machine.parent is not None else ()


def positions(machine: CompiledMachine) -> list[Position]:
    combos = [dict(v) for _, v in machine.contexts()]
    unique = {tuple(sorted(c.items())) for c in combos}
    return [
        (s, c)
        for s in machine.states
        for c in sorted(unique)
        if not s.quarantine and s.name not in machine.history_states
    ]


def successors(machine: CompiledMachine, position: Position) -> Iterator[Position]:
    status, values = position
    parent = TAOBAO_PARENT if machine.parent is not None else None
    for event in machine.events(status):
        try:
            step = machine.transition(status, event, parent=parent, variables=dict(values))
        except orderfsm.TransitionRejected:
            continue
        if HISTORY_GUARD not in step.transition.guards:
            after = step.transition.apply(dict(values))
            yield step.target, tuple(sorted(after.items()))


def reach(machine: CompiledMachine) -> dict[Position, set[Position]]:
    """Every position reachable from each (history states included on the way)."""
    out: dict[Position, set[Position]] = {}
    for start in positions(machine):
        seen = {start}
        queue = deque([start])
        while queue:
            for nxt in successors(machine, queue.popleft()):
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        out[start] = seen
    return out


def one_step(machine: CompiledMachine, a: Position, b: Position) -> bool:
    return b in set(successors(machine, a))


def judge(machine: CompiledMachine, held: Position, seen: Position) -> orderfsm.ingest.PartResult:
    return decide(
        machine,
        held[0],
        seen[0].code,
        part="order",
        said=Said(dict(held[1]), dict(seen[1]) or None, parents(machine)),
    )


MACHINES = ["taobao_order", "taobao_refund", "icbu_trade", "ka_pool_order"]


@pytest.mark.parametrize("name", MACHINES)
def test_a_later_status_advances_and_an_earlier_one_is_stale(name: str) -> None:
    """Where b is reachable from a and a is not reachable from b: b applied to an order
    in a (no timestamps) is advanced, a applied to an order in b is stale."""
    machine = orderfsm.load(name)
    reachable = reach(machine)
    pairs = [
        (a, b)
        for a, b in itertools.permutations(reachable, 2)
        if b in reachable[a] and a not in reachable.get(b, {b})
    ]
    assert pairs
    for a, b in pairs:
        forward = judge(machine, a, b)
        assert (forward.outcome, forward.after) == ("advanced", b[0]), (a, b, forward.note)
        backward = judge(machine, b, a)
        assert backward.outcome == "stale", (a, b, backward.note)
        assert backward.steps == ()


@pytest.mark.parametrize("name", MACHINES)
def test_inside_a_cycle_depth_from_the_entry_decides(name: str) -> None:
    """Inside a strongly connected component: one accepted step ahead is advanced;
    otherwise a status fewer steps from where the order enters the cycle is stale and
    one as many or more steps in is advanced."""
    machine = orderfsm.load(name)
    reachable = reach(machine)
    cycles = [
        (a, b)
        for a, b in itertools.permutations(reachable, 2)
        if b in reachable[a] and a in reachable[b]
    ]
    depth = entry_depths(machine, reachable)
    if name == "icbu_trade":
        assert cycles  # unpay <-> paying / relating / wait_confirm_modify
    for a, b in cycles:
        result = judge(machine, a, b)
        if one_step(machine, a, b) or depth[b] >= depth[a]:
            assert result.outcome == "advanced", (a, b, result.note)
        else:
            assert result.outcome == "stale", (a, b, result.note)


def entry_depths(
    machine: CompiledMachine, reachable: dict[Position, set[Position]]
) -> dict[Position, int]:
    def same(a: Position, b: Position) -> bool:
        return b in reachable[a] and a in reachable[b]

    initial = {p for p in reachable if p[0] == machine.initial}
    entries = [
        p
        for p in reachable
        if p in initial
        or any(p in set(successors(machine, q)) and not same(p, q) for q in reachable)
    ]
    depth = dict.fromkeys(entries, 0)
    queue = deque(entries)
    while queue:
        p = queue.popleft()
        for q in successors(machine, p):
            if q in reachable and same(p, q) and q not in depth:
                depth[q] = depth[p] + 1
                queue.append(q)
    return {p: depth.get(p, 0) for p in reachable}


@pytest.mark.parametrize("name", ["icbu_trade", "ka_pool_order"])
def test_in_a_history_state_the_order_stands_where_it_entered(name: str) -> None:
    """An order in a history state (ICBU frozen, KA refund) remembering r: a status that
    comes before r is stale; a status after r is advanced (back through r)."""
    machine = orderfsm.load(name)
    reachable = reach(machine)
    checked = 0
    for h in sorted(machine.history_states):
        for r in machine.history_sources(h):
            for values in {v for _, v in reachable if True}:
                held = (r, values)
                if held not in reachable:
                    continue
                for seen in reachable:
                    if seen[1] != values or seen[0] == r:
                        continue
                    result = decide(
                        machine,
                        machine.status(h),
                        seen[0].code,
                        part="order",
                        remembered=r,
                        said=Said(dict(values), dict(values) or None),
                    )
                    if seen in reachable[held] and held not in reachable[seen]:
                        assert result.outcome == "advanced", (h, r, seen, result.note)
                        checked += 1
                    elif (
                        held in reachable[seen]
                        and seen not in reachable[held]
                        and not one_step_from_history(machine, h, r, seen)
                    ):
                        assert result.outcome == "stale", (h, r, seen, result.note)
                        checked += 1
    assert checked


def one_step_from_history(machine: CompiledMachine, h: str, r: State, seen: Position) -> bool:
    for event in machine.events(h):
        try:
            step = machine.transition(h, event, variables=dict(seen[1]), history=r)
        except orderfsm.TransitionRejected:
            continue
        if step.target == seen[0]:
            return True
    return False


def icbu_body(trade_status: str, pay_step: str | None) -> IcbuSnapshot:
    value = {"trade_id": "8001", "trade_status": trade_status}
    if pay_step is not None:
        value["pay_step"] = pay_step
    body = json.dumps({"alibaba_seller_order_get_response": {"value": value}})
    (snap,) = parse(body, "icbu_order")
    assert isinstance(snap, IcbuSnapshot)
    return snap


@pytest.mark.parametrize("pay_step", ["FULL", "ADVANCE"])
@pytest.mark.parametrize("seen", ["paid", "captured"])
@pytest.mark.parametrize("stated", [True, False])
def test_a_payment_on_an_unpaid_icbu_order_is_not_dropped(
    pay_step: str, seen: str, stated: bool
) -> None:
    """The bug: unpay + a body saying paid/captured was `stale` ("paid comes before unpay")."""
    order = orderfsm.IcbuOrder(status="unpay", pay_step=pay_step)
    result = order.apply(icbu_body(seen, pay_step if stated else None))
    assert result.outcome == "advanced", result.part("order").note
    assert order.status.name == seen and order.pay_step == pay_step
    assert order.version == 1


def test_an_icbu_balance_after_the_advance_is_progress_not_a_late_unpay() -> None:
    order = orderfsm.IcbuOrder(status="paid", pay_step="ADVANCE")
    assert order.apply(icbu_body("unpay", "BALANCE")).outcome == "advanced"
    assert (order.status.name, order.pay_step) == ("unpay", "BALANCE")
    assert [c.step.event for c in order.history] == ["capture", "request_balance"]
    late = orderfsm.IcbuOrder(status="paid", pay_step="ADVANCE")
    assert late.apply(icbu_body("unpay", "ADVANCE")).outcome == "stale"
    assert late.version == 0


def test_no_icbu_variable_changes_without_a_step_that_sets_it() -> None:
    """Every held position x every observed status and pay_step (or none): the steps an
    apply records pass their guards with the pay_step held at each step, and pay_step
    changes only by an edge that sets it."""
    machine = orderfsm.load("icbu_trade")
    values = ("ADVANCE", "BALANCE", "FULL")
    for status, held, seen in itertools.product(machine.states, values, machine.states):
        if status.name in machine.history_states:
            continue
        for stated in (*values, None):
            order = orderfsm.IcbuOrder(status=status, pay_step=held)
            result = order.apply(icbu_body(str(seen.code), stated))
            variables = {"pay_step": held}
            for change in order.history:
                step = change.step
                if change.via != "forced":
                    replayed = machine.transition(step.source, step.event, variables=variables)
                    assert replayed.target == step.target
                variables = step.transition.apply(variables)
            assert order.pay_step == variables["pay_step"]
            if stated is not None and result.outcome == "advanced":
                assert order.pay_step == stated
