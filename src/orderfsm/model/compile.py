"""Compile a validated table into an immutable machine: a compiled index plus its reference.

The compiled machine is built once per table and shared by every order that uses it.
Its pure core is :meth:`CompiledMachine.transition` (``status, event -> Step``, or a
typed rejection); the stateful orders in :mod:`orderfsm.orders.taobao` are a convenience on
top of it. Every query and every step runs on the index (dicts from status and event to
candidate edges, resolved once at compile time). The ``transitions`` engine built from
the same edges is the reference semantics: what it accepts is what the library accepts.
The differential test drives both on every shipped machine; ``load(..., verify=True)``
runs every step through both and raises on a disagreement, for a user's own checks.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from orderfsm.errors import (
    IllegalTransition,
    InvalidOrderState,
    OrderFsmError,
    TableError,
    TransitionRejected,
    UnknownActor,
    UnknownEvent,
    UnknownMachine,
    UnknownStatus,
)
from orderfsm.model.collector import collector_paused
from orderfsm.model.explain import ACCEPTED_RULE, Explanation, actors_of
from orderfsm.model.guards import HISTORY_GUARD, REGISTRY, GuardContext
from orderfsm.model.table import (
    ACTORS,
    Code,
    Event,
    State,
    Table,
    Transition,
    Variable,
    slot_setters,
)

if TYPE_CHECKING:
    from pathlib import Path

    from transitions import Machine

StatusLike = int | str | State

SHIPPED_TABLES = ("taobao_order", "taobao_refund", "icbu_trade", "ka_pool_order")

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True, repr=False)
class Step:
    """The result of one accepted event: where it went, and the table edge that took it."""

    source: State
    target: State
    event: str
    actor: str
    transition: Transition

    def __repr__(self) -> str:
        """One line: the move, the event and who did it (the edge's provenance stays in
        ``transition``)."""
        return f"<Step {self.source} -> {self.target} on {self.event!r} by {self.actor}>"


@dataclass(frozen=True, slots=True)
class _Edge:
    """One candidate edge of the index: the table edge, its target resolved, its guards,
    and the :class:`Step` taking it returns (immutable, so built once and shared)."""

    transition: Transition
    target: State
    guards: tuple[str, ...]
    step: Step


_STEP_SETTERS = slot_setters(Step, "source", "target", "event", "actor", "transition")
_EDGE_SETTERS = slot_setters(_Edge, "transition", "target", "guards", "step")


def _step(source: State, target: State, event: str, actor: str, transition: Transition) -> Step:
    """``Step(...)`` built as :func:`~orderfsm.model.table.slot_setters` says."""
    step: Step = object.__new__(Step)
    s_source, s_target, s_event, s_actor, s_transition = _STEP_SETTERS
    s_source(step, source)
    s_target(step, target)
    s_event(step, event)
    s_actor(step, actor)
    s_transition(step, transition)
    return step


def _edge(transition: Transition, target: State, guards: tuple[str, ...], step: Step) -> _Edge:
    """``_Edge(...)`` built as :func:`~orderfsm.model.table.slot_setters` says."""
    edge: _Edge = object.__new__(_Edge)
    s_transition, s_target, s_guards, s_step = _EDGE_SETTERS
    s_transition(edge, transition)
    s_target(edge, target)
    s_guards(edge, guards)
    s_step(edge, step)
    return edge


@dataclass(frozen=True, slots=True)
class _Refusal:
    """Why the index refused an event, kept cheap: the exception is built only if raised."""

    kind: Literal["guard", "final", "no_edge"]
    guard: str = ""
    edge: str = ""


_PLAIN: frozenset[type] = frozenset({int, str})


class _Recorder(Mapping[str, str]):
    """Variables for :meth:`CompiledMachine.explore`: the assigned ones as given, every
    other one at its default, noting (in order) each unassigned one that is read."""

    __slots__ = ("_assigned", "_defaults", "read")

    def __init__(self, assigned: Mapping[str, str], defaults: Mapping[str, str]) -> None:
        self._assigned = assigned
        self._defaults = defaults
        self.read: list[str] = []

    def __getitem__(self, key: str) -> str:
        if key in self._assigned:
            return self._assigned[key]
        value = self._defaults[key]  # an undeclared name: KeyError, as from any mapping
        if key not in self.read:
            self.read.append(key)
        return value

    def __iter__(self) -> Iterator[str]:
        for key in self._defaults:
            self[key]  # looking at every name reads every variable
            yield key

    def __len__(self) -> int:
        return len(self._defaults)


def _expand(table: Table) -> tuple[Transition, ...]:
    """Replace each history transition by one concrete edge per status that can enter its source.

    Each expanded edge carries the ``returns_to_history`` guard, so only the edge back to
    the remembered status can pass.
    """
    order = {s.name: i for i, s in enumerate(table.states)}
    entering: dict[str, set[str]] = {}
    for e in table.transitions:
        if e.dst is not None and e.dst != e.src:
            entering.setdefault(e.dst, set()).add(e.src)
    out: list[Transition] = []
    for t in table.transitions:
        if not t.history:
            out.append(t)
            continue
        entries = sorted(entering.get(t.src, ()), key=order.__getitem__)
        out.extend(replace(t, dst=src, guards=(*t.guards, HISTORY_GUARD)) for src in entries)
    return tuple(out)


@dataclass(frozen=True, slots=True, eq=False)
class CompiledMachine:
    """An immutable compiled table. Build with :func:`load`; share freely between threads.

    Every query and :meth:`transition` run on a compiled index. The ``transitions`` engine
    built from the same edges is the reference semantics: :meth:`engine_transition` runs
    one event through it, and a machine loaded with ``load(..., verify=True)`` runs every
    :meth:`transition` and :meth:`allows` through both and raises :class:`OrderFsmError`
    if they disagree.
    """

    table: Table
    parent: CompiledMachine | None
    edges: tuple[Transition, ...]
    _lookup: Mapping[Code, State] = field(repr=False)
    _by_source: Mapping[str, tuple[Transition, ...]] = field(repr=False)
    _by_source_event: Mapping[tuple[str, str], tuple[_Edge, ...]] = field(repr=False)
    _events: Mapping[str, Event] = field(repr=False)
    _reference: _Reference = field(repr=False)
    _defaults: Mapping[str, str] = field(repr=False)
    _pairs: frozenset[tuple[Code, Code]] = field(repr=False)
    _successors: Mapping[str, tuple[State, ...]] = field(repr=False)
    _events_from: Mapping[str, tuple[str, ...]] = field(repr=False)
    _initial: State = field(repr=False)
    _declared: Mapping[str, Variable] = field(repr=False)
    _event_names: tuple[str, ...] = field(repr=False)
    verify: bool = False

    # ------------------------------------------------------------------ queries
    @property
    def name(self) -> str:
        return self.table.name

    @property
    def states(self) -> tuple[State, ...]:
        """Every status, in table order."""
        return self.table.states

    @property
    def initial(self) -> State:
        return self._initial

    @property
    def event_names(self) -> tuple[str, ...]:
        return self._event_names

    def event(self, name: str) -> Event:
        """The declared event ``name``; :class:`UnknownEvent` if the table has none."""
        try:
            return self._events[name]
        except (KeyError, TypeError):  # TypeError: an unhashable "name"
            raise UnknownEvent(
                f"{self.name}: unknown event {name!r}; events are: {', '.join(self._events)}"
            ) from None

    def status(self, value: StatusLike) -> State:
        """Resolve an int code, enum name, alias or raw platform string to its status."""
        if isinstance(value, State):
            value = value.name
        if value.__class__ in _PLAIN or (
            not isinstance(value, bool) and isinstance(value, int | str)
        ):
            found = self._lookup.get(value)
            if found is not None:
                return found
        raise UnknownStatus(self.name, value, self._valid_values())

    def _valid_values(self) -> list[str]:
        return [
            f"{s.code!r}/{s.name}" + (f"/{s.raw}" if s.raw and s.raw != s.name else "")
            for s in self.states
        ]

    def has_edge(self, src: StatusLike, dst: StatusLike) -> bool:
        """Whether any transition of the table goes from ``src`` to ``dst``, guards aside:
        the cell of the transition matrix. Whether an *event* would be accepted, guards
        included, is :meth:`allows` (and :meth:`enabled` lists those events)."""
        # The pair set holds every edge by codes and by names; an exact int or str pair
        # found there needs no resolving. Anything else (aliases, raw strings, State,
        # bools that would hash like 0 and 1) is resolved first.
        if src.__class__ in _PLAIN and dst.__class__ in _PLAIN and (src, dst) in self._pairs:
            return True
        return (self.status(src).name, self.status(dst).name) in self._pairs

    def successors(self, src: StatusLike) -> tuple[State, ...]:
        """The statuses one transition away from ``src``, in table order, guards aside."""
        return self._successors[self.status(src).name]

    def events(self, src: StatusLike) -> tuple[str, ...]:
        """The events that have a transition leaving ``src``, in table order, guards aside."""
        return self._events_from[self.status(src).name]

    @property
    def parent_statuses(self) -> tuple[State | None, ...]:
        """Every status the enclosing order can be in (``(None,)`` without a parent)."""
        return tuple(self.parent.states) if self.parent else (None,)

    def contexts(
        self, parent: StatusLike | None = None, fixed: Sequence[tuple[str, str]] = ()
    ) -> Iterator[tuple[State | None, dict[str, str]]]:
        """Every (parent status, variables) that can decide an event of this machine.

        ``parent`` pins the enclosing order's status (an unknown one yields nothing);
        ``fixed`` pins some variables' values. Lint, the checker and path search all
        enumerate guard contexts through this one method. Only what the table's guards
        read is enumerated, lazily: every parent status if a guard reads the parent
        (else one), every combination of the variables guards read (the others at their
        defaults), so a table's variables cost nothing unless a guard looks at them.
        """
        parents: Sequence[State | None] = self.parent_statuses
        if parent is not None and self.parent is not None:
            try:
                parents = (self.parent.status(parent),)
            except UnknownStatus:
                return
        reads = self._guard_reads()
        if "parent" not in reads:
            parents = parents[:1]
        pinned = dict(fixed)
        read = self._variables_read() if "variables" in reads else frozenset()
        names = [v.name for v in self.table.variables]
        domains = [
            (pinned[v.name],)
            if v.name in pinned
            else (v.values if v.name in read else (v.default,))
            for v in self.table.variables
        ]
        for p in parents:
            for values in itertools.product(*domains):
                yield p, dict(zip(names, values, strict=True))

    def explore(
        self,
        predicate: Callable[[Mapping[str, str]], bool],
        fixed: Mapping[str, str] | None = None,
    ) -> Iterator[tuple[dict[str, str], bool]]:
        """``predicate`` on every assignment of the variables it reads; each other variable
        stays at its default (or its value in ``fixed``).

        Yields each distinct assignment (complete, all variables) with the predicate's
        result. The predicate is given a mapping that notes which variables it reads, and
        only those are branched on, so the cost is the product of the read variables'
        domains, not of all of them.
        """
        for assignment, result, _ in self._explore(predicate, fixed or {}):
            yield assignment, result

    def _explore(
        self, predicate: Callable[[Mapping[str, str]], bool], fixed: Mapping[str, str]
    ) -> Iterator[tuple[dict[str, str], bool, list[str]]]:
        domains = {v.name: v.values for v in self.table.variables}
        defaults = {**self._defaults, **fixed}
        stack: list[dict[str, str]] = [dict(fixed)]
        while stack:
            assigned = stack.pop()
            seen = _Recorder(assigned, defaults)
            result = predicate(seen)
            yield {**defaults, **assigned}, result, seen.read
            # This run covered every read variable at its default; branch on each other
            # value of each, in the order read, with the ones read before it at default.
            for i, key in enumerate(seen.read):
                base = {**assigned, **{k: defaults[k] for k in seen.read[:i]}}
                stack.extend(
                    {**base, key: value} for value in domains[key] if value != defaults[key]
                )

    def guard_contexts(
        self, event: str, status: StatusLike, target: State | None, reads: Collection[str]
    ) -> Iterator[GuardContext]:
        """The contexts a guard that reads ``reads`` can tell apart, for ``event`` tried in
        ``status`` toward ``target``: every parent status if it reads the parent (else
        one), every remembered status and none if it reads the history (else none), every
        sub-order status and none if it reads the sub-order's own status (else none), the
        variables at their defaults (:meth:`explore` branches on those)."""
        parents = self.parent_statuses if "parent" in reads else self.parent_statuses[:1]
        histories = (None, *self.states) if "history" in reads else (None,)
        subs = self.sub_order_statuses if "sub_order" in reads else (None,)
        state = self.status(status)
        for parent in parents:
            for history in histories:
                for sub_order in subs:
                    yield GuardContext(
                        machine=self.name,
                        event=event,
                        status=state,
                        target=target,
                        parent=parent,
                        variables=self._defaults,
                        history=history,
                        sub_order=sub_order,
                    )

    @property
    def sub_order_statuses(self) -> tuple[State | None, ...]:
        """Every own status a sub-order can report when a guard reads it, and not knowing
        it (``None``); ``(None,)`` for a machine without a parent or whose guards do not
        read it."""
        if self.parent is None or "sub_order" not in self._guard_reads():
            return (None,)
        return (None, *self.parent.states)

    def derived(self, key: str, build: Callable[[], _T]) -> _T:
        """A value derived from this machine alone, built by ``build`` on first use and
        kept with the machine (machines are immutable, so it never goes stale; two threads
        racing may each build it once, and the first kept wins). ``key`` names it: one
        name, one kind of value."""
        memo = self._reference.memo
        try:
            value: _T = memo[key]
        except KeyError:
            value = memo.setdefault(key, build())
        return value

    def _guard_reads(self) -> frozenset[str]:
        """Everything any guard of this table reads (``status``, ``parent``, ...)."""

        def build() -> frozenset[str]:
            guards = {g for e in self.table.events for g in e.guards}
            guards.update(g for t in self.edges for g in t.guards)
            return frozenset(r for g in guards for r in REGISTRY[g].reads)

        return self.derived("guard_reads", build)

    def _variables_read(self) -> frozenset[str]:
        """The variables some guard of this table reads, in some context it is tried in."""

        def build() -> frozenset[str]:
            read: set[str] = set()
            for t in self.edges:
                for g in (*self._events[t.event].guards, *t.guards):
                    guard = REGISTRY[g]
                    if "variables" not in guard.reads:
                        continue
                    target = self.table.state(t.dst) if t.dst and g in t.guards else None
                    for base in self.guard_contexts(t.event, t.src, target, guard.reads):
                        for _, _, names in self._explore(with_variables(guard.check, base), {}):
                            read.update(names)
            return frozenset(read)

        return self.derived("variables_read", build)

    @property
    def history_states(self) -> frozenset[str]:
        """Names of the history states: sources of a ``history = true`` transition."""
        return self._reference.history_states

    def history_sources(self, state: StatusLike) -> tuple[State, ...]:
        """The statuses a history state can be entered from (what it may remember): the
        sources of its entering edges, itself excluded, exactly as history edges expand."""
        name = self.status(state).name
        return tuple(s for s in self.states if s.name != name and self.has_edge(s.name, name))

    def check_remembered(self, status: StatusLike, remembered: StatusLike) -> State:
        """Validate what an order in ``status`` remembers, and return it as a status.

        Only a history state remembers anything, and only a status it can be entered
        from; otherwise :class:`InvalidOrderState` says which statuses are possible.
        """
        current = self.status(status)
        if current.name not in self.history_states:
            raise InvalidOrderState(
                f"{self.name}: only a history status "
                f"({', '.join(sorted(self.history_states)) or 'none here'}) remembers a "
                f"previous status, not {current}"
            )
        value = self.status(remembered)
        sources = self.history_sources(current)
        if value not in sources:
            raise InvalidOrderState(
                f"{self.name}: {current} cannot have been entered from {value}; "
                f"it can from: {', '.join(str(s) for s in sources)}"
            )
        return value

    def remembered_after(self, step: Step, remembered: State | None) -> State | None:
        """What an order remembers after ``step``: the status it left to enter a history state.

        Entering a history state remembers the step's source; moving within history
        states keeps ``remembered``; leaving them forgets it.
        """
        if step.target.name not in self.history_states:
            return None
        if step.source.name in self.history_states:
            return remembered
        return step.source

    def variables(self, given: Mapping[str, str] | None = None) -> dict[str, str]:
        """The table's variables at their defaults, overridden by ``given``, validated.

        Raises :class:`InvalidOrderState` for an undeclared variable or a value the table
        does not list.
        """
        declared = self._declared
        out = dict(self._defaults)
        for name, value in (given or {}).items():
            var = declared.get(name)
            if var is None:
                raise InvalidOrderState(
                    f"{self.name}: unknown variable {name!r}; declared: "
                    f"{', '.join(declared) or 'none'}"
                )
            if value not in var.values:
                raise InvalidOrderState(
                    f"{self.name}: {name} = {value!r} is not allowed; values: "
                    f"{', '.join(var.values)}"
                )
            out[name] = value
        return out

    def transitions_from(self, src: StatusLike) -> tuple[Transition, ...]:
        """The table edges leaving ``src`` (history transitions expanded)."""
        return self._by_source[self.status(src).name]

    # ------------------------------------------------------------------ the pure core
    def transition(
        self,
        status: StatusLike,
        event: str,
        *,
        parent: StatusLike | None = None,
        variables: Mapping[str, str] | None = None,
        history: StatusLike | None = None,
        sub_order: StatusLike | None = None,
    ) -> Step:
        """Apply ``event`` to ``status`` and return the :class:`Step`, or raise why not.

        Pure: nothing is stored. ``parent`` is the enclosing order's status (for a
        sub-order machine), ``variables`` the order's extended state, ``history`` the
        status remembered before a history state, ``sub_order`` the sub-order's own
        status in the parent's enum (Taobao ``subOrderStatus``), when known. Raises :class:`UnknownStatus`,
        :class:`UnknownEvent`, or a :class:`TransitionRejected` subclass naming the rule.
        """
        probe, chosen = self._decide(status, event, parent, variables, history, sub_order=sub_order)
        if isinstance(chosen, _Refusal):
            assert probe is not None  # refusals come from the general path
            raise self._reject(probe, chosen)
        return chosen.step

    def allows(
        self,
        status: StatusLike,
        event: str,
        *,
        parent: StatusLike | None = None,
        variables: Mapping[str, str] | None = None,
        history: StatusLike | None = None,
        sub_order: StatusLike | None = None,
    ) -> bool:
        """Whether :meth:`transition` would accept ``event``; unknown values still raise."""
        _, chosen = self._decide(status, event, parent, variables, history, sub_order=sub_order)
        return not isinstance(chosen, _Refusal)

    def _decide(
        self,
        status: StatusLike,
        event: str,
        parent: StatusLike | None,
        variables: Mapping[str, str] | None,
        history: StatusLike | None,
        *,
        sub_order: StatusLike | None = None,
    ) -> tuple[GuardContext | None, _Edge | _Refusal]:
        """The index's decision (confirmed by the engine on a verifying machine), with the
        context it was decided in; ``None`` when no guard was involved and none was built."""
        if (
            parent is None
            and variables is None
            and history is None
            and sub_order is None
            and not self.verify
        ):
            unguarded = self._unguarded(status, event)
            if unguarded is not None:
                return None, unguarded
        probe = self._probe(status, event, parent, variables, history, sub_order=sub_order)
        chosen = self._choose(probe)
        if self.verify:
            self._reference.confirm(self, probe, chosen)
        return probe, chosen

    def enabled(
        self,
        status: StatusLike,
        *,
        parent: StatusLike | None = None,
        variables: Mapping[str, str] | None = None,
        history: StatusLike | None = None,
        sub_order: StatusLike | None = None,
        actor: str | None = None,
    ) -> tuple[str, ...]:
        """The events that would be accepted in ``status`` with this context, guards
        included; with ``actor``, only those that actor does (as the table labels the edge
        each would take: ``buyer``, ``seller``, ``finance``, ``platform``)."""
        if actor is not None and actor not in ACTORS:
            raise UnknownActor(f"unknown actor {actor!r}; actors are: {', '.join(ACTORS)}")
        names = self.events(status)
        if not names:
            return ()
        probe = self._probe(status, names[0], parent, variables, history, sub_order=sub_order)
        return tuple(
            e
            for e in names
            if not isinstance(
                chosen := self._choose(probe if e == probe.event else _retry(probe, e)), _Refusal
            )
            and actor in (None, chosen.step.actor)
        )

    def engine_transition(
        self,
        status: StatusLike,
        event: str,
        *,
        parent: StatusLike | None = None,
        variables: Mapping[str, str] | None = None,
        history: StatusLike | None = None,
        sub_order: StatusLike | None = None,
    ) -> Step:
        """:meth:`transition` computed by the reference ``transitions`` engine instead.

        Slow (the engine is built on first use and fires with its callbacks and logging);
        for checks, not for the hot path. Same arguments, results and exceptions as
        :meth:`transition` whenever the index and the engine agree, which
        ``load(..., verify=True)`` asserts on every call.
        """
        probe = self._probe(status, event, parent, variables, history, sub_order=sub_order)
        chosen = self._reference.run(self, probe)
        if isinstance(chosen, _Refusal):
            raise self._reject(probe, chosen)
        return chosen.step

    def _unguarded(self, status: StatusLike, event: str) -> _Edge | None:
        """The edge ``event`` takes from ``status`` when no guard is involved at all: no
        event-level guard, and the first candidate edge has none. Then no context can
        change the outcome, and none is built. ``None`` means: take the general path."""
        state = self.status(status)
        if event.__class__ is not str or state.final:
            return None
        declared = self._events.get(event)
        if declared is None or declared.guards:
            return None
        candidates = self._by_source_event.get((state.name, event))
        if not candidates or candidates[0].guards:
            return None
        return candidates[0]

    def _probe(
        self,
        status: StatusLike,
        event: str,
        parent: StatusLike | None,
        variables: Mapping[str, str] | None,
        history: StatusLike | None,
        *,
        sub_order: StatusLike | None = None,
    ) -> GuardContext:
        """Resolve the arguments once into the context every guard of this attempt reads."""
        state = self.status(status)
        self.event(event)
        parent_state = self._parent_status(parent)
        sub_order_state = self._parent_status(sub_order)
        return GuardContext(
            machine=self.name,
            event=event,
            status=state,
            target=None,
            parent=parent_state,
            variables=(
                self._defaults if variables is None else MappingProxyType(self.variables(variables))
            ),
            history=None if history is None else self.status(history),
            sub_order=sub_order_state,
        )

    def _parent_status(self, value: StatusLike | None) -> State | None:
        """A status of the enclosing order's machine (the parent's, or a sub-order's own)."""
        if value is None:
            return None
        if self.parent is None:
            raise UnknownStatus(self.name, value, ["(this machine has no parent order)"])
        return self.parent.status(value)

    def _choose(self, probe: GuardContext) -> _Edge | _Refusal:
        """The edge the index takes for ``probe``, or why it refuses: event-level guards
        first, then the final status, then the first edge whose guards all pass."""
        for name in self._events[probe.event].guards:
            if not REGISTRY[name].check(probe):
                return _Refusal("guard", name)
        if probe.status.final:
            return _Refusal("final")
        candidates = self._by_source_event.get((probe.status.name, probe.event), ())
        if not candidates:
            return _Refusal("no_edge")
        first_failure: _Refusal | None = None
        for c in candidates:
            if not c.guards:
                return c
            ctx = _aimed(probe, c.target)
            failed = next((g for g in c.guards if not REGISTRY[g].check(ctx)), None)
            if failed is None:
                return c
            if first_failure is None:
                edge = f"{c.transition.src} -> {c.transition.dst}" if len(candidates) == 1 else ""
                first_failure = _Refusal("guard", failed, edge)
        assert first_failure is not None
        return first_failure

    def _reject(self, probe: GuardContext, refusal: _Refusal) -> TransitionRejected:
        """The exception for ``refusal``, naming the rule and the events allowed instead."""
        kind: type[TransitionRejected]
        if refusal.kind == "guard":
            g = REGISTRY[refusal.guard]
            edge = f" (edge {refusal.edge})" if refusal.edge else ""
            kind, message, rule, source = g.error, f"{g.rule}{edge}", g.rule, g.source
        elif refusal.kind == "final":
            kind, message = TransitionRejected, "a final status accepts no event"
            rule, source = "final statuses accept nothing", _cite(probe.status)
        else:
            kind = IllegalTransition
            message = f"no transition leaves {probe.status.name} on {probe.event!r}"
            rule, source = "the transition table", self.table.source or self.table.file
        allowed, actors, alternatives = self._instead(probe)
        where = f"{probe.status}" + (f" (main order: {probe.parent})" if probe.parent else "")
        return kind(
            f"{self.name}: {probe.event!r} refused in {where}: {message}",
            rule=rule,
            source=source,
            status=str(probe.status),
            allowed=allowed,
            actors=actors,
            alternatives=alternatives,
        )

    def _instead(
        self, probe: GuardContext
    ) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """What is allowed instead of ``probe.event`` in its context: every other accepted
        event, who does ``probe.event`` here, and the accepted events those actors do."""
        taken = {
            e: chosen.step.actor
            for e in self.events(probe.status)
            if e != probe.event
            and not isinstance(chosen := self._choose(_retry(probe, e)), _Refusal)
        }
        actors = self.actors(probe.status, probe.event)
        alternatives = tuple(e for e, actor in taken.items() if actor in actors)
        return tuple(taken), actors, alternatives

    def actors(self, status: StatusLike, event: str) -> tuple[str, ...]:
        """Who does ``event`` in ``status``, as the table labels its edges (``buyer``,
        ``seller``, ``finance``, ``platform``): the actors of the edges leaving ``status``
        on ``event``, or, where none leaves it, of every edge of the event."""
        self.event(event)
        here = self._by_source_event.get((self.status(status).name, event))
        edges = (
            [c.transition for c in here] if here else [t for t in self.edges if t.event == event]
        )
        return actors_of(t.actor for t in edges)

    def explain(
        self,
        status: StatusLike,
        event: str,
        *,
        parent: StatusLike | None = None,
        variables: Mapping[str, str] | None = None,
        history: StatusLike | None = None,
        sub_order: StatusLike | None = None,
    ) -> Explanation:
        """Whether :meth:`transition` would accept ``event``, and why, without raising for
        a refusal (unknown values still raise): a refused answer carries exactly the fields
        of the rejection :meth:`transition` raises; see :class:`Explanation`."""
        probe = self._probe(status, event, parent, variables, history, sub_order=sub_order)
        chosen = self._choose(probe)
        if self.verify:
            self._reference.confirm(self, probe, chosen)
        if isinstance(chosen, _Refusal):
            return Explanation.refused(self.name, event, self._reject(probe, chosen))
        allowed, actors, alternatives = self._instead(probe)
        edge = chosen.transition
        source = _cite_edge(edge, self.table)
        return Explanation(
            self.name,
            event,
            str(probe.status),
            True,
            ACCEPTED_RULE,
            source,
            allowed,
            actors,
            alternatives,
            target=chosen.target,
        )

    def under(self, parent: CompiledMachine) -> CompiledMachine:
        """This table compiled as the sub-order machine of ``parent`` (e.g. the shipped
        ``taobao_refund`` rules under an edited ``taobao_order`` machine). ``parent`` must
        be a machine of the name the table's ``machine.parent`` gives, else TableError."""
        if parent.name != self.table.parent:
            raise TableError(
                self.table.file,
                "machine.parent",
                f"{self.name} runs under a {self.table.parent or 'no'} machine, "
                f"not under {parent.name}",
            )
        return compile_table(self.table, parent, verify=self.verify)

    # ------------------------------------------------------------------ a container of statuses
    def __len__(self) -> int:
        return len(self.states)

    def __iter__(self) -> Iterator[State]:
        """The statuses, in table order."""
        return iter(self.states)

    def __contains__(self, value: object) -> bool:
        """Whether ``value`` names a status here: a code, enum name, alias, raw string, or
        one of this machine's :class:`State` objects. Anything else is ``False``, never an
        error."""
        if isinstance(value, State):
            return value in self.states
        if not isinstance(value, int | str):
            return False
        try:
            self.status(value)
        except UnknownStatus:
            return False
        return True

    # ------------------------------------------------------------------ a shared immutable value
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompiledMachine):
            return NotImplemented
        return self is other or (self.table == other.table and self.parent == other.parent)

    def __hash__(self) -> int:
        return hash(self.name)

    def __copy__(self) -> CompiledMachine:
        return self  # immutable: a copy may be the machine itself

    def __deepcopy__(self, memo: dict[int, object]) -> CompiledMachine:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle a shipped machine by name (it unpickles to the process's shared instance),
        any other by its table and parent (it is compiled again on unpickling)."""
        if self.name in SHIPPED_TABLES and load(self.name, verify=self.verify) is self:
            return (_reload, (self.name, self.verify))
        return (_recompile, (self.table, self.parent, self.verify))

    def __repr__(self) -> str:
        return f"<CompiledMachine {self.name}: {len(self.states)} states, {len(self.edges)} edges>"


def with_variables(
    check: Callable[[GuardContext], bool], base: GuardContext
) -> Callable[[Mapping[str, str]], bool]:
    """``check`` as a predicate over the variables, in ``base`` otherwise (for explore)."""
    return lambda variables: check(replace(base, variables=variables))


def _aimed(probe: GuardContext, target: State | None) -> GuardContext:
    """``probe`` with the target of the edge being tried."""
    return replace(probe, target=target)


def _retry(probe: GuardContext, event: str) -> GuardContext:
    """``probe`` for another event of the same status and context."""
    return replace(probe, event=event)


def _cite_edge(edge: Transition, table: Table) -> str:
    sources = edge.provenance.sources
    if sources:
        return str(sources[0])
    return f"inferred: {edge.provenance.basis}" if edge.provenance.basis else table.source


def _cite(state: State) -> str:
    sources = state.provenance.sources
    return str(sources[0]) if sources else f"inferred: {state.provenance.basis}"


@dataclass(slots=True)
class _Cursor:
    """The engine's model: just a state name, so one engine serves every order."""

    state: str


class _Reference:
    """The reference semantics: the ``transitions`` engine for a machine's edges, built on
    first use (the hot path never needs it) and then shared.

    Every guard is handed to the engine as a callable (never as a string, which
    ``transitions`` would resolve by importing a dotted path); event-level guards are
    prepended to the conditions of each of the event's edges, and to one never-taken
    internal edge from every status the event has no edge from, so the engine checks them
    in every status as the table format says. Conditions note the first guard that failed
    and the edge taken, so a refusal can be classified the way the index classifies it.
    """

    def __init__(self, table: Table, edges: tuple[Transition, ...]) -> None:
        self.history_states = frozenset(t.src for t in table.transitions if t.history)
        self._table = table
        self._edges = edges
        self._engine: Machine | None = None
        self._lock = threading.Lock()
        self.memo: dict[str, Any] = {}  # values derived from the machine (``derived``)

    def engine(self) -> Machine:
        with self._lock:
            if self._engine is None:
                self._engine = self._build()
            return self._engine

    def _build(self) -> Machine:
        from transitions import Machine  # noqa: PLC0415 - only the reference needs the engine

        table = self._table
        engine = Machine(
            model=None,
            states=[s.name for s in table.states],
            initial=table.initial,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
            name=table.name,
        )
        events = {e.name: e for e in table.events}
        for i, t in enumerate(self._edges):
            assert t.dst is not None
            target = table.state(t.dst)
            conditions = [_condition(g, target) for g in (*events[t.event].guards, *t.guards)]
            engine.add_transition(t.event, t.src, t.dst, conditions=[*conditions, _took(i)])
        for e in table.events:
            if e.guards:
                leaving = {t.src for t in self._edges if t.event == e.name}
                others: list[Any] = [s.name for s in table.states if s.name not in leaving]
                if others:
                    guards = [_condition(g, None) for g in e.guards]
                    engine.add_transition(e.name, others, None, conditions=[*guards, _never])
        return engine

    def run(self, machine: CompiledMachine, probe: GuardContext) -> _Edge | _Refusal:
        """Fire ``probe`` through the engine and read back the edge taken or the refusal."""
        from transitions import MachineError  # noqa: PLC0415

        cursor = _Cursor(probe.status.name)
        trace: list[tuple[str, object]] = []
        event = self.engine().events.get(probe.event)  # None: no edge anywhere uses it
        try:
            fired = event is not None and event.trigger(cursor, probe=probe, trace=trace)
        except MachineError:
            fired = False
        taken = [i for kind, i in trace if kind == "took"]
        if fired:
            assert len(taken) == 1 and isinstance(taken[0], int)
            t = self._edges[taken[0]]
            if cursor.state != t.dst:
                raise OrderFsmError(f"{machine.name}: engine took {t} but is in {cursor.state}")
            target = self._table.state(cursor.state)
            return _Edge(t, target, t.guards, Step(probe.status, target, t.event, t.actor, t))
        failed = next((str(g) for kind, g in trace if kind == "failed"), None)
        if failed is None:
            return _Refusal("final" if probe.status.final else "no_edge")
        candidates = machine.transitions_from(probe.status)
        same = [t for t in candidates if t.event == probe.event]
        edge = f"{same[0].src} -> {same[0].dst}" if len(same) == 1 else ""
        event_level = failed in machine.event(probe.event).guards
        return _Refusal("guard", failed, "" if event_level else edge)

    def confirm(
        self, machine: CompiledMachine, probe: GuardContext, chosen: _Edge | _Refusal
    ) -> None:
        """Raise :class:`OrderFsmError` unless the engine decides ``probe`` as ``chosen``."""
        reference = self.run(machine, probe)
        agree = (
            isinstance(reference, _Edge)
            and isinstance(chosen, _Edge)
            and reference.transition == chosen.transition
            and reference.target == chosen.target
        ) or reference == chosen
        if not agree:
            where = f"{probe.status} on {probe.event!r}"
            context = f"parent={probe.parent}, variables={dict(probe.variables)}, "
            raise OrderFsmError(
                f"{machine.name}: the compiled index and the transitions engine disagree in "
                f"{where} ({context}history={probe.history}): index {_said(chosen)}, "
                f"engine {_said(reference)}"
            )


def _said(outcome: _Edge | _Refusal) -> str:
    if isinstance(outcome, _Edge):
        return f"goes to {outcome.target.name}"
    return f"refuses ({outcome.kind}{' ' + outcome.guard if outcome.guard else ''})"


def _condition(guard_name: str, target: State | None) -> Callable[[Any], bool]:
    def condition(event_data: Any) -> bool:
        probe: GuardContext = event_data.kwargs["probe"]
        passed = REGISTRY[guard_name].check(_aimed(probe, target))
        if not passed:
            event_data.kwargs["trace"].append(("failed", guard_name))
        return passed

    condition.__name__ = f"guard_{guard_name}"
    return condition


def _took(index: int) -> Callable[[Any], bool]:
    def took(event_data: Any) -> bool:
        event_data.kwargs["trace"].append(("took", index))
        return True

    return took


def _never(event_data: Any) -> bool:
    """The condition of the internal edges that only carry event-level guards."""
    return False


def compile_table(
    table: Table, parent: CompiledMachine | None = None, *, verify: bool = False
) -> CompiledMachine:
    """Build the index (and, lazily, the reference engine) for a validated table."""
    edges = _expand(table)
    lookup: dict[Code, State] = {}
    for s in table.states:
        for key in (s.code, s.name, *s.aliases, *([s.raw] if s.raw else [])):
            lookup[key] = s
    by_source: dict[str, list[Transition]] = {s.name: [] for s in table.states}
    by_source_event: dict[tuple[str, str], list[_Edge]] = {}
    pairs: set[tuple[Code, Code]] = set()
    state = table.state_by_name.__getitem__  # once per edge end: no method call each time
    for t in edges:
        assert t.dst is not None
        source, target = state(t.src), state(t.dst)
        by_source[t.src].append(t)
        step = _step(source, target, t.event, t.actor, t)
        by_source_event.setdefault((t.src, t.event), []).append(_edge(t, target, t.guards, step))
        pairs.add((t.src, t.dst))
        pairs.add((source.code, target.code))
    events = {e.name: e for e in table.events}
    position = {s.name: i for i, s in enumerate(table.states)}
    event_position = {e: i for i, e in enumerate(events)}
    successors: dict[str, tuple[State, ...]] = {}
    events_from: dict[str, tuple[str, ...]] = {}
    for s in table.states:
        dsts = sorted({t.dst for t in by_source[s.name] if t.dst}, key=position.__getitem__)
        successors[s.name] = tuple(table.state(d) for d in dsts)
        names = {t.event for t in by_source[s.name]}
        events_from[s.name] = tuple(sorted(names, key=event_position.__getitem__))
    return CompiledMachine(
        table=table,
        parent=parent,
        edges=edges,
        _lookup=MappingProxyType(lookup),
        _by_source=MappingProxyType({k: tuple(v) for k, v in by_source.items()}),
        _by_source_event=MappingProxyType({k: tuple(v) for k, v in by_source_event.items()}),
        _events=MappingProxyType(events),
        _reference=_Reference(table, edges),
        _defaults=MappingProxyType({v.name: v.default for v in table.variables}),
        _pairs=frozenset(pairs),
        _successors=MappingProxyType(successors),
        _events_from=MappingProxyType(events_from),
        _initial=table.state(table.initial),
        _declared=MappingProxyType({v.name: v for v in table.variables}),
        _event_names=tuple(events),
        verify=verify,
    )


# ---------------------------------------------------------------------- loading

_cache: dict[tuple[str, bool], CompiledMachine] = {}
_file_cache: dict[tuple[str, bool], tuple[bytes, CompiledMachine]] = {}
_cache_lock = threading.RLock()
FILE_CACHE_SIZE = 64
"""How many table files (by resolved path) :func:`load` keeps compiled."""


def shipped_table(name: str) -> Table:
    """Read the table file shipped inside the package for machine ``name``."""
    if name not in SHIPPED_TABLES:
        raise UnknownMachine(
            f"no shipped machine named {name!r}; shipped machines are: {', '.join(SHIPPED_TABLES)}"
        )
    from importlib import resources  # noqa: PLC0415 - only to read a shipped table

    from orderfsm.model import reader  # noqa: PLC0415 - tables are read on first load

    ref = resources.files("orderfsm") / "data" / "tables" / f"{name}.toml"
    with resources.as_file(ref) as path:
        table = reader.read_table(path)
    return replace(table, file=f"orderfsm/data/tables/{name}.toml")


def load(source: str | Path | Mapping[str, Any], *, verify: bool = False) -> CompiledMachine:
    """Return the compiled machine for a shipped name, a table file path, or a decoded mapping.

    Shipped machines are compiled once per process and shared. A table file is compiled
    once per resolved path and content: loading it again returns the same machine until
    the file changes. A path or mapping goes through exactly the same validation; its
    ``machine.parent`` (if any) must name a shipped machine. Whatever ``source`` holds,
    only :class:`TableError` (a bad table or file) or another :class:`OrderFsmError`
    (an unknown machine name) leaves this function.

    ``verify=True`` returns a machine that also runs every :meth:`~CompiledMachine.transition`
    and :meth:`~CompiledMachine.allows` through the reference ``transitions`` engine and
    raises :class:`OrderFsmError` where the two disagree: many times slower, for a
    user's own checks of a table, never for the hot path.
    A mapping with a ``format`` key, or a ``.json`` path, is a document written by
    ``orderfsm export --format json`` (see :mod:`orderfsm.model.document`).
    """
    if source.__class__ is str:  # the hot path: a shipped machine, already compiled
        cached = _cache.get((source, verify))
        if cached is not None:
            return cached
    with collector_paused():
        return _load(source, verify)


def _load(source: str | Path | Mapping[str, Any], verify: bool) -> CompiledMachine:
    """:func:`load` past the cache of shipped machines."""
    from orderfsm.model import reader  # noqa: PLC0415 - tables are read on first load

    if isinstance(source, Mapping):
        if "format" in source:  # an exported document: tables have no `format` key
            return _load_document(source, "<export>", verify)
        return _compile_with_parent(reader.parse_table(source), verify)
    if not isinstance(source, str | os.PathLike) or source == "":
        raise UnknownMachine(
            f"expected a machine name ({', '.join(SHIPPED_TABLES)}), a table file path or a "
            f"decoded table mapping, got {source!r}"
        )
    if isinstance(source, str) and source in SHIPPED_TABLES:
        key = (source, verify)
        with _cache_lock:  # only reached to compile, once
            cached = _cache.get(key)
            if cached is None:
                cached = _cache[key] = _compile_with_parent(shipped_table(source), verify)
            return cached
    from pathlib import Path  # noqa: PLC0415 - pathlib only for a table file (import time)

    try:
        path = Path(source)
        missing = isinstance(source, str) and not path.suffix and not path.exists()
        resolved = str(path.resolve())
    except (OSError, TypeError, ValueError) as exc:  # a NUL byte, a bytes path, a loop...
        raise TableError(str(source), "<file>", f"not a usable file path: {exc}") from None
    if missing:
        raise UnknownMachine(
            f"no shipped machine named {source!r} and no such file; shipped machines are: "
            f"{', '.join(SHIPPED_TABLES)}"
        )
    if path.suffix == ".json":
        from orderfsm.model.document import read_json  # noqa: PLC0415 - only for documents

        return _load_document(read_json(path), str(path), verify)
    content = reader.read_bytes(path)
    digest = _digest(content)
    key = (resolved, verify)
    hit = _file_cache.get(key)
    if hit is not None and hit[0] == digest:
        return hit[1]
    machine = _compile_with_parent(reader.parse_toml(content, str(path)), verify)
    with _cache_lock:
        _file_cache.pop(key, None)
        while len(_file_cache) >= FILE_CACHE_SIZE:
            del _file_cache[next(iter(_file_cache))]  # the oldest
        _file_cache[key] = (digest, machine)
    return machine


def _digest(content: bytes) -> bytes:
    import hashlib  # noqa: PLC0415 - only when a table file is loaded

    return hashlib.sha256(content).digest()


def _load_document(data: Mapping[str, Any], file: str, verify: bool) -> CompiledMachine:
    """An exported document (``orderfsm export``): its table, checked against its edges."""
    from orderfsm.model.document import check_edges, read_document  # noqa: PLC0415

    machine = _compile_with_parent(read_document(data, file), verify)
    check_edges(data, machine.edges, file)
    return machine


def _reload(name: str, verify: bool) -> CompiledMachine:
    """Unpickle a shipped machine: the process's shared instance."""
    return load(name, verify=verify)


def _recompile(table: Table, parent: CompiledMachine | None, verify: bool) -> CompiledMachine:
    """Unpickle a machine compiled from a table file or mapping."""
    return compile_table(table, parent, verify=verify)


def _compile_with_parent(table: Table, verify: bool) -> CompiledMachine:
    if not table.parent:
        return compile_table(table, verify=verify)
    if table.parent not in SHIPPED_TABLES:
        raise TableError(
            table.file,
            "machine.parent",
            f"{table.parent!r} is not a shipped machine; one of {', '.join(SHIPPED_TABLES)}",
        )
    return compile_table(table, load(table.parent, verify=verify), verify=verify)
