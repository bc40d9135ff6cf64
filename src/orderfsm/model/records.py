"""Typed, frozen records of what a platform payload says about one order.

A record holds the observed values exactly as the platform sent them (after numbers
sent as strings are read as numbers), with ``path`` naming where in the body the order
was found. Records do not resolve statuses against a machine: a value the machine does
not know is still recorded, so :mod:`orderfsm.model.decide` can quarantine it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from orderfsm.errors import InvalidOrderState
from orderfsm.model.bounded import is_integer

MILLISECONDS_FROM = 10**11
"""A platform time this large or larger is read as milliseconds since the epoch, a
smaller one as seconds (:func:`in_seconds`)."""


def in_seconds(platform_time: int | None) -> int | None:
    """A platform's integer time (a callback's ``modify_time``, ICBU's ``DateVo.timestamp``)
    in seconds since the Unix
    epoch, the unit of the history's ``at``. 003_36c64fc11abf7e3f.txt gives
    ``"modify_time": 0``, a number, and does not say its unit; so the magnitude decides
    (inferred, see ``docs/time.md``): from :data:`MILLISECONDS_FROM` (1973-03-03 in
    milliseconds, the year 5138 in seconds) it is milliseconds, rounded down to the
    second; below, seconds."""
    if platform_time is None or platform_time < MILLISECONDS_FROM:
        return platform_time
    return platform_time // 1000


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
    in the callback). ``modify_time`` is the callback's ``modify_time`` as sent (``None``
    when the payload has none: the purchase page carries no modification time);
    :attr:`modified_at` is it in seconds, the time its steps are recorded at. ``order_id`` is the
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

    @property
    def modified_at(self) -> int | None:
        """``modify_time`` in seconds (:func:`in_seconds`)."""
        return in_seconds(self.modify_time)


SHIPMENT_TYPES = ("relative", "relative_balance", "absolute")
"""002_72f8e4474636d231.txt, 响应参数 ``shipment_date`` > ``type``: "相对预付款relative,相对尾款
relative_balance,绝对时间absolute"."""


@dataclass(frozen=True, slots=True)
class ShipmentDate:
    """An ICBU order's contractual shipment date (002_72f8e4474636d231.txt, 响应参数
    ``shipment_date``: "合同约定的发货时间,不是实际的发货时间", the agreed date, not the actual
    shipment). ``type`` is ``relative`` (相对预付款: counted from the advance payment),
    ``relative_balance`` (相对尾款: from the balance payment) or ``absolute`` (绝对时间: a
    date the seller set); "如果type=relative 或 relative_balance, 则取 duration 的值,它是一个相对值。
    如果type=absolute, 则取 date 的值". ``duration`` is in days ("时间间隔 天"), needed by the
    relative types; ``timestamp`` is ``date.timestamp`` as sent, needed by ``absolute``
    (its unit read by :func:`in_seconds`: inferred, see ``docs/time.md``). Anything else raises
    :class:`~orderfsm.InvalidOrderState` (:func:`shipment_date_problem` names the field)."""

    type: str
    duration: int | None = None
    timestamp: int | None = None

    def __post_init__(self) -> None:
        problem = shipment_date_problem(self.type, self.duration, self.timestamp)
        if problem is not None:
            raise InvalidOrderState(f"shipment_date.{problem[0]}: {problem[1]}")


def shipment_date_problem(
    kind: object, duration: object, timestamp: object
) -> tuple[str, str] | None:
    """What is wrong with a shipment date's fields, as ``(field, problem)`` (``None``:
    nothing): a documented ``type``, a ``duration`` of whole days (not negative) where
    the type is relative, a ``timestamp`` (an integer) where it is absolute."""
    if not isinstance(kind, str) or kind not in SHIPMENT_TYPES:
        return "type", f"expected one of {', '.join(SHIPMENT_TYPES)}, got {kind!r}"
    if duration is not None and not (is_integer(duration) and duration >= 0):
        return "duration", f"expected a whole number of days (not negative), got {duration!r}"
    if timestamp is not None and not is_integer(timestamp):
        return "date", f"expected an integer timestamp, got {timestamp!r}"
    if kind != "absolute" and duration is None:
        return "duration", f"type {kind} counts a duration: none given"
    if kind == "absolute" and timestamp is None:
        return "date", "type absolute takes the date: none given"
    return None


@dataclass(frozen=True, slots=True)
class IcbuSnapshot:
    """One Alibaba.com (ICBU) order from ``alibaba.seller.order.get``.

    ``trade_status`` is the ``trade_status`` string, ``pay_step`` the ``pay_step`` value
    (``ADVANCE``/``BALANCE``/``FULL`` in the document; ``None`` when absent),
    ``status_action`` the ``status_action.status`` string and ``actions`` the names of its
    ``status_action.actions`` entries; ``shipment_date`` the contractual shipment date
    (:class:`ShipmentDate`; ``None`` when absent). ``order_id`` is the ``trade_id``: every snapshot
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
    shipment_date: ShipmentDate | None = None

    @property
    def modified_at(self) -> int | None:
        """``modify_time`` in seconds (:func:`in_seconds`)."""
        return in_seconds(self.modify_time)

    @property
    def trade_id(self) -> str:
        """The platform's name for :attr:`order_id` (``trade_id`` in the response)."""
        return self.order_id


Snapshot = TaobaoSnapshot | IcbuSnapshot
