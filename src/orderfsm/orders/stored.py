"""The stored format shared by every order type: field reading, the header, history entries.

``order.to_dict()`` gives a dict of strings, ints, lists and dicts only (stable key
order, so ``json.dumps`` of it is deterministic); ``from_dict`` reads it back, validating
every field (:class:`~orderfsm.errors.PayloadError` with the path of a bad one).
``version`` counts the order's changes. Each order module writes its own fields with
these helpers; optimistic concurrency on top is :mod:`orderfsm.orders.concurrency`.

A stored dict is accepted exactly when the library could have produced it
(:func:`check_history`, :func:`check_version`, :func:`unambiguous_ids`): each part's
history steps continue from where the previous one of that part ended and the last one
ends in the stored status; table steps are edges of the table; a ``forced`` step jumps
where no table path leads (the only case :meth:`apply` forces), a ``quarantine`` step
enters the quarantine status and a ``release`` step leaves it; the version is at least
the number of changes the history shows (every trigger one, every run of snapshot steps
one) and 0 exactly when nothing happened; ids are unambiguous (``7`` and ``"7"`` side
by side are refused). The format stays ``/1``: every dict the library wrote is read.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast, overload

from orderfsm.errors import OrderFsmError, PayloadError
from orderfsm.ingest.apply import Via, quarantine_state, synthetic_step, table_path_avoiding_history
from orderfsm.model.compile import CompiledMachine, Step
from orderfsm.model.table import State
from orderfsm.orders.history import Change
from orderfsm.orders.ids import SubOrderId

_SYNTHETIC: frozenset[str] = frozenset({"forced", "quarantine", "release"})
_VIA: frozenset[str] = frozenset(
    {"trigger", "snapshot", "reconstructed", "forced", "quarantine", "release"}
)


def change_to_dict(change: Change) -> dict[str, Any]:
    step = change.step
    return {
        "sub_order": change.sub_order,
        "part": part_of(change),
        "src": step.source.code,
        "dst": step.target.code,
        "event": step.event,
        "via": change.via,
    }


def part_of(change: Change) -> str:
    if change.sub_order is None:
        return "order"
    return "sub_order_status" if change.sub_order_status else "refund"


class Field:
    """A value read from the dict, with its path for error messages."""

    def __init__(self, value: object, path: str) -> None:
        self.value = value
        self.path = path

    def get(self, key: str) -> Field:
        if not isinstance(self.value, Mapping):
            raise PayloadError(self.path, "expected an object")
        if key not in self.value:
            raise PayloadError(f"{self.path}.{key}", "required field is missing")
        return Field(self.value[key], f"{self.path}.{key}")

    def integer(self, *, nullable: bool = False) -> int | None:
        if self.value is None and nullable:
            return None
        if isinstance(self.value, int) and not isinstance(self.value, bool):
            return self.value
        raise PayloadError(self.path, f"expected an integer, got {self.value!r}")

    def items(self) -> list[Field]:
        if not isinstance(self.value, list):
            raise PayloadError(self.path, "expected an array")
        return [Field(v, f"{self.path}[{i}]") for i, v in enumerate(self.value)]

    @overload
    def sub_id(self) -> SubOrderId: ...
    @overload
    def sub_id(self, *, nullable: bool) -> SubOrderId | None: ...
    def sub_id(self, *, nullable: bool = False) -> SubOrderId | None:
        if self.value is None and nullable:
            return None
        if isinstance(self.value, str | int) and not isinstance(self.value, bool):
            return self.value
        raise PayloadError(self.path, f"expected a sub-order id (str or int), got {self.value!r}")

    def status(self, machine: CompiledMachine) -> State:
        if not isinstance(self.value, int | str):
            raise PayloadError(self.path, f"expected a status code, got {self.value!r}")
        try:
            return machine.status(self.value)
        except OrderFsmError as e:
            raise PayloadError(self.path, str(e)) from None


def header(root: Field, expected_format: str) -> int:
    """Check the ``format`` tag and return the (non-negative) ``version``."""
    if root.get("format").value != expected_format:
        raise PayloadError("$.format", f"expected {expected_format!r}")
    version = root.get("version").integer()
    assert version is not None
    if version < 0:
        raise PayloadError("$.version", "must not be negative")
    return version


def change_from(
    entry: Field, main: CompiledMachine, refund: CompiledMachine, subs: Collection[SubOrderId]
) -> Change:
    part = entry.get("part").value
    if part not in ("order", "sub_order_status", "refund"):
        raise PayloadError(entry.get("part").path, f"unknown part {part!r}")
    sid = entry.get("sub_order").sub_id(nullable=True)
    if (sid is None) != (part == "order") or (sid is not None and sid not in subs):
        raise PayloadError(entry.get("sub_order").path, f"does not fit part {part!r}")
    raw_via = entry.get("via").value
    if not isinstance(raw_via, str) or raw_via not in _VIA:
        raise PayloadError(entry.get("via").path, f"unknown via {raw_via!r}")
    via = cast(Via, raw_via)
    machine = refund if part == "refund" else main
    src, dst = entry.get("src").status(machine), entry.get("dst").status(machine)
    event = entry.get("event")
    if via in _SYNTHETIC:
        check_synthetic(machine, via, src, dst, entry)
        step = synthetic_step(src, dst, via, f"restored {via} step")
    else:
        step = table_step(machine, src, dst, event)
    return Change(sid, step, part == "sub_order_status", via)


def check_synthetic(
    machine: CompiledMachine, via: str, src: State, dst: State, entry: Field
) -> None:
    """A step no edge provides must be one the library records: a forced jump where no
    table path leads (from a history state the path depends on what it remembers, so any
    jump is taken as recorded), entering quarantine, or leaving it."""
    jail = quarantine_state(machine)
    if via == "forced":
        if src == dst:
            raise PayloadError(entry.path, f"a forced step from {src} to itself")
        if src.name in machine.history_states:
            return
        if table_path_avoiding_history(machine, src, dst) is not None:
            raise PayloadError(
                entry.path, f"a forced step {src} -> {dst} where the table has a path"
            )
    elif via == "quarantine" and (dst != jail or src == jail):
        raise PayloadError(entry.path, f"a quarantine step must enter {jail}, not {src} -> {dst}")
    elif via == "release" and (src != jail or dst == jail):
        raise PayloadError(entry.path, f"a release step must leave {jail}, not {src} -> {dst}")


@dataclass(frozen=True, slots=True)
class Link:
    """One history entry as the checks see it: which part moved, from where to where."""

    part: Hashable
    source: State
    target: State
    via: str
    path: str


def check_history(links: Sequence[Link], held: Mapping[Hashable, State]) -> None:
    """Each part's steps continue from where its previous step ended, and its last step
    ends where the part is now (``held``); a part's first step may start anywhere (an
    order can be constructed in any status)."""
    last: dict[Hashable, State] = {}
    for link in links:
        before = last.get(link.part)
        if before is not None and link.source != before:
            raise PayloadError(
                f"{link.path}.src",
                f"{link.source} does not continue from {before}, where this part's "
                "previous step ended (history reordered, repeated or cut?)",
            )
        last[link.part] = link.target
    for part, state in last.items():
        if held.get(part) != state:
            raise PayloadError(
                "$.history",
                f"the history leaves {_part_name(part)} in {state}, "
                f"but the stored status is {held.get(part)}",
            )


def _part_name(part: Hashable) -> str:
    return "the order" if part is None else f"part {part!r}"


def changes_shown(vias: Sequence[str]) -> int:
    """The fewest changes a history shows: one per trigger, one per run of other steps
    (one apply records its steps together)."""
    return sum(
        1 for i, via in enumerate(vias) if via == "trigger" or i == 0 or vias[i - 1] == "trigger"
    )


def check_version(version: int, *, least: int, most: int | None, silent_changes: bool) -> None:
    """The version counts changes: at least ``least``, at most ``most`` (when every change
    leaves a step), and more than 0 without history only if the order can change without
    a step (``silent_changes``: a Taobao order, by a new sub-order or a newer clock)."""
    if version < least:
        raise PayloadError(
            "$.version", f"is {version}, but the history shows at least {least} changes"
        )
    if most is not None and version > most:
        raise PayloadError("$.version", f"is {version}, but the history shows at most {most}")
    if version > 0 and least == 0 and not silent_changes:
        raise PayloadError("$.version", f"is {version}, but the history is empty")


def unambiguous_ids(ids: Iterable[tuple[Hashable, Field]], what: str) -> None:
    """Refuse ids given twice, and ids that differ only in type (``7`` and ``"7"``)."""
    seen: dict[str, Hashable] = {}
    for sid, at in ids:
        other = seen.get(str(sid))
        if other is not None:
            problem = (
                f"duplicate {what} id {sid!r}"
                if other == sid
                else f"{what} id {sid!r} is ambiguous beside {other!r}"
            )
            raise PayloadError(at.path, problem)
        seen[str(sid)] = sid


def table_step(machine: CompiledMachine, src: State, dst: State, event: Field) -> Step:
    for t in machine.transitions_from(src):
        if t.dst == dst.name and t.event == event.value:
            return Step(src, dst, t.event, t.actor, t)
    raise PayloadError(event.path, f"{machine.name} has no edge {src} -> {dst} on {event.value!r}")
