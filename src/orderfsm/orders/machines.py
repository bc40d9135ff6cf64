"""What each order class needs of the machine it runs on, checked when an order is built.

An order accepts an edited machine (``machine=orderfsm.load(path)``) as long as the
table gives the order what its code relies on; otherwise :class:`~orderfsm.TableError`
names the table file and what is missing, before any order exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from orderfsm.errors import InvalidOrderState, TableError
from orderfsm.model.compile import CompiledMachine, load


def require(
    machine: object,
    who: str,
    *,
    variables: Sequence[str] = (),
    tags: Sequence[str] = (),
    sub_order_machine: bool = False,
) -> CompiledMachine:
    """``machine`` if it is an order-level machine (or, with ``sub_order_machine``, one
    with a parent) that declares ``variables`` and tags some status with each of ``tags``."""
    if not isinstance(machine, CompiledMachine):
        raise InvalidOrderState(
            f"{who}: expected a compiled machine (orderfsm.load(...)), got {machine!r}"
        )
    file, name = machine.table.file, machine.name
    if sub_order_machine and machine.parent is None:
        raise TableError(
            file, "machine.parent", f"{who} needs a sub-order machine; {name} has no parent"
        )
    if not sub_order_machine and machine.parent is not None:
        raise TableError(
            file,
            "machine.parent",
            f"{who} needs an order-level machine; {name} is a sub-order machine of "
            f"{machine.parent.name}",
        )
    declared = [v.name for v in machine.table.variables]
    for variable in variables:
        if variable not in declared:
            raise TableError(
                file,
                "variables",
                f"{who} needs the variable {variable!r}; {name} declares: "
                f"{', '.join(declared) or 'none'}",
            )
    for tag in tags:
        if not any(tag in s.tags for s in machine.states):
            raise TableError(
                file, "states", f"{who} needs a status tagged {tag!r}; {name} has none"
            )
    return machine


def refund_machine_for(
    main: CompiledMachine, refund: object, who: str, refund_table: str
) -> CompiledMachine:
    """The sub-order machine an order on ``main`` uses: ``refund`` if given (its parent
    must be ``main``), else the shipped ``refund_table`` compiled under ``main``. Its
    events must not share a name with ``main``'s: the order routes events by name."""
    if refund is None:
        return _default_refund(main, who, refund_table)
    sub = require(refund, f"{who} (refund_machine)", sub_order_machine=True)
    if sub.parent != main:
        raise TableError(
            sub.table.file,
            "machine.parent",
            f"{who}: {sub.name} runs under {sub.parent!r}, not under this order's "
            f"machine {main!r} ({main.table.file}); pass refund_machine=refund.under(machine)",
        )
    return _routable(main, sub, who)


@lru_cache(maxsize=8)
def _default_refund(main: CompiledMachine, who: str, refund_table: str) -> CompiledMachine:
    # Orders are built often: decide (and compile, for an edited machine) once per machine.
    shipped = load(refund_table)
    return _routable(main, shipped if shipped.parent == main else shipped.under(main), who)


def _routable(main: CompiledMachine, sub: CompiledMachine, who: str) -> CompiledMachine:
    shared = sorted(set(main.event_names) & set(sub.event_names))
    if shared:
        raise TableError(
            sub.table.file,
            "events",
            f"{who} tells order events from sub-order events by name, but "
            f"{', '.join(shared)} {'is' if len(shared) == 1 else 'are'} in both machines",
        )
    return sub
