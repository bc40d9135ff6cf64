"""The guard registry: every rule a table may name, as code the library owns.

A table refers to a guard by its registry name only; it can never name importable code,
so a table file from elsewhere cannot run anything. Each guard is a small predicate over
a :class:`GuardContext` plus the error it raises when it fails, and its docstring cites
the document section it enforces. ``reads`` lists the context a guard looks at, so
structural lint can enumerate every context a guard could see and report one that can
never pass.

Guards read state *tags* (``payment_locked``, ``refund_allowed`` ...) rather than
hard-coded status codes: which statuses carry a tag is data in the table, with its
citation, and the conformance checker compares that data with the documents.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from orderfsm.errors import (
    IllegalTransition,
    PaymentLocked,
    RefundNotAllowed,
    TransitionRejected,
)
from orderfsm.model.table import State

Reads = Literal["status", "parent", "variables", "history", "target"]


@dataclass(frozen=True, slots=True)
class GuardContext:
    """Everything a guard may look at when an event is tried.

    ``status`` is the current status of the machine the event is for, ``target`` the
    destination of the transition being tried (``None`` for an event-level guard),
    ``parent`` the status of the enclosing order when the machine is a sub-order's
    (the Taobao main order for a refund), ``variables`` the order's extended state
    (ICBU ``pay_step``...), and ``history`` the status remembered before the order
    entered a history state (ICBU ``frozen``).
    """

    machine: str
    event: str
    status: State
    target: State | None = None
    parent: State | None = None
    variables: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    history: State | None = None


@dataclass(frozen=True, slots=True)
class Guard:
    """A named rule: ``check`` passes or the event is refused with ``error``."""

    name: str
    rule: str
    source: str
    error: type[TransitionRejected]
    reads: tuple[Reads, ...]
    check: Callable[[GuardContext], bool]

    @property
    def doc(self) -> str:
        return (self.check.__doc__ or "").strip()


_REGISTRY: dict[str, Guard] = {}


def guard(
    name: str,
    *,
    rule: str,
    source: str,
    error: type[TransitionRejected] = TransitionRejected,
    reads: tuple[Reads, ...] = ("status",),
) -> Callable[[Callable[[GuardContext], bool]], Callable[[GuardContext], bool]]:
    """Register ``check`` under ``name``; the library's own guards use this decorator."""

    def register(check: Callable[[GuardContext], bool]) -> Callable[[GuardContext], bool]:
        if name in _REGISTRY:
            raise ValueError(f"guard {name!r} registered twice")
        _REGISTRY[name] = Guard(name, rule, source, error, reads, check)
        return check

    return register


TAOBAO = "000_29cd69a61e8d9e8a.txt"
ICBU = "002_72f8e4474636d231.txt"
KA = "000_29cd69a61e8d9e8a.txt"  # its section "Comparison with KA Orders"


@guard(
    "payment_lock",
    rule="payment lock: no buyer cancellation once finance has approved or payment is under way",
    source=f"{TAOBAO} \u00a7 1. Payment Lock Rules; Flow 3: Order Cancellation Flow",
    error=PaymentLocked,
)
def payment_lock(ctx: GuardContext) -> bool:
    """Refuse a buyer ``cancel`` in a status tagged ``payment_locked``.

    Source: 000_29cd69a61e8d9e8a.txt, "1. Payment Lock Rules" ("Orders cannot be
    cancelled in the following statuses: ORDER_FINANCE_PASS_STATUS(2), WAIT_FINANCE_PAY(5),
    WAIT_SELLER_SEND_GOODS(10), WAIT_BUYER_CONFIRM_GOODS(11)") and "Flow 3: Order
    Cancellation Flow" ("Non-Cancellable Statuses (Payment locked)").
    """
    return "payment_locked" not in ctx.status.tags


@guard(
    "main_order_allows_refund",
    rule="a sub-order may apply for a refund only while the main order is shipping or shipped",
    source=f"{TAOBAO} \u00a7 Flow 4: Refund/After-Sales Flow; 2. Refund Rules",
    error=RefundNotAllowed,
    reads=("parent",),
)
def main_order_allows_refund(ctx: GuardContext) -> bool:
    """Allow ``apply_refund`` only when the main order's status is tagged ``refund_allowed``.

    Source: 000_29cd69a61e8d9e8a.txt, "Flow 4: Refund/After-Sales Flow" (the flow starts
    at "WAIT_SELLER_SEND_GOODS(10) OR WAIT_BUYER_CONFIRM_GOODS(11)") read together with
    "2. Refund Rules" ("Refunds can only be applied after shipment status"). The reading
    chosen (10 and 11) is recorded as a decision in ``taobao_refund.toml``.
    """
    return ctx.parent is not None and "refund_allowed" in ctx.parent.tags


@guard(
    "refund_cancellable",
    rule="the buyer may cancel a refund only in the documented cancellable refund statuses",
    source=f"{TAOBAO} \u00a7 2. Refund Rules",
)
def refund_cancellable(ctx: GuardContext) -> bool:
    """Allow ``cancel_refund`` only in a refund status tagged ``refund_cancellable``.

    Source: 000_29cd69a61e8d9e8a.txt, "2. Refund Rules" ("Cancellable refund statuses:
    APPLIED_REFUND(10), AGREE_TO_REFUND(20), WAITING_SELLER_RECEIPT(30),
    SELLER_REFUSES_REFUND(-10)").
    """
    return "refund_cancellable" in ctx.status.tags


@guard(
    "not_intercepted",
    rule="ERP interception: an order frozen by a refund or dispute, or charged back, must not ship",
    source=f"{ICBU} \u00a7 trade_status, FAQ 3 (ERP \u5982\u4f55\u505a\u8ba2\u5355\u62e6\u622a)",
)
def not_intercepted(ctx: GuardContext) -> bool:
    """Refuse the event in a status tagged ``must_intercept``.

    Source: 002_72f8e4474636d231.txt, trade_status FAQ 3: "需要拦截的情况 主要有 买家发起退款
    和信用卡拒付,分别对应 frozen 和 charge_back" (interception is needed when the buyer
    starts a refund or the credit card is charged back: frozen and charge_back).
    """
    return "must_intercept" not in ctx.status.tags


@guard(
    "balance_due",
    rule="only an order whose advance has been paid can come back to unpay for its balance",
    source=f"{ICBU} \u00a7 pay_step; trade_status FAQ 2",
    reads=("variables",),
)
def balance_due(ctx: GuardContext) -> bool:
    """Pass when ``pay_step`` says a balance is still to be paid (``ADVANCE`` paid, not ``FULL``).

    Source: 002_72f8e4474636d231.txt, pay_step: "支付阶段 :预付款ADVANCE, 尾款BALANCE, FULL 全款
    (就预付款等于全款的意思,尾款为0的那种订单)" - a FULL order has no balance (尾款为0), so
    only an ADVANCE order owes a balance after its first payment.
    """
    return ctx.variables.get("pay_step") == "ADVANCE"


@guard(
    "nothing_left_to_pay",
    rule="an order goes on to fulfilment only when no balance is outstanding",
    source=f"{ICBU} \u00a7 pay_step",
    reads=("variables",),
)
def nothing_left_to_pay(ctx: GuardContext) -> bool:
    """Pass unless ``pay_step`` is ``ADVANCE`` (an advance was paid and a balance follows).

    Source: 002_72f8e4474636d231.txt, pay_step: ADVANCE / BALANCE / FULL (FULL: "尾款为0",
    the balance is zero). After a FULL or BALANCE payment nothing is left to pay.
    """
    return ctx.variables.get("pay_step") != "ADVANCE"


@guard(
    "advance_paid",
    rule="only an order whose advance is paid holds money that can be refunded or charged back",
    source=f"{ICBU} \u00a7 pay_step; trade_status FAQ 3",
    reads=("variables",),
)
def advance_paid(ctx: GuardContext) -> bool:
    """Pass when ``pay_step`` is ``BALANCE``: in ``unpay`` that means the advance is paid.

    Source: 002_72f8e4474636d231.txt, pay_step ("预付款ADVANCE, 尾款BALANCE": the balance
    stage follows a paid advance) read with trade_status FAQ 3 (refund -> frozen, card
    charge-back -> charge_back): only money already paid can be refunded or charged back.
    """
    return ctx.variables.get("pay_step") == "BALANCE"


@guard(
    "nothing_paid",
    rule="a buyer who has paid an advance gets the money back through a refund, not a cancellation",
    source=f"{ICBU} \u00a7 pay_step; trade_status FAQ 3",
    reads=("variables",),
)
def nothing_paid(ctx: GuardContext) -> bool:
    """Pass unless ``pay_step`` is ``BALANCE`` (in ``unpay``: the advance is already paid).

    Source: 002_72f8e4474636d231.txt, pay_step (BALANCE follows a paid advance) and
    trade_status FAQ 3 (a buyer's refund freezes the order: frozen). Cancelling would
    close the trade with the advance still held, so the buyer's way out is a refund.
    """
    return ctx.variables.get("pay_step") != "BALANCE"


@guard(
    "before_shipment",
    rule="KA: an order can be cancelled until it ships, not after",
    source=f"{KA} \u00a7 Comparison with KA Orders (Cancellation Limit)",
)
def before_shipment(ctx: GuardContext) -> bool:
    """Refuse the event in a status tagged ``shipped``.

    Source: 000_29cd69a61e8d9e8a.txt, "Comparison with KA Orders", row Cancellation
    Limit: KA orders "Can cancel before shipment". Which statuses are shipped is data in
    the KA table (tag ``shipped``), so a replacement table keeps the rule.
    """
    return "shipped" not in ctx.status.tags


@guard(
    "returns_to_history",
    rule="a history state returns only to the exact status the order had before entering it",
    source=f"{ICBU} \u00a7 trade_status FAQ 3 (frozen); {KA} \u00a7 Comparison with KA Orders",
    error=IllegalTransition,
    reads=("history", "target"),
)
def returns_to_history(ctx: GuardContext) -> bool:
    """Pass only for the transition back to the status remembered before entering history.

    Source: 002_72f8e4474636d231.txt, trade_status FAQ 3: "也有可能买家是部分退款,然后订单恢复
    退款前的状态" (the buyer may refund partially, and the order then returns to the status
    it had before the refund). The KA reconstruction reads its integrated refund statuses
    the same way (000_29cd69a61e8d9e8a.txt, "Comparison with KA Orders": refunds
    "Integrated into main status"). The compiler attaches this guard to every expanded
    edge of a ``history = true`` transition.
    """
    return ctx.history is not None and ctx.target is not None and ctx.history == ctx.target


REGISTRY: Mapping[str, Guard] = MappingProxyType(_REGISTRY)
