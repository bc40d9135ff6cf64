"""Machines that run at several nested levels, for the levels diagram.

The table format has no notion of levels: a 1688 KA trade holds orders, an order holds
sub-orders, and every level shows a ``ka_pool_order`` status, with events acting on
sub-orders and the order and trade statuses derived from their children by
:func:`orderfsm.orders.ka.derive_status`. That structure lives in code
(:mod:`orderfsm.orders.ka`), so the levels are recorded here, next to the module they
describe, and drawn as nested clusters around the one machine.
"""

from __future__ import annotations

from dataclasses import dataclass

from orderfsm.orders import ka


@dataclass(frozen=True, slots=True)
class Levels:
    """``machine`` runs at each of ``levels`` (outermost first); events act on the last one,
    and each outer level's status is derived from its children as ``derivation`` says."""

    machine: str
    levels: tuple[str, ...]
    derivation: str
    source: str


LEVELLED: tuple[Levels, ...] = (
    Levels(
        machine=ka.MACHINE,
        levels=("trade", "order", "sub-order"),
        derivation=(
            f"shows one of its children's statuses: a `{ka.REFUND_TAG}` status first, "
            f"else the least advanced live one, else a `{ka.DROPPED_TAG}` one"
        ),
        source="000_29cd69a61e8d9e8a.txt \u00a7 Comparison with KA Orders "
        "(Dimension: Trade + Order + Sub-order); orderfsm.orders.ka.derive_status",
    ),
)


def levels_of(machine: str) -> Levels | None:
    """The levels ``machine`` runs at, if it runs at several."""
    return next((lv for lv in LEVELLED if lv.machine == machine), None)
