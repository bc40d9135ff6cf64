"""Typed, frozen records of what a platform payload says about one order.

A record holds the observed values exactly as the platform sent them (after numbers
sent as strings are read as numbers), with ``path`` naming where in the body the order
was found. Records do not resolve statuses against a machine: a value the machine does
not know is still recorded, so :mod:`orderfsm.model.decide` can quarantine it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["purchase_page", "status_callback", "icbu_order"]
KINDS: tuple[Kind, ...] = ("purchase_page", "status_callback", "icbu_order")


@dataclass(frozen=True, slots=True)
class SubOrderSnapshot:
    """One Taobao sub-order as observed.

    ``status`` is the sub-order's own order status as a raw string (``subOrderStatus`` on
    the purchase page, ``status`` in the callback); ``detail_status`` is the ``status``
    inside the purchase page's JSON-in-a-string ``subOrderResult``, when present.
    ``refund_status`` is the refund code (purchase page only; ``None`` when absent).
    ``sub_order_id`` is ``None`` when the payload names no id (``000``'s "Fields Visible to
    Customers" example): such a sub-order cannot be matched and is not applied.
    """

    sub_order_id: str | None
    status: str | None
    refund_status: int | None
    refund_id: str | None
    detail_status: str | None
    path: str


@dataclass(frozen=True, slots=True)
class TaobaoSnapshot:
    """One Taobao purchase order as observed on the purchase page or in a status callback.

    ``status_code`` is the numeric ``status`` (TaoBaoOrderStatusEnum code, purchase page);
    ``status_text`` the status string (``orderStatusDesc`` on the purchase page, ``status``
    in the callback). ``modify_time`` is the callback's ``modify_time`` (``None`` when the
    payload has none: the purchase page carries no modification time). ``order_id`` is the
    order's identity (``purchaseId`` on the purchase page, ``purchase_id`` in the
    callback), always present: a body without it is refused by ``parse``.
    """

    kind: Literal["purchase_page", "status_callback"]
    order_id: str
    status_code: int | None
    status_text: str | None
    modify_time: int | None
    sub_orders: tuple[SubOrderSnapshot, ...]
    path: str
    message_type: str | None = None


@dataclass(frozen=True, slots=True)
class IcbuSnapshot:
    """One Alibaba.com (ICBU) order from ``alibaba.seller.order.get``.

    ``trade_status`` is the ``trade_status`` string, ``pay_step`` the ``pay_step`` value
    (``ADVANCE``/``BALANCE``/``FULL`` in the document; ``None`` when absent),
    ``status_action`` the ``status_action.status`` string and ``actions`` the names of its
    ``status_action.actions`` entries. ``order_id`` is the ``trade_id``: every snapshot
    type names its order's identity ``order_id`` (``trade_id`` remains as a read-only alias).
    """

    order_id: str
    trade_status: str
    pay_step: str | None
    status_action: str | None
    actions: tuple[str, ...]
    path: str
    kind: Literal["icbu_order"] = "icbu_order"
    modify_time: int | None = None

    @property
    def trade_id(self) -> str:
        """The platform's name for :attr:`order_id` (``trade_id`` in the response)."""
        return self.order_id


Snapshot = TaobaoSnapshot | IcbuSnapshot
