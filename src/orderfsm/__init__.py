"""orderfsm: declarative order-status rules for e-commerce platforms.

Tables (data) are compiled into shared, immutable ``transitions`` machines; orders and
services ask them what may happen next and get a step or a typed error.
"""

import importlib
from typing import TYPE_CHECKING, Any

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
    UnknownActor,
    UnknownEvent,
    UnknownMachine,
    UnknownStatus,
    UnknownSubOrder,
)
from orderfsm.model.compile import SHIPPED_TABLES, CompiledMachine, Step, load
from orderfsm.model.explain import Explanation
from orderfsm.model.table import State, Table, Transition

if TYPE_CHECKING:
    from orderfsm.model.decide import ApplyResult
    from orderfsm.model.describe import describe
    from orderfsm.orders.concurrency import compare_and_set, update_with_retry
    from orderfsm.orders.history import Change
    from orderfsm.orders.icbu import IcbuOrder, must_intercept
    from orderfsm.orders.ids import SubOrderId
    from orderfsm.orders.ka import KaOrderView, KaTrade, derive_status
    from orderfsm.orders.listeners import Notice, deliver_notices, held_notices, listen
    from orderfsm.orders.taobao import TaobaoOrder

# Imported on first use (PEP 562), so `import orderfsm` loads only the errors and the
# compiled machines: ingestion, the order classes and their stored formats stay unloaded
# until a program names them.
_LAZY = {
    "ApplyResult": "orderfsm.model.decide",
    "describe": "orderfsm.model.describe",
    "compare_and_set": "orderfsm.orders.concurrency",
    "update_with_retry": "orderfsm.orders.concurrency",
    "Change": "orderfsm.orders.history",
    "IcbuOrder": "orderfsm.orders.icbu",
    "must_intercept": "orderfsm.orders.icbu",
    "SubOrderId": "orderfsm.orders.ids",
    "KaOrderView": "orderfsm.orders.ka",
    "KaTrade": "orderfsm.orders.ka",
    "Notice": "orderfsm.orders.listeners",
    "deliver_notices": "orderfsm.orders.listeners",
    "held_notices": "orderfsm.orders.listeners",
    "listen": "orderfsm.orders.listeners",
    "derive_status": "orderfsm.orders.ka",
    "TaobaoOrder": "orderfsm.orders.taobao",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'orderfsm' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


MACHINES: tuple[str, ...] = SHIPPED_TABLES

__all__ = [
    "MACHINES",
    "ApplyResult",
    "Change",
    "CompiledMachine",
    "ConcurrentModification",
    "Explanation",
    "IcbuOrder",
    "IllegalTransition",
    "InvalidOrderState",
    "KaOrderView",
    "KaTrade",
    "Notice",
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
    "UnknownActor",
    "UnknownEvent",
    "UnknownMachine",
    "UnknownStatus",
    "UnknownSubOrder",
    "compare_and_set",
    "deliver_notices",
    "derive_status",
    "describe",
    "held_notices",
    "listen",
    "load",
    "must_intercept",
    "update_with_retry",
]
