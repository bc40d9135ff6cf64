"""Stateful orders: a convenience over the pure core in :mod:`orderfsm.model.compile`.

An order holds only its statuses; every decision is delegated to the shared compiled
machines (:func:`orderfsm.load` compiles each once per process), so creating an order
never builds a machine. A rejected event raises before anything is assigned, so it
leaves every status of the order and its sub-orders unchanged.

Observed platform snapshots are applied with :meth:`TaobaoOrder.apply` (the decision
lives in :mod:`orderfsm.ingest.apply`); serialisation with a version counter lives in
:mod:`orderfsm.orders.stored`. Both are layered on top: this class only commits their steps.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Self

from orderfsm.errors import RefundNotAllowed, UnknownEvent, UnknownSubOrder, shown
from orderfsm.ingest.apply import ApplyResult, HeldTaobao, log_warnings, plan_taobao
from orderfsm.ingest.records import TaobaoSnapshot
from orderfsm.model.compile import CompiledMachine, StatusLike, Step, load
from orderfsm.model.table import State
from orderfsm.orders.copying import LockedOrder
from orderfsm.orders.history import Change
from orderfsm.orders.ids import SubOrderId, id_items, is_id
from orderfsm.orders.machines import refund_machine_for, require
from orderfsm.orders.stored import (
    HISTORY_KEYS,
    Columns,
    Field,
    Link,
    change_from,
    change_row,
    changes_shown,
    check_history,
    check_version,
    columns_out,
    decode_change,
    header,
    history_columns,
    history_entries,
    quick_history,
    unambiguous_ids,
)

FORMAT = "orderfsm.taobao_order/2"
FORMAT_1 = "orderfsm.taobao_order/1"  # history as an array of entry objects: still read

__all__ = ["SUB_ORDER_RULE_SOURCE", "Change", "SubOrderId", "TaobaoOrder"]

SUB_ORDER_RULE_SOURCE = (
    "000_29cd69a61e8d9e8a.txt \u00a7 4. Sub-Order Dimension "
    "('Refunds are processed at the sub-order dimension')"
)


class TaobaoOrder(LockedOrder):
    """A Taobao purchase order: a main status plus one refund status per sub-order.

    ``status`` defaults to ``ORDER_BULIDING(12)``; every sub-order's refund status to
    ``NOT_APPLY_FOR_REFUND(0)``. Statuses accept the int code, enum name or raw string.
    Main-order events (``cancel``, ``ship``, ...) take no ``sub_order``; refund events
    (``apply_refund``, ``cancel_refund``, ...) require one. A sub-order also carries its
    own order status (``subOrderStatus`` on the purchase page), starting at the
    order's status until given in ``sub_order_statuses`` or observed by :meth:`apply`. Sub-order ids
    are ``str`` or ``int`` (:data:`~orderfsm.orders.ids.SubOrderId`).

    ``machine`` defaults to the shipped ``taobao_order``; pass ``orderfsm.load(path)`` to
    run on an edited table. ``refund_machine`` defaults to the shipped ``taobao_refund``
    rules compiled under ``machine``; an edited one must have ``machine`` as its parent
    (``refund.under(machine)``). Either not fitting raises :class:`~orderfsm.TableError`.
    Copies (``copy.copy``, ``copy.deepcopy``) share nothing with the original, and an
    order pickles (its machines by reference or by table).
    """

    def __init__(
        self,
        status: StatusLike | None = None,
        sub_orders: Mapping[SubOrderId, StatusLike | None] | Iterable[SubOrderId] = (),
        *,
        sub_order_statuses: Mapping[SubOrderId, StatusLike] | None = None,
        machine: CompiledMachine | None = None,
        refund_machine: CompiledMachine | None = None,
    ) -> None:
        main = load("taobao_order") if machine is None else require(machine, "TaobaoOrder")
        self._main: CompiledMachine = main
        self._refund = refund_machine_for(main, refund_machine, "TaobaoOrder", "taobao_refund")
        self._status = self._main.initial if status is None else self._main.status(status)
        self._subs: dict[SubOrderId, State] = {
            sid: self._refund.initial if value is None else self._refund.status(value)
            for sid, value in id_items(sub_orders, "sub_orders")
        }
        self._sub_status: dict[SubOrderId, State] = dict.fromkeys(self._subs, self._status)
        for sid, value in (sub_order_statuses or {}).items():
            self._known(sid)
            self._sub_status[sid] = self._main.status(value)
        self._history: list[Change] = []
        self._stored: Columns = ()  # a checked history not yet decoded; before _history
        self._version = 0
        self._observed_at: int | None = None
        self._lock = self._new_lock()

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
        """The accepted events, oldest first (a restored history is decoded on first read)."""
        with self._lock:
            if self._stored:
                rows = zip(*self._stored, strict=True)
                decoded = [decode_change(r, self._main, self._refund) for r in rows]
                self._history[:0] = decoded
                self._stored = ()
            return tuple(self._history)

    @property
    def sub_order_statuses(self) -> Mapping[SubOrderId, State]:
        """A copy of every sub-order's own order status."""
        return dict(self._sub_status)

    @property
    def version(self) -> int:
        """How many times the order has changed (each trigger, each changing apply)."""
        return self._version

    @property
    def observed_at(self) -> int | None:
        """The newest ``modify_time`` applied from a snapshot, if any."""
        return self._observed_at

    def refund_status(self, sub_order: SubOrderId) -> State:
        return self._subs[self._known(sub_order)]

    def sub_order_status(self, sub_order: SubOrderId) -> State:
        """The sub-order's own order status (``subOrderStatus``)."""
        return self._sub_status[self._known(sub_order)]

    def _known(self, sub_order: SubOrderId) -> SubOrderId:
        if not is_id(sub_order) or sub_order not in self._subs:
            known = ", ".join(repr(s) for s in self._subs) or "none"
            raise UnknownSubOrder(
                f"unknown sub-order {shown(sub_order)}; this order holds: {known}"
            )
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
            self._version += 1
            return step

    def apply(self, snapshot: TaobaoSnapshot, force: bool = False) -> ApplyResult:
        """Apply one observed snapshot (from :func:`orderfsm.ingest.parse`); never raises
        for what the snapshot says: the :class:`~orderfsm.ingest.ApplyResult` tells.

        Sub-orders the snapshot names that the order does not hold yet are added (see
        ``_commit``); a refused part changes nothing.
        ``force=True`` moves a part even where no path exists, recording the forced step.
        """
        with self._lock:
            # a snapshot names sub-orders by text: the planner sees held ids as text too,
            # and _commit maps them back (ids are unique by text, see orders.ids)
            held_id = {str(sid): sid for sid in self._subs}
            held = HeldTaobao(
                self._status,
                {str(sid): s for sid, s in self._sub_status.items()},
                {str(sid): s for sid, s in self._subs.items()},
                self._observed_at,
            )
            result = plan_taobao(held, snapshot, self._main, self._refund, force=force)
            changed = self._commit(result, held_id)
            result = replace(
                result, version=self._version, observed_at=self._observed_at, changed=changed
            )
        log_warnings(result)
        return result

    def _commit(self, result: ApplyResult, held_id: Mapping[str, SubOrderId]) -> bool:
        """Record every step of ``result`` and say whether anything changed (caller holds
        the lock).

        A sub-order the order does not hold yet is added (its order status starting at
        the order's, its refund at the refund machine's initial status) only when one of
        its parts was not refused; the clock (``observed_at``) moves only when some part
        of the snapshot was not refused; anything that changes bumps the version once.
        """
        held_status = self._status
        added = False
        for part in result.parts:
            sid = part.sub_order
            assert sid is None or is_id(sid), sid  # parts name the ids snapshots carry
            if sid is not None:
                sid = held_id.get(str(sid), sid)
            if sid is not None and sid not in self._subs:
                if part.refused:
                    continue
                self._subs[sid] = self._refund.initial
                self._sub_status[sid] = held_status
                added = True
            for step in part.steps:
                status_part = part.part == "sub_order_status"
                self._history.append(Change(sid, step, status_part, part.via))
            if not part.steps:
                continue
            if sid is None:  # the order part
                self._status = part.after
            elif part.part == "sub_order_status":
                self._sub_status[sid] = part.after
            else:
                self._subs[sid] = part.after
        clock = self._observed_at
        accepted = any(not p.refused for p in result.parts)
        if accepted and result.observed_at is not None:
            self._observed_at = max(result.observed_at, clock or result.observed_at)
        changed = result.changed or added or self._observed_at != clock
        self._version += changed
        return changed

    # ---------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-able dict with the version counter (see :mod:`orderfsm.orders.stored`)."""
        with self._lock:
            return _to_dict(self)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        machine: CompiledMachine | None = None,
        refund_machine: CompiledMachine | None = None,
    ) -> Self:
        """Rebuild an order from :meth:`to_dict`'s output (on the machines given, as in the
        constructor); :class:`PayloadError` if invalid."""
        order = cls(machine=machine, refund_machine=refund_machine)
        _from_dict(data, order)
        return order

    def _restore(
        self,
        *,
        status: State,
        sub_statuses: Mapping[SubOrderId, State],
        refunds: Mapping[SubOrderId, State],
        history: Sequence[Change],
        stored: Columns,
        version: int,
        observed_at: int | None,
    ) -> None:
        """Replace the whole held state at once (used by :func:`_from_dict`): ``stored``
        is a checked history still to decode, ``history`` a decoded one."""
        with self._lock:
            self._status = status
            self._subs = dict(refunds)
            self._sub_status = dict(sub_statuses)
            self._history = list(history)
            self._stored = tuple(map(tuple, stored))
            self._version = version
            self._observed_at = observed_at

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


# ---------------------------------------------------------------- stored format


def _to_dict(order: TaobaoOrder) -> dict[str, Any]:
    """The order as a plain dict (see the module docstring); ids are str or int already.

    Reads the held state directly (the caller holds the lock): no copies, no lookups by id.
    """
    sub_status = order._sub_status
    return {
        "format": FORMAT,
        "version": order._version,
        "observed_at": order._observed_at,
        "status": order._status.code,
        "sub_orders": [
            {"id": sid, "status": sub_status[sid].code, "refund_status": refund.code}
            for sid, refund in order._subs.items()
        ],
        "history": columns_out(
            HISTORY_KEYS, order._stored, [change_row(c) for c in order._history]
        ),
    }


def _from_dict(data: Mapping[str, Any], order: TaobaoOrder) -> None:
    """Fill the fresh ``order`` from ``data`` (as produced by :meth:`TaobaoOrder.to_dict`),
    accepting only what the library could have produced (see :mod:`orderfsm.orders.stored`)."""
    root = Field(data, "$")
    version = header(root, FORMAT, FORMAT_1)
    columnar = root.get("format").value == FORMAT
    main, refund = order.machine, order.refund_machine
    entries = root.get("sub_orders").items()
    ids = [(entry.get("id").sub_id(), entry.get("id")) for entry in entries]
    unambiguous_ids(ids, "sub-order")
    sub_statuses: dict[SubOrderId, State] = {}
    refunds: dict[SubOrderId, State] = {}
    for (sid, _), entry in zip(ids, entries, strict=True):
        sub_statuses[sid] = entry.get("status").status(main)
        refunds[sid] = entry.get("refund_status").status(refund)
    status = root.get("status").status(main)
    observed_at = root.get("observed_at").integer(nullable=True)
    held: dict[Hashable, State] = {None: status}
    held.update({("status", sid): s for sid, s in sub_statuses.items()})
    held.update({("refund", sid): s for sid, s in refunds.items()})
    stored = history_columns(root.get("history").value, HISTORY_KEYS, columnar=columnar)
    least = None
    if stored is not None:
        least = quick_history(
            stored,
            main,
            refund,
            {
                ("order", None): status.code,
                **{("sub_order_status", sid): s.code for sid, s in sub_statuses.items()},
                **{("refund", sid): s.code for sid, s in refunds.items()},
            },
        )
    history: list[Change] = []
    if stored is None or least is None:  # entry by entry: other spellings, or an error
        fields = history_entries(root, HISTORY_KEYS, columnar=columnar)
        history = [change_from(c, main, refund, refunds.keys()) for c in fields]
        links = [
            Link(_part(c), c.step.source, c.step.target, f.get("src").path)
            for c, f in zip(history, fields, strict=True)
        ]
        check_history(links, held)
        stored, least = (), changes_shown([c.via for c in history])
    check_version(
        version,
        least=least,
        most=None,
        silent_changes=observed_at is not None or bool(refunds),
    )
    order._restore(
        status=status,
        sub_statuses=sub_statuses,
        refunds=refunds,
        history=history,
        stored=stored,
        version=version,
        observed_at=observed_at,
    )


def _part(change: Change) -> Hashable:
    if change.sub_order is None:
        return None
    return ("status" if change.sub_order_status else "refund", change.sub_order)
