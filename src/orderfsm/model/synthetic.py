"""Steps no table edge provides, and the quarantine status they use.

A history step says how it came about (:data:`Via`): fired by a ``trigger``, observed in
a ``snapshot``, ``reconstructed`` where a snapshot skipped statuses (all three table
edges), or one of the steps the library records without an edge: ``forced`` by the
caller where no path leads, ``quarantine`` (an unknown platform status parks the part in
the machine's quarantine status) and ``release`` (a recognised status leaves it). What
each may do is defined once, in :mod:`orderfsm.orders.producible`.
"""

from __future__ import annotations

from typing import Literal

from orderfsm.model.compile import CompiledMachine, Step
from orderfsm.model.table import Provenance, State, Transition

Via = Literal["trigger", "snapshot", "reconstructed", "forced", "quarantine", "release"]
"""How a recorded step came about (``Change.via``)."""

TABLE_VIAS: tuple[Via, ...] = ("trigger", "snapshot", "reconstructed")
"""The ways a step comes about along a table edge."""
SYNTHETIC_VIAS: tuple[Via, ...] = ("forced", "quarantine", "release")
"""The steps the library records where no table edge leads."""


def synthetic_step(src: State, dst: State, via: Via, basis: str) -> Step:
    """A recorded step no table edge provides (forced, quarantine, release)."""
    edge = Transition(
        src=src.name,
        dst=dst.name,
        event=f"<{via}>",
        actor="platform",
        provenance=Provenance("inferred", basis=basis),
    )
    return Step(src, dst, edge.event, edge.actor, edge)


def quarantine_state(machine: CompiledMachine) -> State | None:
    """The status an unknown platform status parks a part in (Taobao ``OTHER_STATUS(9)``),
    if the machine has one."""
    return next((s for s in machine.states if s.quarantine), None)


def may_park(machine: CompiledMachine, status: State) -> bool:
    """Whether an unknown status may park a part held in ``status``: the machine has a
    quarantine status, the part is not in it already, and it is not final (a final status
    is never left, not even for quarantine)."""
    return quarantine_state(machine) is not None and not status.quarantine and not status.final
