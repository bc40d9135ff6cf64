"""orderfsm: declarative order-status rules for e-commerce platforms.

Tables (data) are compiled into shared, immutable ``transitions`` machines; orders and
services ask them what may happen next and get a step or a typed error.
"""

from orderfsm.errors import (
    ConcurrentModification,
    IllegalTransition,
    InvalidOrderState,
    OrderFsmError,
    PayloadError,
    PaymentLocked,
    RefundNotAllowed,
    StatusComparisonError,
    TableError,
    TransitionRejected,
    UnknownEvent,
    UnknownMachine,
    UnknownStatus,
    UnknownSubOrder,
)
from orderfsm.ingest import ApplyResult
from orderfsm.model.compile import SHIPPED_TABLES, CompiledMachine, Step, load
from orderfsm.model.describe import describe
from orderfsm.model.table import State, Table, Transition
from orderfsm.orders.concurrency import compare_and_set, update_with_retry
from orderfsm.orders.history import Change
from orderfsm.orders.icbu import IcbuOrder, must_intercept
from orderfsm.orders.ids import SubOrderId
from orderfsm.orders.ka import KaOrderView, KaTrade, derive_status
from orderfsm.orders.taobao import TaobaoOrder

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
    "StatusComparisonError",
    "Step",
    "SubOrderId",
    "Table",
    "TableError",
    "TaobaoOrder",
    "Transition",
    "TransitionRejected",
    "UnknownEvent",
    "UnknownMachine",
    "UnknownStatus",
    "UnknownSubOrder",
    "compare_and_set",
    "derive_status",
    "describe",
    "load",
    "must_intercept",
    "update_with_retry",
]
