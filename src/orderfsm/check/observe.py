"""Observing the tables: the value each fact subject actually has in a compiled machine.

:class:`Observer` computes, for a fact subject such as ``("edge", 12, 4, None)`` or
``("refused", "cancel", 5)``, what the machine does, by running the pure core
(:meth:`CompiledMachine.transition` / ``allows``) in every context a guard could see
(each parent status, each combination of variables, each remembered history status).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from orderfsm.check.claims import payload_text
from orderfsm.check.facts import Fact
from orderfsm.check.paths import initial_configs, moves
from orderfsm.errors import OrderFsmError, TransitionRejected
from orderfsm.model.compile import CompiledMachine
from orderfsm.model.deadlines import deadline_of
from orderfsm.model.table import State

HISTORY = "@history"


class Observer:
    """Computes, from compiled machines, the value of any fact subject."""

    def __init__(self, machines: Mapping[str, CompiledMachine]) -> None:
        self.machines = machines

    def state(self, machine: CompiledMachine, code: Any) -> State | None:
        try:
            return machine.status(code)
        except OrderFsmError:
            return None

    def accepts(
        self,
        m: CompiledMachine,
        src: State,
        event: str,
        parent: Any = None,
        fixed: Sequence[tuple[str, str]] = (),
        *,
        sub_order: Any = None,
    ) -> bool:
        """Whether ``event`` is accepted in ``src`` in at least one possible context
        (``parent`` and ``sub_order`` pin those parts of it)."""
        if event not in m.event_names:
            return False
        histories: list[State | None] = (
            [None, *m.states] if any(t.history for t in m.table.transitions) else [None]
        )
        return any(
            m.allows(src, event, parent=p, variables=v, history=h, sub_order=so)
            for p, v in m.contexts(parent, fixed)
            for h in histories
            for so in (m.sub_order_statuses if sub_order is None else (sub_order,))
        )

    def edge_possible(self, m: CompiledMachine, a: object, b: object, parent: Any = None) -> bool:
        src, dst = self.state(m, a), self.state(m, b)
        if src is None or dst is None:
            return False
        for t in m.transitions_from(src):
            if t.dst != dst.name:
                continue
            for (p, v), so in itertools.product(m.contexts(parent), m.sub_order_statuses):
                try:
                    step = m.transition(
                        src, t.event, parent=p, variables=v, history=dst, sub_order=so
                    )
                except TransitionRejected:
                    continue
                if step.target == dst:
                    return True
        return False

    def observe(self, fact: Fact) -> object:
        m = self.machines.get(fact.machine)
        kind, *args = fact.subject
        if kind == "parses":
            return _parse_count(str(args[0]), str(args[1]))
        if m is None:
            return f"no machine named {fact.machine!r}"
        handler = _OBSERVERS[str(kind)]
        return handler(self, m, args)


def _parse_count(parser: str, body_name: str) -> object:
    try:
        from orderfsm import ingest  # noqa: PLC0415 - ingest is optional for tables-only checks
    except ImportError:
        return "orderfsm.ingest is not available"
    try:
        return len(ingest.parse(payload_text(body_name), parser))
    except OrderFsmError as exc:
        return f"rejected: {exc}"


def _obs_edge(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    return o.edge_possible(m, args[0], args[1], args[2])


def _obs_enabled(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    s = o.state(m, args[1])
    return s is not None and o.accepts(m, s, str(args[0]), args[2], args[3])


def _obs_refused(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    s = o.state(m, args[1])
    if s is None:
        return "no such status"
    if str(args[0]) not in m.event_names:
        return "no such event"
    outcomes = set()
    for (p, v), so in itertools.product(m.contexts(fixed=args[2]), m.sub_order_statuses):
        try:
            m.transition(s, str(args[0]), parent=p, variables=v, sub_order=so)
            outcomes.add("accepted")
        except TransitionRejected as exc:
            outcomes.add(type(exc).__name__)
    return "/".join(sorted(outcomes))


def _obs_parent_enables(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    s = o.state(m, args[1])
    return s is not None and m.parent is not None and o.accepts(m, s, str(args[0]), args[2])


def _obs_sub_order_enables(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    s = o.state(m, args[1])
    if s is None or m.parent is None:
        return False
    return o.accepts(m, s, str(args[0]), args[2], sub_order=args[3])


def _obs_exists(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    s = o.state(m, args[0])
    return s is not None and s.code == args[0]


def _obs_field(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    s = o.state(m, args[0])
    return None if s is None else getattr(s, str(args[1]))


def _obs_resolves(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    s = o.state(m, args[0])
    return None if s is None else s.code


def _obs_known(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    return o.state(m, args[0]) is not None


def _obs_size(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    return len(m.states)


def _obs_parent_of(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    return m.table.parent


def _obs_actor(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    return any(t.actor == args[0] for t in m.edges)


def _obs_event_actor(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    return any(t.event == args[0] and t.actor == args[1] for t in m.edges)


def _obs_event(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    return args[0] in m.event_names


def _obs_description_field(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    states = [s for s in m.states if not s.quarantine]
    # the description field carries the raw string where there is one, else the description
    if all((s.raw or s.description) == s.name for s in states):
        return "name"
    if all(s.raw for s in states):
        return "raw"
    return "mixed"


def _obs_final(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    s = o.state(m, args[0])
    return s is not None and s.final


def _obs_exits_by(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    s = o.state(m, args[0])
    if s is None:
        return "no such status"
    excluded = set(args[1])
    return tuple(sorted({t.actor for t in m.transitions_from(s) if t.event not in excluded}))


def _obs_exits_to(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    s = o.state(m, args[0])
    if s is None:
        return "no such status"
    history_src = {t.src for t in m.table.transitions if t.history}
    out = set()
    for t in m.transitions_from(s):
        if t.src in history_src and "returns_to_history" in t.guards:
            out.add(HISTORY)
        else:
            out.add(str(m.table.state(str(t.dst)).code))
    return tuple(sorted(out))


def _obs_dominated(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    """True when no run from the initial status reaches the target without passing ``via``.

    The search is over configurations (status, variables, remembered history), so a
    history state only returns to where the order really came from.
    """
    target = o.state(m, args[0])
    blocked = {s.name for s in (o.state(m, c) for c in args[1]) if s}
    if target is None or m.initial.name in blocked:
        return False
    start = initial_configs(m)
    seen = {c.key() for c in start}
    frontier = list(start)
    while frontier:
        for _, nxt in moves(m, frontier.pop()):
            if nxt.status.name in blocked or nxt.key() in seen:
                continue
            if nxt.status == target:
                return False
            seen.add(nxt.key())
            frontier.append(nxt)
    return True


def _obs_initial(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    s = o.state(m, args[0])
    return s is not None and s == m.initial


def _obs_variable_in(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    """Whether some run from the initial status reaches the status with the variable at the value."""
    target = o.state(m, args[0])
    if target is None:
        return "no such status"
    start = initial_configs(m)
    seen = {c.key() for c in start}
    frontier = list(start)
    while frontier:
        config = frontier.pop()
        if config.status == target and config.variables.get(str(args[1])) == args[2]:
            return True
        for _, nxt in moves(m, config):
            if nxt.key() not in seen:
                seen.add(nxt.key())
                frontier.append(nxt)
    return False


def _obs_tag(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    s = o.state(m, args[1])
    return s is not None and args[0] in s.tags


def _obs_deadline(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    """The table's deadline for the status as ``(least, most, unit)``, or ``(term, unit)``
    for one from the order's terms (``None``: none)."""
    s = o.state(m, args[0])
    rule = None if s is None else deadline_of(m, s)
    if rule is None:
        return None
    return (rule.least, rule.most, rule.unit) if rule.term is None else (rule.term, rule.unit)


def _obs_variable(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    found = [v.values for v in m.table.variables if v.name == args[0]]
    return tuple(found[0]) if found else None


def _obs_variable_text(o: Observer, m: CompiledMachine, args: list[Any]) -> object:
    s = o.state(m, args[0])
    if s is None or s.customer_text_variable != args[1]:
        return False
    texts = dict(s.customer_texts)
    chosen = [texts.get(str(v)) for v in args[2]]
    return all(chosen) and len(set(chosen)) == len(chosen)


_OBSERVERS: Mapping[str, Callable[[Observer, CompiledMachine, list[Any]], object]] = {
    "edge": _obs_edge,
    "enabled": _obs_enabled,
    "refused": _obs_refused,
    "parent_enables": _obs_parent_enables,
    "sub_order_enables": _obs_sub_order_enables,
    "exists": _obs_exists,
    "field": _obs_field,
    "resolves": _obs_resolves,
    "known": _obs_known,
    "size": _obs_size,
    "parent_of": _obs_parent_of,
    "actor_present": _obs_actor,
    "event_actor": _obs_event_actor,
    "event_present": _obs_event,
    "description_field": _obs_description_field,
    "final": _obs_final,
    "exits_by": _obs_exits_by,
    "exits_to": _obs_exits_to,
    "dominated": _obs_dominated,
    "tag": _obs_tag,
    "deadline": _obs_deadline,
    "initial": _obs_initial,
    "variable_in": _obs_variable_in,
    "variable": _obs_variable,
    "variable_text": _obs_variable_text,
}
