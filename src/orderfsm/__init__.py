"""orderfsm: declarative order-status rules for e-commerce platforms.

Tables (data) are compiled into shared, immutable ``transitions`` machines; orders and
services ask them what may happen next and get a step or a typed error.
"""

from orderfsm.compile import SHIPPED_TABLES, CompiledMachine, Step, load
from orderfsm.errors import (
    IllegalTransition,
    OrderFsmError,
    PaymentLocked,
    RefundNotAllowed,
    TableError,
    TransitionRejected,
    UnknownEvent,
    UnknownMachine,
    UnknownStatus,
    UnknownSubOrder,
)
from orderfsm.orders import Change, TaobaoOrder
from orderfsm.table import State, Table, Transition

MACHINES: tuple[str, ...] = SHIPPED_TABLES

__all__ = [
    "MACHINES",
    "Change",
    "CompiledMachine",
    "IllegalTransition",
    "OrderFsmError",
    "PaymentLocked",
    "RefundNotAllowed",
    "State",
    "Step",
    "Table",
    "TableError",
    "TaobaoOrder",
    "Transition",
    "TransitionRejected",
    "UnknownEvent",
    "UnknownMachine",
    "UnknownStatus",
    "UnknownSubOrder",
    "load",
]
