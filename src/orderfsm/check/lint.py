"""Structural lint of a compiled table (shipped or user-supplied).

Errors make ``orderfsm check`` fail; warnings are listed. Quarantine states (holding
places for unrecognised statuses, entered only by ingest) are exempt from the
reachability rules but must have no transitions at all.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from orderfsm.model.compile import CompiledMachine
from orderfsm.model.guards import REGISTRY, GuardContext
from orderfsm.model.table import State, Transition

Level = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One lint result: which machine, how serious, which rule, and the details."""

    machine: str
    level: Level
    rule: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {
            "machine": self.machine,
            "level": self.level,
            "rule": self.rule,
            "detail": self.detail,
        }


def _reachable(machine: CompiledMachine, start: str) -> set[str]:
    seen, frontier = {start}, [start]
    while frontier:
        for t in machine.transitions_from(frontier.pop()):
            if t.dst and t.dst not in seen:
                seen.add(t.dst)
                frontier.append(t.dst)
    return seen


def guard_contexts(machine: CompiledMachine, t: Transition) -> Iterator[GuardContext]:
    """Every context the guards of edge ``t`` could be evaluated in."""
    src = machine.table.state(t.src)
    dst = machine.table.state(t.dst) if t.dst else None
    histories: list[State | None] = [None, *machine.states]
    for (parent, variables), history in itertools.product(machine.contexts(), histories):
        yield GuardContext(
            machine=machine.name,
            event=t.event,
            status=src,
            target=dst,
            parent=parent,
            variables=variables,
            history=history,
        )


def _edge_can_fire(machine: CompiledMachine, t: Transition) -> tuple[bool, list[str]]:
    """Whether some context passes every guard of ``t``; and the guards that never pass."""
    guards = (*machine.event(t.event).guards, *t.guards)
    dead = [
        g
        for g in guards
        if not any(
            REGISTRY[g].check(ctx if g in t.guards else _without_target(ctx))
            for ctx in guard_contexts(machine, t)
        )
    ]
    fires = not dead and any(
        all(REGISTRY[g].check(ctx) for g in guards) for ctx in guard_contexts(machine, t)
    )
    return fires, dead


def _without_target(ctx: GuardContext) -> GuardContext:
    return GuardContext(
        ctx.machine, ctx.event, ctx.status, None, ctx.parent, ctx.variables, ctx.history
    )


def lint(machine: CompiledMachine) -> list[Finding]:
    """Every structural finding for ``machine``, errors and warnings, in a stable order."""
    name = machine.name
    out: list[Finding] = []
    reachable = _reachable(machine, machine.initial.name)
    finals = {s.name for s in machine.states if s.final}
    for s in machine.states:
        if s.quarantine:
            touching = [t for t in machine.edges if s.name in (t.src, t.dst)]
            if touching:
                out.append(
                    Finding(
                        name,
                        "error",
                        "quarantine_with_transitions",
                        f"{s} is a quarantine state but has {len(touching)} transition(s)",
                    )
                )
            continue
        if s.name not in reachable:
            out.append(
                Finding(
                    name, "error", "unreachable", f"{s} cannot be reached from {machine.initial}"
                )
            )
        if s.final and machine.transitions_from(s):
            events = ", ".join(sorted({t.event for t in machine.transitions_from(s)}))
            out.append(
                Finding(
                    name,
                    "error",
                    "final_with_transitions",
                    f"final {s} has outgoing transitions ({events})",
                )
            )
        if not s.final and not (_reachable(machine, s.name) & finals):
            out.append(
                Finding(
                    name, "error", "no_way_to_final", f"no final status can be reached from {s}"
                )
            )
    out.extend(_nondeterminism(machine))
    fired_events: set[str] = set()
    for t in machine.edges:
        fires, dead = _edge_can_fire(machine, t)
        for g in dead:
            out.append(
                Finding(
                    name,
                    "error",
                    "guard_never_passes",
                    f"guard {g!r} can never pass on {t.src} -> {t.dst} ({t.event})",
                )
            )
        if fires:
            fired_events.add(t.event)
    for event in machine.event_names:
        if event not in fired_events:
            has_edges = any(t.event == event for t in machine.edges)
            why = "its transitions can never fire" if has_edges else "no transition uses it"
            out.append(
                Finding(
                    name,
                    "warning",
                    "event_never_enabled",
                    f"event {event!r} is never enabled: {why}",
                )
            )
    return out


def _reads_target(guards: tuple[str, ...]) -> bool:
    """A guard that looks at the destination (history) can tell same-event edges apart."""
    return any("target" in REGISTRY[g].reads for g in guards)


def _nondeterminism(machine: CompiledMachine) -> Iterator[Finding]:
    by_key: dict[tuple[str, str], list[Transition]] = {}
    for t in machine.edges:
        by_key.setdefault((t.src, t.event), []).append(t)
    for (src, event), edges in by_key.items():
        for a, b in itertools.combinations(edges, 2):
            if a.dst != b.dst and set(a.guards) == set(b.guards) and not _reads_target(a.guards):
                yield Finding(
                    machine.name,
                    "error",
                    "ambiguous_event",
                    f"{src} on {event!r} goes to {a.dst} or {b.dst} and no guard tells them apart",
                )
