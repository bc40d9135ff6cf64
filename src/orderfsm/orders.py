"""Stateful orders: a convenience over the pure core in :mod:`orderfsm.compile`.

An order holds only its statuses; every decision is delegated to the shared compiled
machines (:func:`orderfsm.load` compiles each once per process), so creating an order
never builds a machine. A rejected event raises before anything is assigned, so it
leaves every status of the order and its sub-orders unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

from orderfsm.compile import CompiledMachine, StatusLike, Step, load
from orderfsm.errors import RefundNotAllowed, UnknownEvent, UnknownSubOrder
from orderfsm.table import State

SubOrderId = Hashable

SUB_ORDER_RULE_SOURCE = (
    "000_29cd69a61e8d9e8a.txt \u00a7 4. Sub-Order Dimension "
    "('Refunds are processed at the sub-order dimension')"
)


@dataclass(frozen=True, slots=True)
class Change:
    """One accepted event in an order's history: which part moved (``None`` = the order)."""

    sub_order: SubOrderId | None
    step: Step


class TaobaoOrder:
    """A Taobao purchase order: a main status plus one refund status per sub-order.

    ``status`` defaults to ``ORDER_BULIDING(12)``; every sub-order's refund status to
    ``NOT_APPLY_FOR_REFUND(0)``. Statuses accept the int code, enum name or raw string.
    Main-order events (``cancel``, ``ship``, ...) take no ``sub_order``; refund events
    (``apply_refund``, ``cancel_refund``, ...) require one.
    """

    def __init__(
        self,
        status: StatusLike | None = None,
        sub_orders: Mapping[SubOrderId, StatusLike | None] | Iterable[SubOrderId] = (),
    ) -> None:
        self._main: CompiledMachine = load("taobao_order")
        self._refund: CompiledMachine = load("taobao_refund")
        self._status = self._main.initial if status is None else self._main.status(status)
        items = (
            sub_orders.items()
            if isinstance(sub_orders, Mapping)
            else ((s, None) for s in sub_orders)
        )
        self._subs: dict[SubOrderId, State] = {
            sid: self._refund.initial if value is None else self._refund.status(value)
            for sid, value in items
        }
        self._history: list[Change] = []
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- reading
    @property
    def machine(self) -> CompiledMachine:
        return self._main

    @property
    def refund_machine(self) -> CompiledMachine:
        return self._refund

    @property
    def status(self) -> State:
        return self._status

    @property
    def sub_orders(self) -> Mapping[SubOrderId, State]:
        """A copy of every sub-order's refund status."""
        return dict(self._subs)

    @property
    def history(self) -> tuple[Change, ...]:
        """The accepted events, oldest first."""
        return tuple(self._history)

    def refund_status(self, sub_order: SubOrderId) -> State:
        return self._subs[self._known(sub_order)]

    def _known(self, sub_order: SubOrderId) -> SubOrderId:
        if sub_order not in self._subs:
            known = ", ".join(repr(s) for s in self._subs) or "none"
            raise UnknownSubOrder(f"unknown sub-order {sub_order!r}; this order holds: {known}")
        return sub_order

    # ---------------------------------------------------------------- acting
    def trigger(self, event: str, sub_order: SubOrderId | None = None) -> Step:
        """Apply ``event`` to the order (or to ``sub_order``'s refund) and return the step.

        Raises :class:`UnknownEvent`, :class:`UnknownSubOrder`, or a
        :class:`TransitionRejected` subclass (``PaymentLocked``, ``RefundNotAllowed``,
        ``IllegalTransition``...); on any error nothing changes.
        """
        with self._lock:
            step = self._decide(event, sub_order)
            if sub_order is None:
                self._status = step.target
            else:
                self._subs[sub_order] = step.target
            self._history.append(Change(sub_order, step))
            return step

    def can(self, event: str, sub_order: SubOrderId | None = None) -> bool:
        """Whether :meth:`trigger` would accept the event now (unknown names still raise)."""
        with self._lock:
            if sub_order is None and event in self._refund.event_names:
                return False
            machine, status, parent = self._route(event, sub_order)
            return machine.allows(status, event, parent=parent)

    def enabled_events(self, sub_order: SubOrderId | None = None) -> tuple[str, ...]:
        """The events :meth:`trigger` would accept now, for the order or one sub-order."""
        with self._lock:
            if sub_order is None:
                return self._main.enabled(self._status)
            return self._refund.enabled(self._subs[self._known(sub_order)], parent=self._status)

    def _decide(self, event: str, sub_order: SubOrderId | None) -> Step:
        if sub_order is None and event in self._refund.event_names:
            raise RefundNotAllowed(
                f"taobao_order: {event!r} needs a sub-order: there is no main-order refund",
                rule="refunds live only on sub-orders",
                source=SUB_ORDER_RULE_SOURCE,
                status=str(self._status),
                allowed=self._main.enabled(self._status),
            )
        machine, status, parent = self._route(event, sub_order)
        return machine.transition(status, event, parent=parent)

    def _route(
        self, event: str, sub_order: SubOrderId | None
    ) -> tuple[CompiledMachine, State, State | None]:
        if sub_order is None:
            if event not in self._main.event_names:
                raise UnknownEvent(
                    f"unknown event {event!r}; main-order events are: "
                    f"{', '.join(self._main.event_names)}; sub-order (refund) events are: "
                    f"{', '.join(self._refund.event_names)}"
                )
            return self._main, self._status, None
        refund = self._subs[self._known(sub_order)]
        if event not in self._refund.event_names:
            where = (
                "a main-order event: call it without sub_order"
                if event in self._main.event_names
                else "unknown"
            )
            raise UnknownEvent(
                f"{event!r} is {where}; sub-order (refund) events are: "
                f"{', '.join(self._refund.event_names)}"
            )
        return self._refund, refund, self._status

    def __repr__(self) -> str:
        subs = ", ".join(f"{k!r}: {v}" for k, v in self._subs.items())
        return f"TaobaoOrder(status={self._status}, sub_orders={{{subs}}})"
