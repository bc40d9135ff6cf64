"""What an order can be: the one definition of a producible history, by replay.

An order's state is, for each of its parts (the main status, each Taobao sub-order's
own status and refund, each KA sub-order), a status, plus the variables the part's
machine declares (ICBU ``pay_step``) and the status a history state remembers (ICBU
``frozen_from``, KA ``remembered``); a Taobao order adds its clock (``observed_at``) and
every order its version. A part starts in any status (an order can be constructed in
any), with any variable values and, in a history state, any status it could have been
entered from. Each step of its history is then one of:

- a **table step** (``trigger``, ``snapshot``, ``reconstructed``): a table edge the pure
  core takes (:meth:`~orderfsm.CompiledMachine.transition` accepts its event in the
  part's status, variables and remembered status, reaching its target); a Taobao
  refund's guards read the main order's status and the sub-order's own status: for a
  trigger the status each holds, for a snapshot step one each held since the snapshot
  run began (the last trigger);
- a **forced** step: from a status to another where no table path leads (from a history
  state any jump; from quarantine, judged from the status parked), never into
  quarantine;
- a **quarantine** step: from a part that is neither final nor in quarantine into the
  machine's quarantine status;
- a **release**: from quarantine back to the status held before the quarantine step, or
  to one a path of table steps leads to from it (any recognised status when that is not
  known: a part constructed in quarantine).

A **pending request** (``order.request``: a local action sent to the platform, awaiting
its confirmation) names a part and an event the pure core accepts in the status and
context the order holds: a request is recorded only when accepted, and is settled
(confirmed or rejected) as soon as its part moves or its context stops accepting it
(:func:`pending_request`). Recording a request, and rejecting one by the caller, are one
change each (the stored ``requests`` count).

**Times.** An entry may say when it happened (``Entry.time``: the snapshot's
``modify_time`` or the time the caller passed, an integer); where two entries' times are
both known, the later entry's is not earlier (per order, across all its parts); a
history stores times only where some entry's is known.

Variables change only where an edge sets them; the remembered status follows
:meth:`~orderfsm.CompiledMachine.remembered_after`. :func:`replay` runs a history
through this definition and checks that it yields every stored field; ``from_dict``
accepts a dict exactly when it does (see ``docs/webhooks.md``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from orderfsm.errors import InvalidOrderState, OrderFsmError, PayloadError, TransitionRejected
from orderfsm.model.compile import CompiledMachine, Step
from orderfsm.model.paths import Said, guarded_path, shortest_path
from orderfsm.model.synthetic import Via, may_park, quarantine_state
from orderfsm.model.table import State
from orderfsm.orders.ids import SubOrderId
from orderfsm.orders.stored import entry_paths, time_paths

__all__ = ["End", "Entry", "as_constructed", "check_times", "replay", "some_time"]


class Entry(NamedTuple):
    """One history entry as the replay sees it: which part moved, on which machine, the
    recorded step and how it came about, and where it is stored (``at``: its index, named
    in an error by :func:`~orderfsm.orders.stored.entry_paths`); ``parent`` names the
    part whose status the machine's parent guards read (a Taobao refund: the order part),
    ``own`` the part whose status its ``sub_order`` guards read (a Taobao refund: its
    sub-order's own status); ``time`` when it happened (``None``: not known)."""

    part: Hashable
    machine: CompiledMachine
    step: Step
    via: Via
    at: int
    parent: Hashable | None = None
    own: Hashable | None = None
    time: int | None = None


class End(NamedTuple):
    """A part's stored end state the replay must yield: its status, its variables
    (``None``: not stored, any) and remembered status, each with the path naming it (a
    named tuple: an order restores one per part, so it must be cheap to build)."""

    status: State
    variables: Mapping[str, str] | None = None
    remembered: State | None = None
    variables_path: str = "$.variables"
    remembered_path: str = "$"


class _Refused(Exception):
    """A step the library could not have recorded (named by :func:`replay`)."""


_Candidate = tuple[tuple[tuple[str, str], ...], State | None]
"""One way a part may stand: its variables (sorted items) and remembered status."""


@dataclass(slots=True)
class _Part:
    status: State
    candidates: set[_Candidate]
    parked_from: State | None = None
    run_parents: set[State] = field(default_factory=set)


def replay(
    entries: Sequence[Entry], ends: Mapping[Hashable, End], *, columnar: bool
) -> set[Hashable]:
    """Replay ``entries`` (oldest first) from each part's first status through the
    definition above; raise :class:`PayloadError` naming the first entry that is not a
    step the library could have recorded (as format ``/2`` names it if ``columnar``,
    else as ``/1``), or the stored field the replay does not yield. Returns the parts
    that moved: the others stand as constructed, which :func:`as_constructed` checks."""
    parts = {key: _Part(end.status, set()) for key, end in ends.items()}
    moved: set[Hashable] = set()
    for entry in entries:
        part = parts[entry.part]
        if entry.part not in moved:  # where the part was constructed
            moved.add(entry.part)
            part.status, part.candidates = entry.step.source, _starts(entry)
    _check_chains(entries, parts, ends, columnar=columnar)
    check_times([entry.time for entry in entries], columnar=columnar)
    for part in parts.values():
        part.run_parents = {part.status}
    for entry in entries:
        part = parts[entry.part]
        parent = parts[entry.parent] if entry.parent is not None else None
        own = parts[entry.own] if entry.own is not None else None
        try:
            part.candidates = _advance(part, entry, parent, own)
        except _Refused as refused:
            raise PayloadError(entry_paths(entry.at, columnar=columnar)[0], str(refused)) from None
        if entry.via == "quarantine":
            part.parked_from = entry.step.source
        part.status = entry.step.target
        _note_runs(parts, entry)
    for key in moved:
        _check_end(parts[key], ends[key])
    return moved


def check_times(times: Sequence[int | None], *, columnar: bool) -> None:
    """Where two entries' times are both known, the later one's is not earlier; raise
    :class:`PayloadError` naming the first entry that goes back."""
    latest: int | None = None
    for index, time in enumerate(times):
        if time is None:
            continue
        if latest is not None and time < latest:
            raise PayloadError(
                time_paths(index, columnar=columnar),
                f"{time} is earlier than {latest}, the time of an earlier entry",
            )
        latest = time


def some_time(entries: Sequence[Entry], *, columnar: bool) -> None:
    """A history that stores times knows at least one (``to_dict`` writes the ``at``
    column only then); raise :class:`PayloadError` otherwise."""
    if all(entry.time is None for entry in entries):
        where = "$.history.at" if columnar else "$.history"
        raise PayloadError(where, "stores times but knows none (written only where one is known)")


def as_constructed(machine: CompiledMachine, end: End) -> None:
    """A part no step moved remembers only what an order constructed in its status can:
    nothing, or a status its history state can be entered from."""
    if end.remembered is None:
        return
    try:
        machine.check_remembered(end.status, end.remembered)
    except InvalidOrderState as e:
        raise PayloadError(end.remembered_path, str(e)) from None


def _starts(entry: Entry) -> set[_Candidate]:
    """Every way a part may have been constructed to stand before its first step."""
    return set(_constructed(entry.machine, entry.step.source))


@lru_cache(maxsize=256)
def _constructed(machine: CompiledMachine, first: State) -> frozenset[_Candidate]:
    names = [v.name for v in machine.table.variables]
    domains = [v.values for v in machine.table.variables]
    remembered: list[State | None] = [None]
    if first.name in machine.history_states:
        remembered += machine.history_sources(first)
    return frozenset(
        (tuple(sorted(zip(names, values, strict=True))), r)
        for values in itertools.product(*domains)
        for r in remembered
    )


def _check_chains(
    entries: Sequence[Entry],
    parts: Mapping[Hashable, _Part],
    ends: Mapping[Hashable, End],
    *,
    columnar: bool,
) -> None:
    """Each part's steps continue from where its previous step ended, and its last step
    ends in its stored status (checked over the whole history first, so a reordered,
    repeated or cut history is named as such)."""
    last = {key: part.status for key, part in parts.items()}
    for entry in entries:
        if entry.step.source != last[entry.part]:
            raise PayloadError(
                entry_paths(entry.at, columnar=columnar)[1],
                f"{entry.step.source} does not continue from {last[entry.part]}, where this "
                "part's previous step ended (history reordered, repeated or cut?)",
            )
        last[entry.part] = entry.step.target
    for key, end in ends.items():
        if last[key] != end.status:
            name = "the order" if key == ("order", None) else f"part {key!r}"
            raise PayloadError(
                "$.history",
                f"the history leaves {name} in {last[key]}, but the stored status is {end.status}",
            )


def _note_runs(parts: Mapping[Hashable, _Part], entry: Entry) -> None:
    """Keep, for each part, the statuses it held since the current snapshot run began
    (at the last trigger): a refund step of that snapshot may have happened under any."""
    if entry.via == "trigger":
        for part in parts.values():
            part.run_parents = {part.status}
    else:
        parts[entry.part].run_parents.add(entry.step.target)


def _context(entry: Entry, part: _Part | None) -> Sequence[State | None]:
    """The statuses a guard reading ``part`` may have seen when ``entry`` happened: the
    one it holds for a trigger, any it held since the snapshot run began otherwise."""
    if part is None:
        return (None,)
    if entry.via == "trigger":
        return (part.status,)
    return sorted(part.run_parents, key=str)


def _advance(part: _Part, entry: Entry, parent: _Part | None, own: _Part | None) -> set[_Candidate]:
    """The ways the part may stand after ``entry``, or the refusal naming it."""
    step, machine = entry.step, entry.machine
    if entry.via in ("trigger", "snapshot", "reconstructed"):
        parents, owns = _context(entry, parent), _context(entry, own)
        taken = _steps_taken(machine)
        edge = (step.source.name, step.event, step.target.name)
        after: set[_Candidate] = set()
        for candidate in part.candidates:
            for p in parents:
                for o in owns:
                    key = (edge, candidate, None if p is None else p.name, o and o.name)
                    moved = taken.get(key, _UNSEEN)
                    if moved is _UNSEEN:
                        moved = taken[key] = _table_step(machine, step, candidate, p, o)
                    if moved is not None:
                        after.add(moved)
        if not after:
            raise _Refused(_refusal(machine, step, part, parents, owns))
        return after
    _check_synthetic(part, entry)
    return {(v, machine.remembered_after(step, r)) for v, r in part.candidates}


_UNSEEN: Any = object()


@lru_cache(maxsize=64)
def _steps_taken(machine: CompiledMachine) -> dict[Hashable, _Candidate | None]:
    """What :func:`_table_step` answered on ``machine``, by step (names), candidate and
    parent: the answer depends only on those (machines are immutable), a service restores
    histories of the same few shapes, and names hash faster than statuses."""
    return {}


def _table_step(
    machine: CompiledMachine,
    step: Step,
    candidate: _Candidate,
    parent: State | None,
    own: State | None,
) -> _Candidate | None:
    """How the part stands after the pure core takes ``step``'s event from ``candidate``
    (``None`` if it refuses it or goes elsewhere)."""
    variables, remembered = candidate
    try:
        taken = machine.transition(
            step.source,
            step.event,
            parent=parent,
            variables=dict(variables),
            history=remembered,
            sub_order=own,
        )
    except TransitionRejected:
        return None
    if taken.target != step.target:
        return None
    after = taken.transition.apply(dict(variables))
    return tuple(sorted(after.items())), machine.remembered_after(taken, remembered)


def _refusal(
    machine: CompiledMachine,
    step: Step,
    part: _Part,
    parents: Sequence[State | None],
    owns: Sequence[State | None],
) -> str:
    """Why no candidate takes ``step``: the pure core's own refusal for the first one."""
    variables, remembered = sorted(part.candidates, key=str)[0]
    try:
        taken = machine.transition(
            step.source,
            step.event,
            parent=parents[0],
            variables=dict(variables),
            history=remembered,
            sub_order=owns[0],
        )
    except TransitionRejected as e:
        why = str(e)
    else:
        why = f"it goes to {taken.target}"
    under = "" if parents == (None,) else f" under {', '.join(map(str, parents))}"
    return (
        f"{machine.name}: {step.event!r} {step.source} -> {step.target} cannot have "
        f"happened{under}: {why}"
    )


def _check_synthetic(part: _Part, entry: Entry) -> None:
    """A step no edge provides must be one the library records (see the module)."""
    machine, via = entry.machine, entry.via
    src, dst = entry.step.source, entry.step.target
    jail = quarantine_state(machine)
    problem = ""
    if via == "forced":
        judged_from = part.parked_from if src.quarantine and part.parked_from else src
        if src == dst:
            problem = f"a forced step from {src} to itself"
        elif dst.quarantine:
            problem = f"a forced step into {dst}: an unknown status is quarantined, not forced"
        elif src.name not in machine.history_states and any(
            shortest_path(machine, judged_from, dst, remembered) is not None
            for _, remembered in part.candidates
        ):  # apply forces only where no table path leads, guards aside
            problem = f"a forced step {src} -> {dst} where the table has a path from {judged_from}"
    elif via == "quarantine":
        if dst != jail or src == jail:
            problem = f"a quarantine step must enter {jail}, not {src} -> {dst}"
        elif not may_park(machine, src):
            problem = f"a quarantine step out of {src}, which is final"
    elif via == "release":
        if src != jail or dst == jail:
            problem = f"a release step must leave {jail}, not {src} -> {dst}"
        elif (
            part.parked_from is not None
            and dst != part.parked_from
            and not _has_path(part, machine, part.parked_from, dst)
        ):
            problem = (
                f"a release to {dst}: no path leads there from {part.parked_from}, "
                "held before quarantine"
            )
    if problem:
        raise _Refused(problem)


def _has_path(part: _Part, machine: CompiledMachine, src: State, dst: State) -> bool:
    """Whether some path of table steps leads from ``src`` to ``dst``, its guards passing
    for one of the ways the part may stand."""
    return any(
        guarded_path(machine, src, dst, Said(dict(variables)), remembered) is not None
        for variables, remembered in part.candidates
    )


def _check_end(part: _Part, end: End) -> None:
    """The variables and remembered status the replay yields include the stored ones."""
    fits = part.candidates
    if end.variables is not None:
        stored = tuple(sorted(end.variables.items()))
        fits = {c for c in fits if c[0] == stored}
        if not fits:
            said = " or ".join(sorted({_shown(v) for v, _ in part.candidates}))
            raise PayloadError(end.variables_path, f"the history leaves {said}")
    if not any(r == end.remembered for _, r in fits):
        said = " or ".join(sorted({"nothing" if r is None else str(r) for _, r in fits}))
        raise PayloadError(
            end.remembered_path,
            f"is {end.remembered or 'null'}, but the history says the part remembers {said}",
        )


def _shown(variables: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{k} = {v!r}" for k, v in variables) or "no variables"


def pending_request(
    decide: Callable[[str, SubOrderId | None], Step],
    event: str,
    sub_order: SubOrderId | None,
    path: str,
) -> Step:
    """The step a stored pending request leads to, if the order could hold it:
    ``decide(event, sub_order)`` asks the pure core for the request's event in the status
    and context the order holds; a refusal (or an unknown event or sub-order) is a
    :class:`PayloadError` at ``path``, as no order keeps a request its part no longer
    accepts."""
    try:
        return decide(event, sub_order)
    except OrderFsmError as e:
        raise PayloadError(path, f"a pending request the order could not hold: {e}") from None
