"""The stored format shared by every order type: field reading, the header, history entries.

``order.to_dict()`` gives a dict of strings, ints, lists and dicts only (stable key
order, so ``json.dumps`` of it is deterministic); ``from_dict`` reads it back, validating
every field (:class:`~orderfsm.errors.PayloadError` with the path of a bad one).
``version`` counts the order's changes. Each order module writes its own fields with
these helpers; optimistic concurrency on top is :mod:`orderfsm.orders.concurrency`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, cast, overload

from orderfsm.errors import OrderFsmError, PayloadError
from orderfsm.ingest.apply import Via, synthetic_step
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
        step = synthetic_step(src, dst, via, f"restored {via} step")
    else:
        step = table_step(machine, src, dst, event)
    return Change(sid, step, part == "sub_order_status", via)


def table_step(machine: CompiledMachine, src: State, dst: State, event: Field) -> Step:
    for t in machine.transitions_from(src):
        if t.dst == dst.name and t.event == event.value:
            return Step(src, dst, t.event, t.actor, t)
    raise PayloadError(event.path, f"{machine.name} has no edge {src} -> {dst} on {event.value!r}")
