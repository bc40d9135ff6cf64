"""Paths a snapshot may have taken: the fewest table edges between two statuses.

:func:`shortest_path` ignores guards; :func:`guarded_path` passes every guard in the
context a snapshot states (:class:`Said`). Both prefer a path that does not pass
*through* a history state (ICBU ``frozen``: a later snapshot cannot show that a dispute
came and went), and leaving a history state they return only to the status it
remembers. Both are breadth-first searches of :mod:`orderfsm.model.search`; apply,
replay, the audit and the progress order share them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from orderfsm.model.compile import CompiledMachine, Step
from orderfsm.model.guards import HISTORY_GUARD, REGISTRY, GuardContext
from orderfsm.model.search import breadth_first, path_to
from orderfsm.model.table import State, Transition

Path = tuple[Transition, ...]


def shortest_path(
    machine: CompiledMachine, src: State, dst: State, remembered: State | None = None
) -> Path | None:
    """The fewest table edges from ``src`` to ``dst`` (ties: table order), guards aside,
    or ``None``.

    Like :func:`guarded_path`, it prefers a path that does not pass *through* a history
    state (ICBU ``frozen``). Leaving a history state it starts in, it only returns to the
    ``remembered`` status (any, when that is unknown).
    """
    if src == dst:
        return ()
    for through_history in (False, True):
        found = _table_search(machine, src, dst, remembered, through_history=through_history)
        if found is not None:
            return found
    return None


def table_path_avoiding_history(machine: CompiledMachine, src: State, dst: State) -> Path | None:
    """The shortest table path that passes through no history state (guards aside)."""
    return _table_search(machine, src, dst, None, through_history=False)


def _table_search(
    machine: CompiledMachine,
    src: State,
    dst: State,
    remembered: State | None,
    *,
    through_history: bool,
) -> Path | None:
    interrupts = machine.history_states

    def edges(name: str) -> Iterator[tuple[Transition, str]]:
        if name in interrupts and name != src.name and not through_history:
            return
        for t in machine.transitions_from(name):
            assert t.dst is not None
            if _may_return(t, name == src.name, remembered):
                yield t, t.dst

    found, end = breadth_first([src.name], edges, goal=dst.name.__eq__)
    return None if end is None else path_to(found, end)


def _may_return(edge: Transition, at_start: bool, remembered: State | None) -> bool:
    """Whether a path may take ``edge``: a return from a history state only where the path
    starts (a history state passed through remembers where the path entered it, so going
    back is no progress) and only to what the order remembers (any, when unknown)."""
    if HISTORY_GUARD not in edge.guards:
        return True
    return at_start and (remembered is None or edge.dst == remembered.name)


def steps_of(machine: CompiledMachine, edges: Path) -> tuple[Step, ...]:
    """The :class:`Step` of each edge of a path."""
    state = machine.table.state
    return tuple(Step(state(t.src), state(t.dst or t.src), t.event, t.actor, t) for t in edges)


# ----------------------------------------------------------------------------- guarded paths


@dataclass(frozen=True, slots=True)
class Said:
    """What a snapshot states about the context of one part's steps.

    ``variables`` are the order's extended state before the snapshot (ICBU ``pay_step``),
    ``wanted`` the values the snapshot states for them (``None``: it states none), and
    ``parents`` the enclosing order's statuses the steps may have happened under (for a
    Taobao refund: the main order's statuses from held to observed), ``sub_orders`` the
    sub-order's own statuses likewise. A reconstructed path must pass every guard in this
    context: a guard passes if it passes for one of ``parents`` and ``sub_orders``.
    """

    variables: Mapping[str, str]
    wanted: Mapping[str, str] | None = None
    parents: tuple[State, ...] = ()
    sub_orders: tuple[State, ...] = ()

    def reached(self, variables: Mapping[str, str]) -> bool:
        return self.wanted is None or all(variables.get(k) == v for k, v in self.wanted.items())


def failing_guard(
    machine: CompiledMachine,
    edge: Transition,
    variables: Mapping[str, str],
    said: Said,
    remembered: State | None,
) -> str | None:
    """The first guard (event-level first) that refuses ``edge`` in this context, if any."""
    names = (*machine.event(edge.event).guards, *edge.guards)
    if not names:  # most edges: nothing to build a context for
        return None
    src = machine.table.state(edge.src)
    dst = machine.table.state(edge.dst or edge.src)
    for name in names:
        g = REGISTRY[name]
        parents: tuple[State | None, ...] = said.parents if "parent" in g.reads else (None,)
        subs: tuple[State | None, ...] = said.sub_orders if "sub_order" in g.reads else (None,)
        if not any(
            g.check(GuardContext(machine.name, edge.event, src, dst, p, variables, remembered, so))
            for p in parents or (None,)
            for so in subs or (None,)
        ):
            return name
    return None


def guarded_path(
    machine: CompiledMachine,
    src: State,
    dst: State,
    said: Said,
    remembered: State | None = None,
) -> Path | None:
    """The fewest table edges from ``src`` (with ``said.variables``) to ``dst`` (with the
    variables ``said.wanted`` states), every guard passing along the way, or ``None``.

    Variables change only where an edge sets them; leaving a history state follows the
    status it remembers. A path that does not pass *through* a history state is
    preferred (a later snapshot cannot show that a dispute came and went, and inventing
    one would be worse than skipping it); one that does is taken only when no other exists.
    """
    wanted = None if said.wanted is None else tuple(sorted(said.wanted.items()))
    key = (tuple(sorted(said.variables.items())), wanted, said.parents, said.sub_orders)
    return _cached_path(machine, src, dst, key, remembered)


@functools.lru_cache(maxsize=4096)
def _cached_path(
    machine: CompiledMachine,
    src: State,
    dst: State,
    said_key: tuple[
        tuple[tuple[str, str], ...],
        tuple[tuple[str, str], ...] | None,
        tuple[State, ...],
        tuple[State, ...],
    ],
    remembered: State | None,
) -> Path | None:
    """:func:`guarded_path`, remembered: the answer depends only on its arguments (the
    machines are immutable), and a service applies the same few shapes of snapshot."""
    variables, wanted, parents, sub_orders = said_key
    said = Said(dict(variables), None if wanted is None else dict(wanted), parents, sub_orders)
    for through_history in (False, True):
        found = _search(machine, src, dst, said, remembered, through_history=through_history)
        if found is not None:
            return found
    return None


_Position = tuple[str, tuple[str, ...], State | None]
"""A status, its variables' values (sorted by name) and the status it remembers."""


def _search(
    machine: CompiledMachine,
    src: State,
    dst: State,
    said: Said,
    remembered: State | None,
    *,
    through_history: bool,
) -> Path | None:
    names = sorted(said.variables)
    interrupts = machine.history_states

    def edges(node: _Position) -> Iterator[tuple[Transition, _Position]]:
        name, values, memory = node
        if name in interrupts and name != src.name and not through_history:
            return
        variables = dict(zip(names, values, strict=True))
        state = machine.table.state(name)
        for t in machine.transitions_from(name):
            if failing_guard(machine, t, variables, said, memory) is not None:
                continue
            after = t.apply(variables)
            target = machine.table.state(t.dst or name)
            # only a machine with history states remembers anything
            remembers = interrupts and machine.remembered_after(
                Step(state, target, t.event, t.actor, t), memory
            )
            yield t, (target.name, tuple(after[n] for n in names), remembers or None)

    def arrived(node: _Position) -> bool:
        return node[0] == dst.name and said.reached(dict(zip(names, node[1], strict=True)))

    start = (src.name, tuple(said.variables[n] for n in names), remembered)
    found, end = breadth_first([start], edges, goal=arrived)
    return None if end is None else path_to(found, end)


def why_refused(
    machine: CompiledMachine,
    path: Path,
    said: Said,
    remembered: State | None,
) -> str:
    """Why a table path is not a path in this context: the guard that refuses a step,
    naming its rule, or the variable no step on the way sets to what the snapshot says."""
    variables = dict(said.variables)
    memory = remembered
    for t in path:
        failing = failing_guard(machine, t, variables, said, memory)
        if failing is not None:
            g = REGISTRY[failing]
            shown = ", ".join(f"{k}={v}" for k, v in sorted(variables.items()))
            where = f" with {shown}" if shown else ""
            parents = ", ".join(str(p) for p in said.parents)
            seen = f" (main order: {parents})" if "parent" in g.reads and parents else ""
            return (
                f"{machine.name}: the step {t.src} -> {t.dst} ({t.event}) is refused{where}"
                f"{seen} by guard {failing!r}: {g.rule} [{g.source}]"
            )
        src, dst = machine.table.state(t.src), machine.table.state(t.dst or t.src)
        memory = machine.remembered_after(Step(src, dst, t.event, t.actor, t), memory)
        variables = t.apply(variables)
    wanted = dict(said.wanted or {})
    wrong = sorted(k for k, v in wanted.items() if variables.get(k) != v)
    return "; ".join(
        f"{machine.name}: {k} would be {variables.get(k)!r}: no step on the way sets it to "
        f"{wanted[k]!r}"
        for k in wrong
    )
