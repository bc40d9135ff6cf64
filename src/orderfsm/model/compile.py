"""Compile a validated table into an immutable machine: a ``transitions`` engine plus an index.

The compiled machine is built once per table and shared by every order that uses it.
Its pure core is :meth:`CompiledMachine.transition` (``status, event -> Step``, or a
typed rejection); the stateful orders in :mod:`orderfsm.orders.taobao` are a convenience on
top of it. Successful steps are executed by the ``transitions`` engine on a throwaway
cursor, with every guard handed to it as a callable (never as a string, which
``transitions`` would resolve by importing a dotted path). The index answers the
stateless queries and explains rejections.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from transitions import EventData, Machine

from orderfsm.errors import (
    IllegalTransition,
    InvalidOrderState,
    OrderFsmError,
    TableError,
    TransitionRejected,
    UnknownEvent,
    UnknownMachine,
    UnknownStatus,
)
from orderfsm.model.document import check_edges, is_document, read_document, read_json
from orderfsm.model.guards import HISTORY_GUARD, REGISTRY, GuardContext
from orderfsm.model.reader import parse_table, read_table
from orderfsm.model.table import Code, Event, State, Table, Transition

StatusLike = int | str | State

SHIPPED_TABLES = ("taobao_order", "taobao_refund", "icbu_trade", "ka_pool_order")


@dataclass(frozen=True, slots=True)
class Step:
    """The result of one accepted event: where it went, and the table edge that took it."""

    source: State
    target: State
    event: str
    actor: str
    transition: Transition


@dataclass(slots=True)
class _Cursor:
    """The engine's model: just a state name, so one engine serves every order."""

    state: str


@dataclass(frozen=True, slots=True)
class _Probe:
    """The context of one attempt, handed to engine conditions through event kwargs."""

    machine: str
    event: str
    status: State
    parent: State | None
    variables: Mapping[str, str]
    history: State | None

    def context(self, target: State | None) -> GuardContext:
        return GuardContext(
            machine=self.machine,
            event=self.event,
            status=self.status,
            target=target,
            parent=self.parent,
            variables=self.variables,
            history=self.history,
        )


def _expand(table: Table) -> tuple[Transition, ...]:
    """Replace each history transition by one concrete edge per status that can enter its source.

    Each expanded edge carries the ``returns_to_history`` guard, so only the edge back to
    the remembered status can pass.
    """
    out: list[Transition] = []
    for t in table.transitions:
        if not t.history:
            out.append(t)
            continue
        entries = sorted(
            {e.src for e in table.transitions if e.dst == t.src and e.src != t.src},
            key=[s.name for s in table.states].index,
        )
        out.extend(replace(t, dst=src, guards=(*t.guards, HISTORY_GUARD)) for src in entries)
    return tuple(out)


@dataclass(frozen=True, slots=True, eq=False)
class CompiledMachine:
    """An immutable compiled table. Build with :func:`load`; share freely between threads."""

    table: Table
    parent: CompiledMachine | None
    edges: tuple[Transition, ...]
    _lookup: Mapping[Code, State] = field(repr=False)
    _by_source: Mapping[str, tuple[Transition, ...]] = field(repr=False)
    _by_source_event: Mapping[tuple[str, str], tuple[Transition, ...]] = field(repr=False)
    _events: Mapping[str, Event] = field(repr=False)
    _engine: Machine = field(repr=False)

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
        return self.table.state(self.table.initial)

    @property
    def event_names(self) -> tuple[str, ...]:
        return tuple(self._events)

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
        if not isinstance(value, bool) and isinstance(value, int | str):
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
        target = self.status(dst).name
        return any(t.dst == target for t in self._by_source[self.status(src).name])

    def successors(self, src: StatusLike) -> tuple[State, ...]:
        """The statuses one transition away from ``src``, in table order, guards aside."""
        dsts = {t.dst for t in self._by_source[self.status(src).name]}
        return tuple(s for s in self.states if s.name in dsts)

    def events(self, src: StatusLike) -> tuple[str, ...]:
        """The events that have a transition leaving ``src``, in table order, guards aside."""
        names = {t.event for t in self._by_source[self.status(src).name]}
        return tuple(e for e in self._events if e in names)

    @property
    def parent_statuses(self) -> tuple[State | None, ...]:
        """Every status the enclosing order can be in (``(None,)`` without a parent)."""
        return tuple(self.parent.states) if self.parent else (None,)

    def contexts(
        self, parent: StatusLike | None = None, fixed: Sequence[tuple[str, str]] = ()
    ) -> Iterator[tuple[State | None, dict[str, str]]]:
        """Every (parent status, variables) an event of this machine could be tried with.

        ``parent`` pins the enclosing order's status (an unknown one yields nothing);
        ``fixed`` pins some variables' values. Lint, the checker and path search all
        enumerate guard contexts through this one method.
        """
        parents: Sequence[State | None] = self.parent_statuses
        if parent is not None and self.parent is not None:
            try:
                parents = (self.parent.status(parent),)
            except UnknownStatus:
                return
        pinned = dict(fixed)
        names = [v.name for v in self.table.variables]
        domains = [
            (pinned[v.name],) if v.name in pinned else v.values for v in self.table.variables
        ]
        for p in parents:
            for values in itertools.product(*domains):
                yield p, dict(zip(names, values, strict=True))

    @property
    def history_states(self) -> frozenset[str]:
        """Names of the history states: sources of a ``history = true`` transition."""
        return frozenset(t.src for t in self.table.transitions if t.history)

    def history_sources(self, state: StatusLike) -> tuple[State, ...]:
        """The statuses a history state can be entered from (what it may remember)."""
        name = self.status(state).name
        return tuple(s for s in self.states if any(t.dst == name for t in self._by_source[s.name]))

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
        declared = {v.name: v for v in self.table.variables}
        out = {v.name: v.default for v in self.table.variables}
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
    ) -> Step:
        """Apply ``event`` to ``status`` and return the :class:`Step`, or raise why not.

        Pure: nothing is stored. ``parent`` is the enclosing order's status (for a
        sub-order machine), ``variables`` the order's extended state, ``history`` the
        status remembered before a history state. Raises :class:`UnknownStatus`,
        :class:`UnknownEvent`, or a :class:`TransitionRejected` subclass naming the rule.
        """
        probe = self._probe(status, event, parent, variables, history)
        chosen = self._choose(probe)
        cursor = _Cursor(probe.status.name)
        fired = self._engine.events[event].trigger(cursor, probe=probe)
        if not fired or cursor.state != chosen.dst:
            raise OrderFsmError(
                f"{self.name}: internal error: engine went {probe.status.name} -> {cursor.state} "
                f"on {event!r}, the index expected {chosen.dst}"
            )
        return Step(probe.status, self.table.state(cursor.state), event, chosen.actor, chosen)

    def allows(
        self,
        status: StatusLike,
        event: str,
        *,
        parent: StatusLike | None = None,
        variables: Mapping[str, str] | None = None,
        history: StatusLike | None = None,
    ) -> bool:
        """Whether :meth:`transition` would accept ``event``; unknown values still raise."""
        probe = self._probe(status, event, parent, variables, history)
        try:
            self._choose(probe)
        except TransitionRejected:
            return False
        return True

    def enabled(
        self,
        status: StatusLike,
        *,
        parent: StatusLike | None = None,
        variables: Mapping[str, str] | None = None,
        history: StatusLike | None = None,
    ) -> tuple[str, ...]:
        """The events that would be accepted in ``status`` with this context, guards included."""
        return tuple(
            e
            for e in self.events(status)
            if self.allows(status, e, parent=parent, variables=variables, history=history)
        )

    def _probe(
        self,
        status: StatusLike,
        event: str,
        parent: StatusLike | None,
        variables: Mapping[str, str] | None,
        history: StatusLike | None,
    ) -> _Probe:
        state = self.status(status)
        self.event(event)
        parent_state = None
        if parent is not None:
            if self.parent is None:
                raise UnknownStatus(self.name, parent, ["(this machine has no parent order)"])
            parent_state = self.parent.status(parent)
        return _Probe(
            machine=self.name,
            event=event,
            status=state,
            parent=parent_state,
            variables=MappingProxyType(self.variables(variables)),
            history=None if history is None else self.status(history),
        )

    def _reject(
        self, probe: _Probe, kind: type[TransitionRejected], message: str, rule: str, source: str
    ) -> TransitionRejected:
        allowed = [
            e
            for e in self.events(probe.status)
            if e != probe.event and self._passing(replace(probe, event=e)) is not None
        ]
        where = f"{probe.status}" + (f" (main order: {probe.parent})" if probe.parent else "")
        return kind(
            f"{self.name}: {probe.event!r} refused in {where}: {message}",
            rule=rule,
            source=source,
            status=str(probe.status),
            allowed=allowed,
        )

    def _passing(self, probe: _Probe) -> Transition | None:
        """The first edge for ``probe`` whose guards (event-level first) all pass, if any."""
        for g in self._events[probe.event].guards:
            if not REGISTRY[g].check(probe.context(None)):
                return None
        for t in self._by_source_event.get((probe.status.name, probe.event), ()):
            target = self.table.state(t.dst) if t.dst else None
            if all(REGISTRY[g].check(probe.context(target)) for g in t.guards):
                return t
        return None

    def _choose(self, probe: _Probe) -> Transition:
        for name in self._events[probe.event].guards:
            g = REGISTRY[name]
            if not g.check(probe.context(None)):
                raise self._reject(probe, g.error, g.rule, g.rule, g.source)
        if probe.status.final:
            raise self._reject(
                probe,
                TransitionRejected,
                "a final status accepts no event",
                "final statuses accept nothing",
                _cite(probe.status),
            )
        candidates = self._by_source_event.get((probe.status.name, probe.event), ())
        if not candidates:
            raise self._reject(
                probe,
                IllegalTransition,
                f"no transition leaves {probe.status.name} on {probe.event!r}",
                "the transition table",
                self.table.source or self.table.file,
            )
        first_failure: tuple[str, str] | None = None
        for t in candidates:
            target = self.table.state(t.dst) if t.dst else None
            failed = next(
                (g for g in t.guards if not REGISTRY[g].check(probe.context(target))), None
            )
            if failed is None:
                return t
            first_failure = first_failure or (failed, f"{t.src} -> {t.dst}")
        assert first_failure is not None
        g = REGISTRY[first_failure[0]]
        return_to = f" (edge {first_failure[1]})" if len(candidates) == 1 else ""
        raise self._reject(probe, g.error, f"{g.rule}{return_to}", g.rule, g.source)

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
        return compile_table(self.table, parent)

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
        if self.name in SHIPPED_TABLES and load(self.name) is self:
            return (load, (self.name,))
        return (compile_table, (self.table, self.parent))

    def __repr__(self) -> str:
        return f"<CompiledMachine {self.name}: {len(self.states)} states, {len(self.edges)} edges>"


def _cite(state: State) -> str:
    sources = state.provenance.sources
    return str(sources[0]) if sources else f"inferred: {state.provenance.basis}"


def _condition(guard_name: str, target: State | None) -> Any:
    check = REGISTRY[guard_name].check

    def condition(event_data: EventData) -> bool:
        probe: _Probe = event_data.kwargs["probe"]
        return check(probe.context(target))

    condition.__name__ = f"guard_{guard_name}"
    return condition


def compile_table(table: Table, parent: CompiledMachine | None = None) -> CompiledMachine:
    """Build the engine and index for a validated table (see :func:`load`)."""
    edges = _expand(table)
    lookup: dict[Code, State] = {}
    for s in table.states:
        for key in (s.code, s.name, *s.aliases, *([s.raw] if s.raw else [])):
            lookup[key] = s
    by_source: dict[str, list[Transition]] = {s.name: [] for s in table.states}
    by_source_event: dict[tuple[str, str], list[Transition]] = {}
    for t in edges:
        by_source[t.src].append(t)
        by_source_event.setdefault((t.src, t.event), []).append(t)
    events = {e.name: e for e in table.events}

    engine = Machine(
        model=None,
        states=[s.name for s in table.states],
        initial=table.initial,
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
        name=table.name,
    )
    for t in edges:
        assert t.dst is not None
        target = table.state(t.dst)
        guards = (*events[t.event].guards, *t.guards)
        engine.add_transition(
            t.event, t.src, t.dst, conditions=[_condition(g, target) for g in guards]
        )
    return CompiledMachine(
        table=table,
        parent=parent,
        edges=edges,
        _lookup=MappingProxyType(lookup),
        _by_source=MappingProxyType({k: tuple(v) for k, v in by_source.items()}),
        _by_source_event=MappingProxyType({k: tuple(v) for k, v in by_source_event.items()}),
        _events=MappingProxyType(events),
        _engine=engine,
    )


# ---------------------------------------------------------------------- loading

_cache: dict[str, CompiledMachine] = {}
_cache_lock = threading.RLock()


def shipped_table(name: str) -> Table:
    """Read the table file shipped inside the package for machine ``name``."""
    if name not in SHIPPED_TABLES:
        raise UnknownMachine(
            f"no shipped machine named {name!r}; shipped machines are: {', '.join(SHIPPED_TABLES)}"
        )
    ref = resources.files("orderfsm") / "data" / "tables" / f"{name}.toml"
    with resources.as_file(ref) as path:
        table = read_table(path)
    return replace(table, file=f"orderfsm/data/tables/{name}.toml")


def load(source: str | Path | Mapping[str, Any]) -> CompiledMachine:
    """Return the compiled machine for a shipped name, a table file path, or a decoded mapping.

    Shipped machines are compiled once per process and shared. A path or mapping goes
    through exactly the same validation; its ``machine.parent`` (if any) must name a
    shipped machine. A mapping with a ``format`` key, or a ``.json`` path, is a document
    written by ``orderfsm export --format json`` (see :mod:`orderfsm.model.document`).
    """
    if isinstance(source, Mapping):
        if is_document(source):
            return _load_document(source, "<export>")
        return _compile_with_parent(parse_table(source))
    if not isinstance(source, str | os.PathLike) or source == "":
        raise UnknownMachine(
            f"expected a machine name ({', '.join(SHIPPED_TABLES)}), a table file path or a "
            f"decoded table mapping, got {source!r}"
        )
    if isinstance(source, str) and source in SHIPPED_TABLES:
        cached = _cache.get(source)  # the lock is only needed to compile, once
        if cached is not None:
            return cached
        with _cache_lock:
            cached = _cache.get(source)
            if cached is None:
                cached = _cache[source] = _compile_with_parent(shipped_table(source))
            return cached
    path = Path(source)
    if isinstance(source, str) and not path.suffix and not path.exists():
        raise UnknownMachine(
            f"no shipped machine named {source!r} and no such file; shipped machines are: "
            f"{', '.join(SHIPPED_TABLES)}"
        )
    if path.suffix == ".json":
        return _load_document(read_json(path), str(path))
    return _compile_with_parent(read_table(path))


def _load_document(data: Mapping[str, Any], file: str) -> CompiledMachine:
    """An exported document (``orderfsm export``): its table, checked against its edges."""
    machine = _compile_with_parent(read_document(data, file))
    check_edges(data, machine.edges, file)
    return machine


def _compile_with_parent(table: Table) -> CompiledMachine:
    if not table.parent:
        return compile_table(table)
    if table.parent not in SHIPPED_TABLES:
        raise TableError(
            table.file,
            "machine.parent",
            f"{table.parent!r} is not a shipped machine; one of {', '.join(SHIPPED_TABLES)}",
        )
    return compile_table(table, load(table.parent))
