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
    OrderNotStored,
    PayloadError,
    PaymentLocked,
    RefundNotAllowed,
    StatusComparisonError,
    StoreError,
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
    from orderfsm.orders.concurrency import (
        Backoff,
        compare_and_set,
        compare_and_set_async,
        update_with_retry,
        update_with_retry_async,
    )
    from orderfsm.orders.history import Change
    from orderfsm.orders.icbu import IcbuOrder, must_intercept
    from orderfsm.orders.ids import SubOrderId
    from orderfsm.orders.ka import KaChange, KaOrderView, KaTrade, derive_status
    from orderfsm.orders.listeners import Notice, deliver_notices, held_notices, listen
    from orderfsm.orders.rows import HistoryRow, history_rows
    from orderfsm.orders.taobao import TaobaoOrder

# Imported on first use (PEP 562), so `import orderfsm` loads only the errors and the
# compiled machines: ingestion, the order classes and their stored formats stay unloaded
# until a program names them.
_LAZY = {
    "ApplyResult": "orderfsm.model.decide",
    "describe": "orderfsm.model.describe",
    "Backoff": "orderfsm.orders.concurrency",
    "compare_and_set": "orderfsm.orders.concurrency",
    "compare_and_set_async": "orderfsm.orders.concurrency",
    "update_with_retry": "orderfsm.orders.concurrency",
    "update_with_retry_async": "orderfsm.orders.concurrency",
    "Change": "orderfsm.orders.history",
    "IcbuOrder": "orderfsm.orders.icbu",
    "must_intercept": "orderfsm.orders.icbu",
    "SubOrderId": "orderfsm.orders.ids",
    "KaChange": "orderfsm.orders.ka",
    "KaOrderView": "orderfsm.orders.ka",
    "KaTrade": "orderfsm.orders.ka",
    "Notice": "orderfsm.orders.listeners",
    "deliver_notices": "orderfsm.orders.listeners",
    "held_notices": "orderfsm.orders.listeners",
    "listen": "orderfsm.orders.listeners",
    "derive_status": "orderfsm.orders.ka",
    "HistoryRow": "orderfsm.orders.rows",
    "history_rows": "orderfsm.orders.rows",
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
    "Backoff",
    "Change",
    "CompiledMachine",
    "ConcurrentModification",
    "Explanation",
    "HistoryRow",
    "IcbuOrder",
    "IllegalTransition",
    "InvalidOrderState",
    "KaChange",
    "KaOrderView",
    "KaTrade",
    "Notice",
    "OrderFsmError",
    "OrderNotStored",
    "PayloadError",
    "PaymentLocked",
    "RefundNotAllowed",
    "State",
    "StatusComparisonError",
    "Step",
    "StoreError",
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
    "compare_and_set_async",
    "deliver_notices",
    "derive_status",
    "describe",
    "held_notices",
    "history_rows",
    "listen",
    "load",
    "must_intercept",
    "update_with_retry",
    "update_with_retry_async",
]
