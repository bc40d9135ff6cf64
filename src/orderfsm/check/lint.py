"""Structural lint of a compiled table (shipped or user-supplied).

Errors make ``orderfsm check`` fail; warnings are listed. Quarantine states (holding
places for unrecognised statuses, entered only by ingest) are exempt from the
reachability rules but must have no transitions at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

from orderfsm.model.collector import collector_paused
from orderfsm.model.compile import CompiledMachine, with_variables
from orderfsm.model.guards import REGISTRY, GuardContext
from orderfsm.model.search import breadth_first
from orderfsm.model.table import Transition

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


MAX_PER_RULE = 20
"""Findings listed per rule and machine; the rest are counted in one summary finding."""


def _reachable(machine: CompiledMachine, start: str) -> set[str]:
    found, _ = breadth_first(
        [start], lambda name: ((t, t.dst) for t in machine.transitions_from(name) if t.dst)
    )
    return set(found)


def _reaching(machine: CompiledMachine, goals: set[str]) -> set[str]:
    """Every status from which some status in ``goals`` can be reached (goals included)."""
    entering: dict[str, list[Transition]] = {}
    for t in machine.edges:
        if t.dst:
            entering.setdefault(t.dst, []).append(t)
    found, _ = breadth_first(goals, lambda name: ((t, t.src) for t in entering.get(name, ())))
    return set(found)


def can_pass(
    machine: CompiledMachine,
    t: Transition,
    event_guards: tuple[str, ...],
    edge_guards: tuple[str, ...],
) -> bool:
    """Whether some context passes all ``event_guards`` (which see no target) and all
    ``edge_guards`` (which see ``t``'s destination) when ``t``'s event is tried.

    Only what the guards read is enumerated (:meth:`CompiledMachine.guard_contexts`), and
    of the variables only those they read (:meth:`CompiledMachine.explore`), so the cost
    does not grow with variables, parents or history states no guard looks at.
    """
    guards = (*event_guards, *edge_guards)
    reads = {r for g in guards for r in REGISTRY[g].reads}
    target = machine.table.state(t.dst) if t.dst else None

    def passes(ctx: GuardContext) -> bool:
        untargeted = replace(ctx, target=None) if event_guards else ctx
        return all(REGISTRY[g].check(untargeted) for g in event_guards) and all(
            REGISTRY[g].check(ctx) for g in edge_guards
        )

    for base in machine.guard_contexts(t.event, t.src, target, reads):
        if "variables" not in reads:
            if passes(base):
                return True
        elif any(ok for _, ok in machine.explore(with_variables(passes, base))):
            return True
    return False


def _edge_can_fire(machine: CompiledMachine, t: Transition) -> tuple[bool, list[str]]:
    """Whether some context passes every guard of ``t``; and the guards that never pass."""
    event_guards = machine.event(t.event).guards
    dead = [g for g in event_guards if not can_pass(machine, t, (g,), ())]
    dead += [g for g in t.guards if not can_pass(machine, t, (), (g,))]
    if dead:
        return False, dead
    if len(event_guards) + len(t.guards) <= 1:
        return True, []
    return can_pass(machine, t, event_guards, t.guards), []


@collector_paused()
def lint(machine: CompiledMachine) -> list[Finding]:
    """Every structural finding for ``machine``, errors and warnings, in a stable order.

    Near-linear in states + transitions. Each rule lists at most :data:`MAX_PER_RULE`
    findings per machine, then one finding counting the rest.
    """
    name = machine.name
    out: list[Finding] = []
    reachable = _reachable(machine, machine.initial.name)
    finals = {s.name for s in machine.states if s.final}
    reach_final = _reaching(machine, finals)
    touching: dict[str, int] = {}
    for t in machine.edges:
        touching[t.src] = touching.get(t.src, 0) + 1
        if t.dst and t.dst != t.src:
            touching[t.dst] = touching.get(t.dst, 0) + 1
    for s in machine.states:
        if s.quarantine:
            if touching.get(s.name):
                out.append(
                    Finding(
                        name,
                        "error",
                        "quarantine_with_transitions",
                        f"{s} is a quarantine state but has {touching[s.name]} transition(s)",
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
        if not s.final and s.name not in reach_final:
            out.append(
                Finding(
                    name, "error", "no_way_to_final", f"no final status can be reached from {s}"
                )
            )
    out.extend(_nondeterminism(machine))
    fired_events: set[str] = set()
    unguarded = {e: not machine.event(e).guards for e in machine.event_names}
    for t in machine.edges:
        if not t.guards and unguarded[t.event]:  # nothing can stop it
            fired_events.add(t.event)
            continue
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
    with_edges = {t.event for t in machine.edges}
    for event in machine.event_names:
        if event not in fired_events:
            why = (
                "its transitions can never fire" if event in with_edges else "no transition uses it"
            )
            out.append(
                Finding(
                    name,
                    "warning",
                    "event_never_enabled",
                    f"event {event!r} is never enabled: {why}",
                )
            )
    return _capped(out)


def _capped(findings: list[Finding]) -> list[Finding]:
    """At most :data:`MAX_PER_RULE` findings per rule, then one counting the rest."""
    kept: list[Finding] = []
    extra: dict[tuple[str, str, Level], int] = {}
    seen: dict[str, int] = {}
    for f in findings:
        seen[f.rule] = seen.get(f.rule, 0) + 1
        if seen[f.rule] <= MAX_PER_RULE:
            kept.append(f)
        else:
            key = (f.machine, f.rule, f.level)
            extra[key] = extra.get(key, 0) + 1
    for (machine, rule, level), more in extra.items():
        kept.append(
            Finding(machine, level, rule, f"... and {more} more {rule} finding(s) not listed")
        )
    return kept


def _reads_target(guards: tuple[str, ...]) -> bool:
    """A guard that looks at the destination (history) can tell same-event edges apart."""
    return any("target" in REGISTRY[g].reads for g in guards)


_NO_GUARDS: frozenset[str] = frozenset()


def _nondeterminism(machine: CompiledMachine) -> Iterator[Finding]:
    """One finding per (status, event, guards) whose edges go to more than one status with
    nothing to tell them apart; linear in the edges, however many share a source."""
    groups: dict[tuple[str, str, frozenset[str]], list[str]] = {}
    for t in machine.edges:
        if t.dst and not (t.guards and _reads_target(t.guards)):
            guards = frozenset(t.guards) if t.guards else _NO_GUARDS
            dsts = groups.setdefault((t.src, t.event, guards), [])
            if t.dst not in dsts:
                dsts.append(t.dst)
    for (src, event, _), dsts in groups.items():
        if len(dsts) > 1:
            shown = " or ".join(dsts[:5]) + (
                f" (and {len(dsts) - 5} more)" if len(dsts) > 5 else ""
            )
            yield Finding(
                machine.name,
                "error",
                "ambiguous_event",
                f"{src} on {event!r} goes to {shown} and no guard tells them apart",
            )
