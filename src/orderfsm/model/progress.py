"""How far along an order is: the progress order that decides "comes before".

A snapshot without a timestamp is judged by where its status stands in the machine's
progress relative to the status held. Plain reachability cannot judge that in a machine
with cycles (ICBU ``paying -> unpay``, ``captured -> unpay`` for the balance), where almost
everything reaches everything. Progress is therefore defined on the machine's
*positions* - a status together with the table's variables (ICBU ``pay_step``) - and the
steps between them that the table allows:

- the **progress graph** has one node per position and one edge per table transition
  whose guards can pass there (guards that read the enclosing order's status are taken as
  passable: which parent status a sub-order sees is the snapshot's to say). Returning from
  a history state (``frozen``) is not progress - it goes back to where the order was - so
  those edges are left out: a history state is a detour, judged by the status it was
  entered from (see :func:`comes_before`);
- a position ``x`` **comes before** ``y`` when ``y`` is reachable from ``x`` and ``x`` is
  not reachable from ``y`` (their strongly connected components are ordered);
- **inside a cycle** (the same strongly connected component) ``x`` comes before ``y``
  when ``x`` is fewer steps from the component's entry than ``y``: the entry is where the
  order comes into the cycle (a position with an edge from outside, or the machine's
  initial position), and the distance is the fewest progress edges from an entry. In
  ICBU that makes ``unpay`` come before ``paying`` and ``relating``, which come before
  ``paid`` and ``captured`` for the same ``pay_step``; and ``captured`` with ``ADVANCE``
  comes before ``unpay`` with ``BALANCE`` (the balance falls due after the advance).

Positions neither of which comes before the other are *unordered*: the decision then
rests on the table's paths alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from orderfsm.model.compile import CompiledMachine
from orderfsm.model.guards import REGISTRY, GuardContext
from orderfsm.model.paths import Said
from orderfsm.model.search import breadth_first, path_to
from orderfsm.model.table import State, Table, Transition

Position = tuple[str, tuple[str, ...]]
"""A status name and the values of the table's variables, in declaration order."""


@dataclass(frozen=True, slots=True)
class Progress:
    """The progress order of one table (see the module docstring)."""

    variables: tuple[str, ...]
    reach: Mapping[Position, frozenset[Position]]
    component: Mapping[Position, int]
    depth: Mapping[Position, int]

    def position(self, status: str, variables: Mapping[str, str]) -> Position:
        return status, tuple(variables[name] for name in self.variables)

    def reaches(self, a: Position, b: Position) -> bool:
        """Whether ``b`` is reachable from ``a`` by progress edges (``a`` reaches itself)."""
        return b in self.reach[a]

    def before(self, a: Position, b: Position) -> bool:
        """Whether ``a`` comes strictly before ``b``."""
        if a == b or not self.reaches(a, b):
            return False
        if not self.reaches(b, a):
            return True
        return self.depth[a] < self.depth[b]


_CACHE: dict[int, tuple[Table, Progress]] = {}


def progress(table: Table) -> Progress:
    """The progress order of ``table``, computed once per table object (looked up by
    identity: hashing a whole table costs more than the lookup should)."""
    cached = _CACHE.get(id(table))
    if cached is not None and cached[0] is table:
        return cached[1]
    if len(_CACHE) >= 64:  # edited tables come and go; the shipped ones are recomputed cheaply
        _CACHE.clear()
    found = _compute(table)
    _CACHE[id(table)] = (table, found)
    return found


def _compute(table: Table) -> Progress:
    names = tuple(v.name for v in table.variables)
    domains = [v.values for v in table.variables]
    combos = [tuple(c) for c in itertools.product(*domains)]
    nodes = [(s.name, c) for s in table.states for c in combos]
    edges = {n: _successors(table, n, names) for n in nodes}
    reach = {n: frozenset(_reachable(n, edges)) for n in nodes}
    component: dict[Position, int] = {}
    for n in nodes:
        if n not in component:
            index = len(set(component.values()))
            for m in reach[n]:
                if n in reach[m]:
                    component[m] = index
    initial_vars = [v.initial or v.values for v in table.variables]
    starts = {(table.initial, tuple(c)) for c in itertools.product(*initial_vars)}
    entries = [
        n
        for n in nodes
        if n in starts or any(n in edges[m] and component[m] != component[n] for m in nodes)
    ]
    depth = _depths(nodes, edges, component, entries)
    return Progress(names, reach, component, depth)


def _successors(table: Table, node: Position, names: tuple[str, ...]) -> frozenset[Position]:
    status, values = node
    variables = dict(zip(names, values, strict=True))
    events = {e.name: e.guards for e in table.events}
    out: set[Position] = set()
    for t in table.transitions:
        if t.src != status or t.dst is None:  # dst None: a return from history
            continue
        guards = (*events.get(t.event, ()), *t.guards)
        if all(_may_pass(table, g, t, variables) for g in guards):
            after = t.apply(variables)
            out.add((t.dst, tuple(after[n] for n in names)))
    return frozenset(out)


def _may_pass(table: Table, name: str, t: Transition, variables: Mapping[str, str]) -> bool:
    guard = REGISTRY[name]
    if "parent" in guard.reads or "history" in guard.reads:
        return True
    assert t.dst is not None
    ctx = GuardContext(
        machine=table.name,
        event=t.event,
        status=table.state(t.src),
        target=table.state(t.dst),
        variables=variables,
    )
    return guard.check(ctx)


def _reachable(start: Position, edges: Mapping[Position, Iterable[Position]]) -> set[Position]:
    found, _ = breadth_first([start], lambda node: ((None, nxt) for nxt in edges[node]))
    return set(found)


def _depths(
    nodes: list[Position],
    edges: Mapping[Position, Iterable[Position]],
    component: Mapping[Position, int],
    entries: list[Position],
) -> dict[Position, int]:
    """Fewest progress edges from an entry of the node's own component, staying inside it."""

    def inside(node: Position) -> Iterator[tuple[None, Position]]:
        return ((None, nxt) for nxt in edges[node] if component[nxt] == component[node])

    found, _ = breadth_first(entries, inside)
    depth = {node: len(path_to(found, node)) for node in found}
    for n in nodes:  # a component no entry leads into (unreachable from outside)
        depth.setdefault(n, 0)
    return depth


def comes_before(
    machine: CompiledMachine,
    target: State,
    current: State,
    said: Said,
    remembered: State | None = None,
) -> bool:
    """Whether ``target`` (with the variables the snapshot states, or any values when it
    states none) comes before where the order is, in the progress order. An order in a
    history state stands where it entered it (``remembered``)."""
    order = progress(machine.table)
    here = remembered if current.name in machine.history_states and remembered else current
    held = order.position(here.name, machine.variables(said.variables))
    pinned = tuple((said.wanted or {}).items())
    candidates = {tuple(sorted(v.items())) for _, v in machine.contexts(fixed=pinned)}
    return any(
        order.before(order.position(target.name, dict(values)), held) for values in candidates
    )
