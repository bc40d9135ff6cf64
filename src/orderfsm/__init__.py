"""orderfsm: declarative order-status rules for e-commerce platforms.

Tables (data) are compiled into shared, immutable ``transitions`` machines; orders and
services ask them what may happen next and get a step or a typed error.
"""

from orderfsm.compile import SHIPPED_TABLES, CompiledMachine, Step, load
from orderfsm.describe import describe
from orderfsm.errors import (
    ConcurrentModification,
    IllegalTransition,
    InvalidOrderState,
    OrderFsmError,
    PayloadError,
    PaymentLocked,
    RefundNotAllowed,
    TableError,
    TransitionRejected,
    UnknownEvent,
    UnknownMachine,
    UnknownStatus,
    UnknownSubOrder,
)
from orderfsm.icbu_order import IcbuOrder, must_intercept
from orderfsm.ingest import ApplyResult
from orderfsm.ka_trade import KaOrderView, KaTrade, derive_status
from orderfsm.orders import Change, TaobaoOrder
from orderfsm.table import State, Table, Transition

MACHINES: tuple[str, ...] = SHIPPED_TABLES

__all__ = [
    "MACHINES",
    "ApplyResult",
    "Change",
    "CompiledMachine",
    "ConcurrentModification",
    "IcbuOrder",
    "IllegalTransition",
    "InvalidOrderState",
    "KaOrderView",
    "KaTrade",
    "OrderFsmError",
    "PayloadError",
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
    "derive_status",
    "describe",
    "load",
    "must_intercept",
]
